package llm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

func init() {
	registry.MustRegister(registry.Model{ID: "embed-test", Provider: "embed-test-provider", APISpec: registry.APISpecEmbeddings,
		InputCost: 1, MaxInputs: 3, Dimensions: 8, SupportsDimensions: true, ContextWindow: 8192})
	registry.MustRegister(registry.Model{ID: "embed-test-chat", Provider: "embed-test-provider", APISpec: registry.APISpecChat})
}

// recordingEmbedder is the llmtest fake recording each request's inputs.
type recordingEmbedder struct {
	*llmtest.Provider
	mu     sync.Mutex
	inputs [][]string
}

func newEmbedder(reply llmtest.EmbedFunc) *recordingEmbedder {
	r := &recordingEmbedder{Provider: llmtest.New()}
	r.EmbedReply = func(ctx context.Context, req *llm.EmbedRequest, n int) (*llm.EmbedResponse, error) {
		r.mu.Lock()
		r.inputs = append(r.inputs, slices.Clone(req.Inputs))
		r.mu.Unlock()
		if reply != nil {
			return reply(ctx, req, n)
		}
		return llmtest.EchoEmbed(ctx, req, n)
	}
	return r
}

func (r *recordingEmbedder) requests() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.inputs)
}

func embedClient(t *testing.T, p llm.Provider, opts ...llm.ClientOption) *llm.Client {
	t.Helper()
	c, err := llm.NewClient("embed-test", append(append(fast(), llm.WithProviderInstance(p)), opts...)...)
	require.NoError(t, err)
	return c
}

func TestEmbedSplitsDedupesAndAccounts(t *testing.T) {
	p := newEmbedder(nil)
	c := embedClient(t, p)
	inputs := []string{"a", "b", "a", "c", "d", "e", "b"}
	out, err := c.Embed(t.Context(), inputs, llm.WithDimensions(4))
	require.NoError(t, err)
	require.Len(t, out.Vectors, len(inputs))
	for i, s := range inputs {
		assert.Equal(t, llmtest.Vector(s, 4), out.Vectors[i], "input %d", i)
	}
	reqs := p.requests()
	require.Len(t, reqs, 2, "5 distinct inputs, 3 per request")
	var sent []string
	for _, r := range reqs {
		assert.LessOrEqual(t, len(r), 3)
		sent = append(sent, r...)
	}
	slices.Sort(sent)
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, sent, "each distinct text once")
	assert.Equal(t, 2, out.Requests)
	assert.Equal(t, 2, out.Cached, "the repeated inputs")
	assert.Equal(t, 5, out.Usage.InputTokens)
	assert.InDelta(t, 5e-6, out.Cost, 1e-12, "catalog price: 1 USD per million tokens")
	assert.Equal(t, "embed-test", out.Model)
	st := c.Stats()
	assert.Equal(t, int64(2), st.Requests)
	assert.Equal(t, int64(5), st.InputTokens)
	assert.Equal(t, int64(1), st.Successes)
}

func TestEmbedTokenLimitSplits(t *testing.T) {
	synctest.Test(t, testEmbedTokenLimitSplits) // paced at 12 tokens a minute
}

func testEmbedTokenLimitSplits(t *testing.T) {
	p := newEmbedder(nil)
	// 12 tokens per minute: requests of at most 12 estimated tokens.
	c := embedClient(t, p, llm.WithMaxTokensPerMinute(12))
	long := strings.Repeat("x", 40) // 10 tokens
	_, err := c.Embed(t.Context(), []string{long, long + "y", "z"})
	require.NoError(t, err)
	for _, r := range p.requests() {
		n := 0
		for _, s := range r {
			n += (len(s) + 3) / 4
		}
		assert.LessOrEqual(t, n, 12, "request %q", r)
	}
	_, err = c.Embed(t.Context(), []string{strings.Repeat("x", 100)})
	assert.ErrorIs(t, err, llm.ErrInvalidRequest, "an input over the TPM limit can never be sent")
}

func TestEmbedRetriesAndCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		p := newEmbedder(func(ctx context.Context, req *llm.EmbedRequest, n int) (*llm.EmbedResponse, error) {
			calls++
			if calls == 1 {
				return nil, llmtest.Error(&llm.Request{Model: req.Model}, llm.CodeRateLimited, 429, time.Second)
			}
			return llmtest.EchoEmbed(ctx, req, n)
		})
		cache := newMapCache()
		c := embedClient(t, p, llm.WithCache(cache))
		out, err := c.Embed(t.Context(), []string{"a", "b"})
		require.NoError(t, err)
		assert.Equal(t, 2, out.Requests, "a 429, then the retry")
		assert.Equal(t, llmtest.Vector("b", 0), out.Vectors[1])

		// Again, plus a new input: two from the cache, one sent.
		out, err = c.Embed(t.Context(), []string{"b", "a", "new"})
		require.NoError(t, err)
		assert.Equal(t, 2, out.Cached)
		assert.Equal(t, 1, out.Requests)
		assert.Equal(t, []string{"new"}, p.requests()[len(p.requests())-1])
		assert.Equal(t, llmtest.Vector("a", 0), out.Vectors[1])
		assert.Equal(t, int64(2), c.Stats().CacheHits)

		// Other dimensions are other vectors.
		out, err = c.Embed(t.Context(), []string{"a"}, llm.WithDimensions(3))
		require.NoError(t, err)
		assert.Zero(t, out.Cached)
		assert.Len(t, out.Vectors[0], 3)
	})
}

// A vector served from the cache saves its share of the request's price,
// as a cached reply saves its price.
func TestEmbedCacheHitsCountSavedCost(t *testing.T) {
	p := newEmbedder(func(ctx context.Context, req *llm.EmbedRequest, n int) (*llm.EmbedResponse, error) {
		resp, err := llmtest.EchoEmbed(ctx, req, n)
		if err == nil {
			resp.Cost = 0.01 * float64(len(req.Inputs))
		}
		return resp, err
	})
	c := embedClient(t, p, llm.WithCache(newMapCache()))
	_, err := c.Embed(t.Context(), []string{"aaaa", "bbbb"})
	require.NoError(t, err)
	paid := c.Stats().Cost
	require.InDelta(t, 0.02, paid, 1e-9)
	assert.Zero(t, c.Stats().SavedCost)

	out, err := c.Embed(t.Context(), []string{"bbbb", "aaaa"})
	require.NoError(t, err)
	assert.Equal(t, 2, out.Cached)
	st := c.Stats()
	assert.InDelta(t, paid, st.Cost, 1e-9, "nothing more paid")
	assert.InDelta(t, 0.02, st.SavedCost, 1e-9, "each input's share saved")
}

func TestEmbedRefusedInputIsolated(t *testing.T) {
	p := newEmbedder(func(ctx context.Context, req *llm.EmbedRequest, n int) (*llm.EmbedResponse, error) {
		if slices.Contains(req.Inputs, "BAD") {
			return nil, llmtest.Error(&llm.Request{Model: req.Model}, llm.CodeContextLength, 400, 0)
		}
		return llmtest.EchoEmbed(ctx, req, n)
	})
	c := embedClient(t, p)
	_, err := c.Embed(t.Context(), []string{"a", "b", "BAD"})
	require.Error(t, err)
	assert.ErrorIs(t, err, llm.ErrContextLength)
	assert.Contains(t, err.Error(), "input 2")

	// EmbedSeq: the other inputs of the refused request still get vectors.
	seq := func(yield func(int, string) bool) {
		for i, s := range []string{"a", "BAD", "c", "d"} {
			if !yield(10+i, s) {
				return
			}
		}
	}
	got := map[int]llm.EmbedResult{}
	for i, r := range c.EmbedSeq(t.Context(), seq) {
		assert.Equal(t, i, r.Index)
		got[i] = r
	}
	require.Len(t, got, 4)
	assert.ErrorIs(t, got[11].Err, llm.ErrContextLength)
	for _, i := range []int{10, 12, 13} {
		require.NoError(t, got[i].Err, "input %d", i)
		assert.NotEmpty(t, got[i].Vector)
		assert.Positive(t, got[i].Tokens)
		assert.Positive(t, got[i].Cost)
	}
}

