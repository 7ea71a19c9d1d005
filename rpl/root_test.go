package rpl

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

var (
	rootID = netip.MustParseAddr("2001:db8::1")
	rootLL = netip.MustParseAddr("fe80::1")
	t0     = time.Unix(1_700_000_000, 0)
)

func newTestRoot(t testing.TB, cfg RootConfig) *Root {
	t.Helper()
	if !cfg.DODAGID.IsValid() {
		cfg.DODAGID = rootID
	}
	if !cfg.LinkLocal.IsValid() {
		cfg.LinkLocal = rootLL
	}
	r, err := NewRoot(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type daoTarget struct {
	target, parent string // parent "" : none
	life, seq      uint8
}

// testDAO builds a DAO with one Target and Transit per entry.
func testDAO(t testing.TB, instance, seq uint8, k bool, ts ...daoTarget) Message {
	t.Helper()
	b := must(AppendDAO(nil, &DAOFields{Instance: instance, AckRequested: k, Sequence: seq}))
	for _, x := range ts {
		b = must(AppendTarget(b, netip.MustParsePrefix(x.target+"/128"), 0, nil))
		var p netip.Addr
		if x.parent != "" {
			p = netip.MustParseAddr(x.parent)
		}
		b = must(AppendTransit(b, &TransitFields{PathSequence: x.seq, PathLifetime: x.life, Parent: p}))
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRootDIO: the root's DIO parses, carries what RIOT needs (the DODAG
// Configuration option, a PIO holding the DODAGID with R) and the
// configured values.
func TestRootDIO(t *testing.T) {
	for _, mop := range []uint8{0, MOPNonStoring, MOPStoring} {
		r := newTestRoot(t, RootConfig{Instance: 1, MOP: mop})
		m, err := Parse(r.DIO(t0))
		if err != nil {
			t.Fatal(err)
		}
		d := m.DIO()
		wantMOP := mop
		if mop == 0 {
			wantMOP = MOPNonStoring
		}
		if d.Instance() != 1 || d.MOP() != wantMOP || d.Rank() != 256 || !d.Grounded() || d.Version() != 240 || d.DODAGID() != rootID {
			t.Errorf("mop %d: DIO base %x", mop, []byte(m))
		}
		c := DODAGConfig(m.Options().Find(OptDODAGConfig))
		if c == nil || c.DIOIntervalMin() != 3 || c.DIOIntervalDoublings() != 20 || c.DIORedundancy() != 10 ||
			c.MinHopRankIncrease() != 256 || c.MaxRankIncrease() != 7*256 || c.OCP() != 0 ||
			c.DefaultLifetime() != 5 || c.LifetimeUnit() != 60 {
			t.Errorf("configuration option %x", []byte(c))
		}
		p := PrefixInfo(m.Options().Find(OptPrefixInfo))
		if p == nil || p.Address() != rootID || p.PrefixLength() != 64 || p.Flags()&PrefixFlagR == 0 {
			t.Errorf("PIO %x", []byte(p))
		}
	}
	if _, err := NewRoot(RootConfig{}, t0); err == nil {
		t.Error("a root without a DODAGID")
	}
	// The flags: none by default (RIOT sees what its own root sends), T
	// and D when asked.
	for _, tt := range []struct{ t, d bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		r := newTestRoot(t, RootConfig{Compression8138: tt.t, RPI0x23: tt.d})
		m, _ := Parse(r.DIO(t0))
		c := DODAGConfig(m.Options().Find(OptDODAGConfig))
		if c.Compression8138() != tt.t || c.RPI0x23() != tt.d || c.Authentication() {
			t.Errorf("T %v D %v: option %x", tt.t, tt.d, []byte(c))
		}
	}
}

// growTrickle runs the root's first twelve DIOs from t0, so that its
// trickle interval has grown well past Imin (at least 100 ms), and returns
// the time then: what a reset must undo.
func growTrickle(t *testing.T, r *Root) time.Time {
	t.Helper()
	now := t0
	for range 12 {
		now = now.Add(r.Trickle().Next(now))
		r.Tick(nil, now)
	}
	if r.Trickle().Interval() < 100*time.Millisecond {
		t.Fatalf("interval %v after twelve DIOs", r.Trickle().Interval())
	}
	return now
}

// TestRootDIS: a multicast DIS resets trickle (the DIO comes from Tick at
// Imin), a unicast DIS is answered at once by a unicast DIO, a DIS whose
// Solicited Information does not match is not answered.
func TestRootDIS(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1})
	now := growTrickle(t, r)
	dis := must(Parse(AppendDIS(nil)))
	node := netip.MustParseAddr("fe80::52:504c:0:1")
	if out := r.Handle(nil, dis, node, AllRPLNodes, now); len(out) != 0 {
		t.Fatalf("multicast DIS answered directly: %v", out)
	}
	if r.Trickle().Interval() != r.Trickle().Imin() || r.Trickle().Next(now) >= 8*time.Millisecond {
		t.Fatalf("trickle not reset: I %v next %v", r.Trickle().Interval(), r.Trickle().Next(now))
	}
	now = now.Add(r.Trickle().Next(now))
	out := r.Tick(nil, now)
	if len(out) != 1 || out[0].Dst != AllRPLNodes || out[0].Src != rootLL || !Message(out[0].Msg).ChecksumValid(rootLL, AllRPLNodes) {
		t.Fatalf("after the reset: %+v", out)
	}
	out = r.Handle(nil, dis, node, rootLL, now)
	if len(out) != 1 || out[0].Dst != node || !out[0].ToSender || Message(out[0].Msg).Code() != CodeDIO ||
		Message(out[0].Msg).Options().Find(OptDODAGConfig) == nil || !Message(out[0].Msg).ChecksumValid(rootLL, node) {
		t.Fatalf("unicast DIS: %+v", out)
	}
	other := must(AppendSolicitedInfo(AppendDIS(nil), 9, SolicitedFlagI, rootID, 0))
	if out := r.Handle(nil, must(Parse(other)), node, rootLL, now); len(out) != 0 {
		t.Errorf("DIS for instance 9 answered")
	}
	same := must(AppendSolicitedInfo(AppendDIS(nil), 1, SolicitedFlagI|SolicitedFlagD|SolicitedFlagV, rootID, 240))
	if out := r.Handle(nil, must(Parse(same)), node, rootLL, now); len(out) != 1 {
		t.Errorf("matching DIS not answered")
	}
}

// TestRootDetachedNeighbour: a neighbour's DIO with INFINITE_RANK (it
// lost its parents and poisons its sub-DODAG, RFC 6550 §8.2.2.5) resets
// the root's trickle, as RIOT's gnrc_rpl_recv_DIO does, so that the
// neighbour hears a DIO at Imin and joins again; a finite rank's DIO only
// counts towards suppression.
func TestRootDetachedNeighbour(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1})
	now := growTrickle(t, r)
	grown := r.Trickle().Interval()
	node := netip.MustParseAddr("fe80::52:504c:0:1")
	dio := func(rank uint16) Message {
		return must(Parse(must(AppendDIO(nil, &DIOFields{Instance: 1, Version: r.Version(), Rank: rank, Grounded: true,
			MOP: MOPStoring, DODAGID: rootID}))))
	}
	if out := r.Handle(nil, dio(512), node, AllRPLNodes, now); len(out) != 0 || r.Trickle().Interval() != grown {
		t.Fatalf("a child's DIO: %v, interval %v (was %v)", out, r.Trickle().Interval(), grown)
	}
	if out := r.Handle(nil, dio(InfiniteRank), node, AllRPLNodes, now); len(out) != 0 {
		t.Fatalf("a poison answered directly: %v", out)
	}
	if r.Trickle().Interval() != r.Trickle().Imin() || r.Trickle().Next(now) >= r.Trickle().Imin() {
		t.Fatalf("trickle not reset by a detached neighbour's DIO: I %v next %v", r.Trickle().Interval(), r.Trickle().Next(now))
	}
	if c := r.Counters(); c.DIO != 2 || c.DIODetached != 1 {
		t.Errorf("counters: %d DIOs, %d from detached neighbours; want 2 and 1", c.DIO, c.DIODetached)
	}
}

