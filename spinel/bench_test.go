package spinel

import (
	"context"
	"testing"
)

// A 127-byte Spinel frame (an IS STREAM_RAW header and value bytes that
// include a few that need escaping) HDLC-encoded and decoded again.
func BenchmarkHDLCRoundTrip127(b *testing.B) {
	frame := make([]byte, 127)
	for i := range frame {
		frame[i] = byte(i * 7)
	}
	enc := make([]byte, 0, HDLCEncodedLen(len(frame)))
	d := NewHDLCDecoder(0)
	n := 0
	emit := func(f []byte) { n += len(f) }
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		enc = AppendHDLC(enc[:0], frame)
		d.Feed(enc, emit)
	}
	if d.Stats().Frames == 0 || n == 0 {
		b.Fatal("nothing decoded")
	}
}

// The SET STREAM_RAW frame for a 127-byte PSDU: header and TxRequest value.
func BenchmarkTxRequestEncode(b *testing.B) {
	req := txRequestFields
	req.PSDU = make([]byte, MaxPSDU)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrameHeader(buf[:0], 0, 1, CmdPropValueSet, PropStreamRaw)
		buf = AppendTxRequest(buf, &req)
	}
}

// An unsolicited IS STREAM_RAW with a 127-byte PSDU: frame and RxFrame
// decoded.
func BenchmarkRxFrameDecode(b *testing.B) {
	rx := rxFrameFields
	rx.PSDU = make([]byte, MaxPSDU)
	raw := AppendRxFrame(AppendFrameHeader(nil, 0, 0, CmdPropValueIs, PropStreamRaw), &rx)
	var f Frame
	var got RxFrame
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Decode(raw); err != nil {
			b.Fatal(err)
		}
		if err := got.Decode(f.Value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTxDoneDecode(b *testing.B) {
	raw := AppendTxDone(nil, &memAck)
	var d TxDone
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// A whole transmission through the Client against an in-memory RCP: TID,
// encoding, two goroutine hand-offs, matching and TxDone decoding.
func BenchmarkClientTransmit(b *testing.B) {
	c := NewClient(newMemConn(), nil, ClientOptions{})
	defer c.Close()
	ctx := context.Background()
	ack := make([]byte, 0, MaxPSDU)
	req := txRequestFields
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.TransmitInto(ctx, &req, ack); err != nil {
			b.Fatal(err)
		}
	}
}
