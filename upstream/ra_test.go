package upstream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/nd"
)

var (
	raMeshPrefix  = netip.MustParsePrefix("2001:db8:1::/64")
	raOtherPrefix = netip.MustParsePrefix("2001:db8:2::/48")
	raRouterLL    = netip.MustParseAddr("fe80::1")
	raHostLL      = netip.MustParseAddr("fe80::2")
	raMAC         = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
)

func TestNewUpstreamRAValidation(t *testing.T) {
	ok := func(c *Config) {}
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
		want string // substring of the error; "" for none
	}{
		{"defaults", ok, ""},
		{"no interface", func(c *Config) { c.Interface = "" }, `Interface "": required`},
		{"long interface", func(c *Config) { c.Interface = "abcdefghijklmnop" }, `Interface "abcdefghijklmnop": longer than`},
		{"no routes", func(c *Config) { c.Routes = nil }, "Routes []: at least one"},
		{"too many routes", func(c *Config) {
			c.Routes = nil
			for i := range 51 {
				c.Routes = append(c.Routes, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i)}), 40))
			}
		}, "Routes (51 prefixes): at most 50"},
		{"IPv4 route", func(c *Config) { c.Routes = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, "Routes[0] 10.0.0.0/8: must be an IPv6 prefix"},
		{"invalid route", func(c *Config) { c.Routes = []netip.Prefix{raMeshPrefix, {}} }, "Routes[1] invalid Prefix: must be an IPv6 prefix"},
		{"host bits", func(c *Config) { c.Routes = []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")} }, "Routes[0] 2001:db8:1::1/64: has bits set beyond the prefix length (2001:db8:1::/64?)"},
		{"link-local route", func(c *Config) { c.Routes = []netip.Prefix{netip.MustParsePrefix("fe80::/64")} }, "Routes[0] fe80::/64: must not be a link-local or multicast prefix"},
		{"multicast route", func(c *Config) { c.Routes = []netip.Prefix{netip.MustParsePrefix("ff05::/16")} }, "Routes[0] ff05::/16: must not be"},
		{"duplicate route", func(c *Config) { c.Routes = []netip.Prefix{raMeshPrefix, raOtherPrefix, raMeshPrefix} }, "Routes[2] 2001:db8:1::/64: duplicate"},
		{"max too small", func(c *Config) { c.MaxInterval = 3 * time.Second }, "MaxInterval 3s: must be from 4s to 30m0s"},
		{"max too large", func(c *Config) { c.MaxInterval = 1801 * time.Second }, "MaxInterval 30m1s: must be from 4s to 30m0s"},
		{"max negative", func(c *Config) { c.MaxInterval = -time.Second }, "MaxInterval -1s: must be from 4s"},
		{"min too small", func(c *Config) { c.MinInterval = 2 * time.Second }, "MinInterval 2s: must be from 3s to 0.75 × MaxInterval = 7m30s"},
		{"min too large", func(c *Config) { c.MaxInterval, c.MinInterval = 10*time.Second, 8*time.Second }, "MinInterval 8s: must be from 3s to 0.75 × MaxInterval = 7.5s"},
		{"min at most", func(c *Config) { c.MaxInterval, c.MinInterval = 4*time.Second, 3*time.Second }, ""},
		{"route lifetime short", func(c *Config) { c.RouteLifetime = 599 * time.Second }, "RouteLifetime 9m59s: must be from MaxInterval (10m0s) to 1193046h28m15s (infinity)"},
		{"route lifetime long", func(c *Config) { c.RouteLifetime = infiniteRouteLifetime + time.Second }, "RouteLifetime 1193046h28m16s: must be from"},
		{"route lifetime infinite", func(c *Config) { c.RouteLifetime = infiniteRouteLifetime }, ""},
		{"route lifetime fraction", func(c *Config) { c.RouteLifetime = 3600*time.Second + time.Millisecond }, "RouteLifetime 1h0m0.001s: must be whole seconds"},
		{"router lifetime short", func(c *Config) { c.RouterLifetime = time.Second }, "RouterLifetime 1s: must be 0 (not a default router) or from MaxInterval (10m0s) to 2h30m0s"},
		{"router lifetime long", func(c *Config) { c.RouterLifetime = 9001 * time.Second }, "RouterLifetime 2h30m1s: must be 0"},
		{"router lifetime fraction", func(c *Config) { c.RouterLifetime = 1800*time.Second + time.Millisecond }, "RouterLifetime 30m0.001s: must be whole seconds"},
		{"router lifetime ok", func(c *Config) { c.RouterLifetime = 1800 * time.Second }, ""},
		{"preference reserved", func(c *Config) { c.Preference = nd.PreferenceReserved }, "Preference 2: must be nd.PreferenceLow, PreferenceMedium or PreferenceHigh"},
		{"preference out of range", func(c *Config) { c.Preference = 7 }, "Preference 7: must be"},
		{"preference low", func(c *Config) { c.Preference = nd.PreferenceLow }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Interface: "eth0", Routes: []netip.Prefix{raMeshPrefix}}
			tc.mod(&cfg)
			u, err := New(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if u == nil {
					t.Fatal("New returned nil without an error")
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want an error containing %q", tc.want)
			}
			if !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), "router: upstream RA: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want ErrConfig, prefix \"router: upstream RA: \" and %q", err, tc.want)
			}
		})
	}
}

