package l2cap

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Code is a signalling command code (Vol 3 Part A §4, Table 4.2).
type Code uint8

// Signalling command codes allowed on the LE signalling channel, and the
// enhanced credit based ones this package answers with a Command Reject.
const (
	CodeCommandReject            Code = 0x01 // §4.1
	CodeDisconnectionRequest     Code = 0x06 // §4.6
	CodeDisconnectionResponse    Code = 0x07 // §4.7
	CodeConnParamUpdateRequest   Code = 0x12 // §4.20
	CodeConnParamUpdateResponse  Code = 0x13 // §4.21
	CodeLECreditConnRequest      Code = 0x14 // §4.22
	CodeLECreditConnResponse     Code = 0x15 // §4.23
	CodeFlowControlCreditInd     Code = 0x16 // §4.24
	CodeCreditConnRequest        Code = 0x17 // §4.25, enhanced mode: not implemented
	CodeCreditConnResponse       Code = 0x18 // §4.26, enhanced mode: not implemented
	CodeCreditReconfigureRequest Code = 0x19 // §4.27, enhanced mode: not implemented
	CodeCreditReconfigureResp    Code = 0x1A // §4.28, enhanced mode: not implemented
)

var codeNames = map[Code]string{
	CodeCommandReject:            "Command Reject",
	CodeDisconnectionRequest:     "Disconnection Request",
	CodeDisconnectionResponse:    "Disconnection Response",
	CodeConnParamUpdateRequest:   "Connection Parameter Update Request",
	CodeConnParamUpdateResponse:  "Connection Parameter Update Response",
	CodeLECreditConnRequest:      "LE Credit Based Connection Request",
	CodeLECreditConnResponse:     "LE Credit Based Connection Response",
	CodeFlowControlCreditInd:     "Flow Control Credit Ind",
	CodeCreditConnRequest:        "Credit Based Connection Request",
	CodeCreditConnResponse:       "Credit Based Connection Response",
	CodeCreditReconfigureRequest: "Credit Based Reconfigure Request",
	CodeCreditReconfigureResp:    "Credit Based Reconfigure Response",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "code 0x" + strconv.FormatUint(uint64(c)|0x100, 16)[1:]
}

// isResponse reports whether c answers a request. Responses are matched to
// requests by identifier and never answered, not even with a Command
// Reject.
func (c Code) isResponse() bool {
	switch c {
	case CodeCommandReject, CodeDisconnectionResponse, CodeConnParamUpdateResponse, CodeLECreditConnResponse:
		return true
	}
	return false
}

// Signalling command header layout (Vol 3 Part A §4, Figure 4.3).
const (
	cmdCodeOffset   = 0
	cmdIdentOffset  = 1
	cmdLengthOffset = 2
	// CommandHeaderLen is a signalling command's header: code, identifier
	// and a little-endian data length.
	CommandHeaderLen = 4
	// MinSignalingMTU is the smallest MTUsig an LE-U signalling channel
	// may have (Vol 3 Part A §4: 23 octets).
	MinSignalingMTU = 23
)

// Command is one signalling command, the information payload of a C-frame
// on the LE signalling channel (Vol 3 Part A §4, Figure 4.3):
//
//	+---------------+---------------+-------------------------------+
//	|     Code      |  Identifier   |         Length (LE)           |
//	+---------------+---------------+-------------------------------+
//	|   Data (Length octets) ...
//	+---------------------------------
//
// On LE-U a C-frame holds exactly one command (§4). The accessors trust the
// bounds ParseCommand checked.
type Command []byte

// ParseCommand checks that b is exactly one command: a header whose Length
// counts the rest of b, with a non-zero identifier. It returns a view (no
// copy). It does not check the data against the code: the Decode method
// of the command's type does.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < CommandHeaderLen {
		return nil, fmt.Errorf("l2cap: signalling command of %d octets, header needs %d: %w", len(b), CommandHeaderLen, ErrTruncated)
	}
	n := int(binary.LittleEndian.Uint16(b[cmdLengthOffset:]))
	if n != len(b)-CommandHeaderLen {
		return nil, fmt.Errorf("l2cap: %v length field %d, data %d octets (one command per LE C-frame): %w",
			Code(b[cmdCodeOffset]), n, len(b)-CommandHeaderLen, ErrBadLength)
	}
	if b[cmdIdentOffset] == 0 {
		return nil, fmt.Errorf("l2cap: %v: %w", Code(b[cmdCodeOffset]), ErrBadIdentifier)
	}
	return Command(b), nil
}

