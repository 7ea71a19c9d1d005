package medium

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// modelFrameTime is the mean time the medium's model gives one
// acknowledged frame of psduLen octets sent back to back on an idle
// channel, from the moment the radio takes it to the end of its Imm-Ack,
// with the O-QPSK 2450 MHz timing constants the medium uses (phy.go). IEEE
// 802.15.4-2020 sections as Zephyr's radio API cites them
// (include/zephyr/net/ieee802154_radio.h, "all references ... cite IEEE
// 802.15.4-2020"); the 2015 numbers, for what that header does not name:
//
//   - symbol period 16 µs (2020 §12.3.3), 4 bits a symbol: 32 µs an octet;
//   - unslotted CSMA-CA (2015 §6.2.5.1) on an idle channel: one backoff of
//     a uniform number of unit backoff periods in [0, 2^macMinBE − 1], mean
//     (2^3 − 1)/2 = 3.5 periods of aUnitBackoffPeriod = aTurnaroundTime +
//     aCcaTime = 20 symbols (2020 §8.4.2 Table 8-93), 320 µs: 1120 µs; then
//     one CCA of aCcaTime = 8 symbols, 128 µs, and aTurnaroundTime = 12
//     symbols, 192 µs (2020 §11.3 Table 11-1), before the first symbol;
//   - the PPDU: 4 preamble octets, SFD, PHR and the PSDU at 32 µs an
//     octet (2015 §12.1): (6 + psduLen) × 32 µs;
//   - the Imm-Ack aTurnaroundTime after the frame (2015 §6.7.4.2), a PPDU
//     of 6 + 5 octets: 192 + 352 µs.
//
// For a 124-octet PSDU: 1120 + 128 + 192 + 4160 + 192 + 352 = 6144 µs, or
// 162.76 frames/s; the next frame is taken the instant the ACK ends.
func modelFrameTime(psduLen int) time.Duration {
	meanBackoff := time.Duration((1<<MinBE)-1) * UnitBackoffPeriod / 2
	return meanBackoff + CCADuration + TurnaroundTime + AirTime(psduLen) + TurnaroundTime + AirTime(AckPSDULen)
}

func TestModelFrameTime(t *testing.T) {
	// The figures written out above, symbol by symbol.
	if got, want := modelFrameTime(124), 6144*us; got != want {
		t.Errorf("modelFrameTime(124) = %v, want %v", got, want)
	}
	if got, want := modelFrameTime(127), (1120+128+192+133*32+192+352)*us; got != want {
		t.Errorf("modelFrameTime(127) = %v, want %v", got, want)
	}
}

// latenessLog records how late each event ran by the wall clock.
type latenessLog struct {
	mu  sync.Mutex
	all []time.Duration
	// seen: the events the world outside sees at their moment (a
	// reception, an outcome), which the medium must run on time and so
	// wakes up for; the others it may run later (loop.go). Calls, which
	// run when they are made, are not counted.
	seen []time.Duration
}

func (l *latenessLog) record(d time.Duration, ev *event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, d)
	if ev.visible == ev.at && ev.prio != prioCall {
		l.seen = append(l.seen, d)
	}
}

// quantiles returns the median, 99th percentile and maximum of ds.
func quantiles(ds []time.Duration) (p50, p99, pmax time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)], s[len(s)-1]
}

// within returns the share of ds no further than d from 0.
func within(ds []time.Duration, d time.Duration) float64 {
	n := 0
	for _, x := range ds {
		if x >= -d && x <= d {
			n++
		}
	}
	return float64(n) / float64(max(len(ds), 1))
}

// realTimeRun is what one run of back-to-back acknowledged frames between
// two nodes on a medium in real time measured.
type realTimeRun struct {
	frames     int
	wall, virt time.Duration
	cpu        time.Duration // process CPU (user + system), 0 where unknown
	switches   int64         // context switches of the process's threads
	wakeUps    uint64
	lead       time.Duration // the loop's lead at the end
	late       latenessLog
}

