package lowpan

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// Reassembly defaults. RFC 4944 §5.3 caps the timeout at 60 s; a first
// fragment that never completes holds a buffer until then, so a few seconds
// is the wiser default.
const (
	DefaultReassemblyTimeout = 5 * time.Second
	MaxReassemblyTimeout     = 60 * time.Second
	DefaultMaxDatagrams      = 16
	DefaultMaxPerSource      = 4
	// reassemblySlot is the buffer one datagram holds: datagram_size has
	// 11 bits.
	reassemblySlot   = maxDatagramSize + 1
	maxFragsPerEntry = 64
)

// DefaultMaxMemory lets DefaultMaxDatagrams reassemble at once.
const DefaultMaxMemory = DefaultMaxDatagrams * reassemblySlot

// ReassemblyConfig bounds what reassembly may hold.
type ReassemblyConfig struct {
	Timeout      time.Duration // from the first fragment; default 5 s, at most 60 s
	MaxDatagrams int           // concurrent reassemblies
	MaxPerSource int           // concurrent reassemblies of one link-layer source
	MaxMemory    int           // octets of reassembly buffers, 2 KiB per datagram
	// Reserved is the number of concurrent reassemblies kept for the
	// senders Reassembler.SetRegistered names (the link's registered
	// neighbours); the other senders share the rest. Default half of
	// MaxDatagrams; negative: none. It applies only once SetRegistered
	// was given a predicate: without one every sender is alike.
	Reserved int
}

// Validate checks the configuration and fills in defaults for zero values.
func (c *ReassemblyConfig) Validate() error {
	if c.Timeout == 0 {
		c.Timeout = DefaultReassemblyTimeout
	}
	if c.MaxDatagrams == 0 {
		c.MaxDatagrams = DefaultMaxDatagrams
	}
	if c.MaxPerSource == 0 {
		c.MaxPerSource = min(DefaultMaxPerSource, c.MaxDatagrams)
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = c.MaxDatagrams * reassemblySlot
	}
	if c.Reserved == 0 {
		c.Reserved = c.MaxDatagrams / 2
	}
	switch {
	case c.Timeout < 0 || c.Timeout > MaxReassemblyTimeout:
		return fmt.Errorf("reassembly timeout %v: must be in (0, 60s] (RFC 4944 §5.3)", c.Timeout)
	case c.MaxDatagrams < 1:
		return fmt.Errorf("reassembly max datagrams %d: must be at least 1", c.MaxDatagrams)
	case c.MaxPerSource < 1 || c.MaxPerSource > c.MaxDatagrams:
		return fmt.Errorf("reassembly max per source %d: must be 1..%d (max datagrams)", c.MaxPerSource, c.MaxDatagrams)
	case c.MaxMemory < reassemblySlot:
		return fmt.Errorf("reassembly max memory %d: must be at least %d octets (one datagram)", c.MaxMemory, reassemblySlot)
	case c.Reserved >= c.MaxDatagrams:
		return fmt.Errorf("reassembly reserved %d: must be below max datagrams %d (other senders need one)", c.Reserved, c.MaxDatagrams)
	}
	return nil
}

// ReassemblyStats counts every outcome of a fragment.
type ReassemblyStats struct {
	Fragments  uint64 `json:"fragments"`  // fragments offered
	Completed  uint64 `json:"completed"`  // datagrams reassembled
	TimedOut   uint64 `json:"timed_out"`  // datagrams dropped when their timer ran out
	Evicted    uint64 `json:"evicted"`    // datagrams dropped to make room for another
	Overlaps   uint64 `json:"overlaps"`   // datagrams dropped for overlapping or inconsistent fragments
	Duplicates uint64 `json:"duplicates"` // fragments received twice (ignored)
	Malformed  uint64 `json:"malformed"`  // fragments rejected: bad header, bad compression, bad size
	Rejected   uint64 `json:"rejected"`   // datagrams completed but not delivered: the caller's buffer was too small
	// EvictedRegistered counts the evicted datagrams that came from a
	// registered sender (part of Evicted): under a flood from strangers it
	// stays 0.
	EvictedRegistered uint64 `json:"evicted_registered"`
}

// Reassembly errors callers may branch on.
var (
	ErrOverlap   = errors.New("overlapping or inconsistent fragment")
	ErrDuplicate = errors.New("lowpan: reassembly: duplicate fragment")
)

type reassemblyKey struct {
	src, dst LinkAddr
	size     uint16
	tag      uint16
}

