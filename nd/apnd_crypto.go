package nd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"math/big"
	"net/netip"
)

// APNDMessageTag is the 128-bit CGA Message Type tag of AP-ND (RFC 8928
// §8.1, registered under RFC 3972's CGA Message Type name space): the first
// octets of everything an NDPSO signs (§6.2), so that the signature cannot
// be replayed into another protocol that uses the same key.
var APNDMessageTag = [16]byte{0x87, 0x01, 0x55, 0xc8, 0x0c, 0xca, 0xdd, 0x32, 0x6a, 0xb7, 0xe4, 0x15, 0xf1, 0x48, 0x84, 0xd0}

// Lengths of the supported algorithms' fields (RFC 8928 §8.2 Table 1).
const (
	p256CoordLen   = 32
	p256SigLen     = 2 * p256CoordLen // r‖s (RFC 8928 Appendix B.2)
	ed25519SigLen  = ed25519.SignatureSize
	ed25519KeyLen  = ed25519.PublicKeySize
	p256Uncomp     = 1 + 2*p256CoordLen // SEC 1 §2.3.3: 0x04 ‖ X ‖ Y
	p256Comp       = 1 + p256CoordLen   // 0x02/0x03 ‖ X
	maxCryptoIDLen = 32                 // the longest ROVR (RFC 8505 §4.1)
)

// cryptoHash returns the hash function of a Crypto-Type (RFC 8928 §8.2
// Table 1): SHA-256 for ECDSA256 and ECDSA25519, SHA-512 for Ed25519.
func cryptoHash(t CryptoType) (hash.Hash, bool) {
	switch t {
	case CryptoECDSAP256, CryptoECDSA25519:
		return sha256.New(), true
	case CryptoEd25519:
		return sha512.New(), true
	}
	return nil, false
}

// writeCIPO writes the CIPO to w with Reserved1 and the padding zeroed, as
// the Crypto-ID takes it (RFC 8928 §4.1: "all the reserved and padding
// bits MUST be set to zero"); the Modifier and the EARO Length are part of
// it. The signature takes the CIPO the same way, so that reserved bits
// set in flight do not break a proof.
func writeCIPO(w interface{ Write([]byte) (int, error) }, o CIPO) {
	var head [cipoKey]byte
	head[0], head[1] = o[0], o[1]
	binary.BigEndian.PutUint16(head[cipoKeyLen:], uint16(o.PublicKeyLength()))
	head[cipoCryptoType] = o[cipoCryptoType]
	head[cipoModifier] = o[cipoModifier]
	head[cipoEAROLength] = o[cipoEAROLength]
	w.Write(head[:])
	w.Write(o.PublicKey())
	var pad [optionUnit]byte
	w.Write(pad[:len(o)-cipoKey-o.PublicKeyLength()])
}

// EAROLength is the Length octet of an EARO carrying an n-octet ROVR: its
// 8 fixed octets and the ROVR, in units of 8 (RFC 8505 §4.1). A CIPO
// carries it (RFC 8928 §4.3), so the Crypto-ID depends on the ROVR size.
func EAROLength(n int) uint8 { return uint8((aroROVR + n) / optionUnit) }

// CryptoID computes the Crypto-ID of a validated CIPO (RFC 8928 §4.1): the
// leftmost n octets of the hash, named by the Crypto-Type, of the option
// with its reserved bits and padding zeroed. n is the ROVR size the 6LN
// uses: 8, 16, 24 or 32 octets (RFC 8505 §4.1; RFC 8928 §4.1 recommends
// at least 128 bits).
func CryptoID(o CIPO, n int) (ROVR, error) {
	if !validROVRLen(n) {
		return ROVR{}, errEncodeROVR
	}
	h, ok := cryptoHash(o.CryptoType())
	if !ok {
		return ROVR{}, errProofType
	}
	writeCIPO(h, o)
	var sum [sha512.Size]byte
	r, _ := MakeROVR(h.Sum(sum[:0])[:n])
	return r, nil
}

