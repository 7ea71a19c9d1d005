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

// BenchmarkPTYFrames measures frames per second from the driver's
// Transmit, through the UART code, a PTY paced at the baud rate and the
// simulated RCP, and back (air time off: the medium runs as fast as
// possible). It reports the line-rate limit for the bytes each frame puts
// on the wire both ways (requests and transmit-done are sequential: one
// frame in flight) and the measured fraction of it.
func BenchmarkPTYFrames(b *testing.B) {
	for _, baud := range []int{115200, 1000000, 0} {
		b.Run(fmt.Sprint(baud), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m := medium.New(medium.Config{Seed: 1})
			go m.Run(ctx)
			defer m.Close()
			node, _ := m.Attach(medium.NodeConfig{Name: "rcp", Channel: 11})
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
			defer d.Close()
			psdu := dataFrame(b, 1, 0xffff, false) // broadcast, no ACK: a TxSent each
			// Bytes on the wire per frame: the SET STREAM_RAW request and the
			// IS LAST_STATUS transmit-done, HDLC-encoded.
			req := spinel.AppendFrameHeader(nil, 0, 1, spinel.CmdPropValueSet, spinel.PropStreamRaw)
			req = spinel.AppendTxRequest(req, &spinel.TxRequest{PSDU: psdu, Channel: 15, MaxCSMABackoffs: 4, MaxFrameRetries: 3, CSMAEnabled: true, TxPower: spinel.TxPowerUnset})
			done := spinel.AppendFrameHeader(nil, 0, 1, spinel.CmdPropValueIs, spinel.PropLastStatus)
			done = spinel.AppendTxDone(done, &spinel.TxDone{Status: spinel.StatusOK})
			wire := len(spinel.AppendHDLC(nil, req)) + len(spinel.AppendHDLC(nil, done))
			limit := float64(baud) / 10 / float64(wire)
			if baud == 0 {
				limit = 0
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				res, err := d.Transmit(ctx, psdu, radio.TxOptions{})
				if err != nil || res.Status != radio.TxSent {
					b.Fatalf("frame %d: %v %v", i, res.Status, err)
				}
			}
			fps := float64(b.N) / time.Since(start).Seconds()
			b.ReportMetric(fps, "frames/s")
			if limit > 0 {
				b.ReportMetric(limit, "limit-frames/s")
				b.ReportMetric(fps/limit, "of-limit")
			}
			b.ReportMetric(float64(wire), "wire-bytes/frame")
		})
	}
}
