package nd

import (
	"errors"
	"fmt"
)

// Sentinel errors. Parse and the encoders wrap them with the context of the
// failure; callers branch (and count drops by reason) with errors.Is or
// DropReason.
var (
	// ErrTruncated: the packet ends before a field or length it announces.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: the IPv6 header itself is not acceptable (version,
	// payload length).
	ErrMalformed = errors.New("malformed IPv6 header")
	// ErrNotND: valid IPv6, but not an ICMPv6 message of a type this
	// package handles (RS, RA, NS, NA, DAR, DAC).
	ErrNotND = errors.New("not a neighbor discovery message")
	// ErrChecksum: the ICMPv6 checksum over the pseudo-header is wrong.
	ErrChecksum = errors.New("bad ICMPv6 checksum")
	// ErrHopLimit: an RS, RA, NS or NA with a hop limit other than 255 (RFC
	// 4861 §6.1, §7.1): it may have been forwarded.
	ErrHopLimit = errors.New("hop limit is not 255")
	// ErrCode: an ICMP code the message type does not allow.
	ErrCode = errors.New("bad ICMP code")
	// ErrTooShort: the ICMP length is below the minimum of the message type.
	ErrTooShort = errors.New("ICMP message too short")
	// ErrOption: an option of length zero, one running past the message,
	// or a known option whose fields contradict its length.
	ErrOption = errors.New("bad option")
	// ErrAddress: an address rule of the message is broken (multicast
	// target, RA from a non-link-local source, SLLAO from ::, ...).
	ErrAddress = errors.New("bad address")
	// ErrARO: an NS breaks a rule of the (E)ARO: status not zero, no SLLAO,
	// an RFC 6775 ARO whose length is not 2 (RFC 6775 §6.5, RFC 8505 §4.1).
	ErrARO = errors.New("bad address registration option")
	// ErrEncode: an encoder was given fields it cannot put on the wire.
	ErrEncode = errors.New("cannot encode")
	// ErrCorruptState: the state file exists but cannot be understood.
	ErrCorruptState = errors.New("corrupt state file")
)

// DropReason names the sentinel err wraps, for a drop counter's label:
// "truncated", "malformed", "not_nd", "checksum", "hop_limit", "code",
// "too_short", "option", "address", "aro", or "other".
func DropReason(err error) string {
	switch {
	case errors.Is(err, ErrTruncated):
		return "truncated"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrNotND):
		return "not_nd"
	case errors.Is(err, ErrChecksum):
		return "checksum"
	case errors.Is(err, ErrHopLimit):
		return "hop_limit"
	case errors.Is(err, ErrCode):
		return "code"
	case errors.Is(err, ErrTooShort):
		return "too_short"
	case errors.Is(err, ErrOption):
		return "option"
	case errors.Is(err, ErrAddress):
		return "address"
	case errors.Is(err, ErrARO):
		return "aro"
	}
	return "other"
}

