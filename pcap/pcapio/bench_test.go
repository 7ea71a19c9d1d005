package pcapio

import (
	"io"
	"net/netip"
	"testing"
	"time"
)

func benchmarkReader(b *testing.B, src io.Reader) {
	r, err := NewReader(src)
	if err != nil {
		b.Fatal(err)
	}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		p, err := r.Next()
		if err != nil {
			b.Fatal(err)
		}
		n += len(p.Data)
	}
	b.SetBytes(int64(n / max(b.N, 1)))
}

func BenchmarkReaderNext(b *testing.B) {
	b.Run("pcap", func(b *testing.B) { benchmarkReader(b, pcapLoop()) })
	b.Run("pcapng", func(b *testing.B) { benchmarkReader(b, pcapngLoop()) })
}

func BenchmarkWritePacket(b *testing.B) {
	w, err := NewWriter(io.Discard, LinkTypeIEEE802154WithFCS)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 127)
	ts := time.Unix(1700000000, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WritePacket(ts, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkZEPDecode(b *testing.B) {
	z := ZEP{Type: ZEPTypeData, Channel: 11, DeviceID: 1, LQIMode: true, Seq: 7,
		Timestamp: time.Unix(1700000000, 5), PSDU: make([]byte, 127)}
	msg := AppendZEP(nil, &z)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := z.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendZEP(b *testing.B) {
	z := ZEP{Type: ZEPTypeData, Channel: 11, DeviceID: 1, LQIMode: true, Seq: 7,
		Timestamp: time.Unix(1700000000, 5), PSDU: make([]byte, 127)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendZEP(buf[:0], &z)
	}
}

func BenchmarkExtractUDP(b *testing.B) {
	zep := make([]byte, ZEPv2HeaderLen+127)
	for _, bm := range []struct {
		name  string
		frame []byte
	}{
		{"Ethernet/IPv4", AppendEthernetIPv4UDP(nil, netip.MustParseAddrPort("127.0.0.1:17754"), netip.MustParseAddrPort("127.0.0.1:17754"), zep)},
		{"Ethernet/IPv6", AppendEthernetIPv6UDP(nil, netip.MustParseAddrPort("[::1]:17754"), netip.MustParseAddrPort("[::1]:17754"), zep)},
		{"Ethernet/IPv6 extension headers", mustHex(b, "0a0b0c0d0e0f 020304050607 86dd"+ipv6ExtUDP)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ExtractUDP(LinkTypeEthernet, bm.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendEthernetIPv4UDP(b *testing.B) {
	src, dst := netip.MustParseAddrPort("127.0.0.1:17754"), netip.MustParseAddrPort("127.0.0.1:17754")
	payload := make([]byte, ZEPv2HeaderLen+127)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEthernetIPv4UDP(buf[:0], src, dst, payload)
	}
}
