package medium

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
)

// zepQueueLen bounds each ZEP writer's queue; zepPeerMaxQueue bounds the
// frames a peer may have waiting for the event loop.
const (
	zepQueueLen     = 256
	zepPeerMaxQueue = 32
)

// zepTypeHello is the message type of the "hello" that RIOT's socket_zep
// sends when built with socket_zep_hello (cpu/native/socket_zep/socket_zep.c
// _send_zep_hello: a v2 data header with type 255 and the node's EUI-64),
// for RIOT's own dispatcher. It carries no frame.
const zepTypeHello = 255

// ZEPConfig configures a hub started with ServeZEPWith. The zero value is
// what RIOT's native nodes need.
type ZEPConfig struct {
	// AutoAck reports, for a peer (the address and port its datagrams come
	// from, asked once when it joins), whether the medium sends Imm-Acks on
	// its behalf, as its radio would, for the unicast frames with AR
	// addressed to it. Use it for ZEP nodes that do not acknowledge frames
	// themselves (ZEPAutoAckAll for all of them). nil means for no peer:
	// RIOT's GNRC nodes acknowledge on their own, over ZEP — with socket_zep
	// the module netdev_ieee802154_submac_soft_ack is always in
	// (cpu/native/Makefile.dep), and netdev_ieee802154_submac.c _recv sends
	// an Imm-Ack for every data frame with AR it reads — so a hub that
	// acknowledged too would put two ACKs on the air for every frame to
	// them. Config.ZEPNoAutoAck, when set, turns hub ACKs off for every peer
	// whatever AutoAck says.
	//
	// The medium learns a peer's PAN ID and short and extended addresses
	// from the source fields of the peer's own frames, so a peer is
	// acknowledged only after it has sent something. The ACK's frame
	// pending bit is never set for a peer.
	AutoAck func(peer netip.AddrPort) bool
}

// ZEPAutoAckAll is a ZEPConfig.AutoAck that has the medium acknowledge for
// every peer.
func ZEPAutoAckAll(netip.AddrPort) bool { return true }

// zepHub is one ServeZEP: a UDP socket and the peers that talk to it.
type zepHub struct {
	m     *Medium
	cfg   ZEPConfig
	conn  *net.UDPConn
	out   chan zepOut
	peers map[netip.AddrPort]*Node // owned by the reading goroutine
	// byExt: the peer each extended address was last heard from (its
	// frames' source); owned by the reading goroutine.
	byExt map[[8]byte]netip.AddrPort
}

// zepOut is a message queued for a peer.
type zepOut struct {
	zepItem
	peer *zepPeer
	// mark is the virtual time the message stands for at the peer: when
	// socket_zep would have written the frame (zepWriteDelay after its
	// first symbol), the first symbol for an ACK sent ahead (zepAckAhead).
	// It ties the peer's wall clock to virtual time.
	mark time.Duration
	// notBefore, when set, is the wall-clock time before which the
	// message must not leave.
	notBefore time.Time
	// holdGen, when not 0, is the hold the message's hand-over starts the
	// peer's answer time for.
	holdGen uint64
}

// zepPeer is the external side of a ZEP node. Guarded by m.mu.
type zepPeer struct {
	hub     *zepHub
	addr    netip.AddrPort
	autoAck bool
	pending int // frames taken from the peer, not yet on the air
	// The addresses the peer uses, learnt from the source fields of the
	// frames it sends, so that the medium can acknowledge frames to it.
	pan      uint16
	short    uint16
	ext      [8]byte
	hasPAN   bool
	hasShort bool
	hasExt   bool
	// synced: the peer was handed a message standing for virtual time
	// syncVirt at wall-clock time syncWall (zepOut.mark).
	synced   bool
	syncVirt time.Duration
	syncWall time.Time
	lastAt   time.Duration // virtual time of the peer's latest frame
	// holding: the medium's events wait until the peer answers a frame it
	// is to acknowledge (holdGen tells holds apart); the hold began at
	// virtual time holdVirt, wall-clock time holdWall.
	holding  bool
	holdGen  uint64
	holdVirt time.Duration
	holdWall time.Time
	// early describes the ACK sent to the peer ahead of its own end on
	// the air (zepAir); its copy from the air is not forwarded again.
	early struct {
		pending bool
		from    *Node
		start   time.Duration
	}
}

