package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/pcap/pcapconv"
)

const pcapUsage = `usage:
  lowpanbr pcap decode [-o ipv6.pcap] [--json] [--context ID=PREFIX]... CAPTURE
  lowpanbr pcap encode -o frames.pcap [--src ADDR] [--dst ADDR] [--pan ID] [--context ID=PREFIX]... IPV6_CAPTURE

decode reads 802.15.4 frames (link types 195/230, pcap or pcapng) or ZEP on
UDP port 17754, reassembles and decompresses them, and writes the IPv6
packets as a raw-IPv6 pcap and/or one JSON object per packet on stdout.
Frames of up to 2047 octets (IEEE 802.15.4g SUN PHYs) are read, with a
2- or 4-octet FCS. Every frame that gives no packet is named on stderr with
the reason (--quiet: the summary only), and a summary counts them.
encode turns IPv6 packets into 802.15.4 frames. CAPTURE "-" is stdin.
`

// contextFlags collects repeated --context ID=PREFIX flags.
type contextFlags struct{ table lowpan.ContextTable }

func (c *contextFlags) String() string { return "" }
func (c *contextFlags) Set(s string) error {
	id, ctx, err := lowpan.ParseContext(s)
	if err != nil {
		return err
	}
	return c.table.Set(id, ctx)
}

func runPcap(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, pcapUsage)
		return fmt.Errorf("missing subcommand decode or encode: %w", errUsage)
	}
	switch args[0] {
	case "decode":
		return runPcapDecode(args[1:], stdout, stderr)
	case "encode":
		return runPcapEncode(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, pcapUsage)
		return nil
	}
	fmt.Fprint(stderr, pcapUsage)
	return fmt.Errorf("unknown subcommand %q (want decode or encode): %w", args[0], errUsage)
}

func openInput(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	return os.Open(name)
}

func oneInput(pos []string) (string, error) {
	if len(pos) != 1 {
		return "", fmt.Errorf("want exactly one input capture, got %d arguments: %w", len(pos), errUsage)
	}
	return pos[0], nil
}

func runPcapDecode(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pcap decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the decoded IPv6 packets to this raw-IPv6 pcap (link type 229)")
	asJSON := fs.Bool("json", false, "print one JSON object per packet (and per frame that failed) on stdout")
	keepDup := fs.Bool("keep-duplicates", false, "keep MAC retransmissions (same source and sequence number)")
	fcs := fs.String("fcs", "auto", "how link type 195 frames end: auto (CRC-16, else a valid CRC-32 of SUN PHYs), 16, 32, or unchecked (2 octets of sniffer metadata, e.g. TI CC24xx RSSI/LQI)")
	maxPSDU := fs.Int("max-psdu", ieee802154.MaxSUNPSDU, "longest frame accepted, FCS included: 127 (2.4 GHz O-QPSK) up to 2047 (SUN PHYs, IEEE 802.15.4g)")
	quiet := fs.Bool("quiet", false, "do not name each skipped frame on stderr; print the summary only")
	var ctx contextFlags
	fs.Var(&ctx, "context", "compression context ID=PREFIX, e.g. 0=2001:db8:1::/64 (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	name, err := oneInput(pos)
	if err != nil {
		return err
	}
	if *out == "" && !*asJSON {
		return fmt.Errorf("nothing to do: give -o FILE, --json, or both: %w", errUsage)
	}
	fcsMode, err := pcapconv.ParseFCSMode(*fcs)
	if err != nil {
		return fmt.Errorf("--fcs: %v: %w", err, errUsage)
	}
	if *maxPSDU < ieee802154.MaxPSDU || *maxPSDU > ieee802154.MaxSUNPSDU {
		return fmt.Errorf("--max-psdu %d: want %d..%d: %w", *maxPSDU, ieee802154.MaxPSDU, ieee802154.MaxSUNPSDU, errUsage)
	}
	in, err := openInput(name)
	if err != nil {
		return err
	}
	defer in.Close()
	opts := pcapconv.DecodeOptions{Contexts: &ctx.table, KeepDuplicates: *keepDup, FCS: fcsMode, MaxPSDU: *maxPSDU}
	ew := bufio.NewWriter(stderr)
	defer ew.Flush()
	if !*quiet {
		opts.OnSkip = func(s pcapconv.Skip) { fmt.Fprintln(ew, s) }
	}
	var f *os.File
	var bw *bufio.Writer
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		bw = bufio.NewWriter(f)
		opts.IPv6 = bw
	}
	jw := bufio.NewWriter(stdout)
	if *asJSON {
		opts.JSON = jw
	}
	st, err := pcapconv.Decode(bufio.NewReader(in), opts)
	if ferr := jw.Flush(); err == nil {
		err = ferr
	}
	if bw != nil {
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
	}
	fmt.Fprintf(ew, "%d frames, %d IPv6 packets, %d errors, %d skipped, %d MAC duplicates; reassembly: %d completed, %d timed out, %d evicted, %d discarded\n",
		st.Frames, st.Packets, st.Errors, st.Skipped, st.Duplicates,
		st.Reassembly.Completed, st.Reassembly.TimedOut, st.Reassembly.Evicted, st.Reassembly.Overlaps)
	printSkipSummary(ew, &st)
	return err
}

