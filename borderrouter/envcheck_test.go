package borderrouter

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestMisspeltEnv(t *testing.T) {
	env := map[string]string{
		"LOWPANBR_RADIO_CHANEL":  "15", // a dropped letter
		"LOWPANBR_RADIO_CHANNEL": "20", // right: read
		"LOWPANBR_TUN_MUT":       "1500",
		"lowpanbr_state_dir":     "/srv/lbr", // the variable in the wrong case is not read either
		"LOWPANBR_API_SOCKET":    "/run/x",   // read by the status commands
		"LOWPANBR_OT_RCP":        "/tmp/ot-rcp",
		"LOWPANBR_FAULT_LONG":    "1",
		"PATH":                   "/usr/bin",
		"LOWPANBR_":              "",
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	l := &Loader{LookupEnv: fakeEnv(env), Environ: func() []string { return environ }}
	_, err := l.Load()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Load: %v, want a *ConfigError", err)
	}
	if !errors.Is(err, ErrUnknownEnv) {
		t.Errorf("Load: %v does not wrap ErrUnknownEnv", err)
	}
	var got []string
	for _, e := range ce.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		"$LOWPANBR_RADIO_CHANEL: not a lowpanbr setting; did you mean LOWPANBR_RADIO_CHANNEL?",
		"$LOWPANBR_TUN_MUT: not a lowpanbr setting; did you mean LOWPANBR_TUN_MTU?",
		"$lowpanbr_state_dir: not a lowpanbr setting; did you mean LOWPANBR_STATE_DIR?",
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The right variables alone load, and LOWPANBR_RADIO_CHANNEL counts.
	environ = []string{"LOWPANBR_RADIO_CHANNEL=20", "LOWPANBR_API_SOCKET=/run/x", "LOWPANBR_OT_RCP=/tmp/ot-rcp"}
	l.LookupEnv = fakeEnv(map[string]string{"LOWPANBR_RADIO_CHANNEL": "20"})
	cfg, err := l.Load()
	if err != nil || cfg.Radio.Channel != 20 {
		t.Errorf("Load = channel %d, %v; want 20, nil", cfg.Radio.Channel, err)
	}

	// A LookupEnv of the caller's own and no Environ: nothing is listed.
	l = &Loader{LookupEnv: fakeEnv(nil)}
	t.Setenv("LOWPANBR_RADIO_CHANEL", "15")
	if _, err := l.Load(); err != nil {
		t.Errorf("Load with LookupEnv only: %v", err)
	}
	// Neither: the process's environment, checked.
	l = &Loader{}
	if _, err := l.Load(); !errors.Is(err, ErrUnknownEnv) {
		t.Errorf("Load of the process environment: %v, want ErrUnknownEnv", err)
	}
}

// Every LOWPANBR_ variable the repository's code, Makefile and documents
// name is a key's, one of OtherEnv, or far enough from every key's not to
// be refused as a slip: the tests' opt-in variables share the prefix, and
// a new one too close to a key would make `lowpanbr run` refuse to start
// under the test that sets it.
func TestEnvOptInsAreNotSlips(t *testing.T) {
	known := map[string]bool{}
	for _, n := range OtherEnv {
		known[n] = true
	}
	for _, k := range Keys() {
		known[k.Env()] = true
	}
	re := regexp.MustCompile(`LOWPANBR_[A-Z0-9_]*[A-Z0-9]`)
	seen := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") && d.Name() != "Makefile" && !strings.HasSuffix(path, ".yml") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range re.FindAllString(string(data), -1) {
			seen[n] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d LOWPANBR_ names in the repository; the walk is broken", len(seen))
	}
	for n, path := range seen {
		// The tests of the check misspell on purpose.
		if known[n] || filepath.Base(path) == "envcheck_test.go" || filepath.Base(path) == "env_test.go" {
			continue
		}
		if near := nearestEnv(n); near != "" {
			t.Errorf("%s (in %s) is within %d edits of %s: lowpanbr would refuse to run with it set; rename it or add it to OtherEnv", n, path, envSlip, near)
		}
	}
}
