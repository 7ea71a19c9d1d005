package lowpan

import (
	"encoding/binary"
	"fmt"
)

// Dispatch values (RFC 4944 §5.1, RFC 6282 §2). The first octet of a
// 6LoWPAN header, or the leading bits of it, names what follows.
const (
	DispatchIPv6      = 0x41 // 01000001: uncompressed IPv6 header follows
	DispatchHC1       = 0x42 // 01000010: LOWPAN_HC1, superseded by IPHC (RFC 6282 §1)
	DispatchBC0       = 0x50 // 01010000: broadcast header
	DispatchIPHC      = 0x60 // 011xxxxx: IPHC (RFC 6282 §3.1)
	dispatchIPHCMask  = 0xe0
	DispatchMesh      = 0x80 // 10xxxxxx: mesh addressing header
	dispatchMeshMask  = 0xc0
	DispatchFrag1     = 0xc0 // 11000xxx
	DispatchFragN     = 0xe0 // 11100xxx
	dispatchFragMask  = 0xf8
	frag1HeaderLen    = 4
	fragNHeaderLen    = 5
	broadcastHdrLen   = 2
	maxDatagramSize   = 0x7ff // 11-bit datagram_size
	fragOffsetUnit    = 8     // datagram_offset counts 8-octet units (RFC 4944 §5.3)
	meshHopsLeftDeep  = 0x0f  // hops left 0xF: an extra octet carries the count
	meshFlagShortOrig = 0x20  // V=1: originator is a 16-bit short address
	meshFlagShortDst  = 0x10  // F=1: final destination is a 16-bit short address
)

// IsIPHC reports whether b starts with an IPHC dispatch.
func IsIPHC(b []byte) bool { return len(b) > 0 && b[0]&dispatchIPHCMask == DispatchIPHC }

// MeshHeader is the RFC 4944 §5.2 mesh addressing header: hop count and the
// originator and final destination of a frame forwarded by mesh-under
// routing.
type MeshHeader struct {
	HopsLeft    uint8 // 0..255; values ≥ 15 use the extra "deep hops left" octet
	Originator  LinkAddr
	Final       LinkAddr
	encodedSize int
}

// Len is the encoded size of the header.
func (m *MeshHeader) Len() int {
	n := 1
	if m.HopsLeft >= meshHopsLeftDeep {
		n++
	}
	n += linkAddrLen(m.Originator) + linkAddrLen(m.Final)
	return n
}

func linkAddrLen(a LinkAddr) int {
	if a.kind == LinkAddrShort {
		return 2
	}
	return 8
}

// Encode writes the header into b and returns its length.
func (m *MeshHeader) Encode(b []byte) (int, error) {
	for _, a := range [2]LinkAddr{m.Originator, m.Final} {
		if a.kind != LinkAddrShort && a.kind != LinkAddrExtended {
			return 0, fmt.Errorf("lowpan: mesh header: address %v: must be an 802.15.4 short or extended address", a)
		}
	}
	n := m.Len()
	if len(b) < n {
		return 0, fmt.Errorf("lowpan: mesh header: %w", ErrBufferTooSmall)
	}
	b[0] = DispatchMesh
	if m.Originator.kind == LinkAddrShort {
		b[0] |= meshFlagShortOrig
	}
	if m.Final.kind == LinkAddrShort {
		b[0] |= meshFlagShortDst
	}
	i := 1
	if m.HopsLeft >= meshHopsLeftDeep {
		b[0] |= meshHopsLeftDeep
		b[1] = m.HopsLeft
		i = 2
	} else {
		b[0] |= m.HopsLeft
	}
	i += putLinkAddr(b[i:], m.Originator)
	i += putLinkAddr(b[i:], m.Final)
	return i, nil
}

func putLinkAddr(b []byte, a LinkAddr) int {
	if a.kind == LinkAddrShort {
		copy(b, a.b[:2])
		return 2
	}
	copy(b, a.b[:8])
	return 8
}

// Decode parses a mesh header at the start of b.
func (m *MeshHeader) Decode(b []byte) error {
	if len(b) < 1 || b[0]&dispatchMeshMask != DispatchMesh {
		return fmt.Errorf("lowpan: mesh header: %w", ErrReserved)
	}
	i := 1
	hops := b[0] & 0x0f
	if hops == meshHopsLeftDeep {
		if len(b) < 2 {
			return fmt.Errorf("lowpan: mesh header: deep hops left: %w", ErrTruncated)
		}
		hops = b[1]
		i = 2
	}
	m.HopsLeft = hops
	var err error
	if m.Originator, i, err = readLinkAddr(b, i, b[0]&meshFlagShortOrig != 0); err != nil {
		return fmt.Errorf("lowpan: mesh header: originator: %w", err)
	}
	if m.Final, i, err = readLinkAddr(b, i, b[0]&meshFlagShortDst != 0); err != nil {
		return fmt.Errorf("lowpan: mesh header: final destination: %w", err)
	}
	m.encodedSize = i
	return nil
}

func readLinkAddr(b []byte, i int, short bool) (LinkAddr, int, error) {
	if short {
		if len(b) < i+2 {
			return LinkAddr{}, i, ErrTruncated
		}
		return ShortLinkAddr(binary.BigEndian.Uint16(b[i:])), i + 2, nil
	}
	if len(b) < i+8 {
		return LinkAddr{}, i, ErrTruncated
	}
	var e [8]byte
	copy(e[:], b[i:i+8])
	return ExtendedLinkAddr(e), i + 8, nil
}

