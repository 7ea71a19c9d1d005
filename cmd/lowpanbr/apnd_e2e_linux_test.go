//go:build linux

package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// `lowpanbr run` as an operator starts it, with --sim-intruder in each
// variant a 6LN mounts on its own (RFC 8928, issue 13): every intruder is
// refused, each victim keeps its address — registered to its own
// link-layer address — and answers ping from the LAN, and the refusals
// show in the metrics. Address-Protected ND is on by default (nd.apnd).
func TestEndToEndAPNDIntruders(t *testing.T) {
	requireE2EHost(t)
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-topology", "star", "--sim-nodes", "4",
		"--sim-intruder", "n1:rovr", "--sim-intruder", "n2:rovr-legacy", "--sim-intruder", "n3:lifetime0", "--sim-intruder", "n4:lifetime0-legacy")
	nodes := d.waitRegistered(t, "n1", "n2", "n3", "n4")

	want := map[string]string{
		"intruder-n1-rovr":             "validation failed",
		"intruder-n2-rovr-legacy":      "duplicate address",
		"intruder-n3-lifetime0":        "validation failed",
		"intruder-n4-lifetime0-legacy": "duplicate address",
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var all []borderrouter.SimNode
		if err := d.get(t, "/api/v1/sim/nodes", &all); err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, x := range all {
			w, ok := want[x.Name]
			switch {
			case !ok:
			case x.Registered:
				t.Fatalf("%s registered: %+v", x.Name, x)
			case x.Status == "pending":
				pending++ // not answered yet
			case x.Status != w:
				t.Fatalf("%s: status %q, want %q", x.Name, x.Status, w)
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("intruders not all answered: %+v", all)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var regs []borderrouter.Registration
	if err := d.get(t, "/api/v1/registrations", &regs); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"n1", "n2", "n3", "n4"} {
		found := false
		for _, r := range regs {
			if r.Address != nodeAddr(i).String() {
				continue
			}
			found = true
			// The intruders copy the ROVR: the link-layer address tells
			// whose registration it is. A Crypto-ID is 128 bits.
			if !strings.EqualFold(r.LinkAddr, nodes[name].EUI64) || len(r.ROVR) != 32 || !r.Protected {
				t.Errorf("%s's address registered as %+v, want under its Crypto-ID at %s", name, r, nodes[name].EUI64)
			}
		}
		if !found {
			t.Errorf("%s's address is not registered any more", name)
		}
		ping(t, n.lan, nodeAddr(i), 56)
	}
	var all []borderrouter.SimNode
	if err := d.get(t, "/api/v1/sim/nodes", &all); err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if victim := !strings.HasPrefix(x.Name, "intruder-"); x.Protected != victim {
			t.Errorf("%s: protected %v in /api/v1/sim/nodes, want %v", x.Name, x.Protected, victim)
		}
	}
	// lowpanbr nodes says which registrations are protected.
	out, err := exec.Command(daemonBinary(t), "nodes", "--api", d.api).CombinedOutput()
	if err != nil {
		t.Fatalf("lowpanbr nodes: %v\n%s", err, out)
	}
	for i := range 4 {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(nodeAddr(i).String()) + `\s+\S+\s+\d+\s+yes\s`).Match(out) {
			t.Errorf("lowpanbr nodes: n%d not shown protected:\n%s", i+1, out)
		}
	}
	if !strings.Contains(string(out), "4 registered, 4 protected") {
		t.Errorf("lowpanbr nodes: no count of the protected:\n%s", out)
	}
	m := scrape(t, n.br)
	if m[`lowpanbr_nd_registrations_protected`] != 4 || m[`lowpanbr_nd_apnd_proofs_total{result="proven"}`] < 4 ||
		m[`lowpanbr_nd_apnd_proofs_total{result="failed"}`] < 2 || m[`lowpanbr_nd_apnd_challenges_total`] < 6 {
		t.Errorf("AP-ND metrics: protected %v, proven %v, failed %v, challenges %v", m[`lowpanbr_nd_registrations_protected`],
			m[`lowpanbr_nd_apnd_proofs_total{result="proven"}`], m[`lowpanbr_nd_apnd_proofs_total{result="failed"}`], m[`lowpanbr_nd_apnd_challenges_total`])
	}
	if m[`lowpanbr_nd_registration_outcomes_total{status="validation_failed"}`] < 2 ||
		m[`lowpanbr_nd_registration_outcomes_total{status="duplicate"}`] < 2 ||
		m[`lowpanbr_nd_registration_outcomes_total{status="validation_requested"}`] < 6 {
		t.Errorf("outcomes: validation failed %v, duplicate %v, validation requested %v",
			m[`lowpanbr_nd_registration_outcomes_total{status="validation_failed"}`],
			m[`lowpanbr_nd_registration_outcomes_total{status="duplicate"}`],
			m[`lowpanbr_nd_registration_outcomes_total{status="validation_requested"}`])
	}
	d.stop(t, n)
}
