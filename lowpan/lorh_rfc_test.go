package lowpan

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/lowpanbr/lowpanbr/rpl"
)

// Known answers from the figures of RFC 8138 (Figures 10 to 13, 19, 20, 21
// and Appendix A.3) and RFC 9008 (Figure 2). The figures draw the 6LoRHs
// a packet carries, their Types, Sizes and lengths, not whole frames; the
// addresses are chosen here so that the compression the figure shows is
// the shortest (a /112 shared by every node, each address differing from
// the one before it in its last two octets: "all addresses can be
// compressed to 2 octets", RFC 8138 Appendix A.2). Each packet is built by
// package rpl, compressed with RFC 8138, its 6LoRH octets compared with
// the figure's, and decompressed back to itself.
func TestLoRHRFCFigures(t *testing.T) {
	const root = "2001:db8::1"
	inet := func(dst string) []byte {
		return buildUDP6(t, ipv6Fields{src: "2001:db8:ffff::5", dst: dst, hlim: 63}, 40000, 5683, hello)
	}
	own := func(dst string) []byte {
		return buildUDP6(t, ipv6Fields{src: root, dst: dst, hlim: 64}, 5683, 0xf0b2, hello)
	}
	insert := func(pkt []byte, h rpl.Headers) []byte {
		b, err := rpl.InsertHeaders(nil, pkt, h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tunnel := func(inner []byte, dst string, h rpl.Headers) []byte {
		b, err := rpl.AppendTunnel(nil, inner, netip.MustParseAddr(root), netip.MustParseAddr(dst), h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rpi := func(flags, inst uint8, rank uint16) *rpl.RPIFields {
		return &rpl.RPIFields{Type: rpl.OptionTypeRPI6553, Flags: flags, Instance: inst, SenderRank: rank}
	}
	down := rpi(rpl.RPIFlagO, 0, 256)
	storing := lorhTableStoring(t, root, true)
	nonStoring := lorhTableStoring(t, root, false)
	for _, v := range []struct {
		name  string
		table *ContextTable
		pkt   []byte
		lorh  string // the octets between the page 1 dispatch and LOWPAN_IPHC
	}{
		// RFC 8138 §6.3, the four RPI-6LoRH forms: |1|0|0|O|R|F|I|K|, Type 5,
		// then the RPLInstanceID unless I, then the SenderRank in one octet
		// if K, else two. As in Figures 16 and 18 (Storing mode, no tunnel).
		{"Figure 10: I=1 K=1", storing, insert(own("2001:db8::1a01"), rpl.Headers{RPI: rpi(rpl.RPIFlagO, 0, 0x0200)}), "93 05 02"},
		{"Figure 11: I=1 K=0", storing, insert(own("2001:db8::1a01"), rpl.Headers{RPI: rpi(0, 0, 0x0234)}), "82 05 02 34"},
		{"Figure 12: I=0 K=1", storing, insert(own("2001:db8::1a01"), rpl.Headers{RPI: rpi(rpl.RPIFlagR|rpl.RPIFlagF, 0x1e, 0x0500)}), "8d 05 1e 05"},
		{"Figure 13: I=0 K=0", storing, insert(own("2001:db8::1a01"), rpl.Headers{RPI: rpi(rpl.RPIFlagO, 0x81, 0x0123)}), "90 05 81 01 23"},
		// Figure 19: in Storing mode the root tunnels a packet from the
		// Internet to insert the RPI; the outer destination is the inner
		// one, implicit going down in Storing mode (§7), and the
		// encapsulator is the root (Length 1).
		{"Figure 19: RPI and IP-in-IP, Storing mode", storing, tunnel(inet("2001:db8::1a01"), "2001:db8::1a01", rpl.Headers{RPI: down}), "93 05 01 a1 06 40"},
		// The same in Non-Storing mode: §7 has no implicit value going
		// down, so the outer destination is the one entry of an SRH-6LoRH.
		{"Figure 19 in Non-Storing mode", nonStoring, tunnel(inet("2001:db8::1a01"), "2001:db8::1a01", rpl.Headers{RPI: down}), "80 01 1a 01 93 05 01 a1 06 40"},
		// Figure 20: a packet from the Internet down a source route in
		// Non-Storing mode, tunnelled by the root: one Type 1 SRH-6LoRH of
		// Size 2 ("8bytes"), the RPI-6LoRH, the IP-in-IP 6LoRH, IPHC. The
		// tunnel runs all the way to the final destination, its last entry.
		{"Figure 20: SRH Type 1 S=2, RPI, IP-in-IP", nonStoring,
			tunnel(inet("2001:db8::3c03"), "2001:db8::3c03", rpl.Headers{RPI: down, Hops: lorhAddrs("2001:db8::1a01", "2001:db8::2b02", "2001:db8::3c03")}),
			"82 01 1a 01 2b 02 3c 03 93 05 01 a1 06 40"},
		// Figure 21: the root's own packet down 4 hops, no tunnel and (as
		// drawn) no RPI: one Type 1 SRH-6LoRH of Size 3, 10 octets; the
		// final destination is left in the IPHC header (§5.2.2).
		{"Figure 21: SRH Type 1 S=3, root's own packet", nonStoring,
			insert(own("2001:db8::5e05"), rpl.Headers{Hops: lorhAddrs("2001:db8::1a01", "2001:db8::2b02", "2001:db8::3c03", "2001:db8::4d04", "2001:db8::5e05")}),
			"83 01 1a 01 2b 02 3c 03 4d 04"},
		// RFC 9008 Figure 2: Storing mode, the root tunnels a packet from
		// the Internet to the 6LR that is the parent of a leaf not known to
		// support RFC 8138: the tunnel's end is the single entry of a Type 1
		// SRH-6LoRH ("4bytes"), then the RPI-6LoRH and IP-in-IP 6LoRH.
		{"RFC 9008 Figure 2: tunnel to the 6LR of a RUL", storing,
			tunnel(inet("2001:db8::1a01:99"), "2001:db8::1a01", rpl.Headers{RPI: down}),
			"80 01 1a 01 93 05 01 a1 06 40"},
	} {
		t.Run(v.name, func(t *testing.T) {
			want := mustHex(t, v.lorh)
			z := Compressor{Contexts: v.table, LoRH: true}
			frame := make([]byte, 512)
			n, err := z.Compress(frame, v.pkt, extSrc, extDst)
			if err != nil {
				t.Fatal(err)
			}
			f := frame[:n]
			if len(f) < 2+len(want) || f[0] != DispatchPage1 || !bytes.Equal(f[1:1+len(want)], want) {
				t.Fatalf("6LoRHs (-want +got)\n-f1 % x\n+% x", want, f)
			}
			// LOWPAN_IPHC follows, with its next header NHC-coded (the
			// figures' "NH=1" and 11110CPP UDP).
			if iphc := f[1+len(want)]; iphc&dispatchIPHCMask != DispatchIPHC || iphc&0x04 == 0 {
				t.Errorf("after the 6LoRHs 0x%02x, want LOWPAN_IPHC with NH=1: % x", iphc, f)
			}
			out := make([]byte, 1500)
			m, err := Decompress(out, f, extSrc, extDst, v.table)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out[:m], v.pkt) {
				t.Errorf("round trip (-want +got)\n-% x\n+% x", v.pkt, out[:m])
			}
		})
	}
}

func lorhTableStoring(t testing.TB, root string, storing bool) *ContextTable {
	t.Helper()
	ct := &ContextTable{}
	if err := ct.SetRPL(RPLReference{Root: netip.MustParseAddr(root), Storing: storing}); err != nil {
		t.Fatal(err)
	}
	if ct.RPL().Storing != storing {
		t.Fatal("RPL() does not give Storing back")
	}
	return ct
}

// RFC 8138 Appendix A.3 (Figures 22 to 25): a packet along A->B->C->D as
// each node receives it, the SRH-6LoRH entries popped and coalesced
// (§5.5) on the way. Whatever the stage, the entries expand (§4.3.1,
// §5.4: the first against the source, each next against the one before)
// to the same addresses still ahead, so each frame decodes to the packet's
// route from that node on. The figure's letters are nibbles: "AAAA AAAA
// AAAA AAAA" is a Type 3 entry of 8 octets 0xaa.
func TestLoRHRFCPopping(t *testing.T) {
	const (
		src   = "2001:db8::1"
		final = "2001:db8::aaaa:aaaa:dddd:f" // a host below D
	)
	a := func(s string) [16]byte { return addr16(t, s) }
	A, B, C, D := a("2001:db8::aaaa:aaaa:aaaa:aaaa"), a("2001:db8::aaaa:aaaa:aaaa:bbbb"), a("2001:db8::aaaa:aaaa:cccc:cccc"), a("2001:db8::aaaa:aaaa:dddd:dddd")
	iphc := cat(t, "7a 00 3a", a(src), a(final), "80 00 12 34 00 01 00 01")
	ct := lorhTable(t, src, 0)
	for _, v := range []struct {
		name  string
		lorh  string
		route [][16]byte // IPv6 destination, then the SRH's Addresses
	}{
		{"Figure 22: received by A", "80 03 aaaaaaaaaaaaaaaa 80 01 bbbb 81 02 cccccccc dddddddd", [][16]byte{A, B, C, D, a(final)}},
		{"Figure 23: received by B", "80 03 aaaaaaaaaaaabbbb 81 02 cccccccc dddddddd", [][16]byte{B, C, D, a(final)}},
		{"Figure 24: received by C", "80 03 aaaaaaaacccccccc 80 02 dddddddd", [][16]byte{C, D, a(final)}},
		{"Figure 25: received by D", "80 03 aaaaaaaadddddddd", [][16]byte{D, a(final)}},
	} {
		t.Run(v.name, func(t *testing.T) {
			frame := cat(t, "f1", v.lorh, iphc)
			out := make([]byte, 1500)
			n, err := Decompress(out, frame, extSrc, extDst, ct)
			if err != nil {
				t.Fatal(err)
			}
			w := walkRoute(t, out[:n])
			if len(w) != len(v.route) {
				t.Fatalf("route %v, want %v", addrs(w), addrs(v.route))
			}
			for k := range w {
				if w[k] != v.route[k] {
					t.Errorf("route %v, want %v", addrs(w), addrs(v.route))
					break
				}
			}
		})
	}
}

// walkRoute reads a decompressed ICMPv6 packet's IPv6 destination and RFC
// 6554 Addresses plainly from its octets.
func walkRoute(t *testing.T, pkt []byte) [][16]byte {
	t.Helper()
	route := [][16]byte{[16]byte(pkt[24:40])}
	if pkt[6] != 43 {
		return route
	}
	r := pkt[40:]
	n, ci, ce, pad := (int(r[1])+1)*8, int(r[4]>>4), int(r[4]&15), int(r[5]>>4)
	count := (n-8-pad-(16-ce))/(16-ci) + 1
	if int(r[3]) != count || r[0] != 58 {
		t.Fatalf("SRH segments left %d for %d addresses, next header %d", r[3], count, r[0])
	}
	o := 8
	for k := 0; k < count; k++ {
		cm := ci
		if k == count-1 {
			cm = ce
		}
		x := route[0]
		copy(x[cm:], r[o:o+16-cm])
		o += 16 - cm
		route = append(route, x)
	}
	return route
}

func addrs(r [][16]byte) []netip.Addr {
	out := make([]netip.Addr, len(r))
	for i, a := range r {
		out[i] = netip.AddrFrom16(a)
	}
	return out
}
