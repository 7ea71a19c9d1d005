//go:build linux

package borderrouter

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
	"github.com/lowpanbr/lowpanbr/sim"
)

// A border router on its simulator with capture.file and
// capture.zep_mirror: while it runs the file already holds frames (it is
// flushed as it grows); after it stops, tshark finds in it the
// registrations of both nodes — RAs, NSs with the EARO, NAs, and the
// DAR/DAC exchange of n2's registration through the 6LR n1 — every frame
// with a good FCS; and the UDP listener got the same frames as ZEP v2
// messages, which tshark dissects as ZEP carrying 802.15.4.
func TestCaptureOnSimulator(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a network namespace and a TUN); CI runs as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	ns := netnstest.Add(t, "capture")
	netnstest.IP(t, ns, "link", "set", "lo", "up")
	netnstest.Enter(t, ns)

	dir := t.TempDir()
	zl, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer zl.Close()
	var zmu sync.Mutex
	var zeps [][]byte
	zdone := make(chan struct{})
	go func() {
		defer close(zdone)
		buf := make([]byte, 2048)
		for {
			n, err := zl.Read(buf)
			if err != nil {
				return
			}
			zmu.Lock()
			zeps = append(zeps, bytes.Clone(buf[:n]))
			zmu.Unlock()
		}
	}()

	cfg := Defaults()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.API.Socket = ""
	cfg.Metrics.Listen = ""
	cfg.TUN.Name = "lbrcap0"
	cfg.Mesh.Prefix = netip.MustParsePrefix("2001:db8:c::/64")
	cfg.Sim.Topology, cfg.Sim.Nodes = sim.Line, 2
	cfg.Sim.Routing = sim.RoutingND // n2 registers through the 6LR n1: DAR and DAC on the air
	cfg.Capture.File = filepath.Join(dir, "mesh.pcapng")
	cfg.Capture.ZEPMirror = zl.LocalAddr().String()
	br, _, stop := runTestRouter(t, cfg, WithVersion("test"))
	for deadline := time.Now().Add(30 * time.Second); ; {
		nodes := br.SimNodes()
		if len(nodes) == 2 && nodes[0].Registered && nodes[1].Registered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes not registered in time: %+v", nodes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Live: the file is readable while the border router runs.
	var live int
	for deadline := time.Now().Add(2 * time.Second); live == 0 && time.Now().Before(deadline); {
		time.Sleep(captureFlushEvery)
		live = len(readCapture(t, cfg.Capture.File))
	}
	if live == 0 {
		t.Error("the capture file holds no packet while the border router runs")
	}
	st, ok := br.CaptureStats()
	// The status and the metrics show the capture's counters.
	if c := br.Status().Capture; c == nil || c.File != cfg.Capture.File || c.Written == 0 {
		t.Errorf("Status().Capture = %+v", c)
	}
	if mfs, err := br.metrics.Registry.Gather(); err != nil {
		t.Error(err)
	} else {
		found := 0
		for _, mf := range mfs {
			if n := mf.GetName(); n == "lowpanbr_capture_frames_total" || n == "lowpanbr_capture_zep_messages_total" {
				found += len(mf.GetMetric())
			}
		}
		if found != 4 {
			t.Errorf("%d capture metrics, want written, dropped, sent, error", found)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	zl.Close()
	<-zdone
	if !ok || st.Written == 0 || st.Dropped != 0 || st.WriteErrors != 0 || st.ZEPSent == 0 || st.ZEPErrors != 0 {
		t.Errorf("CaptureStats = %+v, %t", st, ok)
	}

	pkts := readCapture(t, cfg.Capture.File)
	zmu.Lock()
	nz := len(zeps)
	zmu.Unlock()
	t.Logf("%d packets in the file (%d while running), %d ZEP messages", len(pkts), live, nz)
	if len(pkts) < live || nz == 0 {
		t.Fatalf("%d packets in the file, %d ZEP messages", len(pkts), nz)
	}
	for i, p := range pkts {
		if p.Interface != captureWPAN || p.LinkType != pcapio.LinkTypeIEEE802154WithFCS {
			t.Fatalf("packet %d on interface %d, link type %d", i, p.Interface, p.LinkType)
		}
	}

	oracle.Tshark(t)
	c := oracle.Capture{Path: cfg.Capture.File, Prefs: []string{"6lowpan.context0:" + cfg.Mesh.Prefix.String()}}
	counts := map[string]int{}
	for _, r := range c.FieldMaps(t, "wpan.fcs_ok", "icmpv6.type", "icmpv6.opt.type", "_ws.malformed") {
		if r["wpan.fcs_ok"] != "1" {
			counts["bad fcs"]++
		}
		if r["_ws.malformed"] != "" {
			counts["malformed"]++
		}
		if r["icmpv6.type"] != "" {
			counts[r["icmpv6.type"]]++
		}
		if r["icmpv6.type"] == "135" && strings.Contains(","+r["icmpv6.opt.type"]+",", ",33,") {
			counts["ns earo"]++
		}
	}
	t.Logf("tshark: %v", counts)
	// 134 RA, 135 NS, 136 NA, 157 DAR, 158 DAC (RFC 8505 §4).
	for _, k := range []string{"134", "135", "136", "157", "158", "ns earo"} {
		if counts[k] == 0 {
			t.Errorf("no ICMPv6 %s in the capture: %v", k, counts)
		}
	}
	if counts["bad fcs"] != 0 || counts["malformed"] != 0 {
		t.Errorf("frames with a bad FCS or malformed: %v", counts)
	}

	// The ZEP messages, as the UDP datagrams Wireshark would capture.
	var zb bytes.Buffer
	zw, err := pcapio.NewWriter(&zb, pcapio.LinkTypeIPv4)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddrPort("127.0.0.1:40000"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pcapio.ZEPPort)
	for _, z := range zeps {
		if err := zw.WritePacket(time.Now(), pcapio.AppendIPv4UDP(nil, src, dst, z)); err != nil {
			t.Fatal(err)
		}
	}
	zpath := filepath.Join(dir, "zep.pcap")
	if err := os.WriteFile(zpath, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	zc := oracle.Capture{Path: zpath, Prefs: c.Prefs}
	zcounts := map[string]int{}
	for _, r := range zc.FieldMaps(t, "zep.version", "wpan.fcs_ok", "icmpv6.type", "_ws.malformed") {
		zcounts["v"+r["zep.version"]]++
		if r["wpan.fcs_ok"] == "1" {
			zcounts["fcs ok"]++
		}
		if r["icmpv6.type"] != "" {
			zcounts[r["icmpv6.type"]]++
		}
	}
	t.Logf("tshark on ZEP: %v", zcounts)
	if zcounts["v2"] != nz || zcounts["fcs ok"] != nz || zcounts["134"] == 0 || zcounts["135"] == 0 {
		t.Errorf("%d ZEP messages: tshark %v", nz, zcounts)
	}
}