// TestRootFloatingNeighbour: a DIO of our instance from a floating DODAG
// (G clear, the neighbour's own DODAGID: what RIOT's gnrc_rpl_local_repair
// makes of a router that lost its parents) resets the root's trickle, so
// that the neighbour hears our grounded DODAG at Imin and switches back; a
// grounded DODAG of someone else's in our instance is left alone.
func TestRootFloatingNeighbour(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1})
	node := netip.MustParseAddr("fe80::52:504c:0:1")
	dio := func(grounded bool) Message {
		return must(Parse(must(AppendDIO(nil, &DIOFields{Instance: 1, Version: 240, Rank: 256, Grounded: grounded,
			MOP: MOPStoring, DODAGID: netip.MustParseAddr("2001:db8::52:504c:0:1")}))))
	}
	now := growTrickle(t, r)
	grown := r.Trickle().Interval()
	if out := r.Handle(nil, dio(true), node, AllRPLNodes, now); len(out) != 0 || r.Trickle().Interval() != grown {
		t.Fatalf("another grounded DODAG: %v, interval %v (was %v)", out, r.Trickle().Interval(), grown)
	}
	if out := r.Handle(nil, dio(false), node, AllRPLNodes, now); len(out) != 0 {
		t.Fatalf("a floating DODAG's DIO answered directly: %v", out)
	}
	if r.Trickle().Interval() != r.Trickle().Imin() || r.Trickle().Next(now) >= r.Trickle().Imin() {
		t.Fatalf("trickle not reset by a floating neighbour: I %v next %v", r.Trickle().Interval(), r.Trickle().Next(now))
	}
	if c := r.Counters(); c.DIOFloating != 1 || c.Ignored != 1 || c.DIO != 0 {
		t.Errorf("counters: %d floating, %d ignored, %d DIOs; want 1, 1, 0", c.DIOFloating, c.Ignored, c.DIO)
	}
}

