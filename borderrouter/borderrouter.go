package borderrouter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/hostif"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/metrics"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/hcisim"
	"github.com/lowpanbr/lowpanbr/sim/le"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/otsim"
	"github.com/lowpanbr/lowpanbr/upstream"
	"github.com/lowpanbr/lowpanbr/web"
)

// BorderRouter is a border router: radio, 6LoWPAN link, 6LBR, TUN,
// forwarder, and in simulation the medium, the RCP behind its PTY and the
// nodes. New builds it; Run moves packets; Close takes it down in reverse
// order of New.
type BorderRouter struct {
	log     *slog.Logger
	level   *slog.LevelVar // nil: the embedder's logger, whose level is not ours to change
	version string
	started time.Time

	// mu guards cfg (Reload changes it), mesh (Run sets it) and the life
	// cycle below.
	mu        sync.Mutex
	cfg       Config
	mesh      *sim.Mesh
	running   bool
	closed    bool
	runCancel context.CancelFunc
	closing   chan struct{} // closed by Close: Run returns
	stopOnce  sync.Once
	stopped   chan struct{} // closed once everything is down

	// The simulated world; nil parts are not simulated.
	medium   *medium.Medium
	rcpSim   *sim.EmbeddedRCP
	otBridge *otsim.Bridge // the mesh on OpenThread's simulation radio (sim.ot_node)
	leWorld  *le.World
	bleCtrl  *hcisim.EmbeddedController
	bleNodes []*sim.BLENode

	driver   *rcp.Driver
	eui      [8]byte             // the RCP's EUI-64 when New opened it
	radioUp  chan radio.Identity // the RCP's identity after each recovery
	contexts *lowpan.ContextTable
	nd       *nd.Router
	link     *link.Lowpan
	tun      hostif.TUN
	applied  *hostif.Applied
	fwd      *router.Forwarder
	up       *upstream.Advertiser
	bleHost  *ble.Host
	metrics  *metrics.Metrics
	metSrv   *httpServer
	web      *web.Server // the live page; nil with web.enabled off
	webSrv   *httpServer // the page's own listener (web.listen)
	api      *httpServer
	events   *eventLog // recent log records, for the web page
	cap      *capture  // capture.file, capture.zep_mirror; nil: neither
	global   netip.Addr

	fwdStarted atomic.Bool
	fwdDone    chan struct{} // closed when the forwarder's Run returns

	cancel context.CancelFunc // of the context New's components run under
	wg     sync.WaitGroup
	errs   chan error // a component that stopped on its own
	undo   []func()   // in reverse order of bring-up
}

// Option changes how New builds a border router.
type Option func(*options)

type options struct {
	log     *slog.Logger
	level   *slog.LevelVar
	version string
}

// WithLogger gives the border router its logger. level, if not nil, is the
// logger's level, which Reload then sets from log.level; without it a new
// log.level needs a restart. Without WithLogger the border router logs to
// standard error as cfg.Log says (NewLogger).
func WithLogger(log *slog.Logger, level *slog.LevelVar) Option {
	return func(o *options) { o.log, o.level = log, level }
}

