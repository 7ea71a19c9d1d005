package pcapconv

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
)

// DecodeOptions configures Decode.
type DecodeOptions struct {
	Contexts   *lowpan.ContextTable
	Reassembly lowpan.ReassemblyConfig
	// IPv6 receives the decoded packets as a raw-IPv6 pcap; nil: none.
	IPv6 io.Writer
	// JSON receives one JSON object per decoded packet or skipped frame.
	JSON io.Writer
	// KeepDuplicates passes MAC-level retransmissions on; by default a frame
	// with the same source and sequence number as the previous one from
	// that source is dropped, as a receiver would.
	KeepDuplicates bool
	// FCS says how the frames of link type 195 (and ZEP in CRC mode) end;
	// the zero value is FCSAuto.
	FCS FCSMode
	// MaxPSDU is the longest frame accepted, FCS included: 0 means
	// ieee802154.MaxSUNPSDU (2047, the SUN PHYs of 802.15.4g); 127 is the
	// 2.4 GHz O-QPSK PHY's.
	MaxPSDU int
	// OnSkip, when set, is called for every frame (or capture record) that
	// gives no IPv6 packet, with the reason, in capture order; a datagram
	// whose fragments never all came is reported at the end of the
	// capture.
	OnSkip func(Skip)
}

// FCSMode is how the frames of a capture end.
type FCSMode uint8

const (
	// FCSAuto checks the 2-octet FCS (ITU-T CRC-16, what link type 195
	// and Wireshark assume), and when it fails takes the frame if its last
	// 4 octets are a valid CRC-32 FCS, as SUN PHYs may send (IEEE
	// 802.15.4-2020 §7.2.10; the PHR that says which is not captured). A
	// CRC-32 that holds by chance on a damaged CRC-16 frame has odds of
	// 2^-32.
	FCSAuto FCSMode = iota
	// FCS16 checks a 2-octet FCS only.
	FCS16
	// FCS32 checks a 4-octet FCS only (Wireshark: wpan.fcs_format
	// "ITU-T CRC-32").
	FCS32
	// FCSUnchecked takes the last 2 octets for something else and checks
	// nothing: sniffers in the TI CC24xx format store RSSI and LQI there
	// (Wireshark: wpan.fcs_format "TI CC24xx metadata").
	FCSUnchecked
)

// ParseFCSMode reads auto, 16, 32 or unchecked.
func ParseFCSMode(s string) (FCSMode, error) {
	switch s {
	case "auto", "":
		return FCSAuto, nil
	case "16", "2", "crc16":
		return FCS16, nil
	case "32", "4", "crc32":
		return FCS32, nil
	case "unchecked", "none", "cc24xx":
		return FCSUnchecked, nil
	}
	return FCSAuto, fmt.Errorf("FCS %q: want auto, 16, 32 or unchecked", s)
}

// SkipReason says why a frame gave no IPv6 packet.
type SkipReason uint8

// Skip reasons, in the order a frame meets them.
const (
	SkipOtherTraffic     SkipReason = iota + 1 // a record that is neither an 802.15.4 frame nor ZEP on UDP 17754
	SkipBadZEP                                 // a ZEP datagram that does not decode
	SkipZEPAck                                 // a ZEP ack, not a frame
	SkipCaptureTruncated                       // the capture kept fewer octets than were sent (snap length)
	SkipTooLong                                // longer than aMaxPhyPacketSize (DecodeOptions.MaxPSDU)
	SkipBadFCS                                 // the FCS does not match
	SkipBadMAC                                 // the MAC header does not decode
	SkipNotData                                // beacon, ack, MAC command
	SkipEncrypted                              // MAC security with encryption: the payload cannot be read
	SkipDuplicate                              // a MAC retransmission, or a fragment heard twice
	SkipNotLowpan                              // the payload is not 6LoWPAN (NALP or an unknown dispatch)
	SkipBadLowpan                              // a 6LoWPAN header (mesh, fragment, IPHC, NHC) does not decode
	SkipUnknownContext                         // IPHC names a context Contexts does not hold
	SkipReassembly                             // a fragment the reassembly refused (overlap, size mismatch, full)
	SkipIncomplete                             // fragments of a datagram whose other fragments never came
	numSkipReasons
)