// TestRootVersion: global repair increments the lollipop version and
// resets trickle; an older version heard is an inconsistency.
func TestRootVersion(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1, Version: 255})
	now := t0
	for range 8 {
		now = now.Add(r.Trickle().Next(now))
		r.Tick(nil, now)
	}
	r.IncrementVersion(now)
	if r.Version() != 0 || r.Trickle().Interval() != r.Trickle().Imin() {
		t.Fatalf("version %d interval %v", r.Version(), r.Trickle().Interval())
	}
	if v := Message(must(Parse(r.DIO(now)))).DIO().Version(); v != 0 {
		t.Errorf("DIO version %d", v)
	}
}

func TestSeqNewer(t *testing.T) {
	for _, tc := range []struct {
		a, b uint8
		want bool
	}{
		{241, 240, true}, {240, 241, false}, {240, 240, false},
		{0, 255, true}, {255, 0, false}, // §7.2: 256 + 0 − 255 ≤ 16: 0 is newer
		{5, 250, true}, {10, 200, false}, {200, 10, true},
		{1, 127, true}, {127, 1, false}, {3, 100, true}, // circular region, and 97 apart: not comparable
	} {
		if got := seqNewer(tc.a, tc.b); got != tc.want {
			t.Errorf("seqNewer(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// line6 is a line of 6 routers, n1 the root's child, n6 the far end.
func line6(t *testing.T, r *Root, now time.Time, life uint8) {
	parent := rootID.String()
	for i := 1; i <= 6; i++ {
		node := "2001:db8::" + strconv.Itoa(10+i)
		out := r.Handle(nil, testDAO(t, 1, uint8(240+i), true, daoTarget{node, parent, life, 0}), netip.MustParseAddr(node), rootID, now)
		if len(out) != 1 || Message(out[0].Msg).DAOACK().Status() != 0 || Message(out[0].Msg).DAOACK().Sequence() != uint8(240+i) {
			t.Fatalf("DAO of %s: %+v", node, out)
		}
		if !Message(out[0].Msg).ChecksumValid(rootID, netip.MustParseAddr(node)) {
			t.Fatalf("DAO-ACK checksum")
		}
		parent = node
	}
}

// TestRootNonStoring: a line of 6 gives the source route through every
// parent; lifetimes expire; a No-Path removes; the far end goes when a
// middle link goes.
func TestRootNonStoring(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1})
	line6(t, r, t0, 5)
	got, err := r.Route(nil, netip.MustParseAddr("2001:db8::16"), t0)
	want := addrs("2001:db8::11", "2001:db8::12", "2001:db8::13", "2001:db8::14", "2001:db8::15", "2001:db8::16")
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("route %v %v", got, err)
	}
	// The route makes a valid SRH: first hop as destination, the rest in it.
	if h, err := AppendSRH(nil, ip6.ProtoICMPv6, got[0], got[1:]); err != nil || SRH(h).Validate() != nil ||
		!slices.Equal(SRH(h).AppendAddresses(nil, got[0]), got[1:]) {
		t.Errorf("SRH from the route: %x %v", h, err)
	}
	if got, err := r.Route(nil, netip.MustParseAddr("2001:db8::11"), t0); err != nil || len(got) != 1 {
		t.Errorf("one-hop route %v %v", got, err)
	}
	if _, err := r.Route(nil, netip.MustParseAddr("2001:db8::99"), t0); !errors.Is(err, ErrNoRoute) {
		t.Errorf("unknown target: %v", err)
	}
	// Lifetime 5 × 60 s.
	if _, err := r.Route(nil, netip.MustParseAddr("2001:db8::16"), t0.Add(299*time.Second)); err != nil {
		t.Errorf("before the lifetime: %v", err)
	}
	if _, err := r.Route(nil, netip.MustParseAddr("2001:db8::16"), t0.Add(300*time.Second)); !errors.Is(err, ErrNoRoute) {
		t.Errorf("after the lifetime: %v", err)
	}
	if n := r.Expire(t0.Add(300 * time.Second)); n != 6 || r.Len() != 0 {
		t.Errorf("expired %d, left %d", n, r.Len())
	}
	// No-Path of the middle: the far end has no route any more.
	line6(t, r, t0, 5)
	r.Handle(nil, testDAO(t, 1, 1, false, daoTarget{"2001:db8::13", "2001:db8::12", 0, 0}), netip.MustParseAddr("2001:db8::13"), rootID, t0)
	if r.Len() != 5 {
		t.Errorf("after No-Path %d targets", r.Len())
	}
	if _, err := r.Route(nil, netip.MustParseAddr("2001:db8::16"), t0); !errors.Is(err, ErrNoRoute) {
		t.Errorf("route through a removed node: %v", err)
	}
	// A stale path sequence does not move a route; a newer one does.
	r.Handle(nil, testDAO(t, 1, 2, false, daoTarget{"2001:db8::15", "2001:db8::11", 5, 2}), netip.MustParseAddr("2001:db8::15"), rootID, t0)
	if got, _ := r.Route(nil, netip.MustParseAddr("2001:db8::15"), t0); len(got) != 2 || got[0] != netip.MustParseAddr("2001:db8::11") {
		t.Errorf("newer path sequence: %v", got)
	}
	r.Handle(nil, testDAO(t, 1, 3, false, daoTarget{"2001:db8::15", "2001:db8::14", 5, 1}), netip.MustParseAddr("2001:db8::15"), rootID, t0)
	if got, _ := r.Route(nil, netip.MustParseAddr("2001:db8::15"), t0); len(got) != 2 || r.Counters().DroppedStale != 1 {
		t.Errorf("stale path sequence moved the route: %v, %+v", got, r.Counters())
	}
}

// TestRootLoops: a transit that would put a target on its own path is
// refused (DAO-ACK rejection), and Route stops on a loop built behind the
// check's back and on the depth cap.
func TestRootLoops(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1, MaxDepth: 4})
	line6(t, r, t0, 5)
	out := r.Handle(nil, testDAO(t, 1, 9, true, daoTarget{"2001:db8::12", "2001:db8::14", 5, 1}), netip.MustParseAddr("2001:db8::12"), rootID, t0)
	if len(out) != 1 || Message(out[0].Msg).DAOACK().Status() != DAOACKRejected || r.Counters().DroppedLoop != 1 {
		t.Fatalf("loop accepted: %+v %+v", out, r.Counters())
	}
	if _, err := r.Route(nil, netip.MustParseAddr("2001:db8::16"), t0); !errors.Is(err, ErrRouteLoop) {
		t.Errorf("6 hops with a cap of 4: %v", err)
	}
	// A loop the DAO check cannot see (it walks only MaxDepth): made by hand.
	r.hosts[netip.MustParseAddr("2001:db8::12").As16()] = entry{via: netip.MustParseAddr("2001:db8::13").As16(), expires: never}
	if _, err := r.Route(nil, netip.MustParseAddr("2001:db8::13"), t0); !errors.Is(err, ErrRouteLoop) {
		t.Errorf("loop: %v", err)
	}
}