// Code is the command code.
func (c Command) Code() Code { return Code(c[cmdCodeOffset]) }

// Identifier matches a response to its request (1–255).
func (c Command) Identifier() uint8 { return c[cmdIdentOffset] }

// Length is the Length field: octets of data.
func (c Command) Length() uint16 { return binary.LittleEndian.Uint16(c[cmdLengthOffset:]) }

// Data is the command's data.
func (c Command) Data() []byte { return c[CommandHeaderLen:] }

// Signal is the data of one signalling command: each command type below
// implements it, and AppendCommand frames it.
type Signal interface {
	// Code is the command code.
	Code() Code
	// Len is the data's length in octets.
	Len() int
	// AppendData appends the data (without the command header).
	AppendData(b []byte) []byte
}

// AppendCommand appends one signalling command: header and data.
func AppendCommand(b []byte, ident uint8, s Signal) []byte {
	b = append(b, byte(s.Code()), ident)
	b = binary.LittleEndian.AppendUint16(b, uint16(s.Len()))
	return s.AppendData(b)
}

// AppendSignal appends a whole B-frame on the LE signalling channel holding
// one command: what the HCI host sends in an ACL packet.
func AppendSignal(b []byte, ident uint8, s Signal) []byte {
	b = AppendPDUHeader(b, uint16(CommandHeaderLen+s.Len()), CIDLESignaling)
	return AppendCommand(b, ident, s)
}

func le16(b []byte, i int) uint16 { return binary.LittleEndian.Uint16(b[2*i:]) }

func checkLen(code Code, data []byte, want int) error {
	if len(data) != want {
		return fmt.Errorf("l2cap: %v data of %d octets, want %d: %w", code, len(data), want, ErrBadLength)
	}
	return nil
}

// RejectReason is a Command Reject's reason (Vol 3 Part A §4.1, Table 4.3).
type RejectReason uint16

// Command Reject reasons.
const (
	RejectNotUnderstood     RejectReason = 0x0000
	RejectSignalingMTU      RejectReason = 0x0001 // data: the receiver's MTUsig
	RejectInvalidCID        RejectReason = 0x0002 // data: local and remote CID
	rejectMaxDataLen                     = 4
	rejectReasonLen                      = 2
	rejectSignalingMTUExtra              = 2
	rejectInvalidCIDExtra                = 4
)

func (r RejectReason) String() string {
	switch r {
	case RejectNotUnderstood:
		return "command not understood"
	case RejectSignalingMTU:
		return "signalling MTU exceeded"
	case RejectInvalidCID:
		return "invalid CID in request"
	}
	return "reason 0x" + strconv.FormatUint(uint64(r)|0x10000, 16)[1:]
}

// CommandReject answers a command whose code is not understood, that is too
// long for the signalling MTU, or that names an unknown channel (Vol 3
// Part A §4.1). Its identifier is the rejected command's.
//
//	Reason (2) | Data (0, 2 or 4 octets)
type CommandReject struct {
	Reason RejectReason
	// SignalingMTU is the rejecting side's MTUsig (Reason
	// RejectSignalingMTU only).
	SignalingMTU uint16
	// LocalCID and RemoteCID are the channel endpoints of the rejected
	// request, as seen by the device sending the reject (Reason
	// RejectInvalidCID only).
	LocalCID, RemoteCID CID
}

// Code implements Signal.
func (*CommandReject) Code() Code { return CodeCommandReject }

// Len implements Signal.
func (r *CommandReject) Len() int {
	switch r.Reason {
	case RejectSignalingMTU:
		return rejectReasonLen + rejectSignalingMTUExtra
	case RejectInvalidCID:
		return rejectReasonLen + rejectInvalidCIDExtra
	}
	return rejectReasonLen
}

