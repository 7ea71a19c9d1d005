package spinel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ClientOptions tune a Client. Zero values take the defaults.
type ClientOptions struct {
	// Timeout bounds the wait for the answer to a request once it is sent
	// (default 2 s, OpenThread's kMaxWaitTime).
	Timeout time.Duration
	// TransmitTimeout bounds the wait for each transmit-done. Zero, the
	// default, sizes it per frame: TransmitWait of the request at the
	// line's OctetTime, a few hundred milliseconds, where OpenThread's own
	// host waits 5 s (OPENTHREAD_SPINEL_CONFIG_RCP_TX_WAIT_TIME_SECS) and
	// then gives the RCP up.
	TransmitTimeout time.Duration
	// TransmitRetries is how many times a transmit request whose
	// transmit-done is overdue is sent again, each time with a fresh TID,
	// before the transmission fails with ErrTimeout (default
	// DefaultTransmitRetries; negative: never). An overdue transmit-done
	// means the request or its answer was lost on the line, or the RCP
	// stopped: a request sent again costs the frame one more wait, and at
	// worst sends it twice (the receiver drops the MAC duplicate); it
	// never cuts into a transmission under way, as the wait covers the
	// longest one.
	TransmitRetries int
	// OctetTime is how long one octet takes on the serial line. Zero: the
	// FrameConn's, when it has an OctetTime method (HDLCConn), else
	// DefaultOctetTime.
	OctetTime time.Duration
	// MaxFrame is the largest frame the client reads (default
	// DefaultMaxFrame).
	MaxFrame int
}

// Defaults.
const (
	DefaultTimeout         = 2 * time.Second
	DefaultTransmitRetries = 7
)

// ClientStats counts what a Client saw. Nothing counted here is fatal.
type ClientStats struct {
	FramesIn  uint64 `json:"frames_in"`  // frames read
	FramesOut uint64 `json:"frames_out"` // frames written
	// BadFrames: frames that are not Spinel (bad header, truncated packed
	// integer); dropped.
	BadFrames uint64 `json:"bad_frames"`
	// Unmatched: answers with a TID no request is waiting on, or that do
	// not answer the request holding the TID (late answers after a
	// timeout, duplicates); dropped.
	Unmatched uint64 `json:"unmatched"`
	// Unsolicited: frames with TID 0.
	Unsolicited uint64 `json:"unsolicited"`
	// SubscriberDrops: unsolicited frames a subscriber's full channel could
	// not take.
	SubscriberDrops uint64 `json:"subscriber_drops"`
	// Timeouts: requests that got no answer in time.
	Timeouts uint64 `json:"timeouts"`
	// Resets: unsolicited reset notifications (LAST_STATUS 112–127).
	Resets uint64 `json:"reset_notifications"`
	// TxResent: transmit requests sent again because their transmit-done
	// was overdue (TransmitRetries).
	TxResent uint64 `json:"tx_resent"`
	// Late: answers that came on a TID after its request had timed out
	// (the TID was held back meanwhile, so that the late answer could not
	// be taken for another request's); dropped.
	Late uint64 `json:"late"`
	// HDLC: the framing counters, when the FrameConn has them (HDLCConn).
	HDLC HDLCStats `json:"hdlc"`
}

// Add returns the counters of s and o summed: those of several
// connections, for counters that never go backwards over a driver's life.
func (s ClientStats) Add(o ClientStats) ClientStats {
	return ClientStats{FramesIn: s.FramesIn + o.FramesIn, FramesOut: s.FramesOut + o.FramesOut, BadFrames: s.BadFrames + o.BadFrames,
		Unmatched: s.Unmatched + o.Unmatched, Unsolicited: s.Unsolicited + o.Unsolicited, SubscriberDrops: s.SubscriberDrops + o.SubscriberDrops,
		Timeouts: s.Timeouts + o.Timeouts, Resets: s.Resets + o.Resets, TxResent: s.TxResent + o.TxResent, Late: s.Late + o.Late,
		HDLC: s.HDLC.Add(o.HDLC)}
}

// Client talks Spinel to an RCP over a FrameConn: it assigns TIDs, matches
// answers to requests, applies timeouts and hands unsolicited frames (TID 0)
// to subscribers.
//
// Ownership: NewClient starts one goroutine, spinelReader, which reads
// frames until the connection fails or Close is called. The Client owns the
// FrameConn: Close (or a read error) closes it. After a read error the
// Client is finished — Done is closed, Err says why, pending and later
// requests fail with ErrClosed — and the owner (the radio driver) makes a
// new connection and a new Client. Close stops the goroutine and waits for
// it. The reader also writes the requests of a TransmitSequence after the
// first, and calls SubscribeFunc callbacks. A transmission whose caller's
// context ended is waited for on a short-lived goroutine, which ends with
// the transmit-done, the transmit timeout or the client.
//
// All methods are safe for concurrent use.
type Client struct {
	conn   FrameConn
	viewer FrameViewer      // conn's, when it has one
	partsW FramePartsWriter // conn's, when it has one
	log    *slog.Logger
	opts   ClientOptions
	epoch  time.Time // origin of the transmit deadlines (monotonic)

	sem     chan struct{} // one token per TID in use
	mu      sync.Mutex    // guards slots and nextTID, and tx.active/tid/gen for the reader
	slots   [MaxTID + 1]slot
	nextTID uint8

	wmu        sync.Mutex // serialises writes; guards the buffers below
	wbuf       []byte
	head, tail []byte    // a transmit request's header and the fields after its PSDU
	vec        [3][]byte // head, PSDU, tail for FramePartsWriter

	// txToken holds one transmission at a time: OpenThread's RCP has one
	// transmit buffer, and a second SET STREAM_RAW replaces the frame
	// under way, whose TID is then never answered (sub_mac.cpp
	// SubMac::Send).
	txToken chan struct{}
	txMu    sync.Mutex // guards tx; the reader holds it while it steps a sequence
	tx      txState
	single  singleTx // Transmit's and TransmitInto's sequence; used under txToken

	// Owned by the reader goroutine: the frame being handled, and the
	// transmit-done handed to a TxSequence.
	rxFrame, fnFrame Frame
	rxDone           TxDone

	subMu      sync.Mutex
	subs       []*subscription
	subsClosed bool

	done       chan struct{}
	err        error // why the client ended; set before done is closed
	endOnce    sync.Once
	readerDone chan struct{}

	framesIn, framesOut, badFrames, unmatched atomic.Uint64
	unsolicited, subDrops, timeouts, resets   atomic.Uint64
	resent, late                              atomic.Uint64
}

