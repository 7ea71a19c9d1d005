//go:build linux

package hostif

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
)

// tunLinkSnapshot is what iproute2 says about an interface: its flags and
// MTU, its IPv6 addresses and its IPv6 routes in every table, one line each,
// sorted. Two snapshots equal means nothing visible changed.
func tunLinkSnapshot(t *testing.T, ns, ifname string) []string {
	t.Helper()
	// Flags, MTU and state only: the kernel attaches a qdisc the first time
	// a link comes up, and nobody takes it away.
	f := strings.Fields(netnstest.IP(t, ns, "-o", "link", "show", "dev", ifname))
	lines := []string{"link " + strings.Join(f[1:5], " ") + " " + strings.Join(f[7:9], " ")}
	for _, l := range strings.Split(netnstest.IP(t, ns, "-6", "-o", "addr", "show", "dev", ifname), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			_, l, _ = strings.Cut(l, ": ")
			lines = append(lines, "addr "+l)
		}
	}
	for _, l := range strings.Split(netnstest.IP(t, ns, "-6", "route", "show", "table", "all", "dev", ifname), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, "route "+l)
		}
	}
	slices.Sort(lines[1:])
	return lines
}

func readSysctl(t *testing.T, conf string) string {
	t.Helper()
	b, err := os.ReadFile(forwardingPath(conf))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestConfigureLinkUndoExact configures an interface that already carries
// an address and a route that are also in the configuration, and checks
// that Undo brings back exactly what was there: those stay, everything
// added goes, the MTU returns.
func TestConfigureLinkUndoExact(t *testing.T) {
	ns := tunEnterNetns(t)
	netnstest.CheckGoroutines(t)
	openTestTUN(t, "lowpan0", 1500)
	netnstest.IP(t, ns, "link", "set", "dev", "lowpan0", "up")
	netnstest.IP(t, ns, "-6", "addr", "add", "2001:db8:9::9/64", "dev", "lowpan0", "nodad")
	netnstest.IP(t, ns, "-6", "route", "add", "2001:db8:7::/64", "dev", "lowpan0")
	before := tunLinkSnapshot(t, ns, "lowpan0")

	a, err := Configure("lowpan0", Config{
		MTU:    1280,
		Addrs:  []netip.Prefix{tunRouterAddr, netip.MustParsePrefix("2001:db8:9::9/64")},
		Routes: []netip.Prefix{tunMeshPrefix, tunOtherPrefix, netip.MustParsePrefix("2001:db8:7::/64")},
		Up:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]netip.Prefix{tunRouterAddr}, a.Addrs(), cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("Addrs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]netip.Prefix{tunMeshPrefix, tunOtherPrefix}, a.Routes(), cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("Routes (-want +got):\n%s", diff)
	}
	during := tunLinkSnapshot(t, ns, "lowpan0")
	for _, want := range []string{"mtu 1280", "2001:db8:1::1/64", "2001:db8:1::/64 proto static metric 1024", "2001:db8:2::/48 proto static metric 1024"} {
		if !strings.Contains(strings.Join(during, "\n"), want) {
			t.Errorf("configured interface lacks %q:\n%s", want, strings.Join(during, "\n"))
		}
	}

	if err := a.Undo(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, tunLinkSnapshot(t, ns, "lowpan0")); diff != "" {
		t.Errorf("after Undo (-before +after):\n%s", diff)
	}
	if err := a.Undo(); err != nil {
		t.Errorf("second Undo: %v", err)
	}
}

// TestConfigureLinkRollback checks that a failing step undoes the steps
// before it: the kernel refuses ::1 on anything but loopback.
func TestConfigureLinkRollback(t *testing.T) {
	ns := tunEnterNetns(t)
	state := filepath.Join(t.TempDir(), "link.json")
	openTestTUN(t, "lowpan0", 1500)
	before := tunLinkSnapshot(t, ns, "lowpan0")
	_, err := Configure("lowpan0", Config{
		MTU:       1280,
		Addrs:     []netip.Prefix{tunRouterAddr, netip.MustParsePrefix("::1/128")},
		Routes:    []netip.Prefix{tunMeshPrefix},
		Up:        true,
		StateFile: state,
	})
	if err == nil || !strings.Contains(err.Error(), "add address ::1/128") {
		t.Fatalf("Configure with ::1: %v", err)
	}
	if diff := cmp.Diff(before, tunLinkSnapshot(t, ns, "lowpan0")); diff != "" {
		t.Errorf("after the failed Configure (-before +after):\n%s", diff)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after rollback: %v", err)
	}
}

// TestConfigureLinkStateFile checks what the state file records, that Undo
// deletes it, and that Configure refuses to overwrite one left behind.
func TestConfigureLinkStateFile(t *testing.T) {
	tunEnterNetns(t)
	state := filepath.Join(t.TempDir(), "link.json")
	openTestTUN(t, "lowpan0", 1500)
	cfg := Config{MTU: 1280, Addrs: []netip.Prefix{tunRouterAddr}, Routes: []netip.Prefix{tunMeshPrefix}, Up: true, StateFile: state}
	a, err := Configure("lowpan0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var got linkState
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := linkState{
		Version: stateVersion, PID: os.Getpid(), BootID: got.BootID, NetNS: got.NetNS, Link: "lowpan0", Index: got.Index,
		MTU: &mtuChange{Old: 1500, Set: 1280}, SetUp: true,
		Addrs:  []netip.Prefix{tunRouterAddr},
		Routes: []routeKey{{Dst: tunMeshPrefix, Metric: routeMetric, Table: 254}},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("state file (-want +got):\n%s", diff)
	}
	if got.BootID == "" || got.NetNS == 0 || got.Index == 0 {
		t.Errorf("state file lacks identity: %+v", got)
	}
	if _, err := Configure("lowpan0", cfg); err == nil || !strings.Contains(err.Error(), "call CleanupStale first") {
		t.Errorf("Configure over an existing state file: %v", err)
	}
	if err := a.Undo(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after Undo: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(state))
	if len(entries) != 0 {
		t.Errorf("files left in the state directory: %v", entries)
	}
}

// crash drops a configuration without undoing it, as a killed process
// would: its netlink socket closes, nothing else happens.
func crash(a *Applied, dev TUN) {
	a.sys.h.Close()
	dev.Close()
}

// TestCleanupStalePersistentTUN: the previous run attached to a persistent
// TUN, configured it and crashed; its addresses, routes, MTU, up state and
// forwarding remain until CleanupStale undoes them.
func TestCleanupStalePersistentTUN(t *testing.T) {
	ns := tunEnterNetns(t)
	netnstest.CheckGoroutines(t)
	state := filepath.Join(t.TempDir(), "link.json")
	netnstest.IP(t, ns, "tuntap", "add", "dev", "lowpan0", "mode", "tun")
	before := tunLinkSnapshot(t, ns, "lowpan0")
	fwdBefore := readSysctl(t, "all")

	dev, err := OpenTUN("lowpan0", 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Configure("lowpan0", Config{
		MTU: 1400, Addrs: []netip.Prefix{tunRouterAddr}, Routes: []netip.Prefix{tunMeshPrefix, tunOtherPrefix},
		Up: true, Forwarding: true, StateFile: state,
	})
	if err != nil {
		t.Fatal(err)
	}
	crash(a, dev)
	left := strings.Join(tunLinkSnapshot(t, ns, "lowpan0"), "\n")
	for _, want := range []string{"2001:db8:1::1/64", "2001:db8:2::/48 proto static", "mtu 1500"} {
		if !strings.Contains(left, want) {
			t.Fatalf("the simulated crash did not leave %q behind:\n%s", want, left)
		}
	}
	if got := readSysctl(t, "all"); got != "1" {
		t.Fatalf("forwarding after the crash = %s, want 1", got)
	}

	r, err := CleanupStale("lowpan0", state)
	if err != nil {
		t.Fatal(err)
	}
	want := &StaleReport{
		StateFound: true, PID: os.Getpid(), Link: "lowpan0",
		Undone: []string{
			"route 2001:db8:1::/64 dev lowpan0 metric 1024",
			"route 2001:db8:2::/48 dev lowpan0 metric 1024",
			"address 2001:db8:1::1/64 on lowpan0",
			"lowpan0 down",
			"IPv6 forwarding restored",
		},
		// Close put back the persistent TUN's own MTU, so ours is no
		// longer there to undo.
		Left:     []string{"MTU of lowpan0 (1500, changed since)"},
		Occupant: "persistent tun, 0 queues attached",
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, tunLinkSnapshot(t, ns, "lowpan0")); diff != "" {
		t.Errorf("after CleanupStale (-before +after):\n%s", diff)
	}
	if got := readSysctl(t, "all"); got != fwdBefore {
		t.Errorf("forwarding after CleanupStale = %s, want %s", got, fwdBefore)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after CleanupStale: %v", err)
	}
	dev, err = OpenTUN("lowpan0", 0)
	if err != nil {
		t.Fatalf("OpenTUN after CleanupStale: %v", err)
	}
	dev.Close()
}

// TestCleanupStaleReplacedInterface: the previous run's TUN vanished with
// it, and someone has since created another interface of the same name,
// even with the same address and route. CleanupStale must not touch it.
func TestCleanupStaleReplacedInterface(t *testing.T) {
	ns := tunEnterNetns(t)
	state := filepath.Join(t.TempDir(), "link.json")
	fwdBefore := readSysctl(t, "all")
	dev, err := OpenTUN("lowpan0", 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Configure("lowpan0", Config{
		Addrs: []netip.Prefix{tunRouterAddr}, Routes: []netip.Prefix{tunOtherPrefix}, Up: true, Forwarding: true, StateFile: state,
	})
	if err != nil {
		t.Fatal(err)
	}
	crash(a, dev)
	netnstest.IP(t, ns, "link", "add", "lowpan0", "type", "bridge")
	netnstest.IP(t, ns, "link", "set", "dev", "lowpan0", "up")
	netnstest.IP(t, ns, "-6", "addr", "add", "2001:db8:1::1/64", "dev", "lowpan0", "nodad")
	netnstest.IP(t, ns, "-6", "route", "add", "2001:db8:2::/48", "dev", "lowpan0")
	before := tunLinkSnapshot(t, ns, "lowpan0")

	r, err := CleanupStale("lowpan0", state)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Gone, "no longer exists") || !strings.Contains(r.Gone, "is now another interface") {
		t.Errorf("Gone = %q", r.Gone)
	}
	if diff := cmp.Diff([]string{"IPv6 forwarding restored"}, r.Undone); diff != "" {
		t.Errorf("Undone (-want +got):\n%s", diff)
	}
	if r.Occupant != "bridge (not a TUN)" {
		t.Errorf("Occupant = %q", r.Occupant)
	}
	// The subnet-router anycast route exists only while forwarding is on
	// (RFC 4291 §2.6.1), and forwarding has been restored.
	noAnycast := cmpopts.IgnoreSliceElements(func(l string) bool { return strings.HasPrefix(l, "route anycast ") })
	if diff := cmp.Diff(before, tunLinkSnapshot(t, ns, "lowpan0"), noAnycast); diff != "" {
		t.Errorf("the other interface changed (-before +after):\n%s", diff)
	}
	if got := readSysctl(t, "all"); got != fwdBefore {
		t.Errorf("forwarding = %s, want %s", got, fwdBefore)
	}
}

// TestCleanupStaleOtherBoot: a state file from before a reboot describes
// nothing that still exists, even if an interface now has that name and
// index.
func TestCleanupStaleOtherBoot(t *testing.T) {
	ns := tunEnterNetns(t)
	state := filepath.Join(t.TempDir(), "link.json")
	dev := openTestTUN(t, "lowpan0", 0)
	a, err := Configure(dev.Name(), Config{Addrs: []netip.Prefix{tunRouterAddr}, Up: true, StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	a.sys.h.Close()
	st, err := readStateFile(state)
	if err != nil {
		t.Fatal(err)
	}
	st.BootID = "00000000-0000-0000-0000-000000000000"
	if err := writeStateFile(state, st); err != nil {
		t.Fatal(err)
	}
	before := tunLinkSnapshot(t, ns, "lowpan0")
	r, err := CleanupStale("lowpan0", state)
	if err != nil {
		t.Fatal(err)
	}
	if r.Gone != "the host has rebooted since" || len(r.Undone) != 0 {
		t.Errorf("report: %+v", r)
	}
	if diff := cmp.Diff(before, tunLinkSnapshot(t, ns, "lowpan0")); diff != "" {
		t.Errorf("interface changed (-before +after):\n%s", diff)
	}
}

// TestCleanupStaleLiveInstance: a state file whose writer still runs (the
// same executable) is refused and kept.
func TestCleanupStaleLiveInstance(t *testing.T) {
	state := filepath.Join(t.TempDir(), "link.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestNetlinkHelperSleep$")
	cmd.Env = append(os.Environ(), "LOWPANBR_TEST_SLEEP=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	st := &linkState{Version: stateVersion, PID: cmd.Process.Pid, Link: "lowpan0", Index: 1 << 30, SetUp: true}
	st.BootID, st.NetNS = currentIdentity()
	if err := writeStateFile(state, st); err != nil {
		t.Fatal(err)
	}
	// Wait until the child has become the test binary.
	self, _ := os.Readlink("/proc/self/exe")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if exe, _ := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe"); exe == self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("helper process did not start")
		}
	}
	if _, err := CleanupStale("", state); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("CleanupStale with a live writer: %v", err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state file of a live instance: %v", err)
	}
}

// TestNetlinkHelperSleep is the live instance of TestCleanupStaleLiveInstance.
func TestNetlinkHelperSleep(t *testing.T) {
	if os.Getenv("LOWPANBR_TEST_SLEEP") == "" {
		t.Skip("helper process only")
	}
	time.Sleep(time.Minute)
}

// TestCleanupStaleStateFiles covers the file itself: none, and corrupt.
func TestCleanupStaleStateFiles(t *testing.T) {
	dir := t.TempDir()
	r, err := CleanupStale("", filepath.Join(dir, "none.json"))
	if err != nil || r.StateFound {
		t.Errorf("missing state file: %+v, %v", r, err)
	}
	for name, content := range map[string]string{
		"truncated": `{"version":1,"link":"lowpan0","ifindex":`,
		"version":   `{"version":99,"link":"lowpan0","ifindex":5}`,
		"no link":   `{"version":1}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := CleanupStale("", path)
		if !errors.Is(err, ErrCorruptStateFile) {
			t.Errorf("%s: %v, want ErrCorruptStateFile", name, err)
		}
		if _, serr := os.Stat(path + ".corrupt"); serr != nil {
			t.Errorf("%s: not moved aside: %v", name, serr)
		}
		if _, serr := os.Stat(path); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s: still in place: %v", name, serr)
		}
	}
}

// TestConfigureLinkLocal: with LinkLocal the TUN gets the 6LBR's
// link-local address and no address the kernel made up (before, the
// kernel's stable-privacy fe80:: address sent RS and MLD into the mesh);
// ReplaceAddr moves it when the radio's EUI-64 changes; Undo removes it.
func TestConfigureLinkLocal(t *testing.T) {
	ns := tunEnterNetns(t)
	openTestTUN(t, "lowpan0", 1500)
	state := filepath.Join(t.TempDir(), "link.json")
	ll1 := netip.MustParseAddr("fe80::1:2:3:4")
	ll2 := netip.MustParseAddr("fe80::1:2:3:5")
	a, err := Configure("lowpan0", Config{Addrs: []netip.Prefix{tunRouterAddr}, LinkLocal: ll1, Up: true, StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	linkLocals := func() []string {
		var out []string
		for _, l := range tunLinkSnapshot(t, ns, "lowpan0") {
			if strings.Contains(l, "inet6 fe80:") {
				out = append(out, strings.Fields(l)[3])
			}
		}
		return out
	}
	// The kernel would add its own a moment after the link came up.
	time.Sleep(300 * time.Millisecond)
	if got := linkLocals(); !slices.Equal(got, []string{"fe80::1:2:3:4/64"}) {
		t.Fatalf("link-local addresses on the TUN: %v, want only fe80::1:2:3:4/64", got)
	}
	if err := a.ReplaceAddr(netip.PrefixFrom(ll1, 64), netip.PrefixFrom(ll2, 64)); err != nil {
		t.Fatal(err)
	}
	if got := linkLocals(); !slices.Equal(got, []string{"fe80::1:2:3:5/64"}) {
		t.Fatalf("after ReplaceAddr: %v, want only fe80::1:2:3:5/64", got)
	}
	st, err := readStateFile(state)
	if err != nil || !slices.Contains(st.Addrs, netip.PrefixFrom(ll2, 64)) || slices.Contains(st.Addrs, netip.PrefixFrom(ll1, 64)) {
		t.Fatalf("state file after ReplaceAddr: %+v, %v", st, err)
	}
	if err := a.ReplaceAddr(netip.PrefixFrom(ll1, 64), netip.PrefixFrom(ll2, 64)); err == nil {
		t.Error("ReplaceAddr of an address it no longer has succeeded")
	}
	if err := a.Undo(); err != nil {
		t.Fatal(err)
	}
	if got := linkLocals(); len(got) != 0 {
		t.Errorf("after Undo: %v", got)
	}
}
