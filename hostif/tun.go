package hostif

import "errors"

// DefaultMTU is the MTU of the TUN interface when none is configured: the
// IPv6 minimum link MTU (RFC 8200 §5), which is also the MTU a 6LoWPAN link
// offers above its fragmentation layer (RFC 4944 §4). Anything larger would
// only make the kernel hand us packets that the mesh must refuse with
// Packet Too Big.
const DefaultMTU = 1280

// tunMinMTU and tunMaxMTU bound a TUN MTU: below 1280 the kernel disables IPv6 on
// the interface (RFC 8200 §5), above 65535 is past the TUN driver's maximum.
const (
	tunMinMTU = 1280
	tunMaxMTU = 65535
)

// ErrUnsupportedOS is returned by OpenTUN, Configure, EnableForwarding and
// CleanupStale on systems other than Linux: the border router's host side
// (TUN, rtnetlink, /proc/sys) is Linux-only, while the protocol packages build
// and test anywhere.
var ErrUnsupportedOS = errors.New("router: TUN and netlink configuration are supported on Linux only")

// TUN is the host side of the border router: a layer-3 interface that
// carries bare IPv6 packets between the Linux stack and the forwarder. The
// forwarder depends on this interface only; OpenTUN returns the Linux TUN
// implementation.
//
// The kernel may hand a TUN any packet it routes there, including IPv4 if
// someone routes IPv4 to it; the caller drops every packet whose version
// nibble is not 6. On a freshly raised interface the kernel also sends its
// own IPv6 traffic (MLD reports, router solicitations); the forwarder treats
// those like any other packet from Linux.
//
// One goroutine may call ReadPacket while another calls WritePacket; calls of
// the same method are serialised.
type TUN interface {
	// Name is the interface name, as the kernel knows it.
	Name() string

	// MTU is the interface MTU, kept current when someone changes it with
	// ip link or netlink.
	MTU() int

	// ReadPacket blocks until the kernel routes a packet to the interface,
	// copies it to the start of buf and returns its length. buf should hold
	// MTU() bytes: a longer IP packet is dropped and the error wraps
	// io.ErrShortBuffer (the kernel truncates silently; the IP header's
	// length tells). It does not allocate. After Close, and when Close
	// interrupts it, the error wraps os.ErrClosed; any other error is about
	// one packet or one event (wireguard reports a failure of its link
	// listener through the next read) and the caller may read on.
	ReadPacket(buf []byte) (int, error)

	// WritePacket hands one IPv6 packet, starting at pkt[0], to the kernel
	// as if received on the interface. It does not allocate.
	WritePacket(pkt []byte) error

	// Close releases the interface (which vanishes unless it is a
	// persistent TUN created by someone else, whose MTU is then put back),
	// wakes a blocked ReadPacket and returns once every goroutine the
	// device started has ended.
	Close() error
}
