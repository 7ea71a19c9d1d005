package radio

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxPSDU is the largest IEEE 802.15.4 PSDU, FCS included
// (aMaxPHYPacketSize, IEEE 802.15.4-2015 §11.3).
const MaxPSDU = 127

// Radio is an IEEE 802.15.4 radio as the border router sees it: a Spinel
// RCP on a UART or SPI, or a simulated one. Implementations are safe for
// concurrent use.
type Radio interface {
	// Transmit sends one frame and waits for its outcome. psdu is the MAC
	// frame including two FCS octets (their value is ignored: the radio
	// computes the FCS); it must stay unchanged until Transmit returns.
	// Transmissions go one at a time, in call order; a caller waits for
	// the ones before it, bounded by ctx. A transmission that cannot
	// finish because the radio reset or closed returns a result with
	// Status TxAborted and an error saying why. See TxResult.Ack for the
	// acknowledgement frame.
	Transmit(ctx context.Context, psdu []byte, opts TxOptions) (TxResult, error)
	// Receive delivers received frames. The channel is closed by Close.
	// Frames a slow consumer cannot take are dropped and counted. A frame
	// may lend its PSDU from the radio's pool: see Frame.Release.
	Receive() <-chan Frame
	// Configure applies settings; they are kept and restored after the
	// radio recovers from a reset or a reconnect.
	Configure(ctx context.Context, s Settings) error
	// EnergyScan measures the strongest signal on channel for d.
	EnergyScan(ctx context.Context, channel uint8, d time.Duration) (int8, error)
	// Identity describes the radio (known once it is initialised).
	Identity() Identity
	// Close stops the radio and its goroutines.
	Close() error
}

// FramesTransmitter is implemented by radios that send the frames of a
// datagram back to back, each the moment the previous one's transmission
// ends, without a round trip through the caller (rcp.Driver). Use the
// package function TransmitFrames, which falls back to Transmit for radios
// without it.
type FramesTransmitter interface {
	// TransmitFrames sends frames in order and stops after the first one
	// whose final status is neither TxSent nor TxAcked, after
	// opts.CCARetries host-level retries of a frame that met a busy
	// channel. It returns n, the number of frames the radio took;
	// results[i] (len(results) ≥ len(frames)) is the outcome of frame i
	// for i < n, and results[n:] are left as they were. The frames must
	// stay unchanged until TransmitFrames returns.
	//
	// With a nil error, either n == len(frames) and every frame was sent
	// or acknowledged, or results[n-1] is the frame that stopped the batch
	// (TxNoAck, or TxChannelAccessFailure after the retries). A non-nil
	// error says why the batch stopped otherwise (ctx, the radio down,
	// reset or closed, a transport failure): results[n-1], when n > 0, is
	// then TxAborted if that frame's outcome is unknown.
	//
	// The acknowledgement of frame i is copied into results[i].Ack[:0]
	// when results[i].Ack has capacity on entry (MaxPSDU octets is enough);
	// otherwise it is not kept.
	TransmitFrames(ctx context.Context, frames [][]byte, opts TxOptions, results []TxResult) (int, error)
}

// TransmitFrames sends frames through r as FramesTransmitter describes:
// with r's own TransmitFrames when it has one, otherwise one Transmit per
// frame with the same channel-access retries, stop rule and results.
func TransmitFrames(ctx context.Context, r Radio, frames [][]byte, opts TxOptions, results []TxResult) (int, error) {
	if ft, ok := r.(FramesTransmitter); ok {
		return ft.TransmitFrames(ctx, frames, opts, results)
	}
	if len(results) < len(frames) {
		return 0, fmt.Errorf("radio: %d results for %d frames", len(results), len(frames))
	}
	for i, f := range frames {
		buf := results[i].Ack
		res, err := r.Transmit(ctx, f, opts)
		for try := 0; err == nil && res.Status == TxChannelAccessFailure && try < opts.CCARetries; try++ {
			res, err = r.Transmit(ctx, f, opts)
			res.CCARetries = try + 1
		}
		if cap(buf) > 0 {
			res.Ack = append(buf[:0], res.Ack...)
		}
		results[i] = res
		if err != nil {
			return i + 1, err
		}
		if res.Status != TxSent && res.Status != TxAcked {
			return i + 1, nil
		}
	}
	return len(frames), nil
}

