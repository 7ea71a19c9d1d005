//go:build linux

package faultline

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio/transport"
)

// The border router's end is a PTY it opens as a UART; octets go through
// both ways, and it can close and reopen the port without stopping the
// proxy.
func TestPTYHostEnd(t *testing.T) {
	rcpProxy, rcpEnd := net.Pipe()
	p, err := NewPTY(rcpProxy, Config{Seed: 1})
	if err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	defer p.Close()
	defer rcpEnd.Close()
	for round := range 2 {
		port, err := transport.OpenUART(p.HostPath(), transport.DefaultUARTConfig())
		if err != nil {
			t.Fatal(err)
		}
		up := []byte{0x7e, 0x81, 0x02, 0x01, 0x7e, byte(round)}
		if _, err := port.Write(up); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		rcpEnd.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(rcpEnd, buf[:len(up)]); err != nil || !bytes.Equal(buf[:len(up)], up) {
			t.Fatalf("round %d: RCP got % x, %v", round, buf[:len(up)], err)
		}
		down := []byte{0x7e, 0x81, 0x06, 0x01, 0x04, 0x03, 0x7e, 0x11, 0x13, 0x0a, 0x0d, 0x03}
		go rcpEnd.Write(down)
		got := make([]byte, 0, len(down))
		deadline := time.Now().Add(2 * time.Second)
		for len(got) < len(down) && time.Now().Before(deadline) {
			port.SetReadDeadline(deadline)
			n, err := port.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got, down) {
			t.Fatalf("round %d: host got % x, want % x (line discipline in the way?)", round, got, down)
		}
		port.Close()
	}
	select {
	case <-p.Done():
		t.Fatalf("proxy stopped: %v", p.Err())
	default:
	}
}
