//go:build linux

package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux ioctl encoding. The direction bits differ between architectures
// (asm-generic: write 1<<30, read 2<<30; mips, powerpc, sparc: write 4<<29,
// read 2<<29), so they are taken from two requests x/sys/unix already has
// for this architecture: TIOCSPTLCK is _IOW('T', 0x31, int) and TIOCGPTN
// is _IOR('T', 0x30, unsigned int).
const (
	iocWrite = uint(unix.TIOCSPTLCK) - (4<<16 | 'T'<<8 | 0x31)
	iocRead  = uint(unix.TIOCGPTN) - (4<<16 | 'T'<<8 | 0x30)
)

func iow(typ, nr, size uint) uint { return iocWrite | size<<16 | typ<<8 | nr }

// linux/spi/spidev.h.
const (
	spiIOCMagic = 'k'
	// spiIOCTransferSize is sizeof(struct spi_ioc_transfer).
	spiIOCTransferSize = 32
)

var (
	spiIOCWrMode        = iow(spiIOCMagic, 1, 1)
	spiIOCWrBitsPerWord = iow(spiIOCMagic, 3, 1)
	spiIOCWrMaxSpeedHz  = iow(spiIOCMagic, 4, 4)
)

// spiIOCMessage is SPI_IOC_MESSAGE(n).
func spiIOCMessage(n uint) uint { return iow(spiIOCMagic, 0, n*spiIOCTransferSize) }

// spiIOCTransfer is struct spi_ioc_transfer (the same layout on 32- and
// 64-bit kernels: buffer addresses are __u64).
type spiIOCTransfer struct {
	txBuf          uint64
	rxBuf          uint64
	len            uint32
	speedHz        uint32
	delayUsecs     uint16
	bitsPerWord    uint8
	csChange       uint8
	txNbits        uint8
	rxNbits        uint8
	wordDelayUsecs uint8
	_              uint8
}

// GPIO uAPI v2 line flags (linux/gpio.h, enum gpio_v2_line_flag); x/sys
// has the ioctls and structs but not these.
const (
	gpioV2LineFlagInput       = 1 << 2
	gpioV2LineFlagOutput      = 1 << 3
	gpioV2LineFlagEdgeFalling = 1 << 5
)

// gpioV2LineEventSize is sizeof(struct gpio_v2_line_event).
const gpioV2LineEventSize = int(unsafe.Sizeof(unix.GPIOV2LineEvent{}))

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// spidev is a Linux spidev device.
type spidev struct {
	fd      int
	speed   uint32
	csDelay uint16 // µs
}

func openSpidev(path string, mode uint8, speed uint32, csDelay time.Duration) (*spidev, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	fail := func(what string, err error) (*spidev, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fail("lock", fmt.Errorf("%w: another process has it open", ErrBusy))
		}
		return fail("lock", err)
	}
	bits := uint8(8)
	if err := ioctlPtr(fd, spiIOCWrMode, unsafe.Pointer(&mode)); err != nil {
		return fail(fmt.Sprintf("SPI_IOC_WR_MODE %d", mode), err)
	}
	if err := ioctlPtr(fd, spiIOCWrMaxSpeedHz, unsafe.Pointer(&speed)); err != nil {
		return fail(fmt.Sprintf("SPI_IOC_WR_MAX_SPEED_HZ %d", speed), err)
	}
	if err := ioctlPtr(fd, spiIOCWrBitsPerWord, unsafe.Pointer(&bits)); err != nil {
		return fail("SPI_IOC_WR_BITS_PER_WORD 8", err)
	}
	return &spidev{fd: fd, speed: speed, csDelay: uint16(csDelay / time.Microsecond)}, nil
}

// Transfer runs one full-duplex transaction with chip select held. With a
// CS delay, a zero-length first transfer whose delay_usecs elapses before
// the data (as OpenThread does; some drivers reject it, hence
// spi-cs-delay=0).
func (d *spidev) Transfer(tx, rx []byte) error {
	if len(tx) != len(rx) || len(tx) == 0 {
		return fmt.Errorf("spidev: transfer of %d/%d bytes", len(tx), len(rx))
	}
	var x [2]spiIOCTransfer
	x[0] = spiIOCTransfer{speedHz: d.speed, delayUsecs: d.csDelay, bitsPerWord: 8}
	x[1] = spiIOCTransfer{
		txBuf:       uint64(uintptr(unsafe.Pointer(&tx[0]))),
		rxBuf:       uint64(uintptr(unsafe.Pointer(&rx[0]))),
		len:         uint32(len(tx)),
		speedHz:     d.speed,
		bitsPerWord: 8,
	}
	var err error
	if d.csDelay > 0 {
		err = ioctlPtr(d.fd, spiIOCMessage(2), unsafe.Pointer(&x[0]))
	} else {
		err = ioctlPtr(d.fd, spiIOCMessage(1), unsafe.Pointer(&x[1]))
	}
	runtime.KeepAlive(tx)
	runtime.KeepAlive(rx)
	if err != nil {
		return fmt.Errorf("SPI_IOC_MESSAGE: %w", err)
	}
	return nil
}

func (d *spidev) Close() error { return unix.Close(d.fd) }

