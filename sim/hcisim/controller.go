package hcisim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// Defaults of Config: an nRF52840 running Zephyr's hci_uart.
const (
	DefaultACLDataLength = 251
	DefaultACLBuffers    = 8
	DefaultMaxDataLength = le.MaxDataLength
	DefaultFirmware      = "zephyr"
)

// Config describes the simulated controller. The zero value (with an
// address) is an nRF52840 with Zephyr's controller: LE only, data length
// extension to 251 octets, LE 2M.
type Config struct {
	// Addr and AddrType: the controller's address. A public address is what
	// Read BD_ADDR returns; with a random one Read BD_ADDR returns zero, as
	// for a controller without a public address (§7.4.6).
	Addr     hci.BDAddr
	AddrType hci.AddrType
	// ACLDataLength and ACLBuffers: what LE Read Buffer Size reports, and
	// enforces (default 251 and 8).
	ACLDataLength int
	ACLBuffers    int
	// MaxDataLength is the largest link-layer payload supported (27–251,
	// default 251). 27 means no data length extension: the LE feature bit
	// is clear and the data length commands are unknown.
	MaxDataLength int
	// No2M clears the LE 2M PHY feature; the PHY commands are then unknown.
	No2M bool
	// NoLE makes a BR/EDR-only controller: "LE Supported (Controller)"
	// clear, LE commands unknown, nothing attached to the LE world.
	NoLE bool
	// Firmware sets Read Local Version Information: "zephyr" (the default:
	// company 0x05F1, The Linux Foundation, LMP subversion 0xFFFF, as
	// Zephyr's controller reports) or "COMPANY:SUBVERSION" in hex, e.g.
	// "0x0059:0x1234".
	Firmware string
	// UnknownCommandComplete answers unknown opcodes with Command Complete
	// instead of Command Status (§4.5 allows either; the SIG's HCI test
	// suite expects Complete, most controllers send Status).
	UnknownCommandComplete bool
	Logger                 *slog.Logger
}

// Stats counts what the controller did.
type Stats struct {
	Commands        uint64 // command packets received
	UnknownCommands uint64 // answered with Unknown HCI Command
	Events          uint64 // event packets written
	ACLIn, ACLOut   uint64 // ACL packets from and to the host
	// ACLDropped: ACL packets from the host that went nowhere: longer than
	// ACLDataLength, on a handle with no connection, with reserved flags.
	ACLDropped uint64
	// BufferOverflows: ACL packets beyond the buffers (Data Buffer
	// Overflow).
	BufferOverflows uint64
	// Unsent: events and ACL packets for the host dropped because no host
	// was attached (not serving, or the PTY's other side closed).
	Unsent uint64
	// Unsupported: SCO and ISO packets from the host, skipped.
	Unsupported uint64
}

// Controller is one simulated LE controller.
type Controller struct {
	cfg     Config
	version hci.ReadLocalVersionReturn
	log     *slog.Logger
	dev     *le.Device // nil for a NoLE controller
	free    chan *outPacket

	serving atomic.Bool

	mu          sync.Mutex
	sess        *session // nil while no host is attached
	closed      bool
	eventMask   uint64
	leEventMask uint64
	randomAddr  *hci.BDAddr
	adv         hci.LESetAdvertisingParameters
	advData     hci.AdvertisingData
	scanRsp     hci.AdvertisingData
	advEnabled  bool
	// advStoppedByReset: Reset stopped advertising and the host has not
	// enabled it since; a peripheral connection arriving now is a ghost.
	advStoppedByReset bool
	scan              hci.LESetScanParameters
	scanEnabled       bool
	filterDup         bool
	seen              map[hci.BDAddr]bool // advertisers reported since scanning started, when filtering duplicates
	initiating        *initiation
	defaultDL         hci.LEWriteSuggestedDefaultDataLength
	defaultPHY        hci.LESetDefaultPHY
	conns             map[uint16]*connection
	// early: connections the world dropped before saying they exist (the
	// peer's host can disconnect before this side hears of the connection).
	early map[*le.Conn]hci.Status
	// abandoned: connections dropped by Reset, whose end this host must
	// not hear about.
	abandoned map[*le.Conn]bool
	// outstanding: ACL packets taken from the host and not yet completed
	// (§4.1.1: the host counts them against ACLBuffers).
	outstanding int
	out, rp     []byte // scratch, under mu

	stats struct {
		commands, unknown, events, aclIn, aclOut, aclDropped, overflows, unsent, unsupported atomic.Uint64
	}
}

