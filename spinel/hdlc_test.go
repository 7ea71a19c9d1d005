package spinel

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// CRC-16/X.25 catalogue entry (Greg Cook's CRC RevEng catalogue, "CRC-16/
// IBM-SDLC", alias X-25): check value 0x906E over "123456789", residue
// 0xF0B8.
func TestCRC16X25Check(t *testing.T) {
	if got := CRC16X25([]byte("123456789")); got != 0x906E {
		t.Fatalf("CRC16X25(123456789) = %#04x, want 0x906e", got)
	}
	if got := CRC16X25(nil); got != 0 {
		t.Fatalf("CRC16X25(empty) = %#04x, want 0", got)
	}
}

// Running the CRC register over data and its FCS (low byte first) leaves the
// fixed residue 0xF0B8 (RFC 1662 §C.2, PPPGOODFCS16).
func TestCRC16X25Residue(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("123456789"), {0x80, 0x06, 0x00, 0x72}, bytes.Repeat([]byte{0x7E}, 300)} {
		fcs := CRC16X25(data)
		if crc := crcX25(0xFFFF, append(bytes.Clone(data), byte(fcs), byte(fcs>>8))); crc != hdlcGoodFCS {
			t.Errorf("residue over % x + FCS = %#04x, want 0xf0b8", data, crc)
		}
	}
}

// The slicing-by-8 CRC agrees with the bit-by-bit definition at every
// length and alignment.
func TestCRC16X25Slicing(t *testing.T) {
	bitwise := func(b []byte) uint16 {
		crc := uint16(0xFFFF)
		for _, c := range b {
			crc ^= uint16(c)
			for range 8 {
				if crc&1 != 0 {
					crc = crc>>1 ^ 0x8408
				} else {
					crc >>= 1
				}
			}
		}
		return ^crc
	}
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i*131 + i>>3)
	}
	for start := 0; start < 8; start++ {
		for end := start; end <= len(data); end += 1 + end%5 {
			if got, want := CRC16X25(data[start:end]), bitwise(data[start:end]); got != want {
				t.Fatalf("CRC16X25(data[%d:%d]) = %#04x, want %#04x", start, end, got, want)
			}
		}
	}
}

