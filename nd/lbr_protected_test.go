package nd

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// The Router with AP-ND on (Config.APND), end to end through Handle: the
// challenge, the proof, the protected entry, and every way an intruder
// tries to take it.

// newAPNDRouter is a Router with AP-ND configured by acfg.
func newAPNDRouter(t *testing.T, acfg APNDConfig, mod func(*Config)) *Router {
	t.Helper()
	return newTestRouter(t, func(c *Config) {
		c.APND = &acfg
		if mod != nil {
			mod(c)
		}
	})
}

// naOf returns the NA(EARO) among replies, its status and the nonce of
// its Nonce option (nil without one).
func naOf(t *testing.T, replies []Reply) (*Message, Status, []byte) {
	t.Helper()
	m, _ := oneReply(t, replies)
	if m.Type != TypeNeighborAdvert || m.ARO == nil {
		t.Fatalf("reply %v, want an NA(EARO)", m.Type)
	}
	var opts APNDOptions
	if err := ParseAPNDOptions(m.Options, &opts); err != nil {
		t.Fatalf("NA options: %v", err)
	}
	var nonce []byte
	if opts.Nonce != nil {
		nonce = bytes.Clone(opts.Nonce.Nonce())
	}
	return m, m.ARO.Status(), nonce
}

// registerProven runs the whole RFC 8928 §6.1 exchange for k's Crypto-ID
// through r and returns the final status.
func registerProven(t *testing.T, r *Router, k *APNDKey, tid uint8, lifetime uint16, mac lowpan.LinkAddr, now time.Time) Status {
	t.Helper()
	rovr := mustCryptoID(t, k, 16)
	in := Incoming{Link: 1, LinkSrc: mac, Now: now}
	_, st, nonce := naOf(t, handle(t, r, apndNS(t, apndNodeG, rovr, tid, lifetime, mac, true), in))
	if st != StatusValidationRequested || len(nonce) < 6 {
		t.Fatalf("first NS: status %v, nonce %x; want a challenge (5 with a Nonce option)", st, nonce)
	}
	na, st, again := naOf(t, handle(t, r, answer(t, k, apndNodeG, rovr, tid, lifetime, mac, nonce), in))
	if again != nil {
		t.Errorf("the answer to a proof carries a nonce")
	}
	if na.ARO.TID() != tid || !bytes.Equal(na.ARO.ROVR(), rovr.Bytes()) {
		t.Errorf("NA EARO TID %d ROVR %x, want the NS's", na.ARO.TID(), na.ARO.ROVR())
	}
	return st
}

