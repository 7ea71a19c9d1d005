package nd

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// raFrames compresses pkt as the border router's link does (RFC 6282
// IPHC with the configured contexts, 2006 frame, one PAN ID, extended
// source and destination) and returns the PSDUs (FCS included) it takes.
func raFrames(t *testing.T, pkt []byte, src, dst lowpan.LinkAddr, contexts []ContextConfig) (psdus [][]byte) {
	t.Helper()
	var ctxs lowpan.ContextTable
	for _, c := range contexts {
		if err := ctxs.Set(int(c.ID), lowpan.Context{Prefix: c.Prefix, Compress: true}); err != nil {
			t.Fatal(err)
		}
	}
	sm, _ := src.MAC()
	dm, _ := dst.MAC()
	h := ieee802154.Header{Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true,
		DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: dm, Src: sm}
	z := lowpan.Compressor{Contexts: &ctxs}
	var scratch [lowpan.ScratchSize]byte
	eo := lowpan.EncodeOptions{MaxPayload: h.MaxPayload()}
	_, err := z.Encode(scratch[:], pkt, src, dst, &eo, func(payload []byte) error {
		h.Seq++
		f, err := ieee802154.AppendFrame(nil, &h, payload, true)
		psdus = append(psdus, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return psdus
}

// TestSolicitedRAFitsOneFrame: the answer to an RS between extended
// addresses, with every option the RFCs ask for (SLLAO, PIO, one 6CO,
// ABRO, 6CIO), is two fragments; with Config.OmitSolicitedSLLAO, which
// leaves out the SLLAO the frame's source already gives, it fits one
// 802.15.4 frame.
// The frame budget: 127 - 2 FCS - 21 MAC header = 104 octets, of which
// IPHC takes 3 (both link-local addresses elided, hop limit 255, next
// header inline).
func TestSolicitedRAFitsOneFrame(t *testing.T) {
	omit := func(c *Config) { c.OmitSolicitedSLLAO = true }
	rs := mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1})
	tests := []struct {
		name       string
		mod        func(*Config)
		local      lowpan.LinkAddr
		wantSLLAO  bool
		wantOctets int // IPv6 packet
		wantFrames int
	}{
		// 40 + 16 RA + 32 PIO + 16 6CO + 24 ABRO + 8 6CIO.
		{"default", nil, ll2, true, 152, 2},
		{"OmitSolicitedSLLAO", omit, ll2, false, 136, 1},
		// The link-local address is not the frame source's: the node
		// could not derive the link-layer address from it.
		{"link-local not from the EUI-64", func(c *Config) { omit(c); c.LinkLocal = mustAddr("fe80::1") }, ll2, true, 152, 2},
		// A second context is 16 octets more: two frames again.
		{"two contexts", func(c *Config) {
			omit(c)
			c.Contexts = append(c.Contexts, ContextConfig{ID: 1, Prefix: netip.MustParsePrefix("2001:db8:2::/64")})
		}, ll2, false, 152, 2},
		// The MTU option is 8 more: 107 > 104.
		{"MTU option", func(c *Config) { omit(c); c.MTU = 1280 }, ll2, false, 144, 2},
		{"no 6CIO", func(c *Config) { omit(c); c.Omit6CIO = true }, ll2, false, 128, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRouter(t, tt.mod)
			ra, rep := oneReply(t, handle(t, r, rs, Incoming{Link: 1, LinkSrc: ll1, Local: tt.local}))
			if ra.Type != TypeRouterAdvert || ra.Dst != node1LL || rep.LinkDst != ll1 {
				t.Fatalf("RA to %v via %v", ra.Dst, rep.LinkDst)
			}
			if got := ra.SLLAO != nil; got != tt.wantSLLAO {
				t.Errorf("SLLAO present %v, want %v", got, tt.wantSLLAO)
			}
			if got := len(rep.Packet); got != tt.wantOctets {
				t.Errorf("RA of %d octets, want %d", got, tt.wantOctets)
			}
			// The options RFC 6775 asks for stay: PIO, 6CO, ABRO (§7:
			// "A 6LBR SHOULD always include an ABRO"; RIOT's 6LR drops
			// an RA without one).
			seen := map[OptionType]int{}
			it := ra.Options.Iter()
			for {
				o, done, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				if done {
					break
				}
				seen[o.Type()]++
			}
			if seen[OptPrefixInfo] != 1 || seen[Opt6CO] < 1 || seen[OptABRO] != 1 {
				t.Errorf("options %v: want PIO, 6CO and ABRO", seen)
			}
			if psdus := raFrames(t, rep.Packet, ll2, rep.LinkDst, r.cfg.Contexts); len(psdus) != tt.wantFrames {
				t.Errorf("%d frames (first PSDU %d octets), want %d", len(psdus), len(psdus[0]), tt.wantFrames)
			}
		})
	}
}

