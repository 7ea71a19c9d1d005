package router

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
)

// registration is an NS(EARO) from the link-local address of from,
// registering target (RFC 8505 §5.6).
func registration(t testing.TB, from lowpan.LinkAddr, target netip.Addr, tid uint8) []byte {
	t.Helper()
	ll, _ := from.LinkLocal()
	rovr := from.Extended()
	ns, err := nd.AppendIPv6(nil, ll, testLL, 255, nd.NSFields{Target: target},
		nd.SourceLinkAddr{Addr: from}, nd.AROFields{T: true, TID: tid, Lifetime: 10, ROVR: rovr[:]})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// A flood of registrations from a new spoofed source each time, 300 of
// them back to back, does not starve a registered neighbour: every one of
// its renewals among them is admitted and answered with success; the flood
// gets no more than the strangers' burst, and the rest is dropped and
// counted as over the budget.
func TestControlNeighborNotStarvedByStrangers(t *testing.T) {
	f, l, _ := newTestForwarder(t, ForwarderConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.runControl(ctx)
	rng := rand.New(rand.NewPCG(1, 2))
	neighbor := mac(0x0b)
	renewals := 0
	for i := range 300 {
		var e [8]byte
		binary.BigEndian.PutUint64(e[:], rng.Uint64())
		e[0] = e[0]&^1 | 2
		target := testPrefix.Addr().As16()
		binary.BigEndian.PutUint64(target[8:], rng.Uint64())
		spoofed := lowpan.ExtendedLinkAddr(e)
		f.fromMesh(0, &link.Delivery{Packet: registration(t, spoofed, netip.AddrFrom16(target), 1), Src: spoofed})
		if i%30 == 0 {
			renewals++
			f.fromMesh(0, &link.Delivery{Packet: registration(t, neighbor, netip.MustParseAddr("2001:db8:1::b"), uint8(renewals+1)), Src: neighbor})
		}
	}
	var toNeighbor, toStrangers int
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range l.take() {
			var m nd.Message
			if nd.Parse(s.pkt, &m) != nil || m.ARO == nil {
				t.Fatalf("sent %x", s.pkt)
			}
			if s.to == neighbor {
				if m.ARO.Status() != nd.StatusSuccess {
					t.Errorf("renewal answered %v", m.ARO.Status())
				}
				toNeighbor++
			} else {
				toStrangers++
			}
		}
		if st := f.Stats(); uint64(toNeighbor+toStrangers) == st.NDFromNeighbors+st.NDFromStrangers {
			break // one NA for every message admitted
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := f.Stats()
	if toNeighbor != renewals || st.NDFromNeighbors != uint64(renewals) {
		t.Errorf("%d of the neighbour's %d renewals answered; stats %+v", toNeighbor, renewals, st)
	}
	// The strangers' burst and what the rate refilled while the test ran.
	if max := DefaultStrangerBurst + DefaultStrangerRate*time.Since(deadline.Add(-5*time.Second)).Seconds() + 1; float64(st.NDFromStrangers) > max || toStrangers > int(max) {
		t.Errorf("%d stranger registrations admitted (%d answered), want at most %.0f", st.NDFromStrangers, toStrangers, max)
	}
	if st.NDDroppedBudget+st.NDFromStrangers != 300 || st.NDDroppedRateLimited != 0 || st.NDDroppedQueueFull != 0 {
		t.Errorf("drops: %+v", st)
	}
}

// One stranger repeating itself is held to its own bucket (5, then 1/s),
// by link-layer address and by IPv6 source each, before the strangers'
// budget is touched.
func TestControlPerSourceBuckets(t *testing.T) {
	f, _, _ := newTestForwarder(t, ForwarderConfig{})
	chatty := mac(0x0d)
	for i := range 20 {
		f.fromMesh(0, &link.Delivery{Packet: registration(t, chatty, netip.MustParseAddr("2001:db8:1::d"), uint8(i)), Src: chatty})
	}
	// The same IPv6 source behind a new link-layer address each time.
	for i := range 20 {
		p := registration(t, chatty, netip.MustParseAddr("2001:db8:1::e"), uint8(i))
		f.fromMesh(0, &link.Delivery{Packet: p, Src: mac(byte(0x40 + i))})
	}
	st := f.Stats()
	// Queue 32: none of the 5 admitted each time is dropped there.
	if st.NDFromStrangers != 5 || st.NDDroppedRateLimited != 35 || st.NDDroppedBudget != 0 {
		t.Errorf("stats %+v: want 5 admitted (the first burst; the second source shares the IPv6 bucket), 35 rate-limited", st)
	}
}

// A stranger that spoofs a registered neighbour's link-layer address but
// not its IPv6 address is a stranger; with the address too it is the
// neighbour (nothing at this layer tells them apart: RFC 8928's proof of
// ownership would).
func TestControlSpoofedNeighborMAC(t *testing.T) {
	f, _, _ := newTestForwarder(t, ForwarderConfig{})
	now := time.Now()
	if !f.isNeighbor(0, mac(0x0b), netip.MustParseAddr("fe80::b"), now) {
		t.Error("the neighbour from its link-local address: not a neighbour")
	}
	if !f.isNeighbor(0, mac(0x0b), netip.MustParseAddr("2001:db8:1::b"), now) {
		t.Error("the neighbour from its registered address: not a neighbour")
	}
	for _, src := range []string{"fe80::77", "2001:db8:1::77", "2001:db8:1::a", "::"} {
		if f.isNeighbor(0, mac(0x0b), netip.MustParseAddr(src), now) {
			t.Errorf("…0b's MAC with source %s: taken for the neighbour", src)
		}
	}
	if f.isNeighbor(0, mac(0x0d), netip.MustParseAddr("fe80::d"), now) {
		t.Error("an unregistered node: taken for a neighbour")
	}
}

// The control queue is bounded per class and serves the neighbours'
// first; a full queue drops and counts.
func TestControlQueue(t *testing.T) {
	q := newControlQueue(2)
	for i, c := range []int{classStranger, classStranger, classNeighbor} {
		if !q.push(c, nd.LinkID(i), mac(byte(i)), []byte{byte(i)}) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(classStranger, 9, mac(9), []byte{9}) {
		t.Error("a third stranger message fit a queue of 2")
	}
	var m ctlMsg
	var order []nd.LinkID
	for q.pop(&m) {
		order = append(order, m.link)
	}
	if len(order) != 3 || order[0] != 2 || order[1] != 0 || order[2] != 1 {
		t.Errorf("popped %v, want [2 0 1]: the neighbour's first, then the strangers' in order", order)
	}

	// Through the forwarder: nobody works the queue, so the third
	// admitted message from a stranger finds it full.
	f, _, _ := newTestForwarder(t, ForwarderConfig{Control: ControlConfig{Queue: 2}})
	for i := range 3 {
		from := mac(byte(0x40 + i))
		f.fromMesh(0, &link.Delivery{Packet: registration(t, from, netip.MustParseAddr("2001:db8:1::d"), 1), Src: from})
	}
	if st := f.Stats(); st.NDFromStrangers != 2 || st.NDDroppedQueueFull != 1 {
		t.Errorf("stats %+v: want 2 queued, 1 dropped (queue full)", st)
	}
}

// Token buckets: a burst, then the rate; a message that one bucket refuses
// costs the others nothing.
func TestAdmissionBuckets(t *testing.T) {
	a := newAdmission(ControlConfig{Queue: 1, NeighborRate: 1, NeighborBurst: 2, SourceRate: 1, SourceBurst: 1,
		StrangerRate: 1, StrangerBurst: 2, Sources: 2})
	now := time.Unix(1000, 0)
	src := netip.MustParseAddr("fe80::1")
	if a.admit(now, true, mac(1), src) != admitted || a.admit(now, true, mac(1), src) != admitted || a.admit(now, true, mac(1), src) != rateLimited {
		t.Error("neighbour: want a burst of 2, then limited")
	}
	if a.admit(now.Add(time.Second), true, mac(1), src) != admitted {
		t.Error("neighbour: no token after a second at 1/s")
	}
	// Strangers: 1 each, 2 together.
	if a.admit(now, false, mac(2), netip.MustParseAddr("fe80::2")) != admitted {
		t.Error("first stranger refused")
	}
	if a.admit(now, false, mac(2), netip.MustParseAddr("fe80::22")) != rateLimited {
		t.Error("same MAC, new address: not limited")
	}
	if a.admit(now, false, mac(3), netip.MustParseAddr("fe80::2")) != rateLimited {
		t.Error("new MAC, same address: not limited")
	}
	if a.admit(now, false, mac(4), netip.MustParseAddr("fe80::4")) != admitted {
		t.Error("second stranger refused (budget 2)")
	}
	if a.admit(now, false, mac(5), netip.MustParseAddr("fe80::5")) != overBudget {
		t.Error("third stranger admitted beyond the budget")
	}
	// The table holds 2 sources: …05 took the oldest slot, and a refusal
	// by the budget charged its own bucket nothing.
	if a.admit(now.Add(time.Second), false, mac(5), netip.MustParseAddr("fe80::5")) != admitted {
		t.Error("the source refused by the budget lost its own token")
	}
}
