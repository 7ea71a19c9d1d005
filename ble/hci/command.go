package hci

import (
	"encoding/binary"
	"fmt"
)

// Command is an HCI command packet (Core v5.4 Vol 4 Part E §5.4.1), from
// the opcode on (no H4 indicator):
//
//	 0      2            3
//	+------+------------+---------------------+
//	|Opcode|Param length|Parameters (0–255)   |
//	+------+------------+---------------------+
//
// Multi-octet fields are little endian. A Command from ParseCommand has
// been checked; its accessors trust its length.
type Command []byte

// ParseCommand checks that b is exactly one command packet and returns it
// as a Command (a view of b, not a copy).
func ParseCommand(b []byte) (Command, error) {
	if len(b) < CommandHeaderLen {
		return nil, fmt.Errorf("hci: command: %d octets, shorter than the header: %w", len(b), ErrShort)
	}
	if n := int(b[2]); len(b) != CommandHeaderLen+n {
		op := Opcode(binary.LittleEndian.Uint16(b))
		if len(b) < CommandHeaderLen+n {
			return nil, fmt.Errorf("hci: command %v: %d parameter octets, header says %d: %w", op, len(b)-CommandHeaderLen, n, ErrShort)
		}
		return nil, fmt.Errorf("hci: command %v: %d parameter octets, header says %d: %w", op, len(b)-CommandHeaderLen, n, ErrMalformed)
	}
	return Command(b), nil
}

// Opcode is the command's opcode.
func (c Command) Opcode() Opcode { return Opcode(binary.LittleEndian.Uint16(c)) }

// Params are the command's parameters.
func (c Command) Params() []byte { return c[CommandHeaderLen:] }

// AppendCommand appends a command packet (no H4 indicator). It fails with
// ErrTooLarge when params exceed MaxParamLen octets.
func AppendCommand(b []byte, op Opcode, params []byte) ([]byte, error) {
	if len(params) > MaxParamLen {
		return b, fmt.Errorf("hci: command %v: %d parameter octets, at most %d fit: %w", op, len(params), MaxParamLen, ErrTooLarge)
	}
	return append(appendCommandHeader(b, op, len(params)), params...), nil
}

func appendCommandHeader(b []byte, op Opcode, n int) []byte {
	return append(b, byte(op), byte(op>>8), byte(n))
}

// checkParams is the length check of the typed command parsers: at least
// want octets (octets after those are ignored: later versions of the
// specification extend commands at the end).
func checkParams(op Opcode, p []byte, want int) error {
	if len(p) < want {
		return fmt.Errorf("hci: %v: %d parameter octets, want %d: %w", op, len(p), want, ErrShort)
	}
	return nil
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func put16(b []byte, v uint16) []byte { return append(b, byte(v), byte(v>>8)) }

// Disconnect asks for a connection to be terminated (Vol 4 Part E §7.1.6).
// The controller answers with Command Status, then Disconnection Complete.
type Disconnect struct {
	Handle uint16
	// Reason sent to the peer: Authentication Failure, Remote User
	// Terminated Connection (the usual), Remote Device Terminated due to
	// Low Resources or Power Off, Unsupported Remote Feature, Pairing With
	// Unit Key Not Supported or Unacceptable Connection Parameters.
	Reason Status
}

const disconnectLen = 3

// Append appends the command parameters.
func (p Disconnect) Append(b []byte) []byte { return append(put16(b, p.Handle), byte(p.Reason)) }

// AppendCommand appends the whole command packet.
func (p Disconnect) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpDisconnect, disconnectLen))
}

// ParseDisconnect reads Disconnect parameters.
func ParseDisconnect(params []byte) (Disconnect, error) {
	if err := checkParams(OpDisconnect, params, disconnectLen); err != nil {
		return Disconnect{}, err
	}
	return Disconnect{Handle: le16(params), Reason: Status(params[2])}, nil
}

