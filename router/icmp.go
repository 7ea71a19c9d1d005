package router

import (
	"net/netip"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// ICMPv6 error types and codes a router sends (RFC 4443 §3).
const (
	ICMPv6DestUnreachable = 1
	ICMPv6PacketTooBig    = 2
	ICMPv6TimeExceeded    = 3

	CodeNoRoute            = 0 // destination unreachable: no route
	CodeAddressUnreachable = 3 // destination unreachable: address unreachable
	CodeHopLimitExceeded   = 0 // time exceeded in transit
)

const (
	minIPv6MTU     = ip6.MinimumMTU
	icmpErrorHLim  = 64
	maxICMPvErrLen = minIPv6MTU
)

// AppendICMPv6Error appends an IPv6 packet from src carrying an ICMPv6
// error about offending, addressed to offending's source, with as much of
// the offending packet as fits in the minimum MTU (RFC 4443 §2.4(c)). param
// is the MTU for Packet Too Big, otherwise 0. It returns b unchanged (and
// false) when RFC 4443 §2.4(e) forbids an error: the offending packet is
// itself an ICMPv6 error, or was sent to or from a multicast or
// unspecified address (a Packet Too Big may answer multicast).
func AppendICMPv6Error(b []byte, src netip.Addr, typ, code uint8, param uint32, offending []byte) ([]byte, bool) {
	oh := ip6.Header(offending)
	if !oh.IsValid() {
		return b, false
	}
	osrc, odst := oh.Src(), oh.Dst()
	if osrc.IsUnspecified() || osrc.IsMulticast() || (odst.IsMulticast() && typ != ICMPv6PacketTooBig) {
		return b, false
	}
	if oh.NextHeader() == ip6.ProtoICMPv6 && ip6.ICMPv6(oh.Payload()).IsError() {
		return b, false // never an error about an error
	}
	quote := min(len(offending), maxICMPvErrLen-ip6.HeaderLen-ip6.ICMPv6MinimumLen)
	plen := ip6.ICMPv6MinimumLen + quote
	start := len(b)
	b = append(b, make([]byte, ip6.HeaderLen+ip6.ICMPv6MinimumLen)...)
	b = append(b, offending[:quote]...)
	h := ip6.Header(b[start:])
	h.Encode(&ip6.Fields{PayloadLength: uint16(plen), NextHeader: ip6.ProtoICMPv6, HopLimit: icmpErrorHLim, Src: src, Dst: osrc})
	m := ip6.ICMPv6(h.Payload())
	m.Encode(&ip6.ICMPv6Fields{Type: typ, Code: code, TypeSpecific: param})
	m.SetChecksum(m.CalculateChecksum(h.SrcBytes(), h.DstBytes()))
	return b, true
}

// RateLimiter is a token bucket bounding the ICMPv6 errors a router sends
// (RFC 4443 §2.4(f)): Burst at once, then Rate per second. Safe for
// concurrent use.
type RateLimiter struct {
	Rate  float64
	Burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
	denied uint64
}

// Allow reports whether one more error may be sent at now.
func (r *RateLimiter) Allow(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last.IsZero() {
		r.tokens = r.Burst
	} else {
		r.tokens = min(r.Burst, r.tokens+now.Sub(r.last).Seconds()*r.Rate)
	}
	r.last = now
	if r.tokens >= 1 {
		r.tokens--
		return true
	}
	r.denied++
	return false
}

// Denied counts the errors the limiter suppressed.
func (r *RateLimiter) Denied() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.denied
}
