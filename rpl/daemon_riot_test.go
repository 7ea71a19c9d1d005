package rpl_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/pcap/pcapconv"
	"github.com/lowpanbr/lowpanbr/rpl"
)

// An external test package: pcapconv imports lowpan, which may one day
// import rpl (RFC 8138), and an internal test cannot import that.

// testdata/daemon_riot_chain.pcap is the air of one run of the opt-in
// cmd/lowpanbr TestEndToEndRIOTRPLChain: the daemon as a storing-mode root,
// RIOT gnrc_rpl routers r1 (heard by the root) and r2 (heard by r1 only).
// testdata/daemon_README.md says how it was made. The tests below hold
// the root's messages in it against the configuration of that run, and
// RIOT's DAOs against the root's DAO-ACKs, with our own decoders and,
// field by field, with tshark's (daemon_riot_tshark_test.go).

const daemonRIOTChain = "testdata/daemon_riot_chain.pcap"

// The run's addresses: the root (2001:db8:1::1 on the mesh prefix, EUI-64
// 02:52:42:52:00:00:00:01) and the RIOT routers' (EUI-64
// 02:52:50:4c:00:00:00:0N; RFC 4944 §6 IIDs).
var (
	chainPrefix  = netip.MustParsePrefix("2001:db8:1::/64")
	chainRoot    = netip.MustParseAddr("2001:db8:1::1")
	chainBREUI   = "02:52:42:52:00:00:00:01"
	chainR1EUI   = "02:52:50:4c:00:00:00:01"
	chainR1LL    = netip.MustParseAddr("fe80::52:504c:0:1")
	chainR2LL    = netip.MustParseAddr("fe80::52:504c:0:2")
	chainR1      = netip.MustParseAddr("2001:db8:1::52:504c:0:1")
	chainR2      = netip.MustParseAddr("2001:db8:1::52:504c:0:2")
	chainLANHost = netip.MustParseAddr("2001:db8:ff::2")
)

// chainPacket is one IPv6 packet of the capture, decoded by pcapconv
// (our 802.15.4 and 6LoWPAN decoders), MAC retransmissions dropped.
type chainPacket struct {
	frame  int
	macSrc string
	pkt    ip6.Header
}

// chainPackets decodes the capture with pcapconv.
func chainPackets(t *testing.T) []chainPacket {
	t.Helper()
	f, err := os.Open(daemonRIOTChain)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ctx lowpan.ContextTable
	// The root's 6CO: context 0 is the mesh prefix.
	if err := ctx.Set(0, lowpan.Context{Prefix: chainPrefix, Compress: true}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := pcapconv.Decode(f, pcapconv.DecodeOptions{Contexts: &ctx, JSON: &out})
	if err != nil {
		t.Fatal(err)
	}
	if st.Errors != 0 {
		t.Errorf("pcapconv: %d frames did not decode: %s", st.Errors, out.String())
	}
	var pkts []chainPacket
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r pcapconv.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.PacketHex == "" || r.MAC == nil {
			continue
		}
		b, err := hex.DecodeString(r.PacketHex)
		if err != nil || !ip6.Header(b).IsValid() {
			t.Fatalf("frame %v: packet %q: %v", r.Frames, r.PacketHex, err)
		}
		pkts = append(pkts, chainPacket{frame: r.Frames[len(r.Frames)-1], macSrc: r.MAC.Src, pkt: b})
	}
	t.Logf("%d frames, %d packets, %d MAC retransmissions dropped, %d non-data frames", st.Frames, st.Packets, st.Duplicates, st.Skipped)
	return pkts
}

