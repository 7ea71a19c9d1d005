package borderrouter

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/otsim"
)

// Kind is how a key's value is written, in the file and in the example.
type Kind int

const (
	KindString Kind = iota
	KindInt
	KindFloat
	KindBool
	KindDuration
	KindList // a YAML sequence; comma-separated in the environment; a repeatable flag
)

// EnvPrefix starts the environment variable of every key.
const EnvPrefix = "LOWPANBR_"

// Key is one setting of the configuration. The key table drives the
// defaults, the command-line flags, the environment variables, the example
// file and the validation alike.
type Key struct {
	Name    string // section.name in snake_case, or a top-level name
	Flag    string // lowpanbr run's flag; "" for none
	Meta    string // the flag's argument in the usage, e.g. URL
	Kind    Kind
	Doc     string // one line: what it is and what is allowed
	Default string // the default as text; a list's items joined by commas
}

// Env is the key's environment variable, e.g. LOWPANBR_RADIO_CHANNEL.
func (k Key) Env() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
}

// Section is the part of the name before the dot; "" at the top level.
func (k Key) Section() string {
	s, _, ok := strings.Cut(k.Name, ".")
	if !ok {
		return ""
	}
	return s
}

// Keys is every key, in the order of the example file.
func Keys() []Key {
	def := Defaults()
	out := make([]Key, len(keyTable))
	for i, k := range keyTable {
		out[i] = k.Key
		switch t := k.v.text(&def).(type) {
		case string:
			out[i].Default = t
		case []string:
			out[i].Default = strings.Join(t, ",")
		}
		out[i].Kind = k.v.kind()
	}
	return out
}

// key is a Key and the field it sets.
type key struct {
	Key
	v value
}

func keyNamed(name string) *key {
	for i := range keyTable {
		if keyTable[i].Name == name {
			return &keyTable[i]
		}
	}
	return nil
}

func newKey(name, flag, meta, doc string, v value) key {
	return key{Key: Key{Name: name, Flag: flag, Meta: meta, Doc: doc}, v: v}
}

const wantPrefix = "want an IPv6 /64 such as fd00:1::/64"

// reassemblySlot is the buffer of one datagram in lowpan's reassembler.
const reassemblySlot = lowpan.DefaultMaxMemory / lowpan.DefaultMaxDatagrams

// Limits of the upstream RAs, RFC 4861 §6.2.1 (MaxRtrAdvInterval,
// MinRtrAdvInterval, AdvDefaultLifetime) and RFC 4191 §2.3 (Route
// Lifetime), with upstream's defaults. upstream.New holds the same limits;
// Validate calls it last, so that the two cannot drift apart unnoticed.
const (
	upstreamDefaultMaxInterval   = 600 * time.Second
	upstreamLowestMaxInterval    = 4 * time.Second
	upstreamHighestMaxInterval   = 1800 * time.Second
	upstreamLowestMinInterval    = 3 * time.Second
	upstreamHighestRouter        = 9000 * time.Second
	upstreamDefaultRouteLifetime = 30 * time.Minute
	upstreamInfiniteRoute        = 0xffffffff * time.Second
)

