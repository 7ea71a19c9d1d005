package borderrouter

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
)

// The radio: an RCP a URL names, or, without one, the built-in simulated
// RCP on a simulated medium, behind a real PTY and driven over Spinel/HDLC
// exactly as a USB dongle. A border router (New) and a probe of the radio
// alone (OpenRadio) bring it up with the same three steps below.

// startMedium makes the simulated medium and runs it under ctx.
func startMedium(ctx context.Context, cfg medium.Config, goRun func(string, func() error)) *medium.Medium {
	m := medium.New(cfg)
	goRun("medium", func() error { return m.Run(ctx) })
	return m
}

// startSimulatedRCP puts the simulated RCP with EUI-64 eui on m and serves
// it on a new PTY until ctx ends or it is closed.
func startSimulatedRCP(ctx context.Context, m *medium.Medium, eui [8]byte, log *slog.Logger) (*sim.EmbeddedRCP, error) {
	return sim.StartRCP(ctx, m, "br", rcpsim.Config{EUI64: eui}, log.With("component", "rcpsim"))
}

// openRCP opens the Spinel driver of the RCP at url. onRecovered (may be
// nil) hears the RCP's identity after each recovery from a fault.
func openRCP(ctx context.Context, url string, s radio.Settings, onRecovered func(radio.Identity), log *slog.Logger) (*rcp.Driver, error) {
	u, err := transport.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("radio: %w", err)
	}
	d, err := rcp.Open(ctx, rcp.Config{Open: rcp.URLOpener(u, log), Name: u.String(), Logger: log.With("component", "rcp"),
		Settings: s, OnRecovered: onRecovered})
	if err != nil {
		return nil, fmt.Errorf("radio %s: %w", u, err)
	}
	return d, nil
}

// Radio is a radio co-processor opened on its own, to probe it (firmware,
// capabilities, energy scan): the one a URL names, or the built-in
// simulated RCP.
type Radio struct {
	*rcp.Driver
	// URL is the radio's URL; for the simulated RCP, that of its PTY.
	URL       string
	Simulated bool

	cancel context.CancelFunc
	undo   []func()
	wg     sync.WaitGroup
}

// OpenRadio opens the radio at url with settings s; url "" starts the
// built-in simulated RCP (the one `lowpanbr run` uses without radio.url)
// and opens that. A URL that transport refuses gives an error wrapping
// transport.ErrBadURL.
func OpenRadio(ctx context.Context, url string, s radio.Settings, log *slog.Logger) (*Radio, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Radio{URL: url}
	if url == "" {
		// As in New: the simulated world outlives the driver.
		simCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r.cancel = cancel
		m := startMedium(simCtx, medium.Config{Seed: 1, Logger: log}, func(_ string, f func() error) {
			r.wg.Add(1)
			go func() { defer r.wg.Done(); f() }()
		})
		r.undo = append(r.undo, func() { m.Close() })
		e, err := startSimulatedRCP(simCtx, m, DefaultSimEUI64, log)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.undo = append(r.undo, func() { e.Close() })
		r.URL, r.Simulated = e.URL(), true
	}
	d, err := openRCP(ctx, r.URL, s, nil, log)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.Driver = d
	r.undo = append(r.undo, func() { d.Close() })
	return r, nil
}

// Close closes the driver, then the simulated RCP and medium if any.
func (r *Radio) Close() error {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	r.undo = nil
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	return nil
}
