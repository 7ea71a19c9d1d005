package borderrouter

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netnstest"
)

// runTestRouter builds a border router from cfg logging at Info into a
// buffer and runs it. stop ends Run and returns its error (failing the
// test if it does not stop within 30 s) and closes the border router; the
// test's cleanup calls it too, and prints the log, which runTestRouter
// also returns, when the test failed.
func runTestRouter(t *testing.T, cfg Config, opts ...Option) (br *BorderRouter, logs *syncBuffer, stop func() error) {
	t.Helper()
	logs = &syncBuffer{}
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), nil)}, opts...)
	br, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	netnstest.Go(t, func() { done <- br.Run(ctx) })
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				t.Error("the border router did not stop")
			}
			br.Close()
		})
		return runErr
	}
	t.Cleanup(func() {
		stop()
		checkUndone(t, logs.String())
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return br, logs, stop
}
