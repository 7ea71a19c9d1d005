//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/borderrouter"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
)

// The opt-in end-to-end test of the RPL root against RIOT's gnrc_rpl
// (issue 14's first target): the daemon, built from this package and run
// as an operator would, is the DODAG root; two RIOT native routers form a
// chain BR – r1 – r2 with r2 out of the border router's range.
//
// The daemon's own ZEP hub (sim.zep) cannot say which ZEP peers hear
// which (sim.links names only the simulated nodes), so the test owns the
// medium instead: it serves the simulated RCP on a PTY (sim.StartRCP, the
// very RCP the daemon embeds) and hands the daemon its
// spinel+hdlc+uart URL, as for a USB dongle. The medium's default link is
// "out of range"; br–r1 and r1–r2 get lossless links when the RIOT nodes
// attach, as in rpl/testdata/riot/README.md. Every frame on the air is
// mirrored into a pcap that tshark checks afterwards.

const (
	// EnvRIOTRPL6LR names a RIOT gnrc_rpl router ELF (native64,
	// socket_zep, auto_init_gnrc_rpl; rpl/testdata/riot/README.md).
	EnvRIOTRPL6LR = "LOWPANBR_RIOT_RPL_6LR"
	// EnvRIOTRPLMode runs the chain with another rpl.mode (default
	// storing, the only mode RIOT's gnrc_rpl implements).
	EnvRIOTRPLMode = "LOWPANBR_RIOT_RPL_MODE"
	// EnvRIOTRPLPcap copies the run's capture to this path
	// (rpl/testdata/daemon_README.md: how daemon_riot_chain.pcap was made).
	EnvRIOTRPLPcap = "LOWPANBR_RIOT_RPL_PCAP"
	// EnvRIOTRPLHold keeps the chain running this long (a Go duration)
	// after the first pings, then pings r2 again: the routes must live on
	// RIOT's DAO refreshes (every 60–61 s after a DAO-ACK, gnrc_rpl.c
	// gnrc_rpl_long_delay_dao) against their 5-minute lifetime.
	EnvRIOTRPLHold = "LOWPANBR_RIOT_RPL_HOLD"
)

// rplChain is the world of TestEndToEndRIOTRPLChain.
type rplChain struct {
	m       *medium.Medium
	br      *sim.EmbeddedRCP
	brEUI   [8]byte
	capture string // the pcap of the air
	capDone chan struct{}
	stopCap func()
}

// The RIOT routers' ZEP ports and EUI-64s, and the hub's port (in the br
// namespace, so fixed ports cannot clash with another test).
const (
	rplHubPort   = 17754
	rplR1Port    = 17771
	rplR2Port    = 17772
	rplMirrorRx  = 17790
	rplLinkRSSI  = -50
	rplJoinLimit = 90 * time.Second
	rplSettle    = 14 * time.Second
)

var (
	rplBREUI = [8]byte{0x02, 0x52, 0x42, 0x52, 0x00, 0x00, 0x00, 0x01}
	rplR1EUI = "02:52:50:4c:00:00:00:01"
	rplR2EUI = "02:52:50:4c:00:00:00:02"
)

// riotGlobal is the address a RIOT node forms in prefix from the PIO: the
// IID is its EUI-64 with the universal/local bit inverted (RFC 4944 §6).
func riotGlobal(prefix netip.Prefix, eui string) netip.Addr {
	a := prefix.Addr().As16()
	e := euiBytes(eui)
	copy(a[8:], e[:])
	a[8] ^= 0x02
	return netip.AddrFrom16(a)
}

// riotLinkLocal is fe80:: with the same IID.
func riotLinkLocal(eui string) netip.Addr {
	return riotGlobal(netip.MustParsePrefix("fe80::/64"), eui)
}

func euiBytes(s string) [8]byte {
	var e [8]byte
	for i, p := range strings.Split(s, ":") {
		v, _ := strconv.ParseUint(p, 16, 8)
		e[i] = byte(v)
	}
	return e
}

