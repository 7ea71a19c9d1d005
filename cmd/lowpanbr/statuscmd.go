package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// The status commands read a running daemon's API (a Unix socket) and
// print tables.

const statusUsage = `usage:
  lowpanbr status [--api SOCKET]   radio, prefix, contexts, counters, neighbours
  lowpanbr nodes  [--api SOCKET]   registered addresses: owner (ROVR), TID, protected (RFC 8928), lifetime, how reached
  lowpanbr routes [--api SOCKET]   how every address is reached: RPL routes (next hop, source route) first, then registrations
  lowpanbr rpl repair [--api SOCKET]  RPL global repair: a new DODAG version, every node sends its DAOs again

They talk to the daemon's status API: --api, else $LOWPANBR_API_SOCKET,
else /run/lowpanbr/api.sock (api.socket's default).
`

type apiClient struct {
	socket string
	http   *http.Client
}

func newAPIClient(socket string) *apiClient {
	return &apiClient{socket: socket, http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}}}
}

func (c *apiClient) get(path string, v any) error {
	return c.do(http.MethodGet, path, v)
}

func (c *apiClient) do(method, path string, v any) error {
	req, err := http.NewRequest(method, "http://lowpanbr"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && (errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "connection refused")) {
			return fmt.Errorf("no daemon answers on %s (is lowpanbr run running, and is api.socket the same?)", c.socket)
		}
		return fmt.Errorf("API %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("API %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("API %s: %w", path, err)
	}
	return nil
}

func statusFlags(name string, args []string, stderr io.Writer) (*apiClient, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, statusUsage); fs.PrintDefaults() }
	def := borderrouter.Defaults().API.Socket
	if env, ok := os.LookupEnv("LOWPANBR_API_SOCKET"); ok && env != "" {
		def = env // as run reads it
	}
	socket := fs.String("api", def, "the daemon's API socket (default: $LOWPANBR_API_SOCKET, else api.socket's default)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	return newAPIClient(*socket), nil
}

func runStatus(args []string, stdout, stderr io.Writer) error {
	c, err := statusFlags("status", args, stderr)
	if err != nil {
		return err
	}
	var s borderrouter.Status
	if err := c.get("/api/v1/status", &s); err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	ready := "down"
	if s.Radio.Ready {
		ready = "up"
	}
	fmt.Fprintf(w, "Radio:\t%s\n", s.Radio.URL)
	fmt.Fprintf(w, "RCP:\t%s\n", ready)
	fmt.Fprintf(w, "Firmware:\t%s\n", s.Radio.Firmware)
	fmt.Fprintf(w, "EUI-64:\t%s\n", s.Radio.EUI64)
	fmt.Fprintf(w, "Channel / PAN:\t%d / %s\n", s.Radio.Channel, s.Radio.PANID)
	fmt.Fprintf(w, "Prefix:\t%s (router %s, TUN %s)\n", s.Prefix, s.Address, s.TUN)
	fmt.Fprintf(w, "ABRO version:\t%d\n", s.ABRO)
	for _, c := range s.Contexts {
		state := "compress"
		if !c.Compress {
			state = "decompress only"
		}
		if c.Withdrawing {
			state += ", withdrawing"
		}
		fmt.Fprintf(w, "Context %d:\t%s (%s)\n", c.ID, c.Prefix, state)
	}
	fmt.Fprintf(w, "Registrations:\t%d live (%d direct, %d via 6LRs) of %d; %d protected (RFC 8928), %d tentative\n",
		s.Registry.Live, s.Registry.Direct, s.Registry.Via6LR, s.Registry.Capacity, s.Registry.Protected, s.Registry.Tentative)
	if r := s.RPL; r != nil {
		rpi := "no RPI"
		if r.RPI {
			rpi = "RPI on"
		}
		fmt.Fprintf(w, "RPL:\t%s root of %s, instance %d, version %d, %d targets, DIO interval %s, %s\n",
			r.Mode, r.DODAGID, r.Instance, r.Version, r.Targets, r.DIOInterval, rpi)
	} else {
		fmt.Fprintf(w, "RPL:\toff\n")
	}
	fmt.Fprintf(w, "Uptime:\t%s\n", s.Uptime)
	w.Flush()
	fmt.Fprintln(stdout)
	w = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "COUNTER\tVALUE\t")
	for _, kv := range []struct {
		k string
		v uint64
	}{
		{"packets from Linux", s.Forwarder.FromTUN}, {"packets to Linux", s.Forwarder.ToTUN},
		{"into the mesh", s.Forwarder.ToMesh}, {"mesh to mesh", s.Forwarder.MeshToMesh},
		{"frames sent", s.Link.FramesSent}, {"frames acked", s.Link.TxAcked}, {"frames not acked", s.Link.TxNoAck},
		{"channel access failures", s.Link.TxCCA}, {"frames received", s.Link.FramesReceived},
		{"fragments sent", s.Link.FragmentsSent}, {"reassemblies completed", s.Link.Reassembly.Completed},
		{"reassemblies timed out", s.Link.Reassembly.TimedOut}, {"header octets saved", s.Link.HeaderBytesSaved},
		{"ICMPv6 errors sent", s.Forwarder.ICMPErrorsSent}, {"RCP resets", s.Radio.Stats.Resets}, {"RCP reconnects", s.Radio.Stats.Reconnects},
	} {
		fmt.Fprintf(w, "%s\t%d\t\n", kv.k, kv.v)
	}
	w.Flush()
	if len(s.Neighbors) > 0 {
		fmt.Fprintln(stdout)
		w = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NEIGHBOUR\tRSSI\tLQI\tFRAMES\tLAST HEARD")
		for _, n := range s.Neighbors {
			fmt.Fprintf(w, "%s\t%d dBm\t%d\t%d\t%s ago\n", n.Addr, n.RSSI, n.LQI, n.Frames, n.LastHeard)
		}
		w.Flush()
	}
	return nil
}

