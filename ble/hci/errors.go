package hci

import "errors"

// Sentinel errors. Functions wrap them with the context of the call
// ("hci: LE Connection Complete: 12 octets, want 18: truncated"), so
// callers branch with errors.Is. A command that failed in the controller is
// a *StatusError instead (errors.As).
var (
	// ErrShort: the input ends before a field it announces or a parameter
	// the packet must carry.
	ErrShort = errors.New("truncated")
	// ErrMalformed: a field holds a value the packet's layout forbids (a
	// length that disagrees with the octets that follow, a report count
	// that overruns the event, a reserved packet boundary flag).
	ErrMalformed = errors.New("malformed")
	// ErrWrongEvent: a typed event parser was given another event (or,
	// for LE Meta events, another subevent).
	ErrWrongEvent = errors.New("wrong event")
	// ErrTooLarge: a packet is longer than the configured limit or the
	// buffer meant for it, or a value does not fit its length field.
	ErrTooLarge = errors.New("too large")

	// ErrBadIndicator: an H4 packet indicator that is not one of 0x01–0x05.
	// H4 has no way to find the next packet boundary after one: the
	// H4Reader stops for good and the transport has to be reset.
	ErrBadIndicator = errors.New("unknown H4 packet indicator")
	// ErrUnsupportedPacket: an SCO (0x03) or ISO (0x05) packet. The H4Reader
	// consumes it, so the stream stays in sync, and reports it with this
	// error.
	ErrUnsupportedPacket = errors.New("unsupported HCI packet type")

	// ErrNoStart: a continuing ACL fragment arrived with no L2CAP PDU
	// being reassembled on its handle.
	ErrNoStart = errors.New("continuing fragment without a start")
	// ErrInterrupted: a start fragment arrived while an L2CAP PDU was
	// being reassembled on the same handle; the partial PDU was dropped.
	ErrInterrupted = errors.New("partial L2CAP PDU dropped by a new start")
	// ErrOverlong: fragments carried more octets than the L2CAP basic
	// header announced; the PDU was dropped.
	ErrOverlong = errors.New("more data than the L2CAP length")
	// ErrTooManyHandles: a start fragment on a new handle when the
	// reassembler already tracks its maximum number of handles.
	ErrTooManyHandles = errors.New("too many handles reassembling")
)
