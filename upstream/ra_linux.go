//go:build linux

package upstream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netlinkx"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lowpanbr/lowpanbr/nd"
)

// Run advertises until ctx ends, then sends a final advertisement with
// Router Lifetime 0 and Route Lifetime 0 for every route (RFC 4861 §6.2.5,
// RFC 4191 §2.3), closes its socket and returns nil. It returns an error
// only if the interface or the socket cannot be set up, and refuses to run
// twice at once.
//
// Run works in the network namespace of the calling thread: the socket and
// the netlink socket it uses to look up the interface's addresses are
// opened there and stay there, whichever thread uses them later.
//
// Until the interface has a link-local address that has passed duplicate
// address detection, Run waits and retries every second rather than fail,
// or send from another address (RFC 4861 §6.1.2: hosts discard an RA whose
// source is not link-local).
func (u *Advertiser) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("router: upstream RA: already running")
	}
	defer u.running.Store(false)
	link, err := openRawRALink(u.cfg.Interface)
	if err != nil {
		return fmt.Errorf("router: upstream RA: %s: %w", u.cfg.Interface, err)
	}
	u.log.Info("upstream RA: started", "routes", u.cfg.Routes, "min_interval", u.cfg.MinInterval, "max_interval", u.cfg.MaxInterval)
	return u.run(ctx, link)
}

// rawRALink is a raw ICMPv6 socket (RFC 3542) bound to the upstream
// interface.
type rawRALink struct {
	f       *os.File // the socket, in the runtime's poller so that Close stops a read
	rc      syscall.RawConn
	h       *netlink.Handle
	ifindex int
	oob     []byte // receive's control messages; receive runs on one goroutine
}

// allNodes is ff02::1 (RFC 4291 §2.7.1), allRouters ff02::2.
var (
	allNodes   = netip.MustParseAddr("ff02::1").As16()
	allRouters = netip.MustParseAddr("ff02::2").As16()
)

// raSendTimeout bounds a send, so that a stuck socket cannot hold up the
// return of Run.
const raSendTimeout = time.Second

func openRawRALink(ifname string) (*rawRALink, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	l, err := netlinkx.RetryDump("find link", func() (netlink.Link, error) { return h.LinkByName(ifname) })
	if err != nil {
		h.Close()
		return nil, err
	}
	ifindex := l.Attrs().Index
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("raw ICMPv6 socket: %w", err)
	}
	if err := setupRASocket(fd, ifname, ifindex); err != nil {
		unix.Close(fd)
		h.Close()
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "icmpv6-ra:"+ifname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		h.Close()
		return nil, err
	}
	return &rawRALink{
		f: f, rc: rc, h: h, ifindex: ifindex,
		oob: make([]byte, unix.CmsgSpace(4)+unix.CmsgSpace(unix.SizeofInet6Pktinfo)),
	}, nil
}

// setupRASocket configures fd for the sender:
//   - bound to the interface, so that it sends there and hears solicitations
//     from there only;
//   - hop limit 255 for multicast and unicast (RFC 4861 §6.1.2: hosts
//     discard RAs with any other);
//   - multicast out of the interface, not looped back to ourselves;
//   - only Router Solicitations let through (RFC 3542 §3.2);
//   - the hop limit and destination of received packets reported
//     (RFC 3542 §6), for the checks of RFC 4861 §6.1.1;
//   - member of all-routers (ff02::2), where hosts solicit (RFC 4861
//     §6.3.7); the kernel joins it only on an interface that forwards.
//
// No IPV6_CHECKSUM: for ICMPv6 the kernel always computes and checks the
// checksum (RFC 3542 §3.1).
func setupRASocket(fd int, ifname string, ifindex int) error {
	if err := unix.BindToDevice(fd, ifname); err != nil {
		return fmt.Errorf("SO_BINDTODEVICE: %w", err)
	}
	for _, o := range []struct {
		name string
		opt  int
		v    int
	}{
		{"IPV6_MULTICAST_HOPS", unix.IPV6_MULTICAST_HOPS, 255},
		{"IPV6_UNICAST_HOPS", unix.IPV6_UNICAST_HOPS, 255},
		{"IPV6_MULTICAST_IF", unix.IPV6_MULTICAST_IF, ifindex},
		{"IPV6_MULTICAST_LOOP", unix.IPV6_MULTICAST_LOOP, 0},
		{"IPV6_RECVHOPLIMIT", unix.IPV6_RECVHOPLIMIT, 1},
		{"IPV6_RECVPKTINFO", unix.IPV6_RECVPKTINFO, 1},
	} {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, o.opt, o.v); err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
	}
	// A set bit blocks the type (the ICMP6_FILTER_SETBLOCK convention).
	var filter unix.ICMPv6Filter
	for i := range filter.Data {
		filter.Data[i] = ^uint32(0)
	}
	rs := uint8(nd.TypeRouterSolicit)
	filter.Data[rs>>5] &^= 1 << (rs & 31)
	if err := unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, unix.ICMPV6_FILTER, &filter); err != nil {
		return fmt.Errorf("ICMP6_FILTER: %w", err)
	}
	mreq := unix.IPv6Mreq{Multiaddr: allRouters, Interface: uint32(ifindex)}
	if err := unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, &mreq); err != nil {
		return fmt.Errorf("join ff02::2: %w", err)
	}
	return nil
}

