package medium

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
)

var loopback = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}

func listenLoopback(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", loopback)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readZEP reads one datagram and decodes it.
func readZEP(t *testing.T, c *net.UDPConn) (pcapio.ZEP, *net.UDPAddr) {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("reading ZEP: %v", err)
	}
	var z pcapio.ZEP
	if err := z.Decode(buf[:n]); err != nil {
		t.Fatalf("decoding ZEP: %v", err)
	}
	z.PSDU = append([]byte(nil), z.PSDU...)
	return z, from
}

func zepData(channel uint8, psdu []byte) []byte {
	return pcapio.AppendZEP(nil, &pcapio.ZEP{Type: pcapio.ZEPTypeData, Channel: channel, LQIMode: true, LQI: 255, PSDU: psdu})
}

// TestZEPPeer plays a ZEP node that does not acknowledge frames itself,
// with a socket like RIOT's native nodes: bound to its own port and
// connect()ed to the hub, so its kernel accepts datagrams only from the
// hub's address and port.
func TestZEPPeer(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	b := attach(t, m, "b", 2)
	hub := listenLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.ServeZEPWith(ctx, hub, ZEPConfig{AutoAck: ZEPAutoAckAll}) }()

	peer, err := net.DialUDP("udp4", loopback, hub.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	send := func(b []byte) {
		t.Helper()
		if _, err := peer.Write(b); err != nil {
			t.Fatal(err)
		}
	}

	// Peer → medium: a unicast to b with AR, a real FCS. b receives the
	// very PSDU and acknowledges; the peer hears the ACK over ZEP.
	fromPeer := dataFrame(t, 5, 5, 2, true, 12)
	send(zepData(26, fromPeer))
	rec, ok := recvWithin(t, b, 5*time.Second)
	if !ok || string(rec.PSDU) != string(fromPeer) || !rec.AckSent {
		t.Fatalf("b received %+v (ok %v), want % x acked", rec, ok, fromPeer)
	}
	z, from := readZEP(t, peer)
	if from.String() != hub.LocalAddr().String() {
		t.Errorf("reply from %v, want the hub %v", from, hub.LocalAddr())
	}
	if z.Version != 2 || z.Type != pcapio.ZEPTypeData || z.Channel != 26 || !z.HasFCS() ||
		len(z.PSDU) != AckPSDULen || z.PSDU[0] != 0x02 || z.PSDU[2] != 5 {
		t.Errorf("peer got %+v, want the ACK of sequence 5", z)
	}

	// Medium → peer: b sends to the peer's short address (learnt from its
	// frame); the peer receives it over ZEP, and the medium acknowledges
	// on the peer's behalf.
	toPeer := dataFrame(t, 9, 2, 5, true, 20)
	res := mustTransmit(t, b, toPeer, TxOptions{})
	if res.Status != TxAcked {
		t.Errorf("b → peer: %v, want acked on the peer's behalf", res.Status)
	}
	z, _ = readZEP(t, peer)
	if string(z.PSDU) != string(toPeer) || z.Channel != 26 || z.LQI != LQIFromRSSI(DefaultRSSI) {
		t.Errorf("peer got %+v, want % x", z, toPeer)
	}

	// Garbage is counted and skipped; a frame on channel 11 does not reach
	// b on 26; the next one on 26 does.
	send([]byte("not ZEP"))
	send(zepData(11, dataFrame(t, 6, 5, 0xffff, false, 4)))
	last := dataFrame(t, 7, 5, 0xffff, false, 4)
	send(zepData(26, last))
	rec, ok = recvWithin(t, b, 5*time.Second)
	if !ok || string(rec.PSDU) != string(last) {
		t.Errorf("b received % x, want % x (the channel-11 frame must not arrive)", rec.PSDU, last)
	}
	var peerNode *Node
	for _, n := range m.Nodes() {
		if n.String() == fmt.Sprintf("zep %v", peer.LocalAddr()) {
			peerNode = n
		}
	}
	if peerNode == nil {
		t.Fatalf("no peer node among %v", m.Nodes())
	}
	// The hub's writer runs on its own: wait for its count to settle.
	s := m.Stats()
	for deadline := time.Now().Add(5 * time.Second); s.ZEPOut < 2 && time.Now().Before(deadline); s = m.Stats() {
		time.Sleep(time.Millisecond)
	}
	if s.ZEPIn != 3 || s.ZEPErrors != 1 || s.ZEPOut < 2 {
		t.Errorf("stats %+v", s)
	}

	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("ServeZEP: %v", err)
	}
	if len(m.Nodes()) != 1 {
		t.Errorf("peer still attached after ServeZEP returned: %v", m.Nodes())
	}
}

