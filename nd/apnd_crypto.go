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
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"math/big"
	"net/netip"
)

// APNDMessageTag is the 128-bit CGA Message Type tag of AP-ND (RFC 8928
// §6.2, in the manner of RFC 3972 §6): the first octets of everything an
// NDPSO signs, so that the signature cannot be replayed into another
// protocol that uses the same key.
var APNDMessageTag = [16]byte{0x87, 0x01, 0x55, 0xc8, 0x0c, 0xca, 0xdd, 0x32, 0x6a, 0xb7, 0xe4, 0x15, 0xf1, 0x48, 0x84, 0xd0}

// Lengths of the supported algorithms' fields.
const (
	p256CoordLen   = 32
	p256SigLen     = 2 * p256CoordLen // r‖s (RFC 8928 Appendix B, RFC 7518 §3.4)
	ed25519SigLen  = ed25519.SignatureSize
	ed25519KeyLen  = ed25519.PublicKeySize
	p256Uncomp     = 1 + 2*p256CoordLen // SEC 1 §2.3.3: 0x04 ‖ X ‖ Y
	p256Comp       = 1 + p256CoordLen   // 0x02/0x03 ‖ X
	maxCryptoIDLen = 32                 // the longest ROVR (RFC 8505 §4.1)
)

// cryptoHash returns the hash function of a Crypto-Type (RFC 8928 §4.3
// and the IANA table of §8): SHA-256 for ECDSA256 and ECDSA25519, SHA-512
// for Ed25519.
func cryptoHash(t CryptoType) (hash.Hash, bool) {
	switch t {
	case CryptoECDSAP256, CryptoECDSA25519:
		return sha256.New(), true
	case CryptoEd25519:
		return sha512.New(), true
	}
	return nil, false
}

// writeCIPO writes the CIPO to w with Reserved1, Reserved2 and the padding
// zeroed, as the Crypto-ID and the signature take it (RFC 8928 §3: "all
// the reserved and padding bits MUST be set to zero").
func writeCIPO(w interface{ Write([]byte) (int, error) }, o CIPO) {
	var head [cipoKey]byte
	head[0], head[1] = o[0], o[1]
	binary.BigEndian.PutUint16(head[cipoKeyLen:], uint16(o.PublicKeyLength()))
	head[cipoCryptoType] = o[cipoCryptoType]
	w.Write(head[:])
	w.Write(o.PublicKey())
	var pad [optionUnit]byte
	w.Write(pad[:len(o)-cipoKey-o.PublicKeyLength()])
}

