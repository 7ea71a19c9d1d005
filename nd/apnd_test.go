package nd

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// The addresses of the AP-ND tests: a 6LN registering with the router
// directly (RFC 8505 §5.5: the source is its link-local address, the
// target the registered address).
var (
	apndRouter = mustAddr("fe80::1")
	apndNodeLL = mustAddr("fe80::12:3456:78ab:cdef")
	apndNodeG  = mustAddr("2001:db8:1::12:3456:78ab:cdef")
	apndMAC    = lowpan.ExtendedLinkAddr([8]byte{0x02, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef})
	apndThief  = lowpan.ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0x66, 0x66})
	apndT0     = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

func mustKey(t testing.TB, typ CryptoType, seed string) *APNDKey {
	t.Helper()
	k, err := NewAPNDKey(typ, []byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustCryptoID(t testing.TB, k *APNDKey, n int) ROVR {
	t.Helper()
	id, err := k.CryptoID(n)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// apndNS builds an NS(EARO) with the C flag for target, claiming rovr,
// with extra options after the EARO and the SLLAO.
func apndNS(t testing.TB, target netip.Addr, rovr ROVR, tid uint8, lifetime uint16, mac lowpan.LinkAddr, cflag bool, extra ...OptionSerializer) []byte {
	t.Helper()
	aro := AROFields{T: true, TID: tid, Lifetime: lifetime, ROVR: rovr.Bytes()}
	var earo OptionSerializer = aro
	if cflag {
		earo = CryptoIDARO{aro}
	}
	opts := append([]OptionSerializer{earo, SourceLinkAddr{Addr: mac}}, extra...)
	return mustAppend(t, apndNodeLL, apndRouter, 255, NSFields{Target: target}, opts...)
}

// answer builds the 6LN's answer to a challenge with nonceLR: its NS(EARO)
// again, with CIPO, NonceLN and NDPSO (RFC 8928 §6.1).
func answer(t testing.TB, k *APNDKey, target netip.Addr, rovr ROVR, tid uint8, lifetime uint16, mac lowpan.LinkAddr, nonceLR []byte) []byte {
	t.Helper()
	nonceLN := []byte{1, 2, 3, 4, 5, 6}
	earoLen := EAROLength(rovr.Len())
	proof, err := k.Proof(target, nonceLR, nonceLN, earoLen)
	if err != nil {
		t.Fatal(err)
	}
	return apndNS(t, target, rovr, tid, lifetime, mac, true, k.CIPO(earoLen), NonceFields{Nonce: nonceLN}, proof)
}

// optionsOf serializes opts into an options area.
func optionsOf(opts ...OptionSerializer) Options {
	var b []byte
	for _, o := range opts {
		start := len(b)
		b = grow(b, o.Len())
		o.Serialize(b[start:])
	}
	return Options(b)
}

func TestAPNDOptionsRoundTrip(t *testing.T) {
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		for _, comp := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/compressed=%v", typ, comp), func(t *testing.T) {
				k := mustKey(t, typ, "round trip")
				if comp {
					k.CompressPublicKey()
				}
				rovr := mustCryptoID(t, k, 16)
				cipo := k.CIPO(3)
				nonce := []byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4}
				sig := bytes.Repeat([]byte{0xa5}, 64)
				pkt := apndNS(t, apndNodeG, rovr, 7, 10, apndMAC, true, cipo, NonceFields{Nonce: nonce}, NDPSOFields{Signature: sig})
				m := mustParse(t, pkt)
				if m.ARO == nil || !m.ARO.CryptoIDFlag() || !m.ARO.T() || m.ARO.TID() != 7 {
					t.Fatalf("EARO %x: want C and T set, TID 7", m.ARO)
				}
				// RFC 9927 §3: the C flag is bit 1 of the flags octet (bit
				// 0 the most significant; RFC 8505 §9.1 has T at bit 7),
				// clear of RFC 9685's P-field (bits 2–3) and of I.
				if m.ARO[4] != 0x41 {
					t.Errorf("EARO flags octet %#02x, want 0x41 (C, T)", m.ARO[4])
				}
				// RFC 8928's old position (bit 3) is RFC 9685's P-field
				// now: a P-field value is not a C flag.
				for _, flags := range []byte{0x10, 0x20, 0x30, 0x0d, 0x03} {
					old := bytes.Clone([]byte(m.ARO))
					old[4] = flags
					if ARO(old).CryptoIDFlag() {
						t.Errorf("flags %#02x taken for the C flag", flags)
					}
				}
				var o APNDOptions
				if err := ParseAPNDOptions(m.Options, &o); err != nil {
					t.Fatal(err)
				}
				if o.CIPO.CryptoType() != typ || !bytes.Equal(o.CIPO.PublicKey(), cipo.PublicKey) || o.CIPO.EAROLength() != 3 || o.CIPO.Modifier() != 0 {
					t.Errorf("CIPO %x: want type %v key %x, EARO Length 3", o.CIPO, typ, cipo.PublicKey)
				}
				// RFC 8928 §8.2 Table 1: 65/33-octet P-256 keys, 32-octet
				// Ed25519 keys.
				wantKey := map[CryptoType]int{CryptoECDSAP256: 65, CryptoEd25519: 32}[typ]
				if comp && typ == CryptoECDSAP256 {
					wantKey = 33
				}
				if len(cipo.PublicKey) != wantKey {
					t.Errorf("public key of %d octets, want %d", len(cipo.PublicKey), wantKey)
				}
				if len(o.CIPO)%8 != 0 || len(o.CIPO)-cipoKey-len(cipo.PublicKey) >= 8 {
					t.Errorf("CIPO of %d octets for a %d-octet key: padding is not to the next boundary", len(o.CIPO), len(cipo.PublicKey))
				}
				if !bytes.Equal(o.NDPSO.Signature(), sig) || len(o.NDPSO) != 72 {
					t.Errorf("NDPSO %x", o.NDPSO)
				}
				if !bytes.Equal(o.Nonce.Nonce(), nonce) || len(o.Nonce) != 16 {
					t.Errorf("Nonce %x", o.Nonce)
				}
				id, err := CryptoID(o.CIPO, 16)
				if err != nil || id != rovr {
					t.Errorf("CryptoID of the parsed CIPO = %v, %v; want %v", id, err, rovr)
				}
				pub, err := ParsePublicKey(typ, o.CIPO.PublicKey())
				if err != nil {
					t.Fatal(err)
				}
				content := []byte("signed")
				s, _ := k.Sign(content)
				if !pub.Verify(content, s) {
					t.Error("the key read back from the CIPO does not verify the key's signature")
				}
			})
		}
	}
}

