package rcpsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan/ieee802154"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// Identity defaults: what a current ot-rcp reports.
const (
	DefaultFirmware          = "OPENTHREAD/lowpanbr-rcpsim; SIMULATION"
	DefaultRCPAPIVersion     = 11
	DefaultMinHostAPIVersion = 4
)

// Config describes the simulated firmware.
type Config struct {
	EUI64             [8]byte
	Firmware          string
	Caps              []spinel.Cap // default: an RCP's (CONFIG_RADIO, MAC_RAW, RCP API versions)
	RCPAPIVersion     uint32
	MinHostAPIVersion uint32
	ProtocolMajor     uint32 // default 4
	Logger            *slog.Logger
}

// Stats counts what the simulated RCP did.
type Stats struct {
	FramesIn, FramesOut uint64
	BadFrames           uint64 // undecodable Spinel frames
	Transmissions       uint64
	Receptions          uint64 // frames passed to the host
	Resets              uint64
	HDLC                spinel.HDLCStats
}

type state struct {
	phyEnabled, rawStream bool
	channel               uint8
	panID, shortAddr      uint16
	extAddr               [8]byte
	txPower, ccaThreshold int8
	promiscuous           uint8
	srcMatchEnabled       bool
	srcShort              []uint16
	srcExt                [][8]byte
	scanMask              []uint8
	scanPeriod            uint16
	scanState             uint8
}

// RCP is one simulated radio co-processor on a medium node.
type RCP struct {
	node *medium.Node
	cfg  Config
	log  *slog.Logger

	mu     sync.Mutex
	st     state
	gen    uint64 // incremented on every reset: outcomes of older work are dropped
	txBusy bool

	wmu   sync.Mutex
	w     io.Writer
	frame []byte // reused under wmu
	enc   []byte

	replyDelay atomic.Int64 // nanoseconds
	stats      struct{ in, out, bad, tx, rx, resets atomic.Uint64 }
	hdlc       atomic.Pointer[spinel.HDLCStats]
}

// New makes an RCP on node. The node's configuration follows what the host
// sets.
func New(node *medium.Node, cfg Config) *RCP {
	if cfg.Firmware == "" {
		cfg.Firmware = DefaultFirmware
	}
	if cfg.Caps == nil {
		cfg.Caps = []spinel.Cap{spinel.CapConfigRadio, spinel.CapMACRaw, spinel.CapRCPAPIVersion, spinel.CapRCPMinHostAPIVersion}
	}
	if cfg.RCPAPIVersion == 0 {
		cfg.RCPAPIVersion = DefaultRCPAPIVersion
	}
	if cfg.MinHostAPIVersion == 0 {
		cfg.MinHostAPIVersion = DefaultMinHostAPIVersion
	}
	if cfg.ProtocolMajor == 0 {
		cfg.ProtocolMajor = spinel.ProtocolVersionMajor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &RCP{node: node, cfg: cfg, log: cfg.Logger}
	r.st = r.initialState()
	r.node.Configure(func(c *medium.NodeConfig) {
		c.ExtAddr = cfg.EUI64
		c.FramePending = r.framePending
	})
	r.applyToNode()
	return r
}

func (r *RCP) initialState() state {
	return state{channel: 11, panID: 0xffff, shortAddr: 0xfffe, extAddr: r.cfg.EUI64, ccaThreshold: -75, scanPeriod: 300}
}

// Stats returns the counters.
func (r *RCP) Stats() Stats {
	s := Stats{FramesIn: r.stats.in.Load(), FramesOut: r.stats.out.Load(), BadFrames: r.stats.bad.Load(),
		Transmissions: r.stats.tx.Load(), Receptions: r.stats.rx.Load(), Resets: r.stats.resets.Load()}
	if h := r.hdlc.Load(); h != nil {
		s.HDLC = *h
	}
	return s
}

// SetReplyDelay makes the RCP answer every request d late (a slow or hung
// RCP); 0 restores prompt answers.
func (r *RCP) SetReplyDelay(d time.Duration) { r.replyDelay.Store(int64(d)) }

// Serve speaks Spinel on rw until rw fails or ctx ends (then it closes rw).
// It starts with the power-on reset notification, as a booting RCP does.
func (r *RCP) Serve(ctx context.Context, rw io.ReadWriteCloser) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.wmu.Lock()
	r.w = rw
	r.wmu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		rw.Close()
	}()
	go func() {
		defer wg.Done()
		r.forwardReceptions(ctx)
	}()
	defer wg.Wait()
	r.reset(false)

	dec := spinel.NewHDLCDecoder(spinel.DefaultMaxFrame)
	buf := make([]byte, 4096)
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			dec.Feed(buf[:n], func(frame []byte) { r.handle(ctx, frame) })
			st := dec.Stats()
			r.hdlc.Store(&st)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A PTY master reads EIO while no process holds the slave open:
			// the host closed the port (to reconnect, say). A real RCP just
			// waits for its host; so does this one.
			if errors.Is(err, syscall.EIO) {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			return fmt.Errorf("rcpsim: read: %w", err)
		}
	}
}

