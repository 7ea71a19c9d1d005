package lowpan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// MaxContexts is the number of contexts IPHC can name: a 4-bit CID
// (RFC 6282 §3.1.1).
const MaxContexts = 16

// Context is one entry of the compression context table: a prefix shared by
// the 6LoWPAN (advertised in a 6LoWPAN Context Option, RFC 6775 §4.2).
type Context struct {
	// Prefix may be 0 to 128 bits long. Bits beyond 64 override the IID
	// derived from the link-layer address (RFC 6282 §3.1.1).
	Prefix netip.Prefix
	// Compress is the 6CO C flag: when false the context is still used to
	// decompress but no longer to compress (RFC 6775 §7.2, the life cycle of
	// a context being withdrawn).
	Compress bool
}

type contextEntry struct {
	prefix   [16]byte // masked to bits
	bits     int
	valid    bool
	compress bool
}

// ContextTable holds the 16 IPHC contexts. It is safe for concurrent use;
// the per-packet paths take a read lock only.
type ContextTable struct {
	mu      sync.RWMutex
	entries [MaxContexts]contextEntry
	rpl     rplReference
}

// Set installs context id.
func (t *ContextTable) Set(id int, c Context) error {
	if id < 0 || id >= MaxContexts {
		return fmt.Errorf("lowpan: context id %d: must be 0..15", id)
	}
	if !c.Prefix.IsValid() || !c.Prefix.Addr().Is6() || c.Prefix.Addr().Is4In6() {
		return fmt.Errorf("lowpan: context %d: %v is not an IPv6 prefix", id, c.Prefix)
	}
	p := c.Prefix.Masked()
	t.mu.Lock()
	t.entries[id] = contextEntry{prefix: p.Addr().As16(), bits: p.Bits(), valid: true, compress: c.Compress}
	t.mu.Unlock()
	return nil
}

// Remove deletes context id.
func (t *ContextTable) Remove(id int) {
	if id < 0 || id >= MaxContexts {
		return
	}
	t.mu.Lock()
	t.entries[id] = contextEntry{}
	t.mu.Unlock()
}

// Get returns context id and whether it is set.
func (t *ContextTable) Get(id int) (Context, bool) {
	if t == nil || id < 0 || id >= MaxContexts {
		return Context{}, false
	}
	t.mu.RLock()
	e := t.entries[id]
	t.mu.RUnlock()
	if !e.valid {
		return Context{}, false
	}
	return Context{Prefix: netip.PrefixFrom(netip.AddrFrom16(e.prefix), e.bits), Compress: e.compress}, true
}

// RPLReference is what RFC 8138 (6LoRH) compression needs to know of the
// RPL DODAG the 6LoWPAN carries, shared like the contexts by compressor
// and decompressor.
type RPLReference struct {
	// Root is the DODAG root's address. RFC 8138 §7: an IP-in-IP 6LoRH
	// whose encapsulator is the root elides its address, and a shorter one
	// is compressed against it; the first address of an SRH-6LoRH is
	// compressed against the packet's source, in a tunnel the encapsulator
	// (RFC 8138 §5.4); a tunnel going up ends here implicitly (§7). Unset:
	// the compressor never elides the encapsulator and the decompressor
	// refuses an elided or partial one (ErrUnknownContext).
	Root netip.Addr
	// RPIType is the Hop-by-Hop option type an RPI-6LoRH decompresses to:
	// RFC 9008 §4.3 makes it the type active in the instance, 0x23 when the
	// DODAG Configuration option's D flag is set, 0x63 otherwise (also the
	// value used when this is 0). The compressor compresses only an RPI of
	// this type, so that decompression gives back the same octets.
	RPIType uint8
	// Storing is set when the DODAG runs in a Storing mode (MOP 2 or 3,
	// RFC 6550 §6.3.1). RFC 8138 §7 lets a tunnel going down elide its
	// outer destination when it is the inner one only in Storing mode;
	// unset, the compressor carries it as an SRH-6LoRH entry, which is
	// valid in both modes. The decompressor reads either form.
	Storing bool
}

