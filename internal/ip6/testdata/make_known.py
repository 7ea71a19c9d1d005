#!/usr/bin/python3
# Writes known.txt: IPv6 packets built by Scapy (python3-scapy 2.5.0,
# Debian 12), whose checksums Scapy computes itself. Run with
# /usr/bin/python3 make_known.py > known.txt (see README.md).
from scapy.all import IPv6, ICMPv6EchoRequest, ICMPv6PacketTooBig, UDP, raw

echo = IPv6(src="2001:db8:1::42", dst="2001:db8:9::5", hlim=64) / \
    ICMPv6EchoRequest(id=0x1234, seq=7, data=b"lowpanbr")
inner = raw(IPv6(src="2001:db8:9::5", dst="2001:db8:1::42", hlim=63) /
            UDP(sport=49152, dport=5683) / (b"x" * 10))
ptb = IPv6(src="2001:db8:1::1", dst="2001:db8:9::5", hlim=64) / \
    ICMPv6PacketTooBig(mtu=1280) / inner
udp = IPv6(src="fe80::12:3456:78ab:cdef", dst="ff02::1", hlim=255) / \
    UDP(sport=5683, dport=5683) / b"hello-6lowpan"
for name, p in [("echo", echo), ("packet-too-big", ptb), ("udp", udp)]:
    print(name, raw(p).hex())
