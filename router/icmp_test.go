package router_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/router"
)

func TestICMPv6Error(t *testing.T) {
	self := netip.MustParseAddr("2001:db8:1::1")
	off := packettest.UDP("2001:db8:2::5", "2001:db8:1::99", 1400)
	pkt, ok := router.AppendICMPv6Error(nil, self, router.ICMPv6DestUnreachable, router.CodeAddressUnreachable, 0, off)
	if !ok {
		t.Fatal("no error built")
	}
	if len(pkt) != 1280 {
		t.Errorf("error packet of %d octets; RFC 4443 §2.4(c) fills the minimum MTU", len(pkt))
	}
	if int(binary.BigEndian.Uint16(pkt[4:])) != len(pkt)-40 || pkt[6] != 58 || [16]byte(pkt[24:40]) != netip.MustParseAddr("2001:db8:2::5").As16() {
		t.Errorf("header % x", pkt[:40])
	}
	if pkt[40] != 1 || pkt[41] != 3 {
		t.Errorf("type/code %d/%d", pkt[40], pkt[41])
	}
	// A receiver's check: the checksum over the pseudo-header sums to zero.
	if c := checksum.Finish(checksum.Sum(pkt[40:], checksum.PseudoHeaderIPv6(pkt[8:24], pkt[24:40], 58, uint32(len(pkt)-40)))); c != 0 {
		t.Errorf("checksum does not verify: %#x", c)
	}
	ptb, _ := router.AppendICMPv6Error(nil, self, router.ICMPv6PacketTooBig, 0, 1280, off)
	if binary.BigEndian.Uint32(ptb[44:]) != 1280 {
		t.Errorf("Packet Too Big MTU %d", binary.BigEndian.Uint32(ptb[44:]))
	}
	// RFC 4443 §2.4(e): none about errors, multicast or unspecified sources.
	errPkt := append([]byte(nil), pkt...)
	if _, ok := router.AppendICMPv6Error(nil, self, router.ICMPv6DestUnreachable, 0, 0, errPkt); ok {
		t.Error("an error about an ICMPv6 error")
	}
	if _, ok := router.AppendICMPv6Error(nil, self, router.ICMPv6DestUnreachable, 0, 0, packettest.UDP("2001:db8:2::5", "ff05::1", 10)); ok {
		t.Error("an error about multicast")
	}
	if _, ok := router.AppendICMPv6Error(nil, self, router.ICMPv6DestUnreachable, 0, 0, packettest.UDP("::", "2001:db8:1::2", 10)); ok {
		t.Error("an error to ::")
	}
}

func TestRateLimiter(t *testing.T) {
	r := router.RateLimiter{Rate: 10, Burst: 5}
	now := time.Unix(0, 0)
	n := 0
	for i := 0; i < 100; i++ {
		if r.Allow(now) {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("burst allowed %d, want 5", n)
	}
	now = now.Add(time.Second)
	n = 0
	for i := 0; i < 100; i++ {
		if r.Allow(now) {
			n++
		}
	}
	if n != 5 { // 10/s refill capped at the burst of 5
		t.Fatalf("after 1 s allowed %d, want 5", n)
	}
	if r.Denied() != 190 {
		t.Errorf("denied %d", r.Denied())
	}
}
