package llm

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/deluge-go/deluge/pacing"
)

// An Option configures a call: a sampling setting ([WithTemperature],
// [WithMaxNewTokens], [WithTools], …) or another choice that may change from
// one call to the next ([WithStrictContentFilter], [WithProgressTotal]).
// Passed to [Client.Generate], [Client.Stream], [Client.Process],
// [Client.ProcessSeq], [Client.ProcessJobs] or [Job.Options], it applies to
// that call alone; passed to [NewClient], it is the default of every call,
// which a call's own options override.
type Option func(*callOptions)

// A ClientOption configures a [Client]: pass it to [NewClient]. The engine's
// settings (limits, retries, timeouts, routing, cache, logger, progress
// reporting) are ClientOptions only, so handing one to a call does not
// compile. Every [Option] is also a ClientOption, setting the default of
// every call.
type ClientOption interface {
	applyClient(*options)
}

// applyClient makes every Option a ClientOption: the client's default for
// every call.
func (opt Option) applyClient(o *options) {
	if opt != nil {
		opt(&o.call)
	}
}

// engineOption is the type of the options that configure the engine.
type engineOption func(*options)

func (opt engineOption) applyClient(o *options) { opt(o) }

// Defaults for the engine options.
const (
	DefaultMaxRequestsPerMinute = 1_000
	DefaultMaxTokensPerMinute   = 100_000
	DefaultMaxConcurrency       = 225
	DefaultMaxAttempts          = 5
	DefaultRequestTimeout       = 30 * time.Second
	// DefaultStreamIdleTimeout bounds the silence between two chunks of a
	// stream (see WithStreamIdleTimeout).
	DefaultStreamIdleTimeout = 60 * time.Second
	DefaultMaxCooldown       = 120 * time.Second
	// DefaultRetryBackoff and DefaultMaxRetryBackoff bound the exponential
	// backoff between attempts: attempt n waits a random time in
	// [0, min(DefaultMaxRetryBackoff, DefaultRetryBackoff·2^(n-1))).
	DefaultRetryBackoff    = 500 * time.Millisecond
	DefaultMaxRetryBackoff = 30 * time.Second
	// DefaultOutputTokenEstimate is the completion size assumed when pacing
	// a request without WithMaxNewTokens, until the real usage is known.
	DefaultOutputTokenEstimate = 256
)

// Limits are the rate limits of one target (the whole client, or one model or
// deployment). Zero fields mean "inherit" (for a model: the client's value);
// a negative field means "no limit".
type Limits struct {
	RequestsPerMinute int // requests sent per minute, paced (see [WithMaxRequestsPerMinute])
	TokensPerMinute   int // estimated tokens per minute, paced (see [WithMaxTokensPerMinute])
	MaxConcurrency    int // requests in flight at once
}

// options is a Client's configuration, fixed by NewClient.
type options struct {
	// call holds the defaults of every call (sampling options).
	call callOptions
	err  error

	limits         Limits
	modelLimits    map[string]Limits
	maxAttempts    int
	requestTimeout time.Duration
	streamIdle     time.Duration
	maxCooldown    time.Duration
	backoffBase    time.Duration
	backoffMax     time.Duration
	outputEstimate int

	modelWeights     map[string]float64
	provider         string
	providerInstance Provider

	progressFunc  func(ProgressInfo)
	progressEvery time.Duration

	// pollFirst and pollMax pace the polls of background calls.
	pollFirst, pollMax time.Duration

	cache    Cache
	logger   *slog.Logger
	limiter  pacing.Limiter
	observer Observer // WithObserver (observe.go)
}

// callOptions is what may differ from one call to the next: the client's
// defaults with the call's options applied. It holds only values and
// shared read-only references, so a call copies it.
type callOptions struct {
	err error

	sampling            Sampling
	strictContentFilter bool
	responseHeaders     bool
	progressTotal       int
	// dimensions is WithDimensions' (embeddings).
	dimensions int

	// drain, once closed, stops the call from sending anything new
	// (WithDrain).
	drain <-chan struct{}
}

func defaultOptions() options {
	return options{
		limits: Limits{
			RequestsPerMinute: DefaultMaxRequestsPerMinute,
			TokensPerMinute:   DefaultMaxTokensPerMinute,
			MaxConcurrency:    DefaultMaxConcurrency,
		},
		maxAttempts:    DefaultMaxAttempts,
		requestTimeout: DefaultRequestTimeout,
		streamIdle:     DefaultStreamIdleTimeout,
		maxCooldown:    DefaultMaxCooldown,
		backoffBase:    DefaultRetryBackoff,
		backoffMax:     DefaultMaxRetryBackoff,
		outputEstimate: DefaultOutputTokenEstimate,
		progressEvery:  DefaultProgressInterval,
		pollFirst:      DefaultBackgroundPoll,
		pollMax:        DefaultMaxBackgroundPoll,
		call:           callOptions{progressTotal: -1},
	}
}

