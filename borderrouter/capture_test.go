package borderrouter

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
)

// radioFrame is an 802.15.4 data frame with an RFC 6282 IPHC payload, as
// the link hands it to the radio: two zero octets where the FCS goes.
func radioFrame(seq uint8) []byte {
	return []byte{
		0x41, 0xc8, seq, // data, PAN ID compression, dst short, src extended
		0xce, 0xfa, 0xff, 0xff, // PAN 0xface, broadcast
		0x01, 0, 0, 0, 0, 0, 0x12, 0x02, // src extended
		0x7b, 0x3b, 58, 0x01, // IPHC: ICMPv6 to ff02::1
		128, 0, 0, 0, 0, 1, 0, 1, // echo request
		0, 0, // FCS, left to the radio
	}
}

// startTestCapture runs a real radio's capture writer on a file and a
// loopback ZEP mirror, both interfaces on.
func startTestCapture(t *testing.T) (*capture, string, *net.UDPConn, func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.pcapng")
	w, err := createCaptureFile(path, false, true, 15)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &capture{cfg: CaptureConfig{File: path, ZEPMirror: listener.LocalAddr().String()}, q: link.NewTapQueue(16), channel: 15}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.captureWriter(ctx, w, conn, listener.LocalAddr().(*net.UDPAddr).AddrPort(), discardLog())
	}()
	return c, path, listener, func() { cancel(); <-done }
}

// On a real radio: frames sent get their FCS computed, frames received
// keep their RSSI and LQI in a comment, both carry their direction; BLE
// packets go to their own interface; the file can be read while it grows
// (flushed within captureFlushEvery); every 802.15.4 frame is mirrored as
// ZEP v2 in CRC mode with its FCS.
func TestCaptureRealRadio(t *testing.T) {
	c, path, listener, stop := startTestCapture(t)
	t0 := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	wpan, ble := c.q.Source(captureWPAN), c.q.Source(captureBLE)
	wpan.TapFrame(link.TapFrame{Time: t0, Data: radioFrame(1), Dir: link.TapOut})
	rx := radioFrame(2)
	rx[len(rx)-1] = 0xee // whatever the RCP reported
	wpan.TapFrame(link.TapFrame{Time: t0.Add(time.Millisecond), Data: rx, Dir: link.TapIn, Channel: 15, RSSI: -67, LQI: 201, Signal: true})
	pkt := packettest.UDP("2001:db8:1::1", "2001:db8:1::77", 12)
	ble.TapFrame(link.TapFrame{Time: t0.Add(2 * time.Millisecond), Data: pkt, Dir: link.TapOut})

	// Live: readable before the capture stops.
	var got []pcapio.Packet
	for deadline := time.Now().Add(5 * time.Second); len(got) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the file holds %d packets, want 3", len(got))
		}
		time.Sleep(20 * time.Millisecond)
		got = readCapture(t, path)
	}
	var zeps []pcapio.ZEP
	buf := make([]byte, 2048)
	for range 2 {
		_ = listener.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := listener.Read(buf)
		if err != nil {
			t.Fatalf("ZEP mirror: %v", err)
		}
		var z pcapio.ZEP
		if err := z.Decode(buf[:n]); err != nil {
			t.Fatal(err)
		}
		z.PSDU = bytes.Clone(z.PSDU)
		zeps = append(zeps, z)
	}
	stop()

	for i, want := range [][]byte{onAir(radioFrame(1)), onAir(radioFrame(2))} {
		if p := got[i]; p.Interface != captureWPAN || !bytes.Equal(p.Data, want) || p.LinkType != pcapio.LinkTypeIEEE802154WithFCS {
			t.Errorf("packet %d: %+v, want % x on wpan0", i, p, want)
		}
		if z := zeps[i]; !bytes.Equal(z.PSDU, want) || !z.HasFCS() || z.Channel != 15 || z.Seq != uint32(i+1) {
			t.Errorf("ZEP %d: %+v, want % x on channel 15", i, z, want)
		}
	}
	if zeps[0].LQI != 255 || zeps[1].LQI != 201 || !zeps[1].Timestamp.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("ZEP LQI %d and %d, want 255 (sent) and 201; timestamp %v", zeps[0].LQI, zeps[1].LQI, zeps[1].Timestamp)
	}
	if p := got[2]; p.Interface != captureBLE || !bytes.Equal(p.Data, pkt) || p.LinkType != pcapio.LinkTypeIPv6 {
		t.Errorf("BLE packet: %+v", p)
	}
	if w, d := c.written.Load(), c.q.Dropped(); w != 3 || d != 0 || c.zepSent.Load() != 2 {
		t.Errorf("written %d dropped %d ZEP sent %d, want 3, 0, 2", w, d, c.zepSent.Load())
	}

	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	oracle.Tshark(t)
	rows := oracle.Capture{Path: path}.FieldMaps(t, "frame.interface_name", "wpan.fcs_ok", "frame.packet_flags_direction", "frame.comment", "ipv6.dst", "udp.length")
	want := []map[string]string{
		{"frame.interface_name": "wpan0", "wpan.fcs_ok": "1", "frame.packet_flags_direction": "0x00000002", "frame.comment": ""},
		{"frame.interface_name": "wpan0", "wpan.fcs_ok": "1", "frame.packet_flags_direction": "0x00000001", "frame.comment": "rssi -67 dBm, lqi 201"},
		{"frame.interface_name": "ble0", "ipv6.dst": "2001:db8:1::77", "udp.length": "20", "frame.packet_flags_direction": "0x00000002"},
	}
	if len(rows) != len(want) {
		t.Fatalf("tshark read %d packets, want %d", len(rows), len(want))
	}
	for i, w := range want {
		for k, v := range w {
			if rows[i][k] != v {
				t.Errorf("tshark, packet %d: %s = %q, want %q", i+1, k, rows[i][k], v)
			}
		}
	}
}