// keyTable is every key, in the order of the example file.
var keyTable = []key{
	newKey("radio.url", "radio", "URL",
		`radio co-processor URL, e.g. spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800 or spinel+hdlc+uart://auto; "": the built-in simulator`,
		stringValue{at: func(c *Config) *string { return &c.Radio.URL }, valid: func(_ *Config, s string) *FieldError {
			if s == "" {
				return nil
			}
			_, err := transport.ParseURL(s)
			return urlError(err)
		}}),
	newKey("radio.channel", "channel", "N", "IEEE 802.15.4 channel (2.4 GHz): 11..26",
		intValue[uint8]{at: func(c *Config) *uint8 { return &c.Radio.Channel }, lo: 11, hi: 26, want: "11..26"}),
	newKey("radio.pan_id", "pan-id", "ID", "PAN ID, hex or decimal: 0x0000..0xfffe (0xffff is the broadcast PAN)",
		intValue[uint16]{at: func(c *Config) *uint16 { return &c.Radio.PANID }, lo: 0, hi: 0xfffe, want: "0x0000..0xfffe",
			parse: parsePANID, syntax: "want 0x0000..0xfffe",
			show: func(n int64) string {
				if n < 0 {
					return strconv.FormatInt(n, 10)
				}
				return fmt.Sprintf("%#x", n)
			},
			format: func(n int64) string { return fmt.Sprintf("0x%04x", n) }}),
	newKey("radio.tx_power", "tx-power", "DBM", "transmit power in dBm: -128..127",
		intValue[int8]{at: func(c *Config) *int8 { return &c.Radio.TxPowerDBm }, lo: -128, hi: 127, want: "-128..127 (dBm)"}),

	newKey("mesh.prefix", "prefix", "PREFIX", "mesh prefix, an IPv6 /64; the border router is ::1 in it",
		parsedValue[netip.Prefix]{at: func(c *Config) *netip.Prefix { return &c.Mesh.Prefix },
			parse: func(s string) (netip.Prefix, bool) {
				p, err := netip.ParsePrefix(strings.TrimSpace(s))
				return p, err == nil
			},
			syntax: wantPrefix,
			format: netip.Prefix.String,
			valid: func(_ *Config, p netip.Prefix) *FieldError {
				if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" || p.Bits() != 64 {
					return reason(wantPrefix)
				}
				return nil
			}}),
	newKey("mesh.contexts", "context", "ID=PREFIX",
		`6LoWPAN compression contexts (RFC 6282 §3.1.2), "ID=PREFIX" with ID 0..15; []: context 0 is the mesh prefix`,
		listValue[nd.ContextConfig]{at: func(c *Config) *[]nd.ContextConfig { return &c.Mesh.Contexts },
			parse: func(s string) (nd.ContextConfig, *FieldError) {
				id, ctx, err := lowpan.ParseContext(s)
				if err != nil {
					return nd.ContextConfig{}, &FieldError{Value: strconv.Quote(s), Err: err}
				}
				return nd.ContextConfig{ID: uint8(id), Prefix: ctx.Prefix}, nil
			},
			format: formatContext,
			valid:  checkContexts}),
	newKey("mesh.context_change_delay", "", "",
		fmt.Sprintf("how long a new or changed context is sent with C=0 before it is used (RFC 6775 §7.2); 0: %s (MIN_CONTEXT_CHANGE_DELAY), none on the simulator; negative: none",
			fmtDuration(nd.MinContextChangeDelay)),
		durationValue{at: func(c *Config) *time.Duration { return &c.Mesh.ContextChangeDelay }}),
	lifetimeKey("mesh.prefix_valid_lifetime", "valid lifetime of the mesh prefix in RAs (PIO)",
		nd.DefaultPrefixValidLifetime, time.Second, 0, func(c *Config) *time.Duration { return &c.Mesh.PrefixValidLifetime }, nil),
	lifetimeKey("mesh.prefix_preferred_lifetime", "preferred lifetime of the mesh prefix, at most the valid lifetime",
		nd.DefaultPrefixPreferredLifetime, time.Second, 0, func(c *Config) *time.Duration { return &c.Mesh.PrefixPreferredLifetime },
		func(c *Config, _ time.Duration) *FieldError {
			if v := c.Mesh.PrefixValidLifetime; v < 0 || v > 0 && v < time.Second {
				return nil // mesh.prefix_valid_lifetime says so
			}
			// RFC 4862 §5.5.3: a preferred lifetime beyond the valid one
			// makes a node ignore the PIO; each counts with its default.
			valid := cmp.Or(c.Mesh.PrefixValidLifetime, nd.DefaultPrefixValidLifetime)
			pref := cmp.Or(c.Mesh.PrefixPreferredLifetime, nd.DefaultPrefixPreferredLifetime)
			if pref <= valid {
				return nil
			}
			return &FieldError{Value: fmtDuration(pref), Reason: fmt.Sprintf("exceeds mesh.prefix_valid_lifetime %s (RFC 4862 §5.5.3)", fmtDuration(valid)),
				also: "mesh.prefix_valid_lifetime"}
		}),
	lifetimeKey("mesh.context_lifetime", "valid lifetime of each context (6CO, whole minutes on the wire)",
		nd.DefaultContextLifetime, time.Minute, 0xffff*time.Minute, func(c *Config) *time.Duration { return &c.Mesh.ContextLifetime }, nil),
	lifetimeKey("mesh.router_lifetime", "router lifetime of the RAs in the mesh (RFC 6775 §6.3)",
		nd.DefaultRouterLifetime, time.Second, 0xffff*time.Second, func(c *Config) *time.Duration { return &c.Mesh.RouterLifetime }, nil),
	lifetimeKey("mesh.abro_lifetime", "valid lifetime of the ABRO (RFC 6775 §4.3, whole minutes on the wire)",
		nd.DefaultABROLifetime, time.Minute, 0xffff*time.Minute, func(c *Config) *time.Duration { return &c.Mesh.ABROLifetime }, nil),

	newKey("tun.name", "tun", "NAME", "TUN interface name: 1..15 characters, no '/', ':' or white space",
		stringValue{at: func(c *Config) *string { return &c.TUN.Name }, valid: func(_ *Config, s string) *FieldError {
			if len(s) < 1 || len(s) > 15 || s == "." || s == ".." || strings.ContainsFunc(s, func(r rune) bool { return r == '/' || r == ':' || unicode.IsSpace(r) }) {
				return reason("want an interface name of 1..15 characters without '/', ':' or white space")
			}
			return nil
		}}),
	newKey("tun.mtu", "mtu", "N", "TUN MTU: 1280..65535",
		intValue[int]{at: func(c *Config) *int { return &c.TUN.MTU }, lo: 1280, hi: 65535, want: "1280..65535"}),
	newKey("tun.forwarding", "forwarding", "", "turn on IPv6 forwarding, needed to route between the LAN and the mesh: true or false",
		boolValue{at: func(c *Config) *bool { return &c.TUN.Forwarding }}),

	newKey("registry.size", "registry-size", "N", "most address registrations the 6LBR holds: 1..1000000",
		intValue[int]{at: func(c *Config) *int { return &c.Registry.Size }, lo: 1, hi: 1_000_000, want: "1..1000000"}),
	newKey("registry.max_per_neighbor", "", "",
		"most registrations one link-layer neighbour holds for itself, or relays while not registered itself; more are refused as neighbor cache full: 1..registry.size",
		intValue[int]{at: func(c *Config) *int { return &c.Registry.MaxPerNeighbor }, lo: 1, hi: 1_000_000, want: "1..registry.size",
			extra: func(c *Config, n int64) *FieldError { return atMostSize(c, n) }}),
	newKey("registry.max_per_router", "", "",
		"most registrations a registered 6LR neighbour relays for the nodes behind it; 0: half of max_per_link; at most registry.size",
		anyInt(func(c *Config) *int { return &c.Registry.MaxPerRouter }, func(c *Config, n int64) *FieldError {
			if n < 0 {
				return reason("want 0 (half of max_per_link) or 1..registry.size")
			}
			return atMostSize(c, n)
		})),
	newKey("registry.max_per_link", "", "",
		"most registrations made over one link (a PAN, a BLE connection); 0: registry.size; at most registry.size",
		anyInt(func(c *Config) *int { return &c.Registry.MaxPerLink }, func(c *Config, n int64) *FieldError {
			if n < 0 {
				return reason("want 0 (registry.size) or 1..registry.size")
			}
			return atMostSize(c, n)
		})),
	// No check against sim.lifetime: the simulated nodes, like RIOT's,
	// refresh by the lifetime granted in the NA (or a 6LR's NA carrying
	// the EDAC's), so a cap below what they ask for is what they go by.
	lifetimeKey("registry.max_lifetime", "longest registration lifetime granted; a node asking more is given this in the NA (whole minutes)",
		nd.DefaultMaxLifetime, time.Minute, nd.MaxLifetime, func(c *Config) *time.Duration { return &c.Registry.MaxLifetime }, nil),
	newKey("registry.save_delay", "", "",
		fmt.Sprintf("how long a registry change waits to be written with those that follow it (one write and fsync for a burst); 0: %s; at most 1s, so that every change is on disk within about a second",
			fmtDuration(nd.DefaultSaveDelay)),
		durationValue{at: func(c *Config) *time.Duration { return &c.Registry.SaveDelay }, valid: func(_ *Config, d time.Duration) *FieldError {
			if d < 0 || d > time.Second {
				return reason("want 0 (%s) up to 1s", fmtDuration(nd.DefaultSaveDelay))
			}
			return nil
		}}),

	newKey("nd.omit_solicited_sllao", "", "", "leave the SLLAO out of the unicast RA answering an RS on 802.15.4 when the frame's source gives it: 1 frame instead of 2, but RFC 6775 §5.4 wants it (RIOT never reads it; Contiki-NG without RPL then resolves the router with an NS)",
		boolValue{at: func(c *Config) *bool { return &c.ND.OmitSolicitedSLLAO }}),
	newKey("nd.apnd", "apnd", "",
		"Address-Protected ND (RFC 8928): a node that registers with a Crypto-ID is challenged and, once it proves the key, nobody else can take or delete its address; nodes without one (RFC 6775 ARO, e.g. RIOT; EARO without the C flag) still register, unprotected, and never replace a protected registration: true or false",
		boolValue{at: func(c *Config) *bool { return &c.ND.APND }}),
	newKey("nd.apnd_require", "apnd-require", "",
		`with nd.apnd, refuse registrations without a Crypto-ID ("validation failed"; RFC 6775 nodes hear "duplicate"), those relayed by 6LRs only with nd.apnd_trust_relays; shuts out RFC 6775 nodes such as RIOT's: true or false`,
		boolValue{at: func(c *Config) *bool { return &c.ND.APNDRequire }, valid: needsAPND}),
	newKey("nd.apnd_trust_relays", "apnd-trust-relays", "",
		"with nd.apnd, take a 6LR's word (EDAR status 5, RFC 8928 §6) that it validated its node, from a 6LR that proved a Crypto-ID of its own; only where the 6LR-6LBR path is protected (RFC 8928 §6.3), since anyone can send an EDAR: true or false",
		boolValue{at: func(c *Config) *bool { return &c.ND.APNDTrustRelays }, valid: needsAPND}),
	newKey("nd.apnd_challenge_lifetime", "", "",
		fmt.Sprintf("how long a challenge's nonce (RFC 8928 §6.1) stays good for the node's proof; 0: %s; 1s..5m", fmtDuration(nd.DefaultChallengeLifetime)),
		durationValue{at: func(c *Config) *time.Duration { return &c.ND.APNDChallengeLifetime }, valid: func(_ *Config, d time.Duration) *FieldError {
			if d != 0 && (d < time.Second || d > 5*time.Minute) {
				return reason("want 0 (%s) or 1s..5m", fmtDuration(nd.DefaultChallengeLifetime))
			}
			return nil
		}}),
	newKey("nd.apnd_max_challenges", "", "",
		fmt.Sprintf("challenges outstanding at once (the oldest goes for a new one); 0: %d; at most 65536", nd.DefaultMaxChallenges),
		anyInt(func(c *Config) *int { return &c.ND.APNDMaxChallenges }, func(_ *Config, n int64) *FieldError {
			if n < 0 || n > 65536 {
				return reason("want 0 (%d) or 1..65536", nd.DefaultMaxChallenges)
			}
			return nil
		})),
	newKey("nd.apnd_max_challenges_per_source", "", "",
		fmt.Sprintf("challenges one link-layer source holds at once, so that one radio cannot take them all; 0: %d; at most nd.apnd_max_challenges", nd.DefaultMaxChallengesPerSource),
		anyInt(func(c *Config) *int { return &c.ND.APNDMaxChallengesPerSource }, func(c *Config, n int64) *FieldError {
			total := int64(cmp.Or(c.ND.APNDMaxChallenges, nd.DefaultMaxChallenges))
			switch {
			case n < 0:
				return reason("want 0 (%d) or 1..nd.apnd_max_challenges", nd.DefaultMaxChallengesPerSource)
			case n > total && c.ND.APNDMaxChallenges >= 0 && c.ND.APNDMaxChallenges <= 65536:
				return &FieldError{Reason: fmt.Sprintf("exceeds nd.apnd_max_challenges %d", total), also: "nd.apnd_max_challenges"}
			}
			return nil
		})),
	newKey("nd.apnd_max_cipos", "", "",
		fmt.Sprintf("public keys (CIPOs) remembered by Crypto-ID, so that a node may leave its key out of a revalidation (RFC 8928 §6.1; one forgotten is asked for again); 0: %d; at most 1000000", nd.DefaultMaxCIPOs),
		anyInt(func(c *Config) *int { return &c.ND.APNDMaxCIPOs }, func(_ *Config, n int64) *FieldError {
			if n < 0 || n > 1_000_000 {
				return reason("want 0 (%d) or 1..1000000", nd.DefaultMaxCIPOs)
			}
			return nil
		})),

	controlRateKey("nd.control_neighbor_rate",
		"ND messages per second admitted from each registered neighbour (RS, NS, EDAR from a node sending from its own address); a 6LR relaying many children's registrations needs more",
		func(c *Config) *float64 { return &c.ND.ControlNeighborRate }),
	controlBurstKey("nd.control_neighbor_burst", "ND messages a registered neighbour may send at once, above its rate",
		func(c *Config) *int { return &c.ND.ControlNeighborBurst }),
	controlRateKey("nd.control_stranger_rate",
		"ND messages per second admitted from all strangers together (nodes not registered yet, or anybody spoofing them): what a flood of made-up registrations costs in replies on the air",
		func(c *Config) *float64 { return &c.ND.ControlStrangerRate }),
	controlBurstKey("nd.control_stranger_burst",
		"ND messages from strangers admitted at once, above their rate: room for nodes joining together (an RS and an NS each, and a proof NS with nd.apnd)",
		func(c *Config) *int { return &c.ND.ControlStrangerBurst }),

	newKey("reassembly.timeout", "", "",
		fmt.Sprintf("how long the fragments of a datagram are kept from the first (RFC 4944 §5.3); 0: %s; at most %s",
			fmtDuration(lowpan.DefaultReassemblyTimeout), fmtDuration(lowpan.MaxReassemblyTimeout)),
		durationValue{at: func(c *Config) *time.Duration { return &c.Reassembly.Timeout }, valid: func(_ *Config, d time.Duration) *FieldError {
			if d < 0 || d > lowpan.MaxReassemblyTimeout {
				return reason("must be in (0, %ds] (RFC 4944 §5.3)", lowpan.MaxReassemblyTimeout/time.Second)
			}
			return nil
		}}),
	newKey("reassembly.max_datagrams", "", "", fmt.Sprintf("datagrams reassembled at once; 0: %d", lowpan.DefaultMaxDatagrams),
		anyInt(func(c *Config) *int { return &c.Reassembly.MaxDatagrams }, func(_ *Config, n int64) *FieldError {
			if n < 0 {
				return reason("must be at least 1")
			}
			return nil
		})),
	newKey("reassembly.max_per_source", "", "",
		fmt.Sprintf("datagrams reassembled at once from one link-layer source, at most max_datagrams; 0: %d or max_datagrams if fewer", lowpan.DefaultMaxPerSource),
		anyInt(func(c *Config) *int { return &c.Reassembly.MaxPerSource }, func(c *Config, n int64) *FieldError {
			md := int64(cmp.Or(c.Reassembly.MaxDatagrams, lowpan.DefaultMaxDatagrams))
			if md < 1 || n == 0 {
				return nil // max_datagrams is wrong, or the default adapts
			}
			if n < 1 || n > md {
				return &FieldError{Reason: fmt.Sprintf("must be 1..%d (max datagrams)", md), also: "reassembly.max_datagrams"}
			}
			return nil
		})),
	newKey("reassembly.max_memory", "", "",
		fmt.Sprintf("octets of reassembly buffers, %d per datagram; 0: max_datagrams × %d", reassemblySlot, reassemblySlot),
		anyInt(func(c *Config) *int { return &c.Reassembly.MaxMemory }, func(_ *Config, n int64) *FieldError {
			if n != 0 && n < reassemblySlot {
				return reason("must be at least %d octets (one datagram)", reassemblySlot)
			}
			return nil
		})),
	newKey("reassembly.reserved", "", "",
		"datagrams reassembled at once kept for registered neighbours, so that first fragments from strangers (a flood from made-up sources) cannot take them; the others share the rest; 0: half of max_datagrams; -1: none; at most max_datagrams − 1",
		anyInt(func(c *Config) *int { return &c.Reassembly.Reserved }, func(c *Config, n int64) *FieldError {
			md := int64(cmp.Or(c.Reassembly.MaxDatagrams, lowpan.DefaultMaxDatagrams))
			switch {
			case n < -1:
				return reason("want -1 (none), 0 (half of max_datagrams) or 1..max_datagrams − 1")
			case md >= 1 && n >= md:
				return &FieldError{Reason: fmt.Sprintf("must be below max_datagrams %d (strangers need one)", md), also: "reassembly.max_datagrams"}
			}
			return nil
		})),

	newKey("forward.allow_unregistered_sources", "", "",
		"forward packets from a registered neighbour whose source address is not registered through it (source address validation off for them), for RPL routers that route for nodes registered with them only; packets from neighbours that are not registered, and link-local sources not theirs, are dropped all the same: true or false",
		boolValue{at: func(c *Config) *bool { return &c.Forward.AllowUnregisteredSources }}),

	newKey("upstream.interface", "upstream-ra", "IFACE", `LAN interface on which to send RAs with a route to the mesh prefix (RFC 4191); "": none`,
		stringValue{at: func(c *Config) *string { return &c.Upstream.Interface }, valid: func(_ *Config, s string) *FieldError {
			if len(s) >= 16 {
				return reason("longer than an interface name can be (15 octets)")
			}
			return nil
		}}),
	upstreamKey("upstream.route_lifetime", "Route Lifetime of the route (RFC 4191 §2.3), whole seconds, at least max_interval; 0: 30m",
		func(c *Config) *time.Duration { return &c.Upstream.RouteLifetime }, func(c *Config, d time.Duration) *FieldError {
			max, ok := upstreamMaxInterval(c)
			d = cmp.Or(d, upstreamDefaultRouteLifetime)
			switch {
			case !ok:
			case d < max || d > upstreamInfiniteRoute:
				return &FieldError{Value: fmtDuration(d), Reason: fmt.Sprintf("must be from max_interval (%s) to %s (infinity)", fmtDuration(max), fmtDuration(upstreamInfiniteRoute)),
					also: "upstream.max_interval"}
			case d%time.Second != 0:
				return reason("must be whole seconds")
			}
			return nil
		}),
	upstreamKey("upstream.min_interval", "least time between unsolicited RAs (RFC 4861 §6.2.1): 3s..0.75 × max_interval; 0: 0.33 × max_interval, at least 3s",
		func(c *Config) *time.Duration { return &c.Upstream.MinInterval }, func(c *Config, d time.Duration) *FieldError {
			max, ok := upstreamMaxInterval(c)
			if !ok {
				return nil
			}
			if d == 0 {
				return nil // 0.33 × max_interval, at least 3 s, is in range for every valid max_interval
			}
			if highest := max * 3 / 4; d < upstreamLowestMinInterval || d > highest {
				return &FieldError{Reason: fmt.Sprintf("must be from %s to 0.75 × max_interval = %s (RFC 4861 §6.2.1)", fmtDuration(upstreamLowestMinInterval), fmtDuration(highest)),
					also: "upstream.max_interval"}
			}
			return nil
		}),
	upstreamKey("upstream.max_interval", "most time between unsolicited RAs (RFC 4861 §6.2.1): 4s..30m; 0: 10m",
		func(c *Config) *time.Duration { return &c.Upstream.MaxInterval }, func(c *Config, d time.Duration) *FieldError {
			if _, ok := upstreamMaxInterval(c); !ok {
				return reason("must be from %s to %s (RFC 4861 §6.2.1)", fmtDuration(upstreamLowestMaxInterval), fmtDuration(upstreamHighestMaxInterval))
			}
			return nil
		}),
	newKey("upstream.preference", "", "", "Route Preference (RFC 4191 §2.1): low, medium or high",
		enumValue[nd.Preference]{at: func(c *Config) *nd.Preference { return &c.Upstream.Preference },
			values: []nd.Preference{nd.PreferenceLow, nd.PreferenceMedium, nd.PreferenceHigh}, names: []string{"low", "medium", "high"}}),
	upstreamKey("upstream.router_lifetime", "Router Lifetime of the RAs, whole seconds: max_interval..2h30m; 0: not a default router, the route only",
		func(c *Config) *time.Duration { return &c.Upstream.RouterLifetime }, func(c *Config, d time.Duration) *FieldError {
			max, ok := upstreamMaxInterval(c)
			switch {
			case !ok || d == 0:
			case d < max || d > upstreamHighestRouter:
				return &FieldError{Reason: fmt.Sprintf("must be 0 (not a default router) or from max_interval (%s) to %s (RFC 4861 §6.2.1)", fmtDuration(max), fmtDuration(upstreamHighestRouter)),
					also: "upstream.max_interval"}
			case d%time.Second != 0:
				return reason("must be whole seconds")
			}
			return nil
		}),

	newKey("ble.url", "ble", "URL",
		`BLE controller for IPv6 over BLE (IPSP): hci+uart:///dev/ttyACM1?uart-baudrate=1000000 or hci+user://hci0; "": none (on the simulator, sim.ble_nodes adds a simulated one)`,
		stringValue{at: func(c *Config) *string { return &c.BLE.URL }, valid: func(_ *Config, s string) *FieldError {
			if s == "" {
				return nil
			}
			_, err := transport.ParseHCIURL(s)
			return urlError(err)
		}}),
	newKey("ble.connect", "ble-connect", "", "scan for IPSP nodes (advertising the IPSS, 0x1820) and connect to them as central: true or false",
		boolValue{at: func(c *Config) *bool { return &c.BLE.Connect }}),
	newKey("ble.advertise", "ble-advertise", "", "advertise the IPSS and accept connections from nodes acting as central: true or false",
		boolValue{at: func(c *Config) *bool { return &c.BLE.Advertise }}),
	newKey("ble.allow", "ble-allow", "BD_ADDR", "connect only to these device addresses (C0:11:22:33:44:55); []: any IPSP node",
		listValue[hci.BDAddr]{at: func(c *Config) *[]hci.BDAddr { return &c.BLE.Allow },
			parse: func(s string) (hci.BDAddr, *FieldError) {
				a, err := hci.ParseBDAddr(s)
				if err != nil {
					return a, &FieldError{Reason: "want a device address such as C0:11:22:33:44:55", Err: err}
				}
				return a, nil
			},
			format: hci.BDAddr.String}),
	newKey("ble.max_connections", "ble-max-connections", "N", "simultaneous BLE connections: 1..32",
		intValue[int]{at: func(c *Config) *int { return &c.BLE.MaxConnections }, lo: 1, hi: 32, want: "1..32"}),
	newKey("ble.conn_interval", "ble-conn-interval", "DURATION", "connection interval asked for as central: 7.5ms..4s, a multiple of 1.25ms",
		durationValue{at: func(c *Config) *time.Duration { return &c.BLE.ConnInterval }, valid: func(_ *Config, d time.Duration) *FieldError {
			// Core Specification Vol 6 Part B §4.5.1: connInterval is a
			// multiple of 1.25 ms from 7.5 ms to 4 s.
			if d < 7500*time.Microsecond || d > 4*time.Second || d%(1250*time.Microsecond) != 0 {
				return reason("want 7.5ms..4s in steps of 1.25ms")
			}
			return nil
		}}),

	newKey("metrics.listen", "metrics-listen", "HOST:PORT", `address of the HTTP server of /metrics, /healthz and /readyz, host:port; "": off`,
		stringValue{at: func(c *Config) *string { return &c.Metrics.Listen }, valid: func(_ *Config, s string) *FieldError { return hostPort(s, "127.0.0.1:9580") }}),
	newKey("metrics.max_neighbors", "", "", "most neighbours whose link quality is tracked (and so labels of the per-neighbour metrics): 1..4096",
		intValue[int]{at: func(c *Config) *int { return &c.Metrics.MaxNeighbors }, lo: 1, hi: 4096, want: "1..4096"}),

	newKey("web.enabled", "web", "", "serve the live web page of the mesh (at / on web.listen, else on metrics.listen)",
		boolValue{at: func(c *Config) *bool { return &c.Web.Enabled }}),
	newKey("web.listen", "web-listen", "HOST:PORT", `the web page's own HTTP listener, host:port (keep it on loopback or behind a proxy); "": the metrics listener`,
		stringValue{at: func(c *Config) *string { return &c.Web.Listen }, valid: func(_ *Config, s string) *FieldError { return hostPort(s, "127.0.0.1:9581") }}),
	newKey("web.controls", "web-controls", "", "let the web page change the simulated world (cut links, restart nodes, reset the RCP); only with the token 'lowpanbr web' prints",
		boolValue{at: func(c *Config) *bool { return &c.Web.Controls }}),

	newKey("capture.file", "capture", "FILE", `write every frame to this pcapng file as the border router runs (802.15.4 with FCS; BLE IPSP on its own interface); "": none`,
		stringValue{at: func(c *Config) *string { return &c.Capture.File }, valid: func(_ *Config, s string) *FieldError {
			if s == "-" || strings.HasSuffix(s, "/") {
				return reason("want a file's path (standard output carries the run's own messages)")
			}
			return nil
		}}),
	newKey("capture.zep_mirror", "zep-mirror", "HOST:PORT", `send every 802.15.4 frame as ZEP v2 to this UDP address, for a live Wireshark (udp.port == 17754); "": none`,
		stringValue{at: func(c *Config) *string { return &c.Capture.ZEPMirror }, valid: func(_ *Config, s string) *FieldError { return hostPort(s, "127.0.0.1:17754") }}),

	newKey("api.socket", "api", "PATH", `Unix socket of the status API, an absolute path; "": none`,
		stringValue{at: func(c *Config) *string { return &c.API.Socket }, valid: func(_ *Config, s string) *FieldError {
			if s != "" && !filepath.IsAbs(s) {
				return reason(`want an absolute path, or "" for none`)
			}
			return nil
		}}),

	newKey("state_dir", "state-dir", "DIR", "directory of the registry and interface state, an absolute path",
		stringValue{at: func(c *Config) *string { return &c.StateDir }, valid: func(_ *Config, s string) *FieldError {
			if !filepath.IsAbs(s) {
				return reason("want an absolute path")
			}
			return nil
		}}),

	newKey("log.level", "log-level", "LEVEL", "debug, info, warn or error",
		enumValue[slog.Level]{at: func(c *Config) *slog.Level { return &c.Log.Level },
			values: []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}, names: []string{"debug", "info", "warn", "error"}}),
	newKey("log.format", "log-format", "FORMAT", "text or json",
		enumValue[string]{at: func(c *Config) *string { return &c.Log.Format }, values: []string{"text", "json"}, names: []string{"text", "json"}}),

	newKey("sim.topology", "sim-topology", "NAME", "the simulated mesh (without radio.url): star, line, grid or random",
		enumValue[sim.Topology]{at: func(c *Config) *sim.Topology { return &c.Sim.Topology },
			values: []sim.Topology{sim.Star, sim.Line, sim.Grid, sim.Random}, names: []string{"star", "line", "grid", "random"}, empty: true}),
	newKey("sim.routing", "sim-routing", "NAME",
		`how the simulated routers route (line, grid, random): rpl (RPL routers under the border router's DODAG root; needs rpl.mode on) or nd (6LRs relaying registrations by EDAR, RFC 8505); "": rpl when rpl.mode is on, else nd`,
		enumValue[sim.Routing]{at: func(c *Config) *sim.Routing { return &c.Sim.Routing },
			values: []sim.Routing{sim.RoutingRPL, sim.RoutingND}, names: []string{"rpl", "nd"}, empty: true,
			valid: func(c *Config, r sim.Routing) *FieldError {
				if r == sim.RoutingRPL && c.RPL.Mode == RPLOff {
					return &FieldError{Reason: "RPL routers need the border router as RPL root", also: "rpl.mode"}
				}
				return nil
			}}),
	newKey("sim.leaves", "sim-leaves", "FRACTION",
		"with sim.routing rpl: the fraction of simulated nodes that are RPL-unaware leaves (RFC 9010 RULs: 6LoWPAN-ND only, announced by their parent's DAO): 0..1",
		floatValue{at: func(c *Config) *float64 { return &c.Sim.Leaves }, valid: func(c *Config, f float64) *FieldError {
			if f < 0 || f > 1 || math.IsNaN(f) {
				return reason("want 0..1")
			}
			if f > 0 && c.Sim.Routing == sim.RoutingND {
				return &FieldError{Reason: "RPL-unaware leaves need sim.routing rpl", also: "sim.routing"}
			}
			return nil
		}}),
	newKey("sim.nodes", "sim-nodes", "N", fmt.Sprintf("simulated nodes (star, line, random): 0..%d; a grid has rows × cols − 1", sim.MaxMeshNodes),
		intValue[int]{at: func(c *Config) *int { return &c.Sim.Nodes }, lo: 0, hi: sim.MaxMeshNodes, want: fmt.Sprintf("0..%d", sim.MaxMeshNodes)}),
	newKey("sim.rows", "sim-rows", "N", "rows of the grid, at least 1; rows × cols at least 2",
		anyInt(func(c *Config) *int { return &c.Sim.Rows }, func(c *Config, rows int64) *FieldError {
			cols := int64(c.Sim.Cols)
			switch {
			case rows < 1:
				return reason("want at least 1")
			case cols < 1:
				return nil // sim.cols says so
			case rows*cols < 2:
				return &FieldError{Reason: fmt.Sprintf("a grid of %d × %d leaves no point beside the border router", rows, cols), also: "sim.cols"}
			case rows*cols-1 > sim.MaxMeshNodes:
				return &FieldError{Reason: fmt.Sprintf("a grid of %d × %d has %d nodes: want at most %d", rows, cols, rows*cols-1, sim.MaxMeshNodes), also: "sim.cols"}
			}
			return nil
		})),
	newKey("sim.cols", "sim-cols", "N", "columns of the grid, at least 1",
		anyInt(func(c *Config) *int { return &c.Sim.Cols }, func(_ *Config, cols int64) *FieldError {
			if cols < 1 {
				return reason("want at least 1")
			}
			return nil
		})),
	newKey("sim.seed", "sim-seed", "N", "seed of the random topology and of the link losses: 0..18446744073709551615",
		uint64Value{at: func(c *Config) *uint64 { return &c.Sim.Seed }}),
	newKey("sim.loss", "sim-loss", "P", "probability that a frame is lost on a link: 0 ≤ loss < 1",
		floatValue{at: func(c *Config) *float64 { return &c.Sim.Loss }, valid: func(_ *Config, f float64) *FieldError {
			if f < 0 || f >= 1 || math.IsNaN(f) {
				return reason("want a probability in [0, 1)")
			}
			return nil
		}}),
	newKey("sim.links", "sim-link", "A-B=LOSS", `single links' loss both ways, "A-B=LOSS" (0..1), or "A-B=off" to cut the link, e.g. br-n1=0.2`,
		listValue[sim.LinkOverride]{at: func(c *Config) *[]sim.LinkOverride { return &c.Sim.Links },
			parse: parseLinkOverride, format: formatLinkOverride, valid: checkLinks}),
	newKey("sim.intruders", "sim-intruder", "NODE[:VARIANT]",
		fmt.Sprintf("nodes (n1, n2, …) whose address an intruder tries to register: under its own ROVR, or with VARIANT copying the node's ROVR and a newer TID (%s; the node then registers with a Crypto-ID); every one must be refused",
			strings.Join(intruderVariantNames, ", ")),
		listValue[string]{at: func(c *Config) *[]string { return &c.Sim.Intruders },
			parse: func(s string) (string, *FieldError) { return s, nil }, format: func(s string) string { return s },
			valid: checkIntruders}),
	newKey("sim.protect", "sim-protect", "",
		"every simulated node registers with a Crypto-ID (RFC 8928) and answers the 6LBR's challenge, and 6LRs challenge their children; nodes an intruder copies do anyway: true or false",
		boolValue{at: func(c *Config) *bool { return &c.Sim.Protect }}),
	newKey("sim.crypto_type", "sim-crypto-type", "TYPE", "Crypto-Type of the simulated nodes' keys (RFC 8928 §8.2): ecdsa256 (NIST P-256) or ed25519",
		enumValue[nd.CryptoType]{at: func(c *Config) *nd.CryptoType { return &c.Sim.CryptoType },
			values: []nd.CryptoType{nd.CryptoECDSAP256, nd.CryptoEd25519}, names: []string{"ecdsa256", "ed25519"}}),
	newKey("sim.lifetime", "sim-lifetime", "DURATION", "registration lifetime the simulated nodes ask for; they refresh by the one granted (at most registry.max_lifetime) a minute before it ends: at least 1m",
		durationValue{at: func(c *Config) *time.Duration { return &c.Sim.Lifetime }, valid: func(_ *Config, d time.Duration) *FieldError {
			if d != 0 && d < time.Minute {
				return reason("want at least 1m (the EARO counts minutes)")
			}
			return nil
		}}),
	newKey("sim.ble_stalled", "sim-ble-stalled", "NODE", "simulated BLE nodes (b1, b2, …) that never return L2CAP credits, a misbehaving peer: it must not hold up the others",
		listValue[string]{at: func(c *Config) *[]string { return &c.Sim.BLEStalled },
			parse: func(s string) (string, *FieldError) {
				if _, ok := bleNodeIndex(s); !ok {
					return "", reason("want a simulated BLE node name such as b1")
				}
				return s, nil
			},
			format: func(s string) string { return s },
			valid: func(_ *Config, l []string) []*FieldError {
				var errs []*FieldError
				for _, s := range l {
					if _, ok := bleNodeIndex(s); !ok {
						errs = append(errs, &FieldError{Value: strconv.Quote(s), Reason: "want a simulated BLE node name such as b1"})
					}
				}
				return errs
			}}),
	newKey("sim.zep", "sim-zep", "ADDR",
		`serve the simulated medium as a ZEP v2 hub on this UDP address (e.g. 127.0.0.1:17754), so that external simulated nodes (RIOT's native build with socket_zep) join the mesh; "": off`,
		stringValue{at: func(c *Config) *string { return &c.Sim.ZEP }, valid: func(_ *Config, s string) *FieldError {
			if s == "" {
				return nil
			}
			ap, err := netip.ParseAddrPort(s)
			switch {
			case err != nil:
				return reason("want ADDRESS:PORT, e.g. 127.0.0.1:17754")
			case ap.Port() == 0 || ap.Addr().IsUnspecified():
				return reason("want an address nodes send to and a port, e.g. 127.0.0.1:17754 (replies must leave from the very address nodes connect to)")
			}
			return nil
		}}),
	newKey("sim.ot_node", "sim-ot-node", "N",
		fmt.Sprintf("with radio.url running OpenThread's simulation ot-rcp N: put the simulated mesh on its UDP radio through a bridge (for tests against the real RCP code): 0 (off) or 1..%d", otsim.MaxNodeID),
		intValue[int]{at: func(c *Config) *int { return &c.Sim.OTNode }, lo: 0, hi: otsim.MaxNodeID, want: fmt.Sprintf("0..%d", otsim.MaxNodeID)}),
	newKey("sim.ble_nodes", "sim-ble-nodes", "N", "simulated BLE IPSP nodes beside the 802.15.4 mesh, on a simulated BLE controller (without ble.url): 0..32",
		intValue[int]{at: func(c *Config) *int { return &c.Sim.BLENodes }, lo: 0, hi: 32, want: "0..32"}),
}

