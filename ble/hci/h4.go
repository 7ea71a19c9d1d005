package hci

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// PacketType is the H4 packet indicator, the octet that precedes every HCI
// packet on a UART (Core v5.4 Vol 4 Part A §2, Table 2.1).
type PacketType uint8

// H4 packet indicators.
const (
	PacketCommand PacketType = 0x01
	PacketACL     PacketType = 0x02
	PacketSCO     PacketType = 0x03
	PacketEvent   PacketType = 0x04
	PacketISO     PacketType = 0x05
)

func (t PacketType) String() string {
	switch t {
	case PacketCommand:
		return "command"
	case PacketACL:
		return "ACL"
	case PacketSCO:
		return "SCO"
	case PacketEvent:
		return "event"
	case PacketISO:
		return "ISO"
	}
	return "indicator 0x" + hex2(uint8(t))
}

// Header lengths of the HCI packets (Vol 4 Part E §5.4) and the largest
// parameter lengths their length fields allow.
const (
	CommandHeaderLen = 3 // opcode (2), parameter total length (1)
	ACLHeaderLen     = 4 // handle and flags (2), data total length (2)
	SCOHeaderLen     = 3 // handle and flags (2), data total length (1)
	EventHeaderLen   = 2 // event code (1), parameter total length (1)
	ISOHeaderLen     = 4 // handle and flags (2), data load length (14 bits)

	MaxParamLen = 255 // command and event parameters

	// DefaultMaxACLData is the largest ACL Data_Total_Length an H4Reader
	// accepts when given no other limit: a 1024-octet L2CAP payload and
	// its 4-octet basic header. LE controllers usually announce 27–251
	// (LE Read Buffer Size), BR/EDR ones rarely more than 1021.
	DefaultMaxACLData = 1024 + 4

	isoLengthMask = 0x3FFF // Vol 4 Part E §5.4.5: the top two bits are RFU
)

// AppendH4 appends the indicator t and the packet (header included).
func AppendH4(b []byte, t PacketType, packet []byte) []byte {
	return append(append(b, byte(t)), packet...)
}

// AppendH4Command appends an H4 command packet: indicator, header and
// params. It fails (ErrTooLarge) when params exceed MaxParamLen octets.
func AppendH4Command(b []byte, op Opcode, params []byte) ([]byte, error) {
	return AppendCommand(append(b, byte(PacketCommand)), op, params)
}

// AppendH4Event appends an H4 event packet: indicator, header and params.
// It fails (ErrTooLarge) when params exceed MaxParamLen octets.
func AppendH4Event(b []byte, code EventCode, params []byte) ([]byte, error) {
	return AppendEvent(append(b, byte(PacketEvent)), code, params)
}

// AppendH4ACL appends an H4 ACL data packet: indicator, header and data.
// It fails (ErrTooLarge) when data exceeds 65535 octets.
func AppendH4ACL(b []byte, handle uint16, pb PBFlag, bc uint8, data []byte) ([]byte, error) {
	return AppendACL(append(b, byte(PacketACL)), handle, pb, bc, data)
}

// H4Stats counts what an H4Reader saw.
type H4Stats struct {
	// Packets: commands, events and ACL packets delivered.
	Packets uint64
	// Unsupported: SCO and ISO packets skipped (ErrUnsupportedPacket).
	Unsupported uint64
	// Oversize: ACL packets longer than the limit, or longer than the
	// caller's buffer, skipped (ErrTooLarge).
	Oversize uint64
}

// H4Reader reads HCI packets framed with H4 (Vol 4 Part A §2) from a byte
// stream such as a UART: the indicator, then the header for that packet
// type, then as many octets as the header's length field says. It buffers
// its reads (one Read call usually brings several packets; so nothing else
// may read from the same stream) and hands out each packet from a buffer
// allocated once, so reading allocates nothing in steady state. An
// H4Reader is not safe for concurrent use.
//
// Errors: io.EOF at a packet boundary, io.ErrUnexpectedEOF inside a
// packet, and the reader's own errors, after which the H4Reader returns the
// same error from every call. ErrBadIndicator is one of those: H4 carries
// no delimiter or checksum, so after an octet that is not a packet
// indicator there is no telling where the next packet starts; the host has
// to reset the transport (and the controller). ErrUnsupportedPacket (SCO,
// ISO) and ErrTooLarge are not fatal: the packet has been consumed and the
// stream is still in sync.
type H4Reader struct {
	r          io.Reader
	maxACLData int
	buf        []byte // read buffer; buf[start:end] holds unread octets
	start, end int
	rerr       error // a read error not yet reported (octets came with it)
	err        error // sticky
	stats      H4Stats
}

// NewH4Reader returns a reader of r that accepts ACL packets of up to
// maxACLData data octets (zero or less: DefaultMaxACLData).
func NewH4Reader(r io.Reader, maxACLData int) *H4Reader {
	if maxACLData <= 0 {
		maxACLData = DefaultMaxACLData
	}
	largest := max(1+ACLHeaderLen+maxACLData, 1+CommandHeaderLen+MaxParamLen)
	return &H4Reader{r: r, maxACLData: maxACLData, buf: make([]byte, max(2*largest, 4096))}
}