// Event mask bits of Set Event Mask (Vol 4 Part E §7.3.1): bit n enables
// the event the specification lists for it. Command Complete, Command
// Status and Number Of Completed Packets cannot be masked.
const (
	EventMaskDisconnectionComplete        uint64 = 1 << 4
	EventMaskEncryptionChange             uint64 = 1 << 7
	EventMaskHardwareError                uint64 = 1 << 15
	EventMaskDataBufferOverflow           uint64 = 1 << 25
	EventMaskEncryptionKeyRefreshComplete uint64 = 1 << 47
	EventMaskLEMeta                       uint64 = 1 << 61

	// DefaultEventMask is the controller's mask after Reset.
	DefaultEventMask uint64 = 0x00001FFFFFFFFFFF
)

// SetEventMask selects the events the controller may send (Vol 4 Part E
// §7.3.1). LE Meta events also need EventMaskLEMeta here and their own bit
// in LESetEventMask.
type SetEventMask struct {
	Mask uint64
}

const eventMaskLen = 8

// Append appends the command parameters.
func (p SetEventMask) Append(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, p.Mask) }

// AppendCommand appends the whole command packet.
func (p SetEventMask) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpSetEventMask, eventMaskLen))
}

// ParseSetEventMask reads Set Event Mask parameters.
func ParseSetEventMask(params []byte) (SetEventMask, error) {
	if err := checkParams(OpSetEventMask, params, eventMaskLen); err != nil {
		return SetEventMask{}, err
	}
	return SetEventMask{Mask: binary.LittleEndian.Uint64(params)}, nil
}

// LE event mask bits of LE Set Event Mask (Vol 4 Part E §7.8.1): bit n
// enables LE Meta subevent n+1.
const (
	LEEventMaskConnectionComplete         uint64 = 1 << 0
	LEEventMaskAdvertisingReport          uint64 = 1 << 1
	LEEventMaskConnectionUpdateComplete   uint64 = 1 << 2
	LEEventMaskReadRemoteFeaturesComplete uint64 = 1 << 3
	LEEventMaskLongTermKeyRequest         uint64 = 1 << 4
	LEEventMaskRemoteConnParamRequest     uint64 = 1 << 5
	LEEventMaskDataLengthChange           uint64 = 1 << 6
	LEEventMaskEnhancedConnectionComplete uint64 = 1 << 9
	LEEventMaskPHYUpdateComplete          uint64 = 1 << 11

	// DefaultLEEventMask is the controller's LE mask after Reset: the
	// first five subevents.
	DefaultLEEventMask uint64 = 0x000000000000001F
)

// LESetEventMask selects the LE Meta subevents the controller may send
// (Vol 4 Part E §7.8.1).
type LESetEventMask struct {
	Mask uint64
}

// Append appends the command parameters.
func (p LESetEventMask) Append(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, p.Mask) }

// AppendCommand appends the whole command packet.
func (p LESetEventMask) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetEventMask, eventMaskLen))
}

// ParseLESetEventMask reads LE Set Event Mask parameters.
func ParseLESetEventMask(params []byte) (LESetEventMask, error) {
	if err := checkParams(OpLESetEventMask, params, eventMaskLen); err != nil {
		return LESetEventMask{}, err
	}
	return LESetEventMask{Mask: binary.LittleEndian.Uint64(params)}, nil
}

// LESetRandomAddress sets the controller's random device address (Vol 4
// Part E §7.8.4).
type LESetRandomAddress struct {
	Addr BDAddr
}

// Append appends the command parameters.
func (p LESetRandomAddress) Append(b []byte) []byte { return append(b, p.Addr[:]...) }

// AppendCommand appends the whole command packet.
func (p LESetRandomAddress) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetRandomAddress, 6))
}

// ParseLESetRandomAddress reads LE Set Random Address parameters.
func ParseLESetRandomAddress(params []byte) (LESetRandomAddress, error) {
	if err := checkParams(OpLESetRandomAddress, params, 6); err != nil {
		return LESetRandomAddress{}, err
	}
	return LESetRandomAddress{Addr: BDAddr(params[:6])}, nil
}

// AdvertisingType is the legacy advertising PDU a controller sends (Vol 4
// Part E §7.8.5, Advertising_Type).
type AdvertisingType uint8

