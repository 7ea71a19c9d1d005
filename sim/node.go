package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/checksum"
	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/sim/medium"
)

// UDPEchoPort is the port of the simulated nodes' UDP echo service (the
// echo protocol's, RFC 862).
const UDPEchoPort = 7

// Role is what a simulated node does for others.
type Role uint8

const (
	// Host is a 6LN: it registers its own address and nothing more.
	Host Role = iota
	// Router is a 6LR: a 6LN until registered, then a router for nodes
	// further out (RFC 9159 §3.3.2 item 3.b; RFC 6775 §6, §8).
	Router
)

func (r Role) String() string {
	if r == Router {
		return "6LR"
	}
	return "6LN"
}

// NodeConfig describes a simulated node.
type NodeConfig struct {
	Name    string
	EUI64   [8]byte
	Channel uint8
	PANID   uint16
	Role    Role
	// Lifetime of its registration, as it asks for it; it refreshes by the
	// lifetime the router grants in the NA (refreshAfter).
	Lifetime time.Duration
	// ROVR overrides the registration owner (default: the EUI-64), for
	// tests of duplicate registrations.
	ROVR []byte
	// Address overrides the global address (default: prefix + IID from
	// the EUI-64).
	Address netip.Addr
	Logger  *slog.Logger
	// Seed seeds the node's own random source (its timers' jitter),
	// together with its name and link-layer address: the same seed gives
	// every node the same draws, and two nodes different ones.
	Seed uint64
	// Key makes the node use Address-Protected ND (RFC 8928). As a 6LN
	// it registers with its Crypto-ID as ROVR (128 bits, the size RFC
	// 8928 §4.1 recommends) and the EARO's C flag set (§4.2, at RFC 9927
	// §3's bit), and answers a "Validation Requested" challenge carrying a
	// Nonce option with its CIPO, a Nonce option of its own and an NDPSO
	// (§6.1, §6.2). As a 6LR it challenges the children that claim a
	// Crypto-ID before relaying their registration in an EDAR with status
	// 5 (§6, with an nd.APND of its own), and challenges a child when the
	// 6LBR answers status 5 in the EDAC (§6). ROVR, when set, still
	// overrides the ROVR (an intruder's copy).
	Key *nd.APNDKey

	// attack makes the node an intruder (mesh.go's Intruders variants).
	attack attack

	// Routing: RoutingRPL makes a Router a RPL router (rpl.Router, see
	// rplnode.go) registering with its RPL parent and answering its
	// children's registrations itself, and a Host a RPL-unaware leaf
	// (RFC 9010) that asks its router to advertise it (EARO R flag).
	// Empty or RoutingND: 6LoWPAN-ND only, 6LRs relaying by EDAR.
	Routing Routing
	// RPLSeed, when set, seeds the RPL router's draws instead of one
	// derived from Seed and the node's identity.
	RPLSeed uint64
	// LegacyTargets leaves RFC 9010's ROVR out of the RPL router's DAO
	// Targets (its own and its leaves'), as RFC 6550 nodes send them: a
	// RIOT parent drops a whole DAO with a Target longer than 18 octets
	// (gnrc_rpl_validation.c gnrc_rpl_validation_options,
	// GNRC_RPL_OPT_TARGET_LEN), and Wireshark 4.0 calls it malformed.
	LegacyTargets bool

	// renewEvery overrides the renewal interval (refreshAfter), for tests.
	renewEvery time.Duration
}

// Timers of 6LoWPAN Neighbor Discovery. RFC 4861 §10 lets documents for a
// link layer override its constants; RFC 6775 §9 does so for 6LoWPAN
// (hosts solicit less often; 6LRs wait longer before answering and
// advertise less often). None of them is configurable, so none is
// shortened here.
const (
	// MAX_RTR_SOLICITATION_DELAY (RFC 4861 §10, kept by RFC 6775): the
	// first RS waits a random time up to this (RFC 4861 §6.3.7), so that
	// nodes starting together do not solicit together.
	maxRtrSolicitationDelay = time.Second
	// RTR_SOLICITATION_INTERVAL and MAX_RTR_SOLICITATIONS (RFC 6775 §9:
	// 10 s, 3): the first RSs are this far apart (RFC 4861 §6.3.7).
	rtrSolicitationInterval = 10 * time.Second
	maxRtrSolicitations     = 3
	// MAX_RTR_SOLICITATION_INTERVAL (RFC 6775 §9): after the first RSs a
	// host backs off exponentially up to this (RFC 6775 §5.3), and never
	// stops while it has no router.
	maxRtrSolicitationInterval = 60 * time.Second
	// RETRANS_TIMER and MAX_UNICAST_SOLICIT (RFC 4861 §10): an NS(EARO)
	// is a unicast solicitation of the router and is retransmitted like
	// NUD's probes (RFC 6775 §5.5.1), with RFC 7048 §3's exponential
	// backoff and random factor, truncated at MAX_RETRANS_TIMER.
	retransTimer      = time.Second
	maxUnicastSolicit = 3
	maxRetransTimer   = 60 * time.Second
	// MIN_RANDOM_FACTOR and MAX_RANDOM_FACTOR (RFC 4861 §10).
	minRandomFactor = 0.5
	maxRandomFactor = 1.5
	// MAX_RA_DELAY_TIME (RFC 6775 §9: 2 s): a router delays its answer to
	// an RS by a random time up to this (RFC 4861 §6.2.6, "in all
	// cases"), so that the routers around a soliciting node do not all
	// answer at once.
	maxRADelayTime = 2 * time.Second
	// MAX_RTR_ADVERTISEMENTS and MIN_DELAY_BETWEEN_RAS (RFC 6775 §9: 3,
	// 10 s), MAX_INITIAL_RTR_ADVERT_INTERVAL (RFC 4861 §10: 16 s): the
	// unsolicited multicast RAs of a router that has just become one.
	maxRtrAdvertisements        = 3
	minDelayBetweenRAs          = 10 * time.Second
	maxInitialRtrAdvertInterval = 16 * time.Second
	// failedBackoff bounds the wait before a refused registration is tried
	// again.
	failedBackoff = time.Minute
	// refreshMargin is how long before its registration runs out a node
	// registers again, and shortRefresh when granted only one minute: as
	// RIOT's GNRC does (_nib-6ln.c _handle_aro schedules the
	// re-registration (lifetime − 1) minutes after the NA, 30 s when the
	// lifetime is one minute).
	refreshMargin = time.Minute
	shortRefresh  = 30 * time.Second
)

// refreshAfter is how long after a successful registration with lifetime
// granted (in minutes, from the NA's EARO) the node registers again:
// RIOT's schedule (refreshMargin), drawn down by up to 10 % so that
// nodes that registered together do not refresh together (RFC 8415 §15's
// randomisation, as for the RSs; never later than RIOT's point, which
// leaves the margin for the NS's retransmissions).
func (j *jitter) refreshAfter(granted uint16) time.Duration {
	d := time.Duration(granted)*time.Minute - refreshMargin
	if granted <= 1 {
		d = shortRefresh
	}
	return j.scale(d, 0.9, 1)
}

