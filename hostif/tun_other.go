//go:build !linux

package hostif

import (
	"fmt"
	"runtime"
)

// OpenTUN is available on Linux only; elsewhere it returns ErrUnsupportedOS.
func OpenTUN(name string, mtu int) (TUN, error) {
	return nil, fmt.Errorf("router: open TUN %q on %s: %w", name, runtime.GOOS, ErrUnsupportedOS)
}
