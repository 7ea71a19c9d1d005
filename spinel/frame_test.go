package spinel

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestHeader(t *testing.T) {
	for _, tc := range []struct {
		iid, tid uint8
		want     Header
	}{
		{0, 0, 0x80}, {0, 1, 0x81}, {0, 15, 0x8F}, {1, 0, 0x90}, {3, 15, 0xBF},
	} {
		h := MakeHeader(tc.iid, tc.tid)
		if h != tc.want || h.IID() != tc.iid || h.TID() != tc.tid || !h.Valid() {
			t.Errorf("MakeHeader(%d, %d) = %#02x (iid %d tid %d valid %v), want %#02x", tc.iid, tc.tid, byte(h), h.IID(), h.TID(), h.Valid(), byte(tc.want))
		}
	}
	for v := 0; v < 256; v++ {
		if want := v >= 0x80 && v < 0xC0; Header(v).Valid() != want {
			t.Errorf("Header(%#02x).Valid() = %v, want %v", v, !want, want)
		}
	}
}

// Every Spinel frame the RCP host and the simulated RCP exchange, written
// out by hand. Packed integers: keys ≥ 0x80 take two bytes (0xB0 → B0 01,
// 0x120B → 8B 24, 0x1303 → 83 26).
var frameVectors = []struct {
	name  string
	frame Frame
	enc   []byte
}{
	// The Spinel draft's test vectors (spinel-spec, core/appendix-test-vectors.md).
	{"draft: reset command", Frame{Command: CmdReset}, []byte{0x80, 0x01}},
	{"draft: reset notification (RESET_SOFTWARE)", Frame{Command: CmdPropValueIs, Prop: PropLastStatus, Value: []byte{0x72}}, []byte{0x80, 0x06, 0x00, 0x72}},

	// Boot.
	{"RESET stack (SpinelDriver::SendReset)", Frame{Command: CmdReset, Value: []byte{byte(ResetStack)}}, []byte{0x80, 0x01, 0x02}},
	{"reset notification RESET_POWER_ON", Frame{Command: CmdPropValueIs, Prop: PropLastStatus, Value: []byte{0x70}}, []byte{0x80, 0x06, 0x00, 0x70}},
	{"NOOP", Frame{TID: 1, Command: CmdNoop}, []byte{0x81, 0x00}},
	{"GET PROTOCOL_VERSION", Frame{TID: 1, Command: CmdPropValueGet, Prop: PropProtocolVersion}, []byte{0x81, 0x02, 0x01}},
	{"IS PROTOCOL_VERSION 4.3", Frame{TID: 1, Command: CmdPropValueIs, Prop: PropProtocolVersion, Value: []byte{0x04, 0x03}}, []byte{0x81, 0x06, 0x01, 0x04, 0x03}},
	{"GET NCP_VERSION", Frame{TID: 2, Command: CmdPropValueGet, Prop: PropNCPVersion}, []byte{0x82, 0x02, 0x02}},
	{"IS NCP_VERSION", Frame{TID: 2, Command: CmdPropValueIs, Prop: PropNCPVersion, Value: []byte("OT/1\x00")}, []byte{0x82, 0x06, 0x02, 'O', 'T', '/', '1', 0x00}},
	{"GET INTERFACE_TYPE", Frame{TID: 3, Command: CmdPropValueGet, Prop: PropInterfaceType}, []byte{0x83, 0x02, 0x03}},
	// CAPS: CONFIG_RADIO 34 (22), RCP_API_VERSION 64 (40), RCP_MIN_HOST_API_VERSION 65 (41), MAC_RAW 513 (81 04).
	{"IS CAPS", Frame{TID: 4, Command: CmdPropValueIs, Prop: PropCaps, Value: []byte{0x22, 0x40, 0x41, 0x81, 0x04}}, []byte{0x84, 0x06, 0x05, 0x22, 0x40, 0x41, 0x81, 0x04}},
	{"GET HWADDR", Frame{TID: 5, Command: CmdPropValueGet, Prop: PropHWAddr}, []byte{0x85, 0x02, 0x08}},
	{"IS HWADDR", Frame{TID: 5, Command: CmdPropValueIs, Prop: PropHWAddr, Value: []byte{0xF4, 0xCE, 0x36, 0x00, 0x00, 0x00, 0x00, 0x01}}, []byte{0x85, 0x06, 0x08, 0xF4, 0xCE, 0x36, 0x00, 0x00, 0x00, 0x00, 0x01}},
	{"GET RCP_API_VERSION", Frame{TID: 6, Command: CmdPropValueGet, Prop: PropRCPAPIVersion}, []byte{0x86, 0x02, 0xB0, 0x01}},
	{"IS RCP_API_VERSION 11", Frame{TID: 6, Command: CmdPropValueIs, Prop: PropRCPAPIVersion, Value: []byte{0x0B}}, []byte{0x86, 0x06, 0xB0, 0x01, 0x0B}},
	{"GET RCP_MIN_HOST_API_VERSION", Frame{TID: 7, Command: CmdPropValueGet, Prop: PropRCPMinHostAPIVersion}, []byte{0x87, 0x02, 0xB1, 0x01}},
	{"GET RADIO_CAPS", Frame{TID: 8, Command: CmdPropValueGet, Prop: PropRadioCaps}, []byte{0x88, 0x02, 0x8B, 0x24}},
	// 0x33F: ack-timeout|energy-scan|tx-retries|csma|sleep-to-tx|tx-security|rx-on-when-idle|tx-frame-power → packed BF 06.
	{"IS RADIO_CAPS", Frame{TID: 8, Command: CmdPropValueIs, Prop: PropRadioCaps, Value: []byte{0xBF, 0x06}}, []byte{0x88, 0x06, 0x8B, 0x24, 0xBF, 0x06}},
	{"IS LAST_STATUS PROP_NOT_FOUND", Frame{TID: 9, Command: CmdPropValueIs, Prop: PropLastStatus, Value: []byte{0x0D}}, []byte{0x89, 0x06, 0x00, 0x0D}},

	// Configuration.
	{"SET PHY_ENABLED 1", Frame{TID: 10, Command: CmdPropValueSet, Prop: PropPHYEnabled, Value: []byte{0x01}}, []byte{0x8A, 0x03, 0x20, 0x01}},
	{"SET MAC_15_4_PANID 0x1234", Frame{TID: 11, Command: CmdPropValueSet, Prop: PropMAC154PANID, Value: []byte{0x34, 0x12}}, []byte{0x8B, 0x03, 0x36, 0x34, 0x12}},
	{"SET MAC_15_4_SADDR 0xABCD", Frame{TID: 12, Command: CmdPropValueSet, Prop: PropMAC154SAddr, Value: []byte{0xCD, 0xAB}}, []byte{0x8C, 0x03, 0x35, 0xCD, 0xAB}},
	// Canonical order: 02:11:22:33:44:55:66:77 as written.
	{"SET MAC_15_4_LADDR", Frame{TID: 13, Command: CmdPropValueSet, Prop: PropMAC154LAddr, Value: []byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}}, []byte{0x8D, 0x03, 0x34, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}},
	{"SET PHY_CHAN 15", Frame{TID: 14, Command: CmdPropValueSet, Prop: PropPHYChan, Value: []byte{0x0F}}, []byte{0x8E, 0x03, 0x21, 0x0F}},
	{"IS PHY_CHAN 15", Frame{TID: 14, Command: CmdPropValueIs, Prop: PropPHYChan, Value: []byte{0x0F}}, []byte{0x8E, 0x06, 0x21, 0x0F}},
	{"SET MAC_RAW_STREAM_ENABLED 1", Frame{TID: 15, Command: CmdPropValueSet, Prop: PropMACRawStreamEnabled, Value: []byte{0x01}}, []byte{0x8F, 0x03, 0x37, 0x01}},
	{"SET MAC_PROMISCUOUS_MODE full", Frame{TID: 1, Command: CmdPropValueSet, Prop: PropMACPromiscuousMode, Value: []byte{0x02}}, []byte{0x81, 0x03, 0x38, 0x02}},
	{"SET PHY_TX_POWER -5 dBm", Frame{TID: 2, Command: CmdPropValueSet, Prop: PropPHYTxPower, Value: []byte{0xFB}}, []byte{0x82, 0x03, 0x25, 0xFB}},
	{"SET PHY_CCA_THRESHOLD -75 dBm", Frame{TID: 3, Command: CmdPropValueSet, Prop: PropPHYCCAThreshold, Value: []byte{0xB5}}, []byte{0x83, 0x03, 0x24, 0xB5}},
	{"GET PHY_RSSI", Frame{TID: 4, Command: CmdPropValueGet, Prop: PropPHYRSSI}, []byte{0x84, 0x02, 0x26}},
	{"GET PHY_RX_SENSITIVITY", Frame{TID: 5, Command: CmdPropValueGet, Prop: PropPHYRxSensitivity}, []byte{0x85, 0x02, 0x27}},

	// Source match tables (frame pending for sleepy children).
	{"SET MAC_SRC_MATCH_ENABLED 1", Frame{TID: 6, Command: CmdPropValueSet, Prop: PropMACSrcMatchEnabled, Value: []byte{0x01}}, []byte{0x86, 0x03, 0x83, 0x26, 0x01}},
	{"SET MAC_SRC_MATCH_SHORT_ADDRESSES [0x0001 0x0002]", Frame{TID: 7, Command: CmdPropValueSet, Prop: PropMACSrcMatchShortAddresses, Value: []byte{0x01, 0x00, 0x02, 0x00}}, []byte{0x87, 0x03, 0x84, 0x26, 0x01, 0x00, 0x02, 0x00}},
	{"INSERT MAC_SRC_MATCH_SHORT_ADDRESSES 0x0003", Frame{TID: 8, Command: CmdPropValueInsert, Prop: PropMACSrcMatchShortAddresses, Value: []byte{0x03, 0x00}}, []byte{0x88, 0x04, 0x84, 0x26, 0x03, 0x00}},
	{"INSERTED MAC_SRC_MATCH_SHORT_ADDRESSES 0x0003", Frame{TID: 8, Command: CmdPropValueInserted, Prop: PropMACSrcMatchShortAddresses, Value: []byte{0x03, 0x00}}, []byte{0x88, 0x07, 0x84, 0x26, 0x03, 0x00}},
	{"REMOVE MAC_SRC_MATCH_EXTENDED_ADDRESSES", Frame{TID: 9, Command: CmdPropValueRemove, Prop: PropMACSrcMatchExtendedAddresses, Value: []byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}}, []byte{0x89, 0x05, 0x85, 0x26, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}},
	{"REMOVED MAC_SRC_MATCH_EXTENDED_ADDRESSES", Frame{TID: 9, Command: CmdPropValueRemoved, Prop: PropMACSrcMatchExtendedAddresses, Value: []byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}}, []byte{0x89, 0x08, 0x85, 0x26, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}},

	// Energy scan (RadioSpinel::EnergyScan; LinkRawEnergyScanDone).
	{"SET MAC_SCAN_MASK [11]", Frame{TID: 10, Command: CmdPropValueSet, Prop: PropMACScanMask, Value: []byte{0x0B}}, []byte{0x8A, 0x03, 0x31, 0x0B}},
	{"SET MAC_SCAN_PERIOD 100 ms", Frame{TID: 11, Command: CmdPropValueSet, Prop: PropMACScanPeriod, Value: []byte{0x64, 0x00}}, []byte{0x8B, 0x03, 0x32, 0x64, 0x00}},
	{"SET MAC_SCAN_STATE energy", Frame{TID: 12, Command: CmdPropValueSet, Prop: PropMACScanState, Value: []byte{0x02}}, []byte{0x8C, 0x03, 0x30, 0x02}},
	{"IS MAC_ENERGY_SCAN_RESULT ch 11, -60 dBm", Frame{Command: CmdPropValueIs, Prop: PropMACEnergyScanResult, Value: []byte{0x0B, 0xC4}}, []byte{0x80, 0x06, 0x39, 0x0B, 0xC4}},
	{"IS MAC_SCAN_STATE idle", Frame{Command: CmdPropValueIs, Prop: PropMACScanState, Value: []byte{0x00}}, []byte{0x80, 0x06, 0x30, 0x00}},

	// Transmit (values in radio_test.go).
	{"IS LAST_STATUS INVALID_STATE (transmit refused)", Frame{TID: 13, Command: CmdPropValueIs, Prop: PropLastStatus, Value: []byte{0x04}}, []byte{0x8D, 0x06, 0x00, 0x04}},
	{"transmit-done NO_ACK", Frame{TID: 13, Command: CmdPropValueIs, Prop: PropLastStatus, Value: []byte{0x11, 0x00, 0x00}}, []byte{0x8D, 0x06, 0x00, 0x11, 0x00, 0x00}},
	{"transmit-done aborted (16384+OT_ERROR_ABORT)", Frame{TID: 13, Command: CmdPropValueIs, Prop: PropLastStatus, Value: []byte{0x8B, 0x80, 0x01, 0x00, 0x00}}, []byte{0x8D, 0x06, 0x00, 0x8B, 0x80, 0x01, 0x00, 0x00}},
	{"IS STREAM_LOG", Frame{Command: CmdPropValueIs, Prop: PropStreamLog, Value: []byte("hi\x00")}, []byte{0x80, 0x06, 0x74, 'h', 'i', 0x00}},

	// A multipan notification on IID 3.
	{"IID 3", Frame{IID: 3, Command: CmdPropValueIs, Prop: PropLastStatus, Value: []byte{0x00}}, []byte{0xB0, 0x06, 0x00, 0x00}},
}

