package nd

import "encoding/binary"

// CIPO is a Crypto-ID Parameters Option (RFC 8928 §4.3, Figure 2), Type
// and Length octets included: the parameters a Crypto-ID is computed from.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Type (39)    |    Length     |Reserved1|  Public Key Length  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Crypto-Type  |   Modifier    |  EARO Length  |               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               +
//	.                  Public Key (variable length)                 .
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                           Padding                             .
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Reserved1 is 5 bits, the Public Key Length 11 bits (octets). The
// Modifier is the 6LN's free choice, so that one key pair yields several
// Crypto-IDs (§4.3, §7.9); the EARO Length is the Length octet of the EARO
// that carries the Crypto-ID (§4.2, checked against it in §6.2). The
// Public Key is the bare key of the Crypto-Type (§8.2 Table 1, Appendix
// B): a SEC 1 point, compressed (33 octets) or uncompressed (65), for
// ECDSA; the 32-octet RFC 8032 key for Ed25519. The padding completes the
// option to the next multiple of 8 octets. Reserved1 and the padding are
// zero on transmission and ignored on receipt — but the Crypto-ID is
// computed over the option with them zeroed (§4.1), which CryptoID does.
// Accessors trust Validate.
type CIPO []byte

const (
	cipoKeyLen     = 2 // Reserved1 and Public Key Length, 16 bits
	cipoCryptoType = 4
	cipoModifier   = 5
	cipoEAROLength = 6
	cipoKey        = 7 // RFC 8928 Figure 2: the key starts at the 8th octet
	// apndLenMask keeps the 11-bit length of a CIPO's key or an NDPSO's
	// signature; the 5 bits above it are Reserved1.
	apndLenMask = 0x07ff
)

// roundUp8 is n rounded up to the option unit.
func roundUp8(n int) int { return (n + optionUnit - 1) &^ (optionUnit - 1) }

// Validate checks that the key fits the option and that the padding ends
// at the first 8-octet boundary after it (RFC 8928 §4.3). It assumes the
// option came from an OptionIterator (Length matches len(o), at least 8).
func (o CIPO) Validate() error {
	if len(o) < cipoKey {
		return errCIPOShort
	}
	n := o.PublicKeyLength()
	switch {
	case n == 0 || cipoKey+n > len(o):
		return errCIPOShort
	case roundUp8(cipoKey+n) != len(o):
		return errCIPOPadding
	}
	return nil
}

// CryptoType returns the Crypto-Type.
func (o CIPO) CryptoType() CryptoType { return CryptoType(o[cipoCryptoType]) }

// Modifier returns the Modifier (RFC 8928 §4.3).
func (o CIPO) Modifier() uint8 { return o[cipoModifier] }

// EAROLength returns the EARO Length: the Length octet of the EARO that
// carries the Crypto-ID (RFC 8928 §4.3).
func (o CIPO) EAROLength() uint8 { return o[cipoEAROLength] }

// PublicKeyLength returns the Public Key Length in octets.
func (o CIPO) PublicKeyLength() int {
	return int(binary.BigEndian.Uint16(o[cipoKeyLen:]) & apndLenMask)
}

// PublicKey returns the Public Key field (a view into the option).
func (o CIPO) PublicKey() []byte { return o[cipoKey : cipoKey+o.PublicKeyLength()] }

// NDPSO is an NDP Signature Option (RFC 8928 §4.4, Figure 3), Type and
// Length octets included: the 6LN's signature proving that it holds the
// key of its CIPO (the signed content: AppendSignedContent).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Type (40)    |    Length     |Reserved1|  Signature Length   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Reserved2                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                 Digital Signature (variable)                  .
//	.                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                               |           Padding             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Reserved1 (5 bits), Reserved2 (32 bits) and the padding are zero on
// transmission and ignored on receipt. The signature's form depends on the
// Crypto-Type of the CIPO (RFC 8928 Appendix B): for ECDSA, r‖s, each a
// 32-octet big-endian integer (B.2); for Ed25519, the 64-octet RFC 8032
// signature (B.1). Both are 64 octets (§8.2 Table 1).
type NDPSO []byte

const (
	ndpsoSigLen = 2
	ndpsoSig    = 8 // after Type, Length, Reserved1/Length and 32-bit Reserved2
)

// Validate checks that the signature fits the option and that the padding
// ends at the first 8-octet boundary after it (RFC 8928 §4.4).
func (o NDPSO) Validate() error {
	if len(o) < ndpsoSig {
		return errNDPSOShort
	}
	n := o.SignatureLength()
	switch {
	case n == 0 || ndpsoSig+n > len(o):
		return errNDPSOShort
	case roundUp8(ndpsoSig+n) != len(o):
		return errNDPSOPadding
	}
	return nil
}

// SignatureLength returns the Signature Length in octets.
func (o NDPSO) SignatureLength() int {
	return int(binary.BigEndian.Uint16(o[ndpsoSigLen:]) & apndLenMask)
}

// Signature returns the Digital Signature field (a view into the option).
func (o NDPSO) Signature() []byte { return o[ndpsoSig : ndpsoSig+o.SignatureLength()] }

// NonceOption is SEND's Nonce option (RFC 3971 §5.3.2), which AP-ND uses
// for NonceLR (in the router's challenge) and NonceLN (in the 6LN's
// answer), RFC 8928 §6.1: Type 14, Length, then the nonce filling the
// option (at least 6 octets).
type NonceOption []byte

// minNonceLen is RFC 3971 §5.3.2's "at least 6 bytes".
const minNonceLen = 6