// WithVersion is the version reported by the status API and the
// lowpanbr_build_info metric ("dev" without it).
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// New validates cfg and brings the border router up: the simulated world
// when there is no radio URL, the radio, the 6LBR, the 6LoWPAN link, the
// TUN with its addresses and routes, the forwarder, BLE, the metrics
// server and the status API. Nothing is forwarded until Run. On error
// everything brought up so far is taken down again; a bad configuration
// gives a *ConfigError.
//
// The TUN, its addresses and routes are made in the network namespace of
// the thread that calls New.
func New(cfg Config, opts ...Option) (*BorderRouter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.resolved()
	o := options{version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log, o.level = NewLogger(os.Stderr, cfg.Log)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &BorderRouter{cfg: cfg, level: o.level, version: o.version, started: time.Now(),
		closing: make(chan struct{}), stopped: make(chan struct{}), cancel: cancel, errs: make(chan error, 8)}
	b.events = newEventLog()
	b.log = slog.New(b.events.wrap(o.log.Handler()))
	if err := b.bringUp(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// goRun starts a component's goroutine; an error it returns ends Run.
func (b *BorderRouter) goRun(name string, f func() error) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := f(); err != nil {
			select {
			case b.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
}

// bringUp is New's work; ctx lives until Close.
func (b *BorderRouter) bringUp(ctx context.Context) error {
	cfg, log := &b.cfg, b.log
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	linkState := filepath.Join(cfg.StateDir, "link.json")
	if rep, err := hostif.CleanupStale(cfg.TUN.Name, linkState); err != nil {
		log.Warn("cleaning up after an earlier run", "err", err)
	} else if rep.StateFound {
		log.Info("cleaned up after an earlier run that did not stop cleanly", "pid", rep.PID, "link", rep.Link)
	}

	// The simulated world outlives the border router's context: the radio
	// driver must close before the RCP it talks to disappears, or the
	// shutdown looks like a failing dongle.
	simCtx, simCancel := context.WithCancel(context.Background())
	b.undo = append(b.undo, simCancel)
	url := cfg.Radio.URL
	if cfg.Simulated() || cfg.Sim.OTNode > 0 {
		b.medium = startMedium(simCtx, medium.Config{Seed: cfg.Sim.Seed, TimeScale: cfg.Sim.TimeScale, Logger: log.With("component", "medium")}, b.goRun)
		b.undo = append(b.undo, func() { b.medium.Close() })
		if err := b.startZEP(simCtx); err != nil {
			return err
		}
	}
	if cfg.Simulated() {
		var err error
		if b.rcpSim, err = startSimulatedRCP(simCtx, b.medium, cfg.Sim.EUI64, log); err != nil {
			return err
		}
		b.undo = append(b.undo, func() { b.rcpSim.Close() })
		url = b.rcpSim.URL()
		log.Info("no radio configured: running on the built-in simulated RCP", "pty", b.rcpSim.Path)
	} else if cfg.Sim.OTNode > 0 {
		// The radio is OpenThread's simulation ot-rcp: our simulated nodes
		// join its UDP medium through a bridge node on a medium of ours.
		// AnyRCP: the ot-rcp may be restarted under the border router with
		// another node id, and is still the one on this medium.
		var err error
		if b.otBridge, err = otsim.Start(simCtx, otsim.Config{NodeID: cfg.Sim.OTNode, Medium: b.medium, Channel: cfg.Radio.Channel, PANID: cfg.Radio.PANID,
			AnyRCP: true, Logger: log.With("component", "otsim")}); err != nil {
			return fmt.Errorf("sim.ot_node: %w", err)
		}
		b.undo = append(b.undo, func() { b.otBridge.Close() })
		log.Info("simulated mesh bridged to OpenThread's simulation radio", "ot_node", cfg.Sim.OTNode)
	}

	// The RCP may come back from a fault as another one (another dongle,
	// another simulation node): followRadio makes everything derived from
	// its EUI-64 follow. Only the latest identity matters.
	b.radioUp = make(chan radio.Identity, 1)
	onRecovered := func(id radio.Identity) {
		// Never blocks: an older identity still queued is replaced.
		for {
			select {
			case b.radioUp <- id:
				return
			default:
			}
			select {
			case <-b.radioUp:
			default:
			}
		}
	}
	var err error
	b.driver, err = openRCP(ctx, url, radio.Settings{Channel: cfg.Radio.Channel, PANID: cfg.Radio.PANID, ShortAddr: 0xfffe, TxPowerDBm: cfg.Radio.TxPowerDBm},
		onRecovered, log)
	if err != nil {
		return err
	}
	b.undo = append(b.undo, func() { b.driver.Close() })
	// Undone before the radio closes: the forwarder finishes the
	// transmissions under way once the TUN (closed just before) gives no
	// more packets.
	b.fwdDone = make(chan struct{})
	b.undo = append(b.undo, func() {
		if b.fwdStarted.Load() {
			<-b.fwdDone
		}
	})
	id := b.driver.Identity()
	b.eui = id.EUI64
	log.Info("radio ready", "firmware", id.Firmware, "eui64", colonHex(id.EUI64[:]), "channel", cfg.Radio.Channel, "pan", fmt.Sprintf("0x%04x", cfg.Radio.PANID))

	b.contexts = &lowpan.ContextTable{}
	b.global = routerAddr(cfg.Mesh.Prefix)
	ll := linkLocalOf(id.EUI64)
	changeDelay := cfg.Mesh.ContextChangeDelay
	if cfg.Simulated() && changeDelay == 0 {
		// RFC 6775 §7.2 has a new context advertised for a while with C=0
		// (decompression only) so that every node learns it before anyone
		// compresses with it. The simulated nodes all start with the
		// border router and learn it from their first RA: wait for nobody.
		changeDelay = -1
	}
	m := &cfg.Mesh
	b.nd, err = nd.New(nd.Config{Prefix: m.Prefix, Contexts: m.Contexts, ContextChangeDelay: changeDelay,
		PrefixValidLifetime: m.PrefixValidLifetime, PrefixPreferredLifetime: m.PrefixPreferredLifetime,
		ContextLifetime: m.ContextLifetime, RouterLifetime: m.RouterLifetime, ABROLifetime: m.ABROLifetime,
		LinkLocal: ll, Global: b.global, RegistryCapacity: cfg.Registry.Size,
		MaxPerNeighbor: cfg.Registry.MaxPerNeighbor, MaxPerRouter: cfg.Registry.MaxPerRouter, MaxPerLink: cfg.Registry.MaxPerLink,
		MaxLifetime: cfg.Registry.MaxLifetime, OmitSolicitedSLLAO: cfg.ND.OmitSolicitedSLLAO, SaveDelay: cfg.Registry.SaveDelay, APND: cfg.ND.apndConfig(),
		StatePath: filepath.Join(cfg.StateDir, "nd.json"), Logger: log.With("component", "nd")}, time.Now())
	if err != nil {
		return err
	}
	if err := b.nd.LoadError(); err != nil {
		log.Warn("ND state not restored; starting fresh", "err", err)
	}
	if cfg.ND.APND {
		log.Info("address-protected ND (RFC 8928) on", "require_crypto_id", cfg.ND.APNDRequire, "trust_relays", cfg.ND.APNDTrustRelays)
	} else if cfg.Simulated() && copiesROVR(cfg.Sim.Intruders) {
		log.Warn("sim.intruders copy a node's ROVR while nd.apnd is off: nothing tells the owner from the intruder, which will take the address (RFC 8928 is what refuses it)")
	}
	if err := b.nd.ApplyContexts(b.contexts); err != nil {
		return err
	}
	lorh := false
	if ref, ok := cfg.RPL.lowpanRPL(b.global); ok {
		// RFC 8138: 6LoRHs are compressed against the root's address.
		if err := b.contexts.SetRPL(ref); err != nil {
			return err
		}
		lorh = cfg.RPL.LoRH
	}
	b.link, err = link.NewLowpan(link.LowpanConfig{Name: "wpan0", Radio: b.driver, PANID: cfg.Radio.PANID, ExtAddr: id.EUI64,
		Contexts: b.contexts, Reassembly: cfg.Reassembly, MaxNeighbors: cfg.Metrics.MaxNeighbors, LoRH: lorh, Logger: log.With("component", "lowpan")})
	if err != nil {
		return err
	}

	if b.tun, err = hostif.OpenTUN(cfg.TUN.Name, cfg.TUN.MTU); err != nil {
		return err
	}
	b.undo = append(b.undo, func() { b.tun.Close() })
	b.applied, err = hostif.Configure(b.tun.Name(), hostif.Config{MTU: cfg.TUN.MTU, Up: true, Forwarding: cfg.TUN.Forwarding,
		Addrs: []netip.Prefix{netip.PrefixFrom(b.global, 128)}, LinkLocal: ll,
		Routes: []netip.Prefix{m.Prefix}, StateFile: linkState})
	if err != nil {
		return err
	}
	b.undo = append(b.undo, func() {
		if err := b.applied.Undo(); err != nil {
			log.Warn("removing what was added to the TUN", "err", err)
		}
	})
	b.metrics = metrics.New(b.version)
	b.fwd, err = router.NewForwarder(router.ForwarderConfig{TUN: b.tun, Links: []link.Runnable{b.link}, ND: b.nd,
		Source: b.global, Contexts: b.contexts, TxLatency: b.metrics.TxLatency, Control: cfg.ND.controlConfig(),
		AllowUnregisteredSources: cfg.Forward.AllowUnregisteredSources, RPL: cfg.rplConfig(), Logger: log.With("component", "forwarder")})
	if err != nil {
		return err
	}
	if err := b.metrics.Register(metrics.Sources{Links: []metrics.Link{b.link}, RCP: b.driver, Forwarder: b.fwd, ND: b.nd}); err != nil {
		return err
	}
	if cfg.Upstream.Interface != "" {
		c := cfg.upstreamConfig()
		c.Logger = log.With("component", "upstream-ra")
		if b.up, err = upstream.New(c); err != nil {
			return err
		}
	}
	if cfg.BLE.URL != "" || (cfg.Simulated() && cfg.Sim.BLENodes > 0) {
		if err := b.startBLE(ctx, simCtx); err != nil {
			return err
		}
	}
	if err := b.startCapture(ctx); err != nil {
		return err
	}
	if err := b.newPage(); err != nil {
		return err
	}
	if cfg.Metrics.Listen != "" {
		if b.metSrv, err = b.startMetrics(cfg.Metrics.Listen); err != nil {
			return err
		}
		b.undo = append(b.undo, func() { b.metSrv.Close() })
		log.Info("metrics", "url", "http://"+b.metSrv.Addr()+"/metrics")
	}
	if err := b.startWeb(ctx); err != nil {
		return err
	}
	if cfg.API.Socket != "" {
		if b.api, err = b.startAPI(cfg.API.Socket); err != nil {
			return err
		}
		b.undo = append(b.undo, func() { b.api.Close() })
	}
	return nil
}

// startZEP serves the medium as a ZEP hub when sim.zep asks for one.
func (b *BorderRouter) startZEP(simCtx context.Context) error {
	if b.cfg.Sim.ZEP == "" {
		return nil
	}
	a, err := net.ResolveUDPAddr("udp", b.cfg.Sim.ZEP)
	if err != nil {
		return fmt.Errorf("sim.zep: %w", err)
	}
	conn, err := net.ListenUDP("udp", a)
	if err != nil {
		return fmt.Errorf("sim.zep: %w", err)
	}
	b.undo = append(b.undo, func() { conn.Close() })
	b.goRun("ZEP hub", func() error {
		if err := b.medium.ServeZEP(simCtx, conn); err != nil && simCtx.Err() == nil {
			return err
		}
		return nil
	})
	b.log.Info("simulated medium open to ZEP nodes", "zep", conn.LocalAddr().String())
	return nil
}

// Run forwards packets between the TUN and the links, and runs the
// simulated mesh, upstream RAs and BLE, until ctx ends, a component fails
// or Close is called. Then it takes the border router down, as Close does,
// and returns: nil when ctx ended or Close was called, the failure
// otherwise. Run may be called once.
func (b *BorderRouter) Run(ctx context.Context) error {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return ErrClosed
	case b.running:
		b.mu.Unlock()
		return ErrRunning
	}
	b.running = true
	ctx, cancel := context.WithCancel(ctx)
	b.runCancel = cancel
	err := b.start(ctx)
	b.mu.Unlock()
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-b.errs:
		case <-b.closing:
		}
	}
	if err != nil {
		b.log.Error("shutting down", "err", err)
	} else {
		b.log.Info("shutting down")
	}
	b.stop()
	return err
}

// start starts Run's components; b.mu is held.
func (b *BorderRouter) start(ctx context.Context) error {
	// The forwarder's TUN reader returns once the TUN is closed (an undo
	// step).
	b.fwdStarted.Store(true)
	b.goRun("forwarder", func() error {
		defer close(b.fwdDone)
		return b.fwd.Run(ctx)
	})
	b.goRun("radio identity", func() error { b.followRadio(ctx, b.eui); return nil })
	// Registry changes reach the disk within registry.save_delay, not at
	// the forwarder's next ND tick.
	b.goRun("nd state", func() error { b.nd.RunSaver(ctx); return nil })
	if b.up != nil {
		b.goRun("upstream RA", func() error { return b.up.Run(ctx) })
	}
	if b.bleHost != nil {
		b.goRun("ble", func() error {
			router.ServeBLE(ctx, b.fwd, b.bleHost.Channels(), b.contexts, b.bleTap(), b.log.With("component", "ble-link"))
			return nil
		})
	}
	if b.rcpSim != nil || b.otBridge != nil {
		m := b.cfg.meshConfig()
		m.Logger = b.log.With("component", "sim")
		var brNode *medium.Node
		if b.rcpSim != nil {
			brNode = b.rcpSim.Node
		} else {
			brNode = b.otBridge.Node()
		}
		mesh, err := sim.StartMesh(ctx, b.medium, brNode, m)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		b.mesh = mesh
	}
	return nil
}

// Close takes the border router down, in reverse order of New: Run's
// components stop, the TUN's addresses and routes go, the forwarder
// finishes the transmissions under way, the radio closes before the
// simulated RCP; the registry is saved. It waits for every goroutine and
// may be called more than once, and while Run runs (Run then returns nil).
func (b *BorderRouter) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.closing)
	}
	running := b.running
	b.mu.Unlock()
	if running {
		<-b.stopped // Run stops everything
		return nil
	}
	b.stop()
	return nil
}

