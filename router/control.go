package router

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
)

// The control path: neighbour discovery received from the mesh (and RPL
// once it lands) is not answered on the link's receive goroutine. Each
// message is admitted or dropped there, at the cost of a registry lookup
// and a token bucket, copied into a bounded queue, and handled by one
// control worker that builds the replies and queues them on the link as
// ClassControl. A flood of registrations then costs the receive loop
// almost nothing, and the air carries only the replies the admission
// allowed.
//
// Admission: a registered neighbour (its link-layer address holds a
// registration made over this link, and the message's IPv6 source is its
// own: the link-local address of that link-layer address or an address it
// registered) has a token bucket of its own and a queue served first.
// Everybody else — a node joining, or an attacker spoofing a new address
// for every frame — is a stranger: a bucket per link-layer address and one
// per IPv6 source, and one budget for all strangers together, so that a
// flood from spoofed sources costs at most the budget's replies however
// many sources it makes up. The worker takes the neighbours' queue first.

// ControlConfig bounds the control path. Zero values take the defaults.
type ControlConfig struct {
	// Queue is the number of received messages waiting for the control
	// worker, for registered neighbours and for strangers each
	// (DefaultControlQueue: enough for the strangers' whole burst, so
	// that a burst the budget admits is not dropped again on a full
	// queue while the worker is busy; 96 × 1280 octets × 2 classes, 240 KiB).
	Queue int
	// NeighborRate and NeighborBurst bound each registered neighbour
	// (DefaultNeighborRate, DefaultNeighborBurst): enough for a 6LR
	// relaying the registrations (EDAR) of many children at once.
	NeighborRate, NeighborBurst float64
	// SourceRate and SourceBurst bound each stranger, by link-layer
	// address and by IPv6 source each (DefaultSourceRate,
	// DefaultSourceBurst): a node joining sends an RS and an NS or two
	// (RFC 6775 §5.3, §5.5), three with an RFC 8928 proof.
	SourceRate, SourceBurst float64
	// StrangerRate and StrangerBurst bound all strangers together
	// (DefaultStrangerRate, DefaultStrangerBurst): what a flood from
	// spoofed sources can cost, in replies on the air. A larger burst
	// helps many nodes joining at once — measured on the daemon with 30
	// RFC 8928 nodes (RS, NS, proof NS each): burst 30 dropped 14–15 of
	// their messages and took 2.1 s at the median, 90 dropped none and took
	// 0.96 s — but every flood then starts with that many replies at
	// control priority ahead of registered nodes' data (90 NAs are about
	// 0.4 s of air), which cost a registered node most of its pings in the
	// first seconds of a flood on a loaded machine. 30 is the default;
	// nd.control_stranger_burst raises it for mass joins.
	StrangerRate, StrangerBurst float64
	// Sources bounds each table of per-source buckets
	// (DefaultControlSources): the source entered first is forgotten
	// first.
	Sources int
}

// The control path's defaults (ControlConfig).
const (
	DefaultControlQueue   = 96
	DefaultNeighborRate   = 20
	DefaultNeighborBurst  = 40
	DefaultSourceRate     = 1
	DefaultSourceBurst    = 5
	DefaultStrangerRate   = 10
	DefaultStrangerBurst  = 30
	DefaultControlSources = 1024
)

func (c *ControlConfig) setDefaults() {
	if c.Queue <= 0 {
		c.Queue = DefaultControlQueue
	}
	if c.NeighborRate <= 0 {
		c.NeighborRate = DefaultNeighborRate
	}
	if c.NeighborBurst <= 0 {
		c.NeighborBurst = DefaultNeighborBurst
	}
	if c.SourceRate <= 0 {
		c.SourceRate = DefaultSourceRate
	}
	if c.SourceBurst <= 0 {
		c.SourceBurst = DefaultSourceBurst
	}
	if c.StrangerRate <= 0 {
		c.StrangerRate = DefaultStrangerRate
	}
	if c.StrangerBurst <= 0 {
		c.StrangerBurst = DefaultStrangerBurst
	}
	if c.Sources <= 0 {
		c.Sources = DefaultControlSources
	}
}

