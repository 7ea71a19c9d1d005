package nd

// Address-Protected Neighbor Discovery (AP-ND, RFC 8928): the wire formats
// (apnd_option.go), the Crypto-ID and the proof (apnd_crypto.go), and the
// 6LBR's challenge (apnd_router.go, type APND).
//
// What the RFC asks of the router a 6LN registers with, as this package
// reads it:
//
//   - A 6LN that owns a key pair sets the C flag of its EARO (RFC 8928
//     §4.2) and puts its Crypto-ID in the ROVR: the leftmost bits of the
//     hash of its CIPO, the hash being the one its Crypto-Type names
//     (§3; the Crypto-Type table of §4.3 and of the IANA registry, §8).
//   - The router challenges such a registration: it answers NA(EARO) with
//     the status "Validation Requested" (5) and a Nonce option, NonceLR
//     (RFC 3971 §5.3.2, at least 6 octets; RFC 8928 §6.1).
//   - The 6LN repeats its NS(EARO) with a CIPO (its public key), a Nonce
//     option of its own (NonceLN) and an NDPSO: a signature over the AP-ND
//     CGA Message Type tag, the CIPO, the NS's Target Address, NonceLR,
//     NonceLN and the EARO's Length octet (§6.2).
//   - The router recomputes the Crypto-ID from the CIPO, compares it with
//     the ROVR, checks the signature with the CIPO's key, and registers;
//     a failed proof is answered "Validation Failed" (10). Once proven, the
//     registration cannot be changed or removed by anyone who cannot prove
//     the same Crypto-ID (§1, §7).
//
// Supported Crypto-Types (RFC 8928 §4.3 and its IANA registry, §8): 0,
// ECDSA over NIST P-256 with SHA-256; 1, Ed25519 (PureEdDSA, RFC 8032)
// whose Crypto-ID uses SHA-512.
// Refused: 2, ECDSA25519 (ECDSA over the Weierstrass form Wei25519 of
// Curve25519 with SHA-256): Go's standard library has no Wei25519
// arithmetic and the house rules forbid writing curve code; a registration
// using it — or any unassigned Crypto-Type — is answered "Validation
// Failed" (status 10), the status RFC 8928 §6.2 gives a proof the router
// cannot verify, so the 6LN may fall back to a legacy registration or
// another Crypto-Type.
//
// How this was checked: the option type numbers 39 (CIPO) and 40 (NDPSO)
// against IANA's ND option list as two independent projects carry it;
// the Nonce option (RFC 3971 §5.3.2) and the framing of every option
// against tshark (apnd_oracle_test.go); the hashes and signatures against
// OpenSSL (testdata/apnd). The RFC 8928 layouts and rules above (the C
// flag's bit, the CIPO and NDPSO fields, the CGA tag, the order of the
// signed content, the JWK key, the status codes) could not be read again
// in full here and are as this package's author knows RFC 8928: no AP-ND
// implementation was found to compare with. The bare key forms are
// accepted too, so a peer that sends the SEC 1 point or the RFC 8032 key
// interoperates either way.
//
// # How the 6LBR (nd/lbr.go) calls it
//
// The Router owns one *APND (NewAPND(cfg.APND), nil when AP-ND is off) and
// calls, with the time of Handle's Incoming.Now:
//
// In handleRegistration, after the registered address addr and the
// link-layer destination are known and checkRegisteredAddr passed, before
// r.reg.Register:
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
//		req.Proven = d.Proven // the registry's new flag: proven by a Crypto-ID
//	}
//
// The registry rule does the rest (nd/registry.go, Request.Proven and
// Registration.Protected): an unproven request never changes, moves or
// deletes a protected entry; the registry answers it
// StatusValidationRequested with Result.NeedsProof. For an NS, answer such
// a result with StatusDuplicate instead (RFC 6775 §6.5.1: the address
// belongs to another owner): CheckNS has already challenged every NS that
// set the C flag, so the NS is a legacy one, which can answer no challenge
// — an RFC 6775 node knows only statuses 0–2, and status 5 without a
// Nonce option tells an RFC 8505 node nothing it can act on — and an
// intruder holding a copied ROVR must give the address up.
//
// In handleDAR, before r.reg.Register: an EDAR carries no proof (RFC 8505
// §4.2 has no room for one; RFC 8928 §6 has the 6LR validate its 6LNs):
//
//	via, ok := r.reg.Lookup(m.Src, in.Now)
//	req.Proven = r.apnd.RelayProven(ok && via.Protected)
//
// RelayProven is false unless APNDConfig.TrustRelays is set. The
// registry's StatusValidationRequested for an EDAR that would change a
// protected entry goes back in the EDAC as it is (RelayStatus): RFC 8928
// §6.1 has the 6LBR ask for validation through the DAR/DAC exchange when
// a registration does not match its state, and the 6LR echoes it to its
// 6LN.
//
// In Maintain: r.apnd.Expire(now) drops challenges that ran out (Check*
// also does so lazily). RAOptions: add CapA to the 6CIO flags when AP-ND
// is on (RFC 8928 §4.5: the router supports AP-ND). Counters: APND.Counters
// for the metrics (challenges, proofs, failures by reason).
//
// Config knobs (APNDConfig, to be exposed by borderrouter as e.g.
// nd.apnd.enabled, nd.apnd.require, nd.apnd.trust-relays): AP-ND on or
// off (a nil *APND: every NS goes straight to the registry, Proven false);
// RequireCryptoID (refuse legacy ARO/EARO registrations with "Validation
// Failed"; off by default so RFC 6775 nodes such as RIOT's GNRC keep
// working, unprotected); TrustRelays; ChallengeLifetime and the caps on
// outstanding challenges.

