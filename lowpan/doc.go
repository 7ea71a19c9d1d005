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
//   - RFC 8138 (6LoRH) after the RFC 8025 page 1 dispatch (lorh.go):
//     decoding of SRH-6LoRH (§5, all five address sizes, each coalesced
//     with its §5.4 compression reference: the first with the packet's
//     source — the IPHC source, or in a tunnel the encapsulator — each
//     next with the one before), RPI-6LoRH (§6, I and K forms) and IP-in-IP
//     6LoRH (§7, encapsulator elided or compressed against the root) into
//     the IPv6, Hop-by-Hop RPI (type per RFC 9008 §4.3) and RFC 6554 SRH
//     headers they stand for, whatever the local switch says, bounded (16
//     6LoRHs, 64 hops; unknown elective types skipped, unknown critical
//     ones refused). The final destination is the IPHC one (§3.2.1); in a
//     tunnel the SRH-6LoRH entries end where the tunnel does (§5.2.2, RFC
//     9008 Figure 2); with no SRH-6LoRH the outer destination is the
//     implicit value of §7 (the root going up, the inner destination going
//     down). In the §3.2.2 order (SRH, RPI, IP-in-IP last); a critical
//     6LoRH after the IP-in-IP one belongs to the inner header, which is
//     not rebuilt, and is refused. An explicit page 0 and a page 1 with no
//     6LoRH are accepted too. Encoding when Compressor.LoRH is on, of what
//     a RPL root sends down — RPI, SRH with every segment left,
//     IPv6-in-IPv6 (ending at the final destination or at a RUL's 6LR) —
//     when the headers rebuild exactly; otherwise, and always with the
//     switch off, RFC 6282 alone. The root's address, RPI type and mode
//     (§7 elides a downward tunnel's destination in Storing mode only)
//     are in ContextTable.SetRPL. Known answers from RFC 8138 Figures
//     10–13, 19–25 and RFC 9008 Figure 2 are in lorh_rfc_test.go.
//   - RFC 7668 §3.2 and RFC 9159 §3.3.3: IIDs from 48-bit Bluetooth device
//     addresses and the elision of the latest registered address (see
//     Registrations); no 6LoWPAN fragmentation on those links.
//
// The per-packet paths (Decompress, Compressor.Encode, Reassembler.Add)
// do not allocate: they write into buffers the caller owns.
//
// Who else speaks RFC 8138 (checked in their sources): OpenWSN does
// (openwsn-fw openstack/03a-IPHC/iphc.c iphc_sendFromForwarding and
// iphc_retrieveIPv6Header, 03b-IPv6/forwarding.c
// forwarding_send_internal_SourceRouting; its root side openwsn-sw
// openLbr.py), and Wireshark dissects it (packet-6lowpan.c
// dissect_6lowpan_6loRH, with the shortcomings listed in
// lorh_tshark_test.go). RIOT does not: gnrc_sixlowpan.c _receive drops a
// paging dispatch as unsupported (RIOT c8bd52f). Contiki-NG does not:
// os/net/ipv6/sicslowpan.c with SICSLOWPAN_COMPRESSION_6LORH sends and
// parses the page 1 dispatch but add_6lorh_hdr and digest_6lorh_hdr are
// stubs ("6LoRH is not implemented yet"; contiki-ng issue #17 open).
// OpenThread has no RPL and no 6LoRH (no such code in 34bb0e4). Hence the
// switch is off by default and follows the DODAG's RFC 9035 T flag.
//
// Left out: LOWPAN_HC1 and HC2 (obsoleted by RFC 6282), RFC 7400 generic
// header compression, RFC 8931 selective fragment recovery, 6LoRH on
// Bluetooth LE links, and the forwarding side of RFC 8138 (a router
// consuming its SRH-6LoRH entry: the decoder rebuilds the RFC 6554 form
// instead). The checksum of a UDP datagram inside a Routing header's path
// is recomputed against the IPv6 destination as carried, not the final
// one, except under an SRH-6LoRH, whose final destination is known.
//
// Subpackages: ieee802154 (MAC frames and FCS) and pcapio (capture files
// and ZEP).
package lowpan
