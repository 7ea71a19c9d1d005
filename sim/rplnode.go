package sim

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// Routing is how a simulated mesh finds its way down to its nodes.
type Routing string

const (
	// RoutingND: 6LRs relay their children's registrations to the 6LBR in
	// EDARs and learn the way down from the EDACs (RFC 8505 §6.1), no
	// routing protocol.
	RoutingND Routing = "nd"
	// RoutingRPL: every router runs RPL (RFC 6550, rpl.Router) under the
	// border router's DODAG root, as RIOT's gnrc_rpl nodes do; leaves are
	// RPL-unaware (RFC 9010 RULs) and registered by their 6LR's DAOs.
	RoutingRPL Routing = "rpl"
)

// rplNode is a simulated node's RPL side: the router and what feeds it.
// mu guards rtr; the node's RPL goroutine (runRPL) runs its timers, the
// receive path hands it messages through in.
type rplNode struct {
	mu  sync.Mutex
	rtr *rpl.Router
	in  chan rplMsg
	// ref is what the node's 6LoWPAN codec was told of the DODAG (RFC
	// 8138 decoding needs the root's address and the RPI type); owned by
	// runRPL.
	ref lowpan.RPLReference
	// logged is the parent last logged (invalid: detached, or not yet
	// joined), ever whether one was; owned by runRPL.
	logged netip.Addr
	ever   bool
}

type rplMsg struct {
	m        rpl.Message
	src, dst netip.Addr
	from     lowpan.LinkAddr
}

// rplInQueue bounds the RPL messages waiting for the node's RPL goroutine.
const rplInQueue = 64

func (n *Node) rplRouter() bool { return n.rpl != nil }

// rplMode: the node lives in a RPL mesh (a router or a RUL).
func (n *Node) rplMode() bool { return n.cfg.Routing == RoutingRPL }

// macOf is the link-layer address behind a link-local or global address
// whose interface identifier was formed from an EUI-64 (RFC 4944 §6:
// the universal/local bit inverted), as every simulated node's is: RPL
// names neighbours by such addresses (parents, DAO senders, source-route
// hops, which RFC 6554 §4.2 has on-link).
func macOf(a netip.Addr) lowpan.LinkAddr {
	b := a.As16()
	var e [8]byte
	copy(e[:], b[8:])
	e[0] ^= 0x02
	return lowpan.ExtendedLinkAddr(e)
}

// runRPL owns the node's RPL timers: the start-up DIS (RIOT
// gnrc_rpl_init), then trickle DIOs, parent probes and DAOs as the
// router's Next says, and the messages the receive path queues.
func (n *Node) runRPL(ctx context.Context) {
	r := n.rpl
	r.mu.Lock()
	out := r.rtr.Start(nil, time.Now())
	r.mu.Unlock()
	n.sendRPL(out)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		r.mu.Lock()
		d := r.rtr.Next(time.Now())
		r.mu.Unlock()
		if d < 0 {
			d = time.Hour
		}
		t.Reset(d)
		select {
		case <-ctx.Done():
			return
		case msg := <-r.in:
			out = out[:0]
			if msg.m != nil { // nil: only a wake-up (wakeRPL)
				r.mu.Lock()
				out = r.rtr.Handle(out, msg.m, msg.src, msg.dst, time.Now())
				r.mu.Unlock()
			}
		case <-t.C:
			r.mu.Lock()
			out = r.rtr.Tick(out[:0], time.Now())
			r.mu.Unlock()
		}
		n.syncParent()
		n.sendRPL(out)
	}
}

// syncParent makes the RPL preferred parent the node's router: the one it
// registers its address with (RFC 9010 §9.2.1: a RAN registers with its
// parent) and its default route. A new parent wakes Run to register anew.
func (n *Node) syncParent() {
	n.rpl.mu.Lock()
	p, ok := n.rpl.rtr.Parent()
	joined := n.rpl.rtr.Rank() != rpl.InfiniteRank
	pfx := n.rpl.rtr.Prefix()
	ref := lowpan.RPLReference{Root: n.rpl.rtr.DODAGID(), RPIType: rpl.OptionTypeRPI6553, Storing: n.rpl.rtr.MOP() == rpl.MOPStoring}
	if n.rpl.rtr.Config().RPI0x23 {
		ref.RPIType = rpl.OptionTypeRPI9008 // RFC 9008 §4.3: the D flag
	}
	rank, floating := n.rpl.rtr.Rank(), n.rpl.rtr.Floating()
	n.rpl.mu.Unlock()
	n.logParent(p, ok && joined, rank, floating)
	if !ok || !joined {
		return
	}
	if ref != n.rpl.ref && ref.Root.IsValid() {
		// RFC 8138 6LoRHs from the root elide or compress against its
		// address (§4.3, §7) and rebuild the RPI with the instance's
		// type: what a RIOT or Contiki-NG node would take from the DIO
		// if it decoded 6LoRH (neither does; see lowpan/doc.go).
		if err := n.ctxs.SetRPL(ref); err == nil {
			n.rpl.ref = ref
		}
	}
	n.mu.Lock()
	if !n.st.Prefix.IsValid() && pfx.IsValid() && pfx.Bits() == 64 {
		n.st.Prefix = pfx
	}
	changed := n.st.Router != p
	had := n.st.Router.IsValid()
	if changed {
		n.st.Router, n.st.RouterMAC = p, macOf(p)
	}
	n.mu.Unlock()
	if !changed {
		return
	}
	select {
	case n.ra <- struct{}{}:
	default:
	}
	if had {
		select {
		case n.lostRouter <- struct{}{}:
		default:
		}
	}
}

