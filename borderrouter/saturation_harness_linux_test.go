//go:build linux

package borderrouter

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/netnstest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// The harness of the saturation benchmarks: a whole border router on its
// built-in simulator (simulated RCP behind a real PTY, the medium in real
// time, a star of simulated nodes, a real TUN in a network namespace of
// the benchmark's own), a UDP sender in that namespace standing for a
// program on Linux, and the counters read around a measurement window.

// satTUN is the TUN's name in the benchmark's namespace.
const satTUN = "lbrsat0"

// satPrefix is the mesh prefix; context 0 (the default) is this prefix.
var satPrefix = netip.MustParsePrefix("2001:db8:7::/64")

// satDstPort is where the flood goes: the discard port (RFC 863); the
// simulated nodes count UDP on every port.
const satDstPort = 9

// satSrcPort is the flood's source port: fixed, outside 0xF0B0–0xF0BF,
// so that its compressed form (both ports inline, RFC 6282 §4.3.3) is
// the one an ephemeral port gets.
const satSrcPort = 40000

// benchNetns creates a network namespace for the benchmark and moves the
// calling goroutine's OS thread into it for good, as enterNetns does for
// the tests (the thread is never unlocked: the runtime ends it with the
// goroutine). What New makes on this thread (TUN, addresses, routes) and
// the sockets opened on it live there.
func benchNetns(b *testing.B) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root (CAP_NET_ADMIN for the TUN, CAP_SYS_ADMIN for a network namespace of its own); run as root: go test -run XXX -bench Saturation ./borderrouter/")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		b.Skipf("no TUN support on this host: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		b.Skip("needs iproute2's ip")
	}
	netnstest.Enter(b, netnstest.Add(b, ""))
}

// satRouter is a running border router on its simulator.
type satRouter struct {
	*testRouter
}

// startSatRouter brings up a border router on the simulator with a star
// of nodes nodes in a namespace of its own, runs it and waits until every
// node is registered; the benchmark's cleanup takes it down.
func startSatRouter(b *testing.B, nodes int) *satRouter {
	b.Helper()
	benchNetns(b)
	s := &satRouter{newTestRouter(b, satTUN, satPrefix, nodes, "bench")}
	s.start(b)
	s.waitRegistered(b, nodes, 60*time.Second)
	return s
}

// node returns a simulated node of the star by name.
func (s *satRouter) node(b *testing.B, name string) *sim.Node {
	n := s.br.simMesh().Node(name)
	if n == nil {
		b.Fatalf("no simulated node %s", name)
	}
	return n
}

// linkHeader is the MAC header the border router's 802.15.4 link puts on
// a unicast data frame to dst (link.Lowpan.encode): 2006 frame,
// acknowledgement requested, one PAN ID, extended addresses both ways.
func (s *satRouter) linkHeader(dst [8]byte) ieee802154.Header {
	pan := ieee802154.PANID(s.reach.PANID)
	return ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true,
		DstPAN: pan, SrcPAN: pan, Dst: ieee802154.ExtAddress(ieee802154.ExtAddr(dst)),
		Src: ieee802154.ExtAddress(ieee802154.ExtAddr(s.br.eui))}
}

