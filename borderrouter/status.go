package borderrouter

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/metrics"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim"
)

// What the border router reports about itself, as the status API serves
// it (JSON). Every name is snake_case and a quantity with a unit says it
// (uptime_seconds, rssi_dbm, reassembly_memory_bytes); durations are
// numbers of seconds; counters are named for what they count and only
// grow. TestStatusJSONNames holds every type served here to it.

// Status is the border router at a glance: radio, prefix, contexts,
// counters and neighbours.
type Status struct {
	Version       string                `json:"version"`
	UptimeSeconds int64                 `json:"uptime_seconds"`
	Radio         RadioStatus           `json:"radio"`
	Prefix        string                `json:"prefix"`
	Address       string                `json:"address"` // the border router's, in the mesh prefix
	ABRO          uint32                `json:"abro_version"`
	Contexts      []Context             `json:"contexts"`
	TUN           string                `json:"tun"`
	Registry      nd.RegistryStats      `json:"registry"`
	Forwarder     router.ForwarderStats `json:"forwarder"`
	Link          link.LowpanStats      `json:"link"`
	Neighbors     []Neighbor            `json:"neighbors"`
	BLE           *BLEStatus            `json:"ble,omitempty"`
	ND            NDCounters            `json:"nd"`
	RPL           *RPLStatus            `json:"rpl,omitempty"`     // absent with rpl.mode off
	Capture       *CaptureStats         `json:"capture,omitempty"` // absent without capture.file or capture.zep_mirror
}

// NDCounters are the 6LBR's running totals (nd.Counters), the counts by
// type, status and reason keyed by the names the metrics use as labels.
type NDCounters struct {
	// Received: ND messages handled, by type (rs, ns, edar, other,
	// ns_ignored).
	Received  map[string]uint64 `json:"received"`
	RAsSent   uint64            `json:"ras_sent"`
	NAsSent   uint64            `json:"nas_sent"`
	DACsSent  uint64            `json:"dacs_sent"`  // (E)DACs, to 6LRs
	MovedSent uint64            `json:"moved_sent"` // asynchronous EDACs with status "moved"
	// StatusReplies: answers to registrations, by status (success,
	// duplicate, neighbor_cache_full, …).
	StatusReplies map[string]uint64 `json:"status_replies"`
	// Refused: registrations refused for want of room, by reason
	// (neighbor_quota, link_quota, registry_full).
	Refused     map[string]uint64 `json:"refused"`
	Evicted     uint64            `json:"evicted"` // tentative registrations removed to make room
	APND        nd.APNDCounters   `json:"apnd"`
	APNDPending int               `json:"apnd_pending"` // AP-ND challenges outstanding
}

func newNDCounters(c nd.Counters) NDCounters {
	l := metrics.LabelND(c)
	return NDCounters{Received: l.Received, RAsSent: c.RAsSent, NAsSent: c.NAsSent, DACsSent: c.DACsSent, MovedSent: c.MovedSent,
		StatusReplies: l.StatusReplies, Refused: l.Refused, Evicted: c.Evicted, APND: c.APND, APNDPending: c.APNDPending}
}

// RPLStatus is the DODAG the border router roots.
type RPLStatus struct {
	Mode               string          `json:"mode"` // non-storing or storing
	Instance           uint8           `json:"instance"`
	Version            uint8           `json:"dodag_version"`
	DODAGID            string          `json:"dodag_id"`
	RPI                bool            `json:"rpi"`
	DIOIntervalSeconds float64         `json:"dio_interval_seconds"` // the Trickle interval now
	Targets            int             `json:"targets"`
	Stats              router.RPLStats `json:"stats"`
}

// RadioStatus is the RCP's.
type RadioStatus struct {
	URL       string    `json:"url"`
	Simulated bool      `json:"simulated"`
	Ready     bool      `json:"ready"`
	Firmware  string    `json:"firmware"`
	EUI64     string    `json:"eui64"`
	Channel   uint8     `json:"channel"`
	PANID     string    `json:"pan_id"`
	Stats     rcp.Stats `json:"stats"`
}

// BLEStatus is the IPv6-over-BLE side's.
type BLEStatus struct {
	Controller BLEController `json:"controller"`
	Stats      ble.Stats     `json:"stats"`
	Channels   []BLEChannel  `json:"channels"`
}

