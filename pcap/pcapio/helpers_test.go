package pcapio

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readAll reads every packet of a capture, copying Data.
func readAll(t testing.TB, b []byte) (uint32, []Packet) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var pkts []Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d packets: %v", len(pkts), err)
		}
		p.Data = bytes.Clone(p.Data)
		pkts = append(pkts, p)
	}
	return r.LinkType(), pkts
}

// drain reads until an error and returns it with the packet count.
func drain(b []byte) (int, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			return n, err
		}
		n++
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestdata(t testing.TB, name string) (uint32, []Packet) {
	t.Helper()
	return readAll(t, readFile(t, name))
}

// diffPackets describes the differences between two packet lists as
// "(-want +got)" lines, or returns "".
func diffPackets(want, got []Packet) string {
	var sb strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		switch {
		case i >= len(got):
			fmt.Fprintf(&sb, "-[%d] %s\n", i, fmtPacket(want[i]))
		case i >= len(want):
			fmt.Fprintf(&sb, "+[%d] %s\n", i, fmtPacket(got[i]))
		case !samePacket(want[i], got[i]):
			fmt.Fprintf(&sb, "-[%d] %s\n+[%d] %s\n", i, fmtPacket(want[i]), i, fmtPacket(got[i]))
		}
	}
	return sb.String()
}

func samePacket(a, b Packet) bool {
	return a.Timestamp.Equal(b.Timestamp) && a.Timestamp.IsZero() == b.Timestamp.IsZero() &&
		a.LinkType == b.LinkType && bytes.Equal(a.Data, b.Data) && a.OrigLen == b.OrigLen && a.Interface == b.Interface
}

func fmtPacket(p Packet) string {
	return fmt.Sprintf("{ts %s link %d if %d orig %d data % x}",
		p.Timestamp.UTC().Format(time.RFC3339Nano), p.LinkType, p.Interface, p.OrigLen, p.Data)
}

// wantErr checks that err wraps target.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("error %v, want one wrapping %v", err, target)
	}
}

// byteOrder reads and appends in one byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngWriter hand-assembles pcapng blocks (draft-ietf-opsawg-pcapng §3.1) in
// either byte order, independently of the Reader.
type ngWriter struct {
	o byteOrder
	b []byte
}

func (g *ngWriter) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	g.b = g.o.AppendUint32(g.b, typ)
	g.b = g.o.AppendUint32(g.b, n)
	g.b = append(g.b, body...)
	g.b = g.o.AppendUint32(g.b, n)
}

func (g *ngWriter) shb(o byteOrder) {
	g.o = o
	var body []byte
	body = o.AppendUint32(body, byteOrderMagic)
	body = o.AppendUint16(body, 1)
	body = o.AppendUint16(body, 0)
	body = o.AppendUint64(body, ^uint64(0)) // section length unknown
	g.block(blockSHB, body)
}

func (g *ngWriter) opt(code uint16, val []byte) []byte {
	b := g.o.AppendUint16(nil, code)
	b = g.o.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (g *ngWriter) idb(linkType uint16, snapLen uint32, opts ...[]byte) {
	var body []byte
	body = g.o.AppendUint16(body, linkType)
	body = g.o.AppendUint16(body, 0)
	body = g.o.AppendUint32(body, snapLen)
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, 0, 0, 0, 0) // opt_endofopt
	}
	g.block(blockIDB, body)
}

func (g *ngWriter) epb(ifID uint32, ts uint64, data []byte, origLen uint32) {
	var body []byte
	body = g.o.AppendUint32(body, ifID)
	body = g.o.AppendUint32(body, uint32(ts>>32))
	body = g.o.AppendUint32(body, uint32(ts))
	body = g.o.AppendUint32(body, uint32(len(data)))
	body = g.o.AppendUint32(body, origLen)
	body = append(body, data...)
	g.block(blockEPB, body)
}

func (g *ngWriter) spb(origLen uint32, data []byte) {
	body := g.o.AppendUint32(nil, origLen)
	g.block(blockSPB, append(body, data...))
}

func (g *ngWriter) pb(ifID uint16, ts uint64, data []byte, origLen uint32) {
	var body []byte
	body = g.o.AppendUint16(body, ifID)
	body = g.o.AppendUint16(body, 0) // drops
	body = g.o.AppendUint32(body, uint32(ts>>32))
	body = g.o.AppendUint32(body, uint32(ts))
	body = g.o.AppendUint32(body, uint32(len(data)))
	body = g.o.AppendUint32(body, origLen)
	body = append(body, data...)
	g.block(blockPB, body)
}

// pcapFile hand-assembles a classic pcap file.
func pcapFile(o byteOrder, nano bool, linkType uint32, recs ...[]byte) []byte {
	var b []byte
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	b = o.AppendUint32(b, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = o.AppendUint32(b, 0)
	b = o.AppendUint32(b, 0)
	b = o.AppendUint32(b, 65535)
	b = o.AppendUint32(b, linkType)
	for _, r := range recs {
		b = append(b, r...)
	}
	return b
}

func pcapRecord(o byteOrder, sec, frac uint32, data []byte, origLen uint32) []byte {
	var b []byte
	b = o.AppendUint32(b, sec)
	b = o.AppendUint32(b, frac)
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, origLen)
	return append(b, data...)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

func sameZEP(a, b ZEP) bool {
	return a.Version == b.Version && a.Type == b.Type && a.Channel == b.Channel && a.DeviceID == b.DeviceID &&
		a.LQIMode == b.LQIMode && a.LQI == b.LQI && a.Timestamp.Equal(b.Timestamp) &&
		a.Timestamp.IsZero() == b.Timestamp.IsZero() && a.Seq == b.Seq && bytes.Equal(a.PSDU, b.PSDU)
}
