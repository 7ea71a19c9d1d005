package rpl

import (
	"net/netip"
	"testing"
	"time"
)

// FuzzRootHandle feeds a root a sequence of arbitrary messages (each
// prefixed by a length octet and a flags octet choosing the source and
// whether the destination is multicast) in both modes: Handle never
// panics, the table never exceeds MaxTargets, every route Route returns
// is at most MaxDepth long without an address twice, and every reply
// parses.
func FuzzRootHandle(f *testing.F) {
	add := func(mode uint8, msgs ...[]byte) {
		var b []byte
		for i, m := range msgs {
			b = append(b, byte(len(m)), byte(i))
			b = append(b, m...)
		}
		f.Add(mode, b)
	}
	dao := func(seq uint8, target, parent string, life uint8) []byte {
		return testDAO(f, 1, seq, true, daoTarget{target, parent, life, seq})
	}
	add(0, AppendDIS(nil), dao(1, "2001:db8::11", "2001:db8::1", 5), dao(2, "2001:db8::12", "2001:db8::11", 5),
		dao(3, "2001:db8::11", "2001:db8::12", 5), dao(4, "2001:db8::12", "", 0))
	add(1, dao(1, "2001:db8::11", "", 5), buildDAO(f, true), buildDIO(f), AppendDIS(nil))
	add(0, buildDAO(f, false), must(AppendDAOACK(nil, &DAOACKFields{Instance: 1, Sequence: 2})))
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		const maxTargets, maxDepth = 8, 4
		if len(in) > 1024 {
			// Long inputs add nothing a sequence of 1 KiB does not reach, and
			// make the fuzzer's minimisation crawl.
			in = in[:1024]
		}
		mop := uint8(MOPNonStoring)
		if mode&1 != 0 {
			mop = MOPStoring
		}
		r, err := NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: mop,
			MaxTargets: maxTargets, MaxDepth: maxDepth, LifetimeUnit: 1}, t0)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		var seen []netip.Addr
		for len(in) >= 2 {
			n, flags := int(in[0]), in[1]
			in = in[2:]
			n = min(n, len(in))
			msg := in[:n:n]
			in = in[n:]
			src := netip.AddrFrom16([16]byte{0xfe, 0x80, 15: flags & 0x7})
			if flags&0x8 != 0 {
				src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: flags & 0x7})
			}
			dst := rootID
			if flags&0x10 != 0 {
				dst = AllRPLNodes
			}
			now = now.Add(time.Duration(flags>>5) * time.Second)
			for _, rep := range r.Handle(nil, Message(msg), src, dst, now) {
				if _, err := Parse(rep.Msg); err != nil {
					t.Fatalf("reply does not parse: %v", err)
				}
			}
			if r.Len() > maxTargets {
				t.Fatalf("%d targets", r.Len())
			}
			if m, err := Parse(msg); err == nil && m.Code() == CodeDAO {
				it := m.Options().Iter()
				for o, done, err := it.Next(); !done && err == nil; o, done, err = it.Next() {
					if o.Type() == OptTarget {
						seen = append(seen, Target(o).Prefix().Addr())
					}
				}
			}
			r.Tick(nil, now)
		}
		for _, a := range seen {
			got, err := r.Route(nil, a, now)
			if err != nil {
				continue
			}
			if len(got) > maxDepth || len(got) == 0 || got[len(got)-1] != a && mop == MOPNonStoring {
				t.Fatalf("route to %s: %v", a, got)
			}
			for i := range got {
				for j := range i {
					if got[i] == got[j] {
						t.Fatalf("route to %s repeats %s: %v", a, got[i], got)
					}
				}
			}
		}
		r.Expire(now.Add(time.Hour))
		if r.Len() != 0 && mop == MOPStoring {
			// Lifetimes are at most 254 × 1 s; 0xff is infinite.
			for _, e := range r.hosts {
				if e.expires != never {
					t.Fatalf("an entry outlived its lifetime: %+v", e)
				}
			}
		}
	})
}
