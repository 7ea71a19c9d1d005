package spinel

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// listSeq sends its requests in order and records every outcome Next
// gets. With stopOnFail it ends at the first outcome that is not OK.
type listSeq struct {
	reqs       []TxRequest
	stopOnFail bool

	mu       sync.Mutex
	i        int
	outcomes []Status
	errs     []error
	acks     [][]byte
	ended    chan error
	extra    int // outcomes handed over after the last request's
}

func newListSeq(n int, stopOnFail bool) *listSeq {
	s := &listSeq{stopOnFail: stopOnFail, ended: make(chan error, 2)}
	for i := range n {
		r := txRequestFields
		r.PSDU = append(bytes.Clone(r.PSDU[:2]), byte(i), 0xce, 0xfa, 0, 0)
		s.reqs = append(s.reqs, r)
	}
	return s
}

func (s *listSeq) Next(done *TxDone, err error) *TxRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if done != nil {
		s.outcomes = append(s.outcomes, done.Status)
		s.errs = append(s.errs, err)
		s.acks = append(s.acks, bytes.Clone(done.Ack.PSDU))
		if s.stopOnFail && (err != nil || done.Status != StatusOK) {
			return nil
		}
		s.i++
	}
	if s.i >= len(s.reqs) {
		// Past the end: an outcome handed over twice (once by the
		// reader, once by the waiter) moves i beyond the last request.
		s.extra += max(s.i-len(s.reqs), 0)
		s.i = len(s.reqs)
		return nil
	}
	return &s.reqs[s.i]
}

func (s *listSeq) End(err error) { s.ended <- err }

func (s *listSeq) seen() ([]Status, []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.outcomes...), append([]error(nil), s.errs...)
}

// psduSeq reads the sequence number a listSeq put in a request.
func psduSeq(t *testing.T, f Frame) byte {
	t.Helper()
	var req TxRequest
	if f.Command != CmdPropValueSet || f.Prop != PropStreamRaw || req.Decode(f.Value) != nil {
		t.Fatalf("not a transmit request: %v", &f)
	}
	return req.PSDU[2]
}

var okDone = AppendTxDone(nil, &TxDone{Status: StatusOK})

// A sequence goes out one request at a time: the next request comes only
// after the previous one's transmit-done (OpenThread's RCP holds one
// transmission), without the caller doing anything, in order, under one
// TID; the outcomes reach Next, and End comes once.
func TestTransmitSequence(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	seq := newListSeq(4, true)
	ack := RxFrame{PSDU: []byte{0x02, 0x00, 0x02, 0x11, 0x22}, NoiseFloor: -128, Channel: 15}
	res := make(chan error, 1)
	go func() { res <- c.TransmitSequence(context.Background(), seq) }()
	var tid uint8
	for i := range 4 {
		f := r.next(t)
		if got := psduSeq(t, f); got != byte(i) {
			t.Fatalf("request %d carries frame %d", i, got)
		}
		if i == 0 {
			tid = f.TID
		} else if f.TID != tid {
			t.Fatalf("request %d has TID %d, the sequence %d", i, f.TID, tid)
		}
		r.quiet(t, 20*time.Millisecond) // nothing more until the transmit-done
		done := okDone
		if i == 2 {
			done = AppendTxDone(nil, &TxDone{Status: StatusOK, HasAck: true, Ack: ack})
		}
		r.send(t, f.TID, CmdPropValueIs, PropLastStatus, done)
	}
	if err := wait(t, res); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, seq.ended); err != nil {
		t.Fatalf("End(%v), want nil", err)
	}
	st, errs := seq.seen()
	if len(st) != 4 || errs[0] != nil || errs[3] != nil || !bytes.Equal(seq.acks[2], ack.PSDU) || seq.acks[1] != nil {
		t.Fatalf("outcomes %v %v acks %x", st, errs, seq.acks)
	}
	r.quiet(t, 20*time.Millisecond)
	if s := c.Stats(); s.FramesOut != 4 || s.Unmatched != 0 {
		t.Fatalf("stats %+v", s)
	}
	// Next sees a refusal and a NO_ACK as they are, and ends the sequence.
	seq = newListSeq(3, true)
	go func() { res <- c.TransmitSequence(context.Background(), seq) }()
	f := r.next(t)
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
	f = r.next(t)
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, []byte{byte(StatusInvalidState)})
	if err := wait(t, res); err != nil {
		t.Fatal(err)
	}
	if st, errs := seq.seen(); len(st) != 2 || st[1] != StatusInvalidState || !errors.Is(errs[1], StatusInvalidState) {
		t.Fatalf("outcomes %v %v", st, errs)
	}
	r.quiet(t, 20*time.Millisecond)
}

