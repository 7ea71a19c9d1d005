package link_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/internal/radiotest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/radio"
)

// downRadio is an RCP that is away: like rcp.Driver while it is down, its
// TransmitFrom refuses at once without taking a frame.
type downRadio struct {
	radiotest.Instant
	calls atomic.Int64
}

func (r *downRadio) TransmitFrom(ctx context.Context, src radio.FrameSource) error {
	r.calls.Add(1)
	return errors.New("rcp: not ready")
}

// While the radio refuses every frame the sender backs off instead of
// offering the queued datagram again at once: a busy loop wrote 870,000
// debug lines in 2.4 s while an RCP was unplugged.
func TestLowpanSenderBacksOffWhileTheRadioIsDown(t *testing.T) {
	r := &downRadio{}
	l, err := link.NewLowpan(link.LowpanConfig{Radio: r, PANID: 1, ExtAddr: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, func(*link.Delivery) {}); close(done) }()
	if err := l.Send(packettest.UDP("fe80::1", "fe80::2", 10), lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 2}), link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	<-done
	// 10, 20, 40, 80, 160, 250 ms…: about 6 tries in half a second, and
	// a few more while the link drains on the way out.
	if n := r.calls.Load(); n < 2 || n > 30 {
		t.Errorf("the radio was offered frames %d times in 0.5 s, want a handful", n)
	}
}
