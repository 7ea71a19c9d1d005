// Package pcapio reads and writes packet capture files and the ZigBee
// Encapsulation Protocol (ZEP), for the `lowpanbr pcap` troubleshooting tool
// and for tests.
//
// # Capture files
//
// Reader reads both common formats, detected from the first four bytes:
//
//   - classic pcap (draft-ietf-opsawg-pcap): either byte order, microsecond
//     (0xa1b2c3d4) or nanosecond (0xa1b23c4d) magic, major version 2. The
//     link type is the low 16 bits of the header's LinkType field. The
//     header's snaplen is not enforced on records (real files exceed it).
//   - pcapng (draft-ietf-opsawg-pcapng): Section Header Blocks in either
//     byte order, several sections in one file (each with its own byte order
//     and interface table), Interface Description Blocks with their own link
//     types and the if_tsresol (10^-n or 2^-n seconds) and if_tsoffset
//     options, Enhanced, Simple and obsolete Packet Blocks. Every other block
//     (Name Resolution, Interface Statistics, Decryption Secrets, custom, …)
//     is skipped after its length is checked.
//
// Reading is bounded: no record or buffered block may exceed MaxRecordLen
// (plus 64 KiB of options for pcapng), the packet buffer grows only with
// bytes actually read, and blocks that are skipped are not buffered; so a
// corrupt length gives an error wrapping ErrMalformed, never a large
// allocation or a panic. Reader.Next allocates nothing in steady state.
//
// Writer writes classic pcap: little-endian, microseconds, snaplen 65535.
// PcapngWriter writes pcapng for live captures: one section of unknown
// length (so the file can be read while it grows), an Interface
// Description Block per interface with if_name and if_description, and
// Enhanced Packet Blocks with microsecond timestamps, the direction in
// epb_flags and an optional opt_comment. Both allocate nothing per packet.
//
// Link-type numbers are tcpdump's registry (https://www.tcpdump.org/linktypes.html).
// The ones this project meets are named LinkType…: 195 and 230 for IEEE
// 802.15.4 with and without FCS, 201 for Bluetooth HCI H4 with direction,
// 1 (Ethernet) and the IP and cooked-capture types from which ExtractUDP
// digs out UDP, notably ZEP.
//
// # ZEP
//
// ZEP has no specification beyond Wireshark's dissector,
// epan/dissectors/packet-zep.c, which this package follows. Every message
// starts with "EX" and a version byte; multi-byte fields are big-endian.
//
//	v1 (16 bytes): "EX" | 1 | channel | device ID(2) | mode | LQI | reserved(7) | length
//	v2 data (32):  "EX" | 2 | type=1 | channel | device ID(2) | mode | LQI |
//	               NTP timestamp(8) | sequence(4) | reserved(10) | length
//	v2 ack (8):    "EX" | 2 | type=2 | sequence(4)
//
// The PSDU (the 802.15.4 frame) follows the header; the length byte gives
// its size in the low 7 bits, and Wireshark rejects a message whose length
// byte disagrees with the bytes that follow, as Decode does. The timestamp
// is NTP's 32.32 fixed-point seconds since 1900 (RFC 5905 §6; era 1 after
// 2036 per RFC 4330 §3). UDP port 17754 (ZEPPort).
//
// The mode byte is Wireshark's "LQI/CRC Mode" (field zep.lqi_mode). Any
// non-zero value means CRC mode: the last two PSDU bytes are the IEEE
// 802.15.4 FCS (CRC-16, little-endian) and Wireshark hands the PSDU to its
// ordinary 802.15.4 dissector, which verifies it. Zero means LQI mode: the
// last two bytes are TI CC24xx metadata (first the RSSI, then bit 7 = CRC OK
// and bits 0–6 correlation/LQI), there is no FCS to verify, and Wireshark
// uses its "wpan_cc24xx" dissector. ZEP.HasFCS reports which; ZEP.LQIMode
// keeps Wireshark's name for the flag, so LQIMode == true means CRC mode.
// AppendZEP writes the mode the caller sets; RIOT's socket_zep driver, the
// simulated node this project meets, sends CRC mode (1) with a real FCS.
//
// # Left out
//
// Reading pcapng options other than if_tsresol and if_tsoffset (packet
// flags, comments, hashes, name resolution) and writing any other than
// those PcapngWriter names; the "modified" pcap
// format (magic 0xa1b2cd34, refused with ErrUnsupported) and other pcap
// variants; compressed files; ZEP v2 types other than data and ack and ZEP
// versions above 2 (Wireshark treats those as v2; Decode refuses them);
// IPv4 and IPv6 reassembly (ExtractUDP refuses fragments), IPv6 jumbograms,
// and checksum verification on the read side.
package pcapio
