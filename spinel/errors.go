package spinel

import "errors"

// Sentinel errors. Functions wrap them with the context of the call
// ("spinel: reading RxFrame RSSI at offset 131: truncated"), so callers
// branch with errors.Is.
var (
	// ErrTruncated: the input ends before a field it announces.
	ErrTruncated = errors.New("truncated")
	// ErrPackedTooLong: a packed unsigned integer runs past its third byte
	// (Spinel limits them to 21 bits).
	ErrPackedTooLong = errors.New("packed integer longer than 3 bytes")
	// ErrBadHeader: the first byte of a frame is not a Spinel header (bit 7
	// must be set and bit 6 clear).
	ErrBadHeader = errors.New("not a Spinel header byte")
	// ErrBadValue: a field holds a value its type forbids (a bool other than
	// 0 or 1, a string with no NUL terminator or invalid UTF-8, a PSDU longer
	// than 127 bytes).
	ErrBadValue = errors.New("invalid value")
	// ErrBadFCS: an HDLC-lite frame's FCS does not check.
	ErrBadFCS = errors.New("bad HDLC FCS")
	// ErrFrameTooLarge: a frame does not fit the buffer or limit it is
	// meant for.
	ErrFrameTooLarge = errors.New("frame too large")

	// ErrTimeout: the RCP did not answer a request in time.
	ErrTimeout = errors.New("no response from the RCP")
	// ErrClosed: the client is closed, or its connection failed; the error
	// also wraps the cause.
	ErrClosed = errors.New("spinel client closed")
	// ErrReset: the RCP announced a reset while the request was pending,
	// so no answer will come.
	ErrReset = errors.New("RCP reset")
	// ErrUnexpectedReply: the RCP answered with a frame that is not a
	// valid answer to the request (e.g. a transmit-done that is not a
	// LAST_STATUS).
	ErrUnexpectedReply = errors.New("unexpected reply")
)
