package medium

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Sentinel errors. Errors returned by this package wrap one of them, or
// are a context's error.
var (
	// ErrClosed: the medium was closed (Close, or Run returned).
	ErrClosed = errors.New("medium: closed")
	// ErrDetached: the node was detached.
	ErrDetached = errors.New("medium: node detached")
	// ErrCanceled: the transmission was cancelled before its outcome was
	// known.
	ErrCanceled = errors.New("medium: transmission canceled")
	// ErrFrameLength: a PSDU shorter than 4 octets (frame control and
	// FCS) or longer than 127 (aMaxPhyPacketSize).
	ErrFrameLength = errors.New("medium: PSDU length out of range")
	// ErrChannel: a channel outside 11–26, the 2.4 GHz O-QPSK channels.
	ErrChannel = errors.New("medium: channel out of range")
	// ErrRunning: Run was called while another Run is under way.
	ErrRunning = errors.New("medium: already running")
)

// Channels of the 2.4 GHz O-QPSK PHY (2006 §6.1.2; 2015 §10.1.2.2).
const (
	MinChannel = 11
	MaxChannel = 26
)

// DefaultRSSI is the RSSI (dBm) of links that nobody configured when
// Config.DefaultLink is the zero Link.
const DefaultRSSI = -50

// DefaultRxQueueLen is the size of a node's reception queue when
// NodeConfig.RxQueueLen is zero.
const DefaultRxQueueLen = 64

// Config configures a Medium.
type Config struct {
	// Seed seeds the medium's random number generator (CSMA backoffs,
	// link losses). Same seed, same calls: same results.
	Seed uint64
	// TimeScale relates virtual time to the wall clock: 1 is real time,
	// 0.5 half speed, 0 (or negative) as fast as possible: virtual time
	// jumps to the next event at once.
	TimeScale float64
	// DefaultLink applies to every directed pair of nodes without a
	// SetLink. The zero Link means {RSSI: DefaultRSSI}: in range, lossless.
	DefaultLink Link
	// Logger receives attach, detach and ZEP peer events; nil discards.
	Logger *slog.Logger
	// Epoch is the wall-clock time of virtual time 0, used for ZEP
	// timestamps; zero means the time New was called.
	Epoch time.Time
	// ZEPNoAutoAck stops the medium from sending Imm-Acks on behalf of
	// ZEP peers (see ServeZEP).
	ZEPNoAutoAck bool
}

// Link describes one direction between two nodes.
type Link struct {
	// Loss is the probability (0–1) that a frame which did not collide
	// is still lost on this link.
	Loss float64
	// RSSI is the received signal strength at the receiver, in dBm; LQI
	// follows from it (LQIFromRSSI).
	RSSI int8
	// Disconnected puts the receiver out of range: it neither receives
	// the sender's frames nor senses them in CCA or an energy scan.
	Disconnected bool
}

// Stats counts what happened on the medium since New.
type Stats struct {
	Frames                uint64 // PPDUs put on the air, ACKs included
	Acks                  uint64 // Imm-Acks sent by the medium for its nodes
	Collisions            uint64 // receptions lost because frames overlapped at the receiver
	Losses                uint64 // receptions lost to a link's loss probability
	Delivered             uint64 // receptions handed to a node's queue
	Filtered              uint64 // receptions rejected: bad FCS, undecodable, not for the node
	RxDropped             uint64 // receptions dropped because a node's queue was full
	CCABusy               uint64 // clear channel assessments that found the channel busy
	ChannelAccessFailures uint64 // transmissions that gave up after macMaxCSMABackoffs
	Retries               uint64 // retransmissions after a missing ACK
	NoAcks                uint64 // transmissions that ended without an ACK
	ZEPIn                 uint64 // ZEP data messages taken from peers
	ZEPOut                uint64 // ZEP messages sent to peers
	ZEPErrors             uint64 // undecodable ZEP datagrams and failed sends to peers
	ZEPPeersGone          uint64 // peers forgotten: port closed, or their EUI-64 heard from another peer
	ZEPDropped            uint64 // frames for or from peers dropped on a full queue
	MirrorSent            uint64 // ZEP messages sent by Mirror
	MirrorErrors          uint64 // Mirror messages that could not be sent or queued
}

// Medium is a simulated IEEE 802.15.4 2.4 GHz channel set shared by nodes.
// Create it with New, start its event loop with Run, and attach nodes.
// All methods are safe for concurrent use.
type Medium struct {
	cfg   Config
	log   *slog.Logger
	scale float64
	epoch time.Time

	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	running     bool
	now         time.Duration // virtual time of the event being or last processed
	holds       int
	heldAt      time.Duration
	anchorWall  time.Time // wall and virtual times that correspond, for TimeScale > 0
	anchorVirt  time.Duration
	events      eventQueue
	seq         uint64
	rng         *rand.Rand
	nodes       []*Node // attached, in attach order
	nextID      int
	links       map[[2]int]Link
	air         []*airFrame // frames on the air or recently ended
	scans       []*scan
	nextFrameID uint64
	mirrors     []*mirror
	taps        []*tap
	stats       Stats
	sleep       loopSleep // how the event loop sleeps, while Run runs

	// Set by tests before Run: newWaker replaces the system's waker;
	// lateness is told how late by the wall clock each event ran in
	// scaled time (called with m.mu held).
	newWaker func() waker
	lateness func(late time.Duration, ev *event)
}

