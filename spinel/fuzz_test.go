package spinel

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzHDLCDecoder feeds arbitrary byte streams, split at an arbitrary
// point, to the decoder: no panic, memory bounded by the frame limit, and
// every frame it emits re-encodes to a stream that decodes to the same frame.
func FuzzHDLCDecoder(f *testing.F) {
	for _, v := range hdlcVectors {
		f.Add(v.enc, uint16(1))
	}
	f.Add(cat([]byte{0x01, 0x7D}, AppendHDLC(nil, frA), []byte{0x7E, 0x7D, 0x7E}, AppendHDLC(nil, frC)), uint16(3))
	f.Add(AppendHDLC(nil, bytes.Repeat([]byte{0x7D}, 70)), uint16(40))
	f.Add([]byte{0x7E, 0x7D, 0x7D, 0x7E, 0x7E}, uint16(0))
	const max = 64
	f.Fuzz(func(t *testing.T, stream []byte, split uint16) {
		d := NewHDLCDecoder(max)
		var frames [][]byte
		emit := func(fr []byte) {
			if len(fr) > max {
				t.Fatalf("frame of %d bytes over the %d limit", len(fr), max)
			}
			frames = append(frames, bytes.Clone(fr))
		}
		cut := int(split)
		if cut > len(stream) {
			cut = len(stream)
		}
		d.Feed(stream[:cut], emit)
		d.Feed(stream[cut:], emit)
		if len(d.buf) != max+hdlcFCSLen {
			t.Fatalf("buffer grew to %d", len(d.buf))
		}
		s := d.Stats()
		if s.Frames != uint64(len(frames)) {
			t.Fatalf("Frames = %d, emitted %d", s.Frames, len(frames))
		}
		for _, fr := range frames {
			enc := AppendHDLC(nil, fr)
			var again [][]byte
			var d2 HDLCDecoder
			d2.Feed(enc, func(g []byte) { again = append(again, bytes.Clone(g)) })
			if len(again) != 1 || !bytes.Equal(again[0], fr) {
				t.Fatalf("frame % x re-encoded as % x decodes to %x", fr, enc, again)
			}
			if dec, err := DecodeHDLC(nil, enc); err != nil || !bytes.Equal(dec, fr) {
				t.Fatalf("DecodeHDLC(% x) = % x, %v", enc, dec, err)
			}
			// The frame in three parts, cut where split says, encodes
			// exactly as the whole.
			a := min(int(split)%(len(fr)+1), len(fr))
			b := a + (len(fr)-a)/2
			if parts := AppendHDLCParts(nil, [][]byte{fr[:a], fr[a:b], fr[b:]}); !bytes.Equal(parts, enc) {
				t.Fatalf("AppendHDLCParts cut at %d and %d = % x, want % x", a, b, parts, enc)
			}
		}
	})
}

// FuzzFrameDecode runs the Spinel frame decoder and every value decoder on
// arbitrary input: no panic, and what decodes re-encodes consistently.
func FuzzFrameDecode(f *testing.F) {
	for _, v := range frameVectors {
		f.Add(v.enc)
	}
	f.Add(append([]byte{0x81, 0x03, 0x71}, txRequestVector...))
	f.Add(append([]byte{0x80, 0x06, 0x71}, rxFrameVector...))
	f.Add(AppendTxDone([]byte{0x81, 0x06, 0x00}, &TxDone{Status: StatusOK, HasAck: true, Ack: rxFrameFields, HasSecurity: true}))
	f.Add([]byte{0x81, 0x06, 0x00, 0x00, 0x01, 0x00, 0x05, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frame
		if err := fr.Decode(b); err != nil {
			return
		}
		if enc := AppendFrame(nil, &fr); fr.Command.HasProp() && len(enc) > len(b) {
			// A non-minimal packed integer re-encodes shorter, never longer.
			t.Fatalf("frame % x re-encoded longer: % x", b, enc)
		}
		v := fr.Value

		var tx TxRequest
		if tx.Decode(v) == nil {
			if len(tx.PSDU) > MaxPSDU {
				t.Fatalf("TxRequest PSDU of %d bytes", len(tx.PSDU))
			}
			var again TxRequest
			if err := again.Decode(AppendTxRequest(nil, &tx)); err != nil || !equalTx(&tx, &again) {
				t.Fatalf("TxRequest round trip: %+v → %+v, %v", tx, again, err)
			}
		}
		var rx RxFrame
		if rx.Decode(v) == nil {
			var again RxFrame
			enc := AppendRxFrame(nil, &rx)
			if err := again.Decode(enc); err != nil {
				t.Fatalf("RxFrame %+v re-encoded as % x: %v", rx, enc, err)
			}
			if rx.RxError == 0 && !bytes.Equal(again.PSDU, rx.PSDU) {
				t.Fatalf("RxFrame PSDU % x → % x", rx.PSDU, again.PSDU)
			}
		}
		var done TxDone
		if done.Decode(v) == nil {
			var again TxDone
			// An ACK received with an error is sent without its PSDU, as
			// OpenThread's RCP does; it no longer counts as an ACK then.
			wantAck := done.HasAck && done.Ack.RxError == OTErrorNone
			if err := again.Decode(AppendTxDone(nil, &done)); err != nil || again.Status != done.Status || again.HasAck != wantAck {
				t.Fatalf("TxDone round trip: %+v → %+v, %v", done, again, err)
			}
		}
		var e EnergyScanResult
		_ = e.Decode(v)
		_, _, _ = DecodeProtocolVersion(v)
		_, _ = ReadCaps(nil, v)
		_, _ = ReadShortAddrs(nil, v)
		_, _ = ReadEUI64s(nil, v)

		// Walk the value as every type in turn.
		r := NewReader(v, "fuzz")
		for r.Len() > 0 && r.Err() == nil {
			switch r.Len() % 7 {
			case 0:
				r.PackedUint()
			case 1:
				r.UTF8()
			case 2:
				s := r.Struct()
				s.U64()
			case 3:
				r.DataWithLen()
			case 4:
				r.Bool()
			case 5:
				r.EUI64()
			default:
				r.U16()
			}
		}
	})
}

