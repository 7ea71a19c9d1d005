package borderrouter

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim"
)

// Config is everything a border router is built from. Its sections are the
// configuration file's (radio.channel is Radio.Channel); Keys lists every
// key with the field it sets. Start from Defaults: a zero Config is not
// valid. Validate reports every bad field as a FieldError; New validates
// too.
type Config struct {
	Radio      RadioConfig
	Mesh       MeshConfig
	TUN        TUNConfig
	Registry   RegistryConfig
	ND         NDConfig
	Reassembly lowpan.ReassemblyConfig // reassembly.*; zero fields take lowpan's defaults
	Forward    ForwardConfig
	RPL        RPLConfig
	Upstream   UpstreamConfig
	BLE        BLEConfig
	Metrics    MetricsConfig
	Web        WebConfig
	Capture    CaptureConfig
	API        APIConfig
	StateDir   string // state_dir: the registry and interface state, an absolute path
	Log        LogConfig
	Sim        SimConfig
}

// RadioConfig is the radio section: the 802.15.4 radio co-processor.
type RadioConfig struct {
	URL        string // an OTBR-style radio URL; "": the built-in simulated RCP
	Channel    uint8  // 11..26
	PANID      uint16 // 0x0000..0xfffe
	TxPowerDBm int8
}

// MeshConfig is the mesh section: what the 6LBR advertises.
type MeshConfig struct {
	// Prefix is the mesh prefix, a /64; the border router is ::1 in it.
	Prefix netip.Prefix
	// Contexts are the 6LoWPAN compression contexts (RFC 6282 §3.1.2);
	// empty: context 0 is Prefix.
	Contexts []nd.ContextConfig
	// ContextChangeDelay is how long a new or changed context is sent with
	// C=0 before it is used (RFC 6775 §7.2); 0: nd.MinContextChangeDelay,
	// none on the simulator; negative: none.
	ContextChangeDelay time.Duration
	// The 6LBR's lifetimes; 0: nd's defaults.
	PrefixValidLifetime     time.Duration
	PrefixPreferredLifetime time.Duration
	ContextLifetime         time.Duration
	RouterLifetime          time.Duration
	ABROLifetime            time.Duration
}

// TUNConfig is the tun section: the host side of the mesh.
type TUNConfig struct {
	Name       string // 1..15 characters
	MTU        int    // 1280..65535
	Forwarding bool   // turn on IPv6 forwarding (and restore it on Close)
}

// RegistryConfig is the registry section: the 6LBR's registry (nd).
type RegistryConfig struct {
	Size int // most address registrations the 6LBR holds
	// MaxPerNeighbor, MaxPerRouter and MaxPerLink are the shares of
	// nd.RegistryConfig; 0: nd's defaults (MaxPerNeighbor has a key
	// default of nd.DefaultMaxPerNeighbor).
	MaxPerNeighbor int
	MaxPerRouter   int
	MaxPerLink     int
	// MaxLifetime caps the registration lifetime granted; 0:
	// nd.DefaultMaxLifetime.
	MaxLifetime time.Duration
	// SaveDelay is how long a registry change waits to be written; 0:
	// nd.DefaultSaveDelay.
	SaveDelay time.Duration
}

// NDConfig is the nd section: the 6LBR's neighbour discovery beyond the
// registry's sizes — Address-Protected ND (RFC 8928, nd.APNDConfig).
type NDConfig struct {
	// OmitSolicitedSLLAO leaves the SLLAO out of the unicast RA that
	// answers an RS on 802.15.4 (nd.Config.OmitSolicitedSLLAO): one frame
	// instead of two, against RFC 6775 §5.4/§6.3, for meshes of stacks
	// that never read it (RIOT).
	OmitSolicitedSLLAO bool
	// APND turns AP-ND on: registrations that claim a Crypto-ID are
	// challenged and, once proven, protected from being replaced or
	// removed by anyone who cannot prove it; legacy registrations go on
	// as before, unprotected, unless APNDRequire.
	APND bool
	// APNDRequire refuses registrations without a Crypto-ID
	// (nd.APNDConfig.RequireCryptoID).
	APNDRequire bool
	// APNDTrustRelays takes a 6LR's EDAR status 5 as proof
	// (nd.APNDConfig.TrustRelays).
	APNDTrustRelays bool
	// APNDChallengeLifetime, APNDMaxChallenges,
	// APNDMaxChallengesPerSource and APNDMaxCIPOs bound the challenges and
	// the keys remembered; 0: nd's defaults.
	APNDChallengeLifetime      time.Duration
	APNDMaxChallenges          int
	APNDMaxChallengesPerSource int
	APNDMaxCIPOs               int
	// ControlNeighborRate, ControlNeighborBurst, ControlStrangerRate and
	// ControlStrangerBurst bound the ND messages the forwarder's control
	// path admits (router.ControlConfig): per registered neighbour, and
	// from all strangers together.
	ControlNeighborRate  float64
	ControlNeighborBurst int
	ControlStrangerRate  float64
	ControlStrangerBurst int
}

