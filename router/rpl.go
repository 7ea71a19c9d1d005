package router

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// The RPL root (RFC 6550) co-located with the 6LBR. The forwarder runs one
// rpl.Root for the DODAG on one link; this file is its glue:
//
//   - Control plane: received RPL messages (ICMPv6 type 155) wait in a
//     bounded queue for one worker goroutine (runRPL), which also runs the
//     root's trickle timer (DIOs) and expires routes once a second. The
//     worker is the root's only writer; the packet paths read routes under
//     a read lock.
//   - Data plane, down: a destination RPL knows is routed by RPL before
//     the registry is asked (issue 14: RPL where RPL knows the route,
//     registrations otherwise). Storing mode sends the packet to the next
//     hop as it is, or with an RPI when RPLConfig.RPI is set; non-storing
//     mode adds a source route (RFC 6554) — inserted into packets the
//     root originates, in an IPv6-in-IPv6 tunnel for packets from
//     elsewhere, tunnelled to the 6LR of a RPL-unaware leaf (RFC 9008 §7;
//     rpl/dataplane.go). A destination one hop away gets the packet as it
//     is: there is no RPL router on the way to read the headers.
//   - Data plane, up: a packet from the mesh tunnelled to the root is
//     decapsulated and a Hop-by-Hop header holding only an RPI is removed
//     before Linux sees it (Linux would drop option type 0x63, RFC 8200
//     §4.2's 01 action bits).
//   - Sources: a packet's source is accepted when RPL has a route to it
//     whose first hop is the neighbour that sent the frame (source.go's
//     rule, with RPL's binding in place of the registry's).
//   - Ownership (RFC 9010 §6.1): a DAO target whose Target option carries
//     a ROVR is refused (DAO-ACK status Duplicate, §6.3) when the 6LBR's
//     registry holds the address under another ROVR. A legacy target
//     (RFC 6550, no ROVR: RIOT's) cannot be checked and is accepted.

// RPLConfig makes the forwarder the root of a RPL DODAG.
type RPLConfig struct {
	// Root configures the DODAG; DODAGID defaults to ForwarderConfig.Source,
	// LinkLocal follows the 6LBR's link-local address.
	Root rpl.RootConfig
	// Link is the link the DODAG lives on (default 0, the first PAN).
	Link nd.LinkID
	// RPI puts a RPL Option (RFC 6553, type RPIType) in the packets the
	// root sends down over more than one hop. Off: storing-mode packets go
	// down unchanged — what default RIOT builds need, since they drop any
	// packet carrying a Hop-by-Hop header (rpl/testdata/riot/README.md).
	RPI     bool
	RPIType uint8 // 0: 0x23 (RFC 9008 §4.2)
	// Insert puts the RPL headers (source route, RPI) straight into
	// packets the root forwards from elsewhere instead of an IPv6-in-IPv6
	// tunnel. RFC 9008 §6 forbids it, but Contiki-NG nodes cannot end a
	// tunnel — os/net/ipv6/uip6.c uip_process answers next header 41
	// with a Parameter Problem — and Contiki-NG's own root inserts the
	// SRH (os/net/routing/rpl-lite/rpl-ext-header.c
	// rpl_ext_header_srh_update).
	Insert bool
	// Queue bounds the RPL messages waiting for the worker (default 128);
	// more are dropped and counted.
	Queue int
}

