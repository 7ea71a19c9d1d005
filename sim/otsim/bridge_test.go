package otsim

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

const (
	testPAN      = 0xface
	testChannel  = 15
	testPortBase = 9000
	testNodeID   = 1
)

// datagram is one datagram on the fake OpenThread medium.
type datagram struct {
	port uint16
	data []byte
}

// fakeLink is OpenThread's UDP medium as the bridge sees it, in memory:
// the test plays ot-rcp by putting datagrams in "in" and reading what the
// bridge sends from "out".
type fakeLink struct {
	in     chan datagram
	out    chan []byte
	closed chan struct{}
}

func newFakeLink() *fakeLink {
	return &fakeLink{in: make(chan datagram, 16), out: make(chan []byte, 64), closed: make(chan struct{})}
}

func (l *fakeLink) ReadDatagram(buf []byte) (int, uint16, error) {
	select {
	case d := <-l.in:
		return copy(buf, d.data), d.port, nil
	case <-l.closed:
		return 0, 0, errors.New("closed")
	}
}

func (l *fakeLink) WriteDatagram(b []byte) error {
	select {
	case <-l.closed:
		return errors.New("closed")
	default:
	}
	select {
	case l.out <- append([]byte(nil), b...):
		return nil
	default:
		return errors.New("fake link: out full")
	}
}

func (l *fakeLink) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}

// fromRCP sends a datagram as ot-rcp node testNodeID does.
func (l *fakeLink) fromRCP(ch uint8, psdu []byte) {
	l.in <- datagram{port: NodePort(testPortBase, testNodeID), data: AppendDatagram(nil, ch, psdu)}
}

// next returns the bridge's next datagram, failing after a second.
func (l *fakeLink) next(t *testing.T) (uint8, []byte) {
	t.Helper()
	select {
	case d := <-l.out:
		ch, psdu, err := ParseDatagram(d)
		if err != nil {
			t.Fatalf("bridge sent a bad datagram %x: %v", d, err)
		}
		return ch, psdu
	case <-time.After(time.Second):
		t.Fatal("no datagram from the bridge within 1 s")
	}
	return 0, nil
}

// none checks that the bridge sends nothing for d.
func (l *fakeLink) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case b := <-l.out:
		t.Fatalf("unexpected datagram from the bridge: %x", b)
	case <-time.After(d):
	}
}

func startMedium(t *testing.T, scale float64) *medium.Medium {
	t.Helper()
	m := medium.New(medium.Config{Seed: 7, TimeScale: scale})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("medium Run: %v", err)
		}
	})
	return m
}

func startBridge(t *testing.T, m *medium.Medium, edit ...func(*Config)) (*Bridge, *fakeLink) {
	t.Helper()
	lk := newFakeLink()
	cfg := Config{NodeID: testNodeID, Medium: m, Channel: testChannel, PANID: testPAN, PortBase: testPortBase, link: lk}
	for _, e := range edit {
		e(&cfg)
	}
	b, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, lk
}

var peerExt = [8]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}

func attachPeer(t *testing.T, m *medium.Medium) *medium.Node {
	t.Helper()
	n, err := m.Attach(medium.NodeConfig{Name: "6ln", ExtAddr: peerExt, ShortAddr: 0xfffe, PANID: testPAN, Channel: testChannel, RxOnWhenIdle: true})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// frame builds a 2006 intra-PAN data frame with its FCS.
func frame(t *testing.T, seq uint8, pan uint16, dst, src ieee802154.Address, ar bool, payload string) []byte {
	t.Helper()
	h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: ar, Seq: seq,
		DstPAN: ieee802154.PANID(pan), SrcPAN: ieee802154.PANID(pan), Dst: dst, Src: src}
	b, err := ieee802154.AppendFrame(nil, &h, []byte(payload), true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ext(a [8]byte) ieee802154.Address { return ieee802154.ExtAddress(ieee802154.ExtAddr(a)) }

var bcast = ieee802154.ShortAddress(ieee802154.BroadcastShort)

func waitStats(t *testing.T, b *Bridge, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		s := b.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never got there: %+v", s)
		}
		time.Sleep(time.Millisecond)
	}
}

