package transport

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/rawfile"
)

// Child is a program started by ForkPTY with its stdin and stdout on a
// PTY: an RCP simulator or ot-rcp's simulation build. Read and Write use
// the PTY master. The child's exit is observable with Done and Err; reading
// after it exited returns an error wrapping ErrDisconnected.
type Child struct {
	master *os.File
	rw     *rawfile.File // master's reads and writes (internal/rawfile)
	path   string
	cmd    *exec.Cmd
	log    *slog.Logger

	done    chan struct{} // closed once the child has been reaped
	err     error         // Err's value; written before done closes
	waitErr error         // what cmd.Wait returned

	closeOnce sync.Once
	closeErr  error
}

var _ Stream = (*Child)(nil)

// childCloseGrace is how long Close waits after SIGTERM before SIGKILL.
const childCloseGrace = 500 * time.Millisecond

// Pid returns the child's process ID.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Done is closed when the child has exited and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err returns nil while the child runs or after it exited with status 0;
// otherwise why it ended (an error wrapping *exec.ExitError for a non-zero
// status or a signal).
func (c *Child) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Read reads what the child wrote to its stdout.
func (c *Child) Read(b []byte) (int, error) {
	n, err := c.rw.Read(b)
	if err != nil {
		return n, c.ioError("read", err)
	}
	return n, nil
}

// Write writes to the child's stdin.
func (c *Child) Write(b []byte) (int, error) {
	n, err := c.rw.Write(b)
	if err != nil {
		return n, c.ioError("write", err)
	}
	return n, nil
}

// SetReadDeadline bounds Read; the zero time removes the bound.
func (c *Child) SetReadDeadline(t time.Time) error { return c.master.SetReadDeadline(t) }

// SetWriteDeadline bounds Write; the zero time removes the bound.
func (c *Child) SetWriteDeadline(t time.Time) error { return c.master.SetWriteDeadline(t) }

// Close closes the PTY (waking blocked reads and hanging up the child's
// terminal), terminates the child's process group (SIGTERM, then SIGKILL
// after a grace period) and reaps it. The exit status stays in Err.
func (c *Child) Close() error {
	c.closeOnce.Do(func() {
		if err := c.rw.Close(); err != nil {
			c.closeErr = fmt.Errorf("forkpty %s: close: %w", c.path, err)
		}
		select {
		case <-c.done:
			return
		default:
		}
		c.signal(sigTerm)
		t := time.NewTimer(childCloseGrace)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			c.log.Warn("RCP child ignored SIGTERM; killing it", "pid", c.Pid())
			c.signal(sigKill)
			<-c.done
		}
	})
	return c.closeErr
}

// ioError classifies a PTY error. When the child is gone the master reads
// EIO: wait briefly for the reaper so the error can say how it ended.
func (c *Child) ioError(op string, err error) error {
	if errors.Is(err, os.ErrClosed) || !isHangup(err) {
		return streamError("forkpty", c.path, op, err)
	}
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	select {
	case <-c.done:
		how := "exit status 0"
		if c.waitErr != nil {
			how = c.waitErr.Error()
		}
		return fmt.Errorf("forkpty %s: %s: %w: child pid %d ended: %s (%w)", c.path, op, ErrDisconnected, c.cmd.Process.Pid, how, err)
	case <-t.C:
		return fmt.Errorf("forkpty %s: %s: %w: child closed its terminal (%w)", c.path, op, ErrDisconnected, err)
	}
}

// reap waits for the child and records how it ended.
func (c *Child) reap() {
	err := c.cmd.Wait()
	c.waitErr = err
	if err != nil {
		c.err = fmt.Errorf("forkpty %s (pid %d): %w", c.path, c.cmd.Process.Pid, err)
		c.log.Info("RCP child ended", "pid", c.cmd.Process.Pid, "err", err)
	} else {
		c.log.Info("RCP child exited", "pid", c.cmd.Process.Pid)
	}
	close(c.done)
}

// stderrLog passes the child's stderr to the logger, a line at a time (a
// partial line is logged when the next write starts).
type stderrLog struct {
	log *slog.Logger
	pid func() int
}

func (w *stderrLog) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(bytes.TrimRight(p, "\r\n"), []byte("\n")) {
		w.log.Info("RCP child stderr", "pid", w.pid(), "line", string(bytes.TrimRight(line, "\r")))
	}
	return len(p), nil
}
