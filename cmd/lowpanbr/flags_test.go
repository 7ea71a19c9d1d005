package main

import (
	"strings"
	"testing"
)

func TestNearestName(t *testing.T) {
	names := []string{"channel", "config", "json", "o", "pan-id", "prefix", "sim-nodes"}
	tests := []struct{ name, want string }{
		{"chanel", "channel"},
		{"Channel", "channel"},
		{"chnanel", "channel"},
		{"sim_nodes", "sim-nodes"},
		{"jsn", "json"},
		{"confg", "config"},
		{"verbose", ""}, // nothing near: no guess
		{"x", "o"},      // one edit from a one-letter flag
		{"chan", ""},    // two edits in a short name is too far
	}
	for _, tt := range tests {
		if got := nearestName(tt.name, names); got != tt.want {
			t.Errorf("nearestName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A mistaken flag is one line on stderr, exit status 2, with the closest
// flag when there is one; only -h prints the usage.
func TestUnknownFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--chanel", "15"}, "lowpanbr run: unknown flag --chanel; did you mean --channel? (see lowpanbr run -h)\n"},
		{[]string{"run", "-chanel=15"}, "lowpanbr run: unknown flag --chanel; did you mean --channel? (see lowpanbr run -h)\n"},
		{[]string{"run", "--sim-node", "3"}, "lowpanbr run: unknown flag --sim-node; did you mean --sim-nodes? (see lowpanbr run -h)\n"},
		// A setting's key written as a flag names the key's flag.
		{[]string{"run", "--tun-name", "x"}, "lowpanbr run: unknown flag --tun-name; did you mean --tun? (see lowpanbr run -h)\n"},
		{[]string{"run", "--metrics.listen", "x"}, "lowpanbr run: unknown flag --metrics.listen; did you mean --metrics-listen? (see lowpanbr run -h)\n"},
		{[]string{"run", "--frobnicate"}, "lowpanbr run: unknown flag --frobnicate (see lowpanbr run -h)\n"},
		{[]string{"run", "--channel"}, "lowpanbr run: flag --channel needs a value (see lowpanbr run -h)\n"},
		{[]string{"config", "check", "--confg", "x.yaml"}, "lowpanbr config: unknown flag --confg; did you mean --config? (see lowpanbr config -h)\n"},
		{[]string{"pcap", "decode", "--jsn", zepCapture}, "lowpanbr pcap: unknown flag --jsn; did you mean --json? (see lowpanbr pcap -h)\n"},
		{[]string{"pcap", "encode", "--contxt", "0=2001:db8::/64", zepCapture}, "lowpanbr pcap: unknown flag --contxt; did you mean --context? (see lowpanbr pcap -h)\n"},
		{[]string{"radio", "probe", "--no-scna"}, "lowpanbr radio: unknown flag --no-scna; did you mean --no-scan? (see lowpanbr radio -h)\n"},
		{[]string{"status", "--jsno"}, "lowpanbr status: unknown flag --jsno; did you mean --json? (see lowpanbr status -h)\n"},
		{[]string{"sim-rcp", "--eui46", "x"}, "lowpanbr sim-rcp: unknown flag --eui46; did you mean --eui64? (see lowpanbr sim-rcp -h)\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != 2 || stdout != "" || stderr != tt.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, \"\", %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

// -h and --help print the usage with every flag, and exit 0.
func TestFlagHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"run", "-h"}, []string{"usage:\n  lowpanbr run [flags]", "--channel N", "--sim-nodes"}},
		{[]string{"run", "--help"}, []string{"usage:\n  lowpanbr run [flags]", "--channel N"}},
		{[]string{"config", "check", "-h"}, []string{"lowpanbr config check [--config FILE]", "--config FILE"}},
		{[]string{"pcap", "decode", "-h"}, []string{"Usage of pcap decode:", "-json"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}
