package borderrouter

// Topology is the mesh as a graph, for the web page and
// GET /api/v1/topology: the border router, the nodes it knows of, and the
// links between them.
type Topology struct {
	Simulated bool       `json:"simulated"` // the nodes and links are the simulator's
	Nodes     []TopoNode `json:"nodes"`     // the border router first
	Links     []TopoLink `json:"links"`
}

// TopoNode is a node of the graph.
type TopoNode struct {
	// ID: "br" for the border router, a simulated node's name, else the
	// node's link-layer address.
	ID       string `json:"id"`
	Kind     string `json:"kind"` // 6lbr, 6lr, 6ln, rul (a RPL-unaware leaf) or ble (an IPSP node)
	Address  string `json:"address,omitempty"`
	LinkAddr string `json:"link_addr,omitempty"`
	// Status: registered, pending, refused, deregistered, or (simulator)
	// stopped.
	Status string `json:"status"`
	// Parent is the ID of the node it reaches the border router through:
	// its RPL preferred parent, or the 6LR it registered through; "br"
	// when it is the border router's neighbour; "" when unknown.
	Parent string `json:"parent,omitempty"`
	Hops   int    `json:"hops,omitempty"`
	// X, Y: the simulator's placement, in radio ranges from the border
	// router; absent for real nodes, which the page lays out by hops.
	X *float64 `json:"x,omitempty"`
	Y *float64 `json:"y,omitempty"`
}

// TopoLink is a radio link between two nodes, both ways.
type TopoLink struct {
	A    string  `json:"a"`
	B    string  `json:"b"`
	Kind string  `json:"kind"` // 802.15.4 or ble
	RSSI int8    `json:"rssi_dbm"`
	LQI  uint8   `json:"lqi"`
	Loss float64 `json:"loss"` // the simulator's loss probability; 0 on real links
	// Cut: the simulator's link was cut at run time (and can be
	// restored).
	Cut bool `json:"cut,omitempty"`
}

// Topology reports the mesh as a graph.
//
// TODO(sim controls): the simulator's placement and links; for now the
// border router and the simulated nodes' parents only.
func (b *BorderRouter) Topology() Topology {
	t := Topology{Nodes: []TopoNode{{ID: "br", Kind: "6lbr", Address: b.global.String(), Status: "registered"}}}
	for _, n := range b.SimNodes() {
		t.Simulated = true
		t.Nodes = append(t.Nodes, TopoNode{ID: n.Name, Kind: "6ln", Address: n.Address, Status: n.Status})
	}
	return t
}
