package spinel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeRCP is the far end of a net.Pipe: it collects the host's frames on
// reqs and answers as a test scripts it.
type fakeRCP struct {
	raw  net.Conn
	conn *HDLCConn
	reqs chan Frame
	done chan struct{}
}

func newFakeRCP(raw net.Conn) *fakeRCP {
	r := &fakeRCP{raw: raw, conn: NewHDLCConn(raw), reqs: make(chan Frame, 64), done: make(chan struct{})}
	go r.readLoop()
	return r
}

func (r *fakeRCP) readLoop() {
	defer close(r.done)
	buf := make([]byte, DefaultMaxFrame)
	for {
		n, err := r.conn.ReadFrame(buf)
		if err != nil {
			return
		}
		var f Frame
		if f.Decode(buf[:n]) != nil {
			continue
		}
		f.Value = bytes.Clone(f.Value)
		r.reqs <- f
	}
}

// next returns the host's next frame.
func (r *fakeRCP) next(t *testing.T) Frame {
	t.Helper()
	select {
	case f := <-r.reqs:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("fake RCP: no frame from the host")
		return Frame{}
	}
}

// quiet checks that the host sends nothing for d.
func (r *fakeRCP) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f := <-r.reqs:
		t.Fatalf("fake RCP: unexpected frame %v", &f)
	case <-time.After(d):
	}
}

func (r *fakeRCP) send(t *testing.T, tid uint8, cmd Command, prop Prop, value []byte) {
	t.Helper()
	if err := r.conn.WriteFrame(AppendFrame(nil, &Frame{TID: tid, Command: cmd, Prop: prop, Value: value})); err != nil {
		t.Fatalf("fake RCP: write: %v", err)
	}
}

func startPair(t *testing.T, opts ClientOptions) (*Client, *fakeRCP) {
	t.Helper()
	host, rcp := net.Pipe()
	c := NewClient(NewHDLCConn(host), nil, opts)
	r := newFakeRCP(rcp)
	t.Cleanup(func() {
		c.Close()
		r.conn.Close()
		<-r.done
	})
	return c, r
}

type result struct {
	f   Frame
	err error
}

func async(f func() (Frame, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		fr, err := f()
		ch <- result{fr, err}
	}()
	return ch
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		var zero T
		return zero
	}
}

// waitGoroutines waits until no more goroutines run than before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutine leak: %d running, %d before\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var ignoreValue = cmpopts.EquateEmpty()

