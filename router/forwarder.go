package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
)

// ForwarderConfig wires the forwarder.
type ForwarderConfig struct {
	TUN TUN
	// Links are the links present from the start (802.15.4 PANs), with
	// nd.LinkID 0, 1, …; AddLink adds more while the forwarder runs (BLE
	// connections).
	Links []link.Runnable
	ND    *nd.Router
	// Source is the router's global address in the mesh prefix: the source
	// of its ICMPv6 errors.
	Source netip.Addr
	// MulticastScope is the widest multicast scope forwarded from Linux
	// into the mesh (as 802.15.4 broadcast): 2 (link-local) by default, 3
	// (realm-local) or more to let site-wide groups in.
	MulticastScope uint8
	// ICMPRate and ICMPBurst bound the ICMPv6 errors sent (defaults 10/s,
	// burst 10).
	ICMPRate, ICMPBurst float64
	// Contexts, when set, is the links' compression context table: it is
	// kept in step with the 6LBR's context life cycle (RFC 6775 §7.2: C=0,
	// then C=1, then withdrawn) after every maintenance tick.
	Contexts *lowpan.ContextTable
	// TxLatency, when set, observes the seconds from reading a packet off
	// the TUN to the radio's transmit done of its last frame, for packets
	// sent into the mesh (a prometheus.Histogram fits).
	TxLatency link.Observer
	// Control bounds the control path: the queue of received ND between
	// the links and the control worker, and the admission of messages
	// from registered neighbours and from strangers (control.go).
	Control ControlConfig
	// AllowUnregisteredSources forwards packets from a registered
	// neighbour whose global source is not registered through it (off by
	// default: they are dropped, source.go). For RPL-routed traffic: a RPL
	// router forwards packets of nodes that registered with it only.
	AllowUnregisteredSources bool
	// RPL, when set, makes the forwarder the root of a RPL DODAG on one
	// link (rpl.go).
	RPL    *RPLConfig
	Logger *slog.Logger
}

