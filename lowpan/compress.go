package lowpan

import (
	"encoding/binary"
	"fmt"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// Compressor encodes IPv6 datagrams with IPHC and LOWPAN_NHC (RFC 6282). It
// holds no per-packet state and is safe for concurrent use; the per-packet
// work does not allocate.
type Compressor struct {
	// Contexts is the shared context table; nil means stateless only.
	Contexts *ContextTable
	// ElideUDPChecksum sends UDP with C=1. RFC 6282 §4.3.2 allows it only
	// when something else (a tunnel, a MIC) protects the datagram, so it is
	// off unless configured.
	ElideUDPChecksum bool
	// KeepPadding carries a trailing Pad1/PadN of Hop-by-Hop and
	// Destination Options headers inline. By default a single trailing pad
	// option is elided and the decompressor restores it (RFC 6282 §4.2).
	KeepPadding bool
	// LoRH compresses the RPL artefacts of a packet — a Hop-by-Hop header
	// holding only the RPL Option, a RPL Source Routing Header with every
	// segment left, an IPv6-in-IPv6 tunnel — as RFC 8138 6LoRHs after a
	// page 1 dispatch, when they can be rebuilt exactly (see lorh.go); the
	// rest stays IPHC and NHC. Off by default: RIOT, Contiki-NG and
	// OpenThread do not decode it (doc.go); RFC 9035's T flag in the
	// DODAG Configuration option says when a DODAG uses it. The
	// decompressor decodes 6LoRH whatever this says. The root's address
	// and the RPI type come from Contexts (ContextTable.SetRPL).
	LoRH bool
}

// compressor is the state of one datagram's compression; it lives on the
// caller's stack.
type compressor struct {
	*Compressor
	pkt      []byte
	out      []byte
	o        int
	src, dst LinkAddr
	ctx      [MaxContexts]contextEntry
	nExt     int
	nIPv6    int
	nNHC     int // NHC headers emitted
	limit    int // at most this many NHC headers; -1: no limit
	reg      Registrations
	// The IIDs of the IPv6 header being compressed (copies, not a slice of
	// it: the header may be one lorh built on its stack).
	lastSrcIID, lastDstIID [8]byte
	rpl                    rplReference
}

func (c *compressor) room(n int) error {
	if len(c.out)-c.o < n {
		return ErrBufferTooSmall
	}
	return nil
}

// CompressHeaders writes the compressed headers of the IPv6 packet pkt into
// out. It returns the octets written and the octets of pkt they stand for;
// pkt[consumed:] is the payload that follows them unchanged. It picks the
// smallest legal encoding of every field given the link-layer addresses
// and the context table.
func (z *Compressor) CompressHeaders(out, pkt []byte, srcLL, dstLL LinkAddr) (written, consumed int, err error) {
	written, consumed, _, err = z.compressHeaders(out, pkt, srcLL, dstLL, -1, nil, z.LoRH)
	return written, consumed, err
}

// compressHeaders compresses at most limit headers after the first IPv6
// header with NHC (-1: all that can be), and reports how many it did. reg
// enables the RFC 7668 §3.2.4 elision of registered addresses. lorh tries
// RFC 8138 first (with no NHC limit); a packet it cannot carry exactly is
// compressed without.
func (z *Compressor) compressHeaders(out, pkt []byte, srcLL, dstLL LinkAddr, limit int, reg Registrations, lorh bool) (written, consumed, nhc int, err error) {
	if err := validIPv6(pkt); err != nil {
		return 0, 0, 0, fmt.Errorf("lowpan: compress: %w", err)
	}
	c := compressor{Compressor: z, pkt: pkt, out: out, src: srcLL, dst: dstLL, limit: limit, reg: reg}
	z.Contexts.snapshot(&c.ctx)
	if lorh && reg == nil && limit < 0 {
		c.rpl = z.Contexts.rplRef()
		p, ok, err := c.lorh()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("lowpan: compress (RFC 8138): %w", err)
		}
		if ok {
			return c.o, p, c.nNHC, nil
		}
		c = compressor{Compressor: z, pkt: pkt, out: out, src: srcLL, dst: dstLL, limit: limit, ctx: c.ctx}
	}
	p, err := c.iphc(0)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("lowpan: compress: %w", err)
	}
	return c.o, p, c.nNHC, nil
}