// TestSolicitedRASLLAOKeptWhereNeeded: even with OmitSolicitedSLLAO,
// multicast RAs (an RS from ::, an unsolicited RA) and RAs on Bluetooth LE
// keep the SLLAO.
func TestSolicitedRASLLAOKeptWhereNeeded(t *testing.T) {
	omit := func(c *Config) { c.OmitSolicitedSLLAO = true }
	r := newTestRouter(t, omit)
	rs := mustAppend(t, netip.IPv6Unspecified(), mustAddr("ff02::2"), 255, RSFields{})
	ra, _ := oneReply(t, handle(t, r, rs, Incoming{Link: 1, LinkSrc: ll1}))
	if ra.Dst != allNodes || ra.SLLAO == nil {
		t.Errorf("RA from :: to %v, SLLAO %v", ra.Dst, ra.SLLAO)
	}
	out := r.UnsolicitedRA(nil, 1, ll2)
	if len(out) != 1 || mustParse(t, out[0].Packet).SLLAO == nil {
		t.Errorf("unsolicited RA without SLLAO")
	}
	bd := lowpan.BLELinkAddr([6]byte{0x00, 0x1a, 0x7d, 0xda, 0x71, 0x13})
	bleLL, _ := bd.LinkLocal()
	rb := newTestRouter(t, func(c *Config) { omit(c); c.LinkLocal = bleLL })
	rs = mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{})
	ra, _ = oneReply(t, handle(t, rb, rs, Incoming{Link: 2, LinkSrc: ll1, Local: bd}))
	if a, ok := ra.SLLAO.Addr(MediumBLE); !ok || a != bd {
		t.Errorf("BLE RA SLLAO %v %v", a, ok)
	}
}

// TestSolicitedRAOneFrameTshark: tshark reads the compact RA's single
// frame (OmitSolicitedSLLAO) as a complete, unfragmented RA with the PIO,
// 6CO, ABRO and 6CIO, and the router's link-local address rebuilt from the
// MAC source.
func TestSolicitedRAOneFrameTshark(t *testing.T) {
	oracle.Tshark(t)
	r := newTestRouter(t, func(c *Config) { c.OmitSolicitedSLLAO = true })
	rs := mustAppend(t, node1LL, mustAddr("ff02::2"), 255, RSFields{}, SourceLinkAddr{Addr: ll1})
	_, rep := oneReply(t, handle(t, r, rs, Incoming{Link: 1, LinkSrc: ll1, Local: ll2}))
	psdus := raFrames(t, rep.Packet, ll2, rep.LinkDst, r.cfg.Contexts)
	if len(psdus) != 1 || len(psdus[0]) > ieee802154.MaxPSDU {
		t.Fatalf("%d frames", len(psdus))
	}
	rows := oracle.WritePcap(t, oracle.LinkTypeIEEE802154WithFCS, psdus...).
		With("6lowpan.context0:2001:db8:1::/64").
		FieldMaps(t, "frame.len", "wpan.fcs_ok", "6lowpan.frag.size", "ipv6.src", "ipv6.dst", "ipv6.plen",
			"icmpv6.type", "icmpv6.checksum.status", "icmpv6.opt.type")
	want := map[string]string{
		"frame.len": strconv.Itoa(len(psdus[0])), "6lowpan.frag.size": "",
		"ipv6.src": rtrLL.String(), "ipv6.dst": node1LL.String(), "ipv6.plen": "96",
		"icmpv6.type": "134", "icmpv6.checksum.status": "1", "icmpv6.opt.type": "3,34,35,36",
	}
	for f, w := range want {
		if got := rows[0][f]; got != w {
			t.Errorf("%s: tshark %q, want %q", f, got, w)
		}
	}
}
