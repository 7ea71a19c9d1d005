package router_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/internal/radiotest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// fakeTUN is an in-memory Device: what Linux would send and receive.
type fakeTUN struct {
	in     chan []byte // from "Linux" to the forwarder
	out    chan []byte // written by the forwarder
	closed chan struct{}
	once   sync.Once
}

func newFakeTUN() *fakeTUN {
	return &fakeTUN{in: make(chan []byte, 16), out: make(chan []byte, 64), closed: make(chan struct{})}
}

func (f *fakeTUN) Name() string { return "fake0" }
func (f *fakeTUN) MTU() int     { return 1280 }
func (f *fakeTUN) ReadPacket(buf []byte) (int, error) {
	select {
	case p := <-f.in:
		return copy(buf, p), nil
	case <-f.closed:
		return 0, os.ErrClosed
	}
}
func (f *fakeTUN) WritePacket(p []byte) error {
	f.out <- bytes.Clone(p)
	return nil
}
func (f *fakeTUN) Close() error { f.once.Do(func() { close(f.closed) }); return nil }

var (
	meshPrefix = netip.MustParsePrefix("2001:db8:1::/64")
	brGlobal   = netip.MustParseAddr("2001:db8:1::1")
	brLL       = netip.MustParseAddr("fe80::ff:fe00:1")
)

// world: the border router (forwarder + 6LBR + a Lowpan on the
// medium) and one node link on the same medium, driven by the test.
type world struct {
	brLink  *link.Lowpan
	brRadio radio.Radio
	tun     *fakeTUN
	fwd     *router.Forwarder
	ndr     *nd.Router
	node    *link.Lowpan
	rx      chan []byte // packets the node received
	medium  *medium.Medium
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, nil)
}

