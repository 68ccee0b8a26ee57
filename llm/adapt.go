package llm

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/pacing"
)

// After a 429 the model rests for the server's retry-after and then goes
// back to its pace at once: one 429 says that one window was full, not
// that the quota is smaller than configured (the 429s of requests already
// in flight when the first arrived count as one episode). When episodes
// recur within persistWindow, the quota is: the model is paced at the
// rate the server was found to allow, from its rate-limit headers when it
// sends them (Azure's remaining requests per 10-second window, times six),
// else from the rate at which it accepted requests over the last
// measureSpan while refusing the rest. After raiseAfter without a 429, a
// lowered pace rises by raiseStep of the configured one, up to what the
// headers say the server allows, and back to the configured pace.
const (
	persistWindow = 20 * time.Second
	measureSpan   = 10 * time.Second
	raiseAfter    = 30 * time.Second
	raiseStep     = 0.10
	// A measured rate lowers the pace only when it is clearly below it
	// (measuredSlack), and never below minShare of the configured limit:
	// a server that refuses requests at random rather than by rate would
	// otherwise ratchet the pace down.
	measuredSlack = 0.97
	minShare      = 0.25
)

// adaptation is a target's record of 429 episodes and of the rate its
// server accepted.
type adaptation struct {
	mu sync.Mutex
	// lastEpisode is when the latest 429 episode began (0: none since the
	// pace last changed); raisedAt when the found limits last changed.
	lastEpisode, raisedAt time.Duration
	// lowered is set while the target's found limits are set, so that
	// replies check for a raise without locking otherwise.
	lowered atomic.Bool
	// accepted counts the replies that were not 429s, and their tokens,
	// per second of admission, for the last measureSpan; first is the
	// first admission counted.
	accepted [11]acceptedSecond
	first    time.Duration
}

type acceptedSecond struct {
	sec       int64
	n, tokens int
}

// accept counts a reply (not a 429) to a request admitted as a.
func (t *target) accept(a admission) {
	if t.quota.IsZero() || !a.admitted {
		return // an unlimited model is not lowered; nothing to measure
	}
	ad := &t.adapt
	sec := int64(a.sentAt / time.Second)
	ad.mu.Lock()
	if ad.first == 0 {
		ad.first = a.sentAt
	}
	s := &ad.accepted[sec%int64(len(ad.accepted))]
	if s.sec != sec {
		*s = acceptedSecond{sec: sec}
	}
	s.n++
	s.tokens += a.tokens
	ad.mu.Unlock()
}

// measuredLocked returns the rates of accepted requests and tokens per
// minute over the whole seconds of admission of the last measureSpan since
// the pace last changed (0: not a whole second yet). Whole seconds, so
// that a measure taken as a window fills up is not biased up by it.
func (ad *adaptation) measuredLocked(now time.Duration) pacing.Limits {
	if ad.first == 0 {
		return pacing.Limits{}
	}
	start := max(ad.first, ad.raisedAt)
	to := int64(now / time.Second) // the current second, excluded
	from := max(int64((start+time.Second-1)/time.Second), to-int64(measureSpan/time.Second))
	if from >= to {
		return pacing.Limits{}
	}
	var n, tokens int
	for _, s := range ad.accepted {
		if s.sec >= from && s.sec < to {
			n += s.n
			tokens += s.tokens
		}
	}
	perMinute := 60 / float64(to-from)
	return pacing.Limits{RequestsPerMinute: int(float64(n) * perMinute), TokensPerMinute: int(float64(tokens) * perMinute)}
}

