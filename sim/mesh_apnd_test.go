package sim

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
)

// apndBR is a 6LBR with AP-ND as nd/apnd.go tells nd/lbr.go to integrate
// it, built here around nd.Router until lbr.go does so itself: every
// NS(EARO) goes through nd.APND first (challenge, proof, refusal), and the
// registry rule that an unproven registration never replaces or deletes a
// protected one is kept in a table of protected addresses beside the
// Router's registry. Only ND is handled; the 6LRs of the mesh forward EDARs
// and DACs up and down.
type apndBR struct {
	ndr    *nd.Router
	apnd   *nd.APND
	ml     *link.Lowpan
	global netip.Addr

	mu        sync.Mutex
	protected map[netip.Addr]nd.ROVR
	statuses  map[nd.Status]int
}

func startAPNDBR(t *testing.T, cfg MeshConfig, acfg nd.APNDConfig) (*apndBR, *Mesh) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, mn, br, brEUI, mediumDone := startBRRadio(ctx, t, cfg.Seed)
	ctxs := &lowpan.ContextTable{}
	ctxs.Set(0, lowpan.Context{Prefix: prefix, Compress: true})
	ml, err := link.NewLowpan(link.LowpanConfig{Name: "wpan0", Radio: br, PANID: 0xabcd, ExtAddr: brEUI, Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	b := &apndBR{apnd: nd.NewAPND(acfg), ml: ml, global: netip.MustParseAddr("2001:db8:1::1"),
		protected: map[netip.Addr]nd.ROVR{}, statuses: map[nd.Status]int{}}
	b.ndr, err = nd.New(nd.Config{Prefix: prefix, Contexts: []nd.ContextConfig{{ID: 0, Prefix: prefix}}, ContextChangeDelay: -1,
		LinkLocal: netip.MustParseAddr("fe80::1"), Global: b.global}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	linkDone := make(chan struct{})
	go func() { ml.Run(ctx, b.receive); close(linkDone) }()
	cfg.Channel, cfg.PANID = 20, 0xabcd
	mesh, err := StartMesh(ctx, m, mn, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		mesh.Wait()
		<-linkDone
		br.Close()
		<-mediumDone
	})
	return b, mesh
}

func (b *apndBR) receive(d *link.Delivery) {
	var m nd.Message
	if nd.Parse(d.Packet, &m) != nil {
		return
	}
	in := nd.Incoming{Link: 1, LinkSrc: d.Src, Local: b.ml.LinkAddr(), Now: time.Now()}
	var replies []nd.Reply
	switch {
	case m.Type == nd.TypeNeighborSolicit && m.ARO != nil:
		replies = b.registration(&m, in)
	case m.Type == nd.TypeDAR:
		replies = b.dar(&m, in)
	default:
		replies = b.ndr.Handle(nil, &m, in)
	}
	for _, r := range replies {
		to := r.LinkDst
		if to.Kind() == lowpan.LinkAddrNone {
			dst := netip.AddrFrom16([16]byte(r.Packet[24:40]))
			if _, ll, ok := b.ndr.Registry().NextHop(dst, in.Now); ok {
				to = ll
			} else if !dst.IsMulticast() {
				continue
			}
		}
		b.ml.Send(r.Packet, to, link.SendOptions{Class: link.ClassControl})
	}
}

func (b *apndBR) count(s nd.Status) {
	b.mu.Lock()
	b.statuses[s]++
	b.mu.Unlock()
}

// registration is handleRegistration with APND in front, as apnd.go
// describes it.
func (b *apndBR) registration(m *nd.Message, in nd.Incoming) []nd.Reply {
	addr := m.Target
	if !m.ARO.T() {
		addr = m.Src // RFC 6775 §4.1
	}
	ll := in.LinkSrc
	if a, ok := m.SLLAO.Addr(nd.MediumIEEE802154); ok {
		ll = a
	}
	answer := func(s nd.Status, extra ...nd.OptionSerializer) []nd.Reply {
		b.count(s)
		aro := nd.AROFields{Status: s, T: m.ARO.T(), TID: m.ARO.TID(), Lifetime: m.ARO.Lifetime(), ROVR: m.ARO.ROVR()}
		pkt, err := nd.AppendIPv6(nil, b.ndr.LinkLocal(), m.Src, 255, nd.NAFields{Router: true, Solicited: true, Target: m.Target},
			append([]nd.OptionSerializer{aro}, extra...)...)
		if err != nil {
			return nil
		}
		return []nd.Reply{{Link: in.Link, LinkDst: ll, Packet: pkt}}
	}
	d := b.apnd.CheckNS(m, addr, in.LinkSrc, in.Now)
	switch d.Action {
	case nd.APNDChallenge:
		return answer(d.Status, d.Nonce)
	case nd.APNDRefuse:
		return answer(d.Status)
	}
	rovr, _ := nd.MakeROVR(m.ARO.ROVR())
	b.mu.Lock()
	_, prot := b.protected[addr]
	b.mu.Unlock()
	if prot && !d.Proven {
		// The registry rule: an unproven registration never replaces or
		// deletes a protected one; apnd.go answers it "duplicate".
		return answer(nd.StatusDuplicate)
	}
	replies := b.ndr.Handle(nil, m, in)
	if reg, ok := b.ndr.Registry().Lookup(addr, in.Now); ok && reg.ROVR == rovr && d.Proven {
		b.mu.Lock()
		b.protected[addr] = rovr
		b.mu.Unlock()
	} else if !ok && d.Proven {
		b.mu.Lock()
		delete(b.protected, addr) // a proven deregistration
		b.mu.Unlock()
	}
	b.count(statusOf(replies))
	return replies
}

// dar is handleDAR with the registry rule (RFC 8928 §6): an EDAR is
// proven when it carries status 5, the 6LR's word that it validated its
// 6LN, and APND trusts the 6LR; one that would change a protected
// registration without that is answered with status 5 in the EDAC, which
// the 6LR turns into a challenge of its 6LN.
func (b *apndBR) dar(m *nd.Message, in nd.Incoming) []nd.Reply {
	da := m.DA()
	addr := da.Registered()
	b.mu.Lock()
	_, prot := b.protected[addr]
	_, viaProt := b.protected[m.Src]
	b.mu.Unlock()
	proven := b.apnd.RelayProven(da.Status(), viaProt)
	if prot && !proven {
		s := b.apnd.RelayStatus()
		b.count(s)
		pkt, err := nd.AppendIPv6(nil, b.global, m.Src, nd.MultihopHopLimit, nd.DAFields{Confirmation: true, Extended: da.Extended(),
			Status: s, TID: da.TID(), Lifetime: da.Lifetime(), ROVR: da.ROVR(), Registered: addr})
		if err != nil {
			return nil
		}
		return []nd.Reply{{Link: in.Link, LinkDst: in.LinkSrc, Packet: pkt}}
	}
	replies := b.ndr.Handle(nil, m, in)
	rovr, _ := nd.MakeROVR(da.ROVR())
	if reg, ok := b.ndr.Registry().Lookup(addr, in.Now); ok && reg.ROVR == rovr && proven {
		b.mu.Lock()
		b.protected[addr] = rovr
		b.mu.Unlock()
	}
	b.count(statusOf(replies))
	return replies
}

// statusOf is the status of the first NA(EARO) or DAC among replies.
func statusOf(replies []nd.Reply) nd.Status {
	for _, r := range replies {
		var m nd.Message
		if nd.Parse(r.Packet, &m) != nil {
			continue
		}
		if m.ARO != nil {
			return m.ARO.Status()
		}
		if m.Type == nd.TypeDAC {
			return m.DA().Status()
		}
	}
	return 255
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Nodes with a Crypto-ID answer the 6LBR's challenge and register proven,
// with both supported Crypto-Types; legacy nodes beside them register as
// before.
func TestProtectedNodesRegister(t *testing.T) {
	for _, typ := range []nd.CryptoType{nd.CryptoECDSAP256, nd.CryptoEd25519} {
		t.Run(typ.String(), func(t *testing.T) {
			t.Parallel()
			b, mesh := startAPNDBR(t, MeshConfig{Topology: Star, Nodes: 3, Seed: 5, Protect: true, CryptoType: typ}, nd.APNDConfig{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := mesh.WaitRegistered(ctx); err != nil {
				t.Fatal(err)
			}
			for i, n := range mesh.Nodes() {
				st := n.State()
				if !st.Protected || st.Challenges == 0 || st.Global != Addr(prefix, i) {
					t.Errorf("%s: %+v, want registered with a proof", n.Name(), st)
				}
				reg, ok := b.ndr.Registry().Lookup(st.Global, time.Now())
				if !ok || reg.ROVR.Len() != 16 {
					t.Errorf("%s: registry %+v %v, want its 128-bit Crypto-ID", n.Name(), reg, ok)
				}
				if id, _ := n.cfg.Key.CryptoID(16); reg.ROVR != id {
					t.Errorf("%s: registered ROVR %v, want its Crypto-ID %v", n.Name(), reg.ROVR, id)
				}
			}
			if c := b.apnd.Counters(); c.Proven < 3 || c.Failed != 0 {
				t.Errorf("APND counters %+v", c)
			}
		})
	}
}

// Every intruder variant against a protected node is refused, and the
// victim keeps its address (issue 13's target for --sim-intruder): the
// copied ROVR with a newer TID, with lifetime 0, and relayed by a 6LR in an
// EDAR; each with the C flag (the intruder cannot prove a Crypto-ID that
// is not its own) and without (the registry rule keeps an unproven
// registration off a protected one).
func TestIntruderVariantsRefused(t *testing.T) {
	cases := []struct {
		name      string
		cfg       MeshConfig
		apnd      nd.APNDConfig
		intruders map[string][]nd.Status // intruder name → acceptable final statuses
		victims   []int
		// protected: nodes whose registration the 6LBR holds as
		// protected (with TrustRelays, the relayed ones too).
		protected []int
	}{
		{
			name: "direct",
			cfg: MeshConfig{Topology: Star, Nodes: 4, Seed: 11,
				Intruders: []string{"n1:rovr", "n2:rovr-legacy", "n3:lifetime0", "n4:lifetime0-legacy"}},
			intruders: map[string][]nd.Status{
				"intruder-n1-rovr":             {nd.StatusValidationFailed},
				"intruder-n2-rovr-legacy":      {nd.StatusDuplicate},
				"intruder-n3-lifetime0":        {nd.StatusValidationFailed},
				"intruder-n4-lifetime0-legacy": {nd.StatusDuplicate},
			},
			victims: []int{0, 1, 2, 3},
		},
		{
			// n1 next to the border router; the intruders sit where n1 is
			// but out of the border router's range, so n1 or n2 (6LRs with
			// AP-ND) relay them.
			name: "relayed",
			cfg: MeshConfig{Topology: Line, Nodes: 3, Seed: 12, Routing: RoutingND,
				Intruders: []string{"n1:relayed", "n1:relayed-legacy"}},
			intruders: map[string][]nd.Status{
				// The AP-ND 6LR challenges the C flag and refuses the proof.
				"intruder-n1-relayed": {nd.StatusValidationFailed},
				// The 6LR relays the plain EARO with status 0 in the EDAR;
				// the 6LBR answers status 5 in the EDAC (RFC 8928 §6), and
				// the 6LR challenges the intruder, which cannot answer.
				"intruder-n1-relayed-legacy": {nd.StatusValidationRequested},
			},
			victims:   []int{0},
			protected: []int{0},
		},
		{
			// The same with the 6LBR trusting its 6LRs' status 5 (RFC
			// 8928 §6, §6.3): the relayed nodes are protected too, and
			// the intruders are refused all the same.
			name: "relayed-trusted",
			cfg: MeshConfig{Topology: Line, Nodes: 3, Seed: 12, Protect: true, Routing: RoutingND,
				Intruders: []string{"n1:relayed", "n1:relayed-legacy"}},
			apnd: nd.APNDConfig{TrustRelays: true},
			intruders: map[string][]nd.Status{
				"intruder-n1-relayed":        {nd.StatusValidationFailed},
				"intruder-n1-relayed-legacy": {nd.StatusValidationRequested},
			},
			victims:   []int{0},
			protected: []int{0, 1, 2},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.cfg.Lifetime = time.Minute
			b, mesh := startAPNDBR(t, c.cfg, c.apnd)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := mesh.WaitRegistered(ctx); err != nil {
				t.Fatal(err)
			}
			for name, want := range c.intruders {
				in := mesh.Node(name)
				if in == nil {
					t.Fatalf("no intruder %s", name)
				}
				// The intruder's first answer (its NS retransmissions
				// and, relayed, its RS and the 6LR's RA come first).
				waitFor(t, 45*time.Second, name+" never answered", func() bool {
					st := in.State()
					return st.Status != nd.StatusSuccess || st.Registered
				})
				st := in.State()
				ok := false
				for _, s := range want {
					ok = ok || st.Status == s
				}
				if st.Registered || !ok {
					t.Errorf("%s: %+v, want refused with %v", name, st, want)
				}
			}
			// The victims keep their addresses, registered to themselves.
			for _, i := range c.victims {
				v := mesh.Nodes()[i]
				st := v.State()
				reg, found := b.ndr.Registry().Lookup(st.Global, time.Now())
				id, _ := v.cfg.Key.CryptoID(16)
				if !st.Registered || !st.Protected || !found || reg.ROVR != id || reg.LinkAddr != v.LinkAddr() {
					t.Errorf("victim %s: %+v; registry %+v (found %v)", v.Name(), st, reg, found)
				}
			}
			b.mu.Lock()
			for _, i := range c.protected {
				v := mesh.Nodes()[i]
				id, _ := v.cfg.Key.CryptoID(16)
				if rovr, ok := b.protected[v.State().Global]; !ok || rovr != id {
					t.Errorf("%s: not protected at the 6LBR under its Crypto-ID", v.Name())
				}
			}
			t.Logf("6LBR statuses %v, APND %+v", b.statuses, b.apnd.Counters())
			b.mu.Unlock()
		})
	}
}

func TestIntruderVariantConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  MeshConfig
		want string
	}{
		{MeshConfig{Nodes: 2, Intruders: []string{"n1:bogus"}}, `no variant "bogus"`},
		{MeshConfig{Nodes: 2, Intruders: []string{"n1:relayed"}}, "needs 6LRs"},
		{MeshConfig{Nodes: 2, Intruders: []string{"n1:rovr", "n1:rovr"}}, "given twice"},
		{MeshConfig{Nodes: 2, Intruders: []string{"n3:rovr"}}, "no such node"},
		{MeshConfig{Nodes: 2, Protect: true, CryptoType: nd.CryptoECDSA25519}, "Crypto-Type"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg.Intruders, err, c.want)
		}
	}
	ok := MeshConfig{Topology: Line, Nodes: 2, Intruders: []string{"n1", "n1:rovr", "n2:relayed-legacy"}}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}
