package llm_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

// twoModels returns a client spraying over "alpha" and "beta" with the given
// weights, each served by its own fake.
func twoModels(t *testing.T, alpha, beta *llmtest.Provider, wa, wb float64, opts ...llm.ClientOption) *llm.Client {
	t.Helper()
	opts = append([]llm.ClientOption{llm.WithModelWeights(map[string]float64{"alpha": wa, "beta": wb})}, opts...)
	return newClient(t, byModel{"alpha": alpha, "beta": beta}, opts...)
}

func TestModelWeightsSpreadTraffic(t *testing.T) {
	alpha, beta := llmtest.New(), llmtest.New()
	c := twoModels(t, alpha, beta, 3, 1)
	const n = 4000
	for _, r := range c.Process(context.Background(), prompts(n)) {
		require.NoError(t, r.Err)
	}
	assert.Equal(t, n, alpha.Calls()+beta.Calls())
	// Binomial(4000, 0.75): 3000 ± 82 at three standard deviations.
	ratio := float64(alpha.Calls()) / float64(beta.Calls())
	assert.InDelta(t, 3, ratio, 0.6, "alpha %d, beta %d", alpha.Calls(), beta.Calls())
}

func TestZeroWeightIsStandby(t *testing.T) {
	alpha := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeUnavailable, 503, 0)
	})
	beta := llmtest.New()
	c := twoModels(t, alpha, beta, 1, 0)
	resp, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Equal(t, "beta", resp.Model, "the standby takes over on failure")
	assert.Equal(t, 2, resp.Attempts)
	assert.EqualValues(t, 1, c.Stats().Failovers)
}

func TestRateLimitedModelLosesTrafficToTheOther(t *testing.T) {
	alpha := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeRateLimited, 429, 50*time.Millisecond)
	})
	beta := llmtest.New()
	c := twoModels(t, alpha, beta, 3, 1, llm.WithMaxConcurrency(4))
	results := c.Process(context.Background(), prompts(400))
	for _, r := range results {
		require.NoError(t, r.Err)
		assert.Equal(t, "beta", r.Response.Model)
	}
	// Alpha is only tried when its cooldown has ended: a handful of times,
	// not 300.
	assert.Less(t, alpha.Calls(), 100)
	assert.Equal(t, 400, beta.Calls())
	assert.EqualValues(t, alpha.Calls(), c.Stats().RateLimited)
}

func TestDailyQuotaFailsOverAndStaysOut(t *testing.T) {
	alpha := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeRateLimited, 429, 24*time.Hour)
	})
	beta := llmtest.New()
	logs := &logRecorder{}
	c := twoModels(t, alpha, beta, 1, 1, llm.WithMaxConcurrency(1), llm.WithLogger(slog.New(logs)))
	for _, r := range c.Process(context.Background(), prompts(100)) {
		require.NoError(t, r.Err)
	}
	assert.Equal(t, 1, alpha.Calls(), "out of rotation after its first daily-quota 429")
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "llm: quota exhausted"))
}

func TestAuthErrorFailsOverToOtherModel(t *testing.T) {
	alpha := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeNotFound, 404, 0)
	})
	beta := llmtest.New()
	c := twoModels(t, alpha, beta, 1, 1, llm.WithMaxConcurrency(1))
	for _, r := range c.Process(context.Background(), prompts(100)) {
		require.NoError(t, r.Err)
	}
	assert.Equal(t, 1, alpha.Calls())
}

func TestRetryMovesToAnotherModel(t *testing.T) {
	alpha := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeUnavailable, 500, 0)
	})
	beta := llmtest.New()
	c := twoModels(t, alpha, beta, 1, 1, llm.WithMaxAttempts(2))
	for _, r := range c.Process(context.Background(), prompts(200)) {
		require.NoError(t, r.Err, "with two attempts, the second always goes to the healthy model")
		assert.Equal(t, "beta", r.Response.Model)
	}
	assert.Positive(t, alpha.Calls())
}

func TestAllModelsOutOfRotation(t *testing.T) {
	fail := func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodePermissionDenied, 403, 0)
	}
	alpha, beta := llmtest.New(fail), llmtest.New(fail)
	c := twoModels(t, alpha, beta, 1, 1, llm.WithMaxConcurrency(1))
	for _, r := range c.Process(context.Background(), prompts(20)) {
		require.ErrorIs(t, r.Err, llm.ErrPermissionDenied)
	}
	assert.Equal(t, 1, alpha.Calls())
	assert.Equal(t, 1, beta.Calls())
}

func TestJobModelOverride(t *testing.T) {
	alpha, beta, gamma := llmtest.New(), llmtest.New(), llmtest.New()
	c := newClient(t, byModel{"alpha": alpha, "beta": beta, "gamma": gamma},
		llm.WithModelWeights(map[string]float64{"alpha": 1, "beta": 1}))
	jobs := func(yield func(int, llm.Job) bool) {
		_ = yield(0, llm.Job{Conversation: user("a"), Model: "gamma", Options: []llm.Option{llm.WithTemperature(0)}}) &&
			yield(1, llm.Job{Conversation: user("b"), Model: "beta"}) &&
			yield(2, llm.Job{Conversation: user("c"), Options: []llm.Option{llm.WithMaxNewTokens(0)}})
	}
	got := map[int]llm.Result{}
	for i, r := range c.ProcessJobs(context.Background(), jobs) {
		got[i] = r
	}
	require.Len(t, got, 3)
	require.NoError(t, got[0].Err)
	assert.Equal(t, "gamma", got[0].Response.Model)
	require.NotNil(t, gamma.LastRequest().Temperature)
	assert.Zero(t, *gamma.LastRequest().Temperature)
	require.NoError(t, got[1].Err)
	assert.Equal(t, "beta", got[1].Response.Model)
	require.ErrorContains(t, got[2].Err, "WithMaxNewTokens(0)", "a job's invalid option fails that job only")
}

func TestJobModelMustResolve(t *testing.T) {
	c, err := llm.NewClient("ct-priced", fast()...)
	require.NoError(t, err)
	jobs := func(yield func(int, llm.Job) bool) {
		_ = yield(7, llm.Job{Conversation: user("a"), Model: "ct-pricedd"}) &&
			yield(8, llm.Job{Conversation: user("b"), Model: "ct-priced-b"})
	}
	got := map[int]llm.Result{}
	for i, r := range c.ProcessJobs(context.Background(), jobs) {
		got[i] = r
	}
	require.Error(t, got[7].Err)
	assert.Contains(t, got[7].Err.Error(), `did you mean`)
	assert.Equal(t, 7, got[7].Index)
	require.NoError(t, got[8].Err)
	assert.Equal(t, "ct-priced-b", got[8].Response.Model)
}
