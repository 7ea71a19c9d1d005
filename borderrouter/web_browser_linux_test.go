package borderrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/sim"
)

// findBrowser returns a Chromium to drive: Debian's chromium-headless-shell
// (the headless build alone, no X libraries), else chromium. Missing, the
// test skips, or fails under LOWPANBR_REQUIRE_ORACLES=1 (CI installs it:
// .ci/run).
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium-headless-shell", "chromium", "chrome-headless-shell", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium found (apt-get install chromium-headless-shell)"
	if os.Getenv(oracle.RequireEnv) == "1" {
		t.Fatalf("browser required (%s=1) but %s", oracle.RequireEnv, msg)
	}
	t.Skip(msg)
	return ""
}

// The web page in a real browser: the daemon on its simulator with the
// page's controls on, Chromium (headless) opening the URL the status API
// hands out. The page loads with no console error or exception, its graph
// shows every registered node (an SVG element per node, data-id the node's
// name, data-status registered), and a link cut with the page's own
// control shows up on the page as cut within seconds.
func TestWebPageInBrowser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a network namespace and a TUN for the daemon); CI runs as root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no TUN support on this host: %v", err)
	}
	browser := findBrowser(t)
	ns := netnstest.Add(t, "web")
	netnstest.IP(t, ns, "link", "set", "lo", "up")
	netnstest.Enter(t, ns)

	const nodes = 3
	dir := t.TempDir()
	cfg := Defaults()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.API.Socket = filepath.Join(dir, "api.sock")
	cfg.Metrics.Listen = "127.0.0.1:0" // the page's listener, in the namespace
	cfg.Web.Controls = true
	cfg.TUN.Name = "lbrweb0"
	cfg.Mesh.Prefix = netip.MustParsePrefix("2001:db8:7e::/64")
	// A 2 × 2 grid of RPL routers: n3, in the far corner, hears n1 and n2,
	// and takes the other for parent when its link to one is cut.
	cfg.Sim.Topology, cfg.Sim.Rows, cfg.Sim.Cols, cfg.Sim.Seed = sim.Grid, 2, 2, 3
	cfg.RPL.DefaultLifetime, cfg.RPL.LifetimeUnit = 5, 1
	br, _, _ := runTestRouter(t, cfg, WithVersion("browser-test"))
	deadline := time.Now().Add(30 * time.Second)
	for !meshJoined(br.Topology(), nodes) {
		if time.Now().After(deadline) {
			t.Fatalf("the mesh did not join in 30 s: %+v", br.Topology())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The URL and token, as lowpanbr web gets them: from the API socket.
	rec := httptest.NewRecorder()
	br.APIHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/web", nil))
	var info WebInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/web: %d %s (%v)", rec.Code, rec.Body, err)
	}
	if !info.Controls || !strings.Contains(info.URL, "#token=") {
		t.Fatalf("GET /api/v1/web = %+v, want controls and a token", info)
	}

	// Chromium runs in the daemon's namespace (ip netns exec) so that it
	// reaches the loopback listener; chromedp talks to it over a pipe.
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs iproute2's ip")
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.Args = append([]string{"ip", "netns", "exec", ns}, cmd.Args...)
			cmd.Path = ip
		}))
	defer acancel()
	var mu sync.Mutex
	var console []string
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", browser, err)
	}
	cctx, ccancel := context.WithCancel(bctx)
	defer ccancel()
	msgs := chromedp.Console(cctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				console = append(console, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()

	tctx, tcancel := context.WithTimeout(bctx, 50*time.Second)
	defer tcancel()
	start := time.Now()
	if err := chromedp.Do(tctx, chromedp.Navigate(info.URL)); err != nil {
		t.Fatalf("navigate %s: %v", info.URL, err)
	}
	// The first snapshot drawn.
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](`window.lowpanbr && window.lowpanbr.updates > 0`,
		chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatalf("the page drew no snapshot: %v", err)
	}
	t.Logf("first snapshot drawn %v after navigation started", time.Since(start).Round(time.Millisecond))
	type timing struct {
		DOMContentLoaded float64 `json:"dcl"`
		GraphDrawn       float64 `json:"graph"`
		Transferred      float64 `json:"bytes"`
		Decoded          float64 `json:"decoded"`
	}
	tm, err := chromedp.Run(tctx, chromedp.Evaluate[timing](`(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const res = performance.getEntriesByType('resource').filter((r) => !r.name.includes('/api/events'));
		const mark = performance.getEntriesByName('lowpanbr-graph-drawn')[0];
		return { dcl: nav.domContentLoadedEventEnd, graph: mark ? mark.startTime : -1,
			bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
			decoded: nav.decodedBodySize + res.reduce((s, r) => s + r.decodedBodySize, 0) };
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page load: DOMContentLoaded %.0f ms, graph drawn %.0f ms; %0.f octets transferred (%.0f decoded), event stream aside",
		tm.DOMContentLoaded, tm.GraphDrawn, tm.Transferred, tm.Decoded)

	// Every registered node is drawn, as registered.
	var want []string
	for _, n := range br.Topology().Nodes {
		if n.ID != "br" && n.Status == "registered" {
			want = append(want, n.ID)
		}
	}
	if len(want) != nodes {
		t.Fatalf("%d of %d nodes registered", len(want), nodes)
	}
	wantJS, _ := json.Marshal(want)
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](fmt.Sprintf(`%s.every((id) => {
		const g = document.querySelector('#g-nodes g[data-id="' + id + '"]');
		return g && g.dataset.status === 'registered';
	}) && document.querySelectorAll('#g-nodes g[data-id]').length === %d`, wantJS, nodes+1),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		drawn, _ := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#g-nodes g[data-id]')].map((g) => g.dataset.id + ':' + g.dataset.status)`))
		t.Fatalf("the graph does not show the %d registered nodes %v: drawn %v (%v)", nodes, want, drawn, err)
	}
	// The controls are shown: the page has the token and the snapshot says
	// they are on; the token left the address bar.
	shown, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`document.body.classList.contains('controls') && !location.hash.includes('token')`))
	if err != nil || !shown {
		t.Errorf("controls shown and token out of the address bar: %v (%v)", shown, err)
	}

	// n3's link to its parent, cut from the page, shows up on it as cut;
	// then the mesh heals: the page shows n3's route through the other.
	var parent string
	for _, n := range br.Topology().Nodes {
		if n.ID == "n3" {
			parent = n.Parent
		}
	}
	other := map[string]string{"n1": "n2", "n2": "n1"}[parent]
	if other == "" {
		t.Fatalf("n3's parent is %q, want n1 or n2", parent)
	}
	link, healed := parent+"|n3", other+"|n3"
	t0 := time.Now()
	if err := chromedp.Do(tctx,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('line[data-link=%q]').dispatchEvent(new MouseEvent('click'))`, link)),
		chromedp.Click(chromedp.CSS(`#details button[data-act="cut"]`)),
	); err != nil {
		t.Fatalf("cutting %s from the page: %v", link, err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](fmt.Sprintf(`(document.querySelector('line[data-link=%q]') || {dataset: {}}).dataset.cut === '1'`, link),
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		msg, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.getElementById('ctl-msg').textContent`))
		t.Fatalf("link %s not shown cut within 5 s (page says %q): %v", link, msg, err)
	}
	t.Logf("link %s cut: shown %v after the click", link, time.Since(t0).Round(time.Millisecond))
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector('line[data-link=%q]').classList.contains('parent') &&
		document.querySelector('#g-nodes g[data-id="n3"]').dataset.status === 'registered'`, healed),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the page does not show n3 healed through %s within 30 s: %v", other, err)
	}
	t.Logf("healed: the page shows n3's route through %s %v after the click", other, time.Since(t0).Round(time.Millisecond))

	// A change made elsewhere (the API, the CLI) shows at the next tick:
	// within a second, and then some.
	t0 = time.Now()
	if err := br.SimRestoreLink(parent, "n3"); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector('line[data-link=%q]').dataset.cut === '0'`, link),
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(3*time.Second))); err != nil {
		t.Fatalf("link %s not shown restored within 3 s: %v", link, err)
	}
	t.Logf("link restored through the API: shown %v after", time.Since(t0).Round(time.Millisecond))

	// A tab without the token (sessionStorage is per tab) shows no
	// controls, though they are on.
	tab, tabCancel := chromedp.NewContext(bctx)
	defer tabCancel()
	plain, _, _ := strings.Cut(info.URL, "#")
	if err := chromedp.Do(tab, chromedp.Navigate(plain)); err != nil {
		t.Fatal(err)
	}
	ttab, ttcancel := context.WithTimeout(tab, 10*time.Second)
	defer ttcancel()
	if _, err := chromedp.Run(ttab, chromedp.Poll[bool](`window.lowpanbr && window.lowpanbr.updates > 0`, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if shown, err := chromedp.Run(ttab, chromedp.Evaluate[bool](`document.body.classList.contains('controls')`)); err != nil || shown {
		t.Errorf("controls shown without the token: %v (%v)", shown, err)
	}

	ccancel()
	mu.Lock()
	defer mu.Unlock()
	if len(console) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(console, "\n"))
	}
}

// meshJoined: the border router and nodes nodes, each registered with a
// parent.
func meshJoined(t Topology, nodes int) bool {
	if len(t.Nodes) != nodes+1 {
		return false
	}
	for _, n := range t.Nodes[1:] {
		if n.Status != "registered" || n.Parent == "" {
			return false
		}
	}
	return true
}

// newBrowser starts a headless Chromium for the page tests; wrap, when
// not nil, changes its command (to run it in a namespace).
func newBrowser(t *testing.T, browser, dir string, wrap func(*exec.Cmd)) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900),
	}
	if wrap != nil {
		opts = append(opts, chromedp.ModifyCmdFunc(wrap))
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", browser, err)
	}
	return bctx
}

// The page of a running daemon given by LOWPANBR_WEB_URL (e.g. one with
// --sim-topology random --sim-nodes 300), for the figures: load time,
// octets, the time to apply a snapshot, and the page's graph against the
// daemon's snapshot after a minute of live updates. Skipped without it.
func TestWebPageExternal(t *testing.T) {
	u := os.Getenv("LOWPANBR_WEB_URL")
	if u == "" {
		t.Skip("set LOWPANBR_WEB_URL to a running daemon's page (lowpanbr web)")
	}
	bctx := newBrowser(t, findBrowser(t), t.TempDir(), nil)
	var mu sync.Mutex
	var console []string
	cctx, ccancel := context.WithCancel(bctx)
	defer ccancel()
	go func() {
		for m, err := range chromedp.Console(cctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				console = append(console, m.String())
				mu.Unlock()
			}
		}
	}()
	tctx, tcancel := context.WithTimeout(bctx, 2*time.Minute)
	defer tcancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](`window.lowpanbr && window.lowpanbr.updates > 0`, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	// Time each update the page applies from now on.
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const st = window.lowpanbr; st.applyMs = [];
		const es = new EventSource('api/events');
		es.addEventListener('snapshot', () => {});
		const orig = JSON.parse;
		JSON.parse = function (s) { const t0 = performance.now(); const v = orig(s); st.parseMs = (st.parseMs || []); st.parseMs.push(performance.now() - t0); return v; };
		new PerformanceObserver((l) => { for (const e of l.getEntries()) st.applyMs.push(e.duration); }).observe({ type: 'longtask', buffered: true });
		st.prof = {};
		for (const name of ['update', 'drawGraph', 'drawRCP', 'drawRegistrations', 'drawNodes', 'drawEvents', 'drawCharts', 'drawDetails', 'place']) {
			const f = window[name];
			window[name] = function (...a) { const t0 = performance.now(); try { return f.apply(this, a); } finally { st.prof[name] = (st.prof[name] || 0) + performance.now() - t0; } };
		}
		es.close();
	})()`)); err != nil {
		t.Fatal(err)
	}
	d := 60 * time.Second
	if s := os.Getenv("LOWPANBR_WEB_SECONDS"); s != "" {
		if v, err := time.ParseDuration(s + "s"); err == nil {
			d = v
		}
	}
	time.Sleep(d)
	type figures struct {
		DCL, Graph, Bytes float64
		Updates           int
		Nodes, Links      int
		ParseMs           []float64
		LongTasks         []float64
		Parents           map[string]string
		Prof              map[string]float64
	}
	f, err := chromedp.Run(tctx, chromedp.Evaluate[figures](`(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const res = performance.getEntriesByType('resource').filter((r) => !r.name.includes('/api/events'));
		const st = window.lowpanbr;
		const parents = {};
		for (const n of st.snap.nodes) parents[n.id] = n.parent || '';
		return { DCL: nav.domContentLoadedEventEnd, Graph: performance.getEntriesByName('lowpanbr-graph-drawn')[0].startTime,
			Bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0), Updates: st.updates,
			Nodes: document.querySelectorAll('#g-nodes g[data-id]').length, Links: document.querySelectorAll('#g-links line').length,
			ParseMs: st.parseMs || [], LongTasks: st.applyMs || [], Parents: parents, Prof: st.prof };
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if shot := os.Getenv("LOWPANBR_WEB_SCREENSHOT"); shot != "" {
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(shot, png, 0o644)
	}
	resp, err := http.Get(strings.SplitN(u, "#", 2)[0] + "api/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Nodes []struct{ ID, Parent string } `json:"nodes"`
	}
	json.NewDecoder(resp.Body).Decode(&snap)
	resp.Body.Close()
	same := 0
	for _, n := range snap.Nodes {
		if f.Parents[n.ID] == n.Parent {
			same++
		}
	}
	var parse float64
	for _, x := range f.ParseMs {
		parse += x
	}
	t.Logf("time in the page's functions over %v (ms): %v", d, f.Prof)
	t.Logf("DOMContentLoaded %.0f ms, graph drawn %.0f ms, %.0f octets; %d updates, %d nodes, %d links drawn; JSON.parse %.1f ms per update; %d long tasks %v; parents as the daemon's: %d of %d",
		f.DCL, f.Graph, f.Bytes, f.Updates, f.Nodes, f.Links, parse/float64(max(len(f.ParseMs), 1)), len(f.LongTasks), f.LongTasks, same, len(snap.Nodes))
	if f.Nodes != len(snap.Nodes) {
		t.Errorf("%d nodes drawn, the daemon has %d", f.Nodes, len(snap.Nodes))
	}
	if same < len(snap.Nodes)*9/10 { // a second apart, some parents move
		t.Errorf("only %d of %d parents as the daemon's", same, len(snap.Nodes))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(console) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(console, "\n"))
	}
}

// Where the page is served: on the metrics listener by default; on its
// own listener with web.listen (and then not on the metrics one); nowhere
// with web.enabled off, and GET /api/v1/web says so. Without controls the
// URL carries no token and POST /api/control is refused.
func TestWebListeners(t *testing.T) {
	enterNetns(t)
	get := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, tc := range []struct {
		name              string
		enabled, own      bool
		wantMetricsPage   int
		wantWebAPI        int
		wantOwnPageServed bool
	}{
		{name: "metrics listener", enabled: true, wantMetricsPage: 200, wantWebAPI: 200},
		{name: "own listener", enabled: true, own: true, wantMetricsPage: 404, wantWebAPI: 200, wantOwnPageServed: true},
		{name: "off", enabled: false, wantMetricsPage: 404, wantWebAPI: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Defaults()
			cfg.StateDir = filepath.Join(dir, "state")
			cfg.API.Socket = ""
			cfg.Metrics.Listen = "127.0.0.1:0"
			cfg.Web.Enabled = tc.enabled
			if tc.own {
				cfg.Web.Listen = "127.0.0.1:0"
			}
			cfg.TUN.Name = fmt.Sprintf("lbrwebl%d", i)
			cfg.Mesh.Prefix = netip.MustParsePrefix(fmt.Sprintf("2001:db8:7d:%x::/64", i))
			cfg.Sim.Nodes = 1
			br, err := New(cfg, WithLogger(slog.New(slog.DiscardHandler), nil))
			if err != nil {
				t.Fatal(err)
			}
			defer br.Close()
			metrics := "http://" + br.MetricsAddr()
			if got := get(metrics + "/"); got != tc.wantMetricsPage {
				t.Errorf("GET / on the metrics listener: %d, want %d", got, tc.wantMetricsPage)
			}
			if got := get(metrics + "/metrics"); got != 200 {
				t.Errorf("GET /metrics: %d", got)
			}
			rec := httptest.NewRecorder()
			br.APIHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/web", nil))
			if rec.Code != tc.wantWebAPI {
				t.Fatalf("GET /api/v1/web: %d %s, want %d", rec.Code, rec.Body, tc.wantWebAPI)
			}
			if rec.Code != 200 {
				return
			}
			var info WebInfo
			json.Unmarshal(rec.Body.Bytes(), &info)
			if info.Controls || strings.Contains(info.URL, "token") {
				t.Errorf("controls off, yet %+v", info)
			}
			if tc.own == strings.HasPrefix(info.URL, metrics+"/") {
				t.Errorf("URL %s; metrics on %s, own listener %v", info.URL, metrics, tc.own)
			}
			if got := get(info.URL); got != 200 {
				t.Errorf("GET %s: %d", info.URL, got)
			}
			resp, err := http.Post(info.URL+"api/control", "application/json", strings.NewReader(`{"action":"rcp-reset"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST /api/control with the controls off: %d, want 403", resp.StatusCode)
			}
		})
	}
}
