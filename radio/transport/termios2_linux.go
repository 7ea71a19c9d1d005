//go:build linux && !ppc64 && !ppc64le

package transport

import "golang.org/x/sys/unix"

// termios2 requests: struct termios2 carries c_ispeed/c_ospeed, which with
// BOTHER set any baud rate.
const (
	reqGetTermios2 = unix.TCGETS2
	reqSetTermios2 = unix.TCSETS2
)
