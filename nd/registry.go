package nd

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// LinkID names one link of the border router: an 802.15.4 PAN, one BLE
// connection, ... The router assigns them; the registry only compares them.
// Link-local registrations are scoped to their link (RFC 8505 §5.6).
type LinkID uint32

// DefaultRegistryCapacity is the registry size when none is configured.
const DefaultRegistryCapacity = 10000

// ROVR is a Registration Ownership Verifier (RFC 8505 §5.3): 64, 128, 192
// or 256 bits; the EUI-64 of an RFC 6775 ARO. It is a comparable value.
type ROVR struct {
	b [32]byte
	n uint8
}

// MakeROVR copies b into a ROVR; false when its length is not 8, 16, 24
// or 32 octets.
func MakeROVR(b []byte) (ROVR, bool) {
	var r ROVR
	if !validROVRLen(len(b)) {
		return r, false
	}
	copy(r.b[:], b)
	r.n = uint8(len(b))
	return r, true
}

// EUI64ROVR returns the 64-bit ROVR holding an EUI-64, as an RFC 6775 node
// sends it.
func EUI64ROVR(eui [8]byte) ROVR {
	r, _ := MakeROVR(eui[:])
	return r
}

// Bytes returns the ROVR's octets (a view into r).
func (r *ROVR) Bytes() []byte { return r.b[:r.n] }

// Len returns the length in octets; 0 for the zero ROVR.
func (r ROVR) Len() int { return int(r.n) }

// IsZero reports whether r is the zero value (no ROVR).
func (r ROVR) IsZero() bool { return r.n == 0 }

// String returns the ROVR in hexadecimal.
func (r ROVR) String() string { return hex.EncodeToString(r.b[:r.n]) }

// Registration is one entry of the 6LBR registry (the DAD table of RFC
// 6775 §8.2.2, extended with RFC 8505's TID and ROVR, and with the route).
type Registration struct {
	Addr netip.Addr
	// Link is where the registration arrived (for one through a 6LR: where
	// its EDAR arrived).
	Link LinkID
	ROVR ROVR
	// TID is the transaction ID of the latest accepted registration; valid
	// when HasTID (an EARO or EDAR, not an RFC 6775 ARO or DAR).
	TID    uint8
	HasTID bool
	// Lifetime is the registration lifetime in units of 60 seconds, as
	// last registered; Expires the time it runs out.
	Lifetime uint16
	Expires  time.Time
	// Registered is the time of the latest accepted (re-)registration.
	Registered time.Time
	// LinkAddr is the 6LN's link-layer address (from its SLLAO) when it
	// registered directly with this router; none when through a 6LR.
	LinkAddr lowpan.LinkAddr
	// Via is the 6LR through which the address is reached: the source of
	// the EDAR/DAR. The zero Addr when registered directly.
	Via netip.Addr
}

// Direct reports whether the node registered with this router itself.
func (r *Registration) Direct() bool { return !r.Via.IsValid() }

// Request is one registration presented to the registry: from an NS with
// an (E)ARO (Via zero) or from a 6LR's (E)DAR (Via the 6LR).
type Request struct {
	Addr     netip.Addr
	Link     LinkID
	ROVR     ROVR
	TID      uint8
	HasTID   bool
	Lifetime uint16 // units of 60 s; 0 deregisters
	LinkAddr lowpan.LinkAddr
	Via      netip.Addr
}