// txState is the transmit sequence under way. active, tid and gen are
// written under both txMu and mu, so the reader can match answers under mu
// alone; the rest is guarded by txMu.
type txState struct {
	active   bool   // the reader steps seq on tid's transmit-done
	tid      uint8  // the TID the sequence holds
	gen      uint64 // counts sequences, so a late answer cannot step a newer one
	seq      TxSequence
	req      *TxRequest    // the request in flight, for sending it again
	resent   int           // times req was sent again
	deadline time.Duration // since epoch: when the request in flight times out
	err      error         // why the reader could not write the next request
	done     TxDone        // the waiter's, for an answer it finds after stopping the reader
	// ended: the reader handed the sequence its last outcome (Next
	// returned nil) and its answer is on the way to the slot; the waiter
	// must not hand that outcome to Next a second time.
	ended bool
}

// slot is the state of one TID. Its buffers and channel are made once and
// reused, so a request allocates nothing.
type slot struct {
	busy     bool
	answered bool
	// stale: the request timed out and the TID is held back (busy) until
	// its late answer comes or the hold ends (retire).
	stale bool
	epoch uint32 // counts the TID's uses, so a hold ends only its own
	cmd   Command
	prop  Prop
	reset Status // set with answered when a reset notification ended the wait

	ch    chan struct{} // capacity 1: the reader's "answered" signal
	timer *time.Timer
	rx    []byte // copy of the answer frame
	reply Frame  // decoded answer; Value aliases rx
}

type subscription struct {
	fn      func(*Frame) // SubscribeFunc's; ch and ring are unused then
	ch      chan Frame
	ring    [][]byte // len(ch)+2 buffers, see deliver
	next    int
	props   []Prop
	dropped uint64
}

