package hcisim

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// waitLimit bounds every wait for a packet; the simulated world runs at
// 1/20 of real time, so everything a test waits for takes milliseconds.
const waitLimit = 5 * time.Second

// newWorld makes a fast world: advertisements every millisecond of real
// time, a 20 ms connection interval in 1 ms.
func newWorld(t *testing.T) *le.World {
	t.Helper()
	w := le.New(le.Config{Seed: 1, TimeScale: 0.05, AdvInterval: 20 * time.Millisecond})
	t.Cleanup(w.Close)
	return w
}

// packet is one H4 packet the controller sent (indicator stripped).
type packet struct {
	t hci.PacketType
	b []byte
}

func (p packet) event() hci.Event {
	if p.t != hci.PacketEvent {
		return nil
	}
	e, _ := hci.ParseEvent(p.b)
	return e
}

func (p packet) acl() hci.ACL {
	if p.t != hci.PacketACL {
		return nil
	}
	a, _ := hci.ParseACL(p.b)
	return a
}

// host is a test's end of one controller's H4 stream, built from raw
// packets with ble/hci's encoders. A goroutine reads what the controller
// writes; packets not yet asked for wait in a backlog.
type host struct {
	t       *testing.T
	name    string
	c       *Controller
	end     net.Conn
	in      chan packet
	backlog []packet
	served  chan error
}

func attach(t *testing.T, w *le.World, name string, cfg Config) *host {
	t.Helper()
	c, err := New(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &host{t: t, name: name, c: c}
	h.serve()
	t.Cleanup(func() {
		h.unplug()
		c.Close()
	})
	return h
}

// serve starts Serve on a new pipe.
func (h *host) serve() {
	ctrl, end := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	h.end, h.in, h.served, h.backlog = end, make(chan packet, 4096), make(chan error, 1), nil
	go func() {
		h.served <- h.c.Serve(ctx, ctrl)
		cancel()
	}()
	in := h.in
	go func() {
		defer close(in)
		r := hci.NewH4Reader(end, 0)
		for {
			t, p, err := r.ReadPacket()
			if err != nil {
				return
			}
			in <- packet{t, slices.Clone(p)}
		}
	}()
}

// unplug closes the host's end and waits for Serve to return.
func (h *host) unplug() error {
	h.end.Close()
	select {
	case err := <-h.served:
		return err
	case <-time.After(waitLimit):
		h.t.Fatalf("%s: Serve did not return after the host hung up", h.name)
		return nil
	}
}

func (h *host) write(b []byte) {
	h.t.Helper()
	h.end.SetWriteDeadline(time.Now().Add(waitLimit)) // a controller that stopped reading fails the test, not hangs it
	if _, err := h.end.Write(b); err != nil {
		h.t.Fatalf("%s: write: %v", h.name, err)
	}
}

// waitFor returns the first packet, from the backlog or the stream, that
// match accepts.
func (h *host) waitFor(what string, match func(packet) bool) packet {
	h.t.Helper()
	for i, p := range h.backlog {
		if match(p) {
			h.backlog = slices.Delete(h.backlog, i, i+1)
			return p
		}
	}
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case p, ok := <-h.in:
			if !ok {
				h.t.Fatalf("%s: stream ended waiting for %s", h.name, what)
			}
			if match(p) {
				return p
			}
			h.backlog = append(h.backlog, p)
		case <-deadline.C:
			h.t.Fatalf("%s: timed out waiting for %s", h.name, what)
		}
	}
}

// has reports whether the backlog holds a packet match accepts. Events
// arrive in order, so after a command's answer the backlog holds whatever
// the controller sent before it.
func (h *host) has(match func(packet) bool) bool {
	return slices.ContainsFunc(h.backlog, match)
}

func (h *host) waitEvent(what string, match func(hci.Event) bool) hci.Event {
	h.t.Helper()
	return h.waitFor(what, func(p packet) bool { e := p.event(); return e != nil && match(e) }).event()
}

func isSub(sub hci.LESubevent) func(hci.Event) bool {
	return func(e hci.Event) bool { s, ok := e.Subevent(); return ok && s == sub }
}

func isCode(code hci.EventCode) func(hci.Event) bool {
	return func(e hci.Event) bool { return e.Code() == code }
}

// answer waits for the Command Complete or Command Status of op.
func (h *host) answer(op hci.Opcode) hci.Event {
	h.t.Helper()
	return h.waitEvent("the answer to "+op.String(), func(e hci.Event) bool {
		switch e.Code() {
		case hci.EventCommandComplete:
			cc, err := hci.ParseCommandComplete(e)
			return err == nil && cc.Opcode == op
		case hci.EventCommandStatus:
			cs, err := hci.ParseCommandStatus(e)
			return err == nil && cs.Opcode == op
		}
		return false
	})
}

// do sends a command packet (no indicator) and returns its answer.
func (h *host) do(cmd []byte) hci.Event {
	h.t.Helper()
	h.write(append([]byte{byte(hci.PacketCommand)}, cmd...))
	return h.answer(hci.Opcode(binary.LittleEndian.Uint16(cmd)))
}

