//go:build linux

package hostif

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/lowpanbr/lowpanbr/internal/netlinkx"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

const cloneDevice = "/dev/net/tun"

// tunDevice is the Linux TUN: a TUN opened without IFF_VNET_HDR, driven by
// wireguard-go's NativeTun for its I/O (netpoller integration, EBADFD
// mapping) and its link-event listener.
type tunDevice struct {
	wg    wgtun.Device
	name  string
	index int
	mtu   atomic.Int64
	// nl is a netlink socket in the TUN's network namespace, for reading the
	// MTU on a link event: the event goroutine may run on a thread in
	// another namespace, where wireguard's name-based ioctl would miss.
	nl *netlink.Handle
	// restoreMTU is the MTU a persistent TUN had before OpenTUN set its
	// own; Close puts it back. 0 for a TUN that OpenTUN created.
	restoreMTU int

	closed     atomic.Bool
	closeOnce  sync.Once
	closeErr   error
	eventsDone chan struct{}
	errClosed  error // preformatted so that ReadPacket after Close does not allocate

	readMu sync.Mutex
	rbufs  [1][]byte // wireguard's batch API with a batch of one
	rsizes [1]int

	writeMu sync.Mutex
	wbufs   [1][]byte
}

// OpenTUN creates (or attaches to an existing persistent) TUN interface
// called name and sets its MTU; mtu 0 means DefaultMTU. An empty name lets
// the kernel choose tunN. The interface is left down and unaddressed:
// Configure does the rest.
//
// The device is opened here with IFF_TUN|IFF_NO_PI and without IFF_VNET_HDR,
// then handed to wireguard-go's CreateTUNFromFile. wireguard's own CreateTUN
// would turn on virtio-net headers and TSO/GSO batching, which a 250 kbit/s
// radio has no use for and which impose a write offset and batch sizes on the
// caller.
//
// Attached to a persistent TUN made by someone else ("ip tuntap add"), the
// device puts the interface's MTU back on Close; the interface stays. (After
// a crash that MTU is not restored: CleanupStale knows only what
// Configure recorded.)
//
// It needs CAP_NET_ADMIN, or ownership of a persistent TUN made with
// "ip tuntap add ... user U". The interface lives in the network namespace
// of the calling OS thread.
func OpenTUN(name string, mtu int) (TUN, error) {
	if mtu == 0 {
		mtu = DefaultMTU
	}
	if mtu < tunMinMTU || mtu > tunMaxMTU {
		return nil, fmt.Errorf("router: open TUN %q: MTU %d outside %d..%d", name, mtu, tunMinMTU, tunMaxMTU)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, fmt.Errorf("router: open TUN %q: %w", name, err)
	}
	fd, err := unix.Open(cloneDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("router: open TUN %q: %s: %w", name, cloneDevice, err)
	}
	// A persistent TUN that someone else made keeps living after us; note
	// its MTU so that Close can put it back.
	restoreMTU := 0
	if l, err := netlink.LinkByName(name); err == nil {
		if _, ok := l.(*netlink.Tuntap); ok && l.Attrs().MTU != mtu {
			restoreMTU = l.Attrs().MTU
		}
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("router: open TUN %q: %w", name, explainTUNSETIFF(name, err))
	}
	// Non-blocking before os.NewFile, so that the file joins the netpoller
	// and Close can interrupt a blocked Read.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("router: open TUN %q: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), cloneDevice)
	wg, err := wgtun.CreateTUNFromFile(f, mtu)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("router: open TUN %q: %w", name, err)
	}
	d := &tunDevice{wg: wg, eventsDone: make(chan struct{}), restoreMTU: restoreMTU}
	d.mtu.Store(int64(mtu))
	err = d.init()
	go d.watchLinkEvents()
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("router: open TUN %q: %w", name, err)
	}
	d.errClosed = fmt.Errorf("router: TUN %s: %w", d.name, os.ErrClosed)
	return d, nil
}

func (d *tunDevice) init() error {
	var err error
	if d.name, err = d.wg.Name(); err != nil {
		return err
	}
	if bs := d.wg.BatchSize(); bs != 1 {
		// Only IFF_VNET_HDR makes wireguard batch.
		return fmt.Errorf("unexpected batch size %d (virtio-net header on?)", bs)
	}
	if d.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	l, err := netlinkx.RetryDump("find link", func() (netlink.Link, error) { return d.nl.LinkByName(d.name) })
	if err != nil {
		return err
	}
	d.index = l.Attrs().Index
	return nil
}