// ServeZEP is ServeZEPWith with the zero ZEPConfig.
func (m *Medium) ServeZEP(ctx context.Context, conn *net.UDPConn) error {
	return m.ServeZEPWith(ctx, conn, ZEPConfig{})
}

// ServeZEPWith connects simulated nodes that speak ZEP v2 over UDP (RIOT's
// native build with its socket_zep driver, for one) to the medium, until
// ctx is done or the medium is closed. conn is the hub's socket; the caller
// keeps ownership (ServeZEPWith only sets and finally clears its read
// deadline).
//
// The first ZEP data message from an address and port attaches a peer: a
// promiscuous node with its receiver always on, on the channel named in
// the message (later messages may move it). A peer is forgotten (detached,
// Stats.ZEPPeersGone) when the kernel reports its port closed — the hub
// asks for ICMP errors on its socket (Linux: IP_RECVERR), so the first
// datagram after a node's process exits does it — or when another address
// sends frames from the extended address the peer used: a node restarted
// with the same EUI-64 replaces its predecessor. The peer runs its own MAC: its
// PSDUs go on the air as they are, FCS untouched, with no CSMA-CA and no
// ACK wait. Every frame the peer hears on its channel (its own excepted,
// subject to links, collisions and loss like any node) is sent back as a
// ZEP v2 data message in CRC mode, with the link's LQI, from conn itself,
// when the frame's last symbol is over (an Imm-Ack for the peer's own
// frame sooner, see below): peers connect() their socket to
// the hub's address and port and their kernel drops datagrams from
// anywhere else. Bind conn to the address peers send to, not to a
// wildcard, so replies leave from it.
//
// Timing follows RIOT's socket_zep (cpu/native/socket_zep/socket_zep.c),
// which writes a frame's datagram when the frame's air time is over:
// _request_transmit arms a timer for the PSDU's octets at 32 µs each less
// 200 µs (its allowance for the native port's timer overhead; frames of at
// most 200 µs, Imm-Acks among them, are written at once), and _send_frame
// writes the datagram when it fires. Then the node waits macAckWaitDuration
// (864 µs, ACK_TIMEOUT_US in sys/net/link_layer/ieee802154/submac.c) from
// about that write for an Imm-Ack, and retransmits at once, without
// CSMA-CA, when none came (up to 4 times). So:
//
//   - A datagram's arrival is the END of the frame's air time: the frame
//     occupied the channel for AirTime before it and is received at once by
//     every node that can (zepAir).
//   - A medium node that acknowledges a peer's frame does so
//     aTurnaroundTime later on the air, as always; the peer is sent that ACK
//     aTurnaroundTime after its datagram arrived by the wall clock, the
//     ACK's first symbol, which is when socket_zep writes an ACK too —
//     waited for precisely rather than on the medium's timer, which may wake
//     up a millisecond late — so it lands well inside the peer's 864 µs
//     (zepAckAhead). The ACK's own copy from the air is not sent again.
//   - The peer acknowledges frames to it itself (see ZEPConfig.AutoAck),
//     and its Imm-Ack must reach the sender, a medium node waiting
//     macAckWaitDuration in virtual time, when the peer answered in time by
//     the wall clock. A peer's datagram is placed in virtual time by the
//     peer's own reaction time: the wall time since the hub handed it its
//     latest message, added to the virtual time that message stood for —
//     for a frame, the moment a socket_zep sender would have written it,
//     392 µs before its last symbol (zepWriteDelay) — and no later than the
//     medium's clock. And once a frame the peer is to acknowledge is handed
//     over, the medium's events wait until the peer's next datagram arrives
//     or twice macAckWaitDuration of wall time has passed, so that the
//     sender's ACK timeout cannot run before a timely answer is placed,
//     however slowly the peer and the hub are scheduled (zepReceive). Whether
//     the answer was in time is decided by where it lands in virtual time,
//     so a late one stays late.
//
// The peer is a radio like any other on the medium: it hears what its
// links let it hear, and frames still on the air at a receiver when a
// peer's datagram arrives collide with the peer's frame there. It is not
// made deaf to what it hears while it transmits: socket_zep discards what
// arrives while it transmits or before its MAC turned its receiver back on
// (_socket_isr), which is the peer's business.
//
// RIOT's "hello" messages (type 255) are ignored. Other undecodable
// datagrams, ZEP acks, and PSDUs of fewer than 4 octets are counted in
// Stats.ZEPErrors and dropped. ServeZEPWith returns nil when the medium
// closes, ctx's error when ctx ends, or a read error; its peers are
// detached before it returns.
func (m *Medium) ServeZEPWith(ctx context.Context, conn *net.UDPConn, cfg ZEPConfig) error {
	h := newZEPHub(m, conn, cfg)
	enableUnreachable(conn)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.zepWriter(ctx) }()
	go func() {
		// zepStopper wakes the blocked read when it is time to stop.
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-m.done:
			cancel()
		}
		_ = conn.SetReadDeadline(time.Unix(1, 0))
	}()
	err := h.zepReader(ctx)
	cancel()
	wg.Wait()
	_ = conn.SetReadDeadline(time.Time{})
	m.mu.Lock()
	for _, n := range h.peers {
		m.zepRelease(n.peer, n.peer.holdGen)
	}
	m.mu.Unlock()
	for _, n := range h.peers {
		n.Detach()
	}
	return err
}

