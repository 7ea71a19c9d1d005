package sim

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
)

// EmbeddedRCP is a simulated RCP served on a PTY inside this process. Open
// Path with the UART transport (spinel+hdlc+uart://<Path>) as if it were a
// USB dongle.
type EmbeddedRCP struct {
	Path string
	RCP  *rcpsim.RCP
	Node *medium.Node

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// URL is the radio URL that reaches the embedded RCP.
func (e *EmbeddedRCP) URL() string { return "spinel+hdlc+uart://" + e.Path }

// StartRCP attaches a node to m, puts a simulated RCP with identity cfg on
// it and serves it on a new PTY until Close or ctx ends.
func StartRCP(ctx context.Context, m *medium.Medium, name string, cfg rcpsim.Config, logger *slog.Logger) (*EmbeddedRCP, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	node, err := m.Attach(medium.NodeConfig{Name: name, Channel: medium.MinChannel, ExtAddr: cfg.EUI64})
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	master, path, err := transport.OpenPTY()
	if err != nil {
		node.Detach()
		return nil, fmt.Errorf("sim: %w", err)
	}
	cfg.Logger = logger
	e := &EmbeddedRCP{Path: path, RCP: rcpsim.New(node, cfg), Node: node, done: make(chan struct{})}
	ctx, e.cancel = context.WithCancel(ctx)
	go func() {
		defer close(e.done)
		if err := e.RCP.Serve(ctx, master); err != nil {
			logger.Warn("simulated RCP stopped", "err", err)
		}
	}()
	return e, nil
}

// Close stops the RCP, closes its PTY and detaches its node.
func (e *EmbeddedRCP) Close() error {
	e.once.Do(func() {
		e.cancel()
		<-e.done
		e.Node.Detach()
	})
	return nil
}