// Result is the registry's decision on a Request.
type Result struct {
	Status Status
	// Created: the address had no (live) registration before.
	Created bool
	// Removed: a zero lifetime removed the registration.
	Removed bool
	// Moved: a more recent registration (newer TID) arrived over another
	// path — another 6LR, or directly after a 6LR, or the reverse. The old
	// path is in Previous; RFC 8505 §5.7 wants it told "moved".
	Moved bool
	// HadPrevious: the request met a live registration of the address.
	// Previous is that registration as it was, filled when the outcome is
	// not a plain refresh (duplicate, moved either way, removed); a
	// refresh leaves it zero, to stay cheap.
	Previous    Registration
	HadPrevious bool
}

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// Capacity is the maximum number of registrations (default 10 000).
	Capacity int
	// DeregistrationDelay keeps a deregistered entry for this long, no
	// longer used for routing but still compared for TID freshness, so a
	// stale registration that was overtaken by the deregistration gets
	// "moved" instead of re-creating the entry (RFC 8505 §5.7, the DELAY
	// state). 0 removes at once.
	DeregistrationDelay time.Duration
	// Now is the clock LatestRegistered uses (its interface method has no
	// time argument); time.Now when nil.
	Now func() time.Time
}

// Registry is the 6LBR's registry of registered addresses. It is safe for
// concurrent use; lookups take a read lock only and do not allocate.
//
// Rules (Register):
//
//   - A new address is accepted while the registry holds fewer than its
//     capacity, else StatusRegistrySaturated (RFC 8505 §5.7; the router
//     reports "neighbor cache full" to RFC 6775-only peers instead).
//   - An address registered under another ROVR: StatusDuplicate, the
//     existing registration kept (RFC 6775 §6.5.1, §8.2.4; RFC 8505 §5.3).
//   - Same ROVR, both with a TID: an older TID (RFC 8505 §5.2.1 lollipop)
//     gets StatusMoved and changes nothing (RFC 8505 §4.1 Table 1, §5.7);
//     an equal or newer one refreshes the entry. TIDs too far apart to be
//     compared are taken as a newer registration: the ROVR matched, so it
//     is the owner speaking now, most likely after losing its state.
//   - Same ROVR, a registration with a TID on record and a request
//     without (an RFC 6775 ARO or DAR): StatusMoved, nothing changed —
//     RFC 8505 §6.3 forbids letting the old protocol update state of the
//     new one by default. The reverse (a first TID) is accepted.
//   - Same ROVR, neither has a TID: a refresh.
//   - Lifetime 0 from the owner (and not stale): the entry is removed,
//     StatusSuccess (RFC 6775 §6.5.3, §8.2.4; RFC 8505 §5.7). Lifetime 0
//     for an unknown address: StatusSuccess, nothing to do.
//   - A refresh over another path (another 6LR, or directly) moves the
//     route there; with a strictly newer TID it is a movement and Result
//     says Moved, with an equal TID it is the same transaction seen over
//     several 6LRs (RFC 8505 §5.2) and not reported.
//   - Entries whose lifetime ran out are absent for every method and are
//     reclaimed by Expire (and by a full registry before it refuses).
type Registry struct {
	mu       sync.RWMutex
	capacity int
	delay    int64
	now      func() time.Time
	entries  map[regKey]entry
	nodes    map[lowpan.LinkAddr]nodeIndex
	seq      uint64
	changes  uint64
	// lastReclaim is when a full registry last swept expired entries, so
	// that requests hitting a full registry cost a sweep at most once a
	// second.
	lastReclaim int64
}

// regKey identifies a registration: the address, and for a link-local
// address its link too (link-local addresses are unique per link only).
type regKey struct {
	addr [16]byte
	link LinkID
}

func keyOf(a netip.Addr, link LinkID) regKey {
	k := regKey{addr: a.As16()}
	if a.IsLinkLocalUnicast() {
		k.link = link
	}
	return k
}

const (
	entHasTID  = 1 << iota
	entHasVia  // reached through a 6LR
	entRemoved // deregistered, held for DeregistrationDelay
)

// entry is the stored form of a Registration: no pointers, so a map of
// 10 000 of them costs the garbage collector nothing to scan.
type entry struct {
	rovr       [32]byte
	expires    int64 // Unix nanoseconds
	registered int64
	seq        uint64 // order of registrations, for LatestRegistered
	via        [16]byte
	link       LinkID
	ll         lowpan.LinkAddr
	lifetime   uint16
	rovrLen    uint8
	tid        uint8
	flags      uint8
}

