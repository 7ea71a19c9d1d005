package nd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/ratelog"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// Protocol constants (RFC 6775 §9).
const (
	// MinContextChangeDelay is MIN_CONTEXT_CHANGE_DELAY: how long a context
	// is advertised with C=0 before it is used, changed or withdrawn.
	MinContextChangeDelay = 300 * time.Second
	// MultihopHopLimit is MULTIHOP_HOPLIMIT, the hop limit of DAR and DAC.
	MultihopHopLimit = 64
	// ndHopLimit is the hop limit of RS, RA, NS and NA (RFC 4861).
	ndHopLimit = 255
)

// Defaults of Config.
const (
	DefaultPrefixValidLifetime     = 24 * time.Hour
	DefaultPrefixPreferredLifetime = 4 * time.Hour
	DefaultContextLifetime         = 60 * time.Minute
	DefaultRouterLifetime          = 1800 * time.Second
	// DefaultABROLifetime is the value a zero ABRO lifetime stands for
	// (RFC 6775 §4.3): 10 000 minutes.
	DefaultABROLifetime = 10000 * time.Minute
	// DefaultCurHopLimit is the Cur Hop Limit advertised in RAs.
	DefaultCurHopLimit = 64
	// DefaultSaveDelay is how long a registry change waits to be written
	// with the changes that follow it: a burst of registrations costs one
	// write and one fsync, and every change is on disk within about half
	// a second (issue 13: a border router on a Pi loses power).
	DefaultSaveDelay = 500 * time.Millisecond
)

// ContextConfig is one compression context the 6LBR distributes.
type ContextConfig struct {
	ID     uint8 // 0–15
	Prefix netip.Prefix
}

// Config configures a Router. Durations are rounded down to the unit of
// their field on the wire (seconds, or minutes for 6CO and ABRO).
type Config struct {
	// Prefix is the mesh prefix, advertised in a PIO with A=1 and L=0
	// (RFC 6775 §6.1: a route-over 6LoWPAN has no on-link prefix).
	// Registrations of addresses outside it (link-local apart) are refused
	// as topologically incorrect.
	Prefix                  netip.Prefix
	PrefixValidLifetime     time.Duration // default 24 h
	PrefixPreferredLifetime time.Duration // default 4 h
	// Contexts are advertised in one 6CO each (RFC 6775 §7.2).
	Contexts        []ContextConfig
	ContextLifetime time.Duration // 6CO valid lifetime, default 60 min
	// ContextChangeDelay is how long a new context is sent with C=0
	// before C=1, and how long a changed or withdrawn one keeps being
	// sent with C=0 before it is replaced or dropped (RFC 6775 §7.2). 0
	// means MinContextChangeDelay (300 s); negative means no delay, for
	// tests and simulations.
	ContextChangeDelay time.Duration
	// RouterLifetime is the RA router lifetime (default 1800 s; RFC 6775
	// §6.3 allows up to 0xffff s).
	RouterLifetime time.Duration
	// ABROLifetime is the ABRO valid lifetime (default 10 000 min).
	ABROLifetime time.Duration
	// MTU, when non-zero, is advertised in an MTU option.
	MTU uint32
	// Omit6CIO leaves the 6LoWPAN Capability Indication Option out of
	// RAs; by default it is sent with the B, E, D and L flags (RFC 8505
	// §6.1).
	Omit6CIO bool
	// OmitSolicitedSLLAO leaves the SLLAO out of the unicast RA that
	// answers an RS on IEEE 802.15.4 when the frame's source address
	// already gives it: the router's link-local address is derived from
	// its EUI-64, the MAC source of the frame (RFC 4944 §6), and a RIOT 6LN
	// derives a link-local neighbour's link-layer address from the IID and
	// never reads the SLLAO (gnrc_ipv6_nib, _nib-internal.c _nib_nc_get,
	// _nib-6ln.c _resolve_addr_from_ipv6). Those 16 octets make the RA of
	// one /64 context between extended addresses fit one frame instead of
	// two fragments (91 + 8 for the 6CIO of the 104 octets a frame has).
	// Off by default: RFC 6775 §5.4 and §6.3 say the SLLAO MUST be in the
	// RA (RFC 4861 §6.2.3 alone would let a router omit it), and hosts that
	// learn the router's link-layer address only from it resolve it with
	// an NS first (Contiki-NG without RPL: uip-nd6.c ra_input). Multicast
	// RAs always carry it.
	OmitSolicitedSLLAO bool
	// LinkLocal is the router's link-local address, the source of RAs and
	// NAs. Required.
	LinkLocal netip.Addr
	// Global is the router's address in the mesh prefix: the 6LBR address
	// in the ABRO and the source of DACs. Required.
	Global netip.Addr
	// RegistryCapacity bounds the registry (default 10 000).
	RegistryCapacity int
	// MaxPerNeighbor, MaxPerRouter, MaxPerLink, MaxLifetime,
	// ConfirmationPeriod and DeregistrationDelay: see RegistryConfig.
	MaxPerNeighbor      int
	MaxPerRouter        int
	MaxPerLink          int
	MaxLifetime         time.Duration
	ConfirmationPeriod  time.Duration
	DeregistrationDelay time.Duration
	// StatePath is the state file (registry and ABRO version); empty for
	// no persistence. Registry changes go to a journal beside it
	// (StatePath + ".journal"), folded into the state file when it grows.
	StatePath string
	// SaveDelay is how long a registry change waits before it is written
	// (the changes of that time are written together, with one fsync);
	// default DefaultSaveDelay. RunSaver writes them; Maintain too, each
	// time it runs.
	SaveDelay time.Duration
	// APND turns on Address-Protected ND (RFC 8928) with this
	// configuration: registrations that claim a Crypto-ID (the EARO's C
	// flag) are challenged and registered protected once proven, EDARs
	// with the 6LR's status 5 count as proven under TrustRelays, and the
	// 6CIO of the RAs carries the A flag (RFC 8928 §4.5). nil: off — the
	// C flag is ignored and every registration is unproven (the registry
	// still keeps the protected entries a state file restores).
	APND   *APNDConfig
	Logger *slog.Logger
}

