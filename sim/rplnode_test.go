package sim

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/rpl"
)

// A line of six simulated RPL routers, both modes of operation: every
// router joins with rank 256 per hop (RIOT's OF0), the root learns a
// route to every node from the DAOs (storing: next hop n1; non-storing:
// the source route through every router), and the far end answers a
// ping from the LAN through five routers (storing: next hops at every
// router; non-storing: a tunnel with a source routing header, RFC 9008
// §8.2.2, advanced at each hop, RFC 6554 §4.2).
func TestRPLLine(t *testing.T) {
	for _, mop := range []uint8{rpl.MOPStoring, rpl.MOPNonStoring} {
		t.Run(fmt.Sprint("MOP", mop), func(t *testing.T) {
			t.Parallel()
			b := startRPLBR(t, MeshConfig{Topology: Line, Nodes: 6, Seed: 4}, mop)
			took := b.waitRoutes(t, 60*time.Second)
			t.Logf("every node routed at the root after %v", took)
			// The RAs that carry the mesh's compression context come hop
			// by hop as the routers register (RFC 6775 §8.1.3): a node
			// without it cannot read what the border router compresses.
			wctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := b.mesh.WaitRegistered(wctx); err != nil {
				t.Fatal(err)
			}
			nodes := b.mesh.Nodes()
			for i, n := range nodes {
				st, ok := n.RPL()
				if !ok || st.Rank != uint16(256*(i+2)) || st.MOP != mop || st.Parent != parentLL(i) {
					t.Fatalf("%s: %+v", n.Name(), st)
				}
			}
			b.mu.Lock()
			hops, err := b.root.Route(nil, Addr(prefix, 5), time.Now())
			b.mu.Unlock()
			want := 1
			if mop == rpl.MOPNonStoring {
				want = 6
			}
			if err != nil || len(hops) != want {
				t.Fatalf("route to n6: %v %v", hops, err)
			}
			far := Addr(prefix, 5)
			start := time.Now()
			if p := b.ping(t, far, 1); !isEchoReplyFrom(p, far) {
				t.Fatal("no echo reply from n6")
			}
			t.Logf("ping answered after %v", time.Since(start))
			for _, n := range nodes[:5] {
				if n.State().Forwarded == 0 {
					t.Errorf("%s forwarded nothing", n.Name())
				}
			}
			if mop == rpl.MOPStoring {
				if st, _ := nodes[0].RPL(); st.Routes != 5 {
					t.Errorf("n1 holds %d routes, want 5", st.Routes)
				}
			}
		})
	}
}

// parentLL is the link-local address of node i's parent on a line.
func parentLL(i int) netip.Addr {
	if i == 0 {
		return netip.MustParseAddr("fe80::1")
	}
	return linkLocal(NodeEUI64(i - 1))
}

// RPL-unaware leaves (RFC 9010): the far end of a line of four is a RUL
// (Leaves 0.25: every fourth node); it registers with the RPL router
// before it (R flag), which answers it
// itself and advertises it in its DAOs with its ROVR; the root routes to
// it (storing: next hops; non-storing: a tunnel to its 6LR, RFC 9008
// §8.2.4) and it answers pings from the LAN.
func TestRPLLeaves(t *testing.T) {
	for _, mop := range []uint8{rpl.MOPStoring, rpl.MOPNonStoring} {
		t.Run(fmt.Sprint("MOP", mop), func(t *testing.T) {
			t.Parallel()
			b := startRPLBR(t, MeshConfig{Topology: Line, Nodes: 4, Seed: 6, Leaves: 0.25}, mop)
			wctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := b.mesh.WaitRegistered(wctx); err != nil {
				t.Fatal(err)
			}
			b.waitRoutes(t, 30*time.Second)
			n3, n4 := b.mesh.Node("n3"), b.mesh.Node("n4")
			if _, ok := n4.RPL(); ok {
				t.Fatal("n4, a leaf, runs RPL")
			}
			if st, _ := n3.RPL(); st.RULs != 1 {
				t.Fatalf("n3 advertises %d leaves, want n4: %+v", st.RULs, st)
			}
			if n4.State().RouterMAC != n3.LinkAddr() {
				t.Fatalf("n4 registered with %v", n4.State().RouterMAC)
			}
			b.mu.Lock()
			hops, err := b.root.Route(nil, Addr(prefix, 3), time.Now())
			b.mu.Unlock()
			if err != nil || (mop == rpl.MOPNonStoring && (len(hops) != 4 || hops[2] != Addr(prefix, 2))) {
				t.Fatalf("route to n4: %v %v", hops, err)
			}
			for _, i := range []int{2, 3} {
				if p := b.ping(t, Addr(prefix, i), uint16(i)); !isEchoReplyFrom(p, Addr(prefix, i)) {
					t.Fatalf("no echo reply from n%d", i+1)
				}
			}
		})
	}
}
