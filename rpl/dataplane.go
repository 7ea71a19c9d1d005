package rpl

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// RPL data plane: the packet transforms of RFC 9008 (when a packet carries
// the RPL Option of RFC 6553, a Source Routing Header of RFC 6554, and an
// IPv6-in-IPv6 tunnel of RFC 2473), as pure functions over whole IPv6
// packets, shared by the border router's forwarder (the root) and the
// simulated RPL routers. They append into the caller's buffer or edit the
// packet in place, and allocate nothing.
//
// Which RFC 9008 case uses which function at the root (checked against the
// text of RFC 9008 §6, §7 (storing mode, Table 4) and §8 (non-storing mode,
// Table 19); "RAL" is a RPL-aware leaf or router, "RUL" a RPL-unaware leaf
// reached through its 6LR parent, RFC 9010):
//
//	case               | storing (MOP 2)                             | non-storing (MOP 1)
//	-------------------+---------------------------------------------+---------------------------------------------
//	root → RAL         | InsertHeaders{RPI} (§7.1.2, Table 6)        | InsertHeaders{RPI, Hops to the RAL} (§8.1.2,
//	                   |                                             | Table 21: RH3 and RPI, no tunnel)
//	root → RUL         | AppendTunnel to the RUL's 6LR, {RPI}        | InsertHeaders{RPI, Hops to the RUL} (§8.1.3:
//	                   | (§7.1.3, Table 7); or InsertHeaders{RPI,    | RH3 consumed at the last 6LR, left in place;
//	                   | Hops} with a loose RH3 (Table 8)            | the RUL ignores RPI and RH3 (RFC 8200 §4.4))
//	Internet → RAL     | AppendTunnel to the RAL itself, {RPI}       | AppendTunnel to the RAL, {RPI, Hops to the
//	                   | (§7.2.2, Table 12)                          | RAL} (§8.2.2, Table 26)
//	Internet → RUL     | AppendTunnel to the RUL's 6LR, {RPI}        | AppendTunnel to the RUL's 6LR, {RPI, Hops to
//	                   | (§7.2.4, Table 14)                          | that 6LR} (§8.2.4, Table 28)
//	RAL → Internet     | StripForExit (§7.2.1: RPI left in with      | StripForExit (§8.2.1, Tables 24/25: same as
//	(and RAL → root)   | SenderRank forced to 0, Table 10; or a      | storing)
//	                   | tunnel to the root removed, Table 11)       |
//	RUL → Internet     | StripForExit: the 6LR's tunnel to the       | StripForExit (§8.2.3, Table 27: same)
//	(and RUL → root)   | root is removed (§7.2.3, Table 13)          |
//	RAL → RAL          | forwarded as it is, UpdateRPI: O flag set,  | Decapsulate if tunnelled to the root, then
//	(via the root)     | SenderRank the root's (§7.3.1: the O flag   | AppendTunnel to the RAL, {RPI, Hops} (§8.3.1,
//	                   | flips at the common parent, Table 15)       | Tables 29/30; untunnelled, RPI1 rides inside)
//	RAL → RUL          | AppendTunnel to the RUL's 6LR, {RPI}; the   | AppendTunnel to the RUL's 6LR, {RPI, Hops}
//	                   | RAL's RPI1 stays inside (§7.3.2: no tunnel  | (§8.3.2)
//	                   | to the root, so the root may not remove it) |
//	RUL → RAL, RUL     | Decapsulate the 6LR's tunnel, then          | as storing, with Hops (§8.3.3, §8.3.4)
//	                   | AppendTunnel to the RAL or the RUL's 6LR,   |
//	                   | {RPI} (§7.3.3, §7.3.4)                      |
//
// StripForExit is for packets leaving the mesh only: between two mesh
// nodes the root removes nothing but a tunnel addressed to it.
//
// Hops is rpl.Root.Route's output in non-storing mode (first hop first,
// the final destination last). In storing mode Route returns only the
// link-local next hop, which is not an IPv6 destination: there Hops stays
// nil and AppendTunnel is given the tunnel's destination.
//
// Header insertion without a tunnel (InsertHeaders) is only for packets
// the root itself originates: RFC 9008 §6 forbids adding or removing an
// extension header in a packet being routed (only its source or its
// destination may), so a forwarded packet gets its RPI and RH3 in an
// outer header (AppendTunnel).
//
// RFC 9008 §6 requires the RPI in every RPL data packet. RIOT's default
// gnrc_rpl build drops every packet with a Hop-by-Hop header
// (rpl/testdata/riot/README.md, fact 9), so Headers.RPI may be nil; the
// forwarder makes that a configuration choice.
//
// What real stacks do with these packets, for the forwarder's choices:
//   - RIOT (c8bd52f): a default build drops any packet with a Hop-by-Hop
//     header, gnrc_ipv6_ext_opt builds skip 0x23 and drop 0x63
//     (rpl/testdata/riot/README.md); its SRH step, gnrc_rpl_srh_process,
//     gives the same bytes as NextSegment (testdata/dataplane_riot_srh);
//     next header 41 goes back to its IPv6 thread (gnrc_ipv6.c _demux,
//     the thread registers for every IPv6 packet), so it takes tunnels
//     (read in the source, not tried on the air).
//   - Contiki-NG (contiki-ng/contiki-ng os/net/ipv6/uip6.c uip_process, as
//     stored at 00018d4): after the extension headers only TCP, UDP and
//     ICMPv6 are handled, next header 41 gets an ICMPv6 Parameter Problem,
//     so a Contiki-NG node cannot end a tunnel (AppendTunnel); its own
//     RPL-Lite root inserts the SRH into forwarded packets instead
//     (rpl-ext-header.c rpl_ext_header_update, insert_srh_header), without
//     an RPI, and it knows the RPL Option as 0x63 only (uip.h
//     UIP_EXT_HDR_OPT_RPL). For Contiki-NG meshes the forwarder would need
//     InsertHeaders on forwarded packets, against RFC 9008 §6.
//   - Linux (net/ipv6/exthdrs.c ipv6_rpl_srh_rcv, rpl_seg_enabled=1; 6.18
//     tried, TestDataplaneLinux): forwards our SRH as NextSegment does
//     (re-encoding CmprI/CmprE against the new destination), but drops a
//     Hop-by-Hop header in front of the SRH and leaves Next Header 0:
//     RPI + SRH reach the next hop corrupted.
//
// Upward, RFC 9008 leaves an RPI of type 0x23 in a packet going to the
// Internet (§4.2: with the no-drop type nothing needs removing; the root
// forces SenderRank to 0, §6), while RFC 6553 §5 drops a 0x63 one at the
// domain's edge. StripForExit instead removes a Hop-by-Hop header that
// holds nothing but the RPI and padding, as Contiki-NG's roots do
// (os/net/routing/rpl-lite/rpl-ext-header.c and
// os/net/routing/rpl-classic/rpl-ext-header.c, rpl_ext_header_update: at
// the root, rpl_ext_header_remove drops any Hop-by-Hop header whose first
// option is the RPL Option, and every Routing header, before forwarding):
// an RFC 8200 host that processes Hop-by-Hop options drops 0x63
// (RFC 9008 §4.2), many Internet paths drop any Hop-by-Hop header, and
// nothing outside the RPL domain reads the option. A Hop-by-Hop header
// holding other options too is kept, with SenderRank zeroed (RFC 9008 §6).

