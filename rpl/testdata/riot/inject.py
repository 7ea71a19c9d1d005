#!/usr/bin/python3
# Usage: inject.py HUBPORT OWNPORT [CASES]
# Throwaway: sends 802.15.4 frames carrying ICMPv6 echo requests, with and
# without a Hop-by-Hop header, as a ZEP v2 peer of the hub.
import socket, struct, sys, time
HUB = ('127.0.0.1', int(sys.argv[1]))
MYPORT = int(sys.argv[2])
SRC_EUI = bytes.fromhex('025250 4c00000009'.replace(' ', ''))
DST_EUI = bytes.fromhex('02525 04c00000001'.replace(' ', ''))
PAN = 0xface
def ll(eui): return bytes([0xfe,0x80]+[0]*6) + bytes([eui[0]^2]) + eui[1:]
def crc16(data):  # ITU-T CRC-16 (Kermit), 802.15.4 FCS
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc
def csum(src, dst, payload):
    ph = src + dst + struct.pack('>I', len(payload)) + b'\0\0\0\x3a'
    d = ph + payload
    if len(d) % 2: d += b'\0'
    s = sum(struct.unpack('>%dH' % (len(d)//2), d))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def echo(seq):
    body = struct.pack('>BBHHH', 128, 0, 0, 0x1234, seq) + b'lowpanbr'
    c = csum(ll(SRC_EUI), ll(DST_EUI), body)
    return body[:2] + struct.pack('>H', c) + body[4:]
def mac(seq, payload):
    fcf = 0x0001 | 0x0020 | 0x0040 | 0x0C00 | 0xC000
    h = struct.pack('<HBH', fcf, seq, PAN) + DST_EUI[::-1] + SRC_EUI[::-1]
    f = h + payload
    return f + struct.pack('<H', crc16(f))
def uncomp(seq, hbh):
    icmp = echo(seq)
    nh = 0 if hbh else 58
    ext = bytes([58, 0]) + hbh if hbh else b''
    ip = struct.pack('>IHBB', 6 << 28, len(ext) + len(icmp), nh, 64) + ll(SRC_EUI) + ll(DST_EUI)
    return b'\x41' + ip + ext + icmp
def iphc(seq, opts):
    # TF=11, NH=1 (NHC follows), HLIM=10 (64): 011 11 1 10; SAM=11, DAM=11 (from MAC)
    # NHC ext EID 0 (HBH), NH bit 0: next header inline; Length = octets after it (RFC 6282 §4.2)
    return bytes([0x7E, 0x33, 0xE0, 58, len(opts)]) + opts + echo(seq)
def zep(psdu, seq):
    return b'EX' + bytes([2, 1, 15, 0, 9, 1, 0xff]) + b'\0'*8 + struct.pack('>I', seq) + b'\0'*10 + bytes([len(psdu)]) + psdu
RPI63 = bytes([0x63, 4, 0x00, 0x01, 0x01, 0x00])
RPI23 = bytes([0x23, 4, 0x00, 0x01, 0x01, 0x00])
PADN = bytes([0x01, 4, 0, 0, 0, 0])
cases = [
  ('A uncompressed, no HBH', lambda s: uncomp(s, None)),
  ('B uncompressed, HBH RPI 0x63', lambda s: uncomp(s, RPI63)),
  ('C uncompressed, HBH RPI 0x23', lambda s: uncomp(s, RPI23)),
  ('D uncompressed, HBH PadN only', lambda s: uncomp(s, PADN)),
  ('E IPHC+NHC, HBH RPI 0x63', lambda s: iphc(s, RPI63)),
  ('F IPHC+NHC, HBH RPI 0x23', lambda s: iphc(s, RPI23)),
  ('G IPHC+NHC, HBH PadN only, padding kept (Length 6)', lambda s: iphc(s, PADN)),
  ('H IPHC+NHC, HBH PadN only, trailing padding elided (Length 0, RFC 6282 4.2)', lambda s: iphc(s, b'')),
]
sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.bind(('127.0.0.1', MYPORT)); sk.connect(HUB)
seq = 0
only = sys.argv[3] if len(sys.argv) > 3 else ''  # e.g. 'AGH': only these cases
for name, build in cases:
    if only and name[0] not in only:
        continue
    for rep in range(2):
        seq += 1
        psdu = mac(seq, build(seq))
        sk.send(zep(psdu, seq))
        print(time.strftime('%H:%M:%S'), 'sent', name, 'echo seq', seq, 'psdu', len(psdu), flush=True)
        time.sleep(1.0)
