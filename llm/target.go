package llm

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/internal/ratelimit"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/registry"
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

	// limits are the model's own (WithModelLimits over the client's), its
	// RPM and TPM no higher than the client's; quota is their RPM and TPM,
	// what the pacer paces at.
	limits    Limits
	quota     pacing.Limits
	sem       chan struct{} // nil when only the client's limit applies
	maxTokens int           // largest admissible token cost, 0 = no limit

	// The pacer of the model's quota key, and the requests waiting for it.
	// The pacer is resolved on first use (see pace), because the key comes
	// from the provider, which opens lazily.
	pacerOnce sync.Once
	pacer     pacing.Pacer
	key       atomic.Pointer[string]
	waiters   paced

	// coolUntil mirrors the pacer's cooldown, for routing (a cooling model
	// gets no new traffic while another is ready) and for requests that
	// passed the pacer before a 429 arrived. foundRPM and foundTPM mirror
	// the pacer's found limits, for Stats.
	coolUntil          atomic.Int64
	foundRPM, foundTPM atomic.Int64

	// disabledUntil takes the target out of rotation (auth, not found,
	// exhausted quota); disabledErr says why.
	disabledUntil atomic.Int64
	disabledErr   atomic.Pointer[Error]
	// outages counts disable calls, so a request picked before an outage
	// notices it after queueing.
	outages atomic.Int64

	// admitted counts the requests admitted so far and charged the tokens
	// charged for them: a reply's rate-limit headers describe the quota
	// when its request was admitted, and the requests admitted since then
	// have drawn on it too (see observeHeaders).
	admitted, charged atomic.Int64

	server serverView // what rate-limit headers say (headers.go)
	adapt  adaptation // persistent 429s and the found limits (adapt.go)
}

// paced is a FIFO of requests waiting for one pacer, and what its head
// last waited for (the reason every waiter's time is counted under).
type paced struct {
	queue  ratelimit.Queue
	reason atomic.Uint32 // a pacing.Reason
}

// provider returns the target's provider, opening it on first use.
func (t *target) provider() (Provider, error) { return t.open() }

// cool moves the cooldown mirror to now+d (never shortening it). It
// reports whether the cooldown was extended.
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

// found returns the found limits the pacer last reported.
func (t *target) found() pacing.Limits {
	return pacing.Limits{RequestsPerMinute: int(t.foundRPM.Load()), TokensPerMinute: int(t.foundTPM.Load())}
}

// pace returns the target's pacing as Stats reports it.
func (t *target) pace() Pace {
	f := t.found()
	s := t.server.limits()
	return Pace{
		Model:      t.model.ID,
		Key:        t.quotaKey(),
		Configured: t.limits,
		Found:      Limits{RequestsPerMinute: f.RequestsPerMinute, TokensPerMinute: f.TokensPerMinute},
		Server:     Limits{RequestsPerMinute: s.RequestsPerMinute, TokensPerMinute: s.TokensPerMinute},
	}
}

// quotaKey returns the target's quota key, "" before its first request.
func (t *target) quotaKey() string {
	if k := t.key.Load(); k != nil {
		return *k
	}
	return ""
}
