package nd

import (
	"errors"
	"net/netip"
	"testing"
)

// chain registers a line of n 6LRs below the 6LBR: lr(0) directly, lr(i)
// through lr(i−1); it returns lr.
func chain(t testing.TB, r *Registry, n int) func(int) netip.Addr {
	lr := func(i int) netip.Addr { return addrN(50_000 + i) }
	for i := range n {
		req := Request{Addr: lr(i), Link: 1, ROVR: rovrN(50_000 + i), HasTID: true, TID: 1, Lifetime: 60}
		if i == 0 {
			req.LinkAddr = llA
		} else {
			req.Via, req.Neighbor = lr(i-1), llA
		}
		if res := r.Register(req, t0); res.Status != StatusSuccess {
			t.Fatalf("6LR %d: %v (%v)", i, res.Status, res.Refused)
		}
	}
	return lr
}

// Issue 13: a node 14 hops out was unreachable (NextHop gave up after 8
// 6LRs). Any depth up to the hop limit resolves now.
func TestRouteDeepChain(t *testing.T) {
	r := NewRegistry(RegistryConfig{})
	for _, depth := range []int{1, 9, 14, 100, MaxRouteHops} {
		lr := chain(t, r, depth)
		rt, err := r.Route(lr(depth-1), t0)
		if err != nil || rt.Hops != depth || rt.NextHop != llA || rt.Link != 1 {
			t.Errorf("depth %d: %+v, %v", depth, rt, err)
		}
		if depth > 1 && rt.Via != lr(depth-2) {
			t.Errorf("depth %d: via %v", depth, rt.Via)
		}
		link, ll, ok := r.NextHop(lr(depth-1), t0)
		if !ok || link != 1 || ll != llA {
			t.Errorf("depth %d: NextHop %v %v %v", depth, link, ll, ok)
		}
		r.RemoveLink(1)
	}
	// One more than the hop limit allows.
	lr := chain(t, r, MaxRouteHops+1)
	if _, err := r.Route(lr(MaxRouteHops), t0); !errors.Is(err, ErrRouteTooLong) {
		t.Errorf("256 hops: %v", err)
	}
	if _, err := r.Route(lr(MaxRouteHops-1), t0); err != nil {
		t.Errorf("255 hops: %v", err)
	}
	if a := testing.AllocsPerRun(100, func() { r.Route(lr(200), t0) }); a != 0 {
		t.Errorf("Route allocates %v", a)
	}
}

// Registrations that lead back to themselves are a loop, found and
// refused, whatever its length and wherever it starts.
func TestRouteLoop(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tail, loop int
	}{
		{"self", 0, 1},
		{"two", 0, 2},
		{"tail into two", 3, 2},
		{"tail into seven", 5, 7},
		{"long loop", 0, 200},
		{"long tail, long loop", 40, 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(RegistryConfig{})
			n := tc.tail + tc.loop
			a := func(i int) netip.Addr { return addrN(70_000 + i) }
			for i := range n {
				next := i + 1
				if next == n {
					next = tc.tail // back into the loop
				}
				res := r.Register(Request{Addr: a(i), Link: 1, ROVR: rovrN(i), HasTID: true, TID: 1, Lifetime: 60, Via: a(next), Neighbor: llN(i)}, t0)
				if res.Status != StatusSuccess {
					t.Fatalf("%d: %v", i, res.Status)
				}
			}
			for i := range n {
				if _, err := r.Route(a(i), t0); !errors.Is(err, ErrRouteLoop) {
					t.Fatalf("from %d: %v, want a loop", i, err)
				}
			}
			if _, _, ok := r.NextHop(a(0), t0); ok {
				t.Error("NextHop through a loop")
			}
		})
	}
}

func TestRouteMissing(t *testing.T) {
	r := NewRegistry(RegistryConfig{})
	if _, err := r.Route(addrX, t0); !errors.Is(err, ErrNoRoute) {
		t.Errorf("unregistered: %v", err)
	}
	r.Register(Request{Addr: addrX, Link: 1, ROVR: rovrA, HasTID: true, TID: 1, Lifetime: 1, Via: sixLRA, Neighbor: llA}, t0)
	if _, err := r.Route(addrX, t0); !errors.Is(err, ErrNoRoute) {
		t.Errorf("6LR unregistered: %v", err)
	}
	// A link-local 6LR address is looked up on the registration's link.
	lrLL := netip.MustParseAddr("fe80::aa")
	r.Register(Request{Addr: lrLL, Link: 3, ROVR: rovrB, Lifetime: 1, LinkAddr: llA}, t0)
	r.Register(Request{Addr: addrN(1), Link: 3, ROVR: rovrN(1), HasTID: true, TID: 1, Lifetime: 1, Via: lrLL, Neighbor: llA}, t0)
	if rt, err := r.Route(addrN(1), t0); err != nil || rt.Link != 3 || rt.NextHop != llA || rt.Hops != 2 {
		t.Errorf("through a link-local 6LR: %+v %v", rt, err)
	}
}

func BenchmarkRouteDepth14(b *testing.B) {
	r := NewRegistry(RegistryConfig{})
	lr := chain(b, r, 14)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Route(lr(13), t0); err != nil {
			b.Fatal(err)
		}
	}
}
