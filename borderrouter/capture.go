package borderrouter

import (
	"github.com/prometheus/client_golang/prometheus"

	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// Capture interfaces, in the order of their Interface Description Blocks.
const (
	captureWPAN = 0 // IEEE 802.15.4 with FCS (LinkTypeIEEE802154WithFCS)
	captureBLE  = 1 // IPv6 over BLE (LinkTypeIPv6), when BLE is on
)

// captureQueueLen bounds the frames waiting for the capture writer: a
// burst of 512 frames is 65 KiB of 802.15.4 PSDUs, well over a second of
// one channel's air time (250 kb/s).
const captureQueueLen = 512

// captureFlushEvery is how often the file is flushed while frames come,
// so that a `tail -f` of it is at most this late.
const captureFlushEvery = 250 * time.Millisecond

// CaptureStats counts what capture.file and capture.zep_mirror did.
type CaptureStats struct {
	File      string `json:"file,omitempty"`
	ZEPMirror string `json:"zep_mirror,omitempty"`
	// Written counts the packets written to File, every interface.
	Written uint64 `json:"written"`
	// Dropped counts the frames not captured because the writer's queue
	// was full (the radio path never waits for the capture).
	Dropped uint64 `json:"dropped"`
	// WriteErrors counts failed writes to File; after the first, the file
	// is given up (and the frames are still mirrored).
	WriteErrors uint64 `json:"write_errors"`
	// ZEPSent and ZEPErrors count the ZEP messages sent to ZEPMirror and
	// those that could not be queued or sent.
	ZEPSent   uint64 `json:"zep_sent"`
	ZEPErrors uint64 `json:"zep_errors"`
}

// capture is the running capture of a border router: one writer goroutine
// (captureWriter) owns the file and the ZEP socket of a real radio and is
// fed by taps through a bounded queue.
type capture struct {
	cfg     CaptureConfig
	q       *link.TapQueue
	sim     *medium.Medium // not nil: the simulated medium mirrors and taps itself
	channel uint8          // the radio's, for frames whose channel is not known

	written, writeErrs, zepSent, zepErrs atomic.Uint64
}

// capture is the border router's capture (set once by bringUp, before
// anyone reads it), for CaptureStats and the BLE links' tap.
func (b *BorderRouter) capture() *capture { return b.cap }

// CaptureStats returns the capture's counters; ok is false when neither
// capture.file nor capture.zep_mirror is set.
func (b *BorderRouter) CaptureStats() (s CaptureStats, ok bool) {
	c := b.capture()
	if c == nil {
		return CaptureStats{}, false
	}
	s = CaptureStats{File: c.cfg.File, ZEPMirror: c.cfg.ZEPMirror, Dropped: c.q.Dropped(),
		Written: c.written.Load(), WriteErrors: c.writeErrs.Load(), ZEPSent: c.zepSent.Load(), ZEPErrors: c.zepErrs.Load()}
	if c.sim != nil {
		// In simulation Medium.Mirror sends the ZEP messages.
		ms := c.sim.Stats()
		s.ZEPSent, s.ZEPErrors = ms.MirrorSent, ms.MirrorErrors
	}
	return s, true
}

// captureCollector exports CaptureStats to Prometheus.
type captureCollector struct{ b *BorderRouter }

var (
	dCaptureFrames = prometheus.NewDesc("lowpanbr_capture_frames_total",
		"Frames (and BLE packets) for capture.file, by result: written, or dropped because the capture's queue was full (the radio path never waits for it).", []string{"result"}, nil)
	dCaptureZEP = prometheus.NewDesc("lowpanbr_capture_zep_messages_total",
		"ZEP v2 messages for capture.zep_mirror, by result: sent, or error (not queued or not sent).", []string{"result"}, nil)
)

func (c captureCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dCaptureFrames
	ch <- dCaptureZEP
}

func (c captureCollector) Collect(ch chan<- prometheus.Metric) {
	s, ok := c.b.CaptureStats()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(dCaptureFrames, prometheus.CounterValue, float64(s.Written), "written")
	ch <- prometheus.MustNewConstMetric(dCaptureFrames, prometheus.CounterValue, float64(s.Dropped), "dropped")
	ch <- prometheus.MustNewConstMetric(dCaptureZEP, prometheus.CounterValue, float64(s.ZEPSent), "sent")
	ch <- prometheus.MustNewConstMetric(dCaptureZEP, prometheus.CounterValue, float64(s.ZEPErrors), "error")
}

// bleTap is the tap for the BLE links (link.BLEConfig.Tap): nil unless
// capture.file is set.
func (b *BorderRouter) bleTap() link.Tap {
	if c := b.capture(); c != nil && c.cfg.File != "" && b.bleHost != nil {
		return c.q.Source(captureBLE)
	}
	return nil
}

// startCapture starts capture.file and capture.zep_mirror.
//
// What is captured: in simulation, every frame on the simulated medium —
// every channel, every node, ACKs and frames that collided included — as
// the medium's tap (medium.Medium.Tap) and mirror (medium.Medium.Mirror)
// see it; on a real radio, the frames the border router's RCP sends and
// receives (link.Lowpan.SetTap: an RCP hears nothing else), with the RSSI
// and LQI of those it received in a packet comment. Either way the BLE
// links' IPv6 packets go to the file on an interface of their own.
//
// The taps only copy each frame into a bounded queue (link.TapQueue;
// dropped and counted when full): one goroutine writes the file and, on a
// real radio, sends the ZEP messages. Nothing on the radio path waits for
// a disk or a socket.
func (b *BorderRouter) startCapture(ctx context.Context) error {
	cfg := b.cfg.Capture
	if cfg.File == "" && cfg.ZEPMirror == "" {
		return nil
	}
	c := &capture{cfg: cfg, q: link.NewTapQueue(captureQueueLen), sim: b.medium, channel: b.cfg.Radio.Channel}
	if err := b.metrics.Registry.Register(captureCollector{b}); err != nil {
		return fmt.Errorf("capture: metrics: %w", err)
	}
	var zepConn *net.UDPConn
	var zepTo netip.AddrPort
	if cfg.ZEPMirror != "" {
		// Resolved once: a name that stops resolving later must not
		// stop the mirror, and a lookup per frame would be absurd.
		to, err := net.ResolveUDPAddr("udp", cfg.ZEPMirror)
		if err != nil {
			return fmt.Errorf("capture.zep_mirror: %w", err)
		}
		conn, err := net.ListenUDP("udp", nil)
		if err != nil {
			return fmt.Errorf("capture.zep_mirror: %w", err)
		}
		b.undo = append(b.undo, func() { conn.Close() })
		zepConn = conn
		zepTo = netip.AddrPortFrom(to.AddrPort().Addr().Unmap(), to.AddrPort().Port())
		if b.medium != nil {
			b.medium.Mirror(zepConn, net.UDPAddrFromAddrPort(zepTo))
			zepConn = nil // the medium's now
		}
		b.log.Info("capture: every 802.15.4 frame mirrored as ZEP v2", "to", zepTo.String())
	}
	var w *captureFile
	if cfg.File != "" {
		var err error
		if w, err = createCaptureFile(cfg.File, b.medium != nil, b.bleHost != nil, c.channel); err != nil {
			return fmt.Errorf("capture.file: %w", err)
		}
		b.log.Info("capture: writing pcapng", "file", cfg.File, "ble_interface", b.bleHost != nil)
	}
	if w == nil && zepConn == nil {
		// The simulated medium mirrors by itself: nothing to tap.
		b.cap = c
		return nil
	}
	if b.medium != nil {
		if w != nil {
			remove := b.medium.Tap(func(f medium.TapFrame) {
				c.q.Put(captureWPAN, link.TapFrame{Time: f.Start, Data: f.PSDU, Channel: f.Channel})
			})
			b.undo = append(b.undo, remove)
		}
	} else {
		b.link.SetTap(c.q.Source(captureWPAN))
		b.undo = append(b.undo, func() { b.link.SetTap(nil) })
	}
	b.cap = c
	log := b.log.With("component", "capture")
	b.goRun("capture", func() error {
		c.captureWriter(ctx, w, zepConn, zepTo, log)
		return nil
	})
	return nil
}

// captureFile is capture.file: a pcapng writer on a buffered file.
type captureFile struct {
	f      *os.File
	bw     *bufio.Writer
	ng     *pcapio.PcapngWriter
	dirty  bool
	failed bool
}

func createCaptureFile(path string, simulated, withBLE bool, channel uint8) (*captureFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, err
	}
	cf := &captureFile{f: f, bw: bufio.NewWriterSize(f, 64<<10)}
	desc := fmt.Sprintf("IEEE 802.15.4 frames sent and received by the border router's RCP, channel %d", channel)
	if simulated {
		desc = "IEEE 802.15.4: every frame on the simulated medium, every channel, ACKs included"
	}
	err = func() error {
		if cf.ng, err = pcapio.NewPcapngWriter(cf.bw, "lowpanbr"); err != nil {
			return err
		}
		if _, err := cf.ng.AddInterface(pcapio.PcapngInterface{LinkType: pcapio.LinkTypeIEEE802154WithFCS, Name: "wpan0", Description: desc}); err != nil {
			return err
		}
		if withBLE {
			// BLE IPSP SDUs carry RFC 7668 IPHC, whose elided addresses
			// come from the BLE device addresses of the L2CAP connection.
			// Wireshark has no link type for a bare 6LoWPAN SDU (tshark
			// 4.0's encapsulations: wpan*, bluetooth-*, rawip6, …), and
			// LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR would need the LL and
			// L2CAP headers and the channel's signalling before its
			// dissector could reach 6LoWPAN. The link's own IPv6 packet
			// (LINKTYPE_IPV6, 229) is what Wireshark dissects whole.
			if _, err := cf.ng.AddInterface(pcapio.PcapngInterface{LinkType: pcapio.LinkTypeIPv6, Name: "ble0",
				Description: "IPv6 packets of the BLE IPSP links (RFC 7668), uncompressed"}); err != nil {
				return err
			}
		}
		return cf.bw.Flush()
	}()
	if err != nil {
		f.Close()
		return nil, err
	}
	return cf, nil
}