// Limits of the control path's rates and bursts: above them a flood of
// replies would fill the air (a frame takes 4 ms at 250 kbit/s, so 250 a
// second is all one channel carries).
const (
	maxControlRate  = 1000
	maxControlBurst = 10000
)

// controlRateKey is a rate of the ND control path's admission
// (router.ControlConfig), in messages per second.
func controlRateKey(name, what string, at func(*Config) *float64) key {
	want := fmt.Sprintf("above 0, at most %d", maxControlRate)
	return newKey(name, "", "", fmt.Sprintf("%s: %s", what, want),
		floatValue{at: at, valid: func(_ *Config, f float64) *FieldError {
			if !(f > 0 && f <= maxControlRate) {
				return reason("want a rate per second %s", want)
			}
			return nil
		}})
}

// controlBurstKey is a burst of the ND control path's admission, in
// messages.
func controlBurstKey(name, what string, at func(*Config) *int) key {
	want := fmt.Sprintf("1..%d", maxControlBurst)
	return newKey(name, "", "", fmt.Sprintf("%s: %s", what, want),
		intValue[int]{at: at, lo: 1, hi: maxControlBurst, want: want})
}

// anyInt is an int whose type is its only limit on reading; valid checks
// the rest.
func anyInt(at func(*Config) *int, valid func(c *Config, n int64) *FieldError) intValue[int] {
	return intValue[int]{at: at, lo: math.MinInt32, hi: math.MaxInt32, extra: valid}
}

