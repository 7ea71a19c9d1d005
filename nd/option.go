package nd

import (
	"encoding/binary"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// OptionType is the Type octet of a neighbor discovery option.
type OptionType uint8

// Option types this package reads and writes.
const (
	OptSourceLinkAddr OptionType = 1  // RFC 4861 §4.6.1
	OptTargetLinkAddr OptionType = 2  // RFC 4861 §4.6.1
	OptPrefixInfo     OptionType = 3  // RFC 4861 §4.6.2
	OptMTU            OptionType = 5  // RFC 4861 §4.6.4
	OptRouteInfo      OptionType = 24 // RFC 4191 §2.3
	OptARO            OptionType = 33 // RFC 6775 §4.1, RFC 8505 §4.1 (EARO)
	Opt6CO            OptionType = 34 // RFC 6775 §4.2
	OptABRO           OptionType = 35 // RFC 6775 §4.3
	Opt6CIO           OptionType = 36 // RFC 7400 §3.3, RFC 8505 §4.3
)

func (t OptionType) String() string {
	switch t {
	case OptSourceLinkAddr:
		return "SLLAO"
	case OptTargetLinkAddr:
		return "TLLAO"
	case OptPrefixInfo:
		return "PIO"
	case OptMTU:
		return "MTU"
	case OptRouteInfo:
		return "RIO"
	case OptARO:
		return "ARO"
	case Opt6CO:
		return "6CO"
	case OptABRO:
		return "ABRO"
	case Opt6CIO:
		return "6CIO"
	}
	return "option(" + itoa(int(t)) + ")"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// optionUnit is the unit of the Length octet (RFC 4861 §4.6).
const optionUnit = 8

// Options is the options area of an ND message: a sequence of
// type-length-value options, Length in units of 8 octets (RFC 4861 §4.6).
type Options []byte

// Iter returns an iterator over the options.
func (o Options) Iter() OptionIterator { return OptionIterator{rest: o} }

// OptionIterator walks an options area without allocating.
type OptionIterator struct{ rest []byte }

// Next returns the next option. done is true when the options are
// exhausted. An option of length 0 or one running past the end is an error
// (RFC 4861 §6.1, §7.1: "all included options have a length that is greater
// than zero"); after an error the iterator is exhausted.
func (it *OptionIterator) Next() (opt Option, done bool, err error) {
	if len(it.rest) == 0 {
		return nil, true, nil
	}
	if len(it.rest) < 2 {
		it.rest = nil
		return nil, true, errOptOverrun
	}
	n := int(it.rest[1]) * optionUnit
	if n == 0 {
		it.rest = nil
		return nil, true, errOptZero
	}
	if n > len(it.rest) {
		it.rest = nil
		return nil, true, errOptOverrun
	}
	opt = Option(it.rest[:n:n])
	it.rest = it.rest[n:]
	return opt, false, nil
}

// Option is one option, Type and Length octets included. The typed views
// below (LinkAddrOption, PrefixInfo, ...) are conversions of it; their
// accessors trust the bounds that Parse checked.
type Option []byte

// Type returns the option type.
func (o Option) Type() OptionType { return OptionType(o[0]) }

// Len returns the length of the option in octets.
func (o Option) Len() int { return len(o) }

// Body returns the option after its Type and Length octets.
func (o Option) Body() []byte { return o[2:] }

// Medium says which link layer a link-layer address option belongs to: the
// option's bytes alone do not tell a padded 802.15.4 short address from a
// Bluetooth device address (both Length 1).
type Medium uint8

const (
	// MediumIEEE802154: RFC 4944 §8 forms, Length 2 for an EUI-64 and
	// Length 1 for a 16-bit short address, zero padded.
	MediumIEEE802154 Medium = iota
	// MediumBLE: RFC 7668 §3.2.3 (as RFC 2464 does for Ethernet), Length 1
	// holding the 48-bit device address.
	MediumBLE
)

// LinkAddrOption is a Source or Target Link-Layer Address option.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |    Length     |    Link-Layer Address ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type LinkAddrOption []byte

// Bytes returns the address field, padding included.
func (o LinkAddrOption) Bytes() []byte { return o[2:] }

// Addr returns the link-layer address in the form the medium uses, and
// false when the option's length is not one the medium defines.
func (o LinkAddrOption) Addr(m Medium) (lowpan.LinkAddr, bool) {
	switch {
	case m == MediumBLE && len(o) == 8:
		var bd [6]byte
		copy(bd[:], o[2:8])
		return lowpan.BLELinkAddr(bd), true
	case m == MediumIEEE802154 && len(o) == 16:
		var eui [8]byte
		copy(eui[:], o[2:10])
		return lowpan.ExtendedLinkAddr(eui), true
	case m == MediumIEEE802154 && len(o) == 8:
		return lowpan.ShortLinkAddr(binary.BigEndian.Uint16(o[2:4])), true
	}
	return lowpan.LinkAddr{}, false
}

// PrefixInfo is a Prefix Information Option (RFC 4861 §4.6.2).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |    Length     | Prefix Length |L|A|R|Reserved1|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Valid Lifetime                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Preferred Lifetime                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Reserved2                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Prefix (128 bits)                    |
type PrefixInfo []byte

const (
	pioLen       = 32
	pioFlagL     = 0x80
	pioFlagA     = 0x40
	pioFlagR     = 0x20
	pioValid     = 4
	pioPreferred = 8
	pioPrefix    = 16
)

func (o PrefixInfo) valid() bool { return len(o) == pioLen && o[2] <= 128 }

// PrefixLength returns the number of valid leading bits.
func (o PrefixInfo) PrefixLength() int { return int(o[2]) }

// OnLink returns the L flag.
func (o PrefixInfo) OnLink() bool { return o[3]&pioFlagL != 0 }

// Autonomous returns the A flag.
func (o PrefixInfo) Autonomous() bool { return o[3]&pioFlagA != 0 }

// RouterAddress returns the R flag (RFC 6275 §7.2).
func (o PrefixInfo) RouterAddress() bool { return o[3]&pioFlagR != 0 }

// ValidLifetime returns the valid lifetime in seconds (0xffffffff: infinity).
func (o PrefixInfo) ValidLifetime() uint32 { return binary.BigEndian.Uint32(o[pioValid:]) }

// PreferredLifetime returns the preferred lifetime in seconds.
func (o PrefixInfo) PreferredLifetime() uint32 { return binary.BigEndian.Uint32(o[pioPreferred:]) }

// Prefix returns the prefix, masked to its length.
func (o PrefixInfo) Prefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16([16]byte(o[pioPrefix:pioPrefix+16])), o.PrefixLength()).Masked()
}

