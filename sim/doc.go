// Package sim is the simulated world the border router runs in when no
// hardware is configured: a simulated 802.15.4 medium (sim/medium) and
// simulated RCPs on it (sim/rcpsim) reached through real PTYs, so the
// daemon's UART and Spinel code run unchanged, and simulated nodes around
// the border router.
//
// Nodes (Node) are 6LNs (RFC 6775 §5, RFC 8505 §5.1: RS, address from the
// PIO, contexts from 6COs, NS with EARO, renewal, deregistration) or 6LRs
// (a 6LN until registered, then a router: RFC 9159 §3.3.2 item 3.b; RS →
// RA relaying the 6LBR's PIO, 6COs and ABRO, RFC 6775 §8.1.3; registrations
// of its children relayed in EDARs, RFC 8505 §6.1; forwarding up to the
// parent and down to what lies below). They answer ICMPv6 echo and UDP echo
// (port 7). StartMesh builds a mesh of them from a topology: star, line,
// grid or random, with per-link loss.
//
// Timers are the RFCs' and randomised, so that nodes that collide once do
// not collide again: the first RS after a random 0–1 s (RFC 4861 §6.3.7),
// further RSs RTR_SOLICITATION_INTERVAL (10 s) apart then backing off to
// 60 s, ±10 % (RFC 6775 §5.3, §9; RFC 7559 §2); NS(EARO) retransmissions
// with RFC 7048 §3's back-off and random factor under one TID (TIDs start
// at 240, RFC 8505 §5.2.1); refreshes a minute before the lifetime the
// router granted ends (30 s for one minute), drawn down by up to 10 %, as
// RIOT's _nib-6ln.c _handle_aro schedules them; a 6LR answers an RS after a random 0–2 s
// (RFC 4861 §6.2.6) and sends its initial multicast RAs once registered
// (§6.2.4). Each node has its own random source, seeded from the mesh seed
// and its name and EUI-64, so a run is reproducible under a seed. A node
// drops its router when that router withdraws (an RA with router lifetime
// 0, RFC 4861 §6.3.4) or leaves three frames in a row unacknowledged (a
// link-layer hint of unreachability, RFC 4861 §7.3.1), and solicits again.
//
// Address-Protected ND (RFC 8928, with RFC 9927's C flag): a node given a
// key (NodeConfig.Key; MeshConfig.Protect) registers with its Crypto-ID and
// answers the router's challenge with its CIPO, a Nonce option and an
// NDPSO (§6.1, §6.2); a 6LR with a key challenges its children itself and
// tells the 6LBR with status 5 in the EDAR that it validated them, and
// challenges a child when the 6LBR asks with status 5 in the EDAC (§6).
// Intruders (MeshConfig.Intruders) copy a victim's ROVR, heard on the air,
// in the ways of IntruderVariant. The wire formats and rules are nd's
// (nd/apnd*.go); nd/testdata/apnd/README.md says how they were checked.
//
// Routing (MeshConfig.Routing, NodeConfig.Routing). With RoutingND a 6LR
// learns the way down to an address from the successful EDACs it forwards
// towards the 6LR below that registered it (RFC 8505 §6.1), and sends
// everything else up to the parent it registered with (the default until
// the border router is a RPL root). With RoutingRPL every router runs RPL (RFC 6550) beside 6LoWPAN-ND the way RIOT's
// gnrc_rpl nodes do (rpl.Router; paths below are RIOT's
// sys/net/gnrc/routing/rpl/ at c8bd52f, see rpl/testdata/riot/README.md):
//   - start-up: one multicast DIS (gnrc_rpl.c gnrc_rpl_init); a DIO
//     without the DODAG Configuration option is answered with a unicast
//     DIS to its sender (gnrc_rpl_control_messages.c _handle_DIO_opts);
//     the router joins on one with it and a PIO, forming its address from
//     the PIO (_parse_options);
//   - OF0: the lowest-ranked parent is preferred, rank = parent's rank +
//     MinHopRankIncrease, 256 per hop (of0.c calc_rank, parent_cmp; RFC
//     6552 §4.1 with Sp 1); parents of no lesser DAGRank leave the set
//     (gnrc_rpl_dodag.c _gnrc_rpl_find_preferred_parent); a parent silent
//     for (Default Lifetime − 1) Lifetime Units is probed by unicast DIS
//     every 2 s, 3 times, then dropped (gnrc_rpl.c _parent_timeout);
//   - DIOs on the router's own trickle timer (RFC 6206, parameters from
//     the DODAG Configuration option), each carrying that option and the
//     PIO with the R flag and the router's address (RFC 6550 §6.7.10);
//     a multicast DIS resets the timer, a unicast one is answered at once
//     (gnrc_rpl_recv_DIS); a newer DODAG version is followed (global
//     repair; RIOT rejoins, of0.c which_dodag);
//   - DAOs with K set and sequences from 240. Storing mode (MOP 2), as
//     RIOT: link-local to the parent, no Parent Address, the children's
//     targets aggregated (gnrc_rpl_send_DAO), a No-Path to the old parent
//     on a parent change (gnrc_rpl_dodag.c), sent 1–2 s after a change
//     (gnrc_rpl_delay_dao), repeated every 3 s up to 4 times without
//     DAO-ACK, then every 60–61 s (gnrc_rpl.c _dao_handle_send,
//     gnrc_rpl_long_delay_dao). Non-storing mode (MOP 1), which RIOT
//     cannot do, as Contiki-NG RPL-Lite: to the DODAGID with the parent's
//     global address in the Transit (RFC 6550 §9.7), 2–6 s after a
//     change, resent after 2.5–7.5 s, local repair after 5 unanswered
//     transmissions, refreshed 60–120 s before the lifetime ends
//     (os/net/routing/rpl-lite/rpl-timers.c at 9f80681);
//   - the node's own Target carries its ROVR (RFC 9010 §6.1; not with
//     MeshConfig.LegacyTargets, since a RIOT parent drops a DAO whose
//     Target is longer than RFC 6550's, gnrc_rpl_validation.c); a
//     RPL-unaware leaf (MeshConfig.Leaves, RFC 9010 RUL) registers with
//     NS(EARO) and the R flag, and its router answers it locally (no
//     EDAR) and advertises it in its DAOs with its ROVR, TID and lifetime;
//     RPL routers register their own address with their RPL parent (the
//     6LBR at depth 1);
//   - data: up the default route to the preferred parent; down by the
//     storing-mode routes (the child whose DAO named the target), or by
//     the Source Routing Header (RFC 6554 §4.2, rpl.NextSegment) and
//     IPv6-in-IPv6 decapsulation at the tunnel's end (RFC 9008,
//     rpl.Decapsulate) in non-storing mode, to registered neighbours and
//     leaves directly. The node's own packets carry an RPI (type 0x23)
//     only when the DODAG Configuration option's D flag asks for it (RFC
//     9008 §4.2; RIOT never sends one); forwarders check and update it
//     (RFC 6550 §11.2.2.2). A RIOT node also solicits RAs beside RPL, so
//     a RPL router here registers once it has heard an RA (for the
//     compression contexts) and has a RPL parent.
//
// A node drops whatever its radio received before it ran: StartMesh
// attaches every node before it sets the links, and frames heard under
// the medium's default link would come from nodes out of range.
package sim
