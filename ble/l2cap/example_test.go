package l2cap_test

import (
	"fmt"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/l2cap"
)

// A host opens the IPSP channel on a new LE connection, sends an IPv6
// packet and receives one. The peer here is another Signaling; a real host
// passes the PDUs through HCI ACL packets instead.
func Example() {
	now := time.Now()
	host, _ := l2cap.NewSignaling(l2cap.SignalingConfig{Role: l2cap.RoleCentral})
	node, _ := l2cap.NewSignaling(l2cap.SignalingConfig{Role: l2cap.RolePeripheral,
		Channel: l2cap.ChannelConfig{MPS: 100}})

	// toNode and toHost carry PDUs over the "ACL link"; the Delivery is
	// reused for every PDU.
	var hd, nd l2cap.Delivery
	var toHost [][]byte
	toNode := func(pdu []byte) {
		if err := node.Dispatch(now, pdu, &nd); err != nil {
			fmt.Println("node:", err)
		}
		for _, e := range nd.Events {
			fmt.Println("node:", e.Kind)
		}
		if nd.SDU != nil {
			fmt.Printf("node: SDU of %d octets\n", len(nd.SDU))
		}
		for _, r := range nd.Replies {
			toHost = append(toHost, append([]byte(nil), r...))
		}
	}
	deliver := func() {
		for len(toHost) > 0 {
			pdu := toHost[0]
			toHost = toHost[1:]
			if err := host.Dispatch(now, pdu, &hd); err != nil {
				fmt.Println("host:", err)
			}
			for _, e := range hd.Events {
				fmt.Println("host:", e.Kind)
			}
			for _, r := range hd.Replies {
				toNode(r)
			}
		}
	}

	ch, req, _ := host.Connect(now, l2cap.PSMIPSP)
	toNode(req)
	deliver()
	fmt.Println(ch, "remote MPS", ch.RemoteMPS())

	packet := make([]byte, 1280) // one IPv6 packet, RFC 7668 form
	sent, err := ch.Send(packet, func(kframe []byte) error { toNode(kframe); return nil })
	fmt.Println("K-frames:", sent, err)
	deliver() // the node's credit return
	fmt.Println("credits:", ch.Credits())
	// Output:
	// node: channel opened
	// host: channel opened
	// L2CAP IPSP channel 0x0040↔0x0040 (open) remote MPS 100
	// node: SDU of 1280 octets
	// K-frames: 13 <nil>
	// host: credits
	// credits: 26
}
