package hcisim

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// Two controllers in one world, from the advertisement to the end of the
// connection: an IPSP node advertises IPSS, the router scans, connects,
// and they exchange L2CAP PDUs both ways; then data length, PHY and
// connection parameters change, and the router disconnects.
func TestConnectionLifecycle(t *testing.T) {
	w := newWorld(t)
	node := attach(t, w, "node", Config{Addr: addrA})
	router := attach(t, w, "router", Config{Addr: addrB})
	node.init(allLEEvents)
	router.init(allLEEvents)

	// Scanning: LE Advertising Report, ADV_IND, with the data.
	ad := ipssAdvertising(t)
	node.advertise(ad)
	router.ok(hci.LESetScanParameters{Type: hci.ScanPassive, Interval: 0x10, Window: 0x10}.AppendCommand(nil))
	router.ok(hci.LESetScanEnable{Enable: true, FilterDuplicates: true}.AppendCommand(nil))
	e := router.waitEvent("an advertising report", isSub(hci.LESubeventAdvertisingReport))
	rep, err := hci.ParseLEAdvertisingReport(e)
	if err != nil || rep.Len() != 1 {
		t.Fatalf("advertising report % x: %v", []byte(e), err)
	}
	for r := range rep.All() {
		want := hci.AdvReport{EventType: hci.AdvReportInd, AddrType: hci.AddrPublic, Addr: addrA, Data: ad, RSSI: r.RSSI}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("advertising report (-want +got):\n%s", diff)
		}
		if !hci.ADHasUUID16(r.Data, hci.UUIDInternetProtocolSupport) {
			t.Error("no IPSS in the advertising data")
		}
	}
	router.ok(hci.LESetScanEnable{}.AppendCommand(nil))
	if router.has(func(p packet) bool { e := p.event(); return e != nil && isSub(hci.LESubeventAdvertisingReport)(e) }) {
		t.Error("duplicate advertising reports with Filter_Duplicates")
	}
	router.backlog = nil

	// Connecting: both sides hear of it, each with its role.
	if st := router.status(createConnection(addrA)); st != hci.StatusSuccess {
		t.Fatalf("LE Create Connection: %v", st)
	}
	rc, nc := router.connected(), node.connected()
	wantRC := hci.LEEnhancedConnectionComplete{Handle: rc.Handle, Role: hci.RoleCentral, PeerAddrType: hci.AddrPublic, PeerAddr: addrA,
		Interval: 16, SupervisionTimeout: 100}
	wantNC := hci.LEEnhancedConnectionComplete{Handle: nc.Handle, Role: hci.RolePeripheral, PeerAddrType: hci.AddrPublic, PeerAddr: addrB,
		Interval: 16, SupervisionTimeout: 100, CentralClockAccuracy: 5}
	if diff := cmp.Diff(wantRC, rc); diff != "" {
		t.Errorf("router's connection complete (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantNC, nc); diff != "" {
		t.Errorf("node's connection complete (-want +got):\n%s", diff)
	}
	hr, hn := rc.Handle, nc.Handle
	// The node stopped advertising: enabling it again is its host's call.
	node.c.mu.Lock()
	advertising := node.c.advEnabled
	node.c.mu.Unlock()
	if advertising {
		t.Error("the node still advertises after connecting")
	}

	// Data at the initial data length, 27: the controller passes each PDU
	// up as it came.
	exchange := func(from, to *host, hFrom, hTo uint16, size, maxACL, dataLen, wantIn, wantOut int) {
		t.Helper()
		pdu := l2capPDU(size, byte(size))
		if n := from.sendPDU(hFrom, pdu, maxACL); n != wantIn {
			t.Fatalf("%d ACL packets sent, want %d", n, wantIn)
		}
		got, n := to.receivePDU(hTo, dataLen)
		if !bytes.Equal(got, pdu) {
			t.Fatalf("%s received % x, want % x", to.name, got, pdu)
		}
		if n != wantOut {
			t.Errorf("%s received the %d-octet PDU in %d ACL packets, want %d", to.name, size, n, wantOut)
		}
		from.completed(hFrom, wantIn)
	}
	exchange(router, node, hr, hn, 100, 251, 27, 1, 4)
	exchange(node, router, hn, hr, 100, 251, 27, 1, 4)
	exchange(router, node, hr, hn, 300, 251, 27, 2, 12) // 251 + 49 from the host
	exchange(node, router, hn, hr, 60, 20, 27, 3, 3)    // the host's fragments are smaller than the PDUs

	// LE Set Data Length: Command Complete with the handle, then LE Data
	// Length Change on both sides.
	if diff := cmp.Diff(hci.LESetDataLengthReturn{Handle: hr}.Append(nil),
		router.complete(hci.LESetDataLength{Handle: hr, TxOctets: 251, TxTime: 2120}.AppendCommand(nil))); diff != "" {
		t.Errorf("LE Set Data Length (-want +got):\n%s", diff)
	}
	for _, s := range []struct {
		h      *host
		handle uint16
	}{{router, hr}, {node, hn}} {
		e := s.h.waitEvent("LE Data Length Change", isSub(hci.LESubeventDataLengthChange))
		got, _ := hci.ParseLEDataLengthChange(e)
		want := hci.LEDataLengthChange{Handle: s.handle, MaxTxOctets: 251, MaxTxTime: 2120, MaxRxOctets: 251, MaxRxTime: 2120}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: LE Data Length Change (-want +got):\n%s", s.h.name, diff)
		}
	}
	exchange(router, node, hr, hn, 100, 251, 251, 1, 1)
	exchange(router, node, hr, hn, 300, 251, 251, 2, 2)

	// LE Set PHY: Command Status, LE PHY Update Complete on both sides,
	// and the packet times of LE 2M in an LE Data Length Change.
	if st := router.status(hci.LESetPHY{Handle: hr, TxPHYs: hci.PHYMask2M, RxPHYs: hci.PHYMask2M}.AppendCommand(nil)); st != hci.StatusSuccess {
		t.Fatalf("LE Set PHY: %v", st)
	}
	for _, s := range []struct {
		h      *host
		handle uint16
	}{{router, hr}, {node, hn}} {
		got, _ := hci.ParseLEPHYUpdateComplete(s.h.waitEvent("LE PHY Update Complete", isSub(hci.LESubeventPHYUpdateComplete)))
		if diff := cmp.Diff(hci.LEPHYUpdateComplete{Handle: s.handle, TxPHY: hci.PHY2M, RxPHY: hci.PHY2M}, got); diff != "" {
			t.Errorf("%s: LE PHY Update Complete (-want +got):\n%s", s.h.name, diff)
		}
		dl, _ := hci.ParseLEDataLengthChange(s.h.waitEvent("LE Data Length Change", isSub(hci.LESubeventDataLengthChange)))
		if dl.MaxTxTime != 1064 || dl.MaxRxTime != 1064 || dl.MaxTxOctets != 251 {
			t.Errorf("%s: after LE 2M: %+v, want 251 octets in 1064 µs", s.h.name, dl)
		}
	}
	if diff := cmp.Diff([]byte{0, byte(hn), byte(hn >> 8), 2, 2}, node.complete(cmdRaw(hci.OpLEReadPHY, byte(hn), byte(hn>>8)))); diff != "" {
		t.Errorf("LE Read PHY (-want +got):\n%s", diff)
	}
	// Asking for the PHY in use: the event comes at once, this side only.
	node.status(hci.LESetPHY{Handle: hn, AllPHYs: hci.AllPHYsNoTxPreference | hci.AllPHYsNoRxPreference}.AppendCommand(nil))
	node.waitEvent("LE PHY Update Complete", isSub(hci.LESubeventPHYUpdateComplete))

	// LE Connection Update.
	if st := router.status(hci.LEConnectionUpdate{Handle: hr, ConnParams: hci.ConnParams{IntervalMin: 24, IntervalMax: 32, MaxLatency: 2, SupervisionTimeout: 200}}.AppendCommand(nil)); st != hci.StatusSuccess {
		t.Fatalf("LE Connection Update: %v", st)
	}
	cu, _ := hci.ParseLEConnectionUpdateComplete(router.waitEvent("LE Connection Update Complete", isSub(hci.LESubeventConnectionUpdateComplete)))
	if diff := cmp.Diff(hci.LEConnectionUpdateComplete{Handle: hr, Interval: 32, PeripheralLatency: 2, SupervisionTimeout: 200}, cu); diff != "" {
		t.Errorf("LE Connection Update Complete (-want +got):\n%s", diff)
	}
	exchange(node, router, hn, hr, 200, 251, 251, 1, 1)

	// Disconnect: Connection Terminated By Local Host here, the reason
	// given at the peer.
	if st := router.status(hci.Disconnect{Handle: hr, Reason: hci.StatusRemoteUserTerminated}.AppendCommand(nil)); st != hci.StatusSuccess {
		t.Fatalf("Disconnect: %v", st)
	}
	if d := router.disconnected(hr); d.Reason != hci.StatusLocalHostTerminated || d.Status != hci.StatusSuccess {
		t.Errorf("router: %+v, want reason Connection Terminated By Local Host", d)
	}
	if d := node.disconnected(hn); d.Reason != hci.StatusRemoteUserTerminated {
		t.Errorf("node: %+v, want reason Remote User Terminated Connection", d)
	}
	if st := router.status(hci.Disconnect{Handle: hr, Reason: hci.StatusRemoteUserTerminated}.AppendCommand(nil)); st != hci.StatusUnknownConnectionID {
		t.Errorf("second Disconnect: %v, want Unknown Connection Identifier", st)
	}
	// ACL on the closed handle goes nowhere and completes nothing.
	before := router.c.Stats().ACLDropped
	router.sendPDU(hr, l2capPDU(20, 1), 251)
	router.ok(cmd0(hci.OpReadBDAddr))
	if got := router.c.Stats().ACLDropped; got != before+1 {
		t.Errorf("ACL on a closed handle: %d dropped, want %d", got, before+1)
	}
	if router.has(func(p packet) bool { e := p.event(); return e != nil && e.Code() == hci.EventNumberOfCompletedPackets }) {
		t.Error("Number Of Completed Packets for a packet on a closed handle")
	}
}

