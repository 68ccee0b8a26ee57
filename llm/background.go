package llm

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/deluge-go/deluge/internal/backoff"
)

// Poller is implemented by providers that can run a request in the
// background ([WithBackground]; the Responses API's background mode). The
// provider's Generate then returns at once a pending [Response]: its
// ResponseID set and its Status "queued" or "in_progress". The [Client]
// finds Poller by type assertion and polls until the response is done;
// a provider without it cannot serve [WithBackground].
//
// Poll fetches the response's current state (one request: GET
// responses/{id}) and returns it, pending or complete. A request that
// failed on the server's side (its status "failed" or "cancelled") is an
// [*Error] whose StatusCode is the poll's own (200): the Client returns it
// as the call's error, and retries the call when its code is retryable. An
// error of the poll itself (a 429, a 5xx, a broken connection) carries
// that status, and the Client polls again. Cancel asks the server to stop
// the response (POST responses/{id}/cancel); the Client calls it when the
// caller gives up. pending is the last state seen: providers read its
// ResponseID, and its Region when they have several endpoints.
type Poller interface {
	Poll(ctx context.Context, req *Request, pending *Response) (*Response, error)
	Cancel(ctx context.Context, req *Request, pending *Response) error
}

// Defaults of [WithBackgroundPolling].
const (
	DefaultBackgroundPoll    = time.Second
	DefaultMaxBackgroundPoll = 15 * time.Second
)

// maxPollFailures is how many polls in a row may fail (429, 5xx, no
// answer) before a background call gives up with the last error.
const maxPollFailures = 5

// cancelTimeout bounds the request that cancels a background response
// after the caller gave up.
const cancelTimeout = 10 * time.Second

// WithBackgroundPolling sets how often a background call ([WithBackground])
// is polled: first after first, then twice as long each time, up to max
// (defaults [DefaultBackgroundPoll] and [DefaultMaxBackgroundPoll]).
func WithBackgroundPolling(first, max time.Duration) ClientOption {
	return engineOption(func(o *options) {
		if first <= 0 || max < first {
			o.fail("WithBackgroundPolling(%v, %v): need 0 < first <= max", first, max)
			return
		}
		o.pollFirst, o.pollMax = first, max
	})
}

// pending reports whether a provider's response is a background request
// still running.
func pending(resp *Response) bool {
	return resp.Status == "queued" || resp.Status == "in_progress"
}

// await polls a background response until it is done, under the caller's
// context (each poll under the request timeout). A caller that gives up
// cancels the response on the server.
func (k *call) await(ctx context.Context, p Provider, resp *Response) (*Response, error) {
	c, t := k.c, k.t
	poller, ok := p.(Poller)
	if !ok {
		return nil, &Error{Code: CodeInvalidRequest, Provider: t.model.Provider, Model: t.model.ID, RequestID: resp.RequestID,
			Message: fmt.Sprintf("provider %s answered a background request but cannot poll it (it does not implement llm.Poller); leave out WithBackground", t.model.Provider)}
	}
	created := resp
	delay := c.opts.pollFirst
	failures := 0
	for pending(resp) {
		if err := backoff.Sleep(ctx, delay); err != nil {
			k.cancelBackground(ctx, poller, resp)
			return nil, canceledError(ctx, nil)
		}
		delay = min(2*delay, c.opts.pollMax)
		actx, cancel := attemptContext(ctx, c.opts.requestTimeout)
		next, err := poller.Poll(actx, k.req, resp)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				k.cancelBackground(ctx, poller, resp)
				return nil, canceledError(ctx, err)
			}
			e := classify(err, t)
			if e.StatusCode == http.StatusOK || !(e.Code.Retryable() || e.StatusCode == 0) || failures+1 >= maxPollFailures {
				return nil, err // the request failed, or polling does
			}
			failures++
			c.logger().LogAttrs(ctx, slog.LevelDebug, "llm: background poll failed; polling again",
				slog.String("model", t.model.ID), slog.String("response_id", resp.ResponseID), slog.String("error", err.Error()))
			continue
		}
		if next == nil {
			return nil, &Error{Code: CodeUnknown, Provider: t.model.Provider, Model: t.model.ID, Message: "provider's Poll returned neither a response nor an error"}
		}
		failures = 0
		resp = next
	}
	// The create request's failovers are what the call sent; polls are not
	// attempts.
	resp.Attempts = created.Attempts
	return resp, nil
}

// cancelBackground cancels a background response on the server after the
// caller gave up, on a context of its own.
func (k *call) cancelBackground(ctx context.Context, p Poller, resp *Response) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	if err := p.Cancel(cctx, k.req, resp); err != nil {
		k.c.logger().LogAttrs(ctx, slog.LevelWarn, "llm: canceling a background response failed; it may still run (and be billed)",
			slog.String("model", k.t.model.ID), slog.String("response_id", resp.ResponseID), slog.String("error", err.Error()))
	}
}
