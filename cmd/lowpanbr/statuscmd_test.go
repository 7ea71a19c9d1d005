package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/borderrouter"
	"github.com/lowpanbr/lowpanbr/internal/jsontest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/router"
)

// fakeAPI serves canned answers in the API's shape (borderrouter's types,
// encoded as the daemon encodes them) on a Unix socket, and returns the
// socket's path.
func fakeAPI(t *testing.T, answers map[string]any) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if s, ok := v.(string); ok { // raw text: a broken daemon
			w.Write([]byte(s))
			return
		}
		json.NewEncoder(w).Encode(v)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return sock
}

func cannedStatus() borderrouter.Status {
	return borderrouter.Status{
		Version: "v1.2.3", UptimeSeconds: 3723,
		Radio: borderrouter.RadioStatus{URL: "spinel+hdlc+uart:///dev/ttyACM0", Ready: true, Firmware: "OPENTHREAD/1", EUI64: "02:00:00:00:00:00:00:01", Channel: 15, PANID: "0xabcd",
			Stats: rcp.Stats{TxNoAckRequested: 17}},
		Prefix: "2001:db8:1::/64", Address: "2001:db8:1::1", ABRO: 7, TUN: "lowpan0",
		Contexts:  []borderrouter.Context{{ID: 0, Prefix: "2001:db8:1::/64", Compress: true}},
		Registry:  nd.RegistryStats{Live: 3, Direct: 2, Via6LR: 1, Capacity: 100, Protected: 1},
		Forwarder: router.ForwarderStats{FromTUN: 11, ToTUN: 12, ToMesh: 13, MeshToMesh: 14, ICMPErrorsSent: 2},
		Link:      link.LowpanStats{FramesSent: 21, TxAcked: 20, TxNoAck: 1, FramesReceived: 30, HeaderBytesSaved: 999},
		Neighbors: []borderrouter.Neighbor{{Addr: "02:00:00:00:00:00:00:02", RSSI: -40, LQI: 200, Frames: 9, LastHeardSeconds: 1.5}},
		RPL:       &borderrouter.RPLStatus{Mode: "non-storing", Instance: 1, Version: 240, DODAGID: "2001:db8:1::1", DIOIntervalSeconds: 8.192, Targets: 2},
	}
}

func runCmd(t *testing.T, run func([]string, io.Writer, io.Writer) error, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(args, &out, &errb)
	return out.String(), err
}

// checkKeys fails on any object key, at any depth, that is not snake_case.
func checkKeys(t *testing.T, path string, v any) {
	t.Helper()
	for _, k := range jsontest.NotSnakeCase(v, path) {
		t.Errorf("key %s is not snake_case", k)
	}
}

// decodeJSON checks the output is indented JSON ending in a newline and
// decodes it.
func decodeJSON(t *testing.T, out string) any {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end in a newline: %q", out)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if strings.Count(out, "\n") < 2 && len(out) > 3 {
		t.Errorf("not indented:\n%s", out)
	}
	checkKeys(t, "", v)
	return v
}

