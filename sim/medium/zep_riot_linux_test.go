package medium

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ieee802154"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// EnvRIOTMaxRetx optionally sets the
// highest retransmission rate TestRIOTNodeOnHub accepts (default 0.05,
// issue 11's target; 0.2 under the race detector, which slows the hub
// enough for RIOT to miss some ACKs: 9–14 % measured on 2 cores, against
// 1–3 % without it).
const EnvRIOTMaxRetx = "LOWPANBR_RIOT_MAX_RETX"

// lockedBuffer collects a process's output for the test log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// linkLocal is fe80:: with the IID of an EUI-64 (universal/local bit
// inverted, RFC 4944 §6).
func linkLocal(eui ieee802154.ExtAddr) [16]byte {
	a := [16]byte{0xfe, 0x80}
	copy(a[8:], eui[:])
	a[8] ^= 0x02
	return a
}

// echoRequestFrame builds an 802.15.4 data frame with AR from src to dst
// carrying an ICMPv6 echo request between their link-local addresses,
// IPHC-compressed (RFC 6282: both addresses elided, derived from the MAC
// header; next header inline; hop limit 255).
func echoRequestFrame(t testing.TB, seq uint8, src, dst ieee802154.ExtAddr, id, n uint16) []byte {
	t.Helper()
	icmp := []byte{128, 0, 0, 0, byte(id >> 8), byte(id), byte(n >> 8), byte(n)}
	for i := range 32 {
		icmp = append(icmp, byte(i))
	}
	s, d := linkLocal(src), linkLocal(dst)
	// RFC 8200 §8.1 pseudo-header: source, destination, length, next header.
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(s[:])
	add(d[:])
	add([]byte{0, 0, byte(len(icmp) >> 8), byte(len(icmp)), 0, 0, 0, 58})
	add(icmp)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(icmp[2:], ^uint16(sum))
	payload := append([]byte{0x7b, 0x33, 58}, icmp...)
	h := ieee802154.Header{
		Type: ieee802154.FrameData, Version: ieee802154.Version2006, AckRequest: true, Seq: seq,
		DstPAN: riotPAN, SrcPAN: riotPAN, Dst: ieee802154.ExtAddress(dst), Src: ieee802154.ExtAddress(src),
	}
	b, err := ieee802154.AppendFrame(nil, &h, payload, true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startRIOT runs a real RIOT 6LN with EUI-64 eui on hub until the test
// ends, and returns a function that kills it (and its forked children).
func startRIOT(t *testing.T, elf string, hub *net.UDPConn, eui string) (kill func()) {
	t.Helper()
	// RIOT binds its own port and connect()s it to the hub.
	l, err := net.ListenUDP("udp4", loopback)
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, elf, "-z", fmt.Sprintf("127.0.0.1:%d,%s", port, hub.LocalAddr()), "-U", eui)
	// RIOT native forks a child per asynchronously read descriptor
	// (cpu/native/async_read.c _sigio_child) that outlives a killed
	// parent: give them a process group of their own and kill that.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			stdin.Close()
			cancel()
			cmd.Wait()
			if t.Failed() {
				t.Logf("RIOT's output:\n%s", out.String())
			}
		})
	}
	t.Cleanup(kill)
	return kill
}