// attack is how an intruder registers another node's address (mesh.go).
type attack struct {
	// copyROVR: register under the victim's ROVR with a TID ahead of the
	// victim's (RFC 8505 §5.2: a newer TID wins for the same ROVR),
	// instead of under the intruder's own ROVR.
	copyROVR bool
	// cflag: claim the copied ROVR as a Crypto-ID (C flag set) and answer
	// challenges with the intruder's own key, which cannot match it.
	cflag bool
	// deregister: send lifetime 0, to remove the victim's registration.
	deregister bool
}

// jitter is a node's own random source for its timers. Run and the receive
// path both draw from it, hence its own lock.
type jitter struct {
	mu  sync.Mutex
	rng *rand.Rand
}

// newJitter seeds a source from seed and the node's identity, so that runs
// are reproducible under a seed and nodes do not draw in step.
func newJitter(seed uint64, name string, addr []byte) *jitter {
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(addr)
	return &jitter{rng: rand.New(rand.NewPCG(seed, h.Sum64()))}
}

// upTo returns a duration drawn uniformly from [0, d].
func (j *jitter) upTo(d time.Duration) time.Duration {
	return j.between(0, d)
}

// between returns a duration drawn uniformly from [lo, hi].
func (j *jitter) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return lo + time.Duration(j.rng.Int64N(int64(hi-lo)+1))
}

// scale returns d times a factor drawn uniformly from [lo, hi).
func (j *jitter) scale(d time.Duration, lo, hi float64) time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	return time.Duration(float64(d) * (lo + (hi-lo)*j.rng.Float64()))
}

// rsInterval is how long a host waits for an RA after its sent-th RS
// (from 1) before soliciting again, given the previous wait: RFC 6775
// §5.3's truncated binary exponential backoff after the first
// MAX_RTR_SOLICITATIONS, each wait with the randomisation RFC 7559 §2
// gives RS retransmissions (RFC 8415 §15: RT = 2·RTprev + RAND·RTprev,
// RAND in [-0.1, 0.1]; past the maximum, RT = MRT + RAND·MRT).
func (j *jitter) rsInterval(sent int, prev time.Duration) time.Duration {
	switch {
	case sent < maxRtrSolicitations:
		return j.scale(rtrSolicitationInterval, 0.9, 1.1)
	case 2*prev >= maxRtrSolicitationInterval:
		return j.scale(maxRtrSolicitationInterval, 0.9, 1.1)
	default:
		return 2*prev + j.scale(prev, -0.1, 0.1)
	}
}

// nsTimeout is how long the attempt-th transmission (from 0) of an
// NS(EARO) waits for its NA: RETRANS_TIMER doubled at each retransmission
// (RFC 7048 §3 with a BACKOFF_MULTIPLE of 2, as RIOT's GNRC:
// _nib-arsm.h _exp_backoff_retrans_timer_factor) times a random factor in
// [MIN_RANDOM_FACTOR, MAX_RANDOM_FACTOR), at most MAX_RETRANS_TIMER.
func (j *jitter) nsTimeout(attempt int) time.Duration {
	return min(j.scale(retransTimer<<attempt, minRandomFactor, maxRandomFactor), maxRetransTimer)
}

// NodeState is what a node has learnt and registered.
type NodeState struct {
	Router    netip.Addr // its router's link-local address (RA source)
	RouterMAC lowpan.LinkAddr
	Prefix    netip.Prefix
	// Global is the address the node uses: set once registered, cleared
	// when a registration is refused or withdrawn.
	Global     netip.Addr
	Registered bool
	// Status of the last registration answer (0 success, 1 duplicate...).
	Status nd.Status
	// Refused is an address the router refused (duplicate and the like);
	// the node does not use it (RFC 8505 §5.1).
	Refused netip.Addr
	Renewed int
	// Deregistered: the node withdrew its registration (lifetime 0) and
	// stays silent.
	Deregistered bool
	// Routes counts the addresses a 6LR routes down to (its registered
	// children and the ones it learnt from EDACs going through it).
	Routes int
	// Echoes counts the echo requests (ICMPv6 and UDP) answered.
	Echoes int
	// Forwarded counts the packets a 6LR forwarded.
	Forwarded int
	// Protected: the registration in force was made with a Crypto-ID
	// proof (the node answered a challenge for it, RFC 8928 §6.1).
	Protected bool
	// Granted is the registration lifetime the router granted in its last
	// successful NA (RFC 8505 §4.1; at most the one asked for), and
	// Refresh when the node registers again (refreshAfter).
	Granted time.Duration
	Refresh time.Time
	// Challenges counts the challenges the node answered (as a 6LN) and
	// ChallengesSent those it sent its children (as an AP-ND 6LR).
	Challenges, ChallengesSent int
	// UDPReceived and UDPOctets count the unicast UDP datagrams addressed
	// to the node, on any port, and their payload octets (UDP header
	// excluded): every port is a sink (RFC 863's discard service), the
	// echo port answers as well, so that a sender's goodput can be
	// measured where it arrives.
	UDPReceived, UDPOctets uint64
}

// route is a 6LR's way down to an address below it.
type route struct {
	next    lowpan.LinkAddr
	expires time.Time
	child   bool // registered with this 6LR itself
}

// relayed is a child's registration waiting for the 6LBR's EDAC.
type relayed struct {
	childLL  netip.Addr
	childMAC lowpan.LinkAddr
	aro      nd.AROFields
	target   netip.Addr
}