// logParent logs a change of preferred parent, and a detach (no parent
// left: the router floats a DODAG of its own, as RIOT does, or poisons its
// sub-DODAG, RFC 6550 §8.2.2.5), at Info:
// what an operator rehearsing a failure on the simulator watches for. The
// first parent is at Debug: "registered" follows it.
func (n *Node) logParent(p netip.Addr, joined bool, rank uint16, floating bool) {
	was := n.rpl.logged
	switch {
	case joined && p != was && !n.rpl.ever:
		n.log.Debug("rpl: parent", "parent", p, "rank", rank)
	case joined && !was.IsValid():
		n.log.Info("rpl: joined again", "parent", p, "rank", rank)
	case joined && p != was:
		n.log.Info("rpl: parent changed", "parent", p, "rank", rank, "was", was)
	case !joined && was.IsValid() && floating:
		// RIOT's local repair: the root of a DODAG of its own.
		n.log.Info("rpl: detached, no parent left; floating a DODAG of its own", "was", was)
	case !joined && was.IsValid():
		n.log.Info("rpl: detached, no parent left", "was", was)
	default:
		return
	}
	n.rpl.logged = netip.Addr{}
	if joined {
		n.rpl.logged, n.rpl.ever = p, true
	}
}

// sendRPL sends the router's messages: multicast as broadcast, link-local
// to the neighbour the address names, global ones (non-storing DAOs to the
// root) up the default route.
func (n *Node) sendRPL(out []rpl.Reply) {
	for _, rep := range out {
		p := ip6.Header(make([]byte, ip6.HeaderLen+len(rep.Msg)))
		// RIOT sends its RPL control messages with hop limit 64
		// (rpl/testdata/riot/README.md, claim 6).
		p.Encode(&ip6.Fields{PayloadLength: uint16(len(rep.Msg)), NextHeader: ip6.ProtoICMPv6, HopLimit: 64, Src: rep.Src, Dst: rep.Dst})
		copy(p.Payload(), rep.Msg)
		switch {
		case rep.Dst.IsMulticast():
			n.send(p, link.BroadcastShort)
		case rep.Dst.IsLinkLocalUnicast():
			n.send(p, macOf(rep.Dst))
		default:
			n.sendUp(p)
		}
	}
}

// queueRPL hands a received RPL message to the RPL goroutine.
func (n *Node) queueRPL(p []byte, from lowpan.LinkAddr) {
	h := ip6.Header(p)
	m, err := rpl.Parse(h.Payload())
	if err != nil || !m.ChecksumValid(h.Src(), h.Dst()) {
		return
	}
	select {
	case n.rpl.in <- rplMsg{m: rpl.Message(append([]byte(nil), m...)), src: h.Src(), dst: h.Dst(), from: from}:
	default:
	}
}

// rpiFields says whether the node's own packets carry an RPI, and which:
// RFC 9008 §4.2 makes a DODAG Configuration option with the D flag
// announce the 0x23 RPI, which RAN-originated packets then carry
// (RFC 9008 §7.1.1, §8.1.1); without it the node sends none, as RIOT
// (which never inserts one, rpl/testdata/riot/README.md, "Data").
func (n *Node) rpiFields() (rpl.RPIFields, bool) {
	if n.rpl == nil {
		return rpl.RPIFields{}, false
	}
	n.rpl.mu.Lock()
	defer n.rpl.mu.Unlock()
	if !n.rpl.rtr.Config().RPI0x23 {
		return rpl.RPIFields{}, false
	}
	return n.rpl.rtr.RPI(rpl.OptionTypeRPI9008)
}