var skipNames = [numSkipReasons]string{
	SkipOtherTraffic:     "not 802.15.4 or ZEP",
	SkipBadZEP:           "bad ZEP",
	SkipZEPAck:           "ZEP ack",
	SkipCaptureTruncated: "cut by the capture's snap length",
	SkipTooLong:          "frame too long",
	SkipBadFCS:           "bad FCS",
	SkipBadMAC:           "bad MAC header",
	SkipNotData:          "not a data frame",
	SkipEncrypted:        "encrypted",
	SkipDuplicate:        "duplicate",
	SkipNotLowpan:        "not 6LoWPAN",
	SkipBadLowpan:        "undecodable 6LoWPAN",
	SkipUnknownContext:   "unknown context",
	SkipReassembly:       "reassembly refused",
	SkipIncomplete:       "fragment missing",
}

func (r SkipReason) String() string {
	if r < numSkipReasons && skipNames[r] != "" {
		return skipNames[r]
	}
	return fmt.Sprintf("skip reason %d", uint8(r))
}

// isError tells the reasons that are errors (something in the capture is
// broken or cannot be read) from those that are simply not IPv6: other
// traffic, acks, beacons, MAC commands, retransmissions.
func (r SkipReason) isError() bool {
	switch r {
	case SkipOtherTraffic, SkipZEPAck, SkipNotData, SkipDuplicate:
		return false
	}
	return true
}

// Skip is one frame, or the frames of one datagram, that gave no IPv6
// packet.
type Skip struct {
	Frames []int // capture record numbers, from 1, as Wireshark numbers frames
	Reason SkipReason
	Detail string // what was found, where, and what to try
}

func (s Skip) String() string {
	return fmt.Sprintf("%s: skipped: %s: %s", frameList(s.Frames), s.Reason, s.Detail)
}

// frameList formats frame numbers as "frame 4" or "frames 4, 5, 9".
func frameList(fs []int) string {
	if len(fs) == 1 {
		return fmt.Sprint("frame ", fs[0])
	}
	var b []byte
	b = append(b, "frames "...)
	for i, f := range fs {
		if i > 0 {
			b = append(b, ", "...)
		}
		if i == 8 && len(fs) > 9 {
			b = fmt.Appendf(b, "… (%d in all)", len(fs))
			break
		}
		b = strconv.AppendInt(b, int64(f), 10)
	}
	return string(b)
}

// DecodeStats counts what Decode saw.
type DecodeStats struct {
	Frames     int // 802.15.4 frames read (directly or from ZEP)
	Packets    int // IPv6 packets decoded
	Errors     int // frames that could not be decoded (Skipped by an error reason)
	Skipped    int // non-data frames, ZEP acks, non-ZEP traffic
	Duplicates int // MAC retransmissions and repeated fragments dropped
	Incomplete int // frames of datagrams that never completed
	FCS32      int // frames taken with a 4-octet FCS (FCSAuto, FCS32)
	// ByReason counts the frames (and capture records) skipped, by reason.
	ByReason   [numSkipReasons]int
	Reassembly lowpan.ReassemblyStats
}

// SkipCount is a reason and how many frames it skipped.
type SkipCount struct {
	Reason SkipReason
	Frames int
}

// Skips returns the reasons that skipped frames, in SkipReason order.
func (s *DecodeStats) Skips() []SkipCount {
	var out []SkipCount
	for r, n := range s.ByReason {
		if n > 0 {
			out = append(out, SkipCount{SkipReason(r), n})
		}
	}
	return out
}

