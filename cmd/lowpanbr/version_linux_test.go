package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A binary from `go build -buildvcs=auto` (the flag overrides a
// GOFLAGS=-buildvcs=false of the environment) reports what `go version -m` reads from it: its module version and,
// when the build had VCS information, the revision and the dirty flag.
func TestVersionOfGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	bin := filepath.Join(t.TempDir(), "lowpanbr")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	line := strings.TrimSpace(string(out))
	m, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	info := string(m)
	mod := regexp.MustCompile(`(?m)^\tmod\t\S+\t(\S+)`).FindStringSubmatch(info)
	if mod == nil {
		t.Fatalf("go version -m has no mod line:\n%s", info)
	}
	wantVersion := mod[1]
	if wantVersion == "(devel)" {
		wantVersion = "dev"
	}
	if !strings.HasPrefix(line, "lowpanbr "+wantVersion+" ") && line != "lowpanbr "+wantVersion {
		t.Errorf("--version = %q; go version -m says the module version is %s", line, mod[1])
	}
	if rev := regexp.MustCompile(`(?m)^\tbuild\tvcs\.revision=(\S+)`).FindStringSubmatch(info); rev != nil {
		if !strings.Contains(line, " revision="+rev[1]) {
			t.Errorf("--version = %q; want revision=%s", line, rev[1])
		}
		mod := regexp.MustCompile(`(?m)^\tbuild\tvcs\.modified=(\S+)`).FindStringSubmatch(info)
		if mod != nil && !strings.Contains(line, " dirty="+mod[1]) {
			t.Errorf("--version = %q; want dirty=%s", line, mod[1])
		}
	} else {
		t.Logf("this build has no VCS information; --version = %q", line)
	}
}