// stop takes everything down once and waits for the goroutines.
func (b *BorderRouter) stop() {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		if b.runCancel != nil {
			b.runCancel()
		}
		mesh := b.mesh
		b.mu.Unlock()
		b.cancel()
		for i := len(b.undo) - 1; i >= 0; i-- {
			b.undo[i]()
		}
		b.wg.Wait()
		if mesh != nil {
			mesh.Wait()
		}
		b.log.Info("stopped", "uptime", time.Since(b.started).Round(time.Second))
		close(b.stopped)
	})
	<-b.stopped
}

// followRadio keeps everything derived from the RCP's EUI-64 in step with
// it after each recovery: the link's source address, the 6LBR's link-local
// address (source of RAs and NAs, SLLAO) and the TUN's. Each recovery also
// sends an RA to all nodes at once, so that nodes learn a new address (and
// hear the 6LBR again) without waiting for their next RS.
func (b *BorderRouter) followRadio(ctx context.Context, eui [8]byte) {
	for {
		var id radio.Identity
		select {
		case <-ctx.Done():
			return
		case id = <-b.radioUp:
		}
		if id.EUI64 != eui {
			old, ll := linkLocalOf(eui), linkLocalOf(id.EUI64)
			b.log.Warn("the RCP came back with another EUI-64; following it", "old", colonHex(eui[:]), "new", colonHex(id.EUI64[:]), "link_local", ll)
			b.link.SetExtAddr(id.EUI64)
			if err := b.nd.SetLinkLocal(ll); err != nil {
				b.log.Warn("6LBR link-local address", "err", err)
			}
			if err := b.applied.ReplaceAddr(netip.PrefixFrom(old, 64), netip.PrefixFrom(ll, 64)); err != nil {
				b.log.Warn("TUN link-local address", "err", err)
			}
			eui = id.EUI64
		}
		// MAX_INITIAL_RTR_ADVERTISEMENTS RAs (RFC 4861 §6.2.4), a second or
		// two apart: an RA to all nodes is not acknowledged and may be
		// lost. A newer recovery starts the series again.
	series:
		for i := range nd.MaxInitialRAs {
			if i > 0 {
				select {
				case <-ctx.Done():
					return
				case id2 := <-b.radioUp:
					// Put it back for the outer loop to handle, unless a
					// newer one took its place already.
					select {
					case b.radioUp <- id2:
					default:
					}
					break series
				case <-time.After(time.Duration(i) * time.Second):
				}
			}
			if err := b.fwd.AdvertiseNow(0); err != nil {
				b.log.Debug("RA after the RCP's recovery", "err", err)
			}
		}
	}
}

