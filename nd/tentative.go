package nd

// tentQueue lists one link's tentative registrations in the order they
// were created, so that the oldest is found without a scan. Items go stale
// when their entry is established, renewed, removed or replaced; they are
// skipped and dropped from the front (evict, trim), so the queue holds
// about the registrations of the last ConfirmationPeriod.
type tentQueue struct {
	items []tentItem
	head  int
}

type tentItem struct {
	k       regKey
	created int64
}

func (r *Registry) queue(link LinkID) *tentQueue {
	q := r.tentative[link]
	if q == nil {
		q = &tentQueue{}
		r.tentative[link] = q
	}
	return q
}

// add queues a new tentative entry; when the queue has grown past twice
// the registry (nobody called Expire), its stale front goes first.
func (r *Registry) add(q *tentQueue, k regKey, created int64) {
	if len(q.items)-q.head > 2*len(r.entries)+64 {
		r.trim(q, created)
	}
	q.push(k, created)
}

func (q *tentQueue) push(k regKey, created int64) {
	if q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, tentItem{k: k, created: created})
}

// current reports whether item i still stands for a tentative entry at t;
// an entry whose confirmation period has passed is marked established.
func (r *Registry) current(it tentItem, t int64) bool {
	e, ok := r.entries[it.k]
	if !ok || e.flags&entTentative == 0 || e.created != it.created {
		return false
	}
	if t >= e.expires {
		return false // expired: the sweep takes it
	}
	if t-e.created >= int64(r.cfg.ConfirmationPeriod) {
		e.flags &^= entTentative
		r.entries[it.k] = e // no journal note: restored entries are re-derived
		return false
	}
	return true
}

// trim drops the stale items at the front of q.
func (r *Registry) trim(q *tentQueue, t int64) {
	for q.head < len(q.items) && !r.current(q.items[q.head], t) {
		q.items[q.head] = tentItem{}
		q.head++
	}
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
}

// evict removes the oldest tentative entry on link (on any link when any)
// other than skip, to make room for a new registration; false when there
// is none (everything there is established).
func (r *Registry) evict(link LinkID, any bool, skip regKey, t int64, res *Result) bool {
	var q *tentQueue
	var at int
	if any {
		oldest := int64(0)
		for _, c := range r.tentative {
			if i, ok := r.oldest(c, skip, t); ok && (q == nil || c.items[i].created < oldest) {
				q, at, oldest = c, i, c.items[i].created
			}
		}
	} else if c := r.tentative[link]; c != nil {
		if i, ok := r.oldest(c, skip, t); ok {
			q, at = c, i
		}
	}
	if q == nil {
		return false
	}
	k := q.items[at].k
	e := r.entries[k]
	g := e.registration(k)
	res.Evicted = &g
	r.delete(k, &e)
	if at == q.head {
		q.items[at] = tentItem{}
		q.head++
	}
	return true
}

// oldest returns the index of q's oldest current item other than skip.
func (r *Registry) oldest(q *tentQueue, skip regKey, t int64) (int, bool) {
	r.trim(q, t)
	for i := q.head; i < len(q.items); i++ {
		if q.items[i].k != skip && r.current(q.items[i], t) {
			return i, true
		}
	}
	return 0, false
}
