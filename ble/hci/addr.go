package hci

import "fmt"

// BDAddr is a Bluetooth device address (BD_ADDR) as HCI carries it: six
// octets, least significant first (Core v5.4 Vol 4 Part E §5.2: parameters
// are little endian). BDAddr{0x55, 0x44, 0x33, 0x22, 0x11, 0xC0} is the
// device written C0:11:22:33:44:55. For LE, Vol 6 Part B §1.3 splits
// addresses into public and random ones; AddrType says which.
type BDAddr [6]byte

// String writes the address most significant octet first, upper-case hex
// separated by colons, as Bluetooth tools do: "C0:11:22:33:44:55".
func (a BDAddr) String() string {
	const upper = "0123456789ABCDEF"
	var s [17]byte
	for i := range 6 {
		o := a[5-i]
		s[3*i], s[3*i+1] = upper[o>>4], upper[o&0xF]
		if i < 5 {
			s[3*i+2] = ':'
		}
	}
	return string(s[:])
}

// ParseBDAddr parses the String form (either case): six two-digit hex
// octets, most significant first, separated by colons.
func ParseBDAddr(s string) (BDAddr, error) {
	var a BDAddr
	if len(s) != 17 {
		return a, fmt.Errorf("hci: BD_ADDR %q: want 17 characters like C0:11:22:33:44:55: %w", s, ErrMalformed)
	}
	for i := range 6 {
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 || (i < 5 && s[3*i+2] != ':') {
			return BDAddr{}, fmt.Errorf("hci: BD_ADDR %q: want hex octets separated by colons: %w", s, ErrMalformed)
		}
		a[5-i] = hi<<4 | lo
	}
	return a, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// AddrType says what kind of LE address a BDAddr is: the Peer_Address_Type,
// Own_Address_Type and Address_Type parameters (Vol 4 Part E §7.8.5,
// §7.8.12, §7.7.65.2, §7.7.65.10).
type AddrType uint8

// Address types. As a peer address type in LE Enhanced Connection Complete
// and in advertising reports, 2 and 3 are identity addresses the controller
// resolved from a resolvable private address. As an Own_Address_Type they
// ask the controller for a resolvable private address, falling back to the
// public (2) or random (3) address when its resolving list has none.
const (
	AddrPublic         AddrType = 0x00
	AddrRandom         AddrType = 0x01
	AddrPublicIdentity AddrType = 0x02
	AddrRandomIdentity AddrType = 0x03
)

func (t AddrType) String() string {
	switch t {
	case AddrPublic:
		return "public"
	case AddrRandom:
		return "random"
	case AddrPublicIdentity:
		return "public identity"
	case AddrRandomIdentity:
		return "random identity"
	}
	return "address type 0x" + hex2(uint8(t))
}
