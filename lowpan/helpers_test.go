package lowpan

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
)

// Addresses of the hand-built captures in testdata (see testdata/README.md).
var (
	extSrc = ExtendedLinkAddr([8]byte{0x02, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef})
	extDst = ExtendedLinkAddr([8]byte{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11})
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addr16(t testing.TB, s string) [16]byte {
	t.Helper()
	return netip.MustParseAddr(s).As16()
}

// ipv6Fields describes a packet for the test builders below, written
// independently of the code under test.
type ipv6Fields struct {
	src, dst string
	tc       uint8
	flow     uint32
	hlim     uint8
	next     uint8
}

// buildIPv6 returns an IPv6 header followed by payload, with the payload
// length set.
func buildIPv6(t testing.TB, f ipv6Fields, payload []byte) []byte {
	t.Helper()
	p := make([]byte, 40+len(payload))
	binary.BigEndian.PutUint32(p, 6<<28|uint32(f.tc)<<20|f.flow&0xfffff)
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6], p[7] = f.next, f.hlim
	s, d := addr16(t, f.src), addr16(t, f.dst)
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	copy(p[40:], payload)
	return p
}

// buildUDP6 returns an IPv6/UDP packet with a correct checksum.
func buildUDP6(t testing.TB, f ipv6Fields, sport, dport uint16, data []byte) []byte {
	t.Helper()
	f.next = 17
	u := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(u, sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], data)
	p := buildIPv6(t, f, u)
	c := checksum.UDPIPv6(p[8:24], p[24:40], p[40:])
	binary.BigEndian.PutUint16(p[46:], c)
	return p
}
