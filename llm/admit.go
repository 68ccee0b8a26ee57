package llm

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/deluge-go/deluge/internal/ratelimit"
	"github.com/deluge-go/deluge/pacing"
)

// errOutOfRotation is admit's report that the target was taken out of
// rotation while the request waited for it.
var errOutOfRotation = errors.New("llm: target out of rotation")

// admitAhead is how far ahead a pacer may admit the request at the head of
// a target's queue ([pacing.Pacer.Admit]'s ahead): the request is then
// charged for the time it may go and sleeps until then, so a pacer shared
// through a network store is asked once per admission at any rate above
// 40 a second, and twice at lower rates. It is short, so that a refund
// or a cooldown that arrives meanwhile costs at most that much.
const admitAhead = 25 * time.Millisecond

// pacerRetry is how long a request waits before asking a pacer that failed
// again.
const pacerRetry = 100 * time.Millisecond

// admission is what the engine remembers of an admitted request: when it
// went, and the target's admission and token counts just after it, to read
// its reply's rate-limit headers (see observeHeaders).
type admission struct {
	sentAt   time.Duration
	seq      int64
	charged  int64
	multi    bool // the client-wide pacer charged it too
	tokens   int  // what it was charged
	admitted bool
}

// admit waits until t may take one more request of cost tokens: the pacers
// (the client's across models when it routes to several, then the
// model's, which holds its cooldown), then a concurrency slot. outages is
// the target's outage count when it was picked: if it changed, the target
// failed for good meanwhile and admit returns errOutOfRotation.
func (c *Client) admit(ctx context.Context, t *target, cost int, outages int64) (admission, error) {
	p := c.pacerOf(t)
	for {
		multi := c.multi.Load()
		if multi {
			if err := c.pace(ctx, nil, c.clientPacer, &c.clientWaiters, c.quota, cost); err != nil {
				return admission{}, err
			}
		}
		if err := c.pace(ctx, t, p, &t.waiters, t.quota, cost); err != nil {
			if multi {
				c.giveBack(c.clientPacer, &c.clientWaiters, c.quota, cost)
			}
			return admission{}, err
		}
		a := admission{multi: multi, tokens: cost}
		if err := c.acquire(ctx, t); err != nil {
			c.refund(t, a)
			return admission{}, err
		}
		if t.outages.Load() != outages {
			c.releaseSlots(t)
			c.refund(t, a)
			return admission{}, errOutOfRotation
		}
		now := ratelimit.Now()
		if t.cooling(now) == 0 {
			c.stats.inFlight.Add(1)
			a.sentAt, a.admitted = now, true
			a.seq = t.admitted.Add(1)
			a.charged = t.charged.Add(int64(cost))
			return a, nil
		}
		// A 429 arrived while this request waited for a slot: give the
		// capacity back and wait out the cooldown.
		c.releaseSlots(t)
		c.refund(t, a)
	}
}

// pacerOf returns t's pacer, resolving its quota key on first use: the
// provider's (QuotaKeyer) when it has one, else "provider:model-ID" (the
// model ID alone for a model the registry does not know).
func (c *Client) pacerOf(t *target) pacing.Pacer {
	t.pacerOnce.Do(func() {
		key := t.model.ID
		if t.model.Provider != "" {
			key = t.model.Provider + ":" + key
		}
		if p, err := t.provider(); err == nil {
			if qk, ok := p.(QuotaKeyer); ok {
				if k := qk.QuotaKey(t.model); k != "" {
					key = k
				}
			}
		}
		t.key.Store(&key)
		t.pacer = c.limiter.Pacer(key)
	})
	return t.pacer
}

// pace waits in w's queue until p admits a request of cost tokens at l.
// t is the target p paces, nil for the client-wide pacer. The time waited
// counts in Stats.Waited under what the head of the queue last waited for.
// A request admitted at once reads no clock here.
func (c *Client) pace(ctx context.Context, t *target, p pacing.Pacer, w *paced, l pacing.Limits, cost int) error {
	var (
		enter  time.Duration // when the wait began; 0: no wait
		resume func()
	)
	if t != nil && t.coolUntil.Load() != 0 {
		if now := ratelimit.Now(); t.cooling(now) > 0 {
			// A model cooling down: let a batch start a job for another
			// model meanwhile.
			enter, resume = now, waiting(ctx)
		}
	}
	since, admitted, err := w.queue.Wait(ctx, func() (time.Duration, bool) {
		d, err := p.Admit(ctx, l, cost, admitAhead)
		if err != nil {
			c.pacerFailed(ctx, err)
			d = pacing.Decision{Wait: pacerRetry}
		}
		if t != nil {
			t.noteDecision(d)
		}
		if d.Wait > 0 {
			w.reason.Store(uint32(d.Reason))
			if d.Reason == pacing.Cooldown && resume == nil {
				resume = waiting(ctx)
			}
		}
		return d.Wait, d.Admitted
	})
	if resume != nil {
		resume()
	}
	if since != 0 && (enter == 0 || since < enter) {
		enter = since
	}
	if enter != 0 {
		if d := ratelimit.Now() - enter; d > 0 {
			c.noteWait(ctx, limitKindOf(pacing.Reason(w.reason.Load())), d)
		}
	}
	if err != nil {
		if admitted {
			c.giveBack(p, w, l, cost)
		}
		return err
	}
	return nil
}