// ForwarderStats counts the forwarder's decisions, in packets. Its JSON
// names are the status API's (borderrouter.Status, forwarder).
type ForwarderStats struct {
	FromTUN uint64 `json:"from_tun"` // packets read from Linux
	ToTUN   uint64 `json:"to_tun"`   // packets written to Linux
	// ToMesh: packets from Linux handed to a link (a multicast packet once,
	// whatever the links it went to); MeshToMesh: packets from one node
	// handed to a link for another.
	ToMesh     uint64 `json:"to_mesh"`
	MeshToMesh uint64 `json:"mesh_to_mesh"`
	NDHandled  uint64 `json:"nd_handled"` // ND messages the control worker handled
	NDSent     uint64 `json:"nd_sent"`    // ND messages sent: replies and unsolicited RAs
	// Unreachable: unicast packets with no way to their destination (not
	// registered, a RPL route that loops, a link gone), answered with an
	// ICMPv6 address unreachable, rate permitting.
	Unreachable uint64 `json:"unreachable"`
	// HopLimitExceeded and TooBig: mesh packets not forwarded for their
	// hop limit or their size (above the link's MTU); each is owed an
	// ICMPv6 error.
	HopLimitExceeded uint64 `json:"hop_limit_exceeded"`
	TooBig           uint64 `json:"too_big"`
	// ICMPErrorsSent: ICMPv6 errors sent, all kinds; by kind below.
	// ICMPErrorsRateLimited: errors not sent for the rate limit.
	ICMPErrorsSent        uint64 `json:"icmp_errors_sent"`
	ICMPErrorsRateLimited uint64 `json:"icmp_errors_rate_limited"`
	ICMPUnreachableSent   uint64 `json:"icmp_unreachable_sent"`
	ICMPTooBigSent        uint64 `json:"icmp_too_big_sent"`
	ICMPHopLimitSent      uint64 `json:"icmp_hop_limit_sent"`
	// Dropped: packets dropped for what they are: not IPv6, multicast
	// wider than the mesh's scope, link-local unicast from Linux, ND that
	// does not parse or is too long, RPL headers that could not be added
	// or removed, RPL loops and forwarding errors, and writes to the TUN
	// that failed. Refused links are SendRefused, not here.
	Dropped uint64 `json:"dropped"`
	// SendRefused counts packets a link would not take for transmission:
	// its queue full (QueueFull), or a packet it could not encode. What
	// happens on the air afterwards (no ACK, channel busy) is counted by
	// the link (link.LowpanStats), not here.
	SendRefused uint64 `json:"send_refused"`
	// HostLinkControl counts Linux's own RS, RA, NS, NA, redirects and
	// MLD messages read from the TUN and kept out of the mesh: the 6LBR
	// speaks ND there itself (RFC 6775), and a 6LoWPAN-ND mesh has no MLD.
	HostLinkControl uint64 `json:"host_link_control"`
	// QueueFull counts packets a link's transmit queue had no room for
	// (part of SendRefused).
	QueueFull uint64 `json:"queue_full"`
	// The control path: ND messages admitted from registered neighbours
	// and from strangers (NDHandled counts those the worker handled), and
	// dropped before the worker by reason: its queue full, a source's
	// token bucket empty, the strangers' budget spent.
	NDFromNeighbors      uint64 `json:"nd_from_neighbors"`
	NDFromStrangers      uint64 `json:"nd_from_strangers"`
	NDDroppedQueueFull   uint64 `json:"nd_dropped_queue_full"`
	NDDroppedRateLimited uint64 `json:"nd_dropped_rate_limited"`
	NDDroppedBudget      uint64 `json:"nd_dropped_budget"`
	// Packets from the mesh dropped by the source address validation
	// (source.go): a source not registered through the neighbour that
	// sent it, a link-local source that is not the sender's, an
	// unspecified, multicast or loopback source.
	SourceUnregistered      uint64 `json:"source_unregistered"`
	SourceLinkLocalMismatch uint64 `json:"source_link_local_mismatch"`
	SourceInvalid           uint64 `json:"source_invalid"`
}

// Forwarder moves packets between Linux (the TUN) and the mesh links,
// answers neighbour discovery through the 6LBR (nd.Router) and sends the
// ICMPv6 errors a router owes: address unreachable for unregistered
// destinations, packet too big above the mesh MTU, hop limit exceeded.
// Nothing is flooded for unregistered unicast.
//
// Goroutines (started by Run, ended with its context): readTUN, one Run per
// link delivering into fromMesh, and ndTimers.
type Forwarder struct {
	cfg  ForwarderConfig
	reg  *nd.Registry // the 6LBR's: next hops and who registered where
	log  *slog.Logger
	rl   RateLimiter
	tunW sync.Mutex // WritePacket is called from several goroutines

	// links is the link table indexed by nd.LinkID, copied on write: the
	// packet path reads it without a lock. A nil slot is a link that went
	// away.
	links   atomic.Pointer[[]link.Runnable]
	linksMu sync.Mutex // writers
	// Links added while Run runs wait in pending for Run's link starter,
	// which owns Run's context; kick wakes it.
	runMu            sync.Mutex
	running, stopped bool
	pending          []pendingLink
	kick             chan struct{}
	linkWG           sync.WaitGroup

	// The control path (control.go): received ND waits in ctl for the
	// control worker; adm decides what enters.
	ctl *controlQueue
	adm *admission

	rpl *rplState // nil: not a RPL root

	stats struct {
		fromTUN, toTUN, toMesh, meshToMesh, ndHandled, ndReplies, unreach, hlim, tooBig, icmpSent, dropped, sendFail atomic.Uint64
		hostLinkControl, queueFull                                                                                   atomic.Uint64
		unreachSent, tooBigSent, hlimSent                                                                            atomic.Uint64
		ctlNeighbor, ctlStranger, ctlQueueFull, ctlRateLimited, ctlOverBudget                                        atomic.Uint64
		srcUnregistered, srcLinkLocal, srcInvalid                                                                    atomic.Uint64
	}
}

