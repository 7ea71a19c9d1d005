package medium

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan/ieee802154"
	"github.com/lowpanbr/lowpanbr/lowpan/pcapio"
)

// zepQueueLen bounds each ZEP writer's queue and each peer's transmit queue.
const (
	zepQueueLen     = 256
	zepPeerMaxQueue = 32
)

// zepHub is one ServeZEP: a UDP socket and the peers that talk to it.
type zepHub struct {
	m     *Medium
	conn  *net.UDPConn
	out   chan zepItem
	peers map[netip.AddrPort]*Node // owned by the reading goroutine
}

// zepPeer is the external side of a ZEP node. Guarded by m.mu.
type zepPeer struct {
	hub  *zepHub
	addr netip.AddrPort
	// The addresses the peer uses, learnt from the source fields of the
	// frames it sends, so that the medium can acknowledge frames to it.
	pan      uint16
	short    uint16
	ext      [8]byte
	hasPAN   bool
	hasShort bool
	hasExt   bool
}

// ServeZEP connects simulated nodes that speak ZEP v2 over UDP (RIOT's
// native build with its socket_zep driver, for one) to the medium, until
// ctx is done or the medium is closed. conn is the hub's socket; the caller
// keeps ownership (ServeZEP only sets and finally clears its read
// deadline).
//
// The first ZEP data message from an address and port attaches a peer: a
// promiscuous node with its receiver always on, on the channel named in
// the message (later messages may move it). Each message's PSDU is put on
// the air as it is: FCS untouched, no CSMA-CA and no ACK wait, since the
// peer runs its own MAC. Every frame the peer hears on its channel (its own
// excepted, subject to links, collisions and loss like any node) is sent
// back as a ZEP v2 data message in CRC mode, with the link's LQI, from
// conn itself: peers connect() their socket to the hub's address and port
// and their kernel drops datagrams from anywhere else. Bind conn to the
// address peers send to, not to a wildcard, so replies leave from it.
//
// ACKs: socket_zep does not send Imm-Acks, so unless Config.ZEPNoAutoAck
// is set, the medium acknowledges on a peer's behalf the frames with AR set
// addressed to it, as its radio would. It learns the peer's PAN ID and
// short and extended addresses from the source fields of the peer's own
// frames, so a peer is acknowledged only after it has sent something. The
// ACK frame pending bit is never set for a peer.
//
// Undecodable datagrams, ZEP acks, and PSDUs of fewer than 4 octets are
// counted in Stats.ZEPErrors and dropped. ServeZEP returns nil when the
// medium closes, ctx's error when ctx ends, or a read error; its peers are
// detached before it returns.
func (m *Medium) ServeZEP(ctx context.Context, conn *net.UDPConn) error {
	h := &zepHub{m: m, conn: conn, out: make(chan zepItem, zepQueueLen), peers: make(map[netip.AddrPort]*Node)}
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
	for _, n := range h.peers {
		n.Detach()
	}
	return err
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
			return fmt.Errorf("medium: ZEP read: %w", err)
		}
		h.handle(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), buf[:nr])
	}
}

func (h *zepHub) handle(from netip.AddrPort, b []byte) {
	m := h.m
	var z pcapio.ZEP
	if err := z.Decode(b); err != nil || z.Type != pcapio.ZEPTypeData || len(z.PSDU) < 4 ||
		z.Channel < MinChannel || z.Channel > MaxChannel {
		m.mu.Lock()
		m.stats.ZEPErrors++
		m.mu.Unlock()
		m.log.Debug("medium: ZEP datagram dropped", "from", from, "len", len(b), "err", err)
		return
	}
	n := h.peers[from]
	if n == nil {
		peer := &zepPeer{hub: h, addr: from}
		var err error
		n, err = m.attach(NodeConfig{Name: "zep " + from.String(), Channel: z.Channel, Promiscuous: true, RxOnWhenIdle: true}, peer)
		if err != nil {
			return // closed
		}
		h.peers[from] = n
		m.log.Info("medium: ZEP peer joined", "peer", from, "channel", z.Channel)
	}

	var fr ieee802154.Frame
	decoded := fr.Decode(z.PSDU, true) == nil
	m.mu.Lock()
	ok := !n.detached && !m.closed
	if ok {
		m.stats.ZEPIn++
		if n.cfg.Channel != z.Channel {
			n.cfg.Channel = z.Channel
			n.rxing = nil
		}
		if decoded {
			n.peer.learn(&fr)
		}
		if len(n.inbox)+len(n.queue) >= zepPeerMaxQueue {
			m.stats.ZEPDropped++
			ok = false
		}
	}
	m.mu.Unlock()
	if !ok {
		return
	}
	if _, err := n.startTransmit(z.PSDU, TxOptions{Channel: z.Channel, DisableCSMA: true, MaxFrameRetries: -1, KeepFCS: true}, true); err != nil {
		m.log.Debug("medium: ZEP frame not sent", "peer", from, "err", err)
	}
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

// zepReceive forwards a frame heard by a peer and acknowledges it for the
// peer when it is addressed to it. Runs on the event loop.
func (m *Medium) zepReceive(r *Node, f *airFrame, rec Reception, fcsOK bool) {
	p := r.peer
	select {
	case p.hub.out <- zepItem{to: p.addr, channel: f.channel, deviceID: uint16(f.src.id), lqi: rec.LQI, at: f.start, psdu: f.psdu}:
	default:
		m.stats.ZEPDropped++
	}
	if m.cfg.ZEPNoAutoAck || !fcsOK {
		return
	}
	var fr ieee802154.Frame
	if fr.Decode(f.psdu, true) != nil || !wantsAck(&fr) || !p.addressedBy(&fr) {
		return
	}
	m.sendAck(r, f.channel, fr.Seq, false)
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

// zepWriter sends frames to peers from the hub's socket.
func (h *zepHub) zepWriter(ctx context.Context) {
	m := h.m
	seq := make(map[netip.AddrPort]uint32)
	var b []byte
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-h.out:
			seq[it.to]++
			b = appendZEPItem(b[:0], m.epoch, &it, seq[it.to])
			_, err := h.conn.WriteToUDPAddrPort(b, it.to)
			m.mu.Lock()
			if err != nil {
				m.stats.ZEPErrors++
			} else {
				m.stats.ZEPOut++
			}
			m.mu.Unlock()
		}
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
