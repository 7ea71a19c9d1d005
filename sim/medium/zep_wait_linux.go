package medium

import (
	"syscall"
	"time"
	"unsafe"
)

// sleepPrecisely blocks the calling thread in nanosleep(2) for about d
// (less when a signal interrupts it: callers loop). The raw system call
// keeps the goroutine's processor, so the runtime neither hands it to
// another thread nor adds its own latency on the way back; and unlike a
// spin it leaves the CPU to the ZEP peers, which on a small machine are
// the ones that must run just then: a RIOT native node that is not
// scheduled in time to turn its receiver on misses the very ACK the hub is
// waiting to send it.
func sleepPrecisely(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_, _, _ = syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}
