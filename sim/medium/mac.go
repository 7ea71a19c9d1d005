package medium

import (
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

// Everything in this file runs on the event loop with m.mu held.

// startNext starts the node's next queued transmission if it is idle.
func (m *Medium) startNext(n *Node) {
	for n.cur == nil && len(n.queue) > 0 && !n.detached {
		t := n.queue[0]
		n.queue[0] = nil
		n.queue = n.queue[1:]
		if t.finished {
			continue
		}
		if t.canceled {
			t.finish(m.now, ErrCanceled)
			continue
		}
		n.cur = t
		t.res.Queued = m.now
		m.beginAttempt(t)
	}
}

// endTx ends the node's current transmission and starts the next.
func (m *Medium) endTx(t *Tx, err error) {
	n := t.n
	if t.awaiting {
		m.endAckWait(t)
	}
	t.finish(m.now, err)
	if n.cur == t {
		n.cur = nil
		m.startNext(n)
	}
}

// live reports whether a step of t may go on; it ends a cancelled one.
func (m *Medium) live(t *Tx) bool {
	if t.finished || t.n.detached {
		return false
	}
	if t.canceled {
		m.endTx(t, ErrCanceled)
		return false
	}
	return true
}

// beginAttempt starts one attempt: unslotted CSMA-CA (2006 §7.5.1.4;
// 2015 §6.2.5.1) or, without CSMA, the frame at once.
func (m *Medium) beginAttempt(t *Tx) {
	if !t.csma {
		m.airStart(t)
		return
	}
	// NB = 0, BE = macMinBE.
	t.nb, t.be = 0, MinBE
	m.backoff(t)
}

// backoff delays for a random number of unit backoff periods in
// [0, 2^BE − 1], then performs a CCA.
func (m *Medium) backoff(t *Tx) {
	periods := m.rng.IntN(1 << t.be)
	t.ccaStart = m.now + time.Duration(periods)*UnitBackoffPeriod
	at := t.ccaStart + CCADuration
	// Seen outside: the frame's end if the channel is idle, or a channel
	// access failure, which takes macMaxCSMABackoffs − NB more busy CCAs
	// of at least CCADuration each (backoffs of 0 periods). The loop takes
	// the frame's end when nothing else can make the channel busy
	// (quietCCA).
	frameEnd := at + TurnaroundTime + AirTime(len(t.psdu))
	vis := min(frameEnd, at+time.Duration(t.maxNB-t.nb)*CCADuration)
	ev := m.scheduleVisible(at, vis, prioCCA, t.n.id, func() { m.ccaDone(t) })
	ev.cca, ev.idleVisible = t, frameEnd
	t.next = ev
}

// ccaDone evaluates the CCA that just ended. The channel is busy when any
// frame the node can sense (its own included) overlapped the 8 symbols.
// Busy: NB += 1, BE = min(BE+1, macMaxBE), and failure once NB exceeds
// macMaxCSMABackoffs. Idle: the frame starts after aTurnaroundTime.
func (m *Medium) ccaDone(t *Tx) {
	if !m.live(t) {
		return
	}
	if m.channelBusy(t.n, t.channel, t.ccaStart, m.now) {
		m.stats.CCABusy++
		t.res.CCABusy++
		t.nb++
		t.be = min(t.be+1, MaxBE)
		if t.nb > t.maxNB {
			m.stats.ChannelAccessFailures++
			t.res.Status = TxChannelAccessFailure
			m.endTx(t, nil)
			return
		}
		m.backoff(t)
		return
	}
	at := m.now + TurnaroundTime
	t.next = m.scheduleVisible(at, m.frameVisible(at, len(t.psdu)), prioFrameStart, t.n.id, func() {
		if m.live(t) {
			m.airStart(t)
		}
	})
}

// frameVisible is when a frame of psduLen octets whose first symbol is at
// start can first be seen outside the medium: its end, where receivers get
// it, or its start when a mirror copies frames as they begin.
func (m *Medium) frameVisible(start time.Duration, psduLen int) time.Duration {
	if len(m.mirrors) > 0 {
		return start
	}
	return start + AirTime(psduLen)
}

func (m *Medium) channelBusy(n *Node, ch uint8, from, to time.Duration) bool {
	for _, f := range m.air {
		if f.channel != ch || f.start >= to || f.end <= from {
			continue
		}
		if f.src == n || !m.link(f.src, n).Disconnected {
			return true
		}
	}
	return false
}

// airStart puts an attempt's frame on the air.
func (m *Medium) airStart(t *Tx) {
	t.res.Attempts++
	if t.res.Attempts == 1 {
		t.res.Start = m.now
	}
	f := m.startFrame(t.n, t.channel, t.psdu)
	f.onEnd = func() { m.attemptEnd(t) }
}

// attemptEnd follows the last symbol of an attempt's frame: wait for the
// ACK for macAckWaitDuration (2006 §7.5.6.4.2; 2015 §6.7.4.2), or finish.
func (m *Medium) attemptEnd(t *Tx) {
	if !m.live(t) {
		return
	}
	if !t.wantAck {
		t.res.Status = TxSent
		m.endTx(t, nil)
		return
	}
	n := t.n
	old := n.rxChannel()
	t.awaiting = true
	t.ackGen++
	if n.rxChannel() != old {
		n.rxing = nil
	}
	gen := t.ackGen
	t.ackTimer = m.schedule(m.now+AckWaitDuration, prioAckTimeout, n.id, func() { m.ackTimeout(t, gen) })
}

// endAckWait stops listening for t's ACK.
func (m *Medium) endAckWait(t *Tx) {
	n := t.n
	old := n.rxChannel()
	t.awaiting = false
	t.ackGen++
	if t.ackTimer != nil {
		t.ackTimer.dead = true
		t.ackTimer = nil
	}
	if n.rxChannel() != old {
		n.rxing = nil
	}
}

// ackTimeout: no ACK within macAckWaitDuration. Retransmit, with CSMA-CA
// again, until macMaxFrameRetries retransmissions have been made
// (2006 §7.5.6.4.3; 2015 §6.7.4.3).
func (m *Medium) ackTimeout(t *Tx, gen int) {
	if t.finished || !t.awaiting || gen != t.ackGen {
		return
	}
	m.endAckWait(t)
	if !m.live(t) {
		return
	}
	if t.res.Attempts <= t.maxRetr {
		m.stats.Retries++
		m.beginAttempt(t)
		return
	}
	m.stats.NoAcks++
	t.res.Status = TxNoAck
	m.endTx(t, nil)
}

// inRange calls fn for every node but src tuned to ch and not cut off
// from src, with the link from src to it.
func (m *Medium) inRange(src *Node, ch uint8, fn func(r *Node, l Link)) {
	for _, r := range m.nodes {
		if r == src || r.rxChannel() != ch {
			continue
		}
		if l := m.link(src, r); !l.Disconnected {
			fn(r, l)
		}
	}
}

// startFrame puts a PPDU on the air and works out, for every node tuned to
// the channel and in range, whether it can receive it.
func (m *Medium) startFrame(src *Node, ch uint8, psdu []byte) *airFrame {
	f := &airFrame{id: m.nextFrameID, src: src, channel: ch, start: m.now, end: m.now + AirTime(len(psdu)), psdu: psdu}
	m.nextFrameID++
	m.air = append(m.air, f)
	m.stats.Frames++
	src.onAir++
	// Half duplex: a transmitting radio loses what it was receiving.
	for _, e := range src.rxing {
		e.deaf = true
	}
	m.inRange(src, ch, func(r *Node, l Link) {
		e := &rxEntry{f: f, link: l, deaf: r.onAir > 0 || !r.listening()}
		// Frames overlapping in time at a receiver destroy each other
		// (no capture effect).
		if len(r.rxing) > 0 {
			e.collided = true
			for _, o := range r.rxing {
				o.collided = true
			}
		}
		r.rxing = append(r.rxing, e)
	})
	for _, mr := range m.mirrors {
		m.mirrorFrame(mr, f)
	}
	m.tapFrame(f)
	m.schedule(f.end, prioFrameEnd, src.id, func() { m.frameEnd(f) })
	return f
}

// frameEnd completes a frame at every node that heard it, then at its
// sender.
func (m *Medium) frameEnd(f *airFrame) {
	f.src.onAir--
	// Take every receiver's entry first: what a reception sets off (an ACK
	// ending a transmission, the node's next frame starting at this very
	// instant) must not find this frame still on the air elsewhere.
	type hit struct {
		r *Node
		e *rxEntry
	}
	var hits []hit
	for _, r := range m.nodes {
		if e := r.takeEntry(f); e != nil {
			hits = append(hits, hit{r, e})
		}
	}
	for _, h := range hits {
		r, e := h.r, h.e
		if e.deaf || r.detached || !r.listening() {
			continue
		}
		if e.collided {
			m.stats.Collisions++
			continue
		}
		if m.chance(e.link.Loss) {
			m.stats.Losses++
			continue
		}
		m.receive(r, f, e.link)
	}
	m.pruneAir()
	if f.onEnd != nil {
		f.onEnd()
	}
}

func (n *Node) takeEntry(f *airFrame) *rxEntry {
	for i, e := range n.rxing {
		if e.f == f {
			n.rxing = append(n.rxing[:i:i], n.rxing[i+1:]...)
			return e
		}
	}
	return nil
}

// pruneAir forgets frames no CCA or energy scan can still overlap.
func (m *Medium) pruneAir() {
	horizon := m.now - CCADuration
	for _, s := range m.scans {
		if s.active {
			horizon = min(horizon, s.start)
		}
	}
	kept := m.air[:0]
	for _, f := range m.air {
		if f.end > horizon {
			kept = append(kept, f)
		}
	}
	clear(m.air[len(kept):])
	m.air = kept
}

// receive handles a frame that reached node r intact.
func (m *Medium) receive(r *Node, f *airFrame, l Link) {
	psdu := f.psdu
	n := len(psdu)
	fcsOK := ieee802154.FCS(psdu[:n-2]) == uint16(psdu[n-2])|uint16(psdu[n-1])<<8
	fc := ieee802154.FrameControl(uint16(psdu[0]) | uint16(psdu[1])<<8)

	// An ACK ends the transmission waiting for its sequence number,
	// whatever the receiver's mode (2006 §7.5.6.4.2).
	if fcsOK && fc.Type() == ieee802154.FrameAck {
		if t := r.cur; t != nil && t.awaiting && psdu[2] == t.ackSeq {
			t.res.Status = TxAcked
			t.res.Ack = append([]byte(nil), psdu...)
			t.res.FramePending = fc.FramePending()
			m.endTx(t, nil)
		}
	}

	rec := Reception{RSSI: l.RSSI, LQI: LQIFromRSSI(l.RSSI), Channel: f.channel, Start: f.start, End: f.end, BadFCS: !fcsOK}
	if r.peer != nil {
		m.zepReceive(r, f, rec, fcsOK)
		return
	}
	if r.cfg.Promiscuous {
		m.deliver(r, rec, psdu)
		return
	}
	if !fcsOK {
		m.stats.Filtered++
		return
	}
	if fc.Type() == ieee802154.FrameAck {
		return // consumed by the MAC, never passed up
	}
	var fr ieee802154.Frame
	if err := fr.Decode(psdu, true); err != nil || !accepts(&r.cfg, &fr) {
		m.stats.Filtered++
		return
	}
	if wantsAck(&fr) {
		fp := r.cfg.FramePending != nil && r.cfg.FramePending(fr.Src)
		m.sendAck(r, f.channel, fr.Seq, fp)
		rec.AckSent, rec.AckFramePending = true, fp
	}
	m.deliver(r, rec, psdu)
}

// deliver queues a copy of psdu on r's reception channel, or counts it
// dropped.
func (m *Medium) deliver(r *Node, rec Reception, psdu []byte) {
	rec.PSDU = append([]byte(nil), psdu...)
	if r.deliverTo != nil {
		if r.deliverTo(rec) {
			m.stats.Delivered++
		} else {
			m.stats.RxDropped++
			r.dropped++
		}
		return
	}
	select {
	case r.rx <- rec:
		m.stats.Delivered++
	default:
		m.stats.RxDropped++
		r.dropped++
	}
}

// accepts applies the third level of filtering of 2006 §7.5.6.2 (2015
// §6.7.2) to a frame with a good FCS: a destination PAN ID, when present,
// is macPANId or broadcast; a short destination is macShortAddress or
// broadcast; an extended one is aExtendedAddress; a beacon's source PAN ID
// is macPANId unless that is 0xffff; a data or command frame with only a
// source address is accepted by a PAN coordinator of the source's PAN.
// Frames of 2015 that carry no PAN ID at all are taken to be in the
// receiver's PAN.
func accepts(c *NodeConfig, fr *ieee802154.Frame) bool {
	pan := ieee802154.PANID(c.PANID)
	anyPAN := fr.DstPANPresent || fr.SrcPANPresent
	if fr.Type == ieee802154.FrameBeacon {
		return pan == ieee802154.BroadcastPAN || !anyPAN || fr.SrcPAN == pan
	}
	switch fr.Dst.Mode {
	case ieee802154.AddrNone:
		return c.PANCoordinator && fr.Src.Mode != ieee802154.AddrNone && (!anyPAN || fr.SrcPAN == pan)
	case ieee802154.AddrShort, ieee802154.AddrExtended:
	default:
		return false
	}
	if fr.DstPANPresent && fr.DstPAN != ieee802154.BroadcastPAN && fr.DstPAN != pan {
		return false
	}
	if fr.Dst.Mode == ieee802154.AddrShort {
		return fr.Dst.Short == ieee802154.BroadcastShort || fr.Dst.Short == ieee802154.ShortAddr(c.ShortAddr)
	}
	return fr.Dst.Ext == ieee802154.ExtAddr(c.ExtAddr)
}

// wantsAck: a data or command frame with AR set, a sequence number, and a
// destination that is not the broadcast address is acknowledged.
func wantsAck(fr *ieee802154.Frame) bool {
	if !fr.AckRequest || fr.SeqSuppressed || fr.Dst.IsBroadcast() {
		return false
	}
	return fr.Type == ieee802154.FrameData || fr.Type == ieee802154.FrameCommand
}

// sendAck transmits an Imm-Ack aTurnaroundTime after the acknowledged
// frame's last symbol, without CSMA-CA (2006 §7.5.6.4.2). The frame is the
// 2003/2006 form, frame version 0: frame control (type ACK, the frame
// pending bit), the sequence number, the FCS (2006 §7.2.2.3).
func (m *Medium) sendAck(r *Node, ch uint8, seq uint8, framePending bool) {
	fc := uint16(ieee802154.FrameAck)
	if framePending {
		fc |= 1 << 4
	}
	ack := []byte{byte(fc), byte(fc >> 8), seq, 0, 0}
	fcs := ieee802154.FCS(ack[:3])
	ack[3], ack[4] = byte(fcs), byte(fcs>>8)
	m.stats.Acks++
	at := m.now + TurnaroundTime
	m.scheduleVisible(at, m.frameVisible(at, AckPSDULen), prioFrameStart, r.id, func() {
		if !r.detached {
			m.startFrame(r, ch, ack)
		}
	})
}

// scanDone ends an energy scan: the strongest RSSI of any frame the node
// could sense on the channel during the scan.
func (m *Medium) scanDone(s *scan) {
	for i, o := range m.scans {
		if o == s {
			m.scans = append(m.scans[:i:i], m.scans[i+1:]...)
			break
		}
	}
	if s.finished {
		return
	}
	s.n.scanning--
	best := int8(NoiseFloor)
	for _, f := range m.air {
		if f.channel != s.channel || f.src == s.n || f.start >= s.end || f.end <= s.start {
			continue
		}
		if l := m.link(f.src, s.n); !l.Disconnected && l.RSSI > best {
			best = l.RSSI
		}
	}
	s.finish(best, nil)
}
