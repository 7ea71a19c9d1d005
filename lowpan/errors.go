package lowpan

import "errors"

// Sentinel errors. Functions wrap them with the context of the call, so
// callers branch with errors.Is.
var (
	// ErrTruncated: the input ends before a field it announces.
	ErrTruncated = errors.New("truncated")
	// ErrReserved: a reserved encoding (RFC 6282 §3.1.1: DAC=1 DAM=00 with M=0,
	// M=1 DAC=1 DAM≠00; an undefined NHC identifier; a reserved dispatch).
	ErrReserved = errors.New("reserved encoding")
	// ErrNotLowpan: the NALP dispatch (RFC 4944 §5.1, 00xxxxxx): not a 6LoWPAN frame.
	ErrNotLowpan = errors.New("not a LoWPAN frame (NALP dispatch)")
	// ErrUnsupported: a legal encoding this package does not implement (LOWPAN_HC1).
	ErrUnsupported = errors.New("unsupported encoding")
	// ErrUnknownContext: the frame names a context the table does not hold.
	ErrUnknownContext = errors.New("unknown context")
	// ErrBufferTooSmall: the caller's output buffer cannot hold the result.
	ErrBufferTooSmall = errors.New("output buffer too small")
	// ErrBadPacket: the IPv6 packet handed to the compressor is not valid IPv6.
	ErrBadPacket = errors.New("malformed IPv6 packet")
	// ErrHeadersTooLarge: the compressed headers do not fit in one frame
	// (RFC 4944 §5.3 as updated by RFC 6282 §2: they must all be in FRAG1).
	ErrHeadersTooLarge = errors.New("compressed headers do not fit in the first fragment")
	// ErrTooBig: the datagram exceeds what the fragment header can describe (2047 octets).
	ErrTooBig = errors.New("datagram too big")
	// ErrBadLength: a length field disagrees with the data around it.
	ErrBadLength = errors.New("inconsistent length")
	// ErrNotFragment: the reassembler was handed a frame without a fragment header.
	ErrNotFragment = errors.New("not a fragment")
)
