package hci

import (
	"fmt"
	"iter"
)

// EventCode identifies an HCI event (Core v5.4 Vol 4 Part E §7.7).
type EventCode uint8

// Event codes a BLE host meets, with their sections in Vol 4 Part E.
const (
	EventDisconnectionComplete        EventCode = 0x05 // §7.7.5
	EventEncryptionChange             EventCode = 0x08 // §7.7.8
	EventReadRemoteVersionComplete    EventCode = 0x0C // §7.7.12
	EventCommandComplete              EventCode = 0x0E // §7.7.14
	EventCommandStatus                EventCode = 0x0F // §7.7.15
	EventHardwareError                EventCode = 0x10 // §7.7.16
	EventNumberOfCompletedPackets     EventCode = 0x13 // §7.7.19
	EventDataBufferOverflow           EventCode = 0x1A // §7.7.26
	EventEncryptionKeyRefreshComplete EventCode = 0x30 // §7.7.39
	EventLEMeta                       EventCode = 0x3E // §7.7.65
	EventVendor                       EventCode = 0xFF // §5.4.4: vendor-specific debugging events
)

var eventNames = map[EventCode]string{
	EventDisconnectionComplete:        "Disconnection Complete",
	EventEncryptionChange:             "Encryption Change",
	EventReadRemoteVersionComplete:    "Read Remote Version Information Complete",
	EventCommandComplete:              "Command Complete",
	EventCommandStatus:                "Command Status",
	EventHardwareError:                "Hardware Error",
	EventNumberOfCompletedPackets:     "Number Of Completed Packets",
	EventDataBufferOverflow:           "Data Buffer Overflow",
	EventEncryptionKeyRefreshComplete: "Encryption Key Refresh Complete",
	EventLEMeta:                       "LE Meta",
	EventVendor:                       "Vendor",
}

func (c EventCode) String() string {
	if s, ok := eventNames[c]; ok {
		return s
	}
	return "event 0x" + hex2(uint8(c))
}

// LESubevent identifies an LE Meta event (Vol 4 Part E §7.7.65): the first
// parameter octet.
type LESubevent uint8

// LE subevent codes, with their sections in Vol 4 Part E.
const (
	LESubeventConnectionComplete         LESubevent = 0x01 // §7.7.65.1
	LESubeventAdvertisingReport          LESubevent = 0x02 // §7.7.65.2
	LESubeventConnectionUpdateComplete   LESubevent = 0x03 // §7.7.65.3
	LESubeventReadRemoteFeaturesComplete LESubevent = 0x04 // §7.7.65.4
	LESubeventLongTermKeyRequest         LESubevent = 0x05 // §7.7.65.5
	LESubeventRemoteConnParamRequest     LESubevent = 0x06 // §7.7.65.6
	LESubeventDataLengthChange           LESubevent = 0x07 // §7.7.65.7
	LESubeventEnhancedConnectionComplete LESubevent = 0x0A // §7.7.65.10 [v1]
	LESubeventPHYUpdateComplete          LESubevent = 0x0C // §7.7.65.12
	LESubeventChannelSelectionAlgorithm  LESubevent = 0x14 // §7.7.65.20
)

var leSubeventNames = map[LESubevent]string{
	LESubeventConnectionComplete:         "LE Connection Complete",
	LESubeventAdvertisingReport:          "LE Advertising Report",
	LESubeventConnectionUpdateComplete:   "LE Connection Update Complete",
	LESubeventReadRemoteFeaturesComplete: "LE Read Remote Features Complete",
	LESubeventLongTermKeyRequest:         "LE Long Term Key Request",
	LESubeventRemoteConnParamRequest:     "LE Remote Connection Parameter Request",
	LESubeventDataLengthChange:           "LE Data Length Change",
	LESubeventEnhancedConnectionComplete: "LE Enhanced Connection Complete",
	LESubeventPHYUpdateComplete:          "LE PHY Update Complete",
	LESubeventChannelSelectionAlgorithm:  "LE Channel Selection Algorithm",
}

