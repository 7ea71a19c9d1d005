package ble

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/ble/l2cap"
)

// connection is one LE ACL connection: its L2CAP signalling and channels,
// the ACL packets waiting for a controller buffer, and the reassembly of
// what arrives. Its fields are under mu; the reader goroutine is the only
// one that reassembles.
type connection struct {
	h        *Host
	handle   uint16
	peer     hci.BDAddr
	peerType hci.AddrType
	central  bool
	since    time.Time

	mu      sync.Mutex
	sig     *l2cap.Signaling
	ch      *Channel // the IPSP channel, once open
	out     [][]byte // ACL packets (H4 form) waiting for a buffer
	inUse   int      // controller buffers holding our packets
	closed  bool
	scratch []byte
}

// Channel is an open IPSP channel on one connection: one IPv6 packet per
// SDU. It implements link.SDUChannel.
type Channel struct {
	c    *connection
	l2   *l2cap.Channel
	rx   chan []byte
	done chan struct{}
	err  error
	once sync.Once
}

// Peer is the device at the other end, as HCI carries it (least
// significant octet first).
func (ch *Channel) Peer() (hci.BDAddr, hci.AddrType) { return ch.c.peer, ch.c.peerType }

// Local is this controller's address.
func (ch *Channel) Local() hci.BDAddr { return ch.c.h.info.Addr }

// Central reports whether we are the connection's central.
func (ch *Channel) Central() bool { return ch.c.central }

// Handle is the connection handle.
func (ch *Channel) Handle() uint16 { return ch.c.handle }

// Done is closed when the channel closes.
func (ch *Channel) Done() <-chan struct{} { return ch.done }

// Stats returns the channel's L2CAP counters.
func (ch *Channel) Stats() l2cap.ChannelStats {
	ch.c.mu.Lock()
	defer ch.c.mu.Unlock()
	return ch.l2.Stats()
}

// SendSDU segments sdu into K-frames and queues them for the controller.
// It never waits for the peer's credits: without them the SDU waits in
// the channel (bounded; beyond that l2cap.ErrQueueFull), and other
// channels go on.
func (ch *Channel) SendSDU(ctx context.Context, sdu []byte) error {
	c := ch.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("ble: %v: %w", c.peer, ErrChannelClosed)
	}
	_, err := ch.l2.Send(sdu, c.emitLocked)
	c.mu.Unlock()
	c.h.kickWriter()
	if err != nil {
		return fmt.Errorf("ble: %v: %w", c.peer, err)
	}
	return nil
}

