// Package rcpsim is a simulated OpenThread radio co-processor: it speaks
// Spinel over HDLC-lite on a byte stream (a PTY, or stdin/stdout under
// forkpty) exactly as ot-rcp does, and puts the frames on a simulated
// 802.15.4 medium (sim/medium). The daemon's real UART and Spinel code run
// against it unchanged; this is what runs when no hardware is configured.
//
// Behaviour copied from OpenThread's RCP (ncp_base.cpp, ncp_base_radio.cpp),
// as written down in package spinel: it announces every reset — power-on,
// a RESET command, a spontaneous reset — with an unsolicited LAST_STATUS
// RESET_POWER_ON; answers GET and SET with IS of the same TID (the new
// value for SET), INSERT/REMOVE with INSERTED/REMOVED, and unknown
// properties with LAST_STATUS PROP_NOT_FOUND; refuses STREAM_RAW while the
// raw stream is off (INVALID_STATE) and reports a transmission's end with
// IS LAST_STATUS of the request's TID carrying status, frame pending, header
// updated and the ACK; forgets a pending transmission on reset; sends
// received frames as unsolicited IS STREAM_RAW with RSSI, a noise floor of
// -128, flags, channel, LQI and a timestamp; runs energy scans channel by
// channel (IS MAC_ENERGY_SCAN_RESULT, then IS MAC_SCAN_STATE idle); keeps
// source-match tables for the frame-pending bit of its ACKs.
//
// For tests it can misbehave on demand: reset spontaneously, answer
// slowly, or write garbage into the stream.
//
// Left out: security (keys, frame counters), CSL and timed transmissions,
// multipan, coexistence, log streams.
package rcpsim