func (s LESubevent) String() string {
	if n, ok := leSubeventNames[s]; ok {
		return n
	}
	return "LE subevent 0x" + hex2(uint8(s))
}

// Event is an HCI event packet (Vol 4 Part E §5.4.4), from the event code
// on (no H4 indicator):
//
//	 0          1            2
//	+----------+------------+---------------------+
//	|Event code|Param length|Parameters (0–255)   |
//	+----------+------------+---------------------+
//
// An Event from ParseEvent has been checked; its accessors trust its
// length.
type Event []byte

// ParseEvent checks that b is exactly one event packet and returns it as an
// Event (a view of b). It does not allocate.
func ParseEvent(b []byte) (Event, error) {
	if len(b) < EventHeaderLen {
		return nil, fmt.Errorf("hci: event: %d octets, shorter than the header: %w", len(b), ErrShort)
	}
	if n := int(b[1]); len(b) != EventHeaderLen+n {
		if len(b) < EventHeaderLen+n {
			return nil, fmt.Errorf("hci: event %v: %d parameter octets, header says %d: %w", EventCode(b[0]), len(b)-EventHeaderLen, n, ErrShort)
		}
		return nil, fmt.Errorf("hci: event %v: %d parameter octets, header says %d: %w", EventCode(b[0]), len(b)-EventHeaderLen, n, ErrMalformed)
	}
	return Event(b), nil
}

// Code is the event code.
func (e Event) Code() EventCode { return EventCode(e[0]) }

// Params are the event parameters (for LE Meta, the subevent code first).
func (e Event) Params() []byte { return e[EventHeaderLen:] }

// Subevent returns the subevent code of an LE Meta event; ok is false for
// other events and for an LE Meta event without parameters.
func (e Event) Subevent() (s LESubevent, ok bool) {
	if e.Code() != EventLEMeta || len(e) < EventHeaderLen+1 {
		return 0, false
	}
	return LESubevent(e[EventHeaderLen]), true
}

// AppendEvent appends an event packet (no H4 indicator). It fails with
// ErrTooLarge when params exceed MaxParamLen octets.
func AppendEvent(b []byte, code EventCode, params []byte) ([]byte, error) {
	if len(params) > MaxParamLen {
		return b, fmt.Errorf("hci: event %v: %d parameter octets, at most %d fit: %w", code, len(params), MaxParamLen, ErrTooLarge)
	}
	return append(append(b, byte(code), byte(len(params))), params...), nil
}

// AppendLEMetaEvent appends an LE Meta event: the subevent code and
// params. It fails with ErrTooLarge when params exceed 254 octets.
func AppendLEMetaEvent(b []byte, sub LESubevent, params []byte) ([]byte, error) {
	if len(params) > MaxParamLen-1 {
		return b, fmt.Errorf("hci: %v: %d parameter octets, at most %d fit: %w", sub, len(params), MaxParamLen-1, ErrTooLarge)
	}
	return append(append(b, byte(EventLEMeta), byte(1+len(params)), byte(sub)), params...), nil
}

// eventParams checks e's code and that it carries at least want parameter
// octets; more are ignored (later versions of the specification extend
// events at the end).
func eventParams(e Event, code EventCode, want int) ([]byte, error) {
	if len(e) < EventHeaderLen {
		return nil, fmt.Errorf("hci: %v: empty event: %w", code, ErrShort)
	}
	if e.Code() != code {
		return nil, fmt.Errorf("hci: %v event given to the %v parser: %w", e.Code(), code, ErrWrongEvent)
	}
	p := e[EventHeaderLen:]
	if len(p) < want {
		return nil, fmt.Errorf("hci: %v: %d parameter octets, want %d: %w", code, len(p), want, ErrShort)
	}
	return p, nil
}

// leParams is eventParams for an LE Meta subevent: the parameters after
// the subevent code.
func leParams(e Event, sub LESubevent, want int) ([]byte, error) {
	p, err := eventParams(e, EventLEMeta, 1)
	if err != nil {
		return nil, fmt.Errorf("hci: %v: %w", sub, err)
	}
	if LESubevent(p[0]) != sub {
		return nil, fmt.Errorf("hci: %v event given to the %v parser: %w", LESubevent(p[0]), sub, ErrWrongEvent)
	}
	if len(p)-1 < want {
		return nil, fmt.Errorf("hci: %v: %d parameter octets after the subevent code, want %d: %w", sub, len(p)-1, want, ErrShort)
	}
	return p[1:], nil
}

