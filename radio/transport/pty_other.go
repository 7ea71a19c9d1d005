//go:build !linux

package transport

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

func (c *Child) signal(sig syscall.Signal) { _ = c.cmd.Process.Signal(sig) }

// OpenPTY needs Linux; elsewhere it returns ErrNotSupported.
func OpenPTY() (*os.File, string, error) {
	return nil, "", fmt.Errorf("pty: %w (GOOS=%s; this transport needs Linux)", ErrNotSupported, runtime.GOOS)
}

// ForkPTY needs Linux; elsewhere it returns ErrNotSupported.
func ForkPTY(ctx context.Context, path string, args []string, logger *slog.Logger) (*Child, error) {
	return nil, fmt.Errorf("forkpty %s: %w (GOOS=%s; this transport needs Linux)", path, ErrNotSupported, runtime.GOOS)
}
