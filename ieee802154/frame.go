package ieee802154

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxPSDU is aMaxPhyPacketSize, the PHY constant that bounds the PSDU
// (FCS included) for the 2.4 GHz O-QPSK PHY of IEEE 802.15.4-2006/-2015.
const MaxPSDU = 127

// Sentinel errors. Every error this package returns wraps one (or, for a
// reserved frame type, two) of these, so callers test with errors.Is.
var (
	// ErrTruncated: the frame (or a field inside it) ends early.
	ErrTruncated = errors.New("truncated")
	// ErrBadFCS: the frame check sequence does not match the frame.
	ErrBadFCS = errors.New("bad FCS")
	// ErrReserved: a field holds a value the standard reserves.
	ErrReserved = errors.New("reserved value")
	// ErrUnsupported: a legal frame this package does not handle
	// (multipurpose, fragment, extended frame types; 2003 security).
	ErrUnsupported = errors.New("unsupported")
	// ErrBadIE: an information element list is malformed.
	ErrBadIE = errors.New("malformed information element")
	// ErrTooLong: the frame would exceed, or exceeds, MaxPSDU.
	ErrTooLong = errors.New("frame too long")
	// ErrInvalid: a combination of fields the standard forbids, or a Header
	// field out of its range.
	ErrInvalid = errors.New("invalid field combination")
	// ErrShortBuffer: the buffer handed to Encode is smaller than Len.
	ErrShortBuffer = errors.New("buffer too small")
)

// FrameType is the Frame Type subfield (IEEE 802.15.4-2015 §7.2.1.1).
type FrameType uint8

// Frame types. This package handles the first four; 4 is reserved and 5–7
// have frame formats of their own (2015 §7.3.5–7.3.7) that it does not parse.
const (
	FrameBeacon       FrameType = 0
	FrameData         FrameType = 1
	FrameAck          FrameType = 2
	FrameCommand      FrameType = 3
	FrameReserved     FrameType = 4
	FrameMultipurpose FrameType = 5
	FrameFragment     FrameType = 6 // fragment or Frak (802.15.4-2015 LECIM)
	FrameExtended     FrameType = 7
)

var frameTypeNames = [...]string{"beacon", "data", "ack", "command", "reserved", "multipurpose", "fragment", "extended"}

func (t FrameType) String() string {
	if int(t) < len(frameTypeNames) {
		return frameTypeNames[t]
	}
	return fmt.Sprintf("FrameType(%d)", uint8(t))
}

// FrameVersion is the Frame Version subfield (2015 §7.2.1.9).
type FrameVersion uint8

// Frame versions. 3 is reserved.
const (
	Version2003 FrameVersion = 0
	Version2006 FrameVersion = 1
	Version2015 FrameVersion = 2
)

func (v FrameVersion) String() string {
	switch v {
	case Version2003:
		return "2003"
	case Version2006:
		return "2006"
	case Version2015:
		return "2015"
	}
	return fmt.Sprintf("FrameVersion(%d)", uint8(v))
}

// AddrMode is the Destination/Source Addressing Mode subfield
// (2015 §7.2.1.8, §7.2.1.10).
type AddrMode uint8

// Addressing modes. 1 is reserved for the frame types handled here.
const (
	AddrNone     AddrMode = 0
	AddrReserved AddrMode = 1
	AddrShort    AddrMode = 2
	AddrExtended AddrMode = 3
)

func (m AddrMode) String() string {
	switch m {
	case AddrNone:
		return "none"
	case AddrReserved:
		return "reserved"
	case AddrShort:
		return "short"
	case AddrExtended:
		return "extended"
	}
	return fmt.Sprintf("AddrMode(%d)", uint8(m))
}