func appendEventHeader(b []byte, code EventCode, n int) []byte { return append(b, byte(code), byte(n)) }

func appendLEHeader(b []byte, sub LESubevent, n int) []byte {
	return append(b, byte(EventLEMeta), byte(1+n), byte(sub))
}

// DisconnectionComplete reports a connection gone (Vol 4 Part E §7.7.5).
type DisconnectionComplete struct {
	Status Status
	Handle uint16
	// Reason: why it ended (Remote User Terminated Connection,
	// Connection Timeout, Connection Terminated By Local Host, …).
	Reason Status
}

const disconnectionCompleteLen = 4

// Append appends the whole event packet.
func (d DisconnectionComplete) Append(b []byte) []byte {
	b = appendEventHeader(b, EventDisconnectionComplete, disconnectionCompleteLen)
	return append(put16(append(b, byte(d.Status)), d.Handle), byte(d.Reason))
}

// ParseDisconnectionComplete reads a Disconnection Complete event.
func ParseDisconnectionComplete(e Event) (DisconnectionComplete, error) {
	p, err := eventParams(e, EventDisconnectionComplete, disconnectionCompleteLen)
	if err != nil {
		return DisconnectionComplete{}, err
	}
	return DisconnectionComplete{Status: Status(p[0]), Handle: le16(p[1:]), Reason: Status(p[3])}, nil
}

// CommandComplete ends a command that completes at once (Vol 4 Part E
// §7.7.14). ReturnParameters depend on the command; for nearly all the
// first is a Status. Opcode 0 (OpNOP) with no return parameters only
// grants command credits.
type CommandComplete struct {
	// NumHCICommandPackets: commands the host may now send (flow
	// control, §4.4).
	NumHCICommandPackets uint8
	Opcode               Opcode
	ReturnParameters     []byte // a view of the event
}

// Status returns the first return parameter; ok is false when there is
// none.
func (c CommandComplete) Status() (s Status, ok bool) {
	if len(c.ReturnParameters) == 0 {
		return 0, false
	}
	return Status(c.ReturnParameters[0]), true
}

// Err is a *StatusError when the first return parameter is a status other
// than Success, else nil.
func (c CommandComplete) Err() error {
	if s, ok := c.Status(); ok {
		return statusErr(c.Opcode, s)
	}
	return nil
}

// Append appends the whole event packet; return parameters longer than
// 252 octets are ErrTooLarge.
func (c CommandComplete) Append(b []byte) ([]byte, error) {
	if len(c.ReturnParameters) > MaxParamLen-3 {
		return b, fmt.Errorf("hci: Command Complete for %v: %d return parameter octets, at most %d fit: %w", c.Opcode, len(c.ReturnParameters), MaxParamLen-3, ErrTooLarge)
	}
	b = appendEventHeader(b, EventCommandComplete, 3+len(c.ReturnParameters))
	return append(put16(append(b, c.NumHCICommandPackets), uint16(c.Opcode)), c.ReturnParameters...), nil
}

// AppendCommandComplete appends a Command Complete event.
func AppendCommandComplete(b []byte, numPackets uint8, op Opcode, returnParams []byte) ([]byte, error) {
	return CommandComplete{NumHCICommandPackets: numPackets, Opcode: op, ReturnParameters: returnParams}.Append(b)
}

// ParseCommandComplete reads a Command Complete event. ReturnParameters is
// a view of e.
func ParseCommandComplete(e Event) (CommandComplete, error) {
	p, err := eventParams(e, EventCommandComplete, 3)
	if err != nil {
		return CommandComplete{}, err
	}
	return CommandComplete{NumHCICommandPackets: p[0], Opcode: Opcode(le16(p[1:])), ReturnParameters: p[3:]}, nil
}

