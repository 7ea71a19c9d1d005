package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// memTUN stands for Linux in these tests.
type memTUN struct {
	in, out chan []byte
	closed  chan struct{}
	once    sync.Once
}

func (f *memTUN) Name() string { return "mem0" }
func (f *memTUN) MTU() int     { return 1280 }
func (f *memTUN) ReadPacket(buf []byte) (int, error) {
	select {
	case p := <-f.in:
		return copy(buf, p), nil
	case <-f.closed:
		return 0, os.ErrClosed
	}
}
func (f *memTUN) WritePacket(p []byte) error { f.out <- bytes.Clone(p); return nil }
func (f *memTUN) Close() error               { f.once.Do(func() { close(f.closed) }); return nil }

var prefix = netip.MustParsePrefix("2001:db8:1::/64")

func echoRequest(src, dst netip.Addr, id uint16) []byte {
	p := make([]byte, 48+8)
	p[0], p[5], p[6], p[7] = 0x60, 16, 58, 64
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	p[40] = 128
	binary.BigEndian.PutUint16(p[44:], id)
	copy(p[48:], "lowpanbr")
	binary.BigEndian.PutUint16(p[42:], checksum.Finish(checksum.Sum(p[40:], checksum.PseudoHeaderIPv6(p[8:24], p[24:40], 58, 16))))
	return p
}

// Ten nodes in a star register with the border router and answer pings
// sent from Linux.
func TestStarRegistersAndAnswers(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Star, Nodes: 10, Seed: 11})
	for i, n := range b.mesh.Nodes() {
		if n.State().Global != Addr(prefix, i) {
			t.Fatalf("%s has %v, want %v", n.Name(), n.State().Global, Addr(prefix, i))
		}
		if p := b.ping(t, n.State().Global, uint16(i)); !isEchoReplyFrom(p, n.State().Global) {
			t.Fatalf("ping %s: got % x", n.Name(), p[:48])
		}
		if reg, ok := b.nd.Registry().Lookup(n.State().Global, time.Now()); !ok || !reg.Direct() || !bytes.Equal(reg.ROVR.Bytes(), n.cfg.EUI64[:]) {
			t.Fatalf("registry entry of %s: %+v %v", n.Name(), reg, ok)
		}
	}
}