// The CIPO's and NDPSO's octets, written out from RFC 8928 §4.3 Figure 2
// and §4.4 Figure 3.
func TestCIPOLayout(t *testing.T) {
	// 7 fixed octets (Type, Length, Reserved1 and Public Key Length,
	// Crypto-Type, Modifier, EARO Length) and a 3-octet key: two units.
	f := CIPOFields{CryptoType: CryptoEd25519, Modifier: 0x5a, EAROLength: 3, PublicKey: []byte{0xaa, 0xbb, 0xcc}}
	if f.Len() != 16 {
		t.Fatalf("Len %d, want 16", f.Len())
	}
	got := f.Append(nil)
	want := []byte{39, 2, 0x00, 0x03, 1, 0x5a, 3, 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0, 0}
	equalBytes(t, "CIPO", want, got)
	c := CIPO(got)
	if c.Validate() != nil || c.Modifier() != 0x5a || c.EAROLength() != 3 || !bytes.Equal(c.PublicKey(), []byte{0xaa, 0xbb, 0xcc}) {
		t.Errorf("CIPO %x read back wrong", c)
	}
	// The option lengths of the keys of Table 1: 7+65 = 72 octets (9
	// units), 7+33 → 40 (5), 7+32 → 40 (5).
	for n, units := range map[int]int{65: 9, 33: 5, 32: 5} {
		if l := (CIPOFields{PublicKey: make([]byte, n)}).Len(); l != 8*units {
			t.Errorf("CIPO with a %d-octet key: %d octets, want %d", n, l, 8*units)
		}
	}
	n := NDPSOFields{Signature: []byte{1, 2}}
	nb := make([]byte, n.Len())
	n.Serialize(nb)
	equalBytes(t, "NDPSO", []byte{40, 2, 0, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0}, nb)
	long := CIPOFields{PublicKey: make([]byte, 2047)}
	lb := long.Append(nil)
	if CIPO(lb).PublicKeyLength() != 2047 || lb[2] != 0x07 || lb[3] != 0xff {
		t.Errorf("11-bit length: %x", lb[:4])
	}
}

