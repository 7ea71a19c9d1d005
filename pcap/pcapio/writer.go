package pcapio

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// WriterSnapLen is the snapshot length the Writer records in the file
// header; longer packets are written truncated to it.
const WriterSnapLen = 65535

// Writer writes a classic pcap file: little-endian, microsecond timestamps,
// snaplen WriterSnapLen, one link type. Each packet is one Write call on the
// underlying writer; wrap it in a bufio.Writer (and flush it) for speed.
// WritePacket allocates nothing in steady state. A Writer is not safe for
// concurrent use.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter writes the pcap file header for linkType to w.
func NewWriter(w io.Writer, linkType uint32) (*Writer, error) {
	var h [pcapFileHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], magicMicro)
	binary.LittleEndian.PutUint16(h[4:], 2) // version 2.4
	binary.LittleEndian.PutUint16(h[6:], 4)
	// h[8:16]: thiszone and sigfigs, both 0.
	binary.LittleEndian.PutUint32(h[16:], WriterSnapLen)
	binary.LittleEndian.PutUint32(h[20:], linkType)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("pcapio: writing pcap file header: %w", err)
	}
	return &Writer{w: w}, nil
}

// WritePacket writes one packet captured at ts. Data longer than
// WriterSnapLen is truncated to it, with its full length recorded as the
// original length. Timestamps must fall in 1970–2106 (an unsigned 32-bit
// count of seconds); sub-microsecond digits are dropped.
func (w *Writer) WritePacket(ts time.Time, data []byte) error {
	return w.WritePacketOrigLen(ts, data, len(data))
}

// WritePacketOrigLen is WritePacket for a packet that was already truncated
// when captured: origLen is its length on the wire (at least len(data)).
// Copying Reader packets with it preserves Packet.OrigLen.
func (w *Writer) WritePacketOrigLen(ts time.Time, data []byte, origLen int) error {
	sec := ts.Unix()
	if sec < 0 || sec > math.MaxUint32 {
		return fmt.Errorf("pcapio: timestamp %v outside the pcap range 1970–2106: %w", ts, ErrUnsupported)
	}
	origLen = max(origLen, len(data))
	if uint64(origLen) > math.MaxUint32 {
		return fmt.Errorf("pcapio: packet length %d does not fit a pcap record: %w", origLen, ErrUnsupported)
	}
	if len(data) > WriterSnapLen {
		data = data[:WriterSnapLen]
	}
	b := w.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(sec))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()/1000))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(origLen))
	b = append(b, data...)
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("pcapio: writing pcap record: %w", err)
	}
	return nil
}
