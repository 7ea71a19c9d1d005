package nd

import (
	"encoding/binary"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// fuzzSeeds are hand-made packets of every type, with truncated and
// oversized variants.
func fuzzSeeds(t testing.TB) [][]byte {
	rovr128 := make([]byte, 16)
	seeds := [][]byte{
		mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1}),
		mustAppend(t, rtrLL, node1LL, 255, RAFields{CurHopLimit: 64}, SourceLinkAddr{Addr: ll2},
			PrefixInfoFields{Prefix: prefix1, Autonomous: true}, MTUFields{MTU: 1280},
			RouteInfoFields{Prefix: prefix1}, ContextFields{Prefix: prefix1, Compress: true},
			ABROFields{Version: 7, Addr: rtrGlob}, CapabilityFields{Flags: CapB}),
		nsEARO(t, node1LL, node1G, eui1[:], 3, 10, ll1),
		nsEARO(t, node1LL, node1G, rovr128, 3, 0, lowpan.ShortLinkAddr(1)),
		mustAppend(t, node1G, rtrLL, 255, NSFields{Target: rtrLL}, AROFields{Lifetime: 60, ROVR: eui1[:]}, SourceLinkAddr{Addr: ll1}),
		mustAppend(t, node1LL, rtrLL, 255, NSFields{Target: rtrLL}, SourceLinkAddr{Addr: ll1}),
		mustAppend(t, rtrLL, node1LL, 255, NAFields{Solicited: true, Target: node1G}, AROFields{T: true, ROVR: eui1[:]}),
		mustAppend(t, sixLRA, rtrGlob, 64, DAFields{ROVR: eui1[:], Lifetime: 5, Registered: node1G}),
		mustAppend(t, sixLRA, rtrGlob, 64, DAFields{Extended: true, TID: 4, ROVR: rovr128, Lifetime: 5, Registered: node1G}),
		mustAppend(t, rtrGlob, sixLRA, 64, DAFields{Confirmation: true, Extended: true, ROVR: make([]byte, 32), Registered: node1G}),
	}
	var more [][]byte
	for _, s := range seeds {
		more = append(more, s[:len(s)-1], s[:IPv6HeaderLen+6], append(append([]byte(nil), s...), make([]byte, 16)...))
	}
	return append(seeds, more...)
}

// fixChecksum makes an ICMPv6 packet's lengths and checksum right, so the
// fuzzer gets past them into the options and the router.
func fixChecksum(p []byte) []byte {
	if len(p) < IPv6HeaderLen+4 || len(p)-IPv6HeaderLen > 0xffff {
		return nil
	}
	p = append([]byte(nil), p...)
	p[0] = 0x60 | p[0]&0x0f
	p[6] = protoICMPv6
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-IPv6HeaderLen))
	icmp := p[IPv6HeaderLen:]
	icmp[2], icmp[3] = 0, 0
	c := checksum.Finish(checksum.Sum(icmp, checksum.PseudoHeaderIPv6(p[8:24], p[24:40], protoICMPv6, uint32(len(icmp)))))
	binary.BigEndian.PutUint16(icmp[2:], c)
	return p
}

// touch reads every field of a parsed message through its views: none may
// panic on anything Parse accepted.
func touch(m *Message) {
	switch m.Type {
	case TypeRouterAdvert:
		ra := m.RA()
		_, _, _, _ = ra.CurHopLimit(), ra.Preference(), ra.ReachableTime(), ra.RetransTimer()
	case TypeNeighborAdvert:
		_ = m.NA().Solicited()
	case TypeDAR, TypeDAC:
		d := m.DA()
		_, _, _, _, _ = d.Status(), d.TID(), d.Lifetime(), d.ROVR(), d.Registered()
	}
	if m.SLLAO != nil {
		m.SLLAO.Addr(MediumIEEE802154)
		m.SLLAO.Addr(MediumBLE)
	}
	if m.ARO != nil {
		_, _, _, _, _ = m.ARO.Status(), m.ARO.TID(), m.ARO.Lifetime(), m.ARO.ROVR(), m.ARO.I()
	}
	it := m.Options.Iter()
	for {
		o, done, err := it.Next()
		if done || err != nil {
			return
		}
		if !usesOption(m.Type, o.Type()) {
			continue
		}
		switch o.Type() {
		case OptPrefixInfo:
			_ = PrefixInfo(o).Prefix()
		case OptRouteInfo:
			_ = RouteInfo(o).Prefix()
		case Opt6CO:
			_ = ContextOption(o).Prefix()
		case OptABRO:
			_ = ABRO(o).Addr()
		case OptMTU:
			_ = MTUOption(o).MTU()
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, fr := range readNDPcap(f, "testdata/gen_nd.pcap") {
		f.Add(fr.ipv6)
	}
	// RFC 8928: a registration claiming a Crypto-ID, and its proof.
	k := mustKey(f, CryptoEd25519, "fuzz")
	id := mustCryptoID(f, k, 16)
	f.Add(apndNS(f, apndNodeG, id, 1, 10, apndMAC, true))
	f.Add(answer(f, k, apndNodeG, id, 1, 10, apndMAC, []byte{1, 2, 3, 4, 5, 6}))
	c := testConfig()
	c.RegistryCapacity = 4
	ca := c
	ca.APND = &APNDConfig{MaxChallenges: 4, MaxCIPOs: 4}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if Parse(data, &m) == nil {
			touch(&m)
		}
		fixed := fixChecksum(data)
		if fixed == nil || Parse(fixed, &m) != nil {
			return
		}
		touch(&m)
		// Whatever the router answers must itself be valid ND. A fresh
		// router each time keeps an input's outcome its own.
		r, err := New(c, t0)
		if err != nil {
			t.Fatal(err)
		}
		// A registration that is already there, so refreshes, duplicates
		// and moves are reachable too.
		r.Registry().Register(Request{Addr: node1G, Link: 1, ROVR: EUI64ROVR(eui1), TID: 5, HasTID: true, Lifetime: 10, Via: sixLRA}, t0)
		// And with AP-ND on, a protected registration there too.
		ra, err := New(ca, t0)
		if err != nil {
			t.Fatal(err)
		}
		ra.Registry().Register(Request{Addr: apndNodeG, Link: 1, ROVR: id, TID: 1, HasTID: true, Lifetime: 10, LinkAddr: apndMAC, Proven: true}, t0)
		for _, rt := range []*Router{r, ra} {
			for _, rep := range rt.Handle(nil, &m, Incoming{Link: 1, LinkSrc: ll1, Local: ll2, Now: t0}) {
				var out Message
				if err := Parse(rep.Packet, &out); err != nil {
					t.Fatalf("router reply does not parse: %v\nin  %x\nout %x", err, fixed, rep.Packet)
				}
			}
		}
		if g, ok := ra.Registry().Lookup(apndNodeG, t0); !ok || !g.Protected || g.ROVR != id || g.LinkAddr != apndMAC {
			t.Fatalf("the protected registration changed without a proof: %+v\nin %x", g, fixed)
		}
	})
}
