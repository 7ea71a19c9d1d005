package rpl

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	testDODAGID = netip.MustParseAddr("2001:db8::1")
	testLL      = netip.MustParseAddr("fe80::1")
	testROVR    = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
)

// must unwraps an encoder's result; encoders fail only on bad
// arguments, which would be a bug in the test.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

var testConfig = DODAGConfigFields{
	Compression8138: true, RPI0x23: true, PCS: 3,
	DIOIntervalDoublings: 20, DIOIntervalMin: 3, DIORedundancy: 10,
	MaxRankIncrease: 2048, MinHopRankIncrease: 256, OCP: 1,
	DefaultLifetime: 30, LifetimeUnit: 60,
}

// buildDIO is a DIO as the root sends it: configuration, PIO with R,
// a route, a metric container and padding.
func buildDIO(t testing.TB) []byte {
	b := must(AppendDIO(nil, &DIOFields{Instance: 30, Version: 240, Rank: 256, Grounded: true,
		MOP: MOPNonStoring, Preference: 5, DTSN: 7, DODAGID: testDODAGID}))
	b = must(AppendDODAGConfig(b, &testConfig))
	b = must(AppendPrefixInfo(b, &PrefixInfoFields{Address: testDODAGID, PrefixLength: 64,
		Flags: PrefixFlagA | PrefixFlagR, ValidLifetime: 86400, PreferredLifetime: 14400}))
	b = must(AppendRouteInfo(b, netip.MustParsePrefix("2001:db8:5::/48"), 1, 3600))
	b = must(AppendMetricContainer(b, []byte{7, 0, 0, 2, 0, 128}))
	b = AppendPad(b, 1)
	return AppendPad(b, 5)
}

func buildDAO(t testing.TB, withID bool) []byte {
	f := DAOFields{Instance: 30, AckRequested: true, Sequence: 241}
	if withID {
		f.DODAGID = testDODAGID
	}
	b := must(AppendDAO(nil, &f))
	b = must(AppendTarget(b, netip.MustParsePrefix("2001:db8::42/128"), 0, nil))
	b = AppendTargetDescriptor(b, 0xdeadbeef)
	b = must(AppendTarget(b, netip.MustParsePrefix("2001:db8:7::/56"), 0, nil))
	tf := TransitFields{PathControl: 0x80, PathSequence: 9, PathLifetime: 5}
	if withID {
		tf.Parent = netip.MustParseAddr("2001:db8::17")
		tf.External = true
	}
	return must(AppendTransit(b, &tf))
}

