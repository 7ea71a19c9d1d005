package pcapio

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestZEPDecode(t *testing.T) {
	psdu := []byte{0x41, 0xcc, 0x01, 0xcd, 0xab, 0x11, 0x22}
	tests := []struct {
		name string
		in   string // hex
		want ZEP
	}{
		{
			// The first message of gen_zep.pcap, header and 7 PSDU bytes.
			name: "v2 data, CRC mode, NTP zero",
			in:   "4558 02 01 0b 0001 01 ff 0000000000000000 00000000 00000000000000000000 07 41cc01cdab1122",
			want: ZEP{Version: 2, Type: ZEPTypeData, Channel: 11, DeviceID: 1, LQIMode: true, LQI: 0xff, PSDU: psdu},
		},
		{
			// NTP 0xe8fe6f80.80000000 = 2023-11-14T22:13:20.5Z (Unix 1700000000.5).
			name: "v2 data, LQI mode, timestamp, sequence",
			in:   "4558 02 01 1a 1234 00 7f e8fe6f8080000000 deadbeef 00000000000000000000 87 41cc01cdab1122",
			want: ZEP{Version: 2, Type: ZEPTypeData, Channel: 26, DeviceID: 0x1234, LQI: 0x7f,
				Timestamp: time.Unix(1700000000, 500000000), Seq: 0xdeadbeef, PSDU: psdu},
		},
		{
			name: "v2 data, era 1 timestamp (2036 onwards)",
			in:   "4558 02 01 0b 0001 01 00 0000000100000000 00000001 00000000000000000000 00",
			want: ZEP{Version: 2, Type: ZEPTypeData, Channel: 11, DeviceID: 1, LQIMode: true,
				Timestamp: time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC), Seq: 1, PSDU: []byte{}},
		},
		{
			name: "v2 ack",
			in:   "4558 02 02 00000102",
			want: ZEP{Version: 2, Type: ZEPTypeAck, Seq: 258},
		},
		{
			name: "v1",
			in:   "4558 01 0f 00aa 00 c8 00000000000000 07 41cc01cdab1122",
			want: ZEP{Version: 1, Type: ZEPTypeData, Channel: 15, DeviceID: 0xaa, LQI: 200, PSDU: psdu},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var z ZEP
			if err := z.Decode(mustHex(t, tt.in)); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !sameZEP(z, tt.want) {
				t.Errorf("(-want +got)\n-%+v\n+%+v", tt.want, z)
			}
			if !z.Timestamp.IsZero() && z.Timestamp.Location() != time.UTC {
				t.Errorf("timestamp in %v, want UTC", z.Timestamp.Location())
			}
		})
	}
}

func TestZEPDecodeErrors(t *testing.T) {
	v2 := mustHex(t, "4558 02 01 0b 0001 01 ff 0000000000000000 00000000 00000000000000000000 03 010203")
	v1 := mustHex(t, "4558 01 0f 00aa 00 c8 00000000000000 02 0102")
	ack := mustHex(t, "4558 02 02 00000102")
	// Every truncation of every form fails cleanly.
	for _, full := range [][]byte{v2, v1, ack} {
		for n := range len(full) {
			var z ZEP
			if err := z.Decode(full[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("Decode(% x) = %v, want ErrMalformed", full[:n], err)
			}
		}
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"bad preamble", append([]byte("EY"), v2[2:]...), ErrMalformed},
		{"trailing byte", append(bytes.Clone(v2), 0), ErrMalformed},
		{"v1 trailing byte", append(bytes.Clone(v1), 0), ErrMalformed},
		{"ack trailing byte", append(bytes.Clone(ack), 0), ErrMalformed},
		{"version 3", append([]byte{'E', 'X', 3}, v2[3:]...), ErrUnsupported},
		{"version 0", append([]byte{'E', 'X', 0}, v2[3:]...), ErrUnsupported},
		{"v2 type 3", append([]byte{'E', 'X', 2, 3}, v2[4:]...), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var z ZEP
			err := z.Decode(tt.in)
			wantErr(t, err, tt.want)
			if z.PSDU != nil || z.Version != 0 {
				t.Errorf("failed Decode left %+v, want the zero ZEP", z)
			}
		})
	}
}

