package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"
)

// simRCP is the RCP side of the SPI framing protocol, as OpenThread's
// ncp_spi.cpp plays it: it answers every transaction with its own header
// (after optional alignment garbage), sends its pending frame only when it
// fits the accept len the host offered, takes the host's frame only when it
// fits its own accept len, drives INT while it has a frame, and sets RST in
// the first header after a reset.
type simRCP struct {
	mu           sync.Mutex
	out          [][]byte // frames waiting for the host
	in           [][]byte // frames taken from the host
	accept       int      // what it can take per transaction (0: nothing)
	resetFlag    bool
	garbage      int // alignment bytes before each header (alternating 0xFF, 0x00)
	unresponsive int // the next n transactions answer all 0xFF
	busErr       error
	stuckINT     bool // INT asserted with nothing to send

	transfers      int
	hostResets     int // host headers with RST
	hostHeaders    []SPIHeaderFields
	announcedShort int // transactions where its frame did not fit the host's offer
	badHost        []string

	edges chan struct{}
}

func newSimRCP() *simRCP {
	return &simRCP{accept: SPIMaxFrame, edges: make(chan struct{}, 1)}
}

func (r *simRCP) Transfer(tx, rx []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busErr != nil {
		return r.busErr
	}
	r.transfers++
	h := SPIHeader(tx)
	if len(tx) != len(rx) || !h.IsValid() {
		r.badHost = append(r.badHost, fmt.Sprintf("bad host transaction % x", tx[:min(len(tx), 8)]))
		return nil
	}
	r.hostHeaders = append(r.hostHeaders, SPIHeaderFields{Reset: h.ResetFlag(), AcceptLen: h.AcceptLen(), DataLen: h.DataLen()})
	if h.ResetFlag() {
		r.hostResets++
	}
	if n := int(h.DataLen()); n > 0 && n <= r.accept {
		if SPIHeaderLen+n > len(tx) {
			r.badHost = append(r.badHost, "host frame longer than its transaction")
		} else {
			r.in = append(r.in, slices.Clone(tx[SPIHeaderLen:SPIHeaderLen+n]))
		}
	}

	for i := range rx {
		rx[i] = 0xA5 // what a real MISO line clocks after the frame: anything
	}
	if r.unresponsive > 0 {
		r.unresponsive--
		for i := range rx {
			rx[i] = 0xFF
		}
		return nil
	}
	k := min(r.garbage, len(rx)-SPIHeaderLen)
	for i := range k {
		rx[i] = []byte{0xFF, 0x00}[i%2]
	}
	var data []byte
	if len(r.out) > 0 {
		data = r.out[0]
	}
	SPIHeader(rx[k:]).Encode(SPIHeaderFields{Reset: r.resetFlag, AcceptLen: uint16(r.accept), DataLen: uint16(len(data))})
	r.resetFlag = false
	if len(data) > 0 {
		if len(data) <= int(h.AcceptLen()) && k+SPIHeaderLen+len(data) <= len(rx) {
			copy(rx[k+SPIHeaderLen:], data)
			r.out = r.out[1:]
		} else {
			r.announcedShort++
		}
	}
	return nil
}

func (r *simRCP) Asserted() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.out) > 0 || r.stuckINT, nil
}

func (r *simRCP) Edges() <-chan struct{} { return r.edges }

func (r *simRCP) edge() {
	select {
	case r.edges <- struct{}{}:
	default:
	}
}

func (r *simRCP) send(frames ...[]byte) {
	r.mu.Lock()
	for _, f := range frames {
		r.out = append(r.out, slices.Clone(f))
	}
	r.mu.Unlock()
	r.edge()
}

// reboot loses everything pending and announces itself with RST and a
// frame (as the RCP's reset LAST_STATUS would be).
func (r *simRCP) reboot(notice []byte) {
	r.mu.Lock()
	r.out = [][]byte{slices.Clone(notice)}
	r.resetFlag = true
	r.mu.Unlock()
	r.edge()
}

func (r *simRCP) set(f func(r *simRCP)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
	r.edge()
}

func (r *simRCP) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.in)
}

type fakeReset struct {
	mu      sync.Mutex
	pulses  int
	onPulse func()
}

