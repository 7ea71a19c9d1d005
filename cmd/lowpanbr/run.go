package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

const runUsage = `usage:
  lowpanbr run [flags]

run starts the border router: the radio, the 6LBR, the TUN interface and the
forwarding between them. Without --radio it runs on the built-in simulated
RCP (behind a real PTY) with a simulated mesh around it, and prints how to
reach the nodes. It needs root (or CAP_NET_ADMIN) for the TUN.

Settings come from the configuration file (` + borderrouter.DefaultConfigPath + `
unless --config says otherwise; see 'lowpanbr config example'), then from
environment variables LOWPANBR_<SECTION>_<KEY>, then from these flags, each
overriding the one before.

flags:
`

func runRun(args []string, stdout, stderr io.Writer) error {
	src, pos, err := parseRunArgs(args, stderr, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	log, level := borderrouter.NewLogger(stderr, cfg.Log)
	file := src.loader.Read()
	if file == "" {
		file = "none"
	}
	log.Info("configuration", "file", file)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	br, err := borderrouter.New(cfg, borderrouter.WithLogger(log, level), borderrouter.WithVersion(daemonVersion()))
	if err != nil {
		return err
	}
	printReach(stdout, br.Reach())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	for {
		select {
		case <-hup:
			reloadConfig(src, br, log)
			continue
		case err := <-done:
			return err
		}
	}
}

// reloadConfig re-reads the configuration on SIGHUP and says what took
// effect and what needs a restart.
func reloadConfig(src *configFlags, br *borderrouter.BorderRouter, log *slog.Logger) {
	cfg, err := src.load()
	if err != nil {
		log.Error("SIGHUP: configuration not reloaded, keeping the running one", "err", err)
		return
	}
	rep, err := br.Reload(cfg)
	if err != nil {
		log.Error("SIGHUP: reload failed", "applied", rep.Applied, "err", err)
		return
	}
	switch {
	case len(rep.Applied) == 0 && len(rep.NeedRestart) == 0:
		log.Info("SIGHUP: configuration reloaded, nothing changed")
	case len(rep.NeedRestart) == 0:
		log.Info("SIGHUP: configuration reloaded", "applied", rep.Applied)
	default:
		log.Warn("SIGHUP: configuration reloaded; some changes need a restart and are not in effect", "applied", rep.Applied, "need_restart", rep.NeedRestart)
	}
}

// printReach tells the operator how to reach the mesh.
func printReach(w io.Writer, r borderrouter.Reach) {
	fmt.Fprintf(w, "lowpanbr: border router %v on %s, mesh prefix %v, channel %d, PAN 0x%04x\n",
		r.Address, r.TUN, r.Prefix, r.Channel, r.PANID)
	if !r.Simulated {
		fmt.Fprintln(w, "Nodes appear as they register; list them with the status API.")
		return
	}
	fmt.Fprintf(w, "Simulated mesh: %d nodes (%s). Their addresses, once registered:\n", len(r.Nodes), r.Topology)
	for _, n := range r.Nodes {
		fmt.Fprintf(w, "  %-4s %v\n", n.Name, n.Address)
	}
	if len(r.BLENodes) > 0 {
		fmt.Fprintf(w, "Simulated BLE (IPSP) nodes: %d, on a simulated controller:\n", len(r.BLENodes))
		for _, b := range r.BLENodes {
			fmt.Fprintf(w, "  %-4s %v  (%s)\n", b.Name, b.Address, b.Device)
		}
	}
	if len(r.Nodes) > 0 {
		fmt.Fprintf(w, "Try: ping -6 -c 3 %v\n", r.Nodes[0].Address)
	}
}
