package lowpan

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testContexts(t testing.TB) *ContextTable {
	t.Helper()
	ct := &ContextTable{}
	if err := ct.Set(0, Context{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Compress: true}); err != nil {
		t.Fatal(err)
	}
	if err := ct.Set(1, Context{Prefix: netip.MustParsePrefix("2001:db8:2::/64"), Compress: true}); err != nil {
		t.Fatal(err)
	}
	return ct
}

var hello = []byte("hello-6lowpan")

// The 6LoWPAN payloads of testdata/gen_iphc_nofcs.pcap (MAC headers
// stripped), hand-built and checked with tshark 4.0 by the capture's author.
// minimal says whether the hand encoding is also the smallest legal one,
// which our compressor must then reproduce byte for byte.
func TestKnownAnswersGenIPHC(t *testing.T) {
	short1, short2 := ShortLinkAddr(0x0001), ShortLinkAddr(0x0002)
	bcast := ShortLinkAddr(0xffff)
	ll := ipv6Fields{src: "fe80::12:3456:78ab:cdef", dst: "fe80::80b:c0d:e0f:1011", hlim: 64}
	tests := []struct {
		name     string
		lowpan   string
		src, dst LinkAddr
		want     []byte
		minimal  bool
	}{
		{"1 link-local elided, UDP ports inline", "7e33f01234163364db", extSrc, extDst,
			buildUDP6(t, ll, 0x1234, 5683, hello), true},
		{"2 TF=00 hop limit and next header inline", "60332e01234511079c409c41001554c0", extSrc, extDst,
			buildUDP6(t, ipv6Fields{src: ll.src, dst: ll.dst, tc: 0xb8, flow: 0x12345, hlim: 7}, 40000, 40001, hello), false},
		{"3 short addresses, 4-bit ports", "7f33f3125b16", short1, short2,
			buildUDP6(t, ipv6Fields{src: "fe80::ff:fe00:1", dst: "fe80::ff:fe00:2", hlim: 255}, 0xf0b1, 0xf0b2, hello), true},
		{"4 context 0 source elided, destination 64 bits", "7e7500000000000000aaf3017efb", extSrc, extDst,
			buildUDP6(t, ipv6Fields{src: "2001:db8:1:0:12:3456:78ab:cdef", dst: "2001:db8:1::aa", hlim: 64}, 61616, 61617, hello), true},
		{"5 CID=1 SCI=1 SAM=10, DAC=1 DAM=11", "7ee7100042f003e807d09ed8", extSrc, extDst,
			buildUDP6(t, ipv6Fields{src: "2001:db8:2::ff:fe00:42", dst: "2001:db8:1:0:80b:c0d:e0f:1011", hlim: 64}, 1000, 2000, hello), true},
		{"6 ff02::1 in 8 bits", "7f3b01f01633163392 91", extSrc, bcast, buildUDP6(t, mc255("ff02::1"), 5683, 5683, hello), true},
		{"7 ff05::1:3 in 32 bits", "7f3a05010003f0163316 33928b", extSrc, bcast, buildUDP6(t, mc255("ff05::1:3"), 5683, 5683, hello), true},
		{"8 ff05::fb:1 in 48 bits", "7f39050000fb0001f0163316339193", extSrc, bcast, buildUDP6(t, mc255("ff05::fb:1"), 5683, 5683, hello), false},
		{"9 ff1e::1234 inline", "7f38ff1e0000000000000000000000001234f01633163380 42", extSrc, bcast, buildUDP6(t, mc255("ff1e::1234"), 5683, 5683, hello), false}, // ff1e::1234 fits ffXX::00XX:XXXX (DAM=10)
	}
	ctx := testContexts(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := append(mustHex(t, tt.lowpan), hello...)
			out := make([]byte, 1500)
			n, err := Decompress(out, frame, tt.src, tt.dst, ctx)
			if err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			if diff := cmp.Diff(tt.want, out[:n]); diff != "" {
				t.Errorf("Decompress (-want +got):\n%s", diff)
			}
			z := Compressor{Contexts: ctx}
			m, err := z.Compress(out, tt.want, tt.src, tt.dst)
			if err != nil {
				t.Fatalf("Compress: %v", err)
			}
			if tt.minimal {
				if diff := cmp.Diff(frame, out[:m]); diff != "" {
					t.Errorf("Compress (-want +got):\n%s", diff)
				}
			} else if m >= len(frame) {
				t.Errorf("Compress gave %d octets, the hand encoding (not minimal) has %d: % x", m, len(frame), out[:m])
			}
		})
	}
}