type fragSpan struct{ off, end uint16 }

type reassemblyEntry struct {
	inUse   bool
	key     reassemblyKey
	started time.Time
	// touched is the reassembler's fragment count when a fragment of
	// this datagram last arrived: which datagram was heard from least
	// recently, without trusting the clock's resolution (the link reads
	// it once per datagram, not per fragment).
	touched  uint64
	buf      []byte // reassemblySlot octets, kept across reuse
	received int    // uncompressed octets received
	spans    [maxFragsPerEntry]fragSpan
	nSpans   int
	fx       lengthFixups
	haveFx   bool // FRAG1 seen: header fix-ups known
	// registered: the sender was a registered neighbour when the
	// datagram started; it counts against the reserved share.
	registered bool
	// expected: its tag follows the last one its registered sender
	// completed (nextTag).
	expected bool
}

// tagWindow is how far past a registered sender's last completed
// datagram_tag a new datagram's tag counts as its next: RFC 4944 §5.3 has
// a sender increment the tag for each datagram it fragments (RIOT:
// gnrc_sixlowpan_frag_fb.c gnrc_sixlowpan_frag_fb_next_tag; OpenThread:
// mesh_forwarder.cpp, mFragTag++ per fragmented message), and some senders
// (this package's TagCounter users among them) take a tag for every
// packet, or lose datagrams between two that complete.
const tagWindow = 64

// senderTag is the tag of the last datagram a registered sender
// completed.
type senderTag struct {
	src  LinkAddr
	tag  uint16
	used bool
}

// Reassembler rebuilds datagrams from RFC 4944 fragments. Reassembly is
// keyed on (link-layer source, link-layer destination, datagram_size,
// datagram_tag) (RFC 4944 §5.3). Its memory is bounded by the
// configuration whatever it is fed.
//
// Room is shared so that a flood of first fragments that never complete,
// from one source or from a new one each time, cannot starve a sender that
// completes its datagrams:
//   - the senders the link knows as registered neighbours (SetRegistered)
//     have Reserved slots of their own and may use any free one; the
//     others share the rest;
//   - a source holds at most MaxPerSource datagrams (a registered one is
//     not capped), and at its cap replaces its own weakest;
//   - otherwise the weakest datagram of the class that is over its share
//     goes: the one with the fewest fragments received, then the one
//     heard from least recently. A first fragment that never completes
//     is as weak as a datagram gets, so a sender whose fragments keep
//     arriving pulls ahead of it after its second (fragments, not
//     octets: a first fragment with better compressed headers carries
//     more octets, and a flood's would outweigh a real sender's); and a
//     sender's count plays no part, so one stale datagram (a lost
//     fragment) does not make its next datagram the first to go for the
//     rest of the timeout. Between first fragments of a registered
//     sender, the one whose tag follows the last it completed (RFC 4944
//     §5.3: a sender increments datagram_tag for each datagram) stays:
//     a flood spoofing that sender's address with made-up tags cycles
//     through its own first fragments instead. One that predicts the
//     tags is stopped only by the timing (see TestReassemblySpoofedSourceFlood).
//
// A fragment that contradicts its datagram (overlap, other contents,
// impossible size) discards that datagram only: the key holds the
// sender, so another sender's datagram with the same tag is untouched.
// It is safe for concurrent use and does not allocate once its buffers
// exist.
type Reassembler struct {
	cfg      ReassemblyConfig
	contexts *ContextTable

	mu      sync.Mutex
	entries []reassemblyEntry
	buffers int // slots with a buffer allocated
	stats   ReassemblyStats
	scratch [reassemblySlot]byte // FRAG1 decompression

	// earliest is a lower bound of the start times of the datagrams in
	// progress (when haveEarliest): until earliest+Timeout nothing can
	// have expired, and a fragment need not look at every slot.
	earliest     time.Time
	haveEarliest bool
	// recent is the slot the last fragment went to: the fragments of a
	// datagram arrive one after another, so it is where find looks first.
	recent *reassemblyEntry
	// registered names the senders that get the reserved share (nil:
	// none, every sender alike); reserved is that share in slots.
	registered func(LinkAddr) bool
	reserved   int
	// tags remembers the last completed tag of the registered senders
	// heard most recently (a new one takes the slot written longest ago).
	tags     [16]senderTag
	nextSlot int
}

