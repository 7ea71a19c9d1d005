package transport

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Scheme is the part of a radio URL before "://": which transport to use.
type Scheme string

// The schemes OpenThread's posix platform and OTBR accept and this package
// implements.
const (
	SchemeUART    Scheme = "spinel+hdlc+uart"
	SchemeSPI     Scheme = "spinel+spi"
	SchemeForkPTY Scheme = "spinel+hdlc+forkpty"
)

var schemes = []Scheme{SchemeUART, SchemeSPI, SchemeForkPTY}

// AutoPath as the path of a spinel+hdlc+uart URL ("spinel+hdlc+uart://auto"
// or "spinel+hdlc+uart:///auto") asks for USB auto-detection.
const AutoPath = "auto"

// Parity of a UART character.
type Parity uint8

// Parity settings (uart-parity).
const (
	ParityNone Parity = iota
	ParityEven
	ParityOdd
)

func (p Parity) String() string {
	switch p {
	case ParityNone:
		return "none"
	case ParityEven:
		return "even"
	case ParityOdd:
		return "odd"
	}
	return "Parity(" + strconv.Itoa(int(p)) + ")"
}

// UARTConfig is the line setup of a UART. The zero value is not usable;
// start from DefaultUARTConfig.
type UARTConfig struct {
	Baud        int    // uart-baudrate: bits per second, any rate the driver accepts
	FlowControl bool   // uart-flow-control: RTS/CTS
	Parity      Parity // uart-parity
	StopBits    int    // uart-stop: 1 or 2
	// InitDeassert (uart-init-deassert): when flow control is off, drop
	// DTR and RTS right after opening (some boards wire them to reset or
	// boot-mode pins).
	InitDeassert bool
	// ReopenAfterReset (uart-reset): the RCP's USB CDC ACM port
	// disappears when the chip resets, so the driver must reopen the
	// port after a reset. The transport only carries the flag.
	ReopenAfterReset bool
}

// DefaultUARTConfig is OpenThread's default: 460800 bit/s, 8N1, no flow
// control (hdlc_interface.cpp).
func DefaultUARTConfig() UARTConfig {
	return UARTConfig{Baud: 460800, StopBits: 1}
}

// SPIConfig is the setup of an SPI-attached RCP. Start from
// DefaultSPIConfig.
type SPIConfig struct {
	IntDevice   string // gpio-int-device: GPIO chip of the INT line (required)
	IntLine     uint32 // gpio-int-line: line offset on that chip (required)
	ResetDevice string // gpio-reset-device: GPIO chip of the RESET line ("" = none)
	ResetLine   uint32 // gpio-reset-line: required with gpio-reset-device
	Mode        uint8  // spi-mode: 0–3
	SpeedHz     uint32 // spi-speed
	// CSDelay (spi-cs-delay, µs): pause between asserting chip select and
	// the first clock edge.
	CSDelay time.Duration
	// ResetDelay (spi-reset-delay, ms): wait after a hardware reset before
	// talking to the RCP.
	ResetDelay time.Duration
	// AlignAllowance (spi-align-allowance, 0–16): how many leading 0x00/0xFF
	// bytes the RCP may clock out before its header; the transfer is made
	// that much longer.
	AlignAllowance int
	// SmallPacket (spi-small-packet): the smallest number of data bytes
	// offered in every transfer, so short frames from the RCP arrive in one
	// transaction.
	SmallPacket int
}

// DefaultSPIConfig holds OpenThread's defaults (openthread-system.h):
// mode 0, 1 MHz, 20 µs CS delay, no reset delay, 16 bytes alignment
// allowance, 32-byte small packet.
func DefaultSPIConfig() SPIConfig {
	return SPIConfig{
		SpeedHz:        1_000_000,
		CSDelay:        20 * time.Microsecond,
		AlignAllowance: 16,
		SmallPacket:    32,
	}
}

// Option is a radio-level URL parameter OpenThread's posix platform accepts
// for every scheme (no-reset, region, cca-threshold, …). The transport does
// not use them; they are validated and kept, in order, for the RCP driver.
// A flag option has an empty Value.
type Option struct {
	Name  string
	Value string
}