// More ACL packets than buffers: the extra one is dropped with Data Buffer
// Overflow. A severed link times out on both sides (Connection Timeout),
// and the packets it held are flushed without Number Of Completed Packets:
// the host counts them free on Disconnection Complete (§4.3).
func TestBufferOverflowAndLinkLoss(t *testing.T) {
	w := newWorld(t)
	node := attach(t, w, "node", Config{Addr: addrA})
	router := attach(t, w, "router", Config{Addr: addrB, ACLBuffers: 3, ACLDataLength: 64})
	node.init(allLEEvents)
	router.init(allLEEvents)
	if diff := cmp.Diff(hci.LEReadBufferSizeReturn{ACLDataPacketLength: 64, TotalNumACLDataPackets: 3}.Append(nil), router.ok(cmd0(hci.OpLEReadBufferSize))); diff != "" {
		t.Errorf("LE Read Buffer Size (-want +got):\n%s", diff)
	}
	hr, hn := connect(t, router, node)

	// Longer than the buffers: dropped.
	long, _ := hci.AppendH4ACL(nil, hr, hci.PBFirstNonFlushable, 0, l2capPDU(65, 0))
	router.write(long)
	router.ok(cmd0(hci.OpReadBDAddr))
	if got := router.c.Stats().ACLDropped; got != 1 {
		t.Errorf("an ACL packet over LE_ACL_Data_Packet_Length: %d dropped, want 1", got)
	}

	router.linkOf(hr).Sever() // nothing gets through: no buffer comes back
	for i := range 4 {
		router.sendPDU(hr, l2capPDU(60, byte(i)), 64)
	}
	e := router.waitEvent("Data Buffer Overflow", isCode(hci.EventDataBufferOverflow))
	if o, _ := hci.ParseDataBufferOverflow(e); o.LinkType != hci.LinkTypeACL {
		t.Errorf("Data Buffer Overflow link type %d, want ACL", o.LinkType)
	}
	if s := router.c.Stats(); s.BufferOverflows != 1 {
		t.Errorf("Stats().BufferOverflows = %d, want 1", s.BufferOverflows)
	}

	for _, s := range []struct {
		h      *host
		handle uint16
	}{{router, hr}, {node, hn}} {
		if d := s.h.disconnected(s.handle); d.Reason != hci.StatusConnectionTimeout {
			t.Errorf("%s: disconnected with %v, want Connection Timeout", s.h.name, d.Reason)
		}
	}
	router.ok(cmd0(hci.OpReadBDAddr))
	if router.has(func(p packet) bool { e := p.event(); return e != nil && e.Code() == hci.EventNumberOfCompletedPackets }) {
		t.Error("Number Of Completed Packets for the packets of a lost connection")
	}
	router.c.mu.Lock()
	outstanding := router.c.outstanding
	router.c.mu.Unlock()
	if outstanding != 0 {
		t.Errorf("%d buffers still taken after the connection dropped", outstanding)
	}

	// The buffers are back: three packets on a new connection go through.
	hr, hn = connect(t, router, node)
	for i := range 3 {
		router.sendPDU(hr, l2capPDU(60, byte(i)), 64)
	}
	for range 3 {
		node.receivePDU(hn, 27)
	}
	router.completed(hr, 3)
	if s := router.c.Stats(); s.BufferOverflows != 1 {
		t.Errorf("Stats().BufferOverflows = %d after the buffers came back, want 1", s.BufferOverflows)
	}
}