// AppendSignedContent appends to b what an NDPSO signs (RFC 8928 §6.2), in
// this order: the CGA Message Type tag (§8.1), the CIPO (reserved bits and
// padding zero), the 16-octet Target Address of the NS, NonceLR (from the
// router's challenge), NonceLN (from the 6LN's Nonce option) and the
// 1-octet EARO Length — the Length octet of the EARO carrying the
// Crypto-ID, which the verifier takes from the CIPO after checking it
// against the EARO's. Binding the length keeps a signature over a long
// Crypto-ID from passing for a truncated one.
func AppendSignedContent(b []byte, o CIPO, target netip.Addr, nonceLR, nonceLN []byte) []byte {
	b = append(b, APNDMessageTag[:]...)
	w := appendWriter{b}
	writeCIPO(&w, o)
	b = w.b
	t := target.As16()
	b = append(b, t[:]...)
	b = append(b, nonceLR...)
	b = append(b, nonceLN...)
	return append(b, o.EAROLength())
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// PublicKey is a public key read from a CIPO.
type PublicKey struct {
	Type    CryptoType
	ed25519 ed25519.PublicKey
	ecdsa   *ecdsa.PublicKey
}

// ParsePublicKey reads the Public Key field of a CIPO of Crypto-Type t in
// the representation RFC 8928 §8.2 Table 1 and Appendix B give it: for
// ECDSA256 a SEC 1 point, uncompressed (65 octets, 0x04 ‖ X ‖ Y) or
// compressed (33, 0x02/0x03 ‖ X), B.3; for Ed25519 the 32-octet RFC 8032
// encoding, B.1. The point is validated (§7.8): the standard library
// rejects a P-256 point off the curve (P-256 has cofactor 1, so a point on
// it has the base point's order) and an Ed25519 encoding that is not a
// point. Not checked: that an Ed25519 key is outside the small subgroup
// (§7.8) — that needs curve arithmetic the standard library does not
// export; such a key only ever proves a Crypto-ID of its own.
func ParsePublicKey(t CryptoType, field []byte) (PublicKey, error) {
	switch t {
	case CryptoEd25519:
		if len(field) != ed25519KeyLen {
			return PublicKey{}, errProofKey
		}
		return PublicKey{Type: t, ed25519: ed25519.PublicKey(bytes.Clone(field))}, nil
	case CryptoECDSAP256:
		var point []byte
		switch {
		case len(field) == p256Uncomp && field[0] == 4:
			point = field
		case len(field) == p256Comp && (field[0] == 2 || field[0] == 3):
			// Decompression is the standard library's (no curve code
			// here): elliptic.UnmarshalCompressed checks the point.
			x, y := elliptic.UnmarshalCompressed(elliptic.P256(), field)
			if x == nil {
				return PublicKey{}, errProofKey
			}
			point = make([]byte, p256Uncomp)
			point[0] = 4
			x.FillBytes(point[1 : 1+p256CoordLen])
			y.FillBytes(point[1+p256CoordLen:])
		default:
			return PublicKey{}, errProofKey
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: %w", errProofKey, err)
		}
		return PublicKey{Type: t, ecdsa: pub}, nil
	}
	return PublicKey{}, errProofType
}

// Verify checks a signature over content (RFC 8928 §6.2, Appendix B):
// Ed25519 signs content itself (PureEdDSA, RFC 8032 §5.1.6); ECDSA256
// signs its SHA-256 digest, the signature being r‖s (B.2).
func (k PublicKey) Verify(content, sig []byte) bool {
	switch k.Type {
	case CryptoEd25519:
		return len(sig) == ed25519SigLen && ed25519.Verify(k.ed25519, content, sig)
	case CryptoECDSAP256:
		if len(sig) != p256SigLen {
			return false
		}
		d := sha256.Sum256(content)
		r := new(big.Int).SetBytes(sig[:p256CoordLen])
		s := new(big.Int).SetBytes(sig[p256CoordLen:])
		return ecdsa.Verify(k.ecdsa, d[:], r, s)
	}
	return false
}

// VerifyProof checks a 6LN's answer to a challenge (RFC 8928 §6.2) in the
// RFC's order: the CIPO's EARO Length is earoLength (the Length octet of
// the NS's EARO); the CIPO hashes to rovr; the NDPSO's signature over the
// signed content (AppendSignedContent) verifies with the CIPO's key, for
// the NS's target, the router's nonceLR and the 6LN's Nonce option.
// opts.CIPO may come from the router's store rather than the message
// (§6.1). Errors wrap ErrProof or ErrCryptoType.
func VerifyProof(rovr []byte, opts *APNDOptions, target netip.Addr, nonceLR []byte, earoLength uint8) error {
	if opts.NDPSO == nil || opts.Nonce == nil {
		return errProofMissing
	}
	if opts.CIPO == nil {
		return errProofNoCIPO
	}
	if opts.CIPO.EAROLength() != earoLength {
		return errProofEAROLen
	}
	t := opts.CIPO.CryptoType()
	if !t.Supported() {
		return fmt.Errorf("%w: %v", errProofType, t)
	}
	id, err := CryptoID(opts.CIPO, len(rovr))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(id.Bytes(), rovr) != 1 {
		return errProofCryptoID
	}
	key, err := ParsePublicKey(t, opts.CIPO.PublicKey())
	if err != nil {
		return err
	}
	var buf [256]byte
	content := AppendSignedContent(buf[:0], opts.CIPO, target, nonceLR, opts.Nonce.Nonce())
	if !key.Verify(content, opts.NDPSO.Signature()) {
		return errProofSig
	}
	return nil
}

// APNDKey is a 6LN's key pair for AP-ND: it gives the CIPO, the Crypto-ID
// and the NDPSO that answers a challenge.
type APNDKey struct {
	typ        CryptoType
	ed         ed25519.PrivateKey
	ec         *ecdsa.PrivateKey
	modifier   uint8
	compressed bool
}

// NewAPNDKey derives a key pair of Crypto-Type t from seed, so that a
// simulated node keeps its identity across runs: Ed25519 takes
// SHA-256(seed) as its RFC 8032 seed; P-256 takes the first
// SHA-256(seed ‖ counter) that is a valid scalar (ecdsa.ParseRawPrivateKey
// checks it is below the group order). The CIPO carries the key in its
// uncompressed SEC 1 form (P-256; CompressPublicKey switches to the
// compressed one) or its RFC 8032 form (Ed25519), Modifier 0.
func NewAPNDKey(t CryptoType, seed []byte) (*APNDKey, error) {
	k := &APNDKey{typ: t}
	switch t {
	case CryptoEd25519:
		s := sha256.Sum256(seed)
		k.ed = ed25519.NewKeyFromSeed(s[:])
	case CryptoECDSAP256:
		for ctr := byte(0); ; ctr++ {
			s := sha256.Sum256(append(bytes.Clone(seed), ctr))
			if priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), s[:]); err == nil {
				k.ec = priv
				break
			}
			if ctr == 255 {
				return nil, fmt.Errorf("nd: no P-256 scalar from seed")
			}
		}
	default:
		return nil, fmt.Errorf("nd: %v: %w", t, ErrCryptoType)
	}
	return k, nil
}