// FragHeader is an RFC 4944 §5.3 fragment header. Size and Offset count
// octets of the uncompressed IPv6 datagram (RFC 6282 §2); Offset is a
// multiple of 8 and 0 for FRAG1.
type FragHeader struct {
	First  bool   // FRAG1 (4 octets) rather than FRAGN (5 octets)
	Size   uint16 // datagram_size, 11 bits
	Tag    uint16 // datagram_tag
	Offset uint16 // datagram_offset × 8
}

// Len is the encoded size of the header.
func (f *FragHeader) Len() int {
	if f.First {
		return frag1HeaderLen
	}
	return fragNHeaderLen
}

// Encode writes the header into b.
func (f *FragHeader) Encode(b []byte) (int, error) {
	if f.Size > maxDatagramSize {
		return 0, fmt.Errorf("lowpan: fragment header: size %d: %w", f.Size, ErrTooBig)
	}
	if f.Offset%fragOffsetUnit != 0 || f.Offset/fragOffsetUnit > 0xff {
		return 0, fmt.Errorf("lowpan: fragment header: offset %d is not a multiple of 8 below 2048: %w", f.Offset, ErrBadLength)
	}
	n := f.Len()
	if len(b) < n {
		return 0, fmt.Errorf("lowpan: fragment header: %w", ErrBufferTooSmall)
	}
	d := byte(DispatchFrag1)
	if !f.First {
		d = DispatchFragN
	}
	binary.BigEndian.PutUint16(b, f.Size)
	b[0] |= d
	binary.BigEndian.PutUint16(b[2:], f.Tag)
	if !f.First {
		b[4] = byte(f.Offset / fragOffsetUnit)
	}
	return n, nil
}

// Decode parses a fragment header at the start of b.
func (f *FragHeader) Decode(b []byte) error {
	if len(b) < 1 {
		return fmt.Errorf("lowpan: fragment header: %w", ErrTruncated)
	}
	switch b[0] & dispatchFragMask {
	case DispatchFrag1:
		f.First = true
	case DispatchFragN:
		f.First = false
	default:
		return fmt.Errorf("lowpan: fragment header: dispatch 0x%02x: %w", b[0], ErrReserved)
	}
	if len(b) < f.Len() {
		return fmt.Errorf("lowpan: fragment header: %w", ErrTruncated)
	}
	f.Size = binary.BigEndian.Uint16(b) & maxDatagramSize
	f.Tag = binary.BigEndian.Uint16(b[2:])
	f.Offset = 0
	if !f.First {
		f.Offset = uint16(b[4]) * fragOffsetUnit
	}
	return nil
}

// Headers is what precedes the compressed datagram in one MAC payload: the
// optional mesh, broadcast and fragment headers, in the order RFC 4944 §5
// requires.
type Headers struct {
	HasMesh      bool
	Mesh         MeshHeader
	HasBroadcast bool
	BroadcastSeq uint8
	HasFrag      bool
	Frag         FragHeader
	// Payload follows the headers above: an IPHC or IPv6 dispatch for an
	// unfragmented frame or a FRAG1, raw datagram bytes for a FRAGN.
	Payload []byte
}

// ParseHeaders reads the dispatch chain at the start of a MAC payload into
// h. It does not allocate. The NALP dispatch gives ErrNotLowpan.
func ParseHeaders(b []byte, h *Headers) error {
	*h = Headers{}
	i := 0
	if i < len(b) && b[i]&dispatchMeshMask == DispatchMesh {
		if err := h.Mesh.Decode(b[i:]); err != nil {
			return err
		}
		h.HasMesh = true
		i += h.Mesh.encodedSize
	}
	if i < len(b) && b[i] == DispatchBC0 {
		if len(b) < i+broadcastHdrLen {
			return fmt.Errorf("lowpan: broadcast header: %w", ErrTruncated)
		}
		h.HasBroadcast = true
		h.BroadcastSeq = b[i+1]
		i += broadcastHdrLen
	}
	if i < len(b) && (b[i]&dispatchFragMask == DispatchFrag1 || b[i]&dispatchFragMask == DispatchFragN) {
		if err := h.Frag.Decode(b[i:]); err != nil {
			return err
		}
		h.HasFrag = true
		i += h.Frag.Len()
		h.Payload = b[i:]
		if h.Frag.First {
			return checkDatagramDispatch(h.Payload)
		}
		return nil
	}
	h.Payload = b[i:]
	return checkDatagramDispatch(h.Payload)
}

// checkDatagramDispatch accepts IPHC and uncompressed IPv6 and names why
// anything else is refused.
func checkDatagramDispatch(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("lowpan: no datagram after the 6LoWPAN headers: %w", ErrTruncated)
	}
	d := b[0]
	switch {
	case d&dispatchIPHCMask == DispatchIPHC, d == DispatchIPv6, d == DispatchPage1:
		return nil
	case d == DispatchPage0 && len(b) > 1 && b[1]&dispatchIPHCMask == DispatchIPHC:
		return nil
	case d&dispatchPageMask == dispatchPageMask:
		return fmt.Errorf("lowpan: paging dispatch 0x%02x (RFC 8025 page %d): %w", d, d&0x0f, ErrUnsupported)
	case d&0xc0 == 0:
		return fmt.Errorf("lowpan: dispatch 0x%02x: %w", d, ErrNotLowpan)
	case d == DispatchHC1:
		return fmt.Errorf("lowpan: dispatch 0x%02x (LOWPAN_HC1, obsoleted by RFC 6282): %w", d, ErrUnsupported)
	case d&dispatchMeshMask == DispatchMesh, d == DispatchBC0, d&dispatchFragMask == DispatchFrag1, d&dispatchFragMask == DispatchFragN:
		return fmt.Errorf("lowpan: dispatch 0x%02x out of the order RFC 4944 §5 requires: %w", d, ErrReserved)
	}
	return fmt.Errorf("lowpan: dispatch 0x%02x: %w", d, ErrReserved)
}
