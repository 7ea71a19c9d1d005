package otsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// AckMode says who acknowledges, on our medium, the frames our nodes send
// to the RCP.
type AckMode int

const (
	// AckByMedium: the bridge's medium node carries the RCP's addresses
	// and the medium acknowledges for it aTurnaroundTime after the frame,
	// as the RCP's radio would, so our nodes' 864 µs ACK wait is always
	// met whatever the wall-clock delay through ot-rcp. ot-rcp's own ACK
	// datagrams are not put on the medium; they are only counted, and a
	// frame the medium acknowledged that ot-rcp did not is counted in
	// Stats.RCPSilent (ot-rcp did not hear it: another channel, another
	// address, or stopped).
	AckByMedium AckMode = iota
	// AckFromRCP: the bridge's medium node is promiscuous, every frame
	// heard goes to ot-rcp, which filters and acknowledges on its own
	// (radio.c radioProcessFrame), and ot-rcp's ACK datagrams go on the
	// medium as soon as they arrive. Faithful, but our nodes get the ACK
	// in time only if the round trip through ot-rcp takes less than
	// macAckWaitDuration minus the ACK's air time (864 − 352 = 512 µs of
	// virtual time): run the medium slower than real time for that.
	AckFromRCP
)

func (m AckMode) String() string {
	switch m {
	case AckByMedium:
		return "ack-by-medium"
	case AckFromRCP:
		return "ack-from-rcp"
	}
	return fmt.Sprintf("AckMode(%d)", int(m))
}

// Config configures a Bridge.
type Config struct {
	// NodeID is the ot-rcp's node id (its command-line argument, 1–33).
	NodeID int
	// Medium is our simulated medium; the bridge attaches one node to it.
	Medium *medium.Medium
	// Channel is the channel the bridge's medium node listens on (11–26).
	// Frames from ot-rcp go out on the channel its datagram names.
	Channel uint8
	// PANID, ShortAddr and ExtAddr are the RCP's addresses, for the
	// medium's address filter and its ACKs (AckByMedium). ExtAddr zero
	// means EUI64(NodeID), the address the host is expected to program;
	// ShortAddr zero means 0xfffe (none). The bridge also learns them from
	// the source fields of the frames ot-rcp sends.
	PANID     uint16
	ShortAddr uint16
	ExtAddr   [8]byte
	// PortBase is ot-rcp's PORT_BASE (environment variable); 0 means
	// DefaultPortBase.
	PortBase int
	// BridgeID is the node id the bridge sends from on OpenThread's UDP
	// medium; it must not be used by a simulated OpenThread node. 0 means
	// MaxNodeID (MaxNodeID−1 when NodeID is MaxNodeID).
	BridgeID int
	// AnyRCP takes the frames of every node on OpenThread's medium but the
	// bridge for the RCP's: ot-rcp restarted under the same host with
	// another node id (another EUI-64) is still bridged. For a medium with
	// only that one OpenThread node.
	AnyRCP bool
	// AckMode: see AckByMedium and AckFromRCP.
	AckMode AckMode
	// Name labels the medium node; empty means "ot-rcp <NodeID>".
	Name string
	// Logger receives the bridge's events; nil discards them.
	Logger *slog.Logger

	// link replaces the UDP sockets in tests.
	link link
}

// link is the bridge's end of OpenThread's UDP medium.
type link interface {
	// ReadDatagram reads one datagram into buf and returns its length and
	// the sender's UDP source port.
	ReadDatagram(buf []byte) (n int, fromPort uint16, err error)
	// WriteDatagram sends b to every node of the simulation.
	WriteDatagram(b []byte) error
	Close() error
}

