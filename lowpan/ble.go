package lowpan

import (
	"fmt"
	"net/netip"
)

// Registrations tells the RFC 7668 codec which address a node registered
// last under a prefix (RFC 6775/8505 address registration, the NA with
// status success). The 6LBR answers from its registry, a node from its own
// registrations.
type Registrations interface {
	// LatestRegistered returns the address node registered last under
	// prefix, and whether there is one.
	LatestRegistered(node LinkAddr, prefix netip.Prefix) (netip.Addr, bool)
}

// BLEMTU is the IPv6 MTU of an RFC 7668 link; L2CAP segments the SDU, so
// there is no 6LoWPAN fragmentation (RFC 7668 §2.4, §3.2).
const BLEMTU = 1280

// BLECodec compresses and decompresses IPv6 datagrams for an IPv6 over
// Bluetooth LE link (RFC 7668, RFC 9159): one IPHC-encoded datagram per
// L2CAP SDU, IIDs derived from 48-bit device addresses (RFC 7668 §3.2.2),
// no fragmentation and no mesh header. With Registrations set, it applies
// the address elision of RFC 7668 §3.2.4 and RFC 9159 §3.3.3: a node's
// non-link-local address under a context is fully elided (SAC/DAC=1,
// SAM/DAM=11) when it is the address that node registered last under that
// prefix, and carried in 16 bits (SAM/DAM=10) when it shares the first 48
// bits of its IID with it. Link-local addresses derived from the device
// address are elided as in RFC 6282.
type BLECodec struct {
	Contexts         *ContextTable
	Registered       Registrations
	ElideUDPChecksum bool
}

// Compress writes the IPHC-encoded datagram for one L2CAP SDU into out.
// src and dst are the link's two device addresses (LinkAddrBLE).
func (b *BLECodec) Compress(out, pkt []byte, src, dst LinkAddr) (int, error) {
	if len(pkt) > BLEMTU {
		return 0, fmt.Errorf("lowpan: BLE: %d octets exceed the %d-octet link MTU: %w", len(pkt), BLEMTU, ErrTooBig)
	}
	z := Compressor{Contexts: b.Contexts, ElideUDPChecksum: b.ElideUDPChecksum}
	n, p, _, err := z.compressHeaders(out, pkt, src, dst, -1, b.Registered, false)
	if err != nil {
		return 0, err
	}
	if len(out)-n < len(pkt)-p {
		return 0, fmt.Errorf("lowpan: BLE: %w", ErrBufferTooSmall)
	}
	return n + copy(out[n:], pkt[p:]), nil
}

// Decompress expands one L2CAP SDU into an IPv6 packet. Only IPHC is
// accepted: RFC 7668 §3.2 uses neither fragmentation nor mesh headers, and
// requires all headers to be compressed.
func (b *BLECodec) Decompress(out, sdu []byte, src, dst LinkAddr) (int, error) {
	if !IsIPHC(sdu) {
		if len(sdu) == 0 {
			return 0, fmt.Errorf("lowpan: BLE: empty SDU: %w", ErrTruncated)
		}
		return 0, fmt.Errorf("lowpan: BLE: dispatch 0x%02x: only IPHC is used on RFC 7668 links: %w", sdu[0], ErrReserved)
	}
	w, r, fx, err := decompressHeaders(out, sdu, src, dst, decodeParams{contexts: b.Contexts, reg: b.Registered})
	if err != nil {
		return 0, err
	}
	n := w + len(sdu) - r
	if len(out) < n {
		return 0, fmt.Errorf("lowpan: BLE: %w", ErrBufferTooSmall)
	}
	copy(out[w:], sdu[r:])
	if err := fx.apply(out[:n]); err != nil {
		return 0, err
	}
	return n, nil
}

// contextChoice finds the smallest encoding of a under context e. With
// registrations (RFC 7668 §3.2.4), SAM/DAM=11 and 10 refer to the address
// the node at ll registered last under the context's prefix, not to its
// link-layer address.
func (c *compressor) contextChoice(a *[16]byte, ll LinkAddr, e *contextEntry) (addrChoice, bool) {
	if c.reg == nil {
		return contextUnicast(a, ll, e)
	}
	r, ok := c.reg.LatestRegistered(ll, e.asPrefix())
	if !ok {
		return contextUnicast(a, ll, e)
	}
	reg := r.As16()
	ch := addrChoice{stateful: true}
	if reg == *a {
		ch.mode = samElided
		return ch, true
	}
	// SAM/DAM=10: the first 48 IID bits from the registered address, 16
	// inline, bits covered by the context from it, the rest zero — built
	// exactly as the decompressor will.
	var rb [16]byte
	if [6]byte(reg[8:14]) == [6]byte(a[8:14]) {
		copy(rb[8:14], reg[8:14])
		rb[14], rb[15] = a[14], a[15]
		if overlay(&rb, &e.prefix, e.bits); rb == *a {
			ch.mode, ch.n = sam16, 2
			ch.inline[0], ch.inline[1] = a[14], a[15]
			return ch, true
		}
		rb = [16]byte{}
	}
	copy(rb[8:], a[8:])
	clear(rb[:8])
	if overlay(&rb, &e.prefix, e.bits); rb == *a {
		ch.mode, ch.n = sam64, 8
		copy(ch.inline[:], a[8:])
		return ch, true
	}
	return ch, false
}
