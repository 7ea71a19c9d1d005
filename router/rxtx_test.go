package router_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/internal/radiotest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/router"
)

// heldRadio keeps every transmission on the air until the test ends: a
// long datagram, a busy channel, a slow RCP.
type heldRadio struct {
	radiotest.Instant
	started chan struct{}
}

func (r *heldRadio) Transmit(ctx context.Context, psdu []byte, _ radio.TxOptions) (radio.TxResult, error) {
	select {
	case r.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return radio.TxResult{Status: radio.TxAborted}, ctx.Err()
}

// The receive path never waits for the air (issue 12): while the packet
// a node sent to another node is held on the air, a packet from a node to
// Linux still reaches the TUN at once. Before the transmit queues, the
// link's receive loop forwarded mesh to mesh by transmitting itself and
// stopped receiving until the air was free.
func TestReceiveNeverWaitsForTransmit(t *testing.T) {
	brEUI := [8]byte{2, 0, 0, 0, 0, 0, 0, 1}
	nodeA := [8]byte{2, 0, 0, 0, 0, 0, 0, 0xa}
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: meshPrefix, Compress: true})

	// Node A's frames, as a radio puts them on the air.
	rec := &recordingRadio{}
	sender, err := link.NewLowpan(link.LowpanConfig{Radio: rec, PANID: 0xabcd, ExtAddr: nodeA, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan struct{})
	go func() { sender.Run(sctx, func(*link.Delivery) {}); close(sdone) }()
	toB := packettest.UDP("2001:db8:1::a", "2001:db8:1::b", 40)
	toLAN := packettest.UDP("2001:db8:1::a", "2001:db8:9::5", 40)
	for _, p := range [][]byte{toB, toLAN} {
		if err := sender.SendWait(sctx, p, lowpan.ExtendedLinkAddr(brEUI), link.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	scancel()
	<-sdone
	if len(rec.frames) != 2 {
		t.Fatalf("%d frames recorded, want 2", len(rec.frames))
	}

	r := &heldRadio{Instant: radiotest.Instant{RX: make(chan radio.Frame, 4)}, started: make(chan struct{}, 1)}
	ml, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 0xabcd, ExtAddr: brEUI, Contexts: ctxs, DrainTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fwd, tun := startForwarder(t, ml, regNode{netip.MustParseAddr("2001:db8:1::b"), 0xb}, regNode{netip.MustParseAddr("2001:db8:1::a"), 0xa})

	r.RX <- radio.Frame{PSDU: rec.frames[0], RSSI: -50, LQI: 200} // A → B: forwarded, held on the air
	select {
	case <-r.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the packet to B was not transmitted")
	}
	r.RX <- radio.Frame{PSDU: rec.frames[1], RSSI: -50, LQI: 200} // A → LAN
	select {
	case p := <-tun.out:
		if string(p) != string(toLAN) {
			t.Fatalf("TUN got %x", p)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a packet to Linux waited for a transmission to end")
	}
	if st := fwd.Stats(); st.MeshToMesh != 1 {
		t.Fatalf("mesh to mesh: %d, want 1", st.MeshToMesh)
	}
}

// regNode is a node startForwarder registers: addr, from the EUI-64
// 02:00:00:00:00:00:00:last.
type regNode struct {
	addr netip.Addr
	last byte
}

// startForwarder runs a forwarder on ml, with a 6LBR in which nodes are
// registered, until the test ends.
func startForwarder(tb testing.TB, ml link.Runnable, nodes ...regNode) (*router.Forwarder, *fakeTUN) {
	tb.Helper()
	ndr, err := nd.New(nd.Config{Prefix: meshPrefix, LinkLocal: brLL, Global: brGlobal, ContextChangeDelay: -1}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range nodes {
		registerAt(tb, ndr, n.addr, n.last)
	}
	tun := newFakeTUN()
	fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, Links: []link.Runnable{ml}, ND: ndr, Source: brGlobal})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fwd.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); tun.Close(); <-done })
	return fwd, tun
}

// registerAt registers addr in ndr's registry directly over link 0, from
// the EUI-64 02:00:00:00:00:00:00:last.
func registerAt(tb testing.TB, ndr *nd.Router, addr netip.Addr, last byte) {
	tb.Helper()
	rovr, _ := nd.MakeROVR([]byte{1, 2, 3, 4, 5, 6, 7, last})
	if res := ndr.Registry().Register(nd.Request{Addr: addr, ROVR: rovr, Lifetime: 60,
		LinkAddr: lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, last})}, time.Now()); res.Status != nd.StatusSuccess {
		tb.Fatalf("register %v: %v", addr, res.Status)
	}
}
