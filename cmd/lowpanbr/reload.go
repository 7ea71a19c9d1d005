package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"time"
)

// keysChangeableAtRunTime are applied by SIGHUP; every other key needs a
// restart (the radio, the TUN, the listeners, the simulated world and the
// registry are built once).
var keysChangeableAtRunTime = map[string]bool{
	"log.level":     true,
	"mesh.contexts": true,
}

// draftOf turns a loaded configuration back into the loader's draft, so
// that the key table's getters can compare two configurations key by key.
func draftOf(cfg daemonConfig) *configDraft {
	d := &configDraft{daemonConfig: cfg}
	if cfg.Upstream != nil {
		d.upstream = *cfg.Upstream
	}
	return d
}

// changedKeys lists the keys whose values differ between a and b.
func changedKeys(a, b daemonConfig) []string {
	da, db := draftOf(a), draftOf(b)
	var out []string
	for _, k := range configKeys {
		if !reflect.DeepEqual(k.get(da), k.get(db)) {
			out = append(out, k.key)
		}
	}
	return out
}

// reload applies a re-read configuration: the log level and the
// compression contexts change at once (new contexts go through the RFC 6775
// §7.2 life cycle); other changes are reported as needing a restart and
// otherwise ignored, so the daemon keeps running as configured before.
func (d *daemon) reload(cfg daemonConfig, level *slog.LevelVar) (applied, needRestart []string, err error) {
	for _, k := range changedKeys(d.cfg, cfg) {
		if !keysChangeableAtRunTime[k] {
			needRestart = append(needRestart, k)
			continue
		}
		switch k {
		case "log.level":
			level.Set(cfg.LogLevel)
			d.cfg.LogLevel = cfg.LogLevel
		case "mesh.contexts":
			if err := d.nd.SetAdvertised(d.cfg.Prefix, cfg.Contexts, time.Now()); err != nil {
				return applied, needRestart, fmt.Errorf("mesh.contexts: %w", err)
			}
			if err := d.nd.ApplyContexts(d.contexts); err != nil {
				return applied, needRestart, fmt.Errorf("mesh.contexts: %w", err)
			}
			d.cfg.Contexts = cfg.Contexts
		}
		applied = append(applied, k)
	}
	return applied, needRestart, nil
}
