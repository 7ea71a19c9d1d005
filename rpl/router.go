package rpl

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// RouterConfig configures a RPL router (a RAN, "RPL-Aware Node", RFC 9008
// §2). Zero values take the defaults noted. What the DODAG decides (MOP,
// trickle, lifetimes, MinHopRankIncrease) comes from the DIO it joins on.
type RouterConfig struct {
	// LinkLocal is the router's link-local address: the source of its DIS,
	// DIO, storing-mode DAO and DAO-ACK; its interface identifier forms
	// the global address from the DODAG's PIO, as RIOT autoconfigures one
	// (gnrc_rpl_control_messages.c _parse_options). Required.
	LinkLocal netip.Addr
	// ROVR is carried in the Target option for the router's own address
	// (RFC 9010 §6.1): 8, 16, 24 or 32 octets, or nil for none (RIOT sends
	// none, _dao_target_build).
	ROVR []byte
	// StepOfRank is Sp of RFC 6552 §4.1: rank = parent's rank +
	// (Rf·Sp + Sr) × MinHopRankIncrease with Rf 1 and Sr 0. 0 takes 1,
	// RIOT's of0.c calc_rank (parent's rank + MinHopRankIncrease); RFC
	// 6552 §6.1's DEFAULT_STEP_OF_RANK is 3.
	StepOfRank uint16
	// MaxParents bounds the parent set (0: 8).
	MaxParents int
	// MaxRoutes bounds the storing-mode downward routes learnt from
	// children's DAOs (0: 1024); new targets are refused when full, as the
	// root refuses them (a flood must not evict live routes).
	MaxRoutes int
	// MaxRULs bounds the RPL-unaware leaves the router advertises on
	// their behalf (0: 256).
	MaxRULs int
	// DISInterval, when positive, repeats the multicast DIS while the
	// router has not joined (RFC 6550 §18.2.1 leaves DIS timing to the
	// implementation), each wait drawn from [I, 1.5·I). 0 sends only the
	// one at start-up, as RIOT's gnrc_rpl_init (gnrc_rpl.c).
	DISInterval time.Duration
	// Stack picks whose DAO timing and trickle resets the router follows;
	// empty: by the DODAG's MOP, RIOT's in storing mode (what RIOT runs)
	// and Contiki-NG RPL-Lite's in non-storing mode (what Contiki-NG
	// runs; RIOT has no non-storing mode, rpl/testdata/riot/README.md
	// claim 1).
	Stack Stack
	// Seed seeds the router's random draws (trickle points, DAO delays).
	Seed uint64
}

// Stack names the implementation whose timing a Router follows.
type Stack string

const (
	// StackRIOT: gnrc_rpl (sys/net/gnrc/routing/rpl/gnrc_rpl.c):
	// a DAO 1–2 s after a change (gnrc_rpl_delay_dao), repeated every 3 s
	// up to 4 times without DAO-ACK (_dao_handle_send), then and after a
	// DAO-ACK every 60–61 s (gnrc_rpl_long_delay_dao); trickle reset on
	// every change of rank (gnrc_rpl_dodag.c
	// _gnrc_rpl_find_preferred_parent) and on a neighbour's
	// INFINITE_RANK DIO (_update_dodag_from_DIO).
	StackRIOT Stack = "riot"
	// StackContikiNG: RPL-Lite (os/net/routing/rpl-lite/rpl-timers.c
	// and rpl-conf.h at Contiki-NG 9f80681): a DAO 2–6 s after a change
	// (rpl_timers_schedule_dao, RPL_DAO_DELAY 4 s), resent after 2.5–7.5 s
	// (schedule_dao_retransmission, RPL_DAO_RETRANSMISSION_TIMEOUT 5 s)
	// up to 5 transmissions in all (RPL_DAO_MAX_RETRANSMISSIONS), then
	// local repair (resend_dao → rpl_local_repair: every parent dropped,
	// trickle reset, the node joins again); after a DAO-ACK the refresh
	// 60–120 s before the lifetime ends (schedule_dao_refresh); trickle
	// reset only on a rank change of more than RPL_SIGNIFICANT_CHANGE_THRESHOLD
	// (4 × MinHopRankIncrease) from the rank last advertised, on getting
	// or losing the parent (rpl-dag.c rpl_dag_update_state), not on a
	// neighbour's infinite rank.
	StackContikiNG Stack = "contiki-ng"
)

// Router defaults and RIOT's timing (sys/include/net/gnrc/rpl.h,
// gnrc_rpl_internal/globals.h).
const (
	DefaultMaxParents = 8
	DefaultMaxRoutes  = 1024
	DefaultMaxRULs    = 256

	// Contiki-NG RPL-Lite's DAO timing (rpl-conf.h, see StackContikiNG).
	cngDAODelay       = 4 * time.Second
	cngDAORetransmit  = 5 * time.Second
	cngDAOMaxTransmit = 5
	cngRefreshMargin  = 60 * time.Second
	cngDISInterval    = 30 * time.Second // RPL_DIS_INTERVAL
	// InfiniteRank is RFC 6550 §17 INFINITE_RANK: a detached node
	// advertises it to poison its sub-DODAG (§8.2.2.5).
	InfiniteRank = 0xffff

	// CONFIG_GNRC_RPL_DAO_DELAY_DEFAULT and _JITTER: gnrc_rpl_delay_dao
	// sends a DAO 1–2 s after a change.
	daoDelay       = time.Second
	daoDelayJitter = time.Second
	// CONFIG_GNRC_RPL_DAO_ACK_DELAY and CONFIG_GNRC_RPL_DAO_SEND_RETRIES:
	// _dao_handle_send repeats an unacknowledged DAO every 3 s, 4 times.
	daoAckDelay   = 3 * time.Second
	daoSendTrials = 4
	// CONFIG_GNRC_RPL_DAO_DELAY_LONG: gnrc_rpl_long_delay_dao, the refresh
	// 60–61 s after a DAO-ACK, or after the 4 unanswered tries.
	daoDelayLong = 60 * time.Second
	// GNRC_RPL_PARENT_PROBE_INTERVAL and
	// CONFIG_GNRC_RPL_PARENT_TIMEOUT_DIS_RETRIES: a parent silent for
	// (Default Lifetime − 1) Lifetime Units is probed with a unicast DIS
	// every 2 s, 3 times, then removed (gnrc_rpl.c _parent_timeout).
	parentProbeInterval = 2 * time.Second
	parentProbes        = 3
	// maxDAOTargets bounds the Target/Transit pairs of one DAO (about
	// 1 KB with ROVRs; the root groups at most 32 Targets per Transit).
	maxDAOTargets = 32
	// maxNoPaths bounds the children's No-Paths waiting to be relayed.
	maxNoPaths = 64
)

// ErrRankError is a data packet whose RPI shows a rank inconsistency a
// second time (RFC 6550 §11.2.2.2: the R flag was already set): drop it.
var ErrRankError = errors.New("rpl: rank error on a packet already flagged (RFC 6550 §11.2.2.2)")

// RouterCounters are a router's running totals.
type RouterCounters struct {
	DIS, DIO, DAO, DAOACK          uint64 // messages handled by kind
	Ignored                        uint64 // other instance/DODAG, secure, malformed, not joined
	DISSent, DIOsSent, DAOsSent    uint64
	NoPathsSent, DAOACKsSent       uint64
	DAOACKsRejected                uint64 // DAO-ACKs with status ≥ 128
	Joins, ParentChanges, Detaches uint64
	Floats                         uint64 // of Detaches: floated a DODAG of its own (RIOT)
	DODAGSwitches                  uint64 // left a DODAG for another's DIO (RIOT's which_dodag)
	VersionChanges                 uint64 // global repairs followed
	RoutesAdded, RoutesRemoved     uint64
	RoutesExpired, DroppedFull     uint64
	DroppedStale, DroppedTarget    uint64
}

