package lowpan

import (
	"encoding/binary"
	"fmt"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// lengthFixups records the fields that IPHC elides and that can be filled in
// only once the whole datagram is present: every IPv6 payload length, the
// UDP length and an elided UDP checksum (RFC 6282 §3.1.1, §4.3.3).
type lengthFixups struct {
	ipv6    [maxIPv6Nest]int // offsets of IPv6 headers in the output
	nIPv6   int
	udp     int // offset of the UDP header, -1 when none
	udpIPv6 int // offset of the IPv6 header that carries the UDP header
	udpSum  bool
	// uncompressed: the datagram came with the 0x41 dispatch; its carried
	// header must agree with the datagram's size (RFC 4944 §5.3).
	uncompressed bool
	// finalDst, when hasFinalDst, is the destination an elided UDP
	// checksum is computed with: the last address of a Source Routing
	// Header rebuilt from an SRH-6LoRH (RFC 8200 §8.1).
	finalDst    [16]byte
	hasFinalDst bool
}

// decompressor holds the state of one datagram's decompression. It lives on
// the caller's stack.
type decompressor struct {
	in       []byte
	i        int // read position in in
	out      []byte
	o        int // write position in out
	src, dst LinkAddr
	fx       lengthFixups
	nExt     int
	decodeParams
}

// decodeParams are the optional inputs of a decompression.
type decodeParams struct {
	contexts *ContextTable
	reg      Registrations // RFC 7668 §3.2.4 elision; nil on 802.15.4
	trace    *Encoding     // filled for Inspect
}

func (d *decompressor) need(n int) error {
	if len(d.in)-d.i < n {
		return ErrTruncated
	}
	return nil
}

func (d *decompressor) room(n int) error {
	if len(d.out)-d.o < n {
		return ErrBufferTooSmall
	}
	return nil
}

// Decompress expands one whole 6LoWPAN datagram — starting with an IPHC or
// uncompressed-IPv6 dispatch, no mesh, broadcast or fragment header — into
// dst, and returns the length of the IPv6 packet written. src and dst are
// the frame's link-layer source and destination, from which elided IIDs are
// derived. It does not allocate.
func Decompress(out, datagram []byte, srcLL, dstLL LinkAddr, contexts *ContextTable) (int, error) {
	hdrOut, hdrIn, fx, err := decompressHeaders(out, datagram, srcLL, dstLL, decodeParams{contexts: contexts})
	if err != nil {
		return 0, err
	}
	payload := datagram[hdrIn:]
	n := hdrOut + len(payload)
	if len(out) < n {
		return 0, fmt.Errorf("lowpan: decompress: %w", ErrBufferTooSmall)
	}
	copy(out[hdrOut:], payload)
	if err := fx.apply(out[:n]); err != nil {
		return 0, err
	}
	return n, nil
}

// decompressHeaders expands the headers of the datagram in b into out. It
// returns how many octets it wrote and read, and the fields to fill in once
// the datagram is complete (see lengthFixups.apply).
func decompressHeaders(out, b []byte, srcLL, dstLL LinkAddr, p decodeParams) (written, read int, fx lengthFixups, err error) {
	if len(b) == 0 {
		return 0, 0, fx, fmt.Errorf("lowpan: decompress: %w", ErrTruncated)
	}
	if b[0] == DispatchIPv6 {
		// RFC 4944 §5.1: an uncompressed IPv6 header follows; lengths are
		// carried, and checked once the datagram is whole.
		fx.udp = -1
		fx.uncompressed = true
		return 0, 1, fx, nil
	}
	d := decompressor{in: b, out: out, src: srcLL, dst: dstLL, decodeParams: p}
	d.fx.udp = -1
	switch {
	case b[0]&dispatchIPHCMask == DispatchIPHC:
		if err := d.iphc(); err != nil {
			return 0, 0, fx, fmt.Errorf("lowpan: decompress IPHC at octet %d: %w", d.i, err)
		}
	case b[0] == DispatchPage1:
		// RFC 8138: 6LoRHs, then IPHC. Decoded whatever the local
		// compression switch says: a receiver takes what the sender chose.
		d.i = 1
		if err := d.lorh(); err != nil {
			return 0, 0, fx, fmt.Errorf("lowpan: decompress page 1 (RFC 8138) at octet %d: %w", d.i, err)
		}
	case b[0] == DispatchPage0 && len(b) > 1 && b[1]&dispatchIPHCMask == DispatchIPHC:
		// RFC 8025 §3: an explicit switch to page 0, the default page.
		d.i = 1
		if err := d.iphc(); err != nil {
			return 0, 0, fx, fmt.Errorf("lowpan: decompress IPHC at octet %d: %w", d.i, err)
		}
	default:
		return 0, 0, fx, checkDatagramDispatch(b)
	}
	return d.o, d.i, d.fx, nil
}

// iphc expands one IPHC header and the NHC chain after it.
func (d *decompressor) iphc() error {
	if d.fx.nIPv6 == maxIPv6Nest {
		return fmt.Errorf("more than %d nested IPv6 headers: %w", maxIPv6Nest, ErrReserved)
	}
	if err := d.need(iphcBaseLen); err != nil {
		return err
	}
	b0, b1 := d.in[d.i], d.in[d.i+1]
	if d.trace != nil && d.trace.Dispatch == "" {
		d.trace.setIPHC(b0, b1)
		if b1&iphcCID != 0 && len(d.in) > d.i+2 {
			d.trace.SCI, d.trace.DCI = d.in[d.i+2]>>4, d.in[d.i+2]&0x0f
		}
	}
	d.i += iphcBaseLen
	if err := d.room(ip6.HeaderLen); err != nil {
		return err
	}
	h := ip6.Header(d.out[d.o : d.o+ip6.HeaderLen])
	d.fx.ipv6[d.fx.nIPv6] = d.o
	d.fx.nIPv6++
	d.o += ip6.HeaderLen

	var sci, dci uint8
	if b1&iphcCID != 0 {
		if err := d.need(1); err != nil {
			return err
		}
		sci, dci = d.in[d.i]>>4, d.in[d.i]&0x0f
		d.i++
	}

	// Traffic class and flow label. Inline, the traffic class is ECN then
	// DSCP: the reverse of the IPv6 header's DSCP|ECN (RFC 6282 §3.1.1).
	var tc uint8
	var flow uint32
	in := d.in[d.i:]
	switch (b0 & iphcTFMask) >> iphcTFShift {
	case tfInline:
		if len(in) < 4 {
			return ErrTruncated
		}
		tc = in[0]<<2 | in[0]>>6
		flow = uint32(in[1]&0x0f)<<16 | uint32(in[2])<<8 | uint32(in[3])
		d.i += 4
	case tfNoDSCP:
		if len(in) < 3 {
			return ErrTruncated
		}
		tc = in[0] >> 6
		flow = uint32(in[0]&0x0f)<<16 | uint32(in[1])<<8 | uint32(in[2])
		d.i += 3
	case tfNoFlow:
		if len(in) < 1 {
			return ErrTruncated
		}
		tc = in[0]<<2 | in[0]>>6
		d.i++
	}
	h.SetVersionTrafficClassFlowLabel(tc, flow)
	h.SetPayloadLength(0) // fixed up when the datagram is whole

	nhCompressed := b0&iphcNH != 0
	if !nhCompressed {
		if err := d.need(1); err != nil {
			return err
		}
		h.SetNextHeader(d.in[d.i])
		d.i++
	}
	if hl := b0 & iphcHLIMMask; hl != hlimInline {
		h.SetHopLimit(hopLimitFor[hl])
	} else {
		if err := d.need(1); err != nil {
			return err
		}
		h.SetHopLimit(d.in[d.i])
		d.i++
	}

	var addr [16]byte
	if err := d.unicastAddr(&addr, b1&iphcSAC != 0, (b1&iphcSAMMask)>>iphcSAMShift, sci, d.src, true); err != nil {
		return fmt.Errorf("source address: %w", err)
	}
	copy(h.SrcBytes(), addr[:])
	dac, dam := b1&iphcDAC != 0, b1&iphcDAMMask
	if b1&iphcM != 0 {
		err := d.multicastAddr(&addr, dac, dam, dci)
		if err != nil {
			return fmt.Errorf("destination address: %w", err)
		}
	} else {
		if err := d.unicastAddr(&addr, dac, dam, dci, d.dst, false); err != nil {
			return fmt.Errorf("destination address: %w", err)
		}
	}
	copy(h.DstBytes(), addr[:])

	if nhCompressed {
		return d.nhcChain(d.o - ip6.HeaderLen + ip6.NextHeaderOffset)
	}
	return nil
}

// unicastAddr reads a unicast address in the SAC/SAM (or DAC/DAM) form
// (RFC 6282 §3.1.1).
func (d *decompressor) unicastAddr(addr *[16]byte, stateful bool, mode, cid uint8, ll LinkAddr, isSource bool) error {
	*addr = [16]byte{}
	var prefix contextEntry
	if stateful {
		if mode == samInline {
			if isSource {
				return nil // SAC=1 SAM=00: the unspecified address ::
			}
			return fmt.Errorf("DAC=1 DAM=00 with M=0: %w", ErrReserved)
		}
		var ok bool
		if prefix, ok = d.contexts.lookup(cid); !ok {
			return fmt.Errorf("context %d: %w", cid, ErrUnknownContext)
		}
	} else if mode != samInline {
		addr[0], addr[1] = 0xfe, 0x80 // fe80::/64, the link-local prefix
	}
	in := d.in[d.i:]
	switch mode {
	case samInline:
		if len(in) < 16 {
			return ErrTruncated
		}
		copy(addr[:], in[:16])
		d.i += 16
	case sam64:
		if len(in) < 8 {
			return ErrTruncated
		}
		copy(addr[8:], in[:8])
		d.i += 8
	case sam16:
		if len(in) < 2 {
			return ErrTruncated
		}
		addr[11], addr[12] = 0xff, 0xfe
		if stateful && d.reg != nil {
			if r, ok := d.reg.LatestRegistered(ll, prefix.asPrefix()); ok {
				// RFC 7668 §3.2.4: the first 48 bits of the IID are those of
				// the latest registered address.
				r16 := r.As16()
				copy(addr[8:14], r16[8:14])
			}
		}
		addr[14], addr[15] = in[0], in[1]
		d.i += 2
	case samElided:
		if stateful && d.reg != nil {
			if r, ok := d.reg.LatestRegistered(ll, prefix.asPrefix()); ok {
				// RFC 7668 §3.2.4: the address the node registered last.
				*addr = r.As16()
				break
			}
		}
		iid, ok := ll.IID()
		if !ok {
			return fmt.Errorf("elided IID needs a link-layer address, frame has none: %w", ErrBadLength)
		}
		copy(addr[8:], iid[:])
	}
	if stateful {
		overlay(addr, &prefix.prefix, prefix.bits)
	}
	return nil
}

// multicastAddr reads a multicast destination (RFC 6282 §3.1.1, M=1).
func (d *decompressor) multicastAddr(addr *[16]byte, stateful bool, mode, cid uint8) error {
	*addr = [16]byte{}
	addr[0] = 0xff
	in := d.in[d.i:]
	if stateful {
		if mode != damMcastFull {
			return fmt.Errorf("M=1 DAC=1 DAM=%02b: %w", mode, ErrReserved)
		}
		// RFC 3306 unicast-prefix-based: ffXX:XXLL:PPPP:PPPP:PPPP:PPPP:XXXX:XXXX
		// with flags/scope, RIID and group ID (48 bits) inline.
		c, ok := d.contexts.lookup(cid)
		if !ok {
			return fmt.Errorf("context %d: %w", cid, ErrUnknownContext)
		}
		if c.bits > 64 {
			return fmt.Errorf("context %d is /%d, longer than the 64 bits RFC 3306 carries: %w", cid, c.bits, ErrReserved)
		}
		if len(in) < 6 {
			return ErrTruncated
		}
		addr[1], addr[2] = in[0], in[1]
		addr[3] = uint8(c.bits)
		copy(addr[4:12], c.prefix[:8])
		copy(addr[12:16], in[2:6])
		d.i += 6
		return nil
	}
	switch mode {
	case damMcastFull:
		if len(in) < 16 {
			return ErrTruncated
		}
		copy(addr[:], in[:16])
		d.i += 16
	case damMcast48: // ffXX::00XX:XXXX:XXXX
		if len(in) < 6 {
			return ErrTruncated
		}
		addr[1] = in[0]
		copy(addr[11:16], in[1:6])
		d.i += 6
	case damMcast32: // ffXX::00XX:XXXX
		if len(in) < 4 {
			return ErrTruncated
		}
		addr[1] = in[0]
		copy(addr[13:16], in[1:4])
		d.i += 4
	case damMcast8: // ff02::00XX
		if len(in) < 1 {
			return ErrTruncated
		}
		addr[1] = 0x02
		addr[15] = in[0]
		d.i++
	}
	return nil
}

// nhcChain expands the LOWPAN_NHC headers that follow a header whose Next
// Header field (at out[nextField]) was elided.
func (d *decompressor) nhcChain(nextField int) error {
	for {
		if err := d.need(1); err != nil {
			return fmt.Errorf("NHC: %w", err)
		}
		id := d.in[d.i]
		if d.trace != nil && d.trace.NumNHC < len(d.trace.NHC) {
			d.trace.NHC[d.trace.NumNHC] = id
			d.trace.NumNHC++
		}
		switch {
		case id&nhcUDPMask == nhcUDP:
			d.out[nextField] = ip6.ProtoUDP
			return d.udp()
		case id&nhcExtMask == nhcExt:
			eid := int(id&nhcExtEIDMask) >> nhcExtEIDShift
			proto := eidProto[eid]
			if proto < 0 {
				return fmt.Errorf("NHC extension header EID %d: %w", eid, ErrReserved)
			}
			d.out[nextField] = uint8(proto)
			d.i++
			if eid == eidIPv6 {
				// RFC 6282 §4.2: an IPHC-encoded inner header follows, with its
				// own NH bit saying whether more NHC comes; the NH bit of this
				// NHC octet is unused and must be zero.
				if id&nhcExtNH != 0 {
					return fmt.Errorf("NHC IPv6 (EID 7) with NH=1: %w", ErrReserved)
				}
				// §3.2.2: the inner header's elided IIDs come from the
				// encapsulating IPv6 header's addresses.
				outer := ip6.Header(d.out[d.fx.ipv6[d.fx.nIPv6-1]:])
				d.src, d.dst = iidLinkAddr(outer.SrcBytes()[8:]), iidLinkAddr(outer.DstBytes()[8:])
				return d.iphc()
			}
			next, more, err := d.extHeader(eid, id&nhcExtNH != 0)
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
			nextField = next
		default:
			return fmt.Errorf("NHC identifier 0x%02x: %w", id, ErrReserved)
		}
	}
}

// extHeader expands one NHC-encoded IPv6 extension header (RFC 6282 §4.2);
// the NHC octet has been read. It returns the offset of the header's own
// Next Header field and whether an NHC follows.
func (d *decompressor) extHeader(eid int, nhElided bool) (int, bool, error) {
	if d.nExt == maxExtHeaders {
		return 0, false, fmt.Errorf("more than %d extension headers: %w", maxExtHeaders, ErrReserved)
	}
	d.nExt++
	var next uint8
	if !nhElided {
		if err := d.need(1); err != nil {
			return 0, false, err
		}
		next = d.in[d.i]
		d.i++
	}
	if err := d.need(1); err != nil {
		return 0, false, err
	}
	// The Length octet counts the octets after it (RFC 6282 §4.2), not the
	// 8-octet units of the IPv6 header's Hdr Ext Len.
	length := int(d.in[d.i])
	d.i++
	if err := d.need(length); err != nil {
		return 0, false, err
	}
	body := d.in[d.i : d.i+length]
	d.i += length

	total := 2 + length
	pad := 0
	switch eid {
	case eidFragment:
		if length != fragmentHeaderBody {
			return 0, false, fmt.Errorf("fragment header NHC length %d, want %d: %w", length, fragmentHeaderBody, ErrBadLength)
		}
	case eidHopByHop, eidDestOpts:
		// The compressor may elide trailing Pad1/PadN; restore the 8-octet
		// multiple the IPv6 header needs (RFC 6282 §4.2).
		pad = (8 - total%8) % 8
	default:
		if total%8 != 0 {
			return 0, false, fmt.Errorf("extension header EID %d of %d octets is not a multiple of 8: %w", eid, total, ErrBadLength)
		}
	}
	if err := d.room(total + pad); err != nil {
		return 0, false, err
	}
	h := d.out[d.o : d.o+total+pad]
	field := d.o
	h[0] = next
	if eid == eidFragment {
		h[1] = 0 // Reserved (RFC 8200 §4.5); the NHC Length octet is not copied here
	} else {
		h[1] = uint8((total+pad)/8 - 1)
	}
	copy(h[2:], body)
	switch {
	case pad == 1:
		h[total] = 0 // Pad1
	case pad > 1:
		h[total] = 1 // PadN
		h[total+1] = uint8(pad - 2)
		clear(h[total+2:])
	}
	d.o += total + pad
	return field, nhElided, nil
}

// udp expands an NHC-encoded UDP header (RFC 6282 §4.3).
func (d *decompressor) udp() error {
	id := d.in[d.i]
	d.i++
	if err := d.room(ip6.UDPHeaderLen); err != nil {
		return err
	}
	u := ip6.UDP(d.out[d.o : d.o+ip6.UDPHeaderLen])
	in := d.in[d.i:]
	var sport, dport uint16
	switch id & nhcUDPPortsMask {
	case 0:
		if len(in) < 4 {
			return ErrTruncated
		}
		sport, dport = binary.BigEndian.Uint16(in), binary.BigEndian.Uint16(in[2:])
		d.i += 4
	case 1:
		if len(in) < 3 {
			return ErrTruncated
		}
		sport, dport = binary.BigEndian.Uint16(in), udpPort8Prefix|uint16(in[2])
		d.i += 3
	case 2:
		if len(in) < 3 {
			return ErrTruncated
		}
		sport, dport = udpPort8Prefix|uint16(in[0]), binary.BigEndian.Uint16(in[1:])
		d.i += 3
	case 3:
		if len(in) < 1 {
			return ErrTruncated
		}
		sport, dport = udpPort4Prefix|uint16(in[0]>>4), udpPort4Prefix|uint16(in[0]&0x0f)
		d.i++
	}
	u.SetSourcePort(sport)
	u.SetDestinationPort(dport)
	u.SetLength(0) // fixed up when the datagram is whole
	if id&nhcUDPChecksum != 0 {
		u.SetChecksum(0) // recomputed when the datagram is whole
		d.fx.udpSum = true
	} else {
		if err := d.need(2); err != nil {
			return err
		}
		u.SetChecksum(binary.BigEndian.Uint16(d.in[d.i:]))
		d.i += 2
	}
	d.fx.udp = d.o
	d.fx.udpIPv6 = d.fx.ipv6[d.fx.nIPv6-1]
	d.o += ip6.UDPHeaderLen
	return nil
}

// apply fills in the elided lengths and checksum of the complete datagram
// pkt: RFC 6282 §3.1.1 (payload length from the lower layer), §4.3.3 (UDP
// length; a checksum elided by agreement is recomputed).
func (fx *lengthFixups) apply(pkt []byte) error {
	if fx.uncompressed {
		if err := validIPv6(pkt); err != nil {
			return fmt.Errorf("lowpan: uncompressed IPv6 datagram: %w", err)
		}
		return nil
	}
	for k := 0; k < fx.nIPv6; k++ {
		h := ip6.Header(pkt[fx.ipv6[k]:])
		plen := len(h) - ip6.HeaderLen
		if plen < 0 || plen > 0xffff {
			return fmt.Errorf("lowpan: IPv6 payload length %d: %w", plen, ErrBadLength)
		}
		h.SetPayloadLength(uint16(plen))
	}
	if fx.udp < 0 {
		return nil
	}
	ulen := len(pkt) - fx.udp
	if ulen < ip6.UDPHeaderLen || ulen > 0xffff {
		return fmt.Errorf("lowpan: UDP length %d: %w", ulen, ErrBadLength)
	}
	u := ip6.UDP(pkt[fx.udp:])
	u.SetLength(uint16(ulen))
	if fx.udpSum {
		ip := ip6.Header(pkt[fx.udpIPv6:])
		dst := ip.DstBytes()
		if fx.hasFinalDst && fx.udpIPv6 == 0 {
			dst = fx.finalDst[:]
		}
		u.SetChecksum(u.CalculateChecksum(ip.SrcBytes(), dst))
	}
	return nil
}
