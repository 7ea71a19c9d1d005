package oracle

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	sourceLine = regexp.MustCompile(`^(\S.*?) \((\d+) bytes\):$`)
	hexLine    = regexp.MustCompile(`^[0-9a-f]{4}  ((?:[0-9a-f]{2} )*[0-9a-f]{2})`)
)

// TsharkDataSources runs tshark -x with args and returns, per frame number
// (1-based), the bytes of every named data source: "Frame", and those
// dissectors add, such as "Decompressed 6LoWPAN IPHC" and "Reassembled
// 6LoWPAN". When a source name repeats in a frame (IPv6-in-IPv6 yields one
// "Decompressed 6LoWPAN IPHC" per header, innermost first), the last wins:
// it is the whole packet.
func TsharkDataSources(t testing.TB, args ...string) map[int]map[string][]byte {
	t.Helper()
	cmd := exec.Command(Tshark(t), append(args, "-x")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
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

// TsharkFields runs tshark -T fields with args and returns the named
// fields of every frame, keyed by frame number (the last occurrence of a
// repeated field).
func TsharkFields(t testing.TB, args []string, fields ...string) map[int][]string {
	t.Helper()
	a := append(append([]string(nil), args...), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=l", "-e", "frame.number")
	for _, f := range fields {
		a = append(a, "-e", f)
	}
	cmd := exec.Command(Tshark(t), a...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark fields: %v\n%s", err, stderr.String())
	}
	rows := map[int][]string{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		n, err := strconv.Atoi(cols[0])
		if err != nil {
			t.Fatalf("tshark row %q", line)
		}
		for len(cols) < len(fields)+1 {
			cols = append(cols, "")
		}
		rows[n] = cols[1:]
	}
	return rows
}