// NewReassembler returns a reassembler bounded by cfg that decompresses
// FRAG1 headers with contexts.
func NewReassembler(cfg ReassemblyConfig, contexts *ContextTable) (*Reassembler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lowpan: %w", err)
	}
	n := min(cfg.MaxDatagrams, cfg.MaxMemory/reassemblySlot)
	// The memory cap may leave fewer slots than MaxDatagrams: the other
	// senders keep at least one.
	reserved := min(max(cfg.Reserved, 0), n-1)
	return &Reassembler{cfg: cfg, contexts: contexts, entries: make([]reassemblyEntry, n), reserved: reserved}, nil
}

// SetRegistered gives the reassembler the predicate that names the
// senders (link-layer sources, or mesh originators) that get the reserved
// share: on a border router, the neighbours registered with it (RFC 8505),
// asked once per new datagram. nil makes every sender alike again. The
// predicate is called with the reassembler's lock held and must not call
// back into it.
func (r *Reassembler) SetRegistered(registered func(LinkAddr) bool) {
	r.mu.Lock()
	r.registered = registered
	r.mu.Unlock()
}

// Stats returns a copy of the counters.
func (r *Reassembler) Stats() ReassemblyStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// MemoryInUse is the octets of reassembly buffers allocated; it never
// exceeds MaxMemory.
func (r *Reassembler) MemoryInUse() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buffers * reassemblySlot
}

// Pending is the number of datagrams being reassembled.
func (r *Reassembler) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for i := range r.entries {
		if r.entries[i].inUse {
			n++
		}
	}
	return n
}

// Expire drops datagrams whose timer has run out.
func (r *Reassembler) Expire(now time.Time) {
	r.mu.Lock()
	r.expireLocked(now)
	r.mu.Unlock()
}

func (r *Reassembler) expireLocked(now time.Time) {
	if !r.haveEarliest || now.Sub(r.earliest) < r.cfg.Timeout {
		return // every datagram started at or after earliest
	}
	r.haveEarliest = false
	for i := range r.entries {
		e := &r.entries[i]
		if !e.inUse {
			continue
		}
		if now.Sub(e.started) >= r.cfg.Timeout {
			e.inUse = false
			r.stats.TimedOut++
		} else if !r.haveEarliest || e.started.Before(r.earliest) {
			r.earliest, r.haveEarliest = e.started, true
		}
	}
}

// Add offers one fragment: h as parsed by ParseHeaders (with HasFrag set),
// from the frame's link-layer source and destination (or the mesh header's
// originator and final destination). When the fragment completes its
// datagram, the IPv6 packet is copied into out and its length returned;
// otherwise n is 0. Errors say why a fragment was dropped; the counters in
// Stats record every outcome.
func (r *Reassembler) Add(now time.Time, out []byte, srcLL, dstLL LinkAddr, h *Headers) (n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Fragments++
	if !h.HasFrag {
		r.stats.Malformed++
		return 0, fmt.Errorf("lowpan: reassembly: %w", ErrNotFragment)
	}
	f := &h.Frag
	if f.Size < ip6.HeaderLen {
		r.stats.Malformed++
		return 0, fmt.Errorf("lowpan: reassembly: datagram_size %d is smaller than an IPv6 header: %w", f.Size, ErrBadLength)
	}
	r.expireLocked(now)
	key := reassemblyKey{src: srcLL, dst: dstLL, size: f.Size, tag: f.Tag}

	// Check the fragment and prepare its data before touching any
	// reassembly, so that a bad fragment can never evict a good datagram. A
	// FRAG1 is decompressed into scratch, so a duplicate can be compared
	// before anything is overwritten.
	var fx lengthFixups
	off, end, data, bad := r.prepare(h, srcLL, dstLL, &fx)
	if bad != nil {
		if e := r.find(key); e != nil {
			// An inconsistent fragment of a datagram in progress.
			e.inUse = false
			r.stats.Overlaps++
			return 0, fmt.Errorf("lowpan: reassembly: %w; datagram discarded: %w", bad, ErrOverlap)
		}
		r.stats.Malformed++
		return 0, fmt.Errorf("lowpan: reassembly: %w", bad)
	}

	e := r.find(key)
	if e == nil {
		e = r.allocate(now, key)
	}
	e.touched = r.stats.Fragments
	dup, err := r.recordSpan(e, off, end)
	if err != nil {
		return 0, err
	}
	if dup {
		if !bytes.Equal(e.buf[off:end], data) {
			e.inUse = false
			r.stats.Overlaps++
			return 0, fmt.Errorf("lowpan: reassembly: fragment [%d,%d) repeated with other contents: %w", off, end, ErrOverlap)
		}
		r.stats.Duplicates++
		// A retransmitted fragment is routine (a lost ACK): no allocation.
		return 0, ErrDuplicate
	}
	copy(e.buf[off:end], data)
	if f.First {
		e.fx, e.haveFx = fx, true
	}
	e.received += end - off
	if e.received < int(f.Size) || !e.haveFx {
		return 0, nil
	}

	// Complete: fill in the elided lengths, hand it over, free the slot.
	e.inUse = false
	pkt := e.buf[:f.Size]
	if err := e.fx.apply(pkt); err != nil {
		r.stats.Malformed++
		return 0, fmt.Errorf("lowpan: reassembly: %w", err)
	}
	if len(out) < len(pkt) {
		r.stats.Rejected++
		return 0, fmt.Errorf("lowpan: reassembly: %w", ErrBufferTooSmall)
	}
	r.stats.Completed++
	if e.registered {
		r.rememberTag(e.key.src, e.key.tag)
	}
	return copy(out, pkt), nil
}

