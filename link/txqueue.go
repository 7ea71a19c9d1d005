package link

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// Class orders a link's transmit queue.
type Class uint8

const (
	// ClassData is ordinary traffic: round-robin between destinations.
	ClassData Class = iota
	// ClassControl is neighbour discovery (and RPL when it lands): ahead
	// of all data, so that a node can register and find its router while
	// a bulk flow saturates the link.
	ClassControl
)

// Observer takes one measurement (a prometheus.Histogram fits).
type Observer interface{ Observe(float64) }

// SendOptions qualify one packet handed to Send.
type SendOptions struct {
	Class Class
	// Since and Latency: when both are set, the seconds from Since to the
	// transmit done of the packet's last frame are observed.
	Since   time.Time
	Latency Observer
}

// Errors of Send and SendWait callers branch on.
var (
	// ErrQueueFull: the link's transmit queue (or the destination's share
	// of it) is full; the packet was dropped and counted.
	ErrQueueFull = errors.New("transmit queue full")
	// ErrExpired: the packet waited in the queue longer than the link's
	// MaxQueueDelay and was dropped.
	ErrExpired = errors.New("transmit queue delay exceeded")
	// ErrStopped: the link stopped before the packet was sent.
	ErrStopped = errors.New("link stopped")
)

// QueueConfig bounds a link's transmit queue. Zero values take the
// defaults.
type QueueConfig struct {
	// Datagrams is the number of packets the queue holds, all
	// destinations together (default 64).
	Datagrams int
	// PerDestination is the number one destination may hold (default a
	// quarter of Datagrams, at least 4): a bulk flow to one node leaves
	// room for the others.
	PerDestination int
	// Control is the room kept for ClassControl packets beyond Datagrams
	// (default 16).
	Control int
	// MaxDelay drops packets that waited longer (default 2 s): a queue
	// behind a dead neighbour must not hold packets past any use (TCP
	// and ping give up long before).
	MaxDelay time.Duration
}

func (c *QueueConfig) setDefaults() {
	if c.Datagrams <= 0 {
		c.Datagrams = 64
	}
	if c.PerDestination <= 0 {
		c.PerDestination = max(c.Datagrams/4, 4)
	}
	if c.Control <= 0 {
		c.Control = 16
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 2 * time.Second
	}
}

// QueueStats counts a transmit queue's outcomes; every counter only
// grows except Queued.
type QueueStats struct {
	Enqueued uint64
	// Dropped by reason.
	DroppedFull, DroppedExpired, DroppedStopped uint64
	// Queued is the number of packets waiting now.
	Queued int
}

// maxFrames bounds the frames of one datagram: a 1280-octet packet
// uncompressed, after a FRAG1 and FRAGNs of at least 80 octets each (the
// smallest room a 2006 frame with extended addresses and no PAN ID
// compression leaves, IEEE 802.15.4-2020 §7.2: 127 − 2 − 1 − 4 − 16 − 2,
// less the 5-octet FRAGN header, rounded down to a multiple of 8).
const maxFrames = 18

// datagram is one packet on its way through the queue: the frames it was
// encoded into (each a complete PSDU with room for the FCS, or one SDU on
// a BLE link), and where it stands. Datagrams come from the queue's free
// list and go back to it; none is allocated once the list is full.
type datagram struct {
	dst     lowpan.LinkAddr
	opts    SendOptions
	queued  time.Time
	n, next int // frames, and the first not yet sent
	size    int // the IPv6 packet's octets, uncompressed
	end     [maxFrames]uint16
	buf     [maxFrames * ieee802154.MaxPSDU]byte
	scratch [lowpan.ScratchSize]byte
	// wait is set for SendWait: the outcome goes to done, and the
	// datagram returns to the free list only when both the sender and the
	// waiter let go of it (refs).
	wait  bool
	done  chan error
	refs  atomic.Int32
	after *datagram // the next in the FIFO it waits in
}

// frame returns frame i.
func (d *datagram) frame(i int) []byte {
	start := 0
	if i > 0 {
		start = int(d.end[i-1])
	}
	return d.buf[start:d.end[i]]
}

// room returns the free part of the buffer, empty, for the next frame.
func (d *datagram) room() []byte {
	if d.n == maxFrames {
		return nil
	}
	start := 0
	if d.n > 0 {
		start = int(d.end[d.n-1])
	}
	return d.buf[start:start]
}

// commit records a frame written at room(): f must start there.
func (d *datagram) commit(f []byte) error {
	start := 0
	if d.n > 0 {
		start = int(d.end[d.n-1])
	}
	if d.n == maxFrames || len(f) == 0 || start+len(f) > len(d.buf) || &f[0] != &d.buf[start] {
		return errTooManyFrames
	}
	d.end[d.n] = uint16(start + len(f))
	d.n++
	return nil
}

