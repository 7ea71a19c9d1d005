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
// lifetime deregisters, expiry, link-local addresses scoped to their link
// (RFC 8505 §5.6), the optional DELAY hold of RFC 8505 §5.7, and
// LatestRegistered for the RFC 7668 codec (lowpan.Registrations). The
// rules are listed on Registry. Against a neighbour that floods it:
//
//   - Shares: each link-layer neighbour holds at most MaxPerNeighbor
//     registrations of its own; what a 6LR relays (EDARs) is charged to
//     the neighbour it came through, which gets MaxPerRouter when it is
//     registered itself and a stranger's MaxPerNeighbor when not; each
//     link at most MaxPerLink; the registry its capacity. A refusal is
//     "neighbor cache full" (RFC 8505 §4.1 status 2), in an EDAC "6LBR
//     registry saturated" (9, as RFC 8505 §4.1 has a 6LBR answer a DAR).
//   - Tentative entries: a new registration that was not proven is
//     tentative for ConfirmationPeriod (TENTATIVE_NCE_LIFETIME, RFC 6775
//     §9) or until its owner renews it; a full link or registry makes room
//     by evicting its oldest tentative entry, never an established one.
//   - Lifetimes are capped at MaxLifetime; the NA's EARO and the DAC carry
//     the lifetime granted.
//
// Routes (route.go): Route follows the chain of 6LRs each registered
// through the next, up to MaxRouteHops (the hop limit), and finds loops
// (Brent's algorithm, no allocation). The forwarder (NextHop) and the
// status API use it alike.
//
// Protection for RFC 8928 (Address-Protected ND). The proof itself (the
// Crypto-ID ROVR, CIPO, NDPSO, the challenge) is the code in apnd*.go
// (APND); the Router runs it when Config.APND is set (lbr.go, below), and
// the registry holds the rule, whose whole interface is:
//
//   - Request.Proven bool: set it when the registration's proof of
//     ownership was verified (RFC 8928 §6: the ROVR is the Crypto-ID of the
//     key in the CIPO and the NDPSO's signature over the nonces is good).
//     Router.Handle sets it from APND.CheckNS for an NS(EARO) and from
//     APND.RelayProven for an EDAR; Router.SetRegistrationCheck
//     (RegistrationCheck) installs a function that sees every NS(E)ARO and
//     (E)DAR with its Request after that and before the registry, and may
//     set req.Proven, or answer itself and return handled. Code with its
//     own path may call Registry.Register directly.
//   - A proven request creates or updates a protected registration
//     (Registration.Protected, saved in the state file), established at
//     once.
//   - A request that is not proven never replaces nor removes a protected
//     registration: not with the same (copied) ROVR and a newer TID, nor
//     an older or equal one, nor a zero lifetime, nor over another path,
//     nor relayed by a 6LR in an EDAR. Register then changes nothing and
//     returns Status StatusValidationRequested with Result.NeedsProof set
//     and Result.Previous the protected registration; another ROVR gets
//     StatusDuplicate as always. The caller challenges the node (RFC 8928
//     §6.1: NA(EARO) with status 5 and a Nonce option) and registers again
//     with Proven once it answers. Router.Handle answers what reaches the
//     registry unproven "duplicate address" (1) in the NA (the check
//     challenged every NS able to answer) and "validation requested" (5)
//     in the EDAC (RFC 8928 §6: the 6LR must challenge the node).
//   - A proven request is subject to the ordinary rules (duplicate ROVR,
//     TID order, shares).
//   - Registry.Lookup and Snapshot report Protected; RegistryStats counts
//     them.
//
// Persistence (state.go, journal.go): the state file (ABRO version,
// advertised prefix and contexts, registry) is rewritten atomically (temp
// file, fsync, rename, directory fsync); registry changes between two such
// rewrites go to an append-only journal beside it, fsynced within
// SaveDelay (RunSaver; Maintain as well), so that every change is on disk
// within about a second. The journal is folded into the state file when it
// outgrows it, and at Save. At start the file and the journal are
// replayed, and every entry is checked as a new registration would be
// (address inside the mesh prefix or link-local, not through a 6LR when
// link-local, lifetime not above MaxLifetime, shares and capacity); what is
// dropped, and why, is said in one log line.
//
// Logging: per-packet lines (refused registrations, evictions, moves) go
// through internal/ratelog: the first of a kind in full, then one summary
// a minute.
//
// Router (lbr.go): RFC 6775 §6 and §7 as a 6LBR. RS → unicast RA with
// SLLAO, PIO (A=1, L=0), one 6CO per context, ABRO, 6CIO: every one
// the RFCs ask for (RFC 6775 §5.4 and §6.3: the SLLAO MUST be in the RA;
// §7.2: one 6CO for each context; §8.1.1: a 6LBR doing multihop
// distribution MUST include an ABRO in each RA; RFC 8505 §6.1: a 6CIO
// MUST answer an RS with a 6CIO). Between extended addresses that is 107
// octets after IPHC where a frame has 104, so the answer to an RS is two
// fragments; Config.OmitSolicitedSLLAO (opt-in, for meshes of stacks
// that never read it, such as RIOT) leaves out the SLLAO the frame's
// source gives and fits one frame. NS(ARO) and
// NS(EARO) → NA(EARO) with the status (RFC 8505 §5.1, §5.5, §6); DAR/EDAR
// → DAC/EDAC with the 6LR recorded (RFC 6775 §8.2.4, RFC 8505 §5.7), and
// an asynchronous EDAC "moved" to the 6LR a registration moved away from.
// With Config.APND (RFC 8928): before the registry, APND.CheckNS decides
// on each NS(EARO): one without the C flag goes on unproven (refused
// "validation failed" under RequireCryptoID; "duplicate address" for an
// RFC 6775 ARO); one with it is answered NA(EARO) "validation requested"
// (5) with a Nonce option (§6.1) until its proof — the NS again with CIPO,
// Nonce and NDPSO, fragmented on air (some 260–290 octets) — holds, then
// registered Proven; a proof that fails is answered "validation failed"
// (10, §6.2). An EDAR is Proven when it carries the 6LR's status 5 and
// TrustRelays lets the 6LBR take a 6LR's word that proved a Crypto-ID of
// its own (§6, §6.3); RequireCryptoID with TrustRelays answers any other
// EDAR status 5, so that an AP-ND 6LR challenges its 6LN. The RAs' 6CIO
// carries the A flag (§4.5), Maintain expires challenges, and Counters
// reports APND's. The context life cycle of RFC 6775 §7.2 (C=0 for
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
//   - Telling a node that its tentative registration was evicted: RFC
//     8505 has no asynchronous message for it to a 6LN; it finds out at
//     its next refresh.
//   - Against a radio that forges a new link-layer address for every
//     frame and keeps up a flood longer than ConfirmationPeriod at more
//     registrations per second than the free room divided by it, the
//     shares cannot help: its entries become established. Admission
//     control before the 6LBR (per-source budgets) and RFC 8928 are the
//     answer there.
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
