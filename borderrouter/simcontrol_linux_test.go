package borderrouter

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/sim"
)

// apiClient talks to a border router's status API on its Unix socket.
type apiTestClient struct {
	t *testing.T
	c *http.Client
}

func newAPITestClient(t *testing.T, socket string) *apiTestClient {
	return &apiTestClient{t: t, c: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}}}
}

// call sends method path and returns the status and body.
func (a *apiTestClient) call(method, path string) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, "http://lowpanbr"+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ok sends method path and fails unless it is answered 200.
func (a *apiTestClient) ok(method, path string) string {
	a.t.Helper()
	code, body := a.call(method, path)
	if code != http.StatusOK {
		a.t.Fatalf("%s %s: %d %s", method, path, code, body)
	}
	return body
}

func (a *apiTestClient) topology() Topology {
	a.t.Helper()
	var t Topology
	if err := json.Unmarshal([]byte(a.ok(http.MethodGet, "/api/v1/topology")), &t); err != nil {
		a.t.Fatal(err)
	}
	return t
}

func topoNode(t Topology, id string) (TopoNode, bool) {
	i := slices.IndexFunc(t.Nodes, func(n TopoNode) bool { return n.ID == id })
	if i < 0 {
		return TopoNode{}, false
	}
	return t.Nodes[i], true
}

func topoLink(t Topology, a, b string) (TopoLink, bool) {
	i := slices.IndexFunc(t.Links, func(l TopoLink) bool { return (l.A == a && l.B == b) || (l.A == b && l.B == a) })
	if i < 0 {
		return TopoLink{}, false
	}
	return t.Links[i], true
}

