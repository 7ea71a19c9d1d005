package medium

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

const testPAN = 0xabcd

// startMedium runs a medium at TimeScale 0 for the test's duration.
func startMedium(t testing.TB, cfg Config) *Medium {
	t.Helper()
	m := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-runDone; err != nil && err != context.Canceled {
			t.Errorf("Run: %v", err)
		}
	})
	return m
}

// attach adds an always-listening node on channel 26 of testPAN.
func attach(t testing.TB, m *Medium, name string, short uint16, edit ...func(*NodeConfig)) *Node {
	t.Helper()
	cfg := NodeConfig{
		Name:         name,
		ExtAddr:      [8]byte{0x02, 0, 0, 0, 0, 0, byte(short >> 8), byte(short)},
		ShortAddr:    short,
		PANID:        testPAN,
		Channel:      26,
		RxOnWhenIdle: true,
	}
	for _, e := range edit {
		e(&cfg)
	}
	n, err := m.Attach(cfg)
	if err != nil {
		t.Fatalf("Attach(%s): %v", name, err)
	}
	return n
}

// dataFrame builds a 2006 data frame between short addresses in testPAN
// with an n-octet payload, FCS included.
func dataFrame(t testing.TB, seq uint8, src, dst uint16, ar bool, payloadLen int) []byte {
	t.Helper()
	h := ieee802154.Header{
		Type:       ieee802154.FrameData,
		Version:    ieee802154.Version2006,
		AckRequest: ar,
		Seq:        seq,
		DstPAN:     testPAN,
		SrcPAN:     testPAN,
		Dst:        ieee802154.ShortAddress(ieee802154.ShortAddr(dst)),
		Src:        ieee802154.ShortAddress(ieee802154.ShortAddr(src)),
	}
	payload := make([]byte, payloadLen)
	for i := range payload {
		payload[i] = byte(i)
	}
	b, err := ieee802154.AppendFrame(nil, &h, payload, true)
	if err != nil {
		t.Fatalf("AppendFrame: %v", err)
	}
	return b
}

// fullFrame builds a data frame of exactly psduLen octets (FCS included).
func fullFrame(t testing.TB, seq uint8, src, dst uint16, ar bool, psduLen int) []byte {
	t.Helper()
	// Short/short, one PAN ID: 2 + 1 + 2 + 2 + 2 = 9 header octets.
	return dataFrame(t, seq, src, dst, ar, psduLen-9-2)
}

// drain takes every reception already queued on n.
func drain(n *Node) []Reception {
	var out []Reception
	for {
		select {
		case r, ok := <-n.Receive():
			if !ok {
				return out
			}
			out = append(out, r)
		default:
			return out
		}
	}
}

// drainAtLeast collects receptions until it has want of them or d of wall
// time passed: a frame's end at a bystander may be handed over just after
// the transmitter's outcome (an ACK's reception by a sniffer, say).
func drainAtLeast(n *Node, want int, d time.Duration) []Reception {
	out := drain(n)
	deadline := time.After(d)
	for len(out) < want {
		select {
		case r, ok := <-n.Receive():
			if !ok {
				return out
			}
			out = append(out, r)
		case <-deadline:
			return out
		}
	}
	return append(out, drain(n)...)
}

// recvWithin waits up to d of wall time for one reception.
func recvWithin(t testing.TB, n *Node, d time.Duration) (Reception, bool) {
	t.Helper()
	select {
	case r, ok := <-n.Receive():
		return r, ok
	case <-time.After(d):
		return Reception{}, false
	}
}

func mustTransmit(t testing.TB, n *Node, psdu []byte, opts TxOptions) TxResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := n.Transmit(ctx, psdu, opts)
	if err != nil {
		t.Fatalf("Transmit: %v", err)
	}
	return res
}

// checkRate fails unless got successes out of n trials are within k
// standard deviations of the binomial mean n·p.
func checkRate(t testing.TB, what string, got, n int, p, k float64) {
	t.Helper()
	sigma := math.Sqrt(p * (1 - p) / float64(n))
	rate := float64(got) / float64(n)
	if math.Abs(rate-p) > k*sigma {
		t.Errorf("%s: %d/%d = %.4f, want %.4f ± %.4f (%.0fσ)", what, got, n, rate, p, k*sigma, k)
	} else {
		t.Logf("%s: %d/%d = %.4f (expected %.4f, σ %.4f)", what, got, n, rate, p, sigma)
	}
}

const us = time.Microsecond
