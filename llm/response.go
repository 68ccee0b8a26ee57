package llm

import (
	"net/http"
	"slices"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/registry"
)

// Response is a model's complete reply to one [Request], as
// [Provider.Generate] and [Client.Generate] return it.
type Response struct {
	// Model is the ID of the model that answered; Provider its provider;
	// Region the region that served it, when the provider has regions.
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Region   string `json:"region,omitempty"`
	// ServedModel is the model name the server reported (e.g. Azure's
	// underlying "gpt-4o-2024-11-20" behind a deployment).
	ServedModel string `json:"served_model,omitempty"`
	// RoutedModel is set when Model is a router ([registry.Model.Router],
	// such as Azure's model router): the model the router chose, as the
	// server named it (ServedModel, e.g. "gpt-4.1-nano-2025-04-14"). Cost
	// then prices the call at that model's prices plus the router's fee
	// (see [registry.Routed]), and [Stats.ByRoutedModel] counts it.
	RoutedModel string `json:"routed_model,omitempty"`

	// Completion is the reply's text; Message the full assistant message,
	// tool calls included.
	Completion string               `json:"completion"`
	Message    conversation.Message `json:"message"`
	// FinishReason is "stop", "length", "tool_calls" or "content_filter".
	FinishReason string `json:"finish_reason"`
	// Refusal is the model's explanation when it declines to answer (set
	// instead of, or beside, Completion).
	Refusal string `json:"refusal,omitempty"`
	// ReasoningSummary is the summary of the model's reasoning, when the
	// request asked for one ([WithReasoningSummary], Responses API) and
	// the model gave it.
	ReasoningSummary string `json:"reasoning_summary,omitempty"`

	// Usage is the tokens the call used, as the server reported them.
	Usage Usage `json:"usage"`
	// Cost is the USD price of the call: the provider's when it prices
	// calls itself (Azure's deployment types), else the usage at the
	// model's catalog prices (0 when served from cache).
	Cost float64 `json:"cost"`

	// ContentFilter holds the completion's content-filter annotations and
	// PromptFilter the prompt's, when the provider reports them (Azure).
	ContentFilter *ContentFilterResults  `json:"content_filter,omitempty"`
	PromptFilter  []ContentFilterResults `json:"prompt_filter,omitempty"`

	// Logprobs holds per-token log-probabilities when requested.
	Logprobs []TokenLogprob `json:"logprobs,omitempty"`

	// Attempts is the number of HTTP requests it took: the Client's
	// attempts (retries and failovers between models included) plus the
	// requests a provider sent itself when it failed over between its
	// endpoints within one attempt (a provider sets it then; 0 means one).
	// Latency is the wall time from dispatch to reply.
	Attempts int           `json:"attempts"`
	Latency  time.Duration `json:"latency"`
	// Cached reports that the response came from the cache.
	Cached bool `json:"cached,omitempty"`

	// RequestID is the server's request ID (apim-request-id / x-request-id),
	// the thing to quote to support.
	RequestID string `json:"request_id,omitempty"`
	// ResponseID is the server's ID of the response object (the Responses
	// API's "resp_…"): pass it to [WithPreviousResponse] to continue a
	// stored response. Status is that object's status ("completed",
	// "incomplete"; "queued" or "in_progress" for a background request
	// still running, which only a provider returns: the Client waits for
	// it). ServiceTier is the tier that served the request, when the
	// server reports one ("default", "flex", "priority", …).
	ResponseID  string `json:"response_id,omitempty"`
	Status      string `json:"status,omitempty"`
	ServiceTier string `json:"service_tier,omitempty"`
	// Header holds the final HTTP response's headers (rate-limit headers
	// included) as a provider returns them. A [Client] reads them, then
	// drops them unless the call asked for them with [WithResponseHeaders];
	// nil for responses not served over HTTP.
	Header http.Header `json:"-"`

	// Embedding is set only in the cache entries of [Client.Embed]: the
	// vector of one input (the cache stores Responses).
	Embedding Vector `json:"embedding,omitempty"`
}

// Clone returns a deep copy of r: its message, annotations,
// log-probabilities and headers are copied, not shared.
func (r *Response) Clone() *Response {
	if r == nil {
		return nil
	}
	c := *r
	c.Message = r.Message.Clone()
	c.ContentFilter = r.ContentFilter.Clone()
	if r.PromptFilter != nil {
		c.PromptFilter = make([]ContentFilterResults, len(r.PromptFilter))
		for i := range r.PromptFilter {
			c.PromptFilter[i] = *r.PromptFilter[i].Clone()
		}
	}
	if r.Logprobs != nil {
		c.Logprobs = make([]TokenLogprob, len(r.Logprobs))
		for i, lp := range r.Logprobs {
			lp.Bytes = slices.Clone(lp.Bytes)
			if lp.TopLogprobs != nil {
				top := make([]TopLogprob, len(lp.TopLogprobs))
				for j, t := range lp.TopLogprobs {
					t.Bytes = slices.Clone(t.Bytes)
					top[j] = t
				}
				lp.TopLogprobs = top
			}
			c.Logprobs[i] = lp
		}
	}
	c.Header = r.Header.Clone()
	c.Embedding = slices.Clone(r.Embedding)
	return &c
}

