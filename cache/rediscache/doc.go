// Package rediscache is an [llm.Cache] store on Redis, so that a rerun on
// any host — another pod of a Kubernetes job, a worker on another VM — is
// answered from the replies any of them stored.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	store, err := rediscache.New(rdb, rediscache.WithTTL(30*24*time.Hour))
//	if err != nil { … }
//	client, err := llm.NewClient("azure-gpt-4o", llm.WithCache(store))
//
// # Keys and values
//
// Entries are keyed exactly as the SQLite store's: by the request's
// fingerprint ([llm.Request.Fingerprint], computed by the engine), so a hit
// is a reply to exactly the same request. A store with prefix P (default
// "deluge:") keeps three Redis keys, which share the hash tag {cache} so
// that they live in one slot of a Redis Cluster:
//
//	P{cache}:entries  a hash: fingerprint → "d1:<Put time, Unix ms>:<JSON of the llm.Response>"
//	P{cache}:times    a sorted set: fingerprint, scored by its Put time
//	P{cache}:bytes    the size of the entries (fields and values), in bytes
//
// The JSON is the SQLite store's (the response without its HTTP headers,
// which are never stored). A hit returns the response with Cached set and
// Cost 0; its original cost is added to the store's Stats.SavedCost.
//
// # Bounds: size and age
//
// Each Put runs one Lua script that stores the entry, deletes up to a
// hundred entries older than the TTL ([WithTTL]), then deletes the oldest
// entries (by Put time) while the store holds more than [WithMaxEntries]
// responses or more than [WithMaxBytes] bytes (256 MiB unless told
// otherwise): the bounds hold after every Put, for all processes, whatever
// Redis's maxmemory policy. (Run Redis with maxmemory-policy noeviction or
// a volatile-* policy: allkeys-* policies may evict the whole hash at once,
// which empties the cache, harmlessly.) With a TTL, the three keys also
// expire a TTL after the last Put. An entry older than the TTL is a miss
// even before it is deleted; age is measured by the clocks of the hosts,
// which need agree only to within a small fraction of the TTL.
//
// # Failures
//
// A lookup or a Put that fails (Redis lost) returns an error wrapping
// [ErrUnavailable]; for a second after it, calls fail at once without
// calling Redis, so a lost Redis slows nothing down. package llm logs cache
// errors (once as a warning) and goes on without the cache: a reply that
// could not be stored is asked for again on a rerun, and nothing is lost.
package rediscache
