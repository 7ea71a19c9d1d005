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
	// TransmitTimeout bounds the wait for a transmit-done (default 5 s,
	// OpenThread's OPENTHREAD_SPINEL_CONFIG_RCP_TX_WAIT_TIME_SECS).
	TransmitTimeout time.Duration
	// MaxFrame is the largest frame the client reads (default
	// DefaultMaxFrame).
	MaxFrame int
}

// Default timeouts.
const (
	DefaultTimeout         = 2 * time.Second
	DefaultTransmitTimeout = 5 * time.Second
)

// ClientStats counts what a Client saw. Nothing counted here is fatal.
type ClientStats struct {
	FramesIn  uint64 // frames read
	FramesOut uint64 // frames written
	// BadFrames: frames that are not Spinel (bad header, truncated packed
	// integer); dropped.
	BadFrames uint64
	// Unmatched: answers with a TID no request is waiting on, or that do
	// not answer the request holding the TID (late answers after a
	// timeout, duplicates); dropped.
	Unmatched uint64
	// Unsolicited: frames with TID 0.
	Unsolicited uint64
	// SubscriberDrops: unsolicited frames a subscriber's full channel could
	// not take.
	SubscriberDrops uint64
	// Timeouts: requests that got no answer in time.
	Timeouts uint64
	// Resets: unsolicited reset notifications (LAST_STATUS 112–127).
	Resets uint64
	// HDLC: the framing counters, when the FrameConn has them (HDLCConn).
	HDLC HDLCStats
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
// it.
//
// All methods are safe for concurrent use.
type Client struct {
	conn FrameConn
	log  *slog.Logger
	opts ClientOptions

	sem     chan struct{} // one token per TID in use
	mu      sync.Mutex    // guards slots and nextTID
	slots   [MaxTID + 1]slot
	nextTID uint8

	wmu  sync.Mutex // serialises writes; guards wbuf
	wbuf []byte

	subMu      sync.Mutex
	subs       []*subscription
	subsClosed bool

	done       chan struct{}
	err        error // why the client ended; set before done is closed
	endOnce    sync.Once
	readerDone chan struct{}

	framesIn, framesOut, badFrames, unmatched atomic.Uint64
	unsolicited, subDrops, timeouts, resets   atomic.Uint64
}

// slot is the state of one TID. Its buffers and channel are made once and
// reused, so a request allocates nothing.
type slot struct {
	busy     bool
	answered bool
	cmd      Command
	prop     Prop
	reset    Status // set with answered when a reset notification ended the wait

	ch    chan struct{} // capacity 1: the reader's "answered" signal
	timer *time.Timer
	rx    []byte // copy of the answer frame
	reply Frame  // decoded answer; Value aliases rx
}

type subscription struct {
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
	if opts.TransmitTimeout <= 0 {
		opts.TransmitTimeout = DefaultTransmitTimeout
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	c := &Client{
		conn:       conn,
		log:        logger,
		opts:       opts,
		sem:        make(chan struct{}, MaxTID),
		nextTID:    1,
		wbuf:       make([]byte, 0, opts.MaxFrame),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
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
			close(s.ch)
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
// requests may arrive meanwhile. A transmission that ran returns a nil
// error and the outcome in TxDone.Status: OK, NO_ACK, CCA_FAILURE or
// StatusAbort. A transmission the RCP refused up front (raw stream not
// enabled, busy) returns an error wrapping its Status. The ACK's PSDU, when
// there is one, is a fresh copy; see TransmitInto to avoid that allocation.
func (c *Client) Transmit(ctx context.Context, req TxRequest) (TxDone, error) {
	return c.TransmitInto(ctx, &req, nil)
}

// TransmitInto is Transmit with the ACK's PSDU appended to ack[:0]; with a
// buffer of MaxPSDU bytes, a transmission allocates nothing.
func (c *Client) TransmitInto(ctx context.Context, req *TxRequest, ack []byte) (TxDone, error) {
	tid, err := c.exchange(ctx, CmdPropValueSet, PropStreamRaw, nil, req, c.opts.TransmitTimeout)
	if err != nil {
		return TxDone{}, err
	}
	defer c.release(tid)
	s := &c.slots[tid]
	r := NewReader(s.reply.Value, "transmit-done")
	st := Status(r.PackedUint())
	if err := r.Err(); err != nil {
		return TxDone{}, fmt.Errorf("spinel: STREAM_RAW (tid %d): %w", tid, err)
	}
	if r.Len() == 0 {
		if st == StatusOK {
			return TxDone{Status: st}, fmt.Errorf("spinel: STREAM_RAW (tid %d): LAST_STATUS OK with no transmit-done fields: %w", tid, ErrUnexpectedReply)
		}
		return TxDone{Status: st}, fmt.Errorf("spinel: STREAM_RAW (tid %d): transmission refused: %w", tid, st)
	}
	var d TxDone
	if err := d.Decode(s.reply.Value); err != nil {
		return TxDone{Status: st}, fmt.Errorf("spinel: STREAM_RAW (tid %d): %w", tid, err)
	}
	if d.HasAck {
		d.Ack.PSDU = append(ack[:0], d.Ack.PSDU...)
	} else {
		d.Ack.PSDU = nil
	}
	return d, nil
}

// request runs a GET/SET/INSERT/REMOVE/NOOP and copies the answer out.
func (c *Client) request(ctx context.Context, cmd Command, prop Prop, value []byte) (Frame, error) {
	tid, err := c.exchange(ctx, cmd, prop, value, nil, c.opts.Timeout)
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
func (c *Client) exchange(ctx context.Context, cmd Command, prop Prop, value []byte, tx *TxRequest, timeout time.Duration) (uint8, error) {
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
	s.busy, s.answered, s.cmd, s.prop, s.reset = true, false, cmd, prop, 0
	c.mu.Unlock()

	if err := c.write(tid, cmd, prop, value, tx); err != nil {
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
	c.release(tid)
	if why == ErrTimeout {
		c.timeouts.Add(1)
		c.log.Debug("spinel: request timed out", "cmd", cmd, "prop", prop, "tid", tid, "timeout", timeout)
		return 0, fmt.Errorf("spinel: %v %v (tid %d): %w after %v", cmd, prop, tid, ErrTimeout, timeout)
	}
	return 0, fmt.Errorf("spinel: %v %v (tid %d): %w", cmd, prop, tid, why)
}

func (c *Client) write(tid uint8, cmd Command, prop Prop, value []byte, tx *TxRequest) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.Err(); err != nil {
		return err
	}
	c.wbuf = AppendFrameHeader(c.wbuf[:0], 0, tid, cmd, prop)
	if tx != nil {
		c.wbuf = AppendTxRequest(c.wbuf, tx)
	} else {
		c.wbuf = append(c.wbuf, value...)
	}
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
	buf := make([]byte, c.opts.MaxFrame)
	for {
		n, err := c.conn.ReadFrame(buf)
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
		c.handle(buf[:n])
	}
}

func (c *Client) handle(b []byte) {
	var f Frame
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
		c.deliver(&f, b)
		return
	}
	c.mu.Lock()
	s := &c.slots[f.TID]
	if !s.busy || s.answered || !answers(s.cmd, s.prop, &f) {
		c.mu.Unlock()
		c.unmatched.Add(1)
		c.log.Debug("spinel: dropping unmatched answer", "tid", f.TID, "cmd", f.Command, "prop", f.Prop)
		return
	}
	s.rx = append(s.rx[:0], b...)
	s.reply = f
	s.reply.Value = s.rx[len(b)-len(f.Value):]
	s.answered = true
	select {
	case s.ch <- struct{}{}:
	default:
	}
	c.mu.Unlock()
}

// answers reports whether f answers a request of cmd on prop. A LAST_STATUS
// answers anything; otherwise the command and property must match.
func answers(cmd Command, prop Prop, f *Frame) bool {
	if f.Command == CmdPropValueIs && f.Prop == PropLastStatus {
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

// abortPending ends every pending request: after a reset the RCP has
// forgotten them.
func (c *Client) abortPending(st Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 1; i <= MaxTID; i++ {
		s := &c.slots[i]
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