func TestClientRequests(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx := context.Background()

	// GET answered by IS.
	res := async(func() (Frame, error) { return c.Get(ctx, PropProtocolVersion) })
	req := r.next(t)
	if want := (Frame{TID: 1, Command: CmdPropValueGet, Prop: PropProtocolVersion}); !cmp.Equal(want, req, ignoreValue) {
		t.Fatalf("request %v, want %v", &req, &want)
	}
	r.send(t, req.TID, CmdPropValueIs, PropProtocolVersion, []byte{4, 3})
	got := wait(t, res)
	if want := (Frame{TID: 1, Command: CmdPropValueIs, Prop: PropProtocolVersion, Value: []byte{4, 3}}); got.err != nil || !cmp.Equal(want, got.f) {
		t.Fatalf("Get = %v, %v; want %v", &got.f, got.err, &want)
	}

	// SET answered by IS with the new value; TIDs go round.
	res = async(func() (Frame, error) { return c.Set(ctx, PropPHYChan, []byte{15}) })
	req = r.next(t)
	if want := (Frame{TID: 2, Command: CmdPropValueSet, Prop: PropPHYChan, Value: []byte{15}}); !cmp.Equal(want, req) {
		t.Fatalf("request %v, want %v", &req, &want)
	}
	r.send(t, req.TID, CmdPropValueIs, PropPHYChan, []byte{15})
	if got := wait(t, res); got.err != nil || got.f.Prop != PropPHYChan {
		t.Fatalf("Set = %v, %v", &got.f, got.err)
	}

	// SET of a property without a getter: LAST_STATUS OK.
	res = async(func() (Frame, error) { return c.Set(ctx, PropMACSrcMatchShortAddresses, []byte{1, 0}) })
	req = r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{byte(StatusOK)})
	if got := wait(t, res); got.err != nil || got.f.Prop != PropLastStatus {
		t.Fatalf("Set = %v, %v", &got.f, got.err)
	}

	// GET answered by LAST_STATUS PROP_NOT_FOUND: a Status error.
	res = async(func() (Frame, error) { return c.Get(ctx, PropRCPMinHostAPIVersion) })
	req = r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{byte(StatusPropNotFound)})
	got = wait(t, res)
	var st Status
	if !errors.As(got.err, &st) || st != StatusPropNotFound || !errors.Is(got.err, StatusPropNotFound) {
		t.Fatalf("Get error = %v, want PROP_NOT_FOUND", got.err)
	}

	// INSERT and REMOVE.
	res = async(func() (Frame, error) { return c.Insert(ctx, PropMACSrcMatchShortAddresses, []byte{3, 0}) })
	req = r.next(t)
	if req.Command != CmdPropValueInsert {
		t.Fatalf("request %v", &req)
	}
	r.send(t, req.TID, CmdPropValueInserted, PropMACSrcMatchShortAddresses, []byte{3, 0})
	if got := wait(t, res); got.err != nil || got.f.Command != CmdPropValueInserted {
		t.Fatalf("Insert = %v, %v", &got.f, got.err)
	}
	res = async(func() (Frame, error) { return c.Remove(ctx, PropMACSrcMatchShortAddresses, []byte{3, 0}) })
	req = r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{byte(StatusItemNotFound)})
	if got := wait(t, res); !errors.Is(got.err, StatusItemNotFound) {
		t.Fatalf("Remove error = %v, want ITEM_NOT_FOUND", got.err)
	}

	// NOOP.
	res = async(func() (Frame, error) { return Frame{}, c.Noop(ctx) })
	req = r.next(t)
	if req.Command != CmdNoop {
		t.Fatalf("request %v", &req)
	}
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{0})
	if got := wait(t, res); got.err != nil {
		t.Fatal(got.err)
	}

	// RESET goes out with TID 0 and no answer is awaited.
	if err := c.Reset(ctx, ResetStack); err != nil {
		t.Fatal(err)
	}
	if req := r.next(t); !cmp.Equal(Frame{Command: CmdReset, Value: []byte{2}}, req) {
		t.Fatalf("reset frame %v", &req)
	}
	if s := c.Stats(); s.FramesOut != 8 || s.FramesIn != 7 || s.BadFrames != 0 || s.Unmatched != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Answers in another order than the requests still reach their callers.
func TestClientOutOfOrder(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx := context.Background()
	props := []Prop{PropNCPVersion, PropCaps, PropHWAddr, PropRadioCaps}
	var results []<-chan result
	for _, p := range props {
		results = append(results, async(func() (Frame, error) { return c.Get(ctx, p) }))
	}
	var reqs []Frame
	for range props {
		reqs = append(reqs, r.next(t))
	}
	for i := len(reqs) - 1; i >= 0; i-- {
		r.send(t, reqs[i].TID, CmdPropValueIs, reqs[i].Prop, AppendPackedUint(nil, uint32(reqs[i].Prop)))
	}
	for i, p := range props {
		got := wait(t, results[i])
		if got.err != nil || got.f.Prop != p || !bytes.Equal(got.f.Value, AppendPackedUint(nil, uint32(p))) {
			t.Errorf("Get(%v) = %v, %v", p, &got.f, got.err)
		}
	}
}