// Reset makes the RCP reset on its own (a crash, a watchdog): its state is
// lost, a pending transmission is forgotten, and the host is told with an
// unsolicited reset notification.
func (r *RCP) Reset() { r.reset(true) }

func (r *RCP) reset(spontaneous bool) {
	r.mu.Lock()
	r.gen++
	r.st = r.initialState()
	r.txBusy = false
	r.mu.Unlock()
	r.applyToNode()
	if spontaneous {
		r.stats.resets.Add(1)
	}
	// OpenThread's RCP reports power-on whatever the cause.
	r.send(0, spinel.CmdPropValueIs, spinel.PropLastStatus, spinel.AppendPackedUint(nil, uint32(spinel.StatusResetPowerOn)))
}

// InjectGarbage writes b into the stream, between frames.
func (r *RCP) InjectGarbage(b []byte) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.w == nil {
		return errors.New("rcpsim: not serving")
	}
	_, err := r.w.Write(b)
	return err
}

// send writes one Spinel frame.
func (r *RCP) send(tid uint8, cmd spinel.Command, prop spinel.Prop, value []byte) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.w == nil {
		return
	}
	r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, tid, cmd, prop)
	r.frame = append(r.frame, value...)
	r.enc = spinel.AppendHDLC(r.enc[:0], r.frame)
	if _, err := r.w.Write(r.enc); err != nil {
		r.log.Debug("rcpsim: write", "err", err)
		return
	}
	r.stats.out.Add(1)
}

func (r *RCP) status(tid uint8, st spinel.Status) {
	r.send(tid, spinel.CmdPropValueIs, spinel.PropLastStatus, spinel.AppendPackedUint(nil, uint32(st)))
}

// handle answers one frame from the host.
func (r *RCP) handle(ctx context.Context, b []byte) {
	r.stats.in.Add(1)
	var f spinel.Frame
	if err := f.Decode(b); err != nil {
		r.stats.bad.Add(1)
		return
	}
	if d := time.Duration(r.replyDelay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
	}
	switch f.Command {
	case spinel.CmdNoop:
		r.status(f.TID, spinel.StatusOK)
	case spinel.CmdReset:
		r.reset(false)
	case spinel.CmdPropValueGet:
		v, st := r.get(f.Prop)
		if st != spinel.StatusOK {
			r.status(f.TID, st)
			return
		}
		r.send(f.TID, spinel.CmdPropValueIs, f.Prop, v)
	case spinel.CmdPropValueSet:
		if f.Prop == spinel.PropStreamRaw {
			r.transmit(ctx, f.TID, f.Value)
			return
		}
		if st := r.set(ctx, f.Prop, f.Value); st != spinel.StatusOK {
			r.status(f.TID, st)
			return
		}
		v, _ := r.get(f.Prop)
		r.send(f.TID, spinel.CmdPropValueIs, f.Prop, v)
	case spinel.CmdPropValueInsert, spinel.CmdPropValueRemove:
		if st := r.insertRemove(f.Command == spinel.CmdPropValueInsert, f.Prop, f.Value); st != spinel.StatusOK {
			r.status(f.TID, st)
			return
		}
		cmd := spinel.CmdPropValueInserted
		if f.Command == spinel.CmdPropValueRemove {
			cmd = spinel.CmdPropValueRemoved
		}
		r.send(f.TID, cmd, f.Prop, f.Value)
	default:
		r.status(f.TID, spinel.StatusInvalidCommand)
	}
}

