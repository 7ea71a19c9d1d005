package nd

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// Defaults of APNDConfig.
const (
	// DefaultChallengeLifetime is how long a NonceLR stays good. RFC 8928
	// sets no timer; a 6LN answers the challenge at once (§6.1), so a few
	// of its NS retransmission times (RFC 4861 RETRANS_TIMER, 1 s, backed
	// off by RFC 7048) suffice.
	DefaultChallengeLifetime = 10 * time.Second
	// DefaultMaxChallenges bounds the outstanding challenges.
	DefaultMaxChallenges = 256
	// DefaultMaxChallengesPerSource bounds those one link-layer source can
	// hold, so one radio cannot take them all.
	DefaultMaxChallengesPerSource = 4
	// DefaultMaxCIPOs bounds the CIPOs kept by Crypto-ID (RFC 8928 §6.1:
	// "The 6LR MUST store the information associated with a Crypto-ID
	// ... in a fashion that the CIPO parameters can be retrieved from the
	// Crypto-ID alone", so that a 6LN may leave its CIPO out of a
	// revalidation). When full, the oldest is forgotten: its 6LN is then
	// challenged again and sends its CIPO again (§6.1).
	DefaultMaxCIPOs = 1024
	// challengeNonceLen: a Nonce option of Length 1 (RFC 3971 §5.3.2's
	// minimum of 6 octets). RFC 8928 §6.1 wants a nonce "never used
	// before", ideally cryptographically random: it comes from
	// crypto/rand, and is used once.
	challengeNonceLen = 6
)

// APNDConfig configures the 6LBR's side of AP-ND.
type APNDConfig struct {
	// RequireCryptoID refuses registrations that do not claim a Crypto-ID
	// (an RFC 6775 ARO, or an EARO with the C flag clear) with "Validation
	// Failed". Off by default: legacy nodes (RIOT's GNRC registers with an
	// RFC 6775 ARO) register unprotected, and the registry keeps them from
	// replacing or removing a protected registration.
	RequireCryptoID bool
	// TrustRelays counts an EDAR with status 5 as proven: "The 6LR MUST
	// indicate to the 6LBR that it performed a successful validation by
	// setting a status code of 5 ... in the EDAR" (RFC 8928 §6), and the
	// 6LBR trusts the 6LR over a security association that protects the
	// EDAR (§6.3; §7.4 on a compromised 6LR). As local hardening, the 6LR
	// that sent it must also hold a protected registration itself (it
	// proved a Crypto-ID of its own). Off by default: the simulated mesh
	// and an RCP without link-layer security have no such association,
	// and anyone can send an EDAR with status 5.
	TrustRelays bool
	// ChallengeLifetime: see DefaultChallengeLifetime.
	ChallengeLifetime time.Duration
	// MaxChallenges and MaxChallengesPerSource bound the outstanding
	// challenges; when either is reached the oldest challenge (of that
	// source, or of all) is dropped for the new one.
	MaxChallenges, MaxChallengesPerSource int
	// MaxCIPOs: see DefaultMaxCIPOs.
	MaxCIPOs int
	// Rand is the source of nonces; crypto/rand when nil.
	Rand io.Reader
}

// APNDAction is what the 6LBR does with a registration (APND.CheckNS).
type APNDAction uint8

const (
	// APNDRegister: hand the registration to the registry, with
	// Request.Proven = APNDDecision.Proven.
	APNDRegister APNDAction = iota
	// APNDChallenge: do not register; answer NA(EARO) with
	// StatusValidationRequested and the Nonce option APNDDecision.Nonce
	// (RFC 8928 §6.1).
	APNDChallenge
	// APNDRefuse: do not register; answer NA(EARO) with
	// APNDDecision.Status (StatusValidationFailed, RFC 8928 §6, §6.1).
	APNDRefuse
)

func (a APNDAction) String() string {
	switch a {
	case APNDRegister:
		return "register"
	case APNDChallenge:
		return "challenge"
	case APNDRefuse:
		return "refuse"
	}
	return "action(" + itoa(int(a)) + ")"
}

// APNDDecision is APND's answer to one NS(EARO).
type APNDDecision struct {
	Action APNDAction
	// Proven: the NS proved ownership of its Crypto-ID (APNDRegister).
	Proven bool
	// Status for the NA when not registering: StatusValidationRequested
	// with APNDChallenge, StatusValidationFailed with APNDRefuse.
	Status Status
	// Nonce is the challenge's Nonce option, to append to the NA
	// (APNDChallenge). Its slice is the decision's own.
	Nonce NonceFields
	// Err says why a proof failed or a registration was refused (wraps
	// ErrProof or ErrCryptoType); nil otherwise.
	Err error
}

