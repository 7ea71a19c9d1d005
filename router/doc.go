// Package router is the border router's forwarding plane: the links of the
// mesh side (LowpanLink carries IPv6 over an IEEE 802.15.4 PAN with RFC 6282
// compression, RFC 4944 fragmentation and reassembly and MAC duplicate
// filtering), the Linux side (a TUN device configured over netlink), and
// the forwarder between them (RFC 4443 §2.4 errors with a rate limit), and
// on the LAN side an optional sender of Router Advertisements with a Route
// Information Option for the mesh prefix (UpstreamRA: RFC 4191 §2.3,
// RFC 4861 §6.2 timing and RS handling).
//
// Goroutines: each link's Run receives frames and delivers packets; the
// TUN reader and the forwarder are started by their owner with a context
// and stop with it.
package router