// waitUntil polls cond every 100 ms for d; when it gives up it reports
// the simulated nodes' state, the border router's routes and status,
// which say why.
func waitUntil(t *testing.T, br *BorderRouter, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			nodes, _ := json.Marshal(br.SimNodes())
			routes, _ := json.Marshal(br.Routes())
			st, _ := json.Marshal(br.Status())
			rpls := map[string]any{}
			for _, n := range br.simMesh().Nodes() {
				if r, ok := n.RPL(); ok {
					rpls[n.Name()] = r
				}
			}
			rs, _ := json.Marshal(rpls)
			t.Fatalf("%s: not within %v\nnodes: %s\nroutes: %s\nstatus: %s\nRPL routers: %s", what, d, nodes, routes, st, rs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The simulator's controls through the real API socket, on a 2 × 2 grid
// of RPL routers (br at 0,0; n3 at 1,1 hears n1 and n2 but not br) with
// one-second lifetime units, so that a parent gone silent is probed after
// 4 s (RIOT's _parent_timeout) and a DAO route lives 5 s, and DIOs at
// least every 8 s:
//   - the topology: kinds, places, parents, hops, the four links;
//   - cutting n3's link to its parent: n3 switches to the other and still
//     reaches the border router;
//   - cutting its last link: the root's route to n3 goes; restoring both
//     brings it back;
//   - add, remove, restart, loss, and the errors' statuses.
func TestSimControlsAPI(t *testing.T) {
	enterNetns(t)
	cfg := Defaults()
	dir := t.TempDir()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.API.Socket = filepath.Join(dir, "api.sock")
	cfg.Metrics.Listen = ""
	cfg.Web.Enabled = false
	cfg.TUN.Name = "lbrsimctl0"
	cfg.Mesh.Prefix = netip.MustParsePrefix("2001:db8:15::/64")
	cfg.Sim.Topology, cfg.Sim.Rows, cfg.Sim.Cols, cfg.Sim.Seed = sim.Grid, 2, 2, 3
	cfg.RPL.DefaultLifetime, cfg.RPL.LifetimeUnit = 5, 1
	// Imax 8 ms × 2^10 ≈ 8 s: cut off from both neighbours, n3 detaches
	// (non-storing: Contiki-NG's local repair poisons) and comes back on
	// n1's or n2's next trickle DIO, which Contiki-NG does not hasten
	// (rpl_process_dio only counts a poisoning DIO).
	cfg.RPL.DIOIntervalDoublings = 10
	br, logs, _ := runTestRouter(t, cfg)
	api := newAPITestClient(t, cfg.API.Socket)
	routed := func(name string) bool {
		for _, r := range br.Routes() {
			if r.Protocol == "rpl" && r.Destination == sim.Addr(cfg.Mesh.Prefix, int(name[1]-'1')).String() && r.Hops > 0 {
				return true
			}
		}
		return false
	}
	waitUntil(t, br, 30*time.Second, "every node routed", func() bool { return routed("n1") && routed("n2") && routed("n3") })

	// What a real radio's topology would show of the same mesh: the
	// addresses registered or routed by RPL, and the neighbours heard.
	real := Topology{Nodes: []TopoNode{{ID: "br"}}}
	br.realTopology(&real)
	for i := range 3 {
		addr := sim.Addr(cfg.Mesh.Prefix, i).String()
		if !slices.ContainsFunc(real.Nodes, func(n TopoNode) bool { return n.Address == addr && n.Hops == 1+i/2 }) {
			t.Errorf("real-radio topology: no node %s with a parent: %+v", addr, real.Nodes)
		}
	}
	if len(real.Links) < 2 {
		t.Errorf("real-radio topology: links %+v", real.Links)
	}

	topo := api.topology()
	if !topo.Simulated || len(topo.Nodes) != 4 || topo.Nodes[0].ID != "br" || len(topo.Links) != 4 {
		t.Fatalf("topology %+v", topo)
	}
	for _, c := range []struct {
		id   string
		x, y float64
	}{{"br", 0, 0}, {"n1", 1, 0}, {"n2", 0, 1}, {"n3", 1, 1}} {
		n, _ := topoNode(topo, c.id)
		if n.X == nil || n.Y == nil || *n.X != c.x || *n.Y != c.y {
			t.Errorf("%s placed at %v,%v, want %v,%v", c.id, n.X, n.Y, c.x, c.y)
		}
		if c.id != "br" && (n.Kind != "6lr" || n.Status != "registered") {
			t.Errorf("%s: %+v", c.id, n)
		}
	}
	n3, _ := topoNode(topo, "n3")
	parent, other := n3.Parent, map[string]string{"n1": "n2", "n2": "n1"}[n3.Parent]
	if other == "" || n3.Hops != 2 {
		t.Fatalf("n3: parent %q, %d hops", n3.Parent, n3.Hops)
	}
	if n1, _ := topoNode(topo, "n1"); n1.Parent != "br" || n1.Hops != 1 {
		t.Fatalf("n1: %+v", n1)
	}
	if _, ok := topoLink(topo, "br", "n3"); ok {
		t.Fatal("br–n3 listed: out of range")
	}

	// The errors.
	for _, c := range []struct {
		method, path string
		code         int
		text         string
	}{
		{"POST", "/api/v1/sim/links/n1/n2/cut", 400, "not in range"},
		{"POST", "/api/v1/sim/links/n1/zz/cut", 404, "zz"},
		{"POST", "/api/v1/sim/links/n1/br/loss?p=1.5", 400, "want ?p="},
		{"POST", "/api/v1/sim/links/n1/br/loss", 400, "want ?p="},
		{"POST", "/api/v1/sim/loss?p=x", 400, "want ?p="},
		{"DELETE", "/api/v1/sim/nodes/zz", 404, "zz"},
		{"POST", "/api/v1/sim/nodes/br/restart", 400, "border router"},
		{"POST", "/api/v1/sim/nodes?near=zz", 404, "zz"},
	} {
		if code, body := api.call(c.method, c.path); code != c.code || !strings.Contains(body, c.text) {
			t.Errorf("%s %s: %d %q, want %d and %q", c.method, c.path, code, body, c.code, c.text)
		}
	}

	// The mesh heals around a cut link.
	api.ok("POST", "/api/v1/sim/links/n3/"+parent+"/cut")
	if l, _ := topoLink(api.topology(), parent, "n3"); !l.Cut {
		t.Fatalf("cut link: %+v", l)
	}
	waitUntil(t, br, 20*time.Second, "n3 takes "+other+" for parent", func() bool {
		n, _ := topoNode(api.topology(), "n3")
		return n.Parent == other && n.Hops == 2
	})
	for try := 0; ; try++ {
		pctx, pcancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := br.Ping(pctx, "n3", br.global, 32)
		pcancel()
		if err == nil {
			break
		}
		// The echo reply needs the root's new route to n3, from the DAO
		// n3 sends after its switch: seconds on a loaded machine.
		if try == 10 {
			t.Fatalf("n3 does not reach the border router after the switch: %v", err)
		}
	}
	// Its last link: the route goes, and comes back with the links.
	api.ok("POST", "/api/v1/sim/links/"+other+"/n3/cut")
	waitUntil(t, br, 20*time.Second, "the route to n3 goes", func() bool { return !routed("n3") })
	api.ok("POST", "/api/v1/sim/links/n3/"+other+"/restore")
	api.ok("POST", "/api/v1/sim/links/n3/"+parent+"/restore")
	waitUntil(t, br, 20*time.Second, "the route to n3 comes back", func() bool { return routed("n3") })
	if !strings.Contains(logs.String(), `msg="simulator: link cut" a=n3 b=`+parent) {
		t.Error("no log record of the cut")
	}
	if !strings.Contains(logs.String(), `msg="rpl: parent changed" component=sim node=n3`) {
		t.Error("no log record of n3's parent change")
	}

	// Loss.
	api.ok("POST", "/api/v1/sim/links/br/n1/loss?p=0.25")
	if l, _ := topoLink(api.topology(), "br", "n1"); l.Loss != 0.25 {
		t.Fatalf("br–n1 after loss 0.25: %+v", l)
	}
	api.ok("POST", "/api/v1/sim/loss?p=0.02")
	for _, l := range api.topology().Links {
		if l.Loss != 0.02 || l.Cut {
			t.Fatalf("after loss 0.02 everywhere: %+v", l)
		}
	}

	// Add, remove, restart.
	var added struct{ Name string }
	if err := json.Unmarshal([]byte(api.ok("POST", "/api/v1/sim/nodes?near=n3")), &added); err != nil || added.Name != "n4" {
		t.Fatalf("added %q: %v", added.Name, err)
	}
	waitUntil(t, br, 20*time.Second, "n4 registers", func() bool {
		n, ok := topoNode(api.topology(), "n4")
		return ok && n.Status == "registered" && n.Parent != "" && n.Hops > 0
	})
	api.ok("DELETE", "/api/v1/sim/nodes/n4")
	if _, ok := topoNode(api.topology(), "n4"); ok {
		t.Fatal("n4 still in the topology")
	}
	for _, l := range api.topology().Links {
		if l.A == "n4" || l.B == "n4" {
			t.Fatalf("a link of n4 is left: %+v", l)
		}
	}
	// A restarted router joins by the first DIO it hears: the border
	// router's, or n3's (through n2) when the border router missed its
	// start-up DIS (2 % loss) and its trickle is at a long interval, as
	// RIOT's gnrc_rpl sends the one DIS at start (gnrc_rpl_init). Either
	// parent will do.
	api.ok("POST", "/api/v1/sim/nodes/n1/restart")
	waitUntil(t, br, 20*time.Second, "n1 registers again", func() bool {
		n, _ := topoNode(api.topology(), "n1")
		return n.Status == "registered" && n.Parent != "" && n.Hops > 0
	})
}