// Stats counts the bridge's work since Start.
type Stats struct {
	FromRCP      uint64 // frames ot-rcp sent that the bridge put on the medium
	AcksToRCP    uint64 // ACKs our medium returned for them, sent to ot-rcp
	Superseded   uint64 // frames ot-rcp replaced (retransmitted) before the medium had sent them
	TxFailed     uint64 // frames the medium could not send (channel access failure)
	ToRCP        uint64 // frames heard on the medium and sent to ot-rcp
	RCPAcks      uint64 // ACK frames ot-rcp sent
	RCPAcksOnAir uint64 // of those, put on the medium (AckFromRCP)
	MediumAcked  uint64 // frames the medium acknowledged on ot-rcp's behalf (AckByMedium)
	RCPSilent    uint64 // of those, frames ot-rcp did not acknowledge itself within RCPAckWindow
	Ignored      uint64 // datagrams from other simulated nodes, and the bridge's own looped back
	Errors       uint64 // malformed datagrams, failed sends
}

// RCPAckWindow is how long the bridge waits for ot-rcp's own ACK of a
// frame the medium acknowledged for it before counting it in
// Stats.RCPSilent. ot-rcp acknowledges in the same pass of its main loop
// that reads the frame (radio.c radioProcessFrame → radioSendAck): 0.1–0.3
// ms on an idle machine.
const RCPAckWindow = 100 * time.Millisecond

// Bridge connects one ot-rcp process on OpenThread's UDP medium to our
// simulated medium, standing in for it there as a medium node.
type Bridge struct {
	cfg   Config
	log   *slog.Logger
	node  *medium.Node
	link  link
	txReq chan []byte

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	fromRCP, acksToRCP, superseded, txFailed, toRCP atomic.Uint64
	rcpAcks, rcpAcksOnAir, mediumAcked, rcpSilent   atomic.Uint64
	ignored, errs                                   atomic.Uint64

	// expect holds the frames the medium acknowledged for ot-rcp, waiting
	// for ot-rcp's own ACK (AckByMedium). Shared by the medium reader and
	// the datagram reader.
	expectMu sync.Mutex
	expect   []expectedAck
	warned   bool
}

type expectedAck struct {
	seq uint8
	at  time.Time
}

// maxExpected bounds the frames awaiting ot-rcp's ACK.
const maxExpected = 64

