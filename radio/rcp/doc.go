// Package rcp drives an IEEE 802.15.4 radio co-processor running
// OpenThread's RCP firmware (ot-rcp on an nRF52840 dongle, an ESP32-H2, or
// the built-in simulator) over Spinel, and presents it as a radio.Radio.
//
// Lifecycle: Open connects (through an Opener: a UART or forkpty byte
// stream framed with HDLC-lite, or SPI), resets the RCP and waits for its
// reset notification (any reset reason: firmware reports power-on even after
// a software reset), reads the protocol version (4.x required), firmware
// version, capabilities (CONFIG_RADIO and MAC_RAW, or it is not an RCP),
// EUI-64, RCP API version (at least 4) and, when the firmware says, the
// oldest host API it accepts (ours is 11), then applies the settings and
// turns the raw stream on. Firmware that is not an RCP or whose API is out
// of range is refused with ErrNotRCP or ErrIncompatible and a message
// naming what was found.
//
// Recovery: an unsolicited reset notification, a request that times out or
// a transport error (the dongle unplugged) takes the radio down. Queued and
// in-flight transmissions end with TxAborted and a counted reason; Transmit
// called while the radio is down fails at once with ErrNotReady. The driver
// then reconnects with exponential backoff, initialises the RCP again and
// restores every setting. Each connection owns its Spinel client and one
// receive goroutine; both end before the next connection starts, so
// nothing leaks across recoveries.
//
// Goroutines: superviseRCP (connection lifecycle), transmitLoop (one frame
// in flight, as the RCP requires), and per connection receiveFrames plus the
// Spinel client's reader. All stop on Close.
package rcp