// psduLens returns the length of every PSDU (FCS included) the border
// router's link makes of a UDP datagram with payload octets from Linux to
// node n, shaped as Linux sends it from the flood's socket: source the
// TUN's address in the mesh prefix, traffic class 0, a non-zero flow
// label (net.ipv6.auto_flowlabels, on by default), hop limit 64, ports
// satSrcPort → satDstPort. The border router's own compressor and
// contexts encode it.
func (s *satRouter) psduLens(b *testing.B, n *sim.Node, payload int) []int {
	pkt := ip6.Header(make([]byte, ip6.HeaderLen+ip6.UDPHeaderLen+payload))
	pkt.Encode(&ip6.Fields{FlowLabel: 0x5a3c1, PayloadLength: uint16(ip6.UDPHeaderLen + payload), NextHeader: ip6.ProtoUDP, HopLimit: 64,
		Src: s.reach.Address, Dst: n.State().Global})
	u := ip6.UDP(pkt.Payload())
	u.SetSourcePort(satSrcPort)
	u.SetDestinationPort(satDstPort)
	u.SetLength(uint16(ip6.UDPHeaderLen + payload))
	u.SetChecksum(0x1234) // any value: sent inline
	h := s.linkHeader(n.Config().EUI64)
	z := lowpan.Compressor{Contexts: s.br.contexts}
	var scratch [lowpan.ScratchSize]byte
	var lens []int
	opts := lowpan.EncodeOptions{MaxPayload: h.MaxPayload(), Tag: 1}
	_, err := z.Encode(scratch[:], pkt, lowpan.ExtendedLinkAddr(s.br.eui), lowpan.ExtendedLinkAddr(n.Config().EUI64), &opts, func(frame []byte) error {
		lens = append(lens, h.Len()+len(frame)+2)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return lens
}

// flood sends UDP datagrams from Linux (a socket in the namespace) to a
// node at a fixed pace, after a first burst, until stopped.
type flood struct {
	conn     *net.UDPConn
	to       *net.UDPAddr
	payload  []byte
	interval time.Duration
	burst    int
	sent     atomic.Uint64
	errs     atomic.Uint64
	// cpu is the sending thread's CPU time so far (ns): the program on
	// Linux, part of this process but not of the border router.
	cpu    atomic.Int64
	cancel context.CancelFunc
	done   chan struct{}
}

// startFlood starts a flood of datagrams with payload octets to dst at
// rate datagrams a second, after a burst of burst of them. It must run on
// the namespace's thread (the socket is made there).
func startFlood(b *testing.B, src, dst netip.Addr, payload int, rate float64, burst int) *flood {
	b.Helper()
	conn, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, satSrcPort)))
	if err != nil {
		b.Fatal(err)
	}
	f := &flood{conn: conn, to: net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, satDstPort)), payload: make([]byte, payload),
		interval: time.Duration(float64(time.Second) / rate), burst: burst, done: make(chan struct{})}
	for i := range f.payload {
		f.payload[i] = byte(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.run(ctx)
	return f
}

func (f *flood) run(ctx context.Context) {
	defer close(f.done)
	// A thread of its own, so that its CPU time is its own.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	send := func() {
		if _, err := f.conn.WriteToUDP(f.payload, f.to); err != nil {
			f.errs.Add(1)
		} else {
			f.sent.Add(1)
		}
	}
	for range f.burst {
		send()
	}
	next := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		now := time.Now()
		for !next.After(now) {
			send()
			next = next.Add(f.interval)
		}
		f.cpu.Store(int64(threadCPU()))
		t.Reset(next.Sub(now))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *flood) stop() {
	f.cancel()
	<-f.done
	f.conn.Close()
}

// threadCPU is the calling thread's CPU time.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// processUsage is the process's CPU time (user + system, every thread:
// the border router, its simulator and the benchmark) and its context
// switches, voluntary and not.
func processUsage() (time.Duration, int64) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw + ru.Nivcsw
}

// satSample is every counter a measurement reads, at one instant.
type satSample struct {
	at                  time.Time
	udpPackets, octets  uint64 // the sink node's
	cpu, senderCPU      time.Duration
	switches            int64
	medium              medium.Stats
	driver              rcp.Stats
	link                link.LowpanStats
	queue               link.QueueStats
	floodSent, floodErr uint64
}

func (s *satRouter) sample(sink *sim.Node, f *flood) satSample {
	x := satSample{at: time.Now()}
	if sink != nil {
		st := sink.State()
		x.udpPackets, x.octets = st.UDPReceived, st.UDPOctets
	}
	x.cpu, x.switches = processUsage()
	if f != nil {
		x.senderCPU = time.Duration(f.cpu.Load())
		x.floodSent, x.floodErr = f.sent.Load(), f.errs.Load()
	}
	x.medium = s.br.medium.Stats()
	x.driver = s.br.driver.Stats()
	x.link = s.br.link.Stats()
	x.queue = s.br.link.QueueStats()
	return x
}

// sampleAtArrival waits for the sink to count a datagram beyond those it
// had counted when called, then samples: a window from one arrival to
// another measures whole datagrams. It polls every millisecond (Go's
// timer granularity) for one interval between datagrams at most, so the
// polling costs next to nothing.
func (s *satRouter) sampleAtArrival(b *testing.B, sink *sim.Node, f *flood) satSample {
	b.Helper()
	before := sink.State().UDPReceived
	deadline := time.Now().Add(10 * time.Second)
	for sink.State().UDPReceived == before {
		if time.Now().After(deadline) {
			b.Fatalf("%s received nothing for 10 s (%d datagrams so far)", sink.Name(), before)
		}
		time.Sleep(time.Millisecond)
	}
	return s.sample(sink, f)
}

// newcomer is a node that joins during the benchmark: its own medium
// node, radio and 6LoWPAN link, sending the RS and NS(EARO) a new 6LN
// sends (RFC 6775 §5.3, §5.5; RFC 8505 §5.1) and timing their answers.
type newcomer struct {
	eui    [8]byte
	ll     netip.Addr
	mn     *medium.Node
	radio  *sim.NodeRadio
	link   *link.Lowpan
	ra, na chan ndAnswer
	cancel context.CancelFunc
	done   chan struct{}
	tid    uint8
}

