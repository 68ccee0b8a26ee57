// Package cachetest is the conformance suite of [llm.Cache] stores, in the
// spirit of testing/slogtest and providers/providertest: one call, [Run],
// checks the promises the engine relies on against a store the caller
// creates afresh for each case.
//
// Each case has a name and a one-line explanation, printed when it fails,
// so a store's author learns which promise was broken:
//
//   - a key never stored is a miss, without error;
//   - a stored response comes back whole, except that HTTP headers are
//     never kept (they may hold credentials and stale rate-limit state),
//     and the store may mark the hit (Cached true, Cost 0);
//   - Put leaves its argument as it was;
//   - the store keeps its own copy: changing the response after Put, or a
//     hit's fields and slices after Get, changes nothing stored;
//   - a second Put under a key replaces the first; keys do not mix;
//   - goroutines may Put and Get at once (run the suite with -race).
//
// Both stores of package [github.com/deluge-go/deluge/cache] run it:
//
//	func TestConformance(t *testing.T) {
//		cachetest.Run(t, func(t *testing.T) llm.Cache { return cache.NewMemory(100) })
//	}
//
// What goes beyond the contract (eviction, expiry, durability, sharing a
// file between processes) is each store's own to test.
package cachetest