// Advertising types.
const (
	AdvInd               AdvertisingType = 0x00 // ADV_IND: connectable and scannable undirected
	AdvDirectIndHighDuty AdvertisingType = 0x01 // ADV_DIRECT_IND, high duty cycle
	AdvScanInd           AdvertisingType = 0x02 // ADV_SCAN_IND: scannable undirected
	AdvNonconnInd        AdvertisingType = 0x03 // ADV_NONCONN_IND: non-connectable undirected
	AdvDirectIndLowDuty  AdvertisingType = 0x04 // ADV_DIRECT_IND, low duty cycle
)

// Advertising_Channel_Map bits (Vol 4 Part E §7.8.5).
const (
	AdvChannel37  uint8 = 0x01
	AdvChannel38  uint8 = 0x02
	AdvChannel39  uint8 = 0x04
	AdvChannelAll uint8 = 0x07
)

// LESetAdvertisingParameters configures legacy advertising (Vol 4 Part E
// §7.8.5). Intervals are in units of 0.625 ms (0x0020–0x4000).
type LESetAdvertisingParameters struct {
	IntervalMin, IntervalMax uint16
	Type                     AdvertisingType
	OwnAddrType              AddrType
	// PeerAddrType and PeerAddr: the target of directed advertising
	// (public or random only), else ignored.
	PeerAddrType AddrType
	PeerAddr     BDAddr
	// ChannelMap: AdvChannel37|38|39 bits; AdvChannelAll usually.
	ChannelMap uint8
	// FilterPolicy: 0 scan and connect requests from anyone, 1 scan
	// requests from the filter accept list only, 2 connect requests from
	// the list only, 3 both from the list only.
	FilterPolicy uint8
}

const advParamsLen = 15

// Append appends the command parameters.
func (p LESetAdvertisingParameters) Append(b []byte) []byte {
	b = put16(put16(b, p.IntervalMin), p.IntervalMax)
	b = append(b, byte(p.Type), byte(p.OwnAddrType), byte(p.PeerAddrType))
	b = append(b, p.PeerAddr[:]...)
	return append(b, p.ChannelMap, p.FilterPolicy)
}

// AppendCommand appends the whole command packet.
func (p LESetAdvertisingParameters) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetAdvertisingParameters, advParamsLen))
}

// ParseLESetAdvertisingParameters reads LE Set Advertising Parameters
// parameters.
func ParseLESetAdvertisingParameters(params []byte) (LESetAdvertisingParameters, error) {
	if err := checkParams(OpLESetAdvertisingParameters, params, advParamsLen); err != nil {
		return LESetAdvertisingParameters{}, err
	}
	return LESetAdvertisingParameters{
		IntervalMin: le16(params), IntervalMax: le16(params[2:]),
		Type: AdvertisingType(params[4]), OwnAddrType: AddrType(params[5]),
		PeerAddrType: AddrType(params[6]), PeerAddr: BDAddr(params[7:13]),
		ChannelMap: params[13], FilterPolicy: params[14],
	}, nil
}

// MaxAdvDataLen is the most legacy advertising or scan response data
// (Vol 4 Part E §7.8.7, §7.8.8).
const MaxAdvDataLen = 31

// AdvertisingData is the parameter block of LE Set Advertising Data and LE
// Set Scan Response Data (Vol 4 Part E §7.8.7, §7.8.8): a length octet and
// 31 octets, the unused ones zero. Build it with MakeAdvertisingData.
type AdvertisingData struct {
	Len  uint8 // significant octets of Data, at most 31
	Data [MaxAdvDataLen]byte
}

// MakeAdvertisingData copies ad (AD structures, see AppendAD) into an
// AdvertisingData; more than 31 octets is ErrTooLarge.
func MakeAdvertisingData(ad []byte) (AdvertisingData, error) {
	var d AdvertisingData
	if len(ad) > MaxAdvDataLen {
		return d, fmt.Errorf("hci: advertising data of %d octets, at most %d fit: %w", len(ad), MaxAdvDataLen, ErrTooLarge)
	}
	d.Len = uint8(copy(d.Data[:], ad))
	return d, nil
}

