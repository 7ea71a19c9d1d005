package link

import (
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// TapDir is the direction of a tapped frame; the values are pcapng's
// epb_flags direction bits (draft-ietf-opsawg-pcapng §4.3.1).
type TapDir uint8

// Directions of a tapped frame.
const (
	TapIn  TapDir = 1 // received
	TapOut TapDir = 2 // sent
)

// TapFrame is one frame a link sent or received, as a Tap sees it.
type TapFrame struct {
	Time time.Time
	// Data is, on Lowpan, the 802.15.4 PSDU with its two FCS octets —
	// which in a frame sent are the zeros the radio fills in, and in a
	// frame received whatever the radio reported (not every RCP reports
	// the received FCS); on BLE, the IPv6 packet (before RFC 7668
	// compression when sent, after decompression when received). Valid
	// during the call only.
	Data []byte
	Dir  TapDir
	// Channel is the 802.15.4 channel; 0 when not known (frames sent, on
	// the link's configured channel, and BLE).
	Channel uint8
	// RSSI (dBm) and LQI are the radio's, for received 802.15.4 frames
	// only (Signal).
	RSSI   int8
	LQI    uint8
	Signal bool
}

// Tap is told of the frames a link sends and receives (Lowpan.SetTap,
// BLE.SetTap). TapFrame runs on the link's own goroutines — for frames
// sent on Lowpan, the radio's — so it must neither block nor keep
// f.Data: TapQueue copies into a bounded queue and drops when it is full.
type Tap interface {
	TapFrame(f TapFrame)
}

// tapRef holds a link's tap: an atomic.Pointer cannot hold an interface.
type tapRef struct{ t Tap }

// linkTap is a link's optional tap: one atomic load per frame when there
// is none.
type linkTap struct{ p atomic.Pointer[tapRef] }

func (lt *linkTap) set(t Tap) {
	if t == nil {
		lt.p.Store(nil)
		return
	}
	lt.p.Store(&tapRef{t})
}

// get returns the tap, nil when there is none: callers build the
// TapFrame (and read the clock) only when there is one.
func (lt *linkTap) get() Tap {
	if r := lt.p.Load(); r != nil {
		return r.t
	}
	return nil
}

// TapRecordLen is the largest frame a TapRecord holds whole: an IPv6
// packet of lowpan.BLEMTU, or the longest 802.15.4 SUN PHY PSDU (2047
// octets, IEEE 802.15.4-2020 §20.2.3's aMaxPhyPacketSize for SUN PHYs).
// Longer ones are cut (TapRecord.OrigLen keeps their length).
const TapRecordLen = max(lowpan.BLEMTU, 2047)

// TapRecord is a frame copied into a TapQueue.
type TapRecord struct {
	TapFrame // Data points into the record's own buffer
	// Source is the id of the TapQueue.Source the frame came through.
	Source int
	// OrigLen is the frame's length; more than len(Data) when it was cut.
	OrigLen int
	buf     [TapRecordLen]byte
}

// TapQueue is a bounded queue of copied frames between taps on the radio
// path and one consumer (a capture writer): a tap copies the frame into a
// free record, or drops it and counts the drop when none is free; it never
// blocks and allocates nothing. The records are allocated once, in
// NewTapQueue.
type TapQueue struct {
	free, full chan *TapRecord
	queued     atomic.Uint64
	dropped    atomic.Uint64
}

// NewTapQueue makes a queue of n records (at least 1).
func NewTapQueue(n int) *TapQueue {
	n = max(n, 1)
	q := &TapQueue{free: make(chan *TapRecord, n), full: make(chan *TapRecord, n)}
	recs := make([]TapRecord, n)
	for i := range recs {
		q.free <- &recs[i]
	}
	return q
}

// Put copies f into a free record tagged source and queues it; false
// (counted in Dropped) when every record is in use.
func (q *TapQueue) Put(source int, f TapFrame) bool {
	var r *TapRecord
	select {
	case r = <-q.free:
	default:
		q.dropped.Add(1)
		return false
	}
	n := copy(r.buf[:], f.Data)
	r.TapFrame = f
	r.Data = r.buf[:n]
	r.Source, r.OrigLen = source, len(f.Data)
	q.queued.Add(1)
	// Never blocks: there are as many slots in full as records.
	q.full <- r
	return true
}

// Records delivers the queued records in order; give each back with
// Release once done with it.
func (q *TapQueue) Records() <-chan *TapRecord { return q.full }

// Release returns a record taken from Records.
func (q *TapQueue) Release(r *TapRecord) {
	r.Data = nil
	q.free <- r
}

// Queued counts the frames queued; Dropped those dropped on a full queue.
func (q *TapQueue) Queued() uint64  { return q.queued.Load() }
func (q *TapQueue) Dropped() uint64 { return q.dropped.Load() }

// Source returns a Tap whose frames go to q tagged id (a capture
// interface, say).
func (q *TapQueue) Source(id int) Tap { return &tapSource{q: q, id: id} }

type tapSource struct {
	q  *TapQueue
	id int
}

func (s *tapSource) TapFrame(f TapFrame) { s.q.Put(s.id, f) }
