package ble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/ble/l2cap"
)

// IPSS is the Internet Protocol Support Service UUID an IPSP node
// advertises (Bluetooth IPSP v1.0 §3.2.1).
const IPSS = 0x1820

// Sentinel errors callers branch on.
var (
	ErrNoLE        = errors.New("ble: the controller does not support Bluetooth LE")
	ErrClosed      = errors.New("ble: host closed")
	ErrCommandTime = errors.New("ble: the controller did not answer a command")
)

// Config configures a Host.
type Config struct {
	// Open opens the controller's H4 stream (transport.OpenHCI, or a
	// simulated controller's end of a pipe).
	Open func(ctx context.Context) (io.ReadWriteCloser, error)
	Name string // for logs
	// Advertise: advertise the IPSS and accept connections (the IPSP
	// router as a peripheral).
	Advertise bool
	// Connect: scan for IPSS advertisers and connect to them (the IPSP
	// router as a central, the usual arrangement).
	Connect bool
	// AllowList restricts Connect to these devices; empty: any IPSS
	// advertiser.
	AllowList []hci.BDAddr
	// MaxConnections bounds the simultaneous connections (default 4).
	MaxConnections int
	// ConnInterval is the connection interval asked for as central
	// (default 30 ms).
	ConnInterval time.Duration
	// DataLength is the LE data length asked for (default 251; 27 keeps
	// the controller's default).
	DataLength int
	// NoPHY2M stops the host from asking for the 2M PHY.
	NoPHY2M bool
	// Channel configures the IPSP channels (MTU default 1280).
	Channel l2cap.ChannelConfig
	// ReconnectMin and ReconnectMax bound the backoff before connecting
	// again to a device whose connection dropped or failed (defaults 1 s,
	// 30 s).
	ReconnectMin, ReconnectMax time.Duration
	// WithholdCredits makes this host a misbehaving peer that never
	// returns L2CAP credits (simulations and tests of the router's
	// behaviour towards one).
	WithholdCredits bool
	// CommandTimeout bounds the wait for a command's answer (default 2 s).
	CommandTimeout time.Duration
	Logger         *slog.Logger
}

