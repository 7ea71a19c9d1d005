package ieee802154

import (
	"bytes"
	"errors"
	"testing"
)

// IE descriptors used below (2015 §7.4.2.1 and §7.4.3.1), little-endian:
//
//	header IE  = len | id<<7           (bit 15 = 0)
//	payload IE = len | group<<11 | 1<<15
var (
	// Header IE id 0x1e (time correction), length 2: 2 | 0x1e<<7 = 0x0f02.
	ieTimeCorr = []byte{0x02, 0x0f, 0x34, 0x12}
	// Header IE id 0x00 (vendor specific), length 3: 0x0003.
	ieVendor = []byte{0x03, 0x00, 0xaa, 0xbb, 0xcc}
	// HT1: 0x7e<<7 = 0x3f00; HT2: 0x7f<<7 = 0x3f80; both with length 0.
	ieHT1 = []byte{0x00, 0x3f}
	ieHT2 = []byte{0x80, 0x3f}
	// Payload IE group 1 (MLME), length 2: 2 | 1<<11 | 1<<15 = 0x8802.
	ieMLME = []byte{0x02, 0x88, 0x1a, 0x2b}
	// Payload termination: group 0xf: 0xf<<11 | 1<<15 = 0xf800.
	iePT = []byte{0x00, 0xf8}
)

// ieHdr is a 2015 short/short intra-PAN data frame header with IE Present.
var ieHdr = []byte{
	// FC 0xaa41: low 0x41 = data | compression; high 0xaa = IE present 0x02 |
	// dst short 0x08 | v2015 0x20 | src short 0x80.
	0x41, 0xaa,
	0x44,                   // seq
	0xcd, 0xab, 0x02, 0x00, // dst PAN, dst 0x0002
	0x01, 0x00, // src 0x0001
}

func ieHeader() Header {
	return Header{Type: FrameData, Version: Version2015, PANIDCompression: true, IEPresent: true,
		Seq: 0x44, DstPANPresent: true, DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: ShortAddress(2), Src: ShortAddress(1)}
}

