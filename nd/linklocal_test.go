package nd

import (
	"testing"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// After the radio came back with another EUI-64 the router's link-local
// address follows it: RAs and NAs come from the new address, an
// unsolicited RA to all nodes carries the new SLLAO, and the former
// address is still the router's own (NUD from nodes that have not heard
// the RA yet is answered, and nobody may register it).
func TestLinkLocalFollowsRadio(t *testing.T) {
	r := newTestRouter(t, nil)
	newLL := mustAddr("fe80::1:2:3:4")
	newMAC := lowpan.ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x07})
	if err := r.SetLinkLocal(mustAddr("2001:db8::1")); err == nil {
		t.Error("SetLinkLocal accepted a global address")
	}
	if err := r.SetLinkLocal(newLL); err != nil {
		t.Fatal(err)
	}
	if got := r.LinkLocal(); got != newLL {
		t.Fatalf("LinkLocal = %v, want %v", got, newLL)
	}
	out := r.UnsolicitedRA(nil, 3, newMAC)
	if len(out) != 2 {
		t.Fatalf("%d RAs after the change, want the former address's withdrawal and the new one", len(out))
	}
	w := mustParse(t, out[0].Packet)
	if w.Type != TypeRouterAdvert || w.Src != rtrLL || w.RA().RouterLifetime() != 0 || w.Dst != mustAddr("ff02::1") {
		t.Fatalf("withdrawal: %v from %v, router lifetime %d", w.Type, w.Src, w.RA().RouterLifetime())
	}
	if a, ok := w.SLLAO.Addr(MediumIEEE802154); !ok || a != newMAC {
		t.Fatalf("withdrawal SLLAO %v, want %v", a, newMAC)
	}
	m, rep := oneReply(t, out[1:])
	for i := 2; i <= MaxInitialRAs; i++ {
		if again := r.UnsolicitedRA(nil, 3, newMAC); len(again) != 2 {
			t.Errorf("UnsolicitedRA number %d: %d RAs, want the withdrawal again and the RA", i, len(again))
		}
	}
	if again := r.UnsolicitedRA(nil, 3, newMAC); len(again) != 1 {
		t.Errorf("%d RAs after %d, want 1 (the withdrawal is repeated MaxInitialRAs times)", len(again), MaxInitialRAs)
	}
	if m.Type != TypeRouterAdvert || m.Src != newLL || m.Dst != mustAddr("ff02::1") || rep.Link != 3 || rep.LinkDst.Kind() != lowpan.LinkAddrNone {
		t.Fatalf("unsolicited RA: type %v %v → %v on link %d to %v", m.Type, m.Src, m.Dst, rep.Link, rep.LinkDst)
	}
	if a, ok := m.SLLAO.Addr(MediumIEEE802154); !ok || a != newMAC {
		t.Fatalf("SLLAO %v, want %v", a, newMAC)
	}
	// RS → RA from the new address.
	rs := mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1})
	if m, _ := oneReply(t, handle(t, r, rs, Incoming{LinkSrc: ll1, Local: newMAC})); m.Src != newLL {
		t.Errorf("RA after the change from %v, want %v", m.Src, newLL)
	}
	// NUD for the former address is still answered.
	for _, target := range []string{"fe80::80b:c0d:e0f:1011", "fe80::1:2:3:4"} {
		ns := mustAppend(t, node1LL, mustAddr(target), 255, NSFields{Target: mustAddr(target)}, SourceLinkAddr{Addr: ll1})
		if m, _ := oneReply(t, handle(t, r, ns, Incoming{LinkSrc: ll1, Local: newMAC})); m.Type != TypeNeighborAdvert {
			t.Errorf("NS for %s: got %v", target, m.Type)
		}
	}
}
