package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// `lowpanbr sim …` changes a running simulator through the daemon's status
// API, to rehearse failures: the API's /api/v1/sim/… controls.

const simUsage = `usage:
  lowpanbr sim link cut A B        cut the link between nodes A and B, both ways ("br" is the border router)
  lowpanbr sim link restore A B    put it back as placed, with the loss in force
  lowpanbr sim link loss A B P     frame loss probability P (0 to 1) on that link, both ways
  lowpanbr sim loss P              loss P on every link (single links' losses are dropped)
  lowpanbr sim node add [--near N] a new node, in range of node N (default: anywhere in range); prints its name
  lowpanbr sim node remove N       switch node N off and take it away (its registration expires in time)
  lowpanbr sim node restart N      reboot node N: it forgets everything and registers again
  lowpanbr sim rcp reset           the simulated RCP resets; the daemon recovers it
  lowpanbr sim topology [--json]   the nodes (kind, status, parent, hops) and links (RSSI, LQI, loss, cut)

Flags, anywhere on the line:
  --api SOCKET   the daemon's API socket (default: $LOWPANBR_API_SOCKET, else
                 api.socket from the configuration file, else its default)
  --config FILE  the configuration file to read api.socket from (default ` + borderrouter.DefaultConfigPath + `)
  --json         print the API's answer as JSON
`

// simCommands are the words of the sim command: group, then verb.
var simCommands = map[string][]string{
	"link":     {"cut", "restore", "loss"},
	"loss":     nil,
	"node":     {"add", "remove", "restart"},
	"rcp":      {"reset"},
	"topology": nil,
}

// simWord checks that word is one of valid, naming the closest one when
// it is not.
func simWord(what, word string, valid []string) error {
	for _, v := range valid {
		if v == word {
			return nil
		}
	}
	if near := nearestName(word, valid); near != "" {
		return fmt.Errorf("unknown %s %q; did you mean %s?: %w", what, word, near, errUsage)
	}
	return fmt.Errorf("unknown %s %q (want %s): %w", what, word, strings.Join(valid, ", "), errUsage)
}

func runSim(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simUsage) }
	af := addAPIFlags(fs)
	near := fs.String("near", "", "")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("want a subcommand: link, loss, node, rcp or topology: %w", errUsage)
	}
	groups := []string{"link", "loss", "node", "rcp", "topology"}
	if err := simWord("subcommand", pos[0], groups); err != nil {
		return err
	}
	cmd, rest := pos[0], pos[1:]
	if verbs := simCommands[cmd]; verbs != nil {
		if len(rest) == 0 {
			return fmt.Errorf("sim %s: want %s: %w", cmd, strings.Join(verbs, ", "), errUsage)
		}
		if err := simWord("sim "+cmd+" subcommand", rest[0], verbs); err != nil {
			return err
		}
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	want := map[string]int{"link cut": 2, "link restore": 2, "link loss": 3, "loss": 1, "node add": 0,
		"node remove": 1, "node restart": 1, "rcp reset": 0, "topology": 0}[cmd]
	if len(rest) != want {
		return fmt.Errorf("sim %s: want %d arguments, got %d (%q): %w", cmd, want, len(rest), rest, errUsage)
	}
	if *near != "" && cmd != "node add" {
		return fmt.Errorf("--near is for sim node add only: %w", errUsage)
	}
	var loss float64
	if cmd == "loss" || cmd == "link loss" {
		s := rest[len(rest)-1]
		loss, err = strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(loss) || loss < 0 || loss > 1 {
			return fmt.Errorf("sim %s: loss %q: want a probability from 0 to 1: %w", cmd, s, errUsage)
		}
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	esc := url.PathEscape
	p := strconv.FormatFloat(loss, 'g', -1, 64)
	var out any
	var text string
	var method, api string = http.MethodPost, ""
	switch cmd {
	case "link cut", "link restore":
		verb := strings.TrimPrefix(cmd, "link ")
		api = "/api/v1/sim/links/" + esc(rest[0]) + "/" + esc(rest[1]) + "/" + verb
		text = fmt.Sprintf("link %s–%s %s\n", rest[0], rest[1], map[string]string{"cut": "cut", "restore": "restored"}[verb])
	case "link loss":
		api = "/api/v1/sim/links/" + esc(rest[0]) + "/" + esc(rest[1]) + "/loss?p=" + p
		text = fmt.Sprintf("link %s–%s: loss %s\n", rest[0], rest[1], p)
	case "loss":
		api = "/api/v1/sim/loss?p=" + p
		text = fmt.Sprintf("every link: loss %s\n", p)
	case "node add":
		api = "/api/v1/sim/nodes"
		if *near != "" {
			api += "?near=" + url.QueryEscape(*near)
		}
	case "node remove":
		method, api = http.MethodDelete, "/api/v1/sim/nodes/"+esc(rest[0])
		text = fmt.Sprintf("removed %s\n", rest[0])
	case "node restart":
		api = "/api/v1/sim/nodes/" + esc(rest[0]) + "/restart"
		text = fmt.Sprintf("restarted %s: it solicits a router and registers again\n", rest[0])
	case "rcp reset":
		api = "/api/v1/sim/rcp/reset"
		text = "RCP reset: the daemon recovers it\n"
	case "topology":
		var t borderrouter.Topology
		if err := c.get("/api/v1/topology", &t); err != nil {
			return err
		}
		if *af.json {
			return printJSON(stdout, t)
		}
		printTopology(stdout, t)
		return nil
	}
	if cmd == "node add" {
		var added struct {
			Name string `json:"name"`
		}
		if err := c.do(method, api, &added); err != nil {
			return err
		}
		if *af.json {
			return printJSON(stdout, added)
		}
		// The name alone, for scripts: N=$(lowpanbr sim node add).
		fmt.Fprintln(stdout, added.Name)
		return nil
	}
	if err := c.do(method, api, &out); err != nil {
		return err
	}
	if *af.json {
		return printJSON(stdout, out)
	}
	fmt.Fprint(stdout, text)
	return nil
}

// printTopology writes the graph as two tables.
func printTopology(w io.Writer, t borderrouter.Topology) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tKIND\tSTATUS\tPARENT\tHOPS\tADDRESS\tPLACE")
	for _, n := range t.Nodes {
		hops, place := "-", "-"
		if n.Hops > 0 || n.ID == "br" {
			hops = fmt.Sprint(n.Hops)
		}
		if n.X != nil && n.Y != nil {
			place = fmt.Sprintf("%.2f,%.2f", *n.X, *n.Y)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Kind, n.Status, orDash(n.Parent), hops, orDash(n.Address), place)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LINK\tKIND\tRSSI\tLQI\tLOSS\tSTATE")
	for _, l := range t.Links {
		state := "up"
		if l.Cut {
			state = "cut"
		}
		rssi, lqi := fmt.Sprintf("%d dBm", l.RSSI), fmt.Sprint(l.LQI)
		if l.Kind == "ble" {
			rssi, lqi = "-", "-"
		}
		fmt.Fprintf(tw, "%s–%s\t%s\t%s\t%s\t%g\t%s\n", l.A, l.B, l.Kind, rssi, lqi, l.Loss, state)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
