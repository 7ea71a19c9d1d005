package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/upstream"

	"github.com/spf13/viper"

	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/otsim"
)

// The configuration of `lowpanbr run` comes from four layers, each
// overriding the one before: the defaults, the YAML file, environment
// variables LOWPANBR_<SECTION>_<KEY> and the command-line flags. viper
// merges the layers; every value, whichever layer it comes from, is then
// parsed and checked by the same function of configKeys, so the file, the
// environment and the flags accept the same text and give the same errors.

// defaultConfigPath is read when --config is not given; its absence is
// not an error.
const defaultConfigPath = "/etc/lowpanbr/config.yaml"

// envPrefix starts the environment variable of every key.
const envPrefix = "LOWPANBR_"

// keyKind is how a key's value is written, in the file and in the example.
type keyKind int

const (
	kindString keyKind = iota
	kindInt
	kindFloat
	kindBool
	kindDuration
	kindList // YAML sequence; comma-separated in the environment; a repeatable flag
)

// configKey is one setting: its key in the file, its flag, and how it is
// read from and written to the configuration.
type configKey struct {
	key  string // section.name in snake_case, or a top-level name
	flag string // run's flag; "" for none
	meta string // the flag's argument in the usage, e.g. URL
	kind keyKind
	doc  string // one line: what it is and what is allowed
	// get returns the value as text ([]string for a list), the form of
	// the environment and of the example file.
	get func(*configDraft) any
	// set parses v (text, or what YAML decoded) into the draft. Its
	// error names the bad value and says what is allowed; the loader adds
	// the key and where the value came from.
	set func(d *configDraft, v any) error
}

// env is the key's environment variable, e.g. LOWPANBR_RADIO_CHANNEL.
func (k *configKey) env() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(k.key, ".", "_"))
}

// section is the part of the key before the dot; "" at the top level.
func (k *configKey) section() string {
	s, _, ok := strings.Cut(k.key, ".")
	if !ok {
		return ""
	}
	return s
}

// configDraft is a daemonConfig while the keys are read: the upstream RA
// settings wait there until it is known whether upstream.interface turns
// them on.
type configDraft struct {
	daemonConfig
	upstream upstream.Config
}

func defaultDraft() configDraft { return configDraft{daemonConfig: defaultDaemonConfig()} }