// Frame control field layout (2015 §7.2.1; 2006 §7.2.1.1).
// It is sent little-endian; bits 7 (and in 2003/2006 also 8
// and 9) are reserved.
const (
	fcTypeMask         = 0x0007
	fcSecurityEnabled  = 1 << 3
	fcFramePending     = 1 << 4
	fcAckRequest       = 1 << 5
	fcPANIDCompression = 1 << 6
	fcSeqSuppression   = 1 << 8 // 2015 only
	fcIEPresent        = 1 << 9 // 2015 only
	fcDstModeShift     = 10
	fcVersionShift     = 12
	fcSrcModeShift     = 14
	fcTwoBitMask       = 0x3
)

// Field sizes of the MAC header (2015 §7.2).
const (
	fcLen        = 2
	seqLen       = 1
	panIDLen     = 2
	shortAddrLen = 2
	extAddrLen   = 8
	fcsLen       = 2
)

// FrameControl is the 16-bit frame control field as read from the air
// (2015 §7.2.1). Its accessors do no validation; Frame.Decode does that.
type FrameControl uint16

// Type returns the Frame Type subfield.
func (fc FrameControl) Type() FrameType { return FrameType(fc & fcTypeMask) }

// SecurityEnabled returns the Security Enabled bit.
func (fc FrameControl) SecurityEnabled() bool { return fc&fcSecurityEnabled != 0 }

// FramePending returns the Frame Pending bit.
func (fc FrameControl) FramePending() bool { return fc&fcFramePending != 0 }

// AckRequest returns the AR bit.
func (fc FrameControl) AckRequest() bool { return fc&fcAckRequest != 0 }

// PANIDCompression returns the PAN ID Compression bit.
func (fc FrameControl) PANIDCompression() bool { return fc&fcPANIDCompression != 0 }

// SeqSuppressed returns bit 8, the Sequence Number Suppression bit in 2015
// frames (reserved before).
func (fc FrameControl) SeqSuppressed() bool { return fc&fcSeqSuppression != 0 }

// IEPresent returns bit 9, the IE Present bit in 2015 frames (reserved before).
func (fc FrameControl) IEPresent() bool { return fc&fcIEPresent != 0 }

// DstMode returns the Destination Addressing Mode subfield.
func (fc FrameControl) DstMode() AddrMode { return AddrMode(fc >> fcDstModeShift & fcTwoBitMask) }

// Version returns the Frame Version subfield.
func (fc FrameControl) Version() FrameVersion {
	return FrameVersion(fc >> fcVersionShift & fcTwoBitMask)
}

// SrcMode returns the Source Addressing Mode subfield.
func (fc FrameControl) SrcMode() AddrMode { return AddrMode(fc >> fcSrcModeShift & fcTwoBitMask) }

// PANID is a 16-bit PAN identifier.
type PANID uint16

// ShortAddr is a 16-bit short address.
type ShortAddr uint16

// Well-known values (the MAC PIB attributes macShortAddress and macPANId).
const (
	BroadcastShort ShortAddr = 0xffff
	// UnassignedShort (0xfffe) in macShortAddress means the device has
	// no short address and uses its extended address.
	UnassignedShort ShortAddr = 0xfffe
	BroadcastPAN    PANID     = 0xffff
)

// Address is a MAC address as carried in the header.
type Address struct {
	Mode  AddrMode
	Short ShortAddr // valid when Mode == AddrShort
	Ext   ExtAddr   // valid when Mode == AddrExtended, canonical order
}

// ShortAddress returns an Address holding a short address.
func ShortAddress(a ShortAddr) Address { return Address{Mode: AddrShort, Short: a} }

// ExtAddress returns an Address holding an extended address.
func ExtAddress(a ExtAddr) Address { return Address{Mode: AddrExtended, Ext: a} }

// IsBroadcast reports whether a is the broadcast short address 0xffff.
func (a Address) IsBroadcast() bool { return a.Mode == AddrShort && a.Short == BroadcastShort }

func (a Address) String() string {
	switch a.Mode {
	case AddrNone:
		return "none"
	case AddrShort:
		return fmt.Sprintf("0x%04x", uint16(a.Short))
	case AddrExtended:
		return a.Ext.String()
	}
	return a.Mode.String()
}

