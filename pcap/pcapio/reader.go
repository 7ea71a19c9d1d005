package pcapio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"time"
)

// Classic pcap magic numbers as read little-endian from the first four bytes
// (draft-ietf-opsawg-pcap §4).
const (
	magicMicro        = 0xa1b2c3d4
	magicNano         = 0xa1b23c4d
	magicMicroSwapped = 0xd4c3b2a1
	magicNanoSwapped  = 0x4d3cb2a1
	// Alexey Kuznetzov's "modified" pcap; several incompatible variants
	// share this magic, so it is refused rather than guessed at.
	magicModified        = 0xa1b2cd34
	magicModifiedSwapped = 0x34cdb2a1
)

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

// pcapng block types (draft-ietf-opsawg-pcapng §4, Appendix A).
const (
	blockSHB = 0x0a0d0d0a // Section Header Block: palindromic, so byte order does not matter
	blockIDB = 0x00000001 // Interface Description Block
	blockPB  = 0x00000002 // Packet Block (obsolete)
	blockSPB = 0x00000003 // Simple Packet Block
	blockEPB = 0x00000006 // Enhanced Packet Block

	byteOrderMagic = 0x1a2b3c4d

	// Minimum Block Total Length of each block: type, length, fixed body
	// fields and the trailing length copy.
	minBlockLen = 12
	minSHBLen   = 28
	minIDBLen   = 20
	minEPBLen   = 32
	minSPBLen   = 16
	minPBLen    = 32

	// maxBlockLen bounds the blocks the Reader buffers (SHB, IDB and packet
	// blocks): a maximal packet plus generous room for options. Other blocks
	// are skipped without being buffered and need no bound.
	maxBlockLen = MaxRecordLen + 64<<10

	// maxInterfaces bounds the interfaces of one section so a stream of
	// IDBs cannot grow the table without limit.
	maxInterfaces = 1 << 16

	optEndOfOpt  = 0
	optTSResol   = 9  // if_tsresol
	optTSOffset  = 14 // if_tsoffset
	defaultTSExp = 6  // IDB without if_tsresol: microseconds
)

// pow10 holds 10^0 … 10^19, every power of ten a uint64 holds.
var pow10 = [20]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// pcapngInterface is what the Reader keeps of an Interface Description Block.
type pcapngInterface struct {
	linkType uint32
	snapLen  uint32
	// Timestamps count units of 10^-tsExp s, or 2^-tsExp s when tsBinary.
	tsBinary bool
	tsExp    uint8
	tsOffset int64 // if_tsoffset, seconds added to every timestamp
}

