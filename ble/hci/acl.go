package hci

import (
	"errors"
	"fmt"
)

// PBFlag is the Packet_Boundary_Flag of an ACL data packet (Core v5.4 Vol 4
// Part E §5.4.2).
type PBFlag uint8

// Packet boundary flags. On LE-U a host starts each L2CAP PDU with
// PBFirstNonFlushable and a controller with PBFirstFlushable (LE has no
// flushing; the two values only tell the directions apart); both continue
// it with PBContinuing. PBCompleteFlushable belonged to AMP controllers and
// is not used on LE.
const (
	PBFirstNonFlushable PBFlag = 0b00
	PBContinuing        PBFlag = 0b01
	PBFirstFlushable    PBFlag = 0b10
	PBCompleteFlushable PBFlag = 0b11
)

func (f PBFlag) String() string {
	switch f {
	case PBFirstNonFlushable:
		return "first non-flushable"
	case PBContinuing:
		return "continuing"
	case PBFirstFlushable:
		return "first flushable"
	}
	return "complete flushable"
}

// Connection handles and the L2CAP basic header.
const (
	// MaxConnHandle is the largest valid Connection_Handle (Vol 4 Part E
	// §5.4.2); the field has 12 bits.
	MaxConnHandle = 0x0EFF
	// MaxACLData is the most data an ACL packet's 16-bit length can say.
	MaxACLData = 0xFFFF
	// L2CAPHeaderLen is the L2CAP basic header (Vol 3 Part A §3.1):
	// Length (2, the payload's, little endian), Channel ID (2).
	L2CAPHeaderLen = 4
)

const (
	aclHandleMask = 0x0FFF
	aclPBShift    = 12
	aclBCShift    = 14
)

// ACL is an HCI ACL data packet (Vol 4 Part E §5.4.2), from the handle on
// (no H4 indicator):
//
//	 0                 12   14   16                  32
//	+-------------------+----+----+-------------------+----------
//	| Connection_Handle | PB | BC | Data_Total_Length | Data …
//	+-------------------+----+----+-------------------+----------
//
// (bit positions in the little-endian first two octets). An ACL from
// ParseACL has been checked; its accessors trust its length.
type ACL []byte

// ParseACL checks that b is exactly one ACL data packet and returns it as
// an ACL (a view of b). It does not allocate.
func ParseACL(b []byte) (ACL, error) {
	if len(b) < ACLHeaderLen {
		return nil, fmt.Errorf("hci: ACL: %d octets, shorter than the header: %w", len(b), ErrShort)
	}
	if n := int(le16(b[2:])); len(b) != ACLHeaderLen+n {
		err := ErrMalformed
		if len(b) < ACLHeaderLen+n {
			err = ErrShort
		}
		return nil, fmt.Errorf("hci: ACL handle 0x%03x: %d data octets, header says %d: %w", le16(b)&aclHandleMask, len(b)-ACLHeaderLen, n, err)
	}
	return ACL(b), nil
}

// Handle is the connection handle (12 bits).
func (a ACL) Handle() uint16 { return le16(a) & aclHandleMask }

// PB is the packet boundary flag.
func (a ACL) PB() PBFlag { return PBFlag(a[1]>>(aclPBShift-8)) & 0b11 }

// BC is the broadcast flag: 0b00 point to point, the only value on LE.
func (a ACL) BC() uint8 { return a[1] >> (aclBCShift - 8) }

// Data is the packet's data: an L2CAP PDU or a fragment of one.
func (a ACL) Data() []byte { return a[ACLHeaderLen:] }

// AppendACL appends an ACL data packet (no H4 indicator). handle is masked
// to 12 bits, pb and bc to 2. More than MaxACLData octets of data is
// ErrTooLarge.
func AppendACL(b []byte, handle uint16, pb PBFlag, bc uint8, data []byte) ([]byte, error) {
	if len(data) > MaxACLData {
		return b, fmt.Errorf("hci: ACL: %d data octets, at most %d fit: %w", len(data), MaxACLData, ErrTooLarge)
	}
	return append(appendACLHeader(b, handle, pb, bc, len(data)), data...), nil
}

func appendACLHeader(b []byte, handle uint16, pb PBFlag, bc uint8, n int) []byte {
	hf := handle&aclHandleMask | uint16(pb&0b11)<<aclPBShift | uint16(bc&0b11)<<aclBCShift
	return put16(put16(b, hf), uint16(n))
}

