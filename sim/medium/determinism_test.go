package medium

import (
	"fmt"
	"strings"
	"testing"
)

// script runs a busy scenario (CSMA-CA contention, hidden terminals, lossy
// links in both directions, retries, broadcasts) and returns a transcript
// of every outcome and reception with its virtual times.
func script(t *testing.T, seed uint64) string {
	m := startMedium(t, Config{Seed: seed})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	c := attach(t, m, "c", 3)
	d := attach(t, m, "d", 4)
	m.SetLink(a, b, Link{Loss: 0.3, RSSI: -70})
	m.SetLink(b, a, Link{Loss: 0.2, RSSI: -75})
	m.SetLink(c, b, Link{Loss: 0.1, RSSI: -80})
	m.SetLink(a, c, Link{Disconnected: true})
	m.SetLink(c, a, Link{Disconnected: true})
	nodes := []*Node{a, b, c, d}

	var sb strings.Builder
	for round := range 40 {
		seq := uint8(round)
		frames := [][]byte{
			dataFrame(t, seq, 1, 2, true, 30),      // a → b, acked
			dataFrame(t, seq, 3, 2, true, 60),      // c → b, hidden from a
			dataFrame(t, seq, 4, 0xffff, false, 8), // d broadcasts
		}
		res := sendTogether(t, m, []*Node{a, c, d}, frames, TxOptions{})
		for i, r := range res {
			fmt.Fprintf(&sb, "r%d tx%d %v attempts=%d busy=%d q=%v s=%v e=%v\n",
				round, i, r.Status, r.Attempts, r.CCABusy, r.Queued, r.Start, r.End)
		}
		for _, n := range nodes {
			for _, rec := range drain(n) {
				fmt.Fprintf(&sb, "r%d %s got seq=%d from=%d %v–%v rssi=%d lqi=%d ack=%v\n",
					round, n, rec.PSDU[2], rec.PSDU[7], rec.Start, rec.End, rec.RSSI, rec.LQI, rec.AckSent)
			}
		}
	}
	fmt.Fprintf(&sb, "%+v\n", m.Stats())
	return sb.String()
}

func TestDeterminism(t *testing.T) {
	first := script(t, 1234)
	if again := script(t, 1234); again != first {
		t.Errorf("same seed, different transcripts:\n%s", firstDifference(first, again))
	}
	if other := script(t, 4321); other == first {
		t.Error("different seeds gave identical transcripts")
	}
	if !strings.Contains(first, "no_ack") || !strings.Contains(first, "acked") {
		t.Errorf("the script should see both acks and failures:\n%s", first)
	}
}

func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, la[i], lb[i])
		}
	}
	return "lengths differ"
}
