package spinel

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// A data frame: FCF 0x8841 (data, PAN ID compression, short addresses,
// 2006), sequence 0x2A, PAN 0x1234, destination 0xFFFF, source 0x0001,
// payload "hi", two FCS placeholder bytes.
var testPSDU = []byte{0x41, 0x88, 0x2A, 0x34, 0x12, 0xFF, 0xFF, 0x01, 0x00, 'h', 'i', 0x00, 0x00}

// The value of SET STREAM_RAW as RadioSpinel::Transmit packs it
// (`dCCCbbbbLLCc`).
var txRequestVector = []byte{
	0x0D, 0x00, // d: 13 bytes, FCS placeholders included
	0x41, 0x88, 0x2A, 0x34, 0x12, 0xFF, 0xFF, 0x01, 0x00, 'h', 'i', 0x00, 0x00,
	0x0F,                   // C channel 15
	0x04,                   // C max CSMA backoffs
	0x03,                   // C max frame retries
	0x01,                   // b CSMA enabled
	0x00,                   // b header updated
	0x01,                   // b is a retransmission
	0x00,                   // b security processed
	0x10, 0x27, 0x00, 0x00, // L TX delay 10000 µs
	0x78, 0x56, 0x34, 0x12, // L TX delay base 0x12345678
	0x14, // C receive channel after TX: 20
	0x7F, // c TX power unset (127)
}

var txRequestFields = TxRequest{
	PSDU: testPSDU, Channel: 15, MaxCSMABackoffs: 4, MaxFrameRetries: 3,
	CSMAEnabled: true, IsRetransmission: true, TxDelay: 10000, TxDelayBase: 0x12345678,
	RxChannelAfterTx: 20, TxPower: TxPowerUnset,
}

func TestTxRequestVector(t *testing.T) {
	if got := AppendTxRequest(nil, &txRequestFields); !bytes.Equal(got, txRequestVector) {
		t.Fatalf("AppendTxRequest\n% x\nwant\n% x", got, txRequestVector)
	}
	var got TxRequest
	if err := got.Decode(txRequestVector); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(txRequestFields, got); diff != "" {
		t.Fatalf("Decode (-want +got):\n%s", diff)
	}
	// Whole frame, TID 3: header 83, SET 03, STREAM_RAW 71.
	frame := AppendFrameHeader(nil, 0, 3, CmdPropValueSet, PropStreamRaw)
	if !bytes.Equal(frame, []byte{0x83, 0x03, 0x71}) {
		t.Fatalf("frame header % x", frame)
	}
}

