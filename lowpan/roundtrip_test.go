package lowpan

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// Every generated packet survives compress → fragment → parse → reassemble
// → decompress unchanged, for every MAC payload size of interest.
func TestRoundTripCorpus(t *testing.T) {
	ctx := corpusContextTable(t)
	g := newGenerator(1)
	z := &Compressor{Contexts: ctx}
	elide := &Compressor{Contexts: ctx, ElideUDPChecksum: true}
	r, err := NewReassembler(ReassemblyConfig{}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	scratch := make([]byte, ScratchSize)
	out := make([]byte, 2048)
	var tags TagCounter
	now := time.Unix(0, 0)
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		c := g.packet(1280)
		maxPayload := []int{104, 116, 81, 60, 125}[i%5]
		var frames [][]byte
		opts := &EncodeOptions{MaxPayload: maxPayload, Tag: tags.Next()}
		if i%7 == 0 {
			// Mesh-under: the frame travels between other MAC addresses; the
			// originator and final destination carry the IIDs.
			opts.Mesh = &MeshHeader{HopsLeft: uint8(i % 20), Originator: c.src, Final: c.dst}
		}
		// Every third packet elides its UDP checksum (RFC 6282 §4.3.2); the
		// decompressor must recompute the very value that was elided.
		enc := z
		if i%3 == 1 {
			enc = elide
		}
		encSrc, encDst := c.src, c.dst
		if opts.Mesh != nil {
			encSrc, encDst = ShortLinkAddr(0x7001), ShortLinkAddr(0x7002) // ignored: the mesh header's addresses count
		}
		_, err := enc.Encode(scratch, c.pkt, encSrc, encDst, opts, func(f []byte) error {
			if len(f) > maxPayload {
				return fmt.Errorf("frame of %d octets exceeds %d", len(f), maxPayload)
			}
			frames = append(frames, bytes.Clone(f))
			return nil
		})
		if err != nil {
			t.Fatalf("case %d (%s): Encode: %v\npkt % x", i, c.desc, err, c.pkt)
		}
		hopSrc, hopDst := c.src, c.dst
		if opts.Mesh != nil {
			hopSrc, hopDst = ShortLinkAddr(0x7001), ShortLinkAddr(0x7002)
		}
		got := reassembleFrames(t, r, ctx, now, out, hopSrc, hopDst, frames)
		if !bytes.Equal(got, c.pkt) {
			t.Fatalf("case %d (%s), %d frames of ≤%d:\n got % x\nwant % x", i, c.desc, len(frames), maxPayload, got, c.pkt)
		}
	}
	st := r.Stats()
	if st.Evicted != 0 || st.Overlaps != 0 || st.Malformed != 0 || r.Pending() != 0 {
		t.Errorf("stats after a clean corpus: %+v, pending %d", st, r.Pending())
	}
}

// reassembleFrames runs frames of one datagram through ParseHeaders and the
// reassembler (or Decompress when unfragmented) and returns the packet.
func reassembleFrames(t testing.TB, r *Reassembler, ctx *ContextTable, now time.Time, out []byte, src, dst LinkAddr, frames [][]byte) []byte {
	t.Helper()
	var h Headers
	for k, f := range frames {
		if err := ParseHeaders(f, &h); err != nil {
			t.Fatalf("frame %d: ParseHeaders: %v (% x)", k, err, f)
		}
		s, d := src, dst
		if h.HasMesh {
			// RFC 4944 §5.2: the mesh addresses stand for the link-layer ones.
			s, d = h.Mesh.Originator, h.Mesh.Final
		}
		if !h.HasFrag {
			n, err := Decompress(out, h.Payload, s, d, ctx)
			if err != nil {
				t.Fatalf("Decompress: %v (% x)", err, f)
			}
			return out[:n]
		}
		n, err := r.Add(now, out, s, d, &h)
		if err != nil {
			t.Fatalf("frame %d: Add: %v", k, err)
		}
		if n > 0 {
			if k != len(frames)-1 {
				t.Fatalf("completed at frame %d of %d", k, len(frames))
			}
			return out[:n]
		}
	}
	t.Fatalf("datagram did not complete from %d frames", len(frames))
	return nil
}
