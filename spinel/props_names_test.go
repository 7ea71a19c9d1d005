package spinel

import "testing"

// What an ot-rcp built from OpenThread 34bb0e4 (simulation platform) lists
// in PROP_CAPS: 5, 12, 24, 34, 64, 65, 513, 518 (radio probe printed the
// first three as bare numbers before).
func TestCapNames(t *testing.T) {
	for c, want := range map[Cap]string{
		5: "COUNTERS", 12: "UNSOL_UPDATE_FILTER", 24: "802_15_4_2450MHZ_OQPSK", 34: "CONFIG_RADIO",
		64: "RCP_API_VERSION", 65: "RCP_MIN_HOST_API_VERSION", 513: "MAC_RAW", 518: "OPENTHREAD_LOG_METADATA",
		CapRCPLogCrashDump: "RCP_LOG_CRASH_DUMP", 9999: "CAP_9999",
	} {
		if got := c.String(); got != want {
			t.Errorf("Cap(%d).String() = %q, want %q", c, got, want)
		}
	}
}
