package rpl

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// srhCases are RFC 6554 §3 compression edge cases. The expected CmprI,
// CmprE and Pad are worked out by hand from the addresses: the octets the
// addresses share (see PlanSRH), and Pad = the octets to the next multiple
// of 8.
var srhCases = []struct {
	name              string
	dst               string
	hops              []string
	cmprI, cmprE, pad int
	len               int
}{
	// Every address shares 15 octets with the destination: 1 octet each.
	{"all share 15 octets", "2001:db8::1", []string{"2001:db8::2", "2001:db8::3", "2001:db8::4"}, 15, 15, 5, 16},
	// Eight one-octet addresses fill the 8-octet unit exactly: no Pad.
	{"no pad", "2001:db8::1", []string{"2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5",
		"2001:db8::6", "2001:db8::7", "2001:db8::8", "2001:db8::9"}, 15, 15, 0, 16},
	// Nothing in common: full addresses (the last shares "20" with dst but
	// nothing with the middle hop, which it replaces as destination).
	{"none share", "2001:db8::1", []string{"fd00::2", "2002::3"}, 0, 0, 0, 40},
	// The last address leaves the /48 the others share: CmprE 5 (20 01 0d
	// b8 00 in common), CmprI 15.
	{"CmprE differs", "2001:db8:1::1", []string{"2001:db8:1::2", "2001:db8:1::3", "2001:db8:2::9"}, 15, 5, 3, 24},
	// Interface identifiers differ in their second octet (octet 9 of the
	// address): 9 octets elided, 7 carried each, 2 of Pad.
	{"/64 and one octet shared", "2001:db8::1:0:0:1", []string{"2001:db8::2:0:0:2", "2001:db8::3:0:0:3"}, 9, 9, 2, 24},
	// One address: CmprI is unused and set to CmprE.
	{"single hop", "2001:db8::1", []string{"2001:db8::2"}, 15, 15, 7, 16},
	// The last address shares 15 octets with the hop before it but only 14
	// with dst: CmprE stays 14, because §4.2's loop check at the first hop
	// expands every address with that hop's destination.
	{"last closer to its predecessor", "2001:db8::101", []string{"2001:db8::201", "2001:db8::202"}, 14, 14, 4, 16},
}

func TestSRHCompression(t *testing.T) {
	for _, tt := range srhCases {
		t.Run(tt.name, func(t *testing.T) {
			dst, hops := netip.MustParseAddr(tt.dst), addrs(tt.hops...)
			b, err := AppendSRH(nil, 59, dst, hops)
			if err != nil {
				t.Fatal(err)
			}
			h := SRH(b)
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
			got := [5]int{h.CmprI(), h.CmprE(), h.Pad(), len(b), h.NumAddresses()}
			want := [5]int{tt.cmprI, tt.cmprE, tt.pad, tt.len, len(hops)}
			if got != want {
				t.Errorf("CmprI, CmprE, Pad, length, n = %v, want %v (%x)", got, want, b)
			}
			if h.Len() != len(b) || h.SegmentsLeft() != len(hops) || h.NextHeader() != 59 {
				t.Errorf("header %x", b)
			}
			if diff := cmp.Diff(hops, h.AppendAddresses(nil, dst), addrCmp); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			// Walk the route as the routers do (§4.2): each sees the same
			// remaining addresses.
			cur := dst
			for k := range hops {
				next, err := h.Advance(cur)
				if err != nil {
					t.Fatalf("hop %d: %v", k, err)
				}
				if next != hops[k] {
					t.Fatalf("hop %d: next %s, want %s", k, next, hops[k])
				}
				cur = next
				for j := k + 1; j < len(hops); j++ {
					if a := h.Address(j, cur); a != hops[j] {
						t.Fatalf("after hop %d: address %d is %s, want %s", k, j, a, hops[j])
					}
				}
			}
			if h.SegmentsLeft() != 0 {
				t.Errorf("Segments Left %d at the end", h.SegmentsLeft())
			}
			if _, err := h.Advance(cur); !errors.Is(err, ErrRoute) {
				t.Errorf("Advance at Segments Left 0: %v", err)
			}
		})
	}
}

func TestSRHRouteRules(t *testing.T) {
	tests := []struct {
		name string
		dst  string
		hops []string
	}{
		{"multicast hop", "2001:db8::1", []string{"ff02::1", "2001:db8::3"}},
		{"multicast destination", "ff05::1", []string{"2001:db8::3"}},
		{"address twice", "2001:db8::1", []string{"2001:db8::2", "2001:db8::3", "2001:db8::2"}},
		{"destination again", "2001:db8::1", []string{"2001:db8::2", "2001:db8::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendSRH(nil, 59, netip.MustParseAddr(tt.dst), addrs(tt.hops...))
			if !errors.Is(err, ErrRoute) || len(b) != 0 {
				t.Errorf("AppendSRH = %x, %v; want nothing and ErrRoute", b, err)
			}
		})
	}
	if _, err := AppendSRH(nil, 59, testDODAGID, nil); !errors.Is(err, ErrEncode) {
		t.Errorf("no hops: %v", err)
	}
}

func TestSRHValidate(t *testing.T) {
	good, _ := AppendSRH(nil, 59, netip.MustParseAddr("2001:db8::1"), addrs("2001:db8::2", "2001:db8::3"))
	set := func(i int, v byte) []byte { c := append([]byte{}, good...); c[i] = v; return c }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:7], ErrTruncated},
		{"type 4", set(2, 4), ErrNotRPL},
		{"length past end", set(1, 2), ErrTruncated},
		{"segments left 3 of 2", set(3, 3), ErrRoute},
		{"CmprE leaves no whole address", set(4, 0xf0), ErrMalformed},
		{"pad too large", set(5, 0xf0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := SRH(tt.b).Validate(); !errors.Is(err, tt.want) {
				t.Errorf("Validate(%x) = %v, want %v", tt.b, err, tt.want)
			}
		})
	}
}

