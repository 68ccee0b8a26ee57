package llm

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// cachedRun serves req from the cache when it can, and otherwise sends it
// once for all identical requests in flight (deduplication), storing a
// successful reply. Both need a fingerprint, so they only run with
// WithCache: without a cache, repeating a prompt is how callers sample
// several completions, and the client must not collapse them.
func (c *Client) cachedRun(ctx context.Context, o *options, req *Request, t *target, outages int64, pinned *target) (*Response, effort, error) {
	start := time.Now()
	key := req.Fingerprint()
	if resp, ok := c.cacheGet(ctx, o, key, start); ok {
		return resp, effort{latency: resp.Latency}, nil
	}
	// With several models, a reply from any of them will do: a previous run
	// may have been routed elsewhere.
	dedupKey := key
	if pinned == nil && len(c.targets) > 1 {
		for i, u := range c.targets {
			if u == t {
				continue
			}
			r := *req
			r.Model = u.model
			k := r.Fingerprint()
			if i == 0 {
				dedupKey = k // identical prompts share one key whatever the pick
			}
			if resp, ok := c.cacheGet(ctx, o, k, start); ok {
				return resp, effort{latency: resp.Latency}, nil
			}
		}
	}

	var eff effort
	resp, shared, err := c.flights.do(ctx, dedupKey, func() (*Response, error) {
		resp, served, e, err := c.attempts(ctx, o, req, t, outages, pinned, nil)
		eff = e
		if err == nil && resp.FinishReason != FinishContentFilter {
			k := key
			if served != t {
				r := *req
				r.Model = served.model
				k = r.Fingerprint()
			}
			c.cachePut(ctx, o, k, resp)
		}
		return resp, err
	})
	if shared {
		// This call sent nothing: it waited for another.
		waited := effort{latency: time.Since(start)}
		if err != nil {
			return nil, waited, err
		}
		if o.strictContentFilter && resp.FinishReason == FinishContentFilter {
			// The leader may not have asked for strictness (it is not part
			// of the fingerprint); this caller did.
			return nil, waited, &Error{Code: CodeContentFiltered, Provider: resp.Provider, Model: resp.Model, RequestID: resp.RequestID,
				Message: "the completion was stopped by the content filter (finish reason content_filter)", ContentFilter: resp.ContentFilter}
		}
		c.stats.deduplicated.Add(1)
		r := reused(resp, start)
		return r, effort{latency: r.Latency}, nil
	}
	return resp, eff, err
}

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

func (c *Client) cacheGet(ctx context.Context, o *options, key string, start time.Time) (*Response, bool) {
	resp, ok, err := o.cache.Get(ctx, key)
	if err != nil {
		c.cacheError(ctx, "get", err)
		return nil, false
	}
	if !ok || resp == nil {
		return nil, false
	}
	c.stats.cacheHits.Add(1)
	return reused(resp, start), true
}

func (c *Client) cachePut(ctx context.Context, o *options, key string, resp *Response) {
	// Store a copy: the caller owns resp and may change it. The write must
	// not be lost because the caller's context ends right after the reply.
	r := *resp
	r.Cached = false
	if err := o.cache.Put(context.WithoutCancel(ctx), key, &r); err != nil {
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

// flightGroup runs one function per key at a time; concurrent callers with
// the same key wait for and share its result.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	// resp is a private copy for the followers; the leader returns its own.
	resp *Response
	err  error
}

// do runs fn under key, or waits for the call already running it. shared
// reports that the result came from another caller's call. If that call
// was canceled by its own context while ctx is still live, do runs again.
func (g *flightGroup) do(ctx context.Context, key string, fn func() (*Response, error)) (resp *Response, shared bool, err error) {
	for {
		g.mu.Lock()
		if f, ok := g.m[key]; ok {
			g.mu.Unlock()
			resume := waiting(ctx) // a batch may start another job meanwhile
			select {
			case <-f.done:
				resume()
			case <-ctx.Done():
				resume()
				return nil, true, canceledError(ctx, nil)
			}
			if f.err != nil && CodeOf(f.err) == CodeCanceled && ctx.Err() == nil {
				continue // the leader gave up, not the request: try again
			}
			return f.resp, true, f.err
		}
		f := &flight{done: make(chan struct{})}
		g.m[key] = f
		g.mu.Unlock()

		resp, err := fn()
		if resp != nil {
			cp := *resp
			f.resp = &cp
		}
		f.err = err
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
		return resp, false, err
	}
}
