package pcapio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestReadTestdata(t *testing.T) {
	tests := []struct {
		file     string
		linkType uint32
		count    int
		first    Packet // Data checked by length and prefix only
		prefix   []byte
	}{
		{"gen_iphc_fcs.pcap", LinkTypeIEEE802154WithFCS, 9,
			Packet{Timestamp: time.Unix(1700000000, 0), LinkType: 195, OrigLen: 45}, []byte{0x41, 0xcc, 0x01, 0xcd, 0xab}},
		{"gen_frag.pcap", LinkTypeIEEE802154WithFCS, 5,
			Packet{Timestamp: time.Unix(1700000000, 0), LinkType: 195, OrigLen: 124}, []byte{0x41, 0xcc, 0x14, 0xcd, 0xab}},
		{"gen_zep.pcap", LinkTypeEthernet, 14,
			Packet{Timestamp: time.Unix(1700000000, 0), LinkType: 1, OrigLen: 119}, []byte{0, 0, 0, 0, 0, 0}},
		// Captured 38 of 2086 bytes, although the header's snaplen is 13.
		{"tcpdump_802_15_4-data.pcap", LinkTypeIEEE802154WithFCS, 1,
			Packet{Timestamp: time.Unix(1346991333, 623120000), LinkType: 195, OrigLen: 2086}, []byte{0x21, 0xec, 0x01, 0x4d, 0xab}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			lt, pkts := readTestdata(t, tt.file)
			if lt != tt.linkType {
				t.Errorf("LinkType() = %d, want %d", lt, tt.linkType)
			}
			if len(pkts) != tt.count {
				t.Fatalf("%d packets, want %d", len(pkts), tt.count)
			}
			p := pkts[0]
			if !p.Timestamp.Equal(tt.first.Timestamp) || p.LinkType != tt.first.LinkType || p.OrigLen != tt.first.OrigLen ||
				!bytes.HasPrefix(p.Data, tt.prefix) || p.Interface != 0 {
				t.Errorf("first packet %s, want ts %v link %d orig %d data starting % x",
					fmtPacket(p), tt.first.Timestamp.UTC(), tt.first.LinkType, tt.first.OrigLen, tt.prefix)
			}
			if tt.file != "tcpdump_802_15_4-data.pcap" && len(p.Data) != p.OrigLen {
				t.Errorf("captured %d of %d bytes, want the whole frame", len(p.Data), p.OrigLen)
			}
			for i, p := range pkts {
				if p.Timestamp.Location() != time.UTC {
					t.Errorf("packet %d timestamp in %v, want UTC", i, p.Timestamp.Location())
				}
			}
		})
	}
}