func TestRouterAPNDRegistersProtected(t *testing.T) {
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		t.Run(typ.String(), func(t *testing.T) {
			r := newAPNDRouter(t, APNDConfig{}, nil)
			k := mustKey(t, typ, "owner")
			// The NA with the nonce goes to the NS's source and its SLLAO,
			// from the router's link-local address.
			reps := handle(t, r, apndNS(t, apndNodeG, mustCryptoID(t, k, 16), 1, 10, apndMAC, true), Incoming{Link: 1, LinkSrc: apndMAC})
			m, st, nonce := naOf(t, reps)
			if st != StatusValidationRequested || m.Src != rtrLL || m.Dst != apndNodeLL || reps[0].LinkDst != apndMAC || len(nonce) != 6 {
				t.Fatalf("challenge: %v → %v via %v, status %v nonce %x", m.Src, m.Dst, reps[0].LinkDst, st, nonce)
			}
			if _, ok := r.Registry().Lookup(apndNodeG, t0); ok {
				t.Fatal("registered before the proof")
			}
			// The same NS again gets the same nonce (a retransmission).
			if _, _, n2 := naOf(t, handle(t, r, apndNS(t, apndNodeG, mustCryptoID(t, k, 16), 1, 10, apndMAC, true), Incoming{Link: 1, LinkSrc: apndMAC})); !bytes.Equal(n2, nonce) {
				t.Errorf("retransmitted NS: nonce %x, want %x", n2, nonce)
			}
			if st := registerProven(t, r, k, 1, 10, apndMAC, t0); st != StatusSuccess {
				t.Fatalf("proof: status %v", st)
			}
			g, ok := r.Registry().Lookup(apndNodeG, t0)
			if !ok || !g.Protected || g.ROVR != mustCryptoID(t, k, 16) || g.LinkAddr != apndMAC {
				t.Fatalf("entry %+v (%v), want protected under the Crypto-ID", g, ok)
			}
			c := r.Counters()
			if c.APND.Challenges < 2 || c.APND.Proven != 1 || c.APND.Failed != 0 || c.StatusReplies[StatusValidationRequested] < 2 ||
				c.StatusReplies[StatusSuccess] != 1 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

// Every intruder variant, each answered as RFC 8928 says and none
// changing the owner's entry.
func TestRouterAPNDIntruders(t *testing.T) {
	owner := mustKey(t, CryptoEd25519, "owner")
	thief := mustKey(t, CryptoEd25519, "thief")
	rovr := mustCryptoID(t, owner, 16)
	thiefLL := mustAddr("fe80::6666")
	for _, tc := range []struct {
		name string
		acfg APNDConfig
		// viaProtected: the 6LR sixLRA holds a protected registration.
		viaProtected bool
		run          func(t *testing.T, r *Router) Status
		want         Status
	}{
		{name: "copied ROVR, C flag, proof with its own key", run: func(t *testing.T, r *Router) Status {
			in := Incoming{Link: 1, LinkSrc: apndThief, Now: t0.Add(time.Second)}
			_, st, nonce := naOf(t, handle(t, r, apndNS(t, apndNodeG, rovr, 40, 10, apndThief, true), in))
			if st != StatusValidationRequested {
				t.Fatalf("first NS: %v", st)
			}
			// The thief signs with its key: the CIPO does not hash to the
			// copied ROVR (RFC 8928 §6.2).
			_, st, _ = naOf(t, handle(t, r, answer(t, thief, apndNodeG, rovr, 40, 10, apndThief, nonce), in))
			return st
		}, want: StatusValidationFailed},
		{name: "copied ROVR, C flag, lifetime 0", run: func(t *testing.T, r *Router) Status {
			in := Incoming{Link: 1, LinkSrc: apndThief, Now: t0.Add(time.Second)}
			_, _, nonce := naOf(t, handle(t, r, apndNS(t, apndNodeG, rovr, 40, 0, apndThief, true), in))
			_, st, _ := naOf(t, handle(t, r, answer(t, thief, apndNodeG, rovr, 40, 0, apndThief, nonce), in))
			return st
		}, want: StatusValidationFailed},
		{name: "copied ROVR, legacy EARO, newer TID", run: func(t *testing.T, r *Router) Status {
			_, st, _ := naOf(t, handle(t, r, nsEARO(t, thiefLL, apndNodeG, rovr.Bytes(), 40, 10, apndThief), Incoming{Link: 1, LinkSrc: apndThief}))
			return st
		}, want: StatusDuplicate},
		{name: "copied ROVR, legacy EARO, lifetime 0", run: func(t *testing.T, r *Router) Status {
			_, st, _ := naOf(t, handle(t, r, nsEARO(t, thiefLL, apndNodeG, rovr.Bytes(), 40, 0, apndThief), Incoming{Link: 1, LinkSrc: apndThief}))
			return st
		}, want: StatusDuplicate},
		{name: "copied ROVR, RFC 6775 ARO", run: func(t *testing.T, r *Router) Status {
			ns := mustAppend(t, apndNodeG, rtrLL, 255, NSFields{Target: rtrLL}, AROFields{Lifetime: 10, ROVR: rovr.Bytes()[:8]}, SourceLinkAddr{Addr: apndThief})
			_, st, _ := naOf(t, handle(t, r, ns, Incoming{Link: 1, LinkSrc: apndThief}))
			return st
		}, want: StatusDuplicate},
		{name: "EDAR, 6LR did not validate", run: func(t *testing.T, r *Router) Status {
			m, _ := oneReply(t, handle(t, r, edar(t, sixLRA, apndNodeG, rovr.Bytes(), 40, 10), Incoming{Link: 1, LinkSrc: llA}))
			return m.DA().Status()
		}, want: StatusValidationRequested},
		{name: "EDAR, lifetime 0", run: func(t *testing.T, r *Router) Status {
			m, _ := oneReply(t, handle(t, r, edar(t, sixLRA, apndNodeG, rovr.Bytes(), 40, 0), Incoming{Link: 1, LinkSrc: llA}))
			return m.DA().Status()
		}, want: StatusValidationRequested},
		{name: "EDAR with status 5, relays not trusted", viaProtected: true, run: func(t *testing.T, r *Router) Status {
			return edarStatus5(t, r, rovr, 40, 10)
		}, want: StatusValidationRequested},
		{name: "EDAR with status 5 from an unprotected 6LR, relays trusted", acfg: APNDConfig{TrustRelays: true}, run: func(t *testing.T, r *Router) Status {
			return edarStatus5(t, r, rovr, 40, 10)
		}, want: StatusValidationRequested},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAPNDRouter(t, tc.acfg, nil)
			if st := registerProven(t, r, owner, 1, 10, apndMAC, t0); st != StatusSuccess {
				t.Fatalf("owner: %v", st)
			}
			register6LR(t, r, tc.viaProtected)
			if got := tc.run(t, r); got != tc.want {
				t.Errorf("status %v, want %v", got, tc.want)
			}
			g, ok := r.Registry().Lookup(apndNodeG, t0.Add(time.Second))
			if !ok || !g.Protected || g.TID != 1 || g.LinkAddr != apndMAC || g.Via.IsValid() {
				t.Errorf("the owner's entry changed: %+v (present %v)", g, ok)
			}
		})
	}
}

// register6LR registers sixLRA directly (link-layer llA), proven when
// protected (as an AP-ND 6LR that proved its own Crypto-ID).
func register6LR(t *testing.T, r *Router, protected bool) {
	t.Helper()
	id := bytes.Repeat([]byte{0xaa}, 16)
	rovr, _ := MakeROVR(id)
	res := r.Registry().Register(Request{Addr: sixLRA, Link: 1, ROVR: rovr, HasTID: true, TID: 1, Lifetime: 30, LinkAddr: llA, Neighbor: llA, Proven: protected}, t0)
	if res.Status != StatusSuccess {
		t.Fatalf("6LR: %v", res.Status)
	}
}

// edarStatus5 sends an EDAR from sixLRA with status 5, the 6LR's word that
// it validated the 6LN (RFC 8928 §6), and returns the EDAC's status.
func edarStatus5(t *testing.T, r *Router, rovr ROVR, tid uint8, lifetime uint16) Status {
	t.Helper()
	pkt := mustAppend(t, sixLRA, rtrGlob, MultihopHopLimit, DAFields{Extended: true, Status: StatusValidationRequested, TID: tid,
		Lifetime: lifetime, ROVR: rovr.Bytes(), Registered: apndNodeG})
	m, _ := oneReply(t, handle(t, r, pkt, Incoming{Link: 1, LinkSrc: llA, Now: t0.Add(time.Second)}))
	return m.DA().Status()
}

// A trusted, protected 6LR's EDAR with status 5 is proof (RFC 8928 §6,
// §6.3): it registers protected, and moves a protected entry (the owner
// moved behind the 6LR).
func TestRouterAPNDTrustedRelay(t *testing.T) {
	r := newAPNDRouter(t, APNDConfig{TrustRelays: true}, nil)
	owner := mustKey(t, CryptoECDSAP256, "owner")
	rovr := mustCryptoID(t, owner, 16)
	register6LR(t, r, true)
	if st := edarStatus5(t, r, rovr, 3, 10); st != StatusSuccess {
		t.Fatalf("EDAR with status 5 from a protected 6LR: %v", st)
	}
	g, ok := r.Registry().Lookup(apndNodeG, t0.Add(time.Second))
	if !ok || !g.Protected || g.Via != sixLRA {
		t.Fatalf("entry %+v (%v), want protected via the 6LR", g, ok)
	}
	// The same without status 5: refused, entry kept.
	m, _ := oneReply(t, handle(t, r, edar(t, sixLRA, apndNodeG, rovr.Bytes(), 4, 10), Incoming{Link: 1, LinkSrc: llA, Now: t0.Add(2 * time.Second)}))
	if m.DA().Status() != StatusValidationRequested {
		t.Errorf("EDAR without status 5 for a protected entry: %v", m.DA().Status())
	}
}

// Legacy registrations with AP-ND on: RFC 6775 AROs (RIOT's GNRC) and
// EAROs without the C flag register as before, unprotected; under
// RequireCryptoID they are refused. An EDAR is refused under
// RequireCryptoID only when relays are trusted (otherwise none could be
// proven).
func TestRouterAPNDLegacyAndRequire(t *testing.T) {
	aro := mustAppend(t, node1G, rtrLL, 255, NSFields{Target: rtrLL}, AROFields{Lifetime: 10, ROVR: eui1[:]}, SourceLinkAddr{Addr: ll1})
	earo := nsEARO(t, node1LL, node1G, eui1[:], 1, 10, ll1)
	for _, tc := range []struct {
		name                  string
		acfg                  APNDConfig
		wantARO, wantEARO     Status
		wantEDAR, wantDAR6775 Status
	}{
		{"default", APNDConfig{}, StatusSuccess, StatusSuccess, StatusSuccess, StatusSuccess},
		{"require", APNDConfig{RequireCryptoID: true}, StatusDuplicate, StatusValidationFailed, StatusSuccess, StatusSuccess},
		{"require, trust relays", APNDConfig{RequireCryptoID: true, TrustRelays: true}, StatusDuplicate, StatusValidationFailed, StatusValidationRequested, StatusDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAPNDRouter(t, tc.acfg, nil)
			_, st, nonce := naOf(t, handle(t, r, aro, Incoming{Link: 1, LinkSrc: ll1}))
			if st != tc.wantARO || nonce != nil {
				t.Errorf("RFC 6775 ARO: %v (nonce %x), want %v", st, nonce, tc.wantARO)
			}
			r = newAPNDRouter(t, tc.acfg, nil)
			if _, st, _ = naOf(t, handle(t, r, earo, Incoming{Link: 1, LinkSrc: ll1})); st != tc.wantEARO {
				t.Errorf("EARO without C: %v, want %v", st, tc.wantEARO)
			}
			if g, ok := r.Registry().Lookup(node1G, t0); ok && g.Protected {
				t.Errorf("a legacy registration is protected: %+v", g)
			}
			register6LR(t, r, false)
			m, _ := oneReply(t, handle(t, r, edar(t, sixLRA, sixLRB, euiB[:], 1, 10), Incoming{Link: 1, LinkSrc: llA}))
			if m.DA().Status() != tc.wantEDAR {
				t.Errorf("EDAR: %v, want %v", m.DA().Status(), tc.wantEDAR)
			}
			dar := mustAppend(t, sixLRA, rtrGlob, MultihopHopLimit, DAFields{Lifetime: 10, ROVR: eui2[:], Registered: mustAddr("2001:db8:1::cc")})
			m, _ = oneReply(t, handle(t, r, dar, Incoming{Link: 1, LinkSrc: llA}))
			if m.DA().Status() != tc.wantDAR6775 {
				t.Errorf("RFC 6775 DAR: %v, want %v", m.DA().Status(), tc.wantDAR6775)
			}
			if c := r.Counters().APND; c.Legacy+c.Refused == 0 {
				t.Errorf("APND counters %+v: the legacy registrations are not counted", c)
			}
		})
	}
}

