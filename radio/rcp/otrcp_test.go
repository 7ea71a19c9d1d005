package rcp_test

// Known-answer test against OpenThread's RCP: testdata/ot-rcp holds every
// Spinel frame exchanged with the simulation build of ot-rcp (commit and
// commands in testdata/ot-rcp/README.md), each RCP → host frame followed by
// the capture tool's own decoding ("#=" JSON, written from OpenThread's
// sources independently of package spinel). The spinel package must decode
// every frame to those values. Only the exported spinel API is used, so the
// test does not depend on the driver's internals.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/spinel"
)

// otFrame is one frame of a transcript.
type otFrame struct {
	line  int
	toRCP bool    // ">" host → RCP; otherwise "<" RCP → host
	ms    float64 // since the capture started
	raw   []byte  // Spinel frame, HDLC removed
	want  *otAnnotation
}

// otRx is the capture tool's decoding of an RxFrame (PackRadioFrame layout).
type otRx struct {
	PSDU            string  `json:"psdu"`
	RSSI            int8    `json:"rssi"`
	NoiseFloor      int8    `json:"noise_floor"`
	Flags           uint16  `json:"flags"`
	Channel         uint8   `json:"channel"`
	LQI             uint8   `json:"lqi"`
	Timestamp       uint64  `json:"timestamp"`
	RxError         uint32  `json:"rx_error"`
	AckKeyID        *uint8  `json:"ack_key_id"`
	AckFrameCounter *uint32 `json:"ack_frame_counter"`
}

// otAnnotation is a "#=" line. Unknown keys are an error, so every value
// the capture tool decoded is checked here.
type otAnnotation struct {
	TID   uint8  `json:"tid"`
	IID   uint8  `json:"iid"`
	Cmd   string `json:"cmd"`
	Prop  string `json:"prop"`
	Value string `json:"value"`
	Kind  string `json:"kind"`
	Error string `json:"error"`

	Status        *uint32 `json:"status"`
	FramePending  *bool   `json:"frame_pending"`
	HeaderUpdated *bool   `json:"header_updated"`
	Ack           *otRx   `json:"ack"`
	KeyID         *uint8  `json:"key_id"`
	FrameCounter  *uint32 `json:"frame_counter"`
	Rx            *otRx   `json:"rx"`

	Caps     []uint32 `json:"caps"`
	Channels []uint8  `json:"channels"`
	EUI64    string   `json:"eui64"`
	Major    *uint32  `json:"major"`
	Minor    *uint32  `json:"minor"`
	Text     *string  `json:"text"`
	Uint     *uint32  `json:"uint"`
	U8       *uint8   `json:"u8"`
	U16      *uint16  `json:"u16"`
	I8       *int8    `json:"i8"`
	Bool     *bool    `json:"bool"`
	Channel  *uint8   `json:"channel"`
	MaxRSSI  *int8    `json:"max_rssi"`
}

// Names the capture tool uses (spinel.h without the SPINEL_ prefix), mapped
// to our constants: a wrong constant makes the property check fail.
var otCommands = map[string]spinel.Command{
	"NOOP": spinel.CmdNoop, "RESET": spinel.CmdReset, "GET": spinel.CmdPropValueGet,
	"SET": spinel.CmdPropValueSet, "INSERT": spinel.CmdPropValueInsert, "REMOVE": spinel.CmdPropValueRemove,
	"IS": spinel.CmdPropValueIs, "INSERTED": spinel.CmdPropValueInserted, "REMOVED": spinel.CmdPropValueRemoved,
}

var otProps = map[string]spinel.Prop{
	"LAST_STATUS":                      spinel.PropLastStatus,
	"PROTOCOL_VERSION":                 spinel.PropProtocolVersion,
	"NCP_VERSION":                      spinel.PropNCPVersion,
	"INTERFACE_TYPE":                   spinel.PropInterfaceType,
	"CAPS":                             spinel.PropCaps,
	"HWADDR":                           spinel.PropHWAddr,
	"PHY_ENABLED":                      spinel.PropPHYEnabled,
	"PHY_CHAN":                         spinel.PropPHYChan,
	"PHY_TX_POWER":                     spinel.PropPHYTxPower,
	"MAC_SCAN_STATE":                   spinel.PropMACScanState,
	"MAC_SCAN_MASK":                    spinel.PropMACScanMask,
	"MAC_SCAN_PERIOD":                  spinel.PropMACScanPeriod,
	"MAC_15_4_LADDR":                   spinel.PropMAC154LAddr,
	"MAC_15_4_SADDR":                   spinel.PropMAC154SAddr,
	"MAC_15_4_PANID":                   spinel.PropMAC154PANID,
	"MAC_RAW_STREAM_ENABLED":           spinel.PropMACRawStreamEnabled,
	"MAC_PROMISCUOUS_MODE":             spinel.PropMACPromiscuousMode,
	"MAC_ENERGY_SCAN_RESULT":           spinel.PropMACEnergyScanResult,
	"STREAM_RAW":                       spinel.PropStreamRaw,
	"RCP_API_VERSION":                  spinel.PropRCPAPIVersion,
	"RCP_MIN_HOST_API_VERSION":         spinel.PropRCPMinHostAPIVersion,
	"RADIO_CAPS":                       spinel.PropRadioCaps,
	"MAC_SRC_MATCH_ENABLED":            spinel.PropMACSrcMatchEnabled,
	"MAC_SRC_MATCH_SHORT_ADDRESSES":    spinel.PropMACSrcMatchShortAddresses,
	"MAC_SRC_MATCH_EXTENDED_ADDRESSES": spinel.PropMACSrcMatchExtendedAddresses,
}

