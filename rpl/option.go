package rpl

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// OptionType is the Type octet of a RPL control message option
// (RFC 6550 §6.7.1, IANA "RPL Control Message Options").
type OptionType uint8

// Option types.
const (
	OptPad1             OptionType = 0x00 // RFC 6550 §6.7.2
	OptPadN             OptionType = 0x01 // RFC 6550 §6.7.3
	OptMetricContainer  OptionType = 0x02 // RFC 6550 §6.7.4 (contents: RFC 6551)
	OptRouteInfo        OptionType = 0x03 // RFC 6550 §6.7.5
	OptDODAGConfig      OptionType = 0x04 // RFC 6550 §6.7.6
	OptTarget           OptionType = 0x05 // RFC 6550 §6.7.7, RFC 9010 §6.1
	OptTransit          OptionType = 0x06 // RFC 6550 §6.7.8
	OptSolicitedInfo    OptionType = 0x07 // RFC 6550 §6.7.9
	OptPrefixInfo       OptionType = 0x08 // RFC 6550 §6.7.10
	OptTargetDescriptor OptionType = 0x09 // RFC 6550 §6.7.11
)

var optionNames = [...]string{"Pad1", "PadN", "DAG Metric Container", "Route Information",
	"DODAG Configuration", "RPL Target", "Transit Information", "Solicited Information",
	"Prefix Information", "RPL Target Descriptor"}

func (t OptionType) String() string {
	if int(t) < len(optionNames) {
		return optionNames[t]
	}
	return "option(" + strconv.Itoa(int(t)) + ")"
}

// Fixed option lengths: the Option Length octet, which counts the octets
// after the Type and Length octets (RFC 6550 §6.7.1), unlike ND's units of
// 8.
const (
	optHdr             = 2
	maxPadNLen         = 5  // §6.7.3: N-2 for 2 <= N <= 7
	dodagConfigLen     = 14 // §6.7.6
	transitLen         = 4  // §6.7.8 without Parent Address
	transitParentLen   = 20 // §6.7.8 with Parent Address
	solicitedInfoLen   = 19 // §6.7.9
	prefixInfoLen      = 30 // §6.7.10
	targetDescLen      = 4  // §6.7.11
	routeInfoFixedLen  = 6  // §6.7.5: prefix length, flags, lifetime
	targetFixedLen     = 2  // §6.7.7: flags, prefix length
	maxOptionBody      = 255
	prefixBytesMaximum = 16
)

// Options is the options area of a RPL control message (RFC 6550 §6.7).
type Options []byte

// Iter returns an iterator over the options.
func (o Options) Iter() OptionIterator { return OptionIterator{rest: o} }

// OptionIterator walks an options area without allocating. Pad1 is
// returned as a one-octet option so callers can see every octet accounted
// for; most callers skip OptPad1 and OptPadN.
type OptionIterator struct{ rest []byte }

// Next returns the next option; done is true when the options are
// exhausted. An option whose Length runs past the end is an error, after
// which the iterator is exhausted. Next checks only the framing: the
// per-type rules are Option.Validate's.
func (it *OptionIterator) Next() (opt Option, done bool, err error) {
	if len(it.rest) == 0 {
		return nil, true, nil
	}
	if it.rest[0] == byte(OptPad1) {
		opt, it.rest = Option(it.rest[:1:1]), it.rest[1:]
		return opt, false, nil
	}
	if len(it.rest) < optHdr {
		it.rest = nil
		return nil, true, errOptOverrun
	}
	n := optHdr + int(it.rest[1])
	if n > len(it.rest) {
		it.rest = nil
		return nil, true, errOptOverrun
	}
	opt, it.rest = Option(it.rest[:n:n]), it.rest[n:]
	return opt, false, nil
}

// Validate checks the framing of every option and the length and field
// rules of every option type this package knows; unknown types are
// accepted, as RFC 6550 §6.7.1 has receivers ignore options they do not
// understand.
func (o Options) Validate() error {
	it := o.Iter()
	for {
		opt, done, err := it.Next()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := opt.Validate(); err != nil {
			return err
		}
	}
}

// Find returns the first option of type t, or nil. It trusts that the
// options were validated.
func (o Options) Find(t OptionType) Option {
	it := o.Iter()
	for {
		opt, done, err := it.Next()
		if done || err != nil {
			return nil
		}
		if opt.Type() == t {
			return opt
		}
	}
}

// Option is one option, Type and Length octets included (Pad1: the single
// Type octet). The typed views below are conversions of it; their
// accessors trust that Validate passed.
type Option []byte