// RPLStats counts the root's data-plane and queue decisions. Its JSON
// names are the status API's (borderrouter.Status, rpl.stats).
type RPLStats struct {
	Root         rpl.RootCounters `json:"root"`
	Targets      int              `json:"targets"`       // DAO targets held now
	Version      uint8            `json:"dodag_version"` // the DODAG Version Number advertised
	QueueDropped uint64           `json:"queue_dropped"` // RPL messages dropped: worker queue full
	Malformed    uint64           `json:"malformed"`     // RPL messages that did not parse or had a bad checksum
	Spoofed      uint64           `json:"spoofed"`       // RPL messages from a link-local source not the sender's (source.go's rule)
	// TunnelledControl counts packets unwrapped from a tunnel to the root
	// that held link-scoped traffic or ND (dropped: ND is one hop only).
	TunnelledControl uint64 `json:"tunnelled_control"`
	RoutedDown       uint64 `json:"routed_down"`   // packets sent down by RPL routes
	SourceRouted     uint64 `json:"source_routed"` // … of them with a source routing header
	Tunnelled        uint64 `json:"tunnelled"`     // … of them in IPv6-in-IPv6
	RoutingLoops     uint64 `json:"routing_loops"` // routes that looped or exceeded the depth cap
	Decapsulated     uint64 `json:"decapsulated"`  // tunnelled packets from the mesh unwrapped
	RPIStripped      uint64 `json:"rpi_stripped"`  // packets from the mesh whose RPI was removed
	RankErrors       uint64 `json:"rank_errors"`   // upward packets with the RPI's O flag set (RFC 6550 §11.2.2.2)
	LoopsDropped     uint64 `json:"loops_dropped"` // … of them with R set too: a loop, dropped
	// ForwardingErrors counts packets returned with the RPI's F flag (RFC
	// 6550 §11.2.2.3): the route to their destination was forgotten.
	ForwardingErrors uint64 `json:"forwarding_errors"`
	HeaderErrors     uint64 `json:"header_errors"`    // packets whose RPL headers could not be added or removed
	SourcesAccepted  uint64 `json:"sources_accepted"` // mesh sources bound by a RPL route
}

type rplIn struct {
	lid nd.LinkID
	src lowpan.LinkAddr
	pkt []byte
}

// rplState is the forwarder's RPL side.
type rplState struct {
	cfg RPLConfig
	q   chan rplIn
	// Fixed at start (the root's own copy changes only its link-local
	// address): read without the lock.
	mop      uint8
	instance uint8
	rank     uint16 // the root's rank, the RPI's sender rank
	dodagID  netip.Addr

	// mu guards root: the worker writes, packet paths read.
	mu   sync.RWMutex
	root *rpl.Root
	// sender is the link-layer source of the message being handled
	// (worker only): ToSender replies go there, and the ownership check
	// of legacy DAO targets compares it with the registry's next hop.
	sender lowpan.LinkAddr

	bufs sync.Pool // *[]byte scratch for rewritten packets

	stats struct {
		queueDropped, malformed, routedDown, sourceRouted, tunnelled, loops  atomic.Uint64
		decapsulated, rpiStripped, rankErrors, headerErrors, sourcesAccepted atomic.Uint64
		spoofed, tunnelledControl, forwardingErrors, loopsDropped            atomic.Uint64
	}
}

func newRPLState(cfg RPLConfig, source, linkLocal netip.Addr, now time.Time) (*rplState, error) {
	if !cfg.Root.DODAGID.IsValid() {
		cfg.Root.DODAGID = source
	}
	if !cfg.Root.LinkLocal.IsValid() {
		cfg.Root.LinkLocal = linkLocal
	}
	if cfg.RPIType == 0 {
		cfg.RPIType = rpl.OptionTypeRPI9008
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 128
	}
	root, err := rpl.NewRoot(cfg.Root, now)
	if err != nil {
		return nil, err
	}
	rc := root.Config()
	s := &rplState{cfg: cfg, q: make(chan rplIn, cfg.Queue), root: root,
		mop: rc.MOP, instance: rc.Instance, rank: rc.MinHopRankIncrease, dodagID: rc.DODAGID}
	s.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	return s, nil
}

// RPL returns the root's counters and size; ok is false when the
// forwarder is not a RPL root.
func (f *Forwarder) RPL() (st RPLStats, ok bool) {
	r := f.rpl
	if r == nil {
		return st, false
	}
	r.mu.RLock()
	st.Root, st.Targets, st.Version = r.root.Counters(), r.root.Len(), r.root.Version()
	r.mu.RUnlock()
	st.QueueDropped, st.Malformed = r.stats.queueDropped.Load(), r.stats.malformed.Load()
	st.Spoofed, st.TunnelledControl = r.stats.spoofed.Load(), r.stats.tunnelledControl.Load()
	st.ForwardingErrors, st.LoopsDropped = r.stats.forwardingErrors.Load(), r.stats.loopsDropped.Load()
	st.RoutedDown, st.SourceRouted, st.Tunnelled = r.stats.routedDown.Load(), r.stats.sourceRouted.Load(), r.stats.tunnelled.Load()
	st.RoutingLoops, st.Decapsulated, st.RPIStripped = r.stats.loops.Load(), r.stats.decapsulated.Load(), r.stats.rpiStripped.Load()
	st.RankErrors, st.HeaderErrors, st.SourcesAccepted = r.stats.rankErrors.Load(), r.stats.headerErrors.Load(), r.stats.sourcesAccepted.Load()
	return st, true
}

