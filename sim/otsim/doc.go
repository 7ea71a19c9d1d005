// Package otsim bridges OpenThread's simulation radio medium and ours
// (sim/medium), so that a real OpenThread RCP, the simulation build of
// ot-rcp, can be the border router's radio while our simulated 6LoWPAN
// nodes are its peers: lowpanbr drives ot-rcp over Spinel
// (spinel+hdlc+forkpty://…/ot-rcp?forkpty-arg=N) and ot-rcp's frames reach
// our nodes through a Bridge, which stands in for it on our medium as one
// node.
//
// # OpenThread's simulation medium
//
// Facts from OpenThread (abtink/openthread fork, commit 34bb0e4a;
// examples/platforms/simulation unless named), restated:
//
//   - ot-rcp takes one positional argument, its node id N (1–33,
//     OPENTHREAD_SIMULATION_MAX_NETWORK_SIZE), and options -E (energy
//     scan in the radio), -t (sleep to transmit), -s (time speed), -L
//     (local interface, default 127.0.0.1) (system.c otSysInit). Its
//     EUI-64 is 18:b4:30:00 followed by N as 32 bits big-endian (radio.c
//     otPlatRadioGetIeeeEui64).
//   - Every node sends each frame as one UDP datagram from
//     127.0.0.1:PORT_BASE+N to the multicast group 224.0.0.116:PORT_BASE
//     (PORT_BASE from the environment, default 9000; radio.c
//     platformRadioInit, simul_utils.c utilsInitSocket, InitTxSocketIp4,
//     utilsSendOverSocket) and receives on a socket bound to the group and
//     port with SO_REUSEADDR and SO_REUSEPORT (InitRxSocket). A receiver
//     takes the sender's id from the source port and drops its own
//     datagrams (utilsReceiveFromSocket; radio.c NodeIdFilterIsConnectable).
//   - A datagram is one channel octet followed by the PSDU with its FCS,
//     which the sender computes (radio.c struct RadioMessage,
//     radioComputeCrc: CRC-16/KERMIT, low octet first). Receivers do not
//     check it.
//   - A receiver drops frames on any channel but the one its radio
//     listens on (radio.c radioReceive). While it waits for an ACK an Imm-
//     or Enh-Ack with its frame's sequence number completes the
//     transmission, whoever sent it; otherwise it applies its address
//     filter (radioProcessFrame, otMacFrameDoesAddrMatchAny) and, for a
//     frame with AR set, sends its ACK at once, in the same pass of its
//     main loop (radioSendAck; we measured 0.1–0.3 ms). In promiscuous
//     mode it delivers everything, ACKs included, and acknowledges
//     nothing.
//   - A sender waits SubMac::kAckTimeout, 16 ms, for the ACK
//     (src/core/mac/sub_mac.hpp; the timer starts in
//     SubMac::HandleTransmitStarted), then retries as the host asked
//     (STREAM_RAW max frame retries; SubMac::HandleTransmitDone), with a
//     random delay and CSMA backoff between attempts. Its CCA always
//     finds the channel clear: the simulation has no energy on it.
//   - The radio holds one frame (radio.c sTransmitFrame): a new
//     transmission replaces the one under way.
//
// # The bridge
//
// A Bridge opens a node's pair of sockets under its own id (BridgeID, 33
// by default) and attaches one node to our medium for the RCP:
//
//   - Datagrams from ot-rcp (source port PortBase+NodeID) go on our medium
//     on the channel they name, with CSMA-CA on our medium and no
//     retransmission there (ot-rcp retries itself), FCS as ot-rcp computed
//     it. A datagram that arrives while the previous frame has not left
//     yet replaces it, as ot-rcp's radio would have. When our medium
//     returns an ACK, the bridge sends it to ot-rcp on the frame's channel,
//     well within ot-rcp's 16 ms.
//   - Frames the bridge's node hears go to ot-rcp with the channel they
//     were heard on; ot-rcp decides, as its radio does, whether it listens
//     there and whether they are for it.
//   - ACKs towards our nodes: see AckMode. By default (AckByMedium) the
//     medium acknowledges for the RCP within aTurnaroundTime, from the
//     addresses the bridge knows (EUI64(NodeID), and the PAN ID and
//     addresses learnt from the source fields of ot-rcp's frames), since a
//     round trip through a process on a loaded machine cannot promise our
//     nodes' 864 µs macAckWaitDuration in real time. Whether ot-rcp really
//     heard the frame is then checked afterwards: ot-rcp's own ACK is
//     expected within RCPAckWindow, and Stats.RCPSilent counts the frames
//     it did not acknowledge (a deaf RCP — for instance one left on
//     channel 0 by a STREAM_RAW "RX channel after TX" of 0 — shows there).
//
// Datagrams from other simulated OpenThread nodes are ignored: the bridge
// carries its one RCP's traffic.
//
// # Left out
//
// Enhanced ACKs (our medium sends Imm-Acks, see sim/medium), ot-rcp's
// frame pending bit (its own ACKs set it when the host leaves source
// matching off, radio.c hasFramePending; the medium's ACKs for it never
// do), ot-rcp's -L option (only 127.0.0.1), IPv6 multicast, and the
// virtual-time build of the simulation (OPENTHREAD_SIMULATION_VIRTUAL_TIME,
// which talks to a simulator over another protocol).
//
// Linux only (multicast socket options); elsewhere Start fails.
package otsim
