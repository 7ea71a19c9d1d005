package radio

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// A lent buffer goes back to the pool on Release and carries the next
// frame; a second Release, or the Release of a stale copy after the buffer
// was lent again, does nothing; with no buffer free the pool makes one
// only when asked to, and counts it; the free list stays bounded.
func TestRxPool(t *testing.T) {
	p := NewRxPool(2)
	a, ok := p.Lend([]byte{1, 2, 3}, false)
	if !ok || !bytes.Equal(a.PSDU, []byte{1, 2, 3}) || cap(a.PSDU) != 3 {
		t.Fatalf("Lend = %v %v", a.PSDU, ok)
	}
	b, _ := p.Lend([]byte{4}, false)
	if _, ok := p.Lend([]byte{5}, false); ok {
		t.Fatal("lent a third buffer from a pool of 2 without growing")
	}
	c, ok := p.Lend([]byte{6}, true)
	if !ok || p.Made() != 1 {
		t.Fatalf("grow: %v, made %d", ok, p.Made())
	}
	stale := a // copies the consumer kept
	older := a
	a.Release()
	if a.PSDU != nil || p.Free() != 1 {
		t.Fatalf("after Release: PSDU %v, free %d", a.PSDU, p.Free())
	}
	a.Release()
	stale.Release() // same lending: a no-op
	if p.Free() != 1 {
		t.Fatalf("double release: free %d", p.Free())
	}
	d, _ := p.Lend([]byte{7, 8}, false) // a's buffer again
	if d.buf != older.buf {
		t.Fatal("the released buffer was not reused")
	}
	older.Release() // an older lending of the same buffer
	if p.Free() != 0 || !bytes.Equal(d.PSDU, []byte{7, 8}) {
		t.Fatalf("stale release freed a lent buffer: free %d, PSDU %v", p.Free(), d.PSDU)
	}
	b.Release()
	c.Release()
	d.Release()
	if p.Free() != 2 {
		t.Fatalf("free %d, want the pool's size 2", p.Free())
	}
	var sim Frame // a frame that lends nothing
	sim.PSDU = []byte{1}
	sim.Release()
	if sim.PSDU != nil {
		t.Fatal("Release kept the PSDU")
	}
	if n := testing.AllocsPerRun(100, func() {
		f, _ := p.Lend([]byte{1, 2, 3}, false)
		f.Release()
	}); n != 0 {
		t.Fatalf("Lend and Release: %v allocs", n)
	}
}

// scriptRadio answers each Transmit with the next status of a script.
type scriptRadio struct {
	script []TxStatus
	sent   int
	err    error
}

func (r *scriptRadio) Transmit(ctx context.Context, psdu []byte, opts TxOptions) (TxResult, error) {
	st := r.script[r.sent]
	r.sent++
	if st == TxAborted {
		return TxResult{Status: st}, r.err
	}
	res := TxResult{Status: st}
	if st == TxAcked {
		res.Ack = []byte{0x02, 0x00, psdu[2], 0, 0}
	}
	return res, nil
}
func (r *scriptRadio) Receive() <-chan Frame                                          { return nil }
func (r *scriptRadio) Configure(context.Context, Settings) error                      { return nil }
func (r *scriptRadio) EnergyScan(context.Context, uint8, time.Duration) (int8, error) { return 0, nil }
func (r *scriptRadio) Identity() Identity                                             { return Identity{} }
func (r *scriptRadio) Close() error                                                   { return nil }

// TransmitFrames on a radio without its own: frames in order, channel
// access failures retried opts.CCARetries times and counted per frame, a
// stop at the first frame neither sent nor acknowledged, the ACK copied
// into the caller's buffer.
func TestTransmitFramesFallback(t *testing.T) {
	frames := [][]byte{{0x61, 0xdc, 1}, {0x61, 0xdc, 2}, {0x41, 0xd8, 3}, {0x61, 0xdc, 4}}
	for _, tc := range []struct {
		name    string
		script  []TxStatus
		retries int
		n       int
		last    TxStatus
		cca     []int
		err     bool
	}{
		{"all through", []TxStatus{TxAcked, TxChannelAccessFailure, TxAcked, TxSent, TxAcked}, 2, 4, TxAcked, []int{0, 1, 0, 0}, false},
		{"busy channel", []TxStatus{TxAcked, TxChannelAccessFailure, TxChannelAccessFailure, TxChannelAccessFailure}, 2, 2, TxChannelAccessFailure, []int{0, 2}, false},
		{"no retries", []TxStatus{TxChannelAccessFailure}, 0, 1, TxChannelAccessFailure, []int{0}, false},
		{"no ack", []TxStatus{TxAcked, TxAcked, TxNoAck}, 2, 3, TxNoAck, []int{0, 0, 0}, false},
		{"aborted", []TxStatus{TxAcked, TxAborted}, 2, 2, TxAborted, []int{0, 0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &scriptRadio{script: tc.script, err: ErrClosed}
			results := make([]TxResult, len(frames))
			results[0].Ack = make([]byte, 0, MaxPSDU)
			n, err := TransmitFrames(context.Background(), r, frames, TxOptions{CCARetries: tc.retries}, results)
			if n != tc.n || results[n-1].Status != tc.last || (err != nil) != tc.err {
				t.Fatalf("n %d, last %v, err %v; want %d %v, error %v", n, results[n-1].Status, err, tc.n, tc.last, tc.err)
			}
			for i, want := range tc.cca {
				if results[i].CCARetries != want {
					t.Errorf("frame %d: %d retries, want %d", i, results[i].CCARetries, want)
				}
			}
			if results[0].Status == TxAcked && !bytes.Equal(results[0].Ack, []byte{2, 0, 1, 0, 0}) {
				t.Errorf("ack % x", results[0].Ack)
			}
			if tc.err && !errors.Is(err, ErrClosed) {
				t.Errorf("err %v", err)
			}
		})
	}
}

