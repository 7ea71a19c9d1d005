package faultline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/spinel"
)

// Direction is one way through the proxy.
type Direction int

// The two directions.
const (
	ToRCP  Direction = iota // host → RCP: requests, transmissions
	ToHost                  // RCP → host: answers, received frames, notifications
)

func (d Direction) String() string {
	if d == ToRCP {
		return "to-rcp"
	}
	return "to-host"
}

// Faults are per-byte probabilities, each in [0, 1], applied to every octet
// read in one direction.
type Faults struct {
	// BitFlip: one of the octet's eight bits, chosen uniformly, is
	// inverted.
	BitFlip float64
	// Insert: a uniformly random octet is sent after it.
	Insert float64
	// Drop: the octet is lost (no flip then).
	Drop float64
}

func (f Faults) valid() bool {
	ok := func(p float64) bool { return p >= 0 && p <= 1 }
	return ok(f.BitFlip) && ok(f.Insert) && ok(f.Drop)
}

// Config configures a Proxy.
type Config struct {
	// Seed seeds every random decision and octet.
	Seed uint64
	// ToRCP and ToHost are the per-byte fault rates of each direction;
	// SetFaults changes them.
	ToRCP, ToHost Faults
	// MaxHeld bounds the octets held per direction while stalled (default
	// 1 MiB); what comes beyond it is dropped and counted.
	MaxHeld int
	Logger  *slog.Logger
}

// Stats counts what one direction did.
type Stats struct {
	Read      uint64 // octets read from the source
	Delivered uint64 // octets written to the destination, injected ones included
	Flipped   uint64 // octets with a bit inverted
	Inserted  uint64 // random octets inserted by the Insert rate
	Dropped   uint64 // octets lost by the Drop rate
	Injected  uint64 // octets of Garbage, ResetNoise and Inject
	Noise     uint64 // reset-notification-shaped noise frames (ResetNoise)
	// Frames counts the good HDLC-lite frames (FCS checked) in the source
	// stream; FramesDelivered those in what was delivered. The difference
	// is what the damage cost a receiver that checks the FCS (a CRC-16
	// lets through one damaged frame in 65,536 at most).
	Frames, FramesDelivered uint64
	// HeldDropped: octets dropped because a stall held MaxHeld already.
	HeldDropped uint64
	Stalls      uint64
}

// ErrClosed: the proxy was closed.
var ErrClosed = errors.New("faultline: closed")

// Proxy copies octets between a host's stream and an RCP's, damaging them.
// Each direction has a reader goroutine (reads its source, applies the
// per-byte faults, queues the result) and a writer goroutine (delivers the
// queue in order unless stalled); both stop on Close, or when a stream
// fails (Done, Err).
type Proxy struct {
	host, rcp io.ReadWriteCloser
	log       *slog.Logger
	pumps     [2]*pump

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    atomic.Pointer[error]
	closed sync.Once
	extra  []io.Closer // closed after host and rcp (NewPTY's slave holder)
}

