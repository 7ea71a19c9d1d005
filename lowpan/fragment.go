package lowpan

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// EncodeOptions describes the frames one datagram is carried in.
type EncodeOptions struct {
	// MaxPayload is the room for 6LoWPAN octets in one MAC frame: it
	// depends on the MAC header's addressing modes and on security overhead
	// (ieee802154.Header.MaxPayload).
	MaxPayload int
	// Tag is the datagram_tag used if the datagram needs fragments.
	Tag uint16
	// Mesh, when set, is prepended to every frame (RFC 4944 §5.2).
	Mesh *MeshHeader
	// Uncompressed sends the IPv6 header as is after the 0x41 dispatch
	// (RFC 4944 §5.1) instead of compressing it.
	Uncompressed bool

	// Set by Encode: the octets of the datagram's headers before
	// compression and of their compressed form (for counting the octets
	// compression saved).
	HeaderOctets, CompressedOctets int
}

// ScratchSize is the size of the scratch buffer Encode needs: room for two
// 802.15.4 frames.
const ScratchSize = 256

// Encode compresses the IPv6 packet pkt and, if it does not fit one frame,
// splits it into an RFC 4944 FRAG1 and FRAGNs, handing each MAC payload to
// emit in order. datagram_size and datagram_offset count the uncompressed
// datagram (RFC 4944 §5.3, RFC 6282 §2); every fragment but the last
// carries a multiple of 8 uncompressed octets; all compressed headers stay
// in FRAG1. scratch (at least ScratchSize octets, owned by the caller, not
// shared between goroutines) holds the frame passed to emit, which must not
// keep it. It returns the number of frames emitted and does not allocate.
func (z *Compressor) Encode(scratch, pkt []byte, srcLL, dstLL LinkAddr, opts *EncodeOptions, emit func(frame []byte) error) (int, error) {
	if len(scratch) < ScratchSize {
		return 0, fmt.Errorf("lowpan: encode: scratch of %d octets, need %d: %w", len(scratch), ScratchSize, ErrBufferTooSmall)
	}
	maxPayload := opts.MaxPayload
	if maxPayload > ScratchSize/2 {
		return 0, fmt.Errorf("lowpan: encode: MaxPayload %d exceeds an 802.15.4 frame", maxPayload)
	}
	frame, hdrs := scratch[:ScratchSize/2], scratch[ScratchSize/2:ScratchSize]

	// The mesh header opens every frame. With one, the originator and final
	// destination stand for the link-layer addresses (RFC 4944 §5.2, §10.1):
	// elided IIDs are derived from them, not from the hop's MAC addresses.
	meshLen := 0
	if opts.Mesh != nil {
		srcLL, dstLL = opts.Mesh.Originator, opts.Mesh.Final
		n, err := opts.Mesh.Encode(frame)
		if err != nil {
			return 0, fmt.Errorf("lowpan: encode: %w", err)
		}
		meshLen = n
	}
	room := maxPayload - meshLen

	var hdrLen, consumed int
	if opts.Uncompressed {
		if err := validIPv6(pkt); err != nil {
			return 0, fmt.Errorf("lowpan: encode: %w", err)
		}
		hdrs[0] = DispatchIPv6
		hdrLen = 1 + copy(hdrs[1:], pkt[:ip6.HeaderLen])
		consumed = ip6.HeaderLen
	} else {
		// RFC 6282 §2: a header that cannot fit in the first fragment must
		// not be compressed. Compress fewer NHC headers until the rest fit.
		limit, lorh := -1, z.LoRH
		for {
			n, p, nhc, err := z.compressHeaders(hdrs, pkt, srcLL, dstLL, limit, nil, lorh)
			if err != nil && !errors.Is(err, ErrBufferTooSmall) {
				return 0, err
			}
			fits := err == nil && (n+len(pkt)-p <= room || n <= room-frag1HeaderLen)
			if fits {
				hdrLen, consumed = n, p
				break
			}
			if lorh {
				// RFC 8138 made headers that do not fit: RFC 6282 alone,
				// with the NHC limit below if need be.
				lorh = false
				continue
			}
			if limit == 0 || (err == nil && nhc == 0) {
				return 0, fmt.Errorf("lowpan: encode: %w", ErrHeadersTooLarge)
			}
			if limit < 0 {
				limit = maxExtHeaders + maxIPv6Nest
				if err == nil {
					limit = nhc
				}
			}
			limit--
		}
	}
	payload := pkt[consumed:]
	opts.HeaderOctets, opts.CompressedOctets = consumed, hdrLen

	// One frame is enough: no fragment header (RFC 4944 §5.3).
	if hdrLen+len(payload) <= room {
		n := meshLen
		n += copy(frame[n:], hdrs[:hdrLen])
		n += copy(frame[n:], payload)
		if err := emit(frame[:n]); err != nil {
			return 0, err
		}
		return 1, nil
	}
	if len(pkt) > maxDatagramSize {
		return 0, fmt.Errorf("lowpan: encode: %d octets: %w", len(pkt), ErrTooBig)
	}

	// FRAG1: headers plus as much payload as keeps the uncompressed
	// offset of the next fragment a multiple of 8.
	fh := FragHeader{First: true, Size: uint16(len(pkt)), Tag: opts.Tag}
	firstEnd := (consumed + room - frag1HeaderLen - hdrLen) &^ (fragOffsetUnit - 1)
	if firstEnd <= consumed {
		// Not even the headers and one aligned payload octet fit.
		if room-frag1HeaderLen < hdrLen {
			return 0, fmt.Errorf("lowpan: encode: %d octets of headers in %d: %w", hdrLen, room-frag1HeaderLen, ErrHeadersTooLarge)
		}
		firstEnd = consumed // headers alone; the offset must still be aligned
		if consumed%fragOffsetUnit != 0 {
			return 0, fmt.Errorf("lowpan: encode: %w", ErrHeadersTooLarge)
		}
	}
	n := meshLen
	k, _ := fh.Encode(frame[n:])
	n += k
	n += copy(frame[n:], hdrs[:hdrLen])
	n += copy(frame[n:], pkt[consumed:firstEnd])
	if err := emit(frame[:n]); err != nil {
		return 0, err
	}
	frames := 1

	// FRAGNs: 8-octet multiples; the last takes the rest.
	fh.First = false
	chunk := (room - fragNHeaderLen) &^ (fragOffsetUnit - 1)
	if chunk <= 0 {
		return frames, fmt.Errorf("lowpan: encode: MaxPayload %d leaves no room for a FRAGN", maxPayload)
	}
	for off := firstEnd; off < len(pkt); off += chunk {
		end := min(off+chunk, len(pkt))
		fh.Offset = uint16(off)
		n := meshLen
		k, _ := fh.Encode(frame[n:])
		n += k
		n += copy(frame[n:], pkt[off:end])
		if err := emit(frame[:n]); err != nil {
			return frames, err
		}
		frames++
	}
	return frames, nil
}

// TagCounter hands out datagram tags for one sender (RFC 4944 §5.3: the
// tag is incremented for every fragmented datagram and wraps from 65535 to
// 0). The zero value is ready; it is safe for concurrent use.
type TagCounter struct{ next atomic.Uint32 }

// Next returns the next tag.
func (t *TagCounter) Next() uint16 { return uint16(t.next.Add(1) - 1) }