// BLEController is what start-up learnt of the controller
// (ble.ControllerInfo).
type BLEController struct {
	Addr          string `json:"addr"` // C0:11:22:33:44:55
	HCIVersion    uint8  `json:"hci_version"`
	Manufacturer  uint16 `json:"manufacturer"`
	Subversion    uint16 `json:"subversion"`
	ACLDataLength int    `json:"acl_data_length_octets"` // LE ACL data packet length
	ACLBuffers    int    `json:"acl_buffers"`            // LE ACL data packets the controller holds
	DataLength    bool   `json:"data_length_extension"`
	PHY2M         bool   `json:"phy_2m"`
	MaxTxOctets   int    `json:"max_tx_octets"`
}

// BLEChannel is an open IPSP channel.
type BLEChannel struct {
	Peer         string `json:"peer"`
	Handle       uint16 `json:"handle"`
	Central      bool   `json:"central"`
	Credits      uint16 `json:"credits"`
	Pending      int    `json:"pending_sdus"`
	SDUsSent     uint64 `json:"sdus_sent"`
	SDUsReceived uint64 `json:"sdus_received"`
	CreditStalls uint64 `json:"credit_stalls"`
	QueueFull    uint64 `json:"queue_full"` // SDUs refused: the channel's queue was full
}

// Neighbor is an 802.15.4 neighbour as the link last heard it.
type Neighbor struct {
	Addr   string `json:"addr"`
	RSSI   int8   `json:"rssi_dbm"`
	LQI    uint8  `json:"lqi"`
	Frames uint64 `json:"frames"`
	// LastHeardSeconds: how long ago (to the millisecond).
	LastHeardSeconds float64 `json:"last_heard_seconds"`
}

// Context is a compression context at its point of the RFC 6775 §7.2 life
// cycle.
type Context struct {
	ID          uint8  `json:"id"`
	Prefix      string `json:"prefix"`
	Compress    bool   `json:"compress"`
	Withdrawing bool   `json:"withdrawing,omitempty"`
}

// Registration is an entry of the 6LBR's registry.
type Registration struct {
	Address string `json:"address"`
	ROVR    string `json:"rovr"`
	TID     *uint8 `json:"tid,omitempty"`
	// LifetimeSeconds: the registration lifetime granted;
	// ExpiresInSeconds: what is left of it.
	LifetimeSeconds  int64  `json:"lifetime_seconds"`
	ExpiresInSeconds int64  `json:"expires_in_seconds"`
	LinkAddr         string `json:"link_addr,omitempty"` // registered directly
	Via              string `json:"via,omitempty"`       // registered through this 6LR
	// Protected: proven by its Crypto-ID (RFC 8928); only its owner may
	// change or remove it.
	Protected bool `json:"protected"`
}

// Route is how the border router reaches an address: from a RPL DAO
// (protocol "rpl") or a registration (protocol "nd"). RPL routes come
// first: the forwarder asks RPL before the registry.
type Route struct {
	Destination string `json:"destination"` // an address, or a prefix a DAO announced
	Protocol    string `json:"protocol"`    // rpl or nd
	Link        string `json:"link"`
	NextHop     string `json:"next_hop,omitempty"` // link-layer address; empty: unreachable (a 6LR or parent on the way is gone)
	Via         string `json:"via,omitempty"`      // nd: the 6LR the address registered through; rpl: the DAO's parent (non-storing) or next hop (storing)
	// Hops: 1 for a neighbour, +1 per router on the way; 0: unreachable,
	// or (RPL storing mode, a target behind the next hop) unknown.
	Hops int `json:"hops"`
	// Path (RPL non-storing): the source route, first hop to destination.
	Path     []string `json:"path,omitempty"`
	External bool     `json:"external,omitempty"` // RPL: announced by a 6LR for a RPL-unaware leaf (E flag)
	// ExpiresInSeconds (RPL): the DAO's path lifetime left; absent for
	// nd, and for a RPL route that does not expire.
	ExpiresInSeconds *int64 `json:"expires_in_seconds,omitempty"`
}

// SimNode is a simulated node, 802.15.4 or BLE.
type SimNode struct {
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
	// Protected: the node's registration in force was made with a
	// Crypto-ID proof (RFC 8928 §6.1).
	Protected bool    `json:"protected"`
	RPL       *SimRPL `json:"rpl,omitempty"` // a RPL router's view of the DODAG
}

// SimRPL is a simulated RPL router's state in the DODAG.
type SimRPL struct {
	Joined       bool   `json:"joined"`
	Floating     bool   `json:"floating"` // lost its parents; roots a DODAG of its own, as RIOT does
	Rank         uint16 `json:"rank"`
	Parent       string `json:"parent,omitempty"` // the preferred parent's address
	DODAGVersion uint8  `json:"dodag_version"`
	DAOAcked     bool   `json:"dao_acked"` // its latest DAO was acknowledged
	Routes       int    `json:"routes"`    // storing mode: routes learnt from children
	Leaves       int    `json:"leaves"`    // RPL-unaware leaves it announces (RFC 9010)
}

