package rcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// API versions (OpenThread's spinel.h): the RCP API this host implements
// and the oldest RCP API it accepts.
const (
	HostRCPAPIVersion = 11
	MinRCPAPIVersion  = 4
)

// quietPeriod is how long the line must be silent before the driver resets
// the RCP.
const quietPeriod = 50 * time.Millisecond

// ErrNotReady: the RCP is down (resetting, reconnecting); the frame was not
// sent.
var ErrNotReady = errors.New("radio: RCP not ready")

// Opener makes a new connection to the RCP.
type Opener func(ctx context.Context) (spinel.FrameConn, error)

// URLOpener opens the radio named by a radio URL: HDLC-lite over a UART or
// a forkpty child, or SPI frames.
func URLOpener(u *transport.URL, logger *slog.Logger) Opener {
	return func(ctx context.Context) (spinel.FrameConn, error) {
		c, err := transport.Open(ctx, u, logger)
		if err != nil {
			return nil, err
		}
		if c.Stream != nil {
			return spinel.NewHDLCConn(c.Stream), nil
		}
		return c.Frames, nil
	}
}

// Config configures a Driver.
type Config struct {
	Open     Opener
	Name     string // for logs, e.g. the radio URL
	Settings radio.Settings
	Logger   *slog.Logger
	// QueueSize bounds the transmit queue (default 16).
	QueueSize int
	// RxBuffer bounds received frames waiting for the consumer (default 64).
	RxBuffer int
	// ResetTimeout bounds the wait for the reset notification (default 2 s).
	ResetTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay between reconnection
	// attempts (defaults 100 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
	Client                 spinel.ClientOptions
}

// Stats counts what the driver did.
type Stats struct {
	TxSent, TxAcked, TxNoAck, TxCCAFailure, TxAborted uint64
	// TxNotReady: Transmit refused because the RCP was down.
	TxNotReady uint64
	RxFrames   uint64
	// RxDropped: received frames the consumer was too slow to take.
	RxDropped uint64
	// Resets: unexpected RCP resets; Timeouts: requests the RCP did not
	// answer; Disconnects: transport failures; Reconnects: successful
	// re-initialisations after any of them.
	Resets, Timeouts, Disconnects, Reconnects uint64
	// Spinel and HDLC are the counters of the current connection.
	Spinel spinel.ClientStats
	Up     bool
}

type txRequest struct {
	psdu [spinel.MaxPSDU]byte
	n    int
	opts radio.TxOptions
	ack  [spinel.MaxPSDU]byte
	done chan txOutcome
}

type txOutcome struct {
	res radio.TxResult
	err error
}

var txPool = sync.Pool{New: func() any { return &txRequest{done: make(chan txOutcome, 1)} }}

// Driver is a radio.Radio backed by a Spinel RCP.
type Driver struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	txq      chan *txRequest
	rx       chan radio.Frame
	recover  chan string
	scanMu   sync.Mutex // one energy scan at a time, no transmissions during it
	scanDone chan spinel.EnergyScanResult

	mu       sync.Mutex
	client   *spinel.Client // nil while down
	identity radio.Identity
	settings radio.Settings
	up       atomic.Bool
	closeRx  sync.Once

	stats struct {
		txSent, txAcked, txNoAck, txCCA, txAborted, txNotReady atomic.Uint64
		rxFrames, rxDropped                                    atomic.Uint64
		resets, timeouts, disconnects, reconnects              atomic.Uint64
	}
}

var _ radio.Radio = (*Driver)(nil)

