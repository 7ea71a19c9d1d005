// Command lowpanbr is a userspace 6LoWPAN border router for Linux. This
// file only wires subcommands to the packages that do the work.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errUsage marks a command-line mistake (exit status 2, usage printed).
var errUsage = errors.New("run with -h for usage")

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run the border router (on the built-in simulator when no radio is configured)", runRun},
		{"config", "check the configuration, or print an example file with every key", runConfig},
		{"status", "show a running daemon's radio, prefix, counters and neighbours", runStatus},
		{"nodes", "list the addresses registered with a running daemon", runNodes},
		{"routes", "show how a running daemon reaches each address (RPL routes, registrations)", runRoutes},
		{"rpl", "rpl repair: RPL global repair on a running daemon (a new DODAG version)", runRPL},
		{"pcap", "decode 802.15.4/ZEP captures to IPv6, or encode IPv6 captures to 802.15.4", runPcap},
		{"radio", "probe a radio co-processor: firmware, capabilities, EUI-64, energy scan", runRadio},
		{"sim-rcp", "run a simulated RCP on stdin/stdout (for spinel+hdlc+forkpty URLs)", runSimRCP},
		{"version", "print the version", func(_ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "lowpanbr", version)
			return nil
		}},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: lowpanbr <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'lowpanbr <command> -h' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "lowpanbr %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "lowpanbr %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "lowpanbr: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// parseInterspersed parses flags that may come before or after positional
// arguments, and returns the positional ones. A bad flag is a usage error;
// -h gives flag.ErrHelp.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, fmt.Errorf("%v: %w", err, errUsage)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