// addrLen is the size on the air of an address of mode m; reserved and
// out-of-range modes count as absent (the caller rejects them).
func addrLen(m AddrMode) int {
	switch m {
	case AddrShort:
		return shortAddrLen
	case AddrExtended:
		return extAddrLen
	}
	return 0
}

// Header is a decoded MAC header: frame control, sequence number, addressing
// fields and auxiliary security header (2015 §7.2). Header IEs
// are not part of it; see Frame.
type Header struct {
	Type    FrameType
	Version FrameVersion

	SecurityEnabled bool
	FramePending    bool
	AckRequest      bool

	// PANIDCompression is the bit as on the air: filled by Decode;
	// Encode computes it (from the address modes, PAN IDs and
	// ForcePANIDCompression) and does not read it.
	PANIDCompression bool

	// ForcePANIDCompression (2015 frames only) selects the rows of
	// IEEE 802.15.4-2015 Table 7-2 in which the PAN ID Compression bit
	// does not mean "one PAN ID for both addresses": with no address the
	// bit adds a destination PAN ID; with one address, or two extended
	// addresses, it removes every PAN ID (the receiver assumes its own).
	// Encode reads it only in those rows and rejects it in 2003/2006
	// frames; Decode sets it when a frame uses one of those rows with the
	// bit set, so that re-encoding a decoded header gives the same frame.
	ForcePANIDCompression bool

	// SeqSuppressed: no sequence number field (2015 §7.2.1.6). 2015 only.
	SeqSuppressed bool
	// IEPresent: an IE field follows the MAC header (2015 §7.2.1.7).
	// 2015 only.
	IEPresent bool
	// Seq is the sequence number; zero when SeqSuppressed.
	Seq uint8

	// DstPANPresent and SrcPANPresent say which PAN ID fields are on the
	// air: filled by Decode, computed by Encode.
	DstPANPresent, SrcPANPresent bool
	// DstPAN and SrcPAN are the PAN IDs. When the source PAN ID is elided
	// because it equals the destination's (2003/2006 compression, 2015
	// Table 7-2), Decode copies DstPAN into SrcPAN, so SrcPAN is always the
	// source's PAN when it is known. Encode carries one PAN ID for both
	// addresses exactly when DstPAN == SrcPAN: set both for intra-PAN
	// frames.
	DstPAN, SrcPAN PANID

	Dst, Src Address

	// Security is the auxiliary security header, valid when
	// SecurityEnabled.
	Security AuxSecurityHeader
}

// panIDFields reports which PAN ID fields a frame carries, given the
// version, the address modes and the PAN ID Compression bit. ok is false
// for combinations the standard does not define.
func panIDFields(v FrameVersion, dst, src AddrMode, comp bool) (dstPAN, srcPAN, ok bool) {
	hasDst, hasSrc := dst != AddrNone, src != AddrNone
	if v != Version2015 {
		// 2006 §7.2.1.1.5: with both addresses, the bit set means the
		// source PAN ID is omitted (it equals the destination's); with
		// fewer than two addresses the bit shall be 0 and each address
		// carries its own PAN ID.
		if hasDst && hasSrc {
			return true, !comp, true
		}
		if comp {
			return false, false, false
		}
		return hasDst, hasSrc, true
	}
	// 2015 §7.2.1.5, Table 7-2.
	switch {
	case !hasDst && !hasSrc: // rows 1, 2
		return comp, false, true
	case hasDst && !hasSrc: // rows 3, 4
		return !comp, false, true
	case !hasDst && hasSrc: // rows 5, 6
		return false, !comp, true
	case dst == AddrExtended && src == AddrExtended: // rows 7, 8
		return !comp, false, true
	default: // rows 9-14: at least one short address
		return true, !comp, true
	}
}

