package medium

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// enableUnreachable asks the kernel to report ICMP errors for datagrams the
// hub's unconnected socket sent (IP_RECVERR, IPV6_RECVERR: ip(7), ipv6(7)).
// Without it Linux drops them for an unconnected UDP socket
// (__udp4_lib_err: no recverr and not connected), and a peer whose process
// is gone would be written to for ever. With it, the next read fails with
// ECONNREFUSED and the error queue says which destination refused.
func enableUnreachable(conn *net.UDPConn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_RECVERR, 1) == nil {
			ok = true
		}
		// A dual-stack IPv6 socket needs its own, for IPv6 peers.
		if unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_RECVERR, 1) == nil {
			ok = true
		}
	})
	return ok
}

// readUnreachable drains the socket's error queue (MSG_ERRQUEUE) and
// returns the destinations that answered "port unreachable"
// (sock_extended_err.ee_errno ECONNREFUSED): a peer whose socket is
// closed — a RIOT native node that exited. Other errors (host or network
// unreachable) may pass and are ignored.
func readUnreachable(conn *net.UDPConn) []netip.AddrPort {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil
	}
	var gone []netip.AddrPort
	var buf [64]byte
	var oob [256]byte
	_ = rc.Read(func(fd uintptr) bool {
		for range 64 { // bounded: the queue holds at most what was sent
			_, oobn, _, from, err := unix.Recvmsg(int(fd), buf[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return true // EAGAIN: the queue is empty
			}
			if !refused(oob[:oobn]) {
				continue
			}
			switch sa := from.(type) {
			case *unix.SockaddrInet4:
				gone = append(gone, netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)))
			case *unix.SockaddrInet6:
				gone = append(gone, netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port)))
			}
		}
		return true
	})
	return gone
}

// refused reports whether the control messages hold an IP_RECVERR or
// IPV6_RECVERR sock_extended_err whose ee_errno (its first four octets,
// host order: linux/errqueue.h) is ECONNREFUSED.
func refused(oob []byte) bool {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	for _, c := range msgs {
		if (c.Header.Level == unix.SOL_IP && c.Header.Type == unix.IP_RECVERR ||
			c.Header.Level == unix.SOL_IPV6 && c.Header.Type == unix.IPV6_RECVERR) && len(c.Data) >= 4 {
			if syscall.Errno(binary.NativeEndian.Uint32(c.Data)) == syscall.ECONNREFUSED {
				return true
			}
		}
	}
	return false
}
