package rpl

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// dodag is a pure test world: a Root and Routers on links given by
// pairs, messages delivered at once (multicast to every neighbour,
// link-local unicast to the neighbour holding the address, global
// unicast routed: up through preferred parents, down by the root's
// source route or next hops), time advanced from timer to timer.
type dodag struct {
	t     *testing.T
	now   time.Time
	root  *Root
	rtrs  []*Router
	links map[[2]int]bool // node indices, 0 the root; both directions
	// drop, when set, loses a message from node i (0: root) before it
	// is delivered.
	drop func(from int, rep Reply) bool
	// seen records every message sent, for inspection.
	seen []sent
}

type sent struct {
	from int
	rep  Reply
}

func routerLL(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("fe80::1:0:0:%x", i)) }
func routerGlobal(i int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("2001:db8::1:0:0:%x", i))
}

func newDODAG(t *testing.T, mop uint8, n int, links [][2]int) *dodag {
	t.Helper()
	w := &dodag{t: t, now: t0, links: map[[2]int]bool{}}
	var err error
	w.root, err = NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: mop, Seed: 1}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		r, err := NewRouter(RouterConfig{LinkLocal: routerLL(i), ROVR: []byte{2, 0, 0, 0, 0, 0, 1, byte(i)}, Seed: uint64(i)}, t0)
		if err != nil {
			t.Fatal(err)
		}
		w.rtrs = append(w.rtrs, r)
	}
	for _, l := range links {
		w.link(l[0], l[1], true)
	}
	for i, r := range w.rtrs {
		w.deliver(i+1, r.Start(nil, w.now))
	}
	return w
}

func (w *dodag) link(a, b int, up bool) {
	w.links[[2]int{a, b}] = up
	w.links[[2]int{b, a}] = up
}

func (w *dodag) ll(i int) netip.Addr {
	if i == 0 {
		return rootLL
	}
	return routerLL(i)
}

// deliver hands replies sent by node from to their receivers.
func (w *dodag) deliver(from int, reps []Reply) {
	for _, rep := range reps {
		w.seen = append(w.seen, sent{from, rep})
		if w.drop != nil && w.drop(from, rep) {
			continue
		}
		m, err := Parse(rep.Msg)
		if err != nil {
			w.t.Fatalf("node %d sent an invalid message: %v", from, err)
		}
		if !m.ChecksumValid(rep.Src, rep.Dst) {
			w.t.Fatalf("node %d sent %v with a bad checksum", from, m.Code())
		}
		switch {
		case rep.Dst.IsMulticast():
			for to := 0; to <= len(w.rtrs); to++ {
				if w.links[[2]int{from, to}] {
					w.receive(to, m, rep)
				}
			}
		case rep.Dst.IsLinkLocalUnicast():
			for to := 0; to <= len(w.rtrs); to++ {
				if w.ll(to) == rep.Dst && w.links[[2]int{from, to}] {
					w.receive(to, m, rep)
				}
			}
		default:
			w.route(from, m, rep)
		}
	}
}

// route carries a global packet: to the root along preferred parents
// (every hop must be a live link), from the root to the router holding
// the address if the root has a route to it.
func (w *dodag) route(from int, m Message, rep Reply) {
	if rep.Dst == rootID {
		cur := from
		for hops := 0; cur != 0; hops++ {
			p, ok := w.rtrs[cur-1].Parent()
			if !ok || hops > len(w.rtrs) {
				return
			}
			next := slices.IndexFunc(w.rtrs, func(r *Router) bool { return r.cfg.LinkLocal == p })
			next++ // index in world numbering; 0 when p is the root's
			if p == rootLL {
				next = 0
			}
			if !w.links[[2]int{cur, next}] {
				return
			}
			cur = next
		}
		w.receive(0, m, rep)
		return
	}
	if from != 0 {
		return
	}
	if _, err := w.root.Route(nil, rep.Dst, w.now); err != nil {
		return
	}
	for i, r := range w.rtrs {
		if r.Global() == rep.Dst {
			w.receive(i+1, m, rep)
		}
	}
}

func (w *dodag) receive(to int, m Message, rep Reply) {
	if to == 0 {
		w.deliver(0, w.root.Handle(nil, m, rep.Src, rep.Dst, w.now))
		return
	}
	w.deliver(to, w.rtrs[to-1].Handle(nil, m, rep.Src, rep.Dst, w.now))
}

// run advances time to now+d, timer by timer.
func (w *dodag) run(d time.Duration) {
	end := w.now.Add(d)
	for {
		next := end
		if n := w.root.Trickle().Next(w.now); n >= 0 && w.now.Add(n).Before(next) {
			next = w.now.Add(n)
		}
		for _, r := range w.rtrs {
			if n := r.Next(w.now); n >= 0 && w.now.Add(n).Before(next) {
				next = w.now.Add(n)
			}
		}
		if next.After(end) {
			next = end
		}
		// At least a millisecond per step: timers at the same instant run
		// together.
		if next.Sub(w.now) < time.Millisecond && next.Before(end) {
			next = w.now.Add(time.Millisecond)
		}
		w.now = next
		w.deliver(0, w.root.Tick(nil, w.now))
		for i, r := range w.rtrs {
			w.deliver(i+1, r.Tick(nil, w.now))
		}
		if !w.now.Before(end) {
			return
		}
	}
}

