package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/nd"
)

// Upstream router advertisements: the border router is a router on its
// Ethernet side too, and says so with Router Advertisements (RFC 4861 §6.2)
// that carry a Route Information Option (RFC 4191 §2.3) for each mesh
// prefix. Hosts on the LAN then route to the mesh through the border router
// without manual configuration. The advertisements carry nothing else: no
// Prefix Information (the LAN's addresses are someone else's business), no
// MTU, no hop limit or timers (0: unspecified), and by default a Router
// Lifetime of 0, so the border router does not become anybody's default
// router: RFC 4191 §2.2 separates the default-router preference from the
// routes, and a router with Router Lifetime 0 may still advertise routes.
//
// Hosts must be willing to learn the routes. Linux ignores a Route
// Information Option unless net.ipv6.conf.<if>.accept_ra is on (1, or 2 on
// a host that forwards) and accept_ra_rt_info_max_plen is at least the
// prefix length; its default is 0, which admits no mesh prefix at all.
// Windows and macOS accept RFC 4191 routes by default.

// RFC 4861 §10 router constants and §6.2.1 limits on the configuration.
const (
	maxInitialRtrAdvertisements = 3                      // MAX_INITIAL_RTR_ADVERTISEMENTS
	maxInitialRtrAdvertInterval = 16 * time.Second       // MAX_INITIAL_RTR_ADVERT_INTERVAL
	minDelayBetweenRAs          = 3 * time.Second        // MIN_DELAY_BETWEEN_RAS
	maxRADelayTime              = 500 * time.Millisecond // MAX_RA_DELAY_TIME

	defaultMaxRtrAdvInterval = 600 * time.Second
	lowestMaxRtrAdvInterval  = 4 * time.Second
	highestMaxRtrAdvInterval = 1800 * time.Second
	lowestMinRtrAdvInterval  = 3 * time.Second
	highestRouterLifetime    = 9000 * time.Second // AdvDefaultLifetime

	defaultRouteLifetime = 30 * time.Minute
	// infiniteRouteLifetime is the all-ones Route Lifetime (RFC 4191 §2.3).
	infiniteRouteLifetime = 0xffffffff * time.Second
)

// maxUpstreamRoutes is how many Route Information Options of the longest
// form (24 octets) fit with the RA header and an Ethernet SLLAO in the IPv6
// minimum MTU (RFC 8200 §5): (1280 − 40 − 16 − 8) / 24. RFC 4861 §6.2.3
// would split more over several advertisements; a border router does not
// have that many mesh prefixes.
const maxUpstreamRoutes = 50

// linkLocalRetry is how soon an advertisement is tried again when the
// interface has no usable link-local address yet (DAD still running).
const linkLocalRetry = time.Second

// ErrConfig is wrapped by New's errors.
var ErrConfig = errors.New("invalid upstream RA configuration")

// errNoLinkLocal means the interface has no link-local address that may be
// used yet: RFC 4861 §4.2 and §6.1.2 make the link-local address the only
// valid source of an RA, and the address is tentative until DAD (RFC 4862
// §5.4) has finished.
var errNoLinkLocal = errors.New("no usable link-local address yet")

// Config configures router advertisements on the upstream
// (Ethernet) interface. Zero values take the defaults given.
type Config struct {
	// Interface is the upstream interface, e.g. "eth0". Required.
	Interface string
	// Routes are the mesh prefixes, each advertised in a Route Information
	// Option (RFC 4191 §2.3). At least one, at most 50, no duplicates, no
	// bits set beyond the prefix length, neither link-local nor multicast.
	Routes []netip.Prefix
	// RouteLifetime is the Route Lifetime of each option, in whole seconds:
	// default 30 minutes; at least MaxInterval, so that a route outlives
	// the wait for the next advertisement; 4294967295 s is infinity.
	RouteLifetime time.Duration
	// Preference is the Route Preference of each option (RFC 4191 §2.1),
	// and the Default Router Preference of the RA header when
	// RouterLifetime is not 0 (RFC 4191 §2.2 wants 0 otherwise). Default
	// medium; the reserved value 10 must not be sent (§2.1).
	Preference nd.Preference
	// MinInterval and MaxInterval bound the random interval between
	// unsolicited advertisements (MinRtrAdvInterval and MaxRtrAdvInterval,
	// RFC 4861 §6.2.1): MaxInterval 4 s to 1800 s, default 600 s;
	// MinInterval 3 s to 0.75 × MaxInterval, default 0.33 × MaxInterval
	// but not below 3 s.
	MinInterval, MaxInterval time.Duration
	// RouterLifetime is the Router Lifetime of the RA header
	// (AdvDefaultLifetime, RFC 4861 §6.2.1), in whole seconds: 0 (the
	// default) or MaxInterval to 9000 s. At 0 the border router is not a
	// default router and advertises only the routes.
	RouterLifetime time.Duration
	Logger         *slog.Logger
}

