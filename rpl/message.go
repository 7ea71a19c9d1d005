package rpl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// ICMPType is the ICMPv6 type of every RPL control message (RFC 6550 §6).
const ICMPType = 155

// AllRPLNodes is the link-scope multicast address DIOs and DISs go to
// (RFC 6550 §6, §20.19).
var AllRPLNodes = netip.MustParseAddr("ff02::1a")

// Code is the ICMPv6 code of a RPL control message (RFC 6550 §6, IANA
// "RPL Control Codes").
type Code uint8

// RPL control codes. Codes with the top bit set are the secure variants
// (§6.1) and the Consistency Check (§6.6), which exists only secured.
const (
	CodeDIS       Code = 0x00 // §6.2
	CodeDIO       Code = 0x01 // §6.3
	CodeDAO       Code = 0x02 // §6.4
	CodeDAOACK    Code = 0x03 // §6.5
	CodeSecureDIS Code = 0x80
	CodeSecureDIO Code = 0x81
	CodeSecureDAO Code = 0x82
	CodeSecureACK Code = 0x83
	CodeCC        Code = 0x8A // §6.6
)

// Secure reports whether c is one of the secure codes (§6.1: the top bit
// is the secure variant of the code below it).
func (c Code) Secure() bool { return c&0x80 != 0 }

func (c Code) String() string {
	switch c {
	case CodeDIS:
		return "DIS"
	case CodeDIO:
		return "DIO"
	case CodeDAO:
		return "DAO"
	case CodeDAOACK:
		return "DAO-ACK"
	case CodeSecureDIS:
		return "secure DIS"
	case CodeSecureDIO:
		return "secure DIO"
	case CodeSecureDAO:
		return "secure DAO"
	case CodeSecureACK:
		return "secure DAO-ACK"
	case CodeCC:
		return "CC"
	}
	return "code(0x" + strconv.FormatUint(uint64(c), 16) + ")"
}

// Base lengths (after the 4-octet ICMPv6 header).
const (
	icmpHdr      = ip6.ICMPv6HeaderLen
	disBaseLen   = 2  // §6.2.1: Flags, Reserved
	dioBaseLen   = 24 // §6.3.1
	daoBaseLen   = 4  // §6.4.1, plus 16 with D
	ackBaseLen   = 4  // §6.5.1, plus 16 with D
	dodagIDLen   = 16
	flagDAOK     = 0x80
	flagDAOD     = 0x40
	flagACKD     = 0x80
	dioFlagG     = 0x80
	dioMOPShift  = 3
	dioMOPMask   = 0x7
	dioPrfMask   = 0x7
	minHeaderLen = icmpHdr
)

// Mode of operation (RFC 6550 §6.3.1, IANA "Mode of Operation").
const (
	MOPNoDownward       = 0
	MOPNonStoring       = 1
	MOPStoring          = 2
	MOPStoringMulticast = 3
)

// Message is a RPL control message: the ICMPv6 message, header included
// (RFC 6550 §6):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Type = 155   |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                             Base                              .
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                           Option(s)                           .
//
// Parse (or Validate) checks everything once; the accessors and the
// DIS/DIO/DAO/DAOACK views then trust the slice.
type Message []byte

// Parse validates b as a RPL control message and returns it as a view (no
// copy). The checksum is not checked here: it needs the IPv6 addresses
// (ChecksumValid).
func Parse(b []byte) (Message, error) {
	m := Message(b)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate checks the type, the code (secure ones are refused with
// ErrSecure), the base's length for the code, and every option.
func (m Message) Validate() error {
	if len(m) < minHeaderLen {
		return fmt.Errorf("rpl: %d octets, no ICMPv6 header: %w", len(m), ErrTruncated)
	}
	if m[0] != ICMPType {
		return fmt.Errorf("rpl: ICMPv6 type %d: %w", m[0], ErrNotRPL)
	}
	c := m.Code()
	if c.Secure() {
		return fmt.Errorf("rpl: %s: %w", c, ErrSecure)
	}
	n := m.baseLen()
	if n < 0 {
		return fmt.Errorf("rpl: %s: %w", c, ErrUnknownCode)
	}
	if len(m) < icmpHdr+n {
		if (c == CodeDAO || c == CodeDAOACK) && len(m) >= icmpHdr+daoBaseLen {
			return fmt.Errorf("rpl: %s: %w", c, errDODAGIDShort)
		}
		return fmt.Errorf("rpl: %s of %d octets: %w", c, len(m), errBaseShort)
	}
	if err := m.Options().Validate(); err != nil {
		return fmt.Errorf("rpl: %s: %w", c, err)
	}
	return nil
}

// baseLen is the length of the base for m's code, D flags included; -1
// for a code this package does not parse. It needs the first base octets
// of a DAO or DAO-ACK, so it reads them only when present.
func (m Message) baseLen() int {
	switch m.Code() {
	case CodeDIS:
		return disBaseLen
	case CodeDIO:
		return dioBaseLen
	case CodeDAO:
		if len(m) > icmpHdr+1 && m[icmpHdr+1]&flagDAOD != 0 {
			return daoBaseLen + dodagIDLen
		}
		return daoBaseLen
	case CodeDAOACK:
		if len(m) > icmpHdr+1 && m[icmpHdr+1]&flagACKD != 0 {
			return ackBaseLen + dodagIDLen
		}
		return ackBaseLen
	}
	return -1
}

// Code returns the RPL control code.
func (m Message) Code() Code { return Code(m[1]) }

// Checksum returns the ICMPv6 checksum field.
func (m Message) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:]) }