// captureWriter writes the queued frames to the file and, on a real
// radio, sends them as ZEP until ctx ends; then it writes what is still
// queued, flushes and closes the file.
func (c *capture) captureWriter(ctx context.Context, w *captureFile, zepConn *net.UDPConn, zepTo netip.AddrPort, log *slog.Logger) {
	flush := time.NewTicker(captureFlushEvery)
	defer flush.Stop()
	var fw frameWork
	for {
		select {
		case r := <-c.q.Records():
			c.write(&fw, r, w, zepConn, zepTo, log)
		case <-flush.C:
			c.flush(w, log)
		case <-ctx.Done():
			// What was queued before the end; the medium, still running,
			// may queue more, which is left.
		drain:
			for range captureQueueLen {
				select {
				case r := <-c.q.Records():
					c.write(&fw, r, w, zepConn, zepTo, log)
				default:
					break drain
				}
			}
			c.flush(w, log)
			if w != nil {
				if err := w.f.Close(); err != nil && !w.failed {
					log.Warn("capture file", "err", err)
				}
			}
			return
		}
	}
}

// frameWork is captureWriter's reused scratch space.
type frameWork struct {
	comment []byte
	zep     []byte
	zepSeq  uint32
}

// write writes one record to the file and the mirror, and releases it.
func (c *capture) write(fw *frameWork, r *link.TapRecord, w *captureFile, zepConn *net.UDPConn, zepTo netip.AddrPort, log *slog.Logger) {
	defer c.q.Release(r)
	data := r.Data
	var flags uint32
	fw.comment = fw.comment[:0]
	if r.Source == captureWPAN {
		if c.sim == nil {
			// Frames sent carry zeros where the radio puts the FCS, and not
			// every RCP reports the FCS it received (it drops frames whose
			// FCS fails): the FCS of what was on the air is recomputed.
			setFCS(data)
			flags = uint32(r.Dir)
			if r.Signal {
				fw.comment = append(fw.comment, "rssi "...)
				fw.comment = strconv.AppendInt(fw.comment, int64(r.RSSI), 10)
				fw.comment = append(fw.comment, " dBm, lqi "...)
				fw.comment = strconv.AppendUint(fw.comment, uint64(r.LQI), 10)
			}
		} else if r.Channel != 0 && r.Channel != c.channel {
			fw.comment = append(fw.comment, "channel "...)
			fw.comment = strconv.AppendUint(fw.comment, uint64(r.Channel), 10)
		}
		if zepConn != nil {
			c.mirror(fw, r, data, zepConn, zepTo)
		}
	} else {
		flags = uint32(r.Dir)
	}
	if w == nil || w.failed {
		return
	}
	if err := w.ng.WritePacket(r.Source, r.Time, data, flags, fw.comment); err != nil {
		c.writeFailed(w, err, log)
		return
	}
	w.dirty = true
	c.written.Add(1)
}