// runRealTime sends n acknowledged frames of psduLen octets from a to b,
// back to back, on a medium running in real time, while b's reception
// queue is drained as a stack would. newWaker, when not nil, replaces the
// system's waker.
func runRealTime(tb testing.TB, n, psduLen int, newWaker func() waker) *realTimeRun {
	r := &realTimeRun{frames: n}
	m := New(Config{Seed: 1, TimeScale: 1})
	m.lateness = r.late.record
	m.newWaker = newWaker
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	defer func() {
		cancel()
		<-runDone
	}()
	a := attach(tb, m, "a", 1)
	b := attach(tb, m, "b", 2)
	go func() {
		for range b.Receive() {
		}
	}()
	psdu := fullFrame(tb, 1, 1, 2, true, psduLen)
	cpu0, sw0 := processUsage()
	begin := time.Now()
	for i := range n {
		start := m.Now()
		res := mustTransmit(tb, a, psdu, TxOptions{})
		if res.Status != TxAcked {
			tb.Fatalf("frame %d: %v", i, res.Status)
		}
		r.virt += res.End - start
	}
	r.wall = time.Since(begin)
	m.mu.Lock()
	r.wakeUps = m.sleep.wakeUps
	r.lead = m.sleep.lead
	m.mu.Unlock()
	if cpu0 > 0 {
		cpu1, sw1 := processUsage()
		r.cpu, r.switches = cpu1-cpu0, sw1-sw0
	}
	return r
}

func (r *realTimeRun) report(b *testing.B, psduLen int) {
	n := float64(r.frames)
	model := modelFrameTime(psduLen)
	fps := n / r.wall.Seconds()
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(1/model.Seconds(), "model-frames/s")
	b.ReportMetric(fps*model.Seconds(), "rate/model")
	b.ReportMetric(float64(r.wall)/float64(r.virt), "wall/virt")
	p50, p99, pmax := quantiles(r.late.seen)
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "late-p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "late-p99-µs")
	b.ReportMetric(float64(pmax.Nanoseconds())/1e3, "late-max-µs")
	b.ReportMetric(100*within(r.late.seen, 50*time.Microsecond), "%-within-50µs")
	b.ReportMetric(float64(len(r.late.all))/n, "events/frame")
	b.ReportMetric(float64(r.wakeUps)/n, "wakeups/frame")
	if r.cpu > 0 {
		b.ReportMetric(float64(r.cpu.Microseconds())/n, "cpu-µs/frame")
		b.ReportMetric(float64(r.switches)/n, "ctxsw/frame")
	}
}

// BenchmarkRealTimeFrames sends acknowledged frames back to back between
// two nodes on a medium running in real time and reports the frames per
// second against the model's own rate (modelFrameTime), how late the
// events ran by the wall clock (median, 99th percentile, maximum; and the
// 99th percentile of the events that calls from outside queue), and the
// process's CPU time per frame. A medium that keeps time delivers its
// modelled rate (rate/model near 1) with events within a few tens of
// microseconds of their due time. b.N is the number of frames; at about
// 160 frames/s, -benchtime 300x takes two seconds.
func BenchmarkRealTimeFrames(b *testing.B) {
	for _, size := range []int{124, 20} {
		b.Run("psdu"+strconv.Itoa(size), func(b *testing.B) {
			r := runRealTime(b, b.N, size, nil)
			r.report(b, size)
		})
	}
}

// TestKeepsTime sends acknowledged frames back to back in real time and
// checks that the medium keeps its own time at a small cost: the events
// the world sees ran about on time (median within 150 µs: on a runtime
// timer alone they ran half a millisecond late), and the loop woke up at
// most three times a frame (two: the frame's end and the ACK's), not for
// each of the six steps of an acknowledged frame (loop.go). The portable
// waker, a runtime timer, must deliver every frame with as few wake-ups;
// its lateness is the runtime's.
func TestKeepsTime(t *testing.T) {
	const frames, size = 60, 20 // 2.8 ms each
	for _, tc := range []struct {
		name     string
		newWaker func() waker
		onTime   bool
	}{
		{"system", nil, true},
		{"portable", func() waker { return newTimerWaker() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runRealTime(t, frames, size, tc.newWaker)
			p50, p99, pmax := quantiles(r.late.seen)
			rate := float64(frames) / r.wall.Seconds() * modelFrameTime(size).Seconds()
			t.Logf("%d frames: %.3f of the modelled rate; events seen outside ran late by median %v, p99 %v, max %v; %.2f wake-ups a frame",
				frames, rate, p50, p99, pmax, float64(r.wakeUps)/frames)
			if tc.onTime && p50 > 150*time.Microsecond {
				t.Errorf("median lateness %v, want at most 150µs", p50)
			}
			if w := float64(r.wakeUps) / frames; w > 3 {
				t.Errorf("%.2f wake-ups a frame, want at most 3", w)
			}
		})
	}
}