// NewClient starts a client on conn. logger may be nil.
func NewClient(conn FrameConn, logger *slog.Logger, opts ClientOptions) *Client {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.TransmitRetries == 0 {
		opts.TransmitRetries = DefaultTransmitRetries
	}
	if opts.OctetTime <= 0 {
		if l, ok := conn.(interface{ OctetTime() time.Duration }); ok {
			opts.OctetTime = l.OctetTime()
		}
		if opts.OctetTime <= 0 {
			opts.OctetTime = DefaultOctetTime
		}
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	c := &Client{
		conn:       conn,
		log:        logger,
		opts:       opts,
		epoch:      time.Now(),
		sem:        make(chan struct{}, MaxTID),
		nextTID:    1,
		wbuf:       make([]byte, 0, opts.MaxFrame),
		head:       make([]byte, 0, 16),
		tail:       make([]byte, 0, 32),
		txToken:    make(chan struct{}, 1),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	c.viewer, _ = conn.(FrameViewer)
	c.partsW, _ = conn.(FramePartsWriter)
	for i := 1; i <= MaxTID; i++ {
		s := &c.slots[i]
		s.ch = make(chan struct{}, 1)
		s.timer = time.NewTimer(time.Hour)
		s.timer.Stop()
	}
	go c.spinelReader()
	return c
}

// Done is closed when the client has ended (Close or a connection error).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err reports why the client ended: nil while it runs, an error wrapping
// ErrClosed (and the connection's error, if that was the cause) after.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close ends the client, closes the connection and waits for the reader
// goroutine. Pending requests fail with ErrClosed; subscriber channels are
// closed.
func (c *Client) Close() error {
	c.end(ErrClosed)
	<-c.readerDone
	return nil
}

func (c *Client) end(cause error) {
	c.endOnce.Do(func() {
		c.err = cause
		close(c.done)
		if err := c.conn.Close(); err != nil {
			c.log.Debug("spinel: closing connection", "err", err)
		}
		c.subMu.Lock()
		for _, s := range c.subs {
			if s.ch != nil {
				close(s.ch)
			}
		}
		c.subs = nil
		c.subsClosed = true
		c.subMu.Unlock()
	})
}

// Stats returns the counters.
func (c *Client) Stats() ClientStats {
	s := ClientStats{
		FramesIn:        c.framesIn.Load(),
		FramesOut:       c.framesOut.Load(),
		BadFrames:       c.badFrames.Load(),
		Unmatched:       c.unmatched.Load(),
		Unsolicited:     c.unsolicited.Load(),
		SubscriberDrops: c.subDrops.Load(),
		Timeouts:        c.timeouts.Load(),
		Resets:          c.resets.Load(),
		TxResent:        c.resent.Load(),
		Late:            c.late.Load(),
	}
	if h, ok := c.conn.(interface{ Stats() HDLCStats }); ok {
		s.HDLC = h.Stats()
	}
	return s
}

// Subscribe returns a channel of unsolicited frames (TID 0): received
// 802.15.4 frames (IS STREAM_RAW), reset notifications (IS LAST_STATUS
// 112–127), logs (IS STREAM_LOG), energy scan results, and whatever else
// the RCP volunteers; with props given, only frames of those properties.
// buffer (at least 1) is the channel's capacity.
//
// A subscriber that falls behind loses frames: when its channel is full
// the reader drops the frame for that subscriber (counted in
// ClientStats.SubscriberDrops) rather than wait, so a slow subscriber never
// delays answers to requests or other subscribers.
//
// Frame.Value is valid until the subscriber's next receive from the
// channel: the reader reuses a ring of buffer+2 frame buffers per
// subscription, so delivery does not allocate. Copy what must outlive that.
//
// cancel unsubscribes and closes the channel; the channel is also closed
// when the client ends.
func (c *Client) Subscribe(buffer int, props ...Prop) (<-chan Frame, func()) {
	if buffer < 1 {
		buffer = 1
	}
	s := &subscription{
		ch:    make(chan Frame, buffer),
		ring:  make([][]byte, buffer+2),
		props: slices.Clone(props),
	}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if c.subsClosed {
		close(s.ch)
		return s.ch, func() {}
	}
	c.subs = append(c.subs, s)
	cancel := func() {
		c.subMu.Lock()
		defer c.subMu.Unlock()
		if i := slices.Index(c.subs, s); i >= 0 {
			c.subs = slices.Delete(c.subs, i, i+1)
			close(s.ch)
		}
	}
	return s.ch, cancel
}

// SubscribeFunc calls fn for every unsolicited frame (TID 0) of the given
// properties (all, when none are given), on the client's reader goroutine,
// as the frame arrives: no copy into a ring and no goroutine hand-off, for
// a subscriber that takes what it needs at once (the radio driver copies a
// received PSDU into a buffer it lends). f and the bytes f.Value points to
// are valid during the call only. fn must be quick, must not block and must
// not call the Client; while it runs the client reads nothing.
//
// cancel unsubscribes; fn is not called once cancel has returned. fn is
// not called after the client ends either.
func (c *Client) SubscribeFunc(fn func(f *Frame), props ...Prop) (cancel func()) {
	s := &subscription{fn: fn, props: slices.Clone(props)}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if c.subsClosed {
		return func() {}
	}
	c.subs = append(c.subs, s)
	return func() {
		c.subMu.Lock()
		defer c.subMu.Unlock()
		if i := slices.Index(c.subs, s); i >= 0 {
			c.subs = slices.Delete(c.subs, i, i+1)
		}
	}
}

// Get reads a property: PROP_VALUE_GET, answered by PROP_VALUE_IS. The
// returned Frame's Value is the caller's own copy. An answer of LAST_STATUS
// with a status other than OK (PROP_NOT_FOUND, …) is returned as an error
// wrapping that Status.
func (c *Client) Get(ctx context.Context, prop Prop) (Frame, error) {
	return c.request(ctx, CmdPropValueGet, prop, nil)
}

// Set writes a property: PROP_VALUE_SET. An OpenThread RCP answers with IS
// of the property (its value after the change) or, for a property with no
// getter, IS LAST_STATUS OK; a failure comes as IS LAST_STATUS with the
// error status, returned as an error wrapping that Status.
func (c *Client) Set(ctx context.Context, prop Prop, value []byte) (Frame, error) {
	return c.request(ctx, CmdPropValueSet, prop, value)
}

// Insert adds an item to a list property (PROP_VALUE_INSERT, answered by
// PROP_VALUE_INSERTED or LAST_STATUS).
func (c *Client) Insert(ctx context.Context, prop Prop, value []byte) (Frame, error) {
	return c.request(ctx, CmdPropValueInsert, prop, value)
}

// Remove deletes an item from a list property (PROP_VALUE_REMOVE, answered
// by PROP_VALUE_REMOVED or LAST_STATUS).
func (c *Client) Remove(ctx context.Context, prop Prop, value []byte) (Frame, error) {
	return c.request(ctx, CmdPropValueRemove, prop, value)
}

// Noop sends NOOP and waits for its LAST_STATUS: a cheap liveness check.
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.request(ctx, CmdNoop, 0, nil)
	return err
}

// Reset sends RESET with kind and returns once it is written; it does not
// wait. The RCP announces the reset with an unsolicited IS LAST_STATUS
// carrying a reset reason (OpenThread's RCP says RESET_POWER_ON even for a
// stack reset): subscribe before calling Reset to see it. Requests pending
// when that notification arrives fail with ErrReset.
func (c *Client) Reset(ctx context.Context, kind ResetType) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("spinel: RESET: %w", err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.Err(); err != nil {
		return fmt.Errorf("spinel: RESET: %w", err)
	}
	c.wbuf = AppendFrameHeader(c.wbuf[:0], 0, 0, CmdReset, 0)
	c.wbuf = append(c.wbuf, byte(kind))
	if err := c.conn.WriteFrame(c.wbuf); err != nil {
		return fmt.Errorf("spinel: RESET: %w", err)
	}
	c.framesOut.Add(1)
	return nil
}

// Transmit sends one 802.15.4 frame (SET STREAM_RAW) and waits for its
// transmit-done, holding the request's TID until then; answers to other
// requests may arrive meanwhile. Transmissions go one at a time (see
// TransmitSequence): a second Transmit waits for the first one's
// transmit-done, bounded by its context. A transmission that ran returns a
// nil error and the outcome in TxDone.Status: OK, NO_ACK, CCA_FAILURE or
// StatusAbort. A transmission the RCP refused up front (raw stream not
// enabled, busy) returns an error wrapping its Status. The ACK's PSDU, when
// there is one, is a fresh copy; see TransmitInto to avoid that allocation.
//
// When ctx ends first, Transmit returns at once with ctx's error; the frame
// is in the RCP's hands, and the next transmission waits for its
// transmit-done (or the transmit timeout) so as not to replace it.
func (c *Client) Transmit(ctx context.Context, req TxRequest) (TxDone, error) {
	return c.TransmitInto(ctx, &req, nil)
}

// TransmitInto is Transmit with the ACK's PSDU appended to ack[:0]; with a
// buffer of MaxPSDU bytes, a transmission allocates nothing.
func (c *Client) TransmitInto(ctx context.Context, req *TxRequest, ack []byte) (TxDone, error) {
	if err := c.LockTransmit(ctx); err != nil {
		return TxDone{}, err
	}
	st := &c.single
	*st = singleTx{req: req, ack: ack}
	orphaned, err := c.runSequence(ctx, st)
	if orphaned {
		return TxDone{}, err
	}
	d, derr := st.done, st.err
	*st = singleTx{}
	c.UnlockTransmit()
	if err != nil {
		return TxDone{}, err
	}
	return d, derr
}

// singleTx is the TxSequence of Transmit: one request.
type singleTx struct {
	req  *TxRequest
	ack  []byte
	sent bool
	done TxDone
	err  error
}

func (s *singleTx) Next(done *TxDone, err error) *TxRequest {
	if done == nil && !s.sent {
		s.sent = true
		return s.req
	}
	if done != nil {
		s.done, s.err = *done, err
		if s.done.HasAck {
			s.done.Ack.PSDU = append(s.ack[:0], done.Ack.PSDU...)
		}
	}
	return nil
}

func (s *singleTx) End(error) {}

// TxSequence is a run of transmissions that TransmitSequence sends one
// after another.
type TxSequence interface {
	// Next is given the outcome of the request it returned last and
	// returns the next request, or nil to end the sequence. The first
	// call, from TransmitSequence's goroutine, has done nil. Every later
	// call comes from the client's reader goroutine the moment the
	// transmit-done arrives, so the next request is on the line without a
	// round trip through another goroutine: Next must be quick, must not
	// block and must not call the Client. done is valid during the call
	// only (its Ack.PSDU aliases the reader's buffer). err is non-nil when
	// the RCP refused the request up front (done.Status is the status, and
	// err wraps it) or the transmit-done could not be decoded. The
	// request returned, PSDU included, must stay unchanged until the next
	// call to Next or End.
	Next(done *TxDone, err error) *TxRequest
	// End is called once, when the client no longer uses the sequence:
	// err is nil when Next ended it, otherwise why the request Next
	// returned last has no outcome (ErrTimeout, ErrReset, ErrClosed, a
	// write error, the context's error). When a context ended
	// TransmitSequence, End comes later, from another goroutine, once the
	// RCP has reported the frame it holds or the transmit timeout passed:
	// only then may another transmission go out.
	End(err error)
}

// TransmitSequence sends the requests seq.Next returns, one at a time, each
// the moment the previous one's transmit-done arrives. OpenThread's RCP
// holds one transmission (a second SET STREAM_RAW replaces the frame under
// way: sub_mac.cpp SubMac::Send), so the next request cannot go early; it
// is written by the client's reader goroutine as soon as it has read the
// transmit-done, as OpenThread's own host sends its next frame from the
// thread that processed the previous transmit-done
// (radio_spinel.cpp ProcessRadioStateMachine → TransmitDone; its writes
// wait for the descriptor in hdlc_interface.cpp HdlcInterface::Write).
// The sequence holds one TID and the client's transmit token throughout;
// each request's transmit-done is awaited for ClientOptions.TransmitTimeout.
//
// It returns when the sequence has ended (nil), or with why it stopped: the
// transmit timeout (ErrTimeout), a reset notification (ErrReset), the
// connection (ErrClosed), a write error, or ctx. When ctx ends first it
// returns at once; the frame in the RCP's hands keeps the token until its
// transmit-done (or the timeout), and seq.End is called then.
func (c *Client) TransmitSequence(ctx context.Context, seq TxSequence) error {
	if err := c.LockTransmit(ctx); err != nil {
		seq.End(err)
		return err
	}
	orphaned, err := c.runSequence(ctx, seq)
	if !orphaned {
		c.UnlockTransmit()
		seq.End(err)
	}
	return err
}

// LockTransmit takes the transmit token, waiting for the transmission or
// sequence under way, bounded by ctx: no transmission goes out until
// UnlockTransmit. For radio work that excludes transmitting (an energy
// scan: SubMac::Send refuses during one).
func (c *Client) LockTransmit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("spinel: %v %v: %w", CmdPropValueSet, PropStreamRaw, err)
	}
	select {
	case c.txToken <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.txToken <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("spinel: %v %v: waiting for the transmission under way: %w", CmdPropValueSet, PropStreamRaw, ctx.Err())
	case <-c.done:
		return fmt.Errorf("spinel: %v %v: %w", CmdPropValueSet, PropStreamRaw, c.err)
	}
}

