//go:build linux

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
)

// readmeFirstCommand is the first indented command of README.md: the one
// that runs the border router on the simulator.
func readmeFirstCommand(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "    ") && strings.TrimSpace(line) != "" {
			return strings.TrimSpace(line)
		}
	}
	t.Fatal("README.md has no indented command")
	return ""
}

// The README's first command, exactly as written, from the repository
// root: the daemon comes up on the simulator, prints a ping line, the node
// answers that ping, and Ctrl-C stops it cleanly. It runs in a network
// namespace of its own, with its state and API socket in a temporary
// directory (through the environment, as an operator may).
func TestREADMEFirstCommand(t *testing.T) {
	requireE2EHost(t)
	cmdline := readmeFirstCommand(t)
	if !strings.Contains(cmdline, "lowpanbr run") {
		t.Fatalf("README's first command %q does not run the border router", cmdline)
	}
	ns := netnstest.Add(t, "readme")
	sh(t, "ip", "-n", ns, "link", "set", "lo", "up")

	dir := t.TempDir()
	// As a terminal would: the words of the command, no shell in between
	// (Ctrl-C goes to the foreground process group).
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, strings.Fields(cmdline)...)...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "LOWPANBR_STATE_DIR="+filepath.Join(dir, "state"), "LOWPANBR_API_SOCKET="+filepath.Join(dir, "api.sock"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches the whole group: go run and the daemon
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("stderr (last 40 lines):\n%s", tail(stderr.String(), 40))
		}
	})

	// "go run" compiles first: allow for a cold build cache.
	pingLine := regexp.MustCompile(`^Try: (ping -6 .*)$`)
	var try string
	deadline := time.After(5 * time.Minute)
	for try == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the daemon exited before printing a ping line: %v", <-done)
			}
			if m := pingLine.FindStringSubmatch(l); m != nil {
				try = m[1]
			}
		case <-deadline:
			t.Fatal("no ping line within 5 minutes")
		}
	}
	var out []byte
	for attempt := 0; attempt < 30; attempt++ { // nodes register within seconds
		out, err = exec.Command("ip", "netns", "exec", ns, "sh", "-c", try).CombinedOutput()
		if err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", try, err, out)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-done:
		// go run reports the interrupt it saw with exit status 1 even when
		// its child exits 0; the daemon's own last word says how it went.
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
			t.Fatalf("exit after Ctrl-C: %v", err)
		}
		if log := stderr.String(); !strings.Contains(log, "msg=stopped") || strings.Contains(log, "lowpanbr run:") {
			t.Fatalf("the daemon did not stop cleanly:\n%s", tail(log, 10))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20 s of Ctrl-C")
	}
	if out, err := exec.Command("ip", "-n", ns, "link", "show", "lowpan0").CombinedOutput(); err == nil {
		t.Fatalf("lowpan0 survived:\n%s", out)
	}
}
