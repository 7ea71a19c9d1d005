package deploy

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// family is one metric family the daemon exports (the list the metrics
// package is written against). kind is counter, gauge or histogram; labels
// are the family's own, without the instance and job labels Prometheus adds.
type family struct {
	name   string
	kind   string
	labels []string
}

// families lists every family the dashboard may use and must use. The
// lowpanbr_ ones are the daemon's (TestMetricsMatchDaemon compares them
// with what a running daemon serves); the go_ and process_ ones come from
// client_golang's Go and process collectors (only those the dashboard
// shows are listed).
var families = []family{
	// Radio / 802.15.4 link.
	{"lowpanbr_radio_frames_sent_total", "counter", []string{"link", "result"}},
	{"lowpanbr_radio_frames_received_total", "counter", []string{"link"}},
	{"lowpanbr_radio_tx_retries_total", "counter", []string{"link"}},
	{"lowpanbr_radio_bytes_sent_total", "counter", []string{"link"}},
	{"lowpanbr_radio_bytes_received_total", "counter", []string{"link"}},
	{"lowpanbr_radio_tx_queue_depth", "gauge", nil},
	{"lowpanbr_link_tx_queue_packets", "gauge", []string{"link"}},
	{"lowpanbr_link_tx_queue_drops_total", "counter", []string{"link", "reason"}},
	{"lowpanbr_radio_tx_latency_seconds", "histogram", nil},
	{"lowpanbr_radio_up", "gauge", nil},
	{"lowpanbr_rcp_resets_total", "counter", nil},
	{"lowpanbr_rcp_reconnects_total", "counter", nil},
	{"lowpanbr_rcp_timeouts_total", "counter", nil},
	{"lowpanbr_rcp_disconnects_total", "counter", nil},
	{"lowpanbr_rcp_probes_total", "counter", []string{"result"}},
	{"lowpanbr_rcp_tx_resent_total", "counter", nil},
	{"lowpanbr_spinel_errors_total", "counter", []string{"kind"}},
	{"lowpanbr_neighbor_rssi_dbm", "gauge", []string{"link", "neighbor"}},
	{"lowpanbr_neighbor_lqi", "gauge", []string{"link", "neighbor"}},
	{"lowpanbr_neighbors", "gauge", []string{"link"}},
	// 6LoWPAN.
	{"lowpanbr_lowpan_packets_sent_total", "counter", []string{"link"}},
	{"lowpanbr_lowpan_packets_received_total", "counter", []string{"link"}},
	{"lowpanbr_lowpan_header_bytes_saved_total", "counter", []string{"link"}},
	{"lowpanbr_lowpan_fragments_sent_total", "counter", []string{"link"}},
	{"lowpanbr_lowpan_fragments_received_total", "counter", []string{"link"}},
	{"lowpanbr_lowpan_reassemblies_total", "counter", []string{"link", "outcome"}},
	{"lowpanbr_lowpan_reassembly_memory_bytes", "gauge", []string{"link"}},
	{"lowpanbr_lowpan_mac_duplicates_total", "counter", []string{"link"}},
	{"lowpanbr_lowpan_decode_errors_total", "counter", []string{"link"}},
	{"lowpanbr_lowpan_reassembly_evicted_registered_total", "counter", []string{"link"}},
	// Forwarding / TUN.
	{"lowpanbr_tun_packets_total", "counter", []string{"direction"}},
	{"lowpanbr_forwarded_packets_total", "counter", []string{"path"}},
	{"lowpanbr_dropped_packets_total", "counter", nil},
	{"lowpanbr_no_route_packets_total", "counter", nil},
	{"lowpanbr_send_failures_total", "counter", nil},
	{"lowpanbr_icmpv6_errors_sent_total", "counter", []string{"type"}},
	{"lowpanbr_icmpv6_errors_rate_limited_total", "counter", nil},
	{"lowpanbr_forwarder_source_rejected_total", "counter", []string{"reason"}},
	// ND control path (admission before the 6LBR).
	{"lowpanbr_nd_control_admitted_total", "counter", []string{"class"}},
	{"lowpanbr_nd_control_dropped_total", "counter", []string{"reason"}},
	// 6LoWPAN-ND (6LBR).
	{"lowpanbr_nd_registrations", "gauge", []string{"path"}},
	{"lowpanbr_nd_registry_capacity", "gauge", nil},
	{"lowpanbr_nd_registration_outcomes_total", "counter", []string{"status"}},
	{"lowpanbr_nd_messages_received_total", "counter", []string{"type"}},
	{"lowpanbr_nd_ra_sent_total", "counter", nil},
	{"lowpanbr_nd_na_sent_total", "counter", nil},
	{"lowpanbr_nd_edac_sent_total", "counter", nil},
	{"lowpanbr_nd_abro_version", "gauge", nil},
	{"lowpanbr_nd_registrations_refused_total", "counter", []string{"reason"}},
	{"lowpanbr_nd_registrations_evicted_total", "counter", nil},
	{"lowpanbr_nd_registrations_tentative", "gauge", nil},
	{"lowpanbr_nd_registrations_protected", "gauge", nil},
	// Address-Protected ND (RFC 8928).
	{"lowpanbr_nd_apnd_challenges_total", "counter", nil},
	{"lowpanbr_nd_apnd_proofs_total", "counter", []string{"result"}},
	{"lowpanbr_nd_apnd_legacy_total", "counter", nil},
	{"lowpanbr_nd_apnd_refused_total", "counter", nil},
	{"lowpanbr_nd_apnd_challenges_dropped_total", "counter", []string{"reason"}},
	{"lowpanbr_nd_apnd_challenges_pending", "gauge", nil},
	// RPL root.
	{"lowpanbr_rpl_targets", "gauge", nil},
	{"lowpanbr_rpl_dodag_version", "gauge", nil},
	{"lowpanbr_rpl_messages_received_total", "counter", []string{"type"}},
	{"lowpanbr_rpl_messages_sent_total", "counter", []string{"type"}},
	{"lowpanbr_rpl_target_events_total", "counter", []string{"event"}},
	{"lowpanbr_rpl_dropped_total", "counter", []string{"reason"}},
	{"lowpanbr_rpl_data_packets_total", "counter", []string{"action"}},
	{"lowpanbr_rpl_data_errors_total", "counter", []string{"kind"}},
	{"lowpanbr_build_info", "gauge", []string{"version"}},
	// client_golang collectors.
	{"go_goroutines", "gauge", nil},
	{"go_memstats_heap_alloc_bytes", "gauge", nil},
	{"go_memstats_heap_inuse_bytes", "gauge", nil},
	{"process_cpu_seconds_total", "counter", nil},
	{"process_resident_memory_bytes", "gauge", nil},
	{"process_start_time_seconds", "gauge", nil},
}

// targetLabels are added by Prometheus to every series it scrapes.
var targetLabels = []string{"instance", "job"}

// configKeys are the configuration keys the files here may set.
var configKeys = []string{
	"radio.url", "radio.channel", "radio.pan_id", "mesh.prefix",
	"tun.name", "tun.forwarding", "metrics.listen", "api.socket",
	"state_dir", "log.format", "web.enabled",
}