// Stats returns the counters.
func (h *H4Reader) Stats() H4Stats { return h.stats }

// ReadPacket reads the next packet and returns its type and its octets
// after the indicator (the HCI header and what follows), ready for
// ParseCommand, ParseEvent or ParseACL. The slice is the reader's and is
// valid until the next call.
func (h *H4Reader) ReadPacket() (PacketType, []byte, error) {
	if h.err != nil {
		return 0, nil, h.err
	}
	if err := h.fill(1); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF // nothing of a packet read yet
		}
		h.err = err
		return 0, nil, err
	}
	t := PacketType(h.buf[h.start])
	var hdrLen int
	switch t {
	case PacketCommand:
		hdrLen = CommandHeaderLen
	case PacketACL, PacketISO:
		hdrLen = ACLHeaderLen
	case PacketSCO:
		hdrLen = SCOHeaderLen
	case PacketEvent:
		hdrLen = EventHeaderLen
	default:
		h.err = fmt.Errorf("hci: H4: indicator 0x%02x: %w", uint8(t), ErrBadIndicator)
		return t, nil, h.err
	}
	if err := h.fill(1 + hdrLen); err != nil {
		h.err = fmt.Errorf("hci: H4: reading a %v header: %w", t, err)
		return t, nil, h.err
	}
	hdr := h.buf[h.start+1 : h.start+1+hdrLen]
	var n int
	switch t {
	case PacketCommand:
		n = int(hdr[2])
	case PacketACL:
		n = int(binary.LittleEndian.Uint16(hdr[2:]))
	case PacketSCO:
		n = int(hdr[2])
	case PacketEvent:
		n = int(hdr[1])
	case PacketISO:
		n = int(binary.LittleEndian.Uint16(hdr[2:]) & isoLengthMask)
	}
	total := 1 + hdrLen + n
	if t == PacketSCO || t == PacketISO {
		if err := h.skip(total); err != nil {
			return t, nil, h.err
		}
		h.stats.Unsupported++
		return t, nil, fmt.Errorf("hci: H4: %v packet of %d octets skipped: %w", t, n, ErrUnsupportedPacket)
	}
	if t == PacketACL && n > h.maxACLData {
		if err := h.skip(total); err != nil {
			return t, nil, h.err
		}
		h.stats.Oversize++
		return t, nil, fmt.Errorf("hci: H4: ACL packet with %d data octets, limit %d, skipped: %w", n, h.maxACLData, ErrTooLarge)
	}
	if err := h.fill(total); err != nil {
		h.err = fmt.Errorf("hci: H4: reading a %v packet of %d octets: %w", t, total-1, err)
		return t, nil, h.err
	}
	p := h.buf[h.start+1 : h.start+total]
	h.start += total
	h.stats.Packets++
	return t, p, nil
}

// ReadPacketTo is ReadPacket copying the packet into dst; it returns the
// number of octets copied. A packet longer than dst is consumed and
// reported with ErrTooLarge.
func (h *H4Reader) ReadPacketTo(dst []byte) (PacketType, int, error) {
	t, p, err := h.ReadPacket()
	if err != nil {
		return t, 0, err
	}
	if len(p) > len(dst) {
		h.stats.Packets--
		h.stats.Oversize++
		return t, 0, fmt.Errorf("hci: H4: %v packet of %d octets does not fit a %d-octet buffer: %w", t, len(p), len(dst), ErrTooLarge)
	}
	return t, copy(dst, p), nil
}

// fill makes sure buf[start:] holds at least n octets (n ≤ len(buf)).
// A stream that ends first gives io.ErrUnexpectedEOF.
func (h *H4Reader) fill(n int) error {
	if h.end-h.start >= n {
		return nil
	}
	if h.start+n > len(h.buf) {
		h.end = copy(h.buf, h.buf[h.start:h.end])
		h.start = 0
	}
	for noProgress := 0; h.end-h.start < n; {
		if h.rerr != nil {
			err := h.rerr
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		m, err := h.r.Read(h.buf[h.end:])
		if m < 0 || m > len(h.buf)-h.end {
			return errors.New("hci: H4: reader returned an invalid count")
		}
		h.end += m
		if err != nil {
			h.rerr = err
		} else if m == 0 {
			if noProgress++; noProgress >= 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// skip consumes n octets, more than the buffer holds if need be. A failure
// is sticky.
func (h *H4Reader) skip(n int) error {
	for {
		if have := h.end - h.start; have >= n {
			h.start += n
			return nil
		} else {
			n -= have
			h.start, h.end = 0, 0
		}
		if err := h.fill(min(n, len(h.buf))); err != nil {
			h.err = fmt.Errorf("hci: H4: skipping a packet: %w", err)
			return h.err
		}
	}
}
