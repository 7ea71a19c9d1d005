// Package link holds the mesh links of the border router: Lowpan carries
// IPv6 over one IEEE 802.15.4 PAN through a radio.Radio (RFC 6282
// compression with contexts, RFC 4944 fragmentation and bounded
// reassembly, MAC headers with the router's EUI-64, duplicate filtering
// of MAC retransmissions, a neighbour table of link quality); BLE carries
// IPv6 over one IPSP channel (RFC 7668, RFC 9159). A link delivers each
// packet it receives to a callback and knows nothing of the forwarder.
package link
