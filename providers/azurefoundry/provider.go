package azurefoundry

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// ProviderName is the key under which the package registers its provider
// and the Provider field of its catalog models.
const ProviderName = "azure-foundry"

func init() {
	registry.AddCatalog(catalog...)
	llm.RegisterProvider(ProviderName, func() (llm.Provider, error) { return NewFromEnv() })
}

// Provider is the Azure OpenAI / Azure AI Foundry provider: an
// llm.Provider, llm.Streamer and llm.Closer. It is safe for concurrent use;
// build it once and share it.
//
// It contains no serializer of its own: each endpoint (the resource, each
// region, each model-specific APIBase) is an openai.Provider built from a
// go-openai ClientConfig that sets the URL family, api-version and an
// authenticating HTTP doer. Everything per call is a map lookup, an atomic
// load or two and, with regions, one random number.
type Provider struct {
	mode        apiMode
	apiVersion  string
	scope       string
	tier        DeploymentType
	deployments map[string]string
	envDeploys  map[string]string
	// batchDeps and batchTier configure batch jobs (batch.go).
	batchDeps map[string]string
	batchEnv  map[string]string
	batchTier DeploymentType
	// envAliases holds deployments named by the design plan's variable
	// form (AZURE_DEPLOYMENT_GPT4O), by model ID.
	envAliases  map[string]string
	allowCustom bool
	maxBody     int64
	httpClient  *http.Client
	logger      *slog.Logger
	now         func() time.Time
	rand        func() float64

	// defAuth authenticates the default endpoint, the regions without
	// credentials of their own and custom APIBase endpoints; nil when the
	// configuration has none.
	defAuth *auth
	// def serves calls when there are no regions; nil (with defErr) when
	// no endpoint is configured.
	def    *target
	defErr error
	// regions, when configured, replace def.
	regions []*target
	// custom holds the targets of models with their own APIBase or key
	// variable, built on first use; a failed build is not cached, so a
	// fixed environment takes effect without a restart.
	custom   sync.Map // customKey → *target
	customMu sync.Mutex
}

// target is one endpoint with its credentials: an openai.Provider plus what
// error messages and routing need.
type target struct {
	p          *Provider
	region     string // "" without regions
	idx        int    // position in p.regions
	weight     float64
	ep         endpoint
	mode       apiMode
	apiVersion string
	auth       *auth
	scope      string
	// deployments are this region's overrides, by model ID.
	deployments map[string]string
	tier        DeploymentType
	oai         *openai.Provider
	claude      *anthropic.Provider // Claude models (claude.go); nil on a serverless endpoint
	transport   *http.Transport     // owned, closed by Close
	// err, when set, fails every call routed here without sending it.
	err error

	// Routing state (regions only), as unix nanos. until: the region
	// rests, and is sent nothing, until this time, because Azure said so
	// (a retry-after, a spent quota); quota tells the latter. avoid: the
	// region failed without saying for how long (a 5xx or 429 without
	// retry-after, no answer), so calls go elsewhere until this time while
	// another region is available, and to it otherwise: pacing retries of
	// a region Azure gave no time for is the engine's backoff, not a rest
	// made up here.
	until atomic.Int64
	quota atomic.Bool
	avoid atomic.Int64
	// lastErr is the error that put the region to rest (until), returned
	// (with the remaining wait) to calls that find every region resting.
	lastErr atomic.Pointer[llm.Error]
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Streamer = (*Provider)(nil)
	_ llm.Closer   = (*Provider)(nil)
)

// New returns a provider for cfg. It fails when the configuration is
// ambiguous or unsafe (a key together with a token, a non-HTTPS or
// non-Azure endpoint without AllowCustomEndpoint, a malformed API version),
// when no endpoint is configured, or when a non-loopback endpoint has no
// credentials. Clients are built here, once.
//
// Its errors are *llm.Error with llm.CodeConfiguration, so that
// errors.Is(err, llm.ErrConfiguration) holds and a caller (the CLI) can
// tell a setting to fix from a failed call.
func New(cfg Config) (*Provider, error) {
	p, err := newProvider(cfg, true)
	if err != nil {
		return nil, configError("", err)
	}
	return p, nil
}

// NewFromEnv returns the provider the package registers: New(ConfigFromEnv())
// except that a missing endpoint or key is reported by each call routed to
// it rather than here, so models with their own APIBase keep working. Tests
// use it to build a fresh provider after t.Setenv (the registered one is
// opened once per process) and pass it with llm.WithProviderInstance.
func NewFromEnv() (*Provider, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	p, err := newProvider(cfg, false)
	if err != nil {
		return nil, configError("", err)
	}
	return p, nil
}