func equalTx(a, b *TxRequest) bool {
	return bytes.Equal(a.PSDU, b.PSDU) && a.Channel == b.Channel && a.MaxCSMABackoffs == b.MaxCSMABackoffs &&
		a.MaxFrameRetries == b.MaxFrameRetries && a.CSMAEnabled == b.CSMAEnabled && a.HeaderUpdated == b.HeaderUpdated &&
		a.IsRetransmission == b.IsRetransmission && a.SecurityProcessed == b.SecurityProcessed && a.TxDelay == b.TxDelay &&
		a.TxDelayBase == b.TxDelayBase && a.RxChannelAfterTx == b.RxChannelAfterTx && a.TxPower == b.TxPower
}

// chanConn is a FrameConn fed by a test: frames written by the client go
// to out, frames the test puts on in are read.
type chanConn struct {
	in, out chan []byte
	closed  chan struct{}
}

func (c *chanConn) ReadFrame(buf []byte) (int, error) {
	select {
	case b := <-c.in:
		if len(b) > len(buf) {
			return 0, ErrFrameTooLarge
		}
		return copy(buf, b), nil
	case <-c.closed:
		return 0, ErrClosed
	}
}

func (c *chanConn) WriteFrame(b []byte) error {
	select {
	case c.out <- bytes.Clone(b):
		return nil
	case <-c.closed:
		return ErrClosed
	}
}

func (c *chanConn) Close() error {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
	return nil
}

// FuzzTransmitSequenceAnswer hands an arbitrary frame, under the TID of a
// transmit sequence in flight, to the client's reader: whatever it is (a
// transmit-done of any shape, a refusal, garbage), the reader neither
// panics nor hangs, and the sequence ends once a good transmit-done
// follows.
func FuzzTransmitSequenceAnswer(f *testing.F) {
	f.Add(AppendFrameHeader(nil, 0, 1, CmdPropValueIs, PropLastStatus))
	f.Add(append(AppendFrameHeader(nil, 0, 1, CmdPropValueIs, PropLastStatus), okDone...))
	f.Add(append(AppendFrameHeader(nil, 0, 1, CmdPropValueIs, PropLastStatus), AppendTxDone(nil, &TxDone{Status: StatusOK, HasAck: true, Ack: RxFrame{PSDU: []byte{2, 0, 1, 0, 0}}})...))
	f.Add(append(AppendFrameHeader(nil, 0, 1, CmdPropValueIs, PropLastStatus), byte(StatusCCAFailure), 0, 0))
	f.Add(append(AppendFrameHeader(nil, 0, 1, CmdPropValueIs, PropStreamRaw), rxFrameVector...))
	f.Add([]byte{0x81, 0x06, 0x00, 0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, answer []byte) {
		conn := &chanConn{in: make(chan []byte, 4), out: make(chan []byte, 8), closed: make(chan struct{})}
		c := NewClient(conn, nil, ClientOptions{TransmitTimeout: time.Second})
		defer c.Close()
		seq := newListSeq(3, false)
		res := make(chan error, 1)
		go func() { res <- c.TransmitSequence(context.Background(), seq) }()
		var f Frame
		if err := f.Decode(<-conn.out); err != nil {
			t.Fatal(err)
		}
		if len(answer) > 0 && Header(answer[0]).Valid() {
			answer = append([]byte{answer[0]&0xf0 | f.TID}, answer[1:]...)
		}
		done := append(AppendFrameHeader(nil, 0, f.TID, CmdPropValueIs, PropLastStatus), okDone...)
		conn.in <- answer
		conn.in <- done // for the first request, if the answer was not one
		for {
			select {
			case err := <-res:
				if err != nil && !errors.Is(err, ErrReset) {
					t.Fatalf("sequence ended with %v", err)
				}
				return
			case <-conn.out:
				conn.in <- done
			case <-time.After(5 * time.Second):
				t.Fatal("the sequence did not end")
			}
		}
	})
}
