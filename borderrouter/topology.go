package borderrouter

import (
	"net/netip"

	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim"
)

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
	// Cut: the simulator's link was cut at run time, or disconnected by
	// a sim.links override, and can be restored.
	Cut bool `json:"cut,omitempty"`
}

// Topology reports the mesh as a graph. On the simulator: the border
// router, the simulated 802.15.4 nodes at their places with the links the
// placement gives them (each pair in range once, cut ones flagged; in a
// star only the border router's and the changed ones, sim.Mesh.Links)
// and the BLE nodes. On real radios: the border router, the addresses it
// registered or routes by RPL, and the neighbours its link heard.
func (b *BorderRouter) Topology() Topology {
	brLink := b.link.LinkAddr().String()
	t := Topology{Nodes: []TopoNode{{ID: "br", Kind: "6lbr", Address: b.global.String(), LinkAddr: brLink, Status: "registered"}},
		Links: []TopoLink{}}
	mesh := b.simMesh()
	for _, n := range b.bleNodes {
		t.Simulated = true
		st := n.State()
		j := TopoNode{ID: n.Name(), Kind: "ble", LinkAddr: n.Addr().String(), Status: topoStatus(st)}
		if st.Global.IsValid() {
			j.Address = st.Global.String()
		}
		if st.Registered {
			j.Parent, j.Hops = "br", 1
		}
		t.Nodes = append(t.Nodes, j)
		t.Links = append(t.Links, TopoLink{A: "br", B: n.Name(), Kind: "ble"})
	}
	if mesh == nil {
		// Real 802.15.4 radio (or a simulator whose mesh is not up yet).
		b.realTopology(&t)
		return t
	}
	t.Simulated = true
	nodes := mesh.Nodes()
	pos := mesh.Positions()
	if p, ok := pos["br"]; ok {
		t.Nodes[0].X, t.Nodes[0].Y = &p.X, &p.Y
	}
	// Parents are named by link-local or link-layer address: map both to
	// names, the border router's to "br".
	byAddr := map[string]string{brLink: "br", linkLocalOf(b.link.ExtAddr()).String(): "br"}
	for _, n := range nodes {
		byAddr[n.LinkAddr().String()] = n.Name()
		byAddr[n.LinkLocal().String()] = n.Name()
	}
	first := len(t.Nodes)
	for _, n := range nodes {
		st := n.State()
		cfg := n.Config()
		j := TopoNode{ID: n.Name(), Kind: "6ln", LinkAddr: n.LinkAddr().String(), Status: topoStatus(st)}
		switch r, rplRouter := n.RPL(); {
		case rplRouter:
			j.Kind = "6lr"
			if r.Parent.IsValid() {
				j.Parent = b.parentName(byAddr, r.Parent.String())
			}
		case cfg.Role == sim.Router:
			j.Kind = "6lr"
		case cfg.Routing == sim.RoutingRPL:
			j.Kind = "rul"
		}
		if j.Parent == "" && st.Router.IsValid() {
			j.Parent = b.parentName(byAddr, st.RouterMAC.String())
		}
		if st.Global.IsValid() {
			j.Address = st.Global.String()
		}
		if p, ok := pos[n.Name()]; ok {
			j.X, j.Y = &p.X, &p.Y
		}
		t.Nodes = append(t.Nodes, j)
	}
	setHops(t.Nodes[first:])
	for _, l := range mesh.Links() {
		t.Links = append(t.Links, TopoLink{A: l.A, B: l.B, Kind: "802.15.4", RSSI: l.RSSI, LQI: l.LQI, Loss: l.Loss, Cut: l.Cut})
	}
	return t
}

// topoStatus is a simulated node's status in the graph: simStatus, with
// "registered" for the router's "success" answer to a registration in
// force.
func topoStatus(st sim.NodeState) string {
	if s := simStatus(st); s != "success" || !st.Registered {
		return s
	}
	return "registered"
}

// parentName names a node's parent by its address: a node's name, "br",
// else the address itself (a ZEP peer, say).
func (b *BorderRouter) parentName(byAddr map[string]string, addr string) string {
	if name, ok := byAddr[addr]; ok {
		return name
	}
	if addr == b.link.LinkAddr().String() || addr == linkLocalOf(b.link.ExtAddr()).String() {
		return "br"
	}
	return addr
}

