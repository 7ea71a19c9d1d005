package faultline

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/spinel"
)

// line is a proxy between two in-memory streams: the test plays the host
// on hostEnd and the RCP on rcpEnd.
type line struct {
	p       *Proxy
	hostEnd net.Conn
	rcpEnd  net.Conn
}

func newLine(t *testing.T, cfg Config) *line {
	t.Helper()
	hostEnd, hostProxy := net.Pipe()
	rcpProxy, rcpEnd := net.Pipe()
	p, err := Start(hostProxy, rcpProxy, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		hostEnd.Close()
		rcpEnd.Close()
	})
	return &line{p: p, hostEnd: hostEnd, rcpEnd: rcpEnd}
}

// send writes b from the host in chunks of varying size and returns what
// reaches the RCP once the proxy has read it all and delivered what it
// kept.
func (l *line) send(t *testing.T, b []byte, chunk int) []byte {
	t.Helper()
	// The reader stops once the proxy has read all of b and everything it
	// delivered has arrived (not after a quiet spell, which a loaded
	// machine makes at any moment), or after a generous deadline.
	var written atomic.Bool
	got := make(chan []byte, 1)
	go func() {
		var out bytes.Buffer
		buf := make([]byte, 8192)
		deadline := time.Now().Add(30 * time.Second)
		for {
			l.rcpEnd.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := l.rcpEnd.Read(buf)
			out.Write(buf[:n])
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				got <- out.Bytes()
				return
			}
			if written.Load() {
				// Everything read went through: what the faults left of
				// it was delivered, and has arrived.
				st := l.p.Stats(ToRCP)
				through := st.Read - st.Dropped - st.HeldDropped + st.Inserted + st.Injected
				if st.Read == uint64(len(b)) && st.Delivered == through && uint64(out.Len()) == through {
					got <- out.Bytes()
					return
				}
			}
			if time.Now().After(deadline) {
				got <- out.Bytes()
				return
			}
		}
	}()
	for i := 0; i < len(b); {
		n := min(chunk+i%7, len(b)-i)
		if _, err := l.hostEnd.Write(b[i : i+n]); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	written.Store(true)
	return <-got
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCleanLinePassesEverything(t *testing.T) {
	l := newLine(t, Config{Seed: 1})
	in := randomBytes(2, 50000)
	if out := l.send(t, in, 1000); !bytes.Equal(out, in) {
		t.Fatalf("clean line changed the stream: %d octets in, %d out", len(in), len(out))
	}
	st := l.p.Stats(ToRCP)
	if st.Read != uint64(len(in)) || st.Delivered != uint64(len(in)) || st.Flipped+st.Inserted+st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Each kind of fault at its rate: the counts are near the expected ones,
// and the output is the input with exactly those changes.
func TestPerByteFaults(t *testing.T) {
	const n = 200000
	in := randomBytes(3, n)
	near := func(t *testing.T, what string, got uint64, p float64) {
		t.Helper()
		mean := p * n
		if sd := math.Sqrt(mean * (1 - p)); math.Abs(float64(got)-mean) > 5*sd {
			t.Errorf("%s: %d, want about %.0f", what, got, mean)
		}
	}
	t.Run("flip", func(t *testing.T) {
		l := newLine(t, Config{Seed: 4, ToRCP: Faults{BitFlip: 1e-2}})
		out := l.send(t, in, 3000)
		st := l.p.Stats(ToRCP)
		near(t, "flipped", st.Flipped, 1e-2)
		if len(out) != n {
			t.Fatalf("%d octets out of %d", len(out), n)
		}
		var diff uint64
		for i := range in {
			switch bits.OnesCount8(in[i] ^ out[i]) {
			case 0:
			case 1:
				diff++
			default:
				t.Fatalf("octet %d: %02x became %02x: more than one bit", i, in[i], out[i])
			}
		}
		if diff != st.Flipped {
			t.Errorf("%d octets differ, %d counted", diff, st.Flipped)
		}
	})
	t.Run("insert", func(t *testing.T) {
		l := newLine(t, Config{Seed: 5, ToRCP: Faults{Insert: 1e-2}})
		out := l.send(t, in, 3000)
		st := l.p.Stats(ToRCP)
		near(t, "inserted", st.Inserted, 1e-2)
		if uint64(len(out)) != n+st.Inserted {
			t.Errorf("%d octets out, want %d + %d", len(out), n, st.Inserted)
		}
	})
	t.Run("drop", func(t *testing.T) {
		l := newLine(t, Config{Seed: 6, ToRCP: Faults{Drop: 1e-2}})
		out := l.send(t, in, 3000)
		st := l.p.Stats(ToRCP)
		near(t, "dropped", st.Dropped, 1e-2)
		if uint64(len(out)) != n-st.Dropped {
			t.Errorf("%d octets out, want %d − %d", len(out), n, st.Dropped)
		}
	})
}

// The same seed gives the same damage however the stream is chunked; another
// seed gives other damage.
func TestDeterministicBySeed(t *testing.T) {
	in := randomBytes(7, 30000)
	f := Faults{BitFlip: 5e-3, Insert: 5e-3, Drop: 5e-3}
	run := func(seed uint64, chunk int) []byte {
		l := newLine(t, Config{Seed: seed, ToRCP: f})
		return l.send(t, in, chunk)
	}
	a, b, c := run(11, 100), run(11, 4000), run(12, 100)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different output")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same output")
	}
}