func TestNewUpstreamRADefaults(t *testing.T) {
	for _, tc := range []struct {
		max, wantMin time.Duration
	}{
		{0, 198 * time.Second}, // Max defaults to 600 s
		{1800 * time.Second, 594 * time.Second},
		{9 * time.Second, 3 * time.Second}, // 0.33 × 9 s = 2.97 s, raised to 3 s
		{4 * time.Second, 3 * time.Second},
	} {
		u, err := New(Config{Interface: "eth0", Routes: []netip.Prefix{raMeshPrefix}, MaxInterval: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		if u.cfg.MinInterval != tc.wantMin || (tc.max == 0 && u.cfg.MaxInterval != 600*time.Second) {
			t.Errorf("MaxInterval %v: got Min %v Max %v, want Min %v", tc.max, u.cfg.MinInterval, u.cfg.MaxInterval, tc.wantMin)
		}
		if u.cfg.RouteLifetime != 30*time.Minute || u.cfg.RouterLifetime != 0 || u.cfg.Preference != nd.PreferenceMedium || u.cfg.Logger == nil {
			t.Errorf("defaults: %+v", u.cfg)
		}
	}
}

// raPacket wraps the ICMPv6 message ra in an IPv6 header from src to
// ff02::1 with hop limit 255 and fills in the checksum, as the kernel does.
func raPacket(src netip.Addr, ra []byte) []byte {
	p := make([]byte, nd.IPv6HeaderLen+len(ra))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(ra)))
	p[6], p[7] = 58, 255
	s, d := src.As16(), netip.MustParseAddr("ff02::1").As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	icmp := p[nd.IPv6HeaderLen:]
	copy(icmp, ra)
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:], checksum.Finish(checksum.Sum(icmp, checksum.PseudoHeaderIPv6(s[:], d[:], 58, uint32(len(icmp))))))
	return p
}

// raSummary is what a host learns from an RA.
type raSummary struct {
	CurHopLimit    uint8
	Preference     nd.Preference
	RouterLifetime uint16
	SLLAO          string
	Routes         []raRoute
}

type raRoute struct {
	Prefix     string
	Length     int // option octets
	Preference nd.Preference
	Lifetime   uint32
}