// crcKermit is CRC-16/KERMIT (the IEEE 802.15.4 FCS), computed bit by bit.
func crcKermit(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// gen_zep.pcap holds the frames of gen_iphc_fcs.pcap and gen_frag.pcap, in
// that order, as ZEP v2 data on channel 11 in IPv4/UDP to port 17754.
func TestZEPCaptureCarriesFrames(t *testing.T) {
	_, iphc := readTestdata(t, "gen_iphc_fcs.pcap")
	_, frag := readTestdata(t, "gen_frag.pcap")
	frames := append(iphc, frag...)
	lt, zeps := readTestdata(t, "gen_zep.pcap")
	if len(zeps) != len(frames) {
		t.Fatalf("gen_zep.pcap has %d packets, want %d", len(zeps), len(frames))
	}
	loop := netip.MustParseAddr("127.0.0.1")
	for i, p := range zeps {
		u, err := ExtractUDP(lt, p.Data)
		if err != nil {
			t.Fatalf("packet %d: ExtractUDP: %v", i, err)
		}
		if u.Dst != netip.AddrPortFrom(loop, ZEPPort) || u.Src.Addr() != loop {
			t.Errorf("packet %d: UDP %v → %v, want 127.0.0.1 → 127.0.0.1:%d", i, u.Src, u.Dst, ZEPPort)
		}
		var z ZEP
		if err := z.Decode(u.Payload); err != nil {
			t.Fatalf("packet %d: ZEP Decode: %v", i, err)
		}
		want := ZEP{Version: 2, Type: ZEPTypeData, Channel: 11, DeviceID: 1, LQIMode: true, LQI: 0xff, Seq: uint32(i)}
		got := z
		got.PSDU = nil
		if !sameZEP(got, want) {
			t.Errorf("packet %d: header (-want +got)\n-%+v\n+%+v", i, want, got)
		}
		if !bytes.Equal(z.PSDU, frames[i].Data) {
			t.Errorf("packet %d: PSDU (-want +got)\n-% x\n+% x", i, frames[i].Data, z.PSDU)
		}
		// CRC mode: the last two bytes are the FCS, and it checks.
		n := len(z.PSDU)
		if !z.HasFCS() || crcKermit(z.PSDU[:n-2]) != binary.LittleEndian.Uint16(z.PSDU[n-2:]) {
			t.Errorf("packet %d: HasFCS %t, FCS % x, computed %04x", i, z.HasFCS(), z.PSDU[n-2:], crcKermit(z.PSDU[:n-2]))
		}
	}
}

// editcap converts the test captures to pcapng and nanosecond pcap; the
// Reader must see the same packets in every form.
func TestEditcapConversions(t *testing.T) {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap (Wireshark) not installed: skipping pcapng and nanosecond-pcap conversion checks")
	}
	dir := t.TempDir()
	convert := func(t *testing.T, format, in string) string {
		t.Helper()
		out := filepath.Join(dir, filepath.Base(in)+"."+format)
		if b, err := exec.Command(editcap, "-F", format, in, out).CombinedOutput(); err != nil {
			t.Fatalf("editcap -F %s %s: %v\n%s", format, in, err, b)
		}
		return out
	}
	for _, file := range []string{"gen_iphc_fcs.pcap", "gen_frag.pcap", "gen_zep.pcap", "tcpdump_802_15_4-data.pcap"} {
		t.Run(file, func(t *testing.T) {
			in := filepath.Join("testdata", file)
			wantLT, want := readTestdata(t, file)
			ns := convert(t, "nsecpcap", in)
			for _, path := range []string{
				convert(t, "pcapng", in),
				ns,
				convert(t, "pcapng", ns), // if_tsresol 9
			} {
				b := readFileAbs(t, path)
				lt, got := readAll(t, b)
				if lt != wantLT {
					t.Errorf("%s: LinkType() = %d, want %d", filepath.Base(path), lt, wantLT)
				}
				if d := diffPackets(want, got); d != "" {
					t.Errorf("%s: packets differ (-want +got):\n%s", filepath.Base(path), d)
				}
			}
		})
	}
}

