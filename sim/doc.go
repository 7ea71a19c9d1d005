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
// What stands in for a routing protocol: a 6LR learns the way down to an
// address from the successful EDACs it forwards towards the 6LR below that
// registered it, where a real route-over mesh would run RPL (RFC 6550)
// beside 6LoWPAN-ND. Upward, every 6LR sends to the parent it registered
// with.
package sim
