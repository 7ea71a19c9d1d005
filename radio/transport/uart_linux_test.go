//go:build linux

package transport

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTYPort opens a PTY pair and OpenUART on its slave: the master plays
// the RCP.
func openPTYPort(t *testing.T, cfg UARTConfig) (master *os.File, p *Port) {
	t.Helper()
	master, slave, err := OpenPTY()
	if err != nil {
		t.Fatalf("OpenPTY: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	p, err = OpenUART(slave, cfg)
	if err != nil {
		t.Fatalf("OpenUART(%s): %v", slave, err)
	}
	t.Cleanup(func() { p.Close() })
	return master, p
}

func portTermios(t *testing.T, p *Port) *unix.Termios {
	t.Helper()
	rc, err := p.f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var tio *unix.Termios
	var ioErr error
	if err := rc.Control(func(fd uintptr) { tio, ioErr = unix.IoctlGetTermios(int(fd), reqGetTermios2) }); err != nil {
		t.Fatal(err)
	}
	if ioErr != nil {
		t.Fatalf("TCGETS2: %v", ioErr)
	}
	return tio
}

// readFull reads len(want) bytes from r within a few seconds and compares.
func readFull(t *testing.T, r interface {
	io.Reader
	SetReadDeadline(time.Time) error
}, want []byte) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer r.SetReadDeadline(time.Time{})
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read % x\nwant % x", got, want)
	}
}

func allBytes() []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestUARTOverPTY(t *testing.T) {
	checkGoroutines(t)
	for _, baud := range []int{115200, 1000000} {
		t.Run("", func(t *testing.T) {
			master, p := openPTYPort(t, UARTConfig{Baud: baud, FlowControl: true, StopBits: 1})
			tio := portTermios(t, p)
			if tio.Ospeed != uint32(baud) || tio.Ispeed != uint32(baud) {
				t.Errorf("speed in/out = %d/%d, want %d", tio.Ispeed, tio.Ospeed, baud)
			}
			if tio.Cflag&unix.CBAUD != unix.BOTHER {
				t.Errorf("CBAUD bits %#x, want BOTHER", tio.Cflag&unix.CBAUD)
			}
			if tio.Cflag&unix.CRTSCTS == 0 {
				t.Error("CRTSCTS not set")
			}
			if tio.Cflag&unix.CSIZE != unix.CS8 || tio.Cflag&(unix.PARENB|unix.CSTOPB) != 0 {
				t.Errorf("cflag %#x, want 8N1", tio.Cflag)
			}
			if tio.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG|unix.IEXTEN) != 0 || tio.Oflag&unix.OPOST != 0 ||
				tio.Iflag&(unix.ICRNL|unix.IXON|unix.ISTRIP) != 0 {
				t.Errorf("not raw: iflag %#x oflag %#x lflag %#x", tio.Iflag, tio.Oflag, tio.Lflag)
			}

			data := allBytes()
			if _, err := p.Write(data); err != nil {
				t.Fatalf("port write: %v", err)
			}
			readFull(t, master, data)
			if _, err := master.Write(data); err != nil {
				t.Fatalf("master write: %v", err)
			}
			readFull(t, p, data)
		})
	}
}

func TestUARTLineSettings(t *testing.T) {
	_, p := openPTYPort(t, UARTConfig{Baud: 460800, Parity: ParityOdd, StopBits: 2})
	tio := portTermios(t, p)
	// The PTY driver forces CS8 and clears PARENB (parity means nothing on
	// a PTY); PARODD and CSTOPB stay as set.
	if tio.Cflag&(unix.PARODD|unix.CSTOPB) != unix.PARODD|unix.CSTOPB {
		t.Errorf("cflag %#x, want PARODD and CSTOPB", tio.Cflag)
	}
	if tio.Cflag&unix.CRTSCTS != 0 {
		t.Error("CRTSCTS set without flow control")
	}
	if p.Config().Baud != 460800 || p.Path() == "" {
		t.Errorf("Config %+v Path %q", p.Config(), p.Path())
	}
}