// The 6CIO of the RAs carries the A flag when AP-ND is on, not when off
// (RFC 8928 §4.5).
func TestRouterAPNDCapability(t *testing.T) {
	for _, on := range []bool{false, true} {
		r := newTestRouter(t, func(c *Config) {
			if on {
				c.APND = &APNDConfig{}
			}
		})
		var flags uint16
		found := false
		for _, o := range r.RAOptions(ll2) {
			if c, ok := o.(CapabilityFields); ok {
				flags, found = c.Flags, true
			}
		}
		if !found || (flags&CapA != 0) != on || flags&(CapB|CapE|CapD|CapL) != CapB|CapE|CapD|CapL {
			t.Errorf("AP-ND %v: 6CIO flags %#x (found %v)", on, flags, found)
		}
		if r.APNDEnabled() != on {
			t.Errorf("APNDEnabled() = %v, want %v", r.APNDEnabled(), on)
		}
	}
}

// Maintain drops the challenges that ran out.
func TestRouterAPNDMaintainExpires(t *testing.T) {
	r := newAPNDRouter(t, APNDConfig{ChallengeLifetime: 5 * time.Second}, nil)
	k := mustKey(t, CryptoEd25519, "owner")
	handle(t, r, apndNS(t, apndNodeG, mustCryptoID(t, k, 16), 1, 10, apndMAC, true), Incoming{Link: 1, LinkSrc: apndMAC})
	if c := r.Counters(); c.APNDPending != 1 {
		t.Fatalf("pending %d, want 1", c.APNDPending)
	}
	if err := r.Maintain(t0.Add(6 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if c := r.Counters(); c.APNDPending != 0 || c.APND.Expired != 1 {
		t.Errorf("after Maintain: pending %d, counters %+v", c.APNDPending, c.APND)
	}
}

// A protected entry survives a restart (the state file), defends itself
// before its owner is heard again, and its owner, restarted too, proves
// again.
func TestRouterAPNDProtectedAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nd.json")
	withState := func(c *Config) { c.StatePath = path }
	k := mustKey(t, CryptoECDSAP256, "owner")
	r := newAPNDRouter(t, APNDConfig{}, withState)
	if st := registerProven(t, r, k, 7, 30, apndMAC, t0); st != StatusSuccess {
		t.Fatal(st)
	}
	if err := r.Save(t0); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Minute)
	r2, err := New(func() Config { c := testConfig(); withState(&c); c.APND = &APNDConfig{}; return c }(), later)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := r2.Registry().Lookup(apndNodeG, later); !ok || !g.Protected {
		t.Fatalf("restored %+v (%v), want protected", g, ok)
	}
	rovr := mustCryptoID(t, k, 16)
	_, st, _ := naOf(t, handle(t, r2, nsEARO(t, mustAddr("fe80::6666"), apndNodeG, rovr.Bytes(), 8, 30, apndThief), Incoming{Link: 1, LinkSrc: apndThief, Now: later}))
	if st != StatusDuplicate {
		t.Errorf("intruder after the restart: %v", st)
	}
	// The owner restarted too: its TID starts again in the lollipop's
	// linear region (RFC 8505 §5.2.1), newer than the saved one.
	if st := registerProven(t, r2, k, TIDInitial, 30, apndMAC, later); st != StatusSuccess {
		t.Errorf("owner after the restart, TID from scratch: %v", st)
	}
	if g, _ := r2.Registry().Lookup(apndNodeG, later); !g.Protected || g.TID != TIDInitial {
		t.Errorf("after the owner's proof: %+v", g)
	}
}