// Sentinel errors of the data plane, besides ErrTruncated and ErrMalformed
// for packets that are not well-formed IPv6, ErrRoute for a Source Routing
// Header the RFC 6554 §4.2 rules reject, and ErrEncode for Headers that
// cannot be written.
var (
	// ErrSRHDone: the packet's Source Routing Header has Segments Left 0,
	// so this node is its final destination (RFC 6554 §4.2): deliver it
	// (or Decapsulate it).
	ErrSRHDone = errors.New("rpl: source route complete (Segments Left 0)")
	// ErrNoSRH: the packet has no Routing header.
	ErrNoSRH = errors.New("rpl: no routing header")
	// ErrHopLimit: the hop limit would reach 0 at the next hop; the
	// caller sends an ICMPv6 Time Exceeded (RFC 6554 §4.2, RFC 4443 §3.3).
	ErrHopLimit = errors.New("rpl: hop limit exceeded in transit")
	// ErrNotTunnel: the packet does not end its extension headers with an
	// IPv6 packet (next header 41), or is not at the tunnel's end.
	ErrNotTunnel = errors.New("rpl: not an IPv6-in-IPv6 packet at its tunnel end")
	// ErrECNDrop: RFC 6040 §4.2 makes the decapsulator drop a packet whose
	// outer header says CE and whose inner header says Not-ECT.
	ErrECNDrop = errors.New("rpl: RFC 6040 §4.2: CE outside a Not-ECT packet, dropped")
)

