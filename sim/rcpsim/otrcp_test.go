package rcpsim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// The known answers: Spinel transcripts recorded from OpenThread's own RCP
// (the simulation ot-rcp), produced as radio/rcp/testdata/ot-rcp/README.md
// says. TestOTRCPTranscripts plays each transcript's host frames to the
// simulated RCP, and the frames the peer put on the air to its medium, and
// checks that it sends the recorded frames, in the recorded order, and
// nothing else.
//
// What may differ, and why:
//   - RSSI, LQI and timestamp of a received frame (IS STREAM_RAW) and of the
//     ACK inside a transmit-done: radio measurements and the radio's clock.
//     The simulation platform reports RSSI −20 and LQI 0 for every frame
//     and RSSI 0 for ACKs (radio.c); our medium reports the link's.
//   - The max RSSI of MAC_ENERGY_SCAN_RESULT: the simulation platform
//     draws −98 or −30 dBm at random (radio.c GetRssi).
//   - Firmware string and EUI-64 are not ignored: the simulated RCP is
//     configured with the recorded ones.
//
// Not replayed:
//   - 04b-reset-during-tx.txt: the simulation ot-rcp aborts on an assertion
//     (Radio::Init cannot put its radio to sleep mid-transmission) and sends
//     nothing; that is a crash of the simulation platform, not RCP
//     behaviour a host can rely on, and the simulated RCP answers the
//     RESET instead.
//   - The air lines of the RCP's own transmissions ("air node 1"): when
//     the second of two back-to-back requests replaces the first, whether
//     the first reached the air is a race in both RCPs.
const transcriptDir = "../../radio/rcp/testdata/ot-rcp"

var skippedTranscripts = map[string]string{
	"04b-reset-during-tx.txt": "the simulation ot-rcp crashes (assertion in Radio::Init)",
}

type evKind int

const (
	evHost    evKind = iota // "> ms hex": host → RCP
	evRCP                   // "< ms hex": RCP → host
	evStarted               // "# @ms started …": a (new) RCP process
	evPeerAir               // "# @ms air <peer> (node 2) sends …": a frame the peer put on the air
	evRCPAir                // "# @ms air node 1 -> …": a frame the RCP put on the air
)

type event struct {
	kind    evKind
	line    int
	ms      float64
	frame   []byte
	channel uint8
	ack     bool // evPeerAir: an Imm-Ack
}

var (
	frameLine = regexp.MustCompile(`^([<>]) ([0-9.]+) ([0-9a-f]+)$`)
	noteLine  = regexp.MustCompile(`^# @([0-9.]+) (.*)$`)
	peerAir   = regexp.MustCompile(`^air .*\(node \d+\) sends (frame|imm-ack)[^:]* ch (\d+): ([0-9a-f]+)$`)
)

func parseTranscript(t *testing.T, path string) []event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if m := frameLine.FindStringSubmatch(line); m != nil {
			ms, _ := strconv.ParseFloat(m[2], 64)
			b, err := hex.DecodeString(m[3])
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			k := evHost
			if m[1] == "<" {
				k = evRCP
			}
			evs = append(evs, event{kind: k, line: n, ms: ms, frame: b})
			continue
		}
		m := noteLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ms, _ := strconv.ParseFloat(m[1], 64)
		switch note := m[2]; {
		case strings.HasPrefix(note, "started "):
			evs = append(evs, event{kind: evStarted, line: n, ms: ms})
		case strings.HasPrefix(note, "air node 1 "):
			evs = append(evs, event{kind: evRCPAir, line: n, ms: ms})
		default:
			if a := peerAir.FindStringSubmatch(note); a != nil {
				ch, _ := strconv.Atoi(a[2])
				b, err := hex.DecodeString(a[3])
				if err != nil {
					t.Fatalf("%s:%d: %v", path, n, err)
				}
				evs = append(evs, event{kind: evPeerAir, line: n, ms: ms, frame: b, channel: uint8(ch), ack: a[1] == "imm-ack"})
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

// identity finds the firmware string and EUI-64 the recorded RCP reported.
func identity(evs []event) (firmware string, eui [8]byte) {
	for _, e := range evs {
		var f spinel.Frame
		if e.kind != evRCP || f.Decode(e.frame) != nil || f.Command != spinel.CmdPropValueIs {
			continue
		}
		switch f.Prop {
		case spinel.PropNCPVersion:
			firmware = strings.TrimSuffix(string(f.Value), "\x00")
		case spinel.PropHWAddr:
			copy(eui[:], f.Value)
		}
	}
	return firmware, eui
}

// normalize zeroes the fields that legitimately differ (see above).
func normalize(b []byte) []byte {
	var f spinel.Frame
	if f.Decode(b) != nil || f.Command != spinel.CmdPropValueIs {
		return b
	}
	head := spinel.AppendFrameHeader(nil, f.IID, f.TID, f.Command, f.Prop)
	switch {
	case f.Prop == spinel.PropStreamRaw && f.TID == 0:
		var rx spinel.RxFrame
		if rx.Decode(f.Value) != nil {
			return b
		}
		rx.RSSI, rx.LQI, rx.Timestamp = 0, 0, 0
		return spinel.AppendRxFrame(head, &rx)
	case f.Prop == spinel.PropLastStatus && f.TID != 0:
		var d spinel.TxDone
		if d.Decode(f.Value) != nil || !d.HasAck {
			return b
		}
		d.Ack.RSSI, d.Ack.LQI, d.Ack.Timestamp = 0, 0, 0
		return spinel.AppendTxDone(head, &d)
	case f.Prop == spinel.PropMACEnergyScanResult && len(f.Value) == 2:
		return append(head, f.Value[0], 0)
	}
	return b
}

func describe(b []byte) string {
	var f spinel.Frame
	if f.Decode(b) != nil {
		return fmt.Sprintf("% x", b)
	}
	return fmt.Sprintf("%v (%x)", &f, b)
}

func TestOTRCPTranscripts(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(transcriptDir, "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no transcripts in %s (%v)", transcriptDir, err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			if why, ok := skippedTranscripts[name]; ok {
				t.Skip(why)
			}
			t.Parallel()
			replay(t, parseTranscript(t, path))
		})
	}
}