// UnlockTransmit returns the token LockTransmit took.
func (c *Client) UnlockTransmit() { <-c.txToken }

// runSequence runs seq with the transmit token held. Unless it reports the
// sequence orphaned (ctx ended with a frame in the RCP's hands: a goroutine
// then waits for it, releases the token and calls End), the caller
// releases the token and calls End.
func (c *Client) runSequence(ctx context.Context, seq TxSequence) (orphaned bool, err error) {
	tid, err := c.takeTID(ctx, CmdPropValueSet, PropStreamRaw)
	if err != nil {
		return false, err
	}
	c.txMu.Lock()
	req := seq.Next(nil, nil)
	if req == nil {
		c.txMu.Unlock()
		c.release(tid)
		return false, nil
	}
	c.mu.Lock()
	c.tx.active, c.tx.tid = true, tid
	c.tx.gen++
	c.mu.Unlock()
	c.tx.seq, c.tx.err, c.tx.req, c.tx.resent, c.tx.ended = seq, nil, req, 0, false
	c.tx.deadline = c.since() + c.transmitWait(req)
	if err := c.writeTx(tid, req); err != nil {
		c.stopSteppingLocked()
		c.txMu.Unlock()
		c.release(tid)
		return false, fmt.Errorf("spinel: %v %v (tid %d): %w", CmdPropValueSet, PropStreamRaw, tid, err)
	}
	c.txMu.Unlock()

	var why error
	for why == nil {
		s := &c.slots[tid]
		c.txMu.Lock()
		left := c.tx.deadline - c.since()
		c.txMu.Unlock()
		if left <= 0 {
			// Overdue: send the request again under a fresh TID, or give
			// up when the retries are spent.
			next, err := c.resend(ctx, tid)
			if err != nil || next != tid {
				tid, why = next, err
				continue
			}
			// Nothing was overdue after all: the transmit-done came, or
			// the reader stopped stepping the sequence and hands the
			// answer to this waiter through the slot. Wait for it below
			// with ctx and the client's end, never loop straight back:
			// that spun forever once a daemon stopped with the answer
			// already in the slot.
			left = time.Millisecond
		}
		s.timer.Reset(left)
		select {
		case <-s.ch:
			s.timer.Stop()
			return false, c.endSequence(tid)
		case <-ctx.Done():
			why = ctx.Err()
		case <-s.timer.C:
			// The deadline moves with each request the reader writes.
		case <-c.done:
			why = c.err
		}
		s.timer.Stop()
	}
	s := &c.slots[tid]
	c.txMu.Lock()
	c.stopSteppingLocked()
	deadline, hold, ended := c.tx.deadline, 2*c.transmitWait(c.tx.req), c.tx.ended
	c.txMu.Unlock()
	if ended {
		// The reader stepped the sequence to its end with an answer that
		// raced the deadline (or ctx) before we stopped it: the sequence
		// has its outcome and ended as usual. The answer itself is on its
		// way to the slot; wait for it (bounded, never to hang a stopping
		// daemon again) so that the TID goes free only after it.
		s.timer.Reset(hold)
		select {
		case <-s.ch:
		case <-s.timer.C:
		case <-c.done:
		}
		s.timer.Stop()
		return false, c.endSequence(tid)
	}
	// An answer that raced the timer or the context still counts: the
	// reader no longer steps the sequence, so the outcome is handed to
	// Next here, and the sequence stops for why.
	c.mu.Lock()
	answered, reset := s.answered, s.reset
	c.mu.Unlock()
	if answered {
		if reset == 0 {
			c.txMu.Lock()
			d, derr := c.decodeTxDone(&c.tx.done, tid, s.reply.Value)
			seq.Next(d, derr)
			c.txMu.Unlock()
		}
		if err := c.endSequence(tid); err != nil {
			return false, err
		}
		return false, fmt.Errorf("spinel: %v %v (tid %d): %w", CmdPropValueSet, PropStreamRaw, tid, why)
	}
	if why == ErrTimeout {
		c.timeouts.Add(1)
		c.log.Debug("spinel: transmit-done timed out", "tid", tid, "tries", max(c.opts.TransmitRetries, 0)+1)
		// The RCP may still answer: hold the TID back until then.
		c.retire(tid, hold)
		return false, fmt.Errorf("spinel: %v %v (tid %d): %w after %d tries", CmdPropValueSet, PropStreamRaw, tid, ErrTimeout, max(c.opts.TransmitRetries, 0)+1)
	}
	if ctx.Err() != nil && c.Err() == nil {
		err := fmt.Errorf("spinel: %v %v (tid %d): %w", CmdPropValueSet, PropStreamRaw, tid, why)
		go c.finishOrphan(tid, seq, deadline, hold, err)
		return true, err
	}
	c.release(tid)
	return false, fmt.Errorf("spinel: %v %v (tid %d): %w", CmdPropValueSet, PropStreamRaw, tid, why)
}