var (
	errNotIPv6       = fmt.Errorf("rpl: not an IPv6 packet: %w", ErrMalformed)
	errPayloadLength = fmt.Errorf("rpl: RFC 8200 §3: Payload Length beyond the packet: %w", ErrTruncated)
	errExtTruncated  = fmt.Errorf("rpl: RFC 8200 §4: extension header runs past the packet: %w", ErrTruncated)
	errHbHNotFirst   = fmt.Errorf("rpl: RFC 8200 §4.1: Hop-by-Hop header not right after the IPv6 header: %w", ErrMalformed)
	errHasHbH        = fmt.Errorf("rpl: RFC 8200 §4.1: the packet already has a Hop-by-Hop header, a second one cannot be added: %w", ErrEncode)
	errHasRouting    = fmt.Errorf("rpl: RFC 8200 §4.1: the packet already has a Routing header, a second one cannot be added: %w", ErrEncode)
	errTooBig        = fmt.Errorf("rpl: RFC 8200 §3: Payload Length above 65535 with the added headers: %w", ErrEncode)
	errFinalDst      = fmt.Errorf("rpl: RFC 6554 §4.1: the source route does not end at the packet's destination: %w", ErrEncode)
	errTunnelAddr    = fmt.Errorf("rpl: RFC 2473 §5: tunnel source and destination must be IPv6 addresses: %w", ErrEncode)
)

// TunnelHopLimit is the Hop Limit of the outer header AppendTunnel writes:
// RFC 2473 §6.3 sets a tunnel's hop limit independently of the inner one
// (the tunnel is one virtual hop for the inner packet), by default to the
// default IPv6 Hop Limit of a router, 64 (RFC 2473 §5, IANA's default).
// Any RPL path fits: RFC 6554 §3 caps a source route at 255 addresses but
// the meshes this root serves are far shallower, and a lower value would
// only make a looping tunnel packet die sooner.
const TunnelHopLimit = 64

// Headers says what the root adds to a packet going down.
type Headers struct {
	// RPI is the RPL Option to carry in a Hop-by-Hop header (RFC 6553 §6);
	// nil for none (see the package comment above about RIOT). Type 0
	// means OptionTypeRPI9008 (RFC 9008 §4.2: the no-drop type, which a
	// DODAG Configuration option with the D flag announces; set
	// OptionTypeRPI6553 for a DODAG without it). Flags should hold
	// RPIFlagO (going down, RFC 6550 §11.2) and SenderRank the root's rank.
	RPI *RPIFields
	// Hops is the source route (RFC 6554), first hop first and the final
	// destination last, as Root.Route returns it in non-storing mode.
	// With two or more addresses the IPv6 destination becomes Hops[0] and
	// a Source Routing Header carries Hops[1:] with Segments Left
	// len(Hops)-1 (RFC 6554 §4.1: the last address is the final
	// destination). With one address or none there is no SRH: a direct
	// child needs none (Contiki-NG inserts one anyway; RIOT routers never
	// see one, being storing-mode only).
	Hops []netip.Addr
}