// NewForwarder checks cfg and makes a forwarder.
func NewForwarder(cfg ForwarderConfig) (*Forwarder, error) {
	if cfg.TUN == nil || cfg.ND == nil || !cfg.Source.Is6() {
		return nil, errors.New("router: forwarder needs a TUN, an nd.Router and a source address")
	}
	if cfg.MulticastScope == 0 {
		cfg.MulticastScope = 2
	}
	if cfg.ICMPRate == 0 {
		cfg.ICMPRate = 10
	}
	if cfg.ICMPBurst == 0 {
		cfg.ICMPBurst = 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Control.setDefaults()
	f := &Forwarder{cfg: cfg, reg: cfg.ND.Registry(), log: cfg.Logger, rl: RateLimiter{Rate: cfg.ICMPRate, Burst: cfg.ICMPBurst},
		kick: make(chan struct{}, 1), ctl: newControlQueue(cfg.Control.Queue), adm: newAdmission(cfg.Control)}
	links := append([]link.Runnable(nil), cfg.Links...)
	f.links.Store(&links)
	if cfg.RPL != nil {
		rc := *cfg.RPL
		rc.Root.CheckTarget = f.rplCheckTarget
		r, err := newRPLState(rc, cfg.Source, cfg.ND.LinkLocal(), time.Now())
		if err != nil {
			return nil, fmt.Errorf("router: RPL root: %w", err)
		}
		f.rpl = r
	}
	return f, nil
}

// Run forwards until ctx ends and the TUN is closed; it waits for its
// goroutines. Each link finishes the packets it queued (bounded by its
// DrainTimeout), and packets read from the TUN until it is closed are
// still queued.
func (f *Forwarder) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	f.runMu.Lock()
	if f.running || f.stopped {
		f.runMu.Unlock()
		return errors.New("router: forwarder: Run called twice")
	}
	f.running = true
	for i, l := range *f.links.Load() { // static links, and any added before Run
		if l != nil {
			f.runLink(ctx, nd.LinkID(i), l)
		}
	}
	f.runMu.Unlock()
	defer f.linkWG.Wait()
	wg.Add(3)
	go func() {
		defer wg.Done()
		f.ndTimers(ctx)
	}()
	go func() {
		defer wg.Done()
		f.runControl(ctx)
	}()
	go func() {
		defer wg.Done()
		f.startLinks(ctx)
	}()
	if f.rpl != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.runRPL(ctx)
		}()
	}
	err := f.readTUN(ctx)
	wg.Wait()
	return err
}

// pendingLink is a link AddLink added while Run runs, for Run's starter.
type pendingLink struct {
	id nd.LinkID
	l  link.Runnable
}

// startLinks is Run's link starter: it starts the links AddLink adds
// while Run runs, with Run's context, until that context ends; links
// added as it ends never run and leave the table.
func (f *Forwarder) startLinks(ctx context.Context) {
	for {
		select {
		case <-f.kick:
			f.runMu.Lock()
			todo := f.pending
			f.pending = nil
			for _, p := range todo {
				f.runLink(ctx, p.id, p.l)
			}
			f.runMu.Unlock()
		case <-ctx.Done():
			f.runMu.Lock()
			f.running, f.stopped = false, true
			todo := f.pending
			f.pending = nil
			f.runMu.Unlock()
			for _, p := range todo {
				f.dropLink(p.id)
			}
			return
		}
	}
}

