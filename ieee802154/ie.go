package ieee802154

import (
	"encoding/binary"
	"fmt"
)

// IE descriptors are two octets, little-endian (2015 §7.4.2,
// §7.4.3):
//
//	header IE:  bits 0–6 length | bits 7–14 element ID | bit 15 type (0)
//	payload IE: bits 0–10 length | bits 11–14 group ID | bit 15 type (1)
const (
	ieDescriptorLen     = 2
	ieTypePayload       = 1 << 15
	headerIELenMask     = 0x007f
	headerIEIDShift     = 7
	headerIEIDMask      = 0xff
	payloadIELenMask    = 0x07ff
	payloadIEGroupShift = 11
	payloadIEGroupMask  = 0x0f
	MaxHeaderIEContent  = headerIELenMask  // 127 octets
	MaxPayloadIEContent = payloadIELenMask // 2047 octets
	maxPayloadIEGroupID = payloadIEGroupMask
)

// Header IE element IDs this package interprets (2015 §7.4.2).
const (
	HeaderIEHT1 uint8 = 0x7e // header termination 1: payload IEs follow
	HeaderIEHT2 uint8 = 0x7f // header termination 2: frame payload follows
)

// Payload IE group IDs (2015 §7.4.3).
const (
	PayloadIEGroupESDU        uint8 = 0x0
	PayloadIEGroupMLME        uint8 = 0x1
	PayloadIEGroupVendor      uint8 = 0x2
	PayloadIEGroupTermination uint8 = 0xf
)

func headerIEID(d uint16) uint8     { return uint8(d >> headerIEIDShift & headerIEIDMask) }
func headerIELen(d uint16) int      { return int(d & headerIELenMask) }
func payloadIEGroup(d uint16) uint8 { return uint8(d >> payloadIEGroupShift & payloadIEGroupMask) }
func payloadIELen(d uint16) int     { return int(d & payloadIELenMask) }

var (
	errIETruncDescriptor = fmt.Errorf("ieee802154: IE list ends inside a descriptor: %w", ErrBadIE)
	errIEOverrun         = fmt.Errorf("ieee802154: IE length runs past the end of the IE list: %w", ErrBadIE)
	errIETermLen         = fmt.Errorf("ieee802154: termination IE with non-zero length (2015 §7.4.1): %w", ErrBadIE)
	errIEPayloadInHeader = fmt.Errorf("ieee802154: payload IE before header termination HT1 (2015 §7.4.1): %w", ErrBadIE)
	errIEHeaderInPayload = fmt.Errorf("ieee802154: header IE among payload IEs: %w", ErrBadIE)
	errIEMissing         = fmt.Errorf("ieee802154: IE Present set but the frame holds no IE (2015 §7.2.1.7): %w", ErrBadIE)
	errIEContentTooLong  = fmt.Errorf("ieee802154: IE content longer than its length field allows: %w", ErrTooLong)
	errIEGroupRange      = fmt.Errorf("ieee802154: payload IE group ID out of range 0-15: %w", ErrInvalid)
)

// HeaderIE is one header IE: its element ID and a view of its content.
type HeaderIE struct {
	ID      uint8
	Content []byte
}

// PayloadIE is one payload IE: its group ID and a view of its content
// (for the MLME group, a list of nested sub-IEs).
type PayloadIE struct {
	GroupID uint8
	Content []byte
}

// HeaderIEIterator walks a list of header IEs such as Frame.HeaderIEs.
type HeaderIEIterator struct{ rest []byte }

// NewHeaderIEIterator returns an iterator over the header IEs in b.
func NewHeaderIEIterator(b []byte) HeaderIEIterator { return HeaderIEIterator{rest: b} }

// Next returns the next IE; done is true when the list is exhausted. A
// malformed list yields ErrBadIE and ends the walk.
func (it *HeaderIEIterator) Next() (ie HeaderIE, done bool, err error) {
	if len(it.rest) == 0 {
		return HeaderIE{}, true, nil
	}
	if len(it.rest) < ieDescriptorLen {
		it.rest = nil
		return HeaderIE{}, true, errIETruncDescriptor
	}
	d := binary.LittleEndian.Uint16(it.rest)
	if d&ieTypePayload != 0 {
		it.rest = nil
		return HeaderIE{}, true, errIEPayloadInHeader
	}
	n := headerIELen(d)
	if n > len(it.rest)-ieDescriptorLen {
		it.rest = nil
		return HeaderIE{}, true, errIEOverrun
	}
	ie = HeaderIE{ID: headerIEID(d), Content: it.rest[ieDescriptorLen : ieDescriptorLen+n]}
	it.rest = it.rest[ieDescriptorLen+n:]
	return ie, false, nil
}

// PayloadIEIterator walks a list of payload IEs such as Frame.PayloadIEs.
type PayloadIEIterator struct{ rest []byte }

// NewPayloadIEIterator returns an iterator over the payload IEs in b.
func NewPayloadIEIterator(b []byte) PayloadIEIterator { return PayloadIEIterator{rest: b} }

// Next returns the next IE; done is true when the list is exhausted. A
// malformed list yields ErrBadIE and ends the walk.
func (it *PayloadIEIterator) Next() (ie PayloadIE, done bool, err error) {
	if len(it.rest) == 0 {
		return PayloadIE{}, true, nil
	}
	if len(it.rest) < ieDescriptorLen {
		it.rest = nil
		return PayloadIE{}, true, errIETruncDescriptor
	}
	d := binary.LittleEndian.Uint16(it.rest)
	if d&ieTypePayload == 0 {
		it.rest = nil
		return PayloadIE{}, true, errIEHeaderInPayload
	}
	n := payloadIELen(d)
	if n > len(it.rest)-ieDescriptorLen {
		it.rest = nil
		return PayloadIE{}, true, errIEOverrun
	}
	ie = PayloadIE{GroupID: payloadIEGroup(d), Content: it.rest[ieDescriptorLen : ieDescriptorLen+n]}
	it.rest = it.rest[ieDescriptorLen+n:]
	return ie, false, nil
}

// AppendHeaderIE appends a header IE with element ID id and the given
// content (at most MaxHeaderIEContent octets) to b. Use it with HeaderIEHT1
// or HeaderIEHT2 and no content for the termination IEs.
func AppendHeaderIE(b []byte, id uint8, content []byte) ([]byte, error) {
	if len(content) > MaxHeaderIEContent {
		return b, errIEContentTooLong
	}
	d := uint16(len(content)) | uint16(id)<<headerIEIDShift
	b = binary.LittleEndian.AppendUint16(b, d)
	return append(b, content...), nil
}

// AppendPayloadIE appends a payload IE of group group (0–15) with the given
// content (at most MaxPayloadIEContent octets) to b. Use it with
// PayloadIEGroupTermination and no content for the termination IE.
func AppendPayloadIE(b []byte, group uint8, content []byte) ([]byte, error) {
	if group > maxPayloadIEGroupID {
		return b, errIEGroupRange
	}
	if len(content) > MaxPayloadIEContent {
		return b, errIEContentTooLong
	}
	d := ieTypePayload | uint16(len(content)) | uint16(group)<<payloadIEGroupShift
	b = binary.LittleEndian.AppendUint16(b, d)
	return append(b, content...), nil
}