// Unsolicited frames and stray answers between a request and its answer.
func TestClientInterleaved(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx := context.Background()
	sub, cancel := c.Subscribe(8)
	defer cancel()
	res := async(func() (Frame, error) { return c.Get(ctx, PropPHYRSSI) })
	req := r.next(t)
	r.send(t, 0, CmdPropValueIs, PropStreamRaw, rxFrameVector)
	r.send(t, req.TID%15+1, CmdPropValueIs, PropPHYRSSI, []byte{0x80}) // a TID nobody holds
	r.send(t, req.TID, CmdPropValueIs, PropPHYChan, []byte{11})        // right TID, wrong property
	r.send(t, 0, CmdPropValueIs, PropStreamLog, []byte("log\x00"))
	r.send(t, req.TID, CmdPropValueIs, PropPHYRSSI, []byte{0xB0})
	if got := wait(t, res); got.err != nil || !bytes.Equal(got.f.Value, []byte{0xB0}) {
		t.Fatalf("Get = %v, %v", &got.f, got.err)
	}
	f := wait(t, sub)
	var rx RxFrame
	if f.TID != 0 || f.Prop != PropStreamRaw || rx.Decode(f.Value) != nil || rx.RSSI != -60 {
		t.Fatalf("first unsolicited frame %v", &f)
	}
	if f := wait(t, sub); f.Prop != PropStreamLog || string(f.Value) != "log\x00" {
		t.Fatalf("second unsolicited frame %v", &f)
	}
	if s := c.Stats(); s.Unmatched != 2 || s.Unsolicited != 2 {
		t.Fatalf("stats %+v, want 2 unmatched and 2 unsolicited", s)
	}
}

func TestClientTimeout(t *testing.T) {
	c, r := startPair(t, ClientOptions{Timeout: 50 * time.Millisecond})
	ctx := context.Background()
	start := time.Now()
	_, err := c.Get(ctx, PropNCPVersion)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get error = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	req := r.next(t)
	// The late answer is dropped (its TID was held back for it); the next
	// request works, with another TID.
	r.send(t, req.TID, CmdPropValueIs, PropNCPVersion, []byte("late\x00"))
	res := async(func() (Frame, error) { return Frame{}, c.Noop(ctx) })
	req2 := r.next(t)
	if req2.TID == req.TID {
		t.Fatalf("TID %d reused at once", req.TID)
	}
	r.send(t, req2.TID, CmdPropValueIs, PropLastStatus, []byte{0})
	if got := wait(t, res); got.err != nil {
		t.Fatal(got.err)
	}
	if s := c.Stats(); s.Timeouts != 1 || s.Late != 1 || s.Unmatched != 0 {
		t.Fatalf("stats %+v, want 1 timeout, 1 late answer", s)
	}

	// A cancelled context ends the wait too.
	cctx, cancel := context.WithCancel(ctx)
	res = async(func() (Frame, error) { return c.Get(cctx, PropNCPVersion) })
	r.next(t)
	cancel()
	if got := wait(t, res); !errors.Is(got.err, context.Canceled) {
		t.Fatalf("Get error = %v, want context.Canceled", got.err)
	}
}

