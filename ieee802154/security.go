package ieee802154

import "encoding/binary"

// Security levels (2006 §7.6.2.2.1, Table 95; 2015 §9.4.2.2).
// Bit 2 selects encryption; bits 0–1 the MIC length.
const (
	SecLevelNone      uint8 = 0
	SecLevelMIC32     uint8 = 1
	SecLevelMIC64     uint8 = 2
	SecLevelMIC128    uint8 = 3
	SecLevelEnc       uint8 = 4
	SecLevelEncMIC32  uint8 = 5
	SecLevelEncMIC64  uint8 = 6
	SecLevelEncMIC128 uint8 = 7
)

// Key identifier modes (2006 §7.6.2.2.2, Table 96; 2015 §9.4.2.3).
const (
	KeyIDModeImplicit uint8 = 0 // key known from context; no key identifier
	KeyIDModeIndex    uint8 = 1 // key index with macDefaultKeySource
	KeyIDModeSource4  uint8 = 2 // 4-octet key source and key index
	KeyIDModeSource8  uint8 = 3 // 8-octet key source and key index
)

// Security control field layout (2006 §7.6.2.2; 2015 §9.4.2).
// Bits 5 and 6 are reserved in 2006 frames and bit 7 always.
const (
	secLevelMask         = 0x07
	secKeyIDModeShift    = 3
	secKeyIDModeMask     = 0x03
	secFrameCounterSupp  = 1 << 5 // 2015 only
	secASNInNonce        = 1 << 6 // 2015 only
	secControlLen        = 1
	secFrameCounterLen   = 4
	secKeyIndexLen       = 1
	secEncryptsLevelMask = 0x04
)

// AuxSecurityHeader is the auxiliary security header (2006 §7.6.2;
// 2015 §9.4). This package parses and writes it; it does not secure or
// unsecure frames.
type AuxSecurityHeader struct {
	Level     uint8 // security level, 0–7
	KeyIDMode uint8 // key identifier mode, 0–3

	// FrameCounterSuppressed: no Frame Counter field (2015 §9.4.2.4,
	// TSCH uses the ASN instead). 2015 frames only.
	FrameCounterSuppressed bool
	// ASNInNonce: the nonce uses the ASN rather than the frame counter
	// (2015 §9.4.2.5). 2015 frames only.
	ASNInNonce bool

	FrameCounter uint32 // zero when FrameCounterSuppressed

	// KeySource holds the Key Source field octets in the order they are
	// sent; only the first KeySourceLen are meaningful.
	KeySource [8]byte
	// KeySourceLen is filled by Decode: 0, 4 or 8 for key identifier mode
	// 0/1, 2 or 3. Encode derives the length from KeyIDMode instead.
	KeySourceLen int
	KeyIndex     uint8 // zero in key identifier mode 0
}

// keySourceLen returns the Key Source length of key identifier mode m.
func keySourceLen(m uint8) int {
	switch m & secKeyIDModeMask {
	case KeyIDModeSource4:
		return 4
	case KeyIDModeSource8:
		return 8
	}
	return 0
}

// Len returns the encoded length of the auxiliary security header:
// security control, frame counter (unless suppressed) and key identifier.
func (s *AuxSecurityHeader) Len() int {
	n := secControlLen
	if !s.FrameCounterSuppressed {
		n += secFrameCounterLen
	}
	if s.KeyIDMode&secKeyIDModeMask != KeyIDModeImplicit {
		n += keySourceLen(s.KeyIDMode) + secKeyIndexLen
	}
	return n
}

// MICLen returns the MIC length the security level calls for: 0, 4, 8 or
// 16 octets (2006 Table 95; 2015 §9.4.2.2).
func (s *AuxSecurityHeader) MICLen() int {
	switch s.Level & 0x03 {
	case 1:
		return 4
	case 2:
		return 8
	case 3:
		return 16
	}
	return 0
}

// Encrypted reports whether the security level encrypts the private
// payload (levels 4–7); levels 0–3 leave it in the clear.
func (s *AuxSecurityHeader) Encrypted() bool { return s.Level&secEncryptsLevelMask != 0 }

func (s *AuxSecurityHeader) check(v FrameVersion) error {
	switch {
	case v == Version2003:
		return errSecurity2003
	case s.Level > SecLevelEncMIC128:
		return errSecurityLevel
	case s.KeyIDMode > KeyIDModeSource8:
		return errKeyIDMode
	case v != Version2015 && (s.FrameCounterSuppressed || s.ASNInNonce):
		return errSecurity2015Only
	}
	return nil
}

// put writes the header into b, which the caller has sized with Len, and
// returns its length.
func (s *AuxSecurityHeader) put(b []byte) int {
	sc := s.Level&secLevelMask | (s.KeyIDMode&secKeyIDModeMask)<<secKeyIDModeShift
	if s.FrameCounterSuppressed {
		sc |= secFrameCounterSupp
	}
	if s.ASNInNonce {
		sc |= secASNInNonce
	}
	b[0] = sc
	i := secControlLen
	if !s.FrameCounterSuppressed {
		binary.LittleEndian.PutUint32(b[i:], s.FrameCounter)
		i += secFrameCounterLen
	}
	if s.KeyIDMode != KeyIDModeImplicit {
		i += copy(b[i:], s.KeySource[:keySourceLen(s.KeyIDMode)])
		b[i] = s.KeyIndex
		i += secKeyIndexLen
	}
	return i
}

// parse reads the auxiliary security header of a frame of version v from
// the start of b and returns its length. Reserved control bits are
// ignored.
func (s *AuxSecurityHeader) parse(b []byte, v FrameVersion) (int, error) {
	if len(b) < secControlLen {
		return 0, errTruncSecurity
	}
	sc := b[0]
	*s = AuxSecurityHeader{
		Level:     sc & secLevelMask,
		KeyIDMode: sc >> secKeyIDModeShift & secKeyIDModeMask,
	}
	if v == Version2015 {
		s.FrameCounterSuppressed = sc&secFrameCounterSupp != 0
		s.ASNInNonce = sc&secASNInNonce != 0
	}
	n := s.Len()
	if len(b) < n {
		return 0, errTruncSecurity
	}
	i := secControlLen
	if !s.FrameCounterSuppressed {
		s.FrameCounter = binary.LittleEndian.Uint32(b[i:])
		i += secFrameCounterLen
	}
	if s.KeyIDMode != KeyIDModeImplicit {
		s.KeySourceLen = keySourceLen(s.KeyIDMode)
		i += copy(s.KeySource[:s.KeySourceLen], b[i:])
		s.KeyIndex = b[i]
		i += secKeyIndexLen
	}
	return i, nil
}
