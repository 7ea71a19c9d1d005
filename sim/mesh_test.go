package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// testBR is a border router (6LBR, forwarder, in-memory TUN) on a medium,
// with a mesh around it.
type testBR struct {
	m    *medium.Medium
	tun  *memTUN
	nd   *nd.Router
	fwd  *router.Forwarder
	mesh *Mesh
}

var lanHost = netip.MustParseAddr("2001:db8:9::5")

// startLBR runs the border router's side on br: a Lowpan with
// context 0 = the mesh prefix, the 6LBR (2001:db8:1::1) and the forwarder
// to tun. fwdDone closes when the forwarder returns (ctx ended, tun closed).
func startLBR(t *testing.T, ctx context.Context, br radio.Radio, brEUI [8]byte, tun *memTUN) (ml *link.Lowpan, ndr *nd.Router, fwd *router.Forwarder, fwdDone <-chan struct{}) {
	t.Helper()
	return startLBRWith(t, ctx, br, brEUI, tun, nil)
}

// startLBRWith is startLBR with the forwarder a RPL root when rplCfg is
// set.
func startLBRWith(t *testing.T, ctx context.Context, br radio.Radio, brEUI [8]byte, tun *memTUN, rplCfg *router.RPLConfig) (ml *link.Lowpan, ndr *nd.Router, fwd *router.Forwarder, fwdDone <-chan struct{}) {
	t.Helper()
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: prefix, Compress: true})
	lorh := rplCfg != nil && rplCfg.Root.Compression8138
	if lorh {
		// As borderrouter does for rpl.lorh: RFC 8138 against the root.
		ref := lowpan.RPLReference{Root: netip.MustParseAddr("2001:db8:1::1"), RPIType: rpl.OptionTypeRPI9008, Storing: rplCfg.Root.MOP == rpl.MOPStoring}
		if err := ctxs.SetRPL(ref); err != nil {
			t.Fatal(err)
		}
	}
	ml, err := link.NewLowpan(link.LowpanConfig{Name: "wpan0", Radio: br, PANID: 0xabcd, ExtAddr: brEUI, Contexts: ctxs, LoRH: lorh})
	if err != nil {
		t.Fatal(err)
	}
	global := netip.MustParseAddr("2001:db8:1::1")
	ndr, err = nd.New(nd.Config{Prefix: prefix, Contexts: []nd.ContextConfig{{ID: 0, Prefix: prefix}}, ContextChangeDelay: -1,
		LinkLocal: netip.MustParseAddr("fe80::1"), Global: global}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fwd, err = router.NewForwarder(router.ForwarderConfig{TUN: tun, Links: []link.Runnable{ml}, ND: ndr, Source: global, RPL: rplCfg})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { fwd.Run(ctx); close(done) }()
	return ml, ndr, fwd, done
}

// startBRRadio puts the border router's radio on a new medium in virtual
// time (seeded from the mesh's seed), channel 20, PAN 0xabcd: what the
// in-process mesh tests stand on. mediumDone closes when ctx ends and the
// medium has stopped.
func startBRRadio(ctx context.Context, t *testing.T, seed uint64) (m *medium.Medium, mn *medium.Node, br *NodeRadio, brEUI [8]byte, mediumDone chan struct{}) {
	t.Helper()
	m, mediumDone = runMedium(ctx, medium.Config{Seed: seed + 1})
	mn, br, brEUI = attachBRRadio(ctx, t, m)
	return m, mn, br, brEUI, mediumDone
}

// stopMeshWorld takes down what the mesh tests start, in order: the nodes
// and the forwarder (cancel), the TUN; then it waits for the forwarder and
// the nodes, closes the border router's radio and the medium, and waits
// for the medium to stop.
func stopMeshWorld(cancel context.CancelFunc, tun *memTUN, fwdDone <-chan struct{}, mesh *Mesh, br radio.Radio, m *medium.Medium, mediumDone <-chan struct{}) {
	cancel()
	tun.Close()
	<-fwdDone
	mesh.Wait()
	br.Close()
	m.Close()
	<-mediumDone
}

