package borderrouter

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// RPLMode is rpl.mode: whether and how the 6LBR is a RPL DODAG root.
type RPLMode string

const (
	// RPLNonStoring: MOP 1, source routes from the root (Contiki-NG
	// RPL-Lite, wsbrd, Nanostack). The default.
	RPLNonStoring RPLMode = "non-storing"
	// RPLStoring: MOP 2 without multicast, next hops at every router
	// (RIOT gnrc_rpl, Contiki-NG RPL classic).
	RPLStoring RPLMode = "storing"
	// RPLOff: no RPL; multihop only through 6LRs that relay registrations
	// (RFC 8505 EDAR).
	RPLOff RPLMode = "off"
)

// RPIMode is rpl.rpi: whether packets sent down carry the RPL Option.
type RPIMode string

const (
	// RPIAuto: on in non-storing mode, off in storing mode — the default
	// RIOT gnrc_rpl build, the storing-mode stack users bring, drops every
	// packet with a Hop-by-Hop header (rpl/testdata/riot/README.md).
	RPIAuto RPIMode = "auto"
	RPIOn   RPIMode = "on"
	RPIOff  RPIMode = "off"
)

// Objective functions (RFC 6550 §6.7.6 OCP; IANA: 0 OF0, 1 MRHOF).
const (
	OF0   = "of0"
	MRHOF = "mrhof"
)

// RPLConfig is the rpl section: the DODAG root co-located with the 6LBR.
// Zero numbers take rpl.RootConfig's defaults (RFC 6550 §17).
type RPLConfig struct {
	Mode                 RPLMode
	Instance             uint8
	ObjectiveFunction    string
	MinHopRankIncrease   uint16
	MaxRankIncrease      uint16
	DIOIntervalMin       uint8
	DIOIntervalDoublings uint8
	DIORedundancy        uint8
	DefaultLifetime      uint8
	LifetimeUnit         uint16
	RPI                  RPIMode
	// RPI6553 sends RFC 6553's option type 0x63 instead of RFC 9008's 0x23.
	RPI6553    bool
	MaxTargets int
	// InsertHeaders: router.RPLConfig.Insert (for Contiki-NG nodes).
	InsertHeaders bool
	// External are prefixes outside the mesh prefix that DAO targets may
	// announce (networks behind RPL routers); none by default.
	External []netip.Prefix
	// LoRH turns on RFC 8138 compression: the DODAG Configuration option's
	// T flag (RFC 9035) and 6LoRHs in what the border router sends.
	LoRH bool
}

// forwarderRPL is the forwarder's RPL configuration; nil when RPL is off.
func (c RPLConfig) forwarderRPL() *router.RPLConfig {
	if c.Mode == RPLOff {
		return nil
	}
	mop := uint8(rpl.MOPNonStoring)
	if c.Mode == RPLStoring {
		mop = rpl.MOPStoring
	}
	var ocp uint16
	if c.ObjectiveFunction == MRHOF {
		ocp = 1
	}
	rc := &router.RPLConfig{Root: rpl.RootConfig{Instance: c.Instance, MOP: mop, OCP: ocp,
		MinHopRankIncrease: c.MinHopRankIncrease, MaxRankIncrease: c.MaxRankIncrease,
		DIOIntervalMin: c.DIOIntervalMin, DIOIntervalDoublings: c.DIOIntervalDoublings, DIORedundancy: c.DIORedundancy,
		DefaultLifetime: c.DefaultLifetime, LifetimeUnit: c.LifetimeUnit, MaxTargets: c.MaxTargets}}
	switch c.RPI {
	case RPIOn:
		rc.RPI = true
	case RPIAuto, "":
		rc.RPI = mop == rpl.MOPNonStoring
	}
	if c.RPI6553 {
		rc.RPIType = rpl.OptionTypeRPI6553
	}
	rc.Insert = c.InsertHeaders
	rc.Root.External = c.External
	rc.Root.Compression8138 = c.LoRH
	rc.Root.RPI0x23 = rc.RPIType != rpl.OptionTypeRPI6553
	return rc
}

