// Package netnstest holds what tests that make network namespaces share:
// one name prefix, and the removal of namespaces that a killed test run
// left behind.
package netnstest

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every test namespace; the PID of the test
// process that made it follows, then a dash.
const Prefix = "lowpanbr-test-"

// RemoveAbandoned deletes test namespaces whose test process has died
// without its cleanups (killed, or panicked on -timeout).
func RemoveAbandoned(tb testing.TB) {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), Prefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput(); err != nil {
			tb.Logf("removing abandoned namespace %s: %v: %s", e.Name(), err, out)
		}
	}
}

// IP runs "ip -n ns args..." and returns its output; it fails the test
// when ip does.
func IP(tb testing.TB, ns string, args ...string) string {
	tb.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// CheckGoroutines fails the test if, 5 s after it ends, more goroutines
// run than when it called CheckGoroutines: whatever it started must stop.
func CheckGoroutines(tb testing.TB) {
	before := runtime.NumGoroutine()
	tb.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				tb.Errorf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
