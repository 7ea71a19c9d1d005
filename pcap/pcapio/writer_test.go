package pcapio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

func TestWriterRoundTrip(t *testing.T) {
	for _, file := range []string{"gen_iphc_fcs.pcap", "gen_zep.pcap", "tcpdump_802_15_4-data.pcap"} {
		t.Run(file, func(t *testing.T) {
			lt, want := readTestdata(t, file)
			var buf bytes.Buffer
			w, err := NewWriter(&buf, lt)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range want {
				if err := w.WritePacketOrigLen(p.Timestamp, p.Data, p.OrigLen); err != nil {
					t.Fatal(err)
				}
			}
			// The inputs are little-endian µs pcap: magic, version, link
			// type and records match byte for byte (thiszone and snaplen
			// may differ).
			orig := readFile(t, file)
			got := buf.Bytes()
			if len(got) != len(orig) || !bytes.Equal(got[:8], orig[:8]) || !bytes.Equal(got[20:], orig[20:]) {
				t.Errorf("rewritten file differs from %s", file)
			}
			gotLT, gotPkts := readAll(t, got)
			if gotLT != lt {
				t.Errorf("LinkType() = %d, want %d", gotLT, lt)
			}
			if d := diffPackets(want, gotPkts); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestWriterPackets(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkTypeIEEE802154NoFCS)
	if err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte{7}, WriterSnapLen+10)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 3600))
	for _, d := range [][]byte{{1, 2, 3}, nil, long} {
		if err := w.WritePacket(ts, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []time.Time{time.Unix(-1, 0), time.Unix(1<<32, 0)} {
		if err := w.WritePacket(bad, []byte{1}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("WritePacket(%v) = %v, want ErrUnsupported", bad, err)
		}
	}
	_, got := readAll(t, buf.Bytes())
	tsUS := time.Unix(ts.Unix(), 678901000) // microseconds kept
	want := []Packet{
		{Timestamp: tsUS, LinkType: 230, Data: []byte{1, 2, 3}, OrigLen: 3},
		{Timestamp: tsUS, LinkType: 230, Data: []byte{}, OrigLen: 0},
		{Timestamp: tsUS, LinkType: 230, Data: long[:WriterSnapLen], OrigLen: len(long)},
	}
	if d := diffPackets(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, io.ErrShortWrite
	}
	f.n--
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(&failWriter{}, 1); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("NewWriter on a failing writer: %v", err)
	}
	w, err := NewWriter(&failWriter{n: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(time.Unix(1, 0), []byte{1}); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("WritePacket on a failing writer: %v", err)
	}
}

func TestWriterAllocs(t *testing.T) {
	w, err := NewWriter(io.Discard, 1)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 127)
	ts := time.Unix(1700000000, 0)
	_ = w.WritePacket(ts, data)
	if a := testing.AllocsPerRun(1000, func() { _ = w.WritePacket(ts, data) }); a != 0 {
		t.Errorf("WritePacket allocates %v times, want 0", a)
	}
}

// zepCapture writes the frames of gen_iphc_fcs.pcap as ZEP v2 in
// Ethernet/IPv4 (or IPv6)/UDP with this package's writer, and returns the
// file's path and the ZEP headers written.
func zepCapture(t *testing.T, v6 bool) (string, []ZEP) {
	t.Helper()
	_, frames := readTestdata(t, "gen_iphc_fcs.pcap")
	path := filepath.Join(t.TempDir(), "zep.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	w, err := NewWriter(bw, LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddrPort("192.0.2.1:17754"), netip.MustParseAddrPort("192.0.2.2:17754")
	if v6 {
		src, dst = netip.MustParseAddrPort("[2001:db8::1]:17754"), netip.MustParseAddrPort("[2001:db8::2]:17754")
	}
	var zeps []ZEP
	var zbuf, fbuf []byte
	for i, p := range frames {
		z := ZEP{Type: ZEPTypeData, Channel: 11 + uint8(i), DeviceID: 0x100 + uint16(i), LQIMode: true, LQI: 200,
			Timestamp: p.Timestamp.Add(time.Duration(i) * 123456789), Seq: 1000 + uint32(i), PSDU: p.Data}
		zeps = append(zeps, z)
		zbuf = AppendZEP(zbuf[:0], &z)
		if v6 {
			fbuf = AppendEthernetIPv6UDP(fbuf[:0], src, dst, zbuf)
		} else {
			fbuf = AppendEthernetIPv4UDP(fbuf[:0], src, dst, zbuf)
		}
		if err := w.WritePacket(p.Timestamp, fbuf); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, zeps
}

// tshark, which we did not write, must decode our ZEP-in-UDP captures with
// the fields we wrote, good IPv4 and UDP checksums and a good 802.15.4 FCS.
func TestTsharkDecodesZEPCapture(t *testing.T) {
	oracle.Tshark(t)
	for _, v6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("IPv6=%t", v6), func(t *testing.T) {
			path, zeps := zepCapture(t, v6)
			// Expert checksum status 1 is "Good"; IPv6 has no header checksum.
			ipField := "ip.checksum.status"
			if v6 {
				ipField = "ipv6.version"
			}
			capture := oracle.Capture{Path: path, Disable: []string{"coap"}, Env: []string{"TZ=UTC"},
				Prefs: []string{"ip.check_checksum:TRUE", "udp.check_checksum:TRUE"}}
			rows := capture.Fields(t, "zep.version", "zep.type", "zep.channel_id", "zep.device_id",
				"zep.lqi_mode", "zep.seqno", "zep.length", "zep.time",
				"wpan.fcs_ok", ipField, "udp.checksum.status")
			if len(rows) != len(zeps) {
				t.Fatalf("tshark printed %d rows, want %d", len(rows), len(zeps))
			}
			ipWant := "1"
			if v6 {
				ipWant = "6"
			}
			for i, z := range zeps {
				f := rows[i]
				// zep.time prints in local time (TZ=UTC) with nanoseconds.
				tm, err := time.Parse("Jan _2, 2006 15:04:05.000000000 MST", f[7])
				if err != nil || !tm.Equal(z.Timestamp) {
					t.Errorf("line %d: zep.time %q (%v), want %v", i, f[7], err, z.Timestamp)
				}
				// Only the first value of the IP and UDP fields is ours; the
				// rest belong to the IPv6/UDP inside the 6LoWPAN frame.
				ipStatus, _, _ := strings.Cut(f[9], ",")
				udpStatus, _, _ := strings.Cut(f[10], ",")
				got := strings.Join(append(f[:7:7], f[8], ipStatus, udpStatus), "|")
				want := strings.Join([]string{"2", "1", strconv.Itoa(int(z.Channel)), strconv.Itoa(int(z.DeviceID)),
					"1", strconv.Itoa(int(z.Seq)), strconv.Itoa(len(z.PSDU)), "1", ipWant, "1"}, "|")
				if got != want {
					t.Errorf("line %d (version|type|channel|device|mode|seq|length|fcs_ok|ip|udp):\n-%s\n+%s", i, want, got)
				}
			}
		})
	}
}