// sendUp sends a packet the node originates to its default router: in a
// RPL mesh its preferred parent, with an RPI when the DODAG asks for one.
func (n *Node) sendUp(p []byte) {
	if f, ok := n.rpiFields(); ok {
		if q, err := rpl.InsertHeaders(nil, p, rpl.Headers{RPI: &f}); err == nil {
			p = q
		}
	}
	n.mu.Lock()
	next := n.st.RouterMAC
	n.mu.Unlock()
	n.send(p, next)
}

// rplGlobal is the global address the router formed from the DODAG's PIO.
func (n *Node) rplGlobal() netip.Addr {
	if n.rpl == nil {
		return netip.Addr{}
	}
	n.rpl.mu.Lock()
	defer n.rpl.mu.Unlock()
	return n.rpl.rtr.Global()
}

// upperLayer returns a copy of p with its extension headers (Hop-by-Hop,
// Routing with Segments Left 0, Destination Options) removed, for the
// node's own processing of a packet addressed to it; p itself when it
// has none.
func upperLayer(p []byte) []byte {
	h := ip6.Header(p)
	next, off := h.NextHeader(), ip6.HeaderLen
	if next != ip6.ProtoHopByHop && next != ip6.ProtoRouting && next != ip6.ProtoDestOpts {
		return p
	}
	for next == ip6.ProtoHopByHop || next == ip6.ProtoRouting || next == ip6.ProtoDestOpts {
		if len(p) < off+2 {
			return nil
		}
		l := (int(p[off+1]) + 1) * 8
		if len(p) < off+l {
			return nil
		}
		next, off = p[off], off+l
	}
	q := ip6.Header(append(append([]byte(nil), p[:ip6.HeaderLen]...), p[off:]...))
	q.SetNextHeader(next)
	q.SetPayloadLength(uint16(len(q) - ip6.HeaderLen))
	return q
}

// receiveRPL handles, in a RPL mesh, a packet addressed to this router
// (dst one of its addresses) that carries RPL's data-plane headers: a
// Source Routing Header with segments left is advanced and forwarded
// (RFC 6554 §4.2); an IPv6-in-IPv6 packet at its tunnel end is
// decapsulated (RFC 9008 §7, §8; RFC 2473 §3.3) and its inner packet
// handled as if received; anything else is stripped to its upper layer
// for the node itself. It returns the packet to process locally, nil when
// done.
func (n *Node) receiveRPL(p []byte, from lowpan.LinkAddr) []byte {
	next, err := rpl.NextSegment(p)
	switch {
	case err == nil:
		rpl.UpdateRPI(p, func(o rpl.RPLOption) { err = n.forwardRPI(o, true) })
		if err != nil {
			return nil
		}
		n.forwardTo(p, macOf(next))
		return nil
	case errors.Is(err, rpl.ErrSRHDone), errors.Is(err, rpl.ErrNoSRH):
	default:
		n.log.Debug("source route", "err", err)
		return nil
	}
	if in, err := rpl.Decapsulate(p); err == nil {
		inner := append([]byte(nil), in...)
		if len(inner) < ip6.HeaderLen || !ip6.Header(inner).IsValid() {
			return nil
		}
		dst := ip6.Header(inner).Dst()
		if n.isMine(dst) {
			return upperLayer(inner)
		}
		n.forwardRPL(inner, from)
		return nil
	}
	return upperLayer(p)
}

func (n *Node) forwardRPI(o rpl.RPLOption, down bool) error {
	n.rpl.mu.Lock()
	defer n.rpl.mu.Unlock()
	return n.rpl.rtr.ForwardRPI(o, down)
}

// isMine reports whether dst is one of the node's unicast addresses.
func (n *Node) isMine(dst netip.Addr) bool {
	n.mu.Lock()
	global := n.st.Global
	n.mu.Unlock()
	return dst == n.ll || (global.IsValid() && dst == global) || (n.rpl != nil && dst == n.rplGlobal())
}

// forwardRPL is a RPL router's forwarding of a packet not addressed to it
// (RFC 6550 §11.2): down to a RUL or neighbour registered with it, down
// by a storing-mode route (§9.8, the child whose DAO announced dst), else
// up the default route to the preferred parent — unless it came from the
// parent, when it is dropped (a forwarding error, §11.2.2.3). A packet
// with an RPI has it checked and its sender rank set (§11.2.2.2).
func (n *Node) forwardRPL(p []byte, from lowpan.LinkAddr) {
	h := ip6.Header(p)
	if h.HopLimit() <= 1 {
		return
	}
	dst := h.Dst()
	if dst.IsLinkLocalUnicast() || dst.IsMulticast() {
		return
	}
	n.mu.Lock()
	r, child := n.routes[dst]
	if child && time.Now().After(r.expires) {
		delete(n.routes, dst)
		child = false
	}
	parent := n.st.RouterMAC
	n.mu.Unlock()
	next, down := r.next, child
	if !down {
		n.rpl.mu.Lock()
		nh, ok := n.rpl.rtr.NextHop(dst, time.Now())
		n.rpl.mu.Unlock()
		if ok {
			next, down = macOf(nh), true
		}
	}
	if !down {
		if from == parent {
			return
		}
		next = parent
	}
	var err error
	rpl.UpdateRPI(p, func(o rpl.RPLOption) { err = n.forwardRPI(o, down) })
	if err != nil {
		return
	}
	n.forwardTo(p, next)
}