func (r *RCP) get(p spinel.Prop) ([]byte, spinel.Status) {
	r.mu.Lock()
	s := r.st
	r.mu.Unlock()
	switch p {
	case spinel.PropProtocolVersion:
		return spinel.AppendProtocolVersion(nil, r.cfg.ProtocolMajor, spinel.ProtocolVersionMinor), spinel.StatusOK
	case spinel.PropNCPVersion:
		return spinel.AppendUTF8(nil, r.cfg.Firmware), spinel.StatusOK
	case spinel.PropInterfaceType:
		return spinel.AppendPackedUint(nil, spinel.InterfaceTypeThread), spinel.StatusOK
	case spinel.PropCaps:
		return spinel.AppendCaps(nil, r.cfg.Caps), spinel.StatusOK
	case spinel.PropHWAddr:
		return spinel.AppendEUI64(nil, r.cfg.EUI64), spinel.StatusOK
	case spinel.PropRCPAPIVersion:
		if !spinel.HasCap(r.cfg.Caps, spinel.CapRCPAPIVersion) {
			return nil, spinel.StatusPropNotFound
		}
		return spinel.AppendPackedUint(nil, r.cfg.RCPAPIVersion), spinel.StatusOK
	case spinel.PropRCPMinHostAPIVersion:
		if !spinel.HasCap(r.cfg.Caps, spinel.CapRCPMinHostAPIVersion) {
			return nil, spinel.StatusPropNotFound
		}
		return spinel.AppendPackedUint(nil, r.cfg.MinHostAPIVersion), spinel.StatusOK
	case spinel.PropRadioCaps:
		caps := spinel.RadioCapAckTimeout | spinel.RadioCapEnergyScan | spinel.RadioCapTransmitRetries |
			spinel.RadioCapCSMABackoff | spinel.RadioCapSleepToTx | spinel.RadioCapRxOnWhenIdle
		return spinel.AppendPackedUint(nil, uint32(caps)), spinel.StatusOK
	case spinel.PropPHYEnabled:
		return spinel.AppendBool(nil, s.phyEnabled), spinel.StatusOK
	case spinel.PropPHYChan:
		return []byte{s.channel}, spinel.StatusOK
	case spinel.PropPHYTxPower:
		return spinel.AppendInt8(nil, s.txPower), spinel.StatusOK
	case spinel.PropPHYCCAThreshold:
		return spinel.AppendInt8(nil, s.ccaThreshold), spinel.StatusOK
	case spinel.PropPHYRxSensitivity:
		return spinel.AppendInt8(nil, -100), spinel.StatusOK
	case spinel.PropPHYRSSI:
		rssi, err := r.node.EnergyScan(context.Background(), s.channel, 128*time.Microsecond)
		if err != nil {
			return nil, spinel.StatusFailure
		}
		return spinel.AppendInt8(nil, rssi), spinel.StatusOK
	case spinel.PropMAC154PANID:
		return spinel.AppendUint16(nil, s.panID), spinel.StatusOK
	case spinel.PropMAC154SAddr:
		return spinel.AppendUint16(nil, s.shortAddr), spinel.StatusOK
	case spinel.PropMAC154LAddr:
		return spinel.AppendEUI64(nil, s.extAddr), spinel.StatusOK
	case spinel.PropMACRawStreamEnabled:
		return spinel.AppendBool(nil, s.rawStream), spinel.StatusOK
	case spinel.PropMACPromiscuousMode:
		return []byte{s.promiscuous}, spinel.StatusOK
	case spinel.PropMACSrcMatchEnabled:
		return spinel.AppendBool(nil, s.srcMatchEnabled), spinel.StatusOK
	case spinel.PropMACSrcMatchShortAddresses:
		return spinel.AppendShortAddrs(nil, s.srcShort), spinel.StatusOK
	case spinel.PropMACSrcMatchExtendedAddresses:
		return spinel.AppendEUI64s(nil, s.srcExt), spinel.StatusOK
	case spinel.PropMACScanMask:
		return append([]byte(nil), s.scanMask...), spinel.StatusOK
	case spinel.PropMACScanPeriod:
		return spinel.AppendUint16(nil, s.scanPeriod), spinel.StatusOK
	case spinel.PropMACScanState:
		return []byte{s.scanState}, spinel.StatusOK
	}
	return nil, spinel.StatusPropNotFound
}

