// Package le is a simulated Bluetooth LE link layer (Core v5.4 Vol 6 Part
// B) for the simulated controllers: devices advertise and scan, a central
// connects to a connectable advertiser, and a connection exchanges data
// PDUs in connection events — central first, the peripheral answering
// T_IFS later, as many pairs per event as the event's length, the
// per-event packet limit and the remaining data allow (§4.5.1, §4.5.6).
// PDUs carry L2CAP fragments (LLID start or continuation, §2.4); a PDU
// lost on the air is sent again in the next slot, so the link is reliable
// until the supervision timeout (§4.5.2) drops it. Data length (27–251
// octets, §4.5.10) and PHY (1M, 2M, §2.1) set how much fits.
//
// Time: connection events follow a real-time ticker scaled by
// Config.TimeScale; every connection counts its events, so rates can be
// worked out in simulated time (events × interval) whatever the load on
// the machine.
package le

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
)

// PHY is an LE PHY.
type PHY uint8

// PHYs (Vol 6 Part B §2.1; coded PHY not simulated).
const (
	PHY1M PHY = 1
	PHY2M PHY = 2
)

// Link-layer constants (Vol 6 Part B §4.1.1, §4.5.10).
const (
	TIFS            = 150 * time.Microsecond
	MinDataLength   = 27
	MaxDataLength   = 251
	LLIDContinue    = 1 // continuation fragment of an L2CAP message, or empty
	LLIDStart       = 2 // start of an L2CAP message
	DefaultPerEvent = 6 // PDUs each way per connection event, a typical controller limit
)

// AirTime is how long a data PDU with payload octets occupies the air on
// phy: preamble, access address, 2-octet header, payload, CRC (§2.1.1).
func AirTime(phy PHY, payload int) time.Duration {
	if phy == PHY2M {
		return time.Duration(2+4+2+payload+3) * 4 * time.Microsecond
	}
	return time.Duration(1+4+2+payload+3) * 8 * time.Microsecond
}

// ErrNoConnection: the connection is gone.
var ErrNoConnection = errors.New("le: no such connection")

// Handler receives what happens to a device; the simulated controller
// turns the calls into HCI events. Calls come from the world's goroutines
// and must not block for long.
type Handler interface {
	AdvertisingReport(from hci.BDAddr, fromType hci.AddrType, connectable bool, data []byte, rssi int8)
	Connected(c *Conn)
	Disconnected(c *Conn, reason hci.Status)
	// Received hands over one data PDU's payload, in order.
	Received(c *Conn, llid uint8, payload []byte)
	// Acknowledged says n queued PDUs were delivered (their buffers are
	// free: Number Of Completed Packets).
	Acknowledged(c *Conn, n int)
	DataLengthChanged(c *Conn, octets int)
	PHYChanged(c *Conn, phy PHY)
}

// Config configures a World.
type Config struct {
	Seed uint64
	// TimeScale stretches simulated time: 1 is real time, 0.5 runs twice
	// as fast. 0 means 1.
	TimeScale float64
	// Loss is the probability that a data PDU is lost on the air (it is
	// sent again in the next slot).
	Loss float64
	// PerEvent bounds the PDUs each way in one connection event (default
	// DefaultPerEvent).
	PerEvent int
	// AdvInterval is how often advertisers are heard (default 100 ms).
	AdvInterval time.Duration
	Logger      *slog.Logger
}

// World is the simulated radio environment of LE devices.
type World struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	rngMu   sync.Mutex // its own: chance is called with a link's mu held, and takeDown takes w.mu then l.mu
	rng     *rand.Rand
	devices map[hci.BDAddr]*Device
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// New makes a world; Close stops it.
func New(cfg Config) *World {
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	if cfg.PerEvent <= 0 {
		cfg.PerEvent = DefaultPerEvent
	}
	if cfg.AdvInterval <= 0 {
		cfg.AdvInterval = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &World{cfg: cfg, log: cfg.Logger, rng: rand.New(rand.NewPCG(cfg.Seed, 0x4c45)), devices: map[hci.BDAddr]*Device{}, done: make(chan struct{})}
	w.wg.Add(1)
	go w.advertisingLoop()
	return w
}

func (w *World) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * w.cfg.TimeScale)
}

func (w *World) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	w.rngMu.Lock()
	defer w.rngMu.Unlock()
	return w.rng.Float64() < p
}

