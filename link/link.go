package link

import (
	"context"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// Link is one link of the mesh side: an 802.15.4 PAN (Lowpan), later a
// BLE connection. The multilink subnet of RFC 9159 is several links under
// one prefix and one registry.
type Link interface {
	// Name labels the link in logs and metrics.
	Name() string
	// MTU is the IPv6 MTU of the link (1280 on 6LoWPAN links).
	MTU() int
	// Send queues one IPv6 packet for the neighbour with link-layer
	// address nextHop (the broadcast address: every neighbour) and
	// returns without waiting for the air; the link copies what it needs.
	// It fails with ErrQueueFull when the link's queue has no room for
	// it. The outcome on air is counted in the link's statistics.
	Send(pkt []byte, nextHop lowpan.LinkAddr, opts SendOptions) error
	// LinkAddr is this router's address on the link.
	LinkAddr() lowpan.LinkAddr
}

// Runnable is a Link with its goroutines: Run sends what Send queues and
// hands every packet received to deliver until ctx ends (and the queue is
// drained) or the link goes away (a BLE connection that dropped), then
// returns.
type Runnable interface {
	Link
	Run(ctx context.Context, deliver func(*Delivery))
}

// PointToPoint is implemented by links with exactly one neighbour (a BLE
// connection): they have no broadcast, so multicast is replicated to them
// as unicast, and only when their neighbour asked for it (RFC 9159
// §3.3.4).
type PointToPoint interface {
	Link
	// Peer is the neighbour's link-layer address.
	Peer() lowpan.LinkAddr
}

// NeighborAware is implemented by links that treat the neighbours
// registered with the border router apart from strangers (Lowpan: a share
// of reassembly kept for them, lowpan.ReassemblyConfig.Reserved). The
// forwarder hands them the registry's answer for the link before the link
// runs.
type NeighborAware interface {
	// SetRegisteredNeighbors gives the link the predicate that says
	// whether the node with link-layer address a (a frame's MAC source, or
	// a mesh header's originator) holds a registration made through this
	// link. It is called on the link's receive goroutine, at most once per
	// new datagram, and must not block.
	SetRegisteredNeighbors(registered func(a lowpan.LinkAddr) bool)
}

// Delivery is a packet received on a link. Packet is valid only during the
// callback that receives it.
type Delivery struct {
	Link     Link
	Packet   []byte
	Src, Dst lowpan.LinkAddr // link-layer (or mesh originator/final) addresses
	RSSI     int8
	LQI      uint8
}
