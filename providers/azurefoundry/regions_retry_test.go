package azurefoundry

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// A region that fails without a retry-after (a 5xx, a reset) is avoided,
// not closed: the router keeps its rest to itself, the error carries no
// RetryAfter, and the engine's retry follows its own backoff. Only a
// retry-after from Azure (retry-after-ms / retry-after) becomes RetryAfter.

// TestRegions5xxWithoutRetryAfterSetsNoRetryFloor: with the region's
// clock standing still (so a rest would never end), a 5xx leaves
// RetryAfter zero and the next call is sent at once; it succeeds once the
// region recovers.
func TestRegions5xxWithoutRetryAfterSetsNoRetryFloor(t *testing.T) {
	for name, f := range map[string]azuretest.Faults{"500": {Rate500: 1}, "503": {Rate503: 1}, "reset": {RateReset: 1}} {
		t.Run(name, func(t *testing.T) {
			srv := azuretest.NewServer(azuretest.WithAPIKeys("k"), azuretest.WithFaults(f))
			t.Cleanup(srv.Close)
			p := newTestProvider(t, Config{APIKey: "k", Regions: []Region{{Name: "eastus", Endpoint: srv.URL}}}, nil)
			p.now = newFakeClock().Now
			m := lookup(t, "azure-gpt-4o")

			_, err := p.Generate(context.Background(), hello(m))
			e := asLLMError(t, err)
			assert.Equal(t, llm.CodeUnavailable, e.Code)
			assert.Zero(t, e.RetryAfter, "no retry-after from Azure, so no floor on the engine's backoff")
			assert.Contains(t, e.Message, "eastus: failing, avoided for 5s")

			// The region is avoided, but it is the only one: the next call
			// goes to it rather than failing unsent.
			_, err = p.Generate(context.Background(), hello(m))
			assert.Zero(t, asLLMError(t, err).RetryAfter)
			assert.Equal(t, 2, srv.Requests(), "the second call was sent (counted on arrival: a reset ends before the handler records it)")

			srv.SetFaults(azuretest.Faults{})
			resp, err := p.Generate(context.Background(), hello(m))
			require.NoError(t, err)
			assert.Equal(t, "eastus", resp.Region)
			assert.Equal(t, 1, resp.Attempts)
		})
	}
}

// TestRegionsAvoidedRegionPreferredOverResting: a region avoided after a
// 5xx still takes calls while the other rests on a 429's retry-after, and
// the error of a call that found both failing has no RetryAfter, since the
// avoided region can take the retry.
func TestRegionsAvoidedRegionPreferredOverResting(t *testing.T) {
	p, east, west, clock, r := twoRegions(t,
		[]azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate500: 1})},
		[]azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: 9 * time.Second})})
	m := lookup(t, "azure-gpt-4o")
	*r = 0 // eastus first

	_, err := p.Generate(context.Background(), hello(m))
	e := asLLMError(t, err)
	assert.Equal(t, llm.CodeRateLimited, e.Code, "the last failure (westus) is the error")
	assert.Zero(t, e.RetryAfter, "eastus is only avoided: the engine may retry on its own schedule")
	assert.Equal(t, 1, east.Requests())
	assert.Equal(t, 1, west.Requests())

	// westus rests for its 9 s; eastus, avoided, takes the call.
	east.SetFaults(azuretest.Faults{})
	clock.Advance(time.Second)
	resp, err := p.Generate(context.Background(), hello(m))
	require.NoError(t, err)
	assert.Equal(t, "eastus", resp.Region)
	assert.Equal(t, 1, west.Requests(), "nothing is sent to a region resting on Azure's word")
}

// TestRegions5xxWithRetryAfterRests: a 5xx that carries a retry-after
// rests the region for that long, and that (and only that) is the error's
// RetryAfter.
func TestRegions5xxWithRetryAfterRests(t *testing.T) {
	mock := newMock(t, func(*http.Request) *http.Response {
		return jsonResponse(503, `{"error":{"code":"ServiceUnavailable","message":"The service is temporarily unavailable."}}`,
			map[string]string{"retry-after": "3", "apim-request-id": "req-503"})
	})
	p := newTestProvider(t, Config{APIKey: "k", Regions: []Region{{Name: "eastus", Endpoint: testEndpoint}}}, mock)
	clock := newFakeClock()
	p.now = clock.Now
	m := lookup(t, "azure-gpt-4o")

	_, err := p.Generate(context.Background(), hello(m))
	e := asLLMError(t, err)
	assert.Equal(t, llm.CodeUnavailable, e.Code)
	assert.Equal(t, 3*time.Second, e.RetryAfter, "Azure's retry-after")

	clock.Advance(time.Second)
	_, err = p.Generate(context.Background(), hello(m))
	e = asLLMError(t, err)
	assert.Equal(t, 2*time.Second, e.RetryAfter, "what is left of Azure's retry-after")
	assert.Equal(t, 1, mock.Count(), "nothing sent while the region rests")
}

// failFirst serves the emulator h, answering the first n chat requests
// with its 500 fault.
func failFirst(t *testing.T, h *azuretest.Handler, n int32) *httptest.Server {
	t.Helper()
	var seen atomic.Int32
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock() // one request at a time, so each sees its own faults
		defer mu.Unlock()
		if seen.Add(1) <= n {
			h.SetFaults(azuretest.Faults{Rate500: 1})
		} else {
			h.SetFaults(azuretest.Faults{})
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { h.Close(); srv.Close() })
	return srv
}

// retryLog keeps the engine's "llm: retry" records.
type retryLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *retryLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *retryLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "llm: retry" {
		h.mu.Lock()
		h.records = append(h.records, r.Clone())
		h.mu.Unlock()
	}
	return nil
}
func (h *retryLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *retryLog) WithGroup(string) slog.Handler      { return h }

func (h *retryLog) durations(key string) []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []time.Duration
	for _, r := range h.records {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				out = append(out, a.Value.Duration())
			}
			return true
		})
	}
	return out
}

// TestRegions5xxThenSuccessRetriesOnEngineBackoff: through the Client, a
// region's 5xx then success is retried after the engine's backoff (here at
// most 2 ms), not after a region cooldown of seconds: the logged retry
// carries no retry-after and a backoff within WithRetryBackoff's bounds.
func TestRegions5xxThenSuccessRetriesOnEngineBackoff(t *testing.T) {
	h := azuretest.NewHandler(azuretest.WithAPIKeys("k"))
	srv := failFirst(t, h, 1)
	p := newTestProvider(t, Config{APIKey: "k", Regions: []Region{{Name: "eastus", Endpoint: srv.URL}}}, nil)
	log := &retryLog{}
	const backoffMax = 2 * time.Millisecond
	c, err := llm.NewClient("azure-gpt-4o", llm.WithProviderInstance(p),
		llm.WithLogger(slog.New(log)), llm.WithRetryBackoff(time.Millisecond, backoffMax))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })

	resp, err := c.Generate(context.Background(), conversation.New().User("Hello!"))
	require.NoError(t, err)
	assert.Equal(t, azuretest.ExpectedReply("Hello!"), resp.Completion)
	assert.Equal(t, "eastus", resp.Region)
	assert.Equal(t, 2, resp.Attempts)
	assert.Equal(t, 2, h.Requests())
	assert.EqualValues(t, 1, c.Stats().Retries)

	require.Len(t, log.durations("retry_after"), 1, "one retry")
	assert.Zero(t, log.durations("retry_after")[0], "the region's rest did not leak into the retry")
	assert.LessOrEqual(t, log.durations("backoff")[0], backoffMax, "the engine's own backoff")
}
