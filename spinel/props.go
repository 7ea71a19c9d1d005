package spinel

import (
	"fmt"
	"strconv"
)

// Prop is a Spinel property key (a packed unsigned integer on the wire).
// The comment after each constant gives the value's type in Spinel's
// notation (see doc.go).
type Prop uint32

// Properties an RCP host uses (spinel.h, spinel_prop_key_t).
const (
	PropLastStatus      Prop = 0x00 // i: a Status
	PropProtocolVersion Prop = 0x01 // ii: major, minor (4.3)
	PropNCPVersion      Prop = 0x02 // U: firmware version string
	PropInterfaceType   Prop = 0x03 // i: 3 = Thread
	PropVendorID        Prop = 0x04 // i
	PropCaps            Prop = 0x05 // A(i): Cap values
	PropInterfaceCount  Prop = 0x06 // C
	PropHWAddr          Prop = 0x08 // E: factory EUI-64
	PropHostPowerState  Prop = 0x0C // C

	PropPHYEnabled       Prop = 0x20 // b
	PropPHYChan          Prop = 0x21 // C
	PropPHYChanSupported Prop = 0x22 // A(C)
	PropPHYFreq          Prop = 0x23 // L: kHz
	PropPHYCCAThreshold  Prop = 0x24 // c: dBm
	PropPHYTxPower       Prop = 0x25 // c: dBm
	PropPHYRSSI          Prop = 0x26 // c: dBm, current channel
	PropPHYRxSensitivity Prop = 0x27 // c: dBm
	PropPHYChanMaxPower  Prop = 0x2B // Cc: channel, dBm

	PropMACScanState        Prop = 0x30 // C: ScanState
	PropMACScanMask         Prop = 0x31 // A(C): channels
	PropMACScanPeriod       Prop = 0x32 // S: ms per channel
	PropMAC154LAddr         Prop = 0x34 // E: extended address, canonical order
	PropMAC154SAddr         Prop = 0x35 // S
	PropMAC154PANID         Prop = 0x36 // S
	PropMACRawStreamEnabled Prop = 0x37 // b
	PropMACPromiscuousMode  Prop = 0x38 // C: PromiscuousMode
	PropMACEnergyScanResult Prop = 0x39 // Cc: channel, max RSSI (unsolicited)
	PropMACRxOnWhenIdleMode Prop = 0x3B // b
	PropMAC154AltSAddr      Prop = 0x3C // S

	PropStreamDebug Prop = 0x70 // U (unsolicited)
	PropStreamRaw   Prop = 0x71 // dD: 802.15.4 frames with metadata
	PropStreamLog   Prop = 0x74 // UD: log line, optional metadata

	PropRCPAPIVersion        Prop = 0xB0 // i
	PropRCPMinHostAPIVersion Prop = 0xB1 // i

	PropRCPMACKey          Prop = 0x800 // CCddd
	PropRCPMACFrameCounter Prop = 0x801 // L[b]
	PropRCPTimestamp       Prop = 0x802 // X: µs

	PropRadioCaps Prop = 0x120B // i: RadioCap bits

	PropMACSrcMatchEnabled           Prop = 0x1303 // b
	PropMACSrcMatchShortAddresses    Prop = 0x1304 // A(S)
	PropMACSrcMatchExtendedAddresses Prop = 0x1305 // A(E), canonical order

	PropRCPVersion Prop = 0x190C // U (POSIX host only)
)

