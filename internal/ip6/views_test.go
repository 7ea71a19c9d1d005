package ip6

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// knownPackets reads testdata/known.txt (packets built by Scapy, checksums
// verified by tshark; see testdata/README.md).
func knownPackets(t testing.TB) map[string]Header {
	t.Helper()
	f, err := os.Open("testdata/known.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]Header{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, h, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = Header(b)
	}
	return out
}

func TestICMPv6KnownAnswers(t *testing.T) {
	pkts := knownPackets(t)
	tests := []struct {
		name           string
		typ, code      uint8
		sum            uint16
		typeSpecific   uint32
		isError        bool
		payloadLen     int
		check          func(t *testing.T, m ICMPv6)
		fieldsTypeSpec uint32
	}{
		{"echo", ICMPv6EchoRequest, 0, 0x69f6, 0x1234_0007, false, 8, func(t *testing.T, m ICMPv6) {
			if m.Ident() != 0x1234 || m.Sequence() != 7 || string(m.Payload()) != "lowpanbr" {
				t.Errorf("echo: ident %#x seq %d data %q", m.Ident(), m.Sequence(), m.Payload())
			}
		}, 0x1234_0007},
		{"packet-too-big", ICMPv6PacketTooBig, 0, 0x2bd3, 1280, true, 58, func(t *testing.T, m ICMPv6) {
			if m.MTU() != 1280 {
				t.Errorf("MTU %d", m.MTU())
			}
			// The quoted packet: a UDP datagram with its own correct checksum.
			in := Header(m.Payload())
			u := UDP(in.Payload())
			if !in.IsValid() || !u.IsValid() || u.Checksum() != 0x7379 || !u.ChecksumValid(in.SrcBytes(), in.DstBytes()) {
				t.Errorf("quoted UDP: checksum %#04x", u.Checksum())
			}
		}, 1280},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := pkts[tc.name]
			if !h.IsValid() || h.NextHeader() != ProtoICMPv6 {
				t.Fatalf("not an ICMPv6 packet: % x", []byte(h))
			}
			m := ICMPv6(h.Payload())
			if !m.IsValid() || m.Type() != tc.typ || m.Code() != tc.code || m.Checksum() != tc.sum ||
				m.TypeSpecific() != tc.typeSpecific || m.IsError() != tc.isError || len(m.Payload()) != tc.payloadLen {
				t.Fatalf("type %d code %d checksum %#04x body %#08x error %v payload %d", m.Type(), m.Code(), m.Checksum(), m.TypeSpecific(), m.IsError(), len(m.Payload()))
			}
			tc.check(t, m)
			if !m.ChecksumValid(h.SrcBytes(), h.DstBytes()) {
				t.Error("ChecksumValid = false on Scapy's packet")
			}
			// Rebuilt from the fields and the payload, byte for byte.
			out := make(ICMPv6, len(m))
			out.Encode(&ICMPv6Fields{Type: tc.typ, Code: tc.code, TypeSpecific: tc.fieldsTypeSpec})
			copy(out.Payload(), m.Payload())
			out.SetChecksum(0xdead) // counted as zero whatever it holds
			out.SetChecksum(out.CalculateChecksum(h.SrcBytes(), h.DstBytes()))
			if !bytes.Equal(out, m) {
				t.Errorf("rebuilt\n got % x\nwant % x", []byte(out), []byte(m))
			}
			// One flipped bit anywhere is caught.
			bad := ICMPv6(bytes.Clone(m))
			bad[len(bad)-1] ^= 0x10
			if bad.ChecksumValid(h.SrcBytes(), h.DstBytes()) {
				t.Error("ChecksumValid = true after a flipped bit")
			}
		})
	}
}

func TestICMPv6Setters(t *testing.T) {
	m := make(ICMPv6, ICMPv6MinimumLen)
	m.SetType(ICMPv6ParameterProblem)
	m.SetCode(1)
	m.SetPointer(40)
	if !bytes.Equal(m, []byte{4, 1, 0, 0, 0, 0, 0, 40}) || m.Pointer() != 40 {
		t.Fatalf("% x", []byte(m))
	}
	m.SetIdent(0xabcd)
	m.SetSequence(0x0102)
	m.SetMTU(m.MTU()) // the same four octets
	if m.TypeSpecific() != 0xabcd0102 {
		t.Fatalf("body %#08x", m.TypeSpecific())
	}
	if ICMPv6(m[:7]).IsValid() || !m.IsValid() {
		t.Error("IsValid bounds")
	}
}

func TestUDPKnownAnswer(t *testing.T) {
	h := knownPackets(t)["udp"]
	if !h.IsValid() || h.NextHeader() != ProtoUDP {
		t.Fatalf("not a UDP packet")
	}
	u := UDP(h.Payload())
	if !u.IsValid() || u.SourcePort() != 5683 || u.DestinationPort() != 5683 || u.Length() != 21 || u.Checksum() != 0x9291 ||
		string(u.Payload()) != "hello-6lowpan" || !u.ChecksumValid(h.SrcBytes(), h.DstBytes()) {
		t.Fatalf("ports %d %d length %d checksum %#04x payload %q", u.SourcePort(), u.DestinationPort(), u.Length(), u.Checksum(), u.Payload())
	}
	out := make(UDP, len(u))
	out.Encode(&UDPFields{SrcPort: 5683, DstPort: 5683, Length: uint16(len(u)), Checksum: 0xdead})
	copy(out.Payload(), u.Payload())
	out.SetChecksum(out.CalculateChecksum(h.SrcBytes(), h.DstBytes()))
	if !bytes.Equal(out, u) {
		t.Fatalf("rebuilt\n got % x\nwant % x", []byte(out), []byte(u))
	}
	if UDP(u[:7]).IsValid() {
		t.Error("IsValid accepts 7 octets")
	}
}