func runNodes(args []string, stdout, stderr io.Writer) error {
	c, err := statusFlags("nodes", args, stderr)
	if err != nil {
		return err
	}
	var regs []borderrouter.Registration
	if err := c.get("/api/v1/registrations", &regs); err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ADDRESS\tROVR\tTID\tPROTECTED\tLIFETIME\tEXPIRES IN\tREACHED")
	for _, r := range regs {
		tid := "-"
		if r.TID != nil {
			tid = fmt.Sprint(*r.TID)
		}
		reached := "direct, " + r.LinkAddr
		if r.Via != "" {
			reached = "via 6LR " + r.Via
		}
		protected := "no"
		if r.Protected {
			protected = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Address, r.ROVR, tid, protected, r.Lifetime, r.ExpiresIn, reached)
	}
	w.Flush()
	fmt.Fprintf(stdout, "%d registered, %d protected\n", len(regs), countProtected(regs))
	return nil
}

func countProtected(regs []borderrouter.Registration) int {
	n := 0
	for _, r := range regs {
		if r.Protected {
			n++
		}
	}
	return n
}

func runRoutes(args []string, stdout, stderr io.Writer) error {
	c, err := statusFlags("routes", args, stderr)
	if err != nil {
		return err
	}
	var routes []borderrouter.Route
	if err := c.get("/api/v1/routes", &routes); err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "DESTINATION\tPROTO\tLINK\tNEXT HOP\tVIA\tHOPS\tEXPIRES IN\tSOURCE ROUTE")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, r := range routes {
		next := r.NextHop
		if next == "" {
			next = "unreachable"
		}
		hops := strconv.Itoa(r.Hops)
		if r.Protocol == "rpl" && r.Hops == 0 && r.NextHop != "" {
			hops = "?" // storing mode: only the next hop is known
		}
		path := strings.Join(r.Path, " > ")
		if r.External {
			path += " (6LR of a RPL-unaware leaf)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Destination, dash(r.Protocol), r.Link, next, dash(r.Via), hops, dash(r.ExpiresIn), dash(path))
	}
	w.Flush()
	return nil
}

func runRPL(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "repair" {
		fmt.Fprint(stderr, statusUsage)
		return fmt.Errorf("rpl: want the subcommand repair: %w", errUsage)
	}
	c, err := statusFlags("rpl repair", args[1:], stderr)
	if err != nil {
		return err
	}
	var out struct {
		Version uint8 `json:"dodag_version"`
	}
	if err := c.do(http.MethodPost, "/api/v1/rpl/repair", &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "DODAG version %d: nodes rejoin and send their DAOs again\n", out.Version)
	return nil
}