// transmitWait is how long the transmit-done of req may take.
func (c *Client) transmitWait(req *TxRequest) time.Duration {
	if c.opts.TransmitTimeout > 0 {
		return c.opts.TransmitTimeout
	}
	return TransmitWait(req, c.opts.OctetTime)
}

// resend handles an overdue transmit-done of the sequence's request on
// tid: it sends the request again under a fresh TID and retires tid, so
// that a late transmit-done on it is dropped rather than taken for the
// outcome of what the sequence sends next (OpenThread's RCP answers only
// the TID of the latest SET STREAM_RAW it took: ncp_base_radio.cpp
// HandlePropertySet_SPINEL_PROP_STREAM_RAW caches it in mCurTransmitTID).
// It returns the TID the sequence now waits on, and ErrTimeout when the
// retries are spent; it does nothing when the answer came meanwhile.
func (c *Client) resend(ctx context.Context, tid uint8) (uint8, error) {
	q := &c.tx
	overdue := func() bool {
		return q.active && q.tid == tid && q.deadline <= c.since()
	}
	c.txMu.Lock()
	if !overdue() {
		c.txMu.Unlock()
		return tid, nil
	}
	if q.resent >= c.opts.TransmitRetries {
		c.txMu.Unlock()
		return tid, ErrTimeout
	}
	c.txMu.Unlock()
	// Taken without txMu: the reader steps the sequence under it.
	next, err := c.takeTID(ctx, CmdPropValueSet, PropStreamRaw)
	if err != nil {
		return tid, err
	}
	c.txMu.Lock()
	c.mu.Lock()
	if !overdue() || c.slots[tid].answered {
		// The transmit-done came while we took the TID.
		c.mu.Unlock()
		c.txMu.Unlock()
		c.release(next)
		return tid, nil
	}
	q.tid = next
	q.gen++
	c.mu.Unlock()
	c.retire(tid, 2*c.transmitWait(q.req))
	q.resent++
	c.resent.Add(1)
	q.deadline = c.since() + c.transmitWait(q.req)
	try := q.resent + 1
	err = c.writeTx(next, q.req)
	if err != nil {
		c.stopSteppingLocked()
	}
	c.txMu.Unlock()
	c.log.Debug("spinel: transmit-done overdue; request sent again", "tid", tid, "new_tid", next, "try", try)
	return next, err
}

// endSequence ends a sequence whose last answer came (or that a reset
// notification ended) and says how.
func (c *Client) endSequence(tid uint8) error {
	c.mu.Lock()
	reset := c.slots[tid].reset
	c.mu.Unlock()
	c.txMu.Lock()
	c.stopSteppingLocked()
	werr := c.tx.err
	c.tx.seq, c.tx.err, c.tx.req = nil, nil, nil
	c.txMu.Unlock()
	c.release(tid)
	switch {
	case reset != 0:
		return fmt.Errorf("spinel: %v %v (tid %d): %w: %w", CmdPropValueSet, PropStreamRaw, tid, ErrReset, reset)
	case werr != nil:
		return fmt.Errorf("spinel: %v %v (tid %d): %w", CmdPropValueSet, PropStreamRaw, tid, werr)
	}
	return nil
}

