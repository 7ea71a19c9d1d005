package router

import (
	"bytes"
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/packettest"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
)

// stubLink is a link.Runnable that records what it is asked to send.
type stubLink struct {
	mu   sync.Mutex
	sent []stubSent
}

type stubSent struct {
	pkt   []byte
	to    lowpan.LinkAddr
	class link.Class
}

func (l *stubLink) Name() string              { return "stub0" }
func (l *stubLink) MTU() int                  { return 1280 }
func (l *stubLink) LinkAddr() lowpan.LinkAddr { return lowpan.ExtendedLinkAddr(eui(0x01)) }
func (l *stubLink) Send(pkt []byte, to lowpan.LinkAddr, o link.SendOptions) error {
	l.mu.Lock()
	l.sent = append(l.sent, stubSent{bytes.Clone(pkt), to, o.Class})
	l.mu.Unlock()
	return nil
}
func (l *stubLink) Run(ctx context.Context, _ func(*link.Delivery)) { <-ctx.Done() }

func (l *stubLink) take() []stubSent {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sent
	l.sent = nil
	return s
}

// stubTUN records what the forwarder writes to Linux.
type stubTUN struct {
	mu      sync.Mutex
	written [][]byte
	closed  chan struct{}
}

func (t *stubTUN) ReadPacket([]byte) (int, error) { <-t.closed; return 0, context.Canceled }
func (t *stubTUN) WritePacket(p []byte) error {
	t.mu.Lock()
	t.written = append(t.written, bytes.Clone(p))
	t.mu.Unlock()
	return nil
}

func (t *stubTUN) take() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.written
	t.written = nil
	return w
}

func eui(last byte) [8]byte { return [8]byte{0x02, 0, 0, 0, 0, 0, 0, last} }

func mac(last byte) lowpan.LinkAddr { return lowpan.ExtendedLinkAddr(eui(last)) }

var (
	testPrefix = netip.MustParsePrefix("2001:db8:1::/64")
	testGlobal = netip.MustParseAddr("2001:db8:1::1")
	testLL     = netip.MustParseAddr("fe80::ff:fe00:1")
)