// source finds the interface's link-local address that has passed DAD and
// its hardware address, through netlink (in the namespace Run started in).
func (l *rawRALink) source() (netip.Addr, net.HardwareAddr, error) {
	link, err := netlinkx.RetryDump("find link", func() (netlink.Link, error) { return l.h.LinkByIndex(l.ifindex) })
	if err != nil {
		return netip.Addr{}, nil, err
	}
	addrs, err := netlinkx.RetryDump("list addresses", func() ([]netlink.Addr, error) { return l.h.AddrList(link, netlink.FAMILY_V6) })
	if err != nil {
		return netip.Addr{}, nil, err
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ok && ip.Is6() && ip.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			return ip, link.Attrs().HardwareAddr, nil
		}
	}
	return netip.Addr{}, nil, errNoLinkLocal
}

// sendRA sends ra to ff02::1 on the interface, from src: IPV6_PKTINFO
// names the source, lest the kernel pick a global address while the
// link-local one is tentative.
func (l *rawRALink) sendRA(src netip.Addr, ra []byte) error {
	to := &unix.SockaddrInet6{Addr: allNodes, ZoneId: uint32(l.ifindex)}
	oob := unix.PktInfo6(&unix.Inet6Pktinfo{Addr: src.As16(), Ifindex: uint32(l.ifindex)})
	if err := l.f.SetWriteDeadline(time.Now().Add(raSendTimeout)); err != nil {
		return err
	}
	var serr error
	err := l.rc.Write(func(fd uintptr) bool {
		_, serr = unix.SendmsgN(int(fd), ra, oob, to, 0)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("send to ff02::1%%%d from %v: %w", l.ifindex, src, err)
	}
	return nil
}

func (l *rawRALink) receive(buf []byte) (n int, src, dst netip.Addr, hopLimit int, err error) {
	var (
		oobn, flags int
		from        unix.Sockaddr
		rerr        error
	)
	err = l.rc.Read(func(fd uintptr) bool {
		n, oobn, flags, from, rerr = unix.Recvmsg(int(fd), buf, l.oob, 0)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, src, dst, -1, err
	}
	if sa, ok := from.(*unix.SockaddrInet6); ok {
		src = netip.AddrFrom16(sa.Addr)
	}
	hopLimit = -1
	for cm := l.oob[:oobn]; len(cm) > 0; {
		h, data, rest, err := unix.ParseOneSocketControlMessage(cm)
		if err != nil {
			break
		}
		cm = rest
		if h.Level != unix.IPPROTO_IPV6 {
			continue
		}
		switch {
		case h.Type == unix.IPV6_HOPLIMIT && len(data) >= 4:
			hopLimit = int(int32(binary.NativeEndian.Uint32(data)))
		case h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			dst = netip.AddrFrom16([16]byte(data[:16]))
		}
	}
	if flags&unix.MSG_TRUNC != 0 {
		hopLimit = -1 // truncated: fails validation
	}
	return n, src, dst, hopLimit, nil
}

func (l *rawRALink) close() error {
	err := l.f.Close()
	l.h.Close()
	return err
}
