package router_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// TestRPLRootTshark: what the forwarder as non-storing root puts on the
// air — its DIO, a DAO-ACK, and a packet from Linux tunnelled down with a
// source route and an RPI — captured from the medium and decoded by
// Wireshark: nothing malformed, no expert message, and the values the
// root was configured with (RPI type 0x63 here: tshark 4.0 predates
// RFC 9008's 0x23 and would flag it).
func TestRPLRootTshark(t *testing.T) {
	oracle.Tshark(t)
	w := newWorldWith(t, &router.RPLConfig{Root: rpl.RootConfig{MOP: rpl.MOPNonStoring, Instance: 7}, RPI: true, RPIType: rpl.OptionTypeRPI6553})
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var frames [][]byte
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			var z pcapio.ZEP
			if z.Decode(buf[:n]) == nil && z.PSDU != nil {
				mu.Lock()
				frames = append(frames, slices.Clone(z.PSDU))
				mu.Unlock()
			}
		}
	}()
	w.medium.Mirror(conn, conn.LocalAddr().(*net.UDPAddr))

	ctx := context.Background()
	w.nodeRecvRPL(t, rpl.CodeDIO)
	dao := rplPacket(t, rplNodeGlobal, brGlobal, rplDAO(t, 241,
		rplDAOTarget{target: rplNodeGlobal, parent: brGlobal}, rplDAOTarget{target: rplFar, parent: rplNodeGlobal},
		rplDAOTarget{target: rplFarther, parent: rplFar}))
	if err := w.node.SendWait(ctx, dao, brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// The DAO carried instance 0; this root is instance 7: a DAO-ACK only
	// for its own instance. Send one it owns.
	dao7, err := rpl.AppendDAO(nil, &rpl.DAOFields{Instance: 7, AckRequested: true, Sequence: 242})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []rplDAOTarget{{target: rplNodeGlobal, parent: brGlobal}, {target: rplFar, parent: rplNodeGlobal}, {target: rplFarther, parent: rplFar}} {
		dao7, _ = rpl.AppendTarget(dao7, netip.PrefixFrom(x.target, 128), 0, nil)
		dao7, _ = rpl.AppendTransit(dao7, &rpl.TransitFields{PathLifetime: 5, Parent: x.parent})
	}
	if err := w.node.SendWait(ctx, rplPacket(t, rplNodeGlobal, brGlobal, dao7), brMAC, link.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	w.nodeRecvRPL(t, rpl.CodeDAOACK)
	w.tun.in <- packettest.UDP("2001:db8:9::5", rplFarther.String(), 20)
	w.nodeRecvData(t)
	time.Sleep(100 * time.Millisecond) // the mirror's writer
	mu.Lock()
	captured := slices.Clone(frames)
	mu.Unlock()

	c := oracle.WritePcap(t, oracle.LinkTypeIEEE802154WithFCS, captured...)
	c.TwoPass = true
	c.Prefs = []string{"6lowpan.context0:" + meshPrefix.String()}
	c.Disable = []string{"coap"} // the test datagram goes to port 5683 and is no CoAP
	fields := []string{"_ws.malformed", "_ws.expert.message", "wpan.src64", "icmpv6.type", "icmpv6.code",
		"icmpv6.rpl.dio.instance", "icmpv6.rpl.dio.rank", "icmpv6.rpl.dio.flag.mop", "icmpv6.rpl.dio.dagid", "icmpv6.rpl.dio.version",
		"icmpv6.rpl.opt.config.min_hop_rank_inc", "icmpv6.rpl.opt.config.def_lifetime", "icmpv6.rpl.opt.prefix", "icmpv6.rpl.opt.prefix.flag",
		"icmpv6.rpl.daoack.instance", "icmpv6.rpl.daoack.sequence", "icmpv6.rpl.daoack.status",
		"ipv6.src", "ipv6.dst", "ipv6.opt.rpl.instance_id", "ipv6.opt.rpl.sender_rank", "ipv6.opt.rpl.flag.o",
		"ipv6.routing.type", "ipv6.routing.segleft", "ipv6.routing.rpl.full_address", "udp.dstport"}
	var dio, ack, data bool
	for i, f := range c.FieldMaps(t, fields...) {
		if f["_ws.malformed"] != "" || f["_ws.expert.message"] != "" {
			t.Errorf("frame %d: malformed %q, expert %q: %v", i+1, f["_ws.malformed"], f["_ws.expert.message"], f)
		}
		if f["wpan.src64"] != "02:00:00:00:00:00:00:01" { // the border router's frames only
			continue
		}
		switch {
		case f["icmpv6.type"] == "155" && f["icmpv6.code"] == "1":
			dio = true
			want := map[string]string{"icmpv6.rpl.dio.instance": "7", "icmpv6.rpl.dio.rank": "256", "icmpv6.rpl.dio.flag.mop": "0x01",
				"icmpv6.rpl.dio.dagid": brGlobal.String(), "icmpv6.rpl.dio.version": "240", "icmpv6.rpl.opt.config.min_hop_rank_inc": "256",
				"icmpv6.rpl.opt.config.def_lifetime": "5", "icmpv6.rpl.opt.prefix": brGlobal.String(), "icmpv6.rpl.opt.prefix.flag": "0x60"} // A and R (RFC 6550 §6.7.10)
			for k, v := range want {
				if f[k] != v {
					t.Errorf("DIO (frame %d) %s = %q, want %q", i+1, k, f[k], v)
				}
			}
		case f["icmpv6.type"] == "155" && f["icmpv6.code"] == "3":
			ack = true
			if f["icmpv6.rpl.daoack.instance"] != "7" || f["icmpv6.rpl.daoack.sequence"] != "242" || f["icmpv6.rpl.daoack.status"] != "0" {
				t.Errorf("DAO-ACK (frame %d): %v", i+1, f)
			}
		case f["udp.dstport"] != "":
			data = true
			// The tunnel: outer root → first hop with the RPI and the
			// source route far, farther; then the packet from Linux.
			if !strings.HasPrefix(f["ipv6.src"], brGlobal.String()+","+rplNodeGlobal.String()) && f["ipv6.src"] != brGlobal.String()+",2001:db8:9::5" {
				t.Errorf("data frame %d: sources %q", i+1, f["ipv6.src"])
			}
			if f["ipv6.dst"] != rplNodeGlobal.String()+","+rplFarther.String() || f["ipv6.opt.rpl.instance_id"] != "0x07" ||
				f["ipv6.opt.rpl.sender_rank"] != "0x0100" || f["ipv6.opt.rpl.flag.o"] != "1" || f["ipv6.routing.type"] != "3" ||
				f["ipv6.routing.segleft"] != "2" || f["ipv6.routing.rpl.full_address"] != fmt.Sprintf("%s,%s", rplFar, rplFarther) {
				t.Errorf("data frame %d: %v", i+1, f)
			}
		}
	}
	if !dio || !ack || !data {
		t.Errorf("in %d frames: DIO %v, DAO-ACK %v, tunnelled data %v", len(captured), dio, ack, data)
	}
}
