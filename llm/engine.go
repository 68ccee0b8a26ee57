package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/ratelimit"
)

// run executes one conversation: validation, routing, cache and
// deduplication, then the attempts. The caller records the outcome in the
// totals (once per call). The effort is what the call spent, success or
// not.
func (c *Client) run(ctx context.Context, o *options, conv *conversation.Conversation, pinned *target) (*Response, effort, error) {
	if c.closed.Load() {
		return nil, effort{}, ErrClosed
	}
	if ctx.Err() != nil {
		return nil, effort{}, canceledError(ctx, nil)
	}
	if err := conv.Validate(); err != nil {
		return nil, effort{}, &Error{Code: CodeInvalidRequest, Model: c.model.ID, Message: "invalid conversation: " + err.Error(), Err: err}
	}
	t, outages, err := c.pick(pinned, nil)
	if err != nil {
		return nil, effort{}, err
	}
	req := &Request{Model: t.model, Messages: conv.Messages(), Sampling: o.sampling}
	if o.cache != nil {
		return c.cachedRun(ctx, o, req, t, outages, pinned)
	}
	resp, _, eff, err := c.attempts(ctx, o, req, t, outages, pinned, nil)
	return resp, eff, err
}

// effort is what a call spent, whether it succeeded or not: the attempts
// sent to providers (plus, for a response, the failovers the provider made
// itself) and the wall time from the first dispatch to the outcome. A call
// that sent nothing spent nothing.
type effort struct {
	attempts int
	latency  time.Duration
}

// sendFunc makes one attempt. committed reports that part of the reply
// already reached the caller (a streamed chunk), after which an error is
// final: the attempt cannot be retried.
type sendFunc func(ctx context.Context, o *options, t *target, req *Request) (resp *Response, committed bool, err error)

// tokenCost estimates what a request counts against a tokens-per-minute
// quota: its prompt plus the completion it may produce.
func tokenCost(o *options, req *Request) int {
	out := req.MaxNewTokens
	if out == 0 {
		out = o.outputEstimate
	}
	return req.EstimateInputTokens() + out
}

