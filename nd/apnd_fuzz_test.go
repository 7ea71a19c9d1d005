package nd

import (
	"bytes"
	"testing"
)

// apndFuzzSeeds are option areas holding AP-ND options: genuine ones of
// both Crypto-Types and both P-256 key forms, and truncated, oversized and
// reserved-bit variants.
func apndFuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		for _, comp := range []bool{false, true} {
			k := mustKey(t, typ, "fuzz")
			if comp {
				k.CompressPublicKey()
			}
			proof, err := k.Proof(apndNodeG, []byte{1, 2, 3, 4, 5, 6}, []byte{6, 5, 4, 3, 2, 1}, 3)
			if err != nil {
				t.Fatal(err)
			}
			o := k.CIPO(3).Append(nil)
			o = NonceFields{Nonce: []byte{6, 5, 4, 3, 2, 1}}.Append(o)
			o = proof.Append(o)
			seeds = append(seeds, o)
		}
	}
	var more [][]byte
	for _, s := range seeds {
		dirty := bytes.Clone(s)
		dirty[2] |= 0xf8
		more = append(more, s[:len(s)-8], s[:len(s)/2], dirty, append(bytes.Clone(s), 39, 1, 0x07, 0xff, 0, 0, 0, 0))
	}
	return append(seeds, more...)
}

// FuzzAPNDOptions: the decoders never panic, whatever the option bytes;
// what they accept re-encodes to the same option (reserved bits aside) and
// goes through the Crypto-ID, key and proof checks without panicking.
func FuzzAPNDOptions(f *testing.F) {
	for _, s := range apndFuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var o APNDOptions
		if ParseAPNDOptions(Options(data), &o) != nil {
			return
		}
		if o.CIPO != nil {
			back := CIPOFields{CryptoType: o.CIPO.CryptoType(), Modifier: o.CIPO.Modifier(), EAROLength: o.CIPO.EAROLength(),
				PublicKey: o.CIPO.PublicKey()}.Append(nil)
			clean := bytes.Clone([]byte(o.CIPO))
			clean[2] &= 0x07
			clear(clean[cipoKey+o.CIPO.PublicKeyLength():])
			if !bytes.Equal(back, clean) {
				t.Fatalf("CIPO %x re-encodes as %x", o.CIPO, back)
			}
			for _, n := range []int{8, 16, 24, 32} {
				CryptoID(o.CIPO, n)
			}
			ParsePublicKey(o.CIPO.CryptoType(), o.CIPO.PublicKey())
		}
		if o.NDPSO != nil {
			back := NDPSOFields{Signature: o.NDPSO.Signature()}.Append(nil)
			n := o.NDPSO.SignatureLength()
			if len(back) != len(o.NDPSO) || !bytes.Equal(back[ndpsoSig:ndpsoSig+n], o.NDPSO[ndpsoSig:ndpsoSig+n]) {
				t.Fatalf("NDPSO %x re-encodes as %x", o.NDPSO, back)
			}
		}
		if o.Nonce != nil && len(o.Nonce.Nonce()) < minNonceLen {
			t.Fatalf("nonce %x accepted", o.Nonce)
		}
		VerifyProof(make([]byte, 16), &o, apndNodeG, []byte{1, 2, 3, 4, 5, 6}, 3)
	})
}

// FuzzAPNDCheckNS: an NS(EARO) with the C flag and arbitrary options after
// it never makes APND panic, is never taken for proven unless it holds a
// proof for a challenge this router sent, and leaves the challenge table
// within its caps.
func FuzzAPNDCheckNS(f *testing.F) {
	for _, s := range apndFuzzSeeds(f) {
		f.Add(s, uint8(3))
	}
	f.Add([]byte{}, uint8(1))
	k := mustKey(f, CryptoEd25519, "fuzz")
	rovr := mustCryptoID(f, k, 16)
	f.Fuzz(func(t *testing.T, tail []byte, tid uint8) {
		if len(tail)%8 != 0 || len(tail) > 1024 {
			return
		}
		pkt, err := AppendIPv6(nil, apndNodeLL, apndRouter, 255, NSFields{Target: apndNodeG},
			CryptoIDARO{AROFields{T: true, TID: tid, Lifetime: 10, ROVR: rovr.Bytes()}}, SourceLinkAddr{Addr: apndMAC}, rawOpt(tail))
		if err != nil {
			return
		}
		var m Message
		if Parse(pkt, &m) != nil {
			return
		}
		a := NewAPND(APNDConfig{MaxChallenges: 4, MaxChallengesPerSource: 2})
		for range 2 { // the first may only open a challenge
			d := a.CheckNS(&m, m.Target, apndMAC, apndT0)
			if d.Proven {
				// Only the genuine key could have signed the nonce this
				// APND drew a moment ago.
				t.Fatalf("proven without a proof: %+v", d)
			}
		}
		if a.Pending() > 4 {
			t.Fatalf("%d challenges pending", a.Pending())
		}
	})
}
