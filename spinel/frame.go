package spinel

import (
	"fmt"
	"strconv"
)

// Header is a Spinel frame's first byte:
//
//	  7   6   5   4   3   2   1   0
//	+---+---+---+---+---+---+---+---+
//	| 1 | 0 |  IID  |      TID      |
//	+---+---+---+---+---+---+---+---+
//
// Bit 7 is always set and bit 6 always clear (so 0x7E, 0x00 and 0xFF are
// never headers). IID is the interface (0 unless the RCP is multipan). TID 0
// marks an unsolicited frame or a request that wants no answer; a host uses
// 1–15 and the RCP answers with the request's TID.
type Header byte

const (
	headerFlag     = 0x80
	headerFlagMask = 0xC0
	headerIIDShift = 4
	headerIIDMask  = 0x30
	headerTIDMask  = 0x0F

	// MaxTID is the largest transaction ID.
	MaxTID = 15
)

// MakeHeader builds a header byte; iid and tid are masked to their 2 and 4
// bits.
func MakeHeader(iid, tid uint8) Header {
	return Header(headerFlag | (iid<<headerIIDShift)&headerIIDMask | tid&headerTIDMask)
}

// Valid reports whether bit 7 is set and bit 6 clear.
func (h Header) Valid() bool { return byte(h)&headerFlagMask == headerFlag }

// IID is the interface ID (0–3).
func (h Header) IID() uint8 { return (uint8(h) & headerIIDMask) >> headerIIDShift }

// TID is the transaction ID (0–15).
func (h Header) TID() uint8 { return uint8(h) & headerTIDMask }

// Command is a Spinel command ID (a packed unsigned integer on the wire).
type Command uint32

// Commands an RCP host uses (spinel.h, spinel_command_t).
const (
	CmdNoop              Command = 0 // answered with LAST_STATUS OK
	CmdReset             Command = 1 // one byte follows: a ResetType
	CmdPropValueGet      Command = 2
	CmdPropValueSet      Command = 3
	CmdPropValueInsert   Command = 4
	CmdPropValueRemove   Command = 5
	CmdPropValueIs       Command = 6
	CmdPropValueInserted Command = 7
	CmdPropValueRemoved  Command = 8
)

var commandNames = [...]string{
	"NOOP", "RESET", "PROP_VALUE_GET", "PROP_VALUE_SET", "PROP_VALUE_INSERT",
	"PROP_VALUE_REMOVE", "PROP_VALUE_IS", "PROP_VALUE_INSERTED", "PROP_VALUE_REMOVED",
}

func (c Command) String() string {
	if int(c) < len(commandNames) {
		return commandNames[c]
	}
	return "CMD_" + strconv.FormatUint(uint64(c), 10)
}

// HasProp reports whether frames with this command carry a property key
// after the command (GET, SET, INSERT, REMOVE and their answers). NOOP and
// RESET do not; other commands are not understood here and their bytes are
// left in Frame.Value.
func (c Command) HasProp() bool { return c >= CmdPropValueGet && c <= CmdPropValueRemoved }

// ResetType is the byte after a RESET command.
type ResetType uint8

// Reset types (spinel.h, SPINEL_RESET_*). OpenThread's RCP answers a stack
// reset with an unsolicited LAST_STATUS RESET_POWER_ON without rebooting; a
// platform reset reboots the chip.
const (
	ResetPlatform   ResetType = 1
	ResetStack      ResetType = 2
	ResetBootloader ResetType = 3
)

func (r ResetType) String() string {
	switch r {
	case ResetPlatform:
		return "platform"
	case ResetStack:
		return "stack"
	case ResetBootloader:
		return "bootloader"
	}
	return "reset(" + strconv.Itoa(int(r)) + ")"
}

// Frame is a decoded Spinel frame. Value is a view into the bytes it was
// decoded from: valid as long as they are.
type Frame struct {
	TID, IID uint8
	Command  Command
	// Prop is the property key; zero (LAST_STATUS) when Command has no
	// property (see Command.HasProp).
	Prop Prop
	// Value is everything after the property key (after the command for
	// NOOP, RESET and unknown commands).
	Value []byte
}

// Decode parses b into f without copying or allocating: f.Value aliases b.
func (f *Frame) Decode(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("spinel: frame: empty: %w", ErrTruncated)
	}
	h := Header(b[0])
	if !h.Valid() {
		return fmt.Errorf("spinel: frame: header %#02x: %w", b[0], ErrBadHeader)
	}
	cmd, n, err := ReadPackedUint(b[1:])
	if err != nil {
		return fmt.Errorf("spinel: frame command: %w", err)
	}
	off := 1 + n
	var prop uint32
	if Command(cmd).HasProp() {
		prop, n, err = ReadPackedUint(b[off:])
		if err != nil {
			return fmt.Errorf("spinel: frame %v property: %w", Command(cmd), err)
		}
		off += n
	}
	*f = Frame{TID: h.TID(), IID: h.IID(), Command: Command(cmd), Prop: Prop(prop), Value: b[off:]}
	return nil
}

// AppendFrameHeader appends the header byte, the command and (when the
// command has one) the property key: everything but the value.
func AppendFrameHeader(b []byte, iid, tid uint8, cmd Command, prop Prop) []byte {
	b = append(b, byte(MakeHeader(iid, tid)))
	b = AppendPackedUint(b, uint32(cmd))
	if cmd.HasProp() {
		b = AppendPackedUint(b, uint32(prop))
	}
	return b
}

// AppendFrame appends f in wire form. For a RESET put the ResetType byte in
// Value.
func AppendFrame(b []byte, f *Frame) []byte {
	b = AppendFrameHeader(b, f.IID, f.TID, f.Command, f.Prop)
	return append(b, f.Value...)
}

// String describes the frame for logs.
func (f *Frame) String() string {
	if f.Command.HasProp() {
		return fmt.Sprintf("tid=%d iid=%d %v %v value=%x", f.TID, f.IID, f.Command, f.Prop, f.Value)
	}
	return fmt.Sprintf("tid=%d iid=%d %v value=%x", f.TID, f.IID, f.Command, f.Value)
}
