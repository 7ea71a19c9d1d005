package l2cap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// pair is two ends of one channel: a sends to b.
type pair struct {
	a, b   *Channel
	frames [][]byte // K-frames a emitted, not yet delivered to b
}

func newPair(t testing.TB, ca, cb ChannelConfig) *pair {
	t.Helper()
	if err := ca.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cb.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := NewChannel(ca, PSMIPSP, 0x40, Peer{CID: 0x41, MTU: cb.MTU, MPS: cb.MPS, InitialCredits: cb.InitialCredits})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewChannel(cb, PSMIPSP, 0x41, Peer{CID: 0x40, MTU: ca.MTU, MPS: ca.MPS, InitialCredits: ca.InitialCredits})
	if err != nil {
		t.Fatal(err)
	}
	return &pair{a: a, b: b}
}

// emit records a K-frame, checking its basic header.
func (p *pair) emit(k []byte) error {
	pdu, err := ParsePDU(k)
	if err != nil {
		return err
	}
	if pdu.CID() != p.b.LocalCID() {
		return fmt.Errorf("K-frame for CID %v, want %v", pdu.CID(), p.b.LocalCID())
	}
	if len(pdu.Payload()) > int(p.a.RemoteMPS()) {
		return fmt.Errorf("K-frame payload %d above MPS %d", len(pdu.Payload()), p.a.RemoteMPS())
	}
	p.frames = append(p.frames, append([]byte(nil), k...))
	return nil
}

