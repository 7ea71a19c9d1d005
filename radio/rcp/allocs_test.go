package rcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// cannedRCP is the far end of a PTY that answers the driver as an RCP does
// (reset notification, identity, settings read back, a transmit-done per
// STREAM_RAW, with the ACK when one was requested) from values made up
// front, in reused buffers: once running it allocates nothing, so whatever
// a frame allocates in the process is the driver's (the UART code, HDLC,
// Spinel and rcp.Driver). The simulated RCP and its medium allocate per
// frame themselves and cannot serve for that count.
type cannedRCP struct {
	mu    sync.Mutex // the writing side: handle, and tests answering late
	f     *os.File
	dec   *spinel.HDLCDecoder
	rbuf  []byte
	out   []byte
	enc   []byte
	props map[spinel.Prop][]byte
	rx    []byte // an HDLC-encoded IS STREAM_RAW, written on demand

	// For tests of outcomes (nil in the allocation test): transmit
	// requests seen, by sequence number; channel access failures to
	// report for a sequence number before it goes out; sequence numbers
	// whose transmit-done waits for answerHeld.
	seen []byte
	cca  map[byte]int
	hold map[byte]bool
	held []uint8 // TIDs
}

func newCannedRCP(f *os.File, psdu []byte) *cannedRCP {
	caps := spinel.AppendCaps(nil, rcpsim.DefaultCaps)
	q := &cannedRCP{f: f, dec: spinel.NewHDLCDecoder(0), rbuf: make([]byte, 4096), out: make([]byte, 0, 512), enc: make([]byte, 0, 1100),
		props: map[spinel.Prop][]byte{
			spinel.PropProtocolVersion:      spinel.AppendProtocolVersion(nil, 4, 3),
			spinel.PropNCPVersion:           spinel.AppendUTF8(nil, "canned RCP"),
			spinel.PropCaps:                 caps,
			spinel.PropHWAddr:               rcpEUI[:],
			spinel.PropRCPAPIVersion:        spinel.AppendPackedUint(nil, 11),
			spinel.PropRCPMinHostAPIVersion: spinel.AppendPackedUint(nil, 4),
			spinel.PropRadioCaps:            spinel.AppendPackedUint(nil, 0x7f),
		}}
	rx := spinel.AppendFrameHeader(nil, 0, 0, spinel.CmdPropValueIs, spinel.PropStreamRaw)
	rx = spinel.AppendRxFrame(rx, &spinel.RxFrame{PSDU: psdu, RSSI: -40, NoiseFloor: spinel.NoiseFloorUnknown, Channel: 15, LQI: 200})
	q.rx = spinel.AppendHDLC(nil, rx)
	return q
}

func (q *cannedRCP) serve() {
	handle := q.handle
	for {
		n, err := q.f.Read(q.rbuf)
		if err != nil {
			return
		}
		q.dec.Feed(q.rbuf[:n], handle)
	}
}

func (q *cannedRCP) handle(b []byte) {
	var f spinel.Frame
	if f.Decode(b) != nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case f.Command == spinel.CmdReset:
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, 0, spinel.CmdPropValueIs, spinel.PropLastStatus)
		q.out = spinel.AppendPackedUint(q.out, uint32(spinel.StatusResetPowerOn))
	case f.Command == spinel.CmdPropValueGet:
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, f.TID, spinel.CmdPropValueIs, f.Prop)
		q.out = append(q.out, q.props[f.Prop]...)
	case f.Command == spinel.CmdPropValueSet && f.Prop == spinel.PropStreamRaw:
		var req spinel.TxRequest
		if req.Decode(f.Value) != nil {
			return
		}
		seq := req.PSDU[2]
		if q.cca != nil {
			q.seen = append(q.seen, seq)
		}
		done := spinel.TxDone{Status: spinel.StatusOK}
		dst := uint16(req.PSDU[5]) | uint16(req.PSDU[6])<<8
		switch {
		case q.hold[seq]:
			q.held = append(q.held, f.TID)
			return
		case q.cca[seq] > 0:
			q.cca[seq]--
			done.Status = spinel.StatusCCAFailure
		case dst == 0x0099:
			done.Status = spinel.StatusNoAck
		case req.PSDU[0]&0x20 != 0:
			done.HasAck = true
			done.Ack = spinel.RxFrame{PSDU: []byte{0x02, 0x00, req.PSDU[2], 0, 0}, NoiseFloor: spinel.NoiseFloorUnknown, Channel: req.Channel}
		}
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, f.TID, spinel.CmdPropValueIs, spinel.PropLastStatus)
		q.out = spinel.AppendTxDone(q.out, &done)
	case f.Command == spinel.CmdPropValueSet:
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, f.TID, spinel.CmdPropValueIs, f.Prop)
		q.out = append(q.out, f.Value...)
	default:
		return
	}
	q.enc = spinel.AppendHDLC(q.enc[:0], q.out)
	q.f.Write(q.enc)
}

