package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// The configuration's keys, values and errors are borderrouter's (its
// tests hold every key); here, how the command line feeds them.

// fakeEnv is a lookupEnv over a map.
func fakeEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadConfig reads run's command line, the configuration file and the
// environment.
func loadConfig(args []string, lookupEnv func(string) (string, bool)) (borderrouter.Config, []string, error) {
	src, pos, err := parseRunArgs(args, io.Discard, lookupEnv)
	if err != nil {
		return borderrouter.Config{}, nil, err
	}
	cfg, err := src.load()
	return cfg, pos, err
}

// Every key with a flag has it on run, and a flag overrides the file and
// the environment; a flag's error is a usage error, the file's is not.
func TestRunFlags(t *testing.T) {
	fs, _, err := parseRunArgs(nil, io.Discard, fakeEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	var usage bytes.Buffer
	fs.printFlags(&usage)
	for _, k := range borderrouter.Keys() {
		if k.Flag != "" && !strings.Contains(usage.String(), "--"+k.Flag) {
			t.Errorf("no --%s in run's usage", k.Flag)
		}
	}
	path := writeConfig(t, "radio:\n  channel: 20\nmesh:\n  contexts: [\"1=2001:db8:1::/64\"]\n")
	env := fakeEnv(map[string]string{"LOWPANBR_RADIO_CHANNEL": "21"})
	cfg, _, err := loadConfig([]string{"--config", path, "--channel", "22", "--context", "2=2001:db8:2::/64", "--context", "3=2001:db8:3::/64", "--forwarding"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Radio.Channel != 22 || len(cfg.Mesh.Contexts) != 2 || cfg.Mesh.Contexts[1].ID != 3 || !cfg.TUN.Forwarding {
		t.Errorf("flags did not override: channel %d, contexts %v, forwarding %v", cfg.Radio.Channel, cfg.Mesh.Contexts, cfg.TUN.Forwarding)
	}

	bad := writeConfig(t, "radio:\n  channel: 27\n")
	_, _, err = loadConfig([]string{"--config", bad, "--log-level", "loud"}, fakeEnv(nil))
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `--log-level: log.level: "loud"`) || !strings.Contains(err.Error(), "config "+bad+": radio.channel: 27") {
		t.Errorf("flag and file errors: %v", err)
	}
	_, _, err = loadConfig([]string{"--config", bad}, fakeEnv(nil))
	if err == nil || errors.Is(err, errUsage) {
		t.Errorf("without the bad flag: %v (usage error: %v)", err, errors.Is(err, errUsage))
	}
}

// Load again (SIGHUP) reads the file anew, with the same flags on top.
func TestConfigReload(t *testing.T) {
	path := writeConfig(t, "radio:\n  channel: 20\ntun:\n  mtu: 1400\n")
	src, pos, err := parseRunArgs([]string{"--config", path, "--mtu", "1500", "extra"}, io.Discard, fakeEnv(nil))
	if err != nil || !slices.Equal(pos, []string{"extra"}) {
		t.Fatalf("%v %q", err, pos)
	}
	cfg, err := src.load()
	if err != nil || cfg.Radio.Channel != 20 || cfg.TUN.MTU != 1500 || src.loader.Read() != path {
		t.Fatalf("first load: %v: channel %d, MTU %d, read %q", err, cfg.Radio.Channel, cfg.TUN.MTU, src.loader.Read())
	}
	if err := os.WriteFile(path, []byte("radio:\n  channel: 25\ntun:\n  mtu: 9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = src.load()
	if err != nil || cfg.Radio.Channel != 25 || cfg.TUN.MTU != 1500 {
		t.Fatalf("reload: %v: channel %d, MTU %d", err, cfg.Radio.Channel, cfg.TUN.MTU)
	}
}

// config example prints borderrouter's example, which config check
// accepts.
func TestConfigExampleCLI(t *testing.T) {
	var want bytes.Buffer
	if err := borderrouter.WriteExample(&want); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI("config", "example")
	if code != 0 || out != want.String() {
		t.Errorf("lowpanbr config example: exit %d, or output differs", code)
	}
	path := writeConfig(t, out)
	if code, out, errOut := runCLI("config", "check", "--config", path); code != 0 || out != "config OK: "+path+"\n" {
		t.Errorf("config check of the example: exit %d, %q %q", code, out, errOut)
	}
}

func TestConfigCheckCLI(t *testing.T) {
	good := writeConfig(t, "radio:\n  channel: 20\n")
	bad := writeConfig(t, "radio:\n  channel: 27\nfoo: 1\ntun:\n  mtu: 1000\n")
	tests := []struct {
		args         []string
		code         int
		stdout       string
		stderrSubstr []string
	}{
		{[]string{"config", "check", "--config", good}, 0, "config OK: " + good + "\n", nil},
		{[]string{"config", "check", "--config", ""}, 0, "config OK: defaults\n", nil},
		{[]string{"config", "check", "--config", bad}, 1, "", []string{
			"config " + bad + `: unknown key "foo"` + "\n",
			"config " + bad + ": radio.channel: 27: want 11..26\n",
			"config " + bad + ": tun.mtu: 1000: want 1280..65535\n",
			"lowpanbr config: check: 3 errors\n"}},
		{[]string{"config", "check", "--config", filepath.Join(t.TempDir(), "none.yaml")}, 1, "", []string{"no such file", "check: 1 error\n"}},
		{[]string{"config", "check", "--bogus"}, 2, "", []string{"lowpanbr config: unknown flag --bogus (see lowpanbr config -h)\n"}},
		{[]string{"config", "check", "--confg", "x"}, 2, "", []string{"unknown flag --confg; did you mean --config?"}},
		{[]string{"config", "check", "extra"}, 2, "", []string{"unexpected arguments"}},
		{[]string{"config", "example", "extra"}, 2, "", []string{"unexpected arguments"}},
		{[]string{"config"}, 2, "", []string{"missing subcommand"}},
		{[]string{"config", "frobnicate"}, 2, "", []string{`unknown subcommand "frobnicate"`}},
		{[]string{"config", "-h"}, 0, configUsage, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code || stdout != tt.stdout {
				t.Errorf("exit %d, stdout %q; want %d, %q\nstderr: %s", code, stdout, tt.code, tt.stdout, stderr)
			}
			for _, s := range tt.stderrSubstr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}