// A transmission keeps its TID until the transmit-done; other requests go
// on meanwhile.
func TestClientTransmit(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx := context.Background()
	type txResult struct {
		d   TxDone
		err error
	}
	txc := make(chan txResult, 1)
	go func() {
		d, err := c.Transmit(ctx, txRequestFields)
		txc <- txResult{d, err}
	}()
	txReq := r.next(t)
	if txReq.Command != CmdPropValueSet || txReq.Prop != PropStreamRaw || !bytes.Equal(txReq.Value, txRequestVector) {
		t.Fatalf("transmit request %v", &txReq)
	}
	var parsed TxRequest
	if err := parsed.Decode(txReq.Value); err != nil || !cmp.Equal(txRequestFields, parsed) {
		t.Fatalf("RCP parsed %+v, %v", parsed, err)
	}

	res := async(func() (Frame, error) { return c.Get(ctx, PropPHYChan) })
	getReq := r.next(t)
	if getReq.TID == txReq.TID {
		t.Fatal("GET took the transmit's TID")
	}
	r.send(t, getReq.TID, CmdPropValueIs, PropPHYChan, []byte{15})
	if got := wait(t, res); got.err != nil {
		t.Fatal(got.err)
	}
	// Not a transmit-done: IS STREAM_RAW with the transmit's TID.
	r.send(t, txReq.TID, CmdPropValueIs, PropStreamRaw, rxFrameVector)
	select {
	case got := <-txc:
		t.Fatalf("Transmit returned before its transmit-done: %+v %v", got.d, got.err)
	case <-time.After(20 * time.Millisecond):
	}
	ack := RxFrame{PSDU: []byte{0x12, 0x00, 0x2A, 0x9C, 0x3E}, RSSI: -58, NoiseFloor: -128, Channel: 15, LQI: 200}
	r.send(t, txReq.TID, CmdPropValueIs, PropLastStatus, AppendTxDone(nil, &TxDone{Status: StatusOK, FramePending: true, HasAck: true, Ack: ack}))
	got := wait(t, txc)
	want := TxDone{Status: StatusOK, FramePending: true, HasAck: true, Ack: ack}
	if got.err != nil || !cmp.Equal(want, got.d) {
		t.Fatalf("Transmit = %+v, %v; want %+v", got.d, got.err, want)
	}
	if s := c.Stats(); s.Unmatched != 1 {
		t.Fatalf("stats %+v", s)
	}

	// Outcomes without an ACK, and a refusal.
	for _, tc := range []struct {
		reply   []byte
		status  Status
		refused bool
	}{
		{[]byte{0x11, 0x00, 0x00}, StatusNoAck, false},
		{[]byte{0x12, 0x00, 0x00}, StatusCCAFailure, false},
		{[]byte{0x8B, 0x80, 0x01, 0x00, 0x00}, StatusAbort, false},
		{[]byte{0x04}, StatusInvalidState, true},
	} {
		go func() {
			d, err := c.Transmit(ctx, txRequestFields)
			txc <- txResult{d, err}
		}()
		req := r.next(t)
		r.send(t, req.TID, CmdPropValueIs, PropLastStatus, tc.reply)
		got := wait(t, txc)
		if got.d.Status != tc.status || got.d.HasAck {
			t.Errorf("reply % x: TxDone %+v", tc.reply, got.d)
		}
		if tc.refused != (got.err != nil) || (tc.refused && !errors.Is(got.err, tc.status)) {
			t.Errorf("reply % x: error %v, refused=%v", tc.reply, got.err, tc.refused)
		}
	}
}

// With all 15 TIDs taken a request waits, bounded by its context, and gets
// the first TID freed.
func TestClientAllTIDsBusy(t *testing.T) {
	c, r := startPair(t, ClientOptions{Timeout: 20 * time.Second})
	ctx := context.Background()
	var order []<-chan result
	for range MaxTID {
		order = append(order, async(func() (Frame, error) { return c.Get(ctx, PropPHYRSSI) }))
	}
	seen := map[uint8]bool{}
	var reqs []Frame
	for range MaxTID {
		req := r.next(t)
		if req.TID == 0 || seen[req.TID] {
			t.Fatalf("TID %d reused or zero", req.TID)
		}
		seen[req.TID] = true
		reqs = append(reqs, req)
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.Get(short, PropPHYChan); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("16th request: %v, want DeadlineExceeded", err)
	}
	waiting := async(func() (Frame, error) { return c.Get(ctx, PropPHYChan) })
	r.quiet(t, 50*time.Millisecond)

	// Free TID 7: the waiting request takes it.
	r.send(t, 7, CmdPropValueIs, PropPHYRSSI, []byte{0xC0})
	req := r.next(t)
	if req.TID != 7 || req.Prop != PropPHYChan {
		t.Fatalf("waiting request went out as %v, want TID 7", &req)
	}
	r.send(t, 7, CmdPropValueIs, PropPHYChan, []byte{20})
	if got := wait(t, waiting); got.err != nil || got.f.Value[0] != 20 {
		t.Fatalf("waiting Get = %v, %v", &got.f, got.err)
	}
	for _, q := range reqs {
		if q.TID != 7 {
			r.send(t, q.TID, CmdPropValueIs, PropPHYRSSI, []byte{q.TID})
		}
	}
	for i, ch := range order {
		if got := wait(t, ch); got.err != nil {
			t.Errorf("Get %d: %v", i, got.err)
		}
	}
}

