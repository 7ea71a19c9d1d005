package rpl

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"time"
)

// RootConfig configures a DODAG root. Zero values take the defaults noted.
type RootConfig struct {
	Instance uint8      // RPLInstanceID; below 128 is a global instance (§5.1)
	DODAGID  netip.Addr // the 6LBR's global address; required
	// LinkLocal is the root's link-local address, the source of its DIOs
	// and DAO-ACKs to link-local peers (checksums are computed with it;
	// if invalid, replies carry a zero checksum for the caller to set).
	LinkLocal netip.Addr
	// MOP: MOPNonStoring (default, as Contiki-NG RPL-Lite, wsbrd) or
	// MOPStoring (RIOT gnrc_rpl, see testdata/riot/README.md). 0 (no
	// downward routes) is taken as the default.
	MOP                uint8
	OCP                uint16 // 0: OF0 (RFC 6552)
	MinHopRankIncrease uint16 // 0: 256 (RFC 6550 §17 DEFAULT_MIN_HOP_RANK_INCREASE)
	// MaxRankIncrease: 0 takes 7 × MinHopRankIncrease, Contiki's and
	// Contiki-NG's RPL_MAX_RANKINC (RFC 6550 §17 names no default; RIOT's
	// root sends 0, which §6.7.6 reads as local repair disabled).
	MaxRankIncrease      uint16
	DIOIntervalMin       uint8 // 0: 3 (8 ms, §17)
	DIOIntervalDoublings uint8 // 0: 20 (§17)
	DIORedundancy        uint8 // 0: 10 (§17)
	// DefaultLifetime × LifetimeUnit s is the lifetime nodes put in their
	// DAOs; 0 takes RIOT's 5 × 60 s (CONFIG_GNRC_RPL_DEFAULT_LIFETIME,
	// CONFIG_GNRC_RPL_LIFETIME_UNIT), short enough that a departed node's
	// route goes within minutes, and RIOT refreshes every minute.
	DefaultLifetime uint8
	LifetimeUnit    uint16
	// Prefix is advertised in a PIO with the R flag and the DODAGID as the
	// address (§6.7.10); default: DODAGID/64. RIOT joins only with an
	// address sharing a prefix with the DODAGID, which needs the PIO.
	Prefix                  netip.Prefix
	PrefixValid, PrefixPref uint32 // seconds; 0: infinity
	Version                 uint8  // initial DODAG version; 0: 240 (§7.2 lollipop start)
	MaxTargets              int    // 0: 16384
	// MaxPrefixes bounds the targets shorter than /128 (within MaxTargets):
	// they are looked up by a walk, so a flood of them must not make every
	// lookup slow. 0: 64.
	MaxPrefixes int
	MaxDepth    int // source route hops; 0: 64
	// External are the prefixes outside Prefix that DAO targets may hold
	// (routes to networks behind RPL routers). A target outside Prefix
	// and outside all of these is refused: otherwise a DAO for the LAN's
	// prefix, or 2000::/3, would pull the mesh's outbound traffic down to
	// whoever sent it and let it use those addresses as sources.
	External []netip.Prefix
	// Compression8138 sets the DODAG Configuration option's T flag
	// (RFC 9035 §3: nodes compress RPL artefacts with RFC 8138 6LoRHs).
	Compression8138 bool
	// RPI0x23 sets its D flag (RFC 9008 §4.1.3: the instance's RPI is
	// option type 0x23, not RFC 6553's 0x63).
	RPI0x23 bool
	// Seed seeds the trickle timer's random points (tests: fixed).
	Seed uint64
	// CheckTarget, when set, judges each target of a DAO before it is
	// recorded, with the ROVR its RPL Target option carries (RFC 9010
	// §6.1; nil from a legacy RFC 6550 target, as RIOT sends): 0 accepts;
	// anything else refuses the target and is the DAO-ACK status when
	// nothing of the DAO was accepted — an RFC 9010 §6.3 status, e.g.
	// StatusDuplicate for an address registered to another owner. The
	// 6LBR uses it to keep RPL routes and its registry consistent.
	CheckTarget func(target netip.Prefix, rovr []byte) uint8
}

// StatusDuplicate is the RFC 9010 §6.3 RPL Status carrying the 6LoWPAN-ND
// EARO status 1 (Duplicate Address): U (rejection) and A (an ND status)
// set.
const StatusDuplicate = 0x80 | 0x40 | 1

