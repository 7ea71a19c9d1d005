//go:build linux

package borderrouter

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/faultline"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/radio/transport"
)

// A whole border router on its simulator with a faulty serial line
// between the daemon and its RCP (internal/faultline on the PTY the daemon
// opens): per-byte damage costs only the frames it hits, and a reset, a
// stall or garbage on the line puts the radio back in service within a
// second of the fault's end, with one recovery per fault (issue 13).
//
// Each variant runs for a few seconds; LOWPANBR_FAULT_LONG=1 runs each rate
// variant for a minute (LOWPANBR_FAULT_WINDOW to change that) and watches
// longer after each event; the figures go to the test log either way
// (go test -v -run TestFaultLine ./borderrouter/).
var faultLong = os.Getenv("LOWPANBR_FAULT_LONG") != ""

// faultPingSize is the payload of the node's echo requests: a small ping,
// one frame each way (a 52-octet PSDU, about 80 octets of Spinel and
// HDLC-lite towards the host).
const faultPingSize = 16

type faultRouter struct {
	*testRouter
	line *faultline.PTYProxy
	// udp sends from Linux to the node, so that the daemon transmits
	// whatever the node does (a stall is noticed by a transmission that
	// gets no transmit-done).
	udp    *net.UDPConn
	udpOn  atomic.Bool
	udpOut atomic.Uint64
}

// startFaultRouter brings up a border router with one node on its
// simulator and moves its RCP behind a fault line. Everything that opens
// sockets runs here, on the test's own goroutine, in its namespace.
func startFaultRouter(t *testing.T) *faultRouter {
	t.Helper()
	enterNetns(t)
	f := &faultRouter{testRouter: newTestRouter(t, "lbrflt0", netip.MustParsePrefix("2001:db8:7::/64"), 1, "faultline")}
	f.insertLine(t)
	f.start(t)
	f.waitHealthy(t, 60*time.Second)
	n1 := f.reach.Nodes[0].Address
	var err error
	if f.udp, err = net.DialUDP("udp6", nil, &net.UDPAddr{IP: n1.AsSlice(), Port: 9}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.udp.Close() })
	udpCtx, udpStop := context.WithCancel(context.Background())
	t.Cleanup(udpStop)
	go f.sendUDP(udpCtx)
	return f
}

// insertLine puts the fault line between the driver and the simulated
// RCP: the RCP's PTY is unplugged (the driver starts reconnecting to its
// path), the RCP is served on a new PTY whose slave the proxy opens, and
// the path (a symbolic link, as udev makes) is pointed at the proxy's own
// PTY, which the driver then opens.
func (f *faultRouter) insertLine(t *testing.T) {
	t.Helper()
	e := f.br.rcpSim
	e.Unplug()
	master, pts, err := transport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		e.RCP.Serve(ctx, master)
	}()
	rcpEnd, err := transport.OpenUART(pts, transport.DefaultUARTConfig())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	f.line, err = faultline.NewPTY(rcpEnd, faultline.Config{Seed: 13})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	// After the border router stops (cleanups run last in, first out).
	t.Cleanup(func() {
		f.line.Close()
		cancel()
		<-served
	})
	tmp := e.Path + ".faultline"
	if err := os.Symlink(f.line.HostPath(), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, e.Path); err != nil {
		t.Fatal(err)
	}
}

func (f *faultRouter) sendUDP(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	msg := make([]byte, 16)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if f.udpOn.Load() {
			if _, err := f.udp.Write(msg); err == nil {
				f.udpOut.Add(1)
			}
		}
	}
}

// waitHealthy waits until the radio is up, the node registered and one of
// its pings answered.
func (f *faultRouter) waitHealthy(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		nodes := f.br.SimNodes()
		if f.br.driver.Ready() && len(nodes) == 1 && nodes[0].Registered {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := f.br.Ping(ctx, "n1", f.reach.Address, faultPingSize)
			cancel()
			if err == nil {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not healthy after %v: radio ready %v, nodes %+v, driver %+v", within, f.br.driver.Ready(), f.br.SimNodes(), f.br.driver.Stats())
}

// faultPing is one echo request of the node: when it was sent and whether
// it was answered.
type faultPing struct {
	at       time.Time
	answered bool
}

// pinger sends the node's pings at a steady pace until stopped, each
// waiting up to 3 s for its answer.
type pinger struct {
	mu    sync.Mutex
	pings []faultPing
	stop  context.CancelFunc
	done  chan struct{}
}

func (f *faultRouter) startPings(every time.Duration) *pinger {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pinger{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var wg sync.WaitGroup
		defer wg.Wait()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p.mu.Lock()
			i := len(p.pings)
			p.pings = append(p.pings, faultPing{at: time.Now()})
			p.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, pcancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer pcancel()
				_, err := f.br.Ping(pctx, "n1", f.reach.Address, faultPingSize)
				p.mu.Lock()
				p.pings[i].answered = err == nil
				p.mu.Unlock()
			}()
		}
	}()
	return p
}

// finish stops sending and waits for the last answers.
func (p *pinger) finish() []faultPing {
	p.stop()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pings
}