// parent is a member of the parent set (RFC 6550 §8.2.1).
type parent struct {
	ll      netip.Addr
	global  netip.Addr // from its PIO with the R flag (§6.7.10); may be invalid
	rank    uint16
	dtsn    uint8
	timeout time.Time // when to probe it (RIOT _parent_timeout)
	probes  int
}

// route is a storing-mode downward route: target via child (§9.8).
type route struct {
	via     netip.Addr // the child's link-local address
	expires time.Time  // zero: never (lifetime 0xFF)
	pathSeq uint8
	rovr    []byte
}

// rul is a RPL-unaware leaf advertised on its behalf (RFC 9010 §9.2.2).
type rul struct {
	rovr    []byte
	tid     uint8
	expires time.Time
}

// noPath is a child's withdrawn target to relay upwards (§9.8, §9.10).
type noPath struct {
	target  netip.Addr
	pathSeq uint8
}

// Router is a RPL router (RFC 6550 §8, §9; a RAN of RFC 9008) for one
// instance and one DODAG, modelled on RIOT's gnrc_rpl. It is pure state,
// like Root: time comes in, messages go out (Reply: Dst says where, the
// owner routes a global Dst up its default route), one goroutine owns it.
// Start sends the start-up DIS; Handle takes every RPL message received;
// Tick runs the timers, Next says when.
type Router struct {
	cfg RouterConfig
	rng *rand.Rand
	iid [8]byte

	joined   bool
	inst     uint8
	dodagID  netip.Addr
	version  uint8
	mop      uint8
	grounded bool
	prf      uint8
	conf     DODAGConfigFields
	pio      PrefixInfoFields // as heard; re-advertised with our address
	global   netip.Addr
	rank     uint16
	lastAdv  uint16 // the rank last advertised in a DIO
	dtsn     uint8
	trickle  Trickle
	parents  []parent   // parents[0] is the preferred parent
	pref     netip.Addr // the preferred parent the DAOs went to
	pathSeq  uint8
	// floating: RIOT's local repair made the router the root of a
	// DODAG of its own (float); floatUntil is when it poisons it.
	floating   bool
	floatUntil time.Time

	daoSeq   uint8
	daoAt    time.Time // zero: no DAO scheduled
	daoTries int
	daoAcked bool
	lastAck  time.Time
	// roundSeqs are the sequences of the DAOs of the current round: only
	// a DAO-ACK for one of them ends it.
	roundSeqs []uint8

	routes  map[netip.Addr]route
	ruls    map[netip.Addr]rul
	noPaths []noPath
	sweepAt time.Time
	disAt   time.Time
	cnt     RouterCounters
	buf     []byte
}

// NewRouter returns a router that has not joined yet.
func NewRouter(cfg RouterConfig, now time.Time) (*Router, error) {
	if !cfg.LinkLocal.Is6() || !cfg.LinkLocal.IsLinkLocalUnicast() {
		return nil, errEncodeAddr
	}
	if len(cfg.ROVR)%rovrUnit != 0 || len(cfg.ROVR) > maxROVRsz*rovrUnit {
		return nil, errEncodeROVR
	}
	if cfg.StepOfRank == 0 {
		cfg.StepOfRank = 1
	}
	if cfg.MaxParents <= 0 {
		cfg.MaxParents = DefaultMaxParents
	}
	if cfg.MaxRoutes <= 0 {
		cfg.MaxRoutes = DefaultMaxRoutes
	}
	if cfg.MaxRULs <= 0 {
		cfg.MaxRULs = DefaultMaxRULs
	}
	r := &Router{cfg: cfg, rank: InfiniteRank, lastAdv: InfiniteRank, daoSeq: seqInit, pathSeq: seqInit, dtsn: seqInit,
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)),
		routes: make(map[netip.Addr]route), ruls: make(map[netip.Addr]rul)}
	ll := cfg.LinkLocal.As16()
	copy(r.iid[:], ll[8:])
	return r, nil
}

// Counters returns the running totals.
func (r *Router) Counters() RouterCounters { return r.cnt }

// Floating reports whether the router lost its parents and floats a
// DODAG of its own, as RIOT does (its DODAGID is then its own address).
func (r *Router) Floating() bool { return r.floating }

// Joined reports whether the router belongs to a DODAG (it may be
// detached meanwhile: Rank is then InfiniteRank).
func (r *Router) Joined() bool { return r.joined }

// Rank returns the router's rank (InfiniteRank before joining or when
// detached).
func (r *Router) Rank() uint16 { return r.rank }

// MOP returns the DODAG's mode of operation (valid once joined).
func (r *Router) MOP() uint8 { return r.mop }

// Instance returns the RPLInstanceID joined.
func (r *Router) Instance() uint8 { return r.inst }

// DODAGID returns the DODAG joined (invalid before).
func (r *Router) DODAGID() netip.Addr { return r.dodagID }

// Version returns the DODAG version followed.
func (r *Router) Version() uint8 { return r.version }

// Config returns the DODAG Configuration joined with.
func (r *Router) Config() DODAGConfigFields { return r.conf }

// Global returns the router's global address formed from the DODAG's PIO
// (invalid before joining).
func (r *Router) Global() netip.Addr { return r.global }

// Prefix returns the prefix of the DODAG's PIO.
func (r *Router) Prefix() netip.Prefix {
	if !r.pio.Address.IsValid() {
		return netip.Prefix{}
	}
	p, _ := r.pio.Address.Prefix(int(r.pio.PrefixLength))
	return p
}

// Parent returns the preferred parent's link-local address.
func (r *Router) Parent() (netip.Addr, bool) {
	if len(r.parents) == 0 {
		return netip.Addr{}, false
	}
	return r.parents[0].ll, true
}

// ParentRank returns the preferred parent's rank (InfiniteRank if none).
func (r *Router) ParentRank() uint16 {
	if len(r.parents) == 0 {
		return InfiniteRank
	}
	return r.parents[0].rank
}

// Parents returns the parent set's link-local addresses, preferred first.
func (r *Router) Parents() []netip.Addr {
	out := make([]netip.Addr, len(r.parents))
	for i, p := range r.parents {
		out[i] = p.ll
	}
	return out
}

// DAOAcked reports whether the last DAO round was acknowledged, and when.
func (r *Router) DAOAcked() (bool, time.Time) { return r.daoAcked, r.lastAck }

// Routes returns the number of storing-mode downward routes held.
func (r *Router) Routes() int { return len(r.routes) }

// RULs returns the number of RPL-unaware leaves advertised.
func (r *Router) RULs() int { return len(r.ruls) }

// Trickle gives the DIO timer.
func (r *Router) Trickle() *Trickle { return &r.trickle }

func (r *Router) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.rng.Int64N(int64(hi-lo)))
}

// lifetime is Default Lifetime × Lifetime Unit (§6.7.6).
func (r *Router) lifetime() time.Duration {
	return time.Duration(r.conf.DefaultLifetime) * time.Duration(r.conf.LifetimeUnit) * time.Second
}

// rankIncrease is OF0's (RFC 6552 §4.1) with Rf 1 and Sr 0.
func (r *Router) rankIncrease() uint16 {
	inc := uint32(r.cfg.StepOfRank) * uint32(r.conf.MinHopRankIncrease)
	return uint16(min(inc, InfiniteRank))
}

// dagRank is §3.5.1's DAGRank: the rank's integer part.
func (r *Router) dagRank(rank uint16) uint16 {
	if r.conf.MinHopRankIncrease == 0 {
		return rank
	}
	return rank / r.conf.MinHopRankIncrease
}

