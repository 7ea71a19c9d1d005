package ieee802154

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// longFrame builds a data frame of psduLen octets (FCS of fcsLen
// included), extended addresses, one PAN ID, a payload of a counting
// pattern: what a SUN PHY sniffer captures.
func longFrame(t testing.TB, psduLen, fcsLen int) []byte {
	t.Helper()
	h := Header{Type: FrameData, Version: Version2006, Seq: 7, DstPAN: 0xabcd, SrcPAN: 0xabcd,
		Dst: ExtAddress(extB), Src: ExtAddress(extA)}
	b := make([]byte, h.Len(), psduLen)
	if _, err := h.Encode(b); err != nil {
		t.Fatal(err)
	}
	for len(b) < psduLen-fcsLen {
		b = append(b, byte(len(b)))
	}
	switch fcsLen {
	case FCSLen16:
		b = binary.LittleEndian.AppendUint16(b, FCS(b))
	case FCSLen32:
		b = binary.LittleEndian.AppendUint32(b, FCS32(b))
	}
	return b
}

func TestDecodePHY(t *testing.T) {
	tests := []struct {
		name      string
		psduLen   int
		fcsOnAir  int // FCS the frame carries
		fcsLen    int // FCS DecodePHY is told of
		maxPSDU   int
		wantErr   error
		wantBytes int // payload octets
	}{
		{"127, CRC-16, O-QPSK limit", 127, 2, 2, MaxPSDU, nil, 127 - 2 - 21},
		{"128 over the O-QPSK limit", 128, 2, 2, MaxPSDU, ErrTooLong, 0},
		{"164, CRC-16, SUN", 164, 2, 2, MaxSUNPSDU, nil, 164 - 2 - 21},
		{"2047, CRC-16, SUN", 2047, 2, 2, MaxSUNPSDU, nil, 2047 - 2 - 21},
		{"2048 over the SUN limit", 2048, 2, 2, MaxSUNPSDU, ErrTooLong, 0},
		{"164, CRC-32", 164, 4, 4, MaxSUNPSDU, nil, 164 - 4 - 21},
		{"2047, CRC-32", 2047, 4, 4, MaxSUNPSDU, nil, 2047 - 4 - 21},
		{"CRC-32 frame read as CRC-16", 164, 4, 2, MaxSUNPSDU, ErrBadFCS, 0},
		{"CRC-16 frame read as CRC-32", 164, 2, 4, MaxSUNPSDU, ErrBadFCS, 0},
		{"no FCS, 2045", 2045, 0, 0, MaxSUNPSDU, nil, 2045 - 21},
		{"no FCS, 2046", 2046, 0, 0, MaxSUNPSDU, ErrTooLong, 0},
		{"FCS of 3", 164, 2, 3, MaxSUNPSDU, ErrInvalid, 0},
		{"limit above SUN", 164, 2, 2, MaxSUNPSDU + 1, ErrInvalid, 0},
		{"limit below O-QPSK", 100, 2, 2, 126, ErrInvalid, 0},
		{"3 octets with CRC-32", 3, 0, 4, MaxSUNPSDU, ErrTruncated, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var psdu []byte
			if tt.psduLen < 21 {
				psdu = make([]byte, tt.psduLen)
			} else {
				psdu = longFrame(t, tt.psduLen, tt.fcsOnAir)
			}
			var f Frame
			err := f.DecodePHY(psdu, tt.fcsLen, tt.maxPSDU)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Payload) != tt.wantBytes || f.Src != ExtAddress(extA) || f.Dst != ExtAddress(extB) || f.Seq != 7 {
				t.Errorf("payload %d octets (want %d), %v -> %v seq %d", len(f.Payload), tt.wantBytes, f.Src, f.Dst, f.Seq)
			}
			if tt.fcsLen == FCSLen32 && f.FCS32 != binary.LittleEndian.Uint32(psdu[len(psdu)-4:]) {
				t.Errorf("FCS32 %#x", f.FCS32)
			}
		})
	}
	// Decode, the radio path, keeps the 127-octet limit.
	var f Frame
	if err := f.Decode(longFrame(t, 164, 2), true); !errors.Is(err, ErrTooLong) {
		t.Errorf("Decode of 164 octets: %v, want ErrTooLong", err)
	}
}

