package rcp

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// pacedLine makes the RCP's end of the PTY behave like a UART at a baud
// rate: every byte takes 10 bit times (8N1) to cross, in each direction. A
// PTY itself ignores the baud rate.
type pacedLine struct {
	f    *os.File
	baud int
}

func (p pacedLine) bitTime(n int) time.Duration {
	if p.baud == 0 {
		return 0 // unpaced: the PTY's own speed
	}
	return time.Duration(n) * 10 * time.Second / time.Duration(p.baud)
}

func (p pacedLine) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	wait(p.bitTime(n))
	return n, err
}

func (p pacedLine) Write(b []byte) (int, error) {
	wait(p.bitTime(len(b)))
	return p.f.Write(b)
}

// wait holds for d precisely: time.Sleep alone overshoots sub-millisecond
// waits by a large fraction, which would be charged to the code under test.
func wait(d time.Duration) {
	if d <= 0 {
		return
	}
	end := time.Now().Add(d)
	if d > time.Millisecond {
		time.Sleep(d - time.Millisecond)
	}
	for time.Now().Before(end) {
		runtime.Gosched()
	}
}

func (p pacedLine) Close() error { return p.f.Close() }

var _ io.ReadWriteCloser = pacedLine{}

// ptyBench is the driver on the UART code and a PTY, the simulated RCP on
// the PTY's other end (in this process, as in the daemon's built-in
// simulator), its medium node, and a peer node on the same channel.
type ptyBench struct {
	d    *Driver
	peer *medium.Node
}

func newPTYBench(b *testing.B, baud int) *ptyBench {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	m := medium.New(medium.Config{Seed: 1})
	go m.Run(ctx)
	b.Cleanup(func() { m.Close() })
	node, _ := m.Attach(medium.NodeConfig{Name: "rcp", Channel: 11})
	peer, _ := m.Attach(medium.NodeConfig{Name: "peer", Channel: testSettings.Channel, PANID: testSettings.PANID, ShortAddr: 2, RxOnWhenIdle: true})
	r := rcpsim.New(node, rcpsim.Config{EUI64: rcpEUI})
	master, path, err := transport.OpenPTY()
	if err != nil {
		b.Skip(err)
	}
	go r.Serve(ctx, pacedLine{master, baud})
	open := func(ctx context.Context) (spinel.FrameConn, error) {
		p, err := transport.OpenUART(path, transport.UARTConfig{Baud: max(baud, 115200)})
		if err != nil {
			return nil, err
		}
		return spinel.NewHDLCConn(p), nil
	}
	d, err := Open(ctx, Config{Open: open, Settings: testSettings})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return &ptyBench{d: d, peer: peer}
}

// perFrame reports the rate and the CPU time of the whole process per
// frame (getrusage: user + system, every goroutine of the driver, the
// simulated RCP and its medium, and the runtime's scheduler and GC).
func perFrame(b *testing.B, start time.Time, cpu0 time.Duration) {
	b.Helper()
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "frames/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/frame")
	}
}

// BenchmarkPTYFrames measures frames per second from the driver's
// Transmit, through the UART code, a PTY paced at the baud rate and the
// simulated RCP, and back (air time off: the medium runs as fast as
// possible). It reports the line-rate limit for the bytes each frame puts
// on the wire both ways (requests and transmit-done are sequential: one
// frame in flight) and the measured fraction of it. batch14 sends the 14
// frames of a fragmented 1280-octet datagram with TransmitFrames, unpaced;
// each op is one frame.
func BenchmarkPTYFrames(b *testing.B) {
	psdu := dataFrame(b, 1, 0xffff, false) // broadcast, no ACK: a TxSent each
	for _, baud := range []int{115200, 1000000, 0} {
		b.Run(fmt.Sprint(baud), func(b *testing.B) {
			pb := newPTYBench(b, baud)
			ctx := context.Background()
			// Bytes on the wire per frame: the SET STREAM_RAW request and the
			// IS LAST_STATUS transmit-done, HDLC-encoded.
			req := spinel.AppendFrameHeader(nil, 0, 1, spinel.CmdPropValueSet, spinel.PropStreamRaw)
			req = spinel.AppendTxRequest(req, &spinel.TxRequest{PSDU: psdu, Channel: 15, MaxCSMABackoffs: 4, MaxFrameRetries: 3, CSMAEnabled: true, TxPower: spinel.TxPowerUnset})
			done := spinel.AppendFrameHeader(nil, 0, 1, spinel.CmdPropValueIs, spinel.PropLastStatus)
			done = spinel.AppendTxDone(done, &spinel.TxDone{Status: spinel.StatusOK})
			wire := len(spinel.AppendHDLC(nil, req)) + len(spinel.AppendHDLC(nil, done))
			limit := float64(baud) / 10 / float64(wire)
			for range 10 { // warm the pools
				pb.d.Transmit(ctx, psdu, radio.TxOptions{})
			}
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			for i := 0; i < b.N; i++ {
				res, err := pb.d.Transmit(ctx, psdu, radio.TxOptions{})
				if err != nil || res.Status != radio.TxSent {
					b.Fatalf("frame %d: %v %v", i, res.Status, err)
				}
			}
			perFrame(b, start, cpu0)
			if baud > 0 {
				b.ReportMetric(limit, "limit-frames/s")
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds()/limit, "of-limit")
			}
			b.ReportMetric(float64(wire), "wire-bytes/frame")
		})
	}
	b.Run("batch14", func(b *testing.B) {
		pb := newPTYBench(b, 0)
		ctx := context.Background()
		frames := make([][]byte, 14)
		for i := range frames {
			frames[i] = psdu
		}
		results := make([]radio.TxResult, len(frames))
		pb.d.TransmitFrames(ctx, frames, radio.TxOptions{}, results)
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		for i := 0; i < b.N; i += len(frames) {
			batch := frames[:min(len(frames), b.N-i)]
			n, err := pb.d.TransmitFrames(ctx, batch, radio.TxOptions{}, results)
			if err != nil || n != len(batch) || results[n-1].Status != radio.TxSent {
				b.Fatalf("batch at %d: %d frames, %v %v", i, n, results[max(n-1, 0)].Status, err)
			}
		}
		perFrame(b, start, cpu0)
	})
}