var propNames = map[Prop]string{
	PropLastStatus:                   "LAST_STATUS",
	PropProtocolVersion:              "PROTOCOL_VERSION",
	PropNCPVersion:                   "NCP_VERSION",
	PropInterfaceType:                "INTERFACE_TYPE",
	PropVendorID:                     "VENDOR_ID",
	PropCaps:                         "CAPS",
	PropInterfaceCount:               "INTERFACE_COUNT",
	PropHWAddr:                       "HWADDR",
	PropHostPowerState:               "HOST_POWER_STATE",
	PropPHYEnabled:                   "PHY_ENABLED",
	PropPHYChan:                      "PHY_CHAN",
	PropPHYChanSupported:             "PHY_CHAN_SUPPORTED",
	PropPHYFreq:                      "PHY_FREQ",
	PropPHYCCAThreshold:              "PHY_CCA_THRESHOLD",
	PropPHYTxPower:                   "PHY_TX_POWER",
	PropPHYRSSI:                      "PHY_RSSI",
	PropPHYRxSensitivity:             "PHY_RX_SENSITIVITY",
	PropPHYChanMaxPower:              "PHY_CHAN_MAX_POWER",
	PropMACScanState:                 "MAC_SCAN_STATE",
	PropMACScanMask:                  "MAC_SCAN_MASK",
	PropMACScanPeriod:                "MAC_SCAN_PERIOD",
	PropMAC154LAddr:                  "MAC_15_4_LADDR",
	PropMAC154SAddr:                  "MAC_15_4_SADDR",
	PropMAC154PANID:                  "MAC_15_4_PANID",
	PropMACRawStreamEnabled:          "MAC_RAW_STREAM_ENABLED",
	PropMACPromiscuousMode:           "MAC_PROMISCUOUS_MODE",
	PropMACEnergyScanResult:          "MAC_ENERGY_SCAN_RESULT",
	PropMACRxOnWhenIdleMode:          "MAC_RX_ON_WHEN_IDLE_MODE",
	PropMAC154AltSAddr:               "MAC_15_4_ALT_SADDR",
	PropStreamDebug:                  "STREAM_DEBUG",
	PropStreamRaw:                    "STREAM_RAW",
	PropStreamLog:                    "STREAM_LOG",
	PropRCPAPIVersion:                "RCP_API_VERSION",
	PropRCPMinHostAPIVersion:         "RCP_MIN_HOST_API_VERSION",
	PropRCPMACKey:                    "RCP_MAC_KEY",
	PropRCPMACFrameCounter:           "RCP_MAC_FRAME_COUNTER",
	PropRCPTimestamp:                 "RCP_TIMESTAMP",
	PropRadioCaps:                    "RADIO_CAPS",
	PropMACSrcMatchEnabled:           "MAC_SRC_MATCH_ENABLED",
	PropMACSrcMatchShortAddresses:    "MAC_SRC_MATCH_SHORT_ADDRESSES",
	PropMACSrcMatchExtendedAddresses: "MAC_SRC_MATCH_EXTENDED_ADDRESSES",
	PropRCPVersion:                   "RCP_VERSION",
}

func (p Prop) String() string {
	if s, ok := propNames[p]; ok {
		return s
	}
	return fmt.Sprintf("PROP_%#x", uint32(p))
}

// Status is a Spinel status code, the value of LAST_STATUS. A non-OK Status
// is an error.
type Status uint32