func TestAPNDOptionsMalformed(t *testing.T) {
	cases := []struct {
		name string
		opt  []byte
	}{
		{"CIPO key runs past the option", []byte{39, 1, 0, 2, 0, 0, 3, 1}},
		{"CIPO key length 0", []byte{39, 1, 0, 0, 0, 0, 3, 0}},
		{"CIPO padding past the boundary", append([]byte{39, 2, 0, 1, 0, 0, 3, 1}, make([]byte, 8)...)},
		{"NDPSO signature past the option", []byte{40, 1, 0, 1, 0, 0, 0, 0}},
		{"NDPSO padding past the boundary", append([]byte{40, 3, 0, 1, 0, 0, 0, 0, 1}, make([]byte, 15)...)},
		// (A Nonce option cannot be shorter than 6 octets once framed:
		// Length 1 leaves exactly 6.)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o APNDOptions
			err := ParseAPNDOptions(Options(c.opt), &o)
			if !errors.Is(err, ErrOption) {
				t.Fatalf("err %v, want ErrOption", err)
			}
		})
	}
	// Reserved bits are ignored on receipt (RFC 8928 §4.3, §4.4).
	earo := AROFields{T: true, Lifetime: 10, ROVR: make([]byte, 16)}
	cipo, ndpso := rawOpt{39, 1, 0xf8, 1, 0, 0xff, 3, 2}, rawOpt{40, 2, 0xf8, 1, 9, 9, 9, 9, 7, 0, 0, 0, 0, 0, 0, 0}
	var o APNDOptions
	if err := ParseAPNDOptions(optionsOf(earo, cipo, ndpso), &o); err != nil {
		t.Fatal(err)
	}
	if o.CIPO.PublicKeyLength() != 1 || o.CIPO.PublicKey()[0] != 2 || o.CIPO.Modifier() != 0xff || o.NDPSO.SignatureLength() != 1 || o.NDPSO.Signature()[0] != 7 {
		t.Errorf("reserved bits leak into the fields: %x %x", o.CIPO, o.NDPSO)
	}
	// RFC 8928 §4.4: a message with an NDPSO has one and only one EARO.
	for name, opts := range map[string]Options{
		"no EARO":   optionsOf(cipo, ndpso),
		"two EAROs": optionsOf(earo, earo, cipo, ndpso),
	} {
		if err := ParseAPNDOptions(opts, &o); !errors.Is(err, ErrOption) {
			t.Errorf("%s: %v, want ErrOption", name, err)
		}
	}
	if err := ParseAPNDOptions(optionsOf(earo, earo, cipo), &o); err != nil {
		t.Errorf("two EAROs without an NDPSO are not AP-ND's business: %v", err)
	}
}