// AppendData implements Signal.
func (r *CommandReject) AppendData(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.Reason))
	switch r.Reason {
	case RejectSignalingMTU:
		b = binary.LittleEndian.AppendUint16(b, r.SignalingMTU)
	case RejectInvalidCID:
		b = binary.LittleEndian.AppendUint16(b, uint16(r.LocalCID))
		b = binary.LittleEndian.AppendUint16(b, uint16(r.RemoteCID))
	}
	return b
}

// Decode parses a Command Reject's data. The data after the reason must
// have the size the reason defines; a reason this package does not know
// may carry up to 4 octets, which are ignored.
func (r *CommandReject) Decode(data []byte) error {
	if len(data) < rejectReasonLen {
		return fmt.Errorf("l2cap: %v data of %d octets: %w", CodeCommandReject, len(data), ErrTruncated)
	}
	*r = CommandReject{Reason: RejectReason(le16(data, 0))}
	switch r.Reason {
	case RejectNotUnderstood:
		return checkLen(CodeCommandReject, data, rejectReasonLen)
	case RejectSignalingMTU:
		if err := checkLen(CodeCommandReject, data, rejectReasonLen+rejectSignalingMTUExtra); err != nil {
			return err
		}
		r.SignalingMTU = le16(data, 1)
	case RejectInvalidCID:
		if err := checkLen(CodeCommandReject, data, rejectReasonLen+rejectInvalidCIDExtra); err != nil {
			return err
		}
		r.LocalCID, r.RemoteCID = CID(le16(data, 1)), CID(le16(data, 2))
	default:
		if len(data) > rejectReasonLen+rejectMaxDataLen {
			return fmt.Errorf("l2cap: %v data of %d octets: %w", CodeCommandReject, len(data), ErrBadLength)
		}
	}
	return nil
}

// DisconnectionRequest closes a channel (Vol 3 Part A §4.6). DCID is the
// endpoint on the receiving device, SCID the sender's.
//
//	Destination CID (2) | Source CID (2)
type DisconnectionRequest struct{ DCID, SCID CID }

const disconnectionLen = 4

// Code implements Signal.
func (*DisconnectionRequest) Code() Code { return CodeDisconnectionRequest }

// Len implements Signal.
func (*DisconnectionRequest) Len() int { return disconnectionLen }

// AppendData implements Signal.
func (r *DisconnectionRequest) AppendData(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.DCID))
	return binary.LittleEndian.AppendUint16(b, uint16(r.SCID))
}

// Decode parses the data.
func (r *DisconnectionRequest) Decode(data []byte) error {
	if err := checkLen(CodeDisconnectionRequest, data, disconnectionLen); err != nil {
		return err
	}
	*r = DisconnectionRequest{DCID: CID(le16(data, 0)), SCID: CID(le16(data, 1))}
	return nil
}

// DisconnectionResponse confirms a Disconnection Request and echoes its
// two CIDs (Vol 3 Part A §4.7): DCID is the endpoint on the device sending
// the response.
//
//	Destination CID (2) | Source CID (2)
type DisconnectionResponse struct{ DCID, SCID CID }

// Code implements Signal.
func (*DisconnectionResponse) Code() Code { return CodeDisconnectionResponse }

// Len implements Signal.
func (*DisconnectionResponse) Len() int { return disconnectionLen }

// AppendData implements Signal.
func (r *DisconnectionResponse) AppendData(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.DCID))
	return binary.LittleEndian.AppendUint16(b, uint16(r.SCID))
}

// Decode parses the data.
func (r *DisconnectionResponse) Decode(data []byte) error {
	if err := checkLen(CodeDisconnectionResponse, data, disconnectionLen); err != nil {
		return err
	}
	*r = DisconnectionResponse{DCID: CID(le16(data, 0)), SCID: CID(le16(data, 1))}
	return nil
}

// ConnParams are LE connection parameters in the units of the link layer.
type ConnParams struct {
	IntervalMin uint16 // ×1.25 ms
	IntervalMax uint16 // ×1.25 ms
	Latency     uint16 // peripheral latency, connection events
	Timeout     uint16 // supervision timeout, ×10 ms
}