// Without AP-ND the C flag is ignored (the registration goes on
// unproven), and a protected entry is still defended.
func TestRouterAPNDOff(t *testing.T) {
	r := newTestRouter(t, nil)
	k := mustKey(t, CryptoEd25519, "owner")
	rovr := mustCryptoID(t, k, 16)
	_, st, nonce := naOf(t, handle(t, r, apndNS(t, apndNodeG, rovr, 1, 10, apndMAC, true), Incoming{Link: 1, LinkSrc: apndMAC}))
	if st != StatusSuccess || nonce != nil {
		t.Fatalf("AP-ND off: %v, nonce %x", st, nonce)
	}
	if g, _ := r.Registry().Lookup(apndNodeG, t0); g.Protected {
		t.Error("protected without AP-ND")
	}
	if c := r.Counters(); c.APND != (APNDCounters{}) || c.APNDPending != 0 {
		t.Errorf("APND counters without AP-ND: %+v", c)
	}
}

// The legacy path with AP-ND on costs no more allocations than without.
func TestRouterAPNDLegacyAllocs(t *testing.T) {
	pkt := nsEARO(t, node1LL, node1G, eui1[:], 3, 10, ll1)
	var m Message
	if err := Parse(pkt, &m); err != nil {
		t.Fatal(err)
	}
	in := Incoming{Link: 1, LinkSrc: ll1, Local: ll2, Now: t0}
	allocs := func(r *Router) float64 {
		replies := make([]Reply, 0, 2)
		return testing.AllocsPerRun(200, func() { replies = r.Handle(replies[:0], &m, in) })
	}
	off, on := allocs(newTestRouter(t, nil)), allocs(newAPNDRouter(t, APNDConfig{}, nil))
	if on > off {
		t.Errorf("a legacy refresh: %v allocations with AP-ND on, %v off", on, off)
	}
}

