package l2cap

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type vector struct {
	name, form string
	b          []byte
}

func readVectors(t testing.TB) map[string]vector {
	t.Helper()
	f, err := os.Open("testdata/signalling.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vs := map[string]vector{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		b, err := hex.DecodeString(strings.Join(fs[2:], ""))
		if err != nil {
			t.Fatalf("%s: %v", fs[0], err)
		}
		vs[fs[0]] = vector{name: fs[0], form: fs[1], b: b}
	}
	return vs
}

// knownAnswers maps each vector to its value and identifier.
var knownAnswers = map[string]struct {
	ident uint8
	sig   Signal
}{
	"le-conn-req-ipsp":       {1, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x40, MTU: 1280, MPS: 247, InitialCredits: 12}},
	"le-conn-req-linux":      {1, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x40, MTU: 1280, MPS: 23, InitialCredits: 56}},
	"le-conn-rsp-ok":         {1, &LECreditConnResponse{DestinationCID: 0x41, MTU: 1280, MPS: 247, InitialCredits: 12}},
	"le-conn-rsp-spsm":       {2, &LECreditConnResponse{Result: ResultSPSMNotSupported}},
	"le-conn-rsp-scid-used":  {9, &LECreditConnResponse{Result: ResultSourceCIDAllocated}},
	"flow-control-credit":    {3, &FlowControlCreditInd{CID: 0x40, Credits: 6}},
	"disconnection-req":      {4, &DisconnectionRequest{DCID: 0x41, SCID: 0x40}},
	"disconnection-rsp":      {4, &DisconnectionResponse{DCID: 0x41, SCID: 0x40}},
	"conn-param-update-req":  {5, &ConnParamUpdateRequest{ConnParams{IntervalMin: 24, IntervalMax: 40, Latency: 0, Timeout: 42}}},
	"conn-param-update-ok":   {5, &ConnParamUpdateResponse{Result: ConnParamAccepted}},
	"conn-param-update-rej":  {6, &ConnParamUpdateResponse{Result: ConnParamRejected}},
	"reject-not-understood":  {8, &CommandReject{Reason: RejectNotUnderstood}},
	"reject-signalling-mtu":  {7, &CommandReject{Reason: RejectSignalingMTU, SignalingMTU: 23}},
	"reject-invalid-cid":     {6, &CommandReject{Reason: RejectInvalidCID, LocalCID: 0x50, RemoteCID: 0x60}},
	"bluez-le-connect-req":   {0, &LECreditConnRequest{PSM: 0x80, SourceCID: 0x41, MTU: 32, MPS: 32, InitialCredits: 5}},
	"bluez-le-connect-rsp":   {0, &LECreditConnResponse{DestinationCID: 0x40, MTU: 672, MPS: 230, InitialCredits: 10}},
	"bluez-nval-le-conn-req": {0, &LECreditConnRequest{PSM: 0x80, SourceCID: 0x01, MTU: 32, MPS: 32, InitialCredits: 5}},
	"bluez-nval-le-conn-rsp": {0, &LECreditConnResponse{Result: ResultInvalidSourceCID}},
	"bluez-cmd-reject-rsp":   {1, &CommandReject{Reason: RejectNotUnderstood}},
}

// decodeSignal decodes data as the command code says, into a new value of
// the same type as the Signal types above.
func decodeSignal(code Code, data []byte) (Signal, error) {
	var s interface {
		Signal
		Decode([]byte) error
	}
	switch code {
	case CodeCommandReject:
		s = new(CommandReject)
	case CodeDisconnectionRequest:
		s = new(DisconnectionRequest)
	case CodeDisconnectionResponse:
		s = new(DisconnectionResponse)
	case CodeConnParamUpdateRequest:
		s = new(ConnParamUpdateRequest)
	case CodeConnParamUpdateResponse:
		s = new(ConnParamUpdateResponse)
	case CodeLECreditConnRequest:
		s = new(LECreditConnRequest)
	case CodeLECreditConnResponse:
		s = new(LECreditConnResponse)
	case CodeFlowControlCreditInd:
		s = new(FlowControlCreditInd)
	default:
		return nil, errors.New("unknown code")
	}
	return s, s.Decode(data)
}

