package medium

import (
	"context"
	"fmt"
	"github.com/lowpanbr/lowpanbr/radio"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

// NodeConfig is a node's radio configuration: the MAC PIB attributes its
// address filter uses and its receiver modes.
type NodeConfig struct {
	// Name labels the node in logs.
	Name string
	// ExtAddr is aExtendedAddress in canonical EUI-64 order.
	ExtAddr [8]byte
	// ShortAddr is macShortAddress; PANID is macPANId.
	ShortAddr uint16
	PANID     uint16
	// Channel is the node's channel, 11–26; it hears only that channel.
	Channel uint8
	// RxOnWhenIdle: the receiver is on whenever the node is not
	// transmitting. A node with it off receives nothing except the ACK it
	// waits for after sending a frame with AR set (the radio listens for
	// macAckWaitDuration then).
	RxOnWhenIdle bool
	// Promiscuous: every frame heard is delivered, whatever its
	// addresses, ACKs and frames with a bad FCS included (flagged), and
	// the node sends no ACKs.
	Promiscuous bool
	// PANCoordinator accepts data and command frames that carry only a
	// source address from its own PAN (2006 §7.5.6.2, third-level
	// filtering).
	PANCoordinator bool
	// FramePending, when set, decides the frame pending bit of the
	// Imm-Ack the node sends for a frame from src (the source-match
	// table of a parent with sleepy children). It runs with the medium
	// locked, on the event loop or on the goroutine of a call that runs
	// what is due first (Transmit, Configure, Stats and others; see
	// loop.go): it must be quick, must not call the medium, and must not
	// take a lock held around calls into the medium.
	FramePending func(src ieee802154.Address) bool
	// RxQueueLen bounds the reception channel; 0 means
	// DefaultRxQueueLen. Read by Attach only.
	RxQueueLen int
}

func (c *NodeConfig) validate() error {
	if c.Channel < MinChannel || c.Channel > MaxChannel {
		return fmt.Errorf("medium: node %q: channel %d, want %d–%d: %w", c.Name, c.Channel, MinChannel, MaxChannel, ErrChannel)
	}
	return nil
}

// Reception is a frame a node received.
type Reception struct {
	// PSDU is the frame with its two FCS octets; the receiver owns it.
	PSDU []byte
	// RSSI (dBm) and LQI of the link from the sender.
	RSSI int8
	LQI  uint8
	// Channel the frame was received on.
	Channel uint8
	// Start is the virtual time of the frame's first preamble symbol,
	// End that of its last symbol, when it was delivered.
	Start, End time.Duration
	// BadFCS: the FCS does not match (promiscuous nodes only; others
	// drop such frames).
	BadFCS bool
	// AckSent: the node acknowledged the frame; AckFramePending: with
	// the frame pending bit set.
	AckSent         bool
	AckFramePending bool
}

// Node is a radio attached to the medium.
type Node struct {
	m  *Medium
	id int
	rx chan Reception

	// Guarded by m.mu.
	cfg      NodeConfig
	detached bool
	peer     *zepPeer // non-nil for a ZEP peer
	inbox    []*Tx    // called, not yet taken by the event loop
	queue    []*Tx
	cur      *Tx
	onAir    int        // own frames on the air (data and ACKs)
	rxing    []*rxEntry // frames on the air that this node hears
	scanning int
	dropped  uint64
	// deliverTo, when set, takes the node's receptions instead of rx.
	deliverTo func(Reception) bool
}

// rxEntry is a frame a node hears, from its first symbol to its last.
type rxEntry struct {
	f        *airFrame
	link     Link
	deaf     bool // the node could not receive it: transmitting, receiver off, scanning
	collided bool // another frame overlapped it at this node
}

// Attach adds a node to the medium.
func (m *Medium) Attach(cfg NodeConfig) (*Node, error) {
	return m.attach(cfg, nil)
}

func (m *Medium) attach(cfg NodeConfig, peer *zepPeer) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	qlen := cfg.RxQueueLen
	if qlen <= 0 {
		qlen = DefaultRxQueueLen
	}
	if peer != nil {
		qlen = 1 // peers get their frames over UDP, never on the channel
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.catchUp()
	n := &Node{m: m, id: m.nextID, rx: make(chan Reception, qlen), cfg: cfg, peer: peer}
	m.nextID++
	m.nodes = append(m.nodes, n)
	m.log.Debug("medium: node attached", "node", cfg.Name, "id", n.id, "channel", cfg.Channel)
	return n, nil
}

// String returns the node's name.
func (n *Node) String() string {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	return n.cfg.Name
}

// Config returns the node's current configuration.
func (n *Node) Config() NodeConfig {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	return n.cfg
}

// Configure changes the node's configuration at run time: fn edits a copy,
// which replaces the configuration if it is valid. fn runs with the medium
// locked and must not call it. Changing the channel or turning the receiver
// off abandons frames being received; RxQueueLen cannot change.
func (n *Node) Configure(fn func(*NodeConfig)) error {
	m := n.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.detached {
		return ErrDetached
	}
	m.catchUp()
	c := n.cfg
	fn(&c)
	c.RxQueueLen = n.cfg.RxQueueLen
	if err := c.validate(); err != nil {
		return err
	}
	old := n.rxChannel()
	n.cfg = c
	if n.rxChannel() != old || !n.listening() {
		n.rxing = nil
	}
	return nil
}

// Receive returns the node's reception channel. It is bounded: when the
// consumer is slow, receptions are dropped and counted (Dropped,
// Stats.RxDropped). It is closed by Detach and by the medium's Close.
func (n *Node) Receive() <-chan Reception { return n.rx }

// SetDeliver hands the node's receptions to f instead of its Receive
// channel, saving a consumer that only forwards them a goroutine hop per
// frame; nil restores the channel. f takes each reception (its PSDU is a
// copy f may keep) and reports false when it could not (counted as
// dropped, as a full channel is). It runs with the medium locked, as
// NodeConfig.FramePending does: it must be quick, must not call the
// medium and must not take a lock held around calls into the medium.
// Once SetDeliver(nil) returns, f is not called again.
func (n *Node) SetDeliver(f func(Reception) bool) {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	n.m.catchUp()
	n.deliverTo = f
}

// Dropped returns how many receptions this node lost to a full queue.
func (n *Node) Dropped() uint64 {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	n.m.catchUp()
	return n.dropped
}

// Detach removes the node: its pending transmissions and scans fail with
// ErrDetached, its reception channel is closed, and it hears nothing more.
// A frame it has on the air finishes.
func (n *Node) Detach() {
	m := n.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.detached || m.closed {
		return
	}
	m.catchUp()
	for i, o := range m.nodes {
		if o == n {
			m.nodes = append(m.nodes[:i:i], m.nodes[i+1:]...)
			break
		}
	}
	m.shutdownNode(n, ErrDetached)
	m.log.Debug("medium: node detached", "node", n.cfg.Name, "id", n.id)
}

// shutdownNode fails everything the node has pending. Callers hold m.mu.
func (m *Medium) shutdownNode(n *Node, err error) {
	if n.detached {
		return
	}
	n.detached = true
	if t := n.cur; t != nil {
		n.cur = nil
		t.finish(m.now, err)
	}
	for _, t := range append(n.inbox, n.queue...) {
		t.finish(m.now, err)
	}
	n.inbox, n.queue = nil, nil
	n.rxing = nil
	kept := m.scans[:0]
	for _, s := range m.scans {
		if s.n == n {
			s.finish(0, err)
		} else {
			kept = append(kept, s)
		}
	}
	clear(m.scans[len(kept):])
	m.scans = kept
	close(n.rx)
}

// listening reports whether the node's receiver is on. Callers hold m.mu.
func (n *Node) listening() bool {
	if n.detached || n.scanning > 0 {
		return false
	}
	return n.cfg.RxOnWhenIdle || n.awaitingAck()
}

func (n *Node) awaitingAck() bool { return n.cur != nil && n.cur.awaiting }

// rxChannel is the channel the receiver is tuned to: the transmission's
// channel while waiting for its ACK, the configured one otherwise.
func (n *Node) rxChannel() uint8 {
	if n.awaitingAck() {
		return n.cur.channel
	}
	return n.cfg.Channel
}

// TxStatus is the outcome of a transmission: the radio package's, so the
// medium's results need no translation. The medium never reports
// radio.TxAborted.
type TxStatus = radio.TxStatus

// The outcomes a medium transmission can have.
const (
	// TxSent: the frame went out; it did not request an ACK.
	TxSent = radio.TxSent
	// TxAcked: an ACK with the frame's sequence number arrived.
	TxAcked = radio.TxAcked
	// TxNoAck: no ACK after macMaxFrameRetries retransmissions.
	TxNoAck = radio.TxNoAck
	// TxChannelAccessFailure: CSMA-CA found the channel busy more than
	// macMaxCSMABackoffs times in a row.
	TxChannelAccessFailure = radio.TxChannelAccessFailure
)

// TxOptions controls one transmission. The zero value sends on the node's
// channel with CSMA-CA, the default backoffs and retries, and the FCS
// computed by the medium.
type TxOptions struct {
	// Channel to send on; 0 means the node's channel. The node listens
	// there for the ACK, then returns to its own channel.
	Channel uint8
	// DisableCSMA sends at once, without backoff or CCA (and without
	// turnaround: the frame's first symbol is at the start time).
	DisableCSMA bool
	// MaxCSMABackoffs is macMaxCSMABackoffs: 0 means the default (4), a
	// negative value 0 (one CCA, no second chance).
	MaxCSMABackoffs int
	// MaxFrameRetries is macMaxFrameRetries: 0 means the default (3), a
	// negative value none. Each retry runs CSMA-CA again.
	MaxFrameRetries int
	// KeepFCS sends the PSDU's last two octets as they are. Without it
	// they are a placeholder and the medium writes the FCS, as a radio
	// does.
	KeepFCS bool
	// Notify, when set, is called with the transmission once its outcome
	// is known (after Done is closed), on the medium's event loop with the
	// medium's lock held: it must not block or call the medium. It lets a
	// radio that serves many transmissions (sim/rcpsim) take each outcome
	// with one wake-up of its own, instead of a goroutine per wait.
	Notify func(*Tx)
	// Tag is the caller's: Tx.Tag returns it.
	Tag uint64
}

// TxResult is the outcome of a transmission, with virtual times.
type TxResult struct {
	Status TxStatus
	// Ack is the ACK PSDU (5 octets, FCS included) when Status is TxAcked.
	Ack []byte
	// FramePending is the ACK's frame pending bit.
	FramePending bool
	// Attempts counts the frames put on the air: 1 + retransmissions.
	Attempts int
	// CCABusy counts the CCAs that found the channel busy.
	CCABusy int
	// Queued is when the node's radio took the frame (the call, or the
	// end of the node's previous transmission); Start is the first symbol
	// of the first attempt (valid when Attempts > 0); End is when the
	// outcome was known: the frame's end (TxSent), the ACK's end
	// (TxAcked), the end of the last macAckWaitDuration (TxNoAck), the end
	// of the last CCA (TxChannelAccessFailure).
	Queued, Start, End time.Duration
}

// Tx is a transmission under way (StartTransmit).
type Tx struct {
	n       *Node
	psdu    []byte
	channel uint8
	csma    bool
	maxNB   int
	maxRetr int
	wantAck bool
	ackSeq  uint8
	done    chan struct{}
	notify  func(*Tx)
	tag     uint64

	// Guarded by m.mu until done is closed; read-only afterwards.
	res      TxResult
	err      error
	finished bool
	canceled bool
	awaiting bool // listening for the ACK
	ackGen   int  // invalidates stale ACK timeouts
	// ackTimer is the pending macAckWaitDuration timeout, marked dead
	// when the wait ends otherwise; next is the pending CCA or frame
	// start, made visible at once when the transmission is cancelled.
	ackTimer *event
	next     *event
	nb, be   int // CSMA-CA variables NB and BE
	ccaStart time.Duration
}

// Done is closed when the outcome is known.
func (t *Tx) Done() <-chan struct{} { return t.done }

// Tag returns TxOptions.Tag.
func (t *Tx) Tag() uint64 { return t.tag }

// Result waits for the outcome. The error is non-nil when the transmission
// did not run to its end: ErrCanceled, ErrDetached or ErrClosed.
func (t *Tx) Result() (TxResult, error) {
	<-t.done
	return t.res, t.err
}

// Cancel abandons the transmission: if it has not reached the air it never
// will; a frame already on the air finishes, but no ACK is awaited or
// retry made. Result then returns ErrCanceled.
func (t *Tx) Cancel() {
	m := t.n.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catchUp()
	if t.finished {
		return
	}
	t.canceled = true
	if ev := t.next; ev != nil && ev.visible > ev.at {
		// Its next step ends it: at that step's moment, not at the end of
		// a frame that will never be.
		ev.visible, ev.cca = ev.at, nil
		m.wakeFor(ev.at)
	}
	n := t.n
	if removeTx(&n.inbox, t) || removeTx(&n.queue, t) {
		t.finish(m.now, ErrCanceled)
		return
	}
	if t.awaiting {
		m.endTx(t, ErrCanceled)
	}
}

// removeTx removes t from *list and reports whether it was there.
func removeTx(list *[]*Tx, t *Tx) bool {
	for i, q := range *list {
		if q == t {
			*list = append((*list)[:i:i], (*list)[i+1:]...)
			return true
		}
	}
	return false
}

// finish records the outcome. Callers hold m.mu.
func (t *Tx) finish(now time.Duration, err error) {
	if t.finished {
		return
	}
	t.finished = true
	t.awaiting = false
	t.res.End = now
	t.err = err
	close(t.done)
	if t.notify != nil {
		t.notify(t)
	}
}

// Transmit sends psdu and waits for the outcome in virtual time. See
// StartTransmit. When ctx ends first the transmission is cancelled
// (Tx.Cancel) and ctx's error returned.
func (n *Node) Transmit(ctx context.Context, psdu []byte, opts TxOptions) (TxResult, error) {
	t, err := n.StartTransmit(psdu, opts)
	if err != nil {
		return TxResult{}, err
	}
	select {
	case <-t.done:
		return t.res, t.err
	case <-ctx.Done():
		t.Cancel()
		return TxResult{}, ctx.Err()
	}
}

// StartTransmit queues psdu (the whole MAC frame including two FCS octets;
// the medium keeps a copy) for transmission and returns at once. The node
// sends one frame at a time, in call order; the frame takes effect at the
// current virtual time. A frame whose frame control has AR set (and is not
// an ACK or a 2015 frame with its sequence number suppressed) waits for an
// Imm-Ack with its sequence number, whoever is addressed.
func (n *Node) StartTransmit(psdu []byte, opts TxOptions) (*Tx, error) {
	return n.startTransmit(psdu, opts, false)
}

func (n *Node) startTransmit(psdu []byte, opts TxOptions, noAckWait bool) (*Tx, error) {
	if len(psdu) < 4 || len(psdu) > ieee802154.MaxPSDU {
		return nil, fmt.Errorf("medium: transmit %d octets, want 4–%d: %w", len(psdu), ieee802154.MaxPSDU, ErrFrameLength)
	}
	if opts.Channel != 0 && (opts.Channel < MinChannel || opts.Channel > MaxChannel) {
		return nil, fmt.Errorf("medium: transmit on channel %d, want %d–%d: %w", opts.Channel, MinChannel, MaxChannel, ErrChannel)
	}
	t := &Tx{
		n:       n,
		psdu:    append([]byte(nil), psdu...),
		channel: opts.Channel,
		csma:    !opts.DisableCSMA,
		maxNB:   defaulted(opts.MaxCSMABackoffs, DefaultMaxCSMABackoffs),
		maxRetr: defaulted(opts.MaxFrameRetries, DefaultMaxFrameRetries),
		done:    make(chan struct{}),
		notify:  opts.Notify,
		tag:     opts.Tag,
	}
	if !opts.KeepFCS {
		fcs := ieee802154.FCS(t.psdu[:len(t.psdu)-2])
		t.psdu[len(t.psdu)-2], t.psdu[len(t.psdu)-1] = byte(fcs), byte(fcs>>8)
	}
	fc := uint16(t.psdu[0]) | uint16(t.psdu[1])<<8
	typ := ieee802154.FrameControl(fc).Type()
	seqSuppressed := ieee802154.FrameControl(fc).Version() == ieee802154.Version2015 && ieee802154.FrameControl(fc).SeqSuppressed()
	t.wantAck = !noAckWait && ieee802154.FrameControl(fc).AckRequest() && typ != ieee802154.FrameAck && !seqSuppressed
	t.ackSeq = t.psdu[2]

	m := n.m
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, ErrClosed
	case n.detached:
		return nil, ErrDetached
	}
	if t.channel == 0 {
		t.channel = n.cfg.Channel
	}
	n.inbox = append(n.inbox, t)
	m.call(m.clock(), n.id, func() {
		if !removeTx(&n.inbox, t) || n.detached {
			return
		}
		n.queue = append(n.queue, t)
		m.startNext(n)
	})
	return t, nil
}

