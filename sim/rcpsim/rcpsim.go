package rcpsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// Identity defaults: what a current ot-rcp reports.
const (
	DefaultFirmware          = "OPENTHREAD/lowpanbr-rcpsim; SIMULATION"
	DefaultRCPAPIVersion     = 11 // spinel.h SPINEL_RCP_API_VERSION
	DefaultMinHostAPIVersion = 4  // spinel.h SPINEL_MIN_HOST_SUPPORTED_RCP_API_VERSION
)

// DefaultCaps is what the simulation ot-rcp lists in CAPS, in its order
// (ncp_base.cpp HandlePropertyGet<SPINEL_PROP_CAPS>, RCP build; recorded in
// radio/rcp/testdata/ot-rcp/01-startup.txt).
var DefaultCaps = []spinel.Cap{
	5,  // SPINEL_CAP_COUNTERS
	12, // SPINEL_CAP_UNSOL_UPDATE_FILTER
	24, // SPINEL_CAP_802_15_4_2450MHZ_OQPSK
	spinel.CapConfigRadio, spinel.CapMACRaw, spinel.CapRCPAPIVersion, spinel.CapRCPMinHostAPIVersion,
	spinel.CapOpenThreadLogMetadata,
}

// Config describes the simulated firmware and how it boots.
type Config struct {
	EUI64             [8]byte
	Firmware          string
	Caps              []spinel.Cap // default DefaultCaps
	RCPAPIVersion     uint32
	MinHostAPIVersion uint32
	ProtocolMajor     uint32 // default 4
	Logger            *slog.Logger

	// BootDelay is how long the RCP takes from power-on (Serve, Reboot, a
	// spontaneous Reset, a host RESET other than RESET_STACK) until it is
	// up and announces itself with its reset notification. 0 boots at
	// once. A USB dongle enumerating or a process starting on a loaded
	// machine takes tens to hundreds of milliseconds.
	BootDelay time.Duration
	// BufferInputWhileBooting decides what happens to frames the host
	// sends before the RCP is up. False: they are lost, as on a UART or a
	// USB device whose firmware is not running yet. True: they wait and
	// are answered once the RCP is up, as with a process on a PTY (ot-rcp
	// under forkpty, lowpanbr sim-rcp): the kernel keeps the bytes until
	// the process reads them.
	BufferInputWhileBooting bool
	// BootReason is the reset reason of the boot notification; default
	// RESET_POWER_ON, what OpenThread's simulation platform reports for a
	// fresh process (examples/platforms/simulation/misc.c
	// otPlatGetResetReason). A RESET_STACK is always answered with
	// RESET_POWER_ON whatever this says (ncp_base.cpp
	// CommandHandler_RESET).
	BootReason spinel.Status
	// BootChatter are Spinel frames (header, command, property, value;
	// not HDLC-encoded) the RCP sends at every boot before its reset
	// notification: log lines (LogFrame), a stale answer, anything a host
	// must tolerate before the RCP is in sync.
	BootChatter [][]byte
	// ResetDelay is how long a host RESET_STACK takes before its
	// notification; frames sent meanwhile are treated as during a boot.
	// 0, the default, is OpenThread's behaviour: the notification is
	// written from the RESET handler itself.
	ResetDelay time.Duration
}

// Stats counts what the simulated RCP did.
type Stats struct {
	FramesIn, FramesOut uint64
	BadFrames           uint64 // undecodable Spinel frames
	LostFrames          uint64 // frames that arrived while the RCP was not up
	Transmissions       uint64
	Receptions          uint64 // frames passed to the host
	Resets              uint64 // spontaneous resets and reboots (not host RESETs)
	HDLC                spinel.HDLCStats
}