// Receive hands every SDU received to deliver until the channel closes
// (ErrChannelClosed) or ctx ends.
func (ch *Channel) Receive(ctx context.Context, deliver func(sdu []byte)) error {
	for {
		select {
		case sdu := <-ch.rx:
			deliver(sdu)
			continue
		default:
		}
		select {
		case sdu := <-ch.rx:
			deliver(sdu)
		case <-ch.done:
			return ch.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close disconnects the channel's connection.
func (ch *Channel) Close() error {
	return ch.c.h.disconnect(ch.c.handle, hci.StatusRemoteUserTerminated)
}

func (ch *Channel) close(err error) {
	ch.once.Do(func() {
		ch.err = err
		close(ch.done)
	})
}

// ErrChannelClosed: the IPSP channel or its connection is gone.
var ErrChannelClosed = errors.New("ble: channel closed")

// emitLocked fragments one L2CAP PDU into ACL packets for the writer
// (c.mu held).
func (c *connection) emitLocked(pdu []byte) error {
	maxData := c.h.info.ACLDataLength
	return hci.FragmentL2CAP(c.scratch[:0], pdu, c.handle, maxData, func(acl []byte) error {
		c.out = append(c.out, hci.AppendH4(nil, hci.PacketACL, acl))
		return nil
	})
}

func (c *connection) sendPDUs(pdus [][]byte) {
	if len(pdus) == 0 {
		return
	}
	c.mu.Lock()
	for _, p := range pdus {
		c.emitLocked(p)
	}
	c.mu.Unlock()
	c.h.kickWriter()
}

// close ends the connection's channel and forgets its queue.
func (c *connection) close(err error) {
	c.mu.Lock()
	c.closed = true
	c.out = nil
	ch := c.ch
	c.mu.Unlock()
	if ch != nil {
		ch.close(err)
	}
}

func (h *Host) kickWriter() {
	select {
	case h.bufFreed <- struct{}{}:
	default:
	}
}

// writer hands ACL packets to the controller as its buffers allow, taking
// connections in turn so that one with a long queue does not starve the
// others (Vol 4 Part E §4.1.1: the host counts buffers; Number Of
// Completed Packets returns them).
func (h *Host) writer() {
	defer h.wg.Done()
	next := 0
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.bufFreed:
		}
		for {
			h.mu.Lock()
			if h.freeBufs == 0 {
				h.mu.Unlock()
				h.stats.bufWaits.Add(1)
				break
			}
			var conns []*connection
			for _, c := range h.conns {
				conns = append(conns, c)
			}
			h.mu.Unlock()
			var pkt []byte
			var from *connection
			for i := range conns {
				c := conns[(next+i)%len(conns)]
				c.mu.Lock()
				if len(c.out) > 0 && !c.closed {
					pkt, c.out = c.out[0], c.out[1:]
					c.inUse++
					from = c
				}
				c.mu.Unlock()
				if from != nil {
					next = (next + i + 1) % max(len(conns), 1)
					break
				}
			}
			if from == nil {
				break
			}
			h.mu.Lock()
			h.freeBufs--
			h.mu.Unlock()
			if err := h.write(pkt); err != nil {
				h.log.Debug("ACL write", "err", err)
				return
			}
			h.stats.aclSent.Add(1)
		}
	}
}

// reader takes H4 packets from the controller until the transport fails.
func (h *Host) reader() {
	defer h.wg.Done()
	r := hci.NewH4Reader(h.conn, 4096)
	reasm := hci.NewACLReassembler(max(int(h.cfg.Channel.MPS), 247)+l2cap.HeaderLen+64, 0)
	var d l2cap.Delivery
	for {
		typ, pkt, err := r.ReadPacket()
		if err != nil {
			if h.ctx.Err() == nil {
				h.log.Warn("BLE controller transport failed", "err", err)
				h.cancel()
			}
			h.failAll(ErrClosed)
			return
		}
		switch typ {
		case hci.PacketEvent:
			ev, err := hci.ParseEvent(pkt)
			if err != nil {
				continue
			}
			h.stats.events.Add(1)
			h.event(ev, reasm)
		case hci.PacketACL:
			acl, err := hci.ParseACL(pkt)
			if err != nil {
				continue
			}
			h.stats.aclRecv.Add(1)
			pdu, err := reasm.Feed(acl)
			if pdu != nil {
				h.l2cap(acl.Handle(), pdu, &d)
			}
			if err != nil {
				h.stats.reasmErr.Add(1)
			}
		}
	}
}

func (h *Host) failAll(err error) {
	h.mu.Lock()
	conns := h.conns
	h.conns = map[uint16]*connection{}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(err)
	}
}

// l2cap handles one reassembled L2CAP PDU of a connection.
func (h *Host) l2cap(handle uint16, pdu []byte, d *l2cap.Delivery) {
	h.mu.Lock()
	c := h.conns[handle]
	h.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	*d = l2cap.Delivery{}
	err := c.sig.Dispatch(time.Now(), pdu, d)
	replies := append([][]byte(nil), d.Replies...)
	events := append([]l2cap.Event(nil), d.Events...)
	var sdu []byte
	if d.SDU != nil {
		sdu = append([]byte(nil), d.SDU...)
	}
	ch := c.ch
	c.mu.Unlock()
	if err != nil {
		h.stats.l2capErr.Add(1)
	}
	if sdu != nil && ch != nil && d.Channel == ch.l2 {
		// Never wait for a slow consumer: that would hold up every
		// connection's events. A full queue drops the packet, as a NIC
		// would.
		select {
		case ch.rx <- sdu:
		default:
			h.stats.rxDropped.Add(1)
		}
	}
	if h.cfg.WithholdCredits {
		replies = slices.DeleteFunc(replies, isCreditInd)
	}
	c.sendPDUs(replies)
	h.l2capEvents(c, events)
}

