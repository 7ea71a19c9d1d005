package ieee802154

import "testing"

// secHdr2006 is the MAC header before the auxiliary security header in the
// 2006 security vectors.
var secHdr2006 = []byte{
	// FC 0x9849: low 0x49 = data 0x01 | security enabled 0x08 | compression 0x40;
	// high 0x98 = dst short 0x08 | v2006 0x10 | src short 0x80.
	0x49, 0x98,
	0x10,       // seq 16
	0xcd, 0xab, // dst PAN 0xabcd
	0x02, 0x00, // dst 0x0002
	0x01, 0x00, // src 0x0001
}

var (
	ctr01020304 = []byte{0x04, 0x03, 0x02, 0x01}                         // frame counter 0x01020304, little-endian
	keySrc4     = []byte{0x01, 0x02, 0x03, 0x04}                         // 4-octet key source, kept in air order
	keySrc8     = []byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18} // 8-octet key source
	mic4        = []byte{0xc1, 0xc2, 0xc3, 0xc4}
	mic8        = []byte{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8}
	mic16       = []byte{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0}
	secBody     = []byte{0xaa, 0xbb} // payload (would be ciphertext for levels 4-7)
)

func secHeader2006(s AuxSecurityHeader) Header {
	return Header{Type: FrameData, Version: Version2006, SecurityEnabled: true, PANIDCompression: true,
		Seq: 0x10, DstPANPresent: true, DstPAN: 0xabcd, SrcPAN: 0xabcd,
		Dst: ShortAddress(2), Src: ShortAddress(1), Security: s}
}

func ks4() [8]byte { return [8]byte{0x01, 0x02, 0x03, 0x04} }
func ks8() [8]byte { return [8]byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18} }