// Status reports the border router.
func (b *BorderRouter) Status() Status {
	id := b.driver.Identity()
	cfg := b.config()
	s := Status{
		Version: b.version, UptimeSeconds: int64(time.Since(b.started) / time.Second),
		Radio: RadioStatus{URL: cfg.Radio.URL, Simulated: cfg.Simulated(), Ready: b.driver.Ready(), Firmware: id.Firmware,
			EUI64: colonHex(id.EUI64[:]), Channel: cfg.Radio.Channel, PANID: fmt.Sprintf("0x%04x", cfg.Radio.PANID), Stats: b.driver.Stats()},
		Prefix: cfg.Mesh.Prefix.String(), Address: b.global.String(), ABRO: b.nd.ABROVersion(), TUN: b.tun.Name(),
		Registry: b.nd.Registry().Stats(time.Now()), Forwarder: b.fwd.Stats(), Link: b.link.Stats(), ND: newNDCounters(b.nd.Counters()),
		Neighbors: b.Neighbors(),
	}
	if b.rcpSim != nil {
		s.Radio.URL = b.rcpSim.URL() + " (built-in simulator)"
	}
	if b.bleHost != nil {
		ci := b.bleHost.Info()
		bs := &BLEStatus{Controller: BLEController{Addr: ci.Addr.String(), HCIVersion: ci.HCIVersion, Manufacturer: ci.Manufacturer,
			Subversion: ci.Subversion, ACLDataLength: ci.ACLDataLength, ACLBuffers: ci.ACLBuffers, DataLength: ci.DataLength,
			PHY2M: ci.PHY2M, MaxTxOctets: ci.MaxTxOctets}, Stats: b.bleHost.Stats(), Channels: []BLEChannel{}}
		for _, c := range b.bleHost.OpenChannels() {
			bs.Channels = append(bs.Channels, BLEChannel{Peer: c.Peer.String(), Handle: c.Handle, Central: c.Central, Credits: c.Credits,
				Pending: c.Pending, SDUsSent: c.Stats.SDUsSent, SDUsReceived: c.Stats.SDUsReceived, CreditStalls: c.Stats.CreditStalls, QueueFull: c.Stats.QueueFull})
		}
		s.BLE = bs
	}
	if cs, ok := b.CaptureStats(); ok {
		s.Capture = &cs
	}
	for _, c := range b.nd.Contexts() {
		s.Contexts = append(s.Contexts, Context{ID: c.ID, Prefix: c.Prefix.String(), Compress: c.Compress, Withdrawing: c.Withdrawing})
	}
	if info, ok := b.fwd.RPLInfo(); ok {
		st, _ := b.fwd.RPL()
		mode := string(RPLNonStoring)
		if info.MOP == rpl.MOPStoring {
			mode = string(RPLStoring)
		}
		s.RPL = &RPLStatus{Mode: mode, Instance: info.Instance, Version: info.Version, DODAGID: info.DODAGID.String(), RPI: info.RPI,
			DIOIntervalSeconds: info.DIOInterval.Seconds(), Targets: st.Targets, Stats: st}
	}
	return s
}

// Neighbors lists the 802.15.4 neighbours the link has heard.
func (b *BorderRouter) Neighbors() []Neighbor {
	out := []Neighbor{}
	for _, n := range b.link.Neighbors() {
		out = append(out, Neighbor{Addr: n.Addr.String(), RSSI: n.RSSI, LQI: n.LQI, Frames: n.Frames,
			LastHeardSeconds: time.Since(n.LastHeard).Round(time.Millisecond).Seconds()})
	}
	return out
}