// apndConfig is nd's AP-ND configuration; nil when AP-ND is off.
func (c *NDConfig) apndConfig() *nd.APNDConfig {
	if !c.APND {
		return nil
	}
	return &nd.APNDConfig{RequireCryptoID: c.APNDRequire, TrustRelays: c.APNDTrustRelays, ChallengeLifetime: c.APNDChallengeLifetime,
		MaxChallenges: c.APNDMaxChallenges, MaxChallengesPerSource: c.APNDMaxChallengesPerSource, MaxCIPOs: c.APNDMaxCIPOs}
}

// controlConfig is the forwarder's control path configuration.
func (c *NDConfig) controlConfig() router.ControlConfig {
	return router.ControlConfig{NeighborRate: c.ControlNeighborRate, NeighborBurst: float64(c.ControlNeighborBurst),
		StrangerRate: c.ControlStrangerRate, StrangerBurst: float64(c.ControlStrangerBurst)}
}

// ForwardConfig is the forward section: what the forwarder lets through.
type ForwardConfig struct {
	// AllowUnregisteredSources: router.ForwarderConfig's.
	AllowUnregisteredSources bool
}

// UpstreamConfig is the upstream section: Router Advertisements with a
// route to the mesh prefix on the LAN (RFC 4191). Off when Interface is
// empty; zero durations take upstream's defaults.
type UpstreamConfig struct {
	Interface      string
	RouteLifetime  time.Duration
	MinInterval    time.Duration
	MaxInterval    time.Duration
	Preference     nd.Preference
	RouterLifetime time.Duration
}

// BLEConfig is the ble section: IPv6 over BLE (IPSP). Off without a URL,
// unless Sim.BLENodes asks for a simulated controller.
type BLEConfig struct {
	URL            string // an HCI URL
	Connect        bool   // connect to IPSP nodes as central
	Advertise      bool   // advertise the IPSS and accept connections
	Allow          []hci.BDAddr
	MaxConnections int
	ConnInterval   time.Duration
}

// MetricsConfig is the metrics section.
type MetricsConfig struct {
	// Listen is the host:port of /metrics, /healthz and /readyz; "": off.
	Listen string
	// MaxNeighbors caps the neighbours tracked for link quality (and so
	// the label values of the per-neighbour metrics).
	MaxNeighbors int
}

// WebConfig is the web section: the live page of the mesh.
type WebConfig struct {
	// Enabled serves the page (at /) and its live updates.
	Enabled bool
	// Listen is the page's own host:port; "": the metrics listener's.
	Listen string
	// Controls lets the page change the simulated world (cut a link,
	// restart a node, reset the RCP): off by default, and even when on,
	// only a browser given the token that the API socket hands out
	// ('lowpanbr web') may use them.
	Controls bool
}

// CaptureConfig is the capture section: a copy of every frame for
// Wireshark.
type CaptureConfig struct {
	// File is a pcapng file the frames are written to as they come: one
	// interface per link (802.15.4 with FCS; BLE IPSP); "": none.
	File string
	// ZEPMirror is a UDP host:port every 802.15.4 frame is sent to as
	// ZEP v2 (Wireshark listening on UDP 17754 dissects it); "": none.
	ZEPMirror string
}

// APIConfig is the api section.
type APIConfig struct {
	Socket string // the status API's Unix socket; "": none
}

// LogConfig is the log section; NewLogger builds a logger from it.
type LogConfig struct {
	Level  slog.Level
	Format string // text or json
}

// SimConfig is the sim section: the simulated world.
type SimConfig struct {
	// The simulated mesh around the built-in RCP (or, with OTNode, beside
	// OpenThread's simulation radio); see sim.MeshConfig.
	Topology sim.Topology
	// Routing: how the simulated routers find the way down: sim.RoutingRPL
	// (RPL routers under the border router's DODAG) or sim.RoutingND
	// (6LRs relaying registrations by EDAR); "": sim's default.
	Routing    sim.Routing
	Leaves     float64 // with RPL: the fraction of nodes that are RPL-unaware leaves
	Nodes      int     // star, line, random; derived from Rows × Cols for a grid
	Rows, Cols int
	Seed       uint64
	Loss       float64
	Links      []sim.LinkOverride
	Intruders  []string
	// Protect makes every simulated node register with a Crypto-ID of
	// CryptoType (RFC 8928); nodes an intruder copies are protected
	// anyway.
	Protect    bool
	CryptoType nd.CryptoType
	Lifetime   time.Duration
	BLENodes   int      // simulated BLE IPSP nodes, on a simulated controller (without BLE.URL)
	BLEStalled []string // simulated BLE nodes that never return L2CAP credits
	// ZEP is the UDP address of the simulated medium's ZEP hub for
	// external nodes; "": none.
	ZEP string
	// OTNode, with a radio URL, is the node id of an OpenThread
	// simulation ot-rcp whose UDP medium the simulated mesh joins through
	// a bridge; 0: no simulated mesh beside a real radio.
	OTNode int

	// Fields without a key in the configuration file.

	EUI64     [8]byte // the simulated RCP's
	TimeScale float64 // the simulated medium's; 1: real time
}

