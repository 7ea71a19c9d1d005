package main

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

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim"
)

// The status API: JSON over HTTP on a Unix socket (only local users with
// access to the socket file reach it).
//
//	GET  /api/v1/status                      radio, prefix, contexts, counters
//	GET  /api/v1/registrations               the 6LBR registry
//	GET  /api/v1/sim/nodes                   the simulated nodes
//	POST /api/v1/sim/nodes/{name}/deregister a simulated node withdraws its registration
//	POST /api/v1/sim/nodes/{name}/ping?to=A  a simulated node pings A
//	POST /api/v1/sim/nodes/{name}/drop       a simulated BLE node's connection drops
//	POST /api/v1/sim/rcp/{fault}             the simulated RCP fails: reset (on its own),
//	                                         restart?eui64=HEX (comes back as another RCP),
//	                                         stall?for=DURATION (hangs, as SIGSTOP), unplug, replug

type apiServer struct {
	srv  *http.Server
	ln   net.Listener
	path string
	done chan struct{}
}

type statusJSON struct {
	Version   string                `json:"version"`
	Uptime    string                `json:"uptime"`
	Radio     radioJSON             `json:"radio"`
	Prefix    string                `json:"prefix"`
	Address   string                `json:"address"`
	ABRO      uint32                `json:"abro_version"`
	Contexts  []contextJSON         `json:"contexts"`
	TUN       string                `json:"tun"`
	Registry  nd.RegistryStats      `json:"registry"`
	Forwarder router.ForwarderStats `json:"forwarder"`
	Link      link.LowpanStats      `json:"link"`
	Neighbors []neighborJSON        `json:"neighbors"`
	BLE       *bleJSON              `json:"ble,omitempty"`
	ND        nd.Counters           `json:"nd"`
}

type radioJSON struct {
	URL       string    `json:"url"`
	Simulated bool      `json:"simulated"`
	Ready     bool      `json:"ready"`
	Firmware  string    `json:"firmware"`
	EUI64     string    `json:"eui64"`
	Channel   uint8     `json:"channel"`
	PANID     string    `json:"pan_id"`
	Stats     rcp.Stats `json:"stats"`
}

type bleJSON struct {
	Controller ble.ControllerInfo `json:"controller"`
	Stats      ble.Stats          `json:"stats"`
	Channels   []bleChannelJSON   `json:"channels"`
}

type bleChannelJSON struct {
	Peer         string `json:"peer"`
	Handle       uint16 `json:"handle"`
	Central      bool   `json:"central"`
	Credits      uint16 `json:"credits"`
	Pending      int    `json:"pending_sdus"`
	SDUsSent     uint64 `json:"sdus_sent"`
	SDUsReceived uint64 `json:"sdus_received"`
	CreditStalls uint64 `json:"credit_stalls"`
	QueueFull    uint64 `json:"queue_full"`
}

type neighborJSON struct {
	Addr      string `json:"addr"`
	RSSI      int8   `json:"rssi_dbm"`
	LQI       uint8  `json:"lqi"`
	Frames    uint64 `json:"frames"`
	LastHeard string `json:"last_heard"` // how long ago
}

type contextJSON struct {
	ID          uint8  `json:"id"`
	Prefix      string `json:"prefix"`
	Compress    bool   `json:"compress"`
	Withdrawing bool   `json:"withdrawing,omitempty"`
}

type registrationJSON struct {
	Address   string `json:"address"`
	ROVR      string `json:"rovr"`
	TID       *uint8 `json:"tid,omitempty"`
	Lifetime  string `json:"lifetime"`
	ExpiresIn string `json:"expires_in"`
	LinkAddr  string `json:"link_addr,omitempty"`
	Via       string `json:"via,omitempty"`
}

// routeJSON is how the border router reaches a registered address.
type routeJSON struct {
	Destination string `json:"destination"`
	Link        string `json:"link"`
	NextHop     string `json:"next_hop,omitempty"` // link-layer address; empty: unreachable (a 6LR on the way is gone)
	Via         string `json:"via,omitempty"`      // the 6LR the address registered through
	Hops        int    `json:"hops"`               // 1 for a neighbour, +1 per 6LR
}

type simNodeJSON struct {
	Name         string `json:"name"`
	EUI64        string `json:"eui64"`
	Role         string `json:"role"`
	Address      string `json:"address,omitempty"`
	Registered   bool   `json:"registered"`
	Status       string `json:"status"`
	Refused      string `json:"refused,omitempty"`
	Parent       string `json:"parent,omitempty"`
	Routes       int    `json:"routes"`
	Echoes       int    `json:"echoes"`
	Forwarded    int    `json:"forwarded"`
	Deregistered bool   `json:"deregistered,omitempty"`
	Sessions     int    `json:"sessions,omitempty"` // BLE: connections so far
}

