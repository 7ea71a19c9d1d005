package sim

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// rplBR is a test-only border router for RPL meshes: the 6LBR (nd.Router:
// RS, NS(EARO) of depth-1 nodes), a DODAG root (rpl.Root) and a minimal
// forwarder between the mesh and a memTUN, routing down by RPL (storing:
// next hop; non-storing: a tunnel with a source route, RFC 9008 §8.2.2,
// §8.2.4) or by registration (depth-1 nodes), and up to the TUN with the
// RPL headers stripped (rpl.StripForExit). It stands in for the border
// router's forwarder until that is a RPL root itself; it checks the
// simulated routers, not the border router.
type rplBR struct {
	t      *testing.T
	m      *medium.Medium
	tun    *memTUN
	ml     *link.Lowpan
	nd     *nd.Router
	mesh   *Mesh
	global netip.Addr
	ll     netip.Addr

	mu   sync.Mutex
	root *rpl.Root
	// rootCPU is the time spent in the root's Handle, Tick and Expire
	// (under mu): the DODAG root's own work, apart from the simulated
	// nodes sharing the process.
	rootCPU time.Duration
}

var brGlobal = netip.MustParseAddr("2001:db8:1::1")

func startRPLBR(t *testing.T, cfg MeshConfig, mop uint8) *rplBR {
	return startRPLBRAt(t, cfg, mop, 0)
}

// startRPLBRAt is startRPLBR on a medium at timeScale (0: as fast as
// possible, 1: real time, as the daemon runs it).
func startRPLBRAt(t *testing.T, cfg MeshConfig, mop uint8, timeScale float64) *rplBR {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: cfg.Seed + 1, TimeScale: timeScale})
	mediumDone := make(chan struct{})
	go func() { m.Run(ctx); close(mediumDone) }()
	brEUI := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}
	mn, err := m.Attach(medium.NodeConfig{Name: "br", Channel: 20, ExtAddr: brEUI})
	if err != nil {
		t.Fatal(err)
	}
	br := NewNodeRadio(mn)
	br.Configure(ctx, radio.Settings{Channel: 20, PANID: 0xabcd, ShortAddr: 0xfffe, ExtAddr: brEUI})
	b := &rplBR{t: t, m: m, global: brGlobal, ll: netip.MustParseAddr("fe80::1"),
		tun: &memTUN{in: make(chan []byte, 16), out: make(chan []byte, 256), closed: make(chan struct{})}}
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: prefix, Compress: true})
	if b.ml, err = link.NewLowpan(link.LowpanConfig{Name: "wpan0", Radio: br, PANID: 0xabcd, ExtAddr: brEUI, Contexts: ctxs}); err != nil {
		t.Fatal(err)
	}
	if b.nd, err = nd.New(nd.Config{Prefix: prefix, Contexts: []nd.ContextConfig{{ID: 0, Prefix: prefix}}, ContextChangeDelay: -1,
		LinkLocal: b.ll, Global: b.global}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if b.root, err = rpl.NewRoot(rpl.RootConfig{Instance: 1, DODAGID: b.global, LinkLocal: b.ll, MOP: mop, Seed: cfg.Seed}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); b.ml.Run(ctx, b.deliver) }()
	go func() { defer wg.Done(); b.runRoot(ctx) }()
	go func() { defer wg.Done(); b.fromTUN(ctx) }()
	cfg.Channel, cfg.PANID = 20, 0xabcd
	if cfg.Routing == "" {
		cfg.Routing = RoutingRPL
	}
	b.mesh, err = StartMesh(ctx, m, mn, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		b.mesh.Wait()
		br.Close()
		m.Close()
		<-mediumDone
	})
	return b
}

func (b *rplBR) runRoot(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	var out []rpl.Reply
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		b.mu.Lock()
		out = b.root.Tick(out[:0], now)
		b.root.Expire(now)
		d := b.root.Trickle().Next(now)
		b.rootCPU += time.Since(now)
		b.mu.Unlock()
		b.sendRPL(out, lowpan.LinkAddr{})
		t.Reset(min(max(d, time.Millisecond), time.Second))
	}
}

func (b *rplBR) fromTUN(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-b.tun.in:
			b.down(p, false)
		}
	}
}

// sendRPL sends the root's messages: multicast as broadcast, to the
// sender or a link-local address directly, a global destination (the
// DAO-ACK of a non-storing DAO) down by the root's route.
func (b *rplBR) sendRPL(out []rpl.Reply, sender lowpan.LinkAddr) {
	for _, rep := range out {
		p := ip6.Header(make([]byte, ip6.HeaderLen+len(rep.Msg)))
		p.Encode(&ip6.Fields{PayloadLength: uint16(len(rep.Msg)), NextHeader: ip6.ProtoICMPv6, HopLimit: 64, Src: rep.Src, Dst: rep.Dst})
		copy(p.Payload(), rep.Msg)
		switch {
		case rep.Dst.IsMulticast():
			b.ml.Send(p, link.BroadcastShort, link.SendOptions{})
		case rep.ToSender && sender.Kind() != lowpan.LinkAddrNone:
			b.ml.Send(p, sender, link.SendOptions{})
		case rep.Dst.IsLinkLocalUnicast():
			b.ml.Send(p, macOf(rep.Dst), link.SendOptions{})
		default:
			b.down(p, true)
		}
	}
}