// configKeys is every key, in the order of the example file. Defaults
// come from defaultDaemonConfig through get.
var configKeys = []configKey{
	{key: "radio.url", flag: "radio", meta: "URL", kind: kindString,
		doc: `radio co-processor URL, e.g. spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800 or spinel+hdlc+uart://auto; "": the built-in simulator`,
		get: func(d *configDraft) any { return d.RadioURL },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err == nil && s != "" {
				_, err = transport.ParseURL(s)
			}
			if err == nil {
				d.RadioURL = s
			}
			return err
		}},
	{key: "radio.channel", flag: "channel", meta: "N", kind: kindInt,
		doc: "IEEE 802.15.4 channel (2.4 GHz): 11..26",
		get: func(d *configDraft) any { return strconv.Itoa(int(d.Channel)) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, 11, 26, "11..26")
			if err == nil {
				d.Channel = uint8(n)
			}
			return err
		}},
	{key: "radio.pan_id", flag: "pan-id", meta: "ID", kind: kindInt,
		doc: "PAN ID, hex or decimal: 0x0000..0xfffe (0xffff is the broadcast PAN)",
		get: func(d *configDraft) any { return fmt.Sprintf("0x%04x", d.PANID) },
		set: func(d *configDraft, v any) error {
			n, err := asPANID(v)
			if err == nil {
				d.PANID = uint16(n)
			}
			return err
		}},
	{key: "radio.tx_power", flag: "tx-power", meta: "DBM", kind: kindInt,
		doc: "transmit power in dBm: -128..127",
		get: func(d *configDraft) any { return strconv.Itoa(int(d.TxPowerDBm)) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, -128, 127, "-128..127 (dBm)")
			if err == nil {
				d.TxPowerDBm = int8(n)
			}
			return err
		}},

	{key: "mesh.prefix", flag: "prefix", meta: "PREFIX", kind: kindString,
		doc: "mesh prefix, an IPv6 /64; the border router is ::1 in it",
		get: func(d *configDraft) any { return d.Prefix.String() },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" || p.Bits() != 64 {
				return fmt.Errorf("%q: want an IPv6 /64 such as fd00:1::/64", s)
			}
			d.Prefix = p.Masked()
			return nil
		}},
	{key: "mesh.contexts", flag: "context", meta: "ID=PREFIX", kind: kindList,
		doc: `6LoWPAN compression contexts (RFC 6282 §3.1.2), "ID=PREFIX" with ID 0..15; []: context 0 is the mesh prefix`,
		get: func(d *configDraft) any {
			out := []string{}
			for _, c := range d.Contexts {
				out = append(out, fmt.Sprintf("%d=%v", c.ID, c.Prefix))
			}
			return out
		},
		set: func(d *configDraft, v any) error {
			l, err := asList(v)
			if err != nil {
				return err
			}
			d.Contexts = nil
			var errs []error
			for _, s := range l {
				id, c, err := lowpan.ParseContext(s)
				switch {
				case err != nil:
					errs = append(errs, err)
				case slices.ContainsFunc(d.Contexts, func(c nd.ContextConfig) bool { return int(c.ID) == id }):
					errs = append(errs, fmt.Errorf("context %q: ID %d given twice", s, id))
				default:
					d.Contexts = append(d.Contexts, nd.ContextConfig{ID: uint8(id), Prefix: c.Prefix})
				}
			}
			return errors.Join(errs...)
		}},
	{key: "mesh.context_change_delay", kind: kindDuration,
		doc: fmt.Sprintf("how long a new or changed context is sent with C=0 before it is used (RFC 6775 §7.2); 0: %s (MIN_CONTEXT_CHANGE_DELAY), none on the simulator; negative: none",
			fmtDuration(nd.MinContextChangeDelay)),
		get: func(d *configDraft) any { return fmtDuration(d.ContextChangeDelay) },
		set: func(d *configDraft, v any) error {
			t, err := asDuration(v)
			if err == nil {
				d.ContextChangeDelay = t
			}
			return err
		}},
	lifetimeKey("mesh.prefix_valid_lifetime", "valid lifetime of the mesh prefix in RAs (PIO)",
		nd.DefaultPrefixValidLifetime, time.Second, 0, func(d *configDraft) *time.Duration { return &d.PrefixValidLifetime }),
	lifetimeKey("mesh.prefix_preferred_lifetime", "preferred lifetime of the mesh prefix, at most the valid lifetime",
		nd.DefaultPrefixPreferredLifetime, time.Second, 0, func(d *configDraft) *time.Duration { return &d.PrefixPreferredLifetime }),
	lifetimeKey("mesh.context_lifetime", "valid lifetime of each context (6CO, whole minutes on the wire)",
		nd.DefaultContextLifetime, time.Minute, 0xffff*time.Minute, func(d *configDraft) *time.Duration { return &d.ContextLifetime }),
	lifetimeKey("mesh.router_lifetime", "router lifetime of the RAs in the mesh (RFC 6775 §6.3)",
		nd.DefaultRouterLifetime, time.Second, 0xffff*time.Second, func(d *configDraft) *time.Duration { return &d.RouterLifetime }),
	lifetimeKey("mesh.abro_lifetime", "valid lifetime of the ABRO (RFC 6775 §4.3, whole minutes on the wire)",
		nd.DefaultABROLifetime, time.Minute, 0xffff*time.Minute, func(d *configDraft) *time.Duration { return &d.ABROLifetime }),

	{key: "tun.name", flag: "tun", meta: "NAME", kind: kindString,
		doc: "TUN interface name: 1..15 characters, no '/', ':' or white space",
		get: func(d *configDraft) any { return d.TUNName },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			if len(s) < 1 || len(s) > 15 || s == "." || s == ".." || strings.ContainsFunc(s, func(r rune) bool { return r == '/' || r == ':' || unicode.IsSpace(r) }) {
				return fmt.Errorf("%q: want an interface name of 1..15 characters without '/', ':' or white space", s)
			}
			d.TUNName = s
			return nil
		}},
	{key: "tun.mtu", flag: "mtu", meta: "N", kind: kindInt,
		doc: "TUN MTU: 1280..65535",
		get: func(d *configDraft) any { return strconv.Itoa(d.TUNMTU) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, 1280, 65535, "1280..65535")
			if err == nil {
				d.TUNMTU = int(n)
			}
			return err
		}},
	{key: "tun.forwarding", flag: "forwarding", kind: kindBool,
		doc: "turn on IPv6 forwarding, needed to route between the LAN and the mesh: true or false",
		get: func(d *configDraft) any { return strconv.FormatBool(d.Forwarding) },
		set: func(d *configDraft, v any) error {
			b, err := asBool(v)
			if err == nil {
				d.Forwarding = b
			}
			return err
		}},

	{key: "registry.size", flag: "registry-size", meta: "N", kind: kindInt,
		doc: "most address registrations the 6LBR holds: 1..1000000",
		get: func(d *configDraft) any { return strconv.Itoa(d.RegistryCapacity) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, 1, 1_000_000, "1..1000000")
			if err == nil {
				d.RegistryCapacity = int(n)
			}
			return err
		}},

	{key: "reassembly.timeout", kind: kindDuration,
		doc: fmt.Sprintf("how long the fragments of a datagram are kept from the first (RFC 4944 §5.3); 0: %s; at most %s",
			fmtDuration(lowpan.DefaultReassemblyTimeout), fmtDuration(lowpan.MaxReassemblyTimeout)),
		get: func(d *configDraft) any { return fmtDuration(d.Reassembly.Timeout) },
		set: func(d *configDraft, v any) error {
			t, err := asDuration(v)
			if err == nil {
				d.Reassembly.Timeout = t
			}
			return err
		}},
	{key: "reassembly.max_datagrams", kind: kindInt,
		doc: fmt.Sprintf("datagrams reassembled at once; 0: %d", lowpan.DefaultMaxDatagrams),
		get: func(d *configDraft) any { return strconv.Itoa(d.Reassembly.MaxDatagrams) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, -1<<31, 1<<31-1, "")
			if err == nil {
				d.Reassembly.MaxDatagrams = int(n)
			}
			return err
		}},
	{key: "reassembly.max_per_source", kind: kindInt,
		doc: fmt.Sprintf("datagrams reassembled at once from one link-layer source, at most max_datagrams; 0: %d or max_datagrams if fewer", lowpan.DefaultMaxPerSource),
		get: func(d *configDraft) any { return strconv.Itoa(d.Reassembly.MaxPerSource) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, -1<<31, 1<<31-1, "")
			if err == nil {
				d.Reassembly.MaxPerSource = int(n)
			}
			return err
		}},
	{key: "reassembly.max_memory", kind: kindInt,
		doc: fmt.Sprintf("octets of reassembly buffers, %d per datagram; 0: max_datagrams × %d", reassemblySlot, reassemblySlot),
		get: func(d *configDraft) any { return strconv.Itoa(d.Reassembly.MaxMemory) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, -1<<31, 1<<31-1, "")
			if err == nil {
				d.Reassembly.MaxMemory = int(n)
			}
			return err
		}},

	{key: "upstream.interface", flag: "upstream-ra", meta: "IFACE", kind: kindString,
		doc: `LAN interface on which to send RAs with a route to the mesh prefix (RFC 4191); "": none`,
		get: func(d *configDraft) any { return d.upstream.Interface },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err == nil {
				d.upstream.Interface = s
			}
			return err
		}},
	upstreamDurationKey("upstream.route_lifetime", "Route Lifetime of the route (RFC 4191 §2.3), whole seconds, at least max_interval; 0: 30m",
		func(c *upstream.Config) *time.Duration { return &c.RouteLifetime }),
	upstreamDurationKey("upstream.min_interval", "least time between unsolicited RAs (RFC 4861 §6.2.1): 3s..0.75 × max_interval; 0: 0.33 × max_interval, at least 3s",
		func(c *upstream.Config) *time.Duration { return &c.MinInterval }),
	upstreamDurationKey("upstream.max_interval", "most time between unsolicited RAs (RFC 4861 §6.2.1): 4s..30m; 0: 10m",
		func(c *upstream.Config) *time.Duration { return &c.MaxInterval }),
	{key: "upstream.preference", kind: kindString,
		doc: "Route Preference (RFC 4191 §2.1): low, medium or high",
		get: func(d *configDraft) any { return preferenceNames[d.upstream.Preference] },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			for p, name := range preferenceNames {
				if strings.EqualFold(s, name) {
					d.upstream.Preference = p
					return nil
				}
			}
			return fmt.Errorf("%q: want low, medium or high", s)
		}},
	upstreamDurationKey("upstream.router_lifetime", "Router Lifetime of the RAs, whole seconds: max_interval..2h30m; 0: not a default router, the route only",
		func(c *upstream.Config) *time.Duration { return &c.RouterLifetime }),

	{key: "ble.url", flag: "ble", meta: "URL", kind: kindString,
		doc: `BLE controller for IPv6 over BLE (IPSP): hci+uart:///dev/ttyACM1?uart-baudrate=1000000 or hci+user://hci0; "": none (on the simulator, sim.ble_nodes adds a simulated one)`,
		get: func(d *configDraft) any { return d.BLE.URL },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err == nil && s != "" {
				if _, err = transport.ParseHCIURL(s); err != nil {
					return err
				}
			}
			if err == nil {
				d.BLE.URL = s
			}
			return err
		}},
	{key: "ble.connect", flag: "ble-connect", kind: kindBool,
		doc: "scan for IPSP nodes (advertising the IPSS, 0x1820) and connect to them as central: true or false",
		get: func(d *configDraft) any { return strconv.FormatBool(d.BLE.Connect) },
		set: func(d *configDraft, v any) error {
			b, err := asBool(v)
			if err == nil {
				d.BLE.Connect = b
			}
			return err
		}},
	{key: "ble.advertise", flag: "ble-advertise", kind: kindBool,
		doc: "advertise the IPSS and accept connections from nodes acting as central: true or false",
		get: func(d *configDraft) any { return strconv.FormatBool(d.BLE.Advertise) },
		set: func(d *configDraft, v any) error {
			b, err := asBool(v)
			if err == nil {
				d.BLE.Advertise = b
			}
			return err
		}},
	{key: "ble.allow", flag: "ble-allow", meta: "BD_ADDR", kind: kindList,
		doc: "connect only to these device addresses (C0:11:22:33:44:55); []: any IPSP node",
		get: func(d *configDraft) any {
			out := []string{}
			for _, a := range d.BLE.AllowList {
				out = append(out, a.String())
			}
			return out
		},
		set: func(d *configDraft, v any) error {
			l, err := asList(v)
			if err != nil {
				return err
			}
			var addrs []hci.BDAddr
			for _, s := range l {
				a, err := hci.ParseBDAddr(s)
				if err != nil {
					return fmt.Errorf("%q: want a device address such as C0:11:22:33:44:55", s)
				}
				addrs = append(addrs, a)
			}
			d.BLE.AllowList = addrs
			return nil
		}},
	{key: "ble.max_connections", flag: "ble-max-connections", meta: "N", kind: kindInt,
		doc: "simultaneous BLE connections: 1..32",
		get: func(d *configDraft) any { return strconv.Itoa(d.BLE.MaxConnections) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, 1, 32, "1..32")
			if err == nil {
				d.BLE.MaxConnections = int(n)
			}
			return err
		}},
	{key: "ble.conn_interval", flag: "ble-conn-interval", meta: "DURATION", kind: kindDuration,
		doc: "connection interval asked for as central: 7.5ms..4s, a multiple of 1.25ms",
		get: func(d *configDraft) any { return fmtDuration(d.BLE.ConnInterval) },
		set: func(d *configDraft, v any) error {
			t, err := asDuration(v)
			if err != nil {
				return err
			}
			if t < 7500*time.Microsecond || t > 4*time.Second || t%(1250*time.Microsecond) != 0 {
				return fmt.Errorf("%v: want 7.5ms..4s in steps of 1.25ms", t)
			}
			d.BLE.ConnInterval = t
			return nil
		}},

	{key: "metrics.listen", flag: "metrics-listen", meta: "HOST:PORT", kind: kindString,
		doc: `address of the HTTP server of /metrics, /healthz and /readyz, host:port; "": off`,
		get: func(d *configDraft) any { return d.MetricsListen },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			if s != "" {
				_, port, err := net.SplitHostPort(s)
				if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || n > 65535 {
					return fmt.Errorf(`%q: want host:port with a port 0..65535, e.g. 127.0.0.1:9580, or "" for off`, s)
				}
			}
			d.MetricsListen = s
			return nil
		}},
	{key: "metrics.max_neighbors", kind: kindInt,
		doc: "most neighbours whose link quality is tracked (and so labels of the per-neighbour metrics): 1..4096",
		get: func(d *configDraft) any { return strconv.Itoa(d.MaxNeighbors) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, 1, 4096, "1..4096")
			if err == nil {
				d.MaxNeighbors = int(n)
			}
			return err
		}},

	{key: "api.socket", flag: "api", meta: "PATH", kind: kindString,
		doc: `Unix socket of the status API, an absolute path; "": none`,
		get: func(d *configDraft) any { return d.APISocket },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			if s != "" && !filepath.IsAbs(s) {
				return fmt.Errorf(`%q: want an absolute path, or "" for none`, s)
			}
			d.APISocket = s
			return nil
		}},

	{key: "state_dir", flag: "state-dir", meta: "DIR", kind: kindString,
		doc: "directory of the registry and interface state, an absolute path",
		get: func(d *configDraft) any { return d.StateDir },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(s) {
				return fmt.Errorf("%q: want an absolute path", s)
			}
			d.StateDir = s
			return nil
		}},

	{key: "log.level", flag: "log-level", meta: "LEVEL", kind: kindString,
		doc: "debug, info, warn or error",
		get: func(d *configDraft) any { return strings.ToLower(d.LogLevel.String()) },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
				if strings.EqualFold(s, l.String()) {
					d.LogLevel = l
					return nil
				}
			}
			return fmt.Errorf("%q: want debug, info, warn or error", s)
		}},
	{key: "log.format", flag: "log-format", meta: "FORMAT", kind: kindString,
		doc: "text or json",
		get: func(d *configDraft) any { return d.LogFormat },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			if s != "text" && s != "json" {
				return fmt.Errorf("%q: want text or json", s)
			}
			d.LogFormat = s
			return nil
		}},

	{key: "sim.topology", flag: "sim-topology", meta: "NAME", kind: kindString,
		doc: "the simulated mesh (without radio.url): star, line, grid or random",
		get: func(d *configDraft) any { return string(d.Mesh.Topology) },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err == nil {
				d.Mesh.Topology = sim.Topology(s)
			}
			return err
		}},
	{key: "sim.nodes", flag: "sim-nodes", meta: "N", kind: kindInt,
		doc: fmt.Sprintf("simulated nodes (star, line, random): 0..%d; a grid has rows × cols − 1", sim.MaxMeshNodes),
		get: func(d *configDraft) any { return strconv.Itoa(d.Mesh.Nodes) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, -1<<31, 1<<31-1, "")
			if err == nil {
				d.Mesh.Nodes = int(n)
			}
			return err
		}},
	{key: "sim.rows", flag: "sim-rows", meta: "N", kind: kindInt,
		doc: "rows of the grid, at least 1; rows × cols at least 2",
		get: func(d *configDraft) any { return strconv.Itoa(d.Mesh.Rows) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, -1<<31, 1<<31-1, "")
			if err == nil {
				d.Mesh.Rows = int(n)
			}
			return err
		}},
	{key: "sim.cols", flag: "sim-cols", meta: "N", kind: kindInt,
		doc: "columns of the grid, at least 1",
		get: func(d *configDraft) any { return strconv.Itoa(d.Mesh.Cols) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, -1<<31, 1<<31-1, "")
			if err == nil {
				d.Mesh.Cols = int(n)
			}
			return err
		}},
	{key: "sim.seed", flag: "sim-seed", meta: "N", kind: kindInt,
		doc: "seed of the random topology and of the link losses: 0..18446744073709551615",
		get: func(d *configDraft) any { return strconv.FormatUint(d.Mesh.Seed, 10) },
		set: func(d *configDraft, v any) error {
			n, err := asUint64(v)
			if err == nil {
				d.Mesh.Seed = n
			}
			return err
		}},
	{key: "sim.loss", flag: "sim-loss", meta: "P", kind: kindFloat,
		doc: "probability that a frame is lost on a link: 0 ≤ loss < 1",
		get: func(d *configDraft) any { return strconv.FormatFloat(d.Mesh.Loss, 'g', -1, 64) },
		set: func(d *configDraft, v any) error {
			f, err := asFloat(v)
			if err == nil {
				d.Mesh.Loss = f
			}
			return err
		}},
	{key: "sim.links", flag: "sim-link", meta: "A-B=LOSS", kind: kindList,
		doc: `single links' loss both ways, "A-B=LOSS" (0..1), or "A-B=off" to cut the link, e.g. br-n1=0.2`,
		get: func(d *configDraft) any {
			out := []string{}
			for _, l := range d.Mesh.Links {
				loss := strconv.FormatFloat(l.Loss, 'g', -1, 64)
				if l.Disconnected {
					loss = "off"
				}
				out = append(out, fmt.Sprintf("%s-%s=%s", l.A, l.B, loss))
			}
			return out
		},
		set: func(d *configDraft, v any) error {
			l, err := asList(v)
			if err != nil {
				return err
			}
			d.Mesh.Links = nil
			var errs []error
			for _, s := range l {
				o, err := parseLinkOverride(s)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				d.Mesh.Links = append(d.Mesh.Links, o)
			}
			return errors.Join(errs...)
		}},
	{key: "sim.intruders", flag: "sim-intruder", meta: "NODE", kind: kindList,
		doc: "nodes (n1, n2, …) whose address an intruder tries to register under another owner; it must be refused",
		get: func(d *configDraft) any { return append([]string{}, d.Mesh.Intruders...) },
		set: func(d *configDraft, v any) error {
			l, err := asList(v)
			if err == nil {
				d.Mesh.Intruders = l
			}
			return err
		}},
	{key: "sim.lifetime", flag: "sim-lifetime", meta: "DURATION", kind: kindDuration,
		doc: "registration lifetime of the simulated nodes: at least 1m",
		get: func(d *configDraft) any { return fmtDuration(d.Mesh.Lifetime) },
		set: func(d *configDraft, v any) error {
			t, err := asDuration(v)
			if err == nil {
				d.Mesh.Lifetime = t
			}
			return err
		}},
	{key: "sim.ble_stalled", flag: "sim-ble-stalled", meta: "NODE", kind: kindList,
		doc: "simulated BLE nodes (b1, b2, …) that never return L2CAP credits, a misbehaving peer: it must not hold up the others",
		get: func(d *configDraft) any { return append([]string{}, d.SimBLEStalled...) },
		set: func(d *configDraft, v any) error {
			l, err := asList(v)
			if err != nil {
				return err
			}
			for _, n := range l {
				var i int
				if _, err := fmt.Sscanf(n, "b%d", &i); err != nil || i < 1 || fmt.Sprintf("b%d", i) != n {
					return fmt.Errorf("%q: want a simulated BLE node name such as b1", n)
				}
			}
			d.SimBLEStalled = l
			return nil
		}},
	{key: "sim.zep", flag: "sim-zep", meta: "ADDR", kind: kindString,
		doc: `serve the simulated medium as a ZEP v2 hub on this UDP address (e.g. 127.0.0.1:17754), so that external simulated nodes (RIOT's native build with socket_zep) join the mesh; "": off`,
		get: func(d *configDraft) any { return d.SimZEP },
		set: func(d *configDraft, v any) error {
			s, err := asString(v)
			if err == nil && s != "" {
				var ap netip.AddrPort
				if ap, err = netip.ParseAddrPort(s); err == nil && (ap.Port() == 0 || ap.Addr().IsUnspecified()) {
					err = fmt.Errorf("%q: want an address nodes send to and a port, e.g. 127.0.0.1:17754 (replies must leave from the very address nodes connect to)", s)
				} else if err != nil {
					err = fmt.Errorf("%q: want ADDRESS:PORT, e.g. 127.0.0.1:17754", s)
				}
			}
			if err == nil {
				d.SimZEP = s
			}
			return err
		}},
	{key: "sim.ot_node", flag: "sim-ot-node", meta: "N", kind: kindInt,
		doc: "with radio.url running OpenThread's simulation ot-rcp N: put the simulated mesh on its UDP radio through a bridge (for tests against the real RCP code): 0 (off) or 1..33",
		get: func(d *configDraft) any { return strconv.Itoa(d.SimOTNode) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, 0, otsim.MaxNodeID, "0..33")
			if err == nil {
				d.SimOTNode = int(n)
			}
			return err
		}},
	{key: "sim.ble_nodes", flag: "sim-ble-nodes", meta: "N", kind: kindInt,
		doc: "simulated BLE IPSP nodes beside the 802.15.4 mesh, on a simulated BLE controller (without ble.url): 0..32",
		get: func(d *configDraft) any { return strconv.Itoa(d.SimBLENodes) },
		set: func(d *configDraft, v any) error {
			n, err := asInt(v, 0, 32, "0..32")
			if err == nil {
				d.SimBLENodes = int(n)
			}
			return err
		}},
}

