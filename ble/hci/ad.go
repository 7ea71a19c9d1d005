package hci

import "fmt"

// Advertising and scan response data (Core v5.4 Vol 3 Part C §11): a
// sequence of AD structures, each
//
//	Length (1) | AD Type (1) | AD Data (Length-1)
//
// where Length counts the type and the data. A Length of zero ends the
// significant part early; what follows is padding. The data formats are in
// the Core Specification Supplement (CSS), Part A; the type codes in
// Assigned Numbers (Common Data Types).

// ADType is an AD structure's type.
type ADType uint8

// AD types this package builds or looks for.
const (
	ADFlags              ADType = 0x01 // CSS Part A §1.3
	ADIncompleteUUID16s  ADType = 0x02 // CSS Part A §1.1
	ADCompleteUUID16s    ADType = 0x03
	ADShortenedLocalName ADType = 0x08 // CSS Part A §1.2
	ADCompleteLocalName  ADType = 0x09
	ADTxPowerLevel       ADType = 0x0A // CSS Part A §1.5
	ADServiceData16      ADType = 0x16 // CSS Part A §1.11
	ADManufacturerData   ADType = 0xFF // CSS Part A §1.4
)

// Flags AD bits (CSS Part A §1.3).
const (
	ADFlagLELimitedDiscoverable uint8 = 0x01
	ADFlagLEGeneralDiscoverable uint8 = 0x02
	ADFlagBREDRNotSupported     uint8 = 0x04
)

// UUIDInternetProtocolSupport is the 16-bit UUID of the Internet Protocol
// Support Service (IPSS), which an IPSP node advertises (Bluetooth IPSP
// v1.0; Assigned Numbers, 16-bit UUIDs).
const UUIDInternetProtocolSupport uint16 = 0x1820

// ADStructure is one AD structure; Data is a view of the advertising data.
type ADStructure struct {
	Type ADType
	Data []byte
}

// ADIterator steps through the AD structures of advertising or scan
// response data, checking each length. Make one with IterateAD.
type ADIterator struct {
	b   []byte
	off int
}

// IterateAD returns an iterator over ad.
func IterateAD(ad []byte) ADIterator { return ADIterator{b: ad} }

// Next returns the next AD structure. done is true after the last (at the
// end of the data or at a zero Length); err (ErrMalformed) reports a Length
// that overruns the data, after which done is true too.
func (it *ADIterator) Next() (s ADStructure, done bool, err error) {
	if it.off >= len(it.b) || it.b[it.off] == 0 {
		it.off = len(it.b)
		return ADStructure{}, true, nil
	}
	n := int(it.b[it.off])
	if it.off+1+n > len(it.b) {
		off := it.off
		it.off = len(it.b)
		return ADStructure{}, true, fmt.Errorf("hci: AD structure at offset %d: length %d overruns the %d octets of data: %w", off, n, len(it.b), ErrMalformed)
	}
	s = ADStructure{Type: ADType(it.b[it.off+1]), Data: it.b[it.off+2 : it.off+1+n : it.off+1+n]}
	it.off += 1 + n
	return s, false, nil
}

// ValidateAD checks every AD structure's length.
func ValidateAD(ad []byte) error {
	it := IterateAD(ad)
	for {
		_, done, err := it.Next()
		if done {
			return err
		}
	}
}

// ADHasUUID16 reports whether ad lists the 16-bit service UUID u, in a
// complete or an incomplete list. It stops at the first malformed
// structure.
func ADHasUUID16(ad []byte, u uint16) bool {
	it := IterateAD(ad)
	for {
		s, done, _ := it.Next()
		if done {
			return false
		}
		if s.Type != ADIncompleteUUID16s && s.Type != ADCompleteUUID16s {
			continue
		}
		for d := s.Data; len(d) >= 2; d = d[2:] {
			if le16(d) == u {
				return true
			}
		}
	}
}

// AppendAD appends an AD structure. More than 254 octets of data do not fit
// its Length (ErrTooLarge).
func AppendAD(b []byte, t ADType, data []byte) ([]byte, error) {
	if len(data) > 254 {
		return b, fmt.Errorf("hci: AD type 0x%02x: %d data octets, at most 254 fit: %w", uint8(t), len(data), ErrTooLarge)
	}
	return append(append(b, byte(1+len(data)), byte(t)), data...), nil
}

// AppendADFlags appends a Flags AD structure (3 octets).
func AppendADFlags(b []byte, flags uint8) []byte { return append(b, 2, byte(ADFlags), flags) }

// AppendADUUID16s appends a Complete List of 16-bit Service UUIDs. More
// than 127 UUIDs do not fit (ErrTooLarge).
func AppendADUUID16s(b []byte, uuids ...uint16) ([]byte, error) {
	if len(uuids) > 127 {
		return b, fmt.Errorf("hci: %d 16-bit UUIDs, at most 127 fit an AD structure: %w", len(uuids), ErrTooLarge)
	}
	b = append(b, byte(1+2*len(uuids)), byte(ADCompleteUUID16s))
	for _, u := range uuids {
		b = put16(b, u)
	}
	return b, nil
}

// AppendADName appends a Complete Local Name (UTF-8). More than 254 octets
// do not fit (ErrTooLarge); note that legacy advertising data holds 31
// octets in all, so a name of more than 29 needs the scan response or a
// Shortened Local Name.
func AppendADName(b []byte, name string) ([]byte, error) {
	if len(name) > 254 {
		return b, fmt.Errorf("hci: local name of %d octets, at most 254 fit an AD structure: %w", len(name), ErrTooLarge)
	}
	return append(append(b, byte(1+len(name)), byte(ADCompleteLocalName)), name...), nil
}