func mc255(dst string) ipv6Fields {
	return ipv6Fields{src: "fe80::12:3456:78ab:cdef", dst: dst, hlim: 255}
}

// Every reserved or truncated encoding is refused with an error, never a
// panic.
func TestDecompressErrors(t *testing.T) {
	ctx := testContexts(t)
	tests := []struct {
		name   string
		in     string
		target error
	}{
		{"empty", "", ErrTruncated},
		{"NALP", "00", ErrNotLowpan},
		{"HC1", "42", ErrUnsupported},
		{"one octet IPHC", "7e", ErrTruncated},
		{"DAC=1 DAM=00 M=0", "7f 34", ErrReserved},
		{"M=1 DAC=1 DAM=01", "7f 3d 00 00 00 00 00 00", ErrReserved},
		{"M=1 DAC=1 DAM=10", "7f 3e 00 00 00 00", ErrReserved},
		{"M=1 DAC=1 DAM=11", "7f 3f 00", ErrReserved},
		{"unknown context", "7f f3 22", ErrUnknownContext},
		{"SAM=11 with no link-layer source", "7f 33", ErrBadLength},
		{"truncated inline source", "7b 03 3a fe 80 00", ErrTruncated},
		{"reserved NHC", "7e 33 80", ErrReserved},
		{"reserved EID 5", "7e 33 ea 3a 00", ErrReserved},
		{"NHC missing", "7e 33", ErrTruncated},
		{"UDP truncated", "7e 33 f0 12", ErrTruncated},
		{"fragment header with length 5", "7e 33 e4 3a 05 00 00 00 00 00", ErrBadLength},
		{"routing header not a multiple of 8", "7e 33 e2 3a 03 00 00 00", ErrBadLength},
		{"ext header longer than input", "7e 33 e0 3a 10 00", ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustHex(t, tt.in)
			src := extSrc
			if tt.name == "SAM=11 with no link-layer source" {
				src = LinkAddr{}
			}
			_, err := Decompress(make([]byte, 1500), in, src, extDst, ctx)
			if !errors.Is(err, tt.target) {
				t.Fatalf("Decompress(% x) = %v, want %v", in, err, tt.target)
			}
		})
	}
}

func TestDecompressSmallBuffer(t *testing.T) {
	frame := append(mustHex(t, "7e33f01234163364db"), hello...)
	for size := 0; size < 61; size++ {
		if _, err := Decompress(make([]byte, size), frame, extSrc, extDst, nil); !errors.Is(err, ErrBufferTooSmall) {
			t.Fatalf("buffer %d: err = %v, want ErrBufferTooSmall", size, err)
		}
	}
}

func TestIIDDerivation(t *testing.T) {
	tests := []struct {
		ll   LinkAddr
		want [8]byte
	}{
		// RFC 4944 §6 / RFC 6282 §3.2.2: EUI-64 with the U/L bit inverted.
		{ExtendedLinkAddr([8]byte{0x02, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef}), [8]byte{0x00, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd, 0xef}},
		{ExtendedLinkAddr([8]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}), [8]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}},
		// RFC 6282 §3.2.2: 0000:00ff:fe00:XXXX.
		{ShortLinkAddr(0xbeef), [8]byte{0, 0, 0, 0xff, 0xfe, 0, 0xbe, 0xef}},
		// RFC 7668 §3.2.2: FFFE in the middle, no bit changed.
		{BLELinkAddr([6]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}), [8]byte{0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55}},
		{BLELinkAddr([6]byte{0xc2, 0x11, 0x22, 0x33, 0x44, 0x55}), [8]byte{0xc2, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55}},
	}
	for _, tt := range tests {
		got, ok := tt.ll.IID()
		if !ok || got != tt.want {
			t.Errorf("%v.IID() = % x, %v; want % x", tt.ll, got, ok, tt.want)
		}
	}
	if _, ok := (LinkAddr{}).IID(); ok {
		t.Error("absent address yields an IID")
	}
}

