package spinel

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The longest transmission, worked out by hand from OpenThread's SubMac
// constants: per attempt five CCAs after backoffs of 7, 15, 31, 31, 31 unit
// periods of 320 µs (115 × 320 = 36.8 ms, + 5 × 128 µs), the turnaround
// (192 µs), the frame with its SHR and PHR (133 × 32 = 4.256 ms) and the
// ACK wait (16 ms): 57.888 ms; four attempts; retransmission delays of 0,
// 1 and 3 unit periods (1.28 ms).
func TestTxAirTimeMax(t *testing.T) {
	psdu := make([]byte, 127)
	psdu[0] = 0x21 // data frame, ACK requested
	req := TxRequest{PSDU: psdu, MaxCSMABackoffs: 4, MaxFrameRetries: 3, CSMAEnabled: true}
	if got, want := TxAirTimeMax(&req), 4*57888*time.Microsecond+1280*time.Microsecond; got != want {
		t.Errorf("127 octets, ACK, 4 backoffs, 3 retries: %v, want %v", got, want)
	}
	// A broadcast: no ACK wait. One attempt without retries: the CSMA-CA
	// and the frame alone.
	psdu[0] = 0x01
	req.MaxFrameRetries = 0
	if got, want := TxAirTimeMax(&req), 36800*time.Microsecond+640*time.Microsecond+192*time.Microsecond+4256*time.Microsecond; got != want {
		t.Errorf("broadcast, no retries: %v, want %v", got, want)
	}
	// More backoffs stay at macMaxBE; a longer wait for more of anything.
	req.MaxCSMABackoffs = 5
	if got, want := TxAirTimeMax(&req), 36800*time.Microsecond+31*320*time.Microsecond+6*128*time.Microsecond+192*time.Microsecond+4256*time.Microsecond; got != want {
		t.Errorf("5 backoffs: %v, want %v", got, want)
	}
	// The wait adds the line at its worst both ways and the margin.
	w := TransmitWait(&req, 0)
	line := time.Duration(HDLCEncodedLen(8+127+16)+HDLCEncodedLen(4+maxTxDoneValue)) * DefaultOctetTime
	if w != TxAirTimeMax(&req)+line+transmitMargin {
		t.Errorf("TransmitWait %v", w)
	}
	if fast := TransmitWait(&req, OctetTimeOf(460800, false, 1)); fast >= w {
		t.Errorf("a faster line waits %v, the default %v", fast, w)
	}
}

func TestOctetTimeOf(t *testing.T) {
	for _, c := range []struct {
		baud   int
		parity bool
		stop   int
		want   time.Duration
	}{
		{115200, false, 1, 86805 * time.Nanosecond},
		{460800, false, 1, 21701 * time.Nanosecond},
		{1000000, true, 2, 12 * time.Microsecond},
		{0, false, 1, 0},
	} {
		if got := OctetTimeOf(c.baud, c.parity, c.stop); got != c.want {
			t.Errorf("OctetTimeOf(%d, %v, %d) = %v, want %v", c.baud, c.parity, c.stop, got, c.want)
		}
	}
}

// Try sends a request again when its answer does not come, under a new
// TID; the late answer to the first try is dropped.
func TestTry(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	res := async(func() (Frame, error) {
		return c.Try(context.Background(), 3, 60*time.Millisecond, CmdPropValueGet, PropProtocolVersion, nil)
	})
	first := r.next(t)
	second := r.next(t)
	if second.TID == first.TID || second.Prop != PropProtocolVersion {
		t.Fatalf("second try %v after %v", &second, &first)
	}
	r.send(t, first.TID, CmdPropValueIs, PropProtocolVersion, AppendProtocolVersion(nil, 4, 3)) // late
	r.send(t, second.TID, CmdPropValueIs, PropProtocolVersion, AppendProtocolVersion(nil, 4, 3))
	if got := wait(t, res); got.err != nil || got.f.Prop != PropProtocolVersion {
		t.Fatalf("Try: %v %v", &got.f, got.err)
	}
	if s := c.Stats(); s.Timeouts != 1 || s.Late != 1 {
		t.Fatalf("stats %+v", s)
	}
	// Spent tries end with ErrTimeout.
	res = async(func() (Frame, error) {
		return c.Try(context.Background(), 2, 30*time.Millisecond, CmdPropValueGet, PropHWAddr, nil)
	})
	r.next(t)
	r.next(t)
	if got := wait(t, res); !errors.Is(got.err, ErrTimeout) {
		t.Fatalf("Try to a silent RCP: %v", got.err)
	}
}

// A GET is answered by IS of its property or by a failure status: a
// LAST_STATUS OK on its TID (a transmit-done, the answer to a SET) is
// someone else's and does not end it.
func TestGetIgnoresLastStatusOK(t *testing.T) {
	c, r := startPair(t, ClientOptions{})
	res := async(func() (Frame, error) { return c.Get(context.Background(), PropHWAddr) })
	req := r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, okDone)
	eui := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	r.send(t, req.TID, CmdPropValueIs, PropHWAddr, eui)
	if got := wait(t, res); got.err != nil || got.f.Prop != PropHWAddr || string(got.f.Value) != string(eui) {
		t.Fatalf("Get: %v %v", &got.f, got.err)
	}
	res = async(func() (Frame, error) { return c.Get(context.Background(), PropHWAddr) })
	req = r.next(t)
	r.send(t, req.TID, CmdPropValueIs, PropLastStatus, []byte{byte(StatusPropNotFound)})
	if got := wait(t, res); !errors.Is(got.err, StatusPropNotFound) {
		t.Fatalf("Get answered PROP_NOT_FOUND: %v", got.err)
	}
}