// complete sends a command and returns its Command Complete's return
// parameters, failing on a Command Status.
func (h *host) complete(cmd []byte) []byte {
	h.t.Helper()
	e := h.do(cmd)
	cc, err := hci.ParseCommandComplete(e)
	if err != nil {
		h.t.Fatalf("%s: %v: want Command Complete, got % x", h.name, hci.Opcode(binary.LittleEndian.Uint16(cmd)), []byte(e))
	}
	if cc.NumHCICommandPackets != 1 {
		h.t.Errorf("%s: %v: Num_HCI_Command_Packets %d, want 1", h.name, cc.Opcode, cc.NumHCICommandPackets)
	}
	return cc.ReturnParameters
}

// ok sends a command that must complete with Success.
func (h *host) ok(cmd []byte) []byte {
	h.t.Helper()
	rp := h.complete(cmd)
	if len(rp) == 0 || rp[0] != byte(hci.StatusSuccess) {
		h.t.Fatalf("%s: %v: return parameters % x, want Success", h.name, hci.Opcode(binary.LittleEndian.Uint16(cmd)), rp)
	}
	return rp
}

// status sends a command that is answered with Command Status and returns
// the status.
func (h *host) status(cmd []byte) hci.Status {
	h.t.Helper()
	e := h.do(cmd)
	cs, err := hci.ParseCommandStatus(e)
	if err != nil {
		h.t.Fatalf("%s: %v: want Command Status, got % x", h.name, hci.Opcode(binary.LittleEndian.Uint16(cmd)), []byte(e))
	}
	if cs.NumHCICommandPackets != 1 {
		h.t.Errorf("%s: %v: Num_HCI_Command_Packets %d, want 1", h.name, cs.Opcode, cs.NumHCICommandPackets)
	}
	return cs.Status
}

func cmd0(op hci.Opcode) []byte {
	b, _ := hci.AppendCommand(nil, op, nil)
	return b
}

func cmdRaw(op hci.Opcode, params ...byte) []byte {
	b, _ := hci.AppendCommand(nil, op, params)
	return b
}

// allLEEvents unmasks the LE subevents the controller sends, with the
// enhanced connection complete.
const allLEEvents = hci.LEEventMaskConnectionComplete | hci.LEEventMaskAdvertisingReport |
	hci.LEEventMaskConnectionUpdateComplete | hci.LEEventMaskDataLengthChange |
	hci.LEEventMaskEnhancedConnectionComplete | hci.LEEventMaskPHYUpdateComplete

// init runs what a host does first: Reset and the event masks.
func (h *host) init(leMask uint64) {
	h.t.Helper()
	h.ok(cmd0(hci.OpReset))
	h.ok(hci.SetEventMask{Mask: hci.DefaultEventMask | hci.EventMaskLEMeta}.AppendCommand(nil))
	h.ok(hci.LESetEventMask{Mask: leMask}.AppendCommand(nil))
}

// ipssAdvertising is what an IPSP node advertises: flags and the Internet
// Protocol Support Service (RFC 7668 §2.2).
func ipssAdvertising(t *testing.T) []byte {
	ad := hci.AppendADFlags(nil, hci.ADFlagLEGeneralDiscoverable|hci.ADFlagBREDRNotSupported)
	ad, err := hci.AppendADUUID16s(ad, hci.UUIDInternetProtocolSupport)
	if err != nil {
		t.Fatal(err)
	}
	return ad
}

// advertise starts connectable advertising with data.
func (h *host) advertise(data []byte) {
	h.t.Helper()
	h.ok(hci.LESetAdvertisingParameters{IntervalMin: 0x20, IntervalMax: 0x20, Type: hci.AdvInd, ChannelMap: hci.AdvChannelAll}.AppendCommand(nil))
	d, err := hci.MakeAdvertisingData(data)
	if err != nil {
		h.t.Fatal(err)
	}
	h.ok(hci.LESetAdvertisingData{AdvertisingData: d}.AppendCommand(nil))
	h.ok(hci.LESetAdvertisingEnable{Enable: true}.AppendCommand(nil))
}

// testConnParams: a 20 ms interval, 1 s supervision timeout.
var testConnParams = hci.ConnParams{IntervalMin: 16, IntervalMax: 16, MaxLatency: 0, SupervisionTimeout: 100}

func createConnection(peer hci.BDAddr) []byte {
	return hci.LECreateConnection{ScanInterval: 0x10, ScanWindow: 0x10, PeerAddr: peer, ConnParams: testConnParams}.AppendCommand(nil)
}

