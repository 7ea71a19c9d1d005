package ble

import (
	"slices"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/ble/l2cap"
)

// event handles one HCI event in the reader goroutine. It never sends a
// command itself (their answers come through this goroutine): the gap
// goroutine and short-lived goroutines do.
func (h *Host) event(ev hci.Event, reasm *hci.ACLReassembler) {
	switch ev.Code() {
	case hci.EventCommandComplete, hci.EventCommandStatus:
		// LE Create Connection's Command Status may come while no command
		// waits (the gap goroutine already returned); dropping it is fine.
		select {
		case h.cmdWait <- append(hci.Event(nil), ev...):
		default:
		}
	case hci.EventNumberOfCompletedPackets:
		n, err := hci.ParseNumberOfCompletedPackets(ev)
		if err != nil {
			return
		}
		h.mu.Lock()
		for hc := range n.All() {
			if c := h.conns[hc.Handle]; c != nil {
				c.mu.Lock()
				c.inUse -= int(hc.Count)
				c.mu.Unlock()
			}
			h.freeBufs = min(h.freeBufs+int(hc.Count), h.info.ACLBuffers)
		}
		h.mu.Unlock()
		h.kickWriter()
	case hci.EventDisconnectionComplete:
		d, err := hci.ParseDisconnectionComplete(ev)
		if err != nil || d.Status != hci.StatusSuccess {
			return
		}
		h.mu.Lock()
		c := h.conns[d.Handle]
		delete(h.conns, d.Handle)
		if c != nil {
			// Vol 4 Part E §7.7.5: the controller flushed the packets of a
			// closed connection; their buffers are free again.
			c.mu.Lock()
			h.freeBufs = min(h.freeBufs+c.inUse, h.info.ACLBuffers)
			c.mu.Unlock()
			h.noteDrop(c.peer, time.Since(c.since))
		}
		h.mu.Unlock()
		reasm.Remove(d.Handle)
		if c == nil {
			return
		}
		h.stats.discs.Add(1)
		h.log.Info("BLE disconnected", "peer", c.peer, "reason", d.Reason)
		c.mu.Lock()
		evs := c.sig.LinkClosed()
		c.mu.Unlock()
		_ = evs
		c.close(ErrChannelClosed)
		h.kickGAP()
	case hci.EventLEMeta:
		sub, _ := ev.Subevent()
		switch sub {
		case hci.LESubeventConnectionComplete:
			cc, err := hci.ParseLEConnectionComplete(ev)
			if err == nil {
				h.connected(cc.Status, cc.Handle, cc.Role, cc.PeerAddr, cc.PeerAddrType)
			}
		case hci.LESubeventEnhancedConnectionComplete:
			cc, err := hci.ParseLEEnhancedConnectionComplete(ev)
			if err == nil {
				h.connected(cc.Status, cc.Handle, cc.Role, cc.PeerAddr, cc.PeerAddrType)
			}
		case hci.LESubeventAdvertisingReport:
			r, err := hci.ParseLEAdvertisingReport(ev)
			if err != nil {
				return
			}
			for rep := range r.All() {
				if rep.EventType != hci.AdvReportInd || !hci.ADHasUUID16(rep.Data, IPSS) {
					continue
				}
				select {
				case h.candidates <- candidate{rep.Addr, rep.AddrType}:
				default:
				}
			}
		case hci.LESubeventDataLengthChange:
			if d, err := hci.ParseLEDataLengthChange(ev); err == nil {
				h.log.Debug("BLE data length", "handle", d.Handle, "tx_octets", d.MaxTxOctets, "rx_octets", d.MaxRxOctets)
			}
		case hci.LESubeventPHYUpdateComplete:
			if p, err := hci.ParseLEPHYUpdateComplete(ev); err == nil {
				h.log.Debug("BLE PHY", "handle", p.Handle, "tx", p.TxPHY, "rx", p.RxPHY)
			}
		}
	case hci.EventHardwareError:
		h.log.Error("BLE controller reports a hardware error; restart it")
	}
}

type candidate struct {
	addr hci.BDAddr
	typ  hci.AddrType
}