// SetChecksum computes and stores the ICMPv6 checksum (RFC 4443 §2.3) for
// the IPv6 source and destination addresses src and dst.
func (m Message) SetChecksum(src, dst netip.Addr) {
	s, d := src.As16(), dst.As16()
	ip6.ICMPv6(m).SetChecksum(ip6.ICMPv6(m).CalculateChecksum(s[:], d[:]))
}

// ChecksumValid reports whether the checksum is right for src and dst.
func (m Message) ChecksumValid(src, dst netip.Addr) bool {
	s, d := src.As16(), dst.As16()
	return ip6.ICMPv6(m).ChecksumValid(s[:], d[:])
}

// Options returns the options after the base.
func (m Message) Options() Options { return Options(m[icmpHdr+m.baseLen():]) }

// DIS returns the message as a DIS base (valid when Code is CodeDIS).
func (m Message) DIS() DIS { return DIS(m[icmpHdr:]) }

// DIO returns the message as a DIO base (valid when Code is CodeDIO).
func (m Message) DIO() DIO { return DIO(m[icmpHdr:]) }

// DAO returns the message as a DAO base (valid when Code is CodeDAO).
func (m Message) DAO() DAO { return DAO(m[icmpHdr:]) }

// DAOACK returns the message as a DAO-ACK base (valid when Code is
// CodeDAOACK).
func (m Message) DAOACK() DAOACK { return DAOACK(m[icmpHdr:]) }

// DIS is a DODAG Information Solicitation base (RFC 6550 §6.2.1): a flags
// octet and a reserved octet, both zero today.
type DIS []byte

// Flags returns the flags octet.
func (d DIS) Flags() uint8 { return d[0] }

// DIO is a DODAG Information Object base (RFC 6550 §6.3.1):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| RPLInstanceID |Version Number |             Rank              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|G|0| MOP | Prf |     DTSN      |     Flags     |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        DODAGID (128 bits)                     |
//
// The bit after G is zero on transmission and ignored on receipt
// (§6.3.1), so Validate does not check it.
type DIO []byte

// Instance returns the RPLInstanceID.
func (d DIO) Instance() uint8 { return d[0] }

// Version returns the DODAG Version Number.
func (d DIO) Version() uint8 { return d[1] }

// Rank returns the sender's rank.
func (d DIO) Rank() uint16 { return binary.BigEndian.Uint16(d[2:]) }

// Grounded returns the G flag.
func (d DIO) Grounded() bool { return d[4]&dioFlagG != 0 }

// MOP returns the mode of operation.
func (d DIO) MOP() uint8 { return d[4] >> dioMOPShift & dioMOPMask }

// Preference returns the DODAG preference (0 least, 7 most).
func (d DIO) Preference() uint8 { return d[4] & dioPrfMask }

// DTSN returns the Destination Advertisement Trigger Sequence Number.
func (d DIO) DTSN() uint8 { return d[5] }

// DODAGID returns the DODAGID.
func (d DIO) DODAGID() netip.Addr { return netip.AddrFrom16([16]byte(d[8:24])) }

// DAO is a Destination Advertisement Object base (RFC 6550 §6.4.1):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| RPLInstanceID |K|D|   Flags   |   Reserved    | DAOSequence   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      DODAGID* (with D)                        |
type DAO []byte

// Instance returns the RPLInstanceID.
func (d DAO) Instance() uint8 { return d[0] }

