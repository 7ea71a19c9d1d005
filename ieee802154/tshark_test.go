package ieee802154

import (
	"github.com/lowpanbr/lowpanbr/internal/oracle"

	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// oracleFields are the tshark fields compared, in -e order.
var oracleFields = []string{
	"frame.number",
	"wpan.frame_type", "wpan.version", "wpan.seq_no",
	"wpan.dst_pan", "wpan.src_pan", "wpan.dst16", "wpan.dst64", "wpan.src16", "wpan.src64",
	"wpan.fcs_ok", "wpan.pending", "wpan.ack_request", "wpan.pan_id_compression",
	"wpan.seqno_suppression", "wpan.ie_present", "wpan.security",
	"wpan.aux_sec.sec_level", "wpan.aux_sec.key_id_mode", "wpan.aux_sec.frame_counter_suppression",
	"wpan.aux_sec.asn_in_nonce", "wpan.aux_sec.frame_counter", "wpan.aux_sec.key_source.bytes",
	"wpan.aux_sec.key_index", "wpan.mic",
	"wpan.header_ie.id", "wpan.payload_ie.id", "wpan.cmd",
}

type oracleFrame struct {
	name    string   // for hand-worked vectors
	skip    []string // fields tshark reads otherwise (katCase.tsharkDiffers)
	h       Header
	payload []byte // as given to AppendFrame (IE field first when IEPresent)
	psdu    []byte
}

// oracleCorpus builds frames over versions × frame types × address modes ×
// PAN ID forms, cycling security configurations, sequence number
// suppression, frame pending, AR and IEs through them.
func oracleCorpus(t *testing.T) []oracleFrame {
	t.Helper()
	type secCfg struct {
		on bool
		s  AuxSecurityHeader
	}
	secs := []secCfg{
		{}, // unsecured
		{true, AuxSecurityHeader{Level: 5, KeyIDMode: 1, FrameCounter: 0x01020304, KeyIndex: 1}},
		{},
		{true, AuxSecurityHeader{Level: 1, KeyIDMode: 0, FrameCounter: 0xdeadbeef}},
		{true, AuxSecurityHeader{Level: 2, KeyIDMode: 2, FrameCounter: 7, KeySource: [8]byte{1, 2, 3, 4}, KeyIndex: 2}},
		{},
		{true, AuxSecurityHeader{Level: 3, KeyIDMode: 3, FrameCounter: 8, KeySource: [8]byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}, KeyIndex: 3}},
		{true, AuxSecurityHeader{Level: 4, KeyIDMode: 1, FrameCounter: 9, KeyIndex: 4}},
		{true, AuxSecurityHeader{Level: 6, KeyIDMode: 2, FrameCounter: 10, KeySource: [8]byte{0xa1, 0xa2, 0xa3, 0xa4}, KeyIndex: 5}},
		{true, AuxSecurityHeader{Level: 7, KeyIDMode: 3, FrameCounter: 11, KeySource: [8]byte{8, 7, 6, 5, 4, 3, 2, 1}, KeyIndex: 6}},
		{true, AuxSecurityHeader{Level: 0, KeyIDMode: 1, FrameCounter: 12, KeyIndex: 7}},
	}
	modes := []AddrMode{AddrNone, AddrShort, AddrExtended}
	var out []oracleFrame
	i := 0
	for _, v := range []FrameVersion{Version2003, Version2006, Version2015} {
		for _, ft := range []FrameType{FrameBeacon, FrameData, FrameAck, FrameCommand} {
			for _, dm := range modes {
				for _, sm := range modes {
					// PAN variants: equal / different when the bit
					// means "equal PANs"; natural / forced in the 2015
					// rows where it does not.
					variants := []int{0}
					if bitMeansEqualPANs(v, dm, sm) || v == Version2015 {
						variants = []int{0, 1}
					}
					for _, pv := range variants {
						i++
						h := Header{Type: ft, Version: v, Seq: uint8(i), FramePending: i%2 == 0, AckRequest: i%3 == 1,
							DstPAN: 0xabcd, SrcPAN: 0xabcd}
						if pv == 1 {
							if bitMeansEqualPANs(v, dm, sm) {
								h.SrcPAN = 0x1234
							} else {
								h.ForcePANIDCompression = true
							}
						}
						h.Dst = oracleAddr(dm, ShortAddr(0x0100+i), extB, i)
						h.Src = oracleAddr(sm, ShortAddr(0x0200+i), extA, i)
						if sc := secs[i%len(secs)]; sc.on && v != Version2003 {
							h.SecurityEnabled, h.Security = true, sc.s
							if v == Version2015 && i%4 == 1 {
								h.Security.FrameCounterSuppressed = true
							}
							if v == Version2015 && i%5 == 2 {
								h.Security.ASNInNonce = true
							}
						}
						if v == Version2015 && i%3 == 0 {
							h.SeqSuppressed = true
						}
						var payload []byte
						if v == Version2015 && !h.SecurityEnabled && i%2 == 1 && ft != FrameAck {
							h.IEPresent = true
							payload, _ = AppendHeaderIE(payload, 0x1e, []byte{0x34, 0x12}) // time correction
							payload, _ = AppendHeaderIE(payload, HeaderIEHT1, nil)
							payload, _ = AppendPayloadIE(payload, PayloadIEGroupVendor, []byte{0x00, 0x12, 0x4b, 0x99})
							payload, _ = AppendPayloadIE(payload, PayloadIEGroupTermination, nil)
						}
						switch ft {
						case FrameBeacon:
							if v != Version2015 {
								// superframe spec 0xcfff, GTS spec, pending address spec
								payload = append(payload, 0xff, 0xcf, 0x00, 0x00)
							}
							payload = append(payload, 'b')
						case FrameData:
							payload = append(payload, 0x00, 'd', byte(i))
						case FrameCommand:
							payload = append(payload, 0x04) // data request
						}
						psdu, err := AppendFrame(nil, &h, payload, true)
						if err != nil {
							t.Fatalf("frame %d: AppendFrame(%+v): %v", i, h, err)
						}
						out = append(out, oracleFrame{h: h, payload: payload, psdu: psdu})
					}
				}
			}
		}
	}
	return out
}

