//go:build linux

package rcp_test

// Opt-in: the driver against OpenThread's own RCP (the simulation build of
// ot-rcp, run through the forkpty transport as a user would), with a
// simulated 6LN on our medium reached through sim/otsim's bridge. Build
// ot-rcp as testdata/ot-rcp/README.md says and point LOWPANBR_OT_RCP at it.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/otsim"
)

func TestDriverWithRealOTRCP(t *testing.T) {
	path := oracle.OTRCP(t)
	const node = 1
	sixlnExt := [8]byte{0x02, 0, 0, 0, 0, 0, 0x6c, 0x01}
	w := startOTWorld(t, node, 22000, sixlnExt)
	ctx, log, br, sixln := w.ctx, w.log, w.br, w.sixln
	const channel, pan = otChannel, otPAN

	u, err := transport.ParseURL(fmt.Sprintf("spinel+hdlc+forkpty://%s?forkpty-arg=%d", path, node))
	if err != nil {
		t.Fatal(err)
	}
	d, err := rcp.Open(ctx, rcp.Config{Open: rcp.URLOpener(u, log), Name: "ot-rcp", Logger: log,
		Settings: radio.Settings{Channel: channel, PANID: pan, ShortAddr: 0xfffe}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer d.Close()
	id := d.Identity()
	if id.EUI64 != otsim.EUI64(node) {
		t.Fatalf("EUI-64 %x, want %x (radio.c otPlatRadioGetIeeeEui64)", id.EUI64, otsim.EUI64(node))
	}

	mk := func(seq uint8, dst, src ieee802154.Address, payload string) []byte {
		h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true, Seq: seq,
			DstPAN: pan, SrcPAN: pan, Dst: dst, Src: src}
		b, err := ieee802154.AppendFrame(nil, &h, []byte(payload), true)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rcpAddr := ieee802154.ExtAddress(ieee802154.ExtAddr(id.EUI64))
	sixlnAddr := ieee802154.ExtAddress(ieee802154.ExtAddr(sixlnExt))

	// Issue 11, defect 1: every transmission must leave the RCP listening
	// on the channel (sub_mac.cpp HandleTransmitDone switches to the
	// request's "RX channel after TX"). Alternate both directions.
	for i := range 10 {
		down := mk(uint8(0x40+i), sixlnAddr, rcpAddr, fmt.Sprintf("down-%d", i))
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := d.Transmit(tctx, down, radio.TxOptions{})
		tcancel()
		if err != nil || res.Status != radio.TxAcked {
			t.Fatalf("transmission %d: %+v, %v; want acknowledged by the 6LN", i, res, err)
		}
		select {
		case rec := <-sixln.Receive():
			if !bytes.Equal(rec.PSDU[:len(rec.PSDU)-2], down[:len(down)-2]) {
				t.Fatalf("6LN got %x, want %x", rec.PSDU, down)
			}
		case <-time.After(time.Second):
			t.Fatalf("transmission %d: the 6LN received nothing", i)
		}

		up := mk(uint8(0x80+i), rcpAddr, sixlnAddr, fmt.Sprintf("up-%d", i))
		if r, err := sixln.Transmit(ctx, up, medium.TxOptions{}); err != nil || r.Status != medium.TxAcked {
			t.Fatalf("6LN transmission %d: %+v %v", i, r, err)
		}
		select {
		case f := <-d.Receive():
			if !bytes.Equal(f.PSDU, up) || f.Channel != channel {
				t.Fatalf("driver received %x on %d, want %x on %d", f.PSDU, f.Channel, up, channel)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("after transmission %d the driver received nothing from the 6LN: is the RCP still on channel %d?", i, channel)
		}
	}
	// A datagram's 14 frames back to back (TransmitFrames): each request
	// is written the moment the previous transmit-done arrives, never
	// before (a second STREAM_RAW would replace the frame under way:
	// sub_mac.cpp SubMac::Send), so every one is answered and acknowledged,
	// and the 6LN gets them in order.
	frames := make([][]byte, 14)
	results := make([]radio.TxResult, len(frames))
	for i := range frames {
		frames[i] = mk(uint8(0xc0+i), sixlnAddr, rcpAddr, fmt.Sprintf("fragment-%d", i))
		results[i].Ack = make([]byte, 0, radio.MaxPSDU)
	}
	bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
	n, err := d.TransmitFrames(bctx, frames, radio.TxOptions{CCARetries: 2}, results)
	bcancel()
	if err != nil || n != len(frames) {
		t.Fatalf("TransmitFrames: %d of %d, %v: %+v", n, len(frames), err, results[:n])
	}
	for i, r := range results {
		if r.Status != radio.TxAcked || len(r.Ack) != 5 || r.Ack[2] != frames[i][2] {
			t.Errorf("frame %d: %v, ack % x", i, r.Status, r.Ack)
		}
		select {
		case rec := <-sixln.Receive():
			if !bytes.Equal(rec.PSDU[:len(rec.PSDU)-2], frames[i][:len(frames[i])-2]) {
				t.Fatalf("6LN got %x as frame %d, want %x", rec.PSDU, i, frames[i])
			}
		case <-time.After(time.Second):
			t.Fatalf("the 6LN did not receive frame %d", i)
		}
	}
	if s := br.Stats(); s.RCPSilent != 0 {
		t.Errorf("the bridge saw %d frames ot-rcp did not acknowledge: %+v", s.RCPSilent, s)
	}

	// Energy scan (ncp_base.cpp HandlePropertySet<MAC_SCAN_STATE>: answered
	// at once; result after the scan period). The simulation radio's RSSI
	// is −98 or −30 dBm (radio.c GetRssi).
	start := time.Now()
	rssi, err := d.EnergyScan(ctx, channel, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("EnergyScan: %v", err)
	}
	// The simulation platform's millisecond alarm counts whole
	// milliseconds (alarm.c otPlatAlarmMilliGetNow truncates), so the
	// period may end up to 1 ms short of 100 ms on our clock.
	if took := time.Since(start); rssi != -98 && rssi != -30 || took < 98*time.Millisecond || took > 2*time.Second {
		t.Errorf("EnergyScan: %d dBm after %v, want -98 or -30 after about 100 ms", rssi, took)
	}
}

// otWorld is what both opt-in ot-rcp tests stand on: a medium in real
// time, the bridge to the simulation ot-rcp of node id node (sim/otsim),
// and a simulated 6LN with EUI-64 sixlnExt on channel 15, PAN 0xface.
// ot-rcp reads its PORT_BASE from the environment (radio.c
// platformRadioInit): each test takes its own, so that other simulations
// on the machine do not interfere. Everything stops when the test ends.
type otWorld struct {
	ctx   context.Context
	log   *slog.Logger
	br    *otsim.Bridge
	sixln *medium.Node
}

const (
	otChannel = 15
	otPAN     = 0xface
)

func startOTWorld(t *testing.T, node, portBase int, sixlnExt [8]byte) *otWorld {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	base := portBase + os.Getpid()%1000*(otsim.MaxNodeID+1)
	t.Setenv("PORT_BASE", strconv.Itoa(base))
	m := medium.New(medium.Config{Seed: 1, TimeScale: 1})
	runDone := make(chan struct{})
	go func() { defer close(runDone); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-runDone })
	br, err := otsim.Start(ctx, otsim.Config{NodeID: node, Medium: m, Channel: otChannel, PANID: otPAN, PortBase: base, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	sixln, err := m.Attach(medium.NodeConfig{Name: "6ln", ExtAddr: sixlnExt, ShortAddr: 0xfffe, PANID: otPAN, Channel: otChannel, RxOnWhenIdle: true})
	if err != nil {
		t.Fatal(err)
	}
	return &otWorld{ctx: ctx, log: log, br: br, sixln: sixln}
}