// Fragmenter splits L2CAP PDUs into ACL data packets of at most MaxData
// data octets (Vol 4 Part E §5.4.2; Vol 3 Part A §7.2): the first with
// First as its packet boundary flag, the rest PBContinuing. It copies each
// packet into one buffer it keeps, so it allocates only on its first use
// (or when MaxData grows). It is not safe for concurrent use.
type Fragmenter struct {
	// MaxData is the controller's ACL data packet length (LE Read Buffer
	// Size); it must be 1–65535.
	MaxData int
	// First is the first fragment's flag: the zero value,
	// PBFirstNonFlushable, is what a host sends on LE; a controller (or
	// its simulator) sends PBFirstFlushable.
	First PBFlag
	// H4 puts the ACL packet indicator (0x02) before each packet, so emit
	// gets what a UART carries.
	H4 bool

	buf []byte
}

// Fragment calls emit once per ACL packet of pdu, in order, on handle. The
// packet is valid only during the call. An error from emit stops the
// fragmentation and is returned.
func (f *Fragmenter) Fragment(pdu []byte, handle uint16, emit func(packet []byte) error) error {
	var err error
	f.buf, err = fragment(f.buf, pdu, handle, f.MaxData, f.First, f.H4, emit)
	return err
}

// FragmentL2CAP splits one L2CAP PDU into ACL packets from a host to an LE
// controller: at most maxData data octets each, the first flagged
// PBFirstNonFlushable, the others PBContinuing. Each packet is built in
// scratch, which should have room for ACLHeaderLen+maxData octets (it is
// grown, allocating, if not), and passed to emit, valid only during the
// call. An error from emit stops the fragmentation and is returned.
func FragmentL2CAP(scratch, pdu []byte, handle uint16, maxData int, emit func(aclPacket []byte) error) error {
	_, err := fragment(scratch, pdu, handle, maxData, PBFirstNonFlushable, false, emit)
	return err
}

func fragment(scratch, pdu []byte, handle uint16, maxData int, first PBFlag, h4 bool, emit func([]byte) error) ([]byte, error) {
	if maxData < 1 || maxData > MaxACLData {
		return scratch, fmt.Errorf("hci: fragmenting: ACL data length %d, want 1–%d: %w", maxData, MaxACLData, ErrMalformed)
	}
	if len(pdu) == 0 {
		return scratch, fmt.Errorf("hci: fragmenting: empty L2CAP PDU: %w", ErrShort)
	}
	hdr := ACLHeaderLen
	if h4 {
		hdr++
	}
	if cap(scratch) < hdr+min(maxData, len(pdu)) {
		scratch = make([]byte, 0, hdr+min(maxData, len(pdu)))
	}
	pb := first
	for len(pdu) > 0 {
		n := min(maxData, len(pdu))
		p := scratch[:0]
		if h4 {
			p = append(p, byte(PacketACL))
		}
		p = append(appendACLHeader(p, handle, pb, 0, n), pdu[:n]...)
		if err := emit(p); err != nil {
			return scratch, err
		}
		pdu, pb = pdu[n:], PBContinuing
	}
	return scratch, nil
}

// ReassemblyStats counts what an ACLReassembler saw.
type ReassemblyStats struct {
	// Fragments: ACL packets fed. PDUs: complete L2CAP PDUs delivered.
	Fragments, PDUs uint64
	// NoStart: continuing fragments with nothing to continue (dropped).
	NoStart uint64
	// Interrupted: partial PDUs dropped because a new start arrived.
	Interrupted uint64
	// Abandoned: partial PDUs dropped by Remove (the link went down).
	Abandoned uint64
	// Overlong: PDUs dropped because their fragments held more than the
	// basic header announced.
	Overlong uint64
	// Oversize: PDUs announced longer than the reassembler's maximum,
	// dropped with all their fragments.
	Oversize uint64
	// TooManyHandles: starts dropped because every slot was busy with a
	// partial PDU on another handle.
	TooManyHandles uint64
	// Malformed: packets flagged PBCompleteFlushable.
	Malformed uint64
}

// Defaults of NewACLReassembler.
const (
	// DefaultMaxPDU holds an IPv6 packet of the minimum MTU in one LE
	// credit-based K-frame: the 4-octet basic header, the 2-octet SDU
	// length and 1280 octets (RFC 7668 §3; Vol 3 Part A §3.4).
	DefaultMaxPDU = L2CAPHeaderLen + 2 + 1280
	// DefaultMaxHandles bounds the connections reassembling at once.
	DefaultMaxHandles = 8
)

