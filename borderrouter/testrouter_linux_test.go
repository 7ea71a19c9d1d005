package borderrouter

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/sim"
)

// testRouter is a whole border router on its simulator with a star of
// nodes, for the tests and benchmarks that load it (adversarial, fault
// line, saturation): state in a temporary directory, no API socket or
// metrics listener, its log kept and printed when the test fails. The
// caller has entered a network namespace of its own.
type testRouter struct {
	br    *BorderRouter
	reach Reach
	logs  *syncBuffer

	done     chan error
	cancel   context.CancelFunc
	stopOnce sync.Once
}

func newTestRouter(tb testing.TB, tun string, prefix netip.Prefix, nodes int, version string) *testRouter {
	tb.Helper()
	cfg := Defaults()
	cfg.StateDir = filepath.Join(tb.TempDir(), "state")
	cfg.API.Socket = ""
	cfg.Metrics.Listen = ""
	cfg.TUN.Name = tun
	cfg.Mesh.Prefix = prefix
	cfg.Sim.Topology, cfg.Sim.Nodes = sim.Star, nodes
	r := &testRouter{logs: &syncBuffer{}, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	br, err := New(cfg, WithLogger(log, nil), WithVersion(version))
	if err != nil {
		tb.Fatal(err)
	}
	r.br, r.reach = br, br.Reach()
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("log:\n%s", r.logs.String())
		}
	})
	return r
}

// start starts Run; the test's cleanup stops it (stop).
func (r *testRouter) start(tb testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	netnstest.Go(tb, func() { r.done <- r.br.Run(ctx) })
	tb.Cleanup(func() {
		if !r.stop() {
			tb.Error("the border router did not stop")
		}
		checkUndone(tb, r.logs.String())
	})
}

// stop ends Run, waits for it (30 s at most: false if it did not return)
// and closes the border router; again, it does nothing.
func (r *testRouter) stop() bool {
	ok := true
	r.stopOnce.Do(func() {
		if r.cancel != nil {
			r.cancel()
			select {
			case <-r.done:
			case <-time.After(30 * time.Second):
				ok = false
			}
		}
		r.br.Close()
	})
	return ok
}

// undoFailed is the record of a shutdown that could not take back what
// New configured on the TUN.
const undoFailed = `msg="removing what was added to the TUN"`

// checkUndone fails the test if the border router's log says its shutdown
// left configuration behind (Run's goroutine was in another namespace than
// New, say).
func checkUndone(tb testing.TB, logs string) {
	tb.Helper()
	if strings.Contains(logs, undoFailed) {
		tb.Error("the shutdown left the TUN's configuration behind (see the log)")
	}
}

// waitRegistered waits up to d until every one of the star's nodes is
// registered.
func (r *testRouter) waitRegistered(tb testing.TB, nodes int, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		all := true
		for _, n := range r.br.SimNodes() {
			all = all && n.Registered
		}
		if all && len(r.br.SimNodes()) == nodes {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nodes not registered in time: %+v", r.br.SimNodes())
		}
		select {
		case err := <-r.done:
			tb.Fatalf("Run returned: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
