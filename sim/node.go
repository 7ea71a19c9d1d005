package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// NodeConfig describes a simulated 6LoWPAN node (6LN).
type NodeConfig struct {
	Name    string
	EUI64   [8]byte
	Channel uint8
	PANID   uint16
	// Lifetime of its registration; it renews at half of it.
	Lifetime time.Duration
	// ROVR overrides the registration owner (default: the EUI-64), for
	// tests of duplicate registrations.
	ROVR []byte
	// Address overrides the global address (default: prefix + IID from
	// the EUI-64).
	Address netip.Addr
	Logger  *slog.Logger
}

// NodeState is what a node has learnt and registered.
type NodeState struct {
	Router     netip.Addr // the 6LBR's link-local address (RA source)
	RouterMAC  lowpan.LinkAddr
	Prefix     netip.Prefix
	Global     netip.Addr
	Registered bool
	// Status of the last registration answer (0 success, 1 duplicate...).
	Status  nd.Status
	Renewed int
}

// Node is a simulated 6LN on the medium: it sends an RS, forms its
// address from the PIO, learns contexts from 6COs, registers with an EARO
// (RFC 8505), renews before expiry, answers ICMPv6 echo and runs a UDP
// echo service on port 7. Its 6LoWPAN is the border router's own
// router.LowpanLink, not a copy.
type Node struct {
	cfg   NodeConfig
	log   *slog.Logger
	radio *NodeRadio
	link  *router.LowpanLink
	ctxs  lowpan.ContextTable
	ll    netip.Addr
	tid   uint8

	ctx context.Context // Run's, for replies sent from the receive path

	mu    sync.Mutex
	st    NodeState
	ra    chan struct{}
	na    chan nd.Status
	echos int
}

// AttachNode puts a node on the medium; Run brings it up.
func AttachNode(m *medium.Medium, cfg NodeConfig) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 10 * time.Minute
	}
	mn, err := m.Attach(medium.NodeConfig{Name: cfg.Name, Channel: cfg.Channel, ExtAddr: cfg.EUI64})
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.Name), radio: NewNodeRadio(mn), ra: make(chan struct{}, 1), na: make(chan nd.Status, 1)}
	if err := n.radio.Configure(context.Background(), radio.Settings{Channel: cfg.Channel, PANID: cfg.PANID, ShortAddr: 0xfffe, ExtAddr: cfg.EUI64}); err != nil {
		return nil, err
	}
	if n.link, err = router.NewLowpanLink(router.LowpanLinkConfig{Name: cfg.Name, Radio: n.radio, PANID: cfg.PANID, ExtAddr: cfg.EUI64, Contexts: &n.ctxs}); err != nil {
		return nil, err
	}
	iid, _ := lowpan.ExtendedLinkAddr(cfg.EUI64).IID()
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	copy(a[8:], iid[:])
	n.ll = netip.AddrFrom16(a)
	return n, nil
}

// State returns what the node knows.
func (n *Node) State() NodeState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.st
}

// LinkLocal is the node's link-local address.
func (n *Node) LinkLocal() netip.Addr { return n.ll }

// Run receives and keeps the node registered until ctx ends.
func (n *Node) Run(ctx context.Context) error {
	n.ctx = ctx
	defer n.radio.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.link.Run(ctx, n.receive)
	}()
	defer wg.Wait()
	for ctx.Err() == nil {
		if err := n.join(ctx); err != nil {
			n.log.Debug("join", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(n.cfg.Lifetime / 2): // renew before expiry
			n.mu.Lock()
			n.st.Renewed++
			n.mu.Unlock()
		}
	}
	return nil
}

