package borderrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/viper"

	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim"
)

// cmpConfig compares Configs (netip values have unexported fields).
var cmpConfig = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

// fakeEnv is a LookupEnv over a map.
func fakeEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// yamlFor writes keys and their values (key, value, key, value, …) as a
// YAML file.
func yamlFor(kv ...string) string {
	var b strings.Builder
	var sections []string
	bySection := map[string][]string{}
	for i := 0; i < len(kv); i += 2 {
		sec, name, ok := strings.Cut(kv[i], ".")
		if !ok {
			fmt.Fprintf(&b, "%s: %s\n", kv[i], kv[i+1])
			continue
		}
		if bySection[sec] == nil {
			sections = append(sections, sec)
		}
		bySection[sec] = append(bySection[sec], fmt.Sprintf("  %s: %s\n", name, kv[i+1]))
	}
	for _, sec := range sections {
		b.WriteString(sec + ":\n" + strings.Join(bySection[sec], ""))
	}
	return b.String()
}

// load reads the file at path (none if ""), the environment env and the
// overrides, as lowpanbr run does.
func load(path string, env map[string]string, overrides ...Override) (Config, error) {
	l := &Loader{Path: path, Required: path != "", LookupEnv: fakeEnv(env), Overrides: overrides}
	return l.Load()
}

// flag is the override a command-line flag of key makes.
func flag(t *testing.T, key string, values ...string) Override {
	t.Helper()
	k := keyNamed(key)
	if k == nil || k.Flag == "" {
		t.Fatalf("%s has no flag", key)
	}
	return Override{Key: key, Source: "--" + k.Flag, Values: values}
}

// loadDefaults is the configuration with no file, no environment and no
// overrides.
func loadDefaults(t *testing.T) Config {
	t.Helper()
	cfg, err := load("", nil)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	return cfg
}

func TestConfigDefaults(t *testing.T) {
	cfg := loadDefaults(t)
	want := Defaults()
	want.Mesh.Contexts = []nd.ContextConfig{{ID: 0, Prefix: want.Mesh.Prefix}}
	if diff := cmp.Diff(want, cfg, cmpConfig); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if err := Defaults().Validate(); err != nil {
		t.Errorf("Defaults().Validate(): %v", err)
	}
	// A default file that does not exist is no file.
	l := &Loader{Path: filepath.Join(t.TempDir(), "absent.yaml"), LookupEnv: fakeEnv(nil)}
	got, err := l.Load()
	if err != nil || l.Read() != "" {
		t.Fatalf("missing default file: %v (read %q)", err, l.Read())
	}
	if diff := cmp.Diff(cfg, got, cmpConfig); diff != "" {
		t.Errorf("missing default file (-want +got):\n%s", diff)
	}
}

// Each layer overrides the ones before: defaults < file < environment <
// overrides, for every combination of the three.
func TestConfigPrecedence(t *testing.T) {
	type layers struct{ file, env, flag string }
	tests := []struct {
		key  string
		vals layers
		got  func(Config) any
		want [4]any // default, file, environment, flag
	}{
		{"radio.channel", layers{"20", "21", "22"},
			func(c Config) any { return c.Radio.Channel }, [4]any{uint8(15), uint8(20), uint8(21), uint8(22)}},
		{"radio.pan_id", layers{"0xbeef", "4660", "0x0001"},
			func(c Config) any { return c.Radio.PANID }, [4]any{uint16(0xface), uint16(0xbeef), uint16(4660), uint16(1)}},
		{"mesh.prefix", layers{"fd00:1::/64", "fd00:2::/64", "fd00:3::/64"},
			func(c Config) any { return c.Mesh.Prefix.String() }, [4]any{DefaultPrefix.String(), "fd00:1::/64", "fd00:2::/64", "fd00:3::/64"}},
		{"mesh.contexts", layers{`["1=2001:db8:1::/64", "2=2001:db8:2::/64"]`, "3=2001:db8:3::/64, 4=2001:db8:4::/64", "5=2001:db8:5::/64"},
			func(c Config) any {
				var ids []uint8
				for _, x := range c.Mesh.Contexts {
					ids = append(ids, x.ID)
				}
				return fmt.Sprint(ids)
			}, [4]any{"[0]", "[1 2]", "[3 4]", "[5]"}},
		{"tun.forwarding", layers{"true", "false", "true"},
			func(c Config) any { return c.TUN.Forwarding }, [4]any{false, true, false, true}},
		{"state_dir", layers{"/srv/file", "/srv/env", "/srv/flag"},
			func(c Config) any { return c.StateDir }, [4]any{"/var/lib/lowpanbr", "/srv/file", "/srv/env", "/srv/flag"}},
		{"log.level", layers{"debug", "warn", "error"},
			func(c Config) any { return c.Log.Level }, [4]any{slog.LevelInfo, slog.LevelDebug, slog.LevelWarn, slog.LevelError}},
		{"sim.lifetime", layers{"20m", "30m", "40m"},
			func(c Config) any { return c.Sim.Lifetime }, [4]any{10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 40 * time.Minute}},
		{"upstream.interface", layers{"eth1", "eth2", "eth3"},
			func(c Config) any { return c.Upstream.Interface }, [4]any{"", "eth1", "eth2", "eth3"}},
	}
	for combo := range 8 {
		file, env, flg := combo&1 != 0, combo&2 != 0, combo&4 != 0
		t.Run(fmt.Sprintf("file=%v,env=%v,flag=%v", file, env, flg), func(t *testing.T) {
			var kv []string
			envs := map[string]string{}
			var overrides []Override
			path := ""
			for _, tt := range tests {
				if file {
					kv = append(kv, tt.key, tt.vals.file)
				}
				if env {
					envs[keyNamed(tt.key).Env()] = tt.vals.env
				}
				if flg {
					overrides = append(overrides, flag(t, tt.key, tt.vals.flag))
				}
			}
			if file {
				path = writeConfig(t, yamlFor(kv...))
			}
			cfg, err := load(path, envs, overrides...)
			if err != nil {
				t.Fatal(err)
			}
			layer := 0
			switch {
			case flg:
				layer = 3
			case env:
				layer = 2
			case file:
				layer = 1
			}
			for _, tt := range tests {
				if got := tt.got(cfg); got != tt.want[layer] {
					t.Errorf("%s = %v, want %v", tt.key, got, tt.want[layer])
				}
			}
		})
	}
}

