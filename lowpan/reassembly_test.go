package lowpan

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// fragmentsOf encodes pkt into MAC payloads of at most maxPayload octets.
func fragmentsOf(t testing.TB, z *Compressor, pkt []byte, src, dst LinkAddr, maxPayload int, tag uint16) [][]byte {
	t.Helper()
	var frames [][]byte
	_, err := z.Encode(make([]byte, ScratchSize), pkt, src, dst, &EncodeOptions{MaxPayload: maxPayload, Tag: tag}, func(f []byte) error {
		frames = append(frames, bytes.Clone(f))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func parsed(t testing.TB, f []byte) *Headers {
	t.Helper()
	h := new(Headers)
	if err := ParseHeaders(f, h); err != nil {
		t.Fatalf("ParseHeaders(% x): %v", f, err)
	}
	return h
}

func udp1280(t testing.TB, seed byte) []byte {
	data := make([]byte, 1280-48)
	for i := range data {
		data[i] = byte(i*7) + seed
	}
	return buildUDP6(t, ipv6Fields{src: "2001:db8:1::12:3456:78ab:cdef", dst: "2001:db8:1::80b:c0d:e0f:1011", hlim: 64}, 7777, 8888, data)
}

func TestReassemblyOrders(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	pkt := udp1280(t, 0)
	frames := fragmentsOf(t, z, pkt, extSrc, extDst, 104, 0x4242)
	if len(frames) < 10 {
		t.Fatalf("%d frames for 1280 octets in 104-octet payloads", len(frames))
	}
	shuffle := func(seed uint64) func([][]byte) [][]byte {
		return func(fs [][]byte) [][]byte {
			out := append([][]byte(nil), fs...)
			rand.New(rand.NewPCG(seed, 0)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
			return out
		}
	}
	tests := []struct {
		name    string
		arrange func([][]byte) [][]byte
		dups    uint64
	}{
		{"in order", func(fs [][]byte) [][]byte { return fs }, 0},
		{"reversed", func(fs [][]byte) [][]byte {
			out := make([][]byte, len(fs))
			for i, f := range fs {
				out[len(fs)-1-i] = f
			}
			return out
		}, 0},
		{"shuffled", shuffle(1), 0},
		{"shuffled again", shuffle(2), 0},
		{"every fragment twice", func(fs [][]byte) [][]byte {
			var out [][]byte
			for _, f := range fs[:len(fs)-1] {
				out = append(out, f, f)
			}
			return append(out, fs[len(fs)-1])
		}, uint64(len(frames) - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReassembler(ReassemblyConfig{}, ctx)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]byte, 2048)
			var got []byte
			for _, f := range tt.arrange(frames) {
				n, err := r.Add(time.Unix(0, 0), out, extSrc, extDst, parsed(t, f))
				if err != nil && !errors.Is(err, ErrDuplicate) {
					t.Fatal(err)
				}
				if n > 0 {
					got = out[:n]
				}
			}
			if !bytes.Equal(got, pkt) {
				t.Fatalf("reassembled %d octets, want the %d sent", len(got), len(pkt))
			}
			if st := r.Stats(); st.Completed != 1 || st.Duplicates != tt.dups {
				t.Errorf("stats %+v, want 1 completed and %d duplicates", st, tt.dups)
			}
		})
	}
}

func fragN(size, tag, offset uint16, data []byte) []byte {
	b := make([]byte, 5, 5+len(data))
	(&FragHeader{Size: size, Tag: tag, Offset: offset}).Encode(b)
	return append(b, data...)
}

// Overlapping or inconsistent fragments discard the datagram (RFC 4944 §5.3).
func TestReassemblyDiscards(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	pkt := udp1280(t, 0)
	frames := fragmentsOf(t, z, pkt, extSrc, extDst, 104, 7)
	eight := bytes.Repeat([]byte{0xaa}, 16)
	tests := []struct {
		name  string
		extra []byte
	}{
		{"overlaps the second fragment", fragN(1280, 7, uint16(parsed(t, frames[1]).Frag.Offset)+8, eight)},
		{"same span, other contents", func() []byte {
			f := bytes.Clone(frames[1])
			f[len(f)-1] ^= 0xff
			return f
		}()},
		{"runs past datagram_size", fragN(1280, 7, 1272, eight)},
		{"not the last and not a multiple of 8", fragN(1280, 7, 640, eight[:5])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := NewReassembler(ReassemblyConfig{}, ctx)
			out := make([]byte, 2048)
			now := time.Unix(0, 0)
			for _, f := range frames[:2] {
				if _, err := r.Add(now, out, extSrc, extDst, parsed(t, f)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := r.Add(now, out, extSrc, extDst, parsed(t, tt.extra)); !errors.Is(err, ErrOverlap) {
				t.Fatalf("err = %v, want ErrOverlap", err)
			}
			if r.Pending() != 0 || r.Stats().Overlaps != 1 {
				t.Fatalf("pending %d, stats %+v: the datagram must be discarded", r.Pending(), r.Stats())
			}
			// The rest of the datagram must not resurrect it.
			for _, f := range frames[2:] {
				if n, _ := r.Add(now, out, extSrc, extDst, parsed(t, f)); n > 0 {
					t.Fatal("a discarded datagram completed")
				}
			}
		})
	}
}

func TestReassemblyTimeout(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	frames := fragmentsOf(t, z, udp1280(t, 0), extSrc, extDst, 104, 1)
	r, _ := NewReassembler(ReassemblyConfig{Timeout: 5 * time.Second}, ctx)
	out := make([]byte, 2048)
	t0 := time.Unix(100, 0)
	r.Add(t0, out, extSrc, extDst, parsed(t, frames[0]))
	r.Expire(t0.Add(4999 * time.Millisecond))
	if r.Pending() != 1 {
		t.Fatal("expired before its timeout")
	}
	r.Expire(t0.Add(5 * time.Second))
	if r.Pending() != 0 || r.Stats().TimedOut != 1 {
		t.Fatalf("pending %d, stats %+v after the timeout", r.Pending(), r.Stats())
	}
	// Late fragments start a new datagram that never completes without FRAG1.
	for _, f := range frames[1:] {
		if n, _ := r.Add(t0.Add(6*time.Second), out, extSrc, extDst, parsed(t, f)); n > 0 {
			t.Fatal("completed without its first fragment")
		}
	}
}

// Each datagram expires on its own timer, counted from its own first
// fragment, whatever else is in progress, in whatever order the slots
// were taken and freed (the reassembler skips the scan of its slots until
// the earliest timer can have run out).
func TestReassemblyTimeoutsStaggered(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	r, _ := NewReassembler(ReassemblyConfig{Timeout: 5 * time.Second, MaxDatagrams: 16, MaxPerSource: 16}, ctx)
	out := make([]byte, 2048)
	t0 := time.Unix(100, 0)
	first := func(tag uint16, at time.Duration) {
		t.Helper()
		f := fragmentsOf(t, z, udp1280(t, byte(tag)), extSrc, extDst, 104, tag)
		if _, err := r.Add(t0.Add(at), out, extSrc, extDst, parsed(t, f[0])); err != nil {
			t.Fatal(err)
		}
	}
	// A complete datagram first: its slot is freed, its start time stays
	// behind as a stale lower bound.
	whole := fragmentsOf(t, z, udp1280(t, 9), extSrc, extDst, 104, 9)
	for _, f := range whole {
		r.Add(t0, out, extSrc, extDst, parsed(t, f))
	}
	first(1, 1*time.Second)
	first(2, 3*time.Second)
	first(3, 2*time.Second)
	probe := ShortLinkAddr(0x99) // another source: no per-source cap in play
	steps := []struct {
		at       time.Duration
		timedOut uint64
	}{
		{5999 * time.Millisecond, 0}, // the stale bound has run out: a scan, nothing expires
		{6 * time.Second, 1},         // tag 1
		{6999 * time.Millisecond, 1},
		{7 * time.Second, 2}, // tag 3
		{7999 * time.Millisecond, 2},
		{8 * time.Second, 3}, // tag 2
	}
	for i, st := range steps {
		// Through Add, as in the packet path: a fragment of another
		// datagram, which itself is not due before the test ends.
		f := fragmentsOf(t, z, udp1280(t, 7), probe, extDst, 104, 100+uint16(i))
		r.Add(t0.Add(st.at), out, probe, extDst, parsed(t, f[1]))
		if got := r.Stats().TimedOut; got != st.timedOut {
			t.Fatalf("at %v: %d timed out, want %d", st.at, got, st.timedOut)
		}
	}
	if got := r.Pending(); got != len(steps) {
		t.Errorf("%d pending at the end, want the %d probes", got, len(steps))
	}
}

func TestReassemblyConfigValidate(t *testing.T) {
	bad := []ReassemblyConfig{
		{Timeout: 61 * time.Second},
		{Timeout: -1},
		{MaxDatagrams: -1},
		{MaxDatagrams: 4, MaxPerSource: 5},
		{MaxMemory: 100},
	}
	for _, c := range bad {
		if _, err := NewReassembler(c, nil); err == nil {
			t.Errorf("NewReassembler(%+v) accepted", c)
		}
	}
	c := ReassemblyConfig{}
	if err := c.Validate(); err != nil || c.Timeout != DefaultReassemblyTimeout || c.MaxDatagrams != DefaultMaxDatagrams {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

// A flood of first fragments that never complete — from one source, or
// from a new source each time — does not stop a well-behaved sender's
// datagrams from reassembling. One source is held to its cap however fast
// it sends. Many sources all look like newcomers: the sender's first
// fragment is as weak as theirs and goes once it is the oldest of them,
// so it survives as many flood fragments as there are other slots (here
// 5 between each of its frames, in 8 slots); the reserved share of
// registered neighbours is what holds against faster floods
// (TestReassemblyReservedForRegistered). The flood's fragments arrive at
// distinct times: this test once passed with 20 between each frame only
// because every flood fragment carried the good fragment's timestamp and
// the tie went to the slot order.
func TestReassemblyFloodFairness(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	attackPkt := udp1280(t, 9)
	for _, many := range []bool{false, true} {
		name := "one source"
		if many {
			name = "many sources"
		}
		t.Run(name, func(t *testing.T) {
			r, err := NewReassembler(ReassemblyConfig{MaxDatagrams: 8, MaxPerSource: 2}, ctx)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]byte, 2048)
			now := time.Unix(0, 0)
			attacker := ShortLinkAddr(0x6666)
			tag := uint16(0)
			between := 20
			if many {
				between = 5
			}
			attack := func() {
				tag++
				now = now.Add(100 * time.Microsecond)
				src := attacker
				if many {
					src = ShortLinkAddr(0x7000 + tag)
				}
				f := fragmentsOf(t, z, attackPkt, src, extDst, 104, tag)[0]
				r.Add(now, out, src, extDst, parsed(t, f))
			}
			completed := 0
			for d := 0; d < 20; d++ {
				pkt := udp1280(t, byte(d))
				for _, f := range fragmentsOf(t, z, pkt, extSrc, extDst, 104, uint16(d)) {
					for range between {
						attack()
					}
					now = now.Add(10 * time.Millisecond)
					n, err := r.Add(now, out, extSrc, extDst, parsed(t, f))
					if err != nil {
						t.Fatalf("datagram %d: %v", d, err)
					}
					if n > 0 {
						if !bytes.Equal(out[:n], pkt) {
							t.Fatalf("datagram %d corrupted", d)
						}
						completed++
					}
				}
			}
			if completed != 20 {
				t.Fatalf("%d of 20 datagrams completed under the flood; stats %+v", completed, r.Stats())
			}
			if st := r.Stats(); st.Evicted == 0 {
				t.Errorf("the flood evicted nothing: %+v", st)
			}
		})
	}
}

// Whatever it is fed, the reassembler's buffers stay within MaxMemory and
// the heap does not grow with the input.
func TestReassemblyMemoryCap(t *testing.T) {
	ctx := testContexts(t)
	const limit = 6 * reassemblySlot
	r, err := NewReassembler(ReassemblyConfig{MaxDatagrams: 64, MaxPerSource: 8, MaxMemory: limit}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([]byte, 2048)
	frame := make([]byte, 127)
	var h Headers
	now := time.Unix(0, 0)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 200000; i++ {
		n := 5 + rng.IntN(len(frame)-5)
		for k := range frame[:n] {
			frame[k] = byte(rng.Uint32())
		}
		size := uint16(40 + rng.IntN(2000))
		fh := FragHeader{First: rng.IntN(3) == 0, Size: size, Tag: uint16(rng.IntN(64))}
		if !fh.First {
			fh.Offset = uint16(rng.IntN(int(size)/8)) * 8
		} else {
			frame[4] = 0x7e // an IPHC dispatch after FRAG1
		}
		fh.Encode(frame)
		if ParseHeaders(frame[:n], &h) != nil {
			continue
		}
		src := ShortLinkAddr(uint16(rng.IntN(40)))
		r.Add(now, out, src, extDst, &h)
		now = now.Add(time.Millisecond)
		if m := r.MemoryInUse(); m > limit {
			t.Fatalf("after %d fragments: %d octets in use, cap %d", i, m, limit)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2*limit {
		t.Errorf("heap grew by %d octets over 200000 fragments (cap %d)", grew, limit)
	}
	t.Logf("stats: %+v; memory in use %d of %d", r.Stats(), r.MemoryInUse(), limit)
}

// A fragment that is bad on its own never evicts a datagram in progress.
func TestReassemblyBadFragmentDoesNotEvict(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	pkt := udp1280(t, 0)
	frames := fragmentsOf(t, z, pkt, extSrc, extDst, 104, 1)
	r, _ := NewReassembler(ReassemblyConfig{MaxDatagrams: 1, MaxPerSource: 1}, ctx)
	out := make([]byte, 2048)
	now := time.Unix(0, 0)
	if _, err := r.Add(now, out, extSrc, extDst, parsed(t, frames[0])); err != nil {
		t.Fatal(err)
	}
	other := ShortLinkAddr(0x1234)
	for _, bad := range [][]byte{
		fragN(64, 9, 512, bytes.Repeat([]byte{1}, 8)),             // past datagram_size
		fragN(64, 9, 0, bytes.Repeat([]byte{1}, 8)),               // FRAGN at offset 0
		append(mustHex(t, "c0400009"), mustHex(t, "7f f3 22")...), // FRAG1 naming an unknown context
	} {
		if _, err := r.Add(now, out, other, extDst, parsed(t, bad)); err == nil {
			t.Errorf("bad fragment % x accepted", bad)
		}
	}
	var n int
	for _, f := range frames[1:] {
		var err error
		if n, err = r.Add(now, out, extSrc, extDst, parsed(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[:n], pkt) {
		t.Fatalf("the good datagram did not survive bad fragments from another source; stats %+v", r.Stats())
	}
	if st := r.Stats(); st.Evicted != 0 || st.Malformed != 3 {
		t.Errorf("stats %+v: want no eviction and 3 malformed", st)
	}
}

// A repeated fragment (a lost ACK makes the sender retransmit) costs no
// allocation.
func TestReassemblyDuplicateNoAlloc(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	frames := fragmentsOf(t, z, udp1280(t, 0), extSrc, extDst, 104, 1)
	r, _ := NewReassembler(ReassemblyConfig{}, ctx)
	out := make([]byte, 2048)
	h0, h1 := parsed(t, frames[0]), parsed(t, frames[1])
	r.Add(time.Unix(0, 0), out, extSrc, extDst, h0)
	r.Add(time.Unix(0, 0), out, extSrc, extDst, h1)
	if a := testing.AllocsPerRun(100, func() { r.Add(time.Unix(0, 0), out, extSrc, extDst, h1) }); a != 0 {
		t.Errorf("%v allocs per duplicate", a)
	}
}

// An uncompressed (0x41) datagram must agree with its datagram_size.
func TestReassemblyUncompressedSizeMismatch(t *testing.T) {
	r, _ := NewReassembler(ReassemblyConfig{}, nil)
	hdr := buildIPv6(t, ipv6Fields{src: "fe80::1", dst: "fe80::2", hlim: 1, next: 59}, make([]byte, 1000))[:40]
	frag1 := append(mustHex(t, "c0300001"), 0x41) // size 48
	frag1 = append(frag1, hdr...)
	if _, err := r.Add(time.Unix(0, 0), make([]byte, 2048), extSrc, extDst, parsed(t, frag1)); err != nil {
		t.Fatal(err)
	}
	last := fragN(48, 1, 40, make([]byte, 8))
	if n, err := r.Add(time.Unix(0, 0), make([]byte, 2048), extSrc, extDst, parsed(t, last)); err == nil || n != 0 {
		t.Fatalf("payload length 1000 in a 48-octet datagram delivered (n=%d, err=%v)", n, err)
	}
}

// A first fragment from a new source while every slot is taken: the
// eviction path a many-source flood drives, per fragment.
func BenchmarkReassembleFloodFRAG1(b *testing.B) {
	ctx := testContexts(b)
	z := &Compressor{Contexts: ctx}
	f := fragmentsOf(b, z, udp1280(b, 9), extSrc, extDst, 104, 1)[0]
	var h Headers
	if err := ParseHeaders(f, &h); err != nil {
		b.Fatal(err)
	}
	r, _ := NewReassembler(ReassemblyConfig{}, ctx)
	out := make([]byte, 2048)
	now := time.Unix(0, 0)
	src := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		src++
		h.Frag.Tag = uint16(src >> 16) // (source, tag) never repeats
		now = now.Add(time.Microsecond)
		if _, err := r.Add(now, out, ShortLinkAddr(uint16(src)), extDst, &h); err != nil {
			b.Fatal(err)
		}
	}
}

// Registered neighbours keep their reserved share: a flood from many
// unregistered sources — even one whose datagrams make more progress than
// the neighbour's — never takes it, and stays within the rest; an
// unregistered sender still gets room.
func TestReassemblyReservedForRegistered(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	r, err := NewReassembler(ReassemblyConfig{MaxDatagrams: 8, MaxPerSource: 2, Reserved: 4}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.SetRegistered(func(a LinkAddr) bool { return a == extSrc })
	out := make([]byte, 2048)
	now := time.Unix(0, 0)
	attackPkt := udp1280(t, 9)
	tag := uint16(0)
	// Each flood datagram gets its first three fragments: stronger than
	// the neighbour's datagram until that one's fourth fragment.
	flood := func() {
		tag++
		src := ShortLinkAddr(0x7000 + tag)
		for _, f := range fragmentsOf(t, z, attackPkt, src, extDst, 104, tag)[:3] {
			r.Add(now, out, src, extDst, parsed(t, f))
		}
	}
	completed := 0
	for d := 0; d < 10; d++ {
		pkt := udp1280(t, byte(d))
		for _, f := range fragmentsOf(t, z, pkt, extSrc, extDst, 104, uint16(d)) {
			for range 10 {
				flood()
			}
			if others := r.Pending() - r.pendingRegistered(); others > 8-4 {
				t.Fatalf("unregistered senders hold %d slots, share 4", others)
			}
			now = now.Add(5 * time.Millisecond)
			n, err := r.Add(now, out, extSrc, extDst, parsed(t, f))
			if err != nil {
				t.Fatalf("datagram %d: %v", d, err)
			}
			if n > 0 {
				if !bytes.Equal(out[:n], pkt) {
					t.Fatalf("datagram %d corrupted", d)
				}
				completed++
			}
		}
	}
	st := r.Stats()
	if completed != 10 || st.EvictedRegistered != 0 {
		t.Fatalf("%d of 10 of the neighbour's datagrams completed; stats %+v", completed, st)
	}
	// An unregistered sender completes a datagram too once the flood
	// pauses: the rest is shared, not closed.
	stranger := ShortLinkAddr(0x1234)
	pkt := udp1280(t, 77)
	var n int
	for _, f := range fragmentsOf(t, z, pkt, stranger, extDst, 104, 99) {
		if n, err = r.Add(now, out, stranger, extDst, parsed(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || !bytes.Equal(out[:n], pkt) {
		t.Fatalf("an unregistered sender's datagram did not complete; stats %+v", r.Stats())
	}
}

// pendingRegistered counts the datagrams of registered senders in
// progress.
func (r *Reassembler) pendingRegistered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for i := range r.entries {
		if r.entries[i].inUse && r.entries[i].registered {
			n++
		}
	}
	return n
}

// A sender holding one stale datagram (a fragment was lost) is not the
// first to lose room under a many-source flood of first fragments: its
// next datagrams complete, and the stale one is still there to complete
// when its missing fragment comes after all. Before, the stale datagram
// made its sender "the busiest source" and each new datagram of its the
// first to be evicted, for the whole timeout.
func TestReassemblyStaleDatagramNotPenalised(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	r, err := NewReassembler(ReassemblyConfig{MaxDatagrams: 8, MaxPerSource: 4}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 2048)
	now := time.Unix(0, 0)
	stalePkt := udp1280(t, 1)
	stale := fragmentsOf(t, z, stalePkt, extSrc, extDst, 104, 1000)
	missing := len(stale) / 2
	for i, f := range stale {
		if i != missing {
			if _, err := r.Add(now, out, extSrc, extDst, parsed(t, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	attackPkt := udp1280(t, 9)
	tag := uint16(0)
	completed := 0
	for d := 0; d < 10; d++ {
		pkt := udp1280(t, byte(10+d))
		for _, f := range fragmentsOf(t, z, pkt, extSrc, extDst, 104, uint16(d)) {
			for range 5 {
				tag++
				now = now.Add(100 * time.Microsecond)
				src := ShortLinkAddr(0x7000 + tag)
				r.Add(now, out, src, extDst, parsed(t, fragmentsOf(t, z, attackPkt, src, extDst, 104, tag)[0]))
			}
			now = now.Add(5 * time.Millisecond)
			n, err := r.Add(now, out, extSrc, extDst, parsed(t, f))
			if err != nil {
				t.Fatalf("datagram %d: %v", d, err)
			}
			if n > 0 {
				completed++
			}
		}
	}
	if completed != 10 {
		t.Fatalf("%d of 10 new datagrams completed beside a stale one; stats %+v", completed, r.Stats())
	}
	n, err := r.Add(now, out, extSrc, extDst, parsed(t, stale[missing]))
	if err != nil || n == 0 || !bytes.Equal(out[:n], stalePkt) {
		t.Fatalf("the stale datagram was evicted before the flood's first fragments (n=%d, err=%v); stats %+v", n, err, r.Stats())
	}
}

// A fragment that contradicts its datagram discards that datagram and no
// other: another sender's datagram with the same size and tag completes.
func TestReassemblyConflictKeepsOtherSenders(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	other := ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x77})
	pkt := udp1280(t, 3)
	mine := fragmentsOf(t, z, udp1280(t, 4), extSrc, extDst, 104, 7)
	theirs := fragmentsOf(t, z, pkt, other, extDst, 104, 7)
	conflicts := map[string][]byte{
		"overlap": fragN(1280, 7, uint16(parsed(t, mine[1]).Frag.Offset)+8, bytes.Repeat([]byte{0xaa}, 16)),
		"other contents": func() []byte {
			f := bytes.Clone(mine[1])
			f[len(f)-1] ^= 0xff
			return f
		}(),
		"past the size": fragN(1280, 7, 1272, bytes.Repeat([]byte{0xaa}, 16)),
	}
	for name, bad := range conflicts {
		t.Run(name, func(t *testing.T) {
			r, _ := NewReassembler(ReassemblyConfig{}, ctx)
			out := make([]byte, 2048)
			now := time.Unix(0, 0)
			for i := range 2 {
				r.Add(now, out, extSrc, extDst, parsed(t, mine[i]))
				r.Add(now, out, other, extDst, parsed(t, theirs[i]))
			}
			if _, err := r.Add(now, out, extSrc, extDst, parsed(t, bad)); !errors.Is(err, ErrOverlap) {
				t.Fatalf("err = %v, want ErrOverlap", err)
			}
			var n int
			for _, f := range theirs[2:] {
				var err error
				if n, err = r.Add(now, out, other, extDst, parsed(t, f)); err != nil {
					t.Fatal(err)
				}
			}
			if n == 0 || !bytes.Equal(out[:n], pkt) {
				t.Fatalf("the other sender's datagram did not complete; stats %+v", r.Stats())
			}
			if st := r.Stats(); st.Overlaps != 1 || st.Evicted != 0 {
				t.Errorf("stats %+v: want one datagram discarded, none evicted", st)
			}
		})
	}
}

// A first-fragment flood that spoofs a registered neighbour's own address
// has the whole table to cycle through: the neighbour's datagram survives
// as long as its second fragment comes before MaxDatagrams−1 flood
// fragments have (its first fragment is as weak as the flood's, and
// newer), and after its second it is the flood's own that go — even
// though the flood's first fragments, with link-local addresses elided,
// carry more octets than the neighbour's, whose destination is inline.
// Another registered neighbour's datagrams complete beside it. What that
// means for a real flood is in the border router's adversarial test.
func TestReassemblySpoofedSourceFlood(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	other := ExtendedLinkAddr([8]byte{0x02, 0, 0, 0, 0, 0, 0, 0x99})
	attackPkt := buildUDP6(t, ipv6Fields{src: "fe80::12:3456:78ab:cdef", dst: "fe80::80b:c0d:e0f:1011", hlim: 64}, 7777, 8888, make([]byte, 1280-48))
	for _, between := range []int{2, 12} {
		r, _ := NewReassembler(ReassemblyConfig{MaxDatagrams: 16, MaxPerSource: 4, Reserved: 8}, ctx)
		r.SetRegistered(func(a LinkAddr) bool { return a == extSrc || a == other })
		out := make([]byte, 2048)
		now := time.Unix(0, 0)
		tag := uint16(5000)
		completed := map[LinkAddr]int{}
		for d := 0; d < 5; d++ {
			pkt := buildUDP6(t, ipv6Fields{src: "2001:db8:1::12:3456:78ab:cdef", dst: "2001:db8:9::5", hlim: 64}, 7777, 8888, make([]byte, 1200-48))
			pkt[len(pkt)-1] = byte(d)
			mine := fragmentsOf(t, z, pkt, extSrc, extDst, 104, uint16(d))
			theirs := fragmentsOf(t, z, pkt, other, extDst, 104, uint16(d))
			if flood := fragmentsOf(t, z, attackPkt, extSrc, extDst, 104, 1)[0]; d == 0 && frag1Covers(t, ctx, flood) <= frag1Covers(t, ctx, mine[0]) {
				t.Fatalf("the flood's first fragment covers %d octets, the neighbour's %d: want the flood's larger",
					frag1Covers(t, ctx, flood), frag1Covers(t, ctx, mine[0]))
			}
			for i := range mine {
				for _, x := range []struct {
					src LinkAddr
					f   []byte
				}{{extSrc, mine[i]}, {other, theirs[i]}} {
					now = now.Add(time.Millisecond)
					if n, _ := r.Add(now, out, x.src, extDst, parsed(t, x.f)); n > 0 {
						completed[x.src]++
					}
					for range between / 2 {
						tag++
						now = now.Add(time.Millisecond)
						r.Add(now, out, extSrc, extDst, parsed(t, fragmentsOf(t, z, attackPkt, extSrc, extDst, 104, tag)[0]))
					}
				}
			}
		}
		if completed[extSrc] != 5 || completed[other] != 5 {
			t.Errorf("%d flood fragments between each of the spoofed neighbour's: %d and %d of 5 datagrams completed (spoofed, other), want all; stats %+v",
				between, completed[extSrc], completed[other], r.Stats())
		}
	}
}

// frag1Covers is the number of octets of the uncompressed datagram a first
// fragment carries.
func frag1Covers(t *testing.T, ctx *ContextTable, f []byte) int {
	h := parsed(t, f)
	buf := make([]byte, reassemblySlot)
	written, read, _, err := decompressHeaders(buf, h.Payload, extSrc, extDst, decodeParams{contexts: ctx})
	if err != nil {
		t.Fatal(err)
	}
	return written + len(h.Payload) - read
}

// A registered sender's datagram whose tag follows the last one it
// completed outlasts first fragments with made-up tags from its spoofed
// address, however many arrive before its second fragment: here 30, twice
// the table. (A flood that predicts the tags falls back to the timing of
// TestReassemblySpoofedSourceFlood.)
func TestReassemblyExpectedTagOutlastsSpoofedFlood(t *testing.T) {
	ctx := testContexts(t)
	z := &Compressor{Contexts: ctx}
	r, _ := NewReassembler(ReassemblyConfig{MaxDatagrams: 16, MaxPerSource: 4, Reserved: 8}, ctx)
	r.SetRegistered(func(a LinkAddr) bool { return a == extSrc })
	attackPkt := buildUDP6(t, ipv6Fields{src: "fe80::12:3456:78ab:cdef", dst: "fe80::80b:c0d:e0f:1011", hlim: 64}, 7777, 8888, make([]byte, 1280-48))
	rng := rand.New(rand.NewPCG(5, 6))
	out := make([]byte, 2048)
	now := time.Unix(0, 0)
	completed := 0
	for d := range 6 {
		pkt := udp1280(t, byte(d))
		for _, f := range fragmentsOf(t, z, pkt, extSrc, extDst, 104, uint16(1000+d)) {
			now = now.Add(time.Millisecond)
			if n, _ := r.Add(now, out, extSrc, extDst, parsed(t, f)); n > 0 && bytes.Equal(out[:n], pkt) {
				completed++
			}
			if d == 0 {
				continue // the first datagram, before the flood, gives the sender its tag
			}
			for range 30 {
				tag := uint16(rng.Uint32())
				if tag-uint16(1000+d) < 2*tagWindow {
					continue // a made-up tag that happens to follow
				}
				now = now.Add(100 * time.Microsecond)
				r.Add(now, out, extSrc, extDst, parsed(t, fragmentsOf(t, z, attackPkt, extSrc, extDst, 104, tag)[0]))
			}
		}
	}
	if completed != 6 {
		t.Errorf("%d of 6 datagrams completed; stats %+v", completed, r.Stats())
	}
}
