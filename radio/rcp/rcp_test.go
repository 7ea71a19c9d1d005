package rcp

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/spinel"
)

var rcpEUI = [8]byte{0x02, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef}

// harness: a simulated RCP on a medium, reached through a real PTY and the
// driver's real UART code; the PTY can be unplugged and plugged again.
type harness struct {
	t      *testing.T
	m      *medium.Medium
	rcp    *rcpsim.RCP
	node   *medium.Node
	peer   *medium.Node
	mu     sync.Mutex
	path   string
	unplug func()
}

func newHarness(t *testing.T, scale float64, cfg rcpsim.Config) *harness {
	t.Helper()
	if _, _, err := transport.OpenPTY(); err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: 7, TimeScale: scale})
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	h := &harness{t: t, m: m}
	var err error
	if h.node, err = m.Attach(medium.NodeConfig{Name: "rcp", Channel: 11}); err != nil {
		t.Fatal(err)
	}
	if h.peer, err = m.Attach(medium.NodeConfig{Name: "peer", Channel: 15, PANID: 0xabcd, ShortAddr: 0x0002, RxOnWhenIdle: true}); err != nil {
		t.Fatal(err)
	}
	cfg.EUI64 = rcpEUI
	h.rcp = rcpsim.New(h.node, cfg)
	h.plug()
	t.Cleanup(func() {
		h.pull()
		cancel()
		<-done
	})
	return h
}

// plug connects the simulated RCP to a new PTY, like a dongle plugged in.
func (h *harness) plug() {
	master, path, err := transport.OpenPTY()
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { h.rcp.Serve(ctx, master); close(served) }()
	h.mu.Lock()
	h.path = path
	h.unplug = func() { cancel(); <-served }
	h.mu.Unlock()
}

// pull closes the PTY's RCP side, like a dongle unplugged.
func (h *harness) pull() {
	h.mu.Lock()
	u := h.unplug
	h.unplug = nil
	h.mu.Unlock()
	if u != nil {
		u()
	}
}

func (h *harness) opener(ctx context.Context) (spinel.FrameConn, error) {
	h.mu.Lock()
	path := h.path
	h.mu.Unlock()
	p, err := transport.OpenUART(path, transport.UARTConfig{Baud: 1000000})
	if err != nil {
		return nil, err
	}
	return spinel.NewHDLCConn(p), nil
}

var testSettings = radio.Settings{Channel: 15, PANID: 0xabcd, ShortAddr: 0x0001}

