package rpl

import (
	"bytes"
	"fmt"
	"net/netip"
)

// RoutingTypeSRH is the Routing Type of the RPL Source Routing Header
// (RFC 6554 §3).
const RoutingTypeSRH = 3

const (
	srhHdr       = 8 // Next Header, Hdr Ext Len, Routing Type, Segments Left, CmprI/CmprE/Pad/Reserved
	maxCmpr      = 15
	maxSRHLen    = srhHdr + 255*8
	srhCmprOff   = 4
	srhPadOff    = 5
	srhSegsOff   = 3
	srhAddrStart = srhHdr
)

// SRH is a RPL Source Routing Header (RFC 6554 §3), whole:
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |  Hdr Ext Len  | Routing Type  | Segments Left |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| CmprI | CmprE |  Pad  |               Reserved                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                        Addresses[1..n]                        .
//
// Addresses[1..n-1] each lose their first CmprI octets and Addresses[n]
// its first CmprE octets; the elided octets are those of the IPv6
// Destination Address of the packet carrying the header. Pad octets follow
// to the 8-octet boundary. Validate before using the accessors.
type SRH []byte

// Validate checks the framing: the routing type, the length against
// CmprI, CmprE and Pad (the §3 formula for n must divide evenly and give
// at least one address), and Segments Left <= n (§4.2 answers a larger one
// with an ICMPv6 Parameter Problem; the error wraps ErrRoute).
func (h SRH) Validate() error {
	if len(h) < srhHdr {
		return fmt.Errorf("rpl: SRH of %d octets: %w", len(h), ErrTruncated)
	}
	if h[2] != RoutingTypeSRH {
		return fmt.Errorf("rpl: routing type %d: %w", h[2], ErrNotRPL)
	}
	n := h.Len()
	if n > len(h) {
		return fmt.Errorf("rpl: RFC 8200 §4.4: SRH says %d octets, has %d: %w", n, len(h), ErrTruncated)
	}
	body := n - srhHdr - h.Pad() - (16 - h.CmprE())
	if body < 0 || body%(16-h.CmprI()) != 0 {
		return fmt.Errorf("rpl: RFC 6554 §3: %d octets do not hold whole addresses for CmprI %d, CmprE %d, Pad %d: %w",
			n, h.CmprI(), h.CmprE(), h.Pad(), ErrMalformed)
	}
	if h.SegmentsLeft() > h.NumAddresses() {
		return fmt.Errorf("rpl: RFC 6554 §4.2: Segments Left %d above %d addresses: %w", h.SegmentsLeft(), h.NumAddresses(), ErrRoute)
	}
	return nil
}

// Len returns the header's length in octets from Hdr Ext Len.
func (h SRH) Len() int { return (int(h[1]) + 1) * 8 }

// NextHeader returns the protocol after the header.
func (h SRH) NextHeader() uint8 { return h[0] }

// SegmentsLeft returns the number of addresses still to visit.
func (h SRH) SegmentsLeft() int { return int(h[srhSegsOff]) }

// SetSegmentsLeft sets Segments Left.
func (h SRH) SetSegmentsLeft(n uint8) { h[srhSegsOff] = n }

// CmprI returns the octets elided from Addresses[1..n-1].
func (h SRH) CmprI() int { return int(h[srhCmprOff] >> 4) }

// CmprE returns the octets elided from Addresses[n].
func (h SRH) CmprE() int { return int(h[srhCmprOff] & 0xf) }

// Pad returns the number of padding octets after the addresses.
func (h SRH) Pad() int { return int(h[srhPadOff] >> 4) }

// NumAddresses returns n (RFC 6554 §3):
// n = (((Hdr Ext Len * 8) - Pad - (16 - CmprE)) / (16 - CmprI)) + 1.
func (h SRH) NumAddresses() int {
	return (int(h[1])*8-h.Pad()-(16-h.CmprE()))/(16-h.CmprI()) + 1
}