// Start returns the start-up multicast DIS (RIOT gnrc_rpl_init, gnrc_rpl.c;
// RFC 6550 §8.3 lets a node solicit DIOs).
func (r *Router) Start(out []Reply, now time.Time) []Reply {
	if r.cfg.DISInterval > 0 {
		r.disAt = now.Add(r.between(r.cfg.DISInterval, r.cfg.DISInterval*3/2))
	}
	return r.appendDIS(out, AllRPLNodes)
}

func (r *Router) appendDIS(out []Reply, dst netip.Addr) []Reply {
	r.cnt.DISSent++
	// A PadN of 2 as RIOT's gnrc_rpl_send_DIS writes (testdata/riot
	// README: every DIS carries 01 02 00 00).
	b := AppendPad(AppendDIS(r.buf[:0]), 4)
	r.buf = b
	return append(out, r.reply(dst, false, b))
}

// reply copies msg into a Reply from the right source with its checksum.
func (r *Router) reply(dst netip.Addr, toSender bool, msg []byte) Reply {
	src := r.cfg.LinkLocal
	if !dst.IsLinkLocalUnicast() && !dst.IsMulticast() && r.global.IsValid() {
		src = r.global
	}
	m := Message(append([]byte(nil), msg...))
	m.SetChecksum(src, dst)
	return Reply{Src: src, Dst: dst, ToSender: toSender, Msg: m}
}

// DIO returns the router's DIO (§6.3.1): its rank, the DODAG's instance,
// version, MOP and DODAGID, its own DTSN, the DODAG Configuration option
// it joined with (in every DIO, as the root does: RIOT joins only on a
// DIO carrying it, _handle_DIO_opts) and the PIO, with the R flag and the
// router's global address (§6.7.10) so that a non-storing child learns
// the parent address its Transit must carry (§9.7). The slice is reused.
func (r *Router) DIO() []byte {
	b := r.buf[:0]
	b, _ = AppendDIO(b, &DIOFields{Instance: r.inst, Version: r.version, Rank: r.rank, Grounded: r.grounded,
		MOP: r.mop, Preference: r.prf, DTSN: r.dtsn, DODAGID: r.dodagID})
	b, _ = AppendDODAGConfig(b, &r.conf)
	if r.pio.Address.IsValid() {
		pio := r.pio
		if r.global.IsValid() {
			pio.Address, pio.Flags = r.global, pio.Flags|PrefixFlagR
		}
		b, _ = AppendPrefixInfo(b, &pio)
	}
	r.buf = b
	return b
}

// Next returns how long after now the next timer falls due (0: now), or
// -1 when nothing is scheduled.
func (r *Router) Next(now time.Time) time.Duration {
	next := time.Duration(-1)
	at := func(t time.Time) {
		if t.IsZero() {
			return
		}
		d := max(t.Sub(now), 0)
		if next < 0 || d < next {
			next = d
		}
	}
	if r.joined {
		if d := r.trickle.Next(now); d >= 0 {
			at(now.Add(d))
		}
		at(r.daoAt)
		for _, p := range r.parents {
			at(p.timeout)
		}
		at(r.sweepAt)
		if r.rank == InfiniteRank {
			at(r.disAt)
		}
		if r.floating && r.rank != InfiniteRank {
			at(r.floatUntil)
		}
	} else {
		at(r.disAt)
	}
	return next
}

// Tick runs the timers due at now and appends what to send: a repeated
// DIS while not joined, the trickle DIO, parent probes, the DAO, and
// expiry of downward routes and leaves.
func (r *Router) Tick(out []Reply, now time.Time) []Reply {
	if !r.joined {
		if !r.disAt.IsZero() && !now.Before(r.disAt) {
			r.disAt = now.Add(r.between(r.cfg.DISInterval, r.cfg.DISInterval*3/2))
			out = r.appendDIS(out, AllRPLNodes)
		}
		return out
	}
	if r.trickle.Fire(now) {
		r.cnt.DIOsSent++
		r.lastAdv = r.rank
		out = append(out, r.reply(AllRPLNodes, false, r.DIO()))
	}
	if r.floating && r.rank != InfiniteRank && !now.Before(r.floatUntil) {
		// RIOT _dodag_float_timeout: a DODAG still floating after
		// CONFIG_GNRC_RPL_DODAG_FLOAT_TIMEOUT is poisoned.
		r.rank = InfiniteRank
		r.trickle.Reset(now)
	}
	if r.rank == InfiniteRank && !r.disAt.IsZero() && !now.Before(r.disAt) {
		r.disAt = now.Add(r.between(cngDISInterval/2, cngDISInterval*3/2))
		out = r.appendDIS(out, AllRPLNodes)
	}
	out = r.probeParents(out, now)
	if !r.sweepAt.IsZero() && !now.Before(r.sweepAt) {
		out = r.sweep(out, now)
	}
	if !r.daoAt.IsZero() && !now.Before(r.daoAt) {
		out = r.daoTimer(out, now)
	}
	return out
}

// probeParents is RIOT's _parent_timeout: a parent whose DIOs stopped is
// asked with unicast DISes, then removed.
func (r *Router) probeParents(out []Reply, now time.Time) []Reply {
	removed := false
	for i := 0; i < len(r.parents); i++ {
		p := &r.parents[i]
		if p.timeout.IsZero() || now.Before(p.timeout) {
			continue
		}
		if p.probes < parentProbes {
			p.probes++
			p.timeout = now.Add(parentProbeInterval)
			out = r.appendDIS(out, p.ll)
			continue
		}
		r.parents = slices.Delete(r.parents, i, i+1)
		i--
		removed = true
	}
	if removed {
		out = r.selectParent(out, now)
	}
	return out
}

// parentTimeout is (Default Lifetime − 1) Lifetime Units after a DIO
// (RIOT gnrc_rpl_parent_update), at least one probe interval.
func (r *Router) parentTimeout(now time.Time) time.Time {
	if r.conf.DefaultLifetime == infiniteLifetime {
		return time.Time{}
	}
	d := time.Duration(max(int(r.conf.DefaultLifetime)-1, 0)) * time.Duration(r.conf.LifetimeUnit) * time.Second
	return now.Add(max(d, parentProbeInterval))
}

// Handle processes a RPL message m from src to dst received at now and
// appends the replies (see Root.Handle for the message kinds). A router
// joins on a DIO carrying the DODAG Configuration option and a PIO,
// answers DIS once joined, keeps storing-mode routes from its children's
// DAOs, and takes DAO-ACKs for its own DAOs.
func (r *Router) Handle(out []Reply, m Message, src, dst netip.Addr, now time.Time) []Reply {
	if len(m) < icmpHdr || m.Validate() != nil {
		r.cnt.Ignored++
		return out
	}
	switch m.Code() {
	case CodeDIS:
		return r.handleDIS(out, m, src, dst, now)
	case CodeDIO:
		return r.handleDIO(out, m, src, now)
	case CodeDAO:
		return r.handleDAO(out, m, src, now)
	case CodeDAOACK:
		r.handleDAOACK(m, now)
		return out
	}
	r.cnt.Ignored++
	return out
}

// handleDIS: RIOT's gnrc_rpl_recv_DIS: a multicast DIS resets trickle, a
// unicast one is answered at once with a DIO carrying the configuration
// (RFC 6550 §8.3). Nothing before joining.
func (r *Router) handleDIS(out []Reply, m Message, src, dst netip.Addr, now time.Time) []Reply {
	if !r.joined || r.rank == InfiniteRank {
		r.cnt.Ignored++
		return out
	}
	if o := m.Options().Find(OptSolicitedInfo); o != nil {
		si := SolicitedInfo(o)
		if (si.Flags()&SolicitedFlagV != 0 && si.Version() != r.version) ||
			(si.Flags()&SolicitedFlagI != 0 && si.Instance() != r.inst) ||
			(si.Flags()&SolicitedFlagD != 0 && si.DODAGID() != r.dodagID) {
			r.cnt.Ignored++
			return out
		}
	}
	r.cnt.DIS++
	if dst.IsMulticast() {
		r.trickle.Reset(now)
		return out
	}
	if !src.IsValid() || src.IsUnspecified() || src.IsMulticast() {
		return out
	}
	r.cnt.DIOsSent++
	r.lastAdv = r.rank
	return append(out, r.reply(src, src.IsLinkLocalUnicast(), r.DIO()))
}