// prepare checks one fragment on its own and returns the span of the
// uncompressed datagram it covers and its octets (for a FRAG1, decompressed
// into r.scratch, with the fields to fill in later in fx).
func (r *Reassembler) prepare(h *Headers, srcLL, dstLL LinkAddr, fx *lengthFixups) (off, end int, data []byte, err error) {
	f := &h.Frag
	if f.First {
		var written, read int
		written, read, *fx, err = decompressHeaders(r.scratch[:f.Size], h.Payload, srcLL, dstLL, decodeParams{contexts: r.contexts})
		if err != nil {
			return 0, 0, nil, fmt.Errorf("FRAG1: %w", err)
		}
		rest := h.Payload[read:]
		end = written + len(rest)
		if end > int(f.Size) {
			return 0, 0, nil, fmt.Errorf("FRAG1 carries %d octets of a %d-octet datagram: %w", end, f.Size, ErrBadLength)
		}
		copy(r.scratch[written:end], rest)
		data = r.scratch[:end]
	} else {
		off = int(f.Offset)
		end = off + len(h.Payload)
		switch {
		case off == 0:
			// Offset 0 is FRAG1's: a FRAGN there would stand for the
			// compressed headers it cannot carry.
			return 0, 0, nil, fmt.Errorf("FRAGN with offset 0: %w", ErrBadLength)
		case len(h.Payload) == 0 || end > int(f.Size):
			return 0, 0, nil, fmt.Errorf("FRAGN [%d,%d) outside a %d-octet datagram: %w", off, end, f.Size, ErrBadLength)
		}
		data = h.Payload
	}
	// RFC 4944 §5.3: every fragment but the last carries a multiple of 8.
	if end != int(f.Size) && (end-off)%fragOffsetUnit != 0 {
		return 0, 0, nil, fmt.Errorf("fragment [%d,%d) is not the last and not a multiple of 8: %w", off, end, ErrBadLength)
	}
	return off, end, data, nil
}

// recordSpan records [off,end) in e. An identical span is a duplicate;
// any other overlap discards the datagram (RFC 4944 §5.3).
func (r *Reassembler) recordSpan(e *reassemblyEntry, off, end int) (dup bool, err error) {
	for i := 0; i < e.nSpans; i++ {
		s := e.spans[i]
		if int(s.off) == off && int(s.end) == end {
			return true, nil
		}
		if off < int(s.end) && int(s.off) < end {
			e.inUse = false
			r.stats.Overlaps++
			return false, fmt.Errorf("lowpan: reassembly: fragment [%d,%d) overlaps [%d,%d): %w", off, end, s.off, s.end, ErrOverlap)
		}
	}
	if e.nSpans == maxFragsPerEntry {
		e.inUse = false
		r.stats.Overlaps++
		return false, fmt.Errorf("lowpan: reassembly: more than %d fragments: %w", maxFragsPerEntry, ErrOverlap)
	}
	e.spans[e.nSpans] = fragSpan{uint16(off), uint16(end)}
	e.nSpans++
	return false, nil
}

func (r *Reassembler) find(key reassemblyKey) *reassemblyEntry {
	if e := r.recent; e != nil && e.inUse && e.key == key {
		return e
	}
	for i := range r.entries {
		if e := &r.entries[i]; e.inUse && e.key == key {
			r.recent = e
			return e
		}
	}
	return nil
}