func (o *options) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("llm: "+format, args...)
	}
}

func (o *callOptions) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("llm: "+format, args...)
	}
}

// --- engine options ---

// WithMaxRequestsPerMinute caps requests per minute across the client
// (default 1,000): set it to your deployment's quota. Requests are paced
// evenly, one every 60 s/n from the first, with no burst: Azure evaluates
// the quota over 1-second and 10-second windows and refuses a burst even
// when the minute has room (see docs/engine.md, "Pacing"). n < 0 removes
// the limit.
func WithMaxRequestsPerMinute(n int) ClientOption {
	return engineOption(func(o *options) { o.limits.RequestsPerMinute = n })
}

// WithMaxTokensPerMinute caps estimated tokens (prompt + max new tokens) per
// minute across the client (default 100,000), paced evenly: a request
// waits until the tokens of the previous ones have been paid off at n/60 a
// second. n < 0 removes the limit.
func WithMaxTokensPerMinute(n int) ClientOption {
	return engineOption(func(o *options) { o.limits.TokensPerMinute = n })
}

// WithMaxConcurrency caps requests in flight (default 225).
func WithMaxConcurrency(n int) ClientOption {
	return engineOption(func(o *options) {
		if n < 1 {
			o.fail("WithMaxConcurrency(%d): need at least 1", n)
			return
		}
		o.limits.MaxConcurrency = n
	})
}

// WithModelLimits sets the [Limits] of one model or deployment (Azure quotas
// are per deployment), on top of the client-wide limits.
func WithModelLimits(modelID string, l Limits) ClientOption {
	return engineOption(func(o *options) {
		if o.modelLimits == nil {
			o.modelLimits = map[string]Limits{}
		}
		o.modelLimits[modelID] = l
	})
}

// WithMaxAttempts sets how many times a request is tried in all (default 5;
// 1 disables retries).
func WithMaxAttempts(n int) ClientOption {
	return engineOption(func(o *options) {
		if n < 1 {
			o.fail("WithMaxAttempts(%d): need at least 1", n)
			return
		}
		o.maxAttempts = n
	})
}

// WithRequestTimeout bounds each attempt (default 30 s); the caller's
// context bounds the whole call. The attempts of a batch share their
// deadlines (one timer per sixteenth of d, not one per request), so a hung
// attempt of [Client.Process], [Client.ProcessSeq] or [Client.ProcessJobs]
// is cancelled between d and d plus a sixteenth after it was sent.
func WithRequestTimeout(d time.Duration) ClientOption {
	return engineOption(func(o *options) {
		if d <= 0 {
			o.fail("WithRequestTimeout(%v): need a positive duration", d)
			return
		}
		o.requestTimeout = d
	})
}

// WithStreamIdleTimeout bounds the silence between two chunks of a
// [Client.Stream] (default [DefaultStreamIdleTimeout], 60 s): a stream that
// sends nothing for d after its previous chunk is cut, and the loop gets an
// error with [CodeTimeout] as its last element. [WithRequestTimeout]
// bounds the wait for the first chunk; without this bound a server that
// stalls mid-stream would hold the call until the server gave up. Any
// element the provider yields counts, Azure's content-filter chunks
// included; a reasoning model that thinks for minutes between two chunks
// needs a larger d. d <= 0 is an error: the bound is always on.
func WithStreamIdleTimeout(d time.Duration) ClientOption {
	return engineOption(func(o *options) {
		if d <= 0 {
			o.fail("WithStreamIdleTimeout(%v): need a positive duration", d)
			return
		}
		o.streamIdle = d
	})
}

// WithMaxCooldown caps how long a rate-limited target is rested (default
// 120 s). A server asking for a longer wait (a daily quota) makes the client
// fail over to another target, or fail fast with [ErrQuotaExceeded].
func WithMaxCooldown(d time.Duration) ClientOption {
	return engineOption(func(o *options) {
		if d <= 0 {
			o.fail("WithMaxCooldown(%v): need a positive duration", d)
			return
		}
		o.maxCooldown = d
	})
}

// WithRetryBackoff sets the exponential backoff between attempts: attempt n
// waits a random time in [0, min(max, base·2^(n-1))) ("full jitter"), and
// never less than the server's retry-after (default 500 ms and 30 s).
func WithRetryBackoff(base, max time.Duration) ClientOption {
	return engineOption(func(o *options) {
		if base <= 0 || max < base {
			o.fail("WithRetryBackoff(%v, %v): need 0 < base <= max", base, max)
			return
		}
		o.backoffBase, o.backoffMax = base, max
	})
}

