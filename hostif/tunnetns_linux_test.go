//go:build linux

package hostif

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/netnstest"
)

// Helpers shared by the TUN, netlink and sysctl tests: a network namespace
// per test, iproute2 as an independent witness, and hand-built packets.

// requireTUNHost skips a test that needs root, /dev/net/tun and iproute2.
func requireTUNHost(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces and TUN devices")
	}
	if _, err := os.Stat(cloneDevice); err != nil {
		tb.Skipf("no TUN support on this host: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("needs iproute2's ip")
	}
}

// tunEnterNetns creates a network namespace lowpanbr-test-<random> and moves
// the calling goroutine's OS thread into it for the rest of the test, so
// that everything the test does (TUN, netlink, /proc/sys/net, sockets)
// happens there. The thread is never unlocked: when the test's goroutine
// ends the runtime kills the thread instead of reusing it in the wrong
// namespace, and goroutines the test starts run on other threads, still in
// the host namespace (they only use file descriptors opened here). The
// namespace is deleted by a cleanup that runs even when the test fails; it
// is registered first, so it runs after every cleanup the test adds later.
func tunEnterNetns(tb testing.TB) string {
	tb.Helper()
	requireTUNHost(tb)
	ns := netnstest.Add(tb, "")
	netnstest.Enter(tb, ns)
	return ns
}

// openTestTUN opens a TUN and closes it at the end of the test.
func openTestTUN(tb testing.TB, name string, mtu int) TUN {
	tb.Helper()
	dev, err := OpenTUN(name, mtu)
	if err != nil {
		tb.Fatalf("OpenTUN(%q, %d): %v", name, mtu, err)
	}
	tb.Cleanup(func() { dev.Close() })
	return dev
}

// tunPacketReader reads a device on a goroutine of its own until the device
// closes, so that tests can wait for a packet with a timeout while the
// kernel's own traffic (MLD reports, router solicitations) passes by.
type tunPacketReader struct {
	pkts chan []byte
	err  chan error
}

func tunStartReader(tb testing.TB, dev TUN) *tunPacketReader {
	r := &tunPacketReader{pkts: make(chan []byte, 256), err: make(chan error, 1)}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := dev.ReadPacket(buf)
			if err != nil {
				r.err <- err
				close(r.pkts)
				return
			}
			select {
			case r.pkts <- slices.Clone(buf[:n]):
			default:
			}
		}
	}()
	return r
}

// await returns the first packet that match accepts.
func (r *tunPacketReader) await(tb testing.TB, what string, match func([]byte) bool) []byte {
	tb.Helper()
	timeout := time.After(5 * time.Second)
	var seen []string
	for {
		select {
		case p, ok := <-r.pkts:
			if !ok {
				tb.Fatalf("waiting for %s: device closed: %v", what, <-r.err)
			}
			if match(p) {
				return p
			}
			seen = append(seen, tunDescribePacket(p))
		case <-timeout:
			tb.Fatalf("no %s within 5 s; saw %d other packets: %s", what, len(seen), strings.Join(seen, "; "))
		}
	}
}

func tunDescribePacket(p []byte) string {
	if len(p) < 40 || p[0]>>4 != 6 {
		return fmt.Sprintf("%d bytes, not IPv6", len(p))
	}
	src, _ := netip.AddrFromSlice(p[8:24])
	dst, _ := netip.AddrFromSlice(p[24:40])
	return fmt.Sprintf("%v > %v next header %d, %d bytes", src, dst, p[6], len(p))
}

const (
	tunIPv6HeaderLen   = 40
	tunProtoUDP        = 17
	tunProtoICMPv6     = 58
	tunEchoRequestType = 128
	tunEchoReplyType   = 129
)

// tunEchoRequest builds an IPv6 packet carrying an ICMPv6 echo request
// (RFC 4443 §4.1) with a correct checksum.
func tunEchoRequest(src, dst netip.Addr, id, seq uint16, payload []byte) []byte {
	p := make([]byte, tunIPv6HeaderLen+8+len(payload))
	p[0] = 6 << 4
	binary.BigEndian.PutUint16(p[4:], uint16(8+len(payload)))
	p[6] = tunProtoICMPv6
	p[7] = 64
	s, d := src.As16(), dst.As16()
	copy(p[8:24], s[:])
	copy(p[24:40], d[:])
	m := p[tunIPv6HeaderLen:]
	m[0] = tunEchoRequestType
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	copy(m[8:], payload)
	binary.BigEndian.PutUint16(m[2:], checksum.Finish(checksum.Sum(m, checksum.PseudoHeaderIPv6(s[:], d[:], tunProtoICMPv6, uint32(len(m))))))
	return p
}

// tunIsEchoReply reports whether p is an ICMPv6 echo reply with this id and
// sequence number and a valid checksum.
func tunIsEchoReply(p []byte, id, seq uint16) bool {
	if len(p) < tunIPv6HeaderLen+8 || p[0]>>4 != 6 || p[6] != tunProtoICMPv6 {
		return false
	}
	m := p[tunIPv6HeaderLen:]
	if m[0] != tunEchoReplyType || binary.BigEndian.Uint16(m[4:]) != id || binary.BigEndian.Uint16(m[6:]) != seq {
		return false
	}
	return checksum.Finish(checksum.Sum(m, checksum.PseudoHeaderIPv6(p[8:24], p[24:40], tunProtoICMPv6, uint32(len(m))))) == 0
}

// tunIsUDPTo reports whether p is a UDP datagram to dst:port carrying payload.
func tunIsUDPTo(p []byte, dst netip.Addr, port uint16, payload []byte) bool {
	if len(p) < tunIPv6HeaderLen+8 || p[0]>>4 != 6 || p[6] != tunProtoUDP {
		return false
	}
	d, _ := netip.AddrFromSlice(p[24:40])
	u := p[tunIPv6HeaderLen:]
	return d == dst && binary.BigEndian.Uint16(u[2:]) == port && string(u[8:]) == string(payload)
}
