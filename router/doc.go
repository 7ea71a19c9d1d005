// Package router is the border router's forwarder: it moves packets
// between Linux (a TUN, seen through the small TUN interface) and the mesh
// links (package link), asks the 6LBR (nd.Router) for next hops and hands
// it neighbour discovery, decrements the hop limit only where it routes
// mesh to mesh (RFC 8200 §3), and sends the ICMPv6 errors a router owes
// (RFC 4443 §2.4, with a rate limit): address unreachable for unregistered
// destinations, packet too big above a link's MTU, hop limit exceeded.
// Nothing is flooded for unregistered unicast. ServeBLE adds a BLE link
// for every IPSP channel that opens (RFC 7668, RFC 9159 multilink).
//
// Under attack: neighbour discovery received from the mesh is admitted
// on the link's receive goroutine (token buckets per source, a budget for
// all strangers, registered neighbours apart and first) into a bounded
// queue, and answered by one control worker (control.go); a packet whose
// source is not bound to the neighbour that sent it by a registration is
// dropped, not forwarded (source.go); links learn which neighbours are
// registered (link.NeighborAware: their reserved share of reassembly).
// Every drop is counted by reason in ForwarderStats.
//
// It leaves out: RPL (RFC 6550) routes and RPL control (the control path
// is where it will go), multicast wider than the configured scope, and
// RFC 8929 backbone proxying.
//
// Goroutines (started by Run, ended with its context): the TUN reader,
// one receive loop per link (the link's own Run), the control worker and
// the ND timers.
package router
