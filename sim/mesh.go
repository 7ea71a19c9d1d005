package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// Topology names a shape of simulated mesh around the border router.
type Topology string

const (
	// Star: every node in range of the border router (and of each other);
	// all 6LNs.
	Star Topology = "star"
	// Line: a chain border router – n1 – n2 – … – nN, each in range of its
	// neighbours only; n1…nN-1 are 6LRs, nN a 6LN, so nN is N hops away.
	Line Topology = "line"
	// Grid: the border router at a corner of a Rows × Cols grid, the nodes
	// on the other points, each in range of its four neighbours; all 6LRs.
	Grid Topology = "grid"
	// Random: nodes placed at random (from Seed) around the border router,
	// in range when closer than one unit, redrawn until connected; all
	// 6LRs.
	Random Topology = "random"
)

// MaxMeshNodes bounds a simulated mesh: the medium keeps a link per pair.
const MaxMeshNodes = 1000

// LinkOverride changes the link between two nodes ("br" is the border
// router), both ways.
type LinkOverride struct {
	A, B         string
	Loss         float64
	Disconnected bool
}

// MeshConfig describes the simulated mesh.
type MeshConfig struct {
	Topology Topology
	// Nodes is the number of nodes (star, line, random). For a grid it is
	// derived from Rows × Cols (less the border router's point).
	Nodes      int
	Rows, Cols int
	// Seed drives the random placement, the medium's losses (as the
	// daemon seeds it) and, with each node's name and EUI-64, the jitter of
	// the nodes' timers.
	Seed uint64
	// Loss is the probability that a frame is lost on any link.
	Loss float64
	// Links overrides single links.
	Links []LinkOverride
	// Intruders names nodes whose address another node tries to register
	// once the named node holds it, as "NODE" or "NODE:VARIANT" (see
	// IntruderVariant): by default ("intruder-<name>") under its own ROVR,
	// when it must get DUPLICATE and stay without an address; the other
	// variants ("intruder-<name>-<variant>") copy the victim's ROVR, and
	// make the victim register with a Crypto-ID (RFC 8928) so that it can
	// be defended. Every variant must be refused.
	Intruders []string
	// Protect makes every node register with a Crypto-ID (RFC 8928) of
	// CryptoType, its key derived from Seed, its name and its EUI-64; an
	// AP-ND 6LR also challenges its children. Nodes an intruder copies are
	// protected whatever Protect says.
	Protect    bool
	CryptoType nd.CryptoType
	Channel    uint8
	PANID      uint16
	// Lifetime of the nodes' registrations (default 10 minutes).
	Lifetime time.Duration
	// Routing: RoutingRPL (every node a RPL router under the border
	// router's DODAG root, RIOT-style, see rplnode.go) or RoutingND (the
	// default: 6LNs, and 6LRs relaying registrations by EDAR).
	Routing Routing
	// Leaves is the fraction (0 to 1) of the nodes of a RPL mesh that are
	// RPL-unaware leaves (RFC 9010 RULs: 6LoWPAN-ND only, advertised by
	// the RPL router they register with), spread evenly: with 0.25 every
	// fourth node.
	Leaves float64
	// LegacyTargets: the RPL routers' DAO Targets carry no RFC 9010 ROVR
	// (NodeConfig.LegacyTargets), for meshes shared with RIOT routers,
	// which drop DAOs whose Targets carry one.
	LegacyTargets bool
	Logger        *slog.Logger
}

// IntruderVariant is how an intruder goes after its victim's address.
type IntruderVariant string

