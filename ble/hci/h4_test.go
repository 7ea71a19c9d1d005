package hci

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// h4Stream is every known-answer packet in H4 framing, and the packets.
func h4Stream(t testing.TB) ([]byte, []PacketType, [][]byte) {
	var stream []byte
	var types []PacketType
	var pkts [][]byte
	for _, v := range vectors() {
		p, err := v.build()
		if err != nil {
			t.Fatal(err)
		}
		stream = AppendH4(stream, v.typ, p)
		types = append(types, v.typ)
		pkts = append(pkts, p)
	}
	return stream, types, pkts
}

func TestH4ReaderStream(t *testing.T) {
	stream, types, pkts := h4Stream(t)
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+err": iotest.DataErrReader,
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			h := NewH4Reader(wrap(bytes.NewReader(stream)), 0)
			for i := range pkts {
				typ, p, err := h.ReadPacket()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if typ != types[i] || !bytes.Equal(p, pkts[i]) {
					t.Fatalf("packet %d: got %v % x, want %v % x", i, typ, p, types[i], pkts[i])
				}
			}
			for range 2 { // EOF is sticky
				if _, _, err := h.ReadPacket(); err != io.EOF {
					t.Fatalf("after the last packet: %v, want io.EOF", err)
				}
			}
			if s := h.Stats(); s.Packets != uint64(len(pkts)) {
				t.Errorf("Stats = %+v, want %d packets", s, len(pkts))
			}
		})
	}
}

