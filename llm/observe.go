package llm

import (
	"context"
	"time"

	"github.com/deluge-go/deluge/registry"
)

// An Observer watches a [Client]'s calls and their attempts, for tracing
// and metrics: package [github.com/deluge-go/deluge/telemetry] implements it
// with OpenTelemetry. Set it with [WithObserver]. A Client without one
// calls nothing and allocates nothing for it.
//
// A call is a [Client.Generate], a [Client.Stream], one prompt of a batch,
// or one embeddings request of [Client.Embed] or [Client.EmbedSeq]; an
// attempt is one request sent to a provider. A call refused before it is
// routed (a closed client, an invalid conversation, a canceled context) is
// not observed. Implementations must be safe for concurrent use: a batch
// runs many calls at once. An observer must not block, and must treat
// what it is handed as read-only.
type Observer interface {
	// StartCall is called when a call starts, once its first model is
	// picked. It returns the context the call continues under (ctx, or a
	// context derived from it, such as one carrying a span) and the
	// CallObserver that sees the rest of the call, nil to see no more of
	// it.
	StartCall(ctx context.Context, call *CallInfo) (context.Context, CallObserver)
}

// A CallObserver watches one call. Its methods are called by the goroutine
// running the call, in order: StartAttempt and the attempt's End for each
// attempt, Waited whenever the call is held back, and End once.
type CallObserver interface {
	// StartAttempt is called when an attempt has been admitted and is
	// about to be sent; ctx is the attempt's context (its timeout). It
	// returns the context to send it under (ctx or one derived from it)
	// and the attempt's observer, nil for none.
	StartAttempt(ctx context.Context, attempt *AttemptInfo) (context.Context, AttemptObserver)
	// Waited reports that the call waited d before an attempt, held back
	// by reason: "rpm", "tpm", "cooldown" (the model rests after a 429)
	// or "concurrency", as [Stats.Waited] counts it.
	Waited(reason string, d time.Duration)
	// End is called once, when the call is over.
	End(end *CallEnd)
}

// An AttemptObserver watches one attempt.
type AttemptObserver interface {
	// End is called once, when the attempt is over.
	End(end *AttemptEnd)
}

// Operations a [CallInfo] names, as the OpenTelemetry GenAI conventions
// spell them (gen_ai.operation.name).
const (
	OperationChat       = "chat"
	OperationEmbeddings = "embeddings"
)

// CallInfo describes a call as it starts.
type CallInfo struct {
	// Operation is [OperationChat] or [OperationEmbeddings].
	Operation string
	// Model is the model the call was first routed to (a retry may move
	// it to another: see [AttemptInfo.Model]).
	Model registry.Model
	// Request is a chat call's request (its messages and sampling); nil
	// for embeddings.
	Request *Request
	// Embed is an embeddings call's request; nil for chat.
	Embed *EmbedRequest
	// Stream reports a [Client.Stream].
	Stream bool
}

// AttemptInfo describes an attempt as it is sent.
type AttemptInfo struct {
	// Number counts the call's attempts from 1.
	Number int
	// Model is the model the attempt goes to.
	Model registry.Model
}

// AttemptEnd is the outcome of an attempt: exactly one of Response and Err
// is set.
type AttemptEnd struct {
	// Response is the reply, as the call will return it (priced, its
	// model and provider filled in).
	Response *Response
	// Err is the attempt's error, an [*Error] for a provider's failure.
	Err error
}

// CallEnd is the outcome of a call: exactly one of Response and Err is
// set.
type CallEnd struct {
	// Response is the reply of a call that succeeded; Err the error of one
	// that failed, an [*Error] for a provider's failure.
	Response *Response
	Err      error
	// Attempts counts the requests the call sent; Latency is the time from
	// the first dispatch to the outcome (see [Result]).
	Attempts int
	Latency  time.Duration
	// Cached reports a reply from the cache; Shared one shared with an
	// identical call in flight (WithCache). Neither sent anything.
	Cached bool
	Shared bool
}

// WithObserver makes o watch every call of the client and its attempts
// (see [Observer]); package telemetry's observer records them as
// OpenTelemetry spans and metrics. The default is none, at no cost.
func WithObserver(o Observer) ClientOption {
	return engineOption(func(opts *options) { opts.observer = o })
}

// observedKey is the context key of the CallObserver of the call the
// context belongs to, for the admission steps that report waits.
type observedKey struct{}

// observe starts observing the call, when the client has an observer: it
// returns the context the call continues under (still the batch's context
// in a batch, see withContext). op is the call's operation.
func (k *call) observe(ctx context.Context, op string) context.Context {
	o := k.c.opts.observer
	if o == nil {
		return ctx
	}
	info := &CallInfo{Operation: op, Model: k.t.model, Stream: k.sink != nil}
	if k.emb != nil {
		info.Embed = &k.emb.req
	} else {
		info.Request = k.req
	}
	octx, co := o.StartCall(ctx, info)
	if co == nil {
		return withContext(ctx, octx)
	}
	k.obs = co
	return withContext(ctx, context.WithValue(octx, observedKey{}, co))
}

// withContext returns next, the context a call continues under, in place
// of ctx: a batch's calls keep their batch's deadlines and workers.
func withContext(ctx, next context.Context) context.Context {
	if b, ok := ctx.(*batchContext); ok && next != ctx {
		return &batchContext{Context: next, deadlines: b.deadlines, pool: b.pool}
	}
	return next
}

// observed ends the call's observation.
func (k *call) observed(resp *Response, eff effort, err error) {
	if k.obs == nil {
		return
	}
	end := &CallEnd{Response: resp, Err: err, Attempts: eff.attempts, Latency: eff.latency}
	if resp != nil && resp.Cached {
		end.Cached = resp.Attempts == 0 && !k.shared
		end.Shared = k.shared
	}
	k.obs.End(end)
	k.obs = nil
}

// attemptStarted tells the call's observer that an attempt goes out under
// ctx, and returns the context to send it under.
func (k *call) attemptStarted(ctx context.Context) context.Context {
	if k.obs == nil {
		return ctx
	}
	actx, ao := k.obs.StartAttempt(ctx, &AttemptInfo{Number: k.sent, Model: k.t.model})
	k.att = ao
	return actx
}

// attemptDone ends the current attempt's observation.
func (k *call) attemptDone(resp *Response, err error) {
	if k.att == nil {
		return
	}
	if err != nil {
		resp = nil
	}
	k.att.End(&AttemptEnd{Response: resp, Err: err})
	k.att = nil
}

// noteWait counts a wait of kind k in the totals and reports it to the
// observer of the call ctx belongs to.
func (c *Client) noteWait(ctx context.Context, k limitKind, d time.Duration) {
	c.stats.waited(k, d)
	if c.opts.observer == nil || d <= 0 {
		return
	}
	if co, ok := ctx.Value(observedKey{}).(CallObserver); ok {
		co.Waited(limitNames[k], d)
	}
}