func (r *RCP) set(ctx context.Context, p spinel.Prop, v []byte) spinel.Status {
	rd := spinel.NewReader(v, p.String())
	r.mu.Lock()
	s := r.st
	r.mu.Unlock()
	switch p {
	case spinel.PropPHYEnabled:
		s.phyEnabled = rd.Bool()
	case spinel.PropPHYChan:
		ch := rd.U8()
		if rd.Err() == nil && (ch < medium.MinChannel || ch > medium.MaxChannel) {
			return spinel.StatusInvalidArgument
		}
		s.channel = ch
	case spinel.PropPHYTxPower:
		s.txPower = rd.I8()
	case spinel.PropPHYCCAThreshold:
		s.ccaThreshold = rd.I8()
	case spinel.PropMAC154PANID:
		s.panID = rd.U16()
	case spinel.PropMAC154SAddr:
		s.shortAddr = rd.U16()
	case spinel.PropMAC154LAddr:
		s.extAddr = rd.EUI64()
	case spinel.PropMACRawStreamEnabled:
		s.rawStream = rd.Bool()
	case spinel.PropMACPromiscuousMode:
		s.promiscuous = rd.U8()
	case spinel.PropMACSrcMatchEnabled:
		s.srcMatchEnabled = rd.Bool()
	case spinel.PropMACSrcMatchShortAddresses:
		t, err := spinel.ReadShortAddrs(nil, v)
		if err != nil {
			return spinel.StatusParseError
		}
		s.srcShort = t
	case spinel.PropMACSrcMatchExtendedAddresses:
		t, err := spinel.ReadEUI64s(nil, v)
		if err != nil {
			return spinel.StatusParseError
		}
		s.srcExt = t
	case spinel.PropMACScanMask:
		s.scanMask = append([]byte(nil), v...)
	case spinel.PropMACScanPeriod:
		s.scanPeriod = rd.U16()
	case spinel.PropMACScanState:
		st := rd.U8()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		if st == spinel.ScanStateEnergy {
			s.scanState = st
			r.mu.Lock()
			r.st.scanState = st
			gen := r.gen
			r.mu.Unlock()
			go r.energyScan(ctx, gen, slices.Clone(s.scanMask), time.Duration(s.scanPeriod)*time.Millisecond)
			return spinel.StatusOK
		}
		if st != spinel.ScanStateIdle {
			return spinel.StatusInvalidArgument
		}
		s.scanState = st
	default:
		if _, known := r.get(p); known == spinel.StatusOK {
			return spinel.StatusInvalidCommandForProp // read-only
		}
		return spinel.StatusPropNotFound
	}
	if rd.Err() != nil {
		return spinel.StatusParseError
	}
	r.mu.Lock()
	r.st = s
	r.mu.Unlock()
	r.applyToNode()
	return spinel.StatusOK
}

func (r *RCP) insertRemove(insert bool, p spinel.Prop, v []byte) spinel.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch p {
	case spinel.PropMACSrcMatchShortAddresses:
		t, err := spinel.ReadShortAddrs(nil, v)
		if err != nil || len(t) != 1 {
			return spinel.StatusParseError
		}
		return editTable(&r.st.srcShort, t[0], insert)
	case spinel.PropMACSrcMatchExtendedAddresses:
		t, err := spinel.ReadEUI64s(nil, v)
		if err != nil || len(t) != 1 {
			return spinel.StatusParseError
		}
		return editTable(&r.st.srcExt, t[0], insert)
	}
	return spinel.StatusInvalidCommandForProp
}

