package medium

import (
	"testing"
)

// sendTogether starts one frame on each node at the same virtual instant
// and waits for every outcome.
func sendTogether(t *testing.T, m *Medium, nodes []*Node, frames [][]byte, opts TxOptions) []TxResult {
	t.Helper()
	release := m.Hold()
	txs := make([]*Tx, len(nodes))
	for i, n := range nodes {
		tx, err := n.StartTransmit(frames[i], opts)
		if err != nil {
			release()
			t.Fatal(err)
		}
		txs[i] = tx
	}
	release()
	out := make([]TxResult, len(txs))
	for i, tx := range txs {
		res, err := tx.Result()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = res
	}
	return out
}

// hiddenTerminals: a and c both reach b but not each other.
func hiddenTerminals(t *testing.T, seed uint64) (m *Medium, a, b, c *Node) {
	m = startMedium(t, Config{Seed: seed})
	a = attach(t, m, "a", 1)
	b = attach(t, m, "b", 2)
	c = attach(t, m, "c", 3)
	m.SetLink(a, c, Link{Disconnected: true})
	m.SetLink(c, a, Link{Disconnected: true})
	return m, a, b, c
}

func TestHiddenTerminalsCollide(t *testing.T) {
	t.Run("no CSMA", func(t *testing.T) {
		m, a, b, c := hiddenTerminals(t, 1)
		frames := [][]byte{fullFrame(t, 1, 1, 2, false, 40), fullFrame(t, 1, 3, 2, false, 40)}
		res := sendTogether(t, m, []*Node{a, c}, frames, TxOptions{DisableCSMA: true})
		if res[0].Start != res[1].Start {
			t.Fatalf("starts %v and %v", res[0].Start, res[1].Start)
		}
		if got := drain(b); len(got) != 0 {
			t.Errorf("b received %d frames, want none", len(got))
		}
		if s := m.Stats(); s.Collisions != 2 {
			t.Errorf("collisions %d, want 2 (both frames at b)", s.Collisions)
		}
	})
	// With CSMA-CA the CCAs of hidden nodes are always clear, and the
	// first backoffs (BE = 3) differ by at most 7 × 320 = 2240 µs, less
	// than a 127-octet frame's 4256 µs: the frames always overlap at b.
	t.Run("CSMA", func(t *testing.T) {
		const rounds = 50
		m, a, b, c := hiddenTerminals(t, 2)
		for i := range rounds {
			frames := [][]byte{fullFrame(t, uint8(i), 1, 2, false, 127), fullFrame(t, uint8(i), 3, 2, false, 127)}
			res := sendTogether(t, m, []*Node{a, c}, frames, TxOptions{})
			if res[0].CCABusy+res[1].CCABusy != 0 {
				t.Fatalf("round %d: hidden nodes sensed each other: %+v", i, res)
			}
			if got := drain(b); len(got) != 0 {
				t.Fatalf("round %d: b received %d frames", i, len(got))
			}
		}
		if s := m.Stats(); s.Collisions != 2*rounds {
			t.Errorf("collisions %d, want %d", s.Collisions, 2*rounds)
		}
	})
}

// TestCSMAAvoidsCollisions: a and c hear each other and broadcast
// 127-octet frames at the same instant. They collide only when both draw
// the same first backoff, k_a = k_c with k uniform in [0, 7]:
// probability 1/8 = 0.125. Otherwise the later CCA, at k_c × 320 µs ≥
// k_a × 320 + 320 µs (the earlier frame's first symbol) and ≤ 2240 µs <
// 4256 µs, finds the channel busy and the later node waits until after
// the frame. Over 800 rounds σ = √(0.125 × 0.875 / 800) = 0.0117. Without
// CSMA every round collides.
func TestCSMAAvoidsCollisions(t *testing.T) {
	const rounds = 800
	m := startMedium(t, Config{Seed: 11})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	c := attach(t, m, "c", 3)

	lostBoth, gotBoth := 0, 0
	for i := range rounds {
		frames := [][]byte{fullFrame(t, uint8(i), 1, 0xffff, false, 127), fullFrame(t, uint8(i), 3, 0xffff, false, 127)}
		sendTogether(t, m, []*Node{a, c}, frames, TxOptions{})
		switch len(drain(b)) {
		case 0:
			lostBoth++
		case 2:
			gotBoth++
		}
		drain(a)
		drain(c)
	}
	checkRate(t, "rounds lost to a collision (CSMA)", lostBoth, rounds, 1.0/8, 4)
	if gotBoth < rounds*85/100 {
		t.Errorf("b received both frames in %d/%d rounds", gotBoth, rounds)
	}

	for i := range 20 {
		frames := [][]byte{fullFrame(t, uint8(i), 1, 0xffff, false, 127), fullFrame(t, uint8(i), 3, 0xffff, false, 127)}
		sendTogether(t, m, []*Node{a, c}, frames, TxOptions{DisableCSMA: true})
		if got := drain(b); len(got) != 0 {
			t.Fatalf("without CSMA, round %d: b received %d frames", i, len(got))
		}
	}
}
