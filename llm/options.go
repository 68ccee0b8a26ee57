package llm

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"
)

// An Option configures a Client (NewClient) or one call (Generate, Stream,
// Process). Sampling options (temperature, max tokens, tools, …) work in
// both places, a call's options overriding the client's; engine options
// (limits, retries, routing, cache, progress) apply only to NewClient, and
// passing one to a call returns an error.
type Option func(*options)

// Defaults for the engine options.
const (
	DefaultMaxRequestsPerMinute = 1_000
	DefaultMaxTokensPerMinute   = 100_000
	DefaultMaxConcurrency       = 225
	DefaultMaxAttempts          = 5
	DefaultRequestTimeout       = 30 * time.Second
	DefaultMaxCooldown          = 120 * time.Second
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
	RequestsPerMinute int
	TokensPerMinute   int
	MaxConcurrency    int
}

// ProgressMode selects how Process reports progress.
type ProgressMode int

// Progress modes.
const (
	// ProgressAuto draws a bar when the progress writer is a terminal and
	// writes a plain line periodically otherwise.
	ProgressAuto ProgressMode = iota
	// ProgressOff reports nothing (a ProgressFunc is still called).
	ProgressOff
	// ProgressBar always draws a bar.
	ProgressBar
	// ProgressLog always writes periodic plain lines.
	ProgressLog
)

// ProgressInfo is a snapshot of a running batch, passed to a ProgressFunc.
type ProgressInfo struct {
	// Total is the number of prompts, or -1 when unknown (ProcessSeq).
	Total     int
	Done      int
	Succeeded int
	Failed    int
	InFlight  int
	// Limiter names what currently holds dispatch back: "rpm", "tpm",
	// "concurrency", "cooldown", or "" when nothing does.
	Limiter string
	// RequestsPerSecond is the recent completion rate.
	RequestsPerSecond float64
	Cost              float64
	Usage             Usage
	Elapsed           time.Duration
}

type optionScope int

const (
	scopeClient optionScope = iota
	scopeCall
)

// options is the resolved configuration. It is copied per call, so it holds
// only values and shared read-only references.
type options struct {
	scope optionScope
	err   error

	sampling Sampling

	limits         Limits
	modelLimits    map[string]Limits
	maxAttempts    int
	requestTimeout time.Duration
	maxCooldown    time.Duration
	backoffBase    time.Duration
	backoffMax     time.Duration
	outputEstimate int

	modelWeights     map[string]float64
	provider         string
	providerInstance Provider

	progressMode   ProgressMode
	progressWriter io.Writer
	progressFunc   func(ProgressInfo)
	progressTotal  int

	cache  Cache
	logger *slog.Logger

	strictContentFilter bool
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
		maxCooldown:    DefaultMaxCooldown,
		backoffBase:    DefaultRetryBackoff,
		backoffMax:     DefaultMaxRetryBackoff,
		outputEstimate: DefaultOutputTokenEstimate,
		progressTotal:  -1,
	}
}

func (o *options) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("llm: "+format, args...)
	}
}

// clientOnly records an error when an engine option is passed to a call.
func (o *options) clientOnly(name string) bool {
	if o.scope == scopeCall {
		o.fail("%s configures a Client: pass it to NewClient, not to a call", name)
		return false
	}
	return true
}

// --- engine options ---

// WithMaxRequestsPerMinute caps requests per minute across the client
// (default 1,000). Requests are paced evenly: the client never bursts a
// minute's quota at once, as Azure enforces quotas over 10-second windows.
// n < 0 removes the limit.
func WithMaxRequestsPerMinute(n int) Option {
	return func(o *options) {
		if o.clientOnly("WithMaxRequestsPerMinute") {
			o.limits.RequestsPerMinute = n
		}
	}
}

// WithMaxTokensPerMinute caps estimated tokens (prompt + max new tokens) per
// minute across the client (default 100,000). n < 0 removes the limit.
func WithMaxTokensPerMinute(n int) Option {
	return func(o *options) {
		if o.clientOnly("WithMaxTokensPerMinute") {
			o.limits.TokensPerMinute = n
		}
	}
}