import (
	"errors"
	"fmt"
)

// AP-ND option types (IANA "IPv6 Neighbor Discovery Option Formats",
// assigned by RFC 8928 §8) and the Nonce option of SEND that AP-ND
// reuses for its challenge (RFC 3971 §5.3.2).
const (
	OptNonce OptionType = 14 // RFC 3971 §5.3.2
	OptCIPO  OptionType = 39 // RFC 8928 §4.3, Crypto-ID Parameters Option
	OptNDPSO OptionType = 40 // RFC 8928 §4.4, NDP Signature Option
)

// CapA is the 6CIO flag of a router that supports AP-ND (RFC 8928 §4.5,
// bit 9 of the 6CIO flags, next to RFC 8505's D).
const CapA uint16 = 1 << 6

// aroFlagC is the EARO's C flag (RFC 8928 §4.2: "|Rsvd |C| I |R|T|"): the
// ROVR is a Crypto-ID and the registering node may be challenged.
const aroFlagC = 0x10

// CryptoIDFlag returns the C flag of an EARO (RFC 8928 §4.2): the ROVR is a
// Crypto-ID.
func (o ARO) CryptoIDFlag() bool { return o[aroFlags]&aroFlagC != 0 }

// CryptoIDARO writes an EARO with the C flag set (RFC 8928 §4.2): the ROVR
// is the node's Crypto-ID. The other fields are AROFields'.
type CryptoIDARO struct{ AROFields }

// Serialize implements OptionSerializer.
func (o CryptoIDARO) Serialize(b []byte) {
	o.AROFields.Serialize(b)
	b[aroFlags] |= aroFlagC
}

// CryptoType is the Crypto-Type of a CIPO (RFC 8928 §4.3, registry in
// §8, IANA): which curve, hash and signature algorithm a Crypto-ID uses.
type CryptoType uint8

// Crypto-Types (the "Crypto-Type Subregistry" of RFC 8928 §8).
const (
	// CryptoECDSAP256: ECDSA over NIST P-256, SHA-256 (FIPS 186-4). The
	// one every implementation must support (RFC 8928 §4.3).
	CryptoECDSAP256 CryptoType = 0
	// CryptoEd25519: Ed25519 (RFC 8032), SHA-512.
	CryptoEd25519 CryptoType = 1
	// CryptoECDSA25519: ECDSA over Wei25519, SHA-256. Not supported here
	// (see the comment at the top of this file).
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
	errCIPOShort     = fmt.Errorf("nd: RFC 8928 §4.3: CIPO shorter than its public key: %w", ErrOption)
	errCIPOPadding   = fmt.Errorf("nd: RFC 8928 §4.3: CIPO padding reaches the next 8-octet boundary: %w", ErrOption)
	errNDPSOShort    = fmt.Errorf("nd: RFC 8928 §4.4: NDPSO shorter than its signature: %w", ErrOption)
	errNDPSOPadding  = fmt.Errorf("nd: RFC 8928 §4.4: NDPSO padding reaches the next 8-octet boundary: %w", ErrOption)
	errNonceShort    = fmt.Errorf("nd: RFC 3971 §5.3.2: nonce shorter than 6 octets: %w", ErrOption)
	errEncodeKey     = fmt.Errorf("nd: RFC 8928 §4.3: public key empty or longer than 2047 octets: %w", ErrEncode)
	errEncodeSig     = fmt.Errorf("nd: RFC 8928 §4.4: signature empty or longer than 2047 octets: %w", ErrEncode)
	errEncodeNonce   = fmt.Errorf("nd: RFC 3971 §5.3.2: nonce shorter than 6 octets or not filling the option to a multiple of 8: %w", ErrEncode)
	errProofNoChall  = fmt.Errorf("nd: RFC 8928 §6.1: no outstanding challenge for this address and Crypto-ID: %w", ErrProof)
	errProofMissing  = fmt.Errorf("nd: RFC 8928 §6.1: the answer to a challenge needs a CIPO, a Nonce option and an NDPSO: %w", ErrProof)
	errProofNonce    = fmt.Errorf("nd: RFC 8928 §6.2: the signed NonceLR is not the one this router sent: %w", ErrProof)
	errProofCryptoID = fmt.Errorf("nd: RFC 8928 §3: the CIPO does not hash to the ROVR: %w", ErrProof)
	errProofSig      = fmt.Errorf("nd: RFC 8928 §6.2: the NDPSO signature does not verify: %w", ErrProof)
	errProofKey      = fmt.Errorf("nd: RFC 8928 §4.3: the CIPO's public key cannot be read: %w", ErrProof)
	errProofLegacy   = fmt.Errorf("nd: a Crypto-ID is required and the EARO's C flag is clear: %w", ErrProof)
	errProofType     = fmt.Errorf("nd: RFC 8928 §4.3, §8: %w", ErrCryptoType)
)