// dioInfo is what a DIO tells about its sender's DODAG.
type dioInfo struct {
	conf    DODAGConfigFields
	hasConf bool
	pio     PrefixInfoFields
	hasPIO  bool
}

func parseDIOOptions(m Message) (d dioInfo) {
	it := m.Options().Iter()
	for o, done, err := it.Next(); !done && err == nil; o, done, err = it.Next() {
		switch o.Type() {
		case OptDODAGConfig:
			c := DODAGConfig(o)
			d.hasConf = true
			d.conf = DODAGConfigFields{Compression8138: c.Compression8138(), RPI0x23: c.RPI0x23(),
				Authentication: c.Authentication(), PCS: c.PCS(), DIOIntervalDoublings: c.DIOIntervalDoublings(),
				DIOIntervalMin: c.DIOIntervalMin(), DIORedundancy: c.DIORedundancy(), MaxRankIncrease: c.MaxRankIncrease(),
				MinHopRankIncrease: c.MinHopRankIncrease(), OCP: c.OCP(), DefaultLifetime: c.DefaultLifetime(),
				LifetimeUnit: c.LifetimeUnit()}
		case OptPrefixInfo:
			p := PrefixInfo(o)
			if d.hasPIO || p.PrefixLength() > 128 || p.PrefixLength() < 1 {
				continue // the first PIO is the DODAG's
			}
			d.hasPIO = true
			d.pio = PrefixInfoFields{Address: p.Address(), PrefixLength: uint8(p.PrefixLength()), Flags: p.Flags(),
				ValidLifetime: p.ValidLifetime(), PreferredLifetime: p.PreferredLifetime()}
		}
	}
	return d
}

// handleDIO follows RIOT's gnrc_rpl_recv_DIO: join a new DODAG, follow a
// newer version (global repair, §8.2.2.1; RIOT rejoins as a new DODAG,
// of0.c which_dodag), treat an older version as an inconsistency (§8.3),
// and otherwise update the parent set (§8.2.1) and pick the preferred
// parent with OF0 (RFC 6552 §4.2.1: the lowest rank; RIOT of0.c
// parent_cmp).
func (r *Router) handleDIO(out []Reply, m Message, src netip.Addr, now time.Time) []Reply {
	d := m.DIO()
	if !src.IsLinkLocalUnicast() || src == r.cfg.LinkLocal {
		// §8.2.1: parents are neighbours, named by link-local addresses.
		r.cnt.Ignored++
		return out
	}
	if r.joined && d.Instance() == r.inst && d.DODAGID() != r.dodagID && !r.contiki() {
		return r.otherDODAG(out, m, src, now)
	}
	if r.joined && (d.Instance() != r.inst || d.DODAGID() != r.dodagID) {
		r.cnt.Ignored++ // one instance, one DODAG (Contiki-NG: rpl_process_dio)
		return out
	}
	r.cnt.DIO++
	if !r.joined {
		return r.join(out, m, src, now)
	}
	switch {
	case d.Version() != r.version && seqNewer(d.Version(), r.version):
		if d.Rank() == InfiniteRank {
			return out
		}
		r.cnt.VersionChanges++
		return r.join(out, m, src, now)
	case d.Version() != r.version:
		// §8.3: an older version is an inconsistency; our DIO tells.
		r.trickle.Inconsistent(now)
		return out
	}
	if d.MOP() != r.mop {
		r.cnt.Ignored++ // RIOT _recv_DIO_for_existing_dodag: invalid MOP
		return out
	}
	if d.Rank() != InfiniteRank {
		r.trickle.Consistent()
	}
	info := parseDIOOptions(m)
	i := r.parentIndex(src)
	if d.Rank() == InfiniteRank {
		// §8.2.2.5: a poisoning parent leaves the set.
		if i >= 0 {
			r.parents = slices.Delete(r.parents, i, i+1)
			return r.selectParent(out, now)
		}
		if r.rank != InfiniteRank && !r.contiki() {
			// A detached neighbour: our DIO soon lets it join again
			// (RIOT _update_dodag_from_DIO resets trickle on an
			// INFINITE_RANK DIO from a node that is not its parent;
			// Contiki-NG's rpl_process_dio only counts it).
			r.trickle.Reset(now)
		}
		return out
	}
	if i < 0 {
		if r.rank != InfiniteRank && r.dagRank(d.Rank()) >= r.dagRank(r.rank) {
			return out // §8.2.2.4: a parent must be of lesser rank
		}
		if len(r.parents) >= r.cfg.MaxParents {
			return out
		}
		r.parents = append(r.parents, parent{ll: src, rank: d.Rank(), dtsn: d.DTSN()})
		i = len(r.parents) - 1
	}
	p := &r.parents[i]
	p.rank = d.Rank()
	p.timeout, p.probes = r.parentTimeout(now), 0
	if info.hasPIO && info.pio.Flags&PrefixFlagR != 0 {
		p.global = info.pio.Address
	}
	if i == 0 && p.dtsn != d.DTSN() {
		// §9.6: the parent asks for DAOs; pass the request on (RIOT
		// _update_dodag_from_DIO calls gnrc_rpl_delay_dao only).
		r.dtsn = lollipopInc(r.dtsn)
		r.delayDAO(now)
	}
	p.dtsn = d.DTSN()
	return r.selectParent(out, now)
}

func (r *Router) parentIndex(ll netip.Addr) int {
	for i, p := range r.parents {
		if p.ll == ll {
			return i
		}
	}
	return -1
}

// join takes a DIO for a new DODAG or version (RIOT
// _recv_DIO_for_new_dodag, _update_dodag_from_DIO): it needs the DODAG
// Configuration option, else a unicast DIS asks the sender for it
// (_handle_DIO_opts), and a PIO to form an address sharing a prefix with
// the DODAGID (RIOT leaves a DODAG it has no such address for).
func (r *Router) join(out []Reply, m Message, src netip.Addr, now time.Time) []Reply {
	d := m.DIO()
	if d.Rank() == InfiniteRank {
		return out // RIOT: ignore INFINITE_RANK DIO when not part of the DODAG
	}
	switch d.MOP() {
	case MOPNoDownward, MOPNonStoring, MOPStoring, MOPStoringMulticast:
	default:
		r.cnt.Ignored++ // P2P or unassigned: not ours
		return out
	}
	info := parseDIOOptions(m)
	sameDODAG := r.joined && d.DODAGID() == r.dodagID
	if !info.hasConf && !sameDODAG {
		return r.appendDIS(out, src)
	}
	if !info.hasPIO && !r.pio.Address.IsValid() {
		r.cnt.Ignored++
		return out
	}
	if info.hasConf {
		if info.conf.MinHopRankIncrease == 0 || info.conf.LifetimeUnit == 0 {
			r.cnt.Ignored++
			return out
		}
		r.conf = info.conf
	}
	if info.hasPIO {
		pio := info.pio
		pio.Flags &^= PrefixFlagR
		pfx, err := pio.Address.Prefix(int(pio.PrefixLength))
		if err != nil || pio.PrefixLength > 64 {
			r.cnt.Ignored++
			return out
		}
		pio.Address = pfx.Addr()
		r.pio = pio
		a := pfx.Addr().As16()
		copy(a[8:], r.iid[:])
		r.global = netip.AddrFrom16(a)
	}
	oldParent := r.pref
	r.joined, r.inst, r.dodagID, r.version = true, d.Instance(), d.DODAGID(), d.Version()
	r.mop, r.grounded, r.prf = d.MOP(), d.Grounded(), d.Preference()
	r.cnt.Joins++
	if oldParent.IsValid() && oldParent != src && r.mop >= MOPStoring {
		// Leaving the old version's parent: as on any parent change.
		out = r.appendDAO(out, oldParent, true, now)
	}
	r.pref = src
	r.parents = r.parents[:0]
	p := parent{ll: src, rank: d.Rank(), dtsn: d.DTSN(), timeout: r.parentTimeout(now)}
	if info.hasPIO && info.pio.Flags&PrefixFlagR != 0 {
		p.global = info.pio.Address
	}
	r.parents = append(r.parents, p)
	r.rank = satAdd(d.Rank(), r.rankIncrease())
	r.restartTrickle(now)
	r.pathSeq = lollipopInc(r.pathSeq)
	r.disAt = time.Time{}
	r.delayDAO(now)
	return out
}

