package borderrouter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/web"
)

// The live web page of the mesh (web.*): package web serves it; this file
// is its Source (the snapshot, the counters the charts sample, the
// controls), the ring of recent log records it shows as events, and its
// place on the listeners.
//
//	GET  /, /assets/..., /api/snapshot, /api/events   the metrics listener, or web.listen
//	POST /api/control                                 the same, with web.controls and the token
//	GET  /api/v1/web                                  the status API: the page's URL with the token

// eventLogSize is how many log records of each class the page's event
// list keeps: warnings and errors in one ring, information in another,
// so that a flood of "registered" lines from a 300-node mesh does not
// push the RCP's resets and the refusals out.
const eventLogSize = 100

// eventLog keeps the last log records at level Info or above, their
// attributes flattened to text, for the page's event list (RCP resets
// and reconnects, refused registrations, controls used).
type eventLog struct {
	mu   sync.Mutex
	info eventRing
	warn eventRing // Warn and above
}

type eventRing struct {
	ring [eventLogSize]web.Event
	next int
	full bool
}

func (r *eventRing) add(ev web.Event) {
	r.ring[r.next] = ev
	r.next++
	if r.next == len(r.ring) {
		r.next, r.full = 0, true
	}
}

// appendTo appends the ring's records, oldest first.
func (r *eventRing) appendTo(out []web.Event) []web.Event {
	if r.full {
		out = append(out, r.ring[r.next:]...)
	}
	return append(out, r.ring[:r.next]...)
}

func newEventLog() *eventLog { return &eventLog{} }

// wrap returns the handler the border router logs through: h, with every
// record at Info or above also kept, whatever h's level.
func (e *eventLog) wrap(h slog.Handler) slog.Handler { return &eventHandler{log: e, next: h} }

func (e *eventLog) add(ev web.Event, l slog.Level) {
	e.mu.Lock()
	if l >= slog.LevelWarn {
		e.warn.add(ev)
	} else {
		e.info.add(ev)
	}
	e.mu.Unlock()
}

// events copies both rings, merged oldest first.
func (e *eventLog) events() []web.Event {
	e.mu.Lock()
	out := e.warn.appendTo(make([]web.Event, 0, 2*eventLogSize))
	out = e.info.appendTo(out)
	e.mu.Unlock()
	slices.SortStableFunc(out, func(a, b web.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// eventHandler is the slog.Handler eventLog.wrap makes. attrs are the
// attributes of With, already flattened; group the open groups of
// WithGroup, as a key prefix ("g1.g2.").
type eventHandler struct {
	log   *eventLog
	next  slog.Handler
	attrs string
	group string
}

// Enabled: Info and above always reach Handle (the ring keeps them even
// when the log level is warn); below, as the wrapped handler says.
func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		// A pooled buffer: the attributes' string is the record's only
		// allocation (Attrs takes a closure, which a stack buffer would
		// escape through).
		bp := attrBufs.Get().(*[]byte)
		*bp = append((*bp)[:0], h.attrs...)
		group := h.group
		r.Attrs(func(a slog.Attr) bool {
			*bp = appendAttr(*bp, group, a)
			return true
		})
		h.log.add(web.Event{Time: r.Time, Level: r.Level.String(), Message: r.Message, Attrs: string(*bp)}, r.Level)
		if cap(*bp) <= 4096 {
			attrBufs.Put(bp)
		}
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

var attrBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	buf := []byte(h.attrs)
	for _, a := range as {
		buf = appendAttr(buf, h.group, a)
	}
	return &eventHandler{log: h.log, next: h.next.WithAttrs(as), attrs: string(buf), group: h.group}
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h // slog: an empty group name leaves the handler as it is
	}
	return &eventHandler{log: h.log, next: h.next.WithGroup(name), attrs: h.attrs, group: h.group + name + "."}
}

// appendAttr writes a as " prefix.key=value" (a leading space unless buf
// is empty), groups flattened into dotted keys, as slog's text handler
// does; empty attributes and groups are left out, as there.
func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			buf = appendAttr(buf, p, g)
		}
		return buf
	}
	if len(buf) > 0 {
		buf = append(buf, ' ')
	}
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = append(buf, '=')
	// Numbers straight into buf: Value.String would allocate a string.
	switch v := a.Value; v.Kind() {
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(buf, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case slog.KindTime:
		return v.Time().AppendFormat(buf, time.RFC3339Nano)
	}
	v := a.Value.String()
	if needsQuote(v) {
		return strconv.AppendQuote(buf, v)
	}
	return append(buf, v...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, c := range s {
		if c <= ' ' || c == '"' || c == '=' || c == utf8.RuneError || c == 0x7f {
			return true
		}
	}
	return false
}

// newPage makes the page's server (b.web) when web.enabled is on; bringUp
// calls it before the metrics listener, whose mux may serve the page.
func (b *BorderRouter) newPage() error {
	if !b.cfg.Web.Enabled {
		return nil
	}
	// The machine's own name is let through the DNS-rebinding guard (an
	// attacker's page carries its own name, not ours).
	var hosts []string
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h, h+".local")
	}
	srv, err := web.New(web.Config{Source: webSource{b}, Controls: b.cfg.Web.Controls, Hosts: hosts,
		Logger: b.log.With("component", "web")})
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	b.web = srv
	return nil
}

