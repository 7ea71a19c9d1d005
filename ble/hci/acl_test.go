package hci

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// l2capPDU builds an L2CAP PDU with n payload octets on cid.
func l2capPDU(n int, cid uint16, seed byte) []byte {
	p := make([]byte, L2CAPHeaderLen+n)
	binary.LittleEndian.PutUint16(p, uint16(n))
	binary.LittleEndian.PutUint16(p[2:], cid)
	for i := range n {
		p[L2CAPHeaderLen+i] = seed + byte(i)
	}
	return p
}

func aclOf(t testing.TB, handle uint16, pb PBFlag, data []byte) ACL {
	t.Helper()
	b, err := AppendACL(nil, handle, pb, 0, data)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseACL(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestFragmentReassemble splits PDUs of many sizes at many ACL lengths,
// from both ends of the link, and reassembles them.
func TestFragmentReassemble(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 22, 23, 24, 246, 247, 248, 1280}
	for range 30 {
		sizes = append(sizes, rng.IntN(3000))
	}
	for _, maxData := range []int{1, 5, 27, 251, 1021, 65535} {
		for _, n := range sizes {
			pdu := l2capPDU(n, 0x0040, byte(n))
			for _, f := range []Fragmenter{{MaxData: maxData}, {MaxData: maxData, First: PBFirstFlushable, H4: true}} {
				r := NewACLReassembler(4000, 2)
				var got []byte
				frags := 0
				err := f.Fragment(pdu, 0x0041, func(p []byte) error {
					if f.H4 {
						if PacketType(p[0]) != PacketACL {
							t.Fatalf("H4 indicator 0x%02x", p[0])
						}
						p = p[1:]
					}
					a, err := ParseACL(p)
					if err != nil {
						t.Fatalf("fragment %d: %v", frags, err)
					}
					wantPB := PBContinuing
					if frags == 0 {
						wantPB = f.First
					}
					if a.Handle() != 0x0041 || a.PB() != wantPB || a.BC() != 0 || len(a.Data()) > maxData || len(a.Data()) == 0 {
						t.Fatalf("fragment %d: handle 0x%x PB %v BC %d, %d octets", frags, a.Handle(), a.PB(), a.BC(), len(a.Data()))
					}
					frags++
					out, err := r.Feed(a)
					if err != nil {
						t.Fatalf("fragment %d: %v", frags, err)
					}
					if out != nil {
						if got != nil {
							t.Fatal("two PDUs")
						}
						got = bytes.Clone(out)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if want := (len(pdu) + maxData - 1) / maxData; frags != want {
					t.Errorf("%d-octet PDU at %d: %d fragments, want %d", len(pdu), maxData, frags, want)
				}
				if !bytes.Equal(got, pdu) {
					t.Fatalf("%d-octet PDU at %d: reassembled %d octets", len(pdu), maxData, len(got))
				}
				if s := r.Stats(); s.PDUs != 1 || s.Fragments != uint64(frags) {
					t.Errorf("Stats = %+v", s)
				}
			}
		}
	}
}

func TestFragmentL2CAPErrors(t *testing.T) {
	emit := func([]byte) error { return nil }
	if err := FragmentL2CAP(nil, []byte{1}, 1, 0, emit); !errors.Is(err, ErrMalformed) {
		t.Errorf("maxData 0: %v", err)
	}
	if err := FragmentL2CAP(nil, []byte{1}, 1, 65536, emit); !errors.Is(err, ErrMalformed) {
		t.Errorf("maxData 65536: %v", err)
	}
	if err := FragmentL2CAP(nil, nil, 1, 27, emit); !errors.Is(err, ErrShort) {
		t.Errorf("empty PDU: %v", err)
	}
	stop := errors.New("stop")
	n := 0
	err := FragmentL2CAP(make([]byte, 0, 64), l2capPDU(100, 0x40, 0), 1, 27, func([]byte) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("emit error: %v after %d fragments", err, n)
	}
}

func TestReassemblerErrors(t *testing.T) {
	pdu := l2capPDU(20, 0x0040, 0) // 24 octets
	first, rest := pdu[:10], pdu[10:]

	t.Run("continuing without start", func(t *testing.T) {
		r := NewACLReassembler(0, 0)
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); !errors.Is(err, ErrNoStart) {
			t.Fatalf("got %v", err)
		}
		// After a complete PDU the handle is idle: still no start.
		if p, err := r.Feed(aclOf(t, 1, PBFirstNonFlushable, pdu)); err != nil || !bytes.Equal(p, pdu) {
			t.Fatalf("one-fragment PDU: % x %v", p, err)
		}
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); !errors.Is(err, ErrNoStart) {
			t.Fatalf("got %v", err)
		}
		if s := r.Stats(); s.NoStart != 2 || s.PDUs != 1 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("start while in progress", func(t *testing.T) {
		r := NewACLReassembler(0, 0)
		if _, err := r.Feed(aclOf(t, 1, PBFirstFlushable, first)); err != nil {
			t.Fatal(err)
		}
		// A new, complete PDU: delivered, with the error for the old one.
		p, err := r.Feed(aclOf(t, 1, PBFirstFlushable, pdu))
		if !errors.Is(err, ErrInterrupted) || !bytes.Equal(p, pdu) {
			t.Fatalf("got % x, %v", p, err)
		}
		// A new partial PDU that then completes.
		r.Feed(aclOf(t, 1, PBFirstFlushable, first))
		if p, err := r.Feed(aclOf(t, 1, PBFirstFlushable, first)); !errors.Is(err, ErrInterrupted) || p != nil {
			t.Fatalf("got % x, %v", p, err)
		}
		if p, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); err != nil || !bytes.Equal(p, pdu) {
			t.Fatalf("got % x, %v", p, err)
		}
		if s := r.Stats(); s.Interrupted != 2 || s.PDUs != 2 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("overlong", func(t *testing.T) {
		r := NewACLReassembler(0, 0)
		if _, err := r.Feed(aclOf(t, 1, PBFirstNonFlushable, append(bytes.Clone(pdu), 0))); !errors.Is(err, ErrOverlong) {
			t.Fatalf("start: %v", err)
		}
		r.Feed(aclOf(t, 1, PBFirstNonFlushable, first))
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, append(bytes.Clone(rest), 0))); !errors.Is(err, ErrOverlong) {
			t.Fatalf("continuing: %v", err)
		}
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); !errors.Is(err, ErrNoStart) {
			t.Fatalf("after the drop: %v", err)
		}
		if s := r.Stats(); s.Overlong != 2 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("oversize skipped", func(t *testing.T) {
		r := NewACLReassembler(100, 0)
		big := l2capPDU(200, 0x40, 0)
		if _, err := r.Feed(aclOf(t, 1, PBFirstNonFlushable, big[:50])); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("start: %v", err)
		}
		for i, c := range [][]byte{big[50:100], big[100:150], big[150:]} {
			if p, err := r.Feed(aclOf(t, 1, PBContinuing, c)); err != nil || p != nil {
				t.Fatalf("skipped fragment %d: % x %v", i, p, err)
			}
		}
		if p, err := r.Feed(aclOf(t, 1, PBFirstNonFlushable, pdu)); err != nil || !bytes.Equal(p, pdu) {
			t.Fatalf("next PDU: % x %v", p, err)
		}
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); !errors.Is(err, ErrNoStart) {
			t.Fatalf("after: %v", err)
		}
		// An oversize PDU announced in a complete fragment.
		if _, err := r.Feed(aclOf(t, 2, PBFirstNonFlushable, l2capPDU(100, 0x40, 0))); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("whole oversize PDU: %v", err)
		}
		if s := r.Stats(); s.Oversize != 2 || s.PDUs != 1 || s.NoStart != 1 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("short start and reserved flag", func(t *testing.T) {
		r := NewACLReassembler(30, 0)
		// Start fragments of 0, 1, 2 and 3 octets.
		for n := range 4 {
			if p, err := r.Feed(aclOf(t, 1, PBFirstNonFlushable, pdu[:n])); err != nil || p != nil {
				t.Fatalf("start of %d octets: % x %v", n, p, err)
			}
			if p, err := r.Feed(aclOf(t, 1, PBContinuing, pdu[n:n+1])); err != nil || p != nil {
				t.Fatalf("1 octet after a start of %d: % x %v", n, p, err)
			}
			if p, err := r.Feed(aclOf(t, 1, PBContinuing, pdu[n+1:])); err != nil || !bytes.Equal(p, pdu) {
				t.Fatalf("rest after a start of %d: % x %v", n, p, err)
			}
		}
		// The Length arrives in a continuing fragment and is too much.
		big := l2capPDU(40, 0x40, 0)
		r.Feed(aclOf(t, 1, PBFirstNonFlushable, big[:1]))
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, big[1:20])); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("oversize Length in a continuing fragment: %v", err)
		}
		if p, err := r.Feed(aclOf(t, 1, PBContinuing, big[20:])); err != nil || p != nil {
			t.Fatalf("rest of the oversize PDU: % x %v", p, err)
		}
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, big[20:])); !errors.Is(err, ErrNoStart) {
			t.Fatalf("after the oversize PDU: %v", err)
		}
		if _, err := r.Feed(aclOf(t, 1, PBCompleteFlushable, pdu)); !errors.Is(err, ErrMalformed) {
			t.Errorf("PB 0b11: %v", err)
		}
		if s := r.Stats(); s.Malformed != 1 || s.PDUs != 4 || s.Oversize != 1 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("too many handles", func(t *testing.T) {
		r := NewACLReassembler(0, 2)
		r.Feed(aclOf(t, 1, PBFirstNonFlushable, first))
		r.Feed(aclOf(t, 2, PBFirstNonFlushable, first))
		if _, err := r.Feed(aclOf(t, 3, PBFirstNonFlushable, first)); !errors.Is(err, ErrTooManyHandles) {
			t.Fatalf("third handle: %v", err)
		}
		// One-fragment PDUs need no slot.
		if p, err := r.Feed(aclOf(t, 3, PBFirstNonFlushable, pdu)); err != nil || p == nil {
			t.Fatalf("whole PDU on a third handle: %v", err)
		}
		// Handle 1 completes; its idle slot goes to handle 3.
		if p, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); err != nil || !bytes.Equal(p, pdu) {
			t.Fatalf("handle 1: %v", err)
		}
		if _, err := r.Feed(aclOf(t, 3, PBFirstNonFlushable, first)); err != nil {
			t.Fatalf("third handle after one finished: %v", err)
		}
		for _, h := range []uint16{2, 3} {
			if p, err := r.Feed(aclOf(t, h, PBContinuing, rest)); err != nil || !bytes.Equal(p, pdu) {
				t.Fatalf("handle %d: % x %v", h, p, err)
			}
		}
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); !errors.Is(err, ErrNoStart) {
			t.Fatalf("handle 1 lost its slot: %v", err)
		}
		if s := r.Stats(); s.TooManyHandles != 1 || s.PDUs != 4 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("remove", func(t *testing.T) {
		r := NewACLReassembler(0, 1)
		r.Feed(aclOf(t, 1, PBFirstNonFlushable, first))
		if !r.Remove(1) {
			t.Error("Remove mid-PDU dropped nothing")
		}
		if r.Remove(1) || r.Remove(9) {
			t.Error("Remove of an unknown handle dropped something")
		}
		if _, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); !errors.Is(err, ErrNoStart) {
			t.Fatalf("after Remove: %v", err)
		}
		// The freed slot serves another handle.
		r.Feed(aclOf(t, 2, PBFirstNonFlushable, first))
		if p, err := r.Feed(aclOf(t, 2, PBContinuing, rest)); err != nil || !bytes.Equal(p, pdu) {
			t.Fatalf("handle 2: %v", err)
		}
		if s := r.Stats(); s.Abandoned != 1 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("interleaved handles", func(t *testing.T) {
		r := NewACLReassembler(0, 0)
		other := l2capPDU(30, 0x0041, 0x80)
		r.Feed(aclOf(t, 1, PBFirstFlushable, first))
		r.Feed(aclOf(t, 2, PBFirstFlushable, other[:5]))
		r.Feed(aclOf(t, 2, PBContinuing, other[5:20]))
		if p, err := r.Feed(aclOf(t, 1, PBContinuing, rest)); err != nil || !bytes.Equal(p, pdu) {
			t.Fatalf("handle 1: % x %v", p, err)
		}
		if p, err := r.Feed(aclOf(t, 2, PBContinuing, other[20:])); err != nil || !bytes.Equal(p, other) {
			t.Fatalf("handle 2: % x %v", p, err)
		}
	})
}

func TestACLAccessors(t *testing.T) {
	a := aclOf(t, 0xFFFF, PBFirstFlushable, []byte{1, 2})
	if a.Handle() != 0x0FFF || a.PB() != PBFirstFlushable || a.BC() != 0 {
		t.Errorf("handle 0x%x PB %v BC %d", a.Handle(), a.PB(), a.BC())
	}
	b, _ := AppendACL(nil, 0x0123, PBContinuing, 0b11, nil)
	if a, _ := ParseACL(b); a.Handle() != 0x123 || a.PB() != PBContinuing || a.BC() != 3 || len(a.Data()) != 0 {
		t.Errorf("% x: handle 0x%x PB %v BC %d", b, a.Handle(), a.PB(), a.BC())
	}
	for pb, s := range map[PBFlag]string{0: "first non-flushable", 1: "continuing", 2: "first flushable", 3: "complete flushable"} {
		if pb.String() != s {
			t.Errorf("PBFlag(%d) = %q", pb, pb.String())
		}
	}
}

func TestFragmentAllocs(t *testing.T) {
	pdu := l2capPDU(1280, 0x0040, 0)
	scratch := make([]byte, 0, ACLHeaderLen+251)
	emit := func([]byte) error { return nil }
	if a := testing.AllocsPerRun(100, func() {
		if err := FragmentL2CAP(scratch, pdu, 0x41, 251, emit); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("FragmentL2CAP allocates %.1f times", a)
	}
	f := &Fragmenter{MaxData: 251, H4: true}
	f.Fragment(pdu, 0x41, emit)
	if a := testing.AllocsPerRun(100, func() { f.Fragment(pdu, 0x41, emit) }); a != 0 {
		t.Errorf("Fragmenter allocates %.1f times", a)
	}
}

func TestReassemblerAllocs(t *testing.T) {
	pdu := l2capPDU(1280, 0x0040, 0)
	var frags []ACL
	FragmentL2CAP(nil, pdu, 0x41, 251, func(p []byte) error {
		a, _ := ParseACL(bytes.Clone(p))
		frags = append(frags, a)
		return nil
	})
	r := NewACLReassembler(0, 0)
	feed := func() {
		for i, a := range frags {
			p, err := r.Feed(a)
			if err != nil || (i == len(frags)-1) != (p != nil) {
				t.Fatalf("fragment %d: %v", i, err)
			}
		}
	}
	feed()
	if a := testing.AllocsPerRun(100, feed); a != 0 {
		t.Errorf("ACLReassembler allocates %.1f times per PDU", a)
	}
}