// answerHeld sends the transmit-done (OK, no ACK) of every held request.
func (q *cannedRCP) answerHeld() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, tid := range q.held {
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, tid, spinel.CmdPropValueIs, spinel.PropLastStatus)
		q.out = spinel.AppendTxDone(q.out, &spinel.TxDone{Status: spinel.StatusOK})
		q.enc = spinel.AppendHDLC(q.enc[:0], q.out)
		q.f.Write(q.enc)
	}
	q.held = nil
}

func (q *cannedRCP) requests() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]byte(nil), q.seen...)
}

// cannedDriver opens a driver on a PTY whose other end is a cannedRCP;
// rx is the PSDU of the frame the RCP "receives" on demand.
func cannedDriver(t testing.TB, rx []byte, edit func(*Config)) (*Driver, *cannedRCP, *os.File) {
	t.Helper()
	master, path, err := transport.OpenPTY()
	if err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	q := newCannedRCP(master, rx)
	go q.serve()
	t.Cleanup(func() { master.Close() })
	cfg := Config{Settings: testSettings, Open: func(context.Context) (spinel.FrameConn, error) {
		p, err := transport.OpenUART(path, transport.UARTConfig{Baud: 1000000})
		if err != nil {
			return nil, err
		}
		return spinel.NewHDLCConn(p), nil
	}}
	if edit != nil {
		edit(&cfg)
	}
	d, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, q, master
}