// atMostSize refuses a registry share larger than the registry.
func atMostSize(c *Config, n int64) *FieldError {
	if size := int64(c.Registry.Size); size >= 1 && n > size {
		return &FieldError{Reason: fmt.Sprintf("exceeds registry.size %d", size), also: "registry.size"}
	}
	return nil
}

// lifetimeKey is a 6LBR lifetime: 0 stands for nd's default; otherwise at
// least one unit of its field on the wire (less would be sent as 0) and,
// if limit is not 0, at most limit (more would be cut to the field's
// largest value).
func lifetimeKey(name, what string, def, unit, limit time.Duration, at func(*Config) *time.Duration, extra func(*Config, time.Duration) *FieldError) key {
	want := fmt.Sprintf("0 (%s) or at least %s", fmtDuration(def), fmtDuration(unit))
	if limit != 0 {
		want = fmt.Sprintf("0 (%s) or %s..%s", fmtDuration(def), fmtDuration(unit), fmtDuration(limit))
	}
	return newKey(name, "", "", fmt.Sprintf("%s: %s", what, want), durationValue{at: at, valid: func(c *Config, d time.Duration) *FieldError {
		if d != 0 && (d < unit || limit != 0 && d > limit) {
			return reason("want %s", want)
		}
		if extra != nil {
			return extra(c, d)
		}
		return nil
	}})
}

