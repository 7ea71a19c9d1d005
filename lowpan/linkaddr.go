package lowpan

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

// LinkAddrKind says which link layer an address belongs to; it decides how an
// interface identifier is derived from it.
type LinkAddrKind uint8

const (
	// LinkAddrNone is an absent address (e.g. an 802.15.4 frame without a
	// source address). No IID can be derived from it.
	LinkAddrNone LinkAddrKind = iota
	// LinkAddrShort is an IEEE 802.15.4 16-bit short address.
	LinkAddrShort
	// LinkAddrExtended is an IEEE 802.15.4 64-bit extended address (EUI-64).
	LinkAddrExtended
	// LinkAddrBLE is a 48-bit Bluetooth device address (RFC 7668).
	LinkAddrBLE
	// linkAddrIID stands for an encapsulating IPv6 header's address: an
	// inner IPHC header takes elided IIDs from the outer header's addresses,
	// not from the link layer (RFC 6282 §3.2.2).
	linkAddrIID
)

// LinkAddr is a link-layer address of any kind this package knows. It is a
// comparable value, so it can be used as a map key. Bytes are kept in
// canonical order (as printed: EUI-64 and BD_ADDR most significant byte
// first), never in over-the-air order.
type LinkAddr struct {
	kind LinkAddrKind
	b    [8]byte
}

// ShortLinkAddr returns the link address for an 802.15.4 short address.
func ShortLinkAddr(short uint16) LinkAddr {
	var a LinkAddr
	a.kind = LinkAddrShort
	binary.BigEndian.PutUint16(a.b[:2], short)
	return a
}

// ExtendedLinkAddr returns the link address for an EUI-64 in canonical order.
func ExtendedLinkAddr(eui [8]byte) LinkAddr {
	return LinkAddr{kind: LinkAddrExtended, b: eui}
}

// BLELinkAddr returns the link address for a 48-bit Bluetooth device address
// in canonical order (the order it is printed in, 00:1a:7d:...).
func BLELinkAddr(bd [6]byte) LinkAddr {
	var a LinkAddr
	a.kind = LinkAddrBLE
	copy(a.b[:6], bd[:])
	return a
}

// iidLinkAddr returns the derivation source for an IPHC header
// encapsulated in another IPv6 header whose address has this IID.
func iidLinkAddr(iid []byte) LinkAddr {
	a := LinkAddr{kind: linkAddrIID}
	copy(a.b[:], iid[:8])
	return a
}

// Kind reports the kind of address.
func (a LinkAddr) Kind() LinkAddrKind { return a.kind }

// Short returns the 16-bit short address; valid for LinkAddrShort.
func (a LinkAddr) Short() uint16 { return binary.BigEndian.Uint16(a.b[:2]) }

// Extended returns the EUI-64; valid for LinkAddrExtended.
func (a LinkAddr) Extended() [8]byte { return a.b }

// BLE returns the 48-bit device address; valid for LinkAddrBLE.
func (a LinkAddr) BLE() [6]byte {
	var bd [6]byte
	copy(bd[:], a.b[:6])
	return bd
}

// IID returns the 64-bit interface identifier derived from the address and
// whether there is one.
//
//   - Extended (RFC 4944 §6, RFC 6282 §3.2.2): the EUI-64 with the
//     universal/local bit inverted.
//   - Short (RFC 6282 §3.2.2): 0000:00ff:fe00:XXXX. RFC 4944 §6 put the PAN
//     ID in the upper 16 bits; IPHC fixed them to zero.
//   - BLE (RFC 7668 §3.2.2): the 48-bit address with 0xFFFE inserted in the
//     middle and every bit copied as is: unlike EUI-64 and RFC 2464, the
//     universal/local bit is not touched, since a Bluetooth device address
//     (public or random) has none. Linux before 4.12 flipped it; that was a
//     bug, not the standard.
func (a LinkAddr) IID() (iid [8]byte, ok bool) {
	switch a.kind {
	case LinkAddrExtended:
		iid = a.b
		iid[0] ^= 0x02
		return iid, true
	case linkAddrIID:
		return a.b, true
	case LinkAddrShort:
		iid = [8]byte{0, 0, 0, 0xff, 0xfe, 0, a.b[0], a.b[1]}
		return iid, true
	case LinkAddrBLE:
		iid = [8]byte{a.b[0], a.b[1], a.b[2], 0xff, 0xfe, a.b[3], a.b[4], a.b[5]}
		return iid, true
	}
	return iid, false
}

// LinkLocal is the link-local address fe80::/64 with a's IID (RFC 4944 §7,
// RFC 7668 §3.2.2); ok is false when a has no IID.
func (a LinkAddr) LinkLocal() (addr netip.Addr, ok bool) {
	iid, ok := a.IID()
	if !ok {
		return netip.Addr{}, false
	}
	return LinkLocalFromIID(iid), true
}

// LinkLocalFromIID is the link-local address fe80::/64 with iid.
func LinkLocalFromIID(iid [8]byte) netip.Addr {
	b := [16]byte{0: 0xfe, 1: 0x80}
	copy(b[8:], iid[:])
	return netip.AddrFrom16(b)
}

// String formats the address in its usual notation.
func (a LinkAddr) String() string {
	switch a.kind {
	case LinkAddrShort:
		return fmt.Sprintf("0x%04x", a.Short())
	case LinkAddrExtended:
		b := a.b
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7])
	case LinkAddrBLE:
		b := a.b
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
	case linkAddrIID:
		return fmt.Sprintf("iid:%x", a.b)
	}
	return "none"
}

// MACLinkAddr returns the link address of an 802.15.4 MAC address (none
// for AddrNone).
func MACLinkAddr(a ieee802154.Address) LinkAddr {
	switch a.Mode {
	case ieee802154.AddrShort:
		return ShortLinkAddr(uint16(a.Short))
	case ieee802154.AddrExtended:
		return ExtendedLinkAddr(a.Ext)
	}
	return LinkAddr{}
}

// MAC returns the 802.15.4 MAC address of a short or extended link
// address, and false for other kinds.
func (a LinkAddr) MAC() (ieee802154.Address, bool) {
	switch a.kind {
	case LinkAddrShort:
		return ieee802154.ShortAddress(ieee802154.ShortAddr(a.Short())), true
	case LinkAddrExtended:
		return ieee802154.ExtAddress(ieee802154.ExtAddr(a.b)), true
	}
	return ieee802154.Address{}, false
}