// Once warm, a frame through rcp.Driver allocates nothing, either way:
// Transmit and TransmitFrames (with the ACK copied into the caller's
// buffer), and a received frame lent to the consumer and released. The
// path is the daemon's: the UART code on a PTY, HDLC, the Spinel client.
func TestDriverFrameAllocs(t *testing.T) {
	unicast := dataFrame(t, 7, 0x0002, true)
	d, q, master := cannedDriver(t, unicast, nil)
	var err error
	ctx := context.Background()
	broadcast := dataFrame(t, 1, 0xffff, false)
	var res radio.TxResult
	tx := testing.AllocsPerRun(200, func() {
		res, err = d.Transmit(ctx, broadcast, radio.TxOptions{})
	})
	if err != nil || res.Status != radio.TxSent {
		t.Fatalf("Transmit: %v %v", res.Status, err)
	}

	frames := [][]byte{unicast, broadcast, unicast}
	results := make([]radio.TxResult, len(frames))
	for i := range results {
		results[i].Ack = make([]byte, 0, radio.MaxPSDU)
	}
	var n int
	batch := testing.AllocsPerRun(100, func() {
		n, err = d.TransmitFrames(ctx, frames, radio.TxOptions{CCARetries: 2}, results)
	})
	if err != nil || n != 3 || results[0].Status != radio.TxAcked || results[1].Status != radio.TxSent ||
		len(results[2].Ack) != 5 || results[2].Ack[2] != 7 {
		t.Fatalf("TransmitFrames = %d, %v: %+v", n, err, results)
	}

	rx := d.Receive()
	var got radio.Frame
	recv := testing.AllocsPerRun(200, func() {
		if _, err := master.Write(q.rx); err != nil {
			panic(err)
		}
		got = <-rx // a lost frame ends in the test's timeout
		if len(got.PSDU) != len(unicast) || got.PSDU[2] != 7 || got.RSSI != -40 {
			panic("wrong frame")
		}
		got.Release()
	})
	if tx != 0 || batch != 0 || recv != 0 {
		t.Errorf("allocations per run: Transmit %v, TransmitFrames of 3 %v, receive %v; want 0", tx, batch, recv)
	}
	if s := d.Stats(); s.RxBuffersMade != 0 || s.RxDropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TransmitFrames sends the frames in order, retries a frame that met a busy
// channel TxOptions.CCARetries times (counting them per frame), stops at
// the first frame neither sent nor acknowledged, and leaves the results
// after it alone.
func TestTransmitFrames(t *testing.T) {
	d, q, _ := cannedDriver(t, dataFrame(t, 1, 1, false), nil)
	q.mu.Lock()
	q.cca = map[byte]int{2: 1, 3: 3}
	q.mu.Unlock()
	ctx := context.Background()
	frames := [][]byte{dataFrame(t, 1, 0x0002, true), dataFrame(t, 2, 0xffff, false), dataFrame(t, 3, 0x0002, true), dataFrame(t, 4, 0x0002, true)}
	results := make([]radio.TxResult, len(frames))
	results[3].Status = radio.TxNoAck // not touched
	n, err := d.TransmitFrames(ctx, frames, radio.TxOptions{CCARetries: 2}, results)
	if err != nil || n != 3 {
		t.Fatalf("TransmitFrames = %d, %v", n, err)
	}
	want := []radio.TxResult{{Status: radio.TxAcked}, {Status: radio.TxSent, CCARetries: 1}, {Status: radio.TxChannelAccessFailure, CCARetries: 2}, {Status: radio.TxNoAck}}
	for i := range want {
		if r := results[i]; r.Status != want[i].Status || r.CCARetries != want[i].CCARetries || r.Ack != nil {
			t.Errorf("frame %d: %+v, want %+v", i, r, want[i])
		}
	}
	if got := q.requests(); !bytes.Equal(got, []byte{1, 2, 2, 3, 3, 3}) {
		t.Errorf("requests for frames %v, want 1 2 2 3 3 3", got)
	}
	if s := d.Stats(); s.TxCCARetries != 3 || s.TxCCAFailure != 4 || s.TxAcked != 1 || s.TxNoAckRequested != 1 {
		t.Errorf("stats %+v", s)
	}
	// A NO_ACK stops the batch.
	frames = [][]byte{dataFrame(t, 5, 0x0002, true), dataFrame(t, 6, 0x0099, true), dataFrame(t, 7, 0x0002, true)}
	n, err = d.TransmitFrames(ctx, frames, radio.TxOptions{}, results)
	if err != nil || n != 2 || results[0].Status != radio.TxAcked || results[1].Status != radio.TxNoAck {
		t.Fatalf("TransmitFrames = %d, %v, %+v", n, err, results[:2])
	}
	if got := q.requests(); got[len(got)-1] != 6 {
		t.Errorf("requests %v: frame 7 went out after a NO_ACK", got)
	}
	if n, err := d.TransmitFrames(ctx, frames, radio.TxOptions{}, results[:1]); err == nil || n != 0 {
		t.Errorf("too few results: %d, %v", n, err)
	}
}

// A caller whose context ends while its frame is in the RCP's hands gets
// TxAborted for it and ctx's error at once; the next transmission goes out
// only after that frame's transmit-done, which a second STREAM_RAW would
// otherwise replace (sub_mac.cpp SubMac::Send).
func TestTransmitFramesCallerLeaves(t *testing.T) {
	d, q, _ := cannedDriver(t, dataFrame(t, 1, 1, false), nil)
	q.mu.Lock()
	q.cca = map[byte]int{}
	q.hold = map[byte]bool{9: true}
	q.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	results := make([]radio.TxResult, 2)
	done := make(chan error, 1)
	var n int
	go func() {
		var err error
		n, err = d.TransmitFrames(ctx, [][]byte{dataFrame(t, 9, 0x0002, true), dataFrame(t, 10, 0x0002, true)}, radio.TxOptions{}, results)
		done <- err
	}()
	waitFor(t, "frame 9 at the RCP", 2*time.Second, func() bool { return len(q.requests()) == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || n != 1 || results[0].Status != radio.TxAborted {
			t.Fatalf("TransmitFrames = %d, %v, %+v", n, err, results[0])
		}
	case <-time.After(2 * time.Second):
		t.Fatal("TransmitFrames did not return when its context ended")
	}
	next := make(chan error, 1)
	go func() {
		res, err := d.Transmit(context.Background(), dataFrame(t, 11, 0xffff, false), radio.TxOptions{})
		if err == nil && res.Status != radio.TxSent {
			err = fmt.Errorf("status %v", res.Status)
		}
		next <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if got := q.requests(); !bytes.Equal(got, []byte{9}) {
		t.Fatalf("requests %v while frame 9 was in the RCP's hands", got)
	}
	q.answerHeld()
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	if got := q.requests(); !bytes.Equal(got, []byte{9, 11}) {
		t.Fatalf("requests %v, want 9 11", got)
	}
}

// Received frames: a consumer too slow to take them loses the ones its
// channel cannot hold (counted); a consumer that never releases them keeps
// working, each frame in a buffer of its own, and the buffers made are
// counted.
func TestReceiveLending(t *testing.T) {
	psdu := dataFrame(t, 3, 1, false)
	d, q, master := cannedDriver(t, psdu, func(c *Config) { c.RxBuffer = 2 })
	for range 5 {
		master.Write(q.rx)
	}
	waitFor(t, "five frames handled", 2*time.Second, func() bool { s := d.Stats(); return s.RxFrames+s.RxDropped == 5 })
	if s := d.Stats(); s.RxFrames != 2 || s.RxDropped != 3 {
		t.Fatalf("stats %+v, want 2 delivered, 3 dropped", s)
	}
	for range 2 {
		f := <-d.Receive()
		f.Release()
	}
	var kept []radio.Frame
	for i := range 2*(2+rxPoolSpare) + 1 {
		master.Write(q.rx)
		f := <-d.Receive()
		f.PSDU[2] = byte(i) // ours until released
		kept = append(kept, f)
	}
	for i, f := range kept {
		if f.PSDU[2] != byte(i) || !bytes.Equal(f.PSDU[3:], psdu[3:]) {
			t.Fatalf("frame %d was overwritten: % x", i, f.PSDU)
		}
	}
	if s := d.Stats(); s.RxBuffersMade != uint64(len(kept)-(2+rxPoolSpare)) || s.RxDropped != 3 {
		t.Fatalf("stats %+v: want %d buffers made", s, len(kept)-(2+rxPoolSpare))
	}
}
