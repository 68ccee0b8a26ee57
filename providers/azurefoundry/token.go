package azurefoundry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// DefaultTokenScope is the Entra ID scope of Azure OpenAI and Foundry
// resources in the public cloud.
const DefaultTokenScope = "https://cognitiveservices.azure.com/.default"

const (
	// refreshMargin is how long before expiry a token is replaced when the
	// credential gives no RefreshOn hint: long enough that a request
	// started with the old token finishes before the server rejects it.
	refreshMargin = 5 * time.Minute
	// failedRefreshBackoff spaces retries of a failed refresh while the
	// current token is still valid, so a broken credential is not called
	// on every request.
	failedRefreshBackoff = 10 * time.Second
)

// tokenSource returns the bearer token to send.
type tokenSource interface {
	token(ctx context.Context) (string, error)
}

// staticToken is a fixed Entra ID token (AZURE_OPENAI_AD_TOKEN). It is not
// refreshed: when it expires the server answers 401 and the error says to
// supply a fresh one.
type staticToken string

func (t staticToken) token(context.Context) (string, error) { return string(t), nil }

// cachedToken is one token and when to replace it.
type cachedToken struct {
	value     string
	expiresOn time.Time
	refreshAt time.Time
}

// tokenCache serves tokens from an azcore.TokenCredential. Reads are one
// atomic load; a refresh is single-flight: when the token is due for
// refresh but still valid, one caller refreshes while the others keep
// using the current token; only when it has expired do callers wait.
type tokenCache struct {
	cred   azcore.TokenCredential
	opts   policy.TokenRequestOptions
	now    func() time.Time
	logger *slog.Logger

	cur atomic.Pointer[cachedToken]
	// sem is a one-slot semaphore guarding refreshes; a channel rather
	// than a mutex so that waiting honours the caller's context.
	sem chan struct{}
	// retryAt (unix nanos) holds back refresh attempts after a failure.
	retryAt atomic.Int64
}

func newTokenCache(cred azcore.TokenCredential, scope string, now func() time.Time, logger *slog.Logger) *tokenCache {
	return &tokenCache{
		cred:   cred,
		opts:   policy.TokenRequestOptions{Scopes: []string{scope}},
		now:    now,
		logger: logger,
		sem:    make(chan struct{}, 1),
	}
}

// errTokenUnavailable marks failures to obtain an Entra ID token, so the
// provider reports them as authentication errors, not network errors.
var errTokenUnavailable = errors.New("azurefoundry: no Entra ID token")

// tokenError is a credential failure.
type tokenError struct {
	scope string
	err   error
}

func (e *tokenError) Error() string {
	return fmt.Sprintf("getting an Entra ID token for scope %s: %v", e.scope, e.err)
}

func (e *tokenError) Unwrap() []error { return []error{errTokenUnavailable, e.err} }

func (c *tokenCache) token(ctx context.Context) (string, error) {
	now := c.now()
	t := c.cur.Load()
	if t != nil && now.Before(t.refreshAt) {
		return t.value, nil
	}
	valid := t != nil && now.Before(t.expiresOn)
	if valid {
		// Due for refresh but usable: refresh unless someone already is
		// or a recent attempt failed.
		if now.UnixNano() < c.retryAt.Load() {
			return t.value, nil
		}
		select {
		case c.sem <- struct{}{}:
		default:
			return t.value, nil
		}
	} else {
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	defer func() { <-c.sem }()

	// Another caller may have refreshed while this one waited.
	now = c.now()
	if t = c.cur.Load(); t != nil && now.Before(t.refreshAt) {
		return t.value, nil
	}
	at, err := c.cred.GetToken(ctx, c.opts)
	if err == nil && at.Token == "" {
		err = errors.New("the credential returned an empty token")
	}
	if err != nil {
		if t != nil && now.Before(t.expiresOn) {
			c.retryAt.Store(now.Add(failedRefreshBackoff).UnixNano())
			c.logger.LogAttrs(ctx, slog.LevelWarn, "azurefoundry: Entra ID token refresh failed; using the current token until it expires",
				slog.Time("expires_on", t.expiresOn), slog.String("error", err.Error()))
			return t.value, nil
		}
		return "", &tokenError{scope: c.opts.Scopes[0], err: err}
	}
	c.retryAt.Store(0)
	nt := &cachedToken{value: at.Token, expiresOn: at.ExpiresOn, refreshAt: refreshTime(now, at.ExpiresOn, at.RefreshOn)}
	c.cur.Store(nt)
	c.logger.LogAttrs(ctx, slog.LevelDebug, "azurefoundry: Entra ID token refreshed",
		slog.Time("expires_on", nt.expiresOn), slog.Time("refresh_at", nt.refreshAt))
	return nt.value, nil
}

// refreshTime decides when to replace a token obtained at now: at the
// credential's RefreshOn hint when it gives one, else refreshMargin before
// expiry, or halfway for tokens that live less than twice the margin.
func refreshTime(now, expiresOn, refreshOn time.Time) time.Time {
	if !refreshOn.IsZero() && refreshOn.Before(expiresOn) {
		return refreshOn
	}
	life := expiresOn.Sub(now)
	if life <= 2*refreshMargin {
		return now.Add(life / 2)
	}
	return expiresOn.Add(-refreshMargin)
}
