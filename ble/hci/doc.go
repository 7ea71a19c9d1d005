// Package hci encodes and decodes the Bluetooth Host Controller Interface
// (HCI) packets a BLE host and an LE controller exchange: commands, events
// and ACL data, framed for a UART with H4. It is a pure codec: the only
// I/O is H4Reader, which reads packets from an io.Reader. The HCI host
// (transport, command flow control, GAP) and a controller simulator build
// on it; both directions are here, encoding and decoding of every packet.
//
// References are to the Bluetooth Core Specification v5.4:
//
//   - Vol 4 Part A §2: H4, the UART transport's packet indicators
//     (PacketType, H4Reader, AppendH4…).
//   - Vol 4 Part E §5.4: the HCI packets — command (§5.4.1, Command), ACL
//     data (§5.4.2, ACL, with the packet boundary and broadcast flags) and
//     event (§5.4.4, Event). §5.2: parameters are little endian.
//   - Vol 4 Part E §7: the commands a BLE host needs, their parameters and
//     return parameters (Opcode constants list them with their sections),
//     and the events it receives (§7.7): Disconnection Complete, Command
//     Complete, Command Status, Hardware Error, Number Of Completed Packets,
//     Data Buffer Overflow and the LE Meta subevents Connection Complete,
//     Advertising Report, Connection Update Complete, Data Length Change,
//     Enhanced Connection Complete (v1) and PHY Update Complete.
//   - Vol 1 Part F: status and error codes (Status, StatusError).
//   - Vol 6 Part B §4.6 and Vol 2 Part C §3.3: LE and LMP feature bits.
//   - Vol 3 Part A §3.1, §7.2: the L2CAP basic header, for fragmenting PDUs
//     into ACL packets and reassembling them (Fragmenter, FragmentL2CAP,
//     ACLReassembler).
//   - Vol 3 Part C §11 and the Core Specification Supplement Part A:
//     advertising data (IterateAD, ADHasUUID16, AppendAD…).
//
// Packets are byte-slice views (Command, Event, ACL) checked once by their
// Parse function; fixed-layout parameters are small structs with an Append
// method and a Parse function; variable ones (Number Of Completed Packets,
// advertising reports, AD structures) are read with iterators. Decoding
// allocates nothing, encoding appends to the caller's buffer, no input
// makes a parser panic, and every error wraps one of the package's
// sentinel errors; a command the controller failed is a *StatusError.
// Parsers of fixed layouts ignore octets after the parameters they know
// (later versions of the specification extend commands and events at the
// end); packet parsers insist on exact lengths.
//
// Left out: SCO and ISO data (H4Reader skips them), BR/EDR commands and
// events, extended advertising and scanning, LE Enhanced Connection
// Complete v2, encryption and pairing (LE Long Term Key Request and the
// commands that answer it), vendor commands, the three-wire UART (H5)
// transport, and HCI flow control itself, which is the host's job.
package hci