// Usage counts the tokens of a call.
type Usage struct {
	// InputTokens counts all prompt tokens, CachedInputTokens and
	// CacheWriteInputTokens included.
	InputTokens int `json:"input_tokens"`
	// OutputTokens counts all completion tokens, ReasoningTokens included.
	OutputTokens int `json:"output_tokens"`
	// CachedInputTokens counts prompt tokens read from the provider's
	// prompt cache (billed at the model's CachedInputCost).
	CachedInputTokens int `json:"cached_input_tokens,omitempty"`
	// CacheWriteInputTokens counts prompt tokens written to the prompt
	// cache, for providers that bill writes apart (Anthropic's
	// cache_creation_input_tokens, billed at the model's CacheWriteCost).
	CacheWriteInputTokens int `json:"cache_write_input_tokens,omitempty"`
	ReasoningTokens       int `json:"reasoning_tokens,omitempty"`
}

// Total returns input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Add returns the sum of two usages.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:           u.InputTokens + v.InputTokens,
		OutputTokens:          u.OutputTokens + v.OutputTokens,
		CachedInputTokens:     u.CachedInputTokens + v.CachedInputTokens,
		CacheWriteInputTokens: u.CacheWriteInputTokens + v.CacheWriteInputTokens,
		ReasoningTokens:       u.ReasoningTokens + v.ReasoningTokens,
	}
}

// Cost prices the usage at m's catalog prices: cache reads at
// [registry.Model.CachedInputCost], cache writes at [registry.Model.CacheWriteCost], the rest of the prompt at
// [registry.Model.InputCost] (see [registry.Model.CostWithCacheWrites]).
func (u Usage) Cost(m registry.Model) float64 {
	return m.CostWithCacheWrites(u.InputTokens, u.CachedInputTokens, u.CacheWriteInputTokens, u.OutputTokens)
}

// TokenLogprob is the log-probability of one generated token.
type TokenLogprob struct {
	Token   string  `json:"token"`           // the token's text
	Logprob float64 `json:"logprob"`         // its natural log-probability
	Bytes   []byte  `json:"bytes,omitempty"` // its UTF-8 bytes, when the server sends them
	// TopLogprobs holds the most likely alternatives at this position.
	TopLogprobs []TopLogprob `json:"top_logprobs,omitempty"`
}

// TopLogprob is one alternative token at a position.
type TopLogprob struct {
	Token   string  `json:"token"`           // the token's text
	Logprob float64 `json:"logprob"`         // its natural log-probability
	Bytes   []byte  `json:"bytes,omitempty"` // its UTF-8 bytes, when the server sends them
}

// Chunk is one piece of a streamed reply ([Streamer.Stream],
// [Client.Stream]).
type Chunk struct {
	// Text is the new text since the previous chunk (the delta).
	Text string
	// Refusal is the new part of a refusal since the previous chunk.
	Refusal string
	// ReasoningSummary is the new part of the reasoning summary since the
	// previous chunk (Responses API, [WithReasoningSummary]).
	ReasoningSummary string
	// ToolCalls holds complete tool calls; providers assemble the wire's
	// fragments and emit each call once, whole.
	ToolCalls []conversation.ToolCall
	// FinishReason is set on the chunk that ends the choice.
	FinishReason string
	// Usage is set on the chunk that carries the call's usage (usually the
	// last).
	Usage *Usage
	// Cost is the USD price of the call, on the chunk that carries Usage.
	// A provider that prices calls itself (Azure's deployment types) sets
	// it there, as it sets Response.Cost; 0 means "price it from the
	// model's catalog prices", which the Client does before yielding the
	// chunk. So a chunk the Client yields with Usage carries the call's
	// final cost: the figure that counts in Stats (0 for a cache hit).
	Cost float64
	// ContentFilter carries the completion's filter annotations for this
	// chunk; PromptFilter the prompt's (on the first chunk, with Azure).
	ContentFilter *ContentFilterResults
	PromptFilter  []ContentFilterResults
	// Logprobs for the tokens of this chunk, when requested.
	Logprobs []TokenLogprob

	// Response metadata, set on the first chunk a provider yields when
	// known: the served model name, request ID, region and HTTP headers
	// (which a [Client] passes on only with [WithResponseHeaders]).
	ServedModel string
	RequestID   string
	Region      string
	Header      http.Header
	// ResponseID, Status and ServiceTier are the Responses API's, as in
	// [Response]; a provider sets them on the chunk that carries Usage.
	ResponseID  string
	Status      string
	ServiceTier string
}

// Result is the outcome of one prompt in a batch ([Client.Process],
// [Client.ProcessSeq], [Client.ProcessJobs]): exactly one of Response and
// Err is set.
type Result struct {
	// Index is the prompt's position in the input.
	Index    int
	Response *Response
	Err      error

	// Attempts and Latency say what the prompt took, failed or not: for a
	// response they equal Response.Attempts and Response.Latency; for an
	// error, Attempts counts the attempts sent to providers (retries
	// included; a provider's own failovers, such as Azure's regions, are
	// only known for a response) and Latency is the wall time from the
	// first dispatch to the final error. Both are 0 when nothing was sent
	// (invalid input, canceled while queued, a model out of rotation); a
	// prompt that shared the outcome of an identical request in flight
	// (WithCache) has 0 attempts and the time it waited.
	Attempts int
	Latency  time.Duration
}
