//go:build linux

package hostif

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
)

var (
	tunRouterAddr  = netip.MustParsePrefix("2001:db8:1::1/64")
	tunMeshPrefix  = netip.MustParsePrefix("2001:db8:1::/64")
	tunOtherPrefix = netip.MustParsePrefix("2001:db8:2::/48")
	tunMeshNode    = netip.MustParseAddr("2001:db8:1::99")
	tunOtherNode   = netip.MustParseAddr("2001:db8:2::5")
)

// TestTUNBothDirections opens and configures a TUN, checks the result with
// iproute2, and passes packets both ways: datagrams the kernel routes into
// the TUN for two prefixes, and an echo request written into the TUN that
// the kernel answers back through it.
func TestTUNBothDirections(t *testing.T) {
	ns := tunEnterNetns(t)
	netnstest.CheckGoroutines(t)
	dev := openTestTUN(t, "lowpan0", 0)
	if dev.Name() != "lowpan0" || dev.MTU() != DefaultMTU {
		t.Fatalf("Name, MTU = %q, %d; want lowpan0, %d", dev.Name(), dev.MTU(), DefaultMTU)
	}
	a, err := Configure(dev.Name(), Config{
		MTU:    1280,
		Addrs:  []netip.Prefix{tunRouterAddr},
		Routes: []netip.Prefix{tunMeshPrefix, tunOtherPrefix},
		Up:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Undo(); err != nil {
			t.Error(err)
		}
	})

	link := netnstest.IP(t, ns, "link", "show", "dev", "lowpan0")
	addrs := netnstest.IP(t, ns, "-6", "addr", "show", "dev", "lowpan0")
	routes := netnstest.IP(t, ns, "-6", "route", "show", "dev", "lowpan0")
	for _, c := range []struct{ out, want string }{
		{link, "mtu 1280"},
		{link, ",UP,"},
		{addrs, "inet6 2001:db8:1::1/64 scope global nodad"},
		{routes, "2001:db8:1::/64 proto static metric 1024"},
		{routes, "2001:db8:2::/48 proto static metric 1024"},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("no %q in:\n%s", c.want, c.out)
		}
	}
	if strings.Contains(addrs, "tentative") {
		t.Errorf("address still tentative despite IFA_F_NODAD:\n%s", addrs)
	}

	r := tunStartReader(t, dev)
	for _, dst := range []netip.Addr{tunMeshNode, tunOtherNode} {
		payload := []byte("to " + dst.String())
		c, err := net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 7)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(payload); err != nil {
			t.Fatal(err)
		}
		c.Close()
		r.await(t, "UDP datagram to "+dst.String(), func(p []byte) bool { return tunIsUDPTo(p, dst, 7, payload) })
	}

	if err := dev.WritePacket(tunEchoRequest(tunMeshNode, tunRouterAddr.Addr(), 0x6c6f, 1, []byte("6lbr"))); err != nil {
		t.Fatal(err)
	}
	reply := r.await(t, "echo reply", func(p []byte) bool { return tunIsEchoReply(p, 0x6c6f, 1) })
	if got := tunDescribePacket(reply); got != "2001:db8:1::1 > 2001:db8:1::99 next header 58, 52 bytes" {
		t.Errorf("reply: %s", got)
	}
}

// TestTUNCloseWakesRead checks that Close interrupts a blocked ReadPacket,
// that reads and writes after Close fail with os.ErrClosed, and that no
// goroutine outlives the device.
func TestTUNCloseWakesRead(t *testing.T) {
	tunEnterNetns(t)
	netnstest.CheckGoroutines(t)
	dev := openTestTUN(t, "lowpan0", 0)
	// Down, the interface receives nothing, so the read really blocks.
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, DefaultMTU)
		_, err := dev.ReadPacket(buf)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("ReadPacket returned before Close: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("ReadPacket after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake ReadPacket")
	}
	if _, err := dev.ReadPacket(make([]byte, 10)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadPacket on a closed device: %v, want os.ErrClosed", err)
	}
	if err := dev.WritePacket(tunEchoRequest(tunMeshNode, tunRouterAddr.Addr(), 1, 1, nil)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("WritePacket on a closed device: %v, want os.ErrClosed", err)
	}
	if err := dev.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestTUNShortBuffer checks that a packet longer than the buffer is reported