// faultSnapshot is what the test reads of the daemon, the simulated RCP
// and the line around a variant.
type faultSnapshot struct {
	drv        rcp.Stats
	receptions uint64 // frames the simulated RCP passed to the host
	up, down   faultline.Stats
}

func (f *faultRouter) snapshot() faultSnapshot {
	return faultSnapshot{drv: f.br.driver.Stats(), receptions: f.br.rcpSim.RCP.Stats().Receptions,
		up: f.line.Stats(faultline.ToRCP), down: f.line.Stats(faultline.ToHost)}
}

// faultDelta is a variant's outcome.
type faultDelta struct {
	sent, answered int
	// lostOnLine: frames the RCP passed up that the driver never got —
	// pings lost on the line towards the host, which no host can
	// recover (the node's frame was acknowledged on the air).
	lostOnLine         int
	recoveries, resets uint64
	timeouts           uint64
	badFCS             uint64
	framesUp, hitUp    uint64 // frames towards the RCP, and those the damage cost
	framesDown, hitDn  uint64
	bytesUp, bytesDown uint64        // octets read from each side
	back               time.Duration // first answered ping after the fault's end
}

func delta(a, b faultSnapshot, pings []faultPing, end time.Time) faultDelta {
	d := faultDelta{sent: len(pings), recoveries: b.drv.Reconnects - a.drv.Reconnects, resets: b.drv.Resets - a.drv.Resets,
		timeouts: b.drv.Timeouts - a.drv.Timeouts,
		framesUp: b.up.Frames - a.up.Frames, hitUp: (b.up.Frames - b.up.FramesDelivered) - (a.up.Frames - a.up.FramesDelivered),
		framesDown: b.down.Frames - a.down.Frames, hitDn: (b.down.Frames - b.down.FramesDelivered) - (a.down.Frames - a.down.FramesDelivered),
		bytesUp: b.up.Read - a.up.Read, bytesDown: b.down.Read - a.down.Read}
	if bf, af := b.drv.Spinel.HDLC.BadFCS, a.drv.Spinel.HDLC.BadFCS; bf >= af {
		d.badFCS = bf - af
	} else {
		d.badFCS = bf // the counter started again (a reconnection)
	}
	rx := int64(b.receptions-a.receptions) - int64(b.drv.RxFrames-a.drv.RxFrames)
	d.lostOnLine = int(max(rx, 0))
	d.back = -1
	for _, p := range pings {
		if p.answered {
			d.answered++
			if d.back < 0 && !end.IsZero() && !p.at.Before(end) {
				d.back = p.at.Sub(end)
			}
		}
	}
	return d
}

func (d faultDelta) String() string {
	s := fmt.Sprintf("pings %d/%d answered (%.1f %%; %d requests lost on the line towards the host → %.1f %% of those that reached it), recoveries %d, resets %d, timeouts %d, bad FCS %d, frames lost to RCP %d/%d (%d octets), to host %d/%d (%d octets)",
		d.answered, d.sent, pct(d.answered, d.sent), d.lostOnLine, pct(d.answered, d.sent-d.lostOnLine), d.recoveries, d.resets, d.timeouts, d.badFCS,
		d.hitUp, d.framesUp, d.bytesUp, d.hitDn, d.framesDown, d.bytesDown)
	if d.back >= 0 {
		s += fmt.Sprintf(", back in service %v after the fault", d.back.Round(10*time.Millisecond))
	}
	return s
}

