package main

import (
	"strings"
	"testing"
)

// A misspelt LOWPANBR_ variable stops run and config check with one line
// naming the variable meant; run stops before it brings anything up.
func TestMisspeltEnvCLI(t *testing.T) {
	t.Setenv("LOWPANBR_RADIO_CHANEL", "15")
	const line = "$LOWPANBR_RADIO_CHANEL: not a lowpanbr setting; did you mean LOWPANBR_RADIO_CHANNEL?\n"
	code, stdout, stderr := runCLI("config", "check", "--config", "")
	if code != 1 || stdout != "" || stderr != line+"lowpanbr config: check: 1 error\n" {
		t.Errorf("config check: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("run", "--config", "")
	if code != 1 || stdout != "" || stderr != "lowpanbr run: "+line {
		t.Errorf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// An opt-in variable far from every setting is no error.
func TestOptInEnvCLI(t *testing.T) {
	t.Setenv("LOWPANBR_OT_RCP", "/nonexistent/ot-rcp")
	t.Setenv("LOWPANBR_RADIO_CHANNEL", "20")
	code, stdout, stderr := runCLI("config", "check", "--config", "")
	if code != 0 || stdout != "config OK: defaults\n" || strings.TrimSpace(stderr) != "" {
		t.Errorf("config check: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
