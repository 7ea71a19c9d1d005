package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lowpanbr/lowpanbr/internal/jsontest"
)

// fakeSource is a Source with canned state; counters go up by 10 frames
// a reading.
type fakeSource struct {
	mu      sync.Mutex
	snap    Snapshot
	reads   atomic.Uint64
	actions []Action
	err     error
}

func (f *fakeSource) Snapshot() Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeSource) Counters() Counters {
	n := f.reads.Add(1)
	return Counters{FramesSent: 10 * n, FramesReceived: 5 * n, TxRetries: n, OctetsSent: 1000 * n, QueueDepth: 3}
}

func (f *fakeSource) Control(ctx context.Context, a Action) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, a)
	return f.err
}

func x(v float64) *float64 { return &v }

func cannedSnapshot(nodes int) Snapshot {
	s := Snapshot{Time: time.Unix(1700000000, 0).UTC(), Version: "v1", UptimeSec: 42, Prefix: "2001:db8::/64", Address: "2001:db8::1",
		Simulated: true, RCP: RCP{Ready: true, Firmware: "OPENTHREAD/x", Channel: 15, PANID: "0xface", Resets: 2},
		Nodes: []Node{{ID: "br", Kind: "6lbr", Address: "2001:db8::1", Status: "registered", X: x(0), Y: x(0)}}}
	for i := 1; i <= nodes; i++ {
		id := fmt.Sprintf("n%d", i)
		parent := "br"
		if i > 10 {
			parent = fmt.Sprintf("n%d", i%10+1)
		}
		s.Nodes = append(s.Nodes, Node{ID: id, Kind: "6ln", Address: fmt.Sprintf("2001:db8::%x", 0x100+i), LinkAddr: fmt.Sprintf("02:00:00:00:00:00:%02x:%02x", i>>8, i&0xff),
			Status: "registered", Parent: parent, Hops: 1 + i/10, X: x(float64(i%17) * 0.4), Y: x(float64(i/17) * 0.4), Role: "6LN", Echoes: i, Forwarded: 2 * i, Rank: 256})
		s.Links = append(s.Links, Link{A: parent, B: id, Kind: "802.15.4", RSSI: -60, LQI: 150, Loss: 0.05})
		s.Registrations = append(s.Registrations, Registration{Address: fmt.Sprintf("2001:db8::%x", 0x100+i), ROVR: "0200000000000101", LifetimeSec: 600, ExpiresInSec: 500, Via: "2001:db8::101"})
	}
	for i := 0; i < 200; i++ {
		s.Events = append(s.Events, Event{Time: s.Time, Level: "INFO", Message: "registration refused", Attrs: "component=nd addr=2001:db8::5 status=duplicate"})
	}
	return s
}

func newTestServer(t *testing.T, cfg Config) (*Server, *fakeSource, *httptest.Server) {
	t.Helper()
	src := &fakeSource{snap: cannedSnapshot(3)}
	cfg.Source = src
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, src, hs
}

func checkKeys(t *testing.T, path string, v any) {
	t.Helper()
	for _, k := range jsontest.NotSnakeCase(v, path) {
		t.Errorf("%s: key not snake_case", k)
	}
}

