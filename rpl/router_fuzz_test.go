package rpl

import (
	"net/netip"
	"testing"
	"time"
)

// FuzzRouterHandle feeds a router a sequence of arbitrary messages (each
// prefixed by a length octet and a flags octet choosing the source, the
// destination and the time step), after joining a root's DODAG in the
// mode the first argument picks: Handle and Tick never panic, the routes
// and parents stay within their bounds, every message sent parses with a
// valid checksum, and the rank is never below the preferred parent's.
func FuzzRouterHandle(f *testing.F) {
	add := func(mode uint8, msgs ...[]byte) {
		var b []byte
		for i, m := range msgs {
			b = append(b, byte(len(m)), byte(i))
			b = append(b, m...)
		}
		f.Add(mode, b)
	}
	childDAO := func(seq uint8, target string, life uint8) []byte {
		return testDAO(f, 1, seq, true, daoTarget{target, "", life, seq})
	}
	dio := func(rank uint16, version uint8) []byte {
		b := must(AppendDIO(nil, &DIOFields{Instance: 1, Version: version, Rank: rank, MOP: MOPStoring, DODAGID: rootID}))
		b = must(AppendDODAGConfig(b, &DODAGConfigFields{DIOIntervalMin: 3, DIOIntervalDoublings: 20, DIORedundancy: 10,
			MinHopRankIncrease: 256, DefaultLifetime: 5, LifetimeUnit: 1}))
		return must(AppendPrefixInfo(b, &PrefixInfoFields{Address: rootID, PrefixLength: 64, Flags: PrefixFlagR}))
	}
	add(1, childDAO(1, "2001:db8::11", 5), childDAO(2, "2001:db8::12", 0), AppendDIS(nil), dio(256, 241), dio(0xffff, 241))
	add(0, dio(768, 240), must(AppendDAOACK(nil, &DAOACKFields{Instance: 1, Sequence: 240})), buildDIO(f))
	add(1, buildDAO(f, false), dio(128, 239), must(AppendDAOACK(nil, &DAOACKFields{Instance: 1, Sequence: 241, Status: 130})))
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		const maxRoutes, maxParents = 8, 3
		if len(in) > 1024 {
			in = in[:1024]
		}
		mop := uint8(MOPNonStoring)
		if mode&1 != 0 {
			mop = MOPStoring
		}
		root, _ := NewRoot(RootConfig{Instance: 1, DODAGID: rootID, LinkLocal: rootLL, MOP: mop, LifetimeUnit: 1}, t0)
		r, err := NewRouter(RouterConfig{LinkLocal: routerLL(1), MaxRoutes: maxRoutes, MaxParents: maxParents, MaxRULs: 2,
			DISInterval: time.Second}, t0)
		if err != nil {
			t.Fatal(err)
		}
		check := func(out []Reply) {
			for _, rep := range out {
				m, err := Parse(rep.Msg)
				if err != nil || !m.ChecksumValid(rep.Src, rep.Dst) {
					t.Fatalf("sent %x: %v", []byte(rep.Msg), err)
				}
			}
		}
		now := t0
		check(r.Start(nil, now))
		if mode&2 != 0 {
			check(r.Handle(nil, Message(root.DIO(now)), rootLL, AllRPLNodes, now))
		}
		if mode&4 != 0 {
			out, _ := r.AddRUL(nil, netip.MustParseAddr("2001:db8::77"), []byte{1, 2, 3, 4, 5, 6, 7, 8}, 3, time.Minute, now)
			check(out)
		}
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
			dst := routerLL(1)
			if flags&0x10 != 0 {
				dst = AllRPLNodes
			}
			now = now.Add(time.Duration(flags>>5) * time.Second)
			check(r.Handle(nil, Message(msg), src, dst, now))
			if r.Routes() > maxRoutes || len(r.Parents()) > maxParents || r.RULs() > 2 {
				t.Fatalf("%d routes, %d parents, %d RULs", r.Routes(), len(r.Parents()), r.RULs())
			}
			if p := r.ParentRank(); r.Joined() && p != InfiniteRank && r.Rank() <= p {
				t.Fatalf("rank %d not above the parent's %d", r.Rank(), p)
			}
			if d := r.Next(now); d > 0 && d < time.Hour {
				now = now.Add(d)
			}
			check(r.Tick(nil, now))
		}
		check(r.Tick(nil, now.Add(time.Hour)))
		if r.Routes() != 0 && r.Config().DefaultLifetime != 0xff {
			// Lifetimes are at most 254 Lifetime Units; 0xff is infinite.
			for a, rt := range r.routes {
				if !rt.expires.IsZero() && !rt.expires.After(now.Add(time.Hour)) {
					t.Fatalf("route to %v outlived its lifetime", a)
				}
			}
		}
	})
}
