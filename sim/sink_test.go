package sim

import (
	"testing"
	"time"
)

// A node counts the unicast UDP datagrams addressed to it and their
// payload octets, on every port (the echo port included, which answers as
// well); another node counts nothing of them. Datagrams to one node leave
// the border router's queue in order, so once the echo's answer is back
// every datagram sent before it has been counted.
func TestNodeCountsUDP(t *testing.T) {
	b := startBR(t, MeshConfig{Topology: Star, Nodes: 2, Seed: 3})
	n1, n2 := b.mesh.Nodes()[0], b.mesh.Nodes()[1]
	dst := n1.State().Global
	sizes := []struct {
		port uint16
		n    int
	}{
		{9, 1232}, // the largest that fits an IPv6 minimum MTU: fragmented
		{5683, 80},
		{9, 0},
	}
	var wantOctets uint64
	for _, s := range sizes {
		b.tun.in <- udpDatagram(lanHost, dst, s.port, make([]byte, s.n))
		wantOctets += uint64(s.n)
	}
	echo := make([]byte, 100)
	if p := b.exchange(t, udpDatagram(lanHost, dst, UDPEchoPort, echo)); len(p) != 48+len(echo) || p[6] != 17 {
		t.Fatalf("UDP echo: % x", p[:min(len(p), 48)])
	}
	wantOctets += uint64(len(echo))
	wantPackets := uint64(len(sizes) + 1)

	deadline := time.Now().Add(5 * time.Second)
	for {
		st := n1.State()
		if st.UDPReceived == wantPackets && st.UDPOctets == wantOctets {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1 counted %d datagrams, %d octets; want %d, %d", st.UDPReceived, st.UDPOctets, wantPackets, wantOctets)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := n2.State(); st.UDPReceived != 0 || st.UDPOctets != 0 {
		t.Errorf("n2 counted %d datagrams, %d octets of n1's", st.UDPReceived, st.UDPOctets)
	}
}
