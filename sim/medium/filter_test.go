package medium

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

var (
	extA = ieee802154.ExtAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x01}
	extB = ieee802154.ExtAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x02}
)

func buildFrame(t *testing.T, h ieee802154.Header, payload []byte) []byte {
	t.Helper()
	if h.Version == 0 && h.Type != ieee802154.FrameBeacon {
		h.Version = ieee802154.Version2006
	}
	b, err := ieee802154.AppendFrame(nil, &h, payload, true)
	if err != nil {
		t.Fatalf("AppendFrame(%+v): %v", h, err)
	}
	return b
}

func TestAddressFiltering(t *testing.T) {
	short := ieee802154.ShortAddress
	ext := ieee802154.ExtAddress
	data := ieee802154.FrameData
	const pan, otherPAN = ieee802154.PANID(testPAN), ieee802154.PANID(0x1111)
	for _, tc := range []struct {
		name     string
		h        ieee802154.Header
		accept   bool // by b, a plain node (short 0x0002, extB)
		coord    bool // by the PAN coordinator (short 0x0003)
		badFCS   bool
		wantsAck bool
	}{
		{name: "short to b", h: ieee802154.Header{Type: data, DstPAN: pan, SrcPAN: pan, Dst: short(2), Src: short(1)}, accept: true},
		{name: "short to b with AR", h: ieee802154.Header{Type: data, AckRequest: true, DstPAN: pan, SrcPAN: pan, Dst: short(2), Src: short(1)}, accept: true, wantsAck: true},
		{name: "short to someone else", h: ieee802154.Header{Type: data, DstPAN: pan, SrcPAN: pan, Dst: short(7), Src: short(1)}},
		{name: "broadcast in the PAN", h: ieee802154.Header{Type: data, DstPAN: pan, SrcPAN: pan, Dst: short(0xffff), Src: short(1)}, accept: true, coord: true},
		{name: "broadcast with AR is not acked", h: ieee802154.Header{Type: data, AckRequest: true, DstPAN: pan, SrcPAN: pan, Dst: short(0xffff), Src: short(1)}, accept: true, coord: true},
		{name: "broadcast PAN and address", h: ieee802154.Header{Type: data, DstPAN: 0xffff, SrcPAN: pan, Dst: short(0xffff), Src: short(1)}, accept: true, coord: true},
		{name: "b's short address in another PAN", h: ieee802154.Header{Type: data, DstPAN: otherPAN, SrcPAN: otherPAN, Dst: short(2), Src: short(1)}},
		{name: "b's short address, broadcast PAN", h: ieee802154.Header{Type: data, DstPAN: 0xffff, SrcPAN: pan, Dst: short(2), Src: short(1)}, accept: true},
		{name: "extended to b", h: ieee802154.Header{Type: data, AckRequest: true, DstPAN: pan, SrcPAN: pan, Dst: ext(extB), Src: ext(extA)}, accept: true, wantsAck: true},
		{name: "extended to someone else", h: ieee802154.Header{Type: data, DstPAN: pan, SrcPAN: pan, Dst: ext(extA), Src: ext(extA)}},
		{name: "source only: for the coordinator", h: ieee802154.Header{Type: data, SrcPAN: pan, Src: short(1)}, coord: true},
		{name: "source only, other PAN", h: ieee802154.Header{Type: data, SrcPAN: otherPAN, Src: short(1)}},
		{name: "beacon of the PAN", h: ieee802154.Header{Type: ieee802154.FrameBeacon, SrcPAN: pan, Src: short(1)}, accept: true, coord: true},
		{name: "beacon of another PAN", h: ieee802154.Header{Type: ieee802154.FrameBeacon, SrcPAN: otherPAN, Src: short(1)}},
		{name: "bad FCS", h: ieee802154.Header{Type: data, DstPAN: pan, SrcPAN: pan, Dst: short(2), Src: short(1)}, badFCS: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startMedium(t, Config{Seed: 1})
			a := attach(t, m, "a", 1, func(c *NodeConfig) { c.ExtAddr = extA })
			b := attach(t, m, "b", 2, func(c *NodeConfig) { c.ExtAddr = extB })
			coord := attach(t, m, "coordinator", 3, func(c *NodeConfig) { c.PANCoordinator = true })
			sniffer := attach(t, m, "sniffer", 4, func(c *NodeConfig) { c.Promiscuous = true })
			payload := []byte{0, 0, 1, 2, 3}
			psdu := buildFrame(t, tc.h, payload)
			opts := TxOptions{DisableCSMA: true, MaxFrameRetries: -1}
			if tc.badFCS {
				psdu[len(psdu)-1] ^= 0xff
				opts.KeepFCS = true
			}
			res := mustTransmit(t, a, psdu, opts)
			gotB, gotC := drain(b), drain(coord)
			if (len(gotB) == 1) != tc.accept || len(gotB) > 1 {
				t.Errorf("b received %d frames, want accept=%v", len(gotB), tc.accept)
			}
			if (len(gotC) == 1) != tc.coord || len(gotC) > 1 {
				t.Errorf("coordinator received %d frames, want accept=%v", len(gotC), tc.coord)
			}
			if tc.wantsAck != (res.Status == TxAcked) || (len(gotB) == 1 && gotB[0].AckSent != tc.wantsAck) {
				t.Errorf("status %v (b: %+v), want acked=%v", res.Status, gotB, tc.wantsAck)
			}
			// The sniffer sees the frame, and the ACK if there was one,
			// and never acknowledges.
			want := 1
			if tc.wantsAck {
				want = 2
			}
			sn := drainAtLeast(sniffer, want, time.Second)
			if len(sn) != want || string(sn[0].PSDU) != string(psdu) || sn[0].BadFCS != tc.badFCS || sn[0].AckSent {
				t.Errorf("sniffer saw %+v", sn)
			}
		})
	}
}