// Errors of the parse path are built once, so that rejecting a packet does
// not allocate either.
var (
	errShortIPv6     = fmt.Errorf("nd: shorter than an IPv6 header: %w", ErrTruncated)
	errVersion       = fmt.Errorf("nd: IP version is not 6: %w", ErrMalformed)
	errPayloadLen    = fmt.Errorf("nd: IPv6 payload length runs past the packet: %w", ErrTruncated)
	errJumbo         = fmt.Errorf("nd: IPv6 payload length 0 (jumbogram): %w", ErrMalformed)
	errNextHeader    = fmt.Errorf("nd: next header is not ICMPv6: %w", ErrNotND)
	errShortICMP     = fmt.Errorf("nd: shorter than an ICMPv6 header: %w", ErrTruncated)
	errICMPType      = fmt.Errorf("nd: ICMPv6 type is not RS, RA, NS, NA, DAR or DAC: %w", ErrNotND)
	errChecksum      = fmt.Errorf("nd: ICMPv6 checksum does not verify: %w", ErrChecksum)
	errHopLimit      = fmt.Errorf("nd: RFC 4861 §6.1/§7.1: hop limit must be 255: %w", ErrHopLimit)
	errCodeNonZero   = fmt.Errorf("nd: RFC 4861 §6.1/§7.1: ICMP code must be 0: %w", ErrCode)
	errCodeDA        = fmt.Errorf("nd: RFC 8505 §4.2: DAR/DAC code suffix above 4: %w", ErrCode)
	errShortRS       = fmt.Errorf("nd: RS shorter than 8 octets: %w", ErrTooShort)
	errShortRA       = fmt.Errorf("nd: RA shorter than 16 octets: %w", ErrTooShort)
	errShortNS       = fmt.Errorf("nd: NS shorter than 24 octets: %w", ErrTooShort)
	errShortNA       = fmt.Errorf("nd: NA shorter than 24 octets: %w", ErrTooShort)
	errShortDA       = fmt.Errorf("nd: DAR/DAC shorter than its ROVR and registered address: %w", ErrTooShort)
	errOptZero       = fmt.Errorf("nd: option of length 0: %w", ErrOption)
	errOptOverrun    = fmt.Errorf("nd: option runs past the end of the message: %w", ErrOption)
	errOptLLA        = fmt.Errorf("nd: link-layer address option of unusable length: %w", ErrOption)
	errOptPIO        = fmt.Errorf("nd: RFC 4861 §4.6.2: prefix information option length is not 4 or prefix length above 128: %w", ErrOption)
	errOptMTU        = fmt.Errorf("nd: RFC 4861 §4.6.4: MTU option length is not 1: %w", ErrOption)
	errOptRIO        = fmt.Errorf("nd: RFC 4191 §2.3: route information option length does not fit its prefix length: %w", ErrOption)
	errOptARO        = fmt.Errorf("nd: RFC 8505 §4.1: (E)ARO length outside 2..5: %w", ErrOption)
	errOpt6CO        = fmt.Errorf("nd: RFC 6775 §4.2: 6CO length does not fit its context length: %w", ErrOption)
	errOptABRO       = fmt.Errorf("nd: RFC 6775 §4.3: ABRO length is not 3: %w", ErrOption)
	errNotIPv6Addr   = fmt.Errorf("nd: source or destination is not an IPv6 address: %w", ErrAddress)
	errSrcMulticast  = fmt.Errorf("nd: RFC 4291 §2.7: source address is multicast: %w", ErrAddress)
	errRASource      = fmt.Errorf("nd: RFC 4861 §6.1.2: RA source is not link-local: %w", ErrAddress)
	errUnspecSLLAO   = fmt.Errorf("nd: RFC 4861 §6.1.1/§7.1.1: SLLAO from the unspecified address: %w", ErrAddress)
	errTargetMcast   = fmt.Errorf("nd: RFC 4861 §7.1: target is multicast: %w", ErrAddress)
	errUnspecDst     = fmt.Errorf("nd: RFC 4861 §7.1.1: NS from :: not to a solicited-node address: %w", ErrAddress)
	errNASolicited   = fmt.Errorf("nd: RFC 4861 §7.1.2: solicited NA to a multicast destination: %w", ErrAddress)
	errDAAddress     = fmt.Errorf("nd: RFC 6775 §8.2.1: registered address is multicast: %w", ErrAddress)
	errDASource      = fmt.Errorf("nd: RFC 6775 §8.2.1: DAR/DAC source is unspecified or multicast: %w", ErrAddress)
	errAROStatus     = fmt.Errorf("nd: RFC 6775 §6.5, RFC 8505 §4.1: status in an NS's ARO must be 0: %w", ErrARO)
	errARONoSLLAO    = fmt.Errorf("nd: RFC 6775 §4.1: NS with an ARO carries no SLLAO: %w", ErrARO)
	errAROLegacyLen  = fmt.Errorf("nd: RFC 6775 §6.5, RFC 8505 §5.1: ARO without T flag must have length 2: %w", ErrARO)
	errEncodeAddr    = fmt.Errorf("nd: source and destination must be IPv6 addresses: %w", ErrEncode)
	errEncodeROVR    = fmt.Errorf("nd: RFC 8505 §4.1: ROVR must be 64, 128, 192 or 256 bits: %w", ErrEncode)
	errEncodeLegacy  = fmt.Errorf("nd: RFC 6775 §4.4: a DAR/DAC without TID carries a 64-bit ROVR: %w", ErrEncode)
	errEncodeTooLong = fmt.Errorf("nd: message longer than 65535 octets: %w", ErrEncode)
	errEncodePrefix  = fmt.Errorf("nd: prefix must be a valid IPv6 prefix: %w", ErrEncode)
	errEncodeCID     = fmt.Errorf("nd: RFC 6282 §3.1.1: context identifier above 15: %w", ErrEncode)
)
