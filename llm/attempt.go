package llm

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/deluge-go/deluge/internal/backoff"
	"github.com/deluge-go/deluge/internal/ratelimit"
)

// attempts sends the call's request until it succeeds, fails for good or
// runs out of attempts, moving between targets as they cool down or drop
// out of rotation. On return k.t is the target that served the response
// (or failed last), and k's effort fields say what the call spent.
func (k *call) attempts(ctx context.Context) (*Response, error) {
	c := k.c
	var lastErr error
	repick := false
	// The waits before a send also end when the call is drained.
	wctx, stopWaits := k.waitContext(ctx)
	defer stopWaits()
	for attempt := 1; ; attempt++ {
		if attempt > 1 || repick {
			if err := k.reroute(ctx, attempt, repick, lastErr); err != nil {
				return nil, err
			}
			repick = false
		}
		t := k.t
		if t.maxTokens > 0 && k.cost > t.maxTokens {
			return nil, &Error{
				Code: CodeInvalidRequest, Provider: t.model.Provider, Model: t.model.ID,
				Message: fmt.Sprintf("request needs about %d tokens (prompt plus max new tokens) but the tokens-per-minute limit is %d, so it can never be sent: shorten the prompt, lower WithMaxNewTokens or raise WithMaxTokensPerMinute", k.cost, t.maxTokens),
			}
		}
		if k.o.drained() {
			return nil, drainedError(t.model.ID, lastErr)
		}
		adm, err := c.admit(wctx, t, k.cost, k.outages)
		if err == errOutOfRotation {
			// The target failed for good while this request queued: route
			// it again without counting an attempt.
			repick, attempt = true, attempt-1
			continue
		}
		if err != nil {
			if ctx.Err() == nil && k.o.drained() {
				return nil, drainedError(t.model.ID, lastErr)
			}
			return nil, canceledError(ctx, lastErr)
		}
		if k.o.drained() {
			// Drained while admitted: give the capacity back, send nothing.
			c.release(t)
			c.refund(t, adm)
			return nil, drainedError(t.model.ID, lastErr)
		}
		if k.dispatched == 0 {
			k.dispatched = adm.sentAt
		}
		k.adm = adm
		k.sent++
		if attempt > 1 {
			c.stats.retries.Add(1)
		}
		var (
			resp      *Response
			committed bool
		)
		switch {
		case k.emb != nil:
			resp, err = k.sendEmbed(ctx)
		case k.sink == nil:
			resp, err = k.send(ctx)
		default:
			resp, committed, err = k.sendStream(ctx)
		}
		now := ratelimit.Now()
		if err == nil {
			c.release(t)
			out, err := k.succeeded(resp, attempt, now)
			k.attemptDone(resp, err)
			return out, err
		}
		lastErr = err
		if ctx.Err() != nil {
			c.release(t)
			k.attemptDone(nil, err)
			return nil, canceledError(ctx, err)
		}
		// Update the target's health before freeing the slot, so requests
		// queued for it see the cooldown or the outage.
		e := classify(err, t)
		k.attemptDone(nil, e)
		c.observeHeaders(ctx, t, e.Header, adm, now, k.cost)
		next, final := k.failed(ctx, e, now, adm.sentAt)
		c.release(t)
		if final != nil {
			err = final
		}
		if next == stop || committed {
			return nil, err
		}
		if k.o.drained() {
			return nil, drainedError(t.model.ID, err) // no retry once drained
		}
		if attempt >= c.opts.maxAttempts {
			return nil, c.giveUp(ctx, t, attempt, err)
		}
		if next == failover {
			continue // another target is ready: no backoff
		}
		d := retryWait(&c.opts, attempt)
		switch {
		case e.Code == CodeRateLimited && !t.quota.IsZero():
			// The cooldown holds the retry until the retry-after has
			// passed, and the pace spreads it among the other requests:
			// no backoff on top.
			d = 0
		case e.Code != CodeRateLimited && e.RetryAfter > d:
			d = e.RetryAfter // a 429's retry-after is enforced by the cooldown
		}
		c.logger().LogAttrs(ctx, slog.LevelDebug, "llm: retry",
			slog.String("model", t.model.ID), slog.Int("attempt", attempt), slog.String("code", string(e.Code)),
			slog.Int("status", e.StatusCode), slog.Duration("backoff", d), slog.Duration("retry_after", e.RetryAfter))
		resume := waiting(ctx) // no slot held: let the batch start another job meanwhile
		serr := backoff.Sleep(wctx, d)
		resume()
		if serr != nil {
			if ctx.Err() == nil && k.o.drained() {
				return nil, drainedError(t.model.ID, lastErr)
			}
			return nil, canceledError(ctx, lastErr)
		}
	}
}

