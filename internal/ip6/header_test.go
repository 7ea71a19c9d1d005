package ip6

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
)

// A known answer built by hand from RFC 8200 §3: version 6, traffic class
// 0xb8, flow label 0x12345, payload 8, UDP, hop limit 63,
// 2001:db8::1 → ff02::1.
const known = "6b812345" + "0008" + "11" + "3f" +
	"20010db8000000000000000000000001" + "ff020000000000000000000000000001"

func TestHeaderKnownAnswer(t *testing.T) {
	b, _ := hex.DecodeString(known + "0000000000000000")
	h := Header(b)
	if !h.IsValid() || h.TrafficClass() != 0xb8 || h.FlowLabel() != 0x12345 || h.PayloadLength() != 8 ||
		h.NextHeader() != ProtoUDP || h.HopLimit() != 63 || h.MulticastScope() != 2 ||
		h.Src() != netip.MustParseAddr("2001:db8::1") || h.Dst() != netip.MustParseAddr("ff02::1") || len(h.Payload()) != 8 {
		t.Fatalf("accessors: tc %#x flow %#x plen %d nh %d hl %d src %v dst %v", h.TrafficClass(), h.FlowLabel(), h.PayloadLength(), h.NextHeader(), h.HopLimit(), h.Src(), h.Dst())
	}
	out := make(Header, HeaderLen)
	out.Encode(&Fields{TrafficClass: 0xb8, FlowLabel: 0x12345, PayloadLength: 8, NextHeader: ProtoUDP, HopLimit: 63,
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("ff02::1")})
	if !bytes.Equal(out, b[:HeaderLen]) {
		t.Fatalf("Encode:\n got %x\nwant %x", []byte(out), b[:HeaderLen])
	}
	h.SetHopLimit(1)
	if b[7] != 1 {
		t.Error("SetHopLimit did not write the packet")
	}
}

func TestHeaderIsValid(t *testing.T) {
	b, _ := hex.DecodeString(known)
	for _, c := range []struct {
		b    []byte
		want bool
	}{{b, true}, {b[:39], false}, {nil, false}, {append([]byte{0x45}, b[1:]...), false}} {
		if got := Header(c.b).IsValid(); got != c.want {
			t.Errorf("IsValid(% x…) = %v, want %v", c.b[:min(len(c.b), 2)], got, c.want)
		}
	}
}

func TestAccessorsDoNotAllocate(t *testing.T) {
	b, _ := hex.DecodeString(known)
	h := Header(b)
	if n := testing.AllocsPerRun(100, func() {
		_ = h.Src()
		_ = h.Dst()
		h.SetHopLimit(h.HopLimit() - 1)
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

// FuzzHeader: any input either fails IsValid or reads without panicking,
// and re-encoding what the accessors read gives back the fixed header.
func FuzzHeader(f *testing.F) {
	b, _ := hex.DecodeString(known)
	f.Add(b)
	f.Add(b[:39])
	f.Add([]byte{0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		h := Header(b)
		if !h.IsValid() {
			return
		}
		out := make(Header, HeaderLen)
		out.Encode(&Fields{TrafficClass: h.TrafficClass(), FlowLabel: h.FlowLabel(), PayloadLength: h.PayloadLength(),
			NextHeader: h.NextHeader(), HopLimit: h.HopLimit(), Src: h.Src(), Dst: h.Dst()})
		if !bytes.Equal(out, b[:HeaderLen]) {
			t.Fatalf("re-encoded % x, want % x", []byte(out), b[:HeaderLen])
		}
		_ = h.Payload()
		_ = h.MulticastScope()
	})
}

// The field setters write what Encode writes.
func TestHeaderSetters(t *testing.T) {
	want, _ := hex.DecodeString(known)
	h := make(Header, HeaderLen)
	h.SetVersionTrafficClassFlowLabel(0xb8, 0xfff12345) // bits above 20 are not the flow label's
	h.SetPayloadLength(8)
	h.SetNextHeader(ProtoUDP)
	h.SetHopLimit(63)
	h.SetSrc(netip.MustParseAddr("2001:db8::1"))
	copy(h.DstBytes(), netip.MustParseAddr("ff02::1").AsSlice())
	if !bytes.Equal(h, want) || h.Version() != 6 {
		t.Fatalf("setters:\n got %x\nwant %x", []byte(h), want)
	}
	if Header([]byte{0x45}).Version() != 4 {
		t.Error("Version of an IPv4 first octet")
	}
	if h[NextHeaderOffset] != ProtoUDP {
		t.Error("NextHeaderOffset does not name the Next Header field")
	}
}