// MACInfo is the JSON description of an 802.15.4 header.
type MACInfo struct {
	Frame        int    `json:"frame"`
	Type         string `json:"type"`
	Version      string `json:"version"`
	Seq          *int   `json:"seq,omitempty"`
	Src          string `json:"src,omitempty"`
	Dst          string `json:"dst,omitempty"`
	SrcPAN       string `json:"src_pan,omitempty"`
	DstPAN       string `json:"dst_pan,omitempty"`
	AckRequest   bool   `json:"ack_request,omitempty"`
	FramePending bool   `json:"frame_pending,omitempty"`
	Security     bool   `json:"security,omitempty"`
	Channel      *int   `json:"zep_channel,omitempty"`
}

// LowpanInfo is the JSON description of the 6LoWPAN encoding.
type LowpanInfo struct {
	Dispatch      string   `json:"dispatch"`
	MeshHopsLeft  *int     `json:"mesh_hops_left,omitempty"`
	MeshOrigin    string   `json:"mesh_originator,omitempty"`
	MeshFinal     string   `json:"mesh_final,omitempty"`
	BroadcastSeq  *int     `json:"broadcast_seq,omitempty"`
	Fragments     int      `json:"fragments,omitempty"`
	DatagramSize  int      `json:"datagram_size,omitempty"`
	DatagramTag   *int     `json:"datagram_tag,omitempty"`
	TF            *int     `json:"tf,omitempty"`
	NH            bool     `json:"nh,omitempty"`
	HLIM          *int     `json:"hlim,omitempty"`
	CID           bool     `json:"cid,omitempty"`
	SCI           *int     `json:"sci,omitempty"`
	DCI           *int     `json:"dci,omitempty"`
	SAC           bool     `json:"sac,omitempty"`
	SAM           *int     `json:"sam,omitempty"`
	M             bool     `json:"m,omitempty"`
	DAC           bool     `json:"dac,omitempty"`
	DAM           *int     `json:"dam,omitempty"`
	NHC           []string `json:"nhc,omitempty"`
	CompressedLen int      `json:"compressed_header_octets,omitempty"`
	HeaderLen     int      `json:"uncompressed_header_octets,omitempty"`
}

// IPv6Info is the JSON description of the decoded IPv6 header.
type IPv6Info struct {
	Src           string `json:"src"`
	Dst           string `json:"dst"`
	TrafficClass  int    `json:"traffic_class"`
	FlowLabel     int    `json:"flow_label"`
	HopLimit      int    `json:"hop_limit"`
	NextHeader    int    `json:"next_header"`
	PayloadLength int    `json:"payload_length"`
}

// UDPInfo is the JSON description of a UDP header right after IPv6.
type UDPInfo struct {
	SrcPort  int    `json:"src_port"`
	DstPort  int    `json:"dst_port"`
	Length   int    `json:"length"`
	Checksum string `json:"checksum"`
}

// Record is one JSON line.
type Record struct {
	Time       time.Time   `json:"time"`
	Frames     []int       `json:"frames"`
	MAC        *MACInfo    `json:"mac,omitempty"`
	Lowpan     *LowpanInfo `json:"lowpan,omitempty"`
	IPv6       *IPv6Info   `json:"ipv6,omitempty"`
	UDP        *UDPInfo    `json:"udp,omitempty"`
	PayloadHex string      `json:"payload_hex,omitempty"`
	PacketHex  string      `json:"ipv6_packet_hex,omitempty"`
	// Skip is the SkipReason of a frame that gave no packet; Error says
	// what went wrong when the reason is an error.
	Skip  string `json:"skip,omitempty"`
	Error string `json:"error,omitempty"`
}

type fragKey struct {
	src, dst lowpan.LinkAddr
	size     uint16
	tag      uint16
}

type pendingDatagram struct {
	frames []int
	first  *LowpanInfo
	ts     time.Time
}

// maxPending bounds the frame lists kept for datagrams in reassembly.
const maxPending = 4096

