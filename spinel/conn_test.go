package spinel

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// scriptedStream returns its reads one by one, then err.
type scriptedStream struct {
	reads [][]byte
	err   error
	out   bytes.Buffer
}

func (s *scriptedStream) Read(p []byte) (int, error) {
	if len(s.reads) == 0 {
		return 0, s.err
	}
	n := copy(p, s.reads[0])
	if n < len(s.reads[0]) {
		s.reads[0] = s.reads[0][n:]
	} else {
		s.reads = s.reads[1:]
	}
	return n, nil
}

func (s *scriptedStream) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s *scriptedStream) Close() error                { return nil }

func TestHDLCConn(t *testing.T) {
	two := cat(AppendHDLC(nil, frA), AppendHDLC(nil, frB))
	big := AppendHDLC(nil, make([]byte, 40))
	s := &scriptedStream{
		reads: [][]byte{{0x01, 0x02}, two[:5], {}, two[5:], big, AppendHDLC(nil, frC)},
		err:   io.EOF,
	}
	c := NewHDLCConn(s)
	buf := make([]byte, 32)
	for _, want := range [][]byte{frA, frB} {
		n, err := c.ReadFrame(buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("ReadFrame = % x, %v; want % x", buf[:n], err, want)
		}
	}
	if _, err := c.ReadFrame(buf); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("40-byte frame into 32 bytes: %v", err)
	}
	// The connection goes on after a too-large frame, and bytes read before
	// an error are decoded before the error is reported.
	if n, err := c.ReadFrame(buf); err != nil || !bytes.Equal(buf[:n], frC) {
		t.Fatalf("ReadFrame = % x, %v", buf[:n], err)
	}
	if _, err := c.ReadFrame(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want EOF", err)
	}
	if _, err := c.ReadFrame(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after the end: %v, want EOF again", err)
	}
	if st := c.Stats(); st.Frames != 4 || st.GarbageBytes != 2 {
		t.Fatalf("stats %+v", st)
	}

	if err := c.WriteFrame(frC); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.out.Bytes(), AppendHDLC(nil, frC)) {
		t.Fatalf("wrote % x", s.out.Bytes())
	}
	if c.MaxFrame() != DefaultMaxFrame {
		t.Fatalf("MaxFrame %d", c.MaxFrame())
	}
}

// A stream that keeps returning (0, nil) is given up on, as bufio does.
func TestHDLCConnNoProgress(t *testing.T) {
	c := NewHDLCConn(&scriptedStream{reads: make([][]byte, 200)})
	if _, err := c.ReadFrame(make([]byte, 16)); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("ReadFrame error = %v, want ErrNoProgress", err)
	}
}