// Open connects to the RCP, initialises it and starts the driver. Errors
// of the first connection are returned (a missing device, firmware that is
// not an RCP); later failures are recovered from.
func Open(ctx context.Context, cfg Config) (*Driver, error) {
	if cfg.Open == nil {
		return nil, errors.New("radio: rcp: no Opener")
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 16
	}
	if cfg.RxBuffer <= 0 {
		cfg.RxBuffer = 64
	}
	if cfg.ResetTimeout <= 0 {
		cfg.ResetTimeout = 2 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	d := &Driver{
		cfg:      cfg,
		log:      cfg.Logger.With("radio", cfg.Name),
		txq:      make(chan *txRequest, cfg.QueueSize),
		rx:       make(chan radio.Frame, cfg.RxBuffer),
		recover:  make(chan string, 1),
		settings: cloneSettings(cfg.Settings),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	conn, err := d.connect(ctx)
	if err != nil {
		d.cancel()
		return nil, err
	}
	d.wg.Add(2)
	go d.superviseRCP(conn)
	go d.transmitLoop()
	return d, nil
}

// connection is one live connection to the RCP.
type connection struct {
	client *spinel.Client
	events <-chan spinel.Frame
	cancel func()
}

// connect opens a connection and initialises the RCP.
func (d *Driver) connect(ctx context.Context) (*connection, error) {
	fc, err := d.cfg.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("radio %s: open: %w", d.cfg.Name, err)
	}
	client := spinel.NewClient(fc, d.cfg.Logger, d.cfg.Client)
	events, cancel := client.Subscribe(d.cfg.RxBuffer, spinel.PropStreamRaw, spinel.PropLastStatus, spinel.PropMACEnergyScanResult, spinel.PropMACScanState)
	c := &connection{client: client, events: events, cancel: cancel}
	id, err := d.initialise(ctx, c)
	if err != nil {
		cancel()
		client.Close()
		return nil, fmt.Errorf("radio %s: %w", d.cfg.Name, err)
	}
	d.mu.Lock()
	d.identity = id
	settings := cloneSettings(d.settings)
	d.mu.Unlock()
	if err := d.apply(ctx, client, &settings, id); err != nil {
		cancel()
		client.Close()
		return nil, fmt.Errorf("radio %s: configure: %w", d.cfg.Name, err)
	}
	d.mu.Lock()
	d.client = client
	d.mu.Unlock()
	d.up.Store(true)
	d.log.Info("RCP ready", "firmware", id.Firmware, "eui64", fmt.Sprintf("%x", id.EUI64), "rcp_api", id.RCPAPIVersion, "channel", settings.Channel)
	return c, nil
}

// initialise resets the RCP and reads and checks what it is.
func (d *Driver) initialise(ctx context.Context, c *connection) (radio.Identity, error) {
	var id radio.Identity
	// A reset notification sent before we listened (the RCP booting as the
	// port opened) may still be queued in the tty; had we sent RESET first
	// we would take it for the answer and then see ours fail the next
	// request. Let the line go quiet first.
	quiet := time.NewTimer(quietPeriod)
drain:
	for {
		select {
		case _, ok := <-c.events:
			if !ok {
				quiet.Stop()
				return id, fmt.Errorf("reset: %w", c.client.Err())
			}
			quiet.Reset(quietPeriod)
		case <-quiet.C:
			break drain
		case <-ctx.Done():
			quiet.Stop()
			return id, fmt.Errorf("reset: %w", ctx.Err())
		}
	}
	if err := c.client.Reset(ctx, spinel.ResetStack); err != nil {
		return id, fmt.Errorf("reset: %w", err)
	}
	timer := time.NewTimer(d.cfg.ResetTimeout)
	defer timer.Stop()
wait:
	for {
		select {
		case f, ok := <-c.events:
			if !ok {
				return id, fmt.Errorf("reset: %w", c.client.Err())
			}
			if f.Prop == spinel.PropLastStatus {
				r := spinel.NewReader(f.Value, "LAST_STATUS")
				if st := spinel.Status(r.PackedUint()); r.Err() == nil && st.IsReset() {
					d.log.Debug("RCP reset", "reason", st.String())
					break wait
				}
			}
		case <-timer.C:
			return id, fmt.Errorf("reset: no reset notification within %v (is this an OpenThread RCP, at the right baud rate?): %w", d.cfg.ResetTimeout, spinel.ErrTimeout)
		case <-ctx.Done():
			return id, fmt.Errorf("reset: %w", ctx.Err())
		}
	}

	// A second notification may still follow ours (a reset queued before
	// the RESET took effect): it fails the request in flight; ask again.
	var f spinel.Frame
	var err error
	for range 3 {
		if f, err = c.client.Get(ctx, spinel.PropProtocolVersion); !errors.Is(err, spinel.ErrReset) {
			break
		}
	}
	if err != nil {
		return id, fmt.Errorf("PROTOCOL_VERSION: %w", err)
	}
	major, minor, err := spinel.DecodeProtocolVersion(f.Value)
	if err != nil {
		return id, fmt.Errorf("PROTOCOL_VERSION: %w", err)
	}
	id.ProtocolVersion = [2]uint32{major, minor}
	if major != spinel.ProtocolVersionMajor {
		return id, fmt.Errorf("Spinel protocol %d.%d, this host speaks %d.x: %w", major, minor, spinel.ProtocolVersionMajor, radio.ErrIncompatible)
	}
	if f, err = c.client.Get(ctx, spinel.PropNCPVersion); err != nil {
		return id, fmt.Errorf("NCP_VERSION: %w", err)
	}
	r := spinel.NewReader(f.Value, "NCP_VERSION")
	id.Firmware = string(r.UTF8())
	if f, err = c.client.Get(ctx, spinel.PropCaps); err != nil {
		return id, fmt.Errorf("CAPS: %w", err)
	}
	caps, err := spinel.ReadCaps(nil, f.Value)
	if err != nil {
		return id, fmt.Errorf("CAPS: %w", err)
	}
	for _, c := range caps {
		id.Caps = append(id.Caps, uint32(c))
	}
	if !spinel.HasCap(caps, spinel.CapConfigRadio) || !spinel.HasCap(caps, spinel.CapMACRaw) {
		return id, fmt.Errorf("firmware %q lacks the CONFIG_RADIO and MAC_RAW capabilities (it has %v): it is not an RCP — flash OpenThread's ot-rcp image: %w", id.Firmware, caps, radio.ErrNotRCP)
	}
	if f, err = c.client.Get(ctx, spinel.PropHWAddr); err != nil {
		return id, fmt.Errorf("HWADDR: %w", err)
	}
	r = spinel.NewReader(f.Value, "HWADDR")
	id.EUI64 = r.EUI64()
	if err := r.Err(); err != nil {
		return id, fmt.Errorf("HWADDR: %w", err)
	}
	if spinel.HasCap(caps, spinel.CapRCPAPIVersion) {
		if id.RCPAPIVersion, err = getUint(ctx, c.client, spinel.PropRCPAPIVersion); err != nil {
			return id, err
		}
		if id.RCPAPIVersion < MinRCPAPIVersion {
			return id, fmt.Errorf("firmware %q has RCP API %d; this host needs %d or newer — update the RCP firmware: %w", id.Firmware, id.RCPAPIVersion, MinRCPAPIVersion, radio.ErrIncompatible)
		}
	}
	if spinel.HasCap(caps, spinel.CapRCPMinHostAPIVersion) {
		if id.MinHostAPIVersion, err = getUint(ctx, c.client, spinel.PropRCPMinHostAPIVersion); err != nil {
			return id, err
		}
		if id.MinHostAPIVersion > HostRCPAPIVersion {
			return id, fmt.Errorf("firmware %q needs a host with RCP API %d or newer; this host has %d: %w", id.Firmware, id.MinHostAPIVersion, HostRCPAPIVersion, radio.ErrIncompatible)
		}
	}
	if id.RadioCaps, err = getUint(ctx, c.client, spinel.PropRadioCaps); err != nil {
		return id, err
	}
	return id, nil
}

func getUint(ctx context.Context, c *spinel.Client, p spinel.Prop) (uint32, error) {
	f, err := c.Get(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("%v: %w", p, err)
	}
	r := spinel.NewReader(f.Value, p.String())
	v := r.PackedUint()
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("%v: %w", p, err)
	}
	return v, nil
}