// RCP is one simulated radio co-processor on a medium node.
type RCP struct {
	node *medium.Node
	cfg  Config
	log  *slog.Logger

	mu    sync.Mutex
	eui64 [8]byte
	st    state    // cleared by every reset
	plat  platform // cleared by a reboot only
	gen   uint64   // incremented on every reset: outcomes of older work are dropped
	up    bool     // booted: frames from the host are handled
	upCh  chan struct{}
	thaw  chan struct{} // non-nil while frozen; closed by Thaw
	// The transmission under way: txCur is its sequence number (0: none),
	// txTx its medium transmission once started; txSeq numbers them. A
	// transmission abandoned while mu is held is cancelled by the next
	// applyToNode (abandoned), outside mu: the medium calls framePending,
	// which takes mu, with its own lock held.
	txSeq, txCur uint64
	txTx         *medium.Tx
	txJob        txJob // the request txCur numbers, for its report
	abandoned    *medium.Tx
	txJobs       chan txJob    // outcomes known at once, to reportTransmissions
	scan         *scanJob      // the energy scan under way
	last         spinel.Status // LAST_STATUS as GET returns it

	// applyMu serialises applyToNode; applied is what it last gave the
	// node, so that an unchanged state costs no medium call.
	applyMu    sync.Mutex
	applied    nodeState
	hasApplied bool

	// Medium transmissions that ended (medium.TxOptions.Notify, called on
	// the medium's loop), for reportTransmissions: one wake-up of its per
	// frame. doneMu is a leaf lock; txEnded, the Notify function, is made
	// once so that a transmission does not allocate a closure.
	doneMu    sync.Mutex
	doneQ     []*medium.Tx
	doneWork  []*medium.Tx  // reportTransmissions' own, swapped with doneQ
	doneSig   chan struct{} // cap 1
	txEndedFn func(*medium.Tx)

	// Guarded by wmu: the stream to the host.
	wmu       sync.Mutex
	w         io.Writer
	serveDone <-chan struct{}
	frame     []byte // reused under wmu
	enc       []byte
	// While the frames of one read from the host are handled, what the
	// RCP writes is queued, then sent answers first (see flushLocked).
	batch  bool
	hi, lo frameQueue

	replyDelay atomic.Int64 // nanoseconds
	stats      struct{ in, out, bad, lost, tx, rx, resets atomic.Uint64 }
	hdlcMu     sync.Mutex
	hdlc       spinel.HDLCStats
}

// frameQueue holds Spinel frames end to end in one reused buffer: queuing
// a frame copies it and allocates nothing once the buffer has grown.
type frameQueue struct {
	buf  []byte
	ends []int
}

func (q *frameQueue) push(f []byte) {
	q.buf = append(q.buf, f...)
	q.ends = append(q.ends, len(q.buf))
}

func (q *frameQueue) each(fn func([]byte)) {
	start := 0
	for _, end := range q.ends {
		fn(q.buf[start:end])
		start = end
	}
}

func (q *frameQueue) reset() { q.buf, q.ends = q.buf[:0], q.ends[:0] }

// New makes an RCP on node, powered off until Serve. The node's
// configuration follows what the host sets.
func New(node *medium.Node, cfg Config) *RCP {
	if cfg.Firmware == "" {
		cfg.Firmware = DefaultFirmware
	}
	if cfg.Caps == nil {
		cfg.Caps = DefaultCaps
	}
	if cfg.RCPAPIVersion == 0 {
		cfg.RCPAPIVersion = DefaultRCPAPIVersion
	}
	if cfg.MinHostAPIVersion == 0 {
		cfg.MinHostAPIVersion = DefaultMinHostAPIVersion
	}
	if cfg.ProtocolMajor == 0 {
		cfg.ProtocolMajor = spinel.ProtocolVersionMajor
	}
	if cfg.BootReason == 0 {
		cfg.BootReason = spinel.StatusResetPowerOn
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &RCP{node: node, cfg: cfg, log: cfg.Logger, eui64: cfg.EUI64, upCh: make(chan struct{}), txJobs: make(chan txJob, 16),
		doneSig: make(chan struct{}, 1)}
	r.txEndedFn = r.txEnded
	r.st = initialState()
	r.plat = initialPlatform()
	r.node.Configure(func(c *medium.NodeConfig) {
		c.FramePending = r.framePending
	})
	r.applyToNode()
	return r
}

// EUI64 returns the factory EUI-64 the RCP reports in HWADDR.
func (r *RCP) EUI64() [8]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eui64
}