func TestMirror(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	a := attach(t, m, "a", 1)
	attach(t, m, "b", 2)
	listener := listenLoopback(t)
	m.Mirror(listenLoopback(t), listener.LocalAddr().(*net.UDPAddr))

	data := fullFrame(t, 3, 1, 2, true, 30)
	if res := mustTransmit(t, a, data, TxOptions{DisableCSMA: true}); res.Status != TxAcked {
		t.Fatalf("status %v", res.Status)
	}
	other := dataFrame(t, 4, 1, 0xffff, false, 3)
	mustTransmit(t, a, other, TxOptions{Channel: 13, DisableCSMA: true})

	for i, want := range []struct {
		psdu    []byte
		channel uint8
	}{{data, 26}, {nil, 26}, {other, 13}} {
		z, _ := readZEP(t, listener)
		if want.psdu == nil { // the ACK
			if len(z.PSDU) != AckPSDULen || z.PSDU[2] != 3 {
				t.Errorf("mirror %d: % x, want the ACK of 3", i, z.PSDU)
			}
		} else if string(z.PSDU) != string(want.psdu) {
			t.Errorf("mirror %d: % x, want % x", i, z.PSDU, want.psdu)
		}
		if z.Channel != want.channel || !z.HasFCS() || z.Seq != uint32(i+1) {
			t.Errorf("mirror %d: %+v", i, z)
		}
	}

	// A mirror that cannot send is counted, never fatal.
	broken := listenLoopback(t)
	broken.Close()
	m.Mirror(broken, nil)
	mustTransmit(t, a, other, TxOptions{DisableCSMA: true})
	for deadline := time.Now().Add(5 * time.Second); m.Stats().MirrorErrors == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the broken mirror's failure was not counted")
		}
		time.Sleep(time.Millisecond)
	}
	// Each mirror has its own writer: the first may count its fourth frame
	// after the broken one has counted its error.
	s := m.Stats()
	for deadline := time.Now().Add(5 * time.Second); s.MirrorSent < 4 && time.Now().Before(deadline); s = m.Stats() {
		time.Sleep(time.Millisecond)
	}
	if s.MirrorSent != 4 {
		t.Errorf("stats %+v", s)
	}
}

// stableGoroutines waits until the goroutine count stops falling.
func stableGoroutines() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(5 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return n
		}
		n = m
	}
	return n
}

func settleGoroutines(limit int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(3 * time.Second); n > limit && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestNoGoroutineLeak stops a medium in the middle of everything: a ZEP
// hub with a peer, a mirror, transmissions and a scan waiting. Every
// goroutine must end, and every waiter return.
func TestNoGoroutineLeak(t *testing.T) {
	before := stableGoroutines()
	for _, stop := range []string{"cancel", "close"} {
		t.Run(stop, func(t *testing.T) {
			m := New(Config{Seed: 1, TimeScale: 1})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runDone := make(chan error, 1)
			go func() { runDone <- m.Run(ctx) }()
			hub := listenLoopback(t)
			served := make(chan error, 1)
			go func() { served <- m.ServeZEP(ctx, hub) }()
			m.Mirror(listenLoopback(t), listenLoopback(t).LocalAddr().(*net.UDPAddr))

			a := attach(t, m, "a", 1)
			peer, err := net.DialUDP("udp4", loopback, hub.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			peer.Write(zepData(26, dataFrame(t, 1, 5, 1, false, 4)))
			if _, ok := recvWithin(t, a, 5*time.Second); !ok {
				t.Fatal("peer frame not received")
			}
			// Real time: a long scan and a long queue are still under way.
			scanErr := make(chan error, 1)
			go func() {
				_, err := a.EnergyScan(context.Background(), 26, time.Hour)
				scanErr <- err
			}()
			var txs []*Tx
			for i := range 5 {
				tx, err := a.StartTransmit(fullFrame(t, uint8(i), 1, 5, true, 127), TxOptions{})
				if err != nil {
					t.Fatal(err)
				}
				txs = append(txs, tx)
			}
			if stop == "cancel" {
				cancel()
			} else {
				m.Close()
			}
			<-runDone
			if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("ServeZEP: %v", err)
			}
			if err := <-scanErr; !errors.Is(err, ErrClosed) {
				t.Errorf("scan: %v", err)
			}
			for _, tx := range txs {
				if _, err := tx.Result(); !errors.Is(err, ErrClosed) {
					t.Errorf("tx: %v", err)
				}
			}
		})
	}
	if after := settleGoroutines(before); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