// RFC 8200 §8.1: a UDP checksum that computes to zero is sent as 0xffff,
// and a datagram carrying zero is not valid.
func TestUDPChecksumZero(t *testing.T) {
	// Three more payload octets (the datagram had an odd length), the last
	// two chosen so that the sum comes to all ones: the 16-bit word that
	// completes a sum S to 0xffff is ^S, the checksum itself.
	h := Header(append(bytes.Clone(knownPackets(t)["udp"]), 0, 0, 0))
	h.SetPayloadLength(uint16(len(h.Payload())))
	u := UDP(h.Payload())
	u.SetLength(uint16(len(u)))
	c := u.CalculateChecksum(h.SrcBytes(), h.DstBytes())
	u[len(u)-2], u[len(u)-1] = byte(c>>8), byte(c)
	if got := u.CalculateChecksum(h.SrcBytes(), h.DstBytes()); got != 0xffff {
		t.Fatalf("computed %#04x, want 0xffff for a zero sum", got)
	}
	u.SetChecksum(0xffff)
	if !u.ChecksumValid(h.SrcBytes(), h.DstBytes()) {
		t.Error("0xffff (a computed zero) not valid")
	}
	u.SetChecksum(0)
	if u.ChecksumValid(h.SrcBytes(), h.DstBytes()) {
		t.Error("zero checksum accepted in IPv6")
	}
}

func TestViewsDoNotAllocate(t *testing.T) {
	pkts := knownPackets(t)
	e, d := pkts["echo"], pkts["udp"]
	m, u := ICMPv6(e.Payload()), UDP(d.Payload())
	if n := testing.AllocsPerRun(100, func() {
		m.SetChecksum(m.CalculateChecksum(e.SrcBytes(), e.DstBytes()))
		_ = m.ChecksumValid(e.SrcBytes(), e.DstBytes())
		u.SetChecksum(u.CalculateChecksum(d.SrcBytes(), d.DstBytes()))
		_ = u.ChecksumValid(d.SrcBytes(), d.DstBytes())
		_, _, _ = m.Type(), m.Code(), m.Payload()
		_, _, _ = u.SourcePort(), u.DestinationPort(), u.Payload()
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

// fuzzAddrs splits fuzz input into two 16-octet addresses and a message.
func fuzzAddrs(b []byte) (src, dst, msg []byte, ok bool) {
	if len(b) < 32 {
		return nil, nil, nil, false
	}
	return b[:16], b[16:32], b[32:], true
}

// FuzzICMPv6: any input either fails IsValid or reads without panicking;
// re-encoding what the accessors read gives the header back; a message
// given the checksum CalculateChecksum computes is ChecksumValid.
func FuzzICMPv6(f *testing.F) {
	for _, name := range []string{"echo", "packet-too-big"} {
		h := knownPackets(f)[name]
		f.Add(append(append(bytes.Clone(h.SrcBytes()), h.DstBytes()...), h.Payload()...))
	}
	f.Add(make([]byte, 39))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, dst, msg, ok := fuzzAddrs(b)
		if !ok {
			return
		}
		m := ICMPv6(msg)
		if len(m) > 0 {
			_ = m.IsError()
		}
		if !m.IsValid() {
			return
		}
		out := make(ICMPv6, len(m))
		out.Encode(&ICMPv6Fields{Type: m.Type(), Code: m.Code(), TypeSpecific: m.TypeSpecific()})
		copy(out.Payload(), m.Payload())
		out.SetChecksum(m.Checksum())
		if !bytes.Equal(out, m) {
			t.Fatalf("re-encoded % x, want % x", []byte(out), []byte(m))
		}
		_, _, _, _ = m.MTU(), m.Pointer(), m.Ident(), m.Sequence()
		out.SetChecksum(out.CalculateChecksum(src, dst))
		if !out.ChecksumValid(src, dst) {
			t.Fatalf("computed checksum %#04x does not verify", out.Checksum())
		}
	})
}

// FuzzUDP: the same for the UDP view (a computed checksum always verifies,
// never zero).
func FuzzUDP(f *testing.F) {
	h := knownPackets(f)["udp"]
	f.Add(append(append(bytes.Clone(h.SrcBytes()), h.DstBytes()...), h.Payload()...))
	f.Add(make([]byte, 39))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, dst, msg, ok := fuzzAddrs(b)
		if !ok {
			return
		}
		u := UDP(msg)
		if !u.IsValid() {
			return
		}
		out := make(UDP, len(u))
		out.Encode(&UDPFields{SrcPort: u.SourcePort(), DstPort: u.DestinationPort(), Length: u.Length(), Checksum: u.Checksum()})
		copy(out.Payload(), u.Payload())
		if !bytes.Equal(out, u) {
			t.Fatalf("re-encoded % x, want % x", []byte(out), []byte(u))
		}
		c := out.CalculateChecksum(src, dst)
		out.SetChecksum(c)
		if c == 0 || !out.ChecksumValid(src, dst) {
			t.Fatalf("computed checksum %#04x does not verify", c)
		}
	})
}
