package llm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

func TestCacheServesRepeatsAndMissesOnChangedSampling(t *testing.T) {
	fake := llmtest.New()
	cache := newMapCache()
	c := newClient(t, fake, llm.WithCache(cache), llm.WithTemperature(0))

	first, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.False(t, first.Cached)

	again, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.True(t, again.Cached)
	assert.Equal(t, first.Completion, again.Completion)
	assert.Zero(t, again.Cost, "a cache hit is free")
	assert.Zero(t, again.Attempts, "and sends nothing")
	assert.Equal(t, 1, fake.Calls())

	_, err = c.Generate(context.Background(), user("hi"), llm.WithTemperature(1))
	require.NoError(t, err)
	assert.Equal(t, 2, fake.Calls(), "another temperature is another request")

	s := c.Stats()
	assert.EqualValues(t, 1, s.CacheHits)
	assert.EqualValues(t, 3, s.Successes)
	assert.EqualValues(t, 2, s.Requests)
}

func TestCacheSecondRunSendsNothing(t *testing.T) {
	fake := llmtest.New()
	cache := newMapCache()
	c := newClient(t, fake, llm.WithCache(cache))
	first := c.Process(context.Background(), prompts(100))
	calls := fake.Calls()
	require.Equal(t, 100, calls)
	second := c.Process(context.Background(), prompts(100))
	assert.Equal(t, calls, fake.Calls())
	for i := range second {
		require.NoError(t, second[i].Err)
		assert.True(t, second[i].Response.Cached)
		assert.Equal(t, first[i].Response.Completion, second[i].Response.Completion)
	}
}

func TestCacheStoresOnlySuccesses(t *testing.T) {
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		switch llmtest.LastUserText(req) {
		case "bad":
			return nil, llmtest.Error(req, llm.CodeInvalidRequest, 400, 0)
		case "filtered":
			r := llmtest.TextResponse(req, "cut")
			r.FinishReason = llm.FinishContentFilter
			return r, nil
		}
		return llmtest.Echo(ctx, req, n)
	})
	cache := newMapCache()
	c := newClient(t, fake, llm.WithCache(cache))
	for range 2 {
		_, err := c.Generate(context.Background(), user("bad"))
		require.Error(t, err)
		_, err = c.Generate(context.Background(), user("filtered"))
		require.NoError(t, err)
	}
	assert.Zero(t, cache.len())
	assert.Equal(t, 4, fake.Calls())
}

func TestCacheFailureIsNotFatal(t *testing.T) {
	fake := llmtest.New()
	cache := newMapCache()
	cache.err = errors.New("disk full")
	c := newClient(t, fake, llm.WithCache(cache))
	for range 2 {
		_, err := c.Generate(context.Background(), user("hi"))
		require.NoError(t, err)
	}
	assert.Equal(t, 2, fake.Calls())
}

func TestCachedResponseIsACopy(t *testing.T) {
	c := newClient(t, llmtest.New(), llm.WithCache(newMapCache()))
	first, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	first.Completion = "changed by the caller"
	again, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", again.Completion)
}

func TestIdenticalPromptsInFlightAreSentOnce(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = 50 * time.Millisecond
	c := newClient(t, fake, llm.WithCache(newMapCache()), llm.WithMaxConcurrency(32))
	convs := make([]*conversation.Conversation, 32)
	for i := range convs {
		convs[i] = user("same")
	}
	results := c.Process(context.Background(), convs)
	for _, r := range results {
		require.NoError(t, r.Err)
		assert.Equal(t, "echo: same", r.Response.Completion)
	}
	assert.Equal(t, 1, fake.Calls())
	s := c.Stats()
	assert.EqualValues(t, 31, s.Deduplicated+s.CacheHits)
	assert.EqualValues(t, 32, s.Successes)
	assert.EqualValues(t, results[0].Response.Usage.InputTokens, s.InputTokens, "paid once")
}

func TestWithoutCacheRepeatsAreSampledSeparately(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = 10 * time.Millisecond
	c := newClient(t, fake)
	convs := []*conversation.Conversation{user("same"), user("same"), user("same")}
	for _, r := range c.Process(context.Background(), convs) {
		require.NoError(t, r.Err)
	}
	assert.Equal(t, 3, fake.Calls())
}

func TestDedupFollowerSurvivesLeaderCancellation(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = 100 * time.Millisecond
	c := newClient(t, fake, llm.WithCache(newMapCache()))
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Generate(leaderCtx, user("same"))
		leaderDone <- err
	}()
	require.Eventually(t, func() bool { return fake.Calls() == 1 }, 5*time.Second, time.Millisecond)
	followerDone := make(chan error, 1)
	go func() {
		resp, err := c.Generate(context.Background(), user("same"))
		if err == nil && resp.Completion != "echo: same" {
			err = errors.New("wrong reply " + resp.Completion)
		}
		followerDone <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the follower join the flight
	cancelLeader()
	require.ErrorIs(t, <-leaderDone, context.Canceled)
	require.NoError(t, <-followerDone, "the follower sends the request itself")
}

func TestModelWeightsCacheHitsAnyModel(t *testing.T) {
	alpha, beta := llmtest.New(), llmtest.New()
	cache := newMapCache()
	c := newClient(t, byModel{"alpha": alpha, "beta": beta}, llm.WithCache(cache),
		llm.WithModelWeights(map[string]float64{"alpha": 1, "beta": 1}))
	c.Process(context.Background(), prompts(50))
	calls := alpha.Calls() + beta.Calls()
	for _, r := range c.Process(context.Background(), prompts(50)) {
		require.NoError(t, r.Err)
		assert.True(t, r.Response.Cached)
	}
	assert.Equal(t, calls, alpha.Calls()+beta.Calls(), "a rerun routed elsewhere still hits the cache")
}
