package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/lowpanbr/lowpanbr/internal/textdist"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// configFlags are --config and, for run, a flag per key of the
// configuration (borderrouter.Keys). The flags keep their text; the
// Loader decodes it after the file and the environment, so that the three
// accept the same text and give the same errors, and only a flag that was
// given overrides them.
type configFlags struct {
	loader borderrouter.Loader
	flags  []*keyFlag
}

// newConfigFlags defines --config on fs, and with runFlags every key's
// flag. lookupEnv nil is the process's environment, which the Loader then
// also lists to refuse a misspelt LOWPANBR_ variable; tests give their own.
func newConfigFlags(fs *flag.FlagSet, runFlags bool, lookupEnv func(string) (string, bool)) *configFlags {
	s := &configFlags{loader: borderrouter.Loader{Path: borderrouter.DefaultConfigPath, LookupEnv: lookupEnv}}
	fs.Var(configPathFlag{&s.loader}, "config", "")
	if runFlags {
		for _, k := range borderrouter.Keys() {
			if k.Flag == "" {
				continue
			}
			f := &keyFlag{key: k}
			fs.Var(f, k.Flag, k.Doc)
			s.flags = append(s.flags, f)
		}
	}
	return s
}

// load reads the configuration with the flags on top. An error made by a
// flag is also errUsage.
func (s *configFlags) load() (borderrouter.Config, error) {
	s.loader.Overrides = nil
	for _, f := range s.flags {
		if len(f.vals) > 0 {
			s.loader.Overrides = append(s.loader.Overrides, borderrouter.Override{Key: f.key.Name, Source: "--" + f.key.Flag, Values: f.vals})
		}
	}
	cfg, err := s.loader.Load()
	var ce *borderrouter.ConfigError
	if errors.As(err, &ce) {
		for _, e := range ce.Errors {
			if strings.HasPrefix(e.Source, "--") {
				return cfg, errors.Join(err, errUsage)
			}
		}
	}
	return cfg, err
}

// printFlags writes the usage of the flags newConfigFlags defines.
func (s *configFlags) printFlags(w io.Writer) {
	fmt.Fprintf(w, "  --config FILE\n    \tconfiguration file (default %s, which may be missing; \"\": none)\n", borderrouter.DefaultConfigPath)
	for _, f := range s.flags {
		k := f.key
		arg := " " + k.Meta
		if k.Kind == borderrouter.KindBool {
			arg = ""
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s: %s", k.Flag, arg, k.Name, k.Doc)
		if k.Kind == borderrouter.KindList {
			fmt.Fprint(w, " (repeatable)")
		} else if k.Default != "" && k.Kind != borderrouter.KindBool {
			fmt.Fprintf(w, " (default %s)", k.Default)
		}
		fmt.Fprintln(w)
	}
}

// configPathFlag is --config: a file named with it must exist.
type configPathFlag struct{ l *borderrouter.Loader }

func (f configPathFlag) String() string {
	if f.l == nil {
		return ""
	}
	return f.l.Path
}

func (f configPathFlag) Set(p string) error {
	f.l.Path, f.l.Required = p, true
	return nil
}

// keyFlag is the flag of one key.
type keyFlag struct {
	key  borderrouter.Key
	vals []string // every occurrence for a list; the last one otherwise
}

func (f *keyFlag) String() string {
	switch {
	case f == nil || f.key.Name == "": // flag's zero-value probe
		return ""
	case len(f.vals) == 0:
		return f.key.Default
	}
	return strings.Join(f.vals, ",")
}

func (f *keyFlag) Set(s string) error {
	if f.key.Kind == borderrouter.KindList {
		f.vals = append(f.vals, s)
	} else {
		f.vals = []string{s}
	}
	return nil
}

func (f *keyFlag) IsBoolFlag() bool { return f != nil && f.key.Kind == borderrouter.KindBool }

// parseRunArgs parses run's command line: its flags, which set keys, and
// --config.
func parseRunArgs(args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) (*configFlags, []string, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := newConfigFlags(fs, true, lookupEnv)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); src.printFlags(stderr) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	return src, pos, nil
}

// flagError rewrites the flag package's error as one line in the
// program's words: an unknown flag names the closest defined one.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if near := nearestName(name, names); near != "" {
			return fmt.Sprintf("unknown flag %s; did you mean %s?", dashed(name), dashed(near))
		}
		// A setting's key written as a flag (--tun-name, --tun.name for
		// tun.name): its flag, when it has one.
		if k := flagOfKey(name, names); k != "" {
			return fmt.Sprintf("unknown flag %s; did you mean %s?", dashed(name), dashed(k))
		}
		return "unknown flag " + dashed(name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag " + dashed(name) + " needs a value"
	}
	return msg
}

// flagOfKey is the flag of the configuration key that name spells with
// dashes, dots or underscores (tun-name, tun.name, tun_name: tun.name's
// --tun), when the flag set has it; "" otherwise.
func flagOfKey(name string, defined []string) string {
	norm := func(s string) string { return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToLower(s)) }
	for _, k := range borderrouter.Keys() {
		if k.Flag != "" && norm(k.Name) == norm(name) && slices.Contains(defined, k.Flag) {
			return k.Flag
		}
	}
	return ""
}

// dashed writes a flag as the usage does: -o, --channel.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// nearestName is the candidate closest to name (ignoring case) if it is
// near enough to be a slip rather than another word: at most one edit in
// names of up to five letters, two up to eight, three beyond. Ties go to
// the first candidate.
func nearestName(name string, candidates []string) string {
	limit := 1
	switch n := len(name); {
	case n > 8:
		limit = 3
	case n > 5:
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := textdist.Distance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
