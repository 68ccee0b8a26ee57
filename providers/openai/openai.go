package openai

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// ProviderName is the key under which the package registers its provider
// and the Provider field of its catalog models.
const ProviderName = "openai"

// DefaultBaseURL is OpenAI's API endpoint.
const DefaultBaseURL = "https://api.openai.com/v1"

// Environment variables read by ConfigFromEnv.
const (
	EnvAPIKey  = "OPENAI_API_KEY"
	EnvBaseURL = "OPENAI_BASE_URL"
	EnvOrgID   = "OPENAI_ORG_ID"
	// EnvAllowInsecureHTTP set to 1 allows sending the key over plain http
	// to a non-loopback host (Config.AllowInsecureHTTP).
	EnvAllowInsecureHTTP = "OPENAI_ALLOW_INSECURE_HTTP"
)

// defaultEmptyMessagesLimit mirrors go-openai's default: how many non-data
// lines (blank separators, SSE comments) a stream may send between two
// events. A ClientConfig built by hand leaves it 0, which would make every
// stream fail on its first blank line.
const defaultEmptyMessagesLimit = 300

func init() {
	registry.AddCatalog(catalog...)
	llm.RegisterProvider(ProviderName, open)
}

// open is the lazy opener registered with llm: it reads the environment on
// first use. A missing OPENAI_API_KEY does not fail the open, because models
// with their own APIBase (a local server) must work without it; calls routed
// to api.openai.com fail instead with an error saying to set the key.
func open() (llm.Provider, error) {
	return newProvider(ConfigFromEnv(), false)
}

// Config configures the OpenAI provider. The zero value talks to
// api.openai.com and needs only APIKey.
type Config struct {
	// APIKey is sent as "Authorization: Bearer <key>". It is required for
	// api.openai.com and optional for other servers.
	APIKey string
	// BaseURL is the API root, DefaultBaseURL when empty. Any
	// OpenAI-compatible server works (vLLM, Ollama, LiteLLM, …): give the
	// URL that precedes /chat/completions, e.g. "http://localhost:8000/v1".
	BaseURL string
	// Organization is sent as the OpenAI-Organization header when set.
	Organization string
	// AllowInsecureHTTP lets the provider send the API key over plain
	// http to a host that is not a loopback address (a server on a trusted
	// network). Without it such a base URL is refused, for Config.BaseURL
	// and for a model's APIBase alike; http to localhost, or without a key,
	// is always allowed. OPENAI_ALLOW_INSECURE_HTTP=1 sets it.
	AllowInsecureHTTP bool
	// HTTPClient sends the requests. When nil the provider creates one with
	// a connection pool sized for high concurrency; it sets no overall
	// timeout, because the llm.Client bounds each attempt with its context
	// and a fixed timeout would cut long streams. The provider uses a copy
	// that follows no redirects (see RefuseRedirects).
	HTTPClient *http.Client
	// MaxResponseBytes bounds a reply body and each line of a stream;
	// DefaultMaxResponseBytes (64 MiB) when 0 or less. A larger one fails
	// with ErrResponseTooLarge, without reading the rest.
	MaxResponseBytes int64
}

// ConfigFromEnv returns a Config from OPENAI_API_KEY, OPENAI_BASE_URL,
// OPENAI_ORG_ID and OPENAI_ALLOW_INSECURE_HTTP ("1" or "true").
func ConfigFromEnv() Config {
	insecure := strings.ToLower(strings.TrimSpace(os.Getenv(EnvAllowInsecureHTTP)))
	return Config{
		APIKey:            os.Getenv(EnvAPIKey),
		BaseURL:           os.Getenv(EnvBaseURL),
		Organization:      os.Getenv(EnvOrgID),
		AllowInsecureHTTP: insecure == "1" || insecure == "true",
	}
}