// APNDCounters are APND's running totals.
type APNDCounters struct {
	Legacy     uint64 `json:"legacy"`     // registrations without a Crypto-ID, passed on unproven
	Challenges uint64 `json:"challenges"` // challenges sent (NA with status 5 and a nonce)
	Proven     uint64 `json:"proven"`     // proofs that held
	Failed     uint64 `json:"failed"`     // proofs that did not hold, refused with status 10
	Refused    uint64 `json:"refused"`    // legacy registrations refused under RequireCryptoID
	Evicted    uint64 `json:"evicted"`    // challenges dropped for a newer one (caps)
	Expired    uint64 `json:"expired"`    // challenges that ran out unanswered
}

type challengeKey struct {
	addr [16]byte
	rovr ROVR
}

type challenge struct {
	nonce   [challengeNonceLen]byte
	from    lowpan.LinkAddr
	issued  int64 // Unix nanoseconds, for eviction order
	expires int64
}

// APND is the router's side of Address-Protected Neighbor Discovery (RFC
// 8928), for a 6LBR or a 6LR its 6LNs register with: it challenges
// registrations that claim a Crypto-ID, checks the proofs and tells the
// router whether a registration is proven. It keeps the outstanding
// challenges, bounded in number and time, and the CIPOs it has seen by
// Crypto-ID, bounded in number; it does no I/O and takes the time from its
// caller. It is safe for concurrent use. How the router calls it is
// written at the top of apnd.go.
type APND struct {
	cfg APNDConfig

	mu      sync.Mutex
	pending map[challengeKey]*challenge
	sources map[lowpan.LinkAddr]int
	// cipos holds a copy of every CIPO seen that hashes to its NS's ROVR
	// (RFC 8928 §6.1), cipoRing their Crypto-IDs oldest first, so that
	// the oldest goes when MaxCIPOs is reached. A stored CIPO is never
	// changed, so a view of it may be read after mu is released.
	cipos    map[ROVR]CIPO
	cipoRing []ROVR
	cipoNext int

	cnt struct{ legacy, challenges, proven, failed, refused, evicted, expired atomic.Uint64 }
}