// The connection failing mid-request ends the client: the request fails
// with ErrClosed and the cause, subscribers see their channel close, and no
// goroutine is left.
func TestClientConnClosed(t *testing.T) {
	before := runtime.NumGoroutine()
	host, rcp := net.Pipe()
	c := NewClient(NewHDLCConn(host), nil, ClientOptions{})
	r := newFakeRCP(rcp)
	sub, _ := c.Subscribe(4)
	ctx := context.Background()
	res := async(func() (Frame, error) { return c.Get(ctx, PropNCPVersion) })
	r.next(t)
	rcp.Close()
	got := wait(t, res)
	if !errors.Is(got.err, ErrClosed) || !errors.Is(got.err, io.EOF) {
		t.Fatalf("Get error = %v, want ErrClosed wrapping EOF", got.err)
	}
	wait(t, c.Done())
	if err := c.Err(); !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
		t.Fatalf("Err() = %v", err)
	}
	if _, ok := <-sub; ok {
		t.Fatal("subscriber channel still open")
	}
	if _, err := c.Get(ctx, PropNCPVersion); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after the end: %v", err)
	}
	if _, err := c.Transmit(ctx, txRequestFields); !errors.Is(err, ErrClosed) {
		t.Fatalf("Transmit after the end: %v", err)
	}
	if err := c.Reset(ctx, ResetStack); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reset after the end: %v", err)
	}
	if ch, _ := c.Subscribe(1); ch != nil {
		if _, ok := <-ch; ok {
			t.Fatal("late subscription open")
		}
	}
	c.Close()
	c.Close()
	<-r.done
	waitGoroutines(t, before)
}

func TestClientCloseWhilePending(t *testing.T) {
	before := runtime.NumGoroutine()
	host, rcp := net.Pipe()
	c := NewClient(NewHDLCConn(host), nil, ClientOptions{})
	r := newFakeRCP(rcp)
	ctx := context.Background()
	res := async(func() (Frame, error) { return c.Get(ctx, PropNCPVersion) })
	tx := make(chan error, 1)
	go func() { _, err := c.Transmit(ctx, txRequestFields); tx <- err }()
	r.next(t)
	r.next(t)
	if c.Err() != nil {
		t.Fatal("Err before Close")
	}
	c.Close()
	if got := wait(t, res); !errors.Is(got.err, ErrClosed) {
		t.Fatalf("Get error = %v", got.err)
	}
	if err := wait(t, tx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Transmit error = %v", err)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err() = %v", c.Err())
	}
	<-r.done
	waitGoroutines(t, before)
}

// A reset notification ends every pending request: the RCP forgot them.
func TestClientResetAbortsPending(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx := context.Background()
	sub, cancel := c.Subscribe(4, PropLastStatus)
	defer cancel()
	tx := make(chan error, 1)
	go func() { _, err := c.Transmit(ctx, txRequestFields); tx <- err }()
	r.next(t)
	res := async(func() (Frame, error) { return c.Get(ctx, PropCaps) })
	r.next(t)
	r.send(t, 0, CmdPropValueIs, PropLastStatus, []byte{byte(StatusResetPowerOn)})
	if err := wait(t, tx); !errors.Is(err, ErrReset) || !errors.Is(err, StatusResetPowerOn) {
		t.Fatalf("Transmit error = %v, want ErrReset", err)
	}
	if got := wait(t, res); !errors.Is(got.err, ErrReset) {
		t.Fatalf("Get error = %v, want ErrReset", got.err)
	}
	if f := wait(t, sub); f.Prop != PropLastStatus || f.Value[0] != byte(StatusResetPowerOn) {
		t.Fatalf("notification %v", &f)
	}
	if s := c.Stats(); s.Resets != 1 {
		t.Fatalf("stats %+v", s)
	}
	// A non-reset unsolicited status does not abort anything.
	res = async(func() (Frame, error) { return c.Get(ctx, PropCaps) })
	req := r.next(t)
	r.send(t, 0, CmdPropValueIs, PropLastStatus, []byte{byte(StatusDropped)})
	r.send(t, req.TID, CmdPropValueIs, PropCaps, []byte{0x22})
	if got := wait(t, res); got.err != nil {
		t.Fatal(got.err)
	}
}

