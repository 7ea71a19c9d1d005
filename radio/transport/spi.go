package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// SPI frame header (OpenThread src/lib/spinel/spi_frame.hpp). Every SPI
// transaction, in both directions, starts with
//
//	+------+------------+----------+
//	| flag | accept len | data len |
//	|  1   |   2 (LE)   |  2 (LE)  |
//	+------+------------+----------+
//
// and the flag byte is
//
//	  7     6     5    4   3   2    1   0
//	+-----+-----+-----+-----------+-------+
//	| RST | CRC | CCF | reserved  | 1   0 |
//	+-----+-----+-----+-----------+-------+
//
// RST: the sender reset since the last transaction (the host sets it until
// its first good exchange, the RCP after it rebooted). CRC: the sender
// appends a CRC-16 to its data (not counted in data len); OpenThread's
// host never sets it and neither do we. CCF: the last frame received
// failed its CRC. The reserved bits are sent as zero and ignored. The
// pattern 0b10 in bits 1–0 makes 0x00 and 0xFF (an idle or absent MISO
// line) invalid flag bytes.
//
// Accept len is how many data bytes the sender can take in this
// transaction (0: send nothing); data len is the length of the frame the
// sender has pending. The frame follows the header only when data len ≤
// the other side's accept len; otherwise it is retried in a later, larger
// transaction.
const (
	SPIHeaderLen = 5
	// SPIMaxAlignAllowance is the largest spi-align-allowance OpenThread
	// accepts.
	SPIMaxAlignAllowance = 16
	// SPIMaxFrame is the largest frame this transport carries in either
	// direction; a header announcing more is treated as garbage. Spinel
	// frames from an RCP are a few hundred bytes at most.
	SPIMaxFrame = 2048

	SPIFlagReset   = 0x80
	SPIFlagCRC     = 0x40
	SPIFlagCRCFail = 0x20

	spiPatternMask = 0x03
	spiPattern     = 0x02

	spiOffFlag      = 0
	spiOffAcceptLen = 1
	spiOffDataLen   = 3
)

// SPIHeader is a view of an SPI frame header. Accessors assume
// len(h) ≥ SPIHeaderLen; check IsValid (which also checks the pattern bits)
// first when the bytes came from the wire.
type SPIHeader []byte

// IsValid reports whether h is long enough and carries the 0b10 pattern.
func (h SPIHeader) IsValid() bool {
	return len(h) >= SPIHeaderLen && h[spiOffFlag]&spiPatternMask == spiPattern
}

// Flags returns the flag byte.
func (h SPIHeader) Flags() uint8 { return h[spiOffFlag] }

// ResetFlag reports the RST bit.
func (h SPIHeader) ResetFlag() bool { return h[spiOffFlag]&SPIFlagReset != 0 }

// AcceptLen is how many data bytes the sender can receive now.
func (h SPIHeader) AcceptLen() uint16 { return binary.LittleEndian.Uint16(h[spiOffAcceptLen:]) }

// DataLen is the length of the sender's pending frame.
func (h SPIHeader) DataLen() uint16 { return binary.LittleEndian.Uint16(h[spiOffDataLen:]) }

// SPIHeaderFields are the values of an SPI header to encode.
type SPIHeaderFields struct {
	Reset     bool
	CRC       bool
	CRCFail   bool
	AcceptLen uint16
	DataLen   uint16
}

// Encode writes f into h (len(h) ≥ SPIHeaderLen), pattern bits included.
func (h SPIHeader) Encode(f SPIHeaderFields) {
	flag := uint8(spiPattern)
	if f.Reset {
		flag |= SPIFlagReset
	}
	if f.CRC {
		flag |= SPIFlagCRC
	}
	if f.CRCFail {
		flag |= SPIFlagCRCFail
	}
	h[spiOffFlag] = flag
	binary.LittleEndian.PutUint16(h[spiOffAcceptLen:], f.AcceptLen)
	binary.LittleEndian.PutUint16(h[spiOffDataLen:], f.DataLen)
}

var (
	// errSPIGarbage: the RCP's header was not a header (bad pattern,
	// impossible lengths, or a frame that was not fully clocked out).
	errSPIGarbage = errors.New("garbage SPI header")
	// errSPIUnresponsive: the header was all 0x00 or all 0xFF: the RCP did
	// not drive MISO (off, resetting or busy).
	errSPIUnresponsive = errors.New("RCP did not answer (header all 0x00 or 0xFF)")
)

// spiResponse is one decoded transaction as the RCP sent it.
type spiResponse struct {
	skip   int       // alignment bytes (0x00/0xFF) before the header
	header SPIHeader // aliases the receive buffer
	data   []byte    // the RCP's frame when it sent one; aliases the buffer
}