func TestStatusJSON(t *testing.T) {
	sock := fakeAPI(t, map[string]any{"GET /api/v1/status": cannedStatus()})
	out, err := runCmd(t, runStatus, "--api", sock, "--json")
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, out).(map[string]any)
	var got struct {
		UptimeSeconds float64 `json:"uptime_seconds"`
		Radio         struct {
			PANID string `json:"pan_id"`
			Ready bool   `json:"ready"`
		} `json:"radio"`
		Registrations map[string]float64 `json:"registrations"`
		Counters      map[string]float64 `json:"counters"`
		Neighbors     []struct {
			RSSI      float64 `json:"rssi_dbm"`
			LastHeard float64 `json:"last_heard_seconds"`
		} `json:"neighbors"`
		RPL struct {
			DIO          float64 `json:"dio_interval_seconds"`
			DODAGVersion float64 `json:"dodag_version"`
		} `json:"rpl"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.UptimeSeconds != 3723 {
		t.Errorf("uptime_seconds = %v, want 3723 (1h2m3s)", got.UptimeSeconds)
	}
	if got.Radio.PANID != "0xabcd" || !got.Radio.Ready {
		t.Errorf("radio = %+v", got.Radio)
	}
	for k, want := range map[string]float64{"packets_from_linux": 11, "packets_to_linux": 12, "packets_into_mesh": 13,
		"packets_mesh_to_mesh": 14, "icmp_errors_sent": 2, "frames_sent": 21, "frames_acked": 20, "frames_not_acked": 1,
		"frames_received": 30, "header_bytes_saved": 999} {
		if got.Counters[k] != want {
			t.Errorf("counters.%s = %v, want %v", k, got.Counters[k], want)
		}
	}
	if got.Registrations["live"] != 3 || got.Registrations["via_6lr"] != 1 || got.Registrations["capacity"] != 100 {
		t.Errorf("registrations = %v", got.Registrations)
	}
	if len(got.Neighbors) != 1 || got.Neighbors[0].LastHeard != 1.5 || got.Neighbors[0].RSSI != -40 {
		t.Errorf("neighbors = %+v", got.Neighbors)
	}
	if got.RPL.DIO != 8.192 || got.RPL.DODAGVersion != 240 {
		t.Errorf("rpl = %+v", got.RPL)
	}
	if _, ok := v["forwarder"]; ok {
		t.Error("the API's forwarder (Go field names) leaked into the schema")
	}

	// RPL off: rpl is null, not absent, so scripts can test it.
	st := cannedStatus()
	st.RPL, st.Neighbors, st.Contexts = nil, nil, nil
	sock = fakeAPI(t, map[string]any{"GET /api/v1/status": st})
	out, err = runCmd(t, runStatus, "--json", "--api", sock)
	if err != nil {
		t.Fatal(err)
	}
	v = decodeJSON(t, out).(map[string]any)
	if r, ok := v["rpl"]; !ok || r != nil {
		t.Errorf("rpl off: rpl = %v (present %v), want null", r, ok)
	}
	if n, ok := v["neighbors"].([]any); !ok || len(n) != 0 {
		t.Errorf("no neighbours: neighbors = %v, want []", v["neighbors"])
	}
}

func TestStatusText(t *testing.T) {
	sock := fakeAPI(t, map[string]any{"GET /api/v1/status": cannedStatus()})
	out, err := runCmd(t, runStatus, "--api", sock)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Uptime:") || !strings.Contains(out, "1h2m3s") || strings.HasPrefix(out, "{") {
		t.Errorf("text status:\n%s", out)
	}
	// Counters labelled for what they count: broadcasts are the RCP's
	// frames sent without an ACK request, packets and frames say so.
	for _, re := range []string{`frames broadcast\s+17`, `frames sent, every try\s+21`, `packets into the mesh\s+13`, `packets mesh to mesh\s+14`,
		`DIO interval 8\.192s`, `1\.5s ago`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("text status: no %q:\n%s", re, out)
		}
	}
	if strings.Contains(out, "BLE controller") || strings.Contains(out, "Capture:") {
		t.Errorf("a BLE or capture line without BLE or capture:\n%s", out)
	}
	// With a capture: its file and mirror with their counters.
	st := cannedStatus()
	st.Capture = &borderrouter.CaptureStats{File: "/tmp/m.pcapng", ZEPMirror: "127.0.0.1:17754", Written: 40, Dropped: 2, ZEPSent: 38}
	sock = fakeAPI(t, map[string]any{"GET /api/v1/status": st})
	if out, err = runCmd(t, runStatus, "--api", sock); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Capture:\s+/tmp/m\.pcapng \(40 written, 2 dropped, 0 write errors\); ZEP to 127\.0\.0\.1:17754 \(38 sent, 0 errors\)`).MatchString(out) {
		t.Errorf("text status with a capture:\n%s", out)
	}
	// With BLE: the controller and its channels.
	st = cannedStatus()
	st.BLE = &borderrouter.BLEStatus{Channels: []borderrouter.BLEChannel{{Peer: "c0:11:22:33:44:55", Handle: 64, Central: true, Credits: 9, SDUsSent: 5, SDUsReceived: 6}}}
	sock = fakeAPI(t, map[string]any{"GET /api/v1/status": st})
	if out, err = runCmd(t, runStatus, "--api", sock); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1 IPSP channels open") || !regexp.MustCompile(`c0:11:22:33:44:55\s+64\s+central\s+9\s+0\s+5\s+6\s+0`).MatchString(out) {
		t.Errorf("text status with BLE:\n%s", out)
	}
}

