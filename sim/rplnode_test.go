package sim

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// parentLL is the link-local address of node i's parent on a line.
func parentLL(i int) netip.Addr {
	if i == 0 {
		return netip.MustParseAddr("fe80::1")
	}
	return linkLocal(NodeEUI64(i - 1))
}

// rplLongEnv adds the slower RPL mesh cases to the default run's.
const rplLongEnv = "LOWPANBR_SIM_RPL_LONG"

// waitRPLRoutes waits until the border router's root holds a route to
// every address of addrs.
func waitRPLRoutes(t *testing.T, b *testBR, addrs []netip.Addr, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, routes := b.fwd.RPLRoutes()
		have := map[netip.Addr]bool{}
		for _, r := range routes {
			if r.Path != nil {
				have[r.Target.Addr()] = true
			}
		}
		missing := netip.Addr{}
		for _, a := range addrs {
			if !have[a] {
				missing = a
				break
			}
		}
		if !missing.IsValid() {
			return
		}
		if time.Now().After(deadline) {
			for _, n := range b.mesh.Nodes() {
				st, _ := n.RPL()
				t.Logf("%s: %+v %+v", n.Name(), n.State(), st)
			}
			t.Fatalf("no RPL route to %v after %v (%d routes)", missing, d, len(routes))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A line of six simulated RPL routers under the border router's own
// forwarder as the DODAG root (router.RPLConfig), both modes of
// operation: every router joins with rank 256 per hop (RIOT's OF0), the
// root learns a route to every node from the DAOs (storing: next hop n1
// for all; non-storing: the source route through every router), and
// every node, the far end five routers away included, answers a ping
// from the LAN (storing: next hops at every router, no RPI, as a RIOT
// DODAG needs; non-storing: a tunnel with a source routing header and an
// RPI, RFC 9008 §8.2.2, advanced at each hop, RFC 6554 §4.2). With
// LOWPANBR_SIM_RPL_LONG=1 also storing mode with the RPI.
func TestRPLLine(t *testing.T) {
	type rplCase struct {
		mop       uint8
		rpi, lorh bool
	}
	// The last: the root sends RFC 8138 6LoRHs (T flag), which the
	// routers' 6LoWPAN decoder reads.
	cases := []rplCase{{rpl.MOPStoring, false, false}, {rpl.MOPNonStoring, true, false}, {rpl.MOPNonStoring, true, true}}
	if os.Getenv(rplLongEnv) != "" {
		cases = append(cases, rplCase{rpl.MOPStoring, true, false})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("MOP%d-RPI%v-6LoRH%v", c.mop, c.rpi, c.lorh), func(t *testing.T) {
			t.Parallel()
			b := startBRWith(t, MeshConfig{Topology: Line, Nodes: 6, Seed: 4, Routing: RoutingRPL},
				&router.RPLConfig{Root: rpl.RootConfig{Instance: 1, MOP: c.mop, Compression8138: c.lorh, RPI0x23: true}, RPI: c.rpi})
			var addrs []netip.Addr
			for i := range 6 {
				addrs = append(addrs, Addr(prefix, i))
			}
			waitRPLRoutes(t, b, addrs, 30*time.Second)
			for i, n := range b.mesh.Nodes() {
				st, ok := n.RPL()
				if !ok || st.Rank != uint16(256*(i+2)) || st.MOP != c.mop || st.Parent != parentLL(i) || st.Global != addrs[i] {
					t.Fatalf("%s: %+v", n.Name(), st)
				}
			}
			_, routes := b.fwd.RPLRoutes()
			for _, r := range routes {
				want := []netip.Addr{linkLocal(NodeEUI64(0))}
				if c.mop == rpl.MOPNonStoring {
					want = addrs[:slices.Index(addrs, r.Target.Addr())+1]
				}
				if !slices.Equal(r.Path, want) {
					t.Fatalf("route to %v: %v, want %v", r.Target, r.Path, want)
				}
			}
			for i, n := range b.mesh.Nodes() {
				if p := b.ping(t, addrs[i], uint16(i)); !isEchoReplyFrom(p, addrs[i]) {
					t.Fatalf("ping %s", n.Name())
				}
			}
			for _, n := range b.mesh.Nodes()[:5] {
				if n.State().Forwarded == 0 {
					t.Errorf("%s forwarded nothing", n.Name())
				}
			}
			st, _ := b.fwd.RPL()
			if st.RoutedDown == 0 || (c.mop == rpl.MOPNonStoring && (st.SourceRouted == 0 || st.Tunnelled == 0)) {
				t.Errorf("root stats %+v", st)
			}
			if c.mop == rpl.MOPStoring {
				if st, _ := b.mesh.Nodes()[0].RPL(); st.Routes != 5 {
					t.Errorf("n1 holds %d routes, want 5", st.Routes)
				}
			}
		})
	}
}

// RPL-unaware leaves (RFC 9010): the far end of a line of three is a RUL
// (Leaves 1/3: every third node); it registers with the RPL router before
// it (R flag), which answers it itself and advertises it in its DAOs with
// its ROVR (its EUI-64), the EARO's TID and lifetime; the root routes to
// it (storing: next hops; non-storing: a tunnel to its 6LR, RFC 9008
// §8.2.4) and it answers pings from the LAN.
func TestRPLLeaves(t *testing.T) {
	for _, mop := range []uint8{rpl.MOPStoring, rpl.MOPNonStoring} {
		t.Run(fmt.Sprint("MOP", mop), func(t *testing.T) {
			t.Parallel()
			// Storing mode as a mesh shared with RIOT routers would run
			// it: Targets without ROVR.
			b := startBRWith(t, MeshConfig{Topology: Line, Nodes: 3, Seed: 6, Leaves: 1.0 / 3, Routing: RoutingRPL,
				LegacyTargets: mop == rpl.MOPStoring},
				&router.RPLConfig{Root: rpl.RootConfig{Instance: 1, MOP: mop}, RPI: mop == rpl.MOPNonStoring})
			waitRPLRoutes(t, b, []netip.Addr{Addr(prefix, 0), Addr(prefix, 1), Addr(prefix, 2)}, 30*time.Second)
			n2, n3 := b.mesh.Node("n2"), b.mesh.Node("n3")
			if _, ok := n3.RPL(); ok {
				t.Fatal("n3, a leaf, runs RPL")
			}
			if st, _ := n2.RPL(); st.RULs != 1 {
				t.Fatalf("n2 advertises %d leaves, want n3: %+v", st.RULs, st)
			}
			if n3.State().RouterMAC != n2.LinkAddr() {
				t.Fatalf("n3 registered with %v", n3.State().RouterMAC)
			}
			_, routes := b.fwd.RPLRoutes()
			for _, r := range routes {
				if r.Target.Addr() != Addr(prefix, 2) {
					continue
				}
				if mop == rpl.MOPNonStoring && !slices.Equal(r.Path, []netip.Addr{Addr(prefix, 0), Addr(prefix, 1), Addr(prefix, 2)}) {
					t.Fatalf("source route to the leaf %v", r.Path)
				}
			}
			for _, i := range []int{1, 2} {
				if p := b.ping(t, Addr(prefix, i), uint16(i)); !isEchoReplyFrom(p, Addr(prefix, i)) {
					t.Fatalf("no echo reply from n%d", i+1)
				}
			}
		})
	}
}
