//go:build unix

package medium

import (
	"syscall"
	"time"
)

// processUsage returns the user and system CPU time the process has used
// and how many times its threads gave up a CPU, voluntarily or not
// (getrusage(2), RUSAGE_SELF).
func processUsage() (cpu time.Duration, switches int64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Nvcsw) + int64(ru.Nivcsw)
}