// Close drops every connection and stops the world.
func (w *World) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	var conns []*Conn
	for _, d := range w.devices {
		for _, c := range d.conns {
			conns = append(conns, c)
		}
	}
	close(w.done)
	w.mu.Unlock()
	for _, c := range conns {
		c.drop(hci.StatusLocalHostTerminated, false)
	}
	w.wg.Wait()
}

// Device is one LE controller's radio in the world.
type Device struct {
	w        *World
	Addr     hci.BDAddr
	AddrType hci.AddrType
	h        Handler

	// under w.mu
	advertising bool
	connectable bool
	advData     []byte
	scanning    bool
	initiating  *initiation
	conns       map[uint16]*Conn
	nextHandle  uint16
	// Defaults for new connections.
	dataLength int
	phy        PHY
}

type initiation struct {
	peer   hci.BDAddr
	params ConnParams
}

// ConnParams are a connection's timing.
type ConnParams struct {
	Interval           time.Duration // 7.5 ms – 4 s
	SupervisionTimeout time.Duration
}

// Attach puts a controller with address addr in the world.
func (w *World) Attach(addr hci.BDAddr, typ hci.AddrType, h Handler) (*Device, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("le: world closed")
	}
	if _, dup := w.devices[addr]; dup {
		return nil, fmt.Errorf("le: address %v already in the world", addr)
	}
	d := &Device{w: w, Addr: addr, AddrType: typ, h: h, conns: map[uint16]*Conn{}, nextHandle: 1, dataLength: MinDataLength, phy: PHY1M}
	w.devices[addr] = d
	return d, nil
}

// Detach removes the device, dropping its connections (as a powered-off
// controller would: the peers see a supervision timeout).
func (d *Device) Detach() {
	w := d.w
	w.mu.Lock()
	delete(w.devices, d.Addr)
	var conns []*Conn
	for _, c := range d.conns {
		conns = append(conns, c)
	}
	w.mu.Unlock()
	for _, c := range conns {
		c.drop(hci.StatusConnectionTimeout, true)
	}
}

// SetAdvertising turns connectable advertising with data on or off.
func (d *Device) SetAdvertising(on, connectable bool, data []byte) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	d.advertising, d.connectable, d.advData = on, connectable, append([]byte(nil), data...)
}

// SetScanning turns scanning on or off.
func (d *Device) SetScanning(on bool) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	d.scanning = on
}

// SetDefaults sets the data length and PHY new connections start with
// (what both sides support; the lower of the two is used).
func (d *Device) SetDefaults(dataLength int, phy PHY) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	d.dataLength = min(max(dataLength, MinDataLength), MaxDataLength)
	d.phy = phy
}

// Connect starts initiating a connection to peer; it completes (Connected
// on both sides) when peer next advertises connectably.
func (d *Device) Connect(peer hci.BDAddr, p ConnParams) error {
	if p.Interval < 7500*time.Microsecond || p.Interval > 4*time.Second {
		return fmt.Errorf("le: connection interval %v: want 7.5ms..4s", p.Interval)
	}
	if p.SupervisionTimeout <= 2*p.Interval {
		p.SupervisionTimeout = max(20*p.Interval, 2*time.Second)
	}
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if d.initiating != nil {
		return errors.New("le: already initiating a connection")
	}
	d.initiating = &initiation{peer: peer, params: p}
	return nil
}

// CancelConnect stops initiating; it reports whether there was something
// to cancel.
func (d *Device) CancelConnect() bool {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	had := d.initiating != nil
	d.initiating = nil
	return had
}

// advertisingLoop delivers advertising reports to scanners and completes
// connections to advertisers being initiated to.
func (w *World) advertisingLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.scaled(w.cfg.AdvInterval))
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
		}
		type report struct {
			to   *Device
			from *Device
			data []byte
			conn bool
		}
		var reports []report
		var connects []*link
		w.mu.Lock()
		for _, adv := range w.devices {
			if !adv.advertising {
				continue
			}
			for _, d := range w.devices {
				if d == adv {
					continue
				}
				if d.scanning {
					reports = append(reports, report{d, adv, adv.advData, adv.connectable})
				}
				if in := d.initiating; in != nil && in.peer == adv.Addr && adv.connectable {
					d.initiating, adv.advertising = nil, false // §4.4.2: a connectable advertiser stops when it connects
					connects = append(connects, w.newConnLocked(d, adv, in.params))
					break
				}
			}
		}
		w.mu.Unlock()
		for _, r := range reports {
			r.to.h.AdvertisingReport(r.from.Addr, r.from.AddrType, r.conn, r.data, -60)
		}
		for _, c := range connects {
			c.central.h.Connected(c.sides[0])
			c.peripheral.h.Connected(c.sides[1])
			w.wg.Add(1)
			go c.run()
		}
	}
}