// deliver hands the emitted K-frames to b, returning b's credits to a after
// each, and collects the SDUs b completes.
func (p *pair) deliver(t testing.TB) [][]byte {
	t.Helper()
	var sdus [][]byte
	for _, k := range p.frames {
		sdu, done, err := p.b.Receive(k[HeaderLen:])
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if done {
			sdus = append(sdus, append([]byte(nil), sdu...))
		}
		if n := p.b.CreditsToReturn(); n > 0 {
			if err := p.a.AddCredits(n); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.frames = p.frames[:0]
	return sdus
}

func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

// Every SDU size 0–1280 at every MPS of interest: K-frame count and sizes,
// the SDU Length in the first K-frame, and a byte-exact SDU at the other
// end.
func TestSegmentationRoundTrip(t *testing.T) {
	for _, mps := range []uint16{23, 27, 64, 247, 251, 1280 + 2} {
		t.Run(fmt.Sprint("MPS ", mps), func(t *testing.T) {
			p := newPair(t, ChannelConfig{MPS: mps}, ChannelConfig{MPS: mps})
			for n := 0; n <= 1280; n++ {
				sdu := pattern(n, n)
				sent, err := p.a.Send(sdu, p.emit)
				if err != nil {
					t.Fatalf("Send(%d): %v", n, err)
				}
				want := KFrames(n, mps)
				if sent != want || len(p.frames) != want || p.a.Pending() != 0 {
					t.Fatalf("SDU of %d: %d K-frames emitted (%d recorded, %d pending), want %d", n, sent, len(p.frames), p.a.Pending(), want)
				}
				if got := int(binary.LittleEndian.Uint16(p.frames[0][HeaderLen:])); got != n {
					t.Fatalf("SDU Length %d, want %d", got, n)
				}
				// Every K-frame but the last is full.
				for i, k := range p.frames[:len(p.frames)-1] {
					if len(k)-HeaderLen != int(mps) {
						t.Fatalf("SDU of %d: K-frame %d of %d octets, MPS %d", n, i, len(k)-HeaderLen, mps)
					}
				}
				sdus := p.deliver(t)
				if len(sdus) != 1 || !bytes.Equal(sdus[0], sdu) {
					t.Fatalf("SDU of %d: received %d SDUs", n, len(sdus))
				}
			}
			sa, sb := p.a.Stats(), p.b.Stats()
			if sa.SDUsSent != 1281 || sb.SDUsReceived != 1281 || sa.KFramesSent != sb.KFramesReceived || sa.CreditStalls != 0 {
				t.Errorf("stats: sender %+v receiver %+v", sa, sb)
			}
		})
	}
}

// A 150-octet SDU at MPS 100: the exact K-frames (§3.4).
func TestKFrameBytes(t *testing.T) {
	p := newPair(t, ChannelConfig{}, ChannelConfig{MPS: 100})
	sdu := pattern(150, 1)
	if _, err := p.a.Send(sdu, p.emit); err != nil {
		t.Fatal(err)
	}
	want0 := append([]byte{100, 0, 0x41, 0, 150, 0}, sdu[:98]...)
	want1 := append([]byte{52, 0, 0x41, 0}, sdu[98:]...)
	if len(p.frames) != 2 || !bytes.Equal(p.frames[0], want0) || !bytes.Equal(p.frames[1], want1) {
		t.Errorf("K-frames\n%x\nwant\n%x\n%x", p.frames, want0, want1)
	}
}

func TestDefaults(t *testing.T) {
	var c ChannelConfig
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.MTU != 1280 || c.MPS != 247 || c.InitialCredits != 12 || c.QueueLen != 8 {
		t.Errorf("defaults %+v", c)
	}
	for _, c := range []struct {
		mtu, mps uint16
		want     uint16
	}{{1280, 247, 12}, {1280, 23, 112}, {1280, 1282, 2}, {1280, 1281, 4}, {65535, 23, 5700}, {65535, 65533, 4}} {
		if got := DefaultCredits(c.mtu, c.mps); got != c.want {
			t.Errorf("DefaultCredits(%d, %d) = %d, want %d", c.mtu, c.mps, got, c.want)
		}
	}
	for _, bad := range []ChannelConfig{{MTU: 22}, {MPS: 22}, {MPS: 65534}, {QueueLen: -1}, {QueueLen: MaxQueueLen + 1}} {
		if err := bad.Validate(); !errors.Is(err, ErrBadParameter) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := NewChannel(ChannelConfig{}, PSMIPSP, 0x3f, Peer{CID: 0x40, MTU: 23, MPS: 23}); !errors.Is(err, ErrBadParameter) {
		t.Errorf("local CID 0x3f: %v", err)
	}
	if _, err := NewChannel(ChannelConfig{}, PSMIPSP, 0x40, Peer{CID: 0x40, MTU: 23, MPS: 22}); !errors.Is(err, ErrBadParameter) {
		t.Errorf("peer MPS 22: %v", err)
	}
}

// Credits run out: the rest waits in the queue, later SDUs queue behind
// it, and AddCredits + Resume sends them in order.
func TestCreditExhaustion(t *testing.T) {
	p := newPair(t, ChannelConfig{}, ChannelConfig{MPS: 23, InitialCredits: 3})
	sdu1, sdu2 := pattern(100, 1), pattern(40, 2) // 5 and 2 K-frames
	sent, err := p.a.Send(sdu1, p.emit)
	if err != nil || sent != 3 || p.a.Pending() != 1 || p.a.Credits() != 0 {
		t.Fatalf("Send: sent %d pending %d credits %d: %v", sent, p.a.Pending(), p.a.Credits(), err)
	}
	sent, err = p.a.Send(sdu2, p.emit)
	if err != nil || sent != 0 || p.a.Pending() != 2 {
		t.Fatalf("second Send: sent %d pending %d: %v", sent, p.a.Pending(), err)
	}
	if s := p.a.Stats(); s.CreditStalls != 2 || s.SDUsSent != 0 {
		t.Errorf("stats %+v", s)
	}
	// Resume without credits sends nothing.
	if sent, err := p.a.Resume(p.emit); sent != 0 || err != nil {
		t.Errorf("Resume without credits: %d %v", sent, err)
	}
	if err := p.a.AddCredits(2); err != nil {
		t.Fatal(err)
	}
	if sent, err := p.a.Resume(p.emit); sent != 2 || err != nil || p.a.Pending() != 1 {
		t.Fatalf("Resume: sent %d pending %d: %v", sent, p.a.Pending(), err)
	}
	if err := p.a.AddCredits(10); err != nil {
		t.Fatal(err)
	}
	if sent, err := p.a.Resume(p.emit); sent != 2 || err != nil || p.a.Pending() != 0 || p.a.Credits() != 8 {
		t.Fatalf("Resume: sent %d pending %d credits %d: %v", sent, p.a.Pending(), p.a.Credits(), err)
	}
	// b granted 3 credits and no more: deliver checks its credit
	// accounting without the returns (the test added credits itself).
	p.b.rxCredits = 9
	sdus := p.deliver(t)
	if len(sdus) != 2 || !bytes.Equal(sdus[0], sdu1) || !bytes.Equal(sdus[1], sdu2) {
		t.Errorf("received %d SDUs", len(sdus))
	}
}

// A peer that never returns credits: SDUs queue up to QueueLen, then Send
// refuses at once; nothing blocks and memory stays bounded.
func TestPeerWithholdsCredits(t *testing.T) {
	p := newPair(t, ChannelConfig{QueueLen: 4}, ChannelConfig{InitialCredits: 1})
	if sent, err := p.a.Send(pattern(10, 0), p.emit); sent != 1 || err != nil {
		t.Fatalf("first Send: %d %v", sent, err)
	}
	for i := range 4 {
		if sent, err := p.a.Send(pattern(1280, i), p.emit); sent != 0 || err != nil {
			t.Fatalf("Send %d: %d %v", i, sent, err)
		}
	}
	for range 100 {
		if _, err := p.a.Send(pattern(1280, 9), p.emit); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Send with a full queue: %v", err)
		}
	}
	s := p.a.Stats()
	if p.a.Pending() != 4 || s.QueueFull != 100 || s.CreditStalls != 4 || len(p.a.queue) != 4 {
		t.Errorf("pending %d stats %+v", p.a.Pending(), s)
	}
	// Credits arrive at last: the queue drains.
	if err := p.a.AddCredits(4 * 6); err != nil {
		t.Fatal(err)
	}
	if sent, err := p.a.Resume(p.emit); sent != 24 || err != nil || p.a.Pending() != 0 {
		t.Errorf("Resume: %d %v, pending %d", sent, err, p.a.Pending())
	}
}

func TestCreditOverflow(t *testing.T) {
	p := newPair(t, ChannelConfig{}, ChannelConfig{})
	if err := p.a.AddCredits(65535 - 12); err != nil {
		t.Fatal(err)
	}
	err := p.a.AddCredits(1)
	if !errors.Is(err, ErrProtocol) || !errors.Is(err, ErrCreditOverflow) {
		t.Fatalf("AddCredits past 65535: %v", err)
	}
	if p.a.Credits() != 65535 || p.a.Stats().ProtocolErrors != 1 {
		t.Errorf("credits %d stats %+v", p.a.Credits(), p.a.Stats())
	}
}

// emit failing: the K-frame is not counted, and Resume retries it.
func TestEmitError(t *testing.T) {
	p := newPair(t, ChannelConfig{}, ChannelConfig{MPS: 23})
	sdu := pattern(100, 3)
	busy := errors.New("ACL queue full")
	calls := 0
	sent, err := p.a.Send(sdu, func(k []byte) error {
		if calls++; calls == 3 {
			return busy
		}
		return p.emit(k)
	})
	if !errors.Is(err, busy) || sent != 2 || p.a.Pending() != 1 || p.a.Credits() != p.b.cfg.InitialCredits-2 {
		t.Fatalf("Send: %d %v pending %d credits %d", sent, err, p.a.Pending(), p.a.Credits())
	}
	if s := p.a.Stats(); s.CreditStalls != 0 {
		t.Errorf("an emit error counted as a credit stall: %+v", s)
	}
	if sent, err := p.a.Resume(p.emit); sent != 3 || err != nil {
		t.Fatalf("Resume: %d %v", sent, err)
	}
	if sdus := p.deliver(t); len(sdus) != 1 || !bytes.Equal(sdus[0], sdu) {
		t.Errorf("received %d SDUs", len(sdus))
	}
}

func TestSendRefused(t *testing.T) {
	p := newPair(t, ChannelConfig{}, ChannelConfig{MTU: 100})
	if _, err := p.a.Send(make([]byte, 101), p.emit); !errors.Is(err, ErrSDUTooLarge) {
		t.Errorf("SDU above the peer's MTU: %v", err)
	}
	p.a.close()
	if _, err := p.a.Send(make([]byte, 10), p.emit); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: %v", err)
	}
	if _, _, err := p.a.Receive([]byte{0, 0}); !errors.Is(err, ErrClosed) {
		t.Errorf("Receive on a closed channel: %v", err)
	}
	if len(p.frames) != 0 {
		t.Errorf("%d K-frames emitted", len(p.frames))
	}
}

func TestReceiveProtocolErrors(t *testing.T) {
	kf := func(sduLen int, data int) []byte {
		return append(binary.LittleEndian.AppendUint16(nil, uint16(sduLen)), make([]byte, data)...)
	}
	for _, c := range []struct {
		name   string
		cfg    ChannelConfig
		frames [][]byte
		want   error
	}{
		{"first K-frame of 1 octet", ChannelConfig{}, [][]byte{{5}}, ErrTruncated},
		{"above MPS", ChannelConfig{MPS: 30}, [][]byte{kf(29, 29)}, ErrMPSExceeded},
		{"SDU above MTU", ChannelConfig{MTU: 100}, [][]byte{kf(101, 10)}, ErrMTUExceeded},
		{"first K-frame overruns", ChannelConfig{}, [][]byte{kf(10, 11)}, ErrSDUOverrun},
		{"continuation overruns", ChannelConfig{}, [][]byte{kf(10, 5), make([]byte, 6)}, ErrSDUOverrun},
		{"no credits", ChannelConfig{InitialCredits: 2}, [][]byte{kf(100, 10), make([]byte, 10), make([]byte, 10)}, ErrNoCredits},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t, ChannelConfig{}, c.cfg)
			var err error
			for _, k := range c.frames {
				if _, _, err = p.b.Receive(k); err != nil {
					break
				}
			}
			if !errors.Is(err, ErrProtocol) || !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if p.b.Stats().ProtocolErrors != 1 || p.b.rxBusy {
				t.Errorf("stats %+v busy %v", p.b.Stats(), p.b.rxBusy)
			}
			// The SDU was dropped: a new one starts cleanly (with credits).
			p.b.rxCredits = 10
			if sdu, done, err := p.b.Receive(kf(3, 3)); err != nil || !done || len(sdu) != 3 {
				t.Errorf("next SDU: %x %v %v", sdu, done, err)
			}
		})
	}
}

