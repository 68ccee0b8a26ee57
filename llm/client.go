package llm

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/deluge-go/deluge/internal/flight"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/registry"
)

// ErrClosed is returned by calls on a [Client] after [Client.Close].
var ErrClosed = errors.New("llm: client is closed")

// A Client sends conversations to a model (or spreads them over several) and
// owns everything between the caller and the provider: rate limits,
// concurrency, retries, cooldowns, failover, caching and accounting. It is
// safe for concurrent use; create one per configuration and share it, since
// its limits only hold for the calls it makes.
type Client struct {
	model registry.Model
	opts  options

	// targets is the routing set, sorted by descending weight then ID; byID
	// indexes it. Both are immutable after NewClient. extra holds targets
	// resolved later for Job.Model overrides.
	targets []*target
	byID    map[string]*target
	extraMu sync.Mutex
	extra   map[string]*target

	// limiter holds the pacing state of every model's quota key
	// (WithLimiter, else a [pacing.Local] of the client's own).
	limiter pacing.Limiter
	// The client-wide RPM and TPM, paced by a private pacer, apply across
	// models; with one model its own pacer enforces them (a model's limits
	// are never above the client's), so they only come into play once the
	// client routes to several: multi.
	quota         pacing.Limits
	clientPacer   pacing.Pacer
	clientWaiters paced
	multi         atomic.Bool
	sem           chan struct{}

	stats       counters
	flights     flight.Group[*Response] // identical calls in flight (WithCache)
	closed      atomic.Bool
	cacheWarned atomic.Bool
	pacerWarned atomic.Bool
	// identities memoizes each target's CacheIdentity (*target → string).
	identities sync.Map
	// imageWarned holds the IDs of models warned about images.
	imageWarned sync.Map
}

// NewClient returns a [Client] for the model registered under modelID (see
// package [registry]), configured by opts: engine settings and, as any
// [Option] given here, the defaults of every call. It does no network I/O:
// the provider is opened on first use.
//
// With [WithProvider], the model is swapped for its twin served by that
// provider (same BaseModel). With [WithModelWeights], every weighted model
// is resolved up front and modelID is only the primary model reported by
// [Client.Model] (it is ignored when absent from the map). With
// [WithProviderInstance], an ID that is not in the registry is accepted and
// sent as the wire name.
func NewClient(modelID string, opts ...ClientOption) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt.applyClient(&o)
		}
	}
	if err := cmp.Or(o.err, o.call.err); err != nil {
		return nil, err
	}
	if o.limits.RequestsPerMinute == 0 {
		o.limits.RequestsPerMinute = DefaultMaxRequestsPerMinute
	}
	if o.limits.TokensPerMinute == 0 {
		o.limits.TokensPerMinute = DefaultMaxTokensPerMinute
	}
	c := &Client{
		opts:    o,
		byID:    map[string]*target{},
		extra:   map[string]*target{},
		limiter: o.limiter,
		quota:   pacingLimits(o.limits),
		sem:     make(chan struct{}, o.limits.MaxConcurrency),
	}
	if c.limiter == nil {
		c.limiter = pacing.NewLocal()
	}
	c.clientPacer = pacing.NewLocal().Pacer("client")
	c.flights.Share = shareResponse
	c.flights.Again = abandoned
	c.flights.Wait = waiting

	weights := o.modelWeights
	if weights == nil {
		weights = map[string]float64{modelID: 1}
	}
	total := 0.0
	for _, id := range slices.Sorted(maps.Keys(weights)) {
		m, err := c.resolveModel(id)
		if err != nil {
			return nil, err
		}
		t, err := c.newTarget(m, weights[id])
		if err != nil {
			return nil, err
		}
		if _, dup := c.byID[t.model.ID]; dup {
			return nil, fmt.Errorf("llm: WithModelWeights: %q and another entry resolve to the same model %q", id, t.model.ID)
		}
		c.byID[t.model.ID] = t
		c.byID[id] = t
		c.targets = append(c.targets, t)
		total += t.weight
	}
	if total <= 0 {
		return nil, errors.New("llm: WithModelWeights: every weight is 0; give at least one model a positive weight")
	}
	c.multi.Store(len(c.targets) > 1)
	slices.SortStableFunc(c.targets, func(a, b *target) int {
		return cmp.Or(cmp.Compare(b.weight, a.weight), cmp.Compare(a.model.ID, b.model.ID))
	})
	if t, ok := c.byID[modelID]; ok {
		c.model = t.model
	} else {
		c.model = c.targets[0].model
	}
	return c, nil
}

// pacingLimits returns the RPM and TPM of l as a pacer takes them (≤ 0:
// no limit).
func pacingLimits(l Limits) pacing.Limits {
	return pacing.Limits{RequestsPerMinute: max(l.RequestsPerMinute, 0), TokensPerMinute: max(l.TokensPerMinute, 0)}
}