// Status codes (spinel.h, spinel_status_t).
const (
	StatusOK                    Status = 0
	StatusFailure               Status = 1
	StatusUnimplemented         Status = 2
	StatusInvalidArgument       Status = 3
	StatusInvalidState          Status = 4
	StatusInvalidCommand        Status = 5
	StatusInvalidInterface      Status = 6
	StatusInternalError         Status = 7
	StatusSecurityError         Status = 8
	StatusParseError            Status = 9
	StatusInProgress            Status = 10
	StatusNoMem                 Status = 11
	StatusBusy                  Status = 12
	StatusPropNotFound          Status = 13
	StatusDropped               Status = 14
	StatusEmpty                 Status = 15
	StatusCmdTooBig             Status = 16
	StatusNoAck                 Status = 17
	StatusCCAFailure            Status = 18
	StatusAlready               Status = 19
	StatusItemNotFound          Status = 20
	StatusInvalidCommandForProp Status = 21
	StatusUnknownNeighbor       Status = 22
	StatusNotCapable            Status = 23
	StatusResponseTimeout       Status = 24
	StatusSwitchoverDone        Status = 25
	StatusSwitchoverFailed      Status = 26

	// Reset reasons, sent unsolicited (TID 0) as LAST_STATUS after a reset.
	// The range reserved for them is 112–127.
	StatusResetPowerOn  Status = 112
	StatusResetExternal Status = 113
	StatusResetSoftware Status = 114
	StatusResetFault    Status = 115
	StatusResetCrash    Status = 116
	StatusResetAssert   Status = 117
	StatusResetOther    Status = 118
	StatusResetUnknown  Status = 119
	StatusResetWatchdog Status = 120

	statusResetBegin = 112
	statusResetEnd   = 128 // exclusive

	// StatusStackNativeBegin starts the range 16384–81919 in which an
	// OpenThread RCP reports an otError with no Spinel equivalent, as
	// 16384 + the otError (ncp_base.cpp, ThreadErrorToSpinelStatus).
	StatusStackNativeBegin Status = 16384
	statusStackNativeEnd   Status = 81920 // exclusive

	// StatusAbort is how an OpenThread RCP reports a transmission aborted
	// by the radio (OT_ERROR_ABORT = 11 has no Spinel status).
	StatusAbort = StatusStackNativeBegin + Status(OTErrorAbort)
)

var statusNames = [...]string{
	"OK", "FAILURE", "UNIMPLEMENTED", "INVALID_ARGUMENT", "INVALID_STATE",
	"INVALID_COMMAND", "INVALID_INTERFACE", "INTERNAL_ERROR", "SECURITY_ERROR",
	"PARSE_ERROR", "IN_PROGRESS", "NOMEM", "BUSY", "PROP_NOT_FOUND", "DROPPED",
	"EMPTY", "CMD_TOO_BIG", "NO_ACK", "CCA_FAILURE", "ALREADY", "ITEM_NOT_FOUND",
	"INVALID_COMMAND_FOR_PROP", "UNKNOWN_NEIGHBOR", "NOT_CAPABLE",
	"RESPONSE_TIMEOUT", "SWITCHOVER_DONE", "SWITCHOVER_FAILED",
}

var resetNames = [...]string{
	"RESET_POWER_ON", "RESET_EXTERNAL", "RESET_SOFTWARE", "RESET_FAULT",
	"RESET_CRASH", "RESET_ASSERT", "RESET_OTHER", "RESET_UNKNOWN", "RESET_WATCHDOG",
}

func (s Status) String() string {
	switch {
	case int(s) < len(statusNames):
		return statusNames[s]
	case s >= statusResetBegin && int(s) < statusResetBegin+len(resetNames):
		return resetNames[s-statusResetBegin]
	case s.IsReset():
		return "RESET_" + strconv.FormatUint(uint64(s), 10)
	case s >= StatusStackNativeBegin && s < statusStackNativeEnd:
		return "STACK_NATIVE(" + OTError(s-StatusStackNativeBegin).String() + ")"
	}
	return "STATUS_" + strconv.FormatUint(uint64(s), 10)
}

// Error makes a Status usable as an error (for non-OK values).
func (s Status) Error() string {
	return "spinel status " + s.String() + " (" + strconv.FormatUint(uint64(s), 10) + ")"
}

// IsReset reports whether s is a reset reason (112–127).
func (s Status) IsReset() bool { return s >= statusResetBegin && s < statusResetEnd }

// Err returns nil for StatusOK and s otherwise.
func (s Status) Err() error {
	if s == StatusOK {
		return nil
	}
	return s
}

// OTError is an OpenThread otError code. An OpenThread RCP puts one (not a
// Spinel Status) in the receive-error field of a received frame's metadata.
type OTError uint32