func (f *fakeReset) Pulse() error {
	f.mu.Lock()
	f.pulses++
	fn := f.onPulse
	f.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

func newTestSPI(t *testing.T, rcp *simRCP, reset spiResetLine) *SPI {
	t.Helper()
	checkGoroutines(t)
	s := newSPI("sim", rcp, rcp, reset, DefaultSPIConfig(), nil, nil)
	t.Cleanup(func() {
		s.Close()
		rcp.mu.Lock()
		defer rcp.mu.Unlock()
		for _, b := range rcp.badHost {
			t.Error(b)
		}
	})
	return s
}

func readFrameTimeout(t *testing.T, s *SPI, d time.Duration) []byte {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	c := make(chan res, 1)
	go func() {
		buf := make([]byte, SPIMaxFrame)
		n, err := s.ReadFrame(buf)
		c <- res{buf[:n], err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			t.Fatalf("ReadFrame: %v", r.err)
		}
		return r.b
	case <-time.After(d):
		s.Close() // frees the reader goroutine
		t.Fatal("ReadFrame timed out")
		return nil
	}
}

func testFrame(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestSPIHeaderVectors(t *testing.T) {
	tests := []struct {
		f    SPIHeaderFields
		want []byte
	}{
		{SPIHeaderFields{}, []byte{0x02, 0x00, 0x00, 0x00, 0x00}},
		{SPIHeaderFields{Reset: true, AcceptLen: 32}, []byte{0x82, 0x20, 0x00, 0x00, 0x00}},
		{SPIHeaderFields{AcceptLen: 0x0123, DataLen: 0x0456}, []byte{0x02, 0x23, 0x01, 0x56, 0x04}},
		{SPIHeaderFields{Reset: true, CRC: true, CRCFail: true, AcceptLen: 0xFFFF, DataLen: 1}, []byte{0xE2, 0xFF, 0xFF, 0x01, 0x00}},
		{SPIHeaderFields{CRC: true, DataLen: 127}, []byte{0x42, 0x00, 0x00, 0x7F, 0x00}},
	}
	for _, tt := range tests {
		got := make(SPIHeader, SPIHeaderLen)
		got.Encode(tt.f)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("Encode(%+v) = % x, want % x", tt.f, []byte(got), tt.want)
		}
		if !got.IsValid() || got.ResetFlag() != tt.f.Reset || got.AcceptLen() != tt.f.AcceptLen || got.DataLen() != tt.f.DataLen {
			t.Errorf("decode % x: valid %v reset %v accept %d data %d", tt.want, got.IsValid(), got.ResetFlag(), got.AcceptLen(), got.DataLen())
		}
	}
	for flag, valid := range map[byte]bool{0x02: true, 0x82: true, 0x1E: true, 0x00: false, 0xFF: false, 0x01: false, 0x03: false, 0x80: false} {
		if got := (SPIHeader{flag, 0, 0, 0, 0}).IsValid(); got != valid {
			t.Errorf("IsValid(flag %#02x) = %v, want %v", flag, got, valid)
		}
	}
	if (SPIHeader{0x02, 0, 0, 0}).IsValid() {
		t.Error("a 4-byte header is valid")
	}
}

// recordingBus answers every transaction with a fixed reply and records
// what the host sent.
type recordingBus struct {
	sent  [][]byte
	reply []byte
}

func (b *recordingBus) Transfer(tx, rx []byte) error {
	b.sent = append(b.sent, slices.Clone(tx))
	copy(rx, b.reply)
	return nil
}

// TestSPITransactionVectors checks the host's transactions byte for byte.
func TestSPITransactionVectors(t *testing.T) {
	bus := &recordingBus{reply: []byte{0xFF, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00}} // 2 alignment bytes; RCP accepts 256
	e := newSPIEngine(bus, DefaultSPIConfig(), &spiCounters{})

	// Nothing to send: header with RST (first exchange), accept = small
	// packet 32, length 5 + 32 + 16 alignment allowance.
	res, err := e.transfer(nil, true)
	if err != nil || res.err != nil {
		t.Fatalf("transfer: %v %v", err, res.err)
	}
	want := append([]byte{0x82, 0x20, 0x00, 0x00, 0x00}, make([]byte, 32+16)...)
	if !bytes.Equal(bus.sent[0], want) {
		t.Errorf("idle transaction\n got % x\nwant % x", bus.sent[0], want)
	}

	// A 3-byte frame after a good exchange: no RST, accept 32, data 3.
	res, err = e.transfer([]byte{0x81, 0x02, 0x01}, true)
	if err != nil || !res.txTaken {
		t.Fatalf("transfer: %v, taken %v", err, res.txTaken)
	}
	want = append([]byte{0x02, 0x20, 0x00, 0x03, 0x00, 0x81, 0x02, 0x01}, make([]byte, 29+16)...)
	if !bytes.Equal(bus.sent[1], want) {
		t.Errorf("frame transaction\n got % x\nwant % x", bus.sent[1], want)
	}

	// A 100-byte frame, no receive slot: accept 0, transaction 5+100+16.
	frame := testFrame(100, 1)
	if _, err := e.transfer(frame, false); err != nil {
		t.Fatal(err)
	}
	want = append(append([]byte{0x02, 0x00, 0x00, 0x64, 0x00}, frame...), make([]byte, 16)...)
	if !bytes.Equal(bus.sent[2], want) {
		t.Errorf("no-receive transaction\n got % x\nwant % x", bus.sent[2], want)
	}
}

func TestSPIFramesBothWays(t *testing.T) {
	rcp := newSimRCP()
	s := newTestSPI(t, rcp, nil)
	var toHost, toRCP [][]byte
	for i, n := range []int{1, 2, 5, 31, 32, 33, 100, 127, 300, 1280, SPIMaxFrame} {
		toHost = append(toHost, testFrame(n, byte(i)))
		toRCP = append(toRCP, testFrame(n, byte(100+i)))
	}
	go rcp.send(toHost...)
	done := make(chan error)
	go func() {
		for _, f := range toRCP {
			if err := s.WriteFrame(f); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i, want := range toHost {
		if got := readFrameTimeout(t, s, 5*time.Second); !bytes.Equal(got, want) {
			t.Fatalf("frame %d to host: got %d bytes, want %d", i, len(got), len(want))
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("WriteFrame: %v", err)
	}
	got := rcp.received()
	if len(got) != len(toRCP) {
		t.Fatalf("RCP got %d frames, want %d", len(got), len(toRCP))
	}
	for i := range got {
		if !bytes.Equal(got[i], toRCP[i]) {
			t.Errorf("frame %d to RCP differs", i)
		}
	}
	st := s.Stats()
	if st.RxFrames != uint64(len(toHost)) || st.TxFrames != uint64(len(toRCP)) || st.Garbage != 0 {
		t.Errorf("stats %+v", st)
	}
	rcp.mu.Lock()
	defer rcp.mu.Unlock()
	if rcp.hostResets != 1 || !rcp.hostHeaders[0].Reset {
		t.Errorf("host RST in %d headers; want only the first", rcp.hostResets)
	}
}

func TestSPIPartialAcceptRetries(t *testing.T) {
	rcp := newSimRCP()
	rcp.accept = 10 // room for 10 bytes only
	s := newTestSPI(t, rcp, nil)
	frame := testFrame(50, 9)
	done := make(chan error)
	start := time.Now()
	go func() { done <- s.WriteFrame(frame) }()
	time.Sleep(30 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("WriteFrame returned %v while the RCP had room for 10 bytes", err)
	default:
	}
	if s.Stats().TxRefused == 0 {
		t.Fatal("no refused transaction counted")
	}
	refusing := time.Since(start)
	rcp.set(func(r *simRCP) { r.accept = 64 })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WriteFrame did not finish once the RCP had room")
	}
	if got := rcp.received(); len(got) != 1 || !bytes.Equal(got[0], frame) {
		t.Fatalf("RCP received %d frames; want the frame once", len(got))
	}
	// The retries were paced, not a busy loop: 5 after 1 ms, then one per
	// 10 ms.
	if r, limit := s.Stats().TxRefused, 5+uint64(refusing/(10*time.Millisecond))+3; r > limit {
		t.Errorf("%d refused transactions in %v: backoff not applied", r, refusing)
	}
}

func TestSPIRefusedForeverFails(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~3 s of backoff")
	}
	rcp := newSimRCP()
	rcp.accept = 0
	s := newTestSPI(t, rcp, nil)
	err := s.WriteFrame([]byte{0x81, 0x02, 0x01})
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("WriteFrame to a stuck RCP: %v; want ErrDisconnected", err)
	}
	if r := s.Stats().TxRefused; r != spiRefuseLimit {
		t.Errorf("%d refusals, want %d", r, spiRefuseLimit)
	}
	// The transport itself still works once the RCP recovers.
	rcp.set(func(r *simRCP) { r.accept = 100 })
	if err := s.WriteFrame([]byte{0x81, 0x02, 0x02}); err != nil {
		t.Fatal(err)
	}
}

func TestSPIPeerReset(t *testing.T) {
	rcp := newSimRCP()
	s := newTestSPI(t, rcp, nil)
	rcp.send([]byte{0x80, 0x06, 0x00, 0x72})
	readFrameTimeout(t, s, 2*time.Second)
	rcp.reboot([]byte{0x80, 0x06, 0x00, 0x70}) // LAST_STATUS power-on reset
	if got := readFrameTimeout(t, s, 2*time.Second); !bytes.Equal(got, []byte{0x80, 0x06, 0x00, 0x70}) {
		t.Fatalf("after reset got % x", got)
	}
	if st := s.Stats(); st.PeerResets != 1 {
		t.Errorf("PeerResets = %d, want 1", st.PeerResets)
	}
	if err := s.WriteFrame([]byte{0x81, 0x02, 0x01}); err != nil {
		t.Fatal(err)
	}
}

func TestSPIAlignmentGarbage(t *testing.T) {
	for _, k := range []int{1, 7, SPIMaxAlignAllowance} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			rcp := newSimRCP()
			rcp.garbage = k
			s := newTestSPI(t, rcp, nil)
			want := [][]byte{testFrame(20, 1), testFrame(32, 2), testFrame(200, 3)}
			rcp.send(want...)
			for _, w := range want {
				if got := readFrameTimeout(t, s, 2*time.Second); !bytes.Equal(got, w) {
					t.Fatalf("got % x\nwant % x", got, w)
				}
			}
			if err := s.WriteFrame(testFrame(40, 4)); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Garbage != 0 {
				t.Errorf("%d garbage headers", st.Garbage)
			}
		})
	}
}

