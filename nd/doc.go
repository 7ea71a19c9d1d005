// Package nd implements IPv6 Neighbor Discovery for the 6LoWPAN border
// router (6LBR): the message formats, the registry of registered
// addresses, and the 6LBR's answers.
//
// Wire formats (message.go, option.go, encode.go), as byte-slice views
// with accessors, an option iterator and serializers that know their
// length; Parse validates once and fills a Message without allocating:
//
//   - RFC 4861 §4.1–§4.4 RS, RA, NS, NA; §4.6.1 SLLAO/TLLAO in the RFC 4944
//     §8 forms (EUI-64, Length 2; 16-bit short address, Length 1, zero
//     padded) and the RFC 7668 form for 48-bit Bluetooth addresses
//     (Length 1); §4.6.2 PIO; §4.6.4 MTU. RFC 4191 §2.3 RIO and the RA
//     Prf bits.
//   - RFC 6775 §4.1 ARO and RFC 8505 §4.1 EARO (Opaque, I, R, T, TID, a
//     64/128/192/256-bit ROVR); RFC 6775 §4.2 6CO (Length 2 or 3); §4.3
//     ABRO; RFC 7400 §3.3 6CIO with the RFC 8505 §4.3 flags.
//   - RFC 6775 §4.4 DAR/DAC (type 157/158, code 0) and their RFC 8505 §4.2
//     extended forms EDAR/EDAC: the code suffix gives the ROVR size, the
//     octet after Status is the TID, the code prefix is ignored.
//   - Validation: RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2 (hop limit 255,
//     checksum over the pseudo-header, code 0, minimum ICMP length,
//     options of non-zero length inside the message, the address rules),
//     RFC 6775 §8.2.1 for DAR/DAC (no hop-limit check), RFC 6775 §6.5 and
//     RFC 8505 §4.1 for an NS's (E)ARO; RFC 4291 §2.7: no multicast
//     sources. Errors wrap sentinels (ErrChecksum, ErrHopLimit, ...) and
//     DropReason names them for counters.
//
// Registry (registry.go): the DAD table of RFC 6775 §8.2.2 extended with
// RFC 8505's ROVR and TID and with the route (the 6LR an address is
// reached through): duplicate ROVR → "duplicate", the TID lollipop of RFC
// 8505 §5.2.1 (CompareTID) → "moved" for stale registrations, zero
// lifetime deregisters, expiry, capacity → "6LBR registry saturated",
// link-local addresses scoped to their link (RFC 8505 §5.6), the
// optional DELAY hold of RFC 8505 §5.7, and LatestRegistered for the RFC
// 7668 codec (lowpan.Registrations). The rules are listed on Registry.
//
// Router (lbr.go): RFC 6775 §6 and §7 as a 6LBR. RS → unicast RA with
// SLLAO, PIO (A=1, L=0), one 6CO per context, ABRO, 6CIO; NS(ARO) and
// NS(EARO) → NA(EARO) with the status (RFC 8505 §5.1, §5.5, §6); DAR/EDAR
// → DAC/EDAC with the 6LR recorded (RFC 6775 §8.2.4, RFC 8505 §5.7), and
// an asynchronous EDAC "moved" to the 6LR a registration moved away from.
// The context life cycle of RFC 6775 §7.2 (C=0 for
// MIN_CONTEXT_CHANGE_DELAY before use, before a change and before removal)
// and an ABRO version increased on every change of the advertised prefix
// or contexts (§7), kept with the registry in an atomically written state
// file (state.go).
//
// Interoperability choices: an RFC 6775 node (RIOT's GNRC, for one)
// registers with an ARO — no TID, the EUI-64 as ROVR — the registered
// address being the NS's source and the target the router; the NA goes to
// that registered address. An NS with T set that targets the router's own
// address is read the same way, since RFC 8505 would have to call it a
// duplicate. RFC 6775-only peers (ARO, DAR code 0) hear "neighbor cache
// full" (2) where RFC 8505 peers hear "registry saturated" (9): status 9
// does not exist in RFC 6775. An NS with an (E)ARO but no SLLAO is dropped
// (ErrARO) rather than handled as an NS without ARO (RFC 6775 §6.5): RFC
// 6775 §4.1 and RFC 8505 require the SLLAO, and the registration could not
// be answered anyway.
//
// Left out, and why:
//   - Error NAs to the EUI-64-derived link-local address (RFC 6775
//     §6.5.2): RFC 6775 nodes match the NA by its IPv6 destination, so
//     every NA goes to the NS's source; the link-layer destination is the
//     requester's SLLAO either way.
//   - Requiring that the link-local source of an NS(EARO) be registered
//     already (RFC 8505 §5.6): the 6LBR accepts the registration on the
//     strength of the ROVR; the rule protects 6LRs' neighbor caches, which
//     this registry bounds anyway.
//   - Proof of ownership (AP-ND, RFC 8928): the statuses "validation
//     requested/failed" exist as constants but nothing sends them.
//   - Proxy registration to a Routing Registrar (6BBR, RFC 8929), 6LR
//     behaviour (sending DARs, relaying RAs; the simulated 6LR does that),
//     multiple 6LBRs and their DAD-table synchronisation, periodic or
//     multicast RAs (RFC 6775 §6.4: a 6LBR need not send them), Redirect
//     (§6.1: SHOULD NOT), SEND, and ND behind IPv6 extension headers.
//   - Deprecating a replaced prefix with a zero preferred lifetime: the new
//     prefix is advertised at once and the old one simply disappears; hosts
//     let it expire.
//   - RFC 7400 GHC: the 6CIO never sets G.
package nd
