package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// A line of six simulated RPL routers under the daemon as DODAG root, in
// both modes of operation: every node gets a DAO route at the root, the
// far end answers pings from the LAN with the hop limit six hops cost, a
// 1200-octet datagram crosses every hop fragmented, and `lowpanbr routes`
// shows the routes as the root has them — the whole source route in
// non-storing mode, the next hop in storing mode. The third run has the
// root send RFC 8138 6LoRHs (rpl.lorh), which the simulated routers'
// 6LoWPAN decoder reads.
func TestEndToEndLineRPL(t *testing.T) {
	requireE2EHost(t)
	for _, tt := range []struct {
		name, mode string
		lorh       bool
	}{{"non-storing", "non-storing", false}, {"storing", "storing", false}, {"non-storing-6lorh", "non-storing", true}} {
		mode := tt.mode
		t.Run(tt.name, func(t *testing.T) {
			if tt.lorh {
				t.Setenv("LOWPANBR_RPL_LORH", "true")
			}
			n := newE2ENet(t)
			sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
			d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-topology", "line", "--sim-nodes", "6",
				"--rpl-mode", mode)
			names := []string{"n1", "n2", "n3", "n4", "n5", "n6"}
			d.waitRegistered(t, names...)
			// Every node's DAO route at the root (the nodes register with
			// their parents; the root learns them from DAOs).
			deadline := time.Now().Add(60 * time.Second)
			var routes []borderrouter.Route
			for {
				routes = nil
				if err := d.get(t, "/api/v1/routes", &routes); err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, r := range routes {
					if r.Protocol == "rpl" && r.NextHop != "" && (mode == "storing" || len(r.Path) > 0) {
						n++
					}
				}
				if n == len(names) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("RPL routes after 60 s: %+v", routes)
				}
				time.Sleep(200 * time.Millisecond)
			}
			far := nodeAddr(5).String()
			for _, r := range routes {
				if r.Destination == nodeAddr(0).String() && r.Hops != 1 {
					t.Errorf("n1, a neighbour: %+v", r)
				}
				if r.Destination != far {
					continue
				}
				if mode == "non-storing" {
					want := []string{nodeAddr(0).String(), nodeAddr(1).String(), nodeAddr(2).String(), nodeAddr(3).String(), nodeAddr(4).String(), far}
					if !slices.Equal(r.Path, want) || r.Hops != 6 || r.Via != nodeAddr(4).String() {
						t.Errorf("n6's route: %+v", r)
					}
				} else if r.Hops != 0 || len(r.Path) != 0 || r.NextHop != "02:00:00:00:00:00:01:01" || r.Via != "fe80::101" {
					t.Errorf("n6's route (storing: the next hop n1 only): %+v", r)
				}
			}
			// The simulated routers' view: joined, OF0 rank 256 per hop
			// below the root's 256.
			var sims []borderrouter.SimNode
			if err := d.get(t, "/api/v1/sim/nodes", &sims); err != nil {
				t.Fatal(err)
			}
			for _, sn := range sims {
				i := slices.Index(names, sn.Name)
				if sn.RPL == nil || !sn.RPL.Joined || sn.RPL.Rank != uint16(256*(i+2)) || sn.RPL.Parent == "" || sn.RPL.DODAGVersion != 240 {
					t.Errorf("%s's RPL state: %+v", sn.Name, sn.RPL)
				}
			}
			// The LAN reaches the far end: six hops in the mesh, each RPL
			// router decrementing the hop limit of the reply, Linux once.
			if out := ping(t, n.lan, nodeAddr(5), 56); !strings.Contains(out, "ttl=58") {
				t.Errorf("ping n6: want ttl=58:\n%s", out)
			}
			udpEcho(t, n.lan, nodeAddr(5), 1200)

			cli := func(args ...string) string { t.Helper(); return d.cli(t, args...) }
			out := cli("routes")
			line := regexp.QuoteMeta(far) + `\s+rpl\s+wpan0\s+02:00:00:00:00:00:01:01\s+`
			if mode == "non-storing" {
				line += regexp.QuoteMeta(nodeAddr(4).String()) + `\s+6\s+\S+\s+` + regexp.QuoteMeta(nodeAddr(0).String()+" > ")
			} else {
				line += `fe80::\S+\s+\?\s+`
			}
			if !regexp.MustCompile(line).MatchString(out) {
				t.Errorf("lowpanbr routes: no line matching %s:\n%s", line, out)
			}
			if st := cli("status"); !regexp.MustCompile(fmt.Sprintf(`RPL:\s+%s root of %s, instance 0, version 240, [67] targets`, mode, regexp.QuoteMeta(e2eRouter.String()))).MatchString(st) {
				t.Errorf("lowpanbr status:\n%s", st)
			}
			m := scrape(t, n.br)
			if m["lowpanbr_rpl_targets"] < 6 || m[`lowpanbr_rpl_data_packets_total{action="routed_down"}`] == 0 {
				t.Errorf("metrics: targets %v, routed down %v", m["lowpanbr_rpl_targets"], m[`lowpanbr_rpl_data_packets_total{action="routed_down"}`])
			}
			if mode == "non-storing" && m[`lowpanbr_rpl_data_packets_total{action="source_routed"}`] == 0 {
				t.Errorf("no source-routed packet counted")
			}
			d.stop(t, n)
		})
	}
}
