package l2cap

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Channel defaults.
const (
	// DefaultMTU is the SDU size a channel accepts unless configured: one
	// whole IPv6 packet of the minimum link MTU, which an IPSP channel
	// carries without 6LoWPAN fragmentation (RFC 7668 §3.2).
	DefaultMTU = 1280
	// DefaultMPS is the K-frame payload a channel accepts unless
	// configured: a 251-octet LE Data PDU (data length extension) less the
	// 4-octet basic header, so one K-frame fits one link-layer packet.
	DefaultMPS = 247
	// DefaultQueueLen is how many SDUs Send keeps waiting for credits.
	DefaultQueueLen = 8
	// MaxQueueLen bounds QueueLen.
	MaxQueueLen = 1024
)

// ChannelConfig is our side of an LE credit based channel: what we can
// receive and how much we buffer for sending.
type ChannelConfig struct {
	// MTU is the largest SDU we accept (23–65535; default 1280).
	MTU uint16
	// MPS is the largest K-frame payload we accept, SDU Length field
	// included (23–65533; default 247).
	MPS uint16
	// InitialCredits is how many K-frames the peer may send at once: the
	// grant in the connection request or response, and the level credit
	// returns restore (see Channel.CreditsToReturn). Default
	// DefaultCredits(MTU, MPS): two full SDUs.
	InitialCredits uint16
	// QueueLen is how many SDUs Send keeps waiting for credits (1–1024;
	// default 8). Memory: QueueLen SDUs of at most the peer's MTU.
	QueueLen int
}

// DefaultCredits is enough credits for two SDUs of mtu octets in K-frames
// of mps octets: 2 × ⌈(mtu+2)/mps⌉ (the 2 is the SDU Length field of the
// first K-frame), at most 65535.
func DefaultCredits(mtu, mps uint16) uint16 {
	if mps == 0 {
		return 0
	}
	per := (int(mtu) + SDULengthLen + int(mps) - 1) / int(mps)
	return uint16(min(2*per, math.MaxUint16))
}

// Validate fills in defaults for zero fields and checks the ranges.
func (c *ChannelConfig) Validate() error {
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.MPS == 0 {
		c.MPS = DefaultMPS
	}
	if c.QueueLen == 0 {
		c.QueueLen = DefaultQueueLen
	}
	switch {
	case c.MTU < MinMTU:
		return fmt.Errorf("l2cap: channel MTU %d below %d (Vol 3 Part A §4.22): %w", c.MTU, MinMTU, ErrBadParameter)
	case c.MPS < MinMPS || c.MPS > MaxMPS:
		return fmt.Errorf("l2cap: channel MPS %d outside %d–%d (Vol 3 Part A §4.22): %w", c.MPS, MinMPS, MaxMPS, ErrBadParameter)
	case c.QueueLen < 1 || c.QueueLen > MaxQueueLen:
		return fmt.Errorf("l2cap: channel queue length %d outside 1–%d: %w", c.QueueLen, MaxQueueLen, ErrBadParameter)
	}
	if c.InitialCredits == 0 {
		// Zero credits on the wire are legal but would leave the peer
		// unable to send until we grant some: the default grants two SDUs.
		c.InitialCredits = DefaultCredits(c.MTU, c.MPS)
	}
	return nil
}

// ChannelState is where a channel is in its life.
type ChannelState uint8

// Channel states.
const (
	StateConnecting    ChannelState = iota + 1 // our request sent, no response yet
	StateOpen                                  // data flows both ways
	StateDisconnecting                         // our Disconnection Request sent: data is discarded
	StateClosed                                // gone; the Channel is never reused
)