type decoder struct {
	opts     DecodeOptions
	ipv6     *pcapio.Writer
	enc      *json.Encoder
	r        *lowpan.Reassembler
	stats    DecodeStats
	out      []byte
	lastSeq  map[lowpan.LinkAddr]uint8
	pending  map[fragKey]*pendingDatagram
	frameNum int
}

// Decode reads capture in and writes what opts asks for. A frame that
// cannot be decoded is counted and reported in JSON, never fatal; a
// capture that cannot be read is.
func Decode(in io.Reader, opts DecodeOptions) (DecodeStats, error) {
	rd, err := pcapio.NewReader(in)
	if err != nil {
		return DecodeStats{}, fmt.Errorf("pcap decode: %w", err)
	}
	if opts.MaxPSDU == 0 {
		opts.MaxPSDU = ieee802154.MaxSUNPSDU
	}
	if opts.MaxPSDU < ieee802154.MaxPSDU || opts.MaxPSDU > ieee802154.MaxSUNPSDU {
		return DecodeStats{}, fmt.Errorf("pcap decode: MaxPSDU %d outside %d..%d", opts.MaxPSDU, ieee802154.MaxPSDU, ieee802154.MaxSUNPSDU)
	}
	d := &decoder{opts: opts, out: make([]byte, 4096), lastSeq: map[lowpan.LinkAddr]uint8{}, pending: map[fragKey]*pendingDatagram{}}
	if d.r, err = lowpan.NewReassembler(opts.Reassembly, opts.Contexts); err != nil {
		return DecodeStats{}, fmt.Errorf("pcap decode: %w", err)
	}
	if opts.IPv6 != nil {
		if d.ipv6, err = pcapio.NewWriter(opts.IPv6, pcapio.LinkTypeIPv6); err != nil {
			return DecodeStats{}, fmt.Errorf("pcap decode: %w", err)
		}
	}
	if opts.JSON != nil {
		d.enc = json.NewEncoder(opts.JSON)
	}
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return d.finish(), fmt.Errorf("pcap decode: record %d: %w", d.frameNum+1, err)
		}
		d.frameNum++
		if err := d.record(p); err != nil {
			return d.finish(), err
		}
	}
	if err := d.incomplete(); err != nil {
		return d.finish(), err
	}
	return d.finish(), nil
}

func (d *decoder) finish() DecodeStats {
	d.stats.Reassembly = d.r.Stats()
	return d.stats
}

// incomplete reports the datagrams still waiting for fragments, in the
// order of their first frame.
func (d *decoder) incomplete() error {
	keys := make([]fragKey, 0, len(d.pending))
	for k := range d.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fragKey) int { return d.pending[a].frames[0] - d.pending[b].frames[0] })
	for _, k := range keys {
		pd := d.pending[k]
		detail := fmt.Sprintf("datagram tag 0x%04x of %d octets from %v to %v: %d fragment(s) captured, the rest never came",
			k.tag, k.size, k.src, k.dst, len(pd.frames))
		if err := d.skip(pd.ts, pd.frames, nil, SkipIncomplete, detail); err != nil {
			return err
		}
	}
	clear(d.pending)
	return nil
}