// Bytes are the significant octets.
func (d *AdvertisingData) Bytes() []byte { return d.Data[:min(int(d.Len), MaxAdvDataLen)] }

const advDataLen = 1 + MaxAdvDataLen

// Append appends the 32 parameter octets; octets past Len go out as zero,
// and a Len over 31 as 31.
func (d AdvertisingData) Append(b []byte) []byte {
	n := min(int(d.Len), MaxAdvDataLen)
	b = append(b, byte(n))
	b = append(b, d.Data[:n]...)
	var zero [MaxAdvDataLen]byte
	return append(b, zero[:MaxAdvDataLen-n]...)
}

func parseAdvertisingData(op Opcode, params []byte) (AdvertisingData, error) {
	var d AdvertisingData
	if len(params) < 1 {
		return d, fmt.Errorf("hci: %v: no parameters: %w", op, ErrShort)
	}
	// Vol 4 Part E §7.8.7: the parameter block is always 32 octets, but
	// controllers in the wild accept a shorter one holding only the
	// significant octets, so only those are required here.
	n := int(params[0])
	if n > MaxAdvDataLen {
		return d, fmt.Errorf("hci: %v: data length %d, at most %d: %w", op, n, MaxAdvDataLen, ErrMalformed)
	}
	if len(params) < 1+n {
		return d, fmt.Errorf("hci: %v: data length %d, %d octets follow: %w", op, n, len(params)-1, ErrShort)
	}
	d.Len = uint8(copy(d.Data[:], params[1:1+n]))
	return d, nil
}

// LESetAdvertisingData sets the data of ADV_IND, ADV_SCAN_IND and
// ADV_NONCONN_IND PDUs (Vol 4 Part E §7.8.7).
type LESetAdvertisingData struct{ AdvertisingData }

// AppendCommand appends the whole command packet.
func (p LESetAdvertisingData) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetAdvertisingData, advDataLen))
}

// ParseLESetAdvertisingData reads LE Set Advertising Data parameters.
func ParseLESetAdvertisingData(params []byte) (LESetAdvertisingData, error) {
	d, err := parseAdvertisingData(OpLESetAdvertisingData, params)
	return LESetAdvertisingData{d}, err
}

// LESetScanResponseData sets the data of SCAN_RSP PDUs (Vol 4 Part E
// §7.8.8).
type LESetScanResponseData struct{ AdvertisingData }

// AppendCommand appends the whole command packet.
func (p LESetScanResponseData) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetScanResponseData, advDataLen))
}

// ParseLESetScanResponseData reads LE Set Scan Response Data parameters.
func ParseLESetScanResponseData(params []byte) (LESetScanResponseData, error) {
	d, err := parseAdvertisingData(OpLESetScanResponseData, params)
	return LESetScanResponseData{d}, err
}

// LESetAdvertisingEnable starts or stops legacy advertising (Vol 4 Part E
// §7.8.9).
type LESetAdvertisingEnable struct {
	Enable bool
}

// Append appends the command parameters.
func (p LESetAdvertisingEnable) Append(b []byte) []byte { return append(b, boolOctet(p.Enable)) }

// AppendCommand appends the whole command packet.
func (p LESetAdvertisingEnable) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetAdvertisingEnable, 1))
}

// ParseLESetAdvertisingEnable reads LE Set Advertising Enable parameters.
// Values other than 0 and 1 are reserved: ErrMalformed.
func ParseLESetAdvertisingEnable(params []byte) (LESetAdvertisingEnable, error) {
	if err := checkParams(OpLESetAdvertisingEnable, params, 1); err != nil {
		return LESetAdvertisingEnable{}, err
	}
	on, err := parseBool(OpLESetAdvertisingEnable, "Advertising_Enable", params[0])
	return LESetAdvertisingEnable{Enable: on}, err
}

