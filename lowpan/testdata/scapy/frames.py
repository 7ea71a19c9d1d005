#!/usr/bin/python3
"""Scapy's side of lowpan.TestScapyCrossCheck (lowpan/scapy_test.go).

Scapy (Debian python3-scapy 2.5.0) is a 6LoWPAN implementation we did not
write. Run with /usr/bin/python3.

    frames.py           print one JSON object per line for every case:
                        an IPv6 packet built by Scapy, the 802.15.4 frame
                        (with FCS) Scapy compresses it into, and what Scapy
                        decodes that frame back to.
    frames.py decode    read 802.15.4 frames (hex, with FCS), one a line, on
                        stdin; print per line {"ipv6_hex": ...} with Scapy's
                        decode, or {"ipv6_hex": "", "error": ...}.

Fields of a case:
    name               unique, used as the Go subtest name
    frame_hex          the whole frame with FCS (absent when fragmented)
    fragments_hex      the frames of a fragmented datagram, in order
    ipv6_hex           raw(the IPv6 packet Scapy started from), lengths and
                       checksums computed by Scapy
    scapy_decoded_hex  raw(IPv6(raw(Dot15d4FCS(frame)[IPv6]))), "" when
                       Scapy finds no IPv6 in its own frame
    scapy_bugs         known Scapy bugs (ORACLES.md) this case runs into,
                       predicted here from the encoding chosen; the Go test
                       asserts the exact disagreement each one causes:
        tc_swap           Scapy writes the IPv6 traffic class byte into the
                          inline TF field as is (and reads it back the same
                          way); RFC 6282 section 3.1.1 carries ECN then DSCP.
        esc_0x7f          first IPHC octet 0x7F (TF=11 NH=1 HLIM=11) is taken
                          for the RFC 4944 ESC dispatch: Scapy decodes nothing.
        src_iid_dst_mode  SAM=11: Scapy derives the source IID with the MAC
                          destination's address mode when the modes differ.
    note               free text
"""

import json
import sys

from scapy.compat import raw
from scapy.config import conf
from scapy.layers.dot15d4 import Dot15d4Data, Dot15d4FCS
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest, ICMPv6ND_NS
from scapy.layers.sixlowpan import (
    LoWPAN_IPHC,
    LoWPAN_NHC,
    LoWPAN_NHC_UDP,
    LoWPANFragmentationFirst,
    LoWPANFragmentationSubsequent,
    LoWPANUncompressedIPv6,
)
from scapy.packet import Raw

conf.dot15d4_protocol = "sixlowpan"

PAN = 0xABCD
MAX_PSDU = 127
SHORT, EXT = 2, 3  # 802.15.4 address modes

# MAC addresses; extended ones in canonical order (as printed).
EXT_A = (EXT, 0x0212345678ABCDEF)  # IID 0012:3456:78ab:cdef
EXT_B = (EXT, 0x0A0B0C0D0E0F1011)  # IID 080b:0c0d:0e0f:1011
SHORT_1 = (SHORT, 0x0001)
SHORT_2 = (SHORT, 0x0002)
BCAST = (SHORT, 0xFFFF)

LL_A = "fe80::12:3456:78ab:cdef"
LL_B = "fe80::80b:c0d:e0f:1011"
LL_S1 = "fe80::ff:fe00:1"
LL_S2 = "fe80::ff:fe00:2"

DATA = b"hello-6lowpan"


def udp6(src, dst, sport, dport, data=DATA, hlim=64, tc=0, fl=0):
    return IPv6(src=src, dst=dst, hlim=hlim, tc=tc, fl=fl) / UDP(sport=sport, dport=dport) / Raw(data)


def echo6(src, dst, hlim=64, tc=0, fl=0, data=DATA, seq=1):
    return IPv6(src=src, dst=dst, hlim=hlim, tc=tc, fl=fl) / ICMPv6EchoRequest(id=0x1234, seq=seq, data=data)


def frozen(pkt):
    """The packet re-read from its bytes, so that every length and checksum
    is fixed and the frame is built from exactly what ipv6_hex says."""
    b = raw(pkt)
    p = IPv6(b)
    if raw(p) != b:
        raise SystemExit("Scapy does not rebuild its own packet byte for byte: " + b.hex())
    return p


def mac(src, dst, seq):
    return Dot15d4FCS(
        fcf_frametype=1,
        fcf_panidcompress=1,
        fcf_ackreq=0 if dst == BCAST else 1,
        fcf_framever=seq % 2,  # 2003 and 2006 frames alike
        fcf_srcaddrmode=src[0],
        fcf_destaddrmode=dst[0],
        seqnum=seq & 0xFF,
    ) / Dot15d4Data(dest_panid=PAN, dest_addr=dst[1], src_addr=src[1])