// Validate checks the nonce's minimum length.
func (o NonceOption) Validate() error {
	if len(o) < 2+minNonceLen {
		return errNonceShort
	}
	return nil
}

// Nonce returns the nonce (a view into the option).
func (o NonceOption) Nonce() []byte { return o[2:] }

// APNDOptions are the AP-ND options of one message, views into it; nil
// when absent.
type APNDOptions struct {
	CIPO  CIPO
	NDPSO NDPSO
	Nonce NonceOption
}

// ParseAPNDOptions finds the first CIPO, NDPSO and Nonce option in opts
// (an ND message's options area, as Parse left it in Message.Options) and
// validates them. Parse does not look at these options: RFC 4861 has a
// receiver ignore options it does not know, and a router without AP-ND
// does. A message with an NDPSO must carry one and only one EARO (RFC 8928
// §4.4); Parse keeps the first of several, so the count is checked here.
// It does not allocate.
func ParseAPNDOptions(opts Options, out *APNDOptions) error {
	*out = APNDOptions{}
	aros := 0
	it := opts.Iter()
	for {
		o, done, err := it.Next()
		if err != nil {
			return err
		}
		if done {
			break
		}
		switch o.Type() {
		case OptARO:
			aros++
		case OptCIPO:
			if out.CIPO == nil {
				if err := CIPO(o).Validate(); err != nil {
					return err
				}
				out.CIPO = CIPO(o)
			}
		case OptNDPSO:
			if out.NDPSO == nil {
				if err := NDPSO(o).Validate(); err != nil {
					return err
				}
				out.NDPSO = NDPSO(o)
			}
		case OptNonce:
			if out.Nonce == nil {
				if err := NonceOption(o).Validate(); err != nil {
					return err
				}
				out.Nonce = NonceOption(o)
			}
		}
	}
	if out.NDPSO != nil && aros != 1 {
		return errNDPSOEARO
	}
	return nil
}

// --- Serializers ---

// CIPOFields writes a CIPO (RFC 8928 §4.3): Reserved1 and the padding
// zero. PublicKey is the bare key of the Crypto-Type (see CIPO), 1 to 2047
// octets; EAROLength the Length octet of the EARO the Crypto-ID goes in
// (EAROLength(n) for an n-octet ROVR).
type CIPOFields struct {
	CryptoType CryptoType
	Modifier   uint8
	EAROLength uint8
	PublicKey  []byte
}

func (o CIPOFields) validate() error {
	if len(o.PublicKey) == 0 || len(o.PublicKey) > apndLenMask {
		return errEncodeKey
	}
	return nil
}

// Len implements OptionSerializer.
func (o CIPOFields) Len() int { return roundUp8(cipoKey + len(o.PublicKey)) }

// Serialize implements OptionSerializer.
func (o CIPOFields) Serialize(b []byte) {
	n := o.Len()
	clear(b[:n])
	b[0], b[1] = byte(OptCIPO), byte(n/optionUnit)
	binary.BigEndian.PutUint16(b[cipoKeyLen:], uint16(len(o.PublicKey))&apndLenMask)
	b[cipoCryptoType] = byte(o.CryptoType)
	b[cipoModifier] = o.Modifier
	b[cipoEAROLength] = o.EAROLength
	copy(b[cipoKey:], o.PublicKey)
}

// Append appends the encoded option to b (for computing a Crypto-ID or a
// signature before the message is built). It does not validate.
func (o CIPOFields) Append(b []byte) []byte {
	start := len(b)
	b = grow(b, o.Len())
	o.Serialize(b[start:])
	return b
}

// NDPSOFields writes an NDPSO (RFC 8928 §4.4): reserved fields and padding
// zero.
type NDPSOFields struct{ Signature []byte }

func (o NDPSOFields) validate() error {
	if len(o.Signature) == 0 || len(o.Signature) > apndLenMask {
		return errEncodeSig
	}
	return nil
}

// Len implements OptionSerializer.
func (o NDPSOFields) Len() int { return roundUp8(ndpsoSig + len(o.Signature)) }

// Serialize implements OptionSerializer.
func (o NDPSOFields) Serialize(b []byte) {
	n := o.Len()
	clear(b[:n])
	b[0], b[1] = byte(OptNDPSO), byte(n/optionUnit)
	binary.BigEndian.PutUint16(b[ndpsoSigLen:], uint16(len(o.Signature))&apndLenMask)
	copy(b[ndpsoSig:], o.Signature)
}

// Append appends the encoded option to b. It does not validate.
func (o NDPSOFields) Append(b []byte) []byte {
	start := len(b)
	b = grow(b, o.Len())
	o.Serialize(b[start:])
	return b
}

// NonceFields writes a Nonce option (RFC 3971 §5.3.2). The nonce fills
// the option, so its length is 6, 14, 22, … octets.
type NonceFields struct{ Nonce []byte }

func (o NonceFields) validate() error {
	if len(o.Nonce) < minNonceLen || (len(o.Nonce)+2)%optionUnit != 0 {
		return errEncodeNonce
	}
	return nil
}

// Len implements OptionSerializer.
func (o NonceFields) Len() int { return 2 + len(o.Nonce) }

// Serialize implements OptionSerializer.
func (o NonceFields) Serialize(b []byte) {
	b[0], b[1] = byte(OptNonce), byte(o.Len()/optionUnit)
	copy(b[2:], o.Nonce)
}

// Append appends the encoded option to b. It does not validate.
func (o NonceFields) Append(b []byte) []byte {
	start := len(b)
	b = grow(b, o.Len())
	o.Serialize(b[start:])
	return b
}
