package rcp

import (
	"context"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// Every SET STREAM_RAW names the configured channel as the receive channel
// after the transmission. OpenThread's RCP decodes every optional field
// present (ncp_base_radio.cpp DecodeStreamRawTxRequest) and moves its
// receiver to that channel when the transmission ends (sub_mac.cpp
// HandleTransmitDone), so a 0 there left a real RCP deaf after the first
// frame. The request is decoded here as the RCP decodes it.
func TestTransmitRequestKeepsReceiveChannel(t *testing.T) {
	h := newHarness(t, 0, rcpsim.Config{})
	rec := &recordingConn{frames: make(chan []byte, 256)}
	d := h.open(t, func(c *Config) {
		c.Open = func(ctx context.Context) (spinel.FrameConn, error) {
			fc, err := h.opener(ctx)
			rec.FrameConn = fc
			return rec, err
		}
	})
	for _, opts := range []radio.TxOptions{{}, {Channel: 20}} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := d.Transmit(ctx, dataFrame(t, 1, 0xffff, false), opts)
		cancel()
		if err != nil {
			t.Fatalf("Transmit(%+v): %v", opts, err)
		}
		var req spinel.TxRequest
		found := false
		for !found {
			select {
			case b := <-rec.frames:
				var f spinel.Frame
				if f.Decode(b) != nil || f.Command != spinel.CmdPropValueSet || f.Prop != spinel.PropStreamRaw {
					continue
				}
				if err := req.Decode(f.Value); err != nil {
					t.Fatalf("decode the request as the RCP does: %v", err)
				}
				found = true
			default:
				t.Fatal("no STREAM_RAW request written")
			}
		}
		wantTx := testSettings.Channel
		if opts.Channel != 0 {
			wantTx = opts.Channel
		}
		if req.Channel != wantTx || req.RxChannelAfterTx != testSettings.Channel {
			t.Errorf("TxOptions %+v: request channel %d, receive channel after it %d; want %d and %d",
				opts, req.Channel, req.RxChannelAfterTx, wantTx, testSettings.Channel)
		}
	}
}

// droppingConn loses the RCP's answers (not its notifications) to one
// property, as a busy host that misses a frame would.
type droppingConn struct {
	spinel.FrameConn
	prop spinel.Prop
}

func (c droppingConn) ReadFrame(b []byte) (int, error) {
	for {
		n, err := c.FrameConn.ReadFrame(b)
		var f spinel.Frame
		if err == nil && f.Decode(b[:n]) == nil && f.TID != 0 && f.Prop == c.prop {
			continue
		}
		return n, err
	}
}

// OpenThread's RCP answers SET MAC_SCAN_STATE at once and reports the
// scan's result unsolicited at its end: a lost answer to the SET does not
// fail a scan whose result arrives (radio probe failed with "set
// MAC_SCAN_STATE: no response from the RCP after 2s" on a busy machine).
func TestEnergyScanSurvivesLostStartAnswer(t *testing.T) {
	h := newHarness(t, 0, rcpsim.Config{})
	d := h.open(t, func(c *Config) {
		c.Client.Timeout = 300 * time.Millisecond
		c.Open = func(ctx context.Context) (spinel.FrameConn, error) {
			fc, err := h.opener(ctx)
			return droppingConn{fc, spinel.PropMACScanState}, err
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := d.EnergyScan(ctx, 15, 50*time.Millisecond); err != nil {
		t.Fatalf("EnergyScan: %v", err)
	}
	if s := d.Stats(); s.Timeouts != 0 || s.Reconnects != 0 {
		t.Errorf("stats %+v: the RCP was taken for dead", s)
	}
}

// recordingConn records the frames the host writes.
type recordingConn struct {
	spinel.FrameConn
	frames chan []byte
}

func (r *recordingConn) WriteFrame(b []byte) error {
	select {
	case r.frames <- append([]byte(nil), b...):
	default:
	}
	return r.FrameConn.WriteFrame(b)
}