// Node is a simulated 6LoWPAN node on the medium. As a 6LN (RFC 6775 §5,
// RFC 8505 §5) it sends an RS, forms its address from the PIO, learns
// contexts from 6COs, registers with an EARO, renews before expiry, answers
// ICMPv6 echo, runs a UDP echo service and counts the UDP it receives on
// every port (NodeState.UDPReceived). As a 6LR it then answers RSs
// with the prefix, contexts and ABRO it learnt, relays its children's
// registrations to the 6LBR in EDARs (RFC 8505 §6; RFC 6775 §8.2) and
// forwards between them and its parent. Its 6LoWPAN is the border router's
// own link.Lowpan, not a copy.
//
// Its timers are the RFCs' (see the constants above), each drawn from the
// node's own random source: the first RS after a random delay, RSs backing
// off to a minute while no router answers, NS(EARO) retransmissions,
// refreshes, a 6LR's delayed answers and its first multicast RAs. Nodes
// that met once (in a collision, or by starting together) do not meet
// again at every retry.
//
// The way down is learnt from the EDACs a 6LR forwards: a successful EDAC
// for address A travelling to 6LR X through us tells us A lies behind X.
// That stands in for the routing protocol (RPL storing mode) a real
// route-over mesh runs beside 6LoWPAN-ND.
type Node struct {
	cfg   NodeConfig
	log   *slog.Logger
	radio *NodeRadio // the 802.15.4 radio; nil on BLE
	link  nodeLink
	ctxs  lowpan.ContextTable
	ll    netip.Addr
	iid   [8]byte // from the link-layer address
	rovr  []byte  // the default registration owner
	tid   uint8
	rng   *jitter

	// timers counts the goroutines of delayed RAs (answers and a new
	// router's unsolicited ones); Run waits for them.
	timers sync.WaitGroup

	ctx   context.Context // Run's, for packets sent from the receive path
	ready chan struct{}   // closed when ctx is set
	leave chan chan error // Deregister's requests to Run
	// lostRouter wakes Run when the router stopped being one: it withdrew
	// (router lifetime 0) or stopped acknowledging (upFails).
	lostRouter chan struct{}

	mu      sync.Mutex
	st      NodeState
	ra      chan struct{}
	na      chan naAnswer
	raOpts  []byte      // the parent's RA options but its SLLAO, for our RAs
	raHdr   nd.RAFields // the parent's RA fixed fields
	lbr     netip.Addr  // the 6LBR (ABRO)
	claimed netip.Addr  // the address to register instead of the one formed
	pings   map[uint16]chan struct{}
	pingID  uint16
	routes  map[netip.Addr]route
	upFails int // frames to the router in a row that got no ACK
	pending map[netip.Addr]relayed
	// answering holds the children whose RS has an RA on its way.
	answering map[netip.Addr]bool
	// advertising: the node started its initial multicast RAs.
	advertising bool
	// apnd challenges the children that claim a Crypto-ID (a 6LR with a
	// Key); nil otherwise.
	apnd *nd.APND
	// copied is the victim's ROVR an intruder registers under (imitate).
	copied []byte
	// rpl is the node's RPL router (RoutingRPL and Role Router), nil
	// otherwise.
	rpl *rplNode
}

// naAnswer is the registration answer an NA(EARO) carries: its status,
// the lifetime granted and, in a challenge (RFC 8928 §6.1), the router's
// nonce.
type naAnswer struct {
	status   nd.Status
	lifetime uint16
	nonce    []byte
}

// AttachNode puts a node on the medium; Run brings it up.
func AttachNode(m *medium.Medium, cfg NodeConfig) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 10 * time.Minute
	}
	if cfg.Lifetime < time.Minute {
		return nil, fmt.Errorf("sim: node %s: registration lifetime %v below the one-minute unit of the EARO", cfg.Name, cfg.Lifetime)
	}
	mn, err := m.Attach(medium.NodeConfig{Name: cfg.Name, Channel: cfg.Channel, ExtAddr: cfg.EUI64})
	if err != nil {
		return nil, err
	}
	n := newNode(cfg, lowpan.ExtendedLinkAddr(cfg.EUI64), cfg.EUI64[:])
	n.radio = NewNodeRadio(mn)
	if err := n.radio.Configure(context.Background(), radio.Settings{Channel: cfg.Channel, PANID: cfg.PANID, ShortAddr: 0xfffe, ExtAddr: cfg.EUI64}); err != nil {
		mn.Detach()
		return nil, err
	}
	if n.link, err = link.NewLowpan(link.LowpanConfig{Name: cfg.Name, Radio: n.radio, PANID: cfg.PANID, ExtAddr: cfg.EUI64, Contexts: &n.ctxs}); err != nil {
		mn.Detach()
		return nil, err
	}
	return n, nil
}

// newNode makes a node whose link-layer address is addr (its IID comes
// from it, RFC 4944 §6 / RFC 7668 §3.2.2) and whose registrations are
// owned by rovr unless cfg says otherwise; the caller sets its link.
func newNode(cfg NodeConfig, addr lowpan.LinkAddr, rovr []byte) *Node {
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.Name),
		ra: make(chan struct{}, 1), na: make(chan naAnswer, 1), ready: make(chan struct{}), leave: make(chan chan error),
		lostRouter: make(chan struct{}, 1),
		routes:     make(map[netip.Addr]route), pending: make(map[netip.Addr]relayed), rovr: rovr, pings: make(map[uint16]chan struct{}),
		answering: make(map[netip.Addr]bool), rng: newJitter(cfg.Seed, cfg.Name, rovr)}
	if cfg.Key != nil {
		n.apnd = nd.NewAPND(nd.APNDConfig{})
		// RFC 8928 §4.1: the ROVR is the Crypto-ID, 128 bits (the size
		// it RECOMMENDS).
		id, err := cfg.Key.CryptoID(16)
		if err == nil {
			n.rovr = bytes.Clone(id.Bytes())
		}
	}
	n.iid, _ = addr.IID()
	n.ll = lowpan.LinkLocalFromIID(n.iid)
	if cfg.Routing == RoutingRPL && cfg.Role == Router {
		seed := cfg.RPLSeed
		if seed == 0 {
			n.rng.mu.Lock()
			seed = n.rng.rng.Uint64()
			n.rng.mu.Unlock()
		}
		// RFC 9010 §6.1: the Target for the router's own address carries
		// the ROVR it registers with.
		rovr := n.rovr
		if len(rovr)%8 != 0 || len(rovr) > 32 || cfg.LegacyTargets {
			rovr = nil
		}
		r, err := rpl.NewRouter(rpl.RouterConfig{LinkLocal: n.ll, ROVR: rovr, Seed: seed}, time.Now())
		if err == nil {
			n.rpl = &rplNode{rtr: r, in: make(chan rplMsg, rplInQueue)}
		}
	}
	n.claimed = cfg.Address
	// RFC 8505 §5.2.1: a node starts its TID at 240 (256 −
	// SEQUENCE_WINDOW, the lollipop's linear region), so that after a
	// reboot its registrations are taken for newer than the ones it made
	// before; register steps it first.
	n.tid = nd.TIDInitial - 1
	return n
}

// imitate makes the node, an intruder, register victim's address the way
// its attack says: under the victim's ROVR as heard on the air, with a TID
// ahead of the victim's (RFC 8505 §5.2.1: 16 steps newer on the lollipop),
// so that without AP-ND the 6LBR would take it for the owner's newer
// registration.
func (n *Node) imitate(victim *Node) {
	addr := victim.State().Global
	victim.mu.Lock()
	tid := victim.tid
	victim.mu.Unlock()
	n.mu.Lock()
	n.claimed = addr
	if n.cfg.attack.copyROVR {
		n.copied = bytes.Clone(victim.rovr)
		if victim.cfg.ROVR != nil {
			n.copied = bytes.Clone(victim.cfg.ROVR)
		}
		// 15 steps ahead; register takes the 16th, SEQUENCE_WINDOW.
		for range nd.SequenceWindow - 1 {
			tid = nd.NextTID(tid)
		}
		n.tid = tid
	}
	n.mu.Unlock()
}

// claim makes the node register addr instead of the address it forms.
func (n *Node) claim(addr netip.Addr) {
	n.mu.Lock()
	n.claimed = addr
	n.mu.Unlock()
}

