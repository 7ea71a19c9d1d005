//go:build linux

package borderrouter

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/sim"
)

// Address-Protected ND (RFC 8928) in the real daemon: the border router
// New builds, on its built-in simulated RCP behind a PTY, its 6LoWPAN link
// (the challenge's NA and the ~260-octet proof NS fragmented on air both
// ways), its forwarder's control path and the nd.Router with AP-ND on as
// nd.apnd configures it by default. Issue 13's target: --sim-intruder
// against a protected node is refused in every variant.

// apndRouter is a running border router for these tests.
type apndRouter struct {
	br      *BorderRouter
	logs    *syncBuffer
	reach   Reach
	started time.Time
	cancel  context.CancelFunc
	done    chan error
}

// startAPNDRouter builds and runs a border router on the simulator with
// cfg's mesh (the caller has entered a network namespace).
func startAPNDRouter(t *testing.T, cfg Config) *apndRouter {
	t.Helper()
	a := &apndRouter{logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	br, err := New(cfg, WithLogger(log, nil), WithVersion("apnd"))
	if err != nil {
		t.Fatal(err)
	}
	a.br, a.reach = br, br.Reach()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done, a.started = cancel, make(chan error, 1), time.Now()
	netnstest.Go(t, func() { a.done <- br.Run(ctx) })
	t.Cleanup(func() {
		a.stop(t)
		if t.Failed() {
			t.Logf("log:\n%s", a.logs.String())
		}
	})
	return a
}

// stop ends Run and waits for it (again: nothing).
func (a *apndRouter) stop(t *testing.T) {
	t.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the border router did not stop")
	}
	a.br.Close()
}

// apndConfig is a border router on the simulator for these tests: its
// state in dir, no listeners, the TUN named tun.
func apndConfig(dir, tun string) Config {
	cfg := Defaults()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.API.Socket = ""
	cfg.Metrics.Listen = ""
	cfg.TUN.Name = tun
	cfg.Mesh.Prefix = netip.MustParsePrefix("2001:db8:7::/64")
	return cfg
}