func chain(n int) [][2]int {
	var l [][2]int
	for i := 0; i < n; i++ {
		l = append(l, [2]int{i, i + 1})
	}
	return l
}

// A chain root – r1 – r2 – r3 in storing mode, as RIOT's routers build it
// (testdata/riot/README.md: ranks 256 per hop, DAOs to the parent's
// link-local address aggregating the children, a next hop per target at
// every router).
func TestRouterChainStoring(t *testing.T) {
	w := newDODAG(t, MOPStoring, 3, chain(3))
	w.run(20 * time.Second)
	for i, r := range w.rtrs {
		if !r.Joined() || r.Rank() != uint16(256*(i+2)) || r.MOP() != MOPStoring || r.Global() != routerGlobal(i+1) {
			t.Fatalf("r%d: joined %v rank %d MOP %d global %v", i+1, r.Joined(), r.Rank(), r.MOP(), r.Global())
		}
		if p, _ := r.Parent(); p != w.ll(i) {
			t.Fatalf("r%d's parent %v, want %v", i+1, p, w.ll(i))
		}
		if ok, _ := r.DAOAcked(); !ok {
			t.Errorf("r%d's DAO not acknowledged: %+v", i+1, r.Counters())
		}
	}
	for i := 1; i <= 3; i++ {
		if nh, ok := w.root.NextHop(routerGlobal(i), w.now); !ok || nh != routerLL(1) {
			t.Errorf("root → r%d: %v %v, want via r1", i, nh, ok)
		}
	}
	if nh, ok := w.rtrs[0].NextHop(routerGlobal(3), w.now); !ok || nh != routerLL(2) {
		t.Errorf("r1 → r3 via %v %v", nh, ok)
	}
	if nh, ok := w.rtrs[1].NextHop(routerGlobal(3), w.now); !ok || nh != routerLL(3) {
		t.Errorf("r2 → r3 via %v %v", nh, ok)
	}
	if _, ok := w.rtrs[2].NextHop(routerGlobal(1), w.now); ok {
		t.Error("r3 routes down to its ancestor")
	}
	// Every DAO went link-local to the sender's parent, K set, sequences
	// from 240, no Parent Address, own Target with the ROVR and F.
	for _, s := range w.seen {
		m := Message(s.rep.Msg)
		if m.Code() != CodeDAO || s.from == 0 {
			continue
		}
		if s.rep.Dst != w.ll(s.from-1) || !m.DAO().AckRequested() || m.DAO().Sequence() < 240 {
			t.Fatalf("r%d's DAO to %v, K %v, seq %d", s.from, s.rep.Dst, m.DAO().AckRequested(), m.DAO().Sequence())
		}
		it := m.Options().Iter()
		own := false
		for o, done, _ := it.Next(); !done; o, done, _ = it.Next() {
			switch o.Type() {
			case OptTransit:
				if _, ok := Transit(o).Parent(); ok {
					t.Fatal("storing-mode Transit with a Parent Address")
				}
			case OptTarget:
				tg := Target(o)
				if tg.Prefix().Addr() == routerGlobal(s.from) {
					own = true
					if tg.Flags()&TargetFlagF == 0 || len(tg.ROVR()) != 8 || tg.ROVR()[7] != byte(s.from) {
						t.Fatalf("own target flags %#x ROVR % x", tg.Flags(), tg.ROVR())
					}
				}
			}
		}
		if !own {
			t.Fatalf("r%d's DAO lacks its own target", s.from)
		}
	}
}

// The same chain in non-storing mode: DAOs to the DODAGID with the
// parent's global address in the Transit (RFC 6550 §9.7), the root's
// source route through every router, no routes kept by the routers.
func TestRouterChainNonStoring(t *testing.T) {
	w := newDODAG(t, MOPNonStoring, 4, chain(4))
	w.run(20 * time.Second)
	got, err := w.root.Route(nil, routerGlobal(4), w.now)
	want := []netip.Addr{routerGlobal(1), routerGlobal(2), routerGlobal(3), routerGlobal(4)}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("source route to r4: %v %v, want %v", got, err, want)
	}
	for i, r := range w.rtrs {
		if r.Routes() != 0 {
			t.Errorf("r%d keeps %d routes in non-storing mode", i+1, r.Routes())
		}
		if ok, _ := r.DAOAcked(); !ok {
			t.Errorf("r%d's DAO not acknowledged", i+1)
		}
	}
	for _, s := range w.seen {
		m := Message(s.rep.Msg)
		if m.Code() != CodeDAO || s.from == 0 {
			continue
		}
		if s.rep.Dst != rootID || s.rep.Src != routerGlobal(s.from) {
			t.Fatalf("r%d's DAO %v → %v", s.from, s.rep.Src, s.rep.Dst)
		}
		tr := Transit(m.Options().Find(OptTransit))
		p, ok := tr.Parent()
		wantP := rootID
		if s.from > 1 {
			wantP = routerGlobal(s.from - 1)
		}
		if !ok || p != wantP {
			t.Fatalf("r%d's Transit parent %v %v, want %v", s.from, p, ok, wantP)
		}
	}
}