// mirror sends a real radio's frame (FCS in place) as a ZEP v2 data
// message in CRC mode, as Medium.Mirror does for the simulated medium.
func (c *capture) mirror(fw *frameWork, r *link.TapRecord, psdu []byte, conn *net.UDPConn, to netip.AddrPort) {
	ch := r.Channel
	if ch == 0 {
		ch = c.channel
	}
	lqi := uint8(255)
	if r.Signal {
		lqi = r.LQI
	}
	fw.zepSeq++
	fw.zep = pcapio.AppendZEP(fw.zep[:0], &pcapio.ZEP{Type: pcapio.ZEPTypeData, Channel: ch, LQIMode: true, LQI: lqi,
		Timestamp: r.Time, Seq: fw.zepSeq, PSDU: psdu})
	if _, err := conn.WriteToUDPAddrPort(fw.zep, to); err != nil {
		c.zepErrs.Add(1)
		return
	}
	c.zepSent.Add(1)
}

func (c *capture) flush(w *captureFile, log *slog.Logger) {
	if w == nil || !w.dirty || w.failed {
		return
	}
	w.dirty = false
	if err := w.bw.Flush(); err != nil {
		c.writeFailed(w, err, log)
	}
}

// writeFailed gives the file up at its first error (a full disk, most
// likely): once a block is half written the file cannot be continued.
func (c *capture) writeFailed(w *captureFile, err error, log *slog.Logger) {
	c.writeErrs.Add(1)
	if !w.failed {
		w.failed = true
		log.Warn("capture file given up", "file", c.cfg.File, "err", err)
	}
}

// setFCS writes the FCS of psdu (IEEE 802.15.4-2020 §7.2.10) into its
// last two octets.
func setFCS(psdu []byte) {
	if n := len(psdu); n >= 2 {
		fcs := ieee802154.FCS(psdu[:n-2])
		psdu[n-2], psdu[n-1] = byte(fcs), byte(fcs>>8)
	}
}