// Root defaults.
const (
	DefaultMaxTargets  = 16384
	DefaultMaxDepth    = 64
	DefaultMaxPrefixes = 64
	seqInit            = 240 // RFC 6550 §7.2: lollipop counters start at 256 − 16
	seqWindow          = 16  // §7.2 SEQUENCE_WINDOW
	infiniteLifetime   = 0xff
)

// Route errors. Callers branch on them.
var (
	ErrNoRoute   = errors.New("rpl: no route to target")
	ErrRouteLoop = errors.New("rpl: source route loops or exceeds the depth cap")
)

// Reply is a RPL message the root wants sent.
type Reply struct {
	Src, Dst netip.Addr
	// ToSender: send to the link-layer source of the message being
	// handled: set when Dst is the link-local sender (a neighbour's DIS
	// or storing-mode DAO). Otherwise Dst decides: multicast (the DIO),
	// or a global address to be routed down like any packet (the
	// DAO-ACK to a non-storing DAO, which came over several hops: the
	// frame's link source is only the last relay).
	ToSender bool
	Msg      []byte // the ICMPv6 message, checksum set when Src is valid
	// Parent (a DAO-ACK to a non-storing DAO) is the Transit's parent of
	// the DAO being answered: when the DAO was refused there is no route
	// to Dst, and the way down is the route to Parent, then Dst.
	Parent netip.Addr
}

// RootCounters are the root's running totals.
type RootCounters struct {
	// Messages received and handled, by kind (DIS: multicast).
	DIS              uint64 `json:"dis_received"`
	DISUnicast       uint64 `json:"dis_unicast_received"`
	DIO              uint64 `json:"dio_received"`
	DIODetached      uint64 `json:"dio_detached_received"` // of DIO: INFINITE_RANK, a neighbour detached
	DIOFloating      uint64 `json:"dio_floating_received"` // our instance, a floating DODAG of a neighbour's (not in DIO)
	DAO              uint64 `json:"dao_received"`
	DAOACK           uint64 `json:"dao_ack_received"`
	Ignored          uint64 `json:"ignored"` // other instance, secure, DAO-ACK, malformed
	DIOsSent         uint64 `json:"dios_sent"`
	DAOACKsSent      uint64 `json:"dao_acks_sent"`
	TargetsAdded     uint64 `json:"targets_added"`
	TargetsRefreshed uint64 `json:"targets_refreshed"`
	TargetsRemoved   uint64 `json:"targets_removed"`
	TargetsExpired   uint64 `json:"targets_expired"`
	DroppedFull      uint64 `json:"dropped_full"`      // new targets refused: MaxTargets reached
	DroppedLoop      uint64 `json:"dropped_loop"`      // non-storing transits that would close a loop
	DroppedStale     uint64 `json:"dropped_stale"`     // path sequence older than the recorded one
	DroppedNoParent  uint64 `json:"dropped_no_parent"` // non-storing transit without parent, not link-local
	DroppedTarget    uint64 `json:"dropped_target"`    // target not routable: link-local, multicast, the root's own
	DroppedOwner     uint64 `json:"dropped_owner"`     // refused by CheckTarget: registered to another owner
}

// entry is one target's route: 24 octets.
type entry struct {
	via     [16]byte // non-storing: the parent; storing: the next hop (link-local)
	expires uint32   // seconds since the root's epoch; ^0 never
	pathSeq uint8
	ext     bool
}

const never = ^uint32(0)

// Root is a DODAG root (RFC 6550 §8.2.2.1, §9): one instance, one DODAG.
// It is pure state: time comes in, replies go out, one goroutine owns it.
type Root struct {
	cfg     RootConfig
	trickle Trickle
	epoch   time.Time
	version uint8
	dtsn    uint8

	hosts    map[[16]byte]entry     // /128 targets
	prefixes map[netip.Prefix]entry // shorter targets (external routes)
	rootAddr [16]byte
	llAddr   [16]byte
	lastFull time.Time
	cnt      RootCounters
	dio      []byte // scratch for DIO
	refusal  uint8  // the last CheckTarget refusal in the DAO being handled
}