// time converts a 64-bit pcapng timestamp in this interface's units.
func (f *pcapngInterface) time(ts uint64) time.Time {
	var sec, ns uint64
	if f.tsBinary {
		e := uint(f.tsExp) // ≤ 63, checked when the IDB was read
		sec = ts >> e
		frac := ts & (1<<e - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		ns = hi<<(64-e) | lo>>e // (frac·10^9) / 2^e; both shifts are 0 when e = 0
	} else {
		e := f.tsExp // ≤ 19, checked when the IDB was read
		sec, ns = ts/pow10[e], ts%pow10[e]
		if e <= 9 {
			ns *= pow10[9-e]
		} else {
			ns /= pow10[e-9]
		}
	}
	return time.Unix(int64(sec)+f.tsOffset, int64(ns)).UTC()
}

// Reader reads packets from a classic pcap or a pcapng file.
//
// Next allocates nothing in steady state: the packet buffer is reused and
// grows only when a longer packet than any before arrives (up to
// MaxRecordLen). A Reader is not safe for concurrent use.
type Reader struct {
	br     *bufio.Reader
	pcapng bool
	be     bool // file (or current section) is big-endian

	// classic pcap
	nano     bool
	linkType uint32

	// pcapng
	ifaces        []pcapngInterface // of the current section
	firstLinkType uint32
	sawFirstIface bool

	hdr [16]byte // record and block headers
	buf []byte   // packet data and buffered block bodies, reused
	pkt Packet
	err error // sticky: once set, Next keeps returning it
}

// NewReader detects the format of r from its first bytes and reads the file
// header: the classic pcap header (either byte order, microsecond or
// nanosecond magic), or for pcapng the first Section Header Block and every
// block up to the first Interface Description Block, so that LinkType is
// known on return. r is read through a buffer of its own.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{br: bufio.NewReaderSize(r, 64<<10)}
	magic, err := rd.br.Peek(4)
	if err != nil {
		return nil, readErr("file magic", err)
	}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case magicMicro, magicNano, magicMicroSwapped, magicNanoSwapped:
		rd.be = m == magicMicroSwapped || m == magicNanoSwapped
		rd.nano = m == magicNano || m == magicNanoSwapped
		if err := rd.readPcapHeader(); err != nil {
			return nil, err
		}
	case blockSHB:
		rd.pcapng = true
		for !rd.sawFirstIface {
			if _, err := rd.readBlock(); err == io.EOF {
				rd.err = io.EOF // a section without interfaces holds no packets
				break
			} else if err != nil {
				return nil, err
			}
		}
	case magicModified, magicModifiedSwapped:
		return nil, fmt.Errorf("pcapio: modified (Kuznetzov) pcap magic %#08x: %w", m, ErrUnsupported)
	default:
		return nil, fmt.Errorf("pcapio: unknown file magic % x, not pcap or pcapng: %w", magic, ErrMalformed)
	}
	return rd, nil
}

// LinkType returns the link-layer header type from the classic pcap header,
// or that of the first interface of a pcapng file (0 if it has none).
func (r *Reader) LinkType() uint32 {
	if r.pcapng {
		return r.firstLinkType
	}
	return r.linkType
}

// Next returns the next packet, or io.EOF after the last one. A truncated or
// corrupt file gives an error wrapping ErrMalformed; after any error Next
// keeps returning it. Packet.Data is valid until the next call to Next.
func (r *Reader) Next() (Packet, error) {
	if r.err != nil {
		return Packet{}, r.err
	}
	var err error
	if r.pcapng {
		err = r.nextPcapng()
	} else {
		err = r.nextPcap()
	}
	if err != nil {
		r.err = err
		return Packet{}, err
	}
	return r.pkt, nil
}

func (r *Reader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) u64(b []byte) uint64 {
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// readErr turns a short read into ErrMalformed and keeps other I/O errors.
func readErr(what string, err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("pcapio: truncated %s: %w", what, ErrMalformed)
	}
	return fmt.Errorf("pcapio: reading %s: %w", what, err)
}

// readFull reads n bytes into the reused buffer. When the buffer must grow,
// it grows with the data actually read, so a false length in a truncated or
// corrupt file costs no more memory than the file holds.
func (r *Reader) readFull(n int) ([]byte, error) {
	if n <= cap(r.buf) {
		b := r.buf[:n]
		_, err := io.ReadFull(r.br, b)
		return b, err
	}
	b := r.buf[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, min(n, max(2*cap(b), 4096))-len(b))
		}
		m, err := io.ReadFull(r.br, b[len(b):min(n, cap(b))])
		b = b[:len(b)+m]
		r.buf = b
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// readPcapHeader reads the 24-byte classic pcap file header
// (draft-ietf-opsawg-pcap §4): magic, major and minor version, two reserved
// words (thiszone and sigfigs, ignored), snaplen and link type.
func (r *Reader) readPcapHeader() error {
	var h [pcapFileHeaderLen]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return readErr("pcap file header", err)
	}
	if major := r.u16(h[4:]); major != 2 {
		return fmt.Errorf("pcapio: pcap version %d.%d: %w", major, r.u16(h[6:]), ErrUnsupported)
	}
	// The upper bits of the LinkType field carry FCS information
	// (draft-ietf-opsawg-pcap §5); the link type proper is the low 16 bits.
	r.linkType = r.u32(h[20:]) & 0xffff
	return nil
}

