package nd

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// refix recomputes the ICMPv6 checksum of an IPv6 packet after a test
// changed it, so that the check under test is the one that fails.
func refix(p []byte) []byte {
	icmp := p[IPv6HeaderLen:]
	icmp[2], icmp[3] = 0, 0
	c := checksum.Finish(checksum.Sum(icmp, checksum.PseudoHeaderIPv6(p[8:24], p[24:40], 58, uint32(len(icmp)))))
	binary.BigEndian.PutUint16(icmp[2:], c)
	return p
}

func TestParseRejects(t *testing.T) {
	ns := func() []byte {
		return mustAppend(t, node1LL, rtrLL, 255, NSFields{Target: node1G},
			AROFields{T: true, TID: 1, Lifetime: 5, ROVR: eui1[:]}, SourceLinkAddr{Addr: ll1})
	}
	ra := func() []byte {
		return mustAppend(t, rtrLL, node1LL, 255, RAFields{}, SourceLinkAddr{Addr: ll1},
			PrefixInfoFields{Prefix: prefix1}, ContextFields{Prefix: prefix1}, ABROFields{Addr: rtrGlob})
	}
	dar := func() []byte {
		return mustAppend(t, sixLRA, rtrGlob, 60, DAFields{Extended: true, ROVR: eui1[:], Registered: node1G})
	}
	optOff := IPv6HeaderLen + nsOptions // first option of the NS (the EARO)
	raOpt := IPv6HeaderLen + raOptions
	for _, c := range []struct {
		name string
		pkt  func() []byte
		want error
	}{
		{"short IPv6", func() []byte { return ns()[:39] }, ErrTruncated},
		{"IPv4", func() []byte { p := ns(); p[0] = 0x45; return p }, ErrMalformed},
		{"payload length past the end", func() []byte { return ns()[:60] }, ErrTruncated},
		{"UDP", func() []byte { p := ns(); p[6] = 17; return p }, ErrNotND},
		{"echo request", func() []byte { p := ns(); p[40] = 128; return refix(p) }, ErrNotND},
		{"checksum", func() []byte { p := ns(); p[len(p)-1] ^= 1; return p }, ErrChecksum},
		{"hop limit", func() []byte { p := ns(); p[7] = 254; return refix(p) }, ErrHopLimit},
		{"code", func() []byte { p := ns(); p[41] = 1; return refix(p) }, ErrCode},
		{"DAR code suffix 5", func() []byte { p := dar(); p[41] = 5; return refix(p) }, ErrCode},
		{"NS too short", func() []byte {
			p := mustAppend(t, node1LL, rtrLL, 255, RSFields{})
			p[40] = byte(TypeNeighborSolicit)
			return refix(p)
		}, ErrTooShort},
		{"DAR with 256-bit code, 64-bit body", func() []byte { p := dar(); p[41] = 4; return refix(p) }, ErrTooShort},
		{"option length 0", func() []byte { p := ns(); p[optOff+1] = 0; return refix(p) }, ErrOption},
		{"option past the end", func() []byte { p := ns(); p[optOff+1] = 9; return refix(p) }, ErrOption},
		{"PIO length 3", func() []byte {
			p := mustAppend(t, rtrLL, node1LL, 255, RAFields{}, PrefixInfoFields{Prefix: prefix1})
			p[raOpt+1] = 3
			return refix(p)
		}, ErrOption},
		{"6CO /80 in length 2", func() []byte {
			p := mustAppend(t, rtrLL, node1LL, 255, RAFields{}, ContextFields{Prefix: prefix1})
			p[raOpt+2] = 80
			return refix(p)
		}, ErrOption},
		{"ABRO length 2", func() []byte {
			p := mustAppend(t, rtrLL, node1LL, 255, RAFields{}, ABROFields{Addr: rtrGlob}, MTUFields{MTU: 1280})
			p[raOpt+1] = 2
			return refix(p)
		}, ErrOption},
		{"RA from a global address", func() []byte {
			p := ra()
			copy(p[8:24], rtrGlob.AsSlice())
			return refix(p)
		}, ErrAddress},
		{"multicast source", func() []byte { p := ns(); p[8] = 0xff; return refix(p) }, ErrAddress},
		{"multicast target", func() []byte { p := ns(); p[48] = 0xff; return refix(p) }, ErrAddress},
		{"NS from :: to a unicast address", func() []byte {
			return mustAppend(t, netip.IPv6Unspecified(), rtrLL, 255, NSFields{Target: node1G})
		}, ErrAddress},
		{"NS from :: with SLLAO", func() []byte {
			return mustAppend(t, netip.IPv6Unspecified(), mustAddr("ff02::1:ffab:cdef"), 255, NSFields{Target: node1G}, SourceLinkAddr{Addr: ll1})
		}, ErrAddress},
		{"RS from :: with SLLAO", func() []byte {
			return mustAppend(t, netip.IPv6Unspecified(), mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1})
		}, ErrAddress},
		{"solicited NA to multicast", func() []byte {
			return mustAppend(t, rtrLL, mustAddr("ff02::1"), 255, NAFields{Solicited: true, Target: rtrLL})
		}, ErrAddress},
		{"DAR for a multicast address", func() []byte {
			return mustAppend(t, sixLRA, rtrGlob, 60, DAFields{ROVR: eui1[:], Registered: mustAddr("ff05::1")})
		}, ErrAddress},
		{"DAR from ::", func() []byte {
			return mustAppend(t, netip.IPv6Unspecified(), rtrGlob, 60, DAFields{ROVR: eui1[:], Registered: node1G})
		}, ErrAddress},
		{"EARO status in an NS", func() []byte { p := ns(); p[optOff+2] = 1; return refix(p) }, ErrARO},
		{"ARO without SLLAO", func() []byte {
			return mustAppend(t, node1G, rtrLL, 255, NSFields{Target: rtrLL}, AROFields{Lifetime: 5, ROVR: eui1[:]})
		}, ErrARO},
		{"RFC 6775 ARO of length 3", func() []byte {
			return mustAppend(t, node1G, rtrLL, 255, NSFields{Target: rtrLL}, AROFields{Lifetime: 5, ROVR: make([]byte, 16)}, SourceLinkAddr{Addr: ll1})
		}, ErrARO},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m Message
			err := Parse(c.pkt(), &m)
			if !errors.Is(err, c.want) {
				t.Fatalf("Parse = %v, want %v", err, c.want)
			}
			if DropReason(err) == "other" {
				t.Errorf("DropReason(%v) = other", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		pkt  []byte
	}{
		// Options a message does not use are not checked beyond framing
		// (RFC 4861 §6.1.1): a PIO of bad length in an RS is ignored.
		{"RS with a foreign option", func() []byte {
			p := mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, PrefixInfoFields{Prefix: prefix1})
			p[IPv6HeaderLen+rsOptions+2] = 200
			return refix(p)
		}()},
		// DAR/DAC have no hop-limit check (RFC 6775 §8.2.1) and the code
		// prefix is ignored (RFC 8505 §4.2).
		{"DAR code prefix", func() []byte {
			p := mustAppend(t, sixLRA, rtrGlob, 3, DAFields{ROVR: eui1[:], Registered: node1G})
			p[41] = 0xf0
			return refix(p)
		}()},
		{"trailing link padding", append(mustAppend(t, node1LL, rtrLL, 255, NSFields{Target: rtrLL}), 0, 0, 0)},
		{"NS from :: for DAD", mustAppend(t, netip.IPv6Unspecified(), mustAddr("ff02::1:ffab:cdef"), 255, NSFields{Target: node1G})},
		{"NA with EARO", mustAppend(t, rtrLL, node1LL, 255, NAFields{Solicited: true, Target: node1G}, AROFields{Status: StatusMoved, T: true, ROVR: make([]byte, 32)})},
		{"RA with RIO", mustAppend(t, rtrLL, node1LL, 255, RAFields{}, RouteInfoFields{Prefix: prefix1, Preference: PreferenceLow, Lifetime: 100},
			RouteInfoFields{Prefix: netip.MustParsePrefix("::/0")}, RouteInfoFields{Prefix: netip.MustParsePrefix("2001:db8::1:0:0/96")})},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m Message
			if err := Parse(c.pkt, &m); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Every option and message written by the encoders reads back the same.
func TestOptionRoundTrip(t *testing.T) {
	rovr256 := make([]byte, 32)
	for i := range rovr256 {
		rovr256[i] = byte(i)
	}
	p96 := netip.MustParsePrefix("2001:db8:0:1:2::/80")
	pkt := mustAppend(t, rtrLL, node1LL, 255,
		RAFields{CurHopLimit: 7, Managed: true, Other: true, Preference: PreferenceLow, RouterLifetime: 0xffff, ReachableTime: 1, RetransTimer: 2},
		SourceLinkAddr{Addr: lowpan.ShortLinkAddr(0x1234)},
		MTUFields{MTU: 1280},
		RouteInfoFields{Prefix: p96, Preference: PreferenceHigh, Lifetime: 0xffffffff},
		ContextFields{CID: 15, Prefix: p96, ValidLifetime: 0xffff},
		ABROFields{Version: 0xdeadbeef, ValidLifetime: 0, Addr: rtrGlob},
		CapabilityFields{Flags: CapE | CapG},
	)
	m := mustParse(t, pkt)
	ra := m.RA()
	if ra.CurHopLimit() != 7 || !ra.Managed() || !ra.Other() || ra.Preference() != PreferenceLow || ra.RouterLifetime() != 0xffff || ra.ReachableTime() != 1 || ra.RetransTimer() != 2 {
		t.Error("RA header")
	}
	if a, ok := m.SLLAO.Addr(MediumIEEE802154); !ok || a != lowpan.ShortLinkAddr(0x1234) || len(m.SLLAO) != 8 {
		t.Errorf("short SLLAO %v", a)
	}
	if _, ok := m.SLLAO.Addr(MediumBLE); !ok {
		t.Error("length-1 SLLAO not readable as BLE")
	}
	it := m.Options.Iter()
	n := 0
	for {
		o, done, err := it.Next()
		if err != nil || done {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		n++
		switch o.Type() {
		case OptMTU:
			if MTUOption(o).MTU() != 1280 {
				t.Error("MTU")
			}
		case OptRouteInfo:
			r := RouteInfo(o)
			if r.Prefix() != p96 || r.Preference() != PreferenceHigh || r.RouteLifetime() != 0xffffffff || len(o) != 24 {
				t.Errorf("RIO %v", r.Prefix())
			}
		case Opt6CO:
			c := ContextOption(o)
			if c.Prefix() != p96 || c.CID() != 15 || c.Compress() || c.ValidLifetime() != 0xffff || len(o) != 24 {
				t.Errorf("6CO %v", c.Prefix())
			}
		case OptABRO:
			a := ABRO(o)
			if a.Version() != 0xdeadbeef || a.ValidLifetime() != 0 || a.Addr() != rtrGlob {
				t.Error("ABRO")
			}
		case Opt6CIO:
			if CapabilityOption(o).Flags() != CapE|CapG {
				t.Error("6CIO")
			}
		}
	}
	if n != 6 {
		t.Errorf("%d options", n)
	}

	// EARO with a 256-bit ROVR, I and Opaque.
	pkt = mustAppend(t, node1LL, rtrLL, 255, NSFields{Target: node1G},
		AROFields{Opaque: 0x5a, I: 0, R: false, T: true, TID: 200, Lifetime: 0xabcd, ROVR: rovr256}, SourceLinkAddr{Addr: ll1})
	m = mustParse(t, pkt)
	if a := m.ARO; a.Opaque() != 0x5a || a.R() || !a.T() || a.TID() != 200 || a.Lifetime() != 0xabcd || string(a.ROVR()) != string(rovr256) || len(a) != 40 {
		t.Errorf("EARO %x", []byte(a))
	}
	// EDAC with 192-bit ROVR.
	pkt = mustAppend(t, rtrGlob, sixLRA, 64, DAFields{Confirmation: true, Extended: true, Status: StatusValidationFailed, TID: 130, Lifetime: 9, ROVR: rovr256[:24], Registered: node1G})
	m = mustParse(t, pkt)
	if d := m.DA(); m.Type != TypeDAC || m.Code != 3 || d.TID() != 130 || d.Status() != StatusValidationFailed || string(d.ROVR()) != string(rovr256[:24]) || d.Registered() != node1G {
		t.Errorf("EDAC code %d", m.Code)
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, f := range map[string]func() error{
		"ROVR 9 octets": func() error {
			_, err := AppendIPv6(nil, node1LL, rtrLL, 255, NSFields{Target: node1G}, AROFields{ROVR: make([]byte, 9)})
			return err
		},
		"legacy DAR with 128-bit ROVR": func() error {
			_, err := AppendIPv6(nil, sixLRA, rtrGlob, 64, DAFields{ROVR: make([]byte, 16), Registered: node1G})
			return err
		},
		"IPv4 source": func() error {
			_, err := AppendIPv6(nil, netip.MustParseAddr("10.0.0.1"), rtrLL, 255, RSFields{})
			return err
		},
		"CID 16": func() error {
			_, err := AppendIPv6(nil, rtrLL, node1LL, 255, RAFields{}, ContextFields{CID: 16, Prefix: prefix1})
			return err
		},
		"no prefix": func() error {
			_, err := AppendIPv6(nil, rtrLL, node1LL, 255, RAFields{}, PrefixInfoFields{})
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrEncode) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	pkt := mustAppend(t, node1LL, rtrLL, 255, NSFields{Target: node1G},
		AROFields{T: true, TID: 1, Lifetime: 5, ROVR: eui1[:]}, SourceLinkAddr{Addr: ll1})
	bad := append([]byte(nil), pkt...)
	bad[len(bad)-1] ^= 1
	var m Message
	if n := testing.AllocsPerRun(100, func() { _ = Parse(pkt, &m) }); n != 0 {
		t.Errorf("Parse allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Parse(bad, &m) }); n != 0 {
		t.Errorf("a rejected Parse allocates %v times", n)
	}
}
