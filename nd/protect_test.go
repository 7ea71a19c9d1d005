package nd

import (
	"net/netip"
	"testing"
	"time"
)

// A registration proven by its Crypto-ID (RFC 8928) is never replaced or
// removed by one that is not proven, whichever way it comes; a proven one
// may.
func TestProtectedRegistration(t *testing.T) {
	cryptoID := rovrOf(0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 9, 10, 11, 12, 13, 14, 15, 16)
	owner := Request{Addr: addrX, Link: 1, ROVR: cryptoID, HasTID: true, TID: 10, Lifetime: 30, LinkAddr: ll1, Proven: true}
	for _, tc := range []struct {
		name string
		req  Request
		want Status
	}{
		{"copied ROVR, newer TID", Request{Addr: addrX, Link: 1, ROVR: cryptoID, HasTID: true, TID: 11, Lifetime: 30, LinkAddr: llB}, StatusValidationRequested},
		{"copied ROVR, same TID, same path", Request{Addr: addrX, Link: 1, ROVR: cryptoID, HasTID: true, TID: 10, Lifetime: 30, LinkAddr: ll1}, StatusValidationRequested},
		{"copied ROVR, TID far off", Request{Addr: addrX, Link: 1, ROVR: cryptoID, HasTID: true, TID: 100, Lifetime: 30, LinkAddr: llB}, StatusValidationRequested},
		{"copied ROVR, lifetime 0", Request{Addr: addrX, Link: 1, ROVR: cryptoID, HasTID: true, TID: 11, Lifetime: 0, LinkAddr: llB}, StatusValidationRequested},
		{"copied ROVR, RFC 6775 ARO", Request{Addr: addrX, Link: 1, ROVR: cryptoID, Lifetime: 30, LinkAddr: llB}, StatusValidationRequested},
		{"copied ROVR via a 6LR (EDAR)", Request{Addr: addrX, Link: 1, ROVR: cryptoID, HasTID: true, TID: 11, Lifetime: 30, Via: sixLRA, Neighbor: llA}, StatusValidationRequested},
		{"copied ROVR via a 6LR, lifetime 0", Request{Addr: addrX, Link: 1, ROVR: cryptoID, HasTID: true, TID: 11, Lifetime: 0, Via: sixLRA, Neighbor: llA}, StatusValidationRequested},
		{"another ROVR", Request{Addr: addrX, Link: 1, ROVR: rovrB, HasTID: true, TID: 11, Lifetime: 30, LinkAddr: llB}, StatusDuplicate},
		{"another ROVR, lifetime 0, via a 6LR", Request{Addr: addrX, Link: 1, ROVR: rovrB, HasTID: true, TID: 11, Lifetime: 0, Via: sixLRA}, StatusDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(RegistryConfig{DeregistrationDelay: time.Minute})
			if res := r.Register(owner, t0); res.Status != StatusSuccess {
				t.Fatal(res.Status)
			}
			res := r.Register(tc.req, t0.Add(time.Second))
			if res.Status != tc.want || res.NeedsProof != (tc.want == StatusValidationRequested) || res.Removed || res.Moved || res.Created {
				t.Fatalf("got %+v, want status %v", res, tc.want)
			}
			g, ok := r.Lookup(addrX, t0.Add(time.Second))
			if !ok || !g.Protected || g.TID != 10 || g.LinkAddr != ll1 || g.Via.IsValid() || !g.Expires.Equal(t0.Add(30*time.Minute)) {
				t.Fatalf("the protected registration changed: %+v (present %v)", g, ok)
			}
			// The owner, proven, still may.
			up := owner
			up.TID, up.LinkAddr = 11, ll2
			if res := r.Register(up, t0.Add(2*time.Second)); res.Status != StatusSuccess {
				t.Fatalf("the owner's proven update: %v", res.Status)
			}
			if g, _ := r.Lookup(addrX, t0.Add(2*time.Second)); g.LinkAddr != ll2 || !g.Protected {
				t.Errorf("after the owner's update: %+v", g)
			}
			up.TID, up.Lifetime = 12, 0
			if res := r.Register(up, t0.Add(3*time.Second)); !res.Removed {
				t.Errorf("the owner's proven deregistration: %+v", res)
			}
		})
	}
}