// runLink starts link id's goroutines; when its Run returns (the link
// went away) the link leaves the table and its registrations go with it.
// A link that treats registered neighbours apart learns them from the
// registry first.
func (f *Forwarder) runLink(ctx context.Context, id nd.LinkID, l link.Runnable) {
	if na, ok := l.(link.NeighborAware); ok {
		na.SetRegisteredNeighbors(func(a lowpan.LinkAddr) bool { return f.reg.RegisteredOn(id, a, time.Now()) })
	}
	f.linkWG.Add(1)
	go func() {
		defer f.linkWG.Done()
		l.Run(ctx, func(d *link.Delivery) { f.fromMesh(id, d) })
		if ctx.Err() == nil {
			f.dropLink(id)
		}
	}()
}

// AddLink adds a link while the forwarder runs (a BLE connection that
// opened) and starts its receive loop; it returns the link's nd.LinkID.
// The link leaves when its Run returns.
func (f *Forwarder) AddLink(l link.Runnable) (nd.LinkID, error) {
	if l == nil {
		return 0, errors.New("router: AddLink: no link")
	}
	// runMu is held throughout, so that a link added while Run starts is
	// started exactly once: by Run, or by its starter.
	f.runMu.Lock()
	defer f.runMu.Unlock()
	if f.stopped {
		return 0, errors.New("router: AddLink: the forwarder has stopped")
	}
	f.linksMu.Lock()
	cur := *f.links.Load()
	id := -1
	for i, x := range cur {
		if x == nil && i >= len(f.cfg.Links) {
			id = i // a slot freed by a link that went away
			break
		}
	}
	next := append([]link.Runnable(nil), cur...)
	if id < 0 {
		id = len(next)
		next = append(next, l)
	} else {
		next[id] = l
	}
	f.links.Store(&next)
	f.linksMu.Unlock()
	f.log.Info("link up", "link", l.Name(), "id", id)
	if f.running {
		f.pending = append(f.pending, pendingLink{nd.LinkID(id), l})
		select {
		case f.kick <- struct{}{}:
		default:
		}
	}
	return nd.LinkID(id), nil
}

// dropLink empties link id's slot and removes the registrations made over
// it: the neighbour is gone, and the slot may serve another link next.
func (f *Forwarder) dropLink(id nd.LinkID) {
	f.linksMu.Lock()
	cur := *f.links.Load()
	if int(id) >= len(cur) || cur[id] == nil {
		f.linksMu.Unlock()
		return
	}
	name := cur[id].Name()
	next := append([]link.Runnable(nil), cur...)
	next[id] = nil
	f.links.Store(&next)
	f.linksMu.Unlock()
	n := f.reg.RemoveLink(id)
	f.log.Info("link down", "link", name, "id", id, "registrations_removed", n)
}

// link returns link id, or nil when it went away.
func (f *Forwarder) link(id nd.LinkID) link.Runnable {
	links := *f.links.Load()
	if int(id) >= len(links) {
		return nil
	}
	return links[id]
}

// LinkName names link id ("" when it went away).
func (f *Forwarder) LinkName(id nd.LinkID) string {
	if l := f.link(id); l != nil {
		return l.Name()
	}
	return ""
}

// Links returns the links present now (nil slots left out).
func (f *Forwarder) Links() []link.Runnable {
	var out []link.Runnable
	for _, l := range *f.links.Load() {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// ndTimers expires registrations, runs the context life cycle and saves
// the 6LBR's state.
func (f *Forwarder) ndTimers(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := f.cfg.ND.Save(time.Now()); err != nil {
				f.log.Warn("saving ND state", "err", err)
			}
			return
		case now := <-t.C:
			if err := f.cfg.ND.Maintain(now); err != nil {
				f.log.Warn("ND maintenance", "err", err)
			}
			f.applyContexts()
		}
	}
}

// applyContexts copies the 6LBR's contexts, in their current phase, into
// the links' table.
func (f *Forwarder) applyContexts() {
	if f.cfg.Contexts == nil {
		return
	}
	if err := f.cfg.ND.ApplyContexts(f.cfg.Contexts); err != nil {
		f.log.Warn("applying compression contexts", "err", err)
	}
}