func TestStatusJSONBadAPI(t *testing.T) {
	sock := fakeAPI(t, map[string]any{"GET /api/v1/status": `{"uptime_seconds": "soon"}`, "GET /api/v1/registrations": "[{"})
	if out, err := runCmd(t, runStatus, "--api", sock, "--json"); err == nil || !strings.Contains(err.Error(), "uptime_seconds") {
		t.Errorf("uptime_seconds \"soon\": err = %v, out %q", err, out)
	}
	if _, err := runCmd(t, runNodes, "--api", sock, "--json"); err == nil {
		t.Error("truncated registrations: no error")
	}
}

func TestNodesJSON(t *testing.T) {
	tid := uint8(9)
	sock := fakeAPI(t, map[string]any{"GET /api/v1/registrations": []borderrouter.Registration{
		{Address: "2001:db8:1::2", ROVR: "02000000000000020000000000000000", TID: &tid, LifetimeSeconds: 7200, ExpiresInSeconds: 7198, LinkAddr: "02:00:00:00:00:00:00:02", Protected: true},
		{Address: "2001:db8:1::3", ROVR: "02000000000000030000000000000000", LifetimeSeconds: 3600, ExpiresInSeconds: 10, Via: "2001:db8:1::2"},
	}})
	out, err := runCmd(t, runNodes, "--api", sock, "--json")
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, out).([]any)
	if len(v) != 2 {
		t.Fatalf("%d nodes, want 2:\n%s", len(v), out)
	}
	a, b := v[0].(map[string]any), v[1].(map[string]any)
	if a["lifetime_seconds"] != 7200.0 || a["expires_in_seconds"] != 7198.0 || a["tid"] != 9.0 || a["protected"] != true || a["via"] != "" {
		t.Errorf("node 0 = %v", a)
	}
	if b["tid"] != nil || b["via"] != "2001:db8:1::2" || b["link_addr"] != "" || b["expires_in_seconds"] != 10.0 {
		t.Errorf("node 1 = %v", b)
	}

	// None registered: [] (not null), so scripts can iterate.
	sock = fakeAPI(t, map[string]any{"GET /api/v1/registrations": []borderrouter.Registration{}})
	if out, err := runCmd(t, runNodes, "--api", sock, "--json"); err != nil || out != "[]\n" {
		t.Errorf("no nodes: %q, %v; want \"[]\\n\"", out, err)
	}
}

func TestRoutesJSON(t *testing.T) {
	sock := fakeAPI(t, map[string]any{"GET /api/v1/routes": []borderrouter.Route{
		{Destination: "2001:db8:1::5", Protocol: "rpl", Link: "wpan0", NextHop: "02:00:00:00:00:00:00:02", Via: "2001:db8:1::4", Hops: 3,
			Path: []string{"2001:db8:1::2", "2001:db8:1::4", "2001:db8:1::5"}, ExpiresInSeconds: new(int64(1799))},
		{Destination: "2001:db8:1::2", Protocol: "nd", Link: "wpan0", NextHop: "02:00:00:00:00:00:00:02", Hops: 1},
	}})
	out, err := runCmd(t, runRoutes, "--api", sock, "--json")
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, out).([]any)
	if len(v) != 2 {
		t.Fatalf("%d routes, want 2:\n%s", len(v), out)
	}
	a, b := v[0].(map[string]any), v[1].(map[string]any)
	if a["expires_in_seconds"] != 1799.0 || a["hops"] != 3.0 || len(a["path"].([]any)) != 3 || a["protocol"] != "rpl" {
		t.Errorf("route 0 = %v", a)
	}
	if e, ok := b["expires_in_seconds"]; !ok || e != nil {
		t.Errorf("nd route: expires_in_seconds = %v (present %v), want null", e, ok)
	}
	if p, ok := b["path"].([]any); !ok || len(p) != 0 {
		t.Errorf("nd route: path = %v, want []", b["path"])
	}
}

