package hci

import "fmt"

// Status is an HCI status or error code: the Status parameter of Command
// Complete, Command Status and most completion events, and the Reason of
// Disconnect and Disconnection Complete. Core v5.4 Vol 1 Part F §1.3 lists
// them; §2 says what each means.
type Status uint8

// Status codes (Vol 1 Part F §1.3). Where the BR/EDR and LE names differ
// the constant has the LE one.
const (
	StatusSuccess                          Status = 0x00
	StatusUnknownCommand                   Status = 0x01
	StatusUnknownConnectionID              Status = 0x02
	StatusHardwareFailure                  Status = 0x03
	StatusPageTimeout                      Status = 0x04
	StatusAuthenticationFailure            Status = 0x05
	StatusPINOrKeyMissing                  Status = 0x06
	StatusMemoryCapacityExceeded           Status = 0x07
	StatusConnectionTimeout                Status = 0x08
	StatusConnectionLimitExceeded          Status = 0x09
	StatusSyncConnectionLimitExceeded      Status = 0x0A
	StatusConnectionAlreadyExists          Status = 0x0B
	StatusCommandDisallowed                Status = 0x0C
	StatusRejectedLimitedResources         Status = 0x0D
	StatusRejectedSecurityReasons          Status = 0x0E
	StatusRejectedUnacceptableBDAddr       Status = 0x0F
	StatusConnectionAcceptTimeout          Status = 0x10
	StatusUnsupportedFeatureOrParameter    Status = 0x11
	StatusInvalidCommandParameters         Status = 0x12
	StatusRemoteUserTerminated             Status = 0x13
	StatusRemoteLowResources               Status = 0x14
	StatusRemotePowerOff                   Status = 0x15
	StatusLocalHostTerminated              Status = 0x16
	StatusRepeatedAttempts                 Status = 0x17
	StatusPairingNotAllowed                Status = 0x18
	StatusUnknownLMPPDU                    Status = 0x19
	StatusUnsupportedRemoteFeature         Status = 0x1A
	StatusInvalidLLParameters              Status = 0x1E
	StatusUnspecifiedError                 Status = 0x1F
	StatusUnsupportedLLParameterValue      Status = 0x20
	StatusLLResponseTimeout                Status = 0x22
	StatusLLProcedureCollision             Status = 0x23
	StatusLMPPDUNotAllowed                 Status = 0x24
	StatusInstantPassed                    Status = 0x28
	StatusDifferentTransactionCollision    Status = 0x2A
	StatusInsufficientSecurity             Status = 0x2F
	StatusParameterOutOfRange              Status = 0x30
	StatusControllerBusy                   Status = 0x3A
	StatusUnacceptableConnectionParameters Status = 0x3B
	StatusAdvertisingTimeout               Status = 0x3C
	StatusTerminatedMICFailure             Status = 0x3D
	StatusConnectionFailedToBeEstablished  Status = 0x3E
	StatusUnknownAdvertisingIdentifier     Status = 0x42
	StatusLimitReached                     Status = 0x43
	StatusOperationCancelledByHost         Status = 0x44
	StatusPacketTooLong                    Status = 0x45

	statusFirstUnnamed Status = 0x46 // the first code this package has no name for
)

