// Package checksum computes the Internet checksum (RFC 1071) and the IPv6
// upper-layer pseudo-header sum (RFC 8200 §8.1) used by UDP and ICMPv6.
package checksum

import "encoding/binary"

// Sum adds b to the running one's-complement sum initial, treating b as a
// sequence of big-endian 16-bit words (an odd last byte is padded with zero).
// The result is not folded; pass it to Finish.
func Sum(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	for s>>32 != 0 {
		s = (s & 0xffffffff) + (s >> 32)
	}
	return uint32(s)
}

// Finish folds a running sum to 16 bits and complements it.
func Finish(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + (sum >> 16)
	}
	return ^uint16(sum)
}

// PseudoHeaderIPv6 is the running sum of the IPv6 pseudo-header (RFC 8200
// §8.1): source, destination, upper-layer length and next header.
func PseudoHeaderIPv6(src, dst []byte, proto uint8, length uint32) uint32 {
	s := Sum(src[:16], 0)
	s = Sum(dst[:16], s)
	s += length>>16 + length&0xffff + uint32(proto)
	return s
}

// UDPIPv6 returns the UDP checksum for the datagram udp (header with its
// checksum field included, as it stands) between src and dst. A computed 0
// is sent as 0xffff (RFC 8200 §8.1: zero means "no checksum", not allowed in
// IPv6).
func UDPIPv6(src, dst, udp []byte) uint16 {
	c := Finish(Sum(udp, PseudoHeaderIPv6(src, dst, 17, uint32(len(udp)))))
	if c == 0 {
		c = 0xffff
	}
	return c
}