// readTUN reads packets Linux routes to the mesh. It never waits for the
// air: the links queue what it hands them.
func (f *Forwarder) readTUN(ctx context.Context) error {
	buf := make([]byte, 65535)
	for {
		n, err := f.cfg.TUN.ReadPacket(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("router: read TUN: %w", err)
		}
		f.stats.fromTUN.Add(1)
		var since time.Time
		if f.cfg.TxLatency != nil {
			since = time.Now()
		}
		f.fromLinux(buf[:n], since)
	}
}

func (f *Forwarder) fromLinux(pkt []byte, since time.Time) {
	h := ip6.Header(pkt)
	if !h.IsValid() {
		f.stats.dropped.Add(1)
		return
	}
	if hostLinkControl(pkt) {
		f.stats.hostLinkControl.Add(1)
		return
	}
	dst := h.Dst()
	if dst.IsMulticast() {
		// Only groups of the configured scope or narrower go into the
		// mesh, as broadcast; nothing wider is flooded.
		if scope := h.MulticastScope(); scope < 2 || scope > f.cfg.MulticastScope {
			f.stats.dropped.Add(1)
			return
		}
		for id, l := range *f.links.Load() {
			if l == nil {
				continue
			}
			next := link.BroadcastShort
			if p2p, ok := l.(link.PointToPoint); ok {
				// No broadcast on a point-to-point link: unicast to the
				// neighbour, and only when it registered with us (RFC 9159
				// §3.3.4 keeps multicast off links whose node did not
				// ask for it).
				next = p2p.Peer()
				if !f.reg.RegisteredOn(nd.LinkID(id), next, time.Now()) {
					continue
				}
			}
			if err := l.Send(pkt, next, f.sendOpts(link.ClassData, since)); err != nil {
				f.sendFailed(err)
			}
		}
		f.stats.toMesh.Add(1)
		return
	}
	if dst.IsLinkLocalUnicast() {
		f.stats.dropped.Add(1) // the TUN's own link: nobody there
		return
	}
	f.forward(pkt, dst, true, since)
}

// forward sends a unicast packet to a registered mesh node, or answers
// with the ICMPv6 error the router owes.
func (f *Forwarder) forward(pkt []byte, dst netip.Addr, fromLinux bool, since time.Time) {
	if f.rpl != nil && f.forwardRPL(pkt, dst, fromLinux, since) {
		return
	}
	lid, ll, ok := f.reg.NextHop(dst, time.Now())
	if !ok {
		f.stats.unreach.Add(1)
		f.icmpError(pkt, ICMPv6DestUnreachable, CodeAddressUnreachable, 0, fromLinux)
		return
	}
	f.forwardTo(pkt, dst, lid, ll, fromLinux, since)
}

// forwardTo sends pkt to the next hop the registry gave for dst.
//
// The hop limit is decremented only when the 6LBR itself routes, mesh to
// mesh. A packet from Linux was routed by Linux into the TUN, which to
// Linux is the mesh link: Linux decremented it already (and answered
// "time exceeded" itself if it reached 0); doing it again would count one
// router twice (RFC 8200 §3: each node that forwards decrements by 1).
func (f *Forwarder) forwardTo(pkt []byte, dst netip.Addr, lid nd.LinkID, ll lowpan.LinkAddr, fromLinux bool, since time.Time) {
	h := ip6.Header(pkt)
	if !fromLinux && h.HopLimit() <= 1 {
		f.stats.hlim.Add(1)
		f.icmpError(pkt, ICMPv6TimeExceeded, CodeHopLimitExceeded, 0, fromLinux)
		return
	}
	l := f.link(lid)
	if l == nil {
		f.stats.unreach.Add(1)
		f.icmpError(pkt, ICMPv6DestUnreachable, CodeAddressUnreachable, 0, fromLinux)
		return
	}
	if len(pkt) > l.MTU() {
		f.stats.tooBig.Add(1)
		f.icmpError(pkt, ICMPv6PacketTooBig, 0, uint32(l.MTU()), fromLinux)
		return
	}
	if !fromLinux {
		h.SetHopLimit(h.HopLimit() - 1)
	}
	if err := l.Send(pkt, ll, f.sendOpts(link.ClassData, since)); err != nil {
		f.sendFailed(err)
		f.log.Debug("mesh send", "dst", dst, "err", err)
		return
	}
	if fromLinux {
		f.stats.toMesh.Add(1)
	} else {
		f.stats.meshToMesh.Add(1)
	}
}