// nodeIndexSize bounds the addresses remembered per link-layer address for
// LatestRegistered; a node registering more keeps its most recent ones.
const nodeIndexSize = 4

// nodeIndex lists a directly registered node's addresses, most recent
// first.
type nodeIndex struct {
	keys [nodeIndexSize]regKey
	n    uint8
}

// NewRegistry returns an empty registry.
func NewRegistry(c RegistryConfig) *Registry {
	if c.Capacity <= 0 {
		c.Capacity = DefaultRegistryCapacity
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Registry{
		capacity: c.Capacity,
		delay:    int64(c.DeregistrationDelay),
		now:      c.Now,
		entries:  make(map[regKey]entry),
		nodes:    make(map[lowpan.LinkAddr]nodeIndex),
	}
}

// Capacity returns the maximum number of registrations.
func (r *Registry) Capacity() int { return r.capacity }

// Len returns the number of entries held, expired and deregistered ones
// not yet reclaimed included (they occupy room).
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.entries)
}

// Changes returns a counter that increases with every change to the
// registry; the state saver compares it to know when to write.
func (r *Registry) Changes() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changes
}

func (e *entry) live(now int64) bool { return e.flags&entRemoved == 0 && now < e.expires }

func (e *entry) rovrEqual(ro *ROVR) bool {
	return e.rovrLen == ro.n && bytes.Equal(e.rovr[:e.rovrLen], ro.b[:ro.n])
}

func (e *entry) sameVia(req *Request) bool {
	if !req.Via.IsValid() {
		return e.flags&entHasVia == 0
	}
	return e.flags&entHasVia != 0 && e.via == req.Via.As16()
}

// samePath reports whether req arrives the way the entry was reached.
func (e *entry) samePath(req *Request) bool {
	if !e.sameVia(req) {
		return false
	}
	if req.Via.IsValid() {
		return true
	}
	return e.link == req.Link && e.ll == req.LinkAddr
}

func (e *entry) registration(k regKey) Registration {
	reg := Registration{
		Addr:       netip.AddrFrom16(k.addr),
		Link:       e.link,
		TID:        e.tid,
		HasTID:     e.flags&entHasTID != 0,
		Lifetime:   e.lifetime,
		Expires:    time.Unix(0, e.expires).UTC(),
		Registered: time.Unix(0, e.registered).UTC(),
		LinkAddr:   e.ll,
	}
	copy(reg.ROVR.b[:], e.rovr[:e.rovrLen])
	reg.ROVR.n = e.rovrLen
	if e.flags&entHasVia != 0 {
		reg.Via = netip.AddrFrom16(e.via)
	}
	return reg
}