// bitMeansEqualPANs reports whether, in this version and with these modes,
// the PAN ID Compression bit means "the source PAN ID equals the
// destination's and is omitted" (as opposed to the 2015 rows where it adds
// or removes PAN IDs regardless of their values).
func bitMeansEqualPANs(v FrameVersion, dst, src AddrMode) bool {
	if dst == AddrNone || src == AddrNone {
		return false
	}
	if v == Version2015 && dst == AddrExtended && src == AddrExtended {
		return false
	}
	return true
}

// Static errors for Encode and Decode: the receive path returns these
// without allocating, even for garbage input.
var (
	errTypeReserved     = fmt.Errorf("ieee802154: frame type 4 is reserved (2015 §7.2.1.1): %w, %w", ErrReserved, ErrUnsupported)
	errTypeMultipurpose = fmt.Errorf("ieee802154: multipurpose frames (type 5) are not handled: %w", ErrUnsupported)
	errTypeFragment     = fmt.Errorf("ieee802154: fragment/Frak frames (type 6) are not handled: %w", ErrUnsupported)
	errTypeExtended     = fmt.Errorf("ieee802154: extended frames (type 7) are not handled: %w", ErrUnsupported)
	errTypeRange        = fmt.Errorf("ieee802154: frame type out of range: %w", ErrInvalid)
	errVersionReserved  = fmt.Errorf("ieee802154: frame version 3 is reserved (2015 §7.2.1.9): %w", ErrReserved)
	errVersionRange     = fmt.Errorf("ieee802154: frame version out of range: %w", ErrInvalid)
	errDstModeReserved  = fmt.Errorf("ieee802154: destination addressing mode 1 is reserved (2015 §7.2.1.8): %w", ErrReserved)
	errSrcModeReserved  = fmt.Errorf("ieee802154: source addressing mode 1 is reserved (2015 §7.2.1.10): %w", ErrReserved)
	errModeRange        = fmt.Errorf("ieee802154: addressing mode out of range: %w", ErrInvalid)
	errCompression2006  = fmt.Errorf("ieee802154: PAN ID compression set without both addresses in a 2003/2006 frame (2006 §7.2.1.1.5): %w", ErrInvalid)
	errForce2006        = fmt.Errorf("ieee802154: ForcePANIDCompression applies to 2015 frames only: %w", ErrInvalid)
	errTwoPANsExtExt    = fmt.Errorf("ieee802154: 2015 frames with two extended addresses carry at most one PAN ID (2015 Table 7-2); set SrcPAN = DstPAN: %w", ErrInvalid)
	errSeqSuppression   = fmt.Errorf("ieee802154: sequence number suppression needs frame version 2015 (2015 §7.2.1.6): %w", ErrInvalid)
	errIEPresent        = fmt.Errorf("ieee802154: IE Present needs frame version 2015 (2015 §7.2.1.7): %w", ErrInvalid)
	errSecurity2003     = fmt.Errorf("ieee802154: 802.15.4-2003 security (no auxiliary security header) is not handled: %w", ErrUnsupported)
	errSecurityLevel    = fmt.Errorf("ieee802154: security level out of range 0-7: %w", ErrInvalid)
	errKeyIDMode        = fmt.Errorf("ieee802154: key identifier mode out of range 0-3: %w", ErrInvalid)
	errSecurity2015Only = fmt.Errorf("ieee802154: frame counter suppression and ASN in nonce need frame version 2015 (2015 §9.4.2): %w", ErrInvalid)
	errEncodeShort      = fmt.Errorf("ieee802154: encode: %w", ErrShortBuffer)
	errPayloadTooLong   = fmt.Errorf("ieee802154: payload exceeds MaxPayload: %w", ErrTooLong)
)

func checkType(t FrameType) error {
	switch {
	case t <= FrameCommand:
		return nil
	case t == FrameReserved:
		return errTypeReserved
	case t == FrameMultipurpose:
		return errTypeMultipurpose
	case t == FrameFragment:
		return errTypeFragment
	case t == FrameExtended:
		return errTypeExtended
	}
	return errTypeRange
}

