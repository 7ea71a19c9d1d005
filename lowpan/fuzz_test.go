package lowpan

import (
	"bytes"
	"testing"
	"time"
)

func fuzzSeeds(f *testing.F) {
	f.Helper()
	for _, s := range []string{
		"7e33f01234163364db", "60332e01234511079c409c41001554c0", "7f33f3125b16",
		"7e7500000000000000aaf3017efb", "7ee7100042f003e807d09ed8", "7f3b01f01633163392",
		"7f3a05010003f016331633928b", "7f39050000fb0001f0163316339193", "41600000000000113f",
		"7e33e1040800000000000000f0b1b2", "7e33ee7f33f3125b16", "7e33e5063a0000000001", "00", "42", "",
		"7f34", "7f3d", "c0000000", "e000000001",
	} {
		f.Add(mustHex(f, s), uint8(0))
	}
	g := newGenerator(99)
	ctx := corpusContextTable(f)
	z := &Compressor{Contexts: ctx}
	out := make([]byte, 2048)
	for i := 0; i < 40; i++ {
		c := g.packet(300)
		if n, err := z.Compress(out, c.pkt, c.src, c.dst); err == nil {
			f.Add(bytes.Clone(out[:n]), uint8(i))
		}
	}
}

// fuzzLinkAddrs derives the two link-layer addresses from a fuzzed byte.
func fuzzLinkAddrs(sel uint8) (LinkAddr, LinkAddr) {
	all := []LinkAddr{extSrc, extDst, ShortLinkAddr(0x0001), ShortLinkAddr(0xffff), BLELinkAddr([6]byte{1, 2, 3, 4, 5, 6}), {}}
	return all[int(sel)%len(all)], all[int(sel/8)%len(all)]
}

// FuzzDecompress: any input gives a packet or an error, never a panic, and
// never writes past the buffer; a packet it gives back is valid IPv6 that
// compresses and decompresses to itself.
func FuzzDecompress(f *testing.F) {
	fuzzSeeds(f)
	ctx := corpusContextTable(f)
	f.Fuzz(func(t *testing.T, in []byte, sel uint8) {
		src, dst := fuzzLinkAddrs(sel)
		out := make([]byte, 4096)
		n, err := Decompress(out, in, src, dst, ctx)
		if err != nil {
			return
		}
		pkt := out[:n]
		if validIPv6(pkt) != nil {
			if in[0] == DispatchIPv6 {
				return // an uncompressed header is passed through as sent
			}
			t.Fatalf("decompressed to invalid IPv6: % x", pkt)
		}
		z := Compressor{Contexts: ctx}
		enc := make([]byte, 4096)
		m, err := z.Compress(enc, pkt, src, dst)
		if err != nil {
			t.Fatalf("recompress: %v", err)
		}
		back := make([]byte, 4096)
		k, err := Decompress(back, enc[:m], src, dst, ctx)
		if err != nil {
			t.Fatalf("decompress of our own encoding % x: %v", enc[:m], err)
		}
		if !bytes.Equal(back[:k], pkt) {
			t.Fatalf("round trip:\n got % x\nwant % x", back[:k], pkt)
		}
	})
}

// FuzzParseHeaders: the dispatch chain parser on any input.
func FuzzParseHeaders(f *testing.F) {
	fuzzSeeds(f)
	f.Add(mustHex(f, "bf0e0102030405060708090a0b0c0d0e0f10507ec0"), uint8(0))
	f.Add(mustHex(f, "8f2001020304c1b842427e33f0"), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, _ uint8) {
		var h Headers
		if err := ParseHeaders(in, &h); err != nil {
			return
		}
		if h.HasMesh {
			b := make([]byte, h.Mesh.Len())
			if _, err := h.Mesh.Encode(b); err != nil {
				t.Fatalf("re-encode mesh header: %v", err)
			}
		}
	})
}

// FuzzReassembler: a stream of fragments cut from the input never panics,
// never exceeds the memory cap, and whatever completes is valid IPv6 of
// the announced size.
func FuzzReassembler(f *testing.F) {
	ctx := corpusContextTable(f)
	z := &Compressor{Contexts: ctx}
	g := newGenerator(5)
	for i := 0; i < 8; i++ {
		c := g.packet(1280)
		var stream []byte
		z.Encode(make([]byte, ScratchSize), c.pkt, extSrc, extDst, &EncodeOptions{MaxPayload: 100, Tag: uint16(i)}, func(fr []byte) error {
			stream = append(stream, byte(len(fr)))
			stream = append(stream, fr...)
			return nil
		})
		f.Add(stream)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		const limit = 4 * reassemblySlot
		r, err := NewReassembler(ReassemblyConfig{MaxDatagrams: 8, MaxPerSource: 2, MaxMemory: limit}, ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 2048)
		var h Headers
		now := time.Unix(0, 0)
		for len(stream) > 1 {
			n := min(int(stream[0]), len(stream)-1)
			frame := stream[1 : 1+n]
			stream = stream[1+n:]
			if ParseHeaders(frame, &h) != nil || !h.HasFrag {
				continue
			}
			src := ShortLinkAddr(uint16(n % 3))
			k, err := r.Add(now, out, src, extDst, &h)
			now = now.Add(time.Second)
			if err == nil && k > 0 {
				if k != int(h.Frag.Size) {
					t.Fatalf("completed %d octets of a %d-octet datagram", k, h.Frag.Size)
				}
				if out[0]>>4 != 6 && frame[0] != DispatchIPv6 {
					t.Fatalf("completed datagram is not IPv6: % x", out[:8])
				}
			}
			if r.MemoryInUse() > limit {
				t.Fatalf("memory %d over cap %d", r.MemoryInUse(), limit)
			}
		}
	})
}

// FuzzRoundTrip: compress-then-decompress is the identity for any packet
// the generator can draw from the fuzzed seed, through fragmentation.
func FuzzRoundTrip(f *testing.F) {
	for i := uint64(0); i < 16; i++ {
		f.Add(i, uint16(1280), uint8(104))
	}
	ctx := corpusContextTable(f)
	f.Fuzz(func(t *testing.T, seed uint64, maxLen uint16, maxPayload uint8) {
		if maxLen < 60 || maxLen > 1280 || maxPayload < 60 || maxPayload > 125 {
			return
		}
		c := newGenerator(seed).packet(int(maxLen))
		if len(c.pkt) > maxDatagramSize {
			return
		}
		z := &Compressor{Contexts: ctx, KeepPadding: seed%2 == 0}
		r, _ := NewReassembler(ReassemblyConfig{}, ctx)
		var frames [][]byte
		_, err := z.Encode(make([]byte, ScratchSize), c.pkt, c.src, c.dst, &EncodeOptions{MaxPayload: int(maxPayload), Tag: 1}, func(fr []byte) error {
			frames = append(frames, bytes.Clone(fr))
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		got := reassembleFrames(t, r, ctx, time.Unix(0, 0), make([]byte, 2048), c.src, c.dst, frames)
		if !bytes.Equal(got, c.pkt) {
			t.Fatalf("%s:\n got % x\nwant % x", c.desc, got, c.pkt)
		}
	})
}