// upstreamKey is an upstream RA interval or lifetime.
func upstreamKey(name, doc string, at func(*Config) *time.Duration, valid func(*Config, time.Duration) *FieldError) key {
	return newKey(name, "", "", doc, durationValue{at: at, valid: valid})
}

// upstreamMaxInterval is the MaxRtrAdvInterval upstream uses, and whether
// it is allowed.
func upstreamMaxInterval(c *Config) (time.Duration, bool) {
	max := cmp.Or(c.Upstream.MaxInterval, upstreamDefaultMaxInterval)
	return max, max >= upstreamLowestMaxInterval && max <= upstreamHighestMaxInterval
}

// urlError describes a radio or HCI URL that transport refuses.
func urlError(err error) *FieldError {
	if err == nil {
		return nil
	}
	var ue *transport.URLError
	if errors.As(err, &ue) {
		return &FieldError{Value: strconv.Quote(ue.URL), Reason: ue.Msg, Err: err}
	}
	return &FieldError{Err: err}
}

// parsePANID reads a PAN ID in decimal or, after 0x, in hexadecimal (YAML
// reads an unquoted 0xface as an integer itself).
func parsePANID(s string) (int64, bool) {
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		s, base = h, 16
	}
	n, err := strconv.ParseInt(s, base, 64)
	return n, err == nil
}

