package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// Run-time controls of a mesh, to rehearse failures while it runs: cut and
// restore links, change their loss, add, remove and restart nodes. "br"
// names the border router's radio in link commands.

// Errors of the run-time controls, wrapped with the names involved.
var (
	// ErrUnknownNode: no node of the mesh has that name.
	ErrUnknownNode = errors.New("no such node")
	// ErrNotInRange: the two nodes are not in range of each other as
	// placed: there is no link to cut, restore or change.
	ErrNotInRange = errors.New("not in range of each other: no link")
	// ErrBadLoss: a loss that is not a probability.
	ErrBadLoss = errors.New("want a probability from 0 to 1")
	// ErrMeshFull: the mesh already has MaxMeshNodes nodes.
	ErrMeshFull = errors.New("the mesh is full")
	// ErrBorderRouter: the border router's radio cannot be removed or
	// restarted as a node (its RCP can be reset instead).
	ErrBorderRouter = errors.New("br is the border router's radio, not a node (reset its RCP instead)")
	// ErrMeshStopped: the mesh's context ended.
	ErrMeshStopped = errors.New("the mesh has stopped")
)

// Point is a place in the simulated plane, in radio ranges: two nodes
// closer than one unit hear each other (unless the mesh is a star, where
// all do).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// LinkInfo is a link between two nodes in range, both ways.
type LinkInfo struct {
	A, B string
	// RSSI at either end (the medium's links are symmetric here), and the
	// LQI that follows from it (medium.LQIFromRSSI).
	RSSI int8
	LQI  uint8
	// Loss is the probability a frame is lost on the link.
	Loss float64
	// Cut: the link was cut (CutLink, or a disconnected override in the
	// configuration) and can be restored.
	Cut bool
}

// pair names a link, its names in order.
type pair struct{ a, b string }

func pairOf(a, b string) pair {
	if b < a {
		a, b = b, a
	}
	return pair{a, b}
}

// linkMod is a link changed from the placement.
type linkMod struct {
	loss    float64
	hasLoss bool // loss replaces the mesh's
	cut     bool
}

// namesLocked lists the nodes' names in order. Callers hold mu.
func (m *Mesh) namesLocked() []string {
	names := make([]string, len(m.nodes))
	for i, n := range m.nodes {
		names[i] = n.cfg.Name
	}
	return names
}

// radioLocked is the medium node of a name; nil for none. Callers hold mu.
func (m *Mesh) radioLocked(name string) *medium.Node {
	if name == "br" {
		return m.br
	}
	if n := m.nodeLocked(name); n != nil {
		return n.radio.node
	}
	return nil
}

// inRangeLocked: the two are in range as placed. Callers hold mu.
func (m *Mesh) inRangeLocked(a, b string) bool {
	if m.blocked[pairOf(a, b)] {
		return false
	}
	return m.everyone || inRange(m.pos[a], m.pos[b])
}

// infoLocked is the link between a and b as it stands. Callers hold mu.
func (m *Mesh) infoLocked(a, b string) LinkInfo {
	d := dist(m.pos[a], m.pos[b])
	if m.everyone {
		d = 0 // a star: every pair as if side by side
	}
	rssi := rssiAt(d)
	l := LinkInfo{A: a, B: b, RSSI: rssi, LQI: medium.LQIFromRSSI(rssi), Loss: m.loss}
	if mod, ok := m.mods[pairOf(a, b)]; ok {
		if mod.hasLoss {
			l.Loss = mod.loss
		}
		l.Cut = mod.cut
	}
	return l
}

// applyLocked sets the medium's link between a and b, both ways, from the
// placement and the changes in force. Callers hold mu.
func (m *Mesh) applyLocked(a, b string) {
	ra, rb := m.radioLocked(a), m.radioLocked(b)
	if ra == nil || rb == nil {
		return
	}
	l := medium.Link{Disconnected: true}
	if m.inRangeLocked(a, b) {
		if info := m.infoLocked(a, b); !info.Cut {
			l = medium.Link{Loss: info.Loss, RSSI: info.RSSI}
		}
	}
	m.med.SetLink(ra, rb, l)
	m.med.SetLink(rb, ra, l)
}

