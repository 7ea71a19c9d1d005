//go:build linux

package hostif

import (
	"strings"
	"testing"
)

// TestEnableForwarding checks that forwarding is set on "all" and on the
// interfaces named, and that restore brings back every interface's own
// value, including one that differed from "all" (which writing "all"
// overwrites).
func TestEnableForwarding(t *testing.T) {
	tunEnterNetns(t)
	dev := openTestTUN(t, "lowpan0", 0)
	if err := writeForwarding("all", "0"); err != nil {
		t.Fatal(err)
	}
	if err := writeForwarding("lo", "1"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"all": "0", "default": "0", "lo": "1", "lowpan0": "0"}
	check := func(when string, want map[string]string) {
		t.Helper()
		for conf, v := range want {
			if got := readSysctl(t, conf); got != v {
				t.Errorf("%s: net.ipv6.conf.%s.forwarding = %s, want %s", when, conf, got, v)
			}
		}
	}
	check("before", want)

	restore, err := EnableForwarding(true, dev.Name())
	if err != nil {
		t.Fatal(err)
	}
	check("enabled", map[string]string{"all": "1", "default": "1", "lo": "1", "lowpan0": "1"})
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	check("restored", want)
	if err := restore(); err != nil {
		t.Errorf("second restore: %v", err)
	}

	// "all" already on, but this interface turned off on its own: only
	// naming it turns it on.
	if err := writeForwarding("all", "1"); err != nil {
		t.Fatal(err)
	}
	if err := writeForwarding("lowpan0", "0"); err != nil {
		t.Fatal(err)
	}
	restore, err = EnableForwarding(true, "lowpan0")
	if err != nil {
		t.Fatal(err)
	}
	check("enabled over all=1", map[string]string{"all": "1", "lowpan0": "1"})
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	check("restored over all=1", map[string]string{"all": "1", "lowpan0": "0"})

	// Disabling works the same way round.
	restore, err = EnableForwarding(false)
	if err != nil {
		t.Fatal(err)
	}
	check("disabled", map[string]string{"all": "0", "lo": "0"})
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	check("restored after disable", map[string]string{"all": "1", "lowpan0": "0"})

	// A missing interface fails and leaves everything as it was.
	if err := writeForwarding("all", "0"); err != nil {
		t.Fatal(err)
	}
	if _, err := EnableForwarding(true, "nosuch0"); err == nil || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("EnableForwarding with a missing interface: %v", err)
	}
	check("after the failure", map[string]string{"all": "0", "default": "0"})
}