func satAdd(a, b uint16) uint16 {
	if uint32(a)+uint32(b) >= InfiniteRank {
		return InfiniteRank
	}
	return a + b
}

// selectParent is RIOT's _gnrc_rpl_find_preferred_parent with OF0: the
// lowest rank wins (the current preferred parent keeps a tie), the rank
// follows it, a changed rank resets trickle (§8.3), parents no longer of
// lesser DAGRank leave the set (§8.2.2.4), and a new preferred parent
// brings a No-Path to the old one in storing mode (gnrc_rpl_dodag.c; RFC
// 6550 §9.8) and a new DAO with a new Path Sequence (§9.2.2). No parent
// left is local repair (§8.2.2.5): RIOT c8bd52f floats a DODAG of its own
// when it has an address in the DODAGID's prefix (float; _float_dodag),
// else, and always with Contiki-NG's timing, the rank becomes infinite and
// is advertised at once to poison the sub-DODAG (gnrc_rpl_poison_routes;
// Contiki-NG rpl_local_repair). The root answers both with a trickle reset
// (Root.Handle; checked against RIOT by cmd/lowpanbr
// TestEndToEndRIOTRPLRejoin).
func (r *Router) selectParent(out []Reply, now time.Time) []Reply {
	old := r.rank
	if r.floating {
		return out // the root of its floating DODAG has no parents
	}
	if len(r.parents) == 0 {
		if r.rank != InfiniteRank && r.canFloat() {
			r.float(now)
			return out
		}
		if r.rank != InfiniteRank {
			r.cnt.Detaches++
			r.rank = InfiniteRank
			r.trickle.Reset(now)
		}
		return out
	}
	best := 0
	for i, p := range r.parents {
		// The current preferred parent keeps a tie.
		if p.rank < r.parents[best].rank || (p.rank == r.parents[best].rank && p.ll == r.pref) {
			best = i
		}
	}
	r.parents[0], r.parents[best] = r.parents[best], r.parents[0]
	if r.parents[0].ll != r.pref {
		oldLL := r.pref
		r.pref = r.parents[0].ll
		r.cnt.ParentChanges++
		if oldLL.IsValid() && r.mop >= MOPStoring {
			out = r.appendDAO(out, oldLL, true, now)
		}
		r.pathSeq = lollipopInc(r.pathSeq)
		r.delayDAO(now)
	} else if old == InfiniteRank {
		r.pathSeq = lollipopInc(r.pathSeq)
		r.delayDAO(now)
	}
	r.rank = satAdd(r.parents[0].rank, r.rankIncrease())
	r.disAt = time.Time{}
	if r.rankResetsTrickle(old) {
		r.trickle.Reset(now)
	}
	keep := r.parents[:1]
	for _, p := range r.parents[1:] {
		if r.dagRank(p.rank) < r.dagRank(r.rank) {
			keep = append(keep, p)
		}
	}
	r.parents = keep
	return out
}

// restartTrickle starts the DIO trickle afresh with the DODAG
// Configuration in force (a DODAG joined or floated), at Imin.
func (r *Router) restartTrickle(now time.Time) {
	r.trickle = NewTrickle(r.conf.DIOIntervalMin, r.conf.DIOIntervalDoublings, r.conf.DIORedundancy, r.rng)
	r.trickle.Reset(now)
}

// riotFloatTimeout is CONFIG_GNRC_RPL_DODAG_FLOAT_TIMEOUT (RIOT
// sys/include/net/gnrc/rpl.h): how long a floating DODAG lives before it is
// poisoned.
const riotFloatTimeout = 15 * time.Minute

// riotRootConf is the DODAG Configuration RIOT's gnrc_rpl_dodag_root_init
// gives a DODAG it roots, a floating one too (the CONFIG_GNRC_RPL_DEFAULT_*
// values of sys/include/net/gnrc/rpl.h).
var riotRootConf = DODAGConfigFields{DIOIntervalDoublings: 20, DIOIntervalMin: 3, DIORedundancy: 10,
	MaxRankIncrease: 0, MinHopRankIncrease: 256, OCP: 0, DefaultLifetime: 5, LifetimeUnit: 60}

// canFloat: RIOT's gnrc_rpl_local_repair floats the DODAG (_float_dodag)
// when the node has an address in the DODAGID's prefix to take for the new
// DODAGID; Contiki-NG's local repair poisons.
func (r *Router) canFloat() bool {
	if r.contiki() || !r.global.IsValid() {
		return false
	}
	p, err := r.global.Prefix(64)
	return err == nil && p.Contains(r.dodagID)
}

// float is RIOT's _float_dodag: the router that lost its last parent
// becomes the root of a DODAG of its own (gnrc_rpl_dodag_root_init: its
// address for DODAGID, G clear, root rank, version and configuration
// afresh) instead of poisoning its sub-DODAG; its children follow it
// (otherDODAG), and a grounded DODAG's DIO takes it back. RFC 6550 §8.2.2.5
// allows either.
func (r *Router) float(now time.Time) {
	r.cnt.Detaches++
	r.cnt.Floats++
	r.floating, r.floatUntil = true, now.Add(riotFloatTimeout)
	r.dodagID, r.grounded, r.prf, r.version, r.dtsn = r.global, false, 0, seqInit, 1
	r.conf = riotRootConf
	r.rank = r.conf.MinHopRankIncrease // GNRC_RPL_ROOT_RANK
	r.pref, r.daoAt, r.daoAcked, r.disAt = netip.Addr{}, time.Time{}, false, time.Time{}
	r.restartTrickle(now)
}

// otherDODAG is RIOT's _recv_DIO_for_different_dodag: a DIO of our
// instance from another DODAG takes its sender out of our parents, and
// makes us switch when OF0's which_dodag prefers it (of0.c): a router
// without parents always does (a floating root only for a better DODAG),
// then a grounded DODAG wins over a floating one, then the more preferred
// root, then the lesser rank. Switching is leaving the DODAG and joining
// the new one from this DIO (gnrc_rpl_dodag_remove, then
// _recv_DIO_for_new_dodag). Staying, RIOT only moves its default route to
// the next parent; here the next parent is selected as usual.
func (r *Router) otherDODAG(out []Reply, m Message, src netip.Addr, now time.Time) []Reply {
	d := m.DIO()
	r.cnt.DIO++
	removed := false
	if i := r.parentIndex(src); i >= 0 {
		r.parents = slices.Delete(r.parents, i, i+1)
		removed = true
	}
	if d.Rank() == InfiniteRank || !r.prefers(d) {
		if removed && len(r.parents) > 0 {
			return r.selectParent(out, now)
		}
		return out
	}
	r.cnt.DODAGSwitches++
	r.joined, r.floating, r.floatUntil = false, false, time.Time{}
	r.parents = r.parents[:0]
	r.rank = InfiniteRank
	return r.join(out, m, src, now)
}