// TestSPIGarbageBeyondAllowance: a header further in than the alignment
// allowance is garbage; the frame in that transaction is lost (as with
// OpenThread's host) and the next one gets through.
func TestSPIGarbageBeyondAllowance(t *testing.T) {
	rcp := newSimRCP()
	rcp.garbage = SPIMaxAlignAllowance + 3
	s := newTestSPI(t, rcp, nil)
	rcp.send(testFrame(10, 1))
	deadline := time.Now().Add(2 * time.Second)
	for s.Stats().Garbage < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("garbage not counted: %+v", s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	rcp.set(func(r *simRCP) { r.garbage = 2 })
	rcp.send(testFrame(11, 2))
	if got := readFrameTimeout(t, s, 2*time.Second); !bytes.Equal(got, testFrame(11, 2)) {
		t.Fatalf("after recovery got % x", got)
	}
}

func TestSPIUnresponsive(t *testing.T) {
	rcp := newSimRCP()
	rcp.unresponsive = 4
	s := newTestSPI(t, rcp, nil)
	if err := s.WriteFrame(testFrame(12, 5)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Unresponsive != 4 || st.TxFrames != 1 {
		t.Errorf("stats %+v; want 4 unresponsive then the frame", st)
	}
	rcp.mu.Lock()
	defer rcp.mu.Unlock()
	// The host keeps its RST flag until the first valid exchange.
	if rcp.hostResets != 5 {
		t.Errorf("host RST in %d transactions, want 5", rcp.hostResets)
	}
}

// TestSPIStuckINT: an RCP holding INT with nothing to send is polled at
// the retry pace, not in a busy loop.
func TestSPIStuckINT(t *testing.T) {
	rcp := newSimRCP()
	rcp.stuckINT = true
	s := newTestSPI(t, rcp, nil)
	start := time.Now()
	time.Sleep(100 * time.Millisecond)
	n, elapsed := s.Stats().Transfers, time.Since(start)
	if limit := 5 + uint64(elapsed/(10*time.Millisecond)) + 3; n > limit {
		t.Errorf("%d transactions in %v with INT stuck; want at most %d", n, elapsed, limit)
	}
	rcp.set(func(r *simRCP) { r.stuckINT = false })
	rcp.send([]byte{1, 2, 3})
	if got := readFrameTimeout(t, s, time.Second); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("got % x", got)
	}
}

// TestSPIOversizeAnnouncement: the RCP announces a frame longer than the
// host offered; the next transaction is sized for it.
func TestSPIOversizeAnnouncement(t *testing.T) {
	rcp := newSimRCP()
	s := newTestSPI(t, rcp, nil)
	big := testFrame(600, 7)
	rcp.send(big)
	if got := readFrameTimeout(t, s, 2*time.Second); !bytes.Equal(got, big) {
		t.Fatal("big frame differs")
	}
	rcp.mu.Lock()
	defer rcp.mu.Unlock()
	if rcp.announcedShort != 1 {
		t.Errorf("announced without sending %d times, want 1", rcp.announcedShort)
	}
	h := rcp.hostHeaders
	if len(h) != 2 || h[0].AcceptLen != 32 || h[1].AcceptLen != 600 {
		t.Errorf("host headers %+v; want accept 32 then 600", h)
	}
}

// TestSPISlowReader: with every receive slot full the host offers accept
// len 0 and the RCP keeps its frames; nothing is lost.
func TestSPISlowReader(t *testing.T) {
	rcp := newSimRCP()
	s := newTestSPI(t, rcp, nil)
	var want [][]byte
	for i := range 3 * spiRxSlots {
		want = append(want, testFrame(40+i, byte(i)))
	}
	rcp.send(want...)
	for s.Stats().RxFrames < spiRxSlots {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the loop would take more now if it were going to
	rcp.mu.Lock()
	pending := len(rcp.out)
	rcp.mu.Unlock()
	if pending != len(want)-spiRxSlots {
		t.Errorf("RCP still holds %d frames, want %d", pending, len(want)-spiRxSlots)
	}
	// Sending still works while receiving is blocked.
	if err := s.WriteFrame(testFrame(8, 1)); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		if got := readFrameTimeout(t, s, 2*time.Second); !bytes.Equal(got, w) {
			t.Fatalf("frame %d differs", i)
		}
	}
}

func TestSPIShortBuffer(t *testing.T) {
	rcp := newSimRCP()
	s := newTestSPI(t, rcp, nil)
	rcp.send(testFrame(50, 1), testFrame(5, 2))
	n, err := s.ReadFrame(make([]byte, 10))
	if !errors.Is(err, io.ErrShortBuffer) || n != 10 {
		t.Fatalf("ReadFrame into 10 bytes = %d, %v; want io.ErrShortBuffer", n, err)
	}
	if got := readFrameTimeout(t, s, 2*time.Second); !bytes.Equal(got, testFrame(5, 2)) {
		t.Fatal("next frame differs")
	}
}

func TestSPICloseWakes(t *testing.T) {
	rcp := newSimRCP()
	rcp.accept = 0
	s := newTestSPI(t, rcp, nil)
	readErr, writeErr := make(chan error), make(chan error)
	go func() { _, err := s.ReadFrame(make([]byte, 100)); readErr <- err }()
	go func() { writeErr <- s.WriteFrame([]byte{1, 2, 3}) }()
	time.Sleep(30 * time.Millisecond)
	s.Close()
	for _, c := range []chan error{readErr, writeErr} {
		select {
		case err := <-c:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("after Close: %v; want ErrClosed", err)
			}
		case <-time.After(time.Second):
			t.Fatal("Close did not wake a caller")
		}
	}
	if _, err := s.ReadFrame(make([]byte, 10)); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadFrame after Close: %v", err)
	}
	if err := s.WriteFrame([]byte{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close: %v", err)
	}
}

