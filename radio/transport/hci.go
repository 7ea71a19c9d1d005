package transport

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The Bluetooth HCI transports, with URLs in the style of the Spinel
// radios':
//
//	hci+uart:///dev/ttyACM1?uart-baudrate=1000000[&uart-flow-control]
//	                          H4 framing (Core v5.4 Vol 4 Part A) on a UART or USB CDC ACM
//	                          port: Zephyr's hci_uart on an nRF52840, an ESP32-H2 in HCI mode
//	hci+user://hci0           the Linux HCI user channel (AF_BLUETOOTH, HCI_CHANNEL_USER):
//	                          exclusive use of a kernel-attached controller such as a
//	                          Raspberry Pi's built-in one
const (
	SchemeHCIUART Scheme = "hci+uart"
	SchemeHCIUser Scheme = "hci+user"
)

// DefaultHCIBaud is the UART rate of Zephyr's hci_uart sample (and the
// usual one of HCI UART controllers).
const DefaultHCIBaud = 1_000_000

// HCIURL is a parsed BLE controller URL.
type HCIURL struct {
	Scheme Scheme
	Path   string // the tty (hci+uart)
	Dev    int    // the controller index, N of hciN (hci+user)
	UART   UARTConfig
}

func (u *HCIURL) String() string {
	if u.Scheme == SchemeHCIUser {
		return fmt.Sprintf("%s://hci%d", u.Scheme, u.Dev)
	}
	s := fmt.Sprintf("%s://%s?uart-baudrate=%d", u.Scheme, u.Path, u.UART.Baud)
	if u.UART.FlowControl {
		s += "&uart-flow-control"
	}
	return s
}

// ParseHCIURL parses a BLE controller URL. Errors name what is accepted
// and wrap ErrBadURL.
func ParseHCIURL(s string) (*HCIURL, error) {
	s = strings.TrimSpace(s)
	fail := func(format string, args ...any) (*HCIURL, error) {
		return nil, &URLError{URL: s, Msg: fmt.Sprintf(format, args...)}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return fail("want hci+uart:///dev/ttyACM1?uart-baudrate=1000000 or hci+user://hci0")
	}
	path, query, _ := strings.Cut(rest, "?")
	switch Scheme(scheme) {
	case SchemeHCIUser:
		n, err := strconv.Atoi(strings.TrimPrefix(path, "hci"))
		if !strings.HasPrefix(path, "hci") || err != nil || n < 0 || n > 0xfffe {
			return fail("want a controller such as hci0 (see `ls /sys/class/bluetooth`), not %q", path)
		}
		if query != "" {
			return fail("hci+user takes no parameters")
		}
		return &HCIURL{Scheme: SchemeHCIUser, Dev: n}, nil
	case SchemeHCIUART:
		if path == "" || !strings.HasPrefix(path, "/") {
			return fail("want an absolute device path, e.g. hci+uart:///dev/ttyACM1 (three slashes)")
		}
		u := &URL{Scheme: SchemeUART, UART: UARTConfig{Baud: DefaultHCIBaud, StopBits: 1}}
		seen := map[string]bool{}
		for _, field := range strings.Split(query, "&") {
			if field == "" {
				continue
			}
			name, value, hasValue := strings.Cut(field, "=")
			p := findParam(uartParams, name)
			if p == nil || name == "uart-reset" || name == "uart-init-deassert" {
				return fail("unknown parameter %q for hci+uart; accepted: uart-baudrate, uart-flow-control, uart-parity, uart-stop", name)
			}
			if seen[name] {
				return fail("parameter %q given twice", name)
			}
			seen[name] = true
			if p.want != "" && !hasValue {
				return fail("parameter %q needs a value: %s", name, p.want)
			}
			if err := p.set(u, value, hasValue); err != nil {
				want := p.want
				if want == "" {
					want = "no value, or 1/true/0/false"
				}
				return fail("bad value %q for %s; want %s", value, name, want)
			}
		}
		return &HCIURL{Scheme: SchemeHCIUART, Path: path, UART: u.UART}, nil
	}
	return fail("unknown scheme %q for a BLE controller; accepted: hci+uart, hci+user", scheme)
}

// OpenHCI opens the controller's transport as a byte stream of H4 packets
// (each Write must be one whole packet: the user channel is a datagram
// socket).
func OpenHCI(ctx context.Context, u *HCIURL) (io.ReadWriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch u.Scheme {
	case SchemeHCIUART:
		return OpenUART(u.Path, u.UART)
	case SchemeHCIUser:
		return openHCIUser(u.Dev)
	}
	return nil, &URLError{URL: u.String(), Msg: "unknown scheme"}
}