// setHops sets each node's hops from its chain of parents to "br"; a chain
// that does not reach it (a parent unknown, a loop) leaves 0.
func setHops(nodes []TopoNode) {
	byID := make(map[string]int, len(nodes))
	for i, n := range nodes {
		byID[n.ID] = i
	}
	var hops func(i, depth int) int
	hops = func(i, depth int) int {
		n := &nodes[i]
		switch {
		case n.Hops > 0:
			return n.Hops
		case n.Parent == "br":
			n.Hops = 1
		case depth > len(nodes):
			return 0 // a loop
		default:
			p, ok := byID[n.Parent]
			if !ok {
				return 0
			}
			if h := hops(p, depth+1); h > 0 {
				n.Hops = h + 1
			}
		}
		return n.Hops
	}
	for i := range nodes {
		hops(i, 0)
	}
}

// realTopology fills t, which holds the border router's node, from what
// the border router knows of a real mesh: its registrations (a node per address, named by its link-layer address
// when registered directly), its RPL routes (a node per target) and the
// neighbours its link heard (the links, with RSSI and LQI).
func (b *BorderRouter) realTopology(t *Topology) {
	idOf := map[string]string{} // address → node ID
	known := map[string]bool{}  // addresses of the nodes t holds (simulated BLE nodes)
	for _, n := range t.Nodes {
		known[n.Address] = true
	}
	var regs []Registration
	for _, r := range b.Registrations() {
		if a, err := netip.ParseAddr(r.Address); err == nil && a.IsLinkLocalUnicast() || known[r.Address] {
			continue // a node's link-local registration (the same node), or a node t has
		}
		regs = append(regs, r)
		id := r.Address
		if r.LinkAddr != "" {
			id = r.LinkAddr
		}
		idOf[r.Address] = id
	}
	seen := map[string]bool{}
	for _, n := range t.Nodes {
		seen[n.ID] = true
	}
	add := func(n TopoNode) {
		if !seen[n.ID] {
			seen[n.ID] = true
			t.Nodes = append(t.Nodes, n)
		}
	}
	for _, r := range regs {
		n := TopoNode{ID: idOf[r.Address], Kind: "6ln", Address: r.Address, LinkAddr: r.LinkAddr, Status: "registered", Parent: "br"}
		if r.Via != "" {
			n.Parent = r.Via
			if id, ok := idOf[r.Via]; ok {
				n.Parent = id
			}
		}
		add(n)
	}
	mop, routes := b.fwd.RPLRoutes()
	for _, r := range routes {
		if r.Target.Bits() != 128 {
			continue
		}
		addr := r.Target.Addr().String()
		if _, ok := idOf[addr]; ok {
			continue
		}
		n := TopoNode{ID: addr, Kind: "6lr", Address: addr, Status: "registered"}
		if r.External {
			n.Kind = "rul"
		}
		switch {
		case len(r.Path) == 0:
		case mop == rpl.MOPNonStoring && len(r.Path) > 1:
			n.Parent = r.Path[len(r.Path)-2].String()
		case mop == rpl.MOPNonStoring, sameIID(r.Path[0], r.Target.Addr()):
			// Storing mode: the root knows the next hop only; a target
			// that is its own next hop is a neighbour, the parent of a
			// deeper one is unknown.
			n.Parent = "br"
		}
		idOf[addr] = addr
		add(n)
	}
	parents := map[string]bool{}
	for i := range t.Nodes {
		if id, ok := idOf[t.Nodes[i].Parent]; ok {
			t.Nodes[i].Parent = id
		}
		parents[t.Nodes[i].Parent] = true
	}
	for i := range t.Nodes {
		if parents[t.Nodes[i].ID] && t.Nodes[i].Kind == "6ln" {
			t.Nodes[i].Kind = "6lr" // others reach the border router through it
		}
	}
	setHops(t.Nodes[1:])
	for _, nb := range b.Neighbors() {
		if !seen[nb.Addr] {
			add(TopoNode{ID: nb.Addr, Kind: "6ln", LinkAddr: nb.Addr, Status: "pending", Parent: "br", Hops: 1})
		}
		t.Links = append(t.Links, TopoLink{A: "br", B: nb.Addr, Kind: "802.15.4", RSSI: nb.RSSI, LQI: nb.LQI})
	}
}

// sameIID: a and b have the same interface identifier.
func sameIID(a, b netip.Addr) bool {
	x, y := a.As16(), b.As16()
	return [8]byte(x[8:]) == [8]byte(y[8:])
}