// An RCP takes the PSDU and the channel as required and every other field
// as optional, stopping at the first one missing or malformed
// (DecodeStreamRawTxRequest).
func TestTxRequestDecodeOptional(t *testing.T) {
	defaults := func(ch uint8) TxRequest {
		return TxRequest{PSDU: testPSDU, Channel: ch, MaxCSMABackoffs: 4, MaxFrameRetries: 15,
			CSMAEnabled: true, RxChannelAfterTx: ch, TxPower: TxPowerUnset}
	}
	only := func(n int) []byte { return bytes.Clone(txRequestVector[:n]) }
	for _, tc := range []struct {
		name string
		in   []byte
		want TxRequest
	}{
		{"PSDU and channel", only(16), defaults(15)},
		{"with backoffs", only(17), func() TxRequest { r := defaults(15); r.MaxCSMABackoffs = 4; return r }()},
		{"up to CSMA", only(19), func() TxRequest { r := defaults(15); r.MaxFrameRetries = 3; return r }()},
		{"half a delay", only(24), func() TxRequest {
			r := defaults(15)
			r.MaxFrameRetries, r.IsRetransmission = 3, true
			return r
		}()},
		{"bad bool stops parsing", append(only(18), 0x07, 0x01), func() TxRequest { r := defaults(15); r.MaxFrameRetries = 3; return r }()},
		{"trailing fields ignored", append(bytes.Clone(txRequestVector), 0xAA, 0xBB), txRequestFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got TxRequest
			if err := got.Decode(tc.in); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"no channel", only(15), ErrTruncated},
		{"PSDU cut", only(10), ErrTruncated},
		{"PSDU too long", append(AppendDataWithLen(nil, make([]byte, 128)), 11), ErrBadValue},
	} {
		var got TxRequest
		if err := got.Decode(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A received frame as PackRadioFrame packs it.
var rxFrameVector = []byte{
	0x0D, 0x00, // d: 13 bytes with FCS
	0x41, 0x88, 0x2A, 0x34, 0x12, 0xFF, 0xFF, 0x01, 0x00, 'h', 'i', 0xAB, 0xCD,
	0xC4,       // c RSSI -60
	0x80,       // c noise floor -128
	0x10, 0x00, // S flags: acked with frame pending
	0x0A, 0x00, // t( 10 bytes
	0x0F,                                           // C channel 15
	0xFF,                                           // C LQI 255
	0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00, // X timestamp 0x12345678 µs )
	0x01, 0x00, 0x00, // t( i receive error 0 )
	0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // t( C key ID, L frame counter )
}

var rxFrameFields = RxFrame{
	PSDU:       []byte{0x41, 0x88, 0x2A, 0x34, 0x12, 0xFF, 0xFF, 0x01, 0x00, 'h', 'i', 0xAB, 0xCD},
	RSSI:       -60,
	NoiseFloor: -128,
	Flags:      RxFlagAckedFramePending,
	Channel:    15,
	LQI:        255,
	Timestamp:  0x12345678,
}

func TestRxFrameVector(t *testing.T) {
	if got := AppendRxFrame(nil, &rxFrameFields); !bytes.Equal(got, rxFrameVector) {
		t.Fatalf("AppendRxFrame\n% x\nwant\n% x", got, rxFrameVector)
	}
	var got RxFrame
	if err := got.Decode(rxFrameVector); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rxFrameFields, got); diff != "" {
		t.Fatalf("Decode (-want +got):\n%s", diff)
	}
}

func TestRxFrameForwardCompatible(t *testing.T) {
	// A newer firmware: an extra byte inside the PHY struct, an extra byte
	// in the vendor struct, and another struct after the MAC one.
	newer := []byte{
		0x02, 0x00, 0x02, 0x00, // d ACK-sized frame
		0xC4, 0x80, 0x00, 0x00,
		0x0B, 0x00, 0x0F, 0xFF, 0x01, 0, 0, 0, 0, 0, 0, 0, 0xEE, // t(CCX + 1 byte)
		0x02, 0x00, 0x00, 0xEE, // t(i + 1 byte)
		0x05, 0x00, 0x02, 0x44, 0x33, 0x22, 0x11, // t(CL)
		0x02, 0x00, 0xAA, 0xBB, // t(...) from the future
	}
	var got RxFrame
	if err := got.Decode(newer); err != nil {
		t.Fatal(err)
	}
	want := RxFrame{PSDU: []byte{0x02, 0x00}, RSSI: -60, NoiseFloor: -128, Channel: 15, LQI: 255, Timestamp: 1, AckKeyID: 2, AckFrameCounter: 0x11223344}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// An older firmware without the MAC struct.
	older := rxFrameVector[:len(rxFrameVector)-7]
	if err := got.Decode(older); err != nil || got.AckKeyID != 0 || got.Channel != 15 {
		t.Fatalf("older: %v %+v", err, got)
	}
	// A receive error: the PSDU goes empty.
	withErr := rxFrameFields
	withErr.RxError = OTErrorAbort
	b := AppendRxFrame(nil, &withErr)
	if err := got.Decode(b); err != nil || got.RxError != OTErrorAbort || len(got.PSDU) != 0 {
		t.Fatalf("receive error: % x → %v %+v", b, err, got)
	}
	for _, n := range []int{0, 1, 15, 16, 17, 19, 20, 27, 30, 31, 33} {
		if err := got.Decode(rxFrameVector[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("cut at %d: %v, want ErrTruncated", n, err)
		}
	}
}

// Transmit-done values as LinkRawTransmitDone packs them.
func TestTxDoneVectors(t *testing.T) {
	ack := RxFrame{PSDU: []byte{0x12, 0x00, 0x2A, 0x9C, 0x3E}, RSSI: -58, NoiseFloor: -128, Channel: 15, LQI: 200, Timestamp: 0x0102}
	for _, tc := range []struct {
		name string
		done TxDone
		enc  []byte
	}{
		{
			name: "acked with frame pending",
			done: TxDone{Status: StatusOK, FramePending: true, Ack: ack, HasAck: true},
			enc: []byte{
				0x00, 0x01, 0x00, // i OK, b frame pending, b header not updated
				0x05, 0x00, 0x12, 0x00, 0x2A, 0x9C, 0x3E, // d ACK: FCF 0x0012 (ack, FP), seq, FCS
				0xC6, 0x80, 0x00, 0x00, // c RSSI -58, c noise -128, S flags
				0x0A, 0x00, 0x0F, 0xC8, 0x02, 0x01, 0, 0, 0, 0, 0, 0, // t(channel, LQI 200, timestamp 0x102)
				0x01, 0x00, 0x00, // t(receive error 0)
				0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // t(key ID, frame counter)
			},
		},
		{
			// No ACK requested: PackRadioFrame(nullptr, OT_ERROR_NONE).
			name: "sent, no ACK requested",
			done: TxDone{Status: StatusOK},
			enc: []byte{
				0x00, 0x00, 0x00,
				0x00, 0x00, // d empty
				0x00, 0x80, 0x00, 0x00, // RSSI 0, noise -128, flags 0
				0x0A, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, // channel 0, LQI 0 (OT_RADIO_LQI_NONE), timestamp 0
				0x01, 0x00, 0x00,
				0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			},
		},
		{"no ACK", TxDone{Status: StatusNoAck}, []byte{0x11, 0x00, 0x00}},
		{"CCA failure", TxDone{Status: StatusCCAFailure}, []byte{0x12, 0x00, 0x00}},
		{"aborted", TxDone{Status: StatusAbort}, []byte{0x8B, 0x80, 0x01, 0x00, 0x00}},
		{
			name: "security fields after a failure",
			done: TxDone{Status: StatusNoAck, HeaderUpdated: true, HasSecurity: true, KeyID: 1, FrameCounter: 0x0A0B0C0D},
			enc:  []byte{0x11, 0x00, 0x01, 0x01, 0x0D, 0x0C, 0x0B, 0x0A},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendTxDone(nil, &tc.done); !bytes.Equal(got, tc.enc) {
				t.Fatalf("AppendTxDone\n% x\nwant\n% x", got, tc.enc)
			}
			var got TxDone
			if err := got.Decode(tc.enc); err != nil {
				t.Fatal(err)
			}
			want := tc.done
			if want.Status == StatusOK && !want.HasAck {
				want.Ack = RxFrame{NoiseFloor: -128, PSDU: []byte{}}
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("Decode (-want +got):\n%s", diff)
			}
		})
	}
	var d TxDone
	for _, in := range [][]byte{nil, {0x00}, {0x00, 0x00}, {0x00, 0x02, 0x00}, {0x00, 0x00, 0x00, 0x05}} {
		if err := d.Decode(in); err == nil {
			t.Errorf("Decode(% x) succeeded", in)
		}
	}
}

func TestSmallValues(t *testing.T) {
	var e EnergyScanResult
	if err := e.Decode([]byte{0x0B, 0xC4}); err != nil || e != (EnergyScanResult{11, -60}) {
		t.Errorf("energy scan: %v %+v", err, e)
	}
	if got := AppendEnergyScanResult(nil, EnergyScanResult{26, -90}); !bytes.Equal(got, []byte{0x1A, 0xA6}) {
		t.Errorf("AppendEnergyScanResult = % x", got)
	}
	if err := e.Decode([]byte{0x0B}); !errors.Is(err, ErrTruncated) {
		t.Errorf("short energy scan: %v", err)
	}

	maj, min, err := DecodeProtocolVersion([]byte{0x04, 0x03})
	if err != nil || maj != 4 || min != 3 {
		t.Errorf("protocol version %d.%d %v", maj, min, err)
	}
	if got := AppendProtocolVersion(nil, 4, 3); !bytes.Equal(got, []byte{0x04, 0x03}) {
		t.Errorf("AppendProtocolVersion = % x", got)
	}
	if _, _, err := DecodeProtocolVersion([]byte{0x04}); !errors.Is(err, ErrTruncated) {
		t.Errorf("short protocol version: %v", err)
	}

	capsEnc := []byte{0x22, 0x40, 0x41, 0x81, 0x04}
	caps, err := ReadCaps(nil, capsEnc)
	if diff := cmp.Diff([]Cap{CapConfigRadio, CapRCPAPIVersion, CapRCPMinHostAPIVersion, CapMACRaw}, caps); diff != "" || err != nil {
		t.Errorf("ReadCaps (-want +got) %v:\n%s", err, diff)
	}
	if !HasCap(caps, CapMACRaw) || HasCap(caps, CapConfigFTD) {
		t.Error("HasCap")
	}
	if got := AppendCaps(nil, caps); !bytes.Equal(got, capsEnc) {
		t.Errorf("AppendCaps = % x", got)
	}
	if _, err := ReadCaps(nil, []byte{0x22, 0x81}); !errors.Is(err, ErrTruncated) {
		t.Errorf("cut CAPS: %v", err)
	}

	shorts := []uint16{0x0001, 0xABCD}
	shortEnc := []byte{0x01, 0x00, 0xCD, 0xAB}
	if got := AppendShortAddrs(nil, shorts); !bytes.Equal(got, shortEnc) {
		t.Errorf("AppendShortAddrs = % x", got)
	}
	if got, err := ReadShortAddrs(nil, shortEnc); err != nil || !cmp.Equal(got, shorts) {
		t.Errorf("ReadShortAddrs = %v %v", got, err)
	}
	if _, err := ReadShortAddrs(nil, shortEnc[:3]); !errors.Is(err, ErrTruncated) {
		t.Errorf("odd A(S): %v", err)
	}
	exts := [][8]byte{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}, {0xF4, 0xCE, 0x36, 0, 0, 0, 0, 1}}
	extEnc := []byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0xF4, 0xCE, 0x36, 0, 0, 0, 0, 1}
	if got := AppendEUI64s(nil, exts); !bytes.Equal(got, extEnc) {
		t.Errorf("AppendEUI64s = % x", got)
	}
	if got, err := ReadEUI64s(nil, extEnc); err != nil || !cmp.Equal(got, exts) {
		t.Errorf("ReadEUI64s = %v %v", got, err)
	}
	if _, err := ReadEUI64s(nil, extEnc[:9]); !errors.Is(err, ErrTruncated) {
		t.Errorf("cut A(E): %v", err)
	}
}

// The per-frame paths do not allocate.
func TestRadioValueAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	var req TxRequest
	var rx RxFrame
	var done TxDone
	rawFrame := append([]byte{0x80, 0x06, 0x71}, rxFrameVector...)
	doneEnc := AppendTxDone(nil, &TxDone{Status: StatusOK, HasAck: true, Ack: rxFrameFields})
	for name, f := range map[string]func(){
		"AppendTxRequest": func() { buf = AppendTxRequest(buf[:0], &txRequestFields) },
		"TxRequest.Decode": func() {
			if req.Decode(txRequestVector) != nil {
				panic("decode")
			}
		},
		"RxFrame.Decode": func() {
			if rx.Decode(rxFrameVector) != nil {
				panic("decode")
			}
		},
		"AppendRxFrame": func() { buf = AppendRxFrame(buf[:0], &rxFrameFields) },
		"TxDone.Decode": func() {
			if done.Decode(doneEnc) != nil {
				panic("decode")
			}
		},
		"Frame.Decode": func() {
			var f Frame
			if f.Decode(rawFrame) != nil {
				panic("decode")
			}
		},
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}