// appendFrame builds one 802.15.4 frame (h and payload) as the
// datagram's next frame, with two placeholder octets for the FCS: the
// radio computes it (radio.Radio.Transmit; OpenThread's RCP overwrites
// what the host sends, examples/platforms/simulation/radio.c
// radioSendMessage → radioComputeCrc, and radio hardware appends its
// own), so computing it here would only cost time.
func (d *datagram) appendFrame(h *ieee802154.Header, payload []byte) error {
	f, err := ieee802154.AppendFrame(d.room(), h, payload, false)
	if err != nil {
		return err
	}
	return d.commit(append(f, 0, 0))
}

var errTooManyFrames = errors.New("packet needs more frames than a datagram holds")

// fifo is a singly linked queue of datagrams.
type fifo struct{ head, tail *datagram }

func (q *fifo) push(d *datagram) {
	d.after = nil
	if q.tail == nil {
		q.head = d
	} else {
		q.tail.after = d
	}
	q.tail = d
}

func (q *fifo) pop() *datagram {
	d := q.head
	if d != nil {
		q.head = d.after
		if q.head == nil {
			q.tail = nil
		}
		d.after = nil
	}
	return d
}

// flow is one destination's share of the queue.
type flow struct {
	dst    lowpan.LinkAddr
	q      fifo
	n      int
	active bool // in the round-robin ring
}

// txQueue is a link's transmit queue: packets are encoded into frames by
// the caller of Send (which never waits for the air) and sent by the
// link's one sender goroutine. Scheduling, per frame:
//   - control (ND) first, each control datagram whole;
//   - then the destinations in turn, one frame each (RFC 4944 §5.3
//     reassembly is keyed by sender, size and tag, so the fragments of
//     datagrams to different nodes may interleave): a bulk flow to one
//     node delays a ping to another by one frame, not by a whole
//     datagram;
//   - within a destination, datagrams in order, the one started first.
//
// The lock guards the queue's structure only; encoding happens outside
// it, in the caller's datagram.
type txQueue struct {
	cfg  QueueConfig
	wake chan struct{} // one token: something was queued

	mu      sync.Mutex
	free    []*datagram
	control fifo
	nCtl    int
	flows   map[lowpan.LinkAddr]*flow
	spare   []*flow // flows no destination uses, for reuse
	ring    []*flow // active flows, round robin
	turn    int
	queued  int
	stopped bool

	stats QueueStats
}

func newTxQueue(cfg QueueConfig) *txQueue {
	cfg.setDefaults()
	return &txQueue{cfg: cfg, wake: make(chan struct{}, 1), flows: make(map[lowpan.LinkAddr]*flow)}
}

// get reserves a datagram for a packet to dst of class c, or fails with
// ErrQueueFull (counted) when the class's or the destination's share is
// used up.
func (q *txQueue) get(dst lowpan.LinkAddr, c Class) (*datagram, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		q.stats.DroppedStopped++
		return nil, ErrStopped
	}
	data := q.queued - q.nCtl
	if c == ClassControl {
		if q.nCtl >= q.cfg.Control && data >= q.cfg.Datagrams {
			q.stats.DroppedFull++
			return nil, ErrQueueFull
		}
	} else {
		if data >= q.cfg.Datagrams {
			q.stats.DroppedFull++
			return nil, ErrQueueFull
		}
		if f := q.flows[dst]; f != nil && f.n >= q.cfg.PerDestination {
			q.stats.DroppedFull++
			return nil, ErrQueueFull
		}
	}
	var d *datagram
	if n := len(q.free); n > 0 {
		d, q.free = q.free[n-1], q.free[:n-1]
	} else {
		d = &datagram{done: make(chan error, 1)}
	}
	// Reserve the room now: a packet being encoded counts, so that
	// concurrent senders cannot overfill a share.
	q.queued++
	if c == ClassControl {
		q.nCtl++
	} else {
		f := q.flow(dst)
		f.n++
	}
	d.dst, d.n, d.next, d.wait, d.opts = dst, 0, 0, false, SendOptions{Class: c}
	return d, nil
}

// flow returns dst's flow, making it.
func (q *txQueue) flow(dst lowpan.LinkAddr) *flow {
	f := q.flows[dst]
	if f == nil {
		if n := len(q.spare); n > 0 {
			f, q.spare = q.spare[n-1], q.spare[:n-1]
			*f = flow{dst: dst}
		} else {
			f = &flow{dst: dst}
		}
		q.flows[dst] = f
	}
	return f
}

// forget drops an idle flow from the table, keeping it for reuse. Called
// with mu held.
func (q *txQueue) forget(f *flow) {
	delete(q.flows, f.dst)
	q.spare = append(q.spare, f)
}

// cancel gives back a datagram reserved by get that will not be queued
// (the packet could not be encoded).
func (q *txQueue) cancel(d *datagram) {
	q.mu.Lock()
	q.release(d)
	q.free = append(q.free, d)
	q.mu.Unlock()
}

