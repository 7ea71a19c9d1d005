package lowpan

import (
	"encoding/binary"
	"fmt"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// RFC 8138 (6LoWPAN Routing Header, "6LoRH") in the paging dispatch space
// of RFC 8025. After a page 1 switch the 6LoRHs come one after the other
// and an IPHC header follows them:
//
//	11110001 | 6LoRH | 6LoRH | ... | LOWPAN_IPHC | NHC ... | payload
//
// Each 6LoRH starts with two octets (RFC 8138 §4; 10xxxxxx, §3.1):
//
//	Elective (§4.1):  |1|0|1| Length  |  6LoRH Type   | Length octets
//	Critical (§4.2):  |1|0|0|   TSE   |  6LoRH Type   | ...
//
// A node that does not know an elective type skips it; an unknown critical
// type makes the packet undecodable. The types this package knows:
//
//	0..4  SRH-6LoRH (critical, §5.1): TSE+1 addresses of 2^type octets
//	      each (1, 2, 4, 8, 16), each coalesced (§4.3.1) with a
//	      compression reference (§5.4): the first with the packet's source
//	      (the IPHC source without a tunnel, else the encapsulator, which
//	      is the root when elided), each next with the one before it
//	      uncompressed. The entries are the hops still ahead, the first
//	      being where the packet goes now (§5.2.2; §7: the outer
//	      destination of a tunnel is this first entry).
//	5     RPI-6LoRH (critical, §6.3): TSE is |O|R|F|I|K|; I=1 elides a
//	      RPLInstanceID of 0 (§6.1), K=1 carries only the high octet of
//	      the SenderRank (§6.2), the low one being zero.
//	6     IP-in-IP 6LoRH (elective, §7): Length 1..17, the outer Hop Limit,
//	      then the encapsulator's address compressed against the root to
//	      Length-1 octets (Length 1: elided, it is the root). The outer
//	      Traffic Class is rebuilt as the inner one and the Flow Label as 0.
//	      The IPHC header that follows is the inner one; IIDs it elides
//	      come from the link-layer addresses (the encoder never elides
//	      them).
//
// The final destination is always the IPHC header's (§3.2.1, §5.2.2).
// Where the SRH-6LoRH entries end depends on the tunnel (§5.2.2): without
// one, the last entry is the last router before the final destination
// (its RPL parent or 6LR) or the final destination itself, and the route
// the packet's own RFC 6554 header gives ends at the IPHC destination;
// inside one, the last entry is where the tunnel ends (the final
// destination, or the 6LR of a RUL, RFC 9008 Figure 2), the router that
// removes the whole chain. A tunnel with no SRH-6LoRH ends at the implicit
// destination of §7 (see tunnelEnd).
//
// Order on the air (§3.2.2): SRH-6LoRH(s), then RPI-6LoRH, then the
// IP-in-IP 6LoRH last, then IPHC (RFC 8138 Figures 19 and 20, RFC 9008
// Figure 2; OpenWSN writes the same: openwsn-fw 03a-IPHC/iphc.c
// iphc_sendFromForwarding prepends IP-in-IP, RPI and RH3 in that order,
// openvisualizer openlbr.py reassemble_lowpan appends RH3, RPI, IP-in-IP).
// A 6LoRH after the IP-in-IP 6LoRH belongs to the inner header's chain
// (§3.2.2); this decoder does not rebuild inner chains and refuses a
// critical one there rather than misplace it (the pre-RFC order of an old
// openwsn-sw root, IP-in-IP first, is therefore refused). The SRH and RPI
// 6LoRHs before it are taken in either order.
const (
	DispatchPage0    = 0xf0 // RFC 8025 §3: switch to page 0 (the RFC 4944/6282 dispatches)
	DispatchPage1    = 0xf1 // RFC 8025 §3, RFC 8138 §4: page 1, where the 6LoRHs live
	dispatchPageMask = 0xf0

	lorhMask       = 0xe0
	lorhCritical   = 0x80 // 100xxxxx
	lorhElective   = 0xa0 // 101xxxxx
	lorhKindMask   = 0xc0 // 10xxxxxx: a 6LoRH of either kind
	lorhLenMask    = 0x1f
	lorhHeaderLen  = 2
	lorhTypeSRHMax = 4 // types 0..4: SRH-6LoRH with 2^type-octet addresses
	lorhTypeRPI    = 5
	lorhTypeIPinIP = 6

	// RPI-6LoRH TSE bits (RFC 8138 §6.3).
	lorhRPIO = 0x10
	lorhRPIR = 0x08
	lorhRPIF = 0x04
	lorhRPII = 0x02
	lorhRPIK = 0x01

	// RFC 6553 §6 RPI flag octet: O, R, F in the top three bits.
	rpiFlagsMask = 0xe0
	rpiFlagO     = 0x80
	rpiFlagsLoRH = 3 // RFC 6553 flags >> 3 = 6LoRH O/R/F bits

	ipinipMaxLen  = 17 // hop limit + a 16-octet encapsulator
	srhMaxPerLoRH = 32 // TSE is 5 bits: 1..32 addresses per SRH-6LoRH

	// Bounds on what one datagram may carry, whatever the input: 6LoRHs in
	// a row and SRH-6LoRH addresses in all of them. 64 hops is far beyond
	// any RPL route a root computes (and beyond one 802.15.4 frame at one
	// octet each with the headers around them).
	maxLoRH     = 16
	maxLoRHHops = 64

	hbhRPILen = 8 // Hop-by-Hop header holding only a 6-octet RPL Option
	srhFixed  = 8 // RFC 6554 §3: the SRH before its addresses
)

// lorhSizes are the SRH-6LoRH address sizes by type (RFC 8138 §5.1).
var lorhSizes = [lorhTypeSRHMax + 1]int{1, 2, 4, 8, 16}

// lorhHop is one SRH-6LoRH address as carried: where it is in the input
// and how many octets it has.
type lorhHop struct {
	off  uint16
	size uint8
}

// lorhHeaders is what the 6LoRHs of one datagram said.
type lorhHeaders struct {
	n int // 6LoRHs read

	hasRPI     bool
	rpiFlags   uint8 // RFC 6553 §6 layout: O, R, F in the top bits
	rpiInst    uint8
	rpiRank    uint16
	hasTunnel  bool
	tunnelHLim uint8
	encap      []byte // the encapsulator as carried (0 to 16 octets)
	nHops      int
	hops       [maxLoRHHops]lorhHop
}

// parseLoRH reads the 6LoRHs at in[i:] (after a page 1 dispatch) into h
// and returns where the IPHC header starts. It checks framing only.
func parseLoRH(in []byte, i int, h *lorhHeaders) (int, error) {
	for i < len(in) && in[i]&lorhKindMask == lorhCritical {
		if h.n == maxLoRH {
			return i, fmt.Errorf("6LoRH: more than %d headers: %w", maxLoRH, ErrReserved)
		}
		h.n++
		if len(in)-i < lorhHeaderLen {
			return i, fmt.Errorf("6LoRH: %w", ErrTruncated)
		}
		b0, typ := in[i], in[i+1]
		if b0&lorhMask == lorhElective {
			// RFC 8138 §4.1: Length counts the octets after the 2-octet
			// header, so an unknown elective 6LoRH can be skipped.
			n := int(b0 & lorhLenMask)
			if len(in)-i < lorhHeaderLen+n {
				return i, fmt.Errorf("6LoRH elective type %d: %w", typ, ErrTruncated)
			}
			body := in[i+lorhHeaderLen : i+lorhHeaderLen+n]
			if typ == lorhTypeIPinIP {
				if h.hasTunnel {
					return i, fmt.Errorf("6LoRH: two IP-in-IP 6LoRHs: %w", ErrReserved)
				}
				// RFC 8138 §7: the hop limit, then the encapsulator
				// compressed to 0, 1, 2, 4, 8 or 16 octets.
				switch n {
				case 1, 2, 3, 5, 9, ipinipMaxLen:
				default:
					return i, fmt.Errorf("IP-in-IP 6LoRH Length %d (RFC 8138 §7: 1, 2, 3, 5, 9 or 17): %w", n, ErrBadLength)
				}
				h.hasTunnel = true
				h.tunnelHLim = body[0]
				h.encap = body[1:]
			}
			i += lorhHeaderLen + n
			continue
		}
		if h.hasTunnel {
			// RFC 8138 §3.2.2: the 6LoRHs after the IP-in-IP 6LoRH go
			// after the inner IPv6 header, which is not rebuilt here.
			return i, fmt.Errorf("critical 6LoRH type %d after the IP-in-IP 6LoRH (RFC 8138 §3.2.2: it belongs to the inner header): %w", typ, ErrUnsupported)
		}
		tse := int(b0 & lorhLenMask)
		switch {
		case typ <= lorhTypeSRHMax:
			// RFC 8138 §5.1: Size (TSE) is the number of addresses minus one.
			size, count := lorhSizes[typ], tse+1
			if h.nHops+count > maxLoRHHops {
				return i, fmt.Errorf("SRH-6LoRH: more than %d addresses: %w", maxLoRHHops, ErrReserved)
			}
			if len(in)-i < lorhHeaderLen+count*size {
				return i, fmt.Errorf("SRH-6LoRH of %d %d-octet addresses: %w", count, size, ErrTruncated)
			}
			o := i + lorhHeaderLen
			for k := 0; k < count; k++ {
				h.hops[h.nHops] = lorhHop{off: uint16(o), size: uint8(size)}
				h.nHops++
				o += size
			}
			i = o
		case typ == lorhTypeRPI:
			if h.hasRPI {
				return i, fmt.Errorf("6LoRH: two RPI-6LoRHs: %w", ErrReserved)
			}
			n := 2
			if tse&lorhRPII == 0 {
				n++
			}
			if tse&lorhRPIK != 0 {
				n--
			}
			if len(in)-i < lorhHeaderLen+n {
				return i, fmt.Errorf("RPI-6LoRH: %w", ErrTruncated)
			}
			h.hasRPI = true
			h.rpiFlags = uint8(tse&(lorhRPIO|lorhRPIR|lorhRPIF)) << rpiFlagsLoRH
			o := i + lorhHeaderLen
			h.rpiInst = 0 // RFC 8138 §6.1: I=1 elides the global instance 0
			if tse&lorhRPII == 0 {
				h.rpiInst = in[o]
				o++
			}
			if tse&lorhRPIK != 0 {
				// RFC 8138 §6.2: only the high octet; the low one is zero
				// (MinHopRankIncrease a multiple of 256).
				h.rpiRank = uint16(in[o]) << 8
				o++
			} else {
				h.rpiRank = binary.BigEndian.Uint16(in[o:])
				o += 2
			}
			i = o
		default:
			// RFC 8138 §4.2: a critical 6LoRH that is not understood makes
			// the node drop the packet.
			return i, fmt.Errorf("critical 6LoRH type %d: %w", typ, ErrUnsupported)
		}
	}
	return i, nil
}

// expandLoRHAddr rebuilds a compressed address: the reference with its
// last len(carried) octets replaced (RFC 8138 §4.3).
func expandLoRHAddr(dst *[16]byte, ref *[16]byte, carried []byte) {
	*dst = *ref
	copy(dst[16-len(carried):], carried)
}

// lorh expands a page 1 datagram at d.in[d.i:] (the dispatch octet read):
// the 6LoRHs, then the IPHC header and its NHC chain, into the IPv6 headers
// they stand for, in RFC 8200 order: [outer IPv6] [Hop-by-Hop with the RPL
// Option] [RPL Source Routing Header] then the IPHC-coded header and what
// follows it.
func (d *decompressor) lorh() error {
	var h lorhHeaders
	var err error
	if d.i, err = parseLoRH(d.in, d.i, &h); err != nil {
		return err
	}
	if d.trace != nil {
		d.trace.LoRH = h.n
	}
	if d.i >= len(d.in) {
		return fmt.Errorf("page 1: no IPHC after the 6LoRHs: %w", ErrTruncated)
	}
	if d.in[d.i]&dispatchIPHCMask != DispatchIPHC {
		return fmt.Errorf("page 1 dispatch 0x%02x after the 6LoRHs (RFC 8138 §4: an IPHC header must follow): %w", d.in[d.i], ErrReserved)
	}
	if !h.hasRPI && !h.hasTunnel && h.nHops == 0 {
		// A page switch and nothing for RPL (Contiki-NG's
		// SICSLOWPAN_COMPRESSION_6LORH sends exactly this).
		return d.iphc()
	}

	ref := d.contexts.rplRef()
	var encap [16]byte
	if h.hasTunnel {
		if len(h.encap) < 16 && !ref.hasRoot {
			return fmt.Errorf("IP-in-IP 6LoRH encapsulator of %d octets needs the RPL root's address: %w", len(h.encap), ErrUnknownContext)
		}
		// RFC 8138 §7: compressed against the root; elided when it is
		// the root.
		expandLoRHAddr(&encap, &ref.root, h.encap)
	}

	// The IPHC chain is decoded first, at the front of the output, and
	// moved up once the size of what goes before it is known (it depends
	// on the addresses the chain holds), so that no more room is needed
	// than the packet rebuilt. Reserving the most the RPL headers could
	// take (16 octets a hop) asked for more than that, and a reassembler
	// decompresses a FRAG1 into datagram_size octets (RFC 4944 §5.3): a
	// ping tunnelled down 5 hops (168 octets, its route 1 octet a hop in
	// the SRH-6LoRH) needed 184 and was dropped (issue 14).
	if d.o != 0 {
		return fmt.Errorf("page 1 6LoRHs after %d decoded octets: %w", d.o, ErrReserved)
	}
	if h.hasTunnel {
		// The outer header is the datagram's first IPv6 header; the
		// inner one, decoded now, counts as the second. The outer offset
		// is set once the chain has moved (see relocate).
		d.fx.ipv6[0] = -1
		d.fx.nIPv6 = 1
	}
	if err := d.iphc(); err != nil {
		return err
	}
	iphcHdr := ip6.Header(d.out[:ip6.HeaderLen])
	final := [16]byte(iphcHdr.DstBytes())

	// The SRH-6LoRH addresses (RFC 8138 §5.4): the first against the
	// source of the packet, the encapsulator inside a tunnel (the root
	// when elided) and otherwise the IPHC source; each next against the
	// one before it once expanded.
	var hops [maxLoRHHops + 1][16]byte // + the final destination
	prev := encap
	if !h.hasTunnel {
		prev = [16]byte(iphcHdr.SrcBytes())
	}
	for k := 0; k < h.nHops; k++ {
		hp := h.hops[k]
		expandLoRHAddr(&hops[k], &prev, d.in[hp.off:int(hp.off)+int(hp.size)])
		prev = hops[k]
	}
	// RFC 6554 form: the carrier's destination is the first hop and the
	// Addresses the other hops. In a tunnel they end where the tunnel
	// does, at the last entry (RFC 8138 §5.2.2: that router removes the
	// whole chain; RFC 9008 Figure 2). Without one the packet's own
	// route ends at its final destination, the IPHC one (§5.2.2), added
	// after the last entry unless the sender listed it.
	var segs [][16]byte
	if h.nHops > 0 {
		segs = hops[1:h.nHops]
		if !h.hasTunnel && hops[h.nHops-1] != final {
			hops[h.nHops] = final
			segs = hops[1 : h.nHops+1]
		}
	}
	var srh srhPlan
	if len(segs) > 0 {
		srh = planSRH(&hops[0], segs)
	}
	ext := srh.length
	if h.hasRPI {
		ext += hbhRPILen
	}

	end := d.o
	if h.hasTunnel {
		// [outer][ext][inner IPv6 + its chain]
		at := ip6.HeaderLen + ext
		if err := d.room(at); err != nil { // d.o is end
			return err
		}
		copy(d.out[at:], d.out[:end])
		d.relocate(0, end, at)
		d.fx.ipv6[0] = 0
		d.o = at + end
		outer := ip6.Header(d.out[:ip6.HeaderLen])
		inner := ip6.Header(d.out[at : at+ip6.HeaderLen])
		// The outer Traffic Class is the inner one (RFC 6040 §4.1 normal
		// mode copies the ECN field; rpl.AppendTunnel copies the whole
		// class) and the Flow Label zero (RFC 9008 §8.2.2 zeroes it for
		// RFC 8138).
		outer.SetVersionTrafficClassFlowLabel(inner.TrafficClass(), 0)
		outer.SetPayloadLength(0)
		outer.SetHopLimit(h.tunnelHLim)
		copy(outer.SrcBytes(), encap[:])
		if h.nHops > 0 {
			copy(outer.DstBytes(), hops[0][:])
		} else {
			td, ok := tunnelEnd(h.hasRPI, h.rpiFlags, &ref, &final)
			if !ok {
				return fmt.Errorf("IP-in-IP 6LoRH going up ends at the RPL root (RFC 8138 §7), not known: %w", ErrUnknownContext)
			}
			copy(outer.DstBytes(), td[:])
		}
		d.writeRPLExt(outer, &h, &srh, segs, ip6.ProtoIPv6)
		return nil
	}
	// The IPHC header is the packet's own: [it][ext][what its NHC chain
	// produced].
	at := ip6.HeaderLen + ext
	if err := d.room(ext); err != nil { // d.o is end
		return err
	}
	copy(d.out[at:], d.out[ip6.HeaderLen:end])
	d.relocate(ip6.HeaderLen, end, ext)
	d.o = end + ext
	hdr := ip6.Header(d.out[:ip6.HeaderLen])
	if h.nHops > 0 {
		copy(hdr.DstBytes(), hops[0][:])
		// RFC 8200 §8.1: an upper-layer checksum is over the final
		// destination, not the hop the header now names.
		d.fx.finalDst, d.fx.hasFinalDst = final, true
	}
	d.writeRPLExt(hdr, &h, &srh, segs, hdr.NextHeader())
	return nil
}

// tunnelEnd is the outer destination of an IP-in-IP 6LoRH that no
// SRH-6LoRH follows, the implicit value of RFC 8138 §7: going up (an RPI
// without the O flag, RFC 6550 §11.2) the root, ok false when it is not
// known; going down, in Storing mode, the IPHC (inner) destination. In
// Non-Storing mode §7 gives no implicit value going down, so a sender
// there carries the outer destination as an SRH-6LoRH entry (this
// package's encoder does unless RPLReference.Storing); a packet without
// it is read with the Storing-mode rule, as is one without an RPI.
func tunnelEnd(hasRPI bool, rpiFlags uint8, ref *rplReference, inner *[16]byte) ([16]byte, bool) {
	if hasRPI && rpiFlags&rpiFlagO == 0 {
		return ref.root, ref.hasRoot
	}
	return *inner, true
}

// relocate moves the recorded offsets of headers that were decoded at
// [from, to) by delta.
func (d *decompressor) relocate(from, to, delta int) {
	move := func(off int) int {
		if off >= from && off < to {
			return off + delta
		}
		return off
	}
	for k := 0; k < d.fx.nIPv6; k++ {
		d.fx.ipv6[k] = move(d.fx.ipv6[k])
	}
	if d.fx.udp >= 0 {
		d.fx.udp = move(d.fx.udp)
		d.fx.udpIPv6 = move(d.fx.udpIPv6)
	}
}

// writeRPLExt writes after carrier (an IPv6 header at the start of
// d.out) the Hop-by-Hop RPI and the SRH the 6LoRHs stand for, chains
// them, and gives the last one the Next Header last.
func (d *decompressor) writeRPLExt(carrier ip6.Header, h *lorhHeaders, srh *srhPlan, segs [][16]byte, last uint8) {
	at := ip6.HeaderLen
	afterHbH := last
	if len(segs) > 0 {
		afterHbH = ip6.ProtoRouting
	}
	if h.hasRPI {
		carrier.SetNextHeader(ip6.ProtoHopByHop)
		// RFC 6553 §6 inside RFC 8200 §4.3: one 8-octet header holding
		// only the RPL Option, of the type active in the instance
		// (RFC 9008 §4.3).
		b := d.out[at : at+hbhRPILen]
		b[0], b[1] = afterHbH, 0
		b[2], b[3] = d.contexts.rplRef().rpiType, 4
		b[4], b[5] = h.rpiFlags, h.rpiInst
		binary.BigEndian.PutUint16(b[6:], h.rpiRank)
		at += hbhRPILen
	} else {
		carrier.SetNextHeader(afterHbH)
	}
	if len(segs) > 0 {
		writeSRH(d.out[at:at+srh.length], srh, segs, last)
	}
}

// srhPlan is the RFC 6554 §3 compression of a route.
type srhPlan struct {
	cmprI, cmprE, pad, length int
}

// commonOctets counts the leading octets a and b share, at most 15 (the
// 4-bit CmprI/CmprE of RFC 6554 §3).
func commonOctets(a, b *[16]byte) int {
	n := 0
	for n < 15 && a[n] == b[n] {
		n++
	}
	return n
}

// planSRH picks CmprI and CmprE for the route segs carried with IPv6
// destination dst: as many octets as all of Addresses[1..n-1] share with
// dst, and for Addresses[n] as many as it shares with dst and with each
// other address (the rule of rpl.PlanSRH, so that a route coded by the
// root and rebuilt here have the same octets).
func planSRH(dst *[16]byte, segs [][16]byte) srhPlan {
	ci, ce := 15, 15
	last := &segs[len(segs)-1]
	ce = min(ce, commonOctets(last, dst))
	for k := range segs[:len(segs)-1] {
		ci = min(ci, commonOctets(&segs[k], dst))
		ce = min(ce, commonOctets(last, &segs[k]))
	}
	if len(segs) == 1 {
		ci = ce
	}
	body := (len(segs)-1)*(16-ci) + 16 - ce
	pad := (8 - body%8) % 8
	return srhPlan{cmprI: ci, cmprE: ce, pad: pad, length: srhFixed + body + pad}
}

// writeSRH writes an RFC 6554 Source Routing Header for segs with every
// segment left.
func writeSRH(b []byte, p *srhPlan, segs [][16]byte, next uint8) {
	b[0], b[1], b[2], b[3] = next, uint8(p.length/8-1), 3, uint8(len(segs))
	b[4], b[5], b[6], b[7] = uint8(p.cmprI<<4|p.cmprE), uint8(p.pad<<4), 0, 0
	o := srhFixed
	for k := range segs {
		c := p.cmprI
		if k == len(segs)-1 {
			c = p.cmprE
		}
		o += copy(b[o:], segs[k][c:])
	}
	clear(b[o:])
}
