package sim

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/rpl"
)

// TestRPLConvergence measures issue 14's target under LOWPANBR_SIM_CONVERGENCE=1
// (LOWPANBR_SIM_CONVERGENCE_ONLY=rpl300, rpl1000, rpl300ns, rpl1000ns picks
// one): a random mesh of RPL routers, 5 % frame loss, the medium in real
// time; the time until the (test) root holds a DAO route to every node,
// the root's own time in Handle/Tick, the process's CPU and peak RSS, and
// the heap per node. The 300-node target is 3 minutes.
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
			runtime.GC()
			var ms0 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			cpu0 := processCPU()
			start := time.Now()
			b := startRPLBRAt(t, MeshConfig{Topology: Random, Nodes: c.nodes, Loss: 0.05, Seed: 1, Routing: RoutingRPL}, c.mop, 1)
			took := b.waitRoutes(t, c.deadline)
			b.mu.Lock()
			rootCPU, targets := b.rootCPU, b.root.Len()
			cnt := b.root.Counters()
			b.mu.Unlock()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			depth := 0
			for _, n := range b.mesh.Nodes() {
				if st, ok := n.RPL(); ok && st.Rank != rpl.InfiniteRank {
					depth = max(depth, int(st.Rank/256)-1)
				}
			}
			st := b.m.Stats()
			t.Logf("%s: every node routed at the root after %v (deadline %v); %d targets, depth %d; root Handle/Tick %v "+
				"(DAOs %d, DIS %d, DIOs sent %d, DAO-ACKs %d); process CPU %.1f s in %.1f s, peak RSS %d MiB, heap %d KiB per node; "+
				"medium: %d frames, %d collisions, %d losses",
				c.name, took.Round(100*time.Millisecond), c.deadline, targets, depth, rootCPU.Round(time.Millisecond),
				cnt.DAO, cnt.DIS+cnt.DISUnicast, cnt.DIOsSent, cnt.DAOACKsSent,
				(processCPU() - cpu0).Seconds(), time.Since(start).Seconds(), peakRSS()>>20,
				(int64(ms.HeapAlloc)-int64(ms0.HeapAlloc))/int64(c.nodes)>>10, st.Frames, st.Collisions, st.Losses)
		})
	}
}