// nextPcap reads one classic pcap record: seconds, microseconds (or
// nanoseconds), captured length and original length, then the data.
func (r *Reader) nextPcap() error {
	h := r.hdr[:pcapRecordHeaderLen]
	if n, err := io.ReadFull(r.br, h); err != nil {
		if n == 0 && err == io.EOF {
			return io.EOF
		}
		return readErr("pcap record header", err)
	}
	sec, frac, capLen, origLen := r.u32(h[0:]), r.u32(h[4:]), r.u32(h[8:]), r.u32(h[12:])
	// The snaplen in the file header is not enforced: real files (one in
	// tcpdump's test suite) hold records longer than it, and tools accept them.
	if capLen > MaxRecordLen {
		return fmt.Errorf("pcapio: pcap record captured length %d exceeds %d: %w", capLen, MaxRecordLen, ErrMalformed)
	}
	data, err := r.readFull(int(capLen))
	if err != nil {
		return readErr("pcap record data", err)
	}
	ns := int64(frac)
	if !r.nano {
		ns *= 1000
	}
	r.pkt = Packet{
		Timestamp: time.Unix(int64(sec), ns).UTC(),
		LinkType:  r.linkType,
		Data:      data,
		OrigLen:   int(origLen),
	}
	return nil
}

// nextPcapng reads blocks until one yields a packet.
func (r *Reader) nextPcapng() error {
	for {
		isPacket, err := r.readBlock()
		if err != nil {
			return err
		}
		if isPacket {
			return nil
		}
	}
}

// readBlock reads one pcapng block (draft-ietf-opsawg-pcapng §3.1): Block
// Type, Block Total Length, body, Block Total Length again. Packet blocks fill
// r.pkt and report true; SHB and IDB update the Reader's state; any other
// block is skipped unread.
func (r *Reader) readBlock() (isPacket bool, err error) {
	h := r.hdr[:8]
	if n, err := io.ReadFull(r.br, h); err != nil {
		if n == 0 && err == io.EOF {
			return false, io.EOF
		}
		return false, readErr("pcapng block header", err)
	}
	typ := r.u32(h[0:])
	if typ == blockSHB {
		// A new section may switch byte order: learn it from the
		// Byte-Order Magic before trusting the length.
		bom := r.hdr[8:12]
		if _, err := io.ReadFull(r.br, bom); err != nil {
			return false, readErr("pcapng section header", err)
		}
		switch binary.LittleEndian.Uint32(bom) {
		case byteOrderMagic:
			r.be = false
		case 0x4d3c2b1a:
			r.be = true
		default:
			return false, fmt.Errorf("pcapio: pcapng byte-order magic % x: %w", bom, ErrMalformed)
		}
		return false, r.readSHB(r.u32(h[4:]))
	}
	total := r.u32(h[4:])
	if total < minBlockLen || total%4 != 0 {
		return false, fmt.Errorf("pcapio: pcapng block type %#x has length %d: %w", typ, total, ErrMalformed)
	}
	switch typ {
	case blockIDB:
		return false, r.readIDB(total)
	case blockEPB:
		return true, r.readEPB(total)
	case blockSPB:
		return true, r.readSPB(total)
	case blockPB:
		return true, r.readPB(total)
	}
	return false, r.skipBlock(typ, total)
}

