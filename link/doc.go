// Package link holds the mesh links of the border router: Lowpan carries
// IPv6 over one IEEE 802.15.4 PAN through a radio.Radio (RFC 6282
// compression with contexts, RFC 4944 fragmentation and bounded
// reassembly, MAC headers with the router's EUI-64, duplicate filtering
// of MAC retransmissions, a neighbour table of link quality, and RFC 8138
// compression of RPL headers behind a switch, LowpanConfig.LoRH and
// SetLoRH, off by default and flipped at run time when the DODAG's RFC
// 9035 T flag changes; received 6LoRH is decoded either way); BLE carries
// IPv6 over one IPSP channel (RFC 7668, RFC 9159). A link delivers each
// packet it receives to a callback and knows nothing of the forwarder.
//
// Transmission: Send never waits for the air. It encodes the packet at
// once into a datagram from the link's bounded transmit queue — complete
// 802.15.4 frames, the FCS left to the radio, or one SDU on BLE — and
// queues it whole, or drops it with ErrQueueFull. One sender goroutine per
// link (wireguard-go's RoutineSequentialSender is the model) drains the
// queue: neighbour discovery first, then one frame per destination in
// turn (RFC 4944 §5.3 reassembly is keyed by sender, size and tag, so the
// fragments of datagrams to different nodes may interleave), a
// destination's datagrams in order. A destination holds at most a share of
// the queue, a datagram that waited longer than MaxDelay is dropped, and
// every drop is counted by reason (QueueStats). With a radio that pulls
// frames (radio.PullTransmitter: the RCP driver) the next frame is taken
// from the queue by the radio's own goroutine the moment the previous
// transmission ends. SendWait queues and waits for the outcome (the
// simulated nodes use it).
//
// Reception: one receive loop per link decodes each frame, returns its
// buffer to the radio's pool (radio.Frame.Release) once copied out, and
// delivers complete packets on its goroutine; it never transmits. A link
// told who its registered neighbours are (NeighborAware, by the forwarder)
// keeps a share of reassembly for them, so that first fragments from
// strangers cannot take all of it.
//
// Goroutines: Run starts the sender and runs the receive loop; both stop
// with Run's context, the sender after sending what was queued for at most
// DrainTimeout, so that a datagram half on the air is finished.
//
// Capture: a Tap (SetTap on the 802.15.4 link, BLEConfig.Tap on a BLE
// link) sees every frame sent on the air and received, and every IPSP
// packet; TapQueue copies them into preallocated records for one writer
// goroutine and drops, counted, what it cannot hold, so that a capture
// never slows the radio path.
//
// Left out: mesh-under forwarding (RFC 4944 §11), MAC security, and
// link-layer multicast on BLE (RFC 7668 has none).
package link
