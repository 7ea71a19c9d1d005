package borderrouter

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is wrapped by the FieldError of a key the configuration
// file has but Keys does not: a misspelt key must not silently leave its
// default.
var ErrUnknownKey = errors.New("unknown key")

// Errors of a BorderRouter's life cycle.
var (
	ErrRunning = errors.New("borderrouter: already running")
	ErrClosed  = errors.New("borderrouter: closed")
	// ErrNoSimulation: the operation needs the simulated world (a
	// simulated RCP, simulated nodes), and the border router drives real
	// radios.
	ErrNoSimulation = errors.New("no simulated nodes: the border router drives real radios")
	// ErrNoSuchNode: no simulated node has that name.
	ErrNoSuchNode = errors.New("no such simulated node")
)

// FieldError is one thing wrong with a configuration: which key, the value
// as written, where it was written and what is wrong or allowed.
type FieldError struct {
	// Key is the configuration key ("radio.channel"); a section name for
	// a check of the section as a whole; "" when the error is about the
	// file as a whole (its YAML syntax).
	Key string
	// Value is the bad value as written: 27, "eleven" (text is quoted),
	// 1m1s; "" when there is none to show.
	Value string
	// Source is where the value was written: "config FILE",
	// "$LOWPANBR_RADIO_CHANNEL", a command-line flag "--channel"; "" for a
	// default or a Config built in code.
	Source string
	// Reason says what is wrong and what is allowed ("want 11..26"). It
	// is empty when Err, a library's error that names the value itself,
	// says it all.
	Reason string
	// Suggestion is, for an unknown key, a known key close to it.
	Suggestion string
	// Err is the underlying error, if any: a library's (errors.As finds
	// transport.URLError, for example), or ErrUnknownKey.
	Err error

	// also is a key whose source stands for this error's when its own
	// key was not written anywhere (a cross-field check).
	also string
}

func (e *FieldError) Error() string {
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	add(e.Source)
	switch {
	case errors.Is(e.Err, ErrUnknownKey):
		s := fmt.Sprintf("unknown key %q", e.Key)
		if e.Suggestion != "" {
			s += fmt.Sprintf(" (did you mean %s?)", e.Suggestion)
		}
		add(s)
	case e.Reason == "" && e.Err != nil:
		add(e.Key)
		add(e.Err.Error())
	default:
		add(e.Key)
		add(e.Value)
		add(e.Reason)
	}
	return strings.Join(parts, ": ")
}

func (e *FieldError) Unwrap() error { return e.Err }

// ConfigError is every FieldError of a configuration, in the order of
// Keys. errors.As finds it in what Validate, Loader.Load and New return;
// errors.As and errors.Is also reach each FieldError.
type ConfigError struct {
	Errors []*FieldError
}

func (e *ConfigError) Error() string {
	s := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		s[i] = f.Error()
	}
	return strings.Join(s, "\n")
}

func (e *ConfigError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, f := range e.Errors {
		out[i] = f
	}
	return out
}

// configError is nil without errors, a *ConfigError otherwise.
func configError(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Errors: errs}
}