// CommandStatus acknowledges a command that completes later with its own
// event, or reports that it could not start (Vol 4 Part E §7.7.15).
type CommandStatus struct {
	Status               Status
	NumHCICommandPackets uint8
	Opcode               Opcode
}

// Err is a *StatusError when Status is not Success, else nil.
func (c CommandStatus) Err() error { return statusErr(c.Opcode, c.Status) }

// Append appends the whole event packet.
func (c CommandStatus) Append(b []byte) []byte {
	b = appendEventHeader(b, EventCommandStatus, 4)
	return put16(append(b, byte(c.Status), c.NumHCICommandPackets), uint16(c.Opcode))
}

// ParseCommandStatus reads a Command Status event.
func ParseCommandStatus(e Event) (CommandStatus, error) {
	p, err := eventParams(e, EventCommandStatus, 4)
	if err != nil {
		return CommandStatus{}, err
	}
	return CommandStatus{Status: Status(p[0]), NumHCICommandPackets: p[1], Opcode: Opcode(le16(p[2:]))}, nil
}

// HardwareError reports a controller fault (Vol 4 Part E §7.7.16). The
// code is vendor-specific; the host should reset the controller.
type HardwareError struct {
	Code uint8
}

// Append appends the whole event packet.
func (h HardwareError) Append(b []byte) []byte {
	return append(appendEventHeader(b, EventHardwareError, 1), h.Code)
}

// ParseHardwareError reads a Hardware Error event.
func ParseHardwareError(e Event) (HardwareError, error) {
	p, err := eventParams(e, EventHardwareError, 1)
	if err != nil {
		return HardwareError{}, err
	}
	return HardwareError{Code: p[0]}, nil
}

// Link types of Data Buffer Overflow (Vol 4 Part E §7.7.26).
const (
	LinkTypeSynchronous uint8 = 0x00
	LinkTypeACL         uint8 = 0x01
)

// DataBufferOverflow reports that the host sent more data packets than
// the controller had buffers for (Vol 4 Part E §7.7.26): a flow-control
// bug in the host; the packet was lost.
type DataBufferOverflow struct {
	LinkType uint8
}

// Append appends the whole event packet.
func (d DataBufferOverflow) Append(b []byte) []byte {
	return append(appendEventHeader(b, EventDataBufferOverflow, 1), d.LinkType)
}

// ParseDataBufferOverflow reads a Data Buffer Overflow event.
func ParseDataBufferOverflow(e Event) (DataBufferOverflow, error) {
	p, err := eventParams(e, EventDataBufferOverflow, 1)
	if err != nil {
		return DataBufferOverflow{}, err
	}
	return DataBufferOverflow{LinkType: p[0]}, nil
}

// NumberOfCompletedPackets gives ACL buffer credits back to the host
// (Vol 4 Part E §7.7.19): for each handle, the packets the controller has
// sent (or flushed) since the last such event. It is a view of the event
// parameters:
//
//	Num_Handles (1) | Connection_Handle (2) | Num_Completed_Packets (2) | … Num_Handles times
//
// The pairs are interleaved, handle then count, as in every controller,
// BlueZ, Zephyr and Wireshark. Reading it allocates nothing.
type NumberOfCompletedPackets []byte

// HandleCount is one entry of Number Of Completed Packets.
type HandleCount struct {
	Handle, Count uint16
}

// ParseNumberOfCompletedPackets checks the event and returns a view of its
// parameters.
func ParseNumberOfCompletedPackets(e Event) (NumberOfCompletedPackets, error) {
	p, err := eventParams(e, EventNumberOfCompletedPackets, 1)
	if err != nil {
		return nil, err
	}
	if n := int(p[0]); len(p) < 1+4*n {
		return nil, fmt.Errorf("hci: %v: %d handles need %d octets, have %d: %w", EventNumberOfCompletedPackets, n, 1+4*n, len(p), ErrShort)
	}
	return NumberOfCompletedPackets(p), nil
}

// Len is the number of handles (zero for a nil view).
func (n NumberOfCompletedPackets) Len() int {
	if len(n) == 0 {
		return 0
	}
	return int(n[0])
}

