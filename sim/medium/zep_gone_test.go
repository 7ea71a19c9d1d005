package medium

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

// extFrame is a broadcast data frame from extended address src.
func extFrame(t *testing.T, seq uint8, src ieee802154.ExtAddr) []byte {
	t.Helper()
	h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, Seq: seq, DstPAN: testPAN, PANIDCompression: true,
		Dst: ieee802154.ShortAddress(0xffff), Src: ieee802154.ExtAddress(src)}
	b, err := ieee802154.AppendFrame(nil, &h, []byte{0x41, 1, 2, 3}, true)
	if err != nil {
		t.Fatalf("AppendFrame: %v", err)
	}
	return b
}

// zepPeers lists the hub's peer nodes by name.
func zepPeers(m *Medium) map[string]bool {
	out := make(map[string]bool)
	for _, n := range m.Nodes() {
		if s := n.String(); len(s) > 4 && s[:4] == "zep " {
			out[s[4:]] = true
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestZEPPeerGone: a peer whose socket closed (a RIOT native node that
// exited) is forgotten the first time the hub's datagram to it is refused,
// and a peer that speaks with another's EUI-64 (the same node restarted on
// a new port) replaces it at once.
func TestZEPPeerGone(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	b := attach(t, m, "b", 2)
	hub := listenLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- m.ServeZEPWith(ctx, hub, ZEPConfig{}) }()
	dial := func() *net.UDPConn {
		c, err := net.DialUDP("udp4", loopback, hub.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	x := ieee802154.ExtAddr{0x02, 0, 0, 0, 0, 0, 0, 0x0a}
	y := ieee802154.ExtAddr{0x02, 0, 0, 0, 0, 0, 0, 0x0b}

	a := dial()
	if _, err := a.Write(zepData(26, extFrame(t, 1, x))); err != nil {
		t.Fatal(err)
	}
	if _, ok := recvWithin(t, b, 5*time.Second); !ok {
		t.Fatal("b did not hear the first peer")
	}
	aName := a.LocalAddr().String()
	if !zepPeers(m)[aName] {
		t.Fatalf("peers %v, want %s", zepPeers(m), aName)
	}
	a.Close()
	// b's broadcast goes to every peer: to a's closed port, refused.
	mustTransmit(t, b, dataFrame(t, 9, 2, 0xffff, false, 8), TxOptions{})
	if runtime.GOOS == "linux" {
		waitFor(t, "the closed peer forgotten", func() bool { return !zepPeers(m)[aName] })
		if s := m.Stats(); s.ZEPPeersGone != 1 {
			t.Errorf("ZEPPeersGone = %d, want 1", s.ZEPPeersGone)
		}
	}

	// The same node again on a new port, then its successor.
	c1 := dial()
	if _, err := c1.Write(zepData(26, extFrame(t, 2, y))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first incarnation attached", func() bool { return zepPeers(m)[c1.LocalAddr().String()] })
	c2 := dial()
	if _, err := c2.Write(zepData(26, extFrame(t, 3, y))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second incarnation replacing the first", func() bool {
		p := zepPeers(m)
		return p[c2.LocalAddr().String()] && !p[c1.LocalAddr().String()]
	})
	// The forgotten peer is sent nothing more: b's next broadcast reaches
	// c2 only.
	mustTransmit(t, b, dataFrame(t, 10, 2, 0xffff, false, 8), TxOptions{})
	if z, _ := readZEP(t, c2); len(z.PSDU) == 0 {
		t.Fatal("c2 got nothing")
	}
	c1.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c1.Read(make([]byte, 256)); err == nil {
		t.Errorf("the replaced peer was still sent %d octets", n)
	}
	if got := len(zepPeers(m)); got != 1 {
		t.Errorf("%d peers attached (%v), want 1", got, zepPeers(m))
	}
	cancel()
	if err := <-served; err != nil && err != context.Canceled {
		t.Errorf("ServeZEP: %v", fmt.Sprint(err))
	}
}
