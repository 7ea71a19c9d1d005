package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/sim/hcisim"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// BLENodeConfig describes a simulated IPSP node: a BLE peripheral that
// advertises the IPSS, accepts the border router's connection and runs
// the 6LN side of RFC 7668 and 6LoWPAN-ND over it.
type BLENodeConfig struct {
	Name string
	// Addr is the node's public device address (HCI order, least
	// significant octet first).
	Addr     hci.BDAddr
	Lifetime time.Duration // registration lifetime (default 10 min)
	// DataLength and PHY2M are what the node's controller supports
	// (defaults 251 and true).
	DataLength int
	NoPHY2M    bool
	// WithholdCredits makes the node a misbehaving peer that never
	// returns L2CAP credits.
	WithholdCredits bool
	Logger          *slog.Logger
}

// BLENode is a simulated BLE 6LN: a simulated controller in the LE world,
// our own BLE host on it (as a peripheral), and a Node on each IPSP
// channel the border router opens. When the connection drops the node
// advertises again and registers afresh on the next one.
type BLENode struct {
	cfg  BLENodeConfig
	ctrl *hcisim.Controller
	host *ble.Host
	done chan struct{}

	mu       sync.Mutex
	cur      *Node
	channel  *ble.Channel
	sessions int
	tid      uint8
}

// StartBLENode puts a node in w and runs it until ctx ends.
func StartBLENode(ctx context.Context, w *le.World, cfg BLENodeConfig) (*BLENode, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 10 * time.Minute
	}
	if cfg.DataLength == 0 {
		cfg.DataLength = 251
	}
	ctrl, err := hcisim.New(w, hcisim.Config{Addr: cfg.Addr, MaxDataLength: cfg.DataLength, No2M: cfg.NoPHY2M, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("sim: BLE node %s: %w", cfg.Name, err)
	}
	hostEnd, ctrlEnd := net.Pipe()
	go ctrl.Serve(ctx, ctrlEnd)
	host, err := ble.Open(ctx, ble.Config{
		Open:            func(context.Context) (io.ReadWriteCloser, error) { return hostEnd, nil },
		Name:            cfg.Name,
		Advertise:       true,
		WithholdCredits: cfg.WithholdCredits,
		Logger:          cfg.Logger,
	})
	if err != nil {
		ctrl.Close()
		return nil, fmt.Errorf("sim: BLE node %s: %w", cfg.Name, err)
	}
	// The first session's first registration uses TID 240 (RFC 8505
	// §5.2.1), as a Node on its own does.
	b := &BLENode{cfg: cfg, ctrl: ctrl, host: host, done: make(chan struct{}), tid: nd.TIDInitial - 1}
	go b.run(ctx)
	return b, nil
}

// Name is the node's name.
func (b *BLENode) Name() string { return b.cfg.Name }

// Addr is the node's device address.
func (b *BLENode) Addr() hci.BDAddr { return b.cfg.Addr }

// State is what the node's current session knows (zero between
// connections).
func (b *BLENode) State() NodeState {
	b.mu.Lock()
	n := b.cur
	b.mu.Unlock()
	if n == nil {
		return NodeState{}
	}
	return n.State()
}

// Sessions counts the IPSP channels the node has had.
func (b *BLENode) Sessions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions
}

// Drop severs the node's connection as if it went out of range: both
// sides time out, and the node advertises again.
func (b *BLENode) Drop() {
	d := b.ctrl.Device()
	for _, c := range d.Conns() {
		c.Sever()
	}
}

// Done is closed when the node has stopped.
func (b *BLENode) Done() <-chan struct{} { return b.done }

func (b *BLENode) run(ctx context.Context) {
	defer close(b.done)
	defer b.ctrl.Close()
	defer b.host.Close()
	for {
		var ch *ble.Channel
		select {
		case <-ctx.Done():
			return
		case ch = <-b.host.Channels():
		}
		b.session(ctx, ch)
	}
}

// session runs a Node on one IPSP channel until it closes.
func (b *BLENode) session(ctx context.Context, ch *ble.Channel) {
	own := lowpan.BLELinkAddr(ble.Canonical(b.cfg.Addr))
	iid, _ := own.IID()
	n := newNode(NodeConfig{Name: b.cfg.Name, Lifetime: b.cfg.Lifetime, Logger: b.cfg.Logger}, own, iid[:])
	peer, _ := ch.Peer()
	bl, err := link.NewBLE(link.BLEConfig{Name: b.cfg.Name, Channel: ch, Local: ble.Canonical(b.cfg.Addr), Peer: ble.Canonical(peer),
		Contexts: &n.ctxs, Registered: n, Logger: b.cfg.Logger})
	if err != nil {
		return
	}
	n.link = bl
	b.mu.Lock()
	n.tid = b.tid // TIDs go on increasing across sessions (RFC 8505 §5.2)
	b.cur, b.channel = n, ch
	b.sessions++
	b.mu.Unlock()
	sctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-ch.Done():
		case <-sctx.Done():
		}
		cancel()
	}()
	n.Run(sctx)
	cancel()
	b.mu.Lock()
	b.tid = n.tid
	b.cur, b.channel = nil, nil
	b.mu.Unlock()
}

// Deregister withdraws the current session's registration.
func (b *BLENode) Deregister(ctx context.Context) error {
	b.mu.Lock()
	n := b.cur
	b.mu.Unlock()
	if n == nil {
		return fmt.Errorf("sim: BLE node %s: not connected", b.cfg.Name)
	}
	return n.Deregister(ctx)
}

// Ping sends an echo request from the node (see Node.Ping).
func (b *BLENode) Ping(ctx context.Context, dst netip.Addr, size int) (time.Duration, error) {
	b.mu.Lock()
	n := b.cur
	b.mu.Unlock()
	if n == nil {
		return 0, fmt.Errorf("sim: BLE node %s: not connected", b.cfg.Name)
	}
	return n.Ping(ctx, dst, size)
}
