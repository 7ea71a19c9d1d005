// Package medium simulates an IEEE 802.15.4 2.4 GHz O-QPSK radio medium
// shared by any number of radios: the world the border router runs in when
// no hardware is configured. The simulated RCP attaches one node per RCP,
// simulated 6LoWPAN nodes attach their own, and external simulators join
// over ZEP. It is an event-driven simulation with its own virtual clock,
// deterministic under a seed, and runs in real time, scaled time, or as
// fast as possible.
//
// # What it models
//
// Sections are those of IEEE 802.15.4-2006, with 802.15.4-2015 in
// parentheses where it moved.
//
//   - The O-QPSK PHY's timing (§6.5; 2015 §12): 62.5 ksymbol/s (16 µs per
//     symbol), 250 kbit/s (32 µs per octet). A frame occupies the channel
//     for (4 preamble + 1 SFD + 1 PHR + PSDU) octets × 32 µs: 4256 µs for
//     a 127-octet PSDU, 352 µs for a 5-octet Imm-Ack (AirTime).
//   - Channels 11–26 (§6.1.2; 2015 §10.1.2.2): a node hears only the
//     channel it is tuned to.
//   - Unslotted CSMA-CA (§7.5.1.4; 2015 §6.2.5.1): NB = 0, BE = macMinBE
//     (3); wait a random number of unit backoff periods (20 symbols, 320
//     µs) in [0, 2^BE − 1]; CCA for 8 symbols (128 µs, §6.9.9), busy when
//     any frame the node can sense overlaps it; busy: NB += 1,
//     BE = min(BE + 1, macMaxBE = 5), channel access failure once
//     NB > macMaxCSMABackoffs (4 by default, per transmission); idle: the
//     frame's first symbol follows aTurnaroundTime (12 symbols, 192 µs)
//     later. So on an idle channel the first symbol is 320 µs to 2560 µs
//     after the call, 1440 µs on average.
//   - Acknowledgment and retransmission (§7.5.6.4; 2015 §6.7.4): a node
//     whose address filter accepts a data or command frame with AR set
//     and a unicast destination answers aTurnaroundTime after the frame
//     with a 5-octet Imm-Ack (frame version 0; frame control, sequence
//     number, FCS), without CSMA-CA; the frame pending bit comes from the
//     node's FramePending rule. The sender listens for macAckWaitDuration
//     (54 symbols, 864 µs) after its frame's last symbol; any ACK with its
//     sequence number ends the transmission. Without one it retries, with
//     CSMA-CA again, up to macMaxFrameRetries times (3 by default, per
//     transmission).
//   - Reception and rejection (§7.5.6.2; 2015 §6.7.2): FCS check, then
//     third-level filtering on the destination PAN ID (macPANId or
//     0xffff), short address (macShortAddress or 0xffff), extended address
//     (aExtendedAddress, compared in canonical EUI-64 order), beacons by
//     source PAN ID, source-only frames for a PAN coordinator. ACKs are
//     consumed by the MAC. Promiscuous nodes receive every frame heard,
//     ACKs and bad FCS included, and send no ACKs. A node whose receiver is
//     off when idle receives only the ACK it is waiting for.
//   - Half duplex: a node transmitting receives nothing; one scanning
//     energy neither.
//   - Collisions: frames that overlap in time on a channel at a receiver
//     are all lost there (each one counted in Stats.Collisions). Hidden
//     terminals fall out: nodes out of range of each other do not sense
//     each other's frames in CCA.
//   - Links: per directed pair of nodes, a loss probability applied to
//     each frame that did not collide, an RSSI (dBm) reported with every
//     reception, and out-of-range (Disconnected); a default for pairs not
//     set. LQI is derived from RSSI by LQIFromRSSI: linear from 0 at
//     −100 dBm to 255 at −20 dBm.
//   - Energy detection (§6.9.7; 2015 §10.2.5): EnergyScan returns the
//     strongest RSSI of the frames the node could sense on the channel
//     during the scan, or NoiseFloor (−100 dBm).
//
// # What it does not model
//
// Slotted CSMA-CA, beacon-enabled PANs and GTS; TSCH, DSME and LE modes;
// enhanced ACKs (2015 frames with AR get an Imm-Ack too, and frames with
// the sequence number suppressed get none); security processing (frames
// pass through as they are); the capture effect, SINR, interference
// between channels, propagation delay and path loss: reception depends only
// on overlaps and each link's loss probability, and RSSI is a per-link
// constant, not computed from distance; CCA thresholds and modes (any frame
// a node can sense makes the channel busy); receiver turnaround before
// reception, transmit power, PHYs other than 2.4 GHz O-QPSK; MAC-level
// duplicate rejection, association, scans other than energy, and
// indirect transmission (the FramePending rule only sets the bit); radio
// firmware behaviour such as OpenThread's transmit security or delayed
// transmission.
//
// # Time
//
// Virtual time starts at 0 and advances only through events, kept in one
// mutex-protected queue and run in order. With Config.TimeScale 0 the
// goroutine that runs Run jumps from event to event; with 1 events keep
// to the wall clock; other values scale. Calls (Transmit, EnergyScan) take
// effect at the current virtual time. Events at the same instant are
// ordered by kind, then by node in attach order, so the same seed and the
// same sequence of calls give the same backoffs, losses and times. At
// TimeScale 0 the loop may move on between two calls from different
// goroutines; use Hold to start several things at one instant.
//
// In scaled time the medium keeps its own time: what the world outside
// sees — a reception handed to a node, a transmission's outcome, a message
// to a ZEP peer or a mirror — happens within a few tens of microseconds of
// its moment, so a run delivers the medium's own modelled rate. On Linux
// the loop sleeps on a timerfd, parked in the runtime's network poller: an
// event for epoll, not a timeout, so not rounded up to the millisecond as
// Go's timers are there, and armed with no timer slack; no thread is
// locked and no processor held while it sleeps. It arms the timer a
// little early, by the running mean of its recent wake-ups' lateness (at
// most 50 µs), and runs what is due that soon. Elsewhere, or when the
// kernel refuses a timerfd, it sleeps on a runtime timer.
//
// A wake-up is what costs (on a small virtual machine, tens of
// microseconds of CPU, most of it the kernel and the Go scheduler waking
// threads), so the loop wakes only for what can be seen and runs the steps
// that lead to it — CCAs, frame starts nobody mirrors — when it wakes; a
// CCA that nothing can make busy costs no wake-up of its own. Calls
// (Transmit, EnergyScan, a ZEP peer's frame) run at once on the caller's
// goroutine, with every event already due; calls that change state
// directly (Attach, Detach, Configure, SetLink, Cancel, Hold, Mirror), and
// Stats and Dropped, first run the events already due, so that each event
// still sees the medium as it was at its moment. An acknowledged frame
// between two nodes costs two wake-ups: its end at the receiver, the
// ACK's end at the sender.
//
// Measured on 2 cores (keeptime_test.go, BenchmarkRealTimeFrames, 124-octet
// acknowledged frames back to back; before this design, a runtime timer
// and one wake-up per event): 0.99 of the modelled rate (0.92 before); the
// events seen outside ran 2–7 µs late at the median (490 µs), 93 % of them
// within 50 µs (18 %), the rest late by as much as the host's own
// scheduling delays (1–2 % by a millisecond or more on a shared virtual
// machine); 120–130 µs of process CPU per frame (205), 7 context switches
// (13). In a busy process precision is not free: each wake-up on time is a
// thread woken at that moment, where late wake-ups often found one awake;
// the border router at saturation with 80-octet datagrams spends some 8
// more context switches per frame for its 94 % of the medium's limit (87 %
// before).
//
// # Use
//
//	m := medium.New(medium.Config{Seed: 1})
//	go m.Run(ctx)
//	a, _ := m.Attach(medium.NodeConfig{Name: "a", PANID: 0xabcd, ShortAddr: 1, Channel: 26, RxOnWhenIdle: true})
//	b, _ := m.Attach(medium.NodeConfig{Name: "b", PANID: 0xabcd, ShortAddr: 2, Channel: 26, RxOnWhenIdle: true})
//	m.SetLink(a, b, medium.Link{Loss: 0.1, RSSI: -70})
//	res, err := a.Transmit(ctx, psdu, medium.TxOptions{}) // blocks for the outcome
//	rec := <-b.Receive()
//
// Transmit takes the PSDU with two placeholder FCS octets, which the
// medium fills in as a radio does (TxOptions.KeepFCS sends them as they
// are). ServeZEP (ServeZEPWith) lets external simulators (RIOT native with
// socket_zep) join through a UDP socket, on socket_zep's terms: a peer's
// datagram marks the end of its frame's air time, a medium node's Imm-Ack
// reaches the peer aTurnaroundTime after it by the wall clock (waited for
// on the same timerfd as the loop's), and peers
// send their own Imm-Acks (the medium acknowledges for a peer only when
// ZEPConfig.AutoAck asks it to). Mirror copies every frame on the air to a
// UDP port as ZEP for Wireshark; Tap hands every frame on the air to a
// function (lowpanbr run --capture writes them to a pcapng file).
package medium
