package llmtest

import (
	"context"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// ProviderName is the provider name the fake reports.
const ProviderName = "llmtest"

// ReplyFunc computes the fake's answer to a request. The call number n
// counts from 1 across the provider's lifetime.
type ReplyFunc func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error)

// Provider is a fake llm.Provider, llm.Streamer and llm.Embedder. It is safe for
// concurrent use. Configure it before first use.
type Provider struct {
	// Reply computes each answer; nil means Echo.
	Reply ReplyFunc
	// Latency delays each answer (honouring the context).
	Latency time.Duration
	// MaxRecorded bounds how many of the most recent requests the fake
	// keeps for Requests and LastRequest; 0 keeps them all, which a batch
	// of millions of prompts may not want.
	MaxRecorded int
	// EmbedReply computes the answer to an embeddings request (see
	// Embed); nil means EchoEmbed.
	EmbedReply EmbedFunc

	calls    atomic.Int64
	inFlight atomic.Int64
	maxSeen  atomic.Int64

	mu       sync.Mutex
	requests []llm.Request
}

// New returns a fake that echoes; reply, if given, replaces the echo.
func New(reply ...ReplyFunc) *Provider {
	p := &Provider{}
	if len(reply) > 0 {
		p.Reply = reply[0]
	}
	return p
}

// Generate answers req after Latency.
func (p *Provider) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	n := p.arrive()
	defer p.inFlight.Add(-1)
	p.record(req)
	if err := p.wait(ctx, req); err != nil {
		return nil, err
	}
	reply := p.Reply
	if reply == nil {
		reply = Echo
	}
	resp, err := reply(ctx, req, n)
	if err != nil {
		return nil, err
	}
	if resp.Model == "" {
		resp.Model = req.Model.ID
	}
	if resp.Provider == "" {
		resp.Provider = ProviderName
	}
	return resp, nil
}

// arrive counts a call in Calls and MaxInFlight and returns its number,
// from 1; the caller ends it with p.inFlight.Add(-1).
func (p *Provider) arrive() int {
	n := int(p.calls.Add(1))
	cur := p.inFlight.Add(1)
	for {
		seen := p.maxSeen.Load()
		if cur <= seen || p.maxSeen.CompareAndSwap(seen, cur) {
			return n
		}
	}
}

