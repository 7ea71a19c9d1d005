package medium

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

// A tap sees what Mirror sends — every frame on every channel, the ACK
// included — with the sender, the channel and the virtual start time;
// after remove it sees nothing more.
func TestTap(t *testing.T) {
	epoch := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := startMedium(t, Config{Seed: 1, Epoch: epoch})
	a := attach(t, m, "a", 1)
	b := attach(t, m, "b", 2)
	var mu sync.Mutex
	var got []TapFrame
	remove := m.Tap(func(f TapFrame) {
		mu.Lock()
		got = append(got, f)
		mu.Unlock()
	})

	data := fullFrame(t, 3, 1, 2, true, 30)
	if res := mustTransmit(t, a, data, TxOptions{DisableCSMA: true}); res.Status != TxAcked {
		t.Fatalf("status %v", res.Status)
	}
	other := dataFrame(t, 4, 1, 0xffff, false, 3)
	mustTransmit(t, a, other, TxOptions{Channel: 13, DisableCSMA: true})
	remove()
	mustTransmit(t, a, other, TxOptions{DisableCSMA: true})

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("tapped %d frames, want 3: %+v", len(got), got)
	}
	want := []struct {
		psdu    []byte
		channel uint8
		sender  int
	}{{data, 26, a.id}, {nil, 26, b.id}, {other, 13, a.id}}
	for i, w := range want {
		g := got[i]
		if w.psdu == nil { // the ACK
			if len(g.PSDU) != AckPSDULen || g.PSDU[2] != 3 {
				t.Errorf("frame %d: % x, want the ACK of 3", i, g.PSDU)
			}
		} else if !bytes.Equal(g.PSDU, w.psdu) {
			t.Errorf("frame %d: % x, want % x", i, g.PSDU, w.psdu)
		}
		if n := len(g.PSDU); n < 2 || ieee802154.FCS(g.PSDU[:n-2]) != uint16(g.PSDU[n-2])|uint16(g.PSDU[n-1])<<8 {
			t.Errorf("frame %d: bad FCS % x", i, g.PSDU)
		}
		if g.Channel != w.channel || g.Sender != w.sender || g.Start.Before(epoch) {
			t.Errorf("frame %d: %+v", i, g)
		}
	}
	// The ACK starts aTurnaroundTime after the data frame ends.
	if d := got[1].Start.Sub(got[0].Start); d != AirTime(len(data))+TurnaroundTime {
		t.Errorf("ACK %v after the frame's start, want %v", d, AirTime(len(data))+TurnaroundTime)
	}
}
