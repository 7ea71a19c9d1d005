package lowpan

// Cross-check against Scapy (Debian python3-scapy 2.5.0), a second 6LoWPAN
// implementation we did not write. testdata/scapy/frames.py builds IPv6
// packets and the 802.15.4 frames Scapy compresses them into, covering
// every stateless IPHC address mode, inline next header and every NHC-UDP
// port form, multicast DAMs, hop limits, TF forms, the uncompressed IPv6
// dispatch and FRAG1/FRAGN. Both directions are checked:
//   - Scapy's frame → our ieee802154 + ParseHeaders + Decompress/Reassembler
//     must give the packet Scapy started from, byte for byte;
//   - our Compressor's frame for the same packet and MAC addresses → Scapy's
//     decoder must give that packet back.
//
// Disagreements found, and their outcome (all are Scapy bugs listed in
// ORACLES.md; our code is unchanged and the test asserts the exact
// disagreement, so a change on either side shows up):
//   - tc_swap: Scapy writes the IPv6 traffic class octet (DSCP|ECN) into
//     the inline TF field as is, and reads it back the same way. RFC 6282
//     §3.1.1 carries ECN (2 bits) then DSCP (6 bits). Decoding Scapy's TF=00
//     and TF=10 frames we get the traffic class rotated (0xB8 → 0xE2,
//     0x03 → 0x0C); with TF=01 Scapy puts the top two DSCP bits in the ECN
//     field, so even its own round trip loses ECN (0x01 → 0x00). Scapy
//     decoding our frames sees the opposite swap. Scapy is wrong.
//   - esc_0x7f: a first IPHC octet of 0x7F (TF=11 NH=1 HLIM=11, i.e. NHC
//     UDP, hop limit 255, no traffic class or flow label — our smallest
//     encoding of most link-local multicast UDP) is taken for the RFC 4944
//     ESC dispatch and not decoded at all. RFC 6282 §2 gives the whole
//     011xxxxx range to IPHC. Scapy is wrong; we decode such frames and our
//     frames starting with 0x7F are counted as skipped in the reverse
//     direction.
//   - src_iid_dst_mode: with SAM=11, Scapy derives the source IID with the
//     MAC destination's address mode when the two modes differ (extended
//     source to short 0xFFFF broadcast gives fe80::ff:fe00:cdef instead of
//     fe80::12:3456:78ab:cdef). RFC 6282 §3.1.1 derives it from the source
//     address. Scapy is wrong.
//   - Fragments: Scapy cannot reassemble IPHC fragments (and its
//     sixlowpan_fragment is unusable, ORACLES.md); frames.py builds
//     FRAG1/FRAGN with Scapy's header classes itself, and Scapy's view is
//     its decode of the same compressed datagram carried whole.
//   - Everything else — SAM/DAM 00/01/10/11 over short and extended MAC
//     addresses, SAC=1 SAM=00 (::), NH inline, NHC-UDP ports in all four
//     forms with the checksum inline or elided, multicast DAM 00/01/10/11,
//     hop limits 0/1/17/64/200/255, TF=11 and swap-invariant traffic
//     classes (0x00, 0xFF), the 0x41 dispatch — matched byte for byte both
//     ways. No bug in our decoder or compressor was found.
//   - Not exercised, because Scapy lacks them (ORACLES.md): contexts
//     (SAC/DAC, CID, the RFC 3306 form) and NHC extension headers; our
//     Compressor runs with an empty context table here. tshark_test.go
//     covers those.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// scapyTimeout bounds both runs of frames.py together.
const scapyTimeout = 50 * time.Second

// scapyMinCases and scapyMinReverse keep the check from passing by
// shrinking: frames.py must produce at least this many cases, and at least
// this many of our frames must be compared with Scapy's decode exactly.
const (
	scapyMinCases   = 40
	scapyMinReverse = 15
)

// scapyCase is one line of frames.py's output (see its docstring).
type scapyCase struct {
	Name            string   `json:"name"`
	FrameHex        string   `json:"frame_hex"`
	FragmentsHex    []string `json:"fragments_hex"`
	IPv6Hex         string   `json:"ipv6_hex"`
	ScapyDecodedHex string   `json:"scapy_decoded_hex"`
	ScapyError      string   `json:"scapy_error"`
	ScapyBugs       []string `json:"scapy_bugs"`
	Note            string   `json:"note"`
}