// apply writes the settings to the RCP and turns reception on. The raw
// stream goes last: reception starts with it, and only after PHY_ENABLED.
func (d *Driver) apply(ctx context.Context, c *spinel.Client, s *radio.Settings, id radio.Identity) error {
	ext := s.ExtAddr
	if ext == ([8]byte{}) {
		ext = id.EUI64
	}
	var b []byte
	steps := []struct {
		prop  spinel.Prop
		value []byte
	}{
		{spinel.PropPHYEnabled, spinel.AppendBool(nil, true)},
		{spinel.PropMAC154PANID, spinel.AppendUint16(nil, s.PANID)},
		{spinel.PropMAC154SAddr, spinel.AppendUint16(nil, s.ShortAddr)},
		{spinel.PropMAC154LAddr, spinel.AppendEUI64(nil, ext)},
		{spinel.PropPHYTxPower, spinel.AppendInt8(nil, s.TxPowerDBm)},
		{spinel.PropPHYChan, spinel.AppendUint8(nil, s.Channel)},
		{spinel.PropMACPromiscuousMode, spinel.AppendUint8(nil, promiscuous(s.Promiscuous))},
		{spinel.PropMACSrcMatchEnabled, spinel.AppendBool(nil, len(s.SrcMatchShort)+len(s.SrcMatchExt) > 0)},
		{spinel.PropMACSrcMatchShortAddresses, spinel.AppendShortAddrs(b, s.SrcMatchShort)},
		{spinel.PropMACSrcMatchExtendedAddresses, spinel.AppendEUI64s(nil, s.SrcMatchExt)},
		{spinel.PropMACRawStreamEnabled, spinel.AppendBool(nil, true)},
	}
	for _, st := range steps {
		if _, err := c.Set(ctx, st.prop, st.value); err != nil {
			return fmt.Errorf("set %v: %w", st.prop, err)
		}
	}
	return nil
}

