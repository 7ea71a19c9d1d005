//go:build linux

package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/nd"
)

// The upstream RA against a real kernel: two network namespaces joined by
// a veth pair, the sender in "rtr", and in "host" a Linux host that learns
// the routes. Linux takes a Route Information Option only with accept_ra
// on and accept_ra_rt_info_max_plen at least the prefix length (default 0,
// which takes none): the host namespace sets it to 64.

// requireNetnsHost skips a test that needs root and iproute2.
func requireNetnsHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN) to create network namespaces and raw sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
}

// newTestNetns creates a namespace lowpanbr-test-<pid>-<random>-<role>,
// deleted by a cleanup that runs even when the test fails (and, should the
// process die first, by netnstest.RemoveAbandoned in a later run).
func newTestNetns(t *testing.T, role string) string {
	t.Helper()
	ns := netnstest.Add(t, role)
	return ns
}

// inNetns runs f on a goroutine of its own whose thread has entered the
// namespace ns, and returns f's error. The thread stays locked, so the
// runtime ends it with the goroutine instead of reusing it in the wrong
// namespace. File descriptors f opens stay in ns after it returns.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("enter %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

func setSysctls(t *testing.T, ns string, ifname string, kv ...string) {
	t.Helper()
	err := inNetns(ns, func() error {
		for i := 0; i < len(kv); i += 2 {
			path := filepath.Join("/proc/sys/net/ipv6/conf", ifname, kv[i])
			if err := os.WriteFile(path, []byte(kv[i+1]+"\n"), 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// raTestSocket opens a raw ICMPv6 socket in ns bound to ifname, passing
// only ICMPv6 type pass, reporting hop limits, and timing out reads after
// 10 s.
func raTestSocket(t *testing.T, ns, ifname string, pass nd.ICMPType) int {
	t.Helper()
	var fd int
	err := inNetns(ns, func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6); err != nil {
			return err
		}
		var filter unix.ICMPv6Filter
		for i := range filter.Data {
			filter.Data[i] = ^uint32(0)
		}
		filter.Data[pass>>5] &^= 1 << (pass & 31)
		return errors.Join(
			unix.BindToDevice(fd, ifname),
			unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, unix.ICMPV6_FILTER, &filter),
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1),
			unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10}),
		)
	})
	if err != nil {
		t.Fatalf("test socket in %s: %v", ns, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// sendRS sends a Router Solicitation (no options; the kernel fills in the
// checksum) on the raw socket fd to ff02::2 out of interface ifindex, with
// the given hop limit.
func sendRS(t *testing.T, fd int, ifindex int, hopLimit int) {
	t.Helper()
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, hopLimit); err != nil {
		t.Fatal(err)
	}
	to := &unix.SockaddrInet6{Addr: netip.MustParseAddr("ff02::2").As16(), ZoneId: uint32(ifindex)}
	if err := unix.Sendto(fd, []byte{byte(nd.TypeRouterSolicit), 0, 0, 0, 0, 0, 0, 0}, 0, to); err != nil {
		t.Fatalf("send RS: %v", err)
	}
}

func linkIndex(t *testing.T, ns, ifname string) int {
	t.Helper()
	var idx int
	if err := inNetns(ns, func() error {
		i, err := net.InterfaceByName(ifname)
		if err == nil {
			idx = i.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

// waitFor polls cond every 20 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// testLogWriter sends the sender's log to the test log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestUpstreamRANetns(t *testing.T) {
	requireNetnsHost(t)
	netnstest.RemoveAbandoned(t)
	netnstest.CheckGoroutines(t)
	rtr, host := newTestNetns(t, "rtr"), newTestNetns(t, "host")
	netnstest.IP(t, rtr, "link", "add", "veth-r", "type", "veth", "peer", "name", "veth-h", "netns", host)
	// The host: a host (no forwarding) that takes RAs and their RIOs up
	// to /64, and sends no solicitations of its own (the test sends them);
	// no DAD, so that it can send at once.
	setSysctls(t, host, "veth-h", "forwarding", "0", "accept_ra", "2", "accept_ra_rtr_pref", "1",
		"accept_ra_rt_info_max_plen", "64", "router_solicitations", "0", "accept_dad", "0")
	// The router keeps DAD: Run starts while its link-local address is
	// tentative and must wait.
	setSysctls(t, rtr, "veth-r", "accept_ra", "0")
	raSock := raTestSocket(t, host, "veth-h", nd.TypeRouterAdvert)
	rsSock := raTestSocket(t, host, "veth-h", nd.TypeRouterSolicit)
	netnstest.IP(t, host, "link", "set", "veth-h", "up")
	netnstest.IP(t, rtr, "link", "set", "veth-r", "up")
	hostIndex := linkIndex(t, host, "veth-h")

	mesh, other := netip.MustParsePrefix("2001:db8:1::/64"), netip.MustParsePrefix("2001:db8:2::/48")
	u, err := New(Config{
		Interface: "veth-r", Routes: []netip.Prefix{mesh, other}, Preference: nd.PreferenceHigh,
		MinInterval: 3 * time.Second, MaxInterval: 4 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	u.initialInterval = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// Run works in the namespace of its thread; inNetns's goroutine
		// stays locked to it and ends with Run.
		done <- inNetns(rtr, func() error { return u.Run(ctx) })
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})

	// The first RA on the wire is what AppendRA says, from the router's
	// link-local address with hop limit 255.
	buf, oob := make([]byte, 1500), make([]byte, 128)
	n, oobn, _, from, err := unix.Recvmsg(raSock, buf, oob, 0)
	if err != nil {
		t.Fatalf("no RA received in the host namespace: %v", err)
	}
	rtrLL := netip.AddrFrom16(from.(*unix.SockaddrInet6).Addr)
	if !rtrLL.IsLinkLocalUnicast() {
		t.Errorf("RA from %v, want a link-local address", rtrLL)
	}
	cms, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(cms) != 1 || cms[0].Header.Type != unix.IPV6_HOPLIMIT || cms[0].Data[0] != 255 {
		t.Errorf("RA hop limit: %v, %v", cms, err)
	}
	want, _ := u.AppendRA(nil)
	got := append([]byte(nil), buf[:n]...)
	got[2], got[3] = 0, 0 // the checksum, which AppendRA leaves to the kernel
	if !bytes.Equal(got, want) {
		t.Errorf("RA on the wire %x\nAppendRA         %x", got, want)
	}
	rtrMAC := strings.Fields(strings.SplitN(netnstest.IP(t, rtr, "-o", "link", "show", "veth-r"), "link/ether ", 2)[1])[0]
	if s := summarizeRA(t, buf[:n]); s.SLLAO != rtrMAC {
		t.Errorf("SLLAO %q, want veth-r's %q", s.SLLAO, rtrMAC)
	}

	// The host learns both routes via the router's link-local address.
	routeOf := func(p netip.Prefix) string {
		return strings.TrimSpace(netnstest.IP(t, host, "-6", "route", "show", p.String()))
	}
	for _, p := range []netip.Prefix{mesh, other} {
		waitFor(t, 5*time.Second, "route to "+p.String(), func() bool { return routeOf(p) != "" })
		r := routeOf(p)
		for _, w := range []string{p.String() + " via " + rtrLL.String() + " dev veth-h", "proto ra", "pref high"} {
			if !strings.Contains(r, w) {
				t.Errorf("route %q lacks %q", r, w)
			}
		}
	}

	// A solicitation is answered; one with hop limit 64 (not from the
	// link, RFC 4861 §6.1.1) is counted invalid.
	before := u.Stats()
	sendRS(t, rsSock, hostIndex, 255)
	waitFor(t, 5*time.Second, "solicited RA", func() bool { return u.Stats().Solicited > before.Solicited })
	sendRS(t, rsSock, hostIndex, 64)
	waitFor(t, 2*time.Second, "invalid RS counted", func() bool { return u.Stats().RSInvalid > before.RSInvalid })
	s := u.Stats()
	if s.RSReceived != before.RSReceived+1 || s.RSInvalid != before.RSInvalid+1 || s.Solicited != before.Solicited+1 || s.SendErrors != 0 {
		t.Errorf("stats before %+v, after %+v", before, s)
	}
	// Cancelling withdraws the routes.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2 s of cancel")
	}
	for _, p := range []netip.Prefix{mesh, other} {
		waitFor(t, 3*time.Second, "route to "+p.String()+" withdrawn", func() bool { return routeOf(p) == "" })
	}
	// At least the first RA and the final one are unsolicited; the initial
	// RA due when the RS arrived may have answered it, and counts as
	// solicited.
	if s := u.Stats(); s.Unsolicited < 2 || s.SendErrors != 0 {
		t.Errorf("stats %+v, want at least 2 unsolicited RAs, no errors", s)
	}
}

// TestUpstreamRARunErrors: Run fails at once for an interface that does
// not exist, naming it.
func TestUpstreamRARunErrors(t *testing.T) {
	requireNetnsHost(t)
	netnstest.RemoveAbandoned(t)
	ns := newTestNetns(t, "err")
	u, err := New(Config{Interface: "nosuch0", Routes: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/64")}})
	if err != nil {
		t.Fatal(err)
	}
	err = inNetns(ns, func() error { return u.Run(context.Background()) })
	if err == nil || !strings.HasPrefix(err.Error(), "router: upstream RA: nosuch0: ") {
		t.Errorf("Run on a missing interface: %v", err)
	}
}
