package router_test

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
)

var (
	rplNodeLL     = netip.MustParseAddr("fe80::42") // IID of 02:00:…:42 with U/L flipped
	rplNodeGlobal = netip.MustParseAddr("2001:db8:1::42")
	rplFar        = netip.MustParseAddr("2001:db8:1::99") // behind the node
	rplFarther    = netip.MustParseAddr("2001:db8:1::aa") // behind rplFar
	brMAC         = lowpan.ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01})
)

// rplPacket wraps a RPL message in IPv6 with its checksum.
func rplPacket(t *testing.T, src, dst netip.Addr, msg []byte) []byte {
	t.Helper()
	m, err := rpl.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	m.SetChecksum(src, dst)
	p := make([]byte, ip6.HeaderLen, ip6.HeaderLen+len(msg))
	ip6.Header(p).Encode(&ip6.Fields{PayloadLength: uint16(len(msg)), NextHeader: ip6.ProtoICMPv6, HopLimit: 64, Src: src, Dst: dst})
	return append(p, msg...)
}

// nodeRecvRPL waits for a RPL message of code c at the node, skipping
// others (DIOs keep coming).
func (w *world) nodeRecvRPL(t *testing.T, c rpl.Code) (ip6.Header, rpl.Message) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-w.rx:
			h := ip6.Header(p)
			if h.NextHeader() != ip6.ProtoICMPv6 || h.Payload()[0] != rpl.ICMPType {
				continue
			}
			m, err := rpl.Parse(h.Payload())
			if err != nil {
				t.Fatalf("RPL message from the root: %v", err)
			}
			if !m.ChecksumValid(h.Src(), h.Dst()) {
				t.Fatalf("bad checksum on %v", m.Code())
			}
			if m.Code() == c {
				return h, m
			}
		case <-deadline:
			t.Fatalf("no %v from the root", c)
		}
	}
}

// nodeRecvData waits for a non-RPL packet at the node.
func (w *world) nodeRecvData(t *testing.T) []byte {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-w.rx:
			if h := ip6.Header(p); h.NextHeader() == ip6.ProtoICMPv6 && h.Payload()[0] == rpl.ICMPType {
				continue
			}
			return p
		case <-deadline:
			t.Fatal("node received no data packet")
			return nil
		}
	}
}