// page is the page's server; nil when web.enabled is off.
func (b *BorderRouter) page() (*web.Server, error) { return b.web, nil }

// startWeb starts the page's sampler, and its own listener when
// web.listen asks for one.
func (b *BorderRouter) startWeb(ctx context.Context) error {
	cfg := &b.cfg
	srv, err := b.page()
	if err != nil || srv == nil {
		return err
	}
	b.goRun("web sampler", func() error { srv.Run(ctx); return nil })
	if cfg.Web.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Web.Listen)
		if err != nil {
			srv.Close()
			return fmt.Errorf("web.listen %s: %w", cfg.Web.Listen, err)
		}
		b.webSrv = b.serveHTTP(ln, srv.Handler(), "web")
		b.undo = append(b.undo, func() { b.webSrv.Close() })
	}
	// Undone first (undo runs backwards): the event streams end before
	// their listener shuts down, which would otherwise wait for them.
	b.undo = append(b.undo, srv.Close)
	if u := b.webURL(""); u != "" {
		b.log.Info("web page", "url", u, "controls", cfg.Web.Controls)
	}
	return nil
}

// webURL is the page's address, with token in its fragment when not "";
// "" when no listener serves it.
func (b *BorderRouter) webURL(token string) string {
	var addr string
	switch {
	case b.webSrv != nil:
		addr = b.webSrv.Addr()
	case b.metSrv != nil:
		addr = b.metSrv.Addr()
	default:
		return ""
	}
	// A wildcard listener is reached on loopback from this machine.
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().IsUnspecified() {
		lo := netip.IPv6Loopback()
		if ap.Addr().Is4() {
			lo = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		addr = netip.AddrPortFrom(lo, ap.Port()).String()
	}
	u := "http://" + addr + "/"
	if token != "" {
		u += "#token=" + token
	}
	return u
}

// webRoutes adds the page to the metrics listener's mux, unless it has a
// listener of its own (web.listen).
func (b *BorderRouter) webRoutes(mux *http.ServeMux) {
	if b.cfg.Web.Listen != "" {
		return
	}
	if srv, _ := b.page(); srv != nil {
		srv.Register(mux)
	}
}

// WebInfo is what GET /api/v1/web answers: where the page is and, when
// its controls are on, the token they need in the URL's fragment.
type WebInfo struct {
	URL      string `json:"url"`
	Controls bool   `json:"controls"`
}

// webAPIRoutes adds the page's route to the status API: the token is
// handed out there only, to whoever may use the socket.
func (b *BorderRouter) webAPIRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/web", func(w http.ResponseWriter, r *http.Request) {
		srv, _ := b.page()
		if srv == nil {
			http.Error(w, "the web page is off (web.enabled)", http.StatusNotFound)
			return
		}
		token := ""
		if srv.Controls() {
			token = srv.Token()
		}
		u := b.webURL(token)
		if u == "" {
			http.Error(w, "no listener serves the web page (web.listen and metrics.listen are both empty)", http.StatusNotFound)
			return
		}
		writeJSON(w, WebInfo{URL: u, Controls: srv.Controls()})
	})
}