// The otError values that matter on the radio path (include/openthread/error.h).
const (
	OTErrorNone                 OTError = 0
	OTErrorFailed               OTError = 1
	OTErrorNoBufs               OTError = 3
	OTErrorBusy                 OTError = 5
	OTErrorParse                OTError = 6
	OTErrorSecurity             OTError = 8
	OTErrorAbort                OTError = 11
	OTErrorInvalidState         OTError = 13
	OTErrorNoAck                OTError = 14
	OTErrorChannelAccessFailure OTError = 15
	OTErrorFCS                  OTError = 17
	OTErrorNoFrameReceived      OTError = 18
)

func (e OTError) String() string {
	switch e {
	case OTErrorNone:
		return "None"
	case OTErrorFailed:
		return "Failed"
	case OTErrorNoBufs:
		return "NoBufs"
	case OTErrorBusy:
		return "Busy"
	case OTErrorParse:
		return "Parse"
	case OTErrorSecurity:
		return "Security"
	case OTErrorAbort:
		return "Abort"
	case OTErrorInvalidState:
		return "InvalidState"
	case OTErrorNoAck:
		return "NoAck"
	case OTErrorChannelAccessFailure:
		return "ChannelAccessFailure"
	case OTErrorFCS:
		return "FCS"
	case OTErrorNoFrameReceived:
		return "NoFrameReceived"
	}
	return "otError(" + strconv.FormatUint(uint64(e), 10) + ")"
}

// Cap is a capability listed in PROP_CAPS.
type Cap uint32

// Capabilities that tell an RCP from other firmware (spinel.h, SPINEL_CAP_*).
const (
	CapConfigFTD             Cap = 32
	CapConfigMTD             Cap = 33
	CapConfigRadio           Cap = 34 // an RCP
	CapRCPAPIVersion         Cap = 64 // RCP_API_VERSION readable
	CapRCPMinHostAPIVersion  Cap = 65 // RCP_MIN_HOST_API_VERSION readable
	CapRCPResetToBootloader  Cap = 66
	CapRCPLogCrashDump       Cap = 67
	CapMACRaw                Cap = 513 // raw 802.15.4 frames on STREAM_RAW
	CapOpenThreadLogMetadata Cap = 518
)

// capNames are the SPINEL_CAP_* names of spinel.h (OpenThread
// src/lib/spinel/spinel.h, enum of capabilities), without the prefix.
var capNames = map[Cap]string{
	1:     "LOCK",
	2:     "NET_SAVE",
	3:     "HBO",
	4:     "POWER_SAVE",
	5:     "COUNTERS",
	6:     "JAM_DETECT",
	7:     "PEEK_POKE",
	8:     "WRITABLE_RAW_STREAM",
	9:     "GPIO",
	10:    "TRNG",
	11:    "CMD_MULTI",
	12:    "UNSOL_UPDATE_FILTER",
	13:    "MCU_POWER_STATE",
	14:    "PCAP",
	16:    "802_15_4_2003",
	17:    "802_15_4_2006",
	18:    "802_15_4_2011",
	21:    "802_15_4_PIB",
	24:    "802_15_4_2450MHZ_OQPSK",
	25:    "802_15_4_915MHZ_OQPSK",
	26:    "802_15_4_868MHZ_OQPSK",
	27:    "802_15_4_915MHZ_BPSK",
	28:    "802_15_4_868MHZ_BPSK",
	29:    "802_15_4_915MHZ_ASK",
	30:    "802_15_4_868MHZ_ASK",
	32:    "CONFIG_FTD",
	33:    "CONFIG_MTD",
	34:    "CONFIG_RADIO",
	48:    "ROLE_ROUTER",
	49:    "ROLE_SLEEPY",
	52:    "NET_THREAD_1_0",
	53:    "NET_THREAD_1_1",
	54:    "NET_THREAD_1_2",
	64:    "RCP_API_VERSION",
	65:    "RCP_MIN_HOST_API_VERSION",
	66:    "RCP_RESET_TO_BOOTLOADER",
	67:    "RCP_LOG_CRASH_DUMP",
	512:   "MAC_ALLOWLIST",
	513:   "MAC_RAW",
	514:   "OOB_STEERING_DATA",
	515:   "CHANNEL_MONITOR",
	516:   "ERROR_RATE_TRACKING",
	517:   "CHANNEL_MANAGER",
	518:   "OPENTHREAD_LOG_METADATA",
	519:   "TIME_SYNC",
	520:   "CHILD_SUPERVISION",
	521:   "POSIX",
	522:   "SLAAC",
	523:   "RADIO_COEX",
	524:   "MAC_RETRY_HISTOGRAM",
	525:   "MULTI_RADIO",
	526:   "SRP_CLIENT",
	527:   "DUA",
	528:   "REFERENCE_DEVICE",
	1024:  "THREAD_COMMISSIONER",
	1025:  "THREAD_TMF_PROXY",
	1026:  "THREAD_UDP_FORWARD",
	1027:  "THREAD_JOINER",
	1028:  "THREAD_BORDER_ROUTER",
	1029:  "THREAD_SERVICE",
	1030:  "THREAD_CSL_RECEIVER",
	1031:  "THREAD_LINK_METRICS",
	1032:  "THREAD_BACKBONE_ROUTER",
	15296: "NEST_LEGACY_INTERFACE",
	15297: "NEST_LEGACY_NET_WAKE",
}