// At returns entry i (0 ≤ i < Len()).
func (n NumberOfCompletedPackets) At(i int) HandleCount {
	o := 1 + 4*i
	return HandleCount{Handle: le16(n[o:]), Count: le16(n[o+2:])}
}

// All yields the entries in order.
func (n NumberOfCompletedPackets) All() iter.Seq[HandleCount] {
	return func(yield func(HandleCount) bool) {
		for i := range n.Len() {
			if !yield(n.At(i)) {
				return
			}
		}
	}
}

// AppendNumberOfCompletedPackets appends a Number Of Completed Packets
// event; more than 63 entries do not fit (ErrTooLarge).
func AppendNumberOfCompletedPackets(b []byte, entries ...HandleCount) ([]byte, error) {
	if len(entries) > (MaxParamLen-1)/4 {
		return b, fmt.Errorf("hci: %v: %d handles, at most %d fit: %w", EventNumberOfCompletedPackets, len(entries), (MaxParamLen-1)/4, ErrTooLarge)
	}
	b = append(appendEventHeader(b, EventNumberOfCompletedPackets, 1+4*len(entries)), byte(len(entries)))
	for _, hc := range entries {
		b = put16(put16(b, hc.Handle), hc.Count)
	}
	return b, nil
}

// Role is the local device's role on a connection (Vol 4 Part E §7.7.65.1).
type Role uint8

// Roles.
const (
	RoleCentral    Role = 0x00
	RolePeripheral Role = 0x01
)

func (r Role) String() string {
	switch r {
	case RoleCentral:
		return "central"
	case RolePeripheral:
		return "peripheral"
	}
	return "role 0x" + hex2(uint8(r))
}

// LEConnectionComplete reports a new LE connection, or a failed attempt
// (Vol 4 Part E §7.7.65.1). Controllers send LEEnhancedConnectionComplete
// instead when the host unmasked it.
type LEConnectionComplete struct {
	Status       Status
	Handle       uint16
	Role         Role
	PeerAddrType AddrType // public or random (identity types only in the enhanced event)
	PeerAddr     BDAddr
	// Interval: units of 1.25 ms. PeripheralLatency: connection events.
	// SupervisionTimeout: units of 10 ms.
	Interval, PeripheralLatency, SupervisionTimeout uint16
	// CentralClockAccuracy: 0 (500 ppm) … 7 (20 ppm); meaningful on a
	// peripheral only.
	CentralClockAccuracy uint8
}

const leConnCompleteLen = 18

// Append appends the whole event packet.
func (c LEConnectionComplete) Append(b []byte) []byte {
	b = appendLEHeader(b, LESubeventConnectionComplete, leConnCompleteLen)
	b = append(put16(append(b, byte(c.Status)), c.Handle), byte(c.Role), byte(c.PeerAddrType))
	b = append(b, c.PeerAddr[:]...)
	b = put16(put16(put16(b, c.Interval), c.PeripheralLatency), c.SupervisionTimeout)
	return append(b, c.CentralClockAccuracy)
}

// ParseLEConnectionComplete reads an LE Connection Complete event.
func ParseLEConnectionComplete(e Event) (LEConnectionComplete, error) {
	p, err := leParams(e, LESubeventConnectionComplete, leConnCompleteLen)
	if err != nil {
		return LEConnectionComplete{}, err
	}
	return LEConnectionComplete{Status: Status(p[0]), Handle: le16(p[1:]), Role: Role(p[3]),
		PeerAddrType: AddrType(p[4]), PeerAddr: BDAddr(p[5:11]),
		Interval: le16(p[11:]), PeripheralLatency: le16(p[13:]), SupervisionTimeout: le16(p[15:]),
		CentralClockAccuracy: p[17]}, nil
}