func linkLocal(eui [8]byte) netip.Addr {
	ll, _ := lowpan.ExtendedLinkAddr(eui).LinkLocal()
	return ll
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Config returns the node's configuration.
func (n *Node) Config() NodeConfig { return n.cfg }

// State returns what the node knows.
func (n *Node) State() NodeState {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.st
	st.Routes = len(n.routes)
	return st
}

// LinkLocal is the node's link-local address.
func (n *Node) LinkLocal() netip.Addr { return n.ll }

// LinkAddr is the node's link-layer address.
func (n *Node) LinkAddr() lowpan.LinkAddr { return n.link.LinkAddr() }

// Run receives and keeps the node registered until ctx ends: it solicits
// a router, registers its address, refreshes the registration before it
// runs out, and solicits again when its router stops answering.
func (n *Node) Run(ctx context.Context) error {
	n.ctx = ctx
	close(n.ready)
	if n.radio != nil {
		defer n.radio.Close()
		n.radio.flush() // StartMesh set the links after attaching
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.link.Run(ctx, n.receive)
	}()
	// The receive path starts timers: they are waited for once it ended.
	defer n.timers.Wait()
	defer wg.Wait()
	if n.rpl != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.runRPL(ctx)
		}()
	}
	// RFC 4861 §6.3.7: the first RS waits a random time, so that nodes
	// powered on together do not solicit together.
	if !n.pause(ctx, n.rng.upTo(maxRtrSolicitationDelay)) {
		return nil
	}
	var backoff time.Duration
	for ctx.Err() == nil {
		if !n.hasRouter() && !n.solicit(ctx) {
			return nil
		}
		lifetime := uint16(n.cfg.Lifetime / time.Minute)
		if n.cfg.attack.deregister {
			lifetime = 0 // an intruder removing the victim's registration
		}
		granted, err := n.register(ctx, lifetime)
		var wait time.Duration
		switch {
		case err == nil:
			backoff = 0
			// Refresh by the lifetime the router granted (RFC 8505
			// §4.1: the NA's EARO carries it; a 6LBR may give less than
			// asked), not the one asked for.
			if granted == 0 { // an intruder's deregistration: again later
				granted = uint16(n.cfg.Lifetime / time.Minute)
			}
			wait = n.rng.refreshAfter(granted)
			if n.cfg.renewEvery > 0 {
				wait = n.rng.scale(n.cfg.renewEvery, 0.9, 1.1)
			}
		case errors.Is(err, errNoNA) && !n.State().Registered:
			// RFC 6775 §5.5.3 / RFC 4861 §7.3.3: a router that answers
			// none of MAX_UNICAST_SOLICIT NSs is unreachable; look for a
			// router again (RFC 6775 §5.3: "whenever the default router
			// list is empty").
			n.log.Debug("router unreachable", "router", n.State().Router)
			n.forgetRouter()
			continue
		default:
			// Refused (duplicate and the like), or a refresh that went
			// unanswered while the registration still runs: try again
			// later, backing off with jitter.
			n.log.Debug("registration", "err", err)
			backoff = min(max(2*backoff, retransTimer), failedBackoff)
			wait = n.rng.scale(backoff, 0.9, 1.1)
		}
		n.mu.Lock()
		n.st.Refresh = time.Now().Add(wait)
		n.mu.Unlock()
		if !n.pause(ctx, wait) {
			return nil
		}
		n.mu.Lock()
		if n.st.Registered {
			n.st.Renewed++
		}
		n.mu.Unlock()
	}
	return nil
}

// pause waits d, answering a Deregister meanwhile; false when the node is
// to stop (ctx ended, or it deregistered and stays silent until then).
func (n *Node) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-n.lostRouter:
		return true // look for a router and register with it now
	case done := <-n.leave:
		done <- n.deregister(ctx)
		<-ctx.Done()
		return false
	}
}

// maxUpFails is how many frames in a row to its router may go
// unacknowledged before a node takes the router for unreachable: the
// link layer's hint of RFC 4861 §7.3.1, after which RFC 4861 §7.3.3 has the
// entry go, and RFC 6775 §5.3 the node solicit again once it has no
// default router.
const maxUpFails = 3

// dropRouter forgets the router and wakes Run to find one (a router that
// withdrew, RFC 4861 §6.3.4, or one that stopped acknowledging).
func (n *Node) dropRouter(why string) {
	n.log.Debug("router lost", "router", n.State().Router, "why", why)
	n.forgetRouter()
	select {
	case n.lostRouter <- struct{}{}:
	default:
	}
}

// Deregister withdraws the node's registration (an EARO with lifetime 0,
// RFC 8505 §5.1) and keeps it silent until its Run ends.
func (n *Node) Deregister(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case n.leave <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Node) deregister(ctx context.Context) error {
	_, err := n.register(ctx, 0)
	n.mu.Lock()
	n.st.Registered, n.st.Deregistered, n.st.Global = false, true, netip.Addr{}
	n.mu.Unlock()
	return err
}

var errNoNA = errors.New("sim: no neighbour advertisement")

// solicit sends RSs until an RA gives the node a router (RFC 4861 §6.3.7
// with RFC 6775 §5.3's backoff); false when the node is to stop.
func (n *Node) solicit(ctx context.Context) bool {
	var wait time.Duration
	for sent := 1; ; sent++ {
		rs, err := nd.AppendIPv6(nil, n.ll, netip.MustParseAddr("ff02::2"), 255, nd.RSFields{}, nd.SourceLinkAddr{Addr: n.link.LinkAddr()})
		if err != nil {
			n.log.Error("RS", "err", err) // only reachable through a bug
			return false
		}
		n.send(rs, link.BroadcastShort)
		wait = n.rng.rsInterval(sent, wait)
		t := time.NewTimer(wait)
	waiting:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-n.ra:
				if n.hasRouter() {
					t.Stop()
					return true
				}
			case <-t.C:
				break waiting
			case done := <-n.leave:
				t.Stop()
				done <- n.deregister(ctx)
				<-ctx.Done()
				return false
			}
		}
	}
}

// forgetRouter drops the node's router, so that the next RA, from any
// router, gives it one. What it learnt from it (prefix, contexts) stays.
func (n *Node) forgetRouter() {
	n.mu.Lock()
	n.st.Router, n.st.RouterMAC = netip.Addr{}, lowpan.LinkAddr{}
	n.mu.Unlock()
}

// candidate is the address the node registers: configured, else formed
// from the prefix and the EUI-64.
func (n *Node) candidate() netip.Addr {
	n.mu.Lock()
	p, claimed := n.st.Prefix, n.claimed
	n.mu.Unlock()
	if claimed.IsValid() {
		return claimed
	}
	if !p.IsValid() {
		return netip.Addr{}
	}
	a := p.Addr().As16()
	copy(a[8:], n.iid[:])
	return netip.AddrFrom16(a)
}