func promiscuous(on bool) uint8 {
	if on {
		return spinel.PromiscuousFull
	}
	return spinel.PromiscuousOff
}

func cloneSettings(s radio.Settings) radio.Settings {
	s.SrcMatchShort = slices.Clone(s.SrcMatchShort)
	s.SrcMatchExt = slices.Clone(s.SrcMatchExt)
	return s
}

// superviseRCP owns the connection lifecycle: it runs the receive
// goroutine of each connection, takes the radio down when the connection
// fails, and reconnects with backoff.
func (d *Driver) superviseRCP(c *connection) {
	defer d.wg.Done()
	backoff := d.cfg.MinBackoff
	for {
		reason := d.serve(c)
		d.down(c)
		if d.ctx.Err() != nil {
			return
		}
		d.log.Warn("RCP down, reconnecting", "reason", reason)
		for {
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(backoff):
			}
			var err error
			ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
			c, err = d.connect(ctx)
			cancel()
			if err == nil {
				d.stats.reconnects.Add(1)
				backoff = d.cfg.MinBackoff
				break
			}
			d.log.Warn("RCP reconnect failed", "err", err, "retry_in", backoff)
			backoff = min(2*backoff, d.cfg.MaxBackoff)
		}
	}
}

// serve runs a live connection until it fails, and says why.
func (d *Driver) serve(c *connection) string {
	for {
		select {
		case <-d.ctx.Done():
			return "closed"
		case <-c.client.Done():
			d.stats.disconnects.Add(1)
			return fmt.Sprintf("connection lost: %v", c.client.Err())
		case why := <-d.recover:
			return why
		case f, ok := <-c.events:
			if !ok {
				d.stats.disconnects.Add(1)
				return fmt.Sprintf("connection lost: %v", c.client.Err())
			}
			if why := d.event(&f); why != "" {
				return why
			}
		}
	}
}

// event handles one unsolicited frame; it returns a reason when the RCP
// must be recovered.
func (d *Driver) event(f *spinel.Frame) string {
	switch f.Prop {
	case spinel.PropStreamRaw:
		var rf spinel.RxFrame
		if err := rf.Decode(f.Value); err != nil {
			d.log.Debug("bad STREAM_RAW", "err", err)
			return ""
		}
		fr := radio.Frame{
			PSDU: append([]byte(nil), rf.PSDU...), RSSI: rf.RSSI, NoiseFloor: rf.NoiseFloor, LQI: rf.LQI,
			Channel: rf.Channel, Timestamp: rf.Timestamp, AckedWithFramePending: rf.Flags&spinel.RxFlagAckedFramePending != 0,
		}
		select {
		case d.rx <- fr:
			d.stats.rxFrames.Add(1)
		default:
			d.stats.rxDropped.Add(1)
		}
	case spinel.PropLastStatus:
		r := spinel.NewReader(f.Value, "LAST_STATUS")
		if st := spinel.Status(r.PackedUint()); r.Err() == nil && st.IsReset() {
			d.stats.resets.Add(1)
			return "unexpected RCP reset (" + st.String() + ")"
		}
	case spinel.PropMACEnergyScanResult:
		var e spinel.EnergyScanResult
		if e.Decode(f.Value) == nil {
			d.mu.Lock()
			ch := d.scanDone
			d.mu.Unlock()
			if ch != nil {
				select {
				case ch <- e:
				default:
				}
			}
		}
	}
	return ""
}

// down takes the radio down after a connection ended.
func (d *Driver) down(c *connection) {
	d.up.Store(false)
	d.mu.Lock()
	d.client = nil
	d.mu.Unlock()
	c.cancel()
	c.client.Close()
	// Anything the transmit loop sends on a closed client fails with
	// ErrClosed and is reported as aborted; nothing waits on the old
	// connection after this.
	select {
	case <-d.recover:
	default:
	}
}

func (d *Driver) requestRecovery(why string) {
	select {
	case d.recover <- why:
	default:
	}
}

