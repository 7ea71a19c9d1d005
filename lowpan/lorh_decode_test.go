package lowpan

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// Known answers for the RFC 8138 decoder, worked out by hand from the
// formats of RFC 8138 §5 (SRH-6LoRH), §6 (RPI-6LoRH) and §7 (IP-in-IP
// 6LoRH), in the order of its example figures (SRH-6LoRH, RPI-6LoRH,
// IP-in-IP 6LoRH, IPHC). The expected packets are built field by field
// with the test helpers, not by the code under test. (RFC 8138's appendix
// draws these packets but gives no octets, so there is no vector to copy.)

const (
	lorhRoot    = "2001:db8::1"
	lorhPayload = "80 00 12 34 00 01 00 01" // an ICMPv6 echo request head
)

func lorhTable(t testing.TB, root string, rpiType uint8) *ContextTable {
	t.Helper()
	ct := &ContextTable{}
	r := RPLReference{RPIType: rpiType}
	if root != "" {
		r.Root = netip.MustParseAddr(root)
	}
	if err := ct.SetRPL(r); err != nil {
		t.Fatal(err)
	}
	return ct
}

// cat joins hex strings and byte slices.
func cat(t testing.TB, parts ...any) []byte {
	t.Helper()
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b = append(b, mustHex(t, v)...)
		case []byte:
			b = append(b, v...)
		case [16]byte:
			b = append(b, v[:]...)
		default:
			t.Fatalf("cat: %T", p)
		}
	}
	return b
}

// withPayload sets the IPv6 payload length of hdr to what follows it in
// the whole packet and returns the packet.
func withPayload(hdr []byte, rest ...[]byte) []byte {
	p := bytes.Clone(hdr)
	for _, r := range rest {
		p = append(p, r...)
	}
	ip6.Header(p).SetPayloadLength(uint16(len(p) - 40))
	return p
}