// allocate takes a slot for a new datagram: a free one its sender's class
// may use, or the weakest datagram of the class over its share (there is
// always one then). See Reassembler for the rules.
func (r *Reassembler) allocate(now time.Time, key reassemblyKey) *reassemblyEntry {
	reg := r.registered != nil && r.registered(key.src)
	var free, own *reassemblyEntry
	perSource, nReg, nOther := 0, 0, 0
	for i := range r.entries {
		e := &r.entries[i]
		if !e.inUse {
			if free == nil {
				free = e
			}
			continue
		}
		if e.registered {
			nReg++
		} else {
			nOther++
		}
		if e.key.src == key.src {
			perSource++
			if own == nil || weaker(e, own) {
				own = e
			}
		}
	}
	// The others' share: everything when no sender is registered.
	otherShare := len(r.entries)
	if r.registered != nil {
		otherShare -= r.reserved
	}
	capacity := r.cfg.MaxPerSource
	if reg {
		// A registered neighbour is not held to a per-source cap: a 6LR
		// relays its children's datagrams, and a flood that spoofs a
		// neighbour's address then has the whole table to cycle through,
		// weakest first, instead of the few slots that a cap would leave
		// the neighbour's own datagram to be evicted from before its
		// second fragment arrives. Every other sender still finds room:
		// the flood's first fragments are the weakest there are.
		capacity = len(r.entries)
	}
	var victim *reassemblyEntry
	switch {
	case perSource >= capacity:
		victim = own
	case free != nil && (reg || nOther < otherShare):
		return r.reset(free, now, key, reg)
	case reg && nReg < r.reserved:
		// Within the reserve: another sender's room gives way.
		victim = r.weakest(0)
	case reg:
		victim = r.weakest(-1)
	case nOther < otherShare:
		// Registered senders borrowed the others' share: give it back.
		victim = r.weakest(1)
	default:
		victim = r.weakest(0)
	}
	victim.inUse = false
	r.stats.Evicted++
	if victim.registered {
		r.stats.EvictedRegistered++
	}
	return r.reset(victim, now, key, reg)
}

// weakest returns the weakest datagram in progress among the registered
// senders' (class 1), the others' (0) or all (-1); nil when there is none.
func (r *Reassembler) weakest(class int) *reassemblyEntry {
	var w *reassemblyEntry
	for i := range r.entries {
		e := &r.entries[i]
		if !e.inUse || (class == 1 && !e.registered) || (class == 0 && e.registered) {
			continue
		}
		if w == nil || weaker(e, w) {
			w = e
		}
	}
	return w
}

// weaker reports whether a should go before b: fewer fragments received
// (a first fragment that never completes is as weak as a datagram gets),
// then not its registered sender's next tag, then heard from less
// recently.
func weaker(a, b *reassemblyEntry) bool {
	if a.nSpans != b.nSpans {
		return a.nSpans < b.nSpans
	}
	if a.expected != b.expected {
		return b.expected
	}
	return a.touched < b.touched
}

// rememberTag records tag as the last one src completed.
func (r *Reassembler) rememberTag(src LinkAddr, tag uint16) {
	for i := range r.tags {
		if t := &r.tags[i]; t.used && t.src == src {
			t.tag = tag
			return
		}
	}
	r.tags[r.nextSlot] = senderTag{src: src, tag: tag, used: true}
	r.nextSlot = (r.nextSlot + 1) % len(r.tags)
}

// nextTag reports whether tag follows the last one src completed, within
// tagWindow.
func (r *Reassembler) nextTag(src LinkAddr, tag uint16) bool {
	for i := range r.tags {
		if t := &r.tags[i]; t.used && t.src == src {
			return tag-t.tag-1 < tagWindow // modulo 2^16
		}
	}
	return false
}

func (r *Reassembler) reset(e *reassemblyEntry, now time.Time, key reassemblyKey, registered bool) *reassemblyEntry {
	if e.buf == nil {
		e.buf = make([]byte, reassemblySlot)
		r.buffers++
	}
	e.inUse = true
	e.key = key
	e.registered = registered
	e.expected = registered && r.nextTag(key.src, key.tag)
	e.started, e.touched = now, r.stats.Fragments
	if !r.haveEarliest || now.Before(r.earliest) {
		r.earliest, r.haveEarliest = now, true
	}
	r.recent = e
	e.received = 0
	e.nSpans = 0
	e.haveFx = false
	return e
}
