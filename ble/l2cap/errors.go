package l2cap

import "errors"

// Errors callers may branch on. Functions wrap them with %w and the context
// of the call.
var (
	// ErrTruncated: fewer octets than the header or a length field asks for.
	ErrTruncated = errors.New("l2cap: truncated")
	// ErrBadLength: a length field disagrees with the octets that follow
	// it, or a command's data has the wrong size for its code.
	ErrBadLength = errors.New("l2cap: bad length")
	// ErrBadIdentifier: a signalling command with identifier 0 (Vol 3
	// Part A §4: 0x00 is illegal and never used).
	ErrBadIdentifier = errors.New("l2cap: signalling identifier 0")
	// ErrBadParameter: a field outside the range the specification allows
	// (MTU, MPS, CID, PSM, connection parameters).
	ErrBadParameter = errors.New("l2cap: parameter out of range")

	// ErrProtocol marks a peer's violation of the LE credit based flow
	// control rules (Vol 3 Part A §10.1): the channel must be disconnected.
	// It is wrapped together with one of the specific errors below.
	ErrProtocol = errors.New("l2cap: protocol error, channel must be disconnected")
	// ErrNoCredits: a K-frame arrived while the peer held no credits.
	ErrNoCredits = errors.New("K-frame without credits")
	// ErrCreditOverflow: a credit indication took the credit count past
	// 65535.
	ErrCreditOverflow = errors.New("credit count above 65535")
	// ErrMPSExceeded: a K-frame's payload is larger than the MPS.
	ErrMPSExceeded = errors.New("K-frame payload above MPS")
	// ErrMTUExceeded: an SDU length larger than the MTU.
	ErrMTUExceeded = errors.New("SDU length above MTU")
	// ErrSDUOverrun: K-frames carry more octets than the SDU length said.
	ErrSDUOverrun = errors.New("K-frames overrun the SDU length")

	// ErrSDUTooLarge: Send was given an SDU larger than the peer's MTU.
	ErrSDUTooLarge = errors.New("l2cap: SDU larger than the peer's MTU")
	// ErrQueueFull: Send found the channel's queue of SDUs waiting for
	// credits full; the SDU was not accepted.
	ErrQueueFull = errors.New("l2cap: send queue full")
	// ErrClosed: the channel is not open (connecting, disconnecting or
	// closed).
	ErrClosed = errors.New("l2cap: channel not open")

	// ErrNoResources: no free local CID, or the channel limit is reached.
	ErrNoResources = errors.New("l2cap: no resources for another channel")
	// ErrUnknownCID: a PDU for a dynamic CID with no channel.
	ErrUnknownCID = errors.New("l2cap: no channel with this CID")
	// ErrRefused: the peer answered a connection request with a result
	// other than success (Event.Result says which).
	ErrRefused = errors.New("l2cap: connection refused by the peer")
	// ErrRejected: the peer answered a request with a Command Reject.
	ErrRejected = errors.New("l2cap: request rejected by the peer")
	// ErrTimeout: a request got no response before its RTX timer ran out
	// (Vol 3 Part A §6.2.1).
	ErrTimeout = errors.New("l2cap: request timed out")
)