// editTable inserts v into (or removes it from) a source-match table;
// removing an absent entry is ITEM_NOT_FOUND, inserting a present one is
// harmless.
func editTable[T comparable](table *[]T, v T, insert bool) spinel.Status {
	i := slices.Index(*table, v)
	switch {
	case insert && i < 0:
		*table = append(*table, v)
	case !insert && i >= 0:
		*table = slices.Delete(*table, i, i+1)
	case !insert:
		return spinel.StatusItemNotFound
	}
	return spinel.StatusOK
}

// applyToNode mirrors the radio state onto the medium node: the receiver is
// on only with the PHY enabled and the raw stream on.
func (r *RCP) applyToNode() {
	r.mu.Lock()
	s := r.st
	r.mu.Unlock()
	r.node.Configure(func(c *medium.NodeConfig) {
		c.Channel = s.channel
		c.PANID = s.panID
		c.ShortAddr = s.shortAddr
		c.ExtAddr = s.extAddr
		c.Promiscuous = s.promiscuous != spinel.PromiscuousOff
		c.RxOnWhenIdle = s.phyEnabled && s.rawStream
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

// transmit starts a SET STREAM_RAW; the answer comes when it ends.
func (r *RCP) transmit(ctx context.Context, tid uint8, value []byte) {
	var req spinel.TxRequest
	if err := req.Decode(value); err != nil {
		r.status(tid, spinel.StatusParseError)
		return
	}
	r.mu.Lock()
	if !r.st.rawStream || !r.st.phyEnabled {
		r.mu.Unlock()
		r.status(tid, spinel.StatusInvalidState)
		return
	}
	if r.txBusy {
		r.mu.Unlock()
		r.status(tid, spinel.StatusBusy)
		return
	}
	r.txBusy = true
	gen := r.gen
	r.mu.Unlock()
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
	r.stats.tx.Add(1)
	go func() {
		res, err := r.node.Transmit(ctx, psdu, opts)
		r.mu.Lock()
		stale := r.gen != gen
		if !stale {
			r.txBusy = false
		}
		r.mu.Unlock()
		if stale {
			return // forgotten by a reset, as a real RCP does
		}
		var done spinel.TxDone
		switch {
		case err != nil:
			done.Status = spinel.StatusFailure
		case res.Status == medium.TxAcked:
			done.Status, done.FramePending, done.HasAck = spinel.StatusOK, res.FramePending, true
			done.Ack = spinel.RxFrame{PSDU: res.Ack, RSSI: -50, NoiseFloor: spinel.NoiseFloorUnknown, Channel: req.Channel, LQI: 255, Timestamp: uint64(res.End / time.Microsecond)}
		case res.Status == medium.TxSent:
			done.Status = spinel.StatusOK
		case res.Status == medium.TxNoAck:
			done.Status = spinel.StatusNoAck
		case res.Status == medium.TxChannelAccessFailure:
			done.Status = spinel.StatusCCAFailure
		}
		r.send(tid, spinel.CmdPropValueIs, spinel.PropLastStatus, spinel.AppendTxDone(nil, &done))
	}()
}

// energyScan scans each channel of the mask and reports, then goes idle.
func (r *RCP) energyScan(ctx context.Context, gen uint64, mask []uint8, period time.Duration) {
	for _, ch := range mask {
		rssi, err := r.node.EnergyScan(ctx, ch, period)
		r.mu.Lock()
		stale := r.gen != gen
		r.mu.Unlock()
		if err != nil || stale {
			return
		}
		r.send(0, spinel.CmdPropValueIs, spinel.PropMACEnergyScanResult, spinel.AppendEnergyScanResult(nil, spinel.EnergyScanResult{Channel: ch, MaxRSSI: rssi}))
	}
	r.mu.Lock()
	r.st.scanState = spinel.ScanStateIdle
	r.mu.Unlock()
	r.send(0, spinel.CmdPropValueIs, spinel.PropMACScanState, []byte{spinel.ScanStateIdle})
}

// forwardReceptions passes received frames to the host while the raw
// stream is on.
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
			on := r.st.rawStream && r.st.phyEnabled
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
			r.send(0, spinel.CmdPropValueIs, spinel.PropStreamRaw, value)
			r.stats.rx.Add(1)
		}
	}
}