// Through the router: an NS that would hijack a protected address is
// answered "duplicate address", an EDAR "validation requested" (RFC 8928
// §6: the 6LR must challenge the node), and nothing changes.
func TestProtectedThroughRouter(t *testing.T) {
	rt := newTestRouter(t, nil)
	cryptoID := []byte{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 9, 10, 11, 12, 13, 14, 15, 16}
	rovr, _ := MakeROVR(cryptoID)
	res := rt.Registry().Register(Request{Addr: node1G, Link: 1, ROVR: rovr, HasTID: true, TID: 10, Lifetime: 30, LinkAddr: ll1, Proven: true}, t0)
	if res.Status != StatusSuccess {
		t.Fatal(res.Status)
	}
	intruderLL := netip.MustParseAddr("fe80::beef")
	for _, tc := range []struct {
		name string
		pkt  []byte
		in   Incoming
		want Status
	}{
		{"NS, newer TID", nsEARO(t, intruderLL, node1G, cryptoID, 11, 30, llB), Incoming{Link: 1, LinkSrc: llB}, StatusDuplicate},
		{"NS, lifetime 0", nsEARO(t, intruderLL, node1G, cryptoID, 11, 0, llB), Incoming{Link: 1, LinkSrc: llB}, StatusDuplicate},
		{"EDAR, newer TID", edar(t, sixLRA, node1G, cryptoID, 11, 30), Incoming{Link: 1, LinkSrc: llA}, StatusValidationRequested},
		{"EDAR, lifetime 0", edar(t, sixLRA, node1G, cryptoID, 12, 0), Incoming{Link: 1, LinkSrc: llA}, StatusValidationRequested},
		{"RFC 6775 DAR", mustAppend(t, sixLRA, rtrGlob, 60, DAFields{Lifetime: 10, ROVR: cryptoID[:8], Registered: node1G}), Incoming{Link: 1, LinkSrc: llA}, StatusDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := oneReply(t, handle(t, rt, tc.pkt, tc.in))
			var st Status
			if m.Type == TypeDAC {
				st = m.DA().Status()
			} else {
				st = m.ARO.Status()
			}
			if st != tc.want {
				t.Errorf("status %v, want %v", st, tc.want)
			}
			g, ok := rt.Registry().Lookup(node1G, t0)
			if !ok || g.TID != 10 || g.LinkAddr != ll1 || g.Via.IsValid() {
				t.Errorf("hijacked: %+v", g)
			}
		})
	}
}

// The RFC 8928 seam sees each registration before the registry: it may
// mark it proven, or answer for it.
func TestRegistrationCheck(t *testing.T) {
	rt := newTestRouter(t, nil)
	var seen []Request
	rt.SetRegistrationCheck(func(replies []Reply, m *Message, in *Incoming, req *Request) ([]Reply, bool) {
		seen = append(seen, *req)
		switch req.Addr {
		case node1G:
			req.Proven = true
		case sixLRB:
			return append(replies, Reply{Link: in.Link, Packet: []byte("challenge")}), true
		}
		return replies, false
	})
	handle(t, rt, nsEARO(t, node1LL, node1G, eui1[:], 1, 10, ll1), Incoming{Link: 1, LinkSrc: ll1})
	if g, ok := rt.Registry().Lookup(node1G, t0); !ok || !g.Protected {
		t.Errorf("proven by the check: %+v %v", g, ok)
	}
	reps := handle(t, rt, edar(t, sixLRA, sixLRB, euiB[:], 1, 10), Incoming{Link: 1, LinkSrc: llA})
	if len(reps) != 1 || string(reps[0].Packet) != "challenge" {
		t.Errorf("replies %v", reps)
	}
	if _, ok := rt.Registry().Lookup(sixLRB, t0); ok {
		t.Error("registered although the check answered")
	}
	if len(seen) != 2 || seen[1].Via != sixLRA || seen[1].Neighbor != llA || seen[0].LinkAddr != ll1 {
		t.Errorf("requests seen: %+v", seen)
	}
}
