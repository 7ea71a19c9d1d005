package rcpsim

import (
	"context"
	"slices"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// txJob is the transmission under way: OpenThread's RCP has one transmit
// frame buffer and one cached TID (ncp_base_radio.cpp, mCurTransmitTID).
type txJob struct {
	cancel context.CancelFunc
}

// scanJob is the energy scan under way.
type scanJob struct {
	cancel context.CancelFunc
}

// applyToNode mirrors the radio state onto the medium node. The node
// receives (and acknowledges) only while the radio is in its receive state
// on a channel the medium has; a receiver tuned to another channel (0,
// say, from a bad "RX channel after TX") hears nothing, as the real one.
// A frozen or powered-off RCP hears nothing either.
func (r *RCP) applyToNode() {
	r.mu.Lock()
	s, frozen, up := r.st, r.thaw != nil, r.up
	r.mu.Unlock()
	valid := s.rxChannel >= medium.MinChannel && s.rxChannel <= medium.MaxChannel
	r.node.Configure(func(c *medium.NodeConfig) {
		if valid {
			c.Channel = s.rxChannel
		}
		c.PANID = s.panID
		c.ShortAddr = s.shortAddr
		c.ExtAddr = s.extAddr
		c.Promiscuous = s.promiscuous
		c.RxOnWhenIdle = up && !frozen && s.phyEnabled && s.receiving && valid
	})
}

// framePending decides the frame-pending bit of the ACKs the radio sends:
// set for sources in the source-match tables (sleepy children with data
// waiting), or for everyone when matching is off (OpenThread's behaviour).
// It runs on the medium's event loop: no medium calls here.
func (r *RCP) framePending(src ieee802154.Address) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.st.srcMatchEnabled {
		return true
	}
	switch src.Mode {
	case ieee802154.AddrShort:
		return slices.Contains(r.st.srcShort, uint16(src.Short))
	case ieee802154.AddrExtended:
		return slices.Contains(r.st.srcExt, [8]byte(src.Ext))
	}
	return false
}

// transmit handles SET STREAM_RAW (ncp_base_radio.cpp
// HandlePropertySet_SPINEL_PROP_STREAM_RAW): the PHY must be enabled
// (INVALID_STATE; the raw stream need not be on); the request is decoded
// by DecodeStreamRawTxRequest (PARSE_ERROR for a bad PSDU or a missing
// channel; optional fields missing take their defaults, "RX channel after
// TX" the transmit channel); SubMac::Send refuses during an energy scan
// (INVALID_STATE). The answer comes when the transmission ends.
//
// SubMac::Send does not refuse a transmission while another is under way:
// the new request overwrites the one transmit buffer, restarts CSMA-CA and
// replaces the cached TID, so the earlier request is never answered. The
// simulated RCP does the same; a host must hold one transmission at a time
// (as radio_spinel.cpp Transmit does) or lose the earlier one.
func (r *RCP) transmit(ctx context.Context, tid uint8, value []byte) {
	r.mu.Lock()
	if !r.st.phyEnabled {
		r.mu.Unlock()
		r.status(tid, spinel.StatusInvalidState)
		return
	}
	var req spinel.TxRequest
	if err := req.Decode(value); err != nil {
		r.mu.Unlock()
		r.status(tid, spinel.StatusParseError)
		return
	}
	if r.st.scanChannel >= 0 && r.scan != nil {
		r.mu.Unlock()
		r.status(tid, spinel.StatusInvalidState)
		return
	}
	if r.tx != nil {
		r.tx.cancel() // the earlier request is abandoned, unanswered
	}
	txCtx, cancel := context.WithCancel(ctx)
	job := &txJob{cancel: cancel}
	r.tx = job
	gen := r.gen
	// sub_mac.cpp StartTimerForBackoff and BeginTransmit: with
	// rx-on-when-idle the radio receives on the transmit channel during
	// CSMA-CA; the transmission and its ACK are on that channel.
	r.st.receiving, r.st.rxChannel = true, req.Channel
	rxOnWhenIdle := r.st.rxOnWhenIdle
	r.mu.Unlock()
	r.applyToNode()

	opts := medium.TxOptions{Channel: req.Channel, DisableCSMA: !req.CSMAEnabled,
		MaxCSMABackoffs: int(req.MaxCSMABackoffs), MaxFrameRetries: int(req.MaxFrameRetries)}
	// Spinel's 0 means none; the medium's 0 means its default.
	if req.MaxCSMABackoffs == 0 {
		opts.MaxCSMABackoffs = -1
	}
	if req.MaxFrameRetries == 0 {
		opts.MaxFrameRetries = -1
	}
	psdu := append([]byte(nil), req.PSDU...)
	txCh, rxAfter, headerUpdated := req.Channel, req.RxChannelAfterTx, req.HeaderUpdated
	r.stats.tx.Add(1)
	go func() {
		defer cancel()
		res, err := r.airTransmit(txCtx, psdu, opts)
		var done spinel.TxDone
		// LinkRawTransmitDone echoes the frame's "header updated" flag,
		// which the host set in its request (we secure nothing).
		done.HeaderUpdated = headerUpdated
		switch {
		case err != nil:
			if txCtx.Err() != nil {
				return
			}
			done.Status = spinel.StatusFailure
		case res.Status == medium.TxAcked:
			done.Status, done.FramePending, done.HasAck = spinel.StatusOK, res.FramePending, true
			done.Ack = spinel.RxFrame{PSDU: res.Ack, RSSI: -50, NoiseFloor: spinel.NoiseFloorUnknown, Channel: txCh, LQI: 255, Timestamp: uint64(res.End / time.Microsecond)}
		case res.Status == medium.TxSent:
			done.Status = spinel.StatusOK
		case res.Status == medium.TxNoAck:
			done.Status = spinel.StatusNoAck
		case res.Status == medium.TxChannelAccessFailure:
			done.Status = spinel.StatusCCAFailure
		}
		value := spinel.AppendTxDone(nil, &done)
		// The channel switch and the report are one step: nothing the
		// RCP sends after the report can predate the switch.
		r.wmu.Lock()
		defer r.wmu.Unlock()
		r.waitThawLocked()
		r.mu.Lock()
		if r.gen != gen || r.tx != job {
			r.mu.Unlock()
			return // forgotten by a reset, or replaced by a newer request
		}
		r.tx = nil
		// sub_mac.cpp HandleTransmitDone, RCP build: the radio stays in
		// receive on the transmit channel, or moves to "RX channel after
		// TX" when that differs and rx-on-when-idle is set — before the
		// transmit-done callback runs.
		r.st.receiving, r.st.rxChannel = true, txCh
		if rxAfter != txCh && rxOnWhenIdle {
			r.st.rxChannel = rxAfter
		}
		r.mu.Unlock()
		r.applyToNode()
		if tid == 0 {
			return // LinkRawTransmitDone reports only a cached TID
		}
		r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, tid, spinel.CmdPropValueIs, spinel.PropLastStatus)
		r.frame = append(r.frame, value...)
		r.writeLocked(r.frame)
	}()
}