func (s ChannelState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateOpen:
		return "open"
	case StateDisconnecting:
		return "disconnecting"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ChannelStats counts one channel's traffic and troubles.
type ChannelStats struct {
	SDUsSent, KFramesSent         uint64
	SDUsReceived, KFramesReceived uint64
	// CreditStalls counts SDUs Send had to queue (whole or in part)
	// because the peer's credits ran out.
	CreditStalls uint64
	// QueueFull counts SDUs refused with ErrQueueFull.
	QueueFull uint64
	// Dropped counts queued SDUs discarded when the channel closed.
	Dropped uint64
	// ProtocolErrors counts the peer's violations of §10.1 (K-frame
	// without credits, above MPS, SDU above MTU or overrun, credit
	// overflow).
	ProtocolErrors uint64
	// CreditsGranted counts credits returned to the peer after the
	// initial grant; CreditsReceived those the peer gave us after its
	// initial grant.
	CreditsGranted, CreditsReceived uint64
}

// Peer is what the other side announced for a channel: its CID and what it
// can receive.
type Peer struct {
	CID            CID
	MTU, MPS       uint16
	InitialCredits uint16
}

// check applies the ranges of Vol 3 Part A §4.22/§4.23 to a peer's
// parameters.
func (p *Peer) check() error {
	r := LECreditConnResponse{DestinationCID: p.CID, MTU: p.MTU, MPS: p.MPS}
	return r.Check()
}

// progress is how far an SDU's transmission got.
type progress struct {
	started bool // the first K-frame (with the SDU Length) went out
	off     int  // SDU octets sent
}

func (p *progress) done(n int) bool { return p.started && p.off == n }

type txSlot struct {
	sdu []byte // a copy, capacity reused
	progress
}

// Channel is the state of one LE credit based channel (Vol 3 Part A §10.1):
// segmentation of SDUs into K-frames within the peer's MPS and credits,
// reassembly of the peer's K-frames within ours, and the credit counts of
// both directions. It does no I/O and starts no goroutine.
//
// A Channel is not safe for concurrent use: the caller serialises every
// call, together with the calls on the Signaling that owns it (Handle
// calls AddCredits) — one lock per ACL connection. Functions given to Send
// and Resume are called with that lock held: they must not call back into
// the Channel or its Signaling, and should not block for long.
//
// Memory is bounded: one receive buffer of the local MTU, one K-frame
// buffer, and QueueLen queued SDUs, all reused; Send and Receive allocate
// nothing in steady state.
type Channel struct {
	psm           PSM
	local, remote CID
	state         ChannelState
	opened        bool // reached StateOpen once
	failed        bool // EventConnectFailed reported

	cfg              ChannelConfig // ours: MTU, MPS, InitialCredits, QueueLen
	peerMTU, peerMPS uint16

	txCredits uint16 // K-frames we may send (granted by the peer)
	rxCredits uint16 // K-frames the peer may send (granted by us)

	queue  []txSlot // ring of SDUs waiting for credits
	qHead  int
	qLen   int
	kframe []byte // one K-frame being built: header + at most the peer's MPS

	rxBuf  []byte // the SDU being reassembled, cfg.MTU octets
	rxWant int    // its SDU Length
	rxHave int    // octets received so far
	rxBusy bool   // a first K-frame arrived, the SDU is incomplete

	stats ChannelStats
}

// NewChannel returns an open channel: local is our CID, peer what the other
// side announced. Signaling creates its channels itself; NewChannel is for
// a host that negotiates channels some other way, and for tests.
func NewChannel(cfg ChannelConfig, psm PSM, local CID, peer Peer) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !local.IsDynamic() {
		return nil, fmt.Errorf("l2cap: local CID %v not dynamic: %w", local, ErrBadParameter)
	}
	if err := peer.check(); err != nil {
		return nil, err
	}
	c := newChannel(cfg, psm, local)
	c.open(peer)
	return c, nil
}

// newChannel returns a channel in StateConnecting; cfg is valid.
func newChannel(cfg ChannelConfig, psm PSM, local CID) *Channel {
	return &Channel{psm: psm, local: local, state: StateConnecting, cfg: cfg, rxCredits: cfg.InitialCredits}
}

