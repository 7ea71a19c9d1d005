package transport

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindDonglesHere(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("enumeration is tested on Linux")
	}
	ds, err := FindDongles()
	if err != nil {
		t.Fatalf("FindDongles: %v", err)
	}
	// The test machines have no USB radios; a developer's may.
	t.Logf("dongles: %v", ds)
}

var syntheticPorts = []usbPort{
	{Name: "/dev/ttyS0"},
	{}, // the enumerator reports ports without sysfs details with an empty name
	{Name: "/dev/ttyUSB0", IsUSB: true, VID: "10C4", PID: "EA60", Product: "CP2102 USB to UART Bridge Controller"},
	{Name: "/dev/ttyACM1", IsUSB: true, VID: "303A", PID: "1001", Serial: "48:31:B7:C0:FF:EE", Product: "USB JTAG/serial debug unit"},
	{Name: "/dev/ttyACM0", IsUSB: true, VID: "1915", PID: "cafe", Serial: "F1E2D3C4B5A6", Product: "nRF528xx OpenThread Device"},
	{Name: "/dev/ttyACM2", IsUSB: true, VID: "1915", PID: "521F", Product: "Open DFU Bootloader"},
	{Name: "/dev/ttyACM3", IsUSB: true, VID: "zz15", PID: "0001"},
}

func TestFilterDongles(t *testing.T) {
	got := filterDongles(syntheticPorts)
	want := []Dongle{
		{Path: "/dev/ttyACM0", VID: 0x1915, PID: 0xCAFE, Serial: "F1E2D3C4B5A6", Product: "nRF528xx OpenThread Device"},
		{Path: "/dev/ttyACM1", VID: 0x303A, PID: 0x1001, Serial: "48:31:B7:C0:FF:EE", Product: "USB JTAG/serial debug unit"},
		{Path: "/dev/ttyACM2", VID: 0x1915, PID: 0x521F, Product: "Open DFU Bootloader"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filterDongles (-want +got):\n%s", diff)
	}
	if filterDongles(nil) != nil {
		t.Error("no ports gave dongles")
	}
}

func TestPickDongle(t *testing.T) {
	one := []usbPort{syntheticPorts[0], syntheticPorts[2], syntheticPorts[4], syntheticPorts[5]}
	d, err := pickDongle(one)
	if err != nil || d.Path != "/dev/ttyACM0" {
		t.Fatalf("pickDongle = %v, %v; want /dev/ttyACM0", d, err)
	}
	if s := d.String(); !strings.Contains(s, "1915:cafe") || !strings.Contains(s, "nRF528xx OpenThread device") {
		t.Errorf("Dongle.String() = %q", s)
	}

	_, err = pickDongle(syntheticPorts)
	if !errors.Is(err, ErrSeveralDongles) {
		t.Fatalf("two candidates: %v; want ErrSeveralDongles", err)
	}
	for _, w := range []string{"/dev/ttyACM0 (1915:cafe", "/dev/ttyACM1 (303a:1001"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not list %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "ttyACM2") {
		t.Errorf("error %q offers the DFU bootloader", err)
	}

	_, err = pickDongle(syntheticPorts[:3])
	if !errors.Is(err, ErrNoDongle) || !strings.Contains(err.Error(), "/dev/ttyUSB0 (10c4:ea60") || !strings.Contains(err.Error(), "/dev/ttyS0 (not USB)") {
		t.Errorf("no candidates: %v; want ErrNoDongle listing the ports", err)
	}
	_, err = pickDongle([]usbPort{syntheticPorts[5]})
	if !errors.Is(err, ErrNoDongle) || !strings.Contains(err.Error(), "bootloader mode") {
		t.Errorf("only a bootloader: %v", err)
	}
	_, err = pickDongle(nil)
	if !errors.Is(err, ErrNoDongle) || !strings.Contains(err.Error(), "no serial ports at all") {
		t.Errorf("nothing: %v", err)
	}
}

func TestOpenAutoWithoutDongle(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("enumeration is tested on Linux")
	}
	if ds, _ := FindDongles(); len(ds) > 0 {
		t.Skip("a dongle is plugged in")
	}
	u, err := ParseURL("spinel+hdlc+uart://auto")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), u, nil)
	if !errors.Is(err, ErrNoDongle) {
		t.Fatalf("Open(auto): %v; want ErrNoDongle", err)
	}
	t.Log(err)
}
