//go:build !linux

package upstream

import (
	"context"
	"fmt"
	"runtime"
)

// Run is available on Linux only (it needs a raw ICMPv6 socket and
// netlink); elsewhere it returns ErrUnsupportedOS.
func (u *Advertiser) Run(ctx context.Context) error {
	return fmt.Errorf("router: upstream RA on %s: not supported: %w", runtime.GOOS, ErrUnsupportedOS)
}