// A DIO without the DODAG Configuration option does not make a node
// join; it asks the sender with a unicast DIS (RIOT _handle_DIO_opts),
// and joins on the answer.
func TestRouterJoinNeedsConfig(t *testing.T) {
	r, _ := NewRouter(RouterConfig{LinkLocal: routerLL(1)}, t0)
	out := r.Start(nil, t0)
	if len(out) != 1 || out[0].Dst != AllRPLNodes || Message(out[0].Msg).Code() != CodeDIS {
		t.Fatalf("start-up: %+v", out)
	}
	b := must(AppendDIO(nil, &DIOFields{Instance: 1, Version: 240, Rank: 256, Grounded: true, MOP: MOPStoring, DODAGID: rootID}))
	b = must(AppendPrefixInfo(b, &PrefixInfoFields{Address: rootID, PrefixLength: 64, Flags: PrefixFlagA | PrefixFlagR}))
	out = r.Handle(nil, Message(b), rootLL, AllRPLNodes, t0)
	if r.Joined() || len(out) != 1 || out[0].Dst != rootLL || Message(out[0].Msg).Code() != CodeDIS {
		t.Fatalf("conf-less DIO: joined %v, sent %+v", r.Joined(), out)
	}
	root, _ := NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: MOPStoring}, t0)
	ans := root.Handle(nil, Message(out[0].Msg), out[0].Src, out[0].Dst, t0)
	if len(ans) != 1 {
		t.Fatalf("root's answer to the unicast DIS: %+v", ans)
	}
	r.Handle(nil, Message(ans[0].Msg), ans[0].Src, ans[0].Dst, t0)
	if !r.Joined() || r.Rank() != 512 {
		t.Fatalf("after the unicast DIO: joined %v rank %d", r.Joined(), r.Rank())
	}
	// Its own DIO carries the configuration and a PIO with R and its
	// address, rank 512, the DODAG's version and MOP.
	m := Message(r.DIO())
	d := m.DIO()
	pio := PrefixInfo(m.Options().Find(OptPrefixInfo))
	if d.Rank() != 512 || d.MOP() != MOPStoring || d.Version() != 240 || m.Options().Find(OptDODAGConfig) == nil ||
		pio == nil || pio.Address() != routerGlobal(1) || pio.Flags()&PrefixFlagR == 0 {
		t.Fatalf("router's DIO: rank %d MOP %d version %d", d.Rank(), d.MOP(), d.Version())
	}
}

// Losing the preferred parent (its DIOs stop): unicast DIS probes, then
// the other parent takes over, the DAO goes the new way and the root's
// next hop follows (storing); the source route follows (non-storing).
func TestRouterParentLoss(t *testing.T) {
	for _, mop := range []uint8{MOPStoring, MOPNonStoring} {
		t.Run(fmt.Sprint("MOP", mop), func(t *testing.T) {
			w := newDODAG(t, mop, 3, [][2]int{{0, 1}, {0, 2}, {1, 3}, {2, 3}})
			w.run(20 * time.Second)
			r3 := w.rtrs[2]
			p, _ := r3.Parent()
			old, other := 1, 2
			if p == routerLL(2) {
				old, other = 2, 1
			}
			w.link(old, 3, false)
			// (Default Lifetime − 1) × Lifetime Unit = 4 min of silence,
			// then 3 probes 2 s apart.
			w.run(5 * time.Minute)
			if p, _ := r3.Parent(); p != routerLL(other) || r3.Rank() != 768 {
				t.Fatalf("r3's parent %v rank %d, want r%d", p, r3.Rank(), other)
			}
			// Storing (RIOT's timers): the silent parent is probed by
			// unicast DIS and dropped. Non-storing (Contiki-NG's): the
			// unanswered DAOs end in local repair first.
			c := r3.Counters()
			if c.ParentChanges < 1 || (mop == MOPStoring && c.DISSent < 4) || (mop == MOPNonStoring && c.Detaches < 1) {
				t.Errorf("r3 counters %+v", c)
			}
			if mop == MOPStoring {
				if nh, ok := w.root.NextHop(routerGlobal(3), w.now); !ok || nh != routerLL(other) {
					t.Fatalf("root → r3 via %v %v, want r%d", nh, ok, other)
				}
				if _, ok := w.rtrs[other-1].NextHop(routerGlobal(3), w.now); !ok {
					t.Fatal("new parent has no route to r3")
				}
			} else {
				got, err := w.root.Route(nil, routerGlobal(3), w.now)
				if err != nil || len(got) != 2 || got[0] != routerGlobal(other) {
					t.Fatalf("source route %v %v, want via r%d", got, err, other)
				}
			}
		})
	}
}

