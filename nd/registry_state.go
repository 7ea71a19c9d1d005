package nd

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// change is one registry change for the journal: the registration of a
// key as it is now, or its absence.
type change struct {
	reg     Registration // Addr and Link only when removed
	removed bool
}

// setTracking turns the journal's change list on or off.
func (r *Registry) setTracking(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.track = on
	r.dirty, r.overflowed = r.dirty[:0], false
	for k, e := range r.entries {
		if e.flags&entDirty != 0 {
			e.flags &^= entDirty
			r.entries[k] = e
		}
	}
}

// Notify returns a channel that receives a value when the registry
// changes after its changes were last taken (the state saver waits on it).
func (r *Registry) Notify() <-chan struct{} { return r.notify }

// takeChanges returns the changes since the last call, each key once with
// its state at now (a registration no longer live is a removal); all is
// true when there were too many to remember and the whole registry must
// be written instead. discard forgets them instead.
func (r *Registry) takeChanges(now time.Time, discard bool) (out []change, all bool) {
	t := now.UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	all = r.overflowed
	seen := make(map[regKey]struct{}, len(r.dirty))
	for _, k := range r.dirty {
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		e, ok := r.entries[k]
		if ok && e.flags&entDirty != 0 {
			e.flags &^= entDirty
			r.entries[k] = e
		}
		if discard || all {
			continue
		}
		if ok && e.live(t) {
			g := e.registration(k)
			g.Tentative = r.tentativeAt(&e, t)
			out = append(out, change{reg: g})
			continue
		}
		out = append(out, change{reg: Registration{Addr: netip.AddrFrom16(k.addr), Link: k.link}, removed: true})
	}
	clear(r.dirty)
	r.dirty, r.overflowed = r.dirty[:0], false
	if cap(r.dirty) > 4096 && len(seen) < cap(r.dirty)/4 {
		r.dirty = nil // a burst is over: give its memory back
	}
	return out, all
}

// restoreCounts says what restore did with the registrations it was given.
type restoreCounts struct {
	restored     int
	overCapacity int // the registry (or a link) was full
	overQuota    int // the neighbour's share was full
}

// restore puts saved registrations back (the state file), checked by the
// router already: live, lifetimes sane. When they do not all fit (a
// smaller registry now, or shares that a forged flood had filled), the
// most valuable are kept: a node's own registrations before those relayed
// by a 6LR (whose share depends on its own), then protected, established,
// and the most recently registered first. Entries already held under the
// same key are replaced.
func (r *Registry) restore(regs []Registration, now time.Time) restoreCounts {
	t := now.UnixNano()
	regs = slices.Clone(regs)
	rank := func(g *Registration) (int, int, int) {
		b := func(v bool) int {
			if v {
				return 0
			}
			return 1
		}
		return b(g.Direct()), b(g.Protected), b(!g.Tentative)
	}
	slices.SortStableFunc(regs, func(a, b Registration) int {
		a1, a2, a3 := rank(&a)
		b1, b2, b3 := rank(&b)
		return cmp.Or(cmp.Compare(a1, b1), cmp.Compare(a2, b2), cmp.Compare(a3, b3), b.Registered.Compare(a.Registered))
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	var c restoreCounts
	var direct []regKey
	indexed := false
	for i := range regs {
		g := &regs[i]
		if !g.Direct() && !indexed {
			// A 6LR's share depends on its own registration: index the
			// nodes' own registrations, oldest first so that each node's
			// most recent address comes first, before the relayed ones.
			r.indexAll(direct)
			indexed = true
		}
		req := Request{Addr: g.Addr, Link: g.Link, ROVR: g.ROVR, TID: g.TID, HasTID: g.HasTID,
			Lifetime: g.Lifetime, LinkAddr: g.LinkAddr, Via: g.Via, Neighbor: g.Neighbor, Proven: g.Protected}
		k := keyOf(g.Addr, g.Link)
		if old, ok := r.entries[k]; ok {
			r.delete(k, &old)
		}
		nbr := r.neighborOf(&req, t)
		var res Result
		if !r.room(&req, nbr, k, nil, t, false, &res) {
			if res.Refused == RefusedNeighbor {
				c.overQuota++
			} else {
				c.overCapacity++
			}
			continue
		}
		var e entry
		r.fill(&e, &req, g.Registered.UnixNano(), nbr)
		e.lifetime, e.expires, e.created = g.Lifetime, g.Expires.UnixNano(), g.Registered.UnixNano()
		if g.Tentative && !g.Protected && r.cfg.ConfirmationPeriod > 0 && t-e.created < int64(r.cfg.ConfirmationPeriod) {
			e.flags |= entTentative
		}
		r.charge(&e)
		r.store(k, &e)
		if g.Direct() {
			direct = append(direct, k)
		}
		c.restored++
	}
	if !indexed {
		r.indexAll(direct)
	}
	// The tentative queues in creation order.
	var tent []regKey
	for k, e := range r.entries {
		if e.flags&entTentative != 0 {
			tent = append(tent, k)
		}
	}
	slices.SortFunc(tent, func(a, b regKey) int { return cmp.Compare(r.entries[a].created, r.entries[b].created) })
	for _, k := range tent {
		e := r.entries[k]
		r.queue(e.link).push(k, e.created)
	}
	return c
}

// indexAll indexes the given keys' entries, the least recently registered
// first.
func (r *Registry) indexAll(keys []regKey) {
	slices.SortFunc(keys, func(a, b regKey) int { return cmp.Compare(r.entries[a].registered, r.entries[b].registered) })
	for _, k := range keys {
		e := r.entries[k]
		r.index(k, &e)
	}
}