// Credit return policy: nothing until the peer holds half the grant or
// less, then everything used, back to the grant; never more.
func TestCreditsToReturn(t *testing.T) {
	p := newPair(t, ChannelConfig{}, ChannelConfig{MPS: 23, InitialCredits: 10})
	one := []byte{1, 0, 0} // a 1-octet SDU in one K-frame
	for i := 1; i <= 4; i++ {
		if _, _, err := p.b.Receive(one); err != nil {
			t.Fatal(err)
		}
		if n := p.b.CreditsToReturn(); n != 0 {
			t.Fatalf("after %d K-frames: return %d", i, n)
		}
	}
	if _, _, err := p.b.Receive(one); err != nil {
		t.Fatal(err)
	}
	if n := p.b.CreditsToReturn(); n != 5 || p.b.PeerCredits() != 10 {
		t.Fatalf("after 5 K-frames: return %d, peer holds %d", n, p.b.PeerCredits())
	}
	if n := p.b.CreditsToReturn(); n != 0 {
		t.Errorf("returned twice: %d", n)
	}
	// A grant of 1 comes back after every K-frame.
	q := newPair(t, ChannelConfig{}, ChannelConfig{MPS: 23, InitialCredits: 1})
	for range 3 {
		if _, _, err := q.b.Receive(one); err != nil {
			t.Fatal(err)
		}
		if n := q.b.CreditsToReturn(); n != 1 {
			t.Fatalf("grant of 1: return %d", n)
		}
	}
	if s := q.b.Stats(); s.CreditsGranted != 3 {
		t.Errorf("stats %+v", s)
	}
}