// LE Create Connection Cancel: Command Complete, then a connection
// complete with Unknown Connection Identifier (§7.8.13); with nothing to
// cancel, Command Disallowed. A second LE Create Connection while one is
// pending is disallowed.
func TestCreateConnectionCancel(t *testing.T) {
	w := newWorld(t)
	h := attach(t, w, "router", Config{Addr: addrB})
	h.init(allLEEvents)
	absent := hci.BDAddr{0x99, 0, 0, 0x5E, 0x10, 0xC0}
	if st := h.status(createConnection(absent)); st != hci.StatusSuccess {
		t.Fatalf("LE Create Connection: %v", st)
	}
	if st := h.status(createConnection(absent)); st != hci.StatusCommandDisallowed {
		t.Errorf("second LE Create Connection: %v, want Command Disallowed", st)
	}
	if rp := h.complete(hci.LESetRandomAddress{Addr: hci.BDAddr{1, 2, 3, 4, 5, 0xC6}}.AppendCommand(nil)); rp[0] != byte(hci.StatusCommandDisallowed) {
		t.Errorf("LE Set Random Address while initiating: %v, want Command Disallowed", hci.Status(rp[0]))
	}
	h.ok(cmd0(hci.OpLECreateConnectionCancel))
	cc := h.connected()
	if diff := cmp.Diff(hci.LEEnhancedConnectionComplete{Status: hci.StatusUnknownConnectionID}, cc); diff != "" {
		t.Errorf("connection complete after the cancel (-want +got):\n%s", diff)
	}
	if rp := h.complete(cmd0(hci.OpLECreateConnectionCancel)); rp[0] != byte(hci.StatusCommandDisallowed) {
		t.Errorf("second cancel: %v, want Command Disallowed", hci.Status(rp[0]))
	}
}

