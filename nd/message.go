package nd

import (
	"encoding/binary"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// ICMPType is an ICMPv6 message type.
type ICMPType uint8

// The ND message types this package handles.
const (
	TypeRouterSolicit   ICMPType = 133 // RFC 4861 §4.1
	TypeRouterAdvert    ICMPType = 134 // RFC 4861 §4.2
	TypeNeighborSolicit ICMPType = 135 // RFC 4861 §4.3
	TypeNeighborAdvert  ICMPType = 136 // RFC 4861 §4.4
	TypeDAR             ICMPType = 157 // RFC 6775 §4.4, RFC 8505 §4.2
	TypeDAC             ICMPType = 158 // RFC 6775 §4.4, RFC 8505 §4.2
)

func (t ICMPType) String() string {
	switch t {
	case TypeRouterSolicit:
		return "RS"
	case TypeRouterAdvert:
		return "RA"
	case TypeNeighborSolicit:
		return "NS"
	case TypeNeighborAdvert:
		return "NA"
	case TypeDAR:
		return "DAR"
	case TypeDAC:
		return "DAC"
	}
	return "ICMPv6(" + itoa(int(t)) + ")"
}

// Status is the registration status of an (E)ARO, DAC or EDAC (RFC 6775
// §4.1 Table 1, RFC 8505 §4.1 Table 1).
type Status uint8

// Registration status values.
const (
	StatusSuccess                Status = 0
	StatusDuplicate              Status = 1
	StatusNeighborCacheFull      Status = 2
	StatusMoved                  Status = 3
	StatusRemoved                Status = 4
	StatusValidationRequested    Status = 5
	StatusDuplicateSource        Status = 6
	StatusInvalidSource          Status = 7
	StatusTopologicallyIncorrect Status = 8
	StatusRegistrySaturated      Status = 9
	StatusValidationFailed       Status = 10
)

var statusNames = [...]string{
	"success", "duplicate address", "neighbor cache full", "moved", "removed",
	"validation requested", "duplicate source address", "invalid source address",
	"registered address topologically incorrect", "6LBR registry saturated",
	"validation failed",
}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(" + itoa(int(s)) + ")"
}

const (
	protoICMPv6 = 58

	// Offsets of the options in each message, counted from the ICMPv6
	// header (RFC 4861 §4.1–§4.4).
	rsOptions = 8
	raOptions = 16
	nsOptions = 24 // NS and NA

	raFlagM = 0x80
	raFlagO = 0x40
	naFlagR = 0x80
	naFlagS = 0x40
	naFlagO = 0x20

	// DAR/DAC fields (RFC 6775 §4.4, RFC 8505 §4.2).
	daStatus   = 4
	daTID      = 5
	daLifetime = 6
	daROVR     = 8
)

// RouterAdvert is an ICMPv6 Router Advertisement, ICMPv6 header included
// (RFC 4861 §4.2, Prf from RFC 4191 §2.2).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Cur Hop Limit |M|O|H|Prf|P|R|R|       Router Lifetime         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Reachable Time                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Retrans Timer                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Options ...
type RouterAdvert []byte

// CurHopLimit returns the advertised hop limit.
func (b RouterAdvert) CurHopLimit() uint8 { return b[4] }

// Managed returns the M flag.
func (b RouterAdvert) Managed() bool { return b[5]&raFlagM != 0 }

// Other returns the O flag.
func (b RouterAdvert) Other() bool { return b[5]&raFlagO != 0 }

// Preference returns the default router preference.
func (b RouterAdvert) Preference() Preference { return Preference(b[5] >> 3 & 3) }

// RouterLifetime returns the router lifetime in seconds.
func (b RouterAdvert) RouterLifetime() uint16 { return binary.BigEndian.Uint16(b[6:]) }

// ReachableTime returns the reachable time in milliseconds.
func (b RouterAdvert) ReachableTime() uint32 { return binary.BigEndian.Uint32(b[8:]) }

