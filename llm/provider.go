package llm

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/deluge-go/deluge/registry"
)

// Provider is the one method a provider must implement: turn a [Request]
// into a [Response]. It must be safe for concurrent use, must not modify the
// Request, and should return errors as [*Error] so the [Client] can classify
// and retry them. It performs one logical call: retries, rate limits and
// caching are the [Client]'s job, so a call sends one request. A provider
// that serves a model from several endpoints (Azure's regions) may fail
// over between them within the call, trying each at most once, and then
// reports the requests it sent in [Response.Attempts], which the Client
// adds to its own count. Package
// [github.com/deluge-go/deluge/providers/providertest] checks all of this.
type Provider interface {
	Generate(ctx context.Context, req *Request) (*Response, error)
}

// Streamer is implemented by providers that can stream a reply. The
// [Client] finds it by type assertion and falls back to
// [Provider.Generate] (one chunk) when a provider lacks it.
//
// The sequence yields chunks in order and ends after the last one; an error
// is yielded at most once, as the final element. Breaking out of the loop
// early must release the connection.
type Streamer interface {
	Stream(ctx context.Context, req *Request) iter.Seq2[*Chunk, error]
}

// CacheIdentity is implemented by providers whose answer to a request
// depends on more than the request says: where it is sent and how. The
// [Client] mixes the identity of a request's model into its cache key
// ([CacheKey]), so that a rerun after the endpoint, the deployment or the
// API version changed is sent again instead of being answered with another
// configuration's reply (or one another account paid for).
//
// CacheIdentity(m) must return the same string for the same configuration
// in every process (no pointers, times or random values), and different
// strings for configurations that may answer differently or bill someone
// else: the endpoint or set of regions, the deployment serving m, the API
// family and version. It must not contain a secret in clear (it is hashed
// into the key, but a cache store may log keys); leave credentials out
// unless they decide who is billed, and then hash them. A provider without
// it is keyed by the request alone.
type CacheIdentity interface {
	CacheIdentity(m registry.Model) string
}

// Closer is implemented by providers holding resources (idle connections,
// credential refreshers) that the program wants to release; see
// [Client.Close].
type Closer interface {
	Close() error
}

// ProviderFunc adapts a function to the [Provider] interface.
type ProviderFunc func(ctx context.Context, req *Request) (*Response, error)

// Generate calls f.
func (f ProviderFunc) Generate(ctx context.Context, req *Request) (*Response, error) {
	return f(ctx, req)
}

type providerEntry struct {
	open func() (Provider, error)
	once func() (Provider, error)
}

var (
	providersMu sync.RWMutex
	providers   = map[string]*providerEntry{}
)

// RegisterProvider makes a provider available under name. It is called from
// a provider package's init; open runs lazily, once, the first time a
// [Client] needs the provider, so it is the place to read the environment.
// Like [database/sql.Register], it panics if open is nil or name is
// registered twice. Models name their provider in
// [registry.Model.Provider].
func RegisterProvider(name string, open func() (Provider, error)) {
	if open == nil {
		panic("llm: RegisterProvider open function is nil")
	}
	if name == "" {
		panic("llm: RegisterProvider name is empty")
	}
	providersMu.Lock()
	defer providersMu.Unlock()
	if _, dup := providers[name]; dup {
		panic("llm: RegisterProvider called twice for provider " + name)
	}
	providers[name] = &providerEntry{open: open, once: sync.OnceValues(open)}
}

// Providers returns the names of the registered providers, sorted.
func Providers() []string {
	providersMu.RLock()
	names := make([]string, 0, len(providers))
	for name := range providers {
		names = append(names, name)
	}
	providersMu.RUnlock()
	slices.Sort(names)
	return names
}

// OpenProvider returns the shared instance of the named provider (see
// [RegisterProvider]), opening it on first use. An open error is remembered and returned on every call, so a
// misconfigured environment fails the same way each time.
func OpenProvider(name string) (Provider, error) {
	providersMu.RLock()
	e, ok := providers[name]
	providersMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("llm: unknown provider %q (forgotten import of %q?)", name, providerImportPath(name))
	}
	p, err := e.once()
	if err != nil {
		return nil, fmt.Errorf("llm: opening provider %q: %w", name, err)
	}
	return p, nil
}

// providerImportPath guesses the package that registers a provider, for the
// "forgotten import" hint: provider keys are package names with dashes.
func providerImportPath(name string) string {
	return "github.com/deluge-go/deluge/providers/" + strings.ReplaceAll(strings.ToLower(name), "-", "")
}

// QuotaKeyer is implemented by providers that know which quota a model
// draws on. The [Client] keys the pacing state of each model by it (see
// [WithLimiter]), so that clients, and processes sharing a limiter, that
// call the same quota pace it together, and calls to different quotas do
// not slow each other down. For Azure OpenAI the quota is the deployment:
// the key names the endpoint and the deployment; OpenAI and Anthropic count
// per account and model: their keys name the server, the account and the
// wire model (docs/engine.md, "Plugging another limiter"). A provider
// without it, or one returning "", gets "provider:model-ID". A key must not
// contain a secret.
type QuotaKeyer interface {
	QuotaKey(m registry.Model) string
}