// open records the peer's parameters; peer is valid.
func (c *Channel) open(peer Peer) {
	c.remote = peer.CID
	c.peerMTU, c.peerMPS = peer.MTU, peer.MPS
	c.txCredits = peer.InitialCredits
	c.rxCredits = c.cfg.InitialCredits
	c.state, c.opened = StateOpen, true
	c.queue = make([]txSlot, c.cfg.QueueLen)
	// The largest K-frame: the peer's MPS, or a whole SDU of its MTU with
	// the SDU Length when that is smaller.
	c.kframe = make([]byte, 0, HeaderLen+min(int(peer.MPS), int(peer.MTU)+SDULengthLen))
	c.rxBuf = make([]byte, c.cfg.MTU)
}

// disconnecting stops traffic: queued SDUs are dropped and K-frames are
// discarded from now on (§4.6: after a Disconnection Request no data is
// exchanged on the channel).
func (c *Channel) disconnecting() {
	if c.state == StateOpen {
		c.state = StateDisconnecting
	}
	c.dropQueue()
}

func (c *Channel) close() {
	c.state = StateClosed
	c.dropQueue()
	c.rxBusy = false
}

func (c *Channel) dropQueue() {
	c.stats.Dropped += uint64(c.qLen)
	c.qHead, c.qLen = 0, 0
}

// PSM is the channel's LE PSM.
func (c *Channel) PSM() PSM { return c.psm }

// LocalCID is our endpoint: the CID the peer's K-frames carry.
func (c *Channel) LocalCID() CID { return c.local }

// RemoteCID is the peer's endpoint: the CID our K-frames carry (0 until the
// channel opens).
func (c *Channel) RemoteCID() CID { return c.remote }

// State is the channel's state.
func (c *Channel) State() ChannelState { return c.state }

// LocalMTU and LocalMPS are what we receive.
func (c *Channel) LocalMTU() uint16 { return c.cfg.MTU }

// LocalMPS is the largest K-frame payload we accept.
func (c *Channel) LocalMPS() uint16 { return c.cfg.MPS }

// RemoteMTU is the largest SDU the peer accepts: the largest Send takes.
func (c *Channel) RemoteMTU() uint16 { return c.peerMTU }

// RemoteMPS is the largest K-frame payload the peer accepts.
func (c *Channel) RemoteMPS() uint16 { return c.peerMPS }

// Credits is how many K-frames we may still send.
func (c *Channel) Credits() uint16 { return c.txCredits }

// PeerCredits is how many K-frames the peer may still send us.
func (c *Channel) PeerCredits() uint16 { return c.rxCredits }

// Pending is how many SDUs wait in the queue (the first may be partly
// sent).
func (c *Channel) Pending() int { return c.qLen }

// Stats returns a copy of the counters.
func (c *Channel) Stats() ChannelStats { return c.stats }

func (c *Channel) String() string {
	return fmt.Sprintf("L2CAP %v channel %v↔%v (%v)", c.psm, c.local, c.remote, c.state)
}

// KFrames is how many K-frames an SDU of n octets takes at a given MPS:
// ⌈(n+2)/mps⌉ (§3.4: the first carries the 2-octet SDU Length).
func KFrames(n int, mps uint16) int {
	if mps == 0 {
		return 0
	}
	return (n + SDULengthLen + int(mps) - 1) / int(mps)
}