// initiation is a pending LE Create Connection.
type initiation struct {
	peer    hci.BDAddr
	params  hci.ConnParams
	viaList bool // filter policy 1: waits for a filter accept list this controller does not keep
}

// connection is one connection as the host knows it.
type connection struct {
	conn     *le.Conn
	handle   uint16
	role     hci.Role
	peer     hci.BDAddr
	peerType hci.AddrType
	// Reported parameters, in HCI units (1.25 ms, events, 10 ms).
	interval, latency, timeout uint16
	inFlight                   int    // ACL packets handed to the link layer, not yet acknowledged
	dataLen                    int    // last data length reported
	time                       uint16 // last packet time reported, µs
	phy                        le.PHY // last PHY reported
}

// Buffers toward the host: an H4 event of 255 parameter octets is the
// largest packet (an ACL packet carries at most 251 octets, one PDU).
const (
	outBufLen   = 1 + hci.EventHeaderLen + hci.MaxParamLen
	outPoolSize = 64
)

type outPacket struct {
	n   int
	buf [outBufLen]byte
}

// session is one run of Serve: the host attached to rw.
type session struct {
	out  chan *outPacket
	done chan struct{}
	once sync.Once
	err  error // why it ended; written before done closes
}

func (s *session) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
	})
}

// New makes a controller and attaches its device to w (w may be nil for a
// NoLE controller).
func New(w *le.World, cfg Config) (*Controller, error) {
	if cfg.ACLDataLength == 0 {
		cfg.ACLDataLength = DefaultACLDataLength
	}
	if cfg.ACLBuffers == 0 {
		cfg.ACLBuffers = DefaultACLBuffers
	}
	if cfg.MaxDataLength == 0 {
		cfg.MaxDataLength = DefaultMaxDataLength
	}
	if cfg.Firmware == "" {
		cfg.Firmware = DefaultFirmware
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// §7.8.2: LE_ACL_Data_Packet_Length is 0x001B or more (255 is plenty
	// where PDUs carry at most 251), Total_Num_LE_ACL_Data_Packets one
	// octet.
	if cfg.ACLDataLength < le.MinDataLength || cfg.ACLDataLength > hci.MaxParamLen {
		return nil, fmt.Errorf("hcisim: ACL data length %d, want %d–%d", cfg.ACLDataLength, le.MinDataLength, hci.MaxParamLen)
	}
	if cfg.ACLBuffers < 1 || cfg.ACLBuffers > 0xFF {
		return nil, fmt.Errorf("hcisim: %d ACL buffers, want 1–255", cfg.ACLBuffers)
	}
	if cfg.MaxDataLength < le.MinDataLength || cfg.MaxDataLength > le.MaxDataLength {
		return nil, fmt.Errorf("hcisim: maximum data length %d, want %d–%d", cfg.MaxDataLength, le.MinDataLength, le.MaxDataLength)
	}
	version, err := parseFirmware(cfg.Firmware)
	if err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, version: version, log: cfg.Logger, free: make(chan *outPacket, outPoolSize),
		conns: map[uint16]*connection{}, early: map[*le.Conn]hci.Status{}, abandoned: map[*le.Conn]bool{}}
	for range outPoolSize {
		c.free <- new(outPacket)
	}
	c.resetLocked()
	if cfg.NoLE {
		return c, nil
	}
	if w == nil {
		return nil, errors.New("hcisim: an LE controller needs a world")
	}
	if c.dev, err = w.Attach(cfg.Addr, cfg.AddrType, linkLayer{c}); err != nil {
		return nil, fmt.Errorf("hcisim: %w", err)
	}
	c.dev.SetDefaults(le.MinDataLength, le.PHY1M)
	return c, nil
}

