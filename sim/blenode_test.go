package sim

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim/hcisim"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// bleBR is a border router whose only links are BLE connections.
type bleBR struct {
	tun   *memTUN
	nd    *nd.Router
	fwd   *router.Forwarder
	world *le.World
	nodes []*BLENode
}

func startBLEBR(t *testing.T, nodes int) *bleBR {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := le.New(le.Config{Seed: 9, TimeScale: 0.25, AdvInterval: 20 * time.Millisecond})
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: prefix, Compress: true})
	global := netip.MustParseAddr("2001:db8:1::1")
	ndr, err := nd.New(nd.Config{Prefix: prefix, Contexts: []nd.ContextConfig{{ID: 0, Prefix: prefix}}, ContextChangeDelay: -1,
		LinkLocal: netip.MustParseAddr("fe80::1"), Global: global}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tun := &memTUN{in: make(chan []byte, 16), out: make(chan []byte, 256), closed: make(chan struct{})}
	fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, ND: ndr, Source: global, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	fwdDone := make(chan struct{})
	go func() { fwd.Run(ctx); close(fwdDone) }()
	ctrl, err := hcisim.New(w, hcisim.Config{Addr: hci.BDAddr{0x01, 0, 0, 0, 0, 0xc0}})
	if err != nil {
		t.Fatal(err)
	}
	hostEnd, ctrlEnd := net.Pipe()
	go ctrl.Serve(ctx, ctrlEnd)
	host, err := ble.Open(ctx, ble.Config{Name: "br", Connect: true, ConnInterval: 10 * time.Millisecond,
		Open: func(context.Context) (io.ReadWriteCloser, error) { return hostEnd, nil }, ReconnectMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go router.ServeBLE(ctx, fwd, host.Channels(), ctxs, nil, nil)
	b := &bleBR{tun: tun, nd: ndr, fwd: fwd, world: w}
	for i := range nodes {
		n, err := StartBLENode(ctx, w, BLENodeConfig{Name: "b" + string(rune('1'+i)), Addr: hci.BDAddr{byte(0x10 + i), 0x01, 0, 0, 0, 0xc0}})
		if err != nil {
			t.Fatal(err)
		}
		b.nodes = append(b.nodes, n)
	}
	t.Cleanup(func() {
		cancel()
		tun.Close()
		<-fwdDone
		for _, n := range b.nodes {
			<-n.Done()
		}
		host.Close()
		ctrl.Close()
		w.Close()
	})
	return b
}

func (b *bleBR) waitRegistered(t *testing.T, n *BLENode) NodeState {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st := n.State(); st.Registered {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never registered: %+v", n.Name(), n.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BLE 6LNs join over IPSP (RS/RA, EARO with a ROVR from the device
// address), answer pings and 1200-octet UDP echoes from "Linux", reach
// each other through the border router, and after their connection drops
// reconnect, register again and answer again.
func TestBLENodes(t *testing.T) {
	b := startBLEBR(t, 2)
	n1, n2 := b.nodes[0], b.nodes[1]
	s1, s2 := b.waitRegistered(t, n1), b.waitRegistered(t, n2)
	iid, _ := lowpan.BLELinkAddr(ble.Canonical(n1.Addr())).IID()
	if !bytes.Equal(s1.Global.AsSlice()[8:], iid[:]) || !prefix.Contains(s1.Global) {
		t.Fatalf("n1's address %v does not come from its device address", s1.Global)
	}
	reg, ok := b.nd.Registry().Lookup(s1.Global, time.Now())
	if !ok || !bytes.Equal(reg.ROVR.Bytes(), iid[:]) || reg.LinkAddr != lowpan.BLELinkAddr(ble.Canonical(n1.Addr())) {
		t.Fatalf("registry entry %+v %v", reg, ok)
	}
	for i, st := range []NodeState{s1, s2} {
		b.tun.in <- echoRequest(lanHost, st.Global, uint16(i))
		select {
		case p := <-b.tun.out:
			if !isEchoReplyFrom(p, st.Global) {
				t.Fatalf("ping %v: % x", st.Global, p[:48])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v does not answer", st.Global)
		}
	}
	payload := bytes.Repeat([]byte("IPv6 over BLE. "), 80)
	b.tun.in <- udpDatagram(lanHost, s2.Global, UDPEchoPort, payload)
	select {
	case p := <-b.tun.out:
		if p[6] != 17 || !bytes.Equal(p[48:], payload) {
			t.Fatalf("UDP echo: %d octets", len(p))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no 1200-octet UDP echo")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n1.mu.Lock()
	node1 := n1.cur
	n1.mu.Unlock()
	if _, err := node1.Ping(ctx, s2.Global, 200); err != nil {
		t.Fatalf("n1 → n2 through the border router: %v", err)
	}
	n1.Drop()
	deadline := time.Now().Add(30 * time.Second)
	for n1.Sessions() < 2 || !n1.State().Registered {
		if time.Now().After(deadline) {
			t.Fatalf("n1 did not come back: %d sessions, %+v", n1.Sessions(), n1.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.tun.in <- echoRequest(lanHost, s1.Global, 9)
	select {
	case p := <-b.tun.out:
		if !isEchoReplyFrom(p, s1.Global) {
			t.Fatalf("after the reconnection: % x", p[:48])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("n1 does not answer after reconnecting")
	}
}
