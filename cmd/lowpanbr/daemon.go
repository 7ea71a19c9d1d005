package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/hostif"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/metrics"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/hcisim"
	"github.com/lowpanbr/lowpanbr/sim/le"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/otsim"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
	"github.com/lowpanbr/lowpanbr/upstream"
)

// routerAddr is the border router's own address in the mesh prefix: ::1.
func routerAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As16()
	a[15] = 1
	return netip.AddrFrom16(a)
}

// daemon is a running border router: radio, 6LoWPAN link, 6LBR, TUN,
// forwarder, and in simulation the medium, the RCP behind its PTY and the
// nodes. start builds it; stop takes it down in reverse order.
type daemon struct {
	cfg daemonConfig
	log *slog.Logger

	started    time.Time
	medium     *medium.Medium
	rcpSim     *sim.EmbeddedRCP
	otBridge   *otsim.Bridge // the mesh on OpenThread's simulation radio (sim.ot_node)
	mesh       *sim.Mesh
	driver     *rcp.Driver
	link       *link.Lowpan
	nd         *nd.Router
	tun        hostif.TUN
	applied    *hostif.Applied
	fwd        *router.Forwarder
	fwdDone    chan struct{} // closed when the forwarder's Run returns
	fwdStarted bool
	up         *upstream.Advertiser
	api        *apiServer
	metrics    *metrics.Metrics
	metSrv     *metricsServer
	global     netip.Addr
	radioUp    chan radio.Identity // the RCP's identity after each recovery
	// contexts is the links' compression context table.
	contexts *lowpan.ContextTable
	simCtx   context.Context // the simulated world's: it outlives the daemon's

	leWorld  *le.World
	bleCtrl  *hcisim.EmbeddedController
	bleHost  *ble.Host
	bleNodes []*sim.BLENode

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error // a component that stopped on its own
	undo   []func()   // in reverse order of start
}

func (d *daemon) simulated() bool { return d.cfg.RadioURL == "" }

