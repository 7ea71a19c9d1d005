//go:build !unix

package rawfile

import "syscall"

// Off Unix there is no raw path: New never sets rc, so these are not
// called.
func rawRead(uintptr, []byte) (int, syscall.Errno)  { return 0, syscall.EINVAL }
func rawWrite(uintptr, []byte) (int, syscall.Errno) { return 0, syscall.EINVAL }
