// Package pcapconv converts captures between the 802.15.4/6LoWPAN world and
// plain IPv6, for the `lowpanbr pcap` troubleshooting tool and for tests
// that hand our frames to independent decoders.
//
// Decode reads a pcap or pcapng of IEEE 802.15.4 frames (link types 195
// with FCS and 230 without) or of ZEP v1/v2 datagrams on UDP port 17754
// inside Ethernet, Linux cooked or raw IP captures, and writes the
// reassembled, decompressed IPv6 packets as a raw-IPv6 pcap (link type
// 229), with optionally one JSON object per packet describing the MAC
// header, the 6LoWPAN encoding, the IPv6 and UDP fields, the payload and
// any error. Frames that are not data frames (beacons, acks, MAC commands)
// are reported in JSON and skipped; MAC-level retransmissions (same source
// and sequence number in a row) are dropped as a receiver would.
//
// Encode does the reverse: it reads IPv6 packets (raw-IP pcaps, Ethernet,
// Linux cooked) and writes 802.15.4 data frames for the given MAC
// addresses, PAN ID and contexts, fragmented per RFC 4944 as needed.
//
// It implements no protocol of its own; see packages lowpan, ieee802154 and
// pcapio for the RFC sections.
package pcapconv
