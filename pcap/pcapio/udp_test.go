package pcapio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// Hand-written IP packets carrying UDP 1234 → 17754 with payload "hello".
const (
	ipv4UDP = "45 00 0021 0000 0000 40 11 0000 c0a80001 c0a80002" +
		" 04d2 455a 000d 0000 68656c6c6f"
	// IHL 6: four option bytes (NOP, NOP, NOP, EOL).
	ipv4OptionsUDP = "46 00 0025 0000 4000 40 11 0000 c0a80001 c0a80002 01010100" +
		" 04d2 455a 000d 0000 68656c6c6f"
	ipv6UDP = "60000000 000d 11 40 20010db8000000000000000000000001 20010db8000000000000000000000002" +
		" 04d2 455a 000d 0000 68656c6c6f"
	// Hop-by-Hop (PadN) → Destination Options (PadN) → atomic Fragment →
	// Authentication Header (12 bytes) → UDP.
	ipv6ExtUDP = "60000000 0031 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002" +
		" 3c 00 0104 00000000" +
		" 2c 00 0104 00000000" +
		" 33 00 0000 00000001" +
		" 11 01 0000 00000100 00000001" +
		" 04d2 455a 000d 0000 68656c6c6f"
)

func TestExtractUDP(t *testing.T) {
	want4 := UDPDatagram{
		Src:     netip.MustParseAddrPort("192.168.0.1:1234"),
		Dst:     netip.MustParseAddrPort("192.168.0.2:17754"),
		Payload: []byte("hello"),
	}
	want6 := UDPDatagram{
		Src:     netip.MustParseAddrPort("[2001:db8::1]:1234"),
		Dst:     netip.MustParseAddrPort("[2001:db8::2]:17754"),
		Payload: []byte("hello"),
	}
	const macs = "0a0b0c0d0e0f 020304050607 "
	tests := []struct {
		name     string
		linkType uint32
		frame    string
		want     UDPDatagram
	}{
		{"Ethernet IPv4", LinkTypeEthernet, macs + "0800" + ipv4UDP, want4},
		{"Ethernet IPv4 padded to 60 bytes", LinkTypeEthernet, macs + "0800" + ipv4UDP + "000000000000000000000000", want4},
		{"Ethernet IPv4 with options", LinkTypeEthernet, macs + "0800" + ipv4OptionsUDP, want4},
		{"Ethernet 802.1Q IPv4", LinkTypeEthernet, macs + "8100 0064 0800" + ipv4UDP, want4},
		{"Ethernet QinQ IPv6", LinkTypeEthernet, macs + "88a8 0064 8100 00c8 86dd" + ipv6UDP, want6},
		{"Ethernet IPv6", LinkTypeEthernet, macs + "86dd" + ipv6UDP, want6},
		{"Ethernet IPv6 extension headers", LinkTypeEthernet, macs + "86dd" + ipv6ExtUDP, want6},
		{"Linux SLL IPv4", LinkTypeLinuxSLL, "0000 0001 0006 0a0b0c0d0e0f0000 0800" + ipv4UDP, want4},
		{"Linux SLL2 IPv6", LinkTypeLinuxSLL2, "86dd 0000 00000002 0001 00 06 0a0b0c0d0e0f0000" + ipv6UDP, want6},
		{"Null little-endian AF_INET", LinkTypeNull, "02000000" + ipv4UDP, want4},
		{"Null big-endian AF_INET", LinkTypeNull, "00000002" + ipv4UDP, want4},
		{"Null Linux AF_INET6", LinkTypeNull, "0a000000" + ipv6UDP, want6},
		{"Null Darwin AF_INET6", LinkTypeNull, "1e000000" + ipv6UDP, want6},
		{"Null FreeBSD AF_INET6 big-endian", LinkTypeNull, "0000001c" + ipv6UDP, want6},
		{"Loop AF_INET6", LinkTypeLoop, "00000018" + ipv6UDP, want6},
		{"Raw IPv4", LinkTypeRaw, ipv4UDP, want4},
		{"Raw IPv6", LinkTypeRaw, ipv6ExtUDP, want6},
		{"IPv4", LinkTypeIPv4, ipv4OptionsUDP, want4},
		{"IPv6", LinkTypeIPv6, ipv6UDP, want6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := mustHex(t, tt.frame)
			got, err := ExtractUDP(tt.linkType, frame)
			if err != nil {
				t.Fatalf("ExtractUDP: %v", err)
			}
			if got.Src != tt.want.Src || got.Dst != tt.want.Dst || !bytes.Equal(got.Payload, tt.want.Payload) {
				t.Errorf("(-want +got)\n-%v → %v %q\n+%v → %v %q", tt.want.Src, tt.want.Dst, tt.want.Payload, got.Src, got.Dst, got.Payload)
			}
			// Payload is a view into frame.
			if len(got.Payload) > 0 && &got.Payload[0] != &frame[bytes.Index(frame, []byte("hello"))] {
				t.Error("Payload is not a view into the frame")
			}
			// Every truncation (padding aside) is an error, never a panic.
			full := len(frame)
			if bytes.HasSuffix(frame, make([]byte, 12)) {
				full -= 12
			}
			for n := range full {
				if _, err := ExtractUDP(tt.linkType, frame[:n]); !errors.Is(err, ErrMalformed) {
					t.Errorf("ExtractUDP(frame[:%d]) = %v, want ErrMalformed", n, err)
				}
			}
		})
	}
}