// Type returns the option type.
func (o Option) Type() OptionType { return OptionType(o[0]) }

// Body returns the option after its Type and Length octets (nil for Pad1).
func (o Option) Body() []byte {
	if len(o) < optHdr {
		return nil
	}
	return o[optHdr:]
}

// Validate checks the option's length and fields against its type's rules.
func (o Option) Validate() error {
	t := o.Type()
	body := len(o) - optHdr
	switch t {
	case OptPad1:
		return nil
	case OptPadN:
		if body > maxPadNLen {
			return optionError(t, "RFC 6550 §6.7.3: more than 7 octets of padding")
		}
	case OptMetricContainer:
		// Opaque here: RFC 6551 objects are the objective function's
		// business.
	case OptRouteInfo:
		if body < routeInfoFixedLen {
			return optionError(t, "RFC 6550 §6.7.5: shorter than 6 octets")
		}
		return checkPrefixField(t, int(o[2]), body-routeInfoFixedLen)
	case OptDODAGConfig:
		if body != dodagConfigLen {
			return optionError(t, "RFC 6550 §6.7.6: Option Length is not 14")
		}
	case OptTarget:
		if body < targetFixedLen {
			return optionError(t, "RFC 6550 §6.7.7: shorter than 2 octets")
		}
		tg := Target(o)
		sz := tg.ROVRSize()
		if sz < 0 {
			return optionError(t, "RFC 9010 §6.1: ROVRsz above 4")
		}
		return checkPrefixField(t, tg.PrefixLength(), body-targetFixedLen-sz)
	case OptTransit:
		if body != transitLen && body != transitParentLen {
			return optionError(t, "RFC 6550 §6.7.8: Option Length is neither 4 nor 20")
		}
	case OptSolicitedInfo:
		if body != solicitedInfoLen {
			return optionError(t, "RFC 6550 §6.7.9: Option Length is not 19")
		}
	case OptPrefixInfo:
		if body != prefixInfoLen {
			return optionError(t, "RFC 6550 §6.7.10: Option Length is not 30")
		}
		if o[2] > 128 {
			return optionError(t, "RFC 6550 §6.7.10: Prefix Length above 128")
		}
	case OptTargetDescriptor:
		if body != targetDescLen {
			return optionError(t, "RFC 6550 §6.7.11: Option Length is not 4")
		}
	}
	return nil
}

// checkPrefixField checks a variable-length prefix field of n octets
// holding prefixLen valid bits (§6.7.5, §6.7.7): at most 16 octets, enough
// for the valid bits.
func checkPrefixField(t OptionType, prefixLen, n int) error {
	switch {
	case prefixLen > 128:
		return optionError(t, "Prefix Length above 128")
	case n < 0:
		return optionError(t, "shorter than its fixed fields")
	case n > prefixBytesMaximum:
		return optionError(t, "prefix field longer than 16 octets")
	case n < (prefixLen+7)/8:
		return optionError(t, "prefix field shorter than Prefix Length")
	}
	return nil
}

// prefixFrom builds a prefix from a variable-length prefix field; bits
// beyond bits are reserved (§6.7.5, §6.7.7) and ignored.
func prefixFrom(field []byte, bits int) netip.Prefix {
	var a [16]byte
	copy(a[:], field)
	p, _ := netip.AddrFrom16(a).Prefix(bits)
	return p
}

// prefixFieldLen is the length of the prefix field the encoders write: 0,
// 8 or 16 octets, whichever holds the prefix. RFC 6550 §6.7.5 and §6.7.7
// allow any length that holds it, but RFC 4191 §2.3 (which the Route
// Information option copies) allows only these three, and parsers follow
// it: Wireshark 4.0 flags a Route Information or Target option with a
// 6-octet or 7-octet prefix field as malformed (seen in TestTshark).
func prefixFieldLen(bits int) int {
	switch n := (bits + 7) / 8; {
	case n == 0:
		return 0
	case n <= 8:
		return 8
	}
	return 16
}

// appendPrefixField appends p's prefix field (prefixFieldLen octets), the
// bits beyond the prefix length zero as §6.7.5 and §6.7.7 require.
func appendPrefixField(b []byte, p netip.Prefix) []byte {
	a := p.Masked().Addr().As16()
	return append(b, a[:prefixFieldLen(p.Bits())]...)
}

func appendOptHdr(b []byte, t OptionType, n int) []byte { return append(b, byte(t), byte(n)) }