// prefers is OF0's which_dodag (RIOT of0.c, RFC 6552 §4.2) > 0: whether the
// DODAG of DIO d is better than ours.
func (r *Router) prefers(d DIO) bool {
	if !r.floating && len(r.parents) == 0 {
		return true // a non-root without parents takes any
	}
	if d.Grounded() != r.grounded {
		return d.Grounded()
	}
	if d.Preference() != r.prf {
		return d.Preference() > r.prf
	}
	if r.floating {
		return false // RIOT would compare its (absent) parent's rank
	}
	return d.Rank() < r.parents[0].rank
}

// rankResetsTrickle says whether the move from rank old to the current
// one is an inconsistency to advertise at once (RFC 6550 §8.3 leaves it
// to the implementation): for RIOT any change, for Contiki-NG getting a
// parent or a change of more than 4 × MinHopRankIncrease from the rank
// last advertised (rpl-dag.c, RPL_SIGNIFICANT_CHANGE_THRESHOLD).
func (r *Router) rankResetsTrickle(old uint16) bool {
	if r.rank == old {
		return false
	}
	if !r.contiki() || old == InfiniteRank || r.rank == InfiniteRank {
		return true
	}
	d := int(r.rank) - int(r.lastAdv)
	return r.lastAdv != InfiniteRank && (d > 4*int(r.conf.MinHopRankIncrease) || -d > 4*int(r.conf.MinHopRankIncrease))
}

// delayDAO is RIOT's gnrc_rpl_delay_dao: a DAO 1–2 s from now, the tries
// counted afresh.
func (r *Router) delayDAO(now time.Time) {
	if r.mop == MOPNoDownward {
		return
	}
	if r.contiki() {
		// rpl_timers_schedule_dao: RPL_DAO_DELAY/2 + random(RPL_DAO_DELAY).
		r.daoAt = now.Add(r.between(cngDAODelay/2, cngDAODelay*3/2))
	} else {
		r.daoAt = now.Add(r.between(daoDelay, daoDelay+daoDelayJitter))
	}
	r.daoTries, r.daoAcked = 0, false
}

// contiki reports whether the router follows Contiki-NG's DAO timing.
func (r *Router) contiki() bool {
	switch r.cfg.Stack {
	case StackContikiNG:
		return true
	case StackRIOT:
		return false
	}
	return r.mop == MOPNonStoring
}

// longDelayDAO is RIOT's gnrc_rpl_long_delay_dao: the refresh 60–61 s
// later, or within half the path lifetime if that is shorter, so that the
// routes are refreshed before they end (RFC 6550 §9.2.1).
func (r *Router) longDelayDAO(now time.Time) {
	if r.contiki() && r.daoAcked {
		// schedule_dao_refresh: the lifetime less 60–120 s.
		d := r.lifetime()
		if m := r.between(cngRefreshMargin, 2*cngRefreshMargin); d > m {
			d -= m
		} else {
			d /= 2 // a lifetime this short: within it all the same
		}
		r.daoAt = now.Add(max(d, time.Second))
		r.daoTries = 0
		return
	}
	d := daoDelayLong
	if l := r.lifetime(); r.conf.DefaultLifetime != infiniteLifetime && l/2 < d {
		d = max(l/2, daoAckDelay)
	}
	r.daoAt = now.Add(r.between(d, d+daoDelayJitter))
	r.daoTries = 0
}

// daoTimer is RIOT's _dao_handle_send: up to 4 DAOs 3 s apart while no
// DAO-ACK comes, then the long delay.
func (r *Router) daoTimer(out []Reply, now time.Time) []Reply {
	p, ok := r.Parent()
	if !ok || r.rank == InfiniteRank {
		r.daoAt = time.Time{}
		return out
	}
	if r.contiki() {
		if r.daoTries >= cngDAOMaxTransmit {
			return r.localRepair(out, now)
		}
		// schedule_dao_retransmission: RPL_DAO_RETRANSMISSION_TIMEOUT/2 +
		// random(RPL_DAO_RETRANSMISSION_TIMEOUT).
		r.daoAt = now.Add(r.between(cngDAORetransmit/2, cngDAORetransmit*3/2))
	} else {
		if r.daoTries >= daoSendTrials {
			r.longDelayDAO(now)
			return out
		}
		r.daoAt = now.Add(daoAckDelay)
	}
	if r.daoTries == 0 {
		r.roundSeqs = r.roundSeqs[:0]
	}
	r.daoTries++
	dst := p
	if r.mop == MOPNonStoring {
		dst = r.dodagID // §9.7: non-storing DAOs go to the root
	}
	return r.appendDAO(out, dst, false, now)
}

// localRepair is Contiki-NG's answer to a DAO never acknowledged
// (rpl_local_repair "DAO max rtx"): every parent goes, the rank becomes
// infinite and trickle restarts (RFC 6550 §8.2.2.5: the sub-DODAG is
// poisoned); the next DIO heard makes the router join again, and the new
// parent brings a new DAO.
func (r *Router) localRepair(out []Reply, now time.Time) []Reply {
	r.parents = r.parents[:0]
	r.daoAt = time.Time{}
	r.daoTries = 0
	// handle_dis_timer: a node without a parent solicits every
	// RPL_DIS_INTERVAL/2 + random(RPL_DIS_INTERVAL).
	r.disAt = now.Add(r.between(cngDISInterval/2, cngDISInterval*3/2))
	return r.selectParent(out, now)
}

// daoEntry is one Target/Transit pair of a DAO.
type daoEntry struct {
	addr    netip.Addr
	rovr    []byte
	own     bool // the router's own address or a RUL's (F flag)
	rul     bool // non-storing: the RUL's parent is this router
	pathSeq uint8
	life    uint8
}

// lifeUnits converts d into Lifetime Units, rounded up, at most 0xFE.
func (r *Router) lifeUnits(d time.Duration) uint8 {
	u := time.Duration(r.conf.LifetimeUnit) * time.Second
	n := (d + u - 1) / u
	return uint8(min(max(n, 1), infiniteLifetime-1))
}

// targets collects what the router advertises: its own address (with its
// ROVR, RFC 9010 §6.1), its RULs (their ROVR, the registration's TID as
// Path Sequence and what is left of the registration as Path Lifetime,
// RFC 9010 §9.2.2), in storing mode its children's targets with their
// own Path Sequence (aggregated into one DAO as RIOT's gnrc_rpl_send_DAO
// walks its forwarding table) and the children's No-Paths to relay.
func (r *Router) targets(now time.Time, noPath bool) []daoEntry {
	var ts []daoEntry
	life := r.conf.DefaultLifetime
	if noPath {
		life = 0
	}
	if r.global.IsValid() {
		ts = append(ts, daoEntry{addr: r.global, rovr: r.cfg.ROVR, own: true, pathSeq: r.pathSeq, life: life})
	}
	for a, l := range r.ruls {
		rl := uint8(0)
		if !noPath {
			rl = r.lifeUnits(l.expires.Sub(now))
		}
		ts = append(ts, daoEntry{addr: a, rovr: l.rovr, own: true, rul: true, pathSeq: l.tid, life: rl})
	}
	if r.mop >= MOPStoring {
		for a, rt := range r.routes {
			ts = append(ts, daoEntry{addr: a, rovr: rt.rovr, pathSeq: rt.pathSeq, life: life})
		}
		if !noPath {
			for _, np := range r.noPaths {
				ts = append(ts, daoEntry{addr: np.target, pathSeq: np.pathSeq})
			}
		}
	}
	return ts
}

