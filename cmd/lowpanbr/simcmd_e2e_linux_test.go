package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// The sim command against a running daemon, as an operator rehearses a
// failure: a 2 × 2 grid of RPL routers (n3, at the far corner, hears n1
// and n2 but not the border router). `sim topology --json` shows the
// graph; `sim link cut` on n3's link to its parent shows in the text
// topology (that n3 then switches parent is TestSimControlsAPI's);
// `sim node add/remove/restart` and a refused cut (out of range) answer
// as documented. RPL's lifetime unit comes from a configuration file
// (1 s: routes and parents time out in seconds, as a rehearsal wants).
func TestEndToEndSimControls(t *testing.T) {
	requireE2EHost(t)
	n := newE2ENet(t)
	conf := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(conf, []byte("rpl:\n  default_lifetime: 5\n  lifetime_unit: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startE2EDaemon(t, n, "--config", conf, "--prefix", e2ePrefix.String(), "--sim-topology", "grid", "--sim-rows", "2", "--sim-cols", "2")
	d.waitRegistered(t, "n1", "n2", "n3")
	topology := func() borderrouter.Topology {
		t.Helper()
		var topo borderrouter.Topology
		out := d.cli(t, "sim", "topology", "--json")
		if err := json.Unmarshal([]byte(out), &topo); err != nil {
			t.Fatalf("sim topology --json: %v\n%s", err, out)
		}
		return topo
	}
	node := func(topo borderrouter.Topology, id string) borderrouter.TopoNode {
		i := slices.IndexFunc(topo.Nodes, func(n borderrouter.TopoNode) bool { return n.ID == id })
		if i < 0 {
			return borderrouter.TopoNode{}
		}
		return topo.Nodes[i]
	}
	var topo borderrouter.Topology
	deadline := time.Now().Add(30 * time.Second)
	for {
		topo = topology()
		if n3 := node(topo, "n3"); n3.Parent != "" && n3.Hops == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n3 has no parent two hops from br: %+v", topo)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var links []string
	for _, l := range topo.Links {
		links = append(links, l.A+"-"+l.B)
	}
	slices.Sort(links)
	if want := []string{"br-n1", "br-n2", "n1-n3", "n2-n3"}; !topo.Simulated || !slices.Equal(links, want) || len(topo.Nodes) != 4 {
		t.Fatalf("topology: simulated %v, links %v (want %v), %d nodes", topo.Simulated, links, want, len(topo.Nodes))
	}
	checkKeys(t, "topology", decodeJSON(t, d.cli(t, "sim", "topology", "--json")))
	parent := node(topo, "n3").Parent
	other := map[string]string{"n1": "n2", "n2": "n1"}[parent]
	if other == "" {
		t.Fatalf("n3's parent %q", parent)
	}

	if out := d.cli(t, "sim", "link", "cut", "n3", parent); out != "link n3–"+parent+" cut\n" {
		t.Fatalf("sim link cut: %q", out)
	}
	if out := d.cli(t, "sim", "topology"); !strings.Contains(out, parent+"–n3  802.15.4") && !strings.Contains(out, "n3–"+parent) || !strings.Contains(out, "cut\n") {
		t.Errorf("sim topology shows no cut link:\n%s", out)
	}
	d.cli(t, "sim", "link", "restore", parent, "n3")

	// A link out of range cannot be cut: exit status 1, one line.
	out, err := exec.Command(daemonBinary(t), "sim", "link", "cut", "n1", "n2", "--api", d.api).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "not in range") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("cut n1–n2: %v\n%s", err, out)
	}

	added := strings.TrimSpace(d.cli(t, "sim", "node", "add", "--near", "n3"))
	if added != "n4" {
		t.Fatalf("sim node add: %q", added)
	}
	d.waitRegistered(t, "n4")
	if out := d.cli(t, "sim", "node", "remove", "n4"); out != "removed n4\n" {
		t.Errorf("sim node remove: %q", out)
	}
	if n4 := node(topology(), "n4"); n4.ID != "" {
		t.Errorf("n4 still there: %+v", n4)
	}
	d.cli(t, "sim", "node", "restart", "n1")
	d.waitRegistered(t, "n1", "n2", "n3")
	d.stop(t, n)
}