// LEEnhancedConnectionComplete is LE Connection Complete with the
// resolvable private addresses used (Vol 4 Part E §7.7.65.10, v1).
// PeerAddrType may be an identity type (2, 3) when the controller resolved
// the peer's address; LocalRPA and PeerRPA are zero when no resolvable
// private address was used.
type LEEnhancedConnectionComplete struct {
	Status                                          Status
	Handle                                          uint16
	Role                                            Role
	PeerAddrType                                    AddrType
	PeerAddr                                        BDAddr
	LocalRPA, PeerRPA                               BDAddr
	Interval, PeripheralLatency, SupervisionTimeout uint16
	CentralClockAccuracy                            uint8
}

const leEnhConnCompleteLen = 30

// Append appends the whole event packet.
func (c LEEnhancedConnectionComplete) Append(b []byte) []byte {
	b = appendLEHeader(b, LESubeventEnhancedConnectionComplete, leEnhConnCompleteLen)
	b = append(put16(append(b, byte(c.Status)), c.Handle), byte(c.Role), byte(c.PeerAddrType))
	b = append(append(append(b, c.PeerAddr[:]...), c.LocalRPA[:]...), c.PeerRPA[:]...)
	b = put16(put16(put16(b, c.Interval), c.PeripheralLatency), c.SupervisionTimeout)
	return append(b, c.CentralClockAccuracy)
}

// ParseLEEnhancedConnectionComplete reads an LE Enhanced Connection
// Complete event (v1).
func ParseLEEnhancedConnectionComplete(e Event) (LEEnhancedConnectionComplete, error) {
	p, err := leParams(e, LESubeventEnhancedConnectionComplete, leEnhConnCompleteLen)
	if err != nil {
		return LEEnhancedConnectionComplete{}, err
	}
	return LEEnhancedConnectionComplete{Status: Status(p[0]), Handle: le16(p[1:]), Role: Role(p[3]),
		PeerAddrType: AddrType(p[4]), PeerAddr: BDAddr(p[5:11]), LocalRPA: BDAddr(p[11:17]), PeerRPA: BDAddr(p[17:23]),
		Interval: le16(p[23:]), PeripheralLatency: le16(p[25:]), SupervisionTimeout: le16(p[27:]),
		CentralClockAccuracy: p[29]}, nil
}

// LEConnectionUpdateComplete reports new connection parameters (Vol 4
// Part E §7.7.65.3), units as in LEConnectionComplete.
type LEConnectionUpdateComplete struct {
	Status                                          Status
	Handle                                          uint16
	Interval, PeripheralLatency, SupervisionTimeout uint16
}

const leConnUpdateCompleteLen = 9

// Append appends the whole event packet.
func (c LEConnectionUpdateComplete) Append(b []byte) []byte {
	b = appendLEHeader(b, LESubeventConnectionUpdateComplete, leConnUpdateCompleteLen)
	b = put16(append(b, byte(c.Status)), c.Handle)
	return put16(put16(put16(b, c.Interval), c.PeripheralLatency), c.SupervisionTimeout)
}

// ParseLEConnectionUpdateComplete reads an LE Connection Update Complete
// event.
func ParseLEConnectionUpdateComplete(e Event) (LEConnectionUpdateComplete, error) {
	p, err := leParams(e, LESubeventConnectionUpdateComplete, leConnUpdateCompleteLen)
	if err != nil {
		return LEConnectionUpdateComplete{}, err
	}
	return LEConnectionUpdateComplete{Status: Status(p[0]), Handle: le16(p[1:]),
		Interval: le16(p[3:]), PeripheralLatency: le16(p[5:]), SupervisionTimeout: le16(p[7:])}, nil
}

// LEDataLengthChange reports the largest link-layer payloads now in use on
// a connection (Vol 4 Part E §7.7.65.7): octets 27–251, times in µs.
type LEDataLengthChange struct {
	Handle                 uint16
	MaxTxOctets, MaxTxTime uint16
	MaxRxOctets, MaxRxTime uint16
}

const leDataLengthChangeLen = 10

// Append appends the whole event packet.
func (c LEDataLengthChange) Append(b []byte) []byte {
	b = appendLEHeader(b, LESubeventDataLengthChange, leDataLengthChangeLen)
	b = put16(put16(put16(b, c.Handle), c.MaxTxOctets), c.MaxTxTime)
	return put16(put16(b, c.MaxRxOctets), c.MaxRxTime)
}

