package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

const configUsage = `usage:
  lowpanbr config check [--config FILE]
  lowpanbr config example

check reads the configuration as 'lowpanbr run' does — the file (default
` + borderrouter.DefaultConfigPath + `, which may be missing), then the
LOWPANBR_<SECTION>_<KEY> environment variables — and prints
"config OK: FILE" or every error it finds (exit status 1). A LOWPANBR_
variable within two letters of a setting's (LOWPANBR_RADIO_CHANEL) is an
error, as an unknown key of the file is; other LOWPANBR_ names are ignored.

example prints a configuration file with every key, its default value and
what it allows.
`

func runConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return fmt.Errorf("missing subcommand check or example: %w", errUsage)
	}
	switch args[0] {
	case "check":
		return runConfigCheck(args[1:], stdout, stderr, nil)
	case "example":
		if len(args) > 1 {
			return fmt.Errorf("unexpected arguments %q: %w", args[1:], errUsage)
		}
		return borderrouter.WriteExample(stdout)
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
	if _, err := src.loader.Load(); err != nil {
		var ce *borderrouter.ConfigError
		if !errors.As(err, &ce) {
			fmt.Fprintln(stderr, err)
			return errors.New("check: 1 error")
		}
		for _, e := range ce.Errors {
			fmt.Fprintln(stderr, e)
		}
		if len(ce.Errors) == 1 {
			return errors.New("check: 1 error")
		}
		return fmt.Errorf("check: %d errors", len(ce.Errors))
	}
	read := src.loader.Read()
	if read == "" {
		read = "defaults"
	}
	fmt.Fprintf(stdout, "config OK: %s\n", read)
	return nil
}
