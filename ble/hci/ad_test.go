package hci

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestADBuilders(t *testing.T) {
	b := AppendADFlags(nil, ADFlagLEGeneralDiscoverable|ADFlagBREDRNotSupported)
	b, err := AppendADUUID16s(b, UUIDInternetProtocolSupport)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = AppendADName(b, "lowpanbr"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, adIPSP) {
		t.Fatalf("built % x, want % x", b, adIPSP)
	}
	if b, err = AppendAD(nil, ADManufacturerData, []byte{0x59, 0x00, 1}); err != nil || !bytes.Equal(b, []byte{4, 0xFF, 0x59, 0, 1}) {
		t.Errorf("AppendAD = % x, %v", b, err)
	}
	if _, err := AppendAD(nil, ADManufacturerData, make([]byte, 255)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("255 octets: %v", err)
	}
	if _, err := AppendADName(nil, strings.Repeat("x", 255)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("255-octet name: %v", err)
	}
	if _, err := AppendADUUID16s(nil, make([]uint16, 128)...); !errors.Is(err, ErrTooLarge) {
		t.Errorf("128 UUIDs: %v", err)
	}
}

func TestADIterator(t *testing.T) {
	tests := []struct {
		name    string
		ad      []byte
		want    []ADStructure
		wantErr error
	}{
		{"IPSP", adIPSP, []ADStructure{
			{ADFlags, []byte{6}}, {ADCompleteUUID16s, []byte{0x20, 0x18}}, {ADCompleteLocalName, []byte("lowpanbr")}}, nil},
		{"empty", nil, nil, nil},
		{"zero padding ends it", append(bytes.Clone(adIPSP[:3]), 0, 0, 0, 5), []ADStructure{{ADFlags, []byte{6}}}, nil},
		{"type only", []byte{1, 0x09}, []ADStructure{{ADCompleteLocalName, []byte{}}}, nil},
		{"overrun", []byte{2, 1, 6, 5, 9, 'a'}, []ADStructure{{ADFlags, []byte{6}}}, ErrMalformed},
		{"length without type", []byte{2, 1, 6, 1}, []ADStructure{{ADFlags, []byte{6}}}, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []ADStructure
			it := IterateAD(tc.ad)
			var err error
			for {
				s, done, e := it.Next()
				if done {
					err = e
					break
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("structures (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !errors.Is(ValidateAD(tc.ad), tc.wantErr) {
				t.Errorf("ValidateAD: %v", ValidateAD(tc.ad))
			}
			if _, done, _ := it.Next(); !done {
				t.Error("Next after the end is not done")
			}
		})
	}
}

func TestADHasUUID16(t *testing.T) {
	incomplete := []byte{5, byte(ADIncompleteUUID16s), 0x0F, 0x18, 0x20, 0x18}
	tests := []struct {
		name string
		ad   []byte
		want bool
	}{
		{"complete list", adIPSP, true},
		{"incomplete list, second", incomplete, true},
		{"other UUIDs", []byte{3, byte(ADCompleteUUID16s), 0x0F, 0x18}, false},
		{"in a name", []byte{3, byte(ADCompleteLocalName), 0x20, 0x18}, false},
		{"odd octet ignored", []byte{4, byte(ADCompleteUUID16s), 0x0F, 0x18, 0x20}, false},
		{"after a malformed structure", append([]byte{9, 1}, incomplete...), false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		if got := ADHasUUID16(tc.ad, UUIDInternetProtocolSupport); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBDAddr(t *testing.T) {
	if s := addrC0.String(); s != "C0:11:22:33:44:55" {
		t.Errorf("String() = %q", s)
	}
	for _, s := range []string{"C0:11:22:33:44:55", "c0:11:22:33:44:55"} {
		if a, err := ParseBDAddr(s); err != nil || a != addrC0 {
			t.Errorf("ParseBDAddr(%q) = %v, %v", s, a, err)
		}
	}
	for _, s := range []string{"", "C0:11:22:33:44", "C0-11-22-33-44-55", "C0:11:22:33:44:5G", "C0:11:22:33:44:555", "C0:11:22:33:4455:"} {
		if _, err := ParseBDAddr(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseBDAddr(%q): %v, want ErrMalformed", s, err)
		}
	}
	for _, a := range []BDAddr{{}, addrC0, addrRPA, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}} {
		if b, err := ParseBDAddr(a.String()); err != nil || b != a {
			t.Errorf("round trip of %v: %v %v", a, b, err)
		}
	}
	names := map[AddrType]string{0: "public", 1: "random", 2: "public identity", 3: "random identity", 4: "address type 0x04"}
	for at, s := range names {
		if at.String() != s {
			t.Errorf("AddrType(%d) = %q", at, at.String())
		}
	}
}

func TestNames(t *testing.T) {
	checks := map[string]string{
		StatusSuccess.String():                          "Success",
		StatusUnknownCommand.String():                   "Unknown HCI Command",
		StatusUnknownConnectionID.String():              "Unknown Connection Identifier",
		StatusHardwareFailure.String():                  "Hardware Failure",
		StatusPageTimeout.String():                      "Page Timeout",
		StatusAuthenticationFailure.String():            "Authentication Failure",
		StatusMemoryCapacityExceeded.String():           "Memory Capacity Exceeded",
		StatusConnectionTimeout.String():                "Connection Timeout",
		StatusCommandDisallowed.String():                "Command Disallowed",
		StatusUnsupportedFeatureOrParameter.String():    "Unsupported Feature or Parameter Value",
		StatusInvalidCommandParameters.String():         "Invalid HCI Command Parameters",
		StatusRemoteUserTerminated.String():             "Remote User Terminated Connection",
		StatusLocalHostTerminated.String():              "Connection Terminated By Local Host",
		StatusUnsupportedRemoteFeature.String():         "Unsupported Remote Feature",
		StatusUnspecifiedError.String():                 "Unspecified Error",
		StatusLLResponseTimeout.String():                "LMP Response Timeout / LL Response Timeout",
		StatusControllerBusy.String():                   "Controller Busy",
		StatusUnacceptableConnectionParameters.String(): "Unacceptable Connection Parameters",
		StatusAdvertisingTimeout.String():               "Advertising Timeout",
		StatusConnectionFailedToBeEstablished.String():  "Connection Failed to be Established / Synchronization Timeout",
		StatusPacketTooLong.String():                    "Packet Too Long",
		Status(0x2B).String():                           "status 0x2b",
		Status(0xFF).String():                           "status 0xff",
		OpLEReadBufferSizeV2.String():                   "LE Read Buffer Size [v2]",
		Opcode(0xFC01).String():                         "opcode 0xfc01 (OGF 0x3f, OCF 0x001)",
		EventLEMeta.String():                            "LE Meta",
		EventCode(0x99).String():                        "event 0x99",
		LESubeventPHYUpdateComplete.String():            "LE PHY Update Complete",
		LESubevent(0x99).String():                       "LE subevent 0x99",
		RolePeripheral.String():                         "peripheral",
		Role(5).String():                                "role 0x05",
		PHYCoded.String():                               "LE Coded",
		PHY(9).String():                                 "PHY 0x09",
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// Every status from 0x00 to 0x45 not reserved has a name; every
	// opcode constant has one.
	for s := Status(0); s <= 0x45; s++ {
		reserved := s == 0x2B || s == 0x31 || s == 0x33 || s == 0x3F
		if got := s.String(); strings.HasPrefix(got, "status 0x") != reserved {
			t.Errorf("Status 0x%02x = %q", uint8(s), got)
		}
	}
	for op := range opcodeNames {
		if strings.HasPrefix(op.String(), "opcode") {
			t.Errorf("%#04x has no name", uint16(op))
		}
	}
}

func TestOpcode(t *testing.T) {
	for _, tc := range []struct {
		op  Opcode
		ogf uint8
		ocf uint16
	}{
		{OpDisconnect, OGFLinkControl, 0x006},
		{OpSetEventMask, OGFControllerBaseband, 0x001},
		{OpReset, OGFControllerBaseband, 0x003},
		{OpReadLocalVersionInformation, OGFInformational, 0x001},
		{OpReadLocalSupportedCommands, OGFInformational, 0x002},
		{OpReadLocalSupportedFeatures, OGFInformational, 0x003},
		{OpReadBDAddr, OGFInformational, 0x009},
		{OpLESetEventMask, OGFLEController, 0x001},
		{OpLEReadBufferSize, OGFLEController, 0x002},
		{OpLEReadLocalSupportedFeatures, OGFLEController, 0x003},
		{OpLESetRandomAddress, OGFLEController, 0x005},
		{OpLESetAdvertisingParameters, OGFLEController, 0x006},
		{OpLESetAdvertisingData, OGFLEController, 0x008},
		{OpLESetScanResponseData, OGFLEController, 0x009},
		{OpLESetAdvertisingEnable, OGFLEController, 0x00A},
		{OpLESetScanParameters, OGFLEController, 0x00B},
		{OpLESetScanEnable, OGFLEController, 0x00C},
		{OpLECreateConnection, OGFLEController, 0x00D},
		{OpLECreateConnectionCancel, OGFLEController, 0x00E},
		{OpLEConnectionUpdate, OGFLEController, 0x013},
		{OpLESetDataLength, OGFLEController, 0x022},
		{OpLEReadSuggestedDefaultDataLength, OGFLEController, 0x023},
		{OpLEWriteSuggestedDefaultDataLength, OGFLEController, 0x024},
		{OpLEReadMaximumDataLength, OGFLEController, 0x02F},
		{OpLEReadPHY, OGFLEController, 0x030},
		{OpLESetDefaultPHY, OGFLEController, 0x031},
		{OpLESetPHY, OGFLEController, 0x032},
		{OpLEReadBufferSizeV2, OGFLEController, 0x060},
	} {
		if tc.op.OGF() != tc.ogf || tc.op.OCF() != tc.ocf || MakeOpcode(tc.ogf, tc.ocf) != tc.op {
			t.Errorf("%v: OGF 0x%02x OCF 0x%03x, want 0x%02x 0x%03x", tc.op, tc.op.OGF(), tc.op.OCF(), tc.ogf, tc.ocf)
		}
	}
	if MakeOpcode(0xFF, 0xFFFF) != 0xFFFF {
		t.Error("MakeOpcode does not mask")
	}
}

func TestFeatures(t *testing.T) {
	// The CSR dongle of the btmon capture: LE Supported (Controller), not
	// BR/EDR Not Supported.
	f := LMPFeatures(0x877BBFDBFACDFFFF)
	if !f.LESupported() || f.Has(LMPFeatureBREDRNotSupported) || f.Has(64) {
		t.Errorf("%#x: LE %v, BR/EDR not supported %v", uint64(f), f.LESupported(), f.Has(LMPFeatureBREDRNotSupported))
	}
	if LMPFeatures(0).LESupported() {
		t.Error("no features has LE")
	}
	le := LEFeatures(0x1961)
	for _, b := range []LEFeature{LEFeatureEncryption, LEFeatureDataPacketLengthExtension, LEFeatureLLPrivacy, LEFeature2MPHY, LEFeatureCodedPHY, LEFeatureExtendedAdvertising} {
		if !le.Has(b) {
			t.Errorf("bit %d not set in %#x", b, uint64(le))
		}
	}
	if le.Has(LEFeaturePing) || le.Has(LEFeatureChannelSelectionAlgorithm2) || le.Has(200) {
		t.Error("unset bits reported")
	}
	r := ReadLocalSupportedCommandsReturn{Commands: supportedCommands}
	if !r.Supports(0, 5) || !r.Supports(15, 1) || r.Supports(0, 4) || r.Supports(64, 0) || r.Supports(0, 8) || r.Supports(-1, 0) {
		t.Error("Supports")
	}
}
