package spinel

import (
	"bytes"
	"errors"
	"testing"
)

// One value of every type, appended and read back, byte-exact.
func TestPackEveryType(t *testing.T) {
	eui := [8]byte{2, 3, 5, 7, 11, 13, 17, 19}
	ip := [16]byte{0xFE, 0x80, 15: 0x01}
	var b []byte
	b = AppendBool(b, true)
	b = AppendBool(b, false)
	b = AppendUint8(b, 0x42)
	b = AppendInt8(b, -73)
	b = AppendUint16(b, 0xABCD)
	b = AppendInt16(b, -567)
	b = AppendUint32(b, 0xDEADBEEF)
	b = AppendInt32(b, -123455678)
	b = AppendUint64(b, 0xFE10DC32BA549876)
	b = AppendInt64(b, -2)
	b = AppendPackedUint(b, 0x8765)
	b = AppendEUI64(b, eui)
	b = AppendIPv6(b, ip)
	b = AppendUTF8(b, "OpenThread")
	b = AppendUTF8(b, "")
	b = AppendDataWithLen(b, []byte{0xAA, 0xBB})
	b, s := OpenStruct(b)
	b = AppendUint8(b, 0x11)
	b = AppendUint16(b, 0x2233)
	b = CloseStruct(b, s)
	b = AppendData(b, []byte{0xCC, 0xDD})

	want := []byte{
		0x01, 0x00, // b b
		0x42,       // C
		0xB7,       // c -73
		0xCD, 0xAB, // S
		0xC9, 0xFD, // s -567 = 0xFDC9
		0xEF, 0xBE, 0xAD, 0xDE, // L
		0x42, 0x37, 0xA4, 0xF8, // l -123455678 = 0xF8A43742
		0x76, 0x98, 0x54, 0xBA, 0x32, 0xDC, 0x10, 0xFE, // X
		0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // x -2
		0xE5, 0x8E, 0x02, // i 0x8765 = 0x65 + 0x0E·128 + 2·16384
		2, 3, 5, 7, 11, 13, 17, 19, // E
		0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // 6
		'O', 'p', 'e', 'n', 'T', 'h', 'r', 'e', 'a', 'd', 0x00, // U
		0x00,                   // U ""
		0x02, 0x00, 0xAA, 0xBB, // d
		0x03, 0x00, 0x11, 0x33, 0x22, // t(CS)
		0xCC, 0xDD, // D
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("appended\n% x\nwant\n% x", b, want)
	}

	r := NewReader(b, "test")
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("Bool", r.Bool(), true)
	check("Bool", r.Bool(), false)
	check("U8", r.U8(), uint8(0x42))
	check("I8", r.I8(), int8(-73))
	check("U16", r.U16(), uint16(0xABCD))
	check("I16", r.I16(), int16(-567))
	check("U32", r.U32(), uint32(0xDEADBEEF))
	check("I32", r.I32(), int32(-123455678))
	check("U64", r.U64(), uint64(0xFE10DC32BA549876))
	check("I64", r.I64(), int64(-2))
	check("PackedUint", r.PackedUint(), uint32(0x8765))
	check("EUI64", r.EUI64(), eui)
	check("IPv6", r.IPv6(), ip)
	check("UTF8", string(r.UTF8()), "OpenThread")
	check("UTF8", string(r.UTF8()), "")
	check("DataWithLen", string(r.DataWithLen()), "\xAA\xBB")
	st := r.Struct()
	check("struct U8", st.U8(), uint8(0x11))
	check("struct U16", st.U16(), uint16(0x2233))
	check("struct Len", st.Len(), 0)
	check("Data", string(r.Data()), "\xCC\xDD")
	check("Len", r.Len(), 0)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

// Fields a newer firmware appends inside a struct are skipped; reading past
// a struct's end is an error of the struct only.
func TestReaderStructBounds(t *testing.T) {
	b := []byte{0x04, 0x00, 0x01, 0x02, 0x03, 0x04, 0x99}
	r := NewReader(b, "test")
	s := r.Struct()
	if v := s.U8(); v != 1 || s.Err() != nil {
		t.Fatalf("struct U8 = %d, %v", v, s.Err())
	}
	if v := r.U8(); v != 0x99 || r.Err() != nil {
		t.Fatalf("after struct: %#x, %v; want 0x99", v, r.Err())
	}
	r = NewReader([]byte{0x01, 0x00, 0x05}, "test")
	s = r.Struct()
	s.U16()
	if !errors.Is(s.Err(), ErrTruncated) {
		t.Fatalf("reading past the struct: %v", s.Err())
	}
	r = NewReader([]byte{0x05, 0x00, 0x01}, "test")
	r.Struct()
	if !errors.Is(r.Err(), ErrTruncated) {
		t.Fatalf("struct longer than the value: %v", r.Err())
	}
}

func TestReaderErrorsStick(t *testing.T) {
	r := NewReader([]byte{0x02, 0x01, 0x02}, "test")
	if r.Bool() || !errors.Is(r.Err(), ErrBadValue) {
		t.Fatalf("Bool(2): %v", r.Err())
	}
	first := r.Err()
	if r.U8() != 0 || r.U16() != 0 || r.Data() != nil || r.Err() != first {
		t.Fatal("reads after an error must return zero and keep the first error")
	}
	for _, tc := range []struct {
		name string
		read func(r *Reader)
		in   []byte
		want error
	}{
		{"U16 short", func(r *Reader) { r.U16() }, []byte{1}, ErrTruncated},
		{"U64 short", func(r *Reader) { r.U64() }, make([]byte, 7), ErrTruncated},
		{"EUI64 short", func(r *Reader) { r.EUI64() }, make([]byte, 7), ErrTruncated},
		{"UTF8 unterminated", func(r *Reader) { r.UTF8() }, []byte("abc"), ErrTruncated},
		{"UTF8 invalid", func(r *Reader) { r.UTF8() }, []byte{0xFF, 0xFE, 0x00}, ErrBadValue},
		{"d longer than value", func(r *Reader) { r.DataWithLen() }, []byte{0x03, 0x00, 0x01}, ErrTruncated},
		{"i too long", func(r *Reader) { r.PackedUint() }, []byte{0x80, 0x80, 0x80, 0x00}, ErrPackedTooLong},
		{"i truncated", func(r *Reader) { r.PackedUint() }, []byte{0x80}, ErrTruncated},
	} {
		r := NewReader(tc.in, "test")
		tc.read(&r)
		if !errors.Is(r.Err(), tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, r.Err(), tc.want)
		}
	}
}

func TestReaderAllocs(t *testing.T) {
	b := AppendUTF8(AppendDataWithLen(AppendPackedUint(AppendUint64(nil, 7), 300), []byte{1, 2, 3}), "x")
	if n := testing.AllocsPerRun(100, func() {
		r := NewReader(b, "test")
		r.U64()
		r.PackedUint()
		r.DataWithLen()
		r.UTF8()
		if r.Err() != nil {
			panic(r.Err())
		}
	}); n != 0 {
		t.Fatalf("Reader: %v allocs, want 0", n)
	}
}
