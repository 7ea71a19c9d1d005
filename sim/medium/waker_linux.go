package medium

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timerfdWaker sleeps on a timerfd (timerfd_create(2), CLOCK_MONOTONIC),
// the goroutine parked in the runtime's network poller until the timer
// expires: an event, not a timeout, for epoll, so the wake-up is not
// rounded up to a millisecond, and a timerfd's hrtimer is armed with no
// timer slack (unlike nanosleep(2) and poll timeouts, which get the
// thread's 50 µs by default). Arming and the read are raw system calls,
// which never block here (the descriptor is non-blocking): a plain one
// would wake the runtime's sysmon thread at every call, which costs more
// than the wake-up itself on a small machine. No thread is locked and no
// processor held while the loop sleeps.
type timerfdWaker struct {
	fd      int
	f       *os.File // registers fd with the network poller
	rc      syscall.RawConn
	read    func(fd uintptr) bool // reads buf; made once, so wait does not allocate
	buf     [8]byte
	stopped atomic.Bool
}

// newWaker returns a timerfd waker, or the portable one when the kernel
// refuses a timerfd.
func newWaker() waker {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return newTimerWaker()
	}
	f := os.NewFile(uintptr(fd), "medium-timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return newTimerWaker()
	}
	w := &timerfdWaker{fd: fd, f: f, rc: rc}
	w.read = func(fd uintptr) bool {
		_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&w.buf[0])), uintptr(len(w.buf)))
		return e != syscall.EAGAIN && e != syscall.EINTR
	}
	return w
}

// set arms the timer d from now; 0 disarms it.
func (w *timerfdWaker) set(d time.Duration) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_ = unix.TimerfdSettime(w.fd, 0, &spec, nil)
}

func (w *timerfdWaker) arm(d time.Duration) {
	switch {
	case d < 0:
		w.set(0)
	case d == 0:
		w.set(1) // an it_value of 0 would disarm it
	default:
		w.set(d)
	}
}

func (w *timerfdWaker) poke() { w.set(1) }

func (w *timerfdWaker) wait() {
	if w.stopped.Load() {
		return
	}
	// Read the expiration count; on EAGAIN RawConn parks the goroutine in
	// the poller until the descriptor is readable and calls again.
	_ = w.rc.Read(w.read)
}

func (w *timerfdWaker) stop() {
	w.stopped.Store(true)
	w.poke()
}

func (w *timerfdWaker) close() { _ = w.f.Close() }