func checkVersion(v FrameVersion) error {
	switch {
	case v <= Version2015:
		return nil
	case v == 3:
		return errVersionReserved
	}
	return errVersionRange
}

func checkModes(dst, src AddrMode) error {
	switch {
	case dst > AddrExtended || src > AddrExtended:
		return errModeRange
	case dst == AddrReserved:
		return errDstModeReserved
	case src == AddrReserved:
		return errSrcModeReserved
	}
	return nil
}

// layout validates h and computes what Encode writes: the frame control
// field, which PAN IDs are present and the header length. On error the
// length is still a best estimate, which is what Len reports.
func (h *Header) layout() (fc FrameControl, dstPAN, srcPAN bool, n int, err error) {
	// Presence first, so that Len has an answer even for a bad header.
	comp := false
	if bitMeansEqualPANs(h.Version, h.Dst.Mode, h.Src.Mode) {
		comp = h.DstPAN == h.SrcPAN
	} else if h.Version == Version2015 {
		comp = h.ForcePANIDCompression
	}
	dstPAN, srcPAN, _ = panIDFields(h.Version, h.Dst.Mode, h.Src.Mode, comp)
	n = fcLen
	if !(h.SeqSuppressed && h.Version == Version2015) {
		n += seqLen
	}
	if dstPAN {
		n += panIDLen
	}
	if srcPAN {
		n += panIDLen
	}
	n += addrLen(h.Dst.Mode) + addrLen(h.Src.Mode)
	if h.SecurityEnabled {
		n += h.Security.Len()
	}

	switch {
	case checkType(h.Type) != nil:
		err = checkType(h.Type)
	case checkVersion(h.Version) != nil:
		err = checkVersion(h.Version)
	case checkModes(h.Dst.Mode, h.Src.Mode) != nil:
		err = checkModes(h.Dst.Mode, h.Src.Mode)
	case h.Version != Version2015 && h.ForcePANIDCompression:
		err = errForce2006
	case h.Version != Version2015 && h.SeqSuppressed:
		err = errSeqSuppression
	case h.Version != Version2015 && h.IEPresent:
		err = errIEPresent
	case h.Version == Version2015 && h.Dst.Mode == AddrExtended && h.Src.Mode == AddrExtended &&
		!h.ForcePANIDCompression && h.DstPAN != h.SrcPAN:
		err = errTwoPANsExtExt
	case h.SecurityEnabled:
		err = h.Security.check(h.Version)
	}
	if err != nil {
		return 0, dstPAN, srcPAN, n, err
	}

	fc = FrameControl(h.Type) |
		FrameControl(h.Dst.Mode)<<fcDstModeShift |
		FrameControl(h.Version)<<fcVersionShift |
		FrameControl(h.Src.Mode)<<fcSrcModeShift
	if h.SecurityEnabled {
		fc |= fcSecurityEnabled
	}
	if h.FramePending {
		fc |= fcFramePending
	}
	if h.AckRequest {
		fc |= fcAckRequest
	}
	if comp {
		fc |= fcPANIDCompression
	}
	if h.SeqSuppressed {
		fc |= fcSeqSuppression
	}
	if h.IEPresent {
		fc |= fcIEPresent
	}
	return fc, dstPAN, srcPAN, n, nil
}

// Len returns the length of the header Encode writes: frame control through
// auxiliary security header. It does not validate h (Encode does); for an
// invalid header it is a best estimate.
func (h *Header) Len() int {
	_, _, _, n, _ := h.layout()
	return n
}

// MaxPayload returns the room left for the MAC payload (IE field included)
// in a MaxPSDU frame with this header: 127 − FCS − Len − MIC.
func (h *Header) MaxPayload() int {
	n := MaxPSDU - fcsLen - h.Len()
	if h.SecurityEnabled {
		n -= h.Security.MICLen()
	}
	return n
}

