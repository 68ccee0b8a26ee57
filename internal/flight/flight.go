// Package flight runs one function per key at a time and shares its result
// with the callers that ask for the same key meanwhile: the in-flight
// deduplication of identical requests.
//
// It differs from golang.org/x/sync/singleflight where a request engine
// needs it to: a waiting caller stops waiting when its own context ends;
// a caller whose run was abandoned by its own caller (canceled) can run
// the function again for the callers still waiting; the waiters get a copy
// of the result, not the value the first caller owns; and waiting can be
// reported, so that a worker pool lends the waiting worker's place.
package flight

import (
	"context"
	"sync"
)

// Group deduplicates calls by key. The zero value is ready to use; set its
// fields before the first call to Do.
type Group[V any] struct {
	// Share returns the copy of a result handed to the callers that waited
	// for it (the caller that ran the function keeps the original); nil
	// hands them the value itself.
	Share func(V) V
	// Again reports whether a waiting caller whose context is still live
	// runs the function itself after the run it waited for failed with err
	// (that run's caller gave up, not the work). nil means never.
	Again func(err error) bool
	// Wait, when set, is called when a caller starts waiting for another's
	// run, and the function it returns when the wait is over.
	Wait func(ctx context.Context) (done func())

	mu sync.Mutex
	m  map[string]*run[V]
}

// run is one execution of the function, shared by the callers of its key.
type run[V any] struct {
	done chan struct{}
	v    V // Share's copy, for the waiters
	err  error
}

// Do runs fn under key, or waits for the run of key in progress and
// returns its result. shared reports that the result came from another
// caller's run; a waiting caller whose ctx ends returns ctx.Err() at once.
func (g *Group[V]) Do(ctx context.Context, key string, fn func() (V, error)) (v V, shared bool, err error) {
	for {
		g.mu.Lock()
		if r, ok := g.m[key]; ok {
			g.mu.Unlock()
			var done func()
			if g.Wait != nil {
				done = g.Wait(ctx)
			}
			select {
			case <-r.done:
				if done != nil {
					done()
				}
			case <-ctx.Done():
				if done != nil {
					done()
				}
				var zero V
				return zero, true, ctx.Err()
			}
			if r.err != nil && ctx.Err() == nil && g.Again != nil && g.Again(r.err) {
				continue // the run was abandoned, not failed: run it again
			}
			return r.v, true, r.err
		}
		r := &run[V]{done: make(chan struct{})}
		if g.m == nil {
			g.m = map[string]*run[V]{}
		}
		g.m[key] = r
		g.mu.Unlock()

		v, err := fn()
		r.v, r.err = v, err
		if g.Share != nil && err == nil {
			r.v = g.Share(v)
		}
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(r.done)
		return v, false, err
	}
}