// Byte-exact HDLC-lite encodings. The FCS bytes were computed with a
// separate bit-by-bit CRC (Python, polynomial 0x8408, init and final XOR
// 0xFFFF), not with this package's table.
var hdlcVectors = []struct {
	name  string
	frame []byte
	enc   []byte
}{
	// The Spinel draft's "Reset Command" test vector 80 01; FCS 0x9202.
	{"reset command", []byte{0x80, 0x01}, []byte{0x7E, 0x80, 0x01, 0x02, 0x92, 0x7E}},
	// RESET with the stack type, as OpenThread's SpinelDriver::SendReset sends it; FCS 0xF0EA.
	{"reset stack", []byte{0x80, 0x01, 0x02}, []byte{0x7E, 0x80, 0x01, 0x02, 0xEA, 0xF0, 0x7E}},
	// The draft's "Reset Notification" 80 06 00 72 (RESET_SOFTWARE); FCS 0x57FC.
	{"reset notification", []byte{0x80, 0x06, 0x00, 0x72}, []byte{0x7E, 0x80, 0x06, 0x00, 0x72, 0xFC, 0x57, 0x7E}},
	// What an OpenThread RCP actually sends after RESET: RESET_POWER_ON; FCS 0x74EE.
	{"reset power-on", []byte{0x80, 0x06, 0x00, 0x70}, []byte{0x7E, 0x80, 0x06, 0x00, 0x70, 0xEE, 0x74, 0x7E}},
	// GET PROTOCOL_VERSION, TID 1; FCS 0xB2C5.
	{"get protocol version", []byte{0x81, 0x02, 0x01}, []byte{0x7E, 0x81, 0x02, 0x01, 0xC5, 0xB2, 0x7E}},
	// Its answer, 4.3; FCS 0x0ADB.
	{"is protocol version", []byte{0x81, 0x06, 0x01, 0x04, 0x03}, []byte{0x7E, 0x81, 0x06, 0x01, 0x04, 0x03, 0xDB, 0x0A, 0x7E}},
	// Each escaped byte value as data: 7D, then the byte XOR 0x20.
	{"escape 7E", []byte{0x7E}, []byte{0x7E, 0x7D, 0x5E, 0x81, 0x6A, 0x7E}},
	{"escape 7D", []byte{0x7D}, []byte{0x7E, 0x7D, 0x5D, 0x1A, 0x58, 0x7E}},
	{"escape 11 (XON)", []byte{0x11}, []byte{0x7E, 0x7D, 0x31, 0x70, 0xF1, 0x7E}},
	{"escape 13 (XOFF)", []byte{0x13}, []byte{0x7E, 0x7D, 0x33, 0x62, 0xD2, 0x7E}},
	{"escape F8", []byte{0xF8}, []byte{0x7E, 0x7D, 0xD8, 0xBF, 0x8B, 0x7E}},
	// The FCS is escaped like data: each escaped value in its low byte…
	{"FCS low 7D", []byte{0x81, 0x00, 0x10}, []byte{0x7E, 0x81, 0x00, 0x10, 0x7D, 0x5D, 0x80, 0x7E}}, // FCS 0x807D
	{"FCS low 11", []byte{0x81, 0x00, 0x1C}, []byte{0x7E, 0x81, 0x00, 0x1C, 0x7D, 0x31, 0x4A, 0x7E}}, // FCS 0x4A11
	{"FCS low 13", []byte{0x81, 0x00, 0x3C}, []byte{0x7E, 0x81, 0x00, 0x3C, 0x7D, 0x33, 0x6B, 0x7E}}, // FCS 0x6B13
	{"FCS low F8", []byte{0x81, 0x00, 0x40}, []byte{0x7E, 0x81, 0x00, 0x40, 0x7D, 0xD8, 0xD2, 0x7E}}, // FCS 0xD2F8
	// … and in its high byte.
	{"FCS high 7D", []byte{0x81, 0x00, 0x4A}, []byte{0x7E, 0x81, 0x00, 0x4A, 0xA2, 0x7D, 0x5D, 0x7E}}, // FCS 0x7DA2
	{"FCS high 7E", []byte{0x81, 0x00, 0x79}, []byte{0x7E, 0x81, 0x00, 0x79, 0xBA, 0x7D, 0x5E, 0x7E}}, // FCS 0x7EBA
	{"FCS high 11", []byte{0x81, 0x00, 0xD5}, []byte{0x7E, 0x81, 0x00, 0xD5, 0xDC, 0x7D, 0x31, 0x7E}}, // FCS 0x11DC
	{"FCS high 13", []byte{0x81, 0x00, 0xF7}, []byte{0x7E, 0x81, 0x00, 0xF7, 0xCC, 0x7D, 0x33, 0x7E}}, // FCS 0x13CC
	{"FCS high F8", []byte{0x81, 0x00, 0xDB}, []byte{0x7E, 0x81, 0x00, 0xDB, 0xA2, 0x7D, 0xD8, 0x7E}}, // FCS 0xF8A2
	// An empty frame is just its FCS (0x0000).
	{"empty", nil, []byte{0x7E, 0x00, 0x00, 0x7E}},
}

func TestAppendHDLCVectors(t *testing.T) {
	for _, tc := range hdlcVectors {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendHDLC(nil, tc.frame)
			if diff := cmp.Diff(tc.enc, got); diff != "" {
				t.Errorf("AppendHDLC(% x) (-want +got):\n%s", tc.frame, diff)
			}
			dec, err := DecodeHDLC(nil, tc.enc)
			if err != nil || !bytes.Equal(dec, tc.frame) {
				t.Errorf("DecodeHDLC(% x) = % x, %v; want % x", tc.enc, dec, err, tc.frame)
			}
			var frames [][]byte
			var d HDLCDecoder
			d.Feed(tc.enc, func(f []byte) { frames = append(frames, bytes.Clone(f)) })
			if len(frames) != 1 || !bytes.Equal(frames[0], tc.frame) {
				t.Errorf("HDLCDecoder on % x gave %x, want [% x]", tc.enc, frames, tc.frame)
			}
		})
	}
}

// Every byte value round-trips, and exactly the five special ones are
// escaped.
func TestHDLCEveryByte(t *testing.T) {
	for v := 0; v < 256; v++ {
		enc := AppendHDLC(nil, []byte{byte(v)})
		special := v == 0x7E || v == 0x7D || v == 0x11 || v == 0x13 || v == 0xF8
		if special != (enc[1] == HDLCEscape) {
			t.Errorf("byte %#02x: encoded % x; escaped=%v, want %v", v, enc, enc[1] == HDLCEscape, special)
		}
		if special && enc[2] != byte(v)^0x20 {
			t.Errorf("byte %#02x: escaped as %#02x, want %#02x", v, enc[2], byte(v)^0x20)
		}
		if len(enc) > HDLCEncodedLen(1) {
			t.Errorf("byte %#02x: %d encoded bytes > HDLCEncodedLen(1) = %d", v, len(enc), HDLCEncodedLen(1))
		}
		dec, err := DecodeHDLC(nil, enc)
		if err != nil || len(dec) != 1 || dec[0] != byte(v) {
			t.Errorf("byte %#02x: % x decoded to % x, %v", v, enc, dec, err)
		}
	}
}

func TestDecodeHDLCErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"bad FCS", []byte{0x7E, 0x80, 0x01, 0x02, 0x93, 0x7E}, ErrBadFCS},
		{"short", []byte{0x7E, 0x80, 0x7E}, ErrTruncated},
		{"escape at end", []byte{0x7E, 0x80, 0x7D}, ErrTruncated},
		{"flag inside", []byte{0x7E, 0x80, 0x7E, 0x01, 0x7E}, ErrBadValue},
	} {
		if _, err := DecodeHDLC(nil, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: DecodeHDLC(% x) error = %v, want %v", tc.name, tc.in, err, tc.want)
		}
	}
}

// collect feeds chunks to d and returns the frames, copied.
func collect(d *HDLCDecoder, chunks ...[]byte) []string {
	var out []string
	for _, c := range chunks {
		d.Feed(c, func(f []byte) { out = append(out, fmt.Sprintf("% x", f)) })
	}
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	frA = []byte{0x80, 0x06, 0x00, 0x70}
	frB = []byte{0x81, 0x06, 0x01, 0x04, 0x03}
	frC = []byte{0x7E, 0x7D, 0x11, 0x13, 0xF8, 0x00} // all escapes
)

func hexes(frames ...[]byte) []string {
	var out []string
	for _, f := range frames {
		out = append(out, fmt.Sprintf("% x", f))
	}
	return out
}

func TestHDLCDecoderResync(t *testing.T) {
	encA, encB, encC := AppendHDLC(nil, frA), AppendHDLC(nil, frB), AppendHDLC(nil, frC)
	badFCS := bytes.Clone(encB)
	badFCS[2] ^= 0x01
	for _, tc := range []struct {
		name   string
		stream []byte
		max    int
		want   []string
		stats  HDLCStats
	}{
		{
			name:   "garbage before the first flag",
			stream: cat([]byte{0x01, 0x02, 0x03, 0xFF}, encA),
			want:   hexes(frA),
			stats:  HDLCStats{Frames: 1, GarbageBytes: 4},
		},
		{
			// Garbage after a closing flag is a frame that fails its FCS.
			name:   "garbage between frames",
			stream: cat(encA, []byte{0x55, 0x66, 0x77, 0x88}, encB),
			want:   hexes(frA, frB),
			stats:  HDLCStats{Frames: 2, BadFCS: 1},
		},
		{
			name:   "several flags in a row",
			stream: cat([]byte{0x7E, 0x7E, 0x7E}, encA, []byte{0x7E, 0x7E}, encB, []byte{0x7E}),
			want:   hexes(frA, frB),
			stats:  HDLCStats{Frames: 2},
		},
		{
			name:   "shared flag between frames",
			stream: cat(encA, encB[1:], encC[1:]),
			want:   hexes(frA, frB, frC),
			stats:  HDLCStats{Frames: 3},
		},
		{
			name:   "bad FCS then a good frame",
			stream: cat(badFCS, encA),
			want:   hexes(frA),
			stats:  HDLCStats{Frames: 1, BadFCS: 1},
		},
		{
			name:   "oversize then a good frame",
			stream: cat(AppendHDLC(nil, bytes.Repeat([]byte{0x42}, 20)), encA),
			max:    8,
			want:   hexes(frA),
			// 8+2 bytes fit the buffer; the 11th overflows, and the other
			// 9 data and 2 FCS bytes are skipped up to the closing flag.
			stats: HDLCStats{Frames: 1, Oversize: 1, GarbageBytes: 11},
		},
		{
			name:   "frame of exactly the maximum",
			stream: AppendHDLC(nil, bytes.Repeat([]byte{0x42}, 8)),
			max:    8,
			want:   hexes(bytes.Repeat([]byte{0x42}, 8)),
			stats:  HDLCStats{Frames: 1},
		},
		{
			// 7D 7E aborts; the flag opens the next frame.
			name:   "escape then flag",
			stream: cat([]byte{0x7E, 0x80, 0x06, 0x7D, 0x7E}, encA[1:]),
			want:   hexes(frA),
			stats:  HDLCStats{Frames: 1, Aborted: 1},
		},
		{
			name:   "escape then flag, next frame with its own flag",
			stream: cat([]byte{0x7E, 0x80, 0x7D, 0x7E}, encB),
			want:   hexes(frB),
			stats:  HDLCStats{Frames: 1, Aborted: 1},
		},
		{
			name:   "runt",
			stream: cat([]byte{0x7E, 0x80, 0x7E}, encA),
			want:   hexes(frA),
			stats:  HDLCStats{Frames: 1, Runts: 1},
		},
		{
			name:   "unterminated frame is held",
			stream: cat(encA, encB[:len(encB)-1]),
			want:   hexes(frA),
			stats:  HDLCStats{Frames: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewHDLCDecoder(tc.max)
			got := collect(d, tc.stream)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stats, d.Stats()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			// The same stream split at every boundary and byte by byte
			// gives the same result.
			for i := 0; i <= len(tc.stream); i++ {
				d := NewHDLCDecoder(tc.max)
				if got := collect(d, tc.stream[:i], tc.stream[i:]); !cmp.Equal(tc.want, got) {
					t.Fatalf("split at %d: frames %v, want %v", i, got, tc.want)
				}
				if d.Stats() != tc.stats {
					t.Fatalf("split at %d: stats %+v, want %+v", i, d.Stats(), tc.stats)
				}
			}
			d = NewHDLCDecoder(tc.max)
			var chunks [][]byte
			for i := range tc.stream {
				chunks = append(chunks, tc.stream[i:i+1])
			}
			if got := collect(d, chunks...); !cmp.Equal(tc.want, got) {
				t.Fatalf("byte by byte: frames %v, want %v", got, tc.want)
			}
		})
	}
}

