// Package oracle locates the independent implementations the tests
// cross-check against (tshark, Scapy; and, opt-in, OpenThread's ot-rcp and
// RIOT nodes: realimpl.go). On a developer's machine a missing
// tool skips the test with a message saying what to install; with
// LOWPANBR_REQUIRE_ORACLES=1 (set by .ci/run) it fails instead, so CI can
// never pass by skipping.
package oracle

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns skips into failures.
const RequireEnv = "LOWPANBR_REQUIRE_ORACLES"

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("oracle required ("+RequireEnv+"=1) but "+format, args...)
	}
	t.Skipf(format, args...)
}

// Tshark returns the path of tshark, or skips (fails in CI) when it is not
// installed.
func Tshark(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		missing(t, "tshark not installed (apt-get install tshark): %v", err)
	}
	return p
}

// Editcap returns the path of editcap (shipped with tshark).
func Editcap(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("editcap")
	if err != nil {
		missing(t, "editcap not installed (apt-get install tshark): %v", err)
	}
	return p
}

// ScapyPython returns a Python interpreter that can import Scapy. Debian's
// python3-scapy lives under /usr/bin/python3, which may not be the first
// python3 on PATH.
func ScapyPython(t testing.TB) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		p, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import scapy").Run() == nil {
			return p
		}
	}
	missing(t, "Scapy not installed (apt-get install python3-scapy)")
	return ""
}