// attempts sends req until it succeeds, fails for good or runs out of
// attempts, moving between targets as they cool down or drop out of
// rotation. It returns the target that served the response and what the
// call spent. send makes each attempt; nil means Generate.
func (c *Client) attempts(ctx context.Context, o *options, req *Request, t *target, outages int64, pinned *target, send sendFunc) (*Response, *target, effort, error) {
	cost := tokenCost(o, req)
	var (
		lastErr    error
		dispatched time.Duration // ratelimit.Now() of the first dispatch
		sent       int           // attempts sent
	)
	// spent is the effort of a call that ends without a response.
	spent := func() effort {
		if sent == 0 {
			return effort{}
		}
		return effort{attempts: sent, latency: ratelimit.Now() - dispatched}
	}
	repick := false
	for attempt := 1; ; attempt++ {
		if attempt > 1 || repick {
			next, n, err := c.pick(pinned, t)
			if err != nil {
				return nil, t, spent(), err
			}
			outages = n
			if next != t {
				if !repick {
					c.stats.failovers.Add(1)
					c.logger().LogAttrs(ctx, slog.LevelDebug, "llm: failover",
						slog.String("from", t.model.ID), slog.String("to", next.model.ID),
						slog.Int("attempt", attempt), slog.String("reason", string(CodeOf(lastErr))))
				}
				t = next
				r := *req
				r.Model = t.model
				req = &r
			}
			repick = false
		}
		if t.maxTokens > 0 && cost > t.maxTokens {
			return nil, t, spent(), &Error{
				Code: CodeInvalidRequest, Provider: t.model.Provider, Model: t.model.ID,
				Message: fmt.Sprintf("request needs about %d tokens (prompt plus max new tokens) but the tokens-per-minute limit is %d, so it can never be sent: shorten the prompt, lower WithMaxNewTokens or raise WithMaxTokensPerMinute", cost, t.maxTokens),
			}
		}
		sentAt, err := c.admit(ctx, t, cost, outages)
		if err == errOutOfRotation {
			// The target failed for good while this request queued: route
			// it again without counting an attempt.
			repick, attempt = true, attempt-1
			continue
		}
		if err != nil {
			return nil, t, spent(), canceledError(ctx, lastErr)
		}
		if dispatched == 0 {
			dispatched = sentAt
		}
		sent++
		if attempt > 1 {
			c.stats.retries.Add(1)
		}
		var (
			resp      *Response
			committed bool
		)
		if send == nil {
			resp, err = c.send(ctx, o, t, req)
		} else {
			resp, committed, err = send(ctx, o, t, req)
		}
		now := ratelimit.Now()
		if err == nil {
			c.release(t)
			out, served, err := c.succeeded(o, t, req, resp, cost, attempt, dispatched, now)
			// succeeded set resp's Attempts and Latency, also when it turns
			// the response into an error (the strict content filter).
			return out, served, effort{attempts: resp.Attempts, latency: resp.Latency}, err
		}
		lastErr = err
		if ctx.Err() != nil {
			c.release(t)
			return nil, t, spent(), canceledError(ctx, err)
		}
		// Update the target's health before freeing the slot, so requests
		// queued for it see the cooldown or the outage.
		e := classify(err, t)
		if len(e.Header) > 0 {
			c.observeHeaders(ctx, t, e.Header, now)
		}
		next, final := c.onFailure(ctx, o, t, e, now, sentAt, pinned)
		c.release(t)
		if final != nil {
			err = final
		}
		if next == stop || committed {
			return nil, t, spent(), err
		}
		if attempt >= o.maxAttempts {
			return nil, t, spent(), c.giveUp(ctx, t, attempt, err)
		}
		if next == failover {
			continue // another target is ready: no backoff
		}
		d := backoff(o, attempt)
		if e.Code != CodeRateLimited && e.RetryAfter > d {
			d = e.RetryAfter // a 429's retry-after is enforced by the cooldown
		}
		c.logger().LogAttrs(ctx, slog.LevelDebug, "llm: retry",
			slog.String("model", t.model.ID), slog.Int("attempt", attempt), slog.String("code", string(e.Code)),
			slog.Int("status", e.StatusCode), slog.Duration("backoff", d), slog.Duration("retry_after", e.RetryAfter))
		resume := waiting(ctx) // no slot held: let the batch start another job meanwhile
		serr := sleep(ctx, d)
		resume()
		if serr != nil {
			return nil, t, spent(), canceledError(ctx, lastErr)
		}
	}
}

// succeeded completes a response: accounting, reconciliation of the token
// estimate, the fields the engine owns, and the strict content filter.
func (c *Client) succeeded(o *options, t *target, req *Request, resp *Response, cost, attempt int, dispatched, now time.Duration) (*Response, *target, error) {
	t.enable()
	if len(resp.Header) > 0 {
		c.observeHeaders(context.Background(), t, resp.Header, now)
	}
	if delta := reconcile(req, resp.Usage, cost); delta != 0 {
		c.tpm.Adjust(delta)
		t.tpm.Adjust(delta)
	}
	resp.Attempts = attempt + max(resp.Attempts-1, 0)
	resp.Latency = now - dispatched
	if resp.Model == "" {
		resp.Model = t.model.ID
	}
	if resp.Provider == "" {
		resp.Provider = t.model.Provider
	}
	if resp.Cost == 0 {
		resp.Cost = resp.Usage.Cost(t.model)
	}
	c.stats.addUsage(resp.Usage, resp.Cost)
	if o.strictContentFilter && resp.FinishReason == FinishContentFilter {
		return nil, t, &Error{
			Code: CodeContentFiltered, Provider: resp.Provider, Model: resp.Model, RequestID: resp.RequestID,
			Message:       "the completion was stopped by the content filter (finish reason content_filter)",
			ContentFilter: resp.ContentFilter, Header: resp.Header,
		}
	}
	return resp, t, nil
}

