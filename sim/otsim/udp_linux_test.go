//go:build linux

package otsim

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// testPortBaseUDP picks a port base away from OpenThread's default 9000 and
// from other test processes, so simulations running beside the tests do
// not hear them.
func testPortBaseUDP() int { return 20000 + os.Getpid()%1000*(MaxNodeID+1) }

// multicastWorks reports whether a datagram sent to the group on loopback
// comes back to the sender's own receive socket (some sandboxes have no
// multicast on lo).
func multicastWorks(t *testing.T, lk link) bool {
	t.Helper()
	if err := lk.WriteDatagram(AppendDatagram(nil, 11, []byte{1, 2, 3, 4})); err != nil {
		t.Logf("send to the group: %v", err)
		return false
	}
	got := make(chan bool, 1)
	go func() {
		buf := make([]byte, 256)
		_, _, err := lk.ReadDatagram(buf)
		got <- err == nil
	}()
	select {
	case ok := <-got:
		return ok
	case <-time.After(500 * time.Millisecond):
		return false
	}
}

// The real sockets: a node on OpenThread's UDP medium (here our own link
// under id 1, playing ot-rcp) and the bridge exchange frames, each
// recognising the other by source port.
func TestUDPLink(t *testing.T) {
	base := testPortBaseUDP()
	ctx := context.Background()
	rcp, err := openLink(ctx, base, 1)
	if err != nil {
		t.Fatalf("openLink: %v", err)
	}
	defer rcp.Close()
	if !multicastWorks(t, rcp) {
		t.Skip("multicast to 224.0.0.116 on 127.0.0.1 does not loop back here; OpenThread's simulation cannot run either")
	}
	m := startMedium(t, 0)
	b, err := Start(ctx, Config{NodeID: 1, Medium: m, Channel: testChannel, PANID: testPAN, PortBase: base})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	peer := attachPeer(t, m)

	// "ot-rcp" → medium.
	psdu := frame(t, 9, testPAN, bcast, ext(EUI64(1)), false, "over-udp")
	if err := rcp.WriteDatagram(AppendDatagram(nil, testChannel, psdu)); err != nil {
		t.Fatal(err)
	}
	if rec := receive(t, peer); !bytes.Equal(rec.PSDU, psdu) {
		t.Fatalf("peer got %x, want %x", rec.PSDU, psdu)
	}

	// medium → "ot-rcp", from the bridge's port.
	up := frame(t, 10, testPAN, bcast, ext(peerExt), false, "back")
	if _, err := peer.Transmit(ctx, up, medium.TxOptions{}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	rcp.(*udpLink).rx.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, port, err := rcp.ReadDatagram(buf)
		if err != nil {
			t.Fatalf("nothing from the bridge's port: %v", err)
		}
		if int(port)-base != MaxNodeID {
			continue // our own datagrams, looped back
		}
		ch, got, err := ParseDatagram(buf[:n])
		if err != nil || ch != testChannel || !bytes.Equal(got, up) {
			t.Fatalf("datagram from the bridge: %d %x %v, want %d %x", ch, got, err, testChannel, up)
		}
		return
	}
}