// printSkipSummary says how many frames gave no packet and why, in one
// line: "skipped 5 frames: 1 bad FCS, 2 not a data frame, …".
func printSkipSummary(w io.Writer, st *pcapconv.DecodeStats) {
	skips := st.Skips()
	total := 0
	for _, s := range skips {
		total += s.Frames
	}
	if st.FCS32 > 0 {
		fmt.Fprintf(w, "%d frames had a 4-octet (CRC-32) FCS\n", st.FCS32)
	}
	if total == 0 {
		fmt.Fprintf(w, "decoded %d IPv6 packets; no frame skipped\n", st.Packets)
		return
	}
	parts := make([]string, len(skips))
	for i, s := range skips {
		parts[i] = fmt.Sprintf("%d %s", s.Frames, s.Reason)
	}
	fmt.Fprintf(w, "decoded %d IPv6 packets; skipped %d frames: %s\n", st.Packets, total, strings.Join(parts, ", "))
}

// parseMAC reads "auto", a short address (0x1234) or an EUI-64.
func parseMAC(s string) (ieee802154.Address, error) {
	switch {
	case s == "" || s == "auto":
		return ieee802154.Address{}, nil
	case strings.HasPrefix(s, "0x") && len(s) <= 6:
		v, err := strconv.ParseUint(s[2:], 16, 16)
		if err != nil {
			return ieee802154.Address{}, fmt.Errorf("short address %q: %v", s, err)
		}
		return ieee802154.ShortAddress(ieee802154.ShortAddr(v)), nil
	}
	e, err := ieee802154.ParseExtAddr(s)
	if err != nil {
		return ieee802154.Address{}, fmt.Errorf("address %q: want auto, a short address like 0x0001, or an EUI-64 like 02:12:34:56:78:ab:cd:ef", s)
	}
	return ieee802154.ExtAddress(e), nil
}

func runPcapEncode(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pcap encode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the 802.15.4 frames to this pcap (required)")
	src := fs.String("src", "auto", "MAC source: auto (from the IPv6 source IID), 0xSHORT or an EUI-64")
	dst := fs.String("dst", "auto", "MAC destination: auto (from the IPv6 destination; 0xffff for multicast), 0xSHORT or an EUI-64")
	pan := fs.String("pan", "0xabcd", "PAN ID")
	version := fs.Int("frame-version", 2006, "802.15.4 frame version: 2003, 2006 or 2015")
	noFCS := fs.Bool("no-fcs", false, "write link type 230 (no FCS) instead of 195")
	uncompressed := fs.Bool("uncompressed", false, "send IPv6 headers uncompressed (dispatch 0x41)")
	elide := fs.Bool("elide-udp-checksum", false, "elide UDP checksums (RFC 6282 §4.3.2: only where another check protects the datagram)")
	mesh := fs.Uint("mesh-hops", 0, "add an RFC 4944 mesh header with this many hops left (0: none)")
	var ctx contextFlags
	fs.Var(&ctx, "context", "compression context ID=PREFIX, e.g. 0=2001:db8:1::/64 (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	name, err := oneInput(pos)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-o FILE is required: %w", errUsage)
	}
	opts := pcapconv.EncodeOptions{Contexts: &ctx.table, NoFCS: *noFCS, Uncompressed: *uncompressed, ElideUDPChecksum: *elide}
	if opts.Src, err = parseMAC(*src); err != nil {
		return fmt.Errorf("--src: %v: %w", err, errUsage)
	}
	if opts.Dst, err = parseMAC(*dst); err != nil {
		return fmt.Errorf("--dst: %v: %w", err, errUsage)
	}
	p, err := strconv.ParseUint(strings.TrimPrefix(*pan, "0x"), 16, 16)
	if err != nil {
		return fmt.Errorf("--pan %q: want a 16-bit hex PAN ID like 0xabcd: %w", *pan, errUsage)
	}
	opts.PAN = ieee802154.PANID(p)
	switch *version {
	case 2003:
		opts.Version = ieee802154.Version2003
	case 2006:
		opts.Version = ieee802154.Version2006
	case 2015:
		opts.Version = ieee802154.Version2015
	default:
		return fmt.Errorf("--frame-version %d: want 2003, 2006 or 2015: %w", *version, errUsage)
	}
	if *mesh > 255 {
		return fmt.Errorf("--mesh-hops %d: at most 255: %w", *mesh, errUsage)
	}
	opts.MeshHopsLeft = uint8(*mesh)
	in, err := openInput(name)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	st, err := pcapconv.Encode(bufio.NewReader(in), bw, opts)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	fmt.Fprintf(stderr, "%d IPv6 packets -> %d frames; %d records skipped (not IPv6), %d packets failed\n", st.Packets, st.Frames, st.Skipped, st.Errors)
	return err
}
