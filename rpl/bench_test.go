package rpl

import (
	"net/netip"
	"testing"
)

func benchParse(b *testing.B, msg []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		m, err := Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		it := m.Options().Iter()
		for o, done, _ := it.Next(); !done; o, done, _ = it.Next() {
			if o.Type() == OptTarget {
				_ = Target(o).Prefix()
			}
		}
	}
}

// BenchmarkParseDIO: a root's DIO (configuration, PIO, RIO, metric
// container, padding), validated and its options walked.
func BenchmarkParseDIO(b *testing.B) { benchParse(b, buildDIO(b)) }

// BenchmarkParseDAO: a non-storing DAO with two targets, a descriptor and
// a transit option with the parent address.
func BenchmarkParseDAO(b *testing.B) { benchParse(b, buildDAO(b, true)) }

var benchHops = addrs("2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5",
	"2001:db8::6", "2001:db8::7", "2001:db8::8", "2001:db8::9")

// BenchmarkSRHEncode8: an 8-address source route, encoded with the
// compression chosen and the §4.1 checks.
func BenchmarkSRHEncode8(b *testing.B) {
	b.ReportAllocs()
	dst := netip.MustParseAddr("2001:db8::1")
	buf := make([]byte, 0, 256)
	for b.Loop() {
		if _, err := AppendSRH(buf, 59, dst, benchHops); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSRHDecode8: validate the header, check the route and expand
// its 8 addresses.
func BenchmarkSRHDecode8(b *testing.B) {
	b.ReportAllocs()
	dst := netip.MustParseAddr("2001:db8::1")
	h := SRH(must(AppendSRH(nil, 59, dst, benchHops)))
	out := make([]netip.Addr, 0, 8)
	for b.Loop() {
		if err := h.Validate(); err != nil {
			b.Fatal(err)
		}
		if err := h.CheckRoute(dst); err != nil {
			b.Fatal(err)
		}
		out = h.AppendAddresses(out[:0], dst)
	}
}

// worstSRH is the longest header CheckRoute compares pairwise: Hdr Ext
// Len 255, 3 octets per address (CmprI = CmprE = 13), 680 distinct
// addresses.
func worstSRH() SRH {
	h := SRH{59, 255, RoutingTypeSRH, 0, 13<<4 | 13, 0, 0, 0}
	for i := range 680 {
		h = append(h, 0, byte(i>>8), byte(i))
	}
	return h
}

// BenchmarkSRHCheckRouteWorst bounds what a hostile header can cost.
func BenchmarkSRHCheckRouteWorst(b *testing.B) {
	b.ReportAllocs()
	h, dst := worstSRH(), netip.MustParseAddr("2001:db8::ffff:ffff")
	if err := h.Validate(); err != nil || h.NumAddresses() != 680 {
		b.Fatalf("worst header: %v, %d addresses", err, h.NumAddresses())
	}
	for b.Loop() {
		if err := h.CheckRoute(dst); err != nil {
			b.Fatal(err)
		}
	}
}
