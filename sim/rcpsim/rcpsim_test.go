package rcpsim

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// host is the test's end of the stream: it writes Spinel requests and reads
// the simulated RCP's frames, HDLC-decoded by the spinel package, through a
// goroutine so that tests can wait with a deadline.
type host struct {
	t      *testing.T
	conn   *spinel.HDLCConn
	raw    net.Conn
	frames chan spinel.Frame
}

type world struct {
	m    *medium.Medium
	node *medium.Node
	rcp  *RCP
}

var testEUI = [8]byte{2, 0, 0, 0, 0, 0, 0, 1}

// start serves an RCP with cfg on a medium with the given time scale (0:
// virtual time as fast as it goes).
func start(t *testing.T, scale float64, cfg Config) (*host, *world) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: 3, TimeScale: scale})
	go m.Run(ctx)
	node, err := m.Attach(medium.NodeConfig{Name: "rcp", Channel: 11})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	if cfg.EUI64 == ([8]byte{}) {
		cfg.EUI64 = testEUI
	}
	r := New(node, cfg)
	served := make(chan struct{})
	go func() { r.Serve(ctx, a); close(served) }()
	h := &host{t: t, conn: spinel.NewHDLCConn(b), raw: b, frames: make(chan spinel.Frame, 64)}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := h.conn.ReadFrame(buf)
			if err != nil {
				close(h.frames)
				return
			}
			var f spinel.Frame
			if f.Decode(bytes.Clone(buf[:n])) == nil {
				h.frames <- f
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		b.Close()
		<-served
		m.Close()
	})
	return h, &world{m: m, node: node, rcp: r}
}

func (h *host) send(tid uint8, cmd spinel.Command, prop spinel.Prop, value []byte) {
	h.t.Helper()
	f := spinel.AppendFrameHeader(nil, 0, tid, cmd, prop)
	if err := h.conn.WriteFrame(append(f, value...)); err != nil {
		h.t.Fatal(err)
	}
}

// sendTogether writes several frames in one write, as a host pipelining
// requests does.
func (h *host) sendTogether(frames ...[]byte) {
	h.t.Helper()
	var b []byte
	for _, f := range frames {
		b = spinel.AppendHDLC(b, f)
	}
	if _, err := h.raw.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) recv() spinel.Frame {
	h.t.Helper()
	select {
	case f, ok := <-h.frames:
		if !ok {
			h.t.Fatal("stream closed")
		}
		return f
	case <-time.After(3 * time.Second):
		h.t.Fatal("no frame from the RCP in 3 s")
	}
	return spinel.Frame{}
}

// expectNothing checks the RCP sends nothing for d.
func (h *host) expectNothing(d time.Duration) {
	h.t.Helper()
	select {
	case f := <-h.frames:
		h.t.Fatalf("unexpected %v", &f)
	case <-time.After(d):
	}
}

func statusOf(f spinel.Frame) (spinel.Status, bool) {
	if f.Command != spinel.CmdPropValueIs || f.Prop != spinel.PropLastStatus {
		return 0, false
	}
	r := spinel.NewReader(f.Value, "status")
	st := spinel.Status(r.PackedUint())
	return st, r.Err() == nil
}

func (h *host) expectStatus(tid uint8, want spinel.Status) {
	h.t.Helper()
	f := h.recv()
	if st, ok := statusOf(f); !ok || f.TID != tid || st != want {
		h.t.Fatalf("got %v, want LAST_STATUS %v with TID %d", &f, want, tid)
	}
}

func (h *host) expectIs(tid uint8, prop spinel.Prop, value []byte) {
	h.t.Helper()
	f := h.recv()
	if f.TID != tid || f.Command != spinel.CmdPropValueIs || f.Prop != prop || !bytes.Equal(f.Value, value) {
		h.t.Fatalf("got %v, want IS %v % x with TID %d", &f, prop, value, tid)
	}
}