// NewRoot returns a root with cfg's defaults filled in; its trickle timer
// starts at now.
func NewRoot(cfg RootConfig, now time.Time) (*Root, error) {
	if !cfg.DODAGID.Is6() || cfg.DODAGID.Is4In6() {
		return nil, errEncodeAddr
	}
	if cfg.MOP != MOPStoring {
		cfg.MOP = MOPNonStoring
	}
	def := func(v *uint16, d uint16) {
		if *v == 0 {
			*v = d
		}
	}
	def8 := func(v *uint8, d uint8) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.MinHopRankIncrease, 256)
	def(&cfg.MaxRankIncrease, uint16(min(7*uint32(cfg.MinHopRankIncrease), 0xffff)))
	def8(&cfg.DIOIntervalMin, 3)
	def8(&cfg.DIOIntervalDoublings, 20)
	def8(&cfg.DIORedundancy, 10)
	def8(&cfg.DefaultLifetime, 5)
	def(&cfg.LifetimeUnit, 60)
	def8(&cfg.Version, seqInit)
	if !cfg.Prefix.IsValid() {
		cfg.Prefix, _ = cfg.DODAGID.Prefix(64)
	}
	if cfg.PrefixValid == 0 {
		cfg.PrefixValid = 0xffffffff
	}
	if cfg.PrefixPref == 0 {
		cfg.PrefixPref = 0xffffffff
	}
	if cfg.MaxTargets <= 0 {
		cfg.MaxTargets = DefaultMaxTargets
	}
	if cfg.MaxPrefixes <= 0 {
		cfg.MaxPrefixes = DefaultMaxPrefixes
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	r := &Root{
		cfg:      cfg,
		epoch:    now,
		version:  cfg.Version,
		dtsn:     seqInit,
		hosts:    make(map[[16]byte]entry),
		prefixes: make(map[netip.Prefix]entry),
		rootAddr: cfg.DODAGID.As16(),
		trickle: NewTrickle(cfg.DIOIntervalMin, cfg.DIOIntervalDoublings, cfg.DIORedundancy,
			rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))),
	}
	if cfg.LinkLocal.IsValid() {
		r.llAddr = cfg.LinkLocal.As16()
	}
	r.trickle.Reset(now)
	return r, nil
}

// Config returns the configuration with defaults filled in.
func (r *Root) Config() RootConfig { return r.cfg }

// Version returns the current DODAG version.
func (r *Root) Version() uint8 { return r.version }

// Counters returns the running totals.
func (r *Root) Counters() RootCounters { return r.cnt }

// Len returns the number of targets held (expired ones until Expire).
func (r *Root) Len() int { return len(r.hosts) + len(r.prefixes) }

// Trickle gives the owner the DIO timer (Next tells when to call Tick).
func (r *Root) Trickle() *Trickle { return &r.trickle }

// IncrementVersion is global repair (§8.2.2.1, §7.2: the version is a
// lollipop counter): nodes rejoin the new version, and their DAOs
// refresh the routes (kept meanwhile: they stay valid until their
// lifetimes end). The trickle timer restarts so the new version spreads
// at Imin (§8.3: a new version is an inconsistency).
func (r *Root) IncrementVersion(now time.Time) {
	r.version = lollipopInc(r.version)
	r.dtsn = lollipopInc(r.dtsn)
	r.trickle.Reset(now)
}

// RequestDAOs increments the DTSN and restarts trickle: every node
// below sends its DAOs again (§9.6; in non-storing mode the root's DTSN
// alone triggers them). For a root that lost its routes (a restart) or
// wants them confirmed now rather than at the nodes' next refresh.
func (r *Root) RequestDAOs(now time.Time) {
	r.dtsn = lollipopInc(r.dtsn)
	r.trickle.Reset(now)
}

// lollipopInc increments a §7.2 lollipop counter: 255 wraps to 0, 127 to 0.
func lollipopInc(v uint8) uint8 {
	if v == 127 || v == 255 {
		return 0
	}
	return v + 1
}

// seqNewer reports whether a is newer than b under RFC 6550 §7.2's
// lollipop comparison. Counters too far apart to compare (a node that
// rebooted) count as newer, so a restarted node's DAO is taken.
func seqNewer(a, b uint8) bool {
	switch {
	case a >= 128 && b < 128:
		return 256+int(b)-int(a) > seqWindow
	case a < 128 && b >= 128:
		return 256+int(a)-int(b) <= seqWindow
	}
	var d int
	if a < 128 { // circular region: serial arithmetic mod 128 (RFC 1982)
		d = (int(a) - int(b)) & 0x7f
		if d > 64 {
			d -= 128
		}
	} else {
		d = int(a) - int(b)
	}
	if d > seqWindow || d < -seqWindow {
		return true // not comparable: desynchronised
	}
	return d > 0
}

