package medium

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

func TestAirTimeConstants(t *testing.T) {
	// (4 preamble + 1 SFD + 1 PHR + PSDU) octets × 32 µs.
	for _, tc := range []struct {
		psdu int
		want time.Duration
	}{
		{127, 4256 * us}, // 133 × 32
		{5, 352 * us},    // 11 × 32: an Imm-Ack
		{10, 512 * us},   // 16 × 32
	} {
		if got := AirTime(tc.psdu); got != tc.want {
			t.Errorf("AirTime(%d) = %v, want %v", tc.psdu, got, tc.want)
		}
	}
	// 20 + 12 + 10 + 12 = 54 symbols of 16 µs.
	if AckWaitDuration != 864*us {
		t.Errorf("AckWaitDuration = %v, want 864µs", AckWaitDuration)
	}
	for _, tc := range []struct {
		rssi int8
		lqi  uint8
	}{{-128, 0}, {-100, 0}, {-80, 63}, {-60, 127}, {-21, 251}, {-20, 255}, {10, 255}} {
		if got := LQIFromRSSI(tc.rssi); got != tc.lqi {
			t.Errorf("LQIFromRSSI(%d) = %d, want %d", tc.rssi, got, tc.lqi)
		}
	}
}

func TestAirTimeOnMedium(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	sniffer := attach(t, m, "sniffer", 3, func(c *NodeConfig) { c.Promiscuous = true })

	// A 127-octet frame without CSMA and without AR: on the air from
	// Start to End, exactly 4256 µs, and Start is when it was queued.
	psdu := fullFrame(t, 1, 1, 0xffff, false, 127)
	if len(psdu) != 127 {
		t.Fatalf("frame is %d octets", len(psdu))
	}
	res := mustTransmit(t, a, psdu, TxOptions{DisableCSMA: true})
	if res.Status != TxSent || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
	if res.Start != res.Queued || res.End-res.Start != 4256*us {
		t.Errorf("Queued %v Start %v End %v: want a 4256µs frame starting at once", res.Queued, res.Start, res.End)
	}
	rb := drain(b)
	if len(rb) != 1 || rb[0].End-rb[0].Start != 4256*us || string(rb[0].PSDU) != string(psdu) {
		t.Fatalf("b received %+v", rb)
	}
	if rb[0].RSSI != DefaultRSSI || rb[0].LQI != LQIFromRSSI(DefaultRSSI) || rb[0].Channel != 26 {
		t.Errorf("reception metadata %+v", rb[0])
	}
	drain(sniffer)

	// A 12-octet frame with AR, no CSMA: frame 18 × 32 = 576 µs,
	// turnaround 192 µs, Imm-Ack 352 µs: acknowledged 1120 µs after its
	// first symbol.
	psdu = fullFrame(t, 7, 1, 2, true, 12)
	res = mustTransmit(t, a, psdu, TxOptions{DisableCSMA: true})
	if res.Status != TxAcked || res.Attempts != 1 || res.FramePending {
		t.Fatalf("result %+v", res)
	}
	if got := res.End - res.Start; got != 1120*us {
		t.Errorf("acked after %v, want 1120µs", got)
	}
	fcs := ieee802154.FCS([]byte{0x02, 0x00, 7})
	if want := []byte{0x02, 0x00, 7, byte(fcs), byte(fcs >> 8)}; string(res.Ack) != string(want) {
		t.Errorf("Ack % x, want % x", res.Ack, want)
	}
	// The ACK's end reaches a before the sniffer (attach order), and a's
	// outcome may be read before the sniffer's copy is handed over.
	got := drainAtLeast(sniffer, 2, time.Second)
	if len(got) != 2 {
		t.Fatalf("sniffer saw %d frames, want data and ACK", len(got))
	}
	ack := got[1]
	if string(ack.PSDU) != string(res.Ack) || ack.End-ack.Start != 352*us || ack.Start != got[0].End+192*us {
		t.Errorf("ACK on the air %v–%v (% x); data ended %v", ack.Start, ack.End, ack.PSDU, got[0].End)
	}
	if rb := drain(b); len(rb) != 1 || !rb[0].AckSent || rb[0].AckFramePending {
		t.Errorf("b: %+v", rb)
	}
}

