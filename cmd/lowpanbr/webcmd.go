package main

import (
	"fmt"
	"io"
)

// runWeb: placeholder (issue 15, being built).
func runWeb(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("web: not built yet: %w", errUsage)
}