// The Crypto-ID is the hash the Crypto-Type names over the CIPO with its
// reserved bits and padding zero (RFC 8928 §4.1, the hashes of §8.2 Table
// 1): reserved bits set on the wire do not change it; the Modifier and the
// EARO Length, which are no reserved fields, do.
func TestCryptoIDHashAndReserved(t *testing.T) {
	for _, c := range []struct {
		typ  CryptoType
		hash func([]byte) []byte
	}{
		{CryptoECDSAP256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
		{CryptoEd25519, func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }},
		{CryptoECDSA25519, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
	} {
		f := CIPOFields{CryptoType: c.typ, EAROLength: 3, PublicKey: []byte("a public key of 29 octets....")}
		clean := f.Append(nil)
		for _, n := range []int{8, 16, 24, 32} {
			id, err := CryptoID(CIPO(clean), n)
			if err != nil {
				t.Fatal(err)
			}
			equalBytes(t, fmt.Sprintf("%v Crypto-ID/%d", c.typ, n), c.hash(clean)[:n], id.Bytes())
		}
		dirty := bytes.Clone(clean)
		dirty[2] |= 0xf8 // Reserved1
		dirty[len(dirty)-1] = 0xff
		a, _ := CryptoID(CIPO(clean), 16)
		b, _ := CryptoID(CIPO(dirty), 16)
		if a != b {
			t.Errorf("%v: reserved bits change the Crypto-ID", c.typ)
		}
		for name, g := range map[string]CIPOFields{
			"Modifier":    {CryptoType: c.typ, Modifier: 1, EAROLength: 3, PublicKey: f.PublicKey},
			"EARO Length": {CryptoType: c.typ, EAROLength: 4, PublicKey: f.PublicKey},
		} {
			if id, _ := CryptoID(CIPO(g.Append(nil)), 16); id == a {
				t.Errorf("%v: another %s, the same Crypto-ID", c.typ, name)
			}
		}
	}
	if _, err := CryptoID(CIPO(CIPOFields{CryptoType: 9, PublicKey: []byte{1}}.Append(nil)), 16); !errors.Is(err, ErrCryptoType) {
		t.Errorf("unknown Crypto-Type: %v", err)
	}
	if _, err := CryptoID(CIPO(CIPOFields{PublicKey: []byte{1}}.Append(nil)), 12); err == nil {
		t.Error("a 96-bit ROVR is not an RFC 8505 size")
	}
}

// Every field the NDPSO signs is bound by the signature (RFC 8928 §6.2).
func TestProofBindsEverySignedField(t *testing.T) {
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		t.Run(typ.String(), func(t *testing.T) {
			k := mustKey(t, typ, "binding")
			other := mustKey(t, typ, "another node")
			rovr := mustCryptoID(t, k, 16)
			nonceLR := []byte{1, 1, 1, 1, 1, 1}
			nonceLN := []byte{2, 2, 2, 2, 2, 2}
			proof, err := k.Proof(apndNodeG, nonceLR, nonceLN, 3)
			if err != nil {
				t.Fatal(err)
			}
			opts := func(key *APNDKey, sig []byte, ln []byte) *APNDOptions {
				return &APNDOptions{
					CIPO:  CIPO(key.CIPO(3).Append(nil)),
					NDPSO: NDPSO(NDPSOFields{Signature: sig}.Append(nil)),
					Nonce: NonceOption(NonceFields{Nonce: ln}.Append(nil)),
				}
			}
			if err := VerifyProof(rovr.Bytes(), opts(k, proof.Signature, nonceLN), apndNodeG, nonceLR, 3); err != nil {
				t.Fatalf("the genuine proof: %v", err)
			}
			flipped := bytes.Clone(proof.Signature)
			flipped[10] ^= 1
			otherProof, _ := other.Proof(apndNodeG, nonceLR, nonceLN, 3)
			// Signed consistently for an EARO of Length 4 (a 192-bit
			// ROVR), sent in one of Length 3.
			proof4, _ := k.Proof(apndNodeG, nonceLR, nonceLN, 4)
			cipo4 := &APNDOptions{CIPO: CIPO(k.CIPO(4).Append(nil)), NDPSO: NDPSO(proof4.Append(nil)), Nonce: NonceOption(NonceFields{Nonce: nonceLN}.Append(nil))}
			for _, c := range []struct {
				name string
				err  error
			}{
				{"other target", VerifyProof(rovr.Bytes(), opts(k, proof.Signature, nonceLN), apndNodeLL, nonceLR, 3)},
				{"other NonceLR", VerifyProof(rovr.Bytes(), opts(k, proof.Signature, nonceLN), apndNodeG, []byte{1, 1, 1, 1, 1, 2}, 3)},
				{"other NonceLN", VerifyProof(rovr.Bytes(), opts(k, proof.Signature, []byte{2, 2, 2, 2, 2, 3}), apndNodeG, nonceLR, 3)},
				{"other EARO length", VerifyProof(rovr.Bytes(), opts(k, proof.Signature, nonceLN), apndNodeG, nonceLR, 4)},
				{"CIPO for another EARO length", VerifyProof(rovr.Bytes(), cipo4, apndNodeG, nonceLR, 3)},
				{"flipped signature", VerifyProof(rovr.Bytes(), opts(k, flipped, nonceLN), apndNodeG, nonceLR, 3)},
				{"another key's CIPO and proof, copied ROVR", VerifyProof(rovr.Bytes(), opts(other, otherProof.Signature, nonceLN), apndNodeG, nonceLR, 3)},
				{"another key's signature", VerifyProof(rovr.Bytes(), opts(k, otherProof.Signature, nonceLN), apndNodeG, nonceLR, 3)},
			} {
				if !errors.Is(c.err, ErrProof) {
					t.Errorf("%s: %v, want ErrProof", c.name, c.err)
				}
			}
			if err := VerifyProof(rovr.Bytes(), &APNDOptions{CIPO: opts(k, proof.Signature, nonceLN).CIPO}, apndNodeG, nonceLR, 3); !errors.Is(err, ErrProof) {
				t.Errorf("no NDPSO: %v", err)
			}
		})
	}
}