// securityCases covers every security level (0-7) and every key identifier
// mode (0-3) (2006 §7.6.2.2, Tables 95 and 96; 2015 §9.4.2), with
// level L using key identifier mode L mod 4, plus the 2015-only control
// bits. The security control octet is level | keyIDMode<<3 | FCsupp<<5 |
// ASNinNonce<<6.
func securityCases() []katCase {
	return []katCase{
		{
			name: "level 0 key mode 0",
			// security control 0x00; frame counter; no key identifier; no MIC.
			psdu: cat(secHdr2006, []byte{0x00}, ctr01020304, secBody),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 0, KeyIDMode: 0, FrameCounter: 0x01020304}),
				Payload: secBody, Body: secBody, MIC: []byte{}},
			encode: true,
		},
		{
			name: "level 1 (MIC-32) key mode 1",
			// security control 0x09 = 1 | 1<<3; frame counter; key index 5; MIC 4.
			psdu: cat(secHdr2006, []byte{0x09}, ctr01020304, []byte{0x05}, secBody, mic4),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 1, KeyIDMode: 1, FrameCounter: 0x01020304, KeyIndex: 5}),
				Payload: secBody, Body: secBody, MIC: mic4},
			encode: true,
		},
		{
			name: "level 2 (MIC-64) key mode 2",
			// security control 0x12 = 2 | 2<<3; counter; key source (4); key index 6; MIC 8.
			psdu: cat(secHdr2006, []byte{0x12}, ctr01020304, keySrc4, []byte{0x06}, secBody, mic8),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 2, KeyIDMode: 2, FrameCounter: 0x01020304,
				KeySource: ks4(), KeySourceLen: 4, KeyIndex: 6}),
				Payload: secBody, Body: secBody, MIC: mic8},
			encode: true,
		},
		{
			name: "level 3 (MIC-128) key mode 3",
			// security control 0x1b = 3 | 3<<3; counter; key source (8); key index 7; MIC 16.
			psdu: cat(secHdr2006, []byte{0x1b}, ctr01020304, keySrc8, []byte{0x07}, secBody, mic16),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 3, KeyIDMode: 3, FrameCounter: 0x01020304,
				KeySource: ks8(), KeySourceLen: 8, KeyIndex: 7}),
				Payload: secBody, Body: secBody, MIC: mic16},
			encode: true,
		},
		{
			name: "level 4 (ENC) key mode 0",
			// security control 0x04; counter; no key identifier; no MIC.
			psdu: cat(secHdr2006, []byte{0x04}, ctr01020304, secBody),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 4, FrameCounter: 0x01020304}),
				Payload: secBody, Body: secBody, MIC: []byte{}},
			encode: true,
		},
		{
			name: "level 5 (ENC-MIC-32) key mode 1",
			// security control 0x0d = 5 | 1<<3; counter; key index 8; MIC 4.
			psdu: cat(secHdr2006, []byte{0x0d}, ctr01020304, []byte{0x08}, secBody, mic4),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 5, KeyIDMode: 1, FrameCounter: 0x01020304, KeyIndex: 8}),
				Payload: secBody, Body: secBody, MIC: mic4},
			encode: true,
		},
		{
			name: "level 6 (ENC-MIC-64) key mode 2",
			// security control 0x16 = 6 | 2<<3; counter; key source (4); key index 9; MIC 8.
			psdu: cat(secHdr2006, []byte{0x16}, ctr01020304, keySrc4, []byte{0x09}, secBody, mic8),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 6, KeyIDMode: 2, FrameCounter: 0x01020304,
				KeySource: ks4(), KeySourceLen: 4, KeyIndex: 9}),
				Payload: secBody, Body: secBody, MIC: mic8},
			encode: true,
		},
		{
			name: "level 7 (ENC-MIC-128) key mode 3",
			// security control 0x1f = 7 | 3<<3; counter; key source (8); key index 10; MIC 16.
			psdu: cat(secHdr2006, []byte{0x1f}, ctr01020304, keySrc8, []byte{0x0a}, secBody, mic16),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 7, KeyIDMode: 3, FrameCounter: 0x01020304,
				KeySource: ks8(), KeySourceLen: 8, KeyIndex: 10}),
				Payload: secBody, Body: secBody, MIC: mic16},
			encode: true,
		},
		{
			name: "level 5 no payload: MIC only",
			psdu: cat(secHdr2006, []byte{0x0d}, ctr01020304, []byte{0x08}, mic4),
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 5, KeyIDMode: 1, FrameCounter: 0x01020304, KeyIndex: 8}),
				Payload: []byte{}, Body: []byte{}, MIC: mic4},
			encode: true,
		},
		{
			name: "2015 frame counter suppressed, ASN in nonce",
			psdu: cat(
				// FC 0xa849: low 0x49 = data | security | compression;
				// high 0xa8 = dst short 0x08 | v2015 0x20 | src short 0x80.
				[]byte{0x49, 0xa8, 0x10, 0xcd, 0xab, 0x02, 0x00, 0x01, 0x00},
				// security control 0x6d = 5 | 1<<3 | FC suppression 0x20 | ASN in nonce 0x40;
				// no frame counter; key index 1.
				[]byte{0x6d, 0x01},
				secBody, mic4,
			),
			want: Frame{Header: Header{Type: FrameData, Version: Version2015, SecurityEnabled: true, PANIDCompression: true,
				Seq: 0x10, DstPANPresent: true, DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: ShortAddress(2), Src: ShortAddress(1),
				Security: AuxSecurityHeader{Level: 5, KeyIDMode: 1, FrameCounterSuppressed: true, ASNInNonce: true, KeyIndex: 1}},
				Payload: secBody, Body: secBody, MIC: mic4},
			encode: true,
		},
		{
			name: "2015 ext/ext level 6 key mode 3",
			psdu: cat(
				// FC 0xec29: low 0x29 = data | security 0x08 | AR 0x20; high 0xec = ext/v2015/ext (row 7).
				[]byte{0x29, 0xec, 0x01, 0xcd, 0xab}, airB, airA,
				// security control 0x1e = 6 | 3<<3; counter 0x01020304; key source (8); key index 2.
				[]byte{0x1e}, ctr01020304, keySrc8, []byte{0x02},
				secBody, mic8,
			),
			want: Frame{Header: Header{Type: FrameData, Version: Version2015, SecurityEnabled: true, AckRequest: true,
				Seq: 1, DstPANPresent: true, DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: ExtAddress(extB), Src: ExtAddress(extA),
				Security: AuxSecurityHeader{Level: 6, KeyIDMode: 3, FrameCounter: 0x01020304, KeySource: ks8(), KeySourceLen: 8, KeyIndex: 2}},
				Payload: secBody, Body: secBody, MIC: mic8},
			encode: true,
		},
		{
			name: "2006 reserved security control bits 5-7 ignored",
			// security control 0xed = 0x0d | 0xe0: bits 5-7 are reserved in
			// 2006 (§7.6.2.2), so the frame counter is still present.
			//
			// tshark 4.0 parses the frame the same way (it reads the
			// frame counter) but displays bits 5 and 6 under the 2015
			// names; in a 2006 frame they are reserved, so
			// FrameCounterSuppressed and ASNInNonce stay false.
			psdu:          cat(secHdr2006, []byte{0xed}, ctr01020304, []byte{0x08}, secBody, mic4),
			tsharkDiffers: []string{"wpan.aux_sec.frame_counter_suppression", "wpan.aux_sec.asn_in_nonce"},
			want: Frame{Header: secHeader2006(AuxSecurityHeader{Level: 5, KeyIDMode: 1, FrameCounter: 0x01020304, KeyIndex: 8}),
				Payload: secBody, Body: secBody, MIC: mic4},
		},
	}
}

func TestSecurityKnownAnswers(t *testing.T) { runKAT(t, securityCases()) }

func TestAuxSecurityHeaderLen(t *testing.T) {
	tests := []struct {
		s         AuxSecurityHeader
		len, mic  int
		encrypted bool
	}{
		{AuxSecurityHeader{Level: 0, KeyIDMode: 0}, 5, 0, false},
		{AuxSecurityHeader{Level: 1, KeyIDMode: 1}, 6, 4, false},
		{AuxSecurityHeader{Level: 2, KeyIDMode: 2}, 10, 8, false},
		{AuxSecurityHeader{Level: 3, KeyIDMode: 3}, 14, 16, false},
		{AuxSecurityHeader{Level: 4, KeyIDMode: 0}, 5, 0, true},
		{AuxSecurityHeader{Level: 5, KeyIDMode: 1, FrameCounterSuppressed: true}, 2, 4, true},
		{AuxSecurityHeader{Level: 6, KeyIDMode: 2}, 10, 8, true},
		{AuxSecurityHeader{Level: 7, KeyIDMode: 3, FrameCounterSuppressed: true}, 10, 16, true},
	}
	for _, tc := range tests {
		if l, m, e := tc.s.Len(), tc.s.MICLen(), tc.s.Encrypted(); l != tc.len || m != tc.mic || e != tc.encrypted {
			t.Errorf("%+v: Len, MICLen, Encrypted = %d, %d, %v; want %d, %d, %v", tc.s, l, m, e, tc.len, tc.mic, tc.encrypted)
		}
	}
}