// newTestForwarder makes a forwarder on a stub link with a 6LBR whose
// registry holds:
//   - 2001:db8:1::a registered directly by MAC …0a (a 6LR),
//   - 2001:db8:1::c registered through that 6LR (an EDAR from ::a),
//   - 2001:db8:1::b registered directly by MAC …0b, and the link-local
//     fe80::1234 registered by …0b too.
//
// The forwarder does not run: fromMesh is called as a link's receive loop
// would.
func newTestForwarder(t *testing.T, cfg ForwarderConfig) (*Forwarder, *stubLink, *stubTUN) {
	t.Helper()
	ndr, err := nd.New(nd.Config{Prefix: testPrefix, LinkLocal: testLL, Global: testGlobal, ContextChangeDelay: -1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	reg := ndr.Registry()
	now := time.Now()
	for _, r := range []nd.Request{
		{Addr: netip.MustParseAddr("2001:db8:1::a"), LinkAddr: mac(0x0a)},
		{Addr: netip.MustParseAddr("2001:db8:1::c"), Via: netip.MustParseAddr("2001:db8:1::a")},
		{Addr: netip.MustParseAddr("2001:db8:1::b"), LinkAddr: mac(0x0b)},
		{Addr: netip.MustParseAddr("fe80::1234"), LinkAddr: mac(0x0b)},
	} {
		r.ROVR, _ = nd.MakeROVR(r.Addr.AsSlice()[8:])
		if r.LinkAddr.Kind() == lowpan.LinkAddrExtended {
			e := r.LinkAddr.Extended() // the ROVR a node's renewals carry (registration)
			r.ROVR, _ = nd.MakeROVR(e[:])
		}
		r.Lifetime = 10
		if res := reg.Register(r, now); res.Status != nd.StatusSuccess {
			t.Fatalf("register %v: %v", r.Addr, res.Status)
		}
	}
	l := &stubLink{}
	tun := &stubTUN{closed: make(chan struct{})}
	cfg.TUN, cfg.ND, cfg.Source, cfg.Links = tun, ndr, testGlobal, []link.Runnable{l}
	f, err := NewForwarder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, l, tun
}

// Each rule of the source address validation: what a neighbour may send
// from, and where the packet then goes.
func TestSourceValidation(t *testing.T) {
	lan := "2001:db8:9::5"
	tests := []struct {
		name     string
		src, dst string
		from     lowpan.LinkAddr
		allow    bool   // AllowUnregisteredSources
		want     string // "tun", "mesh" or the counter that must grow
	}{
		{"registered, from its own MAC", "2001:db8:1::a", lan, mac(0x0a), false, "tun"},
		{"registered, from another neighbour's MAC", "2001:db8:1::a", lan, mac(0x0b), false, "unregistered"},
		{"not registered", "2001:db8:1::99", lan, mac(0x0a), false, "unregistered"},
		{"outside the prefix", "2001:db8:9::77", lan, mac(0x0a), false, "unregistered"},
		{"the border router's own address", "2001:db8:1::1", lan, mac(0x0a), false, "unregistered"},
		{"registered through a 6LR, from the 6LR", "2001:db8:1::c", lan, mac(0x0a), false, "tun"},
		{"registered through a 6LR, from the node itself", "2001:db8:1::c", lan, mac(0x0c), false, "unregistered"},
		{"mesh to mesh", "2001:db8:1::a", "2001:db8:1::b", mac(0x0a), false, "mesh"},
		{"mesh to mesh, spoofed", "2001:db8:1::99", "2001:db8:1::b", mac(0x0a), false, "unregistered"},
		{"link-local of the sender's EUI-64", "fe80::0:0:0:a", "fe80::ff:fe00:1", mac(0x0a), false, "tun"},
		{"link-local of another EUI-64", "fe80::0:0:0:b", "fe80::ff:fe00:1", mac(0x0a), false, "linklocal"},
		{"link-local of a short address", "fe80::ff:fe00:1234", "ff02::1", lowpan.ShortLinkAddr(0x1234), false, "tun"},
		{"link-local the sender registered", "fe80::1234", "fe80::ff:fe00:1", mac(0x0b), false, "tun"},
		{"link-local another neighbour registered", "fe80::1234", "fe80::ff:fe00:1", mac(0x0a), false, "linklocal"},
		{"unspecified", "::", lan, mac(0x0a), false, "invalid"},
		{"multicast", "ff02::1", lan, mac(0x0a), false, "invalid"},
		{"loopback", "::1", lan, mac(0x0a), false, "invalid"},
		{"allowed: unregistered, from a registered neighbour", "2001:db8:1::99", lan, mac(0x0a), true, "tun"},
		{"allowed: unregistered, from a stranger", "2001:db8:1::99", lan, mac(0x0d), true, "unregistered"},
		{"allowed: a link-local still has to match", "fe80::0:0:0:b", lan, mac(0x0a), true, "linklocal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, l, tun := newTestForwarder(t, ForwarderConfig{AllowUnregisteredSources: tt.allow})
			pkt := packettest.UDP(tt.src, tt.dst, 20)
			f.fromMesh(0, &link.Delivery{Packet: pkt, Src: tt.from})
			sent, written, st := l.take(), tun.take(), f.Stats()
			got := map[string]uint64{"unregistered": st.SourceUnregistered, "linklocal": st.SourceLinkLocalMismatch, "invalid": st.SourceInvalid}
			switch tt.want {
			case "tun":
				if len(written) != 1 || len(sent) != 0 {
					t.Errorf("want it written to Linux: written %d, sent %d; stats %+v", len(written), len(sent), st)
				}
			case "mesh":
				if len(sent) != 1 || sent[0].to != mac(0x0b) || len(written) != 0 {
					t.Errorf("want it forwarded to …0b: sent %+v, written %d; stats %+v", sent, len(written), st)
				}
			default:
				if len(written)+len(sent) != 0 {
					t.Errorf("forwarded (written %d, sent %d), want it dropped", len(written), len(sent))
				}
			}
			for k, v := range got {
				if want := uint64(0); k == tt.want {
					if v != 1 {
						t.Errorf("%s counter %d, want 1; stats %+v", k, v, st)
					}
				} else if v != want {
					t.Errorf("%s counter %d, want 0", k, v)
				}
			}
		})
	}
}

// Neighbour discovery is exempt from the source validation: a node that
// has not registered solicits a router from the unspecified address or its
// link-local address and registers from its link-local address, and is
// answered.
func TestSourceValidationLetsNDThrough(t *testing.T) {
	f, l, _ := newTestForwarder(t, ForwarderConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.runControl(ctx)
	newcomer := mac(0x0d)
	ll, _ := newcomer.LinkLocal()
	rs, err := nd.AppendIPv6(nil, netip.IPv6Unspecified(), netip.MustParseAddr("ff02::2"), 255, nd.RSFields{})
	if err != nil {
		t.Fatal(err)
	}
	rsLL, err := nd.AppendIPv6(nil, ll, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{}, nd.SourceLinkAddr{Addr: newcomer})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := nd.AppendIPv6(nil, ll, testLL, 255, nd.NSFields{Target: netip.MustParseAddr("2001:db8:1::d")},
		nd.SourceLinkAddr{Addr: newcomer}, nd.AROFields{T: true, TID: 1, Lifetime: 10, ROVR: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{rs, rsLL, ns} {
		f.fromMesh(0, &link.Delivery{Packet: p, Src: newcomer})
	}
	var got []stubSent
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		got = append(got, l.take()...)
		time.Sleep(5 * time.Millisecond)
	}
	var ras, nas int
	for _, s := range got {
		var m nd.Message
		if nd.Parse(s.pkt, &m) != nil || s.class != link.ClassControl {
			t.Fatalf("sent %x as class %d", s.pkt, s.class)
		}
		switch {
		case m.Type == nd.TypeRouterAdvert:
			ras++
		case m.Type == nd.TypeNeighborAdvert && m.ARO != nil && m.ARO.Status() == nd.StatusSuccess:
			nas++
		}
	}
	if ras != 2 || nas != 1 {
		t.Fatalf("%d RAs and %d successful NAs, want 2 and 1; stats %+v", ras, nas, f.Stats())
	}
	// Registered now: its packets pass.
	f.fromMesh(0, &link.Delivery{Packet: packettest.UDP("2001:db8:1::d", "2001:db8:9::5", 10), Src: newcomer})
	if st := f.Stats(); st.SourceUnregistered != 0 || st.ToTUN != 1 {
		t.Errorf("after registering: %+v", st)
	}
}
