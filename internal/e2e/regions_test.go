package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestRegionsWeighted: two Azure regions weighted 3:1 receive about 3:1 of
// the traffic; when one answers only 429s, traffic moves to the other and
// every prompt succeeds.
func TestRegionsWeighted(t *testing.T) {
	east := emulator(t, azuretest.WithRegion("East US"))
	west := emulator(t, azuretest.WithRegion("West US"))
	p := provider(t, azurefoundry.Config{Regions: []azurefoundry.Region{
		{Name: "eastus", Endpoint: east.URL, APIKey: apiKey, Weight: 3},
		{Name: "westus", Endpoint: west.URL, APIKey: apiKey, Weight: 1},
	}}, nil)
	c := client(t, p, llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1), llm.WithMaxConcurrency(32))

	const n = 2000
	results := c.Process(context.Background(), prompts(n))
	requireAllSucceeded(t, results)
	e, w := east.Requests(), west.Requests()
	require.Equal(t, n, e+w)
	// Binomial(2000, 3/4): 1500 ± 58 at three standard deviations.
	assert.InDelta(t, 3.0, float64(e)/float64(w), 0.7, "east %d, west %d", e, w)
	byRegion := map[string]int{}
	for _, r := range results {
		byRegion[r.Response.Region]++
	}
	assert.Equal(t, e, byRegion["eastus"], "Response.Region names the region that served")

	// East now answers every request with a 429.
	east.SetFaults(azuretest.Faults{Rate429: 1, RetryAfter: 100 * time.Millisecond})
	east.ResetStats()
	west.ResetStats()
	results = c.Process(context.Background(), prompts(500))
	requireAllSucceeded(t, results)
	for _, r := range results {
		assert.Equal(t, "westus", r.Response.Region)
	}
	assert.Equal(t, 500, west.Stats().ByStatus[http.StatusOK])
	assert.Zero(t, east.Stats().ByStatus[http.StatusOK])
	assert.Less(t, east.Requests(), 250, "the failing region rests between tries")
}
