// Package transport opens the link to a radio co-processor (RCP) named by
// a radio URL: a UART (USB CDC ACM dongle or a board's GPIO UART), an SPI
// bus with an interrupt line, or a program on a pseudo-terminal (an RCP
// simulator). UART and forkpty give a byte stream (Stream) that carries
// HDLC-lite framed Spinel; the spinel package does that framing. SPI gives
// whole frames (a spinel.FrameConn, the seam's one declaration): the SPI
// framing below replaces HDLC.
//
// # Radio URLs
//
// The forms OpenThread's posix platform — and so OTBR's otbr-agent —
// accepts, so a user's configuration carries over. Facts from OpenThread
// src/posix/platform/radio_url.cpp (help text), hdlc_interface.cpp,
// spi_interface.cpp, radio.cpp, spinel_manager.cpp,
// include/openthread/openthread-system.h (SPI defaults) and
// src/lib/url/url.cpp (parsing):
//
//	spinel+hdlc+uart://PATH?uart-baudrate=460800&uart-flow-control
//	spinel+spi://PATH?gpio-int-device=/dev/gpiochip0&gpio-int-line=21&...
//	spinel+hdlc+forkpty://PROGRAM?forkpty-arg=1&forkpty-arg=--foo
//
// As in url.cpp, the path is everything between "://" and "?", parameters
// are name or name=value separated by "&" (empty fields skipped), and
// nothing is percent-decoded. Numbers are decimal, 0x-hex or 0-octal
// (strtoll base 0).
//
// spinel+hdlc+uart (hdlc_interface.cpp OpenFile):
//   - uart-baudrate: bit/s, default 460800. OpenThread maps it through a
//     table of Bnnn constants; we set any rate with termios2 (BOTHER).
//   - uart-flow-control: RTS/CTS (CRTSCTS); off by default.
//   - uart-parity: even or odd (we also take none); none by default.
//   - uart-stop: 1 or 2 stop bits, default 1.
//   - uart-init-deassert: without flow control, drop DTR and RTS on open.
//   - uart-reset: the driver reopens the port after resetting the RCP
//     (USB CDC ACM re-enumerates); carried in UARTConfig for the driver.
//   - The path "auto" (spinel+hdlc+uart://auto or :///auto) is ours, not
//     OpenThread's: pick the one USB dongle found (see below).
//
// spinel+spi (spi_interface.cpp Init; defaults openthread-system.h):
//   - gpio-int-device, gpio-int-line: the RCP's INT line; required.
//   - gpio-reset-device, gpio-reset-line: the RCP's RESET line; optional
//     (OpenThread exits when a reset is needed and there is none; we return
//     ErrNoResetLine from ResetRCP).
//   - spi-mode: 0–3, default 0.
//   - spi-speed: Hz, default 1 MHz. (spi_interface.cpp initialises it to
//     the SPI_IOC_WR_MAX_SPEED_HZ request number by mistake; the documented
//     default, OT_PLATFORM_CONFIG_SPI_DEFAULT_SPEED_HZ, is 1000000.)
//   - spi-cs-delay: µs between chip select and the first clock, default 20.
//   - spi-reset-delay: ms to wait after a reset, default 0.
//   - spi-align-allowance: 0–16 leading 0x00/0xFF bytes tolerated, default 16.
//   - spi-small-packet: bytes offered in every transaction, default 32.
//
// spinel+hdlc+forkpty (hdlc_interface.cpp ForkPty): PROGRAM is run with
// each forkpty-arg as one argv element, in order. OpenThread picks UART or
// forkpty for any "spinel+hdlc…" scheme by stat()ing the path; we go by the
// scheme and reject others (spinel+hdlc+usb, trel, spinel+vendor).
//
// Accepted with every scheme and kept, validated, in URL.Options for the
// RCP driver (radio.cpp, spinel_manager.cpp): no-reset,
// skip-rcp-compatibility-check, region (two letters), cca-threshold and
// fem-lnagain (int8 dBm), bus-latency (µs), enable-coex (0|1),
// max-power-table (comma-separated int8), iid (0–3), iid-list,
// product-config-file, factory-config-file. ncp-dataset, which OpenThread
// dropped, is rejected.
//
// Deliberate differences: an unknown scheme or parameter, a repeated
// parameter, trailing garbage in a number or a relative device path (a
// missing third slash) is an error naming what is accepted, where
// OpenThread ignores or dies; a flag given as =0/false is off, where
// OpenThread treats any presence as on.
//
// # UART
//
// OpenUART opens the device O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, takes an
// flock and TIOCEXCL (a held port is ErrBusy), sets raw 8-bit mode, speed,
// parity, stop bits and CRTSCTS with TCGETS2/TCSETS2, reads them back, and
// wraps the descriptor with os.NewFile so the poller serves it: read and
// write deadlines work and Close wakes a blocked Read, which
// github.com/tarm/serial cannot do. A vanished device (EOF after hangup,
// EIO, ENXIO, ENODEV) is ErrDisconnected.
//
// # USB auto-detection
//
// FindDongles uses go.bug.st/serial's enumerator (sysfs on Linux) and
// keeps ports with vendor 0x1915 (Nordic Semiconductor) or 0x303A
// (Espressif). Known products: 1915:CAFE "nRF528xx OpenThread Device",
// the USB CDC ACM of OpenThread's nRF528xx platform (ot-nrf528xx,
// APP_USBD_VID/APP_USBD_PID in its nRF5 SDK app_config.h); 1915:521F is the
// nRF52840 Dongle's "Open DFU Bootloader" (no firmware running: never
// picked, named in the error); 303A:1001 is the USB Serial/JTAG controller
// built into the ESP32-C3/C6/H2/S3 (an ESP32-H2 running Espressif's ot_rcp
// example, plugged in by that port). Other products of the two vendors are
// candidates too (e.g. nRF Connect SDK builds with their own PID). Boards
// behind a separate USB-UART bridge (CP210x 10C4:EA60, CH34x, FTDI, J-Link
// 1366:xxxx) are not detected: name their path.
//
// # forkpty
//
// OpenPTY opens /dev/ptmx, unlocks the slave (TIOCSPTLCK) and reads its
// number (TIOCGPTN). ForkPTY sets the slave to raw mode, then starts the
// program in a new session with the slave as controlling terminal, stdin
// and stdout (stderr goes to the logger), so binary HDLC passes untouched.
// Child.Close closes the master, sends SIGTERM then SIGKILL to the process
// group and reaps the child.
//
// # SPI
//
// OpenThread's SPI framing (src/lib/spinel/spi_frame.hpp, spi_interface.cpp
// PushPullSpi): every transaction starts with a 5-byte header — flag byte
// (bit 7 RST, bit 6 CRC, bit 5 CRC failed, bits 4–2 reserved, bits 1–0 the
// pattern 0b10), accept length (u16 LE), data length (u16 LE) — see
// SPIHeader. The host sizes each transaction as max(its frame, the RCP's
// last announced length or else spi-small-packet) + 5 +
// spi-align-allowance, skips up to that many leading 0x00/0xFF bytes in
// what comes back, counts a frame as delivered only when the peer's accept
// length covers it, retries refused transactions after 1 ms (5 times),
// 10 ms (to 15) then 33 ms, and gives up on a frame after 100 refusals
// (ErrDisconnected). The host sets RST until its first valid exchange and
// again after a Spinel RESET or a hardware reset; an RCP's RST is counted
// and logged. When all receive slots are full the host offers accept
// length 0, so the RCP keeps its frames. CRC is never offered, as in
// OpenThread's host.
//
// The bus is Linux spidev (SPI_IOC_MESSAGE with struct spi_ioc_transfer,
// mode, speed and 8 bits per word set once, flock for exclusive use); INT
// and RESET are lines of the GPIO character device, uAPI v2
// (GPIO_V2_GET_LINE_IOCTL; INT as an input with falling-edge events read
// through the poller, its level read with GPIO_V2_LINE_GET_VALUES_IOCTL;
// RESET as an output held low 10 ms). OpenThread uses the v1 uAPI.
//
// # Testing and hardware
//
// Tested without hardware: URL parsing; the UART code over real PTYs
// (termios2 settings read back, all byte values both ways, deadlines,
// Close waking a reader, unplug as the master closing, busy ports);
// forkpty with /bin/cat, exit statuses and killing; the SPI framing and
// exchange loop against a simulated RCP (partial accepts, resets,
// alignment garbage, oversize announcements, unresponsive peers, slow
// readers) plus a fuzzed response parser; USB filtering on synthetic port
// lists. Not tested here, needing hardware: the spidev and GPIO ioctls
// (only compiled, and their numbers and struct sizes checked), real UART
// baud rates, parity (a PTY ignores it) and RTS/CTS flow control on the
// wire, USB unplug of a real dongle, and enumeration of real dongles.
//
// Everything is Linux-only behind _linux.go files; on other systems the
// package builds and the open functions return ErrNotSupported.
package transport
