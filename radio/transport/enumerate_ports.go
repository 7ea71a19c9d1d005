//go:build linux || windows || (darwin && cgo)

package transport

import (
	"fmt"

	"go.bug.st/serial/enumerator"
)

// listSerialPorts asks go.bug.st/serial's enumerator (sysfs on Linux) for
// the serial ports and their USB details. No active USB probing is done.
func listSerialPorts() ([]usbPort, error) {
	details, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("enumerate serial ports: %w", err)
	}
	ports := make([]usbPort, 0, len(details))
	for _, d := range details {
		ports = append(ports, usbPort{
			Name: d.Name, IsUSB: d.IsUSB, VID: d.VID, PID: d.PID,
			Serial: d.SerialNumber, Product: d.Product,
		})
	}
	return ports, nil
}