// MTUOption is an MTU option (RFC 4861 §4.6.4): Length 1, two reserved
// octets, a 32-bit MTU.
type MTUOption []byte

// MTU returns the advertised link MTU.
func (o MTUOption) MTU() uint32 { return binary.BigEndian.Uint32(o[4:8]) }

// RouteInfo is a Route Information Option (RFC 4191 §2.3).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |    Length     | Prefix Length |Resvd|Prf|Resvd|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Route Lifetime                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Prefix (Variable Length)                    |
type RouteInfo []byte

// valid applies RFC 4191 §2.3: Length 1, 2 or 3; above /0 at least 2;
// above /64 exactly 3.
func (o RouteInfo) valid() bool {
	if len(o) > 24 || o[2] > 128 {
		return false
	}
	switch {
	case o[2] > 64:
		return len(o) == 24
	case o[2] > 0:
		return len(o) >= 16
	}
	return true
}

// PrefixLength returns the number of valid leading bits.
func (o RouteInfo) PrefixLength() int { return int(o[2]) }

// Preference returns the 2-bit route preference (RFC 4191 §2.1).
func (o RouteInfo) Preference() Preference { return Preference(o[3] >> 3 & 3) }

// RouteLifetime returns the route lifetime in seconds.
func (o RouteInfo) RouteLifetime() uint32 { return binary.BigEndian.Uint32(o[4:8]) }

// Prefix returns the prefix, masked to its length.
func (o RouteInfo) Prefix() netip.Prefix {
	var a [16]byte
	copy(a[:], o[8:])
	return netip.PrefixFrom(netip.AddrFrom16(a), o.PrefixLength()).Masked()
}

// Preference is the 2-bit signed preference of RFC 4191 §2.1, used in the
// RA header (Prf) and in the Route Information Option.
type Preference uint8

const (
	PreferenceMedium   Preference = 0
	PreferenceHigh     Preference = 1
	PreferenceReserved Preference = 2 // treated as medium (RFC 4191 §2.2)
	PreferenceLow      Preference = 3
)

// ARO is an Address Registration Option (RFC 6775 §4.1) or its extended
// form, the EARO (RFC 8505 §4.1). The two share the layout; the RFC 6775
// Reserved octets became Opaque, the flags and the TID, and the EUI-64
// became a ROVR of Length−1 units of 8 octets.
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Length    |    Status     |    Opaque     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Rsvd | I |R|T|     TID       |     Registration Lifetime     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Registration Ownership Verifier (ROVR) ...           |
type ARO []byte

const (
	aroStatus   = 2
	aroOpaque   = 3
	aroFlags    = 4
	aroTID      = 5
	aroLifetime = 6
	aroROVR     = 8
	aroFlagT    = 0x01
	aroFlagR    = 0x02
	aroIShift   = 2
	aroIMask    = 0x3
)

func (o ARO) valid() bool { return len(o) >= 16 && len(o) <= 40 }

// Status returns the registration status (meaningful in an NA).
func (o ARO) Status() Status { return Status(o[aroStatus]) }

// Opaque returns the Opaque octet (RFC 8505 §4.1).
func (o ARO) Opaque() uint8 { return o[aroOpaque] }

// I returns the 2-bit I field.
func (o ARO) I() uint8 { return o[aroFlags] >> aroIShift & aroIMask }

// R returns the R flag: the registering node asks for reachability
// services.
func (o ARO) R() bool { return o[aroFlags]&aroFlagR != 0 }

