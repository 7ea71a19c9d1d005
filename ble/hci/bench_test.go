package hci

import (
	"testing"
)

// BenchmarkNumberOfCompletedPackets parses a Number Of Completed Packets
// event for four handles and walks its entries: the host's hottest event.
func BenchmarkNumberOfCompletedPackets(b *testing.B) {
	ev, err := AppendNumberOfCompletedPackets(nil, HandleCount{0x40, 3}, HandleCount{0x41, 1}, HandleCount{0x42, 7}, HandleCount{0x43, 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(ev)))
	var credits uint32
	for b.Loop() {
		e, err := ParseEvent(ev)
		if err != nil {
			b.Fatal(err)
		}
		n, err := ParseNumberOfCompletedPackets(e)
		if err != nil {
			b.Fatal(err)
		}
		for hc := range n.All() {
			credits += uint32(hc.Count)
		}
	}
	if credits == 0 {
		b.Fatal("no credits")
	}
}

// BenchmarkFragmentL2CAP splits a 1280+4-octet PDU (an IPv6 packet of the
// minimum MTU in one L2CAP frame) into 251-octet ACL packets.
func BenchmarkFragmentL2CAP(b *testing.B) {
	pdu := l2capPDU(1280, 0x0040, 0)
	scratch := make([]byte, 0, ACLHeaderLen+251)
	n := 0
	emit := func(p []byte) error { n += len(p); return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(pdu)))
	for b.Loop() {
		if err := FragmentL2CAP(scratch, pdu, 0x41, 251, emit); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkACLReassembler rebuilds the same PDU from its six fragments.
func BenchmarkACLReassembler(b *testing.B) {
	pdu := l2capPDU(1280, 0x0040, 0)
	var frags []ACL
	FragmentL2CAP(nil, pdu, 0x41, 251, func(p []byte) error {
		a, _ := ParseACL(append([]byte(nil), p...))
		frags = append(frags, a)
		return nil
	})
	r := NewACLReassembler(0, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(pdu)))
	for b.Loop() {
		var got []byte
		for _, a := range frags {
			p, err := r.Feed(a)
			if err != nil {
				b.Fatal(err)
			}
			got = p
		}
		if len(got) != len(pdu) {
			b.Fatal("no PDU")
		}
	}
}

// BenchmarkH4Reader reads the known-answer packets from a stream.
func BenchmarkH4Reader(b *testing.B) {
	stream, _, pkts := h4Stream(b)
	h := NewH4Reader(&loopReader{b: stream}, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream) / len(pkts)))
	for b.Loop() {
		if _, _, err := h.ReadPacket(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLEAdvertisingReport parses a two-report event and looks for
// the IPSS UUID, as a scanning host does for every report.
func BenchmarkLEAdvertisingReport(b *testing.B) {
	ev, _ := AppendLEAdvertisingReport(nil,
		AdvReport{EventType: AdvReportInd, AddrType: AddrRandom, Addr: addrC0, Data: adIPSP[:7], RSSI: -60},
		AdvReport{EventType: AdvReportScanRsp, AddrType: AddrRandom, Addr: addrC0, Data: adIPSP[7:], RSSI: -61})
	b.ReportAllocs()
	found := 0
	for b.Loop() {
		e, _ := ParseEvent(ev)
		r, err := ParseLEAdvertisingReport(e)
		if err != nil {
			b.Fatal(err)
		}
		it := r.Reports()
		for rep, ok := it.Next(); ok; rep, ok = it.Next() {
			if ADHasUUID16(rep.Data, UUIDInternetProtocolSupport) {
				found++
			}
		}
	}
	if found == 0 {
		b.Fatal("IPSS not found")
	}
}