// FrameSource feeds a PullTransmitter. Next and Done are called one at a
// time, never concurrently, and must not block nor call the radio: on the
// radio's own goroutine between frames (for rcp.Driver: the Spinel
// reader), and on TransmitFrom's caller's goroutine for the first Next and
// for the Done of a frame a failure or ctx cut short. A source shared with
// other goroutines guards its state itself.
type FrameSource interface {
	// Next returns the next frame to put on the air and its options, or
	// ok == false when there is nothing to send now (TransmitFrom then
	// returns). psdu must stay unchanged until Done reports its outcome.
	// opts.CCARetries is not applied: after a TxChannelAccessFailure the
	// source decides, and may return the same frame again.
	Next() (psdu []byte, opts TxOptions, ok bool)
	// Done reports the outcome of the frame Next returned last, before
	// Next is called again. err is non-nil when the radio could not
	// finish the frame (ctx, reset, closed, transport): res.Status is
	// then TxAborted. res.Ack, when set, is valid during the call only
	// (it may alias the radio's receive buffer).
	Done(res TxResult, err error)
}

// PullTransmitter is implemented by radios that take frames from a
// FrameSource the moment the previous transmission ends (rcp.Driver).
type PullTransmitter interface {
	// TransmitFrom sends frames from src until src.Next has none, ctx ends
	// or the radio fails; every frame Next returned has had its Done when
	// it returns. It returns nil when Next said there was nothing more.
	TransmitFrom(ctx context.Context, src FrameSource) error
}

// TransmitFrom uses r's own TransmitFrom when it has one, otherwise calls
// src.Next, r.Transmit and src.Done in a loop on the caller's goroutine.
// A Transmit that fails is reported to Done as TxAborted with its error,
// and ends the loop.
func TransmitFrom(ctx context.Context, r Radio, src FrameSource) error {
	if pt, ok := r.(PullTransmitter); ok {
		return pt.TransmitFrom(ctx, src)
	}
	for {
		// No frame is taken that could not be sent.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("radio: transmit: %w", err)
		}
		psdu, opts, ok := src.Next()
		if !ok {
			return nil
		}
		res, err := r.Transmit(ctx, psdu, opts)
		if err != nil {
			// Transmit may return a zero result (TxSent) with an error
			// that says the frame never went (ctx, not ready).
			res = TxResult{Status: TxAborted}
			src.Done(res, err)
			return err
		}
		src.Done(res, nil)
	}
}

// Frame is a received 802.15.4 frame with its reception metadata.
//
// A radio may lend the PSDU from a bounded pool of receive buffers it owns
// (rcp.Driver does): the consumer then calls Release when it is done with
// the frame, and the buffer goes back to the pool for the next frame, so
// that receiving allocates nothing. After Release the PSDU must not be
// used, through this Frame or any copy of it: the buffer carries another
// frame. Release on a frame that lends nothing (simulated radios) is a
// no-op, and so is a second Release. A frame never released is simply
// garbage-collected; the radio makes a new buffer in its place (counted in
// its statistics), so a consumer that never calls Release keeps working,
// at the cost of one allocation per frame.
type Frame struct {
	PSDU       []byte // including the two FCS octets
	RSSI       int8   // dBm
	NoiseFloor int8   // dBm; 127 when unknown
	LQI        uint8
	Channel    uint8
	// Timestamp is the radio's receive time in microseconds, in the radio's
	// own time base.
	Timestamp uint64
	// AckedWithFramePending: the radio acknowledged this frame with the
	// frame-pending bit set (a sleepy child has data waiting).
	AckedWithFramePending bool

	buf *rxBuffer // the lent buffer, nil when nothing is lent
	gen uint32    // buf's lending generation when lent to this frame
}

