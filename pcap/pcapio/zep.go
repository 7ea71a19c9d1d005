package pcapio

import (
	"encoding/binary"
	"fmt"
	"time"
)

// ZEP constants, as Wireshark's packet-zep.c defines the protocol.
const (
	ZEPPort = 17754 // UDP port Wireshark dissects as ZEP

	ZEPTypeData = 1 // v2 data: 32-byte header + PSDU
	ZEPTypeAck  = 2 // v2 ack: 8 bytes, sequence number only

	ZEPv1HeaderLen = 16
	ZEPv2HeaderLen = 32
	ZEPv2AckLen    = 8

	// ZEPMaxPSDU is the largest PSDU the 7-bit length field describes
	// (IEEE 802.15.4 aMaxPhyPacketSize).
	ZEPMaxPSDU = 127
)

// ZEP header offsets. v1 and v2 data share the layout after the preamble
// and version, shifted by the v2 Type byte; Wireshark's packet-zep.c:
//
//	v1:      |"EX"|Ver=1|Chan|DevID(2)|Mode|LQI|Reserved(7) |Len|
//	v2 data: |"EX"|Ver=2|Type=1|Chan|DevID(2)|Mode|LQI|NTP(8)|Seq(4)|Reserved(10)|Len|
//	v2 ack:  |"EX"|Ver=2|Type=2|Seq(4)|
//
// Multi-byte fields are big-endian. Len is the PSDU length in its low 7
// bits; the PSDU follows the header.
const (
	zepOffVersion = 2

	zepV1OffChannel  = 3
	zepV1OffDeviceID = 4
	zepV1OffMode     = 6
	zepV1OffLQI      = 7
	zepV1OffLength   = 15

	zepV2OffType     = 3
	zepV2OffChannel  = 4
	zepV2OffDeviceID = 5
	zepV2OffMode     = 7
	zepV2OffLQI      = 8
	zepV2OffTime     = 9
	zepV2OffSeq      = 17
	zepV2OffLength   = 31
	zepV2AckOffSeq   = 4

	zepLengthMask = 0x7f
)

// ZEP is a decoded ZigBee Encapsulation Protocol message (version 1 or 2).
// Decode fills it without allocating; PSDU is a view into the decoded
// buffer.
type ZEP struct {
	// Version is 1 or 2. AppendZEP always writes version 2.
	Version uint8
	// Type is ZEPTypeData or ZEPTypeAck. Version 1 carries only data and
	// has no type byte; Decode reports it as ZEPTypeData.
	Type uint8
	// Channel is the IEEE 802.15.4 channel (11–26 on 2.4 GHz). Data only.
	Channel uint8
	// DeviceID identifies the sniffer or node that sent the message. Data only.
	DeviceID uint16
	// LQIMode is Wireshark's "LQI/CRC Mode" flag, named for the field
	// (zep.lqi_mode); confusingly, true means CRC mode: the last two PSDU
	// bytes are the IEEE 802.15.4 FCS, to be verified as usual. False means
	// LQI mode: they are TI CC24xx metadata (RSSI, then CRC-OK bit 7 and
	// correlation bits 0–6) and there is no FCS. Use HasFCS. Data only.
	LQIMode bool
	// LQI is the link quality byte. Wireshark shows it only in LQI mode
	// (v2), but it is carried and returned in both. Data only.
	LQI uint8
	// Timestamp is the v2 NTP timestamp in UTC; the zero Time when the
	// field is all zeros (NTP's "unknown"), and always for version 1 and acks.
	Timestamp time.Time
	// Seq is the v2 sequence number (data and ack); 0 for version 1.
	Seq uint32
	// PSDU is the encapsulated IEEE 802.15.4 frame, a view into the buffer
	// given to Decode; nil for an ack.
	PSDU []byte
}

// HasFCS reports whether the last two bytes of PSDU are an IEEE 802.15.4
// FCS (CRC mode), as opposed to CC24xx RSSI/LQI metadata (LQI mode).
func (z *ZEP) HasFCS() bool { return z.LQIMode }

// Len returns the length AppendZEP writes for z.
func (z *ZEP) Len() int {
	if z.Type == ZEPTypeAck {
		return ZEPv2AckLen
	}
	return ZEPv2HeaderLen + min(len(z.PSDU), ZEPMaxPSDU)
}