// summarizeRA validates ra as a host would (nd.ParseICMP, RFC 4861 §6.1.2)
// and returns what it says.
func summarizeRA(t *testing.T, ra []byte) raSummary {
	t.Helper()
	var m nd.Message
	if err := nd.Parse(raPacket(raRouterLL, ra), &m); err != nil {
		t.Fatalf("RA %x does not parse: %v", ra, err)
	}
	if m.Type != nd.TypeRouterAdvert {
		t.Fatalf("type %d, want RA", m.Type)
	}
	v := m.RA()
	s := raSummary{CurHopLimit: v.CurHopLimit(), Preference: v.Preference(), RouterLifetime: v.RouterLifetime()}
	it := m.Options.Iter()
	for {
		o, done, err := it.Next()
		if err != nil {
			t.Fatalf("options: %v", err)
		}
		if done {
			break
		}
		switch o.Type() {
		case nd.OptSourceLinkAddr:
			s.SLLAO = net.HardwareAddr(nd.LinkAddrOption(o).Bytes()).String()
		case nd.OptRouteInfo:
			r := nd.RouteInfo(o)
			s.Routes = append(s.Routes, raRoute{r.Prefix().String(), o.Len(), r.Preference(), r.RouteLifetime()})
		default:
			t.Errorf("unexpected option %v", o.Type())
		}
	}
	return s
}