// TestRouterFloats: a RIOT router that loses its only parent floats a
// DODAG of its own (gnrc_rpl_local_repair → _float_dodag): its address for
// DODAGID, G clear, root rank, RIOT's default configuration; its child
// follows it (_recv_DIO_for_different_dodag: a router without parents
// takes any DODAG) and keeps a route through it; when the link comes back,
// the floating DODAG's DIO resets the root's trickle, the root's grounded
// DIO takes the router back (OF0's which_dodag prefers grounded), and the
// child follows again.
func TestRouterFloats(t *testing.T) {
	w := newDODAG(t, MOPStoring, 2, chain(2))
	w.run(20 * time.Second)
	r1, r2 := w.rtrs[0], w.rtrs[1]
	if r1.Rank() != 512 || r2.Rank() != 768 {
		t.Fatalf("ranks %d %d", r1.Rank(), r2.Rank())
	}
	w.link(0, 1, false)
	w.run(5 * time.Minute) // 4 min of silence, three probes 2 s apart
	if !r1.Floating() || r1.DODAGID() != routerGlobal(1) || r1.Rank() != 256 {
		t.Fatalf("r1: floating %v, DODAG %v, rank %d; want its own DODAG at rank 256", r1.Floating(), r1.DODAGID(), r1.Rank())
	}
	if _, ok := r1.Parent(); ok {
		t.Fatal("a floating root with a parent")
	}
	dio := Message(must(Parse(r1.DIO()))).DIO()
	if dio.Grounded() || dio.DODAGID() != routerGlobal(1) || dio.Rank() != 256 || dio.Version() != seqInit {
		t.Errorf("r1's DIO: grounded %v, DODAG %v, rank %d, version %d", dio.Grounded(), dio.DODAGID(), dio.Rank(), dio.Version())
	}
	if c := r1.Config(); c.DefaultLifetime != 5 || c.LifetimeUnit != 60 || c.MinHopRankIncrease != 256 {
		t.Errorf("r1's configuration %+v, want RIOT's defaults", c)
	}
	if p, _ := r2.Parent(); r2.DODAGID() != routerGlobal(1) || r2.Rank() != 512 || p != routerLL(1) {
		t.Fatalf("r2: DODAG %v rank %d parent %v; want r1's floating DODAG", r2.DODAGID(), r2.Rank(), p)
	}
	w.run(10 * time.Second) // r2's DAO to its new parent
	if nh, ok := r1.NextHop(routerGlobal(2), w.now); !ok || nh != routerLL(2) {
		t.Errorf("floating r1 → r2: %v %v", nh, ok)
	}
	if c1, c2 := r1.Counters(), r2.Counters(); c1.Floats != 1 || c1.Detaches != 1 || c2.DODAGSwitches != 1 || c2.Floats != 0 {
		t.Errorf("counters: r1 %+v, r2 %+v", c1, c2)
	}

	w.link(0, 1, true)
	before := w.root.Counters().DIOFloating
	w.run(10 * time.Minute)
	if r1.Floating() || r1.DODAGID() != rootID || r1.Rank() != 512 || r2.DODAGID() != rootID || r2.Rank() != 768 {
		t.Fatalf("after the link came back: r1 floating %v %v rank %d, r2 %v rank %d", r1.Floating(), r1.DODAGID(), r1.Rank(), r2.DODAGID(), r2.Rank())
	}
	if w.root.Counters().DIOFloating == before {
		t.Error("the root heard no floating DODAG's DIO")
	}
	if _, ok := w.root.NextHop(routerGlobal(2), w.now); !ok {
		t.Error("the root has no route to r2 again")
	}
}

// A better parent appears (storing): a No-Path to the old one, which
// drops its route and relays the No-Path up; the new path wins at the
// root by its newer Path Sequence.
func TestRouterNoPathOnParentChange(t *testing.T) {
	w := newDODAG(t, MOPStoring, 3, chain(3))
	w.run(20 * time.Second)
	w.link(1, 3, true)
	w.rtrs[0].Trickle().Reset(w.now) // r1 advertises soon
	before := len(w.seen)
	w.run(30 * time.Second)
	r3 := w.rtrs[2]
	if p, _ := r3.Parent(); p != routerLL(1) || r3.Rank() != 768 {
		t.Fatalf("r3's parent %v rank %d", p, r3.Rank())
	}
	var noPath bool
	for _, s := range w.seen[before:] {
		m := Message(s.rep.Msg)
		if s.from == 3 && m.Code() == CodeDAO && s.rep.Dst == routerLL(2) {
			tr := Transit(m.Options().Find(OptTransit))
			noPath = tr.PathLifetime() == 0
		}
	}
	if !noPath {
		t.Fatal("no No-Path DAO to the old parent")
	}
	if _, ok := w.rtrs[1].NextHop(routerGlobal(3), w.now); ok {
		t.Fatal("old parent r2 still routes to r3")
	}
	if nh, ok := w.rtrs[0].NextHop(routerGlobal(3), w.now); !ok || nh != routerLL(3) {
		t.Fatalf("r1 → r3 via %v %v", nh, ok)
	}
	if nh, ok := w.root.NextHop(routerGlobal(3), w.now); !ok || nh != routerLL(1) {
		t.Fatalf("root → r3 via %v %v", nh, ok)
	}
}

// Global repair: the root's new version reaches every router (RIOT
// rejoins it as a new DODAG), which send their DAOs again.
func TestRouterVersionBump(t *testing.T) {
	for _, mop := range []uint8{MOPStoring, MOPNonStoring} {
		w := newDODAG(t, mop, 3, chain(3))
		w.run(20 * time.Second)
		daos := w.rtrs[2].Counters().DAOsSent
		w.root.IncrementVersion(w.now)
		w.run(10 * time.Second)
		for i, r := range w.rtrs {
			if r.Version() != w.root.Version() || r.Rank() != uint16(256*(i+2)) {
				t.Fatalf("MOP %d r%d: version %d rank %d, root at %d", mop, i+1, r.Version(), r.Rank(), w.root.Version())
			}
		}
		if w.rtrs[2].Counters().DAOsSent == daos {
			t.Fatalf("MOP %d: no DAO after the new version", mop)
		}
		if _, err := w.root.Route(nil, routerGlobal(3), w.now); err != nil {
			t.Fatalf("MOP %d: route to r3 after the repair: %v", mop, err)
		}
	}
}