func newProvider(cfg Config, strict bool) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("azurefoundry: %w", err)
	}
	mode, version, _ := parseAPIVersion(cfg.APIVersion)
	p := &Provider{
		mode:        mode,
		apiVersion:  version,
		scope:       cfg.TokenScope,
		tier:        cfg.DeploymentType,
		batchDeps:   maps.Clone(cfg.BatchDeployments),
		batchEnv:    cfg.envBatchDeploys,
		batchTier:   cfg.BatchDeploymentType,
		deployments: maps.Clone(cfg.Deployments), // the caller may reuse its map
		envDeploys:  cfg.envDeployments,
		allowCustom: cfg.AllowCustomEndpoint,
		maxBody:     cfg.MaxResponseBytes,
		httpClient:  cfg.HTTPClient,
		logger:      cfg.Logger,
		now:         time.Now,
		rand:        rand.Float64,
	}
	if p.scope == "" {
		p.scope = DefaultTokenScope
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	p.envAliases = envAliases(p.envDeploys, p.logger)
	p.defAuth = p.newAuth(cfg.APIKey, orDefault(cfg.keySource, "Config.APIKey ("+EnvAPIKey+")"),
		cfg.ADToken, orDefault(cfg.tokenSource, "Config.ADToken ("+EnvADToken+")"), cfg.Credential)

	if len(cfg.Regions) > 0 {
		if len(cfg.Regions) > maxRegions {
			return nil, fmt.Errorf("azurefoundry: %d regions configured; at most %d are supported", len(cfg.Regions), maxRegions)
		}
		if cfg.Endpoint != "" || cfg.Resource != "" {
			p.logger.Warn("azurefoundry: regions are configured, so the top-level endpoint is not used; give each region its endpoint",
				slog.String("endpoint", cfg.Endpoint), slog.String("resource", cfg.Resource))
		}
		for i, r := range cfg.Regions {
			t, err := p.regionTarget(r, strict)
			if err != nil {
				p.Close()
				return nil, err
			}
			t.idx = i
			p.regions = append(p.regions, t)
		}
		return p, nil
	}

	raw := cfg.Endpoint
	if raw == "" && cfg.Resource != "" {
		var err error
		if raw, err = resourceEndpoint(cfg.Resource); err != nil {
			return nil, fmt.Errorf("azurefoundry: %w", err)
		}
	}
	if raw == "" {
		p.defErr = fmt.Errorf("no Azure endpoint configured: set %s=https://<resource>.openai.azure.com (or %s=<resource>), "+
			"or Config.Endpoint, or give the model an APIBase", EnvEndpoint, EnvResource)
		if strict {
			return nil, fmt.Errorf("azurefoundry: %w", p.defErr)
		}
		return p, nil
	}
	ep, err := parseEndpoint(raw, cfg.AllowCustomEndpoint)
	if err != nil {
		return nil, fmt.Errorf("azurefoundry: %w", err)
	}
	a := p.defAuth
	if a == nil {
		if strict && !ep.loopback {
			return nil, fmt.Errorf("azurefoundry: no credentials for %s: set %s, or %s, or %s=1 (Config.APIKey, ADToken or Credential)",
				ep.base, EnvAPIKey, EnvADToken, EnvUseEntraID)
		}
		a = &auth{kind: authNone}
	}
	p.def = p.newTarget("", 1, ep, a, nil, p.tier)
	if a.kind == authNone && !ep.loopback {
		p.def.err = fmt.Errorf("no credentials for Azure resource '%s': set %s, or %s, or %s=1", ep.resource, EnvAPIKey, EnvADToken, EnvUseEntraID)
	}
	return p, nil
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// newAuth returns the authentication for the given credentials (at most
// one is set, validate made sure), or nil when none is.
func (p *Provider) newAuth(key, keySource, token, tokenSource string, cred azcore.TokenCredential) *auth {
	switch {
	case key != "":
		return &auth{kind: authKey, key: key, source: keySource}
	case token != "":
		return &auth{kind: authToken, tokens: staticToken(token), static: true, source: tokenSource}
	case cred != nil:
		return &auth{kind: authToken, tokens: newTokenCache(cred, p.scope, func() time.Time { return p.now() }, p.logger), source: "Entra ID credential"}
	}
	return nil
}

func (p *Provider) regionTarget(r Region, strict bool) (*target, error) {
	ep, err := parseEndpoint(r.Endpoint, p.allowCustom)
	if err != nil {
		return nil, fmt.Errorf("azurefoundry: region %q: %w", r.Name, err)
	}
	sfx := envSuffix(r.Name)
	a := p.newAuth(r.APIKey, orDefault(r.keySource, fmt.Sprintf("Region %q APIKey (%s_%s)", r.Name, EnvAPIKey, sfx)),
		r.ADToken, fmt.Sprintf("Region %q ADToken", r.Name), r.Credential)
	if a == nil {
		a = p.defAuth
	}
	if a == nil {
		if strict && !ep.loopback {
			return nil, fmt.Errorf("azurefoundry: region %q has no credentials: set %s_%s or %s (or Region.APIKey, Config.APIKey, Credential)",
				r.Name, EnvAPIKey, sfx, EnvAPIKey)
		}
		a = &auth{kind: authNone}
	}
	w := r.Weight
	if w == 0 {
		w = 1
	}
	tier := r.DeploymentType
	if tier == "" {
		tier = p.tier
	}
	t := p.newTarget(r.Name, w, ep, a, maps.Clone(r.Deployments), tier)
	if a.kind == authNone && !ep.loopback {
		t.err = fmt.Errorf("no credentials for Azure region %q: set %s_%s or %s", r.Name, EnvAPIKey, sfx, EnvAPIKey)
	}
	return t, nil
}

// newTarget builds the go-openai client of one endpoint: the URL family
// and api-version through ClientConfig, authentication through the doer.
func (p *Provider) newTarget(region string, weight float64, ep endpoint, a *auth, deployments map[string]string, tier DeploymentType) *target {
	t := &target{
		p: p, region: region, weight: weight, ep: ep, mode: p.mode, apiVersion: p.apiVersion,
		auth: a, scope: p.scope, deployments: deployments, tier: tier,
	}
	// Azure's inference routes never redirect; a followed redirect would
	// carry the api-key or token elsewhere.
	client, owned := httpguard.Client(p.httpClient)
	t.transport = owned
	cc := goopenai.DefaultConfig("")
	cc.HTTPClient = authDoer{auth: a, next: client}
	switch {
	case ep.serverless:
		t.configureServerless(&cc)
	case t.mode == modeClassic:
		cc.BaseURL = ep.base
		cc.APIType = goopenai.APITypeAzure
		cc.APIVersion = t.apiVersion
		// go-openai pastes the mapped name into the path unescaped, and
		// never rewrites it here: deployment names go on the wire as the
		// user spelled them ("gpt-4.1" stays "gpt-4.1").
		cc.AzureModelMapperFunc = url.PathEscape
	default:
		cc.BaseURL = ep.base + "/openai/v1"
		cc.APIType = goopenai.APITypeOpenAI
		cc.APIVersion = t.apiVersion // "" or "preview"
	}
	var secrets []string
	if a.key != "" {
		secrets = append(secrets, a.key)
	}
	if st, ok := a.tokens.(staticToken); ok {
		secrets = append(secrets, string(st))
	}
	respVersion := ""
	if t.mode == modeClassic && !ep.serverless {
		respVersion = responsesVersion(t.apiVersion)
	}
	oai, err := openai.NewFromClientConfig(cc, openai.Options{
		Name:                ProviderName,
		WireName:            t.deployment,
		Hint:                noHint,
		Redact:              secrets,
		ResponsesAPIVersion: respVersion,
		// Responses are bounded by the same limit on every endpoint.
		MaxResponseBytes: p.maxBody,
	})
	if err != nil {
		// The base URL was validated by parseEndpoint; this cannot happen
		// short of a bug, and is reported per call rather than panicking.
		t.err = fmt.Errorf("building the client for %s: %w", ep.base, err)
	}
	t.oai = oai
	t.claude = t.newClaude(client, secrets)
	return t
}

// noHint suppresses the openai provider's generic advice; azureError
// writes Azure's.
func noHint(llm.Code, registry.Model) string { return "" }

// deployment returns the deployment name of m at this target: the
// region's override, then Config.Deployments, then AZURE_DEPLOYMENT_<ID>,
// then the model's Name. It never rewrites the name.
func (t *target) deployment(m registry.Model) string {
	if d := t.deployments[m.ID]; d != "" {
		return d
	}
	return t.p.deployment(m)
}

func (p *Provider) deployment(m registry.Model) string {
	if d := p.deployments[m.ID]; d != "" {
		return d
	}
	if len(p.envDeploys) > 0 {
		if d := p.envDeploys[envSuffix(m.ID)]; d != "" {
			return d
		}
		if d := p.envAliases[m.ID]; d != "" {
			return d
		}
	}
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}

// Deployment returns the deployment name the provider sends for m without
// regions (see Config.Deployments for the precedence).
func (p *Provider) Deployment(m registry.Model) string { return p.deployment(m) }

// Close releases the idle connections of the transports the provider
// created. The provider stays usable.
func (p *Provider) Close() error {
	closeTarget := func(t *target) {
		if t != nil && t.transport != nil {
			t.transport.CloseIdleConnections()
		}
	}
	closeTarget(p.def)
	for _, t := range p.regions {
		closeTarget(t)
	}
	p.custom.Range(func(_, v any) bool {
		closeTarget(v.(*target))
		return true
	})
	return nil
}

// Generate sends req to the deployment of req.Model and returns the reply
// with its cost at the deployment type's prices. With regions, a region
// answering 429, 5xx or not at all is set aside (see coolDown) and the call
// fails over to another at once; Response.Attempts counts the HTTP requests made and
// Response.Region names the region that answered. Errors are *llm.Error.
func (p *Provider) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if req == nil {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Message: "nil request"}
	}
	t, inner, err := p.route(req)
	if err != nil {
		return nil, err
	}
	if t != nil {
		resp, err := t.generate(ctx, inner, req.Model)
		if err == nil {
			resp.Attempts = 1
		}
		return resp, err
	}
	var resp *llm.Response
	attempts := 0
	err = p.eachRegion(ctx, req.Model, func(t *target) (bool, error) {
		attempts++
		var err error
		resp, err = t.generate(ctx, inner, req.Model)
		return err == nil || !shouldFailOver(ctx, err), err
	})
	if err != nil {
		return nil, err
	}
	resp.Attempts = attempts
	return resp, nil
}