// Context prefixes longer than 64 bits override the derived IID; shorter
// ones leave zeros in the prefix (RFC 6282 §3.1.1).
func TestContextPrefixLengths(t *testing.T) {
	tests := []struct {
		prefix  string
		addr    string
		wantLen int // inline octets for the source address
	}{
		{"2001:db8:1::/64", "2001:db8:1::12:3456:78ab:cdef", 0},
		{"2001:db8:1::/48", "2001:db8:1::12:3456:78ab:cdef", 0},
		{"2001:db8:1::/48", "2001:db8:1:5:12:3456:78ab:cdef", 16}, // bits 48–63 not covered and not zero
		{"2001:db8:1:0:aaaa::/80", "2001:db8:1:0:aaaa:3456:78ab:cdef", 0},
		{"2001:db8:1::1/128", "2001:db8:1::1", 0},
		{"::/0", "::12:3456:78ab:cdef", 0},
		{"2001:db8:1::/64", "2001:db8:1::ff:fe00:77", 2},
		{"2001:db8:1::/64", "2001:db8:1::1", 8},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+" "+tt.addr, func(t *testing.T) {
			ct := &ContextTable{}
			if err := ct.Set(0, Context{Prefix: netip.MustParsePrefix(tt.prefix), Compress: true}); err != nil {
				t.Fatal(err)
			}
			pkt := buildUDP6(t, ipv6Fields{src: tt.addr, dst: "fe80::80b:c0d:e0f:1011", hlim: 64}, 1, 2, hello)
			z := Compressor{Contexts: ct}
			out := make([]byte, 200)
			n, err := z.Compress(out, pkt, extSrc, extDst)
			if err != nil {
				t.Fatal(err)
			}
			// IPHC(2) + UDP NHC(1+4+2) + payload; the destination is elided.
			if got := n - 2 - 7 - len(hello); got != tt.wantLen {
				t.Errorf("source took %d inline octets, want %d (% x)", got, tt.wantLen, out[:n])
			}
			back := make([]byte, 200)
			m, err := Decompress(back, out[:n], extSrc, extDst, ct)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back[:m], pkt) {
				t.Errorf("round trip:\n got % x\nwant % x", back[:m], pkt)
			}
		})
	}
}

// RFC 6282 §3.2.2: an IPHC header inside IPv6 (NHC EID 7) takes elided IIDs
// from the encapsulating header's addresses, not from the link layer.
func TestInnerIIDFromOuterHeader(t *testing.T) {
	in := mustHex(t, "7e00"+"20010db8000000000000000000000001"+"20010db8000000000000000000000002"+"ee"+"7a33"+"3b")
	out := make([]byte, 200)
	n, err := Decompress(out, in, extSrc, extDst, nil)
	if err != nil {
		t.Fatal(err)
	}
	inner := out[40:n]
	if got, want := [16]byte(inner[8:24]), addr16(t, "fe80::1"); got != want {
		t.Errorf("inner source % x, want fe80::1", got)
	}
	if got, want := [16]byte(inner[24:40]), addr16(t, "fe80::2"); got != want {
		t.Errorf("inner destination % x, want fe80::2", got)
	}
	// And the compressor elides exactly those.
	z := Compressor{}
	enc := make([]byte, 200)
	m, err := z.Compress(enc, out[:n], extSrc, extDst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc[:m], in) {
		t.Errorf("Compress:\n got % x\nwant % x", enc[:m], in)
	}
	// EID 7 with the (unused) NH bit set is reserved (RFC 6282 §4.2).
	bad := bytes.Clone(in)
	bad[34] = 0xef
	if _, err := Decompress(out, bad, extSrc, extDst, nil); !errors.Is(err, ErrReserved) {
		t.Errorf("EID 7 with NH=1: err = %v, want ErrReserved", err)
	}
}

// The 0x41 dispatch carries a whole IPv6 header, which must be one.
func TestUncompressedDispatchValidated(t *testing.T) {
	out := make([]byte, 200)
	for _, in := range []string{"41010203", "41" + strings.Repeat("00", 40), "41600000000005" + "3b40" + strings.Repeat("00", 32)} {
		if _, err := Decompress(out, mustHex(t, in), extSrc, extDst, nil); err == nil {
			t.Errorf("Decompress(%s) accepted", in)
		}
	}
	good := buildIPv6(t, ipv6Fields{src: "fe80::1", dst: "fe80::2", hlim: 1, next: 59}, []byte{1, 2, 3})
	n, err := Decompress(out, append([]byte{0x41}, good...), extSrc, extDst, nil)
	if err != nil || !bytes.Equal(out[:n], good) {
		t.Errorf("valid 0x41 datagram: %v", err)
	}
}
