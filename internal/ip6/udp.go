package ip6

import (
	"encoding/binary"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
)

// UDPHeaderLen is the length of the UDP header (RFC 768).
const UDPHeaderLen = 8

// UDP is a UDP datagram, header and payload, carried in IPv6 (RFC 768;
// RFC 8200 §8.1 for the checksum):
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
//
// Call IsValid before the accessors, which trust the slice. The checksum
// helpers take the view as the whole datagram: slice it to the IPv6
// payload that holds it.
type UDP []byte

const (
	udpDstPortOff  = 2
	udpLengthOff   = 4
	udpChecksumOff = 6
)

// IsValid reports whether u holds a whole UDP header.
func (u UDP) IsValid() bool { return len(u) >= UDPHeaderLen }

// SourcePort is the source port.
func (u UDP) SourcePort() uint16 { return binary.BigEndian.Uint16(u) }

// DestinationPort is the destination port.
func (u UDP) DestinationPort() uint16 { return binary.BigEndian.Uint16(u[udpDstPortOff:]) }

// Length is the Length field: header and payload octets.
func (u UDP) Length() uint16 { return binary.BigEndian.Uint16(u[udpLengthOff:]) }

// Checksum is the Checksum field as carried.
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[udpChecksumOff:]) }

// SetSourcePort sets the source port.
func (u UDP) SetSourcePort(p uint16) { binary.BigEndian.PutUint16(u, p) }

// SetDestinationPort sets the destination port.
func (u UDP) SetDestinationPort(p uint16) { binary.BigEndian.PutUint16(u[udpDstPortOff:], p) }

// SetLength sets the Length field.
func (u UDP) SetLength(n uint16) { binary.BigEndian.PutUint16(u[udpLengthOff:], n) }

// SetChecksum sets the Checksum field.
func (u UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(u[udpChecksumOff:], c) }

// Payload is what follows the header.
func (u UDP) Payload() []byte { return u[UDPHeaderLen:] }

// UDPFields are the values UDP.Encode writes.
type UDPFields struct {
	SrcPort, DstPort uint16
	Length           uint16
	Checksum         uint16
}

// Encode writes a whole header from f into u[:UDPHeaderLen].
func (u UDP) Encode(f *UDPFields) {
	u.SetSourcePort(f.SrcPort)
	u.SetDestinationPort(f.DstPort)
	u.SetLength(f.Length)
	u.SetChecksum(f.Checksum)
}

// CalculateChecksum is the checksum u should carry between the IPv6
// addresses src and dst (16 octets each, e.g. Header.SrcBytes): over the
// pseudo-header with len(u) as the upper-layer length, and u with its
// Checksum field counted as zero whatever it holds. A computed zero is
// returned as 0xffff: in IPv6 zero means "no checksum", which is not
// allowed (RFC 8200 §8.1).
func (u UDP) CalculateChecksum(src, dst []byte) uint16 {
	s := checksum.PseudoHeaderIPv6(src, dst, ProtoUDP, uint32(len(u)))
	s = checksum.Sum(u[:udpChecksumOff], s)
	c := checksum.Finish(checksum.Sum(u[UDPHeaderLen:], s))
	if c == 0 {
		c = 0xffff
	}
	return c
}

// ChecksumValid reports whether u carries the right checksum between src
// and dst. A zero checksum is not valid in IPv6 (RFC 8200 §8.1: receivers
// discard such datagrams).
func (u UDP) ChecksumValid(src, dst []byte) bool {
	if u.Checksum() == 0 {
		return false
	}
	return checksum.Finish(checksum.Sum(u, checksum.PseudoHeaderIPv6(src, dst, ProtoUDP, uint32(len(u))))) == 0
}
