package link_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/internal/radiotest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

type linkPair struct {
	a, b   *link.Lowpan
	ra, rb radio.Radio
	got    [2]chan []byte
	m      *medium.Medium
}

func newLinkPair(t *testing.T) *linkPair {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: 5})
	go m.Run(ctx)
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Compress: true})
	p := &linkPair{m: m, got: [2]chan []byte{make(chan []byte, 16), make(chan []byte, 16)}}
	euis := [2][8]byte{{0x02, 0, 0, 0, 0, 0, 0, 0xaa}, {0x02, 0, 0, 0, 0, 0, 0, 0xbb}}
	var links [2]*link.Lowpan
	var radios [2]radio.Radio
	for i := range links {
		node, err := m.Attach(medium.NodeConfig{Name: string(rune('a' + i)), Channel: 20})
		if err != nil {
			t.Fatal(err)
		}
		r := sim.NewNodeRadio(node)
		if err := r.Configure(ctx, radio.Settings{Channel: 20, PANID: 0xabcd, ShortAddr: 0xfffe, ExtAddr: euis[i]}); err != nil {
			t.Fatal(err)
		}
		l, err := link.NewLowpan(link.LowpanConfig{Name: "wpan" + string(rune('a'+i)), Radio: r, PANID: 0xabcd, ExtAddr: euis[i], Contexts: ctxs})
		if err != nil {
			t.Fatal(err)
		}
		links[i], radios[i] = l, r
		ch := p.got[i]
		go l.Run(ctx, func(d *link.Delivery) { ch <- bytes.Clone(d.Packet) })
	}
	p.a, p.b, p.ra, p.rb = links[0], links[1], radios[0], radios[1]
	t.Cleanup(func() {
		cancel()
		radios[0].Close()
		radios[1].Close()
		m.Close()
	})
	return p
}