// RetransTimer returns the retransmission timer in milliseconds.
func (b RouterAdvert) RetransTimer() uint32 { return binary.BigEndian.Uint32(b[12:]) }

// NeighborAdvert is an ICMPv6 Neighbor Advertisement, header included
// (RFC 4861 §4.4): flags R, S, O, 29 reserved bits, the target address,
// options.
type NeighborAdvert []byte

// Router returns the R flag.
func (b NeighborAdvert) Router() bool { return b[4]&naFlagR != 0 }

// Solicited returns the S flag.
func (b NeighborAdvert) Solicited() bool { return b[4]&naFlagS != 0 }

// Override returns the O flag.
func (b NeighborAdvert) Override() bool { return b[4]&naFlagO != 0 }

// DuplicateAddress is a Duplicate Address Request or Confirmation, header
// included, in the RFC 6775 §4.4 form (code 0) or the extended form of RFC
// 8505 §4.2 (EDAR/EDAC, code suffix 1–4).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |CodePfx|CodeSfx|          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Status     |     TID       |     Registration Lifetime     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Registration Ownership Verifier (ROVR) ...           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Registered Address (128 bits)                |
//
// In the RFC 6775 form the TID octet is Reserved and the ROVR is the
// 64-bit EUI-64.
type DuplicateAddress []byte

// CodeSuffix returns the low 4 bits of the code: 0 for the RFC 6775 form,
// else the ROVR size in units of 64 bits. The code prefix is ignored on
// receipt (RFC 8505 §4.2).
func (b DuplicateAddress) CodeSuffix() uint8 { return b[1] & 0x0f }

// Extended reports the RFC 8505 form (EDAR/EDAC): the TID is meaningful.
func (b DuplicateAddress) Extended() bool { return b.CodeSuffix() != 0 }

// Status returns the status (meaningful in a DAC).
func (b DuplicateAddress) Status() Status { return Status(b[daStatus]) }

// TID returns the transaction ID; meaningful only when Extended.
func (b DuplicateAddress) TID() uint8 { return b[daTID] }

// Lifetime returns the registration lifetime in units of 60 seconds.
func (b DuplicateAddress) Lifetime() uint16 { return binary.BigEndian.Uint16(b[daLifetime:]) }

func daROVRLen(suffix uint8) int {
	if suffix == 0 {
		return 8
	}
	return int(suffix) * 8
}

// ROVR returns the ROVR (the EUI-64 in the RFC 6775 form).
func (b DuplicateAddress) ROVR() []byte { return b[daROVR : daROVR+daROVRLen(b.CodeSuffix())] }

// Registered returns the registered address.
func (b DuplicateAddress) Registered() netip.Addr {
	off := daROVR + daROVRLen(b.CodeSuffix())
	return netip.AddrFrom16([16]byte(b[off : off+16]))
}

// Message is a validated ND message. Parse fills it in place without
// allocating; the slices are views into the packet given to Parse, valid as
// long as it is. Fields not used by the message's type are zero.
type Message struct {
	Src, Dst netip.Addr
	HopLimit uint8
	Type     ICMPType
	Code     uint8
	// Body is the whole ICMPv6 message, header included. Convert it to
	// RouterAdvert, NeighborAdvert or DuplicateAddress for their fields.
	Body []byte
	// Options is the options area (after the registered address for
	// DAR/DAC).
	Options Options
	// Target is the target address of an NS or NA.
	Target netip.Addr
	// SLLAO is the first Source Link-Layer Address option (RS, RA, NS),
	// TLLAO the first Target one (NA); nil when absent.
	SLLAO, TLLAO LinkAddrOption
	// ARO is the first (E)ARO of an NS or NA; nil when absent, and in an NS
	// from the unspecified address, where RFC 6775 §6.5 ignores it.
	ARO ARO
}