// reconcile returns the correction to a request's token charge once its
// usage is known: the real cost minus the estimate charged before dispatch.
// The prompt counts as the server counted it. The completion counts as
// max new tokens when the request set it, because Azure's quota (and the
// emulator's) reserves max_tokens at admission and does not give back what
// the reply left unused; refunding it would overrun the server's quota.
// Without max new tokens the estimate is replaced by the real completion.
// Refunds let queued requests through sooner.
func reconcile(req *Request, u Usage, charged int) int {
	if u.InputTokens == 0 && u.OutputTokens == 0 {
		return 0 // the provider did not report usage: keep the estimate
	}
	out := u.OutputTokens
	if req.MaxNewTokens > 0 {
		out = max(out, req.MaxNewTokens)
	}
	return u.InputTokens + out - charged
}

// FinishContentFilter is the finish reason of a completion cut short by
// the provider's content filter.
const FinishContentFilter = "content_filter"

// What to do after a failed attempt.
type nextStep int

const (
	stop     nextStep = iota // return the error
	retry                    // back off, then try again
	failover                 // try another target at once
)

// onFailure updates the target's health after a failed attempt and decides
// the next step. final, when not nil, replaces the error (a 429 that is
// really an exhausted quota).
func (c *Client) onFailure(ctx context.Context, o *options, t *target, e *Error, now, sentAt time.Duration, pinned *target) (next nextStep, final error) {
	moveOr := func(otherwise nextStep) nextStep {
		if pinned == nil && c.hasAlternative(t) {
			return failover
		}
		return otherwise
	}
	switch e.Code {
	case CodeRateLimited:
		c.stats.rateLimited.Add(1)
		if e.RetryAfter > o.maxCooldown {
			// A daily quota, not a burst: resting the target longer than the
			// cap would stall the batch. Take it out and move on, or fail.
			q := quotaError(e)
			c.takeOut(ctx, t, now, e.RetryAfter, q, "quota exhausted")
			return moveOr(stop), q
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = o.backoffBase
		}
		// One cooldown at info level when it starts; 429s that extend it
		// (the requests already in flight) at debug, to keep logs readable
		// under a 429 storm.
		level := slog.LevelInfo
		if t.cooling(now) > 0 {
			level = slog.LevelDebug
		}
		if t.cool(now, wait) {
			c.logger().LogAttrs(ctx, level, "llm: cooldown",
				slog.String("model", t.model.ID), slog.Duration("for", wait), slog.String("request_id", e.RequestID))
		}
		if f, cut := t.slowDown(now, sentAt); cut {
			c.logger().LogAttrs(ctx, slog.LevelInfo, "llm: slowing down after 429",
				slog.String("model", t.model.ID), slog.Float64("rate_factor", f))
		}
		return moveOr(retry), nil
	case CodeQuotaExceeded:
		d := e.RetryAfter
		if d <= 0 {
			d = o.maxCooldown
		}
		c.takeOut(ctx, t, now, d, e, "quota exhausted")
		return moveOr(stop), nil
	case CodeAuthentication, CodePermissionDenied, CodeNotFound:
		c.takeOut(ctx, t, now, outOfRotation, e, "model taken out of rotation")
		return moveOr(stop), nil
	}
	if e.Code.Retryable() {
		return moveOr(retry), nil
	}
	return stop, nil
}

// takeOut removes t from rotation and reports it once per outage.
func (c *Client) takeOut(ctx context.Context, t *target, now, d time.Duration, e *Error, msg string) {
	if t.disable(now, d, e) {
		c.logger().LogAttrs(ctx, slog.LevelWarn, "llm: "+msg,
			slog.String("model", t.model.ID), slog.String("provider", t.model.Provider),
			slog.String("code", string(e.Code)), slog.Duration("for", d), slog.String("error", e.Error()))
	}
}

// quotaError turns a 429 whose retry-after exceeds the cooldown cap into
// the quota error it really is.
func quotaError(e *Error) *Error {
	q := *e
	q.Code = CodeQuotaExceeded
	q.Message = fmt.Sprintf("quota exhausted: the server asks to wait %v, longer than the cooldown cap (WithMaxCooldown); %s",
		e.RetryAfter.Round(time.Second), e.Message)
	return &q
}

// giveUp logs and wraps the last error after the final attempt.
func (c *Client) giveUp(ctx context.Context, t *target, attempts int, err error) error {
	c.logger().LogAttrs(ctx, slog.LevelInfo, "llm: giving up",
		slog.String("model", t.model.ID), slog.Int("attempts", attempts), slog.String("code", string(CodeOf(err))), slog.String("error", err.Error()))
	return fmt.Errorf("llm: giving up after %d attempts: %w", attempts, err)
}

