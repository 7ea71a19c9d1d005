package checksum

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// sumReference is RFC 1071 §4.1's loop: big-endian 16-bit words into a
// 32-bit accumulator, folded at the end.
func sumReference(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint32(s)
}

// FuzzSum: the 64-bit little-endian sum gives the checksum RFC 1071's
// plain loop gives, for any octets, length, alignment and initial sum, and
// its result is folded to 16 bits.
func FuzzSum(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, uint32(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint32(0xffffffff))
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{0x12, 0x34, 0x56}, uint32(1))
	f.Fuzz(func(t *testing.T, b []byte, initial uint32) {
		got := Sum(b, initial)
		if got > 0xffff {
			t.Fatalf("Sum = %#x, not folded to 16 bits", got)
		}
		if want := sumReference(b, initial); Finish(got) != Finish(want) {
			t.Fatalf("Finish(Sum(% x, %#x)) = %#04x, reference %#04x", b, initial, Finish(got), Finish(want))
		}
		if len(b) >= 32 {
			s, d := b[:16], b[16:32]
			got := Finish(PseudoHeaderIPv6(s, d, 17, uint32(len(b))))
			want := Finish(sumReference(d, sumReference(s, 0)) + uint32(len(b))>>16 + uint32(len(b))&0xffff + 17)
			if got != want {
				t.Fatalf("PseudoHeaderIPv6 checksum %#04x, reference %#04x", got, want)
			}
		}
	})
}

// TestSumLongRuns: sums whose 64-bit accumulator wraps many times (all
// ones, 64 KiB) agree with the reference.
func TestSumLongRuns(t *testing.T) {
	for _, fill := range []byte{0xff, 0x80, 0x01} {
		for _, n := range []int{31, 32, 33, 65535, 65536} {
			b := make([]byte, n)
			for i := range b {
				b[i] = fill
			}
			if got, want := Finish(Sum(b, 0xffff)), Finish(sumReference(b, 0xffff)); got != want {
				t.Errorf("%d octets of %#x: %#04x, reference %#04x", n, fill, got, want)
			}
		}
	}
}

func BenchmarkSum(b *testing.B) {
	for _, n := range []int{16, 40, 1240} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*31 + 7)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = Sum(data, 0)
			}
		})
	}
}

// BenchmarkUDPIPv6: the checksum of a 1280-octet datagram's UDP part,
// pseudo-header included (what decompression computes when the checksum
// was elided, RFC 6282 §4.3.2).
func BenchmarkUDPIPv6(b *testing.B) {
	src, dst := make([]byte, 16), make([]byte, 16)
	src[0], dst[0] = 0x20, 0x20
	udp := make([]byte, 1240)
	for i := range udp {
		udp[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(udp)))
	for b.Loop() {
		_ = UDPIPv6(src, dst, udp)
	}
}
