package rpl

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// benchAddr is the i-th node's global address.
func benchAddr(i int) netip.Addr {
	var a [16]byte
	copy(a[:], rootID.AsSlice()[:8])
	binary.BigEndian.PutUint64(a[8:], uint64(0x0252_504c_0000_0000)+uint64(i))
	return netip.AddrFrom16(a)
}

// benchParent is node i's parent in a 4-ary tree under the root (node 0
// being the root's first child): depth ≈ log4(n), 7 hops at 10,000.
func benchParent(i int) netip.Addr {
	if i < 4 {
		return rootID
	}
	return benchAddr(i/4 - 1)
}

// fillRoot records n targets with one DAO each, in mode mop.
func fillRoot(tb testing.TB, r *Root, n int, mop uint8) {
	tb.Helper()
	buf := make([]byte, 0, 64)
	for i := range n {
		b, _ := AppendDAO(buf[:0], &DAOFields{Instance: 1, Sequence: uint8(i)})
		b, _ = AppendTarget(b, netip.PrefixFrom(benchAddr(i), 128), 0, nil)
		src := netip.MustParseAddr("fe80::52:504c:0:1")
		var parent netip.Addr
		if mop == MOPNonStoring {
			parent, src = benchParent(i), benchAddr(i)
		}
		b, _ = AppendTransit(b, &TransitFields{PathLifetime: 30, Parent: parent})
		r.Handle(nil, Message(b), src, rootID, t0)
	}
	if r.Len() != n {
		tb.Fatalf("%d targets recorded of %d: %+v", r.Len(), n, r.Counters())
	}
}

const benchTargets = 10_000

// BenchmarkRootStateNonStoring measures the heap a non-storing root holds
// per target at 10,000 targets (issue 14's target: ≤ 300 octets),
// reported as B/target.
func BenchmarkRootStateNonStoring(b *testing.B) {
	var per float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := newTestRoot(b, RootConfig{Instance: 1, MaxTargets: benchTargets})
		fillRoot(b, r, benchTargets, MOPNonStoring)
		runtime.GC()
		runtime.ReadMemStats(&after)
		per = float64(after.HeapAlloc-before.HeapAlloc) / benchTargets
		runtime.KeepAlive(r)
	}
	b.ReportMetric(per, "B/target")
}

// TestRootStateSize keeps the per-target figure under the 300
// octets in the default run (at 2,000 targets, a fraction of a second).
func TestRootStateSize(t *testing.T) {
	const n = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := newTestRoot(t, RootConfig{Instance: 1})
	fillRoot(t, r, n, MOPNonStoring)
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	runtime.KeepAlive(r)
	if per > 300 {
		t.Errorf("%.0f octets per target", per)
	}
	t.Logf("%.0f octets per target at %d", per, n)
}

func benchRoute(b *testing.B, mop uint8) {
	r := newTestRoot(b, RootConfig{Instance: 1, MOP: mop, MaxTargets: benchTargets})
	fillRoot(b, r, benchTargets, mop)
	buf := make([]netip.Addr, 0, DefaultMaxDepth)
	now := t0.Add(time.Minute)
	hops, i := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := r.Route(buf[:0], benchAddr(i%benchTargets), now)
		if err != nil {
			b.Fatal(err)
		}
		hops += len(got)
		i += 7919 // a prime stride: spread over the table
	}
	b.ReportMetric(float64(hops)/float64(b.N), "hops/op")
}

// BenchmarkRootRouteStoring: the next hop at 10,000 targets (issue 14's
// target: ≤ 200 ns).
func BenchmarkRootRouteStoring(b *testing.B) { benchRoute(b, MOPStoring) }

// BenchmarkRootRouteNonStoring: the whole source route at 10,000 targets
// in a 4-ary tree (about 6 hops on average).
func BenchmarkRootRouteNonStoring(b *testing.B) { benchRoute(b, MOPNonStoring) }

// BenchmarkRootDAO: a non-storing DAO refreshing one of 10,000 targets,
// validated, recorded (loop check included) and acknowledged.
func BenchmarkRootDAO(b *testing.B) {
	r := newTestRoot(b, RootConfig{Instance: 1, MaxTargets: benchTargets})
	fillRoot(b, r, benchTargets, MOPNonStoring)
	i := benchTargets - 1 // a deep node: the longest loop check
	dao, _ := AppendDAO(nil, &DAOFields{Instance: 1, AckRequested: true, Sequence: 1})
	dao, _ = AppendTarget(dao, netip.PrefixFrom(benchAddr(i), 128), 0, nil)
	dao, _ = AppendTransit(dao, &TransitFields{PathLifetime: 30, Parent: benchParent(i)})
	out := make([]Reply, 0, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(dao)))
	for b.Loop() {
		out = r.Handle(out[:0], Message(dao), benchAddr(i), rootID, t0)
	}
	if len(out) != 1 || r.Counters().TargetsRefreshed == 0 {
		b.Fatalf("%+v", r.Counters())
	}
}