// The key representations of RFC 8928 §8.2 Table 1 and Appendix B: SEC 1
// points, uncompressed or compressed, for ECDSA256 (B.3); the 32-octet RFC
// 8032 key for Ed25519 (B.1). Nothing else — the RFC has no JWK.
func TestParsePublicKeyForms(t *testing.T) {
	k := mustKey(t, CryptoECDSAP256, "forms")
	point := k.CIPO(3).PublicKey
	if len(point) != 65 || point[0] != 4 {
		t.Fatalf("uncompressed P-256 key %x", point)
	}
	k.CompressPublicKey()
	comp := k.CIPO(3).PublicKey
	if len(comp) != 33 || comp[0] != 2+point[64]&1 || !bytes.Equal(comp[1:], point[1:33]) {
		t.Fatalf("compressed P-256 key %x of %x", comp, point)
	}
	content := []byte("content")
	sig, _ := k.Sign(content)
	for name, field := range map[string][]byte{"uncompressed": point, "compressed": comp} {
		pub, err := ParsePublicKey(CryptoECDSAP256, field)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !pub.Verify(content, sig) {
			t.Errorf("%s: the key does not verify its signature", name)
		}
	}
	ed := mustKey(t, CryptoEd25519, "x")
	edKey := ed.CIPO(3).PublicKey
	if _, err := ParsePublicKey(CryptoEd25519, edKey); err != nil || len(edKey) != 32 {
		t.Errorf("Ed25519 key %x: %v", edKey, err)
	}
	for name, c := range map[string]struct {
		typ   CryptoType
		field []byte
	}{
		"Ed25519 key for P-256":        {CryptoECDSAP256, edKey},
		"P-256 key for Ed25519":        {CryptoEd25519, point},
		"point off the curve":          {CryptoECDSAP256, append([]byte{4}, make([]byte, 64)...)},
		"compressed off curve":         {CryptoECDSAP256, append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)},
		"uncompressed prefix, 33":      {CryptoECDSAP256, append([]byte{4}, comp[1:]...)},
		"point at infinity":            {CryptoECDSAP256, []byte{0}},
		"a JWK":                        {CryptoEd25519, []byte(`{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`)},
		"Ed25519 key of 31 octets":     {CryptoEd25519, edKey[:31]},
		"ECDSA25519 unsupported":       {CryptoECDSA25519, point},
		"unassigned Crypto-Type (200)": {200, point},
	} {
		if _, err := ParsePublicKey(c.typ, c.field); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// nonceOf returns the Nonce option of a challenge's NA options.
func challengeNonce(t *testing.T, d APNDDecision) []byte {
	t.Helper()
	if d.Action != APNDChallenge || d.Status != StatusValidationRequested {
		t.Fatalf("decision %+v, want a challenge with status 5", d)
	}
	if err := d.Nonce.validate(); err != nil {
		t.Fatalf("challenge nonce: %v", err)
	}
	return d.Nonce.Nonce
}

func checkNS(t *testing.T, a *APND, pkt []byte, from lowpan.LinkAddr, now time.Time) APNDDecision {
	t.Helper()
	m := mustParse(t, pkt)
	return a.CheckNS(m, m.Target, from, now)
}

// The whole exchange of RFC 8928 §6.1 against the router's side, and the
// intruder's attempts on a protected address.
func TestAPNDChallengeFlow(t *testing.T) {
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		t.Run(typ.String(), func(t *testing.T) {
			a := NewAPND(APNDConfig{})
			k := mustKey(t, typ, "victim")
			rovr := mustCryptoID(t, k, 16)

			// 1. First NS: challenged, with a fresh 6-octet nonce.
			d := checkNS(t, a, apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true), apndMAC, apndT0)
			nonce := challengeNonce(t, d)
			if len(nonce) != 6 {
				t.Errorf("nonce of %d octets", len(nonce))
			}
			// A retransmitted NS gets the same nonce.
			d = checkNS(t, a, apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true), apndMAC, apndT0.Add(time.Second))
			if !bytes.Equal(challengeNonce(t, d), nonce) {
				t.Error("a retransmission got another nonce")
			}

			// 2. An intruder with the copied ROVR answers with its own key:
			// refused, and the owner's challenge survives.
			thief := mustKey(t, typ, "intruder")
			d = checkNS(t, a, answer(t, thief, apndNodeG, rovr, 2, 10, apndThief, nonce), apndThief, apndT0.Add(time.Second))
			if d.Action != APNDRefuse || d.Status != StatusValidationFailed || !errors.Is(d.Err, ErrProof) {
				t.Fatalf("intruder's proof: %+v", d)
			}

			// 3. The owner's answer: proven.
			proofNS := answer(t, k, apndNodeG, rovr, 1, 10, apndMAC, nonce)
			d = checkNS(t, a, proofNS, apndMAC, apndT0.Add(2*time.Second))
			if d.Action != APNDRegister || !d.Proven || d.Err != nil {
				t.Fatalf("owner's proof: %+v", d)
			}
			if a.Pending() != 0 {
				t.Errorf("%d challenges left after the proof", a.Pending())
			}

			// 4. The same proof played again (a replay by someone who
			// heard it): no challenge outstanding, so a new one.
			d = checkNS(t, a, proofNS, apndThief, apndT0.Add(3*time.Second))
			if d.Action != APNDChallenge || !errors.Is(d.Err, ErrProof) {
				t.Fatalf("replayed proof: %+v", d)
			}
			if bytes.Equal(d.Nonce.Nonce, nonce) {
				t.Error("the new challenge reuses the spent nonce")
			}

			// 5. Deregistration (lifetime 0) by the intruder: challenged,
			// and it cannot answer; by the owner: proven.
			nonce2 := challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, 9, 0, apndThief, true), apndThief, apndT0.Add(4*time.Second)))
			d = checkNS(t, a, answer(t, thief, apndNodeG, rovr, 9, 0, apndThief, nonce2), apndThief, apndT0.Add(4*time.Second))
			if d.Action != APNDRefuse {
				t.Fatalf("intruder's deregistration: %+v", d)
			}
			d = checkNS(t, a, answer(t, k, apndNodeG, rovr, 3, 0, apndMAC, nonce2), apndMAC, apndT0.Add(5*time.Second))
			if d.Action != APNDRegister || !d.Proven {
				t.Fatalf("owner's deregistration: %+v", d)
			}

			// The owner's CIPO was stored (RFC 8928 §6.1), the intruder's,
			// which does not hash to the ROVR, was not.
			if a.CIPOs() != 1 {
				t.Errorf("%d CIPOs stored, want the owner's", a.CIPOs())
			}

			// 6. A legacy EARO with the copied ROVR (C flag clear): passed
			// on unproven, for the registry to refuse.
			d = checkNS(t, a, apndNS(t, apndNodeG, rovr, 10, 10, apndThief, false), apndThief, apndT0.Add(6*time.Second))
			if d.Action != APNDRegister || d.Proven {
				t.Fatalf("legacy EARO: %+v", d)
			}
			c := a.Counters()
			if c.Proven != 2 || c.Failed != 2 || c.Legacy != 1 || c.Challenges != 4 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

