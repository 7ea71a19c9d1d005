package lowpan

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
)

// The host's two paths for one 1280-octet datagram, as the border router
// runs them (issue 12 target: ≤ 5 µs of CPU each way, no allocation), with
// nothing of the router around them: no channels, no neighbour table, no
// registry. The frames are built as the 802.15.4 link builds them: 2006
// data frames, acknowledgement requested, one PAN ID, extended source and
// destination, FCS computed by the host.
var (
	hostBR   = [8]byte{2, 0, 0, 0, 0, 0, 0, 1}
	hostNode = [8]byte{2, 0, 0, 0, 0, 0, 0, 0x42}
	hostPAN  = ieee802154.PANID(0xabcd)
)

// hostContexts is the table the daemon installs from its configuration:
// context 0 is the mesh prefix, used for compression.
func hostContexts(tb testing.TB) *ContextTable {
	ct := &ContextTable{}
	if err := ct.Set(0, Context{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Compress: true}); err != nil {
		tb.Fatal(err)
	}
	return ct
}

// hostDatagram is a 1280-octet IPv6/UDP datagram (1232 octets of payload)
// with a non-zero flow label, as Linux sends them (net.ipv6.auto_flowlabels).
func hostDatagram(tb testing.TB, src, dst string, hlim uint8, seed byte) []byte {
	data := make([]byte, 1232)
	for i := range data {
		data[i] = byte(i*7) + seed
	}
	return buildUDP6(tb, ipv6Fields{src: src, dst: dst, flow: 0x5a3c1, hlim: hlim}, 49152, 5683, data)
}

// hostSender compresses, fragments and frames datagrams for one next hop,
// the way the 802.15.4 link's Send does.
type hostSender struct {
	z       Compressor
	h       ieee802154.Header
	src     LinkAddr
	dst     LinkAddr
	tags    TagCounter
	scratch [ScratchSize]byte
	frame   [ieee802154.MaxPSDU]byte
	handed  func(psdu []byte)
}

func newHostSender(ctx *ContextTable, from, to [8]byte, handed func([]byte)) *hostSender {
	return &hostSender{
		z: Compressor{Contexts: ctx},
		h: ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true,
			DstPAN: hostPAN, SrcPAN: hostPAN,
			Dst: ieee802154.ExtAddress(ieee802154.ExtAddr(to)), Src: ieee802154.ExtAddress(ieee802154.ExtAddr(from))},
		src: ExtendedLinkAddr(from), dst: ExtendedLinkAddr(to), handed: handed,
	}
}

func (s *hostSender) send(pkt []byte) (int, error) {
	opts := EncodeOptions{MaxPayload: s.h.MaxPayload(), Tag: s.tags.Next()}
	return s.z.Encode(s.scratch[:], pkt, s.src, s.dst, &opts, func(payload []byte) error {
		s.h.Seq++
		f, err := ieee802154.AppendFrame(s.frame[:0], &s.h, payload, true)
		if err != nil {
			return err
		}
		s.handed(f)
		return nil
	})
}

// hostReceiver turns received PSDUs back into IPv6 packets, the way the
// 802.15.4 link's receive loop does.
type hostReceiver struct {
	ctx  *ContextTable
	reas *Reassembler
	f    ieee802154.Frame
	h    Headers
	out  [2048]byte
}

func (r *hostReceiver) receive(now time.Time, psdu []byte) (int, error) {
	if err := r.f.Decode(psdu, true); err != nil {
		return 0, err
	}
	src, dst := MACLinkAddr(r.f.Src), MACLinkAddr(r.f.Dst)
	if err := ParseHeaders(r.f.Payload, &r.h); err != nil {
		return 0, err
	}
	if r.h.HasFrag {
		return r.reas.Add(now, r.out[:], src, dst, &r.h)
	}
	return Decompress(r.out[:], r.h.Payload, src, dst, r.ctx)
}

