package l2cap

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// CID is an L2CAP channel identifier: the endpoint of a channel on one
// device (Vol 3 Part A §2.1).
type CID uint16

// LE-U channel identifiers (Vol 3 Part A §2.1, Table 2.3).
const (
	CIDATT          CID = 0x0004 // Attribute protocol (fixed)
	CIDLESignaling  CID = 0x0005 // LE signalling channel (fixed)
	CIDSMP          CID = 0x0006 // Security Manager protocol (fixed)
	CIDDynamicFirst CID = 0x0040 // first dynamically allocated CID on LE-U
	CIDDynamicLast  CID = 0x007F // last dynamically allocated CID on LE-U
)

// IsDynamic reports whether c is in the LE-U dynamically allocated range
// 0x0040–0x007F, the only range an LE credit based channel may use (Vol 3
// Part A §4.22, Source CID).
func (c CID) IsDynamic() bool { return c >= CIDDynamicFirst && c <= CIDDynamicLast }

func (c CID) String() string {
	switch c {
	case CIDATT:
		return "ATT"
	case CIDLESignaling:
		return "LE signalling"
	case CIDSMP:
		return "SMP"
	}
	return "0x" + strconv.FormatUint(uint64(c)|0x10000, 16)[1:]
}

// PSM is an LE protocol/service multiplexer (SPSM): the service an LE
// credit based connection request asks for (Vol 3 Part A §4.22).
type PSM uint16

// PSMs.
const (
	// PSMIPSP is the Internet Protocol Support Profile's LE PSM (RFC 7668
	// §2.2; Bluetooth Assigned Numbers).
	PSMIPSP PSM = 0x0023
	// PSMFirst and PSMLast bound the LE PSM range: 0x0001–0x007F are
	// SIG-assigned, 0x0080–0x00FF dynamic (Vol 3 Part A §4.22, LE_PSM).
	PSMFirst PSM = 0x0001
	PSMLast  PSM = 0x00FF
)

// Valid reports whether p is in the LE PSM range 0x0001–0x00FF.
func (p PSM) Valid() bool { return p >= PSMFirst && p <= PSMLast }

func (p PSM) String() string {
	if p == PSMIPSP {
		return "IPSP"
	}
	return "0x" + strconv.FormatUint(uint64(p)|0x10000, 16)[1:]
}

// Basic L2CAP header layout (Vol 3 Part A §3.1, Figure 3.1).
const (
	pduLengthOffset = 0
	pduCIDOffset    = 2
	// HeaderLen is the basic L2CAP header: Length (2 octets) and Channel
	// ID (2 octets), both little-endian.
	HeaderLen = 4
	// MaxPayload is the largest information payload a Length field can
	// announce.
	MaxPayload = 0xFFFF
)

// PDU is an L2CAP basic frame (B-frame), the unit the HCI host carries in
// ACL data packets (Vol 3 Part A §3.1, Figure 3.1):
//
//	 0               1               2               3
//	+-------------------------------+-------------------------------+
//	|        Length (LE)            |       Channel ID (LE)         |
//	+-------------------------------+-------------------------------+
//	|   Information payload (Length octets) ...
//	+---------------------------------
//
// Length counts the information payload only. On the LE signalling channel
// the payload is one signalling command (a C-frame); on an LE credit based
// channel it is a K-frame's payload (§3.4). The accessors trust the bounds
// ParsePDU checked.
type PDU []byte

// ParsePDU checks that b is exactly one B-frame — a header whose Length
// field counts the rest of b — and returns it as a PDU view (no copy). The
// HCI host must have reassembled the ACL fragments of the PDU first.
func ParsePDU(b []byte) (PDU, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("l2cap: PDU of %d octets, header needs %d: %w", len(b), HeaderLen, ErrTruncated)
	}
	n := int(binary.LittleEndian.Uint16(b[pduLengthOffset:]))
	if n != len(b)-HeaderLen {
		return nil, fmt.Errorf("l2cap: PDU length field %d, payload %d octets: %w", n, len(b)-HeaderLen, ErrBadLength)
	}
	return PDU(b), nil
}

// Length is the Length field: octets of information payload.
func (p PDU) Length() uint16 { return binary.LittleEndian.Uint16(p[pduLengthOffset:]) }

// CID is the destination channel's identifier on the receiving device.
func (p PDU) CID() CID { return CID(binary.LittleEndian.Uint16(p[pduCIDOffset:])) }

// Payload is the information payload.
func (p PDU) Payload() []byte { return p[HeaderLen:] }

// AppendPDUHeader appends a basic L2CAP header announcing length octets of
// payload for cid.
func AppendPDUHeader(b []byte, length uint16, cid CID) []byte {
	b = binary.LittleEndian.AppendUint16(b, length)
	return binary.LittleEndian.AppendUint16(b, uint16(cid))
}

// AppendPDU appends a B-frame carrying payload on cid. A payload longer
// than MaxPayload cannot be framed: AppendPDU returns b unchanged and
// ErrBadLength.
func AppendPDU(b []byte, cid CID, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return b, fmt.Errorf("l2cap: payload of %d octets above %d: %w", len(payload), MaxPayload, ErrBadLength)
	}
	b = AppendPDUHeader(b, uint16(len(payload)), cid)
	return append(b, payload...), nil
}
