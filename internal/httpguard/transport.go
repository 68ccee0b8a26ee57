package httpguard

import (
	"net/http"
	"time"
)

// MaxIdleConnsPerHost sizes the connection pool of the transports the
// providers create: above llm.DefaultMaxConcurrency, so that a saturated
// client reuses connections instead of opening new ones.
const MaxIdleConnsPerHost = 256

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
