//go:build !linux

package medium

import (
	"runtime"
	"time"
)

// sleepPrecisely spins for about d, yielding to other goroutines: the
// portable fallback of the Linux version, at the cost of a CPU.
func sleepPrecisely(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		runtime.Gosched()
	}
}
