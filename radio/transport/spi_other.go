//go:build !linux

package transport

import (
	"fmt"
	"log/slog"
	"runtime"
)

// OpenSPI needs Linux (spidev, GPIO character device); elsewhere it
// returns ErrNotSupported.
func OpenSPI(path string, cfg SPIConfig, logger *slog.Logger) (*SPI, error) {
	return nil, fmt.Errorf("spi %s: %w (GOOS=%s; this transport needs Linux)", path, ErrNotSupported, runtime.GOOS)
}
