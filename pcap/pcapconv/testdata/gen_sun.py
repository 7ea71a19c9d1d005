#!/usr/bin/python3
"""Writes sun_long.pcap, sun_crc32.pcap and skips.pcap (see README.md).

Run from this directory with Debian's python3-scapy (Scapy 2.5):
    /usr/bin/python3 gen_sun.py
Scapy builds the MAC and 6LoWPAN headers; the pcap records are written here
so that one of them can carry a captured length below its original length.
"""
import struct
import zlib

from scapy.all import raw, Raw
from scapy.layers.dot15d4 import Dot15d4, Dot15d4FCS, Dot15d4Data, Dot15d4Beacon, Dot15d4Ack
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.sixlowpan import LoWPAN_IPHC, LoWPANFragmentationFirst

SRC, DST = 0x0212345678abcdef, 0x0a0b0c0d0e0f1011
SRC_LL, DST_LL = "fe80::12:3456:78ab:cdef", "fe80::80b:c0d:e0f:1011"


def mac(seq, fcs=True):
    cls = Dot15d4FCS if fcs else Dot15d4
    return cls(fcf_frametype=1, fcf_panidcompress=1, fcf_destaddrmode=3, fcf_srcaddrmode=3,
               fcf_framever=1, seqnum=seq) / Dot15d4Data(dest_panid=0xabcd, dest_addr=DST, src_addr=SRC)


def udp_frame(seq, psdu_len, fcs=True, fill=b"x"):
    """A data frame of psdu_len octets (with a 2-octet FCS when fcs) holding
    IPHC (addresses elided: derived from the MAC addresses) and UDP inline."""
    def build(n):
        return mac(seq, fcs) / LoWPAN_IPHC(tf=3, nh=0, hlim=2, sam=3, dam=3) / \
            IPv6(src=SRC_LL, dst=DST_LL, hlim=64) / UDP(sport=4660, dport=5683) / Raw(fill * n)
    base = len(raw(build(0)))
    want = psdu_len if fcs else psdu_len - 2
    b = raw(build(want - base))
    assert len(b) == want, (len(b), want)
    return b


def crc32_frame(seq, psdu_len):
    """A frame ending in the 4-octet FCS of SUN PHYs (IEEE 802.15.4-2020
    §7.2.10: the CRC-32 of IEEE 802.3, low octet first)."""
    b = udp_frame(seq, psdu_len - 2, fcs=False)  # psdu_len - 4 octets
    return b + struct.pack("<I", zlib.crc32(b))


def write(name, records):
    """records: (bytes, orig_len or None)."""
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 195)
    for i, (b, orig) in enumerate(records):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(b), orig or len(b)) + b
    with open(name, "wb") as f:
        f.write(out)


write("sun_long.pcap", [(udp_frame(1, 164), None), (udp_frame(2, 2047), None)])
write("sun_crc32.pcap", [(crc32_frame(3, 164), None), (crc32_frame(4, 2047), None)])

good = udp_frame(10, 164)
bad_fcs = bytearray(udp_frame(11, 164))
bad_fcs[40] ^= 0x01
beacon = raw(Dot15d4FCS(fcf_frametype=0, fcf_srcaddrmode=2, fcf_destaddrmode=0, seqnum=12) /
             Dot15d4Beacon(src_panid=0xabcd, src_addr=0x0001, sf_sforder=15, sf_beaconorder=15))
ack = raw(Dot15d4FCS(fcf_frametype=2, seqnum=10) / Dot15d4Ack())
nalp = raw(mac(13) / Raw(b"\x00\x01\x02\x03"))
# SAC=1 SAM=11 with SCI 3: a context the decoder is not given.
unknown_ctx = raw(mac(14) / LoWPAN_IPHC(tf=3, nh=0, hlim=2, cid=1, sac=1, sam=3, dam=3, dci=0, sci=3) /
                  IPv6(src=SRC_LL, dst=DST_LL, hlim=64) / UDP(sport=4660, dport=5683) / Raw(b"ctx"))
frag1 = raw(mac(15) / LoWPANFragmentationFirst(datagramSize=400, datagramTag=0x4242) /
            LoWPAN_IPHC(tf=3, nh=0, hlim=2, sam=3, dam=3) /
            IPv6(src=SRC_LL, dst=DST_LL, hlim=64, plen=360) / UDP(sport=4660, dport=5683, len=360, chksum=0x1234) / Raw(b"f" * 40))
too_long = udp_frame(16, 2048)
truncated = udp_frame(17, 164)

write("skips.pcap", [
    (good, None),            # 1: decoded
    (good, None),            # 2: duplicate (same source and sequence number)
    (bytes(bad_fcs), None),  # 3: bad FCS
    (beacon, None),          # 4: not a data frame (beacon)
    (ack, None),             # 5: not a data frame (ack)
    (nalp, None),            # 6: not 6LoWPAN (NALP dispatch)
    (unknown_ctx, None),     # 7: unknown context 3
    (too_long, None),        # 8: frame too long (2048 octets)
    (truncated[:64], 164),   # 9: cut by the snap length
    (frag1, None),           # 10: FRAG1 whose FRAGNs never came
])