// record handles one capture record: an 802.15.4 frame, or a ZEP datagram
// carrying one.
func (d *decoder) record(p pcapio.Packet) error {
	switch p.LinkType {
	case pcapio.LinkTypeIEEE802154WithFCS:
		return d.frame(p.Timestamp, p.Data, p.OrigLen, true, nil)
	case pcapio.LinkTypeIEEE802154NoFCS:
		return d.frame(p.Timestamp, p.Data, p.OrigLen, false, nil)
	}
	u, err := pcapio.ExtractUDP(p.LinkType, p.Data)
	if err != nil {
		return d.skip(p.Timestamp, nil, nil, SkipOtherTraffic, fmt.Sprintf("link type %d: %v", p.LinkType, err))
	}
	if u.Dst.Port() != pcapio.ZEPPort {
		return d.skip(p.Timestamp, nil, nil, SkipOtherTraffic, fmt.Sprintf("UDP to port %d, not ZEP (%d)", u.Dst.Port(), pcapio.ZEPPort))
	}
	if p.OrigLen > len(p.Data) {
		return d.skip(p.Timestamp, nil, nil, SkipCaptureTruncated,
			fmt.Sprintf("ZEP datagram: captured %d of its %d octets; capture again with a larger snap length", len(p.Data), p.OrigLen))
	}
	var z pcapio.ZEP
	if err := z.Decode(u.Payload); err != nil {
		return d.skip(p.Timestamp, nil, nil, SkipBadZEP, err.Error())
	}
	if z.Type != pcapio.ZEPTypeData {
		return d.skip(p.Timestamp, nil, nil, SkipZEPAck, fmt.Sprintf("ZEP type %d", z.Type))
	}
	ch := int(z.Channel)
	return d.frame(p.Timestamp, z.PSDU, len(z.PSDU), z.HasFCS(), &ch)
}

// offsetIn is the offset of sub in base, a slice of the same array at or
// after base's start.
func offsetIn(base, sub []byte) int {
	if cap(sub) == 0 {
		return len(base)
	}
	return cap(base) - cap(sub)
}

// decodeMAC decodes psdu as the options say its FCS is. It returns the FCS
// length taken, or why the frame cannot be read.
func (d *decoder) decodeMAC(f *ieee802154.Frame, psdu []byte, hasFCS bool) (SkipReason, string) {
	max := d.opts.MaxPSDU
	var err error
	switch {
	case !hasFCS:
		err = f.DecodePHY(psdu, ieee802154.FCSLenNone, max)
	case d.opts.FCS == FCSUnchecked:
		if len(psdu) < ieee802154.FCSLen16 {
			return SkipBadMAC, fmt.Sprintf("%d octets: no room for the 2 octets of metadata", len(psdu))
		}
		err = f.DecodePHY(psdu[:len(psdu)-ieee802154.FCSLen16], ieee802154.FCSLenNone, max)
	case d.opts.FCS == FCS32:
		if err = f.DecodePHY(psdu, ieee802154.FCSLen32, max); err == nil {
			d.stats.FCS32++
		}
	default:
		err = f.DecodePHY(psdu, ieee802154.FCSLen16, max)
		if errors.Is(err, ieee802154.ErrBadFCS) && d.opts.FCS == FCSAuto {
			var g ieee802154.Frame
			if g.DecodePHY(psdu, ieee802154.FCSLen32, max) == nil {
				*f, err = g, nil
				d.stats.FCS32++
			}
		}
	}
	switch {
	case err == nil:
		return 0, ""
	case errors.Is(err, ieee802154.ErrTooLong):
		if max == ieee802154.MaxSUNPSDU {
			return SkipTooLong, fmt.Sprintf("%d octets, more than the 2047 of the longest PHY (SUN, IEEE 802.15.4-2020 §11.3)", len(psdu))
		}
		return SkipTooLong, fmt.Sprintf("%d octets, more than the limit of %d (up to 2047 for SUN PHYs)", len(psdu), max)
	case errors.Is(err, ieee802154.ErrBadFCS):
		return SkipBadFCS, badFCS(psdu, d.opts.FCS)
	}
	return SkipBadMAC, err.Error()
}

// badFCS describes a frame whose FCS does not hold, with what to try.
func badFCS(psdu []byte, mode FCSMode) string {
	n := len(psdu)
	got16 := binary.LittleEndian.Uint16(psdu[n-2:])
	s := fmt.Sprintf("%d octets; CRC-16 FCS 0x%04x on air, 0x%04x computed", n, got16, ieee802154.FCS(psdu[:n-2]))
	if n >= 4 {
		crc32ok := ieee802154.FCS32(psdu[:n-4]) == binary.LittleEndian.Uint32(psdu[n-4:])
		switch {
		case mode == FCS16 && crc32ok:
			return s + "; its last 4 octets are a valid CRC-32 FCS: try --fcs 32 (or auto)"
		case mode == FCS32:
			s = fmt.Sprintf("%d octets; CRC-32 FCS 0x%08x on air, 0x%08x computed", n, binary.LittleEndian.Uint32(psdu[n-4:]), ieee802154.FCS32(psdu[:n-4]))
		case mode == FCSAuto:
			s += ", and no CRC-32 FCS either"
		}
	}
	return s + " (damaged on air, or a sniffer that stores RSSI/LQI there: --fcs unchecked)"
}

