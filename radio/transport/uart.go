package transport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/rawfile"
)

// Port is an open serial port (a UART, a USB CDC ACM device or a PTY
// slave). Reads and writes go through Go's poller: deadlines work and Close
// wakes a blocked Read. Errors name the device and wrap ErrDisconnected
// when the device vanished, ErrClosed after Close, and
// os.ErrDeadlineExceeded on a deadline.
type Port struct {
	f    *os.File
	rw   *rawfile.File // f's reads and writes (raw system calls: internal/rawfile)
	path string
	cfg  UARTConfig
}

var _ Stream = (*Port)(nil)

// Path returns the device path the port was opened with.
func (p *Port) Path() string { return p.path }

// Config returns the line settings the port was opened with.
func (p *Port) Config() UARTConfig { return p.cfg }

// Read reads what the device has received, blocking until at least one
// byte arrives, the read deadline passes, or the port is closed.
func (p *Port) Read(b []byte) (int, error) {
	n, err := p.rw.Read(b)
	if err != nil {
		return n, streamError("uart", p.path, "read", err)
	}
	return n, nil
}

// Write writes b; with flow control on it may block until the peer raises
// CTS, bounded by the write deadline.
func (p *Port) Write(b []byte) (int, error) {
	n, err := p.rw.Write(b)
	if err != nil {
		return n, streamError("uart", p.path, "write", err)
	}
	return n, nil
}

// SetReadDeadline bounds Read; the zero time removes the bound.
func (p *Port) SetReadDeadline(t time.Time) error { return p.f.SetReadDeadline(t) }

// SetWriteDeadline bounds Write; the zero time removes the bound.
func (p *Port) SetWriteDeadline(t time.Time) error { return p.f.SetWriteDeadline(t) }

// Close closes the port and wakes blocked reads and writes. It releases the
// exclusive lock.
func (p *Port) Close() error {
	if err := p.rw.Close(); err != nil {
		return streamError("uart", p.path, "close", err)
	}
	return nil
}

// streamError gives an I/O error its device and operation and classifies
// it: a vanished device wraps ErrDisconnected, a closed file ErrClosed.
// The original error stays in the chain (os.ErrDeadlineExceeded too).
func streamError(kind, path, op string, err error) error {
	switch {
	case errors.Is(err, os.ErrClosed):
		return fmt.Errorf("%s %s: %s: %w (%w)", kind, path, op, ErrClosed, err)
	case isHangup(err):
		return fmt.Errorf("%s %s: %s: %w (%w)", kind, path, op, ErrDisconnected, err)
	}
	return fmt.Errorf("%s %s: %s: %w", kind, path, op, err)
}

// isHangup reports the errors a tty gives once its device is gone: EOF
// (read after a hangup), EIO (USB serial unplugged, PTY other side closed),
// ENXIO and ENODEV (device node removed).
func isHangup(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO) ||
		errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV)
}