// AppendPad appends n octets of padding: Pad1 for one octet, PadN for 2 to
// 7 (RFC 6550 §6.7.2, §6.7.3), several PadN for more.
func AppendPad(b []byte, n int) []byte {
	for n > 0 {
		if n == 1 {
			return append(b, byte(OptPad1))
		}
		k := min(n, maxPadNLen+optHdr)
		b = appendOptHdr(b, OptPadN, k-optHdr)
		for range k - optHdr {
			b = append(b, 0)
		}
		n -= k
	}
	return b
}

// AppendMetricContainer appends a DAG Metric Container (§6.7.4) holding
// data, the RFC 6551 metric objects, as given.
func AppendMetricContainer(b []byte, data []byte) ([]byte, error) {
	if len(data) > maxOptionBody {
		return b, errEncodeLong
	}
	b = appendOptHdr(b, OptMetricContainer, len(data))
	return append(b, data...), nil
}

// RouteInfo is a Route Information option (RFC 6550 §6.7.5, after
// RFC 4191 §2.3):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 0x03 | Option Length | Prefix Length |Resvd|Prf|Resvd|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Route Lifetime                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Prefix (Variable Length)                    |
type RouteInfo []byte

// Prefix returns the advertised prefix.
func (o RouteInfo) Prefix() netip.Prefix { return prefixFrom(o[8:], int(o[2])) }

// Preference returns the 2-bit route preference (RFC 4191 §2.1).
func (o RouteInfo) Preference() uint8 { return o[3] >> 3 & 0x3 }

// Lifetime returns the route lifetime in seconds (0xFFFFFFFF: infinity).
func (o RouteInfo) Lifetime() uint32 { return binary.BigEndian.Uint32(o[4:]) }

// AppendRouteInfo appends a Route Information option.
func AppendRouteInfo(b []byte, p netip.Prefix, prf uint8, lifetime uint32) ([]byte, error) {
	if !p.IsValid() || !p.Addr().Is6() || prf > 3 {
		return b, errEncodePrefix
	}
	b = appendOptHdr(b, OptRouteInfo, routeInfoFixedLen+prefixFieldLen(p.Bits()))
	b = append(b, byte(p.Bits()), prf<<3)
	b = binary.BigEndian.AppendUint32(b, lifetime)
	return appendPrefixField(b, p), nil
}

// DODAGConfig is a DODAG Configuration option (RFC 6550 §6.7.6), flag bits
// added by RFC 9035 (T) and RFC 9008 (D):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 0x04 |Opt Length = 14|0|0|T|D|A| PCS | DIOIntDoubl.  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  DIOIntMin.   |   DIORedun.   |        MaxRankIncrease        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      MinHopRankIncrease       |              OCP              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Reserved    | Def. Lifetime |      Lifetime Unit            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flag bits are numbered from the most significant (IANA "DODAG
// Configuration Option Flags for MOP 0..6"): bit 2 is RFC 9035's T ("turn
// on RFC 8138 compression"), bit 3 RFC 9008 §4.1.3's D ("RPI option type
// 0x23 in use"), bit 4 RFC 6550's A, bits 5–7 PCS. D = 0x10 is what wsbrd,
// a RFC 9008/9010 root, uses (SiliconLabs/wisun-br-linux
// common/specs/rpl.h, RPL_MASK_OPT_CONFIG_RPI, commit 2144f985); T = 0x20
// follows from the registry; Wireshark 4.0 shows both as "Reserved".
type DODAGConfig []byte

// DODAG Configuration flag bits in the flags octet.
const (
	ConfigFlagT    = 0x20 // RFC 9035: RFC 8138 compression on
	ConfigFlagD    = 0x10 // RFC 9008: RPI Option Type is 0x23
	ConfigFlagA    = 0x08 // RFC 6550 §6.7.6: authentication enabled
	configPCSMask  = 0x07
	configFlagsOff = 2
)

// Flags returns the whole flags octet, unassigned bits included.
func (o DODAGConfig) Flags() uint8 { return o[configFlagsOff] }

// Compression8138 returns the RFC 9035 T flag.
func (o DODAGConfig) Compression8138() bool { return o[2]&ConfigFlagT != 0 }

// RPI0x23 returns the RFC 9008 D flag.
func (o DODAGConfig) RPI0x23() bool { return o[2]&ConfigFlagD != 0 }

// Authentication returns the A flag (secure RPL; not implemented).
func (o DODAGConfig) Authentication() bool { return o[2]&ConfigFlagA != 0 }