// readOTTranscript parses a transcript file.
func readOTTranscript(path string) ([]otFrame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var frames []otFrame
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "#="):
			if len(frames) == 0 || frames[len(frames)-1].toRCP || frames[len(frames)-1].want != nil {
				return nil, fmt.Errorf("%s:%d: annotation not after an RCP → host frame", path, n)
			}
			dec := json.NewDecoder(strings.NewReader(strings.TrimPrefix(line, "#=")))
			dec.DisallowUnknownFields()
			var a otAnnotation
			if err := dec.Decode(&a); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			frames[len(frames)-1].want = &a
		case line[0] == '#':
		case line[0] == '>' || line[0] == '<':
			fields := strings.Fields(line)
			if len(fields) != 3 {
				return nil, fmt.Errorf("%s:%d: want direction, time and hex", path, n)
			}
			ms, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: time: %w", path, n, err)
			}
			raw, err := hex.DecodeString(fields[2])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: frame: %w", path, n, err)
			}
			frames = append(frames, otFrame{line: n, toRCP: line[0] == '>', ms: ms, raw: raw})
		default:
			return nil, fmt.Errorf("%s:%d: unknown line %q", path, n, line)
		}
	}
	return frames, sc.Err()
}

func otTranscripts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "ot-rcp", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The README lists eight scenarios; losing one must not go unnoticed.
	if len(files) < 8 {
		t.Fatalf("found %d transcripts in testdata/ot-rcp, want at least 8", len(files))
	}
	return files
}

// TestOTRCPTranscriptsDecode decodes every RCP → host frame with package
// spinel and compares it with the capture tool's decoding.
func TestOTRCPTranscriptsDecode(t *testing.T) {
	kinds := map[string]int{}
	for _, path := range otTranscripts(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			frames, err := readOTTranscript(path)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, fr := range frames {
				if fr.toRCP {
					continue
				}
				n++
				if fr.want == nil {
					t.Errorf("line %d: RCP frame without its #= decoding", fr.line)
					continue
				}
				kinds[fr.want.Kind]++
				checkOTFrame(t, fmt.Sprintf("line %d", fr.line), fr.raw, fr.want)
			}
			if n == 0 {
				t.Error("no RCP → host frames")
			}
		})
	}
	// Every kind of typed value must have been exercised somewhere.
	for _, k := range []string{"reset", "txdone", "rx"} {
		if kinds[k] == 0 {
			t.Errorf("no %q frame in any transcript", k)
		}
	}
}