// Connection parameter ranges (Vol 3 Part A §4.20; the same as the HCI LE
// Connection Update command's, Vol 4 Part E §7.8.18).
const (
	ConnIntervalMin  = 6    // 7.5 ms
	ConnIntervalMax  = 3200 // 4 s
	ConnLatencyMax   = 499
	ConnTimeoutMin   = 10   // 100 ms
	ConnTimeoutMax   = 3200 // 32 s
	connParamDataLen = 8
)

// Validate checks the ranges of §4.20: intervals 6–3200 with min ≤ max,
// latency ≤ 499, timeout 10–3200, and a supervision timeout longer than
// (1 + latency) × interval max × 2 — in these units Timeout×4 >
// (1+Latency)×IntervalMax — so the link survives the longest legal gap.
func (p *ConnParams) Validate() error {
	switch {
	case p.IntervalMin < ConnIntervalMin || p.IntervalMax > ConnIntervalMax || p.IntervalMin > p.IntervalMax:
		return fmt.Errorf("l2cap: connection interval %d–%d outside %d–%d: %w", p.IntervalMin, p.IntervalMax, ConnIntervalMin, ConnIntervalMax, ErrBadParameter)
	case p.Latency > ConnLatencyMax:
		return fmt.Errorf("l2cap: peripheral latency %d above %d: %w", p.Latency, ConnLatencyMax, ErrBadParameter)
	case p.Timeout < ConnTimeoutMin || p.Timeout > ConnTimeoutMax:
		return fmt.Errorf("l2cap: supervision timeout %d outside %d–%d: %w", p.Timeout, ConnTimeoutMin, ConnTimeoutMax, ErrBadParameter)
	case uint32(p.Timeout)*4 <= (1+uint32(p.Latency))*uint32(p.IntervalMax):
		return fmt.Errorf("l2cap: supervision timeout %d×10 ms not above (1+%d)×%d×1.25 ms×2: %w", p.Timeout, p.Latency, p.IntervalMax, ErrBadParameter)
	}
	return nil
}

// ConnParamUpdateRequest asks the central for new connection parameters;
// only a peripheral sends it (Vol 3 Part A §4.20).
//
//	Interval Min (2) | Interval Max (2) | Latency (2) | Timeout (2)
type ConnParamUpdateRequest struct{ ConnParams }

// Code implements Signal.
func (*ConnParamUpdateRequest) Code() Code { return CodeConnParamUpdateRequest }

// Len implements Signal.
func (*ConnParamUpdateRequest) Len() int { return connParamDataLen }

// AppendData implements Signal.
func (r *ConnParamUpdateRequest) AppendData(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, r.IntervalMin)
	b = binary.LittleEndian.AppendUint16(b, r.IntervalMax)
	b = binary.LittleEndian.AppendUint16(b, r.Latency)
	return binary.LittleEndian.AppendUint16(b, r.Timeout)
}

// Decode parses the data (not the ranges: see ConnParams.Validate).
func (r *ConnParamUpdateRequest) Decode(data []byte) error {
	if err := checkLen(CodeConnParamUpdateRequest, data, connParamDataLen); err != nil {
		return err
	}
	r.ConnParams = ConnParams{IntervalMin: le16(data, 0), IntervalMax: le16(data, 1), Latency: le16(data, 2), Timeout: le16(data, 3)}
	return nil
}

// ConnParamResult is a Connection Parameter Update Response's result
// (Vol 3 Part A §4.21).
type ConnParamResult uint16

// Connection Parameter Update results.
const (
	ConnParamAccepted ConnParamResult = 0x0000
	ConnParamRejected ConnParamResult = 0x0001
)

func (r ConnParamResult) String() string {
	switch r {
	case ConnParamAccepted:
		return "accepted"
	case ConnParamRejected:
		return "rejected"
	}
	return "result 0x" + strconv.FormatUint(uint64(r)|0x10000, 16)[1:]
}

// ConnParamUpdateResponse answers a Connection Parameter Update Request
// (Vol 3 Part A §4.21).
//
//	Result (2)
type ConnParamUpdateResponse struct{ Result ConnParamResult }

const connParamResponseLen = 2