// CompressPublicKey makes the CIPO carry a P-256 key as a compressed SEC 1
// point (33 octets instead of 65, RFC 8928 §8.2 Table 1): 32 octets less in
// every NS that carries the CIPO. No effect on Ed25519, whose key is always
// 32 octets.
func (k *APNDKey) CompressPublicKey() { k.compressed = k.typ == CryptoECDSAP256 }

// SetModifier sets the CIPO's Modifier: another modifier, another
// Crypto-ID from the same key pair (RFC 8928 §4.3, §7.9).
func (k *APNDKey) SetModifier(m uint8) { k.modifier = m }

// publicKeyField is the CIPO's Public Key field for this key.
func (k *APNDKey) publicKeyField() []byte {
	if k.typ == CryptoEd25519 {
		return bytes.Clone(k.ed.Public().(ed25519.PublicKey))
	}
	pt, _ := k.ec.PublicKey.Bytes() // 0x04 ‖ X ‖ Y
	if k.compressed {
		// SEC 1 §2.3.3: 0x02 for an even Y, 0x03 for an odd one, then X.
		return append([]byte{2 | pt[len(pt)-1]&1}, pt[1:1+p256CoordLen]...)
	}
	return pt
}

// CryptoType returns the key's Crypto-Type.
func (k *APNDKey) CryptoType() CryptoType { return k.typ }

// CIPO returns the node's CIPO for an EARO of Length earoLength
// (EAROLength of the ROVR size).
func (k *APNDKey) CIPO(earoLength uint8) CIPOFields {
	return CIPOFields{CryptoType: k.typ, Modifier: k.modifier, EAROLength: earoLength, PublicKey: k.publicKeyField()}
}

// CryptoID returns the node's Crypto-ID of n octets, its ROVR (RFC 8928
// §4.1), computed over its CIPO for an EARO carrying n octets of ROVR.
func (k *APNDKey) CryptoID(n int) (ROVR, error) {
	if !validROVRLen(n) {
		return ROVR{}, errEncodeROVR
	}
	return CryptoID(CIPO(k.CIPO(EAROLength(n)).Append(nil)), n)
}

// Sign signs content (see PublicKey.Verify for the forms). ECDSA uses a
// random per-signature k from crypto/rand, as RFC 8928 §7.7 requires
// (no deterministic ECDSA).
func (k *APNDKey) Sign(content []byte) ([]byte, error) {
	if k.typ == CryptoEd25519 {
		return ed25519.Sign(k.ed, content), nil
	}
	d := sha256.Sum256(content)
	r, s, err := ecdsa.Sign(rand.Reader, k.ec, d[:])
	if err != nil {
		return nil, err
	}
	sig := make([]byte, p256SigLen)
	r.FillBytes(sig[:p256CoordLen])
	s.FillBytes(sig[p256CoordLen:])
	return sig, nil
}

// Proof returns the NDPSO answering a challenge (RFC 8928 §6.2): the
// signature over the signed content for target, the router's nonceLR, the
// node's nonceLN (sent in its own Nonce option) and the CIPO for an EARO
// of Length earoLength — the CIPO the node must send with it.
func (k *APNDKey) Proof(target netip.Addr, nonceLR, nonceLN []byte, earoLength uint8) (NDPSOFields, error) {
	content := AppendSignedContent(nil, CIPO(k.CIPO(earoLength).Append(nil)), target, nonceLR, nonceLN)
	sig, err := k.Sign(content)
	return NDPSOFields{Signature: sig}, err
}

// PublicKey returns the public half, as a router reads it from the CIPO.
func (k *APNDKey) PublicKey() PublicKey {
	if k.typ == CryptoEd25519 {
		return PublicKey{Type: k.typ, ed25519: k.ed.Public().(ed25519.PublicKey)}
	}
	return PublicKey{Type: k.typ, ecdsa: &k.ec.PublicKey}
}