// Sender and receiver stay in step over many SDUs with the default policy:
// the sender never stalls.
func TestCreditsNeverStall(t *testing.T) {
	for _, mps := range []uint16{23, 247} {
		p := newPair(t, ChannelConfig{}, ChannelConfig{MPS: mps})
		for i := range 200 {
			if _, err := p.a.Send(pattern(1280-i, i), p.emit); err != nil {
				t.Fatal(err)
			}
			if p.a.Pending() != 0 {
				t.Fatalf("MPS %d: SDU %d stalled with %d credits", mps, i, p.a.Credits())
			}
			p.deliver(t)
			if p.a.Credits() != p.b.PeerCredits() {
				t.Fatalf("sender holds %d credits, receiver thinks %d", p.a.Credits(), p.b.PeerCredits())
			}
		}
	}
}

func TestAllocations(t *testing.T) {
	p := newPair(t, ChannelConfig{}, ChannelConfig{MPS: 247})
	sdu := pattern(1280, 0)
	var frames [][]byte
	nop := func([]byte) error { return nil }
	if n := testing.AllocsPerRun(100, func() {
		if _, err := p.a.Send(sdu, nop); err != nil {
			t.Fatal(err)
		}
		if err := p.a.AddCredits(6); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Send: %v allocations", n)
	}
	if _, err := p.a.Send(sdu, func(k []byte) error { frames = append(frames, append([]byte(nil), k[HeaderLen:]...)); return nil }); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, k := range frames {
			if _, _, err := p.b.Receive(k); err != nil {
				t.Fatal(err)
			}
		}
		p.b.CreditsToReturn()
	}); n != 0 {
		t.Errorf("Receive: %v allocations", n)
	}
	// The queue path: once its slots hold buffers, queueing and resuming
	// allocate nothing either.
	q := newPair(t, ChannelConfig{QueueLen: 2}, ChannelConfig{MPS: 247, InitialCredits: 1})
	q.a.txCredits = 0
	cycle := func() {
		for range 2 {
			if _, err := q.a.Send(sdu, nop); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.a.AddCredits(12); err != nil {
			t.Fatal(err)
		}
		if _, err := q.a.Resume(nop); err != nil || q.a.Pending() != 0 {
			t.Fatal(err)
		}
	}
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Errorf("queue and Resume: %v allocations", n)
	}
}
