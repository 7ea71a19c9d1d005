package hci

import (
	"encoding/binary"
	"fmt"
)

// Return parameters of Command Complete for the commands whose answer the
// host reads (Vol 4 Part E §7.4, §7.8). Each type has an Append that writes
// the return parameters (Status first), for a controller simulator, and a
// Parse function for the host. The parsers return a *StatusError, and the
// status alone, when the Status is not Success: a controller that fails a
// command may send nothing after the status. On success they need all the
// parameters (ErrShort otherwise) and ignore octets after them.

// returnParams checks the status and the length of successful return
// parameters.
func returnParams(op Opcode, rp []byte, want int) (Status, error) {
	if len(rp) == 0 {
		return 0, fmt.Errorf("hci: %v: no return parameters: %w", op, ErrShort)
	}
	s := Status(rp[0])
	if s != StatusSuccess {
		return s, &StatusError{Opcode: op, Status: s}
	}
	if len(rp) < want {
		return s, fmt.Errorf("hci: %v: %d return parameter octets, want %d: %w", op, len(rp), want, ErrShort)
	}
	return s, nil
}

// ReadBDAddrReturn answers Read BD_ADDR (Vol 4 Part E §7.4.6): the
// controller's public address.
type ReadBDAddrReturn struct {
	Status Status
	Addr   BDAddr
}

// Append appends the return parameters.
func (r ReadBDAddrReturn) Append(b []byte) []byte {
	return append(append(b, byte(r.Status)), r.Addr[:]...)
}

// ParseReadBDAddrReturn reads Read BD_ADDR return parameters.
func ParseReadBDAddrReturn(rp []byte) (ReadBDAddrReturn, error) {
	s, err := returnParams(OpReadBDAddr, rp, 7)
	if err != nil {
		return ReadBDAddrReturn{Status: s}, err
	}
	return ReadBDAddrReturn{Status: s, Addr: BDAddr(rp[1:7])}, nil
}

// ReadLocalVersionReturn answers Read Local Version Information (Vol 4
// Part E §7.4.1). Versions are Assigned Numbers (0x0D: Core 5.4); the
// company identifier names the controller's maker.
type ReadLocalVersionReturn struct {
	Status        Status
	HCIVersion    uint8
	HCISubversion uint16
	LMPVersion    uint8
	CompanyID     uint16
	LMPSubversion uint16
}

// Append appends the return parameters.
func (r ReadLocalVersionReturn) Append(b []byte) []byte {
	b = put16(append(b, byte(r.Status), r.HCIVersion), r.HCISubversion)
	return put16(put16(append(b, r.LMPVersion), r.CompanyID), r.LMPSubversion)
}

// ParseReadLocalVersionReturn reads Read Local Version Information return
// parameters.
func ParseReadLocalVersionReturn(rp []byte) (ReadLocalVersionReturn, error) {
	s, err := returnParams(OpReadLocalVersionInformation, rp, 9)
	if err != nil {
		return ReadLocalVersionReturn{Status: s}, err
	}
	return ReadLocalVersionReturn{Status: s, HCIVersion: rp[1], HCISubversion: le16(rp[2:]),
		LMPVersion: rp[4], CompanyID: le16(rp[5:]), LMPSubversion: le16(rp[7:])}, nil
}

// ReadLocalSupportedCommandsReturn answers Read Local Supported Commands
// (Vol 4 Part E §7.4.2): a 64-octet bit mask, octet and bit per command as
// listed in §6.27.
type ReadLocalSupportedCommandsReturn struct {
	Status   Status
	Commands [64]byte
}

// Supports reports bit (octet, bit) of the mask.
func (r ReadLocalSupportedCommandsReturn) Supports(octet, bit int) bool {
	return octet >= 0 && octet < len(r.Commands) && bit >= 0 && bit < 8 && r.Commands[octet]&(1<<bit) != 0
}

// Append appends the return parameters.
func (r ReadLocalSupportedCommandsReturn) Append(b []byte) []byte {
	return append(append(b, byte(r.Status)), r.Commands[:]...)
}

