package httpguard

import (
	"net/http"
	"time"
)

// MaxIdleConnsPerHost sizes the connection pool of the transports the
// providers create: above llm.DefaultMaxConcurrency, so that a saturated
// client reuses connections instead of opening new ones.
const MaxIdleConnsPerHost = 256

// Client returns the HTTP client a provider sends with: hc (a caller's
// Config.HTTPClient) copied to follow no redirect, since a redirect could
// carry the credential to another host; or, when hc is nil, a client of the
// provider's own over a new [NewTransport], returned as owned for the
// provider's Close to release.
func Client(hc *http.Client) (client *http.Client, owned *http.Transport) {
	if hc != nil {
		return RefuseRedirects(hc), nil
	}
	owned = NewTransport()
	return RefuseRedirects(&http.Client{Transport: owned}), owned
}

// NewTransport returns a clone of http.DefaultTransport (proxy settings,
// dial and TLS timeouts, HTTP/2) with a pool sized by MaxIdleConnsPerHost.
func NewTransport() *http.Transport {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	t.MaxIdleConns = 0 // no global cap; the per-host cap bounds the pool
	t.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	t.IdleConnTimeout = 90 * time.Second
	return t
}
