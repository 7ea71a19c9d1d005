package nd

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// LinkID names one link of the border router: an 802.15.4 PAN, one BLE
// connection, ... The router assigns them; the registry only compares them.
// Link-local registrations are scoped to their link (RFC 8505 §5.6).
type LinkID uint32

// Defaults of RegistryConfig.
const (
	// DefaultRegistryCapacity is the registry size when none is configured.
	DefaultRegistryCapacity = 10000
	// DefaultMaxPerNeighbor bounds the registrations one link-layer
	// neighbour holds for itself (and relays, when it is a stranger). A
	// host registers its link-local address (RFC 8505 §5.6) and a few
	// global ones: RIOT's GNRC holds 2 plus its DHCPv6 leases per
	// interface (CONFIG_GNRC_NETIF_IPV6_ADDRS_NUMOF,
	// sys/include/net/gnrc/netif/conf.h), a Linux host one or two
	// temporary addresses besides (RFC 8981). 16 leaves room for a
	// renumbering overlap and refuses a flood from one radio after 16.
	DefaultMaxPerNeighbor = 16
	// DefaultMaxLifetime caps the registration lifetime granted: 60 min,
	// four times RIOT's default registration lifetime of 15 min
	// (CONFIG_GNRC_SIXLOWPAN_ND_AR_LTIME, sys/include/net/gnrc/sixlowpan/
	// config.h) and six times the simulator's 10 min. An entry nobody
	// renews is gone within an hour, also after a restart.
	DefaultMaxLifetime = 60 * time.Minute
	// MaxLifetime is the longest lifetime an (E)ARO can carry: 0xffff
	// units of 60 s (RFC 8505 §4.1).
	MaxLifetime = 0xffff * time.Minute
	// ConfirmationPeriod is how long a new registration that was not
	// proven stays tentative: TENTATIVE_NCE_LIFETIME, 20 s (RFC 6775 §9;
	// RIOT's SIXLOWPAN_ND_TENTATIVE_NCE_SEC_LTIME, sys/include/net/
	// sixlowpan/nd.h), the time RFC 6775 gives a 6LR's tentative
	// neighbour cache entry before it either becomes a registered one or
	// is dropped. A registration that survives it, or that its owner
	// renews (a newer TID, RFC 8505 §5.2), is established.
	ConfirmationPeriod = 20 * time.Second
)

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
	// granted (the request's, capped); Expires the time it runs out.
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
	// Neighbor is the link-layer neighbour the registration is charged
	// to (RegistryConfig.MaxPerNeighbor): the node itself when direct,
	// the neighbour that relayed the EDAR otherwise.
	Neighbor lowpan.LinkAddr
	// Protected: the registration was proven by its Crypto-ID (RFC 8928
	// §6, Request.Proven); only a proven registration may change or
	// remove it.
	Protected bool
	// Tentative: a new registration not yet confirmed (ConfirmationPeriod);
	// it may be evicted to make room for another.
	Tentative bool
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
	// Neighbor is the link-layer neighbour the request came from (the
	// frame's source: the node itself for an NS, the relaying 6LR for an
	// EDAR); the registration is charged to it. Zero: LinkAddr for a
	// direct registration; for one through a 6LR, the 6LR's next hop as
	// the registry resolves it (an unresolved 6LR shares one account).
	Neighbor lowpan.LinkAddr
	// Proven says that the caller verified the registration's proof of
	// ownership (RFC 8928 §6: the ROVR is a Crypto-ID and the NDPSO's
	// signature over the challenge is good). A proven registration is
	// established at once and protected: see Registry for the rule.
	Proven bool
}

// Refusal says why the registry had no room for a registration.
type Refusal uint8

const (
	RefusedNone     Refusal = iota
	RefusedNeighbor         // the neighbour's share (MaxPerNeighbor or MaxPerRouter) is used up
	RefusedLink             // the link's share (MaxPerLink) is used up by established entries
	RefusedCapacity         // the registry is full of established entries
)

func (r Refusal) String() string {
	switch r {
	case RefusedNone:
		return "none"
	case RefusedNeighbor:
		return "neighbor quota"
	case RefusedLink:
		return "link quota"
	case RefusedCapacity:
		return "registry full"
	}
	return "refusal " + strconv.Itoa(int(r))
}

