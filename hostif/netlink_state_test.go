package hostif

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "link.json")
	st := &linkState{
		Version: stateVersion, PID: 42, BootID: "b", NetNS: 7, Link: "lowpan0", Index: 5,
		MTU: &mtuChange{Old: 1500, Set: 1280}, SetUp: true,
		Addrs:      []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")},
		Routes:     []routeKey{{Dst: netip.MustParsePrefix("2001:db8:1::/64"), Metric: 1024, Table: 254}},
		Forwarding: &forwardingChange{Set: "1", Old: []sysctlValue{{"all", "0"}, {"default", "0"}, {"eth0", "1"}}},
	}
	for range 2 { // the second write replaces the first
		if err := writeStateFile(path, st); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("directory holds %d files, want only the state file (no temporaries)", len(ents))
	}
	if got, err := readStateFile(filepath.Join(dir, "none.json")); got != nil || err != nil {
		t.Errorf("missing file: %v, %v", got, err)
	}
}

func TestLinkConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"empty", Config{}, true},
		{"mesh", Config{MTU: 1280, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}, Routes: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/64")}}, true},
		{"small MTU", Config{MTU: 1000}, false},
		{"IPv4 address", Config{Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}}, false},
		{"mapped route", Config{Routes: []netip.Prefix{netip.MustParsePrefix("::ffff:192.0.2.0/120")}}, false},
		{"zero prefix", Config{Routes: []netip.Prefix{{}}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.cfg.validate(); (err == nil) != c.ok {
				t.Errorf("validate() = %v, want ok=%v", err, c.ok)
			}
		})
	}
}