// T returns the T flag: the TID octet is in use, the option is an EARO.
func (o ARO) T() bool { return o[aroFlags]&aroFlagT != 0 }

// TID returns the transaction ID; meaningful only when T is set.
func (o ARO) TID() uint8 { return o[aroTID] }

// Lifetime returns the registration lifetime in units of 60 seconds.
func (o ARO) Lifetime() uint16 { return binary.BigEndian.Uint16(o[aroLifetime:]) }

// ROVR returns the Registration Ownership Verifier (the EUI-64 of an RFC
// 6775 ARO): 8, 16, 24 or 32 octets.
func (o ARO) ROVR() []byte { return o[aroROVR:] }

// ContextOption is a 6LoWPAN Context Option (RFC 6775 §4.2).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Length    |Context Length | Res |C|  CID  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Reserved           |         Valid Lifetime        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                       Context Prefix                          .
type ContextOption []byte

const (
	ctxFlagC   = 0x10
	ctxCIDMask = 0x0f
)

// valid applies RFC 6775 §4.2: Length 2 or 3, Length 3 above 64 bits.
func (o ContextOption) valid() bool {
	switch {
	case len(o) != 16 && len(o) != 24:
		return false
	case o[2] > 128:
		return false
	case o[2] > 64:
		return len(o) == 24
	}
	return true
}

// ContextLength returns the number of valid leading bits of the prefix.
func (o ContextOption) ContextLength() int { return int(o[2]) }

// Compress returns the C flag: the context may be used to compress.
func (o ContextOption) Compress() bool { return o[3]&ctxFlagC != 0 }

// CID returns the context identifier.
func (o ContextOption) CID() uint8 { return o[3] & ctxCIDMask }

// ValidLifetime returns the valid lifetime in units of 60 seconds; 0 means
// remove the context now.
func (o ContextOption) ValidLifetime() uint16 { return binary.BigEndian.Uint16(o[6:8]) }

// Prefix returns the context prefix, masked to its length.
func (o ContextOption) Prefix() netip.Prefix {
	var a [16]byte
	copy(a[:], o[8:])
	return netip.PrefixFrom(netip.AddrFrom16(a), o.ContextLength()).Masked()
}

// ABRO is an Authoritative Border Router Option (RFC 6775 §4.3).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |  Length = 3   |          Version Low          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Version High         |        Valid Lifetime         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       6LBR Address (128 bits)                 |
type ABRO []byte

const abroLen = 24

// Version returns the 32-bit version number (Version High << 16 | Low).
func (o ABRO) Version() uint32 {
	return uint32(binary.BigEndian.Uint16(o[4:6]))<<16 | uint32(binary.BigEndian.Uint16(o[2:4]))
}

// ValidLifetime returns the valid lifetime in units of 60 seconds; 0 stands
// for the default of 10 000 (RFC 6775 §4.3).
func (o ABRO) ValidLifetime() uint16 { return binary.BigEndian.Uint16(o[6:8]) }

// Addr returns the 6LBR address.
func (o ABRO) Addr() netip.Addr { return netip.AddrFrom16([16]byte(o[8:24])) }

// CapabilityOption is a 6LoWPAN Capability Indication Option (RFC 7400
// §3.3 with the flags of RFC 8505 §4.3): Length 1, the flags in the low
// bits of octets 2–3, then four reserved octets.
type CapabilityOption []byte

// Capability flags of the 6CIO (RFC 8505 §4.3, RFC 7400 §3.3).
const (
	CapG uint16 = 1 << iota // GHC capable (RFC 7400)
	CapE                    // IPv6 ND Registrar: supports the EARO
	CapP                    // Routing Registrar
	CapB                    // 6LBR
	CapL                    // 6LR
	CapD                    // the 6LBR supports EDAR and EDAC
)

// Flags returns the capability bits (CapD ... CapG).
func (o CapabilityOption) Flags() uint16 { return binary.BigEndian.Uint16(o[2:4]) }

// checkOption applies the per-option length rules to the options a message
// type uses (RFC 4861 §6.1.1 etc.: options not specified for a message are
// ignored, so they are not checked).
func checkOption(o Option) error {
	switch o.Type() {
	case OptSourceLinkAddr, OptTargetLinkAddr:
		// RFC 4944 §8: Length 1 (short) or 2 (EUI-64); RFC 7668: 1.
		if len(o) > 16 {
			return errOptLLA
		}
	case OptPrefixInfo:
		if !PrefixInfo(o).valid() {
			return errOptPIO
		}
	case OptMTU:
		if len(o) != 8 {
			return errOptMTU
		}
	case OptRouteInfo:
		if !RouteInfo(o).valid() {
			return errOptRIO
		}
	case OptARO:
		if !ARO(o).valid() {
			return errOptARO
		}
	case Opt6CO:
		if !ContextOption(o).valid() {
			return errOpt6CO
		}
	case OptABRO:
		if len(o) != abroLen {
			return errOptABRO
		}
	}
	return nil
}