// Masks: with only LE Connection Complete unmasked the controller sends
// that, not the enhanced event; a masked LE Data Length Change or
// Disconnection Complete is not sent.
func TestEventMasks(t *testing.T) {
	w := newWorld(t)
	node := attach(t, w, "node", Config{Addr: addrA})
	router := attach(t, w, "router", Config{Addr: addrB})
	node.init(allLEEvents)
	router.init(hci.DefaultLEEventMask)
	node.advertise(ipssAdvertising(t))
	router.status(createConnection(addrA))
	e := router.waitEvent("LE Connection Complete", func(e hci.Event) bool {
		s, ok := e.Subevent()
		return ok && (s == hci.LESubeventConnectionComplete || s == hci.LESubeventEnhancedConnectionComplete)
	})
	if s, _ := e.Subevent(); s != hci.LESubeventConnectionComplete {
		t.Fatalf("%v with the enhanced event masked", s)
	}
	cc, _ := hci.ParseLEConnectionComplete(e)
	hr := cc.Handle
	hn := node.connected().Handle

	router.complete(hci.LESetDataLength{Handle: hr, TxOctets: 100, TxTime: 2120}.AppendCommand(nil))
	dl, _ := hci.ParseLEDataLengthChange(node.waitEvent("LE Data Length Change", isSub(hci.LESubeventDataLengthChange)))
	if dl.MaxTxOctets != 100 || dl.MaxTxTime != (100+14)*8 {
		t.Errorf("node: %+v, want 100 octets in 912 µs", dl)
	}
	router.ok(cmd0(hci.OpReadBDAddr)) // the router's events so far are in its backlog
	if router.has(func(p packet) bool { e := p.event(); return e != nil && isSub(hci.LESubeventDataLengthChange)(e) }) {
		t.Error("LE Data Length Change sent while masked")
	}

	router.ok(hci.SetEventMask{Mask: hci.EventMaskLEMeta}.AppendCommand(nil))
	router.status(hci.Disconnect{Handle: hr, Reason: hci.StatusRemoteUserTerminated}.AppendCommand(nil))
	node.disconnected(hn)
	router.ok(cmd0(hci.OpReadBDAddr))
	if router.has(func(p packet) bool { e := p.event(); return e != nil && e.Code() == hci.EventDisconnectionComplete }) {
		t.Error("Disconnection Complete sent while masked")
	}
}