// GET /api/snapshot: the Source's snapshot, the server's controls flag and
// every sample, in snake_case JSON.
func TestSnapshotJSON(t *testing.T) {
	s, src, hs := newTestServer(t, Config{Controls: true})
	for range 3 {
		s.addSample(rates(src.Counters(), src.Counters(), time.Second, time.Now()))
	}
	resp, err := http.Get(hs.URL + "/api/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got Snapshot
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := src.Snapshot()
	want.Controls = true
	want.Samples = got.Samples
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if len(got.Samples) != 3 || got.Samples[0].TxFramesPerS != 10 || got.Samples[0].RxFramesPerS != 5 || got.Samples[0].OctetsPerS != 1000 {
		t.Errorf("samples %+v, want 3 at 10 tx/s, 5 rx/s, 1000 octets/s", got.Samples)
	}
	var generic any
	json.Unmarshal(body, &generic)
	checkKeys(t, "snapshot", generic)
}

// The charts' ring keeps the last History samples, oldest first; a counter
// that goes backwards (a new driver) gives a rate of 0, not a huge one.
func TestSamples(t *testing.T) {
	s, err := New(Config{Source: &fakeSource{}, History: 4})
	if err != nil {
		t.Fatal(err)
	}
	if h := s.history(false); len(h) != 0 {
		t.Fatalf("empty ring: %v", h)
	}
	for i := range 6 {
		s.addSample(Sample{UnixMilli: int64(i)})
	}
	var got []int64
	for _, x := range s.history(false) {
		got = append(got, x.UnixMilli)
	}
	if diff := cmp.Diff([]int64{2, 3, 4, 5}, got); diff != "" {
		t.Errorf("ring (-want +got):\n%s", diff)
	}
	if l := s.history(true); len(l) != 1 || l[0].UnixMilli != 5 {
		t.Errorf("last = %v", l)
	}
	r := rates(Counters{FramesSent: 100, QueueDepth: 1}, Counters{FramesSent: 50, QueueDepth: 7}, 2*time.Second, time.Unix(1, 0))
	if r.TxFramesPerS != 0 || r.QueueDepth != 7 {
		t.Errorf("rates after a counter went back: %+v", r)
	}
	r = rates(Counters{FramesSent: 100, TxFailures: 1, GoodputOctets: 1000}, Counters{FramesSent: 150, TxFailures: 5, GoodputOctets: 3560}, 2*time.Second, time.Unix(1, 0))
	if r.TxFramesPerS != 25 || r.FailuresPerS != 2 || r.GoodputPerS != 1280 {
		t.Errorf("rates: %+v, want 25 tx/s, 2 failures/s, 1280 octets/s of goodput", r)
	}
}

// sseReader reads Server-Sent Events.
type sseReader struct{ r *bufio.Reader }

// next returns the next event's name and data; retry lines are checked
// and skipped.
func (s *sseReader) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v (so far %q %q)", err, name, data)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if name != "" || data != "" {
				return name, data
			}
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if data != "" {
				t.Fatalf("two data lines in one event")
			}
			data = line[len("data: "):]
		case line == "retry: 2000":
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
}