// Len returns how many octets InsertHeaders adds for h (AppendTunnel adds
// ip6.HeaderLen more): 8 for the Hop-by-Hop RPI, and the SRH's length as
// PlanSRH chooses it. A forwarder checks it against the link MTU before
// writing (RFC 2473 §7: a tunnel packet larger than the path MTU is the
// entry point's problem). Errors are those of PlanSRH.
func (h *Headers) Len() (int, error) {
	n := 0
	if h.RPI != nil {
		n = hbhHdr + rpiLen
	}
	if h.srh() {
		p, err := PlanSRH(h.Hops[0], h.Hops[1:])
		if err != nil {
			return 0, err
		}
		n += p.Len
	}
	return n, nil
}

// srh reports whether h asks for a Source Routing Header.
func (h *Headers) srh() bool { return len(h.Hops) > 1 }

// rpi returns the RPL Option's fields with the default type filled in.
func (h *Headers) rpi() RPIFields {
	f := *h.RPI
	if f.Type == 0 {
		f.Type = OptionTypeRPI9008
	}
	return f
}

// appendExt appends the Hop-by-Hop RPI and/or the SRH of h, the last of
// them followed by next (RFC 8200 §4.1 order: Hop-by-Hop first, then
// Routing), and returns the Next Header value for what precedes them.
func (h *Headers) appendExt(b []byte, next uint8) ([]byte, uint8, error) {
	first := next
	if h.srh() {
		first = ip6.ProtoRouting
	}
	if h.RPI != nil {
		f := h.rpi()
		var err error
		// 2 + 6 octets: exactly one 8-octet unit, so the header needs no
		// PadN (RFC 8200 §4.2) and has none to be elided.
		if b, err = AppendHopByHopRPI(b, first, &f); err != nil {
			return b, 0, err
		}
		first = ip6.ProtoHopByHop
	}
	if h.srh() {
		var err error
		if b, err = AppendSRH(b, next, h.Hops[0], h.Hops[1:]); err != nil {
			return b, 0, err
		}
	}
	return b, first, nil
}

// packet returns pkt cut to its fixed header and Payload Length (a link
// may pad a frame) after checking it is IPv6.
func packet(pkt []byte) (ip6.Header, error) {
	h := ip6.Header(pkt)
	if !h.IsValid() {
		if len(pkt) < ip6.HeaderLen {
			return nil, fmt.Errorf("rpl: IPv6 packet of %d octets: %w", len(pkt), ErrTruncated)
		}
		return nil, errNotIPv6
	}
	n := ip6.HeaderLen + int(h.PayloadLength())
	if n > len(pkt) {
		return nil, errPayloadLength
	}
	return h[:n:n], nil
}

// extHeaders is where a packet's extension headers are, as offsets into
// the packet (0: absent).
type extHeaders struct {
	hbh     int   // the Hop-by-Hop Options header (RFC 8200 §4.3)
	hbhLen  int   // its length in octets
	routing int   // the first Routing header (RFC 8200 §4.4)
	last    int   // the header whose Next Header field says next (0: the fixed header)
	next    uint8 // the first header after the Hop-by-Hop, Destination Options and Routing headers
	off     int   // where that header starts
}

// walk finds the Hop-by-Hop, Destination Options and Routing headers at
// the start of p's chain and stops at the first other header (the upper
// layer, an IPv6 packet, a Fragment header). Each header is at least 8
// octets, so the walk ends within len(p)/8 steps.
func walk(p ip6.Header) (extHeaders, error) {
	e := extHeaders{next: p.NextHeader(), off: ip6.HeaderLen}
	for {
		switch e.next {
		case ip6.ProtoHopByHop, ip6.ProtoDestOpts, ip6.ProtoRouting:
		default:
			return e, nil
		}
		if e.off+2 > len(p) {
			return e, errExtTruncated
		}
		n := (int(p[e.off+1]) + 1) * 8
		if e.off+n > len(p) {
			return e, errExtTruncated
		}
		switch e.next {
		case ip6.ProtoHopByHop:
			if e.off != ip6.HeaderLen {
				return e, errHbHNotFirst
			}
			e.hbh, e.hbhLen = e.off, n
		case ip6.ProtoRouting:
			if e.routing == 0 {
				e.routing = e.off
			}
		}
		e.last = e.off
		e.next = p[e.off]
		e.off += n
	}
}

