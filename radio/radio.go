package radio

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Radio is an IEEE 802.15.4 radio as the border router sees it: a Spinel
// RCP on a UART or SPI, or a simulated one. Implementations are safe for
// concurrent use.
type Radio interface {
	// Transmit sends one frame and waits for its outcome. psdu is the MAC
	// frame including two FCS octets (their value is ignored: the radio
	// computes the FCS). Transmissions are queued (bounded) and sent one at
	// a time; when the queue is full Transmit waits, bounded by ctx. A
	// transmission that cannot finish because the radio reset or closed
	// returns a result with Status TxAborted and an error saying why.
	Transmit(ctx context.Context, psdu []byte, opts TxOptions) (TxResult, error)
	// Receive delivers received frames. The channel is closed by Close.
	// Frames a slow consumer cannot take are dropped and counted.
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

// Frame is a received 802.15.4 frame with its reception metadata.
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
}

// TxOptions controls one transmission. The zero value means: the current
// channel, CSMA-CA on, the radio's default backoffs and retries.
type TxOptions struct {
	Channel         uint8 // 0: the configured channel
	DisableCSMA     bool
	MaxCSMABackoffs int // 0: default (4)
	MaxFrameRetries int // 0: default (3); -1: no retries
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

// TxResult is the outcome of Transmit.
type TxResult struct {
	Status TxStatus
	// Ack is the acknowledgement frame when there was one.
	Ack []byte
	// FramePending is the frame-pending bit of the acknowledgement.
	FramePending bool
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