// Start attaches the bridge's node to the medium, opens its sockets on
// OpenThread's UDP medium and starts forwarding, until ctx ends or Close.
func Start(ctx context.Context, cfg Config) (*Bridge, error) {
	if cfg.NodeID < 1 || cfg.NodeID > MaxNodeID {
		return nil, fmt.Errorf("otsim: node id %d, want 1–%d", cfg.NodeID, MaxNodeID)
	}
	if cfg.Medium == nil {
		return nil, errors.New("otsim: no medium")
	}
	if cfg.PortBase == 0 {
		cfg.PortBase = DefaultPortBase
	}
	if cfg.PortBase < 1 || cfg.PortBase+MaxNodeID > 65535 {
		return nil, fmt.Errorf("otsim: port base %d out of range", cfg.PortBase)
	}
	if cfg.BridgeID == 0 {
		cfg.BridgeID = MaxNodeID
		if cfg.NodeID == MaxNodeID {
			cfg.BridgeID = MaxNodeID - 1
		}
	}
	if cfg.BridgeID == cfg.NodeID || cfg.BridgeID < 1 || cfg.PortBase+cfg.BridgeID > 65535 {
		return nil, fmt.Errorf("otsim: bridge node id %d: want another id than the RCP's (%d)", cfg.BridgeID, cfg.NodeID)
	}
	if cfg.ExtAddr == ([8]byte{}) {
		cfg.ExtAddr = EUI64(cfg.NodeID)
	}
	if cfg.ShortAddr == 0 {
		cfg.ShortAddr = 0xfffe
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("ot-rcp %d", cfg.NodeID)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The caller names the component (borderrouter: "otsim"); adding it
	// again would write the key twice.
	log = log.With("rcp", cfg.NodeID)

	lk := cfg.link
	if lk == nil {
		var err error
		if lk, err = openLink(ctx, cfg.PortBase, cfg.BridgeID); err != nil {
			return nil, err
		}
	}
	node, err := cfg.Medium.Attach(medium.NodeConfig{
		Name: cfg.Name, ExtAddr: cfg.ExtAddr, ShortAddr: cfg.ShortAddr, PANID: cfg.PANID,
		Channel: cfg.Channel, RxOnWhenIdle: true, Promiscuous: cfg.AckMode == AckFromRCP,
	})
	if err != nil {
		lk.Close()
		return nil, fmt.Errorf("otsim: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &Bridge{cfg: cfg, log: log, node: node, link: lk, txReq: make(chan []byte, 8), cancel: cancel}
	b.wg.Add(4)
	go b.datagramReader(ctx)
	go b.mediumTransmitter(ctx)
	go b.mediumReader(ctx)
	go func() {
		defer b.wg.Done()
		<-ctx.Done()
		b.shutdown()
	}()
	log.Info("otsim: bridge up", "node", cfg.Name, "channel", cfg.Channel, "port_base", cfg.PortBase,
		"bridge_id", cfg.BridgeID, "ack_mode", cfg.AckMode)
	return b, nil
}

// Node is the medium node standing for the RCP (for sim.StartMesh as the
// border router's node, and for links).
func (b *Bridge) Node() *medium.Node { return b.node }

// Close stops the bridge, closes its sockets and detaches its node.
func (b *Bridge) Close() error {
	b.cancel()
	b.shutdown()
	b.wg.Wait()
	return nil
}

// shutdown unblocks the goroutines: closing the sockets ends the datagram
// reader, detaching the node closes its reception channel.
func (b *Bridge) shutdown() {
	b.once.Do(func() {
		b.link.Close()
		b.node.Detach()
	})
}

// Stats returns the counters.
func (b *Bridge) Stats() Stats {
	b.sweepExpected(time.Now())
	return Stats{
		FromRCP: b.fromRCP.Load(), AcksToRCP: b.acksToRCP.Load(), Superseded: b.superseded.Load(),
		TxFailed: b.txFailed.Load(), ToRCP: b.toRCP.Load(), RCPAcks: b.rcpAcks.Load(),
		RCPAcksOnAir: b.rcpAcksOnAir.Load(), MediumAcked: b.mediumAcked.Load(), RCPSilent: b.rcpSilent.Load(),
		Ignored: b.ignored.Load(), Errors: b.errs.Load(),
	}
}

// datagramReader takes ot-rcp's datagrams off OpenThread's UDP medium.
func (b *Bridge) datagramReader(ctx context.Context) {
	defer b.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, port, err := b.link.ReadDatagram(buf)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("otsim: reading OpenThread's medium failed", "err", err)
				b.cancel()
			}
			return
		}
		// The sender's node id is its source port less the port base
		// (simul_utils.c utilsReceiveFromSocket). The bridge carries only
		// its RCP's frames; its own datagrams loop back and are dropped
		// here too.
		if id := int(port) - b.cfg.PortBase; id == b.cfg.BridgeID || (!b.cfg.AnyRCP && id != b.cfg.NodeID) {
			b.ignored.Add(1)
			continue
		}
		ch, psdu, err := ParseDatagram(buf[:n])
		if err != nil {
			b.errs.Add(1)
			b.log.Debug("otsim: bad datagram from ot-rcp", "err", err)
			continue
		}
		if ieee802154.FrameControl(uint16(psdu[0])|uint16(psdu[1])<<8).Type() == ieee802154.FrameAck {
			b.rcpAck(ch, psdu)
			continue
		}
		frame := AppendDatagram(nil, ch, psdu)
		select {
		case b.txReq <- frame:
		case <-ctx.Done():
			return
		}
	}
}

// rcpAck handles an ACK frame ot-rcp sent (radio.c radioSendAck).
func (b *Bridge) rcpAck(ch uint8, psdu []byte) {
	b.rcpAcks.Add(1)
	b.matchExpected(psdu[2])
	if b.cfg.AckMode != AckFromRCP {
		return // the medium already acknowledged for it
	}
	// An Imm-Ack goes out without CSMA-CA (2006 §7.5.6.4.2); ot-rcp
	// computed its FCS (radio.c radioComputeCrc).
	if _, err := b.node.StartTransmit(psdu, medium.TxOptions{Channel: ch, DisableCSMA: true, KeepFCS: true}); err != nil {
		b.errs.Add(1)
		b.log.Debug("otsim: ACK from ot-rcp not sent", "err", err)
		return
	}
	b.rcpAcksOnAir.Add(1)
}