// Stream is Generate's streaming form. Failover happens only before the
// first chunk: once text has reached the caller, an error ends the stream.
// The first chunk's Region names the region serving it, and the chunk
// carrying Usage has its Cost at the deployment type's prices, as
// Generate's Response.Cost.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[*llm.Chunk, error] {
	return func(yield func(*llm.Chunk, error) bool) {
		if req == nil {
			yield(nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Message: "nil request"})
			return
		}
		t, inner, err := p.route(req)
		if err != nil {
			yield(nil, err)
			return
		}
		if t != nil {
			t.stream(ctx, inner, req.Model, yield)
			return
		}
		// t.stream yields the error that settles the call; an error left
		// unsettled is unavailable's, when no region is left.
		settled := false
		err = p.eachRegion(ctx, req.Model, func(t *target) (bool, error) {
			started, err := t.stream(ctx, inner, req.Model, yield)
			settled = err == nil || started || !shouldFailOver(ctx, err)
			return settled, err
		})
		if !settled {
			yield(nil, err)
		}
	}
}

// route finds where req goes: a single target (the default endpoint or a
// model's own APIBase), or nil for the regions. inner is the request to
// hand the openai provider: req itself, or a copy without the model's
// APIBase and key variable, which this provider has already applied.
func (p *Provider) route(req *llm.Request) (*target, *llm.Request, error) {
	m := req.Model
	if m.APIBase != "" || m.APIKeyEnvVar != "" {
		t, err := p.customTarget(m)
		if err != nil {
			return nil, nil, err
		}
		inner := *req
		inner.Model.APIBase, inner.Model.APIKeyEnvVar = "", ""
		return t, &inner, nil
	}
	if len(p.regions) > 0 {
		return nil, req, nil
	}
	if p.def == nil {
		return nil, nil, configError(m.ID, p.defErr)
	}
	return p.def, req, nil
}