func TestDIORoundTrip(t *testing.T) {
	m, err := Parse(buildDIO(t))
	if err != nil {
		t.Fatal(err)
	}
	d := m.DIO()
	type dio struct {
		Code                              Code
		Instance, Version, MOP, Prf, DTSN uint8
		Rank                              uint16
		G                                 bool
		ID                                netip.Addr
	}
	got := dio{m.Code(), d.Instance(), d.Version(), d.MOP(), d.Preference(), d.DTSN(), d.Rank(), d.Grounded(), d.DODAGID()}
	want := dio{CodeDIO, 30, 240, MOPNonStoring, 5, 7, 256, true, testDODAGID}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("DIO base (-want +got):\n%s", diff)
	}
	c := DODAGConfig(m.Options().Find(OptDODAGConfig))
	gotC := DODAGConfigFields{c.Compression8138(), c.RPI0x23(), c.Authentication(), c.PCS(),
		c.DIOIntervalDoublings(), c.DIOIntervalMin(), c.DIORedundancy(), c.MaxRankIncrease(),
		c.MinHopRankIncrease(), c.OCP(), c.DefaultLifetime(), c.LifetimeUnit()}
	if diff := cmp.Diff(testConfig, gotC); diff != "" {
		t.Errorf("DODAG Configuration (-want +got):\n%s", diff)
	}
	if c.Flags() != 0x33 {
		t.Errorf("config flags 0x%02x, want T|D|PCS 3 = 0x33", c.Flags())
	}
	p := PrefixInfo(m.Options().Find(OptPrefixInfo))
	if p.Address() != testDODAGID || p.Prefix() != netip.MustParsePrefix("2001:db8::/64") ||
		p.Flags() != PrefixFlagA|PrefixFlagR || p.ValidLifetime() != 86400 || p.PreferredLifetime() != 14400 {
		t.Errorf("PIO %x", []byte(p))
	}
	r := RouteInfo(m.Options().Find(OptRouteInfo))
	if r.Prefix() != netip.MustParsePrefix("2001:db8:5::/48") || r.Preference() != 1 || r.Lifetime() != 3600 {
		t.Errorf("RIO %x", []byte(r))
	}
	var types []OptionType
	it := m.Options().Iter()
	for {
		o, done, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		types = append(types, o.Type())
	}
	want2 := []OptionType{OptDODAGConfig, OptPrefixInfo, OptRouteInfo, OptMetricContainer, OptPad1, OptPadN}
	if diff := cmp.Diff(want2, types); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestDAORoundTrip(t *testing.T) {
	for _, withID := range []bool{false, true} {
		m, err := Parse(buildDAO(t, withID))
		if err != nil {
			t.Fatal(err)
		}
		d := m.DAO()
		id, ok := d.DODAGID()
		if d.Instance() != 30 || !d.AckRequested() || d.Sequence() != 241 || ok != withID || withID && id != testDODAGID {
			t.Errorf("DAO base %x", []byte(d))
		}
		var targets []netip.Prefix
		var transit Transit
		var desc uint32
		it := m.Options().Iter()
		for o, done, err := it.Next(); !done; o, done, err = it.Next() {
			if err != nil {
				t.Fatal(err)
			}
			switch o.Type() {
			case OptTarget:
				targets = append(targets, Target(o).Prefix())
			case OptTransit:
				transit = Transit(o)
			case OptTargetDescriptor:
				desc = TargetDescriptor(o).Descriptor()
			}
		}
		want := []netip.Prefix{netip.MustParsePrefix("2001:db8::42/128"), netip.MustParsePrefix("2001:db8:7::/56")}
		if diff := cmp.Diff(want, targets, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
		parent, hasParent := transit.Parent()
		if desc != 0xdeadbeef || transit.PathControl() != 0x80 || transit.PathSequence() != 9 ||
			transit.PathLifetime() != 5 || hasParent != withID || transit.External() != withID ||
			withID && parent != netip.MustParseAddr("2001:db8::17") {
			t.Errorf("transit %x descriptor %x", []byte(transit), desc)
		}
	}
}

func TestDAOACKAndDIS(t *testing.T) {
	for _, id := range []netip.Addr{{}, testDODAGID} {
		m, err := Parse(must(AppendDAOACK(nil, &DAOACKFields{Instance: 1, Sequence: 250, Status: 129, DODAGID: id})))
		if err != nil {
			t.Fatal(err)
		}
		a := m.DAOACK()
		got, ok := a.DODAGID()
		if a.Instance() != 1 || a.Sequence() != 250 || a.Status() != 129 || ok != id.IsValid() || ok && got != id {
			t.Errorf("DAO-ACK %x", []byte(m))
		}
	}
	b := AppendDIS(nil)
	b = must(AppendSolicitedInfo(b, 30, SolicitedFlagV|SolicitedFlagD, testDODAGID, 240))
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	s := SolicitedInfo(m.Options().Find(OptSolicitedInfo))
	if m.Code() != CodeDIS || m.DIS().Flags() != 0 || s.Instance() != 30 || s.Flags() != SolicitedFlagV|SolicitedFlagD ||
		s.DODAGID() != testDODAGID || s.Version() != 240 {
		t.Errorf("DIS %x", b)
	}
}

func TestTargetROVR(t *testing.T) {
	for _, n := range []int{8, 16, 24, 32} {
		p := netip.MustParsePrefix("2001:db8::99/128")
		b := must(AppendTarget(nil, p, TargetFlagF, testROVR[:min(n, 16)]))
		if n > 16 {
			b = must(AppendTarget(nil, p, TargetFlagF, append(append([]byte{}, testROVR...), testROVR[:n-16]...)))
		}
		o := Option(b)
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
		tg := Target(o)
		if tg.Prefix() != p || tg.ROVRSize() != n || len(tg.ROVR()) != n || tg.ROVR()[0] != 1 || tg.Flags()&TargetFlagF == 0 {
			t.Errorf("ROVR %d: %x", n, b)
		}
	}
	if _, err := AppendTarget(nil, netip.MustParsePrefix("2001:db8::/64"), 0, make([]byte, 12)); !errors.Is(err, ErrEncode) {
		t.Errorf("12-octet ROVR: %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	dio := buildDIO(t)
	dao := buildDAO(t, true)
	set := func(b []byte, i int, v byte) []byte { c := append([]byte{}, b...); c[i] = v; return c }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"not RPL", set(dio, 0, 134), ErrNotRPL},
		{"secure DIO", set(dio, 1, byte(CodeSecureDIO)), ErrSecure},
		{"CC", set(dio, 1, byte(CodeCC)), ErrSecure},
		{"P2P DRO", set(dio, 1, 0x04), ErrUnknownCode},
		{"DIO base short", dio[:27], ErrTruncated},
		{"DAO D without DODAGID", dao[:12], ErrTruncated},
		{"DAO-ACK D without DODAGID", []byte{155, 3, 0, 0, 1, 0x80, 1, 0, 0xfe}, ErrTruncated},
		{"option overrun", dio[:len(dio)-1], ErrTruncated},
		{"config length 13", set(dio, 29, 13), ErrOption},
		{"PadN 6", append(AppendDIS(nil), 1, 6, 0, 0, 0, 0, 0, 0), ErrOption},
		{"transit length 5", append(must(AppendDAO(nil, &DAOFields{})), 6, 5, 0, 0, 0, 0, 0), ErrOption},
		{"target prefix past 16", append(must(AppendDAO(nil, &DAOFields{})), append([]byte{5, 19, 0, 128}, make([]byte, 17)...)...), ErrOption},
		{"target short for prefix length", append(must(AppendDAO(nil, &DAOFields{})), 5, 4, 0, 64, 0x20, 0x01), ErrOption},
		{"target ROVRsz 5", append(must(AppendDAO(nil, &DAOFields{})), append([]byte{5, 58, 5, 128}, make([]byte, 56)...)...), ErrOption},
		{"PIO length 129", set(dio, 46, 129), ErrOption},
		{"route info prefix length 200", append(AppendDIS(nil), 3, 6, 200, 0, 0, 0, 0, 0), ErrOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.b)
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse(%x) = %v, want %v", tt.b, err, tt.want)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	m := Message(buildDIO(t))
	m.SetChecksum(testLL, AllRPLNodes)
	if !m.ChecksumValid(testLL, AllRPLNodes) || m.Checksum() == 0 {
		t.Fatal("checksum not valid after SetChecksum")
	}
	m[10] ^= 1
	if m.ChecksumValid(testLL, AllRPLNodes) {
		t.Fatal("checksum valid after a bit flip")
	}
}

func TestPad(t *testing.T) {
	for n := range 20 {
		b := AppendPad(nil, n)
		if len(b) != n {
			t.Fatalf("AppendPad(%d) gave %d octets", n, len(b))
		}
		if err := Options(b).Validate(); err != nil {
			t.Fatalf("AppendPad(%d): %v", n, err)
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	dio, dao := buildDIO(t), buildDAO(t, true)
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range [][]byte{dio, dao} {
			m, err := Parse(b)
			if err != nil {
				panic(err)
			}
			it := m.Options().Iter()
			for o, done, _ := it.Next(); !done; o, done, _ = it.Next() {
				if o.Type() == OptTarget {
					_ = Target(o).Prefix()
				}
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Parse and iterate: %v allocations, want 0", allocs)
	}
}