// register sends an NS with an EARO for the node's address to its router
// and waits for the NA, sending the NS up to MAX_UNICAST_SOLICIT times
// (RFC 6775 §5.5.1); errNoNA when none was answered.
func (n *Node) register(ctx context.Context, lifetime uint16) (granted uint16, err error) {
	addr := n.candidate()
	st := n.State()
	if !addr.IsValid() || !st.Router.IsValid() {
		return 0, errors.New("no prefix or router yet")
	}
	// One TID per registration: a retransmission is the same registration
	// (RFC 8505 §5.2 orders registrations by TID), and the 6LR relaying
	// it matches the EDAC to it by TID.
	n.mu.Lock()
	n.tid = nd.NextTID(n.tid) // RFC 8505 §5.2.1: 255 and 127 go on to 0
	tid, rovr := n.tid, n.copied
	n.mu.Unlock()
	if rovr == nil {
		rovr = n.cfg.ROVR
	}
	if rovr == nil {
		rovr = n.rovr
	}
	// R: a 6LR of an ND-only mesh asks the 6LBR to keep it reachable as
	// before; in a RPL mesh a RUL sets it to have its router advertise it
	// (RFC 9010 §9.2.1) and a RPL router, which advertises itself, does
	// not.
	reach := n.cfg.Role == Router
	if n.rplMode() {
		reach = n.rpl == nil
	}
	aro := nd.AROFields{R: reach, T: true, TID: tid, Lifetime: lifetime, ROVR: rovr}
	// RFC 8928 §4.2 (RFC 9927 §3 for its bit): the C flag says the ROVR is
	// a Crypto-ID. An intruder with cflag claims so for a copied ROVR it
	// holds no key for.
	cflag := n.cfg.Key != nil && (n.cfg.ROVR == nil && !n.cfg.attack.copyROVR || n.cfg.attack.cflag)
	ns, err := n.registrationNS(addr, st.Router, aro, cflag)
	if err != nil {
		return 0, err
	}
	select { // a stale answer must not count for this request
	case <-n.na:
	default:
	}
	// challenges bounds the rounds of RFC 8928 §6.1: the first NS, and a
	// lost NA after a proof (the router then challenges the retransmitted
	// proof afresh, its nonce being spent).
	const maxChallenges = 2
	challenges, proven := 0, false
	for attempt := 0; attempt < maxUnicastSolicit; attempt++ {
		// A frame that was not acknowledged is no answer either: wait for
		// the timer all the same rather than retry at once.
		if err := n.link.SendWait(ctx, ns, st.RouterMAC, link.SendOptions{Class: link.ClassControl}); err != nil {
			n.log.Debug("NS", "attempt", attempt, "err", err)
		}
		t := time.NewTimer(n.rng.nsTimeout(attempt))
		select {
		case a := <-n.na:
			t.Stop()
			if a.status == nd.StatusValidationRequested && a.nonce != nil && cflag && challenges < maxChallenges {
				// RFC 8928 §6.1: answer the challenge with the proof, as a
				// new NS of the same registration (same TID).
				challenges++
				if ns, err = n.proofNS(addr, st.Router, aro, a.nonce); err != nil {
					return 0, err
				}
				proven = true
				n.mu.Lock()
				n.st.Challenges++
				n.mu.Unlock()
				attempt = -1 // the proof gets its own retransmissions
				continue
			}
			granted := a.lifetime
			if granted == 0 || granted > lifetime {
				// A success with no lifetime, or more than asked for, is
				// not a grant to go by: keep to the one asked for.
				granted = lifetime
			}
			return granted, n.registered(addr, st.Router, granted, a.status, proven)
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
	return 0, fmt.Errorf("registration of %v with %v: %w", addr, st.Router, errNoNA)
}

// registrationNS builds the NS(EARO) registering addr with router, the
// EARO's C flag set when cflag (RFC 8928 §4.2, RFC 9927 §3).
func (n *Node) registrationNS(addr, router netip.Addr, aro nd.AROFields, cflag bool, proof ...nd.OptionSerializer) ([]byte, error) {
	var earo nd.OptionSerializer = aro
	if cflag {
		earo = nd.CryptoIDARO{AROFields: aro}
	}
	opts := append([]nd.OptionSerializer{nd.SourceLinkAddr{Addr: n.link.LinkAddr()}, earo}, proof...)
	return nd.AppendIPv6(nil, n.ll, router, 255, nd.NSFields{Target: addr}, opts...)
}

// proofNS builds the answer to a challenge with the router's nonceLR (RFC
// 8928 §6.1): the NS(EARO) again with the node's CIPO, a Nonce option
// with NonceLN and the NDPSO over the tag, the CIPO, the target, both
// nonces and the EARO's Length (§6.2), which the CIPO carries too (§4.3).
// An intruder signs with its own key: the proof cannot match a ROVR it
// copied.
func (n *Node) proofNS(addr, router netip.Addr, aro nd.AROFields, nonceLR []byte) ([]byte, error) {
	nonceLN := make([]byte, 6) // RFC 3971 §5.3.2: at least 6 octets
	for i := range nonceLN {
		nonceLN[i] = byte(n.rng.between(0, 255))
	}
	earoLen := uint8(aro.Len() / 8)
	proof, err := n.cfg.Key.Proof(addr, nonceLR, nonceLN, earoLen)
	if err != nil {
		return nil, err
	}
	return n.registrationNS(addr, router, aro, true, n.cfg.Key.CIPO(earoLen), nd.NonceFields{Nonce: nonceLN}, proof)
}

// registered records the answer s to a registration of addr; proven says
// it followed a Crypto-ID proof.
func (n *Node) registered(addr, router netip.Addr, lifetime uint16, s nd.Status, proven bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.st.Status = s
	if lifetime == 0 {
		return nil
	}
	if s != nd.StatusSuccess {
		n.st.Registered, n.st.Global, n.st.Refused, n.st.Protected = false, netip.Addr{}, addr, false
		return fmt.Errorf("registration of %v refused: status %v", addr, s)
	}
	n.st.Protected = proven
	n.st.Granted = time.Duration(lifetime) * time.Minute
	if !n.st.Registered {
		n.log.Info("registered", "addr", addr, "role", n.cfg.Role, "router", router)
	}
	n.st.Registered, n.st.Global, n.st.Refused = true, addr, netip.Addr{}
	if n.cfg.Role == Router && !n.advertising {
		n.advertising = true
		n.startAdvertising()
	}
	return nil
}

func isICMP(p []byte, typ uint8) bool {
	h := ip6.Header(p)
	return h.NextHeader() == ip6.ProtoICMPv6 && len(h.Payload()) > 0 && h.Payload()[0] == typ
}

// receive handles a packet from the link.
func (n *Node) receive(d *link.Delivery) {
	p := d.Packet
	if len(p) < ip6.HeaderLen+8 || !ip6.Header(p).IsValid() {
		return
	}
	dst := ip6.Header(p).Dst()
	n.mu.Lock()
	global, isRouter := n.st.Global, n.cfg.Role == Router && n.st.Registered
	n.mu.Unlock()
	mine := dst == n.ll || (dst == global && global.IsValid()) || dst.IsMulticast()
	if n.rpl != nil {
		// A RPL router routes once it has joined, registered or not, and
		// takes its RPL messages (ICMPv6 155) and data-plane headers.
		mine = mine || dst == n.rplGlobal()
		if !mine {
			n.forwardRPL(p, d.Src)
			return
		}
		if p = n.receiveRPL(p, d.Src); p == nil || len(p) < ip6.HeaderLen+8 {
			return
		}
		if isICMP(p, rpl.ICMPType) {
			n.queueRPL(p, d.Src)
			return
		}
	} else if n.rplMode() {
		p = upperLayer(p)
		if p == nil || len(p) < ip6.HeaderLen+8 {
			return
		}
	}
	if !mine {
		if isRouter {
			n.forward(p, d.Src)
		}
		return
	}
	switch {
	case isICMP(p, 134) || isICMP(p, 136) || isICMP(p, 133) || isICMP(p, 135) || isICMP(p, 158):
		n.handleND(p, d.Src, isRouter)
	case dst.IsMulticast():
	case isICMP(p, 128): // echo request
		n.reply(p, 129)
	case isICMP(p, 129): // echo reply, to one of our pings
		n.mu.Lock()
		w := n.pings[binary.BigEndian.Uint16(p[44:])]
		n.mu.Unlock()
		if w != nil {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	case ip6.Header(p).NextHeader() == ip6.ProtoUDP:
		u := ip6.UDP(ip6.Header(p).Payload())
		n.mu.Lock()
		n.st.UDPReceived++
		n.st.UDPOctets += uint64(len(u) - ip6.UDPHeaderLen)
		n.mu.Unlock()
		if u.DestinationPort() == UDPEchoPort {
			n.reply(p, 0)
		}
	}
}

func (n *Node) handleND(p []byte, from lowpan.LinkAddr, isRouter bool) {
	var m nd.Message
	if err := nd.Parse(p, &m); err != nil {
		n.log.Debug("invalid ND message", "from", from, "err", err)
		return
	}
	switch m.Type {
	case nd.TypeRouterAdvert:
		n.handleRA(&m, from)
	case nd.TypeNeighborAdvert:
		if m.ARO == nil || !m.Dst.IsLinkLocalUnicast() {
			return
		}
		a := naAnswer{status: m.ARO.Status(), lifetime: m.ARO.Lifetime()}
		var opts nd.APNDOptions
		if nd.ParseAPNDOptions(m.Options, &opts) == nil && opts.Nonce != nil {
			a.nonce = bytes.Clone(opts.Nonce.Nonce())
		}
		select {
		case n.na <- a:
		default:
		}
	case nd.TypeRouterSolicit:
		if isRouter && (n.rpl == nil || n.raOpts != nil) {
			n.answerRS(&m, from)
		}
	case nd.TypeNeighborSolicit:
		if isRouter && m.ARO != nil && m.Dst == n.ll {
			n.relayRegistration(&m, from)
		}
	case nd.TypeDAC:
		n.handleDAC(&m)
	}
}

// handleRA learns the prefix, the contexts and, for a 6LR, what to
// advertise itself. The first RA heard picks the parent.
func (n *Node) handleRA(m *nd.Message, from lowpan.LinkAddr) {
	if m.RA().RouterLifetime() == 0 {
		// Not a default router (RFC 4861 §6.3.4): the router withdraws,
		// as the 6LBR does from its former link-local address when its
		// radio came back with another EUI-64. Look for one again.
		n.mu.Lock()
		mine := n.st.Router.IsValid() && m.Src == n.st.Router && n.rpl == nil
		n.mu.Unlock()
		if mine {
			n.dropRouter("router lifetime 0")
		}
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st.Router.IsValid() && m.Src != n.st.Router && (n.rpl == nil || n.raOpts != nil) {
		return // one parent: the first router heard (a RPL router's: its RPL parent)
	}
	raw := make([]byte, 0, len(m.Options))
	it := m.Options.Iter()
	for {
		o, done, err := it.Next()
		if done || err != nil {
			break
		}
		switch o.Type() {
		case nd.OptSourceLinkAddr:
			continue
		case nd.OptPrefixInfo:
			pio := nd.PrefixInfo(o)
			if pio.Autonomous() && pio.PrefixLength() == 64 {
				n.st.Prefix = pio.Prefix()
			}
		case nd.Opt6CO:
			c := nd.ContextOption(o)
			n.ctxs.Set(int(c.CID()), lowpan.Context{Prefix: c.Prefix(), Compress: c.Compress()})
		case nd.OptABRO:
			n.lbr = nd.ABRO(o).Addr()
		}
		raw = append(raw, o...)
	}
	ra := m.RA()
	n.raOpts = raw
	n.raHdr = nd.RAFields{CurHopLimit: ra.CurHopLimit(), Preference: ra.Preference(), RouterLifetime: ra.RouterLifetime()}
	if n.rpl == nil {
		n.st.Router, n.st.RouterMAC = m.Src, from
	}
	select {
	case n.ra <- struct{}{}:
	default:
	}
}

// rawOptions re-emits options learnt from the parent's RA unchanged: a 6LR
// relays the 6LBR's PIO, 6COs and ABRO (RFC 6775 §5.4, §8.1.3).
type rawOptions []byte

func (o rawOptions) Len() int           { return len(o) }
func (o rawOptions) Serialize(b []byte) { copy(b, o) }

// answerRS sends a 6LR's unicast RA (RFC 6775 §6.5.5, §8.1.3) after a
// random delay of up to MAX_RA_DELAY_TIME (RFC 4861 §6.2.6; RFC 6775 §9):
// every router in range of the soliciting node heard the same RS, and
// answers sent at once collide at the node each time it asks again (on a
// grid, routers on either side of it cannot hear each other). One answer
// is pending per child at most; the RA is built when it leaves, from what
// the router knows then.
func (n *Node) answerRS(m *nd.Message, from lowpan.LinkAddr) {
	if m.Src.IsUnspecified() {
		return
	}
	to := from
	if m.SLLAO != nil {
		if a, ok := m.SLLAO.Addr(nd.MediumIEEE802154); ok {
			to = a
		}
	}
	child := m.Src
	n.mu.Lock()
	if n.answering[child] {
		n.mu.Unlock()
		return
	}
	n.answering[child] = true
	n.mu.Unlock()
	n.later(n.rng.upTo(maxRADelayTime), func() {
		n.mu.Lock()
		delete(n.answering, child)
		n.mu.Unlock()
		n.advertise(child, to)
	})
}

// advertise sends an RA to dst (a child, or all nodes) at link-layer
// address to, with what the node learnt from its parent's RA.
func (n *Node) advertise(dst netip.Addr, to lowpan.LinkAddr) {
	n.mu.Lock()
	hdr, opts := n.raHdr, rawOptions(append([]byte(nil), n.raOpts...))
	n.mu.Unlock()
	ra, err := nd.AppendIPv6(nil, n.ll, dst, 255, hdr, nd.SourceLinkAddr{Addr: n.link.LinkAddr()}, opts)
	if err != nil {
		n.log.Debug("RA", "err", err)
		return
	}
	n.send(ra, to)
}

// startAdvertising sends the unsolicited multicast RAs of a 6LR that has
// just become a router (its address registered, RFC 6775 §8.1.3): RFC 4861
// §6.2.4 has a router send its first few advertisements, up to
// MAX_RTR_ADVERTISEMENTS (RFC 6775 §9), at random intervals of at most
// MAX_INITIAL_RTR_ADVERT_INTERVAL and at least MIN_DELAY_BETWEEN_RAS
// apart (§6.2.6). The first leaves after a random delay of up to
// MAX_RA_DELAY_TIME, so that neighbours registered by the same EDAC round
// do not advertise together. Nodes that solicited in vain meanwhile learn
// of the new router at once instead of at their next RS (up to
// MAX_RTR_SOLICITATION_INTERVAL later): a deep mesh comes up hop by hop at
// the pace of these RAs. No periodic RAs follow: hosts solicit (RFC 6775
// §5.3). n.mu is held.
func (n *Node) startAdvertising() {
	allNodes := netip.MustParseAddr("ff02::1")
	delay := n.rng.upTo(maxRADelayTime)
	var send func(sent int)
	send = func(sent int) {
		n.advertise(allNodes, link.BroadcastShort)
		if sent < maxRtrAdvertisements {
			n.later(n.rng.between(minDelayBetweenRAs, maxInitialRtrAdvertInterval), func() { send(sent + 1) })
		}
	}
	n.later(delay, func() { send(1) })
}

// later runs fn after d in a goroutine of its own, unless Run's context
// ends first; Run waits for it.
func (n *Node) later(d time.Duration, fn func()) {
	n.timers.Add(1)
	go func() {
		defer n.timers.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-n.ctx.Done():
		case <-t.C:
			fn()
		}
	}()
}

// relayRegistration takes a child's NS(EARO) and asks the 6LBR with an EDAR
// (RFC 8505 §6.1); the NA follows the EDAC.
func (n *Node) relayRegistration(m *nd.Message, from lowpan.LinkAddr) {
	childMAC := from
	if m.SLLAO != nil {
		if a, ok := m.SLLAO.Addr(nd.MediumIEEE802154); ok {
			childMAC = a
		}
	}
	aro := nd.AROFields{Status: nd.StatusSuccess, Opaque: m.ARO.Opaque(), I: m.ARO.I(), R: m.ARO.R(), T: m.ARO.T(), TID: m.ARO.TID(),
		Lifetime: m.ARO.Lifetime(), ROVR: append([]byte(nil), m.ARO.ROVR()...)}
	target := m.Target
	if !aro.T {
		target = m.Src // RFC 6775 §4.1: the registered address is the source
	}
	if n.rpl != nil && aro.T && m.Src.IsLinkLocalUnicast() && !target.IsLinkLocalUnicast() {
		n.registerLocally(m, childMAC, aro, target)
		return
	}
	if !aro.T || !m.Src.IsLinkLocalUnicast() || target.IsLinkLocalUnicast() {
		// Only EARO registrations of global addresses go to the 6LBR; an
		// RFC 6775 node or a link-local registration is answered here.
		if aro.T && !m.Src.IsLinkLocalUnicast() {
			aro.Status = nd.StatusInvalidSource
		}
		n.answerNS(m.Src, childMAC, target, aro)
		return
	}
	// validated: RFC 8928 §6, "The 6LR MUST indicate to the 6LBR that it
	// performed a successful validation by setting a status code of 5
	// ('Validation Requested') in the EDAR"; the 6LBR does not see the
	// proof itself (§6.3).
	validated := false
	if n.apnd != nil {
		// RFC 8928 §6.1: the 6LR challenges a registration that claims a
		// Crypto-ID and relays it only once proven.
		switch d := n.apnd.CheckNS(m, target, childMAC, time.Now()); d.Action {
		case nd.APNDChallenge:
			aro.Status = d.Status
			n.mu.Lock()
			n.st.ChallengesSent++
			n.mu.Unlock()
			n.answerNS(m.Src, childMAC, target, aro, d.Nonce)
			return
		case nd.APNDRefuse:
			aro.Status = d.Status
			n.log.Debug("child's proof refused", "child", m.Src, "target", target, "err", d.Err)
			n.answerNS(m.Src, childMAC, target, aro)
			return
		default:
			validated = d.Proven
		}
	}
	edarStatus := nd.StatusSuccess
	if validated {
		edarStatus = nd.StatusValidationRequested
	}
	n.mu.Lock()
	global, lbr := n.st.Global, n.lbr
	n.pending[target] = relayed{childLL: m.Src, childMAC: childMAC, aro: aro, target: target}
	n.mu.Unlock()
	dar, err := nd.AppendIPv6(nil, global, lbr, nd.MultihopHopLimit,
		nd.DAFields{Extended: true, Status: edarStatus, TID: aro.TID, Lifetime: aro.Lifetime, ROVR: aro.ROVR, Registered: target})
	if err != nil {
		n.log.Debug("EDAR", "err", err)
		return
	}
	n.up(dar)
}

// handleDAC completes a relayed registration.
func (n *Node) handleDAC(m *nd.Message) {
	da := m.DA()
	addr := da.Registered()
	n.mu.Lock()
	r, ok := n.pending[addr]
	if ok && r.aro.TID == da.TID() {
		delete(n.pending, addr)
	} else {
		ok = false
	}
	if ok {
		n.learn(addr, r.childMAC, da.Status(), da.Lifetime(), true)
	}
	n.mu.Unlock()
	if !ok {
		return // an asynchronous EDAC (moved) or a stale one: nothing waits
	}
	r.aro.Status = da.Status()
	if r.aro.Status == nd.StatusSuccess {
		// The 6LBR's grant comes back in the EDAC (RFC 8505 §4.2, the
		// Registration Lifetime it capped): the child refreshes by the
		// NA's lifetime, so the NA carries the grant, not the request.
		r.aro.Lifetime = da.Lifetime()
	}
	if r.aro.Status == nd.StatusValidationRequested && n.apnd != nil {
		// RFC 8928 §6: "The 6LR MUST challenge the 6LN when the 6LBR
		// signals to do so, which is done with an EDAC message with a
		// status code of 5. The EDAC is echoed by the 6LR in the NA(EARO)":
		// the echo carries the challenge's nonce. (A 6LR without AP-ND
		// only echoes the status.)
		rovr, _ := nd.MakeROVR(r.aro.ROVR)
		nonce := n.apnd.Challenge(addr, rovr, r.childMAC, time.Now())
		n.mu.Lock()
		n.st.ChallengesSent++
		n.mu.Unlock()
		n.answerNS(r.childLL, r.childMAC, r.target, r.aro, nonce)
		return
	}
	n.answerNS(r.childLL, r.childMAC, r.target, r.aro)
}

// learn records (or with a lifetime of 0 or a failure, forgets) the way
// down to addr. n.mu is held.
func (n *Node) learn(addr netip.Addr, next lowpan.LinkAddr, s nd.Status, lifetime uint16, child bool) {
	if s != nd.StatusSuccess || lifetime == 0 {
		if cur, ok := n.routes[addr]; ok && (cur.next == next || s == nd.StatusSuccess) {
			delete(n.routes, addr)
		}
		return
	}
	n.routes[addr] = route{next: next, expires: time.Now().Add(time.Duration(lifetime) * time.Minute), child: child}
}

func (n *Node) answerNS(childLL netip.Addr, childMAC lowpan.LinkAddr, target netip.Addr, aro nd.AROFields, extra ...nd.OptionSerializer) {
	na, err := nd.AppendIPv6(nil, n.ll, childLL, 255, nd.NAFields{Router: true, Solicited: true, Target: target}, append([]nd.OptionSerializer{aro}, extra...)...)
	if err != nil {
		n.log.Debug("NA", "err", err)
		return
	}
	n.send(na, childMAC)
}

// forward is a 6LR's routing of a packet not for itself: down when it
// knows the way, else up to its parent; never back up what came from the
// parent.
func (n *Node) forward(p []byte, from lowpan.LinkAddr) {
	h := ip6.Header(p)
	if h.HopLimit() <= 1 {
		return
	}
	dst := h.Dst()
	if dst.IsLinkLocalUnicast() {
		return
	}
	n.mu.Lock()
	r, down := n.routes[dst]
	if down && time.Now().After(r.expires) {
		delete(n.routes, dst)
		down = false
	}
	next := n.st.RouterMAC
	if down {
		next = r.next
	} else if from == n.st.RouterMAC {
		n.mu.Unlock()
		return // unknown below us: nothing is flooded
	}
	if isICMP(p, 158) {
		// An EDAC on its way down to a 6LR below: the way to the address it
		// confirms goes the same way.
		var m nd.Message
		if nd.Parse(p, &m) == nil {
			da := m.DA()
			n.learn(da.Registered(), next, da.Status(), da.Lifetime(), false)
		}
	}
	n.st.Forwarded++
	n.mu.Unlock()
	h.SetHopLimit(h.HopLimit() - 1)
	n.send(p, next)
}

// up sends a packet to the parent.
func (n *Node) up(p []byte) {
	n.mu.Lock()
	next := n.st.RouterMAC
	n.mu.Unlock()
	err := n.link.SendWait(n.ctx, p, next, link.SendOptions{})
	n.mu.Lock()
	fails := 0
	if errors.Is(err, link.ErrNoAck) {
		n.upFails++
		fails = n.upFails
	} else if err == nil {
		n.upFails = 0
	}
	n.mu.Unlock()
	if err != nil {
		n.log.Debug("send", "to", next, "err", err)
	}
	if fails >= maxUpFails && n.rpl == nil { // RPL probes its parents itself
		n.mu.Lock()
		n.upFails = 0
		n.mu.Unlock()
		n.dropRouter("no acknowledgement")
	}
}

func (n *Node) send(p []byte, next lowpan.LinkAddr) {
	if err := n.link.SendWait(n.ctx, p, next, link.SendOptions{}); err != nil {
		n.log.Debug("send", "to", next, "err", err)
	}
}

// reply answers an echo request (ICMPv6 type 129) or a UDP echo (typ 0)
// by swapping addresses (and ports), through the parent.
func (n *Node) reply(p []byte, typ uint8) {
	st := n.State()
	ph := ip6.Header(p)
	dst := ph.Dst()
	if dst != st.Global && dst != n.ll && (n.rpl == nil || dst != n.rplGlobal()) {
		return
	}
	q := ip6.Header(append([]byte(nil), p[:ip6.HeaderLen+int(ph.PayloadLength())]...))
	q.SetSrc(dst)
	q.SetDst(ph.Src())
	q.SetHopLimit(64)
	body, in := q.Payload(), ph.Payload()
	if typ != 0 {
		body[0], body[2], body[3] = typ, 0, 0
		binary.BigEndian.PutUint16(body[2:], checksum.Finish(checksum.Sum(body, checksum.PseudoHeaderIPv6(q.SrcBytes(), q.DstBytes(), ip6.ProtoICMPv6, uint32(len(body))))))
	} else {
		body[0], body[1], body[2], body[3] = in[2], in[3], in[0], in[1] // ports swapped
		body[6], body[7] = 0, 0
		binary.BigEndian.PutUint16(body[6:], checksum.UDPIPv6(q.SrcBytes(), q.DstBytes(), body))
	}
	n.mu.Lock()
	n.st.Echoes++
	n.mu.Unlock()
	if n.rplMode() {
		n.sendUp(q)
		return
	}
	n.send(q, st.RouterMAC)
}

// LatestRegistered implements lowpan.Registrations for the node's own
// link: the address it registered, for RFC 7668 §3.2.4 elision on BLE.
func (n *Node) LatestRegistered(node lowpan.LinkAddr, prefix netip.Prefix) (netip.Addr, bool) {
	if node != n.link.LinkAddr() {
		return netip.Addr{}, false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st.Registered && prefix.Contains(n.st.Global) {
		return n.st.Global, true
	}
	return netip.Addr{}, false
}

// Ping sends an ICMPv6 echo request from the node's global address to dst
// through its router and waits for the reply; it returns the round trip.
func (n *Node) Ping(ctx context.Context, dst netip.Addr, size int) (time.Duration, error) {
	st := n.State()
	if !st.Registered {
		return 0, errors.New("sim: the node is not registered")
	}
	n.mu.Lock()
	n.pingID++
	id := n.pingID
	w := make(chan struct{}, 1)
	n.pings[id] = w
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pings, id)
		n.mu.Unlock()
	}()
	p := ip6.Header(make([]byte, ip6.HeaderLen+8+max(size, 0)))
	p.Encode(&ip6.Fields{PayloadLength: uint16(8 + max(size, 0)), NextHeader: ip6.ProtoICMPv6, HopLimit: 64, Src: st.Global, Dst: dst})
	echo := p.Payload()
	echo[0] = 128 // echo request
	binary.BigEndian.PutUint16(echo[4:], id)
	for i := 8; i < len(echo); i++ {
		echo[i] = byte(ip6.HeaderLen + i)
	}
	binary.BigEndian.PutUint16(echo[2:], checksum.Finish(checksum.Sum(echo, checksum.PseudoHeaderIPv6(p.SrcBytes(), p.DstBytes(), ip6.ProtoICMPv6, uint32(len(echo))))))
	start := time.Now()
	if n.rplMode() {
		n.sendUp(p)
	} else if err := n.link.SendWait(ctx, p, st.RouterMAC, link.SendOptions{}); err != nil {
		return 0, err
	}
	select {
	case <-w:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// nodeLink is what a simulated node needs of its link (link.Lowpan or
// link.BLE): a node is a host that waits for each packet's outcome (its
// router-unreachability detection counts frames that were not
// acknowledged), unlike the border router.
type nodeLink interface {
	link.Runnable
	SendWait(ctx context.Context, pkt []byte, nextHop lowpan.LinkAddr, opts link.SendOptions) error
}

// hasRouter reports whether the node has a router to register with: the
// first router heard; for a RPL router, its RPL preferred parent once an
// RA gave it the prefix's contexts too (RIOT routers solicit RAs beside
// RPL, rpl/testdata/riot/README.md).
func (n *Node) hasRouter() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rpl != nil {
		return n.st.Router.IsValid() && n.raOpts != nil
	}
	return n.st.Router.IsValid()
}