// Intruder variants. All but IntruderOwnROVR copy the victim's ROVR — the
// victim's EUI-64 or Crypto-ID, heard on the air — and a TID ahead of the
// victim's, which would win without AP-ND (RFC 8505 §5.2); "-legacy"
// ones send a plain EARO (C flag clear), the others claim the copied ROVR
// as a Crypto-ID and answer the challenge with the intruder's own key.
const (
	// IntruderOwnROVR: the intruder's own ROVR; refused as a duplicate
	// (RFC 8505 §5.3).
	IntruderOwnROVR IntruderVariant = ""
	// IntruderROVR / IntruderROVRLegacy: the copied ROVR, a newer TID.
	IntruderROVR       IntruderVariant = "rovr"
	IntruderROVRLegacy IntruderVariant = "rovr-legacy"
	// IntruderLifetime0 / IntruderLifetime0Legacy: the copied ROVR, a
	// newer TID and lifetime 0, to delete the victim's registration.
	IntruderLifetime0       IntruderVariant = "lifetime0"
	IntruderLifetime0Legacy IntruderVariant = "lifetime0-legacy"
	// IntruderRelayed / IntruderRelayedLegacy: the copied ROVR and a newer
	// TID, from out of the border router's range, so that a 6LR relays
	// the registration to the 6LBR in an EDAR (RFC 8505 §6.1). An AP-ND
	// 6LR challenges the first; the second reaches the 6LBR in an EDAR
	// without status 5, which the 6LBR answers with status 5 in the EDAC
	// for a protected address, and the 6LR then challenges the intruder
	// (RFC 8928 §6).
	IntruderRelayed       IntruderVariant = "relayed"
	IntruderRelayedLegacy IntruderVariant = "relayed-legacy"
)

var intruderVariants = map[IntruderVariant]attack{
	IntruderOwnROVR:         {},
	IntruderROVR:            {copyROVR: true, cflag: true},
	IntruderROVRLegacy:      {copyROVR: true},
	IntruderLifetime0:       {copyROVR: true, cflag: true, deregister: true},
	IntruderLifetime0Legacy: {copyROVR: true, deregister: true},
	IntruderRelayed:         {copyROVR: true, cflag: true},
	IntruderRelayedLegacy:   {copyROVR: true},
}

// parseIntruder splits "NODE[:VARIANT]".
func parseIntruder(s string) (node string, v IntruderVariant) {
	node, variant, _ := strings.Cut(s, ":")
	return node, IntruderVariant(variant)
}

// intruderName is the intruder's node name.
func intruderName(node string, v IntruderVariant) string {
	if v == IntruderOwnROVR {
		return "intruder-" + node
	}
	return "intruder-" + node + "-" + string(v)
}

func (v IntruderVariant) relayed() bool { return v == IntruderRelayed || v == IntruderRelayedLegacy }

