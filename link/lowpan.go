package link

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/radio"
)

// BroadcastShort is the 802.15.4 broadcast address; as a next hop it sends
// a frame to every neighbour without acknowledgement.
var BroadcastShort = lowpan.ShortLinkAddr(0xffff)

// ErrNoAck: a frame of the packet was not acknowledged after every retry.
var ErrNoAck = errors.New("no acknowledgement")

// ErrChannelAccess: CSMA-CA found the channel busy for a frame of the
// packet, every retry included.
var ErrChannelAccess = errors.New("channel access failure")

// LowpanConfig configures an 802.15.4 link.
type LowpanConfig struct {
	Name     string
	Radio    radio.Radio
	PANID    uint16
	ExtAddr  [8]byte // this router's EUI-64 (canonical order)
	Contexts *lowpan.ContextTable
	// Reassembly bounds the reassembler (zero values: defaults).
	Reassembly lowpan.ReassemblyConfig
	// Version is the 802.15.4 frame version sent (default 2006).
	Version ieee802154.FrameVersion
	// ElideUDPChecksum: see lowpan.Compressor (off by default, RFC 6282
	// §4.3.2).
	ElideUDPChecksum bool
	// LoRH sends RPL headers compressed as RFC 8138 6LoRHs (see
	// lowpan.Compressor.LoRH): the initial state of the switch that
	// SetLoRH flips at run time. Off by default: RIOT, Contiki-NG and
	// OpenThread nodes cannot decode it. Received 6LoRH is decoded
	// whatever the switch says. The RPL root's address and RPI type the
	// compression uses are in Contexts (lowpan.ContextTable.SetRPL).
	LoRH bool
	// CCARetries is how often a frame is sent again after a channel
	// access failure (the RCP already did its CSMA-CA backoffs; the
	// channel may clear a few milliseconds later). Default 2; negative:
	// none. Retransmissions after a missing ACK are the RCP's own
	// (TxOptions.MaxFrameRetries) and not reported over Spinel.
	CCARetries int
	// MaxNeighbors bounds the neighbour table (default 64): the least
	// recently heard is forgotten first.
	MaxNeighbors int
	// Queue bounds the transmit queue.
	Queue QueueConfig
	// DrainTimeout bounds how long queued packets are still sent after
	// Run's context ends (default 2 s).
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// LowpanStats counts a link's traffic; every counter only grows. Its
// JSON names are the status API's (borderrouter.Status, link).
type LowpanStats struct {
	PacketsSent     uint64 `json:"packets_sent"`     // IPv6 packets whose every frame went out
	PacketsReceived uint64 `json:"packets_received"` // IPv6 packets delivered (reassembled, decompressed)
	// IPv6OctetsSent and IPv6OctetsReceived are those packets' octets,
	// uncompressed: the goodput, where FramesSent and BytesSent count what
	// the air carried (headers, fragments and retries included).
	IPv6OctetsSent     uint64 `json:"ipv6_octets_sent"`
	IPv6OctetsReceived uint64 `json:"ipv6_octets_received"`
	// FramesSent counts every transmission handed to the radio, whatever
	// its result, retries after a channel access failure included; each
	// ends as one of TxAcked, TxNoAck, TxCCA, TxErrors or (a frame that
	// asked for no ACK: broadcast) none of them.
	FramesSent     uint64 `json:"frames_sent"`
	FramesReceived uint64 `json:"frames_received"`
	TxAcked        uint64 `json:"tx_acked"`
	TxNoAck        uint64 `json:"tx_no_ack"`
	TxCCA          uint64 `json:"tx_cca_failures"` // channel access failures, retried ones included
	// TxErrors counts frames the radio failed to send otherwise (an
	// error, the RCP down or reset).
	TxErrors uint64 `json:"tx_errors"`
	// EncodeErrors counts packets that could not be made into frames at
	// all (too big, no room in the queue for their frames); no frame of
	// theirs is in FramesSent.
	EncodeErrors  uint64 `json:"encode_errors"`
	FragmentsSent uint64 `json:"fragments_sent"`
	MACDuplicates uint64 `json:"mac_duplicates"` // retransmissions dropped (same source and sequence number)
	BadFrames     uint64 `json:"bad_frames"`     // frames that are not 6LoWPAN data frames for us
	DecodeErrors  uint64 `json:"decode_errors"`
	// HeaderBytesSaved is uncompressed minus compressed header octets of
	// sent packets.
	HeaderBytesSaved uint64 `json:"header_bytes_saved"`
	// BytesSent and BytesReceived count PSDU octets (MAC header, payload
	// and FCS) handed to and received from the radio.
	BytesSent     uint64 `json:"bytes_sent"`
	BytesReceived uint64 `json:"bytes_received"`
	// TxRetries counts frames sent again after a channel access failure.
	TxRetries        uint64                 `json:"tx_retries"`
	Reassembly       lowpan.ReassemblyStats `json:"reassembly"`
	ReassemblyMemory int                    `json:"reassembly_memory_bytes"`
}

// Neighbor is what a link knows of a node it heard directly.
type Neighbor struct {
	Addr      lowpan.LinkAddr
	RSSI      int8  // dBm, of the last frame
	LQI       uint8 // of the last frame
	Frames    uint64
	LastHeard time.Time
}

// Lowpan carries IPv6 over one IEEE 802.15.4 PAN: RFC 6282
// compression, RFC 4944 fragmentation and reassembly, MAC headers with
// this router's extended address, and duplicate filtering of MAC
// retransmissions (a node that missed our ACK sends the frame again with
// the same sequence number; it must not reach 6LoWPAN twice).
type Lowpan struct {
	cfg  LowpanConfig
	log  *slog.Logger
	comp lowpan.Compressor
	// compLoRH is comp with RFC 8138 on; lorh picks which one encodes
	// (two compressors rather than one changed in place: Send runs on the
	// callers' goroutines).
	compLoRH lowpan.Compressor
	lorh     atomic.Bool
	reas     *lowpan.Reassembler
	tags     lowpan.TagCounter
	seq      atomic.Uint32
	// ext is this router's EUI-64 (big-endian in a uint64): it follows the
	// radio's when an RCP comes back as another one (SetExtAddr).
	ext atomic.Uint64

	nbMu      sync.Mutex
	neighbors map[lowpan.LinkAddr]*Neighbor
	lastHeard *Neighbor // the entry heard last (nil when evicted)

	q   *txQueue
	src frameSource
	tap linkTap // SetTap
	// txBackoff: how long the sender waits before offering frames again
	// after the radio refused them all (the RCP is down); 0 while it takes
	// them. Only the sender goroutine touches it.
	txBackoff time.Duration

	stats struct {
		pktSent, pktRecv, ipSent, ipRecv, frSent, frRecv, acked, noAck, cca, txErr, encErr, fragSent, dups, bad, decErr, saved atomic.Uint64
		bytesSent, bytesRecv, retries                                                                                          atomic.Uint64
	}
}

var _ Link = (*Lowpan)(nil)

// NewLowpan makes a link on cfg.Radio; Run receives.
func NewLowpan(cfg LowpanConfig) (*Lowpan, error) {
	if cfg.Radio == nil {
		return nil, errors.New("link: lowpan: no radio")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == ieee802154.Version2003 {
		cfg.Version = ieee802154.Version2006
	}
	if cfg.Name == "" {
		cfg.Name = "wpan0"
	}
	if cfg.CCARetries == 0 {
		cfg.CCARetries = 2
	}
	if cfg.MaxNeighbors <= 0 {
		cfg.MaxNeighbors = 64
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = defaultDrainTimeout
	}
	r, err := lowpan.NewReassembler(cfg.Reassembly, cfg.Contexts)
	if err != nil {
		return nil, fmt.Errorf("link: lowpan %s: %w", cfg.Name, err)
	}
	l := &Lowpan{cfg: cfg, log: cfg.Logger.With("link", cfg.Name), reas: r, neighbors: make(map[lowpan.LinkAddr]*Neighbor),
		comp: lowpan.Compressor{Contexts: cfg.Contexts, ElideUDPChecksum: cfg.ElideUDPChecksum}, q: newTxQueue(cfg.Queue)}
	l.compLoRH = l.comp
	l.compLoRH.LoRH = true
	l.lorh.Store(cfg.LoRH)
	l.ext.Store(binary.BigEndian.Uint64(cfg.ExtAddr[:]))
	l.src = frameSource{l: l, expired: make([]*datagram, 0, 8)}
	return l, nil
}

var _ NeighborAware = (*Lowpan)(nil)

// SetRegisteredNeighbors implements NeighborAware: datagrams of registered
// neighbours get the reassembler's reserved share, so that first
// fragments from strangers (many spoofed sources) cannot take all of it.
func (l *Lowpan) SetRegisteredNeighbors(registered func(lowpan.LinkAddr) bool) {
	l.reas.SetRegistered(registered)
}

// ExtAddr is the extended address frames are sent from and accepted for.
func (l *Lowpan) ExtAddr() [8]byte {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], l.ext.Load())
	return e
}