// transmitLoop sends queued frames one at a time.
func (d *Driver) transmitLoop() {
	defer d.wg.Done()
	var ack [spinel.MaxPSDU]byte
	for {
		select {
		case <-d.ctx.Done():
			// Abort whatever is still queued.
			for {
				select {
				case req := <-d.txq:
					d.stats.txAborted.Add(1)
					req.done <- txOutcome{radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: %w", d.cfg.Name, radio.ErrClosed)}
				default:
					return
				}
			}
		case req := <-d.txq:
			res, err := d.transmitOne(req, ack[:0])
			req.done <- txOutcome{res, err}
		}
	}
}

func (d *Driver) transmitOne(req *txRequest, ackBuf []byte) (radio.TxResult, error) {
	d.scanMu.Lock()
	defer d.scanMu.Unlock()
	d.mu.Lock()
	c, ch := d.client, d.settings.Channel
	d.mu.Unlock()
	if c == nil {
		d.stats.txAborted.Add(1)
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: transmit aborted, RCP down: %w", d.cfg.Name, ErrNotReady)
	}
	if req.opts.Channel != 0 {
		ch = req.opts.Channel
	}
	tx := spinel.TxRequest{
		PSDU: req.psdu[:req.n], Channel: ch, CSMAEnabled: !req.opts.DisableCSMA,
		MaxCSMABackoffs: 4, MaxFrameRetries: 3, TxPower: spinel.TxPowerUnset,
	}
	if req.opts.MaxCSMABackoffs > 0 {
		tx.MaxCSMABackoffs = uint8(min(req.opts.MaxCSMABackoffs, 255))
	}
	switch {
	case req.opts.MaxFrameRetries > 0:
		tx.MaxFrameRetries = uint8(min(req.opts.MaxFrameRetries, 255))
	case req.opts.MaxFrameRetries < 0:
		tx.MaxFrameRetries = 0
	}
	done, err := c.TransmitInto(d.ctx, &tx, ackBuf)
	if err != nil {
		d.stats.txAborted.Add(1)
		if errors.Is(err, spinel.ErrTimeout) {
			d.stats.timeouts.Add(1)
			d.requestRecovery("transmit-done timeout")
		}
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: transmit: %w", d.cfg.Name, err)
	}
	switch done.Status {
	case spinel.StatusOK:
		if req.n > 0 && req.psdu[0]&0x20 != 0 { // frame control: ack request
			d.stats.txAcked.Add(1)
			n := copy(req.ack[:], done.Ack.PSDU)
			return radio.TxResult{Status: radio.TxAcked, Ack: req.ack[:n], FramePending: done.FramePending}, nil
		}
		d.stats.txSent.Add(1)
		return radio.TxResult{Status: radio.TxSent}, nil
	case spinel.StatusNoAck:
		d.stats.txNoAck.Add(1)
		return radio.TxResult{Status: radio.TxNoAck}, nil
	case spinel.StatusCCAFailure:
		d.stats.txCCA.Add(1)
		return radio.TxResult{Status: radio.TxChannelAccessFailure}, nil
	}
	d.stats.txAborted.Add(1)
	return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: transmit: %w", d.cfg.Name, done.Status)
}

// Transmit implements radio.Radio.
func (d *Driver) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	if d.ctx.Err() != nil {
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: %w", d.cfg.Name, radio.ErrClosed)
	}
	if len(psdu) < 3 || len(psdu) > spinel.MaxPSDU {
		return radio.TxResult{}, fmt.Errorf("radio %s: PSDU of %d octets: must be 3..%d (FCS included)", d.cfg.Name, len(psdu), spinel.MaxPSDU)
	}
	if !d.up.Load() {
		d.stats.txNotReady.Add(1)
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: %w", d.cfg.Name, ErrNotReady)
	}
	req := txPool.Get().(*txRequest)
	req.n = copy(req.psdu[:], psdu)
	req.opts = opts
	select {
	case d.txq <- req:
	case <-ctx.Done():
		txPool.Put(req)
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: transmit queue: %w", d.cfg.Name, ctx.Err())
	case <-d.ctx.Done():
		txPool.Put(req)
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: %w", d.cfg.Name, radio.ErrClosed)
	}
	select {
	case out := <-req.done:
		res := out.res
		if res.Ack != nil {
			res.Ack = append([]byte(nil), res.Ack...) // req goes back to the pool
		}
		txPool.Put(req)
		return res, out.err
	case <-d.ctx.Done():
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: %w", d.cfg.Name, radio.ErrClosed)
	case <-ctx.Done():
		// The frame is in the RCP's hands; its outcome is dropped (the
		// request is not reused: its done channel may still be written).
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("radio %s: transmit: %w", d.cfg.Name, ctx.Err())
	}
}