func startAPI(d *daemon, path string) (*apiServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	// A socket left by a process that died is in the way; one that answers
	// belongs to a running daemon.
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
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, d.status()) })
	mux.HandleFunc("GET /api/v1/registrations", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, d.registrations()) })
	mux.HandleFunc("GET /api/v1/routes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, d.routes()) })
	mux.HandleFunc("GET /api/v1/sim/nodes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, d.simNodes()) })
	mux.HandleFunc("POST /api/v1/sim/nodes/{name}/deregister", func(w http.ResponseWriter, r *http.Request) {
		n, ok := d.findSimNode(w, r.PathValue("name"))
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := n.Deregister(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusGatewayTimeout)
			return
		}
		writeJSON(w, map[string]string{"deregistered": n.Name()})
	})
	mux.HandleFunc("POST /api/v1/sim/nodes/{name}/ping", func(w http.ResponseWriter, r *http.Request) {
		n, ok := d.findSimNode(w, r.PathValue("name"))
		if !ok {
			return
		}
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
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		rtt, err := n.Ping(ctx, to, size)
		if err != nil {
			http.Error(w, fmt.Sprintf("%s: ping %v: %v", n.Name(), to, err), http.StatusGatewayTimeout)
			return
		}
		writeJSON(w, map[string]string{"from": n.Name(), "to": to.String(), "rtt": rtt.String()})
	})
	mux.HandleFunc("POST /api/v1/sim/nodes/{name}/drop", func(w http.ResponseWriter, r *http.Request) {
		for _, b := range d.bleNodes {
			if b.Name() == r.PathValue("name") {
				b.Drop()
				writeJSON(w, map[string]string{"dropped": b.Name()})
				return
			}
		}
		http.Error(w, fmt.Sprintf("no simulated BLE node %q (only BLE connections can be dropped)", r.PathValue("name")), http.StatusNotFound)
	})
	mux.HandleFunc("POST /api/v1/sim/rcp/{fault}", func(w http.ResponseWriter, r *http.Request) {
		if d.rcpSim == nil {
			http.Error(w, "no simulated RCP: the daemon drives "+d.cfg.RadioURL, http.StatusNotFound)
			return
		}
		q := r.URL.Query()
		switch f := r.PathValue("fault"); f {
		case "reset":
			d.rcpSim.Reset()
		case "restart":
			b, err := hex.DecodeString(strings.ReplaceAll(q.Get("eui64"), ":", ""))
			if err != nil || len(b) != 8 {
				http.Error(w, "want ?eui64= and 16 hex digits", http.StatusBadRequest)
				return
			}
			d.rcpSim.Restart([8]byte(b))
		case "stall":
			dur, err := time.ParseDuration(q.Get("for"))
			if err != nil || dur <= 0 || dur > 5*time.Minute {
				http.Error(w, "want ?for=DURATION, up to 5m", http.StatusBadRequest)
				return
			}
			d.rcpSim.Stall(dur)
		case "unplug":
			d.rcpSim.Unplug()
		case "replug":
			if err := d.rcpSim.Replug(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		default:
			http.Error(w, fmt.Sprintf("fault %q: want reset, restart, stall, unplug or replug", f), http.StatusNotFound)
			return
		}
		writeJSON(w, map[string]string{"rcp": r.PathValue("fault")})
	})
	a := &apiServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, path: path, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Warn("API server stopped", "err", err)
		}
	}()
	return a, nil
}