// readBody reads the rest of a block of the given total length whose first 8
// bytes are consumed, checks the trailing length and returns the body
// between. min is the least total length the block type allows.
func (r *Reader) readBody(name string, total, min uint32) ([]byte, error) {
	if total < min || total > maxBlockLen || total%4 != 0 {
		return nil, fmt.Errorf("pcapio: pcapng %s length %d outside [%d, %d] or not a multiple of 4: %w",
			name, total, min, maxBlockLen, ErrMalformed)
	}
	rest, err := r.readFull(int(total) - 8)
	if err != nil {
		return nil, readErr("pcapng "+name, err)
	}
	body, trailer := rest[:len(rest)-4], rest[len(rest)-4:]
	if t := r.u32(trailer); t != total {
		return nil, fmt.Errorf("pcapio: pcapng %s length %d but trailing length %d: %w", name, total, t, ErrMalformed)
	}
	return body, nil
}

// readSHB reads a Section Header Block (§4.1) after its byte-order magic:
// major and minor version, section length, options. A new section starts a
// new interface table.
func (r *Reader) readSHB(total uint32) error {
	if total < minSHBLen || total > maxBlockLen || total%4 != 0 {
		return fmt.Errorf("pcapio: pcapng section header length %d outside [%d, %d] or not a multiple of 4: %w",
			total, minSHBLen, maxBlockLen, ErrMalformed)
	}
	rest, err := r.readFull(int(total) - 12)
	if err != nil {
		return readErr("pcapng section header", err)
	}
	if t := r.u32(rest[len(rest)-4:]); t != total {
		return fmt.Errorf("pcapio: pcapng section header length %d but trailing length %d: %w", total, t, ErrMalformed)
	}
	if major := r.u16(rest[0:]); major != 1 {
		return fmt.Errorf("pcapio: pcapng version %d.%d: %w", major, r.u16(rest[2:]), ErrUnsupported)
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// readIDB reads an Interface Description Block (§4.2): link type, reserved,
// snaplen, options. Of the options only if_tsresol and if_tsoffset matter
// here.
func (r *Reader) readIDB(total uint32) error {
	body, err := r.readBody("interface description", total, minIDBLen)
	if err != nil {
		return err
	}
	if len(r.ifaces) >= maxInterfaces {
		return fmt.Errorf("pcapio: pcapng section has more than %d interfaces: %w", maxInterfaces, ErrUnsupported)
	}
	f := pcapngInterface{
		linkType: uint32(r.u16(body[0:])),
		snapLen:  r.u32(body[4:]),
		tsExp:    defaultTSExp,
	}
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := r.u16(opts[0:]), int(r.u16(opts[2:]))
		opts = opts[4:]
		if code == optEndOfOpt {
			break
		}
		if n > len(opts) {
			return fmt.Errorf("pcapio: pcapng interface option %d length %d overruns the block: %w", code, n, ErrMalformed)
		}
		val := opts[:n]
		switch code {
		case optTSResol:
			if n != 1 {
				return fmt.Errorf("pcapio: pcapng if_tsresol length %d, want 1: %w", n, ErrMalformed)
			}
			// Most significant bit clear: units of 10^-v s; set: 2^-v s.
			f.tsBinary = val[0]&0x80 != 0
			f.tsExp = val[0] & 0x7f
			if (f.tsBinary && f.tsExp > 63) || (!f.tsBinary && f.tsExp > 19) {
				return fmt.Errorf("pcapio: pcapng if_tsresol %#02x: %w", val[0], ErrUnsupported)
			}
		case optTSOffset:
			if n != 8 {
				return fmt.Errorf("pcapio: pcapng if_tsoffset length %d, want 8: %w", n, ErrMalformed)
			}
			f.tsOffset = int64(r.u64(val))
		}
		// Option values are padded to 32 bits; tolerate a missing final pad.
		opts = opts[min((n+3)&^3, len(opts)):]
	}
	r.ifaces = append(r.ifaces, f)
	if !r.sawFirstIface {
		r.sawFirstIface = true
		r.firstLinkType = f.linkType
	}
	return nil
}

// iface returns the interface with the given ID in the current section.
func (r *Reader) iface(block string, id uint32) (*pcapngInterface, error) {
	if id >= uint32(len(r.ifaces)) {
		return nil, fmt.Errorf("pcapio: pcapng %s refers to interface %d but the section has %d: %w",
			block, id, len(r.ifaces), ErrMalformed)
	}
	return &r.ifaces[id], nil
}

// packetData checks a captured length against the space a block leaves for
// it and returns the data.
func packetData(block string, rest []byte, capLen uint32) ([]byte, error) {
	if capLen > MaxRecordLen || capLen > uint32(len(rest)) {
		return nil, fmt.Errorf("pcapio: pcapng %s captured length %d exceeds the %d bytes of the block: %w",
			block, capLen, len(rest), ErrMalformed)
	}
	return rest[:capLen], nil
}

// readEPB reads an Enhanced Packet Block (§4.3): interface ID (32 bits),
// timestamp (upper, lower), captured length, original length, data,
// options.
func (r *Reader) readEPB(total uint32) error {
	return r.readTimestamped("enhanced packet block", total, minEPBLen, func(body []byte) uint32 { return r.u32(body) })
}

// readSPB reads a Simple Packet Block (§4.4): original length and data, for
// the section's first interface. The captured length is the original length
// cut to that interface's snaplen (0 meaning no limit).
func (r *Reader) readSPB(total uint32) error {
	body, err := r.readBody("simple packet block", total, minSPBLen)
	if err != nil {
		return err
	}
	f, err := r.iface("simple packet block", 0)
	if err != nil {
		return err
	}
	origLen := r.u32(body[0:])
	capLen := origLen
	if f.snapLen != 0 && capLen > f.snapLen {
		capLen = f.snapLen
	}
	data, err := packetData("simple packet block", body[4:], capLen)
	if err != nil {
		return err
	}
	r.pkt = Packet{
		LinkType: f.linkType,
		Data:     data,
		OrigLen:  int(origLen),
	}
	return nil
}

// readPB reads the obsolete Packet Block (Appendix A): the EPB's layout
// but for a 16-bit interface ID followed by a 16-bit drops count.
func (r *Reader) readPB(total uint32) error {
	return r.readTimestamped("packet block", total, minPBLen, func(body []byte) uint32 { return uint32(r.u16(body)) })
}

// readTimestamped reads the layout the EPB and the obsolete PB share: 4
// octets naming the interface (read by ifaceID), timestamp (upper, lower),
// captured length, original length, data, options.
func (r *Reader) readTimestamped(name string, total, minLen uint32, ifaceID func([]byte) uint32) error {
	body, err := r.readBody(name, total, minLen)
	if err != nil {
		return err
	}
	id := ifaceID(body)
	f, err := r.iface(name, id)
	if err != nil {
		return err
	}
	data, err := packetData(name, body[20:], r.u32(body[12:]))
	if err != nil {
		return err
	}
	ts := uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:]))
	r.pkt = Packet{
		Timestamp: f.time(ts),
		LinkType:  f.linkType,
		Data:      data,
		OrigLen:   int(r.u32(body[16:])),
		Interface: int(id),
	}
	return nil
}

// skipBlock discards a block this package does not interpret (Name
// Resolution, Interface Statistics, Decryption Secrets, custom, …) without
// buffering it, then checks its trailing length.
func (r *Reader) skipBlock(typ, total uint32) error {
	// In steps that fit an int on 32-bit platforms too.
	for n := int64(total) - minBlockLen; n > 0; n -= 1 << 30 {
		if _, err := r.br.Discard(int(min(n, 1<<30))); err != nil {
			return readErr(fmt.Sprintf("pcapng block type %#x", typ), err)
		}
	}
	t := r.hdr[8:12]
	if _, err := io.ReadFull(r.br, t); err != nil {
		return readErr(fmt.Sprintf("pcapng block type %#x", typ), err)
	}
	if got := r.u32(t); got != total {
		return fmt.Errorf("pcapio: pcapng block type %#x length %d but trailing length %d: %w", typ, total, got, ErrMalformed)
	}
	return nil
}
