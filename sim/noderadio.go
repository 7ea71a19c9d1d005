package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// NodeRadio is a radio.Radio straight on a medium node, without Spinel:
// what simulated 6LoWPAN nodes use (the border router itself reaches its
// simulated radio through a PTY and the real driver).
type NodeRadio struct {
	node   *medium.Node
	rx     chan radio.Frame
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	settings radio.Settings
}

var _ radio.Radio = (*NodeRadio)(nil)

// NewNodeRadio wraps node; frames it receives are delivered until Close.
// The medium hands them straight to the radio's channel (medium.Node
// SetDeliver): no goroutine of the radio's own wakes for each frame.
func NewNodeRadio(node *medium.Node) *NodeRadio {
	ctx, cancel := context.WithCancel(context.Background())
	r := &NodeRadio{node: node, rx: make(chan radio.Frame, 64), cancel: cancel, done: make(chan struct{})}
	node.SetDeliver(r.deliver)
	go r.watch(ctx)
	return r
}

// deliver takes one reception, on the medium's goroutine with the medium
// locked: it only converts and queues.
func (r *NodeRadio) deliver(rec medium.Reception) bool {
	if rec.BadFCS {
		return true // a radio drops it; nothing was lost to a full queue
	}
	f := radio.Frame{PSDU: rec.PSDU, RSSI: rec.RSSI, NoiseFloor: 127, LQI: rec.LQI, Channel: rec.Channel,
		Timestamp: uint64(rec.End / time.Microsecond), AckedWithFramePending: rec.AckFramePending}
	select {
	case r.rx <- f:
		return true
	default: // a slow consumer loses frames, as with a real radio
		return false
	}
}

// watch closes the radio's channel when the radio closes (after the
// medium stopped delivering to it) or the node is detached (the medium
// delivers nothing to a detached node).
func (r *NodeRadio) watch(ctx context.Context) {
	defer close(r.done)
	defer close(r.rx)
	for {
		select {
		case <-ctx.Done():
			r.node.SetDeliver(nil)
			return
		case rec, ok := <-r.node.Receive():
			if !ok {
				return // closed by Detach or the medium's Close
			}
			r.deliver(rec) // queued before SetDeliver took over
		}
	}
}

// flush drops the frames received so far and not yet read: those a node
// heard while it was attached but not yet running — before the mesh's
// links were set, under the medium's default link, so possibly from
// nodes out of its range (a border router's first DIOs reached every
// node of a random mesh that way, which then took it for its parent).
func (r *NodeRadio) flush() {
	for {
		select {
		case _, ok := <-r.rx:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// Transmit implements radio.Radio.
func (r *NodeRadio) Transmit(ctx context.Context, psdu []byte, opts radio.TxOptions) (radio.TxResult, error) {
	res, err := r.node.Transmit(ctx, psdu, medium.TxOptions{Channel: opts.Channel, DisableCSMA: opts.DisableCSMA,
		MaxCSMABackoffs: opts.MaxCSMABackoffs, MaxFrameRetries: opts.MaxFrameRetries})
	if err != nil {
		return radio.TxResult{Status: radio.TxAborted}, fmt.Errorf("sim radio %v: %w", r.node, err)
	}
	out := radio.TxResult{Status: res.Status, Ack: res.Ack, FramePending: res.FramePending}
	return out, nil
}

// Receive implements radio.Radio.
func (r *NodeRadio) Receive() <-chan radio.Frame { return r.rx }

// Configure implements radio.Radio.
func (r *NodeRadio) Configure(_ context.Context, s radio.Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	r.settings = s
	r.mu.Unlock()
	return r.node.Configure(func(c *medium.NodeConfig) {
		c.Channel, c.PANID, c.ShortAddr = s.Channel, s.PANID, s.ShortAddr
		if s.ExtAddr != ([8]byte{}) {
			c.ExtAddr = s.ExtAddr
		}
		c.Promiscuous = s.Promiscuous
		c.RxOnWhenIdle = true
	})
}

// EnergyScan implements radio.Radio.
func (r *NodeRadio) EnergyScan(ctx context.Context, channel uint8, d time.Duration) (int8, error) {
	return r.node.EnergyScan(ctx, channel, d)
}

// Identity implements radio.Radio.
func (r *NodeRadio) Identity() radio.Identity {
	return radio.Identity{EUI64: r.node.Config().ExtAddr, Firmware: "simulated node radio"}
}

// Close implements radio.Radio.
func (r *NodeRadio) Close() error {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
	return nil
}
