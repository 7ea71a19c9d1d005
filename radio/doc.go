// Package radio defines the seam between the border router and its
// IEEE 802.15.4 radio: the Radio interface, its frames, transmit options
// and results, settings and identity. Implementations live elsewhere: the
// Spinel RCP driver (radio/rcp) for OpenThread RCP firmware on a UART or
// SPI, reached through radio/transport, and the simulator's radios (sim).
//
// Buffer ownership. A received Frame may lend its PSDU from a bounded pool
// the radio owns (RxPool): the consumer calls Frame.Release when done, and
// must not touch the PSDU afterwards; Release is a no-op for frames that
// lend nothing (the simulated radios) and for a second call; a frame never
// released is garbage-collected and the radio makes another buffer,
// counted, so consumers that never call Release keep working. With every
// frame released, receiving allocates nothing. A transmitted PSDU stays the
// caller's: the radio reads it during Transmit or TransmitFrames only, and
// copies the acknowledgement only into a buffer the caller provides
// (TxResult.Ack).
//
// Pipelining. FramesTransmitter (and the TransmitFrames function, which
// falls back to Transmit) sends a datagram's frames back to back and stops
// at the first that is neither sent nor acknowledged, after
// TxOptions.CCARetries host-level retries of a frame that met a busy
// channel, reported per frame in TxResult.CCARetries. PullTransmitter (and
// the TransmitFrom function) is the pull form, for a link layer that picks
// frame by frame (round robin between destinations): the radio asks a
// FrameSource for the next frame the moment the previous transmission
// ends, and reports each outcome to it, on the radio's own goroutine
// (rcp.Driver: the Spinel reader), so no goroutine of the caller runs
// between frames; the source decides retries after a busy channel (it may
// hand out the same frame again), and a frame the radio could not finish
// is reported as TxAborted with the reason before TransmitFrom returns.
// Radios without it get a loop of Next, Transmit and Done on the caller's
// goroutine.
package radio
