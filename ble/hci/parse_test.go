package hci

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/google/go-cmp/cmp"
)

// TestPacketParsersTruncated cuts every known answer at every length, and
// lengthens it by an octet: the packet parsers must say ErrShort and
// ErrMalformed.
func TestPacketParsersTruncated(t *testing.T) {
	for _, v := range vectors() {
		p, err := v.build()
		if err != nil {
			t.Fatal(err)
		}
		parse := map[PacketType]func([]byte) error{
			PacketCommand: func(b []byte) error { _, err := ParseCommand(b); return err },
			PacketEvent:   func(b []byte) error { _, err := ParseEvent(b); return err },
			PacketACL:     func(b []byte) error { _, err := ParseACL(b); return err },
		}[v.typ]
		for n := range len(p) {
			if err := parse(p[:n]); !errors.Is(err, ErrShort) {
				t.Errorf("%s cut to %d octets: %v, want ErrShort", v.name, n, err)
			}
		}
		if err := parse(append(bytes.Clone(p), 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s with an extra octet: %v, want ErrMalformed", v.name, err)
		}
	}
}

// repack rebuilds a packet around shorter parameters, with a length field
// that agrees, so that the typed parser sees them.
func repack(t *testing.T, typ PacketType, p []byte, n int) []byte {
	t.Helper()
	switch typ {
	case PacketCommand:
		c, _ := ParseCommand(p)
		b, err := AppendCommand(nil, c.Opcode(), c.Params()[:n])
		if err != nil {
			t.Fatal(err)
		}
		return b
	case PacketEvent:
		e, _ := ParseEvent(p)
		b, err := AppendEvent(nil, e.Code(), e.Params()[:n])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return nil
}

// TestTypedParsersTruncated gives every typed parser the parameters of its
// known answer cut at every length. It must never panic, must fail on the
// shortest cuts, and must fail (ErrShort or ErrMalformed) once a field is
// missing: the only cuts that parse are of the advertising data blocks'
// zero padding.
func TestTypedParsersTruncated(t *testing.T) {
	padded := map[string]int{ // vector: shortest parameters that still parse
		"LE Set Advertising Data":          1 + len(adIPSP),
		"LE Set Scan Response Data, empty": 1,
		// Command Complete itself needs only its first three parameters.
		"Command Complete, Reset":                          3,
		"Command Complete, LE Read Buffer Size v2 unknown": 3,
	}
	for _, v := range vectors() {
		if v.parse == nil || v.typ == PacketACL {
			continue
		}
		p, _ := v.build()
		hdr := CommandHeaderLen
		if v.typ == PacketEvent {
			hdr = EventHeaderLen
		}
		full := len(p) - hdr
		minOK, ok := padded[v.name]
		if !ok {
			minOK = full
		}
		for n := range full {
			_, err := v.parse(repack(t, v.typ, p, n))
			if n >= minOK {
				if err != nil {
					t.Errorf("%s: parameters cut to %d: %v", v.name, n, err)
				}
				continue
			}
			var se *StatusError
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) && !errors.As(err, &se) {
				t.Errorf("%s: parameters cut to %d: %v, want ErrShort or ErrMalformed", v.name, n, err)
			}
		}
	}
}

// TestReturnParsersTruncated does the same for the return parameters of a
// successful command.
func TestReturnParsersTruncated(t *testing.T) {
	parsers := map[string]struct {
		parse func([]byte) (any, error)
		full  int
	}{
		"Read BD_ADDR":                          {func(b []byte) (any, error) { return ParseReadBDAddrReturn(b) }, 7},
		"Read Local Version Information":        {func(b []byte) (any, error) { return ParseReadLocalVersionReturn(b) }, 9},
		"Read Local Supported Commands":         {func(b []byte) (any, error) { return ParseReadLocalSupportedCommandsReturn(b) }, 65},
		"Read Local Supported Features":         {func(b []byte) (any, error) { return ParseReadLocalSupportedFeaturesReturn(b) }, 9},
		"LE Read Buffer Size v1":                {func(b []byte) (any, error) { return ParseLEReadBufferSizeReturn(b) }, 4},
		"LE Read Buffer Size v2":                {func(b []byte) (any, error) { return ParseLEReadBufferSizeV2Return(b) }, 7},
		"LE Read Local Supported Features":      {func(b []byte) (any, error) { return ParseLEReadLocalSupportedFeaturesReturn(b) }, 9},
		"LE Read Maximum Data Length":           {func(b []byte) (any, error) { return ParseLEReadMaximumDataLengthReturn(b) }, 9},
		"LE Read Suggested Default Data Length": {func(b []byte) (any, error) { return ParseLEReadSuggestedDefaultDataLengthReturn(b) }, 5},
		"LE Set Data Length":                    {func(b []byte) (any, error) { return ParseLESetDataLengthReturn(b) }, 3},
	}
	for name, p := range parsers {
		rp := make([]byte, p.full)
		if _, err := p.parse(rp); err != nil {
			t.Errorf("%s: %d zero octets: %v", name, p.full, err)
		}
		for n := range p.full {
			if _, err := p.parse(rp[:n]); !errors.Is(err, ErrShort) {
				t.Errorf("%s: %d octets: %v, want ErrShort", name, n, err)
			}
		}
		// A failed command: the status alone is enough, and is an error.
		for _, rp := range [][]byte{{byte(StatusCommandDisallowed)}, append([]byte{byte(StatusCommandDisallowed)}, make([]byte, p.full)...)} {
			got, err := p.parse(rp)
			var se *StatusError
			if !errors.As(err, &se) || se.Status != StatusCommandDisallowed {
				t.Errorf("%s: failed status: %v, want a *StatusError", name, err)
			}
			if s := reflect.ValueOf(got).FieldByName("Status").Interface(); s != StatusCommandDisallowed {
				t.Errorf("%s: failed status: returned Status %v", name, s)
			}
		}
	}
}

func TestWrongEvent(t *testing.T) {
	other, _ := ParseEvent(HardwareError{}.Append(nil))
	otherLE, _ := ParseEvent(LEPHYUpdateComplete{}.Append(nil))
	parsers := map[string]func(Event) error{
		"DisconnectionComplete":        func(e Event) error { _, err := ParseDisconnectionComplete(e); return err },
		"CommandComplete":              func(e Event) error { _, err := ParseCommandComplete(e); return err },
		"CommandStatus":                func(e Event) error { _, err := ParseCommandStatus(e); return err },
		"DataBufferOverflow":           func(e Event) error { _, err := ParseDataBufferOverflow(e); return err },
		"NumberOfCompletedPackets":     func(e Event) error { _, err := ParseNumberOfCompletedPackets(e); return err },
		"LEConnectionComplete":         func(e Event) error { _, err := ParseLEConnectionComplete(e); return err },
		"LEEnhancedConnectionComplete": func(e Event) error { _, err := ParseLEEnhancedConnectionComplete(e); return err },
		"LEConnectionUpdateComplete":   func(e Event) error { _, err := ParseLEConnectionUpdateComplete(e); return err },
		"LEDataLengthChange":           func(e Event) error { _, err := ParseLEDataLengthChange(e); return err },
		"LEAdvertisingReport":          func(e Event) error { _, err := ParseLEAdvertisingReport(e); return err },
	}
	for name, parse := range parsers {
		for _, e := range []Event{other, otherLE} {
			if err := parse(e); !errors.Is(err, ErrWrongEvent) {
				t.Errorf("%s given %v: %v, want ErrWrongEvent", name, e.Code(), err)
			}
		}
	}
	if _, err := ParseHardwareError(otherLE); !errors.Is(err, ErrWrongEvent) {
		t.Errorf("ParseHardwareError given LE Meta: %v", err)
	}
	if _, err := ParseLEPHYUpdateComplete(other); !errors.Is(err, ErrWrongEvent) {
		t.Errorf("ParseLEPHYUpdateComplete given Hardware Error: %v", err)
	}
	// LE Meta with no subevent code, and the zero Event.
	empty, _ := ParseEvent([]byte{0x3E, 0})
	if _, err := ParseLEConnectionComplete(empty); !errors.Is(err, ErrShort) {
		t.Errorf("empty LE Meta: %v", err)
	}
	if _, ok := empty.Subevent(); ok {
		t.Error("empty LE Meta has a subevent")
	}
	if _, err := ParseDisconnectionComplete(nil); !errors.Is(err, ErrShort) {
		t.Errorf("nil Event: %v", err)
	}
}

func TestMalformedEvents(t *testing.T) {
	tests := []struct {
		name string
		ev   string
		want error
	}{
		{"advertising data over 31", "02 01 00 01 112233445566 20 00", ErrMalformed},
		{"report overruns", "02 01 00 01 112233445566 02 aa bb", ErrShort},
		{"reports short of the count", "02 02 00 01 112233445566 01 aa c4", ErrShort},
		{"report without RSSI", "02 01 00 01 112233445566 01 aa", ErrShort},
		{"octets after the reports", "02 01 00 01 112233445566 01 aa c4 00", ErrMalformed},
		{"completed packets short of the count", "13 02 47 00 01 00", ErrShort},
	}
	for _, tc := range tests {
		p := mustHex(t, tc.ev)
		code := EventLEMeta
		if p[0] == 0x13 {
			code, p = EventNumberOfCompletedPackets, p[1:]
		}
		b, _ := AppendEvent(nil, code, p)
		e, err := ParseEvent(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err1 := ParseLEAdvertisingReport(e)
		_, err2 := ParseNumberOfCompletedPackets(e)
		if !errors.Is(err1, tc.want) && !errors.Is(err2, tc.want) {
			t.Errorf("%s: %v / %v, want %v", tc.name, err1, err2, tc.want)
		}
	}
	// Reserved boolean values in commands.
	for _, c := range []struct {
		parse func([]byte) error
		p     []byte
	}{
		{func(b []byte) error { _, err := ParseLESetAdvertisingEnable(b); return err }, []byte{2}},
		{func(b []byte) error { _, err := ParseLESetScanEnable(b); return err }, []byte{2, 0}},
		{func(b []byte) error { _, err := ParseLESetScanEnable(b); return err }, []byte{1, 2}},
		{func(b []byte) error { _, err := ParseLESetAdvertisingData(b); return err }, append([]byte{32}, make([]byte, 32)...)},
	} {
		if err := c.parse(c.p); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x: %v, want ErrMalformed", c.p, err)
		}
	}
}

// roundTrip encodes random values and decodes them back.
func roundTrip[T any](t *testing.T, name string, norm func(*T), enc func(T) ([]byte, error), dec func([]byte) (T, error)) {
	t.Helper()
	f := func(v T) bool {
		if norm != nil {
			norm(&v)
		}
		b, err := enc(v)
		if err != nil {
			t.Errorf("%s: encode %+v: %v", name, v, err)
			return false
		}
		got, err := dec(b)
		if err != nil {
			t.Errorf("%s: decode % x: %v", name, b, err)
			return false
		}
		if diff := cmp.Diff(v, got); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", name, diff)
			return false
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 300}); err != nil {
		t.Error(err)
	}
}

