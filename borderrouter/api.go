package borderrouter

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lowpanbr/lowpanbr/nd"
)

// The status API: JSON over HTTP on a Unix socket (only local users with
// access to the socket file reach it), served from the BorderRouter's
// methods.
//
//	GET  /api/v1/status                      Status
//	GET  /api/v1/registrations               Registrations
//	GET  /api/v1/routes                      Routes
//	POST /api/v1/rpl/repair                  RepairDODAG (global repair: a new DODAG version)
//	GET  /api/v1/sim/nodes                   SimNodes
//	POST /api/v1/sim/nodes/{name}/deregister Deregister
//	POST /api/v1/sim/nodes/{name}/ping?to=A  Ping
//	POST /api/v1/sim/nodes/{name}/drop       DropBLE
//	POST /api/v1/sim/rcp/{fault}             InjectRCPFault: reset,
//	                                         restart?eui64=HEX, stall?for=DURATION, unplug, replug
//
// The metrics server: /metrics (Prometheus), /healthz (the process
// answers) and /readyz (Ready).

// APIHandler serves the status API from b.
func (b *BorderRouter) APIHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, b.Status()) })
	mux.HandleFunc("GET /api/v1/registrations", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, b.Registrations()) })
	mux.HandleFunc("GET /api/v1/routes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, b.Routes()) })
	mux.HandleFunc("POST /api/v1/rpl/repair", func(w http.ResponseWriter, r *http.Request) {
		v, err := b.RepairDODAG()
		if err != nil {
			httpError(w, err, http.StatusConflict)
			return
		}
		writeJSON(w, map[string]uint8{"dodag_version": v})
	})
	b.simControlRoutes(mux)
	b.webAPIRoutes(mux)
	mux.HandleFunc("GET /api/v1/sim/nodes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, b.SimNodes()) })
	mux.HandleFunc("POST /api/v1/sim/nodes/{name}/deregister", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := b.Deregister(ctx, name); err != nil {
			httpError(w, err, http.StatusGatewayTimeout)
			return
		}
		writeJSON(w, map[string]string{"deregistered": name})
	})
	mux.HandleFunc("POST /api/v1/sim/nodes/{name}/ping", func(w http.ResponseWriter, r *http.Request) {
		to, err := netip.ParseAddr(r.URL.Query().Get("to"))
		if err != nil || !to.Is6() {
			http.Error(w, "want ?to=IPV6-ADDRESS[&size=N]", http.StatusBadRequest)
			return
		}
		size := 56
		if s := r.URL.Query().Get("size"); s != "" {
			if size, err = strconv.Atoi(s); err != nil || size < 0 || size > 1232 {
				http.Error(w, "size: want 0..1232", http.StatusBadRequest)
				return
			}
		}
		name := r.PathValue("name")
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		rtt, err := b.Ping(ctx, name, to, size)
		if err != nil {
			httpError(w, err, http.StatusGatewayTimeout)
			return
		}
		writeJSON(w, map[string]string{"from": name, "to": to.String(), "rtt": rtt.String()})
	})
	mux.HandleFunc("POST /api/v1/sim/nodes/{name}/drop", func(w http.ResponseWriter, r *http.Request) {
		if err := b.DropBLE(r.PathValue("name")); err != nil {
			httpError(w, err, http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"dropped": r.PathValue("name")})
	})
	mux.HandleFunc("POST /api/v1/sim/rcp/{fault}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := RCPFault{Kind: r.PathValue("fault")}
		switch f.Kind {
		case "restart":
			e, err := hex.DecodeString(strings.ReplaceAll(q.Get("eui64"), ":", ""))
			if err != nil || len(e) != 8 {
				http.Error(w, "want ?eui64= and 16 hex digits", http.StatusBadRequest)
				return
			}
			f.EUI64 = [8]byte(e)
		case "stall":
			d, err := time.ParseDuration(q.Get("for"))
			if err != nil || d <= 0 || d > 5*time.Minute {
				http.Error(w, "want ?for=DURATION, up to 5m", http.StatusBadRequest)
				return
			}
			f.For = d
		}
		if err := b.InjectRCPFault(f); err != nil {
			httpError(w, err, http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"rcp": f.Kind})
	})
	return mux
}

