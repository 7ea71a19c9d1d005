// Package netlinkx holds what the host-side packages (hostif, upstream)
// share on top of vishvananda/netlink.
package netlinkx

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// dumpAttempts bounds the retries of a netlink dump that the kernel marked
// NLM_F_DUMP_INTR (the table changed while it was being dumped; the result
// may be incomplete).
const dumpAttempts = 5

// RetryDump runs list until the kernel reports a dump that was not
// interrupted, at most dumpAttempts times; what names the dump in the
// error.
func RetryDump[T any](what string, list func() (T, error)) (T, error) {
	var v T
	var err error
	for range dumpAttempts {
		if v, err = list(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	var zero T
	return zero, fmt.Errorf("%s: %w %d times", what, err, dumpAttempts)
}
