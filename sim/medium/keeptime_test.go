package medium

import (
	"testing"
	"time"
)

// BenchmarkRealTimeAckedFrames sends acknowledged 124-octet frames back to
// back between two nodes on a medium running in real time and reports the
// wall-clock time per frame against the medium's own model of it (the
// virtual time from one transmission's start to the end of its ACK, CSMA-CA
// included). A medium that keeps time gives a ratio near 1; events that
// run late (Go rounds timer waits under a millisecond up to about one in
// the netpoller) push it up and cost goodput in every simulated run.
func BenchmarkRealTimeAckedFrames(b *testing.B) {
	m := startMedium(b, Config{Seed: 1, TimeScale: 1})
	a := attach(b, m, "a", 1)
	attach(b, m, "b", 2)
	psdu := fullFrame(b, 1, 1, 2, true, 124)
	var virt time.Duration
	b.ResetTimer()
	begin := time.Now()
	for i := 0; i < b.N; i++ {
		start := m.Now()
		res := mustTransmit(b, a, psdu, TxOptions{})
		if res.Status != TxAcked {
			b.Fatalf("frame %d: %v", i, res.Status)
		}
		virt += res.End - start
	}
	wall := time.Since(begin)
	b.ReportMetric(float64(wall.Microseconds())/float64(b.N), "wall-µs/frame")
	b.ReportMetric(float64(virt.Microseconds())/float64(b.N), "model-µs/frame")
	b.ReportMetric(float64(wall)/float64(virt), "wall/model")
}
