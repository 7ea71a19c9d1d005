package borderrouter

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// runTestRouter builds a border router from cfg logging at Info into a
// buffer, runs it, and at the test's end stops it (failing the test if it
// does not stop within 30 s), closes it and, when the test failed, prints
// its log, which it returns too.
func runTestRouter(t *testing.T, cfg Config, opts ...Option) (*BorderRouter, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), nil)}, opts...)
	br, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the border router did not stop")
		}
		br.Close()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return br, logs
}