// cmdRT round-trips a command through AppendCommand, ParseCommand and the
// typed parser, and checks that AppendCommand is the header plus Append.
func cmdRT[T interface {
	Append([]byte) []byte
	AppendCommand([]byte) []byte
}](t *testing.T, name string, op Opcode, norm func(*T), parse func([]byte) (T, error)) {
	roundTrip(t, name, norm, func(v T) ([]byte, error) {
		b := v.AppendCommand(nil)
		want, _ := AppendCommand(nil, op, v.Append(nil))
		if !bytes.Equal(b, want) {
			t.Errorf("%s: AppendCommand % x, header+Append % x", name, b, want)
		}
		return b, nil
	}, func(b []byte) (T, error) {
		c, err := ParseCommand(b)
		if err != nil {
			var zero T
			return zero, err
		}
		if c.Opcode() != op {
			t.Errorf("%s: opcode %v", name, c.Opcode())
		}
		return parse(c.Params())
	})
}

func evRT[T any](t *testing.T, name string, norm func(*T), enc func(T) ([]byte, error), parse func(Event) (T, error)) {
	roundTrip(t, name, norm, enc, func(b []byte) (T, error) {
		e, err := ParseEvent(b)
		if err != nil {
			var zero T
			return zero, err
		}
		return parse(e)
	})
}

