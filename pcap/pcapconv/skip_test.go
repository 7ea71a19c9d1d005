package pcapconv

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
)

// TestDecodeSUNFramesMatchTshark: the 164- and 2047-octet frames of
// sun_long.pcap (CRC-16) and sun_crc32.pcap (CRC-32), longer than the
// 127 octets of the 2.4 GHz PHY, decode to the packets tshark rebuilds
// from them.
func TestDecodeSUNFramesMatchTshark(t *testing.T) {
	for _, tc := range []struct {
		file  string
		prefs []string
		fcs32 int
	}{
		{"sun_long.pcap", nil, 0},
		{"sun_crc32.pcap", []string{"wpan.fcs_format:ITU-T CRC-32"}, 2}, // one pref: 4-octet FCS
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var ipv6 bytes.Buffer
			st, err := Decode(bytes.NewReader(in), DecodeOptions{IPv6: &ipv6, OnSkip: func(s Skip) { t.Errorf("skipped: %v", s) }})
			if err != nil {
				t.Fatal(err)
			}
			if st.Packets != 2 || st.FCS32 != tc.fcs32 {
				t.Errorf("stats %+v: want 2 packets, %d with CRC-32", st, tc.fcs32)
			}
			got := readPackets(t, ipv6.Bytes())
			// IPv6 40 + UDP 8 + the frame's payload: the PSDU less 21
			// octets of MAC header, 3 of IPHC, 8 of UDP and the FCS.
			fcs := 2 + 2*len(tc.prefs)
			if len(got) != 2 || len(got[0]) != 48+164-32-fcs || len(got[1]) != 48+2047-32-fcs {
				t.Fatalf("%d packets: lengths %d", len(got), len(got[0]))
			}
			oracle.Tshark(t)
			c := oracle.Capture{Path: path, TwoPass: true, Prefs: tc.prefs}
			srcs := c.DataSources(t)
			for i := range got {
				want := srcs[i+1]["Decompressed 6LoWPAN IPHC"]
				if !bytes.Equal(got[i], want) {
					t.Errorf("packet %d (%d octets):\n got % x\nwant % x (tshark)", i+1, len(got[i]), got[i], want)
				}
			}
		})
	}
}

