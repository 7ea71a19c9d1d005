package rpl

import (
	"math/rand/v2"
	"testing"
	"time"
)

func testRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed+1)) }

// TestTrickleDefaults: RFC 6550 §8.3.1 with the §17 defaults gives
// Imin 8 ms and Imax 8 ms × 2^20 (2.3 h, what RIOT shows as I=[8,20]).
func TestTrickleDefaults(t *testing.T) {
	tr := NewTrickle(3, 20, 10, testRNG(1))
	if tr.Imin() != 8*time.Millisecond || tr.Imax() != 8*time.Millisecond<<20 {
		t.Fatalf("Imin %v Imax %v", tr.Imin(), tr.Imax())
	}
	if tr.Next(time.Now()) != -1 || tr.Fire(time.Now()) {
		t.Fatal("a stopped timer has events")
	}
}

// TestTrickleDoubling runs the timer event by event and checks every
// interval: I doubles from Imin up to Imax and stays there (§4.2 step 5),
// t falls in [I/2, I) (step 2), and with nothing heard it transmits once
// per interval (step 4).
func TestTrickleDoubling(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		min, doublings, k    uint8
		intervals            int
		wantLast, wantSecond time.Duration
	}{
		{"rfc6550 defaults", 3, 20, 10, 25, 8 * time.Millisecond << 20, 16 * time.Millisecond},
		{"imin 1s, 2 doublings", 10, 2, 1, 6, 4 * 1024 * time.Millisecond, 2048 * time.Millisecond},
		{"no doublings", 4, 0, 3, 4, 16 * time.Millisecond, 16 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTrickle(tc.min, tc.doublings, tc.k, testRNG(7))
			now := time.Unix(1000, 0)
			tr.Reset(now)
			var lens []time.Duration
			sends := 0
			for len(lens) < tc.intervals {
				i, start := tr.Interval(), tr.start
				if d := tr.t.Sub(start); d < i/2 || d >= i {
					t.Fatalf("interval %d: t at %v of I %v", len(lens), d, i)
				}
				now = now.Add(tr.Next(now))
				if tr.Fire(now) {
					sends++
				}
				if tr.Interval() != i || !tr.start.Equal(start) { // interval ended
					lens = append(lens, i)
				}
			}
			if sends != tc.intervals {
				t.Errorf("%d transmissions in %d intervals", sends, tc.intervals)
			}
			want := tr.Imin()
			for n, l := range lens {
				if l != want {
					t.Fatalf("interval %d is %v, want %v", n, l, want)
				}
				want = min(want*2, tr.Imax())
			}
			if lens[1] != tc.wantSecond || lens[len(lens)-1] != tc.wantLast {
				t.Errorf("second %v last %v", lens[1], lens[len(lens)-1])
			}
		})
	}
}

// TestTrickleSuppression: k consistent messages before t suppress the
// transmission (§4.2 step 4), fewer do not; k = 0 never suppresses; an
// inconsistency goes back to Imin (step 6) and a reset at Imin is a no-op.
func TestTrickleSuppression(t *testing.T) {
	for _, tc := range []struct {
		k, heard uint8
		send     bool
	}{{10, 0, true}, {10, 9, true}, {10, 10, false}, {10, 30, false}, {1, 1, false}, {0, 200, true}} {
		tr := NewTrickle(3, 20, tc.k, testRNG(3))
		now := time.Unix(0, 0)
		tr.Reset(now)
		for range tc.heard {
			tr.Consistent()
		}
		if got := tr.Fire(now.Add(tr.Next(now))); got != tc.send {
			t.Errorf("k %d heard %d: send %v, want %v", tc.k, tc.heard, got, tc.send)
		}
	}
	tr := NewTrickle(3, 20, 10, testRNG(5))
	now := time.Unix(0, 0)
	tr.Reset(now)
	for range 10 { // grow the interval
		now = now.Add(tr.Next(now))
		tr.Fire(now)
	}
	if tr.Interval() <= tr.Imin() {
		t.Fatalf("interval did not grow: %v", tr.Interval())
	}
	tr.Inconsistent(now)
	if tr.Interval() != tr.Imin() || !tr.start.Equal(now) {
		t.Fatalf("after an inconsistency I = %v from %v", tr.Interval(), tr.start)
	}
	tt := tr.t
	tr.Reset(now.Add(time.Millisecond))
	if !tr.t.Equal(tt) {
		t.Error("a reset during an Imin interval restarted it")
	}
}

// TestTrickleLateOwner: an owner that sleeps through many intervals gets
// one transmission and a fresh interval from now, not a burst.
func TestTrickleLateOwner(t *testing.T) {
	tr := NewTrickle(3, 4, 10, testRNG(9))
	now := time.Unix(0, 0)
	tr.Reset(now)
	late := now.Add(time.Hour)
	if !tr.Fire(late) {
		t.Fatal("no transmission after a long sleep")
	}
	if tr.start.Before(late) && tr.start.Add(tr.Interval()).Before(late) {
		t.Fatalf("interval %v from %v ends before now", tr.Interval(), tr.start)
	}
	if tr.Fire(late) {
		t.Error("a second transmission at the same instant")
	}
}