// reassemblySlot is the buffer of one datagram in lowpan's reassembler.
const reassemblySlot = lowpan.DefaultMaxMemory / lowpan.DefaultMaxDatagrams

var preferenceNames = map[nd.Preference]string{nd.PreferenceLow: "low", nd.PreferenceMedium: "medium", nd.PreferenceHigh: "high"}

// lifetimeKey is a 6LBR lifetime: 0 stands for nd's default; otherwise at
// least one unit of its field on the wire (less would be sent as 0) and,
// if limit is not 0, at most limit (more would be cut to the field's
// largest value).
func lifetimeKey(key, what string, def, unit, limit time.Duration, field func(*configDraft) *time.Duration) configKey {
	want := fmt.Sprintf("0 (%s) or at least %s", fmtDuration(def), fmtDuration(unit))
	if limit != 0 {
		want = fmt.Sprintf("0 (%s) or %s..%s", fmtDuration(def), fmtDuration(unit), fmtDuration(limit))
	}
	return configKey{key: key, kind: kindDuration,
		doc: fmt.Sprintf("%s: %s", what, want),
		get: func(d *configDraft) any { return fmtDuration(*field(d)) },
		set: func(d *configDraft, v any) error {
			t, err := asDuration(v)
			if err != nil {
				return err
			}
			if t != 0 && (t < unit || limit != 0 && t > limit) {
				return fmt.Errorf("%s: want %s", fmtDuration(t), want)
			}
			*field(d) = t
			return nil
		}}
}

