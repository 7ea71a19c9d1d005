package pcapio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// wpanFrame is an IEEE 802.15.4 data frame (PAN ID compression, short
// destination 0xffff, extended source) carrying an RFC 6282 IPHC header
// for an ICMPv6 echo request from fe80::...:1 to ff02::1, with its FCS.
func wpanFrame() []byte {
	f := []byte{
		0x41, 0xc8, 0x07, // FC: data, PAN ID compression, dst short, src ext; seq 7
		0xcd, 0xab, 0xff, 0xff, // dst PAN 0xabcd, broadcast
		0x01, 0, 0, 0, 0, 0, 0x12, 0x02, // src extended (little-endian)
		// IPHC: TF=11 NH=0 HLIM=11 (255), SAM=11 (from the MAC), M=1 DAM=11 (ff02::1)
		0x7b, 0x3b, 58, 0x01, // inline: next header (ICMPv6), last octet of ff02::1
		128, 0, 0, 0, 0, 1, 0, 1, // ICMPv6 echo request (its checksum is not what tshark checks here)
	}
	fcs := ieee802154.FCS(f)
	return append(f, byte(fcs), byte(fcs>>8))
}

// ipv6Packet is a minimal IPv6 packet: a UDP datagram from 2001:db8::1 to
// 2001:db8::2, port 5000 to 9999, payload "hi".
func ipv6Packet() []byte {
	p := []byte{0x60, 0, 0, 0, 0, 10, 17, 64}
	p = append(p, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
	p = append(p, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2)
	return append(p, 0x13, 0x88, 0x27, 0x0f, 0, 10, 0, 0, 'h', 'i')
}

// writeTwoInterfaces writes a capture with a wpan interface and an IPv6
// one, and returns its bytes and the packets written.
func writeTwoInterfaces(t testing.TB) ([]byte, []Packet) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewPcapngWriter(&buf, "lowpanbr test")
	if err != nil {
		t.Fatal(err)
	}
	wpan, err := w.AddInterface(PcapngInterface{LinkType: LinkTypeIEEE802154WithFCS, Name: "wpan0", Description: "IEEE 802.15.4"})
	if err != nil {
		t.Fatal(err)
	}
	ble, err := w.AddInterface(PcapngInterface{LinkType: LinkTypeIPv6, Name: "ble0", SnapLen: 60})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 22, 0, 0, 123456000, time.UTC)
	want := []Packet{
		{Timestamp: t0, LinkType: LinkTypeIEEE802154WithFCS, Data: wpanFrame(), Interface: wpan},
		{Timestamp: t0.Add(time.Millisecond), LinkType: LinkTypeIPv6, Data: ipv6Packet(), Interface: ble},
		{Timestamp: t0.Add(2 * time.Millisecond), LinkType: LinkTypeIEEE802154WithFCS, Data: wpanFrame()[:5], Interface: wpan},
		// Cut to the interface's snapshot length of 60.
		{Timestamp: t0.Add(3 * time.Millisecond), LinkType: LinkTypeIPv6, Data: append(ipv6Packet(), make([]byte, 20)...), Interface: ble},
	}
	flags := []uint32{DirInbound, DirOutbound, 0, DirInbound}
	comments := []string{"ch 15 rssi -52 lqi 200", "", strings.Repeat("x", 300), ""}
	for i, p := range want {
		if err := w.WritePacket(p.Interface, p.Timestamp, p.Data, flags[i], []byte(comments[i])); err != nil {
			t.Fatal(err)
		}
		want[i].OrigLen = len(p.Data)
	}
	want[3].Data = want[3].Data[:60]
	return buf.Bytes(), want
}

func TestPcapngWriterRoundTrip(t *testing.T) {
	b, want := writeTwoInterfaces(t)
	lt, got := readAll(t, b)
	if lt != LinkTypeIEEE802154WithFCS {
		t.Errorf("LinkType = %d, want %d (the first interface's)", lt, LinkTypeIEEE802154WithFCS)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Timestamp.Equal(w.Timestamp) || g.LinkType != w.LinkType || !bytes.Equal(g.Data, w.Data) || g.OrigLen != w.OrigLen || g.Interface != w.Interface {
			t.Errorf("packet %d (-want +got):\n-%+v\n+%+v", i, w, g)
		}
	}
	if len(b)%4 != 0 {
		t.Errorf("file length %d is not a multiple of 4", len(b))
	}
}