// SetExtAddr changes the link's extended address: the radio now has
// another EUI-64 (an RCP replaced or restarted as another one). Frames
// sent from then on carry it; frames are accepted for it.
func (l *Lowpan) SetExtAddr(e [8]byte) {
	if old := l.ext.Swap(binary.BigEndian.Uint64(e[:])); old != binary.BigEndian.Uint64(e[:]) {
		l.log.Info("link-layer address changed", "eui64", lowpan.ExtendedLinkAddr(e))
	}
}

// SetLoRH turns RFC 8138 compression of the RPL headers of sent packets
// on or off: the root turns it on when its DODAG Configuration option
// carries RFC 9035's T flag. It takes effect from the next packet sent.
func (l *Lowpan) SetLoRH(on bool) {
	if l.lorh.Swap(on) != on {
		l.log.Info("RFC 8138 compression", "on", on)
	}
}

// LoRH reports whether RFC 8138 compression is on.
func (l *Lowpan) LoRH() bool { return l.lorh.Load() }

// Name implements Link.
func (l *Lowpan) Name() string { return l.cfg.Name }

// MTU implements Link: the IPv6 minimum, carried by fragmentation.
func (l *Lowpan) MTU() int { return 1280 }

// LinkAddr implements Link.
func (l *Lowpan) LinkAddr() lowpan.LinkAddr { return lowpan.ExtendedLinkAddr(l.ExtAddr()) }

