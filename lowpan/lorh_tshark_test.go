package lowpan

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// Cross-check of the RFC 8138 encoder against Wireshark's 6LoWPAN
// dissector (epan/dissectors/packet-6lowpan.c, dissect_6lowpan_6loRH):
// the root's packets of lorhCases, compressed with the switch on, are
// dissected and every 6LoRH field tshark shows is compared with the packet
// we started from (walked here independently of the code under test), as
// are the IPv6 and UDP fields of the header IPHC codes (UDP checksums
// verified: under an SRH-6LoRH the IPHC destination is the final one).
//
// What tshark 4.0 gets wrong or leaves out, and how the test copes:
//   - dissect_6lowpan_heur does not know the RFC 8025 paging dispatch: an
//     802.15.4 frame whose payload starts with 0xF1 is shown as "Data". The
//     frames are therefore given to the dissector directly, as LoWPAN
//     encapsulation over Ethernet (EtherType 0xA0ED, RFC 7973), where
//     dissect_6lowpan is called without the heuristic.
//   - dissect_6lowpan_6loRH shows an SRH-6LoRH address as the octets
//     carried, not rebuilt against the compression reference (RFC 8138
//     §4.3): "::a" for 2001:db8::a sent as one octet. The test checks that
//     what tshark shows is a suffix of the hop.
//   - For an IP-in-IP 6LoRH with Length 2 to 16 it reads 16 octets as the
//     encapsulator whatever the Length (a garbage address, though it moves
//     on by Length); only Length 17 is compared.
//   - With K=1 it shows the one SenderRank octet, not the rank.
//   - It rebuilds only the IPHC header as IPv6: the RPI, SRH and outer
//     header are not in the IPv6 tree, so they are compared field by field
//     here and byte for byte by our own round-trip tests.
func TestLoRHTshark(t *testing.T) {
	oracle.Tshark(t)
	var frames [][]byte
	var sent []lorhCase
	for _, c := range lorhCases(t) {
		if !c.lorh {
			continue
		}
		z := Compressor{Contexts: c.table, LoRH: true}
		p := make([]byte, 512)
		n, err := z.Compress(p, c.pkt, extSrc, extDst)
		if err != nil {
			t.Fatal(err)
		}
		eth := append([]byte{2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa, 0xa0, 0xed}, p[:n]...)
		frames = append(frames, eth)
		sent = append(sent, c)
	}
	capture := oracle.WritePcap(t, 1, frames...)
	capture.Prefs = []string{"udp.check_checksum:TRUE"}
	capture.Disable = []string{"coap"}
	rows := capture.FieldMaps(t, "6lowpan.pagenb", "6lowpan.rhtype", "6lowpan.HopNuevo", "6lowpan.rhElength", "6lowpan.rhhop.limit",
		"6lowpan.6loRH.bitO", "6lowpan.6loRH.bitR", "6lowpan.6loRH.bitF", "6lowpan.6loRH.bitI", "6lowpan.6loRH.bitK",
		"6lowpan.rpl.instance", "6lowpan.sender.rank", "6lowpan.src",
		"ipv6.src", "ipv6.dst", "ipv6.hlim", "udp.srcport", "udp.dstport", "udp.checksum.status", "_ws.malformed", "_ws.expert.message")
	if len(rows) != len(sent) {
		t.Fatalf("%d rows for %d frames", len(rows), len(sent))
	}
	for i, c := range sent {
		row, w := rows[i], walkRPL(t, c.pkt)
		errorf := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: "+format, append([]any{c.name}, args...)...)
		}
		if row["_ws.malformed"] != "" || row["_ws.expert.message"] != "" {
			errorf("malformed %q expert %q", row["_ws.malformed"], row["_ws.expert.message"])
		}
		if num(t, row["6lowpan.pagenb"]) != 1 {
			errorf("page %q", row["6lowpan.pagenb"])
		}
		types := split(row["6lowpan.rhtype"])
		nRPI, nTunnel := 0, 0
		for _, ty := range types {
			switch num(t, ty) {
			case lorhTypeRPI:
				nRPI++
			case lorhTypeIPinIP:
				nTunnel++
			}
		}
		if (nRPI == 1) != w.hasRPI || (nTunnel == 1) != w.tunnel || nRPI > 1 || nTunnel > 1 {
			errorf("6LoRH types %v; want RPI %t, IP-in-IP %t", types, w.hasRPI, w.tunnel)
		}
		// The SRH-6LoRH hops (RFC 8138 §5.2.2, §7): in a tunnel, the whole
		// outer route, unless it goes up to the root alone; otherwise
		// where the packet goes, then the route without its final
		// destination (the IPHC one).
		var hops [][16]byte
		switch {
		case w.tunnel && (len(w.segs) > 0 || !w.hasRPI || w.flags&0x80 != 0):
			hops = append([][16]byte{w.dst}, w.segs...)
		case len(w.segs) > 0:
			hops = append([][16]byte{w.dst}, w.segs[:len(w.segs)-1]...)
		}
		listed := 0
		for _, n := range split(row["6lowpan.HopNuevo"]) {
			listed += int(num(t, n)) + 1
		}
		srcs := split(row["6lowpan.src"])
		if listed != len(hops) || len(srcs) < len(hops) {
			errorf("%d hops listed, %d addresses shown; want %d", listed, len(srcs), len(hops))
		} else {
			for k, h := range hops {
				if !suffixOf(netip.MustParseAddr(srcs[k]).As16(), h) {
					errorf("hop %d: tshark %s is not the tail of %v", k, srcs[k], netip.AddrFrom16(h))
				}
			}
		}
		if w.hasRPI {
			k := w.rank&0xff == 0
			rank := uint64(w.rank)
			if k {
				rank >>= 8
			}
			if row["6lowpan.6loRH.bitO"] != bit(w.flags&0x80 != 0) || row["6lowpan.6loRH.bitR"] != bit(w.flags&0x40 != 0) ||
				row["6lowpan.6loRH.bitF"] != bit(w.flags&0x20 != 0) || row["6lowpan.6loRH.bitI"] != bit(w.inst == 0) ||
				row["6lowpan.6loRH.bitK"] != bit(k) || num(t, row["6lowpan.rpl.instance"]) != uint64(w.inst) ||
				num(t, row["6lowpan.sender.rank"]) != rank {
				errorf("RPI-6LoRH %v; want flags 0x%02x instance %d rank 0x%04x", row, w.flags, w.inst, w.rank)
			}
		}
		if w.tunnel {
			if num(t, row["6lowpan.rhhop.limit"]) != uint64(w.hlim) {
				errorf("IP-in-IP hop limit %s, want %d", row["6lowpan.rhhop.limit"], w.hlim)
			}
			if l := num(t, row["6lowpan.rhElength"]); l == 17 {
				if len(srcs) <= len(hops) || netip.MustParseAddr(srcs[len(hops)]).As16() != w.src {
					errorf("encapsulator %v, want %v", srcs, netip.AddrFrom16(w.src))
				}
			}
		}
		wantSrc, wantDst, wantHlim := w.src, w.final, w.hlim
		if w.tunnel {
			wantSrc, wantDst, wantHlim = w.innerSrc, w.innerDst, w.innerHlim
		}
		if row["ipv6.src"] != netip.AddrFrom16(wantSrc).String() || row["ipv6.dst"] != netip.AddrFrom16(wantDst).String() ||
			num(t, row["ipv6.hlim"]) != uint64(wantHlim) {
			errorf("IPv6 %s > %s hlim %s; want %v > %v hlim %d", row["ipv6.src"], row["ipv6.dst"], row["ipv6.hlim"],
				netip.AddrFrom16(wantSrc), netip.AddrFrom16(wantDst), wantHlim)
		}
		if num(t, row["udp.srcport"]) != uint64(w.sport) || num(t, row["udp.dstport"]) != uint64(w.dport) || row["udp.checksum.status"] != "1" {
			errorf("UDP %s > %s checksum status %s; want %d > %d, good", row["udp.srcport"], row["udp.dstport"], row["udp.checksum.status"], w.sport, w.dport)
		}
	}
	t.Logf("%d RFC 8138 frames dissected by tshark, every 6LoRH field as sent", len(sent))
}

