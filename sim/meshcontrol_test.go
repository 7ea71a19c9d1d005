package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// pingOnce sends one echo request from the LAN and waits up to d for its
// answer (the same identifier: not a late answer to an earlier one).
func (b *testBR) pingOnce(dst netip.Addr, id uint16, d time.Duration) bool {
	for {
		select {
		case <-b.tun.out:
			continue
		default:
		}
		break
	}
	b.tun.in <- echoRequest(lanHost, dst, id)
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case p := <-b.tun.out:
			if isEchoReplyFrom(p, dst) && binary.BigEndian.Uint16(p[44:]) == id {
				return true
			}
		case <-t.C:
			return false
		}
	}
}

// pingUntil pings dst until it answers or d passes.
func (b *testBR) pingUntil(dst netip.Addr, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for id := uint16(1000); time.Now().Before(deadline); id++ {
		if b.pingOnce(dst, id, time.Second) {
			return true
		}
	}
	return false
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// A line of three (6LoWPAN-ND, 6LRs relaying): the link table has the
// placement's links, each once, the border router's first; cutting n2–n3
// takes it off the medium both ways and makes n3 unreachable from the
// LAN, restoring it brings n3 back; loss is set both ways; errors for
// unknown names, pairs out of range and bad losses.
func TestMeshLinksCutRestoreLoss(t *testing.T) {
	t.Parallel()
	b := startBR(t, MeshConfig{Topology: Line, Nodes: 3, Seed: 3, Routing: RoutingND, Loss: 0.01})
	a3 := b.mesh.Node("n3").State().Global
	if !b.pingUntil(a3, 10*time.Second) {
		t.Fatal("n3 does not answer before the cut")
	}
	if err := b.mesh.CutLink("n2", "n3"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if b.pingOnce(a3, uint16(2000+i), 1500*time.Millisecond) {
			t.Fatal("n3 answers across a cut link")
		}
	}
	if err := b.mesh.RestoreLink("n3", "n2"); err != nil {
		t.Fatal(err)
	}
	if !b.pingUntil(a3, 10*time.Second) {
		t.Fatal("n3 does not answer after the restore")
	}
	links := b.mesh.Links()
	var got []string
	for _, l := range links {
		got = append(got, l.A+"-"+l.B)
		if l.RSSI != rssiAt(1) || l.LQI != medium.LQIFromRSSI(l.RSSI) || l.Loss != 0.01 || l.Cut {
			t.Errorf("link %+v", l)
		}
	}
	if want := []string{"br-n1", "n1-n2", "n2-n3"}; !slices.Equal(got, want) {
		t.Fatalf("links %v, want %v", got, want)
	}
	pos := b.mesh.Positions()
	if pos["br"] != (Point{0, 0}) || pos["n3"] != (Point{3, 0}) {
		t.Fatalf("positions %v", pos)
	}
	for _, c := range []struct {
		a, b string
		want error
	}{
		{"n1", "n3", ErrNotInRange}, {"n1", "n1", ErrNotInRange}, {"n9", "n1", ErrUnknownNode}, {"br", "", ErrUnknownNode},
	} {
		if err := b.mesh.CutLink(c.a, c.b); !errors.Is(err, c.want) {
			t.Errorf("CutLink(%q, %q) = %v, want %v", c.a, c.b, err, c.want)
		}
	}
	for _, p := range []float64{-0.1, 1.5, math.NaN()} {
		if err := b.mesh.SetLoss("n1", "n2", p); !errors.Is(err, ErrBadLoss) {
			t.Errorf("SetLoss(%v) = %v", p, err)
		}
		if err := b.mesh.SetLossAll(p); !errors.Is(err, ErrBadLoss) {
			t.Errorf("SetLossAll(%v) = %v", p, err)
		}
	}
	r1, r2 := b.mesh.Node("n1").radio.node, b.mesh.Node("n2").radio.node
	if err := b.mesh.SetLoss("n2", "n1", 0.3); err != nil {
		t.Fatal(err)
	}
	if err := b.mesh.CutLink("n1", "n2"); err != nil {
		t.Fatal(err)
	}
	if l := b.m.Link(r1, r2); !l.Disconnected {
		t.Fatalf("cut link on the medium: %+v", l)
	}
	if l := b.mesh.Links()[1]; !l.Cut || l.Loss != 0.3 {
		t.Fatalf("cut link: %+v", l)
	}
	if err := b.mesh.RestoreLink("n2", "n1"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []medium.Link{b.m.Link(r1, r2), b.m.Link(r2, r1)} {
		if l.Disconnected || l.Loss != 0.3 || l.RSSI != rssiAt(1) {
			t.Fatalf("restored link on the medium: %+v", l)
		}
	}
	// SetLossAll replaces the single link's loss.
	if err := b.mesh.SetLossAll(0.05); err != nil {
		t.Fatal(err)
	}
	for _, l := range b.mesh.Links() {
		if l.Loss != 0.05 || l.Cut {
			t.Fatalf("after SetLossAll: %+v", l)
		}
	}
	if l := b.m.Link(r2, r1); l.Loss != 0.05 {
		t.Fatalf("medium after SetLossAll: %+v", l)
	}
	// n1 and n3 stay out of range.
	if l := b.m.Link(r1, b.mesh.Node("n3").radio.node); !l.Disconnected {
		t.Fatalf("n1–n3 on the medium: %+v", l)
	}
}

// A star lists only the border router's links, and the node–node links
// that were changed.
func TestStarLinks(t *testing.T) {
	t.Parallel()
	b := startBR(t, MeshConfig{Topology: Star, Nodes: 4, Seed: 5})
	if l := b.mesh.Links(); len(l) != 4 || l[0].RSSI != rssiAt(0) {
		t.Fatalf("star links %+v", l)
	}
	if err := b.mesh.CutLink("n2", "n3"); err != nil {
		t.Fatal(err)
	}
	l := b.mesh.Links()
	if len(l) != 5 || l[4].A != "n2" || l[4].B != "n3" || !l[4].Cut {
		t.Fatalf("star links after a cut %+v", l)
	}
	for name, p := range b.mesh.Positions() {
		if d := math.Hypot(p.X, p.Y); name != "br" && math.Abs(d-0.5) > 1e-9 {
			t.Fatalf("%s at %v, want on the circle of radius 0.5", name, p)
		}
	}
}

// A restarted node comes back as a new run with the same name, EUI-64 and
// place, having forgotten everything, and registers again with the 6LBR.
func TestRestartNode(t *testing.T) {
	t.Parallel()
	b := startBR(t, MeshConfig{Topology: Line, Nodes: 2, Seed: 6, Routing: RoutingND})
	old := b.mesh.Node("n2")
	addr := old.State().Global
	before := len(b.m.Nodes())
	n, err := b.mesh.RestartNode(ctxFor(t, 5*time.Second), "n2")
	if err != nil {
		t.Fatal(err)
	}
	if n == old || b.mesh.Node("n2") != n || n.Config().EUI64 != old.Config().EUI64 || len(b.m.Nodes()) != before {
		t.Fatalf("restarted node: %p (old %p), medium %d nodes (before %d)", n, old, len(b.m.Nodes()), before)
	}
	if st := n.State(); st.Registered || st.Renewed != 0 {
		t.Fatalf("a rebooted node remembers: %+v", st)
	}
	if !waitRegistered(ctxFor(t, 20*time.Second), n) {
		t.Fatalf("n2 does not register again: %+v", n.State())
	}
	if n.State().Global != addr || n.State().RouterMAC != b.mesh.Node("n1").LinkAddr() {
		t.Fatalf("after the restart: %+v", n.State())
	}
	if !b.pingUntil(addr, 10*time.Second) {
		t.Fatal("the restarted node does not answer")
	}
	if _, err := b.mesh.RestartNode(ctxFor(t, time.Second), "br"); !errors.Is(err, ErrBorderRouter) {
		t.Fatalf("restart br: %v", err)
	}
}

// A node that refreshed its registration a few times before a reboot
// (TID 243 at the 6LBR) starts over at 240 (RFC 8505 §5.2.1): the 6LBR
// answers "moved" to the stale TIDs (RFC 8505 §5.2) until the node's
// retries, each with the next TID, reach the one it holds.
func TestRestartNodeStaleTID(t *testing.T) {
	t.Parallel()
	b := startBR(t, MeshConfig{Topology: Star, Nodes: 1, Seed: 9})
	addr := b.mesh.Node("n1").State().Global
	now := time.Now()
	reg, ok := b.nd.Registry().Lookup(addr, now)
	if !ok || !reg.HasTID || reg.TID != nd.TIDInitial {
		t.Fatalf("n1's registration: %v %+v", ok, reg)
	}
	// As if n1 had refreshed three more times.
	if res := b.nd.Registry().Register(nd.Request{Addr: addr, Link: reg.Link, ROVR: reg.ROVR, TID: nd.TIDInitial + 3, HasTID: true,
		Lifetime: reg.Lifetime, LinkAddr: reg.LinkAddr}, now); res.Status != nd.StatusSuccess {
		t.Fatalf("TID 243: %v", res.Status)
	}
	n, err := b.mesh.RestartNode(ctxFor(t, 5*time.Second), "n1")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !waitRegistered(ctxFor(t, 25*time.Second), n) {
		t.Fatalf("n1 does not register again: %+v", n.State())
	}
	if reg, _ = b.nd.Registry().Lookup(addr, time.Now()); reg.TID != nd.TIDInitial+3 {
		t.Fatalf("registered again with TID %d, want %d", reg.TID, nd.TIDInitial+3)
	}
	t.Logf("registered again after %v", time.Since(start).Round(100*time.Millisecond))
}

// A removed node leaves the mesh, the medium and the link table; an added
// one gets the next name, a place in range of the node it is near, and
// registers.
func TestRemoveAndAddNode(t *testing.T) {
	t.Parallel()
	b := startBR(t, MeshConfig{Topology: Line, Nodes: 2, Seed: 7, Routing: RoutingND})
	ctx := ctxFor(t, 30*time.Second)
	if err := b.mesh.RemoveNode(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if b.mesh.Node("n2") != nil || len(b.mesh.Nodes()) != 1 {
		t.Fatal("n2 still in the mesh")
	}
	for _, mn := range b.m.Nodes() {
		if mn.String() == "n2" {
			t.Fatal("n2 still on the medium")
		}
	}
	if l := b.mesh.Links(); len(l) != 1 {
		t.Fatalf("links after the removal: %+v", l)
	}
	if err := b.mesh.RemoveNode(ctx, "n2"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("second removal: %v", err)
	}
	if _, err := b.mesh.AddNode(ctx, "n7"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("add near n7: %v", err)
	}
	n, err := b.mesh.AddNode(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if n.Name() != "n3" || n.Config().EUI64 != NodeEUI64(2) || n.Config().Role != Host {
		t.Fatalf("added %s %x role %v", n.Name(), n.Config().EUI64, n.Config().Role)
	}
	pos := b.mesh.Positions()
	if d := math.Hypot(pos["n3"].X-pos["n1"].X, pos["n3"].Y-pos["n1"].Y); d > 1 {
		t.Fatalf("n3 placed %v from n1", d)
	}
	if !waitRegistered(ctx, n) {
		t.Fatalf("n3 does not register: %+v", n.State())
	}
	if !b.pingUntil(n.State().Global, 10*time.Second) {
		t.Fatal("the added node does not answer")
	}
	if err := b.mesh.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
}

// RPL heals around a cut link: in a 2 × 2 grid n3 (at 1,1) hears n1 and
// n2 but not the border router; cutting the link to its preferred parent
// makes it probe the parent (RIOT's _parent_timeout, after Default
// Lifetime − 1 lifetime units without a DIO: 4 s with 1 s units here),
// drop it and take the other, and the root routes to it again.
func TestRPLHealsAroundCutLink(t *testing.T) {
	t.Parallel()
	b := startBRWith(t, MeshConfig{Topology: Grid, Rows: 2, Cols: 2, Seed: 8, Routing: RoutingRPL},
		&router.RPLConfig{Root: rpl.RootConfig{Instance: 1, MOP: rpl.MOPStoring, DefaultLifetime: 5, LifetimeUnit: 1}})
	addrs := []netip.Addr{Addr(prefix, 0), Addr(prefix, 1), Addr(prefix, 2)}
	waitRPLRoutes(t, b, addrs, 20*time.Second)
	n3 := b.mesh.Node("n3")
	st, _ := n3.RPL()
	var parent, other string
	switch st.Parent {
	case b.mesh.Node("n1").LinkLocal():
		parent, other = "n1", "n2"
	case b.mesh.Node("n2").LinkLocal():
		parent, other = "n2", "n1"
	default:
		t.Fatalf("n3's parent %v is neither n1 nor n2", st.Parent)
	}
	if err := b.mesh.CutLink("n3", parent); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, _ := n3.RPL(); st.Parent == b.mesh.Node(other).LinkLocal() {
			break
		}
		if time.Now().After(deadline) {
			st, _ := n3.RPL()
			t.Fatalf("n3 kept parent %v after the cut to %s", st.Parent, parent)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !b.pingUntil(addrs[2], 15*time.Second) {
		t.Fatal("n3 unreachable after the switch of parent")
	}
}

// BenchmarkMeshLinks is the cost of the link table of a random mesh of
// 300 nodes (what GET /api/v1/topology and the web page ask for), and of
// the positions.
func BenchmarkMeshLinks(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: 1})
	br, err := m.Attach(medium.NodeConfig{Name: "br", Channel: 20})
	if err != nil {
		b.Fatal(err)
	}
	cancel() // the nodes stop at once: only the table is measured
	mesh, err := StartMesh(ctx, m, br, MeshConfig{Topology: Random, Nodes: 300, Seed: 1, Channel: 20, PANID: 0xabcd})
	if err != nil {
		b.Fatal(err)
	}
	mesh.Wait()
	defer m.Close()
	b.ReportAllocs()
	links := 0
	for b.Loop() {
		links = len(mesh.Links())
		mesh.Positions()
	}
	b.ReportMetric(float64(links), "links")
}