// String describes c without revealing the API key.
func (c Config) String() string {
	key := "unset"
	if c.APIKey != "" {
		key = "[REDACTED]"
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	return fmt.Sprintf("openai.Config{APIKey: %s, BaseURL: %q, Organization: %q}", key, base, c.Organization)
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog log c without the key.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// New returns a provider for cfg. It fails when the base URL is not an
// absolute http(s) URL, when it would carry the key in clear text, or when
// the key is missing for api.openai.com. Its errors are *llm.Error with
// llm.CodeConfiguration.
func New(cfg Config) (*Provider, error) {
	return newProvider(cfg, true)
}

// configError is the *llm.Error for a configuration that cannot work:
// nothing was sent, and the message names the setting to change.
func configError(provider, model string, err error) *llm.Error {
	return &llm.Error{Code: llm.CodeConfiguration, Provider: provider, Model: model,
		Message: strings.TrimPrefix(err.Error(), "openai: "), Err: err}
}

func newProvider(cfg Config, requireKey bool) (*Provider, error) {
	base, err := normalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, configError(ProviderName, "", err)
	}
	if cfg.APIKey != "" && !cfg.AllowInsecureHTTP {
		if err := checkKeyTransport(base); err != nil {
			return nil, configError(ProviderName, "", err)
		}
	}
	var noKey error
	if cfg.APIKey == "" && isOpenAIHost(base) {
		noKey = fmt.Errorf("no API key for %s: set %s (or Config.APIKey) to a key from https://platform.openai.com/api-keys", base, EnvAPIKey)
		if requireKey {
			return nil, configError(ProviderName, "", noKey)
		}
	}
	cc := goopenai.DefaultConfig(cfg.APIKey)
	cc.BaseURL = base
	cc.OrgID = cfg.Organization
	client, owned := httpguard.Client(cfg.HTTPClient)
	cc.HTTPClient = client
	var redact []string
	if cfg.APIKey != "" {
		redact = []string{cfg.APIKey}
	}
	p, err := NewFromClientConfig(cc, Options{Name: ProviderName, Redact: redact, Hint: openAIHint, MaxResponseBytes: cfg.MaxResponseBytes, APIKey: cfg.APIKey})
	if err != nil {
		return nil, err
	}
	p.owned = owned
	p.checkHTTP = !cfg.AllowInsecureHTTP
	p.hasKey = cfg.APIKey != ""
	if noKey != nil {
		p.def.err = noKey
	}
	return p, nil
}

// Options adapts the provider to an OpenAI-compatible service other than
// OpenAI itself; see NewFromClientConfig. The zero value behaves like the
// "openai" provider, with generic error advice.
type Options struct {
	// Name is the provider name reported in responses and errors
	// (e.g. "azure-foundry"); ProviderName when empty.
	Name string
	// WireName maps a model to the name sent as "model" in the request body
	// (and, for go-openai's Azure API types, passed to AzureModelMapperFunc
	// to build the deployment path). Nil means Model.Name, or Model.ID
	// when Name is empty.
	WireName func(m registry.Model) string
	// ModelConfig returns the client configuration for a model whose
	// APIBase or APIKeyEnvVar sets it apart from the default endpoint. It is
	// called once per distinct (APIBase, APIKeyEnvVar) pair and the client
	// built from it is kept. Nil means: the default configuration with
	// BaseURL = Model.APIBase and, when Model.APIKeyEnvVar is set, the key
	// read from that variable.
	ModelConfig func(m registry.Model) (goopenai.ClientConfig, error)
	// Hint returns advice appended to the server's message for an error of
	// the given code (what to check for a 401, a 404, …); "" adds nothing.
	// Nil uses generic advice.
	Hint func(code llm.Code, m registry.Model) string
	// Redact lists secrets (API keys, static tokens) that must never appear
	// in an error message; they are replaced by "[REDACTED]" wherever a
	// server echoes them. A key the provider reads from a model's
	// APIKeyEnvVar (when ModelConfig is nil) is redacted too, and so are
	// the credentials each request carries (its api-key header and bearer
	// token), read back from the request.
	Redact []string
	// MaxResponseBytes bounds a reply body and each line of a stream;
	// DefaultMaxResponseBytes when 0 or less.
	MaxResponseBytes int64
	// APIKey is the key the ClientConfig was built with (go-openai keeps
	// it unexported), for the requests the provider sends without
	// go-openai: the Responses API and its background polls. It goes in
	// "Authorization: Bearer" (go-openai's OpenAI and AzureAD API types)
	// or "api-key" (its Azure type), as go-openai would send it, before
	// the configured HTTP doer, which may set credentials of its own (the
	// azure-foundry provider's does, and leaves this empty). A model's
	// APIKeyEnvVar key replaces it for that model.
	APIKey string
	// ResponsesAPIVersion is the api-version of the Responses API routes
	// for go-openai's Azure API types ({base}/openai/responses?api-version=…);
	// the ClientConfig's APIVersion when empty. On the OpenAI API type the
	// Responses API is {base}/responses, with the ClientConfig's
	// APIVersion as a query when set (Azure's v1 "preview").
	ResponsesAPIVersion string
}

// Provider is an llm.Provider and llm.Streamer for the OpenAI chat
// completions API and compatible servers. It is safe for concurrent use;
// build it once and share it.
type Provider struct {
	name     string
	wireName func(registry.Model) string
	hint     func(llm.Code, registry.Model) string
	redact   []string

	base        goopenai.ClientConfig // the default configuration, as given
	baseURL     string                // its normalized BaseURL
	modelConfig func(registry.Model) (goopenai.ClientConfig, error)
	apiKey      string // Options.APIKey, or Config.APIKey: for the requests go-openai does not send (Responses, batch)
	respVersion string // Options.ResponsesAPIVersion

	def       *endpoint
	endpoints sync.Map // endpointKey → *endpoint, for models with their own APIBase or key
	owned     *http.Transport
	// maxBody bounds what one response may hold.
	maxBody int64

	// checkHTTP refuses a model APIBase that would carry a key over plain
	// http to a non-loopback host; hasKey tells whether the default
	// configuration has a key. Set by New only: NewFromClientConfig's
	// callers validate their own endpoints.
	checkHTTP, hasKey bool
}

// endpoint is one go-openai client, built once and reused for every call.
type endpoint struct {
	client *goopenai.Client
	// err, when set, is returned for every call routed here (e.g. the
	// default endpoint of a provider opened without OPENAI_API_KEY).
	err error
	// key is this endpoint's own API key, redacted from its errors.
	key string
	// raw sends the requests go-openai cannot express (the Responses
	// API) through the same doer chain as the client's.
	raw rawEndpoint
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Streamer = (*Provider)(nil)
	_ llm.Closer   = (*Provider)(nil)
)

// NewFromClientConfig returns a provider that sends requests through a
// go-openai client built once from cc. It is how other providers reuse this
// package's serializer, parser and error mapping: cc supplies the base URL,
// the API type (go-openai's Azure types build classic
// /openai/deployments/{name}/… URLs with an api-version query) and the HTTP
// client, whose Do can add authentication or pick a region. The provider
// wraps cc.HTTPClient to capture response headers and error bodies, which
// go-openai drops. cc.BaseURL must be an absolute http(s) URL.
func NewFromClientConfig(cc goopenai.ClientConfig, opts Options) (*Provider, error) {
	base, err := normalizeBaseURL(cc.BaseURL)
	if err != nil {
		return nil, configError(cmp.Or(opts.Name, ProviderName), "", err)
	}
	cc.BaseURL = base
	if cc.HTTPClient == nil {
		cc.HTTPClient = RefuseRedirects(nil)
	}
	if cc.EmptyMessagesLimit == 0 {
		cc.EmptyMessagesLimit = defaultEmptyMessagesLimit
	}
	p := &Provider{
		name:        opts.Name,
		wireName:    opts.WireName,
		hint:        opts.Hint,
		base:        cc,
		baseURL:     base,
		modelConfig: opts.ModelConfig,
		maxBody:     limitOf(opts.MaxResponseBytes),
		apiKey:      opts.APIKey,
		respVersion: opts.ResponsesAPIVersion,
	}
	for _, s := range opts.Redact {
		if s != "" {
			p.redact = append(p.redact, s)
		}
	}
	if p.name == "" {
		p.name = ProviderName
	}
	if p.wireName == nil {
		p.wireName = defaultWireName
	}
	if p.hint == nil {
		p.hint = genericHint
	}
	p.def = p.newEndpoint(cc, opts.APIKey)
	return p, nil
}

// newEndpoint builds the clients of one endpoint: go-openai's, and the raw
// requests' over the same doer chain, authenticated with key.
func (p *Provider) newEndpoint(cc goopenai.ClientConfig, key string) *endpoint {
	client, doer := newClient(cc, p.maxBody)
	return &endpoint{client: client, raw: newRawEndpoint(cc, doer, key, p.respVersion)}
}

// newClient builds a go-openai client whose HTTP doer captures what the
// provider needs from each response, and returns that doer too.
func newClient(cc goopenai.ClientConfig, limit int64) (*goopenai.Client, goopenai.HTTPDoer) {
	switch c := cc.HTTPClient.(type) {
	case nil:
		cc.HTTPClient = RefuseRedirects(http.DefaultClient)
	case *http.Client:
		cc.HTTPClient = RefuseRedirects(c)
	}
	cc.HTTPClient = captureDoer{next: cc.HTTPClient, limit: limit}
	return goopenai.NewClientWithConfig(cc), cc.HTTPClient
}

// Name returns the provider name reported in responses and errors.
func (p *Provider) Name() string { return p.name }

// WireName returns the model name the provider puts on the wire for m.
func (p *Provider) WireName(m registry.Model) string { return p.wireName(m) }

// Close releases the idle connections of the transport the provider created
// (none when the caller supplied the HTTP client). The provider stays usable.
func (p *Provider) Close() error {
	if p.owned != nil {
		p.owned.CloseIdleConnections()
	}
	return nil
}

func defaultWireName(m registry.Model) string {
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}

// endpointFor returns the client serving m: the default one unless the
// model names its own APIBase or key variable.
func (p *Provider) endpointFor(m registry.Model) (*endpoint, error) {
	if m.APIKeyEnvVar == "" && (m.APIBase == "" || m.APIBase == p.baseURL) {
		return p.def, p.def.err
	}
	key := m.APIBase + "\x00" + m.APIKeyEnvVar
	if ep, ok := p.endpoints.Load(key); ok {
		return ep.(*endpoint), nil
	}
	ep, err := p.buildEndpoint(m)
	if err != nil {
		// Not cached: the environment may be fixed while the program runs.
		return nil, err
	}
	actual, _ := p.endpoints.LoadOrStore(key, ep)
	return actual.(*endpoint), nil
}

func (p *Provider) buildEndpoint(m registry.Model) (*endpoint, error) {
	var (
		cc  goopenai.ClientConfig
		key string
		err error
	)
	rawKey := p.apiKey
	if p.modelConfig != nil {
		cc, err = p.modelConfig(m)
		if err != nil {
			return nil, configError(p.name, m.ID, fmt.Errorf("configuring the endpoint of model %s: %w", m.ID, err))
		}
	} else {
		cc = p.base
		if m.APIKeyEnvVar != "" {
			key = os.Getenv(m.APIKeyEnvVar)
			if key == "" {
				return nil, &llm.Error{Code: llm.CodeAuthentication, Provider: p.name, Model: m.ID,
					Message: fmt.Sprintf("model %s reads its API key from %s, which is empty: set it", m.ID, m.APIKeyEnvVar)}
			}
			cc = withKey(p.base, key)
			rawKey = key
		}
		if m.APIBase != "" {
			cc.BaseURL = m.APIBase
		}
	}
	base, err := normalizeBaseURL(cc.BaseURL)
	if err == nil && p.checkHTTP && p.modelConfig == nil && (key != "" || p.hasKey) {
		err = checkKeyTransport(base)
	}
	if err != nil {
		return nil, configError(p.name, m.ID, err)
	}
	cc.BaseURL = base
	if cc.EmptyMessagesLimit == 0 {
		cc.EmptyMessagesLimit = defaultEmptyMessagesLimit
	}
	if cc.HTTPClient == nil {
		cc.HTTPClient = p.base.HTTPClient
	}
	ep := p.newEndpoint(cc, rawKey)
	ep.key = key
	return ep, nil
}

// withKey returns a copy of cc authenticating with key. go-openai keeps the
// token unexported, so the copy starts from DefaultConfig(key) and takes
// every exported field of cc.
func withKey(cc goopenai.ClientConfig, key string) goopenai.ClientConfig {
	out := goopenai.DefaultConfig(key)
	out.BaseURL = cc.BaseURL
	out.OrgID = cc.OrgID
	out.APIType = cc.APIType
	out.APIVersion = cc.APIVersion
	out.AssistantVersion = cc.AssistantVersion
	out.AzureModelMapperFunc = cc.AzureModelMapperFunc
	out.HTTPClient = cc.HTTPClient
	out.EmptyMessagesLimit = cc.EmptyMessagesLimit
	return out
}

// normalizeBaseURL checks that s is an absolute http(s) URL and strips its
// trailing slashes; "" means DefaultBaseURL.
func normalizeBaseURL(s string) (string, error) {
	if s == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("openai: base URL %q is not an absolute http(s) URL such as %s or http://localhost:8000/v1", s, DefaultBaseURL)
	}
	return strings.TrimRight(s, "/"), nil
}

// checkKeyTransport refuses to send an API key in clear text: base must be
// https, or http to a loopback address (a local server, an emulator).
func checkKeyTransport(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("openai: base URL %q: %w", base, err)
	}
	if u.Scheme == "https" || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("openai: refusing to send the API key in clear text to %s: use an https URL, or set %s=1 (Config.AllowInsecureHTTP) if the network is trusted",
		u.Redacted(), EnvAllowInsecureHTTP)
}

// isLoopback reports whether host is "localhost" itself or a literal
// loopback address (see httpguard.IsLoopback).
func isLoopback(host string) bool { return httpguard.IsLoopback(host) }

func isOpenAIHost(base string) bool {
	u, err := url.Parse(base)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

// errNoChoices is the cause of the error for a 200 response without choices.
var errNoChoices = errors.New("openai: response has no choices")