// TestStateChangeSeesDueEvents checks that a call changing the medium's
// state directly first runs what is due (catchUp): a node that tunes in to
// a channel after a frame's first symbol there does not receive the frame,
// although the loop runs the frame's start only later, when something can
// be seen (here, with 40 backoffs allowed, not before the frame's end).
func TestStateChangeSeesDueEvents(t *testing.T) {
	m := startMedium(t, Config{Seed: 1, TimeScale: 1})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2, func(c *NodeConfig) { c.Channel = 11 })
	psdu := fullFrame(t, 1, 1, 0xffff, false, 127)
	tx, err := a.StartTransmit(psdu, TxOptions{MaxCSMABackoffs: 40})
	if err != nil {
		t.Fatal(err)
	}
	// The first symbol is at most 7 backoff periods, a CCA and a
	// turnaround after the call: 2560 µs.
	time.Sleep(3 * time.Millisecond)
	changed := m.Now()
	if err := b.Configure(func(c *NodeConfig) { c.Channel = 26 }); err != nil {
		t.Fatal(err)
	}
	res, err := tx.Result()
	if err != nil || res.Status != TxSent {
		t.Fatalf("Result: %+v, %v", res, err)
	}
	if res.Start >= changed {
		t.Fatalf("frame started at %v, after the change at %v", res.Start, changed)
	}
	if got := drainAtLeast(b, 1, 20*time.Millisecond); len(got) != 0 {
		t.Errorf("b tuned in at %v, after the first symbol at %v, and received %d frames", changed, res.Start, len(got))
	}
}

// TestCancelSeenOnTime checks that cancelling a transmission in its
// backoff ends it at its next step, the CCA, and not when the loop would
// have woken up for it otherwise (with 40 backoffs allowed, not before the
// frame's end).
func TestCancelSeenOnTime(t *testing.T) {
	m := startMedium(t, Config{Seed: 1, TimeScale: 1})
	a := attach(t, m, "a", 1)
	// Once the loop runs, a call takes effect at once: the transmission
	// is in its backoff, not waiting to be taken, when it is cancelled.
	mustTransmit(t, a, fullFrame(t, 1, 1, 0xffff, false, 20), TxOptions{DisableCSMA: true})
	psdu := fullFrame(t, 2, 1, 0xffff, false, 127)
	tx, err := a.StartTransmit(psdu, TxOptions{MaxCSMABackoffs: 40})
	if err != nil {
		t.Fatal(err)
	}
	tx.Cancel()
	<-tx.Done()
	seen := m.Now()
	res, err := tx.Result()
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("Result: %+v, %v; want %v", res, err, ErrCanceled)
	}
	// The CCA ended at res.End; the frame would have ended 4448 µs later.
	if late := seen - res.End; late > 3*time.Millisecond {
		t.Errorf("cancellation seen %v after the CCA that ended it, want well under the 4448 µs to the frame's end", late)
	}
}

