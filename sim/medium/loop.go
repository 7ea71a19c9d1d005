package medium

import (
	"container/heap"
	"context"
	"time"
)

// The event loop and how it keeps time.
//
// At TimeScale 0 the loop runs the next event as soon as it can, one a
// pass, and sleeps only when there is nothing to do.
//
// In scaled time a wake-up is what costs: on a small machine, tens of
// microseconds of CPU each, in the kernel and in the Go scheduler (a thread
// woken, often a second one spun up for the goroutines the events make
// ready), and it comes a few tens of microseconds after the moment asked
// for. So the loop wakes up only for what the world outside the medium
// can see — a reception handed to a node, a transmission's outcome, a
// message to a ZEP peer or a mirror — and not for the steps that lead to
// it (the end of a CCA, the first symbol of a frame nobody mirrors): every
// event carries the earliest virtual time at which it or anything it leads
// to can be seen (event.visible; for a CCA that nothing can make busy, the
// end of its frame, quietCCA), and the loop sleeps until the earliest of
// those, then runs, in order, every event whose moment has come. An
// acknowledged frame between two nodes takes two wake-ups (its end at the
// receiver, the ACK's end at the sender) instead of six.
//
// That is the same as running each event at its moment only if nothing
// from outside acts on the medium in between. Calls that queue work
// (Transmit, EnergyScan, a ZEP peer's frame) are events themselves, put in
// their place in virtual time, so order is kept, and run at once on the
// caller's goroutine with everything else already due (call), rather than
// waking the loop. Calls that change state directly (Attach, Detach,
// Configure, SetLink, Cancel, Hold, Mirror, a ZEP peer joining or moving)
// first run the events whose moment has come (catchUp), on the caller's
// goroutine under m.mu, as the loop would have; so do Stats and Dropped,
// so that they count what has happened. Either may make something visible
// sooner (another node's frame can make a quiet CCA busy): catchUp re-arms
// the loop.
//
// The loop arms its waker lead before the moment it wants, lead being a
// running mean of how late its recent wake-ups came (at most maxLead), and
// runs the events due within lead of now: they run about on time, at worst
// lead early. The mean is kept apart for sleeps of a millisecond or more,
// which on a virtual machine end some ten microseconds later than short
// ones (the idle processor sleeps deeper): measured here, 37 against 50 µs
// at the median. A call arriving meanwhile takes effect at the loop's
// virtual time (clock), up to lead after its wall-clock moment.

// maxLead bounds how far ahead of its moment an event may run; longSleep
// is where a sleep counts as long (see lead).
const (
	maxLead   = 50 * time.Microsecond
	longSleep = time.Millisecond
)

// loopSleep is the event loop's sleeping state. Guarded by m.mu.
type loopSleep struct {
	w      waker
	asleep bool // the loop sleeps, or is about to, in w.wait
	// armed: w fires at armedWall (lead before the event visible at
	// armedFor is due).
	armed     bool
	armedFor  time.Duration
	armedWall time.Time
	latency   [2]time.Duration // running mean of wake-up lateness, short and long sleeps
	long      bool             // the sleep armed is a long one
	lead      time.Duration    // what the waker was last armed ahead by
	running   bool             // runDue is under way
	wakeUps   uint64           // sleeps ended, for tests
}

// Run runs the event loop until ctx is done or Close is called, and then
// closes the medium: pending transmissions and scans fail with ErrClosed,
// reception channels are closed. It returns nil after Close and ctx's
// error otherwise. Only one Run may be under way.
func (m *Medium) Run(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.running:
		m.mu.Unlock()
		return ErrRunning
	}
	m.running = true
	m.anchorVirt, m.anchorWall = m.now, time.Now()
	w := m.waker()
	m.sleep = loopSleep{w: w}
	m.mu.Unlock()
	defer m.Close()

	// The stopper wakes the loop for good when ctx ends or Close is
	// called; the loop then sees why.
	quit := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-m.done:
		case <-quit:
		}
		w.stop()
	}()
	defer func() {
		close(quit)
		<-stopped
		m.mu.Lock()
		m.sleep = loopSleep{}
		m.mu.Unlock()
		w.close()
	}()

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		sleep, closed := m.step()
		if closed {
			return nil
		}
		if sleep {
			w.wait()
		}
	}
}

// waker returns a new waker of the system's kind, or the one tests ask
// for.
func (m *Medium) waker() waker {
	if m.newWaker != nil {
		return m.newWaker()
	}
	return newWaker()
}