// parseSPIResponse decodes what came back in one transaction: up to
// allowance leading 0x00/0xFF bytes, the header, and the RCP's frame if it
// sent one, which it does only when its data len is non-zero and fits the
// accept len we offered. It never panics and never returns slices outside
// rx.
func parseSPIResponse(rx []byte, allowance, offered int) (spiResponse, error) {
	var r spiResponse
	if len(rx) < SPIHeaderLen {
		return r, errSPIGarbage
	}
	allowance = min(max(allowance, 0), len(rx)-SPIHeaderLen)
	for r.skip < allowance && (rx[r.skip] == 0x00 || rx[r.skip] == 0xFF) {
		r.skip++
	}
	r.header = SPIHeader(rx[r.skip : r.skip+SPIHeaderLen])
	if f := r.header.Flags(); f == 0x00 || f == 0xFF {
		for _, b := range r.header[1:] {
			if b != f {
				return r, errSPIGarbage
			}
		}
		return r, errSPIUnresponsive
	}
	if !r.header.IsValid() || r.header.AcceptLen() > SPIMaxFrame || r.header.DataLen() > SPIMaxFrame {
		return r, errSPIGarbage
	}
	if n := int(r.header.DataLen()); n > 0 && n <= offered {
		start := r.skip + SPIHeaderLen
		if start+n > len(rx) {
			return r, errSPIGarbage
		}
		r.data = rx[start : start+n]
	}
	return r, nil
}

// spiBus is a full-duplex SPI transaction: clock out tx while clocking in
// rx (same length), chip select held for the whole transfer.
type spiBus interface {
	Transfer(tx, rx []byte) error
}

// spiInterrupt is the RCP's INT line (active low: the RCP has a frame).
type spiInterrupt interface {
	// Asserted reads the line's level now.
	Asserted() (bool, error)
	// Edges receives a token after the line became asserted (tokens
	// coalesce; the level is what counts).
	Edges() <-chan struct{}
}

// spiResetLine is the RCP's RESET line (active low).
type spiResetLine interface {
	// Pulse holds RESET asserted long enough to reset the chip, then
	// releases it.
	Pulse() error
}

// SPIStats counts what happened on an SPI transport.
type SPIStats struct {
	Transfers    uint64 // SPI transactions
	Valid        uint64 // transactions with a valid RCP header
	Garbage      uint64 // invalid headers
	Unresponsive uint64 // headers of all 0x00 or 0xFF
	PeerResets   uint64 // headers with the RCP's RST flag
	RxFrames     uint64 // frames received from the RCP
	TxFrames     uint64 // frames the RCP accepted
	TxRefused    uint64 // transactions in which the RCP did not take our frame
}

type spiCounters struct {
	transfers, valid, garbage, unresponsive, peerResets, rxFrames, txFrames, txRefused atomic.Uint64
}

// spiEngine is the host side of the SPI framing protocol, one transaction
// at a time (OpenThread's SpiInterface::PushPullSpi). It owns the transfer
// buffers; it is used by a single goroutine.
type spiEngine struct {
	bus         spiBus
	allowance   int
	smallPacket int
	txBuf       []byte
	rxBuf       []byte
	// hostReset: our RST flag, set until the first valid exchange after
	// opening or resetting.
	hostReset bool
	// peerDataLen: the length of the frame the RCP announced last; the next
	// transaction is made long enough to carry it.
	peerDataLen int
	// refused counts consecutive transactions that did not move our frame
	// (not accepted, or a garbage reply); it drives the retry backoff.
	refused int
	count   *spiCounters
}

type spiResult struct {
	rx        []byte // a frame from the RCP, aliasing the engine's buffer until the next transfer
	txTaken   bool   // the RCP accepted our frame
	peerReset bool   // the RCP's RST flag was set
	err       error  // errSPIGarbage or errSPIUnresponsive: nothing moved
}

func newSPIEngine(bus spiBus, cfg SPIConfig, count *spiCounters) *spiEngine {
	allowance := min(max(cfg.AlignAllowance, 0), SPIMaxAlignAllowance)
	size := SPIHeaderLen + SPIMaxFrame + allowance
	return &spiEngine{
		bus:         bus,
		allowance:   allowance,
		smallPacket: min(max(cfg.SmallPacket, 0), SPIMaxFrame),
		txBuf:       make([]byte, size),
		rxBuf:       make([]byte, size),
		hostReset:   true,
		count:       count,
	}
}