// noteDecision updates t's mirrors of its pacer's state.
func (t *target) noteDecision(d pacing.Decision) {
	if d.Reason == pacing.Cooldown && !d.Admitted {
		t.cool(ratelimit.Now(), d.Wait)
	}
	if int64(d.Found.RequestsPerMinute) != t.foundRPM.Load() {
		t.foundRPM.Store(int64(d.Found.RequestsPerMinute))
	}
	if int64(d.Found.TokensPerMinute) != t.foundTPM.Load() {
		t.foundTPM.Store(int64(d.Found.TokensPerMinute))
	}
}

// giveBack returns the admission of a request that was not sent, and lets
// the next request in line ask at once.
func (c *Client) giveBack(p pacing.Pacer, w *paced, l pacing.Limits, cost int) {
	if err := p.Adjust(context.Background(), l, -1, -cost); err != nil {
		c.pacerFailed(context.Background(), err)
	}
	w.queue.Wake()
}

// refund returns the pacing capacity of an admission that was not sent.
func (c *Client) refund(t *target, a admission) {
	if a.multi {
		c.giveBack(c.clientPacer, &c.clientWaiters, c.quota, a.tokens)
	}
	c.giveBack(t.pacer, &t.waiters, t.quota, a.tokens)
}

// adjustTokens charges (delta > 0) or refunds (delta < 0) tokens of a
// request that was sent, once its real usage is known.
func (c *Client) adjustTokens(t *target, a admission, delta int) {
	if delta == 0 || (!a.multi && t.quota.TokensPerMinute == 0 && t.foundTPM.Load() == 0) {
		return // nothing paces tokens
	}
	ctx := context.Background()
	if a.multi {
		if err := c.clientPacer.Adjust(ctx, c.quota, 0, delta); err != nil {
			c.pacerFailed(ctx, err)
		}
		if delta < 0 {
			c.clientWaiters.queue.Wake()
		}
	}
	if err := t.pacer.Adjust(ctx, t.quota, 0, delta); err != nil {
		c.pacerFailed(ctx, err)
	}
	if delta < 0 {
		t.waiters.queue.Wake()
	}
}

// coolTarget pauses t for d from now, for every request and (through a
// shared pacer) every process. It reports whether the pause extended the
// target's cooldown.
func (c *Client) coolTarget(ctx context.Context, t *target, now, d time.Duration) bool {
	if d <= 0 || !t.cool(now, d) {
		return false
	}
	if err := c.pacerOf(t).Cool(ctx, d); err != nil {
		c.pacerFailed(ctx, err)
	}
	return true
}

// pacerFailed logs a pacer's failure, at warning level once per client.
func (c *Client) pacerFailed(ctx context.Context, err error) {
	level := slog.LevelDebug
	if c.pacerWarned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	c.logger().LogAttrs(ctx, level, "llm: pacer failed", slog.String("error", err.Error()))
}

func limitKindOf(r pacing.Reason) limitKind {
	switch r {
	case pacing.Tokens:
		return limitTPM
	case pacing.Cooldown:
		return limitCooldown
	}
	return limitRPM
}

// acquire takes a concurrency slot of the target (when it has its own
// limit) and of the client, in that order.
func (c *Client) acquire(ctx context.Context, t *target) error {
	if t.sem != nil {
		// A job queued for its model's slot holds none of the client's: a
		// batch may start another job, for another model, meanwhile.
		if err := c.take(ctx, t.sem, true); err != nil {
			return err
		}
	}
	if err := c.take(ctx, c.sem, false); err != nil {
		if t.sem != nil {
			<-t.sem
		}
		return err
	}
	return nil
}

// take takes a slot of sem, waiting for one if need be; lend tells a batch
// that the wait leaves a client slot free (see waiting).
func (c *Client) take(ctx context.Context, sem chan struct{}, lend bool) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	if lend {
		defer waiting(ctx)()
	}
	start := time.Now()
	select {
	case sem <- struct{}{}:
		c.noteWait(ctx, limitConcurrency, time.Since(start))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) releaseSlots(t *target) {
	<-c.sem
	if t.sem != nil {
		<-t.sem
	}
}

// release ends an attempt admitted by admit.
func (c *Client) release(t *target) {
	c.releaseSlots(t)
	c.stats.inFlight.Add(-1)
}