// step runs what is due and, when there is nothing more to do now, arms
// the waker and reports that the loop is to sleep.
func (m *Medium) step() (sleep, closed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, true
	}
	m.wokeUp()
	if m.scale == 0 {
		if m.holds > 0 || len(m.events) == 0 {
			m.sleepUntilVisible()
			return true, false
		}
		// As fast as possible: one event a pass, so that calls from
		// outside get in between as they always did.
		ev := heap.Pop(&m.events).(*event)
		m.now = max(m.now, ev.at)
		ev.fn()
		return false, false
	}
	m.runDue(m.sleep.lead)
	if m.closed {
		return false, true
	}
	m.sleepUntilVisible()
	return true, false
}

// wokeUp notes the end of a sleep and, when the waker fired for the moment
// it was armed for, how late it came. Callers hold m.mu.
func (m *Medium) wokeUp() {
	s := &m.sleep
	if s.asleep {
		s.wakeUps++
	}
	if s.asleep && s.armed {
		if late := time.Since(s.armedWall); late >= 0 {
			// One wake-up in sixteen moves the mean; a preempted one
			// (hundreds of microseconds) counts as 200 µs at most.
			late = min(late, 200*time.Microsecond)
			l := &s.latency[b2i(s.long)]
			*l += (late - *l) / 16
		}
	}
	s.asleep, s.armed = false, false
}

// runDue runs, in order, every event whose moment is less than lead away
// by the wall clock (scaled time only), and drops dead ones. Callers hold
// m.mu.
func (m *Medium) runDue(lead time.Duration) {
	if m.sleep.running {
		return // an event called back into the medium
	}
	m.sleep.running = true
	defer func() { m.sleep.running = false }()
	var now time.Time
	var horizon time.Duration
	for n := 0; len(m.events) > 0 && m.holds == 0 && !m.closed; n++ {
		ev := m.events[0]
		if ev.dead {
			// A timeout nobody waits for any more: dropped without a
			// wake-up, and without moving virtual time.
			heap.Pop(&m.events)
			continue
		}
		if n%8 == 0 || m.lateness != nil {
			now = time.Now()
			// Events already run early may have taken m.now past the
			// wall clock: what is queued at or before it is due too.
			horizon = max(m.virtualAt(now.Add(lead)), m.now)
		}
		if ev.at > horizon {
			return
		}
		heap.Pop(&m.events)
		if m.lateness != nil {
			m.lateness(now.Sub(m.wallAt(ev.at)), ev)
		}
		m.now = max(m.now, ev.at)
		ev.fn()
	}
}

// catchUp runs the events whose moment has come, for a call that is
// about to change the medium's state directly, so that they see the state
// they would have seen had they run at their moment, and re-arms the
// sleeping loop for what is left. It reports whether it could: not at
// TimeScale 0 (the loop alone runs events there, one a pass), not while
// time is held, not before Run, and not from within an event. Callers hold
// m.mu.
func (m *Medium) catchUp() bool {
	s := &m.sleep
	if m.scale == 0 || s.w == nil || m.closed || m.holds > 0 || s.running {
		return false
	}
	// Not ahead of the clock, as the loop may be: what the caller is about
	// to do happens now, and what is due later must see it.
	m.runDue(0)
	if !s.asleep {
		return true // poked: the loop will see to the rest
	}
	vis, ok := m.nextVisible()
	switch {
	case !ok:
		if s.armed {
			s.armed = false
			s.w.arm(-1)
		}
	case !s.armed || vis != s.armedFor:
		m.armFor(vis)
	}
	return true
}

// released follows the end of a hold: the loop may go on. Callers hold
// m.mu.
func (m *Medium) released() {
	m.sleep.armed = false // virtual time was re-anchored
	if !m.catchUp() {
		m.wakeNow()
	}
}

// call queues fn as a call from outside taking effect at virtual time at
// (node orders calls at one instant) and, when it can, runs it at once
// with everything else that is due (catchUp) rather than waking the loop
// for it. Callers hold m.mu.
func (m *Medium) call(at time.Duration, node int, fn func()) {
	m.queueCall(at, node, fn)
	m.runCalls(at)
}

// queueCall queues a call (see call) without running it yet. Callers hold
// m.mu.
func (m *Medium) queueCall(at time.Duration, node int, fn func()) {
	m.seq++
	heap.Push(&m.events, &event{at: at, visible: at, prio: prioCall, node: node, seq: m.seq, fn: fn})
}

// runCalls runs what is due, calls queued at virtual time at among them,
// or wakes the loop for them. Callers hold m.mu.
func (m *Medium) runCalls(at time.Duration) {
	if !m.catchUp() {
		m.wakeFor(at)
	}
}

