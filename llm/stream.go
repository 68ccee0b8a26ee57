package llm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/deluge-go/deluge/conversation"
)

// errFirstChunkTimeout is the cancellation cause of a stream attempt that
// produced nothing within the request timeout; errIdleTimeout of one that
// went silent for the stream idle timeout after a chunk.
var (
	errFirstChunkTimeout = errors.New("llm: no stream chunk within the request timeout")
	errIdleTimeout       = errors.New("llm: no stream chunk within the stream idle timeout")
)

// Stream sends conv and yields the reply as it is generated. It uses the
// provider's [Streamer] when it has one and otherwise yields the whole
// reply as one chunk. The client's limits apply as for [Client.Generate];
// failed attempts are retried only until the first chunk has been yielded,
// after which an error ends the stream. [WithRequestTimeout] bounds the
// wait for the first chunk, [WithStreamIdleTimeout] the silence between
// two chunks (both end the stream with [CodeTimeout]). An error is
// yielded at most once, as the last
// element. Usage and cost come from the stream's usage chunk and count in
// [Client.Stats]: the cost is the provider's [Chunk.Cost] when it set one
// (Azure prices by deployment type), else the usage at the model's catalog
// prices, and the chunk yielded with Usage carries it in Cost.
func (c *Client) Stream(ctx context.Context, conv *conversation.Conversation, opts ...Option) iter.Seq2[*Chunk, error] {
	return func(yield func(*Chunk, error) bool) {
		sink := &chunkSink{yield: yield}
		o, err := c.callOptions(opts)
		if err == nil {
			k := call{c: c, o: o, sink: sink}
			err = k.stream(ctx, conv)
		}
		c.stats.finish(err)
		if err != nil {
			sink.emit(nil, err)
		}
	}
}

// chunkSink forwards chunks to the caller's loop until it breaks out.
type chunkSink struct {
	yield   func(*Chunk, error) bool
	stopped bool
}

func (s *chunkSink) emit(ch *Chunk, err error) bool {
	if s.stopped {
		return false
	}
	if !s.yield(ch, err) {
		s.stopped = true
	}
	return !s.stopped
}

// stream takes a Stream through the request flow: start, a cache lookup,
// the attempts (each one streamed), and the cache again for a stream read
// to its end.
func (k *call) stream(ctx context.Context, conv *conversation.Conversation) error {
	if err := k.start(ctx, conv); err != nil {
		return err
	}
	ctx = k.observe(ctx, OperationChat)
	c, cache := k.c, k.c.opts.cache
	var key string
	if cache != nil {
		key = k.cacheKey(k.t)
		if resp, ok := c.cacheGet(ctx, key, time.Now(), &k.t.model); ok {
			k.sink.emit(chunkOf(resp), nil)
			k.observed(resp, effort{latency: resp.Latency}, nil)
			return nil
		}
	}
	picked := k.t
	resp, err := k.attempts(ctx)
	if k.obs != nil {
		eff := k.spent()
		if err == nil {
			eff = effort{attempts: resp.Attempts, latency: resp.Latency}
		}
		k.observed(resp, eff, err)
	}
	// A stream the caller left early is incomplete: never cache it.
	if err == nil && cache != nil && !k.sink.stopped && resp.FinishReason != FinishContentFilter {
		if k.t != picked {
			key = k.cacheKey(k.t) // the request now names the model that served it
		}
		c.cachePut(ctx, key, resp)
	}
	return err
}

