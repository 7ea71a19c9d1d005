package lowpan

import (
	"testing"
	"time"
)

// One IPHC+UDP frame (gen_iphc frame 1: addresses elided, ports inline)
// decompressed into an IPv6 packet.
func BenchmarkDecompressIPHCUDP(b *testing.B) {
	frame := append(mustHex(b, "7e33f01234163364db"), hello...)
	out := make([]byte, 1280)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decompress(out, frame, extSrc, extDst, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The same with context-based addresses (gen_iphc frame 5), which takes
// the context table's read lock.
func BenchmarkDecompressIPHCUDPContext(b *testing.B) {
	frame := append(mustHex(b, "7ee7100042f003e807d09ed8"), hello...)
	ctx := testContexts(b)
	out := make([]byte, 1280)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decompress(out, frame, extSrc, extDst, ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// A 1280-octet UDP datagram compressed and fragmented into 802.15.4
// payloads for an extended/extended frame with one PAN ID (104 octets).
func BenchmarkCompressFragment1280(b *testing.B) {
	ctx := testContexts(b)
	z := &Compressor{Contexts: ctx}
	pkt := udp1280(b, 0)
	scratch := make([]byte, ScratchSize)
	opts := &EncodeOptions{MaxPayload: 104}
	frames := 0
	emit := func(f []byte) error { frames++; return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := z.Encode(scratch, pkt, extSrc, extDst, opts, emit); err != nil {
			b.Fatal(err)
		}
	}
}

// A 1280-octet datagram reassembled from its fragments.
func BenchmarkReassemble1280(b *testing.B) {
	ctx := testContexts(b)
	z := &Compressor{Contexts: ctx}
	pkt := udp1280(b, 0)
	frames := fragmentsOf(b, z, pkt, extSrc, extDst, 104, 1)
	hdrs := make([]Headers, len(frames))
	for i, f := range frames {
		if err := ParseHeaders(f, &hdrs[i]); err != nil {
			b.Fatal(err)
		}
	}
	r, _ := NewReassembler(ReassemblyConfig{}, ctx)
	out := make([]byte, 2048)
	now := time.Unix(0, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		for i := range hdrs {
			n, err := r.Add(now, out, extSrc, extDst, &hdrs[i])
			if err != nil || (n > 0) != (i == len(hdrs)-1) {
				b.Fatalf("fragment %d: n=%d err=%v", i, n, err)
			}
		}
	}
}

// The steady-state per-packet paths do not allocate.
func TestZeroAllocs(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	frame := append(mustHex(t, "7ee7100042f003e807d09ed8"), hello...)
	out := make([]byte, 2048)
	pkt := udp1280(t, 0)
	scratch := make([]byte, ScratchSize)
	opts := &EncodeOptions{MaxPayload: 104}
	emit := func([]byte) error { return nil }
	frames := fragmentsOf(t, z, pkt, extSrc, extDst, 104, 1)
	hdrs := make([]Headers, len(frames))
	for i, f := range frames {
		ParseHeaders(f, &hdrs[i])
	}
	r, _ := NewReassembler(ReassemblyConfig{}, ctx)
	now := time.Unix(0, 0)
	cases := map[string]func(){
		"Decompress": func() { Decompress(out, frame, extSrc, extDst, ctx) },
		"Encode":     func() { z.Encode(scratch, pkt, extSrc, extDst, opts, emit) },
		"ParseHeaders": func() {
			var h Headers
			ParseHeaders(frames[1], &h)
		},
		"Reassemble": func() {
			for i := range hdrs {
				r.Add(now, out, extSrc, extDst, &hdrs[i])
			}
		},
	}
	for name, fn := range cases {
		fn() // warm up: the reassembler allocates its slot buffer once
		if a := testing.AllocsPerRun(100, fn); a != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, a)
		}
	}
}
