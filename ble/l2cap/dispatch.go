package l2cap

import (
	"errors"
	"fmt"
	"time"
)

// Delivery is what Dispatch asks of the host for one incoming PDU. Each
// Dispatch resets it and reuses its buffers, so a Delivery kept per
// connection makes the data path allocation-free; everything in it is
// valid until the next Dispatch with it.
type Delivery struct {
	// CID is the PDU's channel.
	CID CID
	// Replies are whole L2CAP PDUs (B-frames) to send to the peer, in
	// order: signalling answers, a Flow Control Credit Ind returning
	// credits, a Disconnection Request after a protocol error. Send them
	// even when Dispatch returns an error.
	Replies [][]byte
	// Events are for the host to act on (see EventKind).
	Events []Event
	// Channel is the channel a K-frame was for.
	Channel *Channel
	// SDU is the SDU the K-frame completed, for the channel's user (for
	// IPSP, one IPv6 packet in RFC 7668 form): non-nil, though possibly
	// empty, exactly when an SDU completed. It is the channel's buffer,
	// valid until the channel's next K-frame.
	SDU []byte
	// Payload is the information payload of a PDU for a fixed channel
	// other than LE signalling (ATT 0x0004, SMP 0x0006, ...): this package
	// does not implement them; the host answers or drops it.
	Payload []byte

	buf []byte
}

func (d *Delivery) reset() {
	*d = Delivery{Replies: d.Replies[:0], Events: d.Events[:0], buf: d.buf[:0]}
}

// reply appends one signalling PDU to Replies.
func (d *Delivery) reply(ident uint8, s Signal) {
	start := len(d.buf)
	d.buf = AppendSignal(d.buf, ident, s)
	d.Replies = append(d.Replies, d.buf[start:len(d.buf):len(d.buf)])
}

// Dispatch takes one L2CAP PDU received on the connection (an ACL
// payload, its fragments already reassembled) and routes it by CID:
//
//   - 0x0005, LE signalling: Handle answers it (Replies, Events);
//   - 0x0040–0x007F: the channel with that local CID reassembles it
//     (Channel.Receive); a completed SDU is in SDU; credits due back are a
//     Flow Control Credit Ind in Replies (Channel.CreditsToReturn); a
//     protocol error (wrapping ErrProtocol) starts the disconnection of the
//     channel (a Disconnection Request in Replies, EventProtocolError). A
//     dynamic CID with no channel is an error wrapping ErrUnknownCID: the
//     PDU is to be discarded;
//   - any other CID: the payload is handed back in Payload.
//
// A PDU whose Length field does not match is an error (ErrTruncated,
// ErrBadLength).
func (s *Signaling) Dispatch(now time.Time, pdu []byte, d *Delivery) error {
	d.reset()
	p, err := ParsePDU(pdu)
	if err != nil {
		return err
	}
	d.CID = p.CID()
	switch {
	case d.CID == CIDLESignaling:
		s.handle(now, p.Payload(), d)
		return nil
	case d.CID.IsDynamic():
		ch := s.Channel(d.CID)
		if ch == nil {
			return fmt.Errorf("l2cap: K-frame for CID %v: %w", d.CID, ErrUnknownCID)
		}
		d.Channel = ch
		sdu, done, err := ch.Receive(p.Payload())
		if err != nil {
			if errors.Is(err, ErrProtocol) {
				s.disconnect(now, ch, d)
				d.Events = append(d.Events, Event{Kind: EventProtocolError, Channel: ch, Err: err})
			}
			return err
		}
		if done {
			d.SDU = sdu
		}
		if n := ch.CreditsToReturn(); n > 0 {
			// Built without the Signal interface, which would move the
			// command to the heap: the data path stays allocation-free.
			start := len(d.buf)
			d.buf = appendCreditPDU(d.buf, s.newIdent(), ch.local, n)
			d.Replies = append(d.Replies, d.buf[start:len(d.buf):len(d.buf)])
		}
		return nil
	default:
		d.Payload = p.Payload()
		return nil
	}
}
