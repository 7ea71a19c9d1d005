//go:build !linux

package router

import (
	"context"
	"fmt"
	"runtime"
)

// Run is available on Linux only (it needs a raw ICMPv6 socket and
// netlink); elsewhere it returns ErrUnsupportedOS.
func (u *UpstreamRA) Run(ctx context.Context) error {
	return fmt.Errorf("router: upstream RA on %s: not supported: %w", runtime.GOOS, ErrUnsupportedOS)
}