// runMedium makes a medium of cfg and runs it until ctx ends; mediumDone
// closes once it has stopped.
func runMedium(ctx context.Context, cfg medium.Config) (m *medium.Medium, mediumDone chan struct{}) {
	m = medium.New(cfg)
	mediumDone = make(chan struct{})
	go func() { m.Run(ctx); close(mediumDone) }()
	return m, mediumDone
}

// attachBRRadio attaches the border router's radio to m: node "br",
// channel 20, PAN 0xabcd, EUI-64 02:00:00:00:00:00:00:01.
func attachBRRadio(ctx context.Context, t *testing.T, m *medium.Medium) (mn *medium.Node, br *NodeRadio, brEUI [8]byte) {
	t.Helper()
	brEUI = [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}
	mn, err := m.Attach(medium.NodeConfig{Name: "br", Channel: 20, ExtAddr: brEUI})
	if err != nil {
		t.Fatal(err)
	}
	br = NewNodeRadio(mn)
	br.Configure(ctx, radio.Settings{Channel: 20, PANID: 0xabcd, ShortAddr: 0xfffe, ExtAddr: brEUI})
	return mn, br, brEUI
}

// drainedTUN is a TUN whose packets to "Linux" nobody reads: a goroutine
// throws them away until it is closed.
func drainedTUN() *memTUN {
	tun := &memTUN{in: make(chan []byte, 16), out: make(chan []byte, 1024), closed: make(chan struct{})}
	go func() {
		for {
			select {
			case <-tun.out:
			case <-tun.closed:
				return
			}
		}
	}()
	return tun
}

func startBR(t *testing.T, cfg MeshConfig) *testBR {
	t.Helper()
	return startBRWith(t, cfg, nil)
}

// startBRWith is startBR with the forwarder a RPL root when rplCfg is set.
func startBRWith(t *testing.T, cfg MeshConfig, rplCfg *router.RPLConfig) *testBR {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, mn, br, brEUI, mediumDone := startBRRadio(ctx, t, cfg.Seed)
	tun := &memTUN{in: make(chan []byte, 16), out: make(chan []byte, 256), closed: make(chan struct{})}
	_, ndr, fwd, fwdDone := startLBRWith(t, ctx, br, brEUI, tun, rplCfg)
	cfg.Channel, cfg.PANID = 20, 0xabcd
	mesh, err := StartMesh(ctx, m, mn, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { stopMeshWorld(cancel, tun, fwdDone, mesh, br, m, mediumDone) })
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := mesh.WaitRegistered(wctx); err != nil {
		for _, n := range mesh.Nodes() {
			t.Logf("%s: %+v", n.Name(), n.State())
		}
		t.Fatal(err)
	}
	return &testBR{m: m, tun: tun, nd: ndr, fwd: fwd, mesh: mesh}
}

// exchange sends pkt from "Linux" and returns the first packet back.
func (b *testBR) exchange(t *testing.T, pkt []byte) []byte {
	t.Helper()
	for {
		select {
		case <-b.tun.out: // drain what came before
			continue
		default:
		}
		break
	}
	b.tun.in <- pkt
	select {
	case p := <-b.tun.out:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer to a packet for %v", netip.AddrFrom16([16]byte(pkt[24:40])))
		return nil
	}
}

func (b *testBR) ping(t *testing.T, dst netip.Addr, id uint16) []byte {
	t.Helper()
	// A lost frame loses the packet: retry as ping does.
	var p []byte
	for try := 0; try < 5; try++ {
		b.tun.in <- echoRequest(lanHost, dst, id)
		select {
		case p = <-b.tun.out:
			return p
		case <-time.After(3 * time.Second):
		}
	}
	t.Fatalf("%v does not answer", dst)
	return p
}

func udpDatagram(src, dst netip.Addr, port uint16, payload []byte) []byte {
	p := make([]byte, 48+len(payload))
	p[0], p[6], p[7] = 0x60, 17, 64
	binary.BigEndian.PutUint16(p[4:], uint16(8+len(payload)))
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	binary.BigEndian.PutUint16(p[40:], 40000)
	binary.BigEndian.PutUint16(p[42:], port)
	binary.BigEndian.PutUint16(p[44:], uint16(8+len(payload)))
	copy(p[48:], payload)
	binary.BigEndian.PutUint16(p[46:], checksum.UDPIPv6(p[8:24], p[24:40], p[40:]))
	return p
}