func boolOctet(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func parseBool(op Opcode, name string, v byte) (bool, error) {
	if v > 1 {
		return false, fmt.Errorf("hci: %v: %s 0x%02x, want 0 or 1: %w", op, name, v, ErrMalformed)
	}
	return v == 1, nil
}

// Scan types (Vol 4 Part E §7.8.10, LE_Scan_Type).
const (
	ScanPassive uint8 = 0x00
	ScanActive  uint8 = 0x01
)

// LESetScanParameters configures legacy scanning (Vol 4 Part E §7.8.10).
// Interval and Window are in units of 0.625 ms (0x0004–0x4000, Window ≤
// Interval).
type LESetScanParameters struct {
	Type             uint8 // ScanPassive or ScanActive (sends SCAN_REQ)
	Interval, Window uint16
	OwnAddrType      AddrType
	// FilterPolicy: 0 accept all, 1 only the filter accept list; 2 and 3
	// likewise, also accepting directed advertising to an unresolved
	// resolvable private address.
	FilterPolicy uint8
}

const scanParamsLen = 7

// Append appends the command parameters.
func (p LESetScanParameters) Append(b []byte) []byte {
	b = put16(put16(append(b, p.Type), p.Interval), p.Window)
	return append(b, byte(p.OwnAddrType), p.FilterPolicy)
}

// AppendCommand appends the whole command packet.
func (p LESetScanParameters) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetScanParameters, scanParamsLen))
}

// ParseLESetScanParameters reads LE Set Scan Parameters parameters.
func ParseLESetScanParameters(params []byte) (LESetScanParameters, error) {
	if err := checkParams(OpLESetScanParameters, params, scanParamsLen); err != nil {
		return LESetScanParameters{}, err
	}
	return LESetScanParameters{Type: params[0], Interval: le16(params[1:]), Window: le16(params[3:]),
		OwnAddrType: AddrType(params[5]), FilterPolicy: params[6]}, nil
}

// LESetScanEnable starts or stops legacy scanning (Vol 4 Part E §7.8.11).
type LESetScanEnable struct {
	Enable bool
	// FilterDuplicates asks the controller to report each advertiser once
	// per scan.
	FilterDuplicates bool
}

// Append appends the command parameters.
func (p LESetScanEnable) Append(b []byte) []byte {
	return append(b, boolOctet(p.Enable), boolOctet(p.FilterDuplicates))
}

// AppendCommand appends the whole command packet.
func (p LESetScanEnable) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetScanEnable, 2))
}

// ParseLESetScanEnable reads LE Set Scan Enable parameters. Values other
// than 0 and 1 are reserved: ErrMalformed.
func ParseLESetScanEnable(params []byte) (LESetScanEnable, error) {
	if err := checkParams(OpLESetScanEnable, params, 2); err != nil {
		return LESetScanEnable{}, err
	}
	on, err := parseBool(OpLESetScanEnable, "LE_Scan_Enable", params[0])
	if err != nil {
		return LESetScanEnable{}, err
	}
	dup, err := parseBool(OpLESetScanEnable, "Filter_Duplicates", params[1])
	return LESetScanEnable{Enable: on, FilterDuplicates: dup}, err
}

// ConnParams are the connection parameters LE Create Connection and LE
// Connection Update ask for (Vol 4 Part E §7.8.12, §7.8.18).
type ConnParams struct {
	// IntervalMin, IntervalMax: connection interval, units of 1.25 ms
	// (0x0006–0x0C80).
	IntervalMin, IntervalMax uint16
	// MaxLatency: connection events the peripheral may skip (0–0x01F3).
	MaxLatency uint16
	// SupervisionTimeout: units of 10 ms (0x000A–0x0C80).
	SupervisionTimeout uint16
	// MinCELength, MaxCELength: connection event length hints, units of
	// 0.625 ms.
	MinCELength, MaxCELength uint16
}

func (c ConnParams) append(b []byte) []byte {
	b = put16(put16(put16(b, c.IntervalMin), c.IntervalMax), c.MaxLatency)
	return put16(put16(put16(b, c.SupervisionTimeout), c.MinCELength), c.MaxCELength)
}

