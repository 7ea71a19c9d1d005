package rawfile

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// File is a non-blocking descriptor read and written with raw system
// calls. Its methods have os.File's contract: Read returns io.EOF at end
// of file, Write writes all of b or returns an error, a deadline gives
// os.ErrDeadlineExceeded, and after Close every call returns an error
// that wraps os.ErrClosed.
type File struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool

	// One read and one write at a time: the poller's callbacks are made
	// once (New) and work on these, so that a call does not allocate a
	// closure.
	rmu, wmu   sync.Mutex
	rbuf, wbuf []byte
	rn, wn     int
	rerr, werr syscall.Errno
	readFn     func(fd uintptr) bool
	writeFn    func(fd uintptr) bool
}

// New wraps f, which must be in non-blocking mode (os.NewFile of a
// descriptor opened O_NONBLOCK, or os.OpenFile of a character device).
// When the runtime's poller does not hold f (a regular file, a descriptor
// left blocking), File falls back to f's own Read and Write.
func New(f *os.File) *File {
	rf := &File{f: f}
	if rc, err := f.SyscallConn(); err == nil && pollable(f) {
		rf.rc = rc
	}
	rf.readFn = func(fd uintptr) bool {
		rf.rn, rf.rerr = rawRead(fd, rf.rbuf)
		return rf.rerr != syscall.EAGAIN
	}
	rf.writeFn = func(fd uintptr) bool {
		for rf.wn < len(rf.wbuf) {
			w, e := rawWrite(fd, rf.wbuf[rf.wn:])
			switch e {
			case 0:
				rf.wn += w
			case syscall.EAGAIN:
				return false // parks until writable, then again from wn
			default:
				rf.werr = e
				return true
			}
		}
		return true
	}
	return rf
}

// pollable reports whether f is in the poller: a deadline can be set only
// then.
func pollable(f *os.File) bool {
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return false
	}
	return true
}

// File returns the wrapped file.
func (r *File) File() *os.File { return r.f }

// Read reads up to len(b) octets, parking until at least one is there.
// Reads are serialised, as writes are; a read and a write may run at once.
func (r *File) Read(b []byte) (int, error) {
	if r.rc == nil {
		return r.f.Read(b)
	}
	if len(b) == 0 {
		return 0, nil
	}
	r.rmu.Lock()
	r.rbuf, r.rn, r.rerr = b, 0, 0
	err := r.rc.Read(r.readFn)
	n, errno := r.rn, r.rerr
	r.rbuf = nil
	r.rmu.Unlock()
	switch {
	case err != nil:
		return 0, r.wrap("read", err)
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: r.f.Name(), Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of b, parking while the descriptor's buffer is full.
func (r *File) Write(b []byte) (int, error) {
	if r.rc == nil {
		return r.f.Write(b)
	}
	r.wmu.Lock()
	r.wbuf, r.wn, r.werr = b, 0, 0
	err := r.rc.Write(r.writeFn)
	n, errno := r.wn, r.werr
	r.wbuf = nil
	r.wmu.Unlock()
	switch {
	case err != nil:
		return n, r.wrap("write", err)
	case errno != 0:
		return n, &os.PathError{Op: "write", Path: r.f.Name(), Err: errno}
	}
	return n, nil
}

// wrap gives a poller error os.File's form: a closed file's (the poller
// says "use of closed file", which only os.File translates) wraps
// os.ErrClosed; a deadline stays os.ErrDeadlineExceeded.
func (r *File) wrap(op string, err error) error {
	if r.closed.Load() {
		err = os.ErrClosed
	}
	return &os.PathError{Op: op, Path: r.f.Name(), Err: err}
}

// SetReadDeadline bounds Read; the zero time removes the bound.
func (r *File) SetReadDeadline(t time.Time) error { return r.f.SetReadDeadline(t) }

// SetWriteDeadline bounds Write; the zero time removes the bound.
func (r *File) SetWriteDeadline(t time.Time) error { return r.f.SetWriteDeadline(t) }

// Close closes the file and wakes parked reads and writes.
func (r *File) Close() error {
	r.closed.Store(true)
	return r.f.Close()
}
