package nd

// Address-Protected Neighbor Discovery (AP-ND, RFC 8928, with the C flag
// moved by RFC 9927): the wire formats (apnd_option.go), the Crypto-ID and
// the proof (apnd_crypto.go), and the router's challenge (apnd_router.go,
// type APND). Every rule below was checked against the RFC texts
// (testdata/apnd/README.md says where each came from).
//
//   - A 6LN that owns a key pair sets the C flag of its EARO (RFC 8928
//     §4.2; bit 1 of the flags octet since RFC 9927 §3) and puts its
//     Crypto-ID in the ROVR: the leftmost bits of the hash its Crypto-Type
//     names, computed over its CIPO with the reserved bits and the padding
//     zero (RFC 8928 §4.1; 128 bits RECOMMENDED, at least 64).
//   - The router challenges a registration whose Crypto-ID it has no
//     consistent state for: NA(EARO) with status "Validation Requested"
//     (5) and a Nonce option, NonceLR (RFC 8928 §6.1; RFC 3971 §5.3.2, at
//     least 6 octets). "The challenge may happen at any time at the
//     discretion of the 6LR and the 6LBR" (§6): this one challenges every
//     NS that claims a Crypto-ID, refreshes included, because without the
//     link-layer security RFC 8928 §5 presumes a copied ROVR and a spoofed
//     MAC address would otherwise pass for the owner's refresh.
//   - The 6LN repeats its NS(EARO) with its CIPO, a Nonce option of its
//     own (NonceLN) and an NDPSO: a signature over the 128-bit CGA Message
//     Type tag (§8.1), the CIPO, the NS's Target Address, NonceLR, NonceLN
//     and the EARO's Length octet, in that order (§6.2). It may leave the
//     CIPO out of a revalidation; the router keeps the CIPOs it has seen by
//     Crypto-ID ("MUST store", §6.1).
//   - The router checks that the CIPO's EARO Length is the EARO's, that
//     the CIPO hashes to the ROVR, and the signature with the CIPO's key
//     (§6.2); a failed proof is answered "Validation Failed" (10), and so is
//     an NS whose CIPO names a Crypto-Type the router does not support,
//     without a challenge (§6). A valid registration "MUST NOT be altered
//     until the challenge is complete" (§6).
//   - Multi-hop (§6, §6.3): the 6LR validates its 6LNs and tells the 6LBR
//     so with status 5 in the EDAR; the 6LBR trusts the 6LR (a security
//     association between them is assumed) and answers an EDAR that does
//     not carry status 5, for a validated binding, with status 5 in the
//     EDAC, which the 6LR must turn into a challenge of its 6LN.
//   - The 6LBR announces AP-ND with the A flag of the 6CIO (§4.5, bit 9 of
//     the 6LoWPAN Capability Bits, §8.4).
//
// Supported Crypto-Types (RFC 8928 §8.2 Table 1): 0, ECDSA256 (NIST P-256,
// SHA-256; every implementation MUST support it, §4.3); 1, Ed25519
// (PureEdDSA, RFC 8032; SHA-512). Not supported: 2, ECDSA25519 (ECDSA over
// Wei25519, Appendix B.4): Go's standard library has no Wei25519 arithmetic
// and the house rules forbid writing curve code. A registration using it —
// or any unassigned Crypto-Type — is answered "Validation Failed" without a
// challenge, as §6 says, and the 6LN "may try another Crypto-Type until it
// falls back to Crypto-Type 0".
//
// # How the 6LBR (nd/lbr.go) calls it
//
// The Router owns one *APND (NewAPND(cfg.APND), nil when AP-ND is off) and
// calls it from its RegistrationCheck seam, with the time of Incoming.Now.
//
// For an NS(EARO), after the registered address addr and the link-layer
// source are known, before r.reg.Register:
//
//	d := r.apnd.CheckNS(m, addr, in.LinkSrc, in.Now)
//	switch d.Action {
//	case APNDChallenge, APNDRefuse:
//		// Do not register. Answer NA(EARO) exactly as today but with
//		// Status d.Status (5 or 10; for an RFC 6775 ARO, which knows only
//		// statuses 0–2, use StatusDuplicate instead of 10), and append
//		// d.Nonce (a NonceFields) to the NA's options when
//		// d.Action == APNDChallenge. Count d.Status as usual.
//	case APNDRegister:
//		req.Proven = d.Proven
//	}
//
// The registry rule does the rest (nd/registry.go, Request.Proven and
// Registration.Protected): an unproven request never changes, moves or
// deletes a protected entry (RFC 8928 §6: a validated binding is not
// altered until a challenge completes). CheckNS has already challenged
// every NS that set the C flag, so an unproven NS that meets a protected
// entry is a legacy one (RFC 6775 ARO or EARO without the C flag), which
// cannot answer a challenge: answer it "Duplicate Address" (RFC 6775
// §6.5.1: the address belongs to another owner).
//
// For an EDAR (RFC 8928 §6, §6.3), before r.reg.Register:
//
//	via, ok := r.reg.Lookup(m.Src, in.Now)
//	req.Proven = r.apnd.RelayProven(m.DA().Status(), ok && via.Protected)
//
// RelayProven is true only for an EDAR with status 5 ("the 6LR performed a
// successful validation") and, as local policy, only with
// APNDConfig.TrustRelays set and from a 6LR that proved its own
// Crypto-ID. An EDAR the registry refuses for want of proof (Result.
// NeedsProof) must be answered with status 5 in the EDAC (RelayStatus):
// "the 6LBR MUST indicate to the new 6LR that it needs to challenge the
// 6LN using a status code of 5" (§6) — not "Validation Failed".
//
// In Maintain: r.apnd.Expire(now) drops challenges that ran out (Check*
// also does so lazily). RAOptions: add CapA to the 6CIO flags when AP-ND
// is on (RFC 8928 §4.5). Counters: APND.Counters for the metrics.
//
// Config knobs (APNDConfig, to be exposed by borderrouter as e.g.
// nd.apnd.enabled, nd.apnd.require, nd.apnd.trust-relays): AP-ND on or
// off (a nil *APND: every NS goes straight to the registry, Proven false);
// RequireCryptoID (refuse legacy ARO/EARO registrations with "Validation
// Failed"; off by default so RFC 6775 nodes such as RIOT's GNRC keep
// working, unprotected); TrustRelays; ChallengeLifetime, the caps on
// outstanding challenges and MaxCIPOs.

