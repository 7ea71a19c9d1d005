// Package faultline is a fault-injecting byte proxy for the serial line
// between a border router and its radio co-processor: it sits between two
// byte streams — the host's end (on Linux a PTY whose slave the daemon
// opens as its radio, NewPTY) and the RCP's end (a UART, a forkpty child,
// the embedded simulator's PTY) — and copies bytes both ways, damaging them
// as it is told.
//
// Faults, per direction (ToRCP: host → RCP; ToHost: RCP → host):
//
//   - per-byte rates (Faults): a bit flip (one bit of the byte, chosen
//     uniformly, inverted), a byte inserted after it (a uniformly random
//     value), the byte dropped;
//   - Stall: nothing is delivered for a while in either direction; what
//     arrives meanwhile is held (up to Config.MaxHeld octets per
//     direction) and delivered in order when the stall ends, as a USB
//     hiccup or a stopped process leaves it in buffers;
//   - Garbage: a burst of random octets;
//   - ResetNoise: line noise shaped like a Spinel reset notification (an
//     HDLC-lite frame holding IS LAST_STATUS RESET_POWER_ON) whose FCS does
//     not check: a receiver that honours the FCS drops it (RFC 1662 §C.2
//     for the check; spinel's doc for the frame);
//   - Inject: any octets (a valid frame, for instance).
//
// Determinism: every decision and every random octet comes from PCG
// generators seeded from Config.Seed, one stream per direction, drawn per
// byte of that direction whatever the rates (so the n-th octet of a
// direction meets the same fate in every run with the same seed and the
// same rates). Which octets are the n-th depends on the traffic, so a run
// as a whole is reproducible only as far as its traffic is.
//
// Counting: Stats says per direction what was read, delivered, flipped,
// inserted, dropped and injected, and how many good HDLC-lite frames
// were read and how many were delivered: what the damage cost a receiver
// that checks the FCS.
//
// Injected octets go between two reads of the source; with traffic on the
// line that may be inside a frame, as real noise would be.
package faultline