// AckRequested returns the K flag.
func (d DAO) AckRequested() bool { return d[1]&flagDAOK != 0 }

// Sequence returns the DAOSequence.
func (d DAO) Sequence() uint8 { return d[3] }

// DODAGID returns the DODAGID and true when the D flag says it is present.
func (d DAO) DODAGID() (netip.Addr, bool) {
	if d[1]&flagDAOD == 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16([16]byte(d[4:20])), true
}

// DAOACK is a DAO-ACK base (RFC 6550 §6.5.1):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| RPLInstanceID |D|  Reserved   |  DAOSequence  |    Status     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      DODAGID* (with D)                        |
type DAOACK []byte

// Instance returns the RPLInstanceID.
func (d DAOACK) Instance() uint8 { return d[0] }

// Sequence returns the DAOSequence being acknowledged.
func (d DAOACK) Sequence() uint8 { return d[2] }

// Status returns the status: 0 unqualified acceptance, 1–127 accepted
// with a note, 128 and above rejected (§6.5.1; RFC 9010 §6.3 splits the
// values and maps 6LoWPAN-ND statuses into them).
func (d DAOACK) Status() uint8 { return d[3] }

// DODAGID returns the DODAGID and true when the D flag says it is present.
func (d DAOACK) DODAGID() (netip.Addr, bool) {
	if d[1]&flagACKD == 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16([16]byte(d[4:20])), true
}

// appendICMP appends a RPL ICMPv6 header with a zero checksum.
func appendICMP(b []byte, c Code) []byte { return append(b, ICMPType, byte(c), 0, 0) }

// AppendDIS appends a DIS header and base; append options after it.
func AppendDIS(b []byte) []byte { return append(appendICMP(b, CodeDIS), 0, 0) }

// DIOFields are the values AppendDIO writes.
type DIOFields struct {
	Instance   uint8
	Version    uint8
	Rank       uint16
	Grounded   bool
	MOP        uint8 // 0–7
	Preference uint8 // 0–7
	DTSN       uint8
	DODAGID    netip.Addr
}

// AppendDIO appends a DIO header and base; append options after it.
func AppendDIO(b []byte, f *DIOFields) ([]byte, error) {
	if f.MOP > dioMOPMask || f.Preference > dioPrfMask || !f.DODAGID.Is6() {
		return b, errEncodeDIO
	}
	flags := f.MOP<<dioMOPShift | f.Preference
	if f.Grounded {
		flags |= dioFlagG
	}
	b = appendICMP(b, CodeDIO)
	b = append(b, f.Instance, f.Version)
	b = binary.BigEndian.AppendUint16(b, f.Rank)
	b = append(b, flags, f.DTSN, 0, 0)
	a := f.DODAGID.As16()
	return append(b, a[:]...), nil
}

// DAOFields are the values AppendDAO writes. A valid DODAGID sets D and
// is carried (required when the instance is local, §6.4.1).
type DAOFields struct {
	Instance     uint8
	AckRequested bool
	Sequence     uint8
	DODAGID      netip.Addr
}

// AppendDAO appends a DAO header and base; append Target and Transit
// options after it.
func AppendDAO(b []byte, f *DAOFields) ([]byte, error) {
	var flags uint8
	if f.AckRequested {
		flags |= flagDAOK
	}
	if f.DODAGID.IsValid() {
		if !f.DODAGID.Is6() {
			return b, errEncodeAddr
		}
		flags |= flagDAOD
	}
	b = appendICMP(b, CodeDAO)
	b = append(b, f.Instance, flags, 0, f.Sequence)
	if f.DODAGID.IsValid() {
		a := f.DODAGID.As16()
		b = append(b, a[:]...)
	}
	return b, nil
}

// DAOACKFields are the values AppendDAOACK writes.
type DAOACKFields struct {
	Instance uint8
	Sequence uint8
	Status   uint8
	DODAGID  netip.Addr // valid: D set and carried
}

// AppendDAOACK appends a DAO-ACK header and base.
func AppendDAOACK(b []byte, f *DAOACKFields) ([]byte, error) {
	var flags uint8
	if f.DODAGID.IsValid() {
		if !f.DODAGID.Is6() {
			return b, errEncodeAddr
		}
		flags = flagACKD
	}
	b = appendICMP(b, CodeDAOACK)
	b = append(b, f.Instance, flags, f.Sequence, f.Status)
	if f.DODAGID.IsValid() {
		a := f.DODAGID.As16()
		b = append(b, a[:]...)
	}
	return b, nil
}