// upstreamDurationKey is an upstream RA interval or lifetime; router checks
// the values (see checkUpstream).
func upstreamDurationKey(key, doc string, field func(*upstream.Config) *time.Duration) configKey {
	return configKey{key: key, kind: kindDuration, doc: doc,
		get: func(d *configDraft) any { return fmtDuration(*field(&d.upstream)) },
		set: func(d *configDraft, v any) error {
			t, err := asDuration(v)
			if err == nil {
				*field(&d.upstream) = t
			}
			return err
		}}
}

// keyByName returns the key named name, or nil.
func keyByName(name string) *configKey {
	for i := range configKeys {
		if configKeys[i].key == name {
			return &configKeys[i]
		}
	}
	return nil
}

// fmtDuration writes d as time.Duration.String does, without the zero
// minutes and seconds: 24h, 10m, 1h30m.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Conversions from what a layer gives (text from the environment and the
// flags, YAML scalars and sequences from the file) to the fields' types.

func asString(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("%v: want a string", v)
}

// asInt reads an integer from lo to hi, which want describes ("" if the
// range cannot fail).
func asInt(v any, lo, hi int64, want string) (int64, error) {
	notInt := "want an integer"
	if want != "" {
		notInt += " " + want
	}
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case string:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64); err != nil {
			return 0, fmt.Errorf("%q: %s", x, notInt)
		}
	default:
		return 0, fmt.Errorf("%v: %s", v, notInt)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d: want %s", n, want)
	}
	return n, nil
}

