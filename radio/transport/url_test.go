package transport

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func uartURL(path string, edit func(*UARTConfig)) *URL {
	u := &URL{Scheme: SchemeUART, Path: path, UART: DefaultUARTConfig()}
	if edit != nil {
		edit(&u.UART)
	}
	return u
}

func spiURL(edit func(*SPIConfig)) *URL {
	u := &URL{Scheme: SchemeSPI, Path: "/dev/spidev0.0", SPI: DefaultSPIConfig()}
	u.SPI.IntDevice, u.SPI.IntLine = "/dev/gpiochip0", 21
	if edit != nil {
		edit(&u.SPI)
	}
	return u
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want *URL
		// canon is what String gives when it differs from in.
		canon string
	}{
		{in: "spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800",
			want: uartURL("/dev/ttyACM0", nil)},
		{in: "spinel+hdlc+uart:///dev/ttyACM0",
			want:  uartURL("/dev/ttyACM0", nil),
			canon: "spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800"},
		{in: "spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=115200&uart-flow-control",
			want: uartURL("/dev/ttyACM0", func(c *UARTConfig) { c.Baud = 115200; c.FlowControl = true })},
		{in: "spinel+hdlc+uart:///dev/ttyAMA0?uart-baudrate=1000000&uart-flow-control&uart-parity=even&uart-stop=2&uart-init-deassert&uart-reset",
			want: uartURL("/dev/ttyAMA0", func(c *UARTConfig) {
				c.Baud, c.FlowControl, c.Parity, c.StopBits, c.InitDeassert, c.ReopenAfterReset = 1000000, true, ParityEven, 2, true, true
			})},
		{in: "spinel+hdlc+uart:///dev/ttyUSB0?uart-parity=odd&uart-baudrate=0x1C200",
			want:  uartURL("/dev/ttyUSB0", func(c *UARTConfig) { c.Parity = ParityOdd; c.Baud = 115200 }),
			canon: "spinel+hdlc+uart:///dev/ttyUSB0?uart-baudrate=115200&uart-parity=odd"},
		{in: "spinel+hdlc+uart:///dev/ttyUSB0?uart-flow-control=0&uart-parity=none&uart-stop=1&",
			want:  uartURL("/dev/ttyUSB0", nil),
			canon: "spinel+hdlc+uart:///dev/ttyUSB0?uart-baudrate=460800"},
		{in: "spinel+hdlc+uart://auto",
			want:  uartURL(AutoPath, nil),
			canon: "spinel+hdlc+uart://auto?uart-baudrate=460800"},
		{in: "spinel+hdlc+uart:///auto?uart-baudrate=460800",
			want:  uartURL(AutoPath, nil),
			canon: "spinel+hdlc+uart://auto?uart-baudrate=460800"},
		{in: "spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&gpio-reset-device=/dev/gpiochip0&gpio-reset-line=20&spi-speed=1000000&spi-mode=0&spi-reset-delay=0&spi-align-allowance=16&spi-small-packet=32",
			want: spiURL(func(c *SPIConfig) { c.ResetDevice, c.ResetLine = "/dev/gpiochip0", 20 }),
			canon: "spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21" +
				"&gpio-reset-device=/dev/gpiochip0&gpio-reset-line=20"},
		{in: "spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21",
			want: spiURL(nil)},
		{in: "spinel+spi:///dev/spidev1.1?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&spi-mode=3&spi-speed=8000000&spi-cs-delay=0&spi-reset-delay=100&spi-align-allowance=2&spi-small-packet=64",
			want: func() *URL {
				u := spiURL(func(c *SPIConfig) {
					c.Mode, c.SpeedHz, c.CSDelay, c.ResetDelay, c.AlignAllowance, c.SmallPacket = 3, 8000000, 0, 100*time.Millisecond, 2, 64
				})
				u.Path = "/dev/spidev1.1"
				return u
			}()},
		{in: "spinel+hdlc+forkpty:///path/to/ot-rcp?forkpty-arg=1&forkpty-arg=--foo",
			want: &URL{Scheme: SchemeForkPTY, Path: "/path/to/ot-rcp", Args: []string{"1", "--foo"}}},
		{in: "spinel+hdlc+forkpty:///usr/bin/env?forkpty-arg=A=b&forkpty-arg=&forkpty-arg=z",
			want: &URL{Scheme: SchemeForkPTY, Path: "/usr/bin/env", Args: []string{"A=b", "", "z"}}},
		{in: "spinel+hdlc+forkpty://ot-rcp",
			want: &URL{Scheme: SchemeForkPTY, Path: "ot-rcp"}},
		{in: "spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800&no-reset&region=US&cca-threshold=-75&bus-latency=500&max-power-table=20,20,0x7f&iid=1&iid-list=1,2",
			want: func() *URL {
				u := uartURL("/dev/ttyACM0", nil)
				u.Options = []Option{{"no-reset", ""}, {"region", "US"}, {"cca-threshold", "-75"}, {"bus-latency", "500"},
					{"max-power-table", "20,20,0x7f"}, {"iid", "1"}, {"iid-list", "1,2"}}
				return u
			}()},
		{in: "spinel+hdlc+forkpty:///bin/sim?forkpty-arg=1&skip-rcp-compatibility-check&enable-coex=1&fem-lnagain=12",
			want: &URL{Scheme: SchemeForkPTY, Path: "/bin/sim", Args: []string{"1"},
				Options: []Option{{"skip-rcp-compatibility-check", ""}, {"enable-coex", "1"}, {"fem-lnagain", "12"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseURL (-want +got):\n%s", diff)
			}
			canon := tt.canon
			if canon == "" {
				canon = tt.in
			}
			if s := got.String(); s != canon {
				t.Errorf("String:\n got %s\nwant %s", s, canon)
			}
			again, err := ParseURL(got.String())
			if err != nil {
				t.Fatalf("ParseURL(String()): %v", err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("round trip (-first +second):\n%s", diff)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		in   string
		want []string // substrings of the message
	}{
		{"spinel+hdlc+usb:///x", []string{`radio URL "spinel+hdlc+usb:///x": unknown scheme "spinel+hdlc+usb"; accepted: spinel+hdlc+uart, spinel+spi, spinel+hdlc+forkpty`}},
		{"trel://eth0", []string{`unknown scheme "trel"`}},
		{"/dev/ttyACM0", []string{"want scheme://path?parameters"}},
		{"spinel+hdlc+uart://", []string{"missing path", "spinel+hdlc+uart:///dev/ttyACM0"}},
		{"spinel+hdlc+uart://?uart-baudrate=9600", []string{"missing path"}},
		{"spinel+spi://", []string{"missing path", "gpio-int-device"}},
		{"spinel+hdlc+forkpty://?forkpty-arg=1", []string{"missing path"}},
		{"spinel+hdlc+uart://dev/ttyACM0", []string{`path "dev/ttyACM0" is not absolute`, "spinel+hdlc+uart:///dev/ttyACM0 (three slashes)"}},
		{"spinel+hdlc+uart:///dev/ttyACM0?baud=115200", []string{`unknown parameter "baud" for spinel+hdlc+uart; accepted: uart-baudrate, uart-flow-control, uart-parity, uart-stop, uart-init-deassert, uart-reset; with any scheme: no-reset, skip-rcp-compatibility-check, region`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?spi-speed=1000", []string{`unknown parameter "spi-speed"`, "(spi-speed is a spinel+spi parameter)"}},
		{"spinel+hdlc+forkpty:///bin/x?uart-baudrate=9600", []string{`unknown parameter "uart-baudrate" for spinel+hdlc+forkpty`, "spinel+hdlc+uart parameter"}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=1&forkpty-arg=1", []string{`unknown parameter "forkpty-arg" for spinel+spi`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?ncp-dataset", []string{`unknown parameter "ncp-dataset"`, "dropped"}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=fast", []string{`bad value "fast" for uart-baudrate; want a baud rate in bit/s`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=0", []string{`bad value "0" for uart-baudrate`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=-9600", []string{`bad value "-9600" for uart-baudrate`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=115200baud", []string{`bad value "115200baud"`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=99999999999", []string{`bad value "99999999999"`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate", []string{`parameter "uart-baudrate" needs a value`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=9600&uart-baudrate=19200", []string{`parameter "uart-baudrate" given twice`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-parity=mark", []string{`bad value "mark" for uart-parity; want none, even or odd`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-stop=3", []string{`bad value "3" for uart-stop; want 1 or 2`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?uart-flow-control=maybe", []string{`bad value "maybe" for uart-flow-control; want no value, or 1/true/0/false`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=twenty", []string{`bad value "twenty" for gpio-int-line; want a GPIO line offset`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=-1", []string{`bad value "-1" for gpio-int-line`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=65536", []string{`bad value "65536" for gpio-int-line`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=gpiochip0&gpio-int-line=1", []string{`bad value "gpiochip0" for gpio-int-device`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-line=21", []string{"needs gpio-int-device and gpio-int-line"}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0", []string{"needs gpio-int-device and gpio-int-line"}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&gpio-reset-device=/dev/gpiochip0", []string{"gpio-reset-device and gpio-reset-line go together"}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&spi-mode=4", []string{`bad value "4" for spi-mode; want 0, 1, 2 or 3`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&spi-speed=0", []string{`bad value "0" for spi-speed`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&spi-align-allowance=17", []string{`bad value "17" for spi-align-allowance; want 0–16`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&spi-small-packet=256", []string{`bad value "256" for spi-small-packet`}},
		{"spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&spi-cs-delay=70000", []string{`bad value "70000" for spi-cs-delay`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?region=USA", []string{`bad value "USA" for region`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?cca-threshold=-200", []string{`bad value "-200" for cca-threshold`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?iid=4", []string{`bad value "4" for iid`}},
		{"spinel+hdlc+uart:///dev/ttyACM0?no-reset&no-reset", []string{`"no-reset" given twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseURL(tt.in)
			if err == nil {
				t.Fatalf("ParseURL = %v, want an error", u)
			}
			if !errors.Is(err, ErrBadURL) {
				t.Errorf("error %v does not wrap ErrBadURL", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestForkPTYArgsOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString("spinel+hdlc+forkpty:///bin/echo?")
	var want []string
	for i := range 40 {
		if i > 0 {
			b.WriteByte('&')
		}
		a := strings.Repeat(string(rune('a'+i%26)), i%5) + "-" + string(rune('0'+i%10))
		want = append(want, a)
		b.WriteString("forkpty-arg=" + a)
	}
	u, err := ParseURL(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, u.Args); diff != "" {
		t.Errorf("Args (-want +got):\n%s", diff)
	}
	if u.String() != b.String() {
		t.Errorf("String:\n got %s\nwant %s", u, b.String())
	}
}

func TestURLOption(t *testing.T) {
	u, err := ParseURL("spinel+hdlc+uart:///dev/ttyACM0?no-reset&region=DE")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := u.Option("region"); !ok || v != "DE" {
		t.Errorf(`Option("region") = %q, %v`, v, ok)
	}
	if _, ok := u.Option("no-reset"); !ok {
		t.Error(`Option("no-reset") missing`)
	}
	if _, ok := u.Option("bus-latency"); ok {
		t.Error(`Option("bus-latency") present`)
	}
	if u.Auto() {
		t.Error("Auto() on a device path")
	}
}
