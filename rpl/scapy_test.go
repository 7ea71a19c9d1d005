package rpl

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// scapyRPL builds, with Scapy's scapy.contrib.rpl, the same messages as
// buildDIO, buildDAO, the DAO-ACK and the DIS below, inside IPv6 (Scapy
// computes the checksum), and prints "name hex" per packet. The values are
// those of the Go builders; a change to one must be made to the other.
const scapyRPL = `
from scapy.all import IPv6, Raw, raw
from scapy.contrib.rpl import *

def pkt(src, dst, code, base, opts):
    return raw(IPv6(src=src, dst=dst, hlim=64)/ICMPv6RPL(code=code)/base/Raw(b"".join(raw(o) for o in opts)))

out = {}
out["DIO"] = pkt("fe80::1", "ff02::1a", 1,
    RPLDIO(RPLInstanceID=30, ver=240, rank=256, G=1, mop=1, prf=5, dtsn=7, dodagid="2001:db8::1"),
    [RPLOptDODAGConfig(flags=3, A=0, PCS=3, DIOIntDoubl=20, DIOIntMin=3, DIORedun=10, MaxRankIncrease=2048,
        MinRankIncrease=256, OCP=1, DefLifetime=30, LifetimeUnit=60),
     RPLOptPIO(plen=64, L=0, A=1, R=1, validlifetime=86400, preflifetime=14400, prefix="2001:db8::1"),
     RPLOptRIO(plen=48, prf=1, rtlifetime=3600, prefix="2001:db8:5::"),
     Raw(bytes([2, 6, 7, 0, 0, 2, 0, 128])), RPLOptPad1(), RPLOptPadN(optdata=b"\0\0\0")])
out["DAO"] = pkt("2001:db8::42", "2001:db8::1", 2,
    RPLDAO(RPLInstanceID=30, K=1, D=1, daoseq=241, dodagid="2001:db8::1"),
    [RPLOptTgt(plen=128, prefix="2001:db8::42"), RPLOptTgtDesc(descriptor=0xdeadbeef),
     RPLOptTgt(plen=56, prefix="2001:db8:7::"),
     RPLOptTIO(E=1, pathcontrol=0x80, pathseq=9, pathlifetime=5, parentaddr="2001:db8::17")])
out["DAO no D"] = pkt("fe80::2", "fe80::1", 2,
    RPLDAO(RPLInstanceID=30, K=1, D=0, daoseq=241),
    [RPLOptTgt(plen=128, prefix="2001:db8::42"), RPLOptTgtDesc(descriptor=0xdeadbeef),
     RPLOptTgt(plen=56, prefix="2001:db8:7::"),
     RPLOptTIO(E=0, pathcontrol=0x80, pathseq=9, pathlifetime=5)])
out["DAO-ACK"] = pkt("fe80::1", "fe80::2", 3,
    RPLDAOACK(RPLInstanceID=30, D=1, daoseq=241, status=134, dodagid="2001:db8::1"), [])
out["DIS"] = pkt("fe80::2", "ff02::1a", 0, RPLDIS(),
    [RPLOptSolInfo(RPLInstanceID=30, V=1, I=0, D=1, dodagid="2001:db8::1", ver=240), RPLOptPadN(optdata=b"\0")])
for k, v in out.items():
    print(k.replace(" ", "_"), v.hex())
`

// TestScapy compares our bytes with Scapy's (scapy.contrib.rpl, Debian
// 2.5.0) for the same messages, IPv6 header and ICMPv6 checksum included.
// The two differ, both within RFC 6550 §6.7.5/§6.7.7, on the prefix
// field of Target and Route Information options for prefixes of 64 bits
// or less: Scapy always writes 16 octets, we write 8 (see prefixFieldLen);
// the test compares those options by their decoded values, and checks
// that Scapy's checksum verifies with ours.
func TestScapy(t *testing.T) {
	py := oracle.ScapyPython(t)
	out, err := exec.Command(py, "-c", scapyRPL).CombinedOutput()
	if err != nil {
		t.Fatalf("scapy: %v\n%s", err, out)
	}
	got := map[string][]byte{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, h, ok := strings.Cut(line, " ")
		if !ok {
			continue // Scapy's warnings
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("scapy line %q: %v", line, err)
		}
		got[name] = b
	}
	ll1, ll2 := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
	dis := must(AppendSolicitedInfo(AppendDIS(nil), 30, SolicitedFlagV|SolicitedFlagD, testDODAGID, 240))
	want := map[string][]byte{
		"DIO":      ipv6Packet(ll1, AllRPLNodes, ip6.ProtoICMPv6, buildDIO(t)),
		"DAO":      ipv6Packet(netip.MustParseAddr("2001:db8::42"), testDODAGID, ip6.ProtoICMPv6, buildDAO(t, true)),
		"DAO_no_D": ipv6Packet(ll2, ll1, ip6.ProtoICMPv6, buildDAO(t, false)),
		"DAO-ACK":  ipv6Packet(ll1, ll2, ip6.ProtoICMPv6, must(AppendDAOACK(nil, &DAOACKFields{Instance: 30, Sequence: 241, Status: 134, DODAGID: testDODAGID}))),
		"DIS":      ipv6Packet(ll2, AllRPLNodes, ip6.ProtoICMPv6, AppendPad(dis, 3)),
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: Scapy printed nothing (output %q)", name, out)
			continue
		}
		if bytes.Equal(g, w) {
			continue
		}
		// Compare option by option, the short-prefix options by their
		// decoded values.
		gm, err := Parse(g[ip6.HeaderLen:])
		if err != nil {
			t.Errorf("%s: our parser refuses Scapy's %x: %v", name, g, err)
			continue
		}
		hdr := ip6.Header(g)
		if !gm.ChecksumValid(hdr.Src(), hdr.Dst()) {
			t.Errorf("%s: Scapy's checksum %04x does not verify", name, gm.Checksum())
		}
		wm := Message(w[ip6.HeaderLen:])
		if n := icmpHdr + wm.baseLen(); !bytes.Equal(gm[4:n], wm[4:n]) {
			t.Errorf("%s: base\nscapy %x\nours  %x", name, gm[4:n], wm[4:n])
		}
		gi, wi := gm.Options().Iter(), wm.Options().Iter()
		for {
			go1, gdone, _ := gi.Next()
			wo, wdone, _ := wi.Next()
			if gdone || wdone {
				if gdone != wdone {
					t.Errorf("%s: option counts differ", name)
				}
				break
			}
			switch {
			case bytes.Equal(go1, wo):
			case wo.Type() == OptTarget && go1.Type() == OptTarget && Target(go1).Prefix() == Target(wo).Prefix():
				t.Logf("%s: Target %s: Scapy %x, ours %x (prefix field length only)", name, Target(wo).Prefix(), []byte(go1), []byte(wo))
			case wo.Type() == OptRouteInfo && go1.Type() == OptRouteInfo && RouteInfo(go1).Prefix() == RouteInfo(wo).Prefix() &&
				RouteInfo(go1).Lifetime() == RouteInfo(wo).Lifetime() && RouteInfo(go1).Preference() == RouteInfo(wo).Preference():
				t.Logf("%s: Route Information %s: Scapy %x, ours %x (prefix field length only)", name, RouteInfo(wo).Prefix(), []byte(go1), []byte(wo))
			default:
				t.Errorf("%s: %s option\nscapy %x\nours  %x", name, wo.Type(), []byte(go1), []byte(wo))
			}
		}
	}
}
