package checksum

import "testing"

// RFC 1071 §3 worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
func TestSumRFC1071Example(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Finish(Sum(b, 0)); got != ^uint16(0xddf2) {
		t.Fatalf("Finish = %#x, want %#x", got, ^uint16(0xddf2))
	}
}

func TestOddLength(t *testing.T) {
	if got, want := Sum([]byte{0x12, 0x34, 0x56}, 0), uint32(0x1234+0x5600); got != want {
		t.Fatalf("Sum = %#x, want %#x", got, want)
	}
}

// A UDP datagram with a correct checksum sums to all ones over the pseudo
// header (the property receivers verify with).
func TestUDPIPv6Verifies(t *testing.T) {
	src := []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef}
	dst := []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x08, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11}
	udp := []byte{0x12, 0x34, 0x16, 0x33, 0, 21, 0, 0, 'h', 'e', 'l', 'l', 'o', '-', '6', 'l', 'o', 'w', 'p', 'a', 'n'}
	c := UDPIPv6(src, dst, udp)
	udp[6], udp[7] = byte(c>>8), byte(c)
	if got := Finish(Sum(udp, PseudoHeaderIPv6(src, dst, 17, uint32(len(udp))))); got != 0 {
		t.Fatalf("verification sum = %#x, want 0", got)
	}
}