func TestChannelsAndReceiverModes(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	other := attach(t, m, "on 15", 3, func(c *NodeConfig) { c.Channel = 15 })
	off := attach(t, m, "rx off", 4, func(c *NodeConfig) { c.RxOnWhenIdle = false })
	opts := TxOptions{DisableCSMA: true, MaxFrameRetries: -1}

	mustTransmit(t, a, dataFrame(t, 1, 1, 0xffff, false, 5), opts)
	if len(drain(b)) != 1 || len(drain(other)) != 0 || len(drain(off)) != 0 {
		t.Error("broadcast on 26: want b only")
	}
	// Sending on channel 15 reaches only the node tuned there.
	mustTransmit(t, a, dataFrame(t, 2, 1, 0xffff, false, 5), TxOptions{Channel: 15, DisableCSMA: true})
	if len(drain(b)) != 0 || len(drain(other)) != 1 {
		t.Error("broadcast on 15: want the node on 15 only")
	}
	// A node with its receiver off neither receives nor acknowledges.
	res := mustTransmit(t, a, dataFrame(t, 3, 1, 4, true, 5), opts)
	if res.Status != TxNoAck || len(drain(off)) != 0 {
		t.Errorf("to the sleeping node: %v", res.Status)
	}
	// Retune b at run time.
	if err := b.Configure(func(c *NodeConfig) { c.Channel = 15 }); err != nil {
		t.Fatal(err)
	}
	if err := b.Configure(func(c *NodeConfig) { c.Channel = 27 }); !errors.Is(err, ErrChannel) {
		t.Errorf("channel 27: %v", err)
	}
	mustTransmit(t, a, dataFrame(t, 4, 1, 0xffff, false, 5), TxOptions{Channel: 15, DisableCSMA: true})
	if len(drain(b)) != 1 || len(drain(other)) != 1 {
		t.Error("after retuning b to 15: want b and the node on 15")
	}
	// The frames on the air were: 1 + 1 + 1 (no ACK) + 1.
	if s := m.Stats(); s.Frames != 4 || s.Acks != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestFramePending: a sleepy child (receiver off) polls its parent with a
// MAC command and AR. It listens for the ACK although its receiver is off
// when idle, and the ACK's frame pending bit follows the parent's rule.
func TestFramePending(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	var asked []ieee802154.Address
	parent := attach(t, m, "parent", 1, func(c *NodeConfig) {
		c.FramePending = func(src ieee802154.Address) bool {
			asked = append(asked, src)
			return src == ieee802154.ShortAddress(5)
		}
	})
	child5 := attach(t, m, "child 5", 5, func(c *NodeConfig) { c.RxOnWhenIdle = false })
	child6 := attach(t, m, "child 6", 6, func(c *NodeConfig) { c.RxOnWhenIdle = false })

	poll := func(src uint16, seq uint8) []byte {
		// Data Request command (0x04).
		return buildFrame(t, ieee802154.Header{Type: ieee802154.FrameCommand, AckRequest: true, Seq: seq,
			DstPAN: testPAN, SrcPAN: testPAN, Dst: ieee802154.ShortAddress(1), Src: ieee802154.ShortAddress(ieee802154.ShortAddr(src))}, []byte{0x04})
	}
	res := mustTransmit(t, child5, poll(5, 10), TxOptions{})
	if res.Status != TxAcked || !res.FramePending || len(res.Ack) != AckPSDULen || res.Ack[0] != 0x12 || res.Ack[2] != 10 {
		t.Errorf("child 5: %+v", res)
	}
	rec := drain(parent)
	if len(rec) != 1 || !rec[0].AckSent || !rec[0].AckFramePending {
		t.Errorf("parent received %+v", rec)
	}
	res = mustTransmit(t, child6, poll(6, 11), TxOptions{})
	if res.Status != TxAcked || res.FramePending || res.Ack[0] != 0x02 {
		t.Errorf("child 6: %+v", res)
	}
	if len(asked) != 2 || asked[1] != ieee802154.ShortAddress(6) {
		t.Errorf("FramePending asked for %v", asked)
	}
	// The ACKs went to sleeping children only while they listened for
	// them; nobody was handed an ACK as a reception.
	if len(drain(child5))+len(drain(child6))+len(drain(parent)) != 1 {
		t.Error("ACKs were passed up")
	}
}

func TestEnergyScan(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	a := attach(t, m, "a", 1)
	far := attach(t, m, "far", 2)
	scanner := attach(t, m, "scanner", 3)
	m.SetLink(a, scanner, Link{RSSI: -42})
	m.SetLink(far, scanner, Link{Disconnected: true})
	ctx := context.Background()

	if rssi, err := scanner.EnergyScan(ctx, 26, 10*time.Millisecond); err != nil || rssi != NoiseFloor {
		t.Errorf("quiet channel: %d, %v", rssi, err)
	}
	// a's frame starts while the scan runs: the scan reports its RSSI,
	// and the scanner, busy scanning, does not receive it.
	release := m.Hold()
	if _, err := a.StartTransmit(fullFrame(t, 1, 1, 0xffff, false, 50), TxOptions{DisableCSMA: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := far.StartTransmit(fullFrame(t, 1, 2, 0xffff, false, 50), TxOptions{DisableCSMA: true}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		rssi int8
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		r, err := scanner.EnergyScan(ctx, 26, 5*time.Millisecond)
		ch <- result{r, err}
	}()
	// Let the scan register before time moves on.
	for deadline := time.Now().Add(5 * time.Second); ; {
		m.mu.Lock()
		n := len(m.events)
		m.mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	release()
	if r := <-ch; r.err != nil || r.rssi != -42 {
		t.Errorf("busy channel: %d, %v; want -42", r.rssi, r.err)
	}
	if got := drain(scanner); len(got) != 0 {
		t.Errorf("scanner received %d frames while scanning", len(got))
	}
	if rssi, _ := scanner.EnergyScan(ctx, 15, time.Millisecond); rssi != NoiseFloor {
		t.Errorf("channel 15: %d", rssi)
	}
}

func TestDetachAndClose(t *testing.T) {
	m := New(Config{Seed: 1})
	a, _ := m.Attach(NodeConfig{Name: "a", Channel: 26, RxOnWhenIdle: true})
	b, _ := m.Attach(NodeConfig{Name: "b", Channel: 26, RxOnWhenIdle: true})
	// Not running: the transmissions wait.
	txa, _ := a.StartTransmit(dataFrame(t, 1, 1, 2, false, 5), TxOptions{})
	txb, _ := b.StartTransmit(dataFrame(t, 1, 2, 1, false, 5), TxOptions{})
	a.Detach()
	if _, err := txa.Result(); !errors.Is(err, ErrDetached) {
		t.Errorf("detached: %v", err)
	}
	if _, ok := <-a.Receive(); ok {
		t.Error("a's reception channel is open")
	}
	if _, err := a.StartTransmit(dataFrame(t, 1, 1, 2, false, 5), TxOptions{}); !errors.Is(err, ErrDetached) {
		t.Errorf("transmit after detach: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Transmit(ctx, dataFrame(t, 2, 2, 1, false, 5), TxOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled transmit: %v", err)
	}
	m.Close()
	if _, err := txb.Result(); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: %v", err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	if _, err := m.Attach(NodeConfig{Channel: 26}); !errors.Is(err, ErrClosed) {
		t.Errorf("Attach after Close: %v", err)
	}
	if _, err := b.StartTransmit(make([]byte, 128), TxOptions{}); !errors.Is(err, ErrFrameLength) {
		t.Errorf("128 octets: %v", err)
	}
}