func noErr[T interface{ Append([]byte) []byte }](v T) ([]byte, error) { return v.Append(nil), nil }

func TestRoundTrips(t *testing.T) {
	cmdRT(t, "Disconnect", OpDisconnect, nil, ParseDisconnect)
	cmdRT(t, "SetEventMask", OpSetEventMask, nil, ParseSetEventMask)
	cmdRT(t, "LESetEventMask", OpLESetEventMask, nil, ParseLESetEventMask)
	cmdRT(t, "LESetRandomAddress", OpLESetRandomAddress, nil, ParseLESetRandomAddress)
	cmdRT(t, "LESetAdvertisingParameters", OpLESetAdvertisingParameters, nil, ParseLESetAdvertisingParameters)
	normAD := func(d *AdvertisingData) {
		d.Len %= MaxAdvDataLen + 1
		clear(d.Data[d.Len:])
	}
	cmdRT(t, "LESetAdvertisingData", OpLESetAdvertisingData, func(p *LESetAdvertisingData) { normAD(&p.AdvertisingData) }, ParseLESetAdvertisingData)
	cmdRT(t, "LESetScanResponseData", OpLESetScanResponseData, func(p *LESetScanResponseData) { normAD(&p.AdvertisingData) }, ParseLESetScanResponseData)
	cmdRT(t, "LESetAdvertisingEnable", OpLESetAdvertisingEnable, nil, ParseLESetAdvertisingEnable)
	cmdRT(t, "LESetScanParameters", OpLESetScanParameters, nil, ParseLESetScanParameters)
	cmdRT(t, "LESetScanEnable", OpLESetScanEnable, nil, ParseLESetScanEnable)
	cmdRT(t, "LECreateConnection", OpLECreateConnection, nil, ParseLECreateConnection)
	cmdRT(t, "LEConnectionUpdate", OpLEConnectionUpdate, nil, ParseLEConnectionUpdate)
	cmdRT(t, "LESetDataLength", OpLESetDataLength, nil, ParseLESetDataLength)
	cmdRT(t, "LEWriteSuggestedDefaultDataLength", OpLEWriteSuggestedDefaultDataLength, nil, ParseLEWriteSuggestedDefaultDataLength)
	cmdRT(t, "LESetDefaultPHY", OpLESetDefaultPHY, nil, ParseLESetDefaultPHY)
	cmdRT(t, "LESetPHY", OpLESetPHY, nil, ParseLESetPHY)

	evRT(t, "DisconnectionComplete", nil, noErr[DisconnectionComplete], ParseDisconnectionComplete)
	evRT(t, "CommandComplete", func(c *CommandComplete) {
		if c.ReturnParameters == nil {
			c.ReturnParameters = []byte{}
		}
	}, func(c CommandComplete) ([]byte, error) { return c.Append(nil) }, ParseCommandComplete)
	evRT(t, "CommandStatus", nil, noErr[CommandStatus], ParseCommandStatus)
	evRT(t, "HardwareError", nil, noErr[HardwareError], ParseHardwareError)
	evRT(t, "DataBufferOverflow", nil, noErr[DataBufferOverflow], ParseDataBufferOverflow)
	evRT(t, "LEConnectionComplete", nil, noErr[LEConnectionComplete], ParseLEConnectionComplete)
	evRT(t, "LEEnhancedConnectionComplete", nil, noErr[LEEnhancedConnectionComplete], ParseLEEnhancedConnectionComplete)
	evRT(t, "LEConnectionUpdateComplete", nil, noErr[LEConnectionUpdateComplete], ParseLEConnectionUpdateComplete)
	evRT(t, "LEDataLengthChange", nil, noErr[LEDataLengthChange], ParseLEDataLengthChange)
	evRT(t, "LEPHYUpdateComplete", nil, noErr[LEPHYUpdateComplete], ParseLEPHYUpdateComplete)
	evRT(t, "NumberOfCompletedPackets", func(v *[]HandleCount) {
		if *v = (*v)[:min(len(*v), 63)]; len(*v) == 0 {
			*v = nil
		}
	},
		func(v []HandleCount) ([]byte, error) { return AppendNumberOfCompletedPackets(nil, v...) },
		func(e Event) ([]HandleCount, error) {
			n, err := ParseNumberOfCompletedPackets(e)
			if err != nil {
				return nil, err
			}
			var out []HandleCount
			for i := range n.Len() {
				out = append(out, n.At(i))
			}
			return out, nil
		})
	evRT(t, "LEAdvertisingReport", func(v *[]AdvReport) {
		r := (*v)[:min(len(*v), 6)]
		for i := range r {
			r[i].Data = r[i].Data[:min(len(r[i].Data), MaxAdvDataLen)]
			if len(r[i].Data) == 0 {
				r[i].Data = nil
			}
		}
		if *v = r; len(r) == 0 {
			*v = nil
		}
	}, func(v []AdvReport) ([]byte, error) { return AppendLEAdvertisingReport(nil, v...) },
		func(e Event) ([]AdvReport, error) {
			r, err := ParseLEAdvertisingReport(e)
			if err != nil {
				return nil, err
			}
			var out []AdvReport
			for rep := range r.All() {
				if len(rep.Data) == 0 {
					rep.Data = nil
				}
				out = append(out, rep)
			}
			return out, nil
		})

	ok := func(s *Status) { *s = StatusSuccess }
	roundTrip(t, "ReadBDAddrReturn", func(r *ReadBDAddrReturn) { ok(&r.Status) }, noErr[ReadBDAddrReturn], ParseReadBDAddrReturn)
	roundTrip(t, "ReadLocalVersionReturn", func(r *ReadLocalVersionReturn) { ok(&r.Status) }, noErr[ReadLocalVersionReturn], ParseReadLocalVersionReturn)
	roundTrip(t, "ReadLocalSupportedCommandsReturn", func(r *ReadLocalSupportedCommandsReturn) { ok(&r.Status) }, noErr[ReadLocalSupportedCommandsReturn], ParseReadLocalSupportedCommandsReturn)
	roundTrip(t, "ReadLocalSupportedFeaturesReturn", func(r *ReadLocalSupportedFeaturesReturn) { ok(&r.Status) }, noErr[ReadLocalSupportedFeaturesReturn], ParseReadLocalSupportedFeaturesReturn)
	roundTrip(t, "LEReadBufferSizeReturn v1", func(r *LEReadBufferSizeReturn) {
		ok(&r.Status)
		r.ISODataPacketLength, r.TotalNumISODataPackets = 0, 0
	}, noErr[LEReadBufferSizeReturn], ParseLEReadBufferSizeReturn)
	roundTrip(t, "LEReadBufferSizeReturn v2", func(r *LEReadBufferSizeReturn) { ok(&r.Status) },
		func(r LEReadBufferSizeReturn) ([]byte, error) { return r.AppendV2(nil), nil }, ParseLEReadBufferSizeV2Return)
	roundTrip(t, "LEReadLocalSupportedFeaturesReturn", func(r *LEReadLocalSupportedFeaturesReturn) { ok(&r.Status) }, noErr[LEReadLocalSupportedFeaturesReturn], ParseLEReadLocalSupportedFeaturesReturn)
	roundTrip(t, "LEReadMaximumDataLengthReturn", func(r *LEReadMaximumDataLengthReturn) { ok(&r.Status) }, noErr[LEReadMaximumDataLengthReturn], ParseLEReadMaximumDataLengthReturn)
	roundTrip(t, "LEReadSuggestedDefaultDataLengthReturn", func(r *LEReadSuggestedDefaultDataLengthReturn) { ok(&r.Status) }, noErr[LEReadSuggestedDefaultDataLengthReturn], ParseLEReadSuggestedDefaultDataLengthReturn)
	roundTrip(t, "LESetDataLengthReturn", func(r *LESetDataLengthReturn) { ok(&r.Status) }, noErr[LESetDataLengthReturn], ParseLESetDataLengthReturn)
}