// ParseReadLocalSupportedCommandsReturn reads Read Local Supported
// Commands return parameters.
func ParseReadLocalSupportedCommandsReturn(rp []byte) (ReadLocalSupportedCommandsReturn, error) {
	s, err := returnParams(OpReadLocalSupportedCommands, rp, 65)
	if err != nil {
		return ReadLocalSupportedCommandsReturn{Status: s}, err
	}
	return ReadLocalSupportedCommandsReturn{Status: s, Commands: [64]byte(rp[1:65])}, nil
}

// ReadLocalSupportedFeaturesReturn answers Read Local Supported Features
// (Vol 4 Part E §7.4.3): page 0 of the LMP features.
type ReadLocalSupportedFeaturesReturn struct {
	Status   Status
	Features LMPFeatures
}

// Append appends the return parameters.
func (r ReadLocalSupportedFeaturesReturn) Append(b []byte) []byte {
	return binary.LittleEndian.AppendUint64(append(b, byte(r.Status)), uint64(r.Features))
}

// ParseReadLocalSupportedFeaturesReturn reads Read Local Supported
// Features return parameters.
func ParseReadLocalSupportedFeaturesReturn(rp []byte) (ReadLocalSupportedFeaturesReturn, error) {
	s, err := returnParams(OpReadLocalSupportedFeatures, rp, 9)
	if err != nil {
		return ReadLocalSupportedFeaturesReturn{Status: s}, err
	}
	return ReadLocalSupportedFeaturesReturn{Status: s, Features: LMPFeatures(binary.LittleEndian.Uint64(rp[1:]))}, nil
}

// LEReadBufferSizeReturn answers LE Read Buffer Size (Vol 4 Part E §7.8.2),
// v1 and v2: the largest ACL data packet the controller takes from the
// host and how many it buffers. ACLDataPacketLength 0 means the controller
// shares the BR/EDR buffers (Read Buffer Size tells their size). The ISO
// fields come with v2 only.
type LEReadBufferSizeReturn struct {
	Status                 Status
	ACLDataPacketLength    uint16
	TotalNumACLDataPackets uint8
	ISODataPacketLength    uint16 // v2
	TotalNumISODataPackets uint8  // v2
}

// Append appends the v1 return parameters.
func (r LEReadBufferSizeReturn) Append(b []byte) []byte {
	return append(put16(append(b, byte(r.Status)), r.ACLDataPacketLength), r.TotalNumACLDataPackets)
}

// AppendV2 appends the v2 return parameters.
func (r LEReadBufferSizeReturn) AppendV2(b []byte) []byte {
	return append(put16(r.Append(b), r.ISODataPacketLength), r.TotalNumISODataPackets)
}

// ParseLEReadBufferSizeReturn reads LE Read Buffer Size [v1] return
// parameters.
func ParseLEReadBufferSizeReturn(rp []byte) (LEReadBufferSizeReturn, error) {
	s, err := returnParams(OpLEReadBufferSize, rp, 4)
	if err != nil {
		return LEReadBufferSizeReturn{Status: s}, err
	}
	return LEReadBufferSizeReturn{Status: s, ACLDataPacketLength: le16(rp[1:]), TotalNumACLDataPackets: rp[3]}, nil
}

// ParseLEReadBufferSizeV2Return reads LE Read Buffer Size [v2] return
// parameters.
func ParseLEReadBufferSizeV2Return(rp []byte) (LEReadBufferSizeReturn, error) {
	s, err := returnParams(OpLEReadBufferSizeV2, rp, 7)
	if err != nil {
		return LEReadBufferSizeReturn{Status: s}, err
	}
	return LEReadBufferSizeReturn{Status: s, ACLDataPacketLength: le16(rp[1:]), TotalNumACLDataPackets: rp[3],
		ISODataPacketLength: le16(rp[4:]), TotalNumISODataPackets: rp[6]}, nil
}

// LEReadLocalSupportedFeaturesReturn answers LE Read Local Supported
// Features (Vol 4 Part E §7.8.3).
type LEReadLocalSupportedFeaturesReturn struct {
	Status   Status
	Features LEFeatures
}

