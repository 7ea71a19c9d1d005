package router_test

import (
	"bytes"
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/router"
)

// p2pLink is a point-to-point link (as a BLE connection is): packets from
// its neighbour come in on in; what the forwarder sends is kept.
type p2pLink struct {
	name        string
	local, peer lowpan.LinkAddr
	in          chan []byte
	mu          sync.Mutex
	sent        [][]byte
	sentTo      []lowpan.LinkAddr
}

func newP2P(name string, peer byte) *p2pLink {
	return &p2pLink{name: name, local: lowpan.BLELinkAddr([6]byte{0xc0, 0, 0, 0, 0, 1}), peer: lowpan.BLELinkAddr([6]byte{0xc0, 0, 0, 0, 0, peer}), in: make(chan []byte, 4)}
}

func (l *p2pLink) Name() string              { return l.name }
func (l *p2pLink) MTU() int                  { return 1280 }
func (l *p2pLink) LinkAddr() lowpan.LinkAddr { return l.local }
func (l *p2pLink) Peer() lowpan.LinkAddr     { return l.peer }
func (l *p2pLink) Send(pkt []byte, next lowpan.LinkAddr, _ link.SendOptions) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, bytes.Clone(pkt))
	l.sentTo = append(l.sentTo, next)
	return nil
}
func (l *p2pLink) Run(ctx context.Context, deliver func(*link.Delivery)) {
	for {
		select {
		case <-ctx.Done():
			return
		case p, ok := <-l.in:
			if !ok {
				return // the connection dropped
			}
			deliver(&link.Delivery{Link: l, Packet: p, Src: l.peer, Dst: l.local})
		}
	}
}

func (l *p2pLink) waitSent(t *testing.T, n int) ([]byte, lowpan.LinkAddr) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		if len(l.sent) >= n {
			p, to := l.sent[n-1], l.sentTo[n-1]
			l.mu.Unlock()
			return p, to
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d packets sent, want %d", l.name, len(l.sent), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *p2pLink) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sent)
}

