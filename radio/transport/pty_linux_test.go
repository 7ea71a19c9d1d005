//go:build linux

package transport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestForkPTYCatRaw(t *testing.T) {
	checkGoroutines(t)
	c, err := ForkPTY(context.Background(), "/bin/cat", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The bytes a cooked terminal would eat or rewrite come first: HDLC
	// flag and escape, CR, LF, ^C, ^Z, ^D, ^\, ^U, ^V, ^W, XON, XOFF, DEL.
	data := []byte{0x7E, 0x0D, 0x0A, 0x03, 0x1A, 0x04, 0x1C, 0x15, 0x16, 0x17, 0x11, 0x13, 0x7F, 0x7D, 0x0D, 0x0A}
	data = append(data, allBytes()...)
	go func() {
		// Write in pieces, as HDLC frames would go out.
		for b := data; len(b) > 0; {
			n := min(len(b), 37)
			if _, err := c.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	}()
	readFull(t, c, data)
	if c.Err() != nil {
		t.Errorf("Err while running: %v", c.Err())
	}
}

func TestForkPTYExitStatus(t *testing.T) {
	checkGoroutines(t)
	c, err := ForkPTY(context.Background(), "/bin/sh", []string{"-c", "exit 3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("child did not finish")
	}
	var ee *exec.ExitError
	if err := c.Err(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Err = %v; want exit status 3", err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = c.Read(make([]byte, 16))
	if !errors.Is(err, ErrDisconnected) || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Read after exit: %v; want ErrDisconnected naming exit status 3", err)
	}
	t.Log(err)
}

func TestForkPTYCloseKills(t *testing.T) {
	checkGoroutines(t)
	c, err := ForkPTY(context.Background(), "sleep", []string{"100"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	readErr := make(chan error)
	go func() {
		_, err := c.Read(make([]byte, 8))
		readErr <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Close returned before the child was reaped")
	}
	if c.Err() == nil {
		t.Error("Err = nil after the child was killed")
	}
	t.Logf("pid %d: %v", pid, c.Err())
	select {
	case err := <-readErr:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Read after Close: %v; want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not wake Read")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestForkPTYContextCancel(t *testing.T) {
	checkGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := ForkPTY(ctx, "/bin/sleep", []string{"100"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling ctx did not end the child")
	}
}

func TestForkPTYStderrLogged(t *testing.T) {
	checkGoroutines(t)
	var buf lockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	c, err := ForkPTY(context.Background(), "/bin/sh", []string{"-c", "echo rcp-says-hello >&2; exec cat"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	readFull(t, c, []byte("ping")) // stderr did not land on the PTY
	c.Close()
	if !strings.Contains(buf.String(), "rcp-says-hello") {
		t.Errorf("stderr line not logged; log:\n%s", buf.String())
	}
}

func TestForkPTYMissingProgram(t *testing.T) {
	checkGoroutines(t)
	if _, err := ForkPTY(context.Background(), "/nonexistent/ot-rcp", nil, nil); err == nil {
		t.Fatal("ForkPTY of a missing program succeeded")
	}
}

func TestOpenForkPTY(t *testing.T) {
	checkGoroutines(t)
	u, err := ParseURL("spinel+hdlc+forkpty:///bin/cat")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := Open(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.Stream == nil || conn.Frames != nil {
		t.Fatalf("Open gave %+v; want a Stream only", conn)
	}
	if _, err := conn.Stream.Write([]byte{0x7E, 0x81, 0x7E}); err != nil {
		t.Fatal(err)
	}
	readFull(t, conn.Stream, []byte{0x7E, 0x81, 0x7E})
}

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