// A proof over a longer Crypto-ID does not pass for a truncated ROVR: the
// EARO's length is signed, and the ROVR must be the hash's leftmost bits.
func TestAPNDTruncatedCryptoID(t *testing.T) {
	a := NewAPND(APNDConfig{})
	k := mustKey(t, CryptoEd25519, "sizes")
	for _, n := range []int{8, 16, 24, 32} {
		rovr := mustCryptoID(t, k, n)
		nonce := challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true), apndMAC, apndT0))
		d := checkNS(t, a, answer(t, k, apndNodeG, rovr, 1, 10, apndMAC, nonce), apndMAC, apndT0)
		if !d.Proven {
			t.Errorf("%d-octet Crypto-ID: %+v", n, d)
		}
	}
	long := mustCryptoID(t, k, 32)
	short, _ := MakeROVR(long.Bytes()[:16])
	nonce := challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, short, 1, 10, apndMAC, true), apndMAC, apndT0))
	// Signed with the 256-bit EARO's length (5), sent in a 128-bit one (3).
	proof, _ := k.Proof(apndNodeG, nonce, []byte{1, 2, 3, 4, 5, 6}, 5)
	pkt := apndNS(t, apndNodeG, short, 1, 10, apndMAC, true, k.CIPO(5), NonceFields{Nonce: []byte{1, 2, 3, 4, 5, 6}}, proof)
	if d := checkNS(t, a, pkt, apndMAC, apndT0); d.Action != APNDRefuse {
		t.Errorf("a proof signed for another EARO length: %+v", d)
	}
}

func TestAPNDExpiryAndCaps(t *testing.T) {
	a := NewAPND(APNDConfig{ChallengeLifetime: 5 * time.Second, MaxChallenges: 8, MaxChallengesPerSource: 2})
	k := mustKey(t, CryptoEd25519, "expiry")
	rovr := mustCryptoID(t, k, 16)
	nonce := challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true), apndMAC, apndT0))
	// Answered after the challenge ran out: a new challenge, not a proof.
	late := apndT0.Add(6 * time.Second)
	d := checkNS(t, a, answer(t, k, apndNodeG, rovr, 1, 10, apndMAC, nonce), apndMAC, late)
	if d.Action != APNDChallenge || bytes.Equal(d.Nonce.Nonce, nonce) {
		t.Fatalf("late answer: %+v", d)
	}
	if a.Expire(late.Add(5*time.Second)) != 1 || a.Pending() != 0 {
		t.Errorf("Expire left %d", a.Pending())
	}

	// One source floods challenges: it keeps only its newest two, and
	// another node's challenge is untouched.
	owner := challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true), apndMAC, apndT0))
	for i := range 20 {
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(i + 1)})
		checkNS(t, a, apndNS(t, addr, rovr, 1, 10, apndThief, true), apndThief, apndT0.Add(time.Duration(i)*time.Millisecond))
	}
	if a.Pending() != 3 {
		t.Errorf("%d pending, want the owner's and the flooder's last 2", a.Pending())
	}
	if d := checkNS(t, a, answer(t, k, apndNodeG, rovr, 1, 10, apndMAC, owner), apndMAC, apndT0.Add(time.Second)); !d.Proven {
		t.Errorf("the owner's challenge was lost to the flood: %+v", d)
	}
	// Many sources: the table holds MaxChallenges, the oldest go first.
	for i := range 20 {
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 15: byte(i + 1)})
		src := lowpan.ShortLinkAddr(uint16(i + 1))
		checkNS(t, a, apndNS(t, addr, rovr, 1, 10, src, true), src, apndT0.Add(time.Second+time.Duration(i)*time.Millisecond))
	}
	if a.Pending() != 8 {
		t.Errorf("%d pending, want the cap of 8", a.Pending())
	}
	if c := a.Counters(); c.Evicted == 0 {
		t.Errorf("counters %+v: evictions not counted", c)
	}
}

