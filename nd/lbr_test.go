package nd

import (
	"errors"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

var (
	t0      = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rtrLL   = mustAddr("fe80::80b:c0d:e0f:1011")
	rtrGlob = mustAddr("2001:db8:1::1")
	node1LL = mustAddr("fe80::12:3456:78ab:cdef")
	node1G  = mustAddr("2001:db8:1:0:12:3456:78ab:cdef")
	sixLRA  = mustAddr("2001:db8:1::aa")
	sixLRB  = mustAddr("2001:db8:1::bb")
	llA     = lowpan.ShortLinkAddr(0xaa)
	llBB    = lowpan.ShortLinkAddr(0xbb)
)

func testConfig() Config {
	return Config{
		Prefix:             prefix1,
		Contexts:           []ContextConfig{{ID: 0, Prefix: prefix1}},
		ContextChangeDelay: -1,
		LinkLocal:          rtrLL,
		Global:             rtrGlob,
	}
}

func newTestRouter(t *testing.T, mod func(*Config)) *Router {
	t.Helper()
	c := testConfig()
	if mod != nil {
		mod(&c)
	}
	r, err := New(c, t0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// handle runs one packet through Parse and Handle.
func handle(t *testing.T, r *Router, pkt []byte, in Incoming) []Reply {
	t.Helper()
	m := mustParse(t, pkt)
	if in.Local.Kind() == lowpan.LinkAddrNone {
		in.Local = ll2
	}
	if in.Now.IsZero() {
		in.Now = t0
	}
	return r.Handle(nil, m, in)
}

// nsEARO builds a compliant RFC 8505 registration: link-local source,
// the registered address as target.
func nsEARO(t testing.TB, srcLL netip.Addr, target netip.Addr, rovr []byte, tid uint8, lifetime uint16, sllao lowpan.LinkAddr) []byte {
	return mustAppend(t, srcLL, rtrLL, 255, NSFields{Target: target},
		AROFields{R: true, T: true, TID: tid, Lifetime: lifetime, ROVR: rovr}, SourceLinkAddr{Addr: sllao})
}

func edar(t testing.TB, from netip.Addr, reg netip.Addr, rovr []byte, tid uint8, lifetime uint16) []byte {
	return mustAppend(t, from, rtrGlob, MultihopHopLimit, DAFields{Extended: true, TID: tid, Lifetime: lifetime, ROVR: rovr, Registered: reg})
}

func oneReply(t *testing.T, replies []Reply) (*Message, Reply) {
	t.Helper()
	if len(replies) != 1 {
		t.Fatalf("%d replies, want 1", len(replies))
	}
	return mustParse(t, replies[0].Packet), replies[0]
}

func TestRSGetsUnicastRA(t *testing.T) {
	// Every option, the SLLAO the frame's source gives too (the default;
	// TestSolicitedRAFitsOneFrame has OmitSolicitedSLLAO).
	r := newTestRouter(t, func(c *Config) { c.MTU = 1280 })
	rs := mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1})
	ra, rep := oneReply(t, handle(t, r, rs, Incoming{Link: 3, LinkSrc: ll1}))
	if ra.Type != TypeRouterAdvert || ra.Src != rtrLL || ra.Dst != node1LL || rep.LinkDst != ll1 || rep.Link != 3 {
		t.Fatalf("RA %v → %v via %v link %d", ra.Src, ra.Dst, rep.LinkDst, rep.Link)
	}
	if ra.RA().Preference() != PreferenceHigh || ra.RA().RouterLifetime() != 1800 || ra.RA().CurHopLimit() != 64 {
		t.Errorf("RA header: prf %d lifetime %d", ra.RA().Preference(), ra.RA().RouterLifetime())
	}
	if a, _ := ra.SLLAO.Addr(MediumIEEE802154); a != ll2 {
		t.Errorf("SLLAO %v, want the router's %v", a, ll2)
	}
	var types []OptionType
	it := ra.Options.Iter()
	for {
		o, done, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		types = append(types, o.Type())
		switch o.Type() {
		case OptPrefixInfo:
			p := PrefixInfo(o)
			if p.Prefix() != prefix1 || p.OnLink() || !p.Autonomous() || p.ValidLifetime() != 86400 || p.PreferredLifetime() != 14400 {
				t.Errorf("PIO %v L=%v A=%v", p.Prefix(), p.OnLink(), p.Autonomous())
			}
		case Opt6CO:
			c := ContextOption(o)
			if c.CID() != 0 || c.Prefix() != prefix1 || !c.Compress() || c.ValidLifetime() != 60 {
				t.Errorf("6CO %v C=%v", c.Prefix(), c.Compress())
			}
		case OptABRO:
			a := ABRO(o)
			if a.Version() != r.ABROVersion() || a.Addr() != rtrGlob || a.ValidLifetime() != 10000 {
				t.Errorf("ABRO %d %v %d", a.Version(), a.Addr(), a.ValidLifetime())
			}
		case Opt6CIO:
			if f := CapabilityOption(o).Flags(); f != CapB|CapE|CapD|CapL {
				t.Errorf("6CIO flags %#x", f)
			}
		case OptMTU:
			if MTUOption(o).MTU() != 1280 {
				t.Errorf("MTU %d", MTUOption(o).MTU())
			}
		}
	}
	want := []OptionType{OptSourceLinkAddr, OptPrefixInfo, OptMTU, Opt6CO, OptABRO, Opt6CIO}
	if !equalTypes(types, want) {
		t.Errorf("options %v, want %v", types, want)
	}

	// From ::, no SLLAO allowed: the RA goes to all nodes.
	rs = mustAppend(t, netip.IPv6Unspecified(), mustAddr("ff02::2"), 255, RSFields{})
	ra, rep = oneReply(t, handle(t, r, rs, Incoming{Link: 3, LinkSrc: ll1}))
	if ra.Dst != allNodes || rep.LinkDst.Kind() != lowpan.LinkAddrNone {
		t.Errorf("RA from :: went to %v / %v", ra.Dst, rep.LinkDst)
	}
}

func TestRegistrationFlows(t *testing.T) {
	r := newTestRouter(t, nil)

	// NS(EARO) → NA(EARO) success.
	na, rep := oneReply(t, handle(t, r, nsEARO(t, node1LL, node1G, eui1[:], 10, 30, ll1), Incoming{Link: 1, LinkSrc: ll1}))
	if na.Type != TypeNeighborAdvert || na.Dst != node1LL || na.Src != rtrLL || na.Target != node1G || rep.LinkDst != ll1 {
		t.Fatalf("NA %v → %v target %v", na.Src, na.Dst, na.Target)
	}
	if a := na.ARO; a == nil || a.Status() != StatusSuccess || !a.T() || a.TID() != 10 || !a.R() || a.Lifetime() != 30 || string(a.ROVR()) != string(eui1[:]) {
		t.Fatalf("NA EARO %x", []byte(na.ARO))
	}
	if !na.NA().Solicited() || !na.NA().Router() {
		t.Error("NA flags: want R and S")
	}
	reg, ok := r.Registry().Lookup(node1G, t0)
	if !ok || reg.TID != 10 || !reg.HasTID || reg.LinkAddr != ll1 || reg.Link != 1 || reg.Expires != t0.Add(30*time.Minute) {
		t.Fatalf("registry %+v", reg)
	}

	// Another node, same address, another ROVR → DUPLICATE, first kept.
	otherLL := mustAddr("fe80::bbbb")
	na, rep = oneReply(t, handle(t, r, nsEARO(t, otherLL, node1G, euiB[:], 1, 30, llB), Incoming{Link: 1, LinkSrc: llB}))
	if na.ARO.Status() != StatusDuplicate || na.Dst != otherLL || rep.LinkDst != llB {
		t.Fatalf("second node: status %v to %v/%v", na.ARO.Status(), na.Dst, rep.LinkDst)
	}
	if reg, _ := r.Registry().Lookup(node1G, t0); reg.ROVR != EUI64ROVR(eui1) {
		t.Fatal("duplicate replaced the owner")
	}

	// EARO from a global source → invalid source (RFC 8505 §5.6).
	na, _ = oneReply(t, handle(t, r, nsEARO(t, mustAddr("2001:db8:1::77"), mustAddr("2001:db8:1::77"), euiB[:], 1, 30, llB), Incoming{Link: 1, LinkSrc: llB}))
	if na.ARO.Status() != StatusInvalidSource {
		t.Errorf("global source: status %v", na.ARO.Status())
	}
	// An address outside the prefix → topologically incorrect.
	na, _ = oneReply(t, handle(t, r, nsEARO(t, otherLL, mustAddr("2001:db8:99::1"), euiB[:], 1, 30, llB), Incoming{Link: 1, LinkSrc: llB}))
	if na.ARO.Status() != StatusTopologicallyIncorrect {
		t.Errorf("foreign prefix: status %v", na.ARO.Status())
	}
	// The router's own address → duplicate.
	dac, _ := oneReply(t, handle(t, r, edar(t, sixLRA, rtrGlob, euiB[:], 1, 30), Incoming{Link: 1, LinkSrc: llB}))
	if dac.DA().Status() != StatusDuplicate {
		t.Errorf("router's address: status %v", dac.DA().Status())
	}

	// Deregistration by the owner: success, entry gone.
	na, _ = oneReply(t, handle(t, r, nsEARO(t, node1LL, node1G, eui1[:], 11, 0, ll1), Incoming{Link: 1, LinkSrc: ll1}))
	if na.ARO.Status() != StatusSuccess {
		t.Errorf("deregistration: status %v", na.ARO.Status())
	}
	if _, ok := r.Registry().Lookup(node1G, t0); ok {
		t.Error("deregistered address still registered")
	}
	c := r.Counters()
	if c.Received[RecvNS] != 5 || c.NAsSent != 5 || c.DACsSent != 1 || c.StatusReplies[StatusSuccess] != 2 || c.StatusReplies[StatusDuplicate] != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestEDARFlows(t *testing.T) {
	r := newTestRouter(t, nil)
	// The 6LR A registers its own address directly.
	lrALL := mustAddr("fe80::aa")
	oneReply(t, handle(t, r, nsEARO(t, lrALL, sixLRA, []byte{0xaa, 1, 2, 3, 4, 5, 6, 7}, 1, 60, llA), Incoming{Link: 1, LinkSrc: llA}))

	rovr128 := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	dac, rep := oneReply(t, handle(t, r, edar(t, sixLRA, node1G, rovr128, 5, 20), Incoming{Link: 1, LinkSrc: llA}))
	da := dac.DA()
	if dac.Type != TypeDAC || dac.Code != 2 || dac.Src != rtrGlob || dac.Dst != sixLRA || dac.HopLimit != MultihopHopLimit ||
		da.Status() != StatusSuccess || da.TID() != 5 || da.Lifetime() != 20 || string(da.ROVR()) != string(rovr128) || da.Registered() != node1G || rep.LinkDst != llA {
		t.Fatalf("EDAC code %d %v→%v hl %d status %v tid %d", dac.Code, dac.Src, dac.Dst, dac.HopLimit, da.Status(), da.TID())
	}
	reg, _ := r.Registry().Lookup(node1G, t0)
	if reg.Via != sixLRA || reg.Direct() {
		t.Fatalf("route: via %v", reg.Via)
	}
	if link, ll, ok := r.Registry().NextHop(node1G, t0); !ok || ll != llA || link != 1 {
		t.Errorf("NextHop = %d %v %v", link, ll, ok)
	}

	// The node moves to 6LR B with a newer TID: EDAC success to B and an
	// asynchronous EDAC "moved" to A.
	replies := handle(t, r, edar(t, sixLRB, node1G, rovr128, 6, 20), Incoming{Link: 1, LinkSrc: llBB})
	if len(replies) != 2 {
		t.Fatalf("%d replies, want EDAC and moved", len(replies))
	}
	d1, d2 := mustParse(t, replies[0].Packet), mustParse(t, replies[1].Packet)
	if d1.Dst != sixLRB || d1.DA().Status() != StatusSuccess {
		t.Errorf("EDAC to %v status %v", d1.Dst, d1.DA().Status())
	}
	if d2.Type != TypeDAC || d2.Dst != sixLRA || d2.DA().Status() != StatusMoved || d2.DA().TID() != 6 || d2.DA().Registered() != node1G || replies[1].LinkDst != llA {
		t.Errorf("moved EDAC to %v status %v tid %d lldst %v", d2.Dst, d2.DA().Status(), d2.DA().TID(), replies[1].LinkDst)
	}
	if reg, _ := r.Registry().Lookup(node1G, t0); reg.Via != sixLRB {
		t.Errorf("route not moved: %v", reg.Via)
	}

	// A stale EDAR through A (older TID) → moved, route stays with B.
	dac, _ = oneReply(t, handle(t, r, edar(t, sixLRA, node1G, rovr128, 5, 20), Incoming{Link: 1, LinkSrc: llA}))
	if dac.DA().Status() != StatusMoved {
		t.Errorf("stale EDAR: status %v", dac.DA().Status())
	}
	// Another ROVR through A → duplicate.
	dac, _ = oneReply(t, handle(t, r, edar(t, sixLRA, node1G, eui1[:], 9, 20), Incoming{Link: 1, LinkSrc: llA}))
	if dac.DA().Status() != StatusDuplicate || dac.Code != 1 {
		t.Errorf("other ROVR: status %v code %d", dac.DA().Status(), dac.Code)
	}

	// RFC 6775 DAR/DAC for a fresh address.
	other := mustAddr("2001:db8:1::4242")
	dar := mustAppend(t, sixLRA, rtrGlob, 60, DAFields{Lifetime: 10, ROVR: euiB[:], Registered: other})
	dac, _ = oneReply(t, handle(t, r, dar, Incoming{Link: 1, LinkSrc: llA}))
	if dac.Code != 0 || dac.DA().Extended() || dac.DA().Status() != StatusSuccess || dac.Body[5] != 0 {
		t.Errorf("DAC code %d status %v", dac.Code, dac.DA().Status())
	}
	// ... and an RFC 6775 DAR cannot touch the EARO-made registration
	// (RFC 8505 §6.3).
	dar = mustAppend(t, sixLRA, rtrGlob, 60, DAFields{Lifetime: 0, ROVR: rovr128[:8], Registered: node1G})
	dac, _ = oneReply(t, handle(t, r, dar, Incoming{Link: 1, LinkSrc: llA}))
	if dac.DA().Status() == StatusSuccess {
		t.Errorf("legacy DAR changed an EARO registration")
	}
	// Deregistration through B with the current TID → success, gone.
	dac, _ = oneReply(t, handle(t, r, edar(t, sixLRB, node1G, rovr128, 6, 0), Incoming{Link: 1, LinkSrc: llBB}))
	if dac.DA().Status() != StatusSuccess {
		t.Errorf("deregistration: %v", dac.DA().Status())
	}
	if _, ok := r.Registry().Lookup(node1G, t0); ok {
		t.Error("still registered")
	}
	if r.Counters().MovedSent != 1 {
		t.Errorf("moved sent %d", r.Counters().MovedSent)
	}
}

// A registration refused for want of room hears "neighbor cache full"
// (RFC 8505 §4.1 status 2), in an EDAC "6LBR registry saturated" (9).
func TestSaturationStatus(t *testing.T) {
	r := newTestRouter(t, func(c *Config) { c.RegistryCapacity = 1; c.ConfirmationPeriod = -1 })
	oneReply(t, handle(t, r, edar(t, sixLRA, mustAddr("2001:db8:1::1:1"), eui1[:], 1, 10), Incoming{Link: 1}))
	// EDAR: registry saturated (9).
	dac, _ := oneReply(t, handle(t, r, edar(t, sixLRA, mustAddr("2001:db8:1::1:2"), euiB[:], 1, 10), Incoming{Link: 1}))
	if dac.DA().Status() != StatusRegistrySaturated {
		t.Errorf("EDAR: %v", dac.DA().Status())
	}
	// RFC 6775 DAR: neighbor cache full (2), the only one it knows.
	dar := mustAppend(t, sixLRA, rtrGlob, 60, DAFields{Lifetime: 10, ROVR: euiB[:], Registered: mustAddr("2001:db8:1::1:2")})
	dac, _ = oneReply(t, handle(t, r, dar, Incoming{Link: 1}))
	if dac.DA().Status() != StatusNeighborCacheFull {
		t.Errorf("DAR: %v", dac.DA().Status())
	}
	// NS(EARO) and NS(ARO): 2.
	na, _ := oneReply(t, handle(t, r, nsEARO(t, node1LL, node1G, eui1[:], 1, 10, ll1), Incoming{Link: 1}))
	if na.ARO.Status() != StatusNeighborCacheFull {
		t.Errorf("EARO: %v", na.ARO.Status())
	}
	aro := mustAppend(t, node1G, rtrLL, 255, NSFields{Target: rtrLL}, AROFields{Lifetime: 10, ROVR: eui1[:]}, SourceLinkAddr{Addr: ll1})
	na, _ = oneReply(t, handle(t, r, aro, Incoming{Link: 1}))
	if na.ARO.Status() != StatusNeighborCacheFull || na.Dst != node1G {
		t.Errorf("ARO: %v to %v", na.ARO.Status(), na.Dst)
	}
	// The relaying 6LR's share (capped at the capacity, 1) is full for
	// the DARs, the registry for the NSs.
	if c := r.Counters(); c.Refused[RefusedNeighbor] != 2 || c.Refused[RefusedCapacity] != 2 {
		t.Errorf("refused %v, want 2 for the neighbour's share, 2 for capacity", c.Refused)
	}
}

func TestNSForRouterAddress(t *testing.T) {
	r := newTestRouter(t, nil)
	ns := mustAppend(t, node1LL, rtrLL, 255, NSFields{Target: rtrLL}, SourceLinkAddr{Addr: ll1})
	na, rep := oneReply(t, handle(t, r, ns, Incoming{Link: 1, LinkSrc: ll1}))
	if !na.NA().Solicited() || !na.NA().Override() || na.Src != rtrLL || na.Dst != node1LL || rep.LinkDst != ll1 {
		t.Errorf("NA %v → %v", na.Src, na.Dst)
	}
	if a, _ := na.TLLAO.Addr(MediumIEEE802154); a != ll2 {
		t.Errorf("TLLAO %v", a)
	}
	// Not ours: nothing.
	ns = mustAppend(t, node1LL, mustAddr("fe80::99"), 255, NSFields{Target: mustAddr("fe80::99")}, SourceLinkAddr{Addr: ll1})
	if got := handle(t, r, ns, Incoming{Link: 1}); len(got) != 0 {
		t.Errorf("answered an NS for someone else")
	}
}

func TestBLERegistrationAndLatest(t *testing.T) {
	r := newTestRouter(t, nil)
	bd := lowpan.BLELinkAddr([6]byte{0x00, 0x1a, 0x7d, 0xda, 0x71, 0x13})
	iid, _ := bd.IID()
	llAddr := netip.AddrFrom16([16]byte{0xfe, 0x80, 8: iid[0], iid[1], iid[2], iid[3], iid[4], iid[5], iid[6], iid[7]})
	g := mustAddr("2001:db8:1::1a:7dff:feda:7113")
	pkt := nsEARO(t, llAddr, g, eui1[:], 3, 10, bd)
	m := mustParse(t, pkt)
	if a, ok := m.SLLAO.Addr(MediumBLE); !ok || a != bd || len(m.SLLAO) != 8 {
		t.Fatalf("BLE SLLAO %v %v len %d", a, ok, len(m.SLLAO))
	}
	replies := r.Handle(nil, m, Incoming{Link: 7, LinkSrc: bd, Local: lowpan.BLELinkAddr([6]byte{1, 2, 3, 4, 5, 6}), Now: t0})
	na, rep := oneReply(t, replies)
	if na.ARO.Status() != StatusSuccess || rep.LinkDst != bd {
		t.Fatalf("status %v lldst %v", na.ARO.Status(), rep.LinkDst)
	}
	r.Registry().cfg.Now = func() time.Time { return t0 }
	if a, ok := r.Registry().LatestRegistered(bd, prefix1); !ok || a != g {
		t.Errorf("LatestRegistered = %v %v", a, ok)
	}
	var _ lowpan.Registrations = r.Registry()
}

func TestContextLifeCycle(t *testing.T) {
	r := newTestRouter(t, func(c *Config) { c.ContextChangeDelay = 0 }) // 300 s
	v0 := r.ABROVersion()
	ctx := func() []AdvertisedContext { return r.Contexts() }
	if c := ctx(); len(c) != 1 || c[0].Compress || c[0].Until != t0.Add(MinContextChangeDelay) {
		t.Fatalf("new context: %+v", c)
	}
	if err := r.Maintain(t0.Add(299 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if ctx()[0].Compress || r.ABROVersion() != v0 {
		t.Fatal("C=1 too early")
	}
	t1 := t0.Add(300 * time.Second)
	r.Maintain(t1)
	if !ctx()[0].Compress || r.ABROVersion() != v0+1 {
		t.Fatalf("after the delay: %+v version %d", ctx(), r.ABROVersion())
	}
	var table lowpan.ContextTable
	if err := r.ApplyContexts(&table); err != nil {
		t.Fatal(err)
	}
	if c, ok := table.Get(0); !ok || !c.Compress || c.Prefix != prefix1 {
		t.Errorf("context table %+v", c)
	}

	// Change context 0's prefix: the old one goes on with C=0, then the
	// new one is introduced with C=0, then used.
	p2 := netip.MustParsePrefix("2001:db8:2::/64")
	if err := r.SetAdvertised(prefix1, []ContextConfig{{ID: 0, Prefix: p2}}, t1); err != nil {
		t.Fatal(err)
	}
	if c := ctx()[0]; c.Prefix != prefix1 || c.Compress || !c.Withdrawing || r.ABROVersion() != v0+2 {
		t.Fatalf("withdrawing: %+v v%d", c, r.ABROVersion())
	}
	r.ApplyContexts(&table)
	if c, _ := table.Get(0); c.Compress {
		t.Error("withdrawn context still compresses")
	}
	t2 := t1.Add(300 * time.Second)
	r.Maintain(t2)
	if c := ctx()[0]; c.Prefix != p2 || c.Compress || c.Withdrawing || r.ABROVersion() != v0+3 {
		t.Fatalf("introducing: %+v v%d", c, r.ABROVersion())
	}
	r.Maintain(t2.Add(300 * time.Second))
	if c := ctx()[0]; c.Prefix != p2 || !c.Compress || r.ABROVersion() != v0+4 {
		t.Fatalf("in use: %+v v%d", c, r.ABROVersion())
	}
	// Remove it: C=0 for the delay, then gone.
	t3 := t2.Add(600 * time.Second)
	r.SetAdvertised(prefix1, nil, t3)
	if c := ctx(); len(c) != 1 || c[0].Compress || !c[0].Withdrawing {
		t.Fatalf("removing: %+v", c)
	}
	r.Maintain(t3.Add(300 * time.Second))
	if c := ctx(); len(c) != 0 || r.ABROVersion() != v0+6 {
		t.Fatalf("removed: %+v v%d", c, r.ABROVersion())
	}
	r.ApplyContexts(&table)
	if _, ok := table.Get(0); ok {
		t.Error("removed context still in the table")
	}
	// A prefix change increases the version at once.
	r.SetAdvertised(netip.MustParsePrefix("2001:db8:7::/64"), nil, t3.Add(time.Hour))
	if r.ABROVersion() != v0+7 {
		t.Errorf("prefix change: version %d", r.ABROVersion())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, mod := range []func(*Config){
		func(c *Config) { c.LinkLocal = rtrGlob },
		func(c *Config) { c.Global = netip.Addr{} },
		func(c *Config) { c.Contexts = []ContextConfig{{ID: 16, Prefix: prefix1}} },
		func(c *Config) { c.Contexts = []ContextConfig{{ID: 1, Prefix: prefix1}, {ID: 1, Prefix: prefix1}} },
		func(c *Config) { c.Prefix = netip.MustParsePrefix("10.0.0.0/8") },
	} {
		c := testConfig()
		mod(&c)
		if _, err := New(c, t0); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	// A state path in a directory that does not exist: reading works (no
	// file), saving fails but the router runs.
	c := testConfig()
	c.StatePath = filepath.Join(t.TempDir(), "missing", "state.json")
	r, err := New(c, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Save(t0); err == nil || errors.Is(err, ErrCorruptState) {
		t.Errorf("Save into a missing directory: %v", err)
	}
}

// Handle, Maintain and SetAdvertised from several goroutines (run with
// -race).
func TestRouterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	r := newTestRouter(t, func(c *Config) { c.StatePath = path })
	rs := mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m Message
			for i := range 200 {
				a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(g), 15: byte(i)})
				ns := nsEARO(t, node1LL, a, eui1[:], uint8(i), 5, ll1)
				for _, p := range [][]byte{ns, rs} {
					if err := Parse(p, &m); err != nil {
						t.Error(err)
						return
					}
					r.Handle(nil, &m, Incoming{Link: 1, LinkSrc: ll1, Local: ll2, Now: t0})
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			now := t0.Add(time.Duration(i) * time.Second)
			r.Maintain(now)
			r.SetAdvertised(prefix1, []ContextConfig{{ID: uint8(i % 3), Prefix: prefix1}}, now)
			r.Contexts()
			r.Counters()
		}
	}()
	wg.Wait()
	if err := r.Save(t0); err != nil {
		t.Fatal(err)
	}
}