// QueueDepth is the number of frames waiting in the transmit queue (the
// one in the RCP's hands not included).
func (d *Driver) QueueDepth() int { return len(d.txq) }

// Receive implements radio.Radio.
func (d *Driver) Receive() <-chan radio.Frame { return d.rx }

// Configure implements radio.Radio.
func (d *Driver) Configure(ctx context.Context, s radio.Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s = cloneSettings(s)
	d.mu.Lock()
	d.settings = s
	c, id := d.client, d.identity
	d.mu.Unlock()
	if c == nil {
		return nil // applied when the RCP comes back
	}
	if err := d.apply(ctx, c, &s, id); err != nil {
		if errors.Is(err, spinel.ErrTimeout) {
			d.stats.timeouts.Add(1)
			d.requestRecovery("configure timeout")
		}
		return fmt.Errorf("radio %s: configure: %w", d.cfg.Name, err)
	}
	return nil
}

// EnergyScan implements radio.Radio.
func (d *Driver) EnergyScan(ctx context.Context, channel uint8, dur time.Duration) (int8, error) {
	if channel < 11 || channel > 26 {
		return 0, fmt.Errorf("radio %s: energy scan: channel %d: must be 11..26", d.cfg.Name, channel)
	}
	d.scanMu.Lock()
	defer d.scanMu.Unlock()
	done := make(chan spinel.EnergyScanResult, 1)
	d.mu.Lock()
	c := d.client
	d.scanDone = done
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.scanDone = nil
		d.mu.Unlock()
	}()
	if c == nil {
		return 0, fmt.Errorf("radio %s: energy scan: %w", d.cfg.Name, ErrNotReady)
	}
	ms := uint16(min(max(dur.Milliseconds(), 1), 65535))
	for _, st := range []struct {
		p spinel.Prop
		v []byte
	}{
		{spinel.PropMACScanMask, []byte{channel}},
		{spinel.PropMACScanPeriod, spinel.AppendUint16(nil, ms)},
		{spinel.PropMACScanState, []byte{spinel.ScanStateEnergy}},
	} {
		if _, err := c.Set(ctx, st.p, st.v); err != nil {
			if errors.Is(err, spinel.ErrTimeout) {
				d.stats.timeouts.Add(1)
				d.requestRecovery("energy scan timeout")
			}
			return 0, fmt.Errorf("radio %s: energy scan: set %v: %w", d.cfg.Name, st.p, err)
		}
	}
	timer := time.NewTimer(time.Duration(ms)*time.Millisecond + 2*time.Second)
	defer timer.Stop()
	for {
		select {
		case e := <-done:
			if e.Channel == channel {
				return e.MaxRSSI, nil
			}
		case <-timer.C:
			return 0, fmt.Errorf("radio %s: energy scan of channel %d: no result: %w", d.cfg.Name, channel, spinel.ErrTimeout)
		case <-ctx.Done():
			return 0, fmt.Errorf("radio %s: energy scan: %w", d.cfg.Name, ctx.Err())
		}
	}
}

// Identity implements radio.Radio.
func (d *Driver) Identity() radio.Identity {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.identity
	id.Caps = slices.Clone(id.Caps)
	return id
}

// Ready reports whether the RCP is up.
func (d *Driver) Ready() bool { return d.up.Load() }

// Stats returns the driver's counters.
func (d *Driver) Stats() Stats {
	s := Stats{
		TxSent: d.stats.txSent.Load(), TxAcked: d.stats.txAcked.Load(), TxNoAck: d.stats.txNoAck.Load(),
		TxCCAFailure: d.stats.txCCA.Load(), TxAborted: d.stats.txAborted.Load(), TxNotReady: d.stats.txNotReady.Load(),
		RxFrames: d.stats.rxFrames.Load(), RxDropped: d.stats.rxDropped.Load(),
		Resets: d.stats.resets.Load(), Timeouts: d.stats.timeouts.Load(), Disconnects: d.stats.disconnects.Load(),
		Reconnects: d.stats.reconnects.Load(), Up: d.up.Load(),
	}
	d.mu.Lock()
	if d.client != nil {
		s.Spinel = d.client.Stats()
	}
	d.mu.Unlock()
	return s
}

// Close implements radio.Radio: it stops the goroutines and closes the
// connection.
func (d *Driver) Close() error {
	d.cancel()
	d.wg.Wait()
	d.closeRx.Do(func() { close(d.rx) })
	return nil
}