// WithOutputTokenEstimate sets the completion size assumed when pacing a
// request that has no [WithMaxNewTokens] (default 256): the token cost
// charged against [WithMaxTokensPerMinute] before dispatch is the prompt
// estimate plus this, reconciled with the real usage when the reply
// arrives.
func WithOutputTokenEstimate(n int) ClientOption {
	return engineOption(func(o *options) {
		if n < 0 {
			o.fail("WithOutputTokenEstimate(%d): need a non-negative count", n)
			return
		}
		o.outputEstimate = n
	})
}

// WithModelWeights spreads requests over several models by weight, e.g.
// {"azure-gpt-4o": 3, "gpt-4o": 1}; the model given to [NewClient] is
// ignored when it is not in the map. A retry may move to another model.
func WithModelWeights(weights map[string]float64) ClientOption {
	return engineOption(func(o *options) {
		if len(weights) == 0 {
			o.fail("WithModelWeights: empty map")
			return
		}
		w := make(map[string]float64, len(weights))
		for id, v := range weights {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				o.fail("WithModelWeights: weight of %q is %v; weights must be finite and non-negative", id, v)
				return
			}
			w[id] = v
		}
		o.modelWeights = w
	})
}

// WithProvider serves the model through another provider: the model of that
// provider with the same [registry.Model.BaseModel] (e.g. "gpt-4o" with
// "azure-foundry" is "azure-gpt-4o"), as [registry.Twin] finds it: the
// provider's catalog entry, even when the program registered other models
// for that provider and base model (name those directly). NewClient fails
// for a provider that is not registered, naming those that are.
func WithProvider(name string) ClientOption {
	return engineOption(func(o *options) { o.provider = name })
}

// WithProviderInstance uses p, a provider configured by the caller, instead
// of the registered one (like [database/sql.OpenDB] with a connector).
func WithProviderInstance(p Provider) ClientOption {
	return engineOption(func(o *options) {
		if p == nil {
			o.fail("WithProviderInstance(nil)")
			return
		}
		o.providerInstance = p
	})
}

// DefaultProgressInterval is how often a progress function is called while
// a batch runs, unless [WithProgressInterval] says otherwise.
const DefaultProgressInterval = time.Second

// WithProgressFunc calls f with a snapshot of every batch ([Client.Process],
// [Client.ProcessSeq], [Client.ProcessJobs]) while it runs, every
// [DefaultProgressInterval] (see [WithProgressInterval]), and once more when
// it ends, with [ProgressInfo.Final] set. f runs on a goroutine of its own,
// one call at a time per batch. Without it the client reports nothing:
// package [github.com/deluge-go/deluge/progress] has a bar and a log line
// to pass here.
func WithProgressFunc(f func(ProgressInfo)) ClientOption {
	return engineOption(func(o *options) { o.progressFunc = f })
}

// WithProgressInterval sets how often the function of [WithProgressFunc]
// is called while a batch runs (default [DefaultProgressInterval]); a bar
// redraws smoothly at a few times a second.
func WithProgressInterval(d time.Duration) ClientOption {
	return engineOption(func(o *options) {
		if d <= 0 {
			o.fail("WithProgressInterval(%v): need a positive duration", d)
			return
		}
		o.progressEvery = d
	})
}

// WithProgressTotal tells [Client.ProcessSeq] and [Client.ProcessJobs] how
// many prompts to expect, so that a progress display can show a bar and an
// ETA ([ProgressInfo.Total]). Pass it to the call.
func WithProgressTotal(n int) Option {
	return func(o *callOptions) { o.progressTotal = n }
}

// WithLimiter keeps the pacing state of the client's quotas — each
// model's requests and tokens per minute, its 429 cooldowns and the lower
// limits the server was found to allow — in l instead of a
// [pacing.Local] of the client's own. Pass one [pacing.Local] to several
// clients to have them pace a quota together within a process, or a
// limiter shared through a network store to pace it together with other
// processes. Models are keyed by quota (see [QuotaKeyer]), so clients
// calling different deployments do not slow each other down. The
// client-wide limits, across models, stay the client's own.
func WithLimiter(l pacing.Limiter) ClientOption {
	return engineOption(func(o *options) {
		if l == nil {
			o.fail("WithLimiter(nil): pass a limiter, or leave the option out for the default")
			return
		}
		o.limiter = l
	})
}

// WithCache serves repeated requests from c and stores successful responses
// in it. Identical requests in flight at the same time are sent once.
func WithCache(c Cache) ClientOption {
	return engineOption(func(o *options) { o.cache = c })
}

// WithLogger sends structured events (retry, cooldown, failover, give-up) to
// l; the default is [slog.Default].
func WithLogger(l *slog.Logger) ClientOption {
	return engineOption(func(o *options) { o.logger = l })
}