// Code implements Signal.
func (*ConnParamUpdateResponse) Code() Code { return CodeConnParamUpdateResponse }

// Len implements Signal.
func (*ConnParamUpdateResponse) Len() int { return connParamResponseLen }

// AppendData implements Signal.
func (r *ConnParamUpdateResponse) AppendData(b []byte) []byte {
	return binary.LittleEndian.AppendUint16(b, uint16(r.Result))
}

// Decode parses the data.
func (r *ConnParamUpdateResponse) Decode(data []byte) error {
	if err := checkLen(CodeConnParamUpdateResponse, data, connParamResponseLen); err != nil {
		return err
	}
	r.Result = ConnParamResult(le16(data, 0))
	return nil
}

// Result is an LE Credit Based Connection Response's result (Vol 3 Part A
// §4.23, Table 4.16).
type Result uint16

// LE credit based connection results.
const (
	ResultSuccess                    Result = 0x0000
	ResultSPSMNotSupported           Result = 0x0002
	ResultNoResources                Result = 0x0004
	ResultInsufficientAuthentication Result = 0x0005
	ResultInsufficientAuthorization  Result = 0x0006
	ResultEncryptionKeyTooShort      Result = 0x0007
	ResultInsufficientEncryption     Result = 0x0008
	ResultInvalidSourceCID           Result = 0x0009
	ResultSourceCIDAllocated         Result = 0x000A
	ResultUnacceptableParameters     Result = 0x000B
)

var resultNames = map[Result]string{
	ResultSuccess:                    "success",
	ResultSPSMNotSupported:           "refused: SPSM not supported",
	ResultNoResources:                "refused: no resources available",
	ResultInsufficientAuthentication: "refused: insufficient authentication",
	ResultInsufficientAuthorization:  "refused: insufficient authorization",
	ResultEncryptionKeyTooShort:      "refused: encryption key size too short",
	ResultInsufficientEncryption:     "refused: insufficient encryption",
	ResultInvalidSourceCID:           "refused: invalid Source CID",
	ResultSourceCIDAllocated:         "refused: Source CID already allocated",
	ResultUnacceptableParameters:     "refused: unacceptable parameters",
}

func (r Result) String() string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return "result 0x" + strconv.FormatUint(uint64(r)|0x10000, 16)[1:]
}

// LE credit based channel parameter ranges (Vol 3 Part A §4.22, §4.23).
const (
	MinMTU = 23 // MTU: 23–65535
	MinMPS = 23 // MPS: 23–65533; it counts a K-frame's whole information payload, SDU Length field included
	MaxMPS = 65533
	// SDULengthLen is the L2CAP SDU Length field of an SDU's first K-frame
	// (§3.4).
	SDULengthLen = 2
)

// LECreditConnRequest opens an LE credit based channel (Vol 3 Part A
// §4.22). MTU and MPS are what the sender can receive; InitialCredits the
// K-frames the receiver may send it at once.
//
//	LE_PSM (2) | Source CID (2) | MTU (2) | MPS (2) | Initial Credits (2)
type LECreditConnRequest struct {
	PSM            PSM
	SourceCID      CID
	MTU, MPS       uint16
	InitialCredits uint16
}

const leCreditConnLen = 10

// Code implements Signal.
func (*LECreditConnRequest) Code() Code { return CodeLECreditConnRequest }

// Len implements Signal.
func (*LECreditConnRequest) Len() int { return leCreditConnLen }

// AppendData implements Signal.
func (r *LECreditConnRequest) AppendData(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.PSM))
	b = binary.LittleEndian.AppendUint16(b, uint16(r.SourceCID))
	b = binary.LittleEndian.AppendUint16(b, r.MTU)
	b = binary.LittleEndian.AppendUint16(b, r.MPS)
	return binary.LittleEndian.AppendUint16(b, r.InitialCredits)
}

// Decode parses the data (not the ranges: see Check).
func (r *LECreditConnRequest) Decode(data []byte) error {
	if err := checkLen(CodeLECreditConnRequest, data, leCreditConnLen); err != nil {
		return err
	}
	*r = LECreditConnRequest{PSM: PSM(le16(data, 0)), SourceCID: CID(le16(data, 1)),
		MTU: le16(data, 2), MPS: le16(data, 3), InitialCredits: le16(data, 4)}
	return nil
}

