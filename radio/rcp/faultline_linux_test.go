//go:build linux

package rcp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/faultline"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// lineHarness is the harness with a fault line between the driver and the
// simulated RCP: the driver opens the proxy's PTY, the proxy the RCP's.
type lineHarness struct {
	*harness
	line *faultline.PTYProxy
}

func newLineHarness(t *testing.T, cfg rcpsim.Config) *lineHarness {
	t.Helper()
	h := newHarness(t, 1, cfg) // real time: transmissions take their air time
	h.mu.Lock()
	path := h.path
	h.mu.Unlock()
	rcpEnd, err := transport.OpenUART(path, transport.DefaultUARTConfig())
	if err != nil {
		t.Fatal(err)
	}
	line, err := faultline.NewPTY(rcpEnd, faultline.Config{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { line.Close() })
	h.mu.Lock()
	h.path = line.HostPath()
	h.mu.Unlock()
	return &lineHarness{harness: h, line: line}
}

func (h *lineHarness) setFaults(t *testing.T, toRCP, toHost faultline.Faults) {
	t.Helper()
	if err := h.line.SetFaults(faultline.ToRCP, toRCP); err != nil {
		t.Fatal(err)
	}
	if err := h.line.SetFaults(faultline.ToHost, toHost); err != nil {
		t.Fatal(err)
	}
}

// Bit flips on a line both ways cost only the frames they hit: every
// transmission ends acknowledged (its request sent again when it or its
// transmit-done was lost), and the RCP is never reset or reconnected.
func TestNoisyLineCostsOnlyFrames(t *testing.T) {
	h := newLineHarness(t, rcpsim.Config{})
	// A short wait for the transmit-done (the simulated medium's
	// transmissions take a few milliseconds here) keeps the test short.
	d := h.open(t, func(c *Config) { c.Client.TransmitTimeout = 100 * time.Millisecond })
	h.setFaults(t, faultline.Faults{BitFlip: 3e-3}, faultline.Faults{BitFlip: 3e-3})
	ctx := context.Background()
	for i := range 100 {
		res, err := d.Transmit(ctx, dataFrame(t, uint8(i), 0x0002, true), radio.TxOptions{})
		if err != nil || res.Status != radio.TxAcked {
			t.Fatalf("frame %d on a noisy line: %v %v; stats %+v", i, res.Status, err, d.Stats())
		}
	}
	h.setFaults(t, faultline.Faults{}, faultline.Faults{})
	st := d.Stats()
	lost := h.line.Stats(faultline.ToRCP).Frames - h.line.Stats(faultline.ToRCP).FramesDelivered +
		h.line.Stats(faultline.ToHost).Frames - h.line.Stats(faultline.ToHost).FramesDelivered
	t.Logf("frames lost on the line %d, transmit requests sent again %d, late answers %d, probes %d", lost, st.Spinel.TxResent, st.Spinel.Late, st.Probes)
	if lost == 0 || st.Spinel.TxResent == 0 || st.Spinel.HDLC.BadFCS == 0 {
		t.Errorf("the line lost nothing the driver noticed: lost %d, stats %+v", lost, st)
	}
	if st.Reconnects != 0 || st.Resets != 0 || st.Timeouts != 0 || !st.Up {
		t.Errorf("stats %+v: line errors must cost only the frames they hit", st)
	}
}

// Noise shaped like a reset notification, with a bad FCS, is line noise:
// no reset. The same notification intact is one: one recovery.
func TestResetNoiseIsNotAReset(t *testing.T) {
	h := newLineHarness(t, rcpsim.Config{})
	d := h.open(t, nil)
	for range 10 {
		h.line.ResetNoise(faultline.ToHost)
	}
	if err := transmitOK(t, d); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if st := d.Stats(); st.Resets != 0 || st.Reconnects != 0 || st.Spinel.HDLC.BadFCS < 10 {
		t.Fatalf("after reset-shaped noise: %+v", st)
	}
	h.line.Inject(faultline.ToHost, spinel.AppendHDLC(nil, []byte{0x80, byte(spinel.CmdPropValueIs), byte(spinel.PropLastStatus), byte(spinel.StatusResetPowerOn)}))
	waitFor(t, "the recovery from a real notification", 3*time.Second, func() bool { return d.Stats().Reconnects == 1 && d.Ready() })
	time.Sleep(200 * time.Millisecond)
	if st := d.Stats(); st.Resets != 1 || st.Reconnects != 1 {
		t.Errorf("after one reset notification: %+v, want one reset, one recovery", st)
	}
}

// A line that stalls: the transmissions under way get no transmit-done,
// the probes no answer, the radio goes down; once the line is back the
// RCP is set up again within a second, once.
func TestLineStallOneRecovery(t *testing.T) {
	h := newLineHarness(t, rcpsim.Config{})
	d := h.open(t, func(c *Config) {
		c.Client.TransmitRetries = 1
		c.ProbeTries = 1
	})
	const stall = 1500 * time.Millisecond
	h.line.Stall(stall)
	end := time.Now().Add(stall)
	if err := transmitOK(t, d); err == nil {
		t.Fatal("a transmission went through a stalled line")
	}
	waitFor(t, "the radio to go down", stall, func() bool { return !d.Ready() })
	waitFor(t, "the radio to come back", stall+2*time.Second, d.Ready)
	if back := time.Since(end); back > time.Second {
		t.Errorf("back %v after the stall ended, want ≤ 1 s", back)
	}
	if err := transmitOK(t, d); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // what the stall held has all arrived
	if st := d.Stats(); st.Reconnects != 1 || st.Disconnects != 0 || st.ProbesFailed != 1 || !st.Up {
		t.Errorf("stats %+v, want one recovery over the same connection", st)
	}
}

// A reset whose notification is lost on the line: the next transmission
// is refused (the raw stream is off), the probe finds the RCP reset, and
// it is set up again.
func TestProbeFindsALostReset(t *testing.T) {
	h := newLineHarness(t, rcpsim.Config{})
	d := h.open(t, nil)
	h.setFaults(t, faultline.Faults{}, faultline.Faults{Drop: 1})
	h.rcp.Reset()
	time.Sleep(100 * time.Millisecond)
	h.setFaults(t, faultline.Faults{}, faultline.Faults{})
	res, err := d.Transmit(context.Background(), dataFrame(t, 1, 0x0002, true), radio.TxOptions{})
	if err == nil || !errors.Is(err, spinel.StatusInvalidState) {
		t.Fatalf("transmission to a reset RCP: %v %v, want refused with INVALID_STATE", res.Status, err)
	}
	waitFor(t, "the recovery", 3*time.Second, func() bool { return d.Stats().Reconnects == 1 && d.Ready() })
	if err := transmitOK(t, d); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Resets != 1 || st.ProbesFailed != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The Spinel and HDLC counters add up over connections: a reconnection
// does not take them back to zero.
func TestCountersSurviveReconnects(t *testing.T) {
	h := newHarness(t, 0, rcpsim.Config{})
	d := h.open(t, nil)
	h.rcp.InjectGarbage([]byte{0x7e, 1, 2, 3, 0x7e})
	if err := transmitOK(t, d); err != nil {
		t.Fatal(err)
	}
	before := d.Stats().Spinel
	if before.HDLC.BadFCS == 0 || before.FramesIn == 0 {
		t.Fatalf("nothing counted: %+v", before)
	}
	h.pull()
	waitFor(t, "the unplug", 5*time.Second, func() bool { return !d.Ready() })
	h.plug()
	waitFor(t, "the reconnection", 5*time.Second, d.Ready)
	after := d.Stats().Spinel
	if after.HDLC.BadFCS < before.HDLC.BadFCS || after.FramesIn <= before.FramesIn || after.FramesOut <= before.FramesOut {
		t.Errorf("counters went back over a reconnection: before %+v, after %+v", before, after)
	}
}

func transmitOK(t *testing.T, d *Driver) error {
	t.Helper()
	res, err := d.Transmit(context.Background(), dataFrame(t, 7, 0x0002, true), radio.TxOptions{})
	if err == nil && res.Status != radio.TxAcked {
		err = errors.New(res.Status.String())
	}
	return err
}

// An RCP that answers requests but reports no transmission (a transmitter
// stuck): a transmission or two that spend their tries are taken for a
// noisy line, the third in a row gets the RCP reset.
func TestStuckTransmitterIsReset(t *testing.T) {
	d, q, _ := cannedDriver(t, nil, func(c *Config) {
		c.Client.TransmitTimeout = 30 * time.Millisecond
		c.Client.TransmitRetries = 1
	})
	q.mu.Lock()
	q.props[spinel.PropMACRawStreamEnabled] = []byte{1}
	q.hold = map[byte]bool{1: true, 2: true, 3: true}
	q.mu.Unlock()
	ctx := context.Background()
	for seq := byte(1); seq <= 3; seq++ {
		res, err := d.Transmit(ctx, dataFrame(t, seq, 0x0002, true), radio.TxOptions{})
		if !errors.Is(err, spinel.ErrTimeout) || res.Status != radio.TxAborted {
			t.Fatalf("frame %d: %v %v, want aborted for a timeout", seq, res.Status, err)
		}
		if seq < maxTxSpent {
			waitFor(t, "the probe", 2*time.Second, func() bool { return d.Stats().Probes == uint64(seq) })
			time.Sleep(20 * time.Millisecond)
			if st := d.Stats(); st.Reconnects != 0 || !st.Up {
				t.Fatalf("after %d unreported transmissions: %+v, want no recovery yet", seq, st)
			}
		}
	}
	waitFor(t, "the reset", 3*time.Second, func() bool { return d.Stats().Reconnects == 1 && d.Ready() })
	if err := transmitOK(t, d); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	if st := d.Stats(); st.Probes != 3 || st.ProbesFailed != 1 || st.Timeouts != 3 {
		t.Errorf("stats %+v", st)
	}
}