func expectPacket(t *testing.T, ch chan []byte, want []byte) {
	t.Helper()
	select {
	case got := <-ch:
		if !bytes.Equal(got, want) {
			t.Fatalf("received % x\nwant % x", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
}

// 1200-octet UDP datagrams cross the link both ways, fragmented on air,
// and arrive intact; header compression is counted.
func TestLowpanLinkBothWays(t *testing.T) {
	p := newLinkPair(t)
	ctx := context.Background()
	ab := packettest.UDP("2001:db8:1::aa", "2001:db8:1::bb", 1200-48)
	if err := p.a.SendWait(ctx, ab, p.b.LinkAddr(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, p.got[1], ab)
	ba := packettest.UDP("fe80::bb", "fe80::aa", 100)
	if err := p.b.SendWait(ctx, ba, p.a.LinkAddr(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, p.got[0], ba)
	// Multicast goes out as broadcast, unacknowledged.
	mc := packettest.UDP("fe80::aa", "ff02::1", 20)
	if err := p.a.SendWait(ctx, mc, link.BroadcastShort, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, p.got[1], mc)
	st := p.a.Stats()
	// The goodput counts the IPv6 packets' octets, uncompressed; the air
	// carried more (fragment and MAC headers) in fewer octets of IPv6
	// headers.
	ipv6 := uint64(len(ab) + len(mc))
	if st.PacketsSent != 2 || st.FragmentsSent < 12 || st.TxAcked < 12 || st.HeaderBytesSaved == 0 || st.IPv6OctetsSent != ipv6 {
		t.Errorf("sender stats %+v (want %d IPv6 octets sent)", st, ipv6)
	}
	if st := p.b.Stats(); st.PacketsReceived != 2 || st.Reassembly.Completed != 1 || st.IPv6OctetsReceived != ipv6 {
		t.Errorf("receiver stats %+v (want %d IPv6 octets received)", st, ipv6)
	}
}

// A frame sent twice with the same sequence number (the sender missed our
// ACK) reaches 6LoWPAN once.
func TestLowpanLinkDropsMACRetransmissions(t *testing.T) {
	p := newLinkPair(t)
	pkt := packettest.UDP("fe80::aa", "fe80::bb", 10)
	z := lowpan.Compressor{}
	payload := make([]byte, 200)
	n, err := z.Compress(payload, pkt, p.a.LinkAddr(), p.b.LinkAddr())
	if err != nil {
		t.Fatal(err)
	}
	h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, Seq: 77, AckRequest: true,
		DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: ieee802154.ExtAddress(p.b.LinkAddr().Extended()), Src: ieee802154.ExtAddress(p.a.LinkAddr().Extended())}
	frame, _ := ieee802154.AppendFrame(nil, &h, payload[:n], true)
	for i := 0; i < 3; i++ {
		if r, err := p.ra.Transmit(context.Background(), frame, radio.TxOptions{}); err != nil || r.Status != radio.TxAcked {
			t.Fatalf("transmit %d: %v %v", i, r.Status, err)
		}
	}
	expectPacket(t, p.got[1], pkt)
	select {
	case <-p.got[1]:
		t.Fatal("a retransmission was delivered twice")
	case <-time.After(100 * time.Millisecond):
	}
	if st := p.b.Stats(); st.MACDuplicates != 2 {
		t.Errorf("MAC duplicates %d, want 2", st.MACDuplicates)
	}
	// Another frame from the same source with the same number — a flood
	// spoofing the sender with random numbers meets it one time in 256 —
	// is not a retransmission.
	other := packettest.UDP("fe80::aa", "fe80::bb", 11)
	n, err = z.Compress(payload, other, p.a.LinkAddr(), p.b.LinkAddr())
	if err != nil {
		t.Fatal(err)
	}
	frame, _ = ieee802154.AppendFrame(nil, &h, payload[:n], true)
	if r, err := p.ra.Transmit(context.Background(), frame, radio.TxOptions{}); err != nil || r.Status != radio.TxAcked {
		t.Fatalf("transmit: %v %v", r.Status, err)
	}
	expectPacket(t, p.got[1], other)
}

// Sending to a neighbour that is not there fails with link.ErrNoAck.
func TestLowpanLinkNoAck(t *testing.T) {
	p := newLinkPair(t)
	err := p.a.SendWait(context.Background(), packettest.UDP("fe80::aa", "fe80::cc", 10), lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 0xcc}), link.SendOptions{})
	if !errors.Is(err, link.ErrNoAck) {
		t.Fatalf("err = %v, want link.ErrNoAck", err)
	}
}

// The receiving link keeps each neighbour's link quality (the medium's
// RSSI for the link, and the LQI it derives) and counts octets both ways.
func TestLowpanLinkNeighbors(t *testing.T) {
	p := newLinkPair(t)
	nodes := p.m.Nodes()
	p.m.SetLink(nodes[0], nodes[1], medium.Link{RSSI: -71})
	pkt := packettest.UDP("fe80::aa", "fe80::bb", 300)
	if err := p.a.SendWait(context.Background(), pkt, p.b.LinkAddr(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, p.got[1], pkt)
	nb := p.b.Neighbors()
	if len(nb) != 1 || nb[0].Addr != p.a.LinkAddr() || nb[0].RSSI != -71 || nb[0].LQI != medium.LQIFromRSSI(-71) || nb[0].Frames != 4 {
		t.Fatalf("neighbours of b: %+v", nb)
	}
	sa, sb := p.a.Stats(), p.b.Stats()
	if sa.BytesSent == 0 || sa.BytesSent != sb.BytesReceived || sa.FramesSent != 4 {
		t.Fatalf("octets: a sent %d in %d frames, b received %d", sa.BytesSent, sa.FramesSent, sb.BytesReceived)
	}
}

// ccaRadio fails channel access a given number of times, then acks.
type ccaRadio struct {
	radiotest.Instant
	failures int
}

func (r *ccaRadio) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	if r.failures > 0 {
		r.failures--
		return radio.TxResult{Status: radio.TxChannelAccessFailure}, nil
	}
	return r.Instant.Transmit(ctx, psdu, opts)
}

// A channel access failure is retried CCARetries times before the packet
// is given up.
func TestLowpanLinkCCARetries(t *testing.T) {
	for _, c := range []struct {
		failures, retries int
		ok                bool
	}{{2, 0, true}, {3, 0, false}, {1, -1, false}, {4, 5, true}} {
		r := &ccaRadio{failures: c.failures}
		l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, CCARetries: c.retries})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { l.Run(ctx, func(*link.Delivery) {}); close(done) }()
		err = l.SendWait(ctx, packettest.UDP("fe80::1", "fe80::2", 10), lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 2}), link.SendOptions{})
		cancel()
		<-done
		if (err == nil) != c.ok {
			t.Errorf("%+v: err %v", c, err)
		}
		if st := l.Stats(); c.ok && st.TxRetries != uint64(c.failures) {
			t.Errorf("%+v: %d retries counted", c, st.TxRetries)
		}
	}
}