func (h *harness) open(t *testing.T, edit func(*Config)) *Driver {
	t.Helper()
	cfg := Config{Open: h.opener, Name: "sim", Settings: testSettings, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if edit != nil {
		edit(&cfg)
	}
	d, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func dataFrame(t testing.TB, seq uint8, dst uint16, ackReq bool) []byte {
	t.Helper()
	h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, Seq: seq, AckRequest: ackReq,
		DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: ieee802154.ShortAddress(ieee802154.ShortAddr(dst)), Src: ieee802154.ShortAddress(0x0001)}
	f, err := ieee802154.AppendFrame(nil, &h, []byte("payload"), true)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdentityTransmitReceive(t *testing.T) {
	h := newHarness(t, 0, rcpsim.Config{})
	d := h.open(t, nil)
	id := d.Identity()
	if id.EUI64 != rcpEUI || id.Firmware != rcpsim.DefaultFirmware || id.RCPAPIVersion != 11 || id.ProtocolVersion != [2]uint32{4, 3} {
		t.Errorf("identity %+v", id)
	}
	// The node follows the settings the driver applied.
	if c := h.node.Config(); c.Channel != 15 || c.PANID != 0xabcd || c.ShortAddr != 1 || !c.RxOnWhenIdle {
		t.Errorf("RCP node config %+v", c)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		dst    uint16
		ackReq bool
		want   radio.TxStatus
	}{
		{0x0002, true, radio.TxAcked},
		{0x0099, true, radio.TxNoAck},
		{0xffff, false, radio.TxSent},
	} {
		results := []radio.TxResult{{Ack: make([]byte, 0, radio.MaxPSDU)}}
		n, err := d.TransmitFrames(ctx, [][]byte{dataFrame(t, 1, tc.dst, tc.ackReq)}, radio.TxOptions{}, results)
		res := results[0]
		if err != nil || n != 1 || res.Status != tc.want {
			t.Errorf("to 0x%04x: %d %v %v, want %v", tc.dst, n, res.Status, err, tc.want)
		}
		if tc.want == radio.TxAcked && (len(res.Ack) != 5 || res.Ack[2] != 1) {
			t.Errorf("ack % x", res.Ack)
		}
	}
	// The peer sends to us: the frame arrives with its metadata.
	peerFrame := dataFrame(t, 9, 0x0001, true)
	peerFrame[7], peerFrame[8] = 0x02, 0x00 // source 0x0002
	if r, err := h.peer.Transmit(ctx, peerFrame, medium.TxOptions{}); err != nil || r.Status != medium.TxAcked {
		t.Fatalf("peer → RCP: %v %v", r.Status, err)
	}
	select {
	case f := <-d.Receive():
		if f.Channel != 15 || f.LQI == 0 || len(f.PSDU) != len(peerFrame) || f.PSDU[2] != 9 {
			t.Errorf("received %+v", f)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("nothing received")
	}
	if rssi, err := d.EnergyScan(ctx, 20, 10*time.Millisecond); err != nil || rssi > -90 {
		t.Errorf("energy scan of a quiet channel: %d %v", rssi, err)
	}
	st := d.Stats()
	if st.TxAcked != 1 || st.TxNoAck != 1 || st.TxNoAckRequested != 1 || st.RxFrames != 1 || !st.Up {
		t.Errorf("stats %+v", st)
	}
}

// Firmware that is not an RCP, or whose API is out of range, is refused
// with a clear error, not retried.
func TestRefusesWrongFirmware(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    rcpsim.Config
		target error
		says   string
	}{
		{"NCP firmware", rcpsim.Config{Firmware: "OPENTHREAD/ot-ncp-ftd", Caps: []spinel.Cap{spinel.CapConfigFTD}}, radio.ErrNotRCP, "not an RCP"},
		{"old RCP API", rcpsim.Config{RCPAPIVersion: 3}, radio.ErrIncompatible, "RCP API 3"},
		{"needs a newer host", rcpsim.Config{MinHostAPIVersion: 12}, radio.ErrIncompatible, "needs a host with RCP API 12"},
		{"Spinel 5", rcpsim.Config{ProtocolMajor: 5}, radio.ErrIncompatible, "Spinel protocol 5.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0, tc.cfg)
			_, err := Open(context.Background(), Config{Open: h.opener, Name: "sim", Settings: testSettings})
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Open: %v; want %v saying %q", err, tc.target, tc.says)
			}
		})
	}
}

func TestGarbageInStream(t *testing.T) {
	h := newHarness(t, 0, rcpsim.Config{})
	d := h.open(t, nil)
	garbage := []byte{0x7e, 0x00, 0x12, 0x7d, 0x7e, 0xff, 0x80, 0x7e, 0x81, 0x06, 0x00, 0x01, 0x02, 0x7e, 0x7e}
	for i := 0; i < 20; i++ {
		if err := h.rcp.InjectGarbage(garbage); err != nil {
			t.Fatal(err)
		}
		res, err := d.Transmit(context.Background(), dataFrame(t, uint8(i), 0x0002, true), radio.TxOptions{})
		if err != nil || res.Status != radio.TxAcked {
			t.Fatalf("transmission %d after garbage: %v %v", i, res.Status, err)
		}
	}
	st := d.Stats()
	if st.Spinel.HDLC.BadFCS+st.Spinel.HDLC.GarbageBytes+st.Spinel.HDLC.Runts+st.Spinel.BadFrames == 0 {
		t.Errorf("garbage not counted: %+v", st.Spinel)
	}
	if st.Reconnects != 0 {
		t.Errorf("garbage caused %d reconnects", st.Reconnects)
	}
}

