package rcp

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// pullSource hands out frames in order and records every outcome. After a
// channel access failure it sends the frame again while retries remain:
// the source decides, TransmitFrom does not (it is given CCARetries it
// must ignore). The mutex only lets the test read what was recorded; the
// driver calls Next and Done one at a time.
type pullSource struct {
	t       testing.TB
	mu      sync.Mutex
	frames  [][]byte
	retries int
	i       int
	tries   int
	out     bool
	nexts   int // calls to Next, false ones included
	got     []radio.TxStatus
	seqs    []byte
	errs    []error
	acks    [][]byte
}

func (s *pullSource) Next() ([]byte, radio.TxOptions, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nexts++
	if s.out {
		s.t.Errorf("Next before the Done of frame %d", s.i)
	}
	if s.i == len(s.frames) {
		return nil, radio.TxOptions{}, false
	}
	s.out = true
	return s.frames[s.i], radio.TxOptions{CCARetries: 5}, true
}

func (s *pullSource) Done(res radio.TxResult, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.out {
		s.t.Errorf("Done without a frame out")
	}
	s.out = false
	s.got = append(s.got, res.Status)
	if f := s.frames[s.i]; len(f) > 2 {
		s.seqs = append(s.seqs, f[2])
	}
	s.errs = append(s.errs, err)
	s.acks = append(s.acks, bytes.Clone(res.Ack)) // lent for the call only
	if (err != nil) != (res.Status == radio.TxAborted) {
		s.t.Errorf("Done(%v, %v): an error goes with TxAborted and only with it", res.Status, err)
	}
	if res.Status == radio.TxChannelAccessFailure && s.tries < s.retries {
		s.tries++
		return
	}
	s.i++
	s.tries = 0
}

func (s *pullSource) outcomes() ([]radio.TxStatus, []byte, []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got), slices.Clone(s.seqs), slices.Clone(s.errs)
}

// TransmitFrom sends what Next hands out, in order, reports every outcome
// to Done with the ACK, goes on after a NO_ACK and after a channel access
// failure (sending the frame again only because the source does), and
// returns nil when Next has nothing more.
func TestTransmitFrom(t *testing.T) {
	d, q, _ := cannedDriver(t, dataFrame(t, 1, 1, false), nil)
	q.mu.Lock()
	q.cca = map[byte]int{3: 1, 5: 9}
	q.mu.Unlock()
	src := &pullSource{t: t, retries: 1, frames: [][]byte{
		dataFrame(t, 1, 0x0002, true), dataFrame(t, 2, 0xffff, false), dataFrame(t, 3, 0x0002, true),
		dataFrame(t, 4, 0x0099, true), dataFrame(t, 5, 0x0002, true), dataFrame(t, 6, 0x0002, true),
	}}
	if err := d.TransmitFrom(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	got, seqs, errs := src.outcomes()
	want := []radio.TxStatus{radio.TxAcked, radio.TxSent, radio.TxChannelAccessFailure, radio.TxAcked,
		radio.TxNoAck, radio.TxChannelAccessFailure, radio.TxChannelAccessFailure, radio.TxAcked}
	if !slices.Equal(got, want) || !bytes.Equal(seqs, []byte{1, 2, 3, 3, 4, 5, 5, 6}) {
		t.Errorf("outcomes %v of frames %v, want %v of 1 2 3 3 4 5 5 6", got, seqs, want)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("Done %d: %v", i, err)
		}
	}
	if r := q.requests(); !bytes.Equal(r, seqs) {
		t.Errorf("requests %v, want %v", r, seqs)
	}
	if a := src.acks[0]; len(a) != 5 || a[2] != 1 {
		t.Errorf("ACK of frame 1: % x", a)
	}
	if src.nexts != 9 {
		t.Errorf("%d calls to Next, want 8 frames and the one that ended it", src.nexts)
	}
	if s := d.Stats(); s.TxCCARetries != 0 || s.TxCCAFailure != 3 || s.TxNoAck != 1 || s.TxAcked != 3 || s.TxNoAckRequested != 1 {
		t.Errorf("stats %+v", s)
	}
	// Nothing to send: nothing goes out.
	empty := &pullSource{t: t}
	if err := d.TransmitFrom(context.Background(), empty); err != nil || empty.nexts != 1 || len(q.requests()) != len(seqs) {
		t.Errorf("empty source: %v, %d calls to Next, requests %v", err, empty.nexts, q.requests())
	}
	// A PSDU the RCP cannot take ends the run, reported to Done.
	bad := &pullSource{t: t, frames: [][]byte{{1, 2}}}
	if err := d.TransmitFrom(context.Background(), bad); err == nil || len(bad.got) != 1 || bad.got[0] != radio.TxAborted {
		t.Errorf("short PSDU: %v, %v", err, bad.got)
	}
}