// finishOrphan waits for the transmit-done of a frame whose sender left
// (the reader no longer steps the sequence), then frees the TID (or holds
// it back, when the transmit-done is overdue) and the token. A frame
// whose sender left is not sent again.
func (c *Client) finishOrphan(tid uint8, seq TxSequence, deadline, hold time.Duration, err error) {
	s := &c.slots[tid]
	s.timer.Reset(max(deadline-c.since(), 0))
	answered := true
	select {
	case <-s.ch:
	case <-s.timer.C:
		c.mu.Lock()
		answered = s.answered
		c.mu.Unlock()
		if !answered {
			c.timeouts.Add(1)
			err = fmt.Errorf("spinel: %v %v (tid %d): %w (its sender had left: %w)", CmdPropValueSet, PropStreamRaw, tid, ErrTimeout, err)
		}
	case <-c.done:
	}
	s.timer.Stop()
	c.txMu.Lock()
	c.tx.seq, c.tx.err, c.tx.req = nil, nil, nil
	c.txMu.Unlock()
	if answered {
		c.release(tid)
	} else {
		c.retire(tid, hold)
	}
	c.UnlockTransmit()
	seq.End(err)
}

// stopSteppingLocked makes the reader leave the sequence alone. Callers
// hold txMu.
func (c *Client) stopSteppingLocked() {
	c.mu.Lock()
	c.tx.active = false
	c.mu.Unlock()
}

// stepSequence runs on the reader goroutine when a transmit-done for the
// sequence's TID arrives: it hands the outcome to the sequence and writes
// the next request at once. It reports false when the sequence ended (or
// the write failed, or it is no longer stepped): the answer then wakes the
// sequence's waiter.
func (c *Client) stepSequence(tid uint8, gen uint64, f *Frame) bool {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	q := &c.tx
	if !q.active || q.tid != tid || q.gen != gen {
		return false
	}
	done, err := c.decodeTxDone(&c.rxDone, tid, f.Value)
	req := q.seq.Next(done, err)
	if req == nil {
		q.ended = true
		c.stopSteppingLocked()
		return false
	}
	q.req, q.resent = req, 0
	if err := c.writeTx(tid, req); err != nil {
		q.err = err
		c.stopSteppingLocked()
		return false
	}
	q.deadline = c.since() + c.transmitWait(req)
	return true
}

// decodeTxDone reads a transmit-done, or the bare status of a refusal, into
// d.
func (c *Client) decodeTxDone(d *TxDone, tid uint8, value []byte) (*TxDone, error) {
	*d = TxDone{}
	r := NewReader(value, "transmit-done")
	st := Status(r.PackedUint())
	if err := r.Err(); err != nil {
		return d, fmt.Errorf("spinel: STREAM_RAW (tid %d): %w", tid, err)
	}
	if r.Len() == 0 {
		d.Status = st
		if st == StatusOK {
			return d, fmt.Errorf("spinel: STREAM_RAW (tid %d): LAST_STATUS OK with no transmit-done fields: %w", tid, ErrUnexpectedReply)
		}
		return d, fmt.Errorf("spinel: STREAM_RAW (tid %d): transmission refused: %w", tid, st)
	}
	if err := d.Decode(value); err != nil {
		*d = TxDone{Status: st}
		return d, fmt.Errorf("spinel: STREAM_RAW (tid %d): %w", tid, err)
	}
	if !d.HasAck {
		d.Ack.PSDU = nil
	}
	return d, nil
}

// writeTx writes SET STREAM_RAW for req. With a FramePartsWriter the
// header, the caller's PSDU and the fields after it are encoded straight
// into the connection's write buffer (one copy of the PSDU); otherwise
// they are joined first (two).
func (c *Client) writeTx(tid uint8, req *TxRequest) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.Err(); err != nil {
		return err
	}
	c.head = AppendFrameHeader(c.head[:0], 0, tid, CmdPropValueSet, PropStreamRaw)
	c.head = AppendUint16(c.head, uint16(len(req.PSDU)))
	c.tail = appendTxRequestFields(c.tail[:0], req)
	var err error
	if c.partsW != nil {
		c.vec = [3][]byte{c.head, req.PSDU, c.tail}
		err = c.partsW.WriteFrameParts(c.vec[:])
		c.vec = [3][]byte{}
	} else {
		c.wbuf = append(append(append(c.wbuf[:0], c.head...), req.PSDU...), c.tail...)
		err = c.conn.WriteFrame(c.wbuf)
	}
	if err != nil {
		return err
	}
	c.framesOut.Add(1)
	return nil
}

func (c *Client) since() time.Duration { return time.Since(c.epoch) }

// Try runs a request (GET, SET, INSERT, REMOVE or NOOP: cmd) as Get, Set,
// Insert, Remove and Noop do, but waits at most timeout for each answer
// and sends the request again, up to tries times in all, while no answer
// comes: for requests whose loss on a noisy line costs only a repetition
// (every GET, and a SET of a value, which sets it again). Each try has a
// TID of its own; a try that timed out holds its TID back for a while, so
// that its late answer is dropped rather than taken for another's. Other
// errors end it at once.
func (c *Client) Try(ctx context.Context, tries int, timeout time.Duration, cmd Command, prop Prop, value []byte) (Frame, error) {
	if timeout <= 0 {
		timeout = c.opts.Timeout
	}
	var err error
	for range max(tries, 1) {
		var f Frame
		if f, err = c.requestWithin(ctx, cmd, prop, value, timeout); !errors.Is(err, ErrTimeout) {
			return f, err
		}
	}
	return Frame{}, err
}

// request runs a GET/SET/INSERT/REMOVE/NOOP and copies the answer out.
func (c *Client) request(ctx context.Context, cmd Command, prop Prop, value []byte) (Frame, error) {
	return c.requestWithin(ctx, cmd, prop, value, c.opts.Timeout)
}