// Address returns Addresses[i+1] (i counts from 0) expanded with the
// elided octets of dst, the IPv6 Destination Address.
func (h SRH) Address(i int, dst netip.Addr) netip.Addr {
	a := dst.As16()
	n := h.NumAddresses()
	ci, ce := h.CmprI(), h.CmprE()
	off := srhAddrStart + i*(16-ci)
	if i == n-1 {
		copy(a[ce:], h[off:off+16-ce])
	} else {
		copy(a[ci:], h[off:off+16-ci])
	}
	return netip.AddrFrom16(a)
}

// AppendAddresses appends Addresses[1..n], expanded with dst's octets.
func (h SRH) AppendAddresses(out []netip.Addr, dst netip.Addr) []netip.Addr {
	for i := range h.NumAddresses() {
		out = append(out, h.Address(i, dst))
	}
	return out
}

// CheckRoute applies the RFC 6554 rules on the addresses of a route to
// the header and the packet's destination dst: no multicast address, in
// the header or as the destination (§4.2: such a packet is discarded), and
// no address twice (§4.1: a source route must not visit a node more than
// once; §4.2 treats a router's addresses appearing apart in the route as
// a loop).
//
// Addresses[1..n-1] share their elided octets with dst, so they are
// compared in their compressed form without expanding them: with one
// octet each (CmprI 15, up to 2,033 addresses) through a 256-entry table,
// otherwise pairwise, at most about 230,000 comparisons of 3 octets for
// the longest header (680 addresses of 3 octets; BenchmarkSRHCheckRouteWorst).
func (h SRH) CheckRoute(dst netip.Addr) error {
	if isMulticast(dst) {
		return errRouteMulticast
	}
	n, ci := h.NumAddresses(), h.CmprI()
	d := dst.As16()
	last := h.Address(n-1, dst).As16()
	if last[0] == 0xff {
		return errRouteMulticast
	}
	if last == d {
		return errRouteTwice
	}
	w := 16 - ci
	lastShares := bytes.Equal(d[:ci], last[:ci])
	var seen [256]bool
	for i := range n - 1 {
		off := srhAddrStart + i*w
		s := h[off : off+w]
		switch {
		case ci == 0 && s[0] == 0xff:
			return errRouteMulticast
		case bytes.Equal(s, d[ci:]), lastShares && bytes.Equal(s, last[ci:]):
			return errRouteTwice
		}
		if w == 1 {
			if seen[s[0]] {
				return errRouteTwice
			}
			seen[s[0]] = true
			continue
		}
		for j := i + 1; j < n-1; j++ {
			o := srhAddrStart + j*w
			if bytes.Equal(s, h[o:o+w]) {
				return errRouteTwice
			}
		}
	}
	return nil
}

// isMulticast reports whether a is in ff00::/8 (RFC 4291 §2.7). Not
// netip's IsMulticast, which takes an IPv4-mapped address for the IPv4
// address inside it: ::ffff:224.0.0.1 is an IPv6 unicast address here.
func isMulticast(a netip.Addr) bool { return a.As16()[0] == 0xff }

// commonOctets is the number of leading octets a and b share, at most 15
// (CmprI and CmprE are 4 bits; RFC 6554 §3 elides at most 15 octets).
func commonOctets(a, b *[16]byte) int {
	n := 0
	for n < maxCmpr && a[n] == b[n] {
		n++
	}
	return n
}

// SRHPlan is what AppendSRH chose for a route.
type SRHPlan struct {
	CmprI, CmprE, Pad int
	Len               int // whole header, octets
}