// framesFrom builds the 802.15.4 frames (FCS included) that carry pkt
// from src to dst, as a node's radio puts them on the air.
func framesFrom(t *testing.T, ctxs *lowpan.ContextTable, src, dst [8]byte, pkt []byte, tag uint16) [][]byte {
	t.Helper()
	h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true,
		DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: ieee802154.ExtAddress(ieee802154.ExtAddr(dst)), Src: ieee802154.ExtAddress(ieee802154.ExtAddr(src))}
	z := lowpan.Compressor{Contexts: ctxs}
	var frames [][]byte
	_, err := z.Encode(make([]byte, lowpan.ScratchSize), pkt, lowpan.ExtendedLinkAddr(src), lowpan.ExtendedLinkAddr(dst),
		&lowpan.EncodeOptions{MaxPayload: h.MaxPayload(), Tag: tag}, func(payload []byte) error {
			h.Seq++
			f, err := ieee802154.AppendFrame(nil, &h, payload, true)
			frames = append(frames, f)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// A link told who its registered neighbours are keeps reassembly room for
// them: a flood of first fragments from a new source each time (20
// between every frame of the neighbour's) stops the neighbour's 1200-octet
// datagrams without it, and not with it.
func TestLowpanLinkReassemblyRoomForNeighbors(t *testing.T) {
	brEUI := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}
	neighbor := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x42}
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Compress: true})
	floodPkt := packettest.UDP("fe80::1", "fe80::2", 1200)
	for _, aware := range []bool{false, true} {
		r := &radiotest.Instant{RX: make(chan radio.Frame)}
		l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 0xabcd, ExtAddr: brEUI, Contexts: ctxs})
		if err != nil {
			t.Fatal(err)
		}
		if aware {
			l.SetRegisteredNeighbors(func(a lowpan.LinkAddr) bool { return a == lowpan.ExtendedLinkAddr(neighbor) })
		}
		got := make(chan []byte, 8)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { l.Run(ctx, func(d *link.Delivery) { got <- bytes.Clone(d.Packet) }); close(done) }()
		stranger := uint64(0)
		for d := range 5 {
			pkt := packettest.UDP("2001:db8:1::42", "2001:db8:9::1", 1200)
			pkt[len(pkt)-1] = byte(d)
			for _, f := range framesFrom(t, ctxs, neighbor, brEUI, pkt, uint16(d)) {
				for range 20 {
					stranger++
					src := [8]byte{0x02, 0x77, 0, 0, 0, 0, byte(stranger >> 8), byte(stranger)}
					r.RX <- radio.Frame{PSDU: framesFrom(t, ctxs, src, brEUI, floodPkt, uint16(stranger))[0]}
				}
				r.RX <- radio.Frame{PSDU: f}
			}
		}
		cancel()
		<-done
		n := len(got)
		if aware && n != 5 {
			t.Errorf("with its registered neighbours known: %d of 5 datagrams reassembled; %+v", n, l.Stats().Reassembly)
		}
		if !aware && n == 5 {
			t.Errorf("without: all 5 reassembled, so the flood tests nothing; %+v", l.Stats().Reassembly)
		}
	}
}

// The RFC 8138 switch: off, the root's source-routed packet goes out with
// RFC 6282 NHC; on (as RFC 9035's T flag asks), as 6LoRHs, fewer octets on
// the air. Either way the receiver gets the packet as sent: 6LoRH is
// decoded whatever its own switch says.
func TestLowpanLinkLoRHSwitch(t *testing.T) {
	p := newLinkPair(t)
	ctx := context.Background()
	if p.a.LoRH() {
		t.Fatal("RFC 8138 on by default")
	}
	pkt := packettest.UDP("2001:db8:1::aa", "2001:db8:1::bb", 30)
	hops := []netip.Addr{netip.MustParseAddr("2001:db8:1::bb")}
	for _, h := range []string{"2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::3"} {
		hops = append([]netip.Addr{netip.MustParseAddr(h)}, hops...)
	}
	routed, err := rpl.InsertHeaders(nil, pkt, rpl.Headers{RPI: &rpl.RPIFields{Type: rpl.OptionTypeRPI6553, Flags: rpl.RPIFlagO, SenderRank: 256}, Hops: hops})
	if err != nil {
		t.Fatal(err)
	}
	var saved [2]uint64
	for i, on := range []bool{false, true} {
		p.a.SetLoRH(on)
		if p.a.LoRH() != on {
			t.Fatalf("LoRH() = %t after SetLoRH(%t)", p.a.LoRH(), on)
		}
		before := p.a.Stats().HeaderBytesSaved
		if err := p.a.SendWait(ctx, routed, p.b.LinkAddr(), link.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		expectPacket(t, p.got[1], routed)
		saved[i] = p.a.Stats().HeaderBytesSaved - before
	}
	if saved[1] <= saved[0] {
		t.Errorf("header octets saved: %d with RFC 6282, %d with RFC 8138", saved[0], saved[1])
	}
	t.Logf("header octets saved: %d with RFC 6282, %d with RFC 8138", saved[0], saved[1])
}