// New returns a medium. Nothing happens in it until Run is called.
func New(cfg Config) *Medium {
	m := &Medium{
		cfg:   cfg,
		log:   cfg.Logger,
		scale: max(cfg.TimeScale, 0),
		epoch: cfg.Epoch,
		done:  make(chan struct{}),
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		links: make(map[[2]int]Link),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.epoch.IsZero() {
		m.epoch = time.Now()
	}
	if m.cfg.DefaultLink == (Link{}) {
		m.cfg.DefaultLink = Link{RSSI: DefaultRSSI}
	}
	return m
}

// Close stops the medium: Run returns, pending transmissions and scans fail
// with ErrClosed, every node's reception channel is closed and Mirror's
// goroutines end. It is idempotent and waits for those goroutines.
func (m *Medium) Close() error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.done)
		for _, n := range m.nodes {
			m.shutdownNode(n, ErrClosed)
		}
		m.nodes = nil
		m.events = nil
		for _, s := range m.scans {
			s.finish(0, ErrClosed)
		}
		m.scans = nil
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// Now returns the virtual time since the medium started.
func (m *Medium) Now() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.clock()
}

// clock is the virtual time at which a call made now takes effect. With
// TimeScale 0 it is the time of the last event; in scaled time it follows
// the wall clock but never goes back. Callers hold m.mu.
func (m *Medium) clock() time.Duration {
	switch {
	case m.holds > 0:
		return m.heldAt
	case m.scale == 0 || !m.running:
		return m.now
	}
	v := m.anchorVirt + time.Duration(float64(time.Since(m.anchorWall))*m.scale)
	return max(v, m.now)
}

// Hold freezes virtual time until release is called: calls made meanwhile
// (Transmit, StartTransmit, EnergyScan) all take effect at the same
// virtual instant, and events at that instant are ordered by node (attach
// order), not by which goroutine called first. Use it to start several
// transmissions "at once" deterministically, since with TimeScale 0 the
// loop otherwise races ahead between two calls. Holds nest; release is
// idempotent. A Transmit called while held blocks until release. In scaled
// time the virtual clock stands still while held and resumes from the same
// instant.
func (m *Medium) Hold() (release func()) {
	m.mu.Lock()
	// At TimeScale 0 virtual time runs as fast as events are processed:
	// let what is already queued happen first, so that the held instant
	// does not depend on how far the event loop got (determinism under a
	// seed). Bounded, in case events keep coming.
	for start := time.Now(); m.scale == 0 && m.holds == 0 && len(m.events) > 0 && m.running && !m.closed && time.Since(start) < 100*time.Millisecond; {
		m.wakeNow()
		m.mu.Unlock()
		time.Sleep(20 * time.Microsecond)
		m.mu.Lock()
	}
	m.catchUp()
	if m.holds == 0 {
		m.heldAt = m.clock()
	}
	m.holds++
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			m.holds--
			if m.holds == 0 {
				m.anchorVirt, m.anchorWall = m.heldAt, time.Now()
				m.released()
			}
			m.mu.Unlock()
		})
	}
}

// SetLink sets the directed link from one node to another (what "to"
// hears of "from").
func (m *Medium) SetLink(from, to *Node, l Link) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catchUp()
	m.links[[2]int{from.id, to.id}] = l
}

// Link returns the directed link from one node to another.
func (m *Medium) Link(from, to *Node) Link {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.link(from, to)
}

func (m *Medium) link(from, to *Node) Link {
	if l, ok := m.links[[2]int{from.id, to.id}]; ok {
		return l
	}
	return m.cfg.DefaultLink
}

// Stats returns a snapshot of the medium's counters.
func (m *Medium) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catchUp()
	return m.stats
}

// Nodes returns the attached nodes in attach order, ZEP peers included.
func (m *Medium) Nodes() []*Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Node(nil), m.nodes...)
}

// Event ordering at one instant: receptions complete before ACK timeouts
// look for them, CCAs and frame starts come next, calls from outside last.
// Between nodes, attach order decides; within a node, scheduling order.
// None of it depends on goroutine scheduling, which keeps runs repeatable.
type eventPrio uint8

const (
	prioFrameEnd eventPrio = iota
	prioAckTimeout
	prioCCA
	prioFrameStart
	prioScanEnd
	prioCall
)

type event struct {
	at time.Duration
	// visible is the earliest virtual time at which the event, or any
	// event it leads to, can change something outside the medium (a
	// reception handed over, a transmission's outcome, a ZEP or mirror
	// message): in scaled time the loop runs it by then, not necessarily
	// at its moment (see loop.go). Never before at.
	visible time.Duration
	// dead: the event no longer does anything (a timeout whose wait
	// ended); in scaled time it is dropped without a wake-up.
	dead bool
	// cca is the transmission whose CCA ends with this event; when the
	// channel stays idle its first visible consequence is idleVisible, the
	// frame's end (quietCCA).
	cca         *Tx
	idleVisible time.Duration
	prio        eventPrio
	node        int
	seq         uint64
	fn          func()
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	switch {
	case a.at != b.at:
		return a.at < b.at
	case a.prio != b.prio:
		return a.prio < b.prio
	case a.node != b.node:
		return a.node < b.node
	}
	return a.seq < b.seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// chance draws a Bernoulli trial with probability p, consuming a random
// number only when the outcome is in doubt.
func (m *Medium) chance(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	return m.rng.Float64() < p
}

// airFrame is one PPDU on the air.
type airFrame struct {
	id      uint64
	src     *Node
	channel uint8
	start   time.Duration
	end     time.Duration
	psdu    []byte
	onEnd   func()
}

// mirror is one Mirror destination.
type mirror struct {
	conn *net.UDPConn
	to   netip.AddrPort
	out  chan zepItem
}

// zepItem is a frame queued for a ZEP writer.
type zepItem struct {
	to       netip.AddrPort
	channel  uint8
	deviceID uint16
	lqi      uint8
	at       time.Duration
	psdu     []byte
}