// rateLimited records a 429 (e) to a request admitted at sentAt and
// answered at now, and lowers the target's pace when 429s persist.
func (c *Client) rateLimited(ctx context.Context, t *target, e *Error, now, sentAt time.Duration) {
	if t.quota.IsZero() {
		return // an unlimited model is paced by its cooldowns alone
	}
	tokens := strings.Contains(strings.ToLower(e.Message), "token")
	ad := &t.adapt
	ad.mu.Lock()
	if sentAt <= ad.lastEpisode {
		ad.mu.Unlock()
		return // in flight when this episode began
	}
	persistent := ad.lastEpisode > 0 && now-ad.lastEpisode <= persistWindow
	ad.lastEpisode = now
	if !persistent {
		ad.mu.Unlock()
		return
	}
	found := t.found()
	cur := t.quota.Min(found)
	server := t.server.limits()
	measured := ad.measuredLocked(now)
	next := found
	if tokens {
		next.TokensPerMinute = lowered(found.TokensPerMinute, cur.TokensPerMinute, t.quota.TokensPerMinute, server.TokensPerMinute, measured.TokensPerMinute)
	} else {
		next.RequestsPerMinute = lowered(found.RequestsPerMinute, cur.RequestsPerMinute, t.quota.RequestsPerMinute, server.RequestsPerMinute, measured.RequestsPerMinute)
	}
	if next == found {
		ad.mu.Unlock()
		return
	}
	ad.lastEpisode, ad.raisedAt = 0, now // the new pace gets two episodes of its own
	ad.lowered.Store(true)
	ad.mu.Unlock()
	c.setFound(ctx, t, next)
	c.logger().LogAttrs(ctx, slog.LevelInfo, "llm: 429s persist: pacing at the rate the server allows",
		slog.String("model", t.model.ID), slog.Int("rpm", next.RequestsPerMinute), slog.Int("tpm", next.TokensPerMinute),
		slog.Int("configured_rpm", t.quota.RequestsPerMinute), slog.Int("configured_tpm", t.quota.TokensPerMinute))
}

// lowered returns the found limit after persistent 429s: the server's own
// figure when it is below the current pace; else a little under the
// measured rate when it is clearly below; else, when the pace was lowered already and 429s
// persist at it, a little lower (measuredSlack). Never under minShare of
// the configured limit.
func lowered(found, current, configured, server, measured int) int {
	floor := max(int(minShare*float64(configured)), 1)
	switch {
	case current <= 0:
		return found
	case server > 0 && server < current:
		return max(server, floor)
	case measured > 0 && float64(measured) < measuredSlack*float64(current):
		// A little under the measured rate, which the server's own
		// windows and the measurement's noise put a little above or under.
		return max(int(measuredSlack*float64(measured)), floor)
	case found > 0:
		return max(int(measuredSlack*float64(current)), floor)
	}
	return found
}

// maybeRaise lets a lowered pace rise after raiseAfter without a 429.
func (c *Client) maybeRaise(ctx context.Context, t *target, now time.Duration) {
	ad := &t.adapt
	if !ad.lowered.Load() {
		return
	}
	ad.mu.Lock()
	if now-ad.lastEpisode < raiseAfter || now-ad.raisedAt < raiseAfter {
		ad.mu.Unlock()
		return
	}
	found := t.found()
	server := t.server.limits()
	next := pacing.Limits{
		RequestsPerMinute: raised(found.RequestsPerMinute, t.quota.RequestsPerMinute, server.RequestsPerMinute),
		TokensPerMinute:   raised(found.TokensPerMinute, t.quota.TokensPerMinute, server.TokensPerMinute),
	}
	ad.raisedAt = now
	ad.lowered.Store(!next.IsZero())
	ad.mu.Unlock()
	if next == found {
		return
	}
	c.setFound(ctx, t, next)
	c.logger().LogAttrs(ctx, slog.LevelInfo, "llm: no 429 for a while: raising the pace",
		slog.String("model", t.model.ID), slog.Int("rpm", next.RequestsPerMinute), slog.Int("tpm", next.TokensPerMinute))
}

// raised returns a found limit one step higher: up to what the server's
// headers say it allows when they say more, else by raiseStep of the
// configured limit but not above the headers' figure; 0 (none) once it
// reaches the configured limit.
func raised(found, configured, server int) int {
	if found <= 0 || configured <= 0 {
		return 0
	}
	next := found + max(int(raiseStep*float64(configured)), 1)
	switch {
	case server > found:
		next = max(next, min(server, configured))
		if server < configured {
			next = min(next, server)
		}
	case server > 0:
		next = found // the headers say this is what it allows
	}
	if next >= configured {
		return 0
	}
	return next
}

// setFound records found limits in the target's pacer, and mirrors them.
func (c *Client) setFound(ctx context.Context, t *target, found pacing.Limits) {
	if err := c.pacerOf(t).SetFound(ctx, found); err != nil {
		c.pacerFailed(ctx, err)
	}
	t.foundRPM.Store(int64(found.RequestsPerMinute))
	t.foundTPM.Store(int64(found.TokensPerMinute))
	t.waiters.queue.Wake()
}
