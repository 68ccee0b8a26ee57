package llm

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/internal/ratelimit"
	"github.com/deluge-go/deluge/registry"
)

// Adaptive rate after server 429s (AIMD, as TCP congestion control): each
// rate-limit event that hits a request sent at the current rate multiplies
// the target's pacing rate by rateCut, and the rate then recovers linearly
// to the configured limit over rateRecovery. 0.7 (TCP CUBIC's factor)
// settles within a few rounds without starving the batch.
const (
	rateCut      = 0.7
	minFactor    = 1.0 / 64
	rateRecovery = 30 * time.Second
)

// outOfRotation is how long a target that answered 401, 403 or 404 is left
// out of routing before one request probes it again.
const outOfRotation = time.Minute

// target is one model the client routes to, with its limits and health.
// Times are ratelimit.Now() durations (monotonic).
type target struct {
	model  registry.Model
	weight float64
	open   func() (Provider, error)

	limits    Limits
	rpm, tpm  *ratelimit.Bucket
	sem       chan struct{} // nil when only the client's limit applies
	maxTokens int           // largest admissible token cost, 0 = no limit

	// coolUntil holds dispatch back: after a 429 (the server's retry-after)
	// or when rate-limit headers say the quota is nearly spent.
	coolUntil atomic.Int64
	// disabledUntil takes the target out of rotation (auth, not found,
	// exhausted quota); disabledErr says why.
	disabledUntil atomic.Int64
	disabledErr   atomic.Pointer[Error]
	// outages counts disable calls, so a request picked before an outage
	// notices it after queueing.
	outages atomic.Int64

	// adaptive rate state, see slowDown: the rate is the limit times
	// factor, which was set at factorAt and recovers from there; cutAt is
	// the last cut.
	adapting atomic.Bool
	mu       sync.Mutex
	factor   float64
	factorAt time.Duration
	cutAt    time.Duration
}

// provider returns the target's provider, opening it on first use.
func (t *target) provider() (Provider, error) { return t.open() }

// cool holds dispatch to the target back until now+d (never shortening an
// existing cooldown). It reports whether the cooldown was extended.
func (t *target) cool(now, d time.Duration) bool {
	until := int64(now + d)
	for {
		cur := t.coolUntil.Load()
		if cur >= until {
			return false
		}
		if t.coolUntil.CompareAndSwap(cur, until) {
			return true
		}
	}
}

// cooling returns the remaining cooldown at now.
func (t *target) cooling(now time.Duration) time.Duration {
	return max(time.Duration(t.coolUntil.Load())-now, 0)
}

// disable takes the target out of rotation until now+d. It reports whether
// the target was in rotation (so the caller logs the event once).
func (t *target) disable(now, d time.Duration, why *Error) bool {
	t.disabledErr.Store(why)
	prev := t.disabledUntil.Swap(int64(now + d))
	// Counted after the swap: a picker that read the old count before
	// checking availability either sees the outage or a changed count.
	t.outages.Add(1)
	return prev == 0
}

// outOfRotationError is the error returned instead of calling a target that
// is out of rotation: the error that took it out, so every result says what
// to fix.
func (t *target) outOfRotationError() error {
	if e := t.disabledErr.Load(); e != nil {
		return e
	}
	return &Error{Code: CodeUnavailable, Provider: t.model.Provider, Model: t.model.ID, Message: "model is out of rotation"}
}

// enable puts a target back into rotation after a successful probe.
func (t *target) enable() {
	if t.disabledUntil.Load() != 0 {
		t.disabledUntil.Store(0)
	}
}

// available reports whether the target may be picked at now. Once the time
// out of rotation has passed, the first caller to ask claims a probe (the
// target stays out of rotation for the others until the probe's outcome).
func (t *target) available(now time.Duration, claim bool, probeHold time.Duration) bool {
	for {
		until := t.disabledUntil.Load()
		if until == 0 {
			return true
		}
		if now < time.Duration(until) {
			return false
		}
		if !claim {
			return true
		}
		if t.disabledUntil.CompareAndSwap(until, int64(now+probeHold)) {
			return true
		}
	}
}

// slowDown cuts the target's pacing rate after a 429 that hit a request
// admitted at sentAt, unless the rate was already cut after that request
// was sent (its 429 reflects the old rate).
func (t *target) slowDown(now, sentAt time.Duration) (newFactor float64, cut bool) {
	if t.limits.RequestsPerMinute <= 0 && t.limits.TokensPerMinute <= 0 {
		return 1, false // nothing to scale: cooldowns alone pace an unlimited target
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.adapting.Load() && sentAt < t.cutAt {
		return t.factor, false
	}
	t.factor = max(t.factorLocked(now)*rateCut, minFactor)
	t.cutAt, t.factorAt = now, now
	t.adapting.Store(true)
	t.applyLocked()
	return t.factor, true
}

// refreshRate lets an adapted rate recover with time; it is a no-op for a
// target at its configured rate.
func (t *target) refreshRate() {
	if t.adapting.Load() {
		t.refreshRateAt(ratelimit.Now())
	}
}

func (t *target) refreshRateAt(now time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.factorLocked(now)
	if f >= 1 {
		t.factor = 1
		t.adapting.Store(false)
		t.applyLocked()
		return
	}
	if f-t.factor > 0.02 { // re-rate in steps, not on every request
		t.factor, t.factorAt = f, now
		t.applyLocked()
	}
}

func (t *target) factorLocked(now time.Duration) float64 {
	if !t.adapting.Load() {
		return 1
	}
	return min(1, t.factor+float64(now-t.factorAt)/float64(rateRecovery))
}

func (t *target) applyLocked() {
	if rpm := t.limits.RequestsPerMinute; rpm > 0 {
		r := float64(rpm) * t.factor
		t.rpm.SetRate(r, max(1, r/60))
	}
	if tpm := t.limits.TokensPerMinute; tpm > 0 {
		r := float64(tpm) * t.factor
		t.tpm.SetRate(r, max(1, r/60))
	}
}