func readFileAbs(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClassicPcapVariants(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5}
	for _, tt := range []struct {
		name string
		o    byteOrder
		nano bool
		frac uint32
		want time.Time
	}{
		{"little-endian µs", binary.LittleEndian, false, 123456, time.Unix(1700000000, 123456000)},
		{"big-endian µs", binary.BigEndian, false, 123456, time.Unix(1700000000, 123456000)},
		{"little-endian ns", binary.LittleEndian, true, 123456789, time.Unix(1700000000, 123456789)},
		{"big-endian ns", binary.BigEndian, true, 123456789, time.Unix(1700000000, 123456789)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// FCS bits above the 16-bit link type (draft-ietf-opsawg-pcap §5) are ignored.
			f := pcapFile(tt.o, tt.nano, 0x14000000|LinkTypeIEEE802154NoFCS, pcapRecord(tt.o, 1700000000, tt.frac, data, 9))
			lt, got := readAll(t, f)
			want := []Packet{{Timestamp: tt.want, LinkType: LinkTypeIEEE802154NoFCS, Data: data, OrigLen: 9}}
			if lt != LinkTypeIEEE802154NoFCS {
				t.Errorf("LinkType() = %d, want %d", lt, LinkTypeIEEE802154NoFCS)
			}
			if d := diffPackets(want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// Every prefix of a classic pcap file either ends on a record boundary (and
// reads cleanly to io.EOF) or gives ErrMalformed.
func TestPcapTruncation(t *testing.T) {
	for _, o := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		r1 := pcapRecord(o, 1, 2, bytes.Repeat([]byte{0xaa}, 10), 10)
		r2 := pcapRecord(o, 3, 4, bytes.Repeat([]byte{0xbb}, 7), 7)
		f := pcapFile(o, false, LinkTypeEthernet, r1, r2)
		boundaries := map[int]int{24: 0, 24 + len(r1): 1, len(f): 2}
		for n := 0; n <= len(f); n++ {
			count, err := drain(f[:n])
			if want, ok := boundaries[n]; ok {
				if err != io.EOF || count != want {
					t.Errorf("%v prefix %d: %d packets, %v; want %d, io.EOF", o, n, count, err, want)
				}
				continue
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v prefix %d: error %v, want ErrMalformed", o, n, err)
			}
		}
	}
}

// Every prefix of a pcapng file either ends on a block boundary or gives
// ErrMalformed.
func TestPcapngTruncation(t *testing.T) {
	for _, o := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		g := &ngWriter{}
		var ends []int
		mark := func() { ends = append(ends, len(g.b)) }
		g.shb(o)
		mark()
		g.block(4, []byte{0, 0, 0, 0}) // empty Name Resolution Block
		mark()
		g.idb(LinkTypeIEEE802154WithFCS, 0, g.opt(optTSResol, []byte{9}))
		mark()
		g.epb(0, 1e9, []byte{1, 2, 3}, 3)
		mark()
		g.spb(5, []byte{1, 2, 3, 4, 5})
		mark()
		g.pb(0, 2e9, []byte{9}, 1)
		mark()
		g.shb(o)
		mark()
		g.idb(LinkTypeEthernet, 0)
		mark()
		g.epb(0, 5, []byte{7, 7}, 2)
		mark()
		packetsBefore := map[int]int{}
		pk := 0
		for i, e := range ends {
			if i == 3 || i == 4 || i == 5 || i == 8 {
				pk++
			}
			packetsBefore[e] = pk
		}
		f := g.b
		for n := 0; n <= len(f); n++ {
			count, err := drain(f[:n])
			if want, ok := packetsBefore[n]; ok {
				if err != io.EOF || count != want {
					t.Errorf("%v prefix %d: %d packets, %v; want %d, io.EOF", o, n, count, err, want)
				}
				continue
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v prefix %d: error %v, want ErrMalformed", o, n, err)
			}
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestReaderErrors(t *testing.T) {
	le := binary.LittleEndian
	ng := func(build func(g *ngWriter)) []byte {
		g := &ngWriter{}
		g.shb(le)
		build(g)
		return g.b
	}
	// patch returns b with the 32-bit little-endian word at off set to v.
	patch := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		le.PutUint32(b[off:], v)
		return b
	}
	goodNG := ng(func(g *ngWriter) {
		g.idb(LinkTypeIEEE802154WithFCS, 0)
		g.epb(0, 1, []byte{1, 2, 3, 4}, 4)
	})
	const shbLen, idbLen = 28, 20
	epbOff := shbLen + idbLen
	tests := []struct {
		name    string
		in      []byte
		want    error
		packets int
	}{
		{"empty", nil, ErrMalformed, 0},
		{"short magic", []byte{0xd4, 0xc3}, ErrMalformed, 0},
		{"bad magic", []byte("GIF89a, not a capture file at all"), ErrMalformed, 0},
		{"modified pcap", append(le.AppendUint32(nil, magicModified), make([]byte, 20)...), ErrUnsupported, 0},
		{"pcap version 3", patch(pcapFile(le, false, 1), 4, 3), ErrUnsupported, 0},
		{"pcap caplen absurd", pcapFile(le, false, 1, pcapRecord(le, 0, 0, nil, 0)[:8], le.AppendUint32(nil, 0xfffffff0), le.AppendUint32(nil, 0xfffffff0)), ErrMalformed, 0},
		{"pcap caplen just over limit", pcapFile(le, false, 1, le.AppendUint64(nil, 0), le.AppendUint32(nil, MaxRecordLen+1), le.AppendUint32(nil, 0)), ErrMalformed, 0},
		{"pcap caplen beyond file", pcapFile(le, false, 1, le.AppendUint64(nil, 0), le.AppendUint32(nil, 100), le.AppendUint32(nil, 100), make([]byte, 99)), ErrMalformed, 0},

		{"pcapng bad byte-order magic", patch(goodNG, 8, 0x12345678), ErrMalformed, 0},
		{"pcapng version 2", patch(goodNG, 12, 2), ErrUnsupported, 0},
		{"pcapng SHB too short", patch(patch(goodNG, 4, 24), 24, 24), ErrMalformed, 0},
		{"pcapng SHB absurd length", patch(goodNG, 4, 0xfffffff0), ErrMalformed, 0},
		{"pcapng SHB trailer mismatch", patch(goodNG, 24, 32), ErrMalformed, 0},
		{"pcapng IDB trailer mismatch", patch(goodNG, shbLen+16, 24), ErrMalformed, 0},
		{"pcapng IDB too short", patch(goodNG, shbLen+4, 16), ErrMalformed, 0},
		{"pcapng block length below 12", patch(goodNG, epbOff+4, 8), ErrMalformed, 0},
		{"pcapng block length not a multiple of 4", patch(goodNG, epbOff+4, 37), ErrMalformed, 0},
		{"pcapng EPB absurd length", patch(goodNG, epbOff+4, 0xfffffff0), ErrMalformed, 0},
		{"pcapng EPB length just over limit", patch(goodNG, epbOff+4, maxBlockLen+4), ErrMalformed, 0},
		{"pcapng EPB too short", patch(goodNG, epbOff+4, 28), ErrMalformed, 0},
		{"pcapng EPB trailer mismatch", patch(goodNG, len(goodNG)-4, 40), ErrMalformed, 0},
		{"pcapng EPB length larger than file", patch(goodNG, epbOff+4, 40), ErrMalformed, 0},
		{"pcapng EPB caplen beyond block", patch(goodNG, epbOff+20, 5), ErrMalformed, 0},
		{"pcapng EPB caplen absurd", patch(goodNG, epbOff+20, 0xffffffff), ErrMalformed, 0},
		{"pcapng EPB unknown interface", patch(goodNG, epbOff+8, 1), ErrMalformed, 0},
		{"pcapng SPB before any IDB", ng(func(g *ngWriter) { g.spb(1, []byte{1}) }), ErrMalformed, 0},
		{"pcapng SPB shorter than its packet", ng(func(g *ngWriter) {
			g.idb(1, 0)
			g.spb(9, []byte{1, 2, 3, 4})
		}), ErrMalformed, 0},
		{"pcapng PB unknown interface", ng(func(g *ngWriter) {
			g.idb(1, 0)
			g.pb(3, 0, []byte{1}, 1)
		}), ErrMalformed, 0},
		{"pcapng EPB in a new section refers to the old one's interface", ng(func(g *ngWriter) {
			g.idb(1, 0)
			g.epb(0, 0, []byte{1}, 1)
			g.shb(le)
			g.epb(0, 0, []byte{1}, 1)
		}), ErrMalformed, 1},
		{"pcapng IDB option overruns block", ng(func(g *ngWriter) {
			g.idb(1, 0, le.AppendUint32(le.AppendUint16(le.AppendUint16(nil, optTSResol), 200), 0))
		}), ErrMalformed, 0},
		{"pcapng if_tsresol of 2 bytes", ng(func(g *ngWriter) { g.idb(1, 0, g.opt(optTSResol, []byte{9, 9})) }), ErrMalformed, 0},
		{"pcapng if_tsoffset of 4 bytes", ng(func(g *ngWriter) { g.idb(1, 0, g.opt(optTSOffset, []byte{1, 2, 3, 4})) }), ErrMalformed, 0},
		{"pcapng if_tsresol 10^-20", ng(func(g *ngWriter) { g.idb(1, 0, g.opt(optTSResol, []byte{20})) }), ErrUnsupported, 0},
		{"pcapng if_tsresol 2^-64", ng(func(g *ngWriter) { g.idb(1, 0, g.opt(optTSResol, []byte{0x80 | 64})) }), ErrUnsupported, 0},
		{"pcapng unknown block trailer mismatch", ng(func(g *ngWriter) {
			g.idb(1, 0)
			g.block(0x0bad, []byte{1, 2, 3, 4})
			g.b[len(g.b)-1] = 0x7f
		}), ErrMalformed, 0},
		{"pcapng unknown block of 4 GiB truncated", ng(func(g *ngWriter) {
			g.idb(1, 0)
			g.b = le.AppendUint32(g.b, 0x0bad)
			g.b = le.AppendUint32(g.b, 0xfffffffc)
			g.b = append(g.b, make([]byte, 100)...)
		}), ErrMalformed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			var err error
			if a := allocated(func() { n, err = drain(tt.in) }); a > 2<<20 {
				t.Errorf("allocated %d bytes", a)
			}
			wantErr(t, err, tt.want)
			if n != tt.packets {
				t.Errorf("read %d packets before the error, want %d", n, tt.packets)
			}
			t.Log(err)
		})
	}
}

// After an error, Next keeps returning it.
func TestReaderStickyError(t *testing.T) {
	f := pcapFile(binary.LittleEndian, false, 1, pcapRecord(binary.LittleEndian, 0, 0, []byte{1, 2}, 2))
	r, err := NewReader(bytes.NewReader(f[:len(f)-1]))
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if !errors.Is(err1, ErrMalformed) || err2 != err1 {
		t.Errorf("errors %v, %v; want the same ErrMalformed twice", err1, err2)
	}
}

// A record exactly MaxRecordLen long is accepted.
func TestReaderMaxRecord(t *testing.T) {
	data := bytes.Repeat([]byte{0x5a}, MaxRecordLen)
	le := binary.LittleEndian
	_, pkts := readAll(t, pcapFile(le, false, 1, pcapRecord(le, 1, 0, data, MaxRecordLen)))
	if len(pkts) != 1 || !bytes.Equal(pkts[0].Data, data) {
		t.Errorf("got %d packets, want one of %d bytes", len(pkts), MaxRecordLen)
	}
	g := &ngWriter{}
	g.shb(le)
	g.idb(1, 0)
	g.epb(0, 0, data, MaxRecordLen)
	_, pkts = readAll(t, g.b)
	if len(pkts) != 1 || !bytes.Equal(pkts[0].Data, data) {
		t.Errorf("pcapng: got %d packets, want one of %d bytes", len(pkts), MaxRecordLen)
	}
}

func TestReaderNextAllocs(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  io.Reader
	}{
		{"pcap", pcapLoop()},
		{"pcapng", pcapngLoop()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			for range 10 { // warm up the buffer
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if a := testing.AllocsPerRun(1000, func() {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("Next allocates %v times per packet, want 0", a)
			}
		})
	}
}

// loopReader serves head once, then body forever: an endless capture.
type loopReader struct {
	head, body []byte
	off        int
	inBody     bool
}

func (l *loopReader) Read(p []byte) (int, error) {
	src := l.head
	if l.inBody {
		src = l.body
	}
	n := copy(p, src[l.off:])
	l.off += n
	if l.off == len(src) {
		l.off, l.inBody = 0, true
	}
	return n, nil
}

// pcapLoop is an endless classic pcap of 802.15.4 frames of 20–127 bytes.
func pcapLoop() *loopReader {
	le := binary.LittleEndian
	var body []byte
	for i := range 16 {
		n := 20 + i*107/15
		body = append(body, pcapRecord(le, uint32(1700000000+i), uint32(i), bytes.Repeat([]byte{byte(i)}, n), uint32(n))...)
	}
	return &loopReader{head: pcapFile(le, false, LinkTypeIEEE802154WithFCS), body: body}
}

// pcapngLoop is an endless pcapng of Enhanced Packet Blocks on two interfaces.
func pcapngLoop() *loopReader {
	g := &ngWriter{}
	g.shb(binary.LittleEndian)
	g.idb(LinkTypeIEEE802154WithFCS, 0)
	g.idb(LinkTypeEthernet, 0, g.opt(optTSResol, []byte{9}))
	head := g.b
	g.b = nil
	for i := range 16 {
		n := 20 + i*107/15
		g.epb(uint32(i%2), uint64(1700000000+i)*1e6, bytes.Repeat([]byte{byte(i)}, n), uint32(n))
	}
	return &loopReader{head: head, body: g.b}
}

// A record or block that claims more than the file holds costs memory in
// proportion to the file, not to the claim.
func TestReaderClaimedLengthCostsNoMemory(t *testing.T) {
	le := binary.LittleEndian
	pcap := pcapFile(le, false, 1, le.AppendUint64(nil, 0), le.AppendUint32(nil, MaxRecordLen), le.AppendUint32(nil, MaxRecordLen), make([]byte, 10))
	g := &ngWriter{}
	g.shb(le)
	g.idb(1, 0)
	g.b = le.AppendUint32(g.b, blockEPB)
	g.b = le.AppendUint32(g.b, maxBlockLen)
	g.b = append(g.b, make([]byte, 100)...)
	for name, f := range map[string][]byte{"pcap": pcap, "pcapng": g.b} {
		var err error
		// The Reader's own 64 KiB read buffer plus small change.
		if a := allocated(func() { _, err = drain(f) }); a > 80<<10 {
			t.Errorf("%s: allocated %d bytes for a %d-byte file", name, a, len(f))
		}
		wantErr(t, err, ErrMalformed)
	}
}
