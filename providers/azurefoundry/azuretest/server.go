package azuretest

import (
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Handler is the emulator as a plain http.Handler, for stand-alone use
// (http.ListenAndServe) or mounting in another server. Its Set methods may be
// called while requests are being served.
type Handler struct {
	// Immutable after NewHandler.
	apiKeys        map[string]bool
	bearerTokens   map[string]bool
	deployments    map[string]*deployment
	region         string
	apiVersions    map[string]bool
	promptWord     string
	completionWord string
	now            func() time.Time
	arrivalLog     int
	serverless     string // the model of WithServerless; "" serves no /chat/completions
	limitHeaders   bool   // WithRateLimitHeaders
	modelsClassic  []byte // pre-rendered list bodies
	modelsV1       []byte
	deploymentList []byte

	faults       atomic.Pointer[Faults]
	latency      atomic.Pointer[latencyConfig]
	defaultLimit atomic.Pointer[rateLimit]
	rng          *randSource
	stats        *statsRecorder

	closeOnce sync.Once
	closed    chan struct{}

	requests atomic.Int64 // arrivals since the last ResetStats
	inFlight atomic.Int64 // requests whose handler has not returned

	lastMu sync.Mutex
	last   lastRecord // see LastRequest

	api *apiState // files, batches, stored responses (api.go)
}

type latencyConfig struct{ fixed, jitter time.Duration }

type deployment struct {
	name        string
	model       string
	reasoning   bool
	fingerprint string
	limiter     limiter
	exhausted   atomic.Bool // daily quota
	sku         string      // "" (standard), SKUGlobalBatch or SKUDataZoneBatch
	embedding   bool        // an embeddings model: serves only embeddings
	routes      []string    // a model router's models (WithModelRouter)
}

// NewHandler returns an emulator configured by opts. Without deployment
// options it serves DefaultDeployments; without keys or tokens it accepts
// every request.
func NewHandler(opts ...Option) *Handler {
	c := config{
		region:         DefaultRegion,
		promptWord:     DefaultPromptFilterWord,
		completionWord: DefaultCompletionFilterWord,
		apiVersions:    DefaultAPIVersions,
		arrivalLogSize: DefaultArrivalLogSize,
		clock:          time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if len(c.deployments) == 0 {
		c.deployments = maps.Clone(DefaultDeployments)
	}
	h := &Handler{
		apiKeys:        setOf(c.apiKeys),
		bearerTokens:   setOf(c.bearerTokens),
		deployments:    make(map[string]*deployment, len(c.deployments)),
		region:         c.region,
		apiVersions:    setOf(c.apiVersions),
		promptWord:     c.promptWord,
		completionWord: c.completionWord,
		now:            c.clock,
		arrivalLog:     c.arrivalLogSize,
		serverless:     c.serverless,
		limitHeaders:   c.limitHeaders,
		rng:            newRandSource(c.seed, c.seeded),
		stats:          newStatsRecorder(c.arrivalLogSize),
		closed:         make(chan struct{}),
	}
	for name, model := range c.deployments {
		d := &deployment{
			name:        name,
			model:       model,
			reasoning:   IsReasoningModel(model),
			fingerprint: fingerprint(model),
			sku:         c.api.skus[name],
			embedding:   IsEmbeddingModel(model),
			routes:      c.routers[name],
		}
		if lim, ok := c.limits[name]; ok {
			d.limiter.set(lim, true)
		}
		h.deployments[name] = d
	}
	f := c.faults
	h.faults.Store(&f)
	h.latency.Store(&latencyConfig{c.latency, c.jitter})
	def := c.defaultLimit
	h.defaultLimit.Store(&def)
	h.api = newAPIState(h, &c.api)
	h.renderLists()
	return h
}

func setOf(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		if s != "" {
			m[s] = true
		}
	}
	return m
}

// fingerprint is a stable system_fingerprint per model ("fp_" + 10 hex).
func fingerprint(model string) string {
	h := fnv.New64a()
	h.Write([]byte(model))
	return fmt.Sprintf("fp_%010x", h.Sum64()&0xffffffffff)
}

// Deployments returns the served deployments, name → underlying model.
func (h *Handler) Deployments() map[string]string {
	m := make(map[string]string, len(h.deployments))
	for name, d := range h.deployments {
		m[name] = d.model
	}
	return m
}

// SetFaults replaces the fault rates.
func (h *Handler) SetFaults(f Faults) { h.faults.Store(&f) }

// SetLatency replaces the latency (see WithLatency).
func (h *Handler) SetLatency(fixed, jitter time.Duration) {
	h.latency.Store(&latencyConfig{fixed, jitter})
}

// SetRateLimit sets one deployment's quota (0 = unlimited) and empties its
// buckets.
func (h *Handler) SetRateLimit(deployment string, rpm, tpm int) error {
	d, ok := h.deployments[deployment]
	if !ok {
		return fmt.Errorf("azuretest: no deployment %q", deployment)
	}
	d.limiter.set(rateLimit{max(rpm, 0), max(tpm, 0)}, true)
	return nil
}

// SetDefaultRateLimit sets the quota of the deployments without their own and
// empties their buckets.
func (h *Handler) SetDefaultRateLimit(rpm, tpm int) {
	lim := rateLimit{max(rpm, 0), max(tpm, 0)}
	h.defaultLimit.Store(&lim)
	for _, d := range h.deployments {
		d.limiter.resetIfDefault()
	}
}

// SetDailyQuotaExhausted makes every chat request to deployment fail with
// the daily-quota 429 (retry-after 86400) until called again with false.
func (h *Handler) SetDailyQuotaExhausted(deployment string, exhausted bool) error {
	d, ok := h.deployments[deployment]
	if !ok {
		return fmt.Errorf("azuretest: no deployment %q", deployment)
	}
	d.exhausted.Store(exhausted)
	return nil
}

// Stats returns a snapshot of the requests received so far.
func (h *Handler) Stats() Stats { return h.stats.snapshot() }

// ResetStats forgets all recorded requests: Stats, Requests and LastRequest
// start again from zero. InFlight is not affected.
func (h *Handler) ResetStats() {
	h.stats.reset()
	h.requests.Store(0)
	h.forgetLast()
}

// Close aborts pending latency and slow-fault delays and ends stalled
// requests (resetting their connections) so that a server can shut down
// promptly. It also stops running batches and background responses and
// deletes the files the emulator stored (uploads and batch outputs). The
// handler keeps serving chat, responses and embeddings, without delays;
// later stalls end at once.
func (h *Handler) Close() {
	h.closeOnce.Do(func() {
		close(h.closed)
		h.api.shutdown()
	})
}

// Server is an emulator listening on a local httptest server.
type Server struct {
	*Handler
	// URL is the endpoint, e.g. "http://127.0.0.1:51234"; use it as the Azure
	// resource endpoint.
	URL string
	ts  *httptest.Server
}

// NewServer starts an emulator on a loopback port. Call Close when done.
func NewServer(opts ...Option) *Server {
	h := NewHandler(opts...)
	ts := httptest.NewServer(h)
	return &Server{Handler: h, URL: ts.URL, ts: ts}
}

// Client returns an HTTP client configured for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Close aborts pending delays and stalls, then shuts the server down and
// waits for outstanding requests, including those whose connection the
// emulator reset (which httptest.Server.Close does not wait for): once Close
// returns, InFlight is 0 and Stats is final.
func (s *Server) Close() {
	s.Handler.Close()
	s.ts.Close()
	// Handlers of hijacked (reset) connections only have their bookkeeping
	// left to do; the bound is a safety net, never reached in practice.
	for deadline := time.Now().Add(10 * time.Second); s.inFlight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

// renderLists pre-renders the listing endpoints; the deployment set is fixed.
func (h *Handler) renderLists() {
	names := slices.Sorted(maps.Keys(h.deployments))
	models := make([]string, 0, len(names))
	for _, n := range names {
		models = append(models, h.deployments[n].model)
	}
	slices.Sort(models)
	models = slices.Compact(models)

	// Fixed timestamps keep the bodies deterministic.
	const created = "1733011200" // 2024-12-01T00:00:00Z
	const retires = "1798761600" // 2027-01-01T00:00:00Z

	b := []byte(`{"data":[`)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"scale_settings":{"scale_type":"standard"},"model":`...)
		b = appendJSONString(b, h.deployments[n].model)
		b = append(b, `,"owner":"organization-owner","id":`...)
		b = appendJSONString(b, n)
		b = append(b, `,"status":"succeeded","created_at":`+created+`,"updated_at":`+created+`,"object":"deployment"}`...)
	}
	h.deploymentList = append(b, `],"object":"list"}`...)

	b = []byte(`{"data":[`)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		caps := `{"fine_tune":false,"inference":true,"completion":false,"chat_completion":true,"embeddings":false}`
		if IsEmbeddingModel(m) {
			caps = `{"fine_tune":false,"inference":true,"completion":false,"chat_completion":false,"embeddings":true}`
		}
		b = append(b, `{"status":"succeeded","capabilities":`+caps+`,"lifecycle_status":"generally-available","deprecation":{"inference":`+retires+`},"id":`...)
		b = appendJSONString(b, m)
		b = append(b, `,"created_at":`+created+`,"object":"model"}`...)
	}
	h.modelsClassic = append(b, `],"object":"list"}`...)

	b = []byte(`{"object":"list","data":[`)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, m)
		b = append(b, `,"object":"model","created":`+created+`,"owned_by":"system"}`...)
	}
	h.modelsV1 = append(b, "]}"...)
}