// airTransmit puts psdu on the medium. A channel the medium does not have
// (the host may ask for any) reaches nobody: the frame is sent, and a frame
// asking for an ACK gets none.
func (r *RCP) airTransmit(ctx context.Context, psdu []byte, opts medium.TxOptions) (medium.TxResult, error) {
	if opts.Channel < medium.MinChannel || opts.Channel > medium.MaxChannel {
		if len(psdu) >= 2 && ieee802154.FrameControl(uint16(psdu[0])|uint16(psdu[1])<<8).AckRequest() {
			return medium.TxResult{Status: medium.TxNoAck}, nil
		}
		return medium.TxResult{Status: medium.TxSent}, nil
	}
	return r.node.Transmit(ctx, psdu, opts)
}

// startScanLocked runs the energy scan of one channel; when it ends the
// RCP reports MAC_ENERGY_SCAN_RESULT then MAC_SCAN_STATE = IDLE and goes
// back to receiving on PHY_CHAN (ncp_base_radio.cpp LinkRawEnergyScanDone
// calls otLinkRawReceive whatever the raw stream's state). Callers hold
// mu.
func (r *RCP) startScanLocked(ctx context.Context, ch uint8, period time.Duration) {
	scanCtx, cancel := context.WithCancel(ctx)
	job := &scanJob{cancel: cancel}
	r.scan = job
	gen := r.gen
	go func() {
		defer cancel()
		rssi, err := r.node.EnergyScan(scanCtx, ch, period)
		if err != nil {
			return
		}
		r.wmu.Lock()
		defer r.wmu.Unlock()
		r.waitThawLocked()
		r.mu.Lock()
		if r.gen != gen || r.scan != job {
			r.mu.Unlock()
			return
		}
		r.scan = nil
		r.st.scanChannel = -1
		r.st.receiving, r.st.rxChannel = true, r.st.channel
		r.mu.Unlock()
		r.applyToNode()
		r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, 0, spinel.CmdPropValueIs, spinel.PropMACEnergyScanResult)
		r.frame = spinel.AppendEnergyScanResult(r.frame, spinel.EnergyScanResult{Channel: ch, MaxRSSI: rssi})
		r.writeLocked(r.frame)
		r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, 0, spinel.CmdPropValueIs, spinel.PropMACScanState)
		r.frame = append(r.frame, spinel.ScanStateIdle)
		r.writeLocked(r.frame)
	}()
}

// forwardReceptions passes received frames to the host: every frame the
// radio receives while the PHY is enabled (LinkRaw::InvokeReceiveDone; the
// raw stream flag only decides whether the radio receives or sleeps).
func (r *RCP) forwardReceptions(ctx context.Context) {
	var value []byte
	for {
		select {
		case <-ctx.Done():
			return
		case rec, ok := <-r.node.Receive():
			if !ok {
				return
			}
			r.mu.Lock()
			on := r.up && r.thaw == nil && r.st.phyEnabled && r.st.receiving && r.st.rxChannel == rec.Channel
			gen := r.gen
			r.mu.Unlock()
			if !on || rec.BadFCS {
				continue
			}
			f := spinel.RxFrame{PSDU: rec.PSDU, RSSI: rec.RSSI, NoiseFloor: spinel.NoiseFloorUnknown,
				Channel: rec.Channel, LQI: rec.LQI, Timestamp: uint64(rec.End / time.Microsecond)}
			if rec.AckFramePending {
				f.Flags |= spinel.RxFlagAckedFramePending
			}
			value = spinel.AppendRxFrame(value[:0], &f)
			r.emit(gen, 0, spinel.CmdPropValueIs, spinel.PropStreamRaw, value)
			r.stats.rx.Add(1)
		}
	}
}
