package transport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// hciChannelUser is HCI_CHANNEL_USER: exclusive, raw access to a
// controller the kernel has attached but not powered (Linux 3.13+).
const hciChannelUser = 1

// hciUser is the HCI user channel as a stream: the socket delivers one
// H4 packet per read (type octet first); Read hands it out in pieces.
type hciUser struct {
	f    *os.File
	mu   sync.Mutex
	buf  []byte
	rest []byte
}

func openHCIUser(dev int) (io.ReadWriteCloser, error) {
	fd, err := unix.Socket(unix.AF_BLUETOOTH, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.BTPROTO_HCI)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("hci+user://hci%d: this kernel has no Bluetooth support (AF_BLUETOOTH): %w", dev, err)
		}
		return nil, fmt.Errorf("hci+user://hci%d: socket: %w", dev, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrHCI{Dev: uint16(dev), Channel: hciChannelUser}); err != nil {
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.ENODEV):
			return nil, fmt.Errorf("hci+user://hci%d: no such controller (see `ls /sys/class/bluetooth`): %w", dev, err)
		case errors.Is(err, unix.EBUSY), errors.Is(err, unix.EALREADY):
			return nil, fmt.Errorf("hci+user://hci%d: the controller is up or held by bluetoothd; stop bluetoothd and power it off (btmgmt --index %d power off): %w", dev, dev, err)
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			return nil, fmt.Errorf("hci+user://hci%d: the HCI user channel needs CAP_NET_ADMIN: %w", dev, err)
		}
		return nil, fmt.Errorf("hci+user://hci%d: bind: %w", dev, err)
	}
	return &hciUser{f: os.NewFile(uintptr(fd), fmt.Sprintf("hci%d", dev)), buf: make([]byte, 4096)}, nil
}

func (h *hciUser) Read(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.rest) == 0 {
		n, err := h.f.Read(h.buf)
		if err != nil {
			return 0, err
		}
		h.rest = h.buf[:n]
	}
	n := copy(p, h.rest)
	h.rest = h.rest[n:]
	return n, nil
}

func (h *hciUser) Write(p []byte) (int, error) { return h.f.Write(p) }
func (h *hciUser) Close() error                { return h.f.Close() }