// Compress writes the whole datagram — compressed headers and payload —
// into out, with no fragmentation (RFC 7668 links, or a datagram known to
// fit one frame), and returns its length.
func (z *Compressor) Compress(out, pkt []byte, srcLL, dstLL LinkAddr) (int, error) {
	n, p, err := z.CompressHeaders(out, pkt, srcLL, dstLL)
	if err != nil {
		return 0, err
	}
	if len(out)-n < len(pkt)-p {
		return 0, fmt.Errorf("lowpan: compress: %w", ErrBufferTooSmall)
	}
	return n + copy(out[n:], pkt[p:]), nil
}

func validIPv6(pkt []byte) error {
	h := ip6.Header(pkt)
	if len(h) < ip6.HeaderLen {
		return fmt.Errorf("%d octets, shorter than an IPv6 header: %w", len(pkt), ErrBadPacket)
	}
	if !h.IsValid() {
		return fmt.Errorf("IP version %d: %w", h.Version(), ErrBadPacket)
	}
	if plen := int(h.PayloadLength()); plen != len(h.Payload()) {
		return fmt.Errorf("payload length %d but %d octets follow the header: %w", plen, len(h.Payload()), ErrBadPacket)
	}
	return nil
}

// addrChoice is one way to encode an address: the AC bit, the mode, the
// context and the inline octets.
type addrChoice struct {
	stateful bool
	mode     uint8
	cid      uint8
	n        int
	inline   [16]byte
}

// iphc compresses the IPv6 header at pkt[p:] and the headers after it; it
// returns the offset in pkt where the uncompressed payload starts.
func (c *compressor) iphc(p int) (int, error) {
	return c.iphcHeader(ip6.Header(c.pkt[p:p+ip6.HeaderLen]), p+ip6.HeaderLen)
}

// iphcHeader compresses the IPv6 header h, whose next header starts at
// pkt[next:] (h is pkt's own header, or one the RFC 8138 compressor
// rebuilt); it returns where the uncompressed payload starts.
func (c *compressor) iphcHeader(h ip6.Header, next int) (int, error) {
	c.nIPv6++
	c.lastSrcIID, c.lastDstIID = [8]byte(h.SrcBytes()[8:]), [8]byte(h.DstBytes()[8:])
	tc, flow := h.TrafficClass(), h.FlowLabel()
	nextHdr, hlim := h.NextHeader(), h.HopLimit()
	src, dst := [16]byte(h.SrcBytes()), [16]byte(h.DstBytes())

	b0 := uint8(DispatchIPHC)
	var b1 uint8

	// Traffic class and flow label; inline the traffic class is ECN then
	// DSCP (RFC 6282 §3.1.1).
	ecn, dscp := tc&0x03, tc>>2
	var tf [4]byte
	var tfLen int
	switch {
	case tc == 0 && flow == 0:
		b0 |= tfAllElided << iphcTFShift
	case flow == 0:
		b0 |= tfNoFlow << iphcTFShift
		tf[0] = ecn<<6 | dscp
		tfLen = 1
	case dscp == 0:
		b0 |= tfNoDSCP << iphcTFShift
		tf[0], tf[1], tf[2] = ecn<<6|uint8(flow>>16), uint8(flow>>8), uint8(flow)
		tfLen = 3
	default:
		tf[0], tf[1], tf[2], tf[3] = ecn<<6|dscp, uint8(flow>>16), uint8(flow>>8), uint8(flow)
		tfLen = 4
	}

	nhc := c.compressible(next, nextHdr)
	if nhc {
		b0 |= iphcNH
	}
	switch hlim {
	case 1:
		b0 |= 1
	case 64:
		b0 |= 2
	case 255:
		b0 |= 3
	}

	// Addresses: the cheapest pair, counting the CID octet that any context
	// other than 0 costs.
	var srcOpts, dstOpts [3]addrChoice
	ns := c.sourceChoices(&src, &srcOpts)
	var nd int
	multicast := dst[0] == 0xff
	if multicast {
		nd = c.multicastChoices(&dst, &dstOpts)
	} else {
		nd = c.unicastChoices(&dst, c.dst, &dstOpts)
	}
	bestS, bestD, bestCost, needCID := 0, 0, 1<<30, false
	for i := 0; i < ns; i++ {
		for j := 0; j < nd; j++ {
			s, d := &srcOpts[i], &dstOpts[j]
			cid := (s.stateful && s.cid != 0) || (d.stateful && d.cid != 0)
			cost := s.n + d.n
			if cid {
				cost++
			}
			if cost < bestCost {
				bestS, bestD, bestCost, needCID = i, j, cost, cid
			}
		}
	}
	s, d := &srcOpts[bestS], &dstOpts[bestD]
	if needCID {
		b1 |= iphcCID
	}
	if s.stateful {
		b1 |= iphcSAC
	}
	b1 |= s.mode << iphcSAMShift
	if multicast {
		b1 |= iphcM
	}
	if d.stateful {
		b1 |= iphcDAC
	}
	b1 |= d.mode

	n := iphcBaseLen + tfLen + s.n + d.n
	if needCID {
		n++
	}
	if !nhc {
		n++
	}
	if b0&iphcHLIMMask == hlimInline {
		n++
	}
	if err := c.room(n); err != nil {
		return 0, err
	}
	o := c.out[c.o:]
	o[0], o[1] = b0, b1
	i := iphcBaseLen
	if needCID {
		var sci, dci uint8
		if s.stateful {
			sci = s.cid
		}
		if d.stateful {
			dci = d.cid
		}
		o[i] = sci<<4 | dci
		i++
	}
	i += copy(o[i:], tf[:tfLen])
	if !nhc {
		o[i] = nextHdr
		i++
	}
	if b0&iphcHLIMMask == hlimInline {
		o[i] = hlim
		i++
	}
	i += copy(o[i:], s.inline[:s.n])
	i += copy(o[i:], d.inline[:d.n])
	c.o += i
	if nhc {
		return c.chain(next, nextHdr)
	}
	return next, nil
}