// nodeSend has the node send p to the border router, acknowledged.
func (w *world) nodeSend(t *testing.T, p []byte) {
	t.Helper()
	if err := w.node.SendWait(context.Background(), p, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitRPL waits up to 5 s for the root's counters to satisfy ok.
func (w *world) waitRPL(t *testing.T, what string, ok func(router.RPLStats) bool) router.RPLStats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := w.fwd.RPL()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type rplDAOTarget struct {
	target, parent netip.Addr
	rovr           []byte
}

func rplDAO(t *testing.T, seq uint8, ts ...rplDAOTarget) []byte {
	t.Helper()
	b, err := rpl.AppendDAO(nil, &rpl.DAOFields{Instance: 0, AckRequested: true, Sequence: seq})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if b, err = rpl.AppendTarget(b, netip.PrefixFrom(x.target, 128), 0, x.rovr); err != nil {
			t.Fatal(err)
		}
		if b, err = rpl.AppendTransit(b, &rpl.TransitFields{PathLifetime: 5, Parent: x.parent}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// TestRPLRootNonStoring: the forwarder as a non-storing root on a medium
// with one neighbour standing for a subtree: its DIO carries what nodes
// need, DAOs build source routes and are acknowledged, packets from Linux
// go down in a tunnel with a source route, a packet from deep in the
// subtree is accepted (its source bound by RPL) and reaches Linux without
// RPL headers, and a DAO target another ROVR registered is refused.
func TestRPLRootNonStoring(t *testing.T) {
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPNonStoring}})
	ctx := context.Background()

	h, dio := w.nodeRecvRPL(t, rpl.CodeDIO)
	if h.Dst() != rpl.AllRPLNodes || h.Src() != brLL || dio.DIO().MOP() != rpl.MOPNonStoring || dio.DIO().DODAGID() != brGlobal ||
		dio.Options().Find(rpl.OptDODAGConfig) == nil || dio.Options().Find(rpl.OptPrefixInfo) == nil {
		t.Fatalf("DIO %v → %v: MOP %d, DODAGID %v", h.Src(), h.Dst(), dio.DIO().MOP(), dio.DIO().DODAGID())
	}

	// The subtree: node (parent: root), far (parent: node), farther (parent: far).
	dao := rplPacket(t, rplNodeGlobal, brGlobal, rplDAO(t, 240,
		rplDAOTarget{target: rplNodeGlobal, parent: brGlobal},
		rplDAOTarget{target: rplFar, parent: rplNodeGlobal},
		rplDAOTarget{target: rplFarther, parent: rplFar}))
	if err := w.node.SendWait(ctx, dao, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	ah, ack := w.nodeRecvRPL(t, rpl.CodeDAOACK)
	if ah.Dst() != rplNodeGlobal || ack.DAOACK().Sequence() != 240 || ack.DAOACK().Status() != rpl.DAOACKAccepted {
		t.Fatalf("DAO-ACK to %v: seq %d status %d", ah.Dst(), ack.DAOACK().Sequence(), ack.DAOACK().Status())
	}
	mop, routes := w.fwd.RPLRoutes()
	if mop != rpl.MOPNonStoring || len(routes) != 3 {
		t.Fatalf("routes: MOP %d, %+v", mop, routes)
	}

	// Linux → farther: a tunnel to farther, source route node, far, farther.
	in := packettest.UDP("2001:db8:9::5", rplFarther.String(), 200)
	w.tun.in <- in
	got := ip6.Header(w.nodeRecvData(t))
	if got.Dst() != rplNodeGlobal || got.Src() != brGlobal {
		t.Fatalf("outer header %v → %v", got.Src(), got.Dst())
	}
	inner, err := rpl.Decapsulate(got)
	if err == nil {
		t.Fatal("the tunnel ends at the first hop: no source route")
	}
	{
		// Not at the tunnel's end yet: walk the SRH as the node would.
		var dsts []netip.Addr
		p := slices.Clone([]byte(got))
		for {
			next, err := rpl.NextSegment(p)
			if err != nil {
				break
			}
			dsts = append(dsts, next)
		}
		if !slices.Equal(dsts, []netip.Addr{rplFar, rplFarther}) {
			t.Fatalf("source route %v", dsts)
		}
		if inner, err = rpl.Decapsulate(p); err != nil {
			t.Fatalf("decapsulate at the end: %v", err)
		}
	}
	if !bytes.Equal(inner, in) {
		t.Fatalf("inner packet differs")
	}

	// Linux → the node itself: one hop, no headers.
	in = packettest.UDP("2001:db8:9::5", rplNodeGlobal.String(), 20)
	w.tun.in <- in
	if got := w.nodeRecvData(t); !bytes.Equal(got, in) {
		t.Fatalf("one-hop packet changed: % x", got[:48])
	}

	// far → Linux, relayed by the node with an RPI: accepted, RPI removed.
	up := packettest.UDP(rplFar.String(), "2001:db8:9::5", 30)
	withRPI, err := rpl.InsertHeaders(nil, up, rpl.Headers{RPI: &rpl.RPIFields{Instance: 0, SenderRank: 512}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.node.SendWait(ctx, withRPI, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := w.tunRecv(t); !bytes.Equal(got, up) {
		t.Fatalf("to Linux: % x", got[:48])
	}
	st, ok := w.fwd.RPL()
	if !ok || st.Targets != 3 || st.RoutedDown < 2 || st.Tunnelled < 1 || st.SourceRouted < 1 || st.RPIStripped != 1 || st.SourcesAccepted < 1 {
		t.Errorf("stats %+v", st)
	}

	// RFC 9010: an address registered under one ROVR cannot be claimed by
	// a DAO carrying another.
	taken := netip.MustParseAddr("2001:db8:1::77")
	rovr, _ := nd.MakeROVR([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	if res := w.ndr.Registry().Register(nd.Request{Addr: taken, ROVR: rovr, Lifetime: 10, Proven: true, LinkAddr: lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 0x77})}, time.Now()); res.Status != nd.StatusSuccess {
		t.Fatalf("register: %+v", res)
	}
	dao = rplPacket(t, rplNodeGlobal, brGlobal, rplDAO(t, 241, rplDAOTarget{target: taken, parent: rplNodeGlobal, rovr: []byte{9, 9, 9, 9, 9, 9, 9, 9}}))
	if err := w.node.SendWait(ctx, dao, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ack := w.nodeRecvRPL(t, rpl.CodeDAOACK); ack.DAOACK().Status() != rpl.StatusDuplicate {
		t.Fatalf("DAO-ACK for a taken address: status %#x", ack.DAOACK().Status())
	}
}

// TestRPLRootStoring: storing mode with the RPI off (RIOT's default
// build): a DAO from a neighbour's link-local address makes it the next
// hop of its subtree, and packets go down unchanged.
func TestRPLRootStoring(t *testing.T) {
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPStoring}})
	ctx := context.Background()
	if _, dio := w.nodeRecvRPL(t, rpl.CodeDIO); dio.DIO().MOP() != rpl.MOPStoring {
		t.Fatalf("MOP %d", dio.DIO().MOP())
	}
	// RIOT: link-local to the parent, no parent address.
	dao := rplPacket(t, rplNodeLL, brLL, rplDAO(t, 240,
		rplDAOTarget{target: rplNodeGlobal}, rplDAOTarget{target: rplFar}))
	if err := w.node.SendWait(ctx, dao, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if h, ack := w.nodeRecvRPL(t, rpl.CodeDAOACK); h.Dst() != rplNodeLL || ack.DAOACK().Status() != 0 {
		t.Fatalf("DAO-ACK to %v status %d", h.Dst(), ack.DAOACK().Status())
	}
	in := packettest.UDP("2001:db8:9::5", rplFar.String(), 100)
	w.tun.in <- in
	if got := w.nodeRecvData(t); !bytes.Equal(got, in) {
		t.Fatalf("storing-mode packet changed: % x", got[:48])
	}
	// far → Linux through the node: bound by RPL, forwarded.
	up := packettest.UDP(rplFar.String(), "2001:db8:9::5", 30)
	if err := w.node.SendWait(ctx, up, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := w.tunRecv(t); !bytes.Equal(got, up) {
		t.Fatalf("to Linux: % x", got[:48])
	}
}

// TestRPLRootInsert: with Insert (Contiki-NG nodes, which cannot end a
// tunnel) a packet from Linux goes down with the source route inserted,
// no IPv6-in-IPv6: walking the route at the nodes ends at the target with
// the original source and payload.
func TestRPLRootInsert(t *testing.T) {
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPNonStoring}, Insert: true})
	ctx := context.Background()
	w.nodeRecvRPL(t, rpl.CodeDIO)
	dao := rplPacket(t, rplNodeGlobal, brGlobal, rplDAO(t, 240,
		rplDAOTarget{target: rplNodeGlobal, parent: brGlobal},
		rplDAOTarget{target: rplFar, parent: rplNodeGlobal}))
	if err := w.node.SendWait(ctx, dao, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	w.nodeRecvRPL(t, rpl.CodeDAOACK)
	in := packettest.UDP("2001:db8:9::5", rplFar.String(), 100)
	w.tun.in <- in
	got := slices.Clone(w.nodeRecvData(t))
	h := ip6.Header(got)
	if h.Dst() != rplNodeGlobal || h.Src().String() != "2001:db8:9::5" || h.NextHeader() != ip6.ProtoRouting {
		t.Fatalf("inserted: %v → %v, next header %d", h.Src(), h.Dst(), h.NextHeader())
	}
	if next, err := rpl.NextSegment(got); err != nil || next != rplFar {
		t.Fatalf("next segment %v %v", next, err)
	}
	if st, _ := w.fwd.RPL(); st.Tunnelled != 0 || st.SourceRouted != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRPLRootDAOFlood: DAOs announcing ever new targets (a hostile node,
// spoofed transits) stop at rpl.max_targets; the routes already there
// stay and still carry packets, and every refusal is counted.
func TestRPLRootDAOFlood(t *testing.T) {
	const max = 40
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPNonStoring, MaxTargets: max}})
	ctx := context.Background()
	w.nodeRecvRPL(t, rpl.CodeDIO)
	dao := rplPacket(t, rplNodeGlobal, brGlobal, rplDAO(t, 240,
		rplDAOTarget{target: rplNodeGlobal, parent: brGlobal}, rplDAOTarget{target: rplFar, parent: rplNodeGlobal}))
	if err := w.node.SendWait(ctx, dao, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	w.nodeRecvRPL(t, rpl.CodeDAOACK)
	// 20 DAOs of 4 new targets each: 80 asked for, 38 places left.
	for i := range 20 {
		var ts []rplDAOTarget
		for j := range 4 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xee, byte(i), byte(j)})
			ts = append(ts, rplDAOTarget{target: a, parent: rplNodeGlobal})
		}
		// As a node does, send again what was not acknowledged: in
		// virtual time the flood outruns the border router's receive
		// queue, which drops (and does not acknowledge) what it cannot
		// take.
		pkt := rplPacket(t, rplNodeGlobal, brGlobal, rplDAO(t, uint8(i), ts...))
		for try := 0; ; try++ {
			err := w.node.SendWait(ctx, pkt, brMAC, link.SendOptions{})
			if err == nil {
				break
			}
			if try == 10 {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	st := w.waitRPL(t, "DAOs handled", func(st router.RPLStats) bool { return st.Root.DAO >= 21 })
	// A DAO sent twice (its acknowledgement lost) is refused twice.
	if st.Targets != max || st.Root.DroppedFull < 80-(max-2) {
		t.Fatalf("after the flood: %d targets, %d refused as full: %+v", st.Targets, st.Root.DroppedFull, st.Root)
	}
	in := packettest.UDP("2001:db8:9::5", rplFar.String(), 20)
	w.tun.in <- in
	if got := ip6.Header(w.nodeRecvData(t)); got.Dst() != rplNodeGlobal {
		t.Fatalf("the route to far after the flood: packet to %v", got.Dst())
	}
}

// TestRPLRootHostileNeighbour: what one neighbour cannot do to others.
//   - A RPL message from a link-local address that is not its own is
//     dropped (a storing-mode DAO would make that address the next hop of
//     the targets; a DIS would get someone else a DIO).
//   - A legacy DAO target (no ROVR) for an address the registry holds
//     through another neighbour, or protected by RFC 8928, is refused
//     with status Duplicate; the node's own registered address is taken.
//   - ND tunnelled to the root is dropped; an EDAR carrying an RPI (RFC
//     9008 §6) reaches the 6LBR.
func TestRPLRootHostileNeighbour(t *testing.T) {
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPStoring}})
	w.nodeRecvRPL(t, rpl.CodeDIO)
	send := func(p []byte) { t.Helper(); w.nodeSend(t, p) }
	waitStats := func(what string, ok func(router.RPLStats) bool) router.RPLStats {
		t.Helper()
		return w.waitRPL(t, what, ok)
	}

	// A borrowed link-local source.
	borrowed := netip.MustParseAddr("fe80::77")
	send(rplPacket(t, borrowed, brLL, rplDAO(t, 240, rplDAOTarget{target: rplFar})))
	waitStats("spoofed DAO", func(st router.RPLStats) bool { return st.Spoofed == 1 && st.Targets == 0 })

	// Registrations: ::77 through another neighbour, ::78 protected and
	// through another, the node's own address through itself.
	other := lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 0x77})
	for _, r := range []struct {
		addr     string
		mac      lowpan.LinkAddr
		proven   bool
		rovrByte byte
	}{{"2001:db8:1::77", other, false, 7}, {"2001:db8:1::78", other, true, 8}, {rplNodeGlobal.String(), w.node.LinkAddr(), false, 0x42}} {
		rovr, _ := nd.MakeROVR([]byte{r.rovrByte, 0, 0, 0, 0, 0, 0, 1})
		if res := w.ndr.Registry().Register(nd.Request{Addr: netip.MustParseAddr(r.addr), ROVR: rovr, Lifetime: 10, Proven: r.proven, LinkAddr: r.mac}, time.Now()); res.Status != nd.StatusSuccess {
			t.Fatalf("register %s: %+v", r.addr, res)
		}
	}
	for _, target := range []string{"2001:db8:1::77", "2001:db8:1::78"} {
		send(rplPacket(t, rplNodeLL, brLL, rplDAO(t, 241, rplDAOTarget{target: netip.MustParseAddr(target)})))
		if _, ack := w.nodeRecvRPL(t, rpl.CodeDAOACK); ack.DAOACK().Status() != rpl.StatusDuplicate {
			t.Errorf("legacy DAO for %s: status %#x, want Duplicate", target, ack.DAOACK().Status())
		}
	}
	send(rplPacket(t, rplNodeLL, brLL, rplDAO(t, 242, rplDAOTarget{target: rplNodeGlobal})))
	if _, ack := w.nodeRecvRPL(t, rpl.CodeDAOACK); ack.DAOACK().Status() != rpl.DAOACKAccepted {
		t.Errorf("legacy DAO for the node's own address: status %#x", ack.DAOACK().Status())
	}
	if st := waitStats("owner refusals", func(st router.RPLStats) bool { return st.Root.DroppedOwner == 2 }); st.Targets != 1 {
		t.Errorf("targets %d, want the node's own only", st.Targets)
	}

	// An RS inside a tunnel to the root: dropped.
	rs, err := nd.AppendIPv6(nil, rplNodeLL, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{})
	if err != nil {
		t.Fatal(err)
	}
	tunnelled, err := rpl.AppendTunnel(nil, rs, rplNodeGlobal, brGlobal, rpl.Headers{})
	if err != nil {
		t.Fatal(err)
	}
	before := w.fwd.Stats().NDHandled
	send(tunnelled)
	waitStats("tunnelled RS", func(st router.RPLStats) bool { return st.TunnelledControl == 1 })
	// An EDAR with an RPI from the node (as a 6LR): the 6LBR answers.
	edar, err := nd.AppendIPv6(nil, rplNodeGlobal, brGlobal, 64, nd.DAFields{Extended: true, TID: 1, Lifetime: 10,
		ROVR: []byte{9, 0, 0, 0, 0, 0, 0, 9}, Registered: netip.MustParseAddr("2001:db8:1::55")})
	if err != nil {
		t.Fatal(err)
	}
	withRPI, err := rpl.InsertHeaders(nil, edar, rpl.Headers{RPI: &rpl.RPIFields{SenderRank: 512}})
	if err != nil {
		t.Fatal(err)
	}
	send(withRPI)
	deadline := time.Now().Add(5 * time.Second)
	for w.fwd.Stats().NDHandled == before {
		if time.Now().After(deadline) {
			t.Fatalf("EDAR with an RPI not handled: %+v", w.fwd.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRPLRootICMPErrorDown: an ICMPv6 error about a packet from a node
// only RPL knows goes down RPL's route to it (here: hop limit exceeded
// for a packet it sent mesh to mesh).
func TestRPLRootICMPErrorDown(t *testing.T) {
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPNonStoring}})
	ctx := context.Background()
	w.nodeRecvRPL(t, rpl.CodeDIO)
	dao := rplPacket(t, rplNodeGlobal, brGlobal, rplDAO(t, 240,
		rplDAOTarget{target: rplNodeGlobal, parent: brGlobal}, rplDAOTarget{target: rplFar, parent: rplNodeGlobal},
		rplDAOTarget{target: rplFarther, parent: rplNodeGlobal}))
	if err := w.node.SendWait(ctx, dao, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	w.nodeRecvRPL(t, rpl.CodeDAOACK)
	p := packettest.UDP(rplFar.String(), rplFarther.String(), 10)
	ip6.Header(p).SetHopLimit(1)
	if err := w.node.SendWait(ctx, p, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(w.nodeRecvData(t))
	if next, err := rpl.NextSegment(got); err != nil || next != rplFar {
		t.Fatalf("error's source route: %v %v", next, err)
	}
	h := ip6.Header(got)
	if h.Src() != brGlobal {
		t.Fatalf("error from %v", h.Src())
	}
	if st := w.fwd.Stats(); st.ICMPHopLimitSent != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRPLRootLoopFlags: the RPI's flags on a packet coming up (RFC 6550
// §11.2.2): Forwarding-Error makes the root forget the route to the
// packet's destination and drop it; Down with Rank-Error already set is a
// loop, dropped; Down alone is counted and delivered.
func TestRPLRootLoopFlags(t *testing.T) {
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPStoring}})
	w.nodeRecvRPL(t, rpl.CodeDIO)
	send := func(p []byte) { t.Helper(); w.nodeSend(t, p) }
	send(rplPacket(t, rplNodeLL, brLL, rplDAO(t, 240, rplDAOTarget{target: rplNodeGlobal}, rplDAOTarget{target: rplFar})))
	w.nodeRecvRPL(t, rpl.CodeDAOACK)
	withFlags := func(dst string, flags uint8) []byte {
		p, err := rpl.InsertHeaders(nil, packettest.UDP(rplNodeGlobal.String(), dst, 10), rpl.Headers{RPI: &rpl.RPIFields{Flags: flags, SenderRank: 512}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	send(withFlags("2001:db8:9::5", rpl.RPIFlagO))
	w.tunRecv(t) // delivered
	send(withFlags("2001:db8:9::5", rpl.RPIFlagO|rpl.RPIFlagR))
	send(withFlags(rplFar.String(), rpl.RPIFlagF))
	st := w.waitRPL(t, "loop flags", func(st router.RPLStats) bool {
		return st.RankErrors == 2 && st.LoopsDropped == 1 && st.ForwardingErrors == 1
	})
	if st.Root.TargetsRemoved != 1 {
		t.Errorf("after the forwarding error: %d routes removed, want the route to far forgotten", st.Root.TargetsRemoved)
	}
	select {
	case p := <-w.tun.out:
		t.Errorf("a dropped packet reached Linux: % x", p[:40])
	case <-time.After(50 * time.Millisecond):
	}
}

// TestRPLRootStoringLeaf: in storing mode with the RPI on, a packet for a
// RPL-unaware leaf (its Transit's E flag) goes down without RPI or tunnel
// — the root does not know the leaf's 6LR to tunnel to, and the leaf
// cannot end a tunnel — while a RPL router's packet gets its tunnel.
func TestRPLRootStoringLeaf(t *testing.T) {
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPStoring}, RPI: true})
	ctx := context.Background()
	w.nodeRecvRPL(t, rpl.CodeDIO)
	b, err := rpl.AppendDAO(nil, &rpl.DAOFields{AckRequested: true, Sequence: 240})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = rpl.AppendTarget(b, netip.PrefixFrom(rplNodeGlobal, 128), 0, nil)
	b, _ = rpl.AppendTransit(b, &rpl.TransitFields{PathLifetime: 5})
	b, _ = rpl.AppendTarget(b, netip.PrefixFrom(rplFar, 128), 0, nil)
	b, _ = rpl.AppendTransit(b, &rpl.TransitFields{External: true, PathLifetime: 5})
	if err := w.node.SendWait(ctx, rplPacket(t, rplNodeLL, brLL, b), brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	w.nodeRecvRPL(t, rpl.CodeDAOACK)
	in := packettest.UDP("2001:db8:9::5", rplFar.String(), 20)
	w.tun.in <- in
	if got := w.nodeRecvData(t); !bytes.Equal(got, in) {
		t.Fatalf("packet for the leaf: % x", got[:48])
	}
	w.tun.in <- packettest.UDP("2001:db8:9::5", rplNodeGlobal.String(), 20)
	if got := ip6.Header(w.nodeRecvData(t)); got.NextHeader() != ip6.ProtoHopByHop || got.Src() != brGlobal {
		t.Fatalf("packet for the router: next header %d from %v, want a tunnel with an RPI", got.NextHeader(), got.Src())
	}
}