func TestUpstreamRAAppendRA(t *testing.T) {
	cfg := Config{
		Interface:  "eth0",
		Routes:     []netip.Prefix{raMeshPrefix, raOtherPrefix, netip.MustParsePrefix("2001:db8:3:4:5::/80"), netip.MustParsePrefix("::/0")},
		Preference: nd.PreferenceHigh, RouteLifetime: 3600 * time.Second,
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	routes := func(lifetime uint32) []raRoute {
		return []raRoute{
			{"2001:db8:1::/64", 16, nd.PreferenceHigh, lifetime},
			{"2001:db8:2::/48", 16, nd.PreferenceHigh, lifetime},
			{"2001:db8:3:4:5::/80", 24, nd.PreferenceHigh, lifetime},
			{"::/0", 8, nd.PreferenceHigh, lifetime},
		}
	}
	// Before Run has seen the interface: no SLLAO. Router Lifetime 0, so
	// Prf 0 (RFC 4191 §2.2).
	prefix := []byte("keep")
	b, err := u.AppendRA(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "keep" {
		t.Fatalf("AppendRA overwrote what was there: %q", b[:4])
	}
	if diff := cmp.Diff(raSummary{Routes: routes(3600)}, summarizeRA(t, b[4:])); diff != "" {
		t.Errorf("RA before Run (-want +got):\n%s", diff)
	}
	u.setHardwareAddr(raMAC)
	b, _ = u.AppendRA(nil)
	if diff := cmp.Diff(raSummary{SLLAO: raMAC.String(), Routes: routes(3600)}, summarizeRA(t, b)); diff != "" {
		t.Errorf("RA with SLLAO (-want +got):\n%s", diff)
	}
	if len(b) != 16+8+16+16+24+8 {
		t.Errorf("RA is %d octets", len(b))
	}
	final := u.appendRA(nil, raMAC, true)
	if diff := cmp.Diff(raSummary{SLLAO: raMAC.String(), Routes: routes(0)}, summarizeRA(t, final)); diff != "" {
		t.Errorf("final RA (-want +got):\n%s", diff)
	}

	// A default router: Router Lifetime and Prf in the header.
	cfg.RouterLifetime = 1800 * time.Second
	u, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = u.AppendRA(nil)
	if got := summarizeRA(t, b); got.RouterLifetime != 1800 || got.Preference != nd.PreferenceHigh {
		t.Errorf("default router RA: lifetime %d, preference %d", got.RouterLifetime, got.Preference)
	}
	if got := summarizeRA(t, u.appendRA(nil, nil, true)); got.RouterLifetime != 0 || got.Preference != 0 {
		t.Errorf("final default router RA: lifetime %d, preference %d", got.RouterLifetime, got.Preference)
	}
	// The configuration is copied: changing the caller's slice changes nothing.
	cfg.Routes[0] = netip.MustParsePrefix("2001:db8:9::/64")
	if got := summarizeRA(t, b); got.Routes[0].Prefix != "2001:db8:1::/64" {
		t.Errorf("route changed with the caller's slice: %v", got.Routes[0])
	}
}

func TestHWAddrOption(t *testing.T) {
	for _, tc := range []struct {
		addr net.HardwareAddr
		want []byte
	}{
		{nil, nil},
		{net.HardwareAddr{0, 0, 0, 0, 0, 0}, nil},
		{raMAC, []byte{1, 1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}},
		{net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}, []byte{1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0}},
	} {
		o := hwAddrOption{tc.addr}
		b := bytes.Repeat([]byte{0xee}, o.Len())
		o.Serialize(b)
		if !bytes.Equal(b, tc.want) && (len(b) != 0 || len(tc.want) != 0) {
			t.Errorf("%v: %x, want %x", tc.addr, b, tc.want)
		}
	}
}

// TestUpstreamRATshark cross-checks the advertisement with Wireshark's
// dissector: an Ethernet frame to 33:33:00:00:00:01 with the RA from
// AppendRA, then the final one.
func TestUpstreamRATshark(t *testing.T) {
	oracle.Tshark(t)
	u, err := New(Config{
		Interface:  "eth0",
		Routes:     []netip.Prefix{raMeshPrefix, raOtherPrefix, netip.MustParsePrefix("2001:db8:3:4:5::/80")},
		Preference: nd.PreferenceLow, RouteLifetime: 1800 * time.Second, RouterLifetime: 1200 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	u.setHardwareAddr(raMAC)
	ra, err := u.AppendRA(nil)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for _, body := range [][]byte{ra, u.appendRA(nil, raMAC, true)} {
		frame := append([]byte{0x33, 0x33, 0, 0, 0, 1}, raMAC...)
		frame = append(frame, 0x86, 0xdd)
		frames = append(frames, append(frame, raPacket(raRouterLL, body)...))
	}
	fields := []string{
		"icmpv6.type", "icmpv6.code", "icmpv6.checksum.status", "ipv6.hlim", "ipv6.src", "ipv6.dst",
		"icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.flag.m", "icmpv6.nd.ra.flag.o", "icmpv6.nd.ra.flag.prf",
		"icmpv6.nd.ra.router_lifetime", "icmpv6.nd.ra.reachable_time", "icmpv6.nd.ra.retrans_timer",
		"icmpv6.opt.type", "icmpv6.opt.length", "icmpv6.opt.linkaddr",
		"icmpv6.opt.prefix.length", "icmpv6.opt.prefix",
		"icmpv6.opt.route_info.flag.route_preference", "icmpv6.opt.route_lifetime",
	}
	rows := oracle.WritePcap(t, oracle.LinkTypeEthernet, frames...).FieldMaps(t, fields...)
	if len(rows) != 2 {
		t.Fatalf("tshark shows %d frames, want 2", len(rows))
	}
	want := func(prf, routerLifetime, routeLifetime string) map[string]string {
		return map[string]string{
			"icmpv6.type": "134", "icmpv6.code": "0", "icmpv6.checksum.status": "1", "ipv6.hlim": "255",
			"ipv6.src": raRouterLL.String(), "ipv6.dst": "ff02::1",
			"icmpv6.nd.ra.cur_hop_limit": "0", "icmpv6.nd.ra.flag.m": "0", "icmpv6.nd.ra.flag.o": "0", "icmpv6.nd.ra.flag.prf": prf,
			"icmpv6.nd.ra.router_lifetime": routerLifetime, "icmpv6.nd.ra.reachable_time": "0", "icmpv6.nd.ra.retrans_timer": "0",
			"icmpv6.opt.type":     "1,24,24,24",
			"icmpv6.opt.length":   "1,2,2,3",
			"icmpv6.opt.linkaddr": raMAC.String(),
			// tshark shows the RIO's prefix and length in the PIO's fields.
			"icmpv6.opt.prefix.length":                    "64,48,80",
			"icmpv6.opt.prefix":                           "2001:db8:1::,2001:db8:2::,2001:db8:3:4:5::",
			"icmpv6.opt.route_info.flag.route_preference": "3,3,3",
			"icmpv6.opt.route_lifetime":                   strings.Repeat(routeLifetime+",", 2) + routeLifetime,
		}
	}
	for i, w := range []map[string]string{want("3", "1200", "1800"), want("0", "0", "0")} {
		for _, fl := range fields {
			if got := rows[i][fl]; got != w[fl] {
				t.Errorf("frame %d: %s = %q, want %q", i+1, fl, got, w[fl])
			}
		}
	}
}

// fakeRALink is the upstream interface of the tests without a kernel: it
// records what is sent and delivers what the test injects.
type fakeRALink struct {
	mu       sync.Mutex
	notReady bool
	sendErr  error

	sent      chan fakeRA
	rx        chan fakeRS
	closed    chan struct{}
	closeOnce sync.Once
}

type fakeRA struct {
	at   time.Time
	src  netip.Addr
	body []byte
}

type fakeRS struct {
	src, dst netip.Addr
	hopLimit int
	body     []byte
}

func newFakeRALink() *fakeRALink {
	return &fakeRALink{sent: make(chan fakeRA, 64), rx: make(chan fakeRS), closed: make(chan struct{})}
}

func (l *fakeRALink) source() (netip.Addr, net.HardwareAddr, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.notReady {
		return netip.Addr{}, nil, errNoLinkLocal
	}
	return raRouterLL, raMAC, nil
}

func (l *fakeRALink) sendRA(src netip.Addr, ra []byte) error {
	l.mu.Lock()
	err := l.sendErr
	l.mu.Unlock()
	if err != nil {
		return err
	}
	l.sent <- fakeRA{time.Now(), src, append([]byte(nil), ra...)}
	return nil
}

func (l *fakeRALink) receive(buf []byte) (int, netip.Addr, netip.Addr, int, error) {
	select {
	case m := <-l.rx:
		return copy(buf, m.body), m.src, m.dst, m.hopLimit, nil
	case <-l.closed:
		return 0, netip.Addr{}, netip.Addr{}, -1, net.ErrClosed
	}
}

func (l *fakeRALink) close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeRALink) set(notReady bool, sendErr error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notReady, l.sendErr = notReady, sendErr
}

// inject delivers a solicitation to the reader.
func (l *fakeRALink) inject(t *testing.T, rs fakeRS) {
	t.Helper()
	select {
	case l.rx <- rs:
	case <-time.After(2 * time.Second):
		t.Fatal("the reader does not take the solicitation")
	}
}

// next waits up to d for a sent RA.
func (l *fakeRALink) next(t *testing.T, d time.Duration) fakeRA {
	t.Helper()
	select {
	case ra := <-l.sent:
		return ra
	case <-time.After(d):
		t.Fatalf("no RA within %v", d)
		return fakeRA{}
	}
}

// none checks that nothing is sent for d.
func (l *fakeRALink) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ra := <-l.sent:
		t.Fatalf("unexpected RA %x", ra.body)
	case <-time.After(d):
	}
}