// Links come and go while the forwarder runs (BLE connections): a node
// registers over its link and is reached through it; multicast reaches
// only point-to-point neighbours that registered; when the link drops its
// registrations go, the address becomes unreachable, and the slot serves
// the next link.
func TestForwarderDynamicLinks(t *testing.T) {
	ndr, err := nd.New(nd.Config{Prefix: meshPrefix, LinkLocal: brLL, Global: brGlobal, ContextChangeDelay: -1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tun := newFakeTUN()
	fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, ND: ndr, Source: brGlobal})
	if err != nil {
		t.Fatal(err)
	}
	early := newP2P("early", 9)
	idEarly, err := fwd.AddLink(early) // before Run: started by Run
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fwd.Run(ctx); close(done) }()
	defer func() { cancel(); tun.Close(); <-done }()
	var a *p2pLink
	var ida nd.LinkID
	for deadline := time.Now().Add(5 * time.Second); ; {
		a = newP2P("ble-a", 2)
		if ida, err = fwd.AddLink(a); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ida == idEarly {
		t.Fatalf("two links with id %d", ida)
	}
	b := newP2P("ble-b", 3)
	idb, err := fwd.AddLink(b)
	if err != nil || idb == ida {
		t.Fatalf("second link: id %d (first %d), %v", idb, ida, err)
	}
	// Node A registers 2001:db8:1::a over its link.
	addrA := netip.MustParseAddr("2001:db8:1::a")
	llA := netip.MustParseAddr("fe80::c200:ff:fe00:2")
	ns, err := nd.AppendIPv6(nil, llA, brLL, 255, nd.NSFields{Target: addrA}, nd.SourceLinkAddr{Addr: a.peer},
		nd.AROFields{T: true, TID: 1, Lifetime: 10, ROVR: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	a.in <- ns
	na, to := a.waitSent(t, 1)
	var m nd.Message
	if err := nd.Parse(na, &m); err != nil || m.Type != nd.TypeNeighborAdvert || m.ARO == nil || m.ARO.Status() != nd.StatusSuccess || to != a.peer {
		t.Fatalf("answer to the registration: %v %+v to %v", err, m, to)
	}
	// Unicast from Linux goes down A's link.
	tun.in <- packettest.UDP("2001:db8:9::5", addrA.String(), 20)
	if p, to := a.waitSent(t, 2); p[6] != 17 || to != a.peer {
		t.Fatalf("unicast: proto %d to %v", p[6], to)
	}
	// Link-local multicast: replicated as unicast to A (registered), not
	// to B (silent).
	tun.in <- packettest.UDP("fe80::1", "ff02::1", 20)
	if _, to := a.waitSent(t, 3); to != a.peer {
		t.Fatalf("multicast to A went to %v", to)
	}
	time.Sleep(50 * time.Millisecond)
	if b.count() != 0 {
		t.Fatalf("B, which never registered, got %d packets", b.count())
	}
	// A's connection drops: its registration goes with it.
	close(a.in)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, ok := ndr.Registry().Lookup(addrA, time.Now()); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A's registration outlived its link")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tun.in <- packettest.UDP("2001:db8:9::5", addrA.String(), 20)
	select {
	case p := <-tun.out:
		if p[40] != 1 || p[41] != 3 {
			t.Fatalf("after the drop: ICMPv6 type %d code %d, want address unreachable", p[40], p[41])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ICMPv6 error for the vanished node")
	}
	// The next link takes the freed slot.
	c := newP2P("ble-c", 4)
	if idc, err := fwd.AddLink(c); err != nil || idc != ida {
		t.Fatalf("third link: id %d, want the freed %d (%v)", idc, ida, err)
	}
	if n := len(fwd.Links()); n != 3 {
		t.Fatalf("%d links, want 3", n)
	}
	// The early link runs: closing it removes it.
	close(early.in)
	for deadline := time.Now().Add(5 * time.Second); len(fwd.Links()) != 2; {
		if time.Now().After(deadline) {
			t.Fatal("the link added before Run was never run")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A BLE 6LR (RFC 9159 §3.3.2): a node on a point-to-point link registers
// itself, then relays a child's registration in an EDAR; the 6LBR answers
// with an EDAC on that link and routes the child's traffic to the 6LR.
func TestForwarderBLE6LR(t *testing.T) {
	ndr, err := nd.New(nd.Config{Prefix: meshPrefix, LinkLocal: brLL, Global: brGlobal, ContextChangeDelay: -1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tun := newFakeTUN()
	fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, ND: ndr, Source: brGlobal})
	if err != nil {
		t.Fatal(err)
	}
	lr := newP2P("ble-6lr", 5)
	if _, err := fwd.AddLink(lr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fwd.Run(ctx); close(done) }()
	defer func() { cancel(); tun.Close(); <-done }()
	lrAddr := netip.MustParseAddr("2001:db8:1::c0ff:fe00:5")
	ns, _ := nd.AppendIPv6(nil, netip.MustParseAddr("fe80::c200:ff:fe00:5"), brLL, 255, nd.NSFields{Target: lrAddr}, nd.SourceLinkAddr{Addr: lr.peer},
		nd.AROFields{T: true, R: true, TID: 1, Lifetime: 10, ROVR: []byte{9, 9, 9, 9, 9, 9, 9, 5}})
	lr.in <- ns
	lr.waitSent(t, 1)
	child := netip.MustParseAddr("2001:db8:1::77")
	dar, err := nd.AppendIPv6(nil, lrAddr, brGlobal, nd.MultihopHopLimit,
		nd.DAFields{Extended: true, TID: 3, Lifetime: 10, ROVR: []byte{7, 7, 7, 7, 7, 7, 7, 7}, Registered: child})
	if err != nil {
		t.Fatal(err)
	}
	lr.in <- dar
	dac, to := lr.waitSent(t, 2)
	var m nd.Message
	if err := nd.Parse(dac, &m); err != nil || m.Type != nd.TypeDAC || m.DA().Status() != nd.StatusSuccess || m.DA().Registered() != child || to != lr.peer {
		t.Fatalf("EDAC: %v %+v to %v", err, m, to)
	}
	if reg, ok := ndr.Registry().Lookup(child, time.Now()); !ok || reg.Via != lrAddr {
		t.Fatalf("child registered %v via %v", ok, reg.Via)
	}
	tun.in <- packettest.UDP("2001:db8:9::5", child.String(), 20)
	if p, to := lr.waitSent(t, 3); p[6] != 17 || to != lr.peer || netip.AddrFrom16([16]byte(p[24:40])) != child {
		t.Fatalf("the child's packet went to %v", to)
	}
}
