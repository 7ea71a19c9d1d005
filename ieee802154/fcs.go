package ieee802154

// FCS returns the frame check sequence of data (2006 §7.2.1.9; 2015
// §7.2.10): the ITU-T CRC-16 with generator x^16 + x^12 + x^5 + 1 and a
// zero initial remainder, computed over the bits in the order they are sent
// (least-significant bit of each octet first). In the usual catalogue that
// is CRC-16/KERMIT: reflected polynomial 0x8408, init 0, no final XOR. The
// value goes on the air low byte first.
func FCS(data []byte) uint16 {
	var crc uint16
	for _, c := range data {
		crc = crc>>8 ^ fcsTable[byte(crc)^c]
	}
	return crc
}

// fcsTable[i] is the CRC register after shifting the byte i through it,
// one bit at a time, least-significant bit first.
var fcsTable = func() (t [256]uint16) {
	const poly = 0x8408 // 0x1021 bit-reversed
	for i := range t {
		crc := uint16(i)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
		t[i] = crc
	}
	return t
}()
