// Package l2cap implements the parts of the Bluetooth Logical Link Control
// and Adaptation Protocol (Core Specification v5.4, Vol 3 Part A) that IPv6
// over Bluetooth LE needs: RFC 7668 carries each IPv6 packet as one SDU of
// an LE credit based connection-oriented channel on LE PSM 0x0023 (IPSP),
// one channel per LE connection, with an MTU of 1280 and no 6LoWPAN
// fragmentation — L2CAP segments the SDU.
//
// It is pure protocol logic: no I/O, no goroutines, no clock (callers pass
// the time). The HCI host carries the PDUs this package builds and parses
// in ACL data packets; it reassembles ACL fragments into whole PDUs before
// handing them over, and fragments the PDUs it is given.
//
// What it implements:
//
//   - §3.1: the basic L2CAP header (B-frame): PDU, ParsePDU, AppendPDU;
//     the LE-U channel identifiers of §2.1 (ATT 0x0004, LE signalling
//     0x0005, SMP 0x0006, dynamic 0x0040–0x007F).
//   - §4: the LE signalling channel, one command per C-frame, MTUsig of at
//     least 23: Command Reject (§4.1), Disconnection Request and Response
//     (§4.6, §4.7), Connection Parameter Update Request and Response
//     (§4.20, §4.21), LE Credit Based Connection Request and Response
//     (§4.22, §4.23) and Flow Control Credit Ind (§4.24) — a type per
//     command with Decode and AppendData, ParseCommand and AppendCommand
//     for the header, and the ranges of §4.20–§4.23.
//   - §3.4 and §10.1: LE credit based flow control mode (Channel):
//     segmentation of SDUs into K-frames, the first carrying the 2-octet
//     SDU Length, each within the peer's MPS, one credit each; a bounded
//     queue of SDUs waiting for credits, never blocking; reassembly within
//     our MTU and MPS into one reused buffer; detection of the violations
//     after which the channel must be disconnected (K-frame without
//     credits, above MPS, SDU above MTU or overrun, credits above 65535);
//     and a credit return policy (Channel.CreditsToReturn).
//   - Signaling: the signalling of one ACL connection — it accepts or
//     refuses the peer's connection requests (IPSP by default), opens
//     channels, allocates local CIDs and request identifiers (1–255),
//     matches responses to requests, applies credits, closes channels,
//     answers what it does not understand with a Command Reject, accepts
//     valid connection parameter updates when central, and times requests
//     out after RTX (§6.2.1, 1–60 s; Expire).
//
// # Dispatching received PDUs
//
// The host hands every PDU received on an LE ACL connection to
// Signaling.Dispatch, which routes it by channel ID: CID 0x0005 to the
// signalling (Handle), a dynamic CID to the Channel with that local CID
// (Channel.Receive, then the credits to return), any other fixed channel
// (ATT, SMP) back to the host. A host that routes itself does the same:
// CID 0x0005 → Signaling.Handle; 0x0040–0x007F → Signaling.Channel(cid) →
// Channel.Receive, then Signaling.AppendCredits; a dynamic CID without a
// channel is discarded.
//
// To send, the host calls Channel.Send with a function that queues each
// K-frame (a whole PDU) for the ACL connection; after EventCredits it calls
// Channel.Resume. Events from Dispatch, Handle and Expire tell it when a
// channel opens or closes, when to disconnect, and when to update the
// connection parameters. Signaling and its Channels are not safe for
// concurrent use: one lock per ACL connection serialises them.
//
// Left out: BR/EDR signalling (CID 0x0001) and its modes; the enhanced
// credit based flow control mode of §4.25–§4.28 and §10.2 (its requests
// are answered with Command Reject "not understood"); sending Connection
// Parameter Update Requests as a peripheral; LE security (the host checks
// encryption and authentication before accepting, through
// SignalingConfig.Accept, which may refuse with the security results).
package l2cap
