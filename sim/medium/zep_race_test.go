//go:build race

package medium

// raceEnabled: the race detector slows the hub's goroutines several times
// over, which real-time tests against real ZEP peers must allow for.
const raceEnabled = true
