package rpl_test

import (
	"fmt"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/rpl"
)

// A root's DIO: the base, the DODAG Configuration option RIOT needs to
// join, and a PIO with R carrying the root's address; then the checksum.
func ExampleAppendDIO() {
	root := netip.MustParseAddr("2001:db8::1")
	b, _ := rpl.AppendDIO(nil, &rpl.DIOFields{Instance: 0, Version: 240, Rank: 256, Grounded: true,
		MOP: rpl.MOPNonStoring, DTSN: 240, DODAGID: root})
	b, _ = rpl.AppendDODAGConfig(b, &rpl.DODAGConfigFields{DIOIntervalDoublings: 20, DIOIntervalMin: 3,
		DIORedundancy: 10, MaxRankIncrease: 0, MinHopRankIncrease: 256, OCP: 0, DefaultLifetime: 255, LifetimeUnit: 60})
	b, _ = rpl.AppendPrefixInfo(b, &rpl.PrefixInfoFields{Address: root, PrefixLength: 64,
		Flags: rpl.PrefixFlagA | rpl.PrefixFlagR, ValidLifetime: 0xffffffff, PreferredLifetime: 0xffffffff})
	m := rpl.Message(b)
	m.SetChecksum(netip.MustParseAddr("fe80::1"), rpl.AllRPLNodes)

	m, err := rpl.Parse(b)
	fmt.Println(len(b), err, m.Code(), m.DIO().MOP(), m.DIO().Rank())
	c := rpl.DODAGConfig(m.Options().Find(rpl.OptDODAGConfig))
	fmt.Println(c.MinHopRankIncrease(), c.DIOIntervalMin(), c.DIOIntervalDoublings())
	// Output:
	// 76 <nil> DIO 1 256
	// 256 3 20
}

// A source route from the root to 2001:db8::4 through ::2 and ::3: the
// packet goes to the first hop, the header lists the rest.
func ExampleAppendSRH() {
	dst := netip.MustParseAddr("2001:db8::2")
	hops := []netip.Addr{netip.MustParseAddr("2001:db8::3"), netip.MustParseAddr("2001:db8::4")}
	b, _ := rpl.AppendSRH(nil, 58, dst, hops)
	h := rpl.SRH(b)
	fmt.Println(len(b), h.CmprI(), h.CmprE(), h.Pad(), h.SegmentsLeft(), h.AppendAddresses(nil, dst))
	// Output:
	// 16 15 15 6 2 [2001:db8::3 2001:db8::4]
}