func pct(a, b int) float64 {
	if b <= 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// A fault line with per-byte damage: the node's pings stay answered.
//
// every paces the pings. A frame the line loses towards the RCP costs one
// wait for its transmit-done before it goes again (spinel.TransmitWait,
// about 0.28 s for these frames), and at 1e-2 per octet an 80-octet frame
// gets through about one time in two, so such a line carries two or three
// frames a second: one ping a second (ping's own pace) fits, two do not.
//
// The target is 90 % of the pings whose request reached the host (a
// request the line damages on its way up is lost for good: the node's
// frame was acknowledged on the air). A short run has few pings (eight at
// 1e-2, fifty at 1e-3) on a CI machine that may be loaded, and asks for
// 50 % and 80 %: far above what the code before this test got (0–10 %),
// with room for the binomial spread of eight pings; the long run, a minute
// each, asks for 90 %. Damage both ways at 1e-2 leaves so few requests reaching the host
// that those variants run in the long run only.
type rateCase struct {
	name          string
	toRCP, toHost faultline.Faults
	every         time.Duration
	short         time.Duration // the window of a short run; 0: long run only
	shortMin      float64       // the short run's floor, in %
}

var rateCases = []rateCase{
	{"flip 1e-3", faultline.Faults{BitFlip: 1e-3}, faultline.Faults{BitFlip: 1e-3}, 100 * time.Millisecond, 5 * time.Second, 80},
	{"flip 1e-2 to RCP", faultline.Faults{BitFlip: 1e-2}, faultline.Faults{}, time.Second, 8 * time.Second, 50},
	{"insert 1e-2 to RCP", faultline.Faults{Insert: 1e-2}, faultline.Faults{}, time.Second, 8 * time.Second, 50},
	{"flip 1e-2", faultline.Faults{BitFlip: 1e-2}, faultline.Faults{BitFlip: 1e-2}, time.Second, 0, 0},
	{"insert 1e-2", faultline.Faults{Insert: 1e-2}, faultline.Faults{Insert: 1e-2}, time.Second, 0, 0},
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// An event on the line or in the RCP: start begins it and returns when
// it ends. A reset needs exactly one recovery and reset-shaped noise none;
// a stall or garbage may need one (when a transmission notices it), never
// more.
type eventCase struct {
	name          string
	maxRecoveries uint64
	exact         bool
	start         func(f *faultRouter) time.Time
}

var eventCases = []eventCase{
	{"reset", 1, true, func(f *faultRouter) time.Time {
		f.br.rcpSim.Reset()
		return time.Now()
	}},
	{"stall 3s", 1, false, func(f *faultRouter) time.Time {
		f.line.Stall(3 * time.Second)
		return time.Now().Add(3 * time.Second)
	}},
	{"garbage 1s", 1, false, func(f *faultRouter) time.Time {
		// About a 460,800 bit/s line's worth both ways for a second.
		end := time.Now().Add(time.Second)
		for time.Now().Before(end) {
			f.line.Garbage(faultline.ToHost, 450)
			f.line.Garbage(faultline.ToRCP, 450)
			time.Sleep(10 * time.Millisecond)
		}
		return time.Now()
	}},
	{"reset noise", 0, true, func(f *faultRouter) time.Time {
		for range 20 {
			f.line.ResetNoise(faultline.ToHost)
			time.Sleep(50 * time.Millisecond)
		}
		return time.Now()
	}},
}

func TestFaultLine(t *testing.T) {
	// The namespace is this goroutine's thread's: every socket is opened
	// here, none in the subtests' goroutines.
	f := startFaultRouter(t)
	for _, c := range rateCases {
		t.Run(c.name, func(t *testing.T) {
			window, floor := c.short, c.shortMin
			if faultLong {
				window, floor = envDuration("LOWPANBR_FAULT_WINDOW", time.Minute), 90
			}
			if window == 0 {
				t.Skip("long run only: LOWPANBR_FAULT_LONG=1")
			}
			f.waitHealthy(t, 20*time.Second)
			a := f.snapshot()
			if err := f.line.SetFaults(faultline.ToRCP, c.toRCP); err != nil {
				t.Fatal(err)
			}
			if err := f.line.SetFaults(faultline.ToHost, c.toHost); err != nil {
				t.Fatal(err)
			}
			p := f.startPings(c.every)
			time.Sleep(window)
			f.line.SetFaults(faultline.ToRCP, faultline.Faults{})
			f.line.SetFaults(faultline.ToHost, faultline.Faults{})
			pings := p.finish()
			d := delta(a, f.snapshot(), pings, time.Time{})
			t.Logf("%s: %v", c.name, d)
			// When only the host's side of the line is damaged, every
			// request reaches the host.
			if got := pct(d.answered, d.sent-d.lostOnLine); got < floor {
				t.Errorf("%.1f %% of the pings that reached the host answered, want ≥ %.0f %%", got, floor)
			}
			if d.recoveries != 0 {
				t.Errorf("%d recoveries: line errors must cost only the frames they hit", d.recoveries)
			}
		})
	}
	// During the events Linux sends to the node too, so that the daemon
	// transmits whatever the node does (a stalled line is noticed by a
	// transmission that gets no transmit-done).
	f.udpOn.Store(true)
	for _, c := range eventCases {
		t.Run(c.name, func(t *testing.T) {
			f.waitHealthy(t, 20*time.Second)
			a := f.snapshot()
			p := f.startPings(50 * time.Millisecond)
			time.Sleep(500 * time.Millisecond)
			end := c.start(f)
			// The bound is 1 s, held in the long run. The short run
			// is CI's, on a machine busy with other packages' tests, where a
			// recovery's requests can wait for a processor: it allows 2.5 s,
			// still half the old transmit-done timeout alone.
			after, bound := 4*time.Second, 2500*time.Millisecond
			if faultLong {
				after, bound = 10*time.Second, time.Second
			}
			time.Sleep(time.Until(end) + after)
			pings := p.finish()
			d := delta(a, f.snapshot(), pings, end)
			t.Logf("%s: %v", c.name, d)
			if d.back < 0 || d.back > bound {
				t.Errorf("back in service %v after the fault's end, want ≤ %v", d.back, bound)
			}
			if d.recoveries > c.maxRecoveries || (c.exact && d.recoveries != c.maxRecoveries) {
				t.Errorf("%d recoveries, want %d (exactly: %v)", d.recoveries, c.maxRecoveries, c.exact)
			}
			// Every ping sent once the bound has passed is answered.
			var late, lateOK int
			for _, q := range pings {
				if q.at.After(end.Add(bound)) {
					late++
					if q.answered {
						lateOK++
					}
				}
			}
			if late == 0 || lateOK < late {
				t.Errorf("%d of %d pings sent from %v after the fault answered", lateOK, late, bound)
			}
		})
	}
	f.udpOn.Store(false)
}
