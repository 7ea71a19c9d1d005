package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// SDUChannel is one L2CAP LE credit-based channel on the IPSP PSM: it
// carries one IPv6 packet per SDU (RFC 7668 §2.2). The BLE host implements
// it; a simulated peripheral does too.
type SDUChannel interface {
	// SendSDU queues one SDU for the peer (copying it: the caller reuses
	// its buffer). It does not wait for the peer's
	// credits: an SDU that cannot be queued fails at once (a peer that
	// withholds credits must not stall the caller or other links).
	SendSDU(ctx context.Context, sdu []byte) error
	// Receive calls deliver for every SDU received, in order, until the
	// channel closes or ctx ends; the SDU is valid during the call only.
	Receive(ctx context.Context, deliver func(sdu []byte)) error
}

// ErrChannelClosed: the L2CAP channel (or its connection) is gone.
var ErrChannelClosed = errors.New("link: BLE channel closed")

// BLEConfig configures a BLE.
type BLEConfig struct {
	Name    string
	Channel SDUChannel
	// Local and Peer are the two device addresses (RFC 7668 §3.2.2 derives
	// the IIDs from them).
	Local, Peer [6]byte
	Contexts    *lowpan.ContextTable
	// Registered lets the codec elide a node's registered address (RFC
	// 7668 §3.2.4, RFC 9159 §3.3.3): the 6LBR's registry, or a node's own
	// registrations.
	Registered lowpan.Registrations
	// Queue bounds the transmit queue.
	Queue QueueConfig
	// Tap, if not nil, is told of every packet (SetTap).
	Tap    Tap
	Logger *slog.Logger
}

// BLEStats counts a BLE link's traffic.
type BLEStats struct {
	PacketsSent      uint64 `json:"packets_sent"`
	PacketsReceived  uint64 `json:"packets_received"`
	BytesSent        uint64 `json:"bytes_sent"` // SDU octets
	BytesReceived    uint64 `json:"bytes_received"`
	HeaderBytesSaved uint64 `json:"header_bytes_saved"`
	SendErrors       uint64 `json:"send_errors"`
	DecodeErrors     uint64 `json:"decode_errors"`
}

// BLE is IPv6 over one BLE connection (RFC 7668): a point-to-point
// link to one neighbour, RFC 6282 IPHC with RFC 7668 address derivation
// and elision, no 6LoWPAN fragmentation (L2CAP segments the SDU).
type BLE struct {
	cfg         BLEConfig
	log         *slog.Logger
	codec       lowpan.BLECodec
	local, peer lowpan.LinkAddr

	q   *txQueue
	tap linkTap

	stats struct {
		pktSent, pktRecv, bSent, bRecv, saved, sendErr, decErr atomic.Uint64
	}
}

var _ PointToPoint = (*BLE)(nil)
var _ Runnable = (*BLE)(nil)

// NewBLE makes a link on an open channel.
func NewBLE(cfg BLEConfig) (*BLE, error) {
	if cfg.Channel == nil {
		return nil, errors.New("link: BLE: no channel")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = "ble-" + lowpan.BLELinkAddr(cfg.Peer).String()
	}
	l := &BLE{cfg: cfg, log: cfg.Logger.With("link", cfg.Name),
		codec: lowpan.BLECodec{Contexts: cfg.Contexts, Registered: cfg.Registered},
		local: lowpan.BLELinkAddr(cfg.Local), peer: lowpan.BLELinkAddr(cfg.Peer), q: newTxQueue(cfg.Queue)}
	l.tap.set(cfg.Tap)
	return l, nil
}

// SetTap has t told of every IPv6 packet the link sends — when it is
// queued, before RFC 7668 compression — and receives, after decompression;
// nil removes the tap.
func (l *BLE) SetTap(t Tap) { l.tap.set(t) }

// Name implements Link.
func (l *BLE) Name() string { return l.cfg.Name }

// MTU implements Link: RFC 7668 §3.2 (1280, L2CAP carrying it whole).
func (l *BLE) MTU() int { return lowpan.BLEMTU }

// LinkAddr implements Link.
func (l *BLE) LinkAddr() lowpan.LinkAddr { return l.local }

// Peer implements PointToPoint.
func (l *BLE) Peer() lowpan.LinkAddr { return l.peer }

// Send implements Link: one compressed packet, one SDU, queued for the
// link's sender goroutine. The next hop can only be the peer (or the
// broadcast address, which means the peer: BLE has no link-layer
// multicast).
func (l *BLE) Send(pkt []byte, nextHop lowpan.LinkAddr, opts SendOptions) error {
	d, err := l.encode(pkt, nextHop, opts)
	return queue(l.q, d, err)
}

