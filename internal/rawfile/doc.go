// Package rawfile reads and writes a non-blocking file descriptor (a tty,
// a PTY master) with raw system calls, parked in the runtime's poller
// while the descriptor is not ready.
//
// os.File's Read and Write enter the runtime's syscall state for every
// call (syscall.Syscall → entersyscall), and when the process was idle
// that wakes the sysmon thread, which then polls every 20 µs for a
// while before it sleeps deeply again. A border router on an idle mesh
// and a saturated one alike make a few such calls per frame; measured on
// the saturation benchmarks (borderrouter), sysmon's sleeps and the
// wake-ups were about a tenth of the whole process's CPU. read(2) and
// write(2) on a non-blocking descriptor never block, so they may run as
// raw system calls: the goroutine keeps its processor, and when the
// descriptor is not ready (EAGAIN) the poller parks it as os.File would.
// Deadlines and Close work as they do for os.File (the poller's own).
//
// The medium's timerfd waker (sim/medium) does the same for its timer.
package rawfile