// link is one connection, shared by its two sides.
type link struct {
	w                   *World
	central, peripheral *Device
	sides               [2]*Conn // 0 central, 1 peripheral

	mu         sync.Mutex
	params     ConnParams
	dataLength int
	phy        PHY
	events     uint64
	sinceHeard time.Duration // simulated time since both sides last heard each other
	severed    bool          // out of range: nothing gets through
	down       bool
	stop       chan struct{}
}

// Conn is one side's view of a connection.
type Conn struct {
	l      *link
	side   int
	Handle uint16
	dev    *Device

	// under l.mu
	queue []pdu // what this side has to send
}

type pdu struct {
	llid    uint8
	payload []byte
	last    bool // the last PDU of a Send: acknowledging it frees the buffer
}

func (w *World) newConnLocked(central, peripheral *Device, p ConnParams) *link {
	l := &link{w: w, central: central, peripheral: peripheral, params: p,
		dataLength: min(central.dataLength, peripheral.dataLength), phy: min(central.phy, peripheral.phy), stop: make(chan struct{})}
	for i, d := range []*Device{central, peripheral} {
		c := &Conn{l: l, side: i, Handle: d.nextHandle, dev: d}
		d.nextHandle = d.nextHandle%0x0EFF + 1
		d.conns[c.Handle] = c
		l.sides[i] = c
	}
	return l
}

// Central reports whether this side is the central.
func (c *Conn) Central() bool { return c.side == 0 }

// Peer is the device at the other end.
func (c *Conn) Peer() (hci.BDAddr, hci.AddrType) {
	p := c.l.sides[1-c.side].dev
	return p.Addr, p.AddrType
}

// Params returns the connection's timing.
func (c *Conn) Params() ConnParams {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.l.params
}

// DataLength and PHY are the connection's current ones.
func (c *Conn) DataLength() int {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.l.dataLength
}

// PHY is the connection's PHY.
func (c *Conn) PHY() PHY {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.l.phy
}

// Events counts the connection events so far (simulated time is Events ×
// interval).
func (c *Conn) Events() uint64 {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.l.events
}

// Send queues one L2CAP fragment (an ACL packet's data) with llid; it is
// cut into PDUs of the data length, and Acknowledged is called once all of
// them got through.
func (c *Conn) Send(llid uint8, data []byte) error {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	if c.l.down {
		return ErrNoConnection
	}
	dl := c.l.dataLength
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), dl)
		p := pdu{llid: LLIDContinue, payload: append([]byte(nil), data[:n]...)}
		if first {
			p.llid = llid
		}
		data = data[n:]
		p.last = len(data) == 0
		c.queue = append(c.queue, p)
	}
	return nil
}

// Disconnect ends the connection; the peer hears reason, this side
// StatusLocalHostTerminated (as a controller reports it).
func (c *Conn) Disconnect(reason hci.Status) {
	c.l.dropWith(c.side, reason)
}

// Sever puts the two sides out of range: nothing gets through, and both
// sides drop the connection when the supervision timeout runs out.
func (c *Conn) Sever() {
	c.l.mu.Lock()
	c.l.severed = true
	c.l.mu.Unlock()
}

// SetDataLength changes the data length (both sides support up to 251
// here); both sides hear DataLengthChanged.
func (c *Conn) SetDataLength(octets int) {
	octets = min(max(octets, MinDataLength), MaxDataLength)
	c.l.mu.Lock()
	changed := c.l.dataLength != octets
	c.l.dataLength = octets
	c.l.mu.Unlock()
	if changed {
		for _, s := range c.l.sides {
			s.dev.h.DataLengthChanged(s, octets)
		}
	}
}

// SetPHY changes the PHY; both sides hear PHYChanged.
func (c *Conn) SetPHY(phy PHY) {
	c.l.mu.Lock()
	changed := c.l.phy != phy
	c.l.phy = phy
	c.l.mu.Unlock()
	if changed {
		for _, s := range c.l.sides {
			s.dev.h.PHYChanged(s, phy)
		}
	}
}