func replay(t *testing.T, evs []event) {
	firmware, eui := identity(evs)
	ctx, cancel := context.WithCancel(context.Background())
	// Virtual time runs 4× faster than the wall clock: scan periods and
	// retransmissions keep their order with the Spinel exchanges.
	m := medium.New(medium.Config{Seed: 11, TimeScale: 4})
	go m.Run(ctx)
	node, err := m.Attach(medium.NodeConfig{Name: "ot-rcp", Channel: 11})
	if err != nil {
		t.Fatal(err)
	}
	// The capture's peer: node 2 of the simulation, EUI-64
	// 18:b4:30:00:00:00:00:02, listening (and acknowledging) on channel
	// 15 in PAN 0xface (README.md); frames it sends on other channels
	// come from a node of its own there.
	peerEUI := [8]byte{0x18, 0xb4, 0x30, 0, 0, 0, 0, 0x02}
	peers := map[uint8]*medium.Node{}
	peer := func(ch uint8) *medium.Node {
		if p := peers[ch]; p != nil {
			return p
		}
		p, err := m.Attach(medium.NodeConfig{Name: fmt.Sprintf("peer-%d", ch), Channel: ch, PANID: 0xface, ShortAddr: 0xfffe, ExtAddr: peerEUI, RxOnWhenIdle: ch == 15})
		if err != nil {
			t.Fatal(err)
		}
		peers[ch] = p
		return p
	}
	peer(15)
	// ot-rcp is a process on a PTY: what the host writes before it is up
	// waits in the PTY. It boots in 2–9 ms (01-startup.txt).
	r := New(node, Config{EUI64: eui, Firmware: firmware, BootDelay: 5 * time.Millisecond, BufferInputWhileBooting: true})
	a, b := net.Pipe()
	h := &host{t: t, conn: spinel.NewHDLCConn(b), raw: b, frames: make(chan spinel.Frame, 256)}
	served := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		b.Close()
		<-served
		m.Close()
	})
	raw := make(chan []byte, 256)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := h.conn.ReadFrame(buf)
			if err != nil {
				close(raw)
				return
			}
			raw <- bytes.Clone(buf[:n])
		}
	}()
	next := func(ev event) []byte {
		t.Helper()
		select {
		case f, ok := <-raw:
			if !ok {
				t.Fatalf("line %d: stream closed", ev.line)
			}
			return f
		case <-time.After(3 * time.Second):
			t.Fatalf("line %d: want %s, got nothing in 3 s", ev.line, describe(ev.frame))
		}
		return nil
	}
	inject := func(psdu []byte, ch uint8) {
		t.Helper()
		if _, err := peer(ch).Transmit(ctx, psdu, medium.TxOptions{DisableCSMA: true, MaxFrameRetries: -1, KeepFCS: true}); err != nil {
			t.Fatal(err)
		}
	}

	started, aired := false, false
	var lastAir evKind = -1
	for i := 0; i < len(evs); i++ {
		ev := evs[i]
		switch ev.kind {
		case evStarted:
			if !started {
				started = true
				go func() { r.Serve(ctx, a); close(served) }()
			} else {
				r.Reboot(eui) // kill -9 or exit, and the program again
			}
		case evHost:
			// Frames the capture wrote together (within 0.5 ms, nothing
			// in between) go in one write: the RCP handles them in one
			// pass (08-reset-burst.txt).
			var w []byte
			w = spinel.AppendHDLC(w, ev.frame)
			for i+1 < len(evs) && evs[i+1].kind == evHost && evs[i+1].ms-ev.ms < 0.5 {
				i++
				w = spinel.AppendHDLC(w, evs[i].frame)
			}
			if _, err := b.Write(w); err != nil {
				t.Fatalf("line %d: %v", ev.line, err)
			}
		case evPeerAir:
			// An ACK right after the RCP's frame is the peer's answer,
			// which our medium's peer node sends itself.
			if !(ev.ack && lastAir == evRCPAir) {
				inject(ev.frame, ev.channel)
				aired = true
			}
			lastAir = evPeerAir
		case evRCPAir:
			lastAir = evRCPAir
		case evRCP:
			var f spinel.Frame
			if !aired && f.Decode(ev.frame) == nil && f.TID == 0 && f.Prop == spinel.PropStreamRaw {
				// A received frame whose air line was not logged (the
				// chatter of 04-host-reset.txt): the air carried its PSDU.
				var rx spinel.RxFrame
				if err := rx.Decode(f.Value); err != nil {
					t.Fatalf("line %d: %v", ev.line, err)
				}
				inject(rx.PSDU, rx.Channel)
			}
			aired = false
			got := next(ev)
			if want := normalize(ev.frame); !bytes.Equal(normalize(got), want) {
				t.Fatalf("line %d:\nwant %s\ngot  %s", ev.line, describe(ev.frame), describe(got))
			}
		}
	}
	select {
	case f := <-raw:
		t.Fatalf("after the transcript: unexpected %s", describe(f))
	case <-time.After(100 * time.Millisecond):
	}
}
