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
// any error. Frames of up to 2047 octets are read (aMaxPhyPacketSize of
// the IEEE 802.15.4g SUN PHYs, 802.15.4-2020 §11.3), ending in a 2-octet
// FCS or, as SUN PHYs may send, a 4-octet one (DecodeOptions.FCS; the
// PHR that tells which is not in the capture). Every frame that gives no
// packet is skipped with a SkipReason and a detail saying what was found
// where (DecodeOptions.OnSkip, the JSON, DecodeStats.ByReason): not
// 802.15.4 or ZEP, cut by the snap length, too long, bad FCS, bad MAC
// header, not a data frame (beacons, acks, MAC commands), encrypted,
// duplicate (MAC-level retransmissions — same source and sequence number
// in a row — are dropped as a receiver would), not 6LoWPAN, undecodable
// 6LoWPAN at an offset, unknown context, refused by reassembly, and, at the
// end of the capture, the fragments of datagrams that never completed.
//
// Encode does the reverse: it reads IPv6 packets (raw-IP pcaps, Ethernet,
// Linux cooked) and writes 802.15.4 data frames for the given MAC
// addresses, PAN ID and contexts, fragmented per RFC 4944 as needed.
//
// It implements no protocol of its own; see packages lowpan, ieee802154 and
// pcapio for the RFC sections.
package pcapconv
