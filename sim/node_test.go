package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// memTUN stands for Linux in these tests.
type memTUN struct {
	in, out chan []byte
	closed  chan struct{}
	once    sync.Once
}

func (f *memTUN) Name() string { return "mem0" }
func (f *memTUN) MTU() int     { return 1280 }
func (f *memTUN) ReadPacket(buf []byte) (int, error) {
	select {
	case p := <-f.in:
		return copy(buf, p), nil
	case <-f.closed:
		return 0, os.ErrClosed
	}
}
func (f *memTUN) WritePacket(p []byte) error { f.out <- bytes.Clone(p); return nil }
func (f *memTUN) Close() error               { f.once.Do(func() { close(f.closed) }); return nil }

var prefix = netip.MustParsePrefix("2001:db8:1::/64")

func echoRequest(src, dst netip.Addr, id uint16) []byte {
	p := make([]byte, 48+8)
	p[0], p[5], p[6], p[7] = 0x60, 16, 58, 64
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	p[40] = 128
	binary.BigEndian.PutUint16(p[44:], id)
	copy(p[48:], "lowpanbr")
	binary.BigEndian.PutUint16(p[42:], checksum.Finish(checksum.Sum(p[40:], checksum.PseudoHeaderIPv6(p[8:24], p[24:40], 58, 16))))
	return p
}

// Ten nodes in a star register with the border router and answer pings
// sent from Linux; a node claiming an address held under another ROVR
// gets DUPLICATE and does not take it.
func TestStarRegistersAndAnswers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := medium.New(medium.Config{Seed: 11})
	go m.Run(ctx)
	defer m.Close()
	brEUI := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}
	mn, _ := m.Attach(medium.NodeConfig{Name: "br", Channel: 20, ExtAddr: brEUI})
	br := NewNodeRadio(mn)
	defer br.Close()
	br.Configure(ctx, radio.Settings{Channel: 20, PANID: 0xabcd, ShortAddr: 0xfffe, ExtAddr: brEUI})
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: prefix, Compress: true})
	link, err := router.NewLowpanLink(router.LowpanLinkConfig{Name: "wpan0", Radio: br, PANID: 0xabcd, ExtAddr: brEUI, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	global := netip.MustParseAddr("2001:db8:1::1")
	ndr, err := nd.New(nd.Config{Prefix: prefix, Contexts: []nd.ContextConfig{{ID: 0, Prefix: prefix}}, ContextChangeDelay: -1,
		LinkLocal: netip.MustParseAddr("fe80::1"), Global: global}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tun := &memTUN{in: make(chan []byte, 16), out: make(chan []byte, 64), closed: make(chan struct{})}
	fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, Links: []*router.LowpanLink{link}, ND: ndr, Source: global})
	if err != nil {
		t.Fatal(err)
	}
	fwdDone := make(chan struct{})
	go func() { fwd.Run(ctx); close(fwdDone) }()
	defer func() { cancel(); tun.Close(); <-fwdDone }()

	var nodes []*Node
	for i := 0; i < 10; i++ {
		n, err := AttachNode(m, NodeConfig{Name: "n", EUI64: [8]byte{0x02, 0, 0, 0, 0, 0, 1, byte(i + 1)}, Channel: 20, PANID: 0xabcd})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		go n.Run(ctx)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range nodes {
		for !n.State().Registered {
			if time.Now().After(deadline) {
				t.Fatalf("node %v never registered: %+v", n.LinkLocal(), n.State())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Ping every node from "Linux".
	from := netip.MustParseAddr("2001:db8:9::5")
	for i, n := range nodes {
		tun.in <- echoRequest(from, n.State().Global, uint16(i))
		select {
		case p := <-tun.out:
			if p[40] != 129 || netip.AddrFrom16([16]byte(p[8:24])) != n.State().Global {
				t.Fatalf("reply from node %d: type %d from % x", i, p[40], p[8:24])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("node %d did not answer", i)
		}
	}
	// Another node claims node 0's address with its own ROVR.
	thief, _ := AttachNode(m, NodeConfig{Name: "thief", EUI64: [8]byte{0x02, 0, 0, 0, 0, 0, 2, 1}, Channel: 20, PANID: 0xabcd, Address: nodes[0].State().Global})
	go thief.Run(ctx)
	for thief.State().Status != nd.StatusDuplicate {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("thief state %+v", thief.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if thief.State().Registered {
		t.Fatal("the thief took the address")
	}
	if reg, ok := ndr.Registry().Lookup(nodes[0].State().Global, time.Now()); !ok || !bytes.Equal(reg.ROVR.Bytes(), nodes[0].cfg.EUI64[:]) {
		t.Fatalf("registry entry for node 0 changed: %+v %v", reg, ok)
	}
}
