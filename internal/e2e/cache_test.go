package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
)

// TestSQLiteCacheSecondRun: a second identical run, in a new client over
// the reopened cache file, is served entirely from the cache with zero
// HTTP requests; changing the temperature misses the cache.
func TestSQLiteCacheSecondRun(t *testing.T) {
	const n = 200
	srv := emulator(t)
	p := provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil)
	path := filepath.Join(t.TempDir(), "cache.db")

	store, err := cache.OpenSQLite(path)
	require.NoError(t, err)
	first := client(t, p, llm.WithCache(store), llm.WithTemperature(0), llm.WithMaxRequestsPerMinute(-1))
	results := first.Process(context.Background(), prompts(n))
	requireAllSucceeded(t, results)
	require.Equal(t, n, srv.Requests())
	require.NoError(t, store.Close()) // flushes

	store, err = cache.OpenSQLite(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	second := client(t, p, llm.WithCache(store), llm.WithTemperature(0), llm.WithMaxRequestsPerMinute(-1))
	again := second.Process(context.Background(), prompts(n))
	requireAllSucceeded(t, again)
	assert.Equal(t, n, srv.Requests(), "zero HTTP requests on the second run")
	for i, r := range again {
		assert.True(t, r.Response.Cached)
		assert.Zero(t, r.Response.Cost)
		assert.Equal(t, results[i].Response.Usage, r.Response.Usage)
	}
	s := second.Stats()
	assert.EqualValues(t, n, s.CacheHits)
	assert.Zero(t, s.Requests)
	assert.Zero(t, s.Cost)

	// Another temperature is another request.
	warmer := second.Process(context.Background(), prompts(n), llm.WithTemperature(0.7))
	requireAllSucceeded(t, warmer)
	assert.Equal(t, 2*n, srv.Requests())
	for _, r := range warmer {
		assert.False(t, r.Response.Cached)
	}
}

// TestIdenticalPromptsInFlightSentOnce: with a cache, identical prompts in
// one batch reach the server once.
func TestIdenticalPromptsInFlightSentOnce(t *testing.T) {
	srv := emulator(t)
	store := cache.NewMemory(1000)
	c := client(t, provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil), llm.WithCache(store), llm.WithMaxConcurrency(16))
	convs := prompts(10)
	for range 5 { // each prompt five times
		convs = append(convs, prompts(10)...)
	}
	for i, r := range c.Process(context.Background(), convs) {
		require.NoError(t, r.Err)
		assert.Equal(t, i, r.Index)
	}
	assert.Equal(t, 10, srv.Requests())
	s := c.Stats()
	assert.EqualValues(t, 50, s.CacheHits+s.Deduplicated)
}
