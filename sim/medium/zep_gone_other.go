//go:build !linux

package medium

import (
	"net"
	"net/netip"
)

// Elsewhere the hub learns of gone peers only by replacement (same
// EUI-64 from another address).
func enableUnreachable(*net.UDPConn) bool           { return false }
func readUnreachable(*net.UDPConn) []netip.AddrPort { return nil }