func TestEncoderLimits(t *testing.T) {
	if _, err := AppendCommand(nil, OpReset, make([]byte, MaxParamLen)); err != nil {
		t.Errorf("255 parameter octets: %v", err)
	}
	if _, err := (CommandComplete{ReturnParameters: make([]byte, 253)}).Append(nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("253 return parameter octets: %v", err)
	}
	if _, err := AppendLEMetaEvent(nil, 0x99, make([]byte, 255)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("255 LE Meta octets: %v", err)
	}
	if b, err := AppendLEMetaEvent(nil, 0x99, []byte{1}); err != nil || !bytes.Equal(b, []byte{0x3e, 2, 0x99, 1}) {
		t.Errorf("AppendLEMetaEvent = % x, %v", b, err)
	}
	if _, err := AppendNumberOfCompletedPackets(nil, make([]HandleCount, 64)...); !errors.Is(err, ErrTooLarge) {
		t.Errorf("64 handles: %v", err)
	}
	if _, err := AppendLEAdvertisingReport(nil, AdvReport{Data: make([]byte, 32)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("32 octets of report data: %v", err)
	}
	if _, err := AppendLEAdvertisingReport(nil, make([]AdvReport, 26)...); !errors.Is(err, ErrTooLarge) {
		t.Errorf("26 empty reports (262 octets): %v", err)
	}
	if _, err := MakeAdvertisingData(make([]byte, 32)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("32 octets of advertising data: %v", err)
	}
	// A Len over 31 is written as 31.
	d := AdvertisingData{Len: 200}
	if b := d.Append(nil); len(b) != 32 || b[0] != 31 {
		t.Errorf("Len 200 appends % x", b)
	}
}

func TestCommandCompleteStatus(t *testing.T) {
	cc := CommandComplete{Opcode: OpLESetScanEnable, ReturnParameters: []byte{byte(StatusCommandDisallowed)}}
	var se *StatusError
	if err := cc.Err(); !errors.As(err, &se) || se.Status != StatusCommandDisallowed || se.Opcode != OpLESetScanEnable {
		t.Errorf("Err() = %v", err)
	}
	if got := cc.Err().Error(); got != "hci: LE Set Scan Enable: Command Disallowed (0x0c)" {
		t.Errorf("Error() = %q", got)
	}
	if err := (CommandComplete{Opcode: OpNOP}).Err(); err != nil {
		t.Errorf("NOP: %v", err)
	}
	if _, ok := (CommandComplete{}).Status(); ok {
		t.Error("no return parameters has a status")
	}
	if err := (CommandStatus{Opcode: OpDisconnect}).Err(); err != nil {
		t.Errorf("Command Status success: %v", err)
	}
	if err := (CommandStatus{Status: StatusUnknownConnectionID, Opcode: OpDisconnect}).Err(); !errors.As(err, &se) || se.Status != 2 {
		t.Errorf("Command Status failure: %v", err)
	}
}

func TestParseEventAllocs(t *testing.T) {
	ev, _ := AppendNumberOfCompletedPackets(nil, HandleCount{0x40, 3}, HandleCount{0x41, 1})
	adv, _ := AppendLEAdvertisingReport(nil, AdvReport{Data: adIPSP}, AdvReport{Data: adIPSP[:3]})
	var sum int
	allocs := testing.AllocsPerRun(1000, func() {
		e, err := ParseEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		n, err := ParseNumberOfCompletedPackets(e)
		if err != nil {
			t.Fatal(err)
		}
		for hc := range n.All() {
			sum += int(hc.Count)
		}
		e, _ = ParseEvent(adv)
		r, err := ParseLEAdvertisingReport(e)
		if err != nil {
			t.Fatal(err)
		}
		for rep := range r.All() {
			if ADHasUUID16(rep.Data, UUIDInternetProtocolSupport) {
				sum++
			}
		}
	})
	if allocs != 0 {
		t.Errorf("parsing events allocates %.1f times", allocs)
	}
}
