package nd

import (
	"crypto/rand"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// Defaults of APNDConfig.
const (
	// DefaultChallengeLifetime is how long a NonceLR stays good: a 6LN
	// answers at once (RFC 8928 §6.1), so a few of its NS retransmission
	// times (RFC 4861 RETRANS_TIMER, 1 s, doubled by RFC 7048) suffice.
	DefaultChallengeLifetime = 10 * time.Second
	// DefaultMaxChallenges bounds the outstanding challenges.
	DefaultMaxChallenges = 256
	// DefaultMaxChallengesPerSource bounds those one link-layer source can
	// hold, so one radio cannot take them all.
	DefaultMaxChallengesPerSource = 4
	// challengeNonceLen: a Nonce option of Length 1 (RFC 3971 §5.3.2's
	// minimum of 6 octets). The nonce only has to be unguessable for the
	// few seconds its challenge lives and is used once.
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
	// TrustRelays counts an EDAR as proof when the 6LR that sent it holds a
	// protected registration itself: RFC 8928 §6.3 has the 6LR challenge
	// its 6LNs, and a 6LR that proved its own Crypto-ID is taken for one
	// that implements AP-ND. Off by default: the EDAR carries no proof,
	// and a legacy 6LR relays a copied ROVR unchallenged. Safe only where
	// every 6LR requires Crypto-IDs of its 6LNs.
	TrustRelays bool
	// ChallengeLifetime: see DefaultChallengeLifetime.
	ChallengeLifetime time.Duration
	// MaxChallenges and MaxChallengesPerSource bound the outstanding
	// challenges; when either is reached the oldest challenge (of that
	// source, or of all) is dropped for the new one.
	MaxChallenges, MaxChallengesPerSource int
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
	// APNDDecision.Status (StatusValidationFailed).
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
	Legacy     uint64 // registrations without a Crypto-ID, passed on unproven
	Challenges uint64 // challenges sent (NA with status 5 and a nonce)
	Proven     uint64 // proofs that held
	Failed     uint64 // proofs that did not hold, refused with status 10
	Refused    uint64 // legacy registrations refused under RequireCryptoID
	Evicted    uint64 // challenges dropped for a newer one (caps)
	Expired    uint64 // challenges that ran out unanswered
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

// APND is the 6LBR's side of Address-Protected Neighbor Discovery (RFC
// 8928): it challenges registrations that claim a Crypto-ID, checks the
// proofs and tells the router whether a registration is proven. It keeps
// only the outstanding challenges, bounded in number and time; it does no
// I/O and takes the time from its caller. It is safe for concurrent use.
// How the router calls it is written at the top of apnd.go.
type APND struct {
	cfg APNDConfig

	mu      sync.Mutex
	pending map[challengeKey]*challenge
	sources map[lowpan.LinkAddr]int

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
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &APND{cfg: cfg, pending: make(map[challengeKey]*challenge), sources: make(map[lowpan.LinkAddr]int)}
}

// CheckNS decides on a validated NS carrying an (E)ARO (m from Parse, with
// m.ARO set) that registers addr, received from link-layer source from, at
// now:
//
//   - No Crypto-ID claimed (RFC 6775 ARO, or C flag clear): APNDRegister,
//     unproven — or APNDRefuse with RequireCryptoID.
//   - C flag set and the NS answers this router's outstanding challenge for
//     (addr, ROVR) with a CIPO, a Nonce option and an NDPSO that verify
//     (RFC 8928 §6.2): APNDRegister, proven; the challenge is used up, so
//     the same proof cannot be played again.
//   - C flag set, a proof given, and it does not hold (wrong key, bad
//     signature, unsupported Crypto-Type): APNDRefuse with "Validation
//     Failed" (RFC 8928 §6.2). The challenge stays until it expires: a
//     forged answer must not cancel the owner's.
//   - C flag set and no proof, or no challenge outstanding for it (expired,
//     or a proof played again): APNDChallenge (RFC 8928 §6.1). Every NS
//     that claims a Crypto-ID is challenged, first registrations and
//     refreshes alike: the proof is what lets a registration touch a
//     protected entry, and a refresh costs one more exchange every half
//     lifetime. A challenge already outstanding for (addr, ROVR) is
//     repeated with the same nonce, so a retransmitted NS or a late answer
//     still matches.
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
	key := challengeKey{addr: addr.As16(), rovr: rovr}
	var opts APNDOptions
	perr := ParseAPNDOptions(m.Options, &opts)
	offered := perr == nil && (opts.CIPO != nil || opts.NDPSO != nil)

	t := now.UnixNano()
	a.mu.Lock()
	c, ok := a.pending[key]
	if ok && t >= c.expires {
		a.dropLocked(key, c)
		a.cnt.expired.Add(1)
		c, ok = nil, false
	}
	if perr != nil || (offered && ok) {
		var err error
		if perr != nil {
			// A malformed AP-ND option is a proof that does not hold.
			err = perr
		} else {
			nonceLR := c.nonce
			a.mu.Unlock() // the signature check is the expensive part
			err = VerifyProof(rovr.Bytes(), &opts, m.Target, nonceLR[:], aro[1])
			a.mu.Lock()
			if err == nil {
				// Used up; it may have been replaced or expired meanwhile,
				// in which case the proof still answered a nonce we sent.
				if cur, still := a.pending[key]; still && cur.nonce == nonceLR {
					a.dropLocked(key, cur)
				}
			}
		}
		a.mu.Unlock()
		if err != nil {
			a.cnt.failed.Add(1)
			return APNDDecision{Action: APNDRefuse, Status: StatusValidationFailed, Err: err}
		}
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

// RelayProven says whether an EDAR counts as proof of ownership:
// viaProtected tells whether the 6LR that sent it holds a protected
// registration itself. Only with TrustRelays (see APNDConfig).
func (a *APND) RelayProven(viaProtected bool) bool { return a.cfg.TrustRelays && viaProtected }

// RelayStatus is the EDAC status for an EDAR the registry refused because
// it would change a protected registration without proof: "Validation
// Requested", which the 6LR echoes to its 6LN (RFC 8928 §6.1).
func (a *APND) RelayStatus() Status { return StatusValidationRequested }

// Counters returns APND's counters.
func (a *APND) Counters() APNDCounters {
	return APNDCounters{
		Legacy: a.cnt.legacy.Load(), Challenges: a.cnt.challenges.Load(), Proven: a.cnt.proven.Load(),
		Failed: a.cnt.failed.Load(), Refused: a.cnt.refused.Load(), Evicted: a.cnt.evicted.Load(),
		Expired: a.cnt.expired.Load(),
	}
}
