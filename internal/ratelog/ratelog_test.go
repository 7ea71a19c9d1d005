package ratelog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lines records what a Limiter writes.
type lines struct {
	mu   sync.Mutex
	recs []rec
}

type rec struct {
	msg        string
	suppressed uint64
}

func (h *lines) Enabled(context.Context, slog.Level) bool { return true }
func (h *lines) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *lines) WithGroup(string) slog.Handler            { return h }
func (h *lines) Handle(_ context.Context, r slog.Record) error {
	x := rec{msg: r.Message}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "suppressed" {
			x.suppressed = a.Value.Uint64()
		}
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, x)
	h.mu.Unlock()
	return nil
}

func (h *lines) all() []rec {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]rec(nil), h.recs...)
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

type key struct {
	from   [2]byte
	reason uint8
}

func newTest(maxKeys int) (*Limiter[key], *lines) {
	h := &lines{}
	return New(Config[key]{Logger: slog.New(h), What: "registrations refused", MaxKeys: maxKeys,
		Describe: func(k key) string { return fmt.Sprintf("from %02x:%02x: reason %d", k.from[0], k.from[1], k.reason) }}), h
}

func TestFirstEventThenOneSummary(t *testing.T) {
	l, h := newTest(0)
	k := key{from: [2]byte{2, 0x11}, reason: 9}
	logged := 0
	for i := range 412 {
		if l.Allow(k, t0.Add(time.Duration(i)*100*time.Millisecond)) {
			logged++
		}
	}
	if logged != 1 {
		t.Fatalf("%d events logged in full, want the first only", logged)
	}
	if got := h.all(); len(got) != 0 {
		t.Fatalf("summaries written within the interval: %+v", got)
	}
	l.Flush(t0.Add(50 * time.Second)) // interval not over yet
	if got := h.all(); len(got) != 0 {
		t.Fatalf("summary before the interval ended: %+v", got)
	}
	l.Flush(t0.Add(time.Minute))
	got := h.all()
	if len(got) != 1 {
		t.Fatalf("lines %+v, want one summary", got)
	}
	want := "411 registrations refused from 02:11: reason 9, last 1m0s"
	if got[0].msg != want || got[0].suppressed != 411 {
		t.Errorf("summary %q (suppressed %d), want %q", got[0].msg, got[0].suppressed, want)
	}
	if l.Suppressed() != 411 {
		t.Errorf("Suppressed %d", l.Suppressed())
	}
}

// A sustained flood writes one summary per interval and no more, whether
// the summaries come from Allow (no Flush at all) or from Flush.
func TestSustainedFlood(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprint("flush=", flush), func(t *testing.T) {
			l, h := newTest(0)
			k := key{reason: 2}
			total := 0
			logged := 0
			for i := range 10 * 60 * 5 { // 10/s for 5 min
				now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
				if l.Allow(k, now) {
					logged++
				}
				total++
				if flush && i%10 == 0 {
					l.Flush(now)
				}
			}
			l.Flush(t0.Add(time.Hour))
			recs := h.all()
			if logged != 1 {
				t.Errorf("%d logged in full", logged)
			}
			if len(recs) < 5 || len(recs) > 6 {
				t.Errorf("%d summaries over 5 min of flood, want 5 or 6: %+v", len(recs), recs)
			}
			var sum uint64
			for _, r := range recs {
				sum += r.suppressed
			}
			if int(sum)+logged != total {
				t.Errorf("summaries count %d + %d logged, want %d events", sum, logged, total)
			}
		})
	}
}

// A key quiet for a whole interval is forgotten: its next event is logged
// in full again.
func TestQuietKeyForgotten(t *testing.T) {
	l, h := newTest(0)
	k := key{reason: 1}
	if !l.Allow(k, t0) {
		t.Fatal("first event suppressed")
	}
	l.Flush(t0.Add(time.Minute))
	if len(h.all()) != 0 {
		t.Fatalf("summary of nothing: %+v", h.all())
	}
	if !l.Allow(k, t0.Add(61*time.Second)) {
		t.Error("event after a quiet interval suppressed")
	}
	// Without Flush, too.
	if !l.Allow(k, t0.Add(3*time.Minute)) {
		t.Error("event after a quiet interval (no Flush) suppressed")
	}
}

// Keys beyond MaxKeys share one "other sources" count; the table does not
// grow.
func TestMaxKeys(t *testing.T) {
	l, h := newTest(2)
	logged := 0
	for i := range 1000 {
		if l.Allow(key{from: [2]byte{byte(i >> 8), byte(i)}}, t0.Add(time.Duration(i)*time.Millisecond)) {
			logged++
		}
	}
	if logged != 3 { // two keys and the first of the others
		t.Errorf("%d logged in full, want 3", logged)
	}
	if len(l.keys) != 2 {
		t.Errorf("%d keys held", len(l.keys))
	}
	l.Flush(t0.Add(2 * time.Minute))
	recs := h.all()
	if len(recs) != 1 || !strings.Contains(recs[0].msg, "997 registrations refused from other sources") {
		t.Errorf("summaries %+v", recs)
	}
}