// reroute picks the target of a retry (or of a request whose target went
// out of rotation while it queued: repick), avoiding the one that just
// failed when there is a choice, and points the request at its model.
func (k *call) reroute(ctx context.Context, attempt int, repick bool, lastErr error) error {
	c := k.c
	next, outages, err := c.pick(k.pinned, k.t)
	if err != nil {
		return err
	}
	k.outages = outages
	if next == k.t {
		return nil
	}
	if !repick {
		c.stats.failovers.Add(1)
		c.logger().LogAttrs(ctx, slog.LevelDebug, "llm: failover",
			slog.String("from", k.t.model.ID), slog.String("to", next.model.ID),
			slog.Int("attempt", attempt), slog.String("reason", string(CodeOf(lastErr))))
	}
	if err := c.checkCapabilities(ctx, &next.model, k.req.Messages); err != nil {
		return err
	}
	k.t = next
	k.req = k.req.withModel(next.model)
	return nil
}

// send makes one attempt with the provider's Generate, under the
// per-attempt timeout (see attemptContext: a batch's attempts share their
// deadlines).
func (k *call) send(ctx context.Context) (*Response, error) {
	t := k.t
	p, err := t.provider()
	if err != nil {
		return nil, err
	}
	k.c.stats.requests.Add(1)
	timeout := k.c.opts.requestTimeout
	actx, cancel := attemptContext(ctx, timeout)
	actx = k.attemptStarted(actx)
	resp, err := p.Generate(actx, k.req)
	timedOut := err != nil && ctx.Err() == nil && actx.Err() != nil
	cancel()
	switch {
	case timedOut && CodeOf(err) != CodeTimeout:
		return nil, &Error{Code: CodeTimeout, Provider: t.model.Provider, Model: t.model.ID,
			Message: fmt.Sprintf("no reply within %v (WithRequestTimeout)", timeout), Err: err}
	case err == nil && resp == nil:
		return nil, &Error{Code: CodeUnknown, Provider: t.model.Provider, Model: t.model.ID, Message: "provider returned neither a response nor an error"}
	case err == nil && pending(resp):
		return k.await(ctx, p, resp) // a background request (background.go)
	}
	return resp, err
}

// attemptContext returns the context of one attempt, bounded by the
// request timeout, and the function to call when the attempt is over.
func attemptContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if b, ok := ctx.(*batchContext); ok {
		if b.deadlines.Timeout() == timeout {
			if actx := b.deadlines.Get(); actx != nil {
				return actx, func() {}
			}
		}
		ctx = b.Context
	}
	// The caller's deadline comes first: its context already bounds the
	// attempt, and expiring it is the caller's timeout, not the attempt's.
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// canceledError is the error of a call stopped by its context: cause when
// it already says so, else a CodeCanceled (or CodeTimeout, for a deadline)
// *Error wrapping the context's error.
func canceledError(ctx context.Context, cause error) error {
	if cause != nil {
		switch CodeOf(cause) {
		case CodeCanceled, CodeTimeout:
			return cause
		}
	}
	err := ctx.Err()
	if err == nil {
		err = context.Canceled
	}
	e := &Error{Code: CodeOf(err), Message: "canceled before completion: " + err.Error(), Err: err}
	if cause != nil {
		e.Message += " (last error: " + cause.Error() + ")"
	}
	return e
}