// ParseLEDataLengthChange reads an LE Data Length Change event.
func ParseLEDataLengthChange(e Event) (LEDataLengthChange, error) {
	p, err := leParams(e, LESubeventDataLengthChange, leDataLengthChangeLen)
	if err != nil {
		return LEDataLengthChange{}, err
	}
	return LEDataLengthChange{Handle: le16(p), MaxTxOctets: le16(p[2:]), MaxTxTime: le16(p[4:]),
		MaxRxOctets: le16(p[6:]), MaxRxTime: le16(p[8:])}, nil
}

// PHY is an LE PHY (Vol 4 Part E §7.7.65.12, TX_PHY and RX_PHY).
type PHY uint8

// PHYs.
const (
	PHY1M    PHY = 0x01
	PHY2M    PHY = 0x02
	PHYCoded PHY = 0x03
)

func (p PHY) String() string {
	switch p {
	case PHY1M:
		return "LE 1M"
	case PHY2M:
		return "LE 2M"
	case PHYCoded:
		return "LE Coded"
	}
	return "PHY 0x" + hex2(uint8(p))
}

// LEPHYUpdateComplete reports the PHYs in use after LE Set PHY or a
// peer's request (Vol 4 Part E §7.7.65.12).
type LEPHYUpdateComplete struct {
	Status       Status
	Handle       uint16
	TxPHY, RxPHY PHY
}

// Append appends the whole event packet.
func (c LEPHYUpdateComplete) Append(b []byte) []byte {
	b = appendLEHeader(b, LESubeventPHYUpdateComplete, 5)
	return append(put16(append(b, byte(c.Status)), c.Handle), byte(c.TxPHY), byte(c.RxPHY))
}

// ParseLEPHYUpdateComplete reads an LE PHY Update Complete event.
func ParseLEPHYUpdateComplete(e Event) (LEPHYUpdateComplete, error) {
	p, err := leParams(e, LESubeventPHYUpdateComplete, 5)
	if err != nil {
		return LEPHYUpdateComplete{}, err
	}
	return LEPHYUpdateComplete{Status: Status(p[0]), Handle: le16(p[1:]), TxPHY: PHY(p[3]), RxPHY: PHY(p[4])}, nil
}

// AdvEventType is the PDU an advertising report came from (Vol 4 Part E
// §7.7.65.2, Event_Type).
type AdvEventType uint8

// Advertising report event types.
const (
	AdvReportInd        AdvEventType = 0x00 // ADV_IND
	AdvReportDirectInd  AdvEventType = 0x01 // ADV_DIRECT_IND
	AdvReportScanInd    AdvEventType = 0x02 // ADV_SCAN_IND
	AdvReportNonconnInd AdvEventType = 0x03 // ADV_NONCONN_IND
	AdvReportScanRsp    AdvEventType = 0x04 // SCAN_RSP
)

// RSSIUnavailable is the RSSI of a report when the controller has none.
const RSSIUnavailable int8 = 127

// AdvReport is one report of an LE Advertising Report event.
type AdvReport struct {
	EventType AdvEventType
	AddrType  AddrType
	Addr      BDAddr
	Data      []byte // AD structures, at most 31 octets; a view of the event
	RSSI      int8   // dBm, -127–20, or RSSIUnavailable
}

// LEAdvertisingReport is an LE Advertising Report event's parameters after
// the subevent code (Vol 4 Part E §7.7.65.2): a count and that many
// reports, each
//
//	Event_Type (1) | Address_Type (1) | Address (6) | Data_Length (1) | Data | RSSI (1)
//
// laid out one report after the other as controllers, BlueZ, Zephyr and
// Wireshark do. ParseLEAdvertisingReport has walked every report, so
// iterating cannot fail. Nothing here allocates.
type LEAdvertisingReport []byte

