package pcapio

import (
	"github.com/lowpanbr/lowpanbr/internal/checksum"

	"encoding/binary"
	"fmt"
	"net/netip"
)

// EtherTypes (IEEE 802.3 / IANA) that ExtractUDP follows.
const (
	etherTypeIPv4   = 0x0800
	etherTypeIPv6   = 0x86dd
	etherTypeVLAN   = 0x8100 // IEEE 802.1Q customer tag
	etherTypeQinQ   = 0x88a8 // IEEE 802.1ad service tag
	etherTypeQinQv1 = 0x9100 // pre-standard double tag

	ethernetHeaderLen = 14
	vlanTagLen        = 4
	sllHeaderLen      = 16
	sll2HeaderLen     = 20
	nullHeaderLen     = 4
	ipv4MinHeaderLen  = 20
	ipv6HeaderLen     = 40
	udpHeaderLen      = 8

	protoHopByHop  = 0
	protoUDP       = 17
	protoRouting   = 43
	protoFragment  = 44
	protoESP       = 50
	protoAH        = 51
	protoNoNext    = 59
	protoDestOpts  = 60
	protoMobility  = 135
	protoHIP       = 139
	protoShim6     = 140
	protoExperim1  = 253
	protoExperim2  = 254
	defaultTTL     = 64
	ipv4MaxPayload = 65535 - ipv4MinHeaderLen - udpHeaderLen
	ipv6MaxPayload = 65535 - udpHeaderLen
)

// UDPDatagram is a UDP datagram found in a captured frame.
type UDPDatagram struct {
	Src, Dst netip.AddrPort
	// Payload is a view into the frame given to ExtractUDP, cut to the UDP
	// length (link-layer padding removed).
	Payload []byte
}

// ExtractUDP finds the UDP datagram in a frame of the given link type:
// Ethernet (with any number of 802.1Q/802.1ad VLAN tags), Linux cooked
// capture v1 and v2, BSD Null and OpenBSD Loop, and raw IPv4/IPv6
// (LinkTypeRaw, LinkTypeIPv4, LinkTypeIPv6). IPv4 options and IPv6 extension
// headers are skipped. It returns ErrNotUDP, unwrapped, for a well-formed
// frame that is not UDP (so a filter loop can compare with ==); errors
// wrapping ErrMalformed for truncated or inconsistent headers; and errors
// wrapping ErrUnsupported for IP fragments (no reassembly), IPv6 jumbograms
// and other link types. Checksums are not verified. It does not allocate
// unless it fails with an error other than ErrNotUDP.
func ExtractUDP(linkType uint32, frame []byte) (UDPDatagram, error) {
	switch linkType {
	case LinkTypeEthernet:
		if len(frame) < ethernetHeaderLen {
			return UDPDatagram{}, truncated("Ethernet header", len(frame))
		}
		et := binary.BigEndian.Uint16(frame[12:])
		p := frame[ethernetHeaderLen:]
		for et == etherTypeVLAN || et == etherTypeQinQ || et == etherTypeQinQv1 {
			if len(p) < vlanTagLen {
				return UDPDatagram{}, truncated("VLAN tag", len(p))
			}
			et = binary.BigEndian.Uint16(p[2:])
			p = p[vlanTagLen:]
		}
		return extractEtherType(et, p)
	case LinkTypeLinuxSLL:
		// packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
		if len(frame) < sllHeaderLen {
			return UDPDatagram{}, truncated("Linux cooked header", len(frame))
		}
		return extractEtherType(binary.BigEndian.Uint16(frame[14:]), frame[sllHeaderLen:])
	case LinkTypeLinuxSLL2:
		// protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1)
		// address length(1) address(8)
		if len(frame) < sll2HeaderLen {
			return UDPDatagram{}, truncated("Linux cooked v2 header", len(frame))
		}
		return extractEtherType(binary.BigEndian.Uint16(frame[0:]), frame[sll2HeaderLen:])
	case LinkTypeNull, LinkTypeLoop:
		if len(frame) < nullHeaderLen {
			return UDPDatagram{}, truncated("loopback header", len(frame))
		}
		// The address family is in the capturing host's byte order for
		// Null (always big-endian for Loop); AF_INET is 2 everywhere,
		// AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD) or
		// 30 (Darwin). A 32-bit family below 2^16 in one order is ≥ 2^16 in
		// the other, so trying both is unambiguous.
		af := binary.BigEndian.Uint32(frame)
		if linkType == LinkTypeNull && af > 0xffff {
			af = binary.LittleEndian.Uint32(frame)
		}
		switch af {
		case 2:
			return extractIPv4(frame[nullHeaderLen:])
		case 10, 24, 28, 30:
			return extractIPv6(frame[nullHeaderLen:])
		}
		return UDPDatagram{}, ErrNotUDP
	case LinkTypeRaw:
		if len(frame) == 0 {
			return UDPDatagram{}, truncated("IP header", 0)
		}
		switch frame[0] >> 4 {
		case 4:
			return extractIPv4(frame)
		case 6:
			return extractIPv6(frame)
		}
		return UDPDatagram{}, fmt.Errorf("pcapio: raw IP version %d: %w", frame[0]>>4, ErrMalformed)
	case LinkTypeIPv4:
		return extractIPv4(frame)
	case LinkTypeIPv6:
		return extractIPv6(frame)
	}
	return UDPDatagram{}, fmt.Errorf("pcapio: UDP extraction from link type %d: %w", linkType, ErrUnsupported)
}

