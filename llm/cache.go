package llm

import "context"

// Cache stores successful responses by request fingerprint
// (Request.Fingerprint). Implementations must be safe for concurrent use.
// Package github.com/deluge-go/deluge/cache provides an in-memory and an
// embedded SQLite store.
type Cache interface {
	// Get returns the response stored under key; ok is false on a miss.
	Get(ctx context.Context, key string) (resp *Response, ok bool, err error)
	// Put stores resp under key.
	Put(ctx context.Context, key string, resp *Response) error
}