// TestRootBounded: past MaxTargets new targets are refused and counted,
// live ones kept; refreshes still work; once routes lapse there is room.
func TestRootBounded(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1, MaxTargets: 3})
	src := netip.MustParseAddr("fe80::2")
	for i := range 5 {
		r.Handle(nil, testDAO(t, 1, 0, false, daoTarget{fmt.Sprintf("2001:db8::%d", 100+i), "", 1, 0}), src, rootLL, t0)
	}
	if r.Len() != 3 || r.Counters().DroppedFull != 2 {
		t.Fatalf("len %d %+v", r.Len(), r.Counters())
	}
	r.Handle(nil, testDAO(t, 1, 0, false, daoTarget{"2001:db8::100", "", 5, 0}), src, rootLL, t0.Add(30*time.Second))
	if r.Counters().TargetsRefreshed != 1 {
		t.Errorf("refresh when full: %+v", r.Counters())
	}
	later := t0.Add(61 * time.Second) // the other two lapsed (1 × 60 s)
	r.Handle(nil, testDAO(t, 1, 0, false, daoTarget{"2001:db8::200", "", 5, 0}), src, rootLL, later)
	if _, err := r.Route(nil, netip.MustParseAddr("2001:db8::200"), later); err != nil || r.Len() != 2 {
		t.Errorf("no room after expiry: %v len %d", err, r.Len())
	}
}