def mac_header_len(src, dst):
    return 2 + 1 + 2 + (2 if dst[0] == SHORT else 8) + (2 if src[0] == SHORT else 8)


def scapy_decode(frame):
    """What Scapy decodes an 802.15.4 frame with FCS to, or ("", error)."""
    try:
        d = Dot15d4FCS(frame)
        if IPv6 not in d:
            return "", "no IPv6 layer in " + d.summary()
        return raw(IPv6(raw(d[IPv6]))).hex(), ""
    except Exception as e:  # Scapy raises all sorts on input it dislikes
        return "", "%s: %s" % (type(e).__name__, e)


CASES = []


def case(name, pkt, src, dst, iphc=None, udp=None, uncompressed=False, bugs=(), fragment=False, note=""):
    """One case. iphc holds LoWPAN_IPHC fields (tf, nh, hlim, sac, sam, m,
    dac, dam); udp, when given, the LOWPAN_NHC UDP fields (P, C) and sets
    NH=1."""
    CASES.append(dict(name=name, pkt=pkt, src=src, dst=dst, iphc=iphc, udp=udp,
                      uncompressed=uncompressed, bugs=list(bugs), fragment=fragment, note=note))


def iphc(tf=3, hlim=2, sac=0, sam=3, m=0, dac=0, dam=3, nh=0):
    return dict(tf=tf, nh=nh, hlim=hlim, sac=sac, sam=sam, m=m, dac=dac, dam=dam)