// parseFirmware turns Config.Firmware into the version information.
func parseFirmware(fw string) (hci.ReadLocalVersionReturn, error) {
	// Core v5.4 is version 0x0D (Assigned Numbers §2.1).
	v := hci.ReadLocalVersionReturn{HCIVersion: 0x0D, LMPVersion: 0x0D}
	if fw == "zephyr" {
		// Zephyr's defaults: CONFIG_BT_CTLR_COMPANY_ID and
		// CONFIG_BT_CTLR_SUBVERSION_NUMBER.
		v.CompanyID, v.LMPSubversion = 0x05F1, 0xFFFF
		return v, nil
	}
	company, sub, ok := strings.Cut(fw, ":")
	cid, err1 := strconv.ParseUint(company, 0, 16)
	sv, err2 := strconv.ParseUint(sub, 0, 16)
	if !ok || err1 != nil || err2 != nil {
		return v, fmt.Errorf("hcisim: firmware %q: want zephyr or COMPANY:SUBVERSION such as 0x0059:0x1234", fw)
	}
	v.CompanyID, v.LMPSubversion = uint16(cid), uint16(sv)
	return v, nil
}

// Device is the controller's device in the LE world (nil for NoLE).
func (c *Controller) Device() *le.Device { return c.dev }

// Stats returns the counters.
func (c *Controller) Stats() Stats {
	return Stats{Commands: c.stats.commands.Load(), UnknownCommands: c.stats.unknown.Load(),
		Events: c.stats.events.Load(), ACLIn: c.stats.aclIn.Load(), ACLOut: c.stats.aclOut.Load(),
		ACLDropped: c.stats.aclDropped.Load(), BufferOverflows: c.stats.overflows.Load(),
		Unsent: c.stats.unsent.Load(), Unsupported: c.stats.unsupported.Load()}
}

// Close detaches the device from the world, dropping its connections (the
// peers see a supervision timeout, as when a dongle is unplugged). A Serve
// still running keeps answering commands, to no effect on the world.
func (c *Controller) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	if c.dev != nil {
		c.dev.Detach()
	}
}

// deadliner is what a PTY master (an *os.File) and a net.Conn offer to
// wake a blocked Read or Write without closing them.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// ErrServing: Serve was called while another Serve runs.
var ErrServing = errors.New("hcisim: already serving a host")