func familyByName(name string) (family, bool) {
	for _, f := range families {
		if f.name == name {
			return f, true
		}
	}
	return family{}, false
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(readFile(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// The daemon, built once for the tests that run it.
var (
	daemonOnce sync.Once
	daemonPath string
	daemonErr  error
	daemonDir  string
)

// getEnv makes the test binary an HTTP client for TestMetricsMatchDaemon,
// which runs it inside the daemon's network namespace.
const getEnv = "LOWPANBR_DEPLOY_TEST_GET"

func TestMain(m *testing.M) {
	if url := os.Getenv(getEnv); url != "" {
		os.Exit(httpGet(url))
	}
	code := m.Run()
	if daemonDir != "" {
		os.RemoveAll(daemonDir)
	}
	os.Exit(code)
}

// daemon builds ./cmd/lowpanbr into a directory every user may read, so
// that it can also be run as nobody.
func daemon(t *testing.T) string {
	t.Helper()
	daemonOnce.Do(func() {
		daemonDir, daemonErr = os.MkdirTemp("", "lowpanbr-deploy-test-")
		if daemonErr != nil {
			return
		}
		if daemonErr = os.Chmod(daemonDir, 0o755); daemonErr != nil {
			return
		}
		daemonPath = filepath.Join(daemonDir, "lowpanbr")
		cmd := exec.Command("go", "build", "-o", daemonPath, "./cmd/lowpanbr")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			daemonErr = fmt.Errorf("go build ./cmd/lowpanbr: %v\n%s", err, out)
		}
	})
	if daemonErr != nil {
		t.Fatal(daemonErr)
	}
	return daemonPath
}

// httpGet prints the body of url once it answers 200, trying for 20 s.
func httpGet(url string) int {
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			os.Stdout.Write(body)
			return 0
		}
		last = fmt.Errorf("%s: %s %s", url, resp.Status, body)
	}
	fmt.Fprintln(os.Stderr, last)
	return 1
}

// ---- docker-compose.yml ------------------------------------------------

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	NetworkMode string            `yaml:"network_mode"`
	Devices     []string          `yaml:"devices"`
	CapAdd      []string          `yaml:"cap_add"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Command     []string          `yaml:"command"`
	Restart     string            `yaml:"restart"`
	Ports       []string          `yaml:"ports"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	readYAML(t, "docker-compose.yml", &c)
	return c
}

// interpolate resolves ${VAR:-default} the way Compose does with VAR unset.
func interpolate(s string) string {
	re := regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}`)
	return re.ReplaceAllStringFunc(s, func(m string) string {
		return re.FindStringSubmatch(m)[1]
	})
}

// mountTarget returns the container path a short-syntax volume maps src to.
func mountTarget(volumes []string, src string) (string, bool) {
	for _, v := range volumes {
		parts := strings.Split(interpolate(v), ":")
		if len(parts) >= 2 && parts[0] == src {
			return parts[1], true
		}
	}
	return "", false
}

func TestCompose(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"lowpanbr", "prometheus", "grafana"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("service %q missing", name)
		}
		// lowpanbr needs the host's network; the other two share it so that
		// they reach the daemon on loopback.
		if s.NetworkMode != "host" {
			t.Errorf("%s: network_mode %q, want host", name, s.NetworkMode)
		}
		if len(s.Ports) > 0 {
			t.Errorf("%s: ports %v mean nothing with network_mode host", name, s.Ports)
		}
		if s.Restart != "unless-stopped" {
			t.Errorf("%s: restart %q, want unless-stopped", name, s.Restart)
		}
		// Every relative bind mount must exist next to the compose file,
		// except the optional config file, which is commented out.
		for _, v := range s.Volumes {
			src := strings.Split(interpolate(v), ":")[0]
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("%s: bind mount source: %v", name, err)
				}
			} else if _, ok := c.Volumes[src]; !ok && !strings.HasPrefix(src, "/") {
				t.Errorf("%s: named volume %q not declared under volumes:", name, src)
			}
		}
	}

	br := c.Services["lowpanbr"]
	if br.Build.Context != ".." || br.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("lowpanbr build: context %q dockerfile %q, want .. and deploy/Dockerfile", br.Build.Context, br.Build.Dockerfile)
	}
	if _, err := os.Stat(filepath.Join(br.Build.Context, br.Build.Dockerfile)); err != nil {
		t.Error(err)
	}
	if !slices.Contains(br.CapAdd, "NET_ADMIN") {
		t.Errorf("lowpanbr cap_add %v lacks NET_ADMIN", br.CapAdd)
	}
	devices := map[string]string{} // container path -> host path
	for _, d := range br.Devices {
		parts := strings.Split(interpolate(d), ":")
		host, ctr := parts[0], parts[0]
		if len(parts) > 1 {
			ctr = parts[1]
		}
		devices[ctr] = host
	}
	if devices["/dev/net/tun"] != "/dev/net/tun" {
		t.Errorf("lowpanbr devices %v: /dev/net/tun not mapped", br.Devices)
	}
	// The radio URL must name the device the container is given.
	radio := br.Environment["LOWPANBR_RADIO_URL"]
	dev, err := radioDevice(radio)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := devices[dev]; !ok {
		t.Errorf("LOWPANBR_RADIO_URL uses %s, which is not in devices %v", dev, br.Devices)
	}
	if host := devices[dev]; host != "/dev/"+udevSymlink(t) {
		t.Errorf("default host device %s, want the udev rule's /dev/%s", host, udevSymlink(t))
	}
	// /proc/sys is read-only in a container: the daemon must not try.
	if got := br.Environment["LOWPANBR_TUN_FORWARDING"]; got != "false" {
		t.Errorf("LOWPANBR_TUN_FORWARDING = %q, want false", got)
	}
	for env := range br.Environment {
		if _, ok := envKey(env); !ok {
			t.Errorf("environment %s matches no configuration key in %v", env, configKeys)
		}
	}
	if _, ok := c.Volumes["lowpanbr-state"]; !ok {
		t.Error("no named volume for the state directory")
	}
	if got, ok := mountTarget(br.Volumes, "lowpanbr-state"); !ok || got != "/var/lib/lowpanbr" {
		t.Errorf("state volume mounted at %q, want /var/lib/lowpanbr", got)
	}

	// Prometheus scrapes what the daemon listens on, and Grafana's data
	// source points at Prometheus's listen address.
	var prom promConfig
	readYAML(t, "prometheus.yml", &prom)
	listen := br.Environment["LOWPANBR_METRICS_LISTEN"]
	if !slices.Contains(scrapeTargets(prom, "lowpanbr"), listen) {
		t.Errorf("LOWPANBR_METRICS_LISTEN %s is not a target of job lowpanbr in prometheus.yml", listen)
	}
	ps := c.Services["prometheus"]
	if got, ok := mountTarget(ps.Volumes, "./prometheus.yml"); !ok || got != "/etc/prometheus/prometheus.yml" {
		t.Errorf("prometheus.yml mounted at %q", got)
	}
	promListen := "0.0.0.0:9090"
	for _, a := range ps.Command {
		if v, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
			promListen = v
		}
	}
	var ds grafanaDatasources
	readYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 {
		t.Fatalf("%d Grafana data sources, want 1", len(ds.Datasources))
	}
	_, port, _ := net.SplitHostPort(promListen)
	if want := "http://127.0.0.1:" + port; ds.Datasources[0].URL != want {
		t.Errorf("Grafana data source URL %s, want %s (Prometheus --web.listen-address=%s)", ds.Datasources[0].URL, want, promListen)
	}

	gs := c.Services["grafana"]
	var dp grafanaDashboardProviders
	readYAML(t, "grafana/provisioning/dashboards/lowpanbr.yml", &dp)
	if len(dp.Providers) != 1 {
		t.Fatalf("%d dashboard providers, want 1", len(dp.Providers))
	}
	if got, _ := mountTarget(gs.Volumes, "./grafana/dashboards"); got != dp.Providers[0].Options.Path {
		t.Errorf("dashboards mounted at %q, provider reads %q", got, dp.Providers[0].Options.Path)
	}
	if got, _ := mountTarget(gs.Volumes, "./grafana/provisioning"); got != "/etc/grafana/provisioning" {
		t.Errorf("provisioning mounted at %q, want /etc/grafana/provisioning", got)
	}
	if home := gs.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		if filepath.Dir(home) != dp.Providers[0].Options.Path {
			t.Errorf("home dashboard %s is outside the provider's path %s", home, dp.Providers[0].Options.Path)
		} else if _, err := os.Stat(filepath.Join("grafana/dashboards", filepath.Base(home))); err != nil {
			t.Error(err)
		}
	}
}

// envKey maps LOWPANBR_RADIO_URL to radio.url, LOWPANBR_STATE_DIR to
// state_dir: the key whose dots become underscores.
func envKey(env string) (string, bool) {
	s, ok := strings.CutPrefix(env, "LOWPANBR_")
	if !ok {
		return "", false
	}
	for _, k := range configKeys {
		if strings.ToUpper(strings.ReplaceAll(k, ".", "_")) == s {
			return k, true
		}
	}
	return "", false
}

// radioDevice returns the serial device of a spinel+hdlc+uart URL.
func radioDevice(url string) (string, error) {
	rest, ok := strings.CutPrefix(url, "spinel+hdlc+uart://")
	if !ok {
		return "", fmt.Errorf("radio URL %q: want spinel+hdlc+uart://", url)
	}
	path, query, _ := strings.Cut(rest, "?")
	if !strings.HasPrefix(path, "/dev/") {
		return "", fmt.Errorf("radio URL %q: device %q not under /dev", url, path)
	}
	if query != "uart-baudrate=460800" {
		return "", fmt.Errorf("radio URL %q: want uart-baudrate=460800 (ot-rcp's default)", url)
	}
	return path, nil
}

// ---- prometheus.yml and Grafana provisioning ---------------------------

type promConfig struct {
	Global struct {
		ScrapeInterval string `yaml:"scrape_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func scrapeTargets(p promConfig, job string) []string {
	var out []string
	for _, sc := range p.ScrapeConfigs {
		if sc.JobName == job {
			for _, st := range sc.StaticConfigs {
				out = append(out, st.Targets...)
			}
		}
	}
	return out
}

type grafanaDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string `yaml:"name"`
		UID       string `yaml:"uid"`
		Type      string `yaml:"type"`
		URL       string `yaml:"url"`
		IsDefault bool   `yaml:"isDefault"`
	} `yaml:"datasources"`
}

type grafanaDashboardProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name    string `yaml:"name"`
		Type    string `yaml:"type"`
		Options struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

func TestPrometheusConfig(t *testing.T) {
	var p promConfig
	readYAML(t, "prometheus.yml", &p)
	if p.Global.ScrapeInterval != "15s" {
		t.Errorf("scrape_interval %q, want 15s", p.Global.ScrapeInterval)
	}
	targets := scrapeTargets(p, "lowpanbr")
	if len(targets) == 0 {
		t.Fatal("no scrape job lowpanbr")
	}
	for _, tg := range targets {
		if _, port, err := net.SplitHostPort(tg); err != nil || port != "9580" {
			t.Errorf("target %q: want port 9580", tg)
		}
	}
	if prom := lookTool("promtool", "LOWPANBR_PROMTOOL"); prom != "" {
		out, err := exec.Command(prom, "check", "config", "prometheus.yml").CombinedOutput()
		if err != nil {
			t.Errorf("promtool check config: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not found (PATH or LOWPANBR_PROMTOOL): prometheus.yml checked structurally only")
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	var ds grafanaDatasources
	readYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources: apiVersion %d, %d entries", ds.APIVersion, len(ds.Datasources))
	}
	d := ds.Datasources[0]
	if d.Type != "prometheus" || d.UID != "prometheus" || !d.IsDefault {
		t.Errorf("data source %+v: want type and uid prometheus, default", d)
	}
	var dp grafanaDashboardProviders
	readYAML(t, "grafana/provisioning/dashboards/lowpanbr.yml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
		t.Errorf("dashboard providers: %+v", dp)
	}
}

// lookTool finds a command in $env or on PATH; "" if neither has it.
func lookTool(name, env string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// ---- the Grafana dashboard ---------------------------------------------

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Current    struct {
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Datasource   *datasource `json:"datasource"`
		Expr         string      `json:"expr"`
		LegendFormat string      `json:"legendFormat"`
		RefID        string      `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(readFile(t, "grafana/dashboards/lowpanbr.json")))
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// expr is one PromQL expression of the dashboard and where it is.
type expr struct {
	where, text, legend string
	variable            bool // a template variable's label_values() query
}

func dashboardExprs(t *testing.T, d dashboard) []expr {
	t.Helper()
	var out []expr
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out = append(out, expr{fmt.Sprintf("panel %q (%s)", p.Title, tg.RefID), tg.Expr, tg.LegendFormat, false})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, expr{"variable $" + v.Name, v.Definition, "", true})
		}
	}
	return out
}

var (
	reString    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	reMetric    = regexp.MustCompile(`\b(?:lowpanbr|go|process)_[a-z0-9_]+\b`)
	reMatcher   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	reGrouping  = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	reVariable  = regexp.MustCompile(`\$(?:\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|([a-zA-Z_][a-zA-Z0-9_]*))`)
	reLegendVar = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	reRateCall  = regexp.MustCompile(`\b(?:rate|irate|increase)\(\s*$`)
)

// metricRef is one metric name in an expression: the family it belongs to,
// the labels of its selector, and whether rate/increase is applied to it.
type metricRef struct {
	name     string // as written, e.g. ..._bucket
	family   family
	known    bool
	matchers []string
	inRate   bool
}

// parseExpr finds the metric selectors of a PromQL expression. It is no
// PromQL parser: it knows selectors, label matchers, ranges, strings and
// by/without clauses, which is what the dashboard uses.
func parseExpr(s string) (refs []metricRef, grouping []string) {
	for _, m := range reGrouping.FindAllStringSubmatch(s, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				grouping = append(grouping, l)
			}
		}
	}
	for _, loc := range reMetric.FindAllStringIndex(s, -1) {
		// Names inside a string literal (label values) are not metrics.
		if strings.Count(s[:loc[0]], `"`)%2 == 1 {
			continue
		}
		name := s[loc[0]:loc[1]]
		r := metricRef{name: name}
		r.family, r.known = familyByName(name)
		if !r.known {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok {
					if f, ok := familyByName(base); ok && f.kind == "histogram" {
						r.family, r.known = f, true
					}
				}
			}
		}
		r.inRate = reRateCall.MatchString(s[:loc[0]])
		if rest := s[loc[1]:]; strings.HasPrefix(rest, "{") {
			if end := strings.Index(rest, "}"); end > 0 {
				sel := reString.ReplaceAllString(rest[1:end], `""`)
				for _, m := range reMatcher.FindAllStringSubmatch(sel, -1) {
					r.matchers = append(r.matchers, m[1])
				}
			}
		}
		refs = append(refs, r)
	}
	return refs, grouping
}

