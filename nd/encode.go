package nd

import (
	"encoding/binary"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// OptionSerializer writes one option. Len is its length in octets, a
// multiple of 8; Serialize writes exactly Len octets at the start of b.
type OptionSerializer interface {
	Len() int
	Serialize(b []byte)
}

// MessageSerializer writes the fixed part of an ICMPv6 ND message. Len
// counts the ICMPv6 header (type, code, checksum) and the fixed fields,
// not the options; Serialize fills b[4:Len()] (AppendIPv6 writes the
// header and the checksum).
type MessageSerializer interface {
	Type() ICMPType
	Code() uint8
	Len() int
	Serialize(b []byte)
}

// validator is implemented by serializers whose fields can be out of range.
type validator interface{ validate() error }

// --- Options ---

// SourceLinkAddr writes a Source Link-Layer Address option, TargetLinkAddr a
// Target one, in the RFC 4944 §8 forms (EUI-64: Length 2; short address:
// Length 1, zero padded) or the RFC 7668 form for a 48-bit Bluetooth
// address (Length 1). An address of kind none writes nothing (Len 0).
type SourceLinkAddr struct{ Addr lowpan.LinkAddr }

// TargetLinkAddr: see SourceLinkAddr.
type TargetLinkAddr struct{ Addr lowpan.LinkAddr }

func linkAddrLen(a lowpan.LinkAddr) int {
	switch a.Kind() {
	case lowpan.LinkAddrExtended:
		return 16
	case lowpan.LinkAddrShort, lowpan.LinkAddrBLE:
		return 8
	}
	return 0
}

func serializeLinkAddr(b []byte, t OptionType, a lowpan.LinkAddr) {
	n := linkAddrLen(a)
	if n == 0 {
		return
	}
	clear(b[:n])
	b[0], b[1] = byte(t), byte(n/optionUnit)
	switch a.Kind() {
	case lowpan.LinkAddrExtended:
		e := a.Extended()
		copy(b[2:], e[:])
	case lowpan.LinkAddrShort:
		binary.BigEndian.PutUint16(b[2:], a.Short())
	case lowpan.LinkAddrBLE:
		bd := a.BLE()
		copy(b[2:], bd[:])
	}
}

func (o SourceLinkAddr) Len() int           { return linkAddrLen(o.Addr) }
func (o SourceLinkAddr) Serialize(b []byte) { serializeLinkAddr(b, OptSourceLinkAddr, o.Addr) }
func (o TargetLinkAddr) Len() int           { return linkAddrLen(o.Addr) }
func (o TargetLinkAddr) Serialize(b []byte) { serializeLinkAddr(b, OptTargetLinkAddr, o.Addr) }

// PrefixInfoFields writes a Prefix Information Option (RFC 4861 §4.6.2).
// Lifetimes are in seconds; 0xffffffff is infinity.
type PrefixInfoFields struct {
	Prefix            netip.Prefix
	OnLink            bool
	Autonomous        bool
	ValidLifetime     uint32
	PreferredLifetime uint32
}

func (o PrefixInfoFields) Len() int { return pioLen }

func (o PrefixInfoFields) validate() error {
	if !o.Prefix.IsValid() || !o.Prefix.Addr().Is6() {
		return errEncodePrefix
	}
	return nil
}

func (o PrefixInfoFields) Serialize(b []byte) {
	clear(b[:pioLen])
	b[0], b[1], b[2] = byte(OptPrefixInfo), pioLen/optionUnit, byte(o.Prefix.Bits())
	if o.OnLink {
		b[3] |= pioFlagL
	}
	if o.Autonomous {
		b[3] |= pioFlagA
	}
	binary.BigEndian.PutUint32(b[pioValid:], o.ValidLifetime)
	binary.BigEndian.PutUint32(b[pioPreferred:], o.PreferredLifetime)
	a := o.Prefix.Masked().Addr().As16()
	copy(b[pioPrefix:], a[:])
}

// MTUFields writes an MTU option (RFC 4861 §4.6.4).
type MTUFields struct{ MTU uint32 }

func (o MTUFields) Len() int { return 8 }
func (o MTUFields) Serialize(b []byte) {
	clear(b[:8])
	b[0], b[1] = byte(OptMTU), 1
	binary.BigEndian.PutUint32(b[4:], o.MTU)
}

// RouteInfoFields writes a Route Information Option (RFC 4191 §2.3) in its
// shortest form: Length 1 for ::/0, 2 up to /64, 3 beyond.
type RouteInfoFields struct {
	Prefix     netip.Prefix
	Preference Preference
	Lifetime   uint32 // seconds; 0xffffffff is infinity
}

func (o RouteInfoFields) validate() error {
	if !o.Prefix.IsValid() || !o.Prefix.Addr().Is6() {
		return errEncodePrefix
	}
	return nil
}

func (o RouteInfoFields) Len() int {
	switch bits := o.Prefix.Bits(); {
	case bits > 64:
		return 24
	case bits > 0:
		return 16
	}
	return 8
}

func (o RouteInfoFields) Serialize(b []byte) {
	n := o.Len()
	clear(b[:n])
	b[0], b[1], b[2] = byte(OptRouteInfo), byte(n/optionUnit), byte(o.Prefix.Bits())
	b[3] = byte(o.Preference&3) << 3
	binary.BigEndian.PutUint32(b[4:], o.Lifetime)
	a := o.Prefix.Masked().Addr().As16()
	copy(b[8:n], a[:])
}

// AROFields writes an ARO (RFC 6775 §4.1) or, with T set, an EARO (RFC
// 8505 §4.1). ROVR is 8, 16, 24 or 32 octets; Lifetime is in units of 60
// seconds.
type AROFields struct {
	Status   Status
	Opaque   uint8
	I        uint8
	R        bool
	T        bool
	TID      uint8
	Lifetime uint16
	ROVR     []byte
}

func validROVRLen(n int) bool { return n == 8 || n == 16 || n == 24 || n == 32 }

func (o AROFields) validate() error {
	if !validROVRLen(len(o.ROVR)) {
		return errEncodeROVR
	}
	return nil
}

func (o AROFields) Len() int { return aroROVR + len(o.ROVR) }

func (o AROFields) Serialize(b []byte) {
	n := o.Len()
	b[0], b[1], b[aroStatus], b[aroOpaque] = byte(OptARO), byte(n/optionUnit), byte(o.Status), o.Opaque
	b[aroFlags] = (o.I & aroIMask) << aroIShift
	if o.R {
		b[aroFlags] |= aroFlagR
	}
	b[aroTID] = 0
	if o.T {
		b[aroFlags] |= aroFlagT
		b[aroTID] = o.TID
	}
	binary.BigEndian.PutUint16(b[aroLifetime:], o.Lifetime)
	copy(b[aroROVR:n], o.ROVR)
}

// ContextFields writes a 6LoWPAN Context Option (RFC 6775 §4.2), Length 2
// for a context of up to 64 bits and 3 beyond, or 3 always with
// FullPrefix (the RFC allows either up to 64 bits). ValidLifetime is in
// units of 60 seconds.
type ContextFields struct {
	CID           uint8
	Prefix        netip.Prefix
	Compress      bool
	ValidLifetime uint16
	FullPrefix    bool
}

func (o ContextFields) validate() error {
	if !o.Prefix.IsValid() || !o.Prefix.Addr().Is6() {
		return errEncodePrefix
	}
	if o.CID > ctxCIDMask {
		return errEncodeCID
	}
	return nil
}

func (o ContextFields) Len() int {
	if o.FullPrefix || o.Prefix.Bits() > 64 {
		return 24
	}
	return 16
}

func (o ContextFields) Serialize(b []byte) {
	n := o.Len()
	clear(b[:n])
	b[0], b[1], b[2] = byte(Opt6CO), byte(n/optionUnit), byte(o.Prefix.Bits())
	b[3] = o.CID & ctxCIDMask
	if o.Compress {
		b[3] |= ctxFlagC
	}
	binary.BigEndian.PutUint16(b[6:], o.ValidLifetime)
	a := o.Prefix.Masked().Addr().As16()
	copy(b[8:n], a[:])
}

// ABROFields writes an Authoritative Border Router Option (RFC 6775 §4.3).
// ValidLifetime is in units of 60 seconds.
type ABROFields struct {
	Version       uint32
	ValidLifetime uint16
	Addr          netip.Addr
}

func (o ABROFields) validate() error {
	if !o.Addr.Is6() {
		return errEncodeAddr
	}
	return nil
}

func (o ABROFields) Len() int { return abroLen }

func (o ABROFields) Serialize(b []byte) {
	b[0], b[1] = byte(OptABRO), abroLen/optionUnit
	binary.BigEndian.PutUint16(b[2:], uint16(o.Version))
	binary.BigEndian.PutUint16(b[4:], uint16(o.Version>>16))
	binary.BigEndian.PutUint16(b[6:], o.ValidLifetime)
	a := o.Addr.As16()
	copy(b[8:], a[:])
}

// CapabilityFields writes a 6LoWPAN Capability Indication Option (RFC 7400
// §3.3, RFC 8505 §4.3) with the given Cap… flags.
type CapabilityFields struct{ Flags uint16 }

func (o CapabilityFields) Len() int { return 8 }
func (o CapabilityFields) Serialize(b []byte) {
	clear(b[:8])
	b[0], b[1] = byte(Opt6CIO), 1
	binary.BigEndian.PutUint16(b[2:], o.Flags)
}

// --- Messages ---

// RSFields writes a Router Solicitation (RFC 4861 §4.1).
type RSFields struct{}

func (RSFields) Type() ICMPType { return TypeRouterSolicit }
func (RSFields) Code() uint8    { return 0 }
func (RSFields) Len() int       { return rsOptions }
func (RSFields) Serialize(b []byte) {
	clear(b[4:rsOptions])
}

// RAFields writes a Router Advertisement (RFC 4861 §4.2, Prf from RFC 4191
// §2.2). RouterLifetime is in seconds; ReachableTime and RetransTimer in
// milliseconds.
type RAFields struct {
	CurHopLimit    uint8
	Managed        bool
	Other          bool
	Preference     Preference
	RouterLifetime uint16
	ReachableTime  uint32
	RetransTimer   uint32
}

func (RAFields) Type() ICMPType { return TypeRouterAdvert }
func (RAFields) Code() uint8    { return 0 }
func (RAFields) Len() int       { return raOptions }
func (f RAFields) Serialize(b []byte) {
	b[4] = f.CurHopLimit
	b[5] = byte(f.Preference&3) << 3
	if f.Managed {
		b[5] |= raFlagM
	}
	if f.Other {
		b[5] |= raFlagO
	}
	binary.BigEndian.PutUint16(b[6:], f.RouterLifetime)
	binary.BigEndian.PutUint32(b[8:], f.ReachableTime)
	binary.BigEndian.PutUint32(b[12:], f.RetransTimer)
}

// NSFields writes a Neighbor Solicitation (RFC 4861 §4.3).
type NSFields struct{ Target netip.Addr }

func (NSFields) Type() ICMPType { return TypeNeighborSolicit }
func (NSFields) Code() uint8    { return 0 }
func (NSFields) Len() int       { return nsOptions }
func (f NSFields) validate() error {
	if !f.Target.Is6() {
		return errEncodeAddr
	}
	return nil
}
func (f NSFields) Serialize(b []byte) {
	clear(b[4:8])
	a := f.Target.As16()
	copy(b[8:], a[:])
}

// NAFields writes a Neighbor Advertisement (RFC 4861 §4.4).
type NAFields struct {
	Router    bool
	Solicited bool
	Override  bool
	Target    netip.Addr
}

func (NAFields) Type() ICMPType { return TypeNeighborAdvert }
func (NAFields) Code() uint8    { return 0 }
func (NAFields) Len() int       { return nsOptions }
func (f NAFields) validate() error {
	if !f.Target.Is6() {
		return errEncodeAddr
	}
	return nil
}
func (f NAFields) Serialize(b []byte) {
	clear(b[4:8])
	if f.Router {
		b[4] |= naFlagR
	}
	if f.Solicited {
		b[4] |= naFlagS
	}
	if f.Override {
		b[4] |= naFlagO
	}
	a := f.Target.As16()
	copy(b[8:], a[:])
}

// DAFields writes a Duplicate Address Request or Confirmation (RFC 6775
// §4.4), or with Extended their RFC 8505 §4.2 forms (EDAR, EDAC): the
// code suffix then gives the ROVR size (1–4 for 64–256 bits) and the
// octet after Status is the TID. Without Extended the code is 0, the octet
// is reserved (zero) and the ROVR is the 64-bit EUI-64. Lifetime is in
// units of 60 seconds.
type DAFields struct {
	Confirmation bool // DAC (158) rather than DAR (157)
	Extended     bool
	Status       Status
	TID          uint8
	Lifetime     uint16
	ROVR         []byte
	Registered   netip.Addr
}

func (f DAFields) Type() ICMPType {
	if f.Confirmation {
		return TypeDAC
	}
	return TypeDAR
}

func (f DAFields) Code() uint8 {
	if !f.Extended {
		return 0
	}
	return uint8(len(f.ROVR) / 8)
}

func (f DAFields) Len() int { return daROVR + len(f.ROVR) + 16 }

func (f DAFields) validate() error {
	if !validROVRLen(len(f.ROVR)) {
		return errEncodeROVR
	}
	if !f.Extended && len(f.ROVR) != 8 {
		return errEncodeLegacy
	}
	if !f.Registered.Is6() {
		return errEncodeAddr
	}
	return nil
}

func (f DAFields) Serialize(b []byte) {
	b[daStatus] = byte(f.Status)
	b[daTID] = 0
	if f.Extended {
		b[daTID] = f.TID
	}
	binary.BigEndian.PutUint16(b[daLifetime:], f.Lifetime)
	copy(b[daROVR:], f.ROVR)
	a := f.Registered.As16()
	copy(b[daROVR+len(f.ROVR):], a[:])
}

// --- Packets ---

// IPv6HeaderLen is the length of the fixed IPv6 header.
const IPv6HeaderLen = ip6.HeaderLen

// MessageLen returns the ICMPv6 length (fixed part and options) of m.
func MessageLen(m MessageSerializer, opts ...OptionSerializer) int {
	n := m.Len()
	for _, o := range opts {
		n += o.Len()
	}
	return n
}

// AppendIPv6 appends to b a whole IPv6 packet carrying the ND message m
// with opts in the given order: the IPv6 header (traffic class and flow
// label 0, next header 58, hopLimit), the ICMPv6 message and its checksum
// over the pseudo-header (RFC 4443 §2.3). ND proper wants hopLimit 255;
// DAR/DAC MULTIHOP_HOPLIMIT (64, RFC 6775 §9). Given enough capacity in b
// the only allocations are the serializers escaping into their interfaces;
// ND replies are not on a per-packet path.
func AppendIPv6(b []byte, src, dst netip.Addr, hopLimit uint8, m MessageSerializer, opts ...OptionSerializer) ([]byte, error) {
	if !src.Is6() || !dst.Is6() || src.Zone() != "" || dst.Zone() != "" {
		return b, errEncodeAddr
	}
	if v, ok := m.(validator); ok {
		if err := v.validate(); err != nil {
			return b, err
		}
	}
	for _, o := range opts {
		if v, ok := o.(validator); ok {
			if err := v.validate(); err != nil {
				return b, err
			}
		}
	}
	n := MessageLen(m, opts...)
	if n > 0xffff {
		return b, errEncodeTooLong
	}
	start := len(b)
	b = grow(b, IPv6HeaderLen+n)
	p := ip6.Header(b[start:])
	p.Encode(&ip6.Fields{PayloadLength: uint16(n), NextHeader: ip6.ProtoICMPv6, HopLimit: hopLimit, Src: src, Dst: dst})
	icmp := p.Payload()
	icmp[0], icmp[1], icmp[2], icmp[3] = byte(m.Type()), m.Code(), 0, 0
	m.Serialize(icmp[:m.Len()])
	off := m.Len()
	for _, o := range opts {
		o.Serialize(icmp[off : off+o.Len()])
		off += o.Len()
	}
	c := checksum.Finish(checksum.Sum(icmp, checksum.PseudoHeaderIPv6(p.SrcBytes(), p.DstBytes(), ip6.ProtoICMPv6, uint32(n))))
	binary.BigEndian.PutUint16(icmp[2:], c)
	return b, nil
}

// grow extends b by n octets, reallocating only when its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*len(b)+n)
	copy(nb, b)
	return nb
}