func isEchoReplyFrom(p []byte, from netip.Addr) bool {
	return len(p) >= 48 && p[6] == 58 && p[40] == 129 && netip.AddrFrom16([16]byte(p[8:24])) == from
}

// Three hops through two 6LRs: every node registers (the far ones through
// EDAR/EDAC), answers pings, echoes 1200-octet UDP datagrams intact, and a
// deregistered node becomes unreachable with an ICMPv6 error.
func TestLineThroughRouters(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Line, Nodes: 3, Seed: 3, Routing: RoutingND})
	n1, n2, n3 := b.mesh.Node("n1"), b.mesh.Node("n2"), b.mesh.Node("n3")
	if n1.State().RouterMAC != lowpan.ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}) ||
		n2.State().RouterMAC != n1.LinkAddr() || n3.State().RouterMAC != n2.LinkAddr() {
		t.Fatalf("parents: n1→%v n2→%v n3→%v", n1.State().RouterMAC, n2.State().RouterMAC, n3.State().RouterMAC)
	}
	now := time.Now()
	for i, c := range []struct {
		n   *Node
		via netip.Addr
	}{{n1, netip.Addr{}}, {n2, n1.State().Global}, {n3, n2.State().Global}} {
		reg, ok := b.nd.Registry().Lookup(c.n.State().Global, now)
		if !ok || reg.Via != c.via {
			t.Fatalf("%s registered %v via %v, want via %v", c.n.Name(), ok, reg.Via, c.via)
		}
		if c.n.State().Global != Addr(prefix, i) {
			t.Fatalf("%s has %v, want %v", c.n.Name(), c.n.State().Global, Addr(prefix, i))
		}
	}
	for i, n := range []*Node{n1, n2, n3} {
		if p := b.ping(t, n.State().Global, uint16(i)); !isEchoReplyFrom(p, n.State().Global) {
			t.Fatalf("ping %s: got % x", n.Name(), p[:48])
		}
	}
	if n1.State().Forwarded == 0 || n2.State().Forwarded == 0 || n1.State().Routes != 2 || n2.State().Routes != 1 {
		t.Fatalf("6LR state: n1 %+v n2 %+v", n1.State(), n2.State())
	}
	// 1200 octets: fragmented on every hop, both ways.
	payload := bytes.Repeat([]byte("0123456789abcdef"), 75)
	req := udpDatagram(lanHost, n3.State().Global, UDPEchoPort, payload)
	var got []byte
	for try := 0; try < 5 && got == nil; try++ {
		b.tun.in <- bytes.Clone(req)
		select {
		case got = <-b.tun.out:
		case <-time.After(5 * time.Second):
		}
	}
	if got == nil || got[6] != 17 || !bytes.Equal(got[48:], payload) || netip.AddrFrom16([16]byte(got[8:24])) != n3.State().Global {
		t.Fatalf("UDP echo from n3: %d octets", len(got))
	}
	if checksum.UDPIPv6(got[8:24], got[24:40], got[40:]) != 0 && checksum.Finish(checksum.Sum(got[40:], checksum.PseudoHeaderIPv6(got[8:24], got[24:40], 17, uint32(len(got)-40)))) != 0 {
		t.Fatal("UDP echo arrives with a bad checksum")
	}
	// n3 leaves: its registration goes (EDAR with lifetime 0 through n2),
	// and a packet for it earns an ICMPv6 address unreachable.
	addr3 := n3.State().Global
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n3.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := b.nd.Registry().Lookup(addr3, time.Now()); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n3's registration survived its deregistration")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := b.exchange(t, echoRequest(lanHost, addr3, 99))
	if p[6] != 58 || p[40] != 1 || p[41] != 3 {
		t.Fatalf("packet for a deregistered node: got type %d code %d, want destination unreachable / address unreachable", p[40], p[41])
	}
	if n2.State().Routes != 0 {
		t.Fatalf("n2 still routes to %d addresses", n2.State().Routes)
	}
}

