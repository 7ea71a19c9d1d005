package ble_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/sim/hcisim"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// startHost runs our host on a simulated controller in w.
func startHost(t *testing.T, ctx context.Context, w *le.World, addr hci.BDAddr, ccfg hcisim.Config, cfg ble.Config) (*ble.Host, *hcisim.Controller) {
	t.Helper()
	ccfg.Addr = addr
	ctrl, err := hcisim.New(w, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	hostEnd, ctrlEnd := net.Pipe()
	go ctrl.Serve(ctx, ctrlEnd)
	cfg.Open = func(context.Context) (io.ReadWriteCloser, error) { return hostEnd, nil }
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin = 50 * time.Millisecond
	}
	h, err := ble.Open(ctx, cfg)
	if err != nil {
		ctrl.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); ctrl.Close() })
	return h, ctrl
}

func nextChannel(t *testing.T, h *ble.Host) *ble.Channel {
	t.Helper()
	select {
	case ch := <-h.Channels():
		return ch
	case <-time.After(10 * time.Second):
		t.Fatal("no IPSP channel opened")
		return nil
	}
}

// receiver collects a channel's SDUs.
func receiver(ctx context.Context, ch *ble.Channel) chan []byte {
	out := make(chan []byte, 64)
	go ch.Receive(ctx, func(sdu []byte) { out <- bytes.Clone(sdu) })
	return out
}

func expectSDU(t *testing.T, in chan []byte, want []byte) {
	t.Helper()
	select {
	case got := <-in:
		if !bytes.Equal(got, want) {
			t.Fatalf("received %d octets, want %d (% x…)", len(got), len(want), want[:min(8, len(want))])
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no SDU of %d octets", len(want))
	}
}

var (
	routerAddr = hci.BDAddr{0x01, 0x00, 0x00, 0x00, 0x00, 0xc0}
	nodeAddr   = hci.BDAddr{0x01, 0x01, 0x00, 0x00, 0x00, 0xc0}
	node2Addr  = hci.BDAddr{0x02, 0x01, 0x00, 0x00, 0x00, 0xc0}
)

// A router (central, scanning for the IPSS) and a node (peripheral,
// advertising it) connect through simulated controllers, open the IPSP
// channel, and carry SDUs both ways — 1280-octet ones segmented by L2CAP
// and fragmented into ACL packets of the data length.
func TestRouterAndNode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := le.New(le.Config{Seed: 1, TimeScale: 0.2, AdvInterval: 20 * time.Millisecond})
	defer w.Close()
	router, _ := startHost(t, ctx, w, routerAddr, hcisim.Config{}, ble.Config{Name: "router", Connect: true, ConnInterval: 10 * time.Millisecond})
	node, _ := startHost(t, ctx, w, nodeAddr, hcisim.Config{}, ble.Config{Name: "node", Advertise: true})
	if router.Info().Addr != routerAddr || !router.Info().DataLength || !router.Info().PHY2M {
		t.Fatalf("router controller: %+v", router.Info())
	}
	rch, nch := nextChannel(t, router), nextChannel(t, node)
	if p, _ := rch.Peer(); p != nodeAddr || !rch.Central() {
		t.Fatalf("router's channel: peer %v central %v", p, rch.Central())
	}
	if p, _ := nch.Peer(); p != routerAddr || nch.Central() {
		t.Fatalf("node's channel: peer %v central %v", p, nch.Central())
	}
	rin, nin := receiver(ctx, rch), receiver(ctx, nch)
	for _, n := range []int{1, 40, 300, 1280} {
		down := bytes.Repeat([]byte{byte(n)}, n)
		if err := rch.SendSDU(ctx, down); err != nil {
			t.Fatal(err)
		}
		expectSDU(t, nin, down)
		up := bytes.Repeat([]byte{byte(n + 1)}, n)
		if err := nch.SendSDU(ctx, up); err != nil {
			t.Fatal(err)
		}
		expectSDU(t, rin, up)
	}
	// Many SDUs in a row: credits are returned as they are used, so the
	// sender never stalls for good.
	for i := range 40 {
		sdu := bytes.Repeat([]byte{byte(i)}, 1200)
		for {
			err := rch.SendSDU(ctx, sdu)
			if err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond) // queue full: the link is slower than us
		}
		_ = i
	}
	for i := range 40 {
		expectSDU(t, nin, bytes.Repeat([]byte{byte(i)}, 1200))
	}
	if st := router.Stats(); st.ChannelsOpened != 1 || st.ACLSent == 0 || st.L2CAPErrors != 0 {
		t.Fatalf("router stats %+v", st)
	}
}