// DIO returns the root's DIO (§6.3.1 base, rank ROOT_RANK, grounded) with
// the DODAG Configuration option and the PIO. The configuration option is
// in every DIO, not only after a reset: RIOT gnrc_rpl joins only on a DIO
// carrying it (gnrc_rpl_control_messages.c _handle_DIO_opts) and otherwise
// costs a unicast DIS round trip per joining node; a node that missed the
// first DIOs after a reset would otherwise wait until Imax (2.3 h) for
// one. It costs 16 octets. The returned slice is reused by the next call.
func (r *Root) DIO(now time.Time) []byte {
	b := r.dio[:0]
	b, _ = AppendDIO(b, &DIOFields{Instance: r.cfg.Instance, Version: r.version,
		Rank: r.cfg.MinHopRankIncrease, Grounded: true, MOP: r.cfg.MOP, DTSN: r.dtsn, DODAGID: r.cfg.DODAGID})
	b, _ = AppendDODAGConfig(b, &DODAGConfigFields{Compression8138: r.cfg.Compression8138, RPI0x23: r.cfg.RPI0x23,
		DIOIntervalDoublings: r.cfg.DIOIntervalDoublings, DIOIntervalMin: r.cfg.DIOIntervalMin,
		DIORedundancy: r.cfg.DIORedundancy, MaxRankIncrease: r.cfg.MaxRankIncrease,
		MinHopRankIncrease: r.cfg.MinHopRankIncrease, OCP: r.cfg.OCP,
		DefaultLifetime: r.cfg.DefaultLifetime, LifetimeUnit: r.cfg.LifetimeUnit})
	b, _ = AppendPrefixInfo(b, &PrefixInfoFields{Address: r.cfg.DODAGID, PrefixLength: uint8(r.cfg.Prefix.Bits()),
		Flags: PrefixFlagA | PrefixFlagR, ValidLifetime: r.cfg.PrefixValid, PreferredLifetime: r.cfg.PrefixPref})
	r.dio = b
	return b
}

// Tick runs the trickle timer at now and appends the multicast DIO to
// replies when it is time to send one (RFC 6206 §4.2 step 4).
func (r *Root) Tick(replies []Reply, now time.Time) []Reply {
	if !r.trickle.Fire(now) {
		return replies
	}
	return append(replies, r.reply(AllRPLNodes, false, r.DIO(now)))
}

// reply copies msg into a Reply from the right source with its checksum.
func (r *Root) reply(dst netip.Addr, toSender bool, msg []byte) Reply {
	src := r.cfg.DODAGID
	if dst.IsLinkLocalUnicast() || dst.IsMulticast() {
		src = r.cfg.LinkLocal
	}
	m := Message(append([]byte(nil), msg...))
	if src.IsValid() {
		m.SetChecksum(src, dst)
	}
	switch Message(msg).Code() {
	case CodeDIO:
		r.cnt.DIOsSent++
	case CodeDAOACK:
		r.cnt.DAOACKsSent++
	}
	return Reply{Src: src, Dst: dst, ToSender: toSender, Msg: m}
}

// Handle processes a RPL message m (validated by Parse) from src to dst
// received at now and appends the replies:
//   - DIS to a multicast address: trickle reset (RFC 6550 §8.3, §18.2
//     DIS handling), the DIO follows from Tick at Imin.
//   - DIS unicast: a unicast DIO at once (§8.3). RIOT probes a silent
//     parent this way and drops it after 3 unanswered DISes
//     (testdata/riot/README.md, claim 4).
//   - DIO: consistent (same instance, DODAG, version, a finite rank)
//     counts towards suppression; an older version of ours is an
//     inconsistency (§8.3), and so is a detached neighbour's DIO
//     (INFINITE_RANK), which RIOT's root answers with a trickle reset
//     (gnrc_rpl_control_messages.c, gnrc_rpl_recv_DIO): our DIO at
//     Imin lets it join again instead of at the end of a long interval.
//     A floating DODAG's DIO in our instance (a RIOT router that lost its
//     parents floats one) resets the trickle too.
//   - DAO: routes (§9.7 non-storing, §9.8 storing) and a DAO-ACK when K
//     is set (§9.3): status 0, or 128 (rejection) when nothing of it
//     could be recorded; D only for a local instance (§6.5.1), as RIOT
//     and wsbrd do for a global one.
//
// A secure message, one of another instance or DODAG, or a DAO-ACK is
// counted as ignored.
func (r *Root) Handle(replies []Reply, m Message, src, dst netip.Addr, now time.Time) []Reply {
	if len(m) < icmpHdr || m.Validate() != nil {
		r.cnt.Ignored++
		return replies
	}
	switch m.Code() {
	case CodeDIS:
		return r.handleDIS(replies, m, src, dst, now)
	case CodeDIO:
		r.handleDIO(m, now)
		return replies
	case CodeDAO:
		return r.handleDAO(replies, m, src, now)
	}
	r.cnt.Ignored++
	return replies
}