// set sends SET and expects IS with the value read back.
func (h *host) set(tid uint8, prop spinel.Prop, value []byte) {
	h.t.Helper()
	h.send(tid, spinel.CmdPropValueSet, prop, value)
	h.expectIs(tid, prop, value)
}

// enable brings the radio up as a host does: PHY_ENABLED, PAN, short
// address, channel, raw stream.
func (h *host) enable(channel uint8) {
	h.t.Helper()
	h.set(1, spinel.PropPHYEnabled, []byte{1})
	h.set(2, spinel.PropMAC154PANID, spinel.AppendUint16(nil, 0xabcd))
	h.set(3, spinel.PropMAC154SAddr, spinel.AppendUint16(nil, 0x0001))
	h.set(4, spinel.PropPHYChan, []byte{channel})
	h.set(5, spinel.PropMACRawStreamEnabled, []byte{1})
}

// dataFrame is a data frame from 0x0001 to dst in PAN 0xabcd, with FCS
// placeholder.
func dataFrame(seq uint8, dst uint16, ackReq bool) []byte {
	fc0 := byte(0x41)
	if ackReq {
		fc0 |= 0x20
	}
	return []byte{fc0, 0x88, seq, 0xcd, 0xab, byte(dst), byte(dst >> 8), 0x01, 0x00, 'x', 0, 0}
}

