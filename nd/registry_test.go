package nd

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

func TestCompareTID(t *testing.T) {
	for _, c := range []struct {
		a, b uint8
		want TIDOrder
	}{
		{5, 5, TIDEqual},
		{6, 5, TIDNewer},
		{5, 6, TIDOlder},
		{21, 5, TIDNewer},            // 16 apart: within the window
		{22, 5, TIDNotComparable},    // 17 apart
		{0, 127, TIDNewer},           // circular wrap
		{127, 0, TIDOlder},           //
		{10, 120, TIDNotComparable},  // (10−120) mod 128 = 18 > 16
		{3, 120, TIDNewer},           // (3−120) mod 128 = 11
		{240, 241, TIDOlder},         // linear region
		{241, 240, TIDNewer},         //
		{255, 230, TIDNotComparable}, // linear, 25 apart
		{0, 255, TIDNewer},           // left the linear region: 256+0-255 = 1 ≤ 16
		{5, 250, TIDNewer},           // RFC 8505 §5.2.1 example: 250 < 5
		{5, 240, TIDOlder},           // RFC example: 240 > 5 (a restart)
		{240, 5, TIDNewer},           //
		{250, 5, TIDOlder},           //
		{240, 100, TIDNewer},         // reboot into the linear region beats the circle
	} {
		if got := CompareTID(c.a, c.b); got != c.want {
			t.Errorf("CompareTID(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	// Every step of a counter is newer than the value before it, across
	// both wraps.
	tid := uint8(TIDInitial)
	for range 400 {
		n := NextTID(tid)
		if CompareTID(n, tid) != TIDNewer || CompareTID(tid, n) != TIDOlder {
			t.Fatalf("step %d → %d not newer", tid, n)
		}
		tid = n
	}
}

func rovrOf(b ...byte) ROVR {
	r, ok := MakeROVR(b)
	if !ok {
		panic("bad ROVR length")
	}
	return r
}

var (
	rovrA = rovrOf(1, 1, 1, 1, 1, 1, 1, 1)
	rovrB = rovrOf(2, 2, 2, 2, 2, 2, 2, 2)
	addrX = netip.MustParseAddr("2001:db8:1::10")
)

// step is one registration request of a rules table and what must come of
// it.
type step struct {
	name string
	req  Request
	at   time.Duration // after t0
	want Status
	// flags checked on the Result
	created, removed, moved bool
	// after: is the address registered, and under which ROVR / via?
	registered bool
	rovr       ROVR
	via        netip.Addr
}

func direct(rovr ROVR, tid uint8, hasTID bool, lifetime uint16) Request {
	return Request{Addr: addrX, Link: 1, ROVR: rovr, TID: tid, HasTID: hasTID, Lifetime: lifetime, LinkAddr: ll1}
}

func via(lr netip.Addr, rovr ROVR, tid uint8, lifetime uint16) Request {
	return Request{Addr: addrX, Link: 1, ROVR: rovr, TID: tid, HasTID: true, Lifetime: lifetime, Via: lr}
}

func TestRegistryRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   RegistryConfig
		steps []step
	}{
		{"duplicate ROVR keeps the owner", RegistryConfig{}, []step{
			{name: "A registers", req: direct(rovrA, 1, true, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "B claims", req: direct(rovrB, 50, true, 10), want: StatusDuplicate, registered: true, rovr: rovrA},
			{name: "B deregisters A's", req: direct(rovrB, 51, true, 0), want: StatusDuplicate, registered: true, rovr: rovrA},
		}},
		{"refresh", RegistryConfig{}, []step{
			{name: "register", req: direct(rovrA, 1, true, 1), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "refresh before expiry", req: direct(rovrA, 2, true, 1), at: 50 * time.Second, want: StatusSuccess, registered: true, rovr: rovrA},
			{name: "still there past the first lifetime", req: direct(rovrA, 2, true, 1), at: 100 * time.Second, want: StatusSuccess, registered: true, rovr: rovrA},
		}},
		{"TID lollipop", RegistryConfig{}, []step{
			{name: "boot at 240", req: direct(rovrA, 240, true, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "255", req: direct(rovrA, 255, true, 10), want: StatusSuccess, registered: true, rovr: rovrA},
			{name: "wrap to 0", req: direct(rovrA, 0, true, 10), want: StatusSuccess, registered: true, rovr: rovrA},
			{name: "254 is now old", req: direct(rovrA, 254, true, 10), want: StatusMoved, registered: true, rovr: rovrA},
			{name: "14 on the circle", req: direct(rovrA, 14, true, 10), want: StatusSuccess, registered: true, rovr: rovrA},
			{name: "stale 13", req: direct(rovrA, 13, true, 10), want: StatusMoved, registered: true, rovr: rovrA},
			{name: "reboot to 240 is newer", req: direct(rovrA, 240, true, 10), want: StatusSuccess, registered: true, rovr: rovrA},
			{name: "RFC 6775 ARO cannot override", req: direct(rovrA, 0, false, 10), want: StatusMoved, registered: true, rovr: rovrA},
			{name: "not comparable (desync) is accepted", req: direct(rovrA, 200, true, 10), want: StatusSuccess, registered: true, rovr: rovrA},
		}},
		{"circular wrap 127 → 0", RegistryConfig{}, []step{
			{name: "127", req: direct(rovrA, 127, true, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "0", req: direct(rovrA, 0, true, 10), want: StatusSuccess, registered: true, rovr: rovrA},
			{name: "126 stale", req: direct(rovrA, 126, true, 10), want: StatusMoved, registered: true, rovr: rovrA},
		}},
		{"RFC 6775 ARO then EARO", RegistryConfig{}, []step{
			{name: "ARO", req: direct(rovrA, 0, false, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "ARO refresh", req: direct(rovrA, 0, false, 10), want: StatusSuccess, registered: true, rovr: rovrA},
			{name: "EARO upgrade", req: direct(rovrA, 9, true, 10), want: StatusSuccess, registered: true, rovr: rovrA},
		}},
		{"deregistration", RegistryConfig{}, []step{
			{name: "unknown address, lifetime 0", req: direct(rovrA, 1, true, 0), want: StatusSuccess},
			{name: "register", req: direct(rovrA, 1, true, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "stale deregistration", req: direct(rovrA, 0, true, 0), want: StatusMoved, registered: true, rovr: rovrA},
			{name: "deregister", req: direct(rovrA, 2, true, 0), want: StatusSuccess, removed: true},
			{name: "another node may take it", req: direct(rovrB, 1, true, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrB},
		}},
		{"deregistration delay", RegistryConfig{DeregistrationDelay: time.Minute}, []step{
			{name: "register", req: direct(rovrA, 5, true, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "deregister", req: direct(rovrA, 6, true, 0), want: StatusSuccess, removed: true},
			{name: "stale registration overtaken", req: direct(rovrA, 5, true, 10), at: 10 * time.Second, want: StatusMoved},
			{name: "newer one comes back", req: direct(rovrA, 7, true, 10), at: 20 * time.Second, want: StatusSuccess, created: true, registered: true, rovr: rovrA},
		}},
		{"expiry", RegistryConfig{}, []step{
			{name: "register 1 min", req: direct(rovrA, 5, true, 1), want: StatusSuccess, created: true, registered: true, rovr: rovrA},
			{name: "another ROVR after expiry", req: direct(rovrB, 1, true, 1), at: 61 * time.Second, want: StatusSuccess, created: true, registered: true, rovr: rovrB},
		}},
		{"saturation", RegistryConfig{Capacity: 1}, []step{
			{name: "first", req: Request{Addr: netip.MustParseAddr("2001:db8:1::1:1"), ROVR: rovrB, Lifetime: 1}, want: StatusSuccess, created: true},
			{name: "second address, first established", req: direct(rovrA, 1, true, 10), at: ConfirmationPeriod, want: StatusNeighborCacheFull},
			{name: "refresh of the first still fine", req: Request{Addr: netip.MustParseAddr("2001:db8:1::1:1"), ROVR: rovrB, Lifetime: 1}, at: ConfirmationPeriod, want: StatusSuccess},
			{name: "after the first expired", req: direct(rovrA, 1, true, 10), at: 81 * time.Second, want: StatusSuccess, created: true, registered: true, rovr: rovrA},
		}},
		{"moved between 6LRs", RegistryConfig{}, []step{
			{name: "via A", req: via(sixLRA, rovrA, 10, 10), want: StatusSuccess, created: true, registered: true, rovr: rovrA, via: sixLRA},
			{name: "same TID via B: parallel, not moved", req: via(sixLRB, rovrA, 10, 10), want: StatusSuccess, registered: true, rovr: rovrA, via: sixLRB},
			{name: "newer via A: moved", req: via(sixLRA, rovrA, 11, 10), want: StatusSuccess, moved: true, registered: true, rovr: rovrA, via: sixLRA},
			{name: "stale via B", req: via(sixLRB, rovrA, 10, 10), want: StatusMoved, registered: true, rovr: rovrA, via: sixLRA},
			{name: "newer directly: moved", req: direct(rovrA, 12, true, 10), want: StatusSuccess, moved: true, registered: true, rovr: rovrA},
			{name: "newer via B again", req: via(sixLRB, rovrA, 13, 10), want: StatusSuccess, moved: true, registered: true, rovr: rovrA, via: sixLRB},
			{name: "other ROVR via A", req: via(sixLRA, rovrB, 99, 10), want: StatusDuplicate, registered: true, rovr: rovrA, via: sixLRB},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(tc.cfg)
			for _, s := range tc.steps {
				now := t0.Add(s.at)
				res := r.Register(s.req, now)
				if res.Status != s.want || res.Created != s.created || res.Removed != s.removed || res.Moved != s.moved {
					t.Fatalf("%s: got status %v created %v removed %v moved %v, want %v %v %v %v",
						s.name, res.Status, res.Created, res.Removed, res.Moved, s.want, s.created, s.removed, s.moved)
				}
				if s.req.Addr != addrX {
					continue
				}
				reg, ok := r.Lookup(addrX, now)
				if ok != s.registered {
					t.Fatalf("%s: registered = %v, want %v", s.name, ok, s.registered)
				}
				if ok && (reg.ROVR != s.rovr || reg.Via != s.via) {
					t.Fatalf("%s: ROVR %v via %v, want %v via %v", s.name, reg.ROVR, reg.Via, s.rovr, s.via)
				}
			}
		})
	}
}

func TestRegistryExpireAndLookup(t *testing.T) {
	r := NewRegistry(RegistryConfig{})
	for i := range 10 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(i)})
		r.Register(Request{Addr: a, ROVR: rovrA, Lifetime: uint16(i + 1)}, t0)
	}
	if _, ok := r.Lookup(netip.MustParseAddr("2001:db8:1::2"), t0.Add(3*time.Minute)); ok {
		t.Error("expired entry found by Lookup")
	}
	if _, ok := r.Lookup(netip.MustParseAddr("2001:db8:1::2"), t0.Add(2*time.Minute+59*time.Second)); !ok {
		t.Error("live entry not found")
	}
	if n := r.Expire(t0.Add(5 * time.Minute)); n != 5 {
		t.Errorf("Expire removed %d, want 5", n)
	}
	if r.Len() != 5 || len(r.Snapshot(t0.Add(5*time.Minute))) != 5 {
		t.Errorf("Len %d", r.Len())
	}
	s := r.Stats(t0.Add(5 * time.Minute))
	if s.Live != 5 || s.Direct != 5 || s.Capacity != DefaultRegistryCapacity {
		t.Errorf("stats %+v", s)
	}
	if !r.Remove(netip.MustParseAddr("2001:db8:1::9"), 0) || r.Remove(netip.MustParseAddr("2001:db8:1::9"), 0) {
		t.Error("Remove")
	}
}

// Link-local registrations are per link (RFC 8505 §5.6).
func TestRegistryLinkLocalScope(t *testing.T) {
	r := NewRegistry(RegistryConfig{})
	a := netip.MustParseAddr("fe80::1")
	if res := r.Register(Request{Addr: a, Link: 1, ROVR: rovrA, Lifetime: 5}, t0); res.Status != StatusSuccess {
		t.Fatal(res.Status)
	}
	if res := r.Register(Request{Addr: a, Link: 2, ROVR: rovrB, Lifetime: 5}, t0); res.Status != StatusSuccess {
		t.Errorf("same link-local on another link: %v", res.Status)
	}
	if res := r.Register(Request{Addr: a, Link: 1, ROVR: rovrB, Lifetime: 5}, t0); res.Status != StatusDuplicate {
		t.Errorf("same link-local on the same link: %v", res.Status)
	}
	if g, ok := r.LookupLinkLocal(2, a, t0); !ok || g.ROVR != rovrB {
		t.Error("LookupLinkLocal")
	}
	if _, ok := r.Lookup(a, t0); ok {
		t.Error("Lookup found a link-local address without its link")
	}
}

func TestLatestRegistered(t *testing.T) {
	now := t0
	r := NewRegistry(RegistryConfig{Now: func() time.Time { return now }})
	node := lowpan.BLELinkAddr([6]byte{1, 2, 3, 4, 5, 6})
	p2 := netip.MustParsePrefix("2001:db8:2::/64")
	reg := func(a string, at time.Duration, lifetime uint16) {
		r.Register(Request{Addr: netip.MustParseAddr(a), Link: 1, ROVR: rovrA, HasTID: true, TID: 1, Lifetime: lifetime, LinkAddr: node}, t0.Add(at))
	}
	reg("2001:db8:1::1", 0, 10)
	reg("2001:db8:2::1", time.Second, 10)
	reg("2001:db8:1::2", 2*time.Second, 1)
	if a, ok := r.LatestRegistered(node, prefix1); !ok || a != netip.MustParseAddr("2001:db8:1::2") {
		t.Errorf("latest in prefix1 = %v", a)
	}
	if a, ok := r.LatestRegistered(node, p2); !ok || a != netip.MustParseAddr("2001:db8:2::1") {
		t.Errorf("latest in p2 = %v", a)
	}
	now = t0.Add(2 * time.Minute) // ::2 expired
	if a, ok := r.LatestRegistered(node, prefix1); !ok || a != netip.MustParseAddr("2001:db8:1::1") {
		t.Errorf("after expiry = %v", a)
	}
	// More than nodeIndexSize addresses: the most recent ones are kept.
	for i := range 6 {
		reg("2001:db8:1::1:"+itoa(i), 3*time.Minute+time.Duration(i)*time.Second, 10)
	}
	now = t0.Add(4 * time.Minute)
	if a, _ := r.LatestRegistered(node, prefix1); a != netip.MustParseAddr("2001:db8:1::1:5") {
		t.Errorf("latest of many = %v", a)
	}
	if allocs := testing.AllocsPerRun(100, func() { r.LatestRegistered(node, prefix1) }); allocs != 0 {
		t.Errorf("LatestRegistered allocates %v", allocs)
	}
	if _, ok := r.LatestRegistered(lowpan.BLELinkAddr([6]byte{9}), prefix1); ok {
		t.Error("unknown node found")
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r := NewRegistry(RegistryConfig{Capacity: 1000})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(g), 15: byte(i)})
				r.Register(Request{Addr: a, ROVR: rovrA, HasTID: true, TID: uint8(i), Lifetime: 1, LinkAddr: ll1}, t0)
				r.Lookup(a, t0)
				r.LatestRegistered(ll1, prefix1)
				if i%100 == 0 {
					r.Expire(t0)
					r.Snapshot(t0)
				}
			}
		}()
	}
	wg.Wait()
}
