package medium_test

import (
	"context"
	"fmt"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := medium.New(medium.Config{Seed: 1}) // TimeScale 0: as fast as possible
	go m.Run(ctx)

	a, _ := m.Attach(medium.NodeConfig{Name: "a", PANID: 0xabcd, ShortAddr: 1, Channel: 26, RxOnWhenIdle: true})
	b, _ := m.Attach(medium.NodeConfig{Name: "b", PANID: 0xabcd, ShortAddr: 2, Channel: 26, RxOnWhenIdle: true})
	m.SetLink(a, b, medium.Link{RSSI: -60})

	h := ieee802154.Header{
		Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true, Seq: 1,
		DstPAN: 0xabcd, SrcPAN: 0xabcd, Dst: ieee802154.ShortAddress(2), Src: ieee802154.ShortAddress(1),
	}
	psdu, _ := ieee802154.AppendFrame(nil, &h, make([]byte, 116), true) // 127 octets

	// Without CSMA-CA: 4256 µs of frame, 192 µs turnaround, 352 µs ACK.
	res, err := a.Transmit(ctx, psdu, medium.TxOptions{DisableCSMA: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := <-b.Receive()
	fmt.Println(len(psdu), "octets:", res.Status, "after", res.End-res.Start)
	fmt.Println("b: RSSI", rec.RSSI, "LQI", rec.LQI, "on air", rec.End-rec.Start)
	// Output:
	// 127 octets: acked after 4.8ms
	// b: RSSI -60 LQI 127 on air 4.256ms
}
