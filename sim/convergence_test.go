package sim

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
)

// convergenceEnv turns on the long convergence measurements (issue 11's
// targets: minutes of wall-clock time, since the nodes' timers run on the
// wall clock).
const convergenceEnv = "LOWPANBR_SIM_CONVERGENCE"

// convergenceOptions vary measureConvergence's setting.
type convergenceOptions struct {
	// viaRCP: the border router's radio is the one `lowpanbr run` uses
	// without --radio, the embedded simulated RCP on a PTY driven by the
	// Spinel driver; otherwise a NodeRadio straight on the medium.
	viaRCP bool
	// onMedium, when set, sees the medium before anyone is attached (to
	// mirror its frames, say).
	onMedium func(*medium.Medium)
}

// convergence is how a mesh came up: when each node registered, and how
// many were registered at the deadline.
type convergence struct {
	nodes int
	// full is the time from the start until every node was registered;
	// zero when that did not happen before the run ended.
	full time.Duration
	// atDeadline counts the nodes registered at the deadline (or at full,
	// if that came first: none deregisters).
	atDeadline int
	// registered is the first time each node was seen registered (zero:
	// never), in the mesh's order.
	registered []time.Duration
	medium     medium.Stats
	link       link.LowpanStats // the border router's
	missing    []string         // nodes not registered at the end, with their state
}

func (c convergence) String() string {
	full := "never"
	if c.full > 0 {
		full = c.full.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%d/%d registered at the deadline, all registered after %s (medium: %d frames, %d collisions, %d losses, %d rx dropped, %d CCA busy, %d no-ack; br: %d rx, %d tx, %d no-ack)",
		c.atDeadline, c.nodes, full, c.medium.Frames, c.medium.Collisions, c.medium.Losses, c.medium.RxDropped, c.medium.CCABusy,
		c.medium.NoAcks, c.link.FramesReceived, c.link.FramesSent, c.link.TxNoAck)
}

// measureConvergence runs a border router (6LBR and forwarder, as
// startBR) and cfg's mesh on a medium at real time — as `lowpanbr run`
// does (TimeScale 1) — and watches the nodes register until all are or
// until deadline, then keeps watching until overtime to learn when the
// last one registered.
func measureConvergence(t *testing.T, cfg MeshConfig, deadline, overtime time.Duration, opt convergenceOptions) convergence {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The daemon seeds its medium with the mesh's seed (cmd/lowpanbr
	// daemon.go) and runs it at TimeScale 1.
	m, mediumDone := runMedium(ctx, medium.Config{Seed: cfg.Seed, TimeScale: 1})
	if opt.onMedium != nil {
		opt.onMedium(m)
	}
	brEUI := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}
	var (
		mn *medium.Node
		br radio.Radio
	)
	if opt.viaRCP {
		e, err := StartRCP(ctx, m, "br", rcpsim.Config{EUI64: brEUI}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		u, err := transport.ParseURL(e.URL())
		if err != nil {
			t.Fatal(err)
		}
		d, err := rcp.Open(ctx, rcp.Config{Open: rcp.URLOpener(u, nil), Name: u.String(),
			Settings: radio.Settings{Channel: 20, PANID: 0xabcd, ShortAddr: 0xfffe}})
		if err != nil {
			t.Fatal(err)
		}
		mn, br = e.Node, d
	} else {
		mn, br, _ = attachBRRadio(ctx, t, m)
	}
	tun := drainedTUN()
	ml, _, _, fwdDone := startLBR(t, ctx, br, brEUI, tun)
	cfg.Channel, cfg.PANID = 20, 0xabcd
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	mesh, err := StartMesh(ctx, m, mn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stopMeshWorld(cancel, tun, fwdDone, mesh, br, m, mediumDone)

	nodes := mesh.Nodes()[:cfg.Nodes]
	c := convergence{nodes: len(nodes), registered: make([]time.Duration, len(nodes))}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	countAt := func() int {
		k := 0
		for i, n := range nodes {
			if c.registered[i] == 0 && n.State().Registered {
				c.registered[i] = time.Since(start)
			}
			if c.registered[i] != 0 {
				k++
			}
		}
		return k
	}
	deadlineSeen := false
	for {
		<-tick.C
		k := countAt()
		el := time.Since(start)
		if !deadlineSeen && el >= deadline {
			c.atDeadline, deadlineSeen = k, true
		}
		if k == len(nodes) {
			c.full = el
			if !deadlineSeen {
				c.atDeadline = k
			}
			break
		}
		if el >= overtime {
			break
		}
	}
	c.medium, c.link = m.Stats(), ml.Stats()
	for i, n := range nodes {
		if c.registered[i] == 0 {
			c.missing = append(c.missing, fmt.Sprintf("%s %+v", n.Name(), n.State()))
		}
	}
	return c
}

// The cheap variant of issue 11's convergence target, for every run: a
// 4 × 5 grid of 6LRs (seven hops deep) with 5 % frame loss registers every
// node within half the target of 60 s; with the RFCs' randomised timers it
// takes 6–13 s. Nodes retrying on fixed timers did not manage it: two
// 6LRs that cannot hear each other but share a parent collided on every
// retry (seed 1: 14 of 19 registered after 20 s, 18 of 19 after 120 s).
func TestConvergenceGridWithLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("wall-clock convergence run (~10 s); skipped with -short")
	}
	cfg := MeshConfig{Topology: Grid, Rows: 4, Cols: 5, Loss: 0.05, Seed: 1, Routing: RoutingND}
	const limit = 30 * time.Second
	c := measureConvergence(t, cfg, limit, limit, convergenceOptions{})
	t.Logf("grid 4×5 loss 0.05 seed %d: %v", cfg.Seed, c)
	if c.full == 0 {
		t.Fatalf("not every node registered within %v: %v\n%s", limit, c, strings.Join(c.missing, "\n"))
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident set in octets (getrusage's
// ru_maxrss, kilobytes on Linux).
func peakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Maxrss) << 10
}