type customKey struct{ base, keyVar string }

// customTarget returns the target of a model with its own APIBase or key
// variable, building it once.
func (p *Provider) customTarget(m registry.Model) (*target, error) {
	k := customKey{m.APIBase, m.APIKeyEnvVar}
	if v, ok := p.custom.Load(k); ok {
		return v.(*target), nil
	}
	p.customMu.Lock()
	defer p.customMu.Unlock()
	if v, ok := p.custom.Load(k); ok {
		return v.(*target), nil
	}
	t, err := p.buildCustom(m)
	if err != nil {
		return nil, configError(m.ID, err)
	}
	p.custom.Store(k, t)
	return t, nil
}

func (p *Provider) buildCustom(m registry.Model) (*target, error) {
	var ep endpoint
	switch {
	case m.APIBase != "":
		var err error
		if ep, err = parseEndpoint(m.APIBase, p.allowCustom); err != nil {
			return nil, fmt.Errorf("model %s: APIBase: %w", m.ID, err)
		}
	case p.def != nil:
		ep = p.def.ep
	default:
		return nil, fmt.Errorf("model %s sets APIKeyEnvVar but no APIBase, and the provider has no single endpoint to use it with (%s); give the model an APIBase",
			m.ID, "regions are configured or no endpoint is set")
	}
	a := p.defAuth
	if m.APIKeyEnvVar != "" {
		key := os.Getenv(m.APIKeyEnvVar)
		if key == "" {
			return nil, fmt.Errorf("model %s reads its API key from %s, which is empty: set it", m.ID, m.APIKeyEnvVar)
		}
		a = &auth{kind: authKey, key: key, source: m.APIKeyEnvVar}
	}
	if a == nil {
		if !ep.loopback {
			return nil, fmt.Errorf("model %s: no credentials for %s: set the model's APIKeyEnvVar, or %s, or %s=1", m.ID, ep.base, EnvAPIKey, EnvUseEntraID)
		}
		a = &auth{kind: authNone}
	}
	return p.newTarget("", 1, ep, a, nil, p.tier), nil
}