// Register applies a registration request at time now and returns the
// decision (see the rules on Registry).
func (r *Registry) Register(req Request, now time.Time) Result {
	t := now.UnixNano()
	k := keyOf(req.Addr, req.Link)
	r.mu.Lock()
	defer r.mu.Unlock()
	var res Result
	e, exists := r.entries[k]
	if exists && now.UnixNano() >= e.expires {
		// Expired (whether live or held after deregistration): gone.
		r.delete(k, &e)
		exists = false
	}
	if exists && e.flags&entRemoved != 0 {
		// Held after a deregistration (RFC 8505 §5.7): only the owner's
		// stale TIDs are still answered from it.
		if e.rovrEqual(&req.ROVR) && req.HasTID && e.flags&entHasTID != 0 &&
			CompareTID(req.TID, e.tid) == TIDOlder {
			res.Status = StatusMoved
			return res
		}
		if req.Lifetime == 0 {
			res.Status = StatusSuccess
			return res
		}
		r.delete(k, &e)
		r.insert(k, &req, t)
		res.Status, res.Created = StatusSuccess, true
		return res
	}
	if !exists {
		res.Status = StatusSuccess
		if req.Lifetime == 0 {
			return res
		}
		if len(r.entries) >= r.capacity && !r.reclaim(t) {
			res.Status = StatusRegistrySaturated
			return res
		}
		r.insert(k, &req, t)
		res.Created = true
		return res
	}

	res.HadPrevious = true
	if !e.rovrEqual(&req.ROVR) {
		res.Status, res.Previous = StatusDuplicate, e.registration(k)
		return res
	}
	newer := false
	if e.flags&entHasTID != 0 {
		if !req.HasTID {
			res.Status, res.Previous = StatusMoved, e.registration(k)
			return res
		}
		switch CompareTID(req.TID, e.tid) {
		case TIDOlder:
			res.Status, res.Previous = StatusMoved, e.registration(k)
			return res
		case TIDNewer, TIDNotComparable:
			newer = true
		}
	}
	res.Status = StatusSuccess
	if req.Lifetime == 0 {
		res.Removed, res.Previous = true, e.registration(k)
		r.changes++
		if r.delay > 0 {
			r.unindex(k, &e)
			e.flags |= entRemoved
			if req.HasTID {
				e.tid, e.flags = req.TID, e.flags|entHasTID
			}
			e.expires = t + r.delay
			r.entries[k] = e
			return res
		}
		r.delete(k, &e)
		return res
	}
	if !e.samePath(&req) && newer {
		res.Moved, res.Previous = true, e.registration(k)
	}
	old := e
	r.fill(&e, &req, t)
	r.entries[k] = e
	if indexed(&old) && indexed(&e) && old.ll == e.ll {
		r.touch(k, e.ll)
	} else {
		r.unindex(k, &old)
		r.index(k, &e)
	}
	r.changes++
	return res
}

// indexed reports whether an entry belongs in the node index: registered
// directly, with a link-layer address.
func indexed(e *entry) bool {
	return e.flags&(entHasVia|entRemoved) == 0 && e.ll.Kind() != lowpan.LinkAddrNone
}

// touch makes k the most recent address of node ll (a refresh); in the
// common case of a node with one address it only reads the index.
func (r *Registry) touch(k regKey, ll lowpan.LinkAddr) {
	if idx, ok := r.nodes[ll]; ok && idx.n > 0 && idx.keys[0] == k {
		return
	}
	e := entry{ll: ll}
	r.index(k, &e)
}

func (r *Registry) fill(e *entry, req *Request, t int64) {
	e.rovr = req.ROVR.b
	e.rovrLen = req.ROVR.n
	e.flags &^= entHasTID | entHasVia | entRemoved
	if req.HasTID {
		e.tid, e.flags = req.TID, e.flags|entHasTID
	}
	if req.Via.IsValid() {
		e.via, e.flags = req.Via.As16(), e.flags|entHasVia
		e.ll = lowpan.LinkAddr{}
	} else {
		e.via = [16]byte{}
		e.ll = req.LinkAddr
	}
	e.link = req.Link
	e.lifetime = req.Lifetime
	e.registered = t
	e.expires = t + int64(req.Lifetime)*int64(time.Minute)
	r.seq++
	e.seq = r.seq
}

func (r *Registry) insert(k regKey, req *Request, t int64) {
	var e entry
	r.fill(&e, req, t)
	r.entries[k] = e
	r.index(k, &e)
	r.changes++
}

func (r *Registry) delete(k regKey, e *entry) {
	r.unindex(k, e)
	delete(r.entries, k)
	r.changes++
}

// index records k as the most recent address of a directly registered
// node.
func (r *Registry) index(k regKey, e *entry) {
	if !indexed(e) {
		return
	}
	idx := r.nodes[e.ll]
	i := 0
	for ; i < int(idx.n); i++ {
		if idx.keys[i] == k {
			break
		}
	}
	if i == int(idx.n) {
		if idx.n < nodeIndexSize {
			idx.n++
		} else {
			i = nodeIndexSize - 1 // drop the oldest
		}
	}
	copy(idx.keys[1:i+1], idx.keys[:i])
	idx.keys[0] = k
	r.nodes[e.ll] = idx
}