// mediumTransmitter puts ot-rcp's frames on the medium, one at a time as
// its radio sends them, and returns the ACK the medium got to ot-rcp.
func (b *Bridge) mediumTransmitter(ctx context.Context) {
	defer b.wg.Done()
	var (
		cur   *medium.Tx
		curCh uint8
		done  <-chan struct{}
		ack   []byte
	)
	finish := func() {
		res, err := cur.Result()
		cur, done = nil, nil
		if err != nil {
			return // superseded, detached or closed
		}
		switch res.Status {
		case medium.TxChannelAccessFailure:
			b.txFailed.Add(1)
		case medium.TxAcked:
			if b.cfg.AckMode == AckFromRCP {
				// The promiscuous node heard the ACK and the medium
				// reader has already passed it on.
				return
			}
			// ot-rcp waits SubMac::kAckTimeout (16 ms, sub_mac.hpp) for
			// an ACK with its frame's sequence number, on the channel it
			// sent on (SubMac::BeginTransmit tunes the receiver there;
			// radio.c radioReceive matches the sequence number).
			ack = AppendDatagram(ack[:0], curCh, res.Ack)
			if err := b.link.WriteDatagram(ack); err != nil {
				b.errs.Add(1)
				b.log.Debug("otsim: ACK to ot-rcp not sent", "err", err)
				return
			}
			b.acksToRCP.Add(1)
		}
	}
	// ot-rcp reports a frame without AR done as soon as its datagram is
	// written (radio.c otPlatRadioTransmit: no ACK to wait for), so the
	// host sends the next one at once, while the first still takes its air
	// time here: such frames wait their turn (up to pendingMax). A frame
	// with AR holds ot-rcp until the ACK or its 16 ms timeout; what it
	// sends before our medium finished is a retransmission or a frame the
	// host sent after giving up, which replaces it, as ot-rcp's one
	// transmit buffer (radio.c sTransmitFrame) does.
	const pendingMax = 16
	var (
		pending [][]byte
		curAR   bool
	)
	start := func(d []byte) {
		ch, psdu, _ := ParseDatagram(d)
		b.learn(psdu)
		// ot-rcp ran its own CSMA-CA and retransmissions (SubMac); on our
		// medium the frame still contends for the channel, but is sent
		// once: a missing ACK is ot-rcp's to retry.
		t, err := b.node.StartTransmit(psdu, medium.TxOptions{Channel: ch, KeepFCS: true, MaxFrameRetries: -1})
		if err != nil {
			b.errs.Add(1)
			b.log.Debug("otsim: frame from ot-rcp not sent", "channel", ch, "err", err)
			return
		}
		b.fromRCP.Add(1)
		curAR = len(psdu) > 0 && psdu[0]&0x20 != 0
		cur, curCh, done = t, ch, t.Done()
	}
	next := func() {
		for cur == nil && len(pending) > 0 {
			d := pending[0]
			pending = pending[1:]
			start(d)
		}
	}
	for {
		select {
		case <-ctx.Done():
			if cur != nil {
				cur.Cancel()
			}
			return
		case <-done:
			finish()
			next()
		case d := <-b.txReq:
			if cur != nil {
				select {
				case <-done:
					finish()
				default:
				}
			}
			switch {
			case cur == nil:
				start(d)
			case !curAR:
				if len(pending) == pendingMax {
					pending = pending[1:]
					b.superseded.Add(1)
				}
				pending = append(pending, d)
			default:
				// ot-rcp moved on: its ACK wait ran out and it sent again,
				// or the host sent another frame.
				cur.Cancel()
				cur, done = nil, nil
				b.superseded.Add(1 + uint64(len(pending)))
				pending = append(pending[:0], d)
				next()
			}
		}
	}
}