// Release returns the frame's buffer to the radio that lent it and clears
// PSDU. See Frame.
func (f *Frame) Release() {
	if b := f.buf; b != nil && b.gen.CompareAndSwap(f.gen, f.gen+1) {
		b.pool.put(b)
	}
	f.buf, f.PSDU = nil, nil
}

// TxOptions controls one transmission. The zero value means: the current
// channel, CSMA-CA on, the radio's default backoffs and retries.
type TxOptions struct {
	Channel         uint8 // 0: the configured channel
	DisableCSMA     bool
	MaxCSMABackoffs int // 0: default (4)
	MaxFrameRetries int // 0: default (3); -1: no retries
	// CCARetries is how often the host sends a frame again after
	// TxChannelAccessFailure, in TransmitFrames (the radio already did its
	// CSMA-CA backoffs; the channel may clear a few milliseconds later).
	// 0: none. Transmit and TransmitFrom ignore it (a FrameSource decides
	// itself whether to send a frame again). Each retry is counted in
	// TxResult.CCARetries.
	CCARetries int
}

// TxStatus is the outcome of a transmission.
type TxStatus int

const (
	// TxSent: the frame went out and no acknowledgement was requested.
	TxSent TxStatus = iota
	// TxAcked: the frame was acknowledged.
	TxAcked
	// TxNoAck: no acknowledgement came after every retry.
	TxNoAck
	// TxChannelAccessFailure: CSMA-CA found the channel busy every time.
	TxChannelAccessFailure
	// TxAborted: the radio reset, disconnected or closed before the frame
	// went out.
	TxAborted
)

func (s TxStatus) String() string {
	switch s {
	case TxSent:
		return "sent"
	case TxAcked:
		return "acked"
	case TxNoAck:
		return "no_ack"
	case TxChannelAccessFailure:
		return "channel_access_failure"
	case TxAborted:
		return "aborted"
	}
	return fmt.Sprintf("TxStatus(%d)", int(s))
}

// TxResult is the outcome of a transmission.
type TxResult struct {
	Status TxStatus
	// Ack is the acknowledgement frame, when there was one and the caller
	// gave a buffer for it: TransmitFrames copies it into the capacity
	// results[i].Ack brings. Radios that keep their own copy may return it
	// from Transmit (the simulated ones do); rcp.Driver's Transmit leaves
	// it nil, so that an acknowledged frame allocates nothing.
	Ack []byte
	// FramePending is the frame-pending bit of the acknowledgement.
	FramePending bool
	// CCARetries counts the host-level retries TxOptions.CCARetries
	// allowed after channel access failures: the frame went to the radio
	// 1 + CCARetries times.
	CCARetries int
}

// Settings are the radio's configuration. Configure replaces all of them;
// the source-match tables decide which children get the frame-pending bit
// in the radio's automatic acknowledgements (sleepy children with data
// waiting).
type Settings struct {
	Channel       uint8 // 11–26
	PANID         uint16
	ShortAddr     uint16
	ExtAddr       [8]byte // canonical EUI-64 order; zero: the radio's own
	TxPowerDBm    int8
	Promiscuous   bool
	SrcMatchShort []uint16
	SrcMatchExt   [][8]byte
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.Channel < 11 || s.Channel > 26 {
		return fmt.Errorf("radio: channel %d: must be 11..26 (2.4 GHz O-QPSK)", s.Channel)
	}
	if s.PANID == 0xffff {
		return fmt.Errorf("radio: PAN ID 0xffff is the broadcast PAN, not one a network can use")
	}
	return nil
}

// Identity describes a radio.
type Identity struct {
	EUI64           [8]byte
	Firmware        string
	ProtocolVersion [2]uint32
	RCPAPIVersion   uint32
	// MinHostAPIVersion is the oldest host API the firmware accepts (0 when
	// the firmware does not say).
	MinHostAPIVersion uint32
	Caps              []uint32
	RadioCaps         uint32
}

// Sentinel errors callers branch on.
var (
	ErrClosed       = errors.New("radio closed")
	ErrNotRCP       = errors.New("firmware is not an RCP")
	ErrIncompatible = errors.New("incompatible RCP API version")
	ErrQueueFull    = errors.New("transmit queue full")
)