// Send implements Link: it compresses pkt and fragments it to fit the MAC
// header it needs, into frames queued whole for the link's sender
// goroutine (started by Run), and returns without waiting for the air.
// A packet that does not fit the queue is dropped with ErrQueueFull.
func (l *Lowpan) Send(pkt []byte, nextHop lowpan.LinkAddr, opts SendOptions) error {
	d, err := l.encode(pkt, nextHop, opts)
	return queue(l.q, d, err)
}

// SendWait is Send that waits for the outcome: nil when every frame was
// acknowledged (or sent, for broadcast), an error wrapping ErrNoAck when a
// frame was not. The simulated nodes use it; the border router does not
// wait.
func (l *Lowpan) SendWait(ctx context.Context, pkt []byte, nextHop lowpan.LinkAddr, opts SendOptions) error {
	d, err := l.encode(pkt, nextHop, opts)
	return queueAndWait(ctx, l.q, d, err)
}

// encode reserves a datagram and fills it with pkt's frames.
func (l *Lowpan) encode(pkt []byte, nextHop lowpan.LinkAddr, opts SendOptions) (*datagram, error) {
	dst, ok := nextHop.MAC()
	if !ok {
		return nil, fmt.Errorf("link: %s: next hop %v is not an 802.15.4 address", l.cfg.Name, nextHop)
	}
	d, err := l.q.get(nextHop, opts.Class)
	if err != nil {
		return nil, fmt.Errorf("link: %s: packet to %v: %w", l.cfg.Name, nextHop, err)
	}
	d.opts, d.size = opts, len(pkt)
	broadcast := dst.IsBroadcast()
	h := ieee802154.Header{Type: ieee802154.FrameData, Version: l.cfg.Version, AckRequest: !broadcast,
		DstPAN: ieee802154.PANID(l.cfg.PANID), SrcPAN: ieee802154.PANID(l.cfg.PANID),
		Dst: dst}
	ext := l.ExtAddr()
	h.Src = ieee802154.ExtAddress(ieee802154.ExtAddr(ext))
	src := lowpan.ExtendedLinkAddr(ext)
	eo := lowpan.EncodeOptions{MaxPayload: h.MaxPayload(), Tag: l.tags.Next()}
	comp := &l.comp
	if l.lorh.Load() {
		comp = &l.compLoRH
	}
	_, err = comp.Encode(d.scratch[:], pkt, src, nextHop, &eo, func(payload []byte) error {
		// Sequence numbers in the order frames are made: consecutive
		// frames to one receiver differ, which is all its duplicate
		// filter needs (IEEE 802.15.4-2020 §6.7.2, a retransmission
		// repeats the number).
		h.Seq = uint8(l.seq.Add(1))
		return d.appendFrame(&h, payload)
	})
	if err != nil {
		l.q.cancel(d)
		l.stats.encErr.Add(1)
		return nil, fmt.Errorf("link: %s: packet to %v: %w", l.cfg.Name, nextHop, err)
	}
	if d.n > 1 {
		l.stats.fragSent.Add(uint64(d.n))
	}
	if saved := eo.HeaderOctets - eo.CompressedOctets; saved > 0 {
		l.stats.saved.Add(uint64(saved))
	}
	return d, nil
}