// join solicits a router (until an RA arrives) and registers.
func (n *Node) join(ctx context.Context) error {
	if !n.State().Prefix.IsValid() {
		rs, err := nd.AppendIPv6(nil, n.ll, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{}, nd.SourceLinkAddr{Addr: n.link.LinkAddr()})
		if err != nil {
			return err
		}
		if err := n.link.Send(ctx, rs, router.BroadcastShort); err != nil {
			return err
		}
		select {
		case <-n.ra:
		case <-time.After(2 * time.Second):
			return errors.New("no RA")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	st := n.State()
	n.tid++
	rovr := n.cfg.ROVR
	if rovr == nil {
		rovr = n.cfg.EUI64[:]
	}
	ns, err := nd.AppendIPv6(nil, n.ll, st.Router, 255, nd.NSFields{Target: st.Global},
		nd.SourceLinkAddr{Addr: n.link.LinkAddr()},
		nd.AROFields{R: true, T: true, TID: n.tid, Lifetime: uint16(n.cfg.Lifetime / time.Minute), ROVR: rovr})
	if err != nil {
		return err
	}
	if err := n.link.Send(ctx, ns, st.RouterMAC); err != nil {
		return err
	}
	select {
	case s := <-n.na:
		if s != nd.StatusSuccess {
			return fmt.Errorf("registration of %v refused: status %v", st.Global, s)
		}
		return nil
	case <-time.After(2 * time.Second):
		return errors.New("no NA")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// receive handles a packet from the link.
func (n *Node) receive(d *router.Delivery) {
	p := d.Packet
	if len(p) < 48 || p[0]>>4 != 6 {
		return
	}
	switch {
	case p[6] == 58 && (p[40] == 134 || p[40] == 136):
		n.handleND(p, d.Src)
	case p[6] == 58 && p[40] == 128: // echo request
		n.reply(p, 129)
	case p[6] == 17 && binary.BigEndian.Uint16(p[42:]) == 7: // UDP echo
		n.reply(p, 0)
	}
}

func (n *Node) handleND(p []byte, from lowpan.LinkAddr) {
	var m nd.Message
	if err := nd.Parse(p, &m); err != nil {
		return
	}
	switch m.Type {
	case nd.TypeRouterAdvert:
		n.mu.Lock()
		defer n.mu.Unlock()
		it := nd.Options(m.Options).Iter()
		for {
			o, done, err := it.Next()
			if done || err != nil {
				break
			}
			switch o.Type() {
			case nd.OptPrefixInfo:
				pio := nd.PrefixInfo(o)
				if pio.Autonomous() && pio.PrefixLength() == 64 {
					n.st.Prefix = pio.Prefix()
				}
			case nd.Opt6CO:
				c := nd.ContextOption(o)
				n.ctxs.Set(int(c.CID()), lowpan.Context{Prefix: c.Prefix(), Compress: c.Compress()})
			}
		}
		n.st.Router, n.st.RouterMAC = m.Src, from
		if n.cfg.Address.IsValid() {
			n.st.Global = n.cfg.Address
		} else if n.st.Prefix.IsValid() {
			a := n.st.Prefix.Addr().As16()
			iid, _ := lowpan.ExtendedLinkAddr(n.cfg.EUI64).IID()
			copy(a[8:], iid[:])
			n.st.Global = netip.AddrFrom16(a)
		}
		select {
		case n.ra <- struct{}{}:
		default:
		}
	case nd.TypeNeighborAdvert:
		if m.ARO == nil {
			return
		}
		s := m.ARO.Status()
		n.mu.Lock()
		n.st.Status = s
		n.st.Registered = s == nd.StatusSuccess
		n.mu.Unlock()
		select {
		case n.na <- s:
		default:
		}
	}
}

// reply answers an echo request (ICMPv6 type 129) or a UDP echo (typ 0)
// by swapping addresses (and ports), through the router.
func (n *Node) reply(p []byte, typ uint8) {
	st := n.State()
	dst := netip.AddrFrom16([16]byte(p[24:40]))
	if dst != st.Global && dst != n.ll {
		return
	}
	q := append([]byte(nil), p[:40+int(binary.BigEndian.Uint16(p[4:]))]...)
	copy(q[8:24], p[24:40])
	copy(q[24:40], p[8:24])
	q[7] = 64
	body := q[40:]
	if typ != 0 {
		body[0], body[2], body[3] = typ, 0, 0
		binary.BigEndian.PutUint16(body[2:], checksum.Finish(checksum.Sum(body, checksum.PseudoHeaderIPv6(q[8:24], q[24:40], 58, uint32(len(body))))))
	} else {
		body[0], body[1], body[2], body[3] = p[42], p[43], p[40], p[41]
		body[6], body[7] = 0, 0
		binary.BigEndian.PutUint16(body[6:], checksum.UDPIPv6(q[8:24], q[24:40], body))
	}
	n.mu.Lock()
	n.echos++
	n.mu.Unlock()
	if err := n.link.Send(n.ctx, q, st.RouterMAC); err != nil {
		n.log.Debug("echo reply", "err", err)
	}
}