// CryptoID computes the Crypto-ID of a validated CIPO (RFC 8928 §3): the
// leftmost n octets of the hash, named by the Crypto-Type, of the option
// with its reserved fields and padding zeroed. n is the ROVR size the 6LN
// uses: 8, 16, 24 or 32 octets (RFC 8505 §4.1; RFC 8928 §3 recommends at
// least 128 bits).
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
// this order: the AP-ND CGA Message Type tag, the CIPO (reserved fields and
// padding zero), the 16-octet Target Address of the NS, NonceLR (from the
// router's challenge), NonceLN (from the 6LN's Nonce option) and the
// Length octet of the EARO that carries the Crypto-ID — which binds the
// ROVR's size, so a signature over a long Crypto-ID cannot be passed off
// for a truncated one.
func AppendSignedContent(b []byte, o CIPO, target netip.Addr, nonceLR, nonceLN []byte, earoLength uint8) []byte {
	b = append(b, APNDMessageTag[:]...)
	w := appendWriter{b}
	writeCIPO(&w, o)
	b = w.b
	t := target.As16()
	b = append(b, t[:]...)
	b = append(b, nonceLR...)
	b = append(b, nonceLN...)
	return append(b, earoLength)
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// PublicKey is a public key read from a CIPO.
type PublicKey struct {
	Type    CryptoType
	ed25519 ed25519.PublicKey
	ecdsa   *ecdsa.PublicKey
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParsePublicKey reads the Public Key field of a CIPO of Crypto-Type t.
// RFC 8928 §4.3 has the key JWK-encoded (RFC 7517; an "EC" key on "P-256"
// with big-endian x and y, RFC 7518 §6.2; an "OKP" key on "Ed25519", RFC
// 8037 §2); the bare forms its IANA table (§8) names — a SEC 1 point,
// uncompressed (65 octets) or compressed (33), and the 32-octet RFC 8032
// Ed25519 key — are accepted as well. Lengths tell them apart: no JWK is
// that short.
func ParsePublicKey(t CryptoType, field []byte) (PublicKey, error) {
	switch t {
	case CryptoEd25519:
		raw := field
		if len(field) != ed25519KeyLen {
			k, err := parseJWK(field, "OKP", "Ed25519")
			if err != nil {
				return PublicKey{}, err
			}
			if raw, err = base64.RawURLEncoding.DecodeString(k.X); err != nil || len(raw) != ed25519KeyLen {
				return PublicKey{}, errProofKey
			}
		}
		return PublicKey{Type: t, ed25519: ed25519.PublicKey(bytes.Clone(raw))}, nil
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
			k, err := parseJWK(field, "EC", "P-256")
			if err != nil {
				return PublicKey{}, err
			}
			x, errX := base64.RawURLEncoding.DecodeString(k.X)
			y, errY := base64.RawURLEncoding.DecodeString(k.Y)
			if errX != nil || errY != nil || len(x) != p256CoordLen || len(y) != p256CoordLen {
				return PublicKey{}, errProofKey
			}
			point = append(append([]byte{4}, x...), y...)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: %w", errProofKey, err)
		}
		return PublicKey{Type: t, ecdsa: pub}, nil
	}
	return PublicKey{}, errProofType
}

func parseJWK(field []byte, kty, crv string) (jwk, error) {
	var k jwk
	if len(field) == 0 || field[0] != '{' || json.Unmarshal(field, &k) != nil || k.Kty != kty || k.Crv != crv {
		return jwk{}, errProofKey
	}
	return k, nil
}

// Verify checks a signature over content (RFC 8928 §6.2): Ed25519 signs
// content itself (PureEdDSA, RFC 8032 §5.1.6); ECDSA P-256 signs its
// SHA-256 digest, the signature being r‖s.
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

// VerifyProof checks a 6LN's answer to a challenge (RFC 8928 §6.2): the
// CIPO's Crypto-ID is rovr, and the NDPSO's signature over the signed
// content (AppendSignedContent) verifies with the CIPO's key, for the NS's
// target, the router's nonceLR and the 6LN's Nonce option. earoLength is
// the Length octet of the NS's EARO. Errors wrap ErrProof or
// ErrCryptoType.
func VerifyProof(rovr []byte, opts *APNDOptions, target netip.Addr, nonceLR []byte, earoLength uint8) error {
	if opts.CIPO == nil || opts.NDPSO == nil || opts.Nonce == nil {
		return errProofMissing
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
	content := AppendSignedContent(buf[:0], opts.CIPO, target, nonceLR, opts.Nonce.Nonce(), earoLength)
	if !key.Verify(content, opts.NDPSO.Signature()) {
		return errProofSig
	}
	return nil
}

// APNDKey is a 6LN's key pair for AP-ND: it gives the CIPO, the Crypto-ID
// and the NDPSO that answers a challenge.
type APNDKey struct {
	typ CryptoType
	ed  ed25519.PrivateKey
	ec  *ecdsa.PrivateKey
	pub []byte // the Public Key field of its CIPO
}

// NewAPNDKey derives a key pair of Crypto-Type t from seed, so that a
// simulated node keeps its identity across runs: Ed25519 takes
// SHA-256(seed) as its RFC 8032 seed; P-256 takes the first
// SHA-256(seed ‖ counter) that is a valid scalar (ecdsa.ParseRawPrivateKey
// checks it is below the group order). The CIPO carries the public key
// JWK-encoded with its members in RFC 7638 order; RawPublicKey switches to
// the bare form.
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
	k.pub = k.jwk()
	return k, nil
}

// RawPublicKey makes the CIPO carry the bare key (65-octet uncompressed
// SEC 1 point, 32-octet Ed25519 key) instead of its JWK.
func (k *APNDKey) RawPublicKey() {
	switch k.typ {
	case CryptoEd25519:
		k.pub = bytes.Clone(k.ed.Public().(ed25519.PublicKey))
	case CryptoECDSAP256:
		k.pub, _ = k.ec.PublicKey.Bytes()
	}
}

func (k *APNDKey) jwk() []byte {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k.typ {
	case CryptoEd25519:
		return []byte(`{"crv":"Ed25519","kty":"OKP","x":"` + b64(k.ed.Public().(ed25519.PublicKey)) + `"}`)
	default:
		pt, _ := k.ec.PublicKey.Bytes()
		return []byte(`{"crv":"P-256","kty":"EC","x":"` + b64(pt[1:1+p256CoordLen]) + `","y":"` + b64(pt[1+p256CoordLen:]) + `"}`)
	}
}

// CryptoType returns the key's Crypto-Type.
func (k *APNDKey) CryptoType() CryptoType { return k.typ }

// CIPO returns the node's CIPO.
func (k *APNDKey) CIPO() CIPOFields { return CIPOFields{CryptoType: k.typ, PublicKey: k.pub} }

// CryptoID returns the node's Crypto-ID of n octets, its ROVR.
func (k *APNDKey) CryptoID(n int) (ROVR, error) {
	return CryptoID(CIPO(k.CIPO().Append(nil)), n)
}

// Sign signs content (see PublicKey.Verify for the forms).
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
// node's nonceLN (sent in its own Nonce option) and the Length octet of
// its EARO.
func (k *APNDKey) Proof(target netip.Addr, nonceLR, nonceLN []byte, earoLength uint8) (NDPSOFields, error) {
	content := AppendSignedContent(nil, CIPO(k.CIPO().Append(nil)), target, nonceLR, nonceLN, earoLength)
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
