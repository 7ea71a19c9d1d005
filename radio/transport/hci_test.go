package transport

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestParseHCIURL(t *testing.T) {
	good := []struct {
		in   string
		want string
	}{
		{"hci+uart:///dev/ttyACM1", "hci+uart:///dev/ttyACM1?uart-baudrate=1000000"},
		{"hci+uart:///dev/ttyAMA0?uart-baudrate=115200&uart-flow-control", "hci+uart:///dev/ttyAMA0?uart-baudrate=115200&uart-flow-control"},
		{"hci+user://hci0", "hci+user://hci0"},
		{" hci+user://hci12 ", "hci+user://hci12"},
	}
	for _, g := range good {
		u, err := ParseHCIURL(g.in)
		if err != nil || u.String() != g.want {
			t.Errorf("%q: %v %v, want %s", g.in, u, err, g.want)
		}
	}
	bad := []struct{ in, want string }{
		{"/dev/ttyACM1", "want hci+uart"},
		{"hci+usb://hci0", `unknown scheme "hci+usb"`},
		{"hci+user://ttyACM0", "want a controller such as hci0"},
		{"hci+user://hci0?x=1", "no parameters"},
		{"hci+uart://dev/ttyACM1", "absolute device path"},
		{"hci+uart:///dev/ttyACM1?uart-baudrate=fast", `bad value "fast" for uart-baudrate`},
		{"hci+uart:///dev/ttyACM1?no-reset", `unknown parameter "no-reset"`},
		{"hci+uart:///dev/ttyACM1?uart-baudrate=1&uart-baudrate=2", "given twice"},
	}
	for _, b := range bad {
		_, err := ParseHCIURL(b.in)
		if err == nil || !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: got %v, want an ErrBadURL containing %q", b.in, err, b.want)
		}
	}
}

// The H4 stream over a real PTY, as with a USB CDC ACM controller.
func TestOpenHCIUART(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("PTYs and termios2: Linux")
	}
	master, path, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	u, err := ParseHCIURL("hci+uart://" + path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenHCI(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reset := []byte{0x01, 0x03, 0x0c, 0x00} // H4 command: HCI_Reset
	if _, err := c.Write(reset); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := master.Read(got); err != nil || string(got) != string(reset) {
		t.Fatalf("controller side read % x, %v", got, err)
	}
}

// Without Bluetooth in the kernel (as on the CI machines) the user channel
// says so plainly.
func TestOpenHCIUserExplains(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the HCI user channel is Linux's")
	}
	u, _ := ParseHCIURL("hci+user://hci7")
	c, err := OpenHCI(context.Background(), u)
	if err == nil {
		c.Close()
		t.Skip("this machine has a controller hci7")
	}
	msg := err.Error()
	if !strings.Contains(msg, "hci+user://hci7") || !(strings.Contains(msg, "no Bluetooth support") || strings.Contains(msg, "no such controller") || strings.Contains(msg, "CAP_NET_ADMIN")) {
		t.Fatalf("unclear error: %v", err)
	}
	if os.Geteuid() != 0 && !strings.Contains(msg, "Bluetooth") && !strings.Contains(msg, "CAP_NET_ADMIN") {
		t.Fatalf("unclear error for a non-root user: %v", err)
	}
}
