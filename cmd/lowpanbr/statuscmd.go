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
  lowpanbr status [--api SOCKET] [--json]   radio, prefix, contexts, counters, neighbours
  lowpanbr nodes  [--api SOCKET] [--json]   registered addresses: owner (ROVR), TID, protected (RFC 8928), lifetime, how reached
  lowpanbr routes [--api SOCKET] [--json]   how every address is reached: RPL routes (next hop, source route) first, then registrations
  lowpanbr rpl repair [--api SOCKET] [--json]  RPL global repair: a new DODAG version, every node sends its DAOs again

They talk to the daemon's status API: --api, else $LOWPANBR_API_SOCKET,
else api.socket from the configuration file (--config FILE, else
` + borderrouter.DefaultConfigPath + ` if it exists), else
/run/lowpanbr/api.sock (api.socket's default).
--json prints JSON for scripts (the schema is in the README).
`

// statusCmd is what the status commands' flags chose.
type statusCmd struct {
	*apiClient
	json bool
}

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

func statusFlags(name string, args []string, stderr io.Writer) (*statusCmd, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, statusUsage); fs.PrintDefaults() }
	af := addAPIFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected arguments %q: %w", pos, errUsage)
	}
	c, err := af.client()
	if err != nil {
		return nil, err
	}
	return &statusCmd{apiClient: c, json: *af.json}, nil
}

// apiFlags are the flags of every command that asks a running daemon:
// --api, --config (where to find its socket) and --json.
type apiFlags struct {
	socket, config *string
	json           *bool
}

func addAPIFlags(fs *flag.FlagSet) apiFlags {
	return apiFlags{
		socket: fs.String("api", "", "the daemon's API socket (default: $LOWPANBR_API_SOCKET, else the configuration file's api.socket, else its default)"),
		config: fs.String("config", "", "the configuration file to read api.socket from (default "+borderrouter.DefaultConfigPath+" if it exists)"),
		json:   fs.Bool("json", false, "print JSON for scripts"),
	}
}

// client is the API client of the daemon the flags name (apiSocket).
func (f apiFlags) client() (*apiClient, error) {
	path, err := apiSocket(*f.socket, *f.config, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	return newAPIClient(path), nil
}

// apiSocket picks the daemon's API socket as lowpanbr run picks the one it
// listens on, so that both agree: flag, environment, configuration file,
// default. The file is read only when neither flag nor environment names
// the socket, and only its api.socket is used: the rest of the daemon's
// environment is not consulted (a bad LOWPANBR_RADIO_CHANNEL must not stop
// a status query).
func apiSocket(flagValue, configPath string, lookupEnv func(string) (string, bool)) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env, ok := lookupEnv("LOWPANBR_API_SOCKET"); ok && env != "" {
		return env, nil
	}
	l := borderrouter.Loader{Path: configPath, Required: configPath != "",
		LookupEnv: func(string) (string, bool) { return "", false }}
	if l.Path == "" {
		l.Path = borderrouter.DefaultConfigPath // a missing default file is no file
	}
	cfg, err := l.Load()
	if err != nil {
		return "", fmt.Errorf("reading api.socket (give --api to skip the file): %w", err)
	}
	if cfg.API.Socket == "" {
		return "", fmt.Errorf("%s turns the status API off (api.socket is empty); give --api: %w", l.Read(), errUsage)
	}
	return cfg.API.Socket, nil
}

// printJSON writes v indented, with a trailing newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
	if c.json {
		return printJSON(stdout, newStatusJSON(s))
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
			r.Mode, r.DODAGID, r.Instance, r.Version, r.Targets, secondsText(r.DIOIntervalSeconds), rpi)
	} else {
		fmt.Fprintf(w, "RPL:\toff\n")
	}
	if c := s.Capture; c != nil {
		var parts []string
		if c.File != "" {
			parts = append(parts, fmt.Sprintf("%s (%d written, %d dropped, %d write errors)", c.File, c.Written, c.Dropped, c.WriteErrors))
		}
		if c.ZEPMirror != "" {
			parts = append(parts, fmt.Sprintf("ZEP to %s (%d sent, %d errors)", c.ZEPMirror, c.ZEPSent, c.ZEPErrors))
		}
		fmt.Fprintf(w, "Capture:\t%s\n", strings.Join(parts, "; "))
	}
	fmt.Fprintf(w, "Uptime:\t%s\n", secondsText(float64(s.UptimeSeconds)))
	w.Flush()
	fmt.Fprintln(stdout)
	w = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "COUNTER\tVALUE\t")
	// Each label says what its counter counts: packets (IPv6) or frames
	// (802.15.4), and which ones.
	for _, kv := range []struct {
		k string
		v uint64
	}{
		{"packets from Linux", s.Forwarder.FromTUN}, {"packets to Linux", s.Forwarder.ToTUN},
		{"packets into the mesh", s.Forwarder.ToMesh}, {"packets mesh to mesh", s.Forwarder.MeshToMesh},
		{"packets unreachable", s.Forwarder.Unreachable}, {"packets dropped", s.Forwarder.Dropped},
		{"packets the link refused", s.Forwarder.SendRefused},
		{"frames sent, every try", s.Link.FramesSent}, {"frames acked", s.Link.TxAcked},
		{"frames not acked after retries", s.Link.TxNoAck}, {"frames broadcast", s.Radio.Stats.TxNoAckRequested},
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
			fmt.Fprintf(w, "%s\t%d dBm\t%d\t%d\t%s ago\n", n.Addr, n.RSSI, n.LQI, n.Frames, secondsText(n.LastHeardSeconds))
		}
		w.Flush()
	}
	if b := s.BLE; b != nil {
		// IPv6 over BLE beside the mesh: the controller and each open
		// IPSP channel (RFC 7668) with its L2CAP credits.
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "BLE controller %s: %d IPSP channels open\n", b.Controller.Addr, len(b.Channels))
		if len(b.Channels) > 0 {
			w = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "PEER\tHANDLE\tROLE\tCREDITS\tPENDING\tSDUS SENT\tSDUS RECEIVED\tCREDIT STALLS")
			for _, c := range b.Channels {
				role := "peripheral"
				if c.Central {
					role = "central"
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\n", c.Peer, c.Handle, role, c.Credits, c.Pending, c.SDUsSent, c.SDUsReceived, c.CreditStalls)
			}
			w.Flush()
		}
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
	if c.json {
		return printJSON(stdout, newNodesJSON(regs))
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
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Address, r.ROVR, tid, protected, secondsText(float64(r.LifetimeSeconds)),
			secondsText(float64(r.ExpiresInSeconds)), reached)
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
	if c.json {
		return printJSON(stdout, newRoutesJSON(routes))
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
		expires := ""
		if r.ExpiresInSeconds != nil {
			expires = secondsText(float64(*r.ExpiresInSeconds))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Destination, dash(r.Protocol), r.Link, next, dash(r.Via), hops, dash(expires), dash(path))
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
	if c.json {
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "DODAG version %d: nodes rejoin and send their DAOs again\n", out.Version)
	return nil
}

// The --json output is a schema of its own, not the API's types: the API
// serves every counter its components keep under their own names (which
// may grow or be renamed with them), the CLI a stable, documented
// selection; scripts must not notice a change in the API. Names are snake_case; a quantity with a unit says it in its name
// (uptime_seconds, rssi_dbm); durations are numbers of seconds; counters
// only grow. Fields are added, never renamed or removed.

// statusJSON is `lowpanbr status --json`.
type statusJSON struct {
	Version       string         `json:"version"`
	UptimeSeconds int64          `json:"uptime_seconds"`
	Radio         radioJSON      `json:"radio"`
	Prefix        string         `json:"prefix"`  // the mesh prefix
	Address       string         `json:"address"` // the border router's, in the mesh prefix
	TUN           string         `json:"tun"`
	ABROVersion   uint32         `json:"abro_version"`
	Contexts      []contextJSON  `json:"contexts"`
	Registrations registryJSON   `json:"registrations"`
	Counters      countersJSON   `json:"counters"`
	Neighbors     []neighborJSON `json:"neighbors"`
	RPL           *rplStatusJSON `json:"rpl"` // null: RPL off
	// Capture: file, zep_mirror, written, dropped, write_errors,
	// zep_sent, zep_errors; null without --capture or --zep-mirror.
	Capture *captureJSON `json:"capture"`
}

type captureJSON struct {
	File        string `json:"file"`
	ZEPMirror   string `json:"zep_mirror"`
	Written     uint64 `json:"written"`
	Dropped     uint64 `json:"dropped"`
	WriteErrors uint64 `json:"write_errors"`
	ZEPSent     uint64 `json:"zep_sent"`
	ZEPErrors   uint64 `json:"zep_errors"`
}

type radioJSON struct {
	URL        string `json:"url"`
	Simulated  bool   `json:"simulated"`
	Ready      bool   `json:"ready"` // the RCP answers
	Firmware   string `json:"firmware"`
	EUI64      string `json:"eui64"`
	Channel    uint8  `json:"channel"`
	PANID      string `json:"pan_id"` // 0xabcd
	Resets     uint64 `json:"rcp_resets"`
	Timeouts   uint64 `json:"rcp_timeouts"`
	Reconnects uint64 `json:"rcp_reconnects"`
}

type contextJSON struct {
	ID          uint8  `json:"id"`
	Prefix      string `json:"prefix"`
	Compress    bool   `json:"compress"`
	Withdrawing bool   `json:"withdrawing"`
}

type registryJSON struct {
	Live      int `json:"live"`
	Direct    int `json:"direct"`
	Via6LR    int `json:"via_6lr"`
	Tentative int `json:"tentative"`
	Protected int `json:"protected"` // RFC 8928
	Capacity  int `json:"capacity"`
}

type countersJSON struct {
	PacketsFromLinux      uint64 `json:"packets_from_linux"`
	PacketsToLinux        uint64 `json:"packets_to_linux"`
	PacketsIntoMesh       uint64 `json:"packets_into_mesh"`
	PacketsMeshToMesh     uint64 `json:"packets_mesh_to_mesh"`
	PacketsDropped        uint64 `json:"packets_dropped"`
	PacketsUnreachable    uint64 `json:"packets_unreachable"` // to an unregistered address
	ICMPErrorsSent        uint64 `json:"icmp_errors_sent"`
	FramesSent            uint64 `json:"frames_sent"`
	FramesAcked           uint64 `json:"frames_acked"`
	FramesNotAcked        uint64 `json:"frames_not_acked"`
	ChannelAccessFailures uint64 `json:"channel_access_failures"`
	FramesReceived        uint64 `json:"frames_received"`
	BytesSent             uint64 `json:"bytes_sent"`     // PSDU octets
	BytesReceived         uint64 `json:"bytes_received"` // PSDU octets
	FragmentsSent         uint64 `json:"fragments_sent"`
	ReassembliesCompleted uint64 `json:"reassemblies_completed"`
	ReassembliesTimedOut  uint64 `json:"reassemblies_timed_out"`
	HeaderBytesSaved      uint64 `json:"header_bytes_saved"` // by RFC 6282 compression
}

type neighborJSON struct {
	Addr             string  `json:"addr"`
	RSSIdBm          int8    `json:"rssi_dbm"`
	LQI              uint8   `json:"lqi"`
	Frames           uint64  `json:"frames"`
	LastHeardSeconds float64 `json:"last_heard_seconds"` // ago
}

type rplStatusJSON struct {
	Mode               string  `json:"mode"` // non-storing or storing
	Instance           uint8   `json:"instance"`
	DODAGVersion       uint8   `json:"dodag_version"`
	DODAGID            string  `json:"dodag_id"`
	RPI                bool    `json:"rpi"`
	DIOIntervalSeconds float64 `json:"dio_interval_seconds"` // the Trickle interval now
	Targets            int     `json:"targets"`
}

// secondsText writes an API duration (seconds) as Go writes durations:
// 1h2m3s, 1.5s.
func secondsText(sec float64) string {
	return time.Duration(sec * float64(time.Second)).Round(time.Millisecond).String()
}

func newStatusJSON(s borderrouter.Status) statusJSON {
	f, l, rs := s.Forwarder, s.Link, s.Radio.Stats
	out := statusJSON{
		Version: s.Version, UptimeSeconds: s.UptimeSeconds,
		Radio: radioJSON{URL: s.Radio.URL, Simulated: s.Radio.Simulated, Ready: s.Radio.Ready, Firmware: s.Radio.Firmware,
			EUI64: s.Radio.EUI64, Channel: s.Radio.Channel, PANID: s.Radio.PANID,
			Resets: rs.Resets, Timeouts: rs.Timeouts, Reconnects: rs.Reconnects},
		Prefix: s.Prefix, Address: s.Address, TUN: s.TUN, ABROVersion: s.ABRO,
		Contexts: []contextJSON{}, Neighbors: []neighborJSON{},
		Registrations: registryJSON{Live: s.Registry.Live, Direct: s.Registry.Direct, Via6LR: s.Registry.Via6LR,
			Tentative: s.Registry.Tentative, Protected: s.Registry.Protected, Capacity: s.Registry.Capacity},
		Counters: countersJSON{PacketsFromLinux: f.FromTUN, PacketsToLinux: f.ToTUN, PacketsIntoMesh: f.ToMesh,
			PacketsMeshToMesh: f.MeshToMesh, PacketsDropped: f.Dropped, PacketsUnreachable: f.Unreachable,
			ICMPErrorsSent: f.ICMPErrorsSent, FramesSent: l.FramesSent, FramesAcked: l.TxAcked, FramesNotAcked: l.TxNoAck,
			ChannelAccessFailures: l.TxCCA, FramesReceived: l.FramesReceived, BytesSent: l.BytesSent, BytesReceived: l.BytesReceived,
			FragmentsSent: l.FragmentsSent, ReassembliesCompleted: l.Reassembly.Completed, ReassembliesTimedOut: l.Reassembly.TimedOut,
			HeaderBytesSaved: l.HeaderBytesSaved},
	}
	for _, c := range s.Contexts {
		out.Contexts = append(out.Contexts, contextJSON{ID: c.ID, Prefix: c.Prefix, Compress: c.Compress, Withdrawing: c.Withdrawing})
	}
	for _, n := range s.Neighbors {
		out.Neighbors = append(out.Neighbors, neighborJSON{Addr: n.Addr, RSSIdBm: n.RSSI, LQI: n.LQI, Frames: n.Frames, LastHeardSeconds: n.LastHeardSeconds})
	}
	if r := s.RPL; r != nil {
		out.RPL = &rplStatusJSON{Mode: r.Mode, Instance: r.Instance, DODAGVersion: r.Version, DODAGID: r.DODAGID, RPI: r.RPI,
			DIOIntervalSeconds: r.DIOIntervalSeconds, Targets: r.Targets}
	}
	if c := s.Capture; c != nil {
		out.Capture = &captureJSON{File: c.File, ZEPMirror: c.ZEPMirror, Written: c.Written, Dropped: c.Dropped,
			WriteErrors: c.WriteErrors, ZEPSent: c.ZEPSent, ZEPErrors: c.ZEPErrors}
	}
	return out
}

// nodeJSON is an entry of `lowpanbr nodes --json` (a list).
type nodeJSON struct {
	Address          string `json:"address"`
	ROVR             string `json:"rovr"`
	TID              *uint8 `json:"tid"` // null: an RFC 6775 registration, no TID
	Protected        bool   `json:"protected"`
	LifetimeSeconds  int64  `json:"lifetime_seconds"`
	ExpiresInSeconds int64  `json:"expires_in_seconds"`
	LinkAddr         string `json:"link_addr"` // registered directly: its link-layer address; else ""
	Via              string `json:"via"`       // registered through this 6LR; else ""
}

func newNodesJSON(regs []borderrouter.Registration) []nodeJSON {
	out := []nodeJSON{}
	for _, r := range regs {
		out = append(out, nodeJSON{Address: r.Address, ROVR: r.ROVR, TID: r.TID, Protected: r.Protected,
			LifetimeSeconds: r.LifetimeSeconds, ExpiresInSeconds: r.ExpiresInSeconds, LinkAddr: r.LinkAddr, Via: r.Via})
	}
	return out
}

// routeJSON is an entry of `lowpanbr routes --json` (a list, RPL routes
// first).
type routeJSON struct {
	Destination string   `json:"destination"` // an address, or a prefix a DAO announced
	Protocol    string   `json:"protocol"`    // rpl or nd
	Link        string   `json:"link"`
	NextHop     string   `json:"next_hop"` // link-layer address; "": unreachable
	Via         string   `json:"via"`      // nd: the 6LR; rpl: the DAO parent (non-storing) or next hop (storing)
	Hops        int      `json:"hops"`     // 0: unreachable, or unknown (RPL storing mode)
	Path        []string `json:"path"`     // RPL non-storing: the source route, first hop to destination
	External    bool     `json:"external"` // RPL: a 6LR announces it for a RPL-unaware leaf
	// ExpiresInSeconds: RPL, the DAO's path lifetime left; null for nd.
	ExpiresInSeconds *int64 `json:"expires_in_seconds"`
}

func newRoutesJSON(routes []borderrouter.Route) []routeJSON {
	out := []routeJSON{}
	for _, r := range routes {
		j := routeJSON{Destination: r.Destination, Protocol: r.Protocol, Link: r.Link, NextHop: r.NextHop, Via: r.Via,
			Hops: r.Hops, Path: r.Path, External: r.External, ExpiresInSeconds: r.ExpiresInSeconds}
		if j.Path == nil {
			j.Path = []string{}
		}
		out = append(out, j)
	}
	return out
}
