package rpl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// oracleFrame is one IPv6 packet built with our encoders and the values
// tshark must decode from it, field name to value as tshark -T fields
// prints it.
type oracleFrame struct {
	name   string
	packet []byte
	want   map[string]string
	expert string // the one expert message tshark may show, if any
}

// ipv6Packet wraps payload (starting with a header of type next) in an
// IPv6 header; an ICMPv6 payload gets its checksum.
func ipv6Packet(src, dst netip.Addr, next uint8, payload []byte) []byte {
	b := make([]byte, ip6.HeaderLen, ip6.HeaderLen+len(payload))
	ip6.Header(b).Encode(&ip6.Fields{PayloadLength: uint16(len(payload)), NextHeader: next, HopLimit: 64, Src: src, Dst: dst})
	if next == ip6.ProtoICMPv6 {
		Message(payload).SetChecksum(src, dst)
	}
	return append(b, payload...)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func rplFrames(t *testing.T) []oracleFrame {
	var frames []oracleFrame
	ll1, ll2 := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")

	dio := Message(buildDIO(t))
	d, c := dio.DIO(), DODAGConfig(dio.Options().Find(OptDODAGConfig))
	p, r := PrefixInfo(dio.Options().Find(OptPrefixInfo)), RouteInfo(dio.Options().Find(OptRouteInfo))
	frames = append(frames, oracleFrame{name: "DIO", packet: ipv6Packet(ll1, AllRPLNodes, ip6.ProtoICMPv6, dio), want: map[string]string{
		"icmpv6.code":                              "1",
		"icmpv6.rpl.dio.instance":                  fmt.Sprint(d.Instance()),
		"icmpv6.rpl.dio.version":                   fmt.Sprint(d.Version()),
		"icmpv6.rpl.dio.rank":                      fmt.Sprint(d.Rank()),
		"icmpv6.rpl.dio.flag.g":                    flag(d.Grounded()),
		"icmpv6.rpl.dio.flag.mop":                  fmt.Sprintf("0x%02x", d.MOP()),
		"icmpv6.rpl.dio.flag.preference":           fmt.Sprint(d.Preference()),
		"icmpv6.rpl.dio.dtsn":                      fmt.Sprint(d.DTSN()),
		"icmpv6.rpl.dio.dagid":                     d.DODAGID().String(),
		"icmpv6.rpl.opt.config.pcs":                fmt.Sprint(c.PCS()),
		"icmpv6.rpl.opt.config.auth":               flag(c.Authentication()),
		"icmpv6.rpl.opt.config.interval_double":    fmt.Sprint(c.DIOIntervalDoublings()),
		"icmpv6.rpl.opt.config.interval_min":       fmt.Sprint(c.DIOIntervalMin()),
		"icmpv6.rpl.opt.config.redundancy":         fmt.Sprint(c.DIORedundancy()),
		"icmpv6.rpl.opt.config.max_rank_inc":       fmt.Sprint(c.MaxRankIncrease()),
		"icmpv6.rpl.opt.config.min_hop_rank_inc":   fmt.Sprint(c.MinHopRankIncrease()),
		"icmpv6.rpl.opt.config.ocp":                fmt.Sprint(c.OCP()),
		"icmpv6.rpl.opt.config.def_lifetime":       fmt.Sprint(c.DefaultLifetime()),
		"icmpv6.rpl.opt.config.lifetime_unit":      fmt.Sprint(c.LifetimeUnit()),
		"icmpv6.rpl.opt.prefix.length":             fmt.Sprint(p.PrefixLength()),
		"icmpv6.rpl.opt.prefix.valid_lifetime":     fmt.Sprint(p.ValidLifetime()),
		"icmpv6.rpl.opt.prefix.preferred_lifetime": fmt.Sprint(p.PreferredLifetime()),
		"icmpv6.rpl.opt.prefix":                    p.Address().String(),
		"icmpv6.rpl.opt.route.prefix_length":       fmt.Sprint(r.Prefix().Bits()),
		"icmpv6.rpl.opt.route.pref":                fmt.Sprint(r.Preference()),
		"icmpv6.rpl.opt.route.lifetime":            fmt.Sprint(r.Lifetime()),
		"icmpv6.rpl.opt.route.prefix":              r.Prefix().Addr().String(),
		"icmpv6.rpl.opt.type":                      "4,8,3,2,0,1",
	}})

	dis := AppendDIS(nil)
	dis = must(AppendSolicitedInfo(dis, 30, SolicitedFlagV|SolicitedFlagD, testDODAGID, 240))
	dis = AppendPad(dis, 3)
	s := SolicitedInfo(Message(dis).Options().Find(OptSolicitedInfo))
	frames = append(frames, oracleFrame{name: "DIS", packet: ipv6Packet(ll2, AllRPLNodes, ip6.ProtoICMPv6, dis), want: map[string]string{
		"icmpv6.code":                       "0",
		"icmpv6.rpl.opt.solicited.instance": fmt.Sprint(s.Instance()),
		"icmpv6.rpl.opt.solicited.flag.v":   flag(s.Flags()&SolicitedFlagV != 0),
		"icmpv6.rpl.opt.solicited.flag.i":   flag(s.Flags()&SolicitedFlagI != 0),
		"icmpv6.rpl.opt.solicited.flag.d":   flag(s.Flags()&SolicitedFlagD != 0),
		"icmpv6.rpl.opt.solicited.dodagid":  s.DODAGID().String(),
		"icmpv6.rpl.opt.solicited.version":  fmt.Sprint(s.Version()),
		"icmpv6.rpl.opt.type":               "7,1",
	}})

	for _, withID := range []bool{true, false} {
		dao := Message(buildDAO(t, withID))
		a := dao.DAO()
		id, _ := a.DODAGID()
		var targets []string
		var tr Transit
		it := dao.Options().Iter()
		for o, done, _ := it.Next(); !done; o, done, _ = it.Next() {
			switch o.Type() {
			case OptTarget:
				targets = append(targets, Target(o).Prefix().Addr().String())
			case OptTransit:
				tr = Transit(o)
			}
		}
		want := map[string]string{
			"icmpv6.code":                          "2",
			"icmpv6.rpl.dao.instance":              fmt.Sprint(a.Instance()),
			"icmpv6.rpl.dao.flag.k":                flag(a.AckRequested()),
			"icmpv6.rpl.dao.flag.d":                flag(withID),
			"icmpv6.rpl.dao.sequence":              fmt.Sprint(a.Sequence()),
			"icmpv6.rpl.opt.target.prefix":         strings.Join(targets, ","),
			"icmpv6.rpl.opt.target.prefix_length":  "128,56",
			"icmpv6.rpl.opt.targetdesc.descriptor": "0xdeadbeef",
			"icmpv6.rpl.opt.transit.flag.e":        flag(tr.External()),
			"icmpv6.rpl.opt.transit.pathctl":       fmt.Sprint(tr.PathControl()),
			"icmpv6.rpl.opt.transit.pathseq":       fmt.Sprint(tr.PathSequence()),
			"icmpv6.rpl.opt.transit.pathlifetime":  fmt.Sprint(tr.PathLifetime()),
			"icmpv6.rpl.dao.dodagid":               "",
			"icmpv6.rpl.opt.transit.parent":        "",
		}
		src, dst := ll2, ll1
		if withID {
			parent, _ := tr.Parent()
			want["icmpv6.rpl.dao.dodagid"] = id.String()
			want["icmpv6.rpl.opt.transit.parent"] = parent.String()
			src, dst = netip.MustParseAddr("2001:db8::42"), testDODAGID
		}
		frames = append(frames, oracleFrame{name: fmt.Sprintf("DAO D=%v", withID), packet: ipv6Packet(src, dst, ip6.ProtoICMPv6, dao), want: want})
	}

	for _, id := range []netip.Addr{testDODAGID, {}} {
		ack := Message(must(AppendDAOACK(nil, &DAOACKFields{Instance: 30, Sequence: 241, Status: 0x80 | 6, DODAGID: id})))
		a := ack.DAOACK()
		want := map[string]string{
			"icmpv6.code":                "3",
			"icmpv6.rpl.daoack.instance": fmt.Sprint(a.Instance()),
			"icmpv6.rpl.daoack.flag.d":   flag(id.IsValid()),
			"icmpv6.rpl.daoack.sequence": fmt.Sprint(a.Sequence()),
			"icmpv6.rpl.daoack.status":   fmt.Sprint(a.Status()),
			"icmpv6.rpl.daoack.dodagid":  "",
		}
		if got, ok := a.DODAGID(); ok {
			want["icmpv6.rpl.daoack.dodagid"] = got.String()
		}
		frames = append(frames, oracleFrame{name: fmt.Sprintf("DAO-ACK D=%v", id.IsValid()), packet: ipv6Packet(ll1, ll2, ip6.ProtoICMPv6, ack), want: want})
	}

	for _, typ := range []uint8{OptionTypeRPI6553, OptionTypeRPI9008} {
		hbh := must(AppendHopByHopRPI(nil, 59, &RPIFields{Type: typ, Flags: RPIFlagO | RPIFlagR, Instance: 30, SenderRank: 768}))
		o, _ := FindRPLOption(hbh)
		f := oracleFrame{name: fmt.Sprintf("RPI 0x%02x", typ), packet: ipv6Packet(testDODAGID, netip.MustParseAddr("2001:db8::42"), 0, hbh), want: map[string]string{
			"ipv6.opt.type":            fmt.Sprintf("0x%02x", typ),
			"ipv6.opt.rpl.flag.o":      flag(o.Down()),
			"ipv6.opt.rpl.flag.r":      flag(o.RankError()),
			"ipv6.opt.rpl.flag.f":      flag(o.ForwardingError()),
			"ipv6.opt.rpl.instance_id": fmt.Sprintf("0x%02x", o.Instance()),
			"ipv6.opt.rpl.sender_rank": fmt.Sprintf("0x%04x", o.SenderRank()),
			"ipv6.opt.unknown":         "",
		}}
		if typ == OptionTypeRPI9008 {
			// Wireshark 4.0 predates RFC 9008: it shows 0x23 as an
			// unknown skippable option (a Note, not an error). Compare
			// the option's data bytes instead of the RPL fields.
			for _, k := range []string{"ipv6.opt.rpl.flag.o", "ipv6.opt.rpl.flag.r", "ipv6.opt.rpl.flag.f", "ipv6.opt.rpl.instance_id", "ipv6.opt.rpl.sender_rank"} {
				f.want[k] = ""
			}
			f.want["ipv6.opt.unknown"] = fmt.Sprintf("%x", []byte(o[2:]))
			f.expert = "Unknown Data (not interpreted)"
		}
		frames = append(frames, f)
	}

	for _, tc := range srhCases {
		dst := netip.MustParseAddr(tc.dst)
		b := must(AppendSRH(nil, 59, dst, addrs(tc.hops...)))
		h := SRH(b)
		var full []string
		for _, a := range h.AppendAddresses(nil, dst) {
			full = append(full, a.String())
		}
		frames = append(frames, oracleFrame{name: "SRH " + tc.name, packet: ipv6Packet(testDODAGID, dst, 43, b), want: map[string]string{
			"ipv6.routing.type":             fmt.Sprint(RoutingTypeSRH),
			"ipv6.routing.segleft":          fmt.Sprint(h.SegmentsLeft()),
			"ipv6.routing.rpl.cmprI":        fmt.Sprint(h.CmprI()),
			"ipv6.routing.rpl.cmprE":        fmt.Sprint(h.CmprE()),
			"ipv6.routing.rpl.pad":          fmt.Sprint(h.Pad()),
			"ipv6.routing.rpl.addr_count":   fmt.Sprint(h.NumAddresses()),
			"ipv6.routing.rpl.full_address": strings.Join(full, ","),
		}})
	}
	// Headers written by hand, not by AppendSRH, to check the decoder on
	// forms our encoder never chooses: CmprE above CmprI, and full
	// addresses with a compressed last one.
	for _, hc := range []struct {
		name string
		dst  string
		h    SRH
	}{
		// CmprI 8, CmprE 14, Pad 6: two 8-octet addresses, a 2-octet last.
		{"CmprE above CmprI", "2001:db8::1", SRH{59, 3, 3, 3, 0x8e, 0x60, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0, 0}},
		// CmprI 0, CmprE 15, Pad 7: one full address, a 1-octet last.
		{"CmprI 0", "2001:db8::1", append(append(SRH{59, 3, 3, 2, 0x0f, 0x70, 0, 0},
			netip.MustParseAddr("fd00::7").AsSlice()...), 9, 0, 0, 0, 0, 0, 0, 0)},
	} {
		dst := netip.MustParseAddr(hc.dst)
		if err := hc.h.Validate(); err != nil {
			t.Fatalf("%s: %v", hc.name, err)
		}
		var full []string
		for _, a := range hc.h.AppendAddresses(nil, dst) {
			full = append(full, a.String())
		}
		frames = append(frames, oracleFrame{name: "SRH by hand " + hc.name, packet: ipv6Packet(testDODAGID, dst, 43, hc.h), want: map[string]string{
			"ipv6.routing.segleft":          fmt.Sprint(hc.h.SegmentsLeft()),
			"ipv6.routing.rpl.cmprI":        fmt.Sprint(hc.h.CmprI()),
			"ipv6.routing.rpl.cmprE":        fmt.Sprint(hc.h.CmprE()),
			"ipv6.routing.rpl.pad":          fmt.Sprint(hc.h.Pad()),
			"ipv6.routing.rpl.addr_count":   fmt.Sprint(hc.h.NumAddresses()),
			"ipv6.routing.rpl.full_address": strings.Join(full, ","),
		}})
	}
	return frames
}

// TestTshark has tshark (Wireshark 4.0) decode every message, option and
// header our encoders build and compares each field it shows with the
// value we encoded; no frame may be malformed or carry an expert message
// above "chat" (the note level tshark uses for ordinary information).
func TestTshark(t *testing.T) {
	oracle.Tshark(t)
	frames := rplFrames(t)
	var packets [][]byte
	fieldSet := map[string]bool{}
	for _, f := range frames {
		packets = append(packets, f.packet)
		for k := range f.want {
			fieldSet[k] = true
		}
	}
	fields := []string{"_ws.malformed", "_ws.expert.message", "_ws.expert.severity", "icmpv6.checksum.status"}
	for k := range fieldSet {
		fields = append(fields, k)
	}
	slices.Sort(fields[4:])
	rows := oracle.WritePcap(t, oracle.LinkTypeIPv6, packets...).FieldMaps(t, fields...)
	if len(rows) != len(frames) {
		t.Fatalf("tshark gave %d rows for %d frames", len(rows), len(frames))
	}
	for i, f := range frames {
		got := rows[i]
		if got["_ws.malformed"] != "" || got["_ws.expert.message"] != f.expert {
			t.Errorf("%s: malformed %q, expert %q (severity %q)", f.name, got["_ws.malformed"], got["_ws.expert.message"], got["_ws.expert.severity"])
		}
		if f.packet[6] == ip6.ProtoICMPv6 && got["icmpv6.checksum.status"] != "1" {
			t.Errorf("%s: checksum status %q", f.name, got["icmpv6.checksum.status"])
		}
		decoded := 0
		for k, v := range f.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, encoded %q", f.name, k, got[k], v)
			}
			if v != "" {
				decoded++
			}
		}
		// A frame tshark did not take for RPL at all would match only
		// the absent fields.
		if decoded < 2 {
			t.Errorf("%s: only %d fields compared", f.name, decoded)
		}
	}
}