// Without DAO-ACKs a router repeats its DAO every 3 s, 4 times, then
// waits the long delay (RIOT _dao_handle_send); with them, it refreshes
// every 60–61 s.
func TestRouterDAORetransmission(t *testing.T) {
	w := newDODAG(t, MOPStoring, 1, chain(1))
	w.drop = func(from int, rep Reply) bool { return Message(rep.Msg).Code() == CodeDAOACK }
	w.run(20 * time.Second)
	if n := w.rtrs[0].Counters().DAOsSent; n != 4 {
		t.Fatalf("%d DAOs in 20 s without DAO-ACK, want 4", n)
	}
	w.run(45 * time.Second)
	if n := w.rtrs[0].Counters().DAOsSent; n != 4 {
		t.Fatalf("%d DAOs within the long delay, want 4", n)
	}
	w.run(30 * time.Second)
	if n := w.rtrs[0].Counters().DAOsSent; n != 8 {
		t.Fatalf("%d DAOs after the long delay, want 8", n)
	}
	// With the ACKs: one DAO, then one a minute.
	w2 := newDODAG(t, MOPStoring, 1, chain(1))
	w2.run(10 * time.Second)
	if n := w2.rtrs[0].Counters().DAOsSent; n != 1 {
		t.Fatalf("%d DAOs with DAO-ACK in 10 s, want 1", n)
	}
	w2.run(3 * time.Minute)
	if n := w2.rtrs[0].Counters().DAOsSent; n < 3 || n > 4 {
		t.Fatalf("%d DAOs in 3 min 10 s, want a refresh a minute", n)
	}
}

// Contiki-NG RPL-Lite's DAO timing, which non-storing routers follow:
// without DAO-ACKs, 5 transmissions 2.5–7.5 s apart, then local repair
// (parents dropped, a DIS) and a new join; with them, one DAO and the
// refresh 60–120 s before the 5-minute lifetime ends.
func TestRouterDAOContikiNG(t *testing.T) {
	w := newDODAG(t, MOPNonStoring, 1, chain(1))
	w.drop = func(from int, rep Reply) bool { return Message(rep.Msg).Code() == CodeDAOACK }
	w.run(8 * time.Second) // joined at once, first DAO within 2–6 s
	if n := w.rtrs[0].Counters().DAOsSent; n != 1 {
		t.Fatalf("%d DAOs in 8 s, want 1", n)
	}
	w.run(32 * time.Second) // 4 more within 4 × 7.5 s, then local repair
	c := w.rtrs[0].Counters()
	if c.Detaches != 1 || c.DAOsSent < 5 {
		t.Fatalf("after 40 s without DAO-ACK: %+v", c)
	}
	w.root.Trickle().Reset(w.now) // the root's next DIO: joins again
	w.run(10 * time.Second)
	if w.rtrs[0].Rank() != 512 || w.rtrs[0].Counters().DAOsSent <= c.DAOsSent {
		t.Fatalf("after the repair: rank %d, %+v", w.rtrs[0].Rank(), w.rtrs[0].Counters())
	}
	w2 := newDODAG(t, MOPNonStoring, 1, chain(1))
	w2.run(3 * time.Minute)
	if n := w2.rtrs[0].Counters().DAOsSent; n != 1 {
		t.Fatalf("%d DAOs in 3 min with DAO-ACKs, want 1", n)
	}
	w2.run(2 * time.Minute)
	if n := w2.rtrs[0].Counters().DAOsSent; n != 2 {
		t.Fatalf("%d DAOs in 5 min with DAO-ACKs, want 2 (a refresh before the lifetime ends)", n)
	}
}

