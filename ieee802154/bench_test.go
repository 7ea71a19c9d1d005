package ieee802154

import (
	"bytes"
	"testing"
)

func benchExtExtFrame(tb testing.TB) []byte {
	tb.Helper()
	h := Header{Type: FrameData, Version: Version2006, AckRequest: true, Seq: 7, DstPAN: 0xabcd, SrcPAN: 0xabcd,
		Dst: ExtAddress(extB), Src: ExtAddress(extA)}
	b, err := AppendFrame(nil, &h, bytes.Repeat([]byte{0x5a}, 80), true)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkDecodeData(b *testing.B) {
	psdu := benchExtExtFrame(b)
	var f Frame
	b.ReportAllocs()
	b.SetBytes(int64(len(psdu)))
	for b.Loop() {
		if err := f.Decode(psdu, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	h := Header{Type: FrameData, Version: Version2006, AckRequest: true, Seq: 7, DstPAN: 0xabcd, SrcPAN: 0xabcd,
		Dst: ExtAddress(extB), Src: ExtAddress(extA)}
	payload := bytes.Repeat([]byte{0x5a}, 80)
	buf := make([]byte, 0, MaxPSDU)
	b.ReportAllocs()
	for b.Loop() {
		out, err := AppendFrame(buf[:0], &h, payload, true)
		if err != nil || len(out) == 0 {
			b.Fatal(err)
		}
	}
}

// TestZeroAllocs: the per-packet path allocates nothing, on success and on
// the common failures (bad FCS, malformed IEs) alike.
func TestZeroAllocs(t *testing.T) {
	good := benchExtExtFrame(t)
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 0xff
	inputs := []struct {
		name   string
		psdu   []byte
		hasFCS bool
	}{
		{"ext/ext data", good, true},
		{"bad FCS", bad, true},
		{"IEs and MIC", cat(append([]byte{0x49}, ieHdr[1:]...), []byte{0x09}, ctr01020304, []byte{0x01},
			ieTimeCorr, ieHT1, ieMLME, iePT, []byte("hi"), mic4), false},
		{"bad IE", cat(ieHdr, []byte{0x05, 0x0f, 0x34, 0x12}), false},
		{"truncated", good[:10], false},
	}
	var f Frame
	for _, in := range inputs {
		if n := testing.AllocsPerRun(100, func() { _ = f.Decode(in.psdu, in.hasFCS) }); n != 0 {
			t.Errorf("Decode(%s): %v allocs, want 0", in.name, n)
		}
	}
	h := Header{Type: FrameData, Version: Version2015, SecurityEnabled: true, DstPAN: 1, SrcPAN: 1,
		Dst: ShortAddress(2), Src: ExtAddress(extA), Security: AuxSecurityHeader{Level: 7, KeyIDMode: 3}}
	buf := make([]byte, 0, MaxPSDU)
	payload := []byte("payload")
	if n := testing.AllocsPerRun(100, func() { _, _ = AppendFrame(buf[:0], &h, payload, true) }); n != 0 {
		t.Errorf("AppendFrame: %v allocs, want 0", n)
	}
	var hb [64]byte
	if n := testing.AllocsPerRun(100, func() { _, _ = h.Encode(hb[:]) }); n != 0 {
		t.Errorf("Encode: %v allocs, want 0", n)
	}
}