func TestAPNDPolicy(t *testing.T) {
	legacyARO := mustAppend(t, apndNodeG, apndRouter, 255, NSFields{Target: apndRouter},
		AROFields{Lifetime: 10, ROVR: []byte{2, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef}}, SourceLinkAddr{Addr: apndMAC})
	k := mustKey(t, CryptoEd25519, "policy")
	rovr := mustCryptoID(t, k, 16)

	open := NewAPND(APNDConfig{})
	if d := checkNS(t, open, legacyARO, apndMAC, apndT0); d.Action != APNDRegister || d.Proven {
		t.Errorf("RFC 6775 ARO by default: %+v", d)
	}
	strict := NewAPND(APNDConfig{RequireCryptoID: true})
	for name, pkt := range map[string][]byte{"ARO": legacyARO, "EARO without C": apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, false)} {
		if d := checkNS(t, strict, pkt, apndMAC, apndT0); d.Action != APNDRefuse || d.Status != StatusValidationFailed {
			t.Errorf("%s under RequireCryptoID: %+v", name, d)
		}
	}
	// RFC 8928 §6: "If the 6LR does not support the Crypto-Type, it MUST
	// reply with an EARO status code of 10 ... without a challenge":
	// Crypto-Type 2 (ECDSA25519) and an unassigned one, with a proof or
	// without.
	for _, typ := range []CryptoType{CryptoECDSA25519, 77} {
		a := NewAPND(APNDConfig{})
		f := CIPOFields{CryptoType: typ, EAROLength: 3, PublicKey: bytes.Repeat([]byte{4}, 65)}
		id, _ := CryptoID(CIPO(f.Append(nil)), 16)
		if typ != CryptoECDSA25519 {
			id = rovr
		}
		for name, pkt := range map[string][]byte{
			"CIPO":                  apndNS(t, apndNodeG, id, 1, 10, apndMAC, true, f),
			"CIPO, Nonce and NDPSO": apndNS(t, apndNodeG, id, 1, 10, apndMAC, true, f, NonceFields{Nonce: []byte{1, 2, 3, 4, 5, 6}}, NDPSOFields{Signature: make([]byte, 64)}),
		} {
			if d := checkNS(t, a, pkt, apndMAC, apndT0); d.Action != APNDRefuse || d.Status != StatusValidationFailed || !errors.Is(d.Err, ErrCryptoType) {
				t.Errorf("Crypto-Type %v, %s: %+v", typ, name, d)
			}
		}
		if a.Pending() != 0 || a.Counters().Challenges != 0 {
			t.Errorf("Crypto-Type %v: challenged", typ)
		}
	}
	// RFC 8928 §6: an EDAR says the 6LR validated the 6LN with status 5;
	// the 6LBR takes its word only under TrustRelays, and (local policy)
	// from a 6LR that proved its own Crypto-ID.
	trusting := NewAPND(APNDConfig{TrustRelays: true})
	for _, c := range []struct {
		a        *APND
		status   Status
		viaProt  bool
		expected bool
	}{
		{open, StatusValidationRequested, true, false},
		{trusting, StatusValidationRequested, true, true},
		{trusting, StatusValidationRequested, false, false},
		{trusting, StatusSuccess, true, false},
	} {
		if got := c.a.RelayProven(c.status, c.viaProt); got != c.expected {
			t.Errorf("RelayProven(%v, %v) with TrustRelays %v = %v", c.status, c.viaProt, c.a.cfg.TrustRelays, got)
		}
	}
	if open.RelayStatus() != StatusValidationRequested {
		t.Errorf("EDAC status %v, want 5 (RFC 8928 §6)", open.RelayStatus())
	}
}