func TestEmbedSeq(t *testing.T) {
	p := newEmbedder(nil)
	c := embedClient(t, p, llm.WithCache(newMapCache()))
	texts := map[int]string{}
	for i := range 50 {
		texts[i] = fmt.Sprintf("text %d", i%40) // 10 repeats
	}
	seq := func(yield func(int, string) bool) {
		for _, i := range slices.Sorted(maps.Keys(texts)) {
			if !yield(i, texts[i]) {
				return
			}
		}
	}
	seen := map[int]bool{}
	tokens := 0
	for i, r := range c.EmbedSeq(t.Context(), seq) {
		require.NoError(t, r.Err)
		assert.False(t, seen[i], "one result per input")
		seen[i] = true
		assert.Equal(t, llmtest.Vector(texts[i], 0), r.Vector, "input %d", i)
		tokens += r.Tokens
	}
	assert.Len(t, seen, 50)
	assert.Equal(t, int(c.Stats().InputTokens), tokens, "the shares add up to the usage")
	for _, r := range p.requests() {
		assert.LessOrEqual(t, len(r), 3)
	}

	// Breaking out early stops it.
	n := 0
	for range c.EmbedSeq(t.Context(), seq) {
		n++
		if n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n)
}

func TestEmbedRefusals(t *testing.T) {
	p := newEmbedder(nil)
	c := embedClient(t, p)
	_, err := c.Embed(t.Context(), nil)
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	_, err = c.Embed(t.Context(), []string{"a", ""})
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "input 1 is empty")
	_, err = c.Embed(t.Context(), []string{"a"}, llm.WithDimensions(0))
	assert.Error(t, err)
	assert.Empty(t, p.requests(), "nothing sent")

	chat, err := llm.NewClient("embed-test-chat", append(fast(), llm.WithProviderInstance(p))...)
	require.NoError(t, err)
	_, err = chat.Embed(t.Context(), []string{"a"})
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "not an embeddings model")
	for _, r := range chat.EmbedSeq(t.Context(), func(yield func(int, string) bool) { yield(0, "a") }) {
		assert.ErrorIs(t, r.Err, llm.ErrInvalidRequest)
	}

	noEmbed := embedClient(t, llmtest.GenerateOnly(llmtest.New()), llm.WithMaxAttempts(1))
	_, err = noEmbed.Embed(t.Context(), []string{"a"})
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "llm.Embedder")

	require.NoError(t, c.Close())
	_, err = c.Embed(t.Context(), []string{"a"})
	assert.ErrorIs(t, err, llm.ErrClosed)
}

func TestVectorJSON(t *testing.T) {
	v := llm.Vector{1, -0.5, 3.25e-7}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, `"AACAPwAAAL+pe640"`, string(b), "base64 of little-endian float32s")
	var back llm.Vector
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, v, back)
	require.NoError(t, json.Unmarshal([]byte(`[1,-0.5]`), &back))
	assert.Equal(t, llm.Vector{1, -0.5}, back)
	assert.Error(t, json.Unmarshal([]byte(`"AAA"`), &back), "not a whole float32")
	assert.Error(t, json.Unmarshal([]byte(`{}`), &back))

	// A response carrying one (a cache entry) round-trips.
	resp := llm.Response{Model: "m", Message: conversation.Message{Role: conversation.RoleAssistant}, Embedding: v}
	b, err = json.Marshal(resp)
	require.NoError(t, err)
	var r2 llm.Response
	require.NoError(t, json.Unmarshal(b, &r2))
	assert.Equal(t, v, r2.Embedding)
}

// identityEmbedder is an embedder whose provider identity (where it sends
// the model: an endpoint, a deployment) is set by the test.
type identityEmbedder struct {
	*recordingEmbedder
	id string
}

func (p identityEmbedder) CacheIdentity(registry.Model) string { return p.id }

// TestEmbedCacheKeyHasProviderIdentity: vectors cached for one deployment
// or endpoint are not served for another (issue 16, item 8).
func TestEmbedCacheKeyHasProviderIdentity(t *testing.T) {
	cache := newMapCache()
	first := identityEmbedder{newEmbedder(nil), "https://a.openai.azure.com#embed-prod"}
	out, err := embedClient(t, first, llm.WithCache(cache)).Embed(t.Context(), []string{"a"})
	require.NoError(t, err)
	require.Zero(t, out.Cached)

	same := identityEmbedder{newEmbedder(nil), first.id}
	out, err = embedClient(t, same, llm.WithCache(cache)).Embed(t.Context(), []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, 1, out.Cached, "same deployment: served from the cache")
	assert.Empty(t, same.requests())

	other := identityEmbedder{newEmbedder(nil), "https://b.openai.azure.com#embed-prod"}
	out, err = embedClient(t, other, llm.WithCache(cache)).Embed(t.Context(), []string{"a"})
	require.NoError(t, err)
	assert.Zero(t, out.Cached, "another endpoint: sent again")
	assert.Len(t, other.requests(), 1)
}
