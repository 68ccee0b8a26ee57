package azuretest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// An Option configures a Handler or Server.
type Option func(*config)

type rateLimit struct{ rpm, tpm int }

type config struct {
	apiKeys         []string
	bearerTokens    []string
	deployments     map[string]string
	latency, jitter time.Duration
	defaultLimit    rateLimit
	limits          map[string]rateLimit
	limitHeaders    bool
	faults          Faults
	promptWord      string
	completionWord  string
	region          string
	seed            int64
	seeded          bool
	apiVersions     []string
	clock           func() time.Time
	arrivalLogSize  int
	api             apiConfig           // files, batches, responses (options_api.go)
	serverless      string              // WithServerless
	routers         map[string][]string // WithModelRouter: deployment → models
}

// Defaults used when no option says otherwise.
const (
	DefaultRegion               = "East US"
	DefaultPromptFilterWord     = "FILTER_PROMPT"
	DefaultCompletionFilterWord = "FILTER_COMPLETION"
	// DefaultArrivalLogSize is how many arrivals Stats keeps (the newest).
	DefaultArrivalLogSize = 1 << 16
)

// DefaultAPIVersions are the dated api-version values the classic routes
// accept unless WithAPIVersions says otherwise: the GA versions and the
// previews clients still send.
var DefaultAPIVersions = []string{
	"2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21",
	"2023-06-01-preview", "2023-07-01-preview", "2023-08-01-preview", "2023-09-01-preview",
	"2023-12-01-preview", "2024-02-15-preview", "2024-03-01-preview", "2024-04-01-preview",
	"2024-05-01-preview", "2024-07-01-preview", "2024-08-01-preview", "2024-09-01-preview",
	"2024-10-01-preview", "2024-12-01-preview", "2025-01-01-preview", "2025-02-01-preview",
	"2025-03-01-preview", "2025-04-01-preview",
}

// DefaultDeployments are served when no deployment option is given.
var DefaultDeployments = map[string]string{
	"gpt-4o":      "gpt-4o-2024-11-20",
	"gpt-4o-mini": "gpt-4o-mini-2024-07-18",
	"o3-mini":     "o3-mini-2025-01-31",
}

// WithAPIKeys sets the keys accepted in the api-key header. With no keys and
// no bearer tokens configured, every request is authorized.
func WithAPIKeys(keys ...string) Option {
	return func(c *config) { c.apiKeys = append(c.apiKeys, keys...) }
}

// WithBearerTokens sets the Entra ID access tokens accepted in
// "Authorization: Bearer <token>".
func WithBearerTokens(tokens ...string) Option {
	return func(c *config) { c.bearerTokens = append(c.bearerTokens, tokens...) }
}

// WithDeployment adds a deployment serving model (an underlying model name
// such as "gpt-4o-2024-11-20"). An empty model means DefaultModel(name).
func WithDeployment(name, model string) Option {
	return func(c *config) {
		if c.deployments == nil {
			c.deployments = make(map[string]string)
		}
		if model == "" {
			model = DefaultModel(name)
		}
		c.deployments[name] = model
	}
}

// WithDeployments adds deployments, name → underlying model (see WithDeployment).
func WithDeployments(m map[string]string) Option {
	return func(c *config) {
		for name, model := range m {
			WithDeployment(name, model)(c)
		}
	}
}

// WithLatency delays every response that reaches the model (successes and
// content-filter errors) by fixed plus a uniform random duration in [0, jitter).
func WithLatency(fixed, jitter time.Duration) Option {
	return func(c *config) { c.latency, c.jitter = fixed, jitter }
}

// WithRateLimit sets the quota of one deployment in requests and tokens per
// minute; 0 means unlimited. See the package documentation for the algorithm.
// A name that is not a configured deployment is ignored.
func WithRateLimit(deployment string, rpm, tpm int) Option {
	return func(c *config) {
		if c.limits == nil {
			c.limits = make(map[string]rateLimit)
		}
		c.limits[deployment] = rateLimit{max(rpm, 0), max(tpm, 0)}
	}
}