// InsertHeaders appends to b the packet pkt with the Hop-by-Hop RPI and/or
// the Source Routing Header of h placed right after its IPv6 header (after
// its own Hop-by-Hop header, if it has one and h has no RPI), and returns
// the extended slice. With an SRH the IPv6 destination becomes Hops[0] and
// the header carries the rest of the route; Hops' last address must be
// pkt's destination (RFC 6554 §4.1). Payload Length grows by the headers'
// length; nothing else changes, upper-layer checksums included: RFC 8200
// §8.1 computes them with the final destination, which is pkt's.
//
// RFC 9008 allows this only for packets the root originates (§6, §8.1.2,
// §8.1.3; see the table at the top of this file): a packet the root
// forwards goes in a tunnel (AppendTunnel). Contiki-NG nodes cannot end a
// tunnel, and Contiki-NG's own root inserts the SRH into forwarded packets
// (top of this file): for such meshes the forwarder may use InsertHeaders
// on forwarded packets too, knowingly. A packet that already has a Hop-by-Hop header
// cannot take an RPI, nor one with a Routing header an SRH (RFC 8200 §4.1:
// each at most once; ErrEncode). On error b is returned unchanged in
// length.
func InsertHeaders(b, pkt []byte, h Headers) ([]byte, error) {
	p, err := packet(pkt)
	if err != nil {
		return b, err
	}
	e, err := walk(p)
	if err != nil {
		return b, err
	}
	if e.hbh != 0 && h.RPI != nil {
		return b, errHasHbH
	}
	if e.routing != 0 && h.srh() {
		return b, errHasRouting
	}
	if h.srh() && h.Hops[len(h.Hops)-1] != p.Dst() {
		return b, errFinalDst
	}
	start := len(b)
	b = append(b, p[:ip6.HeaderLen]...)
	// Headers go after the packet's own Hop-by-Hop header: it must stay
	// first (RFC 8200 §4.1).
	rest := p[ip6.HeaderLen:]
	next := p.NextHeader()
	if e.hbh != 0 {
		next = p[e.hbh]
		b = append(b, p[e.hbh:e.hbh+e.hbhLen]...)
		rest = p[e.hbh+e.hbhLen:]
	}
	b, first, err := h.appendExt(b, next)
	if err != nil {
		return b[:start], err
	}
	out := ip6.Header(b[start:])
	if e.hbh != 0 {
		out[ip6.HeaderLen] = first // the Next Header of the packet's Hop-by-Hop header
	} else {
		out.SetNextHeader(first)
	}
	added := len(out) - ip6.HeaderLen - (len(p) - ip6.HeaderLen - len(rest))
	if int(p.PayloadLength())+added > 0xffff {
		return b[:start], errTooBig
	}
	out.SetPayloadLength(p.PayloadLength() + uint16(added))
	if h.srh() {
		out.SetDst(h.Hops[0])
	}
	return append(b, rest...), nil
}

