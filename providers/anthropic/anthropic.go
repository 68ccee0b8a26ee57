package anthropic

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// ProviderName is the key under which the package registers its provider
// and the Provider field of its catalog models.
const ProviderName = "anthropic"

// DefaultBaseURL is Anthropic's API endpoint: requests go to
// DefaultBaseURL + "/v1/messages".
const DefaultBaseURL = "https://api.anthropic.com"

// DefaultVersion is the anthropic-version header sent with every request:
// the current (and only) version of the Messages API.
const DefaultVersion = "2023-06-01"

// DefaultMaxTokens is the max_tokens sent when a request sets no
// MaxNewTokens (Anthropic requires the field): this, or the model's
// MaxOutputTokens when that is lower. A larger default would not make
// replies longer, but Anthropic and Azure charge max_tokens against the
// per-minute output quota when a request is admitted, so it would cut
// throughput. Set llm.WithMaxNewTokens for longer replies.
const DefaultMaxTokens = 4096

// Environment variables read by ConfigFromEnv.
const (
	EnvAPIKey    = "ANTHROPIC_API_KEY"
	EnvAuthToken = "ANTHROPIC_AUTH_TOKEN"
	EnvBaseURL   = "ANTHROPIC_BASE_URL"
	// EnvAllowInsecureHTTP set to 1 allows sending the key over plain
	// http to a non-loopback host (Config.AllowInsecureHTTP).
	EnvAllowInsecureHTTP = "ANTHROPIC_ALLOW_INSECURE_HTTP"
)

func init() {
	registry.AddCatalog(catalog...)
	llm.RegisterProvider(ProviderName, open)
}

// open is the lazy opener registered with llm: it reads the environment on
// first use. A missing key does not fail the open, because models with their
// own APIBase (a gateway) must work without it; calls routed to
// api.anthropic.com fail instead with an error saying to set the key.
func open() (llm.Provider, error) {
	return newProvider(ConfigFromEnv(), false)
}

// Config configures the Anthropic provider. The zero value talks to
// api.anthropic.com and needs only APIKey.
type Config struct {
	// APIKey is sent as the x-api-key header.
	APIKey string
	// AuthToken is sent as "Authorization: Bearer <token>" instead of a key
	// (gateways that take bearer tokens). At most one of APIKey and
	// AuthToken may be set.
	AuthToken string
	// BaseURL is the API root, DefaultBaseURL when empty: the URL before
	// /v1/messages.
	BaseURL string
	// Version is the anthropic-version header; DefaultVersion when empty.
	Version string
	// AllowInsecureHTTP lets the provider send the key over plain http to
	// a host that is not a loopback address. Without it such a base URL is
	// refused, for Config.BaseURL and a model's APIBase alike.
	AllowInsecureHTTP bool
	// HTTPClient sends the requests. When nil the provider creates one with
	// a connection pool sized for high concurrency and no overall timeout
	// (the llm.Client bounds each attempt with its context). Whatever the
	// client, redirects are never followed.
	HTTPClient *http.Client
	// MaxResponseBytes bounds what one response may hold: a reply body, and
	// each line of a stream. 0 means DefaultMaxResponseBytes (64 MiB, far
	// above any real reply). Past it the call fails with an *llm.Error with
	// llm.CodeConfiguration whose cause is ErrResponseTooLarge.
	MaxResponseBytes int64
}

// DefaultMaxResponseBytes is the default of Config.MaxResponseBytes and
// Endpoint.MaxResponseBytes: the same bound as every provider of this
// module (see providers/openai.DefaultMaxResponseBytes).
const DefaultMaxResponseBytes = httpguard.DefaultMaxResponseBytes

// ErrResponseTooLarge is the cause (under errors.Is) of the error for a
// reply over MaxResponseBytes; it is the same value as
// openai.ErrResponseTooLarge.
var ErrResponseTooLarge = httpguard.ErrResponseTooLarge

// ErrRedirect is the cause (under errors.Is) of the error for a reply that
// redirected (a 3xx): the Messages API does not redirect, and following
// would carry the credential elsewhere, so the provider follows none. It
// is the same value as openai.ErrRedirect.
var ErrRedirect = httpguard.ErrRedirect

