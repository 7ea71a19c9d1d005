package spinel

import "fmt"

// MaxPackedUint is the largest value a Spinel packed unsigned integer can
// carry: 21 bits in at most three bytes.
const MaxPackedUint = 1<<21 - 1

// PackedUintLen is the number of bytes AppendPackedUint writes for v.
func PackedUintLen(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// AppendPackedUint appends v as a Spinel packed unsigned integer: seven bits
// per byte, least-significant group first, bit 7 set on every byte but the
// last.
//
// v must not exceed MaxPackedUint. A larger value is still written in full
// (four or five bytes) rather than silently truncated, so the peer rejects
// the frame instead of reading a wrong number.
func AppendPackedUint(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// ReadPackedUint decodes the packed unsigned integer at the start of b and
// returns it with the number of bytes it took. It fails with ErrTruncated
// when b ends inside the integer and with ErrPackedTooLong when the third
// byte still has its continuation bit set.
//
// Non-minimal encodings (0x80 0x00 for zero) are accepted, as OpenThread's
// spinel_packed_uint_decode accepts them; no Spinel encoder produces them.
func ReadPackedUint(b []byte) (v uint32, n int, err error) {
	for i := 0; i < 3; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("spinel: packed integer: %w", ErrTruncated)
		}
		c := b[i]
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("spinel: packed integer: %w", ErrPackedTooLong)
}
