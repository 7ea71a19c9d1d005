//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lowpanbr/lowpanbr/borderrouter"
	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// The end-to-end test: a namespace "lan" with a host, a veth to a namespace
// "br" where the daemon runs (built from this package, started as an
// operator would) with its TUN and the built-in simulated RCP behind a PTY,
// and simulated nodes on the simulated medium. Everything is checked from
// the LAN host with the system's ping and real sockets.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// daemonBinary builds lowpanbr once per test process.
func daemonBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lowpanbr-e2e-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "lowpanbr")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func requireE2EHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("end-to-end test needs root to create network namespaces, veths and a TUN")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("end-to-end test needs /dev/net/tun: %v", err)
	}
	for _, tool := range []string{"ip", "ping", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("end-to-end test needs %s (iproute2, iputils-ping, the Go toolchain)", tool)
			if os.Getenv(oracle.RequireEnv) != "" {
				t.Fatal(msg) // CI installs them: a skip would hide a failure
			}
			t.Skip(msg)
		}
	}
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// e2eNet is the two namespaces and the veth between them.
type e2eNet struct {
	lan, br string
	lanAddr netip.Addr // the LAN host
	brAddr  netip.Addr // the border router's LAN address
}

// newE2ENet creates lan and br namespaces joined by a veth; a cleanup
// deletes them whatever happens to the test.
func newE2ENet(t *testing.T) *e2eNet {
	t.Helper()
	n := &e2eNet{lan: netnstest.Add(t, "lan"), br: netnstest.Add(t, "br"),
		lanAddr: netip.MustParseAddr("2001:db8:ff::2"), brAddr: netip.MustParseAddr("2001:db8:ff::1")}
	for _, ns := range []string{n.lan, n.br} {
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	sh(t, "ip", "-n", n.lan, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", n.br)
	sh(t, "ip", "-n", n.lan, "addr", "add", n.lanAddr.String()+"/64", "dev", "eth0", "nodad")
	sh(t, "ip", "-n", n.br, "addr", "add", n.brAddr.String()+"/64", "dev", "eth0", "nodad")
	sh(t, "ip", "-n", n.lan, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", n.br, "link", "set", "eth0", "up")
	return n
}

// syncBuffer is a bytes.Buffer that exec's copying goroutine and the test
// may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemonProc is a running lowpanbr in the br namespace.
type daemonProc struct {
	cmd    *exec.Cmd
	api    string
	stdout syncBuffer
	stderr syncBuffer
	done   chan error
	client *http.Client
}

func startE2EDaemon(t *testing.T, n *e2eNet, args ...string) *daemonProc {
	t.Helper()
	dir := t.TempDir()
	d := &daemonProc{api: filepath.Join(dir, "api.sock"), done: make(chan error, 1)}
	all := append([]string{"netns", "exec", n.br, daemonBinary(t), "run", "--forwarding", "--tun", "lbr0",
		"--state-dir", filepath.Join(dir, "state"), "--api", d.api, "--log-level", "debug"}, args...)
	d.cmd = exec.Command("ip", all...)
	d.cmd.Stdout, d.cmd.Stderr = &d.stdout, &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon stdout:\n%s", d.stdout.String())
			t.Logf("daemon stderr (last 60 lines):\n%s", tail(d.stderr.String(), 60))
		}
	})
	d.client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.api)
		}}}
	return d
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (d *daemonProc) get(t *testing.T, path string, v any) error {
	t.Helper()
	resp, err := d.client.Get("http://lowpanbr" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// waitRegistered polls the API until the named nodes are registered.
func (d *daemonProc) waitRegistered(t *testing.T, names ...string) map[string]borderrouter.SimNode {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-d.done:
			t.Fatalf("daemon exited: %v", err)
		default:
		}
		var nodes []borderrouter.SimNode
		if err := d.get(t, "/api/v1/sim/nodes", &nodes); err == nil {
			byName := map[string]borderrouter.SimNode{}
			ok := true
			for _, n := range nodes {
				byName[n.Name] = n
			}
			for _, name := range names {
				ok = ok && byName[name].Registered
			}
			if ok {
				return byName
			}
			if time.Now().After(deadline) {
				t.Fatalf("nodes not registered in time: %+v", nodes)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("API: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cli runs a lowpanbr command against the daemon's API, as an operator
// does, and returns its output.
func (d *daemonProc) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(daemonBinary(t), append(args, "--api", d.api)...).CombinedOutput()
	if err != nil {
		t.Fatalf("lowpanbr %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// stop sends SIGTERM and expects a clean exit that removes the TUN.
func (d *daemonProc) stop(t *testing.T, n *e2eNet) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("daemon exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop within 15 s of SIGTERM")
	}
	if out, err := exec.Command("ip", "-n", n.br, "link", "show", "lbr0").CombinedOutput(); err == nil {
		t.Fatalf("the TUN survived the daemon:\n%s", out)
	}
}

// ping runs the system's ping from the LAN; a frame lost in the simulated
// mesh may cost a try, as on a real one.
func ping(t *testing.T, ns string, dst netip.Addr, size int) string {
	t.Helper()
	var out []byte
	var err error
	for try := 0; try < 4; try++ {
		out, err = exec.Command("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "1", "-W", "4", "-s", fmt.Sprint(size), dst.String()).CombinedOutput()
		if err == nil {
			return string(out)
		}
	}
	t.Fatalf("ping %v from the LAN: %v\n%s", dst, err, out)
	return ""
}

// inNetns runs f on an OS thread inside namespace ns; sockets f opens
// stay in ns. The thread is never returned to the runtime's pool.
func inNetns(t *testing.T, ns string, f func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// udpEcho sends a datagram of size octets from the LAN to the node's UDP
// echo service and checks what comes back.
func udpEcho(t *testing.T, ns string, dst netip.Addr, size int) {
	t.Helper()
	var conn *net.UDPConn
	if err := inNetns(t, ns, func() (err error) {
		conn, err = net.ListenUDP("udp6", &net.UDPAddr{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i*7 + 3)
	}
	buf := make([]byte, 2048)
	for try := 0; try < 4; try++ {
		if _, err := conn.WriteToUDPAddrPort(payload, netip.AddrPortFrom(dst, 7)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		if from.Addr() != dst || !bytes.Equal(buf[:n], payload) {
			t.Fatalf("UDP echo from %v: %d octets, intact %v", from, n, bytes.Equal(buf[:n], payload))
		}
		return
	}
	t.Fatalf("no UDP echo of %d octets from %v", size, dst)
}

// unreachable expects ping to report an ICMPv6 address unreachable from
// the border router.
func unreachable(t *testing.T, ns string, dst, from netip.Addr) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "1", "-W", "4", dst.String()).CombinedOutput()
	if !strings.Contains(string(out), "From "+from.String()) || !strings.Contains(string(out), "Address unreachable") {
		t.Fatalf("ping %v after deregistration: want an address unreachable from %v, got\n%s", dst, from, out)
	}
}

// scrape fetches the daemon's /metrics over real HTTP from inside the br
// namespace (where it listens on loopback) and returns the samples by
// name{labels}.
func scrape(t *testing.T, ns string) map[string]float64 {
	t.Helper()
	var conn net.Conn
	if err := inNetns(t, ns, func() (err error) {
		conn, err = net.DialTimeout("tcp", "127.0.0.1:9580", 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("metrics endpoint: %v", err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }, DisableKeepAlives: true}}
	resp, err := c.Get("http://127.0.0.1:9580/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

var e2ePrefix = netip.MustParsePrefix("2001:db8:1::/64")

// e2eRouter is the border router's address in e2ePrefix: ::1.
var e2eRouter = netip.MustParseAddr("2001:db8:1::1")

// bleNodeGlobal is the address the i-th simulated BLE node (device address
// C0:00:00:00:01:xx, xx = i+1) forms under prefix: its IID comes from the
// device address (RFC 7668 §3.2.2).
func bleNodeGlobal(prefix netip.Prefix, i int) netip.Addr {
	iid, _ := lowpan.BLELinkAddr([6]byte{0xc0, 0, 0, 0, 1, byte(i + 1)}).IID()
	a := prefix.Addr().As16()
	copy(a[8:], iid[:])
	return netip.AddrFrom16(a)
}

func nodeAddr(i int) netip.Addr {
	a := e2ePrefix.Addr().As16()
	a[14], a[15] = 0x01, byte(1+i)
	return netip.AddrFrom16(a)
}

// A star of ten 6LNs: every node answers ping from the LAN, 1200-octet UDP
// datagrams cross both ways, an intruder claiming n3's address is refused,
// and a deregistered node earns an ICMPv6 error.
func TestEndToEndStar(t *testing.T) {
	requireE2EHost(t)
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-topology", "star", "--sim-nodes", "10", "--sim-intruder", "n3")
	names := make([]string, 10)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i+1)
	}
	nodes := d.waitRegistered(t, names...)
	before := scrape(t, n.br)
	for i, name := range names {
		if got := nodes[name].Address; got != nodeAddr(i).String() {
			t.Fatalf("%s registered %s, want %v", name, got, nodeAddr(i))
		}
		ping(t, n.lan, nodeAddr(i), 56)
	}
	udpEcho(t, n.lan, nodeAddr(1), 1200)
	ping(t, n.lan, nodeAddr(4), 1200)

	// The intruder: DUPLICATE, no address; n3 keeps it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var all []borderrouter.SimNode
		if err := d.get(t, "/api/v1/sim/nodes", &all); err != nil {
			t.Fatal(err)
		}
		var in borderrouter.SimNode
		for _, x := range all {
			if x.Name == "intruder-n3" {
				in = x
			}
		}
		if in.Status == "duplicate address" {
			if in.Registered || in.Address != "" || in.Refused != nodeAddr(2).String() {
				t.Fatalf("intruder: %+v", in)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("intruder never refused: %+v", in)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var regs []borderrouter.Registration
	if err := d.get(t, "/api/v1/registrations", &regs); err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		if r.Address == nodeAddr(2).String() && r.ROVR != "0200000000000103" {
			t.Fatalf("n3's address now belongs to ROVR %s", r.ROVR)
		}
	}
	ping(t, n.lan, nodeAddr(2), 56)

	// Fragments went both ways on air.
	var st borderrouter.Status
	if err := d.get(t, "/api/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	if st.Link.FragmentsSent == 0 || st.Link.Reassembly.Completed == 0 {
		t.Fatalf("no fragmentation seen: link stats %+v", st.Link)
	}

	// The metrics moved with the traffic: 10 pings + a 1200-octet ping +
	// a 1200-octet UDP echo (13 fragments each way for the large ones).
	after := scrape(t, n.br)
	atLeast := func(name string, want float64) {
		t.Helper()
		if got := after[name] - before[name]; got < want {
			t.Errorf("%s moved by %v, want at least %v", name, got, want)
		}
	}
	atLeast(`lowpanbr_tun_packets_total{direction="rx"}`, 12)
	atLeast(`lowpanbr_tun_packets_total{direction="tx"}`, 12)
	atLeast(`lowpanbr_forwarded_packets_total{path="to_mesh"}`, 12)
	atLeast(`lowpanbr_radio_tx_latency_seconds_count`, 12)
	atLeast(`lowpanbr_radio_frames_sent_total{link="wpan0",result="acked"}`, 10+2*13)
	atLeast(`lowpanbr_lowpan_fragments_sent_total{link="wpan0"}`, 2*13)
	atLeast(`lowpanbr_lowpan_fragments_received_total{link="wpan0"}`, 2*13)
	atLeast(`lowpanbr_lowpan_reassemblies_total{link="wpan0",outcome="completed"}`, 2)
	atLeast(`lowpanbr_lowpan_header_bytes_saved_total{link="wpan0"}`, 12*16) // the LAN source is carried inline
	atLeast(`lowpanbr_radio_bytes_sent_total{link="wpan0"}`, 2*1200)
	if after[`lowpanbr_nd_registrations{path="direct"}`] != 10 || after["lowpanbr_radio_up"] != 1 || after[`lowpanbr_neighbors{link="wpan0"}`] != 11 {
		t.Errorf("gauges: registrations %v, radio up %v, neighbours %v", after[`lowpanbr_nd_registrations{path="direct"}`], after["lowpanbr_radio_up"], after[`lowpanbr_neighbors{link="wpan0"}`])
	}
	if after[`lowpanbr_nd_registration_outcomes_total{status="duplicate"}`] < 1 {
		t.Error("the intruder's DUPLICATE is not counted")
	}
	if rssi, ok := after[`lowpanbr_neighbor_rssi_dbm{link="wpan0",neighbor="02:00:00:00:00:00:01:01"}`]; !ok || rssi != -45 {
		t.Errorf("n1's RSSI: %v %v", rssi, ok)
	}

	// n5 deregisters: unreachable, with an ICMPv6 error from the router,
	// counted once.
	resp, err := d.client.Post("http://lowpanbr/api/v1/sim/nodes/n5/deregister", "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("deregister n5: %v %v", err, resp)
	}
	resp.Body.Close()
	unreachable(t, n.lan, nodeAddr(4), e2eRouter)
	final := scrape(t, n.br)
	if got := final[`lowpanbr_icmpv6_errors_sent_total{type="unreachable"}`] - after[`lowpanbr_icmpv6_errors_sent_total{type="unreachable"}`]; got != 1 {
		t.Errorf("address unreachable errors sent: %v, want 1", got)
	}
	if final[`lowpanbr_nd_registrations{path="direct"}`] != 9 {
		t.Errorf("registrations after n5 left: %v", final[`lowpanbr_nd_registrations{path="direct"}`])
	}
	d.stop(t, n)
}

// A line of three hops through two 6LRs that relay registrations
// (sim.routing nd, no RPL), the LAN learning its route from the border
// router's RAs (RFC 4191 RIO): n3, a 6LN behind n2, registers through
// EDAR/EDAC and is reachable; 1200-octet datagrams cross every hop
// fragmented; after n3 deregisters it is unreachable.
func TestEndToEndLine(t *testing.T) {
	requireE2EHost(t)
	n := newE2ENet(t)
	for k, v := range map[string]string{"accept_ra": "2", "forwarding": "0", "accept_ra_rt_info_max_plen": "64"} {
		sh(t, "ip", "netns", "exec", n.lan, "sysctl", "-qw", "net.ipv6.conf.eth0."+k+"="+v)
	}
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-topology", "line", "--sim-nodes", "3", "--sim-routing", "nd", "--upstream-ra", "eth0")
	d.waitRegistered(t, "n1", "n2", "n3")
	var regs []borderrouter.Registration
	if err := d.get(t, "/api/v1/registrations", &regs); err != nil {
		t.Fatal(err)
	}
	via := map[string]string{}
	for _, r := range regs {
		via[r.Address] = r.Via
	}
	if via[nodeAddr(2).String()] != nodeAddr(1).String() || via[nodeAddr(1).String()] != nodeAddr(0).String() || via[nodeAddr(0).String()] != "" {
		t.Fatalf("registrations: %+v", regs)
	}
	// The route to the mesh comes from the RA's RIO.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(sh(t, "ip", "-n", n.lan, "-6", "route", "show", e2ePrefix.String()), "via fe80::") {
		if time.Now().After(deadline) {
			t.Fatalf("no route to the mesh learnt from RAs:\n%s", sh(t, "ip", "-n", n.lan, "-6", "route"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := range 3 {
		out := ping(t, n.lan, nodeAddr(i), 56)
		// Each 6LR on the way back decrements the hop limit the node set, and Linux once more.
		if want := fmt.Sprintf("ttl=%d", 63-i); !strings.Contains(out, want) {
			t.Errorf("ping n%d: want %s:\n%s", i+1, want, out)
		}
	}
	udpEcho(t, n.lan, nodeAddr(2), 1200)

	// The status commands, as an operator runs them against the daemon.
	cli := func(args ...string) string { t.Helper(); return d.cli(t, args...) }
	routes := cli("routes")
	for i, want := range []string{"-", nodeAddr(0).String(), nodeAddr(1).String()} {
		re := regexp.MustCompile(regexp.QuoteMeta(nodeAddr(i).String()) + `\s+nd\s+wpan0\s+02:00:00:00:00:00:01:01\s+` + regexp.QuoteMeta(want) + `\s+` + fmt.Sprint(i+1) + `\s+-\s+-\n`)
		if !re.MatchString(routes) {
			t.Errorf("lowpanbr routes: no line for n%d through n1, via %s, %d hops:\n%s", i+1, want, i+1, routes)
		}
	}
	if nodes := cli("nodes"); !strings.Contains(nodes, "via 6LR "+nodeAddr(1).String()) || !strings.Contains(nodes, "3 registered") {
		t.Errorf("lowpanbr nodes:\n%s", nodes)
	}
	if st := cli("status"); !strings.Contains(st, "Registrations:  3 live (1 direct, 2 via 6LRs)") || !strings.Contains(st, "02:00:00:00:00:00:01:01") ||
		!regexp.MustCompile(`RPL:\s+non-storing root of \S+, instance 0, version 240,`).MatchString(st) {
		t.Errorf("lowpanbr status:\n%s", st)
	}

	if out := cli("rpl", "repair"); !strings.Contains(out, "DODAG version 241") {
		t.Errorf("lowpanbr rpl repair: %s", out)
	}

	resp, err := d.client.Post("http://lowpanbr/api/v1/sim/nodes/n3/deregister", "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("deregister n3: %v %v", err, resp)
	}
	resp.Body.Close()
	unreachable(t, n.lan, nodeAddr(2), e2eRouter)
	d.stop(t, n)
	// The final RA withdrew the route.
	if out := sh(t, "ip", "-n", n.lan, "-6", "route", "show", e2ePrefix.String()); strings.Contains(out, "via") {
		t.Errorf("route still there after the daemon stopped:\n%s", out)
	}
}

// SIGHUP re-reads the configuration file: new compression contexts take
// effect, a new channel is reported as needing a restart and left alone,
// and a broken file changes nothing.
func TestEndToEndReload(t *testing.T) {
	requireE2EHost(t)
	n := newE2ENet(t)
	file := filepath.Join(t.TempDir(), "config.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mesh:\n  prefix: 2001:db8:1::/64\nsim:\n  nodes: 2\n")
	d := startE2EDaemon(t, n, "--config", file)
	d.waitRegistered(t, "n1", "n2")
	waitLog := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(d.stderr.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("the daemon never logged %q", want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	write("mesh:\n  prefix: 2001:db8:1::/64\n  contexts: [0=2001:db8:1::/64, 1=2001:db8:77::/64]\nradio:\n  channel: 20\nsim:\n  nodes: 2\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(`need_restart=[radio.channel]`)
	if log := d.stderr.String(); !strings.Contains(log, `applied=[mesh.contexts]`) {
		t.Fatalf("reload log:\n%s", tail(log, 5))
	}
	var st borderrouter.Status
	if err := d.get(t, "/api/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Contexts) != 2 || st.Contexts[1].Prefix != "2001:db8:77::/64" || st.Radio.Channel != 15 {
		t.Fatalf("after SIGHUP: contexts %+v, channel %d", st.Contexts, st.Radio.Channel)
	}
	write("radio:\n  chanel: 20\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitLog("configuration not reloaded")
	ping(t, n.br, nodeAddr(0), 56) // still running, from the router itself
	d.stop(t, n)
}

// BLE beside the 802.15.4 mesh, under one prefix and one registry: two
// simulated IPSP nodes on the simulated BLE controller (behind a real
// PTY, like the RCP). From the LAN: ping and 1200-octet UDP both ways to a
// BLE node; a BLE node pings an 802.15.4 node through the border router;
// a dropped BLE connection is re-established and traffic resumes.
func TestEndToEndBLE(t *testing.T) {
	requireE2EHost(t)
	n := newE2ENet(t)
	sh(t, "ip", "-n", n.lan, "-6", "route", "add", e2ePrefix.String(), "via", n.brAddr.String())
	d := startE2EDaemon(t, n, "--prefix", e2ePrefix.String(), "--sim-nodes", "3", "--sim-ble-nodes", "3", "--sim-ble-stalled", "b3")
	nodes := d.waitRegistered(t, "n1", "n2", "n3", "b1", "b2", "b3")
	b1 := netip.MustParseAddr(nodes["b1"].Address)
	if want := bleNodeGlobal(e2ePrefix, 0); b1 != want {
		t.Fatalf("b1 registered %v, want %v (IID from its device address)", b1, want)
	}
	ping(t, n.lan, b1, 56)
	ping(t, n.lan, netip.MustParseAddr(nodes["b2"].Address), 1200)
	udpEcho(t, n.lan, b1, 1200)
	post := func(path string) (int, string) {
		t.Helper()
		resp, err := d.client.Post("http://lowpanbr"+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// BLE → 802.15.4, through the border router.
	var code int
	var body string
	for try := 0; try < 4; try++ {
		if code, body = post("/api/v1/sim/nodes/b1/ping?to=" + nodeAddr(0).String()); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK {
		t.Fatalf("b1 → n1: %d %s", code, body)
	}
	var regs []borderrouter.Registration
	if err := d.get(t, "/api/v1/registrations", &regs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range regs {
		if r.Address == b1.String() {
			found = r.LinkAddr == "c0:00:00:00:01:01"
		}
	}
	if !found {
		t.Fatalf("b1 is not registered with its BLE address: %+v", regs)
	}
	// b3 never returns credits: a burst for it fills its channel's queue
	// and is refused there, while b1 keeps answering at once.
	var conn *net.UDPConn
	if err := inNetns(t, n.lan, func() (err error) {
		conn, err = net.ListenUDP("udp6", &net.UDPAddr{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b3 := netip.MustParseAddr(nodes["b3"].Address)
	for range 40 {
		conn.WriteToUDPAddrPort(make([]byte, 1200), netip.AddrPortFrom(b3, 9))
	}
	start := time.Now()
	ping(t, n.lan, b1, 56)
	udpEcho(t, n.lan, b1, 1200)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("b1 took %v to answer beside a stalled peer", d)
	}
	var st borderrouter.Status
	if err := d.get(t, "/api/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	stalled := false
	for _, c := range st.BLE.Channels {
		if c.Peer == "C0:00:00:00:01:03" {
			stalled = c.CreditStalls > 0 && c.QueueFull > 0
		}
	}
	if !stalled {
		t.Errorf("b3's channel shows no credit stall: %+v", st.BLE.Channels)
	}

	// The connection drops; the node advertises again, the border router
	// reconnects, the node registers again.
	if code, body := post("/api/v1/sim/nodes/b1/drop"); code != http.StatusOK {
		t.Fatalf("drop: %d %s", code, body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var all []borderrouter.SimNode
		if err := d.get(t, "/api/v1/sim/nodes", &all); err != nil {
			t.Fatal(err)
		}
		var b borderrouter.SimNode
		for _, x := range all {
			if x.Name == "b1" {
				b = x
			}
		}
		if b.Sessions >= 2 && b.Registered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b1 did not come back: %+v", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ping(t, n.lan, b1, 56)
	d.stop(t, n)
}