// goRun starts a component's goroutine; an error it returns ends the
// daemon.
func (d *daemon) goRun(name string, f func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := f(); err != nil {
			select {
			case d.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
}

// startDaemon brings the border router up. On error everything started so
// far is taken down again.
func startDaemon(parent context.Context, cfg daemonConfig, log *slog.Logger) (d *daemon, err error) {
	ctx, cancel := context.WithCancel(parent)
	d = &daemon{cfg: cfg, log: log, cancel: cancel, errs: make(chan error, 8), started: time.Now()}
	defer func() {
		if err != nil {
			d.stop()
			d = nil
		}
	}()
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return d, fmt.Errorf("state directory: %w", err)
	}
	linkState := filepath.Join(cfg.StateDir, "link.json")
	if rep, err := hostif.CleanupStale(cfg.TUNName, linkState); err != nil {
		log.Warn("cleaning up after an earlier run", "err", err)
	} else if rep.StateFound {
		log.Info("cleaned up after an earlier run that did not stop cleanly", "pid", rep.PID, "link", rep.Link)
	}

	url := cfg.RadioURL
	if d.simulated() || cfg.SimOTNode > 0 {
		if err := d.startMedium(parent); err != nil {
			return d, err
		}
	}
	if d.simulated() {
		if d.rcpSim, err = sim.StartRCP(d.simCtx, d.medium, "br", rcpsim.Config{EUI64: cfg.SimEUI64}, log.With("component", "rcpsim")); err != nil {
			return d, err
		}
		d.undo = append(d.undo, func() { d.rcpSim.Close() })
		url = d.rcpSim.URL()
		log.Info("no radio configured: running on the built-in simulated RCP", "pty", d.rcpSim.Path)
	} else if cfg.SimOTNode > 0 {
		// The radio is OpenThread's simulation ot-rcp: our simulated nodes
		// join its UDP medium through a bridge node on a medium of ours.
		// AnyRCP: the ot-rcp may be restarted under the daemon with
		// another node id, and is still the one on this medium.
		if d.otBridge, err = otsim.Start(d.simCtx, otsim.Config{NodeID: cfg.SimOTNode, Medium: d.medium, Channel: cfg.Channel, PANID: cfg.PANID,
			AnyRCP: true, Logger: log.With("component", "otsim")}); err != nil {
			return d, fmt.Errorf("sim.ot_node: %w", err)
		}
		d.undo = append(d.undo, func() { d.otBridge.Close() })
		log.Info("simulated mesh bridged to OpenThread's simulation radio", "ot_node", cfg.SimOTNode)
	}
	u, err := transport.ParseURL(url)
	if err != nil {
		return d, fmt.Errorf("radio: %w", err)
	}
	// The RCP may come back from a fault as another one (another dongle,
	// another simulation node): followRadio makes everything derived from
	// its EUI-64 follow. Only the latest identity matters.
	d.radioUp = make(chan radio.Identity, 1)
	onRecovered := func(id radio.Identity) {
		// Never blocks: an older identity still queued is replaced.
		for {
			select {
			case d.radioUp <- id:
				return
			default:
			}
			select {
			case <-d.radioUp:
			default:
			}
		}
	}
	d.driver, err = rcp.Open(ctx, rcp.Config{Open: rcp.URLOpener(u, log), Name: u.String(), Logger: log.With("component", "rcp"),
		Settings:    radio.Settings{Channel: cfg.Channel, PANID: cfg.PANID, ShortAddr: 0xfffe, TxPowerDBm: cfg.TxPowerDBm},
		OnRecovered: onRecovered})
	if err != nil {
		return d, fmt.Errorf("radio %s: %w", u, err)
	}
	d.undo = append(d.undo, func() { d.driver.Close() })
	// Undone before the radio closes: the forwarder finishes the
	// transmissions under way once the TUN (closed just before) gives no
	// more packets.
	d.fwdDone = make(chan struct{})
	d.undo = append(d.undo, func() {
		if d.fwdStarted {
			<-d.fwdDone
		}
	})
	id := d.driver.Identity()
	log.Info("radio ready", "firmware", id.Firmware, "eui64", colonHex(id.EUI64[:]), "channel", cfg.Channel, "pan", fmt.Sprintf("0x%04x", cfg.PANID))

	ctxs := &lowpan.ContextTable{}
	d.contexts = ctxs
	d.global = routerAddr(cfg.Prefix)
	ll := linkLocalOf(id.EUI64)
	changeDelay := cfg.ContextChangeDelay
	if d.simulated() && changeDelay == 0 {
		// RFC 6775 §7.2 has a new context advertised for a while with C=0
		// (decompression only) so that every node learns it before anyone
		// compresses with it. The simulated nodes all start with the
		// border router and learn it from their first RA: wait for nobody.
		changeDelay = -1
	}
	d.nd, err = nd.New(nd.Config{Prefix: cfg.Prefix, Contexts: cfg.Contexts, ContextChangeDelay: changeDelay,
		PrefixValidLifetime: cfg.PrefixValidLifetime, PrefixPreferredLifetime: cfg.PrefixPreferredLifetime,
		ContextLifetime: cfg.ContextLifetime, RouterLifetime: cfg.RouterLifetime, ABROLifetime: cfg.ABROLifetime,
		LinkLocal: ll, Global: d.global, RegistryCapacity: cfg.RegistryCapacity,
		StatePath: filepath.Join(cfg.StateDir, "nd.json"), Logger: log.With("component", "nd")}, time.Now())
	if err != nil {
		return d, err
	}
	if err := d.nd.LoadError(); err != nil {
		log.Warn("ND state not restored; starting fresh", "err", err)
	}
	if err := d.nd.ApplyContexts(ctxs); err != nil {
		return d, err
	}
	d.link, err = link.NewLowpan(link.LowpanConfig{Name: "wpan0", Radio: d.driver, PANID: cfg.PANID, ExtAddr: id.EUI64,
		Contexts: ctxs, Reassembly: cfg.Reassembly, MaxNeighbors: cfg.MaxNeighbors, Logger: log.With("component", "lowpan")})
	if err != nil {
		return d, err
	}

	if d.tun, err = hostif.OpenTUN(cfg.TUNName, cfg.TUNMTU); err != nil {
		return d, err
	}
	d.undo = append(d.undo, func() { d.tun.Close() })
	d.applied, err = hostif.Configure(d.tun.Name(), hostif.Config{MTU: cfg.TUNMTU, Up: true, Forwarding: cfg.Forwarding,
		Addrs: []netip.Prefix{netip.PrefixFrom(d.global, 128)}, LinkLocal: ll,
		Routes: []netip.Prefix{cfg.Prefix}, StateFile: linkState})
	if err != nil {
		return d, err
	}
	d.undo = append(d.undo, func() {
		if err := d.applied.Undo(); err != nil {
			log.Warn("removing what was added to the TUN", "err", err)
		}
	})
	d.metrics = metrics.New(version)
	d.fwd, err = router.NewForwarder(router.ForwarderConfig{TUN: d.tun, Links: []link.Runnable{d.link}, ND: d.nd,
		Source: d.global, Contexts: ctxs, TxLatency: d.metrics.TxLatency, Logger: log.With("component", "forwarder")})
	if err != nil {
		return d, err
	}
	if err := d.metrics.Register(metrics.Sources{Links: []metrics.Link{d.link}, RCP: d.driver, Forwarder: d.fwd, ND: d.nd}); err != nil {
		return d, err
	}
	// The forwarder's TUN reader returns once the TUN is closed (an undo
	// step above).
	d.fwdStarted = true
	d.goRun("forwarder", func() error {
		defer close(d.fwdDone)
		return d.fwd.Run(ctx)
	})
	d.goRun("radio identity", func() error { d.followRadio(ctx, id.EUI64); return nil })

	if cfg.Upstream != nil {
		c := *cfg.Upstream
		c.Routes = []netip.Prefix{cfg.Prefix}
		c.Logger = log.With("component", "upstream-ra")
		if d.up, err = upstream.New(c); err != nil {
			return d, err
		}
		d.goRun("upstream RA", func() error { return d.up.Run(ctx) })
	}
	if d.simulated() || d.otBridge != nil {
		m := cfg.Mesh
		m.Channel, m.PANID = cfg.Channel, cfg.PANID
		m.Logger = log.With("component", "sim")
		brNode := func() *medium.Node {
			if d.otBridge != nil {
				return d.otBridge.Node()
			}
			return d.rcpSim.Node
		}()
		if d.mesh, err = sim.StartMesh(ctx, d.medium, brNode, m); err != nil {
			return d, err
		}
	}
	if cfg.BLE.URL != "" || (d.simulated() && cfg.SimBLENodes > 0) {
		if err := d.startBLE(ctx, ctxs); err != nil {
			return d, err
		}
	}
	if cfg.MetricsListen != "" {
		if d.metSrv, err = startMetrics(d, cfg.MetricsListen); err != nil {
			return d, err
		}
		d.undo = append(d.undo, func() { d.metSrv.Close() })
		log.Info("metrics", "url", "http://"+d.metSrv.Addr()+"/metrics")
	}
	if cfg.APISocket != "" {
		if d.api, err = startAPI(d, cfg.APISocket); err != nil {
			return d, err
		}
		d.undo = append(d.undo, func() { d.api.Close() })
	}
	return d, nil
}

// startMedium starts the simulated medium and, when configured, its ZEP
// hub. The simulated world outlives the daemon's context: the radio driver
// must close before the RCP it talks to disappears, or the shutdown looks
// like a failing dongle.
func (d *daemon) startMedium(parent context.Context) error {
	simCtx, simCancel := context.WithCancel(context.WithoutCancel(parent))
	d.simCtx = simCtx
	d.undo = append(d.undo, simCancel)
	d.medium = medium.New(medium.Config{Seed: d.cfg.Mesh.Seed, TimeScale: d.cfg.TimeScale, Logger: d.log.With("component", "medium")})
	d.goRun("medium", func() error { return d.medium.Run(simCtx) })
	d.undo = append(d.undo, func() { d.medium.Close() })
	if d.cfg.SimZEP == "" {
		return nil
	}
	conn, err := listenUDP(d.cfg.SimZEP)
	if err != nil {
		return fmt.Errorf("sim.zep: %w", err)
	}
	d.undo = append(d.undo, func() { conn.Close() })
	d.goRun("ZEP hub", func() error {
		if err := d.medium.ServeZEP(simCtx, conn); err != nil && simCtx.Err() == nil {
			return err
		}
		return nil
	})
	d.log.Info("simulated medium open to ZEP nodes", "zep", conn.LocalAddr().String())
	return nil
}

// linkLocalOf is the link-local address with the IID of an EUI-64 (RFC
// 4944 §6, the U/L bit inverted).
func linkLocalOf(eui [8]byte) netip.Addr {
	ll, _ := lowpan.ExtendedLinkAddr(eui).LinkLocal()
	return ll
}

// followRadio keeps everything derived from the RCP's EUI-64 in step with
// it after each recovery: the link's source address, the 6LBR's link-local
// address (source of RAs and NAs, SLLAO) and the TUN's. Each recovery also
// sends an RA to all nodes at once, so that nodes learn a new address (and
// hear the 6LBR again) without waiting for their next RS.
func (d *daemon) followRadio(ctx context.Context, eui [8]byte) {
	for {
		var id radio.Identity
		select {
		case <-ctx.Done():
			return
		case id = <-d.radioUp:
		}
		if id.EUI64 != eui {
			old, ll := linkLocalOf(eui), linkLocalOf(id.EUI64)
			d.log.Warn("the RCP came back with another EUI-64; following it", "old", colonHex(eui[:]), "new", colonHex(id.EUI64[:]), "link_local", ll)
			d.link.SetExtAddr(id.EUI64)
			if err := d.nd.SetLinkLocal(ll); err != nil {
				d.log.Warn("6LBR link-local address", "err", err)
			}
			if err := d.applied.ReplaceAddr(netip.PrefixFrom(old, 64), netip.PrefixFrom(ll, 64)); err != nil {
				d.log.Warn("TUN link-local address", "err", err)
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
				case id2 := <-d.radioUp:
					// Put it back for the outer loop to handle, unless a
					// newer one took its place already.
					select {
					case d.radioUp <- id2:
					default:
					}
					break series
				case <-time.After(time.Duration(i) * time.Second):
				}
			}
			if err := d.fwd.AdvertiseNow(ctx, 0); err != nil {
				d.log.Debug("RA after the RCP's recovery", "err", err)
			}
		}
	}
}

// waitOrSignal blocks until ctx ends, a component fails (its error) or a
// signal arrives on sig (nil).
func (d *daemon) waitOrSignal(ctx context.Context, sig <-chan os.Signal) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-d.errs:
		return err
	case <-sig:
		return nil
	}
}

// wait blocks until ctx ends or a component fails.
func (d *daemon) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-d.errs:
		return err
	}
}

// stop takes everything down in reverse order and waits for the
// goroutines.
func (d *daemon) stop() {
	d.cancel()
	for i := len(d.undo) - 1; i >= 0; i-- {
		d.undo[i]()
	}
	d.wg.Wait()
	if d.mesh != nil {
		d.mesh.Wait()
	}
	d.log.Info("stopped", "uptime", time.Since(d.started).Round(time.Second))
}