// requestGPIOLine requests one line of a GPIO chip through the character
// device uAPI v2 (GPIO_V2_GET_LINE_IOCTL) and returns the line's file
// descriptor. output, when not nil, is the initial output level.
func requestGPIOLine(chip string, line uint32, consumer string, flags uint64, output *bool) (int, error) {
	cfd, err := unix.Open(chip, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: chip, Err: err}
	}
	defer unix.Close(cfd)
	var req unix.GPIOV2LineRequest
	req.Offsets[0] = line
	req.Num_lines = 1
	copy(req.Consumer[:len(req.Consumer)-1], consumer)
	req.Config.Flags = flags
	if output != nil {
		req.Config.Num_attrs = 1
		a := &req.Config.Attrs[0]
		a.Attr.Id = unix.GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES
		if *output {
			a.Attr.Flags = 1 // the union's "values" bitmap
		}
		a.Mask = 1
	}
	if err := ioctlPtr(cfd, unix.GPIO_V2_GET_LINE_IOCTL, unsafe.Pointer(&req)); err != nil {
		if errors.Is(err, unix.EBUSY) {
			return -1, fmt.Errorf("%s line %d: %w: requested by another consumer", chip, line, ErrBusy)
		}
		return -1, fmt.Errorf("%s line %d: GPIO_V2_GET_LINE_IOCTL: %w", chip, line, err)
	}
	return int(req.Fd), nil
}

func gpioGet(fd int) (bool, error) {
	v := unix.GPIOV2LineValues{Mask: 1}
	if err := ioctlPtr(fd, unix.GPIO_V2_LINE_GET_VALUES_IOCTL, unsafe.Pointer(&v)); err != nil {
		return false, err
	}
	return v.Bits&1 != 0, nil
}

func gpioSet(fd int, high bool) error {
	v := unix.GPIOV2LineValues{Mask: 1}
	if high {
		v.Bits = 1
	}
	return ioctlPtr(fd, unix.GPIO_V2_LINE_SET_VALUES_IOCTL, unsafe.Pointer(&v))
}

// gpioInterrupt is the INT line: an input with falling-edge events. A
// goroutine (watchEdges) reads the events through Go's poller and turns
// each batch into a token on edges.
type gpioInterrupt struct {
	f       *os.File
	fd      int // f's descriptor, for the value ioctl; used only while f is open
	edges   chan struct{}
	watched chan struct{} // closed when watchEdges returns
}

func openGPIOInterrupt(chip string, line uint32) (*gpioInterrupt, error) {
	fd, err := requestGPIOLine(chip, line, "lowpanbr-rcp-int", gpioV2LineFlagInput|gpioV2LineFlagEdgeFalling, nil)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	g := &gpioInterrupt{
		f:       os.NewFile(uintptr(fd), fmt.Sprintf("%s line %d", chip, line)),
		fd:      fd,
		edges:   make(chan struct{}, 1),
		watched: make(chan struct{}),
	}
	go g.watchEdges()
	return g, nil
}

func (g *gpioInterrupt) watchEdges() {
	defer close(g.watched)
	buf := make([]byte, 16*gpioV2LineEventSize)
	for {
		if _, err := g.f.Read(buf); err != nil {
			return // closed
		}
		select {
		case g.edges <- struct{}{}:
		default:
		}
	}
}

// Asserted: the INT line is active low.
func (g *gpioInterrupt) Asserted() (bool, error) {
	high, err := gpioGet(g.fd)
	return !high, err
}

func (g *gpioInterrupt) Edges() <-chan struct{} { return g.edges }

func (g *gpioInterrupt) Close() error {
	err := g.f.Close()
	<-g.watched
	return err
}

// gpioReset is the RESET line: an output, high (released) by default.
type gpioReset struct{ fd int }

func openGPIOReset(chip string, line uint32) (*gpioReset, error) {
	high := true
	fd, err := requestGPIOLine(chip, line, "lowpanbr-rcp-reset", gpioV2LineFlagOutput, &high)
	if err != nil {
		return nil, err
	}
	return &gpioReset{fd: fd}, nil
}

func (r *gpioReset) Pulse() error {
	if err := gpioSet(r.fd, false); err != nil {
		return fmt.Errorf("RESET low: %w", err)
	}
	time.Sleep(spiResetHold)
	if err := gpioSet(r.fd, true); err != nil {
		return fmt.Errorf("RESET high: %w", err)
	}
	return nil
}

func (r *gpioReset) Close() error { return unix.Close(r.fd) }

// OpenSPI opens an RCP on spidev path with cfg's INT (required) and RESET
// (optional) GPIO lines, and starts the exchange loop. It does not reset
// the RCP: the driver calls ResetRCP when it wants a hardware reset.
// The INT line's events are read through Go's poller, which GPIO line
// descriptors support (Linux 5.10+, uAPI v2).
func OpenSPI(path string, cfg SPIConfig, logger *slog.Logger) (*SPI, error) {
	if cfg.IntDevice == "" {
		return nil, fmt.Errorf("spi %s: no INT line (gpio-int-device)", path)
	}
	if cfg.Mode > 3 || cfg.SpeedHz == 0 {
		return nil, fmt.Errorf("spi %s: bad mode %d or speed %d Hz", path, cfg.Mode, cfg.SpeedHz)
	}
	dev, err := openSpidev(path, cfg.Mode, cfg.SpeedHz, cfg.CSDelay)
	if err != nil {
		return nil, fmt.Errorf("spi %s: %w", path, err)
	}
	intr, err := openGPIOInterrupt(cfg.IntDevice, cfg.IntLine)
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("spi %s: INT: %w", path, err)
	}
	var reset spiResetLine
	var rst *gpioReset
	if cfg.ResetDevice != "" {
		if rst, err = openGPIOReset(cfg.ResetDevice, cfg.ResetLine); err != nil {
			intr.Close()
			dev.Close()
			return nil, fmt.Errorf("spi %s: RESET: %w", path, err)
		}
		reset = rst
	}
	closeHW := func() error {
		err := errors.Join(intr.Close(), dev.Close())
		if rst != nil {
			err = errors.Join(err, rst.Close())
		}
		return err
	}
	return newSPI(path, dev, intr, reset, cfg, logger, closeHW), nil
}