// Every key has at least one case here: TestConfigErrorsCoverEveryKey.
var configErrorTests = []struct {
	key, value string
	want       string // after "config FILE: "
}{
	{"radio.url", `"spinel+hdlc+uart://dev/ttyACM0"`, `radio.url: "spinel+hdlc+uart://dev/ttyACM0": path "dev/ttyACM0" is not absolute`},
	{"radio.url", `"ftp://x"`, `radio.url: "ftp://x": unknown scheme "ftp"`},
	{"radio.url", `[a]`, "radio.url: [a]: want a string"},
	{"radio.channel", "27", "radio.channel: 27: want 11..26"},
	{"radio.channel", "10", "radio.channel: 10: want 11..26"},
	{"radio.channel", "eleven", `radio.channel: "eleven": want an integer 11..26`},
	{"radio.channel", "15.5", "radio.channel: 15.5: want an integer 11..26"},
	{"radio.pan_id", "0xffff", "radio.pan_id: 0xffff: want 0x0000..0xfffe"},
	{"radio.pan_id", "65535", "radio.pan_id: 0xffff: want 0x0000..0xfffe"},
	{"radio.pan_id", `"0x"`, `radio.pan_id: "0x": want 0x0000..0xfffe`},
	{"radio.pan_id", `"0xffff"`, "radio.pan_id: 0xffff: want 0x0000..0xfffe"},
	{"radio.pan_id", "-1", "radio.pan_id: -1: want 0x0000..0xfffe"},
	{"radio.pan_id", "face", `radio.pan_id: "face": want 0x0000..0xfffe`},
	{"radio.tx_power", "128", "radio.tx_power: 128: want -128..127 (dBm)"},
	{"radio.tx_power", "-129", "radio.tx_power: -129: want -128..127 (dBm)"},
	{"mesh.prefix", "2001:db8::/48", `mesh.prefix: "2001:db8::/48": want an IPv6 /64 such as fd00:1::/64`},
	{"mesh.prefix", "10.0.0.0/64", `mesh.prefix: "10.0.0.0/64": want an IPv6 /64`},
	{"mesh.prefix", "::ffff:10.0.0.0/64", `mesh.prefix: "::ffff:10.0.0.0/64": want an IPv6 /64`},
	{"mesh.contexts", `["16=2001:db8::/64"]`, `mesh.contexts: context "16=2001:db8::/64": ID "16" must be 0..15`},
	{"mesh.contexts", `["1=10.0.0.0/8"]`, `mesh.contexts: context "1=10.0.0.0/8": "10.0.0.0/8" is not an IPv6 prefix`},
	{"mesh.contexts", `["2001:db8::/64"]`, `mesh.contexts: context "2001:db8::/64": want ID=PREFIX`},
	{"mesh.contexts", `["1=2001:db8:1::/64", "1=2001:db8:2::/64"]`, `mesh.contexts: "1=2001:db8:2::/64": ID 1 given twice`},
	{"mesh.contexts", `{a: b}`, "mesh.contexts: map[a:b]: want a list of strings"},
	{"mesh.context_change_delay", "soon", `mesh.context_change_delay: "soon": want a duration`},
	{"mesh.prefix_valid_lifetime", "-1s", "mesh.prefix_valid_lifetime: -1s: want 0 (24h) or at least 1s"},
	{"mesh.prefix_valid_lifetime", "500ms", "mesh.prefix_valid_lifetime: 500ms: want 0 (24h) or at least 1s"},
	{"mesh.prefix_valid_lifetime", "1h", "mesh.prefix_preferred_lifetime: 4h: exceeds mesh.prefix_valid_lifetime 1h"},
	{"mesh.prefix_valid_lifetime", "3600", "mesh.prefix_valid_lifetime: 3600: want a duration with a unit"},
	{"mesh.prefix_preferred_lifetime", "25h", "mesh.prefix_preferred_lifetime: 25h: exceeds mesh.prefix_valid_lifetime 24h"},
	{"mesh.context_lifetime", "30s", "mesh.context_lifetime: 30s: want 0 (1h) or 1m..1092h15m"},
	{"mesh.context_lifetime", "65536m", "mesh.context_lifetime: 1092h16m: want 0 (1h) or 1m..1092h15m"},
	{"mesh.router_lifetime", "65536s", "mesh.router_lifetime: 18h12m16s: want 0 (30m) or 1s..18h12m15s"},
	{"mesh.abro_lifetime", "59s", "mesh.abro_lifetime: 59s: want 0 (166h40m) or 1m..1092h15m"},
	{"tun.name", `""`, `tun.name: "": want an interface name of 1..15 characters`},
	{"tun.name", "abcdefghijklmnop", `tun.name: "abcdefghijklmnop": want an interface name of 1..15 characters`},
	{"tun.name", `"lo wpan"`, `tun.name: "lo wpan": want an interface name`},
	{"tun.name", `"a/b"`, `tun.name: "a/b": want an interface name`},
	{"tun.name", `"a:b"`, `tun.name: "a:b": want an interface name`},
	{"tun.name", `".."`, `tun.name: "..": want an interface name`},
	{"tun.mtu", "1279", "tun.mtu: 1279: want 1280..65535"},
	{"tun.mtu", "65536", "tun.mtu: 65536: want 1280..65535"},
	{"tun.forwarding", "maybe", `tun.forwarding: "maybe": want true or false`},
	{"tun.forwarding", "1.5", "tun.forwarding: 1.5: want true or false"},
	{"registry.size", "0", "registry.size: 0: want 1..1000000"},
	{"registry.size", "1000001", "registry.size: 1000001: want 1..1000000"},
	{"registry.max_per_neighbor", "0", "registry.max_per_neighbor: 0: want 1..registry.size"},
	{"registry.max_per_neighbor", "10001", "registry.max_per_neighbor: 10001: exceeds registry.size 10000"},
	{"registry.max_per_router", "-1", "registry.max_per_router: -1: want 0 (half of max_per_link) or 1..registry.size"},
	{"registry.max_per_router", "20000", "registry.max_per_router: 20000: exceeds registry.size 10000"},
	{"registry.max_per_link", "-5", "registry.max_per_link: -5: want 0 (registry.size) or 1..registry.size"},
	{"registry.max_per_link", "10001", "registry.max_per_link: 10001: exceeds registry.size 10000"},
	{"registry.max_lifetime", "30s", "registry.max_lifetime: 30s: want 0 (1h) or 1m..1092h15m"},
	{"registry.max_lifetime", "2000h", "registry.max_lifetime: 2000h: want 0 (1h) or 1m..1092h15m"},
	{"registry.save_delay", "2s", "registry.save_delay: 2s: want 0 (500ms) up to 1s"},
	{"registry.save_delay", "-1s", "registry.save_delay: -1s: want 0 (500ms) up to 1s"},
	{"nd.omit_solicited_sllao", "yes please", `nd.omit_solicited_sllao: "yes please": want true or false`},
	{"nd.apnd", "maybe", `nd.apnd: "maybe": want true or false`},
	{"nd.apnd_require", "2", "nd.apnd_require: 2: want true or false"},
	{"nd.apnd_trust_relays", `"yes please"`, `nd.apnd_trust_relays: "yes please": want true or false`},
	{"nd.apnd_challenge_lifetime", "500ms", "nd.apnd_challenge_lifetime: 500ms: want 0 (10s) or 1s..5m"},
	{"nd.apnd_challenge_lifetime", "6m", "nd.apnd_challenge_lifetime: 6m: want 0 (10s) or 1s..5m"},
	{"nd.apnd_max_challenges", "-1", "nd.apnd_max_challenges: -1: want 0 (256) or 1..65536"},
	{"nd.apnd_max_challenges", "70000", "nd.apnd_max_challenges: 70000: want 0 (256) or 1..65536"},
	{"nd.apnd_max_challenges_per_source", "-1", "nd.apnd_max_challenges_per_source: -1: want 0 (4) or 1..nd.apnd_max_challenges"},
	{"nd.apnd_max_challenges_per_source", "300", "nd.apnd_max_challenges_per_source: 300: exceeds nd.apnd_max_challenges 256"},
	{"nd.apnd_max_cipos", "-3", "nd.apnd_max_cipos: -3: want 0 (1024) or 1..1000000"},
	{"nd.apnd_max_cipos", "1000001", "nd.apnd_max_cipos: 1000001: want 0 (1024) or 1..1000000"},
	{"nd.control_neighbor_rate", "0", "nd.control_neighbor_rate: 0: want a rate per second above 0, at most 1000"},
	{"nd.control_neighbor_rate", "1e6", "nd.control_neighbor_rate: 1e+06: want a rate per second above 0, at most 1000"},
	{"nd.control_neighbor_rate", ".nan", "nd.control_neighbor_rate: NaN: want a rate per second above 0"},
	{"nd.control_neighbor_rate", "fast", `nd.control_neighbor_rate: "fast": want a number`},
	{"nd.control_neighbor_burst", "0", "nd.control_neighbor_burst: 0: want 1..10000"},
	{"nd.control_neighbor_burst", "2.5", "nd.control_neighbor_burst: 2.5: want an integer 1..10000"},
	{"nd.control_stranger_rate", "-10", "nd.control_stranger_rate: -10: want a rate per second above 0, at most 1000"},
	{"nd.control_stranger_burst", "10001", "nd.control_stranger_burst: 10001: want 1..10000"},
	{"nd.control_stranger_burst", "-1", "nd.control_stranger_burst: -1: want 1..10000"},
	{"reassembly.timeout", "61s", "reassembly.timeout: 1m1s: must be in (0, 60s]"},
	{"reassembly.timeout", "-1s", "reassembly.timeout: -1s: must be in (0, 60s]"},
	{"reassembly.max_datagrams", "-1", "reassembly.max_datagrams: -1: must be at least 1"},
	{"reassembly.max_datagrams", "lots", `reassembly.max_datagrams: "lots": want an integer`},
	{"reassembly.max_per_source", "17", "reassembly.max_per_source: 17: must be 1..16 (max datagrams)"},
	{"reassembly.max_memory", "2047", "reassembly.max_memory: 2047: must be at least 2048 octets"},
	{"reassembly.reserved", "16", "reassembly.reserved: 16: must be below max_datagrams 16 (strangers need one)"},
	{"reassembly.reserved", "-2", "reassembly.reserved: -2: want -1 (none), 0 (half of max_datagrams) or 1..max_datagrams − 1"},
	{"reassembly.reserved", "half", `reassembly.reserved: "half": want an integer`},
	{"forward.allow_unregistered_sources", "rpl", `forward.allow_unregistered_sources: "rpl": want true or false`},
	{"sim.routing", "ospf", `sim.routing: "ospf": want rpl or nd`},
	{"sim.leaves", "1.5", "sim.leaves: 1.5: want 0..1"},
	{"rpl.mode", "lite", `rpl.mode: "lite": want non-storing, storing or off`},
	{"rpl.instance", "128", "rpl.instance: 128: want 0..127"},
	{"rpl.objective_function", "etx", `rpl.objective_function: "etx": want of0 or mrhof`},
	{"rpl.min_hop_rank_increase", "4097", "rpl.min_hop_rank_increase: 4097: want 0..4096"},
	{"rpl.external_prefixes", "[fd00::/129]", `rpl.external_prefixes: "fd00::/129": want an IPv6 prefix of /8 or longer`},
	{"rpl.max_rank_increase", "-1", "rpl.max_rank_increase: -1: want 0..65535"},
	{"rpl.dio_interval_min", "25", "rpl.dio_interval_min: 25: want 0..24"},
	{"rpl.dio_interval_doublings", "31", "rpl.dio_interval_doublings: 31: want 0..30"},
	{"rpl.dio_redundancy", "256", "rpl.dio_redundancy: 256: want 0..255"},
	{"rpl.default_lifetime", "255", "rpl.default_lifetime: 255: want 0..254"},
	{"rpl.lifetime_unit", "x", `rpl.lifetime_unit: "x": want an integer`},
	{"rpl.rpi", "yes", `rpl.rpi: "yes": want auto, on or off`},
	{"rpl.rpi_6553", "2", `rpl.rpi_6553: 2: want true or false`},
	{"rpl.insert_headers", "2", `rpl.insert_headers: 2: want true or false`},
	{"rpl.lorh", "yes", `rpl.lorh: "yes": want true or false`},
	{"rpl.max_targets", "-1", "rpl.max_targets: -1: want 0..1048576"},
	{"upstream.interface", "abcdefghijklmnop", `upstream.interface: "abcdefghijklmnop": longer than an interface name can be`},
	{"upstream.max_interval", "3s", "upstream.max_interval: 3s: must be from 4s to 30m"},
	{"upstream.max_interval", "31m", "upstream.max_interval: 31m: must be from 4s to 30m"},
	{"upstream.min_interval", "2s", "upstream.min_interval: 2s: must be from 3s to 0.75 × max_interval = 7m30s"},
	{"upstream.min_interval", "8m", "upstream.min_interval: 8m: must be from 3s"},
	{"upstream.route_lifetime", "5m", "upstream.route_lifetime: 5m: must be from max_interval (10m)"},
	{"upstream.route_lifetime", "700500ms", "upstream.route_lifetime: 11m40.5s: must be whole seconds"},
	{"upstream.router_lifetime", "5m", "upstream.router_lifetime: 5m: must be 0 (not a default router) or from max_interval (10m) to 2h30m"},
	{"upstream.router_lifetime", "3h", "upstream.router_lifetime: 3h: must be 0"},
	{"upstream.preference", "highest", `upstream.preference: "highest": want low, medium or high`},
	{"metrics.listen", "localhost", `metrics.listen: "localhost": want host:port with a port 0..65535`},
	{"metrics.listen", `"127.0.0.1:65536"`, `metrics.listen: "127.0.0.1:65536": want host:port`},
	{"metrics.listen", `"127.0.0.1:http"`, `metrics.listen: "127.0.0.1:http": want host:port`},
	{"metrics.max_neighbors", "0", "metrics.max_neighbors: 0: want 1..4096"},
	{"metrics.max_neighbors", "4097", "metrics.max_neighbors: 4097: want 1..4096"},
	{"api.socket", "api.sock", `api.socket: "api.sock": want an absolute path, or "" for none`},
	{"state_dir", "state", `state_dir: "state": want an absolute path`},
	{"state_dir", `""`, `state_dir: "": want an absolute path`},
	{"log.level", "loud", `log.level: "loud": want debug, info, warn or error`},
	{"log.format", "xml", `log.format: "xml": want text or json`},
	{"sim.topology", "ring", `sim.topology: "ring": want star, line, grid or random`},
	{"sim.nodes", "5000", "sim.nodes: 5000: want 0..1000"},
	{"sim.nodes", "-1", "sim.nodes: -1: want 0..1000"},
	{"sim.rows", "0", "sim.rows: 0: want at least 1"},
	{"sim.rows", "1000", "sim.rows: 1000: a grid of 1000 × 4 has 3999 nodes: want at most 1000"},
	{"sim.cols", "0", "sim.cols: 0: want at least 1"},
	{"sim.seed", "-1", "sim.seed: -1: want an integer 0..18446744073709551615"},
	{"sim.seed", "x", `sim.seed: "x": want an integer 0..18446744073709551615`},
	{"sim.ot_node", "34", "sim.ot_node: 34: want 0..33"},
	{"web.enabled", "sometimes", `web.enabled: "sometimes": want true or false`},
	{"web.listen", "localhost", `web.listen: "localhost": want host:port with a port 0..65535, e.g. 127.0.0.1:9581`},
	{"web.controls", "2", "web.controls: 2: want true or false"},
	{"capture.file", "/tmp/", `capture.file: "/tmp/": want a file's path`},
	{"capture.zep_mirror", `"127.0.0.1"`, `capture.zep_mirror: "127.0.0.1": want host:port with a port 0..65535, e.g. 127.0.0.1:17754`},
	{"sim.zep", "localhost", `sim.zep: "localhost": want ADDRESS:PORT, e.g. 127.0.0.1:17754`},
	{"sim.zep", "0.0.0.0:17754", `sim.zep: "0.0.0.0:17754": want an address nodes send to and a port`},
	{"sim.loss", "1", "sim.loss: 1: want a probability in [0, 1)"},
	{"sim.loss", "-0.1", "sim.loss: -0.1: want a probability in [0, 1)"},
	{"sim.loss", "high", `sim.loss: "high": want a number`},
	{"sim.links", `["n1n2=0.3"]`, `sim.links: "n1n2=0.3": want A-B=LOSS or A-B=off`},
	{"sim.links", `["n1-n2=lots"]`, `sim.links: "n1-n2=lots": loss "lots" is not a number from 0 to 1 (or off)`},
	{"sim.links", `["n1-n99=0.3"]`, `sim.links: "n1-n99=0.3": want two distinct nodes of the mesh (br, n1…n10)`},
	{"sim.links", `["n1-n2=1.5"]`, `sim.links: "n1-n2=1.5": loss 1.5: want a probability in [0, 1]`},
	{"sim.intruders", `[n42]`, `sim.intruders: "n42": no such node (n1…n10)`},
	{"sim.intruders", `[br]`, `sim.intruders: "br": no such node`},
	{"sim.intruders", `["n1:steal"]`, `sim.intruders: "n1:steal": no variant "steal": want NODE or NODE:VARIANT with VARIANT one of rovr, rovr-legacy, lifetime0, lifetime0-legacy, relayed, relayed-legacy`},
	{"sim.intruders", `["n1:"]`, `sim.intruders: "n1:": no variant ""`},
	{"sim.intruders", `["n1:relayed"]`, `sim.intruders: "n1:relayed": a relayed intruder needs 6LRs: a line, grid or random topology`},
	{"sim.intruders", `["n2:rovr", "n2:rovr"]`, `sim.intruders: "n2:rovr": given twice`},
	{"sim.intruders", `["n11:lifetime0"]`, `sim.intruders: "n11:lifetime0": no such node (n1…n10)`},
	{"sim.protect", "sometimes", `sim.protect: "sometimes": want true or false`},
	{"sim.crypto_type", "ecdsa25519", `sim.crypto_type: "ecdsa25519": want ecdsa256 or ed25519`},
	{"sim.lifetime", "30s", "sim.lifetime: 30s: want at least 1m"},
	{"ble.url", "hci+usb://hci0", `ble.url: "hci+usb://hci0": unknown scheme "hci+usb" for a BLE controller`},
	{"ble.connect", "maybe", `ble.connect: "maybe": want true or false`},
	{"ble.advertise", "2", "ble.advertise: 2: want true or false"},
	{"ble.allow", "[C0:11:22]", `ble.allow: "C0:11:22": want a device address`},
	{"ble.max_connections", "0", "ble.max_connections: 0: want 1..32"},
	{"ble.conn_interval", "8ms", "ble.conn_interval: 8ms: want 7.5ms..4s in steps of 1.25ms"},
	{"sim.ble_nodes", "33", "sim.ble_nodes: 33: want 0..32"},
	{"sim.ble_stalled", "[n1]", `sim.ble_stalled: "n1": want a simulated BLE node name`},
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range configErrorTests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			path := writeConfig(t, yamlFor(tt.key, tt.value))
			_, err := load(path, nil)
			want := "config " + path + ": " + tt.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v\nwant %q", err, want)
			}
			// Each error is a FieldError of a known key (or of a section,
			// for the packages' own checks), from the file.
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Errors) == 0 {
				t.Fatalf("%T is not a *ConfigError", err)
			}
			for _, e := range ce.Errors {
				if keyNamed(e.Key) == nil || e.Source != "config "+path {
					t.Errorf("error %q: key %q, source %q", e, e.Key, e.Source)
				}
			}
		})
	}
}