// learn takes the RCP's PAN ID and addresses from the source fields of a
// frame it sent, so the medium filters and acknowledges for the addresses
// the host programmed (as the ZEP hub does for its peers).
func (b *Bridge) learn(psdu []byte) {
	if b.cfg.AckMode != AckByMedium {
		return
	}
	var fr ieee802154.Frame
	if fr.Decode(psdu, true) != nil || (fr.Type != ieee802154.FrameData && fr.Type != ieee802154.FrameCommand) {
		return
	}
	c := b.node.Config()
	nc := c
	switch {
	case fr.SrcPANPresent:
		nc.PANID = uint16(fr.SrcPAN)
	case fr.DstPANPresent:
		nc.PANID = uint16(fr.DstPAN)
	}
	switch fr.Src.Mode {
	case ieee802154.AddrExtended:
		nc.ExtAddr = fr.Src.Ext
	case ieee802154.AddrShort:
		if fr.Src.Short != 0xfffe && fr.Src.Short != ieee802154.BroadcastShort {
			nc.ShortAddr = uint16(fr.Src.Short)
		}
	}
	if nc.PANID == c.PANID && nc.ExtAddr == c.ExtAddr && nc.ShortAddr == c.ShortAddr {
		return
	}
	if err := b.node.Configure(func(x *medium.NodeConfig) {
		x.PANID, x.ExtAddr, x.ShortAddr = nc.PANID, nc.ExtAddr, nc.ShortAddr
	}); err == nil {
		b.log.Info("otsim: RCP addresses learnt from its frames", "pan", fmt.Sprintf("%#04x", nc.PANID),
			"ext", ieee802154.ExtAddr(nc.ExtAddr), "short", fmt.Sprintf("%#04x", nc.ShortAddr))
	}
}

// mediumReader sends what the bridge's node hears to ot-rcp.
func (b *Bridge) mediumReader(ctx context.Context) {
	defer b.wg.Done()
	var d []byte
	for {
		var rec medium.Reception
		var ok bool
		select {
		case <-ctx.Done():
			return
		case rec, ok = <-b.node.Receive():
			if !ok {
				return
			}
		}
		if rec.BadFCS {
			continue // a radio drops it before anyone sees it
		}
		if rec.AckSent {
			b.mediumAcked.Add(1)
			b.addExpected(rec.PSDU[2])
		}
		// The datagram carries the channel the frame was heard on;
		// ot-rcp drops it unless it listens there (radio.c radioReceive).
		d = AppendDatagram(d[:0], rec.Channel, rec.PSDU)
		if err := b.link.WriteDatagram(d); err != nil {
			if ctx.Err() != nil {
				return
			}
			b.errs.Add(1)
			b.log.Debug("otsim: frame to ot-rcp not sent", "err", err)
			continue
		}
		b.toRCP.Add(1)
	}
}

func (b *Bridge) addExpected(seq uint8) {
	now := time.Now()
	b.sweepExpected(now)
	b.expectMu.Lock()
	defer b.expectMu.Unlock()
	if len(b.expect) >= maxExpected {
		b.expect = b.expect[1:]
		b.rcpSilent.Add(1)
	}
	b.expect = append(b.expect, expectedAck{seq: seq, at: now})
}

func (b *Bridge) matchExpected(seq uint8) {
	b.expectMu.Lock()
	defer b.expectMu.Unlock()
	for i, e := range b.expect {
		if e.seq == seq {
			b.expect = append(b.expect[:i:i], b.expect[i+1:]...)
			return
		}
	}
}

// sweepExpected counts the frames ot-rcp did not acknowledge in time.
func (b *Bridge) sweepExpected(now time.Time) {
	b.expectMu.Lock()
	defer b.expectMu.Unlock()
	i := 0
	for i < len(b.expect) && now.Sub(b.expect[i].at) > RCPAckWindow {
		i++
	}
	if i == 0 {
		return
	}
	b.expect = append(b.expect[:0], b.expect[i:]...)
	b.rcpSilent.Add(uint64(i))
	if !b.warned {
		b.warned = true
		b.log.Warn("otsim: ot-rcp did not acknowledge a frame the medium acknowledged for it: is it listening on this channel, with these addresses, and not promiscuous?",
			"channel", b.cfg.Channel, "frames", i)
	}
}