// icmpError sends an ICMPv6 error about pkt back where it came from.
func (f *Forwarder) icmpError(pkt []byte, typ, code uint8, param uint32, toLinux bool) {
	if !f.rl.Allow(time.Now()) {
		return
	}
	src := f.cfg.Source
	msg, ok := AppendICMPv6Error(make([]byte, 0, minIPv6MTU), src, typ, code, param, pkt)
	if !ok {
		return
	}
	f.stats.icmpSent.Add(1)
	switch typ {
	case ICMPv6DestUnreachable:
		f.stats.unreachSent.Add(1)
	case ICMPv6PacketTooBig:
		f.stats.tooBigSent.Add(1)
	case ICMPv6TimeExceeded:
		f.stats.hlimSent.Add(1)
	}
	if toLinux {
		f.writeTUN(msg)
		return
	}
	dst := ip6.Header(msg).Dst()
	if f.rpl != nil {
		// A node only RPL knows: down its route, like the root's own
		// packets.
		var hopsBuf [16]netip.Addr
		if hops, external, err := f.rplRoute(hopsBuf[:0], dst, time.Now()); err == nil {
			f.rplDown(msg, dst, hops, external, true, link.ClassControl, time.Time{})
			return
		}
	}
	if lid, ll, ok := f.reg.NextHop(dst, time.Now()); ok {
		if l := f.link(lid); l != nil {
			if err := l.Send(msg, ll, link.SendOptions{}); err != nil {
				f.sendFailed(err)
			}
		}
	}
}

func (f *Forwarder) writeTUN(pkt []byte) {
	f.tunW.Lock()
	err := f.cfg.TUN.WritePacket(pkt)
	f.tunW.Unlock()
	if err != nil {
		f.stats.dropped.Add(1)
		return
	}
	f.stats.toTUN.Add(1)
}

// isND reports an ICMPv6 message the 6LBR handles: RS, RA, NS, NA, DAR,
// DAC (RFC 4861, RFC 6775).
func isND(pkt []byte) bool {
	h := ip6.Header(pkt)
	m := ip6.ICMPv6(h.Payload())
	if h.NextHeader() != ip6.ProtoICMPv6 || len(m) < ip6.ICMPv6HeaderLen {
		return false
	}
	switch m.Type() {
	case 133, 134, 135, 136, 157, 158:
		return true
	}
	return false
}

