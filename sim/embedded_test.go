package sim

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// embeddedHost opens an embedded RCP's Path as the driver does and reads
// its frames through a goroutine.
type embeddedHost struct {
	t      *testing.T
	conn   *spinel.HDLCConn
	frames chan spinel.Frame
}

func openEmbedded(t *testing.T, path string) (*embeddedHost, error) {
	t.Helper()
	p, err := transport.OpenUART(path, transport.UARTConfig{Baud: 1000000})
	if err != nil {
		return nil, err
	}
	h := &embeddedHost{t: t, conn: spinel.NewHDLCConn(p), frames: make(chan spinel.Frame, 16)}
	t.Cleanup(func() { p.Close() })
	go func() {
		defer close(h.frames)
		buf := make([]byte, 2048)
		for {
			n, err := h.conn.ReadFrame(buf)
			if err != nil {
				return
			}
			var f spinel.Frame
			if f.Decode(bytes.Clone(buf[:n])) == nil {
				h.frames <- f
			}
		}
	}()
	return h, nil
}

func (h *embeddedHost) send(tid uint8, cmd spinel.Command, prop spinel.Prop) {
	h.t.Helper()
	if err := h.conn.WriteFrame(spinel.AppendFrameHeader(nil, 0, tid, cmd, prop)); err != nil {
		h.t.Fatal(err)
	}
}

// next returns the next frame, or ok false when the stream ended or d
// passed.
func (h *embeddedHost) next(d time.Duration) (f spinel.Frame, ok bool) {
	select {
	case f, ok = <-h.frames:
		return f, ok
	case <-time.After(d):
		return spinel.Frame{}, false
	}
}

func (h *embeddedHost) expect(what string, tid uint8, prop spinel.Prop, value []byte) {
	h.t.Helper()
	f, ok := h.next(2 * time.Second)
	if !ok || f.TID != tid || f.Prop != prop || !bytes.Equal(f.Value, value) {
		h.t.Fatalf("%s: got %v (ok %v), want TID %d %v % x", what, &f, ok, tid, prop, value)
	}
}

var powerOn = []byte{byte(spinel.StatusResetPowerOn)}

// The faults a host meets in the field: a slow boot, a stalled process,
// an RCP that comes back with another EUI-64, a dongle unplugged (its
// path gone) and plugged in again at the same path.
func TestEmbeddedRCPFaults(t *testing.T) {
	if _, _, err := transport.OpenPTY(); err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := medium.New(medium.Config{Seed: 1})
	go m.Run(ctx)
	defer m.Close()
	eui := [8]byte{2, 0, 0, 0, 0, 0, 0, 1}
	const boot = 50 * time.Millisecond
	e, err := StartRCP(ctx, m, "rcp", rcpsim.Config{EUI64: eui, BootDelay: boot}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	began := time.Now()
	h, err := openEmbedded(t, e.Path)
	if err != nil {
		t.Fatal(err)
	}
	h.expect("boot", 0, spinel.PropLastStatus, powerOn)
	if d := time.Since(began); d < boot/2 {
		t.Errorf("booted %v after start, want about %v", d, boot)
	}

	e.Stall(60 * time.Millisecond)
	stalled := time.Now()
	h.send(1, spinel.CmdNoop, 0)
	h.expect("NOOP after the stall", 1, spinel.PropLastStatus, []byte{0})
	if d := time.Since(stalled); d < 50*time.Millisecond {
		t.Errorf("a stalled RCP answered after %v", d)
	}

	other := [8]byte{2, 0, 0, 0, 0, 0, 0, 2}
	e.Restart(other)
	h.expect("restart", 0, spinel.PropLastStatus, powerOn)
	h.send(2, spinel.CmdPropValueGet, spinel.PropHWAddr)
	h.expect("HWADDR after restart", 2, spinel.PropHWAddr, other[:])

	e.Unplug()
	if f, ok := h.next(time.Second); ok {
		t.Fatalf("unplugged RCP sent %v", &f)
	}
	if _, err := openEmbedded(t, e.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open of an unplugged RCP: %v, want not exist", err)
	}
	if e.Node.Config().RxOnWhenIdle {
		t.Error("unplugged RCP's radio on")
	}
	if err := e.Replug(); err != nil {
		t.Fatal(err)
	}
	h, err = openEmbedded(t, e.Path)
	if err != nil {
		t.Fatal(err)
	}
	h.expect("boot after replug", 0, spinel.PropLastStatus, powerOn)
	h.send(3, spinel.CmdPropValueGet, spinel.PropHWAddr)
	h.expect("HWADDR after replug", 3, spinel.PropHWAddr, other[:])

	e.Close()
	if _, err := openEmbedded(t, e.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open after Close: %v", err)
	}
	if err := e.Replug(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replug after Close: %v", err)
	}
}