// Result is the registry's decision on a Request.
type Result struct {
	Status Status
	// Lifetime is the lifetime granted, in units of 60 s: the request's,
	// at most RegistryConfig.MaxLifetime. The router returns it in the
	// NA's EARO and the DAC, and the node refreshes by it (RIOT's GNRC
	// schedules its re-registration from the NA's lifetime:
	// sys/net/gnrc/network_layer/ipv6/nib/_nib-6ln.c, _handle_aro).
	Lifetime uint16
	// Created: the address had no (live) registration before.
	Created bool
	// Removed: a zero lifetime removed the registration.
	Removed bool
	// Moved: a more recent registration (newer TID) arrived over another
	// path — another 6LR, or directly after a 6LR, or the reverse. The old
	// path is in Previous; RFC 8505 §5.7 wants it told "moved".
	Moved bool
	// Refused says why a registration found no room (Status is then
	// StatusNeighborCacheFull).
	Refused Refusal
	// NeedsProof: the address holds a protected registration under the
	// same ROVR and the request was not proven; nothing changed and Status
	// is StatusValidationRequested (RFC 8928 §6.1: the caller challenges
	// the node, or answers StatusValidationFailed when it cannot).
	NeedsProof bool
	// Evicted is the tentative registration removed to make room for
	// this one; nil when none was.
	Evicted *Registration
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
	// MaxPerNeighbor bounds the registrations charged to one link-layer
	// neighbour for its own addresses, and for the addresses it relays
	// (EDAR) while it holds no registration of its own (a stranger);
	// default DefaultMaxPerNeighbor.
	MaxPerNeighbor int
	// MaxPerRouter bounds the registrations a neighbour that holds a live
	// registration of its own (a 6LR) relays for the nodes behind it;
	// default half of MaxPerLink. Sizing: every registration of a subtree
	// reaches the 6LBR through the 6LBR's neighbour at its root, so a
	// chokepoint 6LR (the first node of a line, the one neighbour of a
	// far cluster) relays the whole subtree: it needs a large share. Half
	// the link lets two such subtrees fill the link between them, and
	// leaves half of it to everyone else when one radio claims to be a
	// 6LR and relays forged EDARs. Without proof of ownership (RFC 8928)
	// a subtree cannot be told from a forged one; the share bounds the
	// damage.
	MaxPerRouter int
	// MaxPerLink bounds the registrations made over one link (a PAN, a
	// BLE connection); default Capacity.
	MaxPerLink int
	// MaxLifetime caps the registration lifetime granted. The NA's EARO
	// and the DAC carry a Registration Lifetime (RFC 8505 §4.1, §4.2):
	// the granted one goes there, and nodes refresh by it (RIOT's GNRC
	// schedules its re-registration from the NA's lifetime). Default
	// DefaultMaxLifetime, at most MaxLifetime, whole minutes.
	MaxLifetime time.Duration
	// ConfirmationPeriod is how long a new registration that was not
	// proven stays tentative (default ConfirmationPeriod; negative:
	// established at once).
	ConfirmationPeriod time.Duration
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

func (c *RegistryConfig) normalize() {
	if c.Capacity <= 0 {
		c.Capacity = DefaultRegistryCapacity
	}
	if c.MaxPerLink <= 0 || c.MaxPerLink > c.Capacity {
		c.MaxPerLink = c.Capacity
	}
	if c.MaxPerNeighbor <= 0 {
		c.MaxPerNeighbor = DefaultMaxPerNeighbor
	}
	c.MaxPerNeighbor = min(c.MaxPerNeighbor, c.MaxPerLink)
	if c.MaxPerRouter <= 0 {
		c.MaxPerRouter = max(c.MaxPerLink/2, c.MaxPerNeighbor)
	}
	c.MaxPerRouter = min(c.MaxPerRouter, c.MaxPerLink)
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = DefaultMaxLifetime
	}
	c.MaxLifetime = min(max(c.MaxLifetime, time.Minute), MaxLifetime)
	if c.ConfirmationPeriod == 0 {
		c.ConfirmationPeriod = ConfirmationPeriod
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Registry is the 6LBR's registry of registered addresses. It is safe for
// concurrent use; lookups take a read lock only and do not allocate.
//
// Rules (Register):
//
//   - A new address is accepted while there is room: the neighbour it is
//     charged to (Request.Neighbor) holds fewer than MaxPerNeighbor of
//     its own, or of relayed ones fewer than MaxPerRouter when it holds a
//     registration itself (a 6LR relaying for its children) and
//     MaxPerNeighbor when not (a stranger); its link fewer than
//     MaxPerLink; the registry fewer than its capacity. A full link or
//     registry makes room by evicting its oldest tentative entry; a
//     tentative entry never evicts an established one. Otherwise
//     StatusNeighborCacheFull and Result.Refused says which limit (RFC
//     8505 §4.1 status 2; the router answers an EDAR with status 9, "6LBR
//     registry saturated", as RFC 8505 §4.1 has 6LBRs do in a DAC).
//   - A new registration is tentative for ConfirmationPeriod, unless
//     proven; it is established once that passed, or when its owner
//     renews it (a newer TID, or any refresh without TIDs).
//   - The lifetime granted is at most MaxLifetime (Result.Lifetime).
//   - An address registered under another ROVR: StatusDuplicate, the
//     existing registration kept (RFC 6775 §6.5.1, §8.2.4; RFC 8505 §5.3).
//   - Protection (RFC 8928): a registration made by a proven request
//     (Request.Proven) is protected, and a request that is not proven
//     never changes it — no newer TID, no other path, no zero lifetime:
//     StatusValidationRequested with Result.NeedsProof, nothing changed.
//     This holds for requests relayed by 6LRs (EDAR) as for NSs.
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
//     route there, if the new path has room; with a strictly newer TID
//     it is a movement and Result says Moved, with an equal TID it is the
//     same transaction seen over several 6LRs (RFC 8505 §5.2) and not
//     reported.
//   - Entries whose lifetime ran out are absent for every method and are
//     reclaimed by Expire (and by a full registry before it refuses).
type Registry struct {
	mu      sync.RWMutex
	cfg     RegistryConfig
	maxLife uint16 // MaxLifetime in minutes
	delay   int64
	entries map[regKey]entry
	nodes   map[lowpan.LinkAddr]nodeIndex
	// perNbr and perLink count the registrations charged to each
	// neighbour and link (deregistered entries held for the delay are
	// not charged).
	perNbr  map[nbrKey]nbrCount
	perLink map[LinkID]int
	// tentative lists each link's tentative entries, oldest first.
	tentative map[LinkID]*tentQueue
	seq       uint64
	changes   uint64
	// lastReclaim is when a full registry last swept expired entries, so
	// that requests hitting a full registry cost a sweep at most once a
	// second.
	lastReclaim int64
	// journal: changed keys since the last takeChanges, when tracking is
	// on (the router's state file); overflowed when there were too many
	// to keep (the saver then writes everything).
	track      bool
	dirty      []regKey
	overflowed bool
	notify     chan struct{}
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

// nbrKey is a neighbour's account: its link-layer address on a link.
type nbrKey struct {
	link LinkID
	ll   lowpan.LinkAddr
}

type nbrCount struct {
	own, relayed int
}

const (
	entHasTID    = 1 << iota
	entHasVia    // reached through a 6LR
	entRemoved   // deregistered, held for DeregistrationDelay
	entTentative // not yet confirmed; may be evicted
	entProtected // proven by a Crypto-ID (RFC 8928)
	entDirty     // changed since the last takeChanges
)

// entry is the stored form of a Registration: no pointers, so a map of
// 10 000 of them costs the garbage collector nothing to scan.
type entry struct {
	rovr       [32]byte
	expires    int64 // Unix nanoseconds
	registered int64
	created    int64
	seq        uint64 // order of registrations, for LatestRegistered
	via        [16]byte
	link       LinkID
	ll         lowpan.LinkAddr
	nbr        lowpan.LinkAddr // the neighbour charged
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
	c.normalize()
	return &Registry{
		cfg:       c,
		maxLife:   uint16(c.MaxLifetime / time.Minute),
		delay:     int64(c.DeregistrationDelay),
		entries:   make(map[regKey]entry),
		nodes:     make(map[lowpan.LinkAddr]nodeIndex),
		perNbr:    make(map[nbrKey]nbrCount),
		perLink:   make(map[LinkID]int),
		tentative: make(map[LinkID]*tentQueue),
		notify:    make(chan struct{}, 1),
	}
}

// Capacity returns the maximum number of registrations.
func (r *Registry) Capacity() int { return r.cfg.Capacity }

// Config returns the registry's configuration with its defaults filled in.
func (r *Registry) Config() RegistryConfig { return r.cfg }

// Len returns the number of entries held, expired and deregistered ones
// not yet reclaimed included (they occupy room).
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.entries)
}

// Changes returns a counter that increases with every change to the
// registry.
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
func (e *entry) samePath(req *Request, nbr lowpan.LinkAddr) bool {
	if !e.sameVia(req) || e.link != req.Link || e.nbr != nbr {
		return false
	}
	return req.Via.IsValid() || e.ll == req.LinkAddr
}

func (e *entry) account() nbrKey { return nbrKey{link: e.link, ll: e.nbr} }

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
		Neighbor:   e.nbr,
		Protected:  e.flags&entProtected != 0,
		Tentative:  e.flags&entTentative != 0,
	}
	copy(reg.ROVR.b[:], e.rovr[:e.rovrLen])
	reg.ROVR.n = e.rovrLen
	if e.flags&entHasVia != 0 {
		reg.Via = netip.AddrFrom16(e.via)
	}
	return reg
}

