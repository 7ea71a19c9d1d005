//go:build !linux

package rcp

import "time"

// processCPU is not measured off Linux.
func processCPU() time.Duration { return 0 }
