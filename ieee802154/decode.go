package ieee802154

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// MaxSUNPSDU is aMaxPhyPacketSize of the SUN PHYs (IEEE 802.15.4g,
// 802.15.4-2020 §11.3 and §19–§21: SUN FSK, OFDM and O-QPSK carry up to
// 2047 octets, FCS included). DecodePHY accepts frames up to it for
// captures and sniffers; the radio path stays at MaxPSDU (Decode), which
// is all the 2.4 GHz O-QPSK PHY and the RCPs this project drives send.
const MaxSUNPSDU = 2047

// FCS lengths: 802.15.4 frames end in a 2-octet FCS (the ITU-T CRC-16,
// FCS); SUN PHYs may use a 4-octet one instead, chosen per frame by the
// PHR's FCS Type bit (802.15.4-2020 §7.2.10, §19.2.4), which a capture of
// the PSDU alone does not show.
const (
	FCSLenNone = 0
	FCSLen16   = 2
	FCSLen32   = 4
)

// FCS32 returns the 4-octet FCS of data (802.15.4-2020 §7.2.10: the
// CRC-32 of IEEE 802.3 — generator 0x04C11DB7 over the bits in the order
// sent, initial remainder and final XOR all ones), sent low byte first.
// Wireshark checks it the same way ("wpan.fcs_format: ITU-T CRC-32").
func FCS32(data []byte) uint32 { return crc32.ChecksumIEEE(data) }

// Frame is a decoded MAC frame. Decode fills it in place without allocating;
// the byte-slice fields are views into the PSDU given to Decode and are
// valid only as long as it is.
type Frame struct {
	Header

	// HeaderIEs holds the header IEs (2015 §7.4.2) without the HT1/HT2
	// termination IE; nil unless the frame is a 2015 frame with IE
	// Present, and then non-nil even when empty. Walk it with
	// NewHeaderIEIterator.
	HeaderIEs []byte
	// PayloadIEs holds the payload IEs (2015 §7.4.3) without the payload
	// termination IE, when header IEs end with HT1 and the payload IEs
	// are readable: the frame is not secured, or its security level does
	// not encrypt (0–3). With an encrypting level they stay in Payload.
	PayloadIEs []byte
	// Payload is the MAC payload after the IEs, excluding MIC and FCS.
	// For a command frame it starts with the Command ID.
	Payload []byte
	// MIC is the message integrity code, MICLen bytes at the end of a
	// secured frame; nil otherwise.
	MIC []byte
	// Body is everything between the MAC header and the MIC: IE field
	// (with its termination IEs) then Payload. AppendFrame(b,
	// &f.Header, f.Body, …) rebuilds the frame.
	Body []byte
	// FCS is the received FCS when decoded with hasFCS (FCSLen16), else
	// zero.
	FCS uint16
	// FCS32 is the received FCS when decoded with FCSLen32, else zero.
	FCS32 uint32
}

var (
	errTooLongFCS    = fmt.Errorf("ieee802154: PSDU longer than %d bytes: %w", MaxPSDU, ErrTooLong)
	errTooLongNoFCS  = fmt.Errorf("ieee802154: frame without FCS longer than %d bytes: %w", MaxPSDU-fcsLen, ErrTooLong)
	errTruncFCS      = fmt.Errorf("ieee802154: no room for the FCS: %w", ErrTruncated)
	errFCSMismatch   = fmt.Errorf("ieee802154: FCS does not match the frame: %w", ErrBadFCS)
	errTruncFC       = fmt.Errorf("ieee802154: truncated in the frame control field: %w", ErrTruncated)
	errTruncAddr     = fmt.Errorf("ieee802154: truncated in the sequence number or addressing fields: %w", ErrTruncated)
	errTruncSecurity = fmt.Errorf("ieee802154: truncated in the auxiliary security header: %w", ErrTruncated)
	errTruncMIC      = fmt.Errorf("ieee802154: no room for the MIC: %w", ErrTruncated)
	errNotCommand    = fmt.Errorf("ieee802154: not a command frame: %w", ErrInvalid)
	errCmdEncrypted  = fmt.Errorf("ieee802154: the command ID of a secured 2015 frame is encrypted (2015 §7.3.4): %w", ErrUnsupported)
	errCmdTruncated  = fmt.Errorf("ieee802154: command frame without a Command ID: %w", ErrTruncated)
)

// Decode parses a PSDU into f, overwriting all of it. With hasFCS the last
// two bytes are the FCS, which Decode verifies first (ErrBadFCS), as a
// receiver does before looking inside. It does not allocate, does not panic
// on any input, and on error leaves f in an unspecified state.
//
// Reserved frame control bits (bit 7; bits 8 and 9 in 2003/2006 frames) and
// reserved security control bits are ignored, as receivers do.
func (f *Frame) Decode(psdu []byte, hasFCS bool) error {
	*f = Frame{}
	b := psdu
	if hasFCS {
		if len(psdu) > MaxPSDU {
			return errTooLongFCS
		}
		if len(psdu) < fcsLen {
			return errTruncFCS
		}
		b = psdu[:len(psdu)-fcsLen]
		f.FCS = binary.LittleEndian.Uint16(psdu[len(b):])
		if FCS(b) != f.FCS {
			return errFCSMismatch
		}
	} else if len(psdu) > MaxPSDU-fcsLen {
		return errTooLongNoFCS
	}
	return f.decode(b)
}