// TestRootNonStoringNoParent: a one-hop RIOT-style DAO (link-local, no
// Parent Address) makes the sender the root's child; a global one without
// a parent is refused.
func TestRootNonStoringNoParent(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1})
	r.Handle(nil, testDAO(t, 1, 240, false, daoTarget{"2001:db8::5", "", 5, 0}), netip.MustParseAddr("fe80::5"), rootLL, t0)
	if got, err := r.Route(nil, netip.MustParseAddr("2001:db8::5"), t0); err != nil || len(got) != 1 {
		t.Errorf("link-local DAO: %v %v", got, err)
	}
	out := r.Handle(nil, testDAO(t, 1, 240, true, daoTarget{"2001:db8::6", "", 5, 0}), netip.MustParseAddr("2001:db8::6"), rootID, t0)
	if len(out) != 1 || Message(out[0].Msg).DAOACK().Status() != DAOACKRejected || r.Counters().DroppedNoParent != 1 {
		t.Errorf("global DAO without parent: %+v", r.Counters())
	}
}

// TestRootRIOTCaptures feeds every RPL message RIOT's routers sent to
// RIOT's root in testdata/riot (README: r0 root, r1 its child, r2 behind
// r1 out of r0's range) to a storing-mode Root in r0's place, and checks:
// the routes match the chain (both r1 and r2 via r1's link-local
// address), and every DAO-ACK we answer is octet for octet the one RIOT's
// root sent for the same DAO (checksum included).
func TestRootRIOTCaptures(t *testing.T) {
	oracle.Tshark(t)
	r0ll := netip.MustParseAddr("fe80::52:504c:0:0")
	r1ll := netip.MustParseAddr("fe80::52:504c:0:1")
	r1 := netip.MustParseAddr("2001:db8::52:504c:0:1")
	r2 := netip.MustParseAddr("2001:db8::52:504c:0:2")
	names := []string{"dao_refresh.pcap"} // about 1.3 s of tshark each
	if os.Getenv("LOWPANBR_RPL_ALL_RIOT") == "1" {
		names = append(names, "chain_noext.pcap", "chain_extopt.pcap", "chain_shellinit.pcap")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c := oracle.Capture{Path: "testdata/riot/" + name, TwoPass: true}
			sources := c.DataSources(t)
			times := c.Fields(t, "frame.time_epoch")
			var root *Root
			var last time.Time
			acks := map[uint8][]byte{} // RIOT's DAO-ACKs by sequence
			var ours []Reply
			var oursSeq []uint8
			for i := range times {
				pkt := sources[i+1]["Reassembled 6LoWPAN"]
				if pkt == nil {
					pkt = sources[i+1]["Decompressed 6LoWPAN IPHC"]
				}
				if len(pkt) < ip6.HeaderLen || pkt[6] != ip6.ProtoICMPv6 || pkt[ip6.HeaderLen] != ICMPType {
					continue
				}
				sec, err := strconv.ParseFloat(times[i][0], 64)
				if err != nil {
					t.Fatal(err)
				}
				now := time.Unix(0, int64(sec*1e9))
				if root == nil {
					if root, err = NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: r0ll, MOP: MOPStoring}, now); err != nil {
						t.Fatal(err)
					}
				}
				h := ip6.Header(pkt)
				m, err := Parse(pkt[ip6.HeaderLen:])
				if err != nil {
					t.Fatalf("frame %d: %v", i+1, err)
				}
				if h.Src() == r0ll && m.Code() == CodeDAOACK {
					acks[m.DAOACK().Sequence()] = m
					continue
				}
				if h.Dst() != r0ll && h.Dst() != AllRPLNodes || h.Src() == r0ll {
					continue
				}
				out := root.Handle(nil, m, h.Src(), h.Dst(), now)
				if m.Code() == CodeDIS && h.Dst() == r0ll {
					// RIOT asks a DIO sender without the configuration
					// option, or a silent parent (README claim 4).
					if len(out) != 1 || !out[0].ToSender || Message(out[0].Msg).Options().Find(OptDODAGConfig) == nil {
						t.Errorf("frame %d: unicast DIS answered %+v", i+1, out)
					}
				}
				if m.Code() == CodeDAO {
					last = now
					if len(out) != 1 || out[0].Dst != h.Src() {
						t.Fatalf("frame %d: DAO answered %+v", i+1, out)
					}
					ours = append(ours, out[0])
					oursSeq = append(oursSeq, m.DAO().Sequence())
				}
			}
			if root == nil || len(ours) == 0 {
				t.Fatal("no DAO to the root")
			}
			compared := 0
			for i, rep := range ours {
				if want, ok := acks[oursSeq[i]]; ok {
					compared++
					if !bytes.Equal(rep.Msg, want) {
						t.Errorf("DAO-ACK %d: ours %x, RIOT's %x", oursSeq[i], rep.Msg, want)
					}
				}
			}
			if compared == 0 {
				t.Error("no RIOT DAO-ACK to compare with")
			}
			for _, a := range []netip.Addr{r1, r2} {
				if nh, ok := root.NextHop(a, last); !ok || nh != r1ll {
					t.Errorf("%s: next hop %v %v, want %s", a, nh, ok, r1ll)
				}
				if got, err := root.Route(nil, a, last); err != nil || !slices.Equal(got, []netip.Addr{r1ll}) {
					t.Errorf("%s: route %v %v", a, got, err)
				}
			}
			// Path Lifetime 5 × the root's Lifetime Unit 60 s.
			if _, ok := root.NextHop(r2, last.Add(301*time.Second)); ok {
				t.Error("route outlived its lifetime")
			}
			t.Logf("%d DAOs, %d DAO-ACKs compared with RIOT's, %+v", len(ours), compared, root.Counters())
		})
	}
}

