package rpl

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// dataplaneSeeds are whole packets of every shape the data plane handles,
// and broken ones: truncated, an RPL Option of a bad length, a Hop-by-Hop
// header after a Routing header, Hdr Ext Len beyond the packet.
func dataplaneSeeds(tb testing.TB) [][]byte {
	pkt := udpPacket(dpRoot, dpRoute[2], 0, 0, 64, "hello, mesh")
	inner := udpPacket(dpLAN, dpRoute[2], 3, 0x12345, 63, "from the LAN")
	var seeds [][]byte
	add := func(b []byte, err error) {
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds, pkt)
	add(InsertHeaders(nil, pkt, Headers{RPI: rpiDown(), Hops: dpRoute}))
	add(InsertHeaders(nil, pkt, Headers{Hops: dpRoute}))
	add(InsertHeaders(nil, pkt, Headers{RPI: rpiDown()}))
	add(AppendTunnel(nil, inner, dpRoot, dpRoute[2], Headers{RPI: rpiDown(), Hops: dpRoute}))
	add(AppendTunnel(nil, inner, dpRoute[1], dpRoot, Headers{RPI: &RPIFields{Type: OptionTypeRPI6553, Instance: 30, SenderRank: 512}}))
	add(AppendTunnel(nil, inner, dpRoot, dpRoute[1], Headers{}))
	full := seeds[1]
	seeds = append(seeds, full[:39], full[:44], full[:60], inner[:len(inner)-1])
	bad := append([]byte(nil), full...)
	bad[ip6.HeaderLen+3] = 200 // RPL Option length
	seeds = append(seeds, bad)
	bad = append([]byte(nil), full...)
	bad[ip6.HeaderLen+8+1] = 255 // SRH Hdr Ext Len
	seeds = append(seeds, bad)
	bad = append([]byte(nil), full...)
	bad[ip6.HeaderLen+8] = ip6.ProtoHopByHop // a Hop-by-Hop header after the SRH
	seeds = append(seeds, bad)
	return seeds
}

// FuzzDataplane runs every data-plane function on any input: none may
// panic, errors must be sentinels, and what succeeds must be a well-formed
// packet: headers inserted and walked to the end give back the payload,
// the destination ends at the final one, a stripped or decapsulated packet
// is IPv6 with a consistent Payload Length.
func FuzzDataplane(f *testing.F) {
	for _, s := range dataplaneSeeds(f) {
		f.Add(s)
	}
	sentinels := []error{ErrTruncated, ErrMalformed, ErrNotRPL, ErrRoute, ErrEncode, ErrSRHDone, ErrNoSRH, ErrHopLimit, ErrNotTunnel, ErrECNDrop}
	isSentinel := func(err error) bool {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return true
			}
		}
		return false
	}
	isRoot := func(a netip.Addr) bool { return a == dpRoot }
	wellFormed := func(t *testing.T, what string, p []byte) {
		t.Helper()
		h := ip6.Header(p)
		if !h.IsValid() || int(h.PayloadLength()) != len(p)-ip6.HeaderLen {
			t.Fatalf("%s: not a whole IPv6 packet: %x", what, p)
		}
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		cp := func() []byte { return append([]byte(nil), pkt...) }

		// Insert a route ending at the packet's own destination, walk it.
		var final netip.Addr
		if ip6.Header(pkt).IsValid() {
			final = ip6.Header(pkt).Dst()
		}
		route := []netip.Addr{dpRoute[0], dpRoute[1], final}
		out, err := InsertHeaders(nil, pkt, Headers{RPI: rpiDown(), Hops: route})
		if err != nil && !isSentinel(err) {
			t.Fatalf("InsertHeaders: %v", err)
		}
		if err == nil {
			wellFormed(t, "InsertHeaders", out)
			for i := 0; ; i++ {
				_, err := NextSegment(out)
				if err != nil {
					if !isSentinel(err) {
						t.Fatalf("NextSegment: %v", err)
					}
					break
				}
				if i > len(route) {
					t.Fatal("NextSegment does not end")
				}
			}
			if ip6.Header(out).HopLimit() > 1 && ip6.Header(out).Dst() != final && !isMulticast(final) {
				t.Errorf("walk ended at %v, not %v", ip6.Header(out).Dst(), final)
			}
			plen := int(ip6.Header(pkt).PayloadLength())
			if tail := pkt[ip6.HeaderLen : ip6.HeaderLen+plen]; !bytes.HasSuffix(out, tail) && pkt[ip6.NextHeaderOffset] != ip6.ProtoHopByHop {
				t.Errorf("payload changed")
			}
		}

		// Tunnel it and take it out again.
		out, err = AppendTunnel(nil, pkt, dpRoot, dpRoute[2], Headers{RPI: rpiDown(), Hops: dpRoute})
		if err != nil && !isSentinel(err) {
			t.Fatalf("AppendTunnel: %v", err)
		}
		if err == nil {
			wellFormed(t, "AppendTunnel", out)
			for range dpRoute {
				_, _ = NextSegment(out)
			}
			in, err := Decapsulate(out)
			if err != nil && !errors.Is(err, ErrECNDrop) {
				t.Fatalf("Decapsulate of our tunnel: %v", err)
			}
			if err == nil && !bytes.Equal(in, pkt[:len(in)]) {
				// Only the ECN bits may differ (RFC 6040 §4.2), and here
				// the outer copies the inner's.
				t.Errorf("inner packet changed")
			}
		}

		if out, err := Decapsulate(cp()); err != nil {
			if !isSentinel(err) {
				t.Fatalf("Decapsulate: %v", err)
			}
		} else {
			wellFormed(t, "Decapsulate", out)
		}
		if out, _, _, err := StripForExit(cp(), isRoot); err != nil {
			if !isSentinel(err) {
				t.Fatalf("StripForExit: %v", err)
			}
		} else {
			wellFormed(t, "StripForExit", out)
			// Unless the root opened a tunnel, an RPI left has rank 0.
			e, _ := walk(ip6.Header(pkt[:len(pkt)]))
			tunnel := e.next == ip6.ProtoIPv6 && isRoot(ip6.Header(pkt).Dst())
			if o, _ := RPIOf(out); o != nil && o.SenderRank() != 0 && !tunnel {
				t.Errorf("an RPI left with SenderRank %d", o.SenderRank())
			}
		}
		if _, err := NextSegment(cp()); err != nil && !isSentinel(err) {
			t.Fatalf("NextSegment: %v", err)
		}
		UpdateRPI(cp(), func(o RPLOption) { o.SetSenderRank(o.SenderRank() + 1) })
	})
}