// DecodePHY is Decode for a PHY whose aMaxPhyPacketSize is maxPSDU
// (MaxPSDU, MaxSUNPSDU, or anything in between) and whose frames end in
// an FCS of fcsLen octets (FCSLenNone, FCSLen16 or FCSLen32). Without an
// FCS the frame may be maxPSDU-2 octets long, as with Decode. Errors name
// the limit and the length; like Decode it does not panic on any input,
// and it allocates only to describe a frame that is too long.
func (f *Frame) DecodePHY(psdu []byte, fcsLen, maxPSDU int) error {
	if maxPSDU < MaxPSDU || maxPSDU > MaxSUNPSDU {
		return fmt.Errorf("ieee802154: aMaxPhyPacketSize %d outside %d..%d: %w", maxPSDU, MaxPSDU, MaxSUNPSDU, ErrInvalid)
	}
	*f = Frame{}
	limit := maxPSDU
	if fcsLen == FCSLenNone {
		limit -= FCSLen16
	}
	if len(psdu) > limit {
		return fmt.Errorf("ieee802154: %d-octet frame (FCS of %d octets included) longer than aMaxPhyPacketSize %d: %w",
			len(psdu), fcsLen, maxPSDU, ErrTooLong)
	}
	b := psdu
	switch fcsLen {
	case FCSLenNone:
	case FCSLen16:
		if len(psdu) < FCSLen16 {
			return errTruncFCS
		}
		b = psdu[:len(psdu)-FCSLen16]
		f.FCS = binary.LittleEndian.Uint16(psdu[len(b):])
		if FCS(b) != f.FCS {
			return errFCSMismatch
		}
	case FCSLen32:
		if len(psdu) < FCSLen32 {
			return errTruncFCS
		}
		b = psdu[:len(psdu)-FCSLen32]
		f.FCS32 = binary.LittleEndian.Uint32(psdu[len(b):])
		if FCS32(b) != f.FCS32 {
			return errFCSMismatch
		}
	default:
		return fmt.Errorf("ieee802154: FCS of %d octets: want 0, 2 or 4: %w", fcsLen, ErrInvalid)
	}
	return f.decode(b)
}

// decode parses the frame b, FCS removed, into f (zeroed by the caller).
func (f *Frame) decode(b []byte) error {

	if len(b) < fcLen {
		return errTruncFC
	}
	fc := FrameControl(binary.LittleEndian.Uint16(b))
	// The frame type decides the layout of everything else (multipurpose
	// frames even have a different frame control), so check it first.
	if err := checkType(fc.Type()); err != nil {
		return err
	}
	h := &f.Header
	h.Type = fc.Type()
	h.Version = fc.Version()
	if err := checkVersion(h.Version); err != nil {
		return err
	}
	h.Dst.Mode, h.Src.Mode = fc.DstMode(), fc.SrcMode()
	if err := checkModes(h.Dst.Mode, h.Src.Mode); err != nil {
		return err
	}
	h.SecurityEnabled = fc.SecurityEnabled()
	h.FramePending = fc.FramePending()
	h.AckRequest = fc.AckRequest()
	h.PANIDCompression = fc.PANIDCompression()
	if h.Version == Version2015 {
		h.SeqSuppressed = fc.SeqSuppressed()
		h.IEPresent = fc.IEPresent()
	}
	var ok bool
	h.DstPANPresent, h.SrcPANPresent, ok = panIDFields(h.Version, h.Dst.Mode, h.Src.Mode, h.PANIDCompression)
	if !ok {
		return errCompression2006
	}
	if h.Version == Version2015 && h.PANIDCompression && !bitMeansEqualPANs(h.Version, h.Dst.Mode, h.Src.Mode) {
		h.ForcePANIDCompression = true
	}
	if h.SecurityEnabled && h.Version == Version2003 {
		// 2003 security keeps its counters in the payload, and how
		// much MIC follows depends on a suite the frame does not name.
		return errSecurity2003
	}

	// Sequence number and addressing fields (2015 §7.2.2–§7.2.6).
	need := fcLen + addrLen(h.Dst.Mode) + addrLen(h.Src.Mode)
	if !h.SeqSuppressed {
		need += seqLen
	}
	if h.DstPANPresent {
		need += panIDLen
	}
	if h.SrcPANPresent {
		need += panIDLen
	}
	if len(b) < need {
		return errTruncAddr
	}
	i := fcLen
	if !h.SeqSuppressed {
		h.Seq = b[i]
		i += seqLen
	}
	if h.DstPANPresent {
		h.DstPAN = PANID(binary.LittleEndian.Uint16(b[i:]))
		i += panIDLen
	}
	i += getAddr(b[i:], &h.Dst)
	if h.SrcPANPresent {
		h.SrcPAN = PANID(binary.LittleEndian.Uint16(b[i:]))
		i += panIDLen
	} else if h.Src.Mode != AddrNone && h.DstPANPresent {
		// Elided by compression: the source is in the destination's PAN.
		h.SrcPAN = h.DstPAN
	}
	i += getAddr(b[i:], &h.Src)

	// Auxiliary security header (2006 §7.6.2; 2015 §9.4).
	mic := 0
	if h.SecurityEnabled {
		n, err := h.Security.parse(b[i:], h.Version)
		if err != nil {
			return err
		}
		i += n
		mic = h.Security.MICLen()
	}
	if len(b)-i < mic {
		return errTruncMIC
	}
	end := len(b) - mic
	f.Body = b[i:end]
	if h.SecurityEnabled {
		f.MIC = b[end:]
	}
	if !h.IEPresent {
		f.Payload = f.Body
		return nil
	}
	return f.parseIEs(b[:end], i)
}