// Positions returns where the border router ("br") and each node are
// placed, in radio ranges from the border router, which is at the origin.
// A star's nodes are drawn on a circle of half a range around it; every
// one of them is in range of every other regardless.
func (m *Mesh) Positions() map[string]Point {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.pos["br"]
	out := make(map[string]Point, len(m.pos))
	for name, p := range m.pos {
		// Rounded to a thousandth of a range (+0 turns −0 into 0).
		out[name] = Point{math.Round((p.x-o.x)*1000)/1000 + 0, math.Round((p.y-o.y)*1000)/1000 + 0}
	}
	return out
}

// Links returns the links between nodes in range, each pair once, the
// border router's first. In a star, where every node hears every other,
// only the border router's links and the links changed from the
// placement are listed: the others (N² of them) carry nothing in a mesh
// of hosts that talk only to the border router.
func (m *Mesh) Links() []LinkInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := append([]string{"br"}, m.namesLocked()...)
	// The placement first, by index: the distance test is plain
	// arithmetic, and only pairs in range pay for the map lookups (at
	// 300 nodes, 1,252 of 45,150 pairs).
	pos := make([]point, len(names))
	for i, n := range names {
		pos[i] = m.pos[n]
	}
	var out []LinkInfo
	for i, a := range names {
		if m.everyone && i > 0 {
			break // a star: the border router's links here, changed ones below
		}
		for j := i + 1; j < len(names); j++ {
			if !m.everyone && !inRange(pos[i], pos[j]) {
				continue
			}
			if b := names[j]; !m.blocked[pairOf(a, b)] {
				out = append(out, m.infoLocked(a, b))
			}
		}
	}
	if m.everyone {
		// Between nodes of a star only the links changed from the
		// placement are listed (every pair is in range: 45,000 at 300).
		index := make(map[string]int, len(names))
		for i, n := range names {
			index[n] = i
		}
		var changed []pair
		for p := range m.mods {
			_, okA := index[p.a]
			_, okB := index[p.b]
			if okA && okB && p.a != "br" && p.b != "br" && !m.blocked[p] {
				changed = append(changed, p)
			}
		}
		slices.SortFunc(changed, func(x, y pair) int {
			if c := cmp.Compare(min(index[x.a], index[x.b]), min(index[y.a], index[y.b])); c != 0 {
				return c
			}
			return cmp.Compare(max(index[x.a], index[x.b]), max(index[y.a], index[y.b]))
		})
		for _, p := range changed {
			a, b := p.a, p.b
			if index[b] < index[a] {
				a, b = b, a
			}
			out = append(out, m.infoLocked(a, b))
		}
	}
	return out
}

// linkLocked checks that a and b name two nodes in range. Callers hold mu.
func (m *Mesh) linkLocked(a, b string) (pair, error) {
	for _, n := range []string{a, b} {
		if m.radioLocked(n) == nil {
			return pair{}, fmt.Errorf("sim: link %s–%s: %w %q", a, b, ErrUnknownNode, n)
		}
	}
	if a == b {
		return pair{}, fmt.Errorf("sim: link %s–%s: %w", a, b, ErrNotInRange)
	}
	if !m.inRangeLocked(a, b) {
		return pair{}, fmt.Errorf("sim: link %s–%s: %w", a, b, ErrNotInRange)
	}
	return pairOf(a, b), nil
}

// CutLink cuts the link between a and b, both ways: neither hears the
// other until RestoreLink. ErrNotInRange when there is no link to cut.
func (m *Mesh) CutLink(a, b string) error {
	return m.changeLink(a, b, func(mod *linkMod) { mod.cut = true })
}

// RestoreLink puts back the link between a and b as placed, with the loss
// in force (SetLoss, SetLossAll). Restoring a link that is not cut does
// nothing.
func (m *Mesh) RestoreLink(a, b string) error {
	return m.changeLink(a, b, func(mod *linkMod) { mod.cut = false })
}

