package pacing

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Local is the in-process [Limiter]: the state of each key in memory,
// behind a mutex of its own. Its methods never fail and never block. Share
// one Local between clients (llm.WithLimiter) to have them pace a quota
// together within a process; each llm.Client has its own otherwise.
type Local struct {
	clock func() time.Time
	epoch time.Time

	mu   sync.Mutex
	keys map[string]*localPacer
}

// LocalOption configures a [Local].
type LocalOption func(*Local)

// WithClock makes the Local read time from now instead of time.Now: a
// test's fake clock. Readings must not go backwards.
func WithClock(now func() time.Time) LocalOption {
	return func(l *Local) {
		if now != nil {
			l.clock = now
		}
	}
}

// NewLocal returns an empty in-process [Limiter].
func NewLocal(opts ...LocalOption) *Local {
	l := &Local{clock: time.Now, keys: map[string]*localPacer{}}
	for _, o := range opts {
		o(l)
	}
	l.epoch = l.clock()
	return l
}

// Pacer implements [Limiter].
func (l *Local) Pacer(key string) Pacer {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.keys[key]
	if !ok {
		p = &localPacer{l: l}
		l.keys[key] = p
	}
	return p
}

// now returns the clock's reading in nanoseconds since the Local was made
// (monotonic when the clock is time.Now), at least 1 so that 0 can mean
// "never".
func (l *Local) now() int64 {
	return max(int64(l.clock().Sub(l.epoch)), 0) + 1
}

// localPacer is the state of one key. Times are Local.now() readings.
type localPacer struct {
	l *Local

	// coolUntil (0: no cooldown since the last one ended) and hasFound are
	// atomics too, so that an unlimited key admits without the lock or
	// the clock.
	coolUntil atomic.Int64
	hasFound  atomic.Bool

	mu sync.Mutex
	// reqTAT and tokTAT are the theoretical arrival times of the next
	// request and the next token: a request conforms when both are not in
	// the future.
	reqTAT, tokTAT int64
	found          Limits
}

// interval returns the emission interval of a per-minute limit in
// nanoseconds, rounded up so that pacing never exceeds the limit; 0 for
// no limit.
func interval(perMinute int) float64 {
	if perMinute <= 0 {
		return 0
	}
	return math.Ceil(float64(time.Minute) / float64(perMinute))
}

// Admit implements [Pacer].
func (p *localPacer) Admit(_ context.Context, l Limits, cost int, ahead time.Duration) (Decision, error) {
	if l.IsZero() && !p.hasFound.Load() && p.coolUntil.Load() == 0 {
		return Decision{Admitted: true}, nil
	}
	now := p.l.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	d := Decision{Found: p.found}
	if until := p.coolUntil.Load(); until > now {
		d.Wait, d.Reason = time.Duration(until-now), Cooldown
		return d, nil
	} else if until != 0 {
		p.coolUntil.CompareAndSwap(until, 0) // over; a later Cool may have set a new one
	}
	eff := l.Min(p.found)
	reqEvery, tokEvery := interval(eff.RequestsPerMinute), interval(eff.TokensPerMinute)
	at := now // when the request may be sent
	if reqEvery > 0 && p.reqTAT > at {
		at, d.Reason = p.reqTAT, Requests
	}
	if tokEvery > 0 && p.tokTAT > at {
		at, d.Reason = p.tokTAT, Tokens
	}
	d.Wait = time.Duration(at - now)
	if d.Wait > max(ahead, 0) {
		return d, nil
	}
	d.Admitted = true
	if reqEvery > 0 {
		p.reqTAT = at + int64(reqEvery)
	}
	if tokEvery > 0 {
		p.tokTAT = at + int64(math.Min(float64(max(cost, 0))*tokEvery, math.MaxInt64/4))
	}
	return d, nil
}

// Adjust implements [Pacer].
func (p *localPacer) Adjust(_ context.Context, l Limits, requests, tokens int) error {
	if (requests == 0 && tokens == 0) || (l.IsZero() && !p.hasFound.Load()) {
		return nil // nothing paced
	}
	now := p.l.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	eff := l.Min(p.found)
	p.reqTAT = adjust(p.reqTAT, now, requests, interval(eff.RequestsPerMinute))
	p.tokTAT = adjust(p.tokTAT, now, tokens, interval(eff.TokensPerMinute))
	return nil
}

// adjust moves a theoretical arrival time by n units of every ns. A
// refund never takes it below now: a key banks no capacity.
func adjust(tat, now int64, n int, every float64) int64 {
	if n == 0 || every == 0 {
		return tat
	}
	if n > 0 {
		return max(tat, now) + int64(math.Min(float64(n)*every, math.MaxInt64/4))
	}
	if tat <= now {
		return tat
	}
	return max(tat-int64(float64(-n)*every), now)
}

// Cool implements [Pacer].
func (p *localPacer) Cool(_ context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	until := p.l.now() + int64(d)
	for {
		cur := p.coolUntil.Load()
		if cur >= until || p.coolUntil.CompareAndSwap(cur, until) {
			return nil
		}
	}
}

// SetFound implements [Pacer].
func (p *localPacer) SetFound(_ context.Context, found Limits) error {
	p.mu.Lock()
	p.found = Limits{RequestsPerMinute: max(found.RequestsPerMinute, 0), TokensPerMinute: max(found.TokensPerMinute, 0)}
	p.hasFound.Store(!p.found.IsZero())
	p.mu.Unlock()
	return nil
}
