package borderrouter

import (
	"fmt"
	"reflect"
	"time"
)

// keysChangeableAtRunTime are applied by Reload; every other key needs a
// restart (the radio, the TUN, the listeners, the simulated world and the
// registry are built once).
var keysChangeableAtRunTime = map[string]bool{
	"log.level":     true,
	"mesh.contexts": true,
}

// ReloadReport says what a Reload did.
type ReloadReport struct {
	// Applied are the keys whose new values took effect.
	Applied []string
	// NeedRestart are the keys whose new values were left alone; the
	// border router runs on as configured before for those. Fields of
	// Config without a key are named as Go names them (Sim.EUI64).
	NeedRestart []string
}

// changedKeys lists the keys whose values differ between a and b, and the
// fields without a key that differ.
func changedKeys(a, b *Config) []string {
	var out []string
	for i := range keyTable {
		k := &keyTable[i]
		if !reflect.DeepEqual(k.v.text(a), k.v.text(b)) {
			out = append(out, k.Name)
		}
	}
	if a.Sim.EUI64 != b.Sim.EUI64 {
		out = append(out, "Sim.EUI64")
	}
	if a.Sim.TimeScale != b.Sim.TimeScale {
		out = append(out, "Sim.TimeScale")
	}
	return out
}

// Reload applies a new configuration (what SIGHUP does): the log level and
// the compression contexts change at once, new contexts going through the
// RFC 6775 §7.2 life cycle (and the ABRO version increasing); other
// changes are listed as needing a restart and otherwise ignored. A bad
// cfg gives a *ConfigError and changes nothing. The log level needs a
// restart when the border router's logger was given without its level
// (WithLogger).
func (b *BorderRouter) Reload(cfg Config) (ReloadReport, error) {
	var rep ReloadReport
	if err := cfg.Validate(); err != nil {
		return rep, err
	}
	cfg = cfg.resolved()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range changedKeys(&b.cfg, &cfg) {
		if !keysChangeableAtRunTime[k] || k == "log.level" && b.level == nil {
			rep.NeedRestart = append(rep.NeedRestart, k)
			continue
		}
		switch k {
		case "log.level":
			b.level.Set(cfg.Log.Level)
			b.cfg.Log.Level = cfg.Log.Level
		case "mesh.contexts":
			if err := b.nd.SetAdvertised(b.cfg.Mesh.Prefix, cfg.Mesh.Contexts, time.Now()); err != nil {
				return rep, fmt.Errorf("mesh.contexts: %w", err)
			}
			if err := b.nd.ApplyContexts(b.contexts); err != nil {
				return rep, fmt.Errorf("mesh.contexts: %w", err)
			}
			b.cfg.Mesh.Contexts = cfg.Mesh.Contexts
		}
		rep.Applied = append(rep.Applied, k)
	}
	return rep, nil
}
