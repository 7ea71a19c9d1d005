package lowpan

import (
	"bytes"
	"testing"
)

// FuzzLoRH: any octets after a page 1 dispatch give a packet or an error,
// never a panic or a write past the buffer; a packet the RFC 8138 decoder
// gives back is valid IPv6 that compresses — with the switch on and off —
// and decompresses to itself. sel picks whether the root's address is
// known and the RPI type.
func FuzzLoRH(f *testing.F) {
	for _, s := range []string{
		"83 05 02 7a 33 3a 80 00 12 34",
		"8c 05 1e 01 23 7a 33 3a 80 00",
		"82 00 0a 0b 0c 93 05 01 7a 00 3a 20010db8000000000000000000000001 20010db800000000000000000000000d 80 00",
		"82 00 0a 0b 0c 93 05 01 a1 06 40 78 00 3a 3f 20010db8ffff00000000000000000005 20010db800000000000000000000000d 80",
		"81 05 1e 03 b1 06 40 20010db8000000000000000000000002 78 00 3a 40 20010db8000000000000000000000077 20010db8ffff00000000000000000009",
		"a3 06 05 00 02 78 00 3a 40 20010db8000000000000000000000077 20010db8000000000000000000000009",
		"80 02 00 0a 00 01 81 00 02 03 7a 00 3a 20010db8000000000000000000000001 20010db800000000000000000000000d",
		"a2 1f aa bb 83 05 02 7a 33 3a", "80 07 7a 33", "a1 06 40 7a 33 3a", "9f 00", "", "41",
	} {
		f.Add(mustHex(f, s), uint8(0))
		f.Add(mustHex(f, s), uint8(1))
	}
	out := make([]byte, 256)
	for i, c := range lorhCases(f) {
		z := Compressor{Contexts: c.table, LoRH: true}
		if n, err := z.Compress(out, c.pkt, extSrc, extDst); err == nil && out[0] == DispatchPage1 {
			f.Add(bytes.Clone(out[1:n]), uint8(i))
		}
	}
	tables := [4]*ContextTable{lorhTable(f, lorhRoot, 0), lorhTable(f, "", 0), lorhTable(f, lorhRoot, 0x23), lorhTable(f, "fd00::1", 0x23)}
	f.Fuzz(func(t *testing.T, in []byte, sel uint8) {
		ct := tables[sel%4]
		src, dst := fuzzLinkAddrs(sel / 4)
		frame := append([]byte{DispatchPage1}, in...)
		pkt := make([]byte, 4096)
		n, err := Decompress(pkt, frame, src, dst, ct)
		if err != nil {
			return
		}
		pkt = pkt[:n]
		if err := validIPv6(pkt); err != nil {
			t.Fatalf("decompressed to invalid IPv6 (%v): % x", err, pkt)
		}
		for _, on := range []bool{true, false} {
			z := Compressor{Contexts: ct, LoRH: on}
			enc := make([]byte, 4096)
			m, err := z.Compress(enc, pkt, src, dst)
			if err != nil {
				t.Fatalf("LoRH %t: compress % x: %v", on, pkt, err)
			}
			back := make([]byte, 4096)
			k, err := Decompress(back, enc[:m], src, dst, ct)
			if err != nil {
				t.Fatalf("LoRH %t: decompress our own % x: %v", on, enc[:m], err)
			}
			if !bytes.Equal(back[:k], pkt) {
				t.Fatalf("LoRH %t: round trip\n  in % x\npkt % x\nenc % x\ngot % x", on, frame, pkt, enc[:m], back[:k])
			}
		}
	})
}
