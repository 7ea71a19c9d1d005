//go:build linux

package faultline

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/lowpanbr/lowpanbr/internal/rawfile"
	"github.com/lowpanbr/lowpanbr/radio/transport"
)

// PTYProxy is a Proxy whose host end is a new PTY: the border router opens
// HostPath as its radio (spinel+hdlc+uart://<HostPath>), as it would a USB
// dongle, and the proxy forwards to rcp.
type PTYProxy struct {
	*Proxy
	hostPath string
}

// HostPath is the PTY slave the border router opens.
func (p *PTYProxy) HostPath() string { return p.hostPath }

// URL is the radio URL of HostPath.
func (p *PTYProxy) URL() string { return "spinel+hdlc+uart://" + p.hostPath }

// NewPTY starts a proxy between a new PTY (its slave, HostPath, for the
// border router) and rcp: a UART (transport.OpenUART), a forkpty child
// (transport.ForkPTY), or the slave of the embedded simulator's PTY opened
// as a UART. The proxy keeps a descriptor of the slave open itself, in raw
// mode, for its whole life: the line discipline never echoes or translates
// what the proxy writes before the border router opened the slave, and the
// border router may close and reopen it (a reconnection) without the
// master seeing a hang-up. Octets written while no one has the slave open
// wait in the PTY, as they would in a UART's buffer.
func NewPTY(rcp io.ReadWriteCloser, cfg Config) (*PTYProxy, error) {
	master, path, err := transport.OpenPTY()
	if err != nil {
		return nil, fmt.Errorf("faultline: %w", err)
	}
	slave, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("faultline: %w", err)
	}
	if err := makeRaw(int(slave.Fd())); err != nil {
		slave.Close()
		master.Close()
		return nil, fmt.Errorf("faultline: raw mode on %s: %w", path, err)
	}
	p, err := Start(rawfile.New(master), rcp, cfg)
	if err != nil {
		slave.Close()
		master.Close()
		return nil, err
	}
	p.extra = append(p.extra, slave)
	return &PTYProxy{Proxy: p, hostPath: path}, nil
}

// makeRaw is cfmakeraw(3) on a terminal: no input or output processing,
// no echo, no signals, 8-bit characters, reads return what is there.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
