package lowpan

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// The corpus generator shared by the round-trip, cross-check and benchmark
// tests. It draws packets that exercise every IPHC/NHC encoding: each
// address form, multicast scope, context length, port range, extension
// header and traffic class/flow label/hop limit shape.

// corpusContexts is the table used by the generated corpus (and handed to
// tshark as 6lowpan.contextN preferences).
var corpusContexts = []struct {
	id     int
	prefix string
}{
	{0, "2001:db8:1::/64"},
	{1, "2001:db8:2::/64"},
	{2, "2001:db8:aa::/48"},
	{3, "2001:db8:3:0:1234::/80"},
	{5, "fd00:5::/64"},
	{15, "2001:db8:f::/64"},
}

func corpusContextTable(t testing.TB) *ContextTable {
	t.Helper()
	ct := &ContextTable{}
	for _, c := range corpusContexts {
		if err := ct.Set(c.id, Context{Prefix: netip.MustParsePrefix(c.prefix), Compress: true}); err != nil {
			t.Fatal(err)
		}
	}
	return ct
}

// genCase is one generated packet with the link-layer addresses it is sent
// between.
type genCase struct {
	pkt      []byte
	src, dst LinkAddr
	desc     string
}

type generator struct {
	r *rand.Rand
}

func newGenerator(seed uint64) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *generator) linkAddr() LinkAddr {
	if g.r.IntN(2) == 0 {
		return ShortLinkAddr(uint16(g.r.IntN(0xfffe)))
	}
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], g.r.Uint64())
	return ExtendedLinkAddr(e)
}

func (g *generator) iid(ll LinkAddr) [8]byte {
	var iid [8]byte
	switch g.r.IntN(4) {
	case 0, 1:
		if d, ok := ll.IID(); ok {
			return d
		}
		fallthrough
	case 2:
		binary.BigEndian.PutUint64(iid[:], g.r.Uint64())
	case 3:
		iid = [8]byte{0, 0, 0, 0xff, 0xfe, 0, byte(g.r.IntN(256)), byte(g.r.IntN(256))}
	}
	return iid
}

// unicast draws a unicast address for an interface with link address ll.
func (g *generator) unicast(ll LinkAddr, source bool) ([16]byte, string) {
	var a [16]byte
	switch k := g.r.IntN(10); {
	case k < 3:
		a[0], a[1] = 0xfe, 0x80
		iid := g.iid(ll)
		copy(a[8:], iid[:])
		return a, "link-local"
	case k < 7:
		c := corpusContexts[g.r.IntN(len(corpusContexts))]
		p := netip.MustParsePrefix(c.prefix)
		a = p.Addr().As16()
		iid := g.iid(ll)
		copy(a[8:], iid[:])
		var pb = p.Addr().As16()
		overlay(&a, &pb, p.Bits())
		return a, "context " + c.prefix
	case k < 9:
		binary.BigEndian.PutUint64(a[:8], g.r.Uint64())
		binary.BigEndian.PutUint64(a[8:], g.r.Uint64())
		a[0] = 0x20 | byte(g.r.IntN(16))
		return a, "global inline"
	default:
		if source {
			return a, "unspecified"
		}
		a[0], a[1], a[15] = 0xfe, 0x80, 1
		return a, "link-local ::1"
	}
}

var scopes = []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x0e, 0x12, 0x15, 0x1e, 0x32, 0x35, 0x3e}

func (g *generator) multicast() ([16]byte, string) {
	var a [16]byte
	a[0] = 0xff
	a[1] = scopes[g.r.IntN(len(scopes))]
	switch g.r.IntN(5) {
	case 0:
		a[1] = 0x02
		a[15] = byte(g.r.IntN(256))
		return a, "mcast ff02::XX"
	case 1:
		for i := 13; i < 16; i++ {
			a[i] = byte(g.r.IntN(256))
		}
		return a, "mcast 32"
	case 2:
		for i := 11; i < 16; i++ {
			a[i] = byte(g.r.IntN(256))
		}
		return a, "mcast 48"
	case 3:
		// RFC 3306 unicast-prefix-based, from a context of at most 64 bits.
		c := corpusContexts[[]int{0, 1, 2, 4, 5}[g.r.IntN(5)]]
		p := netip.MustParsePrefix(c.prefix)
		pb := p.Addr().As16()
		a[1] = 0x30 | scopes[g.r.IntN(len(scopes))]&0x0f
		a[3] = byte(p.Bits())
		copy(a[4:12], pb[:8])
		binary.BigEndian.PutUint32(a[12:], g.r.Uint32())
		return a, "mcast RFC 3306 " + c.prefix
	default:
		binary.BigEndian.PutUint64(a[2:10], g.r.Uint64())
		binary.BigEndian.PutUint64(a[8:], g.r.Uint64())
		return a, "mcast inline"
	}
}

func (g *generator) port() uint16 {
	switch g.r.IntN(4) {
	case 0:
		return 0xf0b0 | uint16(g.r.IntN(16))
	case 1:
		return 0xf000 | uint16(g.r.IntN(256))
	case 2:
		return []uint16{5683, 53, 123, 1024, 0xf0af, 0xf100, 0xefff}[g.r.IntN(7)]
	}
	return uint16(g.r.IntN(65536))
}

func (g *generator) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return b
}

// options builds a Hop-by-Hop/Destination Options body (after Next Header
// and Hdr Ext Len) padded to 8n-2 octets, sometimes with a trailing
// Pad1/PadN that the compressor may elide.
func (g *generator) options() []byte {
	var b []byte
	for i := g.r.IntN(3); i >= 0; i-- {
		n := g.r.IntN(12)
		b = append(b, 0x1e+byte(g.r.IntN(2))*0x40, byte(n)) // skippable experimental types
		b = append(b, g.bytes(n)...)
	}
	pad := (8 - (len(b)+2)%8) % 8
	if g.r.IntN(3) == 0 {
		pad += 8 // PadN of 8+ octets is never elided
	}
	switch {
	case pad == 1:
		b = append(b, 0)
	case pad > 1:
		b = append(b, 1, byte(pad-2))
		b = append(b, make([]byte, pad-2)...)
	}
	return b
}