func TestRPLRepairJSON(t *testing.T) {
	sock := fakeAPI(t, map[string]any{"POST /api/v1/rpl/repair": map[string]any{"dodag_version": 241}})
	out, err := runCmd(t, runRPL, "repair", "--api", sock, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if v := decodeJSON(t, out).(map[string]any); v["dodag_version"] != 241.0 {
		t.Errorf("rpl repair --json = %s", out)
	}
	if out, err := runCmd(t, runRPL, "repair", "--api", sock); err != nil || !strings.Contains(out, "DODAG version 241") {
		t.Errorf("rpl repair: %q, %v", out, err)
	}
}

// The status commands find the socket as run does: --api, then
// $LOWPANBR_API_SOCKET, then the configuration file's api.socket, then
// the default.
func TestStatusAPISocketPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgSock := filepath.Join(dir, "from-config.sock")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("api:\n  socket: "+cfgSock+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noSocket := filepath.Join(dir, "nosocket.yaml")
	if err := os.WriteFile(noSocket, []byte("api:\n  socket: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == "LOWPANBR_API_SOCKET" && v != "" {
				return v, true
			}
			// Another key of the daemon's, bad: must not matter here.
			return "99", k == "LOWPANBR_RADIO_CHANNEL"
		}
	}
	for _, tc := range []struct {
		name, flag, env, config, want string
	}{
		{"flag first", "/f.sock", "/e.sock", cfg, "/f.sock"},
		{"then environment", "", "/e.sock", cfg, "/e.sock"},
		{"then the file", "", "", cfg, cfgSock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := apiSocket(tc.flag, tc.config, env(tc.env))
			if err != nil || got != tc.want {
				t.Errorf("apiSocket(%q, %q, env %q) = %q, %v; want %q", tc.flag, tc.config, tc.env, got, err, tc.want)
			}
		})
	}
	t.Run("then the default", func(t *testing.T) {
		if _, err := os.Stat(borderrouter.DefaultConfigPath); err == nil {
			t.Skipf("%s exists on this machine", borderrouter.DefaultConfigPath)
		}
		got, err := apiSocket("", "", env(""))
		if want := borderrouter.Defaults().API.Socket; err != nil || got != want {
			t.Errorf("apiSocket with nothing = %q, %v; want %q", got, err, want)
		}
	})
	t.Run("named file missing", func(t *testing.T) {
		if got, err := apiSocket("", filepath.Join(dir, "absent.yaml"), env("")); err == nil {
			t.Errorf("missing --config file: %q, no error", got)
		}
	})
	t.Run("API off in the file", func(t *testing.T) {
		if got, err := apiSocket("", noSocket, env("")); !errors.Is(err, errUsage) {
			t.Errorf("api.socket \"\": %q, %v; want a usage error", got, err)
		}
	})
}

// End to end through the flags: status --config FILE talks to the socket
// the file names.
func TestStatusAPISocketFromConfig(t *testing.T) {
	t.Setenv("LOWPANBR_API_SOCKET", "") // empty: not set, as run reads it
	sock := fakeAPI(t, map[string]any{"GET /api/v1/status": cannedStatus()})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("api:\n  socket: "+sock+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, runStatus, "--config", cfg, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if v := decodeJSON(t, out).(map[string]any); v["uptime_seconds"] != 3723.0 {
		t.Errorf("status via the config's socket: %s", out)
	}
}