// Encode writes the header into b and returns the number of bytes written.
// It picks the most compact PAN ID encoding the version allows: one PAN ID
// when DstPAN == SrcPAN and both addresses are present, both when they
// differ (an error in 2015 frames with two extended addresses, which Table
// 7-2 cannot express), and for a single address that address's PAN ID. It
// returns an error, never panics, for a too-small buffer or a header the
// standard forbids.
func (h *Header) Encode(b []byte) (int, error) {
	fc, dstPAN, srcPAN, n, err := h.layout()
	if err != nil {
		return 0, err
	}
	if len(b) < n {
		return 0, errEncodeShort
	}
	return h.encode(b, fc, dstPAN, srcPAN), nil
}

// encode writes the header as layout computed it into b, which has room.
func (h *Header) encode(b []byte, fc FrameControl, dstPAN, srcPAN bool) int {
	binary.LittleEndian.PutUint16(b, uint16(fc))
	i := fcLen
	if !h.SeqSuppressed {
		b[i] = h.Seq
		i += seqLen
	}
	if dstPAN {
		binary.LittleEndian.PutUint16(b[i:], uint16(h.DstPAN))
		i += panIDLen
	}
	i += putAddr(b[i:], h.Dst)
	if srcPAN {
		binary.LittleEndian.PutUint16(b[i:], uint16(h.SrcPAN))
		i += panIDLen
	}
	i += putAddr(b[i:], h.Src)
	if h.SecurityEnabled {
		i += h.Security.put(b[i:])
	}
	return i
}

// putAddr writes a in its on-air form and returns its length. Extended
// addresses go out least-significant octet first (2015 §7.2.4, §7.2.6:
// every multi-octet field is little-endian), the reverse of the canonical
// EUI-64 order kept in ExtAddr.
func putAddr(b []byte, a Address) int {
	switch a.Mode {
	case AddrShort:
		binary.LittleEndian.PutUint16(b, uint16(a.Short))
		return shortAddrLen
	case AddrExtended:
		binary.LittleEndian.PutUint64(b, binary.BigEndian.Uint64(a.Ext[:]))
		return extAddrLen
	}
	return 0
}

// AppendFrame appends a whole frame to b: the header, payload (which must
// start with a well-formed, non-empty IE field when h.IEPresent, see
// AppendHeaderIE; ErrBadIE otherwise), MICLen zero
// bytes of room for the MIC when h.SecurityEnabled (this package does not
// compute it), and with withFCS the FCS. It allocates only when b lacks
// capacity. The payload may be at most h.MaxPayload() bytes, whether or not
// the FCS is appended here: the radio sends it anyway.
func AppendFrame(b []byte, h *Header, payload []byte, withFCS bool) ([]byte, error) {
	fc, dstPAN, srcPAN, hl, err := h.layout()
	if err != nil {
		return b, err
	}
	mic := 0
	if h.SecurityEnabled {
		mic = h.Security.MICLen()
	}
	if len(payload) > MaxPSDU-fcsLen-hl-mic {
		return b, errPayloadTooLong
	}
	if h.IEPresent {
		// Refuse to build what Decode would reject: the IE field must
		// be well formed (and not empty) as far as it is in the clear.
		var check Frame
		check.SecurityEnabled, check.Security = h.SecurityEnabled, h.Security
		if err := check.parseIEs(payload, 0); err != nil {
			return b, err
		}
	}
	n := hl + len(payload) + mic
	if withFCS {
		n += fcsLen
	}
	start := len(b)
	if cap(b)-start < n {
		nb := make([]byte, start, start+n)
		copy(nb, b)
		b = nb
	}
	b = b[:start+n]
	frame := b[start:]
	h.encode(frame, fc, dstPAN, srcPAN) // layout was checked above; frame has room
	i := hl + copy(frame[hl:], payload)
	clear(frame[i : i+mic])
	i += mic
	if withFCS {
		binary.LittleEndian.PutUint16(frame[i:], FCS(frame[:i]))
	}
	return b, nil
}
