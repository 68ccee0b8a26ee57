package llm

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/deluge-go/deluge/registry"
)

// Cache stores successful responses under the keys the [Client] computes:
// [CacheKey] for a reply (the request's [Request.Fingerprint] with the
// provider's [CacheIdentity]), and a key of its own for each embeddings
// vector. Implementations must be safe for concurrent use.
// Package [github.com/deluge-go/deluge/cache] provides an in-memory and an
// embedded SQLite store, and [github.com/deluge-go/deluge/cache/cachetest]
// the conformance tests a store should pass.
type Cache interface {
	// Get returns the response stored under key; ok is false on a miss.
	Get(ctx context.Context, key string) (resp *Response, ok bool, err error)
	// Put stores resp under key.
	Put(ctx context.Context, key string, resp *Response) error
}

// cached serves the call from the cache when it can, and otherwise sends it
// once for all identical calls in flight (deduplication), storing a
// successful reply. Both need a fingerprint, so they only run with
// [WithCache]: without a cache, repeating a prompt is how callers sample
// several completions, and the client must not collapse them.
func (k *call) cached(ctx context.Context) (*Response, effort, error) {
	c, req := k.c, k.req
	start := time.Now()
	key := k.cacheKey(k.t)
	if resp, ok := c.cacheGet(ctx, key, start, &k.t.model); ok {
		return resp, effort{latency: resp.Latency}, nil
	}
	// With several models, a reply from any of them will do: a previous run
	// may have been routed elsewhere.
	dedupKey := key
	if k.pinned == nil && len(c.targets) > 1 {
		for i, u := range c.targets {
			if u == k.t {
				continue
			}
			uk := req.fingerprint(&u.model, c.identity(u))
			if i == 0 {
				dedupKey = uk // identical prompts share one key whatever the pick
			}
			if resp, ok := c.cacheGet(ctx, uk, start, &u.model); ok {
				return resp, effort{latency: resp.Latency}, nil
			}
		}
	}

	picked := k.t
	resp, shared, err := c.flights.Do(ctx, dedupKey, func() (*Response, error) {
		resp, err := k.attempts(ctx)
		if err == nil && resp.FinishReason != FinishContentFilter {
			pk := key
			if k.t != picked {
				pk = k.cacheKey(k.t) // the request now names the model that served it
			}
			c.cachePut(ctx, pk, resp)
		}
		return resp, err
	})
	if !shared {
		if err != nil {
			return nil, k.spent(), err
		}
		return resp, effort{attempts: resp.Attempts, latency: resp.Latency}, nil
	}
	// This call sent nothing: it waited for another.
	waited := effort{latency: time.Since(start)}
	if err != nil {
		var e *Error
		if ctx.Err() != nil && !errors.As(err, &e) {
			err = canceledError(ctx, nil) // this call's context ended while it waited
		}
		return nil, waited, err
	}
	if k.o.strictContentFilter && resp.FinishReason == FinishContentFilter {
		// The call that was sent may not have asked for strictness (it is
		// not part of the fingerprint); this one did.
		e := contentFiltered(resp)
		e.Header = nil
		return nil, waited, e
	}
	c.stats.deduplicated.Add(1)
	c.stats.saved.add(resp.Cost)
	k.shared = true
	r := reused(resp, start)
	return r, effort{latency: r.Latency}, nil
}

// cacheKey is the call's cache key when sent to t: its request's
// fingerprint with t's provider identity (see CacheKey).
func (k *call) cacheKey(t *target) string {
	return k.req.fingerprint(&t.model, k.c.identity(t))
}

// identity returns the CacheIdentity of t's provider for t's model, asked
// once per target. A provider that cannot be opened has none yet: the
// call fails when it is sent, and nothing is stored.
func (c *Client) identity(t *target) string {
	if v, ok := c.identities.Load(t); ok {
		return v.(string)
	}
	p, err := t.provider()
	if err != nil {
		return ""
	}
	id := identityOf(p, t.model)
	c.identities.Store(t, id)
	return id
}

// shareResponse is the copy of a reply handed to the identical calls that
// waited for it: the caller that sent it owns the original and may change
// it.
func shareResponse(resp *Response) *Response {
	if resp == nil {
		return nil
	}
	cp := *resp
	return &cp
}

// abandoned reports whether the call a deduplicated call waited for failed
// because its own caller gave up, not because of the request: the waiting
// call, whose context is still live, then sends the request itself.
func abandoned(err error) bool { return CodeOf(err) == CodeCanceled }

// reused returns a copy of a reply served from the cache or shared with an
// identical call: free, and sent by nobody on this call's behalf.
func reused(resp *Response, start time.Time) *Response {
	r := *resp
	r.Cached = true
	r.Cost = 0
	r.Attempts = 0
	r.Latency = time.Since(start)
	return &r
}

// cacheGet looks key up for a call to model m, counting a hit and what it
// saved.
func (c *Client) cacheGet(ctx context.Context, key string, start time.Time, m *registry.Model) (*Response, bool) {
	resp, ok, err := c.opts.cache.Get(ctx, key)
	if err != nil {
		c.cacheError(ctx, "get", err)
		return nil, false
	}
	if !ok || resp == nil {
		return nil, false
	}
	c.stats.cacheHits.Add(1)
	saved := resp.Cost
	if saved == 0 {
		saved = priceUsage(m, resp.ServedModel, resp.Usage) // a store that forgot the price
	}
	c.stats.saved.add(saved)
	return reused(resp, start), true
}

func (c *Client) cachePut(ctx context.Context, key string, resp *Response) {
	// Store a copy: the caller owns resp and may change it. The write must
	// not be lost because the caller's context ends right after the reply.
	r := *resp
	r.Cached = false
	if err := c.opts.cache.Put(context.WithoutCancel(ctx), key, &r); err != nil {
		c.cacheError(ctx, "put", err)
	}
}

// cacheError logs a cache failure (once at warning level, then at debug):
// a broken cache slows a batch down but must not fail it.
func (c *Client) cacheError(ctx context.Context, op string, err error) {
	level := slog.LevelDebug
	if c.cacheWarned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	c.logger().LogAttrs(ctx, level, "llm: cache "+op+" failed; continuing without it", slog.String("error", err.Error()))
}