// The transmit timeout runs per request: a sequence whose every frame
// takes most of it completes; a frame that gets no transmit-done ends the
// sequence with ErrTimeout (here without sending it again).
func TestTransmitSequenceTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	c, r := startPair(t, ClientOptions{TransmitTimeout: timeout, TransmitRetries: -1})
	seq := newListSeq(3, true)
	res := make(chan error, 1)
	go func() { res <- c.TransmitSequence(context.Background(), seq) }()
	for range 3 {
		f := r.next(t)
		time.Sleep(timeout * 2 / 3)
		r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
	}
	if err := wait(t, res); err != nil {
		t.Fatalf("three frames of %v each under a %v timeout: %v", timeout*2/3, timeout, err)
	}
	seq = newListSeq(3, true)
	go func() { res <- c.TransmitSequence(context.Background(), seq) }()
	f := r.next(t)
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
	r.next(t) // never answered
	if err := wait(t, res); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
	if err := wait(t, seq.ended); !errors.Is(err, ErrTimeout) {
		t.Fatalf("End(%v), want ErrTimeout", err)
	}
	if st, _ := seq.seen(); len(st) != 1 {
		t.Fatalf("outcomes %v", st)
	}
	// The token is free again.
	go func() { _, err := c.Transmit(context.Background(), txRequestFields); res <- err }()
	f = r.next(t)
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
	if err := wait(t, res); err != nil {
		t.Fatal(err)
	}
}

// A caller whose context ends gets its error at once, but the frame in the
// RCP's hands keeps the radio: the next transmission goes out only after
// that frame's transmit-done (a second STREAM_RAW would replace it), and
// End comes then. Next is not called again once the caller has left.
func TestTransmitSequenceCallerLeaves(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	seq := newListSeq(3, true)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- c.TransmitSequence(ctx, seq) }()
	f := r.next(t)
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
	inFlight := r.next(t)
	cancel()
	if err := wait(t, res); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	next := make(chan error, 1)
	go func() { _, err := c.Transmit(context.Background(), txRequestFields); next <- err }()
	r.quiet(t, 50*time.Millisecond) // waits for the frame in flight
	select {
	case err := <-seq.ended:
		t.Fatalf("End(%v) before the frame in flight was done", err)
	default:
	}
	r.send(t, inFlight.TID, CmdPropValueIs, PropLastStatus, okDone)
	if err := wait(t, seq.ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("End(%v), want context.Canceled", err)
	}
	f = r.next(t)
	if f.TID == inFlight.TID {
		t.Errorf("the next transmission reused TID %d at once", f.TID)
	}
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
	if err := wait(t, next); err != nil {
		t.Fatal(err)
	}
	if st, _ := seq.seen(); len(st) != 1 {
		t.Fatalf("Next saw %v after its caller left", st)
	}
}