// Append appends the return parameters.
func (r LEReadLocalSupportedFeaturesReturn) Append(b []byte) []byte {
	return binary.LittleEndian.AppendUint64(append(b, byte(r.Status)), uint64(r.Features))
}

// ParseLEReadLocalSupportedFeaturesReturn reads LE Read Local Supported
// Features return parameters.
func ParseLEReadLocalSupportedFeaturesReturn(rp []byte) (LEReadLocalSupportedFeaturesReturn, error) {
	s, err := returnParams(OpLEReadLocalSupportedFeatures, rp, 9)
	if err != nil {
		return LEReadLocalSupportedFeaturesReturn{Status: s}, err
	}
	return LEReadLocalSupportedFeaturesReturn{Status: s, Features: LEFeatures(binary.LittleEndian.Uint64(rp[1:]))}, nil
}

// LEReadMaximumDataLengthReturn answers LE Read Maximum Data Length (Vol 4
// Part E §7.8.46): the largest link-layer payloads (octets) and times (µs)
// the controller supports.
type LEReadMaximumDataLengthReturn struct {
	Status                 Status
	MaxTxOctets, MaxTxTime uint16
	MaxRxOctets, MaxRxTime uint16
}

// Append appends the return parameters.
func (r LEReadMaximumDataLengthReturn) Append(b []byte) []byte {
	b = put16(put16(append(b, byte(r.Status)), r.MaxTxOctets), r.MaxTxTime)
	return put16(put16(b, r.MaxRxOctets), r.MaxRxTime)
}

// ParseLEReadMaximumDataLengthReturn reads LE Read Maximum Data Length
// return parameters.
func ParseLEReadMaximumDataLengthReturn(rp []byte) (LEReadMaximumDataLengthReturn, error) {
	s, err := returnParams(OpLEReadMaximumDataLength, rp, 9)
	if err != nil {
		return LEReadMaximumDataLengthReturn{Status: s}, err
	}
	return LEReadMaximumDataLengthReturn{Status: s, MaxTxOctets: le16(rp[1:]), MaxTxTime: le16(rp[3:]),
		MaxRxOctets: le16(rp[5:]), MaxRxTime: le16(rp[7:])}, nil
}

// LEReadSuggestedDefaultDataLengthReturn answers LE Read Suggested Default
// Data Length (Vol 4 Part E §7.8.34).
type LEReadSuggestedDefaultDataLengthReturn struct {
	Status           Status
	TxOctets, TxTime uint16
}

// Append appends the return parameters.
func (r LEReadSuggestedDefaultDataLengthReturn) Append(b []byte) []byte {
	return put16(put16(append(b, byte(r.Status)), r.TxOctets), r.TxTime)
}

// ParseLEReadSuggestedDefaultDataLengthReturn reads LE Read Suggested
// Default Data Length return parameters.
func ParseLEReadSuggestedDefaultDataLengthReturn(rp []byte) (LEReadSuggestedDefaultDataLengthReturn, error) {
	s, err := returnParams(OpLEReadSuggestedDefaultDataLength, rp, 5)
	if err != nil {
		return LEReadSuggestedDefaultDataLengthReturn{Status: s}, err
	}
	return LEReadSuggestedDefaultDataLengthReturn{Status: s, TxOctets: le16(rp[1:]), TxTime: le16(rp[3:])}, nil
}

// LESetDataLengthReturn answers LE Set Data Length (Vol 4 Part E §7.8.33).
type LESetDataLengthReturn struct {
	Status Status
	Handle uint16
}

// Append appends the return parameters.
func (r LESetDataLengthReturn) Append(b []byte) []byte {
	return put16(append(b, byte(r.Status)), r.Handle)
}

// ParseLESetDataLengthReturn reads LE Set Data Length return parameters.
func ParseLESetDataLengthReturn(rp []byte) (LESetDataLengthReturn, error) {
	s, err := returnParams(OpLESetDataLength, rp, 3)
	if err != nil {
		return LESetDataLengthReturn{Status: s}, err
	}
	return LESetDataLengthReturn{Status: s, Handle: le16(rp[1:])}, nil
}
