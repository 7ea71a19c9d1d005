package ieee802154

import "encoding/binary"

// FCS returns the frame check sequence of data (2006 §7.2.1.9; 2015
// §7.2.10): the ITU-T CRC-16 with generator x^16 + x^12 + x^5 + 1 and a
// zero initial remainder, computed over the bits in the order they are sent
// (least-significant bit of each octet first). In the usual catalogue that
// is CRC-16/KERMIT: reflected polynomial 0x8408, init 0, no final XOR. The
// value goes on the air low byte first.
//
// It reads eight octets per step ("slicing-by-8": eight table lookups that
// do not depend on one another instead of eight that do), which is what
// makes the FCS of a 13-frame datagram cost well under a microsecond; a
// 1280-octet datagram is ~1,650 octets of PSDU each way.
func FCS(data []byte) uint16 {
	var crc uint16
	t := &fcsTables
	for len(data) >= 8 {
		// The register is reflected: its low octet meets the first data
		// octet, its high octet the second.
		v := binary.LittleEndian.Uint64(data) ^ uint64(crc)
		crc = t[7][byte(v)] ^ t[6][byte(v>>8)] ^ t[5][byte(v>>16)] ^ t[4][byte(v>>24)] ^
			t[3][byte(v>>32)] ^ t[2][byte(v>>40)] ^ t[1][byte(v>>48)] ^ t[0][byte(v>>56)]
		data = data[8:]
	}
	for _, c := range data {
		crc = crc>>8 ^ t[0][byte(crc)^c]
	}
	return crc
}

// fcsTables[0][i] is the CRC register after shifting the byte i through it,
// one bit at a time, least-significant bit first; fcsTables[k][i] is the
// same followed by k zero octets, so that the contribution of an octet k
// positions before the end of an 8-octet block is one lookup.
var fcsTables = func() (t [8][256]uint16) {
	const poly = 0x8408 // 0x1021 bit-reversed
	for i := range t[0] {
		crc := uint16(i)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for k := 1; k < len(t); k++ {
		for i := range t[k] {
			p := t[k-1][i]
			t[k][i] = p>>8 ^ t[0][byte(p)]
		}
	}
	return t
}()
