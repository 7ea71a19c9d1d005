package hcisim

import (
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// linkLayer receives what happens to the device in the LE world and turns
// it into events and ACL packets for the host. It is the Controller's
// le.Handler, kept apart so that the Controller's API stays the HCI's.
type linkLayer struct{ c *Controller }

var _ le.Handler = linkLayer{}

// lookup finds the host's connection for conn; nil when the host does not
// know it (it ended, or Reset abandoned it). Called with c.mu held.
func (c *Controller) lookup(conn *le.Conn) *connection {
	if cn := c.conns[conn.Handle]; cn != nil && cn.conn == conn {
		return cn
	}
	return nil
}

// AdvertisingReport: LE Advertising Report (§7.7.65.2), one report per
// event, while scanning is enabled.
func (l linkLayer) AdvertisingReport(from hci.BDAddr, fromType hci.AddrType, connectable bool, data []byte, rssi int8) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.scanEnabled || !c.leEventEnabled(hci.LEEventMaskAdvertisingReport) {
		return
	}
	if c.seen != nil {
		if c.seen[from] {
			return
		}
		c.seen[from] = true
	}
	typ := hci.AdvReportNonconnInd
	if connectable {
		typ = hci.AdvReportInd
	}
	b, err := hci.AppendLEAdvertisingReport(c.startEvent(), hci.AdvReport{EventType: typ, AddrType: fromType, Addr: from, Data: data, RSSI: rssi})
	if err != nil {
		c.log.Debug("hcisim: advertising report", "from", from, "err", err)
		return
	}
	c.finish(b)
}

// Connected: LE Enhanced Connection Complete, or LE Connection Complete
// when only that is unmasked (§7.7.65.10), with this side's role. A
// connectable advertiser stops advertising when it connects (Vol 6 Part B
// §4.4.2).
func (l linkLayer) Connected(conn *le.Conn) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	// The world may have decided on this connection just before a Reset
	// stopped the initiating or advertising behind it; the host reset
	// after that and must not hear of it (§7.3.2).
	if (conn.Central() && c.initiating == nil) || (!conn.Central() && !c.advEnabled && c.advStoppedByReset) {
		conn.Sever()
		c.abandoned[conn] = true
		return
	}
	peer, peerType := conn.Peer()
	p := conn.Params()
	cn := &connection{conn: conn, handle: conn.Handle, role: hci.RolePeripheral, peer: peer, peerType: peerType,
		interval: uint16(p.Interval / (1250 * time.Microsecond)), timeout: uint16(p.SupervisionTimeout / (10 * time.Millisecond)),
		dataLen: le.MinDataLength, time: minTime, phy: le.PHY1M}
	if conn.Central() {
		cn.role = hci.RoleCentral
		// What was asked is what the central puts in CONNECT_IND.
		cn.latency = c.initiating.params.MaxLatency
		c.initiating = nil
	} else {
		// sim/le has no peripheral latency to tell the peripheral about.
		c.advEnabled = false
	}
	c.conns[cn.handle] = cn
	c.connectionCompleteLocked(cn, hci.StatusSuccess, peerType)

	// A connection starts with 27 octets on LE 1M (Vol 6 Part B §4.5.10);
	// sim/le may already have more (both sides suggested larger defaults, so
	// the link layers ran the Data Length Update procedure at once), or a
	// peer's request may have changed them before this side heard of the
	// connection.
	phy := conn.PHY()
	c.phyLocked(cn, phy)
	c.dataLengthLocked(cn, conn.DataLength(), phy)

	if reason, gone := c.early[conn]; gone {
		delete(c.early, conn)
		c.disconnectedLocked(cn, reason)
	}
}

// connectionCompleteLocked sends the connection complete event the masks
// allow.
func (c *Controller) connectionCompleteLocked(cn *connection, status hci.Status, peerType hci.AddrType) {
	var sca uint8
	if cn.role == hci.RolePeripheral {
		sca = 0x05 // 50 ppm: the central's sleep clock accuracy; 0 on a central (§7.7.65.1)
	}
	switch {
	case c.leEventEnabled(hci.LEEventMaskEnhancedConnectionComplete):
		c.finish(hci.LEEnhancedConnectionComplete{Status: status, Handle: cn.handle, Role: cn.role,
			PeerAddrType: peerType, PeerAddr: cn.peer, Interval: cn.interval, PeripheralLatency: cn.latency,
			SupervisionTimeout: cn.timeout, CentralClockAccuracy: sca}.Append(c.startEvent()))
	case c.leEventEnabled(hci.LEEventMaskConnectionComplete):
		c.finish(hci.LEConnectionComplete{Status: status, Handle: cn.handle, Role: cn.role,
			PeerAddrType: peerType, PeerAddr: cn.peer, Interval: cn.interval, PeripheralLatency: cn.latency,
			SupervisionTimeout: cn.timeout, CentralClockAccuracy: sca}.Append(c.startEvent()))
	}
}

// Disconnected: Disconnection Complete with the reason (§7.7.5). The
// connection's ACL packets still in the controller are flushed: the host
// counts them as completed when it sees the event (§4.3), so no Number Of
// Completed Packets is sent for them.
func (l linkLayer) Disconnected(conn *le.Conn, reason hci.Status) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.abandoned[conn] {
		delete(c.abandoned, conn)
		return
	}
	cn := c.lookup(conn)
	if cn == nil {
		if !c.closed {
			c.early[conn] = reason // Connected has not come yet
		}
		return
	}
	c.disconnectedLocked(cn, reason)
}