// BenchmarkHostTUNToRadio1280: a datagram read from the TUN (a LAN host
// to a node) to the PSDUs handed to the radio: compression, fragmentation,
// MAC header and FCS of each frame.
func BenchmarkHostTUNToRadio1280(b *testing.B) {
	pkt := hostDatagram(b, "2001:db8:9::5", "2001:db8:1::42", 63, 0)
	frames, octets := 0, 0
	s := newHostSender(hostContexts(b), hostBR, hostNode, func(f []byte) { frames++; octets += len(f) })
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := s.send(pkt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
	b.ReportMetric(float64(octets)/float64(b.N), "PSDU-octets/op")
}

// BenchmarkHostRadioToTUN1280: the PSDUs of a datagram from a node (to a
// LAN host) as the radio delivers them, to the IPv6 packet written to the
// TUN: FCS check and MAC decoding, 6LoWPAN headers, reassembly and
// decompression. Two datagrams with their own tags alternate, as from a
// sender in steady state.
func BenchmarkHostRadioToTUN1280(b *testing.B) {
	ctx := hostContexts(b)
	var recorded [2][][]byte
	var pkts [2][]byte
	for i := range recorded {
		pkts[i] = hostDatagram(b, "2001:db8:1::42", "2001:db8:9::5", 64, byte(i))
		s := newHostSender(ctx, hostNode, hostBR, func(f []byte) { recorded[i] = append(recorded[i], bytes.Clone(f)) })
		s.tags.next.Store(uint32(i))
		s.h.Seq = uint8(i * 100)
		if _, err := s.send(pkts[i]); err != nil {
			b.Fatal(err)
		}
	}
	reas, err := NewReassembler(ReassemblyConfig{}, ctx)
	if err != nil {
		b.Fatal(err)
	}
	r := &hostReceiver{ctx: ctx, reas: reas}
	now := time.Now()
	for i := range recorded { // the path rebuilds the datagrams exactly
		var n int
		for _, f := range recorded[i] {
			if n, err = r.receive(now, f); err != nil {
				b.Fatal(err)
			}
		}
		if !bytes.Equal(r.out[:n], pkts[i]) {
			b.Fatalf("datagram %d not rebuilt:\n got % x\nwant % x", i, r.out[:n], pkts[i])
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(pkts[0])))
	i := 0
	for b.Loop() {
		frames := recorded[i&1]
		i++
		for k, f := range frames {
			n, err := r.receive(now, f)
			if err != nil || (n > 0) != (k == len(frames)-1) {
				b.Fatalf("frame %d: n=%d err=%v", k, n, err)
			}
		}
	}
	b.ReportMetric(float64(len(recorded[0])), "frames/op")
}

// TestHostPathsDoNotAllocate guards the issue 12 target: no allocation per
// datagram on either host path.
func TestHostPathsDoNotAllocate(t *testing.T) {
	ctx := hostContexts(t)
	pkt := hostDatagram(t, "2001:db8:9::5", "2001:db8:1::42", 63, 0)
	var frames [][]byte
	s := newHostSender(ctx, hostBR, hostNode, func(f []byte) {})
	rec := newHostSender(ctx, hostNode, hostBR, func(f []byte) { frames = append(frames, bytes.Clone(f)) })
	if _, err := rec.send(hostDatagram(t, "2001:db8:1::42", "2001:db8:9::5", 64, 0)); err != nil {
		t.Fatal(err)
	}
	reas, _ := NewReassembler(ReassemblyConfig{}, ctx)
	r := &hostReceiver{ctx: ctx, reas: reas}
	now := time.Now()
	for name, fn := range map[string]func(){
		"TUN to radio": func() { s.send(pkt) },
		"radio to TUN": func() {
			for _, f := range frames {
				r.receive(now, f)
			}
		},
	} {
		fn()
		if a := testing.AllocsPerRun(50, fn); a != 0 {
			t.Errorf("%s: %v allocations per datagram", name, a)
		}
	}
}