// Ready says why the border router cannot carry traffic, if it cannot:
// the radio is down, or the TUN is not up. nil means ready.
func (b *BorderRouter) Ready() error {
	if !b.driver.Ready() {
		return errors.New("the radio is not initialised (RCP down or reconnecting)")
	}
	ifc, err := net.InterfaceByName(b.tun.Name())
	if err != nil {
		return fmt.Errorf("TUN %s: %w", b.tun.Name(), err)
	}
	if ifc.Flags&net.FlagUp == 0 {
		return fmt.Errorf("TUN %s is down", b.tun.Name())
	}
	return nil
}

// copiesROVR says whether an intruder of l copies its victim's ROVR (a
// sim.IntruderVariant other than the default).
func copiesROVR(l []string) bool {
	for _, s := range l {
		if _, v, ok := strings.Cut(s, ":"); ok && v != "" {
			return true
		}
	}
	return false
}

// routerAddr is the border router's own address in the mesh prefix: ::1.
func routerAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As16()
	a[15] = 1
	return netip.AddrFrom16(a)
}

// linkLocalOf is the link-local address with the IID of an EUI-64 (RFC
// 4944 §6, the U/L bit inverted).
func linkLocalOf(eui [8]byte) netip.Addr {
	ll, _ := lowpan.ExtendedLinkAddr(eui).LinkLocal()
	return ll
}

func colonHex(b []byte) string {
	s := make([]byte, 0, 3*len(b))
	for i, x := range b {
		if i > 0 {
			s = append(s, ':')
		}
		s = fmt.Appendf(s, "%02x", x)
	}
	return string(s)
}
