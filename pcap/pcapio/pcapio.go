package pcapio

import (
	"errors"
	"time"
)

// Link-layer header types from tcpdump's registry
// (https://www.tcpdump.org/linktypes.html). Only the ones this project reads
// or writes are named; any other value passes through unchanged.
const (
	LinkTypeNull                = 0   // BSD loopback: 4-byte address family in the capturing host's byte order
	LinkTypeEthernet            = 1   // Ethernet II / 802.3
	LinkTypeRaw                 = 101 // raw IPv4 or IPv6, told apart by the version nibble
	LinkTypeLoop                = 108 // OpenBSD loopback: like Null but the family is big-endian
	LinkTypeLinuxSLL            = 113 // Linux "cooked" capture v1 (16-byte header)
	LinkTypeIEEE802154WithFCS   = 195 // IEEE 802.15.4 PSDU including the 2-byte FCS
	LinkTypeBluetoothH4WithPHDR = 201 // Bluetooth HCI H4 with a 4-byte direction header
	LinkTypeIPv4                = 228 // raw IPv4
	LinkTypeIPv6                = 229 // raw IPv6
	LinkTypeIEEE802154NoFCS     = 230 // IEEE 802.15.4 PSDU without FCS
	LinkTypeLinuxSLL2           = 276 // Linux "cooked" capture v2 (20-byte header)
)

// MaxRecordLen is the largest captured packet the Reader accepts (Wireshark's
// largest snapshot length, 256 KiB). A longer record is taken for corruption
// rather than allocated.
const MaxRecordLen = 256 << 10

var (
	// ErrMalformed reports input that breaks the format: truncated files,
	// headers or blocks, bad magic numbers, impossible lengths.
	ErrMalformed = errors.New("pcapio: malformed input")
	// ErrUnsupported reports well-formed input that this package does not
	// handle, such as a pcap major version other than 2 or an IPv4 fragment.
	ErrUnsupported = errors.New("pcapio: unsupported")
	// ErrNotUDP is returned, unwrapped, by ExtractUDP for a frame that is
	// valid but does not carry a UDP datagram (ARP, TCP, ICMP, ESP, …).
	ErrNotUDP = errors.New("pcapio: not a UDP datagram")
)

// Packet is one captured packet.
type Packet struct {
	// Timestamp is the capture time, in UTC. It is the zero Time for a
	// pcapng Simple Packet Block, which carries no timestamp.
	Timestamp time.Time
	// LinkType is the link-layer header type of Data (LinkType…), from the
	// pcap file header or the packet's pcapng interface.
	LinkType uint32
	// Data holds the captured bytes. It is valid until the next call to
	// Reader.Next, which reuses the buffer.
	Data []byte
	// OrigLen is the length of the packet on the wire; it exceeds len(Data)
	// when the capture was truncated to a snapshot length.
	OrigLen int
	// Interface is the pcapng Interface ID within the current section
	// (the index of its Interface Description Block); 0 for classic pcap.
	Interface int
}