// ndAnswer is an RA or NA the newcomer received.
type ndAnswer struct {
	at     time.Time
	src    netip.Addr
	mac    lowpan.LinkAddr
	status nd.Status // an NA's EARO status
}

func (s *satRouter) joinNewcomer(b *testing.B, eui [8]byte) *newcomer {
	b.Helper()
	ch, pan := s.reach.Channel, s.reach.PANID
	mn, err := s.br.medium.Attach(medium.NodeConfig{Name: "newcomer", Channel: ch, ExtAddr: eui})
	if err != nil {
		b.Fatal(err)
	}
	r := sim.NewNodeRadio(mn)
	if err := r.Configure(context.Background(), radio.Settings{Channel: ch, PANID: pan, ShortAddr: 0xfffe, ExtAddr: eui}); err != nil {
		b.Fatal(err)
	}
	l, err := link.NewLowpan(link.LowpanConfig{Name: "newcomer", Radio: r, PANID: pan, ExtAddr: eui, Contexts: &lowpan.ContextTable{}})
	if err != nil {
		b.Fatal(err)
	}
	ll, _ := lowpan.ExtendedLinkAddr(eui).LinkLocal()
	n := &newcomer{eui: eui, ll: ll, mn: mn, radio: r, link: l, ra: make(chan ndAnswer, 4), na: make(chan ndAnswer, 4), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() {
		defer close(n.done)
		l.Run(ctx, n.receive)
	}()
	b.Cleanup(n.leave)
	return n
}

func (n *newcomer) receive(d *link.Delivery) {
	var m nd.Message
	if nd.Parse(d.Packet, &m) != nil || m.Dst != n.ll {
		return
	}
	a := ndAnswer{at: time.Now(), src: m.Src, mac: d.Src}
	switch m.Type {
	case nd.TypeRouterAdvert:
		select {
		case n.ra <- a:
		default:
		}
	case nd.TypeNeighborAdvert:
		if m.ARO == nil {
			return
		}
		a.status = m.ARO.Status()
		select {
		case n.na <- a:
		default:
		}
	}
}

func (n *newcomer) leave() {
	n.cancel()
	<-n.done
	n.radio.Close()
	n.mn.Detach()
}

// solicit sends an RS to all routers and returns the time until the RA
// answering it arrived, and the RA.
func (n *newcomer) solicit(ctx context.Context, timeout time.Duration) (time.Duration, ndAnswer, error) {
	rs, err := nd.AppendIPv6(nil, n.ll, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{}, nd.SourceLinkAddr{Addr: n.link.LinkAddr()})
	if err != nil {
		return 0, ndAnswer{}, err
	}
	return n.ask(ctx, rs, link.BroadcastShort, n.ra, timeout)
}

// register sends an NS(EARO) for the node's address in prefix to the
// router that answered its RS (a new TID each time: a re-registration,
// RFC 8505 §5.2) and returns the time until the NA arrived, and the NA.
func (n *newcomer) register(ctx context.Context, router ndAnswer, prefix netip.Prefix, timeout time.Duration) (time.Duration, ndAnswer, error) {
	n.tid++
	a, iid := prefix.Masked().Addr().As16(), n.ll.As16()
	copy(a[8:], iid[8:])
	ns, err := nd.AppendIPv6(nil, n.ll, router.src, 255, nd.NSFields{Target: netip.AddrFrom16(a)},
		nd.SourceLinkAddr{Addr: n.link.LinkAddr()}, nd.AROFields{T: true, TID: n.tid, Lifetime: 10, ROVR: n.eui[:]})
	if err != nil {
		return 0, ndAnswer{}, err
	}
	return n.ask(ctx, ns, router.mac, n.na, timeout)
}

// ask sends pkt to next as ND traffic and waits for an answer on ch.
func (n *newcomer) ask(ctx context.Context, pkt []byte, next lowpan.LinkAddr, ch chan ndAnswer, timeout time.Duration) (time.Duration, ndAnswer, error) {
	for len(ch) > 0 { // a late answer to an earlier question
		<-ch
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	if err := n.link.SendWait(ctx, pkt, next, link.SendOptions{Class: link.ClassControl}); err != nil {
		return 0, ndAnswer{}, err
	}
	select {
	case a := <-ch:
		return a.at.Sub(start), a, nil
	case <-ctx.Done():
		return 0, ndAnswer{}, ctx.Err()
	}
}

// quantile returns the q-quantile of ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// eui64 of the newcomer: clear of the star's nodes (sim.NodeEUI64).
var newcomerEUI = [8]byte{0x02, 0, 0, 0, 0, 0, 0x0f, 0x01}

// echoTap sees the echo requests that reach Linux through the TUN (a raw
// ICMPv6 socket in the namespace gets a copy of each) and notes when each
// arrived: a ping's round trip splits there into the way up (the node's
// CSMA-CA and frame, the RCP, the forwarder) and the way down (the
// reply's wait in the link's queue, its CSMA-CA and frame).
type echoTap struct {
	conn *net.IPConn
	at   chan time.Time
	done chan struct{}
}

// startEchoTap must run on the namespace's thread.
func startEchoTap(b *testing.B) *echoTap {
	b.Helper()
	c, err := net.ListenIP("ip6:ipv6-icmp", &net.IPAddr{IP: net.IPv6unspecified})
	if err != nil {
		b.Fatal(err)
	}
	t := &echoTap{conn: c, at: make(chan time.Time, 64), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 8 && buf[0] == 128 { // echo request
				select {
				case t.at <- time.Now():
				default:
				}
			}
		}
	}()
	b.Cleanup(t.stop)
	return t
}

// arrival returns when the latest echo request reached Linux, waiting a
// little for the tap's reader; false if none came.
func (t *echoTap) arrival() (time.Time, bool) {
	var last time.Time
	select {
	case last = <-t.at:
	case <-time.After(100 * time.Millisecond):
		return last, false
	}
	for {
		select {
		case a := <-t.at:
			last = a
		default:
			return last, true
		}
	}
}

// reset forgets the arrivals noted so far.
func (t *echoTap) reset() {
	for {
		select {
		case <-t.at:
		default:
			return
		}
	}
}

func (t *echoTap) stop() {
	t.conn.Close()
	<-t.done
}

// airTrace records every frame on the simulated air (Medium.Mirror sends
// a ZEP copy of each as its first symbol goes out, stamped with its
// virtual start time on the wall clock), so that a slow ping can be read
// frame by frame (-saturation.trace).
type airTrace struct {
	names map[uint16]string // ZEP device ID (the medium's attach index) → node
	exts  map[ieee802154.ExtAddr]string
	in    *net.UDPConn
	out   *net.UDPConn
	done  chan struct{}

	mu     sync.Mutex
	frames []airFrame
}

type airFrame struct {
	at       time.Time
	from, to string
	psduLen  int
	ack      bool
	seq      uint8
}

// startAirTrace mirrors s's medium to a socket of its own, on loopback in
// the host's namespace (the benchmark's has its loopback down).
func startAirTrace(b *testing.B, s *satRouter) *airTrace {
	b.Helper()
	t := &airTrace{names: make(map[uint16]string), exts: make(map[ieee802154.ExtAddr]string), done: make(chan struct{})}
	for i, n := range s.br.medium.Nodes() {
		c := n.Config()
		t.names[uint16(i)] = c.Name
		t.exts[ieee802154.ExtAddr(c.ExtAddr)] = c.Name
	}
	errs := make(chan error, 1)
	go func() { // not on the benchmark's thread: in the host's namespace
		var err error
		lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		if t.in, err = net.ListenUDP("udp4", lo); err == nil {
			t.out, err = net.ListenUDP("udp4", lo)
		}
		errs <- err
	}()
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	go t.read()
	s.br.medium.Mirror(t.out, t.in.LocalAddr().(*net.UDPAddr))
	b.Cleanup(func() {
		t.in.Close()
		<-t.done
		t.out.Close()
	})
	return t
}

func (t *airTrace) read() {
	defer close(t.done)
	buf := make([]byte, 2048)
	for {
		n, _, err := t.in.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var z pcapio.ZEP
		if z.Decode(buf[:n]) != nil {
			continue
		}
		f := airFrame{at: z.Timestamp, from: t.names[z.DeviceID], psduLen: len(z.PSDU)}
		var fr ieee802154.Frame
		if fr.Decode(z.PSDU, true) == nil {
			f.ack, f.seq = fr.Type == ieee802154.FrameAck, fr.Seq
			switch {
			case fr.Dst.IsBroadcast():
				f.to = "all"
			case fr.Dst.Mode == ieee802154.AddrExtended:
				f.to = t.exts[fr.Dst.Ext]
			}
		}
		t.mu.Lock()
		t.frames = append(t.frames, f)
		t.mu.Unlock()
	}
}

// between lists the frames that started from 10 ms before from to just
// after to, times relative to from.
func (t *airTrace) between(from, to time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sb strings.Builder
	for _, f := range t.frames {
		if f.at.Before(from.Add(-10*time.Millisecond)) || f.at.After(to.Add(time.Millisecond)) {
			continue
		}
		what := "data → " + f.to
		if f.ack {
			what = "ACK"
		}
		fmt.Fprintf(&sb, "\t%+8.2f ms  %-4s %-10s %3d octets, seq %d\n", float64(f.at.Sub(from).Microseconds())/1000, f.from, what, f.psduLen, f.seq)
	}
	return sb.String()
}