// Send segments sdu into K-frames for the peer and hands each to emit,
// whole (basic header with the remote CID, the SDU Length in the first,
// each payload at most the peer's MPS; §3.4), one credit per K-frame
// (§10.1). emit's argument is valid only during the call.
//
// Send never waits for credits. When they run out, the rest of the SDU is
// copied into the channel's queue and goes out, in order, from Resume
// (call it after AddCredits). SDUs already queued go first; a new SDU is
// queued behind them.
//
// sent counts the K-frames emitted during the call (queued SDUs' included).
// The SDU was refused — nothing of it sent or kept — only when err wraps
// ErrClosed, ErrSDUTooLarge (above the peer's MTU) or ErrQueueFull. Any
// other error is emit's: transmission stopped at the K-frame emit refused,
// the SDU is kept in the queue, and Resume retries that K-frame.
func (c *Channel) Send(sdu []byte, emit func(kframe []byte) error) (sent int, err error) {
	if c.state != StateOpen {
		return 0, fmt.Errorf("l2cap: send on channel %v (%v): %w", c.local, c.state, ErrClosed)
	}
	if len(sdu) > int(c.peerMTU) {
		return 0, fmt.Errorf("l2cap: SDU of %d octets on channel %v, peer MTU %d: %w", len(sdu), c.local, c.peerMTU, ErrSDUTooLarge)
	}
	if c.qLen > 0 {
		sent, err = c.Resume(emit)
		if c.qLen > 0 {
			if c.qLen == len(c.queue) {
				c.stats.QueueFull++
				return sent, fmt.Errorf("l2cap: channel %v: %d SDUs wait for credits: %w", c.local, c.qLen, ErrQueueFull)
			}
			if err == nil {
				c.stats.CreditStalls++
			}
			c.enqueue(sdu, progress{})
			return sent, err
		}
	}
	var p progress
	n, err := c.sendFrom(sdu, &p, emit)
	sent += n
	if p.done(len(sdu)) {
		c.stats.SDUsSent++
		return sent, nil
	}
	// The queue is empty here: there is room.
	if err == nil {
		c.stats.CreditStalls++
	}
	c.enqueue(sdu, p)
	return sent, err
}

// Resume sends queued SDUs while credits last, in order. sent counts the
// K-frames emitted; an error is emit's (the K-frame it refused is retried
// by the next Resume).
func (c *Channel) Resume(emit func(kframe []byte) error) (sent int, err error) {
	if c.state != StateOpen {
		return 0, nil
	}
	for c.qLen > 0 {
		s := &c.queue[c.qHead]
		n, err := c.sendFrom(s.sdu, &s.progress, emit)
		sent += n
		if err != nil || !s.done(len(s.sdu)) {
			return sent, err
		}
		c.stats.SDUsSent++
		c.qHead = (c.qHead + 1) % len(c.queue)
		c.qLen--
	}
	return sent, nil
}

func (c *Channel) enqueue(sdu []byte, p progress) {
	s := &c.queue[(c.qHead+c.qLen)%len(c.queue)]
	s.sdu = append(s.sdu[:0], sdu...)
	s.progress = p
	c.qLen++
}

// sendFrom emits sdu's K-frames from p on while credits last.
func (c *Channel) sendFrom(sdu []byte, p *progress, emit func([]byte) error) (n int, err error) {
	mps := int(c.peerMPS)
	for !p.done(len(sdu)) {
		if c.txCredits == 0 {
			return n, nil
		}
		k := AppendPDUHeader(c.kframe[:0], 0, c.remote)
		var chunk int
		if !p.started {
			// §3.4: the first K-frame of an SDU carries its length.
			chunk = min(mps-SDULengthLen, len(sdu))
			k = binary.LittleEndian.AppendUint16(k, uint16(len(sdu)))
			k = append(k, sdu[:chunk]...)
		} else {
			chunk = min(mps, len(sdu)-p.off)
			k = append(k, sdu[p.off:p.off+chunk]...)
		}
		binary.LittleEndian.PutUint16(k[pduLengthOffset:], uint16(len(k)-HeaderLen))
		if err := emit(k); err != nil {
			return n, fmt.Errorf("l2cap: channel %v: emitting a K-frame: %w", c.local, err)
		}
		c.txCredits--
		c.stats.KFramesSent++
		n++
		p.started = true
		p.off += chunk
	}
	return n, nil
}

// AddCredits records credits the peer granted in a Flow Control Credit Ind
// (§4.24). A total above 65535 is a protocol error (§10.1): the error
// wraps ErrProtocol and ErrCreditOverflow, the credits are not added, and
// the caller must disconnect the channel. Call Resume afterwards to send
// what waits.
func (c *Channel) AddCredits(n uint16) error {
	if int(c.txCredits)+int(n) > math.MaxUint16 {
		c.stats.ProtocolErrors++
		return fmt.Errorf("l2cap: channel %v: %d credits held, %d more: %w: %w", c.local, c.txCredits, n, ErrProtocol, ErrCreditOverflow)
	}
	c.txCredits += n
	c.stats.CreditsReceived += uint64(n)
	return nil
}

