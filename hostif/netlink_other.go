//go:build !linux

package hostif

import (
	"fmt"
	"net/netip"
	"runtime"
)

type appliedSys struct{}

// Configure is available on Linux only; elsewhere it returns
// ErrUnsupportedOS.
func Configure(name string, cfg Config) (*Applied, error) {
	return nil, fmt.Errorf("router: configure %s on %s: %w", name, runtime.GOOS, ErrUnsupportedOS)
}

// Undo is never reached off Linux, where Configure always fails.
func (a *Applied) Undo() error {
	return fmt.Errorf("router: undo on %s: %w", runtime.GOOS, ErrUnsupportedOS)
}

// ReplaceAddr is never reached off Linux, where Configure always fails.
func (a *Applied) ReplaceAddr(old, new netip.Prefix) error {
	return fmt.Errorf("router: replace address on %s: %w", runtime.GOOS, ErrUnsupportedOS)
}

// CleanupStale is available on Linux only; elsewhere it returns
// ErrUnsupportedOS.
func CleanupStale(name string, stateFile string) (*StaleReport, error) {
	return nil, fmt.Errorf("router: cleanup on %s: %w", runtime.GOOS, ErrUnsupportedOS)
}