// awaitFrom waits up to d for a frame from extended address src at n.
func awaitFrom(t *testing.T, n *Node, src ieee802154.ExtAddr, d time.Duration) bool {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case r := <-n.Receive():
			var fr ieee802154.Frame
			if fr.Decode(r.PSDU, true) == nil && fr.Src.Ext == src && fr.Type == ieee802154.FrameData {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// TestRIOTNodeRestartOnHub kills a real RIOT node and starts it again with
// the same EUI-64 on a new port: the hub forgets the dead process (its
// port refuses the hub's next datagram, or the new one speaks with its
// EUI-64) and the new one answers pings, with one peer attached.
func TestRIOTNodeRestartOnHub(t *testing.T) {
	elf := oracle.RIOT6LN(t)
	m := startRealTime(t, Config{Seed: 1})
	br := riotBR(t, m)
	hub := serveHub(t, m, ZEPConfig{})
	node, me := mustExt(t, riotNodeEUI), mustExt(t, riotRouteEUI)

	kill := startRIOT(t, elf, hub, riotNodeEUI)
	if !awaitFrom(t, br, node, 15*time.Second) {
		t.Fatal("no frame from RIOT in 15 s")
	}
	kill()
	startRIOT(t, elf, hub, riotNodeEUI)
	if !awaitFrom(t, br, node, 15*time.Second) {
		t.Fatal("no frame from the restarted RIOT in 15 s")
	}
	replies := 0
	for i := range 10 {
		drain(br)
		mustTransmit(t, br, echoRequestFrame(t, uint8(i), me, node, 0x4c43, uint16(i)), TxOptions{})
		if awaitFrom(t, br, node, time.Second) {
			replies++
		}
	}
	peers := 0
	for _, n := range m.Nodes() {
		if strings.HasPrefix(n.String(), "zep ") {
			peers++
		}
	}
	s := m.Stats()
	t.Logf("restarted RIOT: %d of 10 pings answered; %d peer(s) attached, %d forgotten", replies, peers, s.ZEPPeersGone)
	if replies < 9 {
		t.Errorf("%d of 10 pings answered by the restarted node, want 9", replies)
	}
	if peers != 1 || s.ZEPPeersGone != 1 {
		t.Errorf("%d peers attached, %d forgotten; want 1 and 1", peers, s.ZEPPeersGone)
	}
}

// TestRIOTNodeOnHub puts a real RIOT 6LN on a hub and talks to it from a
// medium node: echo requests with AR to its link-local address, each
// acknowledged once, by RIOT itself; its echo replies, acknowledged by the
// medium node in time; and RIOT's retransmission rate (the same frame sent
// again after macAckWaitDuration without an ACK) over all its frames.
func TestRIOTNodeOnHub(t *testing.T) {
	elf := oracle.RIOT6LN(t)
	maxRetx := 0.05
	if raceEnabled {
		maxRetx = 0.2
	}
	if v := os.Getenv(EnvRIOTMaxRetx); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s: %v", EnvRIOTMaxRetx, err)
		}
		maxRetx = f
	}
	m := startRealTime(t, Config{Seed: 1})
	br := riotBR(t, m)
	sniff := riotSniffer(t, m)
	hub := serveHub(t, m, ZEPConfig{})

	startRIOT(t, elf, hub, riotNodeEUI)

	node, me := mustExt(t, riotNodeEUI), mustExt(t, riotRouteEUI)
	// RIOT's first frame (its RS, after up to 1 s) attaches it to the hub.
	deadline := time.After(15 * time.Second)
	for joined := false; !joined; {
		select {
		case r := <-br.Receive():
			var fr ieee802154.Frame
			joined = fr.Decode(r.PSDU, true) == nil && fr.Src.Ext == node
		case <-deadline:
			t.Fatal("no frame from RIOT in 15 s")
		}
	}

	const pings = 100
	var acked, firstTime, replies, extraAcks int
	var heard []Reception
	for i := range pings {
		seq := uint8(100 + i)
		drain(br)
		res := mustTransmit(t, br, echoRequestFrame(t, seq, me, node, 0x4c42, uint16(i)), TxOptions{})
		if res.Status == TxAcked {
			acked++
			if res.Attempts == 1 {
				firstTime++
			}
		}
		// The echo reply, from RIOT to us, with AR: acknowledged by br.
		wait := time.After(time.Second)
	reply:
		for {
			select {
			case r := <-br.Receive():
				var fr ieee802154.Frame
				if fr.Decode(r.PSDU, true) == nil && fr.Src.Ext == node && fr.Type == ieee802154.FrameData {
					replies++
					break reply
				}
			case <-wait:
				break reply
			}
		}
		time.Sleep(20 * time.Millisecond)
		// ACKs with our sequence number on the air during our transmission
		// and shortly after: no more than one per attempt (RIOT's; the hub
		// adds none). RIOT's own sequence numbers start elsewhere.
		var n int
		got := drain(sniff)
		heard = append(heard, got...)
		for _, r := range got {
			if len(r.PSDU) == AckPSDULen && r.PSDU[2] == seq && r.Start >= res.Start && r.Start <= res.End+10*time.Millisecond {
				n++
			}
		}
		if n > res.Attempts {
			extraAcks++
		}
	}

	// RIOT's retransmissions, seen by the sniffer: the same PSDU from RIOT
	// again.
	time.Sleep(50 * time.Millisecond)
	stats := m.Stats()
	t.Logf("%d echo requests: %d acknowledged by RIOT (%d at the first attempt), %d replies; medium: %d frames, %d ACKs by medium nodes",
		pings, acked, firstTime, replies, stats.Frames, stats.Acks)
	if extraAcks > 0 {
		t.Errorf("%d transmissions to RIOT drew more ACKs than attempts", extraAcks)
	}
	if acked < pings*9/10 || replies < pings*9/10 {
		t.Errorf("%d of %d echo requests acknowledged, %d replies; want 90 %%", acked, pings, replies)
	}
	heard = append(heard, drain(sniff)...)
	var frames, retx int
	var last []byte
	for _, r := range heard {
		var fr ieee802154.Frame
		if fr.Decode(r.PSDU, true) != nil || fr.Type == ieee802154.FrameAck || fr.Src.Ext != node {
			continue
		}
		if bytes.Equal(r.PSDU, last) {
			retx++
		} else {
			frames++
		}
		last = r.PSDU
	}
	rate := float64(retx) / float64(max(frames, 1))
	t.Logf("RIOT sent %d frames and %d retransmissions: %.1f %%", frames, retx, 100*rate)
	if rate > maxRetx {
		t.Errorf("RIOT retransmitted %.1f %% of its frames, want at most %.0f %% (%s)", 100*rate, 100*maxRetx, EnvRIOTMaxRetx)
	}
}