// Line noise and non-Spinel frames are counted and dropped.
func TestClientGarbage(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx := context.Background()
	badFCS := AppendHDLC(nil, []byte{0x80, 0x06, 0x00, 0x70})
	badFCS[3] ^= 0x40
	for _, b := range [][]byte{
		{0x01, 0x02, 0x03},                  // before any flag
		badFCS,                              // corrupted
		AppendHDLC(nil, []byte{0x00, 0x01}), // not a Spinel header
		AppendHDLC(nil, []byte{0x81, 0x86}), // command cut short
		{0x7E, 0x7E, 0x7E},                  // idle flags
		AppendHDLC(nil, make([]byte, 3000)), // oversize
	} {
		if _, err := r.raw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	res := async(func() (Frame, error) { return Frame{}, c.Noop(ctx) })
	req := r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{0})
	if got := wait(t, res); got.err != nil {
		t.Fatal(got.err)
	}
	s := c.Stats()
	if s.BadFrames != 2 || s.HDLC.BadFCS != 1 || s.HDLC.GarbageBytes < 3 || s.HDLC.Oversize != 1 || s.HDLC.Frames != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// A subscriber that does not keep up loses frames; others do not, and
// answers keep flowing.
func TestClientSlowSubscriber(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx := context.Background()
	slow, cancelSlow := c.Subscribe(2)
	defer cancelSlow()
	fast, cancelFast := c.Subscribe(16)
	defer cancelFast()
	logs, cancelLogs := c.Subscribe(16, PropStreamLog)
	defer cancelLogs()
	for i := range 10 {
		r.send(t, 0, CmdPropValueIs, PropStreamRaw, []byte{byte(i), byte(i), byte(i)})
	}
	res := async(func() (Frame, error) { return Frame{}, c.Noop(ctx) })
	req := r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{0})
	if got := wait(t, res); got.err != nil {
		t.Fatal(got.err)
	}
	if s := c.Stats(); s.SubscriberDrops != 8 {
		t.Fatalf("drops %d, want 8", s.SubscriberDrops)
	}
	for i := range 2 {
		if f := <-slow; !bytes.Equal(f.Value, []byte{byte(i), byte(i), byte(i)}) {
			t.Fatalf("slow subscriber frame %d: % x", i, f.Value)
		}
	}
	for i := range 10 {
		if f := <-fast; !bytes.Equal(f.Value, []byte{byte(i), byte(i), byte(i)}) {
			t.Fatalf("fast subscriber frame %d: % x", i, f.Value)
		}
	}
	select {
	case f := <-logs:
		t.Fatalf("filtered subscriber got %v", &f)
	default:
	}
	cancelSlow()
	cancelSlow() // idempotent
	if _, ok := <-slow; ok {
		t.Fatal("cancelled channel open")
	}
}

// Frame.Value stays intact until the subscriber's next receive, however
// fast the reader fills the ring (run with -race).
func TestClientSubscriberRing(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	sub, cancel := c.Subscribe(1)
	var wg sync.WaitGroup
	var bad []string
	var got int
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := -1
		for f := range sub {
			v := f.Value
			n := int(v[0])
			for _, b := range v {
				if int(b) != n {
					bad = append(bad, "torn frame")
				}
			}
			runtime.Gosched() // hold the frame while the reader runs
			for _, b := range v {
				if int(b) != n {
					bad = append(bad, "frame overwritten before the next receive")
				}
			}
			if n <= last {
				bad = append(bad, "out of order")
			}
			last = n
			got++
		}
	}()
	for i := range 200 {
		r.send(t, 0, CmdPropValueIs, PropStreamRaw, bytes.Repeat([]byte{byte(i)}, 1+i%100))
	}
	res := async(func() (Frame, error) { return Frame{}, c.Noop(context.Background()) })
	req := r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{0})
	wait(t, res)
	cancel()
	wg.Wait()
	if len(bad) > 0 {
		t.Fatal(bad[0])
	}
	if uint64(got)+c.Stats().SubscriberDrops != 200 {
		t.Fatalf("received %d + dropped %d, want 200", got, c.Stats().SubscriberDrops)
	}
}

