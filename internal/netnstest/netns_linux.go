// Package netnstest holds what tests that make network namespaces share:
// one name prefix, and the removal of namespaces that a killed test run
// left behind.
package netnstest

import (
	"fmt"
	"math/rand/v2"
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

// Add creates a test namespace named Prefix<pid>-<random>[-role] and
// deletes it in a cleanup that runs even when the test fails (registered
// now, so it runs after the cleanups the test adds later); namespaces a
// killed run left behind are removed first.
func Add(tb testing.TB, role string) string {
	tb.Helper()
	RemoveAbandoned(tb)
	ns := fmt.Sprintf("%s%d-%08x", Prefix, os.Getpid(), rand.Uint32())
	if role != "" {
		ns += "-" + role
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", ns, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	return ns
}

// Enter moves the calling goroutine's OS thread into namespace ns for the
// rest of its life. The thread is never unlocked: when the goroutine ends
// the runtime ends the thread instead of reusing it in the wrong
// namespace. Goroutines started later run on other threads, in the host's
// namespace, and should only use file descriptors opened here.
func Enter(tb testing.TB, ns string) {
	tb.Helper()
	runtime.LockOSThread()
	fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("open namespace %s: %v", ns, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		tb.Fatalf("enter namespace %s: %v", ns, err)
	}
}

// Go runs f on a goroutine of its own whose OS thread is in the calling
// thread's network namespace (as Enter left it). A goroutine started with
// go runs on some other thread, in the host's namespace; what it does
// through the namespace's file descriptors is right, but whatever looks at
// its thread's namespace is not (a border router's Run takes down on return
// what New configured in the namespace, and checks that it is still there).
// The thread is never unlocked, as in Enter.
func Go(tb testing.TB, f func()) {
	tb.Helper()
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("open this thread's network namespace: %v", err)
	}
	go func() {
		runtime.LockOSThread()
		err := unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			// Not tb.Fatal: this is not the test's goroutine. Setns of a
			// namespace this process has just opened fails only if the
			// kernel takes CAP_SYS_ADMIN away in between.
			panic(fmt.Sprintf("netnstest: enter the caller's namespace: %v", err))
		}
		f()
	}()
}