// NewAPND returns an APND with cfg, defaults filled in.
func NewAPND(cfg APNDConfig) *APND {
	if cfg.ChallengeLifetime <= 0 {
		cfg.ChallengeLifetime = DefaultChallengeLifetime
	}
	if cfg.MaxChallenges <= 0 {
		cfg.MaxChallenges = DefaultMaxChallenges
	}
	if cfg.MaxChallengesPerSource <= 0 {
		cfg.MaxChallengesPerSource = DefaultMaxChallengesPerSource
	}
	if cfg.MaxCIPOs <= 0 {
		cfg.MaxCIPOs = DefaultMaxCIPOs
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &APND{cfg: cfg, pending: make(map[challengeKey]*challenge), sources: make(map[lowpan.LinkAddr]int),
		cipos: make(map[ROVR]CIPO)}
}

// CheckNS decides on a validated NS carrying an (E)ARO (m from Parse, with
// m.ARO set) that registers addr, received from link-layer source from, at
// now:
//
//   - No Crypto-ID claimed (RFC 6775 ARO, or C flag clear): APNDRegister,
//     unproven — or APNDRefuse with RequireCryptoID.
//   - C flag set and a malformed AP-ND option, a CIPO whose Crypto-Type
//     this package does not implement ("MUST reply with an EARO status
//     code of 10 ... without a challenge", RFC 8928 §6), or a proof that
//     does not hold (wrong EARO Length, key or signature, §6.2):
//     APNDRefuse with "Validation Failed" (§6.1). A challenge outstanding
//     stays until it expires: a forged answer must not cancel the owner's.
//   - C flag set and the NS answers this router's outstanding challenge for
//     (addr, ROVR) with a Nonce option, an NDPSO and a CIPO — its own or
//     the one stored for the Crypto-ID (§6.1) — that verify (§6.2):
//     APNDRegister, proven; the challenge is used up, so the same proof
//     cannot be played again. A proof without a CIPO, when none is stored,
//     is challenged again with the same nonce, and the 6LN "SHOULD add the
//     CIPO again" (§6.1).
//   - C flag set and no proof, or no challenge outstanding for it (expired,
//     or a proof played again): APNDChallenge (§6.1). Every NS that claims
//     a Crypto-ID is challenged, first registrations and refreshes alike
//     (the challenge "may happen at any time at the discretion of the 6LR
//     and the 6LBR", §6; see the top of apnd.go for why). A challenge
//     already outstanding for (addr, ROVR) is repeated with the same
//     nonce, so a retransmitted NS or a late answer still matches.
func (a *APND) CheckNS(m *Message, addr netip.Addr, from lowpan.LinkAddr, now time.Time) APNDDecision {
	aro := m.ARO
	if aro == nil || !aro.T() || !aro.CryptoIDFlag() {
		if a.cfg.RequireCryptoID {
			a.cnt.refused.Add(1)
			return APNDDecision{Action: APNDRefuse, Status: StatusValidationFailed, Err: errProofLegacy}
		}
		a.cnt.legacy.Add(1)
		return APNDDecision{Action: APNDRegister}
	}
	rovr, _ := MakeROVR(aro.ROVR()) // lengths checked by Parse
	var opts APNDOptions
	if err := ParseAPNDOptions(m.Options, &opts); err != nil {
		// A malformed AP-ND option is a proof that does not hold.
		a.cnt.failed.Add(1)
		return APNDDecision{Action: APNDRefuse, Status: StatusValidationFailed, Err: err}
	}
	if opts.CIPO != nil {
		if t := opts.CIPO.CryptoType(); !t.Supported() {
			a.cnt.failed.Add(1)
			return APNDDecision{Action: APNDRefuse, Status: StatusValidationFailed, Err: fmt.Errorf("%w: %v", errProofType, t)}
		}
		a.storeCIPO(rovr, opts.CIPO)
	}
	key := challengeKey{addr: addr.As16(), rovr: rovr}
	t := now.UnixNano()
	a.mu.Lock()
	c, ok := a.pending[key]
	if ok && t >= c.expires {
		a.dropLocked(key, c)
		a.cnt.expired.Add(1)
		c, ok = nil, false
	}
	offered := opts.NDPSO != nil
	if offered && ok {
		nonceLR := c.nonce
		if opts.CIPO == nil {
			opts.CIPO = a.cipos[rovr]
		}
		if opts.CIPO == nil {
			a.mu.Unlock()
			a.cnt.challenges.Add(1)
			return APNDDecision{Action: APNDChallenge, Status: StatusValidationRequested,
				Nonce: NonceFields{Nonce: nonceLR[:]}, Err: errProofNoCIPO}
		}
		a.mu.Unlock() // the signature check is the expensive part
		err := VerifyProof(rovr.Bytes(), &opts, m.Target, nonceLR[:], aro[1])
		if err != nil {
			a.cnt.failed.Add(1)
			return APNDDecision{Action: APNDRefuse, Status: StatusValidationFailed, Err: err}
		}
		a.mu.Lock()
		// Used up; it may have been replaced or expired meanwhile, in
		// which case the proof still answered a nonce we sent.
		if cur, still := a.pending[key]; still && cur.nonce == nonceLR {
			a.dropLocked(key, cur)
		}
		a.mu.Unlock()
		a.cnt.proven.Add(1)
		return APNDDecision{Action: APNDRegister, Proven: true}
	}
	if !ok {
		c = a.newChallengeLocked(key, from, t)
	}
	nonce := c.nonce
	a.mu.Unlock()
	a.cnt.challenges.Add(1)
	d := APNDDecision{Action: APNDChallenge, Status: StatusValidationRequested, Nonce: NonceFields{Nonce: nonce[:]}}
	if offered {
		d.Err = errProofNoChall
	}
	return d
}

// Challenge starts a challenge for addr registered under rovr from the 6LN
// at link-layer address from (or repeats the one outstanding) and returns
// the Nonce option for the NA(EARO) with status 5. A 6LR calls it when the
// 6LBR asks for a challenge with status 5 in an EDAC: "The 6LR MUST
// challenge the 6LN when the 6LBR signals to do so ... The EDAC is echoed
// by the 6LR in the NA(EARO)" (RFC 8928 §6).
func (a *APND) Challenge(addr netip.Addr, rovr ROVR, from lowpan.LinkAddr, now time.Time) NonceFields {
	key := challengeKey{addr: addr.As16(), rovr: rovr}
	t := now.UnixNano()
	a.mu.Lock()
	c, ok := a.pending[key]
	if ok && t >= c.expires {
		a.dropLocked(key, c)
		a.cnt.expired.Add(1)
		ok = false
	}
	if !ok {
		c = a.newChallengeLocked(key, from, t)
	}
	nonce := c.nonce
	a.mu.Unlock()
	a.cnt.challenges.Add(1)
	return NonceFields{Nonce: nonce[:]}
}

// storeCIPO keeps a copy of o for rovr if o hashes to it (RFC 8928 §6.1):
// a CIPO that does not is no one's, and one that does can only be the
// owner's (the hash binds it), so nothing here can be poisoned.
func (a *APND) storeCIPO(rovr ROVR, o CIPO) {
	id, err := CryptoID(o, rovr.Len())
	if err != nil || id != rovr {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.cipos[rovr]; ok {
		return
	}
	if len(a.cipoRing) < a.cfg.MaxCIPOs {
		a.cipoRing = append(a.cipoRing, rovr)
	} else {
		delete(a.cipos, a.cipoRing[a.cipoNext])
		a.cipoRing[a.cipoNext] = rovr
		a.cipoNext = (a.cipoNext + 1) % len(a.cipoRing)
	}
	a.cipos[rovr] = CIPO(bytes.Clone(o))
}

// CIPOs returns the number of CIPOs stored.
func (a *APND) CIPOs() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.cipos)
}