// Known Scapy bugs (ORACLES.md) a case may be marked with.
const (
	scapyBugTCSwap       = "tc_swap"
	scapyBugESC          = "esc_0x7f"
	scapyBugSrcIIDByDest = "src_iid_dst_mode"
)

var scapyBugText = map[string]string{
	scapyBugTCSwap:       "traffic class bits swapped (ORACLES.md)",
	scapyBugESC:          "first IPHC octet 0x7F taken for the ESC dispatch (ORACLES.md)",
	scapyBugSrcIIDByDest: "source IID derived with the destination's address mode (ORACLES.md)",
}

func (c *scapyCase) has(bug string) bool {
	for _, b := range c.ScapyBugs {
		if b == bug {
			return true
		}
	}
	return false
}

// scapyRun runs frames.py with args and stdin and returns its stdout.
func scapyRun(ctx context.Context, t *testing.T, py string, stdin string, args ...string) []byte {
	t.Helper()
	script := filepath.Join("testdata", "scapy", "frames.py")
	cmd := exec.CommandContext(ctx, py, append([]string{script}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s %s: %v (context: %v)\nstderr:\n%s", py, script, strings.Join(args, " "), err, ctx.Err(), stderr.String())
	}
	return stdout.Bytes()
}

func scapyHex(t *testing.T, what, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return b
}

// scapyDump shows a packet as lines of 8 octets, so that a diff points at
// the octets that differ.
func scapyDump(b []byte) []string {
	var lines []string
	for i := 0; i < len(b); i += 8 {
		lines = append(lines, fmt.Sprintf("%04x: % x", i, b[i:min(i+8, len(b))]))
	}
	return lines
}

func scapyLinkAddr(a ieee802154.Address) LinkAddr {
	switch a.Mode {
	case ieee802154.AddrShort:
		return ShortLinkAddr(uint16(a.Short))
	case ieee802154.AddrExtended:
		return ExtendedLinkAddr([8]byte(a.Ext))
	}
	return LinkAddr{}
}

// scapyReceived is what our stack makes of the frames of one datagram.
type scapyReceived struct {
	pkt      []byte
	hdr      ieee802154.Header // MAC header of the first frame
	src, dst LinkAddr
	datagram []byte // the 6LoWPAN datagram of the first frame, from its dispatch
}

// scapyReceive runs frames through our receive path: ieee802154 decoding
// (with FCS), ParseHeaders, then Decompress or the Reassembler.
func scapyReceive(r *Reassembler, now time.Time, frames [][]byte) (scapyReceived, error) {
	var rx scapyReceived
	out := make([]byte, 2048)
	for k, psdu := range frames {
		var f ieee802154.Frame
		if err := f.Decode(psdu, true); err != nil {
			return rx, fmt.Errorf("frame %d: ieee802154: %w", k, err)
		}
		src, dst := scapyLinkAddr(f.Src), scapyLinkAddr(f.Dst)
		var h Headers
		if err := ParseHeaders(f.Payload, &h); err != nil {
			return rx, fmt.Errorf("frame %d: ParseHeaders: %w", k, err)
		}
		if k == 0 {
			rx.hdr, rx.src, rx.dst = f.Header, src, dst
			rx.datagram = bytes.Clone(h.Payload)
		}
		if !h.HasFrag {
			if len(frames) != 1 {
				return rx, fmt.Errorf("frame %d of %d has no fragment header", k, len(frames))
			}
			n, err := Decompress(out, h.Payload, src, dst, &ContextTable{})
			if err != nil {
				return rx, fmt.Errorf("Decompress: %w", err)
			}
			rx.pkt = out[:n]
			return rx, nil
		}
		n, err := r.Add(now, out, src, dst, &h)
		if err != nil {
			return rx, fmt.Errorf("frame %d: Reassembler.Add: %w", k, err)
		}
		if n > 0 {
			if k != len(frames)-1 {
				return rx, fmt.Errorf("datagram complete at frame %d of %d", k, len(frames))
			}
			rx.pkt = out[:n]
			return rx, nil
		}
	}
	return rx, fmt.Errorf("datagram incomplete after %d fragments", len(frames))
}

// iphcInlineTC returns the inline traffic class fields of the IPHC header
// at the start of datagram, read as RFC 6282 §3.1.1 lays them out: ECN in
// the top two bits of the first TF octet, then DSCP (TF=00, TF=10); TF=01
// carries ECN only. ok is false for TF=11 or anything that is not IPHC.
func iphcInlineTC(datagram []byte) (ecn, dscp uint8, ok bool) {
	if len(datagram) < 3 || datagram[0]&0xe0 != 0x60 {
		return 0, 0, false
	}
	i := 2
	if datagram[1]&0x80 != 0 { // CID: one more octet before the TF field
		i++
	}
	if len(datagram) <= i {
		return 0, 0, false
	}
	switch datagram[0] >> 3 & 0x03 {
	case 0, 2:
		return datagram[i] >> 6, datagram[i] & 0x3f, true
	case 1:
		return datagram[i] >> 6, 0, true
	}
	return 0, 0, false
}

// rfcTrafficClass is the IPv6 traffic class (DSCP|ECN) RFC 6282 §3.1.1
// makes of the inline fields.
func rfcTrafficClass(ecn, dscp uint8) uint8 { return dscp<<2 | ecn }

// scapyTrafficClass is what Scapy makes of the same inline bits: it takes
// the first two bits for the top of the IPv6 traffic class.
func scapyTrafficClass(ecn, dscp uint8) uint8 { return ecn<<6 | dscp }

func withTrafficClass(pkt []byte, tc uint8) []byte {
	p := bytes.Clone(pkt)
	p[0] = p[0]&0xf0 | tc>>4
	p[1] = tc<<4 | p[1]&0x0f
	return p
}

// iphcSAMElided reports SAC=0 SAM=11: the source IID comes from the MAC
// source address.
func iphcSAMElided(datagram []byte) bool {
	return len(datagram) >= 2 && datagram[0]&0xe0 == 0x60 && datagram[1]&0x70 == 0x30
}

// scapySourceIID is the IID Scapy derives for SAM=11: from the MAC source
// address as a 64-bit number, but by the rule of the destination's mode.
func scapySourceIID(src ieee802154.Address, dstMode ieee802154.AddrMode) [8]byte {
	var a [8]byte
	if src.Mode == ieee802154.AddrShort {
		a[6], a[7] = uint8(src.Short>>8), uint8(src.Short)
	} else {
		a = src.Ext
	}
	if dstMode == ieee802154.AddrShort {
		return [8]byte{0, 0, 0, 0xff, 0xfe, 0, a[6], a[7]}
	}
	a[0] ^= 0x02
	return a
}

func withSourceIID(pkt []byte, iid [8]byte) []byte {
	p := bytes.Clone(pkt)
	copy(p[16:24], iid[:])
	return p
}

// scapyView predicts Scapy's decode of a frame whose 6LoWPAN datagram is
// datagram and MAC header hdr, carrying orig, from the Scapy bugs the
// encoding runs into. esc reports that Scapy decodes nothing at all.
func scapyView(orig, datagram []byte, hdr *ieee802154.Header, bugs map[string]bool) (want []byte, esc bool) {
	if bugs[scapyBugESC] {
		return nil, true
	}
	want = orig
	if bugs[scapyBugTCSwap] {
		ecn, dscp, _ := iphcInlineTC(datagram)
		want = withTrafficClass(want, scapyTrafficClass(ecn, dscp))
	}
	if bugs[scapyBugSrcIIDByDest] {
		want = withSourceIID(want, scapySourceIID(hdr.Src, hdr.Dst.Mode))
	}
	return want, false
}

// scapyPredictBugs names the Scapy bugs a datagram's encoding runs into.
func scapyPredictBugs(datagram []byte, hdr *ieee802154.Header) map[string]bool {
	bugs := map[string]bool{}
	if len(datagram) > 0 && datagram[0] == 0x7f {
		bugs[scapyBugESC] = true
	}
	if _, _, ok := iphcInlineTC(datagram); ok {
		bugs[scapyBugTCSwap] = true
	}
	if iphcSAMElided(datagram) && hdr.Src.Mode != hdr.Dst.Mode {
		bugs[scapyBugSrcIIDByDest] = true
	}
	return bugs
}

func TestScapyCrossCheck(t *testing.T) {
	py := oracle.ScapyPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), scapyTimeout)
	defer cancel()

	var cases []scapyCase
	for i, line := range bytes.Split(bytes.TrimSpace(scapyRun(ctx, t, py, "")), []byte("\n")) {
		var c scapyCase
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("frames.py line %d: %v: %s", i+1, err, line)
		}
		cases = append(cases, c)
	}
	if len(cases) < scapyMinCases {
		t.Fatalf("frames.py gave %d cases, want at least %d", len(cases), scapyMinCases)
	}

	r, err := NewReassembler(ReassemblyConfig{}, &ContextTable{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)

	// Reverse direction, filled in below: our frames for Scapy to decode.
	type reverse struct {
		name     string
		orig     []byte
		frame    []byte
		datagram []byte
		hdr      ieee802154.Header
	}
	var reverses []reverse

	t.Run("scapy-frame-to-ours", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				for _, b := range c.ScapyBugs {
					if scapyBugText[b] == "" {
						t.Fatalf("unknown Scapy bug %q", b)
					}
				}
				orig := scapyHex(t, "ipv6_hex", c.IPv6Hex)
				var frames [][]byte
				if c.FrameHex != "" {
					frames = append(frames, scapyHex(t, "frame_hex", c.FrameHex))
				}
				for _, s := range c.FragmentsHex {
					frames = append(frames, scapyHex(t, "fragments_hex", s))
				}
				if len(frames) == 0 {
					t.Fatal("case without frames")
				}
				rx, err := scapyReceive(r, now, frames)
				if err != nil {
					t.Fatalf("%v\nframes %x", err, frames)
				}

				// Ours must be the RFC's reading of Scapy's frame: the
				// original packet, except where Scapy encoded a traffic
				// class wrongly.
				want := orig
				if c.has(scapyBugTCSwap) {
					// RFC 6282 §3.1.1: the inline traffic class is ECN then
					// DSCP; we read what Scapy wrote by that rule, not
					// Scapy's.
					ecn, dscp, ok := iphcInlineTC(rx.datagram)
					if !ok {
						t.Fatalf("marked %s but the frame carries no inline traffic class: % x", scapyBugTCSwap, rx.datagram)
					}
					want = withTrafficClass(orig, rfcTrafficClass(ecn, dscp))
					if bytes.Equal(want, orig) {
						t.Errorf("marked %s but the swap changes nothing here", scapyBugTCSwap)
					}
				}
				if diff := cmp.Diff(scapyDump(want), scapyDump(rx.pkt)); diff != "" {
					t.Errorf("our decode of Scapy's frame (-want +got):\n%s\nframes %x", diff, frames)
				}

				// Scapy's own decode: the original packet except for the
				// documented bugs the case is marked with.
				bugs := map[string]bool{}
				for _, b := range c.ScapyBugs {
					bugs[b] = true
				}
				// The marks must be exactly the bugs this encoding runs into,
				// except that a traffic class the swap leaves unchanged (0x00,
				// 0xFF) is not marked.
				predicted := scapyPredictBugs(rx.datagram, &rx.hdr)
				for _, b := range []string{scapyBugESC, scapyBugSrcIIDByDest, scapyBugTCSwap} {
					if bugs[b] && !predicted[b] || b != scapyBugTCSwap && predicted[b] && !bugs[b] {
						t.Errorf("marked with Scapy bugs %v; the encoding runs into %v", c.ScapyBugs, predicted)
						break
					}
				}
				wantScapy, esc := scapyView(orig, rx.datagram, &rx.hdr, bugs)
				got := scapyHex(t, "scapy_decoded_hex", c.ScapyDecodedHex)
				switch {
				case esc:
					if len(got) != 0 {
						t.Errorf("Scapy decoded a frame starting with 0x7F, ORACLES.md says it cannot: % x", got)
					}
				case len(got) == 0:
					t.Errorf("Scapy decoded nothing (%s)", c.ScapyError)
				default:
					if diff := cmp.Diff(scapyDump(wantScapy), scapyDump(got)); diff != "" {
						t.Errorf("Scapy's decode of its own frame (-want +got), bugs %v:\n%s", c.ScapyBugs, diff)
					}
				}

				if len(frames) > 1 {
					return // our Compressor writes whole datagrams only
				}
				z := Compressor{Contexts: &ContextTable{}}
				buf := make([]byte, 256)
				n, err := z.Compress(buf, orig, rx.src, rx.dst)
				if err != nil {
					t.Fatalf("Compress: %v", err)
				}
				frame, err := ieee802154.AppendFrame(nil, &rx.hdr, buf[:n], true)
				if err != nil {
					t.Fatalf("AppendFrame: %v", err)
				}
				// Our own frame must come back whole, so that whatever Scapy
				// makes of it is Scapy's doing.
				back, err := scapyReceive(r, now, [][]byte{frame})
				if err != nil {
					t.Fatalf("decoding our frame % x: %v", frame, err)
				}
				if !bytes.Equal(back.pkt, orig) {
					t.Fatalf("our frame % x does not decode to the original: % x", frame, back.pkt)
				}
				reverses = append(reverses, reverse{name: c.Name, orig: orig, frame: frame, datagram: bytes.Clone(buf[:n]), hdr: rx.hdr})
			})
		}
	})
	if t.Failed() {
		return
	}

	var in strings.Builder
	for _, rv := range reverses {
		fmt.Fprintf(&in, "%x\n", rv.frame)
	}
	type scapyDecode struct {
		IPv6Hex string `json:"ipv6_hex"`
		Error   string `json:"error"`
	}
	var decoded []scapyDecode
	dec := json.NewDecoder(bytes.NewReader(scapyRun(ctx, t, py, in.String(), "decode")))
	for dec.More() {
		var d scapyDecode
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("frames.py decode: %v", err)
		}
		decoded = append(decoded, d)
	}
	if len(decoded) != len(reverses) {
		t.Fatalf("frames.py decode answered %d frames of %d", len(decoded), len(reverses))
	}

	// Counts of the reverse direction: frames Scapy decoded exactly, frames
	// where it showed a documented bug other than ESC (asserted), and frames
	// starting with 0x7F, which Scapy cannot decode (ORACLES.md): the
	// smallest encoding of UDP with hop limit 255 and no traffic class,
	// skipped but asserted to fail.
	var exact, knownBug, skippedESC int
	t.Run("our-frame-to-scapy", func(t *testing.T) {
		for i, rv := range reverses {
			d := decoded[i]
			t.Run(rv.name, func(t *testing.T) {
				got := scapyHex(t, "ipv6_hex", d.IPv6Hex)
				bugs := scapyPredictBugs(rv.datagram, &rv.hdr)
				want, esc := scapyView(rv.orig, rv.datagram, &rv.hdr, bugs)
				switch {
				case esc:
					skippedESC++
					if len(got) != 0 {
						t.Errorf("Scapy decoded our frame starting with 0x7F, ORACLES.md says it cannot: % x", got)
					}
					return
				case len(got) == 0:
					t.Fatalf("Scapy decoded nothing from our frame % x: %s", rv.frame, d.Error)
				}
				if diff := cmp.Diff(scapyDump(want), scapyDump(got)); diff != "" {
					t.Errorf("Scapy's decode of our frame % x (-want +got), Scapy bugs %v:\n%s", rv.frame, bugs, diff)
				}
				if bytes.Equal(want, rv.orig) {
					exact++
				} else {
					knownBug++
				}
			})
		}
	})
	t.Logf("our frames decoded by Scapy: %d exactly, %d with a documented Scapy bug asserted, %d skipped (first octet 0x7F)", exact, knownBug, skippedESC)
	if exact < scapyMinReverse {
		t.Errorf("only %d of our frames compared exactly with Scapy's decode, want at least %d", exact, scapyMinReverse)
	}
}
