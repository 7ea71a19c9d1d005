package rpl

import (
	"bytes"
	"net/netip"
	"testing"
)

// seedMessages are valid messages of every code plus hand-made truncated
// and oversized ones.
func seedMessages(f *testing.F) {
	dio, dao := buildDIO(f), buildDAO(f, true)
	for _, b := range [][]byte{dio, dao, buildDAO(f, false), AppendDIS(nil),
		must(AppendDAOACK(nil, &DAOACKFields{Instance: 1, Sequence: 2, Status: 3, DODAGID: testDODAGID})),
		dio[:5], dio[:28], dao[:7], dao[:12], append(append([]byte{}, dio...), 5, 200),
		{155, 0x81, 0, 0, 0, 0}, {155, 0x8a}, {155, 4, 0, 0},
		append(must(AppendDAO(nil, &DAOFields{})), must(AppendTarget(nil, netip.MustParsePrefix("2001:db8::1/128"), TargetFlagF, testROVR))...),
	} {
		f.Add(b)
	}
}

// FuzzParseRPL: Parse never panics; what it accepts has accessors that do
// not panic, and bases and options re-encode to the same octets (reserved
// bits aside).
func FuzzParseRPL(f *testing.F) {
	seedMessages(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		var base []byte
		switch m.Code() {
		case CodeDIS:
			base = AppendDIS(nil)
			base[icmpHdr] = m.DIS().Flags()
			base[icmpHdr+1] = m[icmpHdr+1] // reserved
		case CodeDIO:
			d := m.DIO()
			base = must(AppendDIO(nil, &DIOFields{d.Instance(), d.Version(), d.Rank(), d.Grounded(), d.MOP(), d.Preference(), d.DTSN(), d.DODAGID()}))
			base[icmpHdr+4] |= m[icmpHdr+4] & 0x40 // the reserved bit after G
			copy(base[icmpHdr+6:icmpHdr+8], m[icmpHdr+6:icmpHdr+8])
		case CodeDAO:
			d := m.DAO()
			id, _ := d.DODAGID()
			base = must(AppendDAO(nil, &DAOFields{d.Instance(), d.AckRequested(), d.Sequence(), id}))
			base[icmpHdr+1] |= m[icmpHdr+1] & 0x3f
			base[icmpHdr+2] = m[icmpHdr+2]
		case CodeDAOACK:
			d := m.DAOACK()
			id, _ := d.DODAGID()
			base = must(AppendDAOACK(nil, &DAOACKFields{d.Instance(), d.Sequence(), d.Status(), id}))
			base[icmpHdr+1] |= m[icmpHdr+1] & 0x7f
		}
		copy(base[2:4], m[2:4])
		if n := len(base); !bytes.Equal(base, m[:n]) {
			t.Fatalf("base re-encodes as %x, was %x", base, m[:n])
		}
		it := m.Options().Iter()
		for o, done, err := it.Next(); !done; o, done, err = it.Next() {
			if err != nil {
				t.Fatalf("Validate passed, iteration failed: %v", err)
			}
			if re := reencodeOption(o); re != nil && !bytes.Equal(re, o) {
				t.Fatalf("%s option re-encodes as %x, was %x", o.Type(), re, []byte(o))
			}
		}
	})
}

// reencodeOption encodes o again from its accessors, reserved fields
// copied over; nil when o has no canonical encoding to compare with.
func reencodeOption(o Option) []byte {
	switch o.Type() {
	case OptDODAGConfig:
		c := DODAGConfig(o)
		re := must(AppendDODAGConfig(nil, &DODAGConfigFields{c.Compression8138(), c.RPI0x23(), c.Authentication(), c.PCS(),
			c.DIOIntervalDoublings(), c.DIOIntervalMin(), c.DIORedundancy(), c.MaxRankIncrease(), c.MinHopRankIncrease(),
			c.OCP(), c.DefaultLifetime(), c.LifetimeUnit()}))
		re[2] |= o[2] & 0xc0
		re[12] = o[12]
		return re
	case OptTransit:
		tr := Transit(o)
		p, _ := tr.Parent()
		re := must(AppendTransit(nil, &TransitFields{tr.External(), tr.PathControl(), tr.PathSequence(), tr.PathLifetime(), p}))
		re[2] |= o[2] & 0x7f
		return re
	case OptPrefixInfo:
		p := PrefixInfo(o)
		re := must(AppendPrefixInfo(nil, &PrefixInfoFields{p.Address(), uint8(p.PrefixLength()), p.Flags(), p.ValidLifetime(), p.PreferredLifetime()}))
		re[3] |= o[3] & 0x1f
		copy(re[12:16], o[12:16])
		return re
	case OptSolicitedInfo:
		s := SolicitedInfo(o)
		re := must(AppendSolicitedInfo(nil, s.Instance(), s.Flags(), s.DODAGID(), s.Version()))
		re[3] |= o[3] & 0x1f
		return re
	case OptTargetDescriptor:
		return AppendTargetDescriptor(nil, TargetDescriptor(o).Descriptor())
	case OptTarget:
		tg := Target(o)
		if len(o)-targetPrefOff-tg.ROVRSize() != prefixFieldLen(tg.PrefixLength()) {
			return nil
		}
		re := must(AppendTarget(nil, tg.Prefix(), tg.Flags()&(TargetFlagF|TargetFlagX), tg.ROVR()))
		re[2] |= o[2] & 0x30
		copy(re[targetPrefOff:], o[targetPrefOff:len(o)-tg.ROVRSize()]) // reserved bits past the prefix
		return re
	case OptRouteInfo:
		r := RouteInfo(o)
		if len(o)-8 != prefixFieldLen(int(o[2])) {
			return nil
		}
		re := must(AppendRouteInfo(nil, r.Prefix(), r.Preference(), r.Lifetime()))
		re[3] |= o[3] & 0xe7
		copy(re[8:], o[8:])
		return re
	}
	return nil
}

