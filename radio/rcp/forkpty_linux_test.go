package rcp

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/sim/rcpsim"
)

// The tests in this file run the driver against RCP child processes on a
// PTY, through the forkpty transport, as `--radio spinel+hdlc+forkpty://…`
// does with ot-rcp: the child is this test binary, re-executed in RCP mode
// (TestMain). Each child appends its PID to a file, so a test can count the
// children the driver started and signal the current one.
const (
	childEnv     = "LOWPANBR_RCPTEST_CHILD"      // set: run as an RCP child
	childPIDs    = "LOWPANBR_RCPTEST_PIDS"       // file each child appends its PID to
	childEUIFile = "LOWPANBR_RCPTEST_EUI_FILE"   // file with the EUI-64 (16 hex digits) a child reports
	childBoot    = "LOWPANBR_RCPTEST_BOOT_DELAY" // time a child takes to boot
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := runChildRCP(); err != nil {
			fmt.Fprintln(os.Stderr, "rcp child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type stdio struct{}

func (stdio) Read(b []byte) (int, error)  { return os.Stdin.Read(b) }
func (stdio) Write(b []byte) (int, error) { return os.Stdout.Write(b) }
func (stdio) Close() error                { return os.Stdin.Close() }

// runChildRCP is the child: it boots (taking its time, like a program
// loading on a busy Pi or a dongle re-enumerating: the host's RESET waits
// in the PTY meanwhile), then serves a simulated RCP on its terminal. The
// simulated RCP announces its boot with a power-on notification, then
// reads what the host sent.
func runChildRCP() error {
	if f, err := os.OpenFile(os.Getenv(childPIDs), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
		fmt.Fprintln(f, os.Getpid())
		f.Close()
	}
	eui := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01}
	if p := os.Getenv(childEUIFile); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		v, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(v) != 8 {
			return fmt.Errorf("EUI-64 file %s: %q", p, b)
		}
		copy(eui[:], v)
	}
	if d, err := time.ParseDuration(os.Getenv(childBoot)); err == nil {
		time.Sleep(d)
	}
	ctx := context.Background()
	m := medium.New(medium.Config{Seed: 1, TimeScale: 1})
	go m.Run(ctx)
	node, err := m.Attach(medium.NodeConfig{Name: "rcp", Channel: medium.MinChannel, ExtAddr: eui})
	if err != nil {
		return err
	}
	r := rcpsim.New(node, rcpsim.Config{EUI64: eui})
	// SIGUSR1: the RCP resets on its own (a watchdog, a crash).
	usr := make(chan os.Signal, 1)
	signal.Notify(usr, syscall.SIGUSR1)
	go func() {
		for range usr {
			r.Reset()
		}
	}()
	return r.Serve(ctx, stdio{})
}

// childRCP describes the children of one test.
type childRCP struct {
	t       *testing.T
	pids    string
	euiFile string
}

func newChildRCP(t *testing.T, bootDelay time.Duration) *childRCP {
	t.Helper()
	if _, _, err := transport.OpenPTY(); err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	dir := t.TempDir()
	c := &childRCP{t: t, pids: dir + "/pids", euiFile: dir + "/eui"}
	c.setEUI("0200000000000001")
	t.Setenv(childEnv, "1")
	t.Setenv(childPIDs, c.pids)
	t.Setenv(childEUIFile, c.euiFile)
	t.Setenv(childBoot, bootDelay.String())
	return c
}

// setEUI sets the EUI-64 the next child reports.
func (c *childRCP) setEUI(hexEUI string) {
	if err := os.WriteFile(c.euiFile, []byte(hexEUI), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// started lists the PIDs of the children started so far.
func (c *childRCP) started() []int {
	b, err := os.ReadFile(c.pids)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

func (c *childRCP) current() int {
	p := c.started()
	if len(p) == 0 {
		c.t.Fatal("no RCP child started")
	}
	return p[len(p)-1]
}

func (c *childRCP) open(t *testing.T, edit func(*Config)) *Driver {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	u, err := transport.ParseURL("spinel+hdlc+forkpty://" + exe)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	cfg := Config{Open: URLOpener(u, logger), Name: "child", Settings: testSettings, Logger: logger,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	d, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// settle lets a driver run and checks that it started exactly want
// children and is up.
func (c *childRCP) settle(d *Driver, want int, how time.Duration) {
	c.t.Helper()
	time.Sleep(how)
	if got := len(c.started()); got != want {
		c.t.Fatalf("%d RCP children started, want %d (stats %+v)", got, want, d.Stats())
	}
	if !d.Ready() {
		c.t.Fatalf("driver not ready after %v: %+v", how, d.Stats())
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// An RCP that takes 300 ms to boot (its power-on notification comes after
// the host's RESET, whose own notification follows) is started once and
// stays up: neither notification is taken for an unexpected reset.
func TestForkPTYSlowBootOneChild(t *testing.T) {
	for _, boot := range []time.Duration{0, 300 * time.Millisecond, 600 * time.Millisecond} {
		t.Run(boot.String(), func(t *testing.T) {
			c := newChildRCP(t, boot)
			d := c.open(t, nil)
			c.settle(d, 1, time.Second)
			if s := d.Stats(); s.Resets != 0 || s.Reconnects != 0 {
				t.Errorf("stats after a slow boot: %+v, want no resets and no reconnects", s)
			}
		})
	}
}

// kill -9 of the RCP child: exactly one new child, which stays; closing
// the driver then starts none and ends the child.
func TestForkPTYKilledChildOneRespawn(t *testing.T) {
	c := newChildRCP(t, 100*time.Millisecond)
	d := c.open(t, nil)
	first := c.current()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reconnection", 5*time.Second, func() bool { return d.Stats().Reconnects == 1 && d.Ready() })
	c.settle(d, 2, time.Second)
	second := c.current()
	if !alive(second) {
		t.Fatalf("the new RCP child %d is not running", second)
	}
	if err := transmitBroadcast(t, d); err != nil {
		t.Fatalf("transmit after recovery: %v", err)
	}
	d.Close()
	time.Sleep(300 * time.Millisecond)
	if n := len(c.started()); n != 2 {
		t.Errorf("%d children after Close, want 2: closing must not start another", n)
	}
	waitFor(t, "child ended", 2*time.Second, func() bool { return !alive(second) })
}

// A stopped RCP (SIGSTOP) is found by the transmit-done timeout and the
// probe after it, does not answer the RESET over the same connection, and
// is replaced by exactly one new child.
func TestForkPTYStoppedChildOneRespawn(t *testing.T) {
	c := newChildRCP(t, 0)
	d := c.open(t, func(cfg *Config) { cfg.Client.TransmitRetries = 1 })
	first := c.current()
	if err := syscall.Kill(first, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(first, syscall.SIGKILL) })
	if err := transmitBroadcast(t, d); err == nil {
		t.Fatal("transmit to a stopped RCP succeeded")
	}
	// Found within a second, then a RESET unanswered for ResetTimeout
	// (2 s), then the new child.
	waitFor(t, "reconnection", 10*time.Second, func() bool { return d.Stats().Reconnects == 1 && d.Ready() })
	c.settle(d, 2, time.Second)
	if err := transmitBroadcast(t, d); err != nil {
		t.Fatalf("transmit after recovery: %v", err)
	}
}

// A reset notification in the middle of traffic: the RCP is initialised
// again over the same connection (no new child) and carries on.
func TestForkPTYResetMidTrafficSameChild(t *testing.T) {
	c := newChildRCP(t, 0)
	recovered := make(chan radio.Identity, 4)
	d := c.open(t, func(cfg *Config) { cfg.OnRecovered = func(id radio.Identity) { recovered <- id } })
	if err := transmitBroadcast(t, d); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(c.current(), syscall.SIGUSR1)
	select {
	case <-recovered:
	case <-time.After(5 * time.Second):
		t.Fatalf("not recovered from the reset: %+v", d.Stats())
	}
	c.settle(d, 1, 500*time.Millisecond)
	if s := d.Stats(); s.Resets != 1 || s.Reconnects != 1 {
		t.Errorf("stats %+v: want 1 reset, 1 recovery", s)
	}
	if err := transmitBroadcast(t, d); err != nil {
		t.Fatalf("transmit after the reset: %v", err)
	}
}

// An RCP that comes back with another EUI-64: the driver reads it again,
// reports it, and programs it as the extended address.
func TestForkPTYNewIdentityAfterRestart(t *testing.T) {
	c := newChildRCP(t, 0)
	got := make(chan radio.Identity, 4)
	d := c.open(t, func(cfg *Config) { cfg.OnRecovered = func(id radio.Identity) { got <- id } })
	if id := d.Identity(); id.EUI64 != [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x01} {
		t.Fatalf("first EUI-64 %x", id.EUI64)
	}
	c.setEUI("0200000000000002")
	syscall.Kill(c.current(), syscall.SIGKILL)
	want := [8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x02}
	select {
	case id := <-got:
		if id.EUI64 != want {
			t.Fatalf("OnRecovered got EUI-64 %x, want %x", id.EUI64, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnRecovered not called")
	}
	if id := d.Identity(); id.EUI64 != want {
		t.Fatalf("Identity after restart: %x, want %x", id.EUI64, want)
	}
}

func transmitBroadcast(t *testing.T, d *Driver) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := d.Transmit(ctx, dataFrame(t, 9, 0xffff, false), radio.TxOptions{})
	if err == nil && res.Status != radio.TxSent {
		err = fmt.Errorf("status %v", res.Status)
	}
	return err
}
