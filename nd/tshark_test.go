package nd

// Cross-check with Wireshark's ICMPv6 dissector (tshark), an
// implementation we did not write: the messages the router builds are
// written as raw IPv6 (link type 229) and tshark's fields are compared,
// one by one, with what was encoded.
//
// Disagreements found, and their outcome:
//   - tshark 4.0 does not know RFC 8505. It shows an EARO as an RFC 6775
//     ARO: Opaque, the I/R/T flags and the TID fall in octets it treats as
//     reserved and does not show, and it reads the ROVR as an "EUI-64" —
//     for a 64-bit ROVR the same octets. The test compares the fields
//     tshark has (type, length, status, lifetime, EUI-64) and checks the
//     RFC 8505 octets (Opaque, flags, TID) in the packet itself, against
//     RFC 8505 §4.1 Figure 1. tshark is not wrong, only older.
//   - EDAR/EDAC: tshark 4.0 shows the TID octet as "Reserved" (the RFC 6775
//     name) and reads the code as a plain number: the TID is compared
//     through icmpv6.6lowpannd.da.rsv, and for the 128-bit ROVR of code 2
//     tshark's fixed offsets put the registered address 8 octets early, so
//     that packet is checked for type, code and checksum only and its
//     fields in the bytes (RFC 8505 §4.2 Figure 2).
//   - The 6CIO: tshark 4.0 names only the G flag; the RFC 8505 §4.3 flags
//     (D, L, B, P, E) are in what it calls unassigned1 (mask 0xfffe, shown
//     shifted right by one), compared as that number.
//   - Everything else — RA header, SLLAO/TLLAO, PIO, MTU, RIO, 6CO of
//     Length 2 and 3, ABRO, the ARO fields, DAR/DAC, every checksum —
//     agrees.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

var tsharkFields = []string{
	"icmpv6.type", "icmpv6.code", "icmpv6.checksum.status", "ipv6.hlim", "ipv6.src", "ipv6.dst",
	"icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.flag.m", "icmpv6.nd.ra.flag.o", "icmpv6.nd.ra.flag.prf",
	"icmpv6.nd.ra.router_lifetime", "icmpv6.nd.ra.reachable_time", "icmpv6.nd.ra.retrans_timer",
	"icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address",
	"icmpv6.nd.na.flag.r", "icmpv6.nd.na.flag.s", "icmpv6.nd.na.flag.o",
	"icmpv6.opt.type", "icmpv6.opt.length",
	"icmpv6.opt.src_linkaddr_eui64", "icmpv6.opt.target_linkaddr_eui64", "icmpv6.opt.src_linkaddr", "icmpv6.opt.target_linkaddr",
	"icmpv6.opt.prefix.length", "icmpv6.opt.prefix.flag.l", "icmpv6.opt.prefix.flag.a",
	"icmpv6.opt.prefix.valid_lifetime", "icmpv6.opt.prefix.preferred_lifetime", "icmpv6.opt.prefix",
	"icmpv6.opt.mtu", "icmpv6.opt.route_info.flag.route_preference", "icmpv6.opt.route_lifetime",
	"icmpv6.opt.6co.context_length", "icmpv6.opt.6co.flag.c", "icmpv6.opt.6co.flag.cid",
	"icmpv6.opt.6co.valid_lifetime", "icmpv6.opt.6co.context_prefix",
	"icmpv6.opt.abro.version_low", "icmpv6.opt.abro.version_high", "icmpv6.opt.abro.valid_lifetime", "icmpv6.opt.abro.6lbr_address",
	"icmpv6.opt.6cio.flag_g", "icmpv6.opt.6cio.unassigned1",
	"icmpv6.opt.aro.status", "icmpv6.opt.aro.registration_lifetime", "icmpv6.opt.aro.eui64",
	"icmpv6.6lowpannd.da.status", "icmpv6.6lowpannd.da.rsv", "icmpv6.6lowpannd.da.lifetime",
	"icmpv6.6lowpannd.da.eui64", "icmpv6.6lowpannd.da.reg_addr",
}

// tsharkCase is one packet and the fields tshark must show for it.
type tsharkCase struct {
	name string
	pkt  []byte
	want map[string]string
	// check runs on the packet for what tshark cannot see.
	check func(t *testing.T, pkt []byte)
}