// Classes of the control queue, in the order the worker serves them.
const (
	classNeighbor = iota
	classStranger
	numClasses
)

// maxControl is the largest control message queued: the IPv6 minimum MTU,
// the MTU of every mesh link.
const maxControl = ip6.MinimumMTU

// ctlMsg is one received control message waiting for the worker.
type ctlMsg struct {
	link nd.LinkID
	src  lowpan.LinkAddr
	n    int
	buf  [maxControl]byte
}

// ctlRing is one class's queue: a ring of preallocated messages.
type ctlRing struct {
	slots   []ctlMsg
	head, n int
}

// controlQueue holds received control messages for the worker; pushed by
// the links' receive goroutines, popped by the worker. No allocation once
// made.
type controlQueue struct {
	mu    sync.Mutex
	rings [numClasses]ctlRing
	wake  chan struct{}
}

func newControlQueue(size int) *controlQueue {
	q := &controlQueue{wake: make(chan struct{}, 1)}
	for i := range q.rings {
		q.rings[i].slots = make([]ctlMsg, size)
	}
	return q
}

// push copies pkt into class c's queue; false when it is full.
func (q *controlQueue) push(c int, link nd.LinkID, src lowpan.LinkAddr, pkt []byte) bool {
	q.mu.Lock()
	r := &q.rings[c]
	if r.n == len(r.slots) {
		q.mu.Unlock()
		return false
	}
	m := &r.slots[(r.head+r.n)%len(r.slots)]
	r.n++
	m.link, m.src, m.n = link, src, copy(m.buf[:], pkt)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// pop copies the next message into m, the neighbours' first; false when
// both queues are empty.
func (q *controlQueue) pop(m *ctlMsg) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for c := range q.rings {
		r := &q.rings[c]
		if r.n == 0 {
			continue
		}
		s := &r.slots[r.head]
		m.link, m.src, m.n = s.link, s.src, copy(m.buf[:], s.buf[:s.n])
		r.head = (r.head + 1) % len(r.slots)
		r.n--
		return true
	}
	return false
}

// tokenBucket is a token bucket without a lock: its owner holds one. A
// bucket seen for the first time (last 0) is full.
type tokenBucket struct {
	tokens float64
	last   int64 // UnixNano of the last refill
}

// has refills the bucket at now and reports whether it holds a token;
// spend takes it. They are apart so that a message passes every bucket
// before any is charged.
func (b *tokenBucket) has(now int64, rate, burst float64) bool {
	if b.last == 0 {
		b.tokens = burst
	} else if now > b.last {
		b.tokens = min(burst, b.tokens+float64(now-b.last)/1e9*rate)
	}
	b.last = now
	return b.tokens >= 1
}

func (b *tokenBucket) spend() { b.tokens-- }

// bucketTable holds a bucket per source, at most len(slots): a new source
// takes the slot entered longest ago (a source that comes back starts
// full, so a flood of made-up sources gains no more than its first burst
// from each; the strangers' budget bounds them all).
type bucketTable[K comparable] struct {
	index map[K]int
	slots []bucketSlot[K]
	next  int
}

type bucketSlot[K comparable] struct {
	key  K
	used bool
	b    tokenBucket
}

func newBucketTable[K comparable](n int) bucketTable[K] {
	return bucketTable[K]{index: make(map[K]int, n), slots: make([]bucketSlot[K], n)}
}

// get returns key's bucket, making it.
func (t *bucketTable[K]) get(key K) *tokenBucket {
	if i, ok := t.index[key]; ok {
		return &t.slots[i].b
	}
	s := &t.slots[t.next]
	if s.used {
		delete(t.index, s.key)
	}
	*s = bucketSlot[K]{key: key, used: true}
	t.index[key] = t.next
	t.next = (t.next + 1) % len(t.slots)
	return &s.b
}

// verdict is the admission's decision on one control message.
type verdict uint8

