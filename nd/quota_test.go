package nd

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// addrN is the n-th address of prefix1.
func addrN(n int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 8: 0xa0, 12: byte(n >> 24), 13: byte(n >> 16), 14: byte(n >> 8), 15: byte(n)})
}

func rovrN(n int) ROVR {
	return EUI64ROVR([8]byte{0x02, 0xee, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func llN(n int) lowpan.LinkAddr {
	return lowpan.ExtendedLinkAddr([8]byte{0x02, 0xdd, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// One neighbour holds at most MaxPerNeighbor registrations of its own;
// others are not affected.
func TestQuotaPerNeighbor(t *testing.T) {
	r := NewRegistry(RegistryConfig{Capacity: 100, MaxPerNeighbor: 4})
	for i := range 4 {
		if res := r.Register(Request{Addr: addrN(i), Link: 1, ROVR: rovrN(i), Lifetime: 10, LinkAddr: ll1}, t0); res.Status != StatusSuccess {
			t.Fatalf("registration %d: %v", i, res.Status)
		}
	}
	res := r.Register(Request{Addr: addrN(4), Link: 1, ROVR: rovrN(4), Lifetime: 10, LinkAddr: ll1}, t0)
	if res.Status != StatusNeighborCacheFull || res.Refused != RefusedNeighbor {
		t.Fatalf("fifth of one neighbour: %v (%v)", res.Status, res.Refused)
	}
	// A refresh of one of its four is fine.
	if res := r.Register(Request{Addr: addrN(1), Link: 1, ROVR: rovrN(1), Lifetime: 10, LinkAddr: ll1}, t0.Add(time.Second)); res.Status != StatusSuccess {
		t.Errorf("refresh at quota: %v", res.Status)
	}
	// Another neighbour.
	if res := r.Register(Request{Addr: addrN(4), Link: 1, ROVR: rovrN(4), Lifetime: 10, LinkAddr: ll2}, t0); res.Status != StatusSuccess {
		t.Errorf("another neighbour: %v", res.Status)
	}
	// The same link-layer address on another link is another neighbour.
	if res := r.Register(Request{Addr: addrN(5), Link: 2, ROVR: rovrN(5), Lifetime: 10, LinkAddr: ll1}, t0); res.Status != StatusSuccess {
		t.Errorf("same address, other link: %v", res.Status)
	}
	// Deregistering one frees its place.
	if res := r.Register(Request{Addr: addrN(0), Link: 1, ROVR: rovrN(0), Lifetime: 0, LinkAddr: ll1}, t0); !res.Removed {
		t.Fatal("not removed")
	}
	if res := r.Register(Request{Addr: addrN(6), Link: 1, ROVR: rovrN(6), Lifetime: 10, LinkAddr: ll1}, t0); res.Status != StatusSuccess {
		t.Errorf("after a deregistration: %v", res.Status)
	}
	// Moving an address onto a full neighbour is refused, and changes
	// nothing.
	res = r.Register(Request{Addr: addrN(4), Link: 1, ROVR: rovrN(4), Lifetime: 10, LinkAddr: ll1}, t0)
	if res.Status != StatusNeighborCacheFull {
		t.Errorf("move onto a full neighbour: %v", res.Status)
	}
	if g, _ := r.Lookup(addrN(4), t0); g.LinkAddr != ll2 {
		t.Errorf("refused move changed the entry: %v", g.LinkAddr)
	}
}

// A 6LR (a neighbour with a registration of its own) relays up to
// MaxPerRouter registrations; a stranger relays MaxPerNeighbor.
func TestQuotaRelayed(t *testing.T) {
	r := NewRegistry(RegistryConfig{Capacity: 1000, MaxPerNeighbor: 3, MaxPerRouter: 50})
	relay := func(lr netip.Addr, nbr lowpan.LinkAddr, n int) Result {
		return r.Register(Request{Addr: addrN(n), Link: 1, ROVR: rovrN(n), HasTID: true, TID: 1, Lifetime: 10, Via: lr, Neighbor: nbr}, t0)
	}
	// A stranger (no registration of its own): 3.
	for i := range 3 {
		if res := relay(sixLRB, llBB, 100+i); res.Status != StatusSuccess {
			t.Fatalf("stranger's %d: %v", i, res.Status)
		}
	}
	if res := relay(sixLRB, llBB, 103); res.Refused != RefusedNeighbor {
		t.Fatalf("stranger's fourth: %v %v", res.Status, res.Refused)
	}
	// 6LR A registered itself: 50 for its subtree, its own share apart.
	if res := r.Register(Request{Addr: sixLRA, Link: 1, ROVR: rovrA, HasTID: true, TID: 1, Lifetime: 10, LinkAddr: llA}, t0); res.Status != StatusSuccess {
		t.Fatal(res.Status)
	}
	for i := range 50 {
		if res := relay(sixLRA, llA, i); res.Status != StatusSuccess {
			t.Fatalf("6LR's %d: %v", i, res.Status)
		}
	}
	if res := relay(sixLRA, llA, 50); res.Refused != RefusedNeighbor {
		t.Fatalf("6LR's 51st: %v %v", res.Status, res.Refused)
	}
	// The neighbour an EDAR is charged to defaults to the 6LR's next hop:
	// a deeper 6LR C registered through A counts against A.
	sixLRC := mustAddr("2001:db8:1::cc")
	if res := r.Register(Request{Addr: sixLRC, Link: 1, ROVR: rovrB, HasTID: true, TID: 1, Lifetime: 10, Via: sixLRA}, t0); res.Refused != RefusedNeighbor {
		t.Errorf("6LR C through A, A full: %v %v", res.Status, res.Refused)
	}
	// Once A's own registration is gone, A is a stranger again: nothing
	// more until its share drops below 3.
	r.Remove(sixLRA, 0)
	r.Remove(addrN(0), 0)
	if res := relay(sixLRA, llA, 60); res.Refused != RefusedNeighbor {
		t.Errorf("unregistered 6LR: %v %v", res.Status, res.Refused)
	}
}

// The lifetime granted is capped (RFC 8505: the registrar may return a
// shorter one) and returned; the entry expires by it.
func TestLifetimeCap(t *testing.T) {
	r := NewRegistry(RegistryConfig{MaxLifetime: 30 * time.Minute})
	res := r.Register(Request{Addr: addrX, Link: 1, ROVR: rovrA, Lifetime: 0xffff, LinkAddr: ll1}, t0)
	if res.Status != StatusSuccess || res.Lifetime != 30 {
		t.Fatalf("granted %d min (%v), want 30", res.Lifetime, res.Status)
	}
	g, _ := r.Lookup(addrX, t0)
	if g.Lifetime != 30 || !g.Expires.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("entry %d min, expires %v", g.Lifetime, g.Expires)
	}
	if _, ok := r.Lookup(addrX, t0.Add(30*time.Minute)); ok {
		t.Error("alive past the capped lifetime")
	}
	if res := r.Register(Request{Addr: addrN(1), Link: 1, ROVR: rovrB, Lifetime: 5, LinkAddr: ll2}, t0); res.Lifetime != 5 {
		t.Errorf("a shorter lifetime granted as %d", res.Lifetime)
	}
	// The router answers with the granted lifetime.
	rt := newTestRouter(t, func(c *Config) { c.MaxLifetime = 20 * time.Minute })
	na, _ := oneReply(t, handle(t, rt, nsEARO(t, node1LL, node1G, eui1[:], 1, 600, ll1), Incoming{Link: 1, LinkSrc: ll1}))
	if na.ARO.Status() != StatusSuccess || na.ARO.Lifetime() != 20 {
		t.Errorf("NA: %v, lifetime %d, want 20", na.ARO.Status(), na.ARO.Lifetime())
	}
	dac, _ := oneReply(t, handle(t, rt, edar(t, sixLRA, mustAddr("2001:db8:1::77"), euiB[:], 3, 600), Incoming{Link: 1}))
	if dac.DA().Status() != StatusSuccess || dac.DA().Lifetime() != 20 {
		t.Errorf("DAC: %v, lifetime %d, want 20", dac.DA().Status(), dac.DA().Lifetime())
	}
}

// A new registration is tentative for ConfirmationPeriod; renewal with a
// newer TID confirms it sooner, a retransmission (same TID) does not. A
// full registry evicts the oldest tentative entry, never an established
// one.
func TestTentative(t *testing.T) {
	r := NewRegistry(RegistryConfig{Capacity: 3})
	reg := func(n int, tid uint8, at time.Duration) Result {
		return r.Register(Request{Addr: addrN(n), Link: 1, ROVR: rovrN(n), HasTID: true, TID: tid, Lifetime: 10, LinkAddr: llN(n)}, t0.Add(at))
	}
	reg(0, 1, 0)
	reg(1, 1, time.Second)
	reg(2, 1, 2*time.Second)
	if g, _ := r.Lookup(addrN(0), t0.Add(5*time.Second)); !g.Tentative {
		t.Error("new registration not tentative")
	}
	reg(0, 1, 3*time.Second) // retransmission
	reg(1, 2, 4*time.Second) // renewal
	if g, _ := r.Lookup(addrN(0), t0.Add(5*time.Second)); !g.Tentative {
		t.Error("a retransmission confirmed the registration")
	}
	if g, _ := r.Lookup(addrN(1), t0.Add(5*time.Second)); g.Tentative {
		t.Error("a renewal did not confirm the registration")
	}
	// Full: a newcomer evicts the oldest tentative (0), not 1.
	res := reg(3, 1, 5*time.Second)
	if res.Status != StatusSuccess || res.Evicted == nil || res.Evicted.Addr != addrN(0) {
		t.Fatalf("newcomer: %v, evicted %+v", res.Status, res.Evicted)
	}
	if _, ok := r.Lookup(addrN(0), t0.Add(5*time.Second)); ok {
		t.Error("evicted entry still there")
	}
	// After the confirmation period everything is established: full.
	res = reg(4, 1, 5*time.Second+ConfirmationPeriod)
	if res.Status != StatusNeighborCacheFull || res.Refused != RefusedCapacity || res.Evicted != nil {
		t.Errorf("full of established entries: %v %v evicted %+v", res.Status, res.Refused, res.Evicted)
	}
	if s := r.Stats(t0.Add(5*time.Second + ConfirmationPeriod)); s.Tentative != 0 || s.Live != 3 {
		t.Errorf("stats %+v", s)
	}
	// A proven registration is established at once.
	r2 := NewRegistry(RegistryConfig{})
	r2.Register(Request{Addr: addrX, Link: 1, ROVR: rovrA, Lifetime: 10, LinkAddr: ll1, Proven: true}, t0)
	if g, _ := r2.Lookup(addrX, t0); g.Tentative || !g.Protected {
		t.Errorf("proven registration: tentative %v protected %v", g.Tentative, g.Protected)
	}
}

// A full link evicts a tentative entry of its own link only.
func TestQuotaPerLink(t *testing.T) {
	r := NewRegistry(RegistryConfig{Capacity: 10, MaxPerLink: 2})
	r.Register(Request{Addr: addrN(0), Link: 1, ROVR: rovrN(0), Lifetime: 10, LinkAddr: llN(0)}, t0)
	r.Register(Request{Addr: addrN(1), Link: 2, ROVR: rovrN(1), Lifetime: 10, LinkAddr: llN(1)}, t0)
	r.Register(Request{Addr: addrN(2), Link: 2, ROVR: rovrN(2), Lifetime: 10, LinkAddr: llN(2)}, t0.Add(time.Second))
	res := r.Register(Request{Addr: addrN(3), Link: 2, ROVR: rovrN(3), Lifetime: 10, LinkAddr: llN(3)}, t0.Add(2*time.Second))
	if res.Evicted == nil || res.Evicted.Addr != addrN(1) {
		t.Fatalf("link 2 full: evicted %+v (%v)", res.Evicted, res.Status)
	}
	later := t0.Add(time.Minute)
	if res := r.Register(Request{Addr: addrN(4), Link: 2, ROVR: rovrN(4), Lifetime: 10, LinkAddr: llN(4)}, later); res.Refused != RefusedLink {
		t.Errorf("link 2 full of established entries: %v %v", res.Status, res.Refused)
	}
	if res := r.Register(Request{Addr: addrN(5), Link: 1, ROVR: rovrN(5), Lifetime: 10, LinkAddr: llN(5)}, later); res.Status != StatusSuccess {
		t.Errorf("link 1: %v", res.Status)
	}
}

// The target of issue 13 at the registry: one radio sends registrations
// for three times the registry's size (a new address and ROVR each, at
// 100 per second); a legitimate node that comes along then registers at
// once. The radio either keeps its own link-layer address (the per-
// neighbour share stops it) or forges a new one for every frame (every
// entry it makes stays tentative and is evicted for the newcomer).
func TestFloodThenNewNodeRegisters(t *testing.T) {
	const size = 2000
	for _, forge := range []bool{false, true} {
		name := "one address"
		if forge {
			name = "forged addresses"
		}
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			rt := newTestRouter(t, func(c *Config) {
				c.RegistryCapacity = size
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			// Established residents: 100 nodes registered a minute earlier.
			before := t0.Add(-time.Minute)
			for i := range 100 {
				res := rt.Registry().Register(Request{Addr: addrN(1_000_000 + i), Link: 1, ROVR: rovrN(1_000_000 + i), HasTID: true, TID: 1,
					Lifetime: 60, LinkAddr: llN(1_000_000 + i)}, before)
				if res.Status != StatusSuccess {
					t.Fatal(res.Status)
				}
			}
			attacker := llN(7)
			accepted := 0
			flood := 3 * size
			var now time.Time
			for i := range flood {
				now = t0.Add(time.Duration(i) * 10 * time.Millisecond)
				src := attacker
				if forge {
					src = llN(10_000 + i)
				}
				iid := src.Extended()
				ll := netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 8: iid[0] ^ 2, 9: iid[1], 10: iid[2], 11: iid[3], 12: iid[4], 13: iid[5], 14: iid[6], 15: iid[7]})
				rv := rovrN(i)
				ns := nsEARO(t, ll, addrN(i), rv.Bytes(), 1, 60, src)
				na, _ := oneReply(t, handle(t, rt, ns, Incoming{Link: 1, LinkSrc: src, Now: now}))
				switch na.ARO.Status() {
				case StatusSuccess:
					accepted++
				case StatusNeighborCacheFull:
				default:
					t.Fatalf("flood registration %d: %v", i, na.ARO.Status())
				}
			}
			if !forge && accepted != DefaultMaxPerNeighbor {
				t.Errorf("one radio got %d registrations, want its share %d", accepted, DefaultMaxPerNeighbor)
			}
			// The legitimate node, right after the flood (well within 10 s).
			now = now.Add(100 * time.Millisecond)
			na, _ := oneReply(t, handle(t, rt, nsEARO(t, node1LL, node1G, eui1[:], 1, 60, ll1), Incoming{Link: 1, LinkSrc: ll1, Now: now}))
			if na.ARO.Status() != StatusSuccess {
				t.Fatalf("legitimate node after the flood: %v", na.ARO.Status())
			}
			// No resident was evicted.
			for i := range 100 {
				if _, ok := rt.Registry().Lookup(addrN(1_000_000+i), now); !ok {
					t.Fatalf("established resident %d evicted", i)
				}
			}
			// The flood wrote a handful of log lines, not thousands.
			rt.Maintain(now.Add(2 * time.Minute))
			if n := strings.Count(logs.String(), "\n"); n > 10 {
				t.Errorf("%d log lines for a flood of %d:\n%s", n, flood, logs.String())
			}
			t.Logf("accepted %d of %d; %d log lines", accepted, flood, strings.Count(logs.String(), "\n"))
		})
	}
}

// Refused registrations are logged once, then summarised.
func TestRefusalsSummarised(t *testing.T) {
	var logs bytes.Buffer
	rt := newTestRouter(t, func(c *Config) {
		c.MaxPerNeighbor = 1
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for i := range 413 {
		handle(t, rt, nsEARO(t, node1LL, addrN(i), eui1[:], uint8(i), 60, ll1), Incoming{Link: 1, LinkSrc: ll1, Now: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	if n := strings.Count(logs.String(), "registration refused"); n != 1 {
		t.Errorf("%d refusal lines before the summary:\n%s", n, logs.String())
	}
	rt.Maintain(t0.Add(61 * time.Second))
	if !strings.Contains(logs.String(), "411 registrations refused (NS) from 02:12:34:56:78:ab:cd:ef: neighbor cache full, last 1m1s") {
		t.Errorf("no summary:\n%s", logs.String())
	}
}
