package hcisim

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/radio/transport"
)

var (
	addrA = hci.BDAddr{0x01, 0x00, 0x00, 0x5E, 0x10, 0xC0}
	addrB = hci.BDAddr{0x02, 0x00, 0x00, 0x5E, 0x10, 0xC0}
)

// The initialisation a host runs, and the return parameters of each
// command, for the default controller (an nRF52840 with Zephyr's
// controller).
func TestInitSequence(t *testing.T) {
	h := attach(t, newWorld(t), "a", Config{Addr: addrA})
	st := []byte{byte(hci.StatusSuccess)}
	tests := []struct {
		name string
		cmd  []byte
		want []byte
	}{
		{"Reset", cmd0(hci.OpReset), st},
		{"Set Event Mask", hci.SetEventMask{Mask: hci.DefaultEventMask | hci.EventMaskLEMeta}.AppendCommand(nil), st},
		{"LE Set Event Mask", hci.LESetEventMask{Mask: allLEEvents}.AppendCommand(nil), st},
		{"Read Local Version Information", cmd0(hci.OpReadLocalVersionInformation),
			hci.ReadLocalVersionReturn{HCIVersion: 0x0D, LMPVersion: 0x0D, CompanyID: 0x05F1, LMPSubversion: 0xFFFF}.Append(nil)},
		{"Read Local Supported Features", cmd0(hci.OpReadLocalSupportedFeatures),
			hci.ReadLocalSupportedFeaturesReturn{Features: 1<<hci.LMPFeatureBREDRNotSupported | 1<<hci.LMPFeatureLESupportedController}.Append(nil)},
		{"Read BD_ADDR", cmd0(hci.OpReadBDAddr), hci.ReadBDAddrReturn{Addr: addrA}.Append(nil)},
		{"LE Read Buffer Size [v1]", cmd0(hci.OpLEReadBufferSize),
			hci.LEReadBufferSizeReturn{ACLDataPacketLength: 251, TotalNumACLDataPackets: 8}.Append(nil)},
		{"LE Read Buffer Size [v2]", cmd0(hci.OpLEReadBufferSizeV2),
			hci.LEReadBufferSizeReturn{ACLDataPacketLength: 251, TotalNumACLDataPackets: 8}.AppendV2(nil)},
		{"LE Read Local Supported Features", cmd0(hci.OpLEReadLocalSupportedFeatures),
			hci.LEReadLocalSupportedFeaturesReturn{Features: 1<<hci.LEFeatureDataPacketLengthExtension | 1<<hci.LEFeature2MPHY}.Append(nil)},
		{"LE Read Maximum Data Length", cmd0(hci.OpLEReadMaximumDataLength),
			hci.LEReadMaximumDataLengthReturn{MaxTxOctets: 251, MaxTxTime: 2120, MaxRxOctets: 251, MaxRxTime: 2120}.Append(nil)},
		{"LE Read Suggested Default Data Length", cmd0(hci.OpLEReadSuggestedDefaultDataLength),
			hci.LEReadSuggestedDefaultDataLengthReturn{TxOctets: 27, TxTime: 328}.Append(nil)},
		{"LE Write Suggested Default Data Length", hci.LEWriteSuggestedDefaultDataLength{TxOctets: 251, TxTime: 2120}.AppendCommand(nil), st},
		{"LE Read Suggested Default Data Length again", cmd0(hci.OpLEReadSuggestedDefaultDataLength),
			hci.LEReadSuggestedDefaultDataLengthReturn{TxOctets: 251, TxTime: 2120}.Append(nil)},
		{"LE Set Default PHY", hci.LESetDefaultPHY{TxPHYs: hci.PHYMask2M, RxPHYs: hci.PHYMask2M}.AppendCommand(nil), st},
		{"LE Set Random Address", hci.LESetRandomAddress{Addr: hci.BDAddr{1, 2, 3, 4, 5, 0xC6}}.AppendCommand(nil), st},
		{"LE Set Scan Parameters", hci.LESetScanParameters{Type: hci.ScanActive, Interval: 0x60, Window: 0x30}.AppendCommand(nil), st},
		{"LE Set Advertising Parameters", hci.LESetAdvertisingParameters{IntervalMin: 0xA0, IntervalMax: 0xA0, ChannelMap: hci.AdvChannelAll}.AppendCommand(nil), st},
		{"Reset again", cmd0(hci.OpReset), st},
		{"LE Read Suggested Default Data Length after Reset", cmd0(hci.OpLEReadSuggestedDefaultDataLength),
			hci.LEReadSuggestedDefaultDataLengthReturn{TxOctets: 27, TxTime: 328}.Append(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, h.complete(tc.cmd)); diff != "" {
				t.Errorf("return parameters (-want +got):\n%s", diff)
			}
		})
	}

	rp, err := hci.ParseReadLocalSupportedCommandsReturn(h.ok(cmd0(hci.OpReadLocalSupportedCommands)))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range commands {
		if !rp.Supports(int(k.octet), int(k.bit)) {
			t.Errorf("Supported_Commands lacks %v (octet %d bit %d)", k.op, k.octet, k.bit)
		}
	}
	for _, absent := range [][2]int{{27, 6} /* LE Encrypt */, {26, 6} /* LE Read Filter Accept List Size */, {36, 2} /* LE Set Extended Advertising Parameters */} {
		if rp.Supports(absent[0], absent[1]) {
			t.Errorf("Supported_Commands has octet %d bit %d, a command the controller does not know", absent[0], absent[1])
		}
	}
}