func (r *Root) handleDIS(replies []Reply, m Message, src, dst netip.Addr, now time.Time) []Reply {
	// §8.3: a DIS with a Solicited Information option is answered only
	// when every predicate it sets matches.
	if o := m.Options().Find(OptSolicitedInfo); o != nil {
		si := SolicitedInfo(o)
		if (si.Flags()&SolicitedFlagV != 0 && si.Version() != r.version) ||
			(si.Flags()&SolicitedFlagI != 0 && si.Instance() != r.cfg.Instance) ||
			(si.Flags()&SolicitedFlagD != 0 && si.DODAGID() != r.cfg.DODAGID) {
			r.cnt.Ignored++
			return replies
		}
	}
	if dst.IsMulticast() {
		r.cnt.DIS++
		r.trickle.Reset(now)
		return replies
	}
	r.cnt.DISUnicast++
	if !src.IsValid() || src.IsUnspecified() || src.IsMulticast() {
		return replies
	}
	return append(replies, r.reply(src, src.IsLinkLocalUnicast(), r.DIO(now)))
}

func (r *Root) handleDIO(m Message, now time.Time) {
	d := m.DIO()
	if d.Instance() == r.cfg.Instance && d.DODAGID() != r.cfg.DODAGID && !d.Grounded() {
		// A neighbour that lost its parents and floats a DODAG of its
		// own: RIOT's gnrc_rpl_local_repair does this (_float_dodag,
		// gnrc_rpl_dodag.c; CONFIG_GNRC_RPL_DODAG_FLOAT_TIMEOUT, 15 min)
		// instead of poisoning, and leaves it for a grounded DODAG's DIO
		// (gnrc_rpl_control_messages.c _recv_DIO_for_different_dodag,
		// OF0's which_dodag prefers grounded). It would wait for our next
		// DIO, at the end of an interval that may have grown to hours;
		// §8.3 lets an implementation take other events for
		// inconsistencies, and this is one: our DIO at Imin brings the
		// neighbour, and its sub-DODAG, back.
		r.cnt.DIOFloating++
		r.trickle.Reset(now)
		return
	}
	if d.Instance() != r.cfg.Instance || d.DODAGID() != r.cfg.DODAGID {
		r.cnt.Ignored++
		return
	}
	r.cnt.DIO++
	switch {
	case d.Version() == r.version && d.Rank() == InfiniteRank:
		// §8.2.2.5: a neighbour poisoning its sub-DODAG has no parent
		// left; we can be one at once (RIOT gnrc_rpl_recv_DIO resets the
		// root's trickle; a poison is no consistent DIO either).
		r.cnt.DIODetached++
		r.trickle.Reset(now)
	case d.Version() == r.version:
		r.trickle.Consistent()
	case seqNewer(r.version, d.Version()):
		// §8.3: a DIO advertising an older version is an inconsistency.
		r.trickle.Inconsistent(now)
	}
}

// DAO-ACK status values (RFC 6550 §6.5.1; 128 and up reject, RFC 9010 §6.3).
const (
	DAOACKAccepted = 0
	DAOACKRejected = 128
)

func (r *Root) handleDAO(replies []Reply, m Message, src netip.Addr, now time.Time) []Reply {
	d := m.DAO()
	if d.Instance() != r.cfg.Instance {
		r.cnt.Ignored++
		return replies
	}
	if id, ok := d.DODAGID(); ok && id != r.cfg.DODAGID {
		r.cnt.Ignored++
		return replies
	}
	r.cnt.DAO++
	r.refusal = 0
	accepted, refused := r.applyDAO(m, src, now)
	if !d.AckRequested() || !src.IsValid() {
		return replies
	}
	status := uint8(DAOACKAccepted)
	if refused > 0 && accepted == 0 {
		status = DAOACKRejected
		if r.refusal != 0 {
			status = r.refusal
		}
	}
	var id netip.Addr
	if r.cfg.Instance >= 128 { // local instance: D and the DODAGID (§6.5.1)
		id = r.cfg.DODAGID
	}
	var buf [icmpHdr + ackBaseLen + dodagIDLen]byte
	b, _ := AppendDAOACK(buf[:0], &DAOACKFields{Instance: r.cfg.Instance, Sequence: d.Sequence(),
		Status: status, DODAGID: id})
	rep := r.reply(src, src.IsLinkLocalUnicast(), b)
	if r.cfg.MOP != MOPStoring {
		it := m.Options().Iter()
		for o, done, err := it.Next(); !done && err == nil; o, done, err = it.Next() {
			if o.Type() == OptTransit {
				if p, ok := Transit(o).Parent(); ok {
					rep.Parent = p
					break
				}
			}
		}
	}
	return append(replies, rep)
}