// URL is a parsed radio URL. Only the part for its Scheme is meaningful:
// UART for spinel+hdlc+uart, SPI for spinel+spi, Args for
// spinel+hdlc+forkpty. Defaults are filled in by ParseURL.
type URL struct {
	Scheme Scheme
	// Path is the device node (/dev/ttyACM0, /dev/spidev0.0), AutoPath,
	// or the program to run for forkpty (looked up in $PATH when it has no
	// slash).
	Path    string
	UART    UARTConfig
	SPI     SPIConfig
	Args    []string // forkpty-arg values: argv[1:], in order
	Options []Option
}

// Auto reports whether the URL asks for USB auto-detection.
func (u *URL) Auto() bool { return u.Scheme == SchemeUART && u.Path == AutoPath }

// Option returns the value of a radio option and whether it was given.
func (u *URL) Option(name string) (string, bool) {
	for _, o := range u.Options {
		if o.Name == name {
			return o.Value, true
		}
	}
	return "", false
}

// URLError is a radio URL that cannot be used; it wraps ErrBadURL.
type URLError struct {
	URL string
	Msg string
}

func (e *URLError) Error() string { return fmt.Sprintf("radio URL %q: %s", e.URL, e.Msg) }

// Unwrap returns ErrBadURL.
func (e *URLError) Unwrap() error { return ErrBadURL }

// param describes one URL parameter: its name, a hint naming the accepted
// values, whether it may repeat, and how it sets itself on a URL.
type param struct {
	name   string
	want   string // accepted values, for error messages; "" for a flag
	repeat bool
	set    func(u *URL, value string, hasValue bool) error
}

// errValue is returned by a param's set function; ParseURL turns it into a
// URLError naming the parameter and what it accepts.
type errValue struct{ reason string }

func (e errValue) Error() string { return e.reason }

var uartParams = []param{
	{name: "uart-baudrate", want: "a baud rate in bit/s, 1–16000000 (e.g. 115200, 460800, 1000000)",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 32)
			if err != nil || n == 0 || n > 16_000_000 {
				return errValue{}
			}
			u.UART.Baud = int(n)
			return nil
		}},
	{name: "uart-flow-control", set: flagSetter(func(u *URL, b bool) { u.UART.FlowControl = b })},
	{name: "uart-parity", want: "none, even or odd",
		set: func(u *URL, v string, _ bool) error {
			switch v {
			case "none":
				u.UART.Parity = ParityNone
			case "even":
				u.UART.Parity = ParityEven
			case "odd":
				u.UART.Parity = ParityOdd
			default:
				return errValue{}
			}
			return nil
		}},
	{name: "uart-stop", want: "1 or 2",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 8)
			if err != nil || (n != 1 && n != 2) {
				return errValue{}
			}
			u.UART.StopBits = int(n)
			return nil
		}},
	{name: "uart-init-deassert", set: flagSetter(func(u *URL, b bool) { u.UART.InitDeassert = b })},
	{name: "uart-reset", set: flagSetter(func(u *URL, b bool) { u.UART.ReopenAfterReset = b })},
}

var spiParams = []param{
	{name: "gpio-int-device", want: "the path of a GPIO chip such as /dev/gpiochip0",
		set: func(u *URL, v string, _ bool) error { return setDevice(&u.SPI.IntDevice, v) }},
	{name: "gpio-int-line", want: "a GPIO line offset 0–65535",
		set: func(u *URL, v string, _ bool) error { return setLine(&u.SPI.IntLine, v) }},
	{name: "gpio-reset-device", want: "the path of a GPIO chip such as /dev/gpiochip0",
		set: func(u *URL, v string, _ bool) error { return setDevice(&u.SPI.ResetDevice, v) }},
	{name: "gpio-reset-line", want: "a GPIO line offset 0–65535",
		set: func(u *URL, v string, _ bool) error { return setLine(&u.SPI.ResetLine, v) }},
	{name: "spi-mode", want: "0, 1, 2 or 3",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 8)
			if err != nil || n > 3 {
				return errValue{}
			}
			u.SPI.Mode = uint8(n)
			return nil
		}},
	{name: "spi-speed", want: "a clock rate in Hz, 1–4294967295 (e.g. 1000000)",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 32)
			if err != nil || n == 0 {
				return errValue{}
			}
			u.SPI.SpeedHz = uint32(n)
			return nil
		}},
	{name: "spi-cs-delay", want: "microseconds, 0–65535",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 16)
			if err != nil {
				return errValue{}
			}
			u.SPI.CSDelay = time.Duration(n) * time.Microsecond
			return nil
		}},
	{name: "spi-reset-delay", want: "milliseconds, 0–4294967295",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 32)
			if err != nil {
				return errValue{}
			}
			u.SPI.ResetDelay = time.Duration(n) * time.Millisecond
			return nil
		}},
	{name: "spi-align-allowance", want: "0–16 bytes",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 8)
			if err != nil || n > SPIMaxAlignAllowance {
				return errValue{}
			}
			u.SPI.AlignAllowance = int(n)
			return nil
		}},
	{name: "spi-small-packet", want: "0–255 bytes",
		set: func(u *URL, v string, _ bool) error {
			n, err := parseUint(v, 8)
			if err != nil {
				return errValue{}
			}
			u.SPI.SmallPacket = int(n)
			return nil
		}},
}