// sourceChoices lists the candidate encodings of a source address.
func (c *compressor) sourceChoices(a *[16]byte, opts *[3]addrChoice) int {
	if *a == ([16]byte{}) {
		// RFC 6282 §3.1.1: SAC=1 SAM=00 is the unspecified address.
		opts[0] = addrChoice{stateful: true, mode: samInline}
		return 1
	}
	return c.unicastChoices(a, c.src, opts)
}

// unicastChoices lists the stateless encoding, the best with context 0 and
// the best with any other context.
func (c *compressor) unicastChoices(a *[16]byte, ll LinkAddr, opts *[3]addrChoice) int {
	n := 0
	opts[n] = statelessUnicast(a, ll)
	n++
	best0, bestN := addrChoice{n: -1}, addrChoice{n: -1}
	for id := range c.ctx {
		e := &c.ctx[id]
		if !e.valid || !e.compress {
			continue
		}
		ch, ok := c.contextChoice(a, ll, e)
		if !ok {
			continue
		}
		ch.cid = uint8(id)
		if id == 0 {
			best0 = ch
		} else if bestN.n < 0 || ch.n < bestN.n || (ch.n == bestN.n && e.bits > c.ctx[bestN.cid].bits) {
			bestN = ch
		}
	}
	if best0.n >= 0 {
		opts[n] = best0
		n++
	}
	if bestN.n >= 0 {
		opts[n] = bestN
		n++
	}
	return n
}

var linkLocalPrefix = [8]byte{0xfe, 0x80}

func statelessUnicast(a *[16]byte, ll LinkAddr) addrChoice {
	var ch addrChoice
	if [8]byte(a[:8]) != linkLocalPrefix {
		ch.mode = samInline
		ch.n = 16
		ch.inline = *a
		return ch
	}
	if iid, ok := ll.IID(); ok && [8]byte(a[8:]) == iid {
		ch.mode = samElided
		return ch
	}
	if isShortIID(a) {
		ch.mode = sam16
		ch.n = 2
		ch.inline[0], ch.inline[1] = a[14], a[15]
		return ch
	}
	ch.mode = sam64
	ch.n = 8
	copy(ch.inline[:], a[8:])
	return ch
}

// isShortIID reports an IID of the form 0000:00ff:fe00:XXXX.
func isShortIID(a *[16]byte) bool {
	return a[8]|a[9]|a[10]|a[13] == 0 && a[11] == 0xff && a[12] == 0xfe
}

// contextUnicast finds the smallest SAM/DAM with which context e rebuilds
// exactly a: the context's bits always win over what is carried or derived
// (RFC 6282 §3.1.1).
func contextUnicast(a *[16]byte, ll LinkAddr, e *contextEntry) (addrChoice, bool) {
	ch := addrChoice{stateful: true}
	var r [16]byte
	if iid, ok := ll.IID(); ok {
		copy(r[8:], iid[:])
		overlay(&r, &e.prefix, e.bits)
		if r == *a {
			ch.mode = samElided
			return ch, true
		}
	}
	r = [16]byte{11: 0xff, 12: 0xfe, 14: a[14], 15: a[15]}
	overlay(&r, &e.prefix, e.bits)
	if r == *a {
		ch.mode = sam16
		ch.n = 2
		ch.inline[0], ch.inline[1] = a[14], a[15]
		return ch, true
	}
	r = [16]byte{}
	copy(r[8:], a[8:])
	overlay(&r, &e.prefix, e.bits)
	if r == *a {
		ch.mode = sam64
		ch.n = 8
		copy(ch.inline[:], a[8:])
		return ch, true
	}
	return ch, false
}