// Stats returns the counters.
func (r *RCP) Stats() Stats {
	s := Stats{FramesIn: r.stats.in.Load(), FramesOut: r.stats.out.Load(), BadFrames: r.stats.bad.Load(),
		LostFrames: r.stats.lost.Load(), Transmissions: r.stats.tx.Load(), Receptions: r.stats.rx.Load(),
		Resets: r.stats.resets.Load()}
	r.hdlcMu.Lock()
	s.HDLC = r.hdlc
	r.hdlcMu.Unlock()
	return s
}

// SetReplyDelay makes the RCP answer every request d late (a slow or hung
// RCP); 0 restores prompt answers.
func (r *RCP) SetReplyDelay(d time.Duration) { r.replyDelay.Store(int64(d)) }

// Serve speaks Spinel on rw until rw fails or ctx ends (then it closes rw).
// It starts as a device powered on does: after Config.BootDelay, its boot
// chatter and its reset notification. When Serve returns the RCP is
// powered off (an unplugged dongle): its radio neither receives nor
// acknowledges until the next Serve.
func (r *RCP) Serve(ctx context.Context, rw io.ReadWriteCloser) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.wmu.Lock()
	r.w, r.serveDone = rw, ctx.Done()
	r.wmu.Unlock()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		rw.Close()
	}()
	go func() {
		defer wg.Done()
		r.forwardReceptions(ctx)
	}()
	go func() {
		defer wg.Done()
		r.reportTransmissions(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
		r.wmu.Lock()
		r.w, r.batch = nil, false
		r.clearQueuedLocked()
		r.wmu.Unlock()
		r.powerOff()
	}()
	r.restart(ctx, r.cfg.BootDelay, bootPowerOn)

	dec := spinel.NewHDLCDecoder(spinel.DefaultMaxFrame)
	buf := make([]byte, 4096)
	handle := func(frame []byte) { r.handle(ctx, frame) }
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			r.wmu.Lock()
			r.batch = true
			r.wmu.Unlock()
			dec.Feed(buf[:n], handle)
			r.wmu.Lock()
			r.flushLocked()
			r.wmu.Unlock()
			r.hdlcMu.Lock()
			r.hdlc = dec.Stats()
			r.hdlcMu.Unlock()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A PTY master reads EIO while no process holds the slave open:
			// the host closed the port (to reconnect, say). A real RCP just
			// waits for its host; so does this one.
			if errors.Is(err, syscall.EIO) {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			return fmt.Errorf("rcpsim: read: %w", err)
		}
	}
}

// Reset makes the RCP reset on its own (a crash, a watchdog): its state is
// lost, a pending transmission is forgotten, and after Config.BootDelay the
// host is told with an unsolicited reset notification.
func (r *RCP) Reset() {
	r.stats.resets.Add(1)
	r.restart(nil, r.cfg.BootDelay, bootPowerOn)
}

// Reboot power-cycles the RCP with another factory EUI-64, as when the
// firmware restarts with another identity (another dongle on the same
// port, ot-rcp restarted with another node id): everything is lost, and
// after Config.BootDelay it announces itself and reports eui64 in HWADDR.
func (r *RCP) Reboot(eui64 [8]byte) {
	r.mu.Lock()
	r.eui64 = eui64
	r.mu.Unlock()
	r.stats.resets.Add(1)
	r.restart(nil, r.cfg.BootDelay, bootPowerOn)
}

// Freeze stops the RCP as SIGSTOP stops a process: it reads nothing
// (the host's frames wait in the stream), writes nothing (answers,
// transmit-done reports and received frames wait), and its radio neither
// receives nor acknowledges. A transmission already on the air finishes;
// its report waits. Thaw resumes everything in order.
func (r *RCP) Freeze() {
	r.mu.Lock()
	if r.thaw == nil {
		r.thaw = make(chan struct{})
	}
	r.mu.Unlock()
	r.applyToNode()
}

