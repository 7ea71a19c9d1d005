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
// a forkpty child, or SPI frames. A UART's line rate goes with the
// connection (spinel.HDLCConn.SetOctetTime), so that the Spinel client
// waits for a transmit-done as long as that line needs; a forkpty child's
// PTY and SPI leave the client its default (a 115,200 bit/s UART's, longer
// than either needs).
func URLOpener(u *transport.URL, logger *slog.Logger) Opener {
	return func(ctx context.Context) (spinel.FrameConn, error) {
		c, err := transport.Open(ctx, u, logger)
		if err != nil {
			return nil, err
		}
		if c.Stream != nil {
			hc := spinel.NewHDLCConn(c.Stream)
			if u.Scheme == transport.SchemeUART {
				hc.SetOctetTime(spinel.OctetTimeOf(u.UART.Baud, u.UART.Parity != transport.ParityNone, u.UART.StopBits))
			}
			return hc, nil
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
	// QueueSize is kept for compatibility and unused: transmissions wait
	// for the radio in call order, each bounded by its context.
	QueueSize int
	// RxBuffer bounds received frames waiting for the consumer
	// (DefaultRxBuffer); the pool of receive buffers the driver lends
	// holds as many, plus rxPoolSpare.
	RxBuffer int
	// ResetTimeout bounds the wait for the reset notification (default 2 s).
	ResetTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay between reconnection
	// attempts (defaults 50 ms and 500 ms): short, so that the radio is
	// back within a second of the end of whatever kept it away.
	MinBackoff, MaxBackoff time.Duration
	// ProbeTries and ProbeTimeout: before the driver takes the RCP for
	// unresponsive (a transmission whose tries are all spent, a request
	// that timed out) it asks it whether it is still set up — GET
	// MAC_RAW_STREAM_ENABLED, which a reset turns off — up to ProbeTries
	// times, waiting ProbeTimeout for each answer (defaults 3 and 200
	// ms). An answer of true means the line lost frames and the RCP is
	// fine: nothing more is done.
	ProbeTries   int
	ProbeTimeout time.Duration
	// RequestTries and RequestTimeout: each request of an initialisation
	// is sent up to RequestTries times, waiting RequestTimeout for each
	// answer (defaults 4 and 300 ms), so that a request or an answer lost
	// on the line costs a repetition, not the initialisation.
	RequestTries   int
	RequestTimeout time.Duration
	// InitTimeout bounds one initialisation of the RCP once its transport
	// is open: reset, identity, settings (default 10 s).
	InitTimeout time.Duration
	// OnRecovered, when set, is called each time the RCP is up again after
	// a fault (a reconnection or a re-initialisation), from the driver's
	// supervising goroutine, with what the RCP now is. Its EUI-64 may
	// differ from before (another dongle plugged in, another simulation
	// node): whatever the caller derived from it must follow. It must not
	// block.
	OnRecovered func(radio.Identity)
	Client      spinel.ClientOptions
}

// Stats counts what the driver did. Its JSON names are the status API's
// (borderrouter.Status, radio.stats).
type Stats struct {
	// TxNoAckRequested: frames the RCP reports sent that asked for no
	// acknowledgement: broadcasts, since the link asks one of every
	// unicast frame (OpenThread's otMacCounters.mTxNoAckRequested,
	// include/openthread/link.h). TxAcked: frames that asked for one and
	// got it; TxNoAck: that asked and got none after the RCP's retries.
	TxNoAckRequested uint64 `json:"tx_no_ack_requested"`
	TxAcked          uint64 `json:"tx_acked"`
	TxNoAck          uint64 `json:"tx_no_ack"`
	// TxCCAFailure: transmissions CSMA-CA found the channel busy for;
	// TxAborted: transmissions that failed otherwise (the RCP reset or
	// went away, an error status).
	TxCCAFailure uint64 `json:"tx_cca_failures"`
	TxAborted    uint64 `json:"tx_aborted"`
	// TxNotReady: Transmit refused because the RCP was down.
	TxNotReady uint64 `json:"tx_not_ready"`
	// TxCCARetries: frames sent again after a channel access failure
	// (TxOptions.CCARetries); each failure is also in TxCCAFailure.
	TxCCARetries uint64 `json:"tx_cca_retries"`
	RxFrames     uint64 `json:"rx_frames"`
	// RxDropped: received frames the consumer was too slow to take.
	RxDropped uint64 `json:"rx_dropped"`
	// RxBuffersMade: receive buffers made beyond the pool because none
	// was free: the consumer holds frames, or does not Release them.
	RxBuffersMade uint64 `json:"rx_buffers_made"`
	// Resets: unexpected RCP resets; Timeouts: transmissions and requests
	// the RCP did not answer, all tries spent; Disconnects: transport
	// failures; Reconnects: successful re-initialisations after any of
	// them (one per recovery).
	Resets      uint64 `json:"resets"`
	Timeouts    uint64 `json:"timeouts"`
	Disconnects uint64 `json:"disconnects"`
	Reconnects  uint64 `json:"reconnects"`
	// Probes: times the driver asked an RCP that seemed unresponsive
	// whether it was still set up (Config.ProbeTries); ProbesFailed: those
	// that found it unresponsive or reset, and led to a re-initialisation.
	Probes       uint64 `json:"probes"`
	ProbesFailed uint64 `json:"probes_failed"`
	// Spinel holds the Spinel and HDLC counters of every connection so
	// far, summed: like every counter here, they never go backwards over
	// the driver's life.
	Spinel spinel.ClientStats `json:"spinel"`
	Up     bool               `json:"up"`
}

// DefaultRxBuffer is Config.RxBuffer's default: 256 frames, 128 ms of a
// 2,000 frames/s flood through the serial line (a second of what one
// 802.15.4 channel carries), so that a consumer held up for a GC pause or
// a busy CPU loses nothing. 64 overflowed under the adversarial FRAG1
// floods. Each slot costs 216 octets (a 64-octet radio.Frame in the
// channel, a 144-octet buffer in the pool and its pointer): 55 KiB in all,
// 40 KiB more than 64 slots.
const DefaultRxBuffer = 256

// rxPoolSpare is how many receive buffers the pool holds beyond RxBuffer:
// the frames the consumer is working on.
const rxPoolSpare = 8

// Driver is a radio.Radio backed by a Spinel RCP.
type Driver struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	rx       chan radio.Frame
	pool     *radio.RxPool
	chatter  chan struct{} // a raw frame arrived while the radio is not up
	probe    chan string   // why the RCP seems unresponsive; serve asks it
	scanMu   sync.Mutex    // one energy scan at a time (the client's transmit token keeps transmissions out)
	scanDone chan spinel.EnergyScanResult

	// Transmissions: a free list of batches (one per caller under way; a
	// batch whose caller left stays with the client until its frame's
	// transmit-done), and the callers waiting for the radio.
	batchMu sync.Mutex
	batches []*txBatch
	waiting atomic.Int32
	// txSpent counts transmissions in a row whose tries all went without
	// a transmit-done; any transmit-done clears it.
	txSpent atomic.Int32

	mu     sync.Mutex
	client *spinel.Client // nil while down
	// open is the client of the connection that is open, up or not;
	// closed holds the counters of the connections closed so far.
	open     *spinel.Client
	closed   spinel.ClientStats
	identity radio.Identity
	settings radio.Settings
	// settingsGen counts Configure calls, so that a bring-up that applied
	// older settings knows to apply them again.
	settingsGen uint64
	up          atomic.Bool
	closeRx     sync.Once

	stats struct {
		txNoAckReq, txAcked, txNoAck, txCCA, txAborted, txNotReady atomic.Uint64
		txCCARetries, rxFrames, rxDropped                          atomic.Uint64
		resets, timeouts, disconnects, reconnects                  atomic.Uint64
		probes, probesFailed                                       atomic.Uint64
	}
}

var (
	_ radio.Radio             = (*Driver)(nil)
	_ radio.FramesTransmitter = (*Driver)(nil)
	_ radio.PullTransmitter   = (*Driver)(nil)
)

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
		cfg.RxBuffer = DefaultRxBuffer
	}
	if cfg.ResetTimeout <= 0 {
		cfg.ResetTimeout = 2 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(500*time.Millisecond, cfg.MinBackoff)
	}
	if cfg.ProbeTries <= 0 {
		cfg.ProbeTries = 3
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 200 * time.Millisecond
	}
	if cfg.RequestTries <= 0 {
		cfg.RequestTries = 4
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 300 * time.Millisecond
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	d := &Driver{
		cfg:      cfg,
		log:      cfg.Logger.With("radio", cfg.Name),
		rx:       make(chan radio.Frame, cfg.RxBuffer),
		pool:     radio.NewRxPool(cfg.RxBuffer + rxPoolSpare),
		chatter:  make(chan struct{}, 1),
		probe:    make(chan string, 1),
		settings: cloneSettings(cfg.Settings),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	ictx, icancel := context.WithTimeout(ctx, cfg.InitTimeout)
	conn, err := d.connect(ictx)
	icancel()
	if err != nil {
		d.cancel()
		return nil, err
	}
	d.wg.Add(1)
	go d.superviseRCP(conn)
	return d, nil
}

// connection is one live connection to the RCP.
type connection struct {
	d      *Driver
	client *spinel.Client
	events <-chan spinel.Frame
	cancel func()
	closed sync.Once
	// live: received frames go to the consumer. Set once the RCP is
	// initialised on this connection (its raw stream is off until the
	// settings turn it on), cleared when the connection stops serving.
	live atomic.Bool
}

// close closes the connection; its counters join those of the closed
// ones, so that the driver's never go backwards.
func (c *connection) close() {
	c.closed.Do(func() {
		c.cancel()
		c.client.Close()
		d := c.d
		d.mu.Lock()
		d.closed = d.closed.Add(c.client.Stats())
		if d.open == c.client {
			d.open = nil
		}
		d.mu.Unlock()
	})
}

// connect opens a connection and brings the RCP up on it. The transport
// lives as long as the driver, whatever ctx says: for forkpty the context
// given to the transport bounds the child's life (exec.CommandContext), so
// a context that ends when connect returns would kill the fresh RCP a
// moment after it came up. ctx bounds the opening and the initialisation.
func (d *Driver) connect(ctx context.Context) (*connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("radio %s: open: %w", d.cfg.Name, err)
	}
	fc, err := d.cfg.Open(d.ctx)
	if err != nil {
		return nil, fmt.Errorf("radio %s: open: %w", d.cfg.Name, err)
	}
	client := spinel.NewClient(fc, d.cfg.Logger, d.cfg.Client)
	d.mu.Lock()
	d.open = client
	d.mu.Unlock()
	events, cancel := client.Subscribe(d.cfg.RxBuffer, spinel.PropLastStatus, spinel.PropMACEnergyScanResult, spinel.PropMACScanState)
	c := &connection{d: d, client: client, events: events}
	// Received frames are taken on the client's reader goroutine, straight
	// into a lent buffer: one copy of the PSDU, one hand-off (to the
	// consumer).
	unraw := client.SubscribeFunc(c.rawFrame, spinel.PropStreamRaw)
	c.cancel = func() { unraw(); cancel() }
	if err := d.bringUp(ctx, c); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// bringUp initialises the RCP on an open connection, applies the settings
// and puts the driver in service on it.
func (d *Driver) bringUp(ctx context.Context, c *connection) error {
	var id radio.Identity
	var err error
	var settings radio.Settings
	// A reset that cuts into the initialisation (an RCP resetting twice,
	// a notification that came later than the settling allowed) fails the
	// request in flight with ErrReset: start again from RESET, a bounded
	// number of times, rather than count it as a fault of the connection.
	for range maxResetsWhileSyncing {
		if id, err = d.initialise(ctx, c); err != nil {
			if errors.Is(err, spinel.ErrReset) {
				continue
			}
			return fmt.Errorf("radio %s: %w", d.cfg.Name, err)
		}
		// The RESET turned the raw stream off: what arrives from now on
		// was received under the settings about to be applied.
		c.live.Store(true)
		// Settings that change while they are being applied (Configure
		// stores them and returns while the RCP is down) are applied
		// again, so that the RCP never keeps an older set.
		for {
			d.mu.Lock()
			settings = cloneSettings(d.settings)
			gen := d.settingsGen
			d.mu.Unlock()
			if err = d.apply(ctx, c.client, &settings, id); err != nil {
				break
			}
			d.mu.Lock()
			if d.settingsGen == gen {
				d.identity = id
				d.client = c.client
				d.mu.Unlock()
				break
			}
			d.mu.Unlock()
		}
		if err == nil || !errors.Is(err, spinel.ErrReset) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("radio %s: configure: %w", d.cfg.Name, err)
	}
	d.txSpent.Store(0)
	d.up.Store(true)
	d.log.Info("RCP ready", "firmware", id.Firmware, "eui64", fmt.Sprintf("%x", id.EUI64), "rcp_api", id.RCPAPIVersion, "channel", settings.Channel)
	return nil
}

// maxResetsWhileSyncing bounds the reset notifications that may cut into
// the request that synchronises with the RCP after RESET.
const maxResetsWhileSyncing = 4

// initialise resets the RCP, synchronises with it, and reads and checks
// what it is.
//
// An RCP announces every start with an unsolicited reset notification, at
// a time the host does not choose: a USB dongle re-enumerating or a
// program still loading may boot well after the port opened and after our
// RESET went out (ot-rcp's NcpBase constructor queues the notification
// when the process starts; a PTY holds our RESET until the child reads
// it). So the first notification seen after RESET may be the boot's, with
// the answer to our RESET still to come. The driver therefore never takes
// a notification for the end of the reset: it waits for one (the RCP is
// alive), then sends a request with a TID and waits for its answer. The
// RCP handles its input in order, so every notification our RESET causes
// comes before that answer; the client delivers unsolicited frames in the
// order they arrive, before it signals the answer; so once the answer is
// in, every notification still queued describes a reset that is over, and
// is dropped. OpenThread's RCP may send a notification after an answer
// that was queued later (answers go first), so the driver then stays quiet
// for a moment and drops what still comes. Only a notification that
// arrives after that is a new reset.
func (d *Driver) initialise(ctx context.Context, c *connection) (radio.Identity, error) {
	var id radio.Identity
	c.live.Store(false)
	// Chatter already on the line (a boot notification, log lines, frames
	// of an earlier session) is dropped until the line is quiet, so that
	// it does not crowd the buffer we read the reset from.
	// An RCP that never falls silent (its raw stream still on, on a busy
	// mesh) is reset anyway after ResetTimeout.
	quiet := time.NewTimer(quietPeriod)
	defer quiet.Stop()
	enough := time.NewTimer(d.cfg.ResetTimeout)
	defer enough.Stop()
drain:
	for {
		select {
		case _, ok := <-c.events:
			if !ok {
				return id, fmt.Errorf("reset: %w", c.client.Err())
			}
			quiet.Reset(quietPeriod)
		case <-d.chatter:
			quiet.Reset(quietPeriod)
		case <-quiet.C:
			break drain
		case <-enough.C:
			break drain
		case <-ctx.Done():
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
			if st, ok := resetStatus(&f); ok {
				d.log.Debug("RCP reset", "reason", st.String())
				break wait
			}
		case <-timer.C:
			return id, fmt.Errorf("reset: no reset notification within %v (is this an OpenThread RCP, at the right baud rate?): %w", d.cfg.ResetTimeout, spinel.ErrTimeout)
		case <-ctx.Done():
			return id, fmt.Errorf("reset: %w", ctx.Err())
		}
	}

	// Synchronise (see above): a notification that arrives while the
	// request is pending fails it with ErrReset; ask again.
	var f spinel.Frame
	var err error
	for range maxResetsWhileSyncing {
		if f, err = d.get(ctx, c.client, spinel.PropProtocolVersion); !errors.Is(err, spinel.ErrReset) {
			break
		}
	}
	if err != nil {
		return id, fmt.Errorf("PROTOCOL_VERSION: %w", err)
	}
	// OpenThread's RCP queues answers (frames with a TID) ahead of
	// notifications (spinel_encoder.cpp Encoder::BeginFrame: TID 0 goes to
	// the low-priority queue), so a reset notification our RESET caused may
	// still be queued behind the answer. Sending nothing for a moment lets
	// it out; whatever reset notification arrives until then is dropped
	// too. A reset that really happens in this moment loses nothing: the
	// settings are applied after it.
	n := dropStaleResets(c.events)
	settle := time.NewTimer(quietPeriod)
wait2:
	for {
		select {
		case f, ok := <-c.events:
			if !ok {
				settle.Stop()
				return id, fmt.Errorf("reset: %w", c.client.Err())
			}
			if _, reset := resetStatus(&f); reset {
				n++
			}
		case <-settle.C:
			break wait2
		case <-ctx.Done():
			settle.Stop()
			return id, fmt.Errorf("reset: %w", ctx.Err())
		}
	}
	if n > 0 {
		d.log.Debug("dropped reset notifications sent before the RCP answered", "count", n)
	}
	major, minor, err := spinel.DecodeProtocolVersion(f.Value)
	if err != nil {
		return id, fmt.Errorf("PROTOCOL_VERSION: %w", err)
	}
	id.ProtocolVersion = [2]uint32{major, minor}
	if major != spinel.ProtocolVersionMajor {
		return id, fmt.Errorf("Spinel protocol %d.%d, this host speaks %d.x: %w", major, minor, spinel.ProtocolVersionMajor, radio.ErrIncompatible)
	}
	if f, err = d.get(ctx, c.client, spinel.PropNCPVersion); err != nil {
		return id, fmt.Errorf("NCP_VERSION: %w", err)
	}
	r := spinel.NewReader(f.Value, "NCP_VERSION")
	id.Firmware = string(r.UTF8())
	if f, err = d.get(ctx, c.client, spinel.PropCaps); err != nil {
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
	// Read on every (re)connection: the RCP may be another one now.
	if f, err = d.get(ctx, c.client, spinel.PropHWAddr); err != nil {
		return id, fmt.Errorf("HWADDR: %w", err)
	}
	r = spinel.NewReader(f.Value, "HWADDR")
	id.EUI64 = r.EUI64()
	if err := r.Err(); err != nil {
		return id, fmt.Errorf("HWADDR: %w", err)
	}
	if spinel.HasCap(caps, spinel.CapRCPAPIVersion) {
		if id.RCPAPIVersion, err = d.getUint(ctx, c.client, spinel.PropRCPAPIVersion); err != nil {
			return id, err
		}
		if id.RCPAPIVersion < MinRCPAPIVersion {
			return id, fmt.Errorf("firmware %q has RCP API %d; this host needs %d or newer — update the RCP firmware: %w", id.Firmware, id.RCPAPIVersion, MinRCPAPIVersion, radio.ErrIncompatible)
		}
	}
	if spinel.HasCap(caps, spinel.CapRCPMinHostAPIVersion) {
		if id.MinHostAPIVersion, err = d.getUint(ctx, c.client, spinel.PropRCPMinHostAPIVersion); err != nil {
			return id, err
		}
		if id.MinHostAPIVersion > HostRCPAPIVersion {
			return id, fmt.Errorf("firmware %q needs a host with RCP API %d or newer; this host has %d: %w", id.Firmware, id.MinHostAPIVersion, HostRCPAPIVersion, radio.ErrIncompatible)
		}
	}
	if id.RadioCaps, err = d.getUint(ctx, c.client, spinel.PropRadioCaps); err != nil {
		return id, err
	}
	return id, nil
}

// resetStatus reports whether f is a reset notification, and its reason.
func resetStatus(f *spinel.Frame) (spinel.Status, bool) {
	if f.Prop != spinel.PropLastStatus || f.TID != 0 {
		return 0, false
	}
	r := spinel.NewReader(f.Value, "LAST_STATUS")
	st := spinel.Status(r.PackedUint())
	return st, r.Err() == nil && st.IsReset()
}

// dropStaleResets removes the reset notifications already queued in
// events and counts them; other frames queued with them are dropped too
// (before the raw stream is enabled there are none that matter).
func dropStaleResets(events <-chan spinel.Frame) int {
	n := 0
	for {
		select {
		case f, ok := <-events:
			if !ok {
				return n
			}
			if _, reset := resetStatus(&f); reset {
				n++
			}
		default:
			return n
		}
	}
}

// get reads a property as an initialisation does: a request or answer
// lost on the line is asked again (Config.RequestTries).
func (d *Driver) get(ctx context.Context, c *spinel.Client, p spinel.Prop) (spinel.Frame, error) {
	return c.Try(ctx, d.cfg.RequestTries, d.cfg.RequestTimeout, spinel.CmdPropValueGet, p, nil)
}

// set writes a property likewise; every property the driver sets takes a
// value, so setting it again is harmless.
func (d *Driver) set(ctx context.Context, c *spinel.Client, p spinel.Prop, v []byte) (spinel.Frame, error) {
	return c.Try(ctx, d.cfg.RequestTries, d.cfg.RequestTimeout, spinel.CmdPropValueSet, p, v)
}

func (d *Driver) getUint(ctx context.Context, c *spinel.Client, p spinel.Prop) (uint32, error) {
	f, err := d.get(ctx, c, p)
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
		if _, err := d.set(ctx, c, st.prop, st.value); err != nil {
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

// fault is why a connection stopped serving, and decides how the driver
// recovers.
type fault uint8

const (
	faultClosed fault = iota // the driver is closing
	// faultLink: the transport failed (unplugged, the child exited). The
	// connection is closed and opened again (for forkpty: the child is
	// killed and started again).
	faultLink
	// faultReset: the RCP announced a reset nobody asked for, or a probe
	// found its raw stream off (a reset whose notification was lost).
	// The transport is fine, so the RCP is initialised again over the
	// same connection (as OpenThread's RadioSpinel::RecoverFromRcpFailure
	// does); only if that fails is the connection opened again.
	faultReset
	// faultUnresponsive: the RCP answered neither a transmission (every
	// try of it) nor the probes after it: it hangs, is stopped, or the
	// line is. It is reset and initialised again over the same
	// connection, which succeeds as soon as the RCP and the line are back
	// (what was sent meanwhile reaches it in order, the RESET included);
	// failing that, the connection is opened again.
	faultUnresponsive
)

// superviseRCP owns the connection lifecycle: it serves each connection,
// takes the radio down when it fails, and brings it up again — over the
// same connection after a reset or a hang, over a new one (with backoff)
// after a transport failure or when that fails. Each fault opens the
// transport at most once more per attempt, and ends in one recovery;
// closing the driver opens nothing.
func (d *Driver) superviseRCP(c *connection) {
	defer d.wg.Done()
	for {
		why, f := d.serve(c)
		c.live.Store(false)
		d.down()
		if d.ctx.Err() != nil {
			c.close()
			return
		}
		if f == faultReset || f == faultUnresponsive {
			if f == faultReset {
				d.log.Warn("RCP reset on its own; initialising it again", "reason", why)
			} else {
				d.log.Warn("RCP not answering; resetting and initialising it again", "reason", why)
			}
			ctx, cancel := context.WithTimeout(d.ctx, d.cfg.InitTimeout)
			err := d.bringUp(ctx, c)
			cancel()
			if err == nil {
				d.recovered()
				continue
			}
			d.down()
			if d.ctx.Err() != nil {
				c.close()
				return
			}
			why = fmt.Sprintf("%s; initialising it again failed: %v", why, err)
		}
		c.close()
		d.log.Warn("RCP down, reconnecting", "reason", why)
		if c = d.reconnect(); c == nil {
			return
		}
		d.recovered()
	}
}

// reconnect opens a new connection, with backoff, until one comes up or
// the driver closes (nil).
func (d *Driver) reconnect() *connection {
	backoff := d.cfg.MinBackoff
	for {
		select {
		case <-d.ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.InitTimeout)
		c, err := d.connect(ctx)
		cancel()
		if err == nil {
			return c
		}
		if d.ctx.Err() != nil {
			return nil
		}
		d.log.Warn("RCP reconnect failed", "err", err, "retry_in", backoff)
		backoff = min(2*backoff, d.cfg.MaxBackoff)
	}
}

func (d *Driver) recovered() {
	d.stats.reconnects.Add(1)
	if d.cfg.OnRecovered != nil {
		d.cfg.OnRecovered(d.Identity())
	}
}

// serve runs a live connection until it fails, and says why.
func (d *Driver) serve(c *connection) (string, fault) {
	for {
		select {
		case <-d.ctx.Done():
			return "closed", faultClosed
		case <-c.client.Done():
			d.stats.disconnects.Add(1)
			return fmt.Sprintf("connection lost: %v", c.client.Err()), faultLink
		case why := <-d.probe:
			if f, ok := d.probeRCP(c, why); !ok {
				return why, f
			}
		case f, ok := <-c.events:
			if !ok {
				d.stats.disconnects.Add(1)
				return fmt.Sprintf("connection lost: %v", c.client.Err()), faultLink
			}
			if why := d.event(&f); why != "" {
				return why, faultReset
			}
		}
	}
}

// maxTxSpent is how many transmissions in a row may spend all their tries
// without a transmit-done before an RCP that answers probes is reset all
// the same. A line that loses a frame's every try loses at most a few in
// a hundred frames (at 1e-2 damaged octets per octet both ways); three in
// a row are a stuck transmitter.
const maxTxSpent = 3

// probeRCP asks an RCP that seems unresponsive (why) whether it is still
// set up: GET MAC_RAW_STREAM_ENABLED, which OpenThread's RCP answers from
// the flag a SET turned on and a reset clears (ncp_base.cpp
// HandlePropertyGet<SPINEL_PROP_MAC_RAW_STREAM_ENABLED>), up to
// Config.ProbeTries times. True: frames were lost on the line, the RCP is
// fine (ok), unless maxTxSpent transmissions in a row went unreported
// (faultUnresponsive). False: it reset and the notification was lost
// (faultReset). No answer: faultUnresponsive. The connection failing:
// faultLink.
func (d *Driver) probeRCP(c *connection, why string) (fault, bool) {
	d.stats.probes.Add(1)
	f, err := c.client.Try(d.ctx, d.cfg.ProbeTries, d.cfg.ProbeTimeout, spinel.CmdPropValueGet, spinel.PropMACRawStreamEnabled, nil)
	if err == nil {
		r := spinel.NewReader(f.Value, "MAC_RAW_STREAM_ENABLED")
		if on := r.Bool(); r.Err() == nil && !on {
			d.stats.probesFailed.Add(1)
			d.stats.resets.Add(1)
			return faultReset, false
		}
		// It answers (an answer we cannot read is an answer too).
		if d.txSpent.Load() >= maxTxSpent {
			// But its radio has reported none of several transmissions
			// in a row, each tried many times: a line that noisy is
			// unlikely, a transmitter stuck (SubMac waiting for a radio
			// event that never comes) is not. A reset starts it afresh.
			d.stats.probesFailed.Add(1)
			return faultUnresponsive, false
		}
		d.log.Debug("RCP answers the probe; frames were lost on the line", "after", why)
		return 0, true
	}
	switch {
	case d.ctx.Err() != nil:
		return faultClosed, false
	case errors.Is(err, spinel.ErrReset):
		// Its notification is in c.events; bringUp drains it.
		d.stats.probesFailed.Add(1)
		d.stats.resets.Add(1)
		return faultReset, false
	case c.client.Err() != nil:
		d.stats.disconnects.Add(1)
		return faultLink, false
	}
	d.stats.probesFailed.Add(1)
	return faultUnresponsive, false
}

// event handles one unsolicited frame other than a received one (those go
// through rawFrame); it returns a reason when the RCP reset and must be
// initialised again.
func (d *Driver) event(f *spinel.Frame) string {
	switch f.Prop {
	case spinel.PropLastStatus:
		if st, ok := resetStatus(f); ok {
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

// down takes the radio out of service. Anything the transmit loop sends
// on the old client after this fails (reset, closed) and is reported as
// aborted.
func (d *Driver) down() {
	d.up.Store(false)
	d.mu.Lock()
	d.client = nil
	d.mu.Unlock()
	select {
	case <-d.probe:
	default:
	}
}

// requestProbe has the supervisor ask the RCP whether it lives (probeRCP):
// a request or transmission got no answer, all its tries spent.
func (d *Driver) requestProbe(why string) {
	select {
	case d.probe <- why:
	default:
	}
}

// rawFrame takes one received frame (IS STREAM_RAW) on the Spinel client's
// reader goroutine: its PSDU is copied once, into a buffer lent from the
// pool, and the frame goes to the consumer. It never blocks: with the
// consumer's channel full the frame is dropped and counted; with the pool
// empty but room in the channel (the consumer holds its frames, or never
// releases them) a new buffer is made and counted.
func (c *connection) rawFrame(f *spinel.Frame) {
	d := c.d
	if !c.live.Load() {
		select {
		case d.chatter <- struct{}{}:
		default:
		}
		return
	}
	var rf spinel.RxFrame
	if err := rf.Decode(f.Value); err != nil {
		d.log.Debug("bad STREAM_RAW", "err", err)
		return
	}
	if len(d.rx) == cap(d.rx) {
		d.stats.rxDropped.Add(1)
		return
	}
	fr, _ := d.pool.Lend(rf.PSDU, true)
	fr.RSSI, fr.NoiseFloor, fr.LQI, fr.Channel, fr.Timestamp = rf.RSSI, rf.NoiseFloor, rf.LQI, rf.Channel, rf.Timestamp
	fr.AckedWithFramePending = rf.Flags&spinel.RxFlagAckedFramePending != 0
	select {
	case d.rx <- fr:
		d.stats.rxFrames.Add(1)
	default: // only this goroutine sends, but be safe
		fr.Release()
		d.stats.rxDropped.Add(1)
	}
}

// txBatch is one caller's transmission: the frames of a datagram (or the
// one frame of Transmit), or the frames a radio.FrameSource hands out
// (TransmitFrom), stepped by the Spinel client's reader goroutine as each
// transmit-done arrives (spinel.TxSequence). It is used by one caller and
// the client; refs counts them, and the last one done puts it back on the
// free list.
type txBatch struct {
	d       *Driver
	frames  [][]byte
	results []radio.TxResult
	opts    radio.TxOptions
	// src, when set, makes this a pull: one frame at a time in one[0],
	// taken from src and reported to it. ctx is TransmitFrom's, held for
	// that call only, so that no frame is taken once the caller is
	// leaving.
	src     radio.FrameSource
	ctx     context.Context
	txCh    uint8
	rxCh    uint8
	backoff uint8
	retries uint8

	started  bool // the caller has the radio (Next was called)
	i        int  // the frame in the RCP's hands, or the next one
	inFlight bool // frame i was handed to the RCP and has no outcome yet
	tries    int  // channel-access retries of frame i so far
	n        int  // frames with an outcome
	err      error
	req      spinel.TxRequest
	one      [1][]byte
	oneRes   [1]radio.TxResult
	refs     atomic.Int32
}

func (d *Driver) getBatch() *txBatch {
	d.batchMu.Lock()
	var b *txBatch
	if n := len(d.batches); n > 0 {
		b = d.batches[n-1]
		d.batches = d.batches[:n-1]
	}
	d.batchMu.Unlock()
	if b == nil {
		b = &txBatch{d: d}
	}
	b.refs.Store(2) // the caller and the client
	return b
}

// done drops one reference; the last puts the batch back.
func (b *txBatch) done() {
	if b.refs.Add(-1) != 0 {
		return
	}
	d := b.d
	*b = txBatch{d: d}
	d.batchMu.Lock()
	if len(d.batches) < 4 {
		d.batches = append(d.batches, b)
	}
	d.batchMu.Unlock()
}

// Next implements spinel.TxSequence: it records the outcome of the frame
// in flight and returns the request for the next one, or for the same
// frame again after a channel access failure while retries remain.
func (b *txBatch) Next(done *spinel.TxDone, err error) *spinel.TxRequest {
	if b.src != nil {
		return b.pull(done, err)
	}
	if done == nil { // the first call: the caller holds the radio now
		b.started = true
		b.d.waiting.Add(-1)
		return b.request()
	}
	b.inFlight = false
	res := b.d.outcome(b.frames[b.i], done, err, b.results[b.i].Ack)
	if res.Status == radio.TxChannelAccessFailure && b.tries < b.opts.CCARetries {
		b.tries++
		b.d.stats.txCCARetries.Add(1)
		return b.request()
	}
	res.CCARetries = b.tries
	b.results[b.i] = res
	b.n = b.i + 1
	if err != nil {
		b.err = fmt.Errorf("radio %s: transmit: %w", b.d.cfg.Name, err)
		return nil
	}
	if res.Status != radio.TxSent && res.Status != radio.TxAcked {
		if res.Status == radio.TxAborted {
			b.err = fmt.Errorf("radio %s: transmit: %w", b.d.cfg.Name, done.Status)
		}
		return nil
	}
	b.i++
	b.tries = 0
	if b.i == len(b.frames) {
		return nil
	}
	return b.request()
}

// pull is Next for TransmitFrom: it reports the outcome of the frame in
// flight to the source, takes the next frame from it and returns its
// request, all on the Spinel reader goroutine (the first call: on the
// caller's). Channel-access failures are reported like any outcome; the
// source decides whether to send the frame again.
func (b *txBatch) pull(done *spinel.TxDone, err error) *spinel.TxRequest {
	if done == nil { // the first call: the caller holds the radio now
		b.started = true
		b.d.waiting.Add(-1)
	} else {
		b.inFlight = false
		res := b.d.outcome(b.one[0], done, err, nil)
		if res.Status == radio.TxAcked && done.HasAck {
			// Lent for the call only: it is the reader's buffer.
			res.Ack = done.Ack.PSDU
		}
		var ferr error
		switch {
		case err != nil:
			ferr = fmt.Errorf("radio %s: transmit: %w", b.d.cfg.Name, err)
		case res.Status == radio.TxAborted:
			ferr = fmt.Errorf("radio %s: transmit: %w", b.d.cfg.Name, done.Status)
		}
		b.n++
		b.one[0] = nil
		b.src.Done(res, ferr)
		if ferr != nil {
			b.err = ferr
			return nil
		}
	}
	if b.ctx.Err() != nil {
		return nil // the caller is leaving: take nothing it cannot send
	}
	psdu, opts, ok := b.src.Next()
	if !ok {
		return nil
	}
	if len(psdu) < 3 || len(psdu) > spinel.MaxPSDU {
		b.err = fmt.Errorf("radio %s: PSDU of %d octets: must be 3..%d (FCS included)", b.d.cfg.Name, len(psdu), spinel.MaxPSDU)
		b.src.Done(radio.TxResult{Status: radio.TxAborted}, b.err)
		return nil
	}
	b.one[0], b.opts = psdu, opts
	b.frames, b.i = b.one[:], 0
	b.setOptions()
	return b.request()
}

// setOptions turns b.opts into the request's fields; b.rxCh is the
// configured channel.
func (b *txBatch) setOptions() {
	b.txCh = b.rxCh
	if b.opts.Channel != 0 {
		b.txCh = b.opts.Channel
	}
	b.backoff, b.retries = 4, 3
	if b.opts.MaxCSMABackoffs > 0 {
		b.backoff = uint8(min(b.opts.MaxCSMABackoffs, 255))
	}
	switch {
	case b.opts.MaxFrameRetries > 0:
		b.retries = uint8(min(b.opts.MaxFrameRetries, 255))
	case b.opts.MaxFrameRetries < 0:
		b.retries = 0
	}
}

// End implements spinel.TxSequence.
func (b *txBatch) End(err error) {
	if errors.Is(err, spinel.ErrTimeout) {
		b.d.stats.timeouts.Add(1)
		b.d.txSpent.Add(1)
		b.d.requestProbe(fmt.Sprintf("no transmit-done: %v", err))
	}
	b.done()
}

// request fills the request for frame i.
func (b *txBatch) request() *spinel.TxRequest {
	b.req = spinel.TxRequest{
		PSDU: b.frames[b.i], Channel: b.txCh, CSMAEnabled: !b.opts.DisableCSMA,
		MaxCSMABackoffs: b.backoff, MaxFrameRetries: b.retries, TxPower: spinel.TxPowerUnset,
		RxChannelAfterTx: b.rxCh,
	}
	b.inFlight = true
	return &b.req
}

// outcome turns a transmit-done into a result and counts it. The ACK is
// copied only into the caller's buffer.
func (d *Driver) outcome(psdu []byte, done *spinel.TxDone, err error, ackBuf []byte) radio.TxResult {
	var res radio.TxResult
	if cap(ackBuf) > 0 {
		res.Ack = ackBuf[:0]
	}
	if d.txSpent.Load() != 0 {
		d.txSpent.Store(0) // the RCP reports transmissions
	}
	if err != nil {
		d.stats.txAborted.Add(1)
		res.Status = radio.TxAborted
		if errors.Is(err, spinel.StatusInvalidState) {
			// The raw stream is off: the RCP reset and its notification
			// was lost, or it was never set up. The probe finds out.
			d.requestProbe("transmission refused: " + err.Error())
		}
		return res
	}
	switch done.Status {
	case spinel.StatusOK:
		if psdu[0]&0x20 != 0 { // frame control: ack request
			d.stats.txAcked.Add(1)
			res.Status, res.FramePending = radio.TxAcked, done.FramePending
			if res.Ack != nil && done.HasAck {
				res.Ack = append(res.Ack, done.Ack.PSDU...)
			}
			return res
		}
		d.stats.txNoAckReq.Add(1)
		res.Status = radio.TxSent
	case spinel.StatusNoAck:
		d.stats.txNoAck.Add(1)
		res.Status = radio.TxNoAck
	case spinel.StatusCCAFailure:
		d.stats.txCCA.Add(1)
		res.Status = radio.TxChannelAccessFailure
	default:
		d.stats.txAborted.Add(1)
		res.Status = radio.TxAborted
	}
	return res
}

// TransmitFrames implements radio.FramesTransmitter. The frames go out one
// at a time, as OpenThread's RCP holds one transmission (a second
// STREAM_RAW replaces the first: sub_mac.cpp SubMac::Send); each request
// after the first is written by the Spinel client's reader goroutine the
// moment the previous transmit-done arrives (spinel.Client.TransmitSequence),
// and the caller is woken once, when the batch ends. Each PSDU is encoded
// from the caller's slice straight into the transport's write buffer.
func (d *Driver) TransmitFrames(ctx context.Context, frames [][]byte, opts radio.TxOptions, results []radio.TxResult) (int, error) {
	if len(results) < len(frames) {
		return 0, fmt.Errorf("radio %s: %d results for %d frames", d.cfg.Name, len(results), len(frames))
	}
	if len(frames) == 0 {
		return 0, nil
	}
	b := d.getBatch()
	b.frames, b.results, b.opts = frames, results, opts
	n, err := d.transmit(ctx, b)
	b.done()
	return n, err
}

// Transmit implements radio.Radio: a batch of one frame, without
// channel-access retries. TxResult.Ack is left nil (use TransmitFrames with
// a buffer to get the acknowledgement).
func (d *Driver) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	b := d.getBatch()
	b.one[0] = psdu
	opts.CCARetries = 0
	b.frames, b.results, b.opts = b.one[:], b.oneRes[:], opts
	n, err := d.transmit(ctx, b)
	res := radio.TxResult{Status: radio.TxAborted}
	if n == 1 {
		res = b.oneRes[0]
	}
	b.done()
	return res, err
}

// TransmitFrom implements radio.PullTransmitter. It takes the radio (the
// client's transmit token, as TransmitFrames does), calls src.Next and
// writes the first request itself; from then on everything happens on the
// Spinel client's reader goroutine: on each transmit-done it calls
// src.Done and src.Next and writes the next request at once, so that the
// RCP, which holds one transmission, has the next one the moment it can
// take it, and the caller is woken once, when Next has nothing more or the
// run fails. When ctx ends, or the RCP resets or the connection fails,
// with a frame in the RCP's hands, that frame is reported to src.Done as
// TxAborted with the reason before TransmitFrom returns; the radio stays
// held until its transmit-done (or the transmit timeout), so that no
// request replaces it (sub_mac.cpp SubMac::Send).
func (d *Driver) TransmitFrom(ctx context.Context, src radio.FrameSource) error {
	b := d.getBatch()
	b.src, b.ctx = src, ctx
	_, err := d.transmit(ctx, b)
	if err != nil && b.inFlight {
		// The frame in the RCP's hands, or taken from src and never
		// written, has no outcome we know of.
		b.inFlight = false
		d.stats.txAborted.Add(1)
		src.Done(radio.TxResult{Status: radio.TxAborted}, err)
	}
	b.done()
	return err
}

// transmit runs a batch set up with its frames, results and options, or a
// pull (b.src).
func (d *Driver) transmit(ctx context.Context, b *txBatch) (int, error) {
	if d.ctx.Err() != nil {
		b.done() // the client's reference: it never sees the batch
		return 0, fmt.Errorf("radio %s: %w", d.cfg.Name, radio.ErrClosed)
	}
	for _, f := range b.frames {
		if len(f) < 3 || len(f) > spinel.MaxPSDU {
			b.done()
			return 0, fmt.Errorf("radio %s: PSDU of %d octets: must be 3..%d (FCS included)", d.cfg.Name, len(f), spinel.MaxPSDU)
		}
	}
	if !d.up.Load() {
		b.done()
		d.stats.txNotReady.Add(1)
		return 0, fmt.Errorf("radio %s: %w", d.cfg.Name, ErrNotReady)
	}
	d.mu.Lock()
	c, ch := d.client, d.settings.Channel
	d.mu.Unlock()
	if c == nil {
		b.done()
		d.stats.txAborted.Add(1)
		return 0, fmt.Errorf("radio %s: transmit aborted, RCP down: %w", d.cfg.Name, ErrNotReady)
	}
	// The receiver goes back to the configured channel when the
	// transmission ends. OpenThread's RCP honours this field
	// (ncp_base_radio.cpp DecodeStreamRawTxRequest; sub_mac.cpp
	// HandleTransmitDone moves the receiver to it when it differs from the
	// transmit channel): a 0 here leaves a real RCP listening on channel 0,
	// deaf to the mesh. OpenThread's own host sends the radio channel too
	// (radio_spinel.cpp Transmit sends mTxInfo.mRxChannelAfterTxDone,
	// which mac.cpp sets to mRadioChannel; mac_frame.hpp SetChannel sets
	// both to the same channel).
	b.rxCh = ch
	b.setOptions()
	d.waiting.Add(1)
	err := c.TransmitSequence(ctx, b)
	if !b.started {
		d.waiting.Add(-1) // it never got the radio
	}
	if err == nil {
		return b.n, b.err
	}
	n := b.n
	if b.inFlight && b.src == nil {
		// The frame in the RCP's hands has no outcome we know of.
		d.stats.txAborted.Add(1)
		r := radio.TxResult{Status: radio.TxAborted}
		if cap(b.results[b.i].Ack) > 0 {
			r.Ack = b.results[b.i].Ack[:0]
		}
		b.results[b.i] = r
		n = b.i + 1
	}
	if ctx.Err() != nil && !errors.Is(err, spinel.ErrClosed) {
		return n, fmt.Errorf("radio %s: transmit: %w", d.cfg.Name, ctx.Err())
	}
	if d.ctx.Err() != nil {
		return n, fmt.Errorf("radio %s: %w", d.cfg.Name, radio.ErrClosed)
	}
	return n, fmt.Errorf("radio %s: transmit: %w", d.cfg.Name, err)
}

// QueueDepth is the number of callers waiting for the radio (the
// transmission under way not included).
func (d *Driver) QueueDepth() int { return int(max(d.waiting.Load(), 0)) }

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
	d.settingsGen++
	c, id := d.client, d.identity
	d.mu.Unlock()
	if c == nil {
		return nil // applied when the RCP comes back
	}
	if err := d.apply(ctx, c, &s, id); err != nil {
		if errors.Is(err, spinel.ErrTimeout) {
			d.stats.timeouts.Add(1)
			d.requestProbe("configure timeout")
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
	// No transmission during the scan: SubMac::Send refuses one
	// (INVALID_STATE in kStateEnergyScan), and the scan waits for the
	// transmission under way.
	if err := c.LockTransmit(ctx); err != nil {
		return 0, fmt.Errorf("radio %s: energy scan: %w", d.cfg.Name, err)
	}
	defer c.UnlockTransmit()
	ms := uint16(min(max(dur.Milliseconds(), 1), 65535))
	// OpenThread's RCP answers SET MAC_SCAN_STATE at once, when the scan
	// has started (ncp_base.cpp HandlePropertySet<SPINEL_PROP_MAC_SCAN_STATE>
	// returns as soon as otLinkRawEnergyScan has started it), and reports
	// the result unsolicited when the period is over
	// (ncp_base_radio.cpp LinkRawEnergyScanDone: MAC_ENERGY_SCAN_RESULT,
	// then MAC_SCAN_STATE idle). So the wait that the scan's length bounds
	// is the result's, not the SET's; an answer to the SET that got lost or
	// came late on a busy host is not a dead RCP as long as the result
	// comes.
	var startErr error
	for _, st := range []struct {
		p spinel.Prop
		v []byte
	}{
		{spinel.PropMACScanMask, []byte{channel}},
		{spinel.PropMACScanPeriod, spinel.AppendUint16(nil, ms)},
		{spinel.PropMACScanState, []byte{spinel.ScanStateEnergy}},
	} {
		if _, err := c.Set(ctx, st.p, st.v); err != nil {
			if st.p == spinel.PropMACScanState && errors.Is(err, spinel.ErrTimeout) {
				startErr = err
				break
			}
			if errors.Is(err, spinel.ErrTimeout) {
				d.stats.timeouts.Add(1)
				d.requestProbe("energy scan timeout")
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
			if startErr != nil {
				d.stats.timeouts.Add(1)
				d.requestProbe("energy scan timeout")
				return 0, fmt.Errorf("radio %s: energy scan of channel %d: neither an answer to the start nor a result (%v): %w", d.cfg.Name, channel, startErr, spinel.ErrTimeout)
			}
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
		TxNoAckRequested: d.stats.txNoAckReq.Load(), TxAcked: d.stats.txAcked.Load(), TxNoAck: d.stats.txNoAck.Load(),
		TxCCAFailure: d.stats.txCCA.Load(), TxAborted: d.stats.txAborted.Load(), TxNotReady: d.stats.txNotReady.Load(),
		TxCCARetries: d.stats.txCCARetries.Load(),
		RxFrames:     d.stats.rxFrames.Load(), RxDropped: d.stats.rxDropped.Load(), RxBuffersMade: d.pool.Made(),
		Resets: d.stats.resets.Load(), Timeouts: d.stats.timeouts.Load(), Disconnects: d.stats.disconnects.Load(),
		Reconnects: d.stats.reconnects.Load(), Probes: d.stats.probes.Load(), ProbesFailed: d.stats.probesFailed.Load(),
		Up: d.up.Load(),
	}
	d.mu.Lock()
	s.Spinel = d.closed
	if d.open != nil {
		s.Spinel = s.Spinel.Add(d.open.Stats())
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