func ieCases() []katCase {
	ebSrc := ExtAddr{0xc1, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}
	// The MLME payload IE of the tcpdump enhanced beacon: descriptor 0x8811
	// (length 17, group 1), then sub-IEs TSCH synchronization (0x1a06),
	// timeslot (0x1c01), channel hopping (long, 0xc801), slotframe and link
	// (0x1b01).
	ebMLME := []byte{0x11, 0x88, 0x06, 0x1a, 0x06, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x1c, 0x00, 0x01, 0xc8, 0x00, 0x01, 0x1b, 0x00}
	level := func(h Header, l uint8) Header {
		h.SecurityEnabled = true
		h.Security = AuxSecurityHeader{Level: l, KeyIDMode: 1, FrameCounter: 0x01020304, KeyIndex: 1}
		return h
	}
	// Secured variant of ieHdr: FC low octet 0x49 adds security (0x08).
	secHdr := append([]byte{0x49}, ieHdr[1:]...)
	return []katCase{
		{
			name: "header IE, HT2, payload",
			psdu: cat(ieHdr, ieTimeCorr, ieHT2, []byte("hi")),
			want: Frame{Header: ieHeader(), HeaderIEs: ieTimeCorr, Payload: []byte("hi"),
				Body: cat(ieTimeCorr, ieHT2, []byte("hi"))},
			encode: true,
		},
		{
			name: "header IE, HT1, payload IE, termination, payload",
			psdu: cat(ieHdr, ieTimeCorr, ieHT1, ieMLME, iePT, []byte("hi")),
			want: Frame{Header: ieHeader(), HeaderIEs: ieTimeCorr, PayloadIEs: ieMLME, Payload: []byte("hi"),
				Body: cat(ieTimeCorr, ieHT1, ieMLME, iePT, []byte("hi"))},
			encode: true,
		},
		{
			name: "HT1 only, payload IE to the end",
			psdu: cat(ieHdr, ieHT1, ieMLME),
			want: Frame{Header: ieHeader(), HeaderIEs: []byte{}, PayloadIEs: ieMLME, Payload: []byte{},
				Body: cat(ieHT1, ieMLME)},
			encode: true,
		},
		{
			name: "payload IE, termination, no payload",
			psdu: cat(ieHdr, ieHT1, ieMLME, iePT),
			want: Frame{Header: ieHeader(), HeaderIEs: []byte{}, PayloadIEs: ieMLME, Payload: []byte{},
				Body: cat(ieHT1, ieMLME, iePT)},
			encode: true,
		},
		{
			name: "header IEs to the end, no termination",
			psdu: cat(ieHdr, ieTimeCorr, ieVendor),
			want: Frame{Header: ieHeader(), HeaderIEs: cat(ieTimeCorr, ieVendor), Payload: []byte{},
				Body: cat(ieTimeCorr, ieVendor)},
			encode: true,
		},
		{
			name: "encrypted (level 5): payload IEs stay in Payload",
			psdu: cat(secHdr,
				[]byte{0x0d}, ctr01020304, []byte{0x01}, // security control 5 | 1<<3, counter, key index 1
				ieTimeCorr, ieHT1, // header IEs are never encrypted
				[]byte{0xe1, 0xe2, 0xe3, 0xe4}, // ciphertext: payload IEs and payload
				mic4),
			want: Frame{Header: level(ieHeader(), 5), HeaderIEs: ieTimeCorr,
				Payload: []byte{0xe1, 0xe2, 0xe3, 0xe4}, MIC: mic4,
				Body: cat(ieTimeCorr, ieHT1, []byte{0xe1, 0xe2, 0xe3, 0xe4})},
			encode: true,
		},
		{
			name: "MIC only (level 1): payload IEs in the clear are walked",
			psdu: cat(secHdr,
				[]byte{0x09}, ctr01020304, []byte{0x01}, // security control 1 | 1<<3
				ieTimeCorr, ieHT1, ieMLME, iePT, []byte("hi"), mic4),
			want: Frame{Header: level(ieHeader(), 1), HeaderIEs: ieTimeCorr, PayloadIEs: ieMLME,
				Payload: []byte("hi"), MIC: mic4,
				Body: cat(ieTimeCorr, ieHT1, ieMLME, iePT, []byte("hi"))},
			encode: true,
		},
		{
			name: "enhanced beacon (tcpdump capture with its defects repaired)",
			psdu: cat(
				// FC 0xeb00: beacon, seq suppressed 0x01 | IE 0x02 | dst short 0x08 |
				// v2015 0x20 | src ext 0xc0. (The capture also sets reserved bit 7.)
				[]byte{0x00, 0xeb},
				// Table 7-2 row 10 (short/ext, bit 0): both PAN IDs.
				[]byte{0xcd, 0xab, 0xff, 0xff, 0xcd, 0xab},
				[]byte{0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0xc1}, // src c1:0c:00:00:00:00:00:01
				ieHT1, // the capture has 0x3f20 here: HT1 claiming 32 octets
				ebMLME,
			),
			want: Frame{
				Header: Header{Type: FrameBeacon, Version: Version2015, SeqSuppressed: true, IEPresent: true,
					DstPANPresent: true, SrcPANPresent: true, DstPAN: 0xabcd, SrcPAN: 0xabcd,
					Dst: ShortAddress(BroadcastShort), Src: ExtAddress(ebSrc)},
				HeaderIEs: []byte{}, PayloadIEs: ebMLME, Payload: []byte{}, Body: cat(ieHT1, ebMLME),
			},
			// Non-canonical: with equal PAN IDs Encode picks row 12 (one PAN ID).
		},
	}
}

func TestIEKnownAnswers(t *testing.T) { runKAT(t, ieCases()) }

func TestIEErrors(t *testing.T) {
	tests := []struct {
		name string
		ies  []byte
	}{
		// IE Present with no IE at all: 2015 §7.2.1.7 sets the bit only
		// if IEs are contained in the frame (tshark: malformed too).
		{"IE present, empty IE field", nil},
		{"descriptor cut", []byte{0x02}},
		// 0x0f05: id 0x1e, length 5, but 2 octets follow.
		{"header IE overruns", []byte{0x05, 0x0f, 0x34, 0x12}},
		// 0x3f01: HT1 with length 1 (HT1 and HT2 are empty, 2015 §7.4.1).
		{"HT1 with content", []byte{0x01, 0x3f, 0x00}},
		// 0x3f81: HT2 with length 1.
		{"HT2 with content", []byte{0x81, 0x3f, 0x00}},
		// 0x3f20: what the tcpdump beacon carries, HT1 of length 32.
		{"HT1 of length 32 (tcpdump beacon)", cat([]byte{0x20, 0x3f}, make([]byte, 19))},
		{"payload IE before HT1", ieMLME},
		{"header IE after HT1", cat(ieHT1, ieTimeCorr)},
		// 0xf801: payload termination with length 1.
		{"payload termination with content", cat(ieHT1, []byte{0x01, 0xf8, 0x00})},
		// 0x8805: MLME, length 5, 1 octet follows.
		{"payload IE overruns", cat(ieHT1, []byte{0x05, 0x88, 0x1a})},
		{"payload descriptor cut", cat(ieHT1, []byte{0x02})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f Frame
			if err := f.Decode(cat(ieHdr, tc.ies), false); !errors.Is(err, ErrBadIE) {
				t.Errorf("Decode: err = %v, want ErrBadIE", err)
			}
		})
	}
}