func receive(t *testing.T, n *medium.Node) medium.Reception {
	t.Helper()
	select {
	case r := <-n.Receive():
		return r
	case <-time.After(2 * time.Second):
		t.Fatal("medium node received nothing within 2 s")
	}
	return medium.Reception{}
}

// A unicast from ot-rcp with AR reaches our node, whose medium ACK goes
// back to ot-rcp on the frame's channel with the frame's sequence number.
func TestRCPToMediumAcked(t *testing.T) {
	m := startMedium(t, 0)
	b, lk := startBridge(t, m)
	peer := attachPeer(t, m)

	psdu := frame(t, 0x42, testPAN, ext(peerExt), ext(EUI64(testNodeID)), true, "acked")
	lk.fromRCP(testChannel, psdu)
	rec := receive(t, peer)
	if !bytes.Equal(rec.PSDU, psdu) || !rec.AckSent {
		t.Fatalf("peer got %x (acked %v), want %x acked", rec.PSDU, rec.AckSent, psdu)
	}
	ch, ack := lk.next(t)
	if ch != testChannel || len(ack) != 5 || ack[2] != 0x42 || ieee802154.FrameControl(uint16(ack[0])|uint16(ack[1])<<8).Type() != ieee802154.FrameAck {
		t.Fatalf("ACK to ot-rcp: channel %d %x, want an Imm-Ack for seq 0x42 on %d", ch, ack, testChannel)
	}
	if ieee802154.FCS(ack[:3]) != uint16(ack[3])|uint16(ack[4])<<8 {
		t.Errorf("ACK %x has a bad FCS", ack)
	}
	s := waitStats(t, b, func(s Stats) bool { return s.AcksToRCP == 1 })
	if s.FromRCP != 1 || s.Errors != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A broadcast from ot-rcp reaches our node; nothing comes back. A unicast
// to nobody gets no ACK: ot-rcp's own timeout handles it.
func TestRCPToMediumUnacked(t *testing.T) {
	m := startMedium(t, 0)
	b, lk := startBridge(t, m)
	peer := attachPeer(t, m)

	lk.fromRCP(testChannel, frame(t, 1, testPAN, bcast, ext(EUI64(testNodeID)), false, "bcast"))
	if rec := receive(t, peer); rec.PSDU[2] != 1 || rec.AckSent {
		t.Fatalf("peer got %x acked %v", rec.PSDU, rec.AckSent)
	}
	lk.fromRCP(testChannel, frame(t, 2, testPAN, ext([8]byte{2, 0, 0, 0, 0, 0, 0, 0x99}), ext(EUI64(testNodeID)), true, "nobody"))
	waitStats(t, b, func(s Stats) bool { return s.FromRCP == 2 })
	lk.none(t, 50*time.Millisecond)
	if s := b.Stats(); s.AcksToRCP != 0 {
		t.Errorf("stats %+v", s)
	}
}

// Our node's unicast to the RCP is acknowledged by the medium on its
// behalf and forwarded to ot-rcp; when ot-rcp acknowledges too, its ACK
// stays off the medium; when it does not, RCPSilent counts it.
func TestMediumToRCP(t *testing.T) {
	m := startMedium(t, 0)
	b, lk := startBridge(t, m)
	peer := attachPeer(t, m)

	psdu := frame(t, 7, testPAN, ext(EUI64(testNodeID)), ext(peerExt), true, "to-rcp")
	res, err := peer.Transmit(context.Background(), psdu, medium.TxOptions{})
	if err != nil || res.Status != medium.TxAcked {
		t.Fatalf("Transmit: %+v, %v; want TxAcked", res, err)
	}
	ch, got := lk.next(t)
	if ch != testChannel || !bytes.Equal(got, psdu) {
		t.Fatalf("ot-rcp got channel %d %x, want %d %x", ch, got, testChannel, psdu)
	}
	// ot-rcp acknowledges (radio.c radioSendAck): not put on the medium.
	lk.fromRCP(testChannel, []byte{0x12, 0x10, 7, 0, 0})
	waitStats(t, b, func(s Stats) bool { return s.RCPAcks == 1 })

	// A second frame ot-rcp does not acknowledge.
	psdu[2] = 8
	if res, err := peer.Transmit(context.Background(), psdu, medium.TxOptions{}); err != nil || res.Status != medium.TxAcked {
		t.Fatalf("Transmit: %+v, %v; want TxAcked", res, err)
	}
	lk.next(t)
	time.Sleep(RCPAckWindow + 20*time.Millisecond)
	s := b.Stats()
	if s.MediumAcked != 2 || s.RCPSilent != 1 || s.RCPAcksOnAir != 0 || s.ToRCP != 2 {
		t.Errorf("stats %+v, want 2 acknowledged by the medium, 1 silent, none on the air", s)
	}

	// A frame for someone else is not forwarded (the node's address
	// filter) and not acknowledged.
	other := frame(t, 9, testPAN, ext([8]byte{2, 0, 0, 0, 0, 0, 0, 0x77}), ext(peerExt), true, "other")
	if res, _ := peer.Transmit(context.Background(), other, medium.TxOptions{MaxFrameRetries: -1}); res.Status != medium.TxNoAck {
		t.Errorf("frame to a third party: %v, want no ACK", res.Status)
	}
	lk.none(t, 20*time.Millisecond)
}

// The bridge learns the PAN ID and short address the host gave the RCP
// from the frames it sends, and the medium then acknowledges frames to
// them.
func TestLearnsAddresses(t *testing.T) {
	m := startMedium(t, 0)
	b, lk := startBridge(t, m, func(c *Config) { c.PANID = 0 })
	peer := attachPeer(t, m)
	if err := peer.Configure(func(c *medium.NodeConfig) { c.PANID = 0x1234 }); err != nil {
		t.Fatal(err)
	}
	lk.fromRCP(testChannel, frame(t, 1, 0x1234, bcast, ieee802154.ShortAddress(0x0001), false, "hello"))
	receive(t, peer)
	c := b.Node().Config()
	if c.PANID != 0x1234 || c.ShortAddr != 1 || c.ExtAddr != EUI64(testNodeID) {
		t.Fatalf("node config %+v: want PAN 0x1234, short 1, ext %x", c, EUI64(testNodeID))
	}
	psdu := frame(t, 3, 0x1234, ieee802154.ShortAddress(1), ext(peerExt), true, "to-short")
	if res, err := peer.Transmit(context.Background(), psdu, medium.TxOptions{}); err != nil || res.Status != medium.TxAcked {
		t.Fatalf("Transmit to the learnt short address: %+v, %v", res, err)
	}
}

// Datagrams from other simulated nodes, the bridge's own looped-back ones
// and malformed ones are not put on the medium.
func TestIgnoresOthers(t *testing.T) {
	m := startMedium(t, 0)
	b, lk := startBridge(t, m)
	peer := attachPeer(t, m)
	psdu := frame(t, 1, testPAN, bcast, ext(EUI64(2)), false, "from-2")
	lk.in <- datagram{port: NodePort(testPortBase, 2), data: AppendDatagram(nil, testChannel, psdu)}
	lk.in <- datagram{port: NodePort(testPortBase, MaxNodeID), data: AppendDatagram(nil, testChannel, psdu)}
	lk.in <- datagram{port: NodePort(testPortBase, testNodeID), data: []byte{testChannel, 1, 2}}
	s := waitStats(t, b, func(s Stats) bool { return s.Ignored == 2 && s.Errors == 1 })
	if s.FromRCP != 0 {
		t.Errorf("stats %+v", s)
	}
	select {
	case r := <-peer.Receive():
		t.Errorf("peer received %x", r.PSDU)
	case <-time.After(20 * time.Millisecond):
	}
}

// Frames without AR that ot-rcp sends while the previous one is still on
// our medium wait their turn: ot-rcp reported the first done as soon as
// its datagram was written, and the host sent the next (the two fragments
// of an RA, say). None may be lost.
func TestBroadcastsQueued(t *testing.T) {
	m := startMedium(t, 0)
	b, lk := startBridge(t, m)
	peer := attachPeer(t, m)
	release := m.Hold()
	lk.fromRCP(testChannel, frame(t, 1, testPAN, bcast, ext(EUI64(testNodeID)), false, "first"))
	waitStats(t, b, func(s Stats) bool { return s.FromRCP == 1 })
	lk.fromRCP(testChannel, frame(t, 2, testPAN, bcast, ext(EUI64(testNodeID)), false, "second"))
	time.Sleep(20 * time.Millisecond)
	release()
	for _, want := range []byte{1, 2} {
		if rec := receive(t, peer); rec.PSDU[2] != want {
			t.Fatalf("peer got seq %d, want %d", rec.PSDU[2], want)
		}
	}
	// The bridge counts a frame after handing it on: the peer may have
	// it before the count moves.
	if s := waitStats(t, b, func(s Stats) bool { return s.FromRCP == 2 }); s.Superseded != 0 {
		t.Errorf("stats %+v, want 2 frames, none superseded", s)
	}
}

// A frame ot-rcp sends while one with AR is still waiting for the channel
// replaces it: ot-rcp gave up waiting for its ACK, and its radio holds one
// frame.
func TestSupersede(t *testing.T) {
	m := startMedium(t, 0)
	b, lk := startBridge(t, m)
	peer := attachPeer(t, m)
	nobody := ext([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x77})
	release := m.Hold()
	lk.fromRCP(testChannel, frame(t, 1, testPAN, nobody, ext(EUI64(testNodeID)), true, "first"))
	waitStats(t, b, func(s Stats) bool { return s.FromRCP == 1 })
	lk.fromRCP(testChannel, frame(t, 2, testPAN, bcast, ext(EUI64(testNodeID)), false, "second"))
	waitStats(t, b, func(s Stats) bool { return s.FromRCP == 2 })
	release()
	if rec := receive(t, peer); rec.PSDU[2] != 2 {
		t.Fatalf("peer got seq %d first, want 2", rec.PSDU[2])
	}
	select {
	case r := <-peer.Receive():
		t.Errorf("peer also received %x", r.PSDU)
	case <-time.After(20 * time.Millisecond):
	}
	if s := b.Stats(); s.Superseded != 1 {
		t.Errorf("stats %+v, want 1 superseded", s)
	}
}

// AckFromRCP: every frame heard goes to ot-rcp, whose own ACK goes on the
// medium and completes our node's transmission. The medium runs 20 times
// slower than real time so the in-process round trip fits the 864 µs
// (virtual) ACK wait.
func TestAckFromRCP(t *testing.T) {
	m := startMedium(t, 0.05)
	b, lk := startBridge(t, m, func(c *Config) { c.AckMode = AckFromRCP })
	peer := attachPeer(t, m)
	go func() {
		// Play ot-rcp: acknowledge every data frame with AR.
		for d := range lk.out {
			ch, psdu, err := ParseDatagram(d)
			if err != nil || psdu[0]&7 != 1 || psdu[0]&0x20 == 0 {
				continue
			}
			ack := []byte{0x02, 0x00, psdu[2], 0, 0}
			fcs := ieee802154.FCS(ack[:3])
			ack[3], ack[4] = byte(fcs), byte(fcs>>8)
			select {
			case lk.in <- datagram{port: NodePort(testPortBase, testNodeID), data: AppendDatagram(nil, ch, ack)}:
			case <-lk.closed:
				return
			}
		}
	}()
	psdu := frame(t, 5, testPAN, ext(EUI64(testNodeID)), ext(peerExt), true, "ack-me")
	res, err := peer.Transmit(context.Background(), psdu, medium.TxOptions{MaxFrameRetries: 2})
	if err != nil || res.Status != medium.TxAcked {
		t.Fatalf("Transmit: %+v, %v; want TxAcked by ot-rcp's ACK", res, err)
	}
	s := waitStats(t, b, func(s Stats) bool { return s.RCPAcksOnAir >= 1 })
	if s.MediumAcked != 0 {
		t.Errorf("stats %+v: the medium acknowledged on ot-rcp's behalf", s)
	}
}

func TestStartValidates(t *testing.T) {
	m := startMedium(t, 0)
	for _, c := range []Config{
		{NodeID: 0, Medium: m, Channel: 15},
		{NodeID: 34, Medium: m, Channel: 15},
		{NodeID: 1, Channel: 15},
		{NodeID: 1, Medium: m, Channel: 15, BridgeID: 1},
		{NodeID: 1, Medium: m, Channel: 15, PortBase: 65530},
	} {
		c.link = newFakeLink()
		if b, err := Start(context.Background(), c); err == nil {
			b.Close()
			t.Errorf("Start(%+v) succeeded", c)
		}
	}
	// A bad channel is the medium's to refuse; the sockets are closed.
	lk := newFakeLink()
	if _, err := Start(context.Background(), Config{NodeID: 1, Medium: m, Channel: 5, link: lk}); !errors.Is(err, medium.ErrChannel) {
		t.Errorf("channel 5: %v, want medium.ErrChannel", err)
	}
	select {
	case <-lk.closed:
	default:
		t.Error("link left open after a failed Start")
	}
}

// Close stops everything; a context that ends does too.
func TestCloseAndCancel(t *testing.T) {
	m := startMedium(t, 0)
	lk := newFakeLink()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := Start(ctx, Config{NodeID: 1, Medium: m, Channel: 15, link: lk})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("goroutines still running 2 s after the context ended")
	}
	if _, ok := <-b.Node().Receive(); ok {
		t.Error("node still attached")
	}
	b.Close()
	b.Close()
}