func TestRPLOption(t *testing.T) {
	for _, typ := range []uint8{OptionTypeRPI6553, OptionTypeRPI9008} {
		b, err := AppendHopByHopRPI(nil, 58, &RPIFields{Type: typ, Flags: RPIFlagO | RPIFlagF, Instance: 30, SenderRank: 512})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 8 || b[0] != 58 || b[1] != 0 {
			t.Fatalf("HBH %x", b)
		}
		o, err := FindRPLOption(b)
		if err != nil || o == nil {
			t.Fatalf("FindRPLOption(%x) = %v, %v", b, o, err)
		}
		if o.Type() != typ || !o.Down() || o.RankError() || !o.ForwardingError() || o.Instance() != 30 || o.SenderRank() != 512 {
			t.Errorf("RPI %x", []byte(o))
		}
		o.SetFlags(RPIFlagR)
		o.SetSenderRank(768)
		if o.Flags() != RPIFlagR || o.SenderRank() != 768 {
			t.Errorf("after setters %x", []byte(o))
		}
	}
	// Behind padding, after another option; and absent.
	hbh := []byte{17, 1, 0, 1, 1, 0, 0x3e, 0, 0x23, 4, 0, 1, 2, 0, 1, 0}
	if o, err := FindRPLOption(hbh); err != nil || o == nil || o.SenderRank() != 0x200 {
		t.Errorf("FindRPLOption after padding = %x, %v", []byte(o), err)
	}
	if o, err := FindRPLOption([]byte{17, 0, 1, 4, 0, 0, 0, 0}); err != nil || o != nil {
		t.Errorf("PadN only = %x, %v", []byte(o), err)
	}
	for _, bad := range [][]byte{{17}, {17, 1, 0, 0, 0, 0, 0, 0}, {17, 0, 0x63, 3, 0, 0, 0, 0}, {17, 0, 1, 9, 0, 0, 0, 0}} {
		if _, err := FindRPLOption(bad); !errors.Is(err, ErrTruncated) {
			t.Errorf("FindRPLOption(%x) = %v, want ErrTruncated", bad, err)
		}
	}
	if _, err := AppendRPLOption(nil, &RPIFields{Type: 0x64}); !errors.Is(err, ErrEncode) {
		t.Errorf("type 0x64: %v", err)
	}
}

func TestSRHDoesNotAllocate(t *testing.T) {
	dst := netip.MustParseAddr("2001:db8::1")
	hops := addrs("2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5", "2001:db8::6", "2001:db8::7", "2001:db8::8", "2001:db8:1::9")
	buf := make([]byte, 0, 256)
	out := make([]netip.Addr, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		b, err := AppendSRH(buf, 59, dst, hops)
		if err != nil {
			panic(err)
		}
		h := SRH(b)
		if h.Validate() != nil || h.CheckRoute(dst) != nil {
			panic("invalid")
		}
		out = h.AppendAddresses(out[:0], dst)
	})
	if allocs != 0 {
		t.Errorf("SRH encode and decode: %v allocations, want 0", allocs)
	}
}

// TestCheckRouteCompressed checks the compressed-form comparisons against
// the expanded addresses: a duplicate found only after expansion, the
// table path (one octet per address), and the last address equal to a
// middle one.
func TestCheckRouteCompressed(t *testing.T) {
	tests := []struct {
		name string
		h    SRH
		want error
	}{
		// CmprI 15, CmprE 15: addresses ::2, ::3, ::2 (pad 5).
		{"one octet, twice", SRH{59, 1, 3, 3, 0xff, 0x50, 0, 0, 2, 3, 2, 0, 0, 0, 0, 0}, ErrRoute},
		{"one octet, distinct", SRH{59, 1, 3, 3, 0xff, 0x50, 0, 0, 2, 3, 4, 0, 0, 0, 0, 0}, nil},
		{"one octet, the destination", SRH{59, 1, 3, 3, 0xff, 0x50, 0, 0, 2, 1, 4, 0, 0, 0, 0, 0}, ErrRoute},
		// CmprI 15, CmprE 0: the last, in full, equals the middle ::3.
		{"last equals a middle one", append(SRH{59, 3, 3, 2, 0xf0, 0x70, 0, 0, 3}, append(netip.MustParseAddr("2001:db8::3").AsSlice(), 0, 0, 0, 0, 0, 0, 0)...), ErrRoute},
		{"last multicast", append(SRH{59, 3, 3, 2, 0xf0, 0x70, 0, 0, 3}, append(netip.MustParseAddr("ff02::1").AsSlice(), 0, 0, 0, 0, 0, 0, 0)...), ErrRoute},
		{"worst case distinct", worstSRH(), nil},
		{"worst case, the destination inside", worstSRH(), ErrRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := netip.MustParseAddr("2001:db8::1")
			if tt.name == "worst case distinct" {
				dst = netip.MustParseAddr("2001:db8::ffff:ffff") // not among the 680
			}
			if err := tt.h.Validate(); err != nil {
				t.Fatalf("Validate(%x): %v", []byte(tt.h), err)
			}
			err := tt.h.CheckRoute(dst)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("CheckRoute = %v, want %v (addresses %v)", err, tt.want, tt.h.AppendAddresses(nil, dst))
			}
		})
	}
}
