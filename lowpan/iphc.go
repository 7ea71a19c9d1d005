package lowpan

import "github.com/lowpanbr/lowpanbr/internal/ip6"

// IPHC base header bits (RFC 6282 §3.1.1):
//
//	  0                                       1
//	  0   1   2   3   4   5   6   7   8   9   0   1   2   3   4   5
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	| 0 | 1 | 1 |  TF   |NH | HLIM  |CID|SAC|  SAM  | M |DAC|  DAM  |
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
const (
	iphcTFShift  = 3
	iphcTFMask   = 0x18
	iphcNH       = 0x04
	iphcHLIMMask = 0x03
	iphcCID      = 0x80
	iphcSAC      = 0x40
	iphcSAMShift = 4
	iphcSAMMask  = 0x30
	iphcM        = 0x08
	iphcDAC      = 0x04
	iphcDAMMask  = 0x03
	iphcBaseLen  = 2
)

// Traffic class and flow label encodings (TF).
const (
	tfInline     = 0 // ECN+DSCP, 4 bits pad, flow label: 4 octets
	tfNoDSCP     = 1 // ECN, 2 bits pad, flow label: 3 octets
	tfNoFlow     = 2 // ECN+DSCP: 1 octet
	tfAllElided  = 3
	hlimInline   = 0
	samInline    = 0 // 128 bits, or :: with SAC=1
	sam64        = 1
	sam16        = 2
	samElided    = 3
	damMcast48   = 1
	damMcast32   = 2
	damMcast8    = 3
	damMcastFull = 0
)

// hopLimitFor maps HLIM 01/10/11 to 1/64/255 (RFC 6282 §3.1.1).
var hopLimitFor = [4]uint8{0, 1, 64, 255}

// LOWPAN_NHC identifiers (RFC 6282 §4.1–§4.3).
const (
	nhcUDPMask      = 0xf8
	nhcUDP          = 0xf0 // 11110CPP
	nhcUDPChecksum  = 0x04 // C: checksum elided
	nhcUDPPortsMask = 0x03
	nhcExtMask      = 0xf0
	nhcExt          = 0xe0 // 1110EEEN
	nhcExtNH        = 0x01
	nhcExtEIDShift  = 1
	nhcExtEIDMask   = 0x0e
	udpPort8Prefix  = 0xf000 // ports 0xF000–0xF0FF in 8 bits
	udpPort4Prefix  = 0xf0b0 // ports 0xF0B0–0xF0BF in 4 bits
)

// eidProto maps an extension-header EID (RFC 6282 §4.2) to the IPv6 next
// header value; -1 marks the reserved EIDs 5 and 6.
var eidProto = [8]int{ip6.ProtoHopByHop, ip6.ProtoRouting, ip6.ProtoFragment, ip6.ProtoDestOpts, ip6.ProtoMobility, -1, -1, ip6.ProtoIPv6}

const (
	eidHopByHop = 0
	eidRouting  = 1
	eidFragment = 2
	eidDestOpts = 3
	eidMobility = 4
	eidIPv6     = 7
	// fragment header content after Next Header and Reserved: offset/flags
	// and identification. RFC 6282 §4.2 carries it with Length 6.
	fragmentHeaderBody = 6
)

// Limits that bound the work and the output of one datagram whatever the
// input: at most this many extension headers and nested IPv6 headers.
const (
	maxExtHeaders = 8
	maxIPv6Nest   = 3
)

func protoEID(proto uint8) (int, bool) {
	switch proto {
	case ip6.ProtoHopByHop:
		return eidHopByHop, true
	case ip6.ProtoRouting:
		return eidRouting, true
	case ip6.ProtoFragment:
		return eidFragment, true
	case ip6.ProtoDestOpts:
		return eidDestOpts, true
	case ip6.ProtoMobility:
		return eidMobility, true
	case ip6.ProtoIPv6:
		return eidIPv6, true
	}
	return 0, false
}
