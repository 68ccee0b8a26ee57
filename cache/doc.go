// Package cache provides the response stores behind [llm.WithCache]: an
// in-memory LRU ([Memory]) for a single process and an embedded SQLite file
// ([SQLite]) that survives restarts and can be shared by several processes.
//
// Both implement [llm.Cache], and both pass its conformance suite,
// [github.com/deluge-go/deluge/cache/cachetest]. Keys are the hex SHA-256
// digests of [llm.CacheKey]: the request's [llm.Request.Fingerprint] (the
// provider, model, wire name, API family, every sampling setting, tools,
// response format and the whole conversation) mixed with the provider's
// [llm.CacheIdentity] (for Azure, the endpoints, deployment and API
// version), so a hit is a reply to exactly the same request sent to the
// same place.
//
//	store, err := cache.OpenSQLite(path) // e.g. path from cache.DefaultPath()
//	if err != nil { … }
//	defer store.Close()
//	client, err := llm.NewClient("azure-gpt-4o", llm.WithCache(store))
//
// # What a hit returns
//
// Both stores return the response as it was stored, with three changes that
// make it describe a cache hit rather than the original call:
//
//   - Cached is true;
//   - Cost is still the original price, what the reply cost when it was
//     paid; it is also added to [Stats].SavedCost (and kept in the
//     SQLite file);
//   - Header is nil: HTTP headers are never stored, in memory or on disk,
//     so a cache never holds credentials or stale rate-limit headers.
//
// Usage, Attempts, Latency, RequestID and the other fields are those of the
// original call. Every Get returns a fresh *llm.Response; see [Memory.Get]
// for what a Memory hit shares with the store.
//
// # Durability and concurrency
//
// Both stores are safe for concurrent use. [SQLite] runs in WAL mode with a
// busy timeout, so any number of goroutines and processes can read while one
// writes. Puts are encoded by the caller and committed by a single writer
// goroutine that groups whatever is queued into one transaction; Put returns
// once its response is queued, and a Get on the same handle sees it
// immediately. [SQLite.Flush] waits for everything queued so far to be
// committed and [SQLite.Close] flushes before closing. A crash can lose the
// Puts that were queued but not yet committed (normally the last few
// milliseconds) but never corrupts the file. [WithWriteBuffer](0) makes Put
// wait for its commit.
//
// A row that cannot be decoded is reported as a miss and logged with
// log/slog; it never fails the request. A file written by a newer deluge
// with an unknown schema is refused with [ErrNewerSchema].
package cache
