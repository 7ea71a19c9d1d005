package pcapconv

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
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
	// JSON receives one JSON object per decoded packet or failed frame.
	JSON io.Writer
	// KeepDuplicates passes MAC-level retransmissions on; by default a frame
	// with the same source and sequence number as the previous one from
	// that source is dropped, as a receiver would.
	KeepDuplicates bool
}

// DecodeStats counts what Decode saw.
type DecodeStats struct {
	Frames     int // 802.15.4 frames read (directly or from ZEP)
	Packets    int // IPv6 packets decoded
	Errors     int // frames that could not be decoded
	Skipped    int // non-data frames, non-ZEP traffic
	Duplicates int // MAC retransmissions dropped
	Reassembly lowpan.ReassemblyStats
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
	Error      string      `json:"error,omitempty"`
}

type fragKey struct {
	src, dst lowpan.LinkAddr
	size     uint16
	tag      uint16
}

type pendingDatagram struct {
	frames []int
	first  *LowpanInfo
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
	return d.finish(), nil
}

func (d *decoder) finish() DecodeStats {
	d.stats.Reassembly = d.r.Stats()
	return d.stats
}

// record handles one capture record: an 802.15.4 frame, or a ZEP datagram
// carrying one.
func (d *decoder) record(p pcapio.Packet) error {
	switch p.LinkType {
	case pcapio.LinkTypeIEEE802154WithFCS:
		return d.frame(p.Timestamp, p.Data, true, nil)
	case pcapio.LinkTypeIEEE802154NoFCS:
		return d.frame(p.Timestamp, p.Data, false, nil)
	}
	u, err := pcapio.ExtractUDP(p.LinkType, p.Data)
	if err != nil || (u.Dst.Port() != pcapio.ZEPPort) {
		d.stats.Skipped++
		return nil
	}
	var z pcapio.ZEP
	if err := z.Decode(u.Payload); err != nil {
		return d.fail(p.Timestamp, nil, fmt.Errorf("ZEP: %w", err))
	}
	if z.Type != pcapio.ZEPTypeData {
		d.stats.Skipped++
		return nil
	}
	ch := int(z.Channel)
	return d.frame(p.Timestamp, z.PSDU, z.HasFCS(), &ch)
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

func (d *decoder) frame(ts time.Time, psdu []byte, hasFCS bool, channel *int) error {
	d.stats.Frames++
	var f ieee802154.Frame
	if err := f.Decode(psdu, hasFCS); err != nil {
		return d.fail(ts, &MACInfo{Frame: d.frameNum}, fmt.Errorf("802.15.4: %w", err))
	}
	mac := macInfo(d.frameNum, &f, channel)
	if f.Type != ieee802154.FrameData {
		d.stats.Skipped++
		return d.emit(&Record{Time: ts, Frames: []int{d.frameNum}, MAC: mac})
	}
	if f.SecurityEnabled && f.Security.Encrypted() {
		return d.fail(ts, mac, errors.New("802.15.4 payload is encrypted; MAC security is not supported"))
	}
	src, dst := lowpan.MACLinkAddr(f.Src), lowpan.MACLinkAddr(f.Dst)
	if !d.opts.KeepDuplicates && !f.SeqSuppressed && src.Kind() != lowpan.LinkAddrNone {
		if last, ok := d.lastSeq[src]; ok && last == f.Seq {
			d.stats.Duplicates++
			return nil
		}
		d.lastSeq[src] = f.Seq
	}
	var h lowpan.Headers
	if err := lowpan.ParseHeaders(f.Payload, &h); err != nil {
		return d.fail(ts, mac, err)
	}
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
			return d.fail(ts, mac, err)
		}
		return d.packet(ts, []int{d.frameNum}, mac, lp, d.out[:n])
	}

	key := fragKey{src, dst, h.Frag.Size, h.Frag.Tag}
	pd := d.pending[key]
	if pd == nil {
		if len(d.pending) >= maxPending {
			// Incomplete datagrams the reassembler has long dropped.
			clear(d.pending)
		}
		pd = &pendingDatagram{}
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
			return nil
		}
		delete(d.pending, key)
		return d.fail(ts, mac, err)
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

func (d *decoder) fail(ts time.Time, mac *MACInfo, err error) error {
	d.stats.Errors++
	return d.emit(&Record{Time: ts, Frames: []int{d.frameNum}, MAC: mac, Error: err.Error()})
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