type rplReference struct {
	root    [16]byte
	hasRoot bool
	rpiType uint8
	storing bool
}

// RPI option types (RFC 6553 §6; RFC 9008 §4.2 renumbered it).
const (
	rpiType6553 = 0x63
	rpiType9008 = 0x23
)

// SetRPL installs the RPL reference used by RFC 8138 compression.
func (t *ContextTable) SetRPL(r RPLReference) error {
	var e rplReference
	if r.Root.IsValid() {
		if !r.Root.Is6() || r.Root.Is4In6() {
			return fmt.Errorf("lowpan: RPL root %v is not an IPv6 address", r.Root)
		}
		e.root, e.hasRoot = r.Root.As16(), true
	}
	switch r.RPIType {
	case 0, rpiType6553:
		e.rpiType = rpiType6553
	case rpiType9008:
		e.rpiType = rpiType9008
	default:
		return fmt.Errorf("lowpan: RPI option type 0x%02x: want 0x63 or 0x23", r.RPIType)
	}
	e.storing = r.Storing
	t.mu.Lock()
	t.rpl = e
	t.mu.Unlock()
	return nil
}

// RPL returns the RPL reference (RPIType 0x63 when never set).
func (t *ContextTable) RPL() RPLReference {
	r := t.rplRef()
	var out RPLReference
	if r.hasRoot {
		out.Root = netip.AddrFrom16(r.root)
	}
	out.RPIType = r.rpiType
	out.Storing = r.storing
	return out
}

// rplRef returns the RPL reference with the default RPI type filled in.
func (t *ContextTable) rplRef() rplReference {
	var r rplReference
	if t != nil {
		t.mu.RLock()
		r = t.rpl
		t.mu.RUnlock()
	}
	if r.rpiType == 0 {
		r.rpiType = rpiType6553
	}
	return r
}

// snapshot copies the table so a packet is coded against one consistent
// view without holding the lock. The copy lives on the caller's stack.
func (t *ContextTable) snapshot(dst *[MaxContexts]contextEntry) {
	if t == nil {
		*dst = [MaxContexts]contextEntry{}
		return
	}
	t.mu.RLock()
	*dst = t.entries
	t.mu.RUnlock()
}

// lookup returns the entry for id (decompression: any valid context).
func (t *ContextTable) lookup(id uint8) (contextEntry, bool) {
	if t == nil || id >= MaxContexts {
		return contextEntry{}, false
	}
	t.mu.RLock()
	e := t.entries[id]
	t.mu.RUnlock()
	return e, e.valid
}

// overlay writes the first bits of prefix over addr: "bits covered by
// context information are always used" (RFC 6282 §3.1.1).
func overlay(addr *[16]byte, prefix *[16]byte, bits int) {
	full := bits / 8
	copy(addr[:full], prefix[:full])
	if rem := bits % 8; rem != 0 {
		mask := byte(0xff << (8 - rem))
		addr[full] = (prefix[full] & mask) | (addr[full] &^ mask)
	}
}

func (e *contextEntry) asPrefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16(e.prefix), e.bits)
}

// ParseContext parses a context given as "ID=PREFIX", e.g.
// "0=2001:db8:1::/64" (the form of the --context flag and of the
// configuration file). The context may be used for compression.
func ParseContext(spec string) (int, Context, error) {
	idStr, prefix, ok := strings.Cut(spec, "=")
	if !ok {
		return 0, Context{}, fmt.Errorf("context %q: want ID=PREFIX, e.g. 0=2001:db8:1::/64", spec)
	}
	id, err := strconv.Atoi(strings.TrimSpace(idStr))
	if err != nil || id < 0 || id >= MaxContexts {
		return 0, Context{}, fmt.Errorf("context %q: ID %q must be 0..15", spec, idStr)
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(prefix))
	if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
		return 0, Context{}, fmt.Errorf("context %q: %q is not an IPv6 prefix", spec, prefix)
	}
	return id, Context{Prefix: p.Masked(), Compress: true}, nil
}