// TestTsharkOracle encodes a corpus with AppendFrame, has tshark (an
// implementation we did not write) dissect it, and compares every header
// field with what was encoded, then decodes each frame again with Decode.
func TestTsharkOracle(t *testing.T) {
	oracle.Tshark(t)
	corpus := oracleCorpus(t)
	if len(corpus) < 100 {
		t.Fatalf("corpus has %d frames, want at least 100", len(corpus))
	}
	// The hand-worked vectors too, decode-only (non-canonical) ones
	// included: tshark checks our hand derivations and Decode.
	for _, set := range [][]katCase{katCases(), securityCases(), ieCases()} {
		for _, tc := range set {
			fcs := FCS(tc.psdu)
			corpus = append(corpus, oracleFrame{name: tc.name, skip: tc.tsharkDiffers, h: tc.want.Header, payload: tc.want.Body,
				psdu: append(bytes.Clone(tc.psdu), byte(fcs), byte(fcs>>8))})
		}
	}
	frames := make([][]byte, len(corpus))
	for i, f := range corpus {
		frames[i] = f.psdu
	}
	rows := oracle.WritePcap(t, oracle.LinkTypeIEEE802154WithFCS, frames...).FieldMaps(t, oracleFields...)
	if len(rows) != len(corpus) {
		t.Fatalf("tshark printed %d rows for %d frames", len(rows), len(corpus))
	}
	dump := os.Getenv("TSHARK_ORACLE_DUMP") != ""
	for i, got := range rows {
		if dump {
			t.Logf("frame %d: %v", i+1, got)
		}
		want := oracleExpect(t, i+1, corpus[i])
		for _, k := range corpus[i].skip {
			if got[k] != want[k] {
				t.Logf("frame %d (%s): known tshark disagreement on %s: ours %q, tshark %q",
					i+1, corpus[i].name, k, want[k], got[k])
			}
			delete(want, k)
		}
		var sb strings.Builder
		for _, k := range oracleFields {
			w, ok := want[k]
			if !ok {
				continue // not compared for this frame (see oracleExpect)
			}
			if g := got[k]; g != w {
				fmt.Fprintf(&sb, "-%s: %q\n+%s: %q\n", k, w, k, g)
			}
		}
		if sb.Len() > 0 {
			t.Errorf("frame %d %q (%v v%v dst %v src %v sec %v): tshark disagrees (-ours +tshark):\n%s",
				i+1, corpus[i].name, corpus[i].h.Type, corpus[i].h.Version, corpus[i].h.Dst.Mode, corpus[i].h.Src.Mode,
				corpus[i].h.SecurityEnabled, sb.String())
		}
	}
}

// oracleIEIDs lists the IDs of the header IEs and the group IDs of the
// payload IEs in an IE field as tshark prints them, termination IEs
// included.
func oracleIEIDs(t *testing.T, n int, body []byte) (hdr, pay string) {
	var hs, ps []string
	it := NewHeaderIEIterator(body)
	consumed := 0
	for {
		ie, done, err := it.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if done {
			return strings.Join(hs, ","), ""
		}
		hs = append(hs, fmt.Sprintf("0x%04x", ie.ID))
		consumed += 2 + len(ie.Content)
		if ie.ID == HeaderIEHT2 {
			return strings.Join(hs, ","), ""
		}
		if ie.ID == HeaderIEHT1 {
			break
		}
	}
	pit := NewPayloadIEIterator(body[consumed:])
	for {
		ie, done, err := pit.Next()
		if done || err != nil {
			break
		}
		ps = append(ps, fmt.Sprintf("0x%04x", ie.GroupID))
		if ie.GroupID == PayloadIEGroupTermination {
			break
		}
	}
	return strings.Join(hs, ","), strings.Join(ps, ",")
}