// startRPLMedium starts the medium, the border router's RCP on a PTY, the
// ZEP hub and the mirror inside namespace ns, and the goroutine that
// links br–r1 and r1–r2 as the RIOT nodes attach.
func startRPLMedium(t *testing.T, ns string) *rplChain {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &rplChain{brEUI: rplBREUI, capDone: make(chan struct{})}
	c.m = medium.New(medium.Config{Seed: 1, TimeScale: 1, DefaultLink: medium.Link{Disconnected: true}, Logger: logger})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.m.Run(ctx) }()
	var err error
	if c.br, err = sim.StartRCP(ctx, c.m, "br", rcpsim.Config{EUI64: rplBREUI}, logger); err != nil {
		t.Fatal(err)
	}
	var hub, mirTx, mirRx *net.UDPConn
	if err := inNetns(t, ns, func() (err error) {
		lo := netip.MustParseAddr("127.0.0.1")
		if hub, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, rplHubPort))); err != nil {
			return err
		}
		if mirRx, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, rplMirrorRx))); err != nil {
			return err
		}
		mirTx, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); c.m.ServeZEP(ctx, hub) }()
	c.m.Mirror(mirTx, mirRx.LocalAddr().(*net.UDPAddr))

	c.capture = filepath.Join(t.TempDir(), "chain.pcap")
	f, err := os.Create(c.capture)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapio.NewWriter(f, pcapio.LinkTypeIEEE802154WithFCS)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// The mirror's ZEP messages carry the frame's virtual start time.
		defer close(c.capDone)
		buf := make([]byte, 2048)
		for {
			n, err := mirRx.Read(buf)
			if err != nil {
				return
			}
			var z pcapio.ZEP
			if z.Decode(buf[:n]) != nil || z.PSDU == nil {
				continue
			}
			w.WritePacket(z.Timestamp, z.PSDU)
		}
	}()

	// Link the pairs as soon as both ends are on the medium (a ZEP peer
	// attaches with its first frame, which may therefore be lost).
	wg.Add(1)
	go func() {
		defer wg.Done()
		names := map[string]string{fmt.Sprintf("zep 127.0.0.1:%d", rplR1Port): "r1", fmt.Sprintf("zep 127.0.0.1:%d", rplR2Port): "r2"}
		linked := map[*medium.Node]bool{}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			byName := map[string]*medium.Node{}
			for _, n := range c.m.Nodes() {
				if name, ok := names[n.Config().Name]; ok {
					byName[name] = n
				}
			}
			l := medium.Link{RSSI: rplLinkRSSI}
			if r1 := byName["r1"]; r1 != nil && !linked[r1] {
				c.m.SetLink(c.br.Node, r1, l)
				c.m.SetLink(r1, c.br.Node, l)
				linked[r1] = true
			}
			// r2 hears r1 only; a restarted r1 (new node) is linked anew.
			if r1, r2 := byName["r1"], byName["r2"]; r1 != nil && r2 != nil && !linked[r2] {
				c.m.SetLink(r1, r2, l)
				c.m.SetLink(r2, r1, l)
				linked[r2] = true
			}
		}
	}()
	c.stopCap = func() {
		cancel()
		c.br.Close()
		c.m.Close()
		wg.Wait()
		hub.Close()
		mirTx.Close()
		mirRx.Close()
		<-c.capDone
		f.Close()
	}
	t.Cleanup(func() { c.stopCap() })
	return c
}

// startRIOT starts a RIOT native node (socket_zep from UDP port to the
// hub at hubPort on loopback) in namespace ns; a cleanup kills it.
func startRIOT(t *testing.T, ns, elf, name string, port, hubPort int, eui string) *riotNode {
	t.Helper()
	r := &riotNode{}
	r.cmd = exec.Command("ip", "netns", "exec", ns, elf, "-z", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", port, hubPort), "-U", eui)
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	// RIOT native forks a helper per descriptor that outlives a killed
	// parent (cpu/native/async_read.c _sigio_child) and ignores SIGTERM:
	// a process group of its own, killed whole.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := r.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.stdin = stdin
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		r.cmd.Wait()
		if t.Failed() {
			t.Logf("RIOT %s output (last 40 lines):\n%s", name, tail(r.out.String(), 40))
		}
	})
	return r
}

