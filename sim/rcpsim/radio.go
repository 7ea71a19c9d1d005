package rcpsim

import (
	"context"
	"slices"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// txJob is a transmission the RCP started, on its way to its report.
// OpenThread's RCP has one transmit frame buffer and one cached TID
// (ncp_base_radio.cpp, mCurTransmitTID): only the job whose seq is still
// RCP.txCur when it ends is reported.
type txJob struct {
	seq, gen     uint64
	res          medium.TxResult // when the outcome was known at once (txJobs)
	err          error           // likewise
	tid          uint8
	txCh         uint8
	rxAfter      uint8
	rxOnWhenIdle bool
	// headerUpdated: LinkRawTransmitDone echoes the frame's "header
	// updated" flag, which the host set in its request (we secure
	// nothing).
	headerUpdated bool
}

// nodeState is what applyToNode gives the medium node.
type nodeState struct {
	channel      uint8 // kept as it was when not valid
	valid        bool
	panID, short uint16
	ext          [8]byte
	promiscuous  bool
	rxOnWhenIdle bool
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
//
// It also cancels the medium transmission of a request the RCP abandoned
// (abandonLocked), and skips the medium when nothing changed since its last
// call: a transmission on the channel the radio listens on changes nothing.
func (r *RCP) applyToNode() {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.mu.Lock()
	st := &r.st
	valid := st.rxChannel >= medium.MinChannel && st.rxChannel <= medium.MaxChannel
	want := nodeState{valid: valid, panID: st.panID, short: st.shortAddr, ext: st.extAddr, promiscuous: st.promiscuous,
		rxOnWhenIdle: r.up && r.thaw == nil && st.phyEnabled && st.receiving && valid}
	if valid {
		want.channel = st.rxChannel
	}
	abandoned := r.abandoned
	r.abandoned = nil
	r.mu.Unlock()
	if abandoned != nil {
		abandoned.Cancel()
	}
	if r.hasApplied && want == r.applied {
		return
	}
	r.applied, r.hasApplied = want, true
	r.node.Configure(func(c *medium.NodeConfig) {
		if want.valid {
			c.Channel = want.channel
		}
		c.PANID = want.panID
		c.ShortAddr = want.short
		c.ExtAddr = want.ext
		c.Promiscuous = want.promiscuous
		c.RxOnWhenIdle = want.rxOnWhenIdle
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
	// The earlier request, if any, is abandoned, unanswered; its medium
	// transmission is cancelled by applyToNode below.
	r.abandonLocked()
	r.txSeq++
	r.txCur = r.txSeq
	job := txJob{seq: r.txSeq, gen: r.gen, tid: tid, txCh: req.Channel, rxAfter: req.RxChannelAfterTx,
		rxOnWhenIdle: r.st.rxOnWhenIdle, headerUpdated: req.HeaderUpdated}
	// Kept before the medium can end the transmission (txEnded).
	r.txJob = job
	// sub_mac.cpp StartTimerForBackoff and BeginTransmit: with
	// rx-on-when-idle the radio receives on the transmit channel during
	// CSMA-CA; the transmission and its ACK are on that channel.
	r.st.receiving, r.st.rxChannel = true, req.Channel
	r.mu.Unlock()
	r.applyToNode()

	opts := medium.TxOptions{Channel: req.Channel, DisableCSMA: !req.CSMAEnabled,
		MaxCSMABackoffs: int(req.MaxCSMABackoffs), MaxFrameRetries: int(req.MaxFrameRetries),
		Notify: r.txEndedFn, Tag: job.seq}
	// Spinel's 0 means none; the medium's 0 means its default.
	if req.MaxCSMABackoffs == 0 {
		opts.MaxCSMABackoffs = -1
	}
	if req.MaxFrameRetries == 0 {
		opts.MaxFrameRetries = -1
	}
	r.stats.tx.Add(1)
	// The medium copies the PSDU: req.PSDU (the host's frame, in the
	// HDLC decoder's buffer) is not kept.
	tx, res, err := r.airTransmit(req.PSDU, opts)
	if tx != nil {
		r.mu.Lock()
		if r.txCur == job.seq {
			r.txTx = tx
		} else {
			r.abandoned = tx // a reset came meanwhile
		}
		r.mu.Unlock()
		r.applyToNode()
		return // reported when the medium calls txEnded
	}
	job.res, job.err = res, err
	select {
	case r.txJobs <- job:
	case <-ctx.Done():
	}
}

// airTransmit starts psdu on the medium. A channel the medium does not have
// (the host may ask for any) reaches nobody: the frame is sent, and a frame
// asking for an ACK gets none; the outcome is known at once.
func (r *RCP) airTransmit(psdu []byte, opts medium.TxOptions) (*medium.Tx, medium.TxResult, error) {
	if opts.Channel < medium.MinChannel || opts.Channel > medium.MaxChannel {
		if len(psdu) >= 2 && ieee802154.FrameControl(uint16(psdu[0])|uint16(psdu[1])<<8).AckRequest() {
			return nil, medium.TxResult{Status: medium.TxNoAck}, nil
		}
		return nil, medium.TxResult{Status: medium.TxSent}, nil
	}
	t, err := r.node.StartTransmit(psdu, opts)
	return t, medium.TxResult{}, err
}

// txEnded is the medium's Notify for the RCP's transmissions: on the
// medium's loop, with its lock held, so it only queues t and signals.
func (r *RCP) txEnded(t *medium.Tx) {
	r.doneMu.Lock()
	r.doneQ = append(r.doneQ, t)
	r.doneMu.Unlock()
	select {
	case r.doneSig <- struct{}{}:
	default:
	}
}

// reportTransmissions reports each transmission the RCP started once its
// outcome is known, in the order they end (one goroutine for all of them,
// for the life of Serve): medium transmissions as the medium ends them
// (txEnded), and those whose outcome was known at once (txJobs).
func (r *RCP) reportTransmissions(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-r.txJobs:
			r.reportTransmit(&job, job.res, job.err)
		case <-r.doneSig:
			r.doneMu.Lock()
			r.doneQ, r.doneWork = r.doneWork[:0], r.doneQ
			r.doneMu.Unlock()
			for i, t := range r.doneWork {
				r.doneWork[i] = nil
				r.mu.Lock()
				job := r.txJob
				r.mu.Unlock()
				if job.seq != t.Tag() {
					continue // replaced by a newer request: never reported
				}
				res, err := t.Result() // ended: does not wait
				r.reportTransmit(&job, res, err)
			}
		}
	}
}

// reportTransmit sends the transmit-done of job
// (ncp_base_radio.cpp LinkRawTransmitDone), unless the RCP forgot it.
func (r *RCP) reportTransmit(job *txJob, res medium.TxResult, err error) {
	var done spinel.TxDone
	done.HeaderUpdated = job.headerUpdated
	switch {
	case err != nil:
		done.Status = spinel.StatusFailure
	case res.Status == medium.TxAcked:
		done.Status, done.FramePending, done.HasAck = spinel.StatusOK, res.FramePending, true
		done.Ack = spinel.RxFrame{PSDU: res.Ack, RSSI: -50, NoiseFloor: spinel.NoiseFloorUnknown, Channel: job.txCh, LQI: 255, Timestamp: uint64(res.End / time.Microsecond)}
	case res.Status == medium.TxSent:
		done.Status = spinel.StatusOK
	case res.Status == medium.TxNoAck:
		done.Status = spinel.StatusNoAck
	case res.Status == medium.TxChannelAccessFailure:
		done.Status = spinel.StatusCCAFailure
	}
	// The channel switch and the report are one step: nothing the RCP
	// sends after the report can predate the switch.
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.waitThawLocked()
	r.mu.Lock()
	if r.gen != job.gen || r.txCur != job.seq {
		r.mu.Unlock()
		return // forgotten by a reset, or replaced by a newer request
	}
	r.txCur, r.txTx = 0, nil
	// sub_mac.cpp HandleTransmitDone, RCP build: the radio stays in
	// receive on the transmit channel, or moves to "RX channel after TX"
	// when that differs and rx-on-when-idle is set — before the
	// transmit-done callback runs.
	r.st.receiving, r.st.rxChannel = true, job.txCh
	if job.rxAfter != job.txCh && job.rxOnWhenIdle {
		r.st.rxChannel = job.rxAfter
	}
	r.mu.Unlock()
	r.applyToNode()
	if job.tid == 0 {
		return // LinkRawTransmitDone reports only a cached TID
	}
	r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, job.tid, spinel.CmdPropValueIs, spinel.PropLastStatus)
	r.frame = spinel.AppendTxDone(r.frame, &done)
	r.writeLocked(r.frame)
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
			r.sendReception(gen, &f)
		}
	}
}

// sendReception writes IS STREAM_RAW for f, built in place (header and
// value in one buffer), unless the RCP was reset since generation gen.
func (r *RCP) sendReception(gen uint64, f *spinel.RxFrame) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.waitThawLocked()
	r.mu.Lock()
	stale := r.gen != gen
	r.mu.Unlock()
	if stale {
		return
	}
	r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, 0, spinel.CmdPropValueIs, spinel.PropStreamRaw)
	r.frame = spinel.AppendRxFrame(r.frame, f)
	r.writeLocked(r.frame)
	r.stats.rx.Add(1)
}