// grant is the lifetime granted for a requested one.
func (r *Registry) grant(l uint16) uint16 { return min(l, r.maxLife) }

// Register applies a registration request at time now and returns the
// decision (see the rules on Registry).
func (r *Registry) Register(req Request, now time.Time) Result {
	t := now.UnixNano()
	k := keyOf(req.Addr, req.Link)
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Lifetime: r.grant(req.Lifetime)}
	e, exists := r.entries[k]
	if exists && t >= e.expires {
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
		res.Status = StatusSuccess
		if req.Lifetime == 0 {
			return res
		}
		r.delete(k, &e)
		r.create(k, &req, t, &res)
		return res
	}
	if !exists {
		res.Status = StatusSuccess
		if req.Lifetime == 0 {
			return res
		}
		r.create(k, &req, t, &res)
		return res
	}

	res.HadPrevious = true
	if !e.rovrEqual(&req.ROVR) {
		res.Status, res.Previous = StatusDuplicate, e.registration(k)
		return res
	}
	if e.flags&entProtected != 0 && !req.Proven {
		// RFC 8928 §6: only the holder of the Crypto-ID's private key may
		// update or remove its registration; a copied ROVR is not proof.
		res.Status, res.NeedsProof, res.Previous = StatusValidationRequested, true, e.registration(k)
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
		if r.delay > 0 {
			r.uncharge(&e)
			r.unindex(k, &e)
			e.flags |= entRemoved
			if req.HasTID {
				e.tid, e.flags = req.TID, e.flags|entHasTID
			}
			e.expires = t + r.delay
			r.store(k, &e)
			return res
		}
		r.delete(k, &e)
		return res
	}
	nbr := r.neighborOf(&req, t)
	moving := !e.samePath(&req, nbr)
	if moving && !r.room(&req, nbr, k, &e, t, true, &res) {
		return res
	}
	if moving && newer {
		res.Moved, res.Previous = true, e.registration(k)
	}
	old := e
	r.fill(&e, &req, t, nbr)
	// Renewal by the owner confirms a tentative entry: a newer TID is a
	// new registration of the same node (RFC 8505 §5.2); without TIDs
	// (RFC 6775) any refresh counts.
	if newer || old.flags&entHasTID == 0 || req.Proven {
		e.flags &^= entTentative
	}
	if moving {
		r.uncharge(&old)
		r.charge(&e)
	}
	r.store(k, &e)
	if indexed(&old) && indexed(&e) && old.ll == e.ll {
		r.touch(k, e.ll)
	} else {
		r.unindex(k, &old)
		r.index(k, &e)
	}
	return res
}