// getAddr reads an address of mode a.Mode from the start of b, which the
// caller has checked is long enough, and returns its length.
func getAddr(b []byte, a *Address) int {
	switch a.Mode {
	case AddrShort:
		a.Short = ShortAddr(binary.LittleEndian.Uint16(b))
		return shortAddrLen
	case AddrExtended:
		binary.BigEndian.PutUint64(a.Ext[:], binary.LittleEndian.Uint64(b))
		return extAddrLen
	}
	return 0
}

// parseIEs walks the IE field of a 2015 frame, which starts at b[i:] and
// ends at the end of b (the MIC is already cut off), and sets HeaderIEs,
// PayloadIEs and Payload. It reads only f.SecurityEnabled and f.Security
// besides.
//
// 2015 §7.4.1: header IEs come first and end with HT1 when payload IEs
// follow, with HT2 when the frame payload follows directly, and with
// nothing when the frame ends there. Payload IEs end with the payload
// termination IE when a frame payload follows, or with the frame.
func (f *Frame) parseIEs(b []byte, i int) error {
	if i == len(b) {
		// 2015 §7.2.1.7: IE Present is set only if IEs are contained
		// in the frame (in a secured frame at least a termination IE
		// is in the clear).
		return errIEMissing
	}
	start := i
	term := uint8(0)
	for i < len(b) {
		if len(b)-i < ieDescriptorLen {
			return errIETruncDescriptor
		}
		d := binary.LittleEndian.Uint16(b[i:])
		if d&ieTypePayload != 0 {
			return errIEPayloadInHeader
		}
		id, n := headerIEID(d), headerIELen(d)
		if id == HeaderIEHT1 || id == HeaderIEHT2 {
			if n != 0 {
				return errIETermLen
			}
			term = id
			break
		}
		if n > len(b)-i-ieDescriptorLen {
			return errIEOverrun
		}
		i += ieDescriptorLen + n
	}
	f.HeaderIEs = b[start:i]
	if term == 0 {
		f.Payload = b[i:]
		return nil
	}
	i += ieDescriptorLen
	if term == HeaderIEHT2 || f.SecurityEnabled && f.Security.Encrypted() {
		// After HT2 comes the payload; after HT1 in an encrypted frame
		// come payload IEs we cannot read (2015 §9.3): leave them in
		// Payload.
		f.Payload = b[i:]
		return nil
	}
	start = i
	for i < len(b) {
		if len(b)-i < ieDescriptorLen {
			return errIETruncDescriptor
		}
		d := binary.LittleEndian.Uint16(b[i:])
		if d&ieTypePayload == 0 {
			return errIEHeaderInPayload
		}
		group, n := payloadIEGroup(d), payloadIELen(d)
		if n > len(b)-i-ieDescriptorLen {
			return errIEOverrun
		}
		if group == PayloadIEGroupTermination {
			if n != 0 {
				return errIETermLen
			}
			f.PayloadIEs = b[start:i]
			f.Payload = b[i+ieDescriptorLen:]
			return nil
		}
		i += ieDescriptorLen + n
	}
	f.PayloadIEs = b[start:i]
	f.Payload = b[i:]
	return nil
}

// CommandID returns the Command ID of a command frame: the first octet of
// its payload (2006 §7.3; 2015 §7.3.4, §7.5). In a 2015 frame secured with
// an encrypting level it is encrypted (it moved from the header into the
// private payload with 802.15.4e), so CommandID returns ErrUnsupported; in
// 2006 frames it stays in the clear.
func (f *Frame) CommandID() (uint8, error) {
	switch {
	case f.Type != FrameCommand:
		return 0, errNotCommand
	case f.SecurityEnabled && f.Version == Version2015 && f.Security.Encrypted():
		return 0, errCmdEncrypted
	case len(f.Payload) == 0:
		return 0, errCmdTruncated
	}
	return f.Payload[0], nil
}
