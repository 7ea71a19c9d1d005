package pcapconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
)

// EncodeOptions configures Encode.
type EncodeOptions struct {
	Contexts *lowpan.ContextTable
	// Src and Dst are the MAC addresses of every frame. A zero Address
	// (AddrNone) means "derive from the IPv6 address": an IID of the form
	// 0000:00ff:fe00:XXXX gives short address XXXX, any other the EUI-64
	// with the U/L bit flipped back; a multicast destination gives the
	// broadcast address 0xffff.
	Src, Dst ieee802154.Address
	PAN      ieee802154.PANID
	Version  ieee802154.FrameVersion
	// NoFCS writes link type 230 (no FCS) instead of 195.
	NoFCS bool
	// Uncompressed uses the 0x41 dispatch instead of IPHC.
	Uncompressed     bool
	ElideUDPChecksum bool
	// MeshHopsLeft, when non-zero, adds a mesh header with the frame's
	// addresses as originator and final destination (RFC 4944 §5.2).
	MeshHopsLeft uint8
}

// EncodeStats counts what Encode did.
type EncodeStats struct {
	Packets int // IPv6 packets encoded
	Frames  int // 802.15.4 frames written
	Skipped int // records that were not IPv6
	Errors  int // IPv6 packets that could not be encoded
}

// Encode reads IPv6 packets from capture in and writes them to out as
// 802.15.4 frames. A packet that cannot be encoded is counted and skipped;
// the first such error is returned at the end with the counts.
func Encode(in io.Reader, out io.Writer, opts EncodeOptions) (EncodeStats, error) {
	var st EncodeStats
	rd, err := pcapio.NewReader(in)
	if err != nil {
		return st, fmt.Errorf("pcap encode: %w", err)
	}
	lt := uint32(pcapio.LinkTypeIEEE802154WithFCS)
	if opts.NoFCS {
		lt = pcapio.LinkTypeIEEE802154NoFCS
	}
	w, err := pcapio.NewWriter(out, lt)
	if err != nil {
		return st, fmt.Errorf("pcap encode: %w", err)
	}
	z := &lowpan.Compressor{Contexts: opts.Contexts, ElideUDPChecksum: opts.ElideUDPChecksum}
	scratch := make([]byte, lowpan.ScratchSize)
	var frame []byte
	var tags lowpan.TagCounter
	var seq uint8
	var firstErr error
	for rec := 1; ; rec++ {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("pcap encode: record %d: %w", rec, err)
		}
		pkt, ok := ipv6Packet(p.LinkType, p.Data)
		if !ok {
			st.Skipped++
			continue
		}
		h := ieee802154.Header{Type: ieee802154.FrameData, Version: opts.Version, DstPAN: opts.PAN, SrcPAN: opts.PAN,
			Src: opts.Src, Dst: opts.Dst}
		if h.Src.Mode == ieee802154.AddrNone {
			h.Src = macFromIPv6(pkt[8:24], false)
		}
		if h.Dst.Mode == ieee802154.AddrNone {
			h.Dst = macFromIPv6(pkt[24:40], true)
		}
		h.AckRequest = !h.Dst.IsBroadcast()
		src, dst := lowpan.MACLinkAddr(h.Src), lowpan.MACLinkAddr(h.Dst)
		eo := &lowpan.EncodeOptions{MaxPayload: h.MaxPayload(), Tag: tags.Next(), Uncompressed: opts.Uncompressed}
		if opts.MeshHopsLeft > 0 {
			eo.Mesh = &lowpan.MeshHeader{HopsLeft: opts.MeshHopsLeft, Originator: src, Final: dst}
		}
		ts := p.Timestamp
		n, err := z.Encode(scratch, pkt, src, dst, eo, func(payload []byte) error {
			h.Seq = seq
			seq++
			var err error
			if frame, err = ieee802154.AppendFrame(frame[:0], &h, payload, !opts.NoFCS); err != nil {
				return err
			}
			ts = ts.Add(time.Microsecond) // keep fragments in order for readers that sort
			return w.WritePacket(ts, frame)
		})
		st.Frames += n
		if err != nil {
			st.Errors++
			if firstErr == nil {
				firstErr = fmt.Errorf("pcap encode: record %d: %w", rec, err)
			}
			continue
		}
		st.Packets++
	}
	return st, firstErr
}

// ipv6Packet returns the IPv6 packet in a capture record, if it holds one.
func ipv6Packet(linkType uint32, b []byte) ([]byte, bool) {
	switch linkType {
	case pcapio.LinkTypeIPv6, pcapio.LinkTypeRaw:
	case pcapio.LinkTypeEthernet:
		if len(b) < 14 {
			return nil, false
		}
		et, p := binary.BigEndian.Uint16(b[12:]), b[14:]
		for (et == 0x8100 || et == 0x88a8) && len(p) >= 4 {
			et, p = binary.BigEndian.Uint16(p[2:]), p[4:]
		}
		if et != 0x86dd {
			return nil, false
		}
		b = p
	case pcapio.LinkTypeLinuxSLL:
		if len(b) < 16 || binary.BigEndian.Uint16(b[14:]) != 0x86dd {
			return nil, false
		}
		b = b[16:]
	case pcapio.LinkTypeLinuxSLL2:
		if len(b) < 20 || binary.BigEndian.Uint16(b) != 0x86dd {
			return nil, false
		}
		b = b[20:]
	case pcapio.LinkTypeNull, pcapio.LinkTypeLoop:
		if len(b) < 4 {
			return nil, false
		}
		b = b[4:]
	default:
		return nil, false
	}
	if len(b) < 40 || b[0]>>4 != 6 {
		return nil, false
	}
	if n := 40 + int(binary.BigEndian.Uint16(b[4:])); n < len(b) {
		b = b[:n] // trailing link-layer padding
	}
	return b, true
}

// macFromIPv6 derives the MAC address whose IID is the address's (the
// inverse of RFC 4944 §6 and RFC 6282 §3.2.2).
func macFromIPv6(a []byte, dest bool) ieee802154.Address {
	if dest && a[0] == 0xff {
		return ieee802154.ShortAddress(ieee802154.BroadcastShort)
	}
	iid := a[8:16]
	if iid[0]|iid[1]|iid[2]|iid[5] == 0 && iid[3] == 0xff && iid[4] == 0xfe {
		return ieee802154.ShortAddress(ieee802154.ShortAddr(binary.BigEndian.Uint16(iid[6:])))
	}
	var e ieee802154.ExtAddr
	copy(e[:], iid)
	e[0] ^= 0x02
	return ieee802154.ExtAddress(e)
}