// down routes a packet into the mesh: to a node registered with the 6LBR
// directly, else by RPL. Non-storing: the root's own packets get the
// source route inserted, others a tunnel to the destination, or to the
// 6LR of a RUL (RFC 9008 §8.1.2, §8.2.2, §8.2.4); storing: to the next
// hop as they are (no RPI, as for RIOT, §7 with the RPI left out).
func (b *rplBR) down(p []byte, own bool) {
	if len(p) < ip6.HeaderLen || !ip6.Header(p).IsValid() {
		return
	}
	dst := ip6.Header(p).Dst()
	now := time.Now()
	if reg, ok := b.nd.Registry().Lookup(dst, now); ok && !reg.Via.IsValid() {
		b.ml.Send(p, reg.LinkAddr, link.SendOptions{})
		return
	}
	b.mu.Lock()
	hops, err := b.root.Route(nil, dst, now)
	mop := b.root.Config().MOP
	b.mu.Unlock()
	if err != nil || len(hops) == 0 {
		return
	}
	if mop == rpl.MOPStoring {
		b.ml.Send(p, macOf(hops[0]), link.SendOptions{})
		return
	}
	if len(hops) == 1 {
		b.ml.Send(p, macOf(hops[0]), link.SendOptions{})
		return
	}
	var q []byte
	if own {
		q, err = rpl.InsertHeaders(nil, p, rpl.Headers{Hops: hops})
	} else {
		end := hops[len(hops)-1]
		if n := b.mesh.byAddr(dst); n != nil && n.rpl == nil {
			hops = hops[:len(hops)-1] // a RUL: the tunnel ends at its 6LR
			end = hops[len(hops)-1]
		}
		if len(hops) == 1 {
			q, err = rpl.AppendTunnel(nil, p, b.global, end, rpl.Headers{})
		} else {
			q, err = rpl.AppendTunnel(nil, p, b.global, end, rpl.Headers{Hops: hops})
		}
	}
	if err != nil {
		b.t.Logf("down to %v: %v", dst, err)
		return
	}
	b.ml.Send(q, macOf(ip6.Header(q).Dst()), link.SendOptions{})
}

// deliver takes a packet from the mesh.
func (b *rplBR) deliver(d *link.Delivery) {
	p := d.Packet
	if len(p) < ip6.HeaderLen+4 || !ip6.Header(p).IsValid() {
		return
	}
	isLocal := func(a netip.Addr) bool { return a == b.global || a == b.ll }
	out, _, _, err := rpl.StripForExit(append([]byte(nil), p...), isLocal)
	if err != nil {
		return
	}
	p = upperLayer(out)
	if p == nil || len(p) < ip6.HeaderLen+4 {
		return
	}
	h := ip6.Header(p)
	dst := h.Dst()
	if !isLocal(dst) && !dst.IsMulticast() {
		if prefix.Contains(dst) {
			b.down(p, false)
			return
		}
		select {
		case b.tun.out <- p:
		default:
		}
		return
	}
	if h.NextHeader() != ip6.ProtoICMPv6 {
		return
	}
	now := time.Now()
	switch h.Payload()[0] {
	case rpl.ICMPType:
		m, err := rpl.Parse(h.Payload())
		if err != nil || !m.ChecksumValid(h.Src(), dst) {
			return
		}
		b.mu.Lock()
		out := b.root.Handle(nil, m, h.Src(), dst, now)
		b.rootCPU += time.Since(now)
		b.mu.Unlock()
		b.sendRPL(out, d.Src)
	case 133, 135:
		var m nd.Message
		if nd.Parse(p, &m) != nil {
			return
		}
		for _, r := range b.nd.Handle(nil, &m, nd.Incoming{LinkSrc: d.Src, Local: b.ml.LinkAddr(), Now: now}) {
			to := r.LinkDst
			if to.Kind() == lowpan.LinkAddrNone {
				to = link.BroadcastShort
			}
			b.ml.Send(r.Packet, to, link.SendOptions{})
		}
	}
}

// byAddr finds the node holding a global address.
func (m *Mesh) byAddr(a netip.Addr) *Node {
	for _, n := range m.nodes {
		if n.State().Global == a {
			return n
		}
	}
	return nil
}

// waitRoutes waits until the root has a route to every node's address.
func (b *rplBR) waitRoutes(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(d)
	for {
		missing := ""
		for i, n := range b.mesh.Nodes() {
			a := Addr(prefix, i)
			b.mu.Lock()
			_, err := b.root.Route(nil, a, time.Now())
			b.mu.Unlock()
			if _, ok := b.nd.Registry().Lookup(a, time.Now()); err != nil && !ok {
				missing = n.Name()
				break
			}
		}
		if missing == "" {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			for _, n := range b.mesh.Nodes() {
				r, _ := n.RPL()
				t.Logf("%s: %+v rpl %+v", n.Name(), n.State(), r)
			}
			t.Fatalf("no route to %s after %v", missing, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *rplBR) ping(t *testing.T, dst netip.Addr, id uint16) []byte {
	t.Helper()
	for try := 0; try < 5; try++ {
		b.tun.in <- echoRequest(lanHost, dst, id)
		deadline := time.After(3 * time.Second)
	wait:
		for {
			select {
			case p := <-b.tun.out:
				if isEchoReplyFrom(p, dst) {
					return p
				}
			case <-deadline:
				break wait
			}
		}
	}
	t.Fatalf("%v does not answer", dst)
	return nil
}