func TestConfigErrorsCoverEveryKey(t *testing.T) {
	for _, k := range Keys() {
		if !slices.ContainsFunc(configErrorTests, func(tt struct{ key, value, want string }) bool { return tt.key == k.Name }) {
			t.Errorf("no error case for %s", k.Name)
		}
	}
}

// A Config built in code is checked by the same typed validators as a
// file: the errors name the key, the value and the reason, without a
// source; errors.As finds each FieldError and the library's own errors.
func TestValidateTyped(t *testing.T) {
	cfg := Defaults()
	cfg.Radio.Channel = 27
	cfg.Radio.URL = "spinel+hdlc+uart://dev/ttyACM0"
	cfg.TUN.Name = ""
	cfg.Mesh.Contexts = []nd.ContextConfig{{ID: 1, Prefix: netip.MustParsePrefix("2001:db8::/64")}, {ID: 1, Prefix: netip.MustParsePrefix("2001:db8:1::/64")}}
	cfg.Sim.Topology = sim.Line
	cfg.Sim.Nodes = 3
	cfg.Sim.Intruders = []string{"n4"}
	cfg.Upstream.MaxInterval = 20 * time.Second
	cfg.Upstream.MinInterval = 16 * time.Second
	err := cfg.Validate()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Validate: %v (%T), want a *ConfigError", err, err)
	}
	type fe struct{ Key, Value, Source, Reason string }
	var got []fe
	for _, e := range ce.Errors {
		got = append(got, fe{e.Key, e.Value, e.Source, e.Reason})
	}
	want := []fe{
		{"radio.url", `"spinel+hdlc+uart://dev/ttyACM0"`, "", `path "dev/ttyACM0" is not absolute; write spinel+hdlc+uart:///dev/ttyACM0 (three slashes)`},
		{"radio.channel", "27", "", "want 11..26"},
		{"mesh.contexts", `"1=2001:db8:1::/64"`, "", "ID 1 given twice"},
		{"tun.name", `""`, "", "want an interface name of 1..15 characters without '/', ':' or white space"},
		{"upstream.min_interval", "16s", "", "must be from 3s to 0.75 × max_interval = 15s (RFC 4861 §6.2.1)"},
		{"sim.intruders", `"n4"`, "", "no such node (n1…n3)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	var ue *transport.URLError
	if !errors.As(err, &ue) || !errors.Is(err, transport.ErrBadURL) {
		t.Errorf("the radio URL's error is not reached through errors.As/Is: %v", err)
	}
	// Validate changes nothing.
	if cfg.Radio.Channel != 27 || len(cfg.Mesh.Contexts) != 2 {
		t.Errorf("Validate changed the Config: %+v", cfg.Radio)
	}
	// A zero Config is not valid, and says why.
	var zero Config
	if err := zero.Validate(); !errors.As(err, &ce) || len(ce.Errors) < 5 {
		t.Errorf("zero Config: %v", err)
	}
	// New refuses what Validate refuses, before it touches anything.
	if _, err := New(cfg); !errors.As(err, &ce) {
		t.Errorf("New with a bad Config: %v", err)
	}
}

// The AP-ND keys: on by default (legacy nodes still register, see
// nd.apnd's doc), the options refused while it is off — with the source of
// whichever key turned it off — and every key reaching nd's and sim's
// configurations.
func TestAPNDKeys(t *testing.T) {
	def := loadDefaults(t)
	if c := def.ND.apndConfig(); c == nil || c.RequireCryptoID || c.TrustRelays {
		t.Errorf("default AP-ND configuration %+v, want on, neither required nor trusting relays", c)
	}
	for _, k := range Keys() {
		if k.Name == "nd.apnd" && (k.Default != "true" || k.Kind != KindBool) {
			t.Errorf("nd.apnd: %+v, want a bool defaulting to true", k)
		}
	}
	_, err := load("", map[string]string{"LOWPANBR_ND_APND": "false"}, flag(t, "nd.apnd_require", "true"), flag(t, "nd.apnd_trust_relays", "true"))
	for _, want := range []string{"--apnd-require: nd.apnd_require: true: needs nd.apnd: true", "--apnd-trust-relays: nd.apnd_trust_relays: true: needs nd.apnd: true"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	path := writeConfig(t, yamlFor("nd.apnd", "false", "nd.apnd_require", "true"))
	if _, err := load(path, nil); err == nil || !strings.Contains(err.Error(), "config "+path+": nd.apnd_require: true: needs nd.apnd: true") {
		t.Errorf("from a file: %v", err)
	}
	if off, err := load("", map[string]string{"LOWPANBR_ND_APND": "false"}); err != nil || off.ND.apndConfig() != nil {
		t.Errorf("nd.apnd false: %v, %+v", err, off.ND.apndConfig())
	}

	path = writeConfig(t, yamlFor("nd.apnd_require", "true", "nd.apnd_trust_relays", "true", "nd.apnd_challenge_lifetime", "30s",
		"nd.apnd_max_challenges", "64", "nd.apnd_max_challenges_per_source", "2", "nd.apnd_max_cipos", "100",
		"sim.topology", "line", "sim.nodes", "3", "sim.routing", "nd", "sim.protect", "true", "sim.crypto_type", "Ed25519",
		"sim.intruders", `["n1:relayed-legacy", "n2:rovr", "n3"]`))
	cfg, err := load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := nd.APNDConfig{RequireCryptoID: true, TrustRelays: true, ChallengeLifetime: 30 * time.Second, MaxChallenges: 64,
		MaxChallengesPerSource: 2, MaxCIPOs: 100}
	if got := cfg.ND.apndConfig(); got == nil || *got != want {
		t.Errorf("nd.APNDConfig %+v, want %+v", got, want)
	}
	m := cfg.meshConfig()
	if !m.Protect || m.CryptoType != nd.CryptoEd25519 || !slices.Equal(m.Intruders, []string{"n1:relayed-legacy", "n2:rovr", "n3"}) {
		t.Errorf("sim.MeshConfig %+v", m)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("sim refuses what the keys passed: %v", err)
	}
	// The example and the environment write them back as they were read.
	if s := keyNamed("sim.crypto_type").v.text(&cfg); s != "ed25519" {
		t.Errorf("sim.crypto_type as text: %v", s)
	}
}

// The control path's keys default to the router's own defaults and reach
// router.ControlConfig; reassembly.reserved reaches lowpan's configuration
// (which accepts what the key accepts); forward.allow_unregistered_sources
// is off by default. reassembly.reserved is judged against the
// max_datagrams in force.
func TestControlKeys(t *testing.T) {
	def := loadDefaults(t)
	want := router.ControlConfig{NeighborRate: router.DefaultNeighborRate, NeighborBurst: router.DefaultNeighborBurst,
		StrangerRate: router.DefaultStrangerRate, StrangerBurst: router.DefaultStrangerBurst}
	if got := def.ND.controlConfig(); got != want {
		t.Errorf("default control path %+v, want the router's defaults %+v", got, want)
	}
	if def.Forward.AllowUnregisteredSources || def.Reassembly.Reserved != 0 {
		t.Errorf("defaults: forward %+v, reassembly.reserved %d", def.Forward, def.Reassembly.Reserved)
	}
	path := writeConfig(t, yamlFor("nd.control_neighbor_rate", "50", "nd.control_neighbor_burst", "200",
		"nd.control_stranger_rate", "2.5", "nd.control_stranger_burst", "120",
		"reassembly.max_datagrams", "8", "reassembly.reserved", "7", "forward.allow_unregistered_sources", "true"))
	cfg, err := load(path, map[string]string{"LOWPANBR_ND_CONTROL_STRANGER_RATE": "4"})
	if err != nil {
		t.Fatal(err)
	}
	want = router.ControlConfig{NeighborRate: 50, NeighborBurst: 200, StrangerRate: 4, StrangerBurst: 120}
	if got := cfg.ND.controlConfig(); got != want {
		t.Errorf("control path %+v, want %+v", got, want)
	}
	if !cfg.Forward.AllowUnregisteredSources {
		t.Error("forward.allow_unregistered_sources not set")
	}
	r := cfg.Reassembly
	if err := r.Validate(); err != nil || r.Reserved != 7 || r.MaxDatagrams != 8 {
		t.Errorf("reassembly %+v: %v", r, err)
	}
	// 7 of 16 is fine, 7 of 4 is not, and says which key to look at too.
	path = writeConfig(t, yamlFor("reassembly.max_datagrams", "4", "reassembly.reserved", "7"))
	if _, err := load(path, nil); err == nil || !strings.Contains(err.Error(), "reassembly.reserved: 7: must be below max_datagrams 4") {
		t.Errorf("reserved above max_datagrams: %v", err)
	}
	if none, err := load("", map[string]string{"LOWPANBR_REASSEMBLY_RESERVED": "-1"}); err != nil || none.Reassembly.Validate() != nil {
		t.Errorf("reassembly.reserved -1 (none): %v", err)
	}
}

// A registry lifetime cap below what the simulated nodes ask for is
// allowed: they refresh by the lifetime granted in the NA (sim's
// refreshAfter), not the one they asked for.
func TestMaxLifetimeBelowSimLifetime(t *testing.T) {
	path := writeConfig(t, yamlFor("registry.max_lifetime", "5m", "sim.lifetime", "2h"))
	cfg, err := load(path, nil)
	if err != nil || cfg.Registry.MaxLifetime != 5*time.Minute || cfg.Sim.Lifetime != 2*time.Hour {
		t.Errorf("registry.max_lifetime 5m, sim.lifetime 2h: %v (%+v, %v)", err, cfg.Registry, cfg.Sim.Lifetime)
	}
}

// All errors are reported, each with where it was written.
func TestConfigErrorsAllOrigins(t *testing.T) {
	path := writeConfig(t, "radio:\n  channel: 27\ntun:\n  mtu: 1000\n")
	env := map[string]string{"LOWPANBR_MESH_PREFIX": "fd00::/48", "LOWPANBR_TUN_MTU": "70000"}
	_, err := load(path, env, flag(t, "log.level", "loud"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"config " + path + ": radio.channel: 27: want 11..26",
		`$LOWPANBR_MESH_PREFIX: mesh.prefix: "fd00::/48": want an IPv6 /64`,
		"$LOWPANBR_TUN_MTU: tun.mtu: 70000: want 1280..65535",
		`--log-level: log.level: "loud": want debug, info, warn or error`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "1000") {
		t.Errorf("the file's tun.mtu, overridden by the environment, is reported:\n%v", err)
	}
	// A cross-field error written nowhere itself takes the source of the
	// key that caused it.
	_, err = load("", map[string]string{"LOWPANBR_MESH_PREFIX_VALID_LIFETIME": "1h"})
	if want := "$LOWPANBR_MESH_PREFIX_VALID_LIFETIME: mesh.prefix_preferred_lifetime: 4h: exceeds"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
	// An override of a key that does not exist.
	_, err = load("", nil, Override{Key: "radio.chanel", Source: "--x", Values: []string{"1"}})
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `--x: unknown key "radio.chanel" (did you mean radio.channel?)`) {
		t.Errorf("unknown override: %v", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // after "config FILE: "
	}{
		{"top-level", "foo: 1\n", `unknown key "foo"`},
		{"top-level section", "foo:\n  bar: 1\n", `unknown key "foo"`},
		{"nested", "radio:\n  chanel: 20\n", `unknown key "radio.chanel" (did you mean radio.channel?)`},
		{"nested deeper", "radio:\n  spi:\n    speed: 1\n", `unknown key "radio.spi"`},
		{"under a top-level key", "state_dir:\n  path: /srv\n", "state_dir: map[path:/srv]: want a string"},
		{"section as a value", "radio: 5\n", "radio: 5: want a section of radio.* keys"},
		{"value as a section", "tun:\n  mtu:\n    v: 1\n", "tun.mtu: map[v:1]: want an integer 1280..65535"},
		{"syntax", "radio:\n  channel: 20\n bad: [\n", "yaml: line 2: did not find expected key"},
		{"syntax, tab", "radio:\n\tchannel: 20\n", "yaml: line 2: found character that cannot start any token"},
		{"duplicate", "tun:\n  mtu: 1280\n  mtu: 1400\n", `yaml: unmarshal errors:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			_, err := load(path, nil)
			want := "config " + path + ": " + tt.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v\nwant %q", err, want)
			}
		})
	}
	// Several unknown keys are all reported.
	path := writeConfig(t, "foo: 1\nradio:\n  chanel: 20\n  channel: 27\n")
	_, err := load(path, nil)
	for _, want := range []string{`unknown key "foo"`, `unknown key "radio.chanel"`, "radio.channel: 27"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %v", want, err)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "foo" || !errors.Is(fe, ErrUnknownKey) {
		t.Errorf("first error: %+v", fe)
	}

	// A file named on the command line must exist.
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err = load(missing, nil)
	if err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing required file: %v", err)
	}
}

func TestConfigValues(t *testing.T) {
	path := writeConfig(t, `
radio:
  url: "spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800"
  pan_id: 4660
mesh:
  prefix: "fd00:1::5/64"
  contexts: ["0=2001:db8:1::/64", "3=2001:db8:3::/48"]
  context_change_delay: -1s
  prefix_valid_lifetime: 48h
  prefix_preferred_lifetime: 48h
reassembly: {timeout: 10s, max_datagrams: 8, max_per_source: 2, max_memory: 32768}
registry: {size: 2000, max_per_neighbor: 8, max_per_router: 100, max_per_link: 1500, max_lifetime: 2h, save_delay: 200ms}
upstream:
  interface: eth0
  route_lifetime: 1h
  min_interval: 30s
  max_interval: 2m
  preference: high
  router_lifetime: 2m
sim:
  topology: grid
  rows: 2
  cols: 3
  links: [br-n1=off, n1-n2=0.25]
`)
	cfg, err := load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Radio.URL != "spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800" || cfg.Radio.PANID != 0x1234 || cfg.Simulated() {
		t.Errorf("radio: %q %#x", cfg.Radio.URL, cfg.Radio.PANID)
	}
	if cfg.Mesh.Prefix != netip.MustParsePrefix("fd00:1::/64") {
		t.Errorf("prefix %v: host bits not cleared", cfg.Mesh.Prefix)
	}
	wantCtx := []nd.ContextConfig{{ID: 0, Prefix: netip.MustParsePrefix("2001:db8:1::/64")}, {ID: 3, Prefix: netip.MustParsePrefix("2001:db8:3::/48")}}
	if diff := cmp.Diff(wantCtx, cfg.Mesh.Contexts, cmpConfig); diff != "" {
		t.Errorf("contexts (-want +got):\n%s", diff)
	}
	if m := cfg.Mesh; m.ContextChangeDelay != -time.Second || m.PrefixValidLifetime != 48*time.Hour || m.PrefixPreferredLifetime != 48*time.Hour {
		t.Errorf("mesh: %+v", m)
	}
	if r := cfg.Reassembly; r.Timeout != 10*time.Second || r.MaxDatagrams != 8 || r.MaxPerSource != 2 || r.MaxMemory != 32768 {
		t.Errorf("reassembly: %+v", r)
	}
	wantReg := RegistryConfig{Size: 2000, MaxPerNeighbor: 8, MaxPerRouter: 100, MaxPerLink: 1500, MaxLifetime: 2 * time.Hour, SaveDelay: 200 * time.Millisecond}
	if diff := cmp.Diff(wantReg, cfg.Registry); diff != "" {
		t.Errorf("registry (-want +got):\n%s", diff)
	}
	want := UpstreamConfig{Interface: "eth0", RouteLifetime: time.Hour, MinInterval: 30 * time.Second, MaxInterval: 2 * time.Minute,
		Preference: nd.PreferenceHigh, RouterLifetime: 2 * time.Minute}
	if diff := cmp.Diff(want, cfg.Upstream); diff != "" {
		t.Errorf("upstream (-want +got):\n%s", diff)
	}
	// The grid's node count is derived from rows and columns.
	if s := cfg.Sim; s.Topology != sim.Grid || s.Nodes != 5 || len(s.Links) != 2 || !s.Links[0].Disconnected || s.Links[1].Loss != 0.25 {
		t.Errorf("sim: %+v", s)
	}
}

// The example is a file that loads exactly as the defaults do, and holds
// every key after its comment.
func TestConfigExample(t *testing.T) {
	var b bytes.Buffer
	if err := WriteExample(&b); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, b.String())
	cfg, err := load(path, nil)
	if err != nil {
		t.Fatalf("example does not load: %v\n%s", err, b.String())
	}
	if diff := cmp.Diff(loadDefaults(t), cfg, cmpConfig); diff != "" {
		t.Errorf("example vs defaults (-want +got):\n%s", diff)
	}

	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b.Bytes())); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range Keys() {
		want = append(want, k.Name)
		name := k.Name[strings.LastIndexByte(k.Name, '.')+1:]
		if !keyAfterDoc(b.String(), k.Doc, name) {
			t.Errorf("%s: not written after its comment %q", k.Name, k.Doc)
		}
	}
	got := v.AllKeys()
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys of the example (-want +got):\n%s", diff)
	}
}

// keyAfterDoc says whether the line after "# doc" sets name.
func keyAfterDoc(text, doc, name string) bool {
	_, after, ok := strings.Cut(text, "# "+doc+"\n")
	line, _, _ := strings.Cut(after, "\n")
	return ok && strings.HasPrefix(strings.TrimSpace(line), name+": ")
}

// The environment accepts every key in the text form of its default (lists
// separated by commas), and that is the defaults.
func TestConfigEnvEveryKey(t *testing.T) {
	env := map[string]string{}
	for _, k := range Keys() {
		env[k.Env()] = k.Default
	}
	cfg, err := load("", env)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(loadDefaults(t), cfg, cmpConfig); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := keyNamed("state_dir").Env(); got != "LOWPANBR_STATE_DIR" {
		t.Errorf("state_dir's variable: %s", got)
	}
	if got := keyNamed("mesh.prefix_valid_lifetime").Env(); got != "LOWPANBR_MESH_PREFIX_VALID_LIFETIME" {
		t.Errorf("mesh.prefix_valid_lifetime's variable: %s", got)
	}
}

// Load again (SIGHUP) reads the file anew, with the same overrides on top.
func TestConfigReload(t *testing.T) {
	path := writeConfig(t, "radio:\n  channel: 20\ntun:\n  mtu: 1400\n")
	l := &Loader{Path: path, Required: true, LookupEnv: fakeEnv(nil), Overrides: []Override{flag(t, "tun.mtu", "1500")}}
	cfg, err := l.Load()
	if err != nil || cfg.Radio.Channel != 20 || cfg.TUN.MTU != 1500 || l.Read() != path {
		t.Fatalf("first load: %v: channel %d, MTU %d, read %q", err, cfg.Radio.Channel, cfg.TUN.MTU, l.Read())
	}
	if err := os.WriteFile(path, []byte("radio:\n  channel: 25\ntun:\n  mtu: 9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = l.Load()
	if err != nil || cfg.Radio.Channel != 25 || cfg.TUN.MTU != 1500 {
		t.Fatalf("reload: %v: channel %d, MTU %d", err, cfg.Radio.Channel, cfg.TUN.MTU)
	}
}

// What Reload takes and what needs a restart, key by key.
func TestChangedKeys(t *testing.T) {
	a := loadDefaults(t)
	b := a
	b.Log.Level = slog.LevelDebug
	b.Radio.Channel = 20
	b.Mesh.Contexts = []nd.ContextConfig{{ID: 1, Prefix: netip.MustParsePrefix("2001:db8::/64")}}
	b.Sim.EUI64[7] = 9
	if diff := cmp.Diff([]string{"radio.channel", "mesh.contexts", "log.level", "Sim.EUI64"}, changedKeys(&a, &b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := changedKeys(&a, &a); len(got) != 0 {
		t.Errorf("no change: %v", got)
	}
}

func TestNewLogger(t *testing.T) {
	var b bytes.Buffer
	log, level := NewLogger(&b, LogConfig{Format: "json", Level: slog.LevelWarn})
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	level.Set(slog.LevelDebug)
	log.Debug("now shown")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["msg"] != "shown" {
		t.Errorf("not JSON, or not the warning: %v %s", err, lines[0])
	}
	b.Reset()
	log, _ = NewLogger(&b, LogConfig{Format: "text"})
	log.Warn("text")
	if !strings.HasPrefix(b.String(), "time=") {
		t.Errorf("text format: %q", b.String())
	}
}

// FuzzConfigFile: whatever a configuration file holds, loading it gives a
// configuration or an error, never a panic; what loads is valid.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("radio:\n  channel: 20\n  pan_id: 0xbeef\nmesh:\n  prefix: fd00:1::/64\n  contexts: [0=fd00:1::/64]\n"))
	f.Add([]byte("sim:\n  topology: grid\n  rows: 2\n  cols: 2\n  links: [n1-n2=0.5, br-n1=off]\n"))
	f.Add([]byte("upstream:\n  interface: eth0\n  max_interval: 10s\n  min_interval: 3s\n"))
	f.Add([]byte("radio: [1, 2\n"))
	f.Add([]byte("log:\n  level: 7\nreassembly:\n  timeout: -1s\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := load(path, nil)
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) && len(ce.Errors) == 0 {
				t.Fatal("a ConfigError without errors")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded a configuration Validate refuses: %v", err)
		}
	})
}

// The rpl section and sim.routing together: the simulated routers speak
// RPL by default when the border router is a root (not in a star), a
// relayed intruder and RPL routers without a root are refused, and the
// RPI follows rpl.rpi (auto: off in storing mode).
func TestConfigRPL(t *testing.T) {
	cfg, err := load(writeConfig(t, yamlFor("sim.topology", "line")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.meshConfig(); m.Routing != sim.RoutingRPL {
		t.Errorf("line under a RPL root: routing %q", m.Routing)
	}
	if rc := cfg.RPL.forwarderRPL(); rc == nil || rc.Root.MOP != rpl.MOPNonStoring || !rc.RPI {
		t.Errorf("default RPL: %+v", rc)
	}
	cfg, err = load(writeConfig(t, yamlFor("sim.topology", "line", "rpl.mode", "storing", "rpl.objective_function", "mrhof")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rc := cfg.RPL.forwarderRPL(); rc == nil || rc.Root.MOP != rpl.MOPStoring || rc.RPI || rc.Root.OCP != 1 {
		t.Errorf("storing: %+v", rc)
	}
	cfg, err = load(writeConfig(t, yamlFor("sim.topology", "line", "rpl.mode", "off")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.meshConfig(); m.Routing != sim.RoutingND || cfg.RPL.forwarderRPL() != nil {
		t.Errorf("RPL off: routing %q, %+v", m.Routing, cfg.RPL.forwarderRPL())
	}
	for _, tt := range []struct {
		kv   []string
		want string
	}{
		{[]string{"sim.topology", "line", "rpl.mode", "off", "sim.routing", "rpl"}, "sim.routing: rpl: RPL routers need the border router as RPL root"},
		{[]string{"sim.topology", "line", "sim.intruders", `["n1:relayed"]`}, `sim.intruders: "n1:relayed": a relayed intruder needs 6LRs that relay registrations by EDAR: sim.routing nd`},
		{[]string{"sim.topology", "line", "sim.routing", "nd", "sim.leaves", "0.5"}, "sim.leaves: 0.5: RPL-unaware leaves need sim.routing rpl"},
	} {
		if _, err := load(writeConfig(t, yamlFor(tt.kv...)), nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.kv, err, tt.want)
		}
	}
}

// A simulated node that has had no answer yet shows "pending", not the
// zero status's "success"; answers show as they are.
func TestSimStatus(t *testing.T) {
	for _, tt := range []struct {
		st   sim.NodeState
		want string
	}{
		{sim.NodeState{}, "pending"},
		{sim.NodeState{Registered: true}, "success"},
		{sim.NodeState{Deregistered: true}, "deregistered"},
		{sim.NodeState{Status: nd.StatusDuplicate, Refused: netip.MustParseAddr("2001:db8::3")}, nd.StatusDuplicate.String()},
		{sim.NodeState{Status: nd.StatusNeighborCacheFull}, nd.StatusNeighborCacheFull.String()},
	} {
		if got := simStatus(tt.st); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.st, got, tt.want)
		}
	}
}