func TestNoAckTiming(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	a := attach(t, m, "a", 1)
	attach(t, m, "b", 2)
	psdu := fullFrame(t, 9, 1, 0x0077, true, 20) // nobody has 0x0077
	air := AirTime(20)                           // 26 × 32 = 832 µs

	// No retries: the frame, then macAckWaitDuration (864 µs).
	res := mustTransmit(t, a, psdu, TxOptions{DisableCSMA: true, MaxFrameRetries: -1})
	if res.Status != TxNoAck || res.Attempts != 1 || res.End-res.Start != air+864*us {
		t.Errorf("no retries: %+v, want NoAck after %v", res, air+864*us)
	}
	// Default macMaxFrameRetries = 3 without CSMA: four back-to-back
	// (frame + wait) = 4 × (832 + 864) = 6784 µs.
	res = mustTransmit(t, a, psdu, TxOptions{DisableCSMA: true})
	if res.Status != TxNoAck || res.Attempts != 4 || res.End-res.Start != 6784*us {
		t.Errorf("3 retries: %+v, want 4 attempts, NoAck after 6784µs", res)
	}
	if s := m.Stats(); s.Retries != 3 || s.NoAcks != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestCSMAStartDelay checks unslotted CSMA-CA on an idle channel. NB = 0,
// BE = macMinBE = 3: the backoff is k unit periods, k uniform in
// [0, 2^3 − 1] = [0, 7]; then one CCA of 8 symbols (128 µs), clear; then
// aTurnaroundTime (192 µs). First symbol at k × 320 + 128 + 192 µs:
//
//	min 320 µs (k = 0), max 7 × 320 + 320 = 2560 µs (k = 7),
//	mean 3.5 × 320 + 320 = 1440 µs,
//	σ(k × 320) = 320 × √((8² − 1)/12) = 320 × 2.2913 = 733.2 µs,
//
// so over N = 2000 seeds the mean's standard error is 733.2/√2000 = 16.4
// µs; accept ±5 of them (82 µs).
func TestCSMAStartDelay(t *testing.T) {
	const n = 2000
	seen := make(map[int]int)
	var sum float64
	for seed := range uint64(n) {
		m := New(Config{Seed: seed})
		a, _ := m.Attach(NodeConfig{Name: "a", Channel: 26, RxOnWhenIdle: true})
		tx, err := a.StartTransmit(fullFrame(t, 1, 1, 0xffff, false, 20), TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go m.Run(ctx)
		res, err := tx.Result()
		cancel()
		m.Close()
		if err != nil || res.Status != TxSent || res.CCABusy != 0 {
			t.Fatalf("seed %d: %+v %v", seed, res, err)
		}
		d := res.Start - res.Queued
		k := int((d - 320*us) / UnitBackoffPeriod)
		if d < 320*us || d > 2560*us || (d-320*us)%UnitBackoffPeriod != 0 {
			t.Fatalf("seed %d: start delay %v is not k×320µs + 320µs with k in [0,7]", seed, d)
		}
		seen[k]++
		sum += float64(d)
	}
	if len(seen) != 8 {
		t.Errorf("backoffs seen %v, want all of k = 0..7", seen)
	}
	mean := time.Duration(sum / n)
	sigma := 320 * math.Sqrt(63.0/12) / math.Sqrt(n) // µs
	if math.Abs(float64(mean-1440*us)) > 5*sigma*float64(us) {
		t.Errorf("mean start delay %v, want 1440µs ± %.0fµs", mean, 5*sigma)
	}
	t.Logf("mean start delay %v over %d seeds (expected 1440µs, σ of mean %.1fµs); per k: %v", mean, n, sigma, seen)
}

func TestChannelAccessFailure(t *testing.T) {
	m := startMedium(t, Config{Seed: 3})
	jammer := attach(t, m, "jammer", 9)
	a := attach(t, m, "a", 1)

	// The jammer's 127-octet frame occupies [0, 4256) µs. With
	// macMaxCSMABackoffs = 0, a's only CCA lies within
	// [k × 320, k × 320 + 128] ⊂ [0, 2368] µs: always busy.
	for i := range 20 {
		release := m.Hold()
		jt, err := jammer.StartTransmit(fullFrame(t, uint8(i), 9, 0xffff, false, 127), TxOptions{DisableCSMA: true})
		if err != nil {
			t.Fatal(err)
		}
		at, err := a.StartTransmit(fullFrame(t, uint8(i), 1, 0xffff, false, 20), TxOptions{MaxCSMABackoffs: -1})
		if err != nil {
			t.Fatal(err)
		}
		release()
		res, _ := at.Result()
		jt.Result()
		if res.Status != TxChannelAccessFailure || res.CCABusy != 1 || res.Attempts != 0 {
			t.Fatalf("round %d: %+v", i, res)
		}
	}
	if s := m.Stats(); s.ChannelAccessFailures != 20 || s.CCABusy != 20 {
		t.Errorf("stats %+v", s)
	}
}

func TestRealTime(t *testing.T) {
	for _, scale := range []float64{1, 0.5} {
		m := startMedium(t, Config{Seed: 1, TimeScale: scale})
		a := attach(t, m, "a", 1)
		begin := time.Now()
		res := mustTransmit(t, a, fullFrame(t, 1, 1, 0xffff, false, 127), TxOptions{DisableCSMA: true})
		wall := time.Since(begin)
		want := time.Duration(float64(4256*us) / scale)
		if res.End-res.Start != 4256*us || wall < want {
			t.Errorf("TimeScale %v: virtual %v, wall %v, want wall ≥ %v", scale, res.End-res.Start, wall, want)
		}
		if now := m.Now(); now < res.End {
			t.Errorf("Now() = %v before the frame's end %v", now, res.End)
		}
	}
}
