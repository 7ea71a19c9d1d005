package main

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/upstream"
)

// daemonConfig is everything `lowpanbr run` needs, validated.
type daemonConfig struct {
	RadioURL   string // empty: the built-in simulator
	Channel    uint8
	PANID      uint16
	TxPowerDBm int8

	Prefix   netip.Prefix
	Contexts []nd.ContextConfig
	// ContextChangeDelay: see nd.Config (negative: none).
	ContextChangeDelay time.Duration

	TUNName    string
	TUNMTU     int
	Forwarding bool

	// 6LBR lifetimes (zero: nd's defaults).
	PrefixValidLifetime     time.Duration
	PrefixPreferredLifetime time.Duration
	ContextLifetime         time.Duration
	RouterLifetime          time.Duration
	ABROLifetime            time.Duration

	RegistryCapacity int
	Reassembly       lowpan.ReassemblyConfig
	StateDir         string
	APISocket        string // empty: no API
	MetricsListen    string // host:port of /metrics, /healthz, /readyz; empty: off
	// MaxNeighbors caps the neighbours tracked for link quality (and so
	// the label values of the per-neighbour metrics).
	MaxNeighbors int

	LogLevel  slog.Level
	LogFormat string // text or json

	Upstream *upstream.Config // nil: no RAs on the LAN

	// BLE is the IPv6-over-BLE side (IPSP); off without a URL, unless
	// SimBLENodes asks for a simulated controller.
	BLE         bleConfig
	SimBLENodes int
	// SimBLEStalled names simulated BLE nodes that never return L2CAP
	// credits (a misbehaving peer, for tests and demonstrations).
	SimBLEStalled []string

	Mesh     sim.MeshConfig // the simulated mesh (simulator only)
	SimEUI64 [8]byte        // the simulated RCP's EUI-64
	// SimZEP is the UDP address of the simulated medium's ZEP hub for
	// external nodes; empty: none.
	SimZEP string
	// SimOTNode, with a radio URL, is the node id of an OpenThread
	// simulation ot-rcp whose UDP medium the simulated mesh joins through
	// a bridge; 0: no simulated mesh beside a real radio.
	SimOTNode int
	TimeScale float64 // the simulated medium's (1: real time)
}

// defaultPrefix is the mesh prefix when none is configured: a ULA
// (RFC 4193) whose global ID spells "lowpa".
var defaultPrefix = netip.MustParsePrefix("fd6c:6f77:7061::/64")

// defaultSimEUI64 is the simulated RCP's EUI-64 (locally administered).
var defaultSimEUI64 = [8]byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x00, 0x00, 0x01}

func defaultDaemonConfig() daemonConfig {
	return daemonConfig{
		Channel: 15, PANID: 0xface, Prefix: defaultPrefix,
		TUNName: "lowpan0", TUNMTU: 1280,
		RegistryCapacity: 10000,
		StateDir:         "/var/lib/lowpanbr",
		APISocket:        "/run/lowpanbr/api.sock",
		MetricsListen:    "127.0.0.1:9580",
		MaxNeighbors:     64,
		LogLevel:         slog.LevelInfo,
		LogFormat:        "text",
		Mesh:             sim.MeshConfig{Topology: sim.Star, Nodes: 10, Rows: 3, Cols: 4, Seed: 1, Lifetime: 10 * time.Minute},
		SimEUI64:         defaultSimEUI64,
		TimeScale:        1,
		BLE:              bleConfig{Connect: true, MaxConnections: 4, ConnInterval: 30 * time.Millisecond},
	}
}

// bleConfig is the ble section.
type bleConfig struct {
	URL            string
	Connect        bool
	Advertise      bool
	AllowList      []hci.BDAddr
	MaxConnections int
	ConnInterval   time.Duration
}