// explainTUNSETIFF turns the kernel's terse TUNSETIFF errors into what an
// operator can act on.
func explainTUNSETIFF(name string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("creating a TUN needs CAP_NET_ADMIN (or a persistent TUN owned by this user): %w", err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("TUN %q is already attached by another process: %w", name, err)
	case errors.Is(err, unix.EINVAL):
		// The kernel says EINVAL when the name belongs to a non-TUN
		// interface or to a TUN with other flags (tap, multi-queue).
		if l, lerr := netlink.LinkByName(name); lerr == nil {
			if tt, ok := l.(*netlink.Tuntap); ok {
				return fmt.Errorf("interface %q exists as a %s TUN/TAP with flags %#x, not a single-queue TUN: %w", name, tt.Mode, uint32(tt.Flags), err)
			}
			return fmt.Errorf("interface %q exists and is a %s, not a TUN: %w", name, l.Type(), err)
		}
	}
	return err
}

// watchLinkEvents drains wireguard's event channel, which it must do or the
// listener goroutines block once five events are queued, and keeps the MTU
// current. It ends when Close has stopped both listeners and closed the
// channel.
func (d *tunDevice) watchLinkEvents() {
	defer close(d.eventsDone)
	for ev := range d.wg.Events() {
		if ev&wgtun.EventMTUUpdate == 0 || d.closed.Load() || d.nl == nil || d.index == 0 {
			continue
		}
		if l, err := d.nl.LinkByIndex(d.index); err == nil && l.Attrs().MTU > 0 {
			d.mtu.Store(int64(l.Attrs().MTU))
		}
	}
}

func (d *tunDevice) Name() string { return d.name }

func (d *tunDevice) MTU() int { return int(d.mtu.Load()) }

func (d *tunDevice) ReadPacket(buf []byte) (int, error) {
	d.readMu.Lock()
	defer d.readMu.Unlock()
	if d.closed.Load() {
		return 0, d.errClosed
	}
	d.rbufs[0] = buf
	n, err := d.wg.Read(d.rbufs[:], d.rsizes[:], 0)
	d.rbufs[0] = nil
	if err != nil {
		if d.closed.Load() || errors.Is(err, os.ErrClosed) {
			return 0, d.errClosed
		}
		return 0, fmt.Errorf("router: read TUN %s: %w", d.name, err)
	}
	if n != 1 {
		return 0, fmt.Errorf("router: read TUN %s: %d packets in a batch of one", d.name, n)
	}
	size := d.rsizes[0]
	if size >= len(buf) {
		// The kernel copies what fits and returns min(packet, buffer)
		// (tun_chr_read_iter), so a packet that filled the buffer exactly
		// may have lost its tail: the IP header's length says.
		if full := ipPacketLen(buf); size > len(buf) || full > len(buf) {
			return 0, fmt.Errorf("router: read TUN %s: %d-byte packet in a %d-byte buffer: %w", d.name, max(full, size), len(buf), io.ErrShortBuffer)
		}
	}
	return size, nil
}

// ipPacketLen is the length an IPv6 or IPv4 packet declares in its header,
// or 0 if p is too short to say.
func ipPacketLen(p []byte) int {
	switch {
	case len(p) >= 6 && p[0]>>4 == 6:
		return 40 + int(binary.BigEndian.Uint16(p[4:6])) // RFC 8200 §3: payload length
	case len(p) >= 4 && p[0]>>4 == 4:
		return int(binary.BigEndian.Uint16(p[2:4])) // RFC 791: total length
	}
	return 0
}

func (d *tunDevice) WritePacket(pkt []byte) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.closed.Load() {
		return d.errClosed
	}
	d.wbufs[0] = pkt
	_, err := d.wg.Write(d.wbufs[:], 0)
	d.wbufs[0] = nil
	if err != nil {
		if d.closed.Load() || errors.Is(err, os.ErrClosed) {
			return d.errClosed
		}
		return fmt.Errorf("router: write TUN %s: %w", d.name, err)
	}
	return nil
}

func (d *tunDevice) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		var errs []error
		if d.restoreMTU != 0 && d.nl != nil && d.index != 0 {
			l := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: d.index}}
			if err := d.nl.LinkSetMTU(l, d.restoreMTU); err != nil {
				errs = append(errs, fmt.Errorf("restore MTU %d: %w", d.restoreMTU, err))
			}
		}
		// wireguard's Close closes its shutdown channel, then writes to the
		// pipe that wakes its netlink listener (rwcancel Cancel). When a
		// netlink event — our own MTU restore just above — wakes the
		// listener in between, it sees the shutdown, returns and closes
		// that pipe, and the write fails with EPIPE; the TUN descriptor is
		// closed all the same (tun_linux.go NativeTun.Close,
		// routineNetlinkListener), so that error says nothing.
		if err := d.wg.Close(); err != nil && !errors.Is(err, syscall.EPIPE) {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			d.closeErr = fmt.Errorf("router: close TUN %s: %w", d.name, err)
		}
		// wireguard closes the event channel only after its netlink
		// listener and its status poller have both returned.
		<-d.eventsDone
		if d.nl != nil {
			d.nl.Close()
		}
	})
	return d.closeErr
}
