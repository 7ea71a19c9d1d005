package rpl

import (
	"errors"
	"fmt"
)

// Sentinel errors: callers branch on these with errors.Is; the wrapped
// errors below say which rule was broken.
var (
	// ErrTruncated: a message, option or header is shorter than its fixed
	// part or than its length fields say.
	ErrTruncated = errors.New("rpl: truncated")
	// ErrMalformed: a field holds a value its RFC forbids.
	ErrMalformed = errors.New("rpl: malformed")
	// ErrNotRPL: not an ICMPv6 RPL control message (type 155), or a
	// routing header that is not RFC 6554's type 3.
	ErrNotRPL = errors.New("rpl: not a RPL message")
	// ErrUnknownCode: an ICMPv6 type 155 code this package does not know
	// (RFC 6550 §6: P2P-RPL codes, future codes).
	ErrUnknownCode = errors.New("rpl: unknown RPL control code")
	// ErrSecure: a secure RPL message (RFC 6550 §6.1, codes 0x80–0x83 and
	// the Consistency Check 0x8A). Secure RPL is not implemented; such
	// messages are recognised and refused.
	ErrSecure = errors.New("rpl: secure RPL messages (RFC 6550 §6.1) are not implemented")
	// ErrOption: an option with a bad length or bad contents.
	ErrOption = errors.New("rpl: bad option")
	// ErrRoute: a source route the RFC 6554 §4.1/§4.2 rules forbid
	// (multicast, an address twice, Segments Left beyond the addresses).
	ErrRoute = errors.New("rpl: bad source route")
	// ErrEncode: the values handed to an encoder cannot be encoded.
	ErrEncode = errors.New("rpl: cannot encode")
)

var (
	errOptOverrun   = fmt.Errorf("rpl: RFC 6550 §6.7.1: option runs past the end of the message: %w", ErrTruncated)
	errBaseShort    = fmt.Errorf("rpl: RFC 6550 §6.2–§6.5: message shorter than its base: %w", ErrTruncated)
	errDODAGIDShort = fmt.Errorf("rpl: RFC 6550 §6.4/§6.5: D flag set but no DODAGID: %w", ErrTruncated)
)

// optionError says which option broke which rule.
func optionError(t OptionType, rule string) error {
	return fmt.Errorf("rpl: %s option: %s: %w", t, rule, ErrOption)
}

var (
	errEncodeLong   = fmt.Errorf("rpl: option body longer than 255 octets: %w", ErrEncode)
	errEncodePrefix = fmt.Errorf("rpl: not an IPv6 prefix, or preference above 3: %w", ErrEncode)
	errEncodePCS    = fmt.Errorf("rpl: RFC 6550 §6.7.6: PCS above 7: %w", ErrEncode)
	errEncodeROVR   = fmt.Errorf("rpl: RFC 9010 §6.1: ROVR not 8, 16, 24 or 32 octets, or flags other than F and X: %w", ErrEncode)
	errEncodeAddr   = fmt.Errorf("rpl: not an IPv6 address: %w", ErrEncode)
)

var errEncodeDIO = fmt.Errorf("rpl: RFC 6550 §6.3.1: MOP or Prf above 7, or DODAGID not IPv6: %w", ErrEncode)

var errEncodeRPIType = fmt.Errorf("rpl: RPL Option type must be 0x63 (RFC 6553) or 0x23 (RFC 9008): %w", ErrEncode)

var (
	errRouteMulticast = fmt.Errorf("rpl: RFC 6554 §4.2: multicast address in a source route: %w", ErrRoute)
	errRouteTwice     = fmt.Errorf("rpl: RFC 6554 §4.1: an address appears twice in a source route: %w", ErrRoute)
	errEncodeNoHops   = fmt.Errorf("rpl: a source route needs an IPv6 destination and at least one address: %w", ErrEncode)
	errEncodeTooLong  = fmt.Errorf("rpl: RFC 6554 §3: source route longer than 2048 octets or 255 addresses: %w", ErrEncode)
)

var errRouteCompress = fmt.Errorf("rpl: RFC 6554 §4.2: the destination does not share the elided octets with the next address: %w", ErrRoute)
