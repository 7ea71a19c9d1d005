//go:build linux

package borderrouter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lowpanbr/lowpanbr/internal/jsontest"
	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/sim"
)

// enterNetns creates a network namespace for the test and moves the
// calling goroutine's OS thread into it for the rest of the test, so that
// the TUN, its addresses and routes (made by New on this thread) are
// made there. The thread is never unlocked: the runtime ends it with the
// test's goroutine instead of reusing it in the wrong namespace. The
// border router's other goroutines run on other threads, in the host's
// namespace, and only use file descriptors opened here.
func enterNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN for the TUN, CAP_SYS_ADMIN for a network namespace of its own); CI runs as root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no TUN support on this host: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	netnstest.Enter(t, netnstest.Add(t, ""))
}

// syncBuffer is a log sink the border router's goroutines and the test
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A border router built from a typed Config, in process, on the built-in
// simulator: a line of two nodes registers (n2 through the 6LR n1), the
// status methods and the status API agree on it, n2 reaches Linux through
// the TUN, a deregistration empties its entry, Reload applies what it can,
// and cancelling Run takes everything down.
func TestBorderRouterOnSimulator(t *testing.T) {
	netnstest.CheckGoroutines(t)
	enterNetns(t)
	dir := t.TempDir()
	cfg := Defaults()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.API.Socket = filepath.Join(dir, "api.sock")
	cfg.Metrics.Listen = ""
	cfg.TUN.Name = "lbrtest0"
	cfg.Mesh.Prefix = netip.MustParsePrefix("2001:db8:7::/64")
	cfg.Sim.Topology, cfg.Sim.Nodes = sim.Line, 2
	cfg.Sim.Routing = sim.RoutingND // n2 registered through the 6LR n1 by EDAR
	// The nodes ask for sim.lifetime (10 min) and are granted 2 min: they
	// refresh by the grant, directly and through the 6LR.
	cfg.Registry.MaxLifetime = 2 * time.Minute
	var logs syncBuffer
	level := new(slog.LevelVar)
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	}()

	br, err := New(cfg, WithLogger(log, level), WithVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	reach := br.Reach()
	wantReach := Reach{Address: netip.MustParseAddr("2001:db8:7::1"), TUN: "lbrtest0", Prefix: cfg.Mesh.Prefix, Channel: 15, PANID: 0xface,
		Simulated: true, Topology: sim.Line, Nodes: []SimAddr{{Name: "n1", Address: sim.Addr(cfg.Mesh.Prefix, 0)}, {Name: "n2", Address: sim.Addr(cfg.Mesh.Prefix, 1)}}}
	if diff := cmp.Diff(wantReach, reach, cmpConfig); diff != "" {
		t.Errorf("Reach (-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	netnstest.Go(t, func() { done <- br.Run(ctx) })

	// Both nodes register; n2 through n1.
	deadline := time.Now().Add(60 * time.Second)
	for {
		nodes := br.SimNodes()
		if len(nodes) == 2 && nodes[0].Registered && nodes[1].Registered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes not registered in time: %+v", nodes)
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := br.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("a second Run: %v", err)
	}
	routes := br.Routes()
	n1, n2 := reach.Nodes[0].Address.String(), reach.Nodes[1].Address.String()
	if len(routes) != 2 {
		t.Fatalf("routes: %+v", routes)
	}
	for _, r := range routes {
		switch r.Destination {
		case n1:
			if r.Hops != 1 || r.Via != "" || r.NextHop == "" || r.Link != "wpan0" || r.Protocol != "nd" {
				t.Errorf("n1's route: %+v", r)
			}
		case n2:
			if r.Hops != 2 || r.Via != n1 || r.NextHop == "" {
				t.Errorf("n2's route: %+v", r)
			}
		default:
			t.Errorf("route to %s", r.Destination)
		}
	}
	for _, r := range br.Registrations() {
		if r.LifetimeSeconds != 120 || r.Protected {
			t.Errorf("registration %+v: want granted 2m, unprotected (no Crypto-ID)", r)
		}
	}
	for _, n := range br.simMesh().Nodes() {
		if st := n.State(); st.Granted != 2*time.Minute || time.Until(st.Refresh) > time.Minute {
			t.Errorf("%s: granted %v, refreshes in %v: want 2m, within a minute", n.Name(), st.Granted, time.Until(st.Refresh))
		}
	}
	st := br.Status()
	if st.Version != "test" || st.Prefix != "2001:db8:7::/64" || st.Address != "2001:db8:7::1" || st.TUN != "lbrtest0" ||
		!st.Radio.Simulated || !st.Radio.Ready || st.Radio.EUI64 != "02:00:5e:10:00:00:00:01" || st.Registry.Live != 2 ||
		len(st.Contexts) != 1 || len(st.Neighbors) == 0 {
		t.Errorf("status: %+v", st)
	}
	// The default: a non-storing RPL root whose DIOs go out on trickle.
	if st.RPL == nil || st.RPL.Mode != "non-storing" || st.RPL.DODAGID != "2001:db8:7::1" || st.RPL.Version != 240 ||
		!st.RPL.RPI || st.RPL.Stats.Root.DIOsSent == 0 {
		t.Errorf("RPL status: %+v", st.RPL)
	}

	// The status API serves the same.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", cfg.API.Socket)
		}}}
	defer client.CloseIdleConnections()
	var apiRoutes []Route
	if err := getJSON(client, "/api/v1/routes", &apiRoutes); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(routes, apiRoutes); diff != "" {
		t.Errorf("API routes (-Routes +API):\n%s", diff)
	}
	// Every name on the wire is snake_case (TestStatusJSONNames checks
	// the types; this, what a running router serves).
	for _, path := range []string{"/api/v1/status", "/api/v1/registrations", "/api/v1/routes", "/api/v1/sim/nodes"} {
		var doc any
		if err := getJSON(client, path, &doc); err != nil {
			t.Fatal(err)
		}
		if p := jsontest.NotSnakeCase(doc, path); len(p) > 0 {
			t.Errorf("%s: keys not snake_case: %v", path, p)
		}
		if m, ok := doc.(map[string]any); ok {
			if _, ok := m["uptime_seconds"].(float64); !ok {
				t.Errorf("%s: uptime_seconds %#v, want a number", path, m["uptime_seconds"])
			}
		}
	}
	// Global repair over the API: a new DODAG version.
	if resp, err := client.Post("http://lowpanbr/api/v1/rpl/repair", "", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("POST rpl/repair: %v %v", err, resp)
	} else {
		resp.Body.Close()
		if v := br.Status().RPL.Version; v != 241 {
			t.Errorf("DODAG version after repair %d, want 241", v)
		}
	}

	// n2 reaches Linux: mesh → 6LR → forwarder → TUN → the namespace's
	// kernel, and back.
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	if _, err := br.Ping(pctx, "n2", reach.Address, 100); err != nil {
		t.Errorf("n2 pings the border router's address: %v", err)
	}
	pcancel()
	if _, err := br.Ping(ctx, "n9", reach.Address, 100); !errors.Is(err, ErrNoSuchNode) {
		t.Errorf("ping from n9: %v", err)
	}

	// Reload: the log level and the contexts apply; the channel needs a
	// restart; a bad Config changes nothing.
	next := br.config()
	next.Log.Level = slog.LevelDebug
	next.Radio.Channel = 20
	next.Mesh.Contexts = append(next.Mesh.Contexts, nd.ContextConfig{ID: 1, Prefix: netip.MustParsePrefix("2001:db8:8::/64")})
	rep, err := br.Reload(next)
	if err != nil || !cmp.Equal(rep, ReloadReport{Applied: []string{"mesh.contexts", "log.level"}, NeedRestart: []string{"radio.channel"}}) {
		t.Errorf("Reload: %+v, %v", rep, err)
	}
	if level.Level() != slog.LevelDebug || len(br.Status().Contexts) != 2 {
		t.Errorf("after Reload: level %v, contexts %+v", level.Level(), br.Status().Contexts)
	}
	next.TUN.MTU = 10
	var ce *ConfigError
	if _, err := br.Reload(next); !errors.As(err, &ce) || ce.Errors[0].Key != "tun.mtu" {
		t.Errorf("Reload of a bad Config: %v", err)
	}

	// n2 withdraws its registration.
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	if err := br.Deregister(dctx, "n2"); err != nil {
		t.Errorf("deregister n2: %v", err)
	}
	dcancel()
	for _, r := range br.Registrations() {
		if r.Address == n2 {
			t.Errorf("n2 still registered: %+v", r)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15 s of its context's end")
	}
	if err := br.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after the end: %v", err)
	}
	br.Close()
	// This thread is in the namespace.
	if _, err := net.InterfaceByName("lbrtest0"); err == nil {
		t.Error("the TUN survived Close")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Error("no stopped in the log")
	}
}

func getJSON(c *http.Client, path string, v any) error {
	resp, err := c.Get("http://lowpanbr" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
