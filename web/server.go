package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assetFS embed.FS

// Defaults of Config.
const (
	DefaultInterval     = time.Second
	DefaultHistory      = 300 // five minutes of samples at one a second
	DefaultMaxClients   = 16
	DefaultClientBuffer = 4
	// TokenHeader carries the controls' token.
	TokenHeader = "X-Lowpanbr-Token"
)

// Config is a Server's.
type Config struct {
	Source Source
	// Controls opens POST /api/control to a holder of the token.
	Controls bool
	// Token is the controls' token, hex; "": 32 random octets.
	Token string
	// Hosts are names the Host header may carry besides IP literals and
	// localhost: the machine's own name, which a rebinding attacker
	// cannot make its page's.
	Hosts  []string
	Logger *slog.Logger
	// Interval between samples and between Server-Sent Events;
	// DefaultInterval when 0.
	Interval time.Duration
	// History: samples kept for the charts; DefaultHistory when 0.
	History int
	// MaxClients: Server-Sent Event streams open at once; more are
	// refused (503). DefaultMaxClients when 0.
	MaxClients int
	// ClientBuffer: events queued for a stream; a client that falls that
	// far behind is dropped (its browser reconnects and starts over), so
	// that one slow reader never holds up the sampler. DefaultClientBuffer
	// when 0.
	ClientBuffer int
}

// Server serves the page, its API and its live updates. Run samples;
// Close ends the streams.
type Server struct {
	cfg    Config
	src    Source
	log    *slog.Logger
	token  string
	assets map[string]*asset

	// buildMu serialises building the broadcast snapshots and opening
	// streams: last is the base of the next delta, which every open
	// stream has.
	buildMu sync.Mutex
	last    *Snapshot

	mu      sync.Mutex
	samples []Sample // ring of cfg.History
	next    int      // where the next sample goes
	full    bool
	clients map[*client]struct{}
	closed  bool

	kick      chan struct{} // Kick: a snapshot now
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// client is an open Server-Sent Event stream.
type client struct {
	ch   chan []byte   // whole events, shared between clients: read only
	gone chan struct{} // closed when the sampler drops the client
}

type asset struct {
	body, gz []byte
	ctype    string
	etag     string
}

// New makes a server; Run starts its sampler.
func New(cfg Config) (*Server, error) {
	if cfg.Source == nil {
		return nil, errors.New("web: no Source")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = DefaultClientBuffer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, src: cfg.Source, log: cfg.Logger, token: cfg.Token,
		samples: make([]Sample, cfg.History), clients: make(map[*client]struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1)}
	if s.token == "" {
		var t [32]byte
		rand.Read(t[:]) // never fails (crypto/rand, Go 1.24)
		s.token = hex.EncodeToString(t[:])
	}
	var err error
	if s.assets, err = embeddedAssets(); err != nil {
		return nil, err
	}
	return s, nil
}

// Token is the controls' token.
func (s *Server) Token() string { return s.token }

// Controls says whether POST /api/control is open.
func (s *Server) Controls() bool { return s.cfg.Controls }

// embeddedAssets are the embedded files, compressed once per process
// (they are part of the binary: read only).
var embeddedAssets = sync.OnceValues(loadAssets)

// loadAssets reads the embedded files and compresses them.
func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[strings.TrimPrefix(p, "assets/")] = &asset{body: body, gz: gz.Bytes(), ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	return out, nil
}

// Register adds the page's routes to mux: GET / and /assets/, the API
// under /api/.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.guard(http.HandlerFunc(s.serveIndex)))
	mux.Handle("GET /assets/{name}", s.guard(http.HandlerFunc(s.serveAsset)))
	mux.Handle("GET /api/snapshot", s.guard(http.HandlerFunc(s.serveSnapshot)))
	mux.Handle("GET /api/events", s.guard(http.HandlerFunc(s.serveEvents)))
	mux.Handle("POST /api/control", s.guard(http.HandlerFunc(s.serveControl)))
}

// Handler serves the page's routes only.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// Run samples the counters every Interval into the charts' ring and sends
// a snapshot to the open streams, until ctx ends or Close. It is the only
// goroutine that samples or broadcasts.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	defer s.Close()
	prev, prevT := s.src.Counters(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case now := <-t.C:
			c := s.src.Counters()
			s.addSample(rates(prev, c, now.Sub(prevT), now))
			prev, prevT = c, now
			s.broadcast(false)
		case <-s.kick:
			s.broadcast(true)
		}
	}
}