// A grid and a random mesh with loss: every node registers through the
// 6LRs and answers.
func TestGridAndRandomMeshes(t *testing.T) {
	for _, cfg := range []MeshConfig{
		{Topology: Grid, Rows: 3, Cols: 3, Seed: 5, Routing: RoutingND},
		{Topology: Random, Nodes: 12, Seed: 7, Loss: 0.05, Routing: RoutingND},
	} {
		t.Run(string(cfg.Topology), func(t *testing.T) {
			b := startBR(t, cfg)
			nodes := b.mesh.Nodes()
			for i, n := range nodes {
				if p := b.ping(t, n.State().Global, uint16(i)); !isEchoReplyFrom(p, n.State().Global) {
					t.Fatalf("ping %s: got % x", n.Name(), p[:48])
				}
			}
			// Node to node, across the mesh and through the border router.
			first, last := nodes[0], nodes[len(nodes)-1]
			var err error
			for try := 0; try < 5; try++ {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err = last.Ping(ctx, first.State().Global, 100)
				cancel()
				if err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("%s pinging %s: %v", last.Name(), first.Name(), err)
			}
		})
	}
}

// An intruder imitating a node gets DUPLICATE and stays without an
// address; the owner keeps answering.
func TestIntruderGetsDuplicate(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Star, Nodes: 2, Intruders: []string{"n2"}})
	in := b.mesh.Node("intruder-n2")
	deadline := time.Now().Add(20 * time.Second)
	for in.State().Status != nd.StatusDuplicate {
		if time.Now().After(deadline) {
			t.Fatalf("intruder: %+v", in.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := in.State()
	if st.Registered || st.Global.IsValid() || st.Refused != b.mesh.Node("n2").State().Global {
		t.Fatalf("intruder state %+v", st)
	}
	if p := b.ping(t, st.Refused, 1); !isEchoReplyFrom(p, st.Refused) {
		t.Fatal("n2 no longer answers")
	}
}

func TestMeshConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  MeshConfig
		want string
	}{
		{MeshConfig{Topology: "ring"}, `topology "ring"`},
		{MeshConfig{Topology: Grid, Rows: 1, Cols: 1}, "grid of 1 × 1"},
		{MeshConfig{Nodes: MaxMeshNodes + 1}, "1001 nodes"},
		{MeshConfig{Nodes: 2, Loss: 1}, "loss 1"},
		{MeshConfig{Nodes: 2, Links: []LinkOverride{{A: "n1", B: "n9"}}}, "n1–n9"},
		{MeshConfig{Nodes: 2, Intruders: []string{"br"}}, `intruder for "br"`},
		{MeshConfig{Nodes: 2, Lifetime: time.Second}, "lifetime 1s"},
		{MeshConfig{Nodes: 2, Routing: "ospf"}, `routing "ospf"`},
		{MeshConfig{Topology: Line, Nodes: 2, Routing: RoutingRPL, Leaves: 1.5}, "leaves 1.5"},
		{MeshConfig{Topology: Line, Nodes: 2, Routing: RoutingND, Leaves: 0.5}, "need routing rpl"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}

// Link overrides reach the medium both ways; the rest keeps the
// topology's links.
func TestMeshLinkOverrides(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Line, Nodes: 3, Routing: RoutingND, Loss: 0.01, Links: []LinkOverride{{A: "n1", B: "n2", Loss: 0.25}, {A: "br", B: "n3", Disconnected: true}}})
	n1, n2, n3 := b.mesh.Node("n1").radio.node, b.mesh.Node("n2").radio.node, b.mesh.Node("n3").radio.node
	if l := b.m.Link(n1, n2); l.Loss != 0.25 || l.Disconnected {
		t.Errorf("n1→n2: %+v", l)
	}
	if l := b.m.Link(n2, n1); l.Loss != 0.25 || l.Disconnected {
		t.Errorf("n2→n1: %+v", l)
	}
	if l := b.m.Link(n2, n3); l.Loss != 0.01 || l.Disconnected {
		t.Errorf("n2→n3: %+v", l)
	}
	if l := b.m.Link(n1, n3); !l.Disconnected {
		t.Errorf("n1→n3 (two apart on a line): %+v", l)
	}
}