// Issue 11's convergence targets, measured when LOWPANBR_SIM_CONVERGENCE
// is set (it takes minutes): a 4 × 5 grid with 5 % loss and a random mesh
// of 40 nodes register every node within 60 s for 10 of 10 seeds, a random
// mesh of 200 within 3 minutes; and the default star of 10 within 15 s.
// LOWPANBR_SIM_CONVERGENCE_SEEDS overrides the number of seeds,
// LOWPANBR_SIM_CONVERGENCE_ONLY picks one of star, grid, random40,
// random200, random300 and random1000 (issue 13's scale targets).
func TestConvergenceTargets(t *testing.T) {
	if os.Getenv(convergenceEnv) == "" {
		t.Skipf("set %s=1 to measure issue 11's convergence targets (minutes of wall-clock time)", convergenceEnv)
	}
	seeds := 10
	if s, err := strconv.Atoi(os.Getenv(convergenceEnv + "_SEEDS")); err == nil && s > 0 {
		seeds = s
	}
	only := os.Getenv(convergenceEnv + "_ONLY") // star, grid, random40, random200, random300 or random1000
	// LOWPANBR_SIM_CONVERGENCE_BR=rcp puts the border router behind the
	// embedded simulated RCP and the Spinel driver, as `lowpanbr run`.
	viaRCP := os.Getenv(convergenceEnv+"_BR") == "rcp"
	for _, c := range []struct {
		name     string
		cfg      MeshConfig
		seeds    int
		deadline time.Duration
	}{
		// The default star of `lowpanbr run`: about a second, unless a
		// node's RS is lost (it collides now and then, with another RS or
		// with an Imm-Ack sent in the turnaround gap where the node's CCA
		// found the channel clear); that node solicits again after
		// RTR_SOLICITATION_INTERVAL, 10 s (RFC 6775 §9).
		{"star", MeshConfig{Topology: Star, Nodes: 10}, seeds, 15 * time.Second},
		{"grid", MeshConfig{Topology: Grid, Rows: 4, Cols: 5, Loss: 0.05, Routing: RoutingND}, seeds, time.Minute},
		{"random40", MeshConfig{Topology: Random, Nodes: 40, Routing: RoutingND}, seeds, time.Minute},
		{"random200", MeshConfig{Topology: Random, Nodes: 200, Routing: RoutingND}, 1, 3 * time.Minute},
		// Issue 13's scale targets: 300 within 120 s, 1000 within 10
		// minutes, with the process's CPU and peak RSS reported.
		{"random300", MeshConfig{Topology: Random, Nodes: 300, Routing: RoutingND}, 1, 2 * time.Minute},
		{"random1000", MeshConfig{Topology: Random, Nodes: 1000, Routing: RoutingND}, 1, 10 * time.Minute},
	} {
		if only != "" && only != c.name {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			ok := 0
			for seed := uint64(1); seed <= uint64(c.seeds); seed++ {
				cfg := c.cfg
				cfg.Seed = seed
				cpu0 := processCPU()
				start := time.Now()
				res := measureConvergence(t, cfg, c.deadline, 2*c.deadline, convergenceOptions{viaRCP: viaRCP})
				t.Logf("%s seed %d: %v; process CPU %.1f s in %.1f s, peak RSS %d MiB", c.name, seed, res,
					(processCPU() - cpu0).Seconds(), time.Since(start).Seconds(), peakRSS()>>20)
				if res.full > 0 && res.full <= c.deadline {
					ok++
				} else {
					t.Logf("%s seed %d: not registered:\n%s", c.name, seed, strings.Join(res.missing, "\n"))
				}
			}
			t.Logf("%s: %d of %d seeds registered every node within %v", c.name, ok, c.seeds, c.deadline)
			if ok != c.seeds {
				t.Errorf("%s: %d of %d seeds registered every node within %v", c.name, ok, c.seeds, c.deadline)
			}
		})
	}
}