// WithDefaultRateLimit sets the quota of every deployment without its own
// WithRateLimit.
func WithDefaultRateLimit(rpm, tpm int) Option {
	return func(c *config) { c.defaultLimit = rateLimit{max(rpm, 0), max(tpm, 0)} }
}

// WithRateLimitHeaders adds x-ratelimit-limit-requests (the requests of a
// 10-second window, RPM/6) and x-ratelimit-limit-tokens (TPM) to the
// remaining counts, as some Azure deployments send them. Azure's usual
// replies, and the emulator's by default, carry the remaining counts
// only.
func WithRateLimitHeaders() Option {
	return func(c *config) { c.limitHeaders = true }
}

// WithFaults injects failures at the given rates.
func WithFaults(f Faults) Option {
	return func(c *config) { c.faults = f }
}

// WithContentFilterWords sets the words that trigger the prompt filter (400)
// and the completion filter (200 with finish_reason "content_filter").
// An empty word disables that filter.
func WithContentFilterWords(promptWord, completionWord string) Option {
	return func(c *config) { c.promptWord, c.completionWord = promptWord, completionWord }
}

// WithRegion sets the x-ms-region header value, e.g. "East US 2".
func WithRegion(region string) Option {
	return func(c *config) { c.region = region }
}

// WithSeed makes fault injection and latency jitter reproducible for a
// sequential client.
func WithSeed(seed int64) Option {
	return func(c *config) { c.seed, c.seeded = seed, true }
}

// WithAPIVersions replaces the accepted dated api-version values.
func WithAPIVersions(versions ...string) Option {
	return func(c *config) { c.apiVersions = slices.Clone(versions) }
}

// WithClock replaces the clock used for quotas, timestamps and Stats, so
// tests can drive the rate limiter without sleeping. It must be safe for
// concurrent use. Latency still sleeps in real time.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

// WithArrivalLog sets how many of the newest arrivals Stats keeps; 0 keeps none.
func WithArrivalLog(n int) Option {
	return func(c *config) { c.arrivalLogSize = max(n, 0) }
}

// Config is a flat form of the options for stand-alone use (the
// "deluge emulate" command). Zero fields mean the defaults.
type Config struct {
	APIKeys      []string
	BearerTokens []string
	// Deployments maps deployment names to underlying models; see ParseDeployments.
	Deployments map[string]string
	Latency     time.Duration
	Jitter      time.Duration
	// RPM and TPM are the default quota of every deployment; 0 is unlimited.
	RPM, TPM int
	// LimitHeaders adds x-ratelimit-limit-* to the remaining counts
	// (WithRateLimitHeaders).
	LimitHeaders bool
	Faults       Faults
	Region       string
	// Seed, when non-zero, makes faults and jitter reproducible.
	Seed int64
	// BatchDeployments are Global Batch deployments, name → model (see
	// WithBatchDeployment).
	BatchDeployments map[string]string
	// EnqueuedTokens is the enqueued-token limit of every batch deployment;
	// 0 is unlimited.
	EnqueuedTokens int64
	// BatchTiming paces batches; nil keeps DefaultBatchTiming.
	BatchTiming *BatchTiming
	// BackgroundDelay is how long a background response stays queued and
	// then in progress (each); nil keeps DefaultBackgroundDelay.
	BackgroundDelay *time.Duration
}