func (r *Registry) unindex(k regKey, e *entry) {
	if e.ll.Kind() == lowpan.LinkAddrNone {
		return
	}
	idx, ok := r.nodes[e.ll]
	if !ok {
		return
	}
	for i := 0; i < int(idx.n); i++ {
		if idx.keys[i] == k {
			copy(idx.keys[i:], idx.keys[i+1:idx.n])
			idx.n--
			idx.keys[idx.n] = regKey{}
			break
		}
	}
	if idx.n == 0 {
		delete(r.nodes, e.ll)
		return
	}
	r.nodes[e.ll] = idx
}

// reclaim sweeps expired entries from a full registry, at most once a
// second; it reports whether there is room now.
func (r *Registry) reclaim(t int64) bool {
	if t-r.lastReclaim < int64(time.Second) && r.lastReclaim != 0 {
		return false
	}
	r.lastReclaim = t
	r.expireLocked(t)
	return len(r.entries) < r.capacity
}

// Expire removes the registrations whose lifetime has run out (and
// deregistered entries whose delay has passed) and returns how many.
func (r *Registry) Expire(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expireLocked(now.UnixNano())
}

func (r *Registry) expireLocked(t int64) int {
	n := 0
	for k, e := range r.entries {
		if t >= e.expires {
			r.delete(k, &e)
			n++
		}
	}
	return n
}

// Lookup returns the live registration of a non-link-local address.
func (r *Registry) Lookup(addr netip.Addr, now time.Time) (Registration, bool) {
	return r.lookup(keyOf(addr, 0), now)
}

// LookupLinkLocal returns the live registration of a link-local address on
// link.
func (r *Registry) LookupLinkLocal(link LinkID, addr netip.Addr, now time.Time) (Registration, bool) {
	return r.lookup(keyOf(addr, link), now)
}

func (r *Registry) lookup(k regKey, now time.Time) (Registration, bool) {
	t := now.UnixNano()
	r.mu.RLock()
	e, ok := r.entries[k]
	r.mu.RUnlock()
	if !ok || !e.live(t) {
		return Registration{}, false
	}
	return e.registration(k), true
}

// maxViaDepth bounds the chain of 6LRs NextHop follows.
const maxViaDepth = 8

// NextHop resolves how to reach a registered non-link-local address:
// directly registered, its own link and link-layer address; registered
// through a 6LR, the next hop of that 6LR's own registration (followed
// through up to 8 6LRs). ok is false when the address or a 6LR on the way
// is not registered, or when a chain loops.
func (r *Registry) NextHop(addr netip.Addr, now time.Time) (link LinkID, ll lowpan.LinkAddr, ok bool) {
	t := now.UnixNano()
	r.mu.RLock()
	defer r.mu.RUnlock()
	k := keyOf(addr, 0)
	for range maxViaDepth {
		e, found := r.entries[k]
		if !found || !e.live(t) {
			return 0, lowpan.LinkAddr{}, false
		}
		if e.flags&entHasVia == 0 {
			return e.link, e.ll, true
		}
		k = regKey{addr: e.via}
		if netip.AddrFrom16(e.via).IsLinkLocalUnicast() {
			k.link = e.link
		}
	}
	return 0, lowpan.LinkAddr{}, false
}