type slotState uint8

const (
	slotFree       slotState = iota // no handle
	slotIdle                        // a handle, between PDUs; its buffer can go to another handle
	slotCollecting                  // a partial PDU in buf[:have], want octets in all (-1: Length not in yet)
	slotDiscarding                  // skipping the rest of an oversize PDU
)

type reasmSlot struct {
	handle     uint16
	state      slotState
	want, have int
	buf        []byte // maxPDU octets once used
}

// ACLReassembler rebuilds L2CAP PDUs from ACL data packets, per connection
// handle (Vol 4 Part E §5.4.2; Vol 3 Part A §3.1, §7.2): a start fragment
// carries the basic header, whose Length plus 4 is the PDU's size, and
// continuing fragments add to it until that many octets have come.
//
// It is bounded: no PDU over maxPDU octets (announced ones are skipped with
// their fragments), and at most maxHandles handles with a partial PDU at
// once. Each slot's buffer is allocated on first use and reused for the
// handle's later PDUs (and for other handles' when the slot is idle), so in
// steady state Feed allocates nothing. It is not safe for concurrent use.
type ACLReassembler struct {
	maxPDU int
	slots  []reasmSlot // len ≤ cap = maxHandles
	stats  ReassemblyStats
}

// NewACLReassembler returns a reassembler for PDUs of up to maxPDU octets,
// basic header included, on up to maxHandles handles at once (zero or
// less: DefaultMaxPDU, DefaultMaxHandles).
func NewACLReassembler(maxPDU, maxHandles int) *ACLReassembler {
	if maxPDU <= 0 {
		maxPDU = DefaultMaxPDU
	}
	maxPDU = max(maxPDU, L2CAPHeaderLen)
	if maxHandles <= 0 {
		maxHandles = DefaultMaxHandles
	}
	return &ACLReassembler{maxPDU: maxPDU, slots: make([]reasmSlot, 0, maxHandles)}
}

// Stats returns the counters.
func (r *ACLReassembler) Stats() ReassemblyStats { return r.stats }

// Feed takes one ACL packet and returns the L2CAP PDU (basic header
// included) it completes, if any. The PDU is a view of the packet when it
// came in one fragment, else of the reassembler's buffer; either way it is
// valid until the next call to Feed or Remove.
//
// Like io.Reader's count and error, a PDU and an error can come together:
// a start fragment that interrupts a partial PDU reports ErrInterrupted for
// the dropped one and still delivers its own PDU if it is complete. Handle
// a non-nil PDU first, then the error. Errors wrap ErrNoStart,
// ErrInterrupted, ErrOverlong, ErrTooLarge (an announced PDU over the
// maximum), ErrTooManyHandles or ErrMalformed (flag PBCompleteFlushable);
// none leaves the reassembler out of step. A start fragment may be shorter
// than the basic header (BlueZ and Zephyr drop such PDUs; nothing in Vol 3
// Part A forbids them): the Length is read once its two octets are in.
func (r *ACLReassembler) Feed(a ACL) (pdu []byte, err error) {
	r.stats.Fragments++
	h, data := a.Handle(), a.Data()
	switch a.PB() {
	case PBFirstNonFlushable, PBFirstFlushable:
		return r.start(h, data)
	case PBContinuing:
		return r.continuing(h, data)
	}
	r.stats.Malformed++
	return nil, fmt.Errorf("hci: ACL handle 0x%03x: packet boundary flag 0b11 on LE: %w", h, ErrMalformed)
}