// send makes one attempt under the per-attempt timeout (see
// attemptContext: a batch's attempts share their deadlines).
func (c *Client) send(ctx context.Context, o *options, t *target, req *Request) (*Response, error) {
	p, err := t.provider()
	if err != nil {
		return nil, err
	}
	c.stats.requests.Add(1)
	actx, cancel := attemptContext(ctx, o.requestTimeout)
	resp, err := p.Generate(actx, req)
	timedOut := err != nil && ctx.Err() == nil && actx.Err() != nil
	cancel()
	switch {
	case timedOut && CodeOf(err) != CodeTimeout:
		return nil, &Error{Code: CodeTimeout, Provider: t.model.Provider, Model: t.model.ID,
			Message: fmt.Sprintf("no reply within %v (WithRequestTimeout)", o.requestTimeout), Err: err}
	case err == nil && resp == nil:
		return nil, &Error{Code: CodeUnknown, Provider: t.model.Provider, Model: t.model.ID, Message: "provider returned neither a response nor an error"}
	}
	return resp, err
}

// errOutOfRotation is admit's report that the target was taken out of
// rotation while the request waited for it.
var errOutOfRotation = errors.New("llm: target out of rotation")

// admit waits until t may take one more request of cost tokens: the
// target's cooldown, then rate capacity (client and target), then a
// concurrency slot. It returns the admission time. outages is the target's
// outage count when it was picked: if it changed, the target failed for
// good meanwhile and admit returns errOutOfRotation.
func (c *Client) admit(ctx context.Context, t *target, cost int, outages int64) (time.Duration, error) {
	for {
		if err := c.waitCooldown(ctx, t); err != nil {
			return 0, err
		}
		t.refreshRate()
		if err := c.waitRate(ctx, t, cost); err != nil {
			return 0, err
		}
		if err := c.acquire(ctx, t); err != nil {
			c.refund(t, cost)
			return 0, err
		}
		if t.outages.Load() != outages {
			c.releaseSlots(t)
			c.refund(t, cost)
			return 0, errOutOfRotation
		}
		now := ratelimit.Now()
		if t.cooling(now) == 0 {
			c.stats.inFlight.Add(1)
			return now, nil
		}
		// A 429 arrived while this request queued: give the capacity back
		// and wait out the cooldown.
		c.releaseSlots(t)
		c.refund(t, cost)
	}
}

func (c *Client) waitCooldown(ctx context.Context, t *target) error {
	for {
		d := t.cooling(ratelimit.Now())
		if d <= 0 {
			return nil
		}
		c.stats.waited(limitCooldown, d)
		resume := waiting(ctx)
		err := sleep(ctx, d)
		resume()
		if err != nil {
			return err
		}
	}
}

func (c *Client) waitRate(ctx context.Context, t *target, cost int) error {
	d, err := c.rpm.Wait(ctx, 1)
	c.stats.waited(limitRPM, d)
	if err != nil {
		return err
	}
	if d, err = c.tpm.Wait(ctx, cost); err != nil {
		c.rpm.Adjust(-1)
		return err
	}
	c.stats.waited(limitTPM, d)
	if d, err = t.rpm.Wait(ctx, 1); err != nil {
		c.rpm.Adjust(-1)
		c.tpm.Adjust(-cost)
		return err
	}
	c.stats.waited(limitRPM, d)
	if d, err = t.tpm.Wait(ctx, cost); err != nil {
		c.rpm.Adjust(-1)
		c.tpm.Adjust(-cost)
		t.rpm.Adjust(-1)
		return err
	}
	c.stats.waited(limitTPM, d)
	return nil
}

// refund returns the rate capacity of a request that was not sent.
func (c *Client) refund(t *target, cost int) {
	c.rpm.Adjust(-1)
	c.tpm.Adjust(-cost)
	t.rpm.Adjust(-1)
	t.tpm.Adjust(-cost)
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
		c.stats.waited(limitConcurrency, time.Since(start))
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

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