const (
	admitted verdict = iota
	rateLimited
	overBudget
)

// admission decides which received control messages the worker gets.
// The links' receive goroutines call it: the lock guards the buckets.
type admission struct {
	cfg ControlConfig

	mu          sync.Mutex
	neighbors   bucketTable[lowpan.LinkAddr]
	strangerMAC bucketTable[lowpan.LinkAddr]
	strangerIP  bucketTable[[16]byte]
	budget      tokenBucket
}

func newAdmission(cfg ControlConfig) *admission {
	return &admission{cfg: cfg, neighbors: newBucketTable[lowpan.LinkAddr](cfg.Sources),
		strangerMAC: newBucketTable[lowpan.LinkAddr](cfg.Sources), strangerIP: newBucketTable[[16]byte](cfg.Sources)}
}

// admit charges a message from mac with IPv6 source src at now.
func (a *admission) admit(now time.Time, neighbor bool, mac lowpan.LinkAddr, src netip.Addr) verdict {
	t := now.UnixNano()
	c := &a.cfg
	a.mu.Lock()
	defer a.mu.Unlock()
	if neighbor {
		b := a.neighbors.get(mac)
		if !b.has(t, c.NeighborRate, c.NeighborBurst) {
			return rateLimited
		}
		b.spend()
		return admitted
	}
	bm, bi := a.strangerMAC.get(mac), a.strangerIP.get(src.As16())
	// Both buckets are refilled before either is judged: a message one of
	// them refuses costs the other nothing.
	okMAC, okIP := bm.has(t, c.SourceRate, c.SourceBurst), bi.has(t, c.SourceRate, c.SourceBurst)
	if !okMAC || !okIP {
		return rateLimited
	}
	if !a.budget.has(t, c.StrangerRate, c.StrangerBurst) {
		return overBudget
	}
	bm.spend()
	bi.spend()
	a.budget.spend()
	return admitted
}

// isNeighbor reports whether a message with IPv6 source src, in a frame
// from mac on link lid, comes from a registered neighbour: mac holds a
// registration made directly over lid, and src is its own (the source
// validation's rule). A stranger spoofing a neighbour's link-layer address
// but not its addresses stays a stranger.
func (f *Forwarder) isNeighbor(lid nd.LinkID, mac lowpan.LinkAddr, src netip.Addr, now time.Time) bool {
	return f.reg.RegisteredOn(lid, mac, now) && f.checkSource(lid, mac, src, now) == sourceOK
}

// admitND is the receive path's half of the control path: it admits the
// ND message d carries (or drops and counts it) and queues it for the
// control worker.
func (f *Forwarder) admitND(lid nd.LinkID, d *link.Delivery, now time.Time) {
	pkt := d.Packet
	if len(pkt) > maxControl {
		f.stats.dropped.Add(1)
		return
	}
	src := ip6.Header(pkt).Src()
	class := classStranger
	if f.isNeighbor(lid, d.Src, src, now) {
		class = classNeighbor
	}
	switch f.adm.admit(now, class == classNeighbor, d.Src, src) {
	case rateLimited:
		f.stats.ctlRateLimited.Add(1)
		return
	case overBudget:
		f.stats.ctlOverBudget.Add(1)
		return
	}
	if !f.ctl.push(class, lid, d.Src, pkt) {
		f.stats.ctlQueueFull.Add(1)
		return
	}
	if class == classNeighbor {
		f.stats.ctlNeighbor.Add(1)
	} else {
		f.stats.ctlStranger.Add(1)
	}
}

// runControl is the control worker: it hands each queued message to the
// 6LBR and queues the replies, until ctx ends. Messages still queued then
// are dropped with the rest of the forwarder's state.
func (f *Forwarder) runControl(ctx context.Context) {
	m := new(ctlMsg)
	for {
		for f.ctl.pop(m) {
			f.handleND(m.link, m.src, m.buf[:m.n])
			if ctx.Err() != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-f.ctl.wake:
		}
	}
}