// The frame counters say what line errors cost a receiver that checks the
// FCS: about one frame per fault at these rates (a CRC-16 catches every
// one-bit error and every burst up to 16 bits; RFC 1662 §C.2).
func TestFrameCounters(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	var in []byte
	const frames = 3000
	for range frames {
		f := make([]byte, 10+r.IntN(120))
		for i := range f {
			f[i] = byte(r.Uint32())
		}
		in = spinel.AppendHDLC(in, f)
	}
	for _, f := range []Faults{{BitFlip: 2e-3}, {Insert: 2e-3}, {Drop: 2e-3}} {
		l := newLine(t, Config{Seed: 9, ToRCP: f})
		out := l.send(t, in, 2000)
		st := l.p.Stats(ToRCP)
		var dec spinel.HDLCDecoder
		good := 0
		dec.Feed(out, func([]byte) { good++ })
		faults := st.Flipped + st.Inserted + st.Dropped
		lost := st.Frames - st.FramesDelivered
		if st.Frames != frames || uint64(good) != st.FramesDelivered || lost == 0 || lost > faults || lost < faults*8/10 {
			t.Errorf("%+v: %d frames decoded; proxy saw %d in, %d delivered, %d faults", f, good, st.Frames, st.FramesDelivered, faults)
		}
	}
}

// A stall holds both directions and then delivers everything in order.
func TestStallHoldsThenDelivers(t *testing.T) {
	l := newLine(t, Config{Seed: 1})
	l.p.Stall(300 * time.Millisecond)
	start := time.Now()
	msg := []byte("held, not lost")
	go l.hostEnd.Write(msg)
	buf := make([]byte, 64)
	l.rcpEnd.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := io.ReadFull(l.rcpEnd, buf[:len(msg)])
	if err != nil || !bytes.Equal(buf[:n], msg) {
		t.Fatalf("after the stall: %q %v", buf[:n], err)
	}
	if d := time.Since(start); d < 280*time.Millisecond {
		t.Errorf("delivered %v into a 300 ms stall", d)
	}
	if st := l.p.Stats(ToHost); st.Stalls != 1 {
		t.Errorf("stalls %d", st.Stalls)
	}
}

// ResetNoise is shaped like a reset notification, and a decoder that checks
// the FCS drops it.
func TestResetNoiseHasABadFCS(t *testing.T) {
	noise := ResetNoiseFrame()
	var dec spinel.HDLCDecoder
	dec.Feed(noise, func(f []byte) { t.Errorf("noise decoded as a frame: % x", f) })
	if st := dec.Stats(); st.BadFCS != 1 {
		t.Errorf("decoder stats %+v, want one bad FCS", st)
	}
	if _, err := spinel.DecodeHDLC(nil, noise); !errors.Is(err, spinel.ErrBadFCS) {
		t.Fatalf("decoding the noise: %v, want ErrBadFCS", err)
	}
	// The same octets with the right FCS are a reset notification.
	body := []byte{0x80, byte(spinel.CmdPropValueIs), byte(spinel.PropLastStatus), byte(spinel.StatusResetPowerOn)}
	good := spinel.AppendHDLC(nil, body)
	if len(good) != len(noise) || !bytes.Equal(good[:len(good)-3], noise[:len(noise)-3]) {
		t.Errorf("noise % x is not the notification % x with another FCS", noise, good)
	}
	var f spinel.Frame
	frame, err := spinel.DecodeHDLC(nil, good)
	if err != nil || f.Decode(frame) != nil || f.Prop != spinel.PropLastStatus || f.TID != 0 {
		t.Errorf("the notification itself: %v %+v", err, f)
	}

	l := newLine(t, Config{Seed: 1})
	l.p.ResetNoise(ToHost)
	l.p.Garbage(ToHost, 100)
	buf := make([]byte, 200)
	l.hostEnd.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(l.hostEnd, buf[:len(noise)+100]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:len(noise)], noise) {
		t.Errorf("injected % x, want % x", buf[:len(noise)], noise)
	}
	if st := l.p.Stats(ToHost); st.Noise != 1 || st.Injected != uint64(len(noise)+100) {
		t.Errorf("stats %+v", st)
	}
}

func TestRejectsBadRates(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := Start(a, b, Config{ToHost: Faults{BitFlip: 1.5}}); err == nil {
		t.Error("a rate of 1.5 accepted")
	}
	if _, err := Start(a, b, Config{ToRCP: Faults{Drop: -0.1}}); err == nil {
		t.Error("a negative rate accepted")
	}
}

// When a stream fails the proxy stops and says why.
func TestStopsWhenAStreamFails(t *testing.T) {
	l := newLine(t, Config{Seed: 1})
	l.rcpEnd.Close()
	select {
	case <-l.p.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("proxy still running after the RCP's end closed")
	}
	if l.p.Err() == nil {
		t.Error("no error")
	}
}