var forkptyParams = []param{
	{name: "forkpty-arg", want: "one argument for the program", repeat: true,
		set: func(u *URL, v string, _ bool) error {
			u.Args = append(u.Args, v)
			return nil
		}},
}

// radioParams are accepted with every scheme (radio_url.cpp, radio.cpp,
// spinel_manager.cpp) and kept as Options for the RCP driver.
var radioParams = []param{
	{name: "no-reset", set: optionFlag("no-reset")},
	{name: "skip-rcp-compatibility-check", set: optionFlag("skip-rcp-compatibility-check")},
	{name: "region", want: "a two-letter ISO 3166 code such as US",
		set: optionValue("region", func(v string) bool {
			return len(v) == 2 && isUpperOrLower(v[0]) && isUpperOrLower(v[1])
		})},
	{name: "cca-threshold", want: "dBm, -128–127", set: optionValue("cca-threshold", isInt8)},
	{name: "fem-lnagain", want: "dB, -128–127", set: optionValue("fem-lnagain", isInt8)},
	{name: "bus-latency", want: "microseconds, 0–4294967295",
		set: optionValue("bus-latency", func(v string) bool { _, err := parseUint(v, 32); return err == nil })},
	{name: "enable-coex", want: "0 or 1",
		set: optionValue("enable-coex", func(v string) bool { return v == "0" || v == "1" })},
	{name: "max-power-table", want: "comma-separated dBm values, one per channel from 11",
		set: optionValue("max-power-table", func(v string) bool {
			parts := strings.Split(v, ",")
			if len(parts) > 16 {
				return false
			}
			for _, p := range parts {
				if !isInt8(p) {
					return false
				}
			}
			return true
		})},
	{name: "iid", want: "a Spinel interface ID 0–3",
		set: optionValue("iid", func(v string) bool { return len(v) == 1 && v[0] >= '0' && v[0] <= '3' })},
	{name: "iid-list", want: "up to three comma-separated interface IDs 0–3",
		set: optionValue("iid-list", func(v string) bool {
			parts := strings.Split(v, ",")
			if len(parts) > 3 {
				return false
			}
			for _, p := range parts {
				if len(p) != 1 || p[0] < '0' || p[0] > '3' {
					return false
				}
			}
			return true
		})},
	{name: "product-config-file", want: "a file path", set: optionValue("product-config-file", nonEmpty)},
	{name: "factory-config-file", want: "a file path", set: optionValue("factory-config-file", nonEmpty)},
}

func schemeParams(s Scheme) []param {
	switch s {
	case SchemeUART:
		return uartParams
	case SchemeSPI:
		return spiParams
	case SchemeForkPTY:
		return forkptyParams
	}
	return nil
}

func findParam(ps []param, name string) *param {
	for i := range ps {
		if ps[i].name == name {
			return &ps[i]
		}
	}
	return nil
}