func (h *Host) l2capEvents(c *connection, events []l2cap.Event) {
	for _, e := range events {
		switch e.Kind {
		case l2cap.EventChannelOpened:
			if e.Channel.PSM() != l2cap.PSMIPSP {
				continue
			}
			ch := &Channel{c: c, l2: e.Channel, rx: make(chan []byte, 16), done: make(chan struct{})}
			c.mu.Lock()
			c.ch = ch
			c.mu.Unlock()
			h.stats.chOpen.Add(1)
			h.log.Info("IPSP channel open", "peer", c.peer, "central", c.central, "remote_mtu", e.Channel.RemoteMTU(), "remote_mps", e.Channel.RemoteMPS())
			select {
			case h.opened <- ch:
			case <-h.ctx.Done():
			}
		case l2cap.EventChannelClosed:
			h.stats.chClose.Add(1)
			c.mu.Lock()
			ch := c.ch
			c.ch = nil
			c.mu.Unlock()
			if ch != nil {
				ch.close(ErrChannelClosed)
			}
			// IPSP without its channel is useless: drop the connection so
			// that the node reconnects afresh.
			go h.disconnect(c.handle, hci.StatusRemoteUserTerminated)
		case l2cap.EventConnectFailed:
			h.log.Info("IPSP channel refused", "peer", c.peer, "err", e.Err, "result", e.Result)
			go h.disconnect(c.handle, hci.StatusRemoteUserTerminated)
		case l2cap.EventCredits:
			c.mu.Lock()
			if ch := c.ch; ch != nil {
				ch.l2.Resume(c.emitLocked)
			}
			c.mu.Unlock()
			h.kickWriter()
		case l2cap.EventProtocolError:
			h.stats.l2capErr.Add(1)
			h.log.Info("L2CAP protocol error", "peer", c.peer, "err", e.Err)
		case l2cap.EventConnParamUpdate:
			p := e.Params
			go h.command(h.ctx, hci.OpLEConnectionUpdate, hci.LEConnectionUpdate{Handle: c.handle, ConnParams: hci.ConnParams{
				IntervalMin: p.IntervalMin, IntervalMax: p.IntervalMax, MaxLatency: p.Latency, SupervisionTimeout: p.Timeout}}.Append(nil))
		}
	}
}

func (h *Host) disconnect(handle uint16, reason hci.Status) error {
	_, err := h.command(h.ctx, hci.OpDisconnect, hci.Disconnect{Handle: handle, Reason: reason}.Append(nil))
	return err
}

// isCreditInd reports an LE Flow Control Credit Ind PDU (§4.24).
func isCreditInd(pdu []byte) bool {
	return len(pdu) > 4 && pdu[2] == byte(l2cap.CIDLESignaling) && pdu[3] == 0 && pdu[4] == byte(l2cap.CodeFlowControlCreditInd)
}

// PeerCanonical is the peer's address in printed order (most significant
// octet first), the order RFC 7668 derives IIDs from.
func (ch *Channel) PeerCanonical() [6]byte { return Canonical(ch.c.peer) }

// LocalCanonical is this controller's address in printed order.
func (ch *Channel) LocalCanonical() [6]byte { return Canonical(ch.c.h.info.Addr) }

// Canonical turns an address from HCI order (least significant octet
// first) into printed order.
func Canonical(a hci.BDAddr) [6]byte { return [6]byte{a[5], a[4], a[3], a[2], a[1], a[0]} }

// ChannelInfo describes one open IPSP channel, for status pages.
type ChannelInfo struct {
	Peer    hci.BDAddr
	Handle  uint16
	Central bool
	Credits uint16 // ours to send with
	Pending int    // SDUs waiting for credits
	Stats   l2cap.ChannelStats
}

// OpenChannels describes the open IPSP channels.
func (h *Host) OpenChannels() []ChannelInfo {
	h.mu.Lock()
	conns := make([]*connection, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var out []ChannelInfo
	for _, c := range conns {
		c.mu.Lock()
		if ch := c.ch; ch != nil {
			out = append(out, ChannelInfo{Peer: c.peer, Handle: c.handle, Central: c.central, Credits: ch.l2.Credits(), Pending: ch.l2.Pending(), Stats: ch.l2.Stats()})
		}
		c.mu.Unlock()
	}
	return out
}
