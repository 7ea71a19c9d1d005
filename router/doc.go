// Package router is the border router's forwarding plane: the links of the
// mesh side (LowpanLink carries IPv6 over an IEEE 802.15.4 PAN with RFC 6282
// compression, RFC 4944 fragmentation and reassembly and MAC duplicate
// filtering), the Linux side (a TUN device configured over netlink), and
// the forwarder between them.
//
// Goroutines: each link's Run receives frames and delivers packets; the
// TUN reader and the forwarder are started by their owner with a context
// and stop with it.
package router