// rates turns two readings of the counters dt apart into a sample.
func rates(a, b Counters, dt time.Duration, now time.Time) Sample {
	sec := dt.Seconds()
	if sec <= 0 {
		sec = 1
	}
	r := func(x, y uint64) float64 {
		if y < x { // a counter went backwards: a new driver; no rate
			return 0
		}
		return float64(y-x) / sec
	}
	return Sample{UnixMilli: now.UnixMilli(), TxFramesPerS: r(a.FramesSent, b.FramesSent), RxFramesPerS: r(a.FramesReceived, b.FramesReceived),
		RetriesPerS: r(a.TxRetries, b.TxRetries), FailuresPerS: r(a.TxFailures, b.TxFailures), QueueDepth: b.QueueDepth,
		OctetsPerS: r(a.OctetsSent+a.OctetsReceived, b.OctetsSent+b.OctetsReceived), GoodputPerS: r(a.GoodputOctets, b.GoodputOctets)}
}

func (s *Server) addSample(x Sample) {
	s.mu.Lock()
	s.samples[s.next] = x
	s.next++
	if s.next == len(s.samples) {
		s.next, s.full = 0, true
	}
	s.mu.Unlock()
}

// history copies the samples, oldest first; last: only the newest.
func (s *Server) history(last bool) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next
	if s.full {
		n = len(s.samples)
	}
	if n == 0 {
		return []Sample{}
	}
	if last {
		return []Sample{s.samples[(s.next-1+len(s.samples))%len(s.samples)]}
	}
	out := make([]Sample, 0, n)
	if s.full {
		out = append(out, s.samples[s.next:]...)
	}
	return append(out, s.samples[:s.next]...)
}

// snapshot is the Source's, with the server's part.
func (s *Server) snapshot(allSamples bool) Snapshot {
	snap := s.src.Snapshot()
	snap.Controls = s.cfg.Controls
	snap.Samples = s.history(!allSamples)
	return snap
}

// broadcast sends a snapshot with the newest sample to every stream; a
// stream whose queue is full is dropped, never waited for.
// broadcast sends a snapshot with the newest sample (none when noSample:
// a kick between ticks) to every stream, the parts that did not change
// since the last one left out; a stream whose queue is full is dropped,
// never waited for.
func (s *Server) broadcast(noSample bool) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	s.mu.Lock()
	n := len(s.clients)
	s.mu.Unlock()
	if n == 0 {
		s.last = nil // no one watches: no snapshot built, no base kept
		return
	}
	snap := s.snapshot(false)
	if noSample {
		snap.Samples = []Sample{}
	}
	ev, err := sseEvent("snapshot", delta(s.last, snap))
	s.last = &snap
	if err != nil {
		s.log.Warn("web: encoding the snapshot", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		select {
		case c.ch <- ev:
		default:
			delete(s.clients, c)
			close(c.gone)
			s.log.Debug("web: dropped a slow event stream")
		}
	}
}

// delta is cur with the parts equal to prev's left out and named in
// Unchanged: in a steady mesh of 300 nodes the links, nodes and events
// are most of a snapshot (200 KB) and change rarely. Registrations are
// compared without their countdown.
func delta(prev *Snapshot, cur Snapshot) Snapshot {
	if prev == nil {
		return cur
	}
	if slices.Equal(prev.Links, cur.Links) {
		cur.Links, cur.Unchanged = nil, append(cur.Unchanged, "links")
	}
	if slices.EqualFunc(prev.Nodes, cur.Nodes, nodeEqual) {
		cur.Nodes, cur.Unchanged = nil, append(cur.Unchanged, "nodes")
	} else if upd, ok := nodeUpdates(prev.Nodes, cur.Nodes); ok {
		cur.Nodes, cur.NodeUpdates, cur.Unchanged = nil, upd, append(cur.Unchanged, "nodes")
	}
	if slices.Equal(prev.Events, cur.Events) {
		cur.Events, cur.Unchanged = nil, append(cur.Unchanged, "events")
	}
	if slices.EqualFunc(prev.Registrations, cur.Registrations, func(a, b Registration) bool {
		a.ExpiresInSec, b.ExpiresInSec = 0, 0
		return a == b
	}) {
		cur.Registrations, cur.Unchanged = nil, append(cur.Unchanged, "registrations")
	}
	return cur
}

// nodeUpdates lists the nodes of cur that differ from prev's, when both
// have the same nodes in the same order and less than half changed (a
// churning mesh: parents, ranks and counters move, the nodes stay).
func nodeUpdates(prev, cur []Node) ([]Node, bool) {
	if len(prev) != len(cur) {
		return nil, false
	}
	var upd []Node
	for i := range cur {
		if cur[i].ID != prev[i].ID {
			return nil, false
		}
		if !nodeEqual(prev[i], cur[i]) {
			if upd = append(upd, cur[i]); len(upd) > len(cur)/2 {
				return nil, false
			}
		}
	}
	return upd, true
}

