package ip6

import (
	"encoding/binary"
	"net/netip"
)

// HeaderLen is the fixed IPv6 header's length (RFC 8200 §3).
const HeaderLen = 40

// Offsets of the fields (RFC 8200 §3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Source Address (128 bits)                      |
//	|                Destination Address (128 bits)                 |
const (
	payloadLenOff = 4
	hopLimitOff   = 7
	srcOff        = 8
	dstOff        = 24
)

// NextHeaderOffset is where the Next Header field sits in the fixed
// header. It is exported for code that patches "the next header field of
// whatever header came before", which is octet 0 of an extension header
// and this octet of the fixed header (RFC 8200 §4).
const NextHeaderOffset = 6

const nextHeaderOff = NextHeaderOffset

// MinimumMTU is the link MTU every IPv6 link must carry (RFC 8200 §5).
const MinimumMTU = 1280

// Next header values the border router looks at (IANA protocol numbers;
// RFC 8200 §4 for the extension headers).
const (
	ProtoHopByHop = 0
	ProtoUDP      = 17
	ProtoIPv6     = 41 // IPv6 in IPv6 (RFC 2473)
	ProtoRouting  = 43
	ProtoFragment = 44
	ProtoICMPv6   = 58
	ProtoNoNext   = 59
	ProtoDestOpts = 60
	ProtoMobility = 135 // RFC 6275
)

// Header is an IPv6 packet starting with its fixed header. Call IsValid
// before the accessors, which trust the slice.
type Header []byte

// IsValid reports whether h holds a whole fixed header of version 6.
func (h Header) IsValid() bool { return len(h) >= HeaderLen && h[0]>>4 == 6 }

// Version is the IP version field (6 in a valid header; for the error
// message about one that is not). It needs one octet.
func (h Header) Version() uint8 { return h[0] >> 4 }

// TrafficClass is the DSCP and ECN octet.
func (h Header) TrafficClass() uint8 { return h[0]<<4 | h[1]>>4 }

// FlowLabel is the 20-bit flow label.
func (h Header) FlowLabel() uint32 { return binary.BigEndian.Uint32(h[0:4]) & 0xfffff }

// SetVersionTrafficClassFlowLabel writes the first 32 bits: version 6,
// the traffic class (DSCP and ECN) and the low 20 bits of flow.
func (h Header) SetVersionTrafficClassFlowLabel(tc uint8, flow uint32) {
	binary.BigEndian.PutUint32(h[0:4], 6<<28|uint32(tc)<<20|flow&0xfffff)
}

// PayloadLength is the length of what follows the fixed header.
func (h Header) PayloadLength() uint16 { return binary.BigEndian.Uint16(h[payloadLenOff:]) }

// SetPayloadLength sets the payload length.
func (h Header) SetPayloadLength(v uint16) { binary.BigEndian.PutUint16(h[payloadLenOff:], v) }

// NextHeader is the type of what follows the fixed header.
func (h Header) NextHeader() uint8 { return h[nextHeaderOff] }

// SetNextHeader sets the next header.
func (h Header) SetNextHeader(v uint8) { h[nextHeaderOff] = v }

// HopLimit is the hop limit.
func (h Header) HopLimit() uint8 { return h[hopLimitOff] }

// SetHopLimit sets the hop limit.
func (h Header) SetHopLimit(v uint8) { h[hopLimitOff] = v }

// Src is the source address.
func (h Header) Src() netip.Addr { return netip.AddrFrom16([16]byte(h[srcOff:dstOff])) }

// Dst is the destination address.
func (h Header) Dst() netip.Addr { return netip.AddrFrom16([16]byte(h[dstOff:HeaderLen])) }

// SrcBytes and DstBytes are the addresses as slices of h (for checksums'
// pseudo-headers): writing them writes the packet.
func (h Header) SrcBytes() []byte { return h[srcOff:dstOff] }
func (h Header) DstBytes() []byte { return h[dstOff:HeaderLen] }

// SetSrc and SetDst write the addresses.
func (h Header) SetSrc(a netip.Addr) { s := a.As16(); copy(h[srcOff:dstOff], s[:]) }
func (h Header) SetDst(a netip.Addr) { d := a.As16(); copy(h[dstOff:HeaderLen], d[:]) }

// Payload is what follows the fixed header.
func (h Header) Payload() []byte { return h[HeaderLen:] }

// MulticastScope is the scope of a multicast destination (RFC 4291 §2.7:
// the low four bits of its second octet).
func (h Header) MulticastScope() uint8 { return h[dstOff+1] & 0x0f }

// Fields are the values Encode writes.
type Fields struct {
	TrafficClass  uint8
	FlowLabel     uint32
	PayloadLength uint16
	NextHeader    uint8
	HopLimit      uint8
	Src, Dst      netip.Addr
}

// Encode writes a whole fixed header from f into h[:HeaderLen].
func (h Header) Encode(f *Fields) {
	h.SetVersionTrafficClassFlowLabel(f.TrafficClass, f.FlowLabel)
	h.SetPayloadLength(f.PayloadLength)
	h[nextHeaderOff] = f.NextHeader
	h[hopLimitOff] = f.HopLimit
	h.SetSrc(f.Src)
	h.SetDst(f.Dst)
}
