package oracle

import (
	"os"
	"testing"
)

// The real implementations the opt-in tests run against. CI cannot fetch
// or build them, so their tests skip (naming the variable) when it is not
// set, even with RequireEnv: CI holds the code against the bytes captured
// from them instead (testdata READMEs say how).
const (
	// EnvOTRCP names OpenThread's simulation ot-rcp
	// (radio/rcp/testdata/ot-rcp/README.md, README's development section).
	EnvOTRCP = "LOWPANBR_OT_RCP"
	// EnvRIOT6LN names a RIOT GNRC 6LN built for native64 with socket_zep
	// (sim/medium/testdata/riot/README.md).
	EnvRIOT6LN = "LOWPANBR_RIOT_6LN"
)

// OTRCP returns the path of OpenThread's ot-rcp, or skips the test.
func OTRCP(t testing.TB) string {
	t.Helper()
	return realImpl(t, EnvOTRCP, "OpenThread's simulation ot-rcp")
}

// RIOT6LN returns the path of a RIOT GNRC 6LN ELF, or skips the test.
func RIOT6LN(t testing.TB) string {
	t.Helper()
	return realImpl(t, EnvRIOT6LN, "a RIOT GNRC 6LN built for native64 with socket_zep")
}

func realImpl(t testing.TB, env, what string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Skipf("set %s to %s (README, \"Against the real implementations\") to run this test", env, what)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", env, p, err)
	}
	return p
}