// nodeEqual compares the positions' values, not their pointers.
func nodeEqual(a, b Node) bool {
	feq := func(x, y *float64) bool { return x == y || (x != nil && y != nil && *x == *y) }
	if !feq(a.X, b.X) || !feq(a.Y, b.Y) {
		return false
	}
	a.X, a.Y, b.X, b.Y = nil, nil, nil, nil
	return a == b
}

// firstEvent is a new stream's first event: the base the following
// deltas apply to (the last broadcast's snapshot, or a new one when no
// stream was open), with every sample. The stream is subscribed under
// the same lock, so that no broadcast falls between base and stream.
func (s *Server) firstEvent() (*client, []byte, error) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	c, err := s.subscribe()
	if err != nil {
		return nil, nil, err
	}
	if s.last == nil {
		snap := s.snapshot(false)
		s.last = &snap
	}
	first := *s.last
	first.Samples = s.history(false)
	ev, err := sseEvent("snapshot", first)
	if err != nil {
		s.unsubscribe(c)
		return nil, nil, err
	}
	return c, ev, nil
}

// sseEvent frames v as one Server-Sent Event (HTML §9.2.5: "event:",
// "data:" lines, a blank line). JSON has no raw newlines, so one data line
// carries it.
func sseEvent(name string, v any) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(4096)
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteString("\ndata: ")
	if err := json.NewEncoder(&b).Encode(v); err != nil { // Encode ends with "\n"
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// Close ends the streams and stops Run; the handlers answer 503 after it.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for c := range s.clients {
			delete(s.clients, c)
			close(c.gone)
		}
		s.mu.Unlock()
		close(s.done)
	})
}

// Clients is the number of open streams.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// errTooMany: the stream cap is reached.
var errTooMany = errors.New("web: too many event streams")

func (s *Server) subscribe() (*client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, http.ErrServerClosed
	}
	if len(s.clients) >= s.cfg.MaxClients {
		return nil, errTooMany
	}
	c := &client{ch: make(chan []byte, s.cfg.ClientBuffer), gone: make(chan struct{})}
	s.clients[c] = struct{}{}
	return c, nil
}

func (s *Server) unsubscribe(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c]; ok {
		delete(s.clients, c)
		close(c.gone)
	}
}

// securityHeaders: the page loads only its own files, and may not be
// framed (clickjacking of the controls).
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	s.writeAsset(w, r, s.assets["index.html"])
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	a := s.assets[r.PathValue("name")]
	if a == nil || r.PathValue("name") == "index.html" {
		http.NotFound(w, r)
		return
	}
	s.writeAsset(w, r, a)
}

func (s *Server) writeAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache") // revalidated with the ETag: a new binary, new files
	h.Set("ETag", a.etag)
	h.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
}

// acceptsGzip: the client named gzip in Accept-Encoding (RFC 9110
// §12.5.3), without q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		out = zw
	}
	json.NewEncoder(out).Encode(s.snapshot(true))
}

// serveEvents streams snapshots as Server-Sent Events: the whole state
// with every sample at once, then one event per Interval.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	c, first, err := s.firstEvent()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.unsubscribe(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
	rc := http.NewResponseController(w)
	// retry: the browser reconnects 2 s after losing the stream (HTML
	// §9.2.6), e.g. after being dropped as slow or a daemon restart.
	if !s.write(w, rc, append([]byte("retry: 2000\n\n"), first...)) {
		return
	}
	for {
		select {
		case ev := <-c.ch:
			if !s.write(w, rc, ev) {
				return
			}
		case <-c.gone:
			return
		case <-s.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// write sends one event and flushes it; a client that does not take it
// within 10 s is given up.
func (s *Server) write(w http.ResponseWriter, rc *http.ResponseController, ev []byte) bool {
	rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := w.Write(ev); err != nil {
		return false
	}
	return rc.Flush() == nil
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Controls {
		http.Error(w, "web: the controls are off (web.controls)", http.StatusForbidden)
		return
	}
	if err := s.checkToken(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	var a Action
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		http.Error(w, "web: want a JSON action: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.src.Control(ctx, a); err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrUnsupported):
			code = http.StatusNotImplemented
		case errors.Is(err, ErrBadAction):
			code = http.StatusBadRequest
		case errors.Is(err, ErrConflict):
			code = http.StatusConflict
		}
		http.Error(w, err.Error(), code)
		return
	}
	s.log.Info("web: control", "action", a.Kind, "a", a.A, "b", a.B, "node", a.Node, "loss", a.Loss)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"done": a.Kind})
	s.Kick()
}

// Kick has the sampler send a snapshot now rather than at the next tick
// (a control was carried out: the page shows its effect at once).
func (s *Server) Kick() {
	select {
	case s.kick <- struct{}{}:
	default: // one is due already
	}
}