// DA returns the DAR/DAC view of the body; valid for TypeDAR and TypeDAC.
func (m *Message) DA() DuplicateAddress { return DuplicateAddress(m.Body) }

// RA returns the Router Advertisement view; valid for TypeRouterAdvert.
func (m *Message) RA() RouterAdvert { return RouterAdvert(m.Body) }

// NA returns the Neighbor Advertisement view; valid for TypeNeighborAdvert.
func (m *Message) NA() NeighborAdvert { return NeighborAdvert(m.Body) }

// Parse validates the IPv6 packet pkt as an ND message and fills m. The
// IPv6 header must be followed directly by ICMPv6 (no extension headers);
// octets beyond the IPv6 payload length are ignored. Errors wrap the
// package's sentinels. It does not allocate.
func Parse(pkt []byte, m *Message) error {
	h := ip6.Header(pkt)
	if len(pkt) < ip6.HeaderLen {
		return errShortIPv6
	}
	if !h.IsValid() {
		return errVersion
	}
	plen := int(h.PayloadLength())
	if plen == 0 {
		return errJumbo
	}
	if plen > len(h.Payload()) {
		return errPayloadLen
	}
	if h.NextHeader() != ip6.ProtoICMPv6 {
		return errNextHeader
	}
	return ParseICMP(h.Src(), h.Dst(), h.HopLimit(), h.Payload()[:plen], m)
}

