// Package web serves the live page of the mesh: a graph of the border
// router and its nodes, the registrations, per-node counters, the RCP's
// state, recent events and small live charts, updated once a second over
// Server-Sent Events (the WHATWG HTML standard, §9.2 "Server-sent
// events"), and, when the operator turns them on, the simulator's
// controls.
//
// The package knows nothing of the border router: a Source gives it
// Snapshots (the JSON the page reads), cumulative Counters (sampled once
// a second into a bounded ring for the charts) and carries out Actions.
// Package borderrouter is the Source.
//
// # The page
//
// Plain HTML, CSS and JavaScript embedded with the embed package: no build
// step, no CDN, works offline. The graph is SVG drawn by the page itself
// rather than with a graph library: the layout is given (the simulator's
// placement, else rings by hop count around the border router), so a
// force-directed layout library (d3-force, vis-network, cytoscape.js: 90
// to 500 KB) would add bytes and a licence to carry for nothing; 300
// nodes and their links are 300 <g> and a few hundred <line> elements,
// updated in place, which a browser redraws in milliseconds.
//
// # Updates
//
// One goroutine (Server.Run) reads the counters once a second into a
// ring of five minutes of samples, and, while a page is open, builds a
// snapshot and sends it to every stream through a bounded queue: a
// stream that falls behind is dropped (its browser reconnects after 2 s,
// the "retry" field), never waited for, and at most MaxClients (16)
// streams are open. A stream's first event is the whole state with every
// sample; each later one carries the counters, the newest sample, and
// only the parts that changed (Snapshot.Unchanged names the others;
// NodeUpdates the nodes that changed, when few did): in a steady mesh of
// 300 nodes an event is about 1 KB rather than 200 KB. A control carried
// out sends an event at once (Kick).
//
// # Security
//
// Reading is open to whoever reaches the listener (loopback by default),
// as /metrics is. Writing (POST /api/control) needs the controls turned
// on (web.controls) and the header X-Lowpanbr-Token carrying the token
// made at start, which only the status API's Unix socket hands out
// (lowpanbr web): no one who could not already use the socket can
// change anything. The token travels in a header, never in a cookie, so
// a cross-site form or fetch cannot send it (no CSRF); it is compared in
// constant time. Every request whose Host is not an IP literal,
// "localhost" or one of Config.Hosts (the machine's own name) is refused:
// a DNS-rebinding page names its own host. So is a POST whose Origin is
// another site's. The page loads nothing but its own files (a
// Content-Security-Policy of 'self') and may not be framed.
//
// # Left out
//
// WebSocket (the page only listens; SSE reconnects by itself), history
// beyond the last five minutes of samples (that is Prometheus's job:
// /metrics), authentication of readers.
package web