// A node whose connection drops advertises again, and the router connects
// to it again and opens a new channel; traffic resumes.
func TestReconnectAfterDrop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := le.New(le.Config{Seed: 2, TimeScale: 0.2, AdvInterval: 20 * time.Millisecond})
	defer w.Close()
	router, _ := startHost(t, ctx, w, routerAddr, hcisim.Config{}, ble.Config{Name: "router", Connect: true, ConnInterval: 10 * time.Millisecond})
	node, nodeCtrl := startHost(t, ctx, w, nodeAddr, hcisim.Config{}, ble.Config{Name: "node", Advertise: true})
	rch, _ := nextChannel(t, router), nextChannel(t, node)
	for _, c := range nodeCtrl.Device().Conns() {
		c.Sever()
	}
	select {
	case <-rch.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the router's channel outlived the connection")
	}
	if err := rch.SendSDU(ctx, []byte{1}); !errors.Is(err, ble.ErrChannelClosed) {
		t.Fatalf("send on a dropped channel: %v", err)
	}
	rch2, nch2 := nextChannel(t, router), nextChannel(t, node)
	nin := receiver(ctx, nch2)
	if err := rch2.SendSDU(ctx, []byte("again")); err != nil {
		t.Fatal(err)
	}
	expectSDU(t, nin, []byte("again"))
	if st := router.Stats(); st.Connections != 2 || st.Disconnections != 1 {
		t.Fatalf("router stats %+v", st)
	}
}

// Two nodes; the first never returns credits: the router's sends to it
// queue and then fail at once, and the second node's traffic goes on
// undisturbed.
func TestStalledPeerDoesNotStallOthers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := le.New(le.Config{Seed: 3, TimeScale: 0.2, AdvInterval: 20 * time.Millisecond})
	defer w.Close()
	router, _ := startHost(t, ctx, w, routerAddr, hcisim.Config{}, ble.Config{Name: "router", Connect: true, ConnInterval: 10 * time.Millisecond})
	n1, _ := startHost(t, ctx, w, nodeAddr, hcisim.Config{}, ble.Config{Name: "n1", Advertise: true, WithholdCredits: true})
	n2, _ := startHost(t, ctx, w, node2Addr, hcisim.Config{}, ble.Config{Name: "n2", Advertise: true})
	chans := map[hci.BDAddr]*ble.Channel{}
	for len(chans) < 2 {
		ch := nextChannel(t, router)
		p, _ := ch.Peer()
		chans[p] = ch
	}
	_ = nextChannel(t, n1)
	in2 := receiver(ctx, nextChannel(t, n2))
	sdu := bytes.Repeat([]byte{7}, 1200)
	var full bool
	for range 200 {
		start := time.Now()
		err := chans[nodeAddr].SendSDU(ctx, sdu)
		if time.Since(start) > time.Second {
			t.Fatal("SendSDU blocked on a stalled peer")
		}
		if err != nil {
			full = true
			break
		}
	}
	if !full {
		t.Fatal("a stalled peer absorbed 200 SDUs")
	}
	for i := range 10 {
		msg := []byte{byte(i), 2}
		if err := chans[node2Addr].SendSDU(ctx, msg); err != nil {
			t.Fatal(err)
		}
		expectSDU(t, in2, msg)
	}
}

// A controller without LE is refused with a plain error.
func TestNoLEController(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := le.New(le.Config{Seed: 4})
	defer w.Close()
	ctrl, _ := hcisim.New(w, hcisim.Config{Addr: routerAddr, NoLE: true})
	defer ctrl.Close()
	hostEnd, ctrlEnd := net.Pipe()
	go ctrl.Serve(ctx, ctrlEnd)
	_, err := ble.Open(ctx, ble.Config{Open: func(context.Context) (io.ReadWriteCloser, error) { return hostEnd, nil }})
	if !errors.Is(err, ble.ErrNoLE) {
		t.Fatalf("got %v, want ErrNoLE", err)
	}
}