// AppendTunnel appends to b an IPv6-in-IPv6 packet (RFC 2473 §3.1) from
// src to dst carrying inner, with the Hop-by-Hop RPI and/or Source Routing
// Header of h in the outer header chain (RFC 9008 §7.2.2, §7.2.4, §8.2.2,
// §8.2.4: the root encapsulates what it forwards into the mesh). dst is
// the tunnel's end: the target RAL, or the 6LR parent of a RUL. With an
// SRH, Hops' last address must be dst and the outer destination is
// Hops[0]. The outer header has
//   - Traffic Class copied from inner: RFC 9008 §1 makes RFC 6040 apply,
//     whose §4.1 normal mode copies the ECN field; the DSCP is copied too
//     (RFC 2473 §6.4 allows copying; a 6LR then sees the packet's class);
//   - Flow Label 0: RFC 9008 §8.2.2 and §8.2.4 zero it on entry to help
//     RFC 8138 compression (RFC 2473 §6.5's default too); the inner
//     packet's label is left as it is (RFC 6437 §2);
//   - Hop Limit TunnelHopLimit (RFC 2473 §6.3).
//
// The inner packet is copied whole; its own hop limit is the caller's
// (a router decrements it before encapsulating, RFC 2473 §3.1). On error
// b is returned unchanged in length.
func AppendTunnel(b, inner []byte, src, dst netip.Addr, h Headers) ([]byte, error) {
	in, err := packet(inner)
	if err != nil {
		return b, err
	}
	if !src.Is6() || !dst.Is6() || src.Is4In6() || dst.Is4In6() {
		return b, errTunnelAddr
	}
	if h.srh() && h.Hops[len(h.Hops)-1] != dst {
		return b, errFinalDst
	}
	start := len(b)
	b = append(b, make([]byte, ip6.HeaderLen)...)
	b, first, err := h.appendExt(b, ip6.ProtoIPv6)
	if err != nil {
		return b[:start], err
	}
	plen := len(b) - start - ip6.HeaderLen + len(in)
	if plen > 0xffff {
		return b[:start], errTooBig
	}
	outerDst := dst
	if h.srh() {
		outerDst = h.Hops[0]
	}
	ip6.Header(b[start:]).Encode(&ip6.Fields{
		TrafficClass:  in.TrafficClass(),
		PayloadLength: uint16(plen),
		NextHeader:    first,
		HopLimit:      TunnelHopLimit,
		Src:           src,
		Dst:           outerDst,
	})
	return append(b, in...), nil
}

// ECN codepoints (RFC 3168 §5), the low two bits of the Traffic Class.
const (
	ecnMask   = 0x03
	ecnNotECT = 0x00
	ecnECT1   = 0x01
	ecnCE     = 0x03
)

// decapECN applies RFC 6040 §4.2 (Figure 4) to the inner header at tunnel
// egress: CE and ECT(1) in the outer header are carried into an
// ECN-capable inner one; CE over Not-ECT is a drop.
func decapECN(outer, inner ip6.Header) error {
	o, i := outer.TrafficClass()&ecnMask, inner.TrafficClass()&ecnMask
	switch {
	case i == ecnNotECT && o == ecnCE:
		return ErrECNDrop
	case i == ecnNotECT || i == ecnCE:
		return nil
	case o == ecnCE || o == ecnECT1:
		inner.SetVersionTrafficClassFlowLabel(inner.TrafficClass()&^ecnMask|o, inner.FlowLabel())
	}
	return nil
}

// tunnelInner returns the inner packet of p given its walk, checking that
// it is a whole IPv6 packet and applying the RFC 6040 egress rule.
func tunnelInner(p ip6.Header, e extHeaders) ([]byte, error) {
	if e.next != ip6.ProtoIPv6 {
		return nil, ErrNotTunnel
	}
	if e.routing != 0 && SRH(p[e.routing:]).SegmentsLeft() != 0 {
		// RFC 8200 §4.4: the packet is not yet at its destination.
		return nil, ErrNotTunnel
	}
	in, err := packet(p[e.off:])
	if err != nil {
		return nil, fmt.Errorf("rpl: inner packet: %w", err)
	}
	if err := decapECN(p, in); err != nil {
		return nil, err
	}
	return in, nil
}

// Decapsulate returns the inner packet of pkt, an IPv6-in-IPv6 packet at
// its tunnel's end (RFC 2473 §3.3): its Hop-by-Hop, Destination Options
// and Routing headers (with Segments Left 0) are passed over and the next
// header must be 41. The inner packet is a slice of pkt, cut to its own
// Payload Length, with the ECN of the outer header folded in (RFC 6040
// §4.2, which RFC 9008 §1 requires). RFC 6553 §5 has the router read the
// RPL Option before decapsulating: use UpdateRPI or RPIOf first. Errors:
// ErrNotTunnel, ErrECNDrop, ErrTruncated, ErrMalformed.
func Decapsulate(pkt []byte) ([]byte, error) {
	p, err := packet(pkt)
	if err != nil {
		return nil, err
	}
	e, err := walk(p)
	if err != nil {
		return nil, err
	}
	return tunnelInner(p, e)
}