// create adds a registration for a new address if there is room.
func (r *Registry) create(k regKey, req *Request, t int64, res *Result) {
	nbr := r.neighborOf(req, t)
	if !r.room(req, nbr, k, nil, t, true, res) {
		return
	}
	var e entry
	r.fill(&e, req, t, nbr)
	e.created = t
	if !req.Proven && r.cfg.ConfirmationPeriod > 0 {
		e.flags |= entTentative
		r.add(r.queue(e.link), k, t)
	}
	r.charge(&e)
	r.store(k, &e)
	r.index(k, &e)
	res.Created = true
}

// neighborOf is the neighbour a request is charged to.
func (r *Registry) neighborOf(req *Request, t int64) lowpan.LinkAddr {
	switch {
	case req.Neighbor.Kind() != lowpan.LinkAddrNone:
		return req.Neighbor
	case !req.Via.IsValid():
		return req.LinkAddr
	}
	if rt, err := r.routeLocked(keyOf(req.Via, req.Link), t); err == nil {
		return rt.NextHop
	}
	return lowpan.LinkAddr{}
}

// isRouter reports whether neighbour nbr on link holds a live registration
// made directly: a 6LR relaying for the nodes behind it.
func (r *Registry) isRouter(link LinkID, nbr lowpan.LinkAddr, t int64) bool {
	if r.perNbr[nbrKey{link, nbr}].own == 0 {
		return false
	}
	idx := r.nodes[nbr]
	for i := 0; i < int(idx.n); i++ {
		if e, ok := r.entries[idx.keys[i]]; ok && e.live(t) && e.link == link && e.ll == nbr {
			return true
		}
	}
	return false
}