// fromMesh handles a packet a link received, on the link's receive
// goroutine: ND goes to the control path, a packet whose source the
// sender may not use is dropped (source.go), the rest is forwarded.
func (f *Forwarder) fromMesh(lid nd.LinkID, d *link.Delivery) {
	pkt := d.Packet
	h := ip6.Header(pkt)
	if !h.IsValid() {
		f.stats.dropped.Add(1)
		return
	}
	now := time.Now()
	if f.rpl != nil {
		// First what RPL wrapped around the packet: an EDAR from a 6LR
		// that follows RFC 9008 §6 carries an RPI, and the 6LBR must see
		// it as ND.
		out, decapsulated, ok := f.rplUp(pkt)
		if !ok {
			return
		}
		pkt, d.Packet, h = out, out, ip6.Header(out)
		if decapsulated && (isND(pkt) || h.Src().IsLinkLocalUnicast() || h.Dst().IsLinkLocalUnicast() || h.Dst().IsMulticast()) {
			// ND and link-scoped traffic never cross a router (RFC 4861
			// §6.1: hop limit 255 on receipt); inside a tunnel they would
			// reach the 6LBR, or Linux, around the control path's
			// admission.
			f.rpl.stats.tunnelledControl.Add(1)
			f.stats.dropped.Add(1)
			return
		}
		if isRPL(pkt) {
			f.admitRPL(lid, d.Src, pkt)
			return
		}
	}
	if isND(pkt) {
		f.admitND(lid, d, now)
		return
	}
	if v := f.checkSource(lid, d.Src, h.Src(), now); v != sourceOK {
		f.sourceRejected(v)
		return
	}
	dst := h.Dst()
	if dst.IsMulticast() || dst.IsLinkLocalUnicast() {
		// Link-scoped traffic from a node to us or to all: Linux decides.
		f.writeTUN(pkt)
		return
	}
	if f.rpl != nil && !f.isLocal(dst) && f.forwardRPL(pkt, dst, false, time.Time{}) {
		return // mesh to mesh, down the DODAG
	}
	if lid, ll, ok := f.reg.NextHop(dst, now); ok {
		f.forwardTo(pkt, dst, lid, ll, false, time.Time{}) // mesh to mesh, through us
		return
	}
	f.writeTUN(pkt) // to us or beyond: Linux routes it
}

// handleND hands one ND message, received on link lid from the link-layer
// address src, to the 6LBR and queues its replies as control traffic. The
// control worker calls it.
func (f *Forwarder) handleND(lid nd.LinkID, src lowpan.LinkAddr, pkt []byte) {
	var m nd.Message
	if err := nd.Parse(pkt, &m); err != nil {
		f.stats.dropped.Add(1)
		f.log.Debug("invalid ND message", "from", src, "err", err)
		return
	}
	f.stats.ndHandled.Add(1)
	l := f.link(lid)
	if l == nil {
		return
	}
	var replies [4]nd.Reply
	out := f.cfg.ND.Handle(replies[:0], &m, nd.Incoming{Link: lid, LinkSrc: src, Local: l.LinkAddr(), Now: time.Now()})
	for _, r := range out {
		f.stats.ndReplies.Add(1)
		next := r.LinkDst
		if next.Kind() == lowpan.LinkAddrNone {
			rd := ip6.Header(r.Packet).Dst()
			if rd.IsMulticast() {
				next = link.BroadcastShort
			} else if _, ll, ok := f.reg.NextHop(rd, time.Now()); ok {
				next = ll
			} else {
				next = src
			}
		}
		rl := f.link(r.Link)
		if rl == nil {
			continue
		}
		if p2p, ok := rl.(link.PointToPoint); ok && next == link.BroadcastShort {
			next = p2p.Peer()
		}
		if err := rl.Send(r.Packet, next, link.SendOptions{Class: link.ClassControl}); err != nil {
			f.sendFailed(err)
			f.log.Debug("ND reply", "to", next, "err", err)
		}
	}
}

// Stats returns the forwarder's counters.
func (f *Forwarder) Stats() ForwarderStats {
	return ForwarderStats{
		FromTUN: f.stats.fromTUN.Load(), ToTUN: f.stats.toTUN.Load(), ToMesh: f.stats.toMesh.Load(), MeshToMesh: f.stats.meshToMesh.Load(),
		NDHandled: f.stats.ndHandled.Load(), NDSent: f.stats.ndReplies.Load(), Unreachable: f.stats.unreach.Load(),
		HopLimitExceeded: f.stats.hlim.Load(), TooBig: f.stats.tooBig.Load(), ICMPErrorsSent: f.stats.icmpSent.Load(),
		ICMPErrorsRateLimited: f.rl.Denied(), Dropped: f.stats.dropped.Load(), SendRefused: f.stats.sendFail.Load(),
		ICMPUnreachableSent: f.stats.unreachSent.Load(), ICMPTooBigSent: f.stats.tooBigSent.Load(), ICMPHopLimitSent: f.stats.hlimSent.Load(),
		HostLinkControl: f.stats.hostLinkControl.Load(), QueueFull: f.stats.queueFull.Load(),
		NDFromNeighbors: f.stats.ctlNeighbor.Load(), NDFromStrangers: f.stats.ctlStranger.Load(),
		NDDroppedQueueFull: f.stats.ctlQueueFull.Load(), NDDroppedRateLimited: f.stats.ctlRateLimited.Load(), NDDroppedBudget: f.stats.ctlOverBudget.Load(),
		SourceUnregistered: f.stats.srcUnregistered.Load(), SourceLinkLocalMismatch: f.stats.srcLinkLocal.Load(), SourceInvalid: f.stats.srcInvalid.Load(),
	}
}