func parseConnParams(p []byte) ConnParams {
	return ConnParams{IntervalMin: le16(p), IntervalMax: le16(p[2:]), MaxLatency: le16(p[4:]),
		SupervisionTimeout: le16(p[6:]), MinCELength: le16(p[8:]), MaxCELength: le16(p[10:])}
}

// LECreateConnection starts a connection as central (Vol 4 Part E
// §7.8.12). The controller answers with Command Status, then LE (Enhanced)
// Connection Complete. ScanInterval and ScanWindow are in units of 0.625 ms.
type LECreateConnection struct {
	ScanInterval, ScanWindow uint16
	// FilterPolicy: 0 connect to PeerAddr, 1 to any device on the filter
	// accept list (PeerAddr ignored).
	FilterPolicy uint8
	PeerAddrType AddrType
	PeerAddr     BDAddr
	OwnAddrType  AddrType
	ConnParams
}

const createConnLen = 25

// Append appends the command parameters.
func (p LECreateConnection) Append(b []byte) []byte {
	b = put16(put16(b, p.ScanInterval), p.ScanWindow)
	b = append(b, p.FilterPolicy, byte(p.PeerAddrType))
	b = append(b, p.PeerAddr[:]...)
	return p.ConnParams.append(append(b, byte(p.OwnAddrType)))
}

// AppendCommand appends the whole command packet.
func (p LECreateConnection) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLECreateConnection, createConnLen))
}

// ParseLECreateConnection reads LE Create Connection parameters.
func ParseLECreateConnection(params []byte) (LECreateConnection, error) {
	if err := checkParams(OpLECreateConnection, params, createConnLen); err != nil {
		return LECreateConnection{}, err
	}
	return LECreateConnection{ScanInterval: le16(params), ScanWindow: le16(params[2:]),
		FilterPolicy: params[4], PeerAddrType: AddrType(params[5]), PeerAddr: BDAddr(params[6:12]),
		OwnAddrType: AddrType(params[12]), ConnParams: parseConnParams(params[13:])}, nil
}

// LEConnectionUpdate asks for new connection parameters (Vol 4 Part E
// §7.8.18). The controller answers with Command Status, then LE Connection
// Update Complete.
type LEConnectionUpdate struct {
	Handle uint16
	ConnParams
}

const connUpdateLen = 14

// Append appends the command parameters.
func (p LEConnectionUpdate) Append(b []byte) []byte { return p.ConnParams.append(put16(b, p.Handle)) }

// AppendCommand appends the whole command packet.
func (p LEConnectionUpdate) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLEConnectionUpdate, connUpdateLen))
}

// ParseLEConnectionUpdate reads LE Connection Update parameters.
func ParseLEConnectionUpdate(params []byte) (LEConnectionUpdate, error) {
	if err := checkParams(OpLEConnectionUpdate, params, connUpdateLen); err != nil {
		return LEConnectionUpdate{}, err
	}
	return LEConnectionUpdate{Handle: le16(params), ConnParams: parseConnParams(params[2:])}, nil
}

// LESetDataLength suggests the largest link-layer payload for one
// connection (Vol 4 Part E §7.8.33): TxOctets 27–251, TxTime (µs)
// 328–17040. The answer is a Command Complete with the handle; LE Data
// Length Change follows if the values change.
type LESetDataLength struct {
	Handle           uint16
	TxOctets, TxTime uint16
}

// Append appends the command parameters.
func (p LESetDataLength) Append(b []byte) []byte {
	return put16(put16(put16(b, p.Handle), p.TxOctets), p.TxTime)
}

// AppendCommand appends the whole command packet.
func (p LESetDataLength) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetDataLength, 6))
}

// ParseLESetDataLength reads LE Set Data Length parameters.
func ParseLESetDataLength(params []byte) (LESetDataLength, error) {
	if err := checkParams(OpLESetDataLength, params, 6); err != nil {
		return LESetDataLength{}, err
	}
	return LESetDataLength{Handle: le16(params), TxOctets: le16(params[2:]), TxTime: le16(params[4:])}, nil
}

