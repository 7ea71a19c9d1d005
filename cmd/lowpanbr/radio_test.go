package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/radio/transport"
)

func needPTY(t *testing.T) {
	t.Helper()
	if _, _, err := transport.OpenPTY(); err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
}

// The README's first step after plugging a dongle, on the built-in
// simulator: every field printed, all 16 channels scanned.
func TestRadioProbeSimulator(t *testing.T) {
	needPTY(t)
	code, out, stderr := runCLI("radio", "probe", "--scan-ms", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"built-in simulator", "Firmware:      OPENTHREAD/lowpanbr-rcpsim", "Spinel:        4.3", "RCP API:       11",
		"CONFIG_RADIO MAC_RAW", "EUI-64:        02:00:5e:10:00:00:00:01", "quietest first", "channel 26"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, " dBm"); n != 16 {
		t.Errorf("%d channels scanned, want 16", n)
	}
}

func TestRadioProbeErrors(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"radio"}, 2, "want the subcommand probe"},
		{[]string{"radio", "probe", "--radio", "spinel+hdlc+usb:///dev/x"}, 2, "unknown scheme"},
		{[]string{"radio", "probe", "--radio", "spinel+hdlc+uart:///dev/x?uart-speed=9"}, 2, "uart-speed"},
		{[]string{"radio", "probe", "--radio", "spinel+hdlc+uart:///dev/ttyDOESNOTEXIST"}, 1, "no such file"},
		{[]string{"radio", "probe", "--scan-ms", "0"}, 2, "--scan-ms"},
		{[]string{"radio", "probe", "--channel", "27"}, 2, "--channel"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.contains) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, stderr, tt.code, tt.contains)
			}
		})
	}
}

// forkpty: the probe spawns this very binary as a simulated RCP
// (sim-rcp on stdin/stdout) and drives it through a PTY.
func TestRadioProbeForkPTY(t *testing.T) {
	needPTY(t)
	bin := filepath.Join(t.TempDir(), "lowpanbr")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "radio", "probe", "--no-scan", "--radio", "spinel+hdlc+forkpty://"+bin+"?forkpty-arg=sim-rcp&forkpty-arg=--eui64&forkpty-arg=02005e10000000aa").CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "EUI-64:        02:00:5e:10:00:00:00:aa") {
		t.Errorf("output:\n%s", out)
	}
}