func intp(v int) *int { return &v }

func macInfo(n int, f *ieee802154.Frame, channel *int) *MACInfo {
	h := &f.Header
	m := &MACInfo{Frame: n, Type: h.Type.String(), Version: h.Version.String(), AckRequest: h.AckRequest,
		FramePending: h.FramePending, Security: h.SecurityEnabled, Channel: channel}
	if !h.SeqSuppressed {
		m.Seq = intp(int(h.Seq))
	}
	if h.Src.Mode != ieee802154.AddrNone {
		m.Src = h.Src.String()
	}
	if h.Dst.Mode != ieee802154.AddrNone {
		m.Dst = h.Dst.String()
	}
	if h.SrcPANPresent {
		m.SrcPAN = fmt.Sprintf("0x%04x", uint16(h.SrcPAN))
	}
	if h.DstPANPresent {
		m.DstPAN = fmt.Sprintf("0x%04x", uint16(h.DstPAN))
	}
	return m
}

func (d *decoder) frame(ts time.Time, psdu []byte, origLen int, hasFCS bool, channel *int) error {
	d.stats.Frames++
	this := []int{d.frameNum}
	var f ieee802154.Frame
	if origLen > len(psdu) {
		// Decode what there is: the MAC header, for the JSON.
		var mac *MACInfo
		if f.DecodePHY(psdu, ieee802154.FCSLenNone, ieee802154.MaxSUNPSDU) == nil {
			mac = macInfo(d.frameNum, &f, channel)
		}
		return d.skip(ts, this, mac, SkipCaptureTruncated,
			fmt.Sprintf("captured %d of its %d octets; capture again with a larger snap length", len(psdu), origLen))
	}
	if reason, detail := d.decodeMAC(&f, psdu, hasFCS); reason != 0 {
		return d.skip(ts, this, &MACInfo{Frame: d.frameNum, Channel: channel}, reason, detail)
	}
	mac := macInfo(d.frameNum, &f, channel)
	if f.Type != ieee802154.FrameData {
		return d.skip(ts, this, mac, SkipNotData, f.Type.String()+" frame")
	}
	if f.SecurityEnabled && f.Security.Encrypted() {
		return d.skip(ts, this, mac, SkipEncrypted, fmt.Sprintf("security level %d encrypts the payload; MAC security is not supported", f.Security.Level))
	}
	src, dst := lowpan.MACLinkAddr(f.Src), lowpan.MACLinkAddr(f.Dst)
	if !d.opts.KeepDuplicates && !f.SeqSuppressed && src.Kind() != lowpan.LinkAddrNone {
		if last, ok := d.lastSeq[src]; ok && last == f.Seq {
			return d.skip(ts, this, mac, SkipDuplicate,
				fmt.Sprintf("sequence number %d from %v again: a MAC retransmission (--keep-duplicates keeps them)", f.Seq, src))
		}
		d.lastSeq[src] = f.Seq
	}
	var h lowpan.Headers
	at := offsetIn(psdu, f.Payload)
	if len(f.Payload) == 0 {
		return d.skip(ts, this, mac, SkipNotLowpan, "data frame without payload")
	}
	if err := lowpan.ParseHeaders(f.Payload, &h); err != nil {
		if errors.Is(err, lowpan.ErrNotLowpan) || errors.Is(err, lowpan.ErrReserved) || errors.Is(err, lowpan.ErrUnsupported) {
			return d.skip(ts, this, mac, SkipNotLowpan, fmt.Sprintf("dispatch 0x%02x at offset %d: %v", f.Payload[0], at, err))
		}
		return d.skip(ts, this, mac, SkipBadLowpan, fmt.Sprintf("6LoWPAN header at offset %d: %v", at, err))
	}
	hc := offsetIn(psdu, h.Payload)
	lp := &LowpanInfo{}
	if h.HasMesh {
		lp.MeshHopsLeft = intp(int(h.Mesh.HopsLeft))
		lp.MeshOrigin, lp.MeshFinal = h.Mesh.Originator.String(), h.Mesh.Final.String()
		// RFC 4944 §5.2: the mesh header's addresses stand for the link-layer
		// ones for IID derivation and reassembly.
		src, dst = h.Mesh.Originator, h.Mesh.Final
	}
	if h.HasBroadcast {
		lp.BroadcastSeq = intp(int(h.BroadcastSeq))
	}
	if !h.HasFrag {
		d.describe(lp, h.Payload, src, dst)
		n, err := lowpan.Decompress(d.out, h.Payload, src, dst, d.opts.Contexts)
		if err != nil {
			reason, detail := decompressFailure(h.Payload, hc, err)
			return d.skip(ts, this, mac, reason, detail)
		}
		return d.packet(ts, this, mac, lp, d.out[:n])
	}

	key := fragKey{src, dst, h.Frag.Size, h.Frag.Tag}
	pd := d.pending[key]
	if pd == nil {
		if len(d.pending) >= maxPending {
			// Incomplete datagrams the reassembler has long dropped.
			if err := d.incomplete(); err != nil {
				return err
			}
		}
		pd = &pendingDatagram{ts: ts}
		d.pending[key] = pd
	}
	pd.frames = append(pd.frames, d.frameNum)
	if h.Frag.First {
		d.describe(lp, h.Payload, src, dst)
		pd.first = lp
	}
	d.r.Expire(ts)
	n, err := d.r.Add(ts, d.out, src, dst, &h)
	if err != nil {
		if errors.Is(err, lowpan.ErrDuplicate) {
			if pd.frames = pd.frames[:len(pd.frames)-1]; len(pd.frames) == 0 {
				delete(d.pending, key)
			}
			return d.skip(ts, this, mac, SkipDuplicate, fmt.Sprintf("fragment at offset %d of datagram tag 0x%04x heard again", int(h.Frag.Offset), h.Frag.Tag))
		}
		delete(d.pending, key)
		// The reassembler dropped the datagram: its earlier fragments
		// go with this one.
		reason, detail := SkipReassembly, fmt.Sprintf("fragment of datagram tag 0x%04x of %d octets: %v", h.Frag.Tag, h.Frag.Size, err)
		if h.Frag.First && !errors.Is(err, lowpan.ErrBadLength) {
			reason, detail = decompressFailure(h.Payload, hc, err)
		}
		return d.skip(ts, pd.frames, mac, reason, detail)
	}
	if n == 0 {
		return nil
	}
	delete(d.pending, key)
	info := pd.first
	if info == nil {
		info = lp
	}
	info.Fragments = len(pd.frames)
	info.DatagramSize = int(h.Frag.Size)
	info.DatagramTag = intp(int(h.Frag.Tag))
	return d.packet(ts, pd.frames, mac, info, d.out[:n])
}

