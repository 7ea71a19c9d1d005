package ip6

import (
	"encoding/binary"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
)

// ICMPv6 lengths (RFC 4443 §2.1): the header is type, code and checksum;
// every message then has at least a 32-bit message body (unused, an MTU, a
// pointer, an identifier and sequence number, ND flags).
const (
	ICMPv6HeaderLen  = 4
	ICMPv6MinimumLen = 8
)

// ICMPv6 message types (RFC 4443 §2.1: types below 128 are errors).
const (
	ICMPv6DestinationUnreachable = 1   // RFC 4443 §3.1
	ICMPv6PacketTooBig           = 2   // RFC 4443 §3.2
	ICMPv6TimeExceeded           = 3   // RFC 4443 §3.3
	ICMPv6ParameterProblem       = 4   // RFC 4443 §3.4
	ICMPv6EchoRequest            = 128 // RFC 4443 §4.1
	ICMPv6EchoReply              = 129 // RFC 4443 §4.2
)

// ICMPv6 is an ICMPv6 message, header and body (RFC 4443 §2.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type-specific: unused / MTU / pointer / identifier+sequence |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Payload: as much of the invoking packet as fits, echo data,  |
//	|     ND fields and options ...                                   |
//
// Call IsValid before the accessors, which trust the slice. The checksum
// helpers take the view as the whole message: slice it to the IPv6
// payload that holds it. Neighbour Discovery messages have their own
// parser (package nd); this view is for the rest (errors, echo).
type ICMPv6 []byte

const (
	icmpCodeOff     = 1
	icmpChecksumOff = 2
	icmpBodyOff     = ICMPv6HeaderLen
)

// IsValid reports whether m holds a header and the 32-bit body.
func (m ICMPv6) IsValid() bool { return len(m) >= ICMPv6MinimumLen }

// Type is the message type.
func (m ICMPv6) Type() uint8 { return m[0] }

// SetType sets the message type.
func (m ICMPv6) SetType(t uint8) { m[0] = t }

// Code is the message code.
func (m ICMPv6) Code() uint8 { return m[icmpCodeOff] }

// SetCode sets the message code.
func (m ICMPv6) SetCode(c uint8) { m[icmpCodeOff] = c }

// Checksum is the Checksum field as carried.
func (m ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(m[icmpChecksumOff:]) }

// SetChecksum sets the Checksum field.
func (m ICMPv6) SetChecksum(c uint16) { binary.BigEndian.PutUint16(m[icmpChecksumOff:], c) }

// IsError reports an error message (RFC 4443 §2.1: the high-order bit of
// the type is zero). It needs one octet, so it may be asked of a message
// too short for IsValid (an error must never answer an error, §2.4(e)).
func (m ICMPv6) IsError() bool { return m[0] < 128 }

// TypeSpecific is the 32-bit message body after the checksum; MTU,
// Pointer, Ident and Sequence name its uses.
func (m ICMPv6) TypeSpecific() uint32 { return binary.BigEndian.Uint32(m[icmpBodyOff:]) }

// SetTypeSpecific sets the 32-bit message body.
func (m ICMPv6) SetTypeSpecific(v uint32) { binary.BigEndian.PutUint32(m[icmpBodyOff:], v) }

// MTU is the MTU of a Packet Too Big message (RFC 4443 §3.2).
func (m ICMPv6) MTU() uint32 { return m.TypeSpecific() }

// SetMTU sets the MTU of a Packet Too Big message.
func (m ICMPv6) SetMTU(v uint32) { m.SetTypeSpecific(v) }

// Pointer is the offset of the offending octet in a Parameter Problem
// message (RFC 4443 §3.4).
func (m ICMPv6) Pointer() uint32 { return m.TypeSpecific() }

// SetPointer sets the pointer of a Parameter Problem message.
func (m ICMPv6) SetPointer(v uint32) { m.SetTypeSpecific(v) }

// Ident is the identifier of an echo request or reply (RFC 4443 §4.1).
func (m ICMPv6) Ident() uint16 { return binary.BigEndian.Uint16(m[icmpBodyOff:]) }

// SetIdent sets the identifier of an echo request or reply.
func (m ICMPv6) SetIdent(v uint16) { binary.BigEndian.PutUint16(m[icmpBodyOff:], v) }

// Sequence is the sequence number of an echo request or reply.
func (m ICMPv6) Sequence() uint16 { return binary.BigEndian.Uint16(m[icmpBodyOff+2:]) }

// SetSequence sets the sequence number of an echo request or reply.
func (m ICMPv6) SetSequence(v uint16) { binary.BigEndian.PutUint16(m[icmpBodyOff+2:], v) }

// Payload is what follows the 32-bit body: for an error, the invoking
// packet (RFC 4443 §3); for an echo, its data.
func (m ICMPv6) Payload() []byte { return m[ICMPv6MinimumLen:] }

// ICMPv6Fields are the values ICMPv6.Encode writes.
type ICMPv6Fields struct {
	Type, Code   uint8
	TypeSpecific uint32 // MTU, pointer, identifier<<16|sequence, or 0
}

// Encode writes the header and body from f into m[:ICMPv6MinimumLen], with
// a zero checksum (fill it in with CalculateChecksum once the payload is
// in place).
func (m ICMPv6) Encode(f *ICMPv6Fields) {
	m[0], m[icmpCodeOff] = f.Type, f.Code
	m.SetChecksum(0)
	m.SetTypeSpecific(f.TypeSpecific)
}

// CalculateChecksum is the checksum m should carry between the IPv6
// addresses src and dst (16 octets each, e.g. Header.SrcBytes): over the
// pseudo-header with len(m) as the upper-layer length and next header 58,
// and m with its Checksum field counted as zero whatever it holds
// (RFC 4443 §2.3).
func (m ICMPv6) CalculateChecksum(src, dst []byte) uint16 {
	s := checksum.PseudoHeaderIPv6(src, dst, ProtoICMPv6, uint32(len(m)))
	s = checksum.Sum(m[:icmpChecksumOff], s)
	return checksum.Finish(checksum.Sum(m[ICMPv6HeaderLen:], s))
}

// ChecksumValid reports whether m carries the right checksum between src
// and dst (RFC 4443 §2.3).
func (m ICMPv6) ChecksumValid(src, dst []byte) bool {
	return checksum.Finish(checksum.Sum(m, checksum.PseudoHeaderIPv6(src, dst, ProtoICMPv6, uint32(len(m))))) == 0
}
