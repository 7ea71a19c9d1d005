package lowpan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// lorhFragHops is a 5-hop route down a Non-Storing DODAG whose nodes'
// addresses share the root's /64 (as in sim's line of six): the SRH-6LoRH
// codes the first against the root in 8 octets and the others in 1.
var lorhFragHops = []string{"2001:db8::1:0:0:1", "2001:db8::1:0:0:2", "2001:db8::1:0:0:3", "2001:db8::1:0:0:4", "2001:db8::1:0:0:5"}

// lorhFragPacket is what the root sends down for a packet from outside:
// inner (from 2001:db8:ff::2 to the route's end) in an IPv6-in-IPv6 tunnel
// with an RPI and the source route (RFC 9008 §8.2.4, built by rpl, the
// producer the border router uses).
func lorhFragPacket(t testing.TB, inner []byte) []byte {
	t.Helper()
	hops := lorhAddrs(lorhFragHops...)
	pkt, err := rpl.AppendTunnel(nil, inner, netip.MustParseAddr(lorhRoot), hops[len(hops)-1], rpl.Headers{
		RPI:  &rpl.RPIFields{Type: rpl.OptionTypeRPI9008, Flags: rpl.RPIFlagO, SenderRank: 256},
		Hops: hops,
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

// echo56 is an ordinary ping: an ICMPv6 Echo Request with 56 octets of
// data, checksum set.
func echo56(t testing.TB, src, dst string) []byte {
	t.Helper()
	icmp := make([]byte, 8+56)
	icmp[0] = 128 // Echo Request (RFC 4443 §4.1)
	binary.BigEndian.PutUint16(icmp[4:], 0x4242)
	binary.BigEndian.PutUint16(icmp[6:], 7)
	for i := range icmp[8:] {
		icmp[8+i] = byte(i)
	}
	p := buildIPv6(t, ipv6Fields{src: src, dst: dst, hlim: 63, next: ip6.ProtoICMPv6, flow: 0x12345}, icmp)
	binary.BigEndian.PutUint16(p[42:], checksum.Finish(checksum.Sum(p[40:], checksum.PseudoHeaderIPv6(p[8:24], p[24:40], ip6.ProtoICMPv6, uint32(len(icmp))))))
	return p
}

// udpOf is a UDP datagram whose IPv6 packet is size octets long.
func udpOf(t testing.TB, src, dst string, size int) []byte {
	t.Helper()
	data := make([]byte, size-ip6.HeaderLen-ip6.UDPHeaderLen)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return buildUDP6(t, ipv6Fields{src: src, dst: dst, hlim: 63}, 40000, 5683, data)
}

// innerChecksumOK verifies the upper-layer checksum of the tunnelled
// packet in pkt (RFC 8200 §8.1, over the inner addresses): the sum of the
// pseudo-header and the upper-layer octets, checksum included, is 0xffff.
func innerChecksumOK(t testing.TB, pkt []byte) bool {
	t.Helper()
	// Walk outer header, Hop-by-Hop and Routing headers to the inner
	// IPv6 header (RFC 8200 §4: Hdr Ext Len in 8-octet units after the
	// first 8).
	p, nh := ip6.HeaderLen, pkt[6]
	for nh == ip6.ProtoHopByHop || nh == ip6.ProtoRouting {
		if len(pkt) < p+2 {
			t.Fatalf("truncated extension header in % x", pkt)
		}
		nh, p = pkt[p], p+(int(pkt[p+1])+1)*8
	}
	if nh != ip6.ProtoIPv6 || len(pkt) < p+ip6.HeaderLen {
		t.Fatalf("no inner packet in % x", pkt)
	}
	in := pkt[p:]
	proto, body := in[6], in[ip6.HeaderLen:]
	return checksum.Finish(checksum.Sum(body, checksum.PseudoHeaderIPv6(in[8:24], in[24:40], proto, uint32(len(body))))) == 0
}

// A packet from outside tunnelled down a Non-Storing DODAG with RFC 8138
// that needs RFC 4944 fragments: the root's 6LoRHs ride in FRAG1 and the
// packet reassembled by the next hop (a router that knows the root, its
// own ContextTable) is the one sent, octet for octet. datagram_size is the
// uncompressed datagram, outer header, Hop-by-Hop RPI and SRH included,
// and the FRAGN offsets count uncompressed octets (RFC 4944 §5.3, RFC 6282
// §2, RFC 8138 §3: the 6LoRHs stand for headers the receiver rebuilds
// before reassembly places the FRAGNs). Until the 6LoRH decoder stopped
// reserving the most its RPL headers could take (16 octets a hop), a FRAG1
// of a short datagram — a 56-octet ping, 168 octets with the tunnel —
// needed more room than datagram_size and was dropped (issue 14).
func TestLoRHFragmentedTunnel(t *testing.T) {
	root := lorhTable(t, lorhRoot, 0x23)
	router := lorhTable(t, lorhRoot, 0x23) // the next hop's view: the root it joined
	dst := lorhFragHops[len(lorhFragHops)-1]
	inners := []struct {
		name string
		pkt  []byte
	}{
		{"ping 56", echo56(t, "2001:db8:ff::2", dst)},
		{"udp 64", udpOf(t, "2001:db8:ff::2", dst, 64)},
		{"udp 200", udpOf(t, "2001:db8:ff::2", dst, 200)},
		{"udp 1280", udpOf(t, "2001:db8:ff::2", dst, 1280)},
	}
	z := Compressor{Contexts: root, LoRH: true}
	scratch, out := make([]byte, ScratchSize), make([]byte, 2048)
	for _, in := range inners {
		pkt := lorhFragPacket(t, in.pkt)
		if !innerChecksumOK(t, pkt) {
			t.Fatalf("%s: the test's own packet has a bad checksum", in.name)
		}
		// 60 to 127: from where the 6LoRH and IPHC headers barely fit a
		// FRAG1 to a whole 802.15.4 frame.
		for mp := 60; mp <= 127; mp++ {
			name := fmt.Sprintf("%s/MaxPayload %d", in.name, mp)
			r, err := NewReassembler(ReassemblyConfig{}, router)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			var frames, page1 int
			nextOff := -1 // the uncompressed offset the next FRAGN must have
			opts := EncodeOptions{MaxPayload: mp, Tag: uint16(mp)}
			_, err = z.Encode(scratch, pkt, extSrc, extDst, &opts, func(f []byte) error {
				frames++
				var h Headers
				if err := ParseHeaders(f, &h); err != nil {
					return err
				}
				if !h.HasFrag {
					if h.Payload[0] == DispatchPage1 {
						page1++
					}
					n, err := Decompress(out, h.Payload, extSrc, extDst, router)
					got = bytes.Clone(out[:n])
					return err
				}
				if int(h.Frag.Size) != len(pkt) {
					return fmt.Errorf("datagram_size %d, the uncompressed datagram is %d", h.Frag.Size, len(pkt))
				}
				if h.Frag.First {
					if h.Payload[0] == DispatchPage1 {
						page1++
					}
					// The octets FRAG1 stands for: the headers the
					// compressed ones replace, then the payload as is.
					nextOff = opts.HeaderOctets + len(h.Payload) - opts.CompressedOctets
				} else {
					if int(h.Frag.Offset) != nextOff {
						return fmt.Errorf("FRAGN at offset %d, want %d", h.Frag.Offset, nextOff)
					}
					if !bytes.Equal(h.Payload, pkt[nextOff:nextOff+len(h.Payload)]) {
						return fmt.Errorf("FRAGN at %d does not carry the datagram's octets there", nextOff)
					}
					nextOff += len(h.Payload)
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
				t.Errorf("%s: %v (%d frames)", name, err, frames)
				continue
			}
			// From 72 octets on, the 6LoRHs and IPHC header fit a FRAG1
			// (RFC 6282 §2 otherwise: the encoder falls back to RFC 6282).
			if mp >= 72 && page1 == 0 {
				t.Errorf("%s: not sent with RFC 8138", name)
			}
			if !bytes.Equal(got, pkt) {
				t.Errorf("%s: %d frames; (-want +got)\n-% x\n+% x", name, frames, pkt, got)
				continue
			}
			if !innerChecksumOK(t, got) {
				t.Errorf("%s: inner checksum wrong after reassembly", name)
			}
		}
	}
}

// The 6LoRH decoder writes no further than the packet it rebuilds: an
// output exactly the packet's size is enough, with or without a tunnel.
func TestLoRHDecompressExactRoom(t *testing.T) {
	for _, c := range lorhCases(t) {
		if !c.lorh {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			z := Compressor{Contexts: c.table, LoRH: true}
			frame := make([]byte, 1500)
			n, err := z.Compress(frame, c.pkt, extSrc, extDst)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]byte, len(c.pkt))
			m, err := Decompress(out, frame[:n], extSrc, extDst, c.table)
			if err != nil {
				t.Fatalf("into %d octets: %v", len(out), err)
			}
			if !bytes.Equal(out[:m], c.pkt) {
				t.Errorf("(-want +got)\n-% x\n+% x", c.pkt, out[:m])
			}
			if _, err := Decompress(out[:len(c.pkt)-1], frame[:n], extSrc, extDst, c.table); err == nil {
				t.Errorf("into %d octets: no error", len(c.pkt)-1)
			}
		})
	}
}

// Reassembling a 6LoRH datagram costs no allocation once the reassembler
// has its slot (the FRAG1 is decompressed into its scratch).
func TestLoRHFragmentedNoAlloc(t *testing.T) {
	ct := lorhTable(t, lorhRoot, 0x23)
	pkt := lorhFragPacket(t, echo56(t, "2001:db8:ff::2", lorhFragHops[len(lorhFragHops)-1]))
	z := Compressor{Contexts: ct, LoRH: true}
	var frames [][]byte
	scratch := make([]byte, ScratchSize)
	if _, err := z.Encode(scratch, pkt, extSrc, extDst, &EncodeOptions{MaxPayload: 90, Tag: 1}, func(f []byte) error {
		frames = append(frames, bytes.Clone(f))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(frames) < 2 {
		t.Fatalf("%d frames: not fragmented", len(frames))
	}
	hs := make([]Headers, len(frames))
	for i, f := range frames {
		if err := ParseHeaders(f, &hs[i]); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReassembler(ReassemblyConfig{}, ct)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 2048)
	done := 0
	run := func() {
		for i := range hs {
			if n, _ := r.Add(time.Unix(1700000000, 0), out, extSrc, extDst, &hs[i]); n == len(pkt) {
				done++
			}
		}
	}
	run()
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Errorf("%v allocations per datagram", a)
	}
	if done == 0 || !bytes.Equal(out[:len(pkt)], pkt) {
		t.Errorf("%d datagrams completed; got % x", done, out[:len(pkt)])
	}
}
