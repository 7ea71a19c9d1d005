package rcp

import (
	"context"
	"os"
	"testing"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// cannedRCP is the far end of a PTY that answers the driver as an RCP does
// (reset notification, identity, settings read back, a transmit-done per
// STREAM_RAW, with the ACK when one was requested) from values made up
// front, in reused buffers: once running it allocates nothing, so whatever
// a frame allocates in the process is the driver's (the UART code, HDLC,
// Spinel and rcp.Driver). The simulated RCP and its medium allocate per
// frame themselves and cannot serve for that count.
type cannedRCP struct {
	f     *os.File
	dec   *spinel.HDLCDecoder
	rbuf  []byte
	out   []byte
	enc   []byte
	props map[spinel.Prop][]byte
	rx    []byte // an HDLC-encoded IS STREAM_RAW, written on demand
}

func newCannedRCP(f *os.File, psdu []byte) *cannedRCP {
	caps := spinel.AppendCaps(nil, rcpsim.DefaultCaps)
	q := &cannedRCP{f: f, dec: spinel.NewHDLCDecoder(0), rbuf: make([]byte, 4096), out: make([]byte, 0, 512), enc: make([]byte, 0, 1100),
		props: map[spinel.Prop][]byte{
			spinel.PropProtocolVersion:      spinel.AppendProtocolVersion(nil, 4, 3),
			spinel.PropNCPVersion:           spinel.AppendUTF8(nil, "canned RCP"),
			spinel.PropCaps:                 caps,
			spinel.PropHWAddr:               rcpEUI[:],
			spinel.PropRCPAPIVersion:        spinel.AppendPackedUint(nil, 11),
			spinel.PropRCPMinHostAPIVersion: spinel.AppendPackedUint(nil, 4),
			spinel.PropRadioCaps:            spinel.AppendPackedUint(nil, 0x7f),
		}}
	rx := spinel.AppendFrameHeader(nil, 0, 0, spinel.CmdPropValueIs, spinel.PropStreamRaw)
	rx = spinel.AppendRxFrame(rx, &spinel.RxFrame{PSDU: psdu, RSSI: -40, NoiseFloor: spinel.NoiseFloorUnknown, Channel: 15, LQI: 200})
	q.rx = spinel.AppendHDLC(nil, rx)
	return q
}

func (q *cannedRCP) serve() {
	handle := q.handle
	for {
		n, err := q.f.Read(q.rbuf)
		if err != nil {
			return
		}
		q.dec.Feed(q.rbuf[:n], handle)
	}
}

func (q *cannedRCP) handle(b []byte) {
	var f spinel.Frame
	if f.Decode(b) != nil {
		return
	}
	switch {
	case f.Command == spinel.CmdReset:
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, 0, spinel.CmdPropValueIs, spinel.PropLastStatus)
		q.out = spinel.AppendPackedUint(q.out, uint32(spinel.StatusResetPowerOn))
	case f.Command == spinel.CmdPropValueGet:
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, f.TID, spinel.CmdPropValueIs, f.Prop)
		q.out = append(q.out, q.props[f.Prop]...)
	case f.Command == spinel.CmdPropValueSet && f.Prop == spinel.PropStreamRaw:
		var req spinel.TxRequest
		if req.Decode(f.Value) != nil {
			return
		}
		done := spinel.TxDone{Status: spinel.StatusOK}
		if req.PSDU[0]&0x20 != 0 {
			done.HasAck = true
			done.Ack = spinel.RxFrame{PSDU: []byte{0x02, 0x00, req.PSDU[2], 0, 0}, NoiseFloor: spinel.NoiseFloorUnknown, Channel: req.Channel}
		}
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, f.TID, spinel.CmdPropValueIs, spinel.PropLastStatus)
		q.out = spinel.AppendTxDone(q.out, &done)
	case f.Command == spinel.CmdPropValueSet:
		q.out = spinel.AppendFrameHeader(q.out[:0], 0, f.TID, spinel.CmdPropValueIs, f.Prop)
		q.out = append(q.out, f.Value...)
	default:
		return
	}
	q.enc = spinel.AppendHDLC(q.enc[:0], q.out)
	q.f.Write(q.enc)
}

// Once warm, a frame through rcp.Driver allocates nothing, either way:
// Transmit and TransmitFrames (with the ACK copied into the caller's
// buffer), and a received frame lent to the consumer and released. The
// path is the daemon's: the UART code on a PTY, HDLC, the Spinel client.
func TestDriverFrameAllocs(t *testing.T) {
	master, path, err := transport.OpenPTY()
	if err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	unicast := dataFrame(t, 7, 0x0002, true)
	q := newCannedRCP(master, unicast)
	go q.serve()
	t.Cleanup(func() { master.Close() })
	open := func(context.Context) (spinel.FrameConn, error) {
		p, err := transport.OpenUART(path, transport.UARTConfig{Baud: 1000000})
		if err != nil {
			return nil, err
		}
		return spinel.NewHDLCConn(p), nil
	}
	d, err := Open(context.Background(), Config{Open: open, Settings: testSettings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })

	ctx := context.Background()
	broadcast := dataFrame(t, 1, 0xffff, false)
	var res radio.TxResult
	tx := testing.AllocsPerRun(200, func() {
		res, err = d.Transmit(ctx, broadcast, radio.TxOptions{})
	})
	if err != nil || res.Status != radio.TxSent {
		t.Fatalf("Transmit: %v %v", res.Status, err)
	}

	frames := [][]byte{unicast, broadcast, unicast}
	results := make([]radio.TxResult, len(frames))
	for i := range results {
		results[i].Ack = make([]byte, 0, radio.MaxPSDU)
	}
	var n int
	batch := testing.AllocsPerRun(100, func() {
		n, err = d.TransmitFrames(ctx, frames, radio.TxOptions{CCARetries: 2}, results)
	})
	if err != nil || n != 3 || results[0].Status != radio.TxAcked || results[1].Status != radio.TxSent ||
		len(results[2].Ack) != 5 || results[2].Ack[2] != 7 {
		t.Fatalf("TransmitFrames = %d, %v: %+v", n, err, results)
	}

	rx := d.Receive()
	var got radio.Frame
	recv := testing.AllocsPerRun(200, func() {
		if _, err := master.Write(q.rx); err != nil {
			panic(err)
		}
		got = <-rx // a lost frame ends in the test's timeout
		if len(got.PSDU) != len(unicast) || got.PSDU[2] != 7 || got.RSSI != -40 {
			panic("wrong frame")
		}
		got.Release()
	})
	if tx != 0 || batch != 0 || recv != 0 {
		t.Errorf("allocations per run: Transmit %v, TransmitFrames of 3 %v, receive %v; want 0", tx, batch, recv)
	}
	if s := d.Stats(); s.RxBuffersMade != 0 || s.RxDropped != 0 {
		t.Errorf("stats %+v", s)
	}
}
