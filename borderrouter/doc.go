// Package borderrouter builds a 6LoWPAN border router from a typed Config:
// the composition root of lowpanbr as a library, used by the lowpanbr
// command, by the end-to-end tests and by any program that embeds a border
// router.
//
// A Config comes from Defaults, changed in code, or from a Loader that
// reads the configuration file, the environment and command-line
// overrides; Keys lists every key, and the key table behind it drives the
// defaults, the flags, the environment, the example file (WriteExample)
// and the validation. Validate reports every bad field as a FieldError
// (key, value as written, where it was written, reason) in a ConfigError.
//
// New brings the border router up: the radio (the built-in simulated RCP
// behind a PTY when no radio URL is configured, with the simulated medium,
// mesh and BLE nodes around it), the 6LoWPAN link, the 6LBR, the TUN and
// its addresses and routes, the forwarder, upstream RAs, BLE, the metrics
// server and the status API. Run moves packets until its context ends or
// a component fails, then takes everything down; Close does the same from
// outside. Status, Registrations, Routes and SimNodes are what the status
// API serves; Reload applies a new configuration where it can (the log
// level, the compression contexts) and lists what needs a restart.
package borderrouter