// TestDecodeSkipReasons: every frame of skips.pcap that gives no packet is
// reported once, with its reason, in capture order (the incomplete
// datagram at the end), and the counters agree.
func TestDecodeSkipReasons(t *testing.T) {
	in, err := os.ReadFile("testdata/skips.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var skips []Skip
	var js bytes.Buffer
	st, err := Decode(bytes.NewReader(in), DecodeOptions{JSON: &js, OnSkip: func(s Skip) { skips = append(skips, s) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		frame  int
		reason SkipReason
		detail string
	}{
		{2, SkipDuplicate, "sequence number 10"},
		{3, SkipBadFCS, "no CRC-32 FCS either"},
		{4, SkipNotData, "beacon"},
		{5, SkipNotData, "ack"},
		{6, SkipNotLowpan, "dispatch 0x00 at offset 21"},
		{7, SkipUnknownContext, "context 3"},
		{8, SkipTooLong, "2048 octets"},
		{9, SkipCaptureTruncated, "captured 64 of its 164 octets"},
		{10, SkipIncomplete, "tag 0x4242 of 400 octets"},
	}
	if len(skips) != len(want) {
		t.Fatalf("%d skips, want %d: %v", len(skips), len(want), skips)
	}
	for i, w := range want {
		s := skips[i]
		if !slices.Equal(s.Frames, []int{w.frame}) || s.Reason != w.reason || !strings.Contains(s.Detail, w.detail) {
			t.Errorf("skip %d: %v; want frame %d: %v containing %q", i, s, w.frame, w.reason, w.detail)
		}
	}
	if st.Frames != 10 || st.Packets != 1 || st.Errors != 5 || st.Skipped != 2 || st.Duplicates != 1 || st.Incomplete != 1 {
		t.Errorf("stats %+v", st)
	}
	total := 0
	for _, c := range st.Skips() {
		total += c.Frames
	}
	if total+st.Packets != st.Frames {
		t.Errorf("%d skipped + %d decoded != %d frames", total, st.Packets, st.Frames)
	}
	// One JSON record per frame: the packet and each skip with its reason.
	var recs []Record
	for _, line := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 10 || recs[0].IPv6 == nil || recs[2].Skip != "bad FCS" || recs[2].Error == "" || recs[3].Skip != "not a data frame" || recs[3].Error != "" {
		t.Errorf("JSON records:\n%s", js.String())
	}
}

// TestDecodeFCSModes: a CRC-32 capture read as CRC-16 only says how to
// read it; --max-psdu 127 refuses the SUN frames as too long; unchecked
// takes the 2 last octets for metadata.
func TestDecodeFCSModes(t *testing.T) {
	crc32, _ := os.ReadFile("testdata/sun_crc32.pcap")
	long, _ := os.ReadFile("testdata/sun_long.pcap")
	count := func(in []byte, o DecodeOptions) (DecodeStats, []Skip) {
		var skips []Skip
		o.OnSkip = func(s Skip) { skips = append(skips, s) }
		st, err := Decode(bytes.NewReader(in), o)
		if err != nil {
			t.Fatal(err)
		}
		return st, skips
	}
	st, skips := count(crc32, DecodeOptions{FCS: FCS16})
	if st.ByReason[SkipBadFCS] != 2 || len(skips) != 2 || !strings.Contains(skips[0].Detail, "valid CRC-32 FCS: try --fcs 32") {
		t.Errorf("CRC-32 frames read as CRC-16: %+v %v", st, skips)
	}
	if st, _ = count(crc32, DecodeOptions{FCS: FCS32}); st.Packets != 2 {
		t.Errorf("FCS32: %+v", st)
	}
	if st, skips = count(long, DecodeOptions{MaxPSDU: ieee802154.MaxPSDU}); st.ByReason[SkipTooLong] != 2 || !strings.Contains(skips[0].Detail, "limit of 127") {
		t.Errorf("MaxPSDU 127: %+v %v", st, skips)
	}
	// The CRC-16 of the frames read as metadata: the frames lose their
	// last 2 octets, which is what UDP's length then shows.
	if st, _ = count(long, DecodeOptions{FCS: FCSUnchecked}); st.Packets != 2 {
		t.Errorf("unchecked: %+v", st)
	}
	if _, err := Decode(bytes.NewReader(long), DecodeOptions{MaxPSDU: 4096}); err == nil {
		t.Error("MaxPSDU 4096 accepted")
	}
	for _, s := range []string{"bogus", "8"} {
		if _, err := ParseFCSMode(s); err == nil {
			t.Errorf("ParseFCSMode(%q) accepted", s)
		}
	}
}

// TestDecodeOtherTraffic: a record that is neither 802.15.4 nor ZEP is
// named, not silently dropped.
func TestDecodeOtherTraffic(t *testing.T) {
	var buf bytes.Buffer
	w, _ := pcapio.NewWriter(&buf, pcapio.LinkTypeIPv6)
	pkt := make([]byte, 48)
	pkt[0], pkt[6], pkt[7] = 0x60, 17, 64
	binary.BigEndian.PutUint16(pkt[4:], 8)
	binary.BigEndian.PutUint16(pkt[40:], 1000)
	binary.BigEndian.PutUint16(pkt[42:], 53)
	binary.BigEndian.PutUint16(pkt[44:], 8)
	w.WritePacket(timeZero, pkt)
	var skips []Skip
	st, err := Decode(&buf, DecodeOptions{OnSkip: func(s Skip) { skips = append(skips, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 || len(skips) != 1 || skips[0].Reason != SkipOtherTraffic || !strings.Contains(skips[0].Detail, "port 53") {
		t.Errorf("stats %+v, skips %v", st, skips)
	}
}

// FuzzDecodeFrame: any frame, in a one-record capture, with any FCS mode
// and limit, gives either one packet or one skip, never a panic.
func FuzzDecodeFrame(f *testing.F) {
	for _, name := range []string{"skips.pcap", "sun_long.pcap", "sun_crc32.pcap", "gen_iphc_fcs.pcap", "gen_frag.pcap"} {
		in, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range readPackets(f, in) {
			f.Add(p, uint8(0), uint16(0))
		}
	}
	f.Add([]byte{}, uint8(1), uint16(127))
	f.Add(bytes.Repeat([]byte{0xc0}, 300), uint8(2), uint16(2047))
	f.Fuzz(func(t *testing.T, frame []byte, mode uint8, max uint16) {
		var buf bytes.Buffer
		w, _ := pcapio.NewWriter(&buf, pcapio.LinkTypeIEEE802154WithFCS)
		if err := w.WritePacket(timeZero, frame); err != nil {
			return
		}
		o := DecodeOptions{FCS: FCSMode(mode % 4), MaxPSDU: int(max)}
		if o.MaxPSDU != 0 && (o.MaxPSDU < ieee802154.MaxPSDU || o.MaxPSDU > ieee802154.MaxSUNPSDU) {
			o.MaxPSDU = 0
		}
		skips := 0
		o.OnSkip = func(Skip) { skips++ }
		st, err := Decode(&buf, o)
		if err != nil && !errors.Is(err, pcapio.ErrMalformed) {
			t.Fatalf("decode: %v", err)
		}
		if st.Packets+skips != 1 && err == nil {
			t.Fatalf("%d packets and %d skips for one frame: %+v", st.Packets, skips, st)
		}
	})
}

// TestDecodeFragmentSkips: a datagram missing its last fragment is named
// once with all its frames; a fragment heard twice (MAC duplicates kept)
// is a duplicate and the datagram still completes.
func TestDecodeFragmentSkips(t *testing.T) {
	in, _ := os.ReadFile("testdata/gen_frag.pcap")
	frags := readPackets(t, in)
	if len(frags) != 5 {
		t.Fatalf("%d frames in gen_frag.pcap", len(frags))
	}
	write := func(frames ...[]byte) *bytes.Buffer {
		var buf bytes.Buffer
		w, _ := pcapio.NewWriter(&buf, pcapio.LinkTypeIEEE802154WithFCS)
		for _, f := range frames {
			w.WritePacket(timeZero, f)
		}
		return &buf
	}
	var skips []Skip
	onSkip := func(s Skip) { skips = append(skips, s) }
	st, err := Decode(write(frags[:4]...), DecodeOptions{OnSkip: onSkip})
	if err != nil || st.Packets != 0 || st.Incomplete != 4 || len(skips) != 1 ||
		skips[0].Reason != SkipIncomplete || !slices.Equal(skips[0].Frames, []int{1, 2, 3, 4}) {
		t.Errorf("missing last fragment: %+v %v %v", st, skips, err)
	}
	if got := skips[0].String(); !strings.HasPrefix(got, "frames 1, 2, 3, 4: skipped: fragment missing: datagram tag 0x4242 of 440 octets") {
		t.Errorf("%q", got)
	}
	skips = nil
	st, err = Decode(write(frags[0], frags[1], frags[1], frags[2], frags[3], frags[4]), DecodeOptions{KeepDuplicates: true, OnSkip: onSkip})
	if err != nil || st.Packets != 1 || st.Duplicates != 1 || len(skips) != 1 || skips[0].Reason != SkipDuplicate || skips[0].Frames[0] != 3 {
		t.Errorf("repeated fragment: %+v %v %v", st, skips, err)
	}
}
