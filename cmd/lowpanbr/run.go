package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/lowpanbr/lowpanbr/sim"
)

const runUsage = `usage:
  lowpanbr run [flags]

run starts the border router: the radio, the 6LBR, the TUN interface and the
forwarding between them. Without --radio it runs on the built-in simulated
RCP (behind a real PTY) with a simulated mesh around it, and prints how to
reach the nodes. It needs root (or CAP_NET_ADMIN) for the TUN.

Settings come from the configuration file (` + defaultConfigPath + `
unless --config says otherwise; see 'lowpanbr config example'), then from
environment variables LOWPANBR_<SECTION>_<KEY>, then from these flags, each
overriding the one before.

flags:
`

func runRun(args []string, stdout, stderr io.Writer) error {
	src, pos, err := parseRunArgs(args, stderr, os.LookupEnv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	cfg, err := src.Load()
	if err != nil {
		return err
	}
	log, level := newLogger(stderr, cfg)
	file := src.Read
	if file == "" {
		file = "none"
	}
	log.Info("configuration", "file", file)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := startDaemon(ctx, cfg, log)
	if err != nil {
		return err
	}
	printReach(stdout, d)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		err = d.waitOrSignal(ctx, hup)
		if err != nil || ctx.Err() != nil {
			break
		}
		reloadConfig(src, d, level, log)
	}
	log.Info("shutting down")
	d.stop()
	return err
}

// reloadConfig re-reads the configuration on SIGHUP and says what took
// effect and what needs a restart.
func reloadConfig(src *configSource, d *daemon, level *slog.LevelVar, log *slog.Logger) {
	cfg, err := src.Load()
	if err != nil {
		log.Error("SIGHUP: configuration not reloaded, keeping the running one", "err", err)
		return
	}
	applied, restart, err := d.reload(cfg, level)
	if err != nil {
		log.Error("SIGHUP: reload failed", "applied", applied, "err", err)
		return
	}
	switch {
	case len(applied) == 0 && len(restart) == 0:
		log.Info("SIGHUP: configuration reloaded, nothing changed")
	case len(restart) == 0:
		log.Info("SIGHUP: configuration reloaded", "applied", applied)
	default:
		log.Warn("SIGHUP: configuration reloaded; some changes need a restart and are not in effect", "applied", applied, "need_restart", restart)
	}
}

// printReach tells the operator how to reach the mesh.
func printReach(w io.Writer, d *daemon) {
	fmt.Fprintf(w, "lowpanbr: border router %v on %s, mesh prefix %v, channel %d, PAN 0x%04x\n",
		d.global, d.tun.Name(), d.cfg.Prefix, d.cfg.Channel, d.cfg.PANID)
	if d.mesh == nil {
		fmt.Fprintln(w, "Nodes appear as they register; list them with the status API.")
		return
	}
	fmt.Fprintf(w, "Simulated mesh: %d nodes (%s). Their addresses, once registered:\n", d.cfg.Mesh.Nodes, d.cfg.Mesh.Topology)
	for i := range d.cfg.Mesh.Nodes {
		fmt.Fprintf(w, "  %-4s %v\n", sim.NodeName(i), sim.Addr(d.cfg.Prefix, i))
	}
	if len(d.bleNodes) > 0 {
		fmt.Fprintf(w, "Simulated BLE (IPSP) nodes: %d, on a simulated controller:\n", len(d.bleNodes))
		for i, b := range d.bleNodes {
			fmt.Fprintf(w, "  %-4s %v  (%v)\n", b.Name(), simBLENodeGlobal(d.cfg.Prefix, i), b.Addr())
		}
	}
	if d.cfg.Mesh.Nodes > 0 {
		fmt.Fprintf(w, "Try: ping -6 -c 3 %v\n", sim.Addr(d.cfg.Prefix, 0))
	}
}

// parseLinkOverride reads A-B=LOSS or A-B=off.
func parseLinkOverride(spec string) (sim.LinkOverride, error) {
	pair, v, ok := strings.Cut(spec, "=")
	a, b, ok2 := strings.Cut(pair, "-")
	if !ok || !ok2 || a == "" || b == "" {
		return sim.LinkOverride{}, fmt.Errorf("%q: want A-B=LOSS or A-B=off, e.g. br-n1=0.2", spec)
	}
	o := sim.LinkOverride{A: a, B: b}
	if v == "off" {
		o.Disconnected = true
		return o, nil
	}
	loss, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return o, fmt.Errorf("%q: loss %q is not a number from 0 to 1 (or off)", spec, v)
	}
	o.Loss = loss
	return o, nil
}
