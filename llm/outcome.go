package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/deluge-go/deluge/internal/backoff"
)

// succeeded completes the response of the attempt-th attempt, received at
// now: the target's health, accounting, reconciliation of the token
// estimate, the fields the engine owns, and the strict content filter.
func (k *call) succeeded(resp *Response, attempt int, now time.Duration) (*Response, error) {
	c, t := k.c, k.t
	t.enable()
	delta := reconcile(k.req, resp.Usage, k.cost)
	c.observeHeaders(context.Background(), t, resp.Header, k.adm, now, k.cost+delta)
	if !k.o.responseHeaders {
		resp.Header = nil // read; a batch need not keep a map per result
	}
	c.adjustTokens(t, k.adm, delta)
	t.accept(k.adm)
	c.maybeRaise(context.Background(), t, now)
	// Attempts counts HTTP requests: the engine's, plus the requests a
	// provider made itself when it failed over internally (Azure's
	// regions), which it reports as its own Attempts.
	resp.Attempts = attempt + max(resp.Attempts-1, 0)
	resp.Latency = now - k.dispatched
	k.replied = effort{attempts: resp.Attempts, latency: resp.Latency}
	if resp.Model == "" {
		resp.Model = t.model.ID
	}
	if resp.Provider == "" {
		resp.Provider = t.model.Provider
	}
	if t.model.Router && resp.RoutedModel == "" {
		resp.RoutedModel = resp.ServedModel // the model the router chose
	}
	if resp.Cost == 0 {
		resp.Cost = priceUsage(&t.model, resp.ServedModel, resp.Usage)
	}
	c.stats.addUsage(resp.Usage, resp.Cost)
	if resp.RoutedModel != "" {
		c.stats.routed.add(&t.model, resp)
	}
	if k.o.strictContentFilter && resp.FinishReason == FinishContentFilter {
		return nil, contentFiltered(resp)
	}
	return resp, nil
}

// contentFiltered is the error of a completion cut by the content filter,
// under WithStrictContentFilter.
func contentFiltered(resp *Response) *Error {
	return &Error{
		Code: CodeContentFiltered, Provider: resp.Provider, Model: resp.Model, RequestID: resp.RequestID,
		Message:       "the completion was stopped by the content filter (finish reason content_filter)",
		ContentFilter: resp.ContentFilter, Header: resp.Header,
	}
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

// failed updates the target's health after a failed attempt, sent at
// sentAt and answered at now, and decides the next step. final, when not
// nil, replaces the error (a 429 that is really an exhausted quota).
func (k *call) failed(ctx context.Context, e *Error, now, sentAt time.Duration) (next nextStep, final error) {
	c, t, o := k.c, k.t, &k.c.opts
	moveOr := func(otherwise nextStep) nextStep {
		if k.pinned == nil && c.hasAlternative(t) {
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
		if c.coolTarget(ctx, t, now, wait) {
			c.logger().LogAttrs(ctx, level, "llm: cooldown",
				slog.String("model", t.model.ID), slog.Duration("for", wait), slog.String("request_id", e.RequestID))
		}
		c.rateLimited(ctx, t, e, now, sentAt)
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

// classify returns err as an *Error, wrapping errors that providers did not
// classify: connection failures become CodeUnavailable (retryable),
// deadlines CodeTimeout, anything else CodeUnknown (not retried).
func classify(err error, t *target) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Code == CodeUnknown && isConnError(e.Err) {
			c := *e
			c.Code = CodeUnavailable
			return &c
		}
		return e
	}
	code := CodeUnknown
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = CodeTimeout
	case errors.Is(err, context.Canceled):
		code = CodeCanceled
	case isConnError(err):
		code = CodeUnavailable
	}
	return &Error{Code: code, Provider: t.model.Provider, Model: t.model.ID, Err: err}
}

// isConnError reports whether err is a network failure worth retrying: a
// reset or refused connection, a connection closed mid-response, a network
// timeout.
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// retryWait returns the wait before attempt n+1: exponential with full
// jitter (backoff.Jitter) between WithRetryBackoff's base and max.
func retryWait(o *options, n int) time.Duration {
	return backoff.Jitter(o.backoffBase, o.backoffMax, n)
}