// RPLRoute is one DODAG route for status displays: the target, its
// parent or next hop, and in non-storing mode the source route.
type RPLRoute struct {
	rpl.RouteEntry
	// Path is the source route, first hop … target (non-storing), or the
	// next hop alone (storing); nil when it does not resolve (a parent's
	// route lapsed).
	Path    []netip.Addr
	NextHop lowpan.LinkAddr // the link-layer address of Path[0]
	Link    nd.LinkID
}

// RPLRoutes returns the root's live routes with their paths.
func (f *Forwarder) RPLRoutes() (mop uint8, routes []RPLRoute) {
	r := f.rpl
	if r == nil {
		return 0, nil
	}
	now := time.Now()
	r.mu.RLock()
	for _, e := range r.root.Routes(nil, now) {
		rr := RPLRoute{RouteEntry: e, Link: r.cfg.Link}
		if p, err := r.root.Route(nil, e.Target.Addr(), now); err == nil {
			rr.Path = p
		}
		routes = append(routes, rr)
	}
	r.mu.RUnlock()
	for i := range routes {
		if len(routes[i].Path) > 0 {
			routes[i].NextHop = f.rplNeighbor(routes[i].Path[0], now)
		}
	}
	return r.mop, routes
}

// RPLInfo describes the DODAG for status displays; ok false when the
// forwarder is not a RPL root.
type RPLInfo struct {
	MOP, Instance, Version uint8
	DODAGID                netip.Addr
	Link                   nd.LinkID
	RPI                    bool
	DIOInterval            time.Duration // the trickle interval now
}

