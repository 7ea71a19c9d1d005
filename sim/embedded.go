package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/rawfile"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
)

// EmbeddedRCP is a simulated RCP served on a PTY inside this process. Open
// Path with the UART transport (spinel+hdlc+uart://<Path>) as if it were a
// USB dongle. Path is a symbolic link to the current PTY, like the links
// udev makes under /dev/serial/by-id: it vanishes when the RCP is
// unplugged and comes back, to a new PTY, when it is plugged in again.
//
// The fault methods make what a host meets in the field: Reset (a crash
// or watchdog reset), Restart (the firmware comes back with another
// identity), Stall (a process stopped by SIGSTOP), Unplug and Replug.
type EmbeddedRCP struct {
	Path string
	RCP  *rcpsim.RCP
	Node *medium.Node

	ctx    context.Context
	stop   context.CancelFunc
	dir    string
	logger *slog.Logger

	mu      sync.Mutex
	pts     string             // the PTY Path points at; "" while unplugged
	cancel  context.CancelFunc // stops the current Serve
	done    chan struct{}      // closed when the current Serve returned
	closed  bool
	closeMu sync.Once
}

// ErrClosed: the embedded RCP was closed.
var ErrClosed = errors.New("sim: embedded RCP closed")

// URL is the radio URL that reaches the embedded RCP.
func (e *EmbeddedRCP) URL() string { return "spinel+hdlc+uart://" + e.Path }

// PTY is the PTY Path currently points at; "" while unplugged.
func (e *EmbeddedRCP) PTY() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pts
}

// StartRCP attaches a node to m, puts a simulated RCP with identity and
// boot behaviour cfg on it (rcpsim.Config: BootDelay, BootChatter, …) and
// serves it on a new PTY until Close or ctx ends.
func StartRCP(ctx context.Context, m *medium.Medium, name string, cfg rcpsim.Config, logger *slog.Logger) (*EmbeddedRCP, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	node, err := m.Attach(medium.NodeConfig{Name: name, Channel: medium.MinChannel, ExtAddr: cfg.EUI64})
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	dir, err := os.MkdirTemp("", "lowpanbr-rcp-")
	if err != nil {
		node.Detach()
		return nil, fmt.Errorf("sim: %w", err)
	}
	cfg.Logger = logger
	e := &EmbeddedRCP{Path: filepath.Join(dir, "tty"+name), RCP: rcpsim.New(node, cfg), Node: node, dir: dir, logger: logger}
	e.ctx, e.stop = context.WithCancel(ctx)
	e.mu.Lock()
	err = e.plugLocked()
	e.mu.Unlock()
	if err != nil {
		e.Close()
		return nil, err
	}
	context.AfterFunc(e.ctx, func() { e.Close() })
	return e, nil
}

// plugLocked opens a new PTY, points Path at it and serves the RCP there:
// it boots as a device plugged in does. Callers hold e.mu.
func (e *EmbeddedRCP) plugLocked() error {
	master, pts, err := transport.OpenPTY()
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	tmp := e.Path + ".new"
	os.Remove(tmp)
	if err := os.Symlink(pts, tmp); err != nil {
		master.Close()
		return fmt.Errorf("sim: %w", err)
	}
	if err := os.Rename(tmp, e.Path); err != nil {
		master.Close()
		os.Remove(tmp)
		return fmt.Errorf("sim: %w", err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Raw reads and writes (internal/rawfile): the simulated RCP's end
		// of the line costs the host no sysmon wake-ups either.
		if err := e.RCP.Serve(ctx, rawfile.New(master)); err != nil {
			e.logger.Warn("simulated RCP stopped", "err", err)
		}
	}()
	e.pts, e.cancel, e.done = pts, cancel, done
	return nil
}

// unplugLocked stops serving (Serve closes the PTY: the host reads an
// error) and removes Path. Callers hold e.mu.
func (e *EmbeddedRCP) unplugLocked() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
	e.cancel, e.done, e.pts = nil, nil, ""
	os.Remove(e.Path)
}

// Unplug pulls the RCP out, as a USB dongle unplugged: its PTY closes (a
// host reading it gets an error), Path no longer exists (opening it fails
// with fs.ErrNotExist), and its radio is off. Unplugging an unplugged RCP
// does nothing.
func (e *EmbeddedRCP) Unplug() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unplugLocked()
}

// Replug plugs the RCP in again: Path exists again, pointing at a new PTY,
// and the RCP boots (after its Config.BootDelay) with a power-on
// notification. Replugging a plugged RCP unplugs it first.
func (e *EmbeddedRCP) Replug() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.unplugLocked()
	return e.plugLocked()
}

// Reset makes the RCP reset on its own (a watchdog, a crash) in the
// middle of whatever it was doing: see rcpsim.RCP.Reset.
func (e *EmbeddedRCP) Reset() { e.RCP.Reset() }

// Restart power-cycles the RCP on the same port with another factory
// EUI-64, as when ot-rcp is restarted with another node id or another
// dongle takes the port: see rcpsim.RCP.Reboot.
func (e *EmbeddedRCP) Restart(eui64 [8]byte) { e.RCP.Reboot(eui64) }

// Stall stops the RCP for d, as SIGSTOP then SIGCONT stop a process: it
// neither answers nor transmits nor receives meanwhile, then resumes with
// what waited (rcpsim.RCP.Freeze, Thaw). Stall returns at once.
func (e *EmbeddedRCP) Stall(d time.Duration) {
	e.RCP.Freeze()
	time.AfterFunc(d, e.RCP.Thaw)
}

// Close stops the RCP, closes its PTY, removes Path and detaches its node.
func (e *EmbeddedRCP) Close() error {
	e.closeMu.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.unplugLocked()
		e.mu.Unlock()
		e.stop()
		os.RemoveAll(e.dir)
		e.Node.Detach()
	})
	return nil
}