// DefaultPrefix is the mesh prefix when none is configured: a ULA
// (RFC 4193) whose global ID spells "lowpa".
var DefaultPrefix = netip.MustParsePrefix("fd6c:6f77:7061::/64")

// DefaultSimEUI64 is the simulated RCP's EUI-64 (locally administered).
var DefaultSimEUI64 = [8]byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x00, 0x00, 0x01}

// DefaultConfigPath is the configuration file a Loader reads unless told
// otherwise.
const DefaultConfigPath = "/etc/lowpanbr/config.yaml"

// Defaults is the configuration with every key at its default: a border
// router on the built-in simulator with a star of ten nodes.
func Defaults() Config {
	return Config{
		Radio:    RadioConfig{Channel: 15, PANID: 0xface},
		Mesh:     MeshConfig{Prefix: DefaultPrefix},
		TUN:      TUNConfig{Name: "lowpan0", MTU: 1280},
		Registry: RegistryConfig{Size: 10000, MaxPerNeighbor: nd.DefaultMaxPerNeighbor},
		ND: NDConfig{APND: true, ControlNeighborRate: router.DefaultNeighborRate, ControlNeighborBurst: router.DefaultNeighborBurst,
			ControlStrangerRate: router.DefaultStrangerRate, ControlStrangerBurst: router.DefaultStrangerBurst},
		StateDir: "/var/lib/lowpanbr",
		API:      APIConfig{Socket: "/run/lowpanbr/api.sock"},
		Metrics:  MetricsConfig{Listen: "127.0.0.1:9580", MaxNeighbors: 64},
		Web:      WebConfig{Enabled: true},
		Log:      LogConfig{Level: slog.LevelInfo, Format: "text"},
		Sim: SimConfig{Topology: sim.Star, Nodes: 10, Rows: 3, Cols: 4, Seed: 1, Lifetime: 10 * time.Minute,
			EUI64: DefaultSimEUI64, TimeScale: 1},
		BLE: BLEConfig{Connect: true, MaxConnections: 4, ConnInterval: 30 * time.Millisecond},
		RPL: RPLConfig{Mode: RPLNonStoring, ObjectiveFunction: OF0, RPI: RPIAuto},
	}
}

// Simulated says whether the border router runs on the built-in simulated
// RCP (no radio URL).
func (c Config) Simulated() bool { return c.Radio.URL == "" }

// resolved fills in what a valid configuration leaves implicit, as the
// border router will use it: the prefix without host bits, context 0 is the mesh prefix when no context
// is given, a grid's node count comes from its rows and columns, and the
// simulated nodes' lifetime from sim's default.
func (c Config) resolved() Config {
	c.Mesh.Prefix = c.Mesh.Prefix.Masked()
	if len(c.Mesh.Contexts) == 0 {
		c.Mesh.Contexts = []nd.ContextConfig{{ID: 0, Prefix: c.Mesh.Prefix}}
	}
	m := c.meshConfig()
	if m.Validate() == nil {
		c.Sim.Topology, c.Sim.Nodes, c.Sim.Lifetime = m.Topology, m.Nodes, m.Lifetime
	}
	return c
}

// meshConfig is the simulated mesh of c.
func (c *Config) meshConfig() sim.MeshConfig {
	s := &c.Sim
	routing := s.Routing
	if routing == "" {
		// The simulated routers speak RPL when the border router is a RPL
		// root (the default), as real route-over meshes do; a star has no
		// routers.
		routing = sim.RoutingND
		if c.RPL.Mode != RPLOff && s.Topology != sim.Star && s.Topology != "" {
			routing = sim.RoutingRPL
		}
	}
	return sim.MeshConfig{Topology: s.Topology, Nodes: s.Nodes, Rows: s.Rows, Cols: s.Cols, Seed: s.Seed, Loss: s.Loss,
		Links: s.Links, Intruders: s.Intruders, Protect: s.Protect, CryptoType: s.CryptoType, Lifetime: s.Lifetime,
		Channel: c.Radio.Channel, PANID: c.Radio.PANID, Routing: routing, Leaves: s.Leaves}
}