// TestRootPrefixTargets: a Target shorter than /128 (an external prefix
// behind a node, §6.7.7) routes every address inside it, the longest
// match winning; two Targets before one Transit share it (§6.7.8); the
// number of prefix targets is capped. Prefixes outside the mesh's need
// RootConfig.External: a DAO for the LAN's prefix, or a covering one, is
// refused.
func TestRootPrefixTargets(t *testing.T) {
	r0 := newTestRoot(t, RootConfig{Instance: 1})
	line6(t, r0, t0, 5)
	for _, p := range []string{"2001:db8:1::/48", "2001:db8:9::/64", "2000::/3", "2001:db8::/32", "::/0"} {
		b := must(AppendDAO(nil, &DAOFields{Instance: 1, Sequence: 7}))
		b = must(AppendTarget(b, netip.MustParsePrefix(p), 0, nil))
		b = must(AppendTransit(b, &TransitFields{External: true, PathLifetime: 5, Parent: netip.MustParseAddr("2001:db8::13")}))
		r0.Handle(nil, must(Parse(b)), netip.MustParseAddr("2001:db8::13"), rootID, t0)
	}
	if r0.Len() != 6 || r0.Counters().DroppedTarget != 5 {
		t.Errorf("prefixes outside the mesh's taken without External: len %d %+v", r0.Len(), r0.Counters())
	}
	r := newTestRoot(t, RootConfig{Instance: 1, MaxPrefixes: 2, External: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/48")}})
	line6(t, r, t0, 5)
	b := must(AppendDAO(nil, &DAOFields{Instance: 1, Sequence: 7}))
	b = must(AppendTarget(b, netip.MustParsePrefix("2001:db8:1::/48"), 0, nil))
	b = must(AppendTarget(b, netip.MustParsePrefix("2001:db8:1:2::/64"), 0, nil))
	b = must(AppendTransit(b, &TransitFields{External: true, PathLifetime: 5, Parent: netip.MustParseAddr("2001:db8::13")}))
	r.Handle(nil, must(Parse(b)), netip.MustParseAddr("2001:db8::13"), rootID, t0)
	b = must(AppendDAO(nil, &DAOFields{Instance: 1, Sequence: 8}))
	b = must(AppendTarget(b, netip.MustParsePrefix("2001:db8:1:3::/64"), 0, nil))
	b = must(AppendTransit(b, &TransitFields{External: true, PathLifetime: 5, Parent: netip.MustParseAddr("2001:db8::11")}))
	r.Handle(nil, must(Parse(b)), netip.MustParseAddr("2001:db8::11"), rootID, t0)
	if r.Len() != 8 || r.Counters().DroppedFull != 1 {
		t.Fatalf("len %d %+v", r.Len(), r.Counters())
	}
	got, err := r.Route(nil, netip.MustParseAddr("2001:db8:1:2::5"), t0)
	want := addrs("2001:db8::11", "2001:db8::12", "2001:db8::13", "2001:db8:1:2::5")
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("route into the prefix: %v %v", got, err)
	}
}

// TestRootRequestDAOs: a DTSN increment shows in the next DIO and
// restarts trickle (§9.6).
func TestRootRequestDAOs(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1})
	before := Message(must(Parse(r.DIO(t0)))).DIO().DTSN()
	now := t0
	for range 8 {
		now = now.Add(r.Trickle().Next(now))
		r.Tick(nil, now)
	}
	r.RequestDAOs(now)
	if after := Message(must(Parse(r.DIO(now)))).DIO().DTSN(); after != before+1 || r.Trickle().Interval() != r.Trickle().Imin() {
		t.Errorf("DTSN %d → %d, interval %v", before, after, r.Trickle().Interval())
	}
}

