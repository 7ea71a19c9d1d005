package oracle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Link types of the captures the tests hand to tshark
// (https://www.tcpdump.org/linktypes.html).
const (
	LinkTypeEthernet          = 1
	LinkTypeIEEE802154WithFCS = 195
	LinkTypeBluetoothH4PHDR   = 201 // H4 with a 4-octet direction header
	LinkTypeIEEE802154NoFCS   = 230
	LinkTypeIPv6              = 229
)

// PcapEpoch is the time of the first record WritePcap writes; each further
// record is one millisecond later.
var PcapEpoch = time.Unix(1_700_000_000, 0)

// WritePcap writes frames as a classic little-endian pcap file of the given
// link type in a fresh temporary directory and returns a Capture reading
// it. It is written here rather than with pcap/pcapio so that pcapio's own
// tests (and the packages pcapio depends on) can use this harness.
func WritePcap(t testing.TB, linkType uint32, frames ...[]byte) Capture {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)      // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0)      // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 262144) // snaplen
	b = binary.LittleEndian.AppendUint32(b, linkType)
	for i, f := range frames {
		ts := PcapEpoch.Add(time.Duration(i) * time.Millisecond)
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	path := filepath.Join(t.TempDir(), "oracle.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return Capture{Path: path}
}

// Capture is a capture file and the way tshark is to dissect it.
type Capture struct {
	Path string
	// TwoPass runs tshark with -2, so that fragments (6LoWPAN, L2CAP SDUs)
	// are reassembled and the reassembled fields show on the last frame.
	TwoPass bool
	// Prefs are -o name:value settings, e.g. "6lowpan.context0:2001:db8:1::/64"
	// or "udp.check_checksum:TRUE".
	Prefs []string
	// DecodeAs are -d layer==selector,protocol rules.
	DecodeAs []string
	// Disable are dissectors turned off, e.g. "coap" (UDP port 5683 would
	// otherwise go to CoAP).
	Disable []string
	// Env is added to tshark's environment, e.g. "TZ=UTC" for time fields.
	Env []string
}

// With returns c with the given preferences added.
func (c Capture) With(prefs ...string) Capture {
	c.Prefs = append(append([]string(nil), c.Prefs...), prefs...)
	return c
}

// args are the options every run shares: no name resolution (addresses
// printed as numbers), then c's settings.
func (c Capture) args() []string {
	a := []string{"-r", c.Path, "-n"}
	if c.TwoPass {
		a = append(a, "-2")
	}
	for _, p := range c.Prefs {
		a = append(a, "-o", p)
	}
	for _, d := range c.DecodeAs {
		a = append(a, "-d", d)
	}
	for _, p := range c.Disable {
		a = append(a, "--disable-protocol", p)
	}
	return a
}

// run runs tshark with c's options and extra, failing the test on error;
// stderr ("Running as user root…") is shown only then.
func (c Capture) run(t testing.TB, extra ...string) []byte {
	t.Helper()
	args := append(c.args(), extra...)
	cmd := exec.Command(Tshark(t), args...)
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %q: %v\n%s", args, err, stderr.String())
	}
	return out
}

// Fields runs tshark -T fields and returns one row per frame, in frame
// order (rows[0] is frame 1), each with one column per field; a field that
// occurs more than once in a frame gives all its values joined by commas
// (IPv6-in-IPv6, several ND options, ZEP's UDP and the 6LoWPAN UDP inside).
func (c Capture) Fields(t testing.TB, fields ...string) [][]string {
	t.Helper()
	// frame.number checks that rows come in frame order; tshark fills only
	// one of the columns of an -e given twice, so it is added only when the
	// caller has not asked for it.
	all, num := fields, slices.Index(fields, "frame.number")
	if num < 0 {
		all, num = append([]string{"frame.number"}, fields...), 0
	}
	a := []string{"-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range all {
		a = append(a, "-e", f)
	}
	out := c.run(t, a...)
	var rows [][]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		for len(cols) < len(all) {
			cols = append(cols, "")
		}
		if n, err := strconv.Atoi(cols[num]); err != nil || n != len(rows)+1 {
			t.Fatalf("tshark row %d: %q", len(rows)+1, sc.Text())
		}
		rows = append(rows, cols[len(all)-len(fields):])
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("tshark fields: %v", err)
	}
	return rows
}

// FieldMaps is Fields with each row keyed by field name.
func (c Capture) FieldMaps(t testing.TB, fields ...string) []map[string]string {
	t.Helper()
	rows := c.Fields(t, fields...)
	out := make([]map[string]string, len(rows))
	for i, r := range rows {
		out[i] = make(map[string]string, len(fields))
		for j, f := range fields {
			out[i][f] = r[j]
		}
	}
	return out
}

var (
	sourceLine = regexp.MustCompile(`^(\S.*?) \((\d+) bytes\):$`)
	hexLine    = regexp.MustCompile(`^[0-9a-f]{4}  ((?:[0-9a-f]{2} )*[0-9a-f]{2})`)
)

// DataSources runs tshark -x and returns, per frame number (1-based), the
// bytes of every named data source: "Frame", and those dissectors add,
// such as "Decompressed 6LoWPAN IPHC", "Reassembled 6LoWPAN" and
// "Reassembled SDU". When a source name repeats in a frame (IPv6-in-IPv6
// yields one "Decompressed 6LoWPAN IPHC" per header, innermost first), the
// last wins: it is the whole packet.
func (c Capture) DataSources(t testing.TB) map[int]map[string][]byte {
	t.Helper()
	out := c.run(t, "-x")
	frames := map[int]map[string][]byte{}
	frameNo, source, inFrame := 0, "", false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			inFrame = false
			continue
		}
		if !inFrame {
			inFrame = true
			frameNo++
			frames[frameNo] = map[string][]byte{}
			source = "Frame"
		}
		if m := sourceLine.FindStringSubmatch(line); m != nil {
			source = m[1]
			frames[frameNo][source] = nil
			continue
		}
		if m := hexLine.FindStringSubmatch(line); m != nil {
			b, _ := hex.DecodeString(strings.ReplaceAll(m[1], " ", ""))
			frames[frameNo][source] = append(frames[frameNo][source], b...)
		}
	}
	return frames
}
