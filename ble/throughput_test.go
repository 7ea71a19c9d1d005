package ble_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ble"
	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/sim/hcisim"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// udpSDU is a 1200-octet UDP datagram from a LAN host to the node, in
// RFC 7668 form: what the border router puts in each SDU.
func udpSDU(t *testing.T, local, peer [6]byte) []byte {
	t.Helper()
	const payload = 1200
	p := make([]byte, 48+payload)
	p[0], p[6], p[7] = 0x60, 17, 63
	binary.BigEndian.PutUint16(p[4:], 8+payload)
	src := netip.MustParseAddr("2001:db8:9::5").As16()
	iid, _ := lowpan.BLELinkAddr(peer).IID()
	dst := netip.MustParseAddr("2001:db8:1::").As16()
	copy(dst[8:], iid[:])
	copy(p[8:], src[:])
	copy(p[24:], dst[:])
	binary.BigEndian.PutUint16(p[40:], 40000)
	binary.BigEndian.PutUint16(p[42:], 9)
	binary.BigEndian.PutUint16(p[44:], 8+payload)
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Compress: true})
	codec := lowpan.BLECodec{Contexts: ctxs}
	out := make([]byte, 1400)
	n, err := codec.Compress(out, p, lowpan.BLELinkAddr(local), lowpan.BLELinkAddr(peer))
	if err != nil {
		t.Fatal(err)
	}
	return out[:n]
}

// pdusPerSDU counts the link-layer PDUs one SDU takes: K-frames of at most
// mps octets (the first with the 2-octet SDU length), each an L2CAP PDU
// with a 4-octet header, each cut into ACL packets and PDUs of at most
// dataLength octets (the ACL length here equals the data length).
func pdusPerSDU(sdu, mps, dataLength int) int {
	total, rest := 0, sdu+2
	for rest > 0 {
		k := min(rest, mps)
		rest -= k
		total += (k + 4 + dataLength - 1) / dataLength
	}
	return total
}

// Goodput of 1200-octet UDP datagrams over one IPSP channel, router to
// node, against the limit worked out from the connection interval, the
// data length and the PHY: each connection event carries as many data
// PDU / empty PDU pairs as fit in the interval (up to the controllers'
// per-event limit), and every SDU costs a known number of PDUs. Time is
// simulated time (connection events × interval), so the machine's load
// does not enter. Target: at least 80 % of the limit.
func TestThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("throughput run")
	}
	for _, c := range []struct {
		name       string
		interval   time.Duration
		dataLength int
		phy        le.PHY
	}{
		{"7.5ms-251-2M", 7500 * time.Microsecond, 251, le.PHY2M},
		{"30ms-251-1M", 30 * time.Millisecond, 251, le.PHY1M},
		{"50ms-27-1M", 50 * time.Millisecond, 27, le.PHY1M},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := le.New(le.Config{Seed: 5, TimeScale: 0.25, AdvInterval: 20 * time.Millisecond})
			defer w.Close()
			cc := hcisim.Config{MaxDataLength: c.dataLength, No2M: c.phy != le.PHY2M}
			router, rctrl := startHost(t, ctx, w, routerAddr, cc, ble.Config{Name: "router", Connect: true, ConnInterval: c.interval,
				DataLength: c.dataLength, NoPHY2M: c.phy != le.PHY2M})
			node, _ := startHost(t, ctx, w, nodeAddr, cc, ble.Config{Name: "node", Advertise: true, DataLength: c.dataLength, NoPHY2M: c.phy != le.PHY2M})
			rch, nch := nextChannel(t, router), nextChannel(t, node)
			conns := rctrl.Device().Conns()
			if len(conns) != 1 {
				t.Fatalf("%d connections", len(conns))
			}
			conn := conns[0]
			for deadline := time.Now().Add(10 * time.Second); conn.DataLength() != c.dataLength || conn.PHY() != c.phy; {
				if time.Now().After(deadline) {
					t.Fatalf("data length %d, PHY %d; want %d, %d", conn.DataLength(), conn.PHY(), c.dataLength, c.phy)
				}
				time.Sleep(5 * time.Millisecond)
			}
			sdu := udpSDU(t, ble.Canonical(routerAddr), ble.Canonical(nodeAddr))
			n := 60
			if c.dataLength < 100 {
				n = 20 // 50 PDUs each: enough events to measure
			}
			got := make(chan time.Time, n)
			var firstEvent, lastEvent uint64
			go nch.Receive(ctx, func([]byte) { got <- time.Now() })
			go func() {
				for i := 0; i < n && ctx.Err() == nil; {
					if err := rch.SendSDU(ctx, sdu); err != nil {
						time.Sleep(time.Millisecond) // the channel's queue is full: wait for the air
						continue
					}
					i++
				}
			}()
			for i := range n {
				select {
				case <-got:
				case <-time.After(60 * time.Second):
					t.Fatalf("%d of %d SDUs arrived", i, n)
				}
				if i == 0 {
					firstEvent = conn.Events()
				}
			}
			lastEvent = conn.Events()
			// Simulated time for n-1 SDUs: the events between the first
			// arrival and the last.
			elapsed := time.Duration(lastEvent-firstEvent) * c.interval
			goodput := float64((n-1)*1200) / elapsed.Seconds()

			pair := le.AirTime(c.phy, c.dataLength) + le.TIFS + le.AirTime(c.phy, 0) + le.TIFS
			perEvent := min(le.DefaultPerEvent, int((c.interval-le.TIFS)/pair))
			perSDU := pdusPerSDU(len(sdu), 247, c.dataLength)
			limit := 1200 * float64(perEvent) / float64(perSDU) / c.interval.Seconds()
			ratio := goodput / limit
			t.Logf("%s: SDU %d octets = %d PDUs; %d PDUs/event; limit %.1f kbit/s UDP payload, measured %.1f kbit/s over %d events: %.0f %%",
				c.name, len(sdu), perSDU, perEvent, limit*8/1000, goodput*8/1000, lastEvent-firstEvent, 100*ratio)
			if ratio < 0.8 || ratio > 1.05 {
				t.Errorf("goodput %.0f %% of the limit; want 80–105 %%", 100*ratio)
			}
		})
	}
}

var _ = hci.BDAddr{}