// Start proxies between host (what the border router reads and writes)
// and rcp (the RCP's stream) until Close or a stream fails. The proxy owns
// both: Close closes them.
func Start(host, rcp io.ReadWriteCloser, cfg Config) (*Proxy, error) {
	if !cfg.ToRCP.valid() || !cfg.ToHost.valid() {
		return nil, fmt.Errorf("faultline: rates must be in [0, 1]: %+v %+v", cfg.ToRCP, cfg.ToHost)
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{host: host, rcp: rcp, log: cfg.Logger}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.pumps[ToRCP] = newPump(p, ToRCP, host, rcp, cfg.ToRCP, cfg)
	p.pumps[ToHost] = newPump(p, ToHost, rcp, host, cfg.ToHost, cfg)
	for _, u := range p.pumps {
		p.wg.Add(2)
		go u.readSource()
		go u.deliver()
	}
	return p, nil
}

// Done is closed when the proxy has stopped (Close, or a stream failed).
func (p *Proxy) Done() <-chan struct{} { return p.ctx.Done() }

// Err says why the proxy stopped on its own; nil while it runs or after
// Close.
func (p *Proxy) Err() error {
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *Proxy) fail(err error) {
	if p.ctx.Err() == nil {
		p.err.CompareAndSwap(nil, &err)
		p.log.Warn("faultline: stream failed; stopping", "err", err)
	}
	p.cancel()
}

// Close stops the proxy, closes both streams and waits for its goroutines.
func (p *Proxy) Close() error {
	p.closed.Do(func() {
		p.cancel()
		p.host.Close()
		p.rcp.Close()
		for _, c := range p.extra {
			c.Close()
		}
		for _, u := range p.pumps {
			u.wakeUp()
		}
		p.wg.Wait()
	})
	return nil
}

// SetFaults changes a direction's per-byte rates from now on.
func (p *Proxy) SetFaults(dir Direction, f Faults) error {
	if !f.valid() {
		return fmt.Errorf("faultline: rates must be in [0, 1]: %+v", f)
	}
	u := p.pumps[dir]
	u.mu.Lock()
	u.faults = f
	u.mu.Unlock()
	return nil
}

// Stall holds both directions for d from now: nothing is delivered, what
// arrives is kept (up to MaxHeld) and delivered in order afterwards. A
// stall already under way ends at the later of the two ends.
func (p *Proxy) Stall(d time.Duration) {
	until := time.Now().Add(d)
	for _, u := range p.pumps {
		u.mu.Lock()
		if until.After(u.stallUntil) {
			u.stallUntil = until
		}
		u.mu.Unlock()
		u.stats.stalls.Add(1)
		u.wakeUp()
	}
}

// Garbage sends n random octets in direction dir.
func (p *Proxy) Garbage(dir Direction, n int) {
	u := p.pumps[dir]
	b := make([]byte, n)
	u.mu.Lock()
	for i := range b {
		b[i] = byte(u.junk.Uint32())
	}
	u.mu.Unlock()
	u.inject(b)
}

// ResetNoise sends, in direction dir, an HDLC-lite frame holding a Spinel
// reset notification (IS LAST_STATUS RESET_POWER_ON, TID 0) with an FCS
// that does not check: noise that looks like a reset to a receiver that
// does not check the FCS.
func (p *Proxy) ResetNoise(dir Direction) {
	u := p.pumps[dir]
	u.inject(ResetNoiseFrame())
	u.stats.noise.Add(1)
}

// ResetNoiseFrame is what ResetNoise sends: 7E, the escaped frame, an
// escaped FCS that is the right one with 0x5A5A inverted, 7E.
func ResetNoiseFrame() []byte {
	f := spinel.AppendFrameHeader(nil, 0, 0, spinel.CmdPropValueIs, spinel.PropLastStatus)
	f = spinel.AppendPackedUint(f, uint32(spinel.StatusResetPowerOn))
	fcs := spinel.CRC16X25(f) ^ 0x5A5A
	b := []byte{spinel.HDLCFlag}
	b = appendEscaped(b, f)
	b = appendEscaped(b, []byte{byte(fcs), byte(fcs >> 8)})
	return append(b, spinel.HDLCFlag)
}

// appendEscaped escapes b as HDLC-lite does (0x7E, 0x7D, 0x11, 0x13, 0xF8
// become 0x7D and the octet XOR 0x20; spinel's HDLC-lite).
func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		switch c {
		case 0x7E, 0x7D, 0x11, 0x13, 0xF8:
			dst = append(dst, spinel.HDLCEscape, c^0x20)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Inject sends b, as it is, in direction dir.
func (p *Proxy) Inject(dir Direction, b []byte) {
	p.pumps[dir].inject(append([]byte(nil), b...))
}

// Stats returns a direction's counters.
func (p *Proxy) Stats(dir Direction) Stats {
	s := &p.pumps[dir].stats
	return Stats{Read: s.read.Load(), Delivered: s.delivered.Load(), Flipped: s.flipped.Load(), Inserted: s.inserted.Load(),
		Dropped: s.dropped.Load(), Injected: s.injected.Load(), Noise: s.noise.Load(), Frames: s.frames.Load(),
		FramesDelivered: s.framesOut.Load(), HeldDropped: s.heldDropped.Load(), Stalls: s.stalls.Load()}
}

// pump is one direction.
type pump struct {
	p   *Proxy
	dir Direction
	src io.Reader
	dst io.Writer

	// Owned by the reader goroutine: the fault stream and a decoder
	// counting the source's frames; outDec is the writer's, counting the
	// frames delivered.
	rng    *rand.Rand
	inDec  spinel.HDLCDecoder
	outDec spinel.HDLCDecoder

	mu         sync.Mutex
	faults     Faults
	junk       *rand.Rand // Garbage's octets
	queue      [][]byte
	held       int
	stallUntil time.Time
	maxHeld    int
	wake       chan struct{}

	stats struct {
		read, delivered, flipped, inserted, dropped, injected, noise atomic.Uint64
		frames, framesOut, heldDropped, stalls                       atomic.Uint64
	}
}

func newPump(p *Proxy, dir Direction, src io.Reader, dst io.Writer, f Faults, cfg Config) *pump {
	// Two independent streams per direction: per-byte decisions, and the
	// octets of Garbage (so injecting garbage does not shift the faults).
	return &pump{p: p, dir: dir, src: src, dst: dst, faults: f, maxHeld: cfg.MaxHeld,
		rng:  rand.New(rand.NewPCG(cfg.Seed, 0x6661756c74<<1|uint64(dir))),
		junk: rand.New(rand.NewPCG(cfg.Seed, 0x67617262<<1|uint64(dir))),
		wake: make(chan struct{}, 1)}
}

func (u *pump) wakeUp() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// readSource reads the source, damages what it reads and queues it.
func (u *pump) readSource() {
	defer u.p.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := u.src.Read(buf)
		if n > 0 {
			u.mu.Lock()
			f := u.faults
			u.mu.Unlock()
			u.inDec.Feed(buf[:n], func([]byte) { u.stats.frames.Add(1) })
			u.enqueue(u.damage(buf[:n], f))
			// Counted last: once Read covers an octet, the counters derived
			// from it (faults, frames, the queue) do too.
			u.stats.read.Add(uint64(n))
		}
		if err != nil {
			u.p.fail(fmt.Errorf("faultline: %v: read: %w", u.dir, err))
			return
		}
		if u.p.ctx.Err() != nil {
			return
		}
	}
}

// damage applies the per-byte faults to b into a new slice. Three draws
// per octet whatever the rates, so the decisions for the n-th octet do not
// depend on the rates of the others.
func (u *pump) damage(b []byte, f Faults) []byte {
	out := make([]byte, 0, len(b)+len(b)/8+1)
	for _, c := range b {
		drop, flip, ins := u.rng.Float64() < f.Drop, u.rng.Float64() < f.BitFlip, u.rng.Float64() < f.Insert
		bit, extra := u.rng.IntN(8), byte(u.rng.Uint32())
		switch {
		case drop:
			u.stats.dropped.Add(1)
		case flip:
			u.stats.flipped.Add(1)
			out = append(out, c^1<<bit)
		default:
			out = append(out, c)
		}
		if ins {
			u.stats.inserted.Add(1)
			out = append(out, extra)
		}
	}
	return out
}

func (u *pump) inject(b []byte) {
	u.stats.injected.Add(uint64(len(b)))
	u.enqueue(b)
}

// enqueue hands b to the writer; beyond MaxHeld it is dropped.
func (u *pump) enqueue(b []byte) {
	if len(b) == 0 {
		return
	}
	u.mu.Lock()
	if u.held+len(b) > u.maxHeld {
		u.mu.Unlock()
		u.stats.heldDropped.Add(uint64(len(b)))
		return
	}
	u.queue = append(u.queue, b)
	u.held += len(b)
	u.mu.Unlock()
	u.wakeUp()
}

// deliver writes the queue in order, waiting out stalls.
func (u *pump) deliver() {
	defer u.p.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		u.mu.Lock()
		var b []byte
		wait := time.Until(u.stallUntil)
		if wait <= 0 && len(u.queue) > 0 {
			b = u.queue[0]
			u.queue[0] = nil
			u.queue = u.queue[1:]
			u.held -= len(b)
		}
		u.mu.Unlock()
		if b != nil {
			if err := writeAll(u.dst, b); err != nil {
				u.p.fail(fmt.Errorf("faultline: %v: write: %w", u.dir, err))
				return
			}
			u.outDec.Feed(b, func([]byte) { u.stats.framesOut.Add(1) })
			u.stats.delivered.Add(uint64(len(b))) // after the frames it holds
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-u.p.ctx.Done():
			return
		case <-u.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func writeAll(w io.Writer, b []byte) error {
	for len(b) > 0 {
		n, err := w.Write(b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