// SendWait is Send that waits for the SDU to be handed to the channel.
func (l *BLE) SendWait(ctx context.Context, pkt []byte, nextHop lowpan.LinkAddr, opts SendOptions) error {
	d, err := l.encode(pkt, nextHop, opts)
	return queueAndWait(ctx, l.q, d, err)
}

func (l *BLE) encode(pkt []byte, nextHop lowpan.LinkAddr, opts SendOptions) (*datagram, error) {
	if nextHop != l.peer && nextHop != BroadcastShort {
		return nil, fmt.Errorf("link: %s: next hop %v is not this link's peer %v", l.cfg.Name, nextHop, l.peer)
	}
	d, err := l.q.get(l.peer, opts.Class)
	if err != nil {
		l.stats.sendErr.Add(1)
		return nil, fmt.Errorf("link: %s: %w", l.cfg.Name, err)
	}
	d.opts = opts
	n, err := l.codec.Compress(d.buf[:], pkt, l.local, l.peer)
	if err == nil {
		err = d.commit(d.buf[:n])
	}
	if err != nil {
		l.q.cancel(d)
		l.stats.sendErr.Add(1)
		return nil, fmt.Errorf("link: %s: %w", l.cfg.Name, err)
	}
	if len(pkt) > n {
		l.stats.saved.Add(uint64(len(pkt) - n))
	}
	if t := l.tap.get(); t != nil {
		t.TapFrame(TapFrame{Time: time.Now(), Data: pkt, Dir: TapOut})
	}
	return d, nil
}

// sendQueued implements transmitter: each SDU to the channel, which
// queues it for the peer's credits without waiting for them.
func (l *BLE) sendQueued(ctx context.Context) {
	sendEach(ctx, l.q, func(ctx context.Context, d *datagram) error {
		sdu := d.frame(0)
		if err := l.cfg.Channel.SendSDU(ctx, sdu); err != nil {
			l.stats.sendErr.Add(1)
			return fmt.Errorf("link: %s: %w", l.cfg.Name, err)
		}
		l.stats.pktSent.Add(1)
		l.stats.bSent.Add(uint64(len(sdu)))
		if d.opts.Latency != nil && !d.opts.Since.IsZero() {
			d.opts.Latency.Observe(time.Since(d.opts.Since).Seconds())
		}
		return nil
	})
}

// QueueStats returns the transmit queue's counters.
func (l *BLE) QueueStats() QueueStats { return l.q.snapshot() }

// Run implements Runnable: it sends what Send queues, on a goroutine of
// its own, and decompresses every SDU and delivers the packet until the
// channel closes or ctx ends.
func (l *BLE) Run(ctx context.Context, deliver func(*Delivery)) {
	l.q.restart()
	ctx, cancel := context.WithCancel(ctx)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		runSender(ctx, l.q, l, defaultDrainTimeout)
	}()
	defer func() {
		cancel() // the channel closed: nothing more can be sent
		<-sent
	}()
	out := make([]byte, lowpan.BLEMTU+64)
	var dl Delivery
	err := l.cfg.Channel.Receive(ctx, func(sdu []byte) {
		l.stats.bRecv.Add(uint64(len(sdu)))
		n, err := l.codec.Decompress(out, sdu, l.peer, l.local)
		if err != nil {
			l.stats.decErr.Add(1)
			l.log.Debug("RFC 7668 SDU", "err", err)
			return
		}
		l.stats.pktRecv.Add(1)
		if t := l.tap.get(); t != nil {
			t.TapFrame(TapFrame{Time: time.Now(), Data: out[:n], Dir: TapIn})
		}
		dl = Delivery{Link: l, Packet: out[:n], Src: l.peer, Dst: l.local}
		deliver(&dl)
	})
	if err != nil && ctx.Err() == nil {
		l.log.Info("BLE channel closed", "err", err)
	}
}

// Stats returns the link's counters.
func (l *BLE) Stats() BLEStats {
	return BLEStats{PacketsSent: l.stats.pktSent.Load(), PacketsReceived: l.stats.pktRecv.Load(),
		BytesSent: l.stats.bSent.Load(), BytesReceived: l.stats.bRecv.Load(), HeaderBytesSaved: l.stats.saved.Load(),
		SendErrors: l.stats.sendErr.Load(), DecodeErrors: l.stats.decErr.Load()}
}