func TestH4ReaderTo(t *testing.T) {
	stream, types, pkts := h4Stream(t)
	h := NewH4Reader(bytes.NewReader(stream), 0)
	buf := make([]byte, 300)
	for i := range pkts {
		typ, n, err := h.ReadPacketTo(buf)
		if err != nil || typ != types[i] || !bytes.Equal(buf[:n], pkts[i]) {
			t.Fatalf("packet %d: %v %v % x", i, typ, err, buf[:n])
		}
	}
	// A packet longer than the buffer is consumed; the next one reads.
	stream = AppendH4(nil, PacketEvent, HardwareError{Code: 1}.Append(nil))
	stream = AppendH4(stream, PacketCommand, []byte{0x03, 0x0c, 0x00})
	h = NewH4Reader(bytes.NewReader(stream), 0)
	if _, _, err := h.ReadPacketTo(buf[:2]); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("short buffer: %v, want ErrTooLarge", err)
	}
	if typ, n, err := h.ReadPacketTo(buf); err != nil || typ != PacketCommand || n != 3 {
		t.Fatalf("after a skipped packet: %v %d %v", typ, n, err)
	}
	if s := h.Stats(); s != (H4Stats{Packets: 1, Oversize: 1}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestH4ReaderSkips(t *testing.T) {
	reset := []byte{0x03, 0x0c, 0x00}
	var s []byte
	s = AppendH4(s, PacketSCO, []byte{0x01, 0x00, 0x03, 0xAA, 0xBB, 0xCC})
	s = AppendH4(s, PacketCommand, reset)
	// ISO: handle, then a 14-bit length with the top two bits set (RFU:
	// ignored); 5000 octets, more than the reader's buffer holds.
	iso := []byte{0x01, 0x00, 0x88, 0xD3}
	s = AppendH4(s, PacketISO, append(iso, bytes.Repeat([]byte{0x5A}, 5000)...))
	s = AppendH4(s, PacketCommand, reset)
	big, _ := AppendACL(nil, 1, PBFirstNonFlushable, 0, make([]byte, 300))
	s = AppendH4(s, PacketACL, big)
	s = AppendH4(s, PacketCommand, reset)

	for name, r := range map[string]io.Reader{"whole": bytes.NewReader(s), "one byte": iotest.OneByteReader(bytes.NewReader(s))} {
		t.Run(name, func(t *testing.T) {
			h := NewH4Reader(r, 200)
			for i, want := range []error{ErrUnsupportedPacket, nil, ErrUnsupportedPacket, nil, ErrTooLarge, nil} {
				typ, p, err := h.ReadPacket()
				if want != nil {
					if !errors.Is(err, want) {
						t.Fatalf("packet %d: %v, want %v", i, err, want)
					}
					continue
				}
				if err != nil || typ != PacketCommand || !bytes.Equal(p, reset) {
					t.Fatalf("packet %d: %v % x %v, want the Reset command", i, typ, p, err)
				}
			}
			if _, _, err := h.ReadPacket(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
			if s := h.Stats(); s != (H4Stats{Packets: 3, Unsupported: 2, Oversize: 1}) {
				t.Errorf("Stats = %+v", s)
			}
		})
	}
}

func TestH4ReaderErrors(t *testing.T) {
	reset := AppendH4(nil, PacketCommand, []byte{0x03, 0x0c, 0x00})
	tests := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"bad indicator", append(bytes.Clone(reset), 0x06, 0x03, 0x0c, 0x00), ErrBadIndicator},
		{"zero indicator", append(bytes.Clone(reset), 0x00), ErrBadIndicator},
		{"cut in header", append(bytes.Clone(reset), 0x04, 0x0e), io.ErrUnexpectedEOF},
		{"cut after indicator", append(bytes.Clone(reset), 0x02), io.ErrUnexpectedEOF},
		{"cut in params", append(bytes.Clone(reset), 0x04, 0x0e, 0x04, 0x01), io.ErrUnexpectedEOF},
		{"cut in skipped SCO", append(bytes.Clone(reset), 0x03, 0x01, 0x00, 0x09, 0x00), io.ErrUnexpectedEOF},
		{"cut in oversize ACL", append(bytes.Clone(reset), 0x02, 0x01, 0x00, 0xff, 0xff, 0x00), io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewH4Reader(bytes.NewReader(tc.stream), 0)
			if _, _, err := h.ReadPacket(); err != nil {
				t.Fatalf("first packet: %v", err)
			}
			for range 2 { // the error is sticky
				if _, _, err := h.ReadPacket(); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		h := NewH4Reader(io.MultiReader(bytes.NewReader(reset), iotest.ErrReader(boom)), 0)
		if _, _, err := h.ReadPacket(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.ReadPacket(); !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
	})
	t.Run("no progress", func(t *testing.T) {
		h := NewH4Reader(zeroReader{}, 0)
		if _, _, err := h.ReadPacket(); !errors.Is(err, io.ErrNoProgress) {
			t.Fatalf("got %v, want io.ErrNoProgress", err)
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestAppendH4Helpers(t *testing.T) {
	c, err := AppendH4Command(nil, OpReset, nil)
	if err != nil || !bytes.Equal(c, []byte{1, 0x03, 0x0c, 0}) {
		t.Errorf("AppendH4Command = % x, %v", c, err)
	}
	e, err := AppendH4Event(nil, EventHardwareError, []byte{7})
	if err != nil || !bytes.Equal(e, []byte{4, 0x10, 1, 7}) {
		t.Errorf("AppendH4Event = % x, %v", e, err)
	}
	a, err := AppendH4ACL(nil, 0x0FFF, PBContinuing, 1, []byte{9})
	if err != nil || !bytes.Equal(a, []byte{2, 0xFF, 0x5F, 1, 0, 9}) {
		t.Errorf("AppendH4ACL = % x, %v", a, err)
	}
	if _, err := AppendH4Command(nil, OpReset, make([]byte, 256)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("256 octets of command parameters: %v", err)
	}
	if _, err := AppendH4Event(nil, EventVendor, make([]byte, 256)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("256 octets of event parameters: %v", err)
	}
	if _, err := AppendH4ACL(nil, 1, 0, 0, make([]byte, 65536)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("65536 octets of ACL data: %v", err)
	}
	names := map[PacketType]string{PacketCommand: "command", PacketACL: "ACL", PacketSCO: "SCO", PacketEvent: "event", PacketISO: "ISO", 9: "indicator 0x09"}
	got := map[PacketType]string{}
	for k := range names {
		got[k] = k.String()
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("PacketType.String (-want +got):\n%s", diff)
	}
}

// loopReader serves the same stream forever.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func TestH4ReaderAllocs(t *testing.T) {
	stream, _, _ := h4Stream(t)
	h := NewH4Reader(&loopReader{b: stream}, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := h.ReadPacket(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadPacket allocates %.1f times per packet", allocs)
	}
}