// Thaw resumes a frozen RCP.
func (r *RCP) Thaw() {
	r.mu.Lock()
	if r.thaw != nil {
		close(r.thaw)
		r.thaw = nil
	}
	r.mu.Unlock()
	r.applyToNode()
}

// InjectGarbage writes b into the stream, between frames.
func (r *RCP) InjectGarbage(b []byte) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.w == nil {
		return errors.New("rcpsim: not serving")
	}
	_, err := r.w.Write(b)
	return err
}

// LogFrame returns an unsolicited IS STREAM_LOG frame carrying line, the
// way an RCP's log output reaches the host (ncp_base.cpp, the log stream;
// a `U` string followed by optional metadata, left out here), for
// Config.BootChatter.
func LogFrame(line string) []byte {
	f := spinel.AppendFrameHeader(nil, 0, 0, spinel.CmdPropValueIs, spinel.PropStreamLog)
	return spinel.AppendUTF8(f, line)
}

type bootKind uint8

const (
	bootPowerOn   bootKind = iota // a power cycle: everything is lost, chatter, BootReason
	bootStackOnly                 // RESET_STACK: NcpBase and radio state only, RESET_POWER_ON
)

// restart resets the RCP and announces it after delay. With delay 0 the
// notification is written before restart returns, as OpenThread writes it
// from the RESET handler. ctx bounds the wait (nil: until the next reset or
// the end of Serve).
func (r *RCP) restart(ctx context.Context, delay time.Duration, kind bootKind) {
	r.mu.Lock()
	gen := r.wipeLocked()
	if kind == bootPowerOn {
		r.plat = initialPlatform()
	}
	r.mu.Unlock()
	r.applyToNode()
	r.wmu.Lock()
	r.clearQueuedLocked() // a reset or a reboot loses what was not sent yet
	done := r.serveDone
	r.wmu.Unlock()
	if delay <= 0 {
		r.announce(gen, kind)
		return
	}
	go func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		var ctxDone <-chan struct{}
		if ctx != nil {
			ctxDone = ctx.Done()
		}
		select {
		case <-t.C:
			r.announce(gen, kind)
		case <-ctxDone:
		case <-done:
		}
	}()
}

// announce ends a boot or reset: the chatter and the reset notification go
// out, then the RCP takes frames from the host (nothing it answers can
// overtake the notification). A newer reset makes it a no-op.
func (r *RCP) announce(gen uint64, kind bootKind) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.waitThawLocked()
	r.mu.Lock()
	if r.gen != gen || r.up {
		r.mu.Unlock()
		return
	}
	reason := r.cfg.BootReason
	chatter := r.cfg.BootChatter
	if kind == bootStackOnly {
		// ncp_base.cpp CommandHandler_RESET: RESET_STACK writes
		// RESET_POWER_ON itself, whatever the platform says.
		reason, chatter = spinel.StatusResetPowerOn, nil
	}
	r.last = reason
	r.up = true
	close(r.upCh)
	r.mu.Unlock()
	for _, f := range chatter {
		r.writeLocked(f)
	}
	// At boot the NcpBase constructor queues LAST_STATUS RESET_UNKNOWN,
	// replaced by otPlatGetResetReason when sent (ncp_base.cpp NcpBase,
	// UpdateChangedProps); TID 0, interface 0.
	r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, 0, spinel.CmdPropValueIs, spinel.PropLastStatus)
	r.frame = spinel.AppendPackedUint(r.frame, uint32(reason))
	r.writeLocked(r.frame)
}

// powerOff is the end of Serve: the device loses power.
func (r *RCP) powerOff() {
	r.mu.Lock()
	r.wipeLocked()
	r.mu.Unlock()
	r.applyToNode()
}

// wipeLocked is what a reset, a reboot and a power-off have in common: a
// new generation (work of the old one finds itself stale), the radio state
// back to its initial values, the transmission and scan under way
// forgotten, and the RCP not up until it boots. It returns the new
// generation.
func (r *RCP) wipeLocked() uint64 {
	r.gen++
	r.st = initialState()
	r.abandonLocked()
	if r.up {
		r.up = false
		r.upCh = make(chan struct{})
	}
	return r.gen
}

