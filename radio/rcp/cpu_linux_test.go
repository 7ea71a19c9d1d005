package rcp

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the whole test process has
// used: the driver, the simulated RCP and medium on the other side of the
// PTY, and the runtime's own work (scheduler, GC) for all of them.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
