//go:build linux

package otsim

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// udpLink is the bridge's pair of sockets on OpenThread's UDP medium, set
// up as a simulated node's (simul_utils.c, TryInitSocketIp4 with the
// default local interface 127.0.0.1):
//
//   - transmit: bound to 127.0.0.1:PortBase+id, IP_MULTICAST_IF 127.0.0.1,
//     IP_MULTICAST_LOOP on, sending to 224.0.0.116:PortBase
//     (InitTxSocketIp4, utilsSendOverSocket);
//   - receive: SO_REUSEADDR and SO_REUSEPORT (every node of the
//     simulation binds the same group and port), joined to 224.0.0.116 on
//     127.0.0.1, bound to 224.0.0.116:PortBase (InitRxSocket).
type udpLink struct {
	tx, rx *net.UDPConn
	group  netip.AddrPort
}

func openLink(ctx context.Context, portBase, id int) (link, error) {
	group := netip.AddrPortFrom(Group, uint16(portBase))
	lo := Loopback.As4()
	var lc net.ListenConfig
	lc.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInet4Addr(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_IF, lo); serr != nil {
				serr = fmt.Errorf("IP_MULTICAST_IF: %w", serr)
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 1); serr != nil {
				serr = fmt.Errorf("IP_MULTICAST_LOOP: %w", serr)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	txAddr := netip.AddrPortFrom(Loopback, NodePort(portBase, id))
	pc, err := lc.ListenPacket(ctx, "udp4", txAddr.String())
	if err != nil {
		return nil, fmt.Errorf("otsim: transmit socket for node id %d (is another simulated node using it?): %w", id, err)
	}
	tx := pc.(*net.UDPConn)

	lc.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, 1); serr != nil {
					serr = fmt.Errorf("SO_REUSEADDR/SO_REUSEPORT: %w", serr)
					return
				}
			}
			mreq := &unix.IPMreqn{Multiaddr: Group.As4(), Address: lo}
			if serr = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq); serr != nil {
				serr = fmt.Errorf("IP_ADD_MEMBERSHIP %v on %v: %w", Group, Loopback, serr)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	pc, err = lc.ListenPacket(ctx, "udp4", group.String())
	if err != nil {
		tx.Close()
		return nil, fmt.Errorf("otsim: receive socket on %v: %w", group, err)
	}
	return &udpLink{tx: tx, rx: pc.(*net.UDPConn), group: group}, nil
}

func (l *udpLink) ReadDatagram(buf []byte) (int, uint16, error) {
	n, from, err := l.rx.ReadFromUDPAddrPort(buf)
	return n, from.Port(), err
}

func (l *udpLink) WriteDatagram(b []byte) error {
	_, err := l.tx.WriteToUDPAddrPort(b, l.group)
	return err
}

func (l *udpLink) Close() error {
	err := l.rx.Close()
	if e := l.tx.Close(); err == nil {
		err = e
	}
	return err
}
