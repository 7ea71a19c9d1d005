package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
)

// stdio joins stdin and stdout into the byte stream a forkpty parent sees.
type stdio struct{}

func (stdio) Read(b []byte) (int, error)  { return os.Stdin.Read(b) }
func (stdio) Write(b []byte) (int, error) { return os.Stdout.Write(b) }
func (stdio) Close() error                { return os.Stdin.Close() }

// runSimRCP serves a simulated RCP on stdin/stdout, so that
// spinel+hdlc+forkpty:///path/to/lowpanbr?forkpty-arg=sim-rcp drives it
// through the forkpty transport. Its medium can be shared with other
// processes and RIOT native nodes over ZEP.
func runSimRCP(args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim-rcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	eui := fs.String("eui64", "02005e1000000002", "the RCP's EUI-64 (16 hex digits)")
	seed := fs.Uint64("seed", 1, "random seed of the simulated medium")
	zep := fs.String("zep", "", "serve the medium as a ZEP v2 hub on this UDP address (e.g. 127.0.0.1:17754) for external simulated nodes")
	mirror := fs.String("mirror", "", "copy every frame as ZEP v2 to this UDP address (Wireshark listening on port 17754)")
	boot := fs.Duration("boot-delay", 0, "time the RCP takes to boot before it announces itself (a dongle re-enumerating, a slow process); what the host sends meanwhile waits in the PTY")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	var e [8]byte
	if b, err := hex.DecodeString(strings.ReplaceAll(*eui, ":", "")); err != nil || len(b) != 8 {
		return fmt.Errorf("--eui64 %q: want 16 hex digits: %w", *eui, errUsage)
	} else {
		copy(e[:], b)
	}
	if *boot < 0 || *boot > time.Minute {
		return fmt.Errorf("--boot-delay %v: want 0..1m: %w", *boot, errUsage)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := medium.New(medium.Config{Seed: *seed, TimeScale: 1, Logger: logger})
	go m.Run(ctx)
	defer m.Close()
	if *zep != "" {
		a, err := net.ResolveUDPAddr("udp", *zep)
		if err != nil {
			return fmt.Errorf("--zep %q: %v: %w", *zep, err, errUsage)
		}
		conn, err := net.ListenUDP("udp", a)
		if err != nil {
			return fmt.Errorf("--zep: %w", err)
		}
		defer conn.Close()
		go m.ServeZEP(ctx, conn)
	}
	if *mirror != "" {
		to, err := net.ResolveUDPAddr("udp", *mirror)
		if err != nil {
			return fmt.Errorf("--mirror %q: %v: %w", *mirror, err, errUsage)
		}
		conn, err := net.ListenUDP("udp", nil)
		if err != nil {
			return fmt.Errorf("--mirror: %w", err)
		}
		defer conn.Close()
		m.Mirror(conn, to)
	}
	node, err := m.Attach(medium.NodeConfig{Name: "rcp", Channel: medium.MinChannel, ExtAddr: e})
	if err != nil {
		return err
	}
	// A process on a PTY: what the host sends while it boots waits in the
	// terminal and is read once it runs.
	r := rcpsim.New(node, rcpsim.Config{EUI64: e, Logger: logger, BootDelay: *boot, BufferInputWhileBooting: true})
	return r.Serve(ctx, stdio{})
}