// Reset tells the host nothing about what ran before: the connection is
// abandoned, and the peer finds out by supervision timeout.
func TestResetAbandonsConnections(t *testing.T) {
	w := newWorld(t)
	node := attach(t, w, "node", Config{Addr: addrA})
	router := attach(t, w, "router", Config{Addr: addrB})
	node.init(allLEEvents)
	router.init(allLEEvents)
	hr, hn := connect(t, router, node)
	router.sendPDU(hr, l2capPDU(40, 0), 251)
	node.receivePDU(hn, 27)
	router.completed(hr, 1)

	router.ok(cmd0(hci.OpReset))
	if d := node.disconnected(hn); d.Reason != hci.StatusConnectionTimeout {
		t.Errorf("node: %v, want Connection Timeout", d.Reason)
	}
	router.ok(cmd0(hci.OpReadBDAddr))
	if router.has(func(p packet) bool {
		e := p.event()
		return e != nil && (e.Code() == hci.EventDisconnectionComplete || e.Code() == hci.EventLEMeta)
	}) {
		t.Error("events after Reset about what ran before it")
	}
	// The default masks are back: an LE Meta event is masked, a new
	// connection goes unreported until the host sets the masks.
	router.init(allLEEvents)
	hr2, _ := connect(t, router, node)
	if hr2 == hr {
		t.Logf("handle 0x%03x reused", hr)
	}
}

// The data length a connection starts with: both hosts suggested 251, so
// the link layers move to it at once and both hosts hear of it. A
// controller without data length extension stays at 27.
func TestSuggestedDefaultDataLength(t *testing.T) {
	w := newWorld(t)
	node := attach(t, w, "node", Config{Addr: addrA})
	router := attach(t, w, "router", Config{Addr: addrB})
	node.init(allLEEvents)
	router.init(allLEEvents)
	for _, h := range []*host{node, router} {
		h.ok(hci.LEWriteSuggestedDefaultDataLength{TxOctets: 251, TxTime: 2120}.AppendCommand(nil))
	}
	hr, hn := connect(t, router, node)
	for _, s := range []struct {
		h      *host
		handle uint16
	}{{router, hr}, {node, hn}} {
		dl, _ := hci.ParseLEDataLengthChange(s.h.waitEvent("LE Data Length Change", isSub(hci.LESubeventDataLengthChange)))
		if dl.Handle != s.handle || dl.MaxTxOctets != 251 || dl.MaxRxOctets != 251 || dl.MaxTxTime != 2120 {
			t.Errorf("%s: %+v", s.h.name, dl)
		}
	}
	if got := router.linkOf(hr).DataLength(); got != le.MaxDataLength {
		t.Errorf("link data length %d, want 251", got)
	}
}