// TestRootRefusedTargets: link-local, multicast and the root's own
// addresses are never recorded; the DAO-ACK to a multihop DAO is routed
// by its destination, not sent to the frame's link source.
func TestRootRefusedTargets(t *testing.T) {
	r := newTestRoot(t, RootConfig{Instance: 1})
	src := netip.MustParseAddr("2001:db8::20")
	for _, target := range []string{"fe80::20", "ff02::1a", rootID.String(), rootLL.String()} {
		out := r.Handle(nil, testDAO(t, 1, 1, true, daoTarget{target, rootID.String(), 5, 0}), src, rootID, t0)
		if len(out) != 1 || Message(out[0].Msg).DAOACK().Status() != DAOACKRejected || out[0].ToSender || out[0].Dst != src {
			t.Errorf("%s: %+v", target, out)
		}
	}
	if r.Len() != 0 || r.Counters().DroppedTarget != 4 {
		t.Errorf("len %d %+v", r.Len(), r.Counters())
	}
}

// TestRootTshark has tshark decode what the root sends (multicast DIO
// from Tick, unicast DIO answering a DIS, DAO-ACK), checksums as the root
// set them: nothing malformed, no expert message, the values configured.
func TestRootTshark(t *testing.T) {
	oracle.Tshark(t)
	r := newTestRoot(t, RootConfig{Instance: 1, MOP: MOPStoring, OCP: 1, MinHopRankIncrease: 128,
		Prefix: netip.MustParsePrefix("2001:db8::/64")})
	now := t0.Add(r.Trickle().Next(t0))
	out := r.Tick(nil, now)
	node := netip.MustParseAddr("fe80::52:504c:0:1")
	out = r.Handle(out, must(Parse(AppendDIS(nil))), node, rootLL, now)
	out = r.Handle(out, testDAO(t, 1, 241, true, daoTarget{"2001:db8::52:504c:0:1", "", 5, 0}), node, rootLL, now)
	if len(out) != 3 {
		t.Fatalf("%d replies", len(out))
	}
	var packets [][]byte
	for _, rep := range out {
		b := make([]byte, ip6.HeaderLen, ip6.HeaderLen+len(rep.Msg))
		ip6.Header(b).Encode(&ip6.Fields{PayloadLength: uint16(len(rep.Msg)), NextHeader: ip6.ProtoICMPv6,
			HopLimit: 64, Src: rep.Src, Dst: rep.Dst})
		packets = append(packets, append(b, rep.Msg...))
	}
	fields := []string{"_ws.malformed", "_ws.expert.message", "icmpv6.checksum.status", "icmpv6.code",
		"icmpv6.rpl.dio.rank", "icmpv6.rpl.dio.flag.mop", "icmpv6.rpl.dio.version", "icmpv6.rpl.dio.dagid",
		"icmpv6.rpl.opt.config.min_hop_rank_inc", "icmpv6.rpl.opt.config.interval_min", "icmpv6.rpl.opt.config.ocp",
		"icmpv6.rpl.opt.prefix", "icmpv6.rpl.daoack.sequence", "icmpv6.rpl.daoack.status"}
	rows := oracle.WritePcap(t, oracle.LinkTypeIPv6, packets...).FieldMaps(t, fields...)
	if len(rows) != len(packets) {
		t.Fatalf("tshark gave %d rows for %d packets", len(rows), len(packets))
	}
	dio := map[string]string{"icmpv6.code": "1", "icmpv6.rpl.dio.rank": "128", "icmpv6.rpl.dio.flag.mop": "0x02",
		"icmpv6.rpl.dio.version": "240", "icmpv6.rpl.dio.dagid": rootID.String(),
		"icmpv6.rpl.opt.config.min_hop_rank_inc": "128", "icmpv6.rpl.opt.config.interval_min": "3",
		"icmpv6.rpl.opt.config.ocp": "1", "icmpv6.rpl.opt.prefix": rootID.String()}
	ack := map[string]string{"icmpv6.code": "3", "icmpv6.rpl.daoack.sequence": "241", "icmpv6.rpl.daoack.status": "0"}
	for i, want := range []map[string]string{dio, dio, ack} {
		got := rows[i]
		if got["_ws.malformed"] != "" || got["_ws.expert.message"] != "" || got["icmpv6.checksum.status"] != "1" {
			t.Errorf("reply %d: malformed %q expert %q checksum %q", i, got["_ws.malformed"], got["_ws.expert.message"], got["icmpv6.checksum.status"])
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("reply %d: %s = %q, want %q", i, k, got[k], v)
			}
		}
	}
}