// sendStream makes one streamed attempt, yielding chunks to the call's
// sink, and returns the reply assembled from them. committed reports that
// a chunk reached the caller, after which the attempt cannot be retried.
func (k *call) sendStream(ctx context.Context) (resp *Response, committed bool, err error) {
	t, sink := k.t, k.sink
	p, err := t.provider()
	if err != nil {
		return nil, false, err
	}
	s, ok := p.(Streamer)
	if !ok {
		resp, err := k.send(ctx)
		if err != nil {
			return nil, false, err
		}
		if resp.Cost == 0 {
			resp.Cost = priceUsage(&t.model, resp.ServedModel, resp.Usage) // as succeeded will, so the chunk carries it
		}
		sink.emit(chunkOf(resp), nil)
		return resp, true, nil
	}
	k.c.stats.requests.Add(1)
	timeout, idle := k.c.opts.requestTimeout, k.c.opts.streamIdle
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	actx = k.attemptStarted(actx)
	// The first chunk's deadline, then the idle bound, re-armed at each
	// element. A timer that fires cancels the attempt with the cause that
	// says which (the first cause given to a context is the one kept).
	timer := time.AfterFunc(timeout, func() { cancel(errFirstChunkTimeout) })
	defer func() { timer.Stop() }()
	rearmed := false

	var acc assembler
	keepHeaders := k.o.responseHeaders // not k: the loop body is a closure, which would make k escape
	for chunk, err := range s.Stream(actx, k.req) {
		// The clock stops while the engine and the caller handle the
		// element: only the server's silence counts.
		fired := !timer.Stop()
		if err != nil {
			if ctx.Err() == nil && CodeOf(err) != CodeTimeout {
				switch c := context.Cause(actx); {
				case errors.Is(c, errFirstChunkTimeout):
					err = &Error{Code: CodeTimeout, Provider: t.model.Provider, Model: t.model.ID,
						Message: fmt.Sprintf("no stream chunk within %v (WithRequestTimeout)", timeout), Err: err}
				case errors.Is(c, errIdleTimeout):
					err = &Error{Code: CodeTimeout, Provider: t.model.Provider, Model: t.model.ID,
						Message: fmt.Sprintf("the stream stalled: no chunk for %v after the previous one (WithStreamIdleTimeout)", idle), Err: err}
				}
			}
			return nil, committed, err
		}
		if fired {
			continue // the attempt is canceled already: the provider reports it next
		}
		if chunk != nil {
			if chunk.Usage != nil && chunk.Cost == 0 {
				// The provider left pricing to the engine: price the usage at
				// the model's catalog prices, on a copy (the chunk is the
				// provider's).
				cp := *chunk
				cp.Cost = priceUsage(&t.model, cmp.Or(acc.resp.ServedModel, chunk.ServedModel), *chunk.Usage)
				chunk = &cp
			}
			acc.add(chunk)
			if chunk.Header != nil && !keepHeaders {
				cp := *chunk // the provider's: the assembled reply keeps the headers for the engine to read
				cp.Header = nil
				chunk = &cp
			}
			committed = true
			if !sink.emit(chunk, nil) {
				break // the caller stopped reading; ranging no further releases the stream
			}
		}
		// From the first element on, the idle bound applies.
		if rearmed {
			timer.Reset(idle)
		} else {
			timer = time.AfterFunc(idle, func() { cancel(errIdleTimeout) })
			rearmed = true
		}
	}
	return acc.response(), committed, nil
}

// chunkOf turns a complete reply into the single chunk of a stream.
func chunkOf(resp *Response) *Chunk {
	u := resp.Usage
	return &Chunk{
		Text:             resp.Completion,
		Refusal:          resp.Refusal,
		ReasoningSummary: resp.ReasoningSummary,
		ToolCalls:        resp.Message.ToolCalls(),
		FinishReason:     resp.FinishReason,
		Usage:            &u,
		Cost:             resp.Cost,
		ContentFilter:    resp.ContentFilter,
		PromptFilter:     resp.PromptFilter,
		Logprobs:         resp.Logprobs,
		ServedModel:      resp.ServedModel,
		RequestID:        resp.RequestID,
		Region:           resp.Region,
		Header:           resp.Header,
		ResponseID:       resp.ResponseID,
		Status:           resp.Status,
		ServiceTier:      resp.ServiceTier,
	}
}

// assembler rebuilds a Response from stream chunks, for accounting and the
// cache.
type assembler struct {
	text, refusal, reasoning strings.Builder
	calls                    []conversation.ToolCall
	resp                     Response
}

func (a *assembler) add(ch *Chunk) {
	a.text.WriteString(ch.Text)
	a.refusal.WriteString(ch.Refusal)
	a.reasoning.WriteString(ch.ReasoningSummary)
	a.calls = append(a.calls, ch.ToolCalls...)
	r := &a.resp
	if ch.FinishReason != "" {
		r.FinishReason = ch.FinishReason
	}
	if ch.Usage != nil {
		r.Usage = *ch.Usage
		r.Cost = ch.Cost // the cost goes with the usage it prices
	} else if ch.Cost != 0 {
		r.Cost = ch.Cost
	}
	if ch.ContentFilter != nil {
		r.ContentFilter = ch.ContentFilter
	}
	if ch.PromptFilter != nil && r.PromptFilter == nil {
		r.PromptFilter = ch.PromptFilter
	}
	r.Logprobs = append(r.Logprobs, ch.Logprobs...)
	if r.ServedModel == "" {
		r.ServedModel = ch.ServedModel
	}
	if r.RequestID == "" {
		r.RequestID = ch.RequestID
	}
	if r.Region == "" {
		r.Region = ch.Region
	}
	if r.Header == nil {
		r.Header = ch.Header
	}
	if ch.ResponseID != "" {
		r.ResponseID = ch.ResponseID
	}
	if ch.Status != "" {
		r.Status = ch.Status
	}
	if ch.ServiceTier != "" {
		r.ServiceTier = ch.ServiceTier
	}
}

func (a *assembler) response() *Response {
	r := a.resp
	r.Completion = a.text.String()
	r.Refusal = a.refusal.String()
	r.ReasoningSummary = a.reasoning.String()
	parts := make([]conversation.Part, 0, 1+len(a.calls))
	if r.Completion != "" || len(a.calls) == 0 {
		parts = append(parts, conversation.Text(r.Completion))
	}
	for _, tc := range a.calls {
		parts = append(parts, conversation.Call(tc.ID, tc.Name, tc.Arguments))
	}
	r.Message = conversation.Message{Role: conversation.RoleAssistant, Parts: parts}
	return &r
}
