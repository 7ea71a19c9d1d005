package link_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/internal/radiotest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/radio"
)

// recordTap keeps a copy of every frame it is told of.
type recordTap struct {
	mu     sync.Mutex
	frames []link.TapFrame
}

func (r *recordTap) TapFrame(f link.TapFrame) {
	f.Data = bytes.Clone(f.Data)
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
}

func (r *recordTap) taken() []link.TapFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]link.TapFrame(nil), r.frames...)
}

// sentRadio is ccaRadio that also keeps the frames it put on the air.
type sentRadio struct {
	ccaRadio
	sent [][]byte
}

func (r *sentRadio) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	res, err := r.ccaRadio.Transmit(ctx, psdu, opts)
	if res.Status != radio.TxChannelAccessFailure {
		r.sent = append(r.sent, bytes.Clone(psdu))
	}
	return res, err
}

// The tap sees every frame that went on the air, once (not the attempt
// the channel refused), and every frame received with its RSSI, LQI and
// channel; without a tap nothing is seen, and SetTap(nil) removes it.
func TestLowpanTap(t *testing.T) {
	r := &sentRadio{ccaRadio: ccaRadio{failures: 1, Instant: radiotest.Instant{RX: make(chan radio.Frame)}}}
	br, node := [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, [8]byte{2, 0, 0, 0, 0, 0, 0, 2}
	l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 0xabcd, ExtAddr: br, Contexts: &lowpan.ContextTable{}})
	if err != nil {
		t.Fatal(err)
	}
	tap := &recordTap{}
	l.SetTap(tap)
	got := make(chan []byte, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, func(d *link.Delivery) { got <- bytes.Clone(d.Packet) }); close(done) }()
	defer func() { cancel(); <-done }()

	// 200 octets: fragments.
	if err := l.SendWait(ctx, packettest.UDP("fe80::1", "fe80::2", 200), lowpan.ExtendedLinkAddr(node), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	in := framesFrom(t, &lowpan.ContextTable{}, node, br, packettest.UDP("fe80::2", "fe80::1", 10), 1)[0]
	r.RX <- radio.Frame{PSDU: in, RSSI: -61, LQI: 180, Channel: 15}
	<-got
	frames := tap.taken()
	if len(r.sent) < 2 || len(frames) != len(r.sent)+1 {
		t.Fatalf("%d frames on the air, %d tapped (%+v); want fragments and one more tapped", len(r.sent), len(frames), frames)
	}
	for i, s := range r.sent {
		if f := frames[i]; f.Dir != link.TapOut || !bytes.Equal(f.Data, s) || f.Signal || f.Time.IsZero() {
			t.Errorf("frame %d sent: tapped %+v, want %x out", i, f, s)
		}
	}
	if f := frames[len(r.sent)]; f.Dir != link.TapIn || !bytes.Equal(f.Data, in) || !f.Signal || f.RSSI != -61 || f.LQI != 180 || f.Channel != 15 {
		t.Errorf("frame received: tapped %+v, want %x in, -61 dBm, LQI 180, channel 15", f, in)
	}

	l.SetTap(nil)
	if err := l.SendWait(ctx, packettest.UDP("fe80::1", "fe80::2", 10), lowpan.ExtendedLinkAddr(node), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(tap.taken()); n != len(frames) {
		t.Errorf("after SetTap(nil): %d frames tapped, want still %d", n, len(frames))
	}
}

// The BLE tap sees IPv6 packets as sent and as received, whole and
// uncompressed.
func TestBLETap(t *testing.T) {
	routerBD, nodeBD := [6]byte{0x00, 0x1a, 0x7d, 0xda, 0x71, 0x01}, [6]byte{0xc0, 0x01, 0x02, 0x03, 0x04, 0x05}
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: testMeshPrefix, Compress: true})
	rc, nc := memChannelPair()
	tap := &recordTap{}
	rl, err := link.NewBLE(link.BLEConfig{Channel: rc, Local: routerBD, Peer: nodeBD, Contexts: ctxs, Tap: tap})
	if err != nil {
		t.Fatal(err)
	}
	nl, err := link.NewBLE(link.BLEConfig{Channel: nc, Local: nodeBD, Peer: routerBD, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	atRouter, atNode := make(chan []byte, 1), make(chan []byte, 1)
	go rl.Run(ctx, func(d *link.Delivery) { atRouter <- bytes.Clone(d.Packet) })
	go nl.Run(ctx, func(d *link.Delivery) { atNode <- bytes.Clone(d.Packet) })
	out := packettest.UDP("2001:db8:1::1", "2001:db8:1::77", 40)
	if err := rl.Send(out, nl.LinkAddr(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	<-atNode
	in := packettest.UDP("2001:db8:1::77", "2001:db8:9::9", 30)
	if err := nl.Send(in, rl.LinkAddr(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	<-atRouter
	frames := tap.taken()
	if len(frames) != 2 || frames[0].Dir != link.TapOut || !bytes.Equal(frames[0].Data, out) ||
		frames[1].Dir != link.TapIn || !bytes.Equal(frames[1].Data, in) {
		t.Fatalf("tapped %+v, want the packet out then the one in", frames)
	}
}

// A TapQueue copies, drops when every record is taken (and counts it),
// cuts frames longer than a record and allocates nothing.
func TestTapQueue(t *testing.T) {
	q := link.NewTapQueue(2)
	data := []byte{1, 2, 3}
	if !q.Put(7, link.TapFrame{Data: data, Dir: link.TapIn}) {
		t.Fatal("Put refused with records free")
	}
	q.Source(8).TapFrame(link.TapFrame{Data: make([]byte, link.TapRecordLen+5)})
	if q.Put(9, link.TapFrame{Data: data}) {
		t.Fatal("Put took a third frame into a queue of 2")
	}
	data[0] = 99 // the queue holds its own copy
	r := <-q.Records()
	if r.Source != 7 || !bytes.Equal(r.Data, []byte{1, 2, 3}) || r.Dir != link.TapIn || r.OrigLen != 3 {
		t.Errorf("first record %+v", r.TapFrame)
	}
	q.Release(r)
	r = <-q.Records()
	if r.Source != 8 || len(r.Data) != link.TapRecordLen || r.OrigLen != link.TapRecordLen+5 {
		t.Errorf("second record: source %d, %d of %d octets", r.Source, len(r.Data), r.OrigLen)
	}
	q.Release(r)
	if q.Queued() != 2 || q.Dropped() != 1 {
		t.Errorf("queued %d dropped %d, want 2 and 1", q.Queued(), q.Dropped())
	}
	f := link.TapFrame{Data: make([]byte, 127)}
	if n := testing.AllocsPerRun(100, func() {
		q.Put(0, f)
		q.Release(<-q.Records())
	}); n != 0 {
		t.Errorf("Put and Release allocate %v times per frame", n)
	}
}

// With a TapQueue tap, sending a 1280-octet packet (fragments on the air,
// each copied into the queue, a consumer releasing them) still allocates
// nothing.
func TestLowpanTapAllocs(t *testing.T) {
	r := &countingRadio{}
	l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, Contexts: &lowpan.ContextTable{}})
	if err != nil {
		t.Fatal(err)
	}
	// Room for every frame of the 110 packets: the consumer below may be
	// starved on a loaded machine, and a drop is not what is tested here.
	q := link.NewTapQueue(2048)
	l.SetTap(q.Source(0))
	stop := make(chan struct{})
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			select {
			case rec := <-q.Records():
				q.Release(rec)
			case <-stop:
				return
			}
		}
	}()
	runLink(t, l, func(*link.Delivery) {})
	a := sendAllocs(t, l)
	close(stop)
	<-consumed
	if a != 0 {
		t.Fatalf("%.1f allocations per 1280-octet packet with a tap, want 0", a)
	}
	if q.Queued() < 110*2 || q.Dropped() != 0 {
		t.Errorf("%d frames tapped, %d dropped: want every fragment of 110 packets, none dropped", q.Queued(), q.Dropped())
	}
}

// BenchmarkTapQueue is the radio path's share of a capture: one frame
// copied in (Put) and handed back (Release).
func BenchmarkTapQueue(b *testing.B) {
	q := link.NewTapQueue(256)
	tap := q.Source(0)
	f := link.TapFrame{Data: make([]byte, 127)}
	b.ReportAllocs()
	for b.Loop() {
		tap.TapFrame(f)
		q.Release(<-q.Records())
	}
}