func oracleAddr(m AddrMode, s ShortAddr, e ExtAddr, i int) Address {
	switch m {
	case AddrShort:
		return ShortAddress(s)
	case AddrExtended:
		e[7] = byte(i)
		return ExtAddress(e)
	}
	return Address{}
}

func tsBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// oracleExpect returns the tshark field values our encoding implies for
// frame n, decoding the PSDU with Decode as well (so both directions are
// checked against tshark). Fields absent from the map are not compared.
func oracleExpect(t *testing.T, n int, of oracleFrame) map[string]string {
	var f Frame
	if err := f.Decode(of.psdu, true); err != nil {
		t.Fatalf("frame %d: Decode: %v", n, err)
	}
	h := f.Header
	if d := diff(of.h.Dst, h.Dst) + diff(of.h.Src, h.Src); d != "" {
		t.Errorf("frame %d: addresses changed (-want +got):\n%s", n, d)
	}
	m := map[string]string{
		"frame.number":            strconv.Itoa(n),
		"wpan.frame_type":         fmt.Sprintf("0x%04x", uint8(h.Type)),
		"wpan.version":            strconv.Itoa(int(h.Version)),
		"wpan.fcs_ok":             "1",
		"wpan.pending":            tsBool(h.FramePending),
		"wpan.ack_request":        tsBool(h.AckRequest),
		"wpan.pan_id_compression": tsBool(h.PANIDCompression),
		"wpan.seqno_suppression":  tsBool(h.SeqSuppressed),
		"wpan.ie_present":         tsBool(h.IEPresent),
		"wpan.security":           tsBool(h.SecurityEnabled),
		"wpan.seq_no":             "",
		"wpan.dst_pan":            "",
		"wpan.src_pan":            "",
		"wpan.dst16":              "",
		"wpan.dst64":              "",
		"wpan.src16":              "",
		"wpan.src64":              "",
	}
	if !h.SeqSuppressed {
		m["wpan.seq_no"] = strconv.Itoa(int(h.Seq))
	}
	if h.DstPANPresent {
		m["wpan.dst_pan"] = fmt.Sprintf("0x%04x", uint16(h.DstPAN))
	}
	if h.SrcPANPresent {
		m["wpan.src_pan"] = fmt.Sprintf("0x%04x", uint16(h.SrcPAN))
	}
	for _, a := range []struct {
		addr     Address
		k16, k64 string
	}{{h.Dst, "wpan.dst16", "wpan.dst64"}, {h.Src, "wpan.src16", "wpan.src64"}} {
		switch a.addr.Mode {
		case AddrShort:
			m[a.k16] = fmt.Sprintf("0x%04x", uint16(a.addr.Short))
		case AddrExtended:
			m[a.k64] = a.addr.Ext.String()
		}
	}
	if h.SecurityEnabled {
		s := h.Security
		m["wpan.aux_sec.sec_level"] = fmt.Sprintf("0x%02x", s.Level)
		m["wpan.aux_sec.key_id_mode"] = fmt.Sprintf("0x%02x", s.KeyIDMode)
		m["wpan.aux_sec.frame_counter_suppression"] = tsBool(s.FrameCounterSuppressed)
		m["wpan.aux_sec.asn_in_nonce"] = tsBool(s.ASNInNonce)
		m["wpan.aux_sec.frame_counter"] = ""
		if !s.FrameCounterSuppressed {
			m["wpan.aux_sec.frame_counter"] = strconv.FormatUint(uint64(s.FrameCounter), 10)
		}
		m["wpan.aux_sec.key_source.bytes"] = fmt.Sprintf("%x", s.KeySource[:s.KeySourceLen])
		m["wpan.aux_sec.key_index"] = ""
		if s.KeyIDMode != KeyIDModeImplicit {
			m["wpan.aux_sec.key_index"] = fmt.Sprintf("0x%02x", s.KeyIndex)
		}
		m["wpan.mic"] = fmt.Sprintf("%x", f.MIC)
	} else {
		m["wpan.aux_sec.sec_level"] = ""
		m["wpan.mic"] = ""
	}
	if h.IEPresent {
		hdr, pay := oracleIEIDs(t, n, f.Body)
		m["wpan.header_ie.id"] = hdr
		// tshark reads payload IEs only after decrypting, which it
		// cannot do without keys, even for MIC-only levels.
		if !h.SecurityEnabled {
			m["wpan.payload_ie.id"] = pay
		}
	}
	if h.Type == FrameCommand && !h.SecurityEnabled {
		id, err := f.CommandID()
		if err != nil {
			t.Fatalf("frame %d: CommandID: %v", n, err)
		}
		m["wpan.cmd"] = fmt.Sprintf("0x%02x", id)
	}
	return m
}
