package llm_test

import (
	"context"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

func collect(t *testing.T, seq iter.Seq2[*llm.Chunk, error]) (string, *llm.Usage, error) {
	t.Helper()
	var (
		b     strings.Builder
		usage *llm.Usage
	)
	for ch, err := range seq {
		if err != nil {
			return b.String(), usage, err
		}
		b.WriteString(ch.Text)
		if ch.Usage != nil {
			usage = ch.Usage
		}
	}
	return b.String(), usage, nil
}

func TestStream(t *testing.T) {
	fake := llmtest.New()
	c, err := llm.NewClient("ct-priced", append(fast(), llm.WithProviderInstance(fake))...)
	require.NoError(t, err)
	text, usage, err := collect(t, c.Stream(context.Background(), user("one two three")))
	require.NoError(t, err)
	assert.Equal(t, "echo: one two three", text)
	require.NotNil(t, usage)
	s := c.Stats()
	assert.EqualValues(t, 1, s.Requests)
	assert.EqualValues(t, 1, s.Successes)
	assert.EqualValues(t, usage.InputTokens, s.InputTokens, "usage accounted from the usage chunk")
	assert.Positive(t, s.Cost, "cost from the catalog prices")
}

func TestStreamFallsBackToGenerate(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, llmtest.GenerateOnly(fake))
	n := 0
	for ch, err := range c.Stream(context.Background(), user("a b c")) {
		require.NoError(t, err)
		n++
		assert.Equal(t, "echo: a b c", ch.Text)
		assert.Equal(t, "stop", ch.FinishReason)
	}
	assert.Equal(t, 1, n, "one chunk")
}

func TestStreamRetriesBeforeFirstChunk(t *testing.T) {
	fake := llmtest.New(llmtest.FailFirst(2, func(req *llm.Request) error {
		return llmtest.Error(req, llm.CodeRateLimited, 429, time.Millisecond)
	}))
	c := newClient(t, fake)
	text, _, err := collect(t, c.Stream(context.Background(), user("hi")))
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", text)
	assert.Equal(t, 3, fake.Calls())
	assert.EqualValues(t, 2, c.Stats().Retries)
}

// brokenStream yields one chunk then fails.
type brokenStream struct{ calls int }

func (b *brokenStream) Generate(context.Context, *llm.Request) (*llm.Response, error) {
	panic("not used")
}

func (b *brokenStream) Stream(_ context.Context, req *llm.Request) iter.Seq2[*llm.Chunk, error] {
	b.calls++
	return func(yield func(*llm.Chunk, error) bool) {
		if !yield(&llm.Chunk{Text: "partial"}, nil) {
			return
		}
		yield(nil, llmtest.Error(req, llm.CodeUnavailable, 0, 0))
	}
}

func TestStreamDoesNotRetryAfterFirstChunk(t *testing.T) {
	p := &brokenStream{}
	c := newClient(t, p)
	text, _, err := collect(t, c.Stream(context.Background(), user("hi")))
	require.ErrorIs(t, err, llm.ErrUnavailable)
	assert.Equal(t, "partial", text)
	assert.Equal(t, 1, p.calls)
	assert.EqualValues(t, 1, c.Stats().Failures)
}

func TestStreamBreakReleasesSlot(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, fake, llm.WithMaxConcurrency(1))
	for range 3 { // with one slot, a leaked slot would block the second stream
		for _, err := range c.Stream(context.Background(), user("a b c d")) {
			require.NoError(t, err)
			break
		}
	}
	assert.Zero(t, c.Stats().InFlight)
	assert.Equal(t, 3, fake.Calls())
}

func TestStreamFirstChunkTimeout(t *testing.T) {
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if n == 1 {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return llmtest.Echo(ctx, req, n)
	})
	c := newClient(t, fake, llm.WithRequestTimeout(30*time.Millisecond))
	text, _, err := collect(t, c.Stream(context.Background(), user("hi")))
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", text)
	assert.Equal(t, 2, fake.Calls())
}

func TestStreamStrictContentFilter(t *testing.T) {
	fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		r := llmtest.TextResponse(req, "cut short")
		r.FinishReason = llm.FinishContentFilter
		return r, nil
	})
	c := newClient(t, fake, llm.WithStrictContentFilter())
	text, _, err := collect(t, c.Stream(context.Background(), user("hi")))
	require.ErrorIs(t, err, llm.ErrContentFiltered)
	assert.Equal(t, "cut short", text, "the chunks came before the verdict")
}

