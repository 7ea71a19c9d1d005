package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// lowpanbr web prints the URL the daemon's API gives, with its token;
// --json prints the answer; errors say what is wrong.
func TestWebCommand(t *testing.T) {
	const url = "http://127.0.0.1:9580/#token=00112233"
	sock := fakeAPI(t, map[string]any{"GET /api/v1/web": borderrouter.WebInfo{URL: url, Controls: true}})
	out, err := runCmd(t, runWeb, "--api", sock)
	if err != nil || out != url+"\n" {
		t.Errorf("web: %q, %v; want the URL", out, err)
	}
	out, err = runCmd(t, runWeb, "--json", "--api", sock)
	var got borderrouter.WebInfo
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.URL != url || !got.Controls {
		t.Errorf("web --json: %q, %v", out, err)
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	checkKeys(t, "web", m)

	t.Setenv("LOWPANBR_API_SOCKET", sock)
	if out, err := runCmd(t, runWeb); err != nil || out != url+"\n" {
		t.Errorf("web with $LOWPANBR_API_SOCKET: %q, %v", out, err)
	}
	if _, err := runCmd(t, runWeb, "extra"); !errors.Is(err, errUsage) {
		t.Errorf("web extra: %v, want a usage error", err)
	}
	off := fakeAPI(t, map[string]any{})
	if _, err := runCmd(t, runWeb, "--api", off); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("web on a daemon without the page: %v", err)
	}
	if _, err := runCmd(t, runWeb, "--api", filepath.Join(t.TempDir(), "none.sock")); err == nil || !strings.Contains(err.Error(), "no daemon answers") {
		t.Errorf("web with no daemon: %v", err)
	}
}
