package borderrouter

import "net/http"

// simControlRoutes adds the simulator's run-time controls to the status
// API (placeholder; being built, issue 15).
func (b *BorderRouter) simControlRoutes(mux *http.ServeMux) {}