// RPLInfo returns the DODAG's description.
func (f *Forwarder) RPLInfo() (RPLInfo, bool) {
	r := f.rpl
	if r == nil {
		return RPLInfo{}, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return RPLInfo{MOP: r.mop, Instance: r.instance, Version: r.root.Version(), DODAGID: r.dodagID, Link: r.cfg.Link,
		RPI: r.cfg.RPI, DIOInterval: r.root.Trickle().Interval()}, true
}

// IncrementDODAGVersion is global repair (RFC 6550 §7.2): nodes rejoin
// under a new version and send their DAOs again.
func (f *Forwarder) IncrementDODAGVersion() bool {
	r := f.rpl
	if r == nil {
		return false
	}
	r.mu.Lock()
	r.root.IncrementVersion(time.Now())
	r.mu.Unlock()
	select { // wake the worker: the trickle timer restarted
	case r.q <- rplIn{}:
	default:
	}
	return true
}

// isRPL reports an ICMPv6 RPL control message right after the IPv6
// header (RFC 6550 §6: RPL messages carry no extension headers of their
// own; an RPI the sender added is stripped before this is asked).
func isRPL(pkt []byte) bool {
	h := ip6.Header(pkt)
	m := ip6.ICMPv6(h.Payload())
	return h.NextHeader() == ip6.ProtoICMPv6 && len(m) >= 4 && m.Type() == rpl.ICMPType
}

// admitRPL queues a received RPL message for the worker.
func (f *Forwarder) admitRPL(lid nd.LinkID, src lowpan.LinkAddr, pkt []byte) {
	r := f.rpl
	if lid != r.cfg.Link {
		r.stats.malformed.Add(1)
		return
	}
	in := rplIn{lid: lid, src: src, pkt: append([]byte(nil), pkt...)}
	select {
	case r.q <- in:
	default:
		r.stats.queueDropped.Add(1)
	}
}

// runRPL is the root's worker: received messages, the trickle timer,
// route expiry. It stops with ctx.
func (f *Forwarder) runRPL(ctx context.Context) {
	r := f.rpl
	trickle := time.NewTimer(time.Hour)
	defer trickle.Stop()
	expire := time.NewTicker(time.Second)
	defer expire.Stop()
	var replies []rpl.Reply
	rearm := func(now time.Time) {
		r.mu.RLock()
		d := r.root.Trickle().Next(now)
		r.mu.RUnlock()
		if d < 0 {
			d = time.Hour
		}
		trickle.Reset(d)
	}
	rearm(time.Now())
	for {
		var now time.Time
		replies = replies[:0]
		select {
		case <-ctx.Done():
			return
		case in := <-r.q:
			now = time.Now()
			if in.pkt != nil {
				replies = f.handleRPL(replies, in, now)
			}
		case now = <-trickle.C:
			now = time.Now()
			f.followLinkLocal()
			r.mu.Lock()
			replies = r.root.Tick(replies, now)
			r.mu.Unlock()
		case now = <-expire.C:
			r.mu.Lock()
			r.root.Expire(now)
			r.mu.Unlock()
			continue
		}
		for i := range replies {
			f.sendRPL(&replies[i], r.sender, now)
		}
		rearm(now)
	}
}

// followLinkLocal keeps the root's link-local address the 6LBR's (it
// changes with the radio's EUI-64).
func (f *Forwarder) followLinkLocal() {
	r := f.rpl
	ll := f.cfg.ND.LinkLocal()
	r.mu.RLock()
	same := r.root.Config().LinkLocal == ll
	r.mu.RUnlock()
	if !same {
		r.mu.Lock()
		r.root.SetLinkLocal(ll)
		r.mu.Unlock()
	}
}

// handleRPL hands one received RPL message to the root.
func (f *Forwarder) handleRPL(replies []rpl.Reply, in rplIn, now time.Time) []rpl.Reply {
	r := f.rpl
	h := ip6.Header(in.pkt)
	m, err := rpl.Parse(h.Payload())
	if err != nil || !m.ChecksumValid(h.Src(), h.Dst()) {
		r.stats.malformed.Add(1)
		return replies
	}
	src := h.Src()
	if src.IsLinkLocalUnicast() && f.checkSource(in.lid, in.src, src, now) != sourceOK {
		// A link-local source must be the sender's own (source.go): a
		// storing-mode DAO makes its source the next hop of its targets,
		// and a DIS or DIO from a borrowed address would send replies to
		// someone else.
		r.stats.spoofed.Add(1)
		return replies
	}
	f.followLinkLocal()
	r.mu.Lock()
	r.sender = in.src
	replies = r.root.Handle(replies, m, src, h.Dst(), now)
	r.mu.Unlock()
	return replies
}

// sendRPL sends one of the root's messages: multicast DIOs as broadcast,
// link-local replies to the neighbour that asked, global ones (DAO-ACKs
// to non-storing nodes several hops down) down the DODAG.
//
// sender is the link-layer source of the message being answered, where
// a ToSender reply goes.
func (f *Forwarder) sendRPL(rep *rpl.Reply, sender lowpan.LinkAddr, now time.Time) {
	r := f.rpl
	l := f.link(r.cfg.Link)
	if l == nil || !rep.Src.IsValid() {
		return
	}
	hl := uint8(64)
	if rep.Dst.IsMulticast() || rep.Dst.IsLinkLocalUnicast() {
		hl = 255
	}
	bp := r.bufs.Get().(*[]byte)
	defer r.bufs.Put(bp)
	pkt := (*bp)[:ip6.HeaderLen]
	ip6.Header(pkt).Encode(&ip6.Fields{PayloadLength: uint16(len(rep.Msg)), NextHeader: ip6.ProtoICMPv6,
		HopLimit: hl, Src: rep.Src, Dst: rep.Dst})
	pkt = append(pkt, rep.Msg...)
	*bp = pkt
	opts := link.SendOptions{Class: link.ClassControl}
	switch {
	case rep.Dst.IsMulticast():
		next := link.BroadcastShort
		if p2p, ok := l.(link.PointToPoint); ok {
			next = p2p.Peer()
		}
		if err := l.Send(pkt, next, opts); err != nil {
			f.sendFailed(err)
		}
	case rep.ToSender || rep.Dst.IsLinkLocalUnicast():
		next := sender
		if !rep.ToSender || next.Kind() == lowpan.LinkAddrNone {
			next = f.rplNeighbor(rep.Dst, now)
		}
		if err := l.Send(pkt, next, opts); err != nil {
			f.sendFailed(err)
		}
	default:
		var hopsBuf [16]netip.Addr
		hops, external, err := f.rplRoute(hopsBuf[:0], rep.Dst, now)
		if err != nil && rep.Parent.IsValid() {
			// A refused DAO left no route to its sender: go down the
			// route to the parent it named, then one hop more.
			if hops, _, err = f.rplRoute(hopsBuf[:0], rep.Parent, now); err == nil {
				hops, external = append(hops, rep.Dst), false
			}
		}
		if err == nil {
			f.rplDown(pkt, rep.Dst, hops, external, true, link.ClassControl, time.Time{})
		} else if lid, ll, ok := f.reg.NextHop(rep.Dst, now); ok && lid == r.cfg.Link {
			if err := l.Send(pkt, ll, opts); err != nil {
				f.sendFailed(err)
			}
		}
	}
}

// rplNeighbor resolves a neighbour's IPv6 address (link-local, or a
// global one of a node one hop away) to its link-layer address: the
// registry's binding if it has one (a direct registration, or a
// link-local address registered on the link), else the address its IID is
// formed from (RFC 4944 §6, RFC 6282 §3.2.2: 16-bit short addresses as
// 0000:00ff:fe00:XXXX, EUI-64s with the universal/local bit flipped) —
// the only bindings a neighbour cannot forge by sending a message.
func (f *Forwarder) rplNeighbor(a netip.Addr, now time.Time) lowpan.LinkAddr {
	lid := f.rpl.cfg.Link
	if a.IsLinkLocalUnicast() {
		if reg, ok := f.reg.LookupLinkLocal(lid, a, now); ok && reg.LinkAddr.Kind() != lowpan.LinkAddrNone {
			return reg.LinkAddr
		}
	} else if reg, ok := f.reg.Lookup(a, now); ok && reg.Direct() && reg.Link == lid {
		return reg.LinkAddr
	}
	b := a.As16()
	return macFromIID([8]byte(b[8:]))
}

func macFromIID(iid [8]byte) lowpan.LinkAddr {
	if bytes.Equal(iid[:6], []byte{0, 0, 0, 0xff, 0xfe, 0}) {
		return lowpan.ShortLinkAddr(uint16(iid[6])<<8 | uint16(iid[7]))
	}
	iid[0] ^= 0x02
	return lowpan.ExtendedLinkAddr(iid)
}

// rplCheckTarget is the root's RFC 9010 ownership check (the worker calls
// it from Handle, under the root's lock), for a target the registry
// holds:
//   - a target with a ROVR (RFC 9010 §6.1) must carry the registration's;
//   - a legacy target (RFC 6550, no ROVR: RIOT's) cannot prove anything:
//     it is taken only from the neighbour the registry already reaches
//     the address through (the node's own DAO, or its parent's in storing
//     mode when it registered through that parent), and never for an
//     RFC 8928 protected address.
//
// Otherwise a DAO could take a registered node's traffic (RPL routes
// are asked first) or, as a No-Path, delete its route.
func (f *Forwarder) rplCheckTarget(p netip.Prefix, rovr []byte) uint8 {
	if p.Bits() != 128 {
		return 0 // prefixes are bounded by RootConfig.External
	}
	now := time.Now()
	reg, ok := f.reg.Lookup(p.Addr(), now)
	if !ok {
		return 0
	}
	if len(rovr) > 0 {
		if reg.ROVR.IsZero() || bytes.Equal(reg.ROVR.Bytes(), rovr) {
			return 0
		}
		return rpl.StatusDuplicate
	}
	if reg.Protected {
		return rpl.StatusDuplicate
	}
	if lid, next, ok := f.reg.NextHop(p.Addr(), now); ok && lid == f.rpl.cfg.Link && next == f.rpl.sender {
		return 0
	}
	return rpl.StatusDuplicate
}

// rplRoute looks dst up in the root's routes: the path from the first
// hop to dst (non-storing), or the next hop (storing), and whether dst is
// a RPL-unaware leaf (the Transit's E flag). rpl.ErrNoRoute: RPL does not
// know dst.
func (f *Forwarder) rplRoute(buf []netip.Addr, dst netip.Addr, now time.Time) ([]netip.Addr, bool, error) {
	r := f.rpl
	r.mu.RLock()
	hops, err := r.root.Route(buf, dst, now)
	_, external, _ := r.root.Lookup(dst, now)
	r.mu.RUnlock()
	return hops, external, err
}

// rplDown sends pkt (its destination dst) down the DODAG along hops (from
// rplRoute), and reports whether it was handed to the link. own says the
// root originated pkt (its source is the root's), which allows inserting
// headers instead of tunnelling (RFC 9008 §6). The caller checked the hop
// limit and the MTU of pkt; with the headers a 1280-octet packet grows by
// up to 48 octets and its source route, which RFC 4944 fragmentation
// carries (datagrams up to 2047 octets).
func (f *Forwarder) rplDown(pkt []byte, dst netip.Addr, hops []netip.Addr, external, own bool, class link.Class, since time.Time) bool {
	r := f.rpl
	now := time.Now()
	l := f.link(r.cfg.Link)
	if l == nil || len(hops) == 0 {
		return false
	}
	out := pkt
	var bp *[]byte
	var hdr rpl.Headers
	var err error
	if r.cfg.RPI {
		hdr.RPI = &rpl.RPIFields{Type: r.cfg.RPIType, Flags: rpl.RPIFlagO, Instance: r.instance, SenderRank: r.rank}
	}
	switch {
	case len(hops) == 1 && r.mop != rpl.MOPStoring:
		// One hop: nobody on the way reads RPL headers.
	case r.mop == rpl.MOPStoring:
		// A RPL-unaware leaf gets no RPI: RFC 9008 §7.2.4 would tunnel
		// to its 6LR, which a storing root does not know (it has the
		// next hop only), and the leaf itself cannot end a tunnel.
		if hdr.RPI != nil && !external {
			bp = r.bufs.Get().(*[]byte)
			if own || r.cfg.Insert {
				out, err = rpl.InsertHeaders((*bp)[:0], pkt, hdr)
			} else {
				out, err = rpl.AppendTunnel((*bp)[:0], pkt, r.dodagID, dst, hdr)
				r.stats.tunnelled.Add(1)
			}
		}
	default: // non-storing: a source route
		path := hops
		insert := own || r.cfg.Insert
		if external && len(path) > 1 && !r.cfg.Insert {
			// A RPL-unaware leaf: the tunnel ends at its 6LR, which
			// delivers the inner packet (RFC 9008 §8.1.3, §8.2.4).
			path = path[:len(path)-1]
			insert = false
		}
		hdr.Hops = path
		bp = r.bufs.Get().(*[]byte)
		if insert {
			out, err = rpl.InsertHeaders((*bp)[:0], pkt, hdr)
		} else {
			out, err = rpl.AppendTunnel((*bp)[:0], pkt, r.dodagID, path[len(path)-1], hdr)
			r.stats.tunnelled.Add(1)
		}
		if len(path) > 1 {
			r.stats.sourceRouted.Add(1)
		}
	}
	if bp != nil {
		defer func() { *bp = out[:0]; r.bufs.Put(bp) }()
	}
	if err != nil {
		r.stats.headerErrors.Add(1)
		f.stats.dropped.Add(1)
		return true
	}
	next := f.rplNeighbor(hops[0], now)
	if err := l.Send(out, next, f.sendOpts(class, since)); err != nil {
		f.sendFailed(err)
		return true
	}
	r.stats.routedDown.Add(1)
	return true
}

// rplUp unwraps what the mesh's RPL added to a packet for the root: a
// tunnel addressed to the root, an RPI-only Hop-by-Hop header. It returns
// the packet to go on with and whether a tunnel was removed; ok false
// drops it (counted).
func (f *Forwarder) rplUp(pkt []byte) (out []byte, decapsulated, ok bool) {
	h := ip6.Header(pkt)
	if nh := h.NextHeader(); nh != ip6.ProtoHopByHop && nh != ip6.ProtoIPv6 {
		return pkt, false, true
	}
	r := f.rpl
	out, rpi, had, err := rpl.StripForExit(pkt, f.isLocal)
	if err != nil {
		r.stats.headerErrors.Add(1)
		f.stats.dropped.Add(1)
		return nil, false, false
	}
	// A tunnel's outer header is 40 octets; an RPI-only Hop-by-Hop
	// header is 8.
	decapsulated = len(pkt)-len(out) >= ip6.HeaderLen
	if decapsulated {
		r.stats.decapsulated.Add(1)
	}
	if had {
		r.stats.rpiStripped.Add(1)
		switch {
		case rpi.Flags&rpl.RPIFlagF != 0:
			// A Forwarding-Error (RFC 6550 §11.2.2.3): a storing-mode
			// router could not take the packet down and sent it back.
			// The root's route to its destination is stale: forget it
			// (the node's next DAO restores it) and drop the packet.
			r.mu.Lock()
			r.root.Forget(ip6.Header(out).Dst())
			r.mu.Unlock()
			r.stats.forwardingErrors.Add(1)
			f.stats.dropped.Add(1)
			return nil, false, false
		case rpi.Flags&rpl.RPIFlagO != 0 && rpi.Flags&rpl.RPIFlagR != 0:
			// Going up with the Down flag, and a rank error already
			// seen on the way: a loop (§11.2.2.2); drop it.
			r.stats.rankErrors.Add(1)
			r.stats.loopsDropped.Add(1)
			f.stats.dropped.Add(1)
			return nil, false, false
		case rpi.Flags&rpl.RPIFlagO != 0:
			// An upward packet marked as going down: a rank error on the
			// way (§11.2.2.2), the first: the root is the top; count it
			// and deliver.
			r.stats.rankErrors.Add(1)
		}
	}
	return out, decapsulated, true
}

// isLocal reports one of the root's own addresses.
func (f *Forwarder) isLocal(a netip.Addr) bool {
	if a == f.cfg.Source || a == f.cfg.ND.LinkLocal() {
		return true
	}
	if f.rpl != nil {
		return a == f.rpl.dodagID
	}
	return false
}

// rplSourceOK reports whether RPL binds src to the neighbour mac: RPL's
// route to src starts at mac.
func (f *Forwarder) rplSourceOK(lid nd.LinkID, mac lowpan.LinkAddr, src netip.Addr, now time.Time) bool {
	r := f.rpl
	if r == nil || lid != r.cfg.Link {
		return false
	}
	var hopsBuf [16]netip.Addr
	r.mu.RLock()
	hops, err := r.root.Route(hopsBuf[:0], src, now)
	r.mu.RUnlock()
	if err != nil || len(hops) == 0 {
		return false
	}
	if f.rplNeighbor(hops[0], now) != mac {
		return false
	}
	r.stats.sourcesAccepted.Add(1)
	return true
}

// forwardRPL is forward's RPL step: one route lookup, the hop limit and
// MTU checks of forwardTo, then rplDown. It reports whether RPL took the
// packet.
func (f *Forwarder) forwardRPL(pkt []byte, dst netip.Addr, fromLinux bool, since time.Time) bool {
	r := f.rpl
	var hopsBuf [16]netip.Addr
	hops, external, err := f.rplRoute(hopsBuf[:0], dst, time.Now())
	if errors.Is(err, rpl.ErrNoRoute) {
		return false
	}
	if err != nil {
		r.stats.loops.Add(1)
		f.stats.unreach.Add(1)
		f.icmpError(pkt, ICMPv6DestUnreachable, CodeAddressUnreachable, 0, fromLinux)
		return true
	}
	l := f.link(r.cfg.Link)
	if l == nil {
		return false
	}
	h := ip6.Header(pkt)
	if !fromLinux && h.HopLimit() <= 1 {
		f.stats.hlim.Add(1)
		f.icmpError(pkt, ICMPv6TimeExceeded, CodeHopLimitExceeded, 0, fromLinux)
		return true
	}
	if len(pkt) > l.MTU() {
		f.stats.tooBig.Add(1)
		f.icmpError(pkt, ICMPv6PacketTooBig, 0, uint32(l.MTU()), fromLinux)
		return true
	}
	if !fromLinux {
		h.SetHopLimit(h.HopLimit() - 1)
	}
	own := fromLinux && f.isLocal(h.Src())
	f.rplDown(pkt, dst, hops, external, own, link.ClassData, since)
	if fromLinux {
		f.stats.toMesh.Add(1)
	} else {
		f.stats.meshToMesh.Add(1)
	}
	return true
}