// Registrations lists the 6LBR's registry.
func (b *BorderRouter) Registrations() []Registration {
	now := time.Now()
	out := []Registration{}
	for _, r := range b.nd.Registry().Snapshot(now) {
		j := Registration{Address: r.Addr.String(), ROVR: r.ROVR.String(),
			LifetimeSeconds: int64(r.Lifetime) * 60, ExpiresInSeconds: int64(r.Expires.Sub(now).Round(time.Second) / time.Second),
			Protected: r.Protected}
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

// Routes says how the border router reaches each registered address
// (routeOf).
func (b *BorderRouter) Routes() []Route {
	now := time.Now()
	reg := b.nd.Registry()
	out := []Route{}
	mop, rpls := b.fwd.RPLRoutes()
	byRPL := make(map[netip.Addr]bool, len(rpls))
	slices.SortFunc(rpls, func(a, b router.RPLRoute) int { return a.Target.Addr().Compare(b.Target.Addr()) })
	for _, r := range rpls {
		j := Route{Destination: r.Target.String(), Protocol: "rpl", Link: b.fwd.LinkName(r.Link), Via: r.Via.String(), External: r.External}
		if r.Target.Bits() == 128 {
			j.Destination = r.Target.Addr().String()
			byRPL[r.Target.Addr()] = true
		}
		if !r.Expires.IsZero() {
			left := int64(r.Expires.Sub(now).Round(time.Second) / time.Second)
			j.ExpiresInSeconds = &left
		}
		if len(r.Path) > 0 {
			j.NextHop = r.NextHop.String()
			if mop == rpl.MOPNonStoring {
				j.Hops = len(r.Path)
				for _, a := range r.Path {
					j.Path = append(j.Path, a.String())
				}
			} else if t, v := r.Target.Addr().As16(), r.Via.As16(); r.Target.Bits() == 128 && [8]byte(t[8:]) == [8]byte(v[8:]) {
				// Storing mode: the root knows the next hop only; a target
				// that is its own next hop (same interface identifier) is
				// a neighbour.
				j.Hops = 1
			}
		}
		out = append(out, j)
	}
	for _, r := range reg.Snapshot(now) {
		if byRPL[r.Addr] {
			continue
		}
		out = append(out, b.routeOf(&r, now))
	}
	return out
}

// simNode is what the border router does with a simulated node, 802.15.4
// or BLE.
type simNode interface {
	Name() string
	State() sim.NodeState
	Deregister(ctx context.Context) error
	Ping(ctx context.Context, dst netip.Addr, size int) (time.Duration, error)
}

func (b *BorderRouter) simMesh() *sim.Mesh {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mesh
}

// simNode finds a simulated node by name.
func (b *BorderRouter) simNode(name string) (simNode, error) {
	mesh := b.simMesh()
	if mesh != nil {
		if n := mesh.Node(name); n != nil {
			return n, nil
		}
	}
	for _, n := range b.bleNodes {
		if n.Name() == name {
			return n, nil
		}
	}
	if mesh == nil && len(b.bleNodes) == 0 {
		return nil, ErrNoSimulation
	}
	return nil, fmt.Errorf("%w %q", ErrNoSuchNode, name)
}

// simStatus is a simulated node's registration state as the status
// shows it: the router's last answer once it has one, "pending" before
// (nd.Status's zero value reads "success", which a node that never
// registered has not had).
func simStatus(st sim.NodeState) string {
	if st.Deregistered && !st.Registered {
		return "deregistered"
	}
	if !st.Registered && !st.Refused.IsValid() && st.Status == nd.StatusSuccess {
		return "pending"
	}
	return st.Status.String()
}

// SimNodes lists the simulated nodes, BLE first; empty on real radios.
func (b *BorderRouter) SimNodes() []SimNode {
	out := []SimNode{}
	for _, n := range b.bleNodes {
		st := n.State()
		j := SimNode{Name: n.Name(), EUI64: n.Addr().String(), Role: "6LN (BLE)", Registered: st.Registered, Status: simStatus(st),
			Echoes: st.Echoes, Deregistered: st.Deregistered, Sessions: n.Sessions(), Protected: st.Protected}
		if st.Global.IsValid() {
			j.Address = st.Global.String()
		}
		if st.Router.IsValid() {
			j.Parent = st.RouterMAC.String()
		}
		out = append(out, j)
	}
	mesh := b.simMesh()
	if mesh == nil {
		return out
	}
	for _, n := range mesh.Nodes() {
		st := n.State()
		eui := n.Config().EUI64
		j := SimNode{Name: n.Name(), EUI64: colonHex(eui[:]), Role: n.Config().Role.String(), Registered: st.Registered,
			Status: simStatus(st), Routes: st.Routes, Echoes: st.Echoes, Forwarded: st.Forwarded, Deregistered: st.Deregistered,
			Protected: st.Protected}
		if st.Global.IsValid() {
			j.Address = st.Global.String()
		}
		if st.Refused.IsValid() {
			j.Refused = st.Refused.String()
		}
		if st.Router.IsValid() {
			j.Parent = st.RouterMAC.String()
		}
		if r, ok := n.RPL(); ok {
			j.RPL = &SimRPL{Joined: r.Joined, Floating: r.Floating, Rank: r.Rank, DODAGVersion: r.Version, DAOAcked: r.DAOAcked, Routes: r.Routes, Leaves: r.RULs}
			if r.Parent.IsValid() {
				j.RPL.Parent = r.Parent.String()
			}
		}
		out = append(out, j)
	}
	return out
}

// Deregister has the simulated node name withdraw its registration
// (lifetime 0) and waits for the 6LBR's answer.
func (b *BorderRouter) Deregister(ctx context.Context, name string) error {
	n, err := b.simNode(name)
	if err != nil {
		return err
	}
	return n.Deregister(ctx)
}

// Ping has the simulated node name send an echo request of size octets
// to dst, and returns the round-trip time.
func (b *BorderRouter) Ping(ctx context.Context, name string, dst netip.Addr, size int) (time.Duration, error) {
	n, err := b.simNode(name)
	if err != nil {
		return 0, err
	}
	rtt, err := n.Ping(ctx, dst, size)
	if err != nil {
		return 0, fmt.Errorf("%s: ping %v: %w", name, dst, err)
	}
	return rtt, nil
}

// DropBLE drops the connection of the simulated BLE node name.
func (b *BorderRouter) DropBLE(name string) error {
	for _, n := range b.bleNodes {
		if n.Name() == name {
			n.Drop()
			return nil
		}
	}
	return fmt.Errorf("%w: %q is not a simulated BLE node (only BLE connections can be dropped)", ErrNoSuchNode, name)
}

// RCPFault is a failure of the simulated RCP, for tests and
// demonstrations.
type RCPFault struct {
	// Kind: "reset" (the RCP resets on its own), "restart" (it comes back
	// as another RCP, with EUI64), "stall" (it hangs For, as under
	// SIGSTOP), "unplug", "replug".
	Kind  string
	EUI64 [8]byte
	For   time.Duration
}

// Errors of InjectRCPFault.
var (
	// ErrNoSimulatedRCP: the border router drives a real radio.
	ErrNoSimulatedRCP = errors.New("no simulated RCP")
	// ErrUnknownFault: RCPFault.Kind is none of the faults.
	ErrUnknownFault = errors.New("want reset, restart, stall, unplug or replug")
)

// InjectRCPFault makes the simulated RCP fail as f says; ErrNoSimulatedRCP
// when the border router drives a real radio.
func (b *BorderRouter) InjectRCPFault(f RCPFault) error {
	if b.rcpSim == nil {
		return fmt.Errorf("%w: the border router drives %s", ErrNoSimulatedRCP, b.config().Radio.URL)
	}
	switch f.Kind {
	case "reset":
		b.rcpSim.Reset()
	case "restart":
		b.rcpSim.Restart(f.EUI64)
	case "stall":
		b.rcpSim.Stall(f.For)
	case "unplug":
		b.rcpSim.Unplug()
	case "replug":
		return b.rcpSim.Replug()
	default:
		return fmt.Errorf("fault %q: %w", f.Kind, ErrUnknownFault)
	}
	return nil
}

// Reach says how to reach the mesh: the border router's address and TUN,
// and the simulated nodes with the addresses they register.
type Reach struct {
	Address netip.Addr // the border router's, in the mesh prefix
	TUN     string
	Prefix  netip.Prefix
	Channel uint8
	PANID   uint16
	// Simulated mesh, when there is one (the built-in RCP, or sim.ot_node).
	Simulated bool
	Topology  sim.Topology
	Nodes     []SimAddr
	BLENodes  []SimAddr
}

// SimAddr is a simulated node and the address it registers.
type SimAddr struct {
	Name    string
	Address netip.Addr
	Device  string // a BLE node's device address
}

// Reach says how to reach the mesh.
func (b *BorderRouter) Reach() Reach {
	cfg := b.config()
	r := Reach{Address: b.global, TUN: b.tun.Name(), Prefix: cfg.Mesh.Prefix, Channel: cfg.Radio.Channel, PANID: cfg.Radio.PANID,
		Simulated: b.rcpSim != nil || b.otBridge != nil, Topology: cfg.Sim.Topology}
	if r.Simulated {
		for i := range cfg.Sim.Nodes {
			r.Nodes = append(r.Nodes, SimAddr{Name: sim.NodeName(i), Address: sim.Addr(cfg.Mesh.Prefix, i)})
		}
	}
	for i, n := range b.bleNodes {
		r.BLENodes = append(r.BLENodes, SimAddr{Name: n.Name(), Address: simBLENodeGlobal(cfg.Mesh.Prefix, i), Device: n.Addr().String()})
	}
	return r
}

// config is a copy of the configuration in force.
func (b *BorderRouter) config() Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}