func TestParseDatagram(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		ch   uint8
		psdu []byte
		ok   bool
	}{
		{in: []byte{15, 0x02, 0x00, 0x42, 0xae, 0xd4}, ch: 15, psdu: []byte{0x02, 0x00, 0x42, 0xae, 0xd4}, ok: true},
		{in: []byte{26, 1, 2, 3, 4}, ch: 26, psdu: []byte{1, 2, 3, 4}, ok: true},
		{in: nil},
		{in: []byte{15}},
		{in: []byte{15, 1, 2, 3}},
		{in: append([]byte{15}, make([]byte, 128)...)},
	} {
		ch, psdu, err := ParseDatagram(tc.in)
		if (err == nil) != tc.ok || ch != tc.ch || !bytes.Equal(psdu, tc.psdu) {
			t.Errorf("ParseDatagram(%x) = %d, %x, %v", tc.in, ch, psdu, err)
		}
		if err != nil && !errors.Is(err, ErrDatagram) {
			t.Errorf("ParseDatagram(%x): %v, want ErrDatagram", tc.in, err)
		}
		if tc.ok && !bytes.Equal(AppendDatagram(nil, ch, psdu), tc.in) {
			t.Errorf("AppendDatagram does not rebuild %x", tc.in)
		}
	}
	// radio.c otPlatRadioGetIeeeEui64; the transcripts' HWADDR of node 1.
	if got := EUI64(1); got != [8]byte{0x18, 0xb4, 0x30, 0, 0, 0, 0, 1} {
		t.Errorf("EUI64(1) = %x", got)
	}
	if got := EUI64(0x01020304); got != [8]byte{0x18, 0xb4, 0x30, 0, 1, 2, 3, 4} {
		t.Errorf("EUI64(0x01020304) = %x", got)
	}
}

func FuzzParseDatagram(f *testing.F) {
	f.Add([]byte{15, 0x02, 0x00, 0x42, 0xae, 0xd4})
	f.Add([]byte{15})
	f.Add(append([]byte{11}, make([]byte, 127)...))
	f.Fuzz(func(t *testing.T, d []byte) {
		ch, psdu, err := ParseDatagram(d)
		if err != nil {
			return
		}
		if len(psdu) < minPSDU || len(psdu) > maxPSDU || !bytes.Equal(AppendDatagram(nil, ch, psdu), d) {
			t.Fatalf("ParseDatagram(%x) = %d, %x", d, ch, psdu)
		}
	})
}