// WithMaxConcurrency caps requests in flight (default 225).
func WithMaxConcurrency(n int) Option {
	return func(o *options) {
		if !o.clientOnly("WithMaxConcurrency") {
			return
		}
		if n < 1 {
			o.fail("WithMaxConcurrency(%d): need at least 1", n)
			return
		}
		o.limits.MaxConcurrency = n
	}
}

// WithModelLimits sets the limits of one model or deployment (Azure quotas
// are per deployment), on top of the client-wide limits.
func WithModelLimits(modelID string, l Limits) Option {
	return func(o *options) {
		if !o.clientOnly("WithModelLimits") {
			return
		}
		if o.modelLimits == nil {
			o.modelLimits = map[string]Limits{}
		}
		o.modelLimits[modelID] = l
	}
}

// WithMaxAttempts sets how many times a request is tried in all (default 5;
// 1 disables retries).
func WithMaxAttempts(n int) Option {
	return func(o *options) {
		if !o.clientOnly("WithMaxAttempts") {
			return
		}
		if n < 1 {
			o.fail("WithMaxAttempts(%d): need at least 1", n)
			return
		}
		o.maxAttempts = n
	}
}

// WithRequestTimeout bounds each attempt (default 30 s); the caller's
// context bounds the whole call. The attempts of a batch share their
// deadlines (one timer per sixteenth of d, not one per request), so a hung
// attempt of Process, ProcessSeq or ProcessJobs is cancelled between d and
// d plus a sixteenth after it was sent.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) {
		if !o.clientOnly("WithRequestTimeout") {
			return
		}
		if d <= 0 {
			o.fail("WithRequestTimeout(%v): need a positive duration", d)
			return
		}
		o.requestTimeout = d
	}
}

// WithMaxCooldown caps how long a rate-limited target is rested (default
// 120 s). A server asking for a longer wait (a daily quota) makes the client
// fail over to another target, or fail fast with ErrQuotaExceeded.
func WithMaxCooldown(d time.Duration) Option {
	return func(o *options) {
		if !o.clientOnly("WithMaxCooldown") {
			return
		}
		if d <= 0 {
			o.fail("WithMaxCooldown(%v): need a positive duration", d)
			return
		}
		o.maxCooldown = d
	}
}

// WithRetryBackoff sets the exponential backoff between attempts: attempt n
// waits a random time in [0, min(max, base·2^(n-1))) ("full jitter"), and
// never less than the server's retry-after (default 500 ms and 30 s).
func WithRetryBackoff(base, max time.Duration) Option {
	return func(o *options) {
		if !o.clientOnly("WithRetryBackoff") {
			return
		}
		if base <= 0 || max < base {
			o.fail("WithRetryBackoff(%v, %v): need 0 < base <= max", base, max)
			return
		}
		o.backoffBase, o.backoffMax = base, max
	}
}

// WithOutputTokenEstimate sets the completion size assumed when pacing a
// request that has no WithMaxNewTokens (default 256): the token cost charged
// against WithMaxTokensPerMinute before dispatch is the prompt estimate plus
// this, reconciled with the real usage when the reply arrives.
func WithOutputTokenEstimate(n int) Option {
	return func(o *options) {
		if !o.clientOnly("WithOutputTokenEstimate") {
			return
		}
		if n < 0 {
			o.fail("WithOutputTokenEstimate(%d): need a non-negative count", n)
			return
		}
		o.outputEstimate = n
	}
}

// WithModelWeights spreads requests over several models by weight, e.g.
// {"azure-gpt-4o": 3, "gpt-4o": 1}; the model given to NewClient is ignored
// when it is not in the map. A retry may move to another model.
func WithModelWeights(weights map[string]float64) Option {
	return func(o *options) {
		if !o.clientOnly("WithModelWeights") {
			return
		}
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
	}
}

// WithProvider serves the model through another provider: the model of that
// provider with the same BaseModel (e.g. "gpt-4o" with "azure-foundry" is
// "azure-gpt-4o").
func WithProvider(name string) Option {
	return func(o *options) {
		if o.clientOnly("WithProvider") {
			o.provider = name
		}
	}
}