func TestLoRHDecodeKnownAnswers(t *testing.T) {
	payload := mustHex(t, lorhPayload)
	a := func(s string) [16]byte { return addr16(t, s) }
	type vector struct {
		name    string
		table   *ContextTable
		frame   []byte
		want    []byte
		wantErr error
	}
	llSrc, llDst := "fe80::12:3456:78ab:cdef", "fe80::80b:c0d:e0f:1011" // from extSrc, extDst
	inner := func(next uint8, hlim uint8, src, dst string, rest ...[]byte) []byte {
		return withPayload(buildIPv6(t, ipv6Fields{src: src, dst: dst, hlim: hlim, next: next}, nil), rest...)
	}
	vectors := []vector{
		{
			// A node's packet going up: RPI-6LoRH O=0, I=1 (instance 0),
			// K=1 (rank 0x0200 in one octet), then IPHC with link-local
			// addresses elided.
			name:  "RPI up, I and K",
			table: lorhTable(t, "", 0),
			frame: cat(t, "f1", "83 05 02", "7a 33 3a", payload),
			want:  inner(0, 64, llSrc, llDst, mustHex(t, "3a 00 63 04 00 00 02 00"), payload),
		},
		{
			// Instance 0x1e carried, full rank 0x0123, R and F set, and the
			// instance's RPI type 0x23 (RFC 9008 §4.3).
			name:  "RPI full, type 0x23",
			table: lorhTable(t, "", 0x23),
			frame: cat(t, "f1", "8c 05 1e 01 23", "7a 33 3a", payload),
			want:  inner(0, 64, llSrc, llDst, mustHex(t, "3a 00 23 04 60 1e 01 23"), payload),
		},
		{
			// The root's own packet down a source route ::a, ::b, ::c to
			// ::d: the SRH-6LoRH holds the three hops in one octet each,
			// the first against the source (the root), each next against
			// the one before; the IPHC destination is the final one.
			name:  "SRH and RPI, root's own packet",
			table: lorhTable(t, lorhRoot, 0),
			frame: cat(t, "f1", "82 00 0a 0b 0c", "93 05 01", "7a 00 3a", a(lorhRoot), a("2001:db8::d"), payload),
			want: inner(0, 64, lorhRoot, "2001:db8::a",
				mustHex(t, "2b 00 63 04 80 00 01 00"),
				mustHex(t, "3a 01 03 03 ff 50 00 00 0b 0c 0d 00 00 00 00 00"), payload),
		},
		{
			// The same route for a packet from outside, tunnelled by the
			// root all the way (encapsulator elided: it is the root), outer
			// hop limit 64; the inner header is the IPHC one. Inside a
			// tunnel the entries run to the tunnel's end, here the final
			// destination (RFC 8138 §5.2.2).
			name:  "tunnel from the root with SRH and RPI",
			table: lorhTable(t, lorhRoot, 0),
			frame: cat(t, "f1", "83 00 0a 0b 0c 0d", "93 05 01", "a1 06 40", "78 00 3a 3f", a("2001:db8:ffff::5"), a("2001:db8::d"), payload),
			want: inner(0, 64, lorhRoot, "2001:db8::a",
				mustHex(t, "2b 00 63 04 80 00 01 00"),
				mustHex(t, "29 01 03 03 ff 50 00 00 0b 0c 0d 00 00 00 00 00"),
				inner(58, 63, "2001:db8:ffff::5", "2001:db8::d", payload)),
		},
		{
			// The tunnel ends at the last entry, not at the inner
			// destination: ::c is the 6LR of the RUL ::d (RFC 8138
			// §5.2.2, RFC 9008 §4.3).
			name:  "tunnel from the root ending at a 6LR",
			table: lorhTable(t, lorhRoot, 0),
			frame: cat(t, "f1", "82 00 0a 0b 0c", "93 05 01", "a1 06 40", "78 00 3a 3f", a("2001:db8:ffff::5"), a("2001:db8::d"), payload),
			want: inner(0, 64, lorhRoot, "2001:db8::a",
				mustHex(t, "2b 00 63 04 80 00 01 00"),
				mustHex(t, "29 01 03 02 ff 60 00 00 0b 0c 00 00 00 00 00 00"),
				inner(58, 63, "2001:db8:ffff::5", "2001:db8::d", payload)),
		},
		{
			// A 6LR tunnels a packet up (RPI O=0): the encapsulator is
			// carried whole (Length 17) and the tunnel ends at the root.
			name:  "tunnel up from a 6LR",
			table: lorhTable(t, lorhRoot, 0),
			frame: cat(t, "f1", "81 05 1e 03", "b1 06 40", a("2001:db8::2"), "78 00 3a 40", a("2001:db8::77"), a("2001:db8:ffff::9"), payload),
			want: inner(0, 64, "2001:db8::2", lorhRoot,
				mustHex(t, "29 00 63 04 00 1e 03 00"),
				inner(58, 64, "2001:db8::77", "2001:db8:ffff::9", payload)),
		},
		{
			// Encapsulator in 2 octets against the root (Length 3), no
			// RPI: the tunnel ends at the inner destination.
			name:  "tunnel, encapsulator compressed",
			table: lorhTable(t, lorhRoot, 0),
			frame: cat(t, "f1", "a3 06 05 00 02", "78 00 3a 40", a("2001:db8::77"), a("2001:db8::9"), payload),
			want:  inner(41, 5, "2001:db8::2", "2001:db8::9", inner(58, 64, "2001:db8::77", "2001:db8::9", payload)),
		},
		{
			// SRH-6LoRHs of two sizes: ::a:1 in 4 octets against the root,
			// then ::a:2 and ::a:3 in one octet each.
			name:  "two SRH-6LoRHs",
			table: lorhTable(t, lorhRoot, 0),
			frame: cat(t, "f1", "80 02 00 0a 00 01", "81 00 02 03", "7a 00 3a", a(lorhRoot), a("2001:db8::d"), payload),
			want: inner(43, 64, lorhRoot, "2001:db8::a:1",
				mustHex(t, "3a 01 03 03 fd 30 00 00 02 03 00 00 0d 00 00 00"), payload),
		},
		{
			// Contiki-NG with SICSLOWPAN_COMPRESSION_6LORH: a page 1
			// switch and no 6LoRH.
			name:  "page 1 without 6LoRH",
			frame: cat(t, "f1", "7a 33 3a", payload),
			want:  inner(58, 64, llSrc, llDst, payload),
		},
		{
			name:  "explicit page 0",
			frame: cat(t, "f0", "7a 33 3a", payload),
			want:  inner(58, 64, llSrc, llDst, payload),
		},
		{
			// RFC 8138 §4.1: an elective 6LoRH of unknown type is skipped.
			name:  "unknown elective skipped",
			table: lorhTable(t, "", 0),
			frame: cat(t, "f1", "a2 1f aa bb", "83 05 02", "7a 33 3a", payload),
			want:  inner(0, 64, llSrc, llDst, mustHex(t, "3a 00 63 04 00 00 02 00"), payload),
		},
		{name: "unknown critical", frame: cat(t, "f1", "80 07", "7a 33 3a", payload), wantErr: ErrUnsupported},
		{name: "two RPIs", frame: cat(t, "f1", "83 05 02", "83 05 02", "7a 33 3a", payload), wantErr: ErrReserved},
		// RFC 8138 §3.2.2: a 6LoRH after the IP-in-IP 6LoRH belongs to
		// the inner header, which is not rebuilt. This is the pre-RFC
		// order an old openwsn-sw root wrote (openLbr.py reassemble_lowpan
		// at 002bdf52: IP-in-IP 6LoRH, then the RH3 6LoRHs).
		{name: "SRH-6LoRH after IP-in-IP", table: lorhTable(t, lorhRoot, 0), frame: cat(t, "f1", "a1 06 40", "80 04", a("2001:db8::a"), "81 00 0b 0c", "78 00 3a 3f", a("2001:db8:ffff::5"), a("2001:db8::d"), payload), wantErr: ErrUnsupported},
		{name: "RPI-6LoRH after IP-in-IP", table: lorhTable(t, lorhRoot, 0), frame: cat(t, "f1", "a1 06 40", "93 05 01", "7a 33 3a", payload), wantErr: ErrUnsupported},
		{name: "two tunnels", table: lorhTable(t, lorhRoot, 0), frame: cat(t, "f1", "a1 06 40", "a1 06 40", "7a 33 3a", payload), wantErr: ErrReserved},
		// RFC 8138 §7: a tunnel going up with no SRH-6LoRH ends at the
		// root, which must then be known.
		{name: "tunnel up, root unknown", table: lorhTable(t, "", 0), frame: cat(t, "f1", "81 05 1e 03", "b1 06 40", a("2001:db8::2"), "78 00 3a 40", a("2001:db8::77"), a("2001:db8:ffff::9"), payload), wantErr: ErrUnknownContext},
		{name: "elided encapsulator, no root", frame: cat(t, "f1", "a1 06 40", "7a 33 3a", payload), wantErr: ErrUnknownContext},
		{name: "IP-in-IP Length 4", frame: cat(t, "f1", "a4 06 40 00 00 02", "7a 33 3a", payload), wantErr: ErrBadLength},
		{name: "truncated SRH-6LoRH", frame: cat(t, "f1", "82 01 0a 0b"), wantErr: ErrTruncated},
		{name: "truncated RPI", frame: cat(t, "f1", "80 05 1e 01"), wantErr: ErrTruncated},
		{name: "nothing after 6LoRH", frame: cat(t, "f1", "83 05 02"), wantErr: ErrTruncated},
		{name: "uncompressed IPv6 after 6LoRH", frame: cat(t, "f1", "83 05 02", "41"), wantErr: ErrReserved},
		{name: "page 2", frame: cat(t, "f2", "7a 33 3a", payload), wantErr: ErrUnsupported},
		{name: "17 headers", frame: cat(t, "f1", strings.Repeat("a0 1f ", 17), "7a 33 3a", payload), wantErr: ErrReserved},
		{name: "65 hops", table: lorhTable(t, lorhRoot, 0), frame: cat(t, "f1", "9f 00", strings.Repeat("01 ", 32), "9f 00", strings.Repeat("02 ", 32), "80 00 03", "7a 00 3a", a(lorhRoot), a("2001:db8::d"), payload), wantErr: ErrReserved},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			out := make([]byte, 1500)
			n, err := Decompress(out, v.frame, extSrc, extDst, v.table)
			if v.wantErr != nil {
				if !errors.Is(err, v.wantErr) {
					t.Fatalf("err %v, want %v", err, v.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out[:n], v.want) {
				t.Errorf("(-want +got)\n-% x\n+% x", v.want, out[:n])
			}
			// The dispatch chain accepts the frame too.
			var h Headers
			if err := ParseHeaders(v.frame, &h); err != nil {
				t.Errorf("ParseHeaders: %v", err)
			}
		})
	}
}