// PCS returns the Path Control Size (§6.7.6): PCS+1 bits of Path Control.
func (o DODAGConfig) PCS() uint8 { return o[2] & configPCSMask }

// DIOIntervalDoublings returns the trickle Imax doublings (§8.3.1).
func (o DODAGConfig) DIOIntervalDoublings() uint8 { return o[3] }

// DIOIntervalMin returns log2 of the trickle Imin in milliseconds.
func (o DODAGConfig) DIOIntervalMin() uint8 { return o[4] }

// DIORedundancy returns the trickle redundancy constant k.
func (o DODAGConfig) DIORedundancy() uint8 { return o[5] }

// MaxRankIncrease returns MaxRankIncrease (§8.2.2.4).
func (o DODAGConfig) MaxRankIncrease() uint16 { return binary.BigEndian.Uint16(o[6:]) }

// MinHopRankIncrease returns MinHopRankIncrease (§3.5.1).
func (o DODAGConfig) MinHopRankIncrease() uint16 { return binary.BigEndian.Uint16(o[8:]) }

// OCP returns the Objective Code Point (0: OF0, RFC 6552; 1: MRHOF,
// RFC 6719).
func (o DODAGConfig) OCP() uint16 { return binary.BigEndian.Uint16(o[10:]) }

// DefaultLifetime returns the default route lifetime in Lifetime Units.
func (o DODAGConfig) DefaultLifetime() uint8 { return o[13] }

// LifetimeUnit returns the lifetime unit in seconds.
func (o DODAGConfig) LifetimeUnit() uint16 { return binary.BigEndian.Uint16(o[14:]) }

// DODAGConfigFields are the values AppendDODAGConfig writes.
type DODAGConfigFields struct {
	Compression8138      bool // RFC 9035 T
	RPI0x23              bool // RFC 9008 D
	Authentication       bool
	PCS                  uint8 // 0–7
	DIOIntervalDoublings uint8
	DIOIntervalMin       uint8
	DIORedundancy        uint8
	MaxRankIncrease      uint16
	MinHopRankIncrease   uint16
	OCP                  uint16
	DefaultLifetime      uint8
	LifetimeUnit         uint16
}

// AppendDODAGConfig appends a DODAG Configuration option.
func AppendDODAGConfig(b []byte, f *DODAGConfigFields) ([]byte, error) {
	if f.PCS > configPCSMask {
		return b, errEncodePCS
	}
	flags := f.PCS
	if f.Compression8138 {
		flags |= ConfigFlagT
	}
	if f.RPI0x23 {
		flags |= ConfigFlagD
	}
	if f.Authentication {
		flags |= ConfigFlagA
	}
	b = appendOptHdr(b, OptDODAGConfig, dodagConfigLen)
	b = append(b, flags, f.DIOIntervalDoublings, f.DIOIntervalMin, f.DIORedundancy)
	b = binary.BigEndian.AppendUint16(b, f.MaxRankIncrease)
	b = binary.BigEndian.AppendUint16(b, f.MinHopRankIncrease)
	b = binary.BigEndian.AppendUint16(b, f.OCP)
	b = append(b, 0, f.DefaultLifetime)
	return binary.BigEndian.AppendUint16(b, f.LifetimeUnit), nil
}

// Target is a RPL Target option (RFC 6550 §6.7.7) with RFC 9010 §6.1's
// flags and optional ROVR:
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 0x05 | Option Length |F|X|Flg|ROVRsz | Prefix Length |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Target Prefix (Variable Length)                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Registration Ownership Verifier (ROVR, optional)       |
//
// RFC 6550 has the whole flags octet reserved; RFC 9010 gives F (the
// target is the advertising node's own address), X (the root may proxy an
// EDAR for it) and a 4-bit ROVR size in units of 64 bits (0: no ROVR; 1–4).
// The ROVR, when present, follows the prefix and so decides where the
// prefix field ends.
type Target []byte

// Target flags (RFC 9010 §6.1).
const (
	TargetFlagF   = 0x80
	TargetFlagX   = 0x40
	targetROVRsz  = 0x0f
	rovrUnit      = 8
	maxROVRsz     = 4
	targetPrefOff = 4
)

// Flags returns the flags octet.
func (o Target) Flags() uint8 { return o[2] }

// ROVRSize returns the ROVR's length in octets (0 when absent), or -1 for
// a ROVRsz above 4.
func (o Target) ROVRSize() int {
	sz := int(o[2] & targetROVRsz)
	if sz > maxROVRsz {
		return -1
	}
	return sz * rovrUnit
}