func newZEPHub(m *Medium, conn *net.UDPConn, cfg ZEPConfig) *zepHub {
	return &zepHub{m: m, cfg: cfg, conn: conn, out: make(chan zepOut, zepQueueLen),
		peers: make(map[netip.AddrPort]*Node), byExt: make(map[[8]byte]netip.AddrPort)}
}

// zepReader reads datagrams from peers and puts their frames on the air.
func (h *zepHub) zepReader(ctx context.Context) error {
	m := h.m
	buf := make([]byte, 2048)
	for {
		nr, from, err := h.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-m.done:
				return nil
			default:
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				// A peer's port is closed (enableUnreachable): forget it.
				for _, a := range readUnreachable(h.conn) {
					h.forget(a, "its port is closed")
				}
				continue
			}
			return fmt.Errorf("medium: ZEP read: %w", err)
		}
		h.handle(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), buf[:nr], time.Now())
	}
}

// handle takes one datagram that arrived at wall-clock time arrived.
func (h *zepHub) handle(from netip.AddrPort, b []byte, arrived time.Time) {
	m := h.m
	if len(b) >= 4 && b[0] == 'E' && b[1] == 'X' && b[2] == 2 && b[3] == zepTypeHello {
		m.log.Debug("medium: ZEP hello ignored", "from", from)
		return
	}
	var z pcapio.ZEP
	if err := z.Decode(b); err != nil || z.Type != pcapio.ZEPTypeData || len(z.PSDU) < 4 ||
		len(z.PSDU) > ieee802154.MaxPSDU || z.Channel < MinChannel || z.Channel > MaxChannel {
		m.mu.Lock()
		m.stats.ZEPErrors++
		m.mu.Unlock()
		m.log.Debug("medium: ZEP datagram dropped", "from", from, "len", len(b), "err", err)
		return
	}
	psdu := append([]byte(nil), z.PSDU...)
	ch := z.Channel
	var fr ieee802154.Frame
	decoded := fr.Decode(psdu, true) == nil
	if decoded && fr.Src.Mode == ieee802154.AddrExtended {
		// A node restarted (RIOT native: a new process, a new port) speaks
		// with the EUI-64 its predecessor had; the predecessor is gone and
		// must not shadow it (it would be sent every frame and answer none).
		if old, ok := h.byExt[[8]byte(fr.Src.Ext)]; ok && old != from {
			h.forget(old, "replaced by "+from.String())
		}
	}
	n := h.peers[from]
	if n == nil {
		peer := &zepPeer{hub: h, addr: from, autoAck: h.cfg.AutoAck != nil && h.cfg.AutoAck(from)}
		var err error
		n, err = m.attach(NodeConfig{Name: "zep " + from.String(), Channel: z.Channel, Promiscuous: true, RxOnWhenIdle: true}, peer)
		if err != nil {
			return // closed
		}
		h.peers[from] = n
		m.log.Info("medium: ZEP peer joined", "peer", from, "channel", z.Channel, "auto_ack", peer.autoAck)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	p := n.peer
	if n.detached || m.closed {
		return
	}
	m.catchUp()
	m.stats.ZEPIn++
	if n.cfg.Channel != ch {
		n.cfg.Channel = ch
		n.rxing = nil
	}
	if decoded {
		p.learn(&fr)
		if p.hasExt {
			h.byExt[p.ext] = from
		}
	}
	if p.pending >= zepPeerMaxQueue {
		m.stats.ZEPDropped++
		return
	}
	p.pending++
	at := p.arrival(m, arrived)
	if p.holding && at > m.heldAt {
		// The clock stood still while the peer took its time to answer:
		// the answer is due at once.
		m.heldAt = at
	}
	m.queueCall(at, n.id, func() {
		p.pending--
		if !n.detached {
			m.zepAir(n, ch, psdu, arrived)
		}
	})
	// The peer answered (its Imm-Ack, most likely): time may go on, its
	// frame first.
	m.zepRelease(p, p.holdGen)
	m.runCalls(at)
}

// forget detaches the peer at addr, if there is one: its process is gone
// or another peer took its EUI-64. A datagram from addr later attaches it
// anew. Runs on the reading goroutine.
func (h *zepHub) forget(addr netip.AddrPort, why string) {
	n := h.peers[addr]
	if n == nil {
		return
	}
	delete(h.peers, addr)
	// p.ext and p.hasExt are written only by this goroutine (handle).
	if p := n.peer; p.hasExt && h.byExt[p.ext] == addr {
		delete(h.byExt, p.ext)
	}
	m := h.m
	m.mu.Lock()
	m.zepRelease(n.peer, n.peer.holdGen)
	m.stats.ZEPPeersGone++
	m.mu.Unlock()
	n.Detach()
	m.log.Info("medium: ZEP peer forgotten", "peer", addr, "why", why)
}

// zepWriteDelay is how long after a frame's first symbol socket_zep writes
// its datagram: the PSDU's octets at 32 µs each less 200 µs, or at once when
// that is 200 µs or less (cpu/native/socket_zep/socket_zep.c
// _request_transmit). It counts neither the 6 octets of preamble, SFD and
// PHR (192 µs) nor the 200 µs, so a socket_zep node gets a frame from
// another 392 µs before the frame's last symbol, and an Imm-Ack when its
// first symbol goes out. A frame handed to a peer stands for that moment of
// virtual time (zepOut.mark), so that the peer's reaction to it is counted
// as it would be from another peer.
func zepWriteDelay(psduLen int) time.Duration {
	return max(0, time.Duration(psduLen)*OctetDuration-200*time.Microsecond)
}

// arrival is the virtual time at which a datagram that arrived at wall
// time w ended on the air: the peer's reaction time since its latest
// message added to the virtual time that message stood for (see
// ServeZEPWith) — no later than the medium's clock, unless the clock is
// held for this very answer — but never before the peer's previous frame,
// so that its frames keep their order. Callers hold m.mu.
func (p *zepPeer) arrival(m *Medium, w time.Time) time.Duration {
	at := m.clock()
	if p.synced && m.scale > 0 {
		if v := p.syncVirt + time.Duration(float64(w.Sub(p.syncWall))*m.scale); v < at || p.holding {
			at = v
		}
	}
	at = max(at, p.lastAt)
	p.lastAt = at
	return at
}

// learn records the peer's own addresses from a frame it sent. Callers
// hold m.mu.
func (p *zepPeer) learn(fr *ieee802154.Frame) {
	if fr.SrcPANPresent || fr.DstPANPresent {
		p.pan, p.hasPAN = uint16(fr.SrcPAN), true
	}
	switch fr.Src.Mode {
	case ieee802154.AddrShort:
		p.short, p.hasShort = uint16(fr.Src.Short), true
	case ieee802154.AddrExtended:
		p.ext, p.hasExt = fr.Src.Ext, true
	}
}

// zepAir puts a frame from a peer on the air as one whose last symbol is
// now, so that its first was AirTime ago, and completes it at once at
// every node that can receive it. Runs on the event loop.
//
// A receiver that is transmitting now, or whose receiver is off, misses it;
// frames still on the air at a receiver overlapped it, so they and it are
// lost there. Frames that ended before are taken not to overlap it: as far
// as the medium can tell the peer, which sends without CCA, sent it after
// them. No CCA already made could find the channel busy with it; CCAs still
// under way do. The peer itself is not made deaf to what it hears meanwhile:
// socket_zep itself drops what arrives while it transmits (_socket_isr).
func (m *Medium) zepAir(src *Node, ch uint8, psdu []byte, arrived time.Time) {
	p := src.peer
	f := &airFrame{id: m.nextFrameID, src: src, channel: ch, start: m.now - AirTime(len(psdu)), end: m.now, psdu: psdu}
	m.nextFrameID++
	m.stats.Frames++
	type hit struct {
		r        *Node
		link     Link
		deaf     bool
		collided bool
	}
	var hits []hit
	m.inRange(src, ch, func(r *Node, l Link) {
		hits = append(hits, hit{r: r, link: l, deaf: r.onAir > 0 || !r.listening(), collided: len(r.rxing) > 0})
		for _, e := range r.rxing {
			e.collided = true
		}
	})
	m.air = append(m.air, f)
	for _, mr := range m.mirrors {
		m.mirrorFrame(mr, f)
	}
	m.tapFrame(f)
	var acker *Node
	for _, h := range hits {
		switch {
		case h.deaf:
			continue
		case h.collided:
			m.stats.Collisions++
			continue
		case m.chance(h.link.Loss):
			m.stats.Losses++
			continue
		}
		acks := m.stats.Acks
		m.receive(h.r, f, h.link)
		if m.stats.Acks > acks && acker == nil {
			acker = h.r
		}
	}
	m.pruneAir()
	if acker != nil {
		m.zepAckAhead(p, acker, f, arrived)
	}
}

// zepAckAhead sends a peer the Imm-Ack that acker is about to put on the
// air for the peer's frame f, without waiting for the medium's event loop:
// it leaves aTurnaroundTime after the peer's datagram arrived by the wall
// clock, when the ACK's first symbol goes out, which is when socket_zep
// writes an ACK's datagram too (its 160 µs are under _request_transmit's
// 200 µs threshold) and so what RIOT nodes get from each other. The
// medium's own copy of the ACK, handed over at its end and possibly late,
// is then not forwarded again (zepReceive). Runs on the event loop.
func (m *Medium) zepAckAhead(p *zepPeer, acker *Node, f *airFrame, arrived time.Time) {
	var fr ieee802154.Frame
	if fr.Decode(f.psdu, true) != nil {
		return
	}
	// The frame sendAck builds for the same reception.
	fp := acker.peer == nil && acker.cfg.FramePending != nil && acker.cfg.FramePending(fr.Src)
	fc := uint16(ieee802154.FrameAck)
	if fp {
		fc |= 1 << 4
	}
	ack := []byte{byte(fc), byte(fc >> 8), fr.Seq, 0, 0}
	fcs := ieee802154.FCS(ack[:3])
	ack[3], ack[4] = byte(fcs), byte(fcs>>8)
	start := f.end + TurnaroundTime
	p.early.pending, p.early.from, p.early.start = true, acker, start

	// The peer hears the ACK only if the link lets it; a lost one is not
	// sent, and its copy from the air is dropped all the same.
	l := m.link(acker, f.src)
	if l.Disconnected || m.chance(l.Loss) {
		return
	}
	var wait time.Duration
	if m.scale > 0 {
		wait = time.Duration(float64(TurnaroundTime) / m.scale)
	}
	it := zepOut{
		zepItem:   zepItem{to: p.addr, channel: f.channel, deviceID: uint16(acker.id), lqi: LQIFromRSSI(l.RSSI), at: start, psdu: ack},
		peer:      p,
		mark:      start,
		notBefore: arrived.Add(wait),
	}
	select {
	case p.hub.out <- it:
	default:
		m.stats.ZEPDropped++
	}
}

// zepReceive forwards a frame heard by a peer and, when the hub
// acknowledges for the peer, acknowledges it when it is addressed to it.
// Runs on the event loop.
func (m *Medium) zepReceive(r *Node, f *airFrame, rec Reception, fcsOK bool) {
	p := r.peer
	if e := &p.early; e.pending && f.src == e.from && f.start == e.start && len(f.psdu) == AckPSDULen {
		e.pending = false
		return // sent ahead by zepAckAhead
	}
	it := zepOut{zepItem: zepItem{to: p.addr, channel: f.channel, deviceID: uint16(f.src.id), lqi: rec.LQI, at: f.start, psdu: f.psdu}, peer: p, mark: f.start + zepWriteDelay(len(f.psdu))}
	var fr ieee802154.Frame
	forPeer := fcsOK && fr.Decode(f.psdu, true) == nil && wantsAck(&fr) && p.addressedBy(&fr)
	hubAcks := p.autoAck && !m.cfg.ZEPNoAutoAck
	if forPeer && !hubAcks && fr.Type == ieee802154.FrameData && m.scale > 0 {
		// The sender waits macAckWaitDuration for the peer's own ACK,
		// whose virtual time follows from the peer's wall-clock reaction
		// (arrival): hold the medium's events from here until the peer
		// answers, or until twice macAckWaitDuration of wall time after
		// the hand-over, so that the sender's ACK timeout cannot run
		// before a timely answer is placed (netdev_ieee802154_submac.c
		// _recv acknowledges data frames only).
		it.holdGen = m.zepHold(p)
	}
	select {
	case p.hub.out <- it:
	default:
		m.stats.ZEPDropped++
		m.zepRelease(p, it.holdGen)
	}
	if forPeer && hubAcks {
		m.sendAck(r, f.channel, fr.Seq, false)
	}
}

// zepHold stops the medium's event loop, as Hold does, until zepRelease,
// on behalf of peer p, and returns the hold's generation. Callers hold
// m.mu.
func (m *Medium) zepHold(p *zepPeer) uint64 {
	if p.holding {
		return p.holdGen
	}
	if m.holds == 0 {
		m.heldAt = m.clock()
	}
	m.holds++
	p.holding = true
	p.holdGen++
	p.holdVirt, p.holdWall = m.heldAt, time.Now()
	return p.holdGen
}

// zepRelease ends p's hold of generation gen, if it is still on. Unlike
// after Hold, the clock then catches up with the wall-clock time the hold
// lasted: the hold only keeps events from running before the peer's
// answer is placed, it does not give anyone extra time; so an answer that
// comes after the hold expired lands after the sender's ACK timeout, where
// it belongs. Callers hold m.mu.
func (m *Medium) zepRelease(p *zepPeer, gen uint64) {
	if !p.holding || gen != p.holdGen {
		return
	}
	p.holding = false
	m.holds--
	if m.holds == 0 {
		caughtUp := p.holdVirt + time.Duration(float64(time.Since(p.holdWall))*m.scale)
		m.anchorVirt, m.anchorWall = max(m.heldAt, caughtUp), time.Now()
		m.released()
	}
}

// addressedBy reports whether fr's destination is the peer's learnt
// address.
func (p *zepPeer) addressedBy(fr *ieee802154.Frame) bool {
	if fr.DstPANPresent && (!p.hasPAN || uint16(fr.DstPAN) != p.pan) {
		return false
	}
	switch fr.Dst.Mode {
	case ieee802154.AddrShort:
		return p.hasShort && uint16(fr.Dst.Short) == p.short
	case ieee802154.AddrExtended:
		return p.hasExt && [8]byte(fr.Dst.Ext) == p.ext
	}
	return false
}

// zepWriter sends messages to peers from the hub's socket, each no sooner
// than its notBefore, records when each peer was handed what, and bounds
// the holds that wait for the peers' answers.
func (h *zepHub) zepWriter(ctx context.Context) {
	m := h.m
	w := m.waker()
	defer w.close()
	seq := make(map[netip.AddrPort]uint32)
	var b []byte
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-h.out:
			if !waitUntil(ctx, w, it.notBefore) {
				return
			}
			seq[it.to]++
			b = appendZEPItem(b[:0], m.epoch, &it.zepItem, seq[it.to])
			// Record the hand-over before it happens: the peer may answer
			// before this goroutine runs again.
			p := it.peer
			m.mu.Lock()
			p.synced, p.syncVirt, p.syncWall = true, it.mark, time.Now()
			m.mu.Unlock()
			_, err := h.conn.WriteToUDPAddrPort(b, it.to)
			m.mu.Lock()
			if err != nil {
				m.stats.ZEPErrors++
				m.zepRelease(p, it.holdGen)
			} else {
				m.stats.ZEPOut++
			}
			m.mu.Unlock()
			if err == nil && it.holdGen != 0 {
				// Whether the answer was in time is decided by where it
				// lands in virtual time (arrival); the hold only has to
				// outlast the wall-clock noise between a timely answer and
				// the hub: twice macAckWaitDuration.
				gen := it.holdGen
				time.AfterFunc(time.Duration(float64(2*AckWaitDuration)/m.scale), func() {
					m.mu.Lock()
					m.zepRelease(p, gen)
					m.mu.Unlock()
				})
			}
		}
	}
}

