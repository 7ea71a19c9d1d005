package ieee802154

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics and that every frame it
// accepts survives a round trip: re-encoding Header and Body with
// AppendFrame and decoding again gives the same header (apart from the
// fields Encode recomputes: the PAN ID Compression bit and which PAN ID
// fields are present, since Encode may pick a more compact legal form),
// the same IE and payload views, and a MIC of the same length.
func FuzzDecode(f *testing.F) {
	for _, set := range [][]katCase{katCases(), securityCases(), ieCases()} {
		for _, tc := range set {
			fcs := FCS(tc.psdu)
			f.Add(tc.psdu, false)
			f.Add(append(bytes.Clone(tc.psdu), byte(fcs), byte(fcs>>8)), true)
			f.Add(tc.psdu[:len(tc.psdu)/2], false) // truncated
		}
	}
	for _, name := range []string{"gen_iphc_fcs.pcap", "gen_iphc_nofcs.pcap", "tcpdump_802_15_4-data.pcap", "tcpdump_802_15_4_beacon.pcap"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		lt, recs, err := readPcap(raw)
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range recs {
			f.Add(r.data, lt == linkTypeIEEE802154WithFCS)
			f.Add(r.data, lt != linkTypeIEEE802154WithFCS)
		}
	}
	f.Add(make([]byte, MaxPSDU+1), true)  // oversized
	f.Add(make([]byte, MaxPSDU-1), false) // oversized without FCS
	f.Add(bytes.Repeat([]byte{0xff}, 60), false)
	f.Add([]byte{}, false)

	f.Fuzz(func(t *testing.T, data []byte, hasFCS bool) {
		var fr Frame
		if err := fr.Decode(data, hasFCS); err != nil {
			return
		}
		out, err := AppendFrame(nil, &fr.Header, fr.Body, true)
		if err != nil {
			t.Fatalf("accepted frame does not re-encode: %v\nheader %+v", err, fr.Header)
		}
		var g Frame
		if err := g.Decode(out, true); err != nil {
			t.Fatalf("re-encoded frame [% x] does not decode: %v", out, err)
		}
		a, b := fr.Header, g.Header
		for _, h := range []*Header{&a, &b} {
			h.PANIDCompression, h.DstPANPresent, h.SrcPANPresent = false, false, false
		}
		if d := diff(a, b); d != "" {
			t.Fatalf("header changed in the round trip (-first +second):\n%s\nin  [% x]\nout [% x]", d, data, out)
		}
		for _, v := range []struct {
			name   string
			w, got []byte
		}{{"Body", fr.Body, g.Body}, {"Payload", fr.Payload, g.Payload}, {"HeaderIEs", fr.HeaderIEs, g.HeaderIEs}, {"PayloadIEs", fr.PayloadIEs, g.PayloadIEs}} {
			if !bytes.Equal(v.w, v.got) || (v.w == nil) != (v.got == nil) {
				t.Fatalf("%s changed (-first +second):\n-[% x]\n+[% x]", v.name, v.w, v.got)
			}
		}
		if len(fr.MIC) != len(g.MIC) {
			t.Fatalf("MIC length %d, then %d", len(fr.MIC), len(g.MIC))
		}
		if hl := g.Header.Len(); hl+len(g.Body)+len(g.MIC)+fcsLen != len(out) {
			t.Fatalf("Len() = %d inconsistent with a %d-byte frame", hl, len(out))
		}
		// Encode's choice is stable: a second round trip is byte-exact.
		out2, err := AppendFrame(nil, &g.Header, g.Body, true)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second re-encoding differs: %v\n-[% x]\n+[% x]", err, out, out2)
		}
	})
}