// room reports whether req, charged to nbr, fits: as a new entry (old nil)
// or moving entry old (key k) to another path. With evictOK it evicts a
// tentative entry when that makes room on a full link or in a full
// registry; it fills res's Status and Refused when there is no room.
func (r *Registry) room(req *Request, nbr lowpan.LinkAddr, k regKey, old *entry, t int64, evictOK bool, res *Result) bool {
	acct := nbrKey{link: req.Link, ll: nbr}
	relayed := req.Via.IsValid()
	// The old entry's charges stay where they are until it moves: a move
	// within an account or a link needs no room there.
	sameAcct := old != nil && old.account() == acct && (old.flags&entHasVia != 0) == relayed
	sameLink := old != nil && old.link == req.Link
	refuse := func(why Refusal) bool {
		res.Status, res.Refused = StatusNeighborCacheFull, why
		return false
	}
	for attempt := 0; ; attempt++ {
		why := RefusedNone
		if !sameAcct {
			c := r.perNbr[acct]
			switch {
			case !relayed && c.own >= r.cfg.MaxPerNeighbor:
				why = RefusedNeighbor
			case relayed && c.relayed >= r.cfg.MaxPerNeighbor &&
				(c.relayed >= r.cfg.MaxPerRouter || !r.isRouter(req.Link, nbr, t)):
				why = RefusedNeighbor
			}
		}
		if why == RefusedNone && old == nil && len(r.entries) >= r.cfg.Capacity {
			why = RefusedCapacity
		}
		if why == RefusedNone && !sameLink && r.perLink[req.Link] >= r.cfg.MaxPerLink {
			why = RefusedLink
		}
		if why == RefusedNone {
			return true
		}
		// Expired entries still count until swept: sweep (at most once a
		// second) and look again, then make room from the tentative.
		if attempt == 0 && r.reclaim(t) {
			continue
		}
		if !evictOK {
			return refuse(why)
		}
		switch why {
		case RefusedLink:
			if !r.evict(req.Link, false, k, t, res) {
				return refuse(why)
			}
		case RefusedCapacity:
			if !r.evict(0, true, k, t, res) {
				return refuse(why)
			}
		default:
			return refuse(why)
		}
	}
}

// charge and uncharge count a (not deregistered) entry in its link's and
// neighbour's accounts.
func (r *Registry) charge(e *entry) { r.count(e, 1) }

func (r *Registry) uncharge(e *entry) { r.count(e, -1) }