// ParseICMP is Parse for a caller that has already taken the IPv6 header
// apart: icmp is the ICMPv6 message, src, dst and hopLimit come from the
// IPv6 header (the checksum covers them).
//
// Validation: RFC 4861 §6.1.1 (RS), §6.1.2 (RA), §7.1.1 (NS), §7.1.2 (NA):
// hop limit 255, code 0, the minimum ICMP length, options of non-zero
// length inside the message, the address rules; RFC 6775 §8.2.1 and RFC
// 8505 §4.2 for DAR/DAC (no hop-limit check, code suffix 0–4, registered
// address not multicast, source neither unspecified nor multicast); RFC
// 6775 §4.1/§6.5 and RFC 8505 §4.1 for an NS's (E)ARO (status 0, an SLLAO
// present, Length 2 unless T is set). Options a message type uses are
// checked against their own length rules; others only for their framing.
func ParseICMP(src, dst netip.Addr, hopLimit uint8, icmp []byte, m *Message) error {
	*m = Message{}
	if len(icmp) < 4 {
		return errShortICMP
	}
	typ := ICMPType(icmp[0])
	var minLen int
	switch typ {
	case TypeRouterSolicit:
		minLen = rsOptions
	case TypeRouterAdvert:
		minLen = raOptions
	case TypeNeighborSolicit, TypeNeighborAdvert:
		minLen = nsOptions
	case TypeDAR, TypeDAC:
		minLen = daROVR + 8 + 16
	default:
		return errICMPType
	}
	if !src.Is6() || !dst.Is6() {
		return errNotIPv6Addr
	}
	s16, d16 := src.As16(), dst.As16()
	if checksum.Finish(checksum.Sum(icmp, checksum.PseudoHeaderIPv6(s16[:], d16[:], protoICMPv6, uint32(len(icmp))))) != 0 {
		return errChecksum
	}
	isDA := typ == TypeDAR || typ == TypeDAC
	if !isDA && hopLimit != 255 {
		return errHopLimit
	}
	code := icmp[1]
	if isDA {
		if code&0x0f > 4 {
			return errCodeDA
		}
		minLen = daROVR + daROVRLen(code&0x0f) + 16
	} else if code != 0 {
		return errCodeNonZero
	}
	if len(icmp) < minLen {
		switch typ {
		case TypeRouterSolicit:
			return errShortRS
		case TypeRouterAdvert:
			return errShortRA
		case TypeNeighborSolicit:
			return errShortNS
		case TypeNeighborAdvert:
			return errShortNA
		}
		return errShortDA
	}
	m.Src, m.Dst, m.HopLimit, m.Type, m.Code = src, dst, hopLimit, typ, code
	m.Body = icmp
	m.Options = Options(icmp[minLen:])

	// Options: framing for all, contents for those this type uses.
	it := m.Options.Iter()
	for {
		o, done, err := it.Next()
		if err != nil {
			return err
		}
		if done {
			break
		}
		if !usesOption(typ, o.Type()) {
			continue
		}
		if err := checkOption(o); err != nil {
			return err
		}
		switch o.Type() {
		case OptSourceLinkAddr:
			if m.SLLAO == nil {
				m.SLLAO = LinkAddrOption(o)
			}
		case OptTargetLinkAddr:
			if m.TLLAO == nil {
				m.TLLAO = LinkAddrOption(o)
			}
		case OptARO:
			if m.ARO == nil {
				m.ARO = ARO(o)
			}
		}
	}

	unspecSrc := src.IsUnspecified()
	if src.IsMulticast() {
		// RFC 4291 §2.7: multicast addresses are never sources; an answer
		// would go back to a group.
		if typ == TypeDAR || typ == TypeDAC {
			return errDASource
		}
		return errSrcMulticast
	}
	switch typ {
	case TypeRouterSolicit:
		if unspecSrc && m.SLLAO != nil {
			return errUnspecSLLAO
		}
	case TypeRouterAdvert:
		if !src.IsLinkLocalUnicast() {
			return errRASource
		}
	case TypeNeighborSolicit, TypeNeighborAdvert:
		m.Target = netip.AddrFrom16([16]byte(icmp[8:24]))
		if m.Target.IsMulticast() {
			return errTargetMcast
		}
		if typ == TypeNeighborAdvert {
			if dst.IsMulticast() && icmp[4]&naFlagS != 0 {
				return errNASolicited
			}
			break
		}
		if unspecSrc {
			if !isSolicitedNode(d16) {
				return errUnspecDst
			}
			if m.SLLAO != nil {
				return errUnspecSLLAO
			}
			m.ARO = nil // RFC 6775 §6.5: the ARO of an NS from :: is ignored
			break
		}
		if m.ARO != nil {
			if m.ARO.Status() != StatusSuccess {
				return errAROStatus
			}
			if !m.ARO.T() && len(m.ARO) != 16 {
				return errAROLegacyLen
			}
			if m.SLLAO == nil {
				return errARONoSLLAO
			}
		}
	case TypeDAR, TypeDAC:
		if unspecSrc || src.IsMulticast() {
			return errDASource
		}
		if DuplicateAddress(icmp).Registered().IsMulticast() {
			return errDAAddress
		}
	}
	return nil
}

// usesOption reports whether the message type defines a use for the option
// (RFC 4861 §6.1, §7.1: the others are ignored), with RFC 4191, RFC 6775
// and RFC 8505 additions.
func usesOption(t ICMPType, o OptionType) bool {
	switch t {
	case TypeRouterSolicit:
		return o == OptSourceLinkAddr
	case TypeRouterAdvert:
		switch o {
		case OptSourceLinkAddr, OptPrefixInfo, OptMTU, OptRouteInfo, Opt6CO, OptABRO:
			return true
		}
	case TypeNeighborSolicit:
		return o == OptSourceLinkAddr || o == OptARO
	case TypeNeighborAdvert:
		return o == OptTargetLinkAddr || o == OptARO
	}
	return false
}

// isSolicitedNode reports whether a is in ff02::1:ff00:0/104 (RFC 4291
// §2.7.1).
func isSolicitedNode(a [16]byte) bool {
	return a[0] == 0xff && a[1] == 0x02 && a[2]|a[3]|a[4]|a[5]|a[6]|a[7]|a[8]|a[9]|a[10] == 0 &&
		a[11] == 1 && a[12] == 0xff
}