func TestExtractUDPErrors(t *testing.T) {
	const macs = "0a0b0c0d0e0f 020304050607 "
	v4 := func(s string) string { return macs + "0800" + s }
	v6 := func(s string) string { return macs + "86dd" + s }
	const a6 = " 20010db8000000000000000000000001 20010db8000000000000000000000002"
	tests := []struct {
		name     string
		linkType uint32
		frame    string
		want     error
	}{
		{"ARP", LinkTypeEthernet, macs + "0806 0001 0800 0604 0001", ErrNotUDP},
		{"802.3 length field", LinkTypeEthernet, macs + "05dc aaaa03 000000", ErrNotUDP},
		{"IPv4 TCP", LinkTypeEthernet, v4("45 00 0028 0000 0000 40 06 0000 c0a80001 c0a80002 04d2 0050 00000000 00000000 5000 0000 0000 0000"), ErrNotUDP},
		{"IPv6 ICMPv6", LinkTypeEthernet, v6("60000000 0008 3a 40" + a6 + " 8000 0000 0000 0000"), ErrNotUDP},
		{"IPv6 ESP", LinkTypeEthernet, v6("60000000 0008 32 40" + a6 + " 00000100 00000001"), ErrNotUDP},
		{"IPv6 No Next Header after Hop-by-Hop", LinkTypeEthernet, v6("60000000 0008 00 40" + a6 + " 3b 00 0104 00000000"), ErrNotUDP},
		{"Null unknown family", LinkTypeNull, "07000000 " + ipv4UDP, ErrNotUDP},

		{"IPv4 first fragment", LinkTypeEthernet, v4("45 00 0021 0001 2000 40 11 0000 c0a80001 c0a80002 04d2 455a 0100 0000 68656c6c6f"), ErrUnsupported},
		{"IPv4 later fragment", LinkTypeEthernet, v4("45 00 0021 0001 0003 40 11 0000 c0a80001 c0a80002 04d2 455a 000d 0000 68656c6c6f"), ErrUnsupported},
		{"IPv6 first fragment", LinkTypeEthernet, v6("60000000 0015 2c 40" + a6 + " 11 00 0001 00000007 04d2 455a 0100 0000 68656c6c6f"), ErrUnsupported},
		{"IPv6 later fragment", LinkTypeEthernet, v6("60000000 000d 2c 40" + a6 + " 11 00 0010 00000007 68656c6c6f"), ErrUnsupported},
		{"IPv6 jumbogram", LinkTypeEthernet, v6("60000000 0000 00 40" + a6 + " 11 00 c204 00010000 04d2 455a 0000 0000"), ErrUnsupported},
		{"802.15.4 link type", LinkTypeIEEE802154WithFCS, "41cc01cdab", ErrUnsupported},

		{"IPv4 with version 5", LinkTypeEthernet, v4("55" + ipv4UDP[2:]), ErrMalformed},
		{"IPv4 IHL 4", LinkTypeEthernet, v4("44" + ipv4UDP[2:]), ErrMalformed},
		{"IPv4 total length below IHL", LinkTypeEthernet, v4("45 00 0010 0000 0000 40 11 0000 c0a80001 c0a80002 04d2 455a 000d 0000 68656c6c6f"), ErrMalformed},
		{"IPv4 total length beyond frame", LinkTypeEthernet, v4("45 00 0022 0000 0000 40 11 0000 c0a80001 c0a80002 04d2 455a 000d 0000 68656c6c6f"), ErrMalformed},
		{"IPv4 IHL beyond total length", LinkTypeEthernet, v4("4f 00 0021 0000 0000 40 11 0000 c0a80001 c0a80002 04d2 455a 000d 0000 68656c6c6f"), ErrMalformed},
		{"UDP length 7", LinkTypeEthernet, v4("45 00 0021 0000 0000 40 11 0000 c0a80001 c0a80002 04d2 455a 0007 0000 68656c6c6f"), ErrMalformed},
		{"UDP length beyond IP payload", LinkTypeEthernet, v4("45 00 0021 0000 0000 40 11 0000 c0a80001 c0a80002 04d2 455a 000e 0000 68656c6c6f"), ErrMalformed},
		{"IPv6 with version 4", LinkTypeEthernet, v6("4" + ipv6UDP[1:]), ErrMalformed},
		{"IPv6 extension header overruns payload", LinkTypeEthernet, v6("60000000 0008 00 40" + a6 + " 11 01 0104 00000000"), ErrMalformed},
		{"IPv6 AH overruns payload", LinkTypeEthernet, v6("60000000 0008 33 40" + a6 + " 11 04 0000 00000100"), ErrMalformed},
		{"raw IP version 5", LinkTypeRaw, "55" + ipv4UDP[2:], ErrMalformed},
		{"raw empty", LinkTypeRaw, "", ErrMalformed},
		{"VLAN tag truncated", LinkTypeEthernet, macs + "8100 00", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ExtractUDP(tt.linkType, mustHex(t, tt.frame))
			if tt.want == ErrNotUDP {
				if err != ErrNotUDP {
					t.Errorf("error %v, want ErrNotUDP itself", err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}

// refChecksum is the RFC 1071 Internet checksum written the slow, obvious
// way, to check the package's own.
func refChecksum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint64
	for i := 0; i < len(all); i += 2 {
		s += uint64(all[i])<<8 | uint64(all[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func TestAppendIPUDP(t *testing.T) {
	for _, tt := range []struct {
		name     string
		src, dst string
		payload  []byte
		v6       bool
	}{
		{"IPv4 odd payload", "127.0.0.1:17754", "127.0.0.1:17754", []byte("hello"), false},
		{"IPv4 empty payload", "10.1.2.3:1", "192.0.2.200:65535", nil, false},
		{"IPv4 big payload", "10.1.2.3:1", "192.0.2.200:65535", bytes.Repeat([]byte{0xff}, 1400), false},
		{"IPv6", "[2001:db8::1]:17754", "[fe80::1]:17754", []byte("hello!"), true},
		{"IPv6 odd payload", "[::1]:5", "[::1]:6", []byte{0xff, 0xff, 0xff}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst)
			prefix := []byte{0xee, 0xee}
			var b []byte
			if tt.v6 {
				b = AppendEthernetIPv6UDP(bytes.Clone(prefix), src, dst, tt.payload)
			} else {
				b = AppendEthernetIPv4UDP(bytes.Clone(prefix), src, dst, tt.payload)
			}
			if !bytes.HasPrefix(b, prefix) {
				t.Fatal("prefix overwritten")
			}
			frame := b[len(prefix):]
			got, err := ExtractUDP(LinkTypeEthernet, frame)
			if err != nil {
				t.Fatalf("ExtractUDP: %v", err)
			}
			if got.Src != src || got.Dst != dst || !bytes.Equal(got.Payload, tt.payload) {
				t.Errorf("got %v → %v % x, want %v → %v % x", got.Src, got.Dst, got.Payload, src, dst, tt.payload)
			}
			ip := frame[ethernetHeaderLen:]
			var pseudo, udp []byte
			if tt.v6 {
				udp = ip[ipv6HeaderLen:]
				pseudo = append(append(bytes.Clone(ip[8:40]), 0, 0), ip[4:6]...)
				pseudo = append(pseudo, 0, 0, 0, 17)
			} else {
				if c := refChecksum(ip[:20]); c != 0 {
					t.Errorf("IPv4 header checksum does not verify (residue %#04x)", c)
				}
				udp = ip[ipv4MinHeaderLen:]
				pseudo = append(bytes.Clone(ip[12:20]), 0, 17)
				pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(udp)))
			}
			if c := refChecksum(pseudo, udp); c != 0 {
				t.Errorf("UDP checksum does not verify (residue %#04x)", c)
			}
			if binary.BigEndian.Uint16(udp[6:]) == 0 {
				t.Error("UDP checksum 0 (absent)")
			}
		})
	}
}

// A UDP checksum that computes to zero goes out as 0xffff (RFC 768).
func TestUDPChecksumZero(t *testing.T) {
	src := netip.MustParseAddrPort("0.0.0.0:0")
	// Choose the payload so the one's-complement sum is 0xffff: the header
	// and pseudo-header contribute proto 17 + 2×length 10 = 37 = 0x25.
	payload := []byte{0xff, 0xda}
	b := AppendIPv4UDP(nil, src, src, payload)
	if c := binary.BigEndian.Uint16(b[26:]); c != 0xffff {
		t.Errorf("checksum %#04x, want 0xffff", c)
	}
}

func TestAppendIPv4UDPNonIPv4Address(t *testing.T) {
	b := AppendIPv4UDP(nil, netip.MustParseAddrPort("[2001:db8::1]:1"), netip.MustParseAddrPort("[::ffff:10.0.0.1]:2"), nil)
	got, err := ExtractUDP(LinkTypeIPv4, b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Src.Addr() != netip.IPv4Unspecified() || got.Dst.Addr() != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("addresses %v, %v; want 0.0.0.0, 10.0.0.1", got.Src, got.Dst)
	}
}

func TestExtractUDPAllocs(t *testing.T) {
	src, dst := netip.MustParseAddrPort("[2001:db8::1]:17754"), netip.MustParseAddrPort("[2001:db8::2]:17754")
	f6 := AppendEthernetIPv6UDP(nil, src, dst, make([]byte, 60))
	f4 := AppendEthernetIPv4UDP(nil, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"), make([]byte, 60))
	arp := mustHex(t, "0a0b0c0d0e0f 020304050607 0806 0001 0800 0604 0001")
	if a := testing.AllocsPerRun(1000, func() {
		_, _ = ExtractUDP(LinkTypeEthernet, f6)
		_, _ = ExtractUDP(LinkTypeEthernet, f4)
		_, _ = ExtractUDP(LinkTypeEthernet, arp)
	}); a != 0 {
		t.Errorf("ExtractUDP allocates %v times, want 0", a)
	}
}
