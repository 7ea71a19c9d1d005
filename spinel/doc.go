// Package spinel speaks Spinel, the host–co-processor protocol of
// OpenThread, from the host side of a radio co-processor (RCP): frame
// encoding and decoding, packed integers, the data types the RCP's
// properties use, status codes, HDLC-lite framing for UARTs and PTYs, and a
// Client that matches answers to requests by transaction ID and hands
// unsolicited frames to subscribers.
//
// The facts below were read from OpenThread's sources (src/lib/spinel/
// spinel.h, spinel.c, radio_spinel.cpp, spinel_driver.cpp; src/ncp/
// ncp_base.cpp, ncp_base_radio.cpp; src/lib/hdlc/hdlc.cpp) and the Spinel
// draft (draft-rquattle-spinel-unified), and are restated here in our own
// words.
//
// # Frames
//
// A Spinel frame is a header byte, a command, and a command-specific payload.
// The header has bit 7 set and bit 6 clear, the interface ID (IID, 0 unless
// the RCP is multipan) in bits 5–4, and the transaction ID (TID) in bits
// 3–0. The command is a packed unsigned integer. GET, SET, INSERT, REMOVE
// and their answers IS, INSERTED, REMOVED then carry the property key, also
// a packed integer, and the property value fills the rest of the frame.
// RESET carries a single byte (1 platform, 2 stack, 3 bootloader) and no
// property; NOOP carries nothing.
//
// A packed unsigned integer holds 7 bits per byte, least-significant group
// first, with bit 7 set on each byte that has a successor; Spinel allows at
// most three bytes, so values up to 2^21−1. (0 → 00, 127 → 7F, 128 → 80 01,
// 16384 → 80 80 01.)
//
// TIDs: the host numbers requests 1–15 and the RCP answers with the same
// TID. TID 0 marks frames the RCP sends on its own (received 802.15.4
// frames, reset notifications, logs, scan results); a request sent with TID
// 0 gets no answer.
//
// # Value types
//
// Values are sequences of typed fields, named by letters: `b` bool (one
// byte, 0 or 1; OpenThread's decoder rejects anything else), `C`/`c` 8-bit
// unsigned/signed, `S`/`s` 16-bit, `L`/`l` 32-bit, `X`/`x` 64-bit (all
// little-endian), `i` packed unsigned integer, `E` EUI-64 (8 bytes,
// canonical order; the RCP reverses it for the air), `6` IPv6 address (16
// bytes), `U` UTF-8 string with a NUL terminator, `d` data with a 16-bit
// little-endian length prefix, `D` data to the end of the value, `t(...)` a
// struct: a 16-bit length then its fields, and `A(x)` items of type x
// repeated to the end of the value or enclosing struct. Firmware adds
// fields at the end of structs and values over time, so a reader must use
// the struct lengths and ignore what follows the fields it knows (Reader
// does this).
//
// # Properties an RCP host uses
//
//	0x00   LAST_STATUS                 i     status of the last command; reset reasons
//	0x01   PROTOCOL_VERSION            ii    major, minor: 4.3
//	0x02   NCP_VERSION                 U     firmware version string
//	0x03   INTERFACE_TYPE              i     3 = Thread
//	0x05   CAPS                        A(i)  an RCP lists CONFIG_RADIO (34) and MAC_RAW (513)
//	0x08   HWADDR                      E     factory EUI-64
//	0x20   PHY_ENABLED                 b
//	0x21   PHY_CHAN                    C
//	0x24   PHY_CCA_THRESHOLD           c     dBm
//	0x25   PHY_TX_POWER                c     dBm
//	0x26   PHY_RSSI                    c     dBm, instantaneous
//	0x27   PHY_RX_SENSITIVITY          c     dBm
//	0x30   MAC_SCAN_STATE              C     0 idle, 2 energy scan
//	0x31   MAC_SCAN_MASK               A(C)  channels to scan
//	0x32   MAC_SCAN_PERIOD             S     ms per channel
//	0x34   MAC_15_4_LADDR              E     extended address, canonical order
//	0x35   MAC_15_4_SADDR              S
//	0x36   MAC_15_4_PANID              S
//	0x37   MAC_RAW_STREAM_ENABLED      b     receive only once this is on
//	0x38   MAC_PROMISCUOUS_MODE        C     0 off, 1 network, 2 full
//	0x39   MAC_ENERGY_SCAN_RESULT      Cc    channel, max RSSI (unsolicited)
//	0x71   STREAM_RAW                  dD    802.15.4 frames in and out
//	0x74   STREAM_LOG                  UD    log line, optional metadata
//	0xB0   RCP_API_VERSION             i     when CAPS lists 64
//	0xB1   RCP_MIN_HOST_API_VERSION    i     when CAPS lists 65
//	0x120B RADIO_CAPS                  i     otRadioCaps bits (RadioCap)
//	0x1303 MAC_SRC_MATCH_ENABLED       b
//	0x1304 MAC_SRC_MATCH_SHORT_ADDRESSES    A(S)  SET replaces; INSERT/REMOVE one `S`
//	0x1305 MAC_SRC_MATCH_EXTENDED_ADDRESSES A(E)  SET replaces; INSERT/REMOVE one `E`
//
// An energy scan is three SETs — MAC_SCAN_MASK (one channel), MAC_SCAN_PERIOD,
// MAC_SCAN_STATE = 2 — and, when it ends, an unsolicited IS
// MAC_ENERGY_SCAN_RESULT followed by IS MAC_SCAN_STATE = 0.
//
// # How an OpenThread RCP answers
//
// GET is answered by IS of the property, or IS LAST_STATUS PROP_NOT_FOUND.
// SET is answered by IS of the property holding its value after the change;
// for a property without a getter, by IS LAST_STATUS OK; on failure by IS
// LAST_STATUS with the error. INSERT and REMOVE are answered by INSERTED or
// REMOVED echoing the value, or IS LAST_STATUS with an error. NOOP is
// answered by IS LAST_STATUS OK. All carry the request's TID
// (ncp_base.cpp: HandleCommandPropertySet, WritePropertyValueIsFrame,
// HandleCommandPropertyInsertRemove).
//
// RESET is not answered. A stack reset (type 2) makes the RCP drop its
// state and send an unsolicited (TID 0) IS LAST_STATUS RESET_POWER_ON — it
// says POWER_ON even though nothing was powered (ncp_base.cpp,
// CommandHandler_RESET). After a real boot it sends the platform's reset
// reason. The host accepts any reason 112–127.
//
// # Transmit and transmit-done
//
// To transmit, the host sends SET STREAM_RAW with the value (RadioSpinel::
// Transmit): `d` the PSDU with its length counting the two FCS bytes
// (placeholders), then `C` channel, `C` max CSMA backoffs, `C` max frame
// retries, `b` CSMA enabled, `b` header updated, `b` is a retransmission,
// `b` security processed, `L` TX delay, `L` TX delay base time, `C` receive
// channel after the transmission, `c` TX power. The RCP requires the PSDU
// (at most 127 bytes) and the channel; it parses the rest one by one and
// stops quietly at the first missing field, keeping its defaults (4
// backoffs, 15 retries, CSMA on, receive channel = transmit channel, power
// unset). Unset TX power is 127 (OT_RADIO_POWER_INVALID), not −128.
//
// The RCP does not answer that SET at once (ncp_base_radio.cpp,
// HandlePropertySet_SPINEL_PROP_STREAM_RAW): it stores the request's TID
// and starts the transmission. When the radio reports the outcome
// (LinkRawTransmitDone) it sends one frame with that TID and the request's
// IID: command IS, property LAST_STATUS — not STREAM_RAW — and the value
//
//	i  status: OK, NO_ACK (17), CCA_FAILURE (18), or 16384 + an otError
//	   with no Spinel equivalent, e.g. 16395 for a transmission aborted
//	b  the ACK's frame-pending bit
//	b  header updated (the RCP wrote frame counter and key ID itself)
//	   then, only when the status is OK, the ACK frame in the receive layout
//	   below (zero-length PSDU when no ACK was requested),
//	   then, only for a secured frame whose header the RCP updated:
//	C  key ID, L frame counter
//
// If the RCP cannot start the transmission (raw link off: INVALID_STATE;
// an energy scan running; a parse error) it answers at once with IS
// LAST_STATUS carrying only the status, under the same TID. It runs one
// transmission at a time: a second SET STREAM_RAW while one is under way
// is not refused but replaces it (the request is decoded into the one
// transmit buffer, SubMac::Send starts CSMA-CA over in every state but
// energy scan), and only the latest TID is answered (mCurTransmitTID). A
// RESET forgets a pending transmission: no
// transmit-done follows. A SET STREAM_RAW sent with TID 0 is transmitted
// but never reported. On the host side OpenThread's RadioSpinel keeps the
// TID reserved until the transmit-done arrives, while other requests and
// their answers go on (RadioSpinel::RequestV, HandleResponse,
// HandleTransmitDone), and gives up after 5 s.
//
// # Line errors
//
// A noisy line loses frames: the HDLC-lite FCS drops them on either side,
// and nothing is sent back for a frame the RCP dropped. A lost request
// costs its answer; a lost transmit request or transmit-done leaves the
// host waiting. This Client waits for a transmit-done no longer than the
// transmission can take (TransmitWait: OpenThread's CSMA-CA, ACK wait and
// retransmissions at their longest, plus the line both ways and a margin;
// about 0.3 s, not OpenThread's 5 s) and then sends the request again under
// a fresh TID (ClientOptions.TransmitRetries): since the wait covers the
// longest transmission, the RCP is idle by then, and the worst a request
// sent again can do is send the frame twice, which the receiver drops as a
// MAC duplicate. A TID whose answer is overdue is held back for a while, so
// that its late answer is dropped (ClientStats.Late) rather than taken for
// another request's. Try does the same for GETs and SETs.
//
// # Received frames
//
// Each received frame arrives as an unsolicited IS STREAM_RAW
// (LinkRawReceiveDone, PackRadioFrame): `d` the PSDU with its FCS, `c`
// RSSI, `c` noise floor (always −128 from OpenThread), `S` flags (0x1
// transmitted, 0x4 bad FCS, 0x8 duplicate, 0x10 acked with frame pending,
// 0x20 acked with a secure enhanced ACK), `t(CCX)` channel, LQI, timestamp
// in µs, `t(i)` receive error — an OpenThread otError (0 none, 11 abort, 17
// FCS), not a Spinel status; with an error the PSDU is empty — and `t(CL)`
// key ID and frame counter of the enhanced ACK the RCP sent. The host only
// reads the last struct when the RCP has the transmit-security capability.
//
// # Boot
//
// OpenThread's host: send RESET (stack); wait up to 2 s for the reset
// notification; GET PROTOCOL_VERSION (must be 4.3), NCP_VERSION, CAPS (must
// list CONFIG_RADIO and MAC_RAW, else the firmware is not an RCP), then
// RCP_API_VERSION (when CAPS lists 64; must be at least the host's minimum)
// and RCP_MIN_HOST_API_VERSION (when CAPS lists 65; the host's version must
// be at least that), RADIO_CAPS and HWADDR. To run: SET PHY_ENABLED 1,
// MAC_15_4_PANID, MAC_15_4_SADDR, MAC_15_4_LADDR, PHY_CHAN and last
// MAC_RAW_STREAM_ENABLED 1, which starts reception. Every request waits at
// most 2 s for its answer. A reset notification that arrives later means
// the RCP reset on its own and must be set up again.
//
// # HDLC-lite
//
// On a UART or PTY each frame is sent as a flag byte 0x7E, the frame and its
// FCS with 0x7E, 0x7D, 0x11, 0x13 and 0xF8 replaced by 0x7D and the byte XOR
// 0x20, and a closing 0x7E. The FCS is CRC-16/X.25 (reflected polynomial
// 0x8408, initial value 0xFFFF, complemented), low byte first; running the
// CRC over data and FCS leaves 0xF0B8 when both are intact. The Spinel
// draft calls it the KERMIT CRC, but OpenThread's hdlc.cpp uses the X.25
// initial value and final complement. Repeated flags are legal. The
// decoder here treats 0x7D 0x7E as an aborted frame (RFC 1662 §4.4.1)
// whose flag opens the next one; OpenThread's own decoder instead takes the
// pair as data and loses the frame boundary.
//
// # Allocation
//
// Frame.Decode, the value decoders, Reader, the Append functions, the HDLC
// encoder and decoder, and the Client's receive path (subscriptions and
// SubscribeFunc), TransmitInto and TransmitSequence do not allocate.
// Get/Set/Insert/Remove copy the answer for the caller.
//
// # Copies and hand-offs
//
// FrameConn is the one declaration of the frame seam; HDLCConn and the SPI
// transport (radio/transport) implement it. HDLCConn also hands out each
// decoded frame in place (FrameViewer) and encodes a frame given in parts
// (FramePartsWriter), so a transmit request goes from the caller's PSDU to
// the write buffer in one copy and one write system call, and a received
// frame reaches a SubscribeFunc callback without a copy. TransmitSequence
// writes each request after the first from the reader goroutine, the
// moment the previous transmit-done arrives.
//
// # Left out
//
// Multipan (IIDs are carried, not used), the SPI transport's framing (the
// transport's job), NCP (full Thread stack) properties, PEEK/POKE,
// MULTI_GET/SET, vendor commands, key and frame-counter properties beyond
// their keys (RCP_MAC_KEY, RCP_MAC_FRAME_COUNTER), CSL and enhanced-ACK
// probing, diagnostics, and decoding STREAM_LOG metadata.
package spinel
