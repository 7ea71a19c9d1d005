// Package hostif is the host side of the border router on Linux: the TUN
// device that carries bare IPv6 packets to and from the kernel
// (golang.zx2c4.com/wireguard/tun), its configuration over rtnetlink
// (vishvananda/netlink: MTU, addresses with kernel address generation off,
// routes, IPv6 forwarding sysctls), a state file recording what was
// changed so that a crashed run's leftovers are undone at the next start
// (CleanupStale), and Undo on shutdown. It takes names, addresses and
// prefixes; it knows nothing of mesh links.
//
// Other systems: every entry point returns ErrUnsupportedOS; the protocol
// packages build and test anywhere.
package hostif