func tsharkCases(t *testing.T) []tsharkCase {
	r := newTestRouter(t, func(c *Config) {
		c.MTU = 1280
		c.Contexts = []ContextConfig{{ID: 0, Prefix: prefix1}, {ID: 5, Prefix: netip.MustParsePrefix("2001:db8:0:1:2::/80")}}
	})
	var cases []tsharkCase

	// RA from the router, answering an RS.
	rs := mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1})
	_, rep := oneReply(t, handle(t, r, rs, Incoming{Link: 1, LinkSrc: ll1, Local: ll2}))
	v := r.ABROVersion()
	cases = append(cases, tsharkCase{name: "RA", pkt: rep.Packet, want: map[string]string{
		"icmpv6.type": "134", "icmpv6.code": "0", "icmpv6.checksum.status": "1", "ipv6.hlim": "255",
		"ipv6.src": rtrLL.String(), "ipv6.dst": node1LL.String(),
		"icmpv6.nd.ra.cur_hop_limit": "64", "icmpv6.nd.ra.flag.m": "0", "icmpv6.nd.ra.flag.o": "0", "icmpv6.nd.ra.flag.prf": "1",
		"icmpv6.nd.ra.router_lifetime": "1800", "icmpv6.nd.ra.reachable_time": "0", "icmpv6.nd.ra.retrans_timer": "0",
		"icmpv6.opt.type":                  "1,3,5,34,34,35,36",
		"icmpv6.opt.length":                "2,4,1,2,3,3,1",
		"icmpv6.opt.src_linkaddr_eui64":    "0a:0b:0c:0d:0e:0f:10:11",
		"icmpv6.opt.prefix.length":         "64",
		"icmpv6.opt.prefix.flag.l":         "0",
		"icmpv6.opt.prefix.flag.a":         "1",
		"icmpv6.opt.prefix.valid_lifetime": "86400", "icmpv6.opt.prefix.preferred_lifetime": "14400",
		"icmpv6.opt.prefix":              "2001:db8:1::",
		"icmpv6.opt.mtu":                 "1280",
		"icmpv6.opt.6co.context_length":  "64,80",
		"icmpv6.opt.6co.flag.c":          "1,1",
		"icmpv6.opt.6co.flag.cid":        "0,5",
		"icmpv6.opt.6co.valid_lifetime":  "60,60",
		"icmpv6.opt.6co.context_prefix":  "2001:db8:1::,2001:db8:0:1:2::",
		"icmpv6.opt.abro.version_low":    fmt.Sprint(v & 0xffff),
		"icmpv6.opt.abro.version_high":   fmt.Sprint(v >> 16),
		"icmpv6.opt.abro.valid_lifetime": "10000",
		"icmpv6.opt.abro.6lbr_address":   rtrGlob.String(),
		// tshark's unassigned1 is the 16 bits under mask 0xfffe, shown
		// shifted down: our flags without G, >> 1, in hex.
		"icmpv6.opt.6cio.flag_g":      "0x0000",
		"icmpv6.opt.6cio.unassigned1": fmt.Sprintf("0x%04x", (CapB|CapE|CapD|CapL)>>1),
	}})

	// An RA with a short-address SLLAO and RIOs (the upstream RA of the
	// Ethernet side uses the RIO).
	ra := mustAppend(t, rtrLL, mustAddr("ff02::1"), 255, RAFields{CurHopLimit: 64, Preference: PreferenceLow, RouterLifetime: 0, ReachableTime: 5, RetransTimer: 6, Managed: true},
		SourceLinkAddr{Addr: lowpan.ShortLinkAddr(0xbeef)},
		RouteInfoFields{Prefix: prefix1, Preference: PreferenceHigh, Lifetime: 3600},
		RouteInfoFields{Prefix: netip.MustParsePrefix("2001:db8:0:1:2::/80"), Lifetime: 0xffffffff})
	cases = append(cases, tsharkCase{name: "RA RIO", pkt: ra, want: map[string]string{
		"icmpv6.type": "134", "icmpv6.checksum.status": "1", "icmpv6.nd.ra.flag.prf": "3", "icmpv6.nd.ra.flag.m": "1",
		"icmpv6.nd.ra.reachable_time": "5", "icmpv6.nd.ra.retrans_timer": "6",
		"icmpv6.opt.type": "1,24,24", "icmpv6.opt.length": "1,2,3",
		"icmpv6.opt.src_linkaddr":                     "be:ef:00:00:00:00",
		"icmpv6.opt.route_info.flag.route_preference": "1,0",
		"icmpv6.opt.route_lifetime":                   "3600,4294967295",
		"icmpv6.opt.prefix.length":                    "64,80",
		"icmpv6.opt.prefix":                           "2001:db8:1::,2001:db8:0:1:2::",
	}})

	// NS with EARO and the NA the router answers.
	ns := nsEARO(t, node1LL, node1G, eui1[:], 42, 30, ll1)
	_, naRep := oneReply(t, handle(t, r, ns, Incoming{Link: 1, LinkSrc: ll1, Local: ll2}))
	earoCheck := func(status Status) func(t *testing.T, pkt []byte) {
		return func(t *testing.T, pkt []byte) {
			// RFC 8505 §4.1: Opaque 0, flags 0b0000_0011 (R, T), TID 42.
			o := pkt[IPv6HeaderLen+nsOptions:]
			if o[0] != 33 || o[2] != byte(status) || o[3] != 0 || o[4] != 0x03 || o[5] != 42 {
				t.Errorf("EARO octets %x", o[:8])
			}
		}
	}
	cases = append(cases, tsharkCase{name: "NS EARO", pkt: ns, check: earoCheck(0), want: map[string]string{
		"icmpv6.type": "135", "icmpv6.checksum.status": "1", "icmpv6.nd.ns.target_address": node1G.String(),
		"icmpv6.opt.type": "33,1", "icmpv6.opt.length": "2,2",
		"icmpv6.opt.aro.status": "0", "icmpv6.opt.aro.registration_lifetime": "30",
		"icmpv6.opt.aro.eui64": "02:12:34:56:78:ab:cd:ef", "icmpv6.opt.src_linkaddr_eui64": "02:12:34:56:78:ab:cd:ef",
	}})
	cases = append(cases, tsharkCase{name: "NA EARO", pkt: naRep.Packet, check: earoCheck(0), want: map[string]string{
		"icmpv6.type": "136", "icmpv6.checksum.status": "1", "ipv6.dst": node1LL.String(),
		"icmpv6.nd.na.target_address": node1G.String(), "icmpv6.nd.na.flag.r": "1", "icmpv6.nd.na.flag.s": "1", "icmpv6.nd.na.flag.o": "0",
		"icmpv6.opt.type": "33", "icmpv6.opt.aro.status": "0", "icmpv6.opt.aro.registration_lifetime": "30",
		"icmpv6.opt.aro.eui64": "02:12:34:56:78:ab:cd:ef",
	}})
	// A second node with the same address: DUPLICATE.
	dup := nsEARO(t, mustAddr("fe80::bbbb"), node1G, euiB[:], 42, 30, llB)
	_, rep = oneReply(t, handle(t, r, dup, Incoming{Link: 1, LinkSrc: llB, Local: ll2}))
	cases = append(cases, tsharkCase{name: "NA EARO duplicate", pkt: rep.Packet, check: earoCheck(StatusDuplicate), want: map[string]string{
		"icmpv6.type": "136", "icmpv6.checksum.status": "1", "icmpv6.opt.aro.status": "1",
		"icmpv6.opt.aro.eui64": "02:00:00:00:00:00:be:ef",
	}})
	// A plain NS for the router: NA with TLLAO.
	_, rep = oneReply(t, handle(t, r, mustAppend(t, node1LL, rtrLL, 255, NSFields{Target: rtrLL}, SourceLinkAddr{Addr: ll1}), Incoming{Link: 1, LinkSrc: ll1, Local: ll2}))
	cases = append(cases, tsharkCase{name: "NA TLLAO", pkt: rep.Packet, want: map[string]string{
		"icmpv6.type": "136", "icmpv6.checksum.status": "1", "icmpv6.nd.na.flag.o": "1",
		"icmpv6.opt.type": "2", "icmpv6.opt.target_linkaddr_eui64": "0a:0b:0c:0d:0e:0f:10:11",
	}})

	// RFC 6775 ARO from a RIOT-like node, and its NA.
	aro := mustAppend(t, node1G, rtrLL, 255, NSFields{Target: rtrLL}, AROFields{Lifetime: 60, ROVR: euiB[:]}, SourceLinkAddr{Addr: llB})
	_, rep = oneReply(t, handle(t, r, aro, Incoming{Link: 1, LinkSrc: llB, Local: ll2}))
	cases = append(cases, tsharkCase{name: "NA for ARO", pkt: rep.Packet, want: map[string]string{
		"icmpv6.type": "136", "icmpv6.checksum.status": "1", "ipv6.dst": node1G.String(),
		"icmpv6.opt.aro.status": "1", "icmpv6.opt.aro.registration_lifetime": "60", "icmpv6.opt.aro.eui64": "02:00:00:00:00:00:be:ef",
	}})

	// DAR/DAC of RFC 6775, from a 6LR and the router's answer.
	reg2 := mustAddr("2001:db8:1::4242")
	dar := mustAppend(t, sixLRA, rtrGlob, MultihopHopLimit, DAFields{Lifetime: 20, ROVR: euiB[:], Registered: reg2})
	_, rep = oneReply(t, handle(t, r, dar, Incoming{Link: 1, LinkSrc: llA, Local: ll2}))
	daWant := func(typ, code, hl, status, rsv string) map[string]string {
		return map[string]string{
			"icmpv6.type": typ, "icmpv6.code": code, "icmpv6.checksum.status": "1", "ipv6.hlim": hl,
			"icmpv6.6lowpannd.da.status": status, "icmpv6.6lowpannd.da.rsv": rsv, "icmpv6.6lowpannd.da.lifetime": "20",
			"icmpv6.6lowpannd.da.eui64": "02:00:00:00:00:00:be:ef", "icmpv6.6lowpannd.da.reg_addr": reg2.String(),
		}
	}
	cases = append(cases, tsharkCase{name: "DAR", pkt: dar, want: daWant("157", "0", "64", "0", "0")})
	cases = append(cases, tsharkCase{name: "DAC", pkt: rep.Packet, want: daWant("158", "0", "64", "0", "0")})
	// EDAR/EDAC (code 1: 64-bit ROVR, TID in the octet tshark calls
	// Reserved).
	edar1 := mustAppend(t, sixLRA, rtrGlob, MultihopHopLimit, DAFields{Extended: true, TID: 77, Lifetime: 20, ROVR: euiB[:], Registered: reg2})
	_, rep = oneReply(t, handle(t, r, edar1, Incoming{Link: 1, LinkSrc: llA, Local: ll2}))
	cases = append(cases, tsharkCase{name: "EDAR", pkt: edar1, want: daWant("157", "1", "64", "0", "77")})
	cases = append(cases, tsharkCase{name: "EDAC", pkt: rep.Packet, want: daWant("158", "1", "64", "0", "77")})
	// EDAC with status DUPLICATE (another ROVR) and one with a 128-bit ROVR.
	edarDup := mustAppend(t, sixLRB, rtrGlob, MultihopHopLimit, DAFields{Extended: true, TID: 78, Lifetime: 20, ROVR: eui1[:], Registered: reg2})
	_, rep = oneReply(t, handle(t, r, edarDup, Incoming{Link: 1, LinkSrc: llA, Local: ll2}))
	w := daWant("158", "1", "64", "1", "78")
	w["icmpv6.6lowpannd.da.eui64"] = "02:12:34:56:78:ab:cd:ef"
	cases = append(cases, tsharkCase{name: "EDAC duplicate", pkt: rep.Packet, want: w})
	rovr128 := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	edar2 := mustAppend(t, sixLRA, rtrGlob, MultihopHopLimit, DAFields{Extended: true, TID: 79, Lifetime: 20, ROVR: rovr128, Registered: mustAddr("2001:db8:1::4343")})
	_, rep = oneReply(t, handle(t, r, edar2, Incoming{Link: 1, LinkSrc: llA, Local: ll2}))
	check128 := func(t *testing.T, pkt []byte) {
		// RFC 8505 §4.2 Figure 2: status, TID, lifetime, 16 octets of
		// ROVR, then the registered address.
		d := pkt[IPv6HeaderLen:]
		if d[1] != 2 || d[4] != 0 || d[5] != 79 || binary.BigEndian.Uint16(d[6:]) != 20 ||
			!bytes.Equal(d[8:24], rovr128) || !bytes.Equal(d[24:40], mustAddr("2001:db8:1::4343").AsSlice()) || len(d) != 40 {
			t.Errorf("EDAC code 2 octets %x", d)
		}
	}
	cases = append(cases, tsharkCase{name: "EDAC 128-bit ROVR", pkt: rep.Packet, check: check128, want: map[string]string{
		"icmpv6.type": "158", "icmpv6.code": "2", "icmpv6.checksum.status": "1",
	}})
	return cases
}

func TestTsharkDissection(t *testing.T) {
	oracle.Tshark(t)
	cases := tsharkCases(t)
	pkts := make([][]byte, len(cases))
	for i, c := range cases {
		pkts[i] = c.pkt
	}
	rows := oracle.WritePcap(t, oracle.LinkTypeIPv6, pkts...).FieldMaps(t, tsharkFields...)
	if len(rows) != len(cases) {
		t.Fatalf("tshark printed %d rows for %d packets", len(rows), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rows[i]
			for fl, want := range c.want {
				if got[fl] != want {
					t.Errorf("%s: tshark %q, encoded %q", fl, got[fl], want)
				}
			}
			if c.check != nil {
				c.check(t, c.pkt)
			}
			// And our own parser agrees that it is valid.
			var m Message
			if err := Parse(c.pkt, &m); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}