// The length byte uses only its low 7 bits, as in Wireshark.
func TestZEPLengthMask(t *testing.T) {
	var z ZEP
	if err := z.Decode(mustHex(t, "4558 02 01 0b 0001 01 ff 0000000000000000 00000000 00000000000000000000 82 0102")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(z.PSDU, []byte{1, 2}) {
		t.Errorf("PSDU % x, want 01 02", z.PSDU)
	}
}

func TestZEPRoundTrip(t *testing.T) {
	psdu := bytes.Repeat([]byte{0x5a}, ZEPMaxPSDU)
	for _, z := range []ZEP{
		{Version: 2, Type: ZEPTypeData, Channel: 11, DeviceID: 1, LQIMode: true, LQI: 0xff, PSDU: psdu[:10]},
		{Version: 2, Type: ZEPTypeData, Channel: 26, DeviceID: 0xfffe, LQI: 3, Seq: 1 << 31, PSDU: psdu,
			Timestamp: time.Date(2025, 6, 1, 12, 0, 0, 999999999, time.UTC)},
		{Version: 2, Type: ZEPTypeData, Channel: 11, PSDU: []byte{},
			Timestamp: time.Date(1968, 1, 20, 3, 14, 8, 1, time.UTC)}, // first second of era 0 with the top bit set
		{Version: 2, Type: ZEPTypeData, Channel: 11, PSDU: []byte{},
			Timestamp: time.Date(2104, 2, 26, 9, 42, 23, 123, time.UTC)}, // end of era 1
		{Version: 2, Type: ZEPTypeData, Channel: 11, PSDU: []byte{},
			Timestamp: time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)}, // NTP 0.0 would mean "unknown"
		{Version: 2, Type: ZEPTypeAck, Seq: 42},
	} {
		b := AppendZEP([]byte{0xee}, &z)
		if len(b)-1 != z.Len() {
			t.Errorf("AppendZEP wrote %d bytes, Len() = %d", len(b)-1, z.Len())
		}
		var got ZEP
		if err := got.Decode(b[1:]); err != nil {
			t.Fatalf("Decode(AppendZEP(%+v)): %v", z, err)
		}
		if !sameZEP(got, z) {
			t.Errorf("round trip (-want +got)\n-%+v\n+%+v", z, got)
		}
	}
}

// Every nanosecond survives the NTP fraction both ways.
func TestNTPFractionRoundTrip(t *testing.T) {
	base := time.Unix(1700000000, 0)
	check := func(ns int) {
		tm := base.Add(time.Duration(ns))
		if got := ntpToTime(timeToNTP(tm)); !got.Equal(tm) {
			t.Fatalf("ntpToTime(timeToNTP(%v)) = %v", tm, got)
		}
	}
	for ns := range 100000 {
		check(ns)
		check(999999999 - ns)
	}
	for ns := 0; ns < 1e9; ns += 9973 {
		check(ns)
	}
	if got := timeToNTP(time.Unix(0, 0)); got != 2208988800<<32 {
		t.Errorf("timeToNTP(Unix epoch) = %#x, want %#x", got, uint64(2208988800)<<32)
	}
	if got := timeToNTP(time.Time{}); got != 0 {
		t.Errorf("timeToNTP(zero) = %#x, want 0", got)
	}
}

func TestZEPTruncatesLongPSDU(t *testing.T) {
	z := ZEP{PSDU: make([]byte, 200)}
	b := AppendZEP(nil, &z)
	if len(b) != ZEPv2HeaderLen+ZEPMaxPSDU || b[ZEPv2HeaderLen-1] != ZEPMaxPSDU {
		t.Errorf("AppendZEP of a 200-byte PSDU wrote %d bytes, length byte %d", len(b), b[ZEPv2HeaderLen-1])
	}
}

func TestZEPAllocs(t *testing.T) {
	z := ZEP{Channel: 11, DeviceID: 1, LQIMode: true, Seq: 7, PSDU: make([]byte, 100), Timestamp: time.Unix(1700000000, 5)}
	b := AppendZEP(make([]byte, 0, 256), &z)
	buf := make([]byte, 0, 256)
	var got ZEP
	if a := testing.AllocsPerRun(1000, func() {
		if err := got.Decode(b); err != nil {
			t.Fatal(err)
		}
		buf = AppendZEP(buf[:0], &got)
	}); a != 0 {
		t.Errorf("Decode + AppendZEP allocate %v times, want 0", a)
	}
}