// WithProviderInstance uses p, a provider configured by the caller, instead
// of the registered one (like sql.OpenDB with a connector).
func WithProviderInstance(p Provider) Option {
	return func(o *options) {
		if !o.clientOnly("WithProviderInstance") {
			return
		}
		if p == nil {
			o.fail("WithProviderInstance(nil)")
			return
		}
		o.providerInstance = p
	}
}

// WithProgress selects how Process and ProcessSeq report progress (default
// ProgressAuto on os.Stderr).
func WithProgress(mode ProgressMode) Option {
	return func(o *options) {
		if o.clientOnly("WithProgress") {
			o.progressMode = mode
		}
	}
}

// WithProgressWriter sends the progress display to w instead of os.Stderr.
func WithProgressWriter(w io.Writer) Option {
	return func(o *options) {
		if o.clientOnly("WithProgressWriter") {
			o.progressWriter = w
		}
	}
}

// WithProgressFunc calls f with a snapshot about once a second while a
// batch runs, and once at the end, for callers who render their own display.
func WithProgressFunc(f func(ProgressInfo)) Option {
	return func(o *options) {
		if o.clientOnly("WithProgressFunc") {
			o.progressFunc = f
		}
	}
}

// WithProgressTotal tells ProcessSeq how many prompts to expect, so its
// progress display can show a bar and an ETA. Pass it to the call.
func WithProgressTotal(n int) Option {
	return func(o *options) { o.progressTotal = n }
}

// WithCache serves repeated requests from c and stores successful responses
// in it. Identical requests in flight at the same time are sent once.
func WithCache(c Cache) Option {
	return func(o *options) {
		if o.clientOnly("WithCache") {
			o.cache = c
		}
	}
}

// WithLogger sends structured events (retry, cooldown, failover, give-up) to
// l; the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if o.clientOnly("WithLogger") {
			o.logger = l
		}
	}
}

// WithStrictContentFilter makes a completion that the provider's content
// filter cut short (finish reason "content_filter") an ErrContentFiltered
// error instead of a response.
func WithStrictContentFilter() Option {
	return func(o *options) { o.strictContentFilter = true }
}

// --- sampling options ---

// WithTemperature sets the sampling temperature (0–2).
func WithTemperature(t float64) Option {
	return func(o *options) {
		if t < 0 || t > 2 || math.IsNaN(t) {
			o.fail("WithTemperature(%v): want a value between 0 and 2", t)
			return
		}
		o.sampling.Temperature = &t
	}
}

// WithTopP sets nucleus sampling (0–1].
func WithTopP(p float64) Option {
	return func(o *options) {
		if p <= 0 || p > 1 || math.IsNaN(p) {
			o.fail("WithTopP(%v): want a value in (0, 1]", p)
			return
		}
		o.sampling.TopP = &p
	}
}

// WithMaxNewTokens caps the completion's length.
func WithMaxNewTokens(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.fail("WithMaxNewTokens(%d): need at least 1", n)
			return
		}
		o.sampling.MaxNewTokens = n
	}
}

// WithStop sets up to 4 stop sequences.
func WithStop(stop ...string) Option {
	return func(o *options) {
		if len(stop) > 4 {
			o.fail("WithStop: %d sequences given; providers accept at most 4", len(stop))
			return
		}
		o.sampling.Stop = append([]string(nil), stop...)
	}
}

// WithSeed asks for deterministic sampling where the provider supports it.
func WithSeed(seed int64) Option {
	return func(o *options) { o.sampling.Seed = &seed }
}

// WithJSONMode asks for a reply that is a JSON object.
func WithJSONMode() Option {
	return func(o *options) { o.sampling.ResponseFormat = &ResponseFormat{Type: FormatJSONObject} }
}

// WithJSONSchema asks for a reply matching schema (JSON text); strict asks
// the provider to enforce it exactly.
func WithJSONSchema(name string, schema []byte, strict bool) Option {
	return func(o *options) {
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
	return func(o *options) {
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
	return func(o *options) { o.sampling.ToolChoice = choice }
}

// WithLogprobs asks for token log-probabilities and top alternatives per
// token (0–20).
func WithLogprobs(top int) Option {
	return func(o *options) {
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
	return func(o *options) {
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
	return func(o *options) { o.sampling.User = user }
}