// asPANID reads a PAN ID in decimal or, after 0x, in hexadecimal (YAML
// reads an unquoted 0xface as an integer itself).
func asPANID(v any) (uint64, error) {
	const want = "0x0000..0xfffe"
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case string:
		var err error
		s, base := strings.TrimSpace(x), 10
		if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
			s, base = h, 16
		}
		if n, err = strconv.ParseInt(s, base, 64); err != nil {
			return 0, fmt.Errorf("%q: want %s", x, want)
		}
	default:
		return 0, fmt.Errorf("%v: want %s", v, want)
	}
	switch {
	case n < 0:
		return 0, fmt.Errorf("%d: want %s", n, want)
	case n > 0xfffe:
		return 0, fmt.Errorf("%#x: want %s", n, want)
	}
	return uint64(n), nil
}

func asUint64(v any) (uint64, error) {
	const want = "want an integer 0..18446744073709551615"
	switch x := v.(type) {
	case int:
		if x >= 0 {
			return uint64(x), nil
		}
	case uint64:
		return x, nil
	case string:
		if n, err := strconv.ParseUint(strings.TrimSpace(x), 10, 64); err == nil {
			return n, nil
		}
		return 0, fmt.Errorf("%q: %s", x, want)
	}
	return 0, fmt.Errorf("%v: %s", v, want)
}

func asFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f, nil
		}
		return 0, fmt.Errorf("%q: want a number", x)
	}
	return 0, fmt.Errorf("%v: want a number", v)
}

func asBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
		return false, fmt.Errorf("%q: want true or false", x)
	}
	return false, fmt.Errorf("%v: want true or false", v)
}

func asDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case int:
		if x == 0 {
			return 0, nil
		}
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(x)); err == nil {
			return d, nil
		}
		return 0, fmt.Errorf("%q: want a duration such as 90s, 30m or 24h", x)
	}
	return 0, fmt.Errorf("%v: want a duration with a unit, such as 90s, 30m or 24h", v)
}

// asList reads a YAML sequence of strings, or text with the items separated
// by commas (the environment's form).
func asList(v any) ([]string, error) {
	var out []string
	switch x := v.(type) {
	case nil:
	case []string:
		out = append(out, x...)
	case []any:
		for _, e := range x {
			s, err := asString(e)
			if err != nil {
				return nil, fmt.Errorf("%v: want a list of strings", v)
			}
			out = append(out, s)
		}
	case string:
		for s := range strings.SplitSeq(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	default:
		return nil, fmt.Errorf("%v: want a list of strings", v)
	}
	return out, nil
}

// checkLifetimes refuses what nd would: a preferred lifetime beyond the
// valid one, each counted with its default.
func (d *configDraft) checkLifetimes() []*keyError {
	valid, pref := d.PrefixValidLifetime, d.PrefixPreferredLifetime
	if valid == 0 {
		valid = nd.DefaultPrefixValidLifetime
	}
	if pref == 0 {
		pref = nd.DefaultPrefixPreferredLifetime
	}
	if pref <= valid {
		return nil
	}
	return []*keyError{{Key: "mesh.prefix_preferred_lifetime",
		Err: fmt.Errorf("%s: exceeds mesh.prefix_valid_lifetime %s (RFC 4862 §5.5.3)", fmtDuration(pref), fmtDuration(valid))}}
}

// checkReassembly validates each reassembly key with
// lowpan.ReassemblyConfig.Validate, alone (max_per_source with
// max_datagrams), so that every bad key is reported, then all together.
func (d *configDraft) checkReassembly() []*keyError {
	r := d.Reassembly
	var errs []*keyError
	probe := func(key, field string, c lowpan.ReassemblyConfig) bool {
		if err := c.Validate(); err != nil {
			errs = append(errs, &keyError{Key: key, Err: trimmed(err, "reassembly "+field+" ")})
			return false
		}
		return true
	}
	probe("reassembly.timeout", "timeout", lowpan.ReassemblyConfig{Timeout: r.Timeout})
	probe("reassembly.max_memory", "max memory", lowpan.ReassemblyConfig{MaxMemory: r.MaxMemory})
	if probe("reassembly.max_datagrams", "max datagrams", lowpan.ReassemblyConfig{MaxDatagrams: r.MaxDatagrams}) {
		probe("reassembly.max_per_source", "max per source", lowpan.ReassemblyConfig{MaxDatagrams: r.MaxDatagrams, MaxPerSource: r.MaxPerSource})
	}
	if len(errs) == 0 {
		probe("reassembly", "", r)
	}
	return errs
}

// checkUpstream validates the upstream RA keys with upstream.New
// (which touches nothing on the system), for the mesh prefix, whether or
// not upstream.interface turns the RAs on; then it sets d.Upstream.
func (d *configDraft) checkUpstream() []*keyError {
	u := d.upstream
	var errs []*keyError
	probe := func(key, field string, c upstream.Config) bool {
		if c.Interface == "" {
			c.Interface = "eth0" // only upstream.interface is about the interface
		}
		c.Routes = []netip.Prefix{d.Prefix}
		if _, err := upstream.New(c); err != nil {
			if errors.Is(err, upstream.ErrConfig) {
				err = trimmed(err, "router: upstream RA: "+field+" ", ": "+upstream.ErrConfig.Error())
			}
			errs = append(errs, &keyError{Key: key, Err: err})
			return false
		}
		return true
	}
	if u.Interface != "" {
		probe("upstream.interface", "Interface", upstream.Config{Interface: u.Interface})
	}
	// The other intervals and lifetimes are bounded by max_interval.
	if probe("upstream.max_interval", "MaxInterval", upstream.Config{MaxInterval: u.MaxInterval}) {
		probe("upstream.min_interval", "MinInterval", upstream.Config{MaxInterval: u.MaxInterval, MinInterval: u.MinInterval})
		probe("upstream.route_lifetime", "RouteLifetime", upstream.Config{MaxInterval: u.MaxInterval, RouteLifetime: u.RouteLifetime})
		probe("upstream.router_lifetime", "RouterLifetime", upstream.Config{MaxInterval: u.MaxInterval, RouterLifetime: u.RouterLifetime})
	}
	if len(errs) == 0 && probe("upstream", "", u) && u.Interface != "" {
		d.Upstream = &upstream.Config{Interface: u.Interface, RouteLifetime: u.RouteLifetime, MinInterval: u.MinInterval,
			MaxInterval: u.MaxInterval, Preference: u.Preference, RouterLifetime: u.RouterLifetime}
	}
	return errs
}

// checkMesh validates the sim keys with sim.MeshConfig.Validate: each key
// on its own (whether or not the topology uses it), the links and the
// intruders against the mesh's shape, then all together; the validated
// mesh, with the grid's node count derived, replaces d.Mesh.
func (d *configDraft) checkMesh() []*keyError {
	m := d.Mesh
	var errs []*keyError
	probe := func(key string, c sim.MeshConfig) bool {
		if err := c.Validate(); err != nil {
			errs = append(errs, &keyError{Key: key, Err: trimmed(err, "sim: ")})
			return false
		}
		return true
	}
	shapeOK := probe("sim.topology", sim.MeshConfig{Topology: m.Topology, Rows: 1, Cols: 2})
	gridKey := "sim.rows"
	if m.Rows >= 1 && m.Cols < 1 {
		gridKey = "sim.cols"
	}
	if !probe(gridKey, sim.MeshConfig{Topology: sim.Grid, Rows: m.Rows, Cols: m.Cols}) && m.Topology == sim.Grid {
		shapeOK = false
	}
	if !probe("sim.nodes", sim.MeshConfig{Topology: sim.Star, Nodes: m.Nodes}) && m.Topology != sim.Grid {
		shapeOK = false
	}
	probe("sim.loss", sim.MeshConfig{Loss: m.Loss})
	probe("sim.lifetime", sim.MeshConfig{Lifetime: m.Lifetime})
	if shapeOK {
		shape := sim.MeshConfig{Topology: m.Topology, Nodes: m.Nodes, Rows: m.Rows, Cols: m.Cols}
		links, intruders := shape, shape
		links.Links, intruders.Intruders = m.Links, m.Intruders
		probe("sim.links", links)
		probe("sim.intruders", intruders)
	}
	if len(errs) == 0 && probe("sim", m) {
		_ = m.Validate() // fills in the grid's nodes and the lifetime
		m.Logger = nil   // the daemon gives the mesh its logger
		d.Mesh = m
	}
	return errs
}

// trimmed is err's text without the prefix and suffixes that repeat what
// the key already says ("reassembly timeout ", "sim: ").
func trimmed(err error, prefix string, suffixes ...string) error {
	s := strings.TrimPrefix(err.Error(), prefix)
	for _, suf := range suffixes {
		s = strings.TrimSuffix(s, suf)
	}
	return errors.New(s)
}

// keyError is one thing wrong with the configuration, and where it was
// written.
type keyError struct {
	Origin string // "config FILE", "$LOWPANBR_…", "--flag"; "" for a default
	Key    string // "" when the error is about the file as a whole
	Err    error
}

func (e *keyError) Error() string {
	var parts []string
	for _, p := range []string{e.Origin, e.Key} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(append(parts, e.Err.Error()), ": ")
}

func (e *keyError) Unwrap() error { return e.Err }

// configSource is where `lowpanbr run` takes its configuration from. It
// keeps the parsed command line, so that Load can read the file and the
// environment again (on SIGHUP) with the same flags on top.
type configSource struct {
	// Path is the configuration file; "" for none.
	Path string
	// Read is the file the last Load read: Path, or "" if there was no
	// file to read.
	Read string
	// explicit: Path was given with --config, so it must exist.
	explicit  bool
	lookupEnv func(string) (string, bool)
	flags     []*keyFlag // run's flags, set or not
}

// newConfigFlags defines --config on fs, and with runFlags every flag of a
// key, and returns the source they feed once fs has parsed.
func newConfigFlags(fs *flag.FlagSet, runFlags bool, lookupEnv func(string) (string, bool)) *configSource {
	s := &configSource{Path: defaultConfigPath, lookupEnv: lookupEnv}
	fs.Var(configPathFlag{s}, "config", "")
	if runFlags {
		def := defaultDraft()
		for i := range configKeys {
			k := &configKeys[i]
			if k.flag == "" {
				continue
			}
			f := &keyFlag{key: k}
			switch d := k.get(&def).(type) {
			case string:
				f.def = d
			case []string:
				f.def = strings.Join(d, ",")
			}
			fs.Var(f, k.flag, k.doc)
			s.flags = append(s.flags, f)
		}
	}
	return s
}

// printFlags writes the usage of the flags newConfigFlags defines.
func (s *configSource) printFlags(w io.Writer) {
	fmt.Fprintf(w, "  --config FILE\n    \tconfiguration file (default %s, which may be missing; \"\": none)\n", defaultConfigPath)
	for _, f := range s.flags {
		arg := " " + f.key.meta
		if f.key.kind == kindBool {
			arg = ""
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s: %s", f.key.flag, arg, f.key.key, f.key.doc)
		if f.key.kind == kindList {
			fmt.Fprint(w, " (repeatable)")
		} else if f.def != "" && f.key.kind != kindBool {
			fmt.Fprintf(w, " (default %s)", f.def)
		}
		fmt.Fprintln(w)
	}
}

// configPathFlag is --config.
type configPathFlag struct{ s *configSource }

func (f configPathFlag) String() string {
	if f.s == nil {
		return ""
	}
	return f.s.Path
}

func (f configPathFlag) Set(p string) error {
	f.s.Path, f.s.explicit = p, true
	return nil
}

// keyFlag is a command-line flag of one key. It keeps the text: the value
// is parsed by the key's set, after the file and the environment, and only
// a flag that was given overrides them.
type keyFlag struct {
	key  *configKey
	def  string
	vals []string // every occurrence for a list; the last one otherwise
}

func (f *keyFlag) String() string {
	switch {
	case f == nil || f.key == nil: // flag's zero-value probe
		return ""
	case len(f.vals) == 0:
		return f.def
	}
	return strings.Join(f.vals, ",")
}

func (f *keyFlag) Set(s string) error {
	if f.key.kind == kindList {
		f.vals = append(f.vals, s)
	} else {
		f.vals = []string{s}
	}
	return nil
}

func (f *keyFlag) IsBoolFlag() bool { return f != nil && f.key != nil && f.key.kind == kindBool }

// Load reads the file, the environment and the flags, and returns the
// validated configuration. Errors name the key, the bad value, what is
// allowed and where the value was written; all of them are returned
// (errors.Join). One made by a flag is also errUsage.
func (s *configSource) Load() (daemonConfig, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	fileOrigin := ""
	s.Read = ""
	if s.Path != "" {
		data, err := os.ReadFile(s.Path)
		switch {
		case err == nil:
			s.Read, fileOrigin = s.Path, "config "+s.Path
			if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
				var pe viper.ConfigParseError
				if errors.As(err, &pe) {
					err = pe.Unwrap() // yaml: line N: …
				}
				return daemonConfig{}, &keyError{Origin: fileOrigin, Err: err}
			}
		case errors.Is(err, fs.ErrNotExist) && !s.explicit:
		default:
			return daemonConfig{}, fmt.Errorf("config: %w", err)
		}
	}
	var errs []error
	for _, e := range unknownKeys(v) {
		e.Origin = fileOrigin
		errs = append(errs, e)
	}

	def := defaultDraft()
	origin := map[string]string{}
	for i := range configKeys {
		k := &configKeys[i]
		v.SetDefault(k.key, k.get(&def))
		if fileOrigin != "" && v.InConfig(k.key) {
			origin[k.key] = fileOrigin
		}
	}
	// The environment and then the flags override: viper's Set layer, in
	// that order.
	for i := range configKeys {
		k := &configKeys[i]
		if val, ok := s.lookupEnv(k.env()); ok {
			v.Set(k.key, val)
			origin[k.key] = "$" + k.env()
		}
	}
	for _, f := range s.flags {
		if len(f.vals) == 0 {
			continue
		}
		if f.key.kind == kindList {
			v.Set(f.key.key, slices.Clone(f.vals))
		} else {
			v.Set(f.key.key, f.vals[len(f.vals)-1])
		}
		origin[f.key.key] = "--" + f.key.flag
	}

	d := defaultDraft()
	var keyErrs []*keyError
	for i := range configKeys {
		k := &configKeys[i]
		val := v.Get(k.key)
		if val == nil { // under a section the file gave as a scalar
			val = k.get(&def)
		}
		err := k.set(&d, val)
		if j, ok := err.(interface{ Unwrap() []error }); ok { // a list's bad items
			for _, e := range j.Unwrap() {
				keyErrs = append(keyErrs, &keyError{Key: k.key, Err: e})
			}
		} else if err != nil {
			keyErrs = append(keyErrs, &keyError{Key: k.key, Err: err})
		}
	}
	if len(d.Contexts) == 0 {
		d.Contexts = []nd.ContextConfig{{ID: 0, Prefix: d.Prefix}}
	}
	keyErrs = slices.Concat(keyErrs, d.checkLifetimes(), d.checkReassembly(), d.checkUpstream(), d.checkMesh())
	usage := false
	for _, e := range keyErrs {
		if e.Origin == "" {
			e.Origin = origin[e.Key]
			if e.Key == "mesh.prefix_preferred_lifetime" && e.Origin == "" {
				e.Origin = origin["mesh.prefix_valid_lifetime"]
			}
		}
		usage = usage || strings.HasPrefix(e.Origin, "--")
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		if usage {
			errs = append(errs, errUsage)
		}
		return daemonConfig{}, errors.Join(errs...)
	}
	return d.daemonConfig, nil
}

// unknownKeys returns an error for every key of the file that is not one
// of configKeys: a misspelt key must not silently leave its default.
func unknownKeys(v *viper.Viper) []*keyError {
	sections := map[string]bool{}
	for i := range configKeys {
		if s := configKeys[i].section(); s != "" {
			sections[s] = true
		}
	}
	var errs []*keyError
	reported := map[string]bool{}
	keys := v.AllKeys()
	slices.Sort(keys)
	for _, key := range keys {
		if keyByName(key) != nil {
			continue
		}
		sec, rest, nested := strings.Cut(key, ".")
		name := key
		switch {
		case !nested && sections[key]:
			if v.Get(key) != nil {
				errs = append(errs, &keyError{Key: key, Err: fmt.Errorf("%v: want a section of %s.* keys", v.Get(key), key)})
			}
			continue
		case nested && sections[sec]:
			first, _, _ := strings.Cut(rest, ".")
			name = sec + "." + first
		case nested:
			name = sec
		}
		if reported[name] {
			continue
		}
		reported[name] = true
		if keyByName(name) != nil {
			continue // a section where a value belongs: the key's set says what it wants
		}
		msg := fmt.Sprintf("unknown key %q", name)
		if guess := nearestKey(name); guess != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", guess)
		}
		errs = append(errs, &keyError{Err: errors.New(msg)})
	}
	return errs
}

// nearestKey is the known key within two edits of name, if there is one.
func nearestKey(name string) string {
	best, bestDist := "", 3
	for i := range configKeys {
		if d := editDistance(name, configKeys[i].key); d < bestDist {
			best, bestDist = configKeys[i].key, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parseRunArgs parses run's command line: its flags, which set keys, and
// --config.
func parseRunArgs(args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) (*configSource, []string, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := newConfigFlags(fs, true, lookupEnv)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); src.printFlags(stderr) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	return src, pos, nil
}

// loadConfig reads run's command line, the configuration file and the
// environment (through lookupEnv, os.LookupEnv outside tests), and
// returns the configuration and the positional arguments.
func loadConfig(args []string, lookupEnv func(string) (string, bool)) (daemonConfig, []string, error) {
	src, pos, err := parseRunArgs(args, io.Discard, lookupEnv)
	if err != nil {
		return daemonConfig{}, nil, err
	}
	cfg, err := src.Load()
	return cfg, pos, err
}

// newLogger builds the daemon's logger from log.level and log.format. The
// level is a LevelVar, so that it can change while the daemon runs.
func newLogger(w io.Writer, cfg daemonConfig) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}