func openStream(t *testing.T, url string) (*http.Response, *sseReader) {
	t.Helper()
	resp, err := http.Get(url + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /api/events: %s %s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	return resp, &sseReader{bufio.NewReader(resp.Body)}
}

// The stream: the whole state with every sample on connect, then one
// snapshot per tick with only the new sample; a Kick sends one at once,
// without a sample.
func TestEventStream(t *testing.T) {
	s, _, hs := newTestServer(t, Config{Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{})
	go func() { s.Run(ctx); close(ran) }()
	time.Sleep(70 * time.Millisecond) // a few samples before the client
	_, sr := openStream(t, hs.URL)
	name, data := sr.next(t)
	var first Snapshot
	if err := json.Unmarshal([]byte(data), &first); err != nil || name != "snapshot" {
		t.Fatalf("first event %q: %v", name, err)
	}
	if len(first.Samples) < 2 || len(first.Nodes) != 4 {
		t.Errorf("first event: %d samples, %d nodes; want the history (>= 2) and 4 nodes", len(first.Samples), len(first.Nodes))
	}
	for range 3 {
		_, data := sr.next(t)
		var next Snapshot
		if err := json.Unmarshal([]byte(data), &next); err != nil {
			t.Fatal(err)
		}
		if len(next.Samples) != 1 || next.Samples[0].UnixMilli <= first.Samples[len(first.Samples)-1].UnixMilli-1000 {
			t.Errorf("tick: %d samples, want the newest only", len(next.Samples))
		}
	}
	// Run ends with its context, and with it the streams.
	cancel()
	<-ran
	done := make(chan struct{})
	go func() {
		for {
			if _, err := sr.r.ReadString('\n'); err != nil {
				close(done)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream did not end with Run")
	}
	if n := s.Clients(); n != 0 {
		t.Errorf("%d clients after Close", n)
	}
	resp, _ := http.Get(hs.URL + "/api/events")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream after Close: %s, want 503", resp.Status)
	}
	resp.Body.Close()
}

// A Kick (a control carried out) sends a snapshot at once.
func TestKick(t *testing.T) {
	s, _, hs := newTestServer(t, Config{Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	_, sr := openStream(t, hs.URL)
	sr.next(t)
	t0 := time.Now()
	s.Kick()
	_, data := sr.next(t)
	if d := time.Since(t0); d > time.Second {
		t.Errorf("kicked snapshot after %v", d)
	}
	var snap Snapshot
	json.Unmarshal([]byte(data), &snap)
	if len(snap.Samples) != 0 || !slices.Contains(snap.Unchanged, "nodes") || snap.Time.IsZero() {
		t.Errorf("kicked snapshot: %d samples, unchanged %v; want no sample, nodes unchanged", len(snap.Samples), snap.Unchanged)
	}
}

// No more than MaxClients streams at once; a closed one makes room.
func TestEventStreamCap(t *testing.T) {
	_, _, hs := newTestServer(t, Config{MaxClients: 2, Interval: time.Hour})
	r1, s1 := openStream(t, hs.URL)
	s1.next(t)
	_, s2 := openStream(t, hs.URL)
	s2.next(t)
	resp, err := http.Get(hs.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %s, want 503 with Retry-After", resp.Status)
	}
	r1.Body.Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := http.Get(hs.URL + "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a stream closed: %s", resp.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A client whose queue is full is dropped by the broadcast, which never
// waits for it; the others keep theirs.
func TestSlowClientDropped(t *testing.T) {
	s, err := New(Config{Source: &fakeSource{snap: cannedSnapshot(2)}, ClientBuffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := s.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	fast, _ := s.subscribe()
	for i := range 3 {
		done := make(chan struct{})
		go func() { s.broadcast(false); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatalf("broadcast %d blocked on a slow client", i)
		}
		<-fast.ch
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the slow client was not dropped")
	}
	select {
	case <-fast.gone:
		t.Fatal("the fast client was dropped")
	default:
	}
	if n := s.Clients(); n != 1 {
		t.Errorf("%d clients, want 1", n)
	}
	s.unsubscribe(slow) // the handler's deferred unsubscribe: no double close
	s.Close()
	<-fast.gone
}

// POST /api/control: only with the controls on, the token, and no foreign
// origin; the Source's errors become 400, 409, 501.
func TestControlAccess(t *testing.T) {
	const token = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	_, src, hs := newTestServer(t, Config{Controls: true, Token: token})
	_, _, off := newTestServer(t, Config{Controls: false, Token: token})
	host := strings.TrimPrefix(hs.URL, "http://")
	for _, tc := range []struct {
		name    string
		url     string
		hdr     map[string]string
		body    string
		srcErr  error
		want    int
		applied bool
	}{
		{name: "ok", hdr: map[string]string{TokenHeader: token}, body: `{"action":"cut","a":"br","b":"n1"}`, want: 200, applied: true},
		{name: "same origin", hdr: map[string]string{TokenHeader: token, "Origin": hs.URL, "Sec-Fetch-Site": "same-origin"}, body: `{"action":"rcp-reset"}`, want: 200, applied: true},
		{name: "controls off", url: off.URL, hdr: map[string]string{TokenHeader: token}, body: `{"action":"cut"}`, want: 403},
		{name: "no token", body: `{"action":"cut"}`, want: 403},
		{name: "wrong token", hdr: map[string]string{TokenHeader: token[:63] + "0"}, body: `{"action":"cut"}`, want: 403},
		{name: "short token", hdr: map[string]string{TokenHeader: token[:32]}, body: `{"action":"cut"}`, want: 403},
		{name: "cross origin", hdr: map[string]string{TokenHeader: token, "Origin": "http://evil.example"}, body: `{"action":"cut"}`, want: 403},
		{name: "other port", hdr: map[string]string{TokenHeader: token, "Origin": "http://127.0.0.1:1"}, body: `{"action":"cut"}`, want: 403},
		{name: "cross site fetch", hdr: map[string]string{TokenHeader: token, "Sec-Fetch-Site": "cross-site"}, body: `{"action":"cut"}`, want: 403},
		{name: "null origin", hdr: map[string]string{TokenHeader: token, "Origin": "null"}, body: `{"action":"cut"}`, want: 403},
		{name: "rebinding host", hdr: map[string]string{TokenHeader: token, "Host": "evil.example:" + strings.Split(host, ":")[1]}, body: `{"action":"cut"}`, want: 403},
		{name: "not json", hdr: map[string]string{TokenHeader: token}, body: `cut`, want: 400},
		{name: "unknown field", hdr: map[string]string{TokenHeader: token}, body: `{"action":"cut","x":1}`, want: 400},
		{name: "too big", hdr: map[string]string{TokenHeader: token}, body: `{"action":"` + strings.Repeat("a", 5000) + `"}`, want: 400},
		{name: "unsupported", hdr: map[string]string{TokenHeader: token}, body: `{"action":"add"}`, srcErr: fmt.Errorf("x: %w", ErrUnsupported), want: 501, applied: true},
		{name: "bad", hdr: map[string]string{TokenHeader: token}, body: `{"action":"remove","node":"n99"}`, srcErr: fmt.Errorf("x: %w", ErrBadAction), want: 400, applied: true},
		{name: "conflict", hdr: map[string]string{TokenHeader: token}, body: `{"action":"add"}`, srcErr: ErrConflict, want: 409, applied: true},
		{name: "failed", hdr: map[string]string{TokenHeader: token}, body: `{"action":"add"}`, srcErr: errors.New("boom"), want: 500, applied: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src.mu.Lock()
			src.actions, src.err = nil, tc.srcErr
			src.mu.Unlock()
			u := hs.URL
			if tc.url != "" {
				u = tc.url
			}
			req, _ := http.NewRequest("POST", u+"/api/control", strings.NewReader(tc.body))
			for k, v := range tc.hdr {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, bytes.TrimSpace(b), tc.want)
			}
			src.mu.Lock()
			applied := len(src.actions) > 0
			src.mu.Unlock()
			if applied != tc.applied {
				t.Errorf("action reached the source: %v, want %v", applied, tc.applied)
			}
		})
	}
	// GETs need no token.
	resp, err := http.Get(hs.URL + "/api/snapshot")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/snapshot without token: %v %v", resp.Status, err)
	}
	resp.Body.Close()
}

// Every route refuses a Host that is a DNS name (DNS rebinding).
func TestCheckHost(t *testing.T) {
	for host, ok := range map[string]bool{
		"127.0.0.1:9580": true, "127.0.0.1": true, "[::1]:9580": true, "::1": true, "localhost:9580": true, "LOCALHOST": true,
		"192.0.2.7:80": true, "[2001:db8::1]:9580": true,
		"evil.example:9580": false, "evil.example": false, "localhost.evil.example:9580": false, "127.0.0.1.nip.io": false,
		"": false, "[fe80::1%25eth0]:80": false,
	} {
		if err := CheckHost(host); (err == nil) != ok {
			t.Errorf("CheckHost(%q) = %v, want ok %v", host, err, ok)
		}
	}
	_, _, hs := newTestServer(t, Config{Hosts: []string{"gateway", "gateway.local"}, Interval: time.Hour})
	for _, path := range []string{"/", "/assets/app.js", "/api/snapshot", "/api/events"} {
		for host, want := range map[string]int{"rebind.example": 403, "gateway.example": 403, "GATEWAY:9580": 200, "gateway.local.": 200} {
			req, _ := http.NewRequest("GET", hs.URL+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s with Host %s: %s, want %d", path, host, resp.Status, want)
			}
		}
	}
}

// The page's files: small, compressed when the browser accepts gzip,
// revalidated with an ETag, loaded only from here (CSP).
func TestAssets(t *testing.T) {
	_, _, hs := newTestServer(t, Config{})
	total := 0
	for _, path := range []string{"/", "/assets/app.js", "/assets/style.css"} {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %s, Content-Encoding %q", path, resp.Status, resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		total += len(plain)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		req2, _ := http.NewRequest("GET", hs.URL+path, nil)
		req2.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		resp2, err := http.DefaultClient.Do(req2)
		if err != nil {
			t.Fatal(err)
		}
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %s, want 304", path, resp2.Status)
		}
		// Without Accept-Encoding: plain.
		resp3, err := http.DefaultTransport.RoundTrip(must(http.NewRequest("GET", hs.URL+path, nil)))
		if err != nil {
			t.Fatal(err)
		}
		b3, _ := io.ReadAll(resp3.Body)
		resp3.Body.Close()
		if !bytes.Equal(b3, plain) || resp3.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s without gzip: not the plain file", path)
		}
	}
	if total > 60<<10 {
		t.Errorf("page is %d octets, want < 60 KiB", total)
	}
	for _, path := range []string{"/assets/nope.js", "/assets/index.html", "/index.html", "/assets/../server.go"} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"gzip": true, "gzip, deflate, br": true, "br;q=1, GZIP;q=0.5": true, "gzip;q=0": false, "deflate": false, "": false, "x-gzip": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", h)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

// The token is 32 random octets, hex, and differs between servers.
func TestToken(t *testing.T) {
	a, _ := New(Config{Source: &fakeSource{}})
	b, _ := New(Config{Source: &fakeSource{}})
	if len(a.Token()) != 64 || a.Token() == b.Token() {
		t.Errorf("tokens %q %q", a.Token(), b.Token())
	}
}

// Encoding one snapshot of a 300-node mesh, as the sampler does each
// second with a client connected.
func BenchmarkSnapshotEncode300(b *testing.B) {
	src := &fakeSource{snap: cannedSnapshot(300)}
	s, _ := New(Config{Source: src})
	for range 300 {
		s.addSample(Sample{UnixMilli: 1, TxFramesPerS: 12.5})
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		ev, err := sseEvent("snapshot", s.snapshot(false))
		if err != nil {
			b.Fatal(err)
		}
		n = len(ev)
	}
	b.ReportMetric(float64(n), "octets/event")
}

// A tick leaves out the parts that did not change, and names them; a
// registration's countdown alone is no change.
func TestEventStreamDelta(t *testing.T) {
	s, src, hs := newTestServer(t, Config{Interval: time.Hour})
	_, sr := openStream(t, hs.URL)
	sr.next(t)
	tick := func() Snapshot {
		t.Helper()
		s.broadcast(false)
		_, data := sr.next(t)
		var snap Snapshot
		if err := json.Unmarshal([]byte(data), &snap); err != nil {
			t.Fatal(err)
		}
		return snap
	}
	got := tick()
	if diff := cmp.Diff([]string{"links", "nodes", "events", "registrations"}, got.Unchanged); diff != "" || got.Nodes != nil || got.Links != nil {
		t.Errorf("nothing changed: unchanged (-want +got):\n%s", diff)
	}
	src.mu.Lock()
	src.snap.Links = slices.Clone(src.snap.Links)
	src.snap.Links[0].Cut = true
	src.snap.Registrations = slices.Clone(src.snap.Registrations)
	src.snap.Registrations[1].ExpiresInSec--
	src.mu.Unlock()
	got = tick()
	if diff := cmp.Diff([]string{"nodes", "events", "registrations"}, got.Unchanged); diff != "" || len(got.Links) != 3 || !got.Links[0].Cut {
		t.Errorf("a link cut: unchanged (-want +got):\n%s\nlinks %+v", diff, got.Links)
	}
	src.mu.Lock()
	src.snap.Nodes = slices.Clone(src.snap.Nodes)
	src.snap.Nodes[2].Status = "stopped"
	src.mu.Unlock()
	if got = tick(); got.Nodes != nil || len(got.NodeUpdates) != 1 || got.NodeUpdates[0].ID != "n2" || got.NodeUpdates[0].Status != "stopped" ||
		!slices.Contains(got.Unchanged, "nodes") {
		t.Errorf("a node stopped: nodes %+v updates %+v unchanged %v; want n2's update only", got.Nodes, got.NodeUpdates, got.Unchanged)
	}
	src.mu.Lock()
	src.snap.Nodes = slices.Clone(src.snap.Nodes)
	for i := range src.snap.Nodes {
		src.snap.Nodes[i].Echoes += 1000
	}
	src.mu.Unlock()
	if got = tick(); len(got.Nodes) != 4 || got.NodeUpdates != nil || slices.Contains(got.Unchanged, "nodes") {
		t.Errorf("every node changed: nodes %+v updates %+v unchanged %v; want them all", got.Nodes, got.NodeUpdates, got.Unchanged)
	}
	src.mu.Lock()
	src.snap.Nodes = src.snap.Nodes[:3]
	src.mu.Unlock()
	if got = tick(); len(got.Nodes) != 3 || got.NodeUpdates != nil {
		t.Errorf("a node gone: nodes %+v updates %+v; want the 3 left", got.Nodes, got.NodeUpdates)
	}
	// A new stream gets the whole state, as of the last broadcast.
	_, sr2 := openStream(t, hs.URL)
	_, data := sr2.next(t)
	var first Snapshot
	json.Unmarshal([]byte(data), &first)
	if len(first.Unchanged) != 0 || len(first.Nodes) != 3 || first.Nodes[2].Status != "stopped" || !first.Links[0].Cut {
		t.Errorf("second stream's first snapshot: %+v", first)
	}
}

// A steady 300-node mesh's tick: the comparison with the last snapshot
// and the encoding of what changed (the counters and the newest sample).
func BenchmarkSnapshotDelta300(b *testing.B) {
	src := &fakeSource{snap: cannedSnapshot(300)}
	s, _ := New(Config{Source: src})
	s.addSample(Sample{UnixMilli: 1, TxFramesPerS: 12.5})
	prev := s.snapshot(false)
	cur := cannedSnapshot(300) // equal, not the same slices
	cur.Samples = prev.Samples
	b.ReportAllocs()
	var n int
	for b.Loop() {
		ev, err := sseEvent("snapshot", delta(&prev, cur))
		if err != nil {
			b.Fatal(err)
		}
		n = len(ev)
	}
	b.ReportMetric(float64(n), "octets/event")
}
