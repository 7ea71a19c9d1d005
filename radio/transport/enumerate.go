package transport

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// USB vendor IDs of the radios auto-detection looks for.
const (
	VendorNordic     = 0x1915 // Nordic Semiconductor
	VendorEspressif  = 0x303A // Espressif Systems
	productNordicDFU = 0x521F // nRF52840 Dongle "Open DFU Bootloader": no RCP firmware running
)

// knownProducts names the USB IDs we know RCP firmware to use (see doc.go
// for where each comes from). Other products of the two vendors are still
// candidates.
var knownProducts = map[[2]uint16]string{
	{VendorNordic, 0xCAFE}:           "nRF528xx OpenThread device (USB CDC ACM)",
	{VendorNordic, productNordicDFU}: "nRF52840 Dongle in its DFU bootloader",
	{VendorEspressif, 0x1001}:        "Espressif USB Serial/JTAG (ESP32-H2, -C6)",
}

// Dongle is a USB serial port that may be an RCP.
type Dongle struct {
	Path    string // /dev/ttyACM0
	VID     uint16
	PID     uint16
	Serial  string
	Product string // the USB product string
}

func (d Dongle) String() string {
	s := fmt.Sprintf("%s (%04x:%04x", d.Path, d.VID, d.PID)
	if d.Product != "" {
		s += " " + strconv.Quote(d.Product)
	}
	if d.Serial != "" {
		s += " serial " + d.Serial
	}
	if k := knownProducts[[2]uint16{d.VID, d.PID}]; k != "" {
		s += "; " + k
	}
	return s + ")"
}

// usbPort is one serial port as the OS enumerator reports it.
type usbPort struct {
	Name     string
	IsUSB    bool
	VID, PID string // hexadecimal, any case, no 0x
	Serial   string
	Product  string
}

func (p usbPort) String() string {
	if !p.IsUSB {
		return p.Name + " (not USB)"
	}
	s := fmt.Sprintf("%s (%s:%s", p.Name, strings.ToLower(p.VID), strings.ToLower(p.PID))
	if p.Product != "" {
		s += " " + strconv.Quote(p.Product)
	}
	return s + ")"
}

// FindDongles lists the USB serial ports whose vendor is Nordic (0x1915)
// or Espressif (0x303A), sorted by path. No USB serial ports is not an
// error: the list is empty.
func FindDongles() ([]Dongle, error) {
	ports, err := listSerialPorts()
	if err != nil {
		return nil, err
	}
	return filterDongles(ports), nil
}

func filterDongles(ports []usbPort) []Dongle {
	var ds []Dongle
	for _, p := range ports {
		if !p.IsUSB || p.Name == "" {
			continue
		}
		vid, err1 := strconv.ParseUint(p.VID, 16, 16)
		pid, err2 := strconv.ParseUint(p.PID, 16, 16)
		if err1 != nil || err2 != nil {
			continue
		}
		if vid != VendorNordic && vid != VendorEspressif {
			continue
		}
		ds = append(ds, Dongle{Path: p.Name, VID: uint16(vid), PID: uint16(pid), Serial: p.Serial, Product: p.Product})
	}
	slices.SortFunc(ds, func(a, b Dongle) int { return strings.Compare(a.Path, b.Path) })
	return ds
}

// autoDevice resolves spinel+hdlc+uart://auto to one device path.
func autoDevice() (Dongle, error) {
	ports, err := listSerialPorts()
	if err != nil {
		return Dongle{}, fmt.Errorf("radio auto-detection: %w", err)
	}
	return pickDongle(ports)
}

// pickDongle chooses the one candidate among ports. A Nordic dongle in its
// DFU bootloader is never picked (it runs no RCP firmware) but is named in
// the error. None or several candidates is an error listing what was
// found, so the user can write the path into the URL.
func pickDongle(ports []usbPort) (Dongle, error) {
	var cands, bootloaders []Dongle
	for _, d := range filterDongles(ports) {
		if d.VID == VendorNordic && d.PID == productNordicDFU {
			bootloaders = append(bootloaders, d)
			continue
		}
		cands = append(cands, d)
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		var found []string
		for _, p := range ports {
			if p.Name != "" {
				found = append(found, p.String())
			}
		}
		msg := "no serial ports at all"
		if len(found) > 0 {
			msg = "serial ports found: " + strings.Join(found, ", ")
		}
		if len(bootloaders) > 0 {
			msg += "; in bootloader mode (flash RCP firmware first): " + joinDongles(bootloaders)
		}
		return Dongle{}, fmt.Errorf("radio auto-detection: %w with USB vendor 0x1915 (Nordic) or 0x303a (Espressif); %s; name the device in the radio URL, e.g. spinel+hdlc+uart:///dev/ttyACM0", ErrNoDongle, msg)
	}
	return Dongle{}, fmt.Errorf("radio auto-detection: %w: %s; name one in the radio URL, e.g. spinel+hdlc+uart://%s", ErrSeveralDongles, joinDongles(cands), cands[0].Path)
}

func joinDongles(ds []Dongle) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, ", ")
}