// Close stops the server, waits for it and removes the socket.
func (a *apiServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := a.srv.Shutdown(ctx)
	<-a.done
	os.Remove(a.path)
	return err
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (d *daemon) status() statusJSON {
	id := d.driver.Identity()
	s := statusJSON{
		Version: version, Uptime: time.Since(d.started).Round(time.Second).String(),
		Radio: radioJSON{URL: d.cfg.RadioURL, Simulated: d.simulated(), Ready: d.driver.Ready(), Firmware: id.Firmware,
			EUI64: colonHex(id.EUI64[:]), Channel: d.cfg.Channel, PANID: fmt.Sprintf("0x%04x", d.cfg.PANID), Stats: d.driver.Stats()},
		Prefix: d.cfg.Prefix.String(), Address: d.global.String(), ABRO: d.nd.ABROVersion(), TUN: d.tun.Name(),
		Registry: d.nd.Registry().Stats(time.Now()), Forwarder: d.fwd.Stats(), Link: d.link.Stats(), ND: d.nd.Counters(),
	}
	if d.simulated() {
		s.Radio.URL = d.rcpSim.URL() + " (built-in simulator)"
	}
	if d.bleHost != nil {
		b := &bleJSON{Controller: d.bleHost.Info(), Stats: d.bleHost.Stats(), Channels: []bleChannelJSON{}}
		for _, c := range d.bleHost.OpenChannels() {
			b.Channels = append(b.Channels, bleChannelJSON{Peer: c.Peer.String(), Handle: c.Handle, Central: c.Central, Credits: c.Credits,
				Pending: c.Pending, SDUsSent: c.Stats.SDUsSent, SDUsReceived: c.Stats.SDUsReceived, CreditStalls: c.Stats.CreditStalls, QueueFull: c.Stats.QueueFull})
		}
		s.BLE = b
	}
	s.Neighbors = []neighborJSON{}
	for _, n := range d.link.Neighbors() {
		s.Neighbors = append(s.Neighbors, neighborJSON{Addr: n.Addr.String(), RSSI: n.RSSI, LQI: n.LQI, Frames: n.Frames,
			LastHeard: time.Since(n.LastHeard).Round(time.Millisecond).String()})
	}
	for _, c := range d.nd.Contexts() {
		s.Contexts = append(s.Contexts, contextJSON{ID: c.ID, Prefix: c.Prefix.String(), Compress: c.Compress, Withdrawing: c.Withdrawing})
	}
	return s
}

func (d *daemon) registrations() []registrationJSON {
	now := time.Now()
	out := []registrationJSON{}
	for _, r := range d.nd.Registry().Snapshot(now) {
		j := registrationJSON{Address: r.Addr.String(), ROVR: r.ROVR.String(),
			Lifetime: (time.Duration(r.Lifetime) * time.Minute).String(), ExpiresIn: r.Expires.Sub(now).Round(time.Second).String()}
		if r.HasTID {
			tid := r.TID
			j.TID = &tid
		}
		if r.Direct() {
			j.LinkAddr = r.LinkAddr.String()
		} else {
			j.Via = r.Via.String()
		}
		out = append(out, j)
	}
	return out
}

func (d *daemon) routes() []routeJSON {
	now := time.Now()
	reg := d.nd.Registry()
	out := []routeJSON{}
	for _, r := range reg.Snapshot(now) {
		j := routeJSON{Destination: r.Addr.String(), Link: d.fwd.LinkName(r.Link), Hops: 1}
		if !r.Direct() {
			j.Via = r.Via.String()
			// Count the 6LRs on the way: each registered through the next.
			for via := r.Via; via.IsValid() && j.Hops < 16; j.Hops++ {
				up, ok := reg.Lookup(via, now)
				if !ok {
					break
				}
				via = up.Via
			}
		}
		if _, ll, ok := reg.NextHop(r.Addr, now); ok {
			j.NextHop = ll.String()
		}
		out = append(out, j)
	}
	return out
}

// simNode is what the API does with a simulated node, 802.15.4 or BLE.
type simNode interface {
	Name() string
	State() sim.NodeState
	Deregister(ctx context.Context) error
	Ping(ctx context.Context, dst netip.Addr, size int) (time.Duration, error)
}

func (d *daemon) findSimNode(w http.ResponseWriter, name string) (simNode, bool) {
	if d.mesh != nil {
		if n := d.mesh.Node(name); n != nil {
			return n, true
		}
	}
	for _, b := range d.bleNodes {
		if b.Name() == name {
			return b, true
		}
	}
	if d.mesh == nil && len(d.bleNodes) == 0 {
		http.Error(w, "no simulated nodes: the daemon drives real radios", http.StatusConflict)
	} else {
		http.Error(w, fmt.Sprintf("no simulated node %q", name), http.StatusNotFound)
	}
	return nil, false
}

func (d *daemon) simNodes() []simNodeJSON {
	out := []simNodeJSON{}
	for _, b := range d.bleNodes {
		st := b.State()
		addr := b.Addr()
		j := simNodeJSON{Name: b.Name(), EUI64: addr.String(), Role: "6LN (BLE)", Registered: st.Registered, Status: st.Status.String(),
			Echoes: st.Echoes, Deregistered: st.Deregistered, Sessions: b.Sessions()}
		if st.Global.IsValid() {
			j.Address = st.Global.String()
		}
		if st.Router.IsValid() {
			j.Parent = st.RouterMAC.String()
		}
		out = append(out, j)
	}
	if d.mesh == nil {
		return out
	}
	for _, n := range d.mesh.Nodes() {
		st := n.State()
		eui := n.Config().EUI64
		j := simNodeJSON{Name: n.Name(), EUI64: colonHex(eui[:]), Role: n.Config().Role.String(), Registered: st.Registered,
			Status: st.Status.String(), Routes: st.Routes, Echoes: st.Echoes, Forwarded: st.Forwarded, Deregistered: st.Deregistered}
		if st.Global.IsValid() {
			j.Address = st.Global.String()
		}
		if st.Refused.IsValid() {
			j.Refused = st.Refused.String()
		}
		if st.Router.IsValid() {
			j.Parent = st.RouterMAC.String()
		}
		out = append(out, j)
	}
	return out
}