// newWorldWith is newWorld with the forwarder a RPL root when rc is set.
func newWorldWith(t *testing.T, rc *router.RPLConfig) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: 9})
	go m.Run(ctx)
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: meshPrefix, Compress: true})
	mk := func(name string, eui [8]byte) (*link.Lowpan, radio.Radio) {
		n, err := m.Attach(medium.NodeConfig{Name: name, Channel: 20})
		if err != nil {
			t.Fatal(err)
		}
		r := sim.NewNodeRadio(n)
		r.Configure(ctx, radio.Settings{Channel: 20, PANID: 0xabcd, ShortAddr: 0xfffe, ExtAddr: eui})
		l, err := link.NewLowpan(link.LowpanConfig{Name: name, Radio: r, PANID: 0xabcd, ExtAddr: eui, Contexts: ctxs})
		if err != nil {
			t.Fatal(err)
		}
		return l, r
	}
	brLink, brRadio := mk("br", [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01})
	nodeLink, nodeRadio := mk("node", [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x42})
	ndr, err := nd.New(nd.Config{Prefix: meshPrefix, Contexts: []nd.ContextConfig{{ID: 0, Prefix: meshPrefix}}, ContextChangeDelay: -1,
		LinkLocal: brLL, Global: brGlobal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{tun: newFakeTUN(), ndr: ndr, node: nodeLink, rx: make(chan []byte, 16), brLink: brLink, brRadio: brRadio, medium: m}
	w.fwd, err = router.NewForwarder(router.ForwarderConfig{TUN: w.tun, Links: []link.Runnable{brLink}, ND: ndr, Source: brGlobal, RPL: rc})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { w.fwd.Run(ctx); close(done) }()
	go nodeLink.Run(ctx, func(d *link.Delivery) { w.rx <- bytes.Clone(d.Packet) })
	t.Cleanup(func() {
		cancel()
		w.tun.Close()
		<-done
		brRadio.Close()
		nodeRadio.Close()
		m.Close()
	})
	return w
}

func (w *world) nodeRecv(t *testing.T) []byte {
	t.Helper()
	select {
	case p := <-w.rx:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("node received nothing")
		return nil
	}
}

func (w *world) tunRecv(t *testing.T) []byte {
	t.Helper()
	select {
	case p := <-w.tun.out:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("nothing written to the TUN")
		return nil
	}
}

// A node solicits a router, registers its address, and is then reached
// from Linux; an unregistered address gets an ICMPv6 error; the node's
// traffic to the outside goes to Linux.
func TestForwarderRegistersAndForwards(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	nodeLL := netip.MustParseAddr("fe80::0:0:0:42")
	nodeGlobal := netip.MustParseAddr("2001:db8:1::42")
	brMAC := lowpan.ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01})

	// RS → unicast RA.
	rs, err := nd.AppendIPv6(nil, nodeLL, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{}, nd.SourceLinkAddr{Addr: w.node.LinkAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.node.SendWait(ctx, rs, link.BroadcastShort, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	ra := w.nodeRecv(t)
	if ra[40] != 134 || [16]byte(ra[24:40]) != nodeLL.As16() {
		t.Fatalf("reply to RS: type %d to % x", ra[40], ra[24:40])
	}

	// NS with EARO from the global address → NA with status success.
	// RFC 8505 §5.6: the NS comes from the link-local address, the target
	// is the address being registered.
	ns, err := nd.AppendIPv6(nil, nodeLL, brLL, 255, nd.NSFields{Target: nodeGlobal},
		nd.SourceLinkAddr{Addr: w.node.LinkAddr()},
		nd.AROFields{R: true, T: true, TID: 1, Lifetime: 10, ROVR: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.node.SendWait(ctx, ns, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	na := w.nodeRecv(t)
	var m nd.Message
	if err := nd.Parse(na, &m); err != nil || m.Type != nd.TypeNeighborAdvert || m.ARO == nil || m.ARO.Status() != nd.StatusSuccess {
		t.Fatalf("NA: %v %+v", err, m)
	}

	// Linux → the registered node, through the mesh.
	in := packettest.UDP("2001:db8:9::5", nodeGlobal.String(), 1100)
	w.tun.in <- in
	got := w.nodeRecv(t)
	if !bytes.Equal(got, in) {
		t.Fatalf("forwarded packet differs (hop limit %d → %d)", in[7], got[7])
	}

	// Linux → an unregistered mesh address: ICMPv6 address unreachable.
	w.tun.in <- packettest.UDP("2001:db8:9::5", "2001:db8:1::77", 10)
	icmp := w.tunRecv(t)
	if icmp[6] != 58 || icmp[40] != router.ICMPv6DestUnreachable || icmp[41] != router.CodeAddressUnreachable {
		t.Fatalf("error to Linux: % x", icmp[:48])
	}

	// The node → the outside world: to Linux.
	outbound := packettest.UDP(nodeGlobal.String(), "2001:db8:9::5", 50)
	if err := w.node.SendWait(ctx, outbound, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := w.tunRecv(t); !bytes.Equal(got, outbound) {
		t.Fatalf("to Linux: % x", got)
	}
	st := w.fwd.Stats()
	if st.NDHandled != 2 || st.ToMesh != 1 || st.Unreachable != 1 || st.ToTUN != 2 {
		t.Errorf("stats %+v", st)
	}
}

// register has the world's node register addr with the 6LBR (NS with
// EARO from its link-local address, RFC 8505 §5.6) and waits for the NA.
func (w *world) register(t *testing.T, addr netip.Addr, tid uint8) {
	t.Helper()
	ns, err := nd.AppendIPv6(nil, netip.MustParseAddr("fe80::42"), brLL, 255, nd.NSFields{Target: addr},
		nd.SourceLinkAddr{Addr: w.node.LinkAddr()},
		nd.AROFields{R: true, T: true, TID: tid, Lifetime: 10, ROVR: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.node.SendWait(context.Background(), ns, lowpan.ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	var m nd.Message
	if na := w.nodeRecv(t); nd.Parse(na, &m) != nil || m.ARO == nil || m.ARO.Status() != nd.StatusSuccess {
		t.Fatalf("registration of %v: %+v", addr, m)
	}
}

// The hop limit counts routers once each (RFC 8200 §3). Linux routed a
// packet from the LAN into the TUN and decremented it: to Linux the TUN is
// the mesh link, so the forwarder passes it on untouched, even with hop
// limit 1 (before, a LAN packet with hop limit 2 to a node one hop away got
// "time exceeded" from the border router). Between two mesh nodes the 6LBR
// is the router and decrements, and answers hop limit 1 with time exceeded.
func TestForwarderHopLimit(t *testing.T) {
	w := newWorld(t)
	a := netip.MustParseAddr("2001:db8:1::42")
	b := netip.MustParseAddr("2001:db8:1::43")
	w.register(t, a, 1)
	w.register(t, b, 2)
	brMAC := lowpan.ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01})

	for _, hl := range []uint8{1, 2, 64} {
		in := packettest.UDP("2001:db8:9::5", a.String(), 20)
		in[7] = hl
		w.tun.in <- in
		if got := w.nodeRecv(t); !bytes.Equal(got, in) {
			t.Errorf("Linux → node with hop limit %d: arrived with %d (or changed)", hl, got[7])
		}
	}

	p := packettest.UDP(a.String(), b.String(), 20)
	p[7] = 5
	if err := w.node.SendWait(context.Background(), p, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := w.nodeRecv(t); got[7] != 4 || !bytes.Equal(got[8:], p[8:]) {
		t.Errorf("mesh → mesh through the 6LBR: hop limit %d → %d, want 4", p[7], got[7])
	}
	p[7] = 1
	if err := w.node.SendWait(context.Background(), p, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := w.nodeRecv(t); got[6] != 58 || got[40] != router.ICMPv6TimeExceeded || [16]byte(got[24:40]) != a.As16() {
		t.Errorf("mesh → mesh with hop limit 1: got next header %d type %d, want ICMPv6 time exceeded to the source", got[6], got[40])
	}
	// The counters move once the link took the packet, which may be after
	// the node received it (the link's sender runs on its own).
	st := w.fwd.Stats()
	for deadline := time.Now().Add(2 * time.Second); (st.HopLimitExceeded != 1 || st.ToMesh != 3 || st.MeshToMesh != 1) && time.Now().Before(deadline); st = w.fwd.Stats() {
		time.Sleep(time.Millisecond)
	}
	if st.HopLimitExceeded != 1 || st.ToMesh != 3 || st.MeshToMesh != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The links' context table follows the 6LBR's context life cycle: a new
// context is used for decompression only (C=0) for the change delay, then
// for compression too (RFC 6775 §7.2).
func TestForwarderFollowsContextLifeCycle(t *testing.T) {
	ndr, err := nd.New(nd.Config{Prefix: meshPrefix, Contexts: []nd.ContextConfig{{ID: 0, Prefix: meshPrefix}}, ContextChangeDelay: 1500 * time.Millisecond,
		LinkLocal: brLL, Global: brGlobal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctxs := &lowpan.ContextTable{}
	ml, err := link.NewLowpan(link.LowpanConfig{Radio: &radiotest.Instant{RX: make(chan radio.Frame)}, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	tun := newFakeTUN()
	fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, Links: []link.Runnable{ml}, ND: ndr, Source: brGlobal, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fwd.Run(ctx); close(done) }()
	defer func() { cancel(); tun.Close(); <-done }()
	var sawDecompressOnly bool
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, ok := ctxs.Get(0)
		if ok && !c.Compress {
			sawDecompressOnly = true
		}
		if ok && c.Compress {
			if !sawDecompressOnly {
				t.Fatal("context 0 was used for compression before its C=0 phase")
			}
			if c.Prefix != meshPrefix {
				t.Fatalf("context 0 = %v", c.Prefix)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("context 0 never reached compression: %+v %v", c, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slowRadio takes its time over every frame, and says when it began.
type slowRadio struct {
	radiotest.Instant
	per     time.Duration
	started chan struct{}
	mu      sync.Mutex
	count   int
}

func (r *slowRadio) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	select {
	case r.started <- struct{}{}:
	default:
	}
	select {
	case <-time.After(r.per):
	case <-ctx.Done():
		return radio.TxResult{Status: radio.TxAborted}, ctx.Err()
	}
	r.mu.Lock()
	r.count++
	r.mu.Unlock()
	return radio.TxResult{Status: radio.TxAcked}, nil
}

// Shutting down finishes the packet on the air — all 13 fragments of a
// 1200-octet datagram — within the drain time, and cuts it off after.
func TestForwarderDrainsOnShutdown(t *testing.T) {
	for _, c := range []struct {
		drain  time.Duration
		frames int
	}{{3 * time.Second, 13}, {60 * time.Millisecond, -1}} {
		r := &slowRadio{per: 20 * time.Millisecond, started: make(chan struct{}, 1)}
		ml, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, DrainTimeout: c.drain})
		if err != nil {
			t.Fatal(err)
		}
		ndr, err := nd.New(nd.Config{Prefix: meshPrefix, LinkLocal: brLL, Global: brGlobal, ContextChangeDelay: -1}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		node := netip.MustParseAddr("2001:db8:1::42")
		rovr, _ := nd.MakeROVR([]byte{1, 2, 3, 4, 5, 6, 7, 8})
		ndr.Registry().Register(nd.Request{Addr: node, ROVR: rovr, Lifetime: 60, LinkAddr: lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 0x42})}, time.Now())
		tun := newFakeTUN()
		fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, Links: []link.Runnable{ml}, ND: ndr, Source: brGlobal})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { fwd.Run(ctx); close(done) }()
		tun.in <- packettest.UDP("2001:db8:9::5", node.String(), 1200-48)
		<-r.started
		cancel()
		tun.Close()
		<-done
		r.mu.Lock()
		n := r.count
		r.mu.Unlock()
		if c.frames > 0 && (n != c.frames || fwd.Stats().ToMesh != 1) {
			t.Errorf("drain %v: %d frames sent, %d packets, want all %d", c.drain, n, fwd.Stats().ToMesh, c.frames)
		}
		if c.frames < 0 && n >= 13 {
			t.Errorf("drain %v: all %d frames sent; the drain time did not bound the shutdown", c.drain, n)
		}
	}
}

// Linux's own link control on the TUN (RS, MLD reports behind a hop-by-hop
// Router Alert) stays out of the mesh; other link-scope multicast goes in.
func TestForwarderKeepsHostLinkControlOut(t *testing.T) {
	w := newWorld(t)
	ll := netip.MustParseAddr("fe80::3083:1234:5678:9abc")
	rs, err := nd.AppendIPv6(nil, ll, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{})
	if err != nil {
		t.Fatal(err)
	}
	// An MLDv2 report (type 143) as Linux sends it: IPv6, hop-by-hop with
	// Router Alert (RFC 3810 §5), ICMPv6.
	mld := make([]byte, 40+8+8)
	mld[0], mld[6], mld[7] = 0x60, 0, 1
	mld[5] = 16
	copy(mld[8:24], ll.AsSlice())
	copy(mld[24:40], netip.MustParseAddr("ff02::16").AsSlice())
	copy(mld[40:48], []byte{58, 0, 5, 2, 0, 0, 1, 0}) // next ICMPv6, len 0, Router Alert MLD, PadN
	mld[48] = 143
	w.tun.in <- rs
	w.tun.in <- mld
	echo := packettest.UDP("fe80::1", "ff02::1", 8)
	w.tun.in <- echo
	if got := w.nodeRecv(t); !bytes.Equal(got, echo) {
		t.Fatalf("node got % x, want the UDP packet to ff02::1 only", got[:48])
	}
	if st := w.fwd.Stats(); st.HostLinkControl != 2 {
		t.Errorf("HostLinkControl = %d, want 2", st.HostLinkControl)
	}
}

// The radio came back with another EUI-64: the link sends from it, the
// 6LBR's link-local address follows, and AdvertiseNow tells the nodes at
// once with an RA to all nodes carrying the new SLLAO; a node then
// registers with the router at its new address.
func TestForwarderAdvertisesNewLinkAddr(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	newEUI := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x09}
	newLL := netip.MustParseAddr("fe80::ff:fe00:9")
	w.brRadio.Configure(ctx, radio.Settings{Channel: 20, PANID: 0xabcd, ShortAddr: 0xfffe, ExtAddr: newEUI})
	w.brLink.SetExtAddr(newEUI)
	if err := w.ndr.SetLinkLocal(newLL); err != nil {
		t.Fatal(err)
	}
	if err := w.fwd.AdvertiseNow(0); err != nil {
		t.Fatal(err)
	}
	var m nd.Message
	if err := nd.Parse(w.nodeRecv(t), &m); err != nil || m.Type != nd.TypeRouterAdvert || m.Src != brLL || m.RA().RouterLifetime() != 0 {
		t.Fatalf("first after the change, want the former address's withdrawal: %v %+v", err, m)
	}
	if err := nd.Parse(w.nodeRecv(t), &m); err != nil || m.Type != nd.TypeRouterAdvert || m.Src != newLL || m.Dst != netip.MustParseAddr("ff02::1") {
		t.Fatalf("after the change: %v %+v", err, m)
	}
	if a, ok := m.SLLAO.Addr(nd.MediumIEEE802154); !ok || a != lowpan.ExtendedLinkAddr(newEUI) {
		t.Fatalf("SLLAO %v, want the new EUI-64", a)
	}
	ns, err := nd.AppendIPv6(nil, netip.MustParseAddr("fe80::42"), newLL, 255, nd.NSFields{Target: netip.MustParseAddr("2001:db8:1::42")},
		nd.SourceLinkAddr{Addr: w.node.LinkAddr()},
		nd.AROFields{R: true, T: true, TID: 1, Lifetime: 10, ROVR: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.node.SendWait(ctx, ns, lowpan.ExtendedLinkAddr(newEUI), link.SendOptions{}); err != nil {
		t.Fatalf("frame to the new address: %v", err)
	}
	if err := nd.Parse(w.nodeRecv(t), &m); err != nil || m.ARO == nil || m.ARO.Status() != nd.StatusSuccess || m.Src != newLL {
		t.Fatalf("registration at the new address: %v %+v", err, m)
	}
}