// Validate checks the configuration and fills in derived values.
func (c *MeshConfig) Validate() error {
	switch c.Topology {
	case "":
		c.Topology = Star
	case Star, Line, Random:
	case Grid:
		if c.Rows < 1 || c.Cols < 1 || c.Rows*c.Cols < 2 {
			return fmt.Errorf("sim: grid of %d × %d: rows and cols must be at least 1 and leave a point beside the border router", c.Rows, c.Cols)
		}
		c.Nodes = c.Rows*c.Cols - 1
	default:
		return fmt.Errorf("sim: topology %q: want star, line, grid or random", c.Topology)
	}
	if c.Nodes < 0 || c.Nodes > MaxMeshNodes {
		return fmt.Errorf("sim: %d nodes: want 0 to %d", c.Nodes, MaxMeshNodes)
	}
	if c.Loss < 0 || c.Loss >= 1 || math.IsNaN(c.Loss) {
		return fmt.Errorf("sim: loss %v: want a probability in [0, 1)", c.Loss)
	}
	names := map[string]bool{"br": true}
	for i := range c.Nodes {
		names[NodeName(i)] = true
	}
	for _, l := range c.Links {
		if !names[l.A] || !names[l.B] || l.A == l.B {
			return fmt.Errorf("sim: link override %s–%s: names two distinct nodes of the mesh (br, n1…n%d)", l.A, l.B, c.Nodes)
		}
		if l.Loss < 0 || l.Loss > 1 || math.IsNaN(l.Loss) {
			return fmt.Errorf("sim: link override %s–%s: loss %v: want a probability in [0, 1]", l.A, l.B, l.Loss)
		}
	}
	seen := map[string]bool{}
	for _, in := range c.Intruders {
		n, v := parseIntruder(in)
		if !names[n] || n == "br" {
			return fmt.Errorf("sim: intruder for %q: no such node (n1…n%d)", n, c.Nodes)
		}
		if _, ok := intruderVariants[v]; !ok {
			return fmt.Errorf("sim: intruder %q: no variant %q (rovr, rovr-legacy, lifetime0, lifetime0-legacy, relayed, relayed-legacy)", in, v)
		}
		if v.relayed() && c.Topology == Star {
			return fmt.Errorf("sim: intruder %q: a relayed intruder needs 6LRs (line, grid or random topology)", in)
		}
		if seen[intruderName(n, v)] {
			return fmt.Errorf("sim: intruder %q given twice", in)
		}
		seen[intruderName(n, v)] = true
	}
	if c.Protect && !c.CryptoType.Supported() {
		return fmt.Errorf("sim: Crypto-Type %v: want %v or %v", c.CryptoType, nd.CryptoECDSAP256, nd.CryptoEd25519)
	}
	switch c.Routing {
	case "":
		// RoutingRPL is to become the default for line, grid and random
		// meshes once the border router is a RPL root (issue 14); until
		// then its routes to nodes behind 6LRs come from EDARs only.
		c.Routing = RoutingND
	case RoutingND, RoutingRPL:
	default:
		return fmt.Errorf("sim: routing %q: want rpl or nd", c.Routing)
	}
	if c.Leaves < 0 || c.Leaves > 1 || math.IsNaN(c.Leaves) {
		return fmt.Errorf("sim: leaves %v: want a fraction in [0, 1]", c.Leaves)
	}
	if c.Leaves > 0 && c.Routing != RoutingRPL {
		return fmt.Errorf("sim: leaves %v: RPL-unaware leaves need routing rpl", c.Leaves)
	}
	if c.Lifetime == 0 {
		c.Lifetime = 10 * time.Minute
	}
	if c.Lifetime < time.Minute {
		return fmt.Errorf("sim: registration lifetime %v: at least 1m (the EARO counts minutes)", c.Lifetime)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// NodeName is the name of the i-th node (from 0): n1, n2, …
func NodeName(i int) string { return fmt.Sprintf("n%d", i+1) }

// NodeEUI64 is the EUI-64 of the i-th node (from 0): 02:00:00:00:00:00
// followed by 0x101+i, so node n1's IID is ::101 (n10's ::10a), clear of
// the border router's ::1.
func NodeEUI64(i int) [8]byte {
	v := 0x101 + i
	return [8]byte{0x02, 0, 0, 0, 0, 0, byte(v >> 8), byte(v)}
}

type point struct{ x, y float64 }

func dist(a, b point) float64 { return math.Hypot(a.x-b.x, a.y-b.y) }

// placement returns the positions of the border router (index 0) and the
// nodes (1…), and whether every pair is in range regardless (star).
func (c *MeshConfig) placement() ([]point, bool, error) {
	pts := make([]point, c.Nodes+1)
	switch c.Topology {
	case Star:
		return pts, true, nil
	case Line:
		for i := range pts {
			pts[i] = point{float64(i), 0}
		}
	case Grid:
		for i := range pts {
			pts[i] = point{float64(i % c.Cols), float64(i / c.Cols)}
		}
	case Random:
		// A square holding about 3 nodes per unit of area keeps the
		// expected degree near 9 and the graph usually connected.
		side := math.Max(1, math.Sqrt(float64(c.Nodes)/3))
		rng := rand.New(rand.NewPCG(c.Seed, 0x6c6f7770616e))
		for try := 0; ; try++ {
			if try == 200 {
				return nil, false, fmt.Errorf("sim: no connected random placement of %d nodes from seed %d", c.Nodes, c.Seed)
			}
			pts[0] = point{side / 2, side / 2}
			for i := 1; i < len(pts); i++ {
				pts[i] = point{rng.Float64() * side, rng.Float64() * side}
			}
			if connected(pts) {
				break
			}
		}
	}
	return pts, false, nil
}

// inRange is the unit-disc model of the mesh (1.01 absorbs rounding).
func inRange(a, b point) bool { return dist(a, b) <= 1.01 }

func connected(pts []point) bool {
	seen := make([]bool, len(pts))
	seen[0] = true
	queue, count := []int{0}, 1
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for j := range pts {
			if !seen[j] && inRange(pts[i], pts[j]) {
				seen[j] = true
				count++
				queue = append(queue, j)
			}
		}
	}
	return count == len(pts)
}

// rssiAt maps distance to signal strength: -45 dBm next to the sender,
// -85 dBm at the edge of range.
func rssiAt(d float64) int8 { return int8(-45 - 40*math.Min(d, 1)) }

// Mesh is a running simulated mesh. Its nodes, their placement and the
// changes made to links at run time (meshcontrol.go) are guarded by mu;
// the run-time controls are serialised by ctl, held across the waits for
// a node to stop, so that mu is only ever held briefly.
type Mesh struct {
	cfg      MeshConfig
	med      *medium.Medium
	br       *medium.Node
	ctx      context.Context // StartMesh's: every node runs under a child of it
	everyone bool            // a star: every pair in range, wherever placed
	wg       sync.WaitGroup

	ctl sync.Mutex

	mu    sync.Mutex
	nodes []*Node
	runs  map[*Node]*nodeRun
	// victims maps an intruder to the name of the node it imitates.
	victims map[*Node]string
	pos     map[string]point // "br" and every node, in radio ranges
	// blocked pairs are never in range (a relayed intruder and the border
	// router); mods are the links changed from the placement, by the
	// configuration's overrides and the run-time controls.
	blocked map[pair]bool
	mods    map[pair]linkMod
	loss    float64 // the loss of every link without a mod of its own
	next    int     // the index of the next node AddNode makes
}

// nodeRun is a node's run: its own context, so that one node can stop.
type nodeRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// StartMesh attaches the configured nodes to m, sets the links between them
// and the border router's node br, and runs every node until ctx ends.
// Intruders start once the node they imitate is registered.
func StartMesh(ctx context.Context, m *medium.Medium, br *medium.Node, cfg MeshConfig) (*Mesh, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pts, everyone, err := cfg.placement()
	if err != nil {
		return nil, err
	}
	mesh := &Mesh{cfg: cfg, med: m, br: br, ctx: ctx, everyone: everyone, runs: make(map[*Node]*nodeRun),
		victims: make(map[*Node]string), pos: map[string]point{"br": pts[0]}, blocked: make(map[pair]bool),
		mods: make(map[pair]linkMod), loss: cfg.Loss, next: cfg.Nodes + len(cfg.Intruders)}
	if everyone {
		// A star's nodes are all in range whatever their places; they are
		// drawn on a circle around the border router.
		for i := 1; i < len(pts); i++ {
			a := 2 * math.Pi * float64(i-1) / float64(cfg.Nodes)
			pts[i] = point{0.5 * math.Cos(a), 0.5 * math.Sin(a)}
		}
	}
	fail := func(err error) (*Mesh, error) {
		for _, n := range mesh.nodes {
			n.radio.Close()
			n.radio.node.Detach()
		}
		return nil, err
	}
	victims := map[string]bool{}
	for _, in := range cfg.Intruders {
		if n, v := parseIntruder(in); intruderVariants[v].copyROVR {
			victims[n] = true
		}
	}
	for i := range cfg.Nodes {
		var key *nd.APNDKey
		if cfg.Protect || victims[NodeName(i)] {
			if key, err = cfg.nodeKey(NodeName(i), NodeEUI64(i)); err != nil {
				return fail(err)
			}
		}
		n, err := AttachNode(m, cfg.nodeConfig(i, key))
		if err != nil {
			return fail(err)
		}
		mesh.nodes = append(mesh.nodes, n)
		mesh.pos[n.cfg.Name] = pts[i+1]
	}
	for k, in := range cfg.Intruders {
		name, v := parseIntruder(in)
		eui := NodeEUI64(cfg.Nodes + k)
		iname := intruderName(name, v)
		// An intruder that copies a ROVR holds a key of its own: with it,
		// it can answer a challenge, but not for a Crypto-ID that is not
		// its own. Today's intruder is a plain node.
		var key *nd.APNDKey
		if v != IntruderOwnROVR {
			if key, err = cfg.nodeKey(iname, eui); err != nil {
				return fail(err)
			}
		}
		n, err := AttachNode(m, NodeConfig{Name: iname, EUI64: eui, Channel: cfg.Channel, PANID: cfg.PANID,
			Lifetime: cfg.Lifetime, Logger: cfg.Logger, Seed: cfg.Seed, Key: key, attack: intruderVariants[v]})
		if err != nil {
			return fail(err)
		}
		mesh.victims[n] = name
		mesh.nodes = append(mesh.nodes, n)
		mesh.pos[iname] = mesh.pos[name]
		if v.relayed() {
			// Out of the border router's range: only 6LRs hear it.
			mesh.blocked[pairOf(iname, "br")] = true
		}
	}
	for _, o := range cfg.Links {
		mesh.mods[pairOf(o.A, o.B)] = linkMod{loss: o.Loss, hasLoss: true, cut: o.Disconnected}
	}
	mesh.mu.Lock()
	names := append([]string{"br"}, mesh.namesLocked()...)
	for i, a := range names {
		for _, b := range names[i+1:] {
			mesh.applyLocked(a, b)
		}
	}
	mesh.mu.Unlock()
	for _, n := range mesh.nodes {
		mesh.start(n)
	}
	return mesh, nil
}

// nodeConfig is the configuration of the i-th node (from 0): its name,
// EUI-64 and role by the mesh's rules.
func (c *MeshConfig) nodeConfig(i int, key *nd.APNDKey) NodeConfig {
	role := Router
	switch {
	case c.Routing == RoutingRPL:
		// Every node a RPL router but the leaves, spread evenly.
		if int(float64(i+1)*c.Leaves) > int(float64(i)*c.Leaves) {
			role = Host
		}
	case c.Topology == Star:
		role = Host
	case c.Topology == Line && i >= c.Nodes-1:
		// The far end of a line, and the nodes added to it, are hosts.
		role = Host
	}
	return NodeConfig{Name: NodeName(i), EUI64: NodeEUI64(i), Channel: c.Channel, PANID: c.PANID,
		Role: role, Lifetime: c.Lifetime, Logger: c.Logger, Seed: c.Seed, Key: key, Routing: c.Routing, LegacyTargets: c.LegacyTargets}
}

// start runs n under a context of its own, a child of the mesh's; an
// intruder first waits for its victim to register.
func (m *Mesh) start(n *Node) {
	ctx, cancel := context.WithCancel(m.ctx)
	run := &nodeRun{cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	m.runs[n] = run
	victim, intruder := m.victims[n]
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(run.done)
		defer cancel()
		if intruder {
			target := m.waitNodeRegistered(ctx, victim)
			if target == nil {
				n.radio.Close()
				return
			}
			n.imitate(target)
		}
		n.Run(ctx)
	}()
}

// waitNodeRegistered waits until the node named name (whichever run of
// it: a restart makes a new Node) is registered; nil when ctx ends first.
func (m *Mesh) waitNodeRegistered(ctx context.Context, name string) *Node {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if n := m.Node(name); n != nil && n.State().Registered {
			return n
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func waitRegistered(ctx context.Context, n *Node) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !n.State().Registered {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// nodeKey derives a node's AP-ND key from the mesh seed, its name and its
// EUI-64, so that a node keeps its Crypto-ID across runs of one seed.
func (c *MeshConfig) nodeKey(name string, eui [8]byte) (*nd.APNDKey, error) {
	t := c.CryptoType
	if !t.Supported() {
		t = nd.CryptoEd25519
	}
	return nd.NewAPNDKey(t, fmt.Appendf(nil, "lowpanbr sim %d %s %x", c.Seed, name, eui))
}

// Nodes returns the mesh's nodes: the configured ones, then intruders,
// then the ones AddNode added; a restarted node keeps its place.
func (m *Mesh) Nodes() []*Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.nodes)
}

// Node returns the named node, or nil.
func (m *Mesh) Node(name string) *Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nodeLocked(name)
}

func (m *Mesh) nodeLocked(name string) *Node {
	for _, n := range m.nodes {
		if n.cfg.Name == name {
			return n
		}
	}
	return nil
}

// Wait waits for the nodes to stop (after the context given to StartMesh
// ends), the ones added at run time included.
func (m *Mesh) Wait() { m.wg.Wait() }

// WaitRegistered waits until every node but the intruders is registered,
// or ctx ends.
func (m *Mesh) WaitRegistered(ctx context.Context) error {
	for _, n := range m.Nodes() {
		m.mu.Lock()
		_, intruder := m.victims[n]
		m.mu.Unlock()
		if intruder {
			continue
		}
		if !waitRegistered(ctx, n) {
			return fmt.Errorf("sim: node %s not registered: %w", n.cfg.Name, context.Cause(ctx))
		}
	}
	return nil
}

// Addr returns the global address node i will have under prefix.
func Addr(prefix netip.Prefix, i int) netip.Addr {
	a := prefix.Masked().Addr().As16()
	iid := linkLocal(NodeEUI64(i)).As16()
	copy(a[8:], iid[8:])
	return netip.AddrFrom16(a)
}
