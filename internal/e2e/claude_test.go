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

// TestClaudeInjectedFaults: a batch for Claude on Foundry, through the
// emulator's Messages API route, with 20% of requests failing (500
// api_error, 529 overloaded_error, connection resets): every prompt succeeds
// within 6 attempts, in input order, each failure retried once and counted,
// and the batch's cost is the sum of its calls at the Claude catalog price.
func TestClaudeInjectedFaults(t *testing.T) {
	faults := azuretest.Faults{Rate500: 0.05, Rate503: 0.10, RateReset: 0.05}
	srv := azuretest.NewServer(azuretest.WithAPIKeys(apiKey), azuretest.WithDeployment("claude-haiku-4-5", ""),
		azuretest.WithSeed(7), azuretest.WithFaults(faults))
	t.Cleanup(srv.Close)
	p := provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil)
	c, err := llm.NewClient("azure-claude-haiku-4-5", llm.WithProviderInstance(p), llm.WithLogger(quiet),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1), llm.WithMaxConcurrency(1), llm.WithMaxAttempts(6),
		llm.WithRetryBackoff(time.Millisecond, 10*time.Millisecond), llm.WithMaxNewTokens(64))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	const n = 200
	results := c.Process(context.Background(), prompts(n))
	requireAllSucceeded(t, results)

	srv.Close() // Stats is final once Close returns
	st := srv.Stats()
	failed := failedStatuses(st)
	require.Positive(t, st.ByStatus[529], "overloaded_error was injected")
	s := c.Stats()
	assert.EqualValues(t, failed, s.Retries)
	assert.EqualValues(t, n+failed, s.Requests)
	var sum float64
	for _, r := range results {
		sum += r.Response.Cost
	}
	assert.InDelta(t, sum, s.Cost, 1e-9)
	assert.Positive(t, s.Cost)
	assert.Equal(t, n, st.ByStatus[http.StatusOK])
}