func onAir(psdu []byte) []byte {
	out := bytes.Clone(psdu)
	fcs := ieee802154.FCS(out[:len(out)-2])
	out[len(out)-2], out[len(out)-1] = byte(fcs), byte(fcs>>8)
	return out
}

func readCapture(t *testing.T, path string) []pcapio.Packet {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapio.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("capture file: %v", err)
	}
	var out []pcapio.Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			// A block being written: what came before it is what counts.
			return out
		}
		p.Data = bytes.Clone(p.Data)
		out = append(out, p)
	}
}

// BenchmarkCapture is what a captured frame costs: the tap's copy on the
// radio path, then on the capture goroutine the FCS, the comment, the
// pcapng block into a buffered writer and the record's release (no ZEP).
func BenchmarkCapture(b *testing.B) {
	w := &captureFile{bw: bufio.NewWriterSize(io.Discard, 64<<10)}
	var err error
	if w.ng, err = pcapio.NewPcapngWriter(w.bw, "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := w.ng.AddInterface(pcapio.PcapngInterface{LinkType: pcapio.LinkTypeIEEE802154WithFCS}); err != nil {
		b.Fatal(err)
	}
	c := &capture{q: link.NewTapQueue(16), channel: 15}
	tap := c.q.Source(captureWPAN)
	f := link.TapFrame{Time: time.Now(), Data: append(make([]byte, 125), 0, 0), Dir: link.TapIn, RSSI: -70, LQI: 200, Signal: true}
	var fw frameWork
	log := discardLog()
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		tap.TapFrame(f)
		c.write(&fw, <-c.q.Records(), w, nil, netip.AddrPort{}, log)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// A file that cannot be written is given up at the first error (counted
// once, the daemon goes on) while the ZEP mirror goes on; a ZEP message
// that cannot be sent is counted.
func TestCaptureErrorsCounted(t *testing.T) {
	// The headers (48 octets) fit the buffer; the first packet does not.
	w := &captureFile{bw: bufio.NewWriterSize(failingWriter{}, 64)}
	var err error
	if w.ng, err = pcapio.NewPcapngWriter(w.bw, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ng.AddInterface(pcapio.PcapngInterface{LinkType: pcapio.LinkTypeIEEE802154WithFCS}); err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close() // every send fails
	c := &capture{q: link.NewTapQueue(4), channel: 15}
	var fw frameWork
	for i := range 3 {
		c.q.Put(captureWPAN, link.TapFrame{Time: time.Now(), Data: radioFrame(uint8(i)), Dir: link.TapOut})
		c.write(&fw, <-c.q.Records(), w, conn, netip.MustParseAddrPort("127.0.0.1:17754"), discardLog())
	}
	if !w.failed || c.writeErrs.Load() != 1 || c.written.Load() != 0 || c.zepErrs.Load() != 3 || c.zepSent.Load() != 0 {
		t.Errorf("failed %t, write errors %d, written %d, ZEP errors %d sent %d; want true, 1, 0, 3, 0",
			w.failed, c.writeErrs.Load(), c.written.Load(), c.zepErrs.Load(), c.zepSent.Load())
	}
}