// Stats counts what the sender did.
type Stats struct {
	// Unsolicited counts the periodic advertisements, the final one
	// included; Solicited those sent while a Router Solicitation was
	// waiting for its answer (one answers every RS received before it).
	Unsolicited, Solicited uint64
	// RSReceived counts valid Router Solicitations, RSInvalid those
	// discarded by the checks of RFC 4861 §6.1.1. The kernel drops a
	// solicitation with a bad checksum before it reaches either count.
	RSReceived, RSInvalid uint64
	// SendErrors counts advertisements the kernel refused, and failures to
	// look up the interface's address.
	SendErrors uint64
}

// Advertiser sends router advertisements on the upstream interface. Make
// one with New and call Run.
type Advertiser struct {
	cfg Config
	log *slog.Logger

	// The RFC 4861 §10 timing constants; tests shorten them.
	initialInterval time.Duration // MAX_INITIAL_RTR_ADVERT_INTERVAL
	minDelay        time.Duration // MIN_DELAY_BETWEEN_RAS
	maxDelay        time.Duration // MAX_RA_DELAY_TIME

	running atomic.Bool

	mu     sync.Mutex
	hwAddr net.HardwareAddr // the interface's, for the SLLAO; nil until Run has looked

	stats struct {
		unsolicited, solicited, rsReceived, rsInvalid, sendErrors atomic.Uint64
	}
}

