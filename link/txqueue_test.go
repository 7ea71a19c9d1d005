package link_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/internal/radiotest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/radio"
)

// gateRadio holds every transmission until the test lets it go, and
// records the destination of each frame in the order they went out.
type gateRadio struct {
	radiotest.Instant
	gate    chan struct{}
	started chan struct{}
	mu      sync.Mutex
	dsts    []uint8 // last octet of each frame's destination
}

func newGateRadio() *gateRadio {
	return &gateRadio{Instant: radiotest.Instant{RX: make(chan radio.Frame, 16)}, gate: make(chan struct{}), started: make(chan struct{}, 64)}
}

func (r *gateRadio) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	var f ieee802154.Frame
	if err := f.Decode(psdu[:len(psdu)-2], false); err != nil { // the FCS is the radio's
		return radio.TxResult{}, err
	}
	r.started <- struct{}{}
	select {
	case <-r.gate:
	case <-ctx.Done():
		return radio.TxResult{Status: radio.TxAborted}, ctx.Err()
	}
	r.mu.Lock()
	if f.Dst.Mode == ieee802154.AddrExtended {
		r.dsts = append(r.dsts, f.Dst.Ext[7]) // canonical order: the EUI-64's last octet
	} else {
		r.dsts = append(r.dsts, 0xff)
	}
	r.mu.Unlock()
	return r.Instant.Transmit(ctx, psdu, opts)
}

func (r *gateRadio) order() []uint8 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint8(nil), r.dsts...)
}

func nodeAddr(last byte) lowpan.LinkAddr {
	return lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, last})
}

// runLink starts l.Run until the test ends.
func runLink(t *testing.T, l link.Runnable, deliver func(*link.Delivery)) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, deliver); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return cancel
}

func newGatedLink(t *testing.T, q link.QueueConfig) (*link.Lowpan, *gateRadio) {
	t.Helper()
	r := newGateRadio()
	l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, Queue: q, DrainTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return l, r
}