// LEWriteSuggestedDefaultDataLength sets the data length new connections
// start with (Vol 4 Part E §7.8.35).
type LEWriteSuggestedDefaultDataLength struct {
	TxOctets, TxTime uint16
}

// Append appends the command parameters.
func (p LEWriteSuggestedDefaultDataLength) Append(b []byte) []byte {
	return put16(put16(b, p.TxOctets), p.TxTime)
}

// AppendCommand appends the whole command packet.
func (p LEWriteSuggestedDefaultDataLength) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLEWriteSuggestedDefaultDataLength, 4))
}

// ParseLEWriteSuggestedDefaultDataLength reads LE Write Suggested Default
// Data Length parameters.
func ParseLEWriteSuggestedDefaultDataLength(params []byte) (LEWriteSuggestedDefaultDataLength, error) {
	if err := checkParams(OpLEWriteSuggestedDefaultDataLength, params, 4); err != nil {
		return LEWriteSuggestedDefaultDataLength{}, err
	}
	return LEWriteSuggestedDefaultDataLength{TxOctets: le16(params), TxTime: le16(params[2:])}, nil
}

// PHY masks of LE Set Default PHY and LE Set PHY (Vol 4 Part E §7.8.48,
// §7.8.49).
const (
	// All_PHYs bits: the host has no preference for transmit (receive)
	// and the matching TX_PHYs (RX_PHYs) is ignored.
	AllPHYsNoTxPreference uint8 = 0x01
	AllPHYsNoRxPreference uint8 = 0x02
	// TX_PHYs, RX_PHYs bits.
	PHYMask1M    uint8 = 0x01
	PHYMask2M    uint8 = 0x02
	PHYMaskCoded uint8 = 0x04
	// PHY_Options of LE Set PHY: the coding the host prefers on LE Coded.
	PHYOptionNoPreference uint16 = 0
	PHYOptionS2           uint16 = 1
	PHYOptionS8           uint16 = 2
)

// LESetDefaultPHY sets the PHYs the controller prefers for new connections
// (Vol 4 Part E §7.8.48).
type LESetDefaultPHY struct {
	AllPHYs, TxPHYs, RxPHYs uint8
}

// Append appends the command parameters.
func (p LESetDefaultPHY) Append(b []byte) []byte { return append(b, p.AllPHYs, p.TxPHYs, p.RxPHYs) }

// AppendCommand appends the whole command packet.
func (p LESetDefaultPHY) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetDefaultPHY, 3))
}

// ParseLESetDefaultPHY reads LE Set Default PHY parameters.
func ParseLESetDefaultPHY(params []byte) (LESetDefaultPHY, error) {
	if err := checkParams(OpLESetDefaultPHY, params, 3); err != nil {
		return LESetDefaultPHY{}, err
	}
	return LESetDefaultPHY{AllPHYs: params[0], TxPHYs: params[1], RxPHYs: params[2]}, nil
}

// LESetPHY asks for other PHYs on one connection (Vol 4 Part E §7.8.49).
// The controller answers with Command Status, then LE PHY Update Complete.
type LESetPHY struct {
	Handle                  uint16
	AllPHYs, TxPHYs, RxPHYs uint8
	Options                 uint16
}

// Append appends the command parameters.
func (p LESetPHY) Append(b []byte) []byte {
	return put16(append(put16(b, p.Handle), p.AllPHYs, p.TxPHYs, p.RxPHYs), p.Options)
}

// AppendCommand appends the whole command packet.
func (p LESetPHY) AppendCommand(b []byte) []byte {
	return p.Append(appendCommandHeader(b, OpLESetPHY, 7))
}

// ParseLESetPHY reads LE Set PHY parameters.
func ParseLESetPHY(params []byte) (LESetPHY, error) {
	if err := checkParams(OpLESetPHY, params, 7); err != nil {
		return LESetPHY{}, err
	}
	return LESetPHY{Handle: le16(params), AllPHYs: params[2], TxPHYs: params[3], RxPHYs: params[4],
		Options: le16(params[5:])}, nil
}
