package borderrouter

import (
	"cmp"
	"net/netip"

	"github.com/lowpanbr/lowpanbr/upstream"
)

// Validate checks every field that has a key and returns nil or a
// *ConfigError with a FieldError for each bad one (Source is empty: a
// Config knows nothing of where its values were written; Loader.Load fills
// it in). It changes nothing.
func (c Config) Validate() error {
	return configError(c.validate())
}

func (c *Config) validate() []*FieldError {
	var errs []*FieldError
	bad := map[string]bool{} // sections with an error
	for i := range keyTable {
		k := &keyTable[i]
		for _, e := range k.v.check(c) {
			e.Key = k.Name
			errs = append(errs, e)
			bad[k.Section()] = true
		}
	}
	// The packages that take these sections check them again when the
	// border router is built. Their verdict on a configuration the keys
	// passed says that a check above has drifted from theirs; their error
	// is kept whole.
	if !bad["reassembly"] {
		r := c.Reassembly
		if err := r.Validate(); err != nil {
			errs = append(errs, &FieldError{Key: "reassembly", Err: err})
		}
	}
	if !bad["upstream"] && !bad["mesh"] {
		u := c.upstreamConfig()
		u.Interface = cmp.Or(u.Interface, "eth0") // only upstream.interface is about the interface
		if _, err := upstream.New(u); err != nil {
			errs = append(errs, &FieldError{Key: "upstream", Err: err})
		}
	}
	if !bad["sim"] {
		m := c.meshConfig()
		if err := m.Validate(); err != nil {
			errs = append(errs, &FieldError{Key: "sim", Err: err})
		}
	}
	return errs
}

// upstreamConfig is the upstream RA sender's configuration, routing the
// mesh prefix.
func (c *Config) upstreamConfig() upstream.Config {
	u := &c.Upstream
	return upstream.Config{Interface: u.Interface, Routes: []netip.Prefix{c.Mesh.Prefix.Masked()}, RouteLifetime: u.RouteLifetime,
		MinInterval: u.MinInterval, MaxInterval: u.MaxInterval, Preference: u.Preference, RouterLifetime: u.RouterLifetime}
}