func (c *Controller) disconnectedLocked(cn *connection, reason hci.Status) {
	delete(c.conns, cn.handle)
	c.outstanding -= cn.inFlight
	if c.eventEnabled(hci.EventMaskDisconnectionComplete) {
		c.finish(hci.DisconnectionComplete{Status: hci.StatusSuccess, Handle: cn.handle, Reason: reason}.Append(c.startEvent()))
	}
}

// Received: one ACL packet per PDU, as received; the first fragment of an
// L2CAP PDU (LLID 0b10) is flagged first automatically flushable, the rest
// continuing (Vol 4 Part E §5.4.2).
func (l linkLayer) Received(conn *le.Conn, llid uint8, payload []byte) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	cn := c.lookup(conn)
	if cn == nil {
		return
	}
	pb := hci.PBContinuing
	if llid == le.LLIDStart {
		pb = hci.PBFirstFlushable
	}
	b, err := hci.AppendH4ACL(c.out[:0], cn.handle, pb, 0, payload)
	if err != nil {
		return
	}
	c.finish(b)
}

// Acknowledged frees the buffers of n packets the peer has received and
// gives them back to the host: Number Of Completed Packets (§7.7.19), one
// event per connection event.
func (l linkLayer) Acknowledged(conn *le.Conn, n int) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	cn := c.lookup(conn)
	if cn == nil {
		return // flushed with its connection
	}
	n = min(n, cn.inFlight)
	if n <= 0 {
		return
	}
	cn.inFlight -= n
	c.outstanding -= n
	c.completedLocked(cn.handle, n)
}

func (c *Controller) completedLocked(handle uint16, n int) {
	b, err := hci.AppendNumberOfCompletedPackets(c.startEvent(), hci.HandleCount{Handle: handle, Count: uint16(n)})
	if err == nil {
		c.finish(b)
	}
}

// DataLengthChanged: LE Data Length Change (§7.7.65.7). sim/le's link has
// one data length both ways.
func (l linkLayer) DataLengthChanged(conn *le.Conn, octets int) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn := c.lookup(conn); cn != nil {
		c.dataLengthLocked(cn, octets, cn.phy)
	}
}

// PHYChanged: LE PHY Update Complete (§7.7.65.12), and LE Data Length
// Change when the new PHY changes the packet times (Vol 6 Part B §4.5.10).
func (l linkLayer) PHYChanged(conn *le.Conn, phy le.PHY) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn := c.lookup(conn); cn != nil {
		c.phyLocked(cn, phy)
		c.dataLengthLocked(cn, cn.dataLen, phy)
	}
}

// dataLengthLocked reports a change of data length or of packet time.
func (c *Controller) dataLengthLocked(cn *connection, octets int, phy le.PHY) {
	t := packetTime(octets, phy)
	if octets == cn.dataLen && t == cn.time {
		return
	}
	cn.dataLen, cn.time = octets, t
	if c.leEventEnabled(hci.LEEventMaskDataLengthChange) {
		o := uint16(octets)
		c.finish(hci.LEDataLengthChange{Handle: cn.handle, MaxTxOctets: o, MaxTxTime: t, MaxRxOctets: o, MaxRxTime: t}.Append(c.startEvent()))
	}
}

// phyLocked reports a PHY change.
func (c *Controller) phyLocked(cn *connection, phy le.PHY) {
	if phy == cn.phy {
		return
	}
	cn.phy = phy
	if c.leEventEnabled(hci.LEEventMaskPHYUpdateComplete) {
		c.finish(hci.LEPHYUpdateComplete{Handle: cn.handle, TxPHY: hci.PHY(phy), RxPHY: hci.PHY(phy)}.Append(c.startEvent()))
	}
}

// aclFromHost takes one ACL packet from the host (Vol 4 Part E §5.4.2,
// §4.1).
func (c *Controller) aclFromHost(a hci.ACL) {
	c.stats.aclIn.Add(1)
	h, pb, data := a.Handle(), a.PB(), a.Data()
	// LE-U: point-to-point only, and no complete-flushable packets.
	if c.cfg.NoLE || a.BC() != 0 || pb == hci.PBCompleteFlushable {
		c.stats.aclDropped.Add(1)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cn := c.conns[h]
	if cn == nil {
		c.stats.aclDropped.Add(1)
		return
	}
	if c.outstanding >= c.cfg.ACLBuffers {
		// §4.1.1: the host sent more than the buffers it was given.
		c.stats.overflows.Add(1)
		if c.eventEnabled(hci.EventMaskDataBufferOverflow) {
			c.finish(hci.DataBufferOverflow{LinkType: hci.LinkTypeACL}.Append(c.startEvent()))
		}
		return
	}
	if len(data) == 0 {
		c.completedLocked(h, 1) // nothing to put on the air
		return
	}
	llid := uint8(le.LLIDContinue)
	if pb == hci.PBFirstNonFlushable || pb == hci.PBFirstFlushable {
		llid = le.LLIDStart
	}
	if err := cn.conn.Send(llid, data); err != nil {
		// Going down: Disconnected is on its way and ends the handle.
		c.stats.aclDropped.Add(1)
		return
	}
	cn.inFlight++
	c.outstanding++
}
