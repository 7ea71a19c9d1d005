package borderrouter

import (
	"context"
	"log/slog"
	"net/http"
)

// The live web page of the mesh (web.*). Placeholder hooks; the page is
// being built (issue 15).

// eventLog keeps the recent log records the page shows as events.
type eventLog struct{}

func newEventLog() *eventLog { return &eventLog{} }

// wrap returns the handler the border router logs through.
func (e *eventLog) wrap(h slog.Handler) slog.Handler { return h }

// startWeb starts the page's own listener when web.listen asks for one.
func (b *BorderRouter) startWeb(ctx context.Context) error { return nil }

// webRoutes adds the page to the metrics listener's mux.
func (b *BorderRouter) webRoutes(mux *http.ServeMux) {}

// webAPIRoutes adds the page's routes to the status API (the token).
func (b *BorderRouter) webAPIRoutes(mux *http.ServeMux) {}