// multicastChoices lists the stateless multicast encodings that fit and the
// RFC 3306 context form (RFC 6282 §3.1.1, M=1).
func (c *compressor) multicastChoices(a *[16]byte, opts *[3]addrChoice) int {
	var ch addrChoice
	switch {
	case a[1] == 0x02 && allZero(a[2:15]): // ff02::00XX
		ch.mode, ch.n = damMcast8, 1
		ch.inline[0] = a[15]
	case allZero(a[2:13]): // ffXX::00XX:XXXX
		ch.mode, ch.n = damMcast32, 4
		ch.inline[0] = a[1]
		copy(ch.inline[1:], a[13:16])
	case allZero(a[2:11]): // ffXX::00XX:XXXX:XXXX
		ch.mode, ch.n = damMcast48, 6
		ch.inline[0] = a[1]
		copy(ch.inline[1:], a[11:16])
	default:
		ch.mode, ch.n = damMcastFull, 16
		ch.inline = *a
	}
	opts[0] = ch
	if ch.n <= 6 {
		return 1
	}
	// ffXX:XXLL:PPPP:PPPP:PPPP:PPPP:XXXX:XXXX with LL the context's prefix
	// length and P its first 64 bits.
	n := 1
	best0, bestN := -1, -1
	for id := range c.ctx {
		e := &c.ctx[id]
		if !e.valid || !e.compress || e.bits > 64 || int(a[3]) != e.bits || [8]byte(a[4:12]) != [8]byte(e.prefix[:8]) {
			continue
		}
		if id == 0 {
			best0 = 0
		} else if bestN < 0 {
			bestN = id
		}
	}
	for _, id := range [2]int{best0, bestN} {
		if id < 0 {
			continue
		}
		m := addrChoice{stateful: true, mode: damMcastFull, cid: uint8(id), n: 6}
		m.inline[0], m.inline[1] = a[1], a[2]
		copy(m.inline[2:], a[12:16])
		opts[n] = m
		n++
	}
	return n
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// extHeaderLen returns the length of the extension header proto at
// pkt[p:], and whether it is whole within pkt.
func (c *compressor) extHeaderLen(p int, proto uint8) (int, bool) {
	if len(c.pkt)-p < 8 {
		return 0, false
	}
	n := 8
	if proto != ip6.ProtoFragment {
		n = (int(c.pkt[p+1]) + 1) * 8
	}
	return n, len(c.pkt)-p >= n
}

// compressible reports whether the header proto at pkt[p:] can be encoded
// with LOWPAN_NHC, so that the Next Header field before it can be elided.
func (c *compressor) compressible(p int, proto uint8) bool {
	if c.limit >= 0 && c.nNHC >= c.limit {
		return false
	}
	rest := len(c.pkt) - p
	switch proto {
	case ip6.ProtoUDP:
		// The UDP length is elided and rebuilt from the datagram, so it
		// must describe exactly the rest of the packet (RFC 6282 §4.3.3).
		u := ip6.UDP(c.pkt[p:])
		return u.IsValid() && int(u.Length()) == rest
	case ip6.ProtoIPv6:
		return c.nIPv6 < maxIPv6Nest && validIPv6(c.pkt[p:]) == nil
	case ip6.ProtoHopByHop, ip6.ProtoRouting, ip6.ProtoDestOpts, ip6.ProtoMobility, ip6.ProtoFragment:
		if c.nExt >= maxExtHeaders {
			return false
		}
		n, ok := c.extHeaderLen(p, proto)
		if !ok {
			return false
		}
		// RFC 6282 §4.2: at most 255 octets after the Length octet, counted
		// after padding elision.
		body := n - 2
		if !c.KeepPadding && (proto == ip6.ProtoHopByHop || proto == ip6.ProtoDestOpts) {
			body = trailingPadStart(c.pkt[p+2 : p+n])
		}
		if body > 0xff {
			return false
		}
		if proto == ip6.ProtoFragment && c.pkt[p+1] != 0 {
			return false // a non-zero Reserved octet would be lost
		}
		return true
	}
	return false
}

// chain compresses the header proto at pkt[p:] and those after it while
// they are compressible, and returns where the payload starts.
func (c *compressor) chain(p int, proto uint8) (int, error) {
	for {
		c.nNHC++
		if proto == ip6.ProtoUDP {
			return c.udp(p)
		}
		eid, _ := protoEID(proto)
		if eid == eidIPv6 {
			if err := c.room(1); err != nil {
				return 0, err
			}
			c.out[c.o] = nhcExt | eidIPv6<<nhcExtEIDShift
			c.o++
			// RFC 6282 §3.2.2: the inner header's elided IIDs are those of
			// the encapsulating header's addresses.
			c.src, c.dst = iidLinkAddr(c.lastSrcIID[:]), iidLinkAddr(c.lastDstIID[:])
			return c.iphc(p)
		}
		c.nExt++
		n, _ := c.extHeaderLen(p, proto)
		h := c.pkt[p : p+n]
		next := h[0]
		more := c.compressible(p+n, next)
		if proto == ip6.ProtoFragment && binary.BigEndian.Uint16(h[2:])&0xfff8 != 0 {
			more = false // a non-first fragment: what follows is not a header
		}
		body := h[2:n]
		if !c.KeepPadding && (proto == ip6.ProtoHopByHop || proto == ip6.ProtoDestOpts) {
			body = h[2 : 2+trailingPadStart(h[2:n])]
		}
		need := 2 + len(body)
		if !more {
			need++
		}
		if err := c.room(need); err != nil {
			return 0, err
		}
		o := c.out[c.o:]
		o[0] = nhcExt | uint8(eid)<<nhcExtEIDShift
		i := 1
		if more {
			o[0] |= nhcExtNH
		} else {
			o[1] = next
			i++
		}
		o[i] = uint8(len(body))
		i++
		i += copy(o[i:], body)
		c.o += i
		p += n
		if !more {
			return p, nil
		}
		proto = next
	}
}

// trailingPadStart returns the length of the options area opts without a
// single trailing Pad1 or PadN, when eliding it is allowed (RFC 6282 §4.2:
// one trailing pad option of at most 7 octets; the header is a multiple of
// 8). Malformed options are left alone.
func trailingPadStart(opts []byte) int {
	i, last := 0, -1
	for i < len(opts) {
		last = i
		if opts[i] == 0 { // Pad1
			i++
			continue
		}
		if i+2 > len(opts) {
			return len(opts)
		}
		i += 2 + int(opts[i+1])
	}
	if i != len(opts) || last < 0 {
		return len(opts)
	}
	switch {
	case opts[last] == 0:
		return last
	case opts[last] == 1 && len(opts)-last <= 7 && allZero(opts[last+2:]):
		// The decompressor restores zeros (RFC 8200 §4.2: PadN's data is
		// zero octets); a PadN carrying anything else is sent as it is.
		return last
	}
	return len(opts)
}

// udp compresses the UDP header at pkt[p:] (RFC 6282 §4.3), choosing the
// shortest port form.
func (c *compressor) udp(p int) (int, error) {
	u := ip6.UDP(c.pkt[p : p+ip6.UDPHeaderLen])
	sport, dport := u.SourcePort(), u.DestinationPort()
	if err := c.room(1 + 4 + 2); err != nil {
		return 0, err
	}
	o := c.out[c.o:]
	o[0] = nhcUDP
	i := 1
	switch {
	case sport&0xfff0 == udpPort4Prefix && dport&0xfff0 == udpPort4Prefix:
		o[0] |= 3
		o[1] = uint8(sport&0x0f)<<4 | uint8(dport&0x0f)
		i = 2
	case dport&0xff00 == udpPort8Prefix:
		o[0] |= 1
		binary.BigEndian.PutUint16(o[1:], sport)
		o[3] = uint8(dport)
		i = 4
	case sport&0xff00 == udpPort8Prefix:
		o[0] |= 2
		o[1] = uint8(sport)
		binary.BigEndian.PutUint16(o[2:], dport)
		i = 4
	default:
		binary.BigEndian.PutUint16(o[1:], sport)
		binary.BigEndian.PutUint16(o[3:], dport)
		i = 5
	}
	if c.ElideUDPChecksum {
		o[0] |= nhcUDPChecksum
	} else {
		binary.BigEndian.PutUint16(o[i:], u.Checksum())
		i += 2
	}
	c.o += i
	return p + ip6.UDPHeaderLen, nil
}