// A node renews its registration before it runs out: each renewal is a
// fresh EARO with the next TID, accepted, and pushes the expiry on.
func TestNodeRenews(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Star})
	n, err := AttachNode(b.m, NodeConfig{Name: "r", EUI64: [8]byte{0x02, 0, 0, 0, 0, 0, 3, 1}, Channel: 20, PANID: 0xabcd, renewEvery: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	var first nd.Registration
	seen := false
	for {
		st := n.State()
		if reg, ok := b.nd.Registry().Lookup(st.Global, time.Now()); ok && st.Registered {
			if !seen {
				first, seen = reg, true
				// RFC 8505 §5.2.1: the first TID is 240.
				if first.TID != nd.TIDInitial {
					t.Errorf("first registration's TID %d, want %d", first.TID, nd.TIDInitial)
				}
			} else if st.Renewed >= 2 && nd.CompareTID(reg.TID, first.TID) == nd.TIDNewer && reg.Expires.After(first.Expires) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no renewal: state %+v, first registration %+v", st, first)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A node refreshes by the lifetime the router granted, not the one it
// asked for: asking 10 h of a 6LBR that grants at most an hour (nd's
// DefaultMaxLifetime), directly and through a 6LR (whose NA carries the
// EDAC's grant), it is told 60 min and registers again within RIOT's
// (lifetime − 1) minutes, not at half of 10 h. Its first TID is 240.
func TestNodeRefreshesByGrantedLifetime(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Line, Nodes: 2, Lifetime: 10 * time.Hour, Routing: RoutingND})
	granted := time.Duration(nd.DefaultMaxLifetime/time.Minute) * time.Minute
	for _, n := range b.mesh.Nodes() {
		st := n.State()
		reg, ok := b.nd.Registry().Lookup(st.Global, time.Now())
		if !ok || time.Duration(reg.Lifetime)*time.Minute != granted || reg.TID != nd.TIDInitial {
			t.Errorf("%s: registry %+v (found %v), want %v granted under TID %d", n.Name(), reg, ok, granted, nd.TIDInitial)
		}
		if st.Granted != granted {
			t.Errorf("%s: granted %v in its NA, want %v", n.Name(), st.Granted, granted)
		}
		// Refresh is set just after the NA: within (granted − 1 min) ×
		// [0.9, 1] of now.
		in := time.Until(st.Refresh)
		if lo, hi := (granted-refreshMargin)*9/10-time.Minute, granted-refreshMargin; in < lo || in > hi {
			t.Errorf("%s refreshes in %v, want %v–%v", n.Name(), in, lo, hi)
		}
	}
}

// The refresh schedule is RIOT's (_nib-6ln.c _handle_aro), drawn down by
// up to 10 %: 30 s for a one-minute lifetime, else a minute before it ends.
func TestRefreshAfter(t *testing.T) {
	eui := NodeEUI64(0)
	j := newJitter(3, "n1", eui[:])
	for _, tc := range []struct {
		granted uint16
		hi      time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {10, 9 * time.Minute}, {60, 59 * time.Minute}, {0xffff, 0xfffe * time.Minute}} {
		lo := tc.hi * 9 / 10
		spread := false
		for range 100 {
			d := j.refreshAfter(tc.granted)
			if d < lo || d > tc.hi {
				t.Fatalf("granted %d min: refresh after %v, want %v–%v", tc.granted, d, lo, tc.hi)
			}
			spread = spread || d < tc.hi-(tc.hi-lo)/2
		}
		if !spread {
			t.Errorf("granted %d min: every refresh in the upper half of %v–%v", tc.granted, lo, tc.hi)
		}
	}
}

// The timers' random draws: the same seed and identity draw the same
// sequence, another identity another one; RSs follow RFC 6775 §5.3
// (three at RTR_SOLICITATION_INTERVAL, then doubling up to
// MAX_RTR_SOLICITATION_INTERVAL) within RFC 7559's ±10 %; NS(EARO)
// retransmissions double from RETRANS_TIMER within RFC 4861's random
// factor.
func TestTimerJitter(t *testing.T) {
	eui := NodeEUI64(0)
	seq := func(j *jitter) []time.Duration {
		var out []time.Duration
		var w time.Duration
		for sent := 1; sent <= 8; sent++ {
			w = j.rsInterval(sent, w)
			out = append(out, w)
		}
		return out
	}
	a, b, c := seq(newJitter(7, "n1", eui[:])), seq(newJitter(7, "n1", eui[:])), seq(newJitter(7, "n2", eui[:]))
	if !slices.Equal(a, b) {
		t.Fatalf("same seed and node, different draws: %v, %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatalf("two nodes draw the same RS intervals: %v", a)
	}
	for _, s := range [][]time.Duration{a, c} {
		for i, w := range s {
			lo, hi := 9*time.Second, 11*time.Second
			if i >= maxRtrSolicitations-1 {
				lo, hi = min(s[i-1]*19/10, 54*time.Second), min(s[i-1]*21/10, 66*time.Second)
			}
			if w < lo || w > hi {
				t.Fatalf("wait after RS %d: %v, want %v–%v (all: %v)", i+1, w, lo, hi, s)
			}
		}
		if s[len(s)-1] < 54*time.Second {
			t.Fatalf("RS backoff never reaches MAX_RTR_SOLICITATION_INTERVAL: %v", s)
		}
	}
	j := newJitter(1, "n1", eui[:])
	for attempt := range maxUnicastSolicit {
		base := retransTimer << attempt
		for range 100 {
			if d := j.nsTimeout(attempt); d < base/2 || d >= base*3/2 {
				t.Fatalf("NS attempt %d waits %v, want [%v, %v)", attempt, d, base/2, base*3/2)
			}
		}
	}
}

// sniffer records the ND messages broadcast on a medium.
type sniffer struct {
	mu    sync.Mutex
	start time.Time
	heard []heardND
}

type heardND struct {
	at       time.Duration
	typ      uint8
	src, dst netip.Addr
}

func sniff(t *testing.T, ctx context.Context, m *medium.Medium, channel uint8, pan uint16) *sniffer {
	t.Helper()
	eui := [8]byte{0x02, 0, 0, 0, 0, 0, 0xee, 0xee}
	mn, err := m.Attach(medium.NodeConfig{Name: "sniffer", Channel: channel, ExtAddr: eui})
	if err != nil {
		t.Fatal(err)
	}
	r := NewNodeRadio(mn)
	if err := r.Configure(ctx, radio.Settings{Channel: channel, PANID: pan, ShortAddr: 0xfffe, ExtAddr: eui}); err != nil {
		t.Fatal(err)
	}
	l, err := link.NewLowpan(link.LowpanConfig{Name: "sniff", Radio: r, PANID: pan, ExtAddr: eui, Contexts: &lowpan.ContextTable{}})
	if err != nil {
		t.Fatal(err)
	}
	s := &sniffer{start: time.Now()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, func(d *link.Delivery) {
			p := d.Packet
			if len(p) < 41 || p[6] != 58 {
				return
			}
			s.mu.Lock()
			s.heard = append(s.heard, heardND{at: time.Since(s.start), typ: p[40],
				src: netip.AddrFrom16([16]byte(p[8:24])), dst: netip.AddrFrom16([16]byte(p[24:40]))})
			s.mu.Unlock()
		})
	}()
	t.Cleanup(func() { <-done; r.Close() })
	return s
}

// first returns when the first message of type typ from src was heard.
func (s *sniffer) first(typ uint8, src netip.Addr) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.heard {
		if h.typ == typ && h.src == src {
			return h.at, true
		}
	}
	return 0, false
}

// Nodes powered on together do not solicit together: each delays its first
// RS by its own random time up to MAX_RTR_SOLICITATION_DELAY (RFC 4861
// §6.3.7), and does not solicit again a second later (nodes on fixed
// one-second timers did, all together).
func TestFirstRouterSolicitationsSpread(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := medium.New(medium.Config{Seed: 3, TimeScale: 1})
	mediumDone := make(chan struct{})
	go func() { m.Run(ctx); close(mediumDone) }()
	defer func() { <-mediumDone }()
	defer m.Close()
	defer cancel()
	s := sniff(t, ctx, m, 20, 0xabcd)
	var nodes []*Node
	for i := range 6 {
		n, err := AttachNode(m, NodeConfig{Name: NodeName(i), EUI64: NodeEUI64(i), Channel: 20, PANID: 0xabcd, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Run(ctx) }()
	}
	const window = maxRtrSolicitationDelay + time.Second
	time.Sleep(window)
	var firsts []time.Duration
	for _, n := range nodes {
		at, ok := s.first(133, n.LinkLocal())
		if !ok {
			t.Fatalf("%s sent no RS within %v", n.Name(), window)
		}
		firsts = append(firsts, at)
	}
	slices.Sort(firsts)
	if spread := firsts[len(firsts)-1] - firsts[0]; spread < 200*time.Millisecond {
		t.Fatalf("first RSs within %v of each other: %v", spread, firsts)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	count := make(map[netip.Addr]int)
	for _, h := range s.heard {
		if h.typ == 133 {
			if count[h.src]++; count[h.src] > 1 {
				t.Fatalf("%v solicited again within %v: %+v", h.src, window, s.heard)
			}
		}
	}
}

// A 6LR that has just registered advertises itself with a multicast RA
// within MAX_RA_DELAY_TIME (RFC 4861 §6.2.4, RFC 6775 §9), so that nodes
// that solicited in vain learn of it without waiting for their next RS.
func TestNewRouterAdvertises(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Star})
	ctx, cancel := context.WithCancel(context.Background())
	s := sniff(t, ctx, b.m, 20, 0xabcd)
	n, err := AttachNode(b.m, NodeConfig{Name: "r", EUI64: [8]byte{0x02, 0, 0, 0, 0, 0, 3, 2}, Channel: 20, PANID: 0xabcd, Role: Router, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for !n.State().Registered {
		if time.Now().After(deadline) {
			t.Fatalf("not registered: %+v", n.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	registered := time.Since(s.start)
	for {
		if at, ok := s.first(134, n.LinkLocal()); ok {
			if at > registered+maxRADelayTime+time.Second {
				t.Fatalf("first RA %v after registration, want at most %v", at-registered, maxRADelayTime)
			}
			break
		}
		if time.Since(s.start) > registered+maxRADelayTime+2*time.Second {
			t.Fatalf("no multicast RA from the new router %v after its registration", maxRADelayTime+time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.heard {
		if h.typ == 134 && h.src == n.LinkLocal() && h.dst != netip.MustParseAddr("ff02::1") {
			t.Fatalf("RA to %v, want ff02::1", h.dst)
		}
	}
}