func truncated(what string, n int) error {
	return fmt.Errorf("pcapio: %s truncated at %d bytes: %w", what, n, ErrMalformed)
}

func extractEtherType(et uint16, p []byte) (UDPDatagram, error) {
	switch et {
	case etherTypeIPv4:
		return extractIPv4(p)
	case etherTypeIPv6:
		return extractIPv6(p)
	}
	return UDPDatagram{}, ErrNotUDP
}

// extractIPv4 reads an IPv4 header (RFC 791 §3.1) and the UDP datagram it
// carries. Bytes beyond Total Length (Ethernet padding) are ignored.
func extractIPv4(p []byte) (UDPDatagram, error) {
	if len(p) < ipv4MinHeaderLen {
		return UDPDatagram{}, truncated("IPv4 header", len(p))
	}
	if v := p[0] >> 4; v != 4 {
		return UDPDatagram{}, fmt.Errorf("pcapio: IPv4 header has version %d: %w", v, ErrMalformed)
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	if ihl < ipv4MinHeaderLen || total < ihl {
		return UDPDatagram{}, fmt.Errorf("pcapio: IPv4 header length %d, total length %d: %w", ihl, total, ErrMalformed)
	}
	if total > len(p) {
		return UDPDatagram{}, fmt.Errorf("pcapio: IPv4 total length %d but %d bytes captured: %w", total, len(p), ErrMalformed)
	}
	if p[9] != protoUDP {
		return UDPDatagram{}, ErrNotUDP
	}
	// Flags and Fragment Offset: MF set or a non-zero offset is a fragment.
	if ff := binary.BigEndian.Uint16(p[6:]); ff&0x3fff != 0 {
		return UDPDatagram{}, fmt.Errorf("pcapio: IPv4 fragment (offset %d, more fragments %t): %w",
			(ff&0x1fff)*8, ff&0x2000 != 0, ErrUnsupported)
	}
	src := netip.AddrFrom4([4]byte(p[12:16]))
	dst := netip.AddrFrom4([4]byte(p[16:20]))
	return extractUDP(src, dst, p[ihl:total])
}

// extractIPv6 reads an IPv6 header (RFC 8200 §3), skips extension headers
// (§4) and returns the UDP datagram.
func extractIPv6(p []byte) (UDPDatagram, error) {
	if len(p) < ipv6HeaderLen {
		return UDPDatagram{}, truncated("IPv6 header", len(p))
	}
	if v := p[0] >> 4; v != 6 {
		return UDPDatagram{}, fmt.Errorf("pcapio: IPv6 header has version %d: %w", v, ErrMalformed)
	}
	plen := int(binary.BigEndian.Uint16(p[4:]))
	next := p[6]
	if plen == 0 && next == protoHopByHop {
		return UDPDatagram{}, fmt.Errorf("pcapio: IPv6 jumbogram: %w", ErrUnsupported)
	}
	if ipv6HeaderLen+plen > len(p) {
		return UDPDatagram{}, fmt.Errorf("pcapio: IPv6 payload length %d but %d bytes captured: %w",
			plen, len(p)-ipv6HeaderLen, ErrMalformed)
	}
	src := netip.AddrFrom16([16]byte(p[8:24]))
	dst := netip.AddrFrom16([16]byte(p[24:40]))
	q := p[ipv6HeaderLen : ipv6HeaderLen+plen]
	// Every extension header is at least 8 bytes, so this loop ends.
	for {
		var n int
		switch next {
		case protoUDP:
			return extractUDP(src, dst, q)
		case protoHopByHop, protoRouting, protoDestOpts, protoMobility, protoHIP, protoShim6, protoExperim1, protoExperim2:
			// RFC 8200 §4: Hdr Ext Len in 8-octet units, not counting the first 8.
			if len(q) < 2 {
				return UDPDatagram{}, truncated("IPv6 extension header", len(q))
			}
			n = (int(q[1]) + 1) * 8
		case protoFragment:
			if len(q) < 8 {
				return UDPDatagram{}, truncated("IPv6 Fragment header", len(q))
			}
			// An atomic fragment (offset 0, M=0; RFC 6946) is a whole packet.
			if fo := binary.BigEndian.Uint16(q[2:]); fo&0xfff9 != 0 {
				return UDPDatagram{}, fmt.Errorf("pcapio: IPv6 fragment (offset %d, more fragments %t): %w",
					fo&^7, fo&1 != 0, ErrUnsupported)
			}
			n = 8
		case protoAH:
			// RFC 4302 §2.2: Payload Len in 4-octet units, minus 2.
			if len(q) < 2 {
				return UDPDatagram{}, truncated("IPv6 Authentication Header", len(q))
			}
			n = (int(q[1]) + 2) * 4
		default: // ESP, No Next Header, TCP, ICMPv6, …
			return UDPDatagram{}, ErrNotUDP
		}
		if n > len(q) {
			return UDPDatagram{}, fmt.Errorf("pcapio: IPv6 extension header %d of %d bytes overruns the %d-byte payload: %w",
				next, n, len(q), ErrMalformed)
		}
		next, q = q[0], q[n:]
	}
}

// extractUDP reads a UDP header (RFC 768) from an IP payload.
func extractUDP(src, dst netip.Addr, p []byte) (UDPDatagram, error) {
	if len(p) < udpHeaderLen {
		return UDPDatagram{}, truncated("UDP header", len(p))
	}
	n := int(binary.BigEndian.Uint16(p[4:]))
	if n < udpHeaderLen || n > len(p) {
		return UDPDatagram{}, fmt.Errorf("pcapio: UDP length %d but the IP payload is %d bytes: %w", n, len(p), ErrMalformed)
	}
	return UDPDatagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(p[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(p[2:])),
		Payload: p[udpHeaderLen:n],
	}, nil
}

// AppendEthernetIPv4UDP appends an Ethernet II frame carrying IPv4 and UDP
// with the given payload, for writing LinkTypeEthernet captures. Both MAC
// addresses are zero (as in captures taken on a loopback interface). See
// AppendIPv4UDP for the IP and UDP headers.
func AppendEthernetIPv4UDP(b []byte, src, dst netip.AddrPort, payload []byte) []byte {
	b = appendEthernet(b, etherTypeIPv4)
	return AppendIPv4UDP(b, src, dst, payload)
}

// AppendEthernetIPv6UDP is AppendEthernetIPv4UDP for IPv6.
func AppendEthernetIPv6UDP(b []byte, src, dst netip.AddrPort, payload []byte) []byte {
	b = appendEthernet(b, etherTypeIPv6)
	return AppendIPv6UDP(b, src, dst, payload)
}

func appendEthernet(b []byte, etherType uint16) []byte {
	var macs [12]byte // destination, source
	b = append(b, macs[:]...)
	return binary.BigEndian.AppendUint16(b, etherType)
}

// AppendIPv4UDP appends an IPv4 header (no options, identification 0, no
// fragmentation flags, TTL 64, correct header checksum) and a UDP header
// with a correct checksum, then the payload; usable alone for LinkTypeRaw
// or LinkTypeIPv4 captures. Addresses that are not IPv4 (after unmapping)
// are written as 0.0.0.0. A payload longer than an IPv4 UDP datagram allows
// (65507 bytes) is cut to fit.
func AppendIPv4UDP(b []byte, src, dst netip.AddrPort, payload []byte) []byte {
	payload = payload[:min(len(payload), ipv4MaxPayload)]
	s, d := as4(src.Addr()), as4(dst.Addr())
	udpLen := udpHeaderLen + len(payload)
	start := len(b)
	b = append(b,
		0x45, 0, // version 4, IHL 5, DSCP/ECN 0
		byte((ipv4MinHeaderLen+udpLen)>>8), byte(ipv4MinHeaderLen+udpLen),
		0, 0, 0, 0, // identification, flags, fragment offset
		defaultTTL, protoUDP,
		0, 0, // header checksum, below
	)
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	binary.BigEndian.PutUint16(b[start+10:], checksum.Finish(checksum.Sum(b[start:], 0)))

	pseudo := checksum.Sum(d[:], checksum.Sum(s[:], 0)) + protoUDP + uint32(udpLen)
	return appendUDP(b, pseudo, src.Port(), dst.Port(), payload)
}

// AppendIPv6UDP appends an IPv6 header (traffic class and flow label 0, hop
// limit 64) and a UDP header with a correct checksum, then the payload.
// IPv4 addresses are written IPv4-mapped. A payload longer than 65527 bytes
// is cut to fit (no jumbograms).
func AppendIPv6UDP(b []byte, src, dst netip.AddrPort, payload []byte) []byte {
	payload = payload[:min(len(payload), ipv6MaxPayload)]
	s, d := src.Addr().As16(), dst.Addr().As16()
	udpLen := udpHeaderLen + len(payload)
	b = append(b,
		0x60, 0, 0, 0, // version 6, traffic class, flow label
		byte(udpLen>>8), byte(udpLen),
		protoUDP, defaultTTL,
	)
	b = append(b, s[:]...)
	b = append(b, d[:]...)

	pseudo := checksum.Sum(d[:], checksum.Sum(s[:], 0)) + protoUDP + uint32(udpLen)
	return appendUDP(b, pseudo, src.Port(), dst.Port(), payload)
}

func as4(a netip.Addr) [4]byte {
	a = a.Unmap()
	if !a.Is4() {
		return [4]byte{}
	}
	return a.As4()
}

// appendUDP appends a UDP header and payload; pseudo is the partial sum of
// the IP pseudo-header (RFC 768; RFC 8200 §8.1).
func appendUDP(b []byte, pseudo uint32, sport, dport uint16, payload []byte) []byte {
	start := len(b)
	udpLen := udpHeaderLen + len(payload)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0)
	b = append(b, payload...)
	c := checksum.Finish(checksum.Sum(b[start:], pseudo))
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(b[start+6:], c)
	return b
}