import (
	"errors"
	"fmt"
)

// AP-ND option types (IANA "IPv6 Neighbor Discovery Option Formats", RFC
// 8928 §8.3 Table 2) and the Nonce option of SEND that AP-ND reuses for
// its challenge (RFC 3971 §5.3.2; RFC 8928 §3, §6.1).
const (
	OptNonce OptionType = 14 // RFC 3971 §5.3.2
	OptCIPO  OptionType = 39 // RFC 8928 §4.3, Crypto-ID Parameters Option
	OptNDPSO OptionType = 40 // RFC 8928 §4.4, NDP Signature Option
)

// CapA is the 6CIO's A flag, "AP-ND Enabled": the 6LBR has turned AP-ND on
// for the network (RFC 8928 §4.5 Figure 4 "|A|D|L|B|P|E|G|"; bit 9 of the
// 6LoWPAN Capability Bits, §8.4, where G is bit 15 and RFC 8505's D bit
// 10 — so one above CapD).
const CapA uint16 = 1 << 6

// aroFlagC is the EARO's C flag: the ROVR is a Crypto-ID and the 6LN may be
// challenged (RFC 8928 §4.2). RFC 9927 §3 moved it to bit 1 of the flags
// octet (bit 0 the most significant, as in RFC 8505 §9.1 where R is bit 6
// and T bit 7): RFC 8928's Figure 1 had it at bit 3, which RFC 9685 gave to
// its P-field (bits 2 and 3, mask 0x30). The old position is the P-field's
// now and is never read as C.
const aroFlagC = 0x40

// CryptoIDFlag returns the C flag of an EARO (RFC 8928 §4.2, RFC 9927 §3):
// the ROVR is a Crypto-ID.
func (o ARO) CryptoIDFlag() bool { return o[aroFlags]&aroFlagC != 0 }

// CryptoIDARO writes an EARO with the C flag set (RFC 8928 §4.2, RFC 9927
// §3): the ROVR is the node's Crypto-ID. The other fields are AROFields'.
type CryptoIDARO struct{ AROFields }

// Serialize implements OptionSerializer.
func (o CryptoIDARO) Serialize(b []byte) {
	o.AROFields.Serialize(b)
	b[aroFlags] |= aroFlagC
}

// CryptoType is the Crypto-Type of a CIPO (RFC 8928 §4.3; the IANA
// "Crypto-Types" subregistry, §8.2 Table 1): which curve, hash, signature
// algorithm and key representation a Crypto-ID uses.
type CryptoType uint8

