// Package rpl holds the wire formats of RPL, the IPv6 Routing Protocol for
// Low-Power and Lossy Networks, as byte-slice views with accessors and
// explicit Append encoders, in the style of package nd and internal/ip6:
// Parse or Validate checks a message once, the accessors then trust it;
// parsing and option iteration do not allocate.
//
// Implemented:
//   - RFC 6550 §6: the ICMPv6 RPL control message (type 155) with the
//     bases of DIS (§6.2), DIO (§6.3), DAO (§6.4, K and D flags, optional
//     DODAGID) and DAO-ACK (§6.5).
//   - RFC 6550 §6.7: options Pad1, PadN, DAG Metric Container (opaque; its
//     RFC 6551 objects are left to the objective function), Route
//     Information, DODAG Configuration (with RFC 9035's T flag and
//     RFC 9008's D flag), RPL Target (with RFC 9010 §6.1's F and X flags
//     and ROVR), Transit Information (with and without Parent Address),
//     Solicited Information, Prefix Information, RPL Target Descriptor.
//     Unknown options are passed over, as §6.7.1 asks.
//   - RFC 6553 §6 and RFC 9008 §4.2: the RPL Option of the Hop-by-Hop
//     header, type 0x63 or 0x23, with its O, R, F flags.
//   - RFC 6554 §3: the Source Routing Header (Routing Type 3), encoding
//     with CmprI, CmprE and Pad chosen from the route, decoding with the
//     elided octets taken from the IPv6 destination, and the §4.1/§4.2
//     checks (no multicast, no address twice, Segments Left in range).
//   - The DODAG root (Root), pure like nd.Router.Handle (time passed in,
//     replies returned, no goroutines): DIOs with the DODAG Configuration
//     option in every one (RIOT joins only on a DIO carrying it) and a PIO
//     holding the DODAGID, DIS handling (RFC 6550 §8.3), DAO and DAO-ACK
//     in non-storing (transit parents → source routes) and storing mode
//     (senders → next hops) with path sequences (§7.2), lifetimes, No-Path
//     and bounded state (new targets refused when full, never live ones
//     evicted), RFC 9010 ownership of targets through a hook
//     (RootConfig.CheckTarget: a ROVR that is not the registry's gets
//     the §6.3 status Duplicate), the T (RFC 9035) and D (RFC 9008) flags;
//     and the Trickle timer (RFC 6206 §4.2). router/rpl.go runs it in the
//     border router.
//   - A RPL router (Router, RFC 9008's RAN), pure as the root, modelled on
//     RIOT gnrc_rpl: the simulated routers of package sim run it.
//   - The data plane (dataplane.go): the RFC 9008 §7/§8 packet
//     transforms — InsertHeaders (RPI and SRH into the root's own
//     packets), AppendTunnel (IPv6-in-IPv6, RFC 2473/RFC 6040),
//     StripForExit, NextSegment (RFC 6554 §4.2, checked step by step
//     against RIOT's gnrc_rpl_srh_process), Decapsulate, UpdateRPI — with
//     the table of which case uses which.
//
// Left out:
//   - Secure RPL (§6.1, §10; codes 0x80–0x83 and the Consistency Check
//     0x8A): recognised and refused with ErrSecure.
//   - P2P-RPL (RFC 6997, codes 0x04 and 0x05) and its options:
//     ErrUnknownCode.
//   - MOP 3 (storing with multicast): the MOP value is carried, the
//     multicast behaviour belongs to no one here.
//   - RFC 8138 6LoRH compression: in package lowpan (the 6LoWPAN codec),
//     switched by the T flag.
//   - The RFC 9010 §6.2 P flag (the root proxies EDAR/EDAC for targets
//     with the X flag): the root and the 6LBR are one process here, so a
//     DAO target's ownership is checked against the registry directly;
//     the root does not advertise P and does not register targets in
//     the registry on their behalf.
//   - DCO (RFC 9009) and local repair by the root.
package rpl