// extHeader returns one extension header with next header next.
func (g *generator) extHeader(proto, next uint8) []byte {
	switch proto {
	case ip6.ProtoHopByHop, ip6.ProtoDestOpts:
		body := g.options()
		return append([]byte{next, byte((len(body)+2)/8 - 1)}, body...)
	case ip6.ProtoRouting:
		n := g.r.IntN(4) // 8(n+1) octets
		// Experimental routing types (RFC 4727) with segments left 0: a
		// generic header that dissectors accept whatever the data.
		return append([]byte{next, byte(n), byte(253 + g.r.IntN(2)), 0}, g.bytes(4+8*n)...)
	case ip6.ProtoFragment:
		off := uint16(0)
		if g.r.IntN(3) == 0 {
			off = uint16(1+g.r.IntN(100)) << 3
		}
		h := []byte{next, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint16(h[2:], off|uint16(g.r.IntN(2)))
		binary.BigEndian.PutUint32(h[4:], g.r.Uint32())
		return h
	case ip6.ProtoMobility:
		n := g.r.IntN(2)
		return append([]byte{next, byte(n), byte(g.r.IntN(20)), 0}, g.bytes(4+8*n)...)
	}
	panic("unknown ext header")
}

// packet draws one IPv6 packet of at most maxLen octets.
func (g *generator) packet(maxLen int) genCase {
	return g.packetFrom(maxLen, g.linkAddr(), g.linkAddr())
}

// packetFrom draws a packet whose derived IIDs come from src and dst: the
// link-layer addresses, or for an encapsulated packet the outer header's
// addresses (RFC 6282 §3.2.2).
func (g *generator) packetFrom(maxLen int, src, dst LinkAddr) genCase {
	var c genCase
	h := make([]byte, 40)
	var tc uint8
	var flow uint32
	switch g.r.IntN(5) {
	case 1:
		tc = byte(g.r.IntN(4)) // ECN only
	case 2:
		tc = byte(g.r.IntN(256))
	case 3:
		tc = byte(g.r.IntN(4))
		flow = uint32(g.r.IntN(1 << 20))
	case 4:
		tc = byte(g.r.IntN(256))
		flow = uint32(g.r.IntN(1 << 20))
	}
	binary.BigEndian.PutUint32(h, 6<<28|uint32(tc)<<20|flow)
	h[7] = []byte{1, 64, 255, byte(g.r.IntN(256))}[g.r.IntN(4)]
	s, sd := g.unicast(src, true)
	var d [16]byte
	var dd string
	if g.r.IntN(4) == 0 {
		d, dd = g.multicast()
		if dst.Kind() != linkAddrIID {
			dst = ShortLinkAddr(0xffff)
		}
	} else {
		d, dd = g.unicast(dst, false)
	}
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	c.desc = sd + " -> " + dd

	// Header chain.
	var chain []uint8
	switch g.r.IntN(6) {
	case 0:
		// A legal order (RFC 8200 §4.1): Hop-by-Hop first, Mobility last.
		for _, p := range []uint8{ip6.ProtoHopByHop, ip6.ProtoDestOpts, ip6.ProtoRouting, ip6.ProtoFragment, ip6.ProtoDestOpts, ip6.ProtoMobility} {
			if g.r.IntN(3) == 0 {
				chain = append(chain, p)
			}
		}
	case 1:
		chain = []uint8{ip6.ProtoIPv6}
	}
	last := []uint8{ip6.ProtoUDP, ip6.ProtoUDP, 58, 6, ip6.ProtoNoNext}[g.r.IntN(5)]
	if len(chain) > 0 && chain[len(chain)-1] == ip6.ProtoMobility {
		last = ip6.ProtoNoNext // RFC 6275: Payload Proto is 59 for now
	}
	var body []byte
	protos := append(chain, last)
	var inner []byte
	for i, p := range chain {
		if p == ip6.ProtoIPv6 {
			ig := g.packetFrom(maxLen-100, iidLinkAddr(h[16:24]), iidLinkAddr(h[32:40]))
			inner = ig.pkt
			c.desc += " in-IPv6(" + ig.desc + ")"
			break
		}
		body = append(body, g.extHeader(p, protos[i+1])...)
		c.desc += " ext" + string(rune('0'+i))
	}
	h[6] = protos[0]
	pkt := append(h, body...)
	if inner != nil {
		pkt = append(pkt, inner...)
	} else {
		room := maxLen - len(pkt) - 8
		n := g.r.IntN(max(room, 1))
		if g.r.IntN(4) == 0 {
			n = g.r.IntN(min(max(room, 1), 40))
		}
		switch last {
		case ip6.ProtoUDP:
			u := make([]byte, 8, 8+n)
			sp, dp := g.port(), g.port()
			binary.BigEndian.PutUint16(u, sp)
			binary.BigEndian.PutUint16(u[2:], dp)
			u = append(u, g.bytes(n)...)
			binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
			start := len(pkt)
			pkt = append(pkt, u...)
			sum := checksum.UDPIPv6(pkt[8:24], pkt[24:40], pkt[start:])
			binary.BigEndian.PutUint16(pkt[start+6:], sum)
			c.desc += " udp"
		case ip6.ProtoNoNext:
		default:
			pkt = append(pkt, g.bytes(n)...)
		}
	}
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	c.pkt, c.src, c.dst = pkt, src, dst
	return c
}
