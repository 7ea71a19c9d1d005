package hcisim

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// EmbeddedController is a simulated controller served on a PTY inside this
// process. Open Path with the HCI UART transport (URL) as if it were an
// nRF52840 dongle running Zephyr's hci_uart.
type EmbeddedController struct {
	Path       string
	Controller *Controller

	master *os.File
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// URL is the BLE controller URL that reaches the embedded controller.
func (e *EmbeddedController) URL() string { return "hci+uart://" + e.Path }

// StartController attaches a controller configured by cfg to w and serves
// it on a new PTY until Close or ctx ends. name labels its log lines.
func StartController(ctx context.Context, w *le.World, name string, cfg Config, logger *slog.Logger) (*EmbeddedController, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("controller", name)
	cfg.Logger = logger
	c, err := New(w, cfg)
	if err != nil {
		return nil, err
	}
	master, path, err := transport.OpenPTY()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("hcisim: %w", err)
	}
	e := &EmbeddedController{Path: path, Controller: c, master: master, done: make(chan struct{})}
	ctx, e.cancel = context.WithCancel(ctx)
	go func() {
		defer close(e.done)
		if err := c.Serve(ctx, master); err != nil {
			logger.Warn("simulated BLE controller stopped", "err", err)
		}
	}()
	return e, nil
}

// Close stops serving, closes the PTY and detaches the controller from the
// world.
func (e *EmbeddedController) Close() error {
	e.once.Do(func() {
		e.cancel()
		<-e.done
		e.master.Close()
		e.Controller.Close()
	})
	return nil
}