func TestKnownAnswers(t *testing.T) {
	vs := readVectors(t)
	if len(vs) != len(knownAnswers) {
		t.Errorf("%d vectors in testdata, %d known answers", len(vs), len(knownAnswers))
	}
	for name, ka := range knownAnswers {
		t.Run(name, func(t *testing.T) {
			v, ok := vs[name]
			if !ok {
				t.Fatal("no vector in testdata/signalling.txt")
			}
			var enc []byte
			data := v.b
			switch v.form {
			case "pdu":
				enc = AppendSignal(nil, ka.ident, ka.sig)
				p, err := ParsePDU(v.b)
				if err != nil {
					t.Fatal(err)
				}
				if p.CID() != CIDLESignaling || int(p.Length()) != len(v.b)-HeaderLen {
					t.Errorf("PDU CID %v length %d", p.CID(), p.Length())
				}
				cmd, err := ParseCommand(p.Payload())
				if err != nil {
					t.Fatal(err)
				}
				if cmd.Code() != ka.sig.Code() || cmd.Identifier() != ka.ident || int(cmd.Length()) != ka.sig.Len() {
					t.Errorf("command %v ident %d length %d", cmd.Code(), cmd.Identifier(), cmd.Length())
				}
				data = cmd.Data()
			case "cmd":
				enc = AppendCommand(nil, ka.ident, ka.sig)
				cmd, err := ParseCommand(v.b)
				if err != nil {
					t.Fatal(err)
				}
				data = cmd.Data()
			case "data":
				enc = ka.sig.AppendData(nil)
			}
			if !bytes.Equal(enc, v.b) {
				t.Errorf("encoded\n%x\nwant\n%x", enc, v.b)
			}
			got, err := decodeSignal(ka.sig.Code(), data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ka.sig, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePDU(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrTruncated},
		{"short header", "0000 05", ErrTruncated},
		{"empty payload", "0000 0500", nil},
		{"length too big", "0300 4000 0102", ErrBadLength},
		{"length too small", "0100 4000 0102", ErrBadLength},
		{"exact", "0200 4000 0102", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(strings.ReplaceAll(c.in, " ", ""))
			p, err := ParsePDU(b)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if err == nil && !bytes.Equal(p.Payload(), b[HeaderLen:]) {
				t.Errorf("payload %x", p.Payload())
			}
		})
	}
	b, err := AppendPDU(nil, 0x41, []byte{1, 2, 3})
	if err != nil || !bytes.Equal(b, []byte{3, 0, 0x41, 0, 1, 2, 3}) {
		t.Errorf("AppendPDU = %x, %v", b, err)
	}
	if _, err := AppendPDU(nil, 0x41, make([]byte, MaxPayload+1)); !errors.Is(err, ErrBadLength) {
		t.Errorf("AppendPDU of 65536 octets: %v", err)
	}
}

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrTruncated},
		{"short", "0601 04", ErrTruncated},
		{"identifier 0", "0600 0400 41004000", ErrBadIdentifier},
		{"length beyond", "0601 0500 41004000", ErrBadLength},
		{"two commands", "0601 0400 41004000 0602 0400 41004000", ErrBadLength},
		{"ok", "0601 0400 41004000", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(strings.ReplaceAll(c.in, " ", ""))
			if _, err := ParseCommand(b); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

// Every command's Decode refuses data of another size.
func TestDecodeWrongSize(t *testing.T) {
	for _, ka := range knownAnswers {
		data := ka.sig.AppendData(nil)
		for _, n := range []int{0, 1, len(data) - 1, len(data) + 1, len(data) + 5} {
			if n < 0 || n == len(data) {
				continue
			}
			in := make([]byte, n)
			copy(in, data)
			if _, err := decodeSignal(ka.sig.Code(), in); err == nil {
				// A reason this package does not know may carry up to 4
				// octets; the known ones have fixed sizes.
				t.Errorf("%v (%T) decoded from %d octets (want %d)", ka.sig.Code(), ka.sig, n, len(data))
			}
		}
	}
	// An unknown reject reason may carry 0–4 octets.
	var r CommandReject
	if err := r.Decode([]byte{9, 0, 1, 2, 3, 4}); err != nil || r.Reason != 9 {
		t.Errorf("unknown reason: %v %+v", err, r)
	}
	if err := r.Decode([]byte{9, 0, 1, 2, 3, 4, 5}); !errors.Is(err, ErrBadLength) {
		t.Errorf("unknown reason with 5 octets: %v", err)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct {
		got  string
		want string
	}{
		{ResultSuccess.String(), "success"},
		{ResultSPSMNotSupported.String(), "refused: SPSM not supported"},
		{ResultNoResources.String(), "refused: no resources available"},
		{ResultInsufficientAuthentication.String(), "refused: insufficient authentication"},
		{ResultInsufficientAuthorization.String(), "refused: insufficient authorization"},
		{ResultEncryptionKeyTooShort.String(), "refused: encryption key size too short"},
		{ResultInsufficientEncryption.String(), "refused: insufficient encryption"},
		{ResultInvalidSourceCID.String(), "refused: invalid Source CID"},
		{ResultSourceCIDAllocated.String(), "refused: Source CID already allocated"},
		{ResultUnacceptableParameters.String(), "refused: unacceptable parameters"},
		{Result(0x0001).String(), "result 0x0001"},
		{CodeLECreditConnRequest.String(), "LE Credit Based Connection Request"},
		{Code(0x42).String(), "code 0x42"},
		{RejectInvalidCID.String(), "invalid CID in request"},
		{CID(0x40).String(), "0x0040"},
		{CIDLESignaling.String(), "LE signalling"},
		{PSMIPSP.String(), "IPSP"},
		{PSM(0x80).String(), "0x0080"},
		{StateOpen.String(), "open"},
		{ConnParamRejected.String(), "rejected"},
	} {
		if c.got != c.want {
			t.Errorf("String() = %q, want %q", c.got, c.want)
		}
	}
}

func TestConnParamsValidate(t *testing.T) {
	ok := ConnParams{IntervalMin: 24, IntervalMax: 40, Latency: 0, Timeout: 42}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*ConnParams){
		"interval min below 6":          func(p *ConnParams) { p.IntervalMin = 5 },
		"interval max above 3200":       func(p *ConnParams) { p.IntervalMax = 3201 },
		"min above max":                 func(p *ConnParams) { p.IntervalMin = 41 },
		"latency above 499":             func(p *ConnParams) { p.Latency = 500; p.Timeout = 3200; p.IntervalMax = 6; p.IntervalMin = 6 },
		"timeout below 10":              func(p *ConnParams) { p.Timeout = 9; p.IntervalMax = 6; p.IntervalMin = 6 },
		"timeout above 3200":            func(p *ConnParams) { p.Timeout = 3201 },
		"timeout not above 2×(1+L)×max": func(p *ConnParams) { p.Timeout = 10 }, // 40 ≤ 1×40
	} {
		p := ok
		mod(&p)
		if err := p.Validate(); !errors.Is(err, ErrBadParameter) {
			t.Errorf("%s: %+v: %v", name, p, err)
		}
	}
	// The boundary: Timeout×4 just above (1+Latency)×IntervalMax.
	b := ConnParams{IntervalMin: 6, IntervalMax: 3200, Latency: 0, Timeout: 801}
	if err := b.Validate(); err != nil {
		t.Errorf("boundary %+v: %v", b, err)
	}
}

func TestLECreditConnRequestCheck(t *testing.T) {
	base := LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x40, MTU: 23, MPS: 23}
	for _, c := range []struct {
		mod  func(*LECreditConnRequest)
		want Result
	}{
		{func(*LECreditConnRequest) {}, ResultSuccess},
		{func(r *LECreditConnRequest) { r.PSM = 0 }, ResultSPSMNotSupported},
		{func(r *LECreditConnRequest) { r.PSM = 0x100 }, ResultSPSMNotSupported},
		{func(r *LECreditConnRequest) { r.SourceCID = 0x3f }, ResultInvalidSourceCID},
		{func(r *LECreditConnRequest) { r.SourceCID = 0x80 }, ResultInvalidSourceCID},
		{func(r *LECreditConnRequest) { r.MTU = 22 }, ResultUnacceptableParameters},
		{func(r *LECreditConnRequest) { r.MPS = 22 }, ResultUnacceptableParameters},
		{func(r *LECreditConnRequest) { r.MPS = 65534 }, ResultUnacceptableParameters},
		{func(r *LECreditConnRequest) { r.MPS = 65533; r.MTU = 65535; r.InitialCredits = 65535 }, ResultSuccess},
	} {
		r := base
		c.mod(&r)
		if got := r.Check(); got != c.want {
			t.Errorf("%+v: %v, want %v", r, got, c.want)
		}
	}
}

// The Signal types are the ones decodeSignal returns.
func TestSignalTypes(t *testing.T) {
	for _, ka := range knownAnswers {
		got, _ := decodeSignal(ka.sig.Code(), ka.sig.AppendData(nil))
		if reflect.TypeOf(got) != reflect.TypeOf(ka.sig) {
			t.Errorf("%v: %T, want %T", ka.sig.Code(), got, ka.sig)
		}
	}
}
