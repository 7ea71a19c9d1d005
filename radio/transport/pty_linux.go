//go:build linux

package transport

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/rawfile"
	"golang.org/x/sys/unix"
)

const (
	sigTerm = unix.SIGTERM
	sigKill = unix.SIGKILL
)

// OpenPTY opens a new pseudo-terminal pair and returns its master, in
// non-blocking mode behind Go's poller, and the path of its slave. It is
// posix_openpt + grantpt + unlockpt + ptsname done with ioctls: open
// /dev/ptmx, unlock the slave (TIOCSPTLCK 0) and read its number
// (TIOCGPTN). grantpt has nothing to do on Linux's devpts, which creates
// the slave owned by the caller.
func OpenPTY() (master *os.File, slavePath string, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("pty: %w", &os.PathError{Op: "open", Path: "/dev/ptmx", Err: err})
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("pty: unlock (TIOCSPTLCK): %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("pty: slave number (TIOCGPTN): %w", err)
	}
	slavePath = "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	return os.NewFile(uintptr(fd), "/dev/ptmx ("+slavePath+")"), slavePath, nil
}

// ForkPTY starts path with args (argv[1:]) in a new session whose
// controlling terminal, stdin and stdout are the slave of a new PTY, set
// to raw mode before the program starts so binary HDLC passes untouched
// (no echo, no CR/LF translation, no ^C/^Z signals, no XON/XOFF). The
// child's stderr goes to logger, a line at a time (discarded when logger
// is nil). A path without a slash is looked up in $PATH.
//
// Cancelling ctx kills the child, as exec.CommandContext does; Close on
// the returned Child does too and reaps it.
func ForkPTY(ctx context.Context, path string, args []string, logger *slog.Logger) (*Child, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	master, slavePath, err := OpenPTY()
	if err != nil {
		return nil, fmt.Errorf("forkpty %s: %w", path, err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("forkpty %s: %w", path, err)
	}
	defer slave.Close() // the child has its own copies once started
	if err := setRawPTY(int(slave.Fd())); err != nil {
		master.Close()
		return nil, fmt.Errorf("forkpty %s: raw mode on %s: %w", path, slavePath, err)
	}

	c := &Child{master: master, rw: rawfile.New(master), path: path, log: logger.With("transport", "forkpty", "program", path), done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin, cmd.Stdout = slave, slave
	if logger.Enabled(ctx, slog.LevelInfo) {
		cmd.Stderr = &stderrLog{log: c.log, pid: c.Pid}
	}
	// A new session with the PTY as its controlling terminal: closing the
	// master hangs the child up, and the whole process group can be
	// signalled (a shell wrapper's children too).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.Cancel = func() error { c.signal(sigKill); return nil }
	cmd.WaitDelay = time.Second // bounds waiting for stderr held open by grandchildren
	c.cmd = cmd
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, fmt.Errorf("forkpty %s: %w", path, err)
	}
	c.log.Info("RCP child started", "pid", cmd.Process.Pid, "pty", slavePath, "args", args)
	go c.reap()
	return c, nil
}

// signal sends sig to the child's process group (it leads its own session),
// falling back to the process alone.
func (c *Child) signal(sig unix.Signal) {
	select {
	case <-c.done:
		return // reaped: its pid may belong to someone else now
	default:
	}
	pid := c.cmd.Process.Pid
	if err := unix.Kill(-pid, sig); err != nil {
		_ = c.cmd.Process.Signal(sig)
	}
}

// setRawPTY puts a PTY slave in raw mode, keeping its (meaningless) speed.
func setRawPTY(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	speed := t.Cflag & (unix.CBAUD | unix.CBAUD<<unix.IBSHIFT)
	setRawTermios(t, UARTConfig{Baud: 1, StopBits: 1})
	t.Cflag = t.Cflag&^(unix.CBAUD|unix.CBAUD<<unix.IBSHIFT) | speed
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
