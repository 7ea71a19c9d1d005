package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// post sends a POST to the daemon's API and fails the test on an error.
func (d *daemonProc) post(t *testing.T, path string) {
	t.Helper()
	resp, err := d.client.Post("http://lowpanbr"+path, "", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

type rcpStatusJSON struct {
	Radio struct {
		Ready bool   `json:"ready"`
		EUI64 string `json:"eui64"`
		Stats struct {
			Resets, Reconnects uint64
		} `json:"stats"`
	} `json:"radio"`
}

// pingWithin pings dst from ns until one is answered, for at most d.
func pingWithin(t *testing.T, ns, dst string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if got, _ := pingCount(t, ns, dst, 1, 56, "0.2"); got == 1 {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s not answering %v after the fault", dst, d)
		}
	}
}

// The RCP faults the driver recovers from, made by the simulated RCP
// behind its PTY while the daemon runs (the same recovery paths as
// OpenThread's ot-rcp: TestEndToEndOpenThreadRCP): a reset in the middle
// of traffic, a hang (as SIGSTOP), an unplug and replug, and a restart as
// another RCP with another EUI-64. After each, nodes answer pings from the
// LAN again; after the last, the daemon's status, the TUN's link-local
// address and the 6LBR's RAs (so the nodes' routers) carry the new EUI-64.
func TestEndToEndRCPFaults(t *testing.T) {
	requireE2EHost(t)
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-nodes", "3", "--metrics-listen", "")
	d.waitRegistered(t, "n1", "n2", "n3")
	n1 := nodeAddr(0).String()
	ping(t, n.lan, nodeAddr(0), 56)
	var st rcpStatusJSON
	status := func() rcpStatusJSON {
		var s rcpStatusJSON
		if err := d.get(t, "/api/v1/status", &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitUp := func(what string, reconnects uint64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for st = status(); !st.Radio.Ready || st.Radio.Stats.Reconnects < reconnects; st = status() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: RCP not back: %+v", what, st.Radio)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	d.post(t, "/api/v1/sim/rcp/reset")
	waitUp("reset", 1)
	t.Logf("reset: answered again after %v", pingWithin(t, n.lan, n1, 10*time.Second))

	d.post(t, "/api/v1/sim/rcp/stall?for=8s")
	pingCount(t, n.lan, n1, 1, 56, "0.2") // the transmission that finds the hang
	waitUp("stall", 2)
	t.Logf("stall: answered again after %v", pingWithin(t, n.lan, n1, 15*time.Second))

	d.post(t, "/api/v1/sim/rcp/unplug")
	time.Sleep(time.Second)
	d.post(t, "/api/v1/sim/rcp/replug")
	waitUp("unplug", 3)
	t.Logf("unplug/replug: answered again after %v", pingWithin(t, n.lan, n1, 10*time.Second))

	d.post(t, "/api/v1/sim/rcp/restart?eui64=0200005e100000ff")
	waitUp("restart", 4)
	if st.Radio.EUI64 != "02:00:00:5e:10:00:00:ff" {
		t.Errorf("status EUI-64 %q after the restart, want 02:00:00:5e:10:00:00:ff", st.Radio.EUI64)
	}
	took := pingWithin(t, n.lan, n1, 10*time.Second)
	t.Logf("restart as another RCP: n1 answered again after %v", took)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sh(t, "ip", "-n", n.br, "-6", "addr", "show", "dev", "lbr0"), "fe80::5e:1000:ff/64") {
		if time.Now().After(deadline) {
			t.Fatalf("the TUN's link-local address did not follow the EUI-64:\n%s", sh(t, "ip", "-n", n.br, "-6", "addr", "show", "dev", "lbr0"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The nodes drop the router's former address (its RA with router
	// lifetime 0) and solicit and register again: an RS lost to a
	// collision is sent again after RTR_SOLICITATION_INTERVAL (10 s).
	deadline = time.Now().Add(30 * time.Second)
	for {
		nodes := d.waitRegistered(t, "n1", "n2", "n3")
		moved := 0
		for _, name := range []string{"n1", "n2", "n3"} {
			if nodes[name].Parent == "02:00:00:5e:10:00:00:ff" {
				moved++
			}
		}
		if moved == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes' routers after the restart: %+v; want all at the RCP's new EUI-64 02:00:00:5e:10:00:00:ff", nodes)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := range 3 {
		ping(t, n.lan, nodeAddr(i), 56)
	}
}