// Next stops after the first good frame and says how much it consumed.
func TestHDLCDecoderNext(t *testing.T) {
	stream := cat(AppendHDLC(nil, frA), AppendHDLC(nil, frB))
	var d HDLCDecoder
	f, n, ok := d.Next(stream)
	if !ok || !bytes.Equal(f, frA) || n != len(AppendHDLC(nil, frA)) {
		t.Fatalf("Next = % x, %d, %v; want % x, %d, true", f, n, ok, frA, len(AppendHDLC(nil, frA)))
	}
	f, m, ok := d.Next(stream[n:])
	if !ok || !bytes.Equal(f, frB) || n+m != len(stream) {
		t.Fatalf("second Next = % x, %d, %v", f, m, ok)
	}
	if _, m, ok := d.Next(nil); ok || m != 0 {
		t.Fatalf("Next(nil) = %d, %v", m, ok)
	}
}

// The decoder's buffer is made once, and neither encoding nor decoding
// allocates per frame.
func TestHDLCAllocs(t *testing.T) {
	frame := bytes.Repeat([]byte{0x7E, 0x01, 0x02}, 42)
	buf := make([]byte, 0, HDLCEncodedLen(len(frame)))
	d := NewHDLCDecoder(0)
	emit := func([]byte) {}
	if n := testing.AllocsPerRun(100, func() {
		buf = AppendHDLC(buf[:0], frame)
		d.Feed(buf, emit)
	}); n != 0 {
		t.Fatalf("AppendHDLC+Feed: %v allocs per frame, want 0", n)
	}
	if d.Stats().Frames == 0 {
		t.Fatal("no frames decoded")
	}
}

// A frame given in parts encodes exactly as the frame joined, whatever the
// cut (escaped bytes and the FCS included), with no allocation into a
// buffer of the worst-case size.
func TestAppendHDLCParts(t *testing.T) {
	frame := make([]byte, 0, 256)
	for i := range 256 {
		frame = append(frame, byte(i))
	}
	want := AppendHDLC(nil, frame)
	for _, cut := range [][2]int{{0, 0}, {0, 256}, {1, 2}, {0x11, 0x7E}, {0x7D, 0x7E}, {100, 255}, {256, 256}} {
		got := AppendHDLCParts(nil, [][]byte{frame[:cut[0]], frame[cut[0]:cut[1]], frame[cut[1]:]})
		if !bytes.Equal(got, want) {
			t.Errorf("cut at %v: % x\nwant % x", cut, got, want)
		}
	}
	if got := AppendHDLCParts(nil, nil); !bytes.Equal(got, AppendHDLC(nil, nil)) {
		t.Errorf("no parts: % x", got)
	}
	buf := make([]byte, 0, HDLCEncodedLen(len(frame)))
	parts := [][]byte{frame[:10], frame[10:]}
	if a := testing.AllocsPerRun(100, func() { buf = AppendHDLCParts(buf[:0], parts) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
}
