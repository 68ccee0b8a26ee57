package llm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/deluge-go/deluge/conversation"
)

// errFirstChunkTimeout is the cancellation cause of a stream attempt that
// produced nothing within the request timeout.
var errFirstChunkTimeout = errors.New("llm: no stream chunk within the request timeout")

// Stream sends conv and yields the reply as it is generated. It uses the
// provider's Streamer when it has one and otherwise yields the whole reply
// as one chunk. The client's limits apply as for Generate; failed attempts
// are retried only until the first chunk has been yielded, after which an
// error ends the stream. WithRequestTimeout bounds the wait for the first
// chunk. An error is yielded at most once, as the last element. Usage and
// cost come from the stream's usage chunk and count in Stats: the cost is
// the provider's Chunk.Cost when it set one (Azure prices by deployment
// type), else the usage at the model's catalog prices, and the chunk
// yielded with Usage carries it in Cost.
func (c *Client) Stream(ctx context.Context, conv *conversation.Conversation, opts ...Option) iter.Seq2[*Chunk, error] {
	return func(yield func(*Chunk, error) bool) {
		sink := &chunkSink{yield: yield}
		o, err := c.callOptions(&c.opts, opts)
		if err == nil {
			err = c.stream(ctx, o, conv, sink)
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

func (c *Client) stream(ctx context.Context, o *options, conv *conversation.Conversation, sink *chunkSink) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return canceledError(ctx, nil)
	}
	if err := conv.Validate(); err != nil {
		return &Error{Code: CodeInvalidRequest, Model: c.model.ID, Message: "invalid conversation: " + err.Error(), Err: err}
	}
	t, outages, err := c.pick(nil, nil)
	if err != nil {
		return err
	}
	req := &Request{Model: t.model, Messages: conv.Messages(), Sampling: o.sampling}
	var key string
	if o.cache != nil {
		key = req.Fingerprint()
		if resp, ok := c.cacheGet(ctx, o, key, time.Now()); ok {
			sink.emit(chunkOf(resp), nil)
			return nil
		}
	}
	send := func(ctx context.Context, o *options, t *target, req *Request) (*Response, bool, error) {
		return c.streamAttempt(ctx, o, t, req, sink)
	}
	resp, served, _, err := c.attempts(ctx, o, req, t, outages, nil, send)
	// A stream the caller left early is incomplete: never cache it.
	if err == nil && o.cache != nil && !sink.stopped && resp.FinishReason != FinishContentFilter {
		if served != t {
			r := *req
			r.Model = served.model
			key = r.Fingerprint()
		}
		c.cachePut(ctx, o, key, resp)
	}
	return err
}

// streamAttempt makes one streamed attempt, yielding chunks through emit,
// and returns the reply assembled from them.
func (c *Client) streamAttempt(ctx context.Context, o *options, t *target, req *Request, sink *chunkSink) (*Response, bool, error) {
	p, err := t.provider()
	if err != nil {
		return nil, false, err
	}
	s, ok := p.(Streamer)
	if !ok {
		resp, err := c.send(ctx, o, t, req)
		if err != nil {
			return nil, false, err
		}
		if resp.Cost == 0 {
			resp.Cost = resp.Usage.Cost(t.model) // as succeeded will, so the chunk carries it
		}
		sink.emit(chunkOf(resp), nil)
		return resp, true, nil
	}
	c.stats.requests.Add(1)
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(o.requestTimeout, func() { cancel(errFirstChunkTimeout) })
	defer timer.Stop()

	var (
		acc       assembler
		committed bool
	)
	for chunk, err := range s.Stream(actx, req) {
		timer.Stop()
		if err != nil {
			if ctx.Err() == nil && errors.Is(context.Cause(actx), errFirstChunkTimeout) && CodeOf(err) != CodeTimeout {
				err = &Error{Code: CodeTimeout, Provider: t.model.Provider, Model: t.model.ID,
					Message: fmt.Sprintf("no stream chunk within %v (WithRequestTimeout)", o.requestTimeout), Err: err}
			}
			return nil, committed, err
		}
		if chunk == nil {
			continue
		}
		if chunk.Usage != nil && chunk.Cost == 0 {
			// The provider left pricing to the engine: price the usage at
			// the model's catalog prices, on a copy (the chunk is the
			// provider's).
			cp := *chunk
			cp.Cost = chunk.Usage.Cost(t.model)
			chunk = &cp
		}
		acc.add(chunk)
		committed = true
		if !sink.emit(chunk, nil) {
			break // the caller stopped reading; ranging no further releases the stream
		}
	}
	return acc.response(), committed, nil
}

// chunkOf turns a complete reply into the single chunk of a stream.
func chunkOf(resp *Response) *Chunk {
	u := resp.Usage
	return &Chunk{
		Text:          resp.Completion,
		Refusal:       resp.Refusal,
		ToolCalls:     resp.Message.ToolCalls(),
		FinishReason:  resp.FinishReason,
		Usage:         &u,
		Cost:          resp.Cost,
		ContentFilter: resp.ContentFilter,
		PromptFilter:  resp.PromptFilter,
		Logprobs:      resp.Logprobs,
		ServedModel:   resp.ServedModel,
		RequestID:     resp.RequestID,
		Region:        resp.Region,
		Header:        resp.Header,
	}
}

// assembler rebuilds a Response from stream chunks, for accounting and the
// cache.
type assembler struct {
	text, refusal strings.Builder
	calls         []conversation.ToolCall
	resp          Response
}

func (a *assembler) add(ch *Chunk) {
	a.text.WriteString(ch.Text)
	a.refusal.WriteString(ch.Refusal)
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
}

func (a *assembler) response() *Response {
	r := a.resp
	r.Completion = a.text.String()
	r.Refusal = a.refusal.String()
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