// balanced reports whether (), [] and {} nest properly outside strings.
func balanced(s string) bool {
	s = reString.ReplaceAllString(s, `""`)
	var stack []rune
	pair := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, c := range s {
		switch c {
		case '(', '[', '{':
			stack = append(stack, c)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pair[c] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0
}

func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "lowpanbr" {
		t.Errorf("uid %q, want lowpanbr", d.UID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want 36 or later (Grafana 9+)", d.SchemaVersion)
	}

	vars := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type == "datasource" {
			var ds grafanaDatasources
			readYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds)
			if v.Current.Value != ds.Datasources[0].UID {
				t.Errorf("variable $%s defaults to %v, want the provisioned data source %q", v.Name, v.Current.Value, ds.Datasources[0].UID)
			}
		}
	}

	t.Run("layout", func(t *testing.T) {
		ids := map[int]string{}
		type rect struct {
			title      string
			x, y, w, h int
		}
		var rects []rect
		for _, p := range d.Panels {
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
			}
			ids[p.ID] = p.Title
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
			}
			for _, r := range rects {
				if g.X < r.x+r.w && r.x < g.X+g.W && g.Y < r.y+r.h && r.y < g.Y+g.H {
					t.Errorf("panels %q and %q overlap", r.title, p.Title)
				}
			}
			rects = append(rects, rect{p.Title, g.X, g.Y, g.W, g.H})
			if p.Type == "row" {
				continue
			}
			if p.Title == "" || len(p.Targets) == 0 {
				t.Errorf("panel %d %q: no title or no queries", p.ID, p.Title)
			}
			for _, ds := range append([]*datasource{p.Datasource}, func() (l []*datasource) {
				for _, tg := range p.Targets {
					l = append(l, tg.Datasource)
				}
				return l
			}()...) {
				if ds == nil || ds.Type != "prometheus" || !(ds.UID == "${datasource}" || ds.UID == "prometheus") {
					t.Errorf("panel %q: data source %+v, want the $datasource variable", p.Title, ds)
				}
			}
		}
	})

	used := map[string]bool{}
	for _, e := range dashboardExprs(t, d) {
		if strings.TrimSpace(e.text) == "" {
			t.Errorf("%s: empty query", e.where)
			continue
		}
		if !balanced(e.text) {
			t.Errorf("%s: unbalanced brackets in %s", e.where, e.text)
		}
		for _, m := range reVariable.FindAllStringSubmatch(e.text, -1) {
			if name := m[1] + m[2]; !vars[name] {
				t.Errorf("%s: undefined variable $%s", e.where, name)
			}
		}
		refs, grouping := parseExpr(e.text)
		if len(refs) == 0 {
			t.Errorf("%s: no metric in %s", e.where, e.text)
		}
		labels := slices.Clone(targetLabels)
		for _, r := range refs {
			if !r.known {
				t.Errorf("%s: %s is not a lowpanbr metric family", e.where, r.name)
				continue
			}
			used[r.family.name] = true
			labels = append(labels, r.family.labels...)
			switch {
			case e.variable:
				// label_values(series, label) reads labels, whatever the kind.
			case r.family.kind == "counter" && !r.inRate:
				t.Errorf("%s: counter %s without rate() or increase()", e.where, r.name)
			case r.family.kind == "gauge" && r.inRate:
				t.Errorf("%s: rate() of gauge %s", e.where, r.name)
			case r.family.kind == "histogram":
				labels = append(labels, "le")
				if !r.inRate {
					t.Errorf("%s: histogram %s without rate()", e.where, r.name)
				}
				if strings.HasSuffix(r.name, "_bucket") && !slices.Contains(grouping, "le") {
					t.Errorf("%s: %s aggregated without le", e.where, r.name)
				}
			}
			for _, l := range r.matchers {
				if !slices.Contains(r.family.labels, l) && !slices.Contains(targetLabels, l) {
					t.Errorf("%s: %s has no label %q (labels: %v)", e.where, r.family.name, l, r.family.labels)
				}
			}
		}
		for _, l := range grouping {
			if !slices.Contains(labels, l) {
				t.Errorf("%s: grouping by %q, which none of its metrics has", e.where, l)
			}
		}
		// A legend can only name labels that survive the aggregation.
		for _, m := range reLegendVar.FindAllStringSubmatch(e.legend, -1) {
			ok := slices.Contains(labels, m[1])
			if strings.Contains(e.text, "by (") || strings.Contains(e.text, "by(") {
				ok = slices.Contains(grouping, m[1])
			}
			if !ok {
				t.Errorf("%s: legend {{%s}} is not a label of the result", e.where, m[1])
			}
		}
	}
	for _, f := range families {
		if !used[f.name] {
			t.Errorf("metric family %s is on no panel", f.name)
		}
	}

	// promtool parses every expression when it is there.
	prom := lookTool("promtool", "LOWPANBR_PROMTOOL")
	if prom == "" {
		t.Log("promtool not found (PATH or LOWPANBR_PROMTOOL): PromQL checked by this test's own scanner only")
		return
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	subst := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$__range", "1h",
		"${datasource}", "prometheus", "$instance", ".*", "$link", ".*")
	n := 0
	for _, e := range dashboardExprs(t, d) {
		q := subst.Replace(e.text)
		if strings.HasPrefix(q, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		n++
		fmt.Fprintf(&rules, "      - record: dashboard:expr%d\n        expr: %s\n", n, strconv.Quote(q))
	}
	f := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(prom, "check", "rules", f).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules on the dashboard's %d expressions: %v\n%s", n, err, out)
	}
}

// ---- config.example.yaml -----------------------------------------------

// flatten turns nested YAML maps into dotted keys.
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, sub := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		flatten(key, sub, out)
	}
}

func TestConfigExample(t *testing.T) {
	var raw map[string]any
	readYAML(t, "config.example.yaml", &raw)
	cfg := map[string]any{}
	flatten("", raw, cfg)
	var keys []string
	for k := range cfg {
		keys = append(keys, k)
		if !slices.Contains(configKeys, k) {
			t.Errorf("unknown key %s", k)
		}
	}
	sort.Strings(keys)
	for _, k := range configKeys {
		if _, ok := cfg[k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}

	str := func(k string) string {
		s, ok := cfg[k].(string)
		if !ok {
			t.Errorf("%s: %v is not a string", k, cfg[k])
		}
		return s
	}
	dev, err := radioDevice(str("radio.url"))
	if err != nil {
		t.Error(err)
	} else if dev != "/dev/"+udevSymlink(t) {
		t.Errorf("radio.url uses %s, want the udev rule's /dev/%s", dev, udevSymlink(t))
	}
	if ch, ok := cfg["radio.channel"].(int); !ok || ch < 11 || ch > 26 {
		t.Errorf("radio.channel %v: want 11..26 (O-QPSK 2.4 GHz)", cfg["radio.channel"])
	}
	switch pan := cfg["radio.pan_id"].(type) {
	case int: // YAML reads 0xface as an integer
		if pan < 0 || pan >= 0xffff {
			t.Errorf("radio.pan_id %#x: want 0x0000..0xfffe", pan)
		}
	case string:
		if v, err := strconv.ParseUint(pan, 0, 16); err != nil || v == 0xffff {
			t.Errorf("radio.pan_id %q: want 0x0000..0xfffe", pan)
		}
	default:
		t.Errorf("radio.pan_id %v: want a number", pan)
	}
	if p, err := netip.ParsePrefix(str("mesh.prefix")); err != nil || p.Bits() != 64 || !p.Addr().Is6() || p != p.Masked() {
		t.Errorf("mesh.prefix %v: want an IPv6 /64", cfg["mesh.prefix"])
	}
	if fw, ok := cfg["tun.forwarding"].(bool); !ok || !fw {
		t.Errorf("tun.forwarding %v: want true (a border router forwards)", cfg["tun.forwarding"])
	}
	if _, _, err := net.SplitHostPort(str("metrics.listen")); err != nil {
		t.Errorf("metrics.listen: %v", err)
	}
	if str("api.socket") != "/run/lowpanbr/api.sock" || str("state_dir") != "/var/lib/lowpanbr" {
		t.Errorf("api.socket %v, state_dir %v: want the directories lowpanbr.service creates", cfg["api.socket"], cfg["state_dir"])
	}
	if f := str("log.format"); f != "json" && f != "text" {
		t.Errorf("log.format %q", f)
	}

	// Once the configuration loader is in, its own list of keys is the
	// authority: every key used here, in the compose file's environment
	// and in the unit's command line must be one of them.
	bin := daemon(t)
	out, err := exec.Command(bin, "config", "example").CombinedOutput()
	if err != nil && bytes.Contains(out, []byte(`unknown command "config"`)) {
		t.Logf("lowpanbr has no `config example` yet; keys checked against this test's list only: %v", keys)
		return
	}
	if err != nil {
		t.Fatalf("lowpanbr config example: %v\n%s", err, out)
	}
	var example map[string]any
	if err := yaml.Unmarshal(out, &example); err != nil {
		t.Fatalf("lowpanbr config example is not YAML: %v\n%s", err, out)
	}
	known := map[string]any{}
	flatten("", example, known)
	for _, k := range configKeys {
		if _, ok := known[k]; !ok {
			t.Errorf("key %s is not in `lowpanbr config example`", k)
		}
	}
	help, _ := exec.Command(bin, "run", "-h").CombinedOutput()
	if !bytes.Contains(help, []byte("-config")) {
		t.Errorf("`lowpanbr run -h` lists no -config flag; lowpanbr.service passes --config\n%s", help)
	}

	// The loader's own check, on the file, and on the file with the compose
	// file's environment on top.
	check := exec.Command(bin, "config", "check", "--config", "config.example.yaml")
	check.Env = cleanEnv()
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("lowpanbr config check --config config.example.yaml: %v\n%s", err, out)
	}
	check = exec.Command(bin, "config", "check", "--config", "config.example.yaml")
	var composeEnv []string
	for k, v := range loadCompose(t).Services["lowpanbr"].Environment {
		composeEnv = append(composeEnv, k+"="+interpolate(v))
	}
	check.Env = append(cleanEnv(), composeEnv...)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("lowpanbr config check with docker-compose.yml's environment %v: %v\n%s", composeEnv, err, out)
	}
}

