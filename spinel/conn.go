package spinel

import (
	"fmt"
	"io"
	"sync"
)

// FrameConn carries whole Spinel frames: HDLC over a byte stream (UART, PTY)
// or the SPI transport's native framing.
//
// The Client calls ReadFrame from one goroutine and WriteFrame from another
// (it serialises its own writes), and Close from any goroutine; Close must
// make a blocked ReadFrame or WriteFrame return.
type FrameConn interface {
	// ReadFrame blocks until a whole frame arrives, copies it into buf and
	// returns its length. Corrupt input is the implementation's to count
	// and skip; an error means the connection is unusable.
	ReadFrame(buf []byte) (int, error)
	// WriteFrame sends one frame. It must not keep frame after returning.
	WriteFrame(frame []byte) error
	Close() error
}

// HDLCConn is a FrameConn over a byte stream with HDLC-lite framing. It
// allocates its buffers once; reading and writing frames do not allocate.
type HDLCConn struct {
	rw io.ReadWriteCloser

	rmu   sync.Mutex // the reading side
	dec   HDLCDecoder
	rbuf  []byte
	rpos  int
	rend  int
	rerr  error // a read error held back until buffered bytes are decoded
	empty int   // consecutive empty reads

	wmu  sync.Mutex // the writing side
	wbuf []byte

	smu   sync.Mutex // a copy of the decoder's counters for Stats
	stats HDLCStats
}

// hdlcReadChunk is how much HDLCConn asks the stream for at once.
const hdlcReadChunk = 4096

// NewHDLCConn frames Spinel over rw with HDLC-lite, accepting frames up to
// DefaultMaxFrame bytes. The HDLCConn owns rw: Close closes it.
func NewHDLCConn(rw io.ReadWriteCloser) *HDLCConn {
	return NewHDLCConnSize(rw, DefaultMaxFrame)
}

// NewHDLCConnSize is NewHDLCConn with another frame size limit.
func NewHDLCConnSize(rw io.ReadWriteCloser, maxFrame int) *HDLCConn {
	c := &HDLCConn{rw: rw, rbuf: make([]byte, hdlcReadChunk)}
	c.dec.MaxFrame = maxFrame
	c.dec.init()
	c.wbuf = make([]byte, 0, HDLCEncodedLen(c.dec.MaxFrame))
	return c
}

// MaxFrame is the largest frame ReadFrame returns.
func (c *HDLCConn) MaxFrame() int { return c.dec.MaxFrame }

// ReadFrame implements FrameConn. A frame longer than buf is dropped and
// reported as an error wrapping ErrFrameTooLarge, and the connection stays
// usable; buffers of MaxFrame bytes never see that.
func (c *HDLCConn) ReadFrame(buf []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.rpos < c.rend {
			f, n, ok := c.dec.Next(c.rbuf[c.rpos:c.rend])
			c.rpos += n
			c.saveStats()
			if ok {
				if len(f) > len(buf) {
					return 0, fmt.Errorf("spinel: HDLC frame of %d bytes for a %d-byte buffer: %w", len(f), len(buf), ErrFrameTooLarge)
				}
				return copy(buf, f), nil
			}
			continue
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		n, err := c.rw.Read(c.rbuf)
		c.rpos, c.rend = 0, n
		switch {
		case err != nil:
			c.rerr = fmt.Errorf("spinel: HDLC read: %w", err)
		case n > 0:
			c.empty = 0
		default:
			// io.Reader allows (0, nil) now and then; bufio gives up
			// after 100 in a row, and so do we.
			if c.empty++; c.empty >= 100 {
				c.rerr = fmt.Errorf("spinel: HDLC read: %w", io.ErrNoProgress)
			}
		}
	}
}

func (c *HDLCConn) saveStats() {
	c.smu.Lock()
	c.stats = c.dec.Stats()
	c.smu.Unlock()
}

// WriteFrame implements FrameConn. It is safe for concurrent use.
func (c *HDLCConn) WriteFrame(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendHDLC(c.wbuf[:0], frame)
	if _, err := c.rw.Write(c.wbuf); err != nil {
		return fmt.Errorf("spinel: HDLC write: %w", err)
	}
	return nil
}

// Close closes the stream.
func (c *HDLCConn) Close() error { return c.rw.Close() }

// Stats returns the HDLC decoder's counters. Safe for concurrent use.
func (c *HDLCConn) Stats() HDLCStats {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.stats
}