func (c *Config) normalize() error {
	if !c.LinkLocal.Is6() || !c.LinkLocal.IsLinkLocalUnicast() {
		return fmt.Errorf("nd: config: LinkLocal %v is not an IPv6 link-local address", c.LinkLocal)
	}
	if !c.Global.Is6() || c.Global.IsLinkLocalUnicast() || c.Global.IsMulticast() || c.Global.IsUnspecified() {
		return fmt.Errorf("nd: config: Global %v is not a global IPv6 address", c.Global)
	}
	if c.Prefix.IsValid() {
		if !c.Prefix.Addr().Is6() || c.Prefix.Addr().Is4In6() {
			return fmt.Errorf("nd: config: Prefix %v is not an IPv6 prefix", c.Prefix)
		}
		c.Prefix = c.Prefix.Masked()
	}
	seen := map[uint8]bool{}
	for _, cc := range c.Contexts {
		if cc.ID > 15 {
			return fmt.Errorf("nd: config: context id %d: must be 0..15", cc.ID)
		}
		if seen[cc.ID] {
			return fmt.Errorf("nd: config: context id %d given twice", cc.ID)
		}
		seen[cc.ID] = true
		if !cc.Prefix.IsValid() || !cc.Prefix.Addr().Is6() || cc.Prefix.Addr().Is4In6() {
			return fmt.Errorf("nd: config: context %d: %v is not an IPv6 prefix", cc.ID, cc.Prefix)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PrefixValidLifetime, DefaultPrefixValidLifetime)
	def(&c.PrefixPreferredLifetime, DefaultPrefixPreferredLifetime)
	def(&c.ContextLifetime, DefaultContextLifetime)
	def(&c.RouterLifetime, DefaultRouterLifetime)
	def(&c.ABROLifetime, DefaultABROLifetime)
	def(&c.SaveDelay, DefaultSaveDelay)
	if c.PrefixPreferredLifetime > c.PrefixValidLifetime {
		return fmt.Errorf("nd: config: preferred lifetime %v exceeds valid lifetime %v (RFC 4862 §5.5.3)", c.PrefixPreferredLifetime, c.PrefixValidLifetime)
	}
	if c.ContextChangeDelay == 0 {
		c.ContextChangeDelay = MinContextChangeDelay
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func seconds32(d time.Duration) uint32 {
	s := d / time.Second
	if s >= math.MaxUint32 {
		return math.MaxUint32 // infinity
	}
	return uint32(s)
}

func seconds16(d time.Duration) uint16 { return uint16(min(d/time.Second, math.MaxUint16)) }
func minutes16(d time.Duration) uint16 { return uint16(min(d/time.Minute, math.MaxUint16)) }

// AdvertisedContext is a context as the 6LBR currently advertises it, at a
// point of its RFC 6775 §7.2 life cycle.
type AdvertisedContext struct {
	ID       uint8
	Prefix   netip.Prefix
	Compress bool // the 6CO C flag
	// Withdrawing: the context is being taken out of use (removed from
	// the configuration or about to get another prefix); it is sent with
	// C=0 until Until, then dropped.
	Withdrawing bool
	// Until ends the current phase (C=0 after introduction, or the
	// withdrawal); zero when the context is in steady use.
	Until time.Time
}

// advertised is everything whose change makes the ABRO version increase
// (RFC 6775 §7: the PIOs' prefixes and lifetimes, the 6COs' prefixes, CIDs
// and lifetimes — and their C flags, so that 6LRs relaying the information
// take each step of the life cycle).
type advertised struct {
	Prefix            netip.Prefix
	ValidLifetime     uint32
	PreferredLifetime uint32
	ContextLifetime   uint16
	Contexts          [16]*AdvertisedContext
}

func (a *advertised) equal(b *advertised) bool {
	if a.Prefix != b.Prefix || a.ValidLifetime != b.ValidLifetime ||
		a.PreferredLifetime != b.PreferredLifetime || a.ContextLifetime != b.ContextLifetime {
		return false
	}
	for i := range a.Contexts {
		x, y := a.Contexts[i], b.Contexts[i]
		if (x == nil) != (y == nil) || x != nil && (x.Prefix != y.Prefix || x.Compress != y.Compress) {
			return false
		}
	}
	return true
}

// Incoming describes how a validated ND message arrived.
type Incoming struct {
	Link LinkID
	// LinkSrc is the link-layer source of the frame that carried it.
	LinkSrc lowpan.LinkAddr
	// Local is the router's own link-layer address on Link, put in the
	// SLLAO of RAs and the TLLAO of NAs; its kind also tells the medium
	// (a Bluetooth address means RFC 7668 option forms).
	Local lowpan.LinkAddr
	Now   time.Time
}

func (in *Incoming) medium() Medium {
	if in.Local.Kind() == lowpan.LinkAddrBLE {
		return MediumBLE
	}
	return MediumIEEE802154
}

// Reply is a message the router wants sent.
type Reply struct {
	Link LinkID
	// LinkDst is the link-layer destination; of kind none when the IPv6
	// destination is multicast (send as broadcast) or when the router
	// does not know it (route by the IPv6 destination).
	LinkDst lowpan.LinkAddr
	// Packet is the whole IPv6 packet.
	Packet []byte
}

// Counters are the router's running totals.
type Counters struct {
	Received      [5]uint64 // RS, NS, DAR, other ND (RA, NA, DAC), ignored NS
	RAsSent       uint64
	NAsSent       uint64
	DACsSent      uint64
	MovedSent     uint64 // asynchronous EDACs with status "moved"
	StatusReplies [11]uint64
	// Refused counts the registrations refused for want of room, by
	// Refusal (RefusedNeighbor, RefusedLink, RefusedCapacity).
	Refused [4]uint64
	// Evicted counts the tentative registrations removed to make room.
	Evicted uint64
	// APND: RFC 8928's challenges, proofs and refusals (zero when AP-ND
	// is off); APNDPending the challenges outstanding now.
	APND        APNDCounters
	APNDPending int
}

// Indexes of Counters.Received.
const (
	RecvRS = iota
	RecvNS
	RecvDAR
	RecvOther
	RecvNSIgnored // an NS neither registering nor for the router's addresses
)

// Router is the 6LoWPAN border router's neighbor discovery: it answers
// RSs with RAs, registrations (NS with ARO/EARO) with NAs and duplicate
// address requests (DAR/EDAR from 6LRs) with DACs/EDACs, keeps the
// registry, runs the context life cycle and persists its state. It is safe
// for concurrent use.
type Router struct {
	cfg Config
	log *slog.Logger
	reg *Registry

	mu  sync.Mutex
	adv advertised
	// linkLocal is the router's link-local address now; it starts as
	// Config.LinkLocal and follows the radio's EUI-64 (SetLinkLocal).
	// formerLinkLocal is the one before, still answered for.
	linkLocal, formerLinkLocal netip.Addr
	withdrawFormer             int // the next UnsolicitedRAs that withdraw formerLinkLocal
	version                    uint32
	// loadErr is what reading the state file at start met (LoadError).
	loadErr error

	// The state file and its journal, written under saveMu (never under
	// mu: an fsync must not hold up the answers).
	saveMu       sync.Mutex
	jr           *journal
	generation   uint64
	snapshotSize int64
	savedVersion uint32
	saveErr      error

	// check is the RFC 8928 code's seam (SetRegistrationCheck).
	check RegistrationCheck
	// apnd challenges and verifies the registrations that claim a
	// Crypto-ID (RFC 8928); nil when Config.APND is.
	apnd *APND

	// Per-packet log lines, summarised (internal/ratelog).
	refusedLog *ratelog.Limiter[refusalKey]
	movedLog   *ratelog.Limiter[netip.Addr]
	evictedLog *ratelog.Limiter[bool]
	saveLog    *ratelog.Limiter[string]

	cnt struct {
		recv               [5]atomic.Uint64
		ra, na, dac, moved atomic.Uint64
		status             [11]atomic.Uint64
		refused            [4]atomic.Uint64
		evicted            atomic.Uint64
	}
}

// refusalKey is what refused registrations are summarised by: the kind
// of message, its status and the neighbour it came from.
type refusalKey struct {
	dar    bool
	status Status
	from   lowpan.LinkAddr
}

func (k refusalKey) String() string {
	kind := "NS"
	if k.dar {
		kind = "DAR"
	}
	return fmt.Sprintf("(%s) from %v: %v", kind, k.from, k.status)
}

// New builds a Router from cfg at time now: it restores the state file
// when there is one (a corrupt one is moved aside, logged and reported by
// LoadError, and the router starts fresh), runs the context life cycle
// from where it was, increases the ABRO version if what is advertised
// differs from what was saved, and saves. Errors are for bad
// configuration and unreadable state files only.
func New(cfg Config, now time.Time) (*Router, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg, log: cfg.Logger, linkLocal: cfg.LinkLocal}
	if cfg.APND != nil {
		c := *cfg.APND
		r.cfg.APND = &c // the caller's may change; ours does not
		r.apnd = NewAPND(c)
	}
	r.reg = NewRegistry(RegistryConfig{Capacity: cfg.RegistryCapacity, MaxPerNeighbor: cfg.MaxPerNeighbor,
		MaxPerRouter: cfg.MaxPerRouter, MaxPerLink: cfg.MaxPerLink, MaxLifetime: cfg.MaxLifetime,
		ConfirmationPeriod: cfg.ConfirmationPeriod, DeregistrationDelay: cfg.DeregistrationDelay})
	r.refusedLog = ratelog.New(ratelog.Config[refusalKey]{Logger: r.log, Level: slog.LevelInfo,
		What: "registrations refused", Describe: refusalKey.String})
	r.movedLog = ratelog.New(ratelog.Config[netip.Addr]{Logger: r.log, Level: slog.LevelInfo,
		What: "registrations moved away", Describe: func(a netip.Addr) string { return "from 6LR " + a.String() }})
	r.evictedLog = ratelog.New(ratelog.Config[bool]{Logger: r.log, Level: slog.LevelInfo,
		What: "tentative registrations evicted", Describe: func(bool) string { return "to make room for new ones" }})
	r.saveLog = ratelog.New(ratelog.Config[string]{Logger: r.log, Level: slog.LevelWarn,
		What: "state saves failed", Describe: func(s string) string { return "(" + s + ")" }})

	var st *State
	if cfg.StatePath != "" {
		removeStaleTemp(cfg.StatePath)
		removeStaleTemp(JournalPath(cfg.StatePath))
		var err error
		st, err = OpenState(cfg.StatePath, now)
		if err != nil {
			var ce *CorruptStateError
			if !errors.As(err, &ce) {
				return nil, err
			}
			r.loadErr = err
			r.log.Error("nd: state file is corrupt, moved aside; starting with an empty registry",
				"path", ce.Path, "moved_to", ce.MovedTo, "err", ce.Err)
		}
	}
	fresh := st == nil || st.ABROVersion == 0
	if !fresh {
		r.version = st.ABROVersion
		r.adv = st.advertised()
		r.generation = st.Generation
		if err := r.restore(st, now); err != nil {
			return nil, err
		}
	} else {
		// Without a saved version, start from the clock (minutes since
		// 1970) so that a lost or corrupt state file cannot make the
		// version go backwards for the 6LRs that remember it (RFC 6775
		// §7 wants it kept in stable storage).
		r.version = uint32(max(now.Unix()/60, 1))
	}
	before := r.adv
	r.advanceLocked(now)
	if fresh || !before.equal(&r.adv) {
		if !fresh {
			r.version++
		}
		r.log.Info("nd: advertised information changed", "abro_version", r.version)
	}
	if cfg.StatePath != "" {
		r.reg.setTracking(true)
		if err := r.flush(now, true); err != nil {
			r.log.Error("nd: cannot save state", "err", err)
		}
	}
	return r, nil
}

// restore puts the registrations of the state file and its journal back
// into the registry, keeping those that still make sense, and says in one
// log line what it kept and what it dropped, and why.
func (r *Router) restore(st *State, now time.Time) error {
	path := JournalPath(r.cfg.StatePath)
	jr, err := readJournal(path, st.Generation)
	if err != nil {
		return err // unreadable (not corrupt): do not overwrite it
	}
	regs := st.registrations()
	if !jr.stale {
		regs = jr.replay(regs)
	}
	dropped := map[string]int{}
	kept := regs[:0]
	for i := range regs {
		g := regs[i]
		why, clamped := r.checkRestored(&g, now)
		if clamped {
			dropped["lifetime_clamped"]++ // kept, with a shorter lifetime
		}
		if why != "" {
			dropped[why]++
			continue
		}
		kept = append(kept, g)
	}
	c := r.reg.restore(kept, now)
	if c.overCapacity > 0 {
		dropped["over_capacity"] = c.overCapacity
	}
	if c.overQuota > 0 {
		dropped["over_neighbor_quota"] = c.overQuota
	}
	if jr.stale {
		dropped["stale_journal"] = 1
	}
	if jr.dropped > 0 {
		dropped["journal_torn_lines"] = jr.dropped
	}
	lvl := slog.LevelInfo
	var summary []string
	for _, why := range slices.Sorted(maps.Keys(dropped)) {
		summary = append(summary, fmt.Sprintf("%s=%d", why, dropped[why]))
		if why != "expired" && why != "lifetime_clamped" && why != "stale_journal" {
			lvl = slog.LevelWarn
		}
	}
	r.log.Log(context.Background(), lvl, "nd: state restored", "path", r.cfg.StatePath, "abro_version", r.version,
		"saved", len(st.Registrations), "journal_records", len(jr.records), "restored", c.restored,
		"capacity", r.reg.Capacity(), "not_restored", strings.Join(summary, " "))
	return nil
}

// restoreSlack is how far the clock may seem to have gone back between a
// save and a restart before saved times are taken for wrong.
const restoreSlack = time.Minute

// checkRestored says why a saved registration cannot be restored ("" when
// it can), with the same rules as a registration arriving now (RFC 8505
// Table 1: an address outside the mesh prefix is topologically incorrect;
// §5.6: link-local addresses are not registered through a 6LR), and caps
// its lifetime at MaxLifetime and its expiry at that from now (clamped):
// a clock that went back, or a file that lies, cannot keep an entry
// longer than a new registration would stay.
func (r *Router) checkRestored(g *Registration, now time.Time) (why string, clamped bool) {
	if _, ok := r.checkRegisteredAddr(g.Addr); !ok {
		if p := r.cfg.Prefix; p.IsValid() && !g.Addr.IsLinkLocalUnicast() && !p.Contains(g.Addr) && g.Addr.Is6() &&
			!g.Addr.IsMulticast() && !g.Addr.IsUnspecified() {
			return "outside_prefix", false
		}
		return "bad_address", false
	}
	if g.Via.IsValid() && (g.Addr.IsLinkLocalUnicast() || g.Via.IsMulticast() || g.Via.IsUnspecified() || g.Via.IsLoopback()) {
		return "bad_address", false
	}
	if g.Lifetime == 0 || g.ROVR.IsZero() {
		return "bad_entry", false
	}
	capMin := uint16(r.reg.Config().MaxLifetime / time.Minute)
	if g.Lifetime > capMin {
		g.Lifetime, clamped = capMin, true
	}
	if g.Registered.After(now.Add(restoreSlack)) {
		g.Registered, clamped = now, true
	}
	if lim := g.Registered.Add(time.Duration(g.Lifetime) * time.Minute); g.Expires.After(lim.Add(restoreSlack)) {
		g.Expires, clamped = lim, true
	}
	if !now.Before(g.Expires) {
		return "expired", clamped
	}
	return "", clamped
}

// LoadError returns the error met reading the state file at start (a
// *CorruptStateError), or nil.
func (r *Router) LoadError() error { return r.loadErr }

// Registry returns the router's registry: for forwarding (NextHop,
// Lookup) and the RFC 7668 codec (LatestRegistered).
func (r *Router) Registry() *Registry { return r.reg }

// ABROVersion returns the version number advertised in the ABRO.
func (r *Router) ABROVersion() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// Contexts returns the contexts as currently advertised, by ID.
func (r *Router) Contexts() []AdvertisedContext {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []AdvertisedContext
	for _, c := range r.adv.Contexts {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// ApplyContexts makes t hold the advertised contexts: those with C=0 for
// decompression only (RFC 6775 §4.2), the others for both; IDs not
// advertised are removed.
func (r *Router) ApplyContexts(t *lowpan.ContextTable) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, c := range r.adv.Contexts {
		if c == nil {
			t.Remove(id)
			continue
		}
		if err := t.Set(id, lowpan.Context{Prefix: c.Prefix, Compress: c.Compress}); err != nil {
			return err
		}
	}
	return nil
}

// SetAdvertised changes the prefix and contexts at run time. Context
// changes go through the life cycle; the ABRO version increases when what
// is advertised changes.
func (r *Router) SetAdvertised(prefix netip.Prefix, contexts []ContextConfig, now time.Time) error {
	c := r.cfg
	c.Prefix, c.Contexts = prefix, contexts
	if err := c.normalize(); err != nil {
		return err
	}
	r.mu.Lock()
	r.cfg.Prefix, r.cfg.Contexts = c.Prefix, c.Contexts
	before := r.adv
	r.advanceLocked(now)
	if !before.equal(&r.adv) {
		r.version++
		r.log.Info("nd: advertised information changed", "abro_version", r.version)
	}
	r.mu.Unlock()
	return r.flush(now, false)
}

// Maintain does the router's timed work at now: expires registrations,
// moves contexts along their life cycle (increasing the ABRO version when
// that changes what is advertised), writes the registry's changes to the
// journal (a new ABRO version rewrites the state file) and the summaries
// of the log lines it held back. Call it every second or so, and Save at
// shutdown; RunSaver writes changes sooner. A failure to save is returned
// the first time, then once a minute at most (summarised in between).
func (r *Router) Maintain(now time.Time) error {
	if n := r.reg.Expire(now); n > 0 {
		r.log.Debug("nd: registrations expired", "count", n)
	}
	if r.apnd != nil {
		r.apnd.Expire(now)
	}
	r.mu.Lock()
	before := r.adv
	r.advanceLocked(now)
	if !before.equal(&r.adv) {
		r.version++
		r.log.Info("nd: context life cycle step", "abro_version", r.version)
	}
	r.mu.Unlock()
	r.refusedLog.Flush(now)
	r.movedLog.Flush(now)
	r.evictedLog.Flush(now)
	r.saveLog.Flush(now)
	if err := r.flush(now, false); err != nil && r.saveLog.Allow("maintain", now) {
		// The caller logs it; a disk that keeps failing is said once,
		// then summarised.
		return err
	}
	return nil
}

// Save writes what changed since the last write, and folds the journal
// into the state file (for shutdown: the next start reads one file).
func (r *Router) Save(now time.Time) error {
	if err := r.flush(now, false); err != nil {
		return err
	}
	r.saveMu.Lock()
	compact := r.jr != nil && r.jr.records > 0
	r.saveMu.Unlock()
	if !compact {
		return nil
	}
	return r.flush(now, true)
}

// RunSaver writes the registry's changes to disk, each within SaveDelay
// (plus the write), until ctx ends; then it writes what is left. Errors
// are logged (summarised) and retried with the next change or Maintain.
// Without a state file it only waits for ctx.
func (r *Router) RunSaver(ctx context.Context) {
	if r.cfg.StatePath == "" {
		<-ctx.Done()
		return
	}
	t := time.NewTimer(0)
	if !t.Stop() {
		<-t.C
	}
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.saveNow()
			return
		case <-r.reg.Notify():
		}
		t.Reset(r.cfg.SaveDelay)
		select {
		case <-ctx.Done():
			r.saveNow()
			return
		case <-t.C:
		}
		r.saveNow()
	}
}

func (r *Router) saveNow() {
	now := time.Now()
	if err := r.flush(now, false); err != nil && r.saveLog.Allow("registry", now) {
		r.log.Warn("nd: cannot save registry changes", "path", r.cfg.StatePath, "err", err)
	}
}

// compactAt is the journal size past which the state file is rewritten:
// the state file's own size (so that the two together stay within twice
// the registry's), at least 256 KiB.
func (r *Router) compactAt() int64 { return max(256<<10, r.snapshotSize) }

// flush writes the registry's changes since the last write to the
// journal; it rewrites the state file instead (and starts a new journal)
// when full, when the ABRO version changed, when the journal outgrew
// compactAt, when changes were lost track of, or after a failed write.
func (r *Router) flush(now time.Time, full bool) error {
	if r.cfg.StatePath == "" {
		return nil
	}
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	version, adv := r.version, r.adv
	r.mu.Unlock()
	if !full && r.jr != nil && r.saveErr == nil && version == r.savedVersion {
		changes, all := r.reg.takeChanges(now, false)
		if !all {
			if len(changes) == 0 {
				return nil
			}
			var buf []byte
			for i := range changes {
				var rec journalRecord
				if c := &changes[i]; c.removed {
					rec.Del = &journalKey{Addr: c.reg.Addr, Link: c.reg.Link}
				} else {
					sr := stateRegistration(&c.reg)
					rec.Put = &sr
				}
				var err error
				if buf, err = appendJournalLine(buf, rec); err != nil {
					return err // only a bug: every field has an encoding
				}
			}
			err := r.jr.append(buf, len(changes))
			if err == nil && r.jr.size <= r.compactAt() {
				return nil
			}
			r.saveErr = err // a failed append: the state file is rewritten
		}
	}
	// Compaction: everything into a new state file, then a new journal.
	// Changes from here on are noted for the next journal; one made while
	// the snapshot is taken may also be in it, which replaying its record
	// again does not change.
	r.reg.takeChanges(now, true)
	gen := r.generation + 1
	st := newState(version, &adv, r.reg.Snapshot(now), now)
	st.Generation = gen
	data, err := json.Marshal(st)
	if err == nil {
		err = writeAtomic(r.cfg.StatePath, append(data, '\n'))
	}
	if err != nil {
		r.saveErr = fmt.Errorf("nd: saving state: %w", err)
		return r.saveErr
	}
	r.generation, r.snapshotSize, r.savedVersion = gen, int64(len(data)+1), version
	if r.jr != nil {
		r.jr.close()
		r.jr = nil
	}
	r.jr, err = createJournal(JournalPath(r.cfg.StatePath), gen)
	r.saveErr = err
	return err
}

// advanceLocked moves the advertised set towards the configuration: the
// PIO follows it at once; each context follows the RFC 6775 §7.2 life
// cycle. It copies the contexts it changes, so a copy of r.adv taken
// before stays as it was.
func (r *Router) advanceLocked(now time.Time) {
	c := &r.cfg
	r.adv.Prefix = c.Prefix
	r.adv.ValidLifetime = seconds32(c.PrefixValidLifetime)
	r.adv.PreferredLifetime = seconds32(c.PrefixPreferredLifetime)
	r.adv.ContextLifetime = minutes16(c.ContextLifetime)
	var want [16]netip.Prefix
	for _, cc := range c.Contexts {
		want[cc.ID] = cc.Prefix.Masked()
	}
	delay := c.ContextChangeDelay
	until := func() time.Time {
		if delay < 0 {
			return time.Time{}
		}
		return now.Add(delay)
	}
	for id := range r.adv.Contexts {
		// A few steps at most: withdraw done → introduce → (no delay) use.
		for range 4 {
			a := r.adv.Contexts[id]
			w := want[id]
			switch {
			case a == nil && !w.IsValid():
			case a == nil:
				n := &AdvertisedContext{ID: uint8(id), Prefix: w, Until: until()}
				n.Compress = n.Until.IsZero()
				r.adv.Contexts[id] = n
				continue
			case a.Prefix == w && !a.Withdrawing:
				if !a.Compress && !now.Before(a.Until) {
					n := *a
					n.Compress, n.Until = true, time.Time{}
					r.adv.Contexts[id] = &n
				}
			case a.Prefix == w: // withdrawal cancelled: introduce it again
				n := *a
				n.Withdrawing, n.Compress, n.Until = false, false, until()
				n.Compress = n.Until.IsZero()
				r.adv.Contexts[id] = &n
			case !a.Withdrawing:
				n := *a
				n.Withdrawing, n.Compress, n.Until = true, false, until()
				r.adv.Contexts[id] = &n
				if n.Until.IsZero() {
					continue
				}
			case !now.Before(a.Until):
				r.adv.Contexts[id] = nil
				continue
			}
			break
		}
	}
}

// Counters returns the router's counters.
func (r *Router) Counters() Counters {
	var c Counters
	for i := range c.Received {
		c.Received[i] = r.cnt.recv[i].Load()
	}
	c.RAsSent, c.NAsSent = r.cnt.ra.Load(), r.cnt.na.Load()
	c.DACsSent, c.MovedSent = r.cnt.dac.Load(), r.cnt.moved.Load()
	for i := range c.StatusReplies {
		c.StatusReplies[i] = r.cnt.status[i].Load()
	}
	for i := range c.Refused {
		c.Refused[i] = r.cnt.refused[i].Load()
	}
	c.Evicted = r.cnt.evicted.Load()
	if r.apnd != nil {
		c.APND, c.APNDPending = r.apnd.Counters(), r.apnd.Pending()
	}
	return c
}

// APNDEnabled says whether Address-Protected ND (RFC 8928) is on.
func (r *Router) APNDEnabled() bool { return r.apnd != nil }

// countResult counts what the registry did beyond the status.
func (r *Router) countResult(res *Result) {
	if int(res.Refused) < len(r.cnt.refused) && res.Refused != RefusedNone {
		r.cnt.refused[res.Refused].Add(1)
	}
	if res.Evicted != nil {
		r.cnt.evicted.Add(1)
	}
}

func (r *Router) countStatus(s Status) {
	if int(s) < len(r.cnt.status) {
		r.cnt.status[s].Add(1)
	}
}

// Handle answers one validated ND message (from Parse) and appends the
// packets to send to replies:
//
//   - RS → a unicast RA to its source (RFC 6775 §6.3), or to ff02::1 when
//     the source is ::, with SLLAO, PIO (A=1, L=0), a 6CO per advertised
//     context, ABRO and 6CIO. The unicast RA on IEEE 802.15.4 leaves the
//     SLLAO out when the frame's source gives it if Config.OmitSolicitedSLLAO.
//   - NS with an (E)ARO → NA with an EARO carrying the status (RFC 8505
//     §6: NA(EARO) for NS(ARO) too). With T set the registered address is
//     the target and the source must be link-local (RFC 8505 §5.5,
//     §5.6); without, the registered address is the NS's source (RFC
//     6775 §4.1) and the NA goes to it.
//   - NS without ARO for one of the router's addresses → NA with TLLAO.
//   - DAR/EDAR → DAC/EDAC to its source with the same rules, the 6LR
//     recorded as the route (RFC 6775 §8.2.4, RFC 8505 §5.7).
//   - A registration that moved away from a 6LR also yields an
//     asynchronous EDAC "moved" to that 6LR (RFC 8505 §5.7).
//   - With AP-ND on (Config.APND, RFC 8928): an NS whose EARO claims a
//     Crypto-ID (C flag) is answered NA(EARO) "validation requested" (5)
//     with a Nonce option until it comes back with a proof (CIPO, Nonce,
//     NDPSO) that holds, then registered protected; a proof that fails is
//     answered "validation failed" (10). An EDAR is proven by the 6LR's
//     status 5 under TrustRelays. An unproven registration never changes
//     a protected one: "duplicate address" in the NA, "validation
//     requested" in the EDAC.
//
// Everything else (RA, NA, DAC) is ignored.
func (r *Router) Handle(replies []Reply, m *Message, in Incoming) []Reply {
	switch m.Type {
	case TypeRouterSolicit:
		r.cnt.recv[RecvRS].Add(1)
		return r.handleRS(replies, m, in)
	case TypeNeighborSolicit:
		r.cnt.recv[RecvNS].Add(1)
		if m.ARO != nil {
			return r.handleRegistration(replies, m, in)
		}
		return r.handleNS(replies, m, in)
	case TypeDAR:
		r.cnt.recv[RecvDAR].Add(1)
		return r.handleDAR(replies, m, in)
	}
	r.cnt.recv[RecvOther].Add(1)
	return replies
}

func (r *Router) appendReply(replies []Reply, link LinkID, lldst lowpan.LinkAddr, src, dst netip.Addr, hl uint8, msg MessageSerializer, opts ...OptionSerializer) []Reply {
	pkt, err := AppendIPv6(make([]byte, 0, IPv6HeaderLen+MessageLen(msg, opts...)), src, dst, hl, msg, opts...)
	if err != nil {
		// Only reachable through a bug: every field comes from validated
		// input or configuration.
		r.log.Error("nd: cannot build reply", "type", msg.Type(), "err", err)
		return replies
	}
	return append(replies, Reply{Link: link, LinkDst: lldst, Packet: pkt})
}

// linkDst is the link-layer address to answer: the SLLAO's, else the
// frame's source.
func linkDst(sllao LinkAddrOption, in *Incoming) lowpan.LinkAddr {
	if sllao != nil {
		if a, ok := sllao.Addr(in.medium()); ok {
			return a
		}
	}
	return in.LinkSrc
}

var allNodes = netip.MustParseAddr("ff02::1")

// RAOptions returns the options of the router's RAs on a link where its
// link-layer address is local, in the order they are sent.
func (r *Router) RAOptions(local lowpan.LinkAddr) []OptionSerializer {
	return r.raOptions(local, true)
}

// raOptions is RAOptions with the SLLAO left out when sllao is false.
func (r *Router) raOptions(local lowpan.LinkAddr, sllao bool) []OptionSerializer {
	r.mu.Lock()
	defer r.mu.Unlock()
	opts := make([]OptionSerializer, 0, 20)
	if sllao && local.Kind() != lowpan.LinkAddrNone {
		opts = append(opts, SourceLinkAddr{Addr: local})
	}
	if r.adv.Prefix.IsValid() {
		opts = append(opts, PrefixInfoFields{
			Prefix: r.adv.Prefix, Autonomous: true, OnLink: false,
			ValidLifetime: r.adv.ValidLifetime, PreferredLifetime: r.adv.PreferredLifetime,
		})
	}
	if r.cfg.MTU != 0 {
		opts = append(opts, MTUFields{MTU: r.cfg.MTU})
	}
	for _, c := range r.adv.Contexts {
		if c != nil {
			opts = append(opts, ContextFields{CID: c.ID, Prefix: c.Prefix, Compress: c.Compress, ValidLifetime: r.adv.ContextLifetime})
		}
	}
	opts = append(opts, ABROFields{Version: r.version, ValidLifetime: minutes16(r.cfg.ABROLifetime), Addr: r.cfg.Global})
	if !r.cfg.Omit6CIO {
		flags := CapB | CapE | CapD | CapL
		if r.apnd != nil {
			flags |= CapA // RFC 8928 §4.5: AP-ND is on
		}
		opts = append(opts, CapabilityFields{Flags: flags})
	}
	return opts
}

// RAFields returns the fixed fields of the router's RAs: RFC 6775 §6 has a
// 6LBR advertise a high default router preference.
func (r *Router) RAFields() RAFields {
	return RAFields{
		CurHopLimit:    DefaultCurHopLimit,
		Preference:     PreferenceHigh,
		RouterLifetime: seconds16(r.cfg.RouterLifetime),
	}
}

func (r *Router) handleRS(replies []Reply, m *Message, in Incoming) []Reply {
	src := r.LinkLocal()
	dst, lldst := m.Src, linkDst(m.SLLAO, &in)
	sllao := true
	if m.Src.IsUnspecified() {
		dst, lldst = allNodes, lowpan.LinkAddr{}
	} else {
		sllao = !r.cfg.OmitSolicitedSLLAO || !sllaoImplied(src, in.Local)
	}
	r.cnt.ra.Add(1)
	return r.appendReply(replies, in.Link, lldst, src, dst, ndHopLimit, r.RAFields(), r.raOptions(in.Local, sllao)...)
}

// sllaoImplied tells whether a unicast RA from the link-local address src
// sent from the IEEE 802.15.4 extended address local tells its receiver
// the router's link-layer address without an SLLAO: the frame's source is
// local, and src's IID is derived from it (RFC 4944 §6), so the node can
// derive it back from the RA's source address, as RIOT does for every
// link-local neighbour (gnrc_ipv6_nib, _nib-6ln.c
// _resolve_addr_from_ipv6), or take it from the frame. Not for short
// addresses (RFC 4944 §6 derives their IID with the PAN ID, which the node
// would have to match) nor for Bluetooth LE, whose IPSP channel carries
// the whole RA in one SDU anyway.
func sllaoImplied(src netip.Addr, local lowpan.LinkAddr) bool {
	if local.Kind() != lowpan.LinkAddrExtended {
		return false
	}
	ll, ok := local.LinkLocal()
	return ok && ll == src
}

// LinkLocal is the router's link-local address: the source of its RAs and
// NAs.
func (r *Router) LinkLocal() netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.linkLocal
}