// rplWalk is what a root's packet holds, read plainly from its octets.
type rplWalk struct {
	src, dst, final    [16]byte
	hlim               uint8
	hasRPI             bool
	flags, inst        uint8
	rank               uint16
	segs               [][16]byte
	tunnel             bool
	innerSrc, innerDst [16]byte
	innerHlim          uint8
	sport, dport       uint16
}

func walkRPL(t *testing.T, pkt []byte) rplWalk {
	t.Helper()
	var w rplWalk
	h := ip6.Header(pkt)
	w.src, w.dst, w.final, w.hlim = [16]byte(h.SrcBytes()), [16]byte(h.DstBytes()), [16]byte(h.DstBytes()), h.HopLimit()
	p, nh := 40, h.NextHeader()
	if nh == ip6.ProtoHopByHop {
		w.hasRPI = true
		w.flags, w.inst, w.rank = pkt[p+4], pkt[p+5], binary.BigEndian.Uint16(pkt[p+6:])
		nh = pkt[p]
		p += (int(pkt[p+1]) + 1) * 8
	}
	if nh == ip6.ProtoRouting {
		r := pkt[p:]
		n, ci, ce, pad := (int(r[1])+1)*8, int(r[4]>>4), int(r[4]&15), int(r[5]>>4)
		count := (n-8-pad-(16-ce))/(16-ci) + 1
		o := 8
		for k := 0; k < count; k++ {
			cm := ci
			if k == count-1 {
				cm = ce
			}
			a := w.dst
			copy(a[cm:], r[o:o+16-cm])
			o += 16 - cm
			w.segs = append(w.segs, a)
		}
		w.final = w.segs[count-1]
		nh = r[0]
		p += n
	}
	if nh == ip6.ProtoIPv6 {
		w.tunnel = true
		in := ip6.Header(pkt[p:])
		w.innerSrc, w.innerDst, w.innerHlim = [16]byte(in.SrcBytes()), [16]byte(in.DstBytes()), in.HopLimit()
		nh = in.NextHeader()
		p += 40
	}
	if nh != ip6.ProtoUDP {
		t.Fatalf("walk: next header %d", nh)
	}
	w.sport, w.dport = binary.BigEndian.Uint16(pkt[p:]), binary.BigEndian.Uint16(pkt[p+2:])
	return w
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func num(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Errorf("tshark value %q: %v", s, err)
	}
	return v
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// suffixOf reports whether shown (tshark's display of a compressed
// address: the carried octets at the end, zeros before) is the tail of a
// in one of RFC 8138's sizes.
func suffixOf(shown, a [16]byte) bool {
	for _, s := range lorhSizes {
		if shown == a && s == 16 {
			return true
		}
		var want [16]byte
		copy(want[16-s:], a[16-s:])
		if shown == want {
			return true
		}
	}
	return false
}
