package transport

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// checkGoroutines fails t if, after its cleanups ran, more goroutines are
// running than when it was called (waiting up to two seconds for stragglers
// to finish).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after:\n%s", before, n, trimStacks(string(buf)))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func trimStacks(s string) string {
	if len(s) > 8000 {
		s = s[:8000] + "\n…"
	}
	return strings.TrimSpace(s)
}
