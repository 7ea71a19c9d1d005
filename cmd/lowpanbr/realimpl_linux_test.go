package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests against implementations nobody on this project wrote.
// They need the programs built from their upstream sources (README,
// "Against the real implementations") and skip, naming the variable,
// without them.

// EnvOTRCP names OpenThread's simulation ot-rcp.
const EnvOTRCP = "LOWPANBR_OT_RCP"

// otNodeID is the ot-rcp node id these tests use (its EUI-64 ends in it,
// and its UDP port is 9000 plus it).
const otNodeID = 29

// pingCount runs count pings of size octets from ns and returns how many
// were answered and the hop limit of the last reply.
func pingCount(t *testing.T, ns, dst string, count, size int, interval string) (int, int) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", strconv.Itoa(count), "-i", interval, "-W", "3",
		"-s", strconv.Itoa(size), dst).CombinedOutput()
	m := regexp.MustCompile(`(\d+) received`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("ping output:\n%s", out)
	}
	got, _ := strconv.Atoi(m[1])
	hl := 0
	if all := regexp.MustCompile(`ttl=(\d+)`).FindAllStringSubmatch(string(out), -1); len(all) > 0 {
		hl, _ = strconv.Atoi(all[len(all)-1][1])
	}
	return got, hl
}

// rcpChildren counts the RCP children the daemon logged.
func rcpChildren(d *daemonProc) int {
	return strings.Count(d.stderr.String(), `msg="RCP child started"`)
}

// currentChild is the PID of the newest ot-rcp child.
func currentChild(t *testing.T, d *daemonProc) int {
	t.Helper()
	all := regexp.MustCompile(`msg="RCP child started".* pid=(\d+)`).FindAllStringSubmatch(d.stderr.String(), -1)
	if len(all) == 0 {
		t.Fatal("no RCP child in the daemon's log")
	}
	pid, _ := strconv.Atoi(all[len(all)-1][1])
	return pid
}

// The daemon on OpenThread's own RCP code (the simulation build of ot-rcp,
// the src/ncp and sub_mac.cpp that run on an nRF52840 dongle), its
// simulated nodes on ot-rcp's UDP radio through sim/otsim: a node
// registers; 20 of 20 pings of 56 octets and 10 of 10 of 1200 answered
// from the LAN, replies one router away with hop limit 63; kill -9 of
// ot-rcp in the middle of the pings brings exactly one new child and the
// pings back; so does a SIGSTOP (found by the transmit-done timeout);
// SIGTERM stops the daemon without starting another child.
func TestEndToEndOpenThreadRCP(t *testing.T) {
	rcp := os.Getenv(EnvOTRCP)
	if rcp == "" {
		t.Skipf("set %s to OpenThread's simulation ot-rcp (README, \"Against the real implementations\") to run this test", EnvOTRCP)
	}
	requireE2EHost(t)
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-nodes", "2", "--metrics-listen", "",
		"--radio", fmt.Sprintf("spinel+hdlc+forkpty://%s?forkpty-arg=%d", rcp, otNodeID), "--sim-ot-node", strconv.Itoa(otNodeID))
	d.waitRegistered(t, "n1", "n2")
	n1 := nodeAddr(0).String()

	if got, hl := pingCount(t, n.lan, n1, 20, 56, "0.2"); got != 20 || hl != 63 {
		t.Errorf("56-octet pings: %d/20 answered, hop limit %d (want 20, 63)", got, hl)
	}
	if got, _ := pingCount(t, n.lan, n1, 10, 1200, "0.3"); got != 10 {
		t.Errorf("1200-octet pings: %d/10 answered", got)
	}

	// kill -9 while pinging.
	done := make(chan int, 1)
	go func() { got, _ := pingCount(t, n.lan, n1, 25, 56, "0.2"); done <- got }()
	time.Sleep(1500 * time.Millisecond)
	if err := syscall.Kill(currentChild(t, d), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got < 20 {
		t.Errorf("pings across kill -9 of ot-rcp: %d/25 answered", got)
	}
	if c := rcpChildren(d); c != 2 {
		t.Errorf("%d RCP children after kill -9, want 2", c)
	}

	// SIGSTOP: a hung RCP, found when a transmit-done does not come.
	stopped := currentChild(t, d)
	if err := syscall.Kill(stopped, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(stopped, syscall.SIGKILL) })
	deadline := time.Now().Add(30 * time.Second)
	for rcpChildren(d) < 3 && time.Now().Before(deadline) {
		pingCount(t, n.lan, n1, 1, 56, "0.2")
	}
	if got, _ := pingCount(t, n.lan, n1, 10, 56, "0.2"); got < 9 {
		t.Errorf("pings after the stopped RCP was replaced: %d/10 answered", got)
	}
	if c := rcpChildren(d); c != 3 {
		t.Errorf("%d RCP children after SIGSTOP, want 3", c)
	}
	d.stop(t, n)
	if c := rcpChildren(d); c != 3 {
		t.Errorf("%d RCP children after SIGTERM, want 3: stopping must not start one", c)
	}
}