// A frame in the RCP's hands when the caller's context ends, when the RCP
// resets or when the driver closes, is reported to Done as aborted with the reason before
// TransmitFrom returns, and no later frame is taken. After the context,
// the next transmission waits for that frame's transmit-done.
func TestTransmitFromCut(t *testing.T) {
	for _, how := range []string{"ctx", "reset", "close"} {
		t.Run(how, func(t *testing.T) {
			d, q, master := cannedDriver(t, dataFrame(t, 1, 1, false), nil)
			q.mu.Lock()
			q.cca = map[byte]int{}
			q.hold = map[byte]bool{2: true}
			q.mu.Unlock()
			src := &pullSource{t: t, frames: [][]byte{dataFrame(t, 1, 0x0002, true), dataFrame(t, 2, 0x0002, true), dataFrame(t, 3, 0x0002, true)}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ret := make(chan error, 1)
			go func() { ret <- d.TransmitFrom(ctx, src) }()
			waitFor(t, "frame 2 at the RCP", 2*time.Second, func() bool { return len(q.requests()) == 2 })
			switch how {
			case "ctx":
				cancel()
			case "close":
				d.Close()
			default:
				out := spinel.AppendFrameHeader(nil, 0, 0, spinel.CmdPropValueIs, spinel.PropLastStatus)
				out = spinel.AppendPackedUint(out, uint32(spinel.StatusResetSoftware))
				q.mu.Lock()
				master.Write(spinel.AppendHDLC(nil, out))
				q.mu.Unlock()
			}
			var err error
			select {
			case err = <-ret:
			case <-time.After(2 * time.Second):
				t.Fatal("TransmitFrom did not return")
			}
			got, seqs, errs := src.outcomes()
			if !slices.Equal(got, []radio.TxStatus{radio.TxAcked, radio.TxAborted}) || !bytes.Equal(seqs, []byte{1, 2}) || src.out {
				t.Fatalf("outcomes %v of frames %v", got, seqs)
			}
			wantErr := error(context.Canceled)
			switch how {
			case "reset":
				wantErr = spinel.ErrReset
			case "close":
				wantErr = radio.ErrClosed
			}
			if !errors.Is(err, wantErr) || !errors.Is(errs[1], wantErr) {
				t.Fatalf("TransmitFrom: %v; Done: %v; want %v", err, errs[1], wantErr)
			}
			if how == "close" {
				if err := d.TransmitFrom(context.Background(), src); !errors.Is(err, radio.ErrClosed) || len(src.errs) != 2 {
					t.Fatalf("after Close: %v, %d outcomes", err, len(src.errs))
				}
				return
			}
			if how == "reset" {
				waitFor(t, "the RCP back up", 2*time.Second, d.Ready)
				if err := d.TransmitFrom(context.Background(), src); err != nil {
					t.Fatalf("after the reset: %v", err)
				}
				if _, seqs, _ := src.outcomes(); !bytes.Equal(seqs, []byte{1, 2, 3}) {
					t.Fatalf("frames %v after the reset", seqs)
				}
				return
			}
			// The RCP still holds frame 2: nothing else goes out until
			// its transmit-done.
			next := make(chan error, 1)
			go func() { next <- d.TransmitFrom(context.Background(), src) }()
			time.Sleep(50 * time.Millisecond)
			if r := q.requests(); !bytes.Equal(r, []byte{1, 2}) {
				t.Fatalf("requests %v while frame 2 was in the RCP's hands", r)
			}
			q.answerHeld()
			if err := <-next; err != nil {
				t.Fatal(err)
			}
			if r := q.requests(); !bytes.Equal(r, []byte{1, 2, 3}) {
				t.Fatalf("requests %v, want 1 2 3", r)
			}
		})
	}
}

// loopSource hands out the same frames over and over, without allocating:
// for the allocation count and the benchmark.
type loopSource struct {
	frames [][]byte
	i, n   int
	bad    int
}

func (s *loopSource) Next() ([]byte, radio.TxOptions, bool) {
	if s.i == s.n {
		return nil, radio.TxOptions{}, false
	}
	return s.frames[s.i%len(s.frames)], radio.TxOptions{}, true
}

func (s *loopSource) Done(res radio.TxResult, err error) {
	if err != nil || (res.Status != radio.TxSent && res.Status != radio.TxAcked) {
		s.bad++
	}
	s.i++
}

// Once warm, frames pulled through TransmitFrom allocate nothing: the
// source's frames go from Next to the UART's write buffer, and the
// outcomes (the ACK lent) back to Done, on the Spinel reader.
func TestTransmitFromAllocs(t *testing.T) {
	d, _, _ := cannedDriver(t, dataFrame(t, 1, 1, false), nil)
	src := &loopSource{frames: [][]byte{dataFrame(t, 7, 0x0002, true), dataFrame(t, 8, 0xffff, false)}, n: 3}
	ctx := context.Background()
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		src.i = 0
		err = d.TransmitFrom(ctx, src)
	})
	if err != nil || src.bad != 0 || src.i != 3 {
		t.Fatalf("TransmitFrom: %v, %d bad outcomes, %d frames", err, src.bad, src.i)
	}
	if allocs != 0 {
		t.Errorf("TransmitFrom of 3 frames: %v allocations per run, want 0", allocs)
	}
}
