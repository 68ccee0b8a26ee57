package e2e

import (
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestResponsesEndToEnd: the engine over the Azure provider over the
// emulator's Responses API: a Responses-only catalog model with no option,
// a chat model sent there by option, retries of injected 429s, chaining,
// and background mode polled by the Client.
func TestResponsesEndToEnd(t *testing.T) {
	srv := emulator(t, azuretest.WithDeployment("o3-pro", ""), azuretest.WithBackgroundTiming(50*time.Millisecond, 50*time.Millisecond))
	p := provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil)

	pro, err := llm.NewClient("azure-o3-pro", llm.WithProviderInstance(p), llm.WithLogger(quiet),
		llm.WithRetryBackoff(time.Millisecond, 10*time.Millisecond), llm.WithBackgroundPolling(10*time.Millisecond, 20*time.Millisecond))
	require.NoError(t, err)
	ctx := t.Context()
	resp, err := pro.Generate(ctx, conversation.New().User("prove it"), llm.WithReasoningSummary("auto"))
	require.NoError(t, err)
	assert.Equal(t, azuretest.ExpectedReply("prove it"), resp.Completion)
	assert.Equal(t, azuretest.ExpectedReasoningSummary("prove it"), resp.ReasoningSummary)
	assert.Positive(t, resp.Usage.ReasoningTokens)
	assert.Positive(t, resp.Cost)
	last, _ := srv.LastRequest()
	assert.Equal(t, azuretest.OperationResponses, last.Operation)

	// Background: queued, polled by the engine until done.
	resp, err = pro.Generate(ctx, conversation.New().User("take your time"), llm.WithBackground())
	require.NoError(t, err)
	assert.Equal(t, azuretest.ExpectedReply("take your time"), resp.Completion)
	assert.Equal(t, "completed", resp.Status)
	assert.Equal(t, 1, resp.Attempts)

	// A chat model on the Responses API, with 429s to retry, then chained.
	srv.SetFaults(azuretest.Faults{Rate429: 0.5, RetryAfter: 5 * time.Millisecond})
	c := client(t, p, llm.WithMaxAttempts(20), llm.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
	first, err := c.Generate(ctx, conversation.New().User("one"), llm.WithAPI(llm.APIResponses), llm.WithStore(true))
	require.NoError(t, err)
	srv.SetFaults(azuretest.Faults{})
	second, err := c.Generate(ctx, conversation.New().User("two"), llm.WithPreviousResponse(first.ResponseID))
	require.NoError(t, err)
	assert.Equal(t, azuretest.ExpectedReply("two"), second.Completion)
	assert.Equal(t, azuretest.PromptTokens("one", azuretest.ExpectedReply("one"), "two"), second.Usage.InputTokens)

	// Streaming through the engine: text, then usage and cost on the last chunk.
	var text string
	var final *llm.Chunk
	for ch, err := range c.Stream(ctx, conversation.New().User("stream it"), llm.WithAPI(llm.APIResponses)) {
		require.NoError(t, err)
		text += ch.Text
		if ch.Usage != nil {
			final = ch
		}
	}
	assert.Equal(t, azuretest.ExpectedReply("stream it"), text)
	require.NotNil(t, final)
	assert.Positive(t, final.Cost)
}

// TestEmbedEndToEnd: Client.Embed over the Azure provider: 5,000 inputs
// in three requests (2,048 per request at most), identical inputs sent
// once, vectors in order, usage and cost accounted, the cache reused.
func TestEmbedEndToEnd(t *testing.T) {
	srv := emulator(t, azuretest.WithDeployment("text-embedding-3-large", ""))
	p := provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil)
	store := cache.NewMemory(0)
	c, err := llm.NewClient("azure-text-embedding-3-large", llm.WithProviderInstance(p), llm.WithLogger(quiet),
		llm.WithMaxTokensPerMinute(-1), llm.WithMaxRequestsPerMinute(-1), llm.WithCache(store))
	require.NoError(t, err)
	inputs := make([]string, 5000)
	for i := range inputs {
		inputs[i] = fmt.Sprintf("document %d", i%4500)
	}
	out, err := c.Embed(t.Context(), inputs, llm.WithDimensions(256))
	require.NoError(t, err)
	require.Len(t, out.Vectors, 5000)
	for _, i := range []int{0, 1, 2047, 4499, 4500, 4999} {
		assert.Equal(t, azuretest.Embedding("text-embedding-3-large", inputs[i], 256), []float32(out.Vectors[i]), "input %d", i)
	}
	assert.Equal(t, 3, out.Requests, "4,500 distinct inputs: 2,048 + 2,048 + 404")
	assert.Equal(t, 3, srv.Requests())
	assert.Equal(t, 500, out.Cached)
	wantTokens := 0
	for _, s := range inputs[:4500] {
		wantTokens += azuretest.CountTokens(s)
	}
	assert.Equal(t, wantTokens, out.Usage.InputTokens)
	assert.InDelta(t, float64(wantTokens)*0.13/1e6, out.Cost, 1e-12)
	assert.InDelta(t, out.Cost, c.Stats().Cost, 1e-12)

	out, err = c.Embed(t.Context(), inputs[:10], llm.WithDimensions(256))
	require.NoError(t, err)
	assert.Equal(t, 10, out.Cached)
	assert.Zero(t, out.Requests)
	assert.Equal(t, 3, srv.Requests(), "answered from the cache")
}

// TestEmbedPacedByTokens: embeddings count against the tokens-per-minute
// quota, the server's and the client's; with both at 6,000 TPM no request
// is refused, and the batch takes the time its tokens need.
func TestEmbedPacedByTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, cfg := emulatorInMemory(t, azuretest.WithDeployment("text-embedding-3-small", ""))
		require.NoError(t, h.SetRateLimit("text-embedding-3-small", 0, 6000))
		p := provider(t, cfg, nil)
		c, err := llm.NewClient("azure-text-embedding-3-small", llm.WithProviderInstance(p), llm.WithLogger(quiet),
			llm.WithMaxTokensPerMinute(6000))
		require.NoError(t, err)
		inputs := make([]string, 300)
		for i := range inputs {
			inputs[i] = fmt.Sprintf("%0100d", i) // 25 tokens each: 7,500 in all
		}
		start := time.Now()
		var got atomic.Int64
		for _, r := range c.EmbedSeq(t.Context(), func(yield func(int, string) bool) {
			for i, s := range inputs {
				if !yield(i, s) {
					return
				}
			}
		}) {
			require.NoError(t, r.Err)
			got.Add(1)
		}
		assert.Equal(t, int64(300), got.Load())
		assert.Zero(t, h.Stats().ByStatus[429], "no request refused")
		assert.GreaterOrEqual(t, time.Since(start), 10*time.Second, "7,500 tokens at 6,000 a minute")
	})
}
