//go:build !(linux || windows || (darwin && cgo))

package transport

import (
	"fmt"
	"runtime"
)

func listSerialPorts() ([]usbPort, error) {
	return nil, fmt.Errorf("enumerate serial ports: %w (GOOS=%s)", ErrNotSupported, runtime.GOOS)
}