// PlanSRH chooses CmprI and CmprE for a route from dst (the IPv6
// Destination Address the packet will carry: the first hop) through hops
// (Addresses[1..n], the last being the final destination), and the Pad
// and length that follow.
//
// RFC 6554 §3 elides the octets an address shares with the IPv6
// Destination Address, but that address changes at every hop (§4.2: each
// router swaps it with the next address), and the swapped-out destination
// is written back compressed with the same CmprI or CmprE. So CmprI is the
// prefix that dst and Addresses[1..n-1] all share, and CmprE the prefix
// Addresses[n] shares with every one of them: then any hop, and any
// decoder that expands with the current destination, gets the same
// addresses, and §4.2's loop check (every address expanded with the
// current destination) sees the true route. wsbrd computes CmprE against
// dst only (SiliconLabs/wisun-br-linux 6lbr/rpl/rpl_srh.c, rpl_srh_push),
// which differs from ours only when the last address shares more octets
// with dst than the middle ones do, and has a switch forcing CmprI =
// CmprE because "Silicon Labs embedded stack" mishandles the other case.
func PlanSRH(dst netip.Addr, hops []netip.Addr) (SRHPlan, error) {
	if len(hops) == 0 || !dst.Is6() {
		return SRHPlan{}, errEncodeNoHops
	}
	d := dst.As16()
	ci, ce := maxCmpr, maxCmpr
	last := hops[len(hops)-1].As16()
	ce = min(ce, commonOctets(&last, &d))
	for _, h := range hops[:len(hops)-1] {
		if !h.Is6() {
			return SRHPlan{}, errEncodeAddr
		}
		a := h.As16()
		ci = min(ci, commonOctets(&a, &d))
		ce = min(ce, commonOctets(&last, &a))
	}
	if !hops[len(hops)-1].Is6() {
		return SRHPlan{}, errEncodeAddr
	}
	if len(hops) == 1 {
		ci = ce // no Addresses[1..n-1]: CmprI is unused
	}
	n := len(hops)
	body := (n-1)*(16-ci) + (16 - ce)
	pad := (8 - body%8) % 8
	total := srhHdr + body + pad
	if total > maxSRHLen {
		return SRHPlan{}, errEncodeTooLong
	}
	return SRHPlan{CmprI: ci, CmprE: ce, Pad: pad, Len: total}, nil
}

// AppendSRH appends a Source Routing Header for a packet to dst (the first
// hop) through hops (Addresses[1..n]) with Segments Left n. It refuses a
// route with a multicast address or an address twice (RFC 6554 §4.1).
func AppendSRH(b []byte, nextHeader uint8, dst netip.Addr, hops []netip.Addr) ([]byte, error) {
	p, err := PlanSRH(dst, hops)
	if err != nil {
		return b, err
	}
	if len(hops) > 255 {
		return b, errEncodeTooLong
	}
	start := len(b)
	b = append(b, nextHeader, byte(p.Len/8-1), RoutingTypeSRH, byte(len(hops)),
		byte(p.CmprI<<4|p.CmprE), byte(p.Pad<<4), 0, 0)
	for i, h := range hops {
		a := h.As16()
		if i == len(hops)-1 {
			b = append(b, a[p.CmprE:]...)
		} else {
			b = append(b, a[p.CmprI:]...)
		}
	}
	for range p.Pad {
		b = append(b, 0)
	}
	if err := SRH(b[start:]).CheckRoute(dst); err != nil {
		return b[:start], err
	}
	return b, nil
}

// Advance does a router's part of RFC 6554 §4.2 for a packet to dst, the
// router's own address, carrying h with Segments Left above 0: it
// decrements Segments Left, and swaps the next address with the
// destination, writing dst into the header compressed as the slot is. It
// returns the new IPv6 Destination Address. Segments Left 0 is for the
// caller to handle (the packet has arrived). The old destination must
// share the elided octets with the new one (true of any header PlanSRH
// planned), else ErrRoute; a multicast next address is ErrRoute too.
func (h SRH) Advance(dst netip.Addr) (netip.Addr, error) {
	n, sl := h.NumAddresses(), h.SegmentsLeft()
	if sl == 0 || sl > n {
		return dst, fmt.Errorf("rpl: RFC 6554 §4.2: Segments Left %d of %d addresses: %w", sl, n, ErrRoute)
	}
	i := n - sl // 0-based index of Addresses[n - Segments Left + 1]
	next := h.Address(i, dst)
	if isMulticast(next) || isMulticast(dst) {
		return dst, errRouteMulticast
	}
	c := h.CmprI()
	if i == n-1 {
		c = h.CmprE()
	}
	old, nw := dst.As16(), next.As16()
	if commonOctets(&old, &nw) < c {
		return dst, errRouteCompress
	}
	off := srhAddrStart + i*(16-h.CmprI())
	copy(h[off:off+16-c], old[c:])
	h.SetSegmentsLeft(uint8(sl - 1))
	return next, nil
}