func checkOTFrame(t *testing.T, where string, raw []byte, want *otAnnotation) {
	t.Helper()
	if want.Error != "" {
		t.Errorf("%s: the capture tool could not decode this frame: %s", where, want.Error)
		return
	}
	var f spinel.Frame
	if err := f.Decode(raw); err != nil {
		t.Errorf("%s: Frame.Decode(%x): %v", where, raw, err)
		return
	}
	wantCmd, ok := otCommands[want.Cmd]
	if !ok {
		t.Errorf("%s: unknown command %q in the transcript", where, want.Cmd)
		return
	}
	if f.TID != want.TID || f.IID != want.IID || f.Command != wantCmd {
		t.Errorf("%s: header: got tid %d iid %d %v, want tid %d iid %d %s", where, f.TID, f.IID, f.Command, want.TID, want.IID, want.Cmd)
	}
	wantProp, ok := otProps[want.Prop]
	if !ok {
		t.Errorf("%s: property %q has no spinel constant", where, want.Prop)
		return
	}
	if f.Prop != wantProp {
		t.Errorf("%s: property: got %v (%#x), want %s (%#x)", where, f.Prop, uint32(f.Prop), want.Prop, uint32(wantProp))
	}
	if got := hex.EncodeToString(f.Value); got != want.Value {
		t.Errorf("%s: value: got %s, want %s", where, got, want.Value)
	}
	v := f.Value
	switch {
	case want.Kind == "txdone":
		checkOTTxDone(t, where, v, want)
	case want.Kind == "rx":
		var rx spinel.RxFrame
		if err := rx.Decode(v); err != nil {
			t.Errorf("%s: RxFrame.Decode: %v", where, err)
			return
		}
		checkOTRx(t, where+": rx", &rx, want.Rx)
	case f.Prop == spinel.PropLastStatus:
		r := spinel.NewReader(v, "LAST_STATUS")
		st := spinel.Status(r.PackedUint())
		if err := r.Err(); err != nil || want.Status == nil || uint32(st) != *want.Status {
			t.Errorf("%s: LAST_STATUS: got %v (err %v), want %v", where, st, err, deref(want.Status))
		}
		if isReset := want.Kind == "reset"; st.IsReset() != isReset {
			t.Errorf("%s: %v.IsReset() = %v, want %v", where, st, st.IsReset(), isReset)
		}
	case f.Prop == spinel.PropProtocolVersion:
		major, minor, err := spinel.DecodeProtocolVersion(v)
		if err != nil || want.Major == nil || want.Minor == nil || major != *want.Major || minor != *want.Minor {
			t.Errorf("%s: PROTOCOL_VERSION: got %d.%d (err %v), want %v.%v", where, major, minor, err, deref(want.Major), deref(want.Minor))
		}
	case f.Prop == spinel.PropNCPVersion:
		r := spinel.NewReader(v, "NCP_VERSION")
		s := r.UTF8()
		if err := r.Err(); err != nil || want.Text == nil || string(s) != *want.Text {
			t.Errorf("%s: NCP_VERSION: got %q (err %v), want %q", where, s, err, deref(want.Text))
		}
	case f.Prop == spinel.PropCaps:
		caps, err := spinel.ReadCaps(nil, v)
		got := make([]uint32, len(caps))
		for i, c := range caps {
			got[i] = uint32(c)
		}
		if err != nil || !slices.Equal(got, want.Caps) {
			t.Errorf("%s: CAPS: got %v (err %v), want %v", where, got, err, want.Caps)
		}
	case f.Prop == spinel.PropHWAddr || f.Prop == spinel.PropMAC154LAddr:
		r := spinel.NewReader(v, "EUI-64")
		e := r.EUI64()
		if err := r.Err(); err != nil || hex.EncodeToString(e[:]) != want.EUI64 {
			t.Errorf("%s: EUI-64: got %x (err %v), want %s", where, e, err, want.EUI64)
		}
	case f.Prop == spinel.PropMACEnergyScanResult:
		var e spinel.EnergyScanResult
		err := e.Decode(v)
		if err != nil || want.Channel == nil || want.MaxRSSI == nil || e.Channel != *want.Channel || e.MaxRSSI != *want.MaxRSSI {
			t.Errorf("%s: ENERGY_SCAN_RESULT: got %+v (err %v), want channel %v rssi %v", where, e, err, deref(want.Channel), deref(want.MaxRSSI))
		}
	default:
		checkOTScalar(t, where, v, want)
	}
}

func checkOTScalar(t *testing.T, where string, v []byte, want *otAnnotation) {
	t.Helper()
	r := spinel.NewReader(v, want.Prop)
	var got, exp any
	switch {
	case want.Uint != nil:
		got, exp = r.PackedUint(), *want.Uint
	case want.U8 != nil:
		got, exp = r.U8(), *want.U8
	case want.U16 != nil:
		got, exp = r.U16(), *want.U16
	case want.I8 != nil:
		got, exp = r.I8(), *want.I8
	case want.Bool != nil:
		got, exp = r.Bool(), *want.Bool
	case want.Channels != nil:
		var chans []uint8
		for r.Len() > 0 && r.Err() == nil {
			chans = append(chans, r.U8())
		}
		got, exp = fmt.Sprint(chans), fmt.Sprint(want.Channels)
	default:
		t.Errorf("%s: %s: no typed value in the transcript to compare", where, want.Prop)
		return
	}
	if err := r.Err(); err != nil || got != exp || r.Len() != 0 {
		t.Errorf("%s: %s: got %v (err %v, %d bytes left), want %v", where, want.Prop, got, err, r.Len(), exp)
	}
}