// The RCP resets by itself in the middle of a transmission: the frame is
// reported aborted, the driver re-initialises it and restores its
// settings, and the next frame goes out.
func TestRCPResetMidTransmission(t *testing.T) {
	h := newHarness(t, 1, rcpsim.Config{}) // real time, so a transmission takes a while
	d := h.open(t, nil)
	// A frame nobody acknowledges, with retries: about 15 ms of air.
	res := make(chan error, 1)
	go func() {
		r, err := d.Transmit(context.Background(), dataFrame(t, 1, 0x0099, true), radio.TxOptions{MaxFrameRetries: 7})
		if err == nil || r.Status != radio.TxAborted {
			err = errors.New("transmission not aborted: " + r.Status.String())
		} else {
			err = nil
		}
		res <- err
	}()
	time.Sleep(3 * time.Millisecond)
	h.rcp.Reset()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recovery", 5*time.Second, func() bool { return d.Stats().Reconnects == 1 && d.Ready() })
	if c := h.node.Config(); c.Channel != 15 || c.PANID != 0xabcd || c.ShortAddr != 1 || !c.RxOnWhenIdle {
		t.Errorf("settings not restored after the reset: %+v", c)
	}
	if r, err := d.Transmit(context.Background(), dataFrame(t, 2, 0x0002, true), radio.TxOptions{}); err != nil || r.Status != radio.TxAcked {
		t.Fatalf("after recovery: %v %v", r.Status, err)
	}
	if st := d.Stats(); st.Resets != 1 || st.TxAborted != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Unplugging the dongle takes the radio down (frames fail fast, counted);
// plugging it back brings it up with its settings. Repeated, nothing leaks.
func TestUnplugReplugNoLeak(t *testing.T) {
	h := newHarness(t, 0, rcpsim.Config{})
	time.Sleep(100 * time.Millisecond) // the harness's own goroutines settle
	before := runtime.NumGoroutine()
	d, err := Open(context.Background(), Config{Open: h.opener, Name: "sim", Settings: testSettings, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for cycle := 1; cycle <= 4; cycle++ {
		h.pull()
		waitFor(t, "the driver to notice the unplug", 5*time.Second, func() bool { return !d.Ready() })
		if r, err := d.Transmit(ctx, dataFrame(t, 1, 0x0002, true), radio.TxOptions{}); !errors.Is(err, ErrNotReady) || r.Status != radio.TxAborted {
			t.Fatalf("transmit while unplugged: %v %v", r.Status, err)
		}
		time.Sleep(50 * time.Millisecond) // a few failed reconnects
		h.plug()
		waitFor(t, "reconnection", 5*time.Second, d.Ready)
		if r, err := d.Transmit(ctx, dataFrame(t, 2, 0x0002, true), radio.TxOptions{}); err != nil || r.Status != radio.TxAcked {
			t.Fatalf("cycle %d after replug: %v %v", cycle, r.Status, err)
		}
		if c := h.node.Config(); c.Channel != 15 || c.PANID != 0xabcd {
			t.Fatalf("settings not restored: %+v", c)
		}
	}
	st := d.Stats()
	if st.Disconnects != 4 || st.Reconnects != 4 || st.TxNotReady != 4 {
		t.Errorf("stats %+v", st)
	}
	d.Close()
	if _, ok := <-d.Receive(); ok {
		t.Error("Receive channel open after Close")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An RCP that answers too slowly: requests time out, the driver recovers
// once it answers again.
func TestSlowRCP(t *testing.T) {
	h := newHarness(t, 0, rcpsim.Config{})
	d := h.open(t, func(c *Config) {
		c.Client = spinel.ClientOptions{Timeout: 150 * time.Millisecond, TransmitTimeout: 200 * time.Millisecond}
	})
	h.rcp.SetReplyDelay(time.Second)
	r, err := d.Transmit(context.Background(), dataFrame(t, 1, 0x0002, true), radio.TxOptions{})
	if err == nil || r.Status != radio.TxAborted || !errors.Is(err, spinel.ErrTimeout) {
		t.Fatalf("transmit to a hung RCP: %v %v", r.Status, err)
	}
	waitFor(t, "the driver to take the radio down", 2*time.Second, func() bool { return !d.Ready() })
	h.rcp.SetReplyDelay(0)
	waitFor(t, "recovery", 10*time.Second, d.Ready)
	if r, err := d.Transmit(context.Background(), dataFrame(t, 2, 0x0002, true), radio.TxOptions{}); err != nil || r.Status != radio.TxAcked {
		t.Fatalf("after recovery: %v %v", r.Status, err)
	}
	if d.Stats().Timeouts == 0 {
		t.Error("timeout not counted")
	}
}

// testWriter sends the driver's log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
