// Command lowpanbr is a userspace 6LoWPAN border router for Linux. This
// file only wires subcommands to the packages that do the work.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=..."; when
// it is not, the version comes from the build info (version.go).
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
		{"sim", "change a running simulator: cut or restore links, set loss, add, remove or restart nodes, reset the RCP", runSim},
		{"web", "print the address of a running daemon's web page (with the token its controls need)", runWeb},
		{"rpl", "rpl repair: RPL global repair on a running daemon (a new DODAG version)", runRPL},
		{"pcap", "decode 802.15.4/ZEP captures to IPv6, or encode IPv6 captures to 802.15.4", runPcap},
		{"radio", "probe a radio co-processor: firmware, capabilities, EUI-64, energy scan", runRadio},
		{"sim-rcp", "run a simulated RCP on stdin/stdout (for spinel+hdlc+forkpty URLs)", runSimRCP},
		{"version", "print the version, VCS revision and Go version (also --version)", runVersion},
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
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
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
			fmt.Fprintln(stderr, usageLine(c.name, err))
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
// arguments, and returns the positional ones. A bad flag is a usage error
// of one line (flagError); -h gives flag.ErrHelp after the usage.
//
// The flag package prints its error and then the whole usage on every
// mistake, and run prints the error again: for run that was 60 lines to
// say that --chanel is not a flag. So the parse writes nowhere and calls
// no usage, and only -h prints the usage.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.SetOutput(out)
				if usage != nil {
					usage()
				} else { // what the flag package's default usage prints
					fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
					fs.PrintDefaults()
				}
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", flagError(fs, err), errUsage)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// usageLine is the one line run prints for a usage error: the error
// without errUsage's text, then where the usage is.
func usageLine(cmd string, err error) string {
	msg := err.Error()
	for _, sep := range []string{": ", "\n"} {
		msg = strings.TrimSuffix(msg, sep+errUsage.Error())
	}
	return fmt.Sprintf("lowpanbr %s: %s (see lowpanbr %s -h)", cmd, msg, cmd)
}

// buildVersion is the version the binary reports: the -ldflags one if it
// was set, else the main module's version that the go command stamped
// (since Go 1.24 `go build` in a git checkout stamps a pseudo-version such
// as v0.0.0-20261207215000-15b00641a2b3+dirty), else "dev".
func buildVersion(bi *debug.BuildInfo, ok bool) string {
	if version != "dev" && version != "" {
		return version
	}
	if ok && bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionLine is what `lowpanbr version` prints: the version, then
// key=value fields from the build info, so that a script can take the
// version with `awk '{print $2}'` or grep a field. Fields the build does
// not have (a `go test` binary has no vcs.* settings, -buildvcs=false
// neither) are left out.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lowpanbr %s", buildVersion(bi, ok))
	if !ok || bi == nil {
		return b.String()
	}
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	if r := set["vcs.revision"]; r != "" {
		fmt.Fprintf(&b, " revision=%s", r)
		if set["vcs.modified"] == "true" {
			b.WriteString(" dirty=true")
		} else if set["vcs.modified"] == "false" {
			b.WriteString(" dirty=false")
		}
	}
	if t := set["vcs.time"]; t != "" {
		fmt.Fprintf(&b, " time=%s", t)
	}
	if bi.GoVersion != "" {
		fmt.Fprintf(&b, " go=%s", bi.GoVersion)
	}
	return b.String()
}

// runVersion is `lowpanbr version` (and --version, -version).
func runVersion(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q: %w", args, errUsage)
	}
	fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
	return nil
}

// daemonVersion is the version the daemon reports in its status and
// metrics.
func daemonVersion() string { return buildVersion(debug.ReadBuildInfo()) }
