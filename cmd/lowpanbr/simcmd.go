package main

import (
	"fmt"
	"io"
)

// runSim: placeholder (issue 15, being built).
func runSim(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("sim: not built yet: %w", errUsage)
}