// appendDAO sends the DAO(s) to dst: K set (RIOT always asks for the
// ACK), no DODAGID for a global instance, Target and Transit pairs; in
// non-storing mode every Transit names the preferred parent's global
// address (§9.7), in storing mode none does (RIOT _dao_transit_build).
// noPath sends every target with Path Lifetime 0 (§6.7.8: No-Path).
func (r *Router) appendDAO(out []Reply, dst netip.Addr, noPath bool, now time.Time) []Reply {
	if !r.joined || r.mop == MOPNoDownward {
		return out
	}
	var parentAddr netip.Addr
	if r.mop == MOPNonStoring {
		parentAddr = r.parentGlobal()
		if !parentAddr.IsValid() {
			return out
		}
	}
	var id netip.Addr
	if r.inst >= 128 {
		id = r.dodagID // §6.4.1: a local instance carries the DODAGID
	}
	ts := r.targets(now, noPath)
	if !noPath {
		r.noPaths = r.noPaths[:0]
	}
	for len(ts) > 0 {
		n := min(len(ts), maxDAOTargets)
		b, _ := AppendDAO(r.buf[:0], &DAOFields{Instance: r.inst, AckRequested: true, Sequence: r.daoSeq, DODAGID: id})
		for _, t := range ts[:n] {
			flags := uint8(0)
			if t.own {
				flags = TargetFlagF
			}
			var err error
			if b, err = AppendTarget(b, netip.PrefixFrom(t.addr, 128), flags, t.rovr); err != nil {
				b, _ = AppendTarget(b, netip.PrefixFrom(t.addr, 128), flags, nil)
			}
			pa := parentAddr
			if t.rul && pa.IsValid() {
				pa = r.global // RFC 9010 §9.2.2: the RUL hangs off this router
			}
			// RFC 9010 §9.2.2 (and RFC 9008 §7, §8: a RUL is outside the
			// RPL domain): a RUL's Transit has the E flag, so the root
			// tunnels its packets to this router instead of sending RPL
			// headers to a node that does not read them.
			b, _ = AppendTransit(b, &TransitFields{External: t.rul, PathSequence: t.pathSeq, PathLifetime: t.life, Parent: pa})
		}
		r.buf = b
		if noPath {
			r.cnt.NoPathsSent++
		} else {
			r.cnt.DAOsSent++
			if len(r.roundSeqs) < 4*daoSendTrials {
				r.roundSeqs = append(r.roundSeqs, r.daoSeq)
			}
		}
		r.daoSeq = lollipopInc(r.daoSeq) // RIOT: every DAO, retries too
		out = append(out, r.reply(dst, false, b))
		ts = ts[n:]
	}
	return out
}

// parentGlobal is the preferred parent's global address: from its PIO's R
// flag, else its interface identifier under the DODAG's prefix (the
// address RIOT autoconfigures from the same PIO).
func (r *Router) parentGlobal() netip.Addr {
	if len(r.parents) == 0 {
		return netip.Addr{}
	}
	p := r.parents[0]
	if p.global.IsValid() {
		return p.global
	}
	if !r.pio.Address.IsValid() {
		return netip.Addr{}
	}
	a := r.pio.Address.As16()
	ll := p.ll.As16()
	copy(a[8:], ll[8:])
	return netip.AddrFrom16(a)
}

// handleDAOACK: RIOT's gnrc_rpl_recv_DAO_ACK: an accepting DAO-ACK for
// the instance ends the round (the refresh follows after the long delay);
// a rejection (status ≥ 128, RFC 6550 §6.5.1) is counted, and the DAO is
// retried on its timer.
func (r *Router) handleDAOACK(m Message, now time.Time) {
	a := m.DAOACK()
	if !r.joined || a.Instance() != r.inst {
		r.cnt.Ignored++
		return
	}
	if id, ok := a.DODAGID(); ok && id != r.dodagID {
		r.cnt.Ignored++
		return
	}
	r.cnt.DAOACK++
	if a.Status() >= DAOACKRejected {
		r.cnt.DAOACKsRejected++
		return
	}
	if r.daoAt.IsZero() || !slices.Contains(r.roundSeqs, a.Sequence()) {
		// RIOT takes any status-0 DAO-ACK (README claim 8), even the one
		// for the No-Path to a former parent, and would then wait a
		// minute before the DAO that sets up the new path: only the
		// current round's sequences count here.
		return
	}
	r.daoAcked, r.lastAck = true, now
	r.longDelayDAO(now)
}

// handleDAO keeps a storing-mode child's routes (§9.8): every Target of
// the DAO via its sender, with the Transit's lifetime; No-Paths remove
// and are relayed up; a DAO-ACK answers K (§9.3; RIOT gnrc_rpl_recv_DAO
// always sends status 0, we send 128 when nothing could be recorded, as
// the root does). New, changed or withdrawn targets schedule our own DAO
// (RIOT gnrc_rpl_delay_dao, which RIOT does on every DAO: a plain
// refresh does not here, so a parent of many children does not resend
// its whole sub-DODAG each time one of them refreshes).
func (r *Router) handleDAO(out []Reply, m Message, src netip.Addr, now time.Time) []Reply {
	d := m.DAO()
	if !r.joined || r.mop < MOPStoring || d.Instance() != r.inst || !src.IsLinkLocalUnicast() {
		r.cnt.Ignored++
		return out
	}
	if id, ok := d.DODAGID(); ok && id != r.dodagID {
		r.cnt.Ignored++
		return out
	}
	if p, ok := r.Parent(); ok && p == src {
		r.cnt.Ignored++ // our parent's DAO: a loop (§9.8 forbids it)
		return out
	}
	r.cnt.DAO++
	accepted, refused, changed := 0, 0, false
	var group [maxGroup]Target
	n, afterTransit := 0, false
	it := m.Options().Iter()
	for o, done, err := it.Next(); !done && err == nil; o, done, err = it.Next() {
		switch o.Type() {
		case OptTarget:
			if afterTransit {
				n, afterTransit = 0, false
			}
			if n < maxGroup {
				group[n] = Target(o)
				n++
			} else {
				refused++
			}
		case OptTransit:
			afterTransit = true
			for _, t := range group[:n] {
				a, c := r.applyRoute(t, Transit(o), src, now)
				changed = changed || c
				if a {
					accepted++
				} else {
					refused++
				}
			}
		}
	}
	if changed {
		r.delayDAO(now)
	}
	if !d.AckRequested() {
		return out
	}
	status := uint8(DAOACKAccepted)
	if refused > 0 && accepted == 0 {
		status = DAOACKRejected
	}
	var id netip.Addr
	if r.inst >= 128 {
		id = r.dodagID
	}
	b, _ := AppendDAOACK(r.buf[:0], &DAOACKFields{Instance: r.inst, Sequence: d.Sequence(), Status: status, DODAGID: id})
	r.buf = b
	r.cnt.DAOACKsSent++
	return append(out, r.reply(src, true, b))
}

