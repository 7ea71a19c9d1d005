// Package radiotest holds radio.Radio doubles for tests and benchmarks of
// the packages above the radio seam (link, router, sim).
package radiotest

import (
	"context"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/radio"
)

// Instant is a radio.Radio that acknowledges every frame that asks for an
// acknowledgement at once and counts the frames: the host side's cost
// without air time. RX is what Receive returns (the test sends into it).
type Instant struct {
	Frames int
	RX     chan radio.Frame
}

var _ radio.Radio = (*Instant)(nil)

// Transmit implements radio.Radio: acknowledged when the frame control's
// AR bit (bit 5, IEEE 802.15.4-2020 §7.2.2.6) is set, sent otherwise.
func (r *Instant) Transmit(_ context.Context, psdu []byte, _ radio.TxOptions) (radio.TxResult, error) {
	r.Frames++
	if len(psdu) > 0 && psdu[0]&0x20 != 0 {
		return radio.TxResult{Status: radio.TxAcked}, nil
	}
	return radio.TxResult{Status: radio.TxSent}, nil
}

// Receive implements radio.Radio.
func (r *Instant) Receive() <-chan radio.Frame { return r.RX }

// Configure implements radio.Radio.
func (r *Instant) Configure(context.Context, radio.Settings) error { return nil }

// EnergyScan implements radio.Radio.
func (r *Instant) EnergyScan(context.Context, uint8, time.Duration) (int8, error) {
	return -100, nil
}

// Identity implements radio.Radio.
func (r *Instant) Identity() radio.Identity { return radio.Identity{} }

// Close implements radio.Radio.
func (r *Instant) Close() error { return nil }

// OnAir returns a copy of psdu as a radio puts it on the air: with its
// last two octets replaced by the FCS (IEEE 802.15.4-2020 §7.2.10), which
// the host leaves to the radio.
func OnAir(psdu []byte) []byte {
	out := append([]byte(nil), psdu...)
	if n := len(out); n >= 2 {
		fcs := ieee802154.FCS(out[:n-2])
		out[n-2], out[n-1] = byte(fcs), byte(fcs>>8)
	}
	return out
}