// Crypto-Types (RFC 8928 §8.2 Table 1).
const (
	// CryptoECDSAP256: ECDSA256 — ECDSA over NIST P-256 with SHA-256; SEC 1
	// keys of 33 or 65 octets, 64-octet r‖s signatures. Every
	// implementation MUST support it (§4.3).
	CryptoECDSAP256 CryptoType = 0
	// CryptoEd25519: Ed25519 — PureEdDSA (RFC 8032) with SHA-512; 32-octet
	// keys, 64-octet signatures.
	CryptoEd25519 CryptoType = 1
	// CryptoECDSA25519: ECDSA25519 — ECDSA over Wei25519 with SHA-256. Not
	// supported here (see the comment at the top of this file).
	CryptoECDSA25519 CryptoType = 2
)

func (c CryptoType) String() string {
	switch c {
	case CryptoECDSAP256:
		return "ECDSA256"
	case CryptoEd25519:
		return "Ed25519"
	case CryptoECDSA25519:
		return "ECDSA25519"
	}
	return "crypto-type(" + itoa(int(c)) + ")"
}

// Supported reports whether this package can verify and sign with c.
func (c CryptoType) Supported() bool { return c == CryptoECDSAP256 || c == CryptoEd25519 }

// Sentinel errors of AP-ND. Option decoders wrap ErrOption (the package's
// sentinel for malformed options); proofs that do not hold wrap ErrProof.
var (
	// ErrProof: a Crypto-ID proof does not hold — the Crypto-ID does not
	// match the key, the signature does not verify, the nonce is not the
	// one the router sent, or a piece is missing.
	ErrProof = errors.New("AP-ND proof does not hold")
	// ErrCryptoType: a Crypto-Type this package does not implement.
	ErrCryptoType = errors.New("unsupported Crypto-Type")
)

var (
	errNDPSOEARO     = fmt.Errorf("nd: RFC 8928 §4.4: a message with an NDPSO must have one and only one EARO: %w", ErrOption)
	errCIPOShort     = fmt.Errorf("nd: RFC 8928 §4.3: CIPO shorter than its public key: %w", ErrOption)
	errCIPOPadding   = fmt.Errorf("nd: RFC 8928 §4.3: CIPO padding reaches the next 8-octet boundary: %w", ErrOption)
	errNDPSOShort    = fmt.Errorf("nd: RFC 8928 §4.4: NDPSO shorter than its signature: %w", ErrOption)
	errNDPSOPadding  = fmt.Errorf("nd: RFC 8928 §4.4: NDPSO padding reaches the next 8-octet boundary: %w", ErrOption)
	errNonceShort    = fmt.Errorf("nd: RFC 3971 §5.3.2: nonce shorter than 6 octets: %w", ErrOption)
	errEncodeKey     = fmt.Errorf("nd: RFC 8928 §4.3: public key empty or longer than 2047 octets: %w", ErrEncode)
	errEncodeSig     = fmt.Errorf("nd: RFC 8928 §4.4: signature empty or longer than 2047 octets: %w", ErrEncode)
	errEncodeNonce   = fmt.Errorf("nd: RFC 3971 §5.3.2: nonce shorter than 6 octets or not filling the option to a multiple of 8: %w", ErrEncode)
	errProofNoChall  = fmt.Errorf("nd: RFC 8928 §6.1: no outstanding challenge for this address and Crypto-ID: %w", ErrProof)
	errProofMissing  = fmt.Errorf("nd: RFC 8928 §6.1: the answer to a challenge needs a Nonce option and an NDPSO: %w", ErrProof)
	errProofNoCIPO   = fmt.Errorf("nd: RFC 8928 §6.1: a proof without a CIPO, and none stored for this Crypto-ID: %w", ErrProof)
	errProofEAROLen  = fmt.Errorf("nd: RFC 8928 §6.2: the CIPO's EARO Length is not the EARO's: %w", ErrProof)
	errProofCryptoID = fmt.Errorf("nd: RFC 8928 §4.1: the CIPO does not hash to the ROVR: %w", ErrProof)
	errProofSig      = fmt.Errorf("nd: RFC 8928 §6.2: the NDPSO signature does not verify: %w", ErrProof)
	errProofKey      = fmt.Errorf("nd: RFC 8928 §4.3, Appendix B: the CIPO's public key is not a key of its Crypto-Type: %w", ErrProof)
	errProofLegacy   = fmt.Errorf("nd: a Crypto-ID is required and the EARO's C flag is clear: %w", ErrProof)
	errProofType     = fmt.Errorf("nd: RFC 8928 §6, §8.2: %w", ErrCryptoType)
)
