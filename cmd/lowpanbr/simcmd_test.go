package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// recordingAPI answers every request with answer (JSON) and records
// "METHOD PATH?QUERY".
type recordingAPI struct {
	sock   string
	mu     sync.Mutex
	got    []string
	answer any
}

func newRecordingAPI(t *testing.T, answer any) *recordingAPI {
	t.Helper()
	a := &recordingAPI{sock: filepath.Join(t.TempDir(), "api.sock"), answer: answer}
	ln, err := net.Listen("unix", a.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.got = append(a.got, r.Method+" "+r.URL.RequestURI())
		a.mu.Unlock()
		if strings.Contains(r.URL.Path, "/zz") {
			http.Error(w, `no such simulated node: sim: "zz": sim: no such node in the mesh`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(a.answer)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return a
}

func (a *recordingAPI) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) == 0 {
		return ""
	}
	return a.got[len(a.got)-1]
}

// Each command line sends its request, and prints one line.
func TestSimCommands(t *testing.T) {
	api := newRecordingAPI(t, map[string]string{"name": "n11"})
	for _, c := range []struct {
		args      []string
		req, text string
	}{
		{[]string{"link", "cut", "n1", "br"}, "POST /api/v1/sim/links/n1/br/cut", "link n1–br cut\n"},
		{[]string{"link", "restore", "n1", "br"}, "POST /api/v1/sim/links/n1/br/restore", "link n1–br restored\n"},
		{[]string{"link", "loss", "n1", "n2", "0.3"}, "POST /api/v1/sim/links/n1/n2/loss?p=0.3", "link n1–n2: loss 0.3\n"},
		{[]string{"loss", "0.1"}, "POST /api/v1/sim/loss?p=0.1", "every link: loss 0.1\n"},
		{[]string{"node", "add"}, "POST /api/v1/sim/nodes", "n11\n"},
		{[]string{"node", "add", "--near", "n3"}, "POST /api/v1/sim/nodes?near=n3", "n11\n"},
		{[]string{"--near=n3", "node", "add", "--json"}, "POST /api/v1/sim/nodes?near=n3", "{\n  \"name\": \"n11\"\n}\n"},
		{[]string{"node", "remove", "n4"}, "DELETE /api/v1/sim/nodes/n4", "removed n4\n"},
		{[]string{"node", "restart", "n4"}, "POST /api/v1/sim/nodes/n4/restart", "restarted n4: it solicits a router and registers again\n"},
		{[]string{"rcp", "reset"}, "POST /api/v1/sim/rcp/reset", "RCP reset: the daemon recovers it\n"},
	} {
		out, err := runCmd(t, runSim, append(c.args, "--api", api.sock)...)
		if err != nil {
			t.Errorf("sim %v: %v", c.args, err)
			continue
		}
		if got := api.last(); got != c.req {
			t.Errorf("sim %v sent %q, want %q", c.args, got, c.req)
		}
		if out != c.text {
			t.Errorf("sim %v printed %q, want %q", c.args, out, c.text)
		}
	}
	// The daemon's error, one line.
	_, err := runCmd(t, runSim, "node", "remove", "zz", "--api", api.sock)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("remove zz: %v", err)
	}
}

// Mistakes on the command line: one line, the closest word, no request.
func TestSimCommandErrors(t *testing.T) {
	api := newRecordingAPI(t, map[string]string{})
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "want a subcommand"},
		{[]string{"lnk"}, `unknown subcommand "lnk"; did you mean link?`},
		{[]string{"link", "cot", "a", "b"}, `did you mean cut?`},
		{[]string{"node", "reboot", "n1"}, `unknown sim node subcommand "reboot" (want add, remove, restart)`},
		{[]string{"link", "cut", "n1"}, "want 2 arguments, got 1"},
		{[]string{"link", "loss", "n1", "n2", "1.5"}, `loss "1.5": want a probability from 0 to 1`},
		{[]string{"loss", "NaN"}, "want a probability"},
		{[]string{"loss", "1.01"}, "want a probability"},
		{[]string{"node", "remove", "n1", "--near", "n2"}, "--near is for sim node add only"},
		{[]string{"topology", "--jsno"}, "unknown flag --jsno; did you mean --json?"},
		{[]string{"link"}, "want cut, restore, loss"},
	} {
		_, err := runCmd(t, runSim, append(c.args, "--api", api.sock)...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sim %v: %v, want a usage error with %q", c.args, err, c.want)
		}
		if line := usageLine("sim", err); strings.Count(line, "\n") != 0 {
			t.Errorf("sim %v: more than a line: %q", c.args, line)
		}
	}
	if got := api.last(); got != "" {
		t.Errorf("a mistaken command line was sent: %s", got)
	}
	var errb bytes.Buffer
	if err := runSim([]string{"-h"}, &bytes.Buffer{}, &errb); err == nil || !strings.Contains(errb.String(), "lowpanbr sim link cut A B") {
		t.Errorf("-h: %v\n%s", err, errb.String())
	}
}

// sim topology prints the graph's two tables, or the API's JSON.
func TestSimTopology(t *testing.T) {
	x, y := 1.0, 0.0
	topo := borderrouter.Topology{Simulated: true,
		Nodes: []borderrouter.TopoNode{{ID: "br", Kind: "6lbr", Status: "registered", Address: "2001:db8::1", X: &y, Y: &y},
			{ID: "n1", Kind: "6lr", Status: "registered", Parent: "br", Hops: 1, Address: "2001:db8::101", X: &x, Y: &y},
			{ID: "b1", Kind: "ble", Status: "pending"}},
		Links: []borderrouter.TopoLink{{A: "br", B: "n1", Kind: "802.15.4", RSSI: -85, LQI: 47, Loss: 0.1, Cut: true},
			{A: "br", B: "b1", Kind: "ble"}}}
	api := newRecordingAPI(t, topo)
	out, err := runCmd(t, runSim, "topology", "--api", api.sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"NODE  KIND  STATUS      PARENT  HOPS  ADDRESS        PLACE\n",
		"n1    6lr   registered  br      1     2001:db8::101  1.00,0.00\n",
		"b1    ble   pending     -       -     -              -\n",
		"br–n1  802.15.4  -85 dBm  47   0.1   cut\n",
		"br–b1  ble       -        -    0     up\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if api.last() != "GET /api/v1/topology" {
		t.Errorf("sent %s", api.last())
	}
	out, err = runCmd(t, runSim, "topology", "--json", "--api", api.sock)
	if err != nil {
		t.Fatal(err)
	}
	var got borderrouter.Topology
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Nodes) != 3 || !got.Links[0].Cut || *got.Nodes[1].X != 1 {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	checkKeys(t, "topology", decodeJSON(t, out))
}
