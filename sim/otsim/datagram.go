package otsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Facts of OpenThread's simulation radio medium (examples/platforms/
// simulation, commit 34bb0e4a of the abtink/openthread fork).
const (
	// DefaultPortBase is the UDP port base when the PORT_BASE environment
	// variable is not set (radio.c, sPortBase).
	DefaultPortBase = 9000
	// MaxNodeID is the largest node id ot-rcp accepts
	// (OPENTHREAD_SIMULATION_MAX_NETWORK_SIZE, platform-config.h; checked
	// in system.c otSysInit).
	MaxNodeID = 33
	// maxPSDU is OT_RADIO_FRAME_MAX_SIZE, the largest PSDU in a datagram.
	maxPSDU = 127
	// minPSDU: the medium takes frames of at least four octets (frame
	// control, sequence number, FCS would be five; four keeps the medium's
	// own minimum).
	minPSDU = 4
)

// Group is the multicast group every simulated node sends its datagrams to
// and listens on, port PortBase (simul_utils.c, UTILS_SOCKET_GROUP_ADDR).
var Group = netip.MustParseAddr("224.0.0.116")

// Loopback is the address simulated nodes send from and receive on by
// default (simul_utils.c, UTILS_SOCKET_LOCAL_HOST_ADDR; ot-rcp -L changes
// it).
var Loopback = netip.MustParseAddr("127.0.0.1")

// ErrDatagram is returned for a datagram that is not a simulation radio
// message.
var ErrDatagram = errors.New("otsim: not a radio datagram")

// EUI64 returns the factory EUI-64 of simulation node id: 18:b4:30:00
// followed by id as 32 bits, big-endian (radio.c, otPlatRadioGetIeeeEui64).
func EUI64(id int) [8]byte {
	var e [8]byte
	e[0], e[1], e[2], e[3] = 0x18, 0xb4, 0x30, 0x00
	binary.BigEndian.PutUint32(e[4:], uint32(id))
	return e
}

// NodePort is the UDP port node id sends from: PortBase + id
// (simul_utils.c, utilsInitSocket). A receiver takes the sender's node id
// from the source port (utilsReceiveFromSocket).
func NodePort(portBase, id int) uint16 { return uint16(portBase + id) }

// AppendDatagram appends the radio message a simulated node sends for a
// frame on channel: one channel octet, then the PSDU with its FCS
// (radio.c, struct RadioMessage and radioTransmit: length is the PSDU's
// plus one).
func AppendDatagram(b []byte, channel uint8, psdu []byte) []byte {
	b = append(b, channel)
	return append(b, psdu...)
}

// ParseDatagram splits a radio message into its channel and PSDU (which
// aliases d). A PSDU shorter than four or longer than 127 octets is an
// error.
func ParseDatagram(d []byte) (channel uint8, psdu []byte, err error) {
	if len(d) < 1+minPSDU || len(d) > 1+maxPSDU {
		return 0, nil, fmt.Errorf("%w: %d octets, want 1 channel octet and a PSDU of %d–%d", ErrDatagram, len(d), minPSDU, maxPSDU)
	}
	return d[0], d[1:], nil
}