// wait waits Latency; it returns ContextError if ctx ends first, or has.
func (p *Provider) wait(ctx context.Context, req *llm.Request) error {
	if p.Latency > 0 {
		t := time.NewTimer(p.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return ContextError(req, ctx.Err())
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return ContextError(req, err)
	}
	return nil
}

// Stream answers like Generate, split into one chunk per word; the first
// chunk carries the reply's metadata (served model, request ID, region,
// prompt filter, headers), the last the finish reason, tool calls, usage
// and the reply's Cost (so a Reply that sets Cost acts as a provider
// pricing its own calls).
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[*llm.Chunk, error] {
	return func(yield func(*llm.Chunk, error) bool) {
		resp, err := p.Generate(ctx, req)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, c := range Chunks(resp) {
			if err := ctx.Err(); err != nil {
				yield(nil, ContextError(req, err))
				return
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}

// Chunks splits a response into stream chunks, one per word, the way the
// fake streams it.
func Chunks(resp *llm.Response) []*llm.Chunk {
	var chunks []*llm.Chunk
	text := resp.Completion
	for text != "" {
		i := strings.IndexByte(text[1:], ' ')
		if i < 0 {
			i = len(text) - 1
		}
		chunks = append(chunks, &llm.Chunk{Text: text[:i+1]})
		text = text[i+1:]
	}
	u := resp.Usage
	last := &llm.Chunk{
		FinishReason:  resp.FinishReason,
		ToolCalls:     resp.Message.ToolCalls(),
		Usage:         &u,
		Cost:          resp.Cost,
		ContentFilter: resp.ContentFilter,
	}
	chunks = append(chunks, last)
	chunks[0].ServedModel = resp.ServedModel
	chunks[0].RequestID = resp.RequestID
	chunks[0].Region = resp.Region
	chunks[0].PromptFilter = resp.PromptFilter
	chunks[0].Header = resp.Header
	return chunks
}

func (p *Provider) record(req *llm.Request) {
	cp := req.Clone() // the caller may reuse its request
	p.mu.Lock()
	p.requests = append(p.requests, *cp)
	if n := p.MaxRecorded; n > 0 && len(p.requests) > 2*n {
		// Trim in bulk so that recording stays amortised O(1).
		p.requests = append(p.requests[:0], p.requests[len(p.requests)-n:]...)
	}
	p.mu.Unlock()
}

// Calls returns how many calls the fake has received.
func (p *Provider) Calls() int { return int(p.calls.Load()) }

// MaxInFlight returns the largest number of concurrent calls seen.
func (p *Provider) MaxInFlight() int { return int(p.maxSeen.Load()) }

// Requests returns a copy of every request received (the last MaxRecorded
// with a bound), in arrival order.
func (p *Provider) Requests() []llm.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := p.requests
	if n := p.MaxRecorded; n > 0 && len(rs) > n {
		rs = rs[len(rs)-n:]
	}
	return append([]llm.Request(nil), rs...)
}

// LastRequest returns the most recent request, or nil.
func (p *Provider) LastRequest() *llm.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.requests) == 0 {
		return nil
	}
	r := p.requests[len(p.requests)-1]
	return &r
}

// Echo is the default reply: "echo: " plus the last user message's text,
// finish reason "stop", input tokens from the request's estimate and one
// output token per word.
func Echo(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
	return TextResponse(req, "echo: "+LastUserText(req)), nil
}

// TextResponse builds a successful response with the given completion.
func TextResponse(req *llm.Request, text string) *llm.Response {
	return &llm.Response{
		Model:        req.Model.ID,
		Provider:     ProviderName,
		Completion:   text,
		Message:      conversation.Message{Role: conversation.RoleAssistant, Parts: []conversation.Part{conversation.Text(text)}},
		FinishReason: "stop",
		Usage: llm.Usage{
			InputTokens:  req.EstimateInputTokens(),
			OutputTokens: len(strings.Fields(text)),
		},
	}
}

// LastUserText returns the text of the last user message of req.
func LastUserText(req *llm.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == conversation.RoleUser {
			return req.Messages[i].Text()
		}
	}
	return ""
}

// Error returns an *llm.Error as a provider would for an HTTP failure.
func Error(req *llm.Request, code llm.Code, status int, retryAfter time.Duration) *llm.Error {
	return &llm.Error{
		Code:       code,
		Provider:   ProviderName,
		Model:      req.Model.ID,
		StatusCode: status,
		RetryAfter: retryAfter,
		Message:    "llmtest: scripted " + string(code) + " error",
	}
}

// ContextError wraps a context error the way real providers do:
// CodeCanceled for cancellation, CodeTimeout for a deadline.
func ContextError(req *llm.Request, err error) *llm.Error {
	code := llm.CodeCanceled
	if err == context.DeadlineExceeded {
		code = llm.CodeTimeout
	}
	return &llm.Error{Code: code, Provider: ProviderName, Model: req.Model.ID, Err: err}
}

// FailFirst returns a ReplyFunc that fails the first n calls with the error
// mk builds, then echoes.
func FailFirst(n int, mk func(req *llm.Request) error) ReplyFunc {
	return func(ctx context.Context, req *llm.Request, call int) (*llm.Response, error) {
		if call <= n {
			return nil, mk(req)
		}
		return Echo(ctx, req, call)
	}
}

// GenerateOnly hides the fake's Stream method, for testing the Client's
// fallback for providers that cannot stream.
func GenerateOnly(p llm.Provider) llm.Provider {
	return llm.ProviderFunc(p.Generate)
}