// listSource hands out frames in order, sends a frame again after a
// channel access failure while retries remain (the source decides, not
// TransmitFrom), and records every outcome.
type listSource struct {
	frames  [][]byte
	retries int // per frame, after TxChannelAccessFailure
	i       int
	tries   int
	out     bool // a frame was handed out and has no Done yet
	got     []TxStatus
	seqs    []byte
	errs    []error
	t       *testing.T
}

func (s *listSource) Next() ([]byte, TxOptions, bool) {
	if s.out {
		s.t.Errorf("Next before the Done of frame %d", s.i)
	}
	if s.i == len(s.frames) {
		return nil, TxOptions{}, false
	}
	s.out = true
	// CCARetries must not be applied by TransmitFrom: a retry would
	// show as a frame sent twice with one Done.
	return s.frames[s.i], TxOptions{CCARetries: 5}, true
}

func (s *listSource) Done(res TxResult, err error) {
	if !s.out {
		s.t.Errorf("Done without a frame out")
	}
	s.out = false
	s.got = append(s.got, res.Status)
	s.seqs = append(s.seqs, s.frames[s.i][2])
	s.errs = append(s.errs, err)
	if err != nil && res.Status != TxAborted {
		s.t.Errorf("Done(%v, %v): an error with a status other than aborted", res.Status, err)
	}
	if res.Status == TxChannelAccessFailure && s.tries < s.retries {
		s.tries++
		return
	}
	s.i++
	s.tries = 0
}

// TransmitFrom on a radio without its own: frames in Next's order, every
// outcome (NO_ACK too) reported to Done and the source going on, a channel
// access failure sent again only because the source says so, a failed
// Transmit reported as aborted with its error and ending the run, and a
// context that ended taking no frame.
func TestTransmitFromFallback(t *testing.T) {
	frames := [][]byte{{0x61, 0xdc, 1}, {0x61, 0xdc, 2}, {0x41, 0xd8, 3}, {0x61, 0xdc, 4}}
	for _, tc := range []struct {
		name    string
		script  []TxStatus
		retries int
		want    []TxStatus
		seqs    []byte
		err     bool
	}{
		{"all through", []TxStatus{TxAcked, TxChannelAccessFailure, TxAcked, TxSent, TxNoAck}, 1,
			[]TxStatus{TxAcked, TxChannelAccessFailure, TxAcked, TxSent, TxNoAck}, []byte{1, 2, 2, 3, 4}, false},
		{"source gives up", []TxStatus{TxChannelAccessFailure, TxAcked, TxSent, TxAcked}, 0,
			[]TxStatus{TxChannelAccessFailure, TxAcked, TxSent, TxAcked}, []byte{1, 2, 3, 4}, false},
		{"aborted", []TxStatus{TxAcked, TxAborted}, 0, []TxStatus{TxAcked, TxAborted}, []byte{1, 2}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &scriptRadio{script: tc.script, err: ErrClosed}
			src := &listSource{frames: frames, retries: tc.retries, t: t}
			err := TransmitFrom(context.Background(), r, src)
			if (err != nil) != tc.err || (tc.err && !errors.Is(err, ErrClosed)) {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if !slices.Equal(src.got, tc.want) || !bytes.Equal(src.seqs, tc.seqs) || r.sent != len(tc.want) {
				t.Errorf("outcomes %v of frames %v (%d sent), want %v of %v", src.got, src.seqs, r.sent, tc.want, tc.seqs)
			}
			if tc.err && !errors.Is(src.errs[len(src.errs)-1], ErrClosed) {
				t.Errorf("Done's error %v", src.errs[len(src.errs)-1])
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &scriptRadio{}
	src := &listSource{frames: frames, t: t}
	if err := TransmitFrom(ctx, r, src); !errors.Is(err, context.Canceled) || src.i != 0 || src.out || r.sent != 0 {
		t.Errorf("ended context: %v, %d frames taken", err, src.i)
	}
}
