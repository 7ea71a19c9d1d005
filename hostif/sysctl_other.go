//go:build !linux

package hostif

import (
	"fmt"
	"runtime"
)

// EnableForwarding is available on Linux only; elsewhere it returns
// ErrUnsupportedOS.
func EnableForwarding(enable bool, ifnames ...string) (restore func() error, err error) {
	return nil, fmt.Errorf("router: IPv6 forwarding on %s: %w", runtime.GOOS, ErrUnsupportedOS)
}
