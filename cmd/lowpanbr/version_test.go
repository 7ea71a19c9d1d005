package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "-buildmode", Value: "exe"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "15b00641a2b3c4d5e6f708192a3b4c5d6e7f8091"},
		{Key: "vcs.time", Value: "2026-12-07T21:50:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"no build info", "dev", nil, false, "lowpanbr dev"},
		{"go test binary", "dev", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/lowpanbr/lowpanbr", Version: "(devel)"}}, true,
			"lowpanbr dev go=go1.26.0"},
		{"go build in a dirty checkout", "dev", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261207215000-15b00641a2b3+dirty"}, Settings: vcs}, true,
			"lowpanbr v0.0.0-20261207215000-15b00641a2b3+dirty revision=15b00641a2b3c4d5e6f708192a3b4c5d6e7f8091 dirty=true time=2026-12-07T21:50:00Z go=go1.26.0"},
		{"-ldflags version wins", "1.2.3", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261207215000-15b00641a2b3+dirty"}, Settings: vcs[:4]}, true,
			"lowpanbr 1.2.3 revision=15b00641a2b3c4d5e6f708192a3b4c5d6e7f8091 time=2026-12-07T21:50:00Z go=go1.26.0"},
		{"go install of a tag", "dev", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"}}, true,
			"lowpanbr v1.4.0 go=go1.26.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := version
			version = tt.ldflags
			defer func() { version = saved }()
			if got := versionLine(tt.bi, tt.ok); got != tt.want {
				t.Errorf("versionLine = %q, want %q", got, tt.want)
			}
		})
	}
}

// The command path: version, --version and -version print the same line,
// the one the build info of this (test) binary gives.
func TestVersion(t *testing.T) {
	want := versionLine(debug.ReadBuildInfo()) + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errs := runCLI(args...)
		if code != 0 || out != want || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", args, code, out, errs, want)
		}
	}
	if code, _, errs := runCLI("version", "extra"); code != 2 || !strings.Contains(errs, "unexpected arguments") {
		t.Errorf("version extra: exit %d, stderr %q", code, errs)
	}
}
