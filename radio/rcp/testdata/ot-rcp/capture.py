#!/usr/bin/env python3
"""Record Spinel transcripts from OpenThread's simulation RCP (ot-rcp).

Our own tool (Python 3 standard library only). It runs `ot-rcp N` on a
pseudo-terminal in raw mode, as lowpanbr's forkpty transport does, speaks
Spinel over HDLC-lite to it, plays fake 802.15.4 peers on the simulation
platform's UDP medium, and writes one transcript per scenario:

    # comment lines (header, notes; "# air ..." lines are datagrams seen on
    #   the UDP medium, "# @t ..." lines are notes)
    > 12.345 <hex>      a Spinel frame host -> RCP (HDLC removed), ms since start
    < 12.345 <hex>      a Spinel frame RCP -> host
    #= {json}           what this tool decoded from the "<" frame above it

The "#=" lines come from this file's decoder, written independently of the
Go spinel package, so the Go test that compares the two is a real check.

Facts used here, from OpenThread (commit in README.md):
  - HDLC-lite: flag 0x7E, escape 0x7D (xor 0x20) for 7E 7D 11 13 F8, FCS
    CRC-16/X.25 sent low byte first (src/lib/hdlc/hdlc.cpp).
  - UDP medium: node N sends from 127.0.0.1:PORT_BASE+N to 224.0.0.116:
    PORT_BASE; each datagram is one channel octet then the PSDU with its
    FCS; the sender's node id is its source port minus PORT_BASE
    (examples/platforms/simulation/simul_utils.c, radio.c).
  - EUI-64 of node N: 18:b4:30:00 then N as 32 bits big-endian
    (radio.c, otPlatRadioGetIeeeEui64).

Usage: capture.py --ot-rcp /tmp/ot/ot-rcp --out DIR [--node 1] [--port-base 19000] [scenario ...]
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import tty

# ---------------------------------------------------------------- HDLC-lite

def crc_x25(data, crc=0xFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


ESCAPED = {0x7E, 0x7D, 0x11, 0x13, 0xF8}


def hdlc_encode(frame):
    fcs = crc_x25(frame) ^ 0xFFFF
    raw = bytes(frame) + bytes([fcs & 0xFF, fcs >> 8])
    out = bytearray([0x7E])
    for b in raw:
        if b in ESCAPED:
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    out.append(0x7E)
    return bytes(out)


class HDLCDecoder:
    def __init__(self):
        self.buf = bytearray()
        self.esc = False
        self.bad = 0

    def feed(self, data):
        frames = []
        for b in data:
            if b == 0x7E:
                if len(self.buf) >= 3:
                    if crc_x25(self.buf) == 0xF0B8:
                        frames.append(bytes(self.buf[:-2]))
                    else:
                        self.bad += 1
                self.buf = bytearray()
                self.esc = False
            elif b == 0x7D:
                self.esc = True
            else:
                if self.esc:
                    b ^= 0x20
                    self.esc = False
                self.buf.append(b)
        return frames

# ------------------------------------------------------------------- Spinel

CMD = {0: "NOOP", 1: "RESET", 2: "GET", 3: "SET", 4: "INSERT", 5: "REMOVE",
       6: "IS", 7: "INSERTED", 8: "REMOVED"}

P_LAST_STATUS = 0x00
P_PROTOCOL_VERSION = 0x01
P_NCP_VERSION = 0x02
P_INTERFACE_TYPE = 0x03
P_CAPS = 0x05
P_HWADDR = 0x08
P_PHY_ENABLED = 0x20
P_PHY_CHAN = 0x21
P_PHY_TX_POWER = 0x25
P_MAC_SCAN_STATE = 0x30
P_MAC_SCAN_MASK = 0x31
P_MAC_SCAN_PERIOD = 0x32
P_MAC_15_4_LADDR = 0x34
P_MAC_15_4_SADDR = 0x35
P_MAC_15_4_PANID = 0x36
P_MAC_RAW_STREAM_ENABLED = 0x37
P_MAC_PROMISCUOUS_MODE = 0x38
P_MAC_ENERGY_SCAN_RESULT = 0x39
P_STREAM_RAW = 0x71
P_RCP_API_VERSION = 0xB0
P_RCP_MIN_HOST_API_VERSION = 0xB1
P_RADIO_CAPS = 0x120B
P_MAC_SRC_MATCH_ENABLED = 0x1303
P_MAC_SRC_MATCH_SHORT = 0x1304
P_MAC_SRC_MATCH_EXT = 0x1305

PROP_NAMES = {v: k[2:] for k, v in globals().items() if k.startswith("P_")}
PROP_NAMES[P_MAC_SRC_MATCH_SHORT] = "MAC_SRC_MATCH_SHORT_ADDRESSES"
PROP_NAMES[P_MAC_SRC_MATCH_EXT] = "MAC_SRC_MATCH_EXTENDED_ADDRESSES"


def packed(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_packed(b, off):
    v, shift = 0, 0
    for i in range(3):
        if off + i >= len(b):
            raise ValueError("truncated packed integer")
        v |= (b[off + i] & 0x7F) << shift
        if not b[off + i] & 0x80:
            return v, off + i + 1
        shift += 7
    raise ValueError("packed integer longer than 3 bytes")


def spinel_frame(tid, cmd, prop=None, value=b""):
    out = bytes([0x80 | tid]) + packed(cmd)
    if prop is not None:
        out += packed(prop)
    return out + bytes(value)


class Reader:
    def __init__(self, b):
        self.b, self.off = b, 0

    def left(self):
        return len(self.b) - self.off

    def take(self, n):
        if self.left() < n:
            raise ValueError("truncated")
        v = self.b[self.off:self.off + n]
        self.off += n
        return v

    def u8(self):
        return self.take(1)[0]

    def i8(self):
        return struct.unpack("<b", self.take(1))[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def packed(self):
        v, self.off = read_packed(self.b, self.off)
        return v

    def data_len(self):
        return self.take(self.u16())

    def struct(self):
        return Reader(self.data_len())


def decode_rx_frame(r):
    """The RxFrame layout of ncp_base_radio.cpp PackRadioFrame."""
    d = {}
    d["psdu"] = r.data_len().hex()
    d["rssi"] = r.i8()
    d["noise_floor"] = r.i8()
    d["flags"] = r.u16()
    phy = r.struct()
    d["channel"] = phy.u8()
    d["lqi"] = phy.u8()
    d["timestamp"] = phy.u64()
    vendor = r.struct()
    d["rx_error"] = vendor.packed()
    if r.left() >= 2:
        mac = r.struct()
        d["ack_key_id"] = mac.u8()
        d["ack_frame_counter"] = mac.u32()
    return d


def describe(frame, tx_tids):
    """Decode an RCP -> host frame into a JSON-able dict.

    tx_tids: TIDs of STREAM_RAW requests still waiting for their done, to
    tell a transmit-done LAST_STATUS from an ordinary one.
    """
    h = frame[0]
    d = {"tid": h & 0x0F, "iid": (h >> 4) & 0x03}
    cmd, off = read_packed(frame, 1)
    d["cmd"] = CMD.get(cmd, str(cmd))
    if not 2 <= cmd <= 8:
        d["value"] = frame[off:].hex()
        return d
    prop, off = read_packed(frame, off)
    d["prop"] = PROP_NAMES.get(prop, "0x%x" % prop)
    v = frame[off:]
    d["value"] = v.hex()
    r = Reader(v)
    if prop == P_LAST_STATUS:
        d["status"] = r.packed()
        if d["tid"] in tx_tids and d["tid"] != 0:
            d["kind"] = "txdone"
            if r.left() > 0:
                d["frame_pending"] = r.u8() == 1
                d["header_updated"] = r.u8() == 1
                if d["status"] == 0 and r.left() > 0:
                    d["ack"] = decode_rx_frame(r)
                if r.left() >= 5:
                    d["key_id"] = r.u8()
                    d["frame_counter"] = r.u32()
        elif d["tid"] == 0 and 112 <= d["status"] < 128:
            d["kind"] = "reset"
    elif prop == P_STREAM_RAW:
        d["kind"] = "rx"
        d["rx"] = decode_rx_frame(r)
    elif prop == P_PROTOCOL_VERSION:
        d["major"] = r.packed()
        d["minor"] = r.packed()
    elif prop == P_NCP_VERSION:
        s = bytes(v)
        d["text"] = s[:s.index(0)].decode() if 0 in s else s.decode()
    elif prop in (P_CAPS,):
        caps = []
        while r.left():
            caps.append(r.packed())
        d["caps"] = caps
    elif prop in (P_RADIO_CAPS, P_RCP_API_VERSION, P_RCP_MIN_HOST_API_VERSION, P_INTERFACE_TYPE):
        d["uint"] = r.packed()
    elif prop == P_HWADDR or prop == P_MAC_15_4_LADDR:
        d["eui64"] = r.take(8).hex()
    elif prop == P_MAC_ENERGY_SCAN_RESULT:
        d["channel"] = r.u8()
        d["max_rssi"] = r.i8()
    elif prop == P_MAC_SCAN_MASK:
        d["channels"] = list(r.take(r.left()))
    elif prop in (P_MAC_SCAN_STATE, P_PHY_CHAN, P_MAC_PROMISCUOUS_MODE):
        d["u8"] = r.u8()
    elif prop in (P_PHY_ENABLED, P_MAC_RAW_STREAM_ENABLED, P_MAC_SRC_MATCH_ENABLED):
        d["bool"] = r.u8() == 1
    elif prop in (P_MAC_15_4_PANID, P_MAC_15_4_SADDR, P_MAC_SCAN_PERIOD):
        d["u16"] = r.u16()
    elif prop == P_PHY_TX_POWER:
        d["i8"] = r.i8()
    return d

# ------------------------------------------------------------ IEEE 802.15.4

def fcs_kermit(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def mac_frame(seq, pan, dst, src, payload, ack_request):
    """A data frame, 2006 version, PAN ID compression. dst/src: bytes of
    length 2 (short, little-endian already) or 8 (EUI-64, canonical order)."""
    fcf = 0x0001 | 0x0040 | 0x1000
    if ack_request:
        fcf |= 0x0020
    fcf |= (0x0800 if len(dst) == 2 else 0x0C00)
    fcf |= (0x8000 if len(src) == 2 else 0xC000)
    body = struct.pack("<HBH", fcf, seq, pan)
    body += dst if len(dst) == 2 else bytes(reversed(dst))
    body += src if len(src) == 2 else bytes(reversed(src))
    body += payload
    return body + struct.pack("<H", fcs_kermit(body))


def imm_ack(seq):
    body = struct.pack("<HB", 0x0002, seq)
    return body + struct.pack("<H", fcs_kermit(body))


def parse_mac(psdu):
    """Just enough of a frame to ACK it: (type, ack_request, seq, dst)."""
    if len(psdu) < 5:
        return None
    fcf, seq = struct.unpack_from("<HB", psdu)
    ftype = fcf & 7
    ar = bool(fcf & 0x20)
    dmode = (fcf >> 10) & 3
    off = 3
    dst = None
    if dmode:
        off += 2  # dst PAN
        if dmode == 2:
            dst = psdu[off:off + 2]
        elif dmode == 3:
            dst = bytes(reversed(psdu[off:off + 8]))
    return ftype, ar, seq, dst


def eui64_of(node):
    return bytes([0x18, 0xB4, 0x30, 0x00]) + struct.pack(">I", node)

# --------------------------------------------------------------- transcript

class Transcript:
    def __init__(self, path, scenario, header):
        self.path = path
        self.lines = []
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.tx_tids = set()
        self.lines.append("# OpenThread simulation ot-rcp Spinel transcript, scenario: " + scenario)
        for h in header:
            self.lines.append("# " + h)
        self.lines.append("# format: '>' host->RCP, '<' RCP->host, ms since start, Spinel frame in hex (HDLC removed);")
        self.lines.append("#         '#=' the capture tool's own decoding of the '<' frame above; '# air' UDP medium datagrams.")

    def now(self):
        return (time.monotonic() - self.t0) * 1000.0

    def frame(self, direction, data):
        with self.lock:
            t = self.now()
            self.lines.append("%s %.3f %s" % (direction, t, data.hex()))
            if direction == "<":
                try:
                    d = describe(data, self.tx_tids)
                except ValueError as e:
                    d = {"error": str(e)}
                if d.get("kind") == "txdone" or (d.get("prop") == "LAST_STATUS" and d.get("tid") in self.tx_tids):
                    self.tx_tids.discard(d["tid"])
                self.lines.append("#= " + json.dumps(d, sort_keys=True))
                return t, d
            return t, None

    def note(self, text):
        with self.lock:
            self.lines.append("# @%.3f %s" % (self.now(), text))

    def save(self):
        with open(self.path, "w") as f:
            f.write("\n".join(self.lines) + "\n")

# ---------------------------------------------------------------------- RCP

class RCP:
    """ot-rcp N on a PTY in raw mode, with a reader thread."""

    def __init__(self, path, node, port_base, tr):
        self.path, self.node, self.port_base, self.tr = path, node, port_base, tr
        self.cond = threading.Condition()
        self.rx = []  # (t, frame, desc)
        self.proc = None
        self.master = None
        self.tid = 0

    def start(self):
        master, slave = os.openpty()
        tty.setraw(slave)
        env = dict(os.environ, PORT_BASE=str(self.port_base))
        self.proc = subprocess.Popen([self.path, str(self.node)], stdin=slave, stdout=slave,
                                     stderr=subprocess.DEVNULL, start_new_session=True, env=env)
        os.close(slave)
        self.master = master
        self.started = self.tr.now()
        self.tr.note("started %s %d (pid %d, PORT_BASE=%d) on a raw PTY" % (self.path, self.node, self.proc.pid, self.port_base))
        self.dec = HDLCDecoder()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.master
        while True:
            try:
                r, _, _ = select.select([fd], [], [], 0.5)
            except (OSError, ValueError):
                return
            if not r:
                if self.proc.poll() is not None and fd != self.master:
                    return
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            for f in self.dec.feed(data):
                t, d = self.tr.frame("<", f)
                with self.cond:
                    self.rx.append((t, f, d))
                    self.cond.notify_all()

    def next_tid(self):
        self.tid = self.tid % 15 + 1
        return self.tid

    def send(self, frame):
        self.tr.frame(">", frame)
        os.write(self.master, hdlc_encode(frame))

    def mark(self):
        with self.cond:
            return len(self.rx)

    def wait(self, pred, timeout=2.0, since=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(since, len(self.rx)):
                    if pred(self.rx[i][2]):
                        return self.rx[i]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def request(self, cmd, prop=None, value=b"", timeout=2.0):
        tid = self.next_tid()
        m = self.mark()
        self.send(spinel_frame(tid, cmd, prop, value))
        got = self.wait(lambda d: d and d.get("tid") == tid, timeout, m)
        if got is None:
            self.tr.note("no answer to tid %d within %.0f ms" % (tid, timeout * 1000))
        return got

    def get(self, prop):
        return self.request(2, prop)

    def set(self, prop, value):
        return self.request(3, prop, value)

    def reset(self, kind=2, timeout=2.0):
        tid = self.next_tid()
        m = self.mark()
        self.send(spinel_frame(tid, 1, None, bytes([kind])))
        return self.wait(lambda d: d and d.get("kind") == "reset", timeout, m)

    def transmit(self, psdu, channel, rx_after=None, retries=3, tid=None, wait=True, timeout=3.0):
        """SET STREAM_RAW with every field, as OpenThread's host
        (radio_spinel.cpp Transmit) and our driver send it."""
        if tid is None:
            tid = self.next_tid()
        if rx_after is None:
            rx_after = channel
        value = struct.pack("<H", len(psdu)) + psdu
        value += bytes([channel, 4, retries, 1, 0, 0, 0])
        value += struct.pack("<II", 0, 0) + bytes([rx_after, 127])
        m = self.mark()
        with self.tr.lock:
            self.tr.tx_tids.add(tid)
        self.send(spinel_frame(tid, 3, P_STREAM_RAW, value))
        if not wait:
            return tid, m
        got = self.wait(lambda d: d and d.get("tid") == tid, timeout, m)
        if got is None:
            self.tr.note("no transmit-done for tid %d within %.0f ms" % (tid, timeout * 1000))
        return got

    def kill9(self):
        self.tr.note("kill -9 pid %d" % self.proc.pid)
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.master is not None:
            fd, self.master = self.master, None
            time.sleep(0.1)
            os.close(fd)

# ------------------------------------------------------------------- medium

GROUP = "224.0.0.116"


class Peer:
    """A fake node on OT's UDP medium: node id `node`, EUI-64 18b43000<node>.
    With auto_ack it acknowledges, on the frame's channel, frames that ask
    for an ACK and are addressed to its EUI-64, as an OT simulation node
    does (radio.c radioProcessFrame / radioSendAck)."""

    def __init__(self, node, port_base, tr, channel, auto_ack=False, name="peer", log_air=True):
        self.node, self.port_base, self.tr = node, port_base, tr
        self.channel = channel
        self.auto_ack = auto_ack
        self.name = name
        self.eui = eui64_of(node)
        self.log_air = log_air
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        self.tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self.tx.bind(("127.0.0.1", port_base + node))
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        mreq = socket.inet_aton(GROUP) + socket.inet_aton("127.0.0.1") + struct.pack("=i", 0)
        self.rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        self.rx.bind((GROUP, port_base))
        self.heard = []
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            r, _, _ = select.select([self.rx], [], [], 0.2)
            if not r:
                continue
            data, (addr, port) = self.rx.recvfrom(2048)
            sender = port - self.port_base
            t = self.tr.now()
            if sender == self.node:
                continue  # our own datagram looped back
            ch, psdu = data[0], data[1:]
            if self.log_air:
                self.tr.note("air node %d -> %s ch %d: %s" % (sender, self.name, ch, psdu.hex()))
            with self.cond:
                self.heard.append((t, sender, ch, psdu))
                self.cond.notify_all()
            if self.auto_ack and ch == self.channel:
                m = parse_mac(psdu)
                if m and m[0] == 1 and m[1] and m[3] == self.eui:
                    self.send(imm_ack(m[2]), ch, what="imm-ack seq %d" % m[2])

    def send(self, psdu, channel=None, what="frame"):
        if channel is None:
            channel = self.channel
        self.tr.note("air %s (node %d) sends %s ch %d: %s" % (self.name, self.node, what, channel, psdu.hex()))
        self.tx.sendto(bytes([channel]) + psdu, (GROUP, self.port_base))

    def wait(self, pred, timeout=1.0, since=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(since, len(self.heard)):
                    if pred(self.heard[i]):
                        return self.heard[i]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.heard)

    def close(self):
        self.running = False
        self.thread.join()
        self.tx.close()
        self.rx.close()

# ---------------------------------------------------------------- scenarios

CHANNEL = 15
PANID = 0xFACE


def wait_boot(rcp, timeout=3.0):
    got = rcp.wait(lambda d: d and d.get("kind") == "reset", timeout)
    if got is None:
        rcp.tr.note("no power-on notification within %.0f ms" % (timeout * 1000))
    else:
        rcp.tr.note("power-on notification %.1f ms after the process started" % (got[0] - rcp.started))
    return got


def startup(rcp, channel=CHANNEL, eui=None, promiscuous=0):
    """The start-up our driver does (radio/rcp: initialise, identify, apply)."""
    wait_boot(rcp)
    rcp.tr.note("host RESET(stack)")
    rcp.reset(2)
    rcp.get(P_PROTOCOL_VERSION)
    rcp.get(P_NCP_VERSION)
    rcp.get(P_CAPS)
    hw = rcp.get(P_HWADDR)
    rcp.get(P_RCP_API_VERSION)
    rcp.get(P_RCP_MIN_HOST_API_VERSION)
    rcp.get(P_RADIO_CAPS)
    if eui is None:
        eui = bytes.fromhex(hw[2]["eui64"]) if hw else eui64_of(rcp.node)
    rcp.set(P_PHY_ENABLED, b"\x01")
    rcp.set(P_MAC_15_4_PANID, struct.pack("<H", PANID))
    rcp.set(P_MAC_15_4_SADDR, struct.pack("<H", 0xFFFE))
    rcp.set(P_MAC_15_4_LADDR, eui)
    rcp.set(P_PHY_TX_POWER, b"\x00")
    rcp.set(P_PHY_CHAN, bytes([channel]))
    rcp.set(P_MAC_PROMISCUOUS_MODE, bytes([promiscuous]))
    rcp.set(P_MAC_SRC_MATCH_ENABLED, b"\x00")
    rcp.set(P_MAC_SRC_MATCH_SHORT, b"")
    rcp.set(P_MAC_SRC_MATCH_EXT, b"")
    rcp.set(P_MAC_RAW_STREAM_ENABLED, b"\x01")
    return eui


def sc_startup(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    rcp.start()
    try:
        startup(rcp)
        tr.note("GETs read back what the SETs wrote")
        rcp.get(P_PHY_CHAN)
        rcp.get(P_MAC_RAW_STREAM_ENABLED)
        rcp.get(P_MAC_PROMISCUOUS_MODE)
        time.sleep(0.2)
    finally:
        rcp.stop()


def sc_transmit(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    peer_node = a.node + 1
    rcp.start()
    peer = Peer(peer_node, a.port_base, tr, CHANNEL, auto_ack=True, name="acking-peer")
    try:
        eui = startup(rcp)
        seq = 0x40
        tr.note("1. broadcast, no ACK requested")
        rcp.transmit(mac_frame(seq, PANID, b"\xff\xff", eui, b"broadcast", False), CHANNEL)
        time.sleep(0.05)
        tr.note("2. unicast with AR to an EUI-64 nobody has (02:00:00:00:00:00:00:99): NO_ACK after retries (MaxFrameRetries 3)")
        t0 = tr.now()
        got = rcp.transmit(mac_frame(seq + 1, PANID, bytes.fromhex("0200000000000099"), eui, b"nobody", True), CHANNEL)
        if got:
            tr.note("NO_ACK transmit-done %.1f ms after the request" % (got[0] - t0))
        time.sleep(0.05)
        tr.note("3. unicast with AR to the acking peer (node %d, EUI-64 %s): OK with the ACK frame" % (peer_node, peer.eui.hex()))
        rcp.transmit(mac_frame(seq + 2, PANID, peer.eui, eui, b"acked", True), CHANNEL)
        time.sleep(0.05)
        tr.note("4. broadcast with rx-channel-after-tx = 26 (tx channel 15): the RCP then listens on 26")
        rcp.transmit(mac_frame(seq + 3, PANID, b"\xff\xff", eui, b"then-26", False), CHANNEL, rx_after=26)
        time.sleep(0.05)
        tr.note("4a. peer sends a broadcast on channel 15: the RCP does not hear it (no STREAM_RAW)")
        m = rcp.mark()
        peer.send(mac_frame(0x10, PANID, b"\xff\xff", peer.eui, b"on-15", False), CHANNEL)
        if rcp.wait(lambda d: d and d.get("kind") == "rx", 0.3, m) is None:
            tr.note("nothing received within 300 ms: deaf on 15")
        tr.note("4b. peer sends a broadcast on channel 26: the RCP hears it")
        m = rcp.mark()
        peer.send(mac_frame(0x11, PANID, b"\xff\xff", peer.eui, b"on-26", False), 26)
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, m)
        tr.note("5. SET PHY_CHAN 15 puts it back on 15 (ncp_base.cpp: otLinkRawReceive when raw stream is on)")
        rcp.set(P_PHY_CHAN, bytes([CHANNEL]))
        tr.note("6. broadcast with rx-channel-after-tx = 15 = tx channel: still listening on 15")
        rcp.transmit(mac_frame(seq + 4, PANID, b"\xff\xff", eui, b"stay-15", False), CHANNEL, rx_after=CHANNEL)
        time.sleep(0.05)
        m = rcp.mark()
        peer.send(mac_frame(0x12, PANID, b"\xff\xff", peer.eui, b"on-15-again", False), CHANNEL)
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, m)
        tr.note("7. rx-channel-after-tx = 0, as lowpanbr sent it before the fix: the RCP listens on channel 0")
        rcp.transmit(mac_frame(seq + 5, PANID, b"\xff\xff", eui, b"then-0", False), CHANNEL, rx_after=0)
        time.sleep(0.05)
        m = rcp.mark()
        peer.send(mac_frame(0x13, PANID, b"\xff\xff", peer.eui, b"deaf?", False), CHANNEL)
        if rcp.wait(lambda d: d and d.get("kind") == "rx", 0.3, m) is None:
            tr.note("nothing received within 300 ms: deaf")
        rcp.set(P_PHY_CHAN, bytes([CHANNEL]))
        time.sleep(0.1)
    finally:
        peer.close()
        rcp.stop()


def sc_receive(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    peer_node = a.node + 1
    rcp.start()
    peer = Peer(peer_node, a.port_base, tr, CHANNEL, name="peer")
    try:
        eui = startup(rcp)
        tr.note("1. broadcast from the peer: IS STREAM_RAW, no ACK")
        m = rcp.mark()
        peer.send(mac_frame(0x20, PANID, b"\xff\xff", peer.eui, b"hello-bcast", False))
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, m)
        tr.note("2. unicast with AR to the RCP's EUI-64: the RCP ACKs on the medium at once and sends IS STREAM_RAW")
        m = rcp.mark()
        pm = peer.mark()
        t0 = tr.now()
        peer.send(mac_frame(0x21, PANID, eui, peer.eui, b"hello-unicast", True))
        ack = peer.wait(lambda h: h[1] == a.node, 0.5, pm)
        if ack:
            tr.note("ACK from the RCP seen on the medium %.3f ms after the frame was sent" % (ack[0] - t0))
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, m)
        tr.note("3. unicast to another EUI-64: dropped by the RCP's address filter (no STREAM_RAW, no ACK)")
        m = rcp.mark()
        peer.send(mac_frame(0x22, PANID, bytes.fromhex("0200000000000077"), peer.eui, b"not-for-you", True))
        if rcp.wait(lambda d: d and d.get("kind") == "rx", 0.3, m) is None:
            tr.note("nothing within 300 ms")
        tr.note("4. broadcast from the peer on another PAN ID (0x1234): dropped")
        m = rcp.mark()
        peer.send(mac_frame(0x23, 0x1234, b"\xff\xff", peer.eui, b"other-pan", False))
        if rcp.wait(lambda d: d and d.get("kind") == "rx", 0.3, m) is None:
            tr.note("nothing within 300 ms")
        tr.note("5. unicast to the RCP's short address 0x0001 after SET SADDR 0x0001, with AR: ACKed")
        rcp.set(P_MAC_15_4_SADDR, struct.pack("<H", 1))
        m = rcp.mark()
        peer.send(mac_frame(0x24, PANID, b"\x01\x00", peer.eui, b"to-short", True))
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, m)
        time.sleep(0.05)
        tr.note("6. promiscuous mode FULL: frames to others and the peer's ACK traffic are delivered; the RCP sends no ACKs")
        rcp.set(P_MAC_PROMISCUOUS_MODE, b"\x02")
        m = rcp.mark()
        peer.send(mac_frame(0x25, PANID, bytes.fromhex("0200000000000077"), peer.eui, b"promisc", True))
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, m)
        m = rcp.mark()
        pm = peer.mark()
        peer.send(mac_frame(0x26, PANID, eui, peer.eui, b"promisc-to-rcp", True))
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, m)
        if peer.wait(lambda h: h[1] == a.node, 0.2, pm) is None:
            tr.note("no ACK from the RCP within 200 ms (promiscuous)")
        peer.send(imm_ack(0x26), what="imm-ack")
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, rcp.mark())
        rcp.set(P_MAC_PROMISCUOUS_MODE, b"\x00")
        time.sleep(0.1)
    finally:
        peer.close()
        rcp.stop()


def chatter(peer, port_base, stop):
    seq = 0
    while not stop.is_set():
        peer.tx.sendto(bytes([CHANNEL]) + mac_frame(seq & 0xFF, PANID, b"\xff\xff", peer.eui, b"chatter", False),
                       (GROUP, port_base))
        seq += 1
        time.sleep(0.005)


def sc_host_reset(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    peer_node = a.node + 1
    rcp.start()
    peer = Peer(peer_node, a.port_base, tr, CHANNEL, name="peer", log_air=False)
    stop = threading.Event()
    th = threading.Thread(target=chatter, args=(peer, a.port_base, stop), daemon=True)
    try:
        eui = startup(rcp)
        tr.note("the peer broadcasts a frame every 5 ms on channel 15 from now on (not logged as air lines)")
        th.start()
        time.sleep(0.05)
        tr.note("host RESET(stack) while frames are being received (no transmission pending)")
        rcp.reset(2)
        m = rcp.mark()
        if rcp.wait(lambda d: d and d.get("kind") == "rx", 0.2, m) is None:
            tr.note("no STREAM_RAW for 200 ms after RESET(stack): the raw stream is off and the radio disabled")
        rcp.get(P_PHY_ENABLED)
        rcp.get(P_MAC_RAW_STREAM_ENABLED)
        rcp.get(P_PHY_CHAN)
        rcp.get(P_MAC_15_4_PANID)
        tr.note("re-applying the settings; reception resumes with RAW_STREAM_ENABLED")
        for p, v in [(P_PHY_ENABLED, b"\x01"), (P_MAC_15_4_PANID, struct.pack("<H", PANID)),
                     (P_MAC_15_4_LADDR, eui), (P_PHY_CHAN, bytes([CHANNEL])), (P_MAC_RAW_STREAM_ENABLED, b"\x01")]:
            rcp.set(p, v)
        rcp.wait(lambda d: d and d.get("kind") == "rx", 0.5, rcp.mark())
        time.sleep(0.03)
        pid = rcp.proc.pid
        tr.note("host RESET(platform): the simulation platform re-executes ot-rcp (execvp, same pid)")
        rcp.reset(1, timeout=3.0)
        tr.note("pid %d still running: %s" % (pid, rcp.proc.poll() is None))
        m = rcp.mark()
        if rcp.wait(lambda d: d and d.get("kind") == "rx", 0.2, m) is None:
            tr.note("no STREAM_RAW for 200 ms after the re-exec")
        rcp.get(P_PHY_ENABLED)
        rcp.get(P_MAC_RAW_STREAM_ENABLED)
        rcp.get(P_HWADDR)
        stop.set()
        th.join()
        tr.note("chatter stopped")
        time.sleep(0.05)
    finally:
        stop.set()
        peer.close()
        rcp.stop()


def sc_reset_during_tx(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    rcp.start()
    try:
        eui = startup(rcp)
        tr.note("STREAM_RAW to nobody with AR (the radio waits 16 ms for an ACK after each attempt), RESET(stack) 5 ms later")
        rcp.transmit(mac_frame(0x50, PANID, bytes.fromhex("0200000000000099"), eui, b"pending", True), CHANNEL, wait=False)
        time.sleep(0.005)
        if rcp.reset(2, timeout=1.0) is None:
            tr.note("no reset notification within 1 s")
        try:
            rcp.proc.wait(2)
        except subprocess.TimeoutExpired:
            pass
        rc = rcp.proc.poll()
        if rc is None:
            tr.note("ot-rcp still running")
        elif rc < 0:
            tr.note("ot-rcp ended by signal %d (%s): Radio::Init asserts on otPlatRadioSleep failing in the TRANSMIT state"
                    % (-rc, signal.Signals(-rc).name))
        else:
            tr.note("ot-rcp exited with status %d" % rc)
    finally:
        rcp.stop()


def sc_unexpected_reset(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    rcp.start()
    try:
        startup(rcp)
        rcp.kill9()
        tr.note("starting the same program again on a new PTY, the host asks nothing")
        rcp2 = RCP(a.ot_rcp, a.node, a.port_base, tr)
        rcp2.tid = rcp.tid
        rcp.stop()
        rcp2.start()
        wait_boot(rcp2)
        time.sleep(0.3)
        tr.note("nothing else arrives unasked; a GET confirms it answers")
        rcp2.get(P_PHY_ENABLED)
        rcp2.get(P_MAC_RAW_STREAM_ENABLED)
        time.sleep(0.05)
        rcp2.stop()
    finally:
        rcp.stop()


def sc_second_tx(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    peer_node = a.node + 1
    rcp.start()
    peer = Peer(peer_node, a.port_base, tr, CHANNEL, auto_ack=True, name="acking-peer")
    try:
        eui = startup(rcp)
        tr.note("1. STREAM_RAW A (unicast with AR to nobody, pending for tens of ms), then STREAM_RAW B (broadcast) 3 ms later")
        tid_a, m = rcp.transmit(mac_frame(0x60, PANID, bytes.fromhex("0200000000000099"), eui, b"first-A", True), CHANNEL, wait=False)
        time.sleep(0.003)
        tid_b, _ = rcp.transmit(mac_frame(0x61, PANID, b"\xff\xff", eui, b"second-B", False), CHANNEL, wait=False)
        rcp.wait(lambda d: d and d.get("tid") == tid_b, 1.0, m)
        if rcp.wait(lambda d: d and d.get("tid") == tid_a, 1.0, m) is None:
            tr.note("no answer with A's tid %d within 1 s" % tid_a)
        time.sleep(0.1)
        tr.note("2. the same with B sent in the same write as A (back to back, no delay)")
        tid_a = rcp.next_tid()
        tid_b = rcp.next_tid()
        m = rcp.mark()
        for tid, psdu in ((tid_a, mac_frame(0x62, PANID, bytes.fromhex("0200000000000099"), eui, b"first-A2", True)),
                          (tid_b, mac_frame(0x63, PANID, peer.eui, eui, b"second-B2", True))):
            rcp.transmit(psdu, CHANNEL, tid=tid, wait=False)
        rcp.wait(lambda d: d and d.get("tid") == tid_b, 1.0, m)
        if rcp.wait(lambda d: d and d.get("tid") == tid_a, 1.0, m) is None:
            tr.note("no answer with A's tid %d within 1 s" % tid_a)
        time.sleep(0.1)
    finally:
        peer.close()
        rcp.stop()


def sc_energy_scan(a, tr):
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    rcp.start()
    try:
        eui = startup(rcp)
        for ch, period in ((20, 100), (11, 500)):
            tr.note("energy scan of channel %d for %d ms: SET SCAN_MASK, SET SCAN_PERIOD, SET SCAN_STATE=ENERGY(2)" % (ch, period))
            rcp.set(P_MAC_SCAN_MASK, bytes([ch]))
            rcp.set(P_MAC_SCAN_PERIOD, struct.pack("<H", period))
            m = rcp.mark()
            t0 = tr.now()
            got = rcp.set(P_MAC_SCAN_STATE, b"\x02")
            if got:
                tr.note("SET SCAN_STATE answered %.1f ms after the request" % (got[0] - t0))
            res = rcp.wait(lambda d: d and d.get("prop") == "MAC_ENERGY_SCAN_RESULT", period / 1000.0 + 2, m)
            if res:
                tr.note("ENERGY_SCAN_RESULT %.1f ms after the request" % (res[0] - t0))
            idle = rcp.wait(lambda d: d and d.get("prop") == "MAC_SCAN_STATE" and d.get("tid") == 0, 1.0, m)
            if idle:
                tr.note("IS MAC_SCAN_STATE (tid 0) %.1f ms after the request" % (idle[0] - t0))
        tr.note("a STREAM_RAW during a scan is refused")
        rcp.set(P_MAC_SCAN_PERIOD, struct.pack("<H", 300))
        rcp.set(P_MAC_SCAN_STATE, b"\x02")
        rcp.transmit(mac_frame(0x70, PANID, b"\xff\xff", eui, b"during-scan", False), CHANNEL)
        tr.note("a second SET SCAN_STATE=ENERGY during the scan")
        rcp.set(P_MAC_SCAN_STATE, b"\x02")
        rcp.wait(lambda d: d and d.get("prop") == "MAC_SCAN_STATE" and d.get("tid") == 0, 1.0, rcp.mark())
        time.sleep(0.05)
    finally:
        rcp.stop()


def sc_reset_burst(a, tr):
    """Requests written before ot-rcp has booted, and RESET pipelined with
    a request: TID != 0 answers go in the RCP's high-priority queue and
    overtake TID 0 frames (src/lib/spinel/spinel_encoder.cpp
    Encoder::BeginFrame)."""
    def burst(rcp, frames):
        with tr.lock:
            for f in frames:
                tr.lines.append("> %.3f %s" % (tr.now(), f.hex()))
        os.write(rcp.master, b"".join(hdlc_encode(f) for f in frames))

    tr.note("1. RESET(stack) and GET HWADDR written to the PTY in one write right after starting ot-rcp, before its boot notification")
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    rcp.start()
    burst(rcp, [spinel_frame(1, 1, None, b"\x02"), spinel_frame(2, 2, P_HWADDR)])
    time.sleep(0.3)
    tr.note("2. once booted: RESET(stack) and GET HWADDR in one write: the GET's answer comes before the reset notification")
    burst(rcp, [spinel_frame(3, 1, None, b"\x02"), spinel_frame(4, 2, P_HWADDR)])
    time.sleep(0.2)
    tr.note("3. RESET(stack), then GET HWADDR after the reset notification: in order")
    rcp.tid = 4
    rcp.reset(2)
    rcp.get(P_HWADDR)
    time.sleep(0.1)
    rcp.stop()
    tr.note("4. a new process; GET HWADDR written right after the start: answered before the boot notification")
    rcp = RCP(a.ot_rcp, a.node, a.port_base, tr)
    rcp.start()
    burst(rcp, [spinel_frame(7, 2, P_HWADDR)])
    time.sleep(0.3)
    rcp.stop()


SCENARIOS = {
    "01-startup": (sc_startup, "start-up as lowpanbr's driver does it"),
    "02-transmit": (sc_transmit, "STREAM_RAW transmissions and their transmit-done; rx-channel-after-tx"),
    "03-receive": (sc_receive, "frames from a fake peer on the UDP medium as IS STREAM_RAW; address filter; promiscuous"),
    "04-host-reset": (sc_host_reset, "host RESET(stack) in the middle of received traffic, then RESET(platform)"),
    "04b-reset-during-tx": (sc_reset_during_tx, "host RESET(stack) while a transmission waits for its ACK: the simulation RCP aborts"),
    "05-unexpected-reset": (sc_unexpected_reset, "kill -9 and restart: the power-on notification with nothing asked"),
    "06-second-tx": (sc_second_tx, "a second STREAM_RAW before the first one's transmit-done"),
    "07-energy-scan": (sc_energy_scan, "energy scan of one channel with its timing"),
    "08-reset-burst": (sc_reset_burst, "requests before boot and pipelined after RESET: answers overtake TID 0 notifications"),
}


def reannotate(path):
    """Rewrite the "#=" lines of a transcript from its frames (after a change
    to describe()); the captured bytes are not touched."""
    out, tx_tids = [], set()
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        if line.startswith("#="):
            continue
        out.append(line)
        if line[:1] not in "<>" or not line:
            continue
        frame = bytes.fromhex(line.split()[2])
        if line[0] == ">":
            if frame[1:2] == b"\x03" and frame[2:3] == bytes([P_STREAM_RAW]):
                tx_tids.add(frame[0] & 0x0F)
            continue
        try:
            d = describe(frame, tx_tids)
        except ValueError as e:
            d = {"error": str(e)}
        if d.get("tid") in tx_tids and d.get("prop") == "LAST_STATUS":
            tx_tids.discard(d["tid"])
        out.append("#= " + json.dumps(d, sort_keys=True))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ot-rcp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--node", type=int, default=1)
    ap.add_argument("--port-base", type=int, default=19000,
                    help="PORT_BASE for ot-rcp and the fake peers (not 9000, so other simulations do not interfere)")
    ap.add_argument("--commit", default="")
    ap.add_argument("--reannotate", action="store_true",
                    help="rewrite the #= lines of the transcripts in --out from their frames, capture nothing")
    ap.add_argument("scenarios", nargs="*")
    a = ap.parse_args()
    if a.reannotate:
        for name in a.scenarios or sorted(SCENARIOS):
            reannotate(os.path.join(a.out, name + ".txt"))
        return
    names = a.scenarios or sorted(SCENARIOS)
    for name in names:
        fn, what = SCENARIOS[name]
        path = os.path.join(a.out, name + ".txt")
        header = [
            "what: " + what,
            "produced by: radio/rcp/testdata/ot-rcp/capture.py (see README.md)",
            "program: ot-rcp %d (OpenThread simulation platform), PORT_BASE=%d, channel %d, PAN ID 0x%04x" % (a.node, a.port_base, CHANNEL, PANID),
        ]
        if a.commit:
            header.append("openthread commit: " + a.commit)
        tr = Transcript(path, name, header)
        fn(a, tr)
        tr.save()
        print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()
