//go:build linux

package rcp_test

// Opt-in, like TestDriverWithRealOTRCP: OpenThread's own RCP behind a
// fault line (internal/faultline between the driver and the forkpty
// child), so that what the driver does about line errors — a request sent
// again under a fresh TID, possibly while the RCP still holds the first
// (ncp_base_radio.cpp takes it and answers only the latest TID;
// testdata/ot-rcp/06-second-tx.txt), and the probe, GET
// MAC_RAW_STREAM_ENABLED — is checked against the real firmware, not only
// against our simulator.

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/faultline"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/spinel"
)

func TestRealOTRCPOnAFaultyLine(t *testing.T) {
	path := oracle.OTRCP(t)
	const node = 2
	sixlnExt := [8]byte{0x02, 0, 0, 0, 0, 0, 0x6c, 0x02}
	w := startOTWorld(t, node, 23000, sixlnExt)
	ctx, log := w.ctx, w.log
	const channel, pan = otChannel, otPAN

	child, err := transport.ForkPTY(ctx, path, []string{strconv.Itoa(node)}, log)
	if err != nil {
		t.Fatal(err)
	}
	line, err := faultline.NewPTY(child, faultline.Config{Seed: 7})
	if err != nil {
		child.Close()
		t.Fatal(err)
	}
	defer line.Close()
	u, err := transport.ParseURL(line.URL())
	if err != nil {
		t.Fatal(err)
	}
	d, err := rcp.Open(ctx, rcp.Config{Open: rcp.URLOpener(u, log), Name: "ot-rcp behind a fault line", Logger: log,
		Settings: radio.Settings{Channel: channel, PANID: pan, ShortAddr: 0xfffe}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer d.Close()
	id := d.Identity()
	frame := func(seq uint8) []byte {
		h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true, Seq: seq,
			DstPAN: pan, SrcPAN: pan, Dst: ieee802154.ExtAddress(ieee802154.ExtAddr(sixlnExt)),
			Src: ieee802154.ExtAddress(ieee802154.ExtAddr(id.EUI64))}
		b, err := ieee802154.AppendFrame(nil, &h, []byte("through a noisy line"), true)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	send := func(seq uint8) (radio.TxResult, error) {
		tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
		defer tcancel()
		return d.Transmit(tctx, frame(seq), radio.TxOptions{})
	}

	// Damage both ways: every frame acknowledged, none reported twice,
	// no reset, no reconnection.
	line.SetFaults(faultline.ToRCP, faultline.Faults{BitFlip: 3e-3, Insert: 1e-3})
	line.SetFaults(faultline.ToHost, faultline.Faults{BitFlip: 3e-3, Insert: 1e-3})
	for i := range 60 {
		if res, err := send(uint8(i)); err != nil || res.Status != radio.TxAcked {
			t.Fatalf("frame %d: %v %v; stats %+v", i, res.Status, err, d.Stats())
		}
	}
	line.SetFaults(faultline.ToRCP, faultline.Faults{})
	line.SetFaults(faultline.ToHost, faultline.Faults{})
	st := d.Stats()
	t.Logf("60 frames: sent again %d, late answers %d, bad FCS %d", st.Spinel.TxResent, st.Spinel.Late, st.Spinel.HDLC.BadFCS)
	if st.Spinel.TxResent == 0 || st.Reconnects != 0 || st.Resets != 0 || st.Timeouts != 0 {
		t.Errorf("stats %+v", st)
	}

	// Every transmit-done of a frame lost: its tries are spent, the
	// probe (GET MAC_RAW_STREAM_ENABLED) finds ot-rcp set up, nothing is
	// reset.
	line.SetFaults(faultline.ToHost, faultline.Faults{Drop: 1})
	res, err := send(100)
	line.SetFaults(faultline.ToHost, faultline.Faults{})
	if !errors.Is(err, spinel.ErrTimeout) || res.Status != radio.TxAborted {
		t.Fatalf("a frame whose transmit-dones are all lost: %v %v", res.Status, err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for d.Stats().Probes == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if st := d.Stats(); st.Probes != 1 || st.ProbesFailed != 0 || st.Reconnects != 0 || !st.Up {
		t.Fatalf("after the probe: %+v, want it answered and nothing reset", st)
	}
	if res, err := send(101); err != nil || res.Status != radio.TxAcked {
		t.Fatalf("after the probe: %v %v", res.Status, err)
	}

	// A stalled line: the RCP is reset over the same connection once the
	// line is back, within a second; one recovery, the same child.
	line.Stall(3 * time.Second)
	end := time.Now().Add(3 * time.Second)
	send(102)
	for d.Ready() && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	for !d.Ready() && time.Since(end) < 3*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	if back := time.Since(end); !d.Ready() || back > time.Second {
		t.Fatalf("ready %v, %v after the stall ended; stats %+v", d.Ready(), back, d.Stats())
	}
	if res, err := send(103); err != nil || res.Status != radio.TxAcked {
		t.Fatalf("after the stall: %v %v", res.Status, err)
	}
	if st := d.Stats(); st.Reconnects != 1 || st.Disconnects != 0 {
		t.Errorf("after the stall: %+v, want one recovery over the same connection", st)
	}
}