// ParseLEAdvertisingReport checks an LE Advertising Report event: every
// report's length, data of at most 31 octets, and octets after the last
// report (ErrMalformed: there is no way to tell them from a bad count).
func ParseLEAdvertisingReport(e Event) (LEAdvertisingReport, error) {
	p, err := leParams(e, LESubeventAdvertisingReport, 1)
	if err != nil {
		return nil, err
	}
	n, off := int(p[0]), 1
	for i := range n {
		if len(p) < off+9 {
			return nil, fmt.Errorf("hci: %v: report %d of %d: %d octets left, want 9 before its data: %w", LESubeventAdvertisingReport, i+1, n, len(p)-off, ErrShort)
		}
		dl := int(p[off+8])
		if dl > MaxAdvDataLen {
			return nil, fmt.Errorf("hci: %v: report %d of %d: data length %d, at most %d: %w", LESubeventAdvertisingReport, i+1, n, dl, MaxAdvDataLen, ErrMalformed)
		}
		off += 9 + dl + 1
		if len(p) < off {
			return nil, fmt.Errorf("hci: %v: report %d of %d: data length %d overruns the event: %w", LESubeventAdvertisingReport, i+1, n, dl, ErrShort)
		}
	}
	if off != len(p) {
		return nil, fmt.Errorf("hci: %v: %d octets after %d reports: %w", LESubeventAdvertisingReport, len(p)-off, n, ErrMalformed)
	}
	return LEAdvertisingReport(p), nil
}

// Len is the number of reports (zero for a nil view).
func (r LEAdvertisingReport) Len() int {
	if len(r) == 0 {
		return 0
	}
	return int(r[0])
}

// Reports returns an iterator over the reports.
func (r LEAdvertisingReport) Reports() AdvReportIterator {
	if len(r) == 0 {
		return AdvReportIterator{}
	}
	return AdvReportIterator{b: r[1:], left: r.Len()}
}

// All yields the reports in order.
func (r LEAdvertisingReport) All() iter.Seq[AdvReport] {
	return func(yield func(AdvReport) bool) {
		it := r.Reports()
		for rep, ok := it.Next(); ok; rep, ok = it.Next() {
			if !yield(rep) {
				return
			}
		}
	}
}

// AdvReportIterator steps through the reports of a checked
// LEAdvertisingReport.
type AdvReportIterator struct {
	b    []byte
	left int
}

// Next returns the next report; ok is false after the last.
func (it *AdvReportIterator) Next() (rep AdvReport, ok bool) {
	if it.left == 0 || len(it.b) < 10 {
		return AdvReport{}, false
	}
	dl := int(it.b[8])
	if len(it.b) < 10+dl {
		return AdvReport{}, false
	}
	rep = AdvReport{EventType: AdvEventType(it.b[0]), AddrType: AddrType(it.b[1]), Addr: BDAddr(it.b[2:8]),
		Data: it.b[9 : 9+dl : 9+dl], RSSI: int8(it.b[9+dl])}
	it.b, it.left = it.b[10+dl:], it.left-1
	return rep, true
}

// AppendLEAdvertisingReport appends an LE Advertising Report event with
// the reports. Data over 31 octets, or reports that do not fit one event,
// are ErrTooLarge.
func AppendLEAdvertisingReport(b []byte, reports ...AdvReport) ([]byte, error) {
	n := 2 // subevent code, count
	for i, r := range reports {
		if len(r.Data) > MaxAdvDataLen {
			return b, fmt.Errorf("hci: %v: report %d: %d data octets, at most %d: %w", LESubeventAdvertisingReport, i+1, len(r.Data), MaxAdvDataLen, ErrTooLarge)
		}
		n += 10 + len(r.Data)
	}
	if n > MaxParamLen || len(reports) > 0xFF {
		return b, fmt.Errorf("hci: %v: %d reports take %d octets, at most %d fit: %w", LESubeventAdvertisingReport, len(reports), n, MaxParamLen, ErrTooLarge)
	}
	b = append(appendLEHeader(b, LESubeventAdvertisingReport, n-1), byte(len(reports)))
	for _, r := range reports {
		b = append(b, byte(r.EventType), byte(r.AddrType))
		b = append(b, r.Addr[:]...)
		b = append(append(b, byte(len(r.Data))), r.Data...)
		b = append(b, byte(r.RSSI))
	}
	return b, nil
}