// A ping to one node waits for one frame of a bulk flow to another, not
// for the bulk flow's datagrams; and control traffic (ND) goes before
// both.
func TestQueueRoundRobinAndControlFirst(t *testing.T) {
	l, r := newGatedLink(t, link.QueueConfig{})
	runLink(t, l, func(*link.Delivery) {})
	bulk := packettest.UDP("2001:db8::1", "2001:db8::a", 1000) // several frames
	for range 3 {
		if err := l.Send(bulk, nodeAddr(0xa), link.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	<-r.started // the first frame to a is on the air
	if err := l.Send(packettest.UDP("2001:db8::1", "2001:db8::b", 20), nodeAddr(0xb), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.Send(packettest.UDP("fe80::1", "fe80::c", 20), nodeAddr(0xc), link.SendOptions{Class: link.ClassControl}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
release:
	for l.Stats().PacketsSent < 5 {
		select {
		case r.gate <- struct{}{}:
		case <-time.After(20 * time.Millisecond): // the sender is between frames
		case <-deadline:
			break release
		}
	}
	got := r.order()
	// Frame 0: a's first (already on the air). Then control (c), then
	// b's one frame, then the rest of a's.
	if len(got) < 4 || got[0] != 0xa || got[1] != 0xc || got[2] != 0xb {
		t.Fatalf("order on air: %x, want a, c, b, a…", got)
	}
	for _, d := range got[3:] {
		if d != 0xa {
			t.Fatalf("order on air: %x", got)
		}
	}
	if st := l.Stats(); st.PacketsSent != 5 {
		t.Fatalf("packets sent: %d, want 5", st.PacketsSent)
	}
}

// One destination cannot take the whole queue; the total and the control
// room are bounded too, and every refusal is counted.
func TestQueueBounds(t *testing.T) {
	l, r := newGatedLink(t, link.QueueConfig{Datagrams: 8, PerDestination: 3, Control: 2})
	runLink(t, l, func(*link.Delivery) {})
	pkt := packettest.UDP("2001:db8::1", "2001:db8::a", 20)
	if err := l.Send(pkt, nodeAddr(0xa), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	<-r.started // on the air, still counted until done
	for range 2 {
		if err := l.Send(pkt, nodeAddr(0xa), link.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Send(pkt, nodeAddr(0xa), link.SendOptions{}); !errors.Is(err, link.ErrQueueFull) {
		t.Fatalf("4th packet to a: %v, want ErrQueueFull", err)
	}
	for i := range 5 {
		if err := l.Send(pkt, nodeAddr(byte(0x10+i)), link.SendOptions{}); err != nil {
			t.Fatalf("packet %d to another node: %v", i, err)
		}
	}
	if err := l.Send(pkt, nodeAddr(0x20), link.SendOptions{}); !errors.Is(err, link.ErrQueueFull) {
		t.Fatalf("9th packet: %v, want ErrQueueFull", err)
	}
	for i := range 2 {
		if err := l.Send(pkt, nodeAddr(0x30), link.SendOptions{Class: link.ClassControl}); err != nil {
			t.Fatalf("control packet %d with the data share full: %v", i, err)
		}
	}
	if err := l.Send(pkt, nodeAddr(0x30), link.SendOptions{Class: link.ClassControl}); !errors.Is(err, link.ErrQueueFull) {
		t.Fatalf("3rd control packet: %v, want ErrQueueFull", err)
	}
	if st := l.QueueStats(); st.DroppedFull != 3 || st.Queued != 10 {
		t.Fatalf("stats %+v, want 3 dropped for room, 10 queued", st)
	}
}

// A packet that waited longer than MaxDelay is dropped, its waiter told.
func TestQueueExpiry(t *testing.T) {
	l, r := newGatedLink(t, link.QueueConfig{MaxDelay: 20 * time.Millisecond})
	runLink(t, l, func(*link.Delivery) {})
	pkt := packettest.UDP("2001:db8::1", "2001:db8::a", 20)
	if err := l.Send(pkt, nodeAddr(0xa), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	<-r.started
	res := make(chan error, 1)
	go func() { res <- l.SendWait(context.Background(), pkt, nodeAddr(0xb), link.SendOptions{}) }()
	time.Sleep(60 * time.Millisecond)
	r.gate <- struct{}{}
	if err := <-res; !errors.Is(err, link.ErrExpired) {
		t.Fatalf("SendWait: %v, want ErrExpired", err)
	}
	if st := l.QueueStats(); st.DroppedExpired != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Reception goes on while a transmission waits for the air: the receive
// loop never sends.
func TestReceiveWhileTransmitting(t *testing.T) {
	l, r := newGatedLink(t, link.QueueConfig{})
	got := make(chan []byte, 4)
	runLink(t, l, func(d *link.Delivery) { got <- append([]byte(nil), d.Packet...) })
	if err := l.Send(packettest.UDP("2001:db8::1", "2001:db8::a", 1000), nodeAddr(0xa), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	<-r.started // held on the air from now on
	// A node's frame to us, built by a link of its own.
	rec := &recorder{}
	sender, err := link.NewLowpan(link.LowpanConfig{Radio: rec, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 0xa}})
	if err != nil {
		t.Fatal(err)
	}
	runLink(t, sender, func(*link.Delivery) {})
	want := packettest.UDP("2001:db8::a", "2001:db8::1", 30)
	if err := sender.SendWait(context.Background(), want, l.LinkAddr(), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range rec.take() {
		r.RX <- radio.Frame{PSDU: f, RSSI: -50, LQI: 200}
	}
	select {
	case p := <-got:
		if string(p) != string(want) {
			t.Fatalf("received %x", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received while a transmission was held")
	}
}

// recorder keeps copies of the frames handed to it and acknowledges them.
type recorder struct {
	radiotest.Instant
	mu     sync.Mutex
	frames [][]byte
}

func (r *recorder) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	r.mu.Lock()
	r.frames = append(r.frames, radiotest.OnAir(psdu))
	r.mu.Unlock()
	return r.Instant.Transmit(ctx, psdu, opts)
}

func (r *recorder) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.frames
	r.frames = nil
	return f
}

// countingRadio acknowledges every frame and counts them atomically.
type countingRadio struct {
	radiotest.Instant
	mu sync.Mutex
	n  int
}

func (r *countingRadio) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return radio.TxResult{Status: radio.TxAcked}, nil
}

// Queuing and sending a 1280-octet packet allocates nothing once the
// queue's datagrams exist (both goroutines counted).
func TestSendAllocs(t *testing.T) {
	r := &countingRadio{}
	ctxs := &lowpan.ContextTable{}
	l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	runLink(t, l, func(*link.Delivery) {})
	if a := sendAllocs(t, l); a != 0 {
		t.Fatalf("%.1f allocations per 1280-octet packet, want 0", a)
	}
}

// sendAllocs is the allocations of sending one 1280-octet packet on the
// running link l and waiting until it is sent, once 10 have warmed the
// queue up: 110 packets in all.
func sendAllocs(t *testing.T, l *link.Lowpan) float64 {
	t.Helper()
	pkt := packettest.UDP("2001:db8::1", "2001:db8::a", 1232)
	send := func() {
		before := l.Stats().PacketsSent
		if err := l.Send(pkt, nodeAddr(0xa), link.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		for l.Stats().PacketsSent == before {
			time.Sleep(50 * time.Microsecond)
		}
	}
	for range 10 {
		send()
	}
	return testing.AllocsPerRun(100, send)
}

// BenchmarkSend: one 1280-octet packet queued and sent to a radio that
// acknowledges at once (both goroutines' costs per packet).
func BenchmarkSend(b *testing.B) {
	r := &countingRadio{}
	l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, Contexts: &lowpan.ContextTable{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, func(*link.Delivery) {}); close(done) }()
	defer func() { cancel(); <-done }()
	pkt := packettest.UDP("2001:db8::1", "2001:db8::a", 1232)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for l.QueueStats().Queued >= 8 {
			time.Sleep(time.Microsecond)
		}
		if err := l.Send(pkt, nodeAddr(0xa), link.SendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for l.Stats().PacketsSent < uint64(b.N) {
		time.Sleep(10 * time.Microsecond)
	}
}