// BenchmarkPTYReceive measures frames a peer sends on the medium that the
// driver hands to its consumer: the simulated RCP's IS STREAM_RAW through
// the PTY, the UART code, HDLC and Spinel decoding, the lent buffer. The
// consumer releases each frame, as the link layer does.
func BenchmarkPTYReceive(b *testing.B) {
	pb := newPTYBench(b, 0)
	ctx := context.Background()
	psdu := dataFrame(b, 1, 0xffff, false)
	opts := medium.TxOptions{DisableCSMA: true}
	rx := pb.d.Receive()
	for range 10 {
		pb.peer.Transmit(ctx, psdu, opts)
		f := <-rx
		f.Release()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		if _, err := pb.peer.Transmit(ctx, psdu, opts); err != nil {
			b.Fatal(err)
		}
		f := <-rx
		if len(f.PSDU) != len(psdu) {
			b.Fatalf("frame %d: % x", i, f.PSDU)
		}
		f.Release()
	}
	perFrame(b, start, cpu0)
}

// BenchmarkCannedFrames is the driver's share of a frame: the UART code on
// a PTY, HDLC, the Spinel client and rcp.Driver, against a canned RCP that
// answers from made-up values without allocating (no simulated medium).
// tx: Transmit of a broadcast frame; batch14: TransmitFrames of 14, per
// frame; pull14: TransmitFrom of a source with 14 frames, per frame; rx: a frame written by the RCP, received and released.
func BenchmarkCannedFrames(b *testing.B) {
	psdu := dataFrame(b, 1, 0xffff, false)
	ctx := context.Background()
	b.Run("tx", func(b *testing.B) {
		d, _, _ := cannedDriver(b, psdu, nil)
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		for i := 0; i < b.N; i++ {
			if res, err := d.Transmit(ctx, psdu, radio.TxOptions{}); err != nil || res.Status != radio.TxSent {
				b.Fatal(res.Status, err)
			}
		}
		perFrame(b, start, cpu0)
	})
	b.Run("batch14", func(b *testing.B) {
		d, _, _ := cannedDriver(b, psdu, nil)
		frames := make([][]byte, 14)
		for i := range frames {
			frames[i] = psdu
		}
		results := make([]radio.TxResult, len(frames))
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		for i := 0; i < b.N; i += len(frames) {
			batch := frames[:min(len(frames), b.N-i)]
			if n, err := d.TransmitFrames(ctx, batch, radio.TxOptions{}, results); err != nil || n != len(batch) {
				b.Fatal(n, err)
			}
		}
		perFrame(b, start, cpu0)
	})
	b.Run("pull14", func(b *testing.B) {
		d, _, _ := cannedDriver(b, psdu, nil)
		src := &loopSource{frames: [][]byte{psdu}}
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		for i := 0; i < b.N; i += 14 {
			src.i, src.n = 0, min(14, b.N-i)
			if err := d.TransmitFrom(ctx, src); err != nil || src.bad != 0 {
				b.Fatal(err, src.bad)
			}
		}
		perFrame(b, start, cpu0)
	})
	b.Run("rx", func(b *testing.B) {
		d, q, master := cannedDriver(b, psdu, nil)
		rx := d.Receive()
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		for i := 0; i < b.N; i++ {
			master.Write(q.rx)
			f := <-rx
			f.Release()
		}
		perFrame(b, start, cpu0)
	})
}