func formatContext(c nd.ContextConfig) string { return fmt.Sprintf("%d=%v", c.ID, c.Prefix) }

// checkContexts holds the contexts to what nd accepts: IDs 0..15 (RFC 6282
// §3.1.2: a 4-bit CID), each once, IPv6 prefixes.
func checkContexts(_ *Config, l []nd.ContextConfig) []*FieldError {
	var errs []*FieldError
	for i, c := range l {
		bad := func(format string, args ...any) {
			errs = append(errs, &FieldError{Value: strconv.Quote(formatContext(c)), Reason: fmt.Sprintf(format, args...)})
		}
		switch {
		case c.ID > 15:
			bad("ID %d: want 0..15", c.ID)
		case !c.Prefix.IsValid() || !c.Prefix.Addr().Is6() || c.Prefix.Addr().Is4In6():
			bad("want an IPv6 prefix")
		case slices.ContainsFunc(l[:i], func(o nd.ContextConfig) bool { return o.ID == c.ID }):
			bad("ID %d given twice", c.ID)
		}
	}
	return errs
}

// parseLinkOverride reads A-B=LOSS or A-B=off.
func parseLinkOverride(spec string) (sim.LinkOverride, *FieldError) {
	pair, v, ok := strings.Cut(spec, "=")
	a, b, ok2 := strings.Cut(pair, "-")
	if !ok || !ok2 || a == "" || b == "" {
		return sim.LinkOverride{}, reason("want A-B=LOSS or A-B=off, e.g. br-n1=0.2")
	}
	o := sim.LinkOverride{A: a, B: b}
	if v == "off" {
		o.Disconnected = true
		return o, nil
	}
	loss, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return o, reason("loss %q is not a number from 0 to 1 (or off)", v)
	}
	o.Loss = loss
	return o, nil
}

