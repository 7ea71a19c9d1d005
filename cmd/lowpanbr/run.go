package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim"
)

const runUsage = `usage:
  lowpanbr run [flags]

run starts the border router: the radio, the 6LBR, the TUN interface and the
forwarding between them. Without --radio it runs on the built-in simulated
RCP (behind a real PTY) with a simulated mesh around it, and prints how to
reach the nodes. It needs root (or CAP_NET_ADMIN) for the TUN.

flags:
`

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runRun(args []string, stdout, stderr io.Writer) error {
	cfg := defaultDaemonConfig()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.RadioURL, "radio", "", "radio URL, e.g. spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800; empty: the built-in simulator")
	channel := fs.Uint("channel", uint(cfg.Channel), "802.15.4 channel (11-26)")
	pan := fs.String("pan-id", fmt.Sprintf("0x%04x", cfg.PANID), "PAN ID (0x0000-0xfffe)")
	txPower := fs.Int("tx-power", 0, "transmit power in dBm (-128..127)")
	prefix := fs.String("prefix", cfg.Prefix.String(), "mesh prefix (a /64)")
	var contexts multiFlag
	fs.Var(&contexts, "context", "6LoWPAN compression context ID=PREFIX (repeatable); default: context 0 = the mesh prefix")
	fs.StringVar(&cfg.TUNName, "tun", cfg.TUNName, "TUN interface name")
	fs.IntVar(&cfg.TUNMTU, "mtu", cfg.TUNMTU, "TUN MTU (1280..65535)")
	fs.BoolVar(&cfg.Forwarding, "forwarding", false, "turn on IPv6 forwarding (needed to route between the LAN and the mesh)")
	fs.IntVar(&cfg.RegistryCapacity, "registry-size", cfg.RegistryCapacity, "most registrations the 6LBR holds")
	fs.StringVar(&cfg.StateDir, "state-dir", cfg.StateDir, "directory for the registry and interface state")
	fs.StringVar(&cfg.APISocket, "api", cfg.APISocket, "Unix socket of the status API; empty: none")
	upstream := fs.String("upstream-ra", "", "send RAs with a route to the mesh prefix (RFC 4191) on this LAN interface")
	topology := fs.String("sim-topology", string(cfg.Mesh.Topology), "simulated mesh: star, line, grid or random")
	fs.IntVar(&cfg.Mesh.Nodes, "sim-nodes", cfg.Mesh.Nodes, "simulated nodes (star, line, random)")
	fs.IntVar(&cfg.Mesh.Rows, "sim-rows", 3, "grid rows")
	fs.IntVar(&cfg.Mesh.Cols, "sim-cols", 4, "grid columns")
	fs.Uint64Var(&cfg.Mesh.Seed, "sim-seed", cfg.Mesh.Seed, "seed of the random topology and of link losses")
	fs.Float64Var(&cfg.Mesh.Loss, "sim-loss", 0, "probability that a frame is lost on a link")
	var links multiFlag
	fs.Var(&links, "sim-link", "one link's loss both ways, A-B=LOSS or A-B=off to cut it, e.g. br-n1=0.2 (repeatable)")
	var intruders multiFlag
	fs.Var(&intruders, "sim-intruder", "add a node that tries to register this node's address under another owner (repeatable)")
	fs.DurationVar(&cfg.Mesh.Lifetime, "sim-lifetime", 10*time.Minute, "registration lifetime of simulated nodes")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	if *channel < 11 || *channel > 26 {
		return fmt.Errorf("--channel %d: want 11..26: %w", *channel, errUsage)
	}
	cfg.Channel = uint8(*channel)
	p, err := strconv.ParseUint(*pan, 0, 16)
	if err != nil || p == 0xffff {
		return fmt.Errorf("--pan-id %q: want 0x0000..0xfffe: %w", *pan, errUsage)
	}
	cfg.PANID = uint16(p)
	if *txPower < -128 || *txPower > 127 {
		return fmt.Errorf("--tx-power %d: want -128..127 dBm: %w", *txPower, errUsage)
	}
	cfg.TxPowerDBm = int8(*txPower)
	if cfg.Prefix, err = netip.ParsePrefix(*prefix); err != nil || !cfg.Prefix.Addr().Is6() || cfg.Prefix.Addr().Is4In6() || cfg.Prefix.Bits() != 64 {
		return fmt.Errorf("--prefix %q: want an IPv6 /64 such as fd00:1::/64: %w", *prefix, errUsage)
	}
	cfg.Prefix = cfg.Prefix.Masked()
	if len(contexts) == 0 {
		cfg.Contexts = []nd.ContextConfig{{ID: 0, Prefix: cfg.Prefix}}
	}
	for _, c := range contexts {
		id, ctx, err := lowpan.ParseContext(c)
		if err != nil {
			return fmt.Errorf("--context: %v: %w", err, errUsage)
		}
		cfg.Contexts = append(cfg.Contexts, nd.ContextConfig{ID: uint8(id), Prefix: ctx.Prefix})
	}
	if cfg.TUNMTU < 1280 || cfg.TUNMTU > 65535 {
		return fmt.Errorf("--mtu %d: want 1280..65535: %w", cfg.TUNMTU, errUsage)
	}
	if cfg.RegistryCapacity < 1 {
		return fmt.Errorf("--registry-size %d: want at least 1: %w", cfg.RegistryCapacity, errUsage)
	}
	if *upstream != "" {
		cfg.Upstream = &router.UpstreamRAConfig{Interface: *upstream}
	}
	cfg.Mesh.Topology = sim.Topology(*topology)
	cfg.Mesh.Intruders = intruders
	for _, l := range links {
		o, err := parseLinkOverride(l)
		if err != nil {
			return fmt.Errorf("--sim-link: %v: %w", err, errUsage)
		}
		cfg.Mesh.Links = append(cfg.Mesh.Links, o)
	}
	if err := cfg.Mesh.Validate(); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error: %w", *level, errUsage)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := startDaemon(ctx, cfg, log)
	if err != nil {
		return err
	}
	printReach(stdout, d)
	err = d.wait(ctx)
	log.Info("shutting down")
	d.stop()
	return err
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