// waitFor marks d as awaited by a SendWait caller, before it is queued.
func (d *datagram) waitFor() {
	d.wait = true
	d.refs.Store(2)
	select { // an outcome left over from d's previous life
	case <-d.done:
	default:
	}
}

// release undoes get's accounting for d. Called with mu held.
func (q *txQueue) release(d *datagram) {
	q.queued--
	if d.opts.Class == ClassControl {
		q.nCtl--
		return
	}
	if f := q.flows[d.dst]; f != nil {
		f.n--
		if f.n == 0 && !f.active {
			q.forget(f)
		}
	}
}

// put queues an encoded datagram and wakes the sender; after the sender
// stopped it drops it (ErrStopped).
func (q *txQueue) put(d *datagram, now time.Time) error {
	d.queued = now
	q.mu.Lock()
	if q.stopped {
		q.stats.DroppedStopped++
		q.release(d)
		d.wait = false // nobody waits: the caller gets ErrStopped now
		q.free = append(q.free, d)
		q.mu.Unlock()
		return ErrStopped
	}
	q.stats.Enqueued++
	if d.opts.Class == ClassControl {
		q.control.push(d)
	} else {
		f := q.flow(d.dst)
		f.q.push(d)
		if !f.active {
			f.active = true
			q.ring = append(q.ring, f)
		}
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// nextFrame picks the datagram whose frame goes on air next, dropping
// expired ones into expired (their waiters are told by the caller). It
// returns nil when nothing waits.
//
// The clock is read only when a datagram is about to start: the frames
// after its first need no expiry check, and this runs on the radio's
// goroutine once per frame.
func (q *txQueue) nextFrame(expired *[]*datagram) *datagram {
	q.mu.Lock()
	defer q.mu.Unlock()
	var now time.Time
	stale := func(d *datagram) bool {
		if d.next != 0 {
			return false
		}
		if now.IsZero() {
			now = time.Now()
		}
		return now.Sub(d.queued) > q.cfg.MaxDelay
	}
	for d := q.control.head; d != nil; d = q.control.head {
		if stale(d) {
			q.control.pop()
			q.stats.DroppedExpired++
			*expired = append(*expired, d)
			continue
		}
		return d
	}
	for len(q.ring) > 0 {
		if q.turn >= len(q.ring) {
			q.turn = 0
		}
		f := q.ring[q.turn]
		d := f.q.head
		if d != nil && stale(d) {
			f.q.pop()
			q.stats.DroppedExpired++
			*expired = append(*expired, d)
			d = f.q.head
		}
		if d == nil {
			// The flow has nothing left: out of the ring.
			f.active = false
			q.ring = append(q.ring[:q.turn], q.ring[q.turn+1:]...)
			if f.n == 0 {
				q.forget(f)
			}
			continue
		}
		q.turn++ // the next destination's turn after this frame
		return d
	}
	return nil
}

// finish takes d out of its FIFO (its last frame was sent, or it failed)
// and back to the free list after its waiter, if any, was told.
func (q *txQueue) finish(d *datagram) {
	q.mu.Lock()
	if d.opts.Class == ClassControl {
		if q.control.head == d {
			q.control.pop()
		}
	} else if f := q.flows[d.dst]; f != nil && f.q.head == d {
		f.q.pop()
	}
	q.release(d)
	q.mu.Unlock()
	q.giveBack(d)
}

// recycle returns a datagram that was already taken out of its FIFO
// (expired) to the free list.
func (q *txQueue) recycle(d *datagram) {
	q.mu.Lock()
	q.release(d)
	q.mu.Unlock()
	q.giveBack(d)
}

// giveBack returns d to the free list once nobody holds it: the sender
// always, a SendWait caller too until it has its outcome.
func (q *txQueue) giveBack(d *datagram) {
	if d.wait && d.refs.Add(-1) > 0 {
		return
	}
	q.mu.Lock()
	q.free = append(q.free, d)
	q.mu.Unlock()
}

// stop refuses new packets and takes every waiting one out, for the
// sender to end.
func (q *txQueue) stop(out *[]*datagram) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	for d := q.control.pop(); d != nil; d = q.control.pop() {
		*out = append(*out, d)
	}
	for _, f := range q.ring {
		for d := f.q.pop(); d != nil; d = f.q.pop() {
			*out = append(*out, d)
		}
		f.active = false
	}
	q.ring = q.ring[:0]
	q.stats.DroppedStopped += uint64(len(*out))
}

// restart accepts packets again (a link's Run called anew).
func (q *txQueue) restart() {
	q.mu.Lock()
	q.stopped = false
	q.mu.Unlock()
}

// pending reports whether anything waits to be sent.
func (q *txQueue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.control.head != nil || len(q.ring) > 0
}

func (q *txQueue) snapshot() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Queued = q.queued
	return s
}

// tell reports the outcome of d to its waiter (done has room for it:
// one outcome per life of d).
func tell(d *datagram, err error) {
	if d.wait {
		d.done <- err
	}
}