// RFC 9010: a RUL registered with r2 is advertised with its ROVR and the
// registration's TID; the root routes to it through r2; withdrawing it
// removes the route.
func TestRouterRUL(t *testing.T) {
	leaf := netip.MustParseAddr("2001:db8::2:0:0:99")
	rovr := []byte{2, 0, 0, 0, 0, 0, 2, 0x99}
	for _, mop := range []uint8{MOPStoring, MOPNonStoring} {
		w := newDODAG(t, mop, 2, chain(2))
		w.run(15 * time.Second)
		out, err := w.rtrs[1].AddRUL(nil, leaf, rovr, 7, 10*time.Minute, w.now)
		if err != nil {
			t.Fatal(err)
		}
		w.deliver(2, out)
		before := len(w.seen)
		w.run(5 * time.Second)
		var found bool
		for _, s := range w.seen[before:] {
			m := Message(s.rep.Msg)
			if s.from != 2 || m.Code() != CodeDAO {
				continue
			}
			it := m.Options().Iter()
			var last Target
			for o, done, _ := it.Next(); !done; o, done, _ = it.Next() {
				if o.Type() == OptTarget {
					last = Target(o)
				}
				if o.Type() == OptTransit && last != nil && last.Prefix().Addr() == leaf {
					tr := Transit(o)
					if !slices.Equal(last.ROVR(), rovr) || tr.PathSequence() != 7 || tr.PathLifetime() != 10 || !tr.External() {
						t.Fatalf("MOP %d: RUL target ROVR % x seq %d life %d", mop, last.ROVR(), tr.PathSequence(), tr.PathLifetime())
					}
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("MOP %d: no DAO for the RUL", mop)
		}
		got, err := w.root.Route(nil, leaf, w.now)
		if err != nil || got[0] != map[uint8]netip.Addr{MOPStoring: routerLL(1), MOPNonStoring: routerGlobal(1)}[mop] {
			t.Fatalf("MOP %d: route to the leaf %v %v", mop, got, err)
		}
		if mop == MOPNonStoring && (len(got) != 3 || got[1] != routerGlobal(2) || got[2] != leaf) {
			t.Fatalf("source route to the leaf %v", got)
		}
		out, _ = w.rtrs[1].AddRUL(nil, leaf, rovr, 8, 0, w.now)
		w.deliver(2, out)
		w.run(5 * time.Second)
		if _, err := w.root.Route(nil, leaf, w.now); err == nil {
			t.Fatalf("MOP %d: the withdrawn leaf is still routed", mop)
		}
	}
}

// A child's DAO flood cannot grow a router's routes past MaxRoutes; the
// router refuses its own address, link-local and multicast targets.
func TestRouterRoutesBounded(t *testing.T) {
	r, _ := NewRouter(RouterConfig{LinkLocal: routerLL(1), MaxRoutes: 50}, t0)
	root, _ := NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: MOPStoring}, t0)
	r.Handle(nil, Message(root.DIO(t0)), rootLL, AllRPLNodes, t0)
	child := routerLL(9)
	for k := 0; k < 10; k++ {
		b := must(AppendDAO(nil, &DAOFields{Instance: 1, AckRequested: true, Sequence: uint8(k)}))
		for j := 0; j < 20; j++ {
			b = must(AppendTarget(b, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 15: byte(j), 14: byte(k), 13: 1}), 128), 0, nil))
		}
		b = must(AppendTransit(b, &TransitFields{PathLifetime: 5}))
		out := r.Handle(nil, Message(b), child, routerLL(1), t0)
		if len(out) != 1 || Message(out[0].Msg).Code() != CodeDAOACK || !out[0].ToSender {
			t.Fatalf("DAO-ACK: %+v", out)
		}
		if k >= 3 && Message(out[0].Msg).DAOACK().Status() != DAOACKRejected {
			t.Fatalf("DAO %d: status %d once full", k, Message(out[0].Msg).DAOACK().Status())
		}
	}
	if r.Routes() != 50 || r.Counters().DroppedFull != 150 {
		t.Fatalf("%d routes, %d dropped", r.Routes(), r.Counters().DroppedFull)
	}
	for _, bad := range []string{"fe80::5", "ff02::1", "2001:db8::1:0:0:1", "2001:db8::1"} {
		b := must(AppendDAO(nil, &DAOFields{Instance: 1}))
		b = must(AppendTarget(b, netip.MustParsePrefix(bad+"/128"), 0, nil))
		b = must(AppendTransit(b, &TransitFields{PathLifetime: 5}))
		before := r.Counters().DroppedTarget
		r.Handle(nil, Message(b), child, routerLL(1), t0)
		if r.Counters().DroppedTarget != before+1 {
			t.Errorf("target %s taken", bad)
		}
	}
	// Routes lapse with their lifetimes (5 × 60 s).
	r.Tick(nil, t0.Add(5*time.Minute+time.Second))
	if r.Routes() != 0 {
		t.Fatalf("%d routes after their lifetime", r.Routes())
	}
}

// RFC 6550 §11.2.2.2 on a forwarded packet's RPI.
func TestRouterForwardRPI(t *testing.T) {
	r, _ := NewRouter(RouterConfig{LinkLocal: routerLL(1)}, t0)
	root, _ := NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: MOPNonStoring}, t0)
	r.Handle(nil, Message(root.DIO(t0)), rootLL, AllRPLNodes, t0) // rank 512
	for _, c := range []struct {
		name      string
		flags     uint8
		rank      uint16
		down      bool
		wantFlags uint8
		wantErr   bool
	}{
		{"up from below", 0, 768, false, 0, false},
		{"up from above: rank error", 0, 256, false, RPIFlagR, false},
		{"up from above again: drop", RPIFlagR, 256, false, 0, true},
		{"down from above", RPIFlagO, 256, true, RPIFlagO, false},
		{"down from below: rank error", RPIFlagO, 1024, true, RPIFlagO | RPIFlagR, false},
		{"turning down at this router", 0, 768, true, RPIFlagO, false},
	} {
		o := RPLOption(must(AppendRPLOption(nil, &RPIFields{Type: OptionTypeRPI9008, Flags: c.flags, Instance: 1, SenderRank: c.rank})))
		err := r.ForwardRPI(o, c.down)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if err == nil && (o.Flags() != c.wantFlags || o.SenderRank() != 512) {
			t.Errorf("%s: flags %#x rank %d, want %#x 512", c.name, o.Flags(), o.SenderRank(), c.wantFlags)
		}
	}
	if f, ok := r.RPI(OptionTypeRPI6553); !ok || f.SenderRank != 512 || f.Instance != 1 || f.Flags != 0 {
		t.Fatalf("RPI %+v %v", f, ok)
	}
}