// RPIOf returns the RPL Option of pkt's Hop-by-Hop header as a view into
// pkt (nil when there is none).
func RPIOf(pkt []byte) (RPLOption, error) {
	p, err := packet(pkt)
	if err != nil {
		return nil, err
	}
	if p.NextHeader() != ip6.ProtoHopByHop {
		return nil, nil
	}
	return FindRPLOption(p[ip6.HeaderLen:])
}

// rpiFields copies an option's values.
func rpiFields(o RPLOption) RPIFields {
	return RPIFields{Type: o.Type(), Flags: o.Flags(), Instance: o.Instance(), SenderRank: o.SenderRank()}
}

// onlyRPI reports whether a Hop-by-Hop header holds nothing but one RPL
// Option and Pad1/PadN options (RFC 8200 §4.2).
func onlyRPI(hbh []byte) bool {
	opts := hbh[hbhHdr:]
	rpl := 0
	for len(opts) > 0 {
		if opts[0] == ip6Pad1 {
			opts = opts[1:]
			continue
		}
		if len(opts) < optHdr || optHdr+int(opts[1]) > len(opts) {
			return false
		}
		switch opts[0] {
		case ip6PadN:
		case OptionTypeRPI6553, OptionTypeRPI9008:
			rpl++
		default:
			return false
		}
		opts = opts[optHdr+int(opts[1]):]
	}
	return rpl == 1
}

// StripForExit returns the packet a root hands to the rest of the network
// (the LAN, the Internet, its own stack) for pkt, a packet from the mesh:
//   - an IPv6-in-IPv6 packet addressed to one of the root's addresses
//     (isLocal) gives its inner packet (RFC 9008 §7.1.4, §7.2.1 Table 11,
//     §7.2.3, §8.2.3: the root removes the tunnel and the RPI in it;
//     RFC 6553 §5 rule 1), as Decapsulate does;
//   - otherwise a Hop-by-Hop header holding only the RPL Option and
//     padding is removed (see the comment at the top of this file
//     for why, against RFC 9008 §4.2/§6, like Contiki-NG's root), and in
//     a Hop-by-Hop header that holds more, SenderRank is set to 0
//     (RFC 9008 §6, §7.2.1 Table 10).
//
// isLocal nil means no address is the root's. A tunnel to the root whose
// Routing header still has segments left is ErrNotTunnel (the root does
// not forward source-routed packets it did not route).
//
// The work is in place: out is a slice of pkt's array, shorter, and may
// start later than pkt (the fixed header moves up over a removed
// Hop-by-Hop header, 40 octets copied instead of the payload). rpi is the
// outermost RPL Option as received (hadRPI reports one), for the caller's
// loop checks (RFC 6550 §11.2.2.2): every sender has a higher rank than
// the root, so an O flag set is an inconsistency; with R clear the packet
// may go on, with R already set it is dropped and the Trickle timer reset.
// F set says a router below could not forward it down (§11.2.2.3).
func StripForExit(pkt []byte, isLocal func(netip.Addr) bool) (out []byte, rpi RPIFields, hadRPI bool, err error) {
	p, err := packet(pkt)
	if err != nil {
		return nil, rpi, false, err
	}
	e, err := walk(p)
	if err != nil {
		return nil, rpi, false, err
	}
	if e.hbh != 0 {
		o, err := FindRPLOption(p[e.hbh : e.hbh+e.hbhLen])
		if err != nil {
			return nil, rpi, false, err
		}
		if o != nil {
			rpi, hadRPI = rpiFields(o), true
		}
	}
	if e.next == ip6.ProtoIPv6 && isLocal != nil && isLocal(p.Dst()) {
		in, err := tunnelInner(p, e)
		return in, rpi, hadRPI, err
	}
	if !hadRPI {
		return p, rpi, false, nil
	}
	if !onlyRPI(p[e.hbh : e.hbh+e.hbhLen]) {
		o, _ := FindRPLOption(p[e.hbh : e.hbh+e.hbhLen])
		o.SetSenderRank(0)
		return p, rpi, true, nil
	}
	// Remove the Hop-by-Hop header: its Next Header goes into the fixed
	// header, which then moves up to sit right before what followed it.
	n := e.hbhLen
	p.SetNextHeader(p[e.hbh])
	p.SetPayloadLength(p.PayloadLength() - uint16(n))
	copy(p[n:n+ip6.HeaderLen], p[:ip6.HeaderLen])
	return p[n:], rpi, true, nil
}