// Check returns the result the request deserves on its fields alone
// (§4.22, §4.23): an LE PSM outside 0x0001–0x00FF is not supported, a
// Source CID outside 0x0040–0x007F is invalid, an MTU below 23 or an MPS
// outside 23–65533 unacceptable. Every initial credit count (0–65535) is
// legal.
func (r *LECreditConnRequest) Check() Result {
	switch {
	case !r.PSM.Valid():
		return ResultSPSMNotSupported
	case !r.SourceCID.IsDynamic():
		return ResultInvalidSourceCID
	case r.MTU < MinMTU || r.MPS < MinMPS || r.MPS > MaxMPS:
		return ResultUnacceptableParameters
	}
	return ResultSuccess
}

// LECreditConnResponse answers an LE Credit Based Connection Request
// (Vol 3 Part A §4.23). When Result is not success the other fields are
// zero on the wire and ignored on receipt.
//
//	Destination CID (2) | MTU (2) | MPS (2) | Initial Credits (2) | Result (2)
type LECreditConnResponse struct {
	DestinationCID CID
	MTU, MPS       uint16
	InitialCredits uint16
	Result         Result
}

// Code implements Signal.
func (*LECreditConnResponse) Code() Code { return CodeLECreditConnResponse }

// Len implements Signal.
func (*LECreditConnResponse) Len() int { return leCreditConnLen }

// AppendData implements Signal.
func (r *LECreditConnResponse) AppendData(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.DestinationCID))
	b = binary.LittleEndian.AppendUint16(b, r.MTU)
	b = binary.LittleEndian.AppendUint16(b, r.MPS)
	b = binary.LittleEndian.AppendUint16(b, r.InitialCredits)
	return binary.LittleEndian.AppendUint16(b, uint16(r.Result))
}

// Decode parses the data (not the ranges: see Check).
func (r *LECreditConnResponse) Decode(data []byte) error {
	if err := checkLen(CodeLECreditConnResponse, data, leCreditConnLen); err != nil {
		return err
	}
	*r = LECreditConnResponse{DestinationCID: CID(le16(data, 0)), MTU: le16(data, 1), MPS: le16(data, 2),
		InitialCredits: le16(data, 3), Result: Result(le16(data, 4))}
	return nil
}

// Check validates a successful response's fields (§4.23): a Destination
// CID in 0x0040–0x007F, MTU ≥ 23, MPS 23–65533.
func (r *LECreditConnResponse) Check() error {
	switch {
	case !r.DestinationCID.IsDynamic():
		return fmt.Errorf("l2cap: response destination CID %v not dynamic: %w", r.DestinationCID, ErrBadParameter)
	case r.MTU < MinMTU || r.MPS < MinMPS || r.MPS > MaxMPS:
		return fmt.Errorf("l2cap: response MTU %d MPS %d: %w", r.MTU, r.MPS, ErrBadParameter)
	}
	return nil
}

// FlowControlCreditInd grants credits: the receiver of a channel lets the
// sender send Credits more K-frames (Vol 3 Part A §4.24). CID is the
// channel's endpoint on the device sending the indication — for the device
// receiving it, the channel's remote CID.
//
//	CID (2) | Credits (2)
type FlowControlCreditInd struct {
	CID     CID
	Credits uint16
}

const flowControlCreditLen = 4

// Code implements Signal.
func (*FlowControlCreditInd) Code() Code { return CodeFlowControlCreditInd }

// Len implements Signal.
func (*FlowControlCreditInd) Len() int { return flowControlCreditLen }

// AppendData implements Signal.
func (r *FlowControlCreditInd) AppendData(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.CID))
	return binary.LittleEndian.AppendUint16(b, r.Credits)
}

// Decode parses the data.
func (r *FlowControlCreditInd) Decode(data []byte) error {
	if err := checkLen(CodeFlowControlCreditInd, data, flowControlCreditLen); err != nil {
		return err
	}
	*r = FlowControlCreditInd{CID: CID(le16(data, 0)), Credits: le16(data, 1)}
	return nil
}
