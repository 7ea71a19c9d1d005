package link_test

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// memChannel is one end of an in-memory L2CAP channel.
type memChannel struct {
	out chan<- []byte
	in  <-chan []byte
}

func (c *memChannel) SendSDU(_ context.Context, sdu []byte) error {
	select {
	case c.out <- bytes.Clone(sdu):
		return nil
	default:
		return link.ErrChannelClosed
	}
}

func (c *memChannel) Receive(ctx context.Context, deliver func([]byte)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case sdu, ok := <-c.in:
			if !ok {
				return link.ErrChannelClosed
			}
			deliver(sdu)
		}
	}
}

func memChannelPair() (*memChannel, *memChannel) {
	ab, ba := make(chan []byte, 8), make(chan []byte, 8)
	return &memChannel{out: ab, in: ba}, &memChannel{out: ba, in: ab}
}

// oneRegistration answers LatestRegistered for a single node.
type oneRegistration struct {
	node lowpan.LinkAddr
	addr netip.Addr
}

func (r oneRegistration) LatestRegistered(node lowpan.LinkAddr, prefix netip.Prefix) (netip.Addr, bool) {
	if node == r.node && prefix.Contains(r.addr) {
		return r.addr, true
	}
	return netip.Addr{}, false
}

// Packets cross a BLE link both ways intact; the node's registered
// address is elided entirely (RFC 7668 §3.2.4); the link refuses a next
// hop other than its peer and a packet above the MTU.
var testMeshPrefix = netip.MustParsePrefix("2001:db8:1::/64")

func TestBLELinkBothWays(t *testing.T) {
	routerBD, nodeBD := [6]byte{0x00, 0x1a, 0x7d, 0xda, 0x71, 0x01}, [6]byte{0xc0, 0x01, 0x02, 0x03, 0x04, 0x05}
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: testMeshPrefix, Compress: true})
	nodeAddr := netip.MustParseAddr("2001:db8:1::77")
	reg := oneRegistration{node: lowpan.BLELinkAddr(nodeBD), addr: nodeAddr}
	rc, nc := memChannelPair()
	rl, err := link.NewBLE(link.BLEConfig{Channel: rc, Local: routerBD, Peer: nodeBD, Contexts: ctxs, Registered: reg})
	if err != nil {
		t.Fatal(err)
	}
	nl, err := link.NewBLE(link.BLEConfig{Channel: nc, Local: nodeBD, Peer: routerBD, Contexts: ctxs, Registered: reg})
	if err != nil {
		t.Fatal(err)
	}
	got := [2]chan []byte{make(chan []byte, 4), make(chan []byte, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rl.Run(ctx, func(d *link.Delivery) { got[0] <- bytes.Clone(d.Packet) })
	go nl.Run(ctx, func(d *link.Delivery) { got[1] <- bytes.Clone(d.Packet) })

	down := packettest.UDP("2001:db8:9::5", nodeAddr.String(), 1200-48)
	if err := rl.SendWait(ctx, down, rl.Peer(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, got[1], down)
	up := packettest.UDP(nodeAddr.String(), "2001:db8:9::5", 30)
	if err := nl.SendWait(ctx, up, nl.Peer(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, got[0], up)
	// The node's address costs nothing: the SDU is the 40+8 octets of
	// headers minus what IPHC/NHC saved, with the LAN source inline.
	if st := rl.Stats(); st.BytesSent >= uint64(len(down)) || st.HeaderBytesSaved < 20 {
		t.Fatalf("router link stats %+v", st)
	}
	if err := rl.SendWait(ctx, down, lowpan.BLELinkAddr([6]byte{1, 2, 3, 4, 5, 6}), link.SendOptions{}); err == nil {
		t.Fatal("sent to a next hop that is not the peer")
	}
	if err := rl.SendWait(ctx, packettest.UDP("2001:db8:9::5", nodeAddr.String(), 1300), rl.Peer(), link.SendOptions{}); err == nil {
		t.Fatal("sent a packet above the BLE MTU")
	}
}

// A BLE link's Run returns when its channel closes (the connection
// dropped), which is how the forwarder learns the link is gone.
func TestBLELinkEndsWithChannel(t *testing.T) {
	rc, nc := memChannelPair()
	l, _ := link.NewBLE(link.BLEConfig{Channel: rc, Local: [6]byte{1}, Peer: [6]byte{2}})
	done := make(chan struct{})
	go func() { l.Run(context.Background(), func(*link.Delivery) {}); close(done) }()
	close(nc.out)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the channel closed")
	}
}