// WithStrictContentFilter makes a completion that the provider's content
// filter cut short (finish reason "content_filter") an [ErrContentFiltered]
// error instead of a response.
func WithStrictContentFilter() Option {
	return func(o *callOptions) { o.strictContentFilter = true }
}

// --- sampling options ---

// WithResponseHeaders keeps the HTTP headers of each reply in
// [Response.Header] (and of a stream in its first [Chunk.Header]). Without
// it they are dropped once the engine has read its rate-limit figures:
// a batch of 100,000 results would otherwise hold 100,000 header maps
// (about 700 bytes each) until it ends, and the garbage collector would
// scan them all the while. [Error.Header] is kept either way.
func WithResponseHeaders() Option {
	return func(o *callOptions) { o.responseHeaders = true }
}

// WithTemperature sets the sampling temperature (0–2).
func WithTemperature(t float64) Option {
	return func(o *callOptions) {
		if t < 0 || t > 2 || math.IsNaN(t) {
			o.fail("WithTemperature(%v): want a value between 0 and 2", t)
			return
		}
		o.sampling.Temperature = &t
	}
}

// WithTopP sets nucleus sampling (0–1].
func WithTopP(p float64) Option {
	return func(o *callOptions) {
		if p <= 0 || p > 1 || math.IsNaN(p) {
			o.fail("WithTopP(%v): want a value in (0, 1]", p)
			return
		}
		o.sampling.TopP = &p
	}
}

// WithMaxNewTokens caps the completion's length.
func WithMaxNewTokens(n int) Option {
	return func(o *callOptions) {
		if n < 1 {
			o.fail("WithMaxNewTokens(%d): need at least 1", n)
			return
		}
		o.sampling.MaxNewTokens = n
	}
}

// WithStop sets up to 4 stop sequences.
func WithStop(stop ...string) Option {
	return func(o *callOptions) {
		if len(stop) > 4 {
			o.fail("WithStop: %d sequences given; providers accept at most 4", len(stop))
			return
		}
		o.sampling.Stop = append([]string(nil), stop...)
	}
}

// WithSeed asks for deterministic sampling where the provider supports it.
func WithSeed(seed int64) Option {
	return func(o *callOptions) { o.sampling.Seed = &seed }
}

// WithJSONMode asks for a reply that is a JSON object.
func WithJSONMode() Option {
	return func(o *callOptions) { o.sampling.ResponseFormat = &ResponseFormat{Type: FormatJSONObject} }
}

// WithJSONSchema asks for a reply matching schema (JSON text); strict asks
// the provider to enforce it exactly.
func WithJSONSchema(name string, schema []byte, strict bool) Option {
	return func(o *callOptions) {
		if name == "" {
			o.fail("WithJSONSchema: the schema needs a name")
			return
		}
		if !json.Valid(schema) {
			o.fail("WithJSONSchema(%q): schema is not valid JSON", name)
			return
		}
		o.sampling.ResponseFormat = &ResponseFormat{Type: FormatJSONSchema, Name: name, Schema: append([]byte(nil), schema...), Strict: strict}
	}
}

// WithTools offers tools to the model.
func WithTools(tools ...Tool) Option {
	return func(o *callOptions) {
		for _, t := range tools {
			if t.Name == "" {
				o.fail("WithTools: a tool has no name")
				return
			}
			if t.Parameters != nil && !json.Valid(t.Parameters) {
				o.fail("WithTools: parameters of tool %q are not valid JSON", t.Name)
				return
			}
		}
		o.sampling.Tools = append([]Tool(nil), tools...)
	}
}

// WithToolChoice says whether and which tool the model must call: "auto",
// "none", "required" or a tool's name.
func WithToolChoice(choice string) Option {
	return func(o *callOptions) { o.sampling.ToolChoice = choice }
}

// WithLogprobs asks for token log-probabilities and top alternatives per
// token (0–20).
func WithLogprobs(top int) Option {
	return func(o *callOptions) {
		if top < 0 || top > 20 {
			o.fail("WithLogprobs(%d): want 0 to 20 alternatives", top)
			return
		}
		o.sampling.Logprobs = true
		o.sampling.TopLogprobs = top
	}
}

// WithReasoningEffort sets a reasoning model's effort: "minimal", "low",
// "medium" or "high".
func WithReasoningEffort(effort string) Option {
	return func(o *callOptions) {
		switch effort {
		case "minimal", "low", "medium", "high":
			o.sampling.ReasoningEffort = effort
		default:
			o.fail("WithReasoningEffort(%q): want minimal, low, medium or high", effort)
		}
	}
}

// WithUser passes an end-user identifier to the provider.
func WithUser(user string) Option {
	return func(o *callOptions) { o.sampling.User = user }
}