// riotRPL is what RIOT's shell command `rpl` says about instance 1
// (sys/shell/cmds/gnrc_rpl.c _gnrc_rpl_dodag_show).
type riotRPL struct {
	MOP, Rank  int
	DODAGID    string
	Parent     string
	ParentRank int
}

var (
	riotInstanceRE = regexp.MustCompile(`instance \[(\d+) \| Iface: \d+ \| mop: (\d+) \|`)
	riotDODAGRE    = regexp.MustCompile(`dodag \[(\S+) \| R: (\d+) \|`)
	riotParentRE   = regexp.MustCompile(`parent \[addr: (\S+) \| rank: (\d+)\]`)
)

// showRPL runs `rpl` on r and parses what it prints; ok is false until the
// node is in a DODAG with a parent (a floating DODAG's root has none: then
// only DODAGID and Rank are filled).
func showRPL(r *riotNode) (riotRPL, bool) {
	mark := len(r.out.String())
	r.stdin.Write([]byte("rpl\n"))
	time.Sleep(300 * time.Millisecond)
	out := r.out.String()[mark:]
	var s riotRPL
	m := riotInstanceRE.FindStringSubmatch(out)
	d := riotDODAGRE.FindStringSubmatch(out)
	p := riotParentRE.FindStringSubmatch(out)
	if d != nil {
		// Also without a parent: a floating DODAG's own ID and rank.
		s.DODAGID = d[1]
		s.Rank, _ = strconv.Atoi(d[2])
	}
	if m == nil || d == nil || p == nil {
		return s, false
	}
	s.MOP, _ = strconv.Atoi(m[2])
	s.Parent = p[1]
	s.ParentRank, _ = strconv.Atoi(p[2])
	// RIOT shows rank 65535 (infinite) between parents.
	return s, s.Rank != 0xffff
}

// rplRoutes returns the daemon's RPL routes by destination.
func rplRoutes(t *testing.T, d *daemonProc) map[string]borderrouter.Route {
	t.Helper()
	var all []borderrouter.Route
	if err := d.get(t, "/api/v1/routes", &all); err != nil {
		return nil
	}
	out := map[string]borderrouter.Route{}
	for _, r := range all {
		if r.Protocol == "rpl" {
			out[r.Destination] = r
		}
	}
	return out
}

