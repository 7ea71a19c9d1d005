// Package packettest builds IPv6 packets for tests of the packages that
// carry them (link, router, sim).
package packettest

import (
	"encoding/binary"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// UDP returns an IPv6 packet from src to dst carrying a UDP datagram
// (port 5683 to 5683, hop limit 64) with n octets of patterned payload and
// a correct checksum (RFC 8200 §8.1).
func UDP(src, dst string, n int) []byte {
	p := make([]byte, ip6.HeaderLen+8+n)
	h := ip6.Header(p)
	h.Encode(&ip6.Fields{PayloadLength: uint16(8 + n), NextHeader: ip6.ProtoUDP, HopLimit: 64,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst)})
	u := h.Payload()
	binary.BigEndian.PutUint16(u[0:], 5683) // source port
	binary.BigEndian.PutUint16(u[2:], 5683) // destination port
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	for i := range n {
		u[8+i] = byte(i * 13)
	}
	binary.BigEndian.PutUint16(u[6:], checksum.UDPIPv6(h.SrcBytes(), h.DstBytes(), u))
	return p
}
