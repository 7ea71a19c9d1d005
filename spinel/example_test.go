package spinel_test

import (
	"fmt"

	"github.com/lowpanbr/lowpanbr/spinel"
)

// A request as it goes down a UART: GET PROTOCOL_VERSION with TID 1,
// HDLC-lite framed.
func ExampleAppendFrame() {
	f := spinel.Frame{TID: 1, Command: spinel.CmdPropValueGet, Prop: spinel.PropProtocolVersion}
	frame := spinel.AppendFrame(nil, &f)
	fmt.Printf("frame % x\n", frame)
	fmt.Printf("wire  % x\n", spinel.AppendHDLC(nil, frame))
	// Output:
	// frame 81 02 01
	// wire  7e 81 02 01 c5 b2 7e
}

// A transmit-done as an OpenThread RCP sends it when no ACK came: IS
// LAST_STATUS under the transmit's TID, status NO_ACK.
func ExampleTxDone_Decode() {
	var f spinel.Frame
	if err := f.Decode([]byte{0x83, 0x06, 0x00, 0x11, 0x00, 0x00}); err != nil {
		panic(err)
	}
	var d spinel.TxDone
	if err := d.Decode(f.Value); err != nil {
		panic(err)
	}
	fmt.Println(f.TID, f.Command, f.Prop, d.Status.String(), d.HasAck)
	// Output: 3 PROP_VALUE_IS LAST_STATUS NO_ACK false
}

// Reading a received frame's metadata.
func ExampleRxFrame_Decode() {
	value := spinel.AppendRxFrame(nil, &spinel.RxFrame{
		PSDU: []byte{0x02, 0x00, 0x2a, 0x00, 0x00}, RSSI: -70, NoiseFloor: spinel.NoiseFloorUnknown,
		Channel: 15, LQI: 180, Timestamp: 123456,
	})
	var rx spinel.RxFrame
	if err := rx.Decode(value); err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes on channel %d, %d dBm, LQI %d\n", len(rx.PSDU), rx.Channel, rx.RSSI, rx.LQI)
	// Output: 5 bytes on channel 15, -70 dBm, LQI 180
}