func TestPcapngWriterErrors(t *testing.T) {
	w, err := NewPcapngWriter(io.Discard, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(0, time.Now(), []byte{1}, 0, nil); !errors.Is(err, ErrNoInterface) {
		t.Errorf("packet before any interface: err = %v, want ErrNoInterface", err)
	}
	if _, err := w.AddInterface(PcapngInterface{LinkType: 1 << 16}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("link type 65536: err = %v, want ErrUnsupported", err)
	}
	if _, err := w.AddInterface(PcapngInterface{LinkType: LinkTypeRaw}); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(0, time.Unix(-1, 0), []byte{1}, 0, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("timestamp before 1970: err = %v, want ErrUnsupported", err)
	}
	if err := w.WritePacket(-1, time.Now(), []byte{1}, 0, nil); !errors.Is(err, ErrNoInterface) {
		t.Errorf("interface -1: err = %v, want ErrNoInterface", err)
	}
	fail := errors.New("disk full")
	w.w = errWriter{fail}
	if err := w.WritePacket(0, time.Now(), []byte{1}, 0, nil); !errors.Is(err, fail) {
		t.Errorf("failing writer: err = %v, want it wrapped", err)
	}
}

type errWriter struct{ err error }

func (e errWriter) Write([]byte) (int, error) { return 0, e.err }

func TestPcapngWriterNoAllocs(t *testing.T) {
	w, err := NewPcapngWriter(io.Discard, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(PcapngInterface{LinkType: LinkTypeIEEE802154WithFCS}); err != nil {
		t.Fatal(err)
	}
	data, comment, ts := wpanFrame(), []byte("ch 15 rssi -40 lqi 255"), time.Now()
	if err := w.WritePacket(0, ts, data, DirInbound, comment); err != nil { // grows the buffer
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = w.WritePacket(0, ts, data, DirInbound, comment) }); n != 0 {
		t.Errorf("WritePacket allocates %v times per packet, want 0", n)
	}
}

// TestPcapngWriterTshark has tshark, which we did not write, read the
// file: both interfaces with their names and link types, the 802.15.4 frame
// with a good FCS and its 6LoWPAN payload, the raw IPv6 packet as IPv6 and
// UDP, the directions and the comment.
func TestPcapngWriterTshark(t *testing.T) {
	oracle.Tshark(t)
	b, _ := writeTwoInterfaces(t)
	path := filepath.Join(t.TempDir(), "two.pcapng")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := oracle.Capture{Path: path}
	rows := c.FieldMaps(t, "frame.interface_id", "frame.interface_name", "frame.encap_type", "wpan.fcs_ok", "6lowpan.dst",
		"ipv6.dst", "udp.dstport", "frame.packet_flags_direction", "frame.comment", "frame.cap_len", "frame.len", "_ws.expert.message")
	if len(rows) != 4 {
		t.Fatalf("tshark read %d packets, want 4", len(rows))
	}
	want := []map[string]string{
		{"frame.interface_id": "0", "frame.interface_name": "wpan0", "wpan.fcs_ok": "1", "6lowpan.dst": "ff02::1",
			"frame.packet_flags_direction": "0x00000001", "frame.comment": "ch 15 rssi -52 lqi 200"},
		{"frame.interface_id": "1", "frame.interface_name": "ble0", "ipv6.dst": "2001:db8::2", "udp.dstport": "9999",
			"frame.packet_flags_direction": "0x00000002", "frame.comment": ""},
		{"frame.interface_id": "0", "frame.comment": strings.Repeat("x", PcapngMaxComment), "frame.cap_len": "5"},
		{"frame.interface_id": "1", "frame.cap_len": "60", "frame.len": "70", "ipv6.dst": "2001:db8::2"},
	}
	for i, w := range want {
		for k, v := range w {
			if got := rows[i][k]; got != v {
				t.Errorf("packet %d: %s = %q, want %q (row %v)", i+1, k, got, v, rows[i])
			}
		}
	}
	for i, r := range rows[:2] {
		if strings.Contains(r["_ws.expert.message"], "Malformed") {
			t.Errorf("packet %d: tshark expert info %q", i+1, r["_ws.expert.message"])
		}
	}
}

// FuzzPcapngWriter writes arbitrary packets and reads them back with
// Reader: what is written is what is read, whatever the data, the comment
// and the snapshot length.
func FuzzPcapngWriter(f *testing.F) {
	f.Add(wpanFrame(), []byte("c"), uint32(0), int64(1700000000123456), uint32(2))
	f.Add(ipv6Packet(), []byte(nil), uint32(8), int64(0), uint32(1))
	f.Add([]byte{}, bytes.Repeat([]byte{0xff}, 400), uint32(1), int64(1<<50), uint32(3))
	f.Fuzz(func(t *testing.T, data, comment []byte, snap uint32, us int64, flags uint32) {
		var buf bytes.Buffer
		w, err := NewPcapngWriter(&buf, string(comment))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.AddInterface(PcapngInterface{LinkType: LinkTypeIPv6, SnapLen: snap, Name: string(comment)}); err != nil {
			t.Fatal(err)
		}
		ts := time.UnixMicro(us)
		err = w.WritePacket(0, ts, data, flags, comment)
		if us < 0 {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("negative timestamp: err = %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		_, got := readAll(t, buf.Bytes())
		wantData := data
		if snap != 0 && uint32(len(wantData)) > snap {
			wantData = wantData[:snap]
		}
		if len(got) != 1 || !bytes.Equal(got[0].Data, wantData) || got[0].OrigLen != len(data) || !got[0].Timestamp.Equal(ts) {
			t.Fatalf("read back %+v, want data %x orig %d at %v", got, wantData, len(data), ts)
		}
	})
}

func BenchmarkPcapngWritePacket(b *testing.B) {
	w, err := NewPcapngWriter(io.Discard, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.AddInterface(PcapngInterface{LinkType: LinkTypeIEEE802154WithFCS}); err != nil {
		b.Fatal(err)
	}
	data, comment, ts := make([]byte, 127), []byte("ch 15 rssi -40 lqi 255"), time.Unix(1700000000, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := w.WritePacket(0, ts, data, DirInbound, comment); err != nil {
			b.Fatal(err)
		}
	}
}