// webSource is the border router as the page's web.Source.
type webSource struct{ b *BorderRouter }

// Counters reads the link's and the driver's counters: atomic loads, no
// per-node work (the sampler calls it every second, watched or not).
func (s webSource) Counters() web.Counters {
	b := s.b
	l := b.link.Stats()
	return web.Counters{FramesSent: l.FramesSent, FramesReceived: l.FramesReceived, TxRetries: l.TxRetries,
		TxFailures: l.TxNoAck + l.TxErrors, QueueDepth: uint64(b.link.QueueStats().Queued) + uint64(b.driver.QueueDepth()),
		OctetsSent: l.BytesSent, OctetsReceived: l.BytesReceived, GoodputOctets: l.IPv6OctetsSent + l.IPv6OctetsReceived}
}

// Snapshot: the graph from Topology, with the simulated nodes' counters;
// the registry; the RCP; the recent events.
func (s webSource) Snapshot() web.Snapshot {
	b := s.b
	now := time.Now()
	cfg := b.config()
	id := b.driver.Identity()
	st := b.driver.Stats()
	snap := web.Snapshot{Time: now, Version: b.version, UptimeSec: int64(now.Sub(b.started) / time.Second),
		Prefix: cfg.Mesh.Prefix.String(), Address: b.global.String(), Simulated: cfg.Simulated(),
		RCP: web.RCP{URL: cfg.Radio.URL, Ready: b.driver.Ready(), Firmware: id.Firmware, EUI64: colonHex(id.EUI64[:]),
			Channel: cfg.Radio.Channel, PANID: fmt.Sprintf("0x%04x", cfg.Radio.PANID),
			Resets: st.Resets, Reconnects: st.Reconnects, Timeouts: st.Timeouts, Disconnects: st.Disconnects},
		Counters: s.Counters(), Events: b.events.events()}
	if b.rcpSim != nil {
		snap.RCP.URL = b.rcpSim.URL() + " (built-in simulator)"
	}

	topo := b.Topology()
	snap.Simulated = snap.Simulated || topo.Simulated
	sims := b.SimNodes()
	byName := make(map[string]*SimNode, len(sims))
	byEUI := make(map[string]string, len(sims)+1) // link-layer address → node ID
	byAddr := make(map[string]string, len(sims))  // global address → node ID
	byEUI[colonHex(id.EUI64[:])] = "br"
	byAddr[b.global.String()] = "br"
	for i := range sims {
		n := &sims[i]
		byName[n.Name], byEUI[n.EUI64] = n, n.Name
		if n.Address != "" {
			byAddr[n.Address] = n.Name
		}
	}
	snap.Nodes = make([]web.Node, 0, len(topo.Nodes))
	for _, t := range topo.Nodes {
		n := web.Node{ID: t.ID, Kind: t.Kind, Address: t.Address, LinkAddr: t.LinkAddr, Status: t.Status, Parent: t.Parent,
			Hops: t.Hops, X: t.X, Y: t.Y}
		n.Status, n.Refused = pageStatus(t.Status)
		if sn := byName[t.ID]; sn != nil {
			n.Role, n.Echoes, n.Forwarded, n.Routes, n.Protected = sn.Role, sn.Echoes, sn.Forwarded, sn.Routes, sn.Protected
			if sn.Refused != "" {
				n.Refused = sn.Refused
			}
			if n.Address == "" {
				n.Address = sn.Address
			}
			if sn.RPL != nil {
				n.Rank, n.RPLParent = sn.RPL.Rank, sn.RPL.Parent
			}
			// Topology may not know the parent yet: the RPL preferred
			// parent's address, else the router the node registered
			// with (its link-layer address).
			if n.Parent == "" && sn.RPL != nil {
				n.Parent = byAddr[sn.RPL.Parent]
			}
			if n.Parent == "" {
				n.Parent = byEUI[sn.Parent]
			}
		}
		snap.Nodes = append(snap.Nodes, n)
	}
	snap.Links = make([]web.Link, 0, len(topo.Links))
	for _, l := range topo.Links {
		snap.Links = append(snap.Links, web.Link{A: l.A, B: l.B, Kind: l.Kind, RSSI: l.RSSI, LQI: l.LQI, Loss: l.Loss, Cut: l.Cut})
	}
	regs := b.nd.Registry().Snapshot(now)
	snap.Registrations = make([]web.Registration, 0, len(regs))
	for i := range regs {
		r := &regs[i]
		g := web.Registration{Address: r.Addr.String(), ROVR: r.ROVR.String(), LifetimeSec: int64(r.Lifetime) * 60,
			ExpiresInSec: int64(r.Expires.Sub(now) / time.Second), Protected: r.Protected}
		if r.Direct() {
			g.LinkAddr = r.LinkAddr.String()
		} else {
			g.Via = r.Via.String()
		}
		snap.Registrations = append(snap.Registrations, g)
	}
	return snap
}

