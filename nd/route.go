package nd

import (
	"errors"
	"net/netip"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// MaxRouteHops bounds the routes Route follows: a packet crosses at most
// 255 links, its hop limit being an octet that every router on the way
// decrements (RFC 8200 §3), so a longer chain of 6LRs is unusable.
const MaxRouteHops = 255

// Errors of Route.
var (
	// ErrNoRoute: the address, or a 6LR on the way to it, holds no live
	// registration.
	ErrNoRoute = errors.New("nd: no live registration on the way")
	// ErrRouteLoop: the registrations through 6LRs lead back to one
	// already passed.
	ErrRouteLoop = errors.New("nd: registrations through 6LRs form a loop")
	// ErrRouteTooLong: more than MaxRouteHops hops.
	ErrRouteTooLong = errors.New("nd: route longer than 255 hops")
)

// Route says how the border router reaches a registered address.
type Route struct {
	// Link and NextHop are where frames to the address go: the node's own
	// link and link-layer address when it registered directly, else those
	// of the first 6LR on the way (the one registered directly).
	Link    LinkID
	NextHop lowpan.LinkAddr
	// Hops counts the links a packet crosses: 1 when the node registered
	// directly, one more for each 6LR on the way.
	Hops int
	// Via is the 6LR the address registered through (RFC 8505 §5.7: the
	// source of its EDAR); zero when direct.
	Via netip.Addr
}

// Route resolves how to reach a registered non-link-local address,
// following the chain of 6LRs each registered through the next (RFC 8505
// §5.7: a 6LR registers its nodes' addresses with the 6LBR in its own
// name) up to MaxRouteHops. It does not allocate; the forwarder (NextHop)
// and the status API use it alike.
func (r *Registry) Route(addr netip.Addr, now time.Time) (Route, error) {
	t := now.UnixNano()
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.routeLocked(keyOf(addr, 0), t)
}

// routeLocked follows the chain from k. Loops are found with Brent's
// algorithm (the saved key moves to the current one at every power of two
// of steps), in at most about twice the loop's length plus the steps
// before it, without remembering the keys passed.
func (r *Registry) routeLocked(k regKey, t int64) (Route, error) {
	var rt Route
	saved, power, steps := k, 1, 0
	for {
		e, found := r.entries[k]
		if !found || !e.live(t) {
			if rt.Hops >= MaxRouteHops {
				return Route{}, ErrRouteTooLong
			}
			return Route{}, ErrNoRoute
		}
		rt.Hops++
		if e.flags&entHasVia == 0 {
			if rt.Hops > MaxRouteHops {
				return Route{}, ErrRouteTooLong
			}
			rt.Link, rt.NextHop = e.link, e.ll
			return rt, nil
		}
		if rt.Hops == 1 {
			rt.Via = netip.AddrFrom16(e.via)
		}
		// Past MaxRouteHops the route is unusable, but the walk goes on to
		// tell a loop (Brent needs up to the tail plus twice the loop's
		// length) from a chain that is merely too long; a chain cannot be
		// longer than the registry.
		if rt.Hops > 3*len(r.entries)+MaxRouteHops {
			return Route{}, ErrRouteTooLong
		}
		next := regKey{addr: e.via}
		if netip.AddrFrom16(e.via).IsLinkLocalUnicast() {
			next.link = e.link
		}
		if steps == power {
			saved, power, steps = k, 2*power, 0
		}
		k = next
		steps++
		if k == saved {
			return Route{}, ErrRouteLoop
		}
	}
}

// NextHop resolves how to reach a registered non-link-local address
// (Route): the link and the link-layer address to send to; ok is false
// when there is no usable route.
func (r *Registry) NextHop(addr netip.Addr, now time.Time) (link LinkID, ll lowpan.LinkAddr, ok bool) {
	rt, err := r.Route(addr, now)
	if err != nil {
		return 0, lowpan.LinkAddr{}, false
	}
	return rt.Link, rt.NextHop, true
}