// TestFCS32 against the CRC-32 check value ("123456789" → 0xcbf43926,
// the IEEE 802.3 CRC the 4-octet FCS is).
func TestFCS32(t *testing.T) {
	if got := FCS32([]byte("123456789")); got != 0xcbf43926 {
		t.Errorf("FCS32 = %#x, want 0xcbf43926", got)
	}
}

// TestDecodePHYTshark: tshark reads the 164- and 2047-octet frames (CRC-16
// by default, CRC-32 with wpan.fcs_format) with a valid FCS and the same
// addresses and length: our FCS32 is the FCS Wireshark checks.
func TestDecodePHYTshark(t *testing.T) {
	oracle.Tshark(t)
	for _, fcs := range []int{FCSLen16, FCSLen32} {
		t.Run(fmt.Sprint("FCS ", fcs), func(t *testing.T) {
			frames := [][]byte{longFrame(t, 164, fcs), longFrame(t, 2047, fcs)}
			c := oracle.WritePcap(t, oracle.LinkTypeIEEE802154WithFCS, frames...)
			if fcs == FCSLen32 {
				c = c.With("wpan.fcs_format:ITU-T CRC-32")
			}
			rows := c.FieldMaps(t, "frame.len", "wpan.fcs_ok", "wpan.fcs", "wpan.fcs32", "wpan.src64", "wpan.dst64", "wpan.seq_no")
			for i, row := range rows {
				var fr Frame
				if err := fr.DecodePHY(frames[i], fcs, MaxSUNPSDU); err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"frame.len": strconv.Itoa(len(frames[i])), "wpan.fcs_ok": "1",
					"wpan.src64": "02:12:34:56:78:ab:cd:ef", "wpan.dst64": "0a:0b:0c:0d:0e:0f:10:11", "wpan.seq_no": "7"}
				if fcs == FCSLen16 {
					want["wpan.fcs"] = fmt.Sprintf("0x%04x", fr.FCS)
				} else {
					want["wpan.fcs32"] = fmt.Sprintf("0x%08x", fr.FCS32)
				}
				for k, w := range want {
					if row[k] != w {
						t.Errorf("frame %d (%d octets): %s tshark %q, ours %q", i+1, len(frames[i]), k, row[k], w)
					}
				}
			}
		})
	}
}

// FuzzDecodePHY: DecodePHY never panics, and a frame it accepts within
// MaxPSDU (MaxPSDU-2 without FCS) is one Decode accepts too, with the same
// header.
func FuzzDecodePHY(f *testing.F) {
	f.Add(longFrame(f, 164, 2), 2)
	f.Add(longFrame(f, 300, 4), 4)
	f.Add(longFrame(f, 100, 0), 0)
	f.Add(longFrame(f, 127, 2), 2)
	f.Add(bytes.Repeat([]byte{0x41}, 2100), 2)
	f.Add([]byte{1, 2, 3}, 4)
	f.Fuzz(func(t *testing.T, data []byte, fcsLen int) {
		var fr Frame
		if err := fr.DecodePHY(data, fcsLen, MaxSUNPSDU); err != nil {
			return
		}
		limit := MaxPSDU
		if fcsLen == FCSLenNone {
			limit -= FCSLen16
		}
		if len(data) > limit || fcsLen == FCSLen32 {
			return
		}
		var g Frame
		if err := g.Decode(data, fcsLen == FCSLen16); err != nil {
			t.Fatalf("DecodePHY accepts what Decode refuses (%v): % x", err, data)
		}
		if g.Header != fr.Header || !bytes.Equal(g.Payload, fr.Payload) {
			t.Fatalf("headers differ: %+v vs %+v", g.Header, fr.Header)
		}
	})
}