// maxGroup bounds the Targets waiting for their Transit in one DAO; the
// message fits a frame anyway, this only keeps the scratch on the stack.
const maxGroup = 32

// applyDAO walks the DAO's options: Targets followed by the Transit(s)
// that apply to them (§6.7.8, §9.4; RIOT sends Target, Transit pairs,
// README claim 7). It returns how many targets were recorded or removed
// and how many refused.
func (r *Root) applyDAO(m Message, src netip.Addr, now time.Time) (accepted, refused int) {
	var group [maxGroup]netip.Prefix
	var owned [maxGroup]bool // refused by CheckTarget
	n, afterTransit := 0, false
	it := m.Options().Iter()
	for o, done, err := it.Next(); !done && err == nil; o, done, err = it.Next() {
		switch o.Type() {
		case OptTarget:
			if afterTransit {
				n, afterTransit = 0, false
			}
			if n < maxGroup {
				group[n] = Target(o).Prefix()
				owned[n] = false
				if r.cfg.CheckTarget != nil {
					if st := r.cfg.CheckTarget(group[n], Target(o).ROVR()); st != 0 {
						owned[n], r.refusal = true, st
					}
				}
				n++
			} else {
				refused++
			}
		case OptTransit:
			afterTransit = true
			a, f := r.applyTransit(group[:n], owned[:n], Transit(o), src, now)
			accepted += a
			refused += f
		}
	}
	return accepted, refused
}

func (r *Root) applyTransit(targets []netip.Prefix, owned []bool, tr Transit, src netip.Addr, now time.Time) (accepted, refused int) {
	var via [16]byte
	if r.cfg.MOP == MOPStoring {
		// §9.8: in storing mode the DAO's sender is the next hop.
		via = src.As16()
	} else if p, ok := tr.Parent(); ok {
		via = p.As16()
	} else if src.IsLinkLocalUnicast() {
		// No Parent Address (§9.7 requires one): a one-hop RIOT node sends
		// this to its parent, here the root (README claim 1). Its parent is
		// then the root itself.
		via = r.rootAddr
	} else {
		r.cnt.DroppedNoParent += uint64(len(targets))
		return 0, len(targets)
	}
	life := tr.PathLifetime()
	for i, t := range targets {
		if owned[i] {
			r.cnt.DroppedOwner++
			refused++
			continue
		}
		if !r.routable(t) {
			r.cnt.DroppedTarget++
			refused++
			continue
		}
		if life == 0 { // No-Path (§6.7.8, §9.10)
			if r.remove(t, tr.PathSequence()) {
				accepted++
			}
			continue
		}
		if r.set(t, via, tr, now) {
			accepted++
		} else {
			refused++
		}
	}
	return accepted, refused
}

// routable reports whether t may be a DAO target: a global or ULA
// unicast prefix, not the root's own address (a DAO must not divert the
// root's traffic to itself), not link-local (meaningless beyond one hop:
// the trap testdata/riot/README.md describes, RIOT advertising its
// link-local address when no PIO matches) nor multicast.
func (r *Root) routable(t netip.Prefix) bool {
	a := t.Addr()
	if !t.IsValid() || !a.Is6() || a.Is4In6() || a.IsMulticast() || a.IsLinkLocalUnicast() ||
		a.IsUnspecified() || a.IsLoopback() {
		return false
	}
	if t.Contains(r.cfg.DODAGID) || (r.cfg.LinkLocal.IsValid() && t.Contains(r.cfg.LinkLocal)) {
		return false
	}
	if within(t, r.cfg.Prefix) {
		return true
	}
	for _, p := range r.cfg.External {
		if within(t, p) {
			return true
		}
	}
	return false
}

// within reports whether t lies inside p (as long as p or longer).
func within(t, p netip.Prefix) bool {
	return p.IsValid() && t.Bits() >= p.Bits() && p.Contains(t.Addr())
}

func (r *Root) expiry(life uint8, now time.Time) uint32 {
	if life == infiniteLifetime {
		return never
	}
	s := now.Sub(r.epoch)/time.Second + time.Duration(life)*time.Duration(r.cfg.LifetimeUnit)
	return uint32(min(max(s, 0), time.Duration(never-1)))
}

