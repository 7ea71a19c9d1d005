package lowpan

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// A UDP datagram with an elided checksum under an SRH-6LoRH: the checksum
// is recomputed over the final destination (RFC 8200 §8.1), not the hop
// the rebuilt header names.
func TestLoRHElidedChecksumFinalDestination(t *testing.T) {
	ct := lorhTable(t, lorhRoot, 0)
	pkt := buildUDP6(t, ipv6Fields{src: lorhRoot, dst: "2001:db8::d", hlim: 64}, 0xf0b1, 0xf0b2, hello)
	routed, err := rpl.InsertHeaders(nil, pkt, rpl.Headers{Hops: lorhAddrs("2001:db8::a", "2001:db8::b", "2001:db8::d")})
	if err != nil {
		t.Fatal(err)
	}
	z := Compressor{Contexts: ct, LoRH: true, ElideUDPChecksum: true}
	frame := make([]byte, 256)
	n, err := z.Compress(frame, routed, extSrc, extDst)
	if err != nil {
		t.Fatal(err)
	}
	if frame[0] != DispatchPage1 {
		t.Fatalf("not RFC 8138: % x", frame[:n])
	}
	out := make([]byte, 1500)
	m, err := Decompress(out, frame[:n], extSrc, extDst, ct)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[:m], routed) {
		t.Errorf("(-want +got)\n-% x\n+% x", routed, out[:m])
	}
}

func lorhAddrs(s ...string) []netip.Addr {
	a := make([]netip.Addr, len(s))
	for i, x := range s {
		a[i] = netip.MustParseAddr(x)
	}
	return a
}

// lorhCase is a packet the root sends into the mesh, built by package rpl
// (the producer the border router uses), and whether RFC 8138 can carry
// it exactly.
type lorhCase struct {
	name  string
	pkt   []byte
	lorh  bool // RFC 8138 used
	table *ContextTable
}