// node returns the simulated node name, waiting for the mesh to start.
func (a *apndRouter) node(t *testing.T, name string) *sim.Node {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := a.br.simMesh(); m != nil {
			if n := m.Node(name); n != nil {
				return n
			}
			t.Fatalf("no simulated node %s", name)
		}
		if time.Now().After(deadline) {
			t.Fatal("the simulated mesh did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRegistered waits until every named node is registered and returns
// how long after Run each took.
func (a *apndRouter) waitRegistered(t *testing.T, within time.Duration, names ...string) []time.Duration {
	t.Helper()
	took := make([]time.Duration, len(names))
	deadline := time.Now().Add(within)
	for {
		all := true
		for i, name := range names {
			if took[i] == 0 && a.node(t, name).State().Registered {
				took[i] = time.Since(a.started)
			}
			all = all && took[i] != 0
		}
		if all {
			return took
		}
		if time.Now().After(deadline) {
			t.Fatalf("not registered within %v: %+v", within, a.br.SimNodes())
		}
		select {
		case err := <-a.done:
			t.Fatalf("Run returned: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitAnswered waits for the intruder's first final answer: refused with
// a status, or registered.
func (a *apndRouter) waitAnswered(t *testing.T, name string, within time.Duration) sim.NodeState {
	t.Helper()
	n := a.node(t, name)
	deadline := time.Now().Add(within)
	for {
		st := n.State()
		if st.Registered || st.Status != nd.StatusSuccess {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %+v", name, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkVictim checks that name still holds its address in the 6LBR's
// registry, protected, under its Crypto-ID and its own link-layer
// address, and answers pings both ways: from Linux (through the TUN and
// the registry's route) and to Linux.
func (a *apndRouter) checkVictim(t *testing.T, name string) {
	t.Helper()
	n := a.node(t, name)
	st := n.State()
	id, err := n.Config().Key.CryptoID(16)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	reg, ok := a.br.nd.Registry().Lookup(st.Global, time.Now())
	if !st.Registered || !st.Protected || !ok || !reg.Protected || reg.ROVR != id || reg.LinkAddr != n.LinkAddr() {
		t.Errorf("victim %s: %+v; registry %+v (found %v), want its own protected registration", name, st, reg, ok)
		return
	}
	if lost := pingFromHost(t, st.Global, 3); lost > 0 {
		t.Errorf("victim %s: %d of 3 pings from Linux unanswered", name, lost)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.br.Ping(ctx, name, a.reach.Address, 64); err != nil {
		t.Errorf("victim %s pings Linux: %v", name, err)
	}
}

// pingFromHost sends count echo requests to dst from the test's network
// namespace (the thread enterNetns moved into it opens the socket) and
// returns how many went unanswered within two seconds each.
func pingFromHost(t *testing.T, dst netip.Addr, count int) (lost int) {
	t.Helper()
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		t.Fatalf("ICMPv6 socket: %v", err)
	}
	defer c.Close()
	id := uint16(os.Getpid())
	buf := make([]byte, 1500)
	for seq := range count {
		// RFC 4443 §4.1; the kernel fills in the checksum of a raw
		// ICMPv6 socket (RFC 3542 §3.1).
		req := make([]byte, 8+32)
		req[0] = 128
		binary.BigEndian.PutUint16(req[4:], id)
		binary.BigEndian.PutUint16(req[6:], uint16(seq))
		if _, err := c.WriteTo(req, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			t.Fatalf("echo request to %v: %v", dst, err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		answered := false
		for !answered {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				break // timed out
			}
			ip, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			answered = n >= 8 && buf[0] == 129 && ip == dst && binary.BigEndian.Uint16(buf[4:]) == id && binary.BigEndian.Uint16(buf[6:]) == uint16(seq)
		}
		if !answered {
			lost++
		}
	}
	return lost
}

// oneOf says whether s is among want.
func oneOf(s nd.Status, want []nd.Status) bool { return slices.Contains(want, s) }

// Every intruder variant that a 6LN can mount directly — the copied ROVR
// with a newer TID, with lifetime 0, each with the C flag (and a proof with
// the intruder's own key) and without — is refused by the daemon; the
// victims keep their protected registrations and answer pings; a node
// without a Crypto-ID (n5) still registers, unprotected.
func TestAPNDIntrudersDirect(t *testing.T) {
	enterNetns(t)
	cfg := apndConfig(t.TempDir(), "lbrapnd0")
	cfg.Sim.Topology, cfg.Sim.Nodes = sim.Star, 5
	cfg.Sim.Intruders = []string{"n1:rovr", "n2:rovr-legacy", "n3:lifetime0", "n4:lifetime0-legacy"}
	a := startAPNDRouter(t, cfg)
	took := a.waitRegistered(t, 30*time.Second, "n1", "n2", "n3", "n4", "n5")
	for name, want := range map[string][]nd.Status{
		// The C flag: challenged, and the proof with the intruder's key
		// does not hash to the copied Crypto-ID (RFC 8928 §6.2).
		"intruder-n1-rovr":      {nd.StatusValidationFailed},
		"intruder-n3-lifetime0": {nd.StatusValidationFailed},
		// No C flag: the registry's rule keeps an unproven registration
		// off a protected one (RFC 8928 §6), answered "duplicate".
		"intruder-n2-rovr-legacy":      {nd.StatusDuplicate},
		"intruder-n4-lifetime0-legacy": {nd.StatusDuplicate},
	} {
		if st := a.waitAnswered(t, name, 30*time.Second); st.Registered || !oneOf(st.Status, want) {
			t.Errorf("%s: %+v, want refused with %v", name, st, want)
		}
	}
	for _, v := range []string{"n1", "n2", "n3", "n4"} {
		a.checkVictim(t, v)
	}
	// n5 registers as RFC 8505 nodes without AP-ND do: unprotected, under
	// its EUI-64.
	n5 := a.node(t, "n5")
	st := n5.State()
	eui := n5.Config().EUI64
	if reg, ok := a.br.nd.Registry().Lookup(st.Global, time.Now()); !ok || reg.Protected || !slices.Equal(reg.ROVR.Bytes(), eui[:]) || st.Protected {
		t.Errorf("legacy n5: %+v, registry %+v (%v)", st, reg, ok)
	}
	c := a.br.nd.Counters()
	if c.APND.Proven < 4 || c.APND.Failed < 2 || c.APND.Legacy < 1 || c.StatusReplies[nd.StatusDuplicate] < 2 {
		t.Errorf("ND counters %+v", c)
	}
	// The proof NS does not fit one frame: the link reassembled them.
	if ls := a.br.link.Stats(); ls.Reassembly.Completed < 4 {
		t.Errorf("link reassembled %d datagrams, want the proofs at least (4)", ls.Reassembly.Completed)
	}
	t.Logf("registered after %v (n1…n4 protected, n5 legacy); APND %+v", took, c.APND)
}

// The relayed variants: the intruder out of the border router's range,
// its copied ROVR relayed by a 6LR in an EDAR (RFC 8505 §6.1). With
// relays not trusted (the default), an EDAR for a protected address is
// answered "validation requested", which an AP-ND 6LR turns into a
// challenge of the intruder (RFC 8928 §6); with nd.apnd_trust_relays and
// every node protected, the 6LRs' word counts, and the intruders fail all
// the same.
func TestAPNDIntrudersRelayed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tun       string
		trust     bool
		protected []string // nodes the 6LBR holds protected
	}{
		{"relays not trusted", "lbrapnd1", false, []string{"n1"}},
		{"relays trusted", "lbrapnd2", true, []string{"n1", "n2", "n3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enterNetns(t)
			cfg := apndConfig(t.TempDir(), tc.tun)
			cfg.Sim.Topology, cfg.Sim.Nodes = sim.Line, 3
			cfg.Sim.Routing = sim.RoutingND // the intruder's EDAR goes through a 6LR that relays registrations
			cfg.Sim.Intruders = []string{"n1:relayed", "n1:relayed-legacy"}
			cfg.Sim.Protect = tc.trust
			cfg.ND.APNDTrustRelays = tc.trust
			a := startAPNDRouter(t, cfg)
			a.waitRegistered(t, 45*time.Second, "n1", "n2", "n3")
			for name, want := range map[string][]nd.Status{
				// Challenged by an AP-ND 6LR (n1 holds a key as the
				// victim), or answered 5 through n2 by the 6LBR.
				"intruder-n1-relayed":        {nd.StatusValidationFailed, nd.StatusValidationRequested},
				"intruder-n1-relayed-legacy": {nd.StatusValidationRequested, nd.StatusValidationFailed},
			} {
				if st := a.waitAnswered(t, name, 45*time.Second); st.Registered || !oneOf(st.Status, want) {
					t.Errorf("%s: %+v, want refused with %v", name, st, want)
				}
			}
			a.checkVictim(t, "n1")
			for _, name := range tc.protected {
				st := a.node(t, name).State()
				if reg, ok := a.br.nd.Registry().Lookup(st.Global, time.Now()); !ok || !reg.Protected {
					t.Errorf("%s not protected at the 6LBR: %+v (%v)", name, reg, ok)
				}
			}
			t.Logf("ND statuses %v, APND %+v", a.br.nd.Counters().StatusReplies, a.br.nd.Counters().APND)
		})
	}
}

// A protected registration survives a restart of the border router (the
// state file keeps Protected): restored before any node is heard, it
// refuses a copied ROVR at once, and its owner registers again with a
// proof.
func TestAPNDProtectedAcrossRestart(t *testing.T) {
	enterNetns(t)
	cfg := apndConfig(t.TempDir(), "lbrapnd3")
	cfg.Sim.Topology, cfg.Sim.Nodes = sim.Star, 2
	cfg.Sim.Protect, cfg.Sim.CryptoType = true, nd.CryptoEd25519
	a := startAPNDRouter(t, cfg)
	a.waitRegistered(t, 30*time.Second, "n1", "n2")
	n1 := a.node(t, "n1")
	addr := n1.State().Global
	id, err := n1.Config().Key.CryptoID(16)
	if err != nil {
		t.Fatal(err)
	}
	a.stop(t)

	b, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(a.logs, nil)), nil))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	reg, ok := b.nd.Registry().Lookup(addr, now)
	if !ok || !reg.Protected || reg.ROVR != id {
		b.Close()
		t.Fatalf("restored %+v (%v), want n1's protected registration", reg, ok)
	}
	// An intruder's legacy NS with the copied ROVR, handled by the
	// restored 6LBR before anyone else is heard.
	ns, err := nd.AppendIPv6(nil, netip.MustParseAddr("fe80::6666"), b.nd.LinkLocal(), 255, nd.NSFields{Target: addr},
		nd.AROFields{T: true, TID: reg.TID + 5, Lifetime: 10, ROVR: id.Bytes()}, nd.SourceLinkAddr{Addr: n1.LinkAddr()})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	var m nd.Message
	if err := nd.Parse(ns, &m); err != nil {
		b.Close()
		t.Fatal(err)
	}
	var na nd.Message
	if reps := b.nd.Handle(nil, &m, nd.Incoming{Link: reg.Link, LinkSrc: n1.LinkAddr(), Local: b.link.LinkAddr(), Now: now}); len(reps) != 1 ||
		nd.Parse(reps[0].Packet, &na) != nil || na.ARO == nil || na.ARO.Status() != nd.StatusDuplicate {
		t.Errorf("the copied ROVR after the restart: %d replies, %+v", len(reps), na.ARO)
	}
	b.Close()

	// The mesh again, from scratch: n1 proves its Crypto-ID to the
	// restarted 6LBR.
	a2 := startAPNDRouter(t, cfg)
	a2.waitRegistered(t, 30*time.Second, "n1", "n2")
	a2.checkVictim(t, "n1")
	if c := a2.br.nd.Counters().APND; c.Proven < 2 {
		t.Errorf("APND after the restart %+v: the nodes did not prove their Crypto-IDs", c)
	}
}

// LOWPANBR_APND_MEASURE=N: registration times of a star of N simulated
// nodes (default 20) on the daemon, legacy against protected (both
// Crypto-Types), for the report.
func TestAPNDRegistrationTime(t *testing.T) {
	v := os.Getenv("LOWPANBR_APND_MEASURE")
	if v == "" {
		t.Skip("a measurement: set LOWPANBR_APND_MEASURE=N (nodes) to run it")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		n = 20
	}
	for i, c := range []struct {
		name    string
		protect bool
		typ     nd.CryptoType
	}{{"legacy", false, 0}, {"ECDSA256", true, nd.CryptoECDSAP256}, {"Ed25519", true, nd.CryptoEd25519}} {
		t.Run(c.name, func(t *testing.T) {
			enterNetns(t)
			cfg := apndConfig(t.TempDir(), fmt.Sprintf("lbrapndm%d", i))
			cfg.Sim.Topology, cfg.Sim.Nodes = sim.Star, n
			cfg.Sim.Protect, cfg.Sim.CryptoType = c.protect, c.typ
			a := startAPNDRouter(t, cfg)
			var names []string
			for j := range n {
				names = append(names, sim.NodeName(j))
			}
			took := a.waitRegistered(t, 120*time.Second, names...)
			slices.Sort(took)
			var sum time.Duration
			for _, d := range took {
				sum += d
			}
			fs, ls := a.br.fwd.Stats(), a.br.link.Stats()
			t.Logf("%s: %d nodes registered, mean %v, median %v, last %v after Run; APND %+v; ND dropped: queue full %d, rate limited %d, over budget %d; reassembly %+v",
				c.name, n, (sum / time.Duration(n)).Round(time.Millisecond), took[n/2].Round(time.Millisecond), took[n-1].Round(time.Millisecond),
				a.br.nd.Counters().APND, fs.NDDroppedQueueFull, fs.NDDroppedRateLimited, fs.NDDroppedBudget, ls.Reassembly)
		})
	}
}