// restart forgets what the RCP announced, as after a reset of either side.
func (e *spiEngine) restart() {
	e.hostReset = true
	e.peerDataLen = 0
	e.refused = 0
}

// transfer runs one transaction: frame (nil for none) goes out, and a frame
// from the RCP comes back if canReceive and the RCP has one that fits.
// Transaction size = max(our frame, the RCP's announced frame or, when it
// announced none, the small-packet size) + header + alignment allowance.
// The returned error is a bus failure; protocol trouble is in spiResult.err.
func (e *spiEngine) transfer(frame []byte, canReceive bool) (spiResult, error) {
	var res spiResult
	n := len(frame)
	if e.peerDataLen > 0 {
		n = max(n, e.peerDataLen)
	} else {
		n = max(n, e.smallPacket)
	}
	accept := n
	if !canReceive {
		accept = 0
	}
	total := SPIHeaderLen + n + e.allowance
	tx, rx := e.txBuf[:total], e.rxBuf[:total]
	SPIHeader(tx).Encode(SPIHeaderFields{Reset: e.hostReset, AcceptLen: uint16(accept), DataLen: uint16(len(frame))})
	copy(tx[SPIHeaderLen:], frame)
	clear(tx[SPIHeaderLen+len(frame):])
	clear(rx)
	if err := e.bus.Transfer(tx, rx); err != nil {
		return res, err
	}
	e.count.transfers.Add(1)

	resp, err := parseSPIResponse(rx, e.allowance, accept)
	if err != nil {
		if err == errSPIUnresponsive {
			e.count.unresponsive.Add(1)
		} else {
			e.count.garbage.Add(1)
		}
		e.peerDataLen = 0
		e.refused++
		res.err = err
		return res, nil
	}
	e.count.valid.Add(1)
	e.hostReset = false
	if resp.header.ResetFlag() {
		e.count.peerResets.Add(1)
		res.peerReset = true
	}
	e.peerDataLen = int(resp.header.DataLen())
	if resp.data != nil {
		e.count.rxFrames.Add(1)
		res.rx = resp.data
		e.peerDataLen = 0
	}
	switch {
	case len(frame) == 0:
		e.refused = 0
	case len(frame) <= int(resp.header.AcceptLen()):
		e.count.txFrames.Add(1)
		res.txTaken = true
		e.refused = 0
	default:
		e.count.txRefused.Add(1)
		e.refused++
	}
	return res, nil
}

// spiRetryDelay is the pause before the next transaction after refused
// consecutive fruitless ones (OpenThread: 1 ms for the first 5, 10 ms up
// to 15, then 33 ms).
func spiRetryDelay(refused int) time.Duration {
	switch {
	case refused == 0:
		return 0
	case refused < 5:
		return time.Millisecond
	case refused < 15:
		return 10 * time.Millisecond
	}
	return 33 * time.Millisecond
}

const (
	// spiRefuseWarn and spiRefuseLimit: after this many fruitless
	// transactions in a row the RCP "seems stuck" (warning), then the
	// pending write fails with ErrDisconnected so the driver resets it.
	spiRefuseWarn  = 30
	spiRefuseLimit = 100
	// spiRxSlots bounds the frames received but not yet read. When all are
	// taken the host offers accept len 0 and the RCP holds its frames.
	spiRxSlots = 4
	// spiResetHold is how long RESET is held low (OpenThread: 10 ms).
	spiResetHold = 10 * time.Millisecond
)

// ErrNoResetLine: ResetRCP on an SPI transport without gpio-reset-device.
var ErrNoResetLine = errors.New("no RESET line configured (gpio-reset-device)")

type spiWrite struct {
	frame []byte
	done  chan error
}

// SPI is an RCP on an SPI bus with an INT line and optionally a RESET line:
// a spinel.FrameConn. One goroutine (exchangeLoop) owns the bus; ReadFrame and
// WriteFrame talk to it through channels.
type SPI struct {
	name   string
	engine *spiEngine
	intr   spiInterrupt
	reset  spiResetLine // nil without a RESET line
	delay  time.Duration
	log    *slog.Logger
	count  spiCounters

	writeMu sync.Mutex // one WriteFrame at a time; w is reused
	w       spiWrite
	writes  chan *spiWrite
	resets  chan chan error
	rxq     chan []byte // received frames, in order
	free    chan []byte // empty receive slots

	closing   chan struct{}
	closeOnce sync.Once
	closeHW   func() error
	closeErr  error
	loopDone  chan struct{}
	loopErr   error // why exchangeLoop ended; read after loopDone
}

