//go:build linux

package transport

import (
	"github.com/lowpanbr/lowpanbr/internal/rawfile"

	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenUART opens a serial device in raw mode with cfg's line settings.
//
// The descriptor is opened O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, locked
// (flock LOCK_EX|LOCK_NB, plus TIOCEXCL so other opens fail with EBUSY),
// set up with termios2 — BOTHER and c_ospeed/c_ispeed, so any baud rate the
// driver can make works, not only the Bnnn table — and handed to os.NewFile
// so reads and writes use Go's poller. A port held by another process gives
// an error wrapping ErrBusy; a missing device one wrapping fs.ErrNotExist.
func OpenUART(path string, cfg UARTConfig) (*Port, error) {
	if cfg.StopBits == 0 {
		cfg.StopBits = 1
	}
	if cfg.Baud <= 0 || (cfg.StopBits != 1 && cfg.StopBits != 2) || cfg.Parity > ParityOdd {
		return nil, fmt.Errorf("uart %s: open: bad line settings (baud %d, stop bits %d, parity %v)", path, cfg.Baud, cfg.StopBits, cfg.Parity)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("uart %s: open: %w: in exclusive use by another process (%w)", path, ErrBusy, err)
		}
		return nil, fmt.Errorf("uart %s: %w", path, &os.PathError{Op: "open", Path: path, Err: err})
	}
	keep := false
	defer func() {
		if !keep {
			unix.Close(fd)
		}
	}()

	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("uart %s: open: %w: another process has it open (lsof %s shows which)", path, ErrBusy, path)
		}
		return nil, fmt.Errorf("uart %s: flock: %w", path, err)
	}
	t, err := unix.IoctlGetTermios(fd, reqGetTermios2)
	if err != nil {
		if errors.Is(err, unix.ENOTTY) {
			return nil, fmt.Errorf("uart %s: not a serial port (%w)", path, err)
		}
		return nil, fmt.Errorf("uart %s: TCGETS2: %w", path, err)
	}
	if err := unix.IoctlSetInt(fd, unix.TIOCEXCL, 0); err != nil {
		return nil, fmt.Errorf("uart %s: TIOCEXCL: %w", path, err)
	}
	setRawTermios(t, cfg)
	if err := unix.IoctlSetTermios(fd, reqSetTermios2, t); err != nil {
		return nil, fmt.Errorf("uart %s: TCSETS2 (%d baud): %w", path, cfg.Baud, err)
	}
	got, err := unix.IoctlGetTermios(fd, reqGetTermios2)
	if err != nil {
		return nil, fmt.Errorf("uart %s: TCGETS2: %w", path, err)
	}
	// A driver may round the rate to what its clock divider can make and
	// report that; 3% off is where UART framing starts to fail.
	if d := int64(got.Ospeed) - int64(cfg.Baud); d*100 > int64(cfg.Baud)*3 || -d*100 > int64(cfg.Baud)*3 {
		return nil, fmt.Errorf("uart %s: asked for %d baud, the driver set %d", path, cfg.Baud, got.Ospeed)
	}
	if cfg.FlowControl && got.Cflag&unix.CRTSCTS == 0 {
		return nil, fmt.Errorf("uart %s: the driver refused RTS/CTS flow control", path)
	}
	if cfg.InitDeassert && !cfg.FlowControl {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCMBIC, unix.TIOCM_DTR|unix.TIOCM_RTS); err != nil {
			return nil, fmt.Errorf("uart %s: deassert DTR/RTS: %w", path, err)
		}
	}
	if err := unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIOFLUSH); err != nil {
		return nil, fmt.Errorf("uart %s: flush: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	if f == nil {
		return nil, fmt.Errorf("uart %s: bad descriptor", path)
	}
	keep = true
	return &Port{f: f, rw: rawfile.New(f), path: path, cfg: cfg}, nil
}

// setRawTermios puts t in raw mode (cfmakeraw: no echo, no line editing,
// no signals, no CR/LF or XON/XOFF translation, 8 bits) with cfg's speed,
// parity, stop bits and flow control. CLOCAL ignores the modem lines (a
// USB CDC ACM RCP does not drive DCD), HUPCL drops DTR on close, as
// OpenThread's hdlc_interface.cpp does.
func setRawTermios(t *unix.Termios, cfg UARTConfig) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR |
		unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY | unix.INPCK
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag = unix.CS8 | unix.CREAD | unix.CLOCAL | unix.HUPCL |
		unix.BOTHER | unix.BOTHER<<unix.IBSHIFT
	switch cfg.Parity {
	case ParityEven:
		t.Cflag |= unix.PARENB
	case ParityOdd:
		t.Cflag |= unix.PARENB | unix.PARODD
	}
	if cfg.StopBits == 2 {
		t.Cflag |= unix.CSTOPB
	}
	if cfg.FlowControl {
		t.Cflag |= unix.CRTSCTS
	}
	t.Ispeed = uint32(cfg.Baud)
	t.Ospeed = uint32(cfg.Baud)
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}