// lowpanRPL is what the 6LoWPAN codec needs of the DODAG for RFC 8138:
// the root's address and the RPI type.
func (c RPLConfig) lowpanRPL(root netip.Addr) (lowpan.RPLReference, bool) {
	rc := c.forwarderRPL()
	if rc == nil {
		return lowpan.RPLReference{}, false
	}
	t := uint8(rpl.OptionTypeRPI9008)
	if rc.RPIType == rpl.OptionTypeRPI6553 {
		t = rpl.OptionTypeRPI6553
	}
	return lowpan.RPLReference{Root: root, RPIType: t, Storing: rc.Root.MOP == rpl.MOPStoring}, true
}

// rplKeys are the rpl section's keys.
func rplKeys() []key {
	u8 := func(name, doc string, at func(c *Config) *uint8, lo, hi int64, want string) key {
		return newKey(name, "", "", doc, intValue[uint8]{at: at, lo: lo, hi: hi, want: want})
	}
	u16 := func(name, doc string, at func(c *Config) *uint16, lo, hi int64, want string) key {
		return newKey(name, "", "", doc, intValue[uint16]{at: at, lo: lo, hi: hi, want: want})
	}
	return []key{
		newKey("rpl.mode", "rpl-mode", "MODE",
			"the 6LBR as RPL DODAG root (RFC 6550): non-storing (MOP 1: Contiki-NG RPL-Lite, wsbrd), storing (MOP 2: RIOT gnrc_rpl, Contiki-NG classic) or off (multihop only through 6LRs that relay registrations)",
			enumValue[RPLMode]{at: func(c *Config) *RPLMode { return &c.RPL.Mode },
				values: []RPLMode{RPLNonStoring, RPLStoring, RPLOff}, names: []string{"non-storing", "storing", "off"}}),
		u8("rpl.instance", "RPLInstanceID of the DODAG: 0..127 (a global instance, RFC 6550 §5.1)",
			func(c *Config) *uint8 { return &c.RPL.Instance }, 0, 127, "0..127"),
		newKey("rpl.objective_function", "", "", "objective function advertised (OCP): of0 (RFC 6552, as RIOT) or mrhof (RFC 6719 with ETX)",
			enumValue[string]{at: func(c *Config) *string { return &c.RPL.ObjectiveFunction },
				values: []string{OF0, MRHOF}, names: []string{"of0", "mrhof"}}),
		u16("rpl.min_hop_rank_increase", "MinHopRankIncrease (RFC 6550 §6.7.6), the root's rank: 0 (256) or 1..4096 (more leaves too few ranks below INFINITE_RANK)",
			func(c *Config) *uint16 { return &c.RPL.MinHopRankIncrease }, 0, 4096, "0..4096"),
		u16("rpl.max_rank_increase", "MaxRankIncrease (RFC 6550 §6.7.6); 0: 7 × min_hop_rank_increase",
			func(c *Config) *uint16 { return &c.RPL.MaxRankIncrease }, 0, 0xffff, "0..65535"),
		u8("rpl.dio_interval_min", "Imin of the DIO trickle timer as log2 of milliseconds (RFC 6550 §6.7.6); 0: 3 (8 ms)",
			func(c *Config) *uint8 { return &c.RPL.DIOIntervalMin }, 0, 24, "0..24"),
		u8("rpl.dio_interval_doublings", "DIO trickle doublings (Imax = Imin × 2^doublings); 0: 20",
			func(c *Config) *uint8 { return &c.RPL.DIOIntervalDoublings }, 0, 30, "0..30"),
		u8("rpl.dio_redundancy", "DIO redundancy constant k; 0: 10",
			func(c *Config) *uint8 { return &c.RPL.DIORedundancy }, 0, 255, "0..255"),
		u8("rpl.default_lifetime", "route lifetime nodes put in their DAOs, in lifetime units; 0: 5",
			func(c *Config) *uint8 { return &c.RPL.DefaultLifetime }, 0, 254, "0..254"),
		u16("rpl.lifetime_unit", "seconds per lifetime unit; 0: 60",
			func(c *Config) *uint16 { return &c.RPL.LifetimeUnit }, 0, 0xffff, "0..65535"),
		newKey("rpl.rpi", "", "",
			"RPL Option (RPI, RFC 6553/9008) in packets sent down more than one hop: auto (on in non-storing mode, off in storing mode, where RIOT's default build drops any Hop-by-Hop header), on or off",
			enumValue[RPIMode]{at: func(c *Config) *RPIMode { return &c.RPL.RPI },
				values: []RPIMode{RPIAuto, RPIOn, RPIOff}, names: []string{"auto", "on", "off"}}),
		newKey("rpl.rpi_6553", "", "", "send the RPI as option type 0x63 (RFC 6553) instead of 0x23 (RFC 9008): true or false",
			boolValue{at: func(c *Config) *bool { return &c.RPL.RPI6553 }}),
		newKey("rpl.insert_headers", "", "",
			"put the source route and RPI straight into packets forwarded into the mesh instead of an IPv6-in-IPv6 tunnel (RFC 9008 §6 forbids it; Contiki-NG nodes need it, they cannot end a tunnel): true or false",
			boolValue{at: func(c *Config) *bool { return &c.RPL.InsertHeaders }}),
		newKey("rpl.lorh", "", "",
			"RFC 8138 compression of RPL headers (6LoRH) in what the border router sends, announced with the T flag (RFC 9035) so RPL nodes use it too; received 6LoRH is decoded either way. Off by default: RIOT, Contiki-NG and OpenThread nodes cannot decode it: true or false",
			boolValue{at: func(c *Config) *bool { return &c.RPL.LoRH }, valid: func(c *Config, b bool) *FieldError {
				if b && c.RPL.Mode == RPLOff {
					return &FieldError{Reason: "RFC 8138 compresses RPL headers: it needs rpl.mode on", also: "rpl.mode"}
				}
				return nil
			}}),
		newKey("rpl.external_prefixes", "", "",
			"prefixes outside the mesh prefix that DAOs may announce as targets (networks behind RPL routers); []: none — a DAO for any other prefix is refused, so that no node can pull the mesh's traffic to the LAN or the Internet down to itself",
			listValue[netip.Prefix]{at: func(c *Config) *[]netip.Prefix { return &c.RPL.External },
				parse: func(s string) (netip.Prefix, *FieldError) {
					p, err := netip.ParsePrefix(strings.TrimSpace(s))
					if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Bits() < 8 {
						return netip.Prefix{}, &FieldError{Value: strconv.Quote(s), Reason: "want an IPv6 prefix of /8 or longer, such as fd00:2::/64"}
					}
					return p.Masked(), nil
				},
				format: func(p netip.Prefix) string { return p.String() },
			}),
		newKey("rpl.max_targets", "", "", "most DAO targets the root keeps (new ones are refused when full, live ones never evicted); 0: 16384",
			anyInt(func(c *Config) *int { return &c.RPL.MaxTargets }, func(_ *Config, n int64) *FieldError {
				if n < 0 || n > 1<<20 {
					return reason("want 0..%d", 1<<20)
				}
				return nil
			})),
	}
}

// The rpl section follows the forward section in the key table (and the
// example file).
func init() {
	i := slices.IndexFunc(keyTable, func(k key) bool { return k.Name == "upstream.interface" })
	keyTable = slices.Insert(keyTable, i, rplKeys()...)
}

// rplConfig is the forwarder's RPL configuration with what comes from
// other sections: the DIO's PIO is the mesh prefix with the lifetimes the
// RAs give it (nodes that take their address from the DIO must see a
// renumbering too).
func (c *Config) rplConfig() *router.RPLConfig {
	rc := c.RPL.forwarderRPL()
	if rc == nil {
		return nil
	}
	secs := func(d, def time.Duration) uint32 {
		d = cmp.Or(d, def)
		return uint32(min(d/time.Second, 0xffffffff))
	}
	rc.Root.Prefix = c.Mesh.Prefix.Masked()
	rc.Root.PrefixValid = secs(c.Mesh.PrefixValidLifetime, nd.DefaultPrefixValidLifetime)
	rc.Root.PrefixPref = secs(c.Mesh.PrefixPreferredLifetime, nd.DefaultPrefixPreferredLifetime)
	return rc
}
