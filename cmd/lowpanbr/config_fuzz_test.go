package main

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile: whatever a configuration file holds, loading it gives a
// configuration or an error, never a panic; and the example always loads.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("radio:\n  channel: 20\n  pan_id: 0xbeef\nmesh:\n  prefix: fd00:1::/64\n  contexts: [0=fd00:1::/64]\n"))
	f.Add([]byte("sim:\n  topology: grid\n  rows: 2\n  cols: 2\n  links: [n1-n2=0.5, br-n1=off]\n"))
	f.Add([]byte("upstream:\n  interface: eth0\n  max_interval: 10s\n  min_interval: 3s\n"))
	f.Add([]byte("radio: [1, 2\n"))
	f.Add([]byte("log:\n  level: 7\nreassembly:\n  timeout: -1s\n"))
	dir := f.TempDir()
	noEnv := func(string) (string, bool) { return "", false }
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := loadConfig([]string{"--config", path}, noEnv)
		if err == nil && (cfg.Channel < 11 || cfg.Channel > 26 || cfg.TUNMTU < 1280 || !cfg.Prefix.IsValid()) {
			t.Fatalf("accepted an invalid configuration: channel %d, MTU %d, prefix %v", cfg.Channel, cfg.TUNMTU, cfg.Prefix)
		}
	})
}
