package rcpsim

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// host is the test's end of the stream: it writes Spinel requests and reads
// the simulated RCP's frames, HDLC-decoded by the spinel package.
type host struct {
	t    *testing.T
	conn *spinel.HDLCConn
	buf  []byte
}

func start(t *testing.T, scale float64) (*host, *RCP) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: 3, TimeScale: scale})
	go m.Run(ctx)
	node, err := m.Attach(medium.NodeConfig{Name: "rcp", Channel: 11})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	r := New(node, Config{EUI64: [8]byte{2, 0, 0, 0, 0, 0, 0, 1}})
	served := make(chan struct{})
	go func() { r.Serve(ctx, a); close(served) }()
	t.Cleanup(func() {
		cancel()
		b.Close()
		<-served
		m.Close()
	})
	return &host{t: t, conn: spinel.NewHDLCConn(b), buf: make([]byte, 2048)}, r
}

func (h *host) send(tid uint8, cmd spinel.Command, prop spinel.Prop, value []byte) {
	h.t.Helper()
	f := spinel.AppendFrameHeader(nil, 0, tid, cmd, prop)
	if err := h.conn.WriteFrame(append(f, value...)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) recv() spinel.Frame {
	h.t.Helper()
	n, err := h.conn.ReadFrame(h.buf)
	if err != nil {
		h.t.Fatal(err)
	}
	var f spinel.Frame
	if err := f.Decode(h.buf[:n]); err != nil {
		h.t.Fatal(err)
	}
	return f
}

func (h *host) expectStatus(tid uint8, want spinel.Status) {
	h.t.Helper()
	f := h.recv()
	r := spinel.NewReader(f.Value, "status")
	if f.TID != tid || f.Prop != spinel.PropLastStatus || spinel.Status(r.PackedUint()) != want {
		h.t.Fatalf("got %v, want LAST_STATUS %v with TID %d", &f, want, tid)
	}
}

// The simulated RCP answers as OpenThread's does (ncp_base.cpp): a reset
// notification at start and after RESET, IS with the same TID for GET and
// SET, PROP_NOT_FOUND for unknown properties, INVALID_STATE for a frame
// while the raw stream is off, INSERTED/REMOVED for table edits, and the
// transmit-done as IS LAST_STATUS with the request's TID.
func TestSpinelBehaviour(t *testing.T) {
	h, _ := start(t, 0)
	h.expectStatus(0, spinel.StatusResetPowerOn) // boot
	h.send(0, spinel.CmdReset, 0, []byte{byte(spinel.ResetStack)})
	h.expectStatus(0, spinel.StatusResetPowerOn)

	h.send(1, spinel.CmdPropValueGet, spinel.PropProtocolVersion, nil)
	if f := h.recv(); f.TID != 1 || f.Command != spinel.CmdPropValueIs || f.Prop != spinel.PropProtocolVersion {
		t.Fatalf("GET PROTOCOL_VERSION → %v", &f)
	}
	h.send(2, spinel.CmdPropValueGet, spinel.Prop(0x7777), nil)
	h.expectStatus(2, spinel.StatusPropNotFound)

	h.send(3, spinel.CmdPropValueSet, spinel.PropPHYChan, []byte{26})
	if f := h.recv(); f.TID != 3 || f.Prop != spinel.PropPHYChan || len(f.Value) != 1 || f.Value[0] != 26 {
		t.Fatalf("SET PHY_CHAN → %v", &f)
	}
	h.send(4, spinel.CmdPropValueSet, spinel.PropPHYChan, []byte{27})
	h.expectStatus(4, spinel.StatusInvalidArgument)

	tx := spinel.AppendTxRequest(nil, &spinel.TxRequest{PSDU: []byte{0x41, 0xc8, 1, 0xcd, 0xab, 0xff, 0xff, 0x01, 0x00, 0, 0}, Channel: 26, CSMAEnabled: true, MaxCSMABackoffs: 4})
	h.send(5, spinel.CmdPropValueSet, spinel.PropStreamRaw, tx)
	h.expectStatus(5, spinel.StatusInvalidState) // raw stream still off

	h.send(6, spinel.CmdPropValueSet, spinel.PropPHYEnabled, []byte{1})
	h.recv()
	h.send(7, spinel.CmdPropValueSet, spinel.PropMACRawStreamEnabled, []byte{1})
	h.recv()
	h.send(8, spinel.CmdPropValueSet, spinel.PropStreamRaw, tx)
	f := h.recv()
	var done spinel.TxDone
	if f.TID != 8 || f.Prop != spinel.PropLastStatus || done.Decode(f.Value) != nil || done.Status != spinel.StatusOK {
		t.Fatalf("transmit-done %v (%+v)", &f, done)
	}

	h.send(9, spinel.CmdPropValueInsert, spinel.PropMACSrcMatchShortAddresses, spinel.AppendUint16(nil, 0x1234))
	if f := h.recv(); f.TID != 9 || f.Command != spinel.CmdPropValueInserted {
		t.Fatalf("INSERT → %v", &f)
	}
	h.send(10, spinel.CmdPropValueRemove, spinel.PropMACSrcMatchShortAddresses, spinel.AppendUint16(nil, 0x9999))
	h.expectStatus(10, spinel.StatusItemNotFound)

	// Garbage from the host is dropped; the next request still works.
	h.conn.WriteFrame([]byte{0x00, 0x01})
	h.send(11, spinel.CmdNoop, 0, nil)
	h.expectStatus(11, spinel.StatusOK)
}

// A spontaneous reset forgets a pending transmission: its transmit-done
// never comes, the reset notification does.
func TestResetForgetsTransmission(t *testing.T) {
	h, r := start(t, 1) // real time: the transmission takes a while
	h.expectStatus(0, spinel.StatusResetPowerOn)
	for tid, p := range []spinel.Prop{spinel.PropPHYEnabled, spinel.PropMACRawStreamEnabled} {
		h.send(uint8(tid+1), spinel.CmdPropValueSet, p, []byte{1})
		h.recv()
	}
	// To a short address nobody has, ACK requested, 7 retries: ~10 ms.
	psdu := []byte{0x61, 0x88, 1, 0xcd, 0xab, 0x99, 0x00, 0x01, 0x00, 'x', 0, 0}
	tx := spinel.AppendTxRequest(nil, &spinel.TxRequest{PSDU: psdu, Channel: 11, MaxFrameRetries: 7})
	h.send(5, spinel.CmdPropValueSet, spinel.PropStreamRaw, tx)
	time.Sleep(2 * time.Millisecond)
	go r.Reset() // net.Pipe is unbuffered: the notification waits for our read
	h.expectStatus(0, spinel.StatusResetPowerOn)
	time.Sleep(20 * time.Millisecond) // the transmission's end has passed
	h.send(6, spinel.CmdNoop, 0, nil)
	h.expectStatus(6, spinel.StatusOK) // and no transmit-done for TID 5 before it
}
