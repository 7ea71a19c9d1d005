package spinel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Append helpers, one per Spinel data type. All multi-byte integers are
// little-endian. None allocates when b has room.

// AppendBool appends a `b`: one byte, 0 or 1.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendUint8 appends a `C`.
func AppendUint8(b []byte, v uint8) []byte { return append(b, v) }

// AppendInt8 appends a `c`.
func AppendInt8(b []byte, v int8) []byte { return append(b, byte(v)) }

// AppendUint16 appends an `S`.
func AppendUint16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

// AppendInt16 appends an `s`.
func AppendInt16(b []byte, v int16) []byte { return AppendUint16(b, uint16(v)) }

// AppendUint32 appends an `L`.
func AppendUint32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendInt32 appends an `l`.
func AppendInt32(b []byte, v int32) []byte { return AppendUint32(b, uint32(v)) }

// AppendUint64 appends an `X`.
func AppendUint64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// AppendInt64 appends an `x`.
func AppendInt64(b []byte, v int64) []byte { return AppendUint64(b, uint64(v)) }

// AppendEUI64 appends an `E`: the eight bytes in the order given (Spinel
// carries EUI-64s in canonical order; the RCP reverses them for the air).
func AppendEUI64(b []byte, v [8]byte) []byte { return append(b, v[:]...) }

// AppendIPv6 appends a `6`: sixteen bytes in network order.
func AppendIPv6(b []byte, v [16]byte) []byte { return append(b, v[:]...) }

// AppendUTF8 appends a `U`: the string and a NUL terminator. s must not
// contain NUL (the peer would stop reading there).
func AppendUTF8(b []byte, s string) []byte {
	b = append(b, s...)
	return append(b, 0)
}

// AppendDataWithLen appends a `d`: a 16-bit length, then the bytes. Data
// longer than 65535 bytes is cut to 65535 (no Spinel frame is that long).
func AppendDataWithLen(b []byte, data []byte) []byte {
	if len(data) > math.MaxUint16 {
		data = data[:math.MaxUint16]
	}
	b = AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// AppendData appends a `D`: the bytes, unprefixed, to the end of the value.
func AppendData(b []byte, data []byte) []byte { return append(b, data...) }

// OpenStruct starts a `t(...)`: it appends a placeholder for the 16-bit
// length and returns where it is. Append the fields, then CloseStruct.
//
//	b, s := OpenStruct(b)
//	b = AppendUint8(b, channel)
//	b = CloseStruct(b, s)
func OpenStruct(b []byte) ([]byte, int) {
	return append(b, 0, 0), len(b)
}

// CloseStruct writes the length of the struct opened at start. A struct
// longer than 65535 bytes gets length 65535.
func CloseStruct(b []byte, start int) []byte {
	if start < 0 || start+2 > len(b) {
		return b
	}
	n := len(b) - start - 2
	if n > math.MaxUint16 {
		n = math.MaxUint16
	}
	binary.LittleEndian.PutUint16(b[start:], uint16(n))
	return b
}

// Reader reads Spinel-typed fields from a value, front to back, without
// copying or allocating. The first error sticks: later reads return zero
// values and Err reports that first error, so a decoder reads every field
// and checks Err once. Byte-slice results alias the value.
type Reader struct {
	b    []byte
	off  int // bytes consumed, for error messages
	err  error
	what string // what is being decoded, for error messages
}

// NewReader returns a Reader over value. what names it in errors
// ("RxFrame", "CAPS").
func NewReader(value []byte, what string) Reader {
	return Reader{b: value, what: what}
}

// Err returns the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

// Offset returns the number of bytes read so far.
func (r *Reader) Offset() int { return r.off }

// Fail records err as the reader's error if it has none yet; decoders use it
// for checks of their own ("PSDU longer than 127 bytes").
func (r *Reader) Fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("spinel: %s %s at offset %d: %w", r.what, field, r.off, err)
	}
	r.b = nil
}

// take returns the next n bytes, or nil (and records ErrTruncated).
func (r *Reader) take(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.Fail(field, ErrTruncated)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	r.off += n
	return v
}