// recorder is a bare link-layer handler, for worlds whose connections a
// test hands to a controller's handler itself.
type recorder struct{ conns chan *le.Conn }

func (r recorder) AdvertisingReport(hci.BDAddr, hci.AddrType, bool, []byte, int8) {}
func (r recorder) Connected(c *le.Conn)                                           { r.conns <- c }
func (r recorder) Disconnected(*le.Conn, hci.Status)                              {}
func (r recorder) Received(*le.Conn, uint8, []byte)                               {}
func (r recorder) Acknowledged(*le.Conn, int)                                     {}
func (r recorder) DataLengthChanged(*le.Conn, int)                                {}
func (r recorder) PHYChanged(*le.Conn, le.PHY)                                    {}

// The world may report a connection's end before its start to the second
// side (the first side's host disconnected at once): the host still hears
// of both, in order.
func TestDisconnectedBeforeConnected(t *testing.T) {
	h := attach(t, newWorld(t), "node", Config{Addr: addrA})
	h.init(allLEEvents)
	h.advertise(nil) // the connection below is to this advertiser

	conn := peripheralConn(t)
	ll := linkLayer{h.c}
	ll.Disconnected(conn, hci.StatusRemoteUserTerminated)
	ll.Connected(conn)
	cc := h.connected()
	if cc.Status != hci.StatusSuccess || cc.Role != hci.RolePeripheral {
		t.Errorf("connection complete %+v", cc)
	}
	if d := h.disconnected(cc.Handle); d.Reason != hci.StatusRemoteUserTerminated {
		t.Errorf("disconnection reason %v", d.Reason)
	}
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	if len(h.c.conns) != 0 || len(h.c.early) != 0 {
		t.Errorf("left behind: %d connections, %d early ends", len(h.c.conns), len(h.c.early))
	}
}

// peripheralConn makes a connection in a world of its own and returns its
// peripheral side, for tests that hand it to a controller's handler.
func peripheralConn(t *testing.T) *le.Conn {
	t.Helper()
	w := newWorld(t)
	r := recorder{conns: make(chan *le.Conn, 2)}
	central, _ := w.Attach(hci.BDAddr{1}, hci.AddrRandom, r)
	periph, _ := w.Attach(hci.BDAddr{2}, hci.AddrRandom, r)
	periph.SetAdvertising(true, true, nil)
	if err := central.Connect(periph.Addr, le.ConnParams{Interval: connInterval(16)}); err != nil {
		t.Fatal(err)
	}
	<-r.conns
	return <-r.conns
}

// A connection the world completes just after the host reset the
// advertising behind it is not reported: the host reset after it.
func TestConnectionAfterReset(t *testing.T) {
	h := attach(t, newWorld(t), "node", Config{Addr: addrA})
	h.init(allLEEvents)
	h.advertise(nil)
	h.ok(cmd0(hci.OpReset))
	h.ok(hci.SetEventMask{Mask: hci.DefaultEventMask | hci.EventMaskLEMeta}.AppendCommand(nil))
	h.ok(hci.LESetEventMask{Mask: allLEEvents}.AppendCommand(nil))
	conn := peripheralConn(t)
	linkLayer{h.c}.Connected(conn)
	h.ok(cmd0(hci.OpReadBDAddr))
	if h.has(func(p packet) bool { e := p.event(); return e != nil && e.Code() == hci.EventLEMeta }) {
		t.Error("a connection reported after Reset")
	}
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	if len(h.c.conns) != 0 || !h.c.abandoned[conn] {
		t.Errorf("%d connections; abandoned: %v", len(h.c.conns), h.c.abandoned[conn])
	}
}