func (r *Registry) count(e *entry, d int) {
	if e.flags&entRemoved != 0 {
		return
	}
	if n := r.perLink[e.link] + d; n > 0 {
		r.perLink[e.link] = n
	} else {
		delete(r.perLink, e.link)
	}
	a := e.account()
	c := r.perNbr[a]
	if e.flags&entHasVia != 0 {
		c.relayed += d
	} else {
		c.own += d
	}
	if c.own > 0 || c.relayed > 0 {
		r.perNbr[a] = c
	} else {
		delete(r.perNbr, a)
	}
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

func (r *Registry) fill(e *entry, req *Request, t int64, nbr lowpan.LinkAddr) {
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
	if req.Proven {
		e.flags |= entProtected
	}
	e.nbr = nbr
	e.link = req.Link
	e.lifetime = r.grant(req.Lifetime)
	e.registered = t
	e.expires = t + int64(e.lifetime)*int64(time.Minute)
	r.seq++
	e.seq = r.seq
}

// store writes e back under k and notes the change for the journal.
func (r *Registry) store(k regKey, e *entry) {
	if r.track && e.flags&entDirty == 0 {
		e.flags |= entDirty
		r.noteChange(k)
	}
	r.entries[k] = *e
	r.changes++
}

func (r *Registry) delete(k regKey, e *entry) {
	r.uncharge(e)
	r.unindex(k, e)
	delete(r.entries, k)
	r.changes++
	if r.track {
		r.noteChange(k)
	}
}

// maxDirty bounds the changes remembered between two saves; past it the
// saver writes the whole registry.
func (r *Registry) maxDirty() int { return 2*r.cfg.Capacity + 1024 }

func (r *Registry) noteChange(k regKey) {
	if r.overflowed {
		return
	}
	if len(r.dirty) >= r.maxDirty() {
		r.overflowed, r.dirty = true, r.dirty[:0]
		return
	}
	if len(r.dirty) == 0 {
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
	r.dirty = append(r.dirty, k)
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

// reclaim sweeps expired entries, at most once a second; it reports
// whether it removed any.
func (r *Registry) reclaim(t int64) bool {
	if t-r.lastReclaim < int64(time.Second) && r.lastReclaim != 0 {
		return false
	}
	r.lastReclaim = t
	return r.expireLocked(t) > 0
}

// Expire removes the registrations whose lifetime has run out (and
// deregistered entries whose delay has passed) and returns how many.
func (r *Registry) Expire(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := now.UnixNano()
	n := r.expireLocked(t)
	for _, q := range r.tentative {
		r.trim(q, t)
	}
	return n
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
	reg := e.registration(k)
	reg.Tentative = r.tentativeAt(&e, t)
	return reg, true
}

// tentativeAt reports whether e is still tentative at t (it becomes
// established when ConfirmationPeriod has passed, without being touched).
func (r *Registry) tentativeAt(e *entry, t int64) bool {
	return e.flags&entTentative != 0 && t-e.created < int64(r.cfg.ConfirmationPeriod)
}

// LatestRegistered returns the address the node with link-layer address
// node registered last (directly) under prefix: RFC 7668 §3.2.4 elides it.
// It implements lowpan.Registrations and does not allocate.
func (r *Registry) LatestRegistered(node lowpan.LinkAddr, prefix netip.Prefix) (netip.Addr, bool) {
	t := r.cfg.Now().UnixNano()
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
	delete(r.tentative, link)
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
			g := e.registration(k)
			g.Tentative = r.tentativeAt(&e, t)
			out = append(out, g)
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
	Entries   int `json:"entries"`   // all held entries
	Live      int `json:"live"`      // live registrations
	Direct    int `json:"direct"`    // live, registered directly
	Via6LR    int `json:"via_6lr"`   // live, registered through a 6LR
	Tentative int `json:"tentative"` // live, not yet confirmed
	Protected int `json:"protected"` // live, proven by a Crypto-ID
	Capacity  int `json:"capacity"`
}

// Stats counts the entries at now.
func (r *Registry) Stats(now time.Time) RegistryStats {
	t := now.UnixNano()
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := RegistryStats{Entries: len(r.entries), Capacity: r.cfg.Capacity}
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
		if r.tentativeAt(&e, t) {
			s.Tentative++
		}
		if e.flags&entProtected != 0 {
			s.Protected++
		}
	}
	return s
}
