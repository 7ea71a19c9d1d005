package medium

import (
	"math"
	"testing"
)

// TestDeliveryProbability: loss p on the data frame, lossless ACKs,
// macMaxFrameRetries r. Each attempt gets through with probability 1 − p
// and then is always acknowledged, so the transmission fails only when all
// r + 1 attempts are lost:
//
//	P(acked) = 1 − p^(r+1) = 1 − 0.5^4 = 0.9375 (p = 0.5, r = 3)
//	σ over N = 2000 trials: √(0.9375 × 0.0625 / 2000) = 0.0054
//	E[attempts] = 1 + p + p² + p³ = 1.875
//
// Since ACKs are lossless a retry happens only when the receiver got
// nothing, so the receiver sees each frame at most once, and exactly when
// it was acknowledged.
func TestDeliveryProbability(t *testing.T) {
	const trials, p, r = 2000, 0.5, 3
	m := startMedium(t, Config{Seed: 42})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	m.SetLink(a, b, Link{Loss: p, RSSI: -70})

	acked, attempts := 0, 0
	for i := range trials {
		res := mustTransmit(t, a, dataFrame(t, uint8(i), 1, 2, true, 20), TxOptions{MaxFrameRetries: r})
		got := len(drain(b))
		switch {
		case res.Status == TxAcked:
			acked++
			if got != 1 {
				t.Fatalf("trial %d: acked but b received %d copies", i, got)
			}
		case res.Status == TxNoAck:
			if got != 0 || res.Attempts != r+1 {
				t.Fatalf("trial %d: no ack after %d attempts, b received %d", i, res.Attempts, got)
			}
		default:
			t.Fatalf("trial %d: %v", i, res.Status)
		}
		attempts += res.Attempts
	}
	checkRate(t, "acked", acked, trials, 1-math.Pow(p, r+1), 4)
	// Attempts are 1–4 with variance < 1, so σ of the mean < 1/√2000.
	if mean := float64(attempts) / trials; math.Abs(mean-1.875) > 4/math.Sqrt(trials) {
		t.Errorf("mean attempts %.3f, want 1.875", mean)
	}
}

// TestDeliveryWithAckLoss: loss p on data, q on ACKs, r retries. An attempt
// succeeds (the sender gets its ACK) with s = (1 − p)(1 − q); the sender
// retries after every lost data frame and every lost ACK, so
//
//	P(acked) = 1 − (1 − s)^(r+1); p = 0.3, q = 0.5, r = 3:
//	s = 0.7 × 0.5 = 0.35, P(acked) = 1 − 0.65^4 = 0.82149375
//	σ over 2000 trials: √(0.8215 × 0.1785 / 2000) = 0.0086
//
// The receiver gets at least one copy unless every attempt's data frame
// was lost: 1 − p^(r+1) = 1 − 0.3^4 = 0.9919. Attempt k + 1 happens when
// the first k all failed, (1 − s)^k, and delivers a copy with 1 − p:
//
//	E[copies] = (1 − p) × Σ_{k=0..3} 0.65^k = 0.7 × 2.347125 = 1.6429875
//
// so duplicates (same sequence number) are common: the receiver's ACK was
// lost and the sender tried again.
func TestDeliveryWithAckLoss(t *testing.T) {
	const trials, p, q, r = 2000, 0.3, 0.5, 3
	m := startMedium(t, Config{Seed: 7})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	m.SetLink(a, b, Link{Loss: p, RSSI: -70})
	m.SetLink(b, a, Link{Loss: q, RSSI: -70})

	acked, delivered, duplicated := 0, 0, 0
	var copies, copies2 float64
	for i := range trials {
		seq := uint8(i)
		res := mustTransmit(t, a, dataFrame(t, seq, 1, 2, true, 20), TxOptions{MaxFrameRetries: r})
		got := drain(b)
		for _, rec := range got {
			if rec.PSDU[2] != seq {
				t.Fatalf("trial %d: b received sequence number %d", i, rec.PSDU[2])
			}
		}
		if len(got) > res.Attempts {
			t.Fatalf("trial %d: %d copies from %d attempts", i, len(got), res.Attempts)
		}
		if res.Status == TxAcked {
			acked++
			if len(got) == 0 {
				t.Fatalf("trial %d: acked but nothing received", i)
			}
		}
		if len(got) > 0 {
			delivered++
		}
		if len(got) > 1 {
			duplicated++
		}
		copies += float64(len(got))
		copies2 += float64(len(got) * len(got))
	}
	s := (1 - p) * (1 - q)
	checkRate(t, "acked (sender)", acked, trials, 1-math.Pow(1-s, r+1), 4)
	checkRate(t, "delivered at least once (receiver)", delivered, trials, 1-math.Pow(p, r+1), 4)
	mean := copies / trials
	sd := math.Sqrt(copies2/trials - mean*mean)
	want := (1 - p) * (1 - math.Pow(1-s, r+1)) / s
	if math.Abs(mean-want) > 5*sd/math.Sqrt(trials) {
		t.Errorf("mean copies at the receiver %.4f, want %.4f ± %.4f", mean, want, 5*sd/math.Sqrt(trials))
	} else {
		t.Logf("mean copies at the receiver %.4f (expected %.4f); %d trials with duplicates", mean, want, duplicated)
	}
	if duplicated == 0 {
		t.Error("no duplicates although ACKs are lost")
	}
}
