package spinel

import (
	"bytes"
	"errors"
	"testing"
)

// Known answers: the Spinel draft's test vectors (openthread/spinel-spec,
// core/appendix-test-vectors.md, "Test Vector: Packed Unsigned Integer").
var packedVectors = []struct {
	v   uint32
	enc []byte
}{
	{0, []byte{0x00}},
	{1, []byte{0x01}},
	{127, []byte{0x7F}},
	{128, []byte{0x80, 0x01}},
	{129, []byte{0x81, 0x01}},
	{1337, []byte{0xB9, 0x0A}},
	{16383, []byte{0xFF, 0x7F}},
	{16384, []byte{0x80, 0x80, 0x01}},
	{16385, []byte{0x81, 0x80, 0x01}},
	{2097151, []byte{0xFF, 0xFF, 0x7F}},
	// Ours: the property keys with multi-byte encodings.
	{uint32(PropRCPAPIVersion), []byte{0xB0, 0x01}},      // 0xB0 = 176 = 0x30 + 1·128
	{uint32(PropRadioCaps), []byte{0x8B, 0x24}},          // 0x120B = 0x0B + 0x24·128
	{uint32(PropMACSrcMatchEnabled), []byte{0x83, 0x26}}, // 0x1303 = 0x03 + 0x26·128
	{uint32(StatusAbort), []byte{0x8B, 0x80, 0x01}},      // 16395 = 11 + 0·128 + 1·16384
	{uint32(CapMACRaw), []byte{0x81, 0x04}},              // 513 = 1 + 4·128
}

func TestPackedUintVectors(t *testing.T) {
	for _, tc := range packedVectors {
		if got := AppendPackedUint(nil, tc.v); !bytes.Equal(got, tc.enc) {
			t.Errorf("AppendPackedUint(%d) = % x, want % x", tc.v, got, tc.enc)
		}
		if got := PackedUintLen(tc.v); got != len(tc.enc) {
			t.Errorf("PackedUintLen(%d) = %d, want %d", tc.v, got, len(tc.enc))
		}
		// Trailing bytes are not consumed.
		v, n, err := ReadPackedUint(append(tc.enc[:len(tc.enc):len(tc.enc)], 0xAA))
		if err != nil || v != tc.v || n != len(tc.enc) {
			t.Errorf("ReadPackedUint(% x) = %d, %d, %v; want %d, %d, nil", tc.enc, v, n, err, tc.v, len(tc.enc))
		}
	}
}

func TestPackedUintErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"continuation then end", []byte{0x80}, ErrTruncated},
		{"two continuations then end", []byte{0xFF, 0xFF}, ErrTruncated},
		{"fourth byte", []byte{0xFF, 0xFF, 0xFF, 0x01}, ErrPackedTooLong},
		{"three continuations", []byte{0x80, 0x80, 0x80}, ErrPackedTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ReadPackedUint(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("ReadPackedUint(% x) error = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
	// Non-minimal forms are read (OpenThread's decoder reads them too).
	if v, n, err := ReadPackedUint([]byte{0x80, 0x00}); v != 0 || n != 2 || err != nil {
		t.Errorf("ReadPackedUint(80 00) = %d, %d, %v; want 0, 2, nil", v, n, err)
	}
	// Out of range values are written in full, which peers refuse.
	if got := AppendPackedUint(nil, MaxPackedUint+1); len(got) != 4 {
		t.Errorf("AppendPackedUint(2^21) = % x, want 4 bytes", got)
	} else if _, _, err := ReadPackedUint(got); !errors.Is(err, ErrPackedTooLong) {
		t.Errorf("ReadPackedUint(2^21 encoded) error = %v, want ErrPackedTooLong", err)
	}
}

// Every value round-trips with the minimal length.
func TestPackedUintRoundTripAll(t *testing.T) {
	var buf [3]byte
	step := uint32(1)
	if testing.Short() {
		step = 97
	}
	for v := uint32(0); v <= MaxPackedUint; v += step {
		b := AppendPackedUint(buf[:0], v)
		got, n, err := ReadPackedUint(b)
		if err != nil || got != v || n != len(b) || n != PackedUintLen(v) {
			t.Fatalf("round trip %d: % x → %d, %d, %v", v, b, got, n, err)
		}
	}
}