func (r *ACLReassembler) start(h uint16, data []byte) ([]byte, error) {
	var interrupted error
	s := r.find(h)
	if s != nil {
		if s.state == slotCollecting {
			r.stats.Interrupted++
			interrupted = fmt.Errorf("hci: ACL handle 0x%03x: start fragment with %d octets of a PDU collected: %w", h, s.have, ErrInterrupted)
		}
		s.state = slotIdle
	}
	want := -1 // until the basic header's Length has come
	if len(data) >= 2 {
		want = int(le16(data)) + L2CAPHeaderLen
		switch {
		case want > r.maxPDU:
			r.stats.Oversize++
			if len(data) < want {
				if s = r.slotFor(h); s != nil {
					s.state, s.want, s.have = slotDiscarding, want, len(data)
				}
			}
			return nil, join(interrupted, fmt.Errorf("hci: ACL handle 0x%03x: L2CAP PDU of %d octets, limit %d: %w", h, want, r.maxPDU, ErrTooLarge))
		case len(data) > want:
			r.stats.Overlong++
			return nil, join(interrupted, fmt.Errorf("hci: ACL handle 0x%03x: %d octets in a start fragment of a %d-octet L2CAP PDU: %w", h, len(data), want, ErrOverlong))
		case len(data) == want:
			r.stats.PDUs++
			return data, interrupted
		}
	}
	if s = r.slotFor(h); s == nil {
		r.stats.TooManyHandles++
		return nil, join(interrupted, fmt.Errorf("hci: ACL handle 0x%03x: %d handles already reassembling: %w", h, len(r.slots), ErrTooManyHandles))
	}
	if s.buf == nil {
		s.buf = make([]byte, r.maxPDU)
	}
	s.state, s.want, s.have = slotCollecting, want, copy(s.buf, data)
	return nil, interrupted
}

func (r *ACLReassembler) continuing(h uint16, data []byte) ([]byte, error) {
	s := r.find(h)
	if s == nil || s.state == slotIdle {
		r.stats.NoStart++
		return nil, fmt.Errorf("hci: ACL handle 0x%03x: continuing fragment of %d octets: %w", h, len(data), ErrNoStart)
	}
	if s.state == slotDiscarding {
		if s.have += len(data); s.have >= s.want {
			s.state = slotIdle
		}
		return nil, nil
	}
	if s.want < 0 {
		// A start fragment of 0 or 1 octets: complete the Length first.
		k := min(2-s.have, len(data))
		s.have += copy(s.buf[s.have:], data[:k])
		if data = data[k:]; s.have < 2 {
			return nil, nil
		}
		if s.want = int(le16(s.buf)) + L2CAPHeaderLen; s.want > r.maxPDU {
			r.stats.Oversize++
			if s.state, s.have = slotDiscarding, s.have+len(data); s.have >= s.want {
				s.state = slotIdle
			}
			return nil, fmt.Errorf("hci: ACL handle 0x%03x: L2CAP PDU of %d octets, limit %d: %w", h, s.want, r.maxPDU, ErrTooLarge)
		}
	}
	if s.have+len(data) > s.want {
		r.stats.Overlong++
		s.state = slotIdle
		return nil, fmt.Errorf("hci: ACL handle 0x%03x: %d octets after %d of a %d-octet L2CAP PDU: %w", h, len(data), s.have, s.want, ErrOverlong)
	}
	s.have += copy(s.buf[s.have:], data)
	if s.have < s.want {
		return nil, nil
	}
	s.state = slotIdle
	r.stats.PDUs++
	return s.buf[:s.want], nil
}

// Remove forgets handle (after Disconnection Complete) and reports whether
// a partial PDU was dropped with it.
func (r *ACLReassembler) Remove(handle uint16) (dropped bool) {
	s := r.find(handle)
	if s == nil {
		return false
	}
	dropped = s.state == slotCollecting
	if dropped {
		r.stats.Abandoned++
	}
	s.state = slotFree
	return dropped
}

// find returns handle's slot, nil if it has none.
func (r *ACLReassembler) find(h uint16) *reasmSlot {
	for i := range r.slots {
		if s := &r.slots[i]; s.state != slotFree && s.handle == h {
			return s
		}
	}
	return nil
}

// slotFor returns handle's slot, claiming a free one, a new one or an idle
// one of another handle; nil when every slot holds a partial PDU.
func (r *ACLReassembler) slotFor(h uint16) *reasmSlot {
	if s := r.find(h); s != nil {
		return s
	}
	var idle *reasmSlot
	for i := range r.slots {
		s := &r.slots[i]
		if s.state == slotFree {
			s.handle, s.state = h, slotIdle
			return s
		}
		if s.state == slotIdle && idle == nil {
			idle = s
		}
	}
	if len(r.slots) < cap(r.slots) {
		r.slots = append(r.slots, reasmSlot{handle: h, state: slotIdle})
		return &r.slots[len(r.slots)-1]
	}
	if idle != nil {
		idle.handle = h
	}
	return idle
}

func join(a, b error) error {
	if a == nil {
		return b
	}
	return errors.Join(a, b)
}