// ready fails fast for a misconfigured target, and fetches the Entra ID
// token ahead of the request so a credential failure is reported as such
// rather than as a network error (the doer then hits the cache).
func (t *target) ready(ctx context.Context, m registry.Model) error {
	if t.err != nil {
		return &llm.Error{Code: llm.CodeAuthentication, Provider: ProviderName, Model: m.ID, Message: t.err.Error(), Err: t.err}
	}
	if t.auth.kind == authToken {
		if _, err := t.auth.tokens.token(ctx); err != nil {
			if ctx.Err() != nil {
				code := llm.CodeCanceled
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					code = llm.CodeTimeout
				}
				return &llm.Error{Code: code, Provider: ProviderName, Model: m.ID, Message: "waiting for an Entra ID token: " + ctx.Err().Error(), Err: err}
			}
			return t.azureError(&llm.Error{Code: llm.CodeAuthentication, Provider: ProviderName, Model: m.ID, Err: err}, m)
		}
	}
	return nil
}

func (t *target) generate(ctx context.Context, req *llm.Request, m registry.Model) (*llm.Response, error) {
	if err := t.checkResponses(req, m); err != nil {
		return nil, err
	}
	if err := t.ready(ctx, m); err != nil {
		return nil, err
	}
	resp, err := t.wire(m).Generate(ctx, req)
	if err != nil {
		return nil, t.wireError(err, m)
	}
	resp.Cost = routedCost(m, resp.ServedModel, resp.Usage, t.tier)
	if t.region != "" {
		resp.Region = t.region
	}
	return resp, nil
}

// stream relays one attempt's chunks to yield. started reports whether any
// chunk reached the caller; err is the attempt's error, yielded already
// when started or when failing over is not possible (the caller decides the
// latter, so an unstarted error is returned, not yielded, when it may fail
// over).
func (t *target) stream(ctx context.Context, req *llm.Request, m registry.Model, yield func(*llm.Chunk, error) bool) (started bool, err error) {
	if err := t.checkResponses(req, m); err != nil {
		yield(nil, err)
		return false, err
	}
	if err := t.ready(ctx, m); err != nil {
		return false, t.yieldOrReturn(ctx, err, yield)
	}
	var served string // the model that serves the stream, for a router's price
	for c, err := range t.wire(m).Stream(ctx, req) {
		if err != nil {
			err = t.wireError(err, m)
			if started {
				yield(nil, err)
				return true, err
			}
			return false, t.yieldOrReturn(ctx, err, yield)
		}
		if !started {
			started = true
			if t.region != "" {
				c.Region = t.region
			}
		}
		if served == "" {
			served = c.ServedModel
		}
		if c.Usage != nil {
			// Priced like Generate's Response.Cost: the engine keeps a
			// provider's cost rather than the catalog's.
			c.Cost = routedCost(m, served, *c.Usage, t.tier)
		}
		if !yield(c, nil) {
			return true, nil
		}
	}
	return started, nil
}

// yieldOrReturn yields an error that ends the stream, unless the caller
// may fail over on it to another region, in which case it is returned for
// the caller to decide.
func (t *target) yieldOrReturn(ctx context.Context, err error, yield func(*llm.Chunk, error) bool) error {
	if t.region != "" && shouldFailOver(ctx, err) {
		return err
	}
	yield(nil, err)
	return err
}
