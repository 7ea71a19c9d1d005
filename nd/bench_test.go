package nd

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

const benchEntries = 10000

// benchAddr is the i-th address of the mesh prefix.
func benchAddr(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
}

func benchRequest(i int) Request {
	var eui [8]byte
	eui[0], eui[5], eui[6], eui[7] = 0x02, byte(i>>16), byte(i>>8), byte(i)
	return Request{Addr: benchAddr(i), Link: 1, ROVR: EUI64ROVR(eui), TID: 1, HasTID: true, Lifetime: 60, LinkAddr: lowpan.ExtendedLinkAddr(eui)}
}

func filledRegistry(tb testing.TB, n int) *Registry {
	r := NewRegistry(RegistryConfig{Capacity: 2 * n, Now: func() time.Time { return t0 }})
	for i := range n {
		if res := r.Register(benchRequest(i), t0); res.Status != StatusSuccess {
			tb.Fatal(res.Status)
		}
	}
	return r
}

func BenchmarkRegistryLookup(b *testing.B) {
	r := filledRegistry(b, benchEntries)
	addrs := make([]netip.Addr, benchEntries)
	for i := range addrs {
		addrs[i] = benchAddr(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := r.Lookup(addrs[i%benchEntries], t0); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkRegistryInsert registers new addresses into a registry that
// holds 10 000 established registrations (each new one is removed again,
// untimed in batches, so the size stays at 10 000).
func BenchmarkRegistryInsert(b *testing.B) {
	r := filledRegistry(b, benchEntries)
	const batch = 1000
	reqs := make([]Request, batch)
	for i := range reqs {
		reqs[i] = benchRequest(benchEntries + i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := i % batch
		if j == 0 && i > 0 {
			b.StopTimer()
			for k := range reqs {
				r.Remove(reqs[k].Addr, 1)
			}
			b.StartTimer()
		}
		if res := r.Register(reqs[j], t0.Add(time.Minute)); !res.Created {
			b.Fatal(res.Status)
		}
	}
}

// BenchmarkRegistryRefresh re-registers existing addresses (a newer TID).
func BenchmarkRegistryRefresh(b *testing.B) {
	r := filledRegistry(b, benchEntries)
	reqs := make([]Request, benchEntries)
	for i := range reqs {
		reqs[i] = benchRequest(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := &reqs[i%benchEntries]
		q.TID = NextTID(q.TID)
		if res := r.Register(*q, t0); res.Status != StatusSuccess {
			b.Fatal(res.Status)
		}
	}
}

func BenchmarkLatestRegistered(b *testing.B) {
	r := filledRegistry(b, benchEntries)
	node := benchRequest(4242).LinkAddr
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, ok := r.LatestRegistered(node, prefix1); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkParseNS(b *testing.B) {
	pkt := nsEARO(b, node1LL, node1G, eui1[:], 3, 10, ll1)
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if err := Parse(pkt, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandleRegistration(b *testing.B) {
	c := testConfig()
	r, err := New(c, t0)
	if err != nil {
		b.Fatal(err)
	}
	pkt := nsEARO(b, node1LL, node1G, eui1[:], 3, 10, ll1)
	var m Message
	if err := Parse(pkt, &m); err != nil {
		b.Fatal(err)
	}
	in := Incoming{Link: 1, LinkSrc: ll1, Local: ll2, Now: t0}
	replies := make([]Reply, 0, 2)
	b.ReportAllocs()
	for b.Loop() {
		replies = r.Handle(replies[:0], &m, in)
	}
}

// TestRegistryMemory measures the heap a registration costs: the registry
// with 10 000 direct registrations (each with its node index entry),
// divided by 10 000.
func TestRegistryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	reqs := make([]Request, benchEntries)
	for i := range reqs {
		reqs[i] = benchRequest(i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := NewRegistry(RegistryConfig{})
	for i := range reqs {
		r.Register(reqs[i], t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / benchEntries
	t.Logf("%d registrations: %.0f bytes each (heap in use)", r.Len(), per)
	runtime.KeepAlive(r)
	if per > 1024 {
		t.Errorf("%.0f bytes per registration", per)
	}
}

func BenchmarkRegistryNextHop(b *testing.B) {
	r := filledRegistry(b, benchEntries)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, ok := r.NextHop(benchAddr(i%benchEntries), t0); !ok {
			b.Fatal("miss")
		}
	}
}

// savingRouter is a router with a state file in a temporary directory
// (the machine's disk: fsync costs what it costs there) and n
// registrations.
func savingRouter(b *testing.B, n int) *Router {
	c := testConfig()
	c.StatePath = b.TempDir() + "/nd.json"
	c.RegistryCapacity = 2 * n
	r, err := New(c, t0)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		q := benchRequest(i)
		q.Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
		if res := r.reg.Register(q, t0); res.Status != StatusSuccess {
			b.Fatal(res.Status)
		}
	}
	if err := r.flush(t0, true); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkSaveFull rewrites the whole state file (and starts a new
// journal): what every registry change cost before the journal, and what
// a compaction costs now.
func BenchmarkSaveFull(b *testing.B) {
	for _, n := range []int{2000, 10000} {
		b.Run(itoa(n), func(b *testing.B) {
			r := savingRouter(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if err := r.flush(t0, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(r.snapshotSize), "file-octets")
		})
	}
}

// BenchmarkSaveJournal writes k changed registrations (refreshes) to the
// journal of a registry of n, with its fsync: what a burst of k changes
// within SaveDelay costs now.
func BenchmarkSaveJournal(b *testing.B) {
	for _, n := range []int{2000, 10000} {
		for _, k := range []int{1, 100} {
			b.Run(itoa(n)+"/changes="+itoa(k), func(b *testing.B) {
				r := savingRouter(b, n)
				r.snapshotSize = 1 << 40 // appends only: compactions are BenchmarkSaveFull
				reqs := make([]Request, k)
				for i := range reqs {
					reqs[i] = benchRequest(i)
					reqs[i].Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
				}
				b.ReportAllocs()
				var octets int64
				for b.Loop() {
					for i := range reqs {
						reqs[i].TID = NextTID(reqs[i].TID)
						r.reg.Register(reqs[i], t0)
					}
					before := r.jr.size
					if err := r.flush(t0, false); err != nil {
						b.Fatal(err)
					}
					if r.jr.size > before {
						octets = r.jr.size - before
					}
				}
				b.ReportMetric(float64(octets)/float64(k), "octets/change")
			})
		}
	}
}