// describe fills lp with the encoding of the datagram headers in b.
func (d *decoder) describe(lp *LowpanInfo, b []byte, src, dst lowpan.LinkAddr) {
	e, err := lowpan.Inspect(b, src, dst, d.opts.Contexts)
	if err != nil {
		return
	}
	lp.Dispatch = e.Dispatch
	lp.CompressedLen, lp.HeaderLen = e.CompressedOctets, e.UncompressedOctets
	if e.Dispatch != "IPHC" {
		return
	}
	lp.TF, lp.HLIM, lp.SAM, lp.DAM = intp(int(e.TF)), intp(int(e.HLIM)), intp(int(e.SAM)), intp(int(e.DAM))
	lp.NH, lp.CID, lp.SAC, lp.M, lp.DAC = e.NH, e.CID, e.SAC, e.M, e.DAC
	if e.CID {
		lp.SCI, lp.DCI = intp(int(e.SCI)), intp(int(e.DCI))
	}
	lp.NHC = e.NHCNames()
}

func (d *decoder) packet(ts time.Time, frames []int, mac *MACInfo, lp *LowpanInfo, pkt []byte) error {
	d.stats.Packets++
	if d.ipv6 != nil {
		if err := d.ipv6.WritePacket(ts, pkt); err != nil {
			return fmt.Errorf("pcap decode: write: %w", err)
		}
	}
	if d.enc == nil {
		return nil
	}
	rec := &Record{Time: ts, Frames: frames, MAC: mac, Lowpan: lp, PacketHex: hex.EncodeToString(pkt)}
	if len(pkt) >= 40 {
		src, dst := netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
		vtf := binary.BigEndian.Uint32(pkt)
		rec.IPv6 = &IPv6Info{Src: src.String(), Dst: dst.String(), TrafficClass: int(vtf >> 20 & 0xff), FlowLabel: int(vtf & 0xfffff),
			HopLimit: int(pkt[7]), NextHeader: int(pkt[6]), PayloadLength: int(binary.BigEndian.Uint16(pkt[4:]))}
		payload := pkt[40:]
		if pkt[6] == 17 && len(payload) >= 8 {
			rec.UDP = &UDPInfo{SrcPort: int(binary.BigEndian.Uint16(payload)), DstPort: int(binary.BigEndian.Uint16(payload[2:])),
				Length: int(binary.BigEndian.Uint16(payload[4:])), Checksum: fmt.Sprintf("0x%04x", binary.BigEndian.Uint16(payload[6:]))}
			payload = payload[8:]
		}
		rec.PayloadHex = hex.EncodeToString(payload)
	}
	return d.emit(rec)
}