// LatestRegistered returns the address the node with link-layer address
// node registered last (directly) under prefix: RFC 7668 §3.2.4 elides it.
// It implements lowpan.Registrations and does not allocate.
func (r *Registry) LatestRegistered(node lowpan.LinkAddr, prefix netip.Prefix) (netip.Addr, bool) {
	t := r.now().UnixNano()
	r.mu.RLock()
	defer r.mu.RUnlock()
	idx, ok := r.nodes[node]
	if !ok {
		return netip.Addr{}, false
	}
	for i := 0; i < int(idx.n); i++ { // most recent first
		k := idx.keys[i]
		e, found := r.entries[k]
		if !found || !e.live(t) || e.ll != node {
			continue
		}
		if a := netip.AddrFrom16(k.addr); prefix.Contains(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// RegisteredOn reports whether the node with link-layer address node holds
// a live registration made directly over link: on a point-to-point link
// (a BLE connection), whether its neighbour registered with this router.
func (r *Registry) RegisteredOn(link LinkID, node lowpan.LinkAddr, now time.Time) bool {
	t := now.UnixNano()
	r.mu.RLock()
	defer r.mu.RUnlock()
	idx, ok := r.nodes[node]
	if !ok {
		return false
	}
	for i := 0; i < int(idx.n); i++ {
		if e, found := r.entries[idx.keys[i]]; found && e.live(t) && e.link == link && e.ll == node {
			return true
		}
	}
	return false
}

// RemoveLink deletes every registration made over link (directly or
// through a 6LR there), when the link itself went away; it returns how
// many.
func (r *Registry) RemoveLink(link LinkID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, e := range r.entries {
		if e.link == link {
			r.delete(k, &e)
			n++
		}
	}
	return n
}

// Remove deletes the registration of addr (link matters for a link-local
// address only), as an administrative action; it reports whether there
// was one.
func (r *Registry) Remove(addr netip.Addr, link LinkID) bool {
	k := keyOf(addr, link)
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[k]
	if ok {
		r.delete(k, &e)
	}
	return ok
}

// Snapshot returns the live registrations at now, sorted by address then
// link, for status pages, metrics and the state file.
func (r *Registry) Snapshot(now time.Time) []Registration {
	t := now.UnixNano()
	r.mu.RLock()
	out := make([]Registration, 0, len(r.entries))
	for k, e := range r.entries {
		if e.live(t) {
			out = append(out, e.registration(k))
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Registration) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return int(a.Link) - int(b.Link)
	})
	return out
}

// RegistryStats counts the registry's entries.
type RegistryStats struct {
	Entries  int // all held entries
	Live     int // live registrations
	Direct   int // live, registered directly
	Via6LR   int // live, registered through a 6LR
	Capacity int
}

// Stats counts the entries at now.
func (r *Registry) Stats(now time.Time) RegistryStats {
	t := now.UnixNano()
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := RegistryStats{Entries: len(r.entries), Capacity: r.capacity}
	for _, e := range r.entries {
		if !e.live(t) {
			continue
		}
		s.Live++
		if e.flags&entHasVia != 0 {
			s.Via6LR++
		} else {
			s.Direct++
		}
	}
	return s
}

// restore puts saved registrations back (state file): those still live at
// now, up to the capacity. It returns how many were restored.
func (r *Registry) restore(regs []Registration, now time.Time) int {
	t := now.UnixNano()
	// Oldest first, so that the most recent registration of a node ends
	// up first in its index, as it was.
	regs = slices.Clone(regs)
	slices.SortStableFunc(regs, func(a, b Registration) int { return a.Registered.Compare(b.Registered) })
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for i := range regs {
		g := &regs[i]
		exp := g.Expires.UnixNano()
		if t >= exp || len(r.entries) >= r.capacity {
			continue
		}
		req := Request{Addr: g.Addr, Link: g.Link, ROVR: g.ROVR, TID: g.TID, HasTID: g.HasTID,
			Lifetime: g.Lifetime, LinkAddr: g.LinkAddr, Via: g.Via}
		k := keyOf(g.Addr, g.Link)
		if old, ok := r.entries[k]; ok {
			r.delete(k, &old)
		}
		var e entry
		r.fill(&e, &req, g.Registered.UnixNano())
		e.expires = exp
		r.entries[k] = e
		r.index(k, &e)
		n++
	}
	r.changes++
	return n
}
