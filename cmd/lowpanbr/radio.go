package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/lowpanbr/lowpanbr/borderrouter"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/spinel"
)

const radioUsage = `usage:
  lowpanbr radio probe [--radio URL] [--scan-ms N] [--no-scan] [-v]

probe opens the radio co-processor, prints its firmware, API versions,
capabilities, EUI-64 and channel, and an energy scan of channels 11-26 with
the quietest first. Without --radio it probes the built-in simulated RCP.
Run it first after plugging in a dongle:
  lowpanbr radio probe --radio 'spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800'
  lowpanbr radio probe --radio 'spinel+hdlc+uart://auto'
`

func runRadio(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "probe" {
		fmt.Fprint(stderr, radioUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return fmt.Errorf("want the subcommand probe: %w", errUsage)
	}
	fs := flag.NewFlagSet("radio probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("radio", "", "radio URL (OTBR form); empty: the built-in simulator")
	scanMS := fs.Int("scan-ms", 100, "energy scan time per channel, in milliseconds")
	noScan := fs.Bool("no-scan", false, "skip the energy scan")
	channel := fs.Uint("channel", 11, "channel to configure while probing (11-26)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	verbose := fs.Bool("v", false, "log what the driver does")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	if *scanMS < 1 || *scanMS > 60000 {
		return fmt.Errorf("--scan-ms %d: want 1..60000: %w", *scanMS, errUsage)
	}
	if *channel < 11 || *channel > 26 {
		return fmt.Errorf("--channel %d: want 11..26: %w", *channel, errUsage)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	if *url != "" {
		if _, err := transport.ParseURL(*url); err != nil {
			return fmt.Errorf("--radio: %v: %w", err, errUsage)
		}
	}
	d, err := borderrouter.OpenRadio(ctx, *url, radio.Settings{Channel: uint8(*channel), PANID: 0xfffe, ShortAddr: 0xfffe}, logger)
	if err != nil {
		return err
	}
	defer d.Close()
	label := d.URL
	if d.Simulated {
		label += " (built-in simulator)"
	}
	id := d.Identity()
	w := func(k, v string) { fmt.Fprintf(stdout, "%-14s %s\n", k+":", v) }
	w("Radio", label)
	w("Firmware", id.Firmware)
	w("Spinel", fmt.Sprintf("%d.%d", id.ProtocolVersion[0], id.ProtocolVersion[1]))
	api := "not reported"
	if id.RCPAPIVersion != 0 {
		api = fmt.Sprint(id.RCPAPIVersion)
		if id.MinHostAPIVersion != 0 {
			api += fmt.Sprintf(" (accepts hosts with API %d or newer; this host: %d)", id.MinHostAPIVersion, rcp.HostRCPAPIVersion)
		}
	}
	w("RCP API", api)
	var caps []string
	for _, c := range id.Caps {
		caps = append(caps, spinel.Cap(c).String())
	}
	w("Capabilities", strings.Join(caps, " "))
	w("Radio caps", spinel.RadioCap(id.RadioCaps).String())
	w("EUI-64", colonHex(id.EUI64[:]))
	w("Channel", fmt.Sprint(*channel))
	if *noScan {
		return nil
	}
	type result struct {
		ch   uint8
		rssi int8
	}
	var res []result
	for ch := uint8(11); ch <= 26; ch++ {
		rssi, err := d.EnergyScan(ctx, ch, time.Duration(*scanMS)*time.Millisecond)
		if err != nil {
			return fmt.Errorf("energy scan: %w", err)
		}
		res = append(res, result{ch, rssi})
	}
	slices.SortStableFunc(res, func(a, b result) int { return int(a.rssi) - int(b.rssi) })
	fmt.Fprintf(stdout, "Energy scan (%d ms per channel, quietest first):\n", *scanMS)
	for _, r := range res {
		fmt.Fprintf(stdout, "  channel %2d  %4d dBm\n", r.ch, r.rssi)
	}
	return nil
}

func colonHex(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", x)
	}
	return sb.String()
}