// defaulted maps the radio-style option convention: 0 is the default,
// negative is zero.
func defaulted(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// scan is an energy scan under way.
type scan struct {
	n          *Node
	channel    uint8
	start, end time.Duration
	active     bool // measuring: start and end are set
	result     chan scanResult
	finished   bool
}

type scanResult struct {
	rssi int8
	err  error
}

func (s *scan) finish(rssi int8, err error) {
	if s.finished {
		return
	}
	s.finished = true
	s.result <- scanResult{rssi, err}
}

// EnergyScan measures channel for d of virtual time (at least one 8-symbol
// ED measurement, 2006 §6.9.7; 2015 §10.2.5) and returns the strongest
// RSSI heard from any frame on the air during it, or NoiseFloor when the
// channel was quiet. The node receives nothing while it scans.
func (n *Node) EnergyScan(ctx context.Context, channel uint8, d time.Duration) (int8, error) {
	if channel < MinChannel || channel > MaxChannel {
		return 0, fmt.Errorf("medium: energy scan on channel %d, want %d–%d: %w", channel, MinChannel, MaxChannel, ErrChannel)
	}
	d = max(d, CCADuration)
	s := &scan{n: n, channel: channel, result: make(chan scanResult, 1)}
	m := n.m
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return 0, ErrClosed
	case n.detached:
		m.mu.Unlock()
		return 0, ErrDetached
	}
	m.scans = append(m.scans, s)
	m.call(m.clock(), n.id, func() {
		if s.finished {
			return
		}
		s.start, s.end, s.active = m.now, m.now+d, true
		n.scanning++
		n.rxing = nil
		m.schedule(s.end, prioScanEnd, n.id, func() { m.scanDone(s) })
	})
	m.mu.Unlock()
	select {
	case r := <-s.result:
		return r.rssi, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