// SetLinkLocal changes the router's link-local address: its radio came
// back with another EUI-64, from which the address is derived. The former
// address stays the router's own for NUD and address resolution (nodes
// still know the router by it until they learn the new one from an RA).
func (r *Router) SetLinkLocal(a netip.Addr) error {
	if !a.Is6() || !a.IsLinkLocalUnicast() {
		return fmt.Errorf("nd: link-local address %v is not an IPv6 link-local address", a)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a != r.linkLocal {
		r.formerLinkLocal, r.linkLocal = r.linkLocal, a
		r.withdrawFormer = MaxInitialRAs
	}
	return nil
}

// MaxInitialRAs is how many unsolicited RAs a router sends when what it
// advertises changes (RFC 4861 §10, MAX_INITIAL_RTR_ADVERTISEMENTS): an
// RA to all nodes is not acknowledged and may be lost.
const MaxInitialRAs = 3

// UnsolicitedRA appends a multicast RA to all nodes (ff02::1) for link,
// with the same options as the answers to RS, from the current link-local
// address and with local as SLLAO. A router sends one when its link-layer
// address changed, so that nodes learn the new one at once (RFC 4861
// §6.2.4 lets a router send unsolicited RAs when its advertised
// information changes, and §7.2.6 a node announce a new link-layer
// address).
//
// After SetLinkLocal the next MaxInitialRAs are preceded by an RA from the
// former address with
// router lifetime 0 and the new SLLAO: nodes drop the former address from
// their default routers at once (RFC 4861 §6.2.5, §6.3.4) instead of
// after their neighbour unreachability detection gives up, and register
// with the router they now have (RFC 6775 §5.3, §5.5).
func (r *Router) UnsolicitedRA(replies []Reply, link LinkID, local lowpan.LinkAddr) []Reply {
	r.mu.Lock()
	former := r.formerLinkLocal
	withdraw := r.withdrawFormer > 0
	if withdraw {
		r.withdrawFormer--
	}
	r.mu.Unlock()
	if withdraw && former.IsValid() {
		r.cnt.ra.Add(1)
		f := r.RAFields()
		f.RouterLifetime = 0
		var opts []OptionSerializer
		if local.Kind() != lowpan.LinkAddrNone {
			opts = append(opts, SourceLinkAddr{Addr: local})
		}
		replies = r.appendReply(replies, link, lowpan.LinkAddr{}, former, allNodes, ndHopLimit, f, opts...)
	}
	r.cnt.ra.Add(1)
	return r.appendReply(replies, link, lowpan.LinkAddr{}, r.LinkLocal(), allNodes, ndHopLimit, r.RAFields(), r.RAOptions(local)...)
}

func (r *Router) isOwn(a netip.Addr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return a == r.linkLocal || a == r.cfg.Global || (r.formerLinkLocal.IsValid() && a == r.formerLinkLocal)
}

// handleNS answers address resolution and NUD for the router's own
// addresses (RFC 4861 §7.2.4).
func (r *Router) handleNS(replies []Reply, m *Message, in Incoming) []Reply {
	if !r.isOwn(m.Target) {
		r.cnt.recv[RecvNSIgnored].Add(1)
		return replies
	}
	na := NAFields{Router: true, Solicited: true, Override: true, Target: m.Target}
	dst, lldst := m.Src, linkDst(m.SLLAO, &in)
	if m.Src.IsUnspecified() {
		na.Solicited = false
		dst, lldst = allNodes, lowpan.LinkAddr{}
	}
	r.cnt.na.Add(1)
	return r.appendReply(replies, in.Link, lldst, m.Target, dst, ndHopLimit, na, TargetLinkAddr{Addr: in.Local})
}

// checkRegisteredAddr returns the status for an address nobody may
// register here: not unicast, the router's own, or outside the prefix
// (RFC 8505 Table 1: 8, "topologically incorrect").
func (r *Router) checkRegisteredAddr(a netip.Addr) (Status, bool) {
	switch {
	case r.isOwn(a):
		return StatusDuplicate, false
	case a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a.Is4In6():
		return StatusTopologicallyIncorrect, false
	case a.IsLinkLocalUnicast():
		return StatusSuccess, true
	}
	r.mu.Lock()
	p := r.cfg.Prefix // SetAdvertised may change it
	r.mu.Unlock()
	if p.IsValid() && !p.Contains(a) {
		return StatusTopologicallyIncorrect, false
	}
	return StatusSuccess, true
}

func (r *Router) handleRegistration(replies []Reply, m *Message, in Incoming) []Reply {
	aro := m.ARO
	extended := aro.T()
	addr := m.Src // RFC 6775 §4.1
	// RFC 8505 §5.5 moved the registered address to the target. A node
	// that sets T but keeps the RFC 6775 habit of targeting the router
	// (which RFC 8505 would answer "duplicate": nobody else may register
	// the router's address) is read the RFC 6775 way.
	legacyTarget := extended && r.isOwn(m.Target) && m.Src != m.Target
	if extended && !legacyTarget {
		addr = m.Target
	}
	rovr, _ := MakeROVR(aro.ROVR()) // lengths checked by Parse
	lldst := linkDst(m.SLLAO, &in)
	status, ok := r.checkRegisteredAddr(addr)
	if ok && extended && !legacyTarget && !m.Src.IsLinkLocalUnicast() {
		status, ok = StatusInvalidSource, false // RFC 8505 §5.6
	}
	var res Result
	lifetime := aro.Lifetime()
	// RFC 8928 before the registry: a registration that claims a
	// Crypto-ID is challenged until it proves it (§6.1), refused when the
	// proof fails (§6, §6.2), registered protected when it holds.
	var d APNDDecision
	if ok && r.apnd != nil {
		d = r.apnd.CheckNS(m, addr, in.LinkSrc, in.Now)
		switch d.Action {
		case APNDChallenge, APNDRefuse:
			status, ok = d.Status, false
			if !extended && status == StatusValidationFailed {
				// RFC 6775 peers know statuses 0–2 only; the address is
				// not theirs to have (apnd.go).
				status = StatusDuplicate
			}
		}
	}
	if ok {
		req := Request{
			Addr: addr, Link: in.Link, ROVR: rovr, TID: aro.TID(), HasTID: extended,
			Lifetime: aro.Lifetime(), LinkAddr: lldst, Neighbor: lldst, Proven: d.Proven,
		}
		var out []Reply
		var handled bool
		if out, handled, res, status = r.register(replies, m, in, req, false, extended); handled {
			return out
		}
		if status == StatusSuccess {
			lifetime = res.Lifetime
		}
	}
	challenge := d.Action == APNDChallenge
	if challenge {
		// Every registration of a protected node goes through one: not a
		// refusal worth a log line.
		r.logChallenge(addr, &rovr, lldst, d.Err)
	} else {
		r.logRegistration(false, addr, &rovr, status, &res, netip.Addr{}, lldst, in.Now, d.Err)
	}
	r.countStatus(status)
	reply := AROFields{Status: status, Lifetime: lifetime, ROVR: aro.ROVR()}
	if extended {
		reply.T, reply.TID, reply.R, reply.I, reply.Opaque = true, aro.TID(), aro.R(), aro.I(), aro.Opaque()
	}
	// RFC 8928 §6.1: the challenge is the NA(EARO) with status 5 and a
	// Nonce option (NonceLR), which the 6LN signs in its proof.
	opts := [2]OptionSerializer{reply}
	nopts := 1
	if challenge {
		opts[1], nopts = d.Nonce, 2
	}
	// The NA goes to the NS's source: for an RFC 6775 ARO that is the
	// registered address, which is how such nodes match the NA to their
	// registration (RIOT's GNRC among them); for an EARO, the registering
	// node's link-local address. The link-layer destination is the
	// requester's, whatever the status.
	r.cnt.na.Add(1)
	replies = r.appendReply(replies, in.Link, lldst, r.LinkLocal(), m.Src, ndHopLimit,
		NAFields{Router: true, Solicited: true, Target: m.Target}, opts[:nopts]...)
	if res.Moved && !res.Previous.Direct() {
		replies = r.appendMoved(replies, &res.Previous, rovr, in.Now)
	}
	return replies
}

func (r *Router) handleDAR(replies []Reply, m *Message, in Incoming) []Reply {
	da := m.DA()
	extended := da.Extended()
	addr := da.Registered()
	rovr, _ := MakeROVR(da.ROVR())
	status, ok := r.checkRegisteredAddr(addr)
	if ok && addr.IsLinkLocalUnicast() {
		// RFC 8505 §5.6: link-local addresses are not registered across
		// the route-over domain.
		status, ok = StatusTopologicallyIncorrect, false
	}
	var res Result
	lifetime := da.Lifetime()
	proven := false
	if ok && r.apnd != nil {
		status, ok, proven = r.relayProof(m, in.Now)
	}
	if ok {
		// The registration is charged to the neighbour the EDAR came
		// from: the root of the 6LR subtree it was relayed through.
		req := Request{
			Addr: addr, Link: in.Link, ROVR: rovr, TID: da.TID(), HasTID: extended,
			Lifetime: da.Lifetime(), Via: m.Src, Neighbor: in.LinkSrc, Proven: proven,
		}
		var out []Reply
		var handled bool
		if out, handled, res, status = r.register(replies, m, in, req, true, extended); handled {
			return out
		}
		if status == StatusSuccess {
			lifetime = res.Lifetime
		}
	}
	r.logRegistration(true, addr, &rovr, status, &res, m.Src, in.LinkSrc, in.Now, nil)
	r.countStatus(status)
	r.cnt.dac.Add(1)
	dac := DAFields{Confirmation: true, Extended: extended, Status: status, TID: da.TID(),
		Lifetime: lifetime, ROVR: da.ROVR(), Registered: addr}
	replies = r.appendReply(replies, in.Link, in.LinkSrc, r.cfg.Global, m.Src, MultihopHopLimit, dac)
	if res.Moved && !res.Previous.Direct() {
		replies = r.appendMoved(replies, &res.Previous, rovr, in.Now)
	}
	return replies
}

// relayProof says whether a DAR counts as proof of ownership (RFC 8928
// §6, §6.3): an EDAR with status 5, "the 6LR performed a successful
// validation", from a 6LR the 6LBR trusts (APNDConfig.TrustRelays) that
// proved a Crypto-ID of its own. With RequireCryptoID and TrustRelays a
// DAR that does not is refused: an EDAR with "validation requested", which
// "the 6LR MUST" turn into a challenge of its 6LN (§6), an RFC 6775 DAR,
// whose peers know statuses 0–2 only, with "duplicate address". Without
// TrustRelays no relayed registration can be proven, and RequireCryptoID
// covers the 6LNs that register with the 6LBR itself only.
func (r *Router) relayProof(m *Message, now time.Time) (status Status, ok, proven bool) {
	da := m.DA()
	via, found := r.reg.Lookup(m.Src, now)
	if r.apnd.RelayProven(da.Status(), found && via.Protected) {
		return StatusSuccess, true, true
	}
	if c := r.cfg.APND; c.RequireCryptoID && c.TrustRelays {
		if da.Extended() {
			return StatusValidationRequested, false, false
		}
		return StatusDuplicate, false, false
	}
	return StatusSuccess, true, false
}

// appendMoved tells the 6LR through which a registration was reached
// before that it moved (RFC 8505 §5.7: an asynchronous EDAC with status
// "moved" cleans up the state in the previous location).
func (r *Router) appendMoved(replies []Reply, prev *Registration, rovr ROVR, now time.Time) []Reply {
	cur, ok := r.reg.Lookup(prev.Addr, now)
	if !ok {
		return replies
	}
	link, ll, found := r.reg.NextHop(prev.Via, now)
	if !found {
		link = cur.Link
	}
	r.cnt.moved.Add(1)
	if r.movedLog.Allow(prev.Via, now) {
		r.log.Info("nd: registration moved, telling the previous 6LR", "addr", prev.Addr, "previous_6lr", prev.Via)
	}
	return r.appendReply(replies, link, ll, r.cfg.Global, prev.Via, MultihopHopLimit, DAFields{
		Confirmation: true, Extended: true, Status: StatusMoved, TID: cur.TID,
		Lifetime: 0, ROVR: rovr.Bytes(), Registered: prev.Addr,
	})
}

// RegistrationCheck is the seam for RFC 8928 (apnd*.go): it sees every
// registration the router receives (an NS with an (E)ARO, a DAR or EDAR)
// once the address passed the router's checks and before the registry
// does. It may set req.Proven (the proof of ownership was verified), or
// answer the message itself — a challenge, NA(EARO) with status
// "validation requested" and a Nonce option (RFC 8928 §6.1) — by
// appending its replies and returning handled. It must not keep m or req.
type RegistrationCheck func(replies []Reply, m *Message, in *Incoming, req *Request) (out []Reply, handled bool)

// SetRegistrationCheck installs check (nil: none). Call it before Handle
// runs.
func (r *Router) SetRegistrationCheck(check RegistrationCheck) { r.check = check }

// register runs the registration check, if one is installed, then the
// registry, for an NS(E)ARO or (relayed) an (E)DAR, and gives the
// registry's result and the status to answer; handled: the check answered
// the message itself (out).
func (r *Router) register(replies []Reply, m *Message, in Incoming, req Request, relayed, extended bool) (out []Reply, handled bool, res Result, status Status) {
	if r.check != nil {
		if out, handled, req = r.checkRegistration(replies, m, in, req); handled {
			return out, true, res, status
		}
	}
	res = r.reg.Register(req, in.Now)
	return nil, false, res, r.answerStatus(&res, relayed, extended)
}

// checkRegistration runs the check on copies of in and req, so that
// without a check nothing of a registration escapes to the heap.
func (r *Router) checkRegistration(replies []Reply, m *Message, in Incoming, req Request) ([]Reply, bool, Request) {
	pin, preq := new(Incoming), new(Request)
	*pin, *preq = in, req
	out, handled := r.check(replies, m, pin, preq)
	return out, handled, *preq
}

// answerStatus is the status to send for the registry's result: a
// refusal for want of room is "neighbor cache full" (RFC 8505 §4.1 status
// 2, RFC 6775's only such status) except in an EDAC, where RFC 8505 §4.1
// has a 6LBR say "6LBR registry saturated" (9) instead. A request that met
// a protected registration without proof (Result.NeedsProof) is, in an
// EDAC, "validation requested" (5): RFC 8928 §6 has the 6LBR tell the 6LR
// that it must challenge the node; in an NA "duplicate address" (1): with
// AP-ND on, APND.CheckNS challenges every NS that claims a Crypto-ID
// before the registry sees it, so one that still arrives unproven is a
// legacy registration (no C flag) of an address another node owns (RFC
// 6775 §6.5.1); with AP-ND off no NS can prove anything, and a protected
// entry restored from the state file is defended all the same. RFC 6775
// peers, which know statuses 0–2 only, hear "duplicate address" for it
// too.
func (r *Router) answerStatus(res *Result, dar, extended bool) Status {
	r.countResult(res)
	switch {
	case res.NeedsProof && dar && extended:
		return StatusValidationRequested
	case res.NeedsProof:
		return StatusDuplicate
	case res.Refused != RefusedNone && dar && extended:
		return StatusRegistrySaturated
	}
	return res.Status
}

// logRegistration logs a registration's outcome: a success at debug level,
// anything else at info level, but summarised per neighbour and status
// (internal/ratelog): the first in full, then a count at most once a
// minute, so that a flood does not fill the disk with one line per packet.
func (r *Router) logRegistration(dar bool, addr netip.Addr, rovr *ROVR, status Status, res *Result, via netip.Addr, from lowpan.LinkAddr, now time.Time, why error) {
	ctx := context.Background()
	if res.Evicted != nil && r.evictedLog.Allow(true, now) {
		r.log.LogAttrs(ctx, slog.LevelInfo, "nd: tentative registration evicted to make room",
			slog.Any("addr", res.Evicted.Addr), slog.Any("neighbor", res.Evicted.Neighbor), slog.Any("for", addr))
	}
	if status == StatusSuccess {
		if r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.LogAttrs(ctx, slog.LevelDebug, "nd: registration", slog.Bool("dar", dar), slog.Any("addr", addr),
				slog.String("rovr", rovr.String()), slog.Bool("created", res.Created), slog.Bool("removed", res.Removed),
				slog.Any("via", via), slog.Int("lifetime_min", int(res.Lifetime)))
		}
		return
	}
	if !r.refusedLog.Allow(refusalKey{dar: dar, status: status, from: from}, now) {
		return
	}
	attrs := []slog.Attr{slog.Bool("dar", dar), slog.Any("addr", addr), slog.String("rovr", rovr.String()),
		slog.String("status", status.String()), slog.Any("from", from), slog.Any("via", via)}
	if res.Refused != RefusedNone {
		attrs = append(attrs, slog.String("refused", res.Refused.String()))
	}
	if why != nil {
		attrs = append(attrs, slog.String("err", why.Error()))
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "nd: registration refused (more like it are counted, not logged)", attrs...)
}

// logChallenge logs a challenge (RFC 8928 §6.1) at debug level: every
// registration of a protected node is challenged, so it says nothing
// wrong; a proof that fails is logged as a refusal.
func (r *Router) logChallenge(addr netip.Addr, rovr *ROVR, from lowpan.LinkAddr, why error) {
	ctx := context.Background()
	if !r.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.Any("addr", addr), slog.String("rovr", rovr.String()), slog.Any("from", from)}
	if why != nil {
		attrs = append(attrs, slog.String("why", why.Error()))
	}
	r.log.LogAttrs(ctx, slog.LevelDebug, "nd: registration challenged (RFC 8928 §6.1)", attrs...)
}