// connected waits for this side's connection complete event, enhanced or
// not, and returns it as the enhanced one.
func (h *host) connected() hci.LEEnhancedConnectionComplete {
	h.t.Helper()
	e := h.waitEvent("a connection complete event", func(e hci.Event) bool {
		s, ok := e.Subevent()
		return ok && (s == hci.LESubeventConnectionComplete || s == hci.LESubeventEnhancedConnectionComplete)
	})
	if s, _ := e.Subevent(); s == hci.LESubeventConnectionComplete {
		cc, err := hci.ParseLEConnectionComplete(e)
		if err != nil {
			h.t.Fatal(err)
		}
		return hci.LEEnhancedConnectionComplete{Status: cc.Status, Handle: cc.Handle, Role: cc.Role, PeerAddrType: cc.PeerAddrType,
			PeerAddr: cc.PeerAddr, Interval: cc.Interval, PeripheralLatency: cc.PeripheralLatency,
			SupervisionTimeout: cc.SupervisionTimeout, CentralClockAccuracy: cc.CentralClockAccuracy}
	}
	cc, err := hci.ParseLEEnhancedConnectionComplete(e)
	if err != nil {
		h.t.Fatal(err)
	}
	return cc
}

// connect makes central connect to peripheral (both initialised) and
// returns the two handles.
func connect(t *testing.T, central, peripheral *host) (hc, hp uint16) {
	t.Helper()
	peripheral.advertise(ipssAdvertising(t))
	if st := central.status(createConnection(peripheral.c.cfg.Addr)); st != hci.StatusSuccess {
		t.Fatalf("LE Create Connection: %v", st)
	}
	c, p := central.connected(), peripheral.connected()
	if c.Status != hci.StatusSuccess || p.Status != hci.StatusSuccess {
		t.Fatalf("connection complete status %v / %v", c.Status, p.Status)
	}
	return c.Handle, p.Handle
}

// disconnected waits for Disconnection Complete on handle.
func (h *host) disconnected(handle uint16) hci.DisconnectionComplete {
	h.t.Helper()
	e := h.waitEvent("Disconnection Complete", func(e hci.Event) bool {
		d, err := hci.ParseDisconnectionComplete(e)
		return err == nil && d.Handle == handle
	})
	d, _ := hci.ParseDisconnectionComplete(e)
	return d
}

// completed waits for Number Of Completed Packets entries on handle
// adding up to n.
func (h *host) completed(handle uint16, n int) {
	h.t.Helper()
	for got := 0; got < n; {
		e := h.waitEvent("Number Of Completed Packets", isCode(hci.EventNumberOfCompletedPackets))
		ncp, err := hci.ParseNumberOfCompletedPackets(e)
		if err != nil {
			h.t.Fatal(err)
		}
		for hc := range ncp.All() {
			if hc.Handle != handle {
				h.t.Fatalf("%s: completed packets on handle 0x%03x, want 0x%03x", h.name, hc.Handle, handle)
			}
			got += int(hc.Count)
		}
		if got > n {
			h.t.Fatalf("%s: %d packets completed, want %d", h.name, got, n)
		}
	}
}

// sendPDU sends an L2CAP PDU on handle in ACL packets of at most maxData
// octets and returns how many packets that took.
func (h *host) sendPDU(handle uint16, pdu []byte, maxData int) int {
	h.t.Helper()
	n := 0
	err := hci.FragmentL2CAP(nil, pdu, handle, maxData, func(p []byte) error {
		h.write(append([]byte{byte(hci.PacketACL)}, p...))
		n++
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// receivePDU collects ACL packets on handle until they make one L2CAP PDU,
// checks their flags (the first 0b10, the rest 0b01) and sizes, and
// returns the PDU and the packet count.
func (h *host) receivePDU(handle uint16, maxData int) ([]byte, int) {
	h.t.Helper()
	r := hci.NewACLReassembler(0, 0)
	for n := 1; ; n++ {
		a := h.waitFor("ACL data", func(p packet) bool { a := p.acl(); return a != nil && a.Handle() == handle }).acl()
		want := hci.PBContinuing
		if n == 1 {
			want = hci.PBFirstFlushable
		}
		if a.PB() != want {
			h.t.Fatalf("%s: ACL packet %d flagged %v, want %v", h.name, n, a.PB(), want)
		}
		if len(a.Data()) > maxData {
			h.t.Fatalf("%s: ACL packet %d carries %d octets, more than the data length %d", h.name, n, len(a.Data()), maxData)
		}
		pdu, err := r.Feed(a)
		if err != nil {
			h.t.Fatalf("%s: reassembling: %v", h.name, err)
		}
		if pdu != nil {
			return slices.Clone(pdu), n
		}
	}
}

// l2capPDU is an L2CAP basic frame of n octets on the IPSP channel's
// dynamic CID.
func l2capPDU(n int, seed byte) []byte {
	pdu := make([]byte, n)
	binary.LittleEndian.PutUint16(pdu, uint16(n-hci.L2CAPHeaderLen))
	binary.LittleEndian.PutUint16(pdu[2:], 0x0040)
	for i := hci.L2CAPHeaderLen; i < n; i++ {
		pdu[i] = seed + byte(i)
	}
	return pdu
}

// linkOf returns the world's connection behind handle, for tests that act
// on the air (sever a link).
func (h *host) linkOf(handle uint16) *le.Conn {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	cn := h.c.conns[handle]
	if cn == nil {
		h.t.Fatalf("%s: no connection 0x%03x", h.name, handle)
	}
	return cn.conn
}