// TestRootCheckTarget: RFC 9010 ownership — a target CheckTarget refuses
// is not recorded and the DAO-ACK carries its status (U and A set, the
// EARO status); the ROVR of an updated Target option reaches the check.
// Lookup, Routes and SetLinkLocal report and change what they should.
func TestRootCheckTarget(t *testing.T) {
	taken := netip.MustParseAddr("2001:db8::66")
	owner := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	var seen [][]byte
	r := newTestRoot(t, RootConfig{Instance: 1, CheckTarget: func(p netip.Prefix, rovr []byte) uint8 {
		seen = append(seen, rovr)
		if p.Addr() == taken && !bytes.Equal(rovr, owner) {
			return StatusDuplicate
		}
		return 0
	}})
	src := netip.MustParseAddr("2001:db8::11")
	dao := func(rovr []byte) Message {
		b := must(AppendDAO(nil, &DAOFields{Instance: 1, AckRequested: true, Sequence: 7}))
		b = must(AppendTarget(b, netip.PrefixFrom(taken, 128), 0, rovr))
		b = must(AppendTransit(b, &TransitFields{PathLifetime: 5, Parent: rootID}))
		m, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	out := r.Handle(nil, dao([]byte{9, 9, 9, 9, 9, 9, 9, 9}), src, rootID, t0)
	if len(out) != 1 || Message(out[0].Msg).DAOACK().Status() != StatusDuplicate || r.Len() != 0 || r.Counters().DroppedOwner != 1 {
		t.Fatalf("foreign ROVR: replies %d, status %#x, len %d, %+v", len(out), Message(out[0].Msg).DAOACK().Status(), r.Len(), r.Counters())
	}
	out = r.Handle(nil, dao(owner), src, rootID, t0)
	if len(out) != 1 || Message(out[0].Msg).DAOACK().Status() != DAOACKAccepted || r.Len() != 1 {
		t.Fatalf("owner: replies %d, len %d", len(out), r.Len())
	}
	if len(seen) != 2 || !bytes.Equal(seen[1], owner) {
		t.Errorf("ROVRs seen %x", seen)
	}
	if via, ext, ok := r.Lookup(taken, t0); !ok || via != rootID || ext {
		t.Errorf("lookup %v %v %v", via, ext, ok)
	}
	rs := r.Routes(nil, t0)
	if len(rs) != 1 || rs[0].Target != netip.PrefixFrom(taken, 128) || !rs[0].Expires.Equal(t0.Add(300*time.Second)) {
		t.Errorf("routes %+v", rs)
	}
	ll := netip.MustParseAddr("fe80::2")
	r.SetLinkLocal(ll)
	if out := r.Tick(nil, t0.Add(time.Hour)); len(out) != 1 || out[0].Src != ll {
		t.Errorf("DIO after SetLinkLocal: %+v", out)
	}
}