// AdvertiseNow sends an unsolicited RA to all nodes on link id, from the
// 6LBR's current link-local address and with the link's current address
// as SLLAO: after the radio came back with another EUI-64, nodes learn the
// new one at once instead of at their next RS.
func (f *Forwarder) AdvertiseNow(id nd.LinkID) error {
	l := f.link(id)
	if l == nil {
		return fmt.Errorf("router: advertise on link %d: no such link", id)
	}
	var out [1]nd.Reply
	for _, r := range f.cfg.ND.UnsolicitedRA(out[:0], id, l.LinkAddr()) {
		next := link.BroadcastShort
		if p2p, ok := l.(link.PointToPoint); ok {
			next = p2p.Peer()
		}
		f.stats.ndReplies.Add(1)
		if err := l.Send(r.Packet, next, link.SendOptions{Class: link.ClassControl}); err != nil {
			f.sendFailed(err)
			return fmt.Errorf("router: advertise on %s: %w", l.Name(), err)
		}
	}
	return nil
}

// sendOpts qualifies a packet for a link's queue: the TUN read time
// travels with packets from Linux, for the transmit latency histogram.
func (f *Forwarder) sendOpts(c link.Class, since time.Time) link.SendOptions {
	o := link.SendOptions{Class: c}
	if !since.IsZero() && f.cfg.TxLatency != nil {
		o.Since, o.Latency = since, f.cfg.TxLatency
	}
	return o
}

// sendFailed counts a packet a link would not queue.
func (f *Forwarder) sendFailed(err error) {
	f.stats.sendFail.Add(1)
	if errors.Is(err, link.ErrQueueFull) {
		f.stats.queueFull.Add(1)
	}
}

// hostLinkControl reports a packet Linux sent on the TUN for the link
// itself: router and neighbour discovery (RFC 4861 types 133–137) and
// multicast listener discovery (RFC 2710 types 130–132, RFC 3810 type
// 143, behind a hop-by-hop Router Alert). Linux sends them because the
// TUN is a link to it; the mesh's ND is the 6LBR's, from its own
// link-local address and with its SLLAO, and 6LoWPAN-ND has no MLD.
func hostLinkControl(pkt []byte) bool {
	h := ip6.Header(pkt)
	next, rest := h.NextHeader(), h.Payload()
	if next == ip6.ProtoHopByHop && len(rest) >= 8 {
		// RFC 8200 §4.3: next header, then the length in 8-octet units
		// not counting the first 8.
		next, rest = rest[0], rest[min(len(rest), 8*(1+int(rest[1]))):]
	}
	m := ip6.ICMPv6(rest)
	if next != ip6.ProtoICMPv6 || len(m) < 1 {
		return false
	}
	switch m.Type() {
	case 130, 131, 132, 133, 134, 135, 136, 137, 143:
		return true
	}
	return false
}

// TUN is what the forwarder needs of the host interface (hostif.TUN is
// one): packets in and out of Linux. One goroutine reads while others
// write; WritePacket calls are serialised by the forwarder.
type TUN interface {
	ReadPacket(buf []byte) (int, error)
	WritePacket(pkt []byte) error
}