// New checks cfg, fills in its defaults and makes a sender. It
// does not touch the system; Run does.
func New(cfg Config) (*Advertiser, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("router: upstream RA: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Routes = append([]netip.Prefix(nil), cfg.Routes...)
	return &Advertiser{
		cfg:             cfg,
		log:             cfg.Logger.With("iface", cfg.Interface),
		initialInterval: maxInitialRtrAdvertInterval,
		minDelay:        minDelayBetweenRAs,
		maxDelay:        maxRADelayTime,
	}, nil
}

func configError(field string, value any, allowed string) error {
	return fmt.Errorf("%s %v: %s: %w", field, value, allowed, ErrConfig)
}

// setDefaults validates c and replaces its zero values by the defaults.
func (c *Config) setDefaults() error {
	switch {
	case c.Interface == "":
		return configError("Interface", `""`, `required (the upstream interface, e.g. "eth0")`)
	case len(c.Interface) >= 16:
		return configError("Interface", fmt.Sprintf("%q", c.Interface), "longer than an interface name can be (15 octets)")
	}
	if len(c.Routes) == 0 {
		return configError("Routes", "[]", "at least one mesh prefix required")
	}
	if len(c.Routes) > maxUpstreamRoutes {
		return configError("Routes", fmt.Sprintf("(%d prefixes)", len(c.Routes)), fmt.Sprintf("at most %d fit one advertisement", maxUpstreamRoutes))
	}
	for i, p := range c.Routes {
		field := fmt.Sprintf("Routes[%d]", i)
		switch {
		case !p.IsValid() || !p.Addr().Is6() || p.Addr().Zone() != "":
			return configError(field, p, "must be an IPv6 prefix")
		case p.Masked() != p:
			return configError(field, p, fmt.Sprintf("has bits set beyond the prefix length (%v?)", p.Masked()))
		case p.Addr().IsLinkLocalUnicast() || p.Addr().IsMulticast():
			return configError(field, p, "must not be a link-local or multicast prefix")
		}
		for _, q := range c.Routes[:i] {
			if q == p {
				return configError(field, p, "duplicate")
			}
		}
	}

	if c.MaxInterval == 0 {
		c.MaxInterval = defaultMaxRtrAdvInterval
	}
	if c.MaxInterval < lowestMaxRtrAdvInterval || c.MaxInterval > highestMaxRtrAdvInterval {
		return configError("MaxInterval", c.MaxInterval, fmt.Sprintf("must be from %v to %v (RFC 4861 §6.2.1)", lowestMaxRtrAdvInterval, highestMaxRtrAdvInterval))
	}
	highestMin := c.MaxInterval * 3 / 4
	if c.MinInterval == 0 {
		c.MinInterval = max(lowestMinRtrAdvInterval, c.MaxInterval*33/100)
	}
	if c.MinInterval < lowestMinRtrAdvInterval || c.MinInterval > highestMin {
		return configError("MinInterval", c.MinInterval, fmt.Sprintf("must be from %v to 0.75 × MaxInterval = %v (RFC 4861 §6.2.1)", lowestMinRtrAdvInterval, highestMin))
	}

	if c.RouteLifetime == 0 {
		c.RouteLifetime = defaultRouteLifetime
	}
	switch {
	case c.RouteLifetime < c.MaxInterval || c.RouteLifetime > infiniteRouteLifetime:
		return configError("RouteLifetime", c.RouteLifetime, fmt.Sprintf("must be from MaxInterval (%v) to %v (infinity)", c.MaxInterval, infiniteRouteLifetime))
	case c.RouteLifetime%time.Second != 0:
		return configError("RouteLifetime", c.RouteLifetime, "must be whole seconds")
	}
	if c.RouterLifetime != 0 {
		switch {
		case c.RouterLifetime < c.MaxInterval || c.RouterLifetime > highestRouterLifetime:
			return configError("RouterLifetime", c.RouterLifetime, fmt.Sprintf("must be 0 (not a default router) or from MaxInterval (%v) to %v (RFC 4861 §6.2.1)", c.MaxInterval, highestRouterLifetime))
		case c.RouterLifetime%time.Second != 0:
			return configError("RouterLifetime", c.RouterLifetime, "must be whole seconds")
		}
	}
	switch c.Preference {
	case nd.PreferenceMedium, nd.PreferenceHigh, nd.PreferenceLow:
	default:
		return configError("Preference", fmt.Sprintf("%d", c.Preference), "must be nd.PreferenceLow, PreferenceMedium or PreferenceHigh (RFC 4191 §2.1: the reserved value is not sent)")
	}
	return nil
}

// Stats returns the counters so far.
func (u *Advertiser) Stats() Stats {
	return Stats{
		Unsolicited: u.stats.unsolicited.Load(),
		Solicited:   u.stats.solicited.Load(),
		RSReceived:  u.stats.rsReceived.Load(),
		RSInvalid:   u.stats.rsInvalid.Load(),
		SendErrors:  u.stats.sendErrors.Load(),
	}
}

// AppendRA appends to b the ICMPv6 message (RFC 4861 §4.2) of the periodic
// advertisement: the RA header, an SLLAO with the interface's hardware
// address once Run has learnt it, and a Route Information Option per route,
// in the order configured. The checksum is left 0: the kernel computes it
// for a raw ICMPv6 socket (RFC 3542 §3.1), over the source address it
// sends from. There is no IPv6 header.
func (u *Advertiser) AppendRA(b []byte) ([]byte, error) {
	return u.appendRA(b, u.hardwareAddr(), false), nil
}

func (u *Advertiser) hardwareAddr() net.HardwareAddr {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hwAddr
}

func (u *Advertiser) setHardwareAddr(hw net.HardwareAddr) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if string(hw) != string(u.hwAddr) {
		u.hwAddr = append(net.HardwareAddr(nil), hw...)
	}
}

// appendRA writes the advertisement; final sets both lifetimes to 0, which
// withdraws the router and its routes (RFC 4861 §6.2.5, RFC 4191 §2.3).
func (u *Advertiser) appendRA(b []byte, hw net.HardwareAddr, final bool) []byte {
	ra := nd.RAFields{}
	if !final && u.cfg.RouterLifetime != 0 {
		ra.RouterLifetime = uint16(u.cfg.RouterLifetime / time.Second)
		ra.Preference = u.cfg.Preference
	}
	var lifetime uint32
	if !final {
		lifetime = uint32(u.cfg.RouteLifetime / time.Second)
	}
	sllao := hwAddrOption{hw}
	n := ra.Len() + sllao.Len()
	for _, p := range u.cfg.Routes {
		n += nd.RouteInfoFields{Prefix: p}.Len()
	}
	start := len(b)
	if cap(b)-start < n {
		nb := make([]byte, start, start+n)
		copy(nb, b)
		b = nb
	}
	b = b[:start+n]
	m := b[start:]
	m[0], m[1], m[2], m[3] = byte(nd.TypeRouterAdvert), 0, 0, 0
	ra.Serialize(m[:ra.Len()])
	off := ra.Len()
	sllao.Serialize(m[off:])
	off += sllao.Len()
	for _, p := range u.cfg.Routes {
		rio := nd.RouteInfoFields{Prefix: p, Preference: u.cfg.Preference, Lifetime: lifetime}
		rio.Serialize(m[off : off+rio.Len()])
		off += rio.Len()
	}
	return b
}