// applyRoute records one target via child (or removes it on a No-Path);
// it reports whether the target was taken and whether the routes changed.
func (r *Router) applyRoute(t Target, tr Transit, child netip.Addr, now time.Time) (ok, changed bool) {
	p := t.Prefix()
	a := p.Addr()
	if p.Bits() != 128 || !a.Is6() || a.Is4In6() || a.IsMulticast() || a.IsLinkLocalUnicast() ||
		a.IsUnspecified() || a.IsLoopback() || a == r.global || a == r.dodagID {
		r.cnt.DroppedTarget++
		return false, false
	}
	if _, mine := r.ruls[a]; mine {
		r.cnt.DroppedTarget++
		return false, false
	}
	cur, have := r.routes[a]
	seq := tr.PathSequence()
	if tr.PathLifetime() == 0 {
		if !have || (cur.via != child && seq != cur.pathSeq && !seqNewer(seq, cur.pathSeq)) {
			return true, false // nothing of ours, or an older path's No-Path
		}
		delete(r.routes, a)
		r.cnt.RoutesRemoved++
		if len(r.noPaths) < maxNoPaths {
			r.noPaths = append(r.noPaths, noPath{target: a, pathSeq: seq})
		}
		return true, true
	}
	if have && cur.via != child && seq != cur.pathSeq && !seqNewer(seq, cur.pathSeq) &&
		(cur.expires.IsZero() || cur.expires.After(now)) {
		r.cnt.DroppedStale++ // §7.2: an older path sequence for a live route
		return false, false
	}
	if !have && len(r.routes) >= r.cfg.MaxRoutes {
		r.cnt.DroppedFull++
		return false, false
	}
	var exp time.Time
	if tr.PathLifetime() != infiniteLifetime {
		exp = now.Add(time.Duration(tr.PathLifetime()) * time.Duration(r.conf.LifetimeUnit) * time.Second)
		if r.sweepAt.IsZero() || exp.Before(r.sweepAt) {
			r.sweepAt = exp
		}
	}
	rovr := cur.rovr
	if v := t.ROVR(); v != nil && !slices.Equal(v, rovr) {
		rovr = slices.Clone(v)
	}
	r.routes[a] = route{via: child, expires: exp, pathSeq: seq, rovr: rovr}
	if !have {
		r.cnt.RoutesAdded++
	}
	for i, np := range r.noPaths {
		if np.target == a {
			r.noPaths = slices.Delete(r.noPaths, i, i+1)
			break
		}
	}
	return true, !have || cur.via != child || cur.pathSeq != seq
}

// sweep removes lapsed routes and leaves, and sets the next sweep.
func (r *Router) sweep(out []Reply, now time.Time) []Reply {
	r.sweepAt = time.Time{}
	next := func(t time.Time) {
		if !t.IsZero() && (r.sweepAt.IsZero() || t.Before(r.sweepAt)) {
			r.sweepAt = t
		}
	}
	for a, rt := range r.routes {
		if !rt.expires.IsZero() && !now.Before(rt.expires) {
			delete(r.routes, a)
			r.cnt.RoutesExpired++
			continue
		}
		next(rt.expires)
	}
	for a, l := range r.ruls {
		if !now.Before(l.expires) {
			delete(r.ruls, a)
			continue
		}
		next(l.expires)
	}
	return out
}

// NextHop returns the storing-mode next hop (a child's link-local
// address) towards dst, from the children's DAOs.
func (r *Router) NextHop(dst netip.Addr, now time.Time) (netip.Addr, bool) {
	rt, ok := r.routes[dst]
	if !ok || (!rt.expires.IsZero() && !now.Before(rt.expires)) {
		return netip.Addr{}, false
	}
	return rt.via, true
}

// ErrRULFull is AddRUL's refusal when MaxRULs leaves are advertised.
var ErrRULFull = errors.New("rpl: the router advertises as many leaves as it may")

// AddRUL advertises addr, registered with this router by a RPL-unaware
// leaf with NS(EARO) (RFC 9010 §9.2.2), in the router's DAOs: its ROVR
// in the Target (§6.1), the EARO's TID as the Path Sequence and the
// registration lifetime as the Path Lifetime. A new or changed leaf
// brings a DAO within 1–2 s; lifetime 0 withdraws it with a No-Path.
func (r *Router) AddRUL(out []Reply, addr netip.Addr, rovr []byte, tid uint8, lifetime time.Duration, now time.Time) ([]Reply, error) {
	if !addr.Is6() || addr.IsLinkLocalUnicast() || addr.IsMulticast() || addr.IsUnspecified() || addr == r.global {
		return out, errEncodeAddr
	}
	if len(rovr)%rovrUnit != 0 || len(rovr) > maxROVRsz*rovrUnit {
		rovr = nil // an ROVR the Target cannot carry: advertised without
	}
	cur, have := r.ruls[addr]
	if lifetime <= 0 {
		if !have {
			return out, nil
		}
		delete(r.ruls, addr)
		if r.mop >= MOPStoring {
			if len(r.noPaths) < maxNoPaths {
				r.noPaths = append(r.noPaths, noPath{target: addr, pathSeq: tid})
			}
			r.delayDAO(now)
		} else if r.joined && r.mop == MOPNonStoring {
			out = r.appendRULNoPath(out, addr, cur, tid)
		}
		return out, nil
	}
	if !have && len(r.ruls) >= r.cfg.MaxRULs {
		return out, ErrRULFull
	}
	delete(r.routes, addr) // registered here now, not behind a child
	exp := now.Add(lifetime)
	r.ruls[addr] = rul{rovr: slices.Clone(rovr), tid: tid, expires: exp}
	if r.sweepAt.IsZero() || exp.Before(r.sweepAt) {
		r.sweepAt = exp
	}
	if !have || cur.tid != tid {
		r.delayDAO(now)
	}
	return out, nil
}

// appendRULNoPath withdraws a leaf in non-storing mode: a DAO to the root
// with its Target and a Transit of lifetime 0 (§6.7.8).
func (r *Router) appendRULNoPath(out []Reply, addr netip.Addr, l rul, tid uint8) []Reply {
	if !r.global.IsValid() {
		return out
	}
	b, _ := AppendDAO(r.buf[:0], &DAOFields{Instance: r.inst, AckRequested: false, Sequence: r.daoSeq})
	var err error
	if b, err = AppendTarget(b, netip.PrefixFrom(addr, 128), TargetFlagF, l.rovr); err != nil {
		b, _ = AppendTarget(b, netip.PrefixFrom(addr, 128), TargetFlagF, nil)
	}
	b, _ = AppendTransit(b, &TransitFields{External: true, PathSequence: tid, PathLifetime: 0, Parent: r.global})
	r.buf = b
	r.daoSeq = lollipopInc(r.daoSeq)
	r.cnt.NoPathsSent++
	return append(out, r.reply(r.dodagID, false, b))
}

// RPI returns the RPL Option fields for a packet the router originates
// upwards (RFC 6553 §3, RFC 9008 §4.2: O clear, the sender rank its own),
// of type typ (OptionTypeRPI6553 or OptionTypeRPI9008); false before
// joining.
func (r *Router) RPI(typ uint8) (RPIFields, bool) {
	if !r.joined || r.rank == InfiniteRank {
		return RPIFields{}, false
	}
	return RPIFields{Type: typ, Instance: r.inst, SenderRank: r.rank}, true
}

// ForwardRPI applies RFC 6550 §11.2.2.2 to the RPI of a packet the router
// forwards: a packet going down (O set) must come from a lesser rank, one
// going up from a greater; a first inconsistency sets R, a second
// (R already set) is ErrRankError and the packet is dropped. The sender
// rank then becomes the router's (RFC 6553 §3). down says which way the
// router sends it; the O flag is set to match.
func (r *Router) ForwardRPI(o RPLOption, down bool) error {
	if !r.joined {
		return nil
	}
	flags := o.Flags()
	sr, mine := r.dagRank(o.SenderRank()), r.dagRank(r.rank)
	wentDown := flags&RPIFlagO != 0
	bad := (wentDown && sr > mine) || (!wentDown && sr < mine)
	if bad {
		if flags&RPIFlagR != 0 {
			return ErrRankError
		}
		flags |= RPIFlagR
	}
	if down {
		flags |= RPIFlagO
	} else {
		flags &^= RPIFlagO
	}
	o.SetFlags(flags)
	o.SetSenderRank(r.rank)
	return nil
}