// newSPI starts the transport over a bus and lines; closeHW releases them
// after the loop has stopped.
func newSPI(name string, bus spiBus, intr spiInterrupt, reset spiResetLine, cfg SPIConfig, logger *slog.Logger, closeHW func() error) *SPI {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &SPI{
		name:     name,
		intr:     intr,
		reset:    reset,
		delay:    cfg.ResetDelay,
		log:      logger.With("transport", "spi", "device", name),
		writes:   make(chan *spiWrite),
		resets:   make(chan chan error),
		rxq:      make(chan []byte, spiRxSlots),
		free:     make(chan []byte, spiRxSlots),
		closing:  make(chan struct{}),
		closeHW:  closeHW,
		loopDone: make(chan struct{}),
	}
	s.w.done = make(chan error, 1)
	s.engine = newSPIEngine(bus, cfg, &s.count)
	for range spiRxSlots {
		s.free <- make([]byte, SPIMaxFrame)
	}
	go s.exchangeLoop()
	return s
}

// ReadFrame copies the next frame from the RCP into buf. It blocks until a
// frame arrives or the transport is closed or fails.
func (s *SPI) ReadFrame(buf []byte) (int, error) {
	select {
	case <-s.closing:
		return 0, fmt.Errorf("spi %s: read: %w", s.name, ErrClosed)
	default:
	}
	var b []byte
	select {
	case b = <-s.rxq:
	default:
		select {
		case b = <-s.rxq:
		case <-s.loopDone:
			select {
			case b = <-s.rxq: // frames that arrived before the failure first
			default:
				return 0, fmt.Errorf("spi %s: read: %w", s.name, s.loopErr)
			}
		}
	}
	n := copy(buf, b)
	short := len(b) > len(buf)
	s.free <- b[:cap(b)]
	if short {
		return n, fmt.Errorf("spi %s: read: %d-byte frame dropped, buffer holds %d: %w (%w)", s.name, len(b), len(buf), ErrFrameTooLarge, io.ErrShortBuffer)
	}
	return n, nil
}

// WriteFrame sends one frame and returns once the RCP has accepted it.
// A Spinel RESET command makes the transport forget the RCP's state first,
// as OpenThread does.
func (s *SPI) WriteFrame(frame []byte) error {
	switch {
	case len(frame) == 0:
		return fmt.Errorf("spi %s: write: empty frame", s.name)
	case len(frame) > SPIMaxFrame:
		return fmt.Errorf("spi %s: write: %d bytes, at most %d: %w", s.name, len(frame), SPIMaxFrame, ErrFrameTooLarge)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.w.frame = frame
	defer func() { s.w.frame = nil }()
	select {
	case s.writes <- &s.w:
	case <-s.loopDone:
		return fmt.Errorf("spi %s: write: %w", s.name, s.loopErr)
	}
	select {
	case err := <-s.w.done:
		if err != nil {
			return fmt.Errorf("spi %s: write: %w", s.name, err)
		}
		return nil
	case <-s.loopDone:
		// The loop answers a write it holds before it ends.
		if err := <-s.w.done; err != nil {
			return fmt.Errorf("spi %s: write: %w", s.name, err)
		}
		return nil
	}
}

// ResetRCP pulses the RESET line, waits spi-reset-delay and restarts the
// framing state (our RST flag is set again). A write in progress fails.
func (s *SPI) ResetRCP() error {
	if s.reset == nil {
		return fmt.Errorf("spi %s: reset: %w", s.name, ErrNoResetLine)
	}
	req := make(chan error, 1)
	select {
	case s.resets <- req:
	case <-s.loopDone:
		return fmt.Errorf("spi %s: reset: %w", s.name, s.loopErr)
	}
	if err := <-req; err != nil {
		return fmt.Errorf("spi %s: reset: %w", s.name, err)
	}
	return nil
}

// Stats returns the transport's counters.
func (s *SPI) Stats() SPIStats {
	c := &s.count
	return SPIStats{
		Transfers: c.transfers.Load(), Valid: c.valid.Load(), Garbage: c.garbage.Load(),
		Unresponsive: c.unresponsive.Load(), PeerResets: c.peerResets.Load(),
		RxFrames: c.rxFrames.Load(), TxFrames: c.txFrames.Load(), TxRefused: c.txRefused.Load(),
	}
}

// Close stops the exchange loop, fails pending reads and writes with
// ErrClosed and releases the device and GPIO lines.
func (s *SPI) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.loopDone
		if s.closeHW != nil {
			s.closeErr = s.closeHW()
		}
	})
	return s.closeErr
}