// abandonLocked forgets the transmission and the scan under way: their
// outcomes are never reported (ncp_base.cpp CommandHandler_RESET clears
// mCurTransmitTID and mCurScanChannel). The medium transmission is
// cancelled by the applyToNode that follows every state change.
func (r *RCP) abandonLocked() {
	r.txCur = 0
	if r.txTx != nil {
		r.abandoned, r.txTx = r.txTx, nil
	}
	if r.scan != nil {
		r.scan.cancel()
		r.scan = nil
	}
}

// awaitUp holds a frame from the host until the RCP is up and not frozen.
// It reports false when the frame is lost: it came while the RCP was
// booting and input is not buffered, or ctx ended.
func (r *RCP) awaitUp(ctx context.Context) bool {
	for {
		r.mu.Lock()
		up, upCh, thaw := r.up, r.upCh, r.thaw
		r.mu.Unlock()
		switch {
		case thaw != nil:
			select {
			case <-thaw:
			case <-ctx.Done():
				return false
			}
		case !up && !r.cfg.BufferInputWhileBooting:
			r.stats.lost.Add(1)
			return false
		case !up:
			select {
			case <-upCh:
			case <-ctx.Done():
				return false
			}
		default:
			return true
		}
	}
}

// waitThawLocked blocks a writer while the RCP is frozen. Callers hold wmu.
func (r *RCP) waitThawLocked() {
	for {
		r.mu.Lock()
		thaw := r.thaw
		r.mu.Unlock()
		if thaw == nil {
			return
		}
		select {
		case <-thaw:
		case <-r.serveDone:
			return
		}
	}
}

// writeLocked writes one Spinel frame, or queues it while a read's
// frames are handled. Callers hold wmu.
func (r *RCP) writeLocked(frame []byte) {
	if r.w == nil {
		return
	}
	if r.batch {
		if spinel.Header(frame[0]).TID() != 0 {
			r.hi.push(frame)
		} else {
			r.lo.push(frame)
		}
		return
	}
	r.put(frame)
}

// flushLocked ends a batch. OpenThread's NCP queues frames with a TID
// (answers, transmit-done) at high priority and TID 0 frames (reset
// notifications, received frames, scan results) at low priority, and
// sends the high-priority queue first (src/lib/spinel/spinel_encoder.cpp
// Encoder::BeginFrame, spinel_buffer.hpp): the answers to the frames of
// one read overtake the notifications written meanwhile — a RESET_STACK
// and a GET in one write are answered GET first, then the reset
// notification (radio/rcp/testdata/ot-rcp/08-reset-burst.txt). Callers
// hold wmu.
func (r *RCP) flushLocked() {
	r.waitThawLocked()
	r.batch = false
	r.hi.each(r.put)
	r.lo.each(r.put)
	r.hi.reset()
	r.lo.reset()
}

// clearQueuedLocked discards the frames not yet sent
// (ncp_base.cpp CommandHandler_RESET: mEncoder.ClearNcpBuffer). Callers
// hold wmu.
func (r *RCP) clearQueuedLocked() {
	r.hi.reset()
	r.lo.reset()
}

// put writes one frame to the host. Callers hold wmu.
func (r *RCP) put(frame []byte) {
	if r.w == nil {
		return
	}
	r.enc = spinel.AppendHDLC(r.enc[:0], frame)
	if _, err := r.w.Write(r.enc); err != nil {
		r.log.Debug("rcpsim: write", "err", err)
		return
	}
	r.stats.out.Add(1)
}

// emit writes one Spinel frame unless the RCP was reset since generation
// gen (0: always); it waits while the RCP is frozen.
func (r *RCP) emit(gen uint64, tid uint8, cmd spinel.Command, prop spinel.Prop, value []byte) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.waitThawLocked()
	if gen != 0 {
		r.mu.Lock()
		stale := r.gen != gen
		r.mu.Unlock()
		if stale {
			return
		}
	}
	r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, tid, cmd, prop)
	r.frame = append(r.frame, value...)
	r.writeLocked(r.frame)
}

