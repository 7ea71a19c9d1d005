package pcapio

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// A big-endian pcapng file written out by hand, field by field
// (draft-ietf-opsawg-pcapng §4): SHB, IDB for link type 195 with if_tsresol
// 9 (nanoseconds), a custom block to be skipped, an EPB and an SPB.
const bigEndianVector = `
0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c
00000001 00000020 00c3 0000 00000000  0009 0001 09 000000  0000 0000 00000020
00000bad 00000010 deadbeef 00000010
00000006 00000028 00000000 17979cfe 3d85cd15 00000005 00000006 0102030405 000000 00000028
00000003 00000018 00000007 01020304050607 00 00000018
`

func TestPcapngBigEndianVector(t *testing.T) {
	lt, got := readAll(t, mustHex(t, bigEndianVector))
	if lt != LinkTypeIEEE802154WithFCS {
		t.Errorf("LinkType() = %d, want 195", lt)
	}
	want := []Packet{
		{Timestamp: time.Unix(1700000000, 123456789), LinkType: 195, Data: []byte{1, 2, 3, 4, 5}, OrigLen: 6},
		{LinkType: 195, Data: []byte{1, 2, 3, 4, 5, 6, 7}, OrigLen: 7}, // SPB: no timestamp
	}
	if d := diffPackets(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// Two sections of opposite byte order, interfaces with different link
// types and timestamp resolutions, every packet block type, and blocks to
// skip.
func TestPcapngSectionsAndInterfaces(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	g := &ngWriter{}
	g.shb(le)
	g.block(4, []byte{0, 0, 0, 0})                                                     // Name Resolution Block, empty
	g.idb(LinkTypeIEEE802154WithFCS, 8)                                                // 0: µs by default, snaplen 8
	g.idb(LinkTypeEthernet, 0, g.opt(optTSResol, []byte{9}), g.opt(2, []byte("eth0"))) // 1: ns, if_name before the end
	g.idb(LinkTypeIEEE802154NoFCS, 0, g.opt(optTSResol, []byte{0x80 | 10}))            // 2: 2^-10 s
	g.idb(LinkTypeIPv6, 0, g.opt(optTSResol, []byte{12}), g.opt(optTSOffset, le.AppendUint64(nil, 100)))
	g.block(5, make([]byte, 12))         // Interface Statistics Block
	g.block(0x40000bad, []byte("hello")) // custom block, copy not allowed
	g.epb(0, 1700000000000001, []byte{0xa0}, 1)
	g.epb(1, 1700000000123456789, []byte{0xa1, 0xa1}, 60)
	g.epb(2, 1700000000<<10|768, []byte{0xa2}, 1)
	g.epb(3, 5e12+123456789012, []byte{0xa3}, 1) // picoseconds, plus 100 s offset
	g.pb(1, 1700000001000000000, []byte{0xa4}, 1)
	g.spb(10, []byte{1, 2, 3, 4, 5, 6, 7, 8}) // cut to interface 0's snaplen
	g.shb(be)
	g.idb(LinkTypeRaw, 0)
	g.block(0x0bad, nil)
	g.epb(0, 1700000002000000, []byte{0xb0}, 1)
	g.spb(3, []byte{1, 2, 3})

	lt, got := readAll(t, g.b)
	if lt != LinkTypeIEEE802154WithFCS {
		t.Errorf("LinkType() = %d, want %d (first interface)", lt, LinkTypeIEEE802154WithFCS)
	}
	want := []Packet{
		{Timestamp: time.Unix(1700000000, 1000), LinkType: 195, Data: []byte{0xa0}, OrigLen: 1},
		{Timestamp: time.Unix(1700000000, 123456789), LinkType: 1, Data: []byte{0xa1, 0xa1}, OrigLen: 60, Interface: 1},
		{Timestamp: time.Unix(1700000000, 750000000), LinkType: 230, Data: []byte{0xa2}, OrigLen: 1, Interface: 2},
		{Timestamp: time.Unix(105, 123456789), LinkType: 229, Data: []byte{0xa3}, OrigLen: 1, Interface: 3},
		{Timestamp: time.Unix(1700000001, 0), LinkType: 1, Data: []byte{0xa4}, OrigLen: 1, Interface: 1},
		{LinkType: 195, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}, OrigLen: 10},
		{Timestamp: time.Unix(1700000002, 0), LinkType: 101, Data: []byte{0xb0}, OrigLen: 1},
		{LinkType: 101, Data: []byte{1, 2, 3}, OrigLen: 3},
	}
	if d := diffPackets(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestPcapngTimestampResolutions(t *testing.T) {
	for _, tt := range []struct {
		name  string
		resol byte
		ts    uint64
		want  time.Time
	}{
		{"seconds", 0, 1700000000, time.Unix(1700000000, 0)},
		{"milliseconds", 3, 1700000000123, time.Unix(1700000000, 123000000)},
		{"10^-19 s", 19, 17e18 + 123456789999, time.Unix(1, 700000012)},
		{"2^-0 s", 0x80, 1700000000, time.Unix(1700000000, 0)},
		{"2^-1 s", 0x81, 3, time.Unix(1, 500000000)},
		{"2^-30 s", 0x80 | 30, 1<<30 + 1<<29 + 1, time.Unix(1, 500000000)},
		{"2^-63 s", 0x80 | 63, 1 << 62, time.Unix(0, 500000000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &ngWriter{}
			g.shb(binary.LittleEndian)
			g.idb(1, 0, g.opt(optTSResol, []byte{tt.resol}))
			g.epb(0, tt.ts, []byte{1}, 1)
			_, got := readAll(t, g.b)
			if len(got) != 1 || !got[0].Timestamp.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want.UTC())
			}
		})
	}
}

// A file of only a Section Header Block has no interfaces and no packets.
func TestPcapngEmpty(t *testing.T) {
	g := &ngWriter{}
	g.shb(binary.BigEndian)
	g.block(4, []byte{0, 0, 0, 0})
	r, err := NewReader(bytes.NewReader(g.b))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != 0 {
		t.Errorf("LinkType() = %d, want 0", r.LinkType())
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next: %v, want io.EOF", err)
	}
}
