package lowpan

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// registry is a Registrations for tests: node → prefix → address.
type registry map[LinkAddr]map[netip.Prefix]netip.Addr

func (r registry) LatestRegistered(node LinkAddr, prefix netip.Prefix) (netip.Addr, bool) {
	a, ok := r[node][prefix]
	return a, ok
}

var (
	bleNode   = BLELinkAddr([6]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55})
	bleRouter = BLELinkAddr([6]byte{0xc0, 0x01, 0x02, 0x03, 0x04, 0x05})
)

func TestBLECompression(t *testing.T) {
	ctx := testContexts(t)
	ctx.Set(2, Context{Prefix: netip.MustParsePrefix("2001:db8:1::/48"), Compress: true})
	p0 := netip.MustParsePrefix("2001:db8:1::/64")
	// A node that registered a privacy address (RFC 7668 §3.2.2 says not
	// to embed the device address in non-link-local IIDs by default).
	reg := registry{bleNode: {p0: netip.MustParseAddr("2001:db8:1::9a3c:71e2:5b04:d8f6")}}
	tests := []struct {
		name     string
		src, dst string
		from, to LinkAddr
		reg      registry
		// wantIPHC is the two IPHC octets; wantInline the address octets
		// carried after them.
		wantIPHC   [2]byte
		wantInline int
	}{
		// RFC 7668 §3.2.4: link-local addresses from the device addresses are
		// fully elided both ways. The IID of 00:11:22:33:44:55 is
		// 0011:22ff:fe33:4455, with no bit flipped (§3.2.2).
		{"node to router, link-local", "fe80::11:22ff:fe33:4455", "fe80::c001:2ff:fe03:405", bleNode, bleRouter, nil, [2]byte{0x7e, 0x33}, 0},
		{"router to node, link-local", "fe80::c001:2ff:fe03:405", "fe80::11:22ff:fe33:4455", bleRouter, bleNode, nil, [2]byte{0x7e, 0x33}, 0},
		// The latest registered address is fully elided (SAC=1 SAM=11)...
		{"node's registered address as source", "2001:db8:1::9a3c:71e2:5b04:d8f6", "2001:db8:1::1", bleNode, bleRouter, reg, [2]byte{0x7e, 0x75}, 8},
		// ...and as destination (DAC=1 DAM=11) from the router.
		{"node's registered address as destination", "2001:db8:1::1", "2001:db8:1::9a3c:71e2:5b04:d8f6", bleRouter, bleNode, reg, [2]byte{0x7e, 0x57}, 8},
		// Same first 48 bits of the IID: 16 bits inline (SAM=10).
		{"another address sharing 48 IID bits", "2001:db8:1::9a3c:71e2:5b04:0001", "2001:db8:1::1", bleNode, bleRouter, reg, [2]byte{0x7e, 0x65}, 10},
		// An unrelated address under the prefix: 64 bits inline.
		{"unrelated address", "2001:db8:1::1:2:3:4", "2001:db8:1::1", bleNode, bleRouter, reg, [2]byte{0x7e, 0x55}, 16},
		// Context 2 is a /48: SAM=10 rebuilds prefix bits 48–63 as zero, so
		// an address with them set cannot use it (16 octets inline), even
		// though its IID shares 48 bits with the registered address.
		{"short context, prefix bits beyond it", "2001:db8:1:5:9a3c:71e2:5b04:1", "2001:db8:1::1", bleNode, bleRouter,
			registry{bleNode: {netip.MustParsePrefix("2001:db8:1::/48"): netip.MustParseAddr("2001:db8:1:5:9a3c:71e2:5b04:d8f6")}}, [2]byte{0x7e, 0x05}, 24},
		// Without a registration, the IID from the device address is elided.
		{"no registration, IID from device address", "2001:db8:1::11:22ff:fe33:4455", "2001:db8:1::1", bleNode, bleRouter, nil, [2]byte{0x7e, 0x75}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := buildUDP6(t, ipv6Fields{src: tt.src, dst: tt.dst, hlim: 64}, 0x1234, 0x5678, hello)
			var codec BLECodec
			codec.Contexts = ctx
			if tt.reg != nil {
				codec.Registered = tt.reg
			}
			out := make([]byte, 1500)
			n, err := codec.Compress(out, pkt, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if got := [2]byte(out[:2]); got != tt.wantIPHC {
				t.Errorf("IPHC % x, want % x (encoding % x)", got, tt.wantIPHC, out[:n])
			}
			// IPHC(2) + addresses + UDP NHC(1+4+2) + payload
			if inline := n - 2 - 7 - len(hello); inline != tt.wantInline {
				t.Errorf("%d inline address octets, want %d (% x)", inline, tt.wantInline, out[:n])
			}
			back := make([]byte, 1500)
			m, err := codec.Decompress(back, out[:n], tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back[:m], pkt) {
				t.Fatalf("round trip:\n got % x\nwant % x", back[:m], pkt)
			}
		})
	}
}

// The same octets mean another address without the registration: the
// elision depends on the registry, which is the point of RFC 7668 §3.2.4.
func TestBLERegistrationMatters(t *testing.T) {
	ctx := testContexts(t)
	p0 := netip.MustParsePrefix("2001:db8:1::/64")
	reg := registry{bleNode: {p0: netip.MustParseAddr("2001:db8:1::9a3c:71e2:5b04:d8f6")}}
	pkt := buildUDP6(t, ipv6Fields{src: "2001:db8:1::9a3c:71e2:5b04:d8f6", dst: "2001:db8:1::1", hlim: 64}, 1, 2, hello)
	withReg := BLECodec{Contexts: ctx, Registered: reg}
	out := make([]byte, 1500)
	n, err := withReg.Compress(out, pkt, bleNode, bleRouter)
	if err != nil {
		t.Fatal(err)
	}
	without := BLECodec{Contexts: ctx}
	back := make([]byte, 1500)
	_, err = without.Decompress(back, out[:n], bleNode, bleRouter)
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddr("2001:db8:1::11:22ff:fe33:4455").As16(); [16]byte(back[8:24]) != want {
		t.Fatalf("without the registry the source should derive from the device address, got % x", back[8:24])
	}
}

func TestBLERejects(t *testing.T) {
	var codec BLECodec
	out := make([]byte, 1500)
	for _, in := range []string{"", "c1b842427e33", "41600000000000", "8f0102"} {
		if _, err := codec.Decompress(out, mustHex(t, in), bleNode, bleRouter); err == nil {
			t.Errorf("Decompress(%s) accepted", in)
		}
	}
	big := buildIPv6(t, ipv6Fields{src: "fe80::1", dst: "fe80::2", hlim: 64, next: 59}, make([]byte, 1300))
	if _, err := codec.Compress(out, big, bleNode, bleRouter); !errors.Is(err, ErrTooBig) {
		t.Errorf("a datagram over the 1280 MTU: err = %v, want ErrTooBig", err)
	}
}