// SetLoss sets the loss of the link between a and b, both ways; a cut
// link stays cut, with that loss once restored.
func (m *Mesh) SetLoss(a, b string, loss float64) error {
	if err := checkLoss(loss); err != nil {
		return fmt.Errorf("sim: link %s–%s: %w", a, b, err)
	}
	return m.changeLink(a, b, func(mod *linkMod) { mod.loss, mod.hasLoss = loss, true })
}

func (m *Mesh) changeLink(a, b string, change func(*linkMod)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.linkLocked(a, b)
	if err != nil {
		return err
	}
	mod := m.mods[p]
	change(&mod)
	if mod == (linkMod{}) {
		delete(m.mods, p)
	} else {
		m.mods[p] = mod
	}
	m.applyLocked(a, b)
	return nil
}

// SetLossAll sets the loss of every link, those of nodes added later too,
// and drops the losses set on single links; cut links stay cut.
func (m *Mesh) SetLossAll(loss float64) error {
	if err := checkLoss(loss); err != nil {
		return fmt.Errorf("sim: every link: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loss = loss
	for p, mod := range m.mods {
		mod.loss, mod.hasLoss = 0, false
		if mod == (linkMod{}) {
			delete(m.mods, p)
		} else {
			m.mods[p] = mod
		}
	}
	names := append([]string{"br"}, m.namesLocked()...)
	for i, a := range names {
		for _, b := range names[i+1:] {
			if m.inRangeLocked(a, b) {
				m.applyLocked(a, b)
			}
		}
	}
	return nil
}

func checkLoss(loss float64) error {
	if !(loss >= 0 && loss <= 1) { // NaN too
		return fmt.Errorf("loss %v: %w", loss, ErrBadLoss)
	}
	return nil
}

// AddNode adds a node named n<i+1> (i the index of the next node, past
// the configured nodes and intruders) with its EUI-64 (NodeEUI64(i)) and
// the role the mesh's rules give it (RPL router or leaf; a host in a
// star or at the end of a line; a 6LR otherwise), placed at random within
// range of the node named near ("" for any node of the mesh, the border
// router included), with the links its place gives it; it runs until the
// mesh's context ends. ctx bounds nothing yet but is the caller's.
func (m *Mesh) AddNode(ctx context.Context, near string) (*Node, error) {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("sim: add node: %w", ErrMeshStopped)
	}
	if len(m.nodes) >= MaxMeshNodes {
		m.mu.Unlock()
		return nil, fmt.Errorf("sim: add node: %w: %d nodes (at most %d)", ErrMeshFull, len(m.nodes), MaxMeshNodes)
	}
	if near != "" && m.radioLocked(near) == nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("sim: add node near %q: %w %q", near, ErrUnknownNode, near)
	}
	i := m.next
	for m.nodeLocked(NodeName(i)) != nil { // a name taken by an intruder's EUI-64 never is
		i++
	}
	rng := rand.New(rand.NewPCG(m.cfg.Seed, uint64(i)))
	if near == "" {
		names := append([]string{"br"}, m.namesLocked()...)
		near = names[rng.IntN(len(names))]
	}
	// Half to nine tenths of a range away: in range of near, and perhaps
	// of its neighbours.
	a, d := 2*math.Pi*rng.Float64(), 0.5+0.4*rng.Float64()
	at := point{m.pos[near].x + d*math.Cos(a), m.pos[near].y + d*math.Sin(a)}
	m.mu.Unlock()

	var key *nd.APNDKey
	var err error
	if m.cfg.Protect {
		if key, err = m.cfg.nodeKey(NodeName(i), NodeEUI64(i)); err != nil {
			return nil, err
		}
	}
	n, err := AttachNode(m.med, m.cfg.nodeConfig(i, key))
	if err != nil {
		return nil, fmt.Errorf("sim: add node %s: %w", NodeName(i), err)
	}
	m.mu.Lock()
	m.next = i + 1
	m.nodes = append(m.nodes, n)
	m.pos[n.cfg.Name] = at
	m.applyAllLocked(n.cfg.Name)
	m.mu.Unlock()
	m.start(n)
	m.cfg.Logger.Debug("simulator: node added", "node", n.cfg.Name, "near", near, "role", n.cfg.Role)
	return n, nil
}