// NextSegment does a RPL router's part of RFC 6554 §4.2 for pkt, a packet
// addressed to this node whose first Routing header is a Source Routing
// Header: it checks the route (Segments Left within the addresses, no
// multicast, no address twice: SRH.CheckRoute) and the hop limit, then
// swaps the next address into the IPv6 destination (SRH.Advance) in place
// and returns it. The hop limit is only checked (above 1), not
// decremented: the caller forwards the packet as any other, which
// decrements it (RFC 8200 §3). On error the packet is unchanged.
//
// Errors: ErrSRHDone (Segments Left 0: the packet is for this node; look
// at what follows, e.g. Decapsulate), ErrNoSRH (no Routing header: route
// normally), ErrNotRPL (another Routing Type with Segments Left above 0:
// RFC 8200 §4.4 answers with an ICMPv6 Parameter Problem), ErrRoute (RFC
// 6554 §4.2: Parameter Problem for Segments Left beyond the addresses, or
// a loop; discard for multicast), ErrHopLimit (send Time Exceeded),
// ErrTruncated and ErrMalformed.
func NextSegment(pkt []byte) (netip.Addr, error) {
	p, err := packet(pkt)
	if err != nil {
		return netip.Addr{}, err
	}
	e, err := walk(p)
	if err != nil {
		return netip.Addr{}, err
	}
	if e.routing == 0 {
		return netip.Addr{}, ErrNoSRH
	}
	r := p[e.routing:]
	r = r[:(int(r[1])+1)*8]
	if r[2] != RoutingTypeSRH {
		if r[3] == 0 {
			// RFC 8200 §4.4: an unknown Routing Type with Segments Left 0
			// is ignored.
			return netip.Addr{}, ErrSRHDone
		}
		return netip.Addr{}, fmt.Errorf("rpl: RFC 8200 §4.4: routing type %d: %w", r[2], ErrNotRPL)
	}
	h := SRH(r)
	if err := h.Validate(); err != nil {
		return netip.Addr{}, err
	}
	if h.SegmentsLeft() == 0 {
		return netip.Addr{}, ErrSRHDone
	}
	dst := p.Dst()
	if err := h.CheckRoute(dst); err != nil {
		return netip.Addr{}, err
	}
	if p.HopLimit() <= 1 {
		return netip.Addr{}, ErrHopLimit
	}
	next, err := h.Advance(dst)
	if err != nil {
		return netip.Addr{}, err
	}
	p.SetDst(next)
	return next, nil
}

// UpdateRPI calls f with the RPL Option of pkt's Hop-by-Hop header, a view
// into pkt, so that a router forwarding the packet sets its flags and its
// own rank in place (RFC 6550 §11.2: each router sets SenderRank to its
// rank; RFC 6553 §6: the option's data changes en route). It returns false
// when pkt has no RPL Option or is not a well-formed IPv6 packet with one.
func UpdateRPI(pkt []byte, f func(o RPLOption)) bool {
	o, err := RPIOf(pkt)
	if err != nil || o == nil {
		return false
	}
	f(o)
	return true
}