func formatLinkOverride(l sim.LinkOverride) string {
	loss := fmtFloat(l.Loss)
	if l.Disconnected {
		loss = "off"
	}
	return fmt.Sprintf("%s-%s=%s", l.A, l.B, loss)
}

// checkLinks holds each link override to two distinct nodes of the mesh
// and a loss that is a probability.
func checkLinks(c *Config, l []sim.LinkOverride) []*FieldError {
	n, ok := meshNodes(c)
	if !ok {
		return nil
	}
	var errs []*FieldError
	for _, o := range l {
		bad := func(format string, args ...any) {
			errs = append(errs, &FieldError{Value: strconv.Quote(formatLinkOverride(o)), Reason: fmt.Sprintf(format, args...)})
		}
		switch {
		case o.A == o.B || !(o.A == "br" || isNodeName(o.A, n)) || !(o.B == "br" || isNodeName(o.B, n)):
			bad("want two distinct nodes of the mesh (br, n1…n%d)", n)
		case o.Loss < 0 || o.Loss > 1 || math.IsNaN(o.Loss):
			bad("loss %v: want a probability in [0, 1]", o.Loss)
		}
	}
	return errs
}

// meshNodes is the number of simulated nodes c makes, and whether the
// shape of the mesh is valid (if not, its keys say why).
func meshNodes(c *Config) (int, bool) {
	s := &c.Sim
	switch s.Topology {
	case "", sim.Star, sim.Line, sim.Random:
		return s.Nodes, s.Nodes >= 0 && s.Nodes <= sim.MaxMeshNodes
	case sim.Grid:
		n := int64(s.Rows)*int64(s.Cols) - 1
		return int(n), s.Rows >= 1 && s.Cols >= 1 && n >= 1 && n <= sim.MaxMeshNodes
	}
	return 0, false
}

