package router_test

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/internal/radiotest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/router"
)

// The host-cost target of issue 12: ≤ 5 µs of CPU per 1280-octet datagram
// each way (cpu-ns/op: process CPU, every goroutine of the path — TUN
// reader, the link's sender or receive loop — and the benchmark's own
// feeding), 0 allocations.

// BenchmarkLinuxToRadio: the host-side cost of one packet from the TUN to
// the frames handed to the radio (registry lookup, hop limit, compression,
// fragmentation, MAC headers), for a 100-octet and a 1200-octet UDP
// datagram to a registered node. Air time excluded.
func BenchmarkLinuxToRadio(b *testing.B) {
	for _, size := range []int{100, 1200} {
		b.Run(fmtSize(size), func(b *testing.B) {
			r := &radiotest.Instant{RX: make(chan radio.Frame)}
			ctxs := &lowpan.ContextTable{}
			ctxs.Set(0, lowpan.Context{Prefix: meshPrefix, Compress: true})
			ml, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 0xabcd, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}, Contexts: ctxs})
			if err != nil {
				b.Fatal(err)
			}
			node := netip.MustParseAddr("2001:db8:1::42")
			_, tun := startForwarder(b, ml, regNode{node, 0x42})
			pkt := packettest.UDP("2001:db8:9::5", node.String(), size-48)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				// Keep the link's queue from overflowing: the sender
				// goroutine and the TUN reader both run, and the figure
				// is the cost of both per packet.
				for uint64(i)-ml.Stats().PacketsSent >= 8 {
					runtime.Gosched()
				}
				tun.in <- pkt
			}
			for ml.Stats().PacketsSent < uint64(b.N) {
				time.Sleep(10 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(r.Frames)/float64(b.N), "frames/packet")
		})
	}
}

func fmtSize(n int) string {
	if n >= 1000 {
		return "1200B"
	}
	return "100B"
}

// recordingRadio keeps copies of the frames handed to it.
type recordingRadio struct {
	radiotest.Instant
	frames [][]byte
}

func (r *recordingRadio) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	r.frames = append(r.frames, radiotest.OnAir(psdu))
	return r.Instant.Transmit(ctx, psdu, opts)
}

// countingTUN counts what the forwarder writes, without keeping it.
type countingTUN struct {
	written atomic.Uint64
	closed  chan struct{}
}

func (c *countingTUN) Name() string { return "count0" }
func (c *countingTUN) MTU() int     { return 1280 }
func (c *countingTUN) ReadPacket([]byte) (int, error) {
	<-c.closed
	return 0, os.ErrClosed
}
func (c *countingTUN) WritePacket([]byte) error { c.written.Add(1); return nil }
func (c *countingTUN) Close() error             { close(c.closed); return nil }

// BenchmarkRadioToLinux: the host-side cost of one packet from the frames
// the radio received to the TUN (MAC decoding and duplicate filter,
// reassembly, decompression, the forwarder's routing decision), for a
// 100-octet and a 1200-octet UDP datagram from a node to a LAN host. Air
// time excluded.
func BenchmarkRadioToLinux(b *testing.B) {
	nodeEUI := [8]byte{2, 0, 0, 0, 0, 0, 0, 0x42}
	brEUI := [8]byte{2, 0, 0, 0, 0, 0, 0, 1}
	for _, size := range []int{100, 1200} {
		b.Run(fmtSize(size), func(b *testing.B) {
			ctxs := &lowpan.ContextTable{}
			ctxs.Set(0, lowpan.Context{Prefix: meshPrefix, Compress: true})
			// The node's frames, recorded once: two datagrams, so that
			// replaying them never repeats a MAC sequence number back to
			// back (the duplicate filter would drop it).
			rec := &recordingRadio{}
			sender, err := link.NewLowpan(link.LowpanConfig{Radio: rec, PANID: 0xabcd, ExtAddr: nodeEUI, Contexts: ctxs})
			if err != nil {
				b.Fatal(err)
			}
			pkt := packettest.UDP("2001:db8:1::42", "2001:db8:9::5", size-48)
			sctx, scancel := context.WithCancel(context.Background())
			sdone := make(chan struct{})
			go func() { sender.Run(sctx, func(*link.Delivery) {}); close(sdone) }()
			for range 2 {
				if err := sender.SendWait(context.Background(), pkt, lowpan.ExtendedLinkAddr(brEUI), link.SendOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			scancel()
			<-sdone
			r := &radiotest.Instant{RX: make(chan radio.Frame, 64)}
			ml, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 0xabcd, ExtAddr: brEUI, Contexts: ctxs})
			if err != nil {
				b.Fatal(err)
			}
			ndr, err := nd.New(nd.Config{Prefix: meshPrefix, LinkLocal: brLL, Global: brGlobal, ContextChangeDelay: -1}, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			// The node is registered: its packets pass the source
			// address validation, whose cost is part of the path.
			registerAt(b, ndr, netip.MustParseAddr("2001:db8:1::42"), 0x42)
			tun := &countingTUN{closed: make(chan struct{})}
			fwd, err := router.NewForwarder(router.ForwarderConfig{TUN: tun, Links: []link.Runnable{ml}, ND: ndr, Source: brGlobal})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { fwd.Run(ctx); close(done) }()
			defer func() { cancel(); tun.Close(); <-done }()
			perPacket := len(rec.frames) / 2
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				for _, f := range rec.frames[(i%2)*perPacket : (i%2+1)*perPacket] {
					r.RX <- radio.Frame{PSDU: f, RSSI: -50, LQI: 200}
				}
			}
			for tun.written.Load() < uint64(b.N) {
				time.Sleep(10 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(perPacket), "frames/packet")
		})
	}
}
