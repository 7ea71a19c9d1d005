package main

import (
	"path/filepath"
	"strings"
	"testing"
)

const pcapTestdata = "../../pcap/pcapconv/testdata"

// `pcap decode` on IEEE 802.15.4g frames and on a capture of every skip
// reason: the 164- and 2047-octet frames decode, each skipped frame gets
// one line on stderr with its number and reason, and the summary counts
// them by reason.
func TestCLIPcapDecodeSkips(t *testing.T) {
	code, stdout, stderr := runCLI("pcap", "decode", "--json", filepath.Join(pcapTestdata, "sun_long.pcap"))
	if code != 0 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stderr, "decoded 2 IPv6 packets; no frame skipped") {
		t.Errorf("sun_long.pcap: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI("pcap", "decode", "--json", filepath.Join(pcapTestdata, "sun_crc32.pcap"))
	if code != 0 || !strings.Contains(stderr, "2 frames had a 4-octet (CRC-32) FCS") {
		t.Errorf("sun_crc32.pcap: exit %d, stderr %s", code, stderr)
	}

	code, _, stderr = runCLI("pcap", "decode", "-o", filepath.Join(t.TempDir(), "x.pcap"), filepath.Join(pcapTestdata, "skips.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"frame 2: skipped: duplicate: ",
		"frame 3: skipped: bad FCS: 164 octets; CRC-16 FCS 0x",
		"frame 4: skipped: not a data frame: beacon frame",
		"frame 5: skipped: not a data frame: ack frame",
		"frame 6: skipped: not 6LoWPAN: dispatch 0x00 at offset 21",
		"frame 7: skipped: unknown context: IPHC at offset 21",
		"frame 8: skipped: frame too long: 2048 octets",
		"frame 9: skipped: cut by the capture's snap length: captured 64 of its 164 octets",
		"frame 10: skipped: fragment missing: datagram tag 0x4242 of 400 octets",
		"decoded 1 IPv6 packets; skipped 9 frames: 1 cut by the capture's snap length, 1 frame too long, 1 bad FCS, 2 not a data frame, 1 duplicate, 1 not 6LoWPAN, 1 unknown context, 1 fragment missing",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stderr, ": skipped: "); n != 9 {
		t.Errorf("%d skip lines, want 9:\n%s", n, stderr)
	}

	// --quiet: the summary alone.
	_, _, stderr = runCLI("pcap", "decode", "--quiet", "-o", filepath.Join(t.TempDir(), "x.pcap"), filepath.Join(pcapTestdata, "skips.pcap"))
	if strings.Contains(stderr, ": skipped: ") || !strings.Contains(stderr, "skipped 9 frames") {
		t.Errorf("--quiet:\n%s", stderr)
	}
	// The 2.4 GHz limit on request; bad flag values are usage errors.
	_, _, stderr = runCLI("pcap", "decode", "--max-psdu", "127", "--json", filepath.Join(pcapTestdata, "sun_long.pcap"))
	if !strings.Contains(stderr, "skipped 2 frames: 2 frame too long") {
		t.Errorf("--max-psdu 127:\n%s", stderr)
	}
	for _, args := range [][]string{{"--fcs", "17"}, {"--max-psdu", "4096"}, {"--max-psdu", "100"}} {
		code, _, stderr := runCLI(append(append([]string{"pcap", "decode", "--json"}, args...), filepath.Join(pcapTestdata, "sun_long.pcap"))...)
		if code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, stderr %s", args, code, stderr)
		}
	}
}
