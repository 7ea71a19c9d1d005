package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

const webUsage = `usage:
  lowpanbr web [--api SOCKET] [--config FILE] [--json]

Prints the address of a running daemon's web page (the live graph of the
mesh, its registrations, counters and events). When the daemon runs with
web.controls on (--web-controls), the address carries in its fragment
(#token=...) the token the page's controls need: only users who can use
the API socket get it. Open it in a browser on the same machine (the page
listens on loopback by default; through SSH: ssh -L 9580:127.0.0.1:9580).

The API socket is found as for lowpanbr status: --api, else
$LOWPANBR_API_SOCKET, else api.socket from the configuration file.
--json prints {"url": ..., "controls": ...}.
`

// runWeb prints the web page's URL, as the daemon's status API gives it
// (GET /api/v1/web).
func runWeb(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, webUsage); fs.PrintDefaults() }
	af := addAPIFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	var info borderrouter.WebInfo
	if err := c.get("/api/v1/web", &info); err != nil {
		return err
	}
	if *af.json {
		return printJSON(stdout, info)
	}
	fmt.Fprintln(stdout, info.URL)
	if !info.Controls {
		fmt.Fprintln(stderr, "(read-only: start the daemon with --web-controls for the simulator's controls)")
	}
	return nil
}