// Decode parses a ZEP message (the whole UDP payload) into z. It accepts
// version 1 and version 2 data and ack messages and, as Wireshark does,
// requires the length byte to match the bytes that follow the header
// exactly. Errors wrap ErrMalformed (bad preamble, truncation, length
// mismatch) or ErrUnsupported (other versions or v2 types). Decode does not
// allocate unless it fails.
func (z *ZEP) Decode(b []byte) error {
	*z = ZEP{}
	if len(b) < 4 {
		return fmt.Errorf("pcapio: ZEP message of %d bytes is truncated: %w", len(b), ErrMalformed)
	}
	if b[0] != 'E' || b[1] != 'X' {
		return fmt.Errorf("pcapio: ZEP preamble % x, want \"EX\": %w", b[:2], ErrMalformed)
	}
	var hdrLen int
	var length byte
	switch v := b[zepOffVersion]; v {
	case 1:
		if len(b) < ZEPv1HeaderLen {
			return fmt.Errorf("pcapio: ZEP v1 message of %d bytes is shorter than its %d-byte header: %w",
				len(b), ZEPv1HeaderLen, ErrMalformed)
		}
		z.Version, z.Type = 1, ZEPTypeData
		z.Channel = b[zepV1OffChannel]
		z.DeviceID = binary.BigEndian.Uint16(b[zepV1OffDeviceID:])
		z.LQIMode = b[zepV1OffMode] != 0
		z.LQI = b[zepV1OffLQI]
		hdrLen, length = ZEPv1HeaderLen, b[zepV1OffLength]&zepLengthMask
	case 2:
		switch t := b[zepV2OffType]; t {
		case ZEPTypeAck:
			if len(b) != ZEPv2AckLen {
				return fmt.Errorf("pcapio: ZEP v2 ack of %d bytes, want %d: %w", len(b), ZEPv2AckLen, ErrMalformed)
			}
			z.Version, z.Type = 2, ZEPTypeAck
			z.Seq = binary.BigEndian.Uint32(b[zepV2AckOffSeq:])
			return nil
		case ZEPTypeData:
			if len(b) < ZEPv2HeaderLen {
				return fmt.Errorf("pcapio: ZEP v2 message of %d bytes is shorter than its %d-byte header: %w",
					len(b), ZEPv2HeaderLen, ErrMalformed)
			}
			z.Version, z.Type = 2, ZEPTypeData
			z.Channel = b[zepV2OffChannel]
			z.DeviceID = binary.BigEndian.Uint16(b[zepV2OffDeviceID:])
			z.LQIMode = b[zepV2OffMode] != 0
			z.LQI = b[zepV2OffLQI]
			z.Timestamp = ntpToTime(binary.BigEndian.Uint64(b[zepV2OffTime:]))
			z.Seq = binary.BigEndian.Uint32(b[zepV2OffSeq:])
			hdrLen, length = ZEPv2HeaderLen, b[zepV2OffLength]&zepLengthMask
		default:
			return fmt.Errorf("pcapio: ZEP v2 type %d: %w", t, ErrUnsupported)
		}
	default:
		return fmt.Errorf("pcapio: ZEP version %d: %w", v, ErrUnsupported)
	}
	psdu := b[hdrLen:]
	if int(length) != len(psdu) {
		*z = ZEP{}
		return fmt.Errorf("pcapio: ZEP length byte %d but %d bytes follow the header: %w", length, len(psdu), ErrMalformed)
	}
	z.PSDU = psdu
	return nil
}

// AppendZEP appends z to b as a ZEP version 2 message: an 8-byte ack when
// z.Type is ZEPTypeAck, otherwise a data message (type 1) with the NTP form
// of z.Timestamp (all zeros for the zero Time). Version is ignored. A PSDU
// longer than ZEPMaxPSDU is cut to it, since the length field cannot say
// more; callers that care check first.
func AppendZEP(b []byte, z *ZEP) []byte {
	if z.Type == ZEPTypeAck {
		b = append(b, 'E', 'X', 2, ZEPTypeAck)
		return binary.BigEndian.AppendUint32(b, z.Seq)
	}
	psdu := z.PSDU[:min(len(z.PSDU), ZEPMaxPSDU)]
	var mode byte
	if z.LQIMode {
		mode = 1
	}
	b = append(b, 'E', 'X', 2, ZEPTypeData, z.Channel, byte(z.DeviceID>>8), byte(z.DeviceID), mode, z.LQI)
	b = binary.BigEndian.AppendUint64(b, timeToNTP(z.Timestamp))
	b = binary.BigEndian.AppendUint32(b, z.Seq)
	var reserved [10]byte
	b = append(b, reserved[:]...)
	b = append(b, byte(len(psdu)))
	return append(b, psdu...)
}

// NTP timestamps (RFC 5905 §6): 32 bits of seconds since 1900-01-01 and 32
// bits of fraction. RFC 4330 §3 extends the range: seconds with the top bit
// clear are in era 1, from 2036-02-07.
const (
	ntpToUnix   = 2208988800 // seconds from 1900-01-01 to 1970-01-01
	ntpEra1Unix = 1<<32 - ntpToUnix
)

// ntpToTime converts a 64-bit NTP timestamp; 0 (NTP's "unknown") gives the
// zero Time.
func ntpToTime(ntp uint64) time.Time {
	if ntp == 0 {
		return time.Time{}
	}
	sec := int64(ntp >> 32)
	if sec&0x80000000 != 0 {
		sec -= ntpToUnix
	} else {
		sec += ntpEra1Unix
	}
	ns := (ntp & 0xffffffff) * 1e9 >> 32
	return time.Unix(sec, int64(ns)).UTC()
}

// timeToNTP converts t to a 64-bit NTP timestamp; the zero Time gives 0.
// Times outside 1968–2104 wrap modulo the 136-year NTP era. The fraction is
// rounded up so that ntpToTime, which rounds down, returns the same
// nanosecond.
func timeToNTP(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	sec := uint32(t.Unix() + ntpToUnix)
	frac := (uint64(t.Nanosecond())<<32 + 1e9 - 1) / 1e9
	if ntp := uint64(sec)<<32 | frac; ntp != 0 {
		return ntp
	}
	// 2036-02-07T06:28:16Z, the start of era 1, would encode as 0, which
	// means "unknown"; 2^-32 s later reads back as the same nanosecond.
	return 1
}
