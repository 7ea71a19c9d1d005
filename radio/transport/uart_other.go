//go:build !linux

package transport

import (
	"fmt"
	"runtime"
)

// OpenUART needs Linux (termios2); elsewhere it returns ErrNotSupported.
func OpenUART(path string, cfg UARTConfig) (*Port, error) {
	return nil, fmt.Errorf("uart %s: %w (GOOS=%s; this transport needs Linux)", path, ErrNotSupported, runtime.GOOS)
}
