package spinel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// HDLC-lite framing (Spinel over a UART or a PTY). Each frame is
//
//	0x7E | data, escaped | FCS low byte, escaped | FCS high byte, escaped | 0x7E
//
// The FCS is CRC-16/X.25 over the unescaped data. The bytes 0x7E (flag),
// 0x7D (escape), 0x11 (XON), 0x13 (XOFF) and 0xF8 are sent as 0x7D followed
// by the byte XOR 0x20. Flags may repeat; an empty frame between two flags is
// not a frame.
const (
	HDLCFlag   = 0x7E
	HDLCEscape = 0x7D
	hdlcXOR    = 0x20

	// DefaultMaxFrame is the largest Spinel frame (FCS excluded) an
	// HDLCDecoder accepts when no other limit is configured. OpenThread's
	// largest is 1300 bytes (SPINEL_FRAME_MAX_SIZE).
	DefaultMaxFrame = 2048

	// hdlcGoodFCS is what the CRC register holds after running over the
	// data and its FCS when both arrived intact (RFC 1662 §C.2 "PPPGOODFCS16").
	hdlcGoodFCS = 0xF0B8
	hdlcFCSLen  = 2
)

// crcX25Tables are slicing-by-8 tables for the reflected CRC-16 polynomial
// 0x8408, built at start-up rather than written out: [0] is the classic
// byte-at-a-time table, and [k][v] is the CRC contribution of byte v
// followed by k zero bytes.
var crcX25Tables = func() (t [8][256]uint16) {
	for i := range t[0] {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for k := 1; k < 8; k++ {
		for i := range t[k] {
			p := t[k-1][i]
			t[k][i] = p>>8 ^ t[0][byte(p)]
		}
	}
	return t
}()

// hdlcNeedsEscape marks the five byte values HDLC-lite escapes.
var hdlcNeedsEscape = func() (t [256]bool) {
	for _, c := range []byte{0x7E, 0x7D, 0x11, 0x13, 0xF8} {
		t[c] = true
	}
	return t
}()

// crcX25 runs the CRC register over b, eight bytes at a time.
func crcX25(crc uint16, b []byte) uint16 {
	t := &crcX25Tables
	for len(b) >= 8 {
		v := binary.LittleEndian.Uint64(b)
		crc ^= uint16(v)
		crc = t[7][byte(crc)] ^ t[6][byte(crc>>8)] ^ t[5][byte(v>>16)] ^ t[4][byte(v>>24)] ^
			t[3][byte(v>>32)] ^ t[2][byte(v>>40)] ^ t[1][byte(v>>48)] ^ t[0][byte(v>>56)]
		b = b[8:]
	}
	for _, c := range b {
		crc = crc>>8 ^ t[0][byte(crc)^c]
	}
	return crc
}

// CRC16X25 is the HDLC-lite FCS of b: CRC-16/X.25 (reflected polynomial
// 0x8408, initial value 0xFFFF, final XOR 0xFFFF). It is sent low byte
// first. (The Spinel draft calls this CRC "KERMIT"; OpenThread's hdlc.cpp,
// which every RCP runs, uses the X.25 initial value and final XOR.)
func CRC16X25(b []byte) uint16 {
	return ^crcX25(0xFFFF, b)
}

// HDLCEncodedLen is the worst-case length AppendHDLC adds for a frame of n
// bytes (every byte escaped).
func HDLCEncodedLen(n int) int { return 2*(n+hdlcFCSLen) + 2 }

// AppendHDLC appends frame to dst in HDLC-lite form: an opening flag, the
// escaped data, the escaped FCS (low byte first) and a closing flag. It does
// not allocate when dst has HDLCEncodedLen(len(frame)) bytes of spare
// capacity.
func AppendHDLC(dst, frame []byte) []byte {
	dst = slices.Grow(dst, HDLCEncodedLen(len(frame)))
	dst = append(dst, HDLCFlag)
	dst = appendEscaped(dst, frame)
	return appendHDLCEnd(dst, CRC16X25(frame))
}

// AppendHDLCParts appends, in HDLC-lite form, the frame made of parts laid
// end to end, escaping each part straight into dst: the frame is never
// joined first (a Spinel header, a caller's PSDU and the fields after it go
// from where they are to the line in one copy). It does not allocate when
// dst has HDLCEncodedLen(total length) bytes of spare capacity.
func AppendHDLCParts(dst []byte, parts [][]byte) []byte {
	n := 0
	crc := uint16(0xFFFF)
	for _, p := range parts {
		n += len(p)
		crc = crcX25(crc, p)
	}
	dst = slices.Grow(dst, HDLCEncodedLen(n))
	dst = append(dst, HDLCFlag)
	for _, p := range parts {
		dst = appendEscaped(dst, p)
	}
	return appendHDLCEnd(dst, ^crc)
}

// appendEscaped appends b with the bytes HDLC-lite reserves escaped, a run
// of plain bytes at a time.
func appendEscaped(dst, b []byte) []byte {
	for len(b) > 0 {
		i := 0
		for i < len(b) && !hdlcNeedsEscape[b[i]] {
			i++
		}
		dst = append(dst, b[:i]...)
		if i == len(b) {
			break
		}
		dst = append(dst, HDLCEscape, b[i]^hdlcXOR)
		b = b[i+1:]
	}
	return dst
}

// appendHDLCEnd appends the escaped FCS, low byte first, and the closing
// flag.
func appendHDLCEnd(dst []byte, fcs uint16) []byte {
	for _, c := range [2]byte{byte(fcs), byte(fcs >> 8)} {
		if hdlcNeedsEscape[c] {
			dst = append(dst, HDLCEscape, c^hdlcXOR)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, HDLCFlag)
}

// DecodeHDLC decodes one complete HDLC-lite frame (optional flags around it)
// into dst and returns the frame without its FCS. It is the one-shot
// counterpart of HDLCDecoder, for tests and tools.
func DecodeHDLC(dst, enc []byte) ([]byte, error) {
	for len(enc) > 0 && enc[0] == HDLCFlag {
		enc = enc[1:]
	}
	for len(enc) > 0 && enc[len(enc)-1] == HDLCFlag {
		enc = enc[:len(enc)-1]
	}
	start := len(dst)
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		switch c {
		case HDLCFlag:
			return dst, fmt.Errorf("spinel: HDLC: flag inside frame at offset %d: %w", i, ErrBadValue)
		case HDLCEscape:
			i++
			if i == len(enc) {
				return dst, fmt.Errorf("spinel: HDLC: escape at end of frame: %w", ErrTruncated)
			}
			c = enc[i] ^ hdlcXOR
		}
		dst = append(dst, c)
	}
	if len(dst)-start < hdlcFCSLen {
		return dst[:start], fmt.Errorf("spinel: HDLC: %d bytes, shorter than the FCS: %w", len(dst)-start, ErrTruncated)
	}
	if crcX25(0xFFFF, dst[start:]) != hdlcGoodFCS {
		return dst[:start], fmt.Errorf("spinel: HDLC: %w", ErrBadFCS)
	}
	return dst[:len(dst)-hdlcFCSLen], nil
}

// HDLCStats counts what an HDLCDecoder saw. Nothing it counts is fatal: the
// decoder drops the bad frame and resynchronises on the next flag.
type HDLCStats struct {
	// Frames: good frames delivered.
	Frames uint64 `json:"frames"`
	// BadFCS: frames whose FCS did not check (line noise, or garbage
	// between two flags).
	BadFCS uint64 `json:"bad_fcs"`
	// Runts: one-byte frames, too short to hold an FCS.
	Runts uint64 `json:"runts"`
	// Oversize: frames longer than the decoder's maximum; the rest of each
	// is skipped up to the next flag.
	Oversize uint64 `json:"oversize"`
	// Aborted: frames cut short by an escape followed by a flag (0x7D 0x7E,
	// RFC 1662's abort sequence); the flag opens the next frame.
	Aborted uint64 `json:"aborted"`
	// GarbageBytes: bytes skipped while out of sync: before the first flag
	// and after an oversize frame.
	GarbageBytes uint64 `json:"garbage_bytes"`
}

// Add returns the counters of s and o summed.
func (s HDLCStats) Add(o HDLCStats) HDLCStats {
	return HDLCStats{Frames: s.Frames + o.Frames, BadFCS: s.BadFCS + o.BadFCS, Runts: s.Runts + o.Runts,
		Oversize: s.Oversize + o.Oversize, Aborted: s.Aborted + o.Aborted, GarbageBytes: s.GarbageBytes + o.GarbageBytes}
}

type hdlcState uint8

const (
	hdlcNoSync  hdlcState = iota // waiting for a flag
	hdlcInFrame                  // after a flag, collecting data
	hdlcEscaped                  // after an escape byte
)

// HDLCDecoder is a streaming HDLC-lite decoder. Feed it bytes as they arrive,
// in chunks of any size; it hands out each good frame (FCS removed) and
// counts and skips everything else. The zero value is ready to use, with the
// DefaultMaxFrame limit. It allocates its frame buffer once and never per
// frame. It is not safe for concurrent use.
type HDLCDecoder struct {
	// MaxFrame is the largest frame (FCS excluded) to accept; zero means
	// DefaultMaxFrame. Set it before the first Feed.
	MaxFrame int

	buf   []byte
	n     int // bytes of the current frame in buf
	state hdlcState
	stats HDLCStats
}

// NewHDLCDecoder returns a decoder that accepts frames of up to maxFrame
// bytes (zero or less: DefaultMaxFrame).
func NewHDLCDecoder(maxFrame int) *HDLCDecoder {
	d := &HDLCDecoder{MaxFrame: maxFrame}
	d.init()
	return d
}

func (d *HDLCDecoder) init() {
	if d.MaxFrame <= 0 {
		d.MaxFrame = DefaultMaxFrame
	}
	d.buf = make([]byte, d.MaxFrame+hdlcFCSLen)
}

// Stats returns the counters.
func (d *HDLCDecoder) Stats() HDLCStats { return d.stats }

// Reset drops any partial frame and waits for the next flag. Counters are
// kept.
func (d *HDLCDecoder) Reset() {
	d.state = hdlcNoSync
	d.n = 0
}

// Feed decodes b and calls emit for every good frame it completes. The
// frame passed to emit is valid only during the call.
func (d *HDLCDecoder) Feed(b []byte, emit func(frame []byte)) {
	for len(b) > 0 {
		f, n, ok := d.Next(b)
		b = b[n:]
		if ok {
			emit(f)
		}
	}
}

// Next decodes b up to and including the flag that completes the first good
// frame, and returns that frame and the number of bytes of b it consumed.
// When b holds no complete good frame, ok is false and n is len(b). The
// frame is valid until the next call to Next, Feed or Reset.
func (d *HDLCDecoder) Next(b []byte) (frame []byte, n int, ok bool) {
	if d.buf == nil {
		d.init()
	}
	buf, pos, state := d.buf, d.n, d.state
	for i := 0; i < len(b); {
		switch state {
		case hdlcNoSync:
			j := bytes.IndexByte(b[i:], HDLCFlag)
			if j < 0 {
				d.stats.GarbageBytes += uint64(len(b) - i)
				i = len(b)
				continue
			}
			d.stats.GarbageBytes += uint64(j)
			i += j + 1
			state, pos = hdlcInFrame, 0

		case hdlcInFrame:
			// Copy the run of plain bytes up to the next flag or escape.
			rest := b[i:]
			j := bytes.IndexByte(rest, HDLCFlag)
			if j < 0 {
				j = len(rest)
			}
			if k := bytes.IndexByte(rest[:j], HDLCEscape); k >= 0 {
				j = k
			}
			if pos+j > len(buf) {
				// Oversize: skip the rest of the frame.
				d.stats.Oversize++
				d.stats.GarbageBytes += uint64(pos + j - len(buf) - 1)
				state, pos = hdlcNoSync, 0
				i += j
				continue
			}
			pos += copy(buf[pos:], rest[:j])
			i += j
			if i == len(b) {
				continue
			}
			c := b[i]
			i++
			if c == HDLCEscape {
				state = hdlcEscaped
				continue
			}
			// A flag: it closes this frame and opens the next.
			f, good := d.endFrame(pos)
			pos = 0
			if good {
				d.n, d.state = 0, hdlcInFrame
				return f, i, true
			}

		case hdlcEscaped:
			c := b[i]
			i++
			if c == HDLCFlag {
				// RFC 1662 §4.4.1: 0x7D 0x7E aborts the frame. The flag
				// still delimits: it opens the next frame.
				d.stats.Aborted++
				state, pos = hdlcInFrame, 0
				continue
			}
			if pos == len(buf) {
				d.stats.Oversize++
				state, pos = hdlcNoSync, 0
				continue
			}
			buf[pos] = c ^ hdlcXOR
			pos++
			state = hdlcInFrame
		}
	}
	d.n, d.state = pos, state
	return nil, len(b), false
}

// endFrame checks the n bytes collected when a flag arrives.
func (d *HDLCDecoder) endFrame(n int) ([]byte, bool) {
	switch {
	case n == 0:
		return nil, false // back-to-back flags
	case n < hdlcFCSLen:
		d.stats.Runts++
		return nil, false
	case crcX25(0xFFFF, d.buf[:n]) != hdlcGoodFCS:
		d.stats.BadFCS++
		return nil, false
	}
	d.stats.Frames++
	return d.buf[:n-hdlcFCSLen], true
}
