package hci_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/lowpanbr/lowpanbr/ble/hci"
)

// A host reads what the controller sends and dispatches on the packet
// type and event code.
func ExampleH4Reader() {
	// What a controller might send after Reset and LE Read Buffer Size.
	var stream []byte
	stream, _ = hci.AppendH4Event(stream, hci.EventCommandComplete, []byte{0x01, 0x03, 0x0c, 0x00})
	rp := hci.LEReadBufferSizeReturn{ACLDataPacketLength: 251, TotalNumACLDataPackets: 8}.Append(nil)
	cc, _ := hci.AppendCommandComplete(nil, 1, hci.OpLEReadBufferSize, rp)
	stream = hci.AppendH4(stream, hci.PacketEvent, cc)

	r := hci.NewH4Reader(bytes.NewReader(stream), 0)
	for {
		typ, pkt, err := r.ReadPacket()
		if err != nil {
			break // io.EOF here
		}
		if typ != hci.PacketEvent {
			continue
		}
		e, err := hci.ParseEvent(pkt)
		if err != nil || e.Code() != hci.EventCommandComplete {
			continue
		}
		cc, _ := hci.ParseCommandComplete(e)
		switch cc.Opcode {
		case hci.OpLEReadBufferSize:
			bs, err := hci.ParseLEReadBufferSizeReturn(cc.ReturnParameters)
			fmt.Println(cc.Opcode, bs.ACLDataPacketLength, bs.TotalNumACLDataPackets, err)
		default:
			fmt.Println(cc.Opcode, cc.Err())
		}
	}
	// Output:
	// Reset <nil>
	// LE Read Buffer Size [v1] 251 8 <nil>
}

// A failed command is a *StatusError.
func ExampleStatusError() {
	e, _ := hci.ParseEvent(hci.CommandStatus{Status: hci.StatusCommandDisallowed, NumHCICommandPackets: 1, Opcode: hci.OpLECreateConnection}.Append(nil))
	cs, _ := hci.ParseCommandStatus(e)
	err := fmt.Errorf("connecting: %w", cs.Err())
	var se *hci.StatusError
	if errors.As(err, &se) && se.Status == hci.StatusCommandDisallowed {
		fmt.Println(err)
	}
	// Output:
	// connecting: hci: LE Create Connection: Command Disallowed (0x0c)
}

// An L2CAP PDU goes to the controller in ACL packets no longer than its
// buffers, and comes back together on the other side.
func ExampleFragmentL2CAP() {
	pdu := append([]byte{0x10, 0x00, 0x40, 0x00}, bytes.Repeat([]byte{0xAB}, 16)...) // 16 octets on CID 0x0040
	r := hci.NewACLReassembler(0, 0)
	scratch := make([]byte, 0, hci.ACLHeaderLen+8)
	hci.FragmentL2CAP(scratch, pdu, 0x0047, 8, func(pkt []byte) error {
		a, _ := hci.ParseACL(pkt)
		fmt.Printf("handle 0x%04x %v: %d octets\n", a.Handle(), a.PB(), len(a.Data()))
		got, err := r.Feed(a)
		if got != nil {
			fmt.Println("reassembled:", bytes.Equal(got, pdu), err)
		}
		return nil
	})
	// Output:
	// handle 0x0047 first non-flushable: 8 octets
	// handle 0x0047 continuing: 8 octets
	// handle 0x0047 continuing: 4 octets
	// reassembled: true <nil>
}

// An IPSP node advertises the Internet Protocol Support Service.
func ExampleADHasUUID16() {
	ad := hci.AppendADFlags(nil, hci.ADFlagLEGeneralDiscoverable|hci.ADFlagBREDRNotSupported)
	ad, _ = hci.AppendADUUID16s(ad, hci.UUIDInternetProtocolSupport)
	ad, _ = hci.AppendADName(ad, "node-1")
	cmd, _ := hci.MakeAdvertisingData(ad)
	fmt.Printf("% x\n", hci.LESetAdvertisingData{AdvertisingData: cmd}.AppendCommand(nil)[:4+len(ad)])
	fmt.Println(hci.ADHasUUID16(ad, hci.UUIDInternetProtocolSupport))
	// Output:
	// 08 20 20 0f 02 01 06 03 03 20 18 07 09 6e 6f 64 65 2d 31
	// true
}