// TestDaemonRIOTChainCapture checks the capture with our decoders: every
// DIO of the root says what the run configured (instance 0, version 240,
// rank 256, grounded, MOP 2, DODAGID the root; DODAG Configuration option
// with RFC 6550 §17's trickle defaults, MinHopRankIncrease 256, OF0,
// lifetime 5 × 60 s; PIO with A and R carrying the root's address); RIOT's
// DAOs are what rpl/testdata/riot/README.md says RIOT sends (link-local to
// the parent, K=1, sequences from 240, 4-octet Transits with lifetime 5)
// and r1's carry r2; each DAO-ACK of the root answers, with status 0, a
// DAO the root heard before; the root sends no Hop-by-Hop header; and
// echo replies from r2 reach the LAN host through r1.
func TestDaemonRIOTChainCapture(t *testing.T) {
	pkts := chainPackets(t)
	daoHeard := map[netip.Addr]map[uint8]bool{} // DAOs to the root, by sender
	var dios, daos, acks, replies int
	r1CarriesR2 := false
	for _, p := range pkts {
		h := p.pkt
		if p.macSrc == chainBREUI && h.NextHeader() == 0 {
			t.Errorf("frame %d: the root sent a Hop-by-Hop header to %v", p.frame, h.Dst())
		}
		if h.NextHeader() != ip6.ProtoICMPv6 {
			continue
		}
		body := h.Payload()
		if len(body) > 0 && body[0] == 129 && h.Src() == chainR2 && h.Dst() == chainLANHost && p.macSrc == chainR1EUI {
			// Hop limit 64 from r2, 63 after r1 (RFC 8200 §3).
			if h.HopLimit() != 63 {
				t.Errorf("frame %d: echo reply from r2 leaves r1 with hop limit %d, want 63", p.frame, h.HopLimit())
			}
			replies++
		}
		if len(body) == 0 || body[0] != rpl.ICMPType {
			continue
		}
		m, err := rpl.Parse(body)
		if err != nil {
			t.Errorf("frame %d: %v", p.frame, err)
			continue
		}
		if !m.ChecksumValid(h.Src(), h.Dst()) {
			t.Errorf("frame %d: %v with a bad checksum", p.frame, m.Code())
		}
		switch {
		case m.Code() == rpl.CodeDIO && p.macSrc == chainBREUI:
			dios++
			checkRootDIO(t, p.frame, m)
		case m.Code() == rpl.CodeDAO:
			daos++
			d := m.DAO()
			var targets []netip.Addr
			it := m.Options().Iter()
			for o, done, err := it.Next(); !done; o, done, err = it.Next() {
				if err != nil {
					t.Fatalf("frame %d: DAO options: %v", p.frame, err)
				}
				switch o.Type() {
				case rpl.OptTarget:
					targets = append(targets, rpl.Target(o).Prefix().Addr())
				case rpl.OptTransit:
					tr := rpl.Transit(o)
					if _, ok := tr.Parent(); ok || tr.PathLifetime() != 5 || tr.PathSequence() != 0 {
						t.Errorf("frame %d: RIOT's Transit: parent present %v, lifetime %d, path sequence %d; want none, 5, 0", p.frame, ok, tr.PathLifetime(), tr.PathSequence())
					}
				}
			}
			if !d.AckRequested() || d.Instance() != 0 || d.Sequence() < 240 || !h.Src().IsLinkLocalUnicast() || !h.Dst().IsLinkLocalUnicast() {
				t.Errorf("frame %d: RIOT's DAO: K %v, instance %d, sequence %d, %v → %v", p.frame, d.AckRequested(), d.Instance(), d.Sequence(), h.Src(), h.Dst())
			}
			if h.Src() == chainR1LL {
				if daoHeard[chainR1LL] == nil {
					daoHeard[chainR1LL] = map[uint8]bool{}
				}
				daoHeard[chainR1LL][d.Sequence()] = true
				if len(targets) == 2 && targets[0] == chainR1 && targets[1] == chainR2 {
					r1CarriesR2 = true
				}
			} else if h.Src() != chainR2LL || h.Dst() != chainR1LL {
				t.Errorf("frame %d: DAO %v → %v: want r1 → root or r2 → r1 (r2 is out of the root's range)", p.frame, h.Src(), h.Dst())
			}
		case m.Code() == rpl.CodeDAOACK && p.macSrc == chainBREUI:
			acks++
			a := m.DAOACK()
			if !daoHeard[h.Dst()][a.Sequence()] || a.Status() != 0 || a.Instance() != 0 {
				t.Errorf("frame %d: DAO-ACK to %v: sequence %d, status %d, instance %d; DAOs heard from it %v", p.frame, h.Dst(), a.Sequence(), a.Status(), a.Instance(), daoHeard[h.Dst()])
			}
		}
	}
	t.Logf("root DIOs %d, DAOs %d, root DAO-ACKs %d, echo replies from r2 through r1 %d", dios, daos, acks, replies)
	if dios == 0 || daos == 0 || acks == 0 || !r1CarriesR2 || replies < 9 {
		t.Errorf("want root DIOs, DAOs, DAO-ACKs, a DAO of r1's with r1 and r2 as Targets (%v) and ≥ 9 echo replies from r2", r1CarriesR2)
	}
}

// checkRootDIO checks one of the root's DIOs against the run's
// configuration (the defaults of rpl.* keys, rpl.mode storing).
func checkRootDIO(t *testing.T, frame int, m rpl.Message) {
	t.Helper()
	d := m.DIO()
	if d.Instance() != 0 || d.Version() != 240 || d.Rank() != 256 || !d.Grounded() || d.MOP() != rpl.MOPStoring || d.DODAGID() != chainRoot {
		t.Errorf("frame %d: root DIO: instance %d, version %d, rank %d, grounded %v, MOP %d, DODAGID %v", frame,
			d.Instance(), d.Version(), d.Rank(), d.Grounded(), d.MOP(), d.DODAGID())
	}
	conf := m.Options().Find(rpl.OptDODAGConfig)
	if conf == nil {
		t.Errorf("frame %d: root DIO without the DODAG Configuration option", frame)
	} else if c := rpl.DODAGConfig(conf); c.DIOIntervalMin() != 3 || c.DIOIntervalDoublings() != 20 || c.DIORedundancy() != 10 ||
		c.MinHopRankIncrease() != 256 || c.MaxRankIncrease() != 7*256 || c.OCP() != 0 || c.DefaultLifetime() != 5 || c.LifetimeUnit() != 60 {
		t.Errorf("frame %d: DODAG Configuration: Imin %d, doublings %d, k %d, MinHopRankIncrease %d, MaxRankIncrease %d, OCP %d, lifetime %d × %d s",
			frame, c.DIOIntervalMin(), c.DIOIntervalDoublings(), c.DIORedundancy(), c.MinHopRankIncrease(), c.MaxRankIncrease(), c.OCP(), c.DefaultLifetime(), c.LifetimeUnit())
	}
	pio := m.Options().Find(rpl.OptPrefixInfo)
	if pio == nil {
		t.Errorf("frame %d: root DIO without a PIO", frame)
		return
	}
	if p := rpl.PrefixInfo(pio); p.Address() != chainRoot || p.PrefixLength() != 64 || p.Flags() != rpl.PrefixFlagA|rpl.PrefixFlagR {
		t.Errorf("frame %d: PIO %v/%d flags %#x, want %v/64 with A and R only (L=0 in a route-over mesh)", frame, p.Address(), p.PrefixLength(), p.Flags(), chainRoot)
	}
}
