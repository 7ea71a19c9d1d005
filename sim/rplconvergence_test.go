package sim

import (
	"context"

	"github.com/lowpanbr/lowpanbr/link"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// TestRPLConvergence measures issue 14's target under
// LOWPANBR_SIM_CONVERGENCE=1 (LOWPANBR_SIM_CONVERGENCE_ONLY=rpl300,
// rpl300ns, rpl1000 or rpl1000ns picks one): a random mesh of RPL routers
// with 5 % frame loss on a medium in real time (as the daemon runs it),
// the border router's forwarder as the DODAG root; the time until the
// root holds a live route to every node, the depth, the root's message
// counts, the process's CPU (the nodes' included: they share the
// process), peak RSS and heap per node. The 300-node target is 3 minutes.
//
// Seed 1 on the 2-core development machine (issue 14):
//   - rpl300 (storing, RIOT timers): all routed after 2 min 16 s (half
//     after 14 s), depth 10, process CPU 4.8 s, peak RSS 74 MiB; 78 s
//     before the routers floated on losing their last parent as RIOT
//     does (they poisoned; issue 14 measured 79 s);
//   - rpl300ns (non-storing, Contiki-NG timers): all after 36 s (half
//     after 12 s), CPU 8.5 s, RSS 71 MiB (with RIOT's timers: 247 of 300
//     after 3 minutes, the four unanswered DAOs followed by a minute's
//     wait);
//   - rpl1000: all after 4 min 45 s (half after 34 s), depth 17, CPU
//     64 s in 285 s, RSS 344 MiB, heap 149 KiB per node;
//   - rpl1000ns: 277 of 1000 after 10 minutes: every node's DAO and its
//     DAO-ACK cross up to 15 hops at 5 % loss per frame, unanswered DAOs
//     end in local repair, the repairs in DIO bursts and new DAOs; the
//     medium carried 1.7 million frames and the process used both cores
//     throughout (672 s of CPU in 600 s), so the simulator was the
//     bottleneck as much as the protocol.
func TestRPLConvergence(t *testing.T) {
	if os.Getenv(convergenceEnv) == "" {
		t.Skipf("set %s=1 to measure RPL convergence (minutes of wall-clock time)", convergenceEnv)
	}
	only := os.Getenv(convergenceEnv + "_ONLY")
	for _, c := range []struct {
		name     string
		nodes    int
		mop      uint8
		deadline time.Duration
	}{
		{"rpl300", 300, rpl.MOPStoring, 3 * time.Minute},
		{"rpl300ns", 300, rpl.MOPNonStoring, 3 * time.Minute},
		{"rpl1000", 1000, rpl.MOPStoring, 10 * time.Minute},
		{"rpl1000ns", 1000, rpl.MOPNonStoring, 10 * time.Minute},
	} {
		if only != "" && only != c.name {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			measureRPLConvergence(t, c.nodes, c.mop, c.deadline)
		})
	}
}

func measureRPLConvergence(t *testing.T, nodes int, mop uint8, deadline time.Duration) {
	runtime.GC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := MeshConfig{Topology: Random, Nodes: nodes, Loss: 0.05, Seed: 1, Routing: RoutingRPL, Channel: 20, PANID: 0xabcd}
	m, mediumDone := runMedium(ctx, medium.Config{Seed: cfg.Seed, TimeScale: 1})
	mn, br, brEUI := attachBRRadio(ctx, t, m)
	tun := drainedTUN()
	_, _, fwd, fwdDone := startLBRWith(t, ctx, br, brEUI, tun, &router.RPLConfig{Root: rpl.RootConfig{Instance: 1, MOP: mop}, RPI: mop == rpl.MOPNonStoring})
	start := time.Now()
	mesh, err := StartMesh(ctx, m, mn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stopMeshWorld(cancel, tun, fwdDone, mesh, br, m, mediumDone)
	want := map[netip.Addr]bool{}
	for i := range nodes {
		want[Addr(prefix, i)] = true
	}
	var full, half time.Duration
	have := 0
	for time.Since(start) < deadline {
		time.Sleep(200 * time.Millisecond)
		_, routes := fwd.RPLRoutes()
		have = 0
		for _, r := range routes {
			if r.Path != nil && want[r.Target.Addr()] {
				have++
			}
		}
		if half == 0 && have >= nodes/2 {
			half = time.Since(start)
		}
		if have == nodes {
			full = time.Since(start)
			break
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	depth, joined := 0, 0
	for _, n := range mesh.Nodes() {
		if st, ok := n.RPL(); ok && st.Rank != rpl.InfiniteRank {
			joined++
			depth = max(depth, int(st.Rank/256)-1)
		}
	}
	rs, _ := fwd.RPL()
	ms1 := m.Stats()
	t.Logf("%d nodes MOP %d loss 5%%: %d/%d routed at the root (half after %v, all after %v; deadline %v), %d joined, depth %d; "+
		"root: %d DAOs, %d DIS, %d DIOs sent, %d DAO-ACKs, %d routed down; process CPU %.1f s in %.1f s, peak RSS %d MiB, heap %d KiB per node; "+
		"medium: %d frames, %d collisions, %d losses",
		nodes, mop, have, nodes, half.Round(100*time.Millisecond), full.Round(100*time.Millisecond), deadline, joined, depth,
		rs.Root.DAO, rs.Root.DIS+rs.Root.DISUnicast, rs.Root.DIOsSent, rs.Root.DAOACKsSent, rs.RoutedDown,
		(processCPU() - cpu0).Seconds(), time.Since(start).Seconds(), peakRSS()>>20,
		(int64(ms.HeapAlloc)-int64(ms0.HeapAlloc))/int64(nodes)>>10, ms1.Frames, ms1.Collisions, ms1.Losses)
	acked := 0
	var decodeErrors, rxFrames uint64
	for _, n := range mesh.Nodes() {
		if st, ok := n.RPL(); ok && st.DAOAcked {
			acked++
		}
		if l, ok := n.link.(*link.Lowpan); ok {
			ls := l.Stats()
			decodeErrors += ls.DecodeErrors
			rxFrames += ls.FramesReceived
		}
	}
	t.Logf("root counters %+v; %d nodes' last DAO acknowledged; nodes: %d frames received, %d undecodable", rs.Root, acked, rxFrames, decodeErrors)
	if full == 0 {
		_, routes := fwd.RPLRoutes()
		routed := map[netip.Addr]bool{}
		for _, r := range routes {
			routed[r.Target.Addr()] = r.Path != nil
		}
		shown := 0
		for i, n := range mesh.Nodes() {
			if ok, known := routed[Addr(prefix, i)]; !ok && shown < 10 {
				st, _ := n.RPL()
				t.Logf("not routed: %s (target known %v) %+v registered %v", n.Name(), known, st, n.State().Registered)
				shown++
			}
		}
		t.Errorf("%d of %d nodes routed within %v", have, nodes, deadline)
	}
}