// cleanEnv is the test's environment without LOWPANBR_ variables, which the
// configuration loader would read.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LOWPANBR_") {
			env = append(env, e)
		}
	}
	return env
}

// ---- Dockerfile --------------------------------------------------------

type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// parseDockerfile joins continuation lines and drops comments; it knows
// the default escape character only.
func parseDockerfile(t *testing.T, b []byte) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{start, strings.ToUpper(cmd), strings.TrimSpace(args)})
		if cmd != strings.ToUpper(cmd) {
			t.Errorf("Dockerfile:%d: instruction %q not upper case", start, cmd)
		}
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Errorf("Dockerfile: ends inside a continued line")
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, readFile(t, "Dockerfile"))
	known := []string{"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
		"VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
	var froms []instruction
	has := map[string][]instruction{}
	for _, in := range ins {
		if !slices.Contains(known, in.cmd) {
			t.Errorf("Dockerfile:%d: unknown instruction %s", in.line, in.cmd)
		}
		if in.cmd == "FROM" {
			froms = append(froms, in)
		}
		has[in.cmd] = append(has[in.cmd], in)
		if in.cmd == "ADD" && regexp.MustCompile(`(?i)\bhttps?://|\bgit@`).MatchString(in.args) {
			t.Errorf("Dockerfile:%d: ADD of a URL (unpinned, uncached download): use a build stage", in.line)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d FROM lines: want a build stage and a final stage", len(froms))
	}
	if !regexp.MustCompile(`(?i)^(--platform=\S+\s+)?golang:\S+\s+AS\s+build$`).MatchString(froms[0].args) {
		t.Errorf("first stage %q: want FROM golang:... AS build", froms[0].args)
	}
	if !strings.Contains(froms[0].args, "--platform=$BUILDPLATFORM") {
		t.Errorf("build stage should run on $BUILDPLATFORM and cross-compile")
	}
	final := froms[len(froms)-1]
	if strings.Contains(strings.ToLower(final.args), " as build") || strings.HasPrefix(final.args, "golang") {
		t.Errorf("final stage %q is the build stage", final.args)
	}
	if !strings.HasPrefix(final.args, "gcr.io/distroless/static") || strings.Contains(final.args, "nonroot") {
		t.Errorf("final stage %q: want distroless static running as root (CAP_NET_ADMIN)", final.args)
	}
	if len(has["USER"]) > 0 {
		t.Errorf("USER set: a non-root user gets no capabilities from --cap-add")
	}

	// ENTRYPOINT and CMD in exec form: a JSON array, no shell in distroless.
	for _, want := range []struct {
		cmd  string
		args []string
	}{
		{"ENTRYPOINT", []string{"/usr/local/bin/lowpanbr"}},
		{"CMD", []string{"run"}},
	} {
		l := has[want.cmd]
		if len(l) != 1 {
			t.Errorf("%d %s instructions, want 1", len(l), want.cmd)
			continue
		}
		var got []string
		if err := json.Unmarshal([]byte(l[0].args), &got); err != nil {
			t.Errorf("Dockerfile:%d: %s %s is not in exec form: %v", l[0].line, want.cmd, l[0].args, err)
		} else if !slices.Equal(got, want.args) {
			t.Errorf("%s %q, want %q", want.cmd, got, want.args)
		}
	}
	if len(has["HEALTHCHECK"]) > 0 {
		t.Errorf("HEALTHCHECK needs a program to run; distroless has none")
	}

	// Layer caching: go.mod/go.sum and the download before the source.
	idx := func(cmd, substr string) int {
		for i, in := range ins {
			if in.cmd == cmd && strings.Contains(in.args, substr) {
				return i
			}
		}
		return -1
	}
	mod, dl, src, build := idx("COPY", "go.mod go.sum"), idx("RUN", "go mod download"), idx("COPY", ". ."), idx("RUN", "go build")
	if mod < 0 || dl < 0 || src < 0 || build < 0 || !(mod < dl && dl < src && src < build) {
		t.Errorf("want COPY go.mod go.sum, RUN go mod download, COPY . ., RUN go build in that order (got indices %d %d %d %d)", mod, dl, src, build)
	}
	if build >= 0 {
		run := ins[build].args
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`, "./cmd/lowpanbr", "TARGETOS", "TARGETARCH", "GOARM"} {
			if !strings.Contains(run, want) {
				t.Errorf("go build RUN lacks %s", want)
			}
		}
	}
	for _, arg := range []string{"TARGETOS", "TARGETARCH", "TARGETVARIANT", "VERSION"} {
		if idx("ARG", arg) < 0 {
			t.Errorf("no ARG %s", arg)
		}
	}
	if idx("COPY", "--from=build /out/lowpanbr /usr/local/bin/lowpanbr") < 0 {
		t.Error("final stage does not copy the binary from the build stage")
	}
	if idx("EXPOSE", "9580") < 0 || idx("VOLUME", "/var/lib/lowpanbr") < 0 || idx("ENV", "LOWPANBR_METRICS_LISTEN=0.0.0.0:9580") < 0 {
		t.Error("want EXPOSE 9580, VOLUME /var/lib/lowpanbr and ENV LOWPANBR_METRICS_LISTEN=0.0.0.0:9580")
	}

	// -X main.version must name a variable that exists.
	if !regexp.MustCompile(`(?m)^var version = `).Match(readFile(t, "../cmd/lowpanbr/main.go")) {
		t.Error("cmd/lowpanbr/main.go has no `var version`: -X main.version sets nothing")
	}
}

// TestDockerfileBuild runs the Dockerfile's go build step as BuildKit would
// for each target platform, and inspects the binaries.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles three binaries")
	}
	var script string
	for _, in := range parseDockerfile(t, readFile(t, "Dockerfile")) {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			script = in.args
		}
	}
	if !strings.Contains(script, "/out/lowpanbr") {
		t.Fatalf("go build step %q does not write /out/lowpanbr", script)
	}
	hostArch := runtime.GOARCH
	for _, tc := range []struct {
		platform            string
		os, arch, variant   string // as BuildKit sets TARGETOS, TARGETARCH, TARGETVARIANT
		wantArch, wantGOARM string
		wantMachine         elf.Machine
		runnable            bool
		wantClass           elf.Class
	}{
		{"linux/amd64", "linux", "amd64", "", "amd64", "", elf.EM_X86_64, hostArch == "amd64", elf.ELFCLASS64},
		{"linux/arm64", "linux", "arm64", "", "arm64", "", elf.EM_AARCH64, hostArch == "arm64", elf.ELFCLASS64},
		{"linux/arm/v7", "linux", "arm", "v7", "arm", "7", elf.EM_ARM, false, elf.ELFCLASS32},
		// The classic builder leaves TARGET* empty: build for the builder.
		{"no BuildKit", "", "", "", hostArch, "", 0, true, 0},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "lowpanbr")
			cmd := exec.Command("sh", "-c", strings.ReplaceAll(script, "/out/lowpanbr", out))
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "TARGETOS="+tc.os, "TARGETARCH="+tc.arch, "TARGETVARIANT="+tc.variant, "VERSION=deploy-test")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			bi, err := buildinfo.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]string{}
			for _, s := range bi.Settings {
				settings[s.Key] = s.Value
			}
			for k, want := range map[string]string{"GOOS": "linux", "GOARCH": tc.wantArch, "CGO_ENABLED": "0", "-trimpath": "true"} {
				if settings[k] != want {
					t.Errorf("build setting %s=%q, want %q", k, settings[k], want)
				}
			}
			if tc.wantGOARM != "" && settings["GOARM"] != tc.wantGOARM {
				t.Errorf("GOARM=%q, want %q", settings["GOARM"], tc.wantGOARM)
			}
			// With -trimpath the go command does not record -ldflags, so look
			// at their effects: the version string, and no symbols or DWARF.
			if bin := readFile(t, out); !bytes.Contains(bin, []byte("deploy-test")) {
				t.Error("-X main.version=deploy-test: string not in the binary")
			}
			f, err := elf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, s := range f.Sections {
				if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") {
					t.Errorf("section %s present: not built with -s -w", s.Name)
				}
			}
			if tc.wantMachine != 0 && (f.Machine != tc.wantMachine || f.Class != tc.wantClass) {
				t.Errorf("ELF %v %v, want %v %v", f.Class, f.Machine, tc.wantClass, tc.wantMachine)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("dynamically linked (PT_INTERP): distroless/static has no libc")
				}
			}
			if tc.runnable {
				b, err := exec.Command(out, "version").CombinedOutput()
				// "lowpanbr VERSION key=value…": the version the image was
				// built with comes second (the build info's fields follow).
				if f := strings.Fields(string(b)); err != nil || len(f) < 2 || f[0] != "lowpanbr" || f[1] != "deploy-test" {
					t.Errorf("lowpanbr version: %q, %v; want \"lowpanbr deploy-test …\"", b, err)
				}
			}
		})
	}
}

// ---- lowpanbr.service --------------------------------------------------

// unitDirectives reads a unit file into section -> key -> values (a key may
// repeat, as DeviceAllow= does).
func unitDirectives(t *testing.T, b []byte) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Errorf("lowpanbr.service:%d: cannot read %q", n, line)
				continue
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	b := readFile(t, "lowpanbr.service")
	u := unitDirectives(t, b)
	svc := u["Service"]
	for _, c := range []struct{ key, want string }{
		{"Type", "simple"},
		{"ExecStart", "/usr/local/bin/lowpanbr run --config /etc/lowpanbr/config.yaml"},
		{"Restart", "on-failure"},
		{"RestartSec", "5"},
		{"User", "lowpanbr"},
		{"Group", "lowpanbr"},
		{"SupplementaryGroups", "dialout"},
		{"StateDirectory", "lowpanbr"},
		{"RuntimeDirectory", "lowpanbr"},
		{"ConfigurationDirectory", "lowpanbr"},
		{"AmbientCapabilities", "CAP_NET_ADMIN"},
		{"CapabilityBoundingSet", "CAP_NET_ADMIN"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
		{"ProtectKernelTunables", "yes"},
		{"ReadWritePaths", "/proc/sys/net/ipv6/conf"},
		{"ProtectKernelModules", "yes"},
		{"ProtectControlGroups", "yes"},
		{"DevicePolicy", "closed"},
		{"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"},
		{"RestrictNamespaces", "yes"},
		{"LockPersonality", "yes"},
		{"MemoryDenyWriteExecute", "yes"},
		{"RestrictRealtime", "yes"},
		{"SystemCallArchitectures", "native"},
		{"SystemCallFilter", "@system-service"},
		{"UMask", "0027"},
	} {
		if got := svc[c.key]; len(got) != 1 || got[0] != c.want {
			t.Errorf("%s=%q, want %q", c.key, got, c.want)
		}
	}
	for _, want := range []string{"/dev/net/tun rw", "char-ttyACM rw", "char-ttyUSB rw"} {
		if !slices.Contains(svc["DeviceAllow"], want) {
			t.Errorf("DeviceAllow %q missing (have %q)", want, svc["DeviceAllow"])
		}
	}
	if got := u["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("WantedBy=%q", got)
	}
	// The directories systemd creates are the daemon's defaults.
	var cfg map[string]any
	readYAML(t, "config.example.yaml", &cfg)
	if cfg["state_dir"] != "/var/lib/"+svc["StateDirectory"][0] {
		t.Errorf("state_dir %v is not StateDirectory=%s", cfg["state_dir"], svc["StateDirectory"][0])
	}
	// A reload by SIGHUP only makes sense if the daemon catches SIGHUP; an
	// uncaught one ends a Go program.
	if r := svc["ExecReload"]; len(r) > 0 {
		main, _ := filepath.Glob("../cmd/lowpanbr/*.go")
		caught := false
		for _, f := range main {
			if !strings.HasSuffix(f, "_test.go") && regexp.MustCompile(`\b(syscall|unix)\.SIGHUP\b`).Match(readFile(t, f)) {
				caught = true
			}
		}
		if strings.Contains(r[0], "HUP") && !caught {
			t.Errorf("ExecReload=%s, but cmd/lowpanbr does not handle SIGHUP: a reload would stop the daemon", r[0])
		}
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not found: unit checked by this test only")
		return
	}
	// verify checks that ExecStart's binary exists: point it at a fresh build.
	dir := t.TempDir()
	unit := filepath.Join(dir, "lowpanbr.service")
	text := strings.Replace(string(b), "ExecStart=/usr/local/bin/lowpanbr ", "ExecStart="+daemon(t)+" ", 1)
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on unknown keys and bad values ("..., ignoring"): any
	// output at all is a finding.
	out, err := exec.Command(sa, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure score (0 safest, 10 unsafe); 2.2 with systemd 252.
	out, err = exec.Command(sa, "security", "--offline=yes", "--threshold=30", unit).CombinedOutput()
	if err != nil {
		last := out
		if i := bytes.LastIndex(bytes.TrimSpace(out), []byte("\n")); i >= 0 {
			last = out[i+1:]
		}
		if bytes.Contains(out, []byte("Overall exposure level")) {
			t.Errorf("systemd-analyze security: exposure above 3.0: %s", last)
		} else {
			t.Logf("systemd-analyze security --offline unsupported here: %v %s", err, last)
		}
	}
}

// TestSystemdUnitPrivileges runs the daemon (on its simulator) the way the
// unit does, without systemd: as an unprivileged user holding only the
// unit's capabilities, with /proc/sys read-only except the unit's
// ReadWritePaths=, in a network namespace of its own. It checks that the
// TUN comes up, forwarding is set through the carve-out and restored on
// SIGTERM, and that a write elsewhere in /proc/sys fails. What systemd
// adds on top (seccomp filter, device cgroup, ProtectSystem) is not
// emulated.
func TestSystemdUnitPrivileges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to build the sandbox")
	}
	for _, tool := range []string{"unshare", "setpriv", "mount", "mknod"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip(err)
	}
	svc := unitDirectives(t, readFile(t, "lowpanbr.service"))["Service"]
	var caps []string
	for _, c := range strings.Fields(svc["CapabilityBoundingSet"][0]) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	if !slices.Equal(strings.Fields(svc["AmbientCapabilities"][0]), strings.Fields(svc["CapabilityBoundingSet"][0])) {
		t.Fatalf("AmbientCapabilities=%s differs from CapabilityBoundingSet=%s", svc["AmbientCapabilities"], svc["CapabilityBoundingSet"])
	}
	rw := svc["ReadWritePaths"][0]
	bin := daemon(t)

	dir, err := os.MkdirTemp("", "lowpanbr-unit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, state} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	setpriv := fmt.Sprintf("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,%[1]s --ambient-caps=-all,%[1]s --bounding-set=-all,%[1]s",
		strings.Join(caps, ","))
	// /dev/net/tun is 0666 on a udev system; this machine may have it 0600.
	script := fmt.Sprintf(`set -e
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount --bind %[1]s %[1]s
mount -o remount,bind,rw %[1]s
mknod -m 0666 %[2]s/tun c 10 200
mount --bind %[2]s/tun /dev/net/tun
echo "before=$(cat /proc/sys/net/ipv6/conf/all/forwarding)"
if %[3]s sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' 2>/dev/null; then echo outside=written; else echo outside=refused; fi
%[3]s %[4]s run --forwarding --state-dir %[5]s --api %[5]s/api.sock --sim-nodes 1 >%[2]s/daemon.log 2>&1 &
pid=$!
i=0
while [ ! -e /proc/sys/net/ipv6/conf/lowpan0/forwarding ] && [ $i -lt 100 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i+1)); done
sleep 1
echo "running_all=$(cat /proc/sys/net/ipv6/conf/all/forwarding)"
echo "running_tun=$(cat /proc/sys/net/ipv6/conf/lowpan0/forwarding 2>/dev/null || echo none)"
echo "capeff=$(awk '/^CapEff/ {print $2}' /proc/$pid/status 2>/dev/null || echo none)"
echo "uid=$(awk '/^Uid/ {print $2}' /proc/$pid/status 2>/dev/null || echo none)"
kill -TERM $pid 2>/dev/null || true
set +e
wait $pid
echo "exit=$?"
echo "after=$(cat /proc/sys/net/ipv6/conf/all/forwarding)"
`, rw, dir, setpriv, bin, state)
	cmd := exec.Command("unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script)
	out, err := cmd.CombinedOutput()
	log, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
	if err != nil {
		t.Fatalf("sandbox: %v\n%s\ndaemon log:\n%s", err, out, log)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			got[k] = v
		}
	}
	capeff, _ := strconv.ParseUint(got["capeff"], 16, 64)
	const capNetAdmin = 12
	for _, c := range []struct{ key, want string }{
		{"outside", "refused"},
		{"running_all", "1"},
		{"running_tun", "1"},
		{"uid", "65534"},
		{"exit", "0"},
		{"after", got["before"]},
	} {
		if got[c.key] != c.want {
			t.Errorf("%s=%q, want %q", c.key, got[c.key], c.want)
		}
	}
	if len(caps) == 1 && capeff != 1<<capNetAdmin {
		t.Errorf("effective capabilities %#x, want CAP_NET_ADMIN only", capeff)
	}
	if t.Failed() {
		t.Logf("sandbox output:\n%s\ndaemon log:\n%s", out, log)
	}
}

// ---- 99-lowpanbr-rcp.rules ---------------------------------------------

type udevRule struct {
	line      int
	commented bool
	keys      []udevKey
}

type udevKey struct {
	name, attr, op, value string
}

var (
	reUdevKey      = regexp.MustCompile(`^([A-Z_]+)(?:\{([^}]+)\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$`)
	reUdevRuleLike = regexp.MustCompile(`^#[A-Z_]+(\{[^}]*\})?(==|!=|\+=|:=|=)"`)
	udevMatchOnly  = []string{"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS", "ATTRS", "TAGS", "TEST", "PROGRAM", "RESULT", "CONST"}
	udevAssignOnly = []string{"OWNER", "GROUP", "MODE", "SECLABEL", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
	udevEither     = []string{"NAME", "SYMLINK", "ATTR", "SYSCTL", "ENV", "TAG"}
)

// splitUdev splits a rule at the commas between its keys.
func splitUdev(s string) []string {
	var parts []string
	var cur strings.Builder
	quoted := false
	for _, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
			cur.WriteRune(c)
		case c == ',' && !quoted:
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

// parseUdevRules reads the rules, and the commented-out example rules too:
// those are written with no space after the #, which prose never is.
func parseUdevRules(t *testing.T, b []byte) []udevRule {
	t.Helper()
	var rules []udevRule
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		r := udevRule{line: n}
		switch {
		case line == "":
			continue
		case reUdevRuleLike.MatchString(line):
			r.commented = true
			line = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		case strings.HasPrefix(line, "#"):
			continue
		}
		if strings.HasSuffix(line, `\`) {
			t.Errorf("rules:%d: continuation lines not expected in this file", n)
		}
		for _, part := range splitUdev(line) {
			m := reUdevKey.FindStringSubmatch(part)
			if m == nil {
				t.Errorf("rules:%d: cannot parse %q (want KEY{attr}OP\"value\")", n, part)
				continue
			}
			k := udevKey{m[1], m[2], m[3], m[4]}
			isMatch := k.op == "==" || k.op == "!="
			switch {
			case slices.Contains(udevMatchOnly, k.name):
				if !isMatch {
					t.Errorf("rules:%d: %s is a match key, %q assigns", n, k.name, k.op)
				}
			case slices.Contains(udevAssignOnly, k.name):
				if isMatch {
					t.Errorf("rules:%d: %s is an assignment key, %q compares", n, k.name, k.op)
				}
			case slices.Contains(udevEither, k.name):
			default:
				t.Errorf("rules:%d: unknown key %s", n, k.name)
			}
			needsAttr := k.name == "ATTR" || k.name == "ATTRS" || k.name == "ENV" || k.name == "SYSCTL"
			if needsAttr != (k.attr != "") {
				t.Errorf("rules:%d: %s with attribute %q", n, k.name, k.attr)
			}
			r.keys = append(r.keys, k)
		}
		rules = append(rules, r)
	}
	return rules
}

func (r udevRule) get(name, attr string) (udevKey, bool) {
	for _, k := range r.keys {
		if k.name == name && k.attr == attr {
			return k, true
		}
	}
	return udevKey{}, false
}

// udevSymlink is the name the rules give the RCP under /dev.
func udevSymlink(t *testing.T) string {
	t.Helper()
	for _, r := range parseUdevRules(t, readFile(t, "99-lowpanbr-rcp.rules")) {
		if k, ok := r.get("SYMLINK", ""); ok && !r.commented {
			return k.value
		}
	}
	t.Fatal("no SYMLINK in the udev rules")
	return ""
}

func TestUdevRules(t *testing.T) {
	b := readFile(t, "99-lowpanbr-rcp.rules")
	rules := parseUdevRules(t, b)
	ids := map[string]bool{}          // vvvv:pppp of active rules
	commentedIDs := map[string]bool{} // of the commented examples
	reHex4 := regexp.MustCompile(`^[0-9a-f]{4}$`)
	for _, r := range rules {
		want := []udevKey{
			{"SUBSYSTEM", "", "==", "tty"},
			{"GROUP", "", "=", "dialout"},
			{"MODE", "", "=", "0660"},
			{"SYMLINK", "", "+=", "lowpanbr-rcp"},
			{"ENV", "ID_MM_DEVICE_IGNORE", "=", "1"},
		}
		for _, w := range want {
			if k, ok := r.get(w.name, w.attr); !ok || k != w {
				t.Errorf("rules:%d: want %s%s%s%q, have %+v", r.line, w.name, w.attr, w.op, w.value, k)
			}
		}
		vid, okV := r.get("ATTRS", "idVendor")
		pid, okP := r.get("ATTRS", "idProduct")
		if !okV || !okP || vid.op != "==" || pid.op != "==" {
			t.Errorf("rules:%d: want ATTRS{idVendor}== and ATTRS{idProduct}==", r.line)
			continue
		}
		// sysfs has them as four lower-case hex digits; "CAFE" never matches.
		if !reHex4.MatchString(vid.value) || !reHex4.MatchString(pid.value) {
			t.Errorf("rules:%d: IDs %s:%s: want four lower-case hex digits each", r.line, vid.value, pid.value)
		}
		id := vid.value + ":" + pid.value
		if r.commented {
			commentedIDs[id] = true
		} else {
			ids[id] = true
		}
	}
	for _, id := range []string{"1915:cafe", "303a:1001"} {
		if !ids[id] {
			t.Errorf("no active rule for %s", id)
		}
	}
	if ids["1915:521f"] {
		t.Error("1915:521f is the nRF52840 Dongle's DFU bootloader, not the RCP")
	}
	for _, id := range []string{"10c4:ea60", "1a86:7523"} {
		if !commentedIDs[id] || ids[id] {
			t.Errorf("%s (a generic USB-UART bridge) should be a commented-out example", id)
		}
	}

	udevadm, err := exec.LookPath("udevadm")
	if err != nil {
		t.Log("udevadm not found: rules checked by this test's parser only")
		return
	}
	// `udevadm verify` exists from systemd 254 on.
	if exec.Command(udevadm, "verify", "--help").Run() != nil {
		t.Log("udevadm has no verify (systemd < 254): rules checked by this test's parser only")
		return
	}
	out, err := exec.Command(udevadm, "verify", "--resolve-names=never", "99-lowpanbr-rcp.rules").CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Errorf("udevadm verify: %v\n%s", err, out)
		} else {
			t.Skipf("udevadm verify: %v", err)
		}
	}
}

// ---- the families against a running daemon -----------------------------

// TestMetricsMatchDaemon starts the daemon on its simulator with the
// container image's and the compose file's environment (without a radio
// URL), in a network namespace of its own, waits for /readyz, and compares
// the families /metrics serves with the table the dashboard is checked
// against: the same names, types and label names. The daemon registers
// every label value up front, so a family with labels is served before any
// traffic.
func TestMetricsMatchDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for the TUN and the network namespace")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip(err)
	}
	bin := daemon(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := cleanEnv()
	for _, in := range parseDockerfile(t, readFile(t, "Dockerfile")) {
		if in.cmd == "ENV" {
			env = append(env, in.args)
		}
	}
	for k, v := range loadCompose(t).Services["lowpanbr"].Environment {
		if k != "LOWPANBR_RADIO_URL" {
			env = append(env, k+"="+interpolate(v))
		}
	}
	var listen string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "LOWPANBR_METRICS_LISTEN="); ok {
			listen = v
		}
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("LOWPANBR_METRICS_LISTEN %q: %v", listen, err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf(`set -e
ip link set lo up
%[1]s run --state-dir %[2]s/state --api %[2]s/api.sock --sim-nodes 2 >%[2]s/daemon.log 2>&1 &
pid=$!
set +e
%[4]s=http://127.0.0.1:%[3]s/readyz %[5]s >/dev/null && %[4]s=http://127.0.0.1:%[3]s/healthz %[5]s >/dev/null
rc=$?
# Per-neighbour families appear once a node was heard: the simulated
# nodes send their first RS after a random 0-1 s (RFC 4861 §6.3.7).
i=0
while [ $rc -eq 0 ] && [ $i -lt 50 ]; do
  %[4]s=http://127.0.0.1:%[3]s/metrics %[5]s >%[2]s/metrics.txt
  rc=$?
  grep -q '^lowpanbr_neighbor_rssi_dbm' %[2]s/metrics.txt && break
  i=$((i+1))
  sleep 0.2
done
kill -TERM $pid
wait $pid
exit $rc
`, bin, dir, port, getEnv, self)
	cmd := exec.Command("unshare", "--net", "sh", "-c", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
		t.Fatalf("daemon in a namespace: %v\n%s\ndaemon log:\n%s", err, out, log)
	}

	served := parseExposition(t, readFile(t, filepath.Join(dir, "metrics.txt")))
	for _, f := range families {
		got, ok := served[f.name]
		if !ok {
			t.Errorf("%s is not served", f.name)
			continue
		}
		want := slices.Sorted(slices.Values(f.labels))
		if got.kind != f.kind || !slices.Equal(got.labels, want) {
			t.Errorf("%s: served as %s %v, the table has %s %v", f.name, got.kind, got.labels, f.kind, want)
		}
	}
	for name, got := range served {
		if _, ok := familyByName(name); !ok && strings.HasPrefix(name, "lowpanbr_") {
			t.Errorf("%s (%s %v) is served but neither in the table nor on the dashboard", name, got.kind, got.labels)
		}
	}
}

type servedFamily struct {
	kind   string
	labels []string // sorted, without le
}

// parseExposition reads the Prometheus text format: the # TYPE lines and
// the label names of the samples.
func parseExposition(t *testing.T, b []byte) map[string]servedFamily {
	t.Helper()
	out := map[string]servedFamily{}
	labelSets := map[string]map[string]bool{}
	reLabel := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = servedFamily{kind: f[3]}
			labelSets[f[2]] = map[string]bool{}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name = strings.Fields(name)[0]
		fam := name
		if _, ok := out[fam]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok {
					if _, ok := out[base]; ok {
						fam = base
					}
				}
			}
		}
		set, ok := labelSets[fam]
		if !ok {
			t.Errorf("sample %q has no # TYPE", line)
			continue
		}
		if rest != "" {
			for _, m := range reLabel.FindAllStringSubmatch(rest, -1) {
				if m[1] != "le" && m[1] != "quantile" {
					set[m[1]] = true
				}
			}
		}
	}
	for name, f := range out {
		f.labels = slices.Sorted(maps.Keys(labelSets[name]))
		out[name] = f
	}
	return out
}