// hwAddrOption is a Source Link-Layer Address option (RFC 4861 §4.6.1) for
// an interface whose hardware address is not one of nd.SourceLinkAddr's
// (IEEE 802.15.4, Bluetooth): the address as the interface reports it,
// zero padded to a multiple of 8 octets. For Ethernet that is RFC 2464 §6:
// Length 1, the 48-bit MAC. An interface without a hardware address (or an
// all-zero one) gets no option (Len 0).
type hwAddrOption struct{ addr net.HardwareAddr }

func (o hwAddrOption) Len() int {
	zero := true
	for _, c := range o.addr {
		zero = zero && c == 0
	}
	if zero || len(o.addr) > 253 {
		return 0
	}
	return (2 + len(o.addr) + 7) / 8 * 8
}

func (o hwAddrOption) Serialize(b []byte) {
	n := o.Len()
	if n == 0 {
		return
	}
	clear(b[:n])
	b[0], b[1] = byte(nd.OptSourceLinkAddr), byte(n/8)
	copy(b[2:n], o.addr)
}

// raLink is the upstream interface as the sender sees it: a raw ICMPv6
// socket on Linux (upstream_ra_linux.go), a fake in tests.
type raLink interface {
	// source returns the link-local address to send from and the hardware
	// address for the SLLAO (nil if the interface has none); errNoLinkLocal
	// if no link-local address may be used yet.
	source() (netip.Addr, net.HardwareAddr, error)
	// sendRA sends the ICMPv6 message ra from src to all-nodes (ff02::1)
	// with hop limit 255; the kernel fills in the checksum.
	sendRA(src netip.Addr, ra []byte) error
	// receive waits for the next ICMPv6 message and returns its length in
	// buf, its addresses and hop limit (−1 when unknown). After close it
	// returns an error.
	receive(buf []byte) (n int, src, dst netip.Addr, hopLimit int, err error)
	close() error
}

// run advertises on link until ctx ends, then sends the final
// advertisement, closes link and returns once its reader has stopped.
//
// Goroutines: run's caller advertises (advertise); readSolicitations,
// started here, reads Router Solicitations and hands each over on a channel
// of one slot (solicitations that find it full are answered by the same
// RA). Closing link, after ctx has ended, stops the reader.
func (u *Advertiser) run(ctx context.Context, link raLink) error {
	rs := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		u.readSolicitations(ctx, link, rs)
	}()
	u.advertise(ctx, link, rs)
	err := link.close()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("router: upstream RA: close: %w", err)
	}
	return nil
}

// readSolicitations reads Router Solicitations from link and validates
// them (RFC 4861 §6.1.1, by nd.ParseICMP: hop limit 255, code 0, at least
// 8 octets, well-formed options, no SLLAO from the unspecified address).
func (u *Advertiser) readSolicitations(ctx context.Context, link raLink, rs chan<- struct{}) {
	buf := make([]byte, 2048)
	var m nd.Message
	failing := false
	for {
		n, src, dst, hopLimit, err := link.receive(buf)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			level := slog.LevelWarn
			if failing {
				level = slog.LevelDebug // said once
			}
			u.log.Log(ctx, level, "upstream RA: reading router solicitations", "err", err)
			failing = true
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		failing = false
		if hopLimit < 0 || hopLimit > 255 {
			err = errors.New("hop limit unknown or message truncated")
		} else if err = nd.ParseICMP(src, dst, uint8(hopLimit), buf[:n], &m); err == nil && m.Type != nd.TypeRouterSolicit {
			err = fmt.Errorf("ICMPv6 type %d", m.Type)
		}
		if err != nil {
			u.stats.rsInvalid.Add(1)
			u.log.Debug("upstream RA: invalid router solicitation", "src", src, "hoplimit", hopLimit, "err", err)
			continue
		}
		u.stats.rsReceived.Add(1)
		select {
		case rs <- struct{}{}:
		default: // an answer is already due
		}
	}
}