// newChallengeLocked makes room under the caps and records a new
// challenge with a fresh nonce.
func (a *APND) newChallengeLocked(key challengeKey, from lowpan.LinkAddr, t int64) *challenge {
	if a.sources[from] >= a.cfg.MaxChallengesPerSource {
		a.evictOldestLocked(&from, t)
	}
	if len(a.pending) >= a.cfg.MaxChallenges {
		a.expireLocked(t)
		if len(a.pending) >= a.cfg.MaxChallenges {
			a.evictOldestLocked(nil, t)
		}
	}
	c := &challenge{from: from, issued: t, expires: t + int64(a.cfg.ChallengeLifetime)}
	if _, err := io.ReadFull(a.cfg.Rand, c.nonce[:]); err != nil {
		// crypto/rand does not fail on Linux (getrandom); a test's reader
		// might. A zero nonce is still single-use and short-lived.
		clear(c.nonce[:])
	}
	a.pending[key] = c
	a.sources[from]++
	return c
}

// evictOldestLocked drops the oldest challenge (of source from when not
// nil). The scan is linear: the table holds at most MaxChallenges.
func (a *APND) evictOldestLocked(from *lowpan.LinkAddr, t int64) {
	var oldK challengeKey
	var old *challenge
	for k, c := range a.pending {
		if from != nil && c.from != *from {
			continue
		}
		if old == nil || c.issued < old.issued {
			oldK, old = k, c
		}
	}
	if old != nil {
		a.dropLocked(oldK, old)
		a.cnt.evicted.Add(1)
	}
}

func (a *APND) dropLocked(k challengeKey, c *challenge) {
	delete(a.pending, k)
	if n := a.sources[c.from] - 1; n > 0 {
		a.sources[c.from] = n
	} else {
		delete(a.sources, c.from)
	}
}

func (a *APND) expireLocked(t int64) int {
	n := 0
	for k, c := range a.pending {
		if t >= c.expires {
			a.dropLocked(k, c)
			n++
		}
	}
	a.cnt.expired.Add(uint64(n))
	return n
}

// Expire drops the challenges that ran out at now and returns how many;
// call it from the router's Maintain.
func (a *APND) Expire(now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.expireLocked(now.UnixNano())
}

// Pending returns the number of outstanding challenges.
func (a *APND) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// RelayProven says whether an EDAR counts as proof of ownership: its
// status is 5, with which "the 6LR MUST indicate to the 6LBR that it
// performed a successful validation" (RFC 8928 §6), and viaProtected tells
// whether the 6LR that sent it holds a protected registration itself.
// Only with TrustRelays (see APNDConfig).
func (a *APND) RelayProven(edarStatus Status, viaProtected bool) bool {
	return a.cfg.TrustRelays && edarStatus == StatusValidationRequested && viaProtected
}

// RelayStatus is the EDAC status for an EDAR the registry refused because
// it would change a protected registration without proof: "Validation
// Requested" — "the 6LBR MUST indicate to the new 6LR that it needs to
// challenge the 6LN using a status code of 5 in the EDAC" (RFC 8928 §6);
// the 6LR challenges its 6LN (Challenge) and echoes the status.
func (a *APND) RelayStatus() Status { return StatusValidationRequested }

// Counters returns APND's counters.
func (a *APND) Counters() APNDCounters {
	return APNDCounters{
		Legacy: a.cnt.legacy.Load(), Challenges: a.cnt.challenges.Load(), Proven: a.cnt.proven.Load(),
		Failed: a.cnt.failed.Load(), Refused: a.cnt.refused.Load(), Evicted: a.cnt.evicted.Load(),
		Expired: a.cnt.expired.Load(),
	}
}
