package medium

import (
	"syscall"
	"time"
	"unsafe"
)

// sleepPrecisely blocks the calling thread in nanosleep(2) for about d
// (less when a signal interrupts it: callers loop), without the runtime
// timer's rounding (Go's timers wake about a millisecond late for waits this
// short). Unlike a spin it leaves the CPU to the ZEP peers, which on a
// small machine are the ones that must run just then: a RIOT native node
// that is not scheduled in time to turn its receiver on misses the very
// ACK the hub is waiting to send it. A plain (not raw) system call lets the
// runtime give the goroutine's processor to others meanwhile; it normally
// gets it straight back on return.
func sleepPrecisely(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_, _, _ = syscall.Syscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}