func TestUARTReadDeadline(t *testing.T) {
	checkGoroutines(t)
	_, p := openPTYPort(t, DefaultUARTConfig())
	p.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	n, err := p.Read(make([]byte, 10))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want os.ErrDeadlineExceeded", n, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("deadline took %v", d)
	}
}

func TestUARTCloseWakesRead(t *testing.T) {
	checkGoroutines(t)
	_, p := openPTYPort(t, DefaultUARTConfig())
	errc := make(chan error)
	go func() {
		_, err := p.Read(make([]byte, 10))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the read block
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("Read woke %v after Close", d)
		}
		if !errors.Is(err, ErrClosed) || !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close: %v; want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not wake Read")
	}
}

// TestUARTUnplug closes the PTY master under a blocked reader, as a USB
// dongle vanishing does, then opens a new pair and uses it.
func TestUARTUnplug(t *testing.T) {
	checkGoroutines(t)
	for round := range 2 {
		master, slave, err := OpenPTY()
		if err != nil {
			t.Fatal(err)
		}
		p, err := OpenUART(slave, DefaultUARTConfig())
		if err != nil {
			master.Close()
			t.Fatal(err)
		}
		if _, err := master.Write([]byte{0x7E, byte(round), 0x7E}); err != nil {
			t.Fatal(err)
		}
		readFull(t, p, []byte{0x7E, byte(round), 0x7E})

		errc := make(chan error)
		go func() {
			buf := make([]byte, 10)
			for {
				if _, err := p.Read(buf); err != nil {
					errc <- err
					return
				}
			}
		}()
		time.Sleep(20 * time.Millisecond)
		master.Close() // unplug
		select {
		case err := <-errc:
			if !errors.Is(err, ErrDisconnected) {
				t.Errorf("round %d: Read after unplug: %v; want ErrDisconnected", round, err)
			}
			t.Logf("round %d: %v", round, err)
		case <-time.After(2 * time.Second):
			t.Fatalf("round %d: unplug did not wake Read", round)
		}
		if _, err := p.Write([]byte{1}); !errors.Is(err, ErrDisconnected) {
			t.Errorf("round %d: Write after unplug: %v; want ErrDisconnected", round, err)
		}
		p.Close()
	}
}

func TestUARTBusy(t *testing.T) {
	_, slave, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	_, p := openPTYPortAt(t, slave)
	_ = p
	p2, err := OpenUART(slave, DefaultUARTConfig())
	if !errors.Is(err, ErrBusy) {
		if p2 != nil {
			p2.Close()
		}
		t.Fatalf("second OpenUART: %v; want ErrBusy", err)
	}
	t.Log(err)
}

func openPTYPortAt(t *testing.T, slave string) (string, *Port) {
	p, err := OpenUART(slave, DefaultUARTConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return slave, p
}

func TestUARTOpenErrors(t *testing.T) {
	if _, err := OpenUART("/dev/does-not-exist", DefaultUARTConfig()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing device: %v; want fs.ErrNotExist", err)
	}
	if _, err := OpenUART("/dev/null", DefaultUARTConfig()); err == nil || !bytes.Contains([]byte(err.Error()), []byte("not a serial port")) {
		t.Errorf("/dev/null: %v; want 'not a serial port'", err)
	}
	if _, err := OpenUART("/dev/null", UARTConfig{Baud: 0}); err == nil {
		t.Error("baud 0 accepted")
	}
}

func TestOpenUARTURL(t *testing.T) {
	checkGoroutines(t)
	master, slave, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	u, err := ParseURL("spinel+hdlc+uart://" + slave + "?uart-baudrate=115200&uart-flow-control")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := Open(t.Context(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p, ok := conn.Stream.(*Port)
	if !ok || conn.Frames != nil {
		t.Fatalf("Open gave %+v; want a *Port stream", conn)
	}
	if tio := portTermios(t, p); tio.Ospeed != 115200 || tio.Cflag&unix.CRTSCTS == 0 {
		t.Errorf("termios speed %d cflag %#x", tio.Ospeed, tio.Cflag)
	}
	if _, err := master.Write([]byte{0x7E}); err != nil {
		t.Fatal(err)
	}
	readFull(t, conn.Stream, []byte{0x7E})
}
