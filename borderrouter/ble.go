package borderrouter

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/hcisim"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// simBLEControllerAddr is the simulated BLE controller's address (HCI
// order): C0:00:00:00:00:01.
var simBLEControllerAddr = hci.BDAddr{0x01, 0x00, 0x00, 0x00, 0x00, 0xc0}

// simBLENodeAddr is the i-th simulated BLE node's address (HCI order):
// C0:00:00:00:01:xx with xx = i+1.
func simBLENodeAddr(i int) hci.BDAddr { return hci.BDAddr{byte(i + 1), 0x01, 0x00, 0x00, 0x00, 0xc0} }

// simBLENodeGlobal is the address the i-th simulated BLE node forms under
// prefix: its IID comes from the device address (RFC 7668 §3.2.2).
func simBLENodeGlobal(prefix netip.Prefix, i int) netip.Addr {
	iid, _ := lowpan.BLELinkAddr(ble.Canonical(simBLENodeAddr(i))).IID()
	a := prefix.Masked().Addr().As16()
	copy(a[8:], iid[:])
	return netip.AddrFrom16(a)
}

// startBLE brings up the IPv6-over-BLE side: the host on the configured
// controller — or, on the simulator, on a simulated controller behind a
// PTY with simulated IPSP nodes around it. Run serves a link per IPSP
// channel.
func (b *BorderRouter) startBLE(ctx, simCtx context.Context) error {
	cfg, log := &b.cfg, b.log
	url := cfg.BLE.URL
	if url == "" {
		b.leWorld = le.New(le.Config{Seed: cfg.Sim.Seed, Logger: log.With("component", "le")})
		b.undo = append(b.undo, b.leWorld.Close)
		var err error
		b.bleCtrl, err = hcisim.StartController(simCtx, b.leWorld, "br-ble", hcisim.Config{Addr: simBLEControllerAddr}, log.With("component", "hcisim"))
		if err != nil {
			return err
		}
		b.undo = append(b.undo, func() { b.bleCtrl.Close() })
		url = b.bleCtrl.URL()
		log.Info("BLE: running on the built-in simulated controller", "pty", b.bleCtrl.Path)
	}
	u, err := transport.ParseHCIURL(url)
	if err != nil {
		return fmt.Errorf("ble.url: %w", err)
	}
	b.bleHost, err = ble.Open(ctx, ble.Config{
		Open:           func(ctx context.Context) (io.ReadWriteCloser, error) { return transport.OpenHCI(ctx, u) },
		Name:           u.String(),
		Connect:        cfg.BLE.Connect,
		Advertise:      cfg.BLE.Advertise,
		AllowList:      cfg.BLE.Allow,
		MaxConnections: cfg.BLE.MaxConnections,
		ConnInterval:   cfg.BLE.ConnInterval,
		Logger:         log.With("component", "ble"),
	})
	if err != nil {
		return fmt.Errorf("BLE controller %s: %w", u, err)
	}
	b.undo = append(b.undo, func() { b.bleHost.Close() })
	if b.leWorld != nil {
		for i := range cfg.Sim.BLENodes {
			name := fmt.Sprintf("b%d", i+1)
			n, err := sim.StartBLENode(simCtx, b.leWorld, sim.BLENodeConfig{Name: name, Addr: simBLENodeAddr(i),
				Lifetime: cfg.Sim.Lifetime, WithholdCredits: slices.Contains(cfg.Sim.BLEStalled, name), Logger: log.With("component", "sim-ble")})
			if err != nil {
				return err
			}
			b.bleNodes = append(b.bleNodes, n)
		}
	}
	return nil
}
