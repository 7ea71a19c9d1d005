package transport

import (
	"errors"
	"io"
	"time"

	"github.com/lowpanbr/lowpanbr/spinel"
)

// Sentinel errors. Every error this package returns wraps one of these (or
// an error from the os package, such as os.ErrDeadlineExceeded or
// fs.ErrNotExist) together with the device and the operation.
var (
	// ErrDisconnected: the device went away (a USB dongle unplugged, the
	// PTY's other side closed, the forkpty child exited, the SPI device
	// failed or the RCP stopped taking frames). The caller should close the
	// transport and open it again.
	ErrDisconnected = errors.New("radio transport disconnected")
	// ErrBusy: another process holds the device.
	ErrBusy = errors.New("device busy")
	// ErrNotSupported: the transport needs Linux (termios2, PTYs, spidev,
	// the GPIO character device) and this build is for another OS.
	ErrNotSupported = errors.New("not supported on this OS")
	// ErrBadURL: a radio URL that cannot be parsed or names an unknown
	// scheme, parameter or value.
	ErrBadURL = errors.New("bad radio URL")
	// ErrNoDongle: auto-detection found no supported USB radio.
	ErrNoDongle = errors.New("no radio dongle found")
	// ErrSeveralDongles: auto-detection found more than one candidate.
	ErrSeveralDongles = errors.New("several radio dongles found")
	// ErrFrameTooLarge: a frame longer than the transport can carry, or
	// than the buffer ReadFrame was given. It is spinel.ErrFrameTooLarge,
	// the error spinel.FrameConn names for the latter.
	ErrFrameTooLarge = spinel.ErrFrameTooLarge
	// ErrClosed: the transport was closed by its owner.
	ErrClosed = errors.New("radio transport closed")
)

// Stream is a byte stream to an RCP: a UART (*Port) or a forkpty child
// (*Child). Spinel frames travel over it HDLC-lite encoded; the spinel
// package does the framing. Close wakes a blocked Read, which then returns
// an error; a read after the device vanished returns an error wrapping
// ErrDisconnected.
type Stream interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
}

// Resetter is implemented by transports that can reset the RCP through a
// RESET line (*SPI with gpio-reset-device). The driver type-asserts
// Conn.Frames to it.
type Resetter interface {
	ResetRCP() error
}

var _ Resetter = (*SPI)(nil)

// SPI carries whole Spinel frames (no HDLC): it is a spinel.FrameConn,
// the seam's one declaration. ReadFrame copies the next frame received from
// the RCP into buf; WriteFrame returns once the RCP has taken the frame.
var _ spinel.FrameConn = (*SPI)(nil)

// Conn is an open transport: exactly one of Stream (spinel+hdlc+uart,
// spinel+hdlc+forkpty) and Frames (spinel+spi) is set. The caller that
// received it from Open owns it and must Close it; nothing else closes it.
type Conn struct {
	Stream Stream
	Frames spinel.FrameConn
}

// Close closes whichever transport is set.
func (c Conn) Close() error {
	switch {
	case c.Stream != nil:
		return c.Stream.Close()
	case c.Frames != nil:
		return c.Frames.Close()
	}
	return nil
}