// advertise sends the advertisements until ctx ends, then the final one.
//
// RFC 4861 §6.2.4: the first advertisement goes at once, the next ones at
// random intervals in [MinInterval, MaxInterval], of which the first
// MAX_INITIAL_RTR_ADVERTISEMENTS are cut to MAX_INITIAL_RTR_ADVERT_INTERVAL.
// §6.2.6: a solicitation is answered by a multicast RA after a random delay
// of up to MAX_RA_DELAY_TIME, no sooner than MIN_DELAY_BETWEEN_RAS after the
// previous multicast RA (plus the delay), and by the next unsolicited RA
// instead if that one is due first. §6.2.5: when the interface stops
// advertising, a final RA with Router Lifetime 0 — and here Route
// Lifetime 0 — withdraws what the previous ones said.
func (u *Advertiser) advertise(ctx context.Context, link raLink, rs <-chan struct{}) {
	var (
		buf        []byte
		initial    int       // unsolicited advertisements sent so far, up to the initial count
		advertised bool      // some advertisement went out: the final one has something to withdraw
		last       time.Time // the previous multicast advertisement
		nextUnsol  = time.Now()
		unsol      = time.NewTimer(0)
		sol        = time.NewTimer(time.Hour)
		answering  bool // a solicitation awaits its answer
		waiting    bool // the last attempt found no link-local address
		failing    bool // the last attempt failed
	)
	sol.Stop()
	defer unsol.Stop()
	defer sol.Stop()

	// send sends one advertisement and reports whether it went out; a
	// missing link-local address is neither sent nor an error.
	send := func(final bool) (sent, notReady bool) {
		src, hw, err := link.source()
		if err == nil {
			u.setHardwareAddr(hw)
			buf = u.appendRA(buf[:0], hw, final)
			err = link.sendRA(src, buf)
		}
		switch {
		case errors.Is(err, errNoLinkLocal):
			if !waiting {
				u.log.Info("upstream RA: waiting for a usable link-local address (duplicate address detection)")
			}
			waiting = true
			return false, true
		case err != nil:
			u.stats.sendErrors.Add(1)
			if !failing {
				u.log.Warn("upstream RA: sending router advertisement", "err", err)
			} else {
				u.log.Debug("upstream RA: sending router advertisement", "err", err)
			}
			failing = true
			return false, false
		}
		if failing || waiting {
			u.log.Info("upstream RA: advertising", "src", src)
		}
		waiting, failing, advertised = false, false, true
		u.log.Debug("upstream RA: sent router advertisement", "src", src, "final", final)
		return true, false
	}
	// sent accounts for an advertisement that went out at now.
	sent := func(now time.Time, final bool) {
		last = now
		switch {
		case answering && !final:
			u.stats.solicited.Add(1)
		default:
			u.stats.unsolicited.Add(1)
		}
		answering = false
		sol.Stop()
	}

	for {
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-unsol.C:
			now := time.Now()
			ok, notReady := send(false)
			var next time.Duration
			switch {
			case notReady:
				next = linkLocalRetry
			case !ok:
				// Failed (link down, say): try again as if starting, and
				// leave the initial advertisements for when it works.
				next = u.initialInterval
			default:
				sent(now, false)
				initial = min(initial+1, maxInitialRtrAdvertisements)
				next = u.interval(initial < maxInitialRtrAdvertisements)
			}
			nextUnsol = now.Add(next)
			unsol.Reset(next)
		case <-rs:
			if answering {
				continue
			}
			answering = true
			now := time.Now()
			delay := time.Duration(rand.Int64N(int64(u.maxDelay) + 1))
			at := now.Add(delay)
			if !last.IsZero() && at.Before(last.Add(u.minDelay)) {
				at = last.Add(u.minDelay).Add(delay)
			}
			if !at.Before(nextUnsol) {
				continue // the unsolicited one, due first, answers
			}
			sol.Reset(at.Sub(now))
		case <-sol.C:
			now := time.Now()
			switch ok, notReady := send(false); {
			case ok:
				sent(now, false)
			case notReady:
				sol.Reset(linkLocalRetry)
			default:
				answering = false // failed: the next unsolicited one answers
			}
		}
	}
	if !advertised {
		return
	}
	if ok, _ := send(true); ok {
		sent(time.Now(), true)
	}
}

// interval draws the time to the next unsolicited advertisement (RFC 4861
// §6.2.4): uniform in [MinInterval, MaxInterval], cut to
// MAX_INITIAL_RTR_ADVERT_INTERVAL while initial.
func (u *Advertiser) interval(initial bool) time.Duration {
	d := u.cfg.MinInterval + time.Duration(rand.Int64N(int64(u.cfg.MaxInterval-u.cfg.MinInterval)+1))
	if initial {
		d = min(d, u.initialInterval)
	}
	return d
}
