package main

import (
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/borderrouter"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// End-to-end tests against implementations nobody on this project wrote.
// They need the programs built from their upstream sources (README,
// "Against the real implementations") and skip, naming the variable,
// without them.

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
// ot-rcp restarted as another node (another EUI-64) is followed and the
// nodes answer again within 10 s; SIGTERM stops the daemon without
// starting another child.
func TestEndToEndOpenThreadRCP(t *testing.T) {
	rcp := oracle.OTRCP(t)
	requireE2EHost(t)
	// The RCP runs behind a wrapper that reads its node id from a file,
	// so that the one that comes back after a fault can be another.
	dir := t.TempDir()
	idFile, wrapper := dir+"/node-id", dir+"/ot-rcp"
	if err := os.WriteFile(idFile, []byte(strconv.Itoa(otNodeID)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+rcp+" \"$(cat "+idFile+")\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-nodes", "2", "--metrics-listen", "",
		"--radio", "spinel+hdlc+forkpty://"+wrapper, "--sim-ot-node", strconv.Itoa(otNodeID))
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

	// ot-rcp comes back as another node (another EUI-64): the daemon
	// follows it, and the nodes answer again within 10 s.
	if err := os.WriteFile(idFile, []byte(strconv.Itoa(otNodeID+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(currentChild(t, d), syscall.SIGKILL)
	start := time.Now()
	for {
		if got, _ := pingCount(t, n.lan, n1, 1, 56, "0.2"); got == 1 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("n1 not answering 10 s after ot-rcp came back as node %d", otNodeID+1)
		}
	}
	t.Logf("ot-rcp back as node %d: n1 answered after %v", otNodeID+1, time.Since(start).Round(time.Millisecond))
	if !strings.Contains(d.stderr.String(), "18:b4:30:00:00:00:00:1e") {
		t.Error("the daemon did not report the new EUI-64 18:b4:30:00:00:00:00:1e")
	}
	d.stop(t, n)
	if c := rcpChildren(d); c != 4 {
		t.Errorf("%d RCP children after SIGTERM, want 4: stopping must not start one", c)
	}
}

// riotNode is a RIOT native process on the daemon's ZEP hub.
type riotNode struct {
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	out   syncBuffer
}

// A RIOT GNRC 6LN (native64, socket_zep) on the daemon's simulated medium
// through its ZEP hub: it registers with its RFC 6775 ARO; pings of 56
// and 1200 octets from the LAN are answered with hop limit 63 (one router,
// Linux, between); a UDP datagram from the LAN reaches its UDP server; and
// fewer than 5 % of the frames it sends are retransmissions the border
// router saw twice.
func TestEndToEndRIOT(t *testing.T) {
	elf := oracle.RIOT6LN(t)
	requireE2EHost(t)
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-nodes", "0", "--metrics-listen", "", "--sim-zep", "127.0.0.1:17754")
	time.Sleep(time.Second) // the hub is up once the daemon is

	r := startRIOT(t, n.br, elf, "6LN", 17755, 17754, "02:00:00:00:00:00:aa:01")

	// RFC 4944 §6: the IID is the EUI-64 with the U/L bit inverted.
	addr := "2001:db8:1::aa01"
	deadline := time.Now().Add(60 * time.Second)
	for {
		var regs []borderrouter.Registration
		if err := d.get(t, "/api/v1/registrations", &regs); err == nil {
			found := false
			for _, reg := range regs {
				found = found || reg.Address == addr
			}
			if found {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("RIOT's %s not registered within 60 s", addr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got, hl := pingCount(t, n.lan, addr, 20, 56, "0.2"); got < 19 || hl != 63 {
		t.Errorf("56-octet pings to RIOT: %d/20 answered, hop limit %d (want ≥ 19, 63)", got, hl)
	}
	if got, _ := pingCount(t, n.lan, addr, 10, 1200, "0.5"); got < 9 {
		t.Errorf("1200-octet pings to RIOT: %d/10 answered", got)
	}

	// UDP: RIOT's shell starts a server that prints what it receives.
	r.stdin.Write([]byte("udp server start 8888\n"))
	time.Sleep(300 * time.Millisecond)
	err := inNetns(t, n.lan, func() error {
		c, err := net.Dial("udp6", "["+addr+"]:8888")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("hello-from-the-lan"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	// gnrc_pktdump prints the payload with od_hex_dump: 16 octets a line,
	// each as "  XX", then the printable characters.
	for !strings.Contains(r.out.String(), "hello-from-the-l") && !strings.Contains(r.out.String(), "68  65  6C  6C  6F  2D") {
		if time.Now().After(deadline) {
			t.Fatal("the UDP datagram from the LAN did not reach RIOT's server")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The API's own type: a renamed field fails to compile here rather
	// than decoding as 0 and passing the check below on 0 of 0.
	var st borderrouter.Status
	if err := d.get(t, "/api/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	if st.Link.FramesReceived == 0 {
		t.Fatal("the status counts no frame received: the duplicate rate below would mean nothing")
	}
	rate := float64(st.Link.MACDuplicates) / float64(max(st.Link.FramesReceived, 1))
	t.Logf("frames from RIOT %d, received twice %d (%.1f %%)", st.Link.FramesReceived, st.Link.MACDuplicates, 100*rate)
	if rate >= 0.05 {
		t.Errorf("%.1f %% of RIOT's frames were retransmissions the border router saw twice, want < 5 %%", 100*rate)
	}
}