// The simulated RCP answers as OpenThread's does (ncp_base.cpp,
// ncp_base_radio.cpp): a reset notification at start and after RESET, IS
// with the same TID for GET and SET, PROP_NOT_FOUND for unknown
// properties and for SET of a read-only one, INVALID_STATE for radio
// settings and frames before PHY_ENABLED, INSERTED/REMOVED for table
// edits, and the transmit-done as IS LAST_STATUS with the request's TID.
func TestSpinelBehaviour(t *testing.T) {
	h, _ := start(t, 0, Config{})
	h.expectStatus(0, spinel.StatusResetPowerOn) // boot
	h.send(0, spinel.CmdReset, 0, []byte{byte(spinel.ResetStack)})
	h.expectStatus(0, spinel.StatusResetPowerOn)

	h.send(1, spinel.CmdPropValueGet, spinel.PropProtocolVersion, nil)
	h.expectIs(1, spinel.PropProtocolVersion, []byte{4, 3})
	h.send(2, spinel.CmdPropValueGet, spinel.Prop(0x7777), nil)
	h.expectStatus(2, spinel.StatusPropNotFound)
	h.send(3, spinel.CmdPropValueSet, spinel.PropNCPVersion, spinel.AppendUTF8(nil, "x"))
	h.expectStatus(3, spinel.StatusPropNotFound) // no SET handler
	h.send(4, spinel.CmdPropValueGet, spinel.PropMACRxOnWhenIdleMode, nil)
	h.expectStatus(4, spinel.StatusPropNotFound) // SET-only

	// LinkRaw refuses radio settings until PHY_ENABLED; platform ones pass.
	h.send(5, spinel.CmdPropValueSet, spinel.PropPHYChan, []byte{26})
	h.expectStatus(5, spinel.StatusInvalidState)
	h.send(6, spinel.CmdPropValueSet, spinel.PropMAC154PANID, spinel.AppendUint16(nil, 0xabcd))
	h.expectStatus(6, spinel.StatusInvalidState)
	h.set(7, spinel.PropPHYTxPower, []byte{0xfc})
	tx := spinel.AppendTxRequest(nil, &spinel.TxRequest{PSDU: dataFrame(1, 0xffff, false), Channel: 26, CSMAEnabled: true, MaxCSMABackoffs: 4, RxChannelAfterTx: 26})
	h.send(8, spinel.CmdPropValueSet, spinel.PropStreamRaw, tx)
	h.expectStatus(8, spinel.StatusInvalidState)

	h.set(9, spinel.PropPHYEnabled, []byte{1})
	// The PHY is enabled but the raw stream is off: OpenThread transmits
	// all the same (only PHY_ENABLED is checked).
	h.send(10, spinel.CmdPropValueSet, spinel.PropStreamRaw, tx)
	f := h.recv()
	var done spinel.TxDone
	if f.TID != 10 || f.Prop != spinel.PropLastStatus || done.Decode(f.Value) != nil || done.Status != spinel.StatusOK || done.HasAck {
		t.Fatalf("transmit-done %v (%+v)", &f, done)
	}
	h.send(11, spinel.CmdPropValueSet, spinel.PropStreamRaw, []byte{0x05, 0x00, 1, 2})
	h.expectStatus(11, spinel.StatusParseError) // PSDU shorter than its length

	// Promiscuous mode reads back as FULL whatever was set.
	h.send(12, spinel.CmdPropValueSet, spinel.PropMACPromiscuousMode, []byte{spinel.PromiscuousNetwork})
	h.expectIs(12, spinel.PropMACPromiscuousMode, []byte{spinel.PromiscuousFull})
	h.send(13, spinel.CmdPropValueSet, spinel.PropMACPromiscuousMode, []byte{3})
	h.expectStatus(13, spinel.StatusInvalidArgument)

	// Source-match tables: SET has no GET to answer with (LAST_STATUS OK);
	// INSERT echoes; REMOVE of an absent entry is otError NO_ADDRESS.
	h.send(1, spinel.CmdPropValueSet, spinel.PropMACSrcMatchShortAddresses, spinel.AppendShortAddrs(nil, []uint16{1, 2}))
	h.expectStatus(1, spinel.StatusOK)
	h.send(2, spinel.CmdPropValueInsert, spinel.PropMACSrcMatchShortAddresses, spinel.AppendUint16(nil, 0x1234))
	if f := h.recv(); f.TID != 2 || f.Command != spinel.CmdPropValueInserted || !bytes.Equal(f.Value, []byte{0x34, 0x12}) {
		t.Fatalf("INSERT → %v", &f)
	}
	h.send(3, spinel.CmdPropValueRemove, spinel.PropMACSrcMatchShortAddresses, spinel.AppendUint16(nil, 0x9999))
	h.expectStatus(3, spinel.StatusStackNativeBegin+10)
	h.send(4, spinel.CmdPropValueInsert, spinel.PropPHYChan, []byte{11})
	h.expectStatus(4, spinel.StatusPropNotFound)
	h.send(5, spinel.CmdPropValueSet, spinel.PropMACRxOnWhenIdleMode, []byte{1})
	h.expectStatus(5, spinel.StatusOK) // no GET handler

	// TID 0: no answer to a GET; another interface: INVALID_INTERFACE.
	h.send(0, spinel.CmdPropValueGet, spinel.PropNCPVersion, nil)
	h.conn.WriteFrame(spinel.AppendFrameHeader(nil, 1, 6, spinel.CmdNoop, 0))
	if f := h.recv(); f.TID != 6 || f.IID != 1 {
		t.Fatalf("request on interface 1 → %v", &f)
	} else if st, _ := statusOf(f); st != spinel.StatusInvalidInterface {
		t.Fatalf("request on interface 1 → %v", &f)
	}

	// Garbage from the host is dropped; the next request still works.
	h.conn.WriteFrame([]byte{0x00, 0x01})
	h.send(7, spinel.CmdNoop, 0, nil)
	h.expectStatus(7, spinel.StatusOK)
}