// intruderVariantNames are sim's intruder variants (sim.IntruderVariant).
var intruderVariantNames = []string{string(sim.IntruderROVR), string(sim.IntruderROVRLegacy), string(sim.IntruderLifetime0),
	string(sim.IntruderLifetime0Legacy), string(sim.IntruderRelayed), string(sim.IntruderRelayedLegacy)}

// checkIntruders holds each intruder to a node of the mesh and a variant
// sim knows; a relayed one needs 6LRs, each one once.
func checkIntruders(c *Config, l []string) []*FieldError {
	n, ok := meshNodes(c)
	if !ok {
		return nil
	}
	var errs []*FieldError
	seen := map[string]bool{}
	for _, s := range l {
		bad := func(also, format string, args ...any) {
			errs = append(errs, &FieldError{Value: strconv.Quote(s), Reason: fmt.Sprintf(format, args...), also: also})
		}
		name, variant, hasVariant := strings.Cut(s, ":")
		v := sim.IntruderVariant(variant)
		switch {
		case !isNodeName(name, n):
			bad("", "no such node (n1…n%d)", n)
		case hasVariant && !slices.Contains(intruderVariantNames, variant):
			bad("", "no variant %q: want NODE or NODE:VARIANT with VARIANT one of %s", variant, strings.Join(intruderVariantNames, ", "))
		case (v == sim.IntruderRelayed || v == sim.IntruderRelayedLegacy) && (c.Sim.Topology == "" || c.Sim.Topology == sim.Star):
			bad("sim.topology", "a relayed intruder needs 6LRs: a line, grid or random topology")
		case (v == sim.IntruderRelayed || v == sim.IntruderRelayedLegacy) && c.meshConfig().Routing == sim.RoutingRPL:
			bad("sim.routing", "a relayed intruder needs 6LRs that relay registrations by EDAR: sim.routing nd")
		case seen[name+":"+variant]:
			bad("", "given twice")
		}
		seen[name+":"+variant] = true
	}
	return errs
}

// needsAPND refuses an AP-ND setting turned on while AP-ND is off.
func needsAPND(c *Config, b bool) *FieldError {
	if b && !c.ND.APND {
		return &FieldError{Reason: "needs nd.apnd: true", also: "nd.apnd"}
	}
	return nil
}

// isNodeName says whether name is one of n1…nN.
func isNodeName(name string, n int) bool {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "n"))
	return strings.HasPrefix(name, "n") && err == nil && i >= 1 && i <= n && sim.NodeName(i-1) == name
}

// bleNodeIndex reads a simulated BLE node's name, b1, b2, …, as its index
// from 0.
func bleNodeIndex(name string) (int, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "b"))
	if !strings.HasPrefix(name, "b") || err != nil || i < 1 || "b"+strconv.Itoa(i) != name {
		return 0, false
	}
	return i - 1, true
}

// hostPort checks a listener's or destination's host:port; "" is allowed
// (off). example is shown in the reason.
func hostPort(s, example string) *FieldError {
	if s == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || n > 65535 {
		return reason(`want host:port with a port 0..65535, e.g. %s, or "" for off`, example)
	}
	return nil
}