// A reset notification ends a sequence (the RCP forgot the frame), and
// LockTransmit keeps transmissions out until UnlockTransmit.
func TestTransmitSequenceResetAndLock(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	seq := newListSeq(3, true)
	res := make(chan error, 1)
	go func() { res <- c.TransmitSequence(context.Background(), seq) }()
	r.next(t)
	r.send(t, 0, CmdPropValueIs, PropLastStatus, []byte{byte(StatusResetPowerOn)})
	if err := wait(t, res); !errors.Is(err, ErrReset) {
		t.Fatalf("error %v, want ErrReset", err)
	}
	if err := wait(t, seq.ended); !errors.Is(err, ErrReset) {
		t.Fatalf("End(%v)", err)
	}

	ctx := context.Background()
	if err := c.LockTransmit(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { _, err := c.Transmit(ctx, txRequestFields); res <- err }()
	r.quiet(t, 30*time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := c.TransmitSequence(short, newListSeq(1, true)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("TransmitSequence while locked: %v", err)
	}
	c.UnlockTransmit()
	f := r.next(t)
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
	if err := wait(t, res); err != nil {
		t.Fatal(err)
	}
}

// SubscribeFunc is called on the reader for the properties asked for,
// with the frame as decoded, and no more once cancelled.
func TestSubscribeFunc(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	got := make(chan []byte, 4)
	cancel := c.SubscribeFunc(func(f *Frame) {
		if f.Command != CmdPropValueIs || f.Prop != PropStreamRaw {
			t.Errorf("frame %v", f)
		}
		got <- bytes.Clone(f.Value)
	}, PropStreamRaw)
	r.send(t, 0, CmdPropValueIs, PropLastStatus, []byte{byte(StatusDropped)})
	r.send(t, 0, CmdPropValueIs, PropStreamRaw, rxFrameVector)
	if v := wait(t, got); !bytes.Equal(v, rxFrameVector) {
		t.Fatalf("value % x", v)
	}
	cancel()
	r.send(t, 0, CmdPropValueIs, PropStreamRaw, rxFrameVector)
	// A request answered after the frame shows the reader handled it.
	res := async(func() (Frame, error) { return Frame{}, c.Noop(context.Background()) })
	f := r.next(t)
	r.send(t, f.TID, CmdPropValueIs, PropLastStatus, []byte{0})
	if g := wait(t, res); g.err != nil {
		t.Fatal(g.err)
	}
	select {
	case <-got:
		t.Fatal("called after cancel")
	default:
	}
}

// A sequence allocates nothing per frame, over a connection that joins the
// request (no FramePartsWriter) as over HDLCConn's parts.
func TestTransmitSequenceAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("timing-sensitive")
	}
	c := NewClient(newMemConn(), nil, ClientOptions{})
	defer c.Close()
	seq := &countSeq{req: txRequestFields, n: 5}
	allocs := testing.AllocsPerRun(100, func() {
		seq.i = 0
		if err := c.TransmitSequence(context.Background(), seq); err != nil {
			panic(err)
		}
	})
	if allocs != 0 || seq.i != 5 {
		t.Fatalf("%v allocs per sequence of 5 (%d sent), want 0", allocs, seq.i)
	}
}

type countSeq struct {
	req  TxRequest
	n, i int
}

func (s *countSeq) Next(done *TxDone, err error) *TxRequest {
	if done != nil {
		s.i++
	}
	if s.i == s.n || err != nil {
		return nil
	}
	return &s.req
}

func (s *countSeq) End(error) {}

// A transmit request or its transmit-done lost on the line costs the frame
// one wait: the request goes again under a fresh TID, the sequence goes
// on, and a late transmit-done on the old TID is dropped, not taken for
// the next frame's.
func TestTransmitResendAfterLoss(t *testing.T) {
	const timeout = 80 * time.Millisecond
	c, r := startPair(t, ClientOptions{TransmitTimeout: timeout})
	seq := newListSeq(3, true)
	res := make(chan error, 1)
	go func() { res <- c.TransmitSequence(context.Background(), seq) }()

	// Frame 0: the request is lost (never answered); it comes again.
	lost := r.next(t)
	again := r.next(t)
	if again.TID == lost.TID || psduSeq(t, again) != psduSeq(t, lost) || !bytes.Equal(again.Value, lost.Value) {
		t.Fatalf("resent request %v after %v: want the same request under another TID", &again, &lost)
	}
	r.send(t, again.TID, CmdPropValueIs, PropLastStatus, okDone)

	// Frame 1: its transmit-done is lost; the request comes again, and
	// the first transmit-done then turns up late, after the second one.
	f1 := r.next(t)
	if psduSeq(t, f1) != 1 {
		t.Fatalf("second frame %d", psduSeq(t, f1))
	}
	f1b := r.next(t)
	if psduSeq(t, f1b) != 1 || f1b.TID == f1.TID {
		t.Fatalf("resent %v", &f1b)
	}
	r.send(t, f1b.TID, CmdPropValueIs, PropLastStatus, okDone)
	f2 := r.next(t)
	if psduSeq(t, f2) != 2 {
		t.Fatalf("third frame %d", psduSeq(t, f2))
	}
	r.send(t, f1.TID, CmdPropValueIs, PropLastStatus, okDone) // late: not frame 2's
	r.quiet(t, timeout/4)
	select {
	case err := <-res:
		t.Fatalf("the sequence ended (%v) on a late transmit-done", err)
	default:
	}
	r.send(t, f2.TID, CmdPropValueIs, PropLastStatus, okDone)
	if err := wait(t, res); err != nil {
		t.Fatal(err)
	}
	if st, _ := seq.seen(); len(st) != 3 {
		t.Fatalf("outcomes %v, want 3", st)
	}
	if s := c.Stats(); s.TxResent != 2 || s.Late != 1 || s.Timeouts != 0 {
		t.Fatalf("stats %+v, want 2 resent, 1 late answer, no timeout", s)
	}
}