// sub_mac.cpp HandleTransmitDone (RCP build): after a transmission the
// receiver listens on the request's "RX channel after TX" when it differs
// from the transmit channel, and otherwise stays on the transmit channel;
// DecodeStreamRawTxRequest defaults a missing field to the transmit
// channel; PHY_CHAN, which the transmission does not change, retunes the
// receiver while the raw stream is on. A host that sends 0 leaves the
// radio deaf.
func TestRxChannelAfterTx(t *testing.T) {
	h, w := start(t, 0, Config{})
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.enable(15)
	peers := map[uint8]*medium.Node{}
	for _, ch := range []uint8{15, 20, 25} {
		p, err := w.m.Attach(medium.NodeConfig{Name: "peer", Channel: ch, PANID: 0xabcd, ShortAddr: 0x0002, RxOnWhenIdle: true})
		if err != nil {
			t.Fatal(err)
		}
		peers[ch] = p
	}
	// hears reports whether a frame from the peer on ch reaches the host
	// (and is acknowledged by the RCP's radio).
	hears := func(ch uint8) bool {
		t.Helper()
		res, err := peers[ch].Transmit(context.Background(), []byte{0x61, 0x88, 7, 0xcd, 0xab, 0x01, 0x00, 0x02, 0x00, 'p', 0, 0}, medium.TxOptions{MaxFrameRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != medium.TxAcked {
			return false
		}
		f := h.recv()
		var rx spinel.RxFrame
		if f.Prop != spinel.PropStreamRaw || rx.Decode(f.Value) != nil || rx.Channel != ch {
			t.Fatalf("frame on channel %d reached the host as %v", ch, &f)
		}
		return true
	}
	tid := uint8(6)
	transmit := func(req []byte) {
		t.Helper()
		h.send(tid, spinel.CmdPropValueSet, spinel.PropStreamRaw, req)
		f := h.recv()
		if st, ok := statusOf(f); !ok || f.TID != tid || st != spinel.StatusOK {
			t.Fatalf("transmit-done %v", &f)
		}
		tid = tid%15 + 1
	}
	full := func(txCh, rxAfter uint8) []byte {
		return spinel.AppendTxRequest(nil, &spinel.TxRequest{PSDU: dataFrame(1, 0xffff, false), Channel: txCh, CSMAEnabled: true,
			MaxCSMABackoffs: 4, RxChannelAfterTx: rxAfter, TxPower: spinel.TxPowerUnset})
	}
	if !hears(15) {
		t.Fatal("deaf on PHY_CHAN before any transmission")
	}

	transmit(full(15, 20))
	if hears(15) || !hears(20) {
		t.Fatal("RX channel after TX 20: the receiver is not on 20")
	}
	h.send(tid, spinel.CmdPropValueGet, spinel.PropPHYChan, nil)
	h.expectIs(tid, spinel.PropPHYChan, []byte{15}) // mReceiveChannel unchanged

	h.set(7, spinel.PropPHYChan, []byte{15})
	if !hears(15) {
		t.Fatal("SET PHY_CHAN did not retune the receiver")
	}

	// Channel and PSDU only: the field defaults to the transmit channel,
	// so the receiver stays on 25.
	short := spinel.AppendDataWithLen(nil, dataFrame(2, 0xffff, false))
	short = append(short, 25)
	transmit(short)
	if hears(15) || !hears(25) {
		t.Fatal("no RX channel after TX: the receiver did not stay on the transmit channel")
	}
	h.set(8, spinel.PropPHYChan, []byte{15})

	// 0, what a host encoding every field with a zero value sends: deaf.
	transmit(full(15, 0))
	for _, ch := range []uint8{15, 20, 25} {
		if hears(ch) {
			t.Fatalf("RX channel after TX 0: frame on %d received", ch)
		}
	}
	h.set(9, spinel.PropMACRawStreamEnabled, []byte{1}) // otLinkRawReceive on PHY_CHAN
	if !hears(15) {
		t.Fatal("raw stream on again: still deaf")
	}
}

// A host whose RESET reaches the RCP before it is up loses it (a device
// not running yet) or gets it answered after the boot notification (a
// process on a PTY), depending on BufferInputWhileBooting; the boot
// chatter and the reason come first.
func TestBoot(t *testing.T) {
	const delay = 60 * time.Millisecond
	t.Run("lost", func(t *testing.T) {
		h, w := start(t, 0, Config{BootDelay: delay, BootChatter: [][]byte{LogFrame("booting")}, BootReason: spinel.StatusResetSoftware})
		began := time.Now()
		h.send(1, spinel.CmdNoop, 0, nil)
		f := h.recv()
		if f.Prop != spinel.PropStreamLog || string(f.Value) != "booting\x00" {
			t.Fatalf("chatter: %v", &f)
		}
		h.expectStatus(0, spinel.StatusResetSoftware)
		if e := time.Since(began); e < delay {
			t.Errorf("up after %v, want ≥ %v", e, delay)
		}
		h.expectNothing(20 * time.Millisecond) // the NOOP was lost
		if w.rcp.Stats().LostFrames != 1 {
			t.Errorf("stats %+v", w.rcp.Stats())
		}
		h.send(2, spinel.CmdNoop, 0, nil)
		h.expectStatus(2, spinel.StatusOK)
		// A platform reset reboots: delay and chatter again.
		h.send(3, spinel.CmdReset, 0, []byte{byte(spinel.ResetPlatform)})
		h.send(4, spinel.CmdNoop, 0, nil)
		if f := h.recv(); f.Prop != spinel.PropStreamLog {
			t.Fatalf("after RESET_PLATFORM: %v", &f)
		}
		h.expectStatus(0, spinel.StatusResetSoftware)
		h.expectNothing(20 * time.Millisecond)
	})
	// Frames wait for the boot. The RESET_STACK discards the boot
	// notification still queued (ClearNcpBuffer) and queues its own.
	t.Run("buffered", func(t *testing.T) {
		h, _ := start(t, 0, Config{BootDelay: delay, BufferInputWhileBooting: true})
		h.send(0, spinel.CmdReset, 0, []byte{byte(spinel.ResetStack)})
		h.send(1, spinel.CmdNoop, 0, nil)
		h.expectStatus(0, spinel.StatusResetPowerOn)
		h.expectStatus(1, spinel.StatusOK)
		h.expectNothing(20 * time.Millisecond)
	})
	// Answers overtake the TID 0 frames queued while the frames of one
	// read are handled (08-reset-burst.txt): RESET and GET in one write
	// before the boot, and again once up, are answered GET first, then one
	// reset notification.
	t.Run("pipelined", func(t *testing.T) {
		h, _ := start(t, 0, Config{BootDelay: delay, BufferInputWhileBooting: true})
		reset := spinel.AppendFrameHeader(nil, 0, 1, spinel.CmdReset, 0)
		reset = append(reset, byte(spinel.ResetStack))
		get := spinel.AppendFrameHeader(nil, 0, 2, spinel.CmdPropValueGet, spinel.PropHWAddr)
		for range 2 {
			h.sendTogether(reset, get)
			h.expectIs(2, spinel.PropHWAddr, testEUI[:])
			h.expectStatus(0, spinel.StatusResetPowerOn)
			h.expectNothing(20 * time.Millisecond)
		}
	})
}

// RESET_STACK clears the radio state (PHY disabled, PHY_CHAN 11, PAN ID
// broadcast) and keeps what NcpBase and the platform keep (scan period,
// transmit power); with ResetDelay the RCP is away meanwhile.
func TestHostReset(t *testing.T) {
	h, _ := start(t, 0, Config{ResetDelay: 40 * time.Millisecond})
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.enable(20)
	h.set(1, spinel.PropMACScanPeriod, spinel.AppendUint16(nil, 50))
	h.set(2, spinel.PropPHYTxPower, []byte{5})
	h.send(3, spinel.CmdReset, 0, nil) // no type byte: RESET_STACK
	h.send(4, spinel.CmdNoop, 0, nil)  // lost: the RCP is resetting
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.expectNothing(20 * time.Millisecond)
	for i, want := range []struct {
		p spinel.Prop
		v []byte
	}{
		{spinel.PropPHYEnabled, []byte{0}},
		{spinel.PropPHYChan, []byte{11}},
		{spinel.PropMAC154PANID, []byte{0xff, 0xff}},
		{spinel.PropMACRawStreamEnabled, []byte{0}},
		{spinel.PropMACScanPeriod, []byte{50, 0}},
		{spinel.PropPHYTxPower, []byte{5}},
	} {
		tid := uint8(i + 1)
		h.send(tid, spinel.CmdPropValueGet, want.p, nil)
		h.expectIs(tid, want.p, want.v)
	}
}

// OpenThread's RCP has one transmit buffer and one cached TID
// (ncp_base_radio.cpp, sub_mac.cpp Send): a second STREAM_RAW before the
// first one's transmit-done replaces it, and the first is never answered.
// A spontaneous reset forgets a pending transmission the same way.
func TestOneTransmissionAtATime(t *testing.T) {
	h, w := start(t, 1, Config{}) // real time: a transmission takes a while
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.enable(11)
	// To a short address nobody has, ACK requested, 7 retries: ≥ 10 ms.
	slow := spinel.AppendTxRequest(nil, &spinel.TxRequest{PSDU: dataFrame(1, 0x0099, true), Channel: 11, MaxFrameRetries: 7, RxChannelAfterTx: 11})
	quick := spinel.AppendTxRequest(nil, &spinel.TxRequest{PSDU: dataFrame(2, 0xffff, false), Channel: 11, RxChannelAfterTx: 11})
	h.send(6, spinel.CmdPropValueSet, spinel.PropStreamRaw, slow)
	h.send(7, spinel.CmdPropValueSet, spinel.PropStreamRaw, quick)
	h.expectStatus(7, spinel.StatusOK)
	h.expectNothing(40 * time.Millisecond) // TID 6 is never answered

	h.send(8, spinel.CmdPropValueSet, spinel.PropStreamRaw, slow)
	time.Sleep(2 * time.Millisecond)
	w.rcp.Reset()
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.expectNothing(40 * time.Millisecond) // nor is TID 8
	if st := w.rcp.Stats(); st.Transmissions != 3 || st.Resets != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Energy scan (ncp_base.cpp HandlePropertySet<SPINEL_PROP_MAC_SCAN_STATE>,
// ncp_base_radio.cpp LinkRawEnergyScanDone): one channel per scan, answered
// at once with SCAN_STATE = ENERGY, then MAC_ENERGY_SCAN_RESULT and
// SCAN_STATE = IDLE when the period is over; frames are refused meanwhile;
// with the PHY disabled the SET does nothing and reads IDLE.
func TestEnergyScan(t *testing.T) {
	h, _ := start(t, 1, Config{})
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.set(1, spinel.PropMACScanMask, []byte{20})
	h.set(2, spinel.PropMACScanState, []byte{spinel.ScanStateIdle})
	h.send(3, spinel.CmdPropValueSet, spinel.PropMACScanState, []byte{spinel.ScanStateEnergy})
	h.expectIs(3, spinel.PropMACScanState, []byte{spinel.ScanStateIdle}) // PHY disabled
	h.expectNothing(20 * time.Millisecond)
	h.enable(15)
	h.set(1, spinel.PropMACScanMask, []byte{20, 21})
	h.send(2, spinel.CmdPropValueSet, spinel.PropMACScanState, []byte{spinel.ScanStateEnergy})
	h.expectStatus(2, spinel.StatusInvalidArgument)
	h.set(3, spinel.PropMACScanMask, []byte{21})
	h.set(4, spinel.PropMACScanPeriod, spinel.AppendUint16(nil, 30))
	began := time.Now()
	h.set(5, spinel.PropMACScanState, []byte{spinel.ScanStateEnergy})
	// At once, not after the scan: the answer comes before the result
	// (checked below by the order of frames); the bound only has to be
	// loose enough for a loaded machine.
	if e := time.Since(began); e > 250*time.Millisecond {
		t.Errorf("SET SCAN_STATE answered after %v: want at once", e)
	}
	tx := spinel.AppendTxRequest(nil, &spinel.TxRequest{PSDU: dataFrame(1, 0xffff, false), Channel: 15, RxChannelAfterTx: 15})
	h.send(6, spinel.CmdPropValueSet, spinel.PropStreamRaw, tx)
	h.expectStatus(6, spinel.StatusInvalidState)
	h.send(7, spinel.CmdPropValueSet, spinel.PropMACScanState, []byte{spinel.ScanStateEnergy})
	h.expectStatus(7, spinel.StatusInvalidState)
	f := h.recv()
	var res spinel.EnergyScanResult
	if f.TID != 0 || f.Prop != spinel.PropMACEnergyScanResult || res.Decode(f.Value) != nil || res.Channel != 21 {
		t.Fatalf("scan result %v", &f)
	}
	if e := time.Since(began); e < 30*time.Millisecond {
		t.Errorf("scan over after %v, want ≥ its 30 ms period", e)
	}
	h.expectIs(0, spinel.PropMACScanState, []byte{spinel.ScanStateIdle})
	h.send(8, spinel.CmdPropValueSet, spinel.PropStreamRaw, tx)
	h.expectStatus(8, spinel.StatusOK)
}

// A frozen RCP (SIGSTOP) answers nothing and acknowledges nothing; thawed,
// it answers what waited. Reboot changes the identity; the end of Serve
// powers the radio off.
func TestFaults(t *testing.T) {
	h, w := start(t, 0, Config{})
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.enable(15)
	peer, err := w.m.Attach(medium.NodeConfig{Name: "peer", Channel: 15, PANID: 0xabcd, ShortAddr: 2, RxOnWhenIdle: true})
	if err != nil {
		t.Fatal(err)
	}
	toRCP := []byte{0x61, 0x88, 7, 0xcd, 0xab, 0x01, 0x00, 0x02, 0x00, 'p', 0, 0}
	w.rcp.Freeze()
	h.send(1, spinel.CmdNoop, 0, nil)
	h.expectNothing(30 * time.Millisecond)
	if res, _ := peer.Transmit(context.Background(), toRCP, medium.TxOptions{MaxFrameRetries: -1}); res.Status != medium.TxNoAck {
		t.Errorf("frozen RCP acknowledged: %v", res.Status)
	}
	w.rcp.Thaw()
	h.expectStatus(1, spinel.StatusOK)

	other := [8]byte{2, 0, 0, 0, 0, 0, 0, 9}
	w.rcp.Reboot(other)
	h.expectStatus(0, spinel.StatusResetPowerOn)
	h.send(2, spinel.CmdPropValueGet, spinel.PropHWAddr, nil)
	h.expectIs(2, spinel.PropHWAddr, other[:])
	h.send(3, spinel.CmdPropValueGet, spinel.PropPHYEnabled, nil)
	h.expectIs(3, spinel.PropPHYEnabled, []byte{0})
	if w.node.Config().RxOnWhenIdle {
		t.Error("rebooted RCP's radio still on")
	}
}

// When Serve ends (the dongle is unplugged) the radio is off; serving
// again boots it.
func TestUnplugPowersOff(t *testing.T) {
	ctx := context.Background()
	m := medium.New(medium.Config{Seed: 3})
	go m.Run(ctx)
	defer m.Close()
	node, err := m.Attach(medium.NodeConfig{Name: "rcp", Channel: 11})
	if err != nil {
		t.Fatal(err)
	}
	r := New(node, Config{EUI64: testEUI})
	for range 2 {
		a, b := net.Pipe()
		sctx, cancel := context.WithCancel(ctx)
		served := make(chan struct{})
		go func() { r.Serve(sctx, a); close(served) }()
		h := &host{t: t, conn: spinel.NewHDLCConn(b), frames: make(chan spinel.Frame, 16)}
		go func() {
			buf := make([]byte, 512)
			for {
				n, err := h.conn.ReadFrame(buf)
				if err != nil {
					return
				}
				var f spinel.Frame
				if f.Decode(bytes.Clone(buf[:n])) == nil {
					h.frames <- f
				}
			}
		}()
		h.expectStatus(0, spinel.StatusResetPowerOn)
		h.enable(15)
		if !node.Config().RxOnWhenIdle {
			t.Fatal("radio off after enable")
		}
		cancel()
		b.Close()
		<-served
		if node.Config().RxOnWhenIdle {
			t.Fatal("unplugged RCP's radio still on")
		}
	}
}