// sleepUntilVisible arms the waker for the earliest moment something
// queued can be seen outside (scaled time), or for nothing but a poke.
// Callers hold m.mu.
func (m *Medium) sleepUntilVisible() {
	s := &m.sleep
	s.asleep = true
	vis, ok := m.nextVisible()
	if !ok || m.holds > 0 || m.scale == 0 {
		s.armed = false
		s.w.arm(-1)
		return
	}
	m.armFor(vis)
}

// nextVisible returns the earliest moment a live event can be seen
// outside: its event.visible, or for a CCA that nothing can make busy,
// the end of the frame that follows it (quietCCA).
func (m *Medium) nextVisible() (time.Duration, bool) {
	var vis time.Duration
	ok := false
	for _, ev := range m.events {
		if ev.dead {
			continue
		}
		v := ev.visible
		if ev.cca != nil && ev.idleVisible > v && m.quietCCA(ev) {
			v = ev.idleVisible
		}
		if !ok || v < vis {
			vis, ok = v, true
		}
	}
	return vis, ok
}

// quietMaxEvents bounds the queue quietCCA looks through (it is
// quadratic); beyond it every CCA counts as one that may fail.
const quietMaxEvents = 64

// quietCCA reports whether the CCA that ev ends will find the channel
// idle unless something from outside happens first: no other node has
// anything queued (a frame to start, a CCA that may lead to one, a frame
// whose end may draw an ACK) and no frame the node can sense is on the air
// after the CCA began. Something from outside — a call, a ZEP peer's frame
// — goes through catchUp, which asks again. A CCA that finds the channel
// idle is seen outside no sooner than the end of its frame; one that may
// find it busy may end the transmission with a channel access failure
// (backoff). Callers hold m.mu.
func (m *Medium) quietCCA(ev *event) bool {
	t := ev.cca
	if len(m.events) > quietMaxEvents || t.n.detached {
		return false
	}
	for _, o := range m.events {
		if !o.dead && o.node != ev.node {
			return false
		}
	}
	for _, f := range m.air {
		if f.channel == t.channel && f.end > t.ccaStart && (f.src == t.n || !m.link(f.src, t.n).Disconnected) {
			return false
		}
	}
	return true
}

// armFor arms the waker lead before the wall-clock moment of virtual time
// vis. Callers hold m.mu; scaled time only.
func (m *Medium) armFor(vis time.Duration) {
	s := &m.sleep
	s.armed, s.armedFor = true, vis
	due := m.wallAt(vis)
	d := time.Until(due)
	s.long = d >= longSleep
	s.lead = min(s.latency[b2i(s.long)], maxLead)
	s.armedWall = due.Add(-s.lead)
	s.w.arm(max(d-s.lead, 0))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// virtualAt is the virtual time at wall-clock time w; wallAt the converse.
// Scaled time only; callers hold m.mu.
func (m *Medium) virtualAt(w time.Time) time.Duration {
	return m.anchorVirt + time.Duration(float64(w.Sub(m.anchorWall))*m.scale)
}

func (m *Medium) wallAt(v time.Duration) time.Time {
	return m.anchorWall.Add(time.Duration(float64(v-m.anchorVirt) / m.scale))
}

// schedule queues fn at virtual time at, visible at once. Callers hold
// m.mu.
func (m *Medium) schedule(at time.Duration, prio eventPrio, node int, fn func()) *event {
	return m.scheduleVisible(at, at, prio, node, fn)
}

// scheduleVisible queues fn at virtual time at, to be run by virtual time
// visible (event.visible; not before at) and wakes the loop up if it would
// sleep past that. Callers hold m.mu.
func (m *Medium) scheduleVisible(at, visible time.Duration, prio eventPrio, node int, fn func()) *event {
	m.seq++
	ev := &event{at: at, visible: max(visible, at), prio: prio, node: node, seq: m.seq, fn: fn}
	heap.Push(&m.events, ev)
	m.wakeFor(ev.visible)
	return ev
}

// wakeFor makes sure a sleeping loop wakes up by virtual time vis: at once
// at TimeScale 0, otherwise by arming the waker earlier if need be (no
// wake-up now). Callers hold m.mu.
func (m *Medium) wakeFor(vis time.Duration) {
	s := &m.sleep
	switch {
	case !s.asleep || m.holds > 0 || s.running:
		// Awake, held (the release wakes it), or running events on a
		// caller's goroutine (catchUp re-arms it afterwards).
	case m.scale == 0:
		m.wakeNow()
	case !s.armed || vis < s.armedFor:
		m.armFor(vis)
	}
}

// wakeNow wakes a sleeping loop at once: something it waits for changed
// (a hold ended, virtual time was re-anchored). Callers hold m.mu.
func (m *Medium) wakeNow() {
	s := &m.sleep
	if s.asleep {
		s.asleep, s.armed = false, false
		s.w.poke()
	}
}