// memConn is a FrameConn that answers every SET STREAM_RAW with a
// transmit-done carrying an ACK, without allocating.
type memConn struct {
	in     chan []byte
	bufs   [4][]byte
	next   int
	closed chan struct{}
	once   sync.Once
}

func newMemConn() *memConn {
	m := &memConn{in: make(chan []byte, 4), closed: make(chan struct{})}
	for i := range m.bufs {
		m.bufs[i] = make([]byte, 0, 256)
	}
	return m
}

var memAck = TxDone{Status: StatusOK, HasAck: true, Ack: RxFrame{PSDU: []byte{0x02, 0x00, 0x2A, 0x00, 0x00}, RSSI: -50, NoiseFloor: -128, Channel: 15}}

func (m *memConn) WriteFrame(frame []byte) error {
	var f Frame
	if err := f.Decode(frame); err != nil {
		return err
	}
	b := AppendFrameHeader(m.bufs[m.next][:0], 0, f.TID, CmdPropValueIs, PropLastStatus)
	b = AppendTxDone(b, &memAck)
	m.bufs[m.next] = b
	m.next = (m.next + 1) % len(m.bufs)
	select {
	case m.in <- b:
		return nil
	case <-m.closed:
		return io.ErrClosedPipe
	}
}

func (m *memConn) ReadFrame(buf []byte) (int, error) {
	select {
	case b := <-m.in:
		return copy(buf, b), nil
	case <-m.closed:
		return 0, io.EOF
	}
}

func (m *memConn) Close() error {
	m.once.Do(func() { close(m.closed) })
	return nil
}

func TestClientTransmitAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("timing-sensitive")
	}
	c := NewClient(newMemConn(), nil, ClientOptions{})
	defer c.Close()
	ctx := context.Background()
	ack := make([]byte, 0, MaxPSDU)
	req := txRequestFields
	var d TxDone
	var err error
	allocs := testing.AllocsPerRun(200, func() {
		d, err = c.TransmitInto(ctx, &req, ack)
	})
	if err != nil || !d.HasAck || !bytes.Equal(d.Ack.PSDU, memAck.Ack.PSDU) {
		t.Fatalf("TransmitInto = %+v, %v", d, err)
	}
	if allocs != 0 {
		t.Fatalf("TransmitInto: %v allocs, want 0", allocs)
	}
}

// Delivering a received frame to a subscriber does not allocate.
func TestClientReceiveAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("timing-sensitive")
	}
	m := newMemConn()
	c := NewClient(m, nil, ClientOptions{})
	defer c.Close()
	sub, cancel := c.Subscribe(4, PropStreamRaw)
	defer cancel()
	raw := append([]byte{0x80, 0x06, 0x71}, rxFrameVector...)
	var rx RxFrame
	allocs := testing.AllocsPerRun(200, func() {
		m.in <- raw
		f := <-sub
		if rx.Decode(f.Value) != nil {
			panic("decode")
		}
	})
	if allocs != 0 {
		t.Fatalf("receive path: %v allocs per frame, want 0", allocs)
	}
	if rx.RSSI != -60 {
		t.Fatalf("decoded %+v", rx)
	}
}

// A request whose context is already done is not sent.
func TestClientDeadContext(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, PropCaps); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get error = %v", err)
	}
	if err := c.Reset(ctx, ResetStack); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reset error = %v", err)
	}
	r.quiet(t, 20*time.Millisecond)
}