// ConfigFromEnv returns a Config from ANTHROPIC_API_KEY,
// ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL and ANTHROPIC_ALLOW_INSECURE_HTTP
// ("1" or "true").
func ConfigFromEnv() Config {
	insecure := strings.ToLower(strings.TrimSpace(os.Getenv(EnvAllowInsecureHTTP)))
	return Config{
		APIKey:            os.Getenv(EnvAPIKey),
		AuthToken:         os.Getenv(EnvAuthToken),
		BaseURL:           strings.TrimSpace(os.Getenv(EnvBaseURL)),
		AllowInsecureHTTP: insecure == "1" || insecure == "true",
	}
}

// String describes c without revealing the key or token.
func (c Config) String() string {
	auth := "none"
	switch {
	case c.APIKey != "" && c.AuthToken != "":
		auth = "x-api-key [REDACTED] + bearer [REDACTED]"
	case c.APIKey != "":
		auth = "x-api-key [REDACTED]"
	case c.AuthToken != "":
		auth = "bearer [REDACTED]"
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	return fmt.Sprintf("anthropic.Config{Auth: %s, BaseURL: %q}", auth, base)
}

// GoString is String, so that %#v does not print secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog log c without secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Endpoint configures a Provider for a server other than api.anthropic.com
// that speaks the Messages API, such as Claude on Azure AI Foundry: it is
// how another provider reuses this package's serializer, parser and error
// mapping, supplying only the URL, the credential and the names. The
// caller validates the URL (host rules, HTTPS).
type Endpoint struct {
	// Name is the provider name reported in responses and errors;
	// ProviderName when empty.
	Name string
	// BaseURL is the URL before /v1/messages, e.g.
	// https://my-resource.services.ai.azure.com/anthropic.
	BaseURL string
	// Version is the anthropic-version header; DefaultVersion when empty.
	Version string
	// Authenticate sets the request's credential header (x-api-key, or
	// Authorization: Bearer with a fresh token). It runs once per request,
	// just before sending; an error fails the call with nothing sent. Nil
	// sends no credential.
	Authenticate func(req *http.Request) error
	// HTTPClient sends the requests; nil means a client of the provider's
	// own. Redirects are never followed, whatever the client says.
	HTTPClient *http.Client
	// WireName maps a model to the body's "model" (for Azure, the
	// deployment name); nil means Model.Name, else Model.ID.
	WireName func(registry.Model) string
	// Redact lists secrets that must never appear in an error message or
	// a reply. The credential each request carries (whatever Authenticate
	// set in x-api-key or Authorization) is redacted too.
	Redact []string
	// MaxResponseBytes bounds what one response may hold, as
	// Config.MaxResponseBytes.
	MaxResponseBytes int64
}

// Provider is an llm.Provider and llm.Streamer for Anthropic's Messages API.
// It is safe for concurrent use; build it once and share it.
type Provider struct {
	name     string
	version  string
	client   *http.Client
	owned    *http.Transport // closed by Close; nil when the caller gave the client
	wireName func(registry.Model) string
	redact   []string
	maxBody  int64

	def *endpoint
	// endpoints holds the endpoints of models with their own APIBase or key
	// variable (New only), built on first use.
	endpoints sync.Map // string → *endpoint
	// checkHTTP refuses a model APIBase that would carry a credential in
	// clear text; hasAuth tells whether the default endpoint has one.
	checkHTTP, hasAuth, custom bool
}

// endpoint is one URL with its credential.
type endpoint struct {
	url  string // …/v1/messages
	base string
	auth func(*http.Request) error
	// err, when set, is returned for every call routed here (the default
	// endpoint of a provider opened without ANTHROPIC_API_KEY).
	err error
	// secret is this endpoint's own key, redacted from its errors.
	secret string
	// creds are the credentials one request carried (x-api-key, the
	// bearer token), read back after Authenticate: set on the copy of the
	// endpoint a call works with (see forCall), for redaction.
	creds [2]string
}

// forCall returns a copy of ep for one call, to record the credentials the
// call's request carries.
func (ep *endpoint) forCall() *endpoint {
	c := *ep
	return &c
}

// secrets returns what a call to ep must not let out: the provider's
// secrets, the endpoint's own key and the credentials the request carried.
func (p *Provider) secrets(ep *endpoint) httpguard.Secrets {
	s := httpguard.Secrets(nil).Add(p.redact...)
	if ep != nil {
		s = s.Add(ep.secret).Add(ep.creds[:]...)
	}
	return s
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Streamer = (*Provider)(nil)
	_ llm.Closer   = (*Provider)(nil)
)

// New returns a provider for cfg. It fails when the base URL is not an
// absolute http(s) URL, when it would carry the key in clear text, when both
// a key and a token are set, or when api.anthropic.com has no key.
func New(cfg Config) (*Provider, error) {
	return newProvider(cfg, true)
}

func newProvider(cfg Config, strict bool) (*Provider, error) {
	if cfg.APIKey != "" && cfg.AuthToken != "" {
		return nil, fmt.Errorf("anthropic: both an API key (%s) and an auth token (%s) are set; set one: a request carries one credential", EnvAPIKey, EnvAuthToken)
	}
	base, err := normalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	hasAuth := cfg.APIKey != "" || cfg.AuthToken != ""
	if hasAuth && !cfg.AllowInsecureHTTP {
		if err := checkKeyTransport(base); err != nil {
			return nil, err
		}
	}
	p := &Provider{
		name:      ProviderName,
		version:   orDefault(cfg.Version, DefaultVersion),
		wireName:  defaultWireName,
		checkHTTP: !cfg.AllowInsecureHTTP,
		hasAuth:   hasAuth,
		custom:    true,
		maxBody:   httpguard.LimitOf(cfg.MaxResponseBytes),
	}
	p.client, p.owned = httpguard.Client(cfg.HTTPClient)
	p.def = &endpoint{url: base + messagesPath, base: base, auth: credentialAuth(cfg.APIKey, cfg.AuthToken)}
	for _, s := range []string{cfg.APIKey, cfg.AuthToken} {
		if s != "" {
			p.redact = append(p.redact, s)
		}
	}
	if !hasAuth && isAnthropicHost(base) {
		p.def.err = fmt.Errorf("no API key for %s: set %s (or Config.APIKey) to a key from https://platform.claude.com/settings/keys", base, EnvAPIKey)
		if strict {
			return nil, fmt.Errorf("anthropic: %w", p.def.err)
		}
	}
	return p, nil
}

// NewEndpoint returns a provider for a server that speaks the Messages API
// under another provider's name (see Endpoint). Models' APIBase and
// APIKeyEnvVar are ignored: the caller routes them.
func NewEndpoint(e Endpoint) (*Provider, error) {
	base, err := normalizeBaseURL(e.BaseURL)
	if err != nil {
		return nil, err
	}
	if e.BaseURL == "" {
		return nil, errors.New("anthropic: Endpoint.BaseURL is empty")
	}
	p := &Provider{
		name:     orDefault(e.Name, ProviderName),
		version:  orDefault(e.Version, DefaultVersion),
		wireName: e.WireName,
		maxBody:  httpguard.LimitOf(e.MaxResponseBytes),
	}
	if p.wireName == nil {
		p.wireName = defaultWireName
	}
	p.client, p.owned = httpguard.Client(e.HTTPClient)
	p.def = &endpoint{url: base + messagesPath, base: base, auth: e.Authenticate}
	for _, s := range e.Redact {
		if s != "" {
			p.redact = append(p.redact, s)
		}
	}
	return p, nil
}

const messagesPath = "/v1/messages"

// Name returns the provider name reported in responses and errors.
func (p *Provider) Name() string { return p.name }

// Close releases the idle connections of the transport the provider created
// (none when the caller supplied the HTTP client). The provider stays usable.
func (p *Provider) Close() error {
	if p.owned != nil {
		p.owned.CloseIdleConnections()
	}
	return nil
}

// endpointFor returns where m's calls go: the default endpoint unless the
// model names its own APIBase or key variable (New only).
func (p *Provider) endpointFor(m registry.Model) (*endpoint, error) {
	if !p.custom || (m.APIKeyEnvVar == "" && (m.APIBase == "" || strings.TrimRight(m.APIBase, "/") == p.def.base)) {
		return p.def, p.def.err
	}
	k := m.APIBase + "\x00" + m.APIKeyEnvVar
	if ep, ok := p.endpoints.Load(k); ok {
		return ep.(*endpoint), nil
	}
	ep, err := p.buildEndpoint(m)
	if err != nil {
		// Not cached: the environment may be fixed while the program runs.
		return nil, err
	}
	actual, _ := p.endpoints.LoadOrStore(k, ep)
	return actual.(*endpoint), nil
}

func (p *Provider) buildEndpoint(m registry.Model) (*endpoint, error) {
	fail := func(code llm.Code, msg string) error {
		return &llm.Error{Code: code, Provider: p.name, Model: m.ID, Message: msg}
	}
	ep := &endpoint{base: p.def.base, auth: p.def.auth}
	hasAuth := p.hasAuth
	if m.APIKeyEnvVar != "" {
		key := os.Getenv(m.APIKeyEnvVar)
		if key == "" {
			return nil, fail(llm.CodeAuthentication, fmt.Sprintf("model %s reads its API key from %s, which is empty: set it", m.ID, m.APIKeyEnvVar))
		}
		ep.auth, ep.secret, hasAuth = credentialAuth(key, ""), key, true
	}
	if m.APIBase != "" {
		base, err := normalizeBaseURL(m.APIBase)
		if err != nil {
			return nil, fail(llm.CodeInvalidRequest, err.Error())
		}
		ep.base = base
	}
	if p.checkHTTP && hasAuth {
		if err := checkKeyTransport(ep.base); err != nil {
			return nil, fail(llm.CodeInvalidRequest, err.Error())
		}
	}
	if !hasAuth && isAnthropicHost(ep.base) {
		return nil, fail(llm.CodeAuthentication, fmt.Sprintf("no API key for %s: set %s or the model's APIKeyEnvVar", ep.base, EnvAPIKey))
	}
	ep.url = ep.base + messagesPath
	return ep, nil
}

// credentialAuth sets x-api-key or a bearer token; nil when neither is set.
func credentialAuth(key, token string) func(*http.Request) error {
	switch {
	case key != "":
		v := []string{key}
		return func(r *http.Request) error {
			r.Header[headerAPIKey] = v
			return nil
		}
	case token != "":
		v := []string{"Bearer " + token}
		return func(r *http.Request) error {
			r.Header[headerAuthorization] = v
			return nil
		}
	}
	return nil
}

func defaultWireName(m registry.Model) string {
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// normalizeBaseURL checks that s is an absolute http(s) URL without a query
// and strips trailing slashes and a pasted /v1 or /v1/messages; "" means
// DefaultBaseURL.
func normalizeBaseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("anthropic: base URL %q is not an absolute http(s) URL such as %s", s, DefaultBaseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("anthropic: base URL %q must not carry credentials, a query or a fragment", u.Redacted())
	}
	s = strings.TrimRight(s, "/")
	for _, suffix := range [...]string{messagesPath, "/v1"} {
		if strings.HasSuffix(s, suffix) {
			s = strings.TrimSuffix(s, suffix)
			break
		}
	}
	return s, nil
}

// checkKeyTransport refuses to send a credential in clear text: base must
// be https, or http to a loopback address.
func checkKeyTransport(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("anthropic: base URL %q: %w", base, err)
	}
	if u.Scheme == "https" || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("anthropic: refusing to send the API key in clear text to %s: use an https URL, or set %s=1 (Config.AllowInsecureHTTP) if the network is trusted",
		u.Redacted(), EnvAllowInsecureHTTP)
}

// isLoopback reports whether host is "localhost" itself or a literal
// loopback address (see httpguard.IsLoopback): names under .localhost are
// resolved like any name and get no exemption from HTTPS.
func isLoopback(host string) bool { return httpguard.IsLoopback(host) }

func isAnthropicHost(base string) bool {
	u, err := url.Parse(base)
	return err == nil && strings.EqualFold(u.Hostname(), "api.anthropic.com")
}
