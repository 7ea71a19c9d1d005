package borderrouter

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/sim"
)

// Building and encoding the web page's snapshot of a random mesh of 300
// simulated RPL nodes (topology with 1,000+ links, simulated nodes,
// registry, events): what the sampler does each second while a page is
// open, before the delta leaves the unchanged parts out.
func BenchmarkWebSnapshot300(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (a network namespace and a TUN)")
	}
	netnstest.Enter(b, netnstest.Add(b, ""))
	cfg := Defaults()
	cfg.StateDir = filepath.Join(b.TempDir(), "state")
	cfg.API.Socket, cfg.Metrics.Listen = "", ""
	cfg.TUN.Name = "lbrwebb0"
	cfg.Mesh.Prefix = netip.MustParsePrefix("2001:db8:7f::/64")
	cfg.Sim.Topology, cfg.Sim.Nodes = sim.Random, 300
	br, err := New(cfg, WithLogger(slog.New(slog.DiscardHandler), nil), WithVersion("bench"))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	netnstest.Go(b, func() { done <- br.Run(ctx) })
	defer func() { cancel(); <-done }()
	time.Sleep(10 * time.Second) // the nodes join
	src := webSource{br}
	snap := src.Snapshot()
	out, _ := json.Marshal(snap)
	b.Logf("%d nodes, %d links, %d registrations, %d events: %d octets", len(snap.Nodes), len(snap.Links), len(snap.Registrations), len(snap.Events), len(out))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err = json.Marshal(src.Snapshot())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "octets/snapshot")
}
