package rpl

import (
	"encoding/binary"
	"fmt"
)

// Hop-by-Hop option types of the RPL Option (RPI).
//
// RFC 6553 §6 assigned 0x63: action bits 01 ("discard the packet if the
// option is not recognised") and the change bit set. RFC 9008 §4.2
// renumbered it 0x23 (action bits 00, "skip over the option"), so that a
// node that does not know RPL forwards the packet instead of dropping it;
// the DODAG Configuration option's D flag (ConfigFlagD) tells the nodes
// which one the instance uses. Receivers accept both.
const (
	OptionTypeRPI6553 = 0x63
	OptionTypeRPI9008 = 0x23
)

// RPI flags (RFC 6553 §6).
const (
	RPIFlagO = 0x80 // Down: the packet travels down the DODAG
	RPIFlagR = 0x40 // Rank-Error: a rank inconsistency was seen (§6, RFC 6550 §11.2)
	RPIFlagF = 0x20 // Forwarding-Error: a node could not forward downwards
)

const (
	rpiDataLen = 4 // RFC 6553 §6: flags, instance, sender rank
	rpiLen     = optHdr + rpiDataLen
	hbhHdr     = 2 // RFC 8200 §4.3: Next Header, Hdr Ext Len
	ip6Pad1    = 0
	ip6PadN    = 1
)

// RPLOption is the RPL Option carried in a Hop-by-Hop Options header
// (RFC 6553 §6):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Option Type  |  Opt Data Len |O|R|F|0|0|0|0|0| RPLInstanceID |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          SenderRank           |   (sub-TLVs)
//
// The setters change the flags and rank in place, as each router on the
// path does (RFC 6553 §5: the option's change bit says so).
type RPLOption []byte

// Validate checks the option type and length.
func (o RPLOption) Validate() error {
	if len(o) < rpiLen || int(o[1])+optHdr != len(o) || int(o[1]) < rpiDataLen {
		return fmt.Errorf("rpl: RFC 6553 §6: RPL Option of %d octets: %w", len(o), ErrTruncated)
	}
	if o[0] != OptionTypeRPI6553 && o[0] != OptionTypeRPI9008 {
		return fmt.Errorf("rpl: option type 0x%02x is not the RPL Option: %w", o[0], ErrNotRPL)
	}
	return nil
}

// Type returns the option type (0x63 or 0x23).
func (o RPLOption) Type() uint8 { return o[0] }

// Flags returns the O, R, F flags octet.
func (o RPLOption) Flags() uint8 { return o[2] }

// Down returns the O flag.
func (o RPLOption) Down() bool { return o[2]&RPIFlagO != 0 }

// RankError returns the R flag.
func (o RPLOption) RankError() bool { return o[2]&RPIFlagR != 0 }

// ForwardingError returns the F flag.
func (o RPLOption) ForwardingError() bool { return o[2]&RPIFlagF != 0 }

// Instance returns the RPLInstanceID.
func (o RPLOption) Instance() uint8 { return o[3] }

// SenderRank returns the rank of the node that last sent the packet.
func (o RPLOption) SenderRank() uint16 { return binary.BigEndian.Uint16(o[4:]) }

// SetFlags sets the O, R, F flags (the other bits stay zero).
func (o RPLOption) SetFlags(f uint8) { o[2] = f & (RPIFlagO | RPIFlagR | RPIFlagF) }

// SetSenderRank sets the sender rank.
func (o RPLOption) SetSenderRank(r uint16) { binary.BigEndian.PutUint16(o[4:], r) }

// RPIFields are the values AppendRPLOption writes.
type RPIFields struct {
	Type       uint8 // OptionTypeRPI6553 or OptionTypeRPI9008
	Flags      uint8 // RPIFlagO | RPIFlagR | RPIFlagF
	Instance   uint8
	SenderRank uint16
}

// AppendRPLOption appends a 6-octet RPL Option with no sub-TLVs.
func AppendRPLOption(b []byte, f *RPIFields) ([]byte, error) {
	if f.Type != OptionTypeRPI6553 && f.Type != OptionTypeRPI9008 {
		return b, errEncodeRPIType
	}
	b = append(b, f.Type, rpiDataLen, f.Flags&(RPIFlagO|RPIFlagR|RPIFlagF), f.Instance)
	return binary.BigEndian.AppendUint16(b, f.SenderRank), nil
}

// AppendHopByHopRPI appends a whole Hop-by-Hop Options header (RFC 8200
// §4.3) holding only the RPL Option: 2 + 6 octets, exactly one 8-octet
// unit, so no padding is needed.
func AppendHopByHopRPI(b []byte, nextHeader uint8, f *RPIFields) ([]byte, error) {
	return AppendRPLOption(append(b, nextHeader, 0), f)
}

// FindRPLOption walks a Hop-by-Hop Options header (hbh: the whole header,
// Next Header and Hdr Ext Len included) and returns its RPL Option, or nil
// when there is none. It checks the header's framing and the RPL Option's
// length.
func FindRPLOption(hbh []byte) (RPLOption, error) {
	if len(hbh) < hbhHdr {
		return nil, fmt.Errorf("rpl: Hop-by-Hop header of %d octets: %w", len(hbh), ErrTruncated)
	}
	n := (int(hbh[1]) + 1) * 8
	if n > len(hbh) {
		return nil, fmt.Errorf("rpl: RFC 8200 §4.3: Hop-by-Hop header says %d octets, has %d: %w", n, len(hbh), ErrTruncated)
	}
	opts := hbh[hbhHdr:n]
	for len(opts) > 0 {
		if opts[0] == ip6Pad1 {
			opts = opts[1:]
			continue
		}
		if len(opts) < optHdr || optHdr+int(opts[1]) > len(opts) {
			return nil, fmt.Errorf("rpl: RFC 8200 §4.2: option runs past the Hop-by-Hop header: %w", ErrTruncated)
		}
		l := optHdr + int(opts[1])
		if opts[0] == OptionTypeRPI6553 || opts[0] == OptionTypeRPI9008 {
			o := RPLOption(opts[:l:l])
			if err := o.Validate(); err != nil {
				return nil, err
			}
			return o, nil
		}
		opts = opts[l:]
	}
	return nil, nil
}