// forwardTo decrements the hop limit and queues p for next. It does not
// wait for the frames' outcome as the node's own packets do: forwarding
// runs on the link's receive path, and waiting there for every relayed
// DAO's acknowledgements left the radio's reception queue to overflow at
// the routers near the root of a non-storing mesh.
func (n *Node) forwardTo(p []byte, next lowpan.LinkAddr) {
	h := ip6.Header(p)
	if h.HopLimit() <= 1 {
		return
	}
	h.SetHopLimit(h.HopLimit() - 1)
	n.mu.Lock()
	n.st.Forwarded++
	n.mu.Unlock()
	if err := n.link.Send(p, next, link.SendOptions{}); err != nil {
		n.log.Debug("forward", "to", next, "err", err)
	}
}

// registerLocally answers a child's NS(EARO) at a RPL 6LR (RFC 9010
// §9.2.2: the 6LR, not the 6LBR by EDAR, answers; with RPL the 6LR does
// not relay the registration, RFC 8505 §6.1 leaves that to deployments
// without a routing protocol). The child becomes a neighbour the router
// delivers to directly; a RUL (R flag set, RFC 9010 §9.2.1) is also
// advertised in the router's DAOs with its ROVR, TID and lifetime
// (rpl.Router.AddRUL). The NA goes at once, without waiting for the
// DAO-ACK.
func (n *Node) registerLocally(m *nd.Message, childMAC lowpan.LinkAddr, aro nd.AROFields, target netip.Addr) {
	life := time.Duration(aro.Lifetime) * time.Minute
	n.mu.Lock()
	if life > 0 {
		n.routes[target] = route{next: childMAC, expires: time.Now().Add(life), child: true}
	} else if cur, ok := n.routes[target]; ok && cur.next == childMAC {
		delete(n.routes, target)
	}
	n.mu.Unlock()
	if aro.R || life == 0 {
		n.rpl.mu.Lock()
		rovr := aro.ROVR
		if n.cfg.LegacyTargets {
			rovr = nil
		}
		out, err := n.rpl.rtr.AddRUL(nil, target, rovr, aro.TID, life, time.Now())
		n.rpl.mu.Unlock()
		if err != nil {
			aro.Status = nd.StatusNeighborCacheFull
		}
		n.sendRPL(out)
		n.wakeRPL()
	}
	n.answerNS(m.Src, childMAC, target, aro)
}

// wakeRPL makes the RPL goroutine look at its timers again (a leaf added
// scheduled a DAO).
func (n *Node) wakeRPL() {
	select {
	case n.rpl.in <- rplMsg{}:
	default:
	}
}

// RPLState is what a simulated RPL router knows of its DODAG.
type RPLState struct {
	Joined     bool
	Floating   bool       // RIOT's local repair: the root of a DODAG of its own
	DODAGID    netip.Addr // its own global address while floating
	Rank       uint16
	MOP        uint8
	Version    uint8
	Parent     netip.Addr
	ParentRank uint16
	Global     netip.Addr
	DAOAcked   bool
	Routes     int // storing-mode routes learnt from children
	RULs       int
	Counters   rpl.RouterCounters
}

// RPL returns the node's RPL state; false for a node that is not a RPL
// router.
func (n *Node) RPL() (RPLState, bool) {
	if n.rpl == nil {
		return RPLState{}, false
	}
	n.rpl.mu.Lock()
	defer n.rpl.mu.Unlock()
	r := n.rpl.rtr
	p, _ := r.Parent()
	acked, _ := r.DAOAcked()
	return RPLState{Joined: r.Joined(), Floating: r.Floating(), DODAGID: r.DODAGID(), Rank: r.Rank(), MOP: r.MOP(), Version: r.Version(), Parent: p, ParentRank: r.ParentRank(),
		Global: r.Global(), DAOAcked: acked, Routes: r.Routes(), RULs: r.RULs(), Counters: r.Counters()}, true
}