// status answers with LAST_STATUS. With TID 0 it is the unsolicited
// LAST_STATUS OpenThread emits instead of a response (ncp_base.cpp
// EnqueueResponse: "No response is required for TID zero", but a status
// goes out as a property update).
func (r *RCP) status(tid uint8, st spinel.Status) {
	r.mu.Lock()
	r.last = st
	r.mu.Unlock()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.waitThawLocked()
	r.frame = spinel.AppendFrameHeader(r.frame[:0], 0, tid, spinel.CmdPropValueIs, spinel.PropLastStatus)
	r.frame = spinel.AppendPackedUint(r.frame, uint32(st))
	r.writeLocked(r.frame)
}

// reply answers with cmd and a value; requests with TID 0 get none
// (ncp_base.cpp EnqueueResponse).
func (r *RCP) reply(tid uint8, cmd spinel.Command, prop spinel.Prop, value []byte) {
	if tid == 0 {
		return
	}
	r.emit(0, tid, cmd, prop, value)
}

// handle answers one frame from the host (ncp_base.cpp HandleReceive,
// HandleCommand).
func (r *RCP) handle(ctx context.Context, b []byte) {
	r.stats.in.Add(1)
	var f spinel.Frame
	if err := f.Decode(b); err != nil {
		r.stats.bad.Add(1)
		return
	}
	if !r.awaitUp(ctx) {
		return
	}
	if d := time.Duration(r.replyDelay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
	}
	if f.IID != 0 {
		// HandleReceive: a single-interface RCP answers any other
		// interface ID with INVALID_INTERFACE in that frame's header.
		r.wmu.Lock()
		r.frame = spinel.AppendFrameHeader(r.frame[:0], f.IID, f.TID, spinel.CmdPropValueIs, spinel.PropLastStatus)
		r.frame = spinel.AppendPackedUint(r.frame, uint32(spinel.StatusInvalidInterface))
		r.writeLocked(r.frame)
		r.wmu.Unlock()
		return
	}
	switch f.Command {
	case spinel.CmdNoop:
		r.status(f.TID, spinel.StatusOK)
	case spinel.CmdReset:
		r.hostReset(ctx, f.Value)
	case spinel.CmdPropValueGet:
		v, st := r.get(f.Prop)
		if st != spinel.StatusOK {
			r.status(f.TID, st)
			return
		}
		r.reply(f.TID, spinel.CmdPropValueIs, f.Prop, v)
	case spinel.CmdPropValueSet:
		if f.Prop == spinel.PropStreamRaw {
			r.transmit(ctx, f.TID, f.Value)
			return
		}
		r.setAndAnswer(ctx, f.TID, f.Prop, f.Value)
	case spinel.CmdPropValueInsert, spinel.CmdPropValueRemove:
		insert := f.Command == spinel.CmdPropValueInsert
		if st := r.insertRemove(insert, f.Prop, f.Value); st != spinel.StatusOK {
			r.status(f.TID, st)
			return
		}
		cmd := spinel.CmdPropValueInserted
		if !insert {
			cmd = spinel.CmdPropValueRemoved
		}
		// HandleCommandPropertyInsertRemove echoes the whole value.
		r.reply(f.TID, cmd, f.Prop, f.Value)
	default:
		r.status(f.TID, spinel.StatusInvalidCommand)
	}
}

// hostReset handles RESET (ncp_base.cpp CommandHandler_RESET): the type
// byte defaults to RESET_STACK; RESET_STACK (the one hosts send,
// radio_spinel.cpp ResetRcp) resets the radio stack and NcpBase's radio
// state and writes RESET_POWER_ON at once; any other type resets the
// platform (otInstanceReset: on the simulation platform the process
// re-executes itself), which reboots.
func (r *RCP) hostReset(ctx context.Context, value []byte) {
	kind := spinel.ResetStack
	if len(value) > 0 {
		kind = spinel.ResetType(value[0])
	}
	if kind == spinel.ResetStack {
		r.restart(ctx, r.cfg.ResetDelay, bootStackOnly)
		return
	}
	r.restart(ctx, r.cfg.BootDelay, bootPowerOn)
}
