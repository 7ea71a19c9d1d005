package pcapio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// pcapng options the PcapngWriter writes (draft-ietf-opsawg-pcapng §4.2,
// §4.3, §4.6).
const (
	optComment     = 1 // opt_comment, any block
	optSHBUserAppl = 4 // shb_userappl
	optIfName      = 2 // if_name
	optIfDescr     = 3 // if_description
	optEPBFlags    = 2 // epb_flags
)

// EPB flags, the low two bits of epb_flags (draft-ietf-opsawg-pcapng
// §4.3.1): the packet's direction. 0 means not known.
const (
	DirUnknown  uint32 = 0
	DirInbound  uint32 = 1
	DirOutbound uint32 = 2
)

// PcapngMaxComment bounds the opt_comment a PcapngWriter writes on a
// packet; a longer one is cut.
const PcapngMaxComment = 256

// ErrNoInterface: a packet names an interface that was not added.
var ErrNoInterface = errors.New("pcapio: no such pcapng interface")

// PcapngInterface describes one interface of a PcapngWriter: an Interface
// Description Block.
type PcapngInterface struct {
	LinkType uint32 // LinkType…
	// SnapLen is the longest packet recorded whole; 0 means no limit
	// (draft-ietf-opsawg-pcapng §4.2). Longer packets are cut to it, their
	// full length kept as the original length.
	SnapLen uint32
	// Name and Description become if_name and if_description when not
	// empty: Wireshark shows them in its interface column and statistics.
	Name, Description string
}

// PcapngWriter writes a pcapng file (draft-ietf-opsawg-pcapng) in the
// host's little-endian order: one Section Header Block of unknown length,
// so that the file can be read while it grows (`tail -f … | wireshark -k
// -i -`), one Interface Description Block per AddInterface, and an Enhanced
// Packet Block per packet, with microsecond timestamps (the default
// if_tsresol, which every reader knows), the direction in epb_flags and an
// optional opt_comment.
//
// Each block is one Write call on the underlying writer: wrap a file in a
// bufio.Writer for speed and flush it when the reader should see what was
// written. WritePacket allocates nothing in steady state. A PcapngWriter
// is not safe for concurrent use.
type PcapngWriter struct {
	w      io.Writer
	buf    []byte
	ifaces []PcapngInterface
}

// NewPcapngWriter writes a Section Header Block to w, with application
// (shb_userappl) when it is not empty.
func NewPcapngWriter(w io.Writer, application string) (*PcapngWriter, error) {
	p := &PcapngWriter{w: w}
	b := p.start(blockSHB)
	b = binary.LittleEndian.AppendUint32(b, byteOrderMagic)
	b = binary.LittleEndian.AppendUint16(b, 1) // version 1.0
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint64(b, math.MaxUint64) // section length: not known
	if application != "" {
		b = appendOpt(b, optSHBUserAppl, []byte(application))
		b = appendOpt(b, optEndOfOpt, nil)
	}
	if err := p.finish(b, "section header"); err != nil {
		return nil, err
	}
	return p, nil
}

// AddInterface writes an Interface Description Block and returns the new
// interface's ID, for WritePacket. Interfaces may be added between packets
// (the format allows an IDB anywhere in its section).
func (p *PcapngWriter) AddInterface(ifc PcapngInterface) (int, error) {
	if ifc.LinkType > math.MaxUint16 {
		return 0, fmt.Errorf("pcapio: link type %d does not fit a pcapng IDB: %w", ifc.LinkType, ErrUnsupported)
	}
	b := p.start(blockIDB)
	b = binary.LittleEndian.AppendUint16(b, uint16(ifc.LinkType))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, ifc.SnapLen)
	if ifc.Name != "" || ifc.Description != "" {
		if ifc.Name != "" {
			b = appendOpt(b, optIfName, []byte(ifc.Name))
		}
		if ifc.Description != "" {
			b = appendOpt(b, optIfDescr, []byte(ifc.Description))
		}
		b = appendOpt(b, optEndOfOpt, nil)
	}
	if err := p.finish(b, "interface description"); err != nil {
		return 0, err
	}
	p.ifaces = append(p.ifaces, ifc)
	return len(p.ifaces) - 1, nil
}

// WritePacket writes one Enhanced Packet Block: data captured at ts on
// interface iface, with flags (Dir…; 0 writes no epb_flags) and comment
// (none when empty; cut to PcapngMaxComment octets). Timestamps before
// 1970 are refused; sub-microsecond digits are dropped.
func (p *PcapngWriter) WritePacket(iface int, ts time.Time, data []byte, flags uint32, comment []byte) error {
	if iface < 0 || iface >= len(p.ifaces) {
		return fmt.Errorf("pcapio: packet on interface %d of %d: %w", iface, len(p.ifaces), ErrNoInterface)
	}
	us := ts.UnixMicro()
	if us < 0 {
		return fmt.Errorf("pcapio: timestamp %v before 1970: %w", ts, ErrUnsupported)
	}
	origLen := len(data)
	if uint64(origLen) > math.MaxUint32 {
		return fmt.Errorf("pcapio: packet length %d does not fit an EPB: %w", origLen, ErrUnsupported)
	}
	if snap := p.ifaces[iface].SnapLen; snap != 0 && uint64(len(data)) > uint64(snap) {
		data = data[:snap]
	}
	if len(data) > MaxRecordLen {
		// Readers (this package's among them) refuse larger records.
		data = data[:MaxRecordLen]
	}
	if len(comment) > PcapngMaxComment {
		comment = comment[:PcapngMaxComment]
	}
	b := p.start(blockEPB)
	b = binary.LittleEndian.AppendUint32(b, uint32(iface))
	b = binary.LittleEndian.AppendUint32(b, uint32(uint64(us)>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(us))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(origLen))
	b = append(b, data...)
	b = pad4(b)
	if flags != 0 || len(comment) > 0 {
		if flags != 0 {
			b = binary.LittleEndian.AppendUint16(b, optEPBFlags)
			b = binary.LittleEndian.AppendUint16(b, 4)
			b = binary.LittleEndian.AppendUint32(b, flags)
		}
		if len(comment) > 0 {
			b = appendOpt(b, optComment, comment)
		}
		b = appendOpt(b, optEndOfOpt, nil)
	}
	return p.finish(b, "enhanced packet")
}

// start begins a block of type typ in p's buffer; finish fills in its
// lengths.
func (p *PcapngWriter) start(typ uint32) []byte {
	b := binary.LittleEndian.AppendUint32(p.buf[:0], typ)
	return binary.LittleEndian.AppendUint32(b, 0) // Block Total Length, set by finish
}

// finish writes the block's total length at both ends and the block.
func (p *PcapngWriter) finish(b []byte, what string) error {
	total := uint32(len(b) + 4)
	binary.LittleEndian.PutUint32(b[4:], total)
	b = binary.LittleEndian.AppendUint32(b, total)
	p.buf = b
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("pcapio: writing pcapng %s block: %w", what, err)
	}
	return nil
}

// appendOpt appends an option: code, length, value padded to 32 bits
// (draft-ietf-opsawg-pcapng §3.5).
func appendOpt(b []byte, code uint16, v []byte) []byte {
	v = v[:min(len(v), math.MaxUint16&^3)]
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return pad4(b)
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