// RFC 8928 §6.1: the router stores the CIPO of a Crypto-ID; the 6LN may
// leave it out of a revalidation, and a 6LN whose CIPO the router does not
// have is challenged again (it then "SHOULD add the CIPO again").
func TestAPNDStoredCIPO(t *testing.T) {
	a := NewAPND(APNDConfig{MaxCIPOs: 2})
	k := mustKey(t, CryptoECDSAP256, "stored")
	rovr := mustCryptoID(t, k, 16)
	withoutCIPO := func(nonceLR []byte) []byte {
		nonceLN := []byte{7, 7, 7, 7, 7, 7}
		proof, _ := k.Proof(apndNodeG, nonceLR, nonceLN, 3)
		return apndNS(t, apndNodeG, rovr, 2, 10, apndMAC, true, NonceFields{Nonce: nonceLN}, proof)
	}
	// No CIPO seen yet: challenged again, with the same nonce.
	nonce := challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true), apndMAC, apndT0))
	d := checkNS(t, a, withoutCIPO(nonce), apndMAC, apndT0)
	if !bytes.Equal(challengeNonce(t, d), nonce) || !errors.Is(d.Err, ErrProof) {
		t.Fatalf("proof without a CIPO, none stored: %+v", d)
	}
	// With the CIPO: proven, and stored.
	if d := checkNS(t, a, answer(t, k, apndNodeG, rovr, 1, 10, apndMAC, nonce), apndMAC, apndT0); !d.Proven {
		t.Fatalf("proof with the CIPO: %+v", d)
	}
	// The revalidation leaves the CIPO out: proven from the store.
	nonce = challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, 2, 10, apndMAC, true), apndMAC, apndT0))
	if d := checkNS(t, a, withoutCIPO(nonce), apndMAC, apndT0); !d.Proven {
		t.Fatalf("revalidation without the CIPO: %+v", d)
	}
	// The store is bounded, the oldest CIPO goes first.
	for _, seed := range []string{"b", "c"} {
		o := mustKey(t, CryptoEd25519, seed)
		id := mustCryptoID(t, o, 16)
		checkNS(t, a, apndNS(t, apndNodeG, id, 1, 10, apndMAC, true, o.CIPO(3)), apndMAC, apndT0)
	}
	if a.CIPOs() != 2 {
		t.Errorf("%d CIPOs stored, want the cap of 2", a.CIPOs())
	}
	nonce = challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, 3, 10, apndMAC, true), apndMAC, apndT0))
	if d := checkNS(t, a, withoutCIPO(nonce), apndMAC, apndT0); d.Action != APNDChallenge {
		t.Errorf("evicted CIPO: %+v, want challenged again", d)
	}
}

// A 6LR challenges its 6LN when the 6LBR asks with status 5 in an EDAC
// (RFC 8928 §6): Challenge opens the challenge the 6LN's answer meets.
func TestAPNDChallengeOnRequest(t *testing.T) {
	a := NewAPND(APNDConfig{})
	k := mustKey(t, CryptoEd25519, "asked")
	rovr := mustCryptoID(t, k, 16)
	n := a.Challenge(apndNodeG, rovr, apndMAC, apndT0)
	if err := n.validate(); err != nil || a.Pending() != 1 {
		t.Fatalf("nonce %x (%v), %d pending", n.Nonce, err, a.Pending())
	}
	if again := a.Challenge(apndNodeG, rovr, apndMAC, apndT0); !bytes.Equal(again.Nonce, n.Nonce) {
		t.Error("a repeated request drew another nonce")
	}
	if d := checkNS(t, a, answer(t, k, apndNodeG, rovr, 1, 10, apndMAC, n.Nonce), apndMAC, apndT0); !d.Proven {
		t.Errorf("answer to the requested challenge: %+v", d)
	}
}

// A malformed AP-ND option in an NS that claims a Crypto-ID fails the
// proof; the router answers "Validation Failed".
func TestAPNDMalformedOptionRefused(t *testing.T) {
	a := NewAPND(APNDConfig{})
	k := mustKey(t, CryptoEd25519, "malformed")
	rovr := mustCryptoID(t, k, 16)
	pkt := apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true, rawOpt{39, 1, 0, 9, 1, 0, 0, 0})
	if d := checkNS(t, a, pkt, apndMAC, apndT0); d.Action != APNDRefuse || !errors.Is(d.Err, ErrOption) {
		t.Errorf("%+v", d)
	}
}

type rawOpt []byte

func (o rawOpt) Len() int           { return len(o) }
func (o rawOpt) Serialize(b []byte) { copy(b, o) }

func TestNewAPNDKeyDeterministic(t *testing.T) {
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		a, b, c := mustKey(t, typ, "seed"), mustKey(t, typ, "seed"), mustKey(t, typ, "other")
		if !bytes.Equal(a.CIPO(3).PublicKey, b.CIPO(3).PublicKey) || bytes.Equal(a.CIPO(3).PublicKey, c.CIPO(3).PublicKey) {
			t.Errorf("%v: keys from seeds are not deterministic and distinct", typ)
		}
	}
	if _, err := NewAPNDKey(CryptoECDSA25519, nil); !errors.Is(err, ErrCryptoType) {
		t.Errorf("ECDSA25519 key: %v", err)
	}
}

func BenchmarkAPNDVerify(b *testing.B) {
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		b.Run(typ.String(), func(b *testing.B) {
			k := mustKey(b, typ, "bench")
			rovr := mustCryptoID(b, k, 16)
			nonceLR, nonceLN := []byte{1, 2, 3, 4, 5, 6}, []byte{6, 5, 4, 3, 2, 1}
			proof, _ := k.Proof(apndNodeG, nonceLR, nonceLN, 3)
			o := &APNDOptions{CIPO: CIPO(k.CIPO(3).Append(nil)), NDPSO: NDPSO(proof.Append(nil)), Nonce: NonceOption(NonceFields{Nonce: nonceLN}.Append(nil))}
			b.ReportAllocs()
			for b.Loop() {
				if err := VerifyProof(rovr.Bytes(), o, apndNodeG, nonceLR, 3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
