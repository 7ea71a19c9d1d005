package spinel

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// FrameConn carries whole Spinel frames: HDLC-lite over a byte stream
// (HDLCConn on a UART or PTY) or the SPI transport's native framing
// (radio/transport's SPI). It is the one declaration of that seam; the
// transports implement it and the Client and the radio driver use it.
//
// The Client calls ReadFrame from one goroutine and WriteFrame from another
// (it serialises its own writes), and Close from any goroutine; Close must
// make a blocked ReadFrame or WriteFrame return.
type FrameConn interface {
	// ReadFrame blocks until a whole frame arrives, copies it into buf and
	// returns its length. Corrupt input is the implementation's to count
	// and skip. A frame longer than buf is dropped and reported as an error
	// wrapping ErrFrameTooLarge, after which the connection stays usable;
	// any other error means the connection is unusable.
	ReadFrame(buf []byte) (int, error)
	// WriteFrame sends one frame. It must not keep frame after returning.
	WriteFrame(frame []byte) error
	Close() error
}

// FrameViewer is implemented by a FrameConn that can hand out the next
// frame where it decoded it, without copying it into a caller's buffer. The
// Client's reader uses it when the connection has it.
type FrameViewer interface {
	// NextFrame blocks until a whole frame arrives and returns it. The
	// frame is valid until the next call to NextFrame or ReadFrame. Errors
	// are ReadFrame's.
	NextFrame() ([]byte, error)
}

// FramePartsWriter is implemented by a FrameConn that can write a frame
// given as consecutive parts, encoding each straight into its own write
// buffer: the Client sends a transmit request as header, the caller's PSDU
// and the fields after it without joining them first.
type FramePartsWriter interface {
	// WriteFrameParts sends the parts laid end to end as one frame. It
	// must not keep parts, or the slices they hold, after returning.
	WriteFrameParts(parts [][]byte) error
}

// HDLCConn is a FrameConn over a byte stream with HDLC-lite framing, and a
// FrameViewer and FramePartsWriter. It allocates its buffers once; reading
// and writing frames do not allocate.
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

	octetTime atomic.Int64 // SetOctetTime's, in nanoseconds
}

var (
	_ FrameConn        = (*HDLCConn)(nil)
	_ FrameViewer      = (*HDLCConn)(nil)
	_ FramePartsWriter = (*HDLCConn)(nil)
)

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
	f, err := c.nextLocked()
	if err != nil {
		return 0, err
	}
	if len(f) > len(buf) {
		return 0, fmt.Errorf("spinel: HDLC frame of %d bytes for a %d-byte buffer: %w", len(f), len(buf), ErrFrameTooLarge)
	}
	return copy(buf, f), nil
}

// NextFrame implements FrameViewer: the frame is returned in the decoder's
// buffer, valid until the next NextFrame or ReadFrame.
func (c *HDLCConn) NextFrame() ([]byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.nextLocked()
}

// nextLocked decodes the next good frame, reading the stream in chunks of
// hdlcReadChunk bytes: a read returns everything the line holds (several
// frames at a time when the other side writes faster than we read), so a
// busy line costs fewer system calls than frames.
func (c *HDLCConn) nextLocked() ([]byte, error) {
	for {
		if c.rpos < c.rend {
			f, n, ok := c.dec.Next(c.rbuf[c.rpos:c.rend])
			c.rpos += n
			if ok {
				c.saveStats()
				return f, nil
			}
			continue
		}
		c.saveStats()
		if c.rerr != nil {
			return nil, c.rerr
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

// WriteFrame implements FrameConn: one write system call per frame. It is
// safe for concurrent use.
func (c *HDLCConn) WriteFrame(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendHDLC(c.wbuf[:0], frame)
	return c.flushLocked()
}

// WriteFrameParts implements FramePartsWriter: the parts are escaped
// straight into the write buffer, then written with one system call.
func (c *HDLCConn) WriteFrameParts(parts [][]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendHDLCParts(c.wbuf[:0], parts)
	return c.flushLocked()
}

func (c *HDLCConn) flushLocked() error {
	if _, err := c.rw.Write(c.wbuf); err != nil {
		return fmt.Errorf("spinel: HDLC write: %w", err)
	}
	return nil
}

// Close closes the stream.
func (c *HDLCConn) Close() error { return c.rw.Close() }

// SetOctetTime says how long one octet takes on the line under the stream
// (a UART: 10 bits at its bit rate; see OctetTimeOf). A Client sizes its
// transmit-done waits from it.
func (c *HDLCConn) SetOctetTime(d time.Duration) { c.octetTime.Store(int64(d)) }

// OctetTime is what SetOctetTime set; zero when unknown.
func (c *HDLCConn) OctetTime() time.Duration { return time.Duration(c.octetTime.Load()) }

// OctetTimeOf is one octet's time on a UART at baud bit/s with one start
// bit, 8 data bits, a parity bit or not, and stopBits stop bits.
func OctetTimeOf(baud int, parity bool, stopBits int) time.Duration {
	if baud <= 0 {
		return 0
	}
	bits := 1 + 8 + max(stopBits, 1)
	if parity {
		bits++
	}
	return time.Duration(bits) * time.Second / time.Duration(baud)
}

// Stats returns the HDLC decoder's counters. Safe for concurrent use.
func (c *HDLCConn) Stats() HDLCStats {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.stats
}