// join returns the values of each occurrence, as tshark aggregates them.
func joinVals[T any](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

// routerOracleFrames collects the DIS, DIO and DAO messages the routers
// of Root↔Router chains sent (both modes, a RUL included), each with the
// values tshark must decode; withROVR keeps RFC 9010's ROVR in the
// Targets.
func routerOracleFrames(t *testing.T, withROVR bool) []oracleFrame {
	var frames []oracleFrame
	kinds := map[Code]int{}
	for _, mop := range []uint8{MOPStoring, MOPNonStoring} {
		w := newDODAG(t, mop, 2, chain(2))
		var rovr []byte
		if withROVR {
			rovr = []byte{2, 0, 0, 0, 0, 0, 2, 0x99}
		} else {
			for _, r := range w.rtrs {
				r.cfg.ROVR = nil
			}
		}
		w.run(10 * time.Second)
		out, err := w.rtrs[1].AddRUL(nil, netip.MustParseAddr("2001:db8::2:0:0:99"), rovr, 7, 10*time.Minute, w.now)
		if err != nil {
			t.Fatal(err)
		}
		w.deliver(2, out)
		w.run(5 * time.Second)
		for _, s := range w.seen {
			m := Message(s.rep.Msg)
			if s.from == 0 || kinds[m.Code()] >= 6 {
				continue
			}
			kinds[m.Code()]++
			want := map[string]string{"icmpv6.code": fmt.Sprint(uint8(m.Code()))}
			switch m.Code() {
			case CodeDIS:
				want["icmpv6.rpl.opt.type"] = "1" // the PadN RIOT sends too
			case CodeDIO:
				d := m.DIO()
				c := DODAGConfig(m.Options().Find(OptDODAGConfig))
				p := PrefixInfo(m.Options().Find(OptPrefixInfo))
				want["icmpv6.rpl.dio.instance"] = fmt.Sprint(d.Instance())
				want["icmpv6.rpl.dio.version"] = fmt.Sprint(d.Version())
				want["icmpv6.rpl.dio.rank"] = fmt.Sprint(d.Rank())
				want["icmpv6.rpl.dio.flag.mop"] = fmt.Sprintf("0x%02x", d.MOP())
				want["icmpv6.rpl.dio.dtsn"] = fmt.Sprint(d.DTSN())
				want["icmpv6.rpl.dio.dagid"] = d.DODAGID().String()
				want["icmpv6.rpl.opt.config.min_hop_rank_inc"] = fmt.Sprint(c.MinHopRankIncrease())
				want["icmpv6.rpl.opt.config.def_lifetime"] = fmt.Sprint(c.DefaultLifetime())
				want["icmpv6.rpl.opt.config.lifetime_unit"] = fmt.Sprint(c.LifetimeUnit())
				want["icmpv6.rpl.opt.prefix"] = p.Address().String()
				want["icmpv6.rpl.opt.prefix.length"] = fmt.Sprint(p.PrefixLength())
				want["icmpv6.rpl.opt.prefix.flag"] = fmt.Sprintf("0x%02x", p.Flags())
			case CodeDAO:
				d := m.DAO()
				want["icmpv6.rpl.dao.instance"] = fmt.Sprint(d.Instance())
				want["icmpv6.rpl.dao.sequence"] = fmt.Sprint(d.Sequence())
				want["icmpv6.rpl.dao.flag.k"] = flag(d.AckRequested())
				var targets, lens, seqs, lifes, parents, es []string
				it := m.Options().Iter()
				for o, done, _ := it.Next(); !done; o, done, _ = it.Next() {
					switch o.Type() {
					case OptTarget:
						tg := Target(o)
						targets = append(targets, tg.Prefix().Addr().String())
						lens = append(lens, fmt.Sprint(tg.PrefixLength()))
					case OptTransit:
						tr := Transit(o)
						seqs = append(seqs, fmt.Sprint(tr.PathSequence()))
						lifes = append(lifes, fmt.Sprint(tr.PathLifetime()))
						es = append(es, flag(tr.External()))
						if p, ok := tr.Parent(); ok {
							parents = append(parents, p.String())
						}
					}
				}
				want["icmpv6.rpl.opt.target.prefix"] = joinVals(targets)
				want["icmpv6.rpl.opt.target.prefix_length"] = joinVals(lens)
				want["icmpv6.rpl.opt.transit.pathseq"] = joinVals(seqs)
				want["icmpv6.rpl.opt.transit.pathlifetime"] = joinVals(lifes)
				want["icmpv6.rpl.opt.transit.flag.e"] = joinVals(es)
				want["icmpv6.rpl.opt.transit.parent"] = joinVals(parents)
			default:
				continue
			}
			frames = append(frames, oracleFrame{name: fmt.Sprintf("MOP %d r%d %v", mop, s.from, m.Code()),
				packet: ipv6Packet(s.rep.Src, s.rep.Dst, ip6.ProtoICMPv6, m), want: want})
		}
	}
	for _, c := range []Code{CodeDIS, CodeDIO, CodeDAO} {
		if kinds[c] == 0 {
			t.Fatalf("no %v sent", c)
		}
	}
	return frames
}

// The routers' DIS, DIO and DAO (a RUL's Target, non-storing Transits
// with parents, the E flag included) decoded by tshark: nothing malformed,
// no expert message, checksums right, and rank, MOP, version, PIO,
// targets and transits as encoded. Targets carrying RFC 9010's ROVR are
// left out: Wireshark 4.0 knows only RFC 6550's Target (TestRouterTsharkROVR).
func TestRouterTshark(t *testing.T) {
	oracle.Tshark(t)
	frames := routerOracleFrames(t, false)
	fieldSet := map[string]bool{}
	var packets [][]byte
	for _, f := range frames {
		packets = append(packets, f.packet)
		for k := range f.want {
			fieldSet[k] = true
		}
	}
	fields := []string{"_ws.malformed", "_ws.expert.message", "_ws.expert.severity", "icmpv6.checksum.status"}
	for k := range fieldSet {
		fields = append(fields, k)
	}
	rows := oracle.WritePcap(t, oracle.LinkTypeIPv6, packets...).FieldMaps(t, fields...)
	if len(rows) != len(frames) {
		t.Fatalf("tshark gave %d rows for %d frames", len(rows), len(frames))
	}
	for i, f := range frames {
		got := rows[i]
		if got["_ws.malformed"] != "" || got["_ws.expert.message"] != "" || got["icmpv6.checksum.status"] != "1" {
			t.Errorf("%s: malformed %q, expert %q (%q), checksum %q", f.name, got["_ws.malformed"], got["_ws.expert.message"],
				got["_ws.expert.severity"], got["icmpv6.checksum.status"])
		}
		for k, v := range f.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, encoded %q", f.name, k, got[k], v)
			}
		}
	}
}