// secs is now in whole seconds since the epoch: lifetimes are counted in
// seconds (Lifetime Unit ≥ 1 s), so a route may end up to 1 s early.
func (r *Root) secs(now time.Time) uint32 {
	return uint32(min(max(now.Sub(r.epoch)/time.Second, 0), time.Duration(never-1)))
}

// set records or refreshes target t via via. A new target is refused when
// the table is full: evicting a live route for a new one would let a DAO
// flood with spoofed targets push out the nodes that are really there,
// while a refused node retries (RIOT every 3 s, then every minute) and
// gets in once a lapsed route is swept.
func (r *Root) set(t netip.Prefix, via [16]byte, tr Transit, now time.Time) bool {
	e, ok := r.lookup(t)
	nowS := r.secs(now)
	if ok && e.expires > nowS && !seqNewer(tr.PathSequence(), e.pathSeq) && tr.PathSequence() != e.pathSeq {
		// An older path sequence: stale (§7.2, §9.2.2). Equal is a refresh:
		// RIOT always sends 0 (README claim 6).
		r.cnt.DroppedStale++
		return false
	}
	if r.cfg.MOP != MOPStoring && t.Bits() == 128 && r.closesLoop(t.Addr().As16(), via) {
		r.cnt.DroppedLoop++
		return false
	}
	if !ok && t.Bits() < 128 && len(r.prefixes) >= r.cfg.MaxPrefixes {
		r.cnt.DroppedFull++
		return false
	}
	if !ok && r.Len() >= r.cfg.MaxTargets {
		if now.Sub(r.lastFull) >= time.Second { // sweep at most once a second
			r.lastFull = now
			r.Expire(now)
		}
		if r.Len() >= r.cfg.MaxTargets {
			r.cnt.DroppedFull++
			return false
		}
	}
	ne := entry{via: via, expires: r.expiry(tr.PathLifetime(), now), pathSeq: tr.PathSequence(), ext: tr.External()}
	if t.Bits() == 128 {
		r.hosts[t.Addr().As16()] = ne
	} else {
		r.prefixes[t.Masked()] = ne
	}
	if ok {
		r.cnt.TargetsRefreshed++
	} else {
		r.cnt.TargetsAdded++
	}
	return true
}

// closesLoop reports whether making via the parent of t would put t on
// its own path to the root (§9.7 leaves loop avoidance to the root's
// graph; a spoofed transit could otherwise loop the source routes).
func (r *Root) closesLoop(t, via [16]byte) bool {
	cur := via
	for range r.cfg.MaxDepth {
		if cur == t {
			return true
		}
		if cur == r.rootAddr || cur == r.llAddr {
			return false
		}
		e, ok := r.hosts[cur]
		if !ok {
			return false
		}
		cur = e.via
	}
	return false
}

func (r *Root) lookup(t netip.Prefix) (entry, bool) {
	if t.Bits() == 128 {
		e, ok := r.hosts[t.Addr().As16()]
		return e, ok
	}
	e, ok := r.prefixes[t.Masked()]
	return e, ok
}

// remove handles a No-Path for t: removed unless the sequence is older.
func (r *Root) remove(t netip.Prefix, seq uint8) bool {
	e, ok := r.lookup(t)
	if !ok {
		return false
	}
	if seq != e.pathSeq && !seqNewer(seq, e.pathSeq) {
		r.cnt.DroppedStale++
		return false
	}
	if t.Bits() == 128 {
		delete(r.hosts, t.Addr().As16())
	} else {
		delete(r.prefixes, t.Masked())
	}
	r.cnt.TargetsRemoved++
	return true
}

// Expire removes the routes whose lifetimes ended by now and returns how
// many. It walks the whole table: call it about once a second.
func (r *Root) Expire(now time.Time) int {
	s := r.secs(now)
	n := 0
	for k, e := range r.hosts {
		if e.expires <= s {
			delete(r.hosts, k)
			n++
		}
	}
	for k, e := range r.prefixes {
		if e.expires <= s {
			delete(r.prefixes, k)
			n++
		}
	}
	r.cnt.TargetsExpired += uint64(n)
	return n
}

// find returns the live entry for dst: its /128 target, else the longest
// live prefix target holding it.
func (r *Root) find(dst [16]byte, nowS uint32) (entry, bool) {
	if e, ok := r.hosts[dst]; ok && e.expires > nowS {
		return e, true
	}
	if len(r.prefixes) == 0 {
		return entry{}, false
	}
	a := netip.AddrFrom16(dst)
	best, bits, found := entry{}, -1, false
	for p, e := range r.prefixes {
		if e.expires > nowS && p.Bits() > bits && p.Contains(a) {
			best, bits, found = e, p.Bits(), true
		}
	}
	return best, found
}