// Serve speaks H4 on rw until ctx ends (it returns nil) or rw fails. A
// controller keeps its state from one Serve to the next, as a dongle does
// when its host reopens the port. On a PTY master, EIO means no process
// holds the other side open: the controller waits for a host, as a real
// one does, dropping what it has to send meanwhile. An H4 framing error
// ends Serve with an error wrapping hci.ErrBadIndicator: H4 cannot find
// the next packet boundary after one (Vol 4 Part A §2).
//
// When ctx ends, a blocked Read or Write is woken with a deadline in the
// past if rw has SetReadDeadline and SetWriteDeadline (a PTY master, a
// net.Conn), else by closing rw if it is an io.Closer.
func (c *Controller) Serve(ctx context.Context, rw io.ReadWriter) error {
	if !c.serving.CompareAndSwap(false, true) {
		return ErrServing
	}
	defer c.serving.Store(false)
	if d, ok := rw.(deadliner); ok {
		d.SetReadDeadline(time.Time{}) // a previous Serve may have left them in the past
		d.SetWriteDeadline(time.Time{})
	}
	s := &session{out: make(chan *outPacket, outPoolSize), done: make(chan struct{})}
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.writeToHost(s, rw)
	}()
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			s.end(nil)
		case <-s.done:
		}
		// Wake the reader (and a blocked writer).
		switch x := rw.(type) {
		case deadliner:
			past := time.Unix(1, 0)
			x.SetReadDeadline(past)
			x.SetWriteDeadline(past)
		case io.Closer:
			x.Close()
		}
	}()

	c.readFromHost(ctx, s, rw)

	s.end(nil)
	wg.Wait()
	c.mu.Lock()
	c.sess = nil
	c.mu.Unlock()
	// Nothing adds to s.out once c.sess has changed: give its buffers back.
	for drained := false; !drained; {
		select {
		case p := <-s.out:
			c.free <- p
			c.stats.unsent.Add(1)
		default:
			drained = true
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return s.err
}

// readFromHost reads and handles packets until the session ends.
func (c *Controller) readFromHost(ctx context.Context, s *session, r io.Reader) {
	h4 := hci.NewH4Reader(r, c.cfg.ACLDataLength)
	for {
		t, p, err := h4.ReadPacket()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case errors.Is(err, hci.ErrUnsupportedPacket):
			c.stats.unsupported.Add(1)
			continue
		case errors.Is(err, hci.ErrTooLarge):
			// Vol 4 Part E §4.1.1: the host must not send more than
			// LE_ACL_Data_Packet_Length octets; the packet is lost.
			c.stats.aclIn.Add(1)
			c.stats.aclDropped.Add(1)
			c.log.Debug("hcisim: ACL packet longer than the buffers dropped", "err", err)
			continue
		case errors.Is(err, syscall.EIO):
			// A PTY master with no slave open: wait for a host. What was
			// half read is lost, as on a real UART.
			select {
			case <-s.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			h4 = hci.NewH4Reader(r, c.cfg.ACLDataLength)
			continue
		default:
			s.end(fmt.Errorf("hcisim: reading from the host: %w", err))
			return
		}
		switch t {
		case hci.PacketCommand:
			cmd, err := hci.ParseCommand(p)
			if err != nil { // cannot happen: H4Reader framed it
				continue
			}
			c.command(cmd)
		case hci.PacketACL:
			a, err := hci.ParseACL(p)
			if err != nil {
				continue
			}
			c.aclFromHost(a)
		default:
			// An event from the host: meaningless, ignored.
		}
	}
}

// writeToHost writes the packets queued for the host, one Write each, so
// packets never interleave.
func (c *Controller) writeToHost(s *session, w io.Writer) {
	for {
		select {
		case <-s.done:
			return
		case p := <-s.out:
			_, err := w.Write(p.buf[:p.n])
			isEvent := p.buf[0] == byte(hci.PacketEvent)
			c.free <- p
			switch {
			case err == nil:
				if isEvent {
					c.stats.events.Add(1)
				} else {
					c.stats.aclOut.Add(1)
				}
			case errors.Is(err, syscall.EIO):
				c.stats.unsent.Add(1) // a PTY with no host on the other side
			default:
				s.end(fmt.Errorf("hcisim: writing to the host: %w", err))
				return
			}
		}
	}
}

// sendLocked queues one H4 packet (indicator included) for the host. It
// blocks while every buffer is on its way to a host that is slow to read,
// which holds up the caller — the command reader or a link-layer event —
// as a real controller's full UART queue would. Called with c.mu held.
func (c *Controller) sendLocked(pkt []byte) {
	s := c.sess
	if s == nil {
		c.stats.unsent.Add(1)
		return
	}
	var p *outPacket
	select {
	case p = <-c.free:
	case <-s.done:
		c.stats.unsent.Add(1)
		return
	}
	p.n = copy(p.buf[:], pkt)
	s.out <- p // never blocks: the channel holds the whole pool
}

// Event helpers; all are called with c.mu held.

func (c *Controller) eventEnabled(bit uint64) bool { return c.eventMask&bit != 0 }

// leEventEnabled: an LE Meta subevent needs the LE Meta bit of the event
// mask and its own bit of the LE event mask (§7.8.1).
func (c *Controller) leEventEnabled(bit uint64) bool {
	return c.eventMask&hci.EventMaskLEMeta != 0 && c.leEventMask&bit != 0
}

func (c *Controller) startEvent() []byte { return append(c.out[:0], byte(hci.PacketEvent)) }

func (c *Controller) finish(b []byte) {
	c.out = b
	c.sendLocked(b)
}

// commandComplete sends Command Complete with return parameters rp.
func (c *Controller) commandComplete(op hci.Opcode, rp []byte) {
	b, err := hci.AppendCommandComplete(c.startEvent(), 1, op, rp)
	if err != nil {
		c.log.Error("hcisim: Command Complete", "op", op, "err", err)
		return
	}
	c.finish(b)
}

// completeStatus sends Command Complete with only a status.
func (c *Controller) completeStatus(op hci.Opcode, st hci.Status) {
	c.rp = append(c.rp[:0], byte(st))
	c.commandComplete(op, c.rp)
}

// completeHandle sends Command Complete with a status and a handle.
func (c *Controller) completeHandle(op hci.Opcode, st hci.Status, handle uint16) {
	c.rp = append(c.rp[:0], byte(st), byte(handle), byte(handle>>8))
	c.commandComplete(op, c.rp)
}

func (c *Controller) commandStatus(op hci.Opcode, st hci.Status) {
	c.finish(hci.CommandStatus{Status: st, NumHCICommandPackets: 1, Opcode: op}.Append(c.startEvent()))
}
