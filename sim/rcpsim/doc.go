// Package rcpsim is a simulated OpenThread radio co-processor: it speaks
// Spinel over HDLC-lite on a byte stream (a PTY, or stdin/stdout under
// forkpty) as ot-rcp does, and puts the frames on a simulated 802.15.4
// medium (sim/medium). The daemon's real UART and Spinel code run against
// it unchanged; this is what runs when no hardware is configured.
//
// Everything a host can observe follows OpenThread's RCP build
// (src/ncp/ncp_base.cpp, ncp_base_radio.cpp, ncp_base_dispatcher.cpp,
// src/core/mac/link_raw.cpp, sub_mac.cpp, src/core/radio/radio.cpp, and
// the simulation platform, examples/platforms/simulation); each rule cites
// the function it comes from. In short:
//
//   - Boot: after Config.BootDelay an unsolicited LAST_STATUS with the
//     reset reason (RESET_POWER_ON on the simulation platform), TID 0,
//     after any Config.BootChatter. Frames the host sends before are lost
//     or, with Config.BufferInputWhileBooting, answered afterwards.
//   - RESET: RESET_STACK (or no type) is answered at once with
//     RESET_POWER_ON and clears the radio state; other types reboot.
//   - GET/SET answer IS with the request's TID (the value read back, or
//     LAST_STATUS OK for a property without GET); TID 0 gets no answer;
//     a property without the handler is PROP_NOT_FOUND; radio settings
//     (channel, PAN, addresses, promiscuous, source match) are
//     INVALID_STATE until PHY_ENABLED.
//   - STREAM_RAW needs PHY_ENABLED (not the raw stream); its answer is the
//     transmit-done when the transmission ends. One transmission at a
//     time: a new request replaces the one under way, which is never
//     answered. After it the receiver listens on the request's "RX
//     channel after TX" (the transmit channel when absent), which may
//     differ from PHY_CHAN; 0 leaves it deaf. Refused during an energy
//     scan.
//   - Received frames go up as unsolicited IS STREAM_RAW while the radio
//     receives (PHY_CHAN after MAC_RAW_STREAM_ENABLED, or wherever a
//     transmission or scan left it).
//   - Energy scan: one channel (the scan mask must hold exactly one),
//     IS SCAN_STATE = ENERGY at once, MAC_ENERGY_SCAN_RESULT and
//     SCAN_STATE = IDLE after the scan period.
//   - Order: the answers to the frames of one read from the host go out
//     before the TID 0 frames queued meanwhile (a RESET_STACK and a GET
//     in one write: the GET's answer, then the reset notification), and a
//     reset discards what was not sent yet.
//
// The known-answer test replays the Spinel transcripts recorded from the
// real ot-rcp (radio/rcp/testdata/ot-rcp) and compares every frame.
//
// For tests it can misbehave on demand: reset spontaneously (Reset),
// come back with another EUI-64 (Reboot), stop like a SIGSTOPped process
// (Freeze, Thaw), boot slowly and chatter (Config), answer slowly, or
// write garbage into the stream.
//
// Left out: security (keys, frame counters, header updates), CSL and
// timed transmissions, multipan, coexistence, log metadata, RCP_TIMESTAMP,
// beacon and discover scans (Thread-stack only: UNIMPLEMENTED), and a
// frame received on the scanned channel during an energy scan (the
// simulated radio is deaf while it scans).
package rcpsim
