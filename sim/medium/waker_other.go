//go:build !linux

package medium

// newWaker returns the portable waker: a runtime timer.
func newWaker() waker { return newTimerWaker() }
