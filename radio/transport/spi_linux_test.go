//go:build linux

package transport

import (
	"errors"
	"io/fs"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestSPIIoctlNumbers checks the derived ioctl numbers against
// linux/spi/spidev.h as compiled on asm-generic architectures, and the
// struct sizes the kernel expects.
func TestSPIIoctlNumbers(t *testing.T) {
	if s := unsafe.Sizeof(spiIOCTransfer{}); s != spiIOCTransferSize {
		t.Errorf("sizeof(spi_ioc_transfer) = %d, want 32", s)
	}
	if s := unsafe.Sizeof(unix.GPIOV2LineRequest{}); s != (unix.GPIO_V2_GET_LINE_IOCTL>>16)&0x3FFF {
		t.Errorf("sizeof(gpio_v2_line_request) = %d, ioctl says %d", s, (unix.GPIO_V2_GET_LINE_IOCTL>>16)&0x3FFF)
	}
	if gpioV2LineEventSize != 48 {
		t.Errorf("sizeof(gpio_v2_line_event) = %d, want 48", gpioV2LineEventSize)
	}
	switch runtime.GOARCH {
	case "amd64", "arm64", "arm", "386", "riscv64", "loong64", "s390x":
	default:
		t.Skipf("no reference numbers for %s", runtime.GOARCH)
	}
	for _, c := range []struct {
		name      string
		got, want uint
	}{
		{"SPI_IOC_MESSAGE(1)", spiIOCMessage(1), 0x40206b00},
		{"SPI_IOC_MESSAGE(2)", spiIOCMessage(2), 0x40406b00},
		{"SPI_IOC_WR_MODE", spiIOCWrMode, 0x40016b01},
		{"SPI_IOC_WR_BITS_PER_WORD", spiIOCWrBitsPerWord, 0x40016b03},
		{"SPI_IOC_WR_MAX_SPEED_HZ", spiIOCWrMaxSpeedHz, 0x40046b04},
		{"_IOR read direction", iocRead, 0x80000000},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestOpenSPIErrors(t *testing.T) {
	cfg := DefaultSPIConfig()
	cfg.IntDevice = "/dev/gpiochip-none"
	if _, err := OpenSPI("/dev/spidev-none", cfg, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing spidev: %v; want fs.ErrNotExist", err)
	}
	if _, err := OpenSPI("/dev/spidev-none", DefaultSPIConfig(), nil); err == nil {
		t.Error("OpenSPI without an INT line succeeded")
	}
	// /dev/null takes the lock but not the spidev ioctls.
	if _, err := OpenSPI("/dev/null", cfg, nil); err == nil {
		t.Error("OpenSPI on /dev/null succeeded")
	} else {
		t.Log(err)
	}
}