// FuzzSRH: Validate, the accessors, CheckRoute and Advance never panic; a
// valid header's route re-encodes to a header that decodes to the same
// addresses.
func FuzzSRH(f *testing.F) {
	for _, tc := range srhCases {
		dst := netip.MustParseAddr(tc.dst)
		a := dst.As16()
		f.Add(must(AppendSRH(nil, 59, dst, addrs(tc.hops...))), a[:])
	}
	f.Add([]byte{59, 0, 3, 1, 0xff, 0xf0, 0, 0}, make([]byte, 16))
	f.Add([]byte{59, 1, 3, 9, 0xf0, 0x00, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, make([]byte, 16))
	f.Fuzz(func(t *testing.T, b []byte, dstb []byte) {
		if len(dstb) != 16 {
			return
		}
		dst := netip.AddrFrom16([16]byte(dstb))
		h := SRH(b)
		if h.Validate() != nil {
			return
		}
		hops := h.AppendAddresses(nil, dst)
		if len(hops) != h.NumAddresses() {
			t.Fatalf("%d addresses, NumAddresses %d", len(hops), h.NumAddresses())
		}
		// CheckRoute compares compressed forms; the reference expands.
		naive := dst.As16()[0] == 0xff
		for i, a := range hops {
			naive = naive || a.As16()[0] == 0xff || a == dst
			for _, b := range hops[i+1:] {
				naive = naive || a == b
			}
		}
		if err := h.CheckRoute(dst); (err != nil) != naive {
			t.Fatalf("CheckRoute(%x, %s) = %v; addresses %v", b, dst, err, hops)
		}
		if h.CheckRoute(dst) == nil {
			re, err := AppendSRH(nil, h.NextHeader(), dst, hops)
			if err != nil {
				t.Fatalf("route %v from %x does not re-encode: %v", hops, b, err)
			}
			got := SRH(re).AppendAddresses(nil, dst)
			for i := range hops {
				if got[i] != hops[i] {
					t.Fatalf("re-encoded route %v, was %v", got, hops)
				}
			}
			// Our encoding survives every hop's swap (§4.2): each router
			// finds the next address of the route. (It may be longer than
			// the original, whose compression only the first hop's
			// destination may have allowed.)
			cur := dst
			for k := range hops {
				next, err := SRH(re).Advance(cur)
				if err != nil || next != hops[k] {
					t.Fatalf("hop %d of %v: next %s, %v", k, hops, next, err)
				}
				cur = next
			}
		}
		cur := dst
		for h.SegmentsLeft() > 0 {
			next, err := h.Advance(cur)
			if err != nil {
				break
			}
			cur = next
		}
	})
}

// FuzzRPLOption: FindRPLOption never panics; a RPL Option it returns
// re-encodes to the same octets (reserved flag bits aside) when it has no
// sub-TLVs.
func FuzzRPLOption(f *testing.F) {
	f.Add(must(AppendHopByHopRPI(nil, 58, &RPIFields{Type: OptionTypeRPI6553, Flags: RPIFlagO, Instance: 1, SenderRank: 256})))
	f.Add(must(AppendHopByHopRPI(nil, 58, &RPIFields{Type: OptionTypeRPI9008, Instance: 1, SenderRank: 256})))
	f.Add([]byte{17, 1, 0, 1, 1, 0, 0x3e, 0, 0x23, 4, 0, 1, 2, 0, 1, 0})
	f.Add([]byte{17, 0, 0x63, 9, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := FindRPLOption(b)
		if err != nil || o == nil {
			return
		}
		if o.Validate() != nil {
			t.Fatalf("FindRPLOption returned an invalid option %x", []byte(o))
		}
		_ = o.Down() || o.RankError() || o.ForwardingError()
		if len(o) != rpiLen {
			return
		}
		re := must(AppendRPLOption(nil, &RPIFields{o.Type(), o.Flags(), o.Instance(), o.SenderRank()}))
		re[2] |= o[2] & 0x1f
		if !bytes.Equal(re, o) {
			t.Fatalf("RPL Option re-encodes as %x, was %x", re, []byte(o))
		}
	})
}