func BenchmarkHandleRegistrationAPND(b *testing.B) {
	pkt := nsEARO(b, node1LL, node1G, eui1[:], 3, 10, ll1)
	var m Message
	if err := Parse(pkt, &m); err != nil {
		b.Fatal(err)
	}
	for _, typ := range []CryptoType{CryptoECDSAP256, CryptoEd25519} {
		// The proof's round: one NS answered with a challenge, then the
		// proof verified and registered (signature check included).
		b.Run("proof/"+typ.String(), func(b *testing.B) {
			c := testConfig()
			c.APND = &APNDConfig{}
			r, err := New(c, t0)
			if err != nil {
				b.Fatal(err)
			}
			k := mustKey(b, typ, "owner")
			rovr := mustCryptoID(b, k, 16)
			in := Incoming{Link: 1, LinkSrc: apndMAC, Local: ll2, Now: t0}
			var first, proof Message
			ns := apndNS(b, apndNodeG, rovr, 1, 10, apndMAC, true)
			if err := Parse(ns, &first); err != nil {
				b.Fatal(err)
			}
			replies := make([]Reply, 0, 2)
			b.ReportAllocs()
			for b.Loop() {
				replies = r.Handle(replies[:0], &first, in)
				var na Message
				if err := Parse(replies[0].Packet, &na); err != nil {
					b.Fatal(err)
				}
				var opts APNDOptions
				if err := ParseAPNDOptions(na.Options, &opts); err != nil || opts.Nonce == nil {
					b.Fatal("no challenge")
				}
				b.StopTimer()
				pkt := answer(b, k, apndNodeG, rovr, 1, 10, apndMAC, opts.Nonce.Nonce())
				if err := Parse(pkt, &proof); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				replies = r.Handle(replies[:0], &proof, in)
			}
		})
	}
	b.Run("legacy", func(b *testing.B) {
		c := testConfig()
		c.APND = &APNDConfig{}
		r, err := New(c, t0)
		if err != nil {
			b.Fatal(err)
		}
		in := Incoming{Link: 1, LinkSrc: ll1, Local: ll2, Now: t0}
		replies := make([]Reply, 0, 2)
		b.ReportAllocs()
		for b.Loop() {
			replies = r.Handle(replies[:0], &m, in)
		}
	})
}