func TestStreamCache(t *testing.T) {
	fake := llmtest.New()
	cache := newMapCache()
	c := newClient(t, fake, llm.WithCache(cache))
	first, _, err := collect(t, c.Stream(context.Background(), user("x y")))
	require.NoError(t, err)
	again, usage, err := collect(t, c.Stream(context.Background(), user("x y")))
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.NotNil(t, usage)
	assert.Equal(t, 1, fake.Calls())

	// A stream the caller abandons is not cached.
	for range c.Stream(context.Background(), user("abandoned stream")) {
		break
	}
	_, _, err = collect(t, c.Stream(context.Background(), user("abandoned stream")))
	require.NoError(t, err)
	assert.Equal(t, 3, fake.Calls())
}

func TestStreamOptionError(t *testing.T) {
	c := newClient(t, llmtest.New())
	_, _, err := collect(t, c.Stream(context.Background(), user("hi"), llm.WithTopP(2)))
	require.ErrorContains(t, err, "WithTopP(2)")
}

// streamCost streams one reply and returns the Cost of the chunk that
// carried the usage, and that usage.
func streamCost(t *testing.T, c *llm.Client, text string) (float64, llm.Usage) {
	t.Helper()
	var (
		cost  float64
		usage *llm.Usage
	)
	for ch, err := range c.Stream(context.Background(), user(text)) {
		require.NoError(t, err)
		if ch.Usage != nil {
			usage, cost = ch.Usage, ch.Cost
		} else {
			assert.Zero(t, ch.Cost, "only the usage chunk carries the cost")
		}
	}
	require.NotNil(t, usage, "no usage chunk")
	return cost, *usage
}

// TestStreamCost: a stream's cost is the provider's Chunk.Cost when it set
// one (a provider pricing its own calls, such as Azure's deployment types)
// and otherwise the usage at the model's catalog prices; either way the
// usage chunk the Client yields carries it and Stats counts it.
func TestStreamCost(t *testing.T) {
	m, err := registry.Lookup("ct-priced")
	require.NoError(t, err)
	priced := func(cost float64) llmtest.ReplyFunc {
		return func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
			r := llmtest.TextResponse(req, "echo: "+llmtest.LastUserText(req))
			r.Cost = cost
			return r, nil
		}
	}
	for _, tc := range []struct {
		name     string
		provider func(llm.Provider) llm.Provider
		cost     float64 // what the provider charges; 0: the catalog prices
	}{
		{"catalog", nil, 0},
		{"provider", nil, 0.125},
		{"catalog without Streamer", llmtest.GenerateOnly, 0},
		{"provider without Streamer", llmtest.GenerateOnly, 0.125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p llm.Provider = llmtest.New(priced(tc.cost))
			if tc.provider != nil {
				p = tc.provider(p)
			}
			c, err := llm.NewClient("ct-priced", append(fast(), llm.WithProviderInstance(p))...)
			require.NoError(t, err)
			cost, usage := streamCost(t, c, "one two three")
			catalog := usage.Cost(m)
			require.Positive(t, catalog)
			want := catalog
			if tc.cost != 0 {
				want = tc.cost
				require.NotEqual(t, catalog, want, "the test needs a provider price unlike the catalog's")
			}
			assert.InDelta(t, want, cost, 1e-12, "the usage chunk's cost")
			assert.InDelta(t, want, c.Stats().Cost, 1e-12, "Stats counts the same cost")
		})
	}
}

// TestStreamCostCacheHit: a stream served from the cache is free.
func TestStreamCostCacheHit(t *testing.T) {
	c, err := llm.NewClient("ct-priced", append(fast(), llm.WithProviderInstance(llmtest.New()), llm.WithCache(newMapCache()))...)
	require.NoError(t, err)
	first, _ := streamCost(t, c, "x y")
	require.Positive(t, first)
	again, _ := streamCost(t, c, "x y")
	assert.Zero(t, again)
	assert.InDelta(t, first, c.Stats().Cost, 1e-12, "the hit costs nothing")
}
