// Package hcisim is a simulated Bluetooth LE controller: it speaks HCI
// framed with H4 (Core v5.4 Vol 4 Part A §2) on a byte stream — a PTY
// master, or one end of a net.Pipe — and drives a device of the simulated
// LE link layer (sim/le). The BLE host (ble) and the daemon run
// against it unchanged, as they would against Zephyr's hci_uart on an
// nRF52840, which is what the zero Config looks like.
//
// What the host can observe, and the sections it follows (Vol 4 Part E
// unless said otherwise):
//
//   - Command flow (§4.4): every command is answered with one Command
//     Complete (§7.7.14) or Command Status (§7.7.15), Num_HCI_Command_Packets
//     1. Commands that complete later (Disconnect, LE Create Connection, LE
//     Connection Update, LE Set PHY) get Command Status, then their own
//     event. Errors (§4.5): Invalid HCI Command Parameters (0x12) for
//     parameters out of range, Unknown Connection Identifier (0x02) for
//     handles without a connection (with the handle after the status, as
//     §4.5 asks), Command Disallowed (0x0C) for commands the state forbids.
//     Unknown opcodes: §4.5 leaves Command Complete or Command Status to the
//     implementation; Zephyr's controller, Nordic's SoftDevice Controller and
//     BlueZ's emulator all answer Command Status with Unknown HCI Command
//     (0x01), and so does this one unless Config.UnknownCommandComplete.
//   - Event masks (§7.3.1, §7.8.1): Disconnection Complete, Data Buffer
//     Overflow and the LE Meta subevents are sent only when unmasked; LE
//     Enhanced Connection Complete replaces LE Connection Complete when its
//     bit is set (§7.7.65.10). Command Complete, Command Status and Number
//     Of Completed Packets cannot be masked.
//   - ACL flow control (§4.1, §4.3): LE Read Buffer Size announces
//     Config.ACLDataLength and Config.ACLBuffers; a packet beyond the
//     buffers is dropped and reported with Data Buffer Overflow (§7.7.26);
//     each packet the peer acknowledged frees its buffer with Number Of
//     Completed Packets (§7.7.19); a connection's packets still in flight
//     when it goes down are flushed silently: the host takes their buffers
//     back on Disconnection Complete (§4.3).
//   - ACL to the host: one packet per link-layer PDU received, as it came
//     off the air (at most the data length), the first of each L2CAP PDU
//     flagged 0b10, the rest 0b01 (§5.4.2).
//   - Connections: LE (Enhanced) Connection Complete on both sides with the
//     roles, Disconnection Complete with the reason (Connection Terminated
//     By Local Host, 0x16, on the side that asked; the peer's reason on the
//     other; Connection Timeout, 0x08, on both when the link is lost), LE
//     Data Length Change with times from octets and PHY (Vol 6 Part B
//     §4.5.10), LE PHY Update Complete, LE Connection Update Complete.
//   - Reset (§7.3.2): back to the defaults without a word to the host about
//     what was running; its connections are abandoned, so peers see a
//     supervision timeout.
//
// Left out: extended advertising and scanning, scan responses (active
// scanning reports what passive scanning does), directed advertising (sent
// as connectable undirected), the filter accept list (initiating with
// filter policy 1 never connects), privacy and the resolving list,
// encryption, the Connection Parameters Request procedure, LE Coded, ISO,
// host flow control toward the host (Host Buffer Size), BR/EDR, vendor
// commands. The link layer is sim/le's: advertising intervals, scan
// windows and connection event lengths are its own, and the own address of
// advertising, scanning and initiating is always Config.Addr.
package hcisim
