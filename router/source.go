package router

import (
	"net/netip"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
)

// Source address validation in the spirit of SAVI (RFC 7039): the
// 6LBR's registry binds each address to the node that registered it and to
// the neighbour it is reached through (RFC 8505 §5), and that binding is
// the anchor a packet's source is checked against. A packet from the mesh
// is forwarded — to Linux or to another node — only when its IPv6 source
// is bound to the neighbour that sent the frame:
//   - a link-local source has the interface identifier of that
//     neighbour's link-layer address (RFC 4944 §6, RFC 6282 §3.2.2: the
//     IID a node forms from its EUI-64 or short address), or was
//     registered by that neighbour on this link (RFC 8505 §5.6);
//   - any other source is registered, and its next hop (the node itself,
//     or the 6LR it registered through) is that neighbour on this link;
//   - the unspecified address, multicast and loopback never are.
//
// Neighbour discovery is exempt: a node that is not registered yet sends
// its RS and NS(EARO) from its link-local address or the unspecified
// address, and the control path's admission judges those (control.go).
//
// ForwarderConfig.AllowUnregisteredSources relaxes the second rule for
// registered neighbours: a RPL router forwards packets of nodes that
// registered with it by DAO, not with the 6LBR (RFC 6550 storing mode;
// RFC 9010 has a 6LR register its RPL-unaware leaves with the root, and
// those are bound).

// sourceVerdict is the outcome of the source address validation.
type sourceVerdict uint8

const (
	sourceOK sourceVerdict = iota
	// sourceInvalid: unspecified, multicast or loopback.
	sourceInvalid
	// sourceLinkLocalMismatch: a link-local source neither formed from the
	// sender's link-layer address nor registered by it.
	sourceLinkLocalMismatch
	// sourceUnregistered: a source not registered through the sender.
	sourceUnregistered
)

// checkSource validates src, the IPv6 source of a packet that arrived on
// link lid in a frame from mac.
func (f *Forwarder) checkSource(lid nd.LinkID, mac lowpan.LinkAddr, src netip.Addr, now time.Time) sourceVerdict {
	switch {
	case src.IsUnspecified() || src.IsMulticast() || src.IsLoopback():
		return sourceInvalid
	case src.IsLinkLocalUnicast():
		a := src.As16()
		if iid, ok := mac.IID(); ok && [8]byte(a[8:]) == iid {
			return sourceOK
		}
		if r, ok := f.reg.LookupLinkLocal(lid, src, now); ok && r.LinkAddr == mac {
			return sourceOK
		}
		return sourceLinkLocalMismatch
	}
	if l, ll, ok := f.reg.NextHop(src, now); ok && l == lid && ll == mac {
		return sourceOK
	}
	if f.rpl != nil && f.rplSourceOK(lid, mac, src, now) {
		return sourceOK
	}
	if f.cfg.AllowUnregisteredSources && f.reg.RegisteredOn(lid, mac, now) {
		return sourceOK
	}
	return sourceUnregistered
}

// sourceRejected counts a packet dropped by the source validation.
func (f *Forwarder) sourceRejected(v sourceVerdict) {
	switch v {
	case sourceInvalid:
		f.stats.srcInvalid.Add(1)
	case sourceLinkLocalMismatch:
		f.stats.srcLinkLocal.Add(1)
	default:
		f.stats.srcUnregistered.Add(1)
	}
}