func (c *Client) requestWithin(ctx context.Context, cmd Command, prop Prop, value []byte, timeout time.Duration) (Frame, error) {
	tid, err := c.exchange(ctx, cmd, prop, value, timeout)
	if err != nil {
		return Frame{}, err
	}
	defer c.release(tid)
	rep := c.slots[tid].reply
	f := rep
	f.Value = bytes.Clone(rep.Value)
	if rep.Prop == PropLastStatus && rep.Command == CmdPropValueIs && (prop != PropLastStatus || cmd == CmdNoop) {
		r := NewReader(rep.Value, "LAST_STATUS")
		st := Status(r.PackedUint())
		if err := r.Err(); err != nil {
			return f, fmt.Errorf("spinel: %v %v (tid %d): %w", cmd, prop, tid, err)
		}
		if st != StatusOK {
			return f, fmt.Errorf("spinel: %v %v (tid %d): %w", cmd, prop, tid, st)
		}
	}
	return f, nil
}

// exchange takes a TID, sends the request and waits for its answer. On
// success the TID is still held, its answer in c.slots[tid].reply; the
// caller reads it and calls release. On error the TID is released.
func (c *Client) exchange(ctx context.Context, cmd Command, prop Prop, value []byte, timeout time.Duration) (uint8, error) {
	tid, err := c.takeTID(ctx, cmd, prop)
	if err != nil {
		return 0, err
	}
	s := &c.slots[tid]
	if err := c.write(tid, cmd, prop, value); err != nil {
		c.release(tid)
		return 0, fmt.Errorf("spinel: %v %v (tid %d): %w", cmd, prop, tid, err)
	}

	s.timer.Reset(timeout)
	var why error
	select {
	case <-s.ch:
	case <-ctx.Done():
		why = ctx.Err()
	case <-s.timer.C:
		why = ErrTimeout
	case <-c.done:
		why = c.err
	}
	s.timer.Stop()

	// An answer that raced the timer or the context still counts.
	c.mu.Lock()
	answered, reset := s.answered, s.reset
	c.mu.Unlock()
	switch {
	case answered && reset != 0:
		c.release(tid)
		return 0, fmt.Errorf("spinel: %v %v (tid %d): %w: %w", cmd, prop, tid, ErrReset, reset)
	case answered:
		return tid, nil
	}
	if why == ErrTimeout {
		c.timeouts.Add(1)
		c.log.Debug("spinel: request timed out", "cmd", cmd, "prop", prop, "tid", tid, "timeout", timeout)
		c.retire(tid, min(max(2*timeout, 250*time.Millisecond), DefaultTimeout))
		return 0, fmt.Errorf("spinel: %v %v (tid %d): %w after %v", cmd, prop, tid, ErrTimeout, timeout)
	}
	c.release(tid)
	return 0, fmt.Errorf("spinel: %v %v (tid %d): %w", cmd, prop, tid, why)
}

// takeTID waits for a free TID, bounded by ctx, and marks its slot busy
// with the request it will carry.
func (c *Client) takeTID(ctx context.Context, cmd Command, prop Prop) (uint8, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("spinel: %v %v: %w", cmd, prop, err)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("spinel: %v %v: waiting for a free TID: %w", cmd, prop, ctx.Err())
	case <-c.done:
		return 0, fmt.Errorf("spinel: %v %v: %w", cmd, prop, c.err)
	}
	c.mu.Lock()
	tid := c.nextTID
	for c.slots[tid].busy {
		tid = tid%MaxTID + 1
	}
	c.nextTID = tid%MaxTID + 1
	s := &c.slots[tid]
	s.busy, s.answered, s.stale, s.cmd, s.prop, s.reset = true, false, false, cmd, prop, 0
	s.epoch++
	c.mu.Unlock()
	return tid, nil
}

// retire holds back the TID of a request that timed out (it stays busy)
// until its late answer comes, which the reader then drops, or hold
// passes: a TID used again at once could take the late answer for the
// answer to its new request — a transmit-done, a LAST_STATUS, answers
// anything.
func (c *Client) retire(tid uint8, hold time.Duration) {
	c.mu.Lock()
	s := &c.slots[tid]
	s.stale, s.answered = true, false
	select {
	case <-s.ch:
	default:
	}
	epoch := s.epoch
	c.mu.Unlock()
	time.AfterFunc(hold, func() {
		c.mu.Lock()
		if !s.busy || !s.stale || s.epoch != epoch {
			c.mu.Unlock()
			return
		}
		s.busy, s.stale = false, false
		c.mu.Unlock()
		<-c.sem
	})
}

// dropLateLocked frees a held-back TID whose late answer came, and counts
// it. Callers hold mu and find s busy and stale; it returns with mu
// unlocked.
func (c *Client) dropLateLocked(s *slot, f *Frame) {
	s.busy, s.stale = false, false
	c.mu.Unlock()
	<-c.sem
	c.late.Add(1)
	c.log.Debug("spinel: dropping a late answer", "tid", f.TID, "cmd", f.Command, "prop", f.Prop)
}

func (c *Client) write(tid uint8, cmd Command, prop Prop, value []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.Err(); err != nil {
		return err
	}
	c.wbuf = AppendFrameHeader(c.wbuf[:0], 0, tid, cmd, prop)
	c.wbuf = append(c.wbuf, value...)
	if err := c.conn.WriteFrame(c.wbuf); err != nil {
		return err
	}
	c.framesOut.Add(1)
	return nil
}

func (c *Client) release(tid uint8) {
	c.mu.Lock()
	s := &c.slots[tid]
	s.busy, s.answered = false, false
	select {
	case <-s.ch:
	default:
	}
	c.mu.Unlock()
	<-c.sem
}