// A clock that steps back starts the key's interval again.
func TestClockBack(t *testing.T) {
	l, h := newTest(0)
	k := key{}
	l.Allow(k, t0)
	l.Allow(k, t0.Add(time.Second))
	if l.Allow(k, t0.Add(-time.Hour)) {
		t.Error("event after a step back logged in full although the key was busy")
	}
	if recs := h.all(); len(recs) != 1 || recs[0].suppressed != 1 {
		t.Errorf("summaries %+v", recs)
	}
	l.Flush(t0.Add(-2 * time.Hour))
	l.Flush(t0.Add(2 * time.Hour))
}

func TestSuppressedPathDoesNotAllocate(t *testing.T) {
	l, _ := newTest(4)
	k := key{from: [2]byte{1, 2}, reason: 3}
	now := t0
	l.Allow(k, now)
	for i := range 4 {
		l.Allow(key{reason: uint8(10 + i)}, now) // fill the table: k's neighbours and the overflow
	}
	if a := testing.AllocsPerRun(1000, func() { l.Allow(k, now) }); a != 0 {
		t.Errorf("suppressed Allow: %v allocations", a)
	}
	if a := testing.AllocsPerRun(1000, func() { l.Allow(key{reason: 99}, now) }); a != 0 {
		t.Errorf("suppressed Allow of an overflow key: %v allocations", a)
	}
}

func TestConcurrent(t *testing.T) {
	l, h := newTest(8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	logged := 0
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				if l.Allow(key{reason: uint8((g + i) % 12)}, t0.Add(time.Duration(i)*time.Millisecond)) {
					mu.Lock()
					logged++
					mu.Unlock()
				}
				if i%100 == 0 {
					l.Flush(t0.Add(time.Duration(i) * time.Millisecond))
				}
			}
		})
	}
	wg.Wait()
	l.Flush(t0.Add(time.Hour))
	var sum uint64
	for _, r := range h.all() {
		sum += r.suppressed
	}
	if int(sum)+logged != 8000 {
		t.Errorf("%d summarised + %d logged, want 8000", sum, logged)
	}
}

func BenchmarkAllowSuppressed(b *testing.B) {
	l, _ := newTest(0)
	k := key{from: [2]byte{1, 2}, reason: 3}
	l.Allow(k, t0)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(k, t0)
	}
}

// FuzzLimiter runs a sequence of events and flushes and checks the
// promises: every event is either logged in full or counted in exactly one
// summary; a key writes at most two lines (a summary and a new first
// event) in any interval; nothing panics.
func FuzzLimiter(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 0, 1, 0xff, 0xff, 0xff, 2, 3})
	f.Add([]byte{})
	f.Add([]byte{7, 200, 7, 200, 7, 200, 7, 200, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const interval = 10 * time.Second
		type line struct {
			k  int // -1 for "other"
			at time.Time
		}
		var out []line
		var now time.Time
		h := &funcHandler{fn: func(msg string, n uint64) {
			k := -1 // "from other sources"
			if _, after, ok := strings.Cut(msg, " events key "); ok {
				fmt.Sscan(after, &k)
			}
			out = append(out, line{k: k, at: now})
		}}
		var summarised uint64
		h.count = func(n uint64) { summarised += n }
		l := New(Config[int]{Logger: slog.New(h), Interval: interval, MaxKeys: 4, What: "events",
			Describe: func(k int) string { return fmt.Sprint("key ", k) }})
		now = t0
		events, logged := 0, 0
		for i := 0; i+1 < len(ops); i += 2 {
			now = now.Add(time.Duration(ops[i+1]) * 250 * time.Millisecond)
			if ops[i]&0x80 != 0 {
				l.Flush(now)
				continue
			}
			k := int(ops[i] % 8)
			events++
			if l.Allow(k, now) {
				logged++
				out = append(out, line{k: k, at: now})
			}
		}
		now = now.Add(10 * interval)
		l.Flush(now)
		if int(summarised)+logged != events {
			t.Fatalf("%d summarised + %d logged, %d events", summarised, logged, events)
		}
		if l.Suppressed() != summarised {
			t.Fatalf("Suppressed %d, summarised %d", l.Suppressed(), summarised)
		}
		// At most two lines per key within any interval (the final Flush
		// aside: it is ten intervals later).
		for i, a := range out {
			n := 0
			for _, b := range out[i:] {
				if b.k == a.k && b.at.Sub(a.at) < interval {
					n++
				}
			}
			if n > 2 && a.k >= 0 {
				t.Fatalf("key %d: %d lines within %v from %v: %+v", a.k, n, interval, a.at, out)
			}
		}
	})
}

// funcHandler hands each record's message and count to functions.
type funcHandler struct {
	fn    func(msg string, n uint64)
	count func(n uint64)
}

func (h *funcHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *funcHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *funcHandler) WithGroup(string) slog.Handler            { return h }
func (h *funcHandler) Handle(_ context.Context, r slog.Record) error {
	var n uint64
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "suppressed" {
			n = a.Value.Uint64()
		}
		return true
	})
	h.fn(r.Message, n)
	h.count(n)
	return nil
}