// PrefixLength returns the number of valid bits of the target.
func (o Target) PrefixLength() int { return int(o[3]) }

// Prefix returns the target prefix (a /128 for an address).
func (o Target) Prefix() netip.Prefix {
	return prefixFrom(o[targetPrefOff:len(o)-o.ROVRSize()], o.PrefixLength())
}

// ROVR returns the ROVR (RFC 8505 §5.3, RFC 9010 §6.1), nil when absent.
func (o Target) ROVR() []byte {
	n := o.ROVRSize()
	if n == 0 {
		return nil
	}
	return o[len(o)-n:]
}

// AppendTarget appends a RPL Target option for p; rovr, when not nil,
// must be 8, 16, 24 or 32 octets and is appended after the prefix with
// ROVRsz set (RFC 9010 §6.1). flags are F and X.
func AppendTarget(b []byte, p netip.Prefix, flags uint8, rovr []byte) ([]byte, error) {
	if !p.IsValid() || !p.Addr().Is6() {
		return b, errEncodePrefix
	}
	if len(rovr)%rovrUnit != 0 || len(rovr) > maxROVRsz*rovrUnit || flags&^(TargetFlagF|TargetFlagX) != 0 {
		return b, errEncodeROVR
	}
	plen := prefixFieldLen(p.Bits())
	b = appendOptHdr(b, OptTarget, targetFixedLen+plen+len(rovr))
	b = append(b, flags|byte(len(rovr)/rovrUnit), byte(p.Bits()))
	b = appendPrefixField(b, p)
	return append(b, rovr...), nil
}

// Transit is a Transit Information option (RFC 6550 §6.7.8):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 0x06 | Option Length |E|    Flags    | Path Control  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Path Sequence | Path Lifetime |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                 Parent Address* (non-storing only)            |
//
// A Path Lifetime of 0 makes the DAO a No-Path for its targets (§6.7.8,
// §9.10); 0xFF is infinity.
type Transit []byte

// TransitFlagE is the External flag: the target is outside the RPL domain.
const TransitFlagE = 0x80

// External returns the E flag.
func (o Transit) External() bool { return o[2]&TransitFlagE != 0 }

// PathControl returns the Path Control bits (§9.9).
func (o Transit) PathControl() uint8 { return o[3] }

// PathSequence returns the Path Sequence (§7.2 lollipop counter).
func (o Transit) PathSequence() uint8 { return o[4] }

// PathLifetime returns the path lifetime in Lifetime Units.
func (o Transit) PathLifetime() uint8 { return o[5] }

