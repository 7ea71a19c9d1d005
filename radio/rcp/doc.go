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
// sub_mac.cpp SubMac::Send). Each request names the configured channel as
// the receive channel after the transmission, which the RCP honours
// (ncp_base_radio.cpp DecodeStreamRawTxRequest, sub_mac.cpp
// HandleTransmitDone).
//
// Recovery: a reset notification nobody asked for initialises the RCP
// again over the same connection (as RadioSpinel::RecoverFromRcpFailure
// does). A transport error (the dongle unplugged, the child killed) or a
// request or transmit-done that times out (a hung or stopped RCP) closes
// the connection and opens a new one with exponential backoff: one new
// forkpty child per fault, none when the driver closes. Queued and
// in-flight transmissions end with TxAborted and a counted reason; Transmit
// called while the radio is down fails at once with ErrNotReady.
// Config.OnRecovered reports the RCP's identity after each recovery, so that
// what derives from its EUI-64 can follow.
//
// Goroutines: superviseRCP (connection lifecycle, receiving unsolicited
// frames through the Spinel client's subscription) and transmitLoop, plus
// each connection's Spinel client reader. All stop on Close.
package rcp