// isSpinelReset reports a Spinel RESET command (header 0x80 with any IID,
// command 1), after which OpenThread's SPI host forgets the RCP's state.
func isSpinelReset(frame []byte) bool {
	return len(frame) >= 2 && frame[0]&^0x30 == 0x80 && frame[1] == 0x01
}

// exchangeLoop owns the bus. It runs a transaction whenever there is a
// frame to send or the INT line is asserted and a receive slot is free,
// pacing fruitless transactions with spiRetryDelay; otherwise it waits for
// an INT edge, a write, a free slot, a reset request or Close.
func (s *SPI) exchangeLoop() {
	var (
		tx        *spiWrite
		slot      []byte // a free receive slot, held until a frame fills it
		notBefore time.Time
		loggedBad int
		// idle counts transactions in a row that moved nothing although INT
		// was asserted (an RCP holding INT with nothing to say); they are
		// paced like refusals instead of spinning.
		idle int
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer close(s.loopDone)
	finish := func(err error) {
		s.loopErr = err
		if tx != nil {
			tx.done <- err
		}
	}
	for {
		if slot == nil {
			select {
			case slot = <-s.free:
			default:
			}
		}
		if tx == nil {
			select {
			case tx = <-s.writes:
				if isSpinelReset(tx.frame) {
					s.engine.restart()
				}
			default:
			}
		}
		select {
		case <-s.closing:
			finish(ErrClosed)
			return
		case req := <-s.resets:
			s.serveReset(req, &tx)
			notBefore = time.Time{}
		default:
		}
		asserted, err := s.intr.Asserted()
		if err != nil {
			finish(fmt.Errorf("INT line: %w (%w)", ErrDisconnected, err))
			return
		}
		busy := tx != nil || (asserted && slot != nil)
		wait := time.Until(notBefore)
		if busy && wait <= 0 {
			var frame []byte
			if tx != nil {
				frame = tx.frame
			}
			res, err := s.engine.transfer(frame, slot != nil)
			if err != nil {
				finish(fmt.Errorf("transfer: %w (%w)", ErrDisconnected, err))
				return
			}
			if res.peerReset {
				s.log.Info("RCP reset (RST flag in its SPI header)", "resets", s.count.peerResets.Load())
			}
			if res.err != nil && loggedBad < 3 {
				loggedBad++
				s.log.Debug("bad SPI response", "err", res.err)
			}
			if res.err == nil {
				loggedBad = 0
			}
			if res.rx != nil {
				n := copy(slot, res.rx)
				s.rxq <- slot[:n] // never blocks: rxq holds every slot
				slot = nil
			}
			if tx != nil && res.txTaken {
				tx.done <- nil
				tx = nil
			}
			if res.rx == nil && !res.txTaken && s.engine.peerDataLen == 0 {
				idle++
				if idle == spiRefuseWarn {
					s.log.Warn("RCP holds INT asserted but sends nothing", "transactions", idle)
				}
			} else {
				idle = 0
			}
			switch r := s.engine.refused; {
			case r == spiRefuseWarn:
				s.log.Warn("RCP seems stuck: no progress in a row", "transactions", r)
			case r >= spiRefuseLimit && tx != nil:
				tx.done <- fmt.Errorf("RCP refused the frame %d times in a row: %w", r, ErrDisconnected)
				tx = nil
				s.engine.refused = 0
			}
			notBefore = time.Now().Add(spiRetryDelay(max(s.engine.refused, idle)))
			continue
		}

		var timerC <-chan time.Time
		if busy {
			timer.Reset(wait)
			timerC = timer.C
		}
		var freeC <-chan []byte
		var writesC <-chan *spiWrite
		if slot == nil {
			freeC = s.free
		}
		if tx == nil {
			writesC = s.writes
		}
		select {
		case <-s.closing:
		case <-s.intr.Edges():
		case slot = <-freeC:
		case tx = <-writesC:
			if isSpinelReset(tx.frame) {
				s.engine.restart()
			}
		case req := <-s.resets:
			s.serveReset(req, &tx)
			notBefore = time.Time{}
		case <-timerC:
		}
		timer.Stop()
	}
}

// serveReset answers a ResetRCP request; a write in progress fails.
func (s *SPI) serveReset(req chan error, tx **spiWrite) {
	err := s.hardwareReset()
	if *tx != nil {
		(*tx).done <- errors.New("RCP reset by the host before it took the frame")
		*tx = nil
	}
	req <- err
}

func (s *SPI) hardwareReset() error {
	s.engine.restart()
	if err := s.reset.Pulse(); err != nil {
		return err
	}
	s.log.Info("RCP hardware reset")
	if s.delay > 0 {
		t := time.NewTimer(s.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.closing:
		}
	}
	return nil
}