// Parent returns the parent address and true when the option carries one
// (non-storing mode, §9.7).
func (o Transit) Parent() (netip.Addr, bool) {
	if len(o) < optHdr+transitParentLen {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16([16]byte(o[6:22])), true
}

// TransitFields are the values AppendTransit writes. An invalid Parent
// (the zero Addr) leaves the Parent Address out, as storing mode does.
type TransitFields struct {
	External     bool
	PathControl  uint8
	PathSequence uint8
	PathLifetime uint8
	Parent       netip.Addr
}

// AppendTransit appends a Transit Information option.
func AppendTransit(b []byte, f *TransitFields) ([]byte, error) {
	n := transitLen
	if f.Parent.IsValid() {
		if !f.Parent.Is6() {
			return b, errEncodeAddr
		}
		n = transitParentLen
	}
	var flags uint8
	if f.External {
		flags = TransitFlagE
	}
	b = appendOptHdr(b, OptTransit, n)
	b = append(b, flags, f.PathControl, f.PathSequence, f.PathLifetime)
	if f.Parent.IsValid() {
		a := f.Parent.As16()
		b = append(b, a[:]...)
	}
	return b, nil
}

// SolicitedInfo is a Solicited Information option (RFC 6550 §6.7.9), used
// in a DIS to ask only matching nodes to answer:
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 0x07 |Opt Length = 19| RPLInstanceID |V|I|D|  Flags  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        DODAGID (128 bits)                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version Number |
type SolicitedInfo []byte

// Solicited Information predicate flags: V (match the version), I (the
// instance), D (the DODAGID).
const (
	SolicitedFlagV = 0x80
	SolicitedFlagI = 0x40
	SolicitedFlagD = 0x20
)

// Instance returns the RPLInstanceID.
func (o SolicitedInfo) Instance() uint8 { return o[2] }

// Flags returns the V, I, D flags octet.
func (o SolicitedInfo) Flags() uint8 { return o[3] }

// DODAGID returns the DODAGID.
func (o SolicitedInfo) DODAGID() netip.Addr { return netip.AddrFrom16([16]byte(o[4:20])) }

// Version returns the DODAG Version Number.
func (o SolicitedInfo) Version() uint8 { return o[20] }

// AppendSolicitedInfo appends a Solicited Information option.
func AppendSolicitedInfo(b []byte, instance, flags uint8, dodagID netip.Addr, version uint8) ([]byte, error) {
	if !dodagID.Is6() {
		return b, errEncodeAddr
	}
	b = appendOptHdr(b, OptSolicitedInfo, solicitedInfoLen)
	b = append(b, instance, flags&(SolicitedFlagV|SolicitedFlagI|SolicitedFlagD))
	a := dodagID.As16()
	b = append(b, a[:]...)
	return append(b, version), nil
}

// PrefixInfo is a Prefix Information option (RFC 6550 §6.7.10, the layout
// of RFC 4861 §4.6.2 with RFC 6550's R flag: Prefix holds the sender's
// full address, as the root uses it to advertise its global address):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 0x08 |Opt Length = 30| Prefix Length |L|A|R|Reserved1|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Valid Lifetime                        |
//	|                       Preferred Lifetime                      |
//	|                           Reserved2                           |
//	|                            Prefix (128)                       |
type PrefixInfo []byte

// Prefix Information flags.
const (
	PrefixFlagL = 0x80 // on-link
	PrefixFlagA = 0x40 // autonomous address configuration
	PrefixFlagR = 0x20 // Prefix holds the router's address (§6.7.10)
)

// PrefixLength returns the number of valid leading bits.
func (o PrefixInfo) PrefixLength() int { return int(o[2]) }

// Flags returns the L, A, R flags octet.
func (o PrefixInfo) Flags() uint8 { return o[3] }

// ValidLifetime returns the valid lifetime in seconds.
func (o PrefixInfo) ValidLifetime() uint32 { return binary.BigEndian.Uint32(o[4:]) }

// PreferredLifetime returns the preferred lifetime in seconds.
func (o PrefixInfo) PreferredLifetime() uint32 { return binary.BigEndian.Uint32(o[8:]) }

// Address returns the whole Prefix field: with R set, the router's address.
func (o PrefixInfo) Address() netip.Addr { return netip.AddrFrom16([16]byte(o[16:32])) }

// Prefix returns the prefix.
func (o PrefixInfo) Prefix() netip.Prefix {
	p, _ := o.Address().Prefix(o.PrefixLength())
	return p
}

// PrefixInfoFields are the values AppendPrefixInfo writes. Address is
// written whole (with R set it is the router's address; otherwise pass the
// prefix's address with zero host bits).
type PrefixInfoFields struct {
	Address           netip.Addr
	PrefixLength      uint8
	Flags             uint8 // PrefixFlagL | PrefixFlagA | PrefixFlagR
	ValidLifetime     uint32
	PreferredLifetime uint32
}

// AppendPrefixInfo appends a Prefix Information option.
func AppendPrefixInfo(b []byte, f *PrefixInfoFields) ([]byte, error) {
	if !f.Address.Is6() || f.PrefixLength > 128 {
		return b, errEncodePrefix
	}
	b = appendOptHdr(b, OptPrefixInfo, prefixInfoLen)
	b = append(b, f.PrefixLength, f.Flags&(PrefixFlagL|PrefixFlagA|PrefixFlagR))
	b = binary.BigEndian.AppendUint32(b, f.ValidLifetime)
	b = binary.BigEndian.AppendUint32(b, f.PreferredLifetime)
	b = append(b, 0, 0, 0, 0)
	a := f.Address.As16()
	return append(b, a[:]...), nil
}

// TargetDescriptor is a RPL Target Descriptor option (RFC 6550 §6.7.11):
// an opaque 32-bit tag for the preceding Target.
type TargetDescriptor []byte

// Descriptor returns the descriptor.
func (o TargetDescriptor) Descriptor() uint32 { return binary.BigEndian.Uint32(o[2:]) }

// AppendTargetDescriptor appends a RPL Target Descriptor option.
func AppendTargetDescriptor(b []byte, d uint32) []byte {
	b = appendOptHdr(b, OptTargetDescriptor, targetDescLen)
	return binary.BigEndian.AppendUint32(b, d)
}