// TestEndToEndRIOTRPLChain: the daemon as a storing-mode DODAG root (rpl.mode
// storing, rpl.rpi auto: no RPI, which a default RIOT build would drop), two
// RIOT gnrc_rpl routers in a chain BR – r1 – r2 with r2 out of the border
// router's range. Both join the daemon's DODAG (RIOT's `rpl`: DODAGID the
// border router's address, MOP 2, ranks 512 and 768, parents the border
// router and r1); the daemon has RPL routes for both through r1; r2
// answers at least 9 of 10 pings from the LAN with hop limit 62 (r1 and
// the border router on the way back); and tshark reads the air: no
// malformed frame or expert error; the root's DIOs with MOP 2, the
// DODAG's version, rank 256, the DODAG Configuration option (in the
// first one at least) and a PIO with R and the border router's address;
// a DAO of r1's carrying r1 and r2 as Targets; every DAO-ACK of the root
// with status 0 and the sequence of a DAO RIOT sent; no Hop-by-Hop header
// in anything the root sends into the mesh.
//
// LOWPANBR_RIOT_RPL_MODE=non-storing runs the same chain with a MOP 1 root
// and only logs what happens beyond the joins (RIOT implements storing
// mode only: rpl/testdata/riot/README.md).
func TestEndToEndRIOTRPLChain(t *testing.T) {
	elf := os.Getenv(EnvRIOTRPL6LR)
	if elf == "" {
		t.Skipf("set %s to a RIOT gnrc_rpl router ELF (native64; rpl/testdata/riot/README.md) to run this test", EnvRIOTRPL6LR)
	}
	if _, err := os.Stat(elf); err != nil {
		t.Fatalf("%s=%s: %v", EnvRIOTRPL6LR, elf, err)
	}
	mode := os.Getenv(EnvRIOTRPLMode)
	if mode == "" {
		mode = "storing"
	}
	storing := mode == "storing"
	requireE2EHost(t)
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	c := startRPLMedium(t, n.br)
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--metrics-listen", "", "--radio", c.br.URL(), "--rpl-mode", mode)
	var root borderrouter.RPLStatus
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st borderrouter.Status
		if err := d.get(t, "/api/v1/status", &st); err == nil && st.RPL != nil {
			root = *st.RPL
			t.Logf("root: mode %s, instance %d, version %d, DODAGID %s, RPI %v", root.Mode, root.Instance, root.Version, root.DODAGID, root.RPI)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon's API shows no RPL root within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	start := time.Now()
	r1 := startRIOT(t, n.br, elf, "r1", rplR1Port, rplHubPort, rplR1EUI)
	r2 := startRIOT(t, n.br, elf, "r2", rplR2Port, rplHubPort, rplR2EUI)
	brLL := riotLinkLocal(brEUIString(c.brEUI))
	r1LL := riotLinkLocal(rplR1EUI)
	r1G, r2G := riotGlobal(e2ePrefix, rplR1EUI), riotGlobal(e2ePrefix, rplR2EUI)

	// Joining: RIOT's own view of the DODAG. RIOT copies the MOP of the
	// DIO it joins (gnrc_rpl_control_messages.c _recv_DIO_for_new_dodag)
	// and adds MinHopRankIncrease per hop (of0.c calc_rank).
	wantMOP := 2
	if !storing {
		wantMOP = 1
	}
	joins := []struct {
		node       *riotNode
		name       string
		rank       int
		parent     netip.Addr
		parentRank int
	}{{r1, "r1", 512, brLL, 256}, {r2, "r2", 768, r1LL, 512}}
	for _, j := range joins {
		var s riotRPL
		for {
			var ok bool
			if s, ok = showRPL(j.node); ok {
				break
			}
			if time.Since(start) > rplJoinLimit {
				t.Fatalf("%s not in a DODAG %v after starting", j.name, rplJoinLimit)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s in the DODAG %v after the start (±0.4 s): %+v", j.name, time.Since(start).Round(100*time.Millisecond), s)
		if s.DODAGID != e2eRouter.String() || s.MOP != wantMOP || s.Rank != j.rank || s.Parent != j.parent.String() || s.ParentRank != j.parentRank {
			t.Errorf("%s: `rpl` shows %+v, want DODAGID %v, MOP %d, rank %d, parent %v with rank %d", j.name, s, e2eRouter, wantMOP, j.rank, j.parent, j.parentRank)
		}
	}

	// The root's routes: RIOT sends its first DAO 1–2 s after joining
	// (gnrc_rpl_dodag.c gnrc_rpl_parent_update → gnrc_rpl_delay_dao), a
	// parent its own 1–2 s after a child's (gnrc_rpl_recv_DAO).
	var routes map[string]borderrouter.Route
	for {
		routes = rplRoutes(t, d)
		_, ok1 := routes[r1G.String()]
		_, ok2 := routes[r2G.String()]
		if ok1 && ok2 {
			t.Logf("RPL routes for r1 and r2 %v after the start: %+v", time.Since(start).Round(100*time.Millisecond), routes)
			break
		}
		if time.Since(start) > rplJoinLimit+30*time.Second {
			if storing {
				t.Fatalf("no RPL routes for r1 %v and r2 %v: %+v", r1G, r2G, routes)
			}
			t.Logf("non-storing: RPL routes %v after the start: %+v", time.Since(start).Round(time.Second), routes)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if storing {
		// Storing mode: r1 is the next hop to both (RFC 6550 §9.8).
		for _, a := range []netip.Addr{r1G, r2G} {
			if r := routes[a.String()]; r.Via != r1LL.String() || r.NextHop != rplR1EUI {
				t.Errorf("route to %v: via %q, next hop %q; want r1 (%v, %s)", a, r.Via, r.NextHop, r1LL, rplR1EUI)
			}
		}
	}

	// RIOT has no CSMA on ZEP (socket_zep.c: no CCA, submac.c: no
	// backoff) and drops what arrives while it transmits, so an echo
	// request meeting one of its DAO retransmissions is lost: one loss in
	// ten is allowed. r1's DAO-ACKs seldom reach r2 (RIOT's soft ACKs are
	// late for RIOT too: testdata/riot/README.md), so r2 repeats its DAO
	// every 3 s four times (gnrc_rpl.c _dao_handle_send) and r1 its own
	// after each: the pings wait for that to end, 14 s after the start.
	time.Sleep(time.Until(start.Add(rplSettle)))
	got, hl := pingCount(t, n.lan, r2G.String(), 10, 56, "0.5")
	t.Logf("ping from the LAN to r2 %v: %d/10 answered, hop limit %d", r2G, got, hl)
	if storing && (got < 9 || hl != 62) {
		t.Errorf("pings to r2 through r1: %d/10 answered, hop limit %d (want ≥ 9, 62)", got, hl)
	}
	got1, hl1 := pingCount(t, n.lan, r1G.String(), 5, 56, "0.5")
	t.Logf("ping from the LAN to r1 %v: %d/5 answered, hop limit %d", r1G, got1, hl1)
	if got1 < 4 || hl1 != 63 {
		t.Errorf("pings to r1: %d/5 answered, hop limit %d (want ≥ 4, 63)", got1, hl1)
	}
	if hold, err := time.ParseDuration(os.Getenv(EnvRIOTRPLHold)); err == nil && hold > 0 {
		t.Logf("holding the chain for %v (%s)", hold, EnvRIOTRPLHold)
		for end := time.Now().Add(hold); time.Now().Before(end); {
			time.Sleep(min(30*time.Second, time.Until(end)))
			t.Logf("%v after the start: RPL routes %+v", time.Since(start).Round(time.Second), rplRoutes(t, d))
		}
		got, hl := pingCount(t, n.lan, r2G.String(), 10, 56, "0.5")
		t.Logf("ping from the LAN to r2 after the hold: %d/10 answered, hop limit %d", got, hl)
		if storing && (got < 9 || hl != 62) {
			t.Errorf("pings to r2 after %v: %d/10 answered, hop limit %d (want ≥ 9, 62)", hold, got, hl)
		}
	}
	for _, j := range joins {
		s, _ := showRPL(j.node)
		t.Logf("%s at the end: %+v", j.name, s)
	}
	var regs []borderrouter.Registration
	if err := d.get(t, "/api/v1/registrations", &regs); err == nil {
		t.Logf("registrations at the 6LBR: %+v", regs)
	}
	var st borderrouter.Status
	if err := d.get(t, "/api/v1/status", &st); err == nil && st.RPL != nil {
		t.Logf("root counters: %+v", st.RPL.Stats)
	}
	elapsed := time.Since(start)

	// Stop the world, then read the air.
	d.stop(t, n)
	for _, r := range []*riotNode{r1, r2} {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	}
	c.stopCap()
	t.Logf("run of %v; capture %s", elapsed.Round(time.Second), c.capture)
	if p := os.Getenv(EnvRIOTRPLPcap); p != "" {
		b, err := os.ReadFile(c.capture)
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	checkRPLChainCapture(t, rplChainWant{path: c.capture, brEUI: c.brEUI, mop: wantMOP, version: root.Version, storing: storing,
		r1G: r1G, r2G: r2G, start: start})
}

// brEUIString is the EUI-64 as tshark prints wpan.src64.
func brEUIString(e [8]byte) string {
	s := make([]string, 8)
	for i, b := range e {
		s[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(s, ":")
}

// rplChainWant is what checkRPLChainCapture expects of the air.
type rplChainWant struct {
	path     string
	brEUI    [8]byte
	mop      int
	version  uint8
	storing  bool
	r1G, r2G netip.Addr
	start    time.Time // when the RIOT nodes were started, for the log
}

// checkRPLChainCapture has tshark decode the run's air and checks the
// root's DIOs and DAO-ACKs and RIOT's DAOs.
func checkRPLChainCapture(t *testing.T, w rplChainWant) {
	t.Helper()
	oracle.Tshark(t)
	cp := oracle.Capture{Path: w.path, TwoPass: true, Prefs: []string{"6lowpan.context0:" + e2ePrefix.String()}}
	rows := cp.FieldMaps(t, "frame.time_epoch", "_ws.malformed", "_ws.expert.severity", "_ws.expert.message", "wpan.src64", "wpan.seq_no",
		"ipv6.src", "ipv6.dst", "ipv6.nxt", "icmpv6.type", "icmpv6.code",
		"icmpv6.rpl.dio.instance", "icmpv6.rpl.dio.version", "icmpv6.rpl.dio.rank", "icmpv6.rpl.dio.flag.mop", "icmpv6.rpl.dio.dagid",
		"icmpv6.rpl.opt.config.min_hop_rank_inc", "icmpv6.rpl.opt.prefix", "icmpv6.rpl.opt.prefix.flag", "icmpv6.rpl.opt.config.flag.r",
		"icmpv6.rpl.dao.sequence", "icmpv6.rpl.dao.flag.k", "icmpv6.rpl.opt.target.prefix",
		"icmpv6.rpl.daoack.sequence", "icmpv6.rpl.daoack.status")
	br := brEUIString(w.brEUI)
	// at is a frame's time after the RIOT nodes' start (the mirror stamps
	// frames with the medium's clock, which runs in real time).
	at := func(r map[string]string) string {
		f, _ := strconv.ParseFloat(r["frame.time_epoch"], 64)
		return fmt.Sprintf("%.3f s", f-float64(w.start.UnixNano())/1e9)
	}
	var dios, diosConf, acks int
	daoSeqs := map[string]map[string]bool{} // sender (IPv6) → DAO sequences sent
	r1CarriesR2 := false
	for i, r := range rows {
		if r["_ws.malformed"] != "" || strings.Contains(r["_ws.expert.severity"], "8388608") {
			t.Errorf("frame %d: malformed or expert error: %q %q", i+1, r["_ws.expert.severity"], r["_ws.expert.message"])
		}
		if r["wpan.src64"] == br && r["ipv6.nxt"] == "0" {
			t.Errorf("frame %d: the root sent a Hop-by-Hop header (%s → %s), which a default RIOT build drops", i+1, r["ipv6.src"], r["ipv6.dst"])
		}
		if r["icmpv6.type"] != "155" {
			continue
		}
		switch r["icmpv6.code"] {
		case "1": // DIO
			if r["wpan.src64"] != br {
				continue
			}
			dios++
			want := map[string]string{"icmpv6.rpl.dio.flag.mop": fmt.Sprintf("0x%02x", w.mop), "icmpv6.rpl.dio.rank": "256",
				"icmpv6.rpl.dio.version": fmt.Sprint(w.version), "icmpv6.rpl.dio.dagid": e2eRouter.String(),
				// Wireshark 4.0 files the PIO's R flag under
				// icmpv6.rpl.opt.config.flag.r. With R the PIO carries the
				// root's whole address (RFC 6550 §6.7.10).
				"icmpv6.rpl.opt.config.flag.r": "1", "icmpv6.rpl.opt.prefix": e2eRouter.String()}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("frame %d: the root's DIO: %s = %q, want %q", i+1, k, r[k], v)
				}
			}
			if r["icmpv6.rpl.opt.config.min_hop_rank_inc"] != "" {
				diosConf++
			} else if dios == 1 {
				t.Errorf("frame %d: the root's first DIO has no DODAG Configuration option, without which RIOT does not join", i+1)
			}
		case "2": // DAO
			if r["wpan.src64"] == br {
				continue
			}
			src := r["ipv6.src"]
			if daoSeqs[src] == nil {
				daoSeqs[src] = map[string]bool{}
			}
			daoSeqs[src][r["icmpv6.rpl.dao.sequence"]] = true
			targets := r["icmpv6.rpl.opt.target.prefix"]
			if src == riotLinkLocal(rplR1EUI).String() && strings.Contains(targets, w.r1G.String()) && strings.Contains(targets, w.r2G.String()) {
				r1CarriesR2 = true
			}
			t.Logf("DAO at %s: %s → %s MAC seq %s, DAO seq %s, K=%s, targets %s", at(r), src, r["ipv6.dst"], r["wpan.seq_no"],
				r["icmpv6.rpl.dao.sequence"], r["icmpv6.rpl.dao.flag.k"], targets)
		case "3": // DAO-ACK
			if r["wpan.src64"] != br {
				continue
			}
			acks++
			dst := r["ipv6.dst"]
			t.Logf("DAO-ACK at %s: → %s MAC seq %s, DAO seq %s, status %s", at(r), dst, r["wpan.seq_no"], r["icmpv6.rpl.daoack.sequence"], r["icmpv6.rpl.daoack.status"])
			if !daoSeqs[dst][r["icmpv6.rpl.daoack.sequence"]] {
				t.Errorf("frame %d: DAO-ACK to %s with sequence %s, but no DAO from it with that sequence before", i+1, dst, r["icmpv6.rpl.daoack.sequence"])
			}
			if r["icmpv6.rpl.daoack.status"] != "0" {
				t.Errorf("frame %d: DAO-ACK status %s, want 0", i+1, r["icmpv6.rpl.daoack.status"])
			}
		}
	}
	t.Logf("capture: %d frames, %d DIOs from the root (%d with the DODAG Configuration option), %d DAO-ACK frames; DAO sequences sent %v",
		len(rows), dios, diosConf, acks, daoSeqs)
	if dios == 0 {
		t.Error("no DIO from the root")
	}
	if w.storing {
		if acks == 0 {
			t.Error("no DAO-ACK from the root")
		}
		if !r1CarriesR2 {
			t.Errorf("no DAO of r1's carries both r1's %v and r2's %v as Targets", w.r1G, w.r2G)
		}
	}
}

// setBRLink sets the link between the border router and the RIOT node
// name ("r1", "r2"), both ways.
func (c *rplChain) setBRLink(t *testing.T, name string, port int, l medium.Link) {
	t.Helper()
	want := fmt.Sprintf("zep 127.0.0.1:%d", port)
	for _, n := range c.m.Nodes() {
		if n.Config().Name == want {
			c.m.SetLink(c.br.Node, n, l)
			c.m.SetLink(n, c.br.Node, l)
			return
		}
	}
	t.Fatalf("%s (%s) is not on the medium", name, want)
}

// TestEndToEndRIOTRPLRejoin: a RIOT gnrc_rpl router next to the daemon's
// root, cut off until it detaches, rejoins soon after its link comes back.
// With one-second lifetime units RIOT probes its silent parent after 4 s
// and drops it after three unanswered DISes (gnrc_rpl.c _parent_timeout);
// with no parent left it floats a DODAG of its own (gnrc_rpl_dodag.c
// gnrc_rpl_local_repair → _float_dodag: its address for DODAGID, G clear)
// and leaves it only for a grounded DODAG's DIO. The root has meanwhile let
// its trickle interval grow (the test waits until it is 16 s or more), so
// the router would wait up to that long for our next DIO (up to hours with
// the default 20 doublings); the root resets its trickle on the floating
// DODAG's DIO instead, and the router is back within seconds. The figures
// are logged.
func TestEndToEndRIOTRPLRejoin(t *testing.T) {
	elf := os.Getenv(EnvRIOTRPL6LR)
	if elf == "" {
		t.Skipf("set %s to a RIOT gnrc_rpl router ELF (native64; rpl/testdata/riot/README.md) to run this test", EnvRIOTRPL6LR)
	}
	if _, err := os.Stat(elf); err != nil {
		t.Fatalf("%s=%s: %v", EnvRIOTRPL6LR, elf, err)
	}
	requireE2EHost(t)
	n := newE2ENet(t)
	c := startRPLMedium(t, n.br)
	cfg := filepath.Join(t.TempDir(), "rpl.yaml")
	if err := os.WriteFile(cfg, []byte("rpl:\n  mode: storing\n  lifetime_unit: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startE2EDaemon(t, n, "--config", cfg, "--prefix", e2ePrefix.String(), "--metrics-listen", "", "--radio", c.br.URL())
	root := func() borderrouter.RPLStatus {
		var st borderrouter.Status
		if err := d.get(t, "/api/v1/status", &st); err != nil || st.RPL == nil {
			return borderrouter.RPLStatus{}
		}
		return *st.RPL
	}
	r1 := startRIOT(t, n.br, elf, "r1", rplR1Port, rplHubPort, rplR1EUI)
	t.Cleanup(func() { syscall.Kill(-r1.cmd.Process.Pid, syscall.SIGKILL) })
	brLL := riotLinkLocal(brEUIString(c.brEUI))
	waitRPL := func(what string, limit time.Duration, cond func(riotRPL, bool) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			s, ok := showRPL(r1)
			if cond(s, ok) {
				return time.Since(start)
			}
			if time.Since(start) > limit {
				t.Fatalf("r1 %s: not within %v (`rpl` shows %+v)", what, limit, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	joined := func(s riotRPL, ok bool) bool { return ok && s.Rank == 512 && s.Parent == brLL.String() }
	waitRPL("joins", rplJoinLimit, joined)

	// Let the root's trickle interval grow: a DODAG left alone.
	deadline := time.Now().Add(90 * time.Second)
	for root().DIOIntervalSeconds < 16 {
		if time.Now().After(deadline) {
			t.Fatalf("the root's DIO interval is %.1f s after 90 s", root().DIOIntervalSeconds)
		}
		time.Sleep(time.Second)
	}
	before := root()
	t.Logf("root's DIO interval before the cut: %.1f s", before.DIOIntervalSeconds)

	c.setBRLink(t, "r1", rplR1Port, medium.Link{Disconnected: true})
	var gone riotRPL
	cut := waitRPL("detaches", 60*time.Second, func(s riotRPL, ok bool) bool { gone = s; return !ok })
	t.Logf("r1 detached %v after the cut; `rpl` shows DODAG %s, rank %d", cut.Round(100*time.Millisecond), gone.DODAGID, gone.Rank)
	c.setBRLink(t, "r1", rplR1Port, medium.Link{RSSI: rplLinkRSSI})
	back := waitRPL("joins again", 90*time.Second, joined)
	after := root()
	floating := after.Stats.Root.DIOFloating - before.Stats.Root.DIOFloating
	poison := after.Stats.Root.DIODetached - before.Stats.Root.DIODetached
	t.Logf("r1 joined again %v after the link came back; the root heard %d DIOs of a floating DODAG and %d with INFINITE_RANK; its DIO interval is %.3f s",
		back.Round(10*time.Millisecond), floating, poison, after.DIOIntervalSeconds)
	if floating+poison == 0 {
		t.Error("the root heard nothing of the detached router: neither a floating DODAG's DIO nor a poisoning one")
	}
	// RIOT's floating DODAG's DIOs come at its trickle's pace (reset when
	// it floated), so within about the time it spent detached; the root's
	// answer within its Imin.
	if limit := cut + 5*time.Second; back > limit {
		t.Errorf("r1 took %v to join again, want at most %v (the root's interval was %.1f s)", back, limit, before.DIOIntervalSeconds)
	}
}