// connected handles an LE (Enhanced) Connection Complete.
func (h *Host) connected(status hci.Status, handle uint16, role hci.Role, peer hci.BDAddr, peerType hci.AddrType) {
	h.mu.Lock()
	if role == hci.RoleCentral {
		h.connecting = false
	} else {
		h.advertising = false // §7.8.9: advertising stops on a connection
	}
	if status != hci.StatusSuccess {
		h.noteDrop(peer, 0)
		h.mu.Unlock()
		h.stats.connFail.Add(1)
		h.kickGAP()
		return
	}
	r := l2cap.RolePeripheral
	if role == hci.RoleCentral {
		r = l2cap.RoleCentral
	}
	sig, err := l2cap.NewSignaling(l2cap.SignalingConfig{Role: r, Channel: h.cfg.Channel, MaxChannels: 2})
	if err != nil {
		h.mu.Unlock()
		h.log.Error("L2CAP signalling", "err", err)
		return
	}
	c := &connection{h: h, handle: handle, peer: peer, peerType: peerType, central: role == hci.RoleCentral, since: time.Now(), sig: sig}
	h.conns[handle] = c
	h.mu.Unlock()
	h.stats.conns.Add(1)
	h.log.Info("BLE connected", "peer", peer, "handle", handle, "central", c.central)
	h.kickGAP()
	go h.setUp(c)
}

// setUp asks for the longest data length and the 2M PHY, then opens the
// IPSP channel: the central at once; a peripheral after giving the
// central a moment to do it (either side may, RFC 7668 §2.2).
func (h *Host) setUp(c *connection) {
	if h.info.DataLength && h.cfg.DataLength > 27 {
		h.command(h.ctx, hci.OpLESetDataLength, hci.LESetDataLength{Handle: c.handle, TxOctets: uint16(h.cfg.DataLength), TxTime: 2120}.Append(nil))
	}
	if h.info.PHY2M && !h.cfg.NoPHY2M {
		h.command(h.ctx, hci.OpLESetPHY, hci.LESetPHY{Handle: c.handle, TxPHYs: 0b010, RxPHYs: 0b010}.Append(nil))
	}
	if !c.central {
		select {
		case <-time.After(time.Second):
		case <-h.ctx.Done():
			return
		}
	}
	c.mu.Lock()
	if c.closed || c.ch != nil || len(c.sig.Channels()) > 0 {
		c.mu.Unlock()
		return
	}
	_, pdu, err := c.sig.Connect(time.Now(), l2cap.PSMIPSP)
	c.mu.Unlock()
	if err != nil {
		h.log.Warn("IPSP channel request", "err", err)
		return
	}
	c.sendPDUs([][]byte{pdu})
}

// noteDrop starts or lengthens the backoff before connecting to peer
// again: short after a connection that lasted, doubling after quick
// failures (h.mu held).
func (h *Host) noteDrop(peer hci.BDAddr, lasted time.Duration) {
	r := h.backoff[peer]
	if r == nil || lasted > h.cfg.ReconnectMax {
		r = &retry{delay: h.cfg.ReconnectMin}
		h.backoff[peer] = r
	} else {
		r.delay = min(2*r.delay, h.cfg.ReconnectMax)
	}
	r.next = time.Now().Add(r.delay)
}

func (h *Host) kickGAP() {
	select {
	case h.gapKick <- struct{}{}:
	default:
	}
}

// gap keeps advertising and scanning on while there is room for another
// connection, connects to IPSS advertisers, and runs L2CAP timers.
func (h *Host) gap() {
	defer h.wg.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		h.reconcile()
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
			h.expire()
		case <-h.gapKick:
		case cand := <-h.candidates:
			h.tryConnect(cand)
		}
	}
}

func (h *Host) room() bool { return len(h.conns) < h.cfg.MaxConnections }