// Options converts c to options for NewHandler or NewServer.
func (c Config) Options() []Option {
	opts := []Option{
		WithAPIKeys(c.APIKeys...),
		WithBearerTokens(c.BearerTokens...),
		WithDeployments(c.Deployments),
		WithLatency(c.Latency, c.Jitter),
		WithDefaultRateLimit(c.RPM, c.TPM),
		WithFaults(c.Faults),
	}
	if c.Region != "" {
		opts = append(opts, WithRegion(c.Region))
	}
	if c.LimitHeaders {
		opts = append(opts, WithRateLimitHeaders())
	}
	if c.Seed != 0 {
		opts = append(opts, WithSeed(c.Seed))
	}
	for name, model := range c.BatchDeployments {
		opts = append(opts, WithBatchDeployment(name, model))
	}
	if c.EnqueuedTokens > 0 {
		opts = append(opts, WithDefaultEnqueuedTokenLimit(c.EnqueuedTokens))
	}
	if c.BatchTiming != nil {
		opts = append(opts, WithBatchTiming(*c.BatchTiming))
	}
	if c.BackgroundDelay != nil {
		opts = append(opts, WithBackgroundTiming(*c.BackgroundDelay, *c.BackgroundDelay))
	}
	return opts
}

// ParseDeployments parses a comma-separated list of deployments such as
// "gpt-4o,o3-mini=o3-mini-2025-01-31": each item is a deployment name,
// optionally "=model" naming the underlying model (DefaultModel(name) otherwise).
func ParseDeployments(s string) (map[string]string, error) {
	out := make(map[string]string)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, model, hasModel := strings.Cut(item, "=")
		name, model = strings.TrimSpace(name), strings.TrimSpace(model)
		if name == "" {
			return nil, fmt.Errorf("azuretest: deployment %q has an empty name", item)
		}
		if hasModel && model == "" {
			return nil, fmt.Errorf("azuretest: deployment %q has an empty model after '='", item)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("azuretest: deployment %q listed twice", name)
		}
		if !hasModel {
			model = DefaultModel(name)
		}
		out[name] = model
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("azuretest: no deployments in %q", s)
	}
	return out, nil
}

// defaultModels maps common deployment names (which Azure users usually name
// after the base model) to the model version Azure deploys by default.
var defaultModels = map[string]string{
	"gpt-35-turbo": "gpt-35-turbo-0125",
	"gpt-4":        "gpt-4-0613",
	"gpt-4-turbo":  "gpt-4-turbo-2024-04-09",
	"gpt-4o":       "gpt-4o-2024-11-20",
	"gpt-4o-mini":  "gpt-4o-mini-2024-07-18",
	"gpt-4.1":      "gpt-4.1-2025-04-14",
	"gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
	"gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
	"o1":           "o1-2024-12-17",
	"o1-mini":      "o1-mini-2024-09-12",
	"o3":           "o3-2025-04-16",
	"o3-mini":      "o3-mini-2025-01-31",
	"o4-mini":      "o4-mini-2025-04-16",
	"gpt-5":        "gpt-5-2025-08-07",
	"gpt-5-mini":   "gpt-5-mini-2025-08-07",
	"gpt-5-nano":   "gpt-5-nano-2025-08-07",
	"DeepSeek-R1":  "DeepSeek-R1",
	// Azure names embedding models without a version suffix.
	"text-embedding-3-small": "text-embedding-3-small",
	"text-embedding-3-large": "text-embedding-3-large",
	"text-embedding-ada-002": "text-embedding-ada-002",
}

// DefaultModel returns the underlying model a deployment called name serves
// by default: the current default version for well-known base model names
// ("gpt-4o" → "gpt-4o-2024-11-20"), else name itself.
func DefaultModel(name string) string {
	if m, ok := defaultModels[name]; ok {
		return m
	}
	return name
}

// KnownModels returns the deployment names DefaultModel knows, sorted.
func KnownModels() []string {
	return slices.Sorted(maps.Keys(defaultModels))
}

// IsReasoningModel reports whether model behaves as a reasoning model:
// o1, o3, o4-mini, gpt-5 and DeepSeek-R1 families (case-insensitive prefix).
func IsReasoningModel(model string) bool {
	m := strings.ToLower(model)
	for _, p := range []string{"o1", "o3", "o4-mini", "gpt-5", "deepseek-r1"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}