func (c *Config) defaults() error {
	if c.Open == nil {
		return errors.New("ble: no transport")
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 4
	}
	if c.ConnInterval == 0 {
		c.ConnInterval = 30 * time.Millisecond
	}
	if c.ConnInterval < 7500*time.Microsecond || c.ConnInterval > 4*time.Second {
		return fmt.Errorf("ble: connection interval %v: want 7.5ms..4s", c.ConnInterval)
	}
	if c.DataLength == 0 {
		c.DataLength = 251
	}
	if c.DataLength < 27 || c.DataLength > 251 {
		return fmt.Errorf("ble: data length %d: want 27..251", c.DataLength)
	}
	if c.Channel.MTU == 0 {
		c.Channel.MTU = 1280
	}
	if c.Channel.MPS == 0 {
		c.Channel.MPS = 247 // one K-frame per 251-octet LE data PDU
	}
	if c.Channel.InitialCredits == 0 {
		// Four SDUs' worth: the peer keeps sending while our credit returns
		// are on their way back (one connection event or more); two (the
		// l2cap default) leave the link idle one event in four at a 7.5 ms
		// interval. K-frames are reassembled as they come, so credits cost
		// no memory here.
		c.Channel.InitialCredits = uint16(4 * l2cap.KFrames(int(c.Channel.MTU), c.Channel.MPS))
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = time.Second
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = max(30*time.Second, c.ReconnectMin)
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Stats counts what the host did.
type Stats struct {
	Commands            uint64 `json:"commands"`
	CommandErrors       uint64 `json:"command_errors"`
	Events              uint64 `json:"events"`
	ACLSent             uint64 `json:"acl_sent"`
	ACLReceived         uint64 `json:"acl_received"`
	Connections         uint64 `json:"connections"`
	Disconnections      uint64 `json:"disconnections"`
	ConnectFailures     uint64 `json:"connect_failures"`
	ChannelsOpened      uint64 `json:"channels_opened"`
	ChannelsClosed      uint64 `json:"channels_closed"`
	L2CAPErrors         uint64 `json:"l2cap_errors"`
	ACLReassemblyErrors uint64 `json:"acl_reassembly_errors"`
	BufferWaits         uint64 `json:"buffer_waits"` // ACL packets that waited for a controller buffer
	RxDropped           uint64 `json:"rx_dropped"`   // SDUs dropped because the channel's reader was too slow
}

// ControllerInfo is what start-up learnt of the controller.
type ControllerInfo struct {
	Addr          hci.BDAddr
	HCIVersion    uint8
	Manufacturer  uint16
	Subversion    uint16
	ACLDataLength int // LE ACL data packet length
	ACLBuffers    int // LE ACL data packets the controller holds
	DataLength    bool
	PHY2M         bool
	MaxTxOctets   int
}

// Host is a Bluetooth LE host for IPSP on one controller: it starts the
// controller, advertises or scans and connects, opens one L2CAP LE
// credit-based channel on the IPSP PSM per connection and hands each out
// as a Channel (RFC 7668 §2.2).
//
// Goroutines: reader (H4 packets from the controller; dispatches events,
// reassembles ACL, runs L2CAP signalling), writer (ACL packets to the
// controller as its buffers allow: Number Of Completed Packets gives them
// back, Vol 4 Part E §4.1.1), gap (advertising, scanning, connecting,
// reconnection backoff). Close stops them.
type Host struct {
	cfg  Config
	log  *slog.Logger
	conn io.ReadWriteCloser
	info ControllerInfo

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	wmu sync.Mutex // one H4 packet at a time on the wire

	cmdMu   sync.Mutex // one command outstanding
	cmdWait chan hci.Event

	opened chan *Channel

	mu          sync.Mutex
	conns       map[uint16]*connection
	backoff     map[hci.BDAddr]*retry
	connecting  bool
	freeBufs    int
	bufFreed    chan struct{} // signalled when buffers come back or ACL is queued
	advertising bool
	scanning    bool

	gapKick    chan struct{}
	candidates chan candidate

	stats struct {
		commands, cmdErr, events, aclSent, aclRecv, conns, discs, connFail, chOpen, chClose, l2capErr, reasmErr, bufWaits, rxDropped atomic.Uint64
	}
}

type retry struct {
	next  time.Time
	delay time.Duration
}

// Open starts the controller and the host's goroutines. A controller
// without LE gives ErrNoLE.
func Open(ctx context.Context, cfg Config) (*Host, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	conn, err := cfg.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("ble: open controller: %w", err)
	}
	h := &Host{cfg: cfg, log: cfg.Logger.With("ble", cfg.Name), conn: conn, cmdWait: make(chan hci.Event, 1),
		opened: make(chan *Channel, 16), conns: map[uint16]*connection{}, backoff: map[hci.BDAddr]*retry{},
		bufFreed: make(chan struct{}, 1), gapKick: make(chan struct{}, 1), candidates: make(chan candidate, 8)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(1)
	go h.reader()
	if err := h.start(ctx); err != nil {
		h.Close()
		return nil, err
	}
	h.wg.Add(2)
	go h.writer()
	go h.gap()
	return h, nil
}

// Info returns what start-up learnt of the controller.
func (h *Host) Info() ControllerInfo { return h.info }

// Channels delivers every IPSP channel as it opens.
func (h *Host) Channels() <-chan *Channel { return h.opened }

// Close disconnects, stops the goroutines and closes the transport.
func (h *Host) Close() error {
	h.cancel()
	err := h.conn.Close()
	h.wg.Wait()
	h.mu.Lock()
	for _, c := range h.conns {
		c.close(ErrClosed)
	}
	h.conns = map[uint16]*connection{}
	h.mu.Unlock()
	return err
}

// Stats returns the host's counters.
func (h *Host) Stats() Stats {
	return Stats{Commands: h.stats.commands.Load(), CommandErrors: h.stats.cmdErr.Load(), Events: h.stats.events.Load(),
		ACLSent: h.stats.aclSent.Load(), ACLReceived: h.stats.aclRecv.Load(), Connections: h.stats.conns.Load(),
		Disconnections: h.stats.discs.Load(), ConnectFailures: h.stats.connFail.Load(), ChannelsOpened: h.stats.chOpen.Load(),
		ChannelsClosed: h.stats.chClose.Load(), L2CAPErrors: h.stats.l2capErr.Load(), ACLReassemblyErrors: h.stats.reasmErr.Load(),
		BufferWaits: h.stats.bufWaits.Load(), RxDropped: h.stats.rxDropped.Load()}
}

func (h *Host) write(pkt []byte) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	_, err := h.conn.Write(pkt)
	return err
}

// command sends one command and returns its Command Complete return
// parameters, or nil after a successful Command Status (the outcome comes
// later in its own event).
func (h *Host) command(ctx context.Context, op hci.Opcode, params []byte) ([]byte, error) {
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	select { // a stale answer must not count for this command
	case <-h.cmdWait:
	default:
	}
	pkt, err := hci.AppendH4Command(nil, op, params)
	if err != nil {
		return nil, fmt.Errorf("ble: %v: %w", op, err)
	}
	h.stats.commands.Add(1)
	if err := h.write(pkt); err != nil {
		return nil, fmt.Errorf("ble: %v: %w", op, err)
	}
	t := time.NewTimer(h.cfg.CommandTimeout)
	defer t.Stop()
	for {
		select {
		case ev := <-h.cmdWait:
			switch ev.Code() {
			case hci.EventCommandComplete:
				cc, err := hci.ParseCommandComplete(ev)
				if err != nil || cc.Opcode != op {
					continue
				}
				if err := cc.Err(); err != nil {
					h.stats.cmdErr.Add(1)
					return nil, err
				}
				return cc.ReturnParameters, nil
			case hci.EventCommandStatus:
				cs, err := hci.ParseCommandStatus(ev)
				if err != nil || cs.Opcode != op {
					continue
				}
				if err := cs.Err(); err != nil {
					h.stats.cmdErr.Add(1)
					return nil, err
				}
				return nil, nil
			}
		case <-t.C:
			h.stats.cmdErr.Add(1)
			return nil, fmt.Errorf("ble: %v: %w", op, ErrCommandTime)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-h.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// start runs the controller start-up: reset, what it is and supports,
// event masks, data length (Vol 4 Part E §7, Vol 6 Part B §4.5.10).
func (h *Host) start(ctx context.Context) error {
	steps := []struct {
		op     hci.Opcode
		params []byte
		take   func(rp []byte) error
	}{
		{hci.OpReset, nil, nil},
		{hci.OpReadLocalVersionInformation, nil, func(rp []byte) error {
			v, err := hci.ParseReadLocalVersionReturn(rp)
			h.info.HCIVersion, h.info.Manufacturer, h.info.Subversion = v.HCIVersion, v.CompanyID, v.LMPSubversion
			return err
		}},
		{hci.OpReadLocalSupportedFeatures, nil, func(rp []byte) error {
			f, err := hci.ParseReadLocalSupportedFeaturesReturn(rp)
			if err == nil && !f.Features.LESupported() {
				return ErrNoLE
			}
			return err
		}},
		{hci.OpReadBDAddr, nil, func(rp []byte) error {
			a, err := hci.ParseReadBDAddrReturn(rp)
			h.info.Addr = a.Addr
			return err
		}},
		{hci.OpSetEventMask, hci.SetEventMask{Mask: eventMask}.Append(nil), nil},
		{hci.OpLESetEventMask, hci.LESetEventMask{Mask: leEventMask}.Append(nil), nil},
		{hci.OpLEReadBufferSize, nil, func(rp []byte) error {
			b, err := hci.ParseLEReadBufferSizeReturn(rp)
			h.info.ACLDataLength, h.info.ACLBuffers = int(b.ACLDataPacketLength), int(b.TotalNumACLDataPackets)
			if err == nil && (b.ACLDataPacketLength == 0 || b.TotalNumACLDataPackets == 0) {
				// Vol 4 Part E §7.8.2: 0 means "use Read Buffer Size"; we
				// need LE buffers of their own (every LE controller here has
				// them).
				return fmt.Errorf("ble: the controller shares BR/EDR ACL buffers with LE (LE Read Buffer Size is 0): not supported")
			}
			return err
		}},
		{hci.OpLEReadLocalSupportedFeatures, nil, func(rp []byte) error {
			f, err := hci.ParseLEReadLocalSupportedFeaturesReturn(rp)
			h.info.DataLength = f.Features.Has(hci.LEFeatureDataPacketLengthExtension)
			h.info.PHY2M = f.Features.Has(hci.LEFeature2MPHY)
			return err
		}},
	}
	for _, s := range steps {
		rp, err := h.command(ctx, s.op, s.params)
		if err != nil {
			if errors.Is(err, ErrCommandTime) && s.op == hci.OpReset {
				return fmt.Errorf("ble: no answer to HCI Reset: is this an HCI controller (Zephyr hci_uart, ESP32-H2 in HCI mode) at the right baud rate? %w", err)
			}
			return fmt.Errorf("ble: start-up: %w", err)
		}
		if s.take != nil {
			if err := s.take(rp); err != nil {
				if errors.Is(err, ErrNoLE) {
					return err
				}
				return fmt.Errorf("ble: start-up: %v: %w", s.op, err)
			}
		}
	}
	if h.info.DataLength && h.cfg.DataLength > 27 {
		p := hci.LEWriteSuggestedDefaultDataLength{TxOctets: uint16(h.cfg.DataLength), TxTime: 2120}
		if _, err := h.command(ctx, hci.OpLEWriteSuggestedDefaultDataLength, p.Append(nil)); err != nil {
			h.log.Warn("controller refused a default data length", "err", err)
		}
		if rp, err := h.command(ctx, hci.OpLEReadMaximumDataLength, nil); err == nil {
			if m, err := hci.ParseLEReadMaximumDataLengthReturn(rp); err == nil {
				h.info.MaxTxOctets = int(m.MaxTxOctets)
			}
		}
	}
	if h.info.PHY2M && !h.cfg.NoPHY2M {
		// Prefer 2M both ways; the controller negotiates with each peer.
		p := hci.LESetDefaultPHY{AllPHYs: 0, TxPHYs: 0b011, RxPHYs: 0b011}
		if _, err := h.command(ctx, hci.OpLESetDefaultPHY, p.Append(nil)); err != nil {
			h.log.Warn("controller refused a default PHY", "err", err)
		}
	}
	h.mu.Lock()
	h.freeBufs = h.info.ACLBuffers
	h.mu.Unlock()
	h.log.Info("BLE controller ready", "addr", h.info.Addr, "acl_buffers", h.info.ACLBuffers, "acl_length", h.info.ACLDataLength,
		"data_length_extension", h.info.DataLength, "2m_phy", h.info.PHY2M)
	h.log.Warn("BLE links are not encrypted: LE security (pairing, encryption) is not implemented; anyone in range can join or listen")
	return nil
}

// The events the host needs (Vol 4 Part E §7.3.1): Disconnection Complete
// (bit 4), Hardware Error (15), Data Buffer Overflow (25), LE Meta (61);
// Command Complete/Status and Number Of Completed Packets are always on.
const eventMask = 1<<4 | 1<<15 | 1<<25 | 1<<61

// LE meta events (Vol 4 Part E §7.8.1): Connection Complete (bit 0),
// Advertising Report (1), Connection Update Complete (2), Data Length
// Change (6), PHY Update Complete (11).
const leEventMask = 1<<0 | 1<<1 | 1<<2 | 1<<6 | 1<<11
