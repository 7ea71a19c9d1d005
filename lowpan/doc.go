// Package lowpan implements the 6LoWPAN adaptation layer on the host: it
// turns IPv6 datagrams into the payloads of IEEE 802.15.4 frames (or
// Bluetooth LE L2CAP SDUs) and back.
//
// What it implements:
//
//   - RFC 4944 §5: the dispatch chain — mesh addressing header (§5.2, built
//     when configured, deep hops left included), broadcast header (§11.1),
//     FRAG1/FRAGN fragment headers (§5.3), uncompressed IPv6 (0x41); NALP is
//     refused (ErrNotLowpan) and LOWPAN_HC1 is reported as unsupported.
//   - RFC 6282 §3: IPHC with every TF, NH, HLIM, CID, SAC/SAM, M, DAC/DAM
//     encoding; 16 contexts of any prefix length (bits beyond 64 override the
//     IID derived from the link-layer address); the RFC 3306 multicast form.
//     The compressor picks the smallest legal encoding of every field,
//     including the CID octet in its cost.
//   - RFC 6282 §4: LOWPAN_NHC for UDP (all port forms; the checksum is carried
//     unless elision is configured, and then recomputed on decompression) and
//     for IPv6 extension headers (Hop-by-Hop, Routing, Fragment, Destination
//     Options, Mobility, with trailing padding elided and restored) and
//     IPv6-in-IPv6 (EID 7).
//   - RFC 4944 §5.3 as clarified by RFC 6282 §2: fragmentation where
//     datagram_size and offsets count the uncompressed datagram, 8-octet
//     aligned, with all compressed headers in FRAG1; bounded reassembly
//     keyed on source, destination, size and tag, with per-source fairness,
//     a memory cap, a timeout (default 5 s, at most 60 s) and counters.
//   - RFC 7668 §3.2 and RFC 9159 §3.3.3: IIDs from 48-bit Bluetooth device
//     addresses and the elision of the latest registered address (see
//     Registrations); no 6LoWPAN fragmentation on those links.
//
// The per-packet paths (Decompress, Compressor.Encode, Reassembler.Add)
// do not allocate: they write into buffers the caller owns.
//
// Left out: LOWPAN_HC1 and HC2 (obsoleted by RFC 6282), RFC 7400 generic
// header compression, RFC 8138 (6LoRH) and RFC 8931 selective fragment
// recovery. The checksum of a UDP datagram inside a Routing header's path
// is recomputed against the IPv6 destination as carried, not the final one.
//
// Subpackages: ieee802154 (MAC frames and FCS) and pcapio (capture files
// and ZEP).
package lowpan