// Bool reads a `b`. Values other than 0 and 1 are an error (ErrBadValue),
// as in OpenThread's Spinel decoder.
func (r *Reader) Bool() bool {
	v := r.take(1, "bool")
	if v == nil {
		return false
	}
	switch v[0] {
	case 0:
		return false
	case 1:
		return true
	}
	r.off--
	r.Fail("bool", ErrBadValue)
	return false
}

// U8 reads a `C`.
func (r *Reader) U8() uint8 {
	if v := r.take(1, "uint8"); v != nil {
		return v[0]
	}
	return 0
}

// I8 reads a `c`.
func (r *Reader) I8() int8 { return int8(r.U8()) }

// U16 reads an `S`.
func (r *Reader) U16() uint16 {
	if v := r.take(2, "uint16"); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

// I16 reads an `s`.
func (r *Reader) I16() int16 { return int16(r.U16()) }

// U32 reads an `L`.
func (r *Reader) U32() uint32 {
	if v := r.take(4, "uint32"); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

// I32 reads an `l`.
func (r *Reader) I32() int32 { return int32(r.U32()) }

// U64 reads an `X`.
func (r *Reader) U64() uint64 {
	if v := r.take(8, "uint64"); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

// I64 reads an `x`.
func (r *Reader) I64() int64 { return int64(r.U64()) }

// PackedUint reads an `i`.
func (r *Reader) PackedUint() uint32 {
	if r.err != nil {
		return 0
	}
	v, n, err := ReadPackedUint(r.b)
	if err != nil {
		r.Fail("packed integer", errUnwrapPacked(err))
		return 0
	}
	r.b = r.b[n:]
	r.off += n
	return v
}

// errUnwrapPacked strips ReadPackedUint's own prefix so the Reader's
// message does not repeat "spinel:".
func errUnwrapPacked(err error) error {
	if errors.Is(err, ErrPackedTooLong) {
		return ErrPackedTooLong
	}
	return ErrTruncated
}

// EUI64 reads an `E`, bytes in the order sent (canonical).
func (r *Reader) EUI64() (v [8]byte) {
	if b := r.take(8, "EUI-64"); b != nil {
		copy(v[:], b)
	}
	return v
}

// IPv6 reads a `6`.
func (r *Reader) IPv6() (v [16]byte) {
	if b := r.take(16, "IPv6 address"); b != nil {
		copy(v[:], b)
	}
	return v
}

// UTF8 reads a `U` and returns its bytes without the NUL terminator. A
// string with no terminator or with invalid UTF-8 is an error.
func (r *Reader) UTF8() []byte {
	if r.err != nil {
		return nil
	}
	i := bytes.IndexByte(r.b, 0)
	if i < 0 {
		r.Fail("string", fmt.Errorf("no NUL terminator: %w", ErrTruncated))
		return nil
	}
	s := r.b[:i:i]
	if !utf8.Valid(s) {
		r.Fail("string", fmt.Errorf("not UTF-8: %w", ErrBadValue))
		return nil
	}
	r.b = r.b[i+1:]
	r.off += i + 1
	return s
}

// DataWithLen reads a `d`: a 16-bit length and that many bytes.
func (r *Reader) DataWithLen() []byte {
	n := r.U16()
	return r.take(int(n), "data")
}

// Data reads a `D`: every remaining byte.
func (r *Reader) Data() []byte {
	if r.err != nil {
		return nil
	}
	v := r.b
	r.b = r.b[len(r.b):]
	r.off += len(v)
	return v
}

// Struct reads a `t(...)` and returns a Reader bounded by its length, so
// fields newer firmware appends inside the struct are skipped by simply not
// reading them. An error inside the struct is reported by the sub-Reader's
// Err; the parent's Err reports only a truncated length prefix or body.
func (r *Reader) Struct() Reader {
	start := r.off
	n := r.U16()
	body := r.take(int(n), "struct")
	sub := Reader{b: body, off: start + 2, what: r.what}
	if r.err != nil {
		sub.err = r.err
	}
	return sub
}

// peekStruct reports, without consuming anything, whether a well-formed
// struct (length prefix and a body that fits) comes next.
func (r *Reader) peekStruct() bool {
	if r.err != nil || len(r.b) < 2 {
		return false
	}
	return int(binary.LittleEndian.Uint16(r.b))+2 <= len(r.b)
}