// resolveModel looks id up in the registry and applies WithProvider.
func (c *Client) resolveModel(id string) (registry.Model, error) {
	m, err := registry.Lookup(id)
	if err != nil {
		if c.opts.providerInstance == nil || id == "" {
			return registry.Model{}, fmt.Errorf("llm: NewClient: %w", err)
		}
		// A configured provider instance may serve models the registry
		// does not know (a private deployment, a test fake).
		m = registry.Model{ID: id, Name: id, BaseModel: id}
	}
	if p := c.opts.provider; p != "" && m.Provider != p {
		if c.opts.providerInstance == nil && !slices.Contains(Providers(), p) {
			return registry.Model{}, fmt.Errorf("llm: WithProvider(%q): unknown provider (registered: %s; forgotten import of %q?)",
				p, strings.Join(Providers(), ", "), providerImportPath(p))
		}
		base := cmp.Or(m.BaseModel, m.ID)
		twin, err := registry.Twin(p, base)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return registry.Model{}, fmt.Errorf("llm: model %q (base model %q) has no twin served by provider %q; register one with registry.Register (Provider %q, BaseModel %q) or pick another provider", m.ID, base, p, p, base)
		case err != nil:
			return registry.Model{}, fmt.Errorf("llm: WithProvider(%q) for model %q: %w", p, m.ID, err)
		}
		m = twin
	}
	return m, nil
}

// newTarget builds the routing entry of a model: its provider opener and
// its limits (WithModelLimits over the client's).
func (c *Client) newTarget(m registry.Model, weight float64) (*target, error) {
	t := &target{model: m, weight: weight}
	if p := c.opts.providerInstance; p != nil {
		t.open = func() (Provider, error) { return p, nil }
	} else {
		if !slices.Contains(Providers(), m.Provider) {
			// OpenProvider explains: "forgotten import of …?"
			_, err := OpenProvider(m.Provider)
			return nil, fmt.Errorf("llm: model %q: %w", m.ID, err)
		}
		name := m.Provider
		t.open = sync.OnceValues(func() (Provider, error) { return OpenProvider(name) })
	}
	l := c.opts.limits
	if ml, ok := c.opts.modelLimits[m.ID]; ok {
		l = inherit(ml, l)
	}
	// A model is paced at its own limits, never above the client's: with
	// one model, its pacer alone enforces both.
	t.quota = pacingLimits(l).Min(c.quota)
	t.limits = Limits{RequestsPerMinute: limitOrNone(t.quota.RequestsPerMinute), TokensPerMinute: limitOrNone(t.quota.TokensPerMinute), MaxConcurrency: l.MaxConcurrency}
	if l.MaxConcurrency > 0 && l.MaxConcurrency < c.opts.limits.MaxConcurrency {
		t.sem = make(chan struct{}, l.MaxConcurrency)
	}
	// A request must fit under every token limit on its path.
	t.maxTokens = t.quota.TokensPerMinute
	return t, nil
}

// inherit fills the zero fields of a model's limits from the client's.
func inherit(model, client Limits) Limits {
	if model.RequestsPerMinute == 0 {
		model.RequestsPerMinute = client.RequestsPerMinute
	}
	if model.TokensPerMinute == 0 {
		model.TokensPerMinute = client.TokensPerMinute
	}
	if model.MaxConcurrency == 0 {
		model.MaxConcurrency = client.MaxConcurrency
	}
	return model
}

// limitOrNone returns a pacer's limit as Limits states it: -1 for none.
func limitOrNone(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// targetFor returns the target of a Job's model override, resolving and
// remembering models outside the routing set.
func (c *Client) targetFor(id string) (*target, error) {
	if t, ok := c.byID[id]; ok {
		return t, nil
	}
	c.extraMu.Lock()
	defer c.extraMu.Unlock()
	if t, ok := c.extra[id]; ok {
		return t, nil
	}
	m, err := c.resolveModel(id)
	if err != nil {
		return nil, err
	}
	if t, ok := c.byID[m.ID]; ok {
		c.extra[id] = t
		return t, nil
	}
	t, err := c.newTarget(m, 0)
	if err != nil {
		return nil, err
	}
	c.extra[id] = t
	c.multi.Store(true) // a job's model is paced under the client's limits with the others
	return t, nil
}

// Model returns the client's primary model: the one given to [NewClient]
// (after [WithProvider]), or the heaviest of [WithModelWeights].
func (c *Client) Model() registry.Model {
	return c.model.Clone()
}

// Models returns the models the client routes to, heaviest first.
func (c *Client) Models() []registry.Model {
	out := make([]registry.Model, len(c.targets))
	for i, t := range c.targets {
		out[i] = t.model.Clone()
	}
	return out
}

// Close marks the client closed: later calls fail with [ErrClosed], calls
// in progress finish. Providers are not closed: registered providers are
// shared by every client of the process, and an instance passed with
// [WithProviderInstance] belongs to the caller, who closes it (see
// [Closer]).
func (c *Client) Close() error {
	c.closed.Store(true)
	return nil
}

// callOptions applies a call's options over the client's defaults. With
// none, the call shares the defaults (read-only).
func (c *Client) callOptions(opts []Option) (*callOptions, error) {
	return c.opts.call.with(opts)
}

// with returns o with opts applied: o itself when there are none, else a
// copy.
func (o *callOptions) with(opts []Option) (*callOptions, error) {
	if len(opts) == 0 {
		return o, nil
	}
	cp := *o
	cp.err = nil
	for _, opt := range opts {
		if opt != nil {
			opt(&cp)
		}
	}
	if cp.err != nil {
		return nil, cp.err
	}
	return &cp, nil
}

func (c *Client) logger() *slog.Logger {
	if l := c.opts.logger; l != nil {
		return l
	}
	return slog.Default()
}
