package nd

import (
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// APND and the registry's protection rule together, as lbr.go is to
// combine them (apnd.go): the owner's proven registration is protected;
// the intruder's copied ROVR with a newer TID, its lifetime 0 and an EDAR
// relaying either are refused; the owner's proven refresh and removal
// go through.
func TestAPNDWithRegistryRule(t *testing.T) {
	a := NewAPND(APNDConfig{})
	reg := NewRegistry(RegistryConfig{})
	k := mustKey(t, CryptoEd25519, "owner")
	rovr := mustCryptoID(t, k, 16)
	now := apndT0
	prove := func(tid uint8, lifetime uint16) Result {
		t.Helper()
		nonce := challengeNonce(t, checkNS(t, a, apndNS(t, apndNodeG, rovr, tid, lifetime, apndMAC, true), apndMAC, now))
		m := mustParse(t, answer(t, k, apndNodeG, rovr, tid, lifetime, apndMAC, nonce))
		d := a.CheckNS(m, m.Target, apndMAC, now)
		if !d.Proven {
			t.Fatalf("owner's proof: %+v", d)
		}
		return reg.Register(Request{Addr: apndNodeG, Link: 1, ROVR: rovr, TID: tid, HasTID: true, Lifetime: lifetime, LinkAddr: apndMAC, Proven: true}, now)
	}
	if r := prove(1, 10); r.Status != StatusSuccess {
		t.Fatalf("owner: %+v", r)
	}
	if e, _ := reg.Lookup(apndNodeG, now); !e.Protected {
		t.Fatalf("entry %+v not protected", e)
	}
	// Intruder: legacy EARO, copied ROVR, newer TID; then lifetime 0;
	// then the same through a 6LR (EDAR, unproven: TrustRelays off).
	for _, c := range []struct {
		name     string
		lifetime uint16
		via      bool
	}{{"newer TID", 10, false}, {"lifetime 0", 0, false}, {"EDAR newer TID", 10, true}, {"EDAR lifetime 0", 0, true}} {
		m := mustParse(t, apndNS(t, apndNodeG, rovr, 40, c.lifetime, apndThief, false))
		d := a.CheckNS(m, m.Target, apndThief, now)
		if d.Action != APNDRegister || d.Proven {
			t.Fatalf("%s: %+v", c.name, d)
		}
		req := Request{Addr: apndNodeG, Link: 1, ROVR: rovr, TID: 40, HasTID: true, Lifetime: c.lifetime, LinkAddr: apndThief, Proven: d.Proven}
		if c.via {
			// RFC 8928 §6: the EDAR of a 6LR that did not validate the
			// 6LN carries no status 5; TrustRelays is off anyway.
			req.Proven = a.RelayProven(StatusSuccess, false)
			req.LinkAddr, req.Via = lowpan.LinkAddr{}, mustAddr("2001:db8:1::aa")
		}
		r := reg.Register(req, now)
		if r.Status != StatusValidationRequested || !r.NeedsProof {
			t.Errorf("%s: %+v, want refused for want of proof", c.name, r)
		}
		if e, ok := reg.Lookup(apndNodeG, now); !ok || e.LinkAddr != apndMAC || e.TID != 1 {
			t.Errorf("%s: the owner's entry changed: %+v %v", c.name, e, ok)
		}
	}
	now = now.Add(time.Minute)
	if r := prove(2, 10); r.Status != StatusSuccess {
		t.Errorf("owner's proven refresh: %+v", r)
	}
	if r := prove(3, 0); r.Status != StatusSuccess || !r.Removed {
		t.Errorf("owner's proven removal: %+v", r)
	}
}
