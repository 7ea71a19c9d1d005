package borderrouter

import "context"

// startCapture starts capture.file and capture.zep_mirror (placeholder;
// being built, issue 15).
func (b *BorderRouter) startCapture(ctx context.Context) error { return nil }
