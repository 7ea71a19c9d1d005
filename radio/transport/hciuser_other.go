//go:build !linux

package transport

import (
	"fmt"
	"io"
	"runtime"
)

func openHCIUser(dev int) (io.ReadWriteCloser, error) {
	return nil, fmt.Errorf("hci+user://hci%d: %w (GOOS=%s; the HCI user channel is Linux's)", dev, ErrNotSupported, runtime.GOOS)
}