// String is the capability's spinel.h name without SPINEL_CAP_, or CAP_n
// for a number spinel.h does not name.
func (c Cap) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return "CAP_" + strconv.FormatUint(uint64(c), 10)
}

// RadioCap bits of PROP_RADIO_CAPS (include/openthread/platform/radio.h,
// otRadioCaps).
type RadioCap uint32

const (
	RadioCapAckTimeout      RadioCap = 1 << 0
	RadioCapEnergyScan      RadioCap = 1 << 1
	RadioCapTransmitRetries RadioCap = 1 << 2
	RadioCapCSMABackoff     RadioCap = 1 << 3
	RadioCapSleepToTx       RadioCap = 1 << 4
	RadioCapTransmitSec     RadioCap = 1 << 5
	RadioCapTransmitTiming  RadioCap = 1 << 6
	RadioCapReceiveTiming   RadioCap = 1 << 7
	RadioCapRxOnWhenIdle    RadioCap = 1 << 8
	RadioCapTransmitPower   RadioCap = 1 << 9
	RadioCapAltShortAddress RadioCap = 1 << 10
)

var radioCapNames = [...]string{
	"ack-timeout", "energy-scan", "tx-retries", "csma-backoff", "sleep-to-tx",
	"tx-security", "tx-timing", "rx-timing", "rx-on-when-idle", "tx-frame-power",
	"alt-short-addr",
}

// String lists the set bits, e.g. "energy-scan|tx-retries".
func (c RadioCap) String() string {
	if c == 0 {
		return "none"
	}
	var s string
	for i := 0; i < 32; i++ {
		if c&(1<<i) == 0 {
			continue
		}
		if s != "" {
			s += "|"
		}
		if i < len(radioCapNames) {
			s += radioCapNames[i]
		} else {
			s += "bit" + strconv.Itoa(i)
		}
	}
	return s
}

// ScanState values of PROP_MAC_SCAN_STATE.
const (
	ScanStateIdle     uint8 = 0
	ScanStateBeacon   uint8 = 1
	ScanStateEnergy   uint8 = 2
	ScanStateDiscover uint8 = 3
)

// PromiscuousMode values of PROP_MAC_PROMISCUOUS_MODE.
const (
	PromiscuousOff     uint8 = 0 // normal address filtering
	PromiscuousNetwork uint8 = 1 // frames of this network
	PromiscuousFull    uint8 = 2 // every frame decoded
)

// InterfaceTypeThread is the value of PROP_INTERFACE_TYPE for OpenThread
// firmware (SPINEL_PROTOCOL_TYPE_THREAD).
const InterfaceTypeThread = 3

// Version constants of OpenThread's Spinel (spinel.h).
const (
	ProtocolVersionMajor = 4
	ProtocolVersionMinor = 3
)