// routeOf says how the border router reaches registration r: the link,
// the next hop and the hops, from the registry's one route computation
// (nd.Registry.Route, which the forwarder uses too): the chain of 6LRs
// each registered through the next (RFC 8505 §5.7), up to the hop limit,
// loops refused. An address that cannot be reached (a 6LR on the way
// gone, a loop, too far) has no next hop and 0 hops.
func (b *BorderRouter) routeOf(r *nd.Registration, now time.Time) Route {
	j := Route{Destination: r.Addr.String(), Protocol: "nd", Link: b.fwd.LinkName(r.Link)}
	if !r.Direct() {
		j.Via = r.Via.String()
	}
	var rt nd.Route
	var err error
	if r.Addr.IsLinkLocalUnicast() {
		// Link-local addresses are registered directly only (RFC 8505
		// §5.6) and reached on their own link.
		rt = nd.Route{Link: r.Link, NextHop: r.LinkAddr, Hops: 1}
	} else if rt, err = b.nd.Registry().Route(r.Addr, now); err != nil {
		return j
	}
	j.Link, j.NextHop, j.Hops = b.fwd.LinkName(rt.Link), rt.NextHop.String(), rt.Hops
	return j
}

// ErrNoRPL: the border router is not a RPL root (rpl.mode off).
var ErrNoRPL = errors.New("borderrouter: RPL is off (rpl.mode)")

// RepairDODAG is global repair (RFC 6550 §7.2, §8.2.2.1): the root
// advertises a new DODAG version, nodes rejoin it and send their DAOs
// again. It returns the new version.
func (b *BorderRouter) RepairDODAG() (uint8, error) {
	if !b.fwd.IncrementDODAGVersion() {
		return 0, ErrNoRPL
	}
	info, _ := b.fwd.RPLInfo()
	b.log.Info("RPL global repair", "dodag_version", info.Version)
	return info.Version, nil
}

// httpError answers with err, and a status that says what kind of error
// it is; other is for the rest.
func httpError(w http.ResponseWriter, err error, other int) {
	code := other
	switch {
	case errors.Is(err, ErrNoSimulation):
		code = http.StatusConflict
	case errors.Is(err, ErrNoSuchNode), errors.Is(err, ErrNoSimulatedRCP), errors.Is(err, ErrUnknownFault):
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// httpServer serves a handler on a listener until Close.
type httpServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	path string // a Unix socket's, removed on Close
}

func (b *BorderRouter) serveHTTP(ln net.Listener, h http.Handler, what string) *httpServer {
	s := &httpServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Warn(what+" server stopped", "err", err)
		}
	}()
	return s
}

// Addr is where the server listens (useful with port 0).
func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waits for it and removes its socket.
func (s *httpServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if s.path != "" {
		os.Remove(s.path)
	}
	return err
}

func (b *BorderRouter) startMetrics(listen string) (*httpServer, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", listen, err)
	}
	return b.serveHTTP(ln, b.MetricsHandler(), "metrics"), nil
}

func (b *BorderRouter) startAPI(path string) (*httpServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	// A socket left by a process that died is in the way; one that answers
	// belongs to a running border router.
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("api: %s: another lowpanbr is running (its API socket answers)", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	os.Chmod(path, 0o660)
	s := b.serveHTTP(ln, b.APIHandler(), "API")
	s.path = path
	return s, nil
}

// MetricsAddr is where the metrics server listens; "" when it is off.
func (b *BorderRouter) MetricsAddr() string {
	if b.metSrv == nil {
		return ""
	}
	return b.metSrv.Addr()
}
