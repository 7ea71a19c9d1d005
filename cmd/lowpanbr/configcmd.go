package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

const configUsage = `usage:
  lowpanbr config check [--config FILE]
  lowpanbr config example

check reads the configuration as 'lowpanbr run' does — the file (default
` + defaultConfigPath + `, which may be missing), then the
LOWPANBR_<SECTION>_<KEY> environment variables — and prints
"config OK: FILE" or every error it finds (exit status 1).

example prints a configuration file with every key, its default value and
what it allows.
`

const exampleHeader = `# lowpanbr configuration: every key with its default value.
#
# 'lowpanbr run' reads ` + defaultConfigPath + ` (or the file of
# --config). An environment variable LOWPANBR_<SECTION>_<KEY> overrides a
# key of the file (LOWPANBR_RADIO_CHANNEL=20, LOWPANBR_STATE_DIR=/srv/lbr;
# lists separated by commas), and run's flags override both. Durations are
# written as 90s, 30m or 24h. Unknown keys are errors; check a file with
# 'lowpanbr config check --config FILE'.
`

func runConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return fmt.Errorf("missing subcommand check or example: %w", errUsage)
	}
	switch args[0] {
	case "check":
		return runConfigCheck(args[1:], stdout, stderr, os.LookupEnv)
	case "example":
		if len(args) > 1 {
			return fmt.Errorf("unexpected arguments %q: %w", args[1:], errUsage)
		}
		writeExample(stdout)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, configUsage)
		return nil
	}
	fmt.Fprint(stderr, configUsage)
	return fmt.Errorf("unknown subcommand %q (want check or example): %w", args[0], errUsage)
}

func runConfigCheck(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := newConfigFlags(fs, false, lookupEnv)
	fs.Usage = func() { fmt.Fprint(stderr, configUsage, "\nflags:\n"); src.printFlags(stderr) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	if _, err := src.Load(); err != nil {
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		n := 0
		for _, e := range errs {
			if !errors.Is(e, errUsage) {
				fmt.Fprintln(stderr, e)
				n++
			}
		}
		if n == 1 {
			return errors.New("check: 1 error")
		}
		return fmt.Errorf("check: %d errors", n)
	}
	read := src.Read
	if read == "" {
		read = "defaults"
	}
	fmt.Fprintf(stdout, "config OK: %s\n", read)
	return nil
}

// writeExample writes a configuration file of every key at its default,
// each after a comment saying what it is and allows.
func writeExample(w io.Writer) {
	d := defaultDraft()
	fmt.Fprint(w, exampleHeader)
	section := "-"
	for i := range configKeys {
		k := &configKeys[i]
		sec, name, indent := k.section(), k.key, ""
		if sec != section {
			fmt.Fprintln(w)
			if sec != "" {
				fmt.Fprintf(w, "%s:\n", sec)
			}
			section = sec
		}
		if sec != "" {
			name, indent = strings.TrimPrefix(k.key, sec+"."), "  "
		}
		fmt.Fprintf(w, "%s# %s\n%s%s: %s\n", indent, k.doc, indent, name, yamlValue(k.kind, k.get(&d)))
	}
}

// yamlValue writes a key's text as a YAML value: strings quoted, lists as
// flow sequences of strings, numbers, booleans and durations as they are.
func yamlValue(kind keyKind, v any) string {
	switch kind {
	case kindString:
		return strconv.Quote(v.(string))
	case kindList:
		var items []string
		for _, s := range v.([]string) {
			items = append(items, strconv.Quote(s))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return v.(string)
}
