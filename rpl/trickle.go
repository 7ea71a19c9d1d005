package rpl

import (
	"math/rand/v2"
	"time"
)

// Trickle is the Trickle algorithm of RFC 6206 §4.2 as a value driven by
// its owner's clock: no goroutine, no timer. The owner asks Next for the
// time until the next event, calls Fire when it comes (Fire says whether
// to transmit), reports received messages with Consistent or Inconsistent
// and external events with Reset.
//
// RFC 6550 §8.3.1 maps the DODAG Configuration option onto it:
// Imin = 2^DIOIntervalMin ms, Imax = Imin × 2^DIOIntervalDoublings,
// k = DIORedundancy (0: no suppression, RFC 6550 §6.7.6).
type Trickle struct {
	imin, imax time.Duration
	k          int
	rng        *rand.Rand

	started bool
	i       time.Duration // current interval length, I
	start   time.Time     // start of the current interval
	t       time.Time     // transmission point in [I/2, I), t in RFC 6206
	c       int           // consistent messages heard this interval
	done    bool          // t of this interval has passed (sent or suppressed)
}

// maxTrickleShift bounds Imax: 2^DIOIntervalMin × 2^doublings ms beyond
// 2^40 ms (35 years) would overflow time.Duration sooner or later and means
// nothing on a real network.
const maxTrickleShift = 40

// NewTrickle returns a stopped timer with Imin = 2^intervalMin ms,
// Imax = Imin × 2^doublings and redundancy k (0: always transmit), drawing
// its random points from rng (RFC 6206 §4.2 step 2: t uniform in
// [I/2, I)). Reset starts it.
func NewTrickle(intervalMin, doublings, k uint8, rng *rand.Rand) Trickle {
	minShift := min(int(intervalMin), maxTrickleShift)
	maxShift := min(minShift+int(doublings), maxTrickleShift)
	return Trickle{
		imin: time.Millisecond << minShift,
		imax: time.Millisecond << maxShift,
		k:    int(k),
		rng:  rng,
	}
}

// Imin and Imax return the interval bounds.
func (tr *Trickle) Imin() time.Duration { return tr.imin }

// Imax returns the largest interval.
func (tr *Trickle) Imax() time.Duration { return tr.imax }

// Interval returns the current interval I (0 before the first Reset).
func (tr *Trickle) Interval() time.Duration { return tr.i }

// Reset is RFC 6206 §4.2 step 6 (and step 1 for a stopped timer): if I is
// not already Imin, start a new interval of Imin at now. A reset during an
// Imin interval changes nothing, so a burst of DISes does not keep the
// root from transmitting.
func (tr *Trickle) Reset(now time.Time) {
	if tr.started && tr.i == tr.imin {
		return
	}
	tr.started = true
	tr.begin(now, tr.imin)
}

// begin is step 2: a new interval of length i at now.
func (tr *Trickle) begin(now time.Time, i time.Duration) {
	tr.i = i
	tr.start = now
	tr.c = 0
	tr.done = false
	half := i / 2
	tr.t = now.Add(half + time.Duration(tr.rng.Int64N(int64(i-half))))
}

// Consistent is step 3: a consistent transmission heard.
func (tr *Trickle) Consistent() { tr.c++ }

// Inconsistent is step 6 for an inconsistent transmission: Reset.
func (tr *Trickle) Inconsistent(now time.Time) { tr.Reset(now) }

// Next returns how long after now the next event falls (0 if it is due),
// or -1 for a stopped timer.
func (tr *Trickle) Next(now time.Time) time.Duration {
	if !tr.started {
		return -1
	}
	at := tr.t
	if tr.done {
		at = tr.start.Add(tr.i)
	}
	return max(at.Sub(now), 0)
}

// Fire runs the events due at now and reports whether to transmit: step 4
// (at t, transmit if c < k, or always when k is 0) and step 5 (at the end
// of I, double it up to Imax and begin again). An owner that wakes late
// (after several intervals) gets at most one transmission and a fresh
// interval starting at now.
func (tr *Trickle) Fire(now time.Time) bool {
	if !tr.started {
		return false
	}
	send := false
	if !tr.done && !now.Before(tr.t) {
		tr.done = true
		send = tr.k == 0 || tr.c < tr.k
	}
	if end := tr.start.Add(tr.i); !now.Before(end) {
		next := min(tr.i*2, tr.imax)
		if now.Sub(end) >= next {
			end = now // slept through whole intervals: begin afresh
		}
		tr.begin(end, next)
		if !now.Before(tr.t) { // the new t already passed too
			tr.done = true
			send = send || tr.k == 0 || tr.c < tr.k
		}
	}
	return send
}