// sendQueued implements transmitter: the radio pulls frames from the
// queue through l.src until it is empty. With an RCP the next frame is
// taken and written by the Spinel reader the moment the previous
// transmission's done arrives (radio.PullTransmitter), with no round trip
// through this goroutine; other radios are driven frame by frame here.
func (l *Lowpan) sendQueued(ctx context.Context) {
	err := radio.TransmitFrom(ctx, l.cfg.Radio, &l.src)
	if err == nil || ctx.Err() != nil {
		l.txBackoff = 0
		return
	}
	// The radio refused at once (rcp.Driver while the RCP is down or
	// resetting): without a pause the sender would offer the queued
	// datagrams again and again for as long as the RCP is away, a busy
	// loop. Back off from 10 ms to 250 ms; the queue's own expiry (2 s)
	// drops what waited too long once the radio takes frames again.
	if l.txBackoff == 0 {
		l.log.Debug("transmit: the radio refuses frames; backing off", "err", err)
		l.txBackoff = 10 * time.Millisecond
	} else {
		l.txBackoff = min(2*l.txBackoff, 250*time.Millisecond)
	}
	t := time.NewTimer(l.txBackoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// frameSource is the link's radio.FrameSource: Next and Done run one at a
// time on the radio's goroutine (or the sender's), never concurrently, so
// its fields need no lock; the queue guards its own.
type frameSource struct {
	l       *Lowpan
	cur     *datagram // the datagram of the frame Next returned last
	retry   bool      // Next returns cur's frame again (channel access failure)
	retries int       // host retries of cur's frame so far
	expired []*datagram
}

// Next implements radio.FrameSource.
func (s *frameSource) Next() ([]byte, radio.TxOptions, bool) {
	if s.retry && s.cur != nil {
		return s.cur.frame(s.cur.next), radio.TxOptions{}, true
	}
	d := s.l.q.nextFrame(&s.expired)
	for _, x := range s.expired {
		tell(x, ErrExpired)
		s.l.q.recycle(x)
	}
	s.expired = s.expired[:0]
	s.cur, s.retries = d, 0
	if d == nil {
		return nil, radio.TxOptions{}, false
	}
	return d.frame(d.next), radio.TxOptions{}, true
}

// Done implements radio.FrameSource: it counts the frame, sends it again
// after a channel access failure up to CCARetries times (the RCP already
// did its CSMA-CA backoffs; the channel may clear a few milliseconds
// later; retransmissions after a missing ACK are the RCP's own and not
// reported over Spinel), and ends the datagram after its last frame or at
// the first frame that failed.
func (s *frameSource) Done(res radio.TxResult, err error) {
	l, d := s.l, s.cur
	s.retry = false
	if d == nil {
		return
	}
	f := d.frame(d.next)
	if t := l.tap.get(); t != nil && err == nil && (res.Status == radio.TxSent || res.Status == radio.TxAcked || res.Status == radio.TxNoAck) {
		t.TapFrame(TapFrame{Time: time.Now(), Data: f, Dir: TapOut}) // it went on the air
	}
	l.stats.frSent.Add(1)
	l.stats.bytesSent.Add(uint64(len(f)))
	if err == nil && res.Status == radio.TxChannelAccessFailure && s.retries < l.cfg.CCARetries {
		s.retries++
		s.retry = true
		l.stats.retries.Add(1)
		l.stats.cca.Add(1)
		return
	}
	switch {
	case err != nil:
		l.stats.txErr.Add(1)
		err = fmt.Errorf("link: %s: frame to %v: %w", l.cfg.Name, d.dst, err)
	case res.Status == radio.TxAcked:
		l.stats.acked.Add(1)
	case res.Status == radio.TxSent:
	case res.Status == radio.TxNoAck:
		l.stats.noAck.Add(1)
		err = fmt.Errorf("link: %s: frame to %v: %w", l.cfg.Name, d.dst, ErrNoAck)
	case res.Status == radio.TxChannelAccessFailure:
		l.stats.cca.Add(1)
		err = fmt.Errorf("link: %s: frame to %v: %w", l.cfg.Name, d.dst, ErrChannelAccess)
	default:
		l.stats.txErr.Add(1)
		err = fmt.Errorf("link: %s: frame to %v: %v", l.cfg.Name, d.dst, res.Status)
	}
	if err != nil {
		s.cur = nil
		tell(d, err)
		l.q.finish(d)
		return
	}
	d.next++
	if d.next < d.n {
		return
	}
	s.cur = nil
	l.stats.pktSent.Add(1)
	l.stats.ipSent.Add(uint64(d.size))
	if d.opts.Latency != nil && !d.opts.Since.IsZero() {
		d.opts.Latency.Observe(time.Since(d.opts.Since).Seconds())
	}
	tell(d, nil)
	l.q.finish(d)
}

// Run sends what Send queues, on a sender goroutine of its own, and
// receives frames until ctx ends or the radio closes, handing every
// complete IPv6 packet to deliver (in Run's goroutine; the packet is valid
// during the call only). Neither waits for the other: reception goes on
// while a datagram is on the air. After ctx ends Run returns once the
// queue is sent or DrainTimeout has passed.
func (l *Lowpan) Run(ctx context.Context, deliver func(*Delivery)) {
	l.q.restart()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		runSender(ctx, l.q, l, l.cfg.DrainTimeout)
		// A frame left for a retry belongs to a datagram the stop took
		// out of the queue.
		l.src.cur, l.src.retry = nil, false
	}()
	l.receive(ctx, deliver)
	<-sent
}

// QueueStats returns the transmit queue's counters.
func (l *Lowpan) QueueStats() QueueStats { return l.q.snapshot() }

// SetTap has t told of every frame the link receives and every frame it
// sends on the air (not those the radio refused or gave up on before
// transmitting); nil removes the tap.
func (l *Lowpan) SetTap(t Tap) { l.tap.set(t) }

func (l *Lowpan) receive(ctx context.Context, deliver func(*Delivery)) {
	rx := rxState{out: make([]byte, 2048), seen: newSeqFilter(256)}
	expire := time.NewTicker(time.Second)
	defer expire.Stop()
	for {
		var fr radio.Frame
		var ok bool
		select {
		case <-ctx.Done():
			return
		case now := <-expire.C:
			l.reas.Expire(now)
			continue
		case fr, ok = <-l.cfg.Radio.Receive():
			if !ok {
				return
			}
		}
		l.rxFrame(&rx, &fr, deliver)
		// Everything of the frame is copied out (reassembly buffer,
		// decompressed packet, neighbour table): its buffer goes back to
		// the radio's pool.
		fr.Release()
	}
}

// rxState is the receive loop's working state, reused frame after frame.
type rxState struct {
	f    ieee802154.Frame
	h    lowpan.Headers
	out  []byte
	seen *seqFilter
	now  time.Time // the clock at the last datagram's first frame
	// dl is one Delivery for the life of the loop: handed to a func value
	// it escapes, and a fresh one per packet would be an allocation.
	dl Delivery
}

// rxFrame handles one received frame.
func (l *Lowpan) rxFrame(rx *rxState, fr *radio.Frame, deliver func(*Delivery)) {
	l.stats.frRecv.Add(1)
	l.stats.bytesRecv.Add(uint64(len(fr.PSDU)))
	if t := l.tap.get(); t != nil {
		t.TapFrame(TapFrame{Time: time.Now(), Data: fr.PSDU, Dir: TapIn, Channel: fr.Channel, RSSI: fr.RSSI, LQI: fr.LQI, Signal: true})
	}
	if err := rx.f.Decode(fr.PSDU, true); err != nil || rx.f.Type != ieee802154.FrameData || rx.f.SecurityEnabled {
		l.stats.bad.Add(1)
		return
	}
	// Address filtering is the radio's; in promiscuous mode frames for
	// others arrive too.
	if rx.f.Dst.Mode == ieee802154.AddrExtended && rx.f.Dst.Ext != ieee802154.ExtAddr(l.ExtAddr()) {
		return
	}
	src, dst := lowpan.MACLinkAddr(rx.f.Src), lowpan.MACLinkAddr(rx.f.Dst)
	if src.Kind() == lowpan.LinkAddrNone {
		l.stats.bad.Add(1)
		return
	}
	// The clock is read for a datagram's first frame only: its FRAGNs
	// follow within milliseconds, far inside anything the time is used
	// for (neighbour last heard, reassembly timeouts of seconds), and a
	// clock read costs as much as the rest of a frame's MAC decoding on
	// some virtual machines.
	if p := rx.f.Payload; len(p) == 0 || p[0]&0xf8 != lowpan.DispatchFragN || rx.now.IsZero() { // RFC 4944 §5.3: 11100xxx
		rx.now = time.Now()
	}
	now := rx.now
	l.heard(src, fr, now)
	if !rx.f.SeqSuppressed && rx.seen.duplicate(src, rx.f.Seq, rx.f.Payload) {
		l.stats.dups.Add(1)
		return
	}
	if err := lowpan.ParseHeaders(rx.f.Payload, &rx.h); err != nil {
		l.stats.decErr.Add(1)
		l.log.Debug("6LoWPAN headers", "from", src, "err", err)
		return
	}
	if rx.h.HasMesh {
		src, dst = rx.h.Mesh.Originator, rx.h.Mesh.Final
	}
	var n int
	var err error
	if rx.h.HasFrag {
		n, err = l.reas.Add(now, rx.out, src, dst, &rx.h)
	} else {
		n, err = lowpan.Decompress(rx.out, rx.h.Payload, src, dst, l.cfg.Contexts)
	}
	if err != nil {
		if !errors.Is(err, lowpan.ErrDuplicate) {
			l.stats.decErr.Add(1)
			l.log.Debug("6LoWPAN datagram", "from", src, "err", err)
		}
		return
	}
	if n == 0 {
		return // more fragments to come
	}
	l.stats.pktRecv.Add(1)
	l.stats.ipRecv.Add(uint64(n))
	// One Delivery for the life of Run: handed to a func value it
	// escapes, and a fresh one per packet would be an allocation.
	rx.dl = Delivery{Link: l, Packet: rx.out[:n], Src: src, Dst: dst, RSSI: fr.RSSI, LQI: fr.LQI}
	deliver(&rx.dl)
}

// Stats returns the link's counters.
func (l *Lowpan) Stats() LowpanStats {
	return LowpanStats{
		PacketsSent: l.stats.pktSent.Load(), PacketsReceived: l.stats.pktRecv.Load(),
		IPv6OctetsSent: l.stats.ipSent.Load(), IPv6OctetsReceived: l.stats.ipRecv.Load(),
		FramesSent: l.stats.frSent.Load(), FramesReceived: l.stats.frRecv.Load(),
		TxAcked: l.stats.acked.Load(), TxNoAck: l.stats.noAck.Load(), TxCCA: l.stats.cca.Load(), TxErrors: l.stats.txErr.Load(),
		EncodeErrors:  l.stats.encErr.Load(),
		FragmentsSent: l.stats.fragSent.Load(), MACDuplicates: l.stats.dups.Load(), BadFrames: l.stats.bad.Load(),
		DecodeErrors: l.stats.decErr.Load(), HeaderBytesSaved: l.stats.saved.Load(), Reassembly: l.reas.Stats(),
		ReassemblyMemory: l.reas.MemoryInUse(), TxRetries: l.stats.retries.Load(),
		BytesSent: l.stats.bytesSent.Load(), BytesReceived: l.stats.bytesRecv.Load(),
	}
}

// seqFilter remembers the last frame of each source — its sequence
// number and a fingerprint of its payload — for up to max sources (the
// oldest is forgotten), to drop MAC retransmissions: a node that missed
// our ACK sends the same frame again, same number and same octets (IEEE
// 802.15.4-2020 §6.7.2). The fingerprint keeps a frame with the same
// number but other contents — another frame after the sender's counter
// wrapped, or a flood spoofing the sender's address with random numbers,
// which would otherwise take out one of the sender's frames in 256 — from
// being taken for a retransmission.
type seqFilter struct {
	last  map[lowpan.LinkAddr]uint64
	order []lowpan.LinkAddr
	max   int
}

func newSeqFilter(max int) *seqFilter {
	return &seqFilter{last: make(map[lowpan.LinkAddr]uint64, max), max: max}
}

// frameKey is a frame's sequence number with a fingerprint of its MAC
// payload: its length and first octets (dispatch, fragment header with
// size, tag and offset, or the IPHC header), which differ between any two
// frames a sender sends in a row.
func frameKey(seq uint8, payload []byte) uint64 {
	var b [5]byte
	copy(b[:], payload)
	return uint64(seq)<<56 | uint64(len(payload)&0x7f)<<48 | uint64(b[0])<<32 | uint64(binary.BigEndian.Uint32(b[1:]))
}

func (s *seqFilter) duplicate(src lowpan.LinkAddr, seq uint8, payload []byte) bool {
	k := frameKey(seq, payload)
	if last, ok := s.last[src]; ok {
		if last == k {
			return true
		}
		s.last[src] = k
		return false
	}
	if len(s.order) >= s.max {
		delete(s.last, s.order[0])
		s.order = s.order[1:]
	}
	s.order = append(s.order, src)
	s.last[src] = k
	return false
}

// heard records the link quality of a frame from a neighbour (its MAC
// source: the previous hop, even for mesh-addressed frames).
func (l *Lowpan) heard(mac lowpan.LinkAddr, fr *radio.Frame, now time.Time) {
	l.nbMu.Lock()
	defer l.nbMu.Unlock()
	// The fragments of a datagram come from one neighbour back to back:
	// the last one heard is the one to update, without a map lookup.
	n := l.lastHeard
	if n != nil && n.Addr == mac {
		n.RSSI, n.LQI, n.LastHeard = fr.RSSI, fr.LQI, now
		n.Frames++
		return
	}
	n, ok := l.neighbors[mac]
	if !ok {
		if len(l.neighbors) >= l.cfg.MaxNeighbors {
			var oldest *Neighbor
			for _, x := range l.neighbors {
				if oldest == nil || x.LastHeard.Before(oldest.LastHeard) {
					oldest = x
				}
			}
			delete(l.neighbors, oldest.Addr)
			if oldest == l.lastHeard {
				l.lastHeard = nil
			}
		}
		n = &Neighbor{Addr: mac}
		l.neighbors[mac] = n
	}
	l.lastHeard = n
	n.RSSI, n.LQI, n.LastHeard = fr.RSSI, fr.LQI, now
	n.Frames++
}

// Neighbors returns the nodes heard directly, at most MaxNeighbors, most
// recently heard first.
func (l *Lowpan) Neighbors() []Neighbor {
	l.nbMu.Lock()
	out := make([]Neighbor, 0, len(l.neighbors))
	for _, n := range l.neighbors {
		out = append(out, *n)
	}
	l.nbMu.Unlock()
	slices.SortFunc(out, func(a, b Neighbor) int { return b.LastHeard.Compare(a.LastHeard) })
	return out
}
