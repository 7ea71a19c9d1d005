package medium

import (
	"sync"
	"time"
)

// waker puts the event loop to sleep until the next event's wall-clock
// moment or until something changes. arm and poke are called with m.mu
// held; wait, stop and close without it; wait only by the loop.
type waker interface {
	// arm sets the next wake-up d from now; d < 0: none, wait for a poke.
	arm(d time.Duration)
	// poke wakes the loop at once (or keeps its next wait from sleeping).
	poke()
	// wait sleeps until the armed moment, a poke, or stop.
	wait()
	// stop makes every wait return at once from now on.
	stop()
	// close releases the waker's resources once the loop is done.
	close()
}

// timerWaker sleeps on a runtime timer: portable, but when the process is
// idle its wake-ups come up to about a millisecond late, because the Go
// runtime sleeps in the network poller with a timeout in whole
// milliseconds, a wait under one rounded up to one (runtime netpoll on
// Linux and the BSDs).
type timerWaker struct {
	timer    *time.Timer
	poked    chan struct{} // cap 1
	stopped  chan struct{}
	stopOnce sync.Once
}

func newTimerWaker() *timerWaker {
	w := &timerWaker{timer: time.NewTimer(time.Hour), poked: make(chan struct{}, 1), stopped: make(chan struct{})}
	w.timer.Stop()
	return w
}

func (w *timerWaker) arm(d time.Duration) {
	if d < 0 {
		w.timer.Stop()
		return
	}
	w.timer.Reset(d)
}

func (w *timerWaker) poke() {
	select {
	case w.poked <- struct{}{}:
	default:
	}
}

func (w *timerWaker) wait() {
	select {
	case <-w.timer.C:
	case <-w.poked:
	case <-w.stopped:
	}
}

func (w *timerWaker) stop()  { w.stopOnce.Do(func() { close(w.stopped) }) }
func (w *timerWaker) close() { w.timer.Stop() }
