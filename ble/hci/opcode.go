package hci

// Opcode identifies an HCI command (Core v5.4 Vol 4 Part E §5.4.1): the
// Opcode Group Field in the top 6 bits, the Opcode Command Field in the
// low 10. It travels little endian.
type Opcode uint16

// Opcode group fields (Vol 4 Part E §7.1–§7.8).
const (
	OGFLinkControl        = 0x01
	OGFLinkPolicy         = 0x02
	OGFControllerBaseband = 0x03
	OGFInformational      = 0x04
	OGFStatus             = 0x05
	OGFTesting            = 0x06
	OGFLEController       = 0x08
	OGFVendor             = 0x3F
	ocfMask               = 0x03FF
	ogfShift              = 10
)

// MakeOpcode builds an opcode; ogf is masked to 6 bits and ocf to 10.
func MakeOpcode(ogf uint8, ocf uint16) Opcode {
	return Opcode(uint16(ogf&0x3F)<<ogfShift | ocf&ocfMask)
}

// OGF is the opcode group field.
func (o Opcode) OGF() uint8 { return uint8(o >> ogfShift) }

// OCF is the opcode command field.
func (o Opcode) OCF() uint16 { return uint16(o) & ocfMask }

// Opcodes of the commands a BLE host uses, with their sections in Vol 4
// Part E. OpNOP is not a command: a controller announces free command
// slots with a Command Complete (or Command Status) for opcode 0x0000
// (§7.7.14).
const (
	OpNOP Opcode = 0x0000

	OpDisconnect Opcode = 0x0406 // §7.1.6; OGF 0x01, OCF 0x006

	OpSetEventMask Opcode = 0x0C01 // §7.3.1; OGF 0x03, OCF 0x001
	OpReset        Opcode = 0x0C03 // §7.3.2; OGF 0x03, OCF 0x003

	OpReadLocalVersionInformation Opcode = 0x1001 // §7.4.1; OGF 0x04, OCF 0x001
	OpReadLocalSupportedCommands  Opcode = 0x1002 // §7.4.2
	OpReadLocalSupportedFeatures  Opcode = 0x1003 // §7.4.3
	OpReadBDAddr                  Opcode = 0x1009 // §7.4.6

	OpLESetEventMask                    Opcode = 0x2001 // §7.8.1; OGF 0x08, OCF 0x001
	OpLEReadBufferSize                  Opcode = 0x2002 // §7.8.2 [v1]
	OpLEReadLocalSupportedFeatures      Opcode = 0x2003 // §7.8.3
	OpLESetRandomAddress                Opcode = 0x2005 // §7.8.4
	OpLESetAdvertisingParameters        Opcode = 0x2006 // §7.8.5
	OpLESetAdvertisingData              Opcode = 0x2008 // §7.8.7
	OpLESetScanResponseData             Opcode = 0x2009 // §7.8.8
	OpLESetAdvertisingEnable            Opcode = 0x200A // §7.8.9
	OpLESetScanParameters               Opcode = 0x200B // §7.8.10
	OpLESetScanEnable                   Opcode = 0x200C // §7.8.11
	OpLECreateConnection                Opcode = 0x200D // §7.8.12
	OpLECreateConnectionCancel          Opcode = 0x200E // §7.8.13
	OpLEConnectionUpdate                Opcode = 0x2013 // §7.8.18
	OpLESetDataLength                   Opcode = 0x2022 // §7.8.33
	OpLEReadSuggestedDefaultDataLength  Opcode = 0x2023 // §7.8.34
	OpLEWriteSuggestedDefaultDataLength Opcode = 0x2024 // §7.8.35
	OpLEReadMaximumDataLength           Opcode = 0x202F // §7.8.46
	OpLEReadPHY                         Opcode = 0x2030 // §7.8.47
	OpLESetDefaultPHY                   Opcode = 0x2031 // §7.8.48
	OpLESetPHY                          Opcode = 0x2032 // §7.8.49
	OpLEReadBufferSizeV2                Opcode = 0x2060 // §7.8.2 [v2]
)

var opcodeNames = map[Opcode]string{
	OpNOP:                               "NOP",
	OpDisconnect:                        "Disconnect",
	OpSetEventMask:                      "Set Event Mask",
	OpReset:                             "Reset",
	OpReadLocalVersionInformation:       "Read Local Version Information",
	OpReadLocalSupportedCommands:        "Read Local Supported Commands",
	OpReadLocalSupportedFeatures:        "Read Local Supported Features",
	OpReadBDAddr:                        "Read BD_ADDR",
	OpLESetEventMask:                    "LE Set Event Mask",
	OpLEReadBufferSize:                  "LE Read Buffer Size [v1]",
	OpLEReadLocalSupportedFeatures:      "LE Read Local Supported Features",
	OpLESetRandomAddress:                "LE Set Random Address",
	OpLESetAdvertisingParameters:        "LE Set Advertising Parameters",
	OpLESetAdvertisingData:              "LE Set Advertising Data",
	OpLESetScanResponseData:             "LE Set Scan Response Data",
	OpLESetAdvertisingEnable:            "LE Set Advertising Enable",
	OpLESetScanParameters:               "LE Set Scan Parameters",
	OpLESetScanEnable:                   "LE Set Scan Enable",
	OpLECreateConnection:                "LE Create Connection",
	OpLECreateConnectionCancel:          "LE Create Connection Cancel",
	OpLEConnectionUpdate:                "LE Connection Update",
	OpLESetDataLength:                   "LE Set Data Length",
	OpLEReadSuggestedDefaultDataLength:  "LE Read Suggested Default Data Length",
	OpLEWriteSuggestedDefaultDataLength: "LE Write Suggested Default Data Length",
	OpLEReadMaximumDataLength:           "LE Read Maximum Data Length",
	OpLEReadPHY:                         "LE Read PHY",
	OpLESetDefaultPHY:                   "LE Set Default PHY",
	OpLESetPHY:                          "LE Set PHY",
	OpLEReadBufferSizeV2:                "LE Read Buffer Size [v2]",
}

// String names the command as the specification does, or gives the
// opcode with its OGF and OCF.
func (o Opcode) String() string {
	if s, ok := opcodeNames[o]; ok {
		return s
	}
	return "opcode 0x" + hex4(uint16(o)) + " (OGF 0x" + hex2(o.OGF()) + ", OCF 0x" + hex4(o.OCF())[1:] + ")"
}