def define_cases():
    # Link-local addresses elided, IIDs from the MAC addresses (SAM/DAM=11).
    case("ll-ext-elided-nhc-udp", udp6(LL_A, LL_B, 1234, 5678), EXT_A, EXT_B, iphc(), udp=dict(P=0))
    case("ll-short-elided-nhc-udp", udp6(LL_S1, LL_S2, 1234, 5678), SHORT_1, SHORT_2, iphc(), udp=dict(P=0))
    case("ll-ext-elided-nh-inline-udp", udp6(LL_A, LL_B, 1234, 5678), EXT_A, EXT_B, iphc())
    case("ll-ext-elided-icmp-echo", echo6(LL_A, LL_B), EXT_A, EXT_B, iphc())
    case("ll-short-elided-icmp-echo", echo6(LL_S1, LL_S2), SHORT_1, SHORT_2, iphc())
    case("ll-ext-to-short-both-elided", udp6(LL_A, LL_S2, 1234, 5678), EXT_A, SHORT_2, iphc(), udp=dict(P=0),
         bugs=["src_iid_dst_mode"])
    case("ll-short-to-ext-both-elided", echo6(LL_S1, LL_B), SHORT_1, EXT_B, iphc(),
         bugs=["src_iid_dst_mode"])
    case("ll-ext-to-short-src-64-inline", udp6(LL_A, LL_S2, 1234, 5678), EXT_A, SHORT_2, iphc(sam=1), udp=dict(P=0),
         note="SAM=01: no IID derivation, so Scapy's mode mix-up does not apply")

    # Inline IIDs and full addresses.
    case("sam16-dam16", udp6("fe80::ff:fe00:1234", "fe80::ff:fe00:5678", 1234, 5678), EXT_A, EXT_B,
         iphc(sam=2, dam=2), udp=dict(P=0))
    case("sam64-dam64", udp6("fe80::1", "fe80::211:22ff:fe33:4455", 1234, 5678), EXT_A, EXT_B,
         iphc(sam=1, dam=1), udp=dict(P=0))
    case("sam64-dam-elided", echo6("fe80::a:b:c:d", LL_B), EXT_A, EXT_B, iphc(sam=1, dam=3))
    case("sam-elided-dam16", echo6(LL_S1, "fe80::ff:fe00:beef"), SHORT_1, SHORT_2, iphc(sam=3, dam=2))
    case("sam16-of-ext-mac", udp6("fe80::ff:fe00:1", LL_B, 1234, 5678), EXT_A, EXT_B, iphc(sam=2, dam=3), udp=dict(P=0),
         note="short-form IID carried in 16 bits over extended MAC addresses")
    case("global-full-inline-nhc-udp", udp6("2001:db8::1", "2001:db8:1::2", 1234, 5678), EXT_A, EXT_B,
         iphc(sam=0, dam=0), udp=dict(P=0))
    case("global-full-inline-icmp", echo6("2001:db8:aaaa::1", "2001:db8:bbbb::ff:fe00:2"), SHORT_1, SHORT_2,
         iphc(sam=0, dam=0))
    case("global-src-ll-dst-elided", udp6("2001:db8::1234", LL_B, 1234, 5678), EXT_A, EXT_B,
         iphc(sam=0, dam=3), udp=dict(P=0))
    case("ll-full-inline", udp6(LL_A, LL_B, 1234, 5678), EXT_A, EXT_B, iphc(sam=0, dam=0), udp=dict(P=0),
         note="link-local addresses carried whole although they could be elided")
    case("unspecified-src-dad-ns",
         frozen(IPv6(src="::", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::ff:fe00:1")),
         SHORT_1, BCAST, iphc(hlim=3, sac=1, sam=0, m=1, dam=1),
         note="SAC=1 SAM=00 is ::; solicited-node group in 48 bits")

    # LOWPAN_NHC UDP port forms (RFC 6282 section 4.3.3) and checksum.
    case("nhc-udp-ports-f0xx-dst", udp6(LL_A, LL_B, 1234, 0xF012), EXT_A, EXT_B, iphc(), udp=dict(P=1))
    case("nhc-udp-ports-f0xx-src", udp6(LL_A, LL_B, 0xF034, 5678), EXT_A, EXT_B, iphc(), udp=dict(P=2))
    case("nhc-udp-ports-f0bx-both", udp6(LL_A, LL_B, 0xF0B1, 0xF0B2), EXT_A, EXT_B, iphc(), udp=dict(P=3))
    case("nhc-udp-ports-f0bx-both-hlim255", udp6(LL_S1, LL_S2, 0xF0B1, 0xF0BF, hlim=255), SHORT_1, SHORT_2,
         iphc(hlim=3), udp=dict(P=3), bugs=["esc_0x7f"])
    case("nhc-udp-f0bx-ports-carried-inline", udp6(LL_A, LL_B, 0xF0B3, 0xF0B4), EXT_A, EXT_B, iphc(), udp=dict(P=0),
         note="not the smallest port form, still legal")
    case("nhc-udp-f0bx-dst-in-8-bits", udp6(LL_A, LL_B, 0xF0B3, 0xF0B5), EXT_A, EXT_B, iphc(), udp=dict(P=1))
    case("nhc-udp-checksum-elided", udp6(LL_A, LL_B, 1234, 5678), EXT_A, EXT_B, iphc(), udp=dict(P=0, C=1),
         note="C=1: both sides recompute the checksum")
    case("nhc-udp-checksum-elided-short-mac", udp6(LL_S1, LL_S2, 0xF0B7, 0xF0B8), SHORT_1, SHORT_2, iphc(),
         udp=dict(P=3, C=1))
    case("nhc-udp-empty-payload", udp6(LL_A, LL_B, 1234, 0xF001, data=b""), EXT_A, EXT_B, iphc(), udp=dict(P=1))

    # Multicast destinations (M=1), every stateless DAM.
    case("mcast-ff02-1-8bit-hlim255", udp6(LL_A, "ff02::1", 1234, 5678, hlim=255), EXT_A, BCAST,
         iphc(hlim=3, m=1, dam=3), udp=dict(P=0), bugs=["esc_0x7f", "src_iid_dst_mode"])
    case("mcast-ff02-1-8bit-ext-src", udp6(LL_A, "ff02::1", 1234, 5678), EXT_A, BCAST,
         iphc(m=1, dam=3), udp=dict(P=0), bugs=["src_iid_dst_mode"])
    case("mcast-ff02-1-8bit-short-src-hlim1", udp6(LL_S1, "ff02::1", 1234, 5678, hlim=1), SHORT_1, BCAST,
         iphc(hlim=1, m=1, dam=3), udp=dict(P=0))
    case("mcast-ff02-2-icmp-hlim255", echo6(LL_S1, "ff02::2", hlim=255), SHORT_1, BCAST, iphc(hlim=3, m=1, dam=3))
    case("mcast-ff05-1-3-32bit", udp6(LL_S1, "ff05::1:3", 547, 0xF0B5), SHORT_1, BCAST, iphc(m=1, dam=2), udp=dict(P=1))
    case("mcast-48bit", udp6(LL_S1, "ff05::12:3456:789a", 1234, 5678), SHORT_1, BCAST, iphc(m=1, dam=1), udp=dict(P=0))
    case("mcast-full-inline", udp6("2001:db8::1", "ff15::abcd:1234:5678:9abc:def0", 1234, 5678), SHORT_1, BCAST,
         iphc(sam=0, m=1, dam=0), udp=dict(P=0))
    case("mcast-ff1e-full-inline-not-minimal", echo6(LL_S1, "ff1e::1234"), SHORT_1, BCAST, iphc(m=1, dam=0))

    # Hop limits: 1, 64, 255 compressed; others inline.
    case("hlim-1", udp6(LL_A, LL_B, 1234, 5678, hlim=1), EXT_A, EXT_B, iphc(hlim=1), udp=dict(P=0))
    case("hlim-255-icmp", echo6(LL_A, LL_B, hlim=255), EXT_A, EXT_B, iphc(hlim=3))
    case("hlim-17-inline", udp6(LL_A, LL_B, 1234, 5678, hlim=17), EXT_A, EXT_B, iphc(hlim=0), udp=dict(P=0))
    case("hlim-0-inline", echo6(LL_S1, LL_S2, hlim=0), SHORT_1, SHORT_2, iphc(hlim=0))
    case("hlim-200-inline", udp6(LL_S1, LL_S2, 0xF0B1, 0xF0B2, hlim=200), SHORT_1, SHORT_2, iphc(hlim=0), udp=dict(P=3))
    case("hlim-255-carried-inline", udp6(LL_S1, LL_S2, 0xF0B1, 0xF0B2, hlim=255), SHORT_1, SHORT_2, iphc(hlim=0),
         udp=dict(P=3), note="255 could be HLIM=11; inline also avoids Scapy's 0x7F trap")

    # Traffic class and flow label.
    case("tf00-ef-flow", udp6(LL_A, LL_B, 1234, 5678, tc=0xB8, fl=0x12345), EXT_A, EXT_B, iphc(tf=0), udp=dict(P=0),
         bugs=["tc_swap"])
    case("tf00-dscp-ecn-flow", echo6(LL_S1, LL_S2, tc=0x2D, fl=0xABCDE), SHORT_1, SHORT_2, iphc(tf=0),
         bugs=["tc_swap"])
    case("tf00-tc0-flow", udp6(LL_A, LL_B, 1234, 5678, fl=1), EXT_A, EXT_B, iphc(tf=0), udp=dict(P=0),
         note="traffic class 0 reads the same either way")
    case("tf01-ecn-flow", udp6(LL_A, LL_B, 1234, 5678, tc=0x01, fl=0x54321), EXT_A, EXT_B, iphc(tf=1), udp=dict(P=0),
         bugs=["tc_swap"], note="Scapy puts the top two bits (DSCP) in the ECN field: ECN 1 is lost")
    case("tf01-flow-only", echo6(LL_A, LL_B, fl=0xFFFFF), EXT_A, EXT_B, iphc(tf=1))
    case("tf10-ef", udp6(LL_A, LL_B, 1234, 5678, tc=0xB8), EXT_A, EXT_B, iphc(tf=2), udp=dict(P=0), bugs=["tc_swap"])
    case("tf10-ce", echo6(LL_S1, LL_S2, tc=0x03), SHORT_1, SHORT_2, iphc(tf=2), bugs=["tc_swap"])
    case("tf10-tc-ff", udp6(LL_A, LL_B, 1234, 5678, tc=0xFF), EXT_A, EXT_B, iphc(tf=2), udp=dict(P=0),
         note="0xFF is the same with ECN and DSCP swapped")
    case("everything-inline", udp6("2001:db8::1", "2001:db8::2", 1234, 5678, hlim=33), EXT_A, EXT_B,
         iphc(tf=0, hlim=0, sam=0, dam=0))
    case("everything-inline-tc", echo6("2001:db8::1", "2001:db8::2", hlim=9, tc=0x81, fl=0x80001), EXT_A, EXT_B,
         iphc(tf=0, hlim=0, sam=0, dam=0), bugs=["tc_swap"])

    # Next header values other than UDP/ICMPv6, carried inline.
    case("nh-59-no-next-header", frozen(IPv6(src=LL_A, dst=LL_B, nh=59)), EXT_A, EXT_B, iphc())

    # Uncompressed IPv6 dispatch (RFC 4944 section 5.1, 0x41).
    case("ipv6-dispatch-udp", udp6(LL_A, LL_B, 1234, 5678), EXT_A, EXT_B, uncompressed=True)
    case("ipv6-dispatch-icmp-tc-flow", echo6("2001:db8::1", "2001:db8::2", tc=0xB8, fl=0x12345), SHORT_1, SHORT_2,
         uncompressed=True, note="traffic class carried in the IPv6 header: no swap")
    case("ipv6-dispatch-mcast", udp6(LL_S1, "ff02::1", 0xF0B1, 0xF0B2, hlim=255), SHORT_1, BCAST, uncompressed=True)

    # Fragmented (RFC 4944 section 5.3) with Scapy's fragment header classes;
    # sixlowpan_fragment itself is unusable (ORACLES.md).
    case("frag-nhc-udp", udp6(LL_A, LL_B, 1234, 5678, data=bytes(range(200))), EXT_A, EXT_B, iphc(), udp=dict(P=0),
         fragment=True)
    case("frag-icmp-short", echo6(LL_S1, LL_S2, data=bytes(range(256)) + bytes(44)), SHORT_1, SHORT_2, iphc(),
         fragment=True)


def lowpan_layers(c):
    """The 6LoWPAN layers for a case, stacked on its IPv6 packet."""
    pkt = c["pkt"]
    if c["uncompressed"]:
        return LoWPANUncompressedIPv6() / pkt
    fields = dict(c["iphc"])
    if c["udp"] is not None:
        fields["nh"] = 1
        u = LoWPAN_NHC_UDP(P=c["udp"]["P"], C=c["udp"].get("C", 0))
        return LoWPAN_IPHC(**fields) / LoWPAN_NHC(exts=[u]) / pkt
    return LoWPAN_IPHC(**fields) / pkt


def fragments(c, datagram, ipv6_bytes, seq, tag):
    """Splits the compressed datagram into FRAG1/FRAGN frames. Sizes and
    offsets count the uncompressed datagram (RFC 4944 section 5.3, RFC 6282
    section 2); every fragment but the last covers a multiple of 8 octets."""
    uncompressed_hdr = 40 + (8 if c["udp"] is not None else 0)
    payload = ipv6_bytes[uncompressed_hdr:]
    compressed_hdr = len(datagram) - len(payload)
    if datagram[compressed_hdr:] != payload:
        raise SystemExit(c["name"] + ": payload not at the end of the compressed datagram")
    room = MAX_PSDU - 2 - mac_header_len(c["src"], c["dst"])
    first = (room - 4 - compressed_hdr) // 8 * 8
    frames = [raw(mac(c["src"], c["dst"], seq) /
                  LoWPANFragmentationFirst(datagramSize=len(ipv6_bytes), datagramTag=tag) /
                  Raw(datagram[:compressed_hdr + first]))]
    pos = first
    step = (room - 5) // 8 * 8
    while pos < len(payload):
        chunk = payload[pos:pos + step]
        frames.append(raw(mac(c["src"], c["dst"], seq + len(frames)) /
                          LoWPANFragmentationSubsequent(datagramSize=len(ipv6_bytes), datagramTag=tag,
                                                        datagramOffset=(uncompressed_hdr + pos) // 8) /
                          Raw(chunk)))
        pos += len(chunk)
    return frames


def generate():
    define_cases()
    names = set()
    seq = 0
    for c in CASES:
        if c["name"] in names:
            raise SystemExit("duplicate case " + c["name"])
        names.add(c["name"])
        pkt = frozen(c["pkt"])
        c["pkt"] = pkt
        ipv6_bytes = raw(pkt)
        out = dict(name=c["name"], ipv6_hex=ipv6_bytes.hex(), scapy_bugs=c["bugs"])
        if c["note"]:
            out["note"] = c["note"]
        layers = lowpan_layers(c)
        if c["fragment"]:
            datagram = raw(layers)
            out["fragments_hex"] = [f.hex() for f in fragments(c, datagram, ipv6_bytes, seq, 0x5C00 + seq)]
            seq += len(out["fragments_hex"])
            # Scapy cannot reassemble compressed fragments (sixlowpan_defragment
            # drops the IPHC header), so its view is the decode of the same
            # compressed datagram carried whole in one (oversized) frame.
            whole = raw(mac(c["src"], c["dst"], seq) / Raw(datagram))
            out["scapy_decoded_hex"], err = scapy_decode(whole)
            out["note"] = "scapy_decoded_hex: the compressed datagram decoded unfragmented"
        else:
            frame = raw(mac(c["src"], c["dst"], seq) / layers)
            seq += 1
            out["frame_hex"] = frame.hex()
            out["scapy_decoded_hex"], err = scapy_decode(frame)
        if err:
            out["scapy_error"] = err
        print(json.dumps(out, sort_keys=True))


def decode():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        ipv6_hex, err = scapy_decode(bytes.fromhex(line))
        out = dict(ipv6_hex=ipv6_hex)
        if err:
            out["error"] = err
        print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1:] == ["decode"]:
        decode()
    elif not sys.argv[1:]:
        generate()
    else:
        raise SystemExit("usage: frames.py [decode]")