// TestQuietCCA checks when the loop may sleep past a CCA: while nothing
// else is going on, until the end of the frame that follows it; once
// another node's frame is on the air, until the moment a run of busy
// CCAs could end the transmission with a channel access failure.
func TestQuietCCA(t *testing.T) {
	m := startMedium(t, Config{Seed: 1, TimeScale: 1})
	a := attach(t, m, "a", 1)
	c := attach(t, m, "c", 3)
	mustTransmit(t, a, fullFrame(t, 1, 1, 0xffff, false, 20), TxOptions{DisableCSMA: true}) // the loop runs
	tx, err := a.StartTransmit(fullFrame(t, 2, 1, 0xffff, false, 127), TxOptions{MaxCSMABackoffs: 20})
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	cca := tx.next
	if cca == nil || cca.cca != tx {
		m.mu.Unlock()
		t.Fatal("the transmission is not in its backoff")
	}
	vis, _ := m.nextVisible()
	m.mu.Unlock()
	if vis != cca.idleVisible {
		t.Errorf("alone on the channel: the loop sleeps until %v, want the frame's end %v", vis, cca.idleVisible)
	}
	if _, err := c.StartTransmit(fullFrame(t, 1, 3, 0xffff, false, 127), TxOptions{DisableCSMA: true}); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	vis, _ = m.nextVisible()
	same := tx.next == cca
	m.mu.Unlock()
	if !same {
		t.Skip("the CCA ran before the second call (a slow machine): nothing to check")
	}
	// No later than 20 busy CCAs of 128 µs after this one (or c's
	// frame's end, if that comes first).
	if limit := cca.at + 20*CCADuration; cca.visible != limit || vis > limit {
		t.Errorf("with c on the air: the loop sleeps until %v, want no later than %v, when a channel access failure can come", vis, limit)
	}
	if res, err := tx.Result(); err != nil || res.CCABusy == 0 {
		t.Errorf("a: %+v, %v; want a busy CCA", res, err)
	}
}

// TestQuietCCACases goes through what makes a CCA one that may find the
// channel busy: another node's queued event, or a frame the node can sense
// on the air after the CCA began (a ZEP peer's frame is on the air at
// once, with no event of its own).
func TestQuietCCACases(t *testing.T) {
	const ch = 26
	for _, tc := range []struct {
		name  string
		setup func(m *Medium, a, c *Node)
		quiet bool
	}{
		{"alone", func(m *Medium, a, c *Node) {}, true},
		{"a dead timeout of c's", func(m *Medium, a, c *Node) {
			m.events = append(m.events, &event{at: 2000 * us, node: c.id, dead: true})
		}, true},
		{"c has an event queued", func(m *Medium, a, c *Node) {
			m.events = append(m.events, &event{at: 5000 * us, node: c.id})
		}, false},
		{"c's frame ends in the CCA", func(m *Medium, a, c *Node) {
			m.air = append(m.air, &airFrame{src: c, channel: ch, start: 0, end: 1050 * us})
		}, false},
		{"c's frame ended before it", func(m *Medium, a, c *Node) {
			m.air = append(m.air, &airFrame{src: c, channel: ch, start: 0, end: 900 * us})
		}, true},
		{"c's frame on another channel", func(m *Medium, a, c *Node) {
			m.air = append(m.air, &airFrame{src: c, channel: 11, start: 0, end: 1050 * us})
		}, true},
		{"c out of a's range", func(m *Medium, a, c *Node) {
			m.SetLink(c, a, Link{Disconnected: true})
			m.air = append(m.air, &airFrame{src: c, channel: ch, start: 0, end: 1050 * us})
		}, true},
		{"a's own ACK on the air", func(m *Medium, a, c *Node) {
			m.air = append(m.air, &airFrame{src: a, channel: ch, start: 1000 * us, end: 1352 * us})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Config{Seed: 1, TimeScale: 1})
			defer m.Close()
			a := attach(t, m, "a", 1)
			c := attach(t, m, "c", 3)
			tx := &Tx{n: a, channel: ch, psdu: make([]byte, 127), ccaStart: 1000 * us}
			ev := &event{at: tx.ccaStart + CCADuration, node: a.id, cca: tx}
			m.events = eventQueue{ev}
			tc.setup(m, a, c)
			m.mu.Lock()
			got := m.quietCCA(ev)
			m.mu.Unlock()
			if got != tc.quiet {
				t.Errorf("quietCCA = %v, want %v", got, tc.quiet)
			}
		})
	}
}