// SetInterval changes the connection interval (an LE Connection Update).
func (c *Conn) SetInterval(d time.Duration) {
	c.l.mu.Lock()
	c.l.params.Interval = d
	c.l.mu.Unlock()
}

// drop takes the connection down: a side that initiated hears
// "terminated by local host", the other the reason; with both set (a
// timeout) both hear reason.
func (c *Conn) drop(reason hci.Status, both bool) {
	if both {
		c.l.dropBoth(reason)
		return
	}
	c.l.dropWith(c.side, reason)
}

func (l *link) takeDown() bool {
	l.w.mu.Lock()
	l.mu.Lock()
	if l.down {
		l.mu.Unlock()
		l.w.mu.Unlock()
		return false
	}
	l.down = true
	close(l.stop)
	for _, s := range l.sides {
		delete(s.dev.conns, s.Handle)
	}
	l.mu.Unlock()
	l.w.mu.Unlock()
	return true
}

func (l *link) dropWith(side int, reason hci.Status) {
	if !l.takeDown() {
		return
	}
	l.sides[side].dev.h.Disconnected(l.sides[side], hci.StatusLocalHostTerminated)
	l.sides[1-side].dev.h.Disconnected(l.sides[1-side], reason)
}

func (l *link) dropBoth(reason hci.Status) {
	if !l.takeDown() {
		return
	}
	for _, s := range l.sides {
		s.dev.h.Disconnected(s, reason)
	}
}

// run is the connection's event loop.
func (l *link) run() {
	defer l.w.wg.Done()
	for {
		l.mu.Lock()
		interval := l.params.Interval
		l.mu.Unlock()
		t := time.NewTimer(l.w.scaled(interval))
		select {
		case <-l.stop:
			t.Stop()
			return
		case <-l.w.done:
			t.Stop()
			return
		case <-t.C:
		}
		if timedOut := l.event(); timedOut {
			l.dropBoth(hci.StatusConnectionTimeout)
			return
		}
	}
}

type delivery struct {
	to      *Conn
	llid    uint8
	payload []byte
}

// event runs one connection event: PDU pairs, central first, while either
// side has more data, the event has room and the per-event limit allows.
func (l *link) event() (timedOut bool) {
	l.mu.Lock()
	l.events++
	var out []delivery
	acked := [2]int{}
	budget := l.params.Interval - TIFS // the event must end before the next anchor
	heard := false
	for k := 0; k < l.w.cfg.PerEvent; k++ {
		q0, q1 := l.sides[0].queue, l.sides[1].queue
		if k > 0 && len(q0) == 0 && len(q1) == 0 {
			break // MD=0 both ways: the event closes
		}
		pay := [2]int{}
		if len(q0) > 0 {
			pay[0] = len(q0[0].payload)
		}
		if len(q1) > 0 {
			pay[1] = len(q1[0].payload)
		}
		cost := AirTime(l.phy, pay[0]) + TIFS + AirTime(l.phy, pay[1]) + TIFS
		if cost > budget {
			break
		}
		budget -= cost
		for side := range 2 {
			q := l.sides[side].queue
			lost := l.severed || l.w.chance(l.w.cfg.Loss)
			if !lost {
				heard = true
			}
			if len(q) == 0 || lost {
				continue // an empty PDU, or one sent again in the next slot
			}
			p := q[0]
			l.sides[side].queue = q[1:]
			out = append(out, delivery{to: l.sides[1-side], llid: p.llid, payload: p.payload})
			if p.last {
				acked[side]++
			}
		}
	}
	if heard {
		l.sinceHeard = 0
	} else {
		l.sinceHeard += l.params.Interval
	}
	timedOut = l.sinceHeard >= l.params.SupervisionTimeout
	l.mu.Unlock()
	for _, d := range out {
		d.to.dev.h.Received(d.to, d.llid, d.payload)
	}
	for side, n := range acked {
		if n > 0 {
			l.sides[side].dev.h.Acknowledged(l.sides[side], n)
		}
	}
	return timedOut
}

// Conns returns the device's connections.
func (d *Device) Conns() []*Conn {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	out := make([]*Conn, 0, len(d.conns))
	for _, c := range d.conns {
		out = append(out, c)
	}
	return out
}
