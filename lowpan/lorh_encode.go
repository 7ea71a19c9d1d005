package lowpan

import (
	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// lorh compresses pkt with RFC 8138 when what precedes its payload is what
// a RPL root sends into the mesh: an IPv6 header, then optionally a
// Hop-by-Hop header holding only the RPL Option (of the instance's type),
// optionally a RPL Source Routing Header with every segment left, and
// optionally an IPv6-in-IPv6 tunnel's inner packet. ok is false (and
// nothing is written) when there is nothing for 6LoRH or when the packet
// has a field 6LoRH cannot give back exactly; the caller then uses RFC 6282
// alone. It returns where the uncompressed payload starts in pkt.
func (c *compressor) lorh() (consumed int, ok bool, err error) {
	pkt := c.pkt
	h0 := ip6.Header(pkt[:ip6.HeaderLen])
	p, proto := ip6.HeaderLen, h0.NextHeader()

	var rpi []byte
	if proto == ip6.ProtoHopByHop {
		// RFC 8138 §6 carries the RPL Option's flags, instance and rank:
		// the header must hold it alone, with no sub-TLV, so that the
		// decompressor's 8 octets are these.
		if len(pkt)-p < hbhRPILen {
			return 0, false, nil
		}
		b := pkt[p : p+hbhRPILen]
		if b[1] != 0 || b[2] != c.rpl.rpiType || b[3] != 4 || b[4]&^rpiFlagsMask != 0 {
			return 0, false, nil
		}
		rpi = b
		proto = b[0]
		p += hbhRPILen
	}

	// The route, expanded: route[k+1] is RFC 6554's Addresses[k+1] and
	// route[0] the header's destination, so that route[nSegs] is where
	// the route ends.
	var route [maxLoRHHops + 1][16]byte
	segs := route[1:]
	nSegs := 0
	if proto == ip6.ProtoRouting {
		r := pkt[p:]
		if len(r) < srhFixed || r[2] != 3 {
			return 0, false, nil
		}
		n := (int(r[1]) + 1) * 8
		ci, ce, pad := int(r[4]>>4), int(r[4]&0x0f), int(r[5]>>4)
		body := n - srhFixed - pad - (16 - ce)
		if len(r) < n || body < 0 || body%(16-ci) != 0 {
			return 0, false, nil
		}
		nSegs = body/(16-ci) + 1
		// A route with segments already visited is not one the root
		// starts: 6LoRH lists only the hops still ahead.
		if int(r[3]) != nSegs || nSegs > maxLoRHHops {
			return 0, false, nil
		}
		dst := [16]byte(h0.DstBytes())
		o := srhFixed
		for k := 0; k < nSegs; k++ {
			cm := ci
			if k == nSegs-1 {
				cm = ce
			}
			segs[k] = dst
			o += copy(segs[k][cm:], r[o:o+16-cm])
		}
		proto = r[0]
		p += n
	}

	tunnel := proto == ip6.ProtoIPv6 && validIPv6(pkt[p:]) == nil
	if rpi == nil && nSegs == 0 && !tunnel {
		return 0, false, nil
	}

	// What the IPHC header will say and what the decompressor will derive
	// from it must give back this packet's outer header. route[0] is where
	// the packet goes now and route[nSegs] where its outer route ends.
	route[0] = [16]byte(h0.DstBytes())
	var hops [][16]byte // the SRH-6LoRH entries
	var iphcDst [16]byte
	if tunnel {
		inner := ip6.Header(pkt[p : p+ip6.HeaderLen])
		iphcDst = [16]byte(inner.DstBytes())
		// The outer Traffic Class is rebuilt as the inner one and the Flow
		// Label as zero (see lorh.go).
		if h0.FlowLabel() != 0 || h0.TrafficClass() != inner.TrafficClass() {
			return 0, false, nil
		}
		// RFC 8138 §5.2.2: inside a tunnel the entries run to where the
		// tunnel ends, the final destination or the 6LR of a RUL (RFC
		// 9008 Figure 2), which the IPHC destination does not say.
		hops = route[:nSegs+1]
		if nSegs == 0 && rpi != nil && rpi[4]&rpiFlagO == 0 {
			// Going up, §7 elides the outer destination when it is the
			// root; an SRH-6LoRH entry would route the packet strictly
			// (§5.6) to a node that is not its parent, so a tunnel up to
			// anything else stays RFC 6282.
			if te, ok := tunnelEnd(true, rpi[4], &c.rpl, &iphcDst); !ok || te != route[0] {
				return 0, false, nil
			}
			hops = nil
		}
		if nSegs == 0 && c.rpl.storing && route[0] == iphcDst && (rpi == nil || rpi[4]&rpiFlagO != 0) {
			// Going down in Storing mode the implicit outer destination
			// is the IPHC one (§7; RFC 8138 Figure 19). In Non-Storing
			// mode §7 gives none, so there it is carried.
			hops = nil
		}
	} else {
		// The packet's own route ends at its final destination, which the
		// IPHC header carries (§5.2.2): the entries stop before it.
		iphcDst = route[nSegs]
		hops = route[:nSegs]
		if nSegs > 0 && route[nSegs-1] == route[nSegs] {
			// The final destination twice in a row (RFC 6554 §4.1 forbids
			// an address twice): the decompressor would take the listed
			// one for the final destination and drop one.
			return 0, false, nil
		}
	}
	if len(hops) > maxLoRHHops {
		// More than the decompressor takes (see maxLoRHHops).
		return 0, false, nil
	}
	src := [16]byte(h0.SrcBytes())

	if err := c.room(1); err != nil {
		return 0, false, err
	}
	c.out[c.o] = DispatchPage1
	c.o++
	if err := c.writeSRHLoRH(&src, hops); err != nil {
		return 0, false, err
	}
	if rpi != nil {
		if err := c.writeRPILoRH(rpi); err != nil {
			return 0, false, err
		}
	}
	if tunnel {
		if err := c.writeIPinIPLoRH(h0.HopLimit(), &src); err != nil {
			return 0, false, err
		}
		// The inner header's IIDs are carried, not derived: nothing on the
		// link names the inner addresses (the decompressor derives an
		// elided one from the link layer, as OpenWSN does).
		c.src, c.dst = LinkAddr{}, LinkAddr{}
		c.nIPv6 = 1 // the outer header, as the decompressor counts it
		consumed, err = c.iphc(p)
		return consumed, err == nil, err
	}
	// The packet's own header as IPHC codes it under RFC 8138: its final
	// destination, and the protocol after the RPL headers.
	var synth [ip6.HeaderLen]byte
	hdr := ip6.Header(synth[:])
	copy(hdr, h0)
	hdr.SetNextHeader(proto)
	copy(hdr.DstBytes(), iphcDst[:])
	consumed, err = c.iphcHeader(hdr, p)
	return consumed, err == nil, err
}

// writeRPILoRH writes the RPI-6LoRH for the Hop-by-Hop header hbh (RFC
// 8138 §6.3): instance 0 elided (I, §6.1), a rank with a zero low octet in
// one octet (K, §6.2).
func (c *compressor) writeRPILoRH(hbh []byte) error {
	flags, inst, rank := hbh[4], hbh[5], uint16(hbh[6])<<8|uint16(hbh[7])
	tse := flags >> rpiFlagsLoRH & (lorhRPIO | lorhRPIR | lorhRPIF)
	n := lorhHeaderLen + 3
	if inst == 0 {
		tse |= lorhRPII
		n--
	}
	if rank&0xff == 0 {
		tse |= lorhRPIK
		n--
	}
	if err := c.room(n); err != nil {
		return err
	}
	o := c.out[c.o:]
	o[0], o[1] = lorhCritical|tse, lorhTypeRPI
	i := lorhHeaderLen
	if inst != 0 {
		o[i] = inst
		i++
	}
	o[i] = uint8(rank >> 8)
	i++
	if rank&0xff != 0 {
		o[i] = uint8(rank)
		i++
	}
	c.o += i
	return nil
}

// writeIPinIPLoRH writes the IP-in-IP 6LoRH (RFC 8138 §7): the hop limit
// and the encapsulator compressed against the root, elided when it is the
// root; carried whole when the root is not known.
func (c *compressor) writeIPinIPLoRH(hlim uint8, encap *[16]byte) error {
	size := 16
	if c.rpl.hasRoot {
		size = lorhSizeFor(encap, &c.rpl.root, true)
	}
	if err := c.room(lorhHeaderLen + 1 + size); err != nil {
		return err
	}
	o := c.out[c.o:]
	o[0], o[1], o[2] = lorhElective|uint8(1+size), lorhTypeIPinIP, hlim
	copy(o[3:], encap[16-size:])
	c.o += lorhHeaderLen + 1 + size
	return nil
}

// lorhSizeFor returns the fewest octets, among the sizes RFC 8138 allows,
// that rebuild a from ref: 0 (only when elision is allowed), 1, 2, 4, 8 or
// 16.
func lorhSizeFor(a, ref *[16]byte, elide bool) int {
	common := 0
	for common < 16 && a[common] == ref[common] {
		common++
	}
	need := 16 - common
	if need == 0 && elide {
		return 0
	}
	for _, s := range lorhSizes {
		if s >= need {
			return s
		}
	}
	return 16
}

// writeSRHLoRH writes hops as SRH-6LoRHs (RFC 8138 §5): each address
// compressed against the one before it, the first against ref (the
// packet's source or the encapsulator, the root). Consecutive addresses
// share an SRH-6LoRH when that is shorter than a new 2-octet header: the
// grouping is chosen by dynamic programming over the 5 sizes.
func (c *compressor) writeSRHLoRH(ref *[16]byte, hops [][16]byte) error {
	if len(hops) == 0 {
		return nil
	}
	const types = lorhTypeSRHMax + 1
	const inf = 1 << 30
	// cost[t]: octets for the hops so far with the last in a group of
	// type t; from[k][t]: the type of hop k-1 when hop k has type t (the
	// group continues when they are equal).
	var cost, next [types]int
	var from [maxLoRHHops][types]int8
	prev := ref
	for k := range hops {
		need := lorhSizeFor(&hops[k], prev, false)
		prev = &hops[k]
		for t := 0; t < types; t++ {
			next[t] = inf
			if lorhSizes[t] < need {
				continue
			}
			if k == 0 {
				next[t] = lorhHeaderLen + lorhSizes[t]
				continue
			}
			for u := 0; u < types; u++ {
				c0 := cost[u]
				if c0 >= inf {
					continue
				}
				if u != t {
					c0 += lorhHeaderLen
				}
				if c0+lorhSizes[t] < next[t] {
					next[t], from[k][t] = c0+lorhSizes[t], int8(u)
				}
			}
		}
		cost = next
	}
	var typ [maxLoRHHops]int8
	last := len(hops) - 1
	best := 0
	for t := 1; t < types; t++ {
		if cost[t] < cost[best] {
			best = t
		}
	}
	typ[last] = int8(best)
	for k := last; k > 0; k-- {
		typ[k-1] = from[k][typ[k]]
	}
	if err := c.room(cost[best] + lorhHeaderLen*(len(hops)/srhMaxPerLoRH)); err != nil {
		return err
	}
	for k := 0; k < len(hops); {
		t := typ[k]
		n := 1
		for k+n < len(hops) && typ[k+n] == t && n < srhMaxPerLoRH {
			n++
		}
		size := lorhSizes[t]
		o := c.out[c.o:]
		o[0], o[1] = lorhCritical|uint8(n-1), uint8(t)
		i := lorhHeaderLen
		for j := k; j < k+n; j++ {
			i += copy(o[i:], hops[j][16-size:])
		}
		c.o += i
		k += n
	}
	return nil
}