func TestIEIterators(t *testing.T) {
	var hs []HeaderIE
	it := NewHeaderIEIterator(cat(ieTimeCorr, ieVendor, ieHT2))
	for {
		ie, done, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		hs = append(hs, ie)
	}
	wantH := []HeaderIE{{0x1e, []byte{0x34, 0x12}}, {0x00, []byte{0xaa, 0xbb, 0xcc}}, {HeaderIEHT2, []byte{}}}
	if d := diff(wantH, hs); d != "" {
		t.Errorf("header IEs (-want +got):\n%s", d)
	}

	var ps []PayloadIE
	pit := NewPayloadIEIterator(cat(ieMLME, iePT))
	for {
		ie, done, err := pit.Next()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		ps = append(ps, ie)
	}
	wantP := []PayloadIE{{PayloadIEGroupMLME, []byte{0x1a, 0x2b}}, {PayloadIEGroupTermination, []byte{}}}
	if d := diff(wantP, ps); d != "" {
		t.Errorf("payload IEs (-want +got):\n%s", d)
	}

	for _, bad := range [][]byte{{0x02}, {0x05, 0x0f, 0x34}, ieMLME} {
		it := NewHeaderIEIterator(bad)
		if _, done, err := it.Next(); !errors.Is(err, ErrBadIE) || !done {
			t.Errorf("header iterator on [% x]: done=%v err=%v, want done and ErrBadIE", bad, done, err)
		}
		if _, done, err := it.Next(); !done || err != nil {
			t.Errorf("header iterator after an error: done=%v err=%v", done, err)
		}
	}
	for _, bad := range [][]byte{{0x02}, {0x05, 0x88, 0x1a}, ieTimeCorr} {
		it := NewPayloadIEIterator(bad)
		if _, done, err := it.Next(); !errors.Is(err, ErrBadIE) || !done {
			t.Errorf("payload iterator on [% x]: done=%v err=%v, want done and ErrBadIE", bad, done, err)
		}
	}
}

func TestAppendIEs(t *testing.T) {
	var b []byte
	var err error
	steps := []func() ([]byte, error){
		func() ([]byte, error) { return AppendHeaderIE(b, 0x1e, []byte{0x34, 0x12}) },
		func() ([]byte, error) { return AppendHeaderIE(b, HeaderIEHT1, nil) },
		func() ([]byte, error) { return AppendPayloadIE(b, PayloadIEGroupMLME, []byte{0x1a, 0x2b}) },
		func() ([]byte, error) { return AppendPayloadIE(b, PayloadIEGroupTermination, nil) },
		func() ([]byte, error) { return AppendHeaderIE(b, HeaderIEHT2, nil) },
	}
	for _, s := range steps {
		if b, err = s(); err != nil {
			t.Fatal(err)
		}
	}
	if want := cat(ieTimeCorr, ieHT1, ieMLME, iePT, ieHT2); !bytes.Equal(b, want) {
		t.Errorf("appended IEs (-want +got):\n-[% x]\n+[% x]", want, b)
	}
	if _, err := AppendHeaderIE(nil, 1, make([]byte, MaxHeaderIEContent+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("AppendHeaderIE(128 octets): err = %v, want ErrTooLong", err)
	}
	if _, err := AppendPayloadIE(nil, 1, make([]byte, MaxPayloadIEContent+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("AppendPayloadIE(2048 octets): err = %v, want ErrTooLong", err)
	}
	if _, err := AppendPayloadIE(nil, 16, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("AppendPayloadIE(group 16): err = %v, want ErrInvalid", err)
	}
	if out, err := AppendHeaderIE(nil, 1, make([]byte, MaxHeaderIEContent)); err != nil || len(out) != 2+MaxHeaderIEContent {
		t.Errorf("AppendHeaderIE(127 octets) = %d bytes, %v", len(out), err)
	}
}

// TestAppendFrameChecksIEs: AppendFrame refuses an IE field Decode would
// reject, as far as the field is in the clear.
func TestAppendFrameChecksIEs(t *testing.T) {
	h := ieHeader()
	for _, bad := range [][]byte{nil, {0x02}, {0x05, 0x0f, 0x34, 0x12}, cat(ieHT1, ieTimeCorr)} {
		if _, err := AppendFrame(nil, &h, bad, true); !errors.Is(err, ErrBadIE) {
			t.Errorf("AppendFrame(IE field [% x]): err = %v, want ErrBadIE", bad, err)
		}
	}
	// Encrypted: what follows HT1 is ciphertext and is not checked.
	h.SecurityEnabled = true
	h.Security = AuxSecurityHeader{Level: 5, KeyIDMode: 1}
	if _, err := AppendFrame(nil, &h, cat(ieHT1, []byte{0x01}), true); err != nil {
		t.Errorf("AppendFrame(encrypted payload IEs): %v", err)
	}
}
