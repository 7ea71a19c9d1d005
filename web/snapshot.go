package web

import (
	"context"
	"errors"
	"time"
)

// Source is what the page shows and changes: the border router.
// Its methods are called from several goroutines at once.
type Source interface {
	// Snapshot is the state now. Samples and Controls are the server's:
	// the Source leaves them empty.
	Snapshot() Snapshot
	// Counters are the cumulative counters the charts are drawn from; the
	// server calls it once a second, so it must be cheap (no per-node
	// work).
	Counters() Counters
	// Control carries out an action of the page's controls.
	Control(ctx context.Context, a Action) error
}

// Errors a Source's Control returns, which the server maps to HTTP
// statuses.
var (
	// ErrUnsupported: the action does not exist here (no simulator, or
	// the simulator cannot do it).
	ErrUnsupported = errors.New("web: action not supported here")
	// ErrBadAction: the action's arguments are wrong (unknown node...).
	ErrBadAction = errors.New("web: bad action")
	// ErrConflict: the action cannot be carried out now (the simulated
	// mesh is full, or stopping).
	ErrConflict = errors.New("web: action not possible now")
)

// Snapshot is the page's state: what GET /api/snapshot returns and each
// Server-Sent Event carries.
type Snapshot struct {
	Time      time.Time `json:"time"`
	Version   string    `json:"version"`
	UptimeSec int64     `json:"uptime_seconds"`
	Prefix    string    `json:"prefix"`
	Address   string    `json:"address"` // the border router's
	Simulated bool      `json:"simulated"`
	// Controls: POST /api/control is open (to a holder of the token).
	Controls      bool           `json:"controls"`
	RCP           RCP            `json:"rcp"`
	Counters      Counters       `json:"counters"`
	Nodes         []Node         `json:"nodes"` // the border router first
	Links         []Link         `json:"links"`
	Registrations []Registration `json:"registrations"`
	Events        []Event        `json:"events"` // the recent log records, oldest first
	// Samples: the charts' points, oldest first. A snapshot sent when a
	// client connects (or from /api/snapshot) holds all of them; each
	// later Server-Sent Event only those the client has not had.
	Samples []Sample `json:"samples"`
	// Unchanged names the parts (nodes, links, registrations, events)
	// left out of a Server-Sent Event because they are as in the one
	// before: the page keeps what it has.
	Unchanged []string `json:"unchanged,omitempty"`
	// NodeUpdates: with "nodes" in Unchanged, the nodes that changed (by
	// ID) since the event before; the others are as they were.
	NodeUpdates []Node `json:"node_updates,omitempty"`
}

// RCP is the radio co-processor's state.
type RCP struct {
	URL         string `json:"url"`
	Ready       bool   `json:"ready"`
	Firmware    string `json:"firmware"`
	EUI64       string `json:"eui64"`
	Channel     uint8  `json:"channel"`
	PANID       string `json:"pan_id"`
	Resets      uint64 `json:"resets"`
	Reconnects  uint64 `json:"reconnects"`
	Timeouts    uint64 `json:"timeouts"`
	Disconnects uint64 `json:"disconnects"`
}

// Counters are cumulative (they never go backwards), except QueueDepth,
// a gauge.
type Counters struct {
	FramesSent     uint64 `json:"frames_sent"`
	FramesReceived uint64 `json:"frames_received"`
	// TxRetries: frames sent again after a channel access failure;
	// TxFailures: frames never acknowledged or never sent.
	TxRetries  uint64 `json:"tx_retries"`
	TxFailures uint64 `json:"tx_failures"`
	// QueueDepth: packets waiting in the link's transmit queue plus
	// transmissions waiting for the RCP, now.
	QueueDepth uint64 `json:"queue_depth"`
	// OctetsSent, OctetsReceived: PSDU octets handed to and received from
	// the radio.
	OctetsSent     uint64 `json:"octets_sent"`
	OctetsReceived uint64 `json:"octets_received"`
	// GoodputOctets: the IPv6 packets' octets sent and received whole,
	// uncompressed (what the air's octets carried for the users).
	GoodputOctets uint64 `json:"goodput_octets"`
}

// Sample is one point of the charts: rates over the second before Time.
type Sample struct {
	UnixMilli    int64   `json:"t"`
	TxFramesPerS float64 `json:"tx"`
	RxFramesPerS float64 `json:"rx"`
	RetriesPerS  float64 `json:"retries"`
	FailuresPerS float64 `json:"failures"`
	QueueDepth   uint64  `json:"queue"`
	OctetsPerS   float64 `json:"octets"`  // both ways
	GoodputPerS  float64 `json:"goodput"` // IPv6 octets, both ways
}

// Node is a node of the graph, with what the page shows when it is
// clicked.
type Node struct {
	ID       string `json:"id"`   // "br" for the border router
	Kind     string `json:"kind"` // 6lbr, 6lr, 6ln, rul, ble
	Address  string `json:"address,omitempty"`
	LinkAddr string `json:"link_addr,omitempty"`
	// Status: registered, pending, refused, deregistered or stopped.
	Status  string   `json:"status"`
	Refused string   `json:"refused,omitempty"` // the refusal's status
	Parent  string   `json:"parent,omitempty"`  // the node's way to the border router: a node ID
	Hops    int      `json:"hops,omitempty"`
	X       *float64 `json:"x,omitempty"` // the simulator's placement, in radio ranges
	Y       *float64 `json:"y,omitempty"`
	// Counters of a simulated node.
	Role      string `json:"role,omitempty"`
	Echoes    int    `json:"echoes,omitempty"`
	Forwarded int    `json:"forwarded,omitempty"`
	Routes    int    `json:"routes,omitempty"`
	Protected bool   `json:"protected,omitempty"`
	// RPL: a RPL router's rank and preferred parent (an address).
	Rank      uint16 `json:"rank,omitempty"`
	RPLParent string `json:"rpl_parent,omitempty"`
}

// Link is a radio link between two nodes.
type Link struct {
	A    string  `json:"a"`
	B    string  `json:"b"`
	Kind string  `json:"kind"` // 802.15.4 or ble
	RSSI int8    `json:"rssi_dbm"`
	LQI  uint8   `json:"lqi"`
	Loss float64 `json:"loss"`
	Cut  bool    `json:"cut,omitempty"`
}

// Registration is an entry of the 6LBR's registry.
type Registration struct {
	Address      string `json:"address"`
	ROVR         string `json:"rovr"`
	LifetimeSec  int64  `json:"lifetime_seconds"`
	ExpiresInSec int64  `json:"expires_in_seconds"`  // at the snapshot's Time
	Via          string `json:"via,omitempty"`       // the 6LR it registered through
	LinkAddr     string `json:"link_addr,omitempty"` // registered directly
	Protected    bool   `json:"protected"`
}

// Event is a log record at level Info or above.
type Event struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"msg"`
	Attrs   string    `json:"attrs,omitempty"` // key=value ..., flattened
}

// Action is what a page's control asks for (POST /api/control, JSON).
type Action struct {
	// Kind: cut, restore (the link A-B), loss (set the loss of A-B, or of
	// every link when A and B are empty), add (a node near Node), remove,
	// restart (Node), rcp-reset.
	Kind string  `json:"action"`
	A    string  `json:"a,omitempty"`
	B    string  `json:"b,omitempty"`
	Node string  `json:"node,omitempty"`
	Loss float64 `json:"loss,omitempty"`
}