// reconcile turns advertising and scanning on or off as needed.
func (h *Host) reconcile() {
	h.mu.Lock()
	wantAdv := h.cfg.Advertise && h.room() && !h.advertising
	wantScan := h.cfg.Connect && h.room() && !h.connecting && !h.scanning
	stopScan := h.scanning && (!h.room() || h.connecting)
	h.mu.Unlock()
	if wantAdv {
		params := hci.LESetAdvertisingParameters{IntervalMin: 0x00A0, IntervalMax: 0x00A0, Type: hci.AdvInd, ChannelMap: hci.AdvChannelAll}
		ad := hci.AppendADFlags(nil, 0x06) // LE General Discoverable, BR/EDR not supported
		ad, _ = hci.AppendADUUID16s(ad, IPSS)
		data, _ := hci.MakeAdvertisingData(ad)
		if _, err := h.command(h.ctx, hci.OpLESetAdvertisingParameters, params.Append(nil)); err == nil {
			h.command(h.ctx, hci.OpLESetAdvertisingData, hci.LESetAdvertisingData{AdvertisingData: data}.Append(nil))
			if _, err := h.command(h.ctx, hci.OpLESetAdvertisingEnable, hci.LESetAdvertisingEnable{Enable: true}.Append(nil)); err == nil {
				h.mu.Lock()
				h.advertising = true
				h.mu.Unlock()
			}
		}
	}
	if stopScan {
		h.command(h.ctx, hci.OpLESetScanEnable, hci.LESetScanEnable{Enable: false}.Append(nil))
		h.mu.Lock()
		h.scanning = false
		h.mu.Unlock()
	}
	if wantScan {
		p := hci.LESetScanParameters{Type: 0, Interval: 0x0060, Window: 0x0030}
		if _, err := h.command(h.ctx, hci.OpLESetScanParameters, p.Append(nil)); err == nil {
			if _, err := h.command(h.ctx, hci.OpLESetScanEnable, hci.LESetScanEnable{Enable: true, FilterDuplicates: false}.Append(nil)); err == nil {
				h.mu.Lock()
				h.scanning = true
				h.mu.Unlock()
			}
		}
	}
}

// tryConnect connects to an IPSS advertiser unless it is connected, held
// back, not allowed, or there is no room.
func (h *Host) tryConnect(cand candidate) {
	h.mu.Lock()
	ok := h.cfg.Connect && h.room() && !h.connecting
	if len(h.cfg.AllowList) > 0 && !slices.Contains(h.cfg.AllowList, cand.addr) {
		ok = false
	}
	for _, c := range h.conns {
		if c.peer == cand.addr {
			ok = false
		}
	}
	if r := h.backoff[cand.addr]; r != nil && time.Now().Before(r.next) {
		ok = false
	}
	if ok {
		h.connecting = true
	}
	scanning := h.scanning
	h.mu.Unlock()
	if !ok {
		return
	}
	if scanning {
		h.command(h.ctx, hci.OpLESetScanEnable, hci.LESetScanEnable{Enable: false}.Append(nil))
		h.mu.Lock()
		h.scanning = false
		h.mu.Unlock()
	}
	iv := uint16(h.cfg.ConnInterval / (1250 * time.Microsecond))
	p := hci.LECreateConnection{ScanInterval: 0x0060, ScanWindow: 0x0030, PeerAddrType: cand.typ, PeerAddr: cand.addr,
		ConnParams: hci.ConnParams{IntervalMin: iv, IntervalMax: iv, SupervisionTimeout: 400}}
	h.log.Debug("BLE connecting", "peer", cand.addr)
	if _, err := h.command(h.ctx, hci.OpLECreateConnection, p.Append(nil)); err != nil {
		h.log.Info("BLE connect", "peer", cand.addr, "err", err)
		h.mu.Lock()
		h.connecting = false
		h.noteDrop(cand.addr, 0)
		h.mu.Unlock()
		return
	}
	// The connection completes with an LE Connection Complete; give up if
	// it does not within a few seconds (the peer went away).
	go func() {
		select {
		case <-time.After(5 * time.Second):
		case <-h.ctx.Done():
			return
		}
		h.mu.Lock()
		stuck := h.connecting
		h.mu.Unlock()
		if stuck {
			h.command(h.ctx, hci.OpLECreateConnectionCancel, nil)
		}
	}()
}

// expire runs the L2CAP request timers of every connection.
func (h *Host) expire() {
	h.mu.Lock()
	conns := make([]*connection, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	now := time.Now()
	for _, c := range conns {
		c.mu.Lock()
		evs := c.sig.Expire(now)
		c.mu.Unlock()
		h.l2capEvents(c, evs)
	}
}