// Receive takes the information payload of one K-frame addressed to the
// channel (the PDU's payload, basic header removed) and reassembles SDUs
// (§3.4, §10.1). When the K-frame completes an SDU, done is true and sdu
// holds it: it stays valid until the next call to Receive.
//
// Errors wrapping ErrProtocol are the peer's violations, after which §10.1
// requires the channel to be disconnected: a K-frame while the peer held
// no credits (ErrNoCredits), a payload above our MPS (ErrMPSExceeded), an
// SDU Length above our MTU (ErrMTUExceeded), K-frames carrying more than
// the SDU Length (ErrSDUOverrun), or a first K-frame too short for the SDU
// Length (ErrTruncated). The SDU being reassembled is dropped. On a channel
// that is not open, K-frames are discarded with ErrClosed.
func (c *Channel) Receive(kframe []byte) (sdu []byte, done bool, err error) {
	if c.state != StateOpen {
		return nil, false, fmt.Errorf("l2cap: K-frame on channel %v (%v) discarded: %w", c.local, c.state, ErrClosed)
	}
	c.stats.KFramesReceived++
	if c.rxCredits == 0 {
		return c.violation(ErrNoCredits, "%d octets", len(kframe))
	}
	c.rxCredits--
	if len(kframe) > int(c.cfg.MPS) {
		return c.violation(ErrMPSExceeded, "%d octets, MPS %d", len(kframe), c.cfg.MPS)
	}
	data := kframe
	if !c.rxBusy {
		if len(kframe) < SDULengthLen {
			return c.violation(ErrTruncated, "first K-frame of %d octets", len(kframe))
		}
		n := int(binary.LittleEndian.Uint16(kframe))
		if n > int(c.cfg.MTU) {
			return c.violation(ErrMTUExceeded, "SDU length %d, MTU %d", n, c.cfg.MTU)
		}
		data = kframe[SDULengthLen:]
		c.rxWant, c.rxHave, c.rxBusy = n, 0, true
	}
	if c.rxHave+len(data) > c.rxWant {
		return c.violation(ErrSDUOverrun, "%d octets after %d of %d", len(data), c.rxHave, c.rxWant)
	}
	c.rxHave += copy(c.rxBuf[c.rxHave:], data)
	if c.rxHave < c.rxWant {
		return nil, false, nil
	}
	c.rxBusy = false
	c.stats.SDUsReceived++
	return c.rxBuf[:c.rxWant], true, nil
}

func (c *Channel) violation(kind error, format string, args ...any) ([]byte, bool, error) {
	c.rxBusy = false
	c.stats.ProtocolErrors++
	return nil, false, fmt.Errorf("l2cap: channel %v: "+format+": %w: %w", append(append([]any{c.local}, args...), ErrProtocol, kind)...)
}

// CreditsToReturn implements the credit policy of the receiving side and
// reports how many credits to give back in a Flow Control Credit Ind
// (§4.24) now; 0 means none. The returned credits count as granted from
// this call on, so the caller must send them (Signaling.AppendCredits
// builds the indication).
//
// Policy: the peer starts with InitialCredits; each K-frame it sends uses
// one. Once what it holds falls to half the initial grant or below, all
// the used credits are returned at once, restoring the initial grant. So
// the peer holds at most InitialCredits (we never grant more than our one
// reassembly buffer and the host's queue were sized for), it is never left
// without credits once a K-frame has been consumed (with a grant of 1 the
// credit comes back after every K-frame), and indications go out at most
// once per half grant rather than per K-frame. Receive consumes K-frames
// synchronously into the channel's buffer, so credits are returned as soon
// as K-frames are received; call this after every Receive.
func (c *Channel) CreditsToReturn() uint16 {
	if c.state != StateOpen || c.rxCredits > c.cfg.InitialCredits/2 {
		return 0
	}
	n := c.cfg.InitialCredits - c.rxCredits
	c.rxCredits += n
	c.stats.CreditsGranted += uint64(n)
	return n
}
