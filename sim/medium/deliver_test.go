package medium

import (
	"sync"
	"testing"
	"time"
)

// SetDeliver hands receptions to a function instead of the channel: a
// refusal counts as dropped, and nil brings the channel back.
func TestSetDeliver(t *testing.T) {
	m := startMedium(t, Config{Seed: 1})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	var mu sync.Mutex
	var got []Reception
	accept := true
	b.SetDeliver(func(r Reception) bool {
		mu.Lock()
		defer mu.Unlock()
		if !accept {
			return false
		}
		got = append(got, r)
		return true
	})
	mustTransmit(t, a, dataFrame(t, 1, 1, 2, true, 10), TxOptions{})
	mu.Lock()
	if len(got) != 1 || got[0].PSDU[2] != 1 {
		t.Fatalf("delivered %d receptions", len(got))
	}
	accept = false
	mu.Unlock()
	if _, ok := recvWithin(t, b, 20*time.Millisecond); ok {
		t.Fatal("a reception reached the channel while a deliver function was set")
	}
	mustTransmit(t, a, dataFrame(t, 2, 1, 2, true, 10), TxOptions{})
	if d := b.Dropped(); d != 1 {
		t.Fatalf("dropped %d, want the refused reception", d)
	}
	b.SetDeliver(nil)
	mustTransmit(t, a, dataFrame(t, 3, 1, 2, true, 10), TxOptions{})
	if r, ok := recvWithin(t, b, time.Second); !ok || r.PSDU[2] != 3 {
		t.Fatalf("after SetDeliver(nil): %v %v", r, ok)
	}
}
