package llm

import (
	"context"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/ratelimit"
)

// A call is one conversation on its way through the engine: a Generate, a
// Stream, or one job of a batch. It carries what the steps of the request
// flow share (see docs/architecture.md, "How a request flows"), so that each
// step is a method of it rather than a function of many parameters. It
// lives on its caller's stack and is used by one goroutine.
type call struct {
	c *Client
	o *callOptions
	// req is what the provider is sent; it names the current target's
	// model.
	req *Request
	// t is the target of the current attempt, and outages its outage count
	// when it was picked (see admit).
	t       *target
	outages int64
	// pinned is a Job's model: the call is not routed and may not leave it.
	pinned *target
	// sink receives a Stream's chunks; nil for a Generate.
	sink *chunkSink
	// emb is the embeddings request of an Embed (embed.go); nil otherwise.
	emb *embedCall
	// cost is the request's token estimate (see tokenCost); adm the
	// admission of the current attempt.
	cost int
	adm  admission

	// What the call has spent: the attempts sent, and when the first was
	// dispatched (a ratelimit.Now() reading); once a reply arrived (even
	// one the strict content filter turns into an error), its effort.
	sent       int
	dispatched time.Duration
	replied    effort

	// obs and att watch the call and its current attempt (WithObserver;
	// nil without an observer: see observe.go). shared reports a reply
	// shared with an identical call in flight.
	obs    CallObserver
	att    AttemptObserver
	shared bool
}

// effort is what a call spent, whether it succeeded or not: the attempts
// sent to providers (plus, for a response, the failovers the provider made
// itself) and the wall time from the first dispatch to the outcome. A call
// that sent nothing spent nothing.
type effort struct {
	attempts int
	latency  time.Duration
}

// spent is the effort of a call that ends without a response.
func (k *call) spent() effort {
	if k.replied.attempts > 0 {
		return k.replied
	}
	if k.sent == 0 {
		return effort{}
	}
	return effort{attempts: k.sent, latency: ratelimit.Now() - k.dispatched}
}

// Generate sends conv and returns the model's reply, retrying, cooling down
// and failing over as configured. opts override the client's default
// [Option]s for this call.
func (c *Client) Generate(ctx context.Context, conv *conversation.Conversation, opts ...Option) (*Response, error) {
	o, err := c.callOptions(opts)
	if err != nil {
		return nil, err
	}
	k := call{c: c, o: o}
	resp, _, err := k.run(ctx, conv)
	c.stats.finish(err)
	return resp, err
}

// run takes a Generate or a job of a batch through the request flow:
// start, then the cache (with deduplication) or straight to the attempts.
// The caller records the outcome in the totals (once per call). The effort
// is what the call spent, success or not.
func (k *call) run(ctx context.Context, conv *conversation.Conversation) (*Response, effort, error) {
	if err := k.start(ctx, conv); err != nil {
		return nil, effort{}, err
	}
	ctx = k.observe(ctx, OperationChat)
	var (
		resp *Response
		eff  effort
		err  error
	)
	switch {
	case k.c.opts.cache != nil:
		resp, eff, err = k.cached(ctx)
	default:
		if resp, err = k.attempts(ctx); err != nil {
			eff = k.spent()
		} else {
			eff = effort{attempts: resp.Attempts, latency: resp.Latency}
		}
	}
	k.observed(resp, eff, err)
	return resp, eff, err
}

// start is the first step of every call: refuse it when the client is
// closed, the context done or the conversation invalid (nothing is sent),
// then route it to its first target and build the request.
func (k *call) start(ctx context.Context, conv *conversation.Conversation) error {
	c := k.c
	if c.closed.Load() {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return canceledError(ctx, nil)
	}
	if k.o.drained() {
		return drainedError(c.model.ID, nil)
	}
	if err := conv.Validate(); err != nil {
		return &Error{Code: CodeInvalidRequest, Model: c.model.ID, Message: "invalid conversation: " + err.Error(), Err: err}
	}
	t, outages, err := c.pick(k.pinned, nil)
	if err != nil {
		return err
	}
	k.t, k.outages = t, outages
	k.req = &Request{Model: t.model, Messages: conv.Messages(), Sampling: k.o.sampling}
	if err := c.checkCapabilities(ctx, &t.model, k.req.Messages); err != nil {
		return err
	}
	k.cost = tokenCost(&c.opts, k.req)
	return nil
}

// tokenCost estimates what a request counts against a tokens-per-minute
// quota: its prompt plus the completion it may produce.
func tokenCost(o *options, req *Request) int {
	out := req.MaxNewTokens
	if out == 0 {
		out = o.outputEstimate
	}
	return req.EstimateInputTokens() + out
}
