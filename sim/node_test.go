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
	"github.com/lowpanbr/lowpanbr/nd"
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
// sent from Linux.
func TestStarRegistersAndAnswers(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Star, Nodes: 10, Seed: 11})
	for i, n := range b.mesh.Nodes() {
		if n.State().Global != Addr(prefix, i) {
			t.Fatalf("%s has %v, want %v", n.Name(), n.State().Global, Addr(prefix, i))
		}
		if p := b.ping(t, n.State().Global, uint16(i)); !isEchoReplyFrom(p, n.State().Global) {
			t.Fatalf("ping %s: got % x", n.Name(), p[:48])
		}
		if reg, ok := b.nd.Registry().Lookup(n.State().Global, time.Now()); !ok || !reg.Direct() || !bytes.Equal(reg.ROVR.Bytes(), n.cfg.EUI64[:]) {
			t.Fatalf("registry entry of %s: %+v %v", n.Name(), reg, ok)
		}
	}
}

// A node renews its registration before it runs out: each renewal is a
// fresh EARO with the next TID, accepted, and pushes the expiry on.
func TestNodeRenews(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Star})
	n, err := AttachNode(b.m, NodeConfig{Name: "r", EUI64: [8]byte{0x02, 0, 0, 0, 0, 0, 3, 1}, Channel: 20, PANID: 0xabcd, renewEvery: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	var first nd.Registration
	for {
		st := n.State()
		if reg, ok := b.nd.Registry().Lookup(st.Global, time.Now()); ok && st.Registered {
			if first.TID == 0 {
				first = reg
			} else if st.Renewed >= 2 && reg.TID > first.TID && reg.Expires.After(first.Expires) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no renewal: state %+v, first registration %+v", st, first)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