// Wireshark 4.0 decodes a Target option by RFC 6550 alone: one carrying an
// RFC 9010 §6.1 ROVR after the prefix is "Invalid Option Length" to it,
// and RIOT (gnrc_rpl_validation.c gnrc_rpl_validation_options: a Target
// longer than GNRC_RPL_OPT_TARGET_LEN, 18) drops the whole DAO. This pins
// that down: every DAO with ROVRs is flagged exactly there, once per
// ROVR-carrying Target, and nothing else is; the rest of each DAO (its
// base, the Transits) still decodes as encoded.
func TestRouterTsharkROVR(t *testing.T) {
	oracle.Tshark(t)
	var frames []oracleFrame
	for _, f := range routerOracleFrames(t, true) {
		if Message(f.packet[ip6.HeaderLen:]).Code() == CodeDAO {
			frames = append(frames, f)
		}
	}
	var packets [][]byte
	for _, f := range frames {
		packets = append(packets, f.packet)
	}
	rows := oracle.WritePcap(t, oracle.LinkTypeIPv6, packets...).FieldMaps(t, "_ws.expert.message", "icmpv6.checksum.status",
		"icmpv6.rpl.dao.sequence", "icmpv6.rpl.dao.instance", "icmpv6.rpl.dao.flag.k")
	for i, f := range frames {
		got := rows[i]
		n := strings.Count(f.want["icmpv6.rpl.opt.target.prefix"], ",") + 1
		want := strings.Repeat("Invalid Option Length,Unknown Data (not interpreted),", n)
		if got["_ws.expert.message"]+"," != want || got["icmpv6.checksum.status"] != "1" {
			t.Errorf("%s: expert %q, want %d Target(s) flagged", f.name, got["_ws.expert.message"], n)
		}
		for _, k := range []string{"icmpv6.rpl.dao.sequence", "icmpv6.rpl.dao.instance", "icmpv6.rpl.dao.flag.k"} {
			if got[k] != f.want[k] {
				t.Errorf("%s: %s = %q, encoded %q", f.name, k, got[k], f.want[k])
			}
		}
	}
}

// What a router's state and its message handling cost: a storing-mode
// router holding 1000 children's routes (bytes per route from the heap),
// handling a child's DAO refresh and a parent's DIO.
func BenchmarkRouter(b *testing.B) {
	newJoined := func(b *testing.B) *Router {
		r, _ := NewRouter(RouterConfig{LinkLocal: routerLL(1), MaxRoutes: 4096}, t0)
		root, _ := NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: MOPStoring}, t0)
		r.Handle(nil, Message(root.DIO(t0)), rootLL, AllRPLNodes, t0)
		if !r.Joined() {
			b.Fatal("not joined")
		}
		return r
	}
	dao := func(k int) Message {
		m := must(AppendDAO(nil, &DAOFields{Instance: 1, AckRequested: true, Sequence: 240}))
		m = must(AppendTarget(m, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 13: 1, 14: byte(k >> 8), 15: byte(k)}), 128), 0,
			[]byte{2, 0, 0, 0, 0, 0, byte(k >> 8), byte(k)}))
		return Message(must(AppendTransit(m, &TransitFields{PathLifetime: 5})))
	}
	b.Run("routes", func(b *testing.B) {
		for range b.N {
			r := newJoined(b)
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			for k := range 1000 {
				r.Handle(nil, dao(k), routerLL(2+k%8), routerLL(1), t0)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			if r.Routes() != 1000 {
				b.Fatalf("%d routes", r.Routes())
			}
			b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/1000, "B/route")
		}
	})
	b.Run("DAO-refresh", func(b *testing.B) {
		r := newJoined(b)
		m := dao(7)
		var out []Reply
		b.ReportAllocs()
		for range b.N {
			out = r.Handle(out[:0], m, routerLL(2), routerLL(1), t0)
		}
	})
	b.Run("DIO", func(b *testing.B) {
		r := newJoined(b)
		root, _ := NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: MOPStoring}, t0)
		m := Message(slices.Clone(root.DIO(t0)))
		var out []Reply
		b.ReportAllocs()
		for range b.N {
			out = r.Handle(out[:0], m, rootLL, AllRPLNodes, t0)
		}
	})
}