// NextHop returns the next hop towards dst in storing mode: the link-local
// address of the child whose DAO announced it.
func (r *Root) NextHop(dst netip.Addr, now time.Time) (netip.Addr, bool) {
	e, ok := r.find(dst.As16(), r.secs(now))
	if !ok {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(e.via), true
}

// Route appends to buf the path from the root to dst and returns it:
// in storing mode one address, the next hop; in non-storing mode the
// source route, first hop first and dst last, followed through the
// recorded parents (§9.7) up to the root. A path longer than MaxDepth or
// passing an address twice is ErrRouteLoop; a missing or lapsed link,
// ErrNoRoute.
func (r *Root) Route(buf []netip.Addr, dst netip.Addr, now time.Time) ([]netip.Addr, error) {
	nowS := r.secs(now)
	if r.cfg.MOP == MOPStoring {
		e, ok := r.find(dst.As16(), nowS)
		if !ok {
			return buf, ErrNoRoute
		}
		return append(buf, netip.AddrFrom16(e.via)), nil
	}
	base := len(buf)
	cur := dst.As16()
	for {
		if len(buf)-base >= r.cfg.MaxDepth {
			return buf[:base], ErrRouteLoop
		}
		for _, h := range buf[base:] {
			if h.As16() == cur {
				return buf[:base], ErrRouteLoop
			}
		}
		buf = append(buf, netip.AddrFrom16(cur))
		e, ok := r.find(cur, nowS)
		if !ok {
			return buf[:base], ErrNoRoute
		}
		if e.via == r.rootAddr || (e.via == r.llAddr && r.cfg.LinkLocal.IsValid()) {
			break
		}
		cur = e.via
	}
	// Collected dst first: reverse into root-to-dst order.
	p := buf[base:]
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
	return buf, nil
}

// SetLinkLocal changes the root's link-local address (the 6LBR's changes
// when the radio comes back with another EUI-64): the source of its DIOs
// and of DAO-ACKs to link-local peers from now on.
func (r *Root) SetLinkLocal(a netip.Addr) {
	r.cfg.LinkLocal = a
	r.llAddr = [16]byte{}
	if a.IsValid() {
		r.llAddr = a.As16()
	}
}

// Lookup returns the recorded route for dst (its /128 target, else the
// longest prefix target holding it): via is the parent (non-storing) or
// the next hop (storing); external reports the Transit's E flag, set by a
// 6LR that announced a target outside the RPL domain — a RUL, which
// cannot process an SRH or RPI (RFC 9008 §7.1: the root tunnels to the
// 6LR instead).
func (r *Root) Lookup(dst netip.Addr, now time.Time) (via netip.Addr, external, ok bool) {
	e, ok := r.find(dst.As16(), r.secs(now))
	if !ok {
		return netip.Addr{}, false, false
	}
	return netip.AddrFrom16(e.via), e.ext, true
}

// RouteEntry is one recorded target, for status displays.
type RouteEntry struct {
	Target   netip.Prefix
	Via      netip.Addr // parent (non-storing) or next hop (storing)
	External bool
	PathSeq  uint8
	Expires  time.Time // zero: never
}

// Routes appends the live routes to buf.
func (r *Root) Routes(buf []RouteEntry, now time.Time) []RouteEntry {
	nowS := r.secs(now)
	add := func(t netip.Prefix, e entry) {
		if e.expires <= nowS {
			return
		}
		re := RouteEntry{Target: t, Via: netip.AddrFrom16(e.via), External: e.ext, PathSeq: e.pathSeq}
		if e.expires != never {
			re.Expires = r.epoch.Add(time.Duration(e.expires) * time.Second)
		}
		buf = append(buf, re)
	}
	for a, e := range r.hosts {
		add(netip.PrefixFrom(netip.AddrFrom16(a), 128), e)
	}
	for p, e := range r.prefixes {
		add(p, e)
	}
	return buf
}

// Forget removes the /128 route to dst, as a storing-mode router removes
// the state a Forwarding-Error packet (the RPI's F flag, RFC 6550
// §11.2.2.3) shows to be stale: the child it points to could not forward
// down. The node's next DAO brings the route back. It reports whether
// there was a route.
func (r *Root) Forget(dst netip.Addr) bool {
	k := dst.As16()
	if _, ok := r.hosts[k]; !ok {
		return false
	}
	delete(r.hosts, k)
	r.cnt.TargetsRemoved++
	return true
}