func TestSPIBusFailure(t *testing.T) {
	rcp := newSimRCP()
	s := newTestSPI(t, rcp, nil)
	rcp.send([]byte{1, 2, 3})
	readFrameTimeout(t, s, time.Second)
	rcp.set(func(r *simRCP) { r.busErr = errors.New("ioctl: no such device") })
	rcp.send([]byte{4})
	if _, err := s.ReadFrame(make([]byte, 10)); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("ReadFrame after a bus failure: %v; want ErrDisconnected", err)
	}
	if err := s.WriteFrame([]byte{1}); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("WriteFrame after a bus failure: %v; want ErrDisconnected", err)
	}
}

func TestSPIWriteLimits(t *testing.T) {
	s := newTestSPI(t, newSimRCP(), nil)
	if err := s.WriteFrame(nil); err == nil {
		t.Error("empty frame accepted")
	}
	if err := s.WriteFrame(make([]byte, SPIMaxFrame+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversize frame: %v", err)
	}
	if err := s.ResetRCP(); !errors.Is(err, ErrNoResetLine) {
		t.Errorf("ResetRCP without a line: %v", err)
	}
}

func TestSPIHardwareReset(t *testing.T) {
	rcp := newSimRCP()
	reset := &fakeReset{}
	reset.onPulse = func() { rcp.reboot([]byte{0x80, 0x06, 0x00, 0x70}) }
	s := newTestSPI(t, rcp, reset)
	if err := s.WriteFrame([]byte{0x81, 0x02, 0x01}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetRCP(); err != nil {
		t.Fatal(err)
	}
	if got := readFrameTimeout(t, s, time.Second); !bytes.Equal(got, []byte{0x80, 0x06, 0x00, 0x70}) {
		t.Fatalf("after reset got % x", got)
	}
	rcp.mu.Lock()
	defer rcp.mu.Unlock()
	if reset.pulses != 1 || rcp.hostResets != 2 {
		t.Errorf("pulses %d, host RST headers %d; want 1 and 2 (first exchange and after the reset)", reset.pulses, rcp.hostResets)
	}
}

// TestSPISpinelResetCommand: sending a Spinel RESET makes the host forget
// the RCP's state and set RST again, as OpenThread's SendFrame does.
func TestSPISpinelResetCommand(t *testing.T) {
	rcp := newSimRCP()
	s := newTestSPI(t, rcp, nil)
	if err := s.WriteFrame([]byte{0x81, 0x02, 0x01}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFrame([]byte{0x80, 0x01, 0x02}); err != nil { // RESET (stack)
		t.Fatal(err)
	}
	rcp.mu.Lock()
	defer rcp.mu.Unlock()
	last := rcp.hostHeaders[len(rcp.hostHeaders)-1]
	if !last.Reset || last.DataLen != 3 {
		t.Errorf("RESET went out with header %+v; want RST set", last)
	}
	if !isSpinelReset([]byte{0x90, 0x01}) || isSpinelReset([]byte{0x81, 0x01}) || isSpinelReset([]byte{0x80}) {
		t.Error("isSpinelReset")
	}
}

func TestParseSPIResponse(t *testing.T) {
	hdr := func(flag byte, accept, data uint16) []byte {
		return []byte{flag, byte(accept), byte(accept >> 8), byte(data), byte(data >> 8)}
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name      string
		rx        []byte
		allowance int
		offered   int
		wantSkip  int
		wantData  []byte
		wantErr   error
	}{
		{"plain", cat(hdr(0x02, 100, 3), []byte{1, 2, 3}, make([]byte, 10)), 16, 32, 0, []byte{1, 2, 3}, nil},
		{"skips FF and 00", cat([]byte{0xFF, 0x00, 0xFF}, hdr(0x82, 0, 2), []byte{9, 8}), 16, 32, 3, []byte{9, 8}, nil},
		{"no data announced", cat(hdr(0x02, 50, 0), make([]byte, 20)), 16, 32, 0, nil, nil},
		{"announced more than offered", cat(hdr(0x02, 50, 40), make([]byte, 60)), 16, 32, 0, nil, nil},
		{"all FF", bytes.Repeat([]byte{0xFF}, 40), 16, 32, 16, nil, errSPIUnresponsive},
		{"all 00", make([]byte, 40), 16, 32, 16, nil, errSPIUnresponsive},
		{"bad pattern", cat(hdr(0x01, 10, 0), make([]byte, 20)), 16, 32, 0, nil, errSPIGarbage},
		{"garbage past allowance", cat([]byte{0xFF, 0xFF, 0xFF}, hdr(0x02, 1, 1), []byte{7}), 2, 32, 2, nil, errSPIGarbage},
		{"lengths too big", cat(hdr(0x02, SPIMaxFrame+1, 0), make([]byte, 20)), 16, 32, 0, nil, errSPIGarbage},
		{"frame cut off", cat(hdr(0x02, 10, 20), make([]byte, 5)), 0, 32, 0, nil, errSPIGarbage},
		{"too short", []byte{0x02, 0, 0}, 16, 32, 0, nil, errSPIGarbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseSPIResponse(tt.rx, tt.allowance, tt.offered)
			if err != tt.wantErr {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (r.skip != tt.wantSkip || !bytes.Equal(r.data, tt.wantData)) {
				t.Errorf("skip %d data % x; want %d, % x", r.skip, r.data, tt.wantSkip, tt.wantData)
			}
		})
	}
}

func FuzzSPIResponse(f *testing.F) {
	f.Add([]byte{0x02, 0x20, 0x00, 0x03, 0x00, 1, 2, 3}, uint8(16), uint16(32))
	f.Add([]byte{0xFF, 0x00, 0x82, 0x00, 0x01, 0x05, 0x00, 1, 2, 3, 4, 5}, uint8(2), uint16(5))
	f.Add(bytes.Repeat([]byte{0xFF}, 30), uint8(16), uint16(32))
	f.Add([]byte{0x02, 0xFF, 0xFF, 0xFF, 0xFF}, uint8(0), uint16(65535))
	f.Add([]byte{0x02, 0x00, 0x00, 0x10, 0x00, 1}, uint8(0), uint16(16)) // truncated frame
	f.Add([]byte{0x02}, uint8(16), uint16(32))
	f.Fuzz(func(t *testing.T, rx []byte, allowance uint8, offered uint16) {
		r, err := parseSPIResponse(rx, int(allowance), int(offered))
		if err != nil {
			if r.data != nil {
				t.Fatal("data with an error")
			}
			return
		}
		if r.skip > int(allowance) || r.skip+SPIHeaderLen > len(rx) {
			t.Fatalf("skip %d outside allowance %d / buffer %d", r.skip, allowance, len(rx))
		}
		if !r.header.IsValid() || &r.header[0] != &rx[r.skip] {
			t.Fatal("header not the valid bytes at skip")
		}
		for _, b := range rx[:r.skip] {
			if b != 0x00 && b != 0xFF {
				t.Fatalf("skipped byte %#x", b)
			}
		}
		n := int(r.header.DataLen())
		switch {
		case r.data == nil:
			if n > 0 && n <= int(offered) {
				t.Fatalf("frame of %d fitting the offer %d not returned", n, offered)
			}
		case len(r.data) != n || n > int(offered) || n > SPIMaxFrame:
			t.Fatalf("data %d bytes, header says %d, offered %d", len(r.data), n, offered)
		case &r.data[0] != &rx[r.skip+SPIHeaderLen]:
			t.Fatal("data not right after the header")
		}
		// Round trip: re-encoding the decoded header gives the same bytes
		// apart from reserved bits.
		again := make(SPIHeader, SPIHeaderLen)
		again.Encode(SPIHeaderFields{Reset: r.header.ResetFlag(), CRC: r.header.Flags()&SPIFlagCRC != 0,
			CRCFail: r.header.Flags()&SPIFlagCRCFail != 0, AcceptLen: r.header.AcceptLen(), DataLen: r.header.DataLen()})
		if again[0] != r.header[0]&^0x1C || !bytes.Equal(again[1:], r.header[1:SPIHeaderLen]) {
			t.Fatalf("re-encoded % x from % x", []byte(again), []byte(r.header))
		}
	})
}