// rsBody makes an RS ICMPv6 message from src to ff02::2 with a valid
// checksum, with SLLAO if mac is set.
func rsBody(t *testing.T, src netip.Addr, mac net.HardwareAddr) []byte {
	t.Helper()
	var opts []nd.OptionSerializer
	if mac != nil {
		opts = append(opts, hwAddrOption{mac})
	}
	p, err := nd.AppendIPv6(nil, src, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p[nd.IPv6HeaderLen:]
}

// newFakeUpstreamRA makes a sender with the timing shortened for tests.
func newFakeUpstreamRA(t *testing.T, cfg Config) *Advertiser {
	t.Helper()
	if cfg.Interface == "" {
		cfg.Interface = "fake0"
	}
	if cfg.Routes == nil {
		cfg.Routes = []netip.Prefix{raMeshPrefix}
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.initialInterval, u.minDelay, u.maxDelay = 50*time.Millisecond, 300*time.Millisecond, 20*time.Millisecond
	return u
}

// runFake runs u on link until the returned cancel, or the end of the test.
func runFake(t *testing.T, u *Advertiser, link *fakeRALink) (context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- u.run(ctx, link)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	return cancel, done
}

// waitStats waits up to a second for the counters to be want: an RA
// reaches the fake link before it is counted.
func waitStats(t *testing.T, u *Advertiser, want Stats) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for u.Stats() != want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if diff := cmp.Diff(want, u.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// TestUpstreamRAInitialBurst: three advertisements at once and at most
// MAX_INITIAL_RTR_ADVERT_INTERVAL apart, then silence until MinInterval
// (RFC 4861 §6.2.4).
func TestUpstreamRAInitialBurst(t *testing.T) {
	u := newFakeUpstreamRA(t, Config{MaxInterval: 4 * time.Second, MinInterval: 3 * time.Second})
	link := newFakeRALink()
	start := time.Now()
	runFake(t, u, link)
	var prev time.Time
	for i := range 3 {
		ra := link.next(t, time.Second)
		switch {
		case i == 0 && ra.at.Sub(start) > 100*time.Millisecond:
			t.Errorf("first RA after %v, want at once", ra.at.Sub(start))
		case i > 0 && ra.at.Sub(prev) > u.initialInterval+100*time.Millisecond:
			t.Errorf("RA %d %v after the previous, want at most %v", i+1, ra.at.Sub(prev), u.initialInterval)
		}
		if ra.src != raRouterLL {
			t.Errorf("RA from %v", ra.src)
		}
		if s := summarizeRA(t, ra.body); s.SLLAO != raMAC.String() || len(s.Routes) != 1 || s.Routes[0].Lifetime != 1800 {
			t.Errorf("RA %d: %+v", i+1, s)
		}
		prev = ra.at
	}
	link.none(t, 2*time.Second)
	waitStats(t, u, Stats{Unsolicited: 3})
	ra := link.next(t, 3*time.Second)
	if d := ra.at.Sub(prev); d < 3*time.Second || d > 4*time.Second+100*time.Millisecond {
		t.Errorf("fourth RA %v after the third, want within [MinInterval, MaxInterval]", d)
	}
}

// TestUpstreamRASolicitations: valid solicitations are answered after at
// most MAX_RA_DELAY_TIME, no sooner than MIN_DELAY_BETWEEN_RAS after the
// previous RA, several by one RA; invalid ones (RFC 4861 §6.1.1) are
// counted and not answered.
func TestUpstreamRASolicitations(t *testing.T) {
	u := newFakeUpstreamRA(t, Config{})
	link := newFakeRALink()
	runFake(t, u, link)
	var last time.Time
	for range 3 {
		last = link.next(t, time.Second).at
	}
	allRouters := netip.MustParseAddr("ff02::2")
	valid := fakeRS{src: raHostLL, dst: allRouters, hopLimit: 255, body: rsBody(t, raHostLL, raMAC)}

	time.Sleep(u.minDelay) // past MIN_DELAY_BETWEEN_RAS: only the random delay
	sentRS := time.Now()
	link.inject(t, valid)
	ra := link.next(t, time.Second)
	if d := ra.at.Sub(sentRS); d > u.maxDelay+50*time.Millisecond {
		t.Errorf("answered after %v, want at most %v", d, u.maxDelay)
	}
	if d := ra.at.Sub(last); d < u.minDelay {
		t.Errorf("answer %v after the previous RA, want at least %v", d, u.minDelay)
	}
	last = ra.at

	// Three at once, at once after the answer: one RA, MIN_DELAY_BETWEEN_RAS
	// after the previous.
	for range 3 {
		link.inject(t, valid)
	}
	ra = link.next(t, 2*time.Second)
	if d := ra.at.Sub(last); d < u.minDelay || d > u.minDelay+u.maxDelay+100*time.Millisecond {
		t.Errorf("second answer %v after the first, want %v plus at most %v", d, u.minDelay, u.maxDelay)
	}
	link.none(t, u.minDelay+u.maxDelay+100*time.Millisecond)

	// From the unspecified address without an SLLAO: valid.
	unspec := netip.IPv6Unspecified()
	link.inject(t, fakeRS{src: unspec, dst: allRouters, hopLimit: 255, body: rsBody(t, unspec, nil)})
	link.next(t, time.Second)

	bad := func(mod func(rs *fakeRS)) fakeRS {
		rs := fakeRS{src: raHostLL, dst: allRouters, hopLimit: 255, body: rsBody(t, raHostLL, raMAC)}
		mod(&rs)
		return rs
	}
	for _, rs := range []fakeRS{
		bad(func(rs *fakeRS) { rs.hopLimit = 64 }),                                    // forwarded: not from the link
		bad(func(rs *fakeRS) { rs.hopLimit = -1 }),                                    // hop limit unknown
		bad(func(rs *fakeRS) { rs.body[1] = 1 }),                                      // code 1 (checksum now wrong as well)
		bad(func(rs *fakeRS) { rs.body = rs.body[:4] }),                               // shorter than 8 octets
		bad(func(rs *fakeRS) { rs.body[9] = 0 }),                                      // option of length 0
		{src: unspec, dst: allRouters, hopLimit: 255, body: rsBody(t, unspec, raMAC)}, // SLLAO from ::
	} {
		link.inject(t, rs)
	}
	link.none(t, u.minDelay+u.maxDelay+100*time.Millisecond)
	waitStats(t, u, Stats{Unsolicited: 3, Solicited: 3, RSReceived: 5, RSInvalid: 6})
}

// TestUpstreamRAWaitsForLinkLocal: without a usable link-local address
// nothing is sent and nothing counted as an error; once there is one, the
// initial advertisements go.
func TestUpstreamRAWaitsForLinkLocal(t *testing.T) {
	u := newFakeUpstreamRA(t, Config{})
	link := newFakeRALink()
	link.set(true, nil)
	runFake(t, u, link)
	link.none(t, 300*time.Millisecond)
	link.set(false, nil)
	for range 3 {
		link.next(t, linkLocalRetry+500*time.Millisecond)
	}
	waitStats(t, u, Stats{Unsolicited: 3})
}

// TestUpstreamRASendErrors: a failing send is counted and retried; the
// initial advertisements are kept for when it works.
func TestUpstreamRASendErrors(t *testing.T) {
	u := newFakeUpstreamRA(t, Config{})
	link := newFakeRALink()
	link.set(false, errors.New("network is down"))
	runFake(t, u, link)
	deadline := time.Now().Add(2 * time.Second)
	for u.Stats().SendErrors < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want 3 send errors", u.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	link.set(false, nil)
	for range 3 {
		link.next(t, time.Second)
	}
	errs := u.Stats().SendErrors
	if errs < 3 {
		t.Errorf("%d send errors, want at least 3", errs)
	}
	waitStats(t, u, Stats{Unsolicited: 3, SendErrors: errs})
}

// TestUpstreamRAFinal: cancelling sends one RA with every lifetime 0 (RFC
// 4861 §6.2.5) and returns nil at once; without a previous RA there is
// nothing to withdraw.
func TestUpstreamRAFinal(t *testing.T) {
	u := newFakeUpstreamRA(t, Config{Routes: []netip.Prefix{raMeshPrefix, raOtherPrefix}, RouterLifetime: 1800 * time.Second})
	link := newFakeRALink()
	cancel, done := runFake(t, u, link)
	for range 3 {
		link.next(t, time.Second)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("run did not return within a second of cancel")
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("run took %v to return", d)
	}
	ra := link.next(t, 100*time.Millisecond)
	want := raSummary{SLLAO: raMAC.String(), Routes: []raRoute{
		{"2001:db8:1::/64", 16, 0, 0}, {"2001:db8:2::/48", 16, 0, 0},
	}}
	if diff := cmp.Diff(want, summarizeRA(t, ra.body)); diff != "" {
		t.Errorf("final RA (-want +got):\n%s", diff)
	}
	if got := u.Stats(); got.Unsolicited != 4 {
		t.Errorf("stats %+v, want 4 unsolicited", got)
	}
	select {
	case <-link.closed:
	default:
		t.Error("link not closed")
	}

	// Cancelled before anything was sent.
	u = newFakeUpstreamRA(t, Config{})
	link = newFakeRALink()
	link.set(true, nil)
	cancel, done = runFake(t, u, link)
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	link.none(t, 100*time.Millisecond)
}