// waitUntil returns at wall-clock time t, or at once when t is zero or
// past; false when ctx ended first. A runtime timer cannot do it: when the
// process is idle its wake-ups come up to a millisecond late (see
// timerWaker), which would eat most of a peer's 864 µs. So it sleeps on a
// runtime timer while more than 2 ms remain and then on w, the system's
// precise waker (a timerfd on Linux), for the rest (aTurnaroundTime per
// ACK sent ahead).
func waitUntil(ctx context.Context, w waker, t time.Time) bool {
	for {
		d := time.Until(t)
		if d <= 0 {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if d > 2*time.Millisecond {
			time.Sleep(d - 2*time.Millisecond)
			continue
		}
		w.arm(d)
		w.wait()
	}
}

func appendZEPItem(b []byte, epoch time.Time, it *zepItem, seq uint32) []byte {
	return pcapio.AppendZEP(b, &pcapio.ZEP{
		Type:      pcapio.ZEPTypeData,
		Channel:   it.channel,
		DeviceID:  it.deviceID,
		LQIMode:   true, // CRC mode: the PSDU ends with a real FCS
		LQI:       it.lqi,
		Timestamp: epoch.Add(it.at),
		Seq:       seq,
		PSDU:      it.psdu,
	})
}

// Mirror sends every frame put on the air, on every channel, ACKs and
// frames that collide included, as a ZEP v2 data message to `to` through
// conn, for a live capture (Wireshark dissects UDP port 17754,
// pcapio.ZEPPort, as ZEP). A nil `to` means 127.0.0.1:17754. The message
// leaves when the frame's first symbol does; its timestamp is Config.Epoch
// plus the virtual start time, its device ID the sender's attach index, its
// LQI 255. Messages are queued (bounded) for a goroutine that ends when the
// medium closes; messages that cannot be queued or sent are counted in
// Stats.MirrorErrors and never stop the medium. The caller keeps conn.
func (m *Medium) Mirror(conn *net.UDPConn, to *net.UDPAddr) {
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), pcapio.ZEPPort)
	if to != nil {
		dst = to.AddrPort()
	}
	mr := &mirror{conn: conn, to: dst, out: make(chan zepItem, zepQueueLen)}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.catchUp()
	m.mirrors = append(m.mirrors, mr)
	m.wg.Add(1)
	m.mu.Unlock()
	go m.mirrorWriter(mr)
}

// mirrorFrame queues a frame for a mirror. Runs on the event loop.
func (m *Medium) mirrorFrame(mr *mirror, f *airFrame) {
	select {
	case mr.out <- zepItem{to: mr.to, channel: f.channel, deviceID: uint16(f.src.id), lqi: 255, at: f.start, psdu: f.psdu}:
	default:
		m.stats.MirrorErrors++
	}
}

// mirrorWriter sends a mirror's queue until the medium closes.
func (m *Medium) mirrorWriter(mr *mirror) {
	defer m.wg.Done()
	var b []byte
	var seq uint32
	for {
		select {
		case <-m.done:
			return
		case it := <-mr.out:
			seq++
			b = appendZEPItem(b[:0], m.epoch, &it, seq)
			_, err := mr.conn.WriteToUDPAddrPort(b, mr.to)
			m.mu.Lock()
			if err != nil {
				m.stats.MirrorErrors++
			} else {
				m.stats.MirrorSent++
			}
			m.mu.Unlock()
		}
	}
}