// rather than handed over truncated: the kernel cuts it silently and returns
// its full length.
func TestTUNShortBuffer(t *testing.T) {
	tunEnterNetns(t)
	dev := openTestTUN(t, "lowpan0", 0)
	a, err := Configure(dev.Name(), Config{Addrs: []netip.Prefix{tunRouterAddr}, Up: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Undo() })
	c, err := net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(tunMeshNode, 7)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(make([]byte, 200)); err != nil {
		t.Fatal(err)
	}
	// Packets of the kernel's own (a 48-byte router solicitation) may come
	// first; the 248-byte datagram must not fit.
	buf := make([]byte, 64)
	for range 20 {
		n, err := dev.ReadPacket(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			if !strings.Contains(err.Error(), "248-byte packet in a 64-byte buffer") {
				t.Errorf("error %q does not give the sizes", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > len(buf) {
			t.Fatalf("ReadPacket returned %d for a %d-byte buffer", n, len(buf))
		}
	}
	t.Fatal("no io.ErrShortBuffer in 20 reads")
}

// TestTUNMTUFollowsLink checks that TUN.MTU follows a change made from
// outside, through wireguard's link-event listener.
func TestTUNMTUFollowsLink(t *testing.T) {
	ns := tunEnterNetns(t)
	netnstest.CheckGoroutines(t)
	dev := openTestTUN(t, "lowpan0", 1500)
	if got := dev.MTU(); got != 1500 {
		t.Fatalf("MTU after OpenTUN(1500) = %d", got)
	}
	if out := netnstest.IP(t, ns, "link", "show", "dev", "lowpan0"); !strings.Contains(out, "mtu 1500") {
		t.Fatalf("kernel MTU not 1500:\n%s", out)
	}
	netnstest.IP(t, ns, "link", "set", "dev", "lowpan0", "mtu", "1400")
	deadline := time.Now().Add(5 * time.Second)
	for dev.MTU() != 1400 {
		if time.Now().After(deadline) {
			t.Fatalf("MTU = %d 5 s after ip link set mtu 1400", dev.MTU())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOpenTUNErrors checks the errors an operator meets.
func TestOpenTUNErrors(t *testing.T) {
	ns := tunEnterNetns(t)
	netnstest.CheckGoroutines(t)
	netnstest.IP(t, ns, "link", "add", "lowpan0", "type", "bridge")
	if _, err := OpenTUN("lowpan0", 0); err == nil || !strings.Contains(err.Error(), "exists and is a bridge, not a TUN") {
		t.Errorf("OpenTUN over a bridge: %v", err)
	}
	dev := openTestTUN(t, "lowpan1", 0)
	if _, err := OpenTUN(dev.Name(), 0); err == nil || !strings.Contains(err.Error(), "already attached") {
		t.Errorf("OpenTUN of an attached TUN: %v", err)
	}
	for _, mtu := range []int{1279, 65536, -1} {
		if _, err := OpenTUN("lowpan2", mtu); err == nil {
			t.Errorf("OpenTUN with MTU %d succeeded", mtu)
		}
	}
	if _, err := OpenTUN("a-name-too-long-for-linux", 0); err == nil {
		t.Error("OpenTUN with a 25-byte name succeeded")
	}
}

// TestTUNPersistentAttach checks that OpenTUN attaches to a persistent TUN
// made by the operator, and that on Close the TUN stays with its MTU back.
func TestTUNPersistentAttach(t *testing.T) {
	ns := tunEnterNetns(t)
	netnstest.IP(t, ns, "tuntap", "add", "dev", "lowpan0", "mode", "tun")
	dev, err := OpenTUN("lowpan0", 0)
	if err != nil {
		t.Fatal(err)
	}
	if out := netnstest.IP(t, ns, "link", "show", "dev", "lowpan0"); !strings.Contains(out, "mtu 1280") {
		t.Errorf("MTU not 1280 while attached:\n%s", out)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	out := netnstest.IP(t, ns, "-d", "link", "show", "dev", "lowpan0")
	if !strings.Contains(out, "persist") || !strings.Contains(out, "mtu 1500") {
		t.Errorf("persistent TUN gone, or its MTU not back to 1500, after Close:\n%s", out)
	}
}

// TestTUNRoundTripAllocs checks that the steady-state packet path allocates
// nothing: one write, and reads until the reply.
func TestTUNRoundTripAllocs(t *testing.T) {
	tunEnterNetns(t)
	dev := openTestTUN(t, "lowpan0", 0)
	a, err := Configure(dev.Name(), Config{Addrs: []netip.Prefix{tunRouterAddr}, Routes: []netip.Prefix{tunMeshPrefix}, Up: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Undo() })
	req := tunEchoRequest(tunMeshNode, tunRouterAddr.Addr(), 7, 7, make([]byte, 56))
	buf := make([]byte, DefaultMTU)
	roundTrip := func() {
		if err := dev.WritePacket(req); err != nil {
			t.Fatal(err)
		}
		for {
			n, err := dev.ReadPacket(buf)
			if err != nil {
				t.Fatal(err)
			}
			if tunIsEchoReply(buf[:n], 7, 7) {
				return
			}
		}
	}
	roundTrip()
	if allocs := testing.AllocsPerRun(200, roundTrip); allocs != 0 {
		t.Errorf("%v allocations per round trip, want 0", allocs)
	}
}

// BenchmarkTUNRoundTrip measures one echo request written into the TUN and
// the kernel's reply read back: two crossings of the user/kernel boundary
// and the kernel's ICMPv6 path.
func BenchmarkTUNRoundTrip(b *testing.B) {
	tunEnterNetns(b)
	dev := openTestTUN(b, "lowpan0", 0)
	a, err := Configure(dev.Name(), Config{Addrs: []netip.Prefix{tunRouterAddr}, Routes: []netip.Prefix{tunMeshPrefix}, Up: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Undo() })
	reqs := make([][]byte, 256)
	for i := range reqs {
		reqs[i] = tunEchoRequest(tunMeshNode, tunRouterAddr.Addr(), 9, uint16(i), make([]byte, 56))
	}
	buf := make([]byte, DefaultMTU)
	b.SetBytes(int64(len(reqs[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		seq := uint16(i % len(reqs))
		if err := dev.WritePacket(reqs[seq]); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := dev.ReadPacket(buf)
			if err != nil {
				b.Fatal(err)
			}
			if tunIsEchoReply(buf[:n], 9, seq) {
				break
			}
		}
		i++
	}
}