// An RCP that never answers: the request goes TransmitRetries+1 times,
// each under its own TID, then ErrTimeout. The TIDs are held back for late
// answers (a late one is dropped and counted) until a reset notification
// says none will come.
func TestTransmitRetriesSpent(t *testing.T) {
	const timeout = 100 * time.Millisecond
	c, r := startPair(t, ClientOptions{TransmitTimeout: timeout, TransmitRetries: 2})
	res := make(chan error, 1)
	go func() { _, err := c.Transmit(context.Background(), txRequestFields); res <- err }()
	var tids []uint8
	for range 3 {
		tids = append(tids, r.next(t).TID)
	}
	if err := wait(t, res); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
	if tids[0] == tids[1] || tids[1] == tids[2] || tids[0] == tids[2] {
		t.Fatalf("TIDs %v: want three different ones", tids)
	}
	r.send(t, tids[2], CmdPropValueIs, PropLastStatus, okDone)
	r.send(t, 0, CmdPropValueIs, PropLastStatus, []byte{byte(StatusResetPowerOn)})
	deadline := time.Now().Add(timeout / 2) // well before the holds end
	for len(c.sem) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d TIDs still in use after the reset", len(c.sem))
		}
		time.Sleep(time.Millisecond)
	}
	r.quiet(t, 2*timeout)
	if s := c.Stats(); s.TxResent != 2 || s.Timeouts != 1 || s.Late != 1 {
		t.Fatalf("stats %+v, want 2 resent, 1 timeout, 1 late", s)
	}
}

// A transmit-done that ends the sequence and arrives as its deadline
// passes must still end it. The reader stops stepping the sequence and
// hands the answer to the waiter through the slot; a waiter that found
// the deadline passed, asked resend, and heard that nothing was overdue
// used to loop straight back without looking at the slot: it spun for
// ever (a daemon that never stopped on SIGTERM). Each answer here comes
// within a millisecond or two of the deadline, either side.
func TestTransmitSequenceAnswerAtTheDeadline(t *testing.T) {
	const timeout = 4 * time.Millisecond
	c, r := startPair(t, ClientOptions{TransmitTimeout: timeout, TransmitRetries: -1})
	res := make(chan error, 1)
	for i := range 200 {
		seq := newListSeq(1, true)
		go func() { res <- c.TransmitSequence(context.Background(), seq) }()
		f := r.next(t)
		time.Sleep(timeout - 2*time.Millisecond + time.Duration(i%5)*time.Millisecond)
		r.send(t, f.TID, CmdPropValueIs, PropLastStatus, okDone)
		select {
		case err := <-res:
			if err != nil && !errors.Is(err, ErrTimeout) {
				t.Fatalf("try %d: %v", i, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("try %d: the sequence did not end: its waiter is stuck", i)
		}
		<-seq.ended
		// One request, one outcome: the reader and the waiter must not
		// both hand it to Next (CI once saw the second one run past the
		// sequence's end).
		seq.mu.Lock()
		outcomes, extra := len(seq.outcomes), seq.extra
		seq.mu.Unlock()
		if outcomes > 1 || extra != 0 {
			t.Fatalf("try %d: %d outcomes handed over for one request", i, outcomes)
		}
	}
}