func lorhCases(t testing.TB) []lorhCase {
	t.Helper()
	ct := lorhTable(t, lorhRoot, 0)
	ct23 := lorhTable(t, lorhRoot, 0x23)
	noRoot := lorhTable(t, "", 0)
	down := &rpl.RPIFields{Type: rpl.OptionTypeRPI6553, Flags: rpl.RPIFlagO, SenderRank: 256}
	up := &rpl.RPIFields{Type: rpl.OptionTypeRPI6553, Instance: 3, SenderRank: 0x0312}
	udp := buildUDP6(t, ipv6Fields{src: lorhRoot, dst: "2001:db8::d", hlim: 64}, 5683, 0xf0b2, hello)
	ext := buildUDP6(t, ipv6Fields{src: "2001:db8:ffff::5", dst: "2001:db8::d", hlim: 63, tc: 0xb8, flow: 0x12345}, 40000, 5683, hello)
	rul := buildUDP6(t, ipv6Fields{src: "2001:db8:ffff::5", dst: "2001:db8::99", hlim: 63}, 40000, 5683, hello)
	six := lorhAddrs("2001:db8::a", "2001:db8::b", "2001:db8::c", "2001:db8::e", "2001:db8::f", "2001:db8::d")
	mixed := lorhAddrs("2001:db8::a:1", "2001:db8::a:2", "2001:db8:0:5::7", "2001:db8:0:5::8", "fd00::1", "2001:db8::d")
	root := netip.MustParseAddr(lorhRoot)
	insert := func(pkt []byte, h rpl.Headers) []byte {
		b, err := rpl.InsertHeaders(nil, pkt, h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tunnel := func(inner []byte, src, dst string, h rpl.Headers) []byte {
		b, err := rpl.AppendTunnel(nil, inner, netip.MustParseAddr(src), netip.MustParseAddr(dst), h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	d23 := *down
	d23.Type = rpl.OptionTypeRPI9008
	return []lorhCase{
		{"own packet, 6-hop SRH and RPI", insert(udp, rpl.Headers{RPI: down, Hops: six}), true, ct},
		{"own packet, SRH of mixed sizes", insert(udp, rpl.Headers{RPI: down, Hops: mixed}), true, ct},
		{"own packet, SRH only", insert(udp, rpl.Headers{Hops: six}), true, ct},
		{"own packet, RPI only", insert(udp, rpl.Headers{RPI: down}), true, ct},
		{"RPI 0x23 in a 0x23 instance", insert(udp, rpl.Headers{RPI: &d23, Hops: six}), true, ct23},
		{"RPI 0x63 in a 0x23 instance", insert(udp, rpl.Headers{RPI: down, Hops: six}), false, ct23},
		{"tunnel, 6-hop SRH and RPI", tunnel(ext, lorhRoot, "2001:db8::d", rpl.Headers{RPI: down, Hops: six}), true, ct},
		{"tunnel, root unknown", tunnel(ext, lorhRoot, "2001:db8::d", rpl.Headers{RPI: down, Hops: six}), true, noRoot},
		{"tunnel to a direct child", tunnel(ext, lorhRoot, "2001:db8::d", rpl.Headers{RPI: down}), true, ct},
		{"tunnel ending at a RUL's 6LR", tunnel(rul, lorhRoot, "2001:db8::d", rpl.Headers{RPI: down, Hops: six}), true, ct},
		{"tunnel to a RUL's 6LR, no SRH", tunnel(rul, lorhRoot, "2001:db8::d", rpl.Headers{RPI: down}), true, ct},
		{"tunnel up to the root", tunnel(rul, "2001:db8::2", lorhRoot, rpl.Headers{RPI: up}), true, ct},
		{"tunnel up, root unknown", tunnel(rul, "2001:db8::2", lorhRoot, rpl.Headers{RPI: up}), false, noRoot},
		{"no RPL headers", udp, false, ct},
		{"RPI with another option", withOtherOption(t, insert(udp, rpl.Headers{RPI: down})), false, ct},
		{"SRH partly used", advanced(t, insert(udp, rpl.Headers{RPI: down, Hops: six})), false, ct},
		{"long route", insert(udp, rpl.Headers{RPI: down, Hops: longRoute(root, 40)}), true, ct},
	}
}

// withOtherOption turns the PadN-free 8-octet RPI header into a 16-octet
// one with a PadN after the RPL Option.
func withOtherOption(t testing.TB, pkt []byte) []byte {
	t.Helper()
	out := append(bytes.Clone(pkt[:48]), 1, 6, 0, 0, 0, 0, 0, 0)
	out = append(out, pkt[48:]...)
	out[41] = 1
	ip6.Header(out).SetPayloadLength(uint16(len(out) - 40))
	return out
}

// advanced makes the first hop process the SRH: Segments Left one less.
func advanced(t testing.TB, pkt []byte) []byte {
	t.Helper()
	out := bytes.Clone(pkt)
	out[48+3]--
	return out
}

func longRoute(root netip.Addr, n int) []netip.Addr {
	r := root.As16()
	hops := make([]netip.Addr, n)
	for i := range hops {
		a := r
		a[14], a[15] = byte(i+1), byte(i*7)
		hops[i] = netip.AddrFrom16(a)
	}
	hops[n-1] = netip.MustParseAddr("2001:db8::d")
	return hops
}

func TestLoRHRoundTrip(t *testing.T) {
	for _, c := range lorhCases(t) {
		t.Run(c.name, func(t *testing.T) {
			on := Compressor{Contexts: c.table, LoRH: true}
			off := Compressor{Contexts: c.table}
			fOn, fOff := make([]byte, 1500), make([]byte, 1500)
			nOn, err := on.Compress(fOn, c.pkt, extSrc, extDst)
			if err != nil {
				t.Fatal(err)
			}
			nOff, err := off.Compress(fOff, c.pkt, extSrc, extDst)
			if err != nil {
				t.Fatal(err)
			}
			if got := fOn[0] == DispatchPage1; got != c.lorh {
				t.Fatalf("RFC 8138 used %t, want %t: % x", got, c.lorh, fOn[:nOn])
			}
			if !c.lorh && !bytes.Equal(fOn[:nOn], fOff[:nOff]) {
				t.Errorf("a packet 6LoRH cannot carry is not coded as with the switch off:\n on % x\noff % x", fOn[:nOn], fOff[:nOff])
			}
			if c.lorh && nOn >= nOff {
				t.Errorf("RFC 8138 gives %d octets, RFC 6282 %d", nOn, nOff)
			}
			out := make([]byte, 1500)
			m, err := Decompress(out, fOn[:nOn], extSrc, extDst, c.table)
			if err != nil {
				t.Fatalf("decompress % x: %v", fOn[:nOn], err)
			}
			if !bytes.Equal(out[:m], c.pkt) {
				t.Errorf("round trip (-want +got)\n-% x\n+% x\nframe % x", c.pkt, out[:m], fOn[:nOn])
			}
			t.Logf("%d octets with RFC 8138, %d with RFC 6282", nOn, nOff)
		})
	}
}

// Fragmented: the 6LoRHs ride in FRAG1 after the fragment header, and the
// reassembler gives the packet back.
func TestLoRHFragmented(t *testing.T) {
	ct := lorhTable(t, lorhRoot, 0)
	big := buildUDP6(t, ipv6Fields{src: "2001:db8:ffff::5", dst: "2001:db8::d", hlim: 63}, 40000, 5683, bytes.Repeat([]byte("6LoRH "), 60))
	pkt, err := rpl.AppendTunnel(nil, big, netip.MustParseAddr(lorhRoot), netip.MustParseAddr("2001:db8::d"),
		rpl.Headers{RPI: &rpl.RPIFields{Type: rpl.OptionTypeRPI6553, Flags: rpl.RPIFlagO, SenderRank: 256}, Hops: lorhAddrs("2001:db8::a", "2001:db8::b", "2001:db8::d")})
	if err != nil {
		t.Fatal(err)
	}
	z := Compressor{Contexts: ct, LoRH: true}
	r, err := NewReassembler(ReassemblyConfig{}, ct)
	if err != nil {
		t.Fatal(err)
	}
	scratch := make([]byte, ScratchSize)
	out := make([]byte, 1500)
	var got []byte
	frames, err := z.Encode(scratch, pkt, extSrc, extDst, &EncodeOptions{MaxPayload: 90, Tag: 7}, func(f []byte) error {
		var h Headers
		if err := ParseHeaders(f, &h); err != nil {
			return err
		}
		if h.Frag.First && h.Payload[0] != DispatchPage1 {
			t.Errorf("FRAG1 without the page 1 dispatch: % x", f)
		}
		n, err := r.Add(time.Unix(1700000000, 0), out, extSrc, extDst, &h)
		if err != nil {
			return err
		}
		if n > 0 {
			got = bytes.Clone(out[:n])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if frames < 2 || !bytes.Equal(got, pkt) {
		t.Errorf("%d frames; (-want +got)\n-% x\n+% x", frames, pkt, got)
	}
}

// With the switch on, what the compressor writes and the decompressor
// reads is still coded with no allocation.
func TestLoRHAllocs(t *testing.T) {
	cases := lorhCases(t)
	for _, c := range []lorhCase{cases[0], cases[6]} { // own packet and tunnel, 6-hop SRH and RPI
		t.Run(c.name, func(t *testing.T) { lorhAllocs(t, c) })
	}
}

func lorhAllocs(t *testing.T, c lorhCase) {
	z := Compressor{Contexts: c.table, LoRH: true}
	frame, out := make([]byte, 256), make([]byte, 1500)
	n, err := z.Compress(frame, c.pkt, extSrc, extDst)
	if err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() { z.Compress(frame, c.pkt, extSrc, extDst) }); a != 0 {
		t.Errorf("Compress: %v allocations", a)
	}
	if a := testing.AllocsPerRun(100, func() { Decompress(out, frame[:n], extSrc, extDst, c.table) }); a != 0 {
		t.Errorf("Decompress: %v allocations", a)
	}
}

// A 6LoRH-coded frame says so to lowpanbr pcap --json.
func TestLoRHInspect(t *testing.T) {
	c := lorhCases(t)[6]
	z := Compressor{Contexts: c.table, LoRH: true}
	frame := make([]byte, 256)
	n, err := z.Compress(frame, c.pkt, extSrc, extDst)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Inspect(frame[:n], extSrc, extDst, c.table)
	if err != nil {
		t.Fatal(err)
	}
	if e.LoRH != 3 || e.Dispatch != "IPHC" || e.UncompressedOctets != len(c.pkt)-len(hello) {
		t.Errorf("%+v", e)
	}
}

// BenchmarkLoRH: a root's packet to a node 6 hops away (RPI and a 5-address
// SRH; the root's own packet, and one from outside in a tunnel) coded with
// RFC 6282 NHC and with RFC 8138, both ways; "octets" is the frame's
// compressed headers and payload.
func BenchmarkLoRH(b *testing.B) {
	cases := lorhCases(b)
	for _, c := range []lorhCase{cases[0], cases[6]} {
		for _, on := range []bool{false, true} {
			name := strings.Fields(c.name)[0] + "/RFC6282"
			if on {
				name = strings.Fields(c.name)[0] + "/RFC8138"
			}
			z := Compressor{Contexts: c.table, LoRH: on}
			frame, out := make([]byte, 256), make([]byte, 1500)
			n, err := z.Compress(frame, c.pkt, extSrc, extDst)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("encode/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					z.Compress(frame, c.pkt, extSrc, extDst)
				}
				b.ReportMetric(float64(n), "octets")
			})
			b.Run("decode/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					Decompress(out, frame[:n], extSrc, extDst, c.table)
				}
				b.ReportMetric(float64(n), "octets")
			})
		}
	}
}