func TestFrameVectors(t *testing.T) {
	for _, tc := range frameVectors {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendFrame(nil, &tc.frame); !bytes.Equal(got, tc.enc) {
				t.Errorf("AppendFrame = % x, want % x", got, tc.enc)
			}
			var f Frame
			if err := f.Decode(tc.enc); err != nil {
				t.Fatalf("Decode(% x): %v", tc.enc, err)
			}
			if diff := cmp.Diff(tc.frame, f, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decode(% x) (-want +got):\n%s", tc.enc, diff)
			}
		})
	}
}

func TestFrameDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"bit 7 clear", []byte{0x01, 0x02, 0x01}, ErrBadHeader},
		{"bit 6 set", []byte{0xC1, 0x02, 0x01}, ErrBadHeader},
		{"HDLC flag", []byte{0x7E}, ErrBadHeader},
		{"no command", []byte{0x81}, ErrTruncated},
		{"command truncated", []byte{0x81, 0x82}, ErrTruncated},
		{"no property", []byte{0x81, 0x02}, ErrTruncated},
		{"property too long", []byte{0x81, 0x06, 0x80, 0x80, 0x80, 0x01}, ErrPackedTooLong},
	} {
		var f Frame
		if err := f.Decode(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: Decode(% x) error = %v, want %v", tc.name, tc.in, err, tc.want)
		}
	}
	// Unknown commands keep their bytes in Value.
	var f Frame
	if err := f.Decode([]byte{0x81, 0x12, 0x01, 0x02}); err != nil || f.Command != 18 || !bytes.Equal(f.Value, []byte{0x01, 0x02}) {
		t.Errorf("PEEK frame: %v, %+v", err, f)
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{CmdPropValueGet.String(), "PROP_VALUE_GET"},
		{CmdPropValueRemoved.String(), "PROP_VALUE_REMOVED"},
		{Command(99).String(), "CMD_99"},
		{PropMACSrcMatchExtendedAddresses.String(), "MAC_SRC_MATCH_EXTENDED_ADDRESSES"},
		{PropStreamRaw.String(), "STREAM_RAW"},
		{Prop(0x4000).String(), "PROP_0x4000"},
		{StatusNoAck.String(), "NO_ACK"},
		{StatusResetPowerOn.String(), "RESET_POWER_ON"},
		{StatusResetWatchdog.String(), "RESET_WATCHDOG"},
		{Status(125).String(), "RESET_125"},
		{StatusAbort.String(), "STACK_NATIVE(Abort)"},
		{Status(3000).String(), "STATUS_3000"},
		{StatusCCAFailure.Error(), "spinel status CCA_FAILURE (18)"},
		{CapMACRaw.String(), "MAC_RAW"},
		{(RadioCapEnergyScan | RadioCapCSMABackoff).String(), "energy-scan|csma-backoff"},
		{ResetStack.String(), "stack"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for s := Status(112); s < 128; s++ {
		if !s.IsReset() {
			t.Errorf("%d.IsReset() = false", s)
		}
	}
	if Status(111).IsReset() || Status(128).IsReset() {
		t.Error("IsReset outside 112–127")
	}
	var err error = StatusNoAck
	var st Status
	if !errors.As(err, &st) || st != StatusNoAck || StatusOK.Err() != nil || StatusBusy.Err() == nil {
		t.Error("Status as error")
	}
}