// checkOTTxDone reads a transmit-done the way the host must: a LAST_STATUS
// with the request's TID that holds only a status is a refusal; otherwise
// it is a TxDone.
func checkOTTxDone(t *testing.T, where string, v []byte, want *otAnnotation) {
	t.Helper()
	if want.Status == nil {
		t.Errorf("%s: transmit-done without a status in the transcript", where)
		return
	}
	if want.FramePending == nil {
		// Refused up front (raw stream off, energy scan running...).
		r := spinel.NewReader(v, "LAST_STATUS")
		st := spinel.Status(r.PackedUint())
		if err := r.Err(); err != nil || uint32(st) != *want.Status || r.Len() != 0 || st == spinel.StatusOK {
			t.Errorf("%s: refusal: got %v (err %v, %d bytes left), want status %d alone", where, st, err, r.Len(), *want.Status)
		}
		return
	}
	var d spinel.TxDone
	if err := d.Decode(v); err != nil {
		t.Errorf("%s: TxDone.Decode: %v", where, err)
		return
	}
	if uint32(d.Status) != *want.Status || d.FramePending != *want.FramePending || d.HeaderUpdated != deref(want.HeaderUpdated) {
		t.Errorf("%s: TxDone: got status %v fp %v hu %v, want %d %v %v", where, d.Status, d.FramePending, d.HeaderUpdated, *want.Status, *want.FramePending, deref(want.HeaderUpdated))
	}
	if hasSec := want.KeyID != nil; d.HasSecurity != hasSec || (hasSec && (d.KeyID != *want.KeyID || d.FrameCounter != deref(want.FrameCounter))) {
		t.Errorf("%s: TxDone security: got %v %d %d, want key id %v counter %v", where, d.HasSecurity, d.KeyID, d.FrameCounter, deref(want.KeyID), deref(want.FrameCounter))
	}
	switch {
	case want.Ack == nil:
		if d.HasAck || *want.Status == 0 {
			t.Errorf("%s: TxDone: HasAck %v with status %d and no ACK record in the transcript", where, d.HasAck, *want.Status)
		}
	default:
		if wantHas := want.Ack.PSDU != ""; d.HasAck != wantHas {
			t.Errorf("%s: TxDone.HasAck = %v, want %v", where, d.HasAck, wantHas)
		}
		checkOTRx(t, where+": ack", &d.Ack, want.Ack)
	}
}

func checkOTRx(t *testing.T, where string, got *spinel.RxFrame, want *otRx) {
	t.Helper()
	if want == nil {
		t.Errorf("%s: no record in the transcript", where)
		return
	}
	w := spinel.RxFrame{
		RSSI: want.RSSI, NoiseFloor: want.NoiseFloor, Flags: want.Flags, Channel: want.Channel,
		LQI: want.LQI, Timestamp: want.Timestamp, RxError: spinel.OTError(want.RxError),
		AckKeyID: deref(want.AckKeyID), AckFrameCounter: deref(want.AckFrameCounter),
	}
	psdu, err := hex.DecodeString(want.PSDU)
	if err != nil {
		t.Errorf("%s: psdu in the transcript: %v", where, err)
	}
	g := *got
	g.PSDU = nil
	if !bytes.Equal(got.PSDU, psdu) || !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %x %+v\n want %x %+v", where, got.PSDU, g, psdu, w)
	}
	if len(psdu) > 0 && len(psdu) < 3 {
		t.Errorf("%s: PSDU of %d bytes cannot be an 802.15.4 frame", where, len(psdu))
	}
}

// TestOTRCPTranscriptsRequests checks the host → RCP side: every request
// the real RCP accepted decodes, and a SET STREAM_RAW re-encodes byte for
// byte with AppendTxRequest (what our driver sends is what was sent).
func TestOTRCPTranscriptsRequests(t *testing.T) {
	streamRaw := 0
	for _, path := range otTranscripts(t) {
		frames, err := readOTTranscript(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, fr := range frames {
			if !fr.toRCP {
				continue
			}
			where := fmt.Sprintf("%s:%d", filepath.Base(path), fr.line)
			var f spinel.Frame
			if err := f.Decode(fr.raw); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if f.TID == 0 {
				t.Errorf("%s: request with TID 0 gets no answer from the RCP", where)
			}
			if f.Command == spinel.CmdReset && len(f.Value) != 1 {
				t.Errorf("%s: RESET with %d bytes after the command", where, len(f.Value))
			}
			if f.Command != spinel.CmdPropValueSet || f.Prop != spinel.PropStreamRaw {
				continue
			}
			streamRaw++
			var req spinel.TxRequest
			if err := req.Decode(f.Value); err != nil {
				t.Errorf("%s: TxRequest.Decode: %v", where, err)
				continue
			}
			if again := spinel.AppendTxRequest(nil, &req); !bytes.Equal(again, f.Value) {
				t.Errorf("%s: AppendTxRequest(Decode(v)):\n got  %x\n want %x", where, again, f.Value)
			}
		}
	}
	if streamRaw == 0 {
		t.Error("no SET STREAM_RAW in the transcripts")
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
