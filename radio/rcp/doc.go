// Package rcp drives an IEEE 802.15.4 radio co-processor running
// OpenThread's RCP firmware (ot-rcp on an nRF52840 dongle, an ESP32-H2, or
// the built-in simulator) over Spinel, and presents it as a radio.Radio.
//
// Start-up: Open connects through an Opener (a UART or forkpty byte stream
// framed with HDLC-lite, or SPI). The transport lives as long as the
// driver: for forkpty the context handed to the transport bounds the
// child's life. The driver lets the line fall quiet (at most ResetTimeout),
// sends RESET, waits for a reset notification (any reason: OpenThread
// reports power-on even after a software reset), then synchronises: it
// sends a request with a TID, waits for its answer, stays quiet for 50 ms
// and drops every reset notification seen until then. An RCP announces
// each boot unasked (ncp_base.cpp, the NcpBase constructor), possibly after
// our RESET when it boots slowly, and OpenThread sends answers ahead of
// queued notifications (spinel_encoder.cpp Encoder::BeginFrame), so neither
// the first notification nor the order of frames tells which reset is
// which; only what arrives after the synchronisation is a new reset. Then
// it reads the protocol version (4.x), firmware version, capabilities
// (CONFIG_RADIO and MAC_RAW, or it is not an RCP), the EUI-64 (on every
// connection: the RCP may be another one), the RCP API version (at least 4)
// and the oldest host API the firmware accepts (ours is 11), applies the
// settings (again if Configure changed them meanwhile) and turns the raw
// stream on. Firmware that is not an RCP or whose API is out of range is
// refused with ErrNotRCP or ErrIncompatible and a message naming what was
// found.
//
// Transmission: one frame in flight, as OpenThread's RCP holds one (a
// second STREAM_RAW replaces the first, whose TID is never answered:
// sub_mac.cpp SubMac::Send); the Spinel client's transmit token enforces
// it, and an energy scan holds the token too (SubMac::Send refuses during
// one). Each request names the configured channel as the receive channel
// after the transmission, which the RCP honours (ncp_base_radio.cpp
// DecodeStreamRawTxRequest, sub_mac.cpp HandleTransmitDone).
// TransmitFrames sends a datagram's frames back to back: the caller writes
// the first request itself; each later one is written by the client's
// reader goroutine the moment the previous transmit-done arrives
// (spinel.Client.TransmitSequence), including the retries TxOptions.
// CCARetries allows after a channel access failure, and the caller is
// woken once, when the batch ends. A frame goes from the caller's PSDU to
// the UART's write buffer in one copy (Spinel header, PSDU and the fields
// after it are HDLC-escaped straight into it) and one write system call;
// nothing is allocated, and the acknowledgement is copied only into a
// buffer the caller brings. Transmit is a batch of one. TransmitFrom is
// the pull form on the same machinery: the caller takes the token and
// writes the first request; then, on each transmit-done, the reader calls
// the radio.FrameSource's Done and Next and writes the next request,
// without waking the caller, until Next has nothing (the caller then
// returns nil) or the run fails; the ACK is lent to Done from the
// reader's buffer, and nothing is allocated per frame. The token is held
// for the whole run, so an energy scan or another caller waits until Next
// says there is nothing more: a source ends its runs.
//
// Reception: the client's reader hands each IS STREAM_RAW to the driver on
// its own goroutine (spinel.Client.SubscribeFunc); the driver copies the
// PSDU into a buffer lent from a pool of RxBuffer+8 and sends the frame to
// Receive's channel: one copy, one hand-off, no allocation when the
// consumer calls Frame.Release. A full channel drops the frame (counted in
// RxDropped); an empty pool with room in the channel makes a new buffer
// (counted in RxBuffersMade: a consumer that keeps or never releases its
// frames). The reader never waits for the consumer.
//
// Line errors cost only the frames they hit. The HDLC-lite FCS drops a
// damaged frame on either side; a damaged received frame is lost (its
// sender was acknowledged on the air, nothing can bring it back), a lost
// transmit request or transmit-done costs one wait sized from the frame
// (spinel.TransmitWait: OpenThread's CSMA-CA, ACK wait and retransmissions
// at their longest, the line at its rate, a margin; about 0.3 s where
// OpenThread's host waits 5 s) and the request goes again under a fresh
// TID, up to spinel.ClientOptions.TransmitRetries times (default 7). The
// driver sends it again rather than report it failed: the frame was lost
// between host and RCP, not on the air, and the link above counts air
// failures (no ACK, channel access) and drops a whole datagram for one
// failed fragment. Each request of an initialisation is likewise sent up to
// RequestTries times. Noise shaped like a reset notification but with a bad FCS is dropped
// and counted like any: only a frame whose FCS checks is a notification.
//
// Recovery: a transmission whose tries are all spent, or a request that
// timed out, has the supervisor probe the RCP first: GET
// MAC_RAW_STREAM_ENABLED up to ProbeTries times, ProbeTimeout each. True:
// the line lost frames, nothing more is done — unless three transmissions
// in a row spent their tries, which is a stuck transmitter rather than a
// line (reset as below). False (a transmission refused with INVALID_STATE
// asks too): the RCP reset and its notification was lost. No answer: the
// RCP (or the line) does not answer at all. A reset notification nobody
// asked for, a reset found by the probe and an RCP that does not answer are
// all handled over the same connection (as
// RadioSpinel::RecoverFromRcpFailure does): RESET, the identity, the
// settings; what was sent to an RCP that stalled reaches it in order, our
// RESET included, so that recovery completes as soon as it is back, once.
// When that fails, or the transport fails (the dongle unplugged, the child
// killed or stopped for good), the connection is closed and opened again,
// with a backoff from MinBackoff (50 ms) doubling to MaxBackoff (500 ms):
// back within a second of the fault's end, one new forkpty child per fault,
// none when the driver closes. Transmissions under way end with TxAborted
// and a counted reason; Transmit called while the radio is down fails at
// once with ErrNotReady. Config.OnRecovered reports the RCP's identity
// after each recovery, so that what derives from its EUI-64 can follow.
// Every counter in Stats, the Spinel and HDLC ones included, is the
// driver's over its life: a reconnection does not take it back.
//
// Goroutines: superviseRCP (the connection lifecycle: bring-up, reset
// notifications and energy scan results through the Spinel client's
// subscription, recovery) and each connection's Spinel client reader
// (spinelReader), which also delivers received frames, writes the
// requests of a batch after the first and, for TransmitFrom, calls the
// source's Done and Next for every frame after the first (the first Next,
// and the Done of a frame cut short by ctx, a reset or the connection,
// run on TransmitFrom's caller's goroutine, never at the same time as the
// reader's). Transmissions run on their callers' goroutines; there is no
// transmit goroutine. When a caller's
// context ends with a frame in the RCP's hands, the client waits for that
// frame's transmit-done on a short-lived goroutine before the next
// transmission may go. All stop on Close.
package rcp