// statusNames are the names Vol 1 Part F §1.3 gives; codes it marks
// reserved or previously used have none.
var statusNames = [statusFirstUnnamed]string{
	0x00: "Success",
	0x01: "Unknown HCI Command",
	0x02: "Unknown Connection Identifier",
	0x03: "Hardware Failure",
	0x04: "Page Timeout",
	0x05: "Authentication Failure",
	0x06: "PIN or Key Missing",
	0x07: "Memory Capacity Exceeded",
	0x08: "Connection Timeout",
	0x09: "Connection Limit Exceeded",
	0x0A: "Synchronous Connection Limit To A Device Exceeded",
	0x0B: "Connection Already Exists",
	0x0C: "Command Disallowed",
	0x0D: "Connection Rejected due to Limited Resources",
	0x0E: "Connection Rejected Due To Security Reasons",
	0x0F: "Connection Rejected due to Unacceptable BD_ADDR",
	0x10: "Connection Accept Timeout Exceeded",
	0x11: "Unsupported Feature or Parameter Value",
	0x12: "Invalid HCI Command Parameters",
	0x13: "Remote User Terminated Connection",
	0x14: "Remote Device Terminated Connection due to Low Resources",
	0x15: "Remote Device Terminated Connection due to Power Off",
	0x16: "Connection Terminated By Local Host",
	0x17: "Repeated Attempts",
	0x18: "Pairing Not Allowed",
	0x19: "Unknown LMP PDU",
	0x1A: "Unsupported Remote Feature",
	0x1B: "SCO Offset Rejected",
	0x1C: "SCO Interval Rejected",
	0x1D: "SCO Air Mode Rejected",
	0x1E: "Invalid LMP Parameters / Invalid LL Parameters",
	0x1F: "Unspecified Error",
	0x20: "Unsupported LMP Parameter Value / Unsupported LL Parameter Value",
	0x21: "Role Change Not Allowed",
	0x22: "LMP Response Timeout / LL Response Timeout",
	0x23: "LMP Error Transaction Collision / LL Procedure Collision",
	0x24: "LMP PDU Not Allowed",
	0x25: "Encryption Mode Not Acceptable",
	0x26: "Link Key cannot be Changed",
	0x27: "Requested QoS Not Supported",
	0x28: "Instant Passed",
	0x29: "Pairing With Unit Key Not Supported",
	0x2A: "Different Transaction Collision",
	0x2C: "QoS Unacceptable Parameter",
	0x2D: "QoS Rejected",
	0x2E: "Channel Classification Not Supported",
	0x2F: "Insufficient Security",
	0x30: "Parameter Out Of Mandatory Range",
	0x32: "Role Switch Pending",
	0x34: "Reserved Slot Violation",
	0x35: "Role Switch Failed",
	0x36: "Extended Inquiry Response Too Large",
	0x37: "Secure Simple Pairing Not Supported By Host",
	0x38: "Host Busy - Pairing",
	0x39: "Connection Rejected due to No Suitable Channel Found",
	0x3A: "Controller Busy",
	0x3B: "Unacceptable Connection Parameters",
	0x3C: "Advertising Timeout",
	0x3D: "Connection Terminated due to MIC Failure",
	0x3E: "Connection Failed to be Established / Synchronization Timeout",
	0x40: "Coarse Clock Adjustment Rejected but Will Try to Adjust Using Clock Dragging",
	0x41: "Type0 Submap Not Defined",
	0x42: "Unknown Advertising Identifier",
	0x43: "Limit Reached",
	0x44: "Operation Cancelled by Host",
	0x45: "Packet Too Long",
}

// String returns the specification's name, or "status 0xNN" for a code
// without one.
func (s Status) String() string {
	if s < statusFirstUnnamed && statusNames[s] != "" {
		return statusNames[s]
	}
	return "status 0x" + hex2(uint8(s))
}

// StatusError is a command the controller refused or that failed: a
// Command Status or Command Complete event (or a completion event such as
// LE Connection Complete) whose Status is not Success. Use errors.As to
// get the status out of a wrapped error.
type StatusError struct {
	Opcode Opcode
	Status Status
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("hci: %v: %v (0x%02x)", e.Opcode, e.Status, uint8(e.Status))
}

// statusErr returns nil for Success and a *StatusError otherwise.
func statusErr(op Opcode, s Status) error {
	if s == StatusSuccess {
		return nil
	}
	return &StatusError{Opcode: op, Status: s}
}

const hexDigits = "0123456789abcdef"

func hex2(v uint8) string { return string([]byte{hexDigits[v>>4], hexDigits[v&0xF]}) }

func hex4(v uint16) string {
	return string([]byte{hexDigits[v>>12], hexDigits[v>>8&0xF], hexDigits[v>>4&0xF], hexDigits[v&0xF]})
}