// decompressFailure names why the IPHC at offset at of the frame did not
// decompress.
func decompressFailure(b []byte, at int, err error) (SkipReason, string) {
	if errors.Is(err, lowpan.ErrUnknownContext) {
		return SkipUnknownContext, fmt.Sprintf("IPHC at offset %d: %v; give the mesh's contexts with --context ID=PREFIX", at, err)
	}
	d := byte(0)
	if len(b) > 0 {
		d = b[0]
	}
	return SkipBadLowpan, fmt.Sprintf("datagram header (dispatch 0x%02x) at offset %d: %v", d, at, err)
}

// skip counts frames that gave no packet, reports them to OnSkip and, as
// a record, to the JSON.
func (d *decoder) skip(ts time.Time, frames []int, mac *MACInfo, reason SkipReason, detail string) error {
	n := max(len(frames), 1) // a record that is not a frame counts once
	if frames == nil {
		frames = []int{d.frameNum}
	}
	d.stats.ByReason[reason] += n
	switch {
	case reason == SkipDuplicate:
		d.stats.Duplicates += n
	case reason == SkipIncomplete:
		d.stats.Incomplete += n
	case reason.isError():
		d.stats.Errors += n
	default:
		d.stats.Skipped += n
	}
	if d.opts.OnSkip != nil {
		d.opts.OnSkip(Skip{Frames: frames, Reason: reason, Detail: detail})
	}
	rec := &Record{Time: ts, Frames: frames, MAC: mac, Skip: reason.String()}
	if reason.isError() {
		rec.Error = reason.String() + ": " + detail
	}
	return d.emit(rec)
}

func (d *decoder) emit(r *Record) error {
	if d.enc == nil {
		return nil
	}
	if err := d.enc.Encode(r); err != nil {
		return fmt.Errorf("pcap decode: JSON: %w", err)
	}
	return nil
}
