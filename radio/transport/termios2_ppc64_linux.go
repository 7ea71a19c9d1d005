//go:build linux && (ppc64 || ppc64le)

package transport

import "golang.org/x/sys/unix"

// On POWER the plain termios already carries c_ispeed/c_ospeed and there is
// no TCGETS2/TCSETS2; BOTHER works with TCGETS/TCSETS.
const (
	reqGetTermios2 = unix.TCGETS
	reqSetTermios2 = unix.TCSETS
)