// Unknown opcodes get Unknown HCI Command in a Command Status (as Zephyr's
// and Nordic's controllers answer) or, configured so, a Command Complete;
// bad parameters Invalid HCI Command Parameters; handles without a
// connection Unknown Connection Identifier, with the handle where the
// return parameters have one (§4.5); commands the state forbids Command
// Disallowed.
func TestCommandErrors(t *testing.T) {
	w := newWorld(t)
	h := attach(t, w, "a", Config{Addr: addrA})
	h.init(allLEEvents)
	vendor := hci.MakeOpcode(hci.OGFVendor, 0x0001)
	rfu := hci.MakeOpcode(0x3E, 0x0005)
	for _, op := range []hci.Opcode{vendor, rfu, hci.MakeOpcode(hci.OGFLEController, 0x0036) /* LE Set Extended Advertising Parameters */} {
		if st := h.status(cmdRaw(op, 1, 2, 3)); st != hci.StatusUnknownCommand {
			t.Errorf("%v: status %v, want Unknown HCI Command", op, st)
		}
	}
	if h.c.Stats().UnknownCommands != 3 {
		t.Errorf("Stats().UnknownCommands = %d, want 3", h.c.Stats().UnknownCommands)
	}

	h2 := attach(t, w, "b", Config{Addr: addrB, UnknownCommandComplete: true})
	if diff := cmp.Diff([]byte{byte(hci.StatusUnknownCommand)}, h2.complete(cmdRaw(vendor))); diff != "" {
		t.Errorf("unknown command, UnknownCommandComplete (-want +got):\n%s", diff)
	}

	bad := []byte{byte(hci.StatusInvalidCommandParameters)}
	for _, tc := range []struct {
		name string
		cmd  []byte
		want []byte
	}{
		{"advertising enable 2", cmdRaw(hci.OpLESetAdvertisingEnable, 2), bad},
		{"set event mask short", cmdRaw(hci.OpSetEventMask, 1, 2), bad},
		{"advertising interval too short", hci.LESetAdvertisingParameters{IntervalMin: 0x10, IntervalMax: 0x10, ChannelMap: hci.AdvChannelAll}.AppendCommand(nil), bad},
		{"advertising channel map 0", hci.LESetAdvertisingParameters{IntervalMin: 0x20, IntervalMax: 0x20}.AppendCommand(nil), bad},
		{"advertising data of 32", cmdRaw(hci.OpLESetAdvertisingData, append([]byte{32}, make([]byte, 32)...)...), bad},
		{"scan window over interval", hci.LESetScanParameters{Interval: 0x10, Window: 0x20}.AppendCommand(nil), bad},
		{"data length of 26", hci.LESetDataLength{Handle: 1, TxOctets: 26, TxTime: 328}.AppendCommand(nil), []byte{byte(hci.StatusInvalidCommandParameters), 1, 0}},
		{"data length on no connection", hci.LESetDataLength{Handle: 0x42, TxOctets: 251, TxTime: 2120}.AppendCommand(nil), []byte{byte(hci.StatusUnknownConnectionID), 0x42, 0}},
		{"read PHY on no connection", cmdRaw(hci.OpLEReadPHY, 0x42, 0), []byte{byte(hci.StatusUnknownConnectionID), 0x42, 0}},
		{"suggested default of 252", hci.LEWriteSuggestedDefaultDataLength{TxOctets: 252, TxTime: 2120}.AppendCommand(nil), bad},
		{"cancel with nothing to cancel", cmd0(hci.OpLECreateConnectionCancel), []byte{byte(hci.StatusCommandDisallowed)}},
	} {
		if diff := cmp.Diff(tc.want, h.complete(tc.cmd)); diff != "" {
			t.Errorf("%s: return parameters (-want +got):\n%s", tc.name, diff)
		}
	}
	// §7.8.9: advertising from the random address before it is set.
	h.ok(hci.LESetAdvertisingParameters{IntervalMin: 0x20, IntervalMax: 0x20, OwnAddrType: hci.AddrRandom, ChannelMap: hci.AdvChannelAll}.AppendCommand(nil))
	if rp := h.complete(hci.LESetAdvertisingEnable{Enable: true}.AppendCommand(nil)); rp[0] != byte(hci.StatusInvalidCommandParameters) {
		t.Errorf("advertising from an unset random address: %v", hci.Status(rp[0]))
	}
	h.ok(hci.LESetRandomAddress{Addr: hci.BDAddr{1, 2, 3, 4, 5, 0xC6}}.AppendCommand(nil))
	h.ok(hci.LESetAdvertisingEnable{Enable: true}.AppendCommand(nil))
	// §7.8.4, §7.8.5: not while advertising.
	for _, c := range [][]byte{
		hci.LESetRandomAddress{Addr: hci.BDAddr{9, 2, 3, 4, 5, 0xC6}}.AppendCommand(nil),
		hci.LESetAdvertisingParameters{IntervalMin: 0x20, IntervalMax: 0x20, ChannelMap: hci.AdvChannelAll}.AppendCommand(nil),
	} {
		if rp := h.complete(c); rp[0] != byte(hci.StatusCommandDisallowed) {
			t.Errorf("% x while advertising: %v, want Command Disallowed", c[:2], hci.Status(rp[0]))
		}
	}

	for _, tc := range []struct {
		name string
		cmd  []byte
		want hci.Status
	}{
		{"disconnect no connection", hci.Disconnect{Handle: 0x42, Reason: hci.StatusRemoteUserTerminated}.AppendCommand(nil), hci.StatusUnknownConnectionID},
		{"disconnect bad reason", hci.Disconnect{Handle: 0x42, Reason: hci.StatusConnectionTimeout}.AppendCommand(nil), hci.StatusInvalidCommandParameters},
		{"create connection timeout too short", hci.LECreateConnection{ScanInterval: 0x10, ScanWindow: 0x10, PeerAddr: addrB,
			ConnParams: hci.ConnParams{IntervalMin: 80, IntervalMax: 80, SupervisionTimeout: 10}}.AppendCommand(nil), hci.StatusInvalidCommandParameters},
		{"connection update no connection", hci.LEConnectionUpdate{Handle: 0x42, ConnParams: testConnParams}.AppendCommand(nil), hci.StatusUnknownConnectionID},
		{"set PHY no connection", hci.LESetPHY{Handle: 0x42, TxPHYs: hci.PHYMask2M, RxPHYs: hci.PHYMask2M}.AppendCommand(nil), hci.StatusUnknownConnectionID},
		{"set PHY nothing asked", hci.LESetPHY{Handle: 0x42}.AppendCommand(nil), hci.StatusInvalidCommandParameters},
		{"create connection short", cmdRaw(hci.OpLECreateConnection, 1, 2, 3), hci.StatusInvalidCommandParameters},
	} {
		if got := h.status(tc.cmd); got != tc.want {
			t.Errorf("%s: status %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A BR/EDR-only controller says so in its LMP features and knows no LE
// command; one without data length extension or LE 2M lacks the feature
// bits and their commands.
func TestFeatureVariants(t *testing.T) {
	w := newWorld(t)
	bredr := attach(t, nil, "bredr", Config{Addr: addrA, NoLE: true})
	f, err := hci.ParseReadLocalSupportedFeaturesReturn(bredr.ok(cmd0(hci.OpReadLocalSupportedFeatures)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Features.LESupported() || f.Features.Has(hci.LMPFeatureBREDRNotSupported) {
		t.Errorf("BR/EDR controller's features %#x claim LE", uint64(f.Features))
	}
	if st := bredr.status(cmd0(hci.OpLEReadBufferSize)); st != hci.StatusUnknownCommand {
		t.Errorf("LE Read Buffer Size on BR/EDR: %v, want Unknown HCI Command", st)
	}
	if bredr.c.Device() != nil {
		t.Error("a BR/EDR controller is in the LE world")
	}

	old := attach(t, w, "4.0", Config{Addr: addrB, MaxDataLength: 27, No2M: true})
	lf, err := hci.ParseLEReadLocalSupportedFeaturesReturn(old.ok(cmd0(hci.OpLEReadLocalSupportedFeatures)))
	if err != nil {
		t.Fatal(err)
	}
	if lf.Features != 0 {
		t.Errorf("LE features %#x, want none", uint64(lf.Features))
	}
	for _, op := range []hci.Opcode{hci.OpLESetDataLength, hci.OpLEReadMaximumDataLength, hci.OpLESetPHY, hci.OpLEReadPHY} {
		if st := old.status(cmdRaw(op)); st != hci.StatusUnknownCommand {
			t.Errorf("%v without the feature: %v, want Unknown HCI Command", op, st)
		}
	}

	if _, err := New(w, Config{Addr: addrA, ACLBuffers: 300}); err == nil {
		t.Error("300 ACL buffers accepted")
	}
	if _, err := New(w, Config{Addr: addrA, Firmware: "bluez"}); err == nil {
		t.Error("firmware \"bluez\" accepted")
	}
	n, err := New(nil, Config{Addr: addrA, NoLE: true, Firmware: "0x0059:0x1234"})
	if err != nil || n.version.CompanyID != 0x0059 || n.version.LMPSubversion != 0x1234 {
		t.Errorf("firmware 0x0059:0x1234: %+v, %v", n.version, err)
	}
}

// An octet that is no H4 packet indicator ends Serve: the stream cannot
// be resynchronised (Vol 4 Part A §2). SCO packets are skipped. Serve can
// be called again, and the controller keeps its state; two Serves at once
// are refused.
func TestServeLifecycle(t *testing.T) {
	w := newWorld(t)
	h := attach(t, w, "a", Config{Addr: addrA})
	h.ok(hci.LESetRandomAddress{Addr: hci.BDAddr{1, 2, 3, 4, 5, 0xC6}}.AppendCommand(nil))
	h.write([]byte{byte(hci.PacketSCO), 0x01, 0x00, 0x02, 0xAA, 0xBB})
	h.ok(cmd0(hci.OpReadBDAddr))
	if h.c.Stats().Unsupported != 1 {
		t.Errorf("Stats().Unsupported = %d, want 1", h.c.Stats().Unsupported)
	}
	if err := h.c.Serve(context.Background(), nil); !errors.Is(err, ErrServing) {
		t.Errorf("second Serve: %v, want ErrServing", err)
	}

	h.write([]byte{0x07})
	select {
	case err := <-h.served:
		if !errors.Is(err, hci.ErrBadIndicator) {
			t.Fatalf("Serve after a bad indicator: %v, want ErrBadIndicator", err)
		}
	case <-h.in:
		t.Fatal("the controller answered a bad indicator")
	}
	h.end.Close()

	h.serve() // the host reopens the port
	h.ok(hci.LESetScanParameters{Interval: 0x10, Window: 0x10, OwnAddrType: hci.AddrRandom}.AppendCommand(nil))
	h.ok(hci.LESetScanEnable{Enable: true}.AppendCommand(nil)) // the random address survived
	h.ok(hci.LESetScanEnable{}.AppendCommand(nil))

	// A host that hangs up ends Serve with the error.
	if err := h.unplug(); err == nil {
		t.Error("Serve returned nil after the host hung up")
	}
	h.serve()

	// Serve returns nil when its context ends.
	idle, err := New(nil, Config{NoLE: true})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, _ := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := idle.Serve(ctx, ctrl); err != nil {
		t.Errorf("Serve with an ended context: %v", err)
	}
}

// The controller on a real PTY, opened as the daemon opens a dongle.
func TestEmbeddedPTY(t *testing.T) {
	if _, _, err := transport.OpenPTY(); err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	w := newWorld(t)
	e, err := StartController(context.Background(), w, "br", Config{Addr: addrA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	u, err := transport.ParseHCIURL(e.URL())
	if err != nil {
		t.Fatal(err)
	}
	// The daemon opens the port, runs its commands, closes it and opens it
	// again (a restart): the controller waits for it meanwhile.
	for range 2 {
		port, err := transport.OpenHCI(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		r := hci.NewH4Reader(port, 0)
		for _, cmd := range [][]byte{cmd0(hci.OpReset), cmd0(hci.OpReadBDAddr)} {
			if _, err := port.Write(append([]byte{byte(hci.PacketCommand)}, cmd...)); err != nil {
				t.Fatal(err)
			}
			typ, p, err := r.ReadPacket()
			if err != nil || typ != hci.PacketEvent {
				t.Fatalf("read %v %v", typ, err)
			}
			ev, _ := hci.ParseEvent(p)
			cc, err := hci.ParseCommandComplete(ev)
			if err != nil || cc.Err() != nil {
				t.Fatalf("answer % x: %v", p, err)
			}
			if cc.Opcode == hci.OpReadBDAddr {
				if a, _ := hci.ParseReadBDAddrReturn(cc.ReturnParameters); a.Addr != addrA {
					t.Errorf("BD_ADDR %v, want %v", a.Addr, addrA)
				}
			}
		}
		port.Close()
	}
}