// spinelReader reads frames until the connection fails or the client is
// closed, then ends the client.
func (c *Client) spinelReader() {
	defer close(c.readerDone)
	var buf []byte
	if c.viewer == nil {
		buf = make([]byte, c.opts.MaxFrame)
	}
	for {
		var b []byte
		var err error
		if c.viewer != nil {
			b, err = c.viewer.NextFrame()
		} else {
			var n int
			n, err = c.conn.ReadFrame(buf)
			b = buf[:n]
		}
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				c.badFrames.Add(1)
				c.log.Debug("spinel: dropping frame", "err", err)
				continue
			}
			select {
			case <-c.done: // closed by Close; the read error is its echo
			default:
				c.log.Warn("spinel: connection failed", "err", err)
			}
			c.end(fmt.Errorf("%w: %w", ErrClosed, err))
			return
		}
		c.framesIn.Add(1)
		c.handle(b)
	}
}

// handle dispatches one frame; b is the reader's until the next read.
func (c *Client) handle(b []byte) {
	f := &c.rxFrame
	if err := f.Decode(b); err != nil {
		c.badFrames.Add(1)
		c.log.Debug("spinel: dropping frame", "err", err, "frame", b)
		return
	}
	if f.TID == 0 {
		c.unsolicited.Add(1)
		if f.Command == CmdPropValueIs && f.Prop == PropLastStatus {
			if st, _, err := ReadPackedUint(f.Value); err == nil && Status(st).IsReset() {
				c.resets.Add(1)
				c.log.Info("spinel: RCP reset", "reason", Status(st))
				c.abortPending(Status(st))
			}
		}
		c.deliver(f, b)
		return
	}
	c.mu.Lock()
	s := &c.slots[f.TID]
	if s.busy && s.stale {
		c.dropLateLocked(s, f)
		return
	}
	ok := s.busy && !s.answered && answers(s.cmd, s.prop, f)
	if ok && c.tx.active && c.tx.tid == f.TID {
		gen := c.tx.gen
		c.mu.Unlock()
		if c.stepSequence(f.TID, gen, f) {
			return // the next request of the sequence is out
		}
		c.mu.Lock()
		if s.busy && s.stale { // retired meanwhile: sent again under another TID
			c.dropLateLocked(s, f)
			return
		}
		ok = s.busy && !s.answered && answers(s.cmd, s.prop, f)
	}
	if !ok {
		c.mu.Unlock()
		c.unmatched.Add(1)
		c.log.Debug("spinel: dropping unmatched answer", "tid", f.TID, "cmd", f.Command, "prop", f.Prop)
		return
	}
	s.rx = append(s.rx[:0], b...)
	s.reply = *f
	s.reply.Value = s.rx[len(b)-len(f.Value):]
	s.answered = true
	select {
	case s.ch <- struct{}{}:
	default:
	}
	c.mu.Unlock()
}

// answers reports whether f answers a request of cmd on prop. A LAST_STATUS
// answers anything but a GET of another property, which only a failure
// status answers (OpenThread's RCP answers a GET with IS of the property,
// or LAST_STATUS PROP_NOT_FOUND: ncp_base.cpp WritePropertyValueIsFrame;
// a LAST_STATUS OK there is someone else's answer, a transmit-done say);
// otherwise the command and property must match.
func answers(cmd Command, prop Prop, f *Frame) bool {
	if f.Command == CmdPropValueIs && f.Prop == PropLastStatus {
		if cmd == CmdPropValueGet && prop != PropLastStatus {
			st, _, err := ReadPackedUint(f.Value)
			return err == nil && Status(st) != StatusOK
		}
		return true
	}
	switch cmd {
	case CmdPropValueGet:
		return f.Command == CmdPropValueIs && f.Prop == prop && prop != PropStreamRaw
	case CmdPropValueSet:
		// A transmit-done is a LAST_STATUS (above); nothing else answers
		// SET STREAM_RAW.
		return f.Command == CmdPropValueIs && f.Prop == prop && prop != PropStreamRaw
	case CmdPropValueInsert:
		return f.Command == CmdPropValueInserted && f.Prop == prop
	case CmdPropValueRemove:
		return f.Command == CmdPropValueRemoved && f.Prop == prop
	}
	return false
}

// abortPending ends every pending request, and frees the TIDs held back
// for late answers: after a reset the RCP has forgotten them all.
func (c *Client) abortPending(st Status) {
	c.mu.Lock()
	freed := 0
	defer func() {
		c.mu.Unlock()
		for range freed {
			<-c.sem
		}
	}()
	for i := 1; i <= MaxTID; i++ {
		s := &c.slots[i]
		if s.busy && s.stale {
			s.busy, s.stale = false, false
			freed++
			continue
		}
		if s.busy && !s.answered {
			s.answered, s.reset = true, st
			select {
			case s.ch <- struct{}{}:
			default:
			}
		}
	}
}

// deliver hands an unsolicited frame to the subscribers that want it.
//
// Each subscription owns a ring of len(ch)+2 buffers. The frame sent k-th
// lands in ring[k mod (cap+2)], whose previous tenant is frame k-cap-2. By
// the channel rule of the Go memory model (the j-th receive from a channel
// of capacity C happens before the (j+C)-th send completes), the
// subscriber's receive of frame k-cap-1 — after which, by contract, it no
// longer uses frame k-cap-2 — happens before send k-1 completes, which
// happens before this goroutine overwrites the buffer for frame k.
func (c *Client) deliver(f *Frame, raw []byte) {
	off := len(raw) - len(f.Value)
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for _, s := range c.subs {
		if len(s.props) > 0 && !slices.Contains(s.props, f.Prop) {
			continue
		}
		if s.fn != nil {
			c.fnFrame = *f // each subscriber sees the frame as decoded
			s.fn(&c.fnFrame)
			continue
		}
		if len(s.ch) == cap(s.ch) {
			s.dropped++
			c.subDrops.Add(1)
			if s.dropped == 1 {
				c.log.Warn("spinel: subscriber too slow, dropping frames", "prop", f.Prop)
			}
			continue
		}
		buf := append(s.ring[s.next][:0], raw...)
		s.ring[s.next] = buf
		s.next = (s.next + 1) % len(s.ring)
		fr := *f
		fr.Value = buf[off:]
		select {
		case s.ch <- fr:
		default: // cannot happen: only this goroutine sends
			s.dropped++
			c.subDrops.Add(1)
		}
	}
}
