package ieee802154

import "testing"

func TestFCS(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want uint16
	}{
		// The catalogue check value of CRC-16/KERMIT.
		{"123456789", []byte("123456789"), 0x2189},
		{"empty", nil, 0x0000},
		// One octet 0x01, by hand: register 0x0001; shift 1 (LSB 1):
		// 0x0000^0x8408 = 0x8408; shifts 2-4 (LSB 0): 0x4204, 0x2102,
		// 0x1081; shift 5 (LSB 1): 0x0840^0x8408 = 0x8c48; shifts 6-8:
		// 0x4624, 0x2312, 0x1189.
		{"0x01", []byte{0x01}, 0x1189},
		// A frame with its FCS appended leaves a zero register (a reflected
		// CRC with zero init and no final XOR has residue 0).
		{"gen_iphc frame 1 (with FCS) residue", mustHex("41cc01cdab11100f0e0d0c0b0aefcdab78563412027e33f012341633" +
			"64db68656c6c6f2d366c6f7770616ecb95"), 0x0000},
		// gen_iphc_fcs.pcap frame 1: tshark shows "FCS: 0x95cb (Correct)".
		{"gen_iphc frame 1", mustHex("41cc01cdab11100f0e0d0c0b0aefcdab78563412027e33f012341633" +
			"64db68656c6c6f2d366c6f7770616e"), 0x95cb},
	}
	for _, tc := range tests {
		if got := FCS(tc.data); got != tc.want {
			t.Errorf("%s: FCS = %#04x, want %#04x", tc.name, got, tc.want)
		}
	}
}

// TestFCSBitwise checks the table against a direct bit-serial computation
// of the ITU-T CRC over the bits in air order.
func TestFCSBitwise(t *testing.T) {
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i*37 + 11)
	}
	for n := range data {
		var crc uint16
		for _, c := range data[:n] {
			for bit := range 8 {
				in := uint16(c>>bit) & 1
				fb := (crc ^ in) & 1
				crc >>= 1
				if fb != 0 {
					crc ^= 0x8408
				}
			}
		}
		if got := FCS(data[:n]); got != crc {
			t.Fatalf("FCS(%d bytes) = %#04x, bit-serial %#04x", n, got, crc)
		}
	}
}

// fcsBitSerial is the ITU-T CRC computed bit by bit in air order, written
// from the standard's description, independently of the tables.
func fcsBitSerial(data []byte) uint16 {
	var crc uint16
	for _, c := range data {
		for bit := range 8 {
			fb := (crc ^ uint16(c>>bit)) & 1
			crc >>= 1
			if fb != 0 {
				crc ^= 0x8408
			}
		}
	}
	return crc
}

// FuzzFCS: the sliced computation agrees with the bit-serial one on any
// input, of any length and alignment.
func FuzzFCS(f *testing.F) {
	f.Add([]byte("123456789"))
	f.Add([]byte{})
	f.Add(make([]byte, 127))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := FCS(b), fcsBitSerial(b); got != want {
			t.Fatalf("FCS(% x) = %#04x, bit-serial %#04x", b, got, want)
		}
	})
}

// BenchmarkFCS: one full-size PSDU (125 octets before the FCS).
func BenchmarkFCS(b *testing.B) {
	data := make([]byte, MaxPSDU-fcsLen)
	for i := range data {
		data[i] = byte(i * 13)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_ = FCS(data)
	}
}
