package nd_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
)

// A 6LN registers its address with an EARO; the 6LBR answers with an NA
// carrying the status.
func Example() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := nd.New(nd.Config{
		Prefix:    netip.MustParsePrefix("2001:db8:1::/64"),
		Contexts:  []nd.ContextConfig{{ID: 0, Prefix: netip.MustParsePrefix("2001:db8:1::/64")}},
		LinkLocal: netip.MustParseAddr("fe80::1"),
		Global:    netip.MustParseAddr("2001:db8:1::1"),
	}, now)
	if err != nil {
		panic(err)
	}
	node := lowpan.ExtendedLinkAddr([8]byte{0x02, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef})
	eui := node.Extended()
	ns, _ := nd.AppendIPv6(nil,
		netip.MustParseAddr("fe80::12:3456:78ab:cdef"), netip.MustParseAddr("fe80::1"), 255,
		nd.NSFields{Target: netip.MustParseAddr("2001:db8:1::12:3456:78ab:cdef")},
		nd.AROFields{R: true, T: true, TID: 240, Lifetime: 60, ROVR: eui[:]},
		nd.SourceLinkAddr{Addr: node})

	var m nd.Message
	if err := nd.Parse(ns, &m); err != nil {
		fmt.Println("dropped:", nd.DropReason(err))
		return
	}
	replies := r.Handle(nil, &m, nd.Incoming{Link: 1, LinkSrc: node, Local: lowpan.ShortLinkAddr(0), Now: now})
	var na nd.Message
	_ = nd.Parse(replies[0].Packet, &na)
	fmt.Println(na.Type, "to", na.Dst, "status:", na.ARO.Status(), "TID", na.ARO.TID())
	reg, _ := r.Registry().Lookup(m.Target, now)
	fmt.Println(reg.Addr, "registered by", reg.ROVR, "until", reg.Expires.Format(time.TimeOnly))
	// Output:
	// NA to fe80::12:3456:78ab:cdef status: success TID 240
	// 2001:db8:1:0:12:3456:78ab:cdef registered by 0212345678abcdef until 01:00:00
}
