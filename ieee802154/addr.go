package ieee802154

import (
	"encoding/hex"
	"fmt"
)

// ExtAddr is an extended (EUI-64) address in canonical order: the octet
// written first in 02:12:34:56:78:ab:cd:ef is ExtAddr[0]. On the air the
// octets go in reverse (2015 §7.2.4: multi-octet fields are little-endian);
// Encode and Decode convert at the edge.
type ExtAddr [8]byte

// String formats a as colon-separated lowercase hex, "02:12:34:56:78:ab:cd:ef".
func (a ExtAddr) String() string {
	const hexDigits = "0123456789abcdef"
	var s [8*3 - 1]byte
	for i, c := range a {
		if i > 0 {
			s[i*3-1] = ':'
		}
		s[i*3] = hexDigits[c>>4]
		s[i*3+1] = hexDigits[c&0x0f]
	}
	return string(s[:])
}

// ParseExtAddr parses an extended address written as eight colon-separated
// hex octets ("02:12:34:56:78:ab:cd:ef") or as 16 hex digits
// ("0212345678abcdef"), in canonical order.
func ParseExtAddr(s string) (ExtAddr, error) {
	var a ExtAddr
	switch len(s) {
	case 16:
		if _, err := hex.Decode(a[:], []byte(s)); err != nil {
			return ExtAddr{}, fmt.Errorf("ieee802154: extended address %q: %w", s, ErrInvalid)
		}
		return a, nil
	case 8*3 - 1:
		for i := range a {
			if i > 0 && s[i*3-1] != ':' {
				return ExtAddr{}, fmt.Errorf("ieee802154: extended address %q: %w", s, ErrInvalid)
			}
			if _, err := hex.Decode(a[i:i+1], []byte(s[i*3:i*3+2])); err != nil {
				return ExtAddr{}, fmt.Errorf("ieee802154: extended address %q: %w", s, ErrInvalid)
			}
		}
		return a, nil
	}
	return ExtAddr{}, fmt.Errorf("ieee802154: extended address %q: want 8 colon-separated octets or 16 hex digits: %w", s, ErrInvalid)
}