// pageStatus maps a node's status to the page's five (its colours): an
// ND status other than success (RFC 8505 §4.1, Table 1) is a refusal,
// which the page shows with its reason.
func pageStatus(s string) (status, refused string) {
	switch s {
	case "registered", "pending", "refused", "deregistered", "stopped":
		return s, ""
	case "success":
		return "registered", ""
	case "":
		return "pending", ""
	}
	return "refused", s
}

// Control carries out a page's action: the simulator's controls
// (simcontrol.go) and an RCP reset.
func (s webSource) Control(ctx context.Context, a web.Action) error {
	b := s.b
	switch a.Kind {
	case "rcp-reset":
		return webErr(b.InjectRCPFault(RCPFault{Kind: "reset"}))
	case "cut", "restore":
		if a.A == "" || a.B == "" {
			return fmt.Errorf("%w: %s: want a and b (node names)", web.ErrBadAction, a.Kind)
		}
		if a.Kind == "cut" {
			return webErr(b.SimCutLink(a.A, a.B))
		}
		return webErr(b.SimRestoreLink(a.A, a.B))
	case "loss":
		if !(a.Loss >= 0 && a.Loss <= 1) {
			return fmt.Errorf("%w: loss %v: want 0..1", web.ErrBadAction, a.Loss)
		}
		return webErr(b.SimSetLoss(a.A, a.B, a.Loss))
	case "add":
		_, err := b.SimAddNode(a.Node)
		return webErr(err)
	case "remove":
		return webErr(b.SimRemoveNode(a.Node))
	case "restart":
		return webErr(b.SimRestartNode(a.Node))
	}
	return fmt.Errorf("%w: unknown action %q (want cut, restore, loss, add, remove, restart, rcp-reset)", web.ErrBadAction, a.Kind)
}

// webErr says which of the page's errors err is.
func webErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoSimulation), errors.Is(err, ErrNoSimulatedRCP):
		return fmt.Errorf("%w: %w", web.ErrUnsupported, err)
	case errors.Is(err, ErrNoSuchNode), errors.Is(err, ErrUnknownFault), errors.Is(err, sim.ErrNotInRange),
		errors.Is(err, sim.ErrBadLoss), errors.Is(err, sim.ErrBorderRouter):
		return fmt.Errorf("%w: %w", web.ErrBadAction, err)
	case errors.Is(err, sim.ErrMeshFull), errors.Is(err, sim.ErrMeshStopped):
		return fmt.Errorf("%w: %w", web.ErrConflict, err)
	}
	return err
}

// compile-time check.
var _ web.Source = webSource{}