// ParseURL parses a radio URL in the form OpenThread's posix platform (and
// so OTBR's otbr-agent) accepts: scheme "://" path ["?" name[=value] {"&"
// name[=value]}]. As in OpenThread, the path is everything between "://"
// and "?", and names and values are taken literally (no percent-decoding).
// Unknown schemes and parameters and bad values are errors that name what
// is accepted; they wrap ErrBadURL.
func ParseURL(s string) (*URL, error) {
	s = strings.TrimSpace(s)
	fail := func(format string, args ...any) (*URL, error) {
		return nil, &URLError{URL: s, Msg: fmt.Sprintf(format, args...)}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return fail("want scheme://path?parameters, e.g. spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800")
	}
	u := &URL{Scheme: Scheme(scheme)}
	params := schemeParams(u.Scheme)
	if params == nil {
		return fail("unknown scheme %q; accepted: %s", scheme, schemeList())
	}
	path, query, _ := strings.Cut(rest, "?")
	switch u.Scheme {
	case SchemeUART:
		u.UART = DefaultUARTConfig()
		if path == AutoPath || path == "/"+AutoPath {
			path = AutoPath
		}
	case SchemeSPI:
		u.SPI = DefaultSPIConfig()
	}
	switch {
	case path == "":
		return fail("missing path; e.g. %s", example(u.Scheme))
	case u.Scheme != SchemeForkPTY && path != AutoPath && !strings.HasPrefix(path, "/"):
		return fail("path %q is not absolute; write %s:///%s (three slashes)", path, scheme, path)
	}
	u.Path = path

	seen := map[string]bool{}
	for _, field := range strings.Split(query, "&") {
		if field == "" {
			continue // "a&&b" and a trailing "&", as OpenThread's tokenizer allows
		}
		name, value, hasValue := strings.Cut(field, "=")
		p := findParam(params, name)
		if p == nil {
			p = findParam(radioParams, name)
		}
		if p == nil {
			return fail("unknown parameter %q for %s; accepted: %s%s", name, scheme, paramList(params), elsewhere(u.Scheme, name))
		}
		if seen[name] && !p.repeat {
			return fail("parameter %q given twice", name)
		}
		seen[name] = true
		if p.want != "" && !hasValue && !p.repeat {
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

	if u.Scheme == SchemeSPI {
		switch {
		case !seen["gpio-int-device"] || !seen["gpio-int-line"]:
			return fail("spinel+spi needs gpio-int-device and gpio-int-line (the RCP's INT line), e.g. %s", example(SchemeSPI))
		case seen["gpio-reset-device"] != seen["gpio-reset-line"]:
			return fail("gpio-reset-device and gpio-reset-line go together")
		}
	}
	return u, nil
}

// String formats the URL so that ParseURL gives it back: the path, then
// the scheme's parameters that differ from the defaults (uart-baudrate,
// gpio-int-device and gpio-int-line always), then forkpty arguments and
// radio options in order. Values are written literally, so a value that
// contains '&' does not survive the trip (OpenThread cannot carry one
// either).
func (u *URL) String() string {
	var b strings.Builder
	b.WriteString(string(u.Scheme))
	b.WriteString("://")
	b.WriteString(u.Path)
	sep := byte('?')
	add := func(name string, value ...string) {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(name)
		if len(value) > 0 {
			b.WriteByte('=')
			b.WriteString(value[0])
		}
	}
	switch u.Scheme {
	case SchemeUART:
		c, d := u.UART, DefaultUARTConfig()
		add("uart-baudrate", strconv.Itoa(c.Baud))
		if c.FlowControl {
			add("uart-flow-control")
		}
		if c.Parity != d.Parity {
			add("uart-parity", c.Parity.String())
		}
		if c.StopBits != d.StopBits {
			add("uart-stop", strconv.Itoa(c.StopBits))
		}
		if c.InitDeassert {
			add("uart-init-deassert")
		}
		if c.ReopenAfterReset {
			add("uart-reset")
		}
	case SchemeSPI:
		c, d := u.SPI, DefaultSPIConfig()
		add("gpio-int-device", c.IntDevice)
		add("gpio-int-line", strconv.FormatUint(uint64(c.IntLine), 10))
		if c.ResetDevice != "" {
			add("gpio-reset-device", c.ResetDevice)
			add("gpio-reset-line", strconv.FormatUint(uint64(c.ResetLine), 10))
		}
		if c.Mode != d.Mode {
			add("spi-mode", strconv.Itoa(int(c.Mode)))
		}
		if c.SpeedHz != d.SpeedHz {
			add("spi-speed", strconv.FormatUint(uint64(c.SpeedHz), 10))
		}
		if c.CSDelay != d.CSDelay {
			add("spi-cs-delay", strconv.FormatInt(int64(c.CSDelay/time.Microsecond), 10))
		}
		if c.ResetDelay != d.ResetDelay {
			add("spi-reset-delay", strconv.FormatInt(int64(c.ResetDelay/time.Millisecond), 10))
		}
		if c.AlignAllowance != d.AlignAllowance {
			add("spi-align-allowance", strconv.Itoa(c.AlignAllowance))
		}
		if c.SmallPacket != d.SmallPacket {
			add("spi-small-packet", strconv.Itoa(c.SmallPacket))
		}
	case SchemeForkPTY:
		for _, a := range u.Args {
			add("forkpty-arg", a)
		}
	}
	for _, o := range u.Options {
		if p := findParam(radioParams, o.Name); p != nil && p.want == "" {
			add(o.Name)
		} else {
			add(o.Name, o.Value)
		}
	}
	return b.String()
}

func schemeList() string {
	names := make([]string, len(schemes))
	for i, s := range schemes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func paramList(ps []param) string {
	names := func(ps []param) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.name
		}
		return strings.Join(s, ", ")
	}
	return names(ps) + "; with any scheme: " + names(radioParams)
}

// elsewhere says which scheme a misplaced parameter belongs to.
func elsewhere(current Scheme, name string) string {
	for _, s := range schemes {
		if s != current && findParam(schemeParams(s), name) != nil {
			return fmt.Sprintf(" (%s is a %s parameter)", name, s)
		}
	}
	if name == "ncp-dataset" {
		return " (OpenThread dropped ncp-dataset)"
	}
	return ""
}

func example(s Scheme) string {
	switch s {
	case SchemeUART:
		return "spinel+hdlc+uart:///dev/ttyACM0?uart-baudrate=460800"
	case SchemeSPI:
		return "spinel+spi:///dev/spidev0.0?gpio-int-device=/dev/gpiochip0&gpio-int-line=21"
	}
	return "spinel+hdlc+forkpty:///usr/local/bin/ot-rcp?forkpty-arg=1"
}

// parseUint reads a number the way OpenThread's strtoll(…, 0) does:
// decimal, 0x hexadecimal or 0 octal; unlike strtoll, trailing garbage is
// an error.
func parseUint(v string, bits int) (uint64, error) {
	if v == "" || v[0] == '+' || v[0] == '-' || strings.Contains(v, "_") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(v, 0, bits)
}

func isInt8(v string) bool {
	if v == "" || strings.Contains(v, "_") {
		return false
	}
	_, err := strconv.ParseInt(v, 0, 8)
	return err == nil
}

func nonEmpty(v string) bool { return v != "" }

func isUpperOrLower(c byte) bool { return ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') }

// parseFlag reads a flag parameter. OpenThread treats any presence as
// "on"; we also honour an explicit 0/false/no/off.
func parseFlag(v string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	switch strings.ToLower(v) {
	case "", "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, errValue{}
}

func flagSetter(set func(u *URL, on bool)) func(*URL, string, bool) error {
	return func(u *URL, v string, hasValue bool) error {
		on, err := parseFlag(v, hasValue)
		if err != nil {
			return err
		}
		set(u, on)
		return nil
	}
}

func optionFlag(name string) func(*URL, string, bool) error {
	return flagSetter(func(u *URL, on bool) {
		if on {
			u.Options = append(u.Options, Option{Name: name})
		}
	})
}

func optionValue(name string, ok func(string) bool) func(*URL, string, bool) error {
	return func(u *URL, v string, _ bool) error {
		if !ok(v) {
			return errValue{}
		}
		u.Options = append(u.Options, Option{Name: name, Value: v})
		return nil
	}
}

func setDevice(dst *string, v string) error {
	if !strings.HasPrefix(v, "/") {
		return errValue{}
	}
	*dst = v
	return nil
}

func setLine(dst *uint32, v string) error {
	n, err := parseUint(v, 16)
	if err != nil {
		return errValue{}
	}
	*dst = uint32(n)
	return nil
}