// applyAllLocked sets the links of name with the border router and every
// other node. Callers hold mu.
func (m *Mesh) applyAllLocked(name string) {
	m.applyLocked("br", name)
	for _, o := range m.nodes {
		if o.cfg.Name != name {
			m.applyLocked(name, o.cfg.Name)
		}
	}
}

// stop ends a node's run and waits for it, or for ctx.
func (m *Mesh) stop(ctx context.Context, n *Node) error {
	m.mu.Lock()
	run := m.runs[n]
	m.mu.Unlock()
	if run == nil {
		return nil
	}
	run.cancel()
	select {
	case <-run.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sim: node %s did not stop: %w", n.cfg.Name, ctx.Err())
	}
}

// RemoveNode switches the node off and takes it away: it stops, its radio
// leaves the medium, and it is gone from Nodes. What it registered stays
// at the 6LBR until its lifetime runs out, as when a device dies.
func (m *Mesh) RemoveNode(ctx context.Context, name string) error {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	n, err := m.controlled(name)
	if err != nil {
		return err
	}
	if err := m.stop(ctx, n); err != nil {
		return err
	}
	n.radio.node.Detach()
	m.mu.Lock()
	m.nodes = slices.DeleteFunc(m.nodes, func(o *Node) bool { return o == n })
	delete(m.runs, n)
	delete(m.victims, n)
	delete(m.pos, name)
	for p := range m.mods {
		if p.a == name || p.b == name {
			delete(m.mods, p)
		}
	}
	for p := range m.blocked {
		if p.a == name || p.b == name {
			delete(m.blocked, p)
		}
	}
	m.mu.Unlock()
	m.cfg.Logger.Debug("simulator: node removed", "node", name)
	return nil
}

// RestartNode reboots the node: it stops and loses everything it knew
// (its router, prefix, registration, RPL parent and rank, routes), and
// comes back at the same place with the same name, EUI-64 and key, as a
// device that lost power. It then solicits a router and registers again,
// as RIOT does after a reboot (gnrc_ipv6_nib starts empty: the 6LN sends
// RSs, then NS(EARO); gnrc_rpl rejoins with a DIS). Its TID starts over
// at 240 (RFC 8505 §5.2.1: a counter that restarts in the lollipop's
// linear region): a 6LBR that holds a newer TID of the previous run answers
// "moved" (RFC 8505 §5.2) until the node's retries step it past that one.
// The medium's links of the node and the changes made to them stay.
func (m *Mesh) RestartNode(ctx context.Context, name string) (*Node, error) {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	old, err := m.controlled(name)
	if err != nil {
		return nil, err
	}
	if err := m.stop(ctx, old); err != nil {
		return nil, err
	}
	old.radio.node.Detach()
	n, err := AttachNode(m.med, old.cfg)
	if err != nil {
		return nil, fmt.Errorf("sim: restart node %s: %w", name, err)
	}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		n.radio.Close()
		n.radio.node.Detach()
		return nil, fmt.Errorf("sim: restart node %s: %w", name, ErrMeshStopped)
	}
	i := slices.Index(m.nodes, old)
	m.nodes[i] = n
	delete(m.runs, old)
	if v, ok := m.victims[old]; ok {
		delete(m.victims, old)
		m.victims[n] = v
	}
	m.applyAllLocked(name)
	m.mu.Unlock()
	m.start(n)
	m.cfg.Logger.Debug("simulator: node restarted", "node", name)
	return n, nil
}

// controlled finds the node a control names.
func (m *Mesh) controlled(name string) (*Node, error) {
	if name == "br" {
		return nil, fmt.Errorf("sim: node br: %w", ErrBorderRouter)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return nil, fmt.Errorf("sim: node %s: %w", name, ErrMeshStopped)
	}
	n := m.nodeLocked(name)
	if n == nil {
		return nil, fmt.Errorf("sim: %w %q", ErrUnknownNode, name)
	}
	return n, nil
}
